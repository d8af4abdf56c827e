//! Cross-origin calls that single-page apps make without any configuration: discovery and the
//! JWKS answer every origin (they are public, and no credentials go with them), and the token,
//! revocation and userinfo endpoints answer the origins of registered public clients (their
//! redirect URIs'), or those `AUTHD_CORS_ORIGINS` names. The account API keeps its own layer
//! (`AUTHD_CORS_ORIGINS`, with credentials). A refused origin is logged once.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::oauth::client_auth::is_public_client_origin;
use crate::state::AppState;

/// Paths anyone may read from any page.
fn public_metadata(path: &str) -> bool {
    path.starts_with("/.well-known/")
}

/// The OAuth endpoints a browser app calls itself.
fn app_endpoint(path: &str) -> bool {
    matches!(path, "/oauth/token" | "/oauth/revoke" | "/oauth/userinfo")
}

pub async fn for_browser_apps(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    // Most requests carry no Origin (servers, same-origin pages): through at once.
    let Some(origin) = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_owned)
    else {
        return next.run(request).await;
    };
    let path = request.uri().path().to_owned();
    let allowed = if public_metadata(&path) {
        Some(HeaderValue::from_static("*"))
    } else if app_endpoint(&path) {
        let configured = state.config.cors_origins.contains(&origin);
        let public = configured
            || is_public_client_origin(&state, &origin)
                .await
                .unwrap_or(false);
        if public {
            HeaderValue::from_str(&origin).ok()
        } else {
            refused_once(&origin, &path);
            None
        }
    } else {
        return next.run(request).await;
    };
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(allowed) = allowed {
        allow(headers, allowed, preflight);
    }
    response
}

fn allow(headers: &mut HeaderMap, origin: HeaderValue, preflight: bool) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    // Never credentials (cookies): these endpoints take tokens in the body or a header.
    headers.remove(header::ACCESS_CONTROL_ALLOW_CREDENTIALS);
    if preflight {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type, accept, dpop"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    } else {
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            // A browser app reads the DPoP nonce to put in its next proof (RFC 9449 section 8).
            HeaderValue::from_static("www-authenticate, retry-after, dpop-nonce"),
        );
    }
}

/// Logs a refused origin the first time it is seen (at most 1,000 remembered).
fn refused_once(origin: &str, path: &str) {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let mut seen = SEEN
        .get_or_init(Default::default)
        .lock()
        .expect("seen origins");
    if seen.len() < 1000 && seen.insert(origin.to_owned()) {
        tracing::info!(
            origin,
            path,
            "a page at this origin called an OAuth endpoint; it is not a registered public \
             client's (a redirect URI's origin) nor in AUTHD_CORS_ORIGINS, so the browser is \
             not let read the answer"
        );
    }
}
