//! RSA signing keys, kept in the database (see `storage::signing_keys`) sealed under the
//! instance secret, held here decrypted and parsed for every request, published as a JWKS.
//! `kid` is the RFC 7638 thumbprint.
//!
//! A key is *pending* from creation until `activates_at` (published, not signing: clients
//! caching the JWKS learn it first), then *active*; the newest active key signs. A *retired*
//! key signs no more and stays published until every token it signed has expired.

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SubsecRound as _, Utc};
use jsonwebtoken::DecodingKey;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::sealing::Sealer;

/// When a key signs. (A PEM file imported by `authd keys import` may carry it in a
/// `{kid}.json` beside it; without one it counts as active since its file was written.)
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyLifecycle {
    pub created_at: DateTime<Utc>,
    pub activates_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// Published, not signing yet.
    Pending,
    Active,
    /// Signs no more; published until its tokens have expired.
    Retired,
    /// Retired long enough that no token it signed is still valid.
    Expired,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Pending => "pending",
            KeyStatus::Active => "active",
            KeyStatus::Retired => "retired",
            KeyStatus::Expired => "expired",
        }
    }
}

/// One key with everything needed to sign, verify and publish it.
pub struct SigningKey {
    pub kid: String,
    /// The private key, parsed once (parsing and checking an RSA key costs more than a
    /// signature): what signs.
    pair: Arc<KeyPair>,
    pub decoding: Arc<DecodingKey>,
    pub lifecycle: KeyLifecycle,
    n: String,
    e: String,
}

impl SigningKey {
    fn from_pkcs8_pem(pem_text: &str, lifecycle: KeyLifecycle) -> anyhow::Result<Self> {
        let parsed = pem::parse(pem_text).context("not a PEM file")?;
        if parsed.tag() != "PRIVATE KEY" {
            bail!(
                "expected a PKCS#8 \"PRIVATE KEY\" PEM, found {:?}",
                parsed.tag()
            );
        }
        let pair = KeyPair::from_pkcs8(parsed.contents())
            .map_err(|e| anyhow::anyhow!("not an RSA key: {e}"))?;
        if pair.public_modulus_len() < 256 {
            bail!("RSA keys must have at least 2048 bits");
        }
        let public = pair.public_key();
        let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
        let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
        Ok(Self {
            kid: thumbprint(&n, &e),
            pair: Arc::new(pair),
            decoding: Arc::new(DecodingKey::from_rsa_components(&n, &e)?),
            lifecycle,
            n,
            e,
        })
    }

    fn with_lifecycle(&self, lifecycle: KeyLifecycle) -> Self {
        Self {
            kid: self.kid.clone(),
            pair: self.pair.clone(),
            decoding: self.decoding.clone(),
            lifecycle,
            n: self.n.clone(),
            e: self.e.clone(),
        }
    }

    /// RS256 (RSASSA-PKCS1-v1_5 with SHA-256) over `message`, as JWS needs.
    pub fn sign_rs256(&self, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                message,
                &mut signature,
            )
            .map_err(|_| anyhow::anyhow!("RSA signing failed"))?;
        Ok(signature)
    }

    /// The key's status at `now`, given how long the tokens it signs live.
    pub fn status(&self, now: DateTime<Utc>, token_lifetime: Duration) -> KeyStatus {
        let lifetime = chrono::Duration::from_std(token_lifetime).unwrap_or(chrono::Duration::MAX);
        match self.lifecycle.retired_at {
            Some(retired)
                if retired
                    .checked_add_signed(lifetime)
                    .is_some_and(|end| end <= now) =>
            {
                KeyStatus::Expired
            }
            Some(_) => KeyStatus::Retired,
            None if self.lifecycle.activates_at > now => KeyStatus::Pending,
            None => KeyStatus::Active,
        }
    }

    /// The public key as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo), for a service that pins
    /// keys instead of reading the JWKS.
    pub fn public_pem(&self) -> anyhow::Result<String> {
        use aws_lc_rs::encoding::{AsDer as _, PublicKeyX509Der};
        let der: PublicKeyX509Der<'static> = self
            .pair
            .public_key()
            .as_der()
            .map_err(|_| anyhow::anyhow!("encoding the public key of {} failed", self.kid))?;
        Ok(pem::encode(&pem::Pem::new(
            "PUBLIC KEY",
            der.as_ref().to_vec(),
        )))
    }

    pub fn jwk(&self) -> serde_json::Value {
        json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": self.n, "e": self.e})
    }
}

/// RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
fn thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// A key as the database holds it: the PKCS#8 PEM sealed under the instance secret, with the
/// `kid` as associated data.
#[derive(Clone)]
pub struct SealedKey {
    pub kid: String,
    pub sealed: Vec<u8>,
    pub lifecycle: KeyLifecycle,
}

/// The key set every request uses: the database's keys, opened and parsed once, replaced as a
/// whole by [`KeyStore::install`] whenever the database's set is read again.
pub struct KeyStore {
    sealer: Arc<Sealer>,
    /// How long the tokens a key signs live: how long a retired key stays published.
    token_lifetime: Duration,
    keys: RwLock<Arc<Vec<Arc<SigningKey>>>>,
}

impl KeyStore {
    /// An empty store; `storage::signing_keys::bootstrap` fills it.
    pub fn new(sealer: Arc<Sealer>, token_lifetime: Duration) -> Self {
        Self {
            sealer,
            token_lifetime,
            keys: RwLock::new(Arc::new(Vec::new())),
        }
    }

    /// Replaces the key set with `sealed`. Keys already loaded are reused (only their
    /// lifecycle may have changed); new ones are opened and parsed. On any error the set in
    /// use stays as it was.
    pub fn install(&self, sealed: &[SealedKey]) -> anyhow::Result<()> {
        let current = self.all();
        let mut keys = Vec::with_capacity(sealed.len());
        for key in sealed {
            let loaded = match current.iter().find(|k| k.kid == key.kid) {
                Some(known) => known.with_lifecycle(key.lifecycle.clone()),
                None => {
                    let pem = self.sealer.open(&key.kid, &key.sealed).map_err(|_| {
                        anyhow::anyhow!(
                            "signing key {} in the database does not open with this AUTHD_SECRET: \
                             every instance needs the secret the keys were sealed with",
                            key.kid
                        )
                    })?;
                    let text = String::from_utf8(pem).context("a sealed key is not PEM text")?;
                    let parsed = SigningKey::from_pkcs8_pem(&text, key.lifecycle.clone())?;
                    if parsed.kid != key.kid {
                        bail!("signing key {} holds another key ({})", key.kid, parsed.kid);
                    }
                    parsed
                }
            };
            keys.push(Arc::new(loaded));
        }
        // Newest activation first: the first active key is the signer.
        keys.sort_by(|a, b| {
            b.lifecycle
                .activates_at
                .cmp(&a.lifecycle.activates_at)
                .then_with(|| b.lifecycle.created_at.cmp(&a.lifecycle.created_at))
                .then_with(|| a.kid.cmp(&b.kid))
        });
        *self.keys.write().expect("key lock") = Arc::new(keys);
        Ok(())
    }

