//! `POST /oauth/authorize`: the sign-in and consent forms of the authorize pages (and an
//! authorization request sent by POST).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::answer::*;
use super::*;
use crate::accounts;
use crate::accounts::limits;
use crate::http::cookies::{Binding, BrowserId, Cookie, Csrf, FORM_EXPIRED};
use crate::http::extract::read_body;
use crate::http::pages;
use crate::i18n::Text;
use crate::signin::{self, Answer, ClientMeta, LoginIdentifier, SignInError, Step};
use crate::t;

/// The sign-in form was posted: check the password (with the same limits as the account API),
/// make the browser's sign-in, then whatever the request leads to now.
#[allow(clippy::too_many_arguments)]
async fn sign_in(
    state: &AppState,
    headers: &HeaderMap,
    meta: &ClientMeta,
    params: &AuthorizeParams,
    pending: PendingAuthorization,
    current: Option<&BrowserSignIn>,
    username: &str,
    password: &str,
) -> Response {
    let failed = |message: Text, unverified: bool| {
        let page = SignInPage {
            error: Some(message),
            identifier: username,
            unverified,
            ..SignInPage::default()
        };
        login_page(state, headers, params, &pending, page, vec![])
    };
    if limits::per_client(state, "login", meta).await.is_err() {
        return failed(t!("authorize-too-many-attempts").into(), false);
    }
    let step = signin::browser::with_password(
        state,
        LoginIdentifier::parse(username),
        password,
        meta,
        current,
    )
    .await;
    let signed_in = match step {
        Ok(Step::Done(signed_in)) => signed_in,
        Ok(Step::Second(second)) => {
            // The password was right; the second factor is due, on a page of its own.
            let cookie = cookies::hold_pending(state, &second);
            let said = Said {
                passkey: second.passkey_options.as_ref(),
                ..Said::default()
            };
            return second_step_page(state, headers, params, &pending, said, vec![cookie]);
        }
        Err(SignInError::Unexpected(cause)) => {
            return authorize_error(state, headers, AuthorizeError::Server(cause));
        }
        Err(SignInError::InvalidCredentials) => {
            return failed(t!("authorize-no-match").into(), false);
        }
        Err(SignInError::EmailNotVerified) => {
            return failed(
                t!("authorize-confirm-email-first").into(),
                username.contains('@'),
            );
        }
        Err(e) => return failed(pages::flow_message(&e.to_string()), false),
    };
    let cookies = cookies::hold_sign_in(state, &signed_in);
    proceed(
        state,
        headers,
        params,
        pending,
        Some(&signed_in),
        true,
        cookies,
    )
    .await
}

/// A passkey was chosen on the sign-in page (no name typed): it signs the browser in, then
/// whatever the request leads to now.
async fn passkey_sign_in(
    state: &AppState,
    headers: &HeaderMap,
    meta: &ClientMeta,
    params: &AuthorizeParams,
    pending: PendingAuthorization,
    current: Option<&BrowserSignIn>,
    form: Form<'_>,
) -> Response {
    let failed = |message: Text| {
        let page = SignInPage {
            error: Some(message),
            ..SignInPage::default()
        };
        login_page(state, headers, params, &pending, page, vec![])
    };
    if limits::per_client(state, "login", meta).await.is_err() {
        return failed(t!("authorize-too-many-attempts").into());
    }
    let sealed = form.field("passkey_state").unwrap_or_default();
    let credential = form.field("credential").unwrap_or_default();
    match signin::browser::with_passkey(state, sealed, credential, meta, current).await {
        Ok(signed_in) => {
            let cookies = cookies::hold_sign_in(state, &signed_in);
            proceed(
                state,
                headers,
                params,
                pending,
                Some(&signed_in),
                true,
                cookies,
            )
            .await
        }
        Err(SignInError::Unexpected(cause)) => {
            authorize_error(state, headers, AuthorizeError::Server(cause))
        }
        Err(SignInError::PasskeyExpired) => failed(t!("authorize-passkey-too-slow").into()),
        Err(SignInError::PasskeyRefused) => failed(t!("authorize-passkey-unknown").into()),
        Err(e) => failed(pages::flow_message(&e.to_string())),
    }
}

/// A posted form's fields.
#[derive(Clone, Copy)]
struct Form<'a>(&'a [(String, String)]);

