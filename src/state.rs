//! `AppState`: everything a request needs, cloned cheaply into handlers.

use std::ops::Deref;
use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Config;
use crate::mail::Mailer;
use crate::metrics::RequestMetrics;
use crate::passwords::PasswordHasher;
use crate::sealing::Sealer;
use crate::storage::Database;
use crate::tokens::KeyStore;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub db: Database,
    pub keys: KeyStore,
    pub mailer: Mailer,
    pub hasher: PasswordHasher,
    /// Seals and authenticates under the instance secret.
    pub sealer: Arc<Sealer>,
    pub clock: Arc<dyn Clock>,
    pub metrics: RequestMetrics,
    /// The WebAuthn relying party; `None` where browsers offer no passkeys (see
    /// `signin::passkeys`).
    pub passkeys: Option<crate::signin::passkeys::Passkeys>,
    /// The upstream providers' client (and its discovery cache).
    pub upstream: crate::signin::upstream::Upstream,
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }

    /// The audience of access tokens issued for authd's own clients: the issuer itself.
    pub fn audience(&self) -> &str {
        &self.config.issuer
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