    /// A new 2048-bit RSA key, sealed, signing from `now + activation_delay`. CPU-heavy
    /// (tens to hundreds of milliseconds): call it off the async runtime.
    pub fn generate(
        &self,
        now: DateTime<Utc>,
        activation_delay: Duration,
    ) -> anyhow::Result<SealedKey> {
        let pair = KeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| anyhow::anyhow!("RSA key generation failed"))?;
        let der = pair
            .as_der()
            .map_err(|_| anyhow::anyhow!("encoding the key failed"))?;
        let text = pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref().to_vec()));
        // Activation in whole seconds, like the `iat` the signer compares against; creation
        // keeps its precision, so of two keys activating in the same second the newer signs.
        let lifecycle = KeyLifecycle {
            created_at: now,
            activates_at: now.trunc_subsecs(0) + chrono::Duration::from_std(activation_delay)?,
            retired_at: None,
        };
        self.seal_pem(&text, lifecycle)
    }

    /// Seals a PKCS#8 PEM key (from `authd keys import`) after checking that it is one.
    pub fn seal_pem(&self, pem_text: &str, lifecycle: KeyLifecycle) -> anyhow::Result<SealedKey> {
        let kid = SigningKey::from_pkcs8_pem(pem_text, lifecycle.clone())?.kid;
        let sealed = self
            .sealer
            .seal(&kid, pem_text.as_bytes())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(SealedKey {
            kid,
            sealed,
            lifecycle,
        })
    }

    pub fn all(&self) -> Arc<Vec<Arc<SigningKey>>> {
        self.keys.read().expect("key lock").clone()
    }

    pub fn status(&self, key: &SigningKey, now: DateTime<Utc>) -> KeyStatus {
        key.status(now, self.token_lifetime)
    }

    /// The key that signs new tokens at `now`: the most recently activated active key.
    pub fn signing_key(&self, now: DateTime<Utc>) -> Option<Arc<SigningKey>> {
        self.all()
            .iter()
            .find(|k| self.status(k, now) == KeyStatus::Active)
            .cloned()
    }

    /// A key that may verify tokens at `now`: any published one.
    pub fn verifying_key(&self, kid: &str, now: DateTime<Utc>) -> Option<Arc<SigningKey>> {
        self.all()
            .iter()
            .find(|k| k.kid == kid && self.status(k, now) != KeyStatus::Expired)
            .cloned()
    }

    /// Every published key: pending, active, and retired ones whose tokens may still be live.
    pub fn jwks(&self, now: DateTime<Utc>) -> serde_json::Value {
        let keys: Vec<_> = self
            .all()
            .iter()
            .filter(|k| self.status(k, now) != KeyStatus::Expired)
            .map(|k| k.jwk())
            .collect();
        json!({ "keys": keys })
    }

    /// How long a key made by `keys rotate` at `now` waits before it signs: the configured
    /// delay, or none when no key signs (there is nothing to wait for).
    pub fn rotation_delay(&self, now: DateTime<Utc>, configured: Duration) -> Duration {
        if self.signing_key(now).is_some() {
            configured
        } else {
            Duration::ZERO
        }
    }

    /// Whether `keys retire KID` may act at `now`: the key exists, is not retired, and another
    /// key has signed for at least [`RETIRE_MARGIN`] (rotate first, and retire once the new
    /// key is active): an instance that has not read the key set again yet (every 5 s), or
    /// whose clock reading lags, must not be left without a key that signs.
    pub fn check_retire(&self, kid: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
        let all = self.all();
        let key = all
            .iter()
            .find(|k| k.kid == kid)
            .with_context(|| format!("no key {kid}"))?;
        if key.lifecycle.retired_at.is_some() {
            bail!("key {kid} is already retired");
        }
        let settled = now - RETIRE_MARGIN;
        let other_signer = all.iter().any(|k| {
            k.kid != kid
                && self.status(k, now) == KeyStatus::Active
                && self.status(k, settled) == KeyStatus::Active
        });
        if !other_signer {
            let next = all
                .iter()
                .filter(|k| k.kid != kid && k.lifecycle.retired_at.is_none())
                .map(|k| k.lifecycle.activates_at + RETIRE_MARGIN)
                .filter(|at| *at > now)
                .min();
            match next {
                Some(at) => bail!(
                    "key {kid} is the only key every instance is sure to sign with until {}: retire it after that",
                    at.to_rfc3339()
                ),
                None => bail!(
                    "key {kid} is the only active key: run `authd keys rotate` and retire it once the new key is active"
                ),
            }
        }
        Ok(())
    }
}

/// How long a key must have been active before another may be retired in its favour.
pub const RETIRE_MARGIN: chrono::Duration = chrono::Duration::seconds(60);

