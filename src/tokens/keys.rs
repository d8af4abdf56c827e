//! RSA signing keys: loaded from `AUTHD_KEYS_DIR` (one PKCS#8 PEM file per key, mode 0600),
//! generated on first start, published as a JWKS. `kid` is the RFC 7638 thumbprint.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use anyhow::{Context, bail};
use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde_json::json;
use sha2::{Digest, Sha256};

/// One key with everything needed to sign, verify and publish it.
pub struct SigningKey {
    pub kid: String,
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
    pub created: SystemTime,
    n: String,
    e: String,
}

impl SigningKey {
    fn from_pkcs8_pem(pem_text: &str, created: SystemTime) -> anyhow::Result<Self> {
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
            created,
            n,
            e,
        })
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

/// The keys of one keys folder, shared by every request.
pub struct KeyStore {
    dir: PathBuf,
    keys: RwLock<Arc<Vec<Arc<SigningKey>>>>,
}

impl KeyStore {
    /// Loads every key in `dir`; with none there, generates one first.
    pub fn load_or_generate(dir: &Path) -> anyhow::Result<Self> {
        let store = Self {
            dir: dir.to_owned(),
            keys: RwLock::new(Arc::new(Vec::new())),
        };
        store.reload()?;
        if store.all().is_empty() {
            generate_key_file(dir)?;
            store.reload()?;
        }
        Ok(store)
    }

    /// Loads the folder without generating anything (for `keys list`).
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let store = Self {
            dir: dir.to_owned(),
            keys: RwLock::new(Arc::new(Vec::new())),
        };
        store.reload()?;
        Ok(store)
    }

    /// Re-reads the folder.
    pub fn reload(&self) -> anyhow::Result<()> {
        let mut keys = Vec::new();
        if self.dir.exists() {
            for entry in std::fs::read_dir(&self.dir)
                .with_context(|| format!("reading {}", self.dir.display()))?
            {
                let path = entry?.path();
                if path.extension().is_some_and(|x| x == "pem") {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    let created = std::fs::metadata(&path)?
                        .modified()
                        .unwrap_or(SystemTime::UNIX_EPOCH);
                    let key = SigningKey::from_pkcs8_pem(&text, created)
                        .with_context(|| format!("loading {}", path.display()))?;
                    keys.push(Arc::new(key));
                }
            }
        }
        keys.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.kid.cmp(&b.kid)));
        *self.keys.write().expect("key lock") = Arc::new(keys);
        Ok(())
    }

    pub fn all(&self) -> Arc<Vec<Arc<SigningKey>>> {
        self.keys.read().expect("key lock").clone()
    }

    /// The key that signs new tokens: the newest one.
    pub fn signing_key(&self) -> Option<Arc<SigningKey>> {
        self.all().first().cloned()
    }

    pub fn find(&self, kid: &str) -> Option<Arc<SigningKey>> {
        self.all().iter().find(|k| k.kid == kid).cloned()
    }

    pub fn jwks(&self) -> serde_json::Value {
        json!({"keys": self.all().iter().map(|k| k.jwk()).collect::<Vec<_>>()})
    }
}

/// Generates a 2048-bit RSA key into `dir` as `{kid}.pem`, readable by the owner only.
pub fn generate_key_file(dir: &Path) -> anyhow::Result<PathBuf> {
    create_private_dir(dir)?;
    let pair = KeyPair::generate(KeySize::Rsa2048)
        .map_err(|_| anyhow::anyhow!("RSA key generation failed"))?;
    let der = pair
        .as_der()
        .map_err(|_| anyhow::anyhow!("encoding the key failed"))?;
    let text = pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref().to_vec()));
    let kid = SigningKey::from_pkcs8_pem(&text, SystemTime::now())?.kid;
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

    #[test]
    fn generates_a_private_key_file_once_and_reloads_it() {
        let dir = tempfile::tempdir().unwrap();
        let keys_dir = dir.path().join("keys");
        let store = KeyStore::load_or_generate(&keys_dir).unwrap();
        let key = store.signing_key().unwrap();
        let file = keys_dir.join(format!("{}.pem", key.kid));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let again = KeyStore::load_or_generate(&keys_dir).unwrap();
        assert_eq!(again.all().len(), 1);
        assert_eq!(again.signing_key().unwrap().kid, key.kid);
        let jwks = again.jwks();
        assert_eq!(jwks["keys"][0]["kid"], key.kid.as_str());
        assert_eq!(jwks["keys"][0]["e"], "AQAB");
    }

    #[test]
    fn refuses_a_folder_with_a_broken_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.pem"), "not a key").unwrap();
        assert!(KeyStore::load_or_generate(dir.path()).is_err());
    }
}
