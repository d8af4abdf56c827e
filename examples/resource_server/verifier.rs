//! How a resource server verifies authd access tokens on its own: the JWKS fetched once and
//! cached, refetched when a token names a key it does not know (at most once per interval, so
//! forged `kid`s cannot make it hammer authd), and the RFC 9068 checks: `alg` the one the
//! key's JWK names (RS256, ES256 or EdDSA: never what the token's header alone says), `typ`
//! `at+jwt`, `iss`, `aud`, `exp`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{FromRef, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::get;
use axum::{Json, Router};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use tokio::sync::RwLock;

/// At most one refetch for unknown keys per this interval, by default.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// Refresh the cached set this often anyway (authd serves it with `max-age=300`).
const MAX_AGE: Duration = Duration::from_secs(300);

struct Cache {
    /// Each key with the algorithm its JWK names.
    keys: HashMap<String, (DecodingKey, Algorithm)>,
    fetched: Option<Instant>,
}

#[derive(Clone)]
pub struct JwksVerifier {
    issuer: String,
    audience: String,
    refetch_interval: Duration,
    http: reqwest::Client,
    cache: Arc<RwLock<Cache>>,
    fetches: Arc<AtomicUsize>,
}

impl JwksVerifier {
    pub fn new(issuer: &str, audience: &str) -> Self {
        Self {
            issuer: issuer.trim_end_matches('/').to_owned(),
            audience: audience.to_owned(),
            refetch_interval: REFETCH_INTERVAL,
            http: reqwest::Client::new(),
            cache: Arc::new(RwLock::new(Cache {
                keys: HashMap::new(),
                fetched: None,
            })),
            fetches: Arc::default(),
        }
    }

    pub fn with_refetch_interval(mut self, interval: Duration) -> Self {
        self.refetch_interval = interval;
        self
    }

    /// How many times the JWKS was fetched.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::Relaxed)
    }

    async fn fetch(&self) -> Result<HashMap<String, (DecodingKey, Algorithm)>, String> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let url = format!("{}/.well-known/jwks.json", self.issuer);
        let set: JwkSet = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        Ok(set
            .keys
            .iter()
            .filter_map(|jwk| {
                let alg = jwk.common.key_algorithm?.to_string().parse().ok()?;
                let key = DecodingKey::from_jwk(jwk).ok()?;
                Some((jwk.common.key_id.clone()?, (key, alg)))
            })
            .collect())
    }

    /// The key for `kid`, refetching the set if it is stale, or if the kid is unknown and the
    /// last fetch is older than the refetch interval.
    async fn key(&self, kid: &str) -> Option<(DecodingKey, Algorithm)> {
        {
            let cache = self.cache.read().await;
            let fresh = cache.fetched.is_some_and(|t| t.elapsed() < MAX_AGE);
            if fresh && let Some(key) = cache.keys.get(kid) {
                return Some(key.clone());
            }
            if cache
                .fetched
                .is_some_and(|t| t.elapsed() < self.refetch_interval)
                && !cache.keys.is_empty()
            {
                return cache.keys.get(kid).cloned();
            }
        }
        let mut cache = self.cache.write().await;
        // Another request may have refetched while this one waited.
        if cache
            .fetched
            .is_none_or(|t| t.elapsed() >= self.refetch_interval)
        {
            if let Ok(keys) = self.fetch().await {
                cache.keys = keys;
            }
            cache.fetched = Some(Instant::now());
        }
        cache.keys.get(kid).cloned()
    }

    pub async fn verify(&self, token: &str) -> Result<Value, &'static str> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| "malformed token")?;
        if header.typ.as_deref() != Some("at+jwt") {
            return Err("not an access token");
        }
        let kid = header.kid.ok_or("no kid")?;
        let (key, alg) = self.key(&kid).await.ok_or("unknown signing key")?;
        if header.alg != alg {
            return Err("not signed with the key's algorithm");
        }
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.leeway = 30;
        let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map(|d| d.claims)
            .map_err(|_| "invalid token")?;
        // A DPoP-bound token is good only with a proof of its key (RFC 9449 section 7), which
        // this example does not check: refuse it rather than take it as a Bearer token.
        if claims.get("cnf").is_some() {
            return Err("a DPoP-bound token: this service takes Bearer tokens only");
        }
        Ok(claims)
    }
}

/// The verified claims of the request's Bearer token.
pub struct Verified(pub Value);

impl<S> FromRequestParts<S> for Verified
where
    JwksVerifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = (StatusCode, [(&'static str, &'static str); 1], Json<Value>);

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let reject = |why: &'static str| {
            (
                StatusCode::UNAUTHORIZED,
                [("www-authenticate", "Bearer error=\"invalid_token\"")],
                Json(json!({"error": "invalid_token", "error_description": why})),
            )
        };
        let token = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| reject("missing bearer token"))?;
        let verifier = JwksVerifier::from_ref(state);
        verifier.verify(token).await.map(Verified).map_err(reject)
    }
}

/// A protected route: who is calling, and with which scopes.
async fn hello(Verified(claims): Verified) -> Json<Value> {
    Json(
        json!({"hello": claims["sub"], "client_id": claims["client_id"], "scope": claims["scope"]}),
    )
}

pub fn router(verifier: JwksVerifier) -> Router {
    Router::new()
        .route("/hello", get(hello))
        .with_state(verifier)
}
