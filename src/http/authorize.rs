//! `GET`/`POST /oauth/authorize`: authd's own sign-in and consent pages for the authorization
//! code flow. The request itself is validated by oxide-auth (see `oauth::oxide_adapter`);
//! this file holds the browser side: pages, cookies, CSRF.

use std::fmt::Write as _;

use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq as _;

use super::extract::read_body;
use super::limits;
use crate::accounts::{self, AccountError, ClientMeta, LoginIdentifier};
use crate::oauth::{AuthorizeError, AuthorizeParams, PendingAuthorization, start_authorization};
use crate::state::AppState;
use crate::storage::{UserRow, codes};
use crate::tokens::OpaqueToken;

const SESSION_COOKIE: &str = "authd_session";
const CSRF_COOKIE: &str = "authd_csrf";
/// The hidden field that carries the client's authorization request through authd's forms,
/// as one opaque query string. authd's own fields (`csrf`, `action`, `username`, `password`)
/// are read only from the form itself, never from the client's request, so nothing a client
/// puts in its authorization URL can act for the user.
const REQUEST_FIELD: &str = "oauth_request";

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn set_cookie(
    state: &AppState,
    name: &str,
    value: &str,
    same_site: &str,
    max_age_secs: u64,
) -> HeaderValue {
    let secure = if state.config.issuer.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let text = format!(
        "{name}={value}; Path=/oauth; HttpOnly; SameSite={same_site}; Max-Age={max_age_secs}{secure}"
    );
    HeaderValue::from_str(&text).expect("cookie values are base64url")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Where a form of authd's may lead: authd itself and, for the sign-in and consent forms,
/// the client's validated redirect URI. Browsers apply `form-action` to the redirects that
/// follow a form post too, so without the client's origin the 303 back to it is blocked.
fn form_action(redirect_uri: Option<&str>) -> String {
    let target = redirect_uri
        .and_then(|u| url::Url::parse(u).ok())
        .map(|u| match u.origin() {
            url::Origin::Tuple(..) => u.origin().ascii_serialization(),
            // A native app's private scheme (`com.example.app:/cb`).
            url::Origin::Opaque(_) => format!("{}:", u.scheme()),
        })
        .filter(|t| t.chars().all(|c| c.is_ascii_graphic()) && !t.contains([';', ',']));
    match target {
        Some(t) => format!("'self' {t}"),
        None => "'self'".to_owned(),
    }
}

/// A page of authd's, with headers that keep it out of frames and caches.
fn page(
    status: StatusCode,
    title: &str,
    body: &str,
    cookies: Vec<HeaderValue>,
    redirect_uri: Option<&str>,
) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{t}</title></head><body style=\"font-family:sans-serif;max-width:24rem;margin:3rem auto\">\
         <h1 style=\"font-size:1.4rem\">{t}</h1>{body}</body></html>",
        t = escape(title)
    );
    let mut response = (status, html).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; form-action {}; frame-ancestors 'none'",
        form_action(redirect_uri)
    );
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for c in cookies {
        h.append(header::SET_COOKIE, c);
    }
    response
}

fn error_page(status: StatusCode, message: &str) -> Response {
    page(
        status,
        "This sign-in request cannot go on",
        &format!("<p>{}</p>", escape(message)),
        vec![],
        None,
    )
}

fn redirect(location: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for c in cookies {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

fn authorize_error(e: AuthorizeError) -> Response {
    match e {
        AuthorizeError::Page(message) => error_page(StatusCode::BAD_REQUEST, &message),
        AuthorizeError::Redirect(url) => redirect(&url, vec![]),
        AuthorizeError::Server(cause) if crate::storage::StorageError::is_unavailable(&cause) => {
            tracing::error!(error = %cause, "database unavailable");
            error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is temporarily unavailable; please try again in a moment",
            )
        }
        AuthorizeError::Server(cause) => {
            tracing::error!(error = ?cause, "authorization endpoint failed");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong; please try again",
            )
        }
    }
}

