//! `GET`/`POST /oauth/authorize`: authd's own sign-in and consent pages for the authorization
//! code flow. The request itself is validated by oxide-auth (see
//! `oauth::grants::authorization_code`); this file holds the browser side: pages, cookies, CSRF.

use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq as _;

use super::extract::read_body;
use super::{limits, pages};
use crate::accounts::{self, AccountError, ClientMeta, LoginIdentifier};
use crate::oauth::{
    AuthorizeError, AuthorizeParams, ClientRedirect, PendingAuthorization, ResponseMode,
    start_authorization,
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

fn error_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    message: &str,
) -> Response {
    pages::message(
        state,
        headers,
        status,
        "This sign-in cannot go on",
        &[
            message,
            "Go back to the application you came from and start again. If it keeps happening, \
             tell its support the request id below.",
        ],
        None,
    )
}

/// The parameters of an authorization response (the rest of the URL is the client's own).
const RESPONSE_PARAMS: [&str; 6] = [
    "code",
    "state",
    "error",
    "error_description",
    "error_uri",
    "iss",
];

/// An authorization response back to the client's (validated) redirect URI: it names the
/// issuer (RFC 9207, against mix-up attacks) and an error always says what went wrong. It
/// arrives in the query, the fragment, or a form the browser posts, as the request asked.
fn redirect(
    state: &AppState,
    headers: &HeaderMap,
    answer: &ClientRedirect,
    cookies: Vec<HeaderValue>,
) -> Response {
    let Ok(mut url) = url::Url::parse(&answer.url) else {
        return error_page(
            state,
            headers,
            StatusCode::BAD_REQUEST,
            "The application's return address is not usable.",
        );
    };
    let has = |url: &url::Url, key: &str| url.query_pairs().any(|(k, _)| k == key);
    let error = url
        .query_pairs()
        .find(|(k, _)| k == "error")
        .map(|(_, v)| v.into_owned());
    let describe = error
        .filter(|_| !has(&url, "error_description"))
        .map(|e| match e.as_str() {
            "access_denied" => "The user did not allow access",
            "invalid_scope" => "A requested scope is not allowed for this client",
            "unsupported_response_type" => "Only response_type=code is supported",
            "invalid_request" => "The authorization request is not valid",
            _ => "The authorization request failed",
        });
    let add_iss = !has(&url, "iss");
    {
        let mut query = url.query_pairs_mut();
        if let Some(d) = describe {
            query.append_pair("error_description", d);
        }
        if add_iss {
            query.append_pair("iss", &state.config.issuer);
        }
    }
    if answer.mode != ResponseMode::Query {
        // Out of the query: the client's own query stays, the response moves.
        let (response, own): (Vec<_>, Vec<_>) = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .partition(|(k, _)| RESPONSE_PARAMS.contains(&k.as_str()));
        url.set_query(None);
        if !own.is_empty() {
            url.query_pairs_mut().extend_pairs(&own);
        }
        if answer.mode == ResponseMode::FormPost {
            let target = form_target(url.as_str()).unwrap_or_default();
            let page = pages::form_post(state, headers, url.as_str(), &response, &target);
            return with_cookies(page, cookies);
        }
        let fragment = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&response)
            .finish();
        url.set_fragment(Some(&fragment));
    }
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(url.as_str()) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    with_cookies(response, cookies)
}

fn authorize_error(state: &AppState, headers: &HeaderMap, e: AuthorizeError) -> Response {
    match e {
        AuthorizeError::Page(message) => {
            error_page(state, headers, StatusCode::BAD_REQUEST, &message)
        }
        AuthorizeError::Redirect(answer) => redirect(state, headers, &answer, vec![]),
        AuthorizeError::Server(cause) if crate::storage::StorageError::is_unavailable(&cause) => {
            tracing::error!(error = %cause, "database unavailable");
            error_page(
                state,
                headers,
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is briefly unavailable. Please try again in a moment.",
            )
        }
        AuthorizeError::Server(cause) => {
            tracing::error!(error = ?cause, "authorization endpoint failed");
            error_page(
                state,
                headers,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side.",
            )
        }
    }
}

/// The CSRF token of this browser, and the cookie to set when it had none.
pub(super) fn csrf(state: &AppState, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match cookie(headers, CSRF_COOKIE).filter(|c| c.len() == 43) {
        Some(token) => (token, None),
        None => {
            let token = OpaqueToken::generate().expose().to_owned();
            let set = set_cookie(state, CSRF_COOKIE, &token, "Strict", 3600);
            (token, Some(set))
        }
    }
}

/// What went wrong on the sign-in page, and what was typed (kept, so nobody types it again).
struct SignInError<'a> {
    message: &'a str,
    identifier: &'a str,
    /// The account exists but its email is not verified: offer to resend the link.
    unverified: bool,
}

