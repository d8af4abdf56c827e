//! Signing keys (RS256, ES256, EdDSA), kept in the database (see `storage::signing_keys`)
//! sealed under the instance secret, held here decrypted and parsed for every request,
//! published as a JWKS. `kid` is the RFC 7638 thumbprint; a key's algorithm is its type's
//! (RSA: RS256, P-256: ES256, Ed25519: EdDSA), so the stored PKCS#8 says it.
//!
//! A key is *pending* from creation until `activates_at` (published, not signing: clients
//! caching the JWKS learn it first), then *active*; the newest active key of an algorithm
//! signs for it. A *retired* key signs no more and stays published until every token it
//! signed has expired. Every algorithm keeps a key, so a client may ask for any of them
//! (`id_token_signed_response_alg`) and `AUTHD_SIGNING_ALG` may change without a verifier
//! meeting a key it has not cached.

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SubsecRound as _, Utc};
use jsonwebtoken::DecodingKey;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

pub use crate::domain::SigningAlg;
use crate::sealing::Sealer;

/// The `jsonwebtoken` algorithm that verifies `alg`.
pub fn jwt_algorithm(alg: SigningAlg) -> jsonwebtoken::Algorithm {
    match alg {
        SigningAlg::Rs256 => jsonwebtoken::Algorithm::RS256,
        SigningAlg::Es256 => jsonwebtoken::Algorithm::ES256,
        SigningAlg::EdDsa => jsonwebtoken::Algorithm::EdDSA,
    }
}

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

/// A private key, parsed once (parsing and checking an RSA key costs more than a signature).
enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

