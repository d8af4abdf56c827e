//! `GET`/`POST /oauth/authorize`: authd's own sign-in and consent pages for the authorization
//! code flow. The request is validated by oxide-auth (`oauth::grants::authorization_code`) and
//! what happens next is decided in `oauth::authorize`; this folder renders it: the request
//! here, the pages and redirects in `answer.rs`, the posted forms in `post.rs`.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;

use super::cookies;
use crate::oauth::authorize::{Decision, Reason, decision};
use crate::oauth::{AuthorizeError, AuthorizeParams, PendingAuthorization, start_authorization};
use crate::signin::BrowserSignIn;
use crate::signin::{self, Proof};
use crate::state::AppState;
use crate::t;

/// The hidden field that carries the client's authorization request through authd's forms,
/// as one opaque query string. authd's own fields (`csrf`, `action`, `username`, `password`)
/// are read only from the form itself, never from the client's request, so nothing a client
/// puts in its authorization URL can act for the user.
const REQUEST_FIELD: &str = "oauth_request";

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

/// The form target a page needs when its form leads, through authd, back to the client of the
/// authorization request `query` (the CSP's `form-action` covers the whole redirect chain).
pub(in crate::http) async fn form_target_of(state: &AppState, query: &str) -> Option<String> {
    let params = AuthorizeParams::parse(query).ok()?;
    let pending = start_authorization(state, &params).await.ok()?;
    form_target(&pending.redirect_uri)
}

/// Adds cookies to a page.
pub(super) fn with_cookies(mut response: Response, cookies: Vec<HeaderValue>) -> Response {
    for c in cookies {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, c);
    }
    response
}

mod answer;
mod post;

use answer::*;
pub(super) use answer::{Said, passkey_ceremony};
pub use post::authorize_post;

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
    let browser = match cookies::signed_in(state, headers).await {
        Ok(browser) => browser,
        Err(e) => return authorize_error(state, headers, AuthorizeError::from(e)),
    };
    proceed(
        state,
        headers,
        &params,
        pending,
        browser.as_ref(),
        false,
        vec![],
    )
    .await
}

/// Decides what a validated request leads to and renders it. `fresh`: the browser's sign-in
/// was made by this request's own form; `cookies` go with whatever is answered.
async fn proceed(
    state: &AppState,
    headers: &HeaderMap,
    params: &AuthorizeParams,
    pending: PendingAuthorization,
    browser: Option<&BrowserSignIn>,
    fresh: bool,
    cookies: Vec<HeaderValue>,
) -> Response {
    let decided = match decision(state, params, &pending, browser, fresh).await {
        Ok(d) => d,
        Err(e) => return with_cookies(authorize_error(state, headers, e), cookies),
    };
    match (decided, browser) {
        (Decision::Approve, Some(b)) => match pending.approve(&b.sign_in).await {
            Ok(answer) => redirect(state, headers, &answer, cookies),
            Err(e) => with_cookies(authorize_error(state, headers, e), cookies),
        },
        (Decision::Consent, Some(b)) => {
            consent_page(state, headers, params, &pending, b, None, cookies)
        }
        (Decision::Refuse { error, description }, _) => {
            let e = pending.error(error, description, params.get("state"));
            with_cookies(authorize_error(state, headers, e), cookies)
        }
        (Decision::Enroll, _) => enroll_page(state, headers, params, &pending, cookies),
        // A stronger sign-in of someone signed in with a second factor set up: only that factor
        // is asked for (the password was proved in this sign-in).
        (Decision::SignIn(Reason::Level), Some(b)) => {
            step_up(state, headers, params, pending, b, cookies).await
        }
        (Decision::SignIn(reason), _) => login_page(
            state,
            headers,
            params,
            &pending,
            SignInPage::asked(reason),
            cookies,
        ),
        // Approving and asking consent need a sign-in, which `decide` knows.
        (Decision::Approve | Decision::Consent, None) => login_page(
            state,
            headers,
            params,
            &pending,
            SignInPage::default(),
            cookies,
        ),
    }
}

/// The second step for a browser's sign-in of someone with a second factor: a pending sign-in
/// built on it (its methods count), completed into it by the code.
async fn step_up(
    state: &AppState,
    headers: &HeaderMap,
    params: &AuthorizeParams,
    pending: PendingAuthorization,
    browser: &BrowserSignIn,
    mut cookies: Vec<HeaderValue>,
) -> Response {
    let begun = async {
        let factors = signin::active_factors(state, &browser.user.id).await?;
        let proof = Proof::of_sign_in(browser.user.clone(), &browser.sign_in);
        signin::begin_second_step(state, proof, factors, &Default::default()).await
    };
    match begun.await {
        Ok(second) => {
            cookies.push(cookies::hold_pending(state, &second));
            let said = Said {
                notice: Some(t!("authorize-reason-second-factor").into()),
                passkey: second.passkey_options.as_ref(),
                ..Said::default()
            };
            second_step_page(state, headers, params, &pending, said, cookies)
        }
        Err(e) => with_cookies(
            authorize_error(state, headers, AuthorizeError::from(e)),
            cookies,
        ),
    }
}