/// Reads the PKCS#8 PEM keys of a folder written by an earlier authd (`{kid}.pem`, with
/// `{kid}.json` holding the lifecycle when present), for `authd keys import`.
pub fn read_key_folder(dir: &Path) -> anyhow::Result<Vec<(String, KeyLifecycle)>> {
    let mut keys = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_none_or(|x| x != "pem") {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let sidecar = path.with_extension("json");
        let lifecycle = if sidecar.exists() {
            let raw = std::fs::read_to_string(&sidecar)
                .with_context(|| format!("reading {}", sidecar.display()))?;
            serde_json::from_str(&raw).with_context(|| format!("parsing {}", sidecar.display()))?
        } else {
            // Whole seconds, like the `iat` the signer compares against.
            let written = DateTime::<Utc>::from(
                std::fs::metadata(&path)?
                    .modified()
                    .unwrap_or(SystemTime::UNIX_EPOCH),
            )
            .trunc_subsecs(0);
            KeyLifecycle {
                created_at: written,
                activates_at: written,
                retired_at: None,
            }
        };
        keys.push((text, lifecycle));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        // The example key of RFC 7638 section 3.1.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(
            thumbprint(n, "AQAB"),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    const HOUR: Duration = Duration::from_secs(3600);

    fn store() -> KeyStore {
        KeyStore::new(
            Arc::new(Sealer::new(b"0123456789abcdef0123456789abcdef").unwrap()),
            HOUR,
        )
    }

    #[test]
    fn generated_keys_are_sealed_and_open_again() {
        let store = store();
        let now = Utc::now();
        let sealed = store.generate(now, Duration::ZERO).unwrap();
        assert!(
            !String::from_utf8_lossy(&sealed.sealed).contains("PRIVATE KEY"),
            "sealed, not PEM"
        );
        store.install(std::slice::from_ref(&sealed)).unwrap();
        let key = store.signing_key(now).unwrap();
        assert_eq!(key.kid, sealed.kid);
        let jwks = store.jwks(now);
        assert_eq!(jwks["keys"][0]["kid"], key.kid.as_str());
        assert_eq!(jwks["keys"][0]["e"], "AQAB");

        let other = KeyStore::new(
            Arc::new(Sealer::new(b"another secret, also 32 bytes long").unwrap()),
            HOUR,
        );
        let err = other.install(&[sealed]).unwrap_err().to_string();
        assert!(err.contains("AUTHD_SECRET"), "{err}");
        assert!(other.all().is_empty(), "nothing half-installed");
    }

    #[test]
    fn rotation_publishes_first_signs_later_and_retired_keys_expire() {
        let store = store();
        let t0 = Utc::now();
        assert_eq!(store.rotation_delay(t0, HOUR), Duration::ZERO);
        let mut old = store.generate(t0, Duration::ZERO).unwrap();
        store.install(std::slice::from_ref(&old)).unwrap();
        assert!(
            store.check_retire(&old.kid, t0).is_err(),
            "the only signer cannot retire"
        );
        let delay = store.rotation_delay(t0, Duration::from_secs(600));
        assert_eq!(delay.as_secs(), 600);
        let new = store.generate(t0, delay).unwrap();
        store.install(&[old.clone(), new.clone()]).unwrap();
        assert_eq!(store.jwks(t0)["keys"].as_array().unwrap().len(), 2);
        assert_eq!(store.signing_key(t0).unwrap().kid, old.kid, "not yet");
        let t1 = t0 + chrono::Duration::minutes(11);
        assert_eq!(store.signing_key(t1).unwrap().kid, new.kid);

        store.check_retire(&old.kid, t1).unwrap();
        old.lifecycle.retired_at = Some(t1);
        store.install(&[old.clone(), new.clone()]).unwrap();
        let old_here = store.verifying_key(&old.kid, t1).expect("still verifies");
        assert_eq!(store.status(&old_here, t1), KeyStatus::Retired);
        let t2 = t1 + chrono::Duration::minutes(61);
        assert!(store.verifying_key(&old.kid, t2).is_none(), "expired");
        assert_eq!(store.jwks(t2)["keys"].as_array().unwrap().len(), 1);
        assert!(store.check_retire(&old.kid, t2).is_err(), "already retired");
    }

    #[test]
    fn imports_only_pkcs8_rsa_keys() {
        let store = store();
        let lifecycle = KeyLifecycle {
            created_at: Utc::now(),
            activates_at: Utc::now(),
            retired_at: None,
        };
        assert!(store.seal_pem("not a key", lifecycle.clone()).is_err());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.pem"), "not a key").unwrap();
        let read = read_key_folder(dir.path()).unwrap();
        assert_eq!(read.len(), 1);
        assert!(store.seal_pem(&read[0].0, read[0].1.clone()).is_err());
    }
}
