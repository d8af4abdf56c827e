//! `GET`/`POST /oauth/authorize`: authd's own sign-in and consent pages for the authorization
//! code flow. The request itself is validated by oxide-auth (see
//! `oauth::grants::authorization_code`); this folder holds the browser side: the request and
//! its prompts here, the pages and redirects in `answer.rs`, the posted forms in `post.rs`.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

use crate::accounts::{self};
use crate::oauth::{
    AuthorizeError, AuthorizeParams, PendingAuthorization, ResponseMode, start_authorization,
};
use crate::state::AppState;
use crate::storage::{UserRow, codes};
use crate::tokens::OpaqueToken;

pub(super) const SESSION_COOKIE: &str = "authd_session";
pub(super) const CSRF_COOKIE: &str = "authd_csrf";
/// The hidden field that carries the client's authorization request through authd's forms,
/// as one opaque query string. authd's own fields (`csrf`, `action`, `username`, `password`)
/// are read only from the form itself, never from the client's request, so nothing a client
/// puts in its authorization URL can act for the user.
const REQUEST_FIELD: &str = "oauth_request";

pub(super) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

pub(super) fn set_cookie(
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

/// Where a form of authd's may lead besides authd: the client's validated redirect URI.
/// Browsers apply `form-action` to the redirects that follow a form post too, so without the
/// client's origin the 303 back to it is blocked.
pub(super) fn form_target(redirect_uri: &str) -> Option<String> {
    let u = url::Url::parse(redirect_uri).ok()?;
    let target = match u.origin() {
        origin @ url::Origin::Tuple(..) => origin.ascii_serialization(),
        // A native app's private scheme (`com.example.app:/cb`).
        url::Origin::Opaque(_) => format!("{}:", u.scheme()),
    };
    (target.chars().all(|c| c.is_ascii_graphic()) && !target.contains([';', ','])).then_some(target)
}

/// Adds cookies to a page.
pub(super) fn with_cookies(mut response: Response, cookies: Vec<HeaderValue>) -> Response {
    for c in cookies {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

mod answer;
mod post;

pub(super) use answer::csrf;
use answer::*;
pub use post::authorize_post;

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
        .map_err(|e| authorize_error(state, headers, AuthorizeError::Server(e.into())))
}

/// Whether the user must be asked: not for a first-party client or scopes already allowed,
/// unless the request says `prompt=consent`.
async fn must_ask(
    state: &AppState,
    pending: &PendingAuthorization,
    user: &UserRow,
    prompt: &Prompt,
) -> Result<bool, AuthorizeError> {
    if prompt.consent {
        return Ok(true);
    }
    if pending.client.first_party {
        return Ok(false);
    }
    let allowed = accounts::consent::covers(state, &user.id, &pending.client.id, &pending.scope)
        .await
        .map_err(AuthorizeError::from)?;
    Ok(!allowed)
}

/// Approves at once when no consent is needed, else asks.
#[allow(clippy::too_many_arguments)]
async fn continue_as(
    state: &AppState,
    headers: &HeaderMap,
    params: &AuthorizeParams,
    pending: PendingAuthorization,
    user: &UserRow,
    auth_time: chrono::NaiveDateTime,
    ask: bool,
    cookies: Vec<HeaderValue>,
) -> Response {
    if !ask {
        match pending.approve(&user.id, auth_time).await {
            Ok(answer) => redirect(state, headers, &answer, cookies),
            Err(e) => authorize_error(state, headers, e),
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
        Err(e) => return authorize_error(state, headers, e),
    };
    let pending = match start_authorization(state, &params).await {
        Ok(p) => p,
        Err(e) => return authorize_error(state, headers, e),
    };
    let client_state = params.get("state");
    if let Some((error, why)) = unsupported(&params) {
        let e = pending.error(error, why, client_state);
        return authorize_error(state, headers, e);
    }
    let prompt = match Prompt::parse(&params) {
        Ok(p) => p,
        Err(why) => {
            let e = pending.error("invalid_request", why, client_state);
            return authorize_error(state, headers, e);
        }
    };
    let session = match signed_in(state, headers).await {
        Err(response) => return response,
        Ok(session) => session,
    };
    // A sign-in the request will not take: asked to sign in again, or older than `max_age`.
    let now = state.clock.now_naive();
    let session = session.filter(|(_, auth_time)| {
        !prompt.login
            && prompt
                .max_age
                .is_none_or(|max| (now - *auth_time).num_seconds() <= max)
    });
    let session = match hinted(state, &params, &pending, session) {
        Ok(session) => session,
        Err(e) => return authorize_error(state, headers, e),
    };
    match session {
        None if prompt.none => {
            let e = pending.error("login_required", "The user is not signed in", client_state);
            authorize_error(state, headers, e)
        }
        None => login_page(state, headers, &params, &pending, None),
        Some((user, auth_time)) => {
            let ask = match must_ask(state, &pending, &user, &prompt).await {
                Ok(ask) => ask,
                Err(e) => return authorize_error(state, headers, e),
            };
            if prompt.none && ask {
                let e = pending.error(
                    "consent_required",
                    "The user has not allowed this application yet",
                    client_state,
                );
                return authorize_error(state, headers, e);
            }
            continue_as(
                state,
                headers,
                &params,
                pending,
                &user,
                auth_time,
                ask,
                vec![],
            )
            .await
        }
    }
}

/// `id_token_hint`: the user the client believes is signed in. A hint that is not an ID token
/// authd issued to this client is refused; a sign-in of someone else is not used.
fn hinted(
    state: &AppState,
    params: &AuthorizeParams,
    pending: &PendingAuthorization,
    session: Option<(UserRow, chrono::NaiveDateTime)>,
) -> Result<Option<(UserRow, chrono::NaiveDateTime)>, AuthorizeError> {
    let Some(hint) = params.get("id_token_hint") else {
        return Ok(session);
    };
    match crate::tokens::jwt::verify_id_token_hint(
        &state.keys,
        hint,
        &state.config.issuer,
        state.clock.now(),
    ) {
        Ok(claims) if claims.aud == pending.client.id => {
            Ok(session.filter(|(user, _)| user.id == claims.sub))
        }
        _ => Err(pending.error(
            "invalid_request",
            "id_token_hint is not an ID token issued to this client",
            params.get("state"),
        )),
    }
}

/// Request features authd does not offer, answered as OIDC Core 6 and OAuth 2.0 Multiple
/// Response Types say, rather than silently ignored.
fn unsupported(params: &AuthorizeParams) -> Option<(&'static str, &'static str)> {
    if params.get("request").is_some() {
        return Some(("request_not_supported", "Request objects are not supported"));
    }
    if params.get("request_uri").is_some() {
        return Some(("request_uri_not_supported", "request_uri is not supported"));
    }
    match ResponseMode::of(params) {
        Some(_) => None,
        None => Some((
            "invalid_request",
            "response_mode must be query, fragment or form_post",
        )),
    }
}

/// What the client asked of the sign-in (OIDC Core 3.1.2.1): `prompt` and `max_age`.
#[derive(Default)]
struct Prompt {
    /// No page may be shown: answer at once, or with an error.
    none: bool,
    /// Sign in again even with a live sign-in (`login`, and `select_account`: one account per
    /// browser here, so choosing one is signing in).
    login: bool,
    /// Ask for consent even where it would be skipped.
    consent: bool,
    /// The sign-in may be at most this many seconds old.
    max_age: Option<i64>,
}

impl Prompt {
    fn parse(params: &AuthorizeParams) -> Result<Self, &'static str> {
        let words: Vec<&str> = params
            .get("prompt")
            .map(|p| p.split_whitespace().collect())
            .unwrap_or_default();
        if words
            .iter()
            .any(|w| !matches!(*w, "none" | "login" | "consent" | "select_account"))
        {
            return Err("prompt holds an unknown value");
        }
        let none = words.contains(&"none");
        if none && words.len() > 1 {
            return Err("prompt=none cannot be combined with other values");
        }
        let max_age = match params.get("max_age") {
            Some(raw) => Some(
                raw.parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or("max_age must be a number of seconds")?,
            ),
            None => None,
        };
        Ok(Self {
            none,
            login: words.contains(&"login") || words.contains(&"select_account"),
            consent: words.contains(&"consent"),
            max_age,
        })
    }
}
