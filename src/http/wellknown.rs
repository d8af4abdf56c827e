//! Discovery and key publication, plus health probes.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::state::AppState;

/// How long clients may cache the JWKS. Shorter than the default key activation delay, so a
/// rotated key is in every cache before it signs.
pub const JWKS_MAX_AGE_SECS: u64 = 300;

/// The discovery document lists only what authd serves today.
fn metadata(state: &AppState) -> Value {
    let issuer = &state.config.issuer;
    json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "authorization_endpoint": format!("{issuer}/oauth/authorize"),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "end_session_endpoint": format!("{issuer}/oauth/logout"),
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
        "ui_locales_supported": crate::i18n::Lang::ALL.map(|l| l.tag()),
        "code_challenge_methods_supported": ["S256"],
        "dpop_signing_alg_values_supported": crate::oauth::dpop::ALGS,
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "introspection_endpoint": format!("{issuer}/oauth/introspect"),
        "userinfo_endpoint": format!("{issuer}/oauth/userinfo"),
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "grant_types_supported": ["authorization_code", "password", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "scopes_supported": ["openid", "profile", "email", "phone", "offline_access"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": signing_algs(state),
        "acr_values_supported": crate::domain::Level::OFFERED.map(|l| l.as_str()),
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "acr", "amr", "nonce", "at_hash", "sid", "email", "email_verified", "name", "given_name", "family_name", "preferred_username", "phone_number", "phone_number_verified"],
    })
}

/// `AUTHD_SIGNING_ALG` first (what a client that names none gets), then the others: every
/// algorithm keeps a key, so a client may register any of them.
fn signing_algs(state: &AppState) -> Vec<&'static str> {
    let default = state.keys.default_alg();
    std::iter::once(default)
        .chain(
            crate::domain::SigningAlg::ALL
                .into_iter()
                .filter(|a| *a != default),
        )
        .map(|a| a.as_str())
        .collect()
}

/// Discovery changes only with a new release or configuration: clients may cache it.
const DISCOVERY_CACHE: &str = "public, max-age=3600";

pub async fn openid_configuration(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, DISCOVERY_CACHE)],
        Json(metadata(&state)),
    )
}

pub async fn oauth_authorization_server(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, DISCOVERY_CACHE)],
        Json(metadata(&state)),
    )
}

pub async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CACHE_CONTROL,
            format!("public, max-age={JWKS_MAX_AGE_SECS}"),
        )],
        Json(state.keys.jwks(state.clock.now())),
    )
}

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let database = state.db.ping().await;
    let key = state.keys.any_signer(state.clock.now()).is_some();
    let status = if database && key {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({"database": database, "signing_key": key})),
    )
}