fn login_page(
    state: &AppState,
    headers: &HeaderMap,
    params: &AuthorizeParams,
    pending: &PendingAuthorization,
    error: Option<SignInError<'_>>,
) -> Response {
    let (token, set) = csrf(state, headers);
    let status = if error.is_none() {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    };
    let page = pages::render(
        state,
        headers,
        pages::Page {
            template: "sign_in.html",
            title: "Sign in",
            status,
            data: minijinja::context! {
                client_name => pending.client.name,
                oauth_request => params.to_query(),
                sign_up => format!(
                    "/account/sign-up?{}",
                    url::form_urlencoded::Serializer::new(String::new())
                        .append_pair("oauth_request", &params.to_query())
                        .finish()
                ),
                csrf => token,
                error => error.as_ref().map(|e| e.message),
                // What was typed, or else the client's `login_hint` (OIDC Core 3.1.2.1).
                identifier => error
                    .as_ref()
                    .map(|e| e.identifier)
                    .filter(|i| !i.is_empty())
                    .or_else(|| params.get("login_hint").filter(|h| h.len() <= 320))
                    .unwrap_or_default(),
                resend => error.as_ref().is_some_and(|e| e.unverified),
            },
        },
        form_target(&pending.redirect_uri).as_deref(),
    );
    with_cookies(page, set.into_iter().collect())
}

/// The request as a query string, with `key` set to `value`.
fn query_with(params: &AuthorizeParams, key: &str, value: &str) -> String {
    let query = params.to_query();
    let kept = url::form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k != key);
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .append_pair(key, value)
        .finish()
}

/// What each scope lets a client do, in plain words.
fn describe_scope(scope: &str) -> String {
    match scope {
        "openid" => "Know who you are when you sign in".into(),
        "profile" => "See your name and username".into(),
        "email" => "See your email address".into(),
        "phone" => "See your phone number".into(),
        "address" => "See your postal address".into(),
        "offline_access" => "Stay signed in when you are not using it".into(),
        other => format!("Use your account for \u{201c}{other}\u{201d}"),
    }
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
    let scopes: Vec<String> = pending
        .scope
        .split_whitespace()
        .map(describe_scope)
        .collect();
    let who = user
        .email
        .as_deref()
        .or(user.username.as_deref())
        .unwrap_or("your account");
    let redirect_host = url::Url::parse(&pending.redirect_uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| pending.redirect_uri.clone());
    let page = pages::render(
        state,
        headers,
        pages::Page {
            template: "consent.html",
            title: "Allow access?",
            status: StatusCode::OK,
            data: minijinja::context! {
                client_name => pending.client.name,
                who => who,
                scopes => scopes,
                redirect_host => redirect_host,
                // The same request, asking to sign in again (as someone else).
                switch_account => format!("authorize?{}", query_with(params, "prompt", "login")),
                oauth_request => params.to_query(),
                csrf => token,
            },
        },
        form_target(&pending.redirect_uri).as_deref(),
    );
    with_cookies(page, cookies)
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
    // `id_token_hint`: the user the client believes is signed in. A hint that is not an ID
    // token authd issued to this client is refused; a sign-in of someone else is not used.
    let session = match params.get("id_token_hint") {
        None => session,
        Some(hint) => {
            match crate::tokens::jwt::verify_id_token_hint(
                &state.keys,
                hint,
                &state.config.issuer,
                state.clock.now(),
            ) {
                Ok(claims) if claims.aud == pending.client.id => {
                    session.filter(|(user, _)| user.id == claims.sub)
                }
                _ => {
                    let e = pending.error(
                        "invalid_request",
                        "id_token_hint is not an ID token issued to this client",
                        client_state,
                    );
                    return authorize_error(state, headers, e);
                }
            }
        }
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
    let token = OpaqueToken::generate();
    let max_age = state.config.session_max_age;
    let expires = now + chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::days(30));
    if let Err(e) =
        codes::insert_browser_session(&state.db, &token.hash(), &user.id, now, expires).await
    {
        return authorize_error(state, headers, AuthorizeError::Server(e.into()));
    }
    let session_cookie = set_cookie(
        state,
        SESSION_COOKIE,
        token.expose(),
        "Lax",
        max_age.as_secs(),
    );
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
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    // A field sent twice is either a broken form or an attempt to slip a second value past
    // one reader; either way nothing goes on.
    if form
        .iter()
        .enumerate()
        .any(|(i, (k, _))| form[..i].iter().any(|(seen, _)| seen == k))
    {
        return error_page(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            "The form holds a field twice",
        );
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
