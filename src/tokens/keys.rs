//! RSA signing keys: loaded from `AUTHD_KEYS_DIR` (one PKCS#8 PEM file per key, mode 0600,
//! with a `{kid}.json` beside it holding its lifecycle), generated on first start, published as
//! a JWKS. `kid` is the RFC 7638 thumbprint.
//!
//! A key is *pending* from creation until `activates_at` (published, not signing: clients
//! caching the JWKS learn it first), then *active*; the newest active key signs. A *retired*
//! key signs no more and stays published until every token it signed has expired.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SubsecRound as _, Utc};
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

/// When a key signs, kept in `{kid}.json` beside the key. A key without one (copied in by
/// hand) counts as active since its file was written.
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
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
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
            encoding: EncodingKey::from_rsa_pem(pem_text.as_bytes())?,
            decoding: DecodingKey::from_rsa_components(&n, &e)?,
            lifecycle,
            n,
            e,
        })
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

    pub fn jwk(&self) -> serde_json::Value {
        json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": self.n, "e": self.e})
    }
}

/// RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
fn thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// The keys of one keys folder, shared by every request. Several instances may share the
/// folder: each re-reads it (see [`KeyStore::reload`]) and decides by time which key signs.
pub struct KeyStore {
    dir: PathBuf,
    /// How long the tokens a key signs live: how long a retired key stays published.
    token_lifetime: Duration,
    keys: RwLock<Arc<Vec<Arc<SigningKey>>>>,
}

impl KeyStore {
    /// Loads every key in `dir`; with none able to sign, generates one that is active at once.
    pub fn load_or_generate(dir: &Path, token_lifetime: Duration) -> anyhow::Result<Self> {
        let store = Self::load(dir, token_lifetime)?;
        if store.signing_key(Utc::now()).is_none() {
            generate_key_file(dir, Utc::now(), Duration::ZERO)?;
            store.reload()?;
        }
        Ok(store)
    }

    /// Loads the folder without generating anything.
    pub fn load(dir: &Path, token_lifetime: Duration) -> anyhow::Result<Self> {
        let store = Self {
            dir: dir.to_owned(),
            token_lifetime,
            keys: RwLock::new(Arc::new(Vec::new())),
        };
        store.reload()?;
        Ok(store)
    }

