//! Access tokens: RS256 JWTs per RFC 9068 (`typ: at+jwt`), verified against the key store.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use super::keys::KeyStore;

pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

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
    pub sid: String,
    pub role: String,
}

#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("no signing key is loaded")]
    NoKey,
    #[error("the token is not valid")]
    Invalid,
    #[error("the token has expired")]
    Expired,
    #[error(transparent)]
    Sign(#[from] jsonwebtoken::errors::Error),
}

pub fn sign_access_token(keys: &KeyStore, claims: &AccessClaims) -> Result<String, JwtError> {
    let issued = DateTime::from_timestamp(claims.iat, 0).ok_or(JwtError::Invalid)?;
    let key = keys.signing_key(issued).ok_or(JwtError::NoKey)?;
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
    header.kid = Some(key.kid.clone());
    Ok(jsonwebtoken::encode(&header, claims, &key.encoding)?)
}

/// Whether verification checks `exp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Enforce,
    /// For logout: a stale token still names the session to end.
    Ignore,
}

/// Verifies signature, `alg`, `typ`, `kid`, `iss` and `aud`; expiry is checked against `now`
/// from the caller's clock.
pub fn verify_access_token(
    keys: &KeyStore,
    token: &str,
    issuer: &str,
    audience: &str,
    now: DateTime<Utc>,
    expiry: Expiry,
) -> Result<AccessClaims, JwtError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Invalid)?;
    if header.alg != Algorithm::RS256 || header.typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
        return Err(JwtError::Invalid);
    }
    let key = header
        .kid
        .as_deref()
        .and_then(|kid| keys.verifying_key(kid, now))
        .ok_or(JwtError::Invalid)?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<AccessClaims>(token, &key.decoding, &validation)
        .map_err(|_| JwtError::Invalid)?;
    if expiry == Expiry::Enforce && data.claims.exp <= now.timestamp() {
        return Err(JwtError::Expired);
    }
    Ok(data.claims)
}