impl Pair {
    /// Whichever of the three a PKCS#8 document holds.
    fn from_pkcs8(der: &[u8]) -> anyhow::Result<Self> {
        if let Ok(pair) = RsaKeyPair::from_pkcs8(der) {
            if pair.public_modulus_len() < 256 {
                bail!("RSA keys must have at least 2048 bits");
            }
            return Ok(Pair::Rsa(pair));
        }
        if let Ok(pair) = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der) {
            return Ok(Pair::Ec(pair));
        }
        if let Ok(pair) = Ed25519KeyPair::from_pkcs8(der) {
            return Ok(Pair::Ed(pair));
        }
        bail!("not an RSA (2048 bits or more), P-256 or Ed25519 private key")
    }

    fn generate(alg: SigningAlg) -> anyhow::Result<Vec<u8>> {
        let failed = |_| anyhow::anyhow!("{alg} key generation failed");
        let der = match alg {
            SigningAlg::Rs256 => RsaKeyPair::generate(KeySize::Rsa2048)
                .map_err(failed)?
                .as_der()
                .map_err(failed)?
                .as_ref()
                .to_vec(),
            SigningAlg::Es256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .map_err(failed)?
                .to_pkcs8v1()
                .map_err(failed)?
                .as_ref()
                .to_vec(),
            SigningAlg::EdDsa => Ed25519KeyPair::generate()
                .map_err(failed)?
                .to_pkcs8v1()
                .map_err(failed)?
                .as_ref()
                .to_vec(),
        };
        Ok(der)
    }

    fn alg(&self) -> SigningAlg {
        match self {
            Pair::Rsa(_) => SigningAlg::Rs256,
            Pair::Ec(_) => SigningAlg::Es256,
            Pair::Ed(_) => SigningAlg::EdDsa,
        }
    }

    /// The RFC 7638 members of the public key, in lexicographic order (`kty` included).
    fn public_members(&self) -> anyhow::Result<Vec<(&'static str, String)>> {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        Ok(match self {
            Pair::Rsa(pair) => {
                let public = pair.public_key();
                vec![
                    (
                        "e",
                        b64(public.exponent().big_endian_without_leading_zero()),
                    ),
                    ("kty", "RSA".into()),
                    ("n", b64(public.modulus().big_endian_without_leading_zero())),
                ]
            }
            Pair::Ec(pair) => {
                // The uncompressed point: 0x04, then x and y of 32 bytes each.
                let point = pair.public_key().as_ref();
                if point.len() != 65 || point[0] != 4 {
                    bail!("unexpected P-256 public key encoding");
                }
                vec![
                    ("crv", "P-256".into()),
                    ("kty", "EC".into()),
                    ("x", b64(&point[1..33])),
                    ("y", b64(&point[33..])),
                ]
            }
            Pair::Ed(pair) => vec![
                ("crv", "Ed25519".into()),
                ("kty", "OKP".into()),
                ("x", b64(pair.public_key().as_ref())),
            ],
        })
    }

    fn sign(&self, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        match self {
            Pair::Rsa(pair) => {
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(
                    &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                    &aws_lc_rs::rand::SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .map_err(|_| anyhow::anyhow!("RSA signing failed"))?;
                Ok(signature)
            }
            // The fixed-length `r || s` that JWS wants (RFC 7518 section 3.4).
            Pair::Ec(pair) => pair
                .sign(&aws_lc_rs::rand::SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| anyhow::anyhow!("ECDSA signing failed")),
            Pair::Ed(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }

    fn public_der(&self) -> anyhow::Result<Vec<u8>> {
        use aws_lc_rs::encoding::PublicKeyX509Der;
        let failed = |_| anyhow::anyhow!("encoding the public key failed");
        let der: PublicKeyX509Der<'static> = match self {
            Pair::Rsa(pair) => pair.public_key().as_der().map_err(failed)?,
            Pair::Ec(pair) => pair.public_key().as_der().map_err(failed)?,
            Pair::Ed(pair) => pair.public_key().as_der().map_err(failed)?,
        };
        Ok(der.as_ref().to_vec())
    }
}

/// One key with everything needed to sign, verify and publish it.
pub struct SigningKey {
    pub kid: String,
    pub alg: SigningAlg,
    pair: Arc<Pair>,
    pub decoding: Arc<DecodingKey>,
    pub lifecycle: KeyLifecycle,
    /// The public JWK's members (RFC 7638's, which the `kid` is the thumbprint of).
    members: Arc<Vec<(&'static str, String)>>,
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
        let pair = Pair::from_pkcs8(parsed.contents())?;
        let members = pair.public_members()?;
        let member = |name: &str| {
            members
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
                .unwrap_or_default()
        };
        let decoding = match pair.alg() {
            SigningAlg::Rs256 => DecodingKey::from_rsa_components(member("n"), member("e"))?,
            SigningAlg::Es256 => DecodingKey::from_ec_components(member("x"), member("y"))?,
            SigningAlg::EdDsa => DecodingKey::from_ed_components(member("x"))?,
        };
        Ok(Self {
            kid: thumbprint(&members),
            alg: pair.alg(),
            pair: Arc::new(pair),
            decoding: Arc::new(decoding),
            lifecycle,
            members: Arc::new(members),
        })
    }

    fn with_lifecycle(&self, lifecycle: KeyLifecycle) -> Self {
        Self {
            kid: self.kid.clone(),
            alg: self.alg,
            pair: self.pair.clone(),
            decoding: self.decoding.clone(),
            lifecycle,
            members: self.members.clone(),
        }
    }

    /// The JWS signature over `message` with this key's algorithm.
    pub fn sign(&self, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        self.pair.sign(message)
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
        let der = self
            .pair
            .public_der()
            .with_context(|| format!("key {}", self.kid))?;
        Ok(pem::encode(&pem::Pem::new("PUBLIC KEY", der)))
    }

    pub fn jwk(&self) -> serde_json::Value {
        let mut jwk = serde_json::Map::new();
        for (name, value) in self.members.iter() {
            jwk.insert((*name).to_owned(), json!(value));
        }
        jwk.insert("use".into(), json!("sig"));
        jwk.insert("alg".into(), json!(self.alg.as_str()));
        jwk.insert("kid".into(), json!(self.kid));
        serde_json::Value::Object(jwk)
    }
}

/// RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
fn thumbprint(members: &[(&'static str, String)]) -> String {
    let canonical: serde_json::Map<String, serde_json::Value> = members
        .iter()
        .map(|(name, value)| ((*name).to_owned(), json!(value)))
        .collect();
    // The members are listed sorted, so the map's order is theirs either way (sorted keys,
    // or insertion order with serde_json's `preserve_order`); no whitespace is written.
    let text = serde_json::to_string(&canonical).expect("a map of strings serializes");
    URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes()))
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
    /// `AUTHD_SIGNING_ALG`: what signs access tokens, and ID tokens unless the client asks.
    default_alg: SigningAlg,
    keys: RwLock<Arc<Vec<Arc<SigningKey>>>>,
}

impl KeyStore {
    /// An empty store; `storage::signing_keys::bootstrap` fills it.
    pub fn new(sealer: Arc<Sealer>, token_lifetime: Duration, default_alg: SigningAlg) -> Self {
        Self {
            sealer,
            token_lifetime,
            default_alg,
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

    /// A new key for `alg` (RSA: 2048 bits), sealed, signing from `now + activation_delay`.
    /// An RSA key is CPU-heavy (tens to hundreds of milliseconds): call it off the async
    /// runtime.
    pub fn generate(
        &self,
        now: DateTime<Utc>,
        activation_delay: Duration,
        alg: SigningAlg,
    ) -> anyhow::Result<SealedKey> {
        let der = Pair::generate(alg)?;
        let text = pem::encode(&pem::Pem::new("PRIVATE KEY", der));
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

    /// The key that signs `alg` tokens at `now`: the most recently activated active key of
    /// that algorithm.
    pub fn signing_key(&self, now: DateTime<Utc>, alg: SigningAlg) -> Option<Arc<SigningKey>> {
        self.all()
            .iter()
            .find(|k| k.alg == alg && self.status(k, now) == KeyStatus::Active)
            .cloned()
    }

    /// The key that signs a token asked for in `alg` (or `AUTHD_SIGNING_ALG` when the client
    /// did not ask): that algorithm's signer, else, while a new algorithm's first key is
    /// still pending, the default algorithm's, else any active key.
    pub fn signer_for(
        &self,
        now: DateTime<Utc>,
        alg: Option<SigningAlg>,
    ) -> Option<Arc<SigningKey>> {
        let wanted = alg.unwrap_or(self.default_alg);
        self.signing_key(now, wanted)
            .or_else(|| self.signing_key(now, self.default_alg))
            .or_else(|| self.any_signer(now))
    }

    /// Some active key, of any algorithm.
    pub fn any_signer(&self, now: DateTime<Utc>) -> Option<Arc<SigningKey>> {
        self.all()
            .iter()
            .find(|k| self.status(k, now) == KeyStatus::Active)
            .cloned()
    }

    /// What signs when nobody asks for an algorithm (`AUTHD_SIGNING_ALG`).
    pub fn default_alg(&self) -> SigningAlg {
        self.default_alg
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
        if self.any_signer(now).is_some() {
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
                && k.alg == key.alg
                && self.status(k, now) == KeyStatus::Active
                && self.status(k, settled) == KeyStatus::Active
        });
        if !other_signer {
            let next = all
                .iter()
                .filter(|k| k.kid != kid && k.alg == key.alg && k.lifecycle.retired_at.is_none())
                .map(|k| k.lifecycle.activates_at + RETIRE_MARGIN)
                .filter(|at| *at > now)
                .min();
            match next {
                Some(at) => bail!(
                    "key {kid} is the only {} key every instance is sure to sign with until {}: retire it after that",
                    key.alg,
                    at.to_rfc3339()
                ),
                None => bail!(
                    "key {kid} is the only active {} key: run `authd keys rotate --alg {}` and retire it once the new key is active",
                    key.alg,
                    key.alg
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
        let members = [
            ("e", "AQAB".to_owned()),
            ("kty", "RSA".into()),
            ("n", n.into()),
        ];
        assert_eq!(
            thumbprint(&members),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        // RFC 8037 appendix A.3: an Ed25519 key's.
        let members = [
            ("crv", "Ed25519".to_owned()),
            ("kty", "OKP".into()),
            ("x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo".into()),
        ];
        assert_eq!(
            thumbprint(&members),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn every_algorithm_signs_what_a_jwt_library_verifies_from_the_jwks() {
        let store = store();
        let now = Utc::now();
        let sealed: Vec<_> = SigningAlg::ALL
            .into_iter()
            .map(|alg| store.generate(now, Duration::ZERO, alg).unwrap())
            .collect();
        store.install(&sealed).unwrap();
        let jwks: jsonwebtoken::jwk::JwkSet =
            serde_json::from_value(store.jwks(now)).expect("a JWKS jsonwebtoken reads");
        assert_eq!(jwks.keys.len(), 3);
        for alg in SigningAlg::ALL {
            let key = store.signing_key(now, alg).expect("a signer per algorithm");
            assert_eq!(key.alg, alg);
            let jwk = jwks.find(&key.kid).expect("published");
            let header = URL_SAFE_NO_PAD
                .encode(format!(r#"{{"alg":"{alg}","kid":"{}"}}"#, key.kid).as_bytes());
            let body = URL_SAFE_NO_PAD.encode(br#"{"sub":"x"}"#);
            let input = format!("{header}.{body}");
            let signature = URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).unwrap());
            let token = format!("{input}.{signature}");
            let mut validation = jsonwebtoken::Validation::new(jwt_algorithm(alg));
            validation.required_spec_claims.clear();
            validation.validate_exp = false;
            let decoding = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
            jsonwebtoken::decode::<serde_json::Value>(&token, &decoding, &validation)
                .unwrap_or_else(|e| panic!("{alg}: {e}"));
            // And the PEM export holds the same public key.
            assert!(key.public_pem().unwrap().contains("PUBLIC KEY"));
        }
    }

    const HOUR: Duration = Duration::from_secs(3600);

    fn store() -> KeyStore {
        KeyStore::new(
            Arc::new(Sealer::new(b"0123456789abcdef0123456789abcdef").unwrap()),
            HOUR,
            SigningAlg::Rs256,
        )
    }

    #[test]
    fn generated_keys_are_sealed_and_open_again() {
        let store = store();
        let now = Utc::now();
        let sealed = store
            .generate(now, Duration::ZERO, SigningAlg::Rs256)
            .unwrap();
        assert!(
            !String::from_utf8_lossy(&sealed.sealed).contains("PRIVATE KEY"),
            "sealed, not PEM"
        );
        store.install(std::slice::from_ref(&sealed)).unwrap();
        let key = store.signing_key(now, SigningAlg::Rs256).unwrap();
        assert_eq!(key.kid, sealed.kid);
        let jwks = store.jwks(now);
        assert_eq!(jwks["keys"][0]["kid"], key.kid.as_str());
        assert_eq!(jwks["keys"][0]["e"], "AQAB");

        let other = KeyStore::new(
            Arc::new(Sealer::new(b"another secret, also 32 bytes long").unwrap()),
            HOUR,
            SigningAlg::Rs256,
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
        let mut old = store
            .generate(t0, Duration::ZERO, SigningAlg::Rs256)
            .unwrap();
        store.install(std::slice::from_ref(&old)).unwrap();
        assert!(
            store.check_retire(&old.kid, t0).is_err(),
            "the only signer cannot retire"
        );
        let delay = store.rotation_delay(t0, Duration::from_secs(600));
        assert_eq!(delay.as_secs(), 600);
        let new = store.generate(t0, delay, SigningAlg::Rs256).unwrap();
        store.install(&[old.clone(), new.clone()]).unwrap();
        assert_eq!(store.jwks(t0)["keys"].as_array().unwrap().len(), 2);
        assert_eq!(
            store.signing_key(t0, SigningAlg::Rs256).unwrap().kid,
            old.kid,
            "not yet"
        );
        let t1 = t0 + chrono::Duration::minutes(11);
        assert_eq!(
            store.signing_key(t1, SigningAlg::Rs256).unwrap().kid,
            new.kid
        );

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

    /// A database from before ES256 and EdDSA: their keys arrive pending; until they sign,
    /// what asks for them gets the default algorithm's key, and a key is retired only for
    /// another of its own algorithm.
    #[test]
    fn a_pending_algorithm_falls_back_and_retiring_looks_within_the_algorithm() {
        let store = store();
        let t0 = Utc::now();
        let rsa = store
            .generate(t0, Duration::ZERO, SigningAlg::Rs256)
            .unwrap();
        let delay = Duration::from_secs(600);
        let es = store.generate(t0, delay, SigningAlg::Es256).unwrap();
        let ed = store.generate(t0, delay, SigningAlg::EdDsa).unwrap();
        store
            .install(&[rsa.clone(), es.clone(), ed.clone()])
            .unwrap();
        assert_eq!(store.jwks(t0)["keys"].as_array().unwrap().len(), 3);
        let signer = store.signer_for(t0, Some(SigningAlg::EdDsa)).unwrap();
        assert_eq!(
            (signer.kid.as_str(), signer.alg),
            (rsa.kid.as_str(), SigningAlg::Rs256)
        );
        let t1 = t0 + chrono::Duration::minutes(11);
        assert_eq!(
            store.signer_for(t1, Some(SigningAlg::EdDsa)).unwrap().kid,
            ed.kid
        );
        assert_eq!(store.signer_for(t1, None).unwrap().kid, rsa.kid);
        // The RSA key is the only RSA key: other algorithms' keys do not stand in for it.
        let err = store.check_retire(&rsa.kid, t1).unwrap_err().to_string();
        assert!(err.contains("only active RS256 key"), "{err}");
    }

    #[test]
    fn imports_only_pkcs8_signing_keys() {
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