    /// Re-reads the folder, so rotations made by `authd keys` or another instance take effect.
    pub fn reload(&self) -> anyhow::Result<()> {
        let mut keys = Vec::new();
        if self.dir.exists() {
            for entry in std::fs::read_dir(&self.dir)
                .with_context(|| format!("reading {}", self.dir.display()))?
            {
                let path = entry?.path();
                if path.extension().is_some_and(|x| x == "pem") {
                    keys.push(Arc::new(load_key(&path)?));
                }
            }
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

    /// `keys rotate`: a new key, published at once, signing after `activation_delay`.
    /// With no active key there is nothing to wait for, and the new key signs at once.
    pub fn rotate(
        &self,
        now: DateTime<Utc>,
        activation_delay: Duration,
    ) -> anyhow::Result<Arc<SigningKey>> {
        let delay = if self.signing_key(now).is_some() {
            activation_delay
        } else {
            Duration::ZERO
        };
        let path = generate_key_file(&self.dir, now, delay)?;
        self.reload()?;
        let kid = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        self.all()
            .iter()
            .find(|k| k.kid == kid)
            .cloned()
            .context("the new key did not load")
    }

    /// `keys retire KID`: the key signs no more. Refused when no other key would be left
    /// signing (rotate first, and retire once the new key is active).
    pub fn retire(&self, kid: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
        let all = self.all();
        let key = all
            .iter()
            .find(|k| k.kid == kid)
            .with_context(|| format!("no key {kid} in {}", self.dir.display()))?;
        if key.lifecycle.retired_at.is_some() {
            bail!("key {kid} is already retired");
        }
        let other_signer = all
            .iter()
            .any(|k| k.kid != kid && self.status(k, now) == KeyStatus::Active);
        if !other_signer {
            bail!(
                "key {kid} is the only active key: run `authd keys rotate` and retire it once the new key is active"
            );
        }
        let lifecycle = KeyLifecycle {
            retired_at: Some(now),
            ..key.lifecycle.clone()
        };
        write_lifecycle(&self.dir, kid, &lifecycle)?;
        self.reload()
    }
}

fn load_key(path: &Path) -> anyhow::Result<SigningKey> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let sidecar = path.with_extension("json");
    let lifecycle = if sidecar.exists() {
        let raw = std::fs::read_to_string(&sidecar)
            .with_context(|| format!("reading {}", sidecar.display()))?;
        serde_json::from_str(&raw).with_context(|| format!("parsing {}", sidecar.display()))?
    } else {
        let written: DateTime<Utc> = std::fs::metadata(path)?
            .modified()
            .unwrap_or(SystemTime::UNIX_EPOCH)
            .into();
        KeyLifecycle {
            created_at: written,
            activates_at: written,
            retired_at: None,
        }
    };
    SigningKey::from_pkcs8_pem(&text, lifecycle)
        .with_context(|| format!("loading {}", path.display()))
}

fn write_lifecycle(dir: &Path, kid: &str, lifecycle: &KeyLifecycle) -> anyhow::Result<()> {
    let tmp = dir.join(format!(".{kid}.json.tmp"));
    write_private(&tmp, serde_json::to_string_pretty(lifecycle)?.as_bytes())?;
    std::fs::rename(&tmp, dir.join(format!("{kid}.json")))?;
    Ok(())
}

/// Generates a 2048-bit RSA key into `dir` as `{kid}.pem` (readable by the owner only) with
/// its lifecycle, signing from `now + activation_delay`.
pub fn generate_key_file(
    dir: &Path,
    now: DateTime<Utc>,
    activation_delay: Duration,
) -> anyhow::Result<PathBuf> {
    create_private_dir(dir)?;
    let pair = KeyPair::generate(KeySize::Rsa2048)
        .map_err(|_| anyhow::anyhow!("RSA key generation failed"))?;
    let der = pair
        .as_der()
        .map_err(|_| anyhow::anyhow!("encoding the key failed"))?;
    let text = pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref().to_vec()));
    // Activation in whole seconds, like the `iat` the signer compares against; creation keeps
    // its precision, so of two keys activating in the same second the newer one signs.
    let lifecycle = KeyLifecycle {
        created_at: now,
        activates_at: now.trunc_subsecs(0) + chrono::Duration::from_std(activation_delay)?,
        retired_at: None,
    };
    let kid = SigningKey::from_pkcs8_pem(&text, lifecycle.clone())?.kid;
    // The lifecycle goes first: a reader that sees the key also sees when it may sign.
    write_lifecycle(dir, &kid, &lifecycle)?;
    let path = dir.join(format!("{kid}.pem"));
    let tmp = dir.join(format!(".{kid}.pem.tmp"));
    write_private(&tmp, text.as_bytes())?;
    // Rename is atomic: another instance reading the folder never sees half a key.
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    Ok(std::fs::create_dir_all(dir)?)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    Ok(std::fs::write(path, bytes)?)
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

    #[test]
    fn generates_a_private_key_file_once_and_reloads_it() {
        let dir = tempfile::tempdir().unwrap();
        let keys_dir = dir.path().join("keys");
        let store = KeyStore::load_or_generate(&keys_dir, HOUR).unwrap();
        let now = Utc::now();
        let key = store.signing_key(now).unwrap();
        let file = keys_dir.join(format!("{}.pem", key.kid));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let again = KeyStore::load_or_generate(&keys_dir, HOUR).unwrap();
        assert_eq!(again.all().len(), 1);
        assert_eq!(again.signing_key(now).unwrap().kid, key.kid);
        let jwks = again.jwks(now);
        assert_eq!(jwks["keys"][0]["kid"], key.kid.as_str());
        assert_eq!(jwks["keys"][0]["e"], "AQAB");
    }

    #[test]
    fn rotation_publishes_first_signs_later_and_retired_keys_expire() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::load_or_generate(dir.path(), HOUR).unwrap();
        let t0 = Utc::now();
        let old = store.signing_key(t0).unwrap();
        assert!(
            store.retire(&old.kid, t0).is_err(),
            "the only signer cannot retire"
        );

        let new = store.rotate(t0, Duration::from_secs(600)).unwrap();
        assert_eq!(store.status(&new, t0), KeyStatus::Pending);
        assert_eq!(
            store.jwks(t0)["keys"].as_array().unwrap().len(),
            2,
            "published at once"
        );
        assert_eq!(
            store.signing_key(t0).unwrap().kid,
            old.kid,
            "not signing yet"
        );
        let t1 = t0 + chrono::Duration::minutes(11);
        assert_eq!(store.signing_key(t1).unwrap().kid, new.kid);

        store.retire(&old.kid, t1).unwrap();
        // Another process (or instance) sees the same state from the folder.
        let other = KeyStore::load(dir.path(), HOUR).unwrap();
        let old_there = other.verifying_key(&old.kid, t1).expect("still verifies");
        assert_eq!(other.status(&old_there, t1), KeyStatus::Retired);
        assert_eq!(other.jwks(t1)["keys"].as_array().unwrap().len(), 2);
        let t2 = t1 + chrono::Duration::minutes(61);
        assert!(
            other.verifying_key(&old.kid, t2).is_none(),
            "its tokens have all expired"
        );
        assert_eq!(other.jwks(t2)["keys"].as_array().unwrap().len(), 1);
        assert!(other.retire(&old.kid, t2).is_err(), "already retired");
    }
    #[test]
    fn refuses_a_folder_with_a_broken_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.pem"), "not a key").unwrap();
        assert!(KeyStore::load_or_generate(dir.path(), HOUR).is_err());
    }
}
