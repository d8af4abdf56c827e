//! `Application::build(config)`: storage, keys, mailer and router, bound to a listener.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;

use crate::clock::{Aligned, Clock, SystemClock};
use crate::config::{Config, ServerLimits};
use crate::http::{build_router, connections};
use crate::mail::Mailer;
use crate::passwords::PasswordHasher;
use crate::sealing::Sealer;
use crate::state::{AppState, Inner};
use crate::storage::{
    Database, instance, maintenance, outbox, rate_limits, revocations, signing_keys, users,
};
use crate::tokens::KeyStore;

pub struct Application {
    listener: TcpListener,
    /// `/metrics`, on its own address when `AUTHD_METRICS_BIND` is set.
    metrics_listener: Option<TcpListener>,
    state: AppState,
    /// The state's clock, kept aligned with the database's by a worker.
    clock: Arc<Aligned>,
    /// Held while serving: a second instance on the same SQLite file is refused.
    _sqlite_lock: Option<std::fs::File>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Binds the listeners, then migrates the database and loads (or generates) the signing
    /// key: a start that cannot listen (the port taken) changes nothing on disk or in the
    /// database.
    pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        config.require_reachable_issuer()?;
        let sqlite_lock = single_instance_lock(&config)?;
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("AUTHD_BIND: cannot listen on {}", config.bind))?;
        let metrics_listener = match config.metrics_bind {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("AUTHD_METRICS_BIND: cannot listen on {addr}"))?,
            ),
            None => None,
        };
        let sealer = Arc::new(sealer(&config)?);
        let db = Database::connect_with(
            config.database_url.expose_secret(),
            crate::storage::StatementLimits::within(config.limits.request_timeout),
        )
        .await?;
        let applied = db.migrate().await?;
        if applied > 0 {
            tracing::info!(applied, backend = db.backend_name(), "migrations applied");
        }
        check_issuer(&db, &config).await?;
        // From here on, time is the database's (see `clock`).
        let clock = Arc::new(Aligned::new(clock));
        align_clock(&db, &clock).await;
        let keys = KeyStore::new(sealer.clone(), config.access_token_ttl, config.signing_alg);
        signing_keys::bootstrap(
            &db,
            &keys,
            config.keys_dir.as_deref(),
            clock.now(),
            config.key_activation_delay,
        )
        .await
        .context("loading the signing keys")?;
        let mailer = Mailer::from_config(&config, sealer.clone())?;
        let hasher = tokio::task::spawn_blocking(PasswordHasher::new).await??;
        tracing::info!(
            backend = db.backend_name(),
            keys = keys.all().len(),
            mail = %mailer.describe(),
            issuer = %config.issuer,
            "authd ready"
        );
        let passkeys =
            crate::signin::passkeys::Passkeys::for_pages_at(&config.public_url, &config.brand.name);
        if passkeys.is_none() {
            tracing::info!(
                public_url = %config.public_url,
                "passkeys are off: browsers offer them only to HTTPS pages and localhost"
            );
        }
        let state = AppState::new(Inner {
            passkeys,
            upstream: Default::default(),
            config,
            db,
            keys,
            mailer,
            hasher,
            sealer,
            clock: clock.clone(),
            metrics: Default::default(),
        });
        Ok(Self {
            listener,
            metrics_listener,
            state,
            clock,
            _sqlite_lock: sqlite_lock,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// Where `/metrics` is served, if anywhere.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish, for at most
    /// `AUTHD_SHUTDOWN_TIMEOUT`.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let housekeeping = tokio::spawn(housekeeping(self.state.clone()));
        let key_refresh = tokio::spawn(refresh_keys(self.state.clone()));
        let aligning = tokio::spawn(keep_clock_aligned(self.state.clone(), self.clock.clone()));
        let limits = self.state.config.limits;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut mail = tokio::spawn(deliver_mail(self.state.clone(), stopped.clone()));
        let mut logouts = tokio::spawn(announce_logouts(self.state.clone(), stopped.clone()));
        let client_changes = tokio::spawn(crate::storage::client_cache::keep_cache(
            self.state.db.clone(),
            self.state.config.database_url.expose_secret().to_owned(),
            stopped.clone(),
        ));
        let metrics = self.metrics_listener.map(|listener| {
            let router = crate::http::metrics_router(self.state.clone());
            tokio::spawn(serve(listener, router, limits, false, stopped.clone()))
        });
        // Behind a trusted proxy every connection comes from the proxy: it caps per client.
        let per_address = !self.state.config.trust_forwarded_for;
        let main = tokio::spawn(serve(
            self.listener,
            build_router(self.state),
            limits,
            per_address,
            stopped,
        ));
        shutdown.await;
        let _ = stop.send(true);
        let result = main.await.context("serving HTTP")?;
        if let Some(metrics) = metrics {
            let _ = metrics.await;
        }
        housekeeping.abort();
        key_refresh.abort();
        client_changes.abort();
        aligning.abort();
        // The sender finishes the message in hand (bounded by the shutdown deadline).
        if tokio::time::timeout(limits.shutdown_timeout, &mut mail)
            .await
            .is_err()
        {
            mail.abort();
        }
        if tokio::time::timeout(limits.shutdown_timeout, &mut logouts)
            .await
            .is_err()
        {
            logouts.abort();
        }
        result
    }
}

