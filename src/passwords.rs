//! Password hashing with argon2id (OWASP minimum: m=19456 KiB, t=2, p=1), off the async
//! runtime and bounded, so a login storm queues instead of starving other requests.

use std::sync::Arc;

use anyhow::anyhow;
use argon2::password_hash::{
    PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;
use tracing::Instrument as _;

use crate::domain::Password;

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// A real hash of a random password: unknown users are checked against it so that the
    /// answer takes as long as for a known one.
    dummy: Arc<String>,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

impl PasswordHasher {
    pub fn new() -> anyhow::Result<Self> {
        let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());
        let dummy = hash_blocking(&format!("dummy-{}", uuid::Uuid::new_v4()))?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(parallel)),
            dummy: Arc::new(dummy),
        })
    }

    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let plain = password.expose().to_owned();
        self.blocking(move || hash_blocking(&plain)).await?
    }

    /// Checks `candidate` against `stored`, or against the dummy hash when there is no stored
    /// hash (unknown user, passwordless account): that always answers false, just as slowly.
    pub async fn verify(&self, candidate: &str, stored: Option<&str>) -> anyhow::Result<bool> {
        let candidate = candidate.to_owned();
        let (hash, real) = match stored {
            Some(h) => (h.to_owned(), true),
            None => (self.dummy.as_str().to_owned(), false),
        };
        let ok = self
            .blocking(move || {
                let parsed =
                    PasswordHash::new(&hash).map_err(|e| anyhow!("stored hash unreadable: {e}"))?;
                Ok::<_, anyhow::Error>(
                    argon2()
                        .verify_password(candidate.as_bytes(), &parsed)
                        .is_ok(),
                )
            })
            .await??;
        Ok(ok && real)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| anyhow!("hasher closed"))?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(f))
            .instrument(tracing::Span::current())
            .await
            .map_err(|e| anyhow!("password hashing task failed: {e}"))
    }
}

fn hash_blocking(plain: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2()
        .hash_password(plain.as_bytes(), &salt)
        .map_err(|e| anyhow!("hashing failed: {e}"))?
        .to_string())
}
