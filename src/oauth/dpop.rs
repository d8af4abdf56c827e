//! DPoP (RFC 9449): a client proves, with each request, that it holds a private key. At the
//! token endpoint the proof binds what is issued to the key (`cnf.jkt`, the key's RFC 7638
//! thumbprint; a public client's refresh tokens too); wherever a bound access token is
//! presented (userinfo, the account API) it must come with a fresh proof by the same key, for
//! that request and that token. A proof is used once (its `jti`, kept in the database until
//! its `iat` window has passed, so every instance refuses a replay).
//!
//! Nonces (RFC 9449 section 8): authd hands out `DPoP-Nonce` values with every answer to a
//! request that carried a proof, stateless (a time window and its MAC under the instance
//! secret, so any instance takes another's) and good for 5 to 10 minutes. A proof that carries
//! one must carry a good one; with `AUTHD_DPOP_REQUIRE_NONCE=true` every proof must (then a
//! proof made in advance is useless, whatever the client's clock says).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::state::AppState;

/// What a proof may be signed with (discovery's `dpop_signing_alg_values_supported`).
pub const ALGS: [&str; 5] = ["ES256", "EdDSA", "RS256", "PS256", "ES384"];

/// How far a proof's `iat` may be from authd's clock, either way.
pub const IAT_WINDOW_SECS: i64 = 60;

/// A proof that does not hold, with what is wrong (said in `error_description`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InvalidProof(pub String);

fn invalid(why: &str) -> InvalidProof {
    InvalidProof(why.to_owned())
}

/// The key a valid proof was made with, as its thumbprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenKey {
    pub jkt: String,
    jti: String,
    /// The server nonce the proof carried, if any (checked by [`check`]).
    nonce: Option<String>,
}

/// What the proof must be about.
pub struct Expected<'a> {
    /// The request's method, as sent (`POST`).
    pub method: &'a str,
    /// The request's URL at authd's public address, without query or fragment.
    pub url: &'a str,
    /// The access token presented with it, which `ath` must hash.
    pub access_token: Option<&'a str>,
    /// Now, in seconds since the epoch, by authd's clock.
    pub now: i64,
}

#[derive(Deserialize)]
struct Claims {
    jti: String,
    htm: String,
    htu: String,
    iat: i64,
    #[serde(default)]
    ath: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
}

/// Parts of a private or symmetric key: never in a proof's `jwk`.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Checks a proof's form, signature and claims against what the request is (not yet whether
/// it was used before: [`check`] does both).
pub fn verify(proof: &str, expected: &Expected<'_>) -> Result<ProvenKey, InvalidProof> {
    let header_part = proof.split('.').next().unwrap_or_default();
    let header: Value = URL_SAFE_NO_PAD
        .decode(header_part)
        .ok()
        .and_then(|raw| serde_json::from_slice(&raw).ok())
        .ok_or_else(|| invalid("the DPoP proof is not a JWT"))?;
    if header["typ"] != "dpop+jwt" {
        return Err(invalid("the DPoP proof's typ must be dpop+jwt"));
    }
    let alg_name = header["alg"].as_str().unwrap_or_default();
    if !ALGS.contains(&alg_name) {
        return Err(InvalidProof(format!(
            "the DPoP proof's alg must be one of {}",
            ALGS.join(", ")
        )));
    }
    let alg: Algorithm = alg_name
        .parse()
        .map_err(|_| invalid("the DPoP proof's alg is not known"))?;
    let jwk = header["jwk"]
        .as_object()
        .ok_or_else(|| invalid("the DPoP proof's header has no jwk"))?;
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return Err(invalid("the DPoP proof's jwk must be a public key"));
    }
    // The key's type fits the algorithm (so that nothing below meets a key it cannot use).
    let fits = match (jwk.get("kty").and_then(Value::as_str), alg) {
        (Some("EC"), Algorithm::ES256) => jwk.get("crv") == Some(&Value::from("P-256")),
        (Some("EC"), Algorithm::ES384) => jwk.get("crv") == Some(&Value::from("P-384")),
        (Some("OKP"), Algorithm::EdDSA) => jwk.get("crv") == Some(&Value::from("Ed25519")),
        (Some("RSA"), Algorithm::RS256 | Algorithm::PS256) => true,
        _ => false,
    };
    if !fits {
        return Err(invalid("the DPoP proof's jwk does not fit its alg"));
    }
    let jwk: Jwk = serde_json::from_value(Value::Object(jwk.clone()))
        .map_err(|_| invalid("the DPoP proof's jwk is not a valid key"))?;
    let key = DecodingKey::from_jwk(&jwk)
        .map_err(|_| invalid("the DPoP proof's jwk is not a valid key"))?;
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Claims>(proof, &key, &validation)
        .map_err(|_| invalid("the DPoP proof's signature or claims are not valid"))?
        .claims;
    if claims.jti.is_empty() || claims.jti.len() > 256 {
        return Err(invalid(
            "the DPoP proof needs a jti (at most 256 characters)",
        ));
    }
    if claims.htm != expected.method {
        return Err(InvalidProof(format!(
            "the DPoP proof is for {}, not {}",
            claims.htm, expected.method
        )));
    }
    if !same_url(&claims.htu, expected.url) {
        return Err(InvalidProof(format!(
            "the DPoP proof's htu must be {}",
            expected.url
        )));
    }
    if (claims.iat - expected.now).abs() > IAT_WINDOW_SECS {
        return Err(InvalidProof(format!(
            "the DPoP proof's iat is more than {IAT_WINDOW_SECS} s from the server's time"
        )));
    }
    if let Some(token) = expected.access_token {
        let hash = URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()));
        if claims.ath.as_deref() != Some(hash.as_str()) {
            return Err(invalid(
                "the DPoP proof's ath must be the hash of the access token",
            ));
        }
    }
    Ok(ProvenKey {
        jkt: jwk.thumbprint(ThumbprintHash::SHA256),
        jti: claims.jti,
        nonce: claims.nonce,
    })
}