/// How long one connection may live: past it, the request in hand is answered and the
/// connection closed (the client reconnects), so no client keeps its slot for ever.
const MAX_CONNECTION_AGE: Duration = Duration::from_secs(600);

/// Accepts connections until `stop` turns true, holding each client to `limits`: hyper's own
/// header read timeout (which also closes idle keep-alive connections) and head size limit
/// (431); a deadline on every write an answer waits for (a client that does not read is cut
/// off); a bounded connection age; caps on connections held at once, overall and per client
/// address (more get 503 and are closed); then a bounded graceful shutdown.
async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: ServerLimits,
    per_address: bool,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt as _;

    // HTTP/1.1 only: behind a TLS-terminating proxy that is what arrives, and hyper's
    // HTTP/1 timer covers a connection from its first byte (the auto-detecting builder waits
    // for its preface without one).
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes);
    let builder = Arc::new(builder);
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let held = connections::Held::new(limits.max_connections_per_address);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, usually: let some connections close.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tokio::spawn(refuse_busy(stream));
            continue;
        };
        let mine = if per_address {
            match held.take(peer.ip()) {
                Some(mine) => Some(mine),
                None => {
                    tokio::spawn(refuse_busy(stream));
                    continue;
                }
            }
        } else {
            None
        };
        let service = router.clone().map_request(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                request
            },
        );
        let service = hyper_util::service::TowerToHyperService::new(service);
        let io = TokioIo::new(connections::WriteDeadline::new(
            stream,
            limits.request_timeout,
        ));
        let builder = builder.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let connection = builder.serve_connection(io, service);
            let mut connection = std::pin::pin!(connection);
            let aged = tokio::time::sleep(MAX_CONNECTION_AGE);
            let mut aged = std::pin::pin!(aged);
            // A client that breaks off or times out ends its own connection; nothing to log.
            let ended = tokio::select! {
                _ = connection.as_mut() => true,
                _ = stop.changed() => false,
                () = aged.as_mut() => false,
            };
            if !ended {
                // Stopping, or aged: the request in hand is answered, within a bound, then the
                // connection closes.
                connection.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(limits.shutdown_timeout, connection).await;
            }
            drop((slot, mine));
        });
    }
    drop(listener);
    // Every connection returns its slot when it is done.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(limits.shutdown_timeout, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!(
            after = ?limits.shutdown_timeout,
            "connections still open at the shutdown deadline were dropped"
        );
    }
    Ok(())
}

