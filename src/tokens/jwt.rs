//! Access tokens: JWTs per RFC 9068 (`typ: at+jwt`) signed with `AUTHD_SIGNING_ALG`, ID and
//! logout tokens with the client's `id_token_signed_response_alg` or that; all verified
//! against the key store, each with the algorithm of the key its `kid` names and no other.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, Validation};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use super::keys::{KeyStore, SigningAlg, SigningKey};

pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// The claims of every access token authd issues. A user's token names its session and role;
/// a client's own token (`client_credentials`, `sub` = the client) has neither.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// How the user signed in (RFC 9068 section 2.2.1): when, at what level, by which methods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    /// The key the token is bound to (DPoP, RFC 9449 section 6): only its holder may use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// `cnf` (RFC 7800): the thumbprint of the key a DPoP-bound token needs a proof of.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Confirmation {
    pub jkt: String,
}

impl Confirmation {
    pub fn key(jkt: &str) -> Self {
        Confirmation {
            jkt: jkt.to_owned(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("no signing key is loaded")]
    NoKey,
    #[error("the token is not valid")]
    Invalid,
    #[error("the token has expired")]
    Expired,
    #[error("encoding the claims failed: {0}")]
    Encode(serde_json::Error),
    #[error(transparent)]
    Signing(anyhow::Error),
}

/// Claims of an OpenID Connect ID token (OIDC Core 2).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    /// The sign-in's level (`0`, `aal1`, `aal2`) and methods (RFC 8176).
    #[serde(default)]
    pub acr: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub at_hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// With `email` only (the `email` scope's claims, OIDC Core 5.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The session the ID token belongs to (OIDC Front/Back-Channel Logout), which
    /// `id_token_hint` at the logout endpoint names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// Checks an ID token that authd issued, as an `id_token_hint`: signature and issuer; its
/// expiry does not matter (a hint often outlives it), and its audience is returned to be
/// checked against the client.
pub fn verify_id_token_hint(
    keys: &KeyStore,
    token: &str,
    issuer: &str,
    now: DateTime<Utc>,
) -> Result<IdTokenClaims, JwtError> {
    let (key, mut validation) = verifier(keys, token, "JWT", now)?;
    validation.set_issuer(&[issuer]);
    validation.validate_aud = false;
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["iss", "aud", "sub"]);
    jsonwebtoken::decode::<IdTokenClaims>(token, &key.decoding, &validation)
        .map(|data| data.claims)
        .map_err(|_| JwtError::Invalid)
}

/// The key a token's `kid` names, and a validation that accepts that key's algorithm only:
/// a header naming another (`none`, `HS256` with the public key as secret, RS256 over an
/// EC key) is refused before any signature is checked.
fn verifier(
    keys: &KeyStore,
    token: &str,
    typ: &str,
    now: DateTime<Utc>,
) -> Result<(std::sync::Arc<SigningKey>, Validation), JwtError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Invalid)?;
    if header.typ.as_deref() != Some(typ) {
        return Err(JwtError::Invalid);
    }
    let key = header
        .kid
        .as_deref()
        .and_then(|kid| keys.verifying_key(kid, now))
        .ok_or(JwtError::Invalid)?;
    let alg: Algorithm = super::keys::jwt_algorithm(key.alg);
    if header.alg != alg {
        return Err(JwtError::Invalid);
    }
    Ok((key, Validation::new(alg)))
}

/// Signed with `AUTHD_SIGNING_ALG`'s key.
pub fn sign_access_token(keys: &KeyStore, claims: &AccessClaims) -> Result<String, JwtError> {
    sign(keys, ACCESS_TOKEN_TYP, claims.iat, claims, None)
}

/// Signed with `alg` (the client's `id_token_signed_response_alg`), or the default.
pub fn sign_id_token(
    keys: &KeyStore,
    claims: &IdTokenClaims,
    alg: Option<SigningAlg>,
) -> Result<String, JwtError> {
    sign(keys, "JWT", claims.iat, claims, alg)
}

/// The `events` member that makes a JWT a logout token.
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Claims of a logout token (OpenID Connect Back-Channel Logout 1.0, section 2.4): never a
/// `nonce`, always `sid` and `sub`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LogoutTokenClaims {
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub sub: String,
    pub sid: String,
    pub events: serde_json::Value,
}

/// Signed with `typ: logout+jwt` (section 2.4), so it cannot pass for an ID token, and with
/// the algorithm of the client's ID tokens (section 2.4).
pub fn sign_logout_token(
    keys: &KeyStore,
    claims: &LogoutTokenClaims,
    alg: Option<SigningAlg>,
) -> Result<String, JwtError> {
    sign(keys, "logout+jwt", claims.iat, claims, alg)
}

/// `at_hash` (OIDC Core 3.1.3.6): the left half of the SHA-256 of the access token, base64url.
pub fn at_hash(access_token: &str) -> String {
    use base64::Engine as _;
    let digest = sha2::Sha256::digest(access_token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// Signs with the key of `alg` (or the default algorithm) that is active at `iat`.
fn sign<T: Serialize>(
    keys: &KeyStore,
    typ: &str,
    iat: i64,
    claims: &T,
    alg: Option<SigningAlg>,
) -> Result<String, JwtError> {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let issued = DateTime::from_timestamp(iat, 0).ok_or(JwtError::Invalid)?;
    let key = keys.signer_for(issued, alg).ok_or(JwtError::NoKey)?;
    // JWS compact serialization (RFC 7515 section 7.1), signed with the key parsed once;
    // verification, here and at resource servers, is any standard JWT library's.
    let header = serde_json::json!({"typ": typ, "alg": key.alg.as_str(), "kid": key.kid});
    let mut token = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).map_err(JwtError::Encode)?);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).map_err(JwtError::Encode)?));
    let signature = key.sign(token.as_bytes()).map_err(JwtError::Signing)?;
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Ok(token)
}

/// Whether verification checks `exp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Enforce,
    /// For logout: a stale token still names the session to end.
    Ignore,
}

/// Verifies signature, `alg`, `typ`, `kid`, `iss` and `aud` (when `audience` names one: a token
/// for a resource server has its own); expiry is checked against `now` from the caller's
/// clock.
pub fn verify_access_token(
    keys: &KeyStore,
    token: &str,
    issuer: &str,
    audience: Option<&str>,
    now: DateTime<Utc>,
    expiry: Expiry,
) -> Result<AccessClaims, JwtError> {
    let (key, mut validation) = verifier(keys, token, ACCESS_TOKEN_TYP, now)?;
    validation.set_issuer(&[issuer]);
    match audience {
        Some(audience) => validation.set_audience(&[audience]),
        None => validation.validate_aud = false,
    }
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<AccessClaims>(token, &key.decoding, &validation)
        .map_err(|_| JwtError::Invalid)?;
    if expiry == Expiry::Enforce && data.claims.exp <= now.timestamp() {
        return Err(JwtError::Expired);
    }
    Ok(data.claims)
}