/// The CSRF token of this browser, and the cookie to set when it had none.
fn csrf(state: &AppState, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match cookie(headers, CSRF_COOKIE).filter(|c| c.len() == 43) {
        Some(token) => (token, None),
        None => {
            let token = OpaqueToken::generate().expose().to_owned();
            let set = set_cookie(state, CSRF_COOKIE, &token, "Strict", 3600);
            (token, Some(set))
        }
    }
}

fn hidden_fields(params: &AuthorizeParams, csrf: &str) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<input type=\"hidden\" name=\"{REQUEST_FIELD}\" value=\"{}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape(&params.to_query()),
        escape(csrf)
    );
    out
}

fn login_page(
    state: &AppState,
    headers: &HeaderMap,
    params: &AuthorizeParams,
    pending: &PendingAuthorization,
    error: Option<&str>,
) -> Response {
    let (token, set) = csrf(state, headers);
    let error = error
        .map(|e| format!("<p role=\"alert\" style=\"color:#b00\">{}</p>", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "<p>Sign in to continue to <strong>{client}</strong>.</p>{error}\
         <form method=\"post\" action=\"authorize\">{hidden}<input type=\"hidden\" name=\"action\" value=\"login\">\
         <p><label>Email, phone or username<br><input name=\"username\" autocomplete=\"username\" required></label></p>\
         <p><label>Password<br><input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label></p>\
         <p><button>Sign in</button></p></form>",
        client = escape(&pending.client.name),
        hidden = hidden_fields(params, &token),
    );
    let status = if error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    };
    page(
        status,
        "Sign in",
        &body,
        set.into_iter().collect(),
        Some(&pending.redirect_uri),
    )
}

fn consent_page(
    state: &AppState,
    headers: &HeaderMap,
    params: &AuthorizeParams,
    pending: &PendingAuthorization,
    user: &UserRow,
    mut cookies: Vec<HeaderValue>,
) -> Response {
    let (token, set) = csrf(state, headers);
    cookies.extend(set);
    let scopes: String = pending
        .scope
        .split_whitespace()
        .map(|s| format!("<li>{}</li>", escape(s)))
        .collect();
    let who = user
        .email
        .as_deref()
        .or(user.username.as_deref())
        .unwrap_or("your account");
    let body = format!(
        "<p><strong>{client}</strong> asks to use {who} with:</p><ul>{scopes}</ul>\
         <form method=\"post\" action=\"authorize\">{hidden}\
         <button name=\"action\" value=\"approve\">Allow</button> <button name=\"action\" value=\"deny\">Deny</button></form>",
        client = escape(&pending.client.name),
        who = escape(who),
        hidden = hidden_fields(params, &token),
    );
    page(
        StatusCode::OK,
        "Allow access?",
        &body,
        cookies,
        Some(&pending.redirect_uri),
    )
}

async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(UserRow, chrono::NaiveDateTime)>, Response> {
    let Some(token) = cookie(headers, SESSION_COOKIE).and_then(|c| OpaqueToken::from_presented(&c))
    else {
        return Ok(None);
    };
    codes::find_browser_session(&state.db, &token.hash(), state.clock.now_naive())
        .await
        .map_err(|e| authorize_error(AuthorizeError::Server(e.into())))
}

/// Approves at once for a first-party client, else asks.
async fn continue_as(
    state: &AppState,
    headers: &HeaderMap,
    params: &AuthorizeParams,
    pending: PendingAuthorization,
    user: &UserRow,
    auth_time: chrono::NaiveDateTime,
    cookies: Vec<HeaderValue>,
) -> Response {
    if pending.client.first_party {
        match pending.approve(&user.id, auth_time).await {
            Ok(url) => redirect(&url, cookies),
            Err(e) => authorize_error(e),
        }
    } else {
        consent_page(state, headers, params, &pending, user, cookies)
    }
}

pub async fn authorize_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    authorize_request(&state, &headers, query.unwrap_or_default().as_bytes()).await
}