/// Over the connection cap: a short 503 instead of a silent queue.
async fn refuse_busy(mut stream: tokio::net::TcpStream) {
    use tokio::io::AsyncWriteExt as _;
    const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
        retry-after: 1\r\nconnection: close\r\ncontent-length: 35\r\n\r\n\
        {\"message\":\"Too many connections\"}\n";
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(BUSY).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// How often the outbox is looked at without being woken (retries, and emails queued by other
/// instances).
const MAIL_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Sends queued email: at once when this instance queued some, else every second. Returns
/// once `stop` turns true, between two messages.
async fn deliver_mail(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    while !*stop.borrow() {
        tokio::select! {
            () = state.mailer.woken() => {}
            () = tokio::time::sleep(MAIL_POLL_INTERVAL) => {}
            _ = stop.changed() => return,
        }
        // Drain what is due before waiting again.
        while !*stop.borrow() {
            match state
                .mailer
                .deliver_due(&state.db, || state.clock.now_naive(), &stop)
                .await
            {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "the outbox could not be read; retrying");
                    break;
                }
            }
        }
    }
}

/// Sends back-channel logout tokens for ended sessions, every second, until `stop`.
async fn announce_logouts(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let http = crate::oauth::backchannel::http_client();
    while !*stop.borrow() {
        match crate::oauth::backchannel::deliver_due(&state, &http, &stop).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reading due logout notices failed; retrying"),
        }
        tokio::select! {
            () = tokio::time::sleep(MAIL_POLL_INTERVAL) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Takes one reading of the database's clock (PostgreSQL's; SQLite shares this machine's).
async fn align_clock(db: &Database, clock: &Aligned) {
    let before = clock.machine_now();
    match crate::storage::instance::database_now(db).await {
        Ok(Some(database)) => clock.measured(before, database, clock.machine_now()),
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(error = %e, "reading the database's clock failed; keeping the last offset")
        }
    }
}

/// Measures the clock against the database's again every `clock::ALIGN_EVERY`.
async fn keep_clock_aligned(state: AppState, clock: Arc<Aligned>) {
    let every = crate::clock::ALIGN_EVERY;
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        ticks.tick().await;
        align_clock(&state.db, &clock).await;
    }
}

/// Reads the shared key set again every `signing_keys::REFRESH_INTERVAL`, so a rotation or
/// retirement made anywhere reaches this instance within that bound.
async fn refresh_keys(state: AppState) {
    let interval = signing_keys::REFRESH_INTERVAL;
    let mut every = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(e) = signing_keys::refresh(&state.db, &state.keys).await {
            tracing::error!(error = %format!("{e:#}"), "reading the signing keys failed; keeping the keys loaded");
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
        let audit_retention = chrono::Duration::from_std(state.config.audit_retention)
            .unwrap_or(chrono::Duration::MAX);
        let purged = async {
            Ok::<_, crate::storage::StorageError>(
                maintenance::purge_expired(&state.db, now).await?
                    + users::purge_stale_anonymous_users(&state.db, now, anonymous_max_age).await?
                    + rate_limits::purge_closed_windows(&state.db, now - chrono::Duration::days(1))
                        .await?
                    + revocations::purge_expired_revocations(&state.db, now).await?
                    + outbox::purge_failed(&state.db, now - chrono::Duration::days(30)).await?
                    + crate::storage::audit::purge(&state.db, now - audit_retention).await?
                    + crate::storage::factors::purge_pending(
                        &state.db,
                        now - crate::accounts::factors::PENDING_TTL,
                    )
                    .await?,
            )
        };
        match crate::storage::offloaded(purged).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "expired rows purged"),
            Err(e) => tracing::warn!(error = %e, "purging expired rows failed"),
        }
    }
}

