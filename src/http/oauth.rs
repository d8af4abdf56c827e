//! `POST /oauth/token`: form in, RFC 6749 JSON out, `Cache-Control: no-store` always.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

use super::extract::{Presented, TokenUse, authenticate, dpop_proof, read_body};
use crate::accounts::AccountError;
use crate::accounts::limits;
use crate::error::ApiError;
use crate::oauth::OAuthError;
use crate::oauth::client::{Client, ClientType};
use crate::oauth::introspection;
use crate::oauth::token;
use crate::oauth::wire::{ClientAuth, Params};
use crate::signin::ClientMeta;
use crate::state::AppState;

/// An `OAuthError` as the token endpoint answers it (RFC 6749 section 5.2).
pub struct OAuthErrorResponse(pub OAuthError);

impl IntoResponse for OAuthErrorResponse {
    fn into_response(self) -> Response {
        let error = self.0;
        if let OAuthError::ServerError(cause) = &error
            && crate::storage::StorageError::is_unavailable(cause)
        {
            tracing::error!(error = %cause, "database unavailable");
            let body = json!({"error": "temporarily_unavailable", "error_description": crate::error::UNAVAILABLE});
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                no_store(),
                [(header::RETRY_AFTER, "5")],
                Json(body),
            )
                .into_response();
        }
        let status = match &error {
            OAuthError::InvalidClient { .. } => StatusCode::UNAUTHORIZED,
            OAuthError::SlowDown { .. } => StatusCode::TOO_MANY_REQUESTS,
            OAuthError::ServerError(cause) => {
                tracing::error!(error = ?cause, "token endpoint failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
            _ => StatusCode::BAD_REQUEST,
        };
        let body = json!({"error": error.to_string(), "error_description": error.description()});
        let mut response = (status, no_store(), Json(body)).into_response();
        match &error {
            // Only a client that tried HTTP authentication is told which scheme to use
            // (RFC 6749 section 5.2).
            OAuthError::InvalidClient { basic: true, .. } => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"authd\""),
                );
            }
            OAuthError::SlowDown { retry_after_secs } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            _ => {}
        }
        response
    }
}

fn no_store() -> [(header::HeaderName, &'static str); 2] {
    [
        (header::CACHE_CONTROL, "no-store"),
        (header::PRAGMA, "no-cache"),
    ]
}

/// `client_secret_basic`: `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 section 2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let invalid = || OAuthError::invalid_client(true);
    let value = value.to_str().map_err(|_| invalid())?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(invalid());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::InvalidRequest(
            "the Authorization header must use Basic".into(),
        ));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| invalid())?;
    let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(invalid)?;
    let unescape = |s: &str| -> String {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .map(|(_, v)| v.into_owned())
            .next()
            .unwrap_or_default()
    };
    Ok(Some((unescape(id), unescape(secret))))
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

pub async fn token(State(state): State<AppState>, meta: ClientMeta, request: Request) -> Response {
    let with_proof = request.headers().contains_key("dpop");
    let mut response = match run(&state, meta, request).await {
        Ok(body) => (StatusCode::OK, no_store(), Json(body)).into_response(),
        Err(error) => OAuthErrorResponse(error).into_response(),
    };
    // A client using DPoP gets the nonce to put in its next proofs (RFC 9449 section 8).
    if with_proof {
        with_dpop_nonce(&state, &mut response);
    }
    response
}

/// Adds a fresh `DPoP-Nonce` to `response`.
pub(super) fn with_dpop_nonce(state: &AppState, response: &mut Response) {
    let nonce = crate::oauth::dpop::nonce(state, state.clock.now().timestamp());
    if let Ok(value) = HeaderValue::from_str(&nonce) {
        response.headers_mut().insert("dpop-nonce", value);
    }
}

/// A form-encoded request of the OAuth endpoints, with its HTTP Basic credentials.
async fn read_form(request: Request) -> Result<(Params, Option<(String, String)>), OAuthError> {
    let (parts, body) = request.into_parts();
    if !is_form(&parts.headers) {
        return Err(OAuthError::InvalidRequest(
            "the body must be application/x-www-form-urlencoded".into(),
        ));
    }
    let body = read_body(body).await.map_err(|e| {
        OAuthError::InvalidRequest(format!(
            "the request body: {}",
            e.to_string().to_lowercase()
        ))
    })?;
    Ok((Params::parse(&body)?, basic_credentials(&parts.headers)?))
}

/// The client of a revocation or introspection request, authenticated.
async fn client_of(
    state: &AppState,
    params: &Params,
    basic: Option<(String, String)>,
) -> Result<Client, OAuthError> {
    let auth = ClientAuth::from_request(params, basic)?
        .ok_or_else(|| OAuthError::invalid_client(false))?;
    crate::oauth::client_auth::authenticate(state, &auth).await
}