/// An authorization request, from the query of a GET or the body of a POST.
async fn authorize_request(state: &AppState, headers: &HeaderMap, raw: &[u8]) -> Response {
    let params = match AuthorizeParams::parse(&String::from_utf8_lossy(raw)) {
        Ok(p) => p,
        Err(e) => return authorize_error(e),
    };
    let pending = match start_authorization(state, &params).await {
        Ok(p) => p,
        Err(e) => return authorize_error(e),
    };
    match signed_in(state, headers).await {
        Err(response) => response,
        Ok(None) => login_page(state, headers, &params, &pending, None),
        Ok(Some((user, auth_time))) => {
            continue_as(state, headers, &params, pending, &user, auth_time, vec![]).await
        }
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
        Err(e) => return error_page(e.status(), "The form is too large or came too slowly"),
    };
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    // A field sent twice is either a broken form or an attempt to slip a second value past
    // one reader; either way nothing goes on.
    if form
        .iter()
        .enumerate()
        .any(|(i, (k, _))| form[..i].iter().any(|(seen, _)| seen == k))
    {
        return error_page(StatusCode::BAD_REQUEST, "The form holds a field twice");
    }
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if field(REQUEST_FIELD).is_none() && field("action").is_none() {
        // No form of authd's: an authorization request sent by POST (OIDC Core 3.1.2.1).
        return authorize_request(&state, &headers, &body).await;
    }

    // Double-submit CSRF check: the form must carry this browser's cookie value.
    let csrf_ok = match (cookie(&headers, CSRF_COOKIE), field("csrf")) {
        (Some(c), Some(f)) => bool::from(c.as_bytes().ct_eq(f.as_bytes())),
        _ => false,
    };
    if !csrf_ok {
        return error_page(
            StatusCode::FORBIDDEN,
            "This form has expired. Go back to the application and try again.",
        );
    }
    // The client's request is checked again from scratch, as on the first visit.
    let Some(request) = field(REQUEST_FIELD) else {
        return error_page(StatusCode::BAD_REQUEST, "The form is incomplete");
    };
    let params = match AuthorizeParams::parse(request) {
        Ok(p) => p,
        Err(e) => return authorize_error(e),
    };
    let pending = match start_authorization(&state, &params).await {
        Ok(p) => p,
        Err(e) => return authorize_error(e),
    };
    match field("action") {
        Some("login") => {
            if limits::per_client(&state, "login", &meta).await.is_err() {
                return login_page(
                    &state,
                    &headers,
                    &params,
                    &pending,
                    Some("Too many attempts; please wait a minute"),
                );
            }
            let username = field("username").unwrap_or_default();
            let password = field("password").unwrap_or_default();
            let user = match accounts::verify_credentials(
                &state,
                LoginIdentifier::parse(username),
                password,
                meta.ip.as_deref(),
            )
            .await
            {
                Ok(user) => user,
                Err(AccountError::Unexpected(cause)) => {
                    return authorize_error(AuthorizeError::Server(cause));
                }
                Err(e) => {
                    return login_page(&state, &headers, &params, &pending, Some(&e.to_string()));
                }
            };
            let now = state.clock.now_naive();
            let token = OpaqueToken::generate();
            let max_age = state.config.session_max_age;
            let expires =
                now + chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::days(30));
            if let Err(e) =
                codes::insert_browser_session(&state.db, &token.hash(), &user.id, now, expires)
                    .await
            {
                return authorize_error(AuthorizeError::Server(e.into()));
            }
            let session_cookie = set_cookie(
                &state,
                SESSION_COOKIE,
                token.expose(),
                "Lax",
                max_age.as_secs(),
            );
            continue_as(
                &state,
                &headers,
                &params,
                pending,
                &user,
                now,
                vec![session_cookie],
            )
            .await
        }
        Some(action @ ("approve" | "deny")) => {
            let Ok(Some((user, auth_time))) = signed_in(&state, &headers).await else {
                return login_page(
                    &state,
                    &headers,
                    &params,
                    &pending,
                    Some("Please sign in again"),
                );
            };
            if action == "deny" {
                return authorize_error(pending.deny());
            }
            match pending.approve(&user.id, auth_time).await {
                Ok(url) => redirect(&url, vec![]),
                Err(e) => authorize_error(e),
            }
        }
        _ => error_page(StatusCode::BAD_REQUEST, "Unknown action"),
    }
}