/// The sealer for what authd encrypts at rest, from `AUTHD_SECRET` / `AUTHD_SECRET_FILE`.
/// Without either, SQLite (the single-instance mode) keeps a generated secret in
/// `authd.secret` beside the database; PostgreSQL, where instances must share one, refuses.
pub fn sealer(config: &Config) -> anyhow::Result<Sealer> {
    if let Some(secret) = &config.secret {
        return Sealer::new(secret.expose_secret().as_bytes());
    }
    config.require_shared_secret()?;
    let Some(db_path) = crate::storage::sqlite_path(config.database_url.expose_secret()) else {
        anyhow::bail!("DATABASE_URL: expected sqlite://PATH or postgres://...");
    };
    let dir = std::path::Path::new(db_path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    crate::files::private_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("authd.secret");
    if !path.exists() {
        use aws_lc_rs::rand::SecureRandom as _;
        use base64::Engine as _;
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| anyhow::anyhow!("no randomness for the secret"))?;
        let text = base64::engine::general_purpose::STANDARD.encode(bytes);
        match crate::files::write_new_private(&path, format!("{text}\n").as_bytes()) {
            Ok(()) => {
                tracing::info!(path = %path.display(), "generated the instance secret (AUTHD_SECRET)")
            }
            // Another process wrote it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("writing {}", path.display())),
        }
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Sealer::new(text.trim().as_bytes()).with_context(|| format!("the secret in {}", path.display()))
}

/// SQLite is the single-instance mode: a second `authd serve` on the same file (whose writes
/// would fail with "database is locked") is refused at start-up. `authd` commands such as
/// `clients create` still work beside a running server.
fn single_instance_lock(config: &Config) -> anyhow::Result<Option<std::fs::File>> {
    let Some(db_path) = crate::storage::sqlite_path(config.database_url.expose_secret()) else {
        return Ok(None);
    };
    if db_path == ":memory:" || db_path.starts_with("file:") {
        return Ok(None);
    }
    // The database's one true path, so that a second instance reaching the same file
    // through a symlink (or another spelling) takes the same lock.
    let db_path = std::path::Path::new(db_path);
    if let Some(dir) = db_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::files::private_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let real = std::fs::canonicalize(db_path).or_else(|_| {
        let dir = db_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        std::fs::canonicalize(dir).map(|d| d.join(db_path.file_name().unwrap_or_default()))
    });
    let real = real.with_context(|| format!("resolving {}", db_path.display()))?;
    let db_path = db_path.display();
    let path = std::path::PathBuf::from(format!("{}.lock", real.display()));
    crate::files::private_file(&path).with_context(|| format!("creating {}", path.display()))?;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another authd is serving {db_path}: SQLite serves one instance (use PostgreSQL to \
             run several behind a load balancer)"
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

/// Instances on one database must share an issuer, or each refuses the others' tokens. The
/// first records its issuer. A later one with another moves it, with a loud warning, when
/// `AUTHD_ISSUER` was set on purpose or when no other instance can share the database (SQLite:
/// a port changed on the embedded default); on PostgreSQL, an issuer only derived from
/// `AUTHD_BIND` that differs is refused, naming both ways on.
async fn check_issuer(db: &Database, config: &Config) -> anyhow::Result<()> {
    match instance::claim_issuer(db, &config.issuer).await? {
        instance::IssuerClaim::Agreed => Ok(()),
        instance::IssuerClaim::Differs { recorded }
            if config.issuer_explicit || !db.is_postgres() =>
        {
            tracing::warn!(
                previous = %recorded,
                issuer = %config.issuer,
                "the issuer moved: tokens issued under the previous issuer are refused from now \
                 on (people sign in again), and any instance still running with it refuses this \
                 one's tokens"
            );
            instance::set_issuer(db, &config.issuer).await?;
            Ok(())
        }
        instance::IssuerClaim::Differs { recorded } => anyhow::bail!(
            "AUTHD_ISSUER: this instance would issue tokens as {} (derived from AUTHD_BIND), \
             but the database's instances use {recorded}. To keep serving as before, set \
             AUTHD_ISSUER={recorded} on every instance (and reach them there); to move every \
             instance to a new address, set AUTHD_ISSUER to it (signed-in people sign in again)",
            config.issuer
        ),
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
