//! `Application::build(config)`: storage, keys, mailer and router, bound to a listener.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::http::build_router;
use crate::mail::Mailer;
use crate::passwords::PasswordHasher;
use crate::state::{AppState, Inner};
use crate::storage::{Database, maintenance, rate_limits, revocations, users};
use crate::tokens::KeyStore;

pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Migrates the database, loads (or generates) the signing key and binds the listener.
    pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let db = Database::connect(config.database_url.expose_secret()).await?;
        let applied = db.migrate().await?;
        if applied > 0 {
            tracing::info!(applied, backend = db.backend_name(), "migrations applied");
        }
        let keys_dir = config.keys_dir.clone();
        let lifetime = config.access_token_ttl;
        let keys =
            tokio::task::spawn_blocking(move || KeyStore::load_or_generate(&keys_dir, lifetime))
                .await?
                .context("AUTHD_KEYS_DIR: loading signing keys")?;
        let mailer = Mailer::from_config(&config)?;
        let hasher = tokio::task::spawn_blocking(PasswordHasher::new).await??;
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("AUTHD_BIND: cannot listen on {}", config.bind))?;
        tracing::info!(
            backend = db.backend_name(),
            keys = keys.all().len(),
            mail = %mailer.describe(),
            issuer = %config.issuer,
            "authd ready"
        );
        let state = AppState::new(Inner {
            config,
            db,
            keys,
            mailer,
            hasher,
            clock,
            metrics: Default::default(),
        });
        Ok(Self { listener, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let housekeeping = tokio::spawn(housekeeping(self.state.clone()));
        let key_reload = tokio::spawn(reload_keys(self.state.clone()));
        let router = build_router(self.state);
        axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")?;
        housekeeping.abort();
        key_reload.abort();
        Ok(())
    }
}

/// How often the keys folder is re-read. Far below the activation delay, so every instance
/// signs with a rotated key on time.
const KEY_RELOAD_INTERVAL: Duration = Duration::from_secs(30);

/// Picks up `authd keys rotate` / `retire` (or another instance's) without a restart.
async fn reload_keys(state: AppState) {
    let mut every = tokio::time::interval_at(
        tokio::time::Instant::now() + KEY_RELOAD_INTERVAL,
        KEY_RELOAD_INTERVAL,
    );
    loop {
        every.tick().await;
        let state = state.clone();
        match tokio::task::spawn_blocking(move || state.keys.reload()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %format!("{e:#}"), "re-reading the keys folder failed; keeping the keys loaded")
            }
            Err(e) => tracing::error!(error = %e, "re-reading the keys folder panicked"),
        }
    }
}

/// Purges expired rows once an hour, starting a minute after start-up.
async fn housekeeping(state: AppState) {
    let start = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut every = tokio::time::interval_at(start, Duration::from_secs(3600));
    loop {
        every.tick().await;
        let now = state.clock.now_naive();
        let anonymous_max_age = chrono::Duration::from_std(state.config.anonymous_max_age)
            .unwrap_or(chrono::Duration::MAX);
        let purged = async {
            Ok::<_, crate::storage::StorageError>(
                maintenance::purge_expired(&state.db, now).await?
                    + users::purge_stale_anonymous_users(&state.db, now, anonymous_max_age).await?
                    + rate_limits::purge_closed_windows(&state.db, now - chrono::Duration::days(1))
                        .await?
                    + revocations::purge_expired_revocations(&state.db, now).await?,
            )
        };
        match purged.await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "expired rows purged"),
            Err(e) => tracing::warn!(error = %e, "purging expired rows failed"),
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
