//! Routes and the middleware around them.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, State};
use axum::http::{HeaderName, HeaderValue, Method, Request, Response, header};
use axum::response::IntoResponse;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use super::{metrics, routes};
use crate::error::ApiError;
use crate::state::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The routes of the table (`routes/`), then the layers around them. Long by nature: each layer
/// in order, with why it is there.
pub fn build_router(state: AppState) -> Router {
    let cors = cors_layer(&state.config.cors_origins);
    let cors_state = state.clone();
    let state_limits = state.config.limits;
    let mut router = Router::new();
    for route in routes::table() {
        for path in &route.paths {
            // Several rows on one path (GET and POST, say) merge into one method router.
            router = router.route(path, route.handler.clone());
        }
    }
    let router = router
        .fallback(super::pages::not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        // Around the fallbacks too: "not found" pages speak the request's language.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::language::choose,
        ))
        .with_state(state);

    let limits = state_limits;
    let router = router
        // Slow dependencies answer 503 within a bound rather than hang the client (inside
        // CORS, so a browser can read that answer too).
        .layer(axum::middleware::from_fn(move |request, next| {
            within(limits.request_timeout, request, next)
        }))
        .layer(axum::middleware::map_request(
            move |request: axum::extract::Request| async move {
                request.map(|body| {
                    axum::body::Body::new(super::extract::BodyDeadline::new(
                        body,
                        limits.body_read_timeout,
                    ))
                })
            },
        ));
    let router = match cors {
        Some(cors) => router.layer(cors),
        None => router,
    };
    // Outside the account API's CORS layer: browser apps' calls to the OAuth endpoints and
    // metadata, answered without configuration (see `cors`).
    let router = router.layer(axum::middleware::from_fn_with_state(
        cors_state,
        super::cors::for_browser_apps,
    ));
    router
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        // No page of authd's is meant to be framed (clickjacking on sign-in, consent, reset).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        // Token-bearing answers must never be cached; routes that may be set their own.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response()
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                // The span names the route and path only: query strings can carry tokens.
                .make_span_with(|req: &Request<Body>| {
                    let route = req
                        .extensions()
                        .get::<MatchedPath>()
                        .map(|p| p.as_str().to_owned());
                    let id = req
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!(
                        "request",
                        method = %req.method(),
                        path = %req.uri().path(),
                        route = route.as_deref().unwrap_or("-"),
                        request_id = %id,
                    )
                })
                .on_request(())
                .on_response(|res: &Response<Body>, latency: Duration, _span: &Span| {
                    tracing::info!(
                        status = res.status().as_u16(),
                        latency_ms = latency.as_millis() as u64,
                        "response"
                    );
                })
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Answers 503 when the handler takes longer than `limit` (a frozen database, say).
async fn within(
    limit: Duration,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(?limit, "request timed out");
            ApiError::Unavailable("The service is busy, please try again").into_response()
        }
    }
}

fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_credentials(true)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                HeaderName::from_static("dpop"),
            ])
            .expose_headers([
                header::WWW_AUTHENTICATE,
                header::RETRY_AFTER,
                HeaderName::from_static("dpop-nonce"),
            ])
            .max_age(Duration::from_secs(600)),
    )
}

/// 405 in the shape of the endpoint's family: an OAuth error on `/oauth/*` (what OAuth
/// clients parse), the API's `{"message"}` elsewhere. axum adds the `Allow` header.
async fn method_not_allowed(
    State(state): State<AppState>,
    method: Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    if method == Method::GET && super::pages::wants_html(&headers) {
        return super::pages::method_not_allowed_page(&state, &headers);
    }
    if uri.path().starts_with("/oauth/") {
        let body = serde_json::json!({
            "error": "invalid_request",
            "error_description": format!("{} is not allowed here", method.as_str()),
        });
        (
            axum::http::StatusCode::METHOD_NOT_ALLOWED,
            [(axum::http::header::CACHE_CONTROL, "no-store")],
            axum::Json(body),
        )
            .into_response()
    } else {
        ApiError::MethodNotAllowed.into_response()
    }
}