fn token_param(params: &Params) -> Result<&str, OAuthError> {
    params
        .get("token")
        .ok_or_else(|| OAuthError::InvalidRequest("token is required".into()))
}

/// `POST /oauth/revoke` (RFC 7009): 200 whether or not the token was known.
pub async fn revoke(State(state): State<AppState>, request: Request) -> Response {
    let result = async {
        let (params, basic) = read_form(request).await?;
        let client = client_of(&state, &params, basic).await?;
        introspection::revoke(&state, &client, token_param(&params)?).await
    };
    match result.await {
        Ok(()) => (StatusCode::OK, no_store()).into_response(),
        Err(error) => OAuthErrorResponse(error).into_response(),
    }
}

/// `POST /oauth/introspect` (RFC 7662), for confidential clients (resource servers).
pub async fn introspect(State(state): State<AppState>, request: Request) -> Response {
    let result = async {
        let (params, basic) = read_form(request).await?;
        let was_basic = basic.is_some();
        let client = client_of(&state, &params, basic).await?;
        if client.client_type != ClientType::Confidential {
            return Err(OAuthError::invalid_client(was_basic));
        }
        introspection::introspect(&state, &client, token_param(&params)?).await
    };
    match result.await {
        Ok(body) => (StatusCode::OK, no_store(), Json(body)).into_response(),
        Err(error) => OAuthErrorResponse(error).into_response(),
    }
}

/// `GET`/`POST /oauth/userinfo` (OIDC Core 5.3): claims about the token's user, by scope
/// (`oauth::userinfo`); the token in the `Authorization` header or, on POST, as a form body
/// (RFC 6750 section 2.2).
pub async fn userinfo(State(state): State<AppState>, request: Request) -> Response {
    let denied = |error: Option<&'static str>, status: StatusCode| {
        // Without a token, a bare challenge (RFC 6750 section 3.1).
        let (challenge, body) = match error {
            Some(e) => (format!("Bearer error=\"{e}\""), json!({"error": e})),
            None => ("Bearer".to_owned(), json!({"error": "invalid_token"})),
        };
        let mut response = (status, no_store(), Json(body)).into_response();
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    };
    let (parts, body) = request.into_parts();
    let from_body;
    let presented = match Presented::read(&parts) {
        Ok(Some(presented)) => presented,
        Ok(None) if is_form(&parts.headers) => {
            let Ok(body) = read_body(body).await else {
                return denied(Some("invalid_request"), StatusCode::BAD_REQUEST);
            };
            from_body = match Params::parse(&body)
                .ok()
                .and_then(|p| p.get("access_token").map(str::to_owned))
            {
                Some(token) => token,
                None => return denied(None, StatusCode::UNAUTHORIZED),
            };
            Presented {
                token: &from_body,
                dpop: None,
                method: parts.method.as_str(),
                path: parts.uri.path(),
            }
        }
        Ok(None) => return denied(None, StatusCode::UNAUTHORIZED),
        Err(_) => return denied(Some("invalid_token"), StatusCode::UNAUTHORIZED),
    };
    let auth = match authenticate(&state, &presented, TokenUse::AnyClient).await {
        Ok(auth) => auth,
        Err(ApiError::Internal(cause)) => return ApiError::Internal(cause).into_response(),
        Err(e @ ApiError::UseDpopNonce(_)) => return e.into_response(),
        Err(_) => return denied(Some("invalid_token"), StatusCode::UNAUTHORIZED),
    };
    let scopes: Vec<&str> = auth.claims.scope.split_whitespace().collect();
    if !scopes.contains(&"openid") {
        return denied(Some("insufficient_scope"), StatusCode::FORBIDDEN);
    }
    let claims = crate::oauth::userinfo::claims(&auth.user, &scopes);
    (StatusCode::OK, no_store(), Json(Value::Object(claims))).into_response()
}

async fn run(
    state: &AppState,
    meta: ClientMeta,
    request: Request,
) -> Result<crate::oauth::wire::TokenResponse, OAuthError> {
    let proof = dpop_proof(request.headers())
        .map_err(OAuthError::InvalidDpopProof)?
        .map(str::to_owned);
    let (params, basic) = read_form(request).await?;
    if params.get("grant_type") == Some("password") {
        limited(limits::per_client(state, "login", &meta).await)?;
    }
    token::exchange(state, &params, basic, meta, proof.as_deref()).await
}

fn limited(result: Result<(), AccountError>) -> Result<(), OAuthError> {
    match result {
        Ok(()) => Ok(()),
        Err(AccountError::TooManyAttempts { retry_after_secs }) => {
            Err(OAuthError::SlowDown { retry_after_secs })
        }
        Err(other) => Err(OAuthError::from(other)),
    }
}
