//! `POST /oauth/authorize`: the sign-in and consent forms of the authorize pages.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use subtle::ConstantTimeEq as _;

use crate::accounts::{self, AccountError, ClientMeta, LoginIdentifier};
use crate::http::extract::read_body;
use crate::http::limits;
use crate::oauth::{AuthorizeError, AuthorizeParams, PendingAuthorization, start_authorization};
use crate::state::AppState;
use crate::storage::codes;
use crate::tokens::OpaqueToken;

use super::answer::*;
use super::*;

/// Signs the browser in as `user_id`: a browser session in the database and its cookie.
async fn open_browser_session(
    state: &AppState,
    user_id: &str,
    now: chrono::NaiveDateTime,
) -> Result<HeaderValue, AuthorizeError> {
    let token = OpaqueToken::generate();
    let max_age = state.config.session_max_age;
    let expires = now + chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::days(30));
    codes::insert_browser_session(&state.db, &token.hash(), user_id, now, expires)
        .await
        .map_err(|e| AuthorizeError::Server(e.into()))?;
    Ok(set_cookie(
        state,
        SESSION_COOKIE,
        token.expose(),
        "Lax",
        max_age.as_secs(),
    ))
}

/// The sign-in form was posted: check the password (with the same limits as the account API),
/// open authd's browser sign-in, then consent or the code.
async fn sign_in(
    state: &AppState,
    headers: &HeaderMap,
    meta: &ClientMeta,
    params: &AuthorizeParams,
    pending: PendingAuthorization,
    username: &str,
    password: &str,
) -> Response {
    let failed = |message: &str, unverified: bool| {
        login_page(
            state,
            headers,
            params,
            &pending,
            Some(SignInError {
                message,
                identifier: username,
                unverified,
            }),
        )
    };
    if limits::per_client(state, "login", meta).await.is_err() {
        return failed(
            "Too many attempts. Please wait a minute and try again.",
            false,
        );
    }
    let user = match accounts::verify_credentials(
        state,
        LoginIdentifier::parse(username),
        password,
        meta.ip.as_deref(),
    )
    .await
    {
        Ok(user) => user,
        Err(AccountError::Unexpected(cause)) => {
            return authorize_error(state, headers, AuthorizeError::Server(cause));
        }
        Err(AccountError::InvalidCredentials) => {
            return failed(
                "That email, phone or username and password do not match an account.",
                false,
            );
        }
        Err(AccountError::EmailNotVerified) => {
            return failed(
                "Please confirm your email address first: follow the link we sent you.",
                username.contains('@'),
            );
        }
        Err(e) => return failed(&e.to_string(), false),
    };
    let now = state.clock.now_naive();
    let session_cookie = match open_browser_session(state, &user.id, now).await {
        Ok(cookie) => cookie,
        Err(e) => return authorize_error(state, headers, e),
    };
    // The form carries the same request, checked again above: its prompt parses.
    let prompt = Prompt::parse(params).unwrap_or_default();
    let ask = match must_ask(state, &pending, &user, &prompt).await {
        Ok(ask) => ask,
        Err(e) => return authorize_error(state, headers, e),
    };
    continue_as(
        state,
        headers,
        params,
        pending,
        &user,
        now,
        ask,
        vec![session_cookie],
    )
    .await
}

/// Allow or Deny was pressed on the consent page.
async fn decide(
    state: &AppState,
    headers: &HeaderMap,
    params: &AuthorizeParams,
    pending: PendingAuthorization,
    action: &str,
) -> Response {
    let Ok(Some((user, auth_time))) = signed_in(state, headers).await else {
        return login_page(
            state,
            headers,
            params,
            &pending,
            Some(SignInError {
                message: "Your sign-in has ended. Please sign in again.",
                identifier: "",
                unverified: false,
            }),
        );
    };
    if action == "deny" {
        return authorize_error(state, headers, pending.deny());
    }
    if !pending.client.first_party
        && let Err(e) =
            accounts::consent::remember(state, &user.id, &pending.client.id, &pending.scope).await
    {
        return authorize_error(state, headers, AuthorizeError::from(e));
    }
    match pending.approve(&user.id, auth_time).await {
        Ok(answer) => redirect(state, headers, &answer, vec![]),
        Err(e) => authorize_error(state, headers, e),
    }
}

/// The posted form's fields; `None` when one is sent twice: either a broken form or an attempt
/// to slip a second value past one reader, and either way nothing goes on.
fn form_fields(body: &[u8]) -> Option<Vec<(String, String)>> {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let repeated = form
        .iter()
        .enumerate()
        .any(|(i, (k, _))| form[..i].iter().any(|(seen, _)| seen == k));
    (!repeated).then_some(form)
}

/// Double-submit CSRF check: the form must carry this browser's cookie value.
fn csrf_ok(headers: &HeaderMap, posted: Option<&str>) -> bool {
    match (cookie(headers, CSRF_COOKIE), posted) {
        (Some(c), Some(f)) => bool::from(c.as_bytes().ct_eq(f.as_bytes())),
        _ => false,
    }
}

pub async fn authorize_post(
    State(state): State<AppState>,
    meta: ClientMeta,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(e) => {
            return error_page(
                &state,
                &headers,
                e.status(),
                "The form is too large or came too slowly",
            );
        }
    };
    let Some(form) = form_fields(&body) else {
        return error_page(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            "The form holds a field twice",
        );
    };
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if field(REQUEST_FIELD).is_none() && field("action").is_none() {
        // No form of authd's: an authorization request sent by POST (OIDC Core 3.1.2.1).
        return authorize_request(&state, &headers, &body).await;
    }

    if !csrf_ok(&headers, field("csrf")) {
        return error_page(
            &state,
            &headers,
            StatusCode::FORBIDDEN,
            "This form has expired. Go back to the application and try again.",
        );
    }
    // The client's request is checked again from scratch, as on the first visit.
    let Some(request) = field(REQUEST_FIELD) else {
        return error_page(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            "The form is incomplete",
        );
    };
    let params = match AuthorizeParams::parse(request) {
        Ok(p) => p,
        Err(e) => return authorize_error(&state, &headers, e),
    };
    let pending = match start_authorization(&state, &params).await {
        Ok(p) => p,
        Err(e) => return authorize_error(&state, &headers, e),
    };
    match field("action") {
        Some("login") => {
            let username = field("username").unwrap_or_default();
            let password = field("password").unwrap_or_default();
            sign_in(
                &state, &headers, &meta, &params, pending, username, password,
            )
            .await
        }
        Some(action @ ("approve" | "deny")) => {
            decide(&state, &headers, &params, pending, action).await
        }
        _ => error_page(&state, &headers, StatusCode::BAD_REQUEST, "Unknown action"),
    }
}