impl<'a> Form<'a> {
    fn field(&self, name: &str) -> Option<&'a str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The second step's form was posted: the code completes the pending sign-in this browser's
/// pending cookie names, which then goes on as a fresh sign-in.
#[allow(clippy::too_many_arguments)]
async fn second_step(
    state: &AppState,
    headers: &HeaderMap,
    meta: &ClientMeta,
    params: &AuthorizeParams,
    pending: PendingAuthorization,
    current: Option<&BrowserSignIn>,
    id: &BrowserId,
    form: Form<'_>,
) -> Response {
    let too_long = SignInPage {
        notice: Some(t!("authorize-code-too-late").into()),
        ..SignInPage::default()
    };
    let Some(token) = cookies::read(state, headers, Cookie::Pending) else {
        return login_page(state, headers, params, &pending, too_long, vec![]);
    };
    // Shown again with the page, if it is.
    let passkey = match signin::pending(state, &token).await {
        Ok(found) => found.and_then(|(_, row)| signin::passkey_options(&row)),
        Err(e) => return authorize_error(state, headers, AuthorizeError::from(e)),
    };
    let again = |said: Said<'_>| {
        let said = Said {
            passkey: passkey.as_ref(),
            ..said
        };
        second_step_page(state, headers, params, &pending, said, vec![])
    };
    if cookies::check(state, Binding::Browser(id), form.field("csrf")) != Csrf::Valid {
        return again(Said {
            notice: Some(FORM_EXPIRED.into()),
            expired: true,
            ..Said::default()
        });
    }
    let code = form.field("code").unwrap_or_default();
    let answer = Answer::from_form(code, form.field("credential").unwrap_or_default());
    let finished = match answer {
        Ok(answer) => signin::finish_in_browser(state, &token, answer, meta, current).await,
        Err(e) => Err(e),
    };
    match finished {
        Ok((signed_in, _)) => {
            let mut set = cookies::hold_sign_in(state, &signed_in);
            set.push(cookies::set(state, Cookie::Pending, "", 0));
            proceed(state, headers, params, pending, Some(&signed_in), true, set).await
        }
        Err(SignInError::InvalidCode) => again(Said {
            error: Some(t!("authorize-code-wrong").into()),
            ..Said::default()
        }),
        Err(SignInError::PasskeyRefused) => again(Said {
            error: Some(t!("authorize-passkey-refused").into()),
            ..Said::default()
        }),
        Err(SignInError::TooManyAttempts { .. }) => again(Said {
            error: Some(t!("authorize-code-too-many").into()),
            ..Said::default()
        }),
        Err(SignInError::InvalidChallenge) => {
            login_page(state, headers, params, &pending, too_long, vec![])
        }
        Err(e) => authorize_error(state, headers, AuthorizeError::from(e)),
    }
}

/// Allow or Deny was pressed on the consent page of the browser's sign-in.
async fn decide(
    state: &AppState,
    headers: &HeaderMap,
    pending: PendingAuthorization,
    browser: &BrowserSignIn,
    action: &str,
) -> Response {
    if action == "deny" {
        return authorize_error(state, headers, pending.deny());
    }
    let user = &browser.user;
    if !pending.client.first_party
        && let Err(e) =
            accounts::consent::remember(state, &user.id, &pending.client.id, &pending.scope).await
    {
        return authorize_error(state, headers, AuthorizeError::from(e));
    }
    match pending.approve(&browser.sign_in).await {
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
            return error_page(&state, &headers, e.status(), t!("authorize-form-too-large"));
        }
    };
    let Some(form) = form_fields(&body) else {
        return error_page(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            t!("authorize-form-field-twice"),
        );
    };
    let form = Form(&form);
    let field = |name: &str| form.field(name);
    if field(REQUEST_FIELD).is_none() && field("action").is_none() {
        // No form of authd's: an authorization request sent by POST (OIDC Core 3.1.2.1).
        return authorize_request(&state, &headers, &body).await;
    }
    if cookies::from_another_site(&state, &headers) {
        return error_page(
            &state,
            &headers,
            StatusCode::FORBIDDEN,
            t!("authorize-form-other-site"),
        );
    }
    // The client's request is checked again from scratch, as on the first visit.
    let Some(request) = field(REQUEST_FIELD) else {
        return error_page(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            t!("authorize-form-incomplete"),
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
    let browser = match cookies::signed_in(&state, &headers).await {
        Ok(browser) => browser,
        Err(e) => return authorize_error(&state, &headers, AuthorizeError::from(e)),
    };
    let csrf = field("csrf");
    match field("action") {
        Some("login") => {
            let username = field("username").unwrap_or_default();
            let id = BrowserId::of(&state, &headers);
            if cookies::check(&state, Binding::Browser(&id), csrf) != Csrf::Valid {
                let page = SignInPage {
                    notice: Some(FORM_EXPIRED.into()),
                    identifier: username,
                    expired: true,
                    ..SignInPage::default()
                };
                return login_page(&state, &headers, &params, &pending, page, vec![]);
            }
            let password = field("password").unwrap_or_default();
            sign_in(
                &state,
                &headers,
                &meta,
                &params,
                pending,
                browser.as_ref(),
                username,
                password,
            )
            .await
        }
        Some("second") => {
            let id = BrowserId::of(&state, &headers);
            second_step(
                &state,
                &headers,
                &meta,
                &params,
                pending,
                browser.as_ref(),
                &id,
                form,
            )
            .await
        }
        Some("passkey") => {
            let id = BrowserId::of(&state, &headers);
            if cookies::check(&state, Binding::Browser(&id), csrf) != Csrf::Valid {
                let page = SignInPage {
                    notice: Some(FORM_EXPIRED.into()),
                    expired: true,
                    ..SignInPage::default()
                };
                return login_page(&state, &headers, &params, &pending, page, vec![]);
            }
            passkey_sign_in(
                &state,
                &headers,
                &meta,
                &params,
                pending,
                browser.as_ref(),
                form,
            )
            .await
        }
        Some(action @ ("approve" | "deny")) => {
            let Some(browser) = browser else {
                let page = SignInPage {
                    notice: Some(t!("authorize-sign-in-ended").into()),
                    ..SignInPage::default()
                };
                return login_page(&state, &headers, &params, &pending, page, vec![]);
            };
            if cookies::check(&state, Binding::SignIn(&browser.sign_in), csrf) != Csrf::Valid {
                // Asked again, with a value of this sign-in's: a forged or planted value
                // (or a page left open too long) approves nothing.
                let notice = Some(FORM_EXPIRED.into());
                return consent_page(
                    &state,
                    &headers,
                    &params,
                    &pending,
                    &browser,
                    notice,
                    vec![],
                );
            }
            decide(&state, &headers, pending, &browser, action).await
        }
        _ => error_page(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            t!("authorize-unknown-action"),
        ),
    }
}