/// `htu` against the request's URL: query and fragment ignored (RFC 9449 section 4.3),
/// scheme and host compared in their normal form.
fn same_url(htu: &str, expected: &str) -> bool {
    let strip = |s: &str| {
        url::Url::parse(s).ok().map(|mut u| {
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        })
    };
    matches!((strip(htu), strip(expected)), (Some(a), Some(b)) if a == b)
}

/// [`verify`], its nonce (as the server requires), and that the proof was not used before (by
/// any instance).
pub async fn check(
    state: &AppState,
    proof: &str,
    expected: &Expected<'_>,
) -> Result<ProvenKey, CheckError> {
    let key = verify(proof, expected).map_err(CheckError::Invalid)?;
    match key.nonce.as_deref() {
        Some(nonce) if !nonce_is_good(state, nonce, expected.now) => {
            return Err(CheckError::UseNonce);
        }
        None if state.config.dpop_require_nonce => return Err(CheckError::UseNonce),
        _ => {}
    }
    let used_until = chrono::DateTime::from_timestamp(expected.now + 2 * IAT_WINDOW_SECS, 0)
        .unwrap_or_default()
        .naive_utc();
    let fresh =
        crate::storage::dpop::first_use(&state.db, &replay_key(&key.jkt, &key.jti), used_until)
            .await
            .map_err(|e| CheckError::Storage(e.into()))?;
    if !fresh {
        return Err(CheckError::Invalid(invalid(
            "this DPoP proof was used before: make a new one for each request",
        )));
    }
    Ok(key)
}

/// What identifies one proof: its key and `jti`, hashed (the stored value says nothing).
fn replay_key(jkt: &str, jti: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(format!("{jkt}\n{jti}").as_bytes()))
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Invalid(InvalidProof),
    /// The proof lacks the nonce authd requires, or carries one that is not (or no longer)
    /// authd's: the client retries with the `DPoP-Nonce` of the answer.
    #[error("a DPoP nonce is required: use the DPoP-Nonce of this answer")]
    UseNonce,
    #[error(transparent)]
    Storage(anyhow::Error),
}

/// How long a nonce window lasts; a nonce is good in its window and the next.
const NONCE_WINDOW_SECS: i64 = 300;

/// The nonce of the window `now` falls in: the window and a MAC of it, base64url.
pub fn nonce(state: &AppState, now: i64) -> String {
    nonce_of(state, now.div_euclid(NONCE_WINDOW_SECS))
}

fn nonce_of(state: &AppState, window: i64) -> String {
    let tag = state
        .sealer
        .mac(&[b"authd dpop nonce v1", &window.to_be_bytes()]);
    let mut raw = window.to_be_bytes().to_vec();
    raw.extend_from_slice(&tag[..16]);
    URL_SAFE_NO_PAD.encode(raw)
}

/// Whether `nonce` is one authd made, for this window or the one before.
fn nonce_is_good(state: &AppState, nonce: &str, now: i64) -> bool {
    use subtle::ConstantTimeEq as _;
    let Some(window) = URL_SAFE_NO_PAD
        .decode(nonce)
        .ok()
        .filter(|raw| raw.len() == 24)
        .map(|raw| i64::from_be_bytes(raw[..8].try_into().unwrap_or_default()))
    else {
        return false;
    };
    let current = now.div_euclid(NONCE_WINDOW_SECS);
    (window == current || window == current - 1)
        && bool::from(nonce_of(state, window).as_bytes().ct_eq(nonce.as_bytes()))
}
