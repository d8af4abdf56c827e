//! The account pages a person reaches from an email or from the sign-in page, for when no
//! frontend of one's own is configured: forgot password, reset password, the verification
//! landing, stopping an email change. Plain HTML forms: they work without JavaScript.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::cookies::{self, Binding, BrowserId, Csrf, FORM_EXPIRED};
use super::extract::{Payload, query_token};
use super::pages::{self, Link, Page};
use crate::accounts::limits;
use crate::accounts::{self, AccountError, Verified};
use crate::domain::EmailAddress;
use crate::error::ApiError;
use crate::i18n::{Key, Text};
use crate::signin::ClientMeta;
use crate::state::AppState;
use crate::t;

/// Where a person goes to sign in once done here: the frontend's login page when there is
/// one; else nowhere in particular (sign-in starts at the application they came from).
fn sign_in_link(state: &AppState) -> Option<Link> {
    state.config.frontend_url.as_ref().map(|front| Link {
        href: format!("{front}/login"),
        text: t!("sign-in"),
    })
}

const SIGN_IN_HINT: Key = t!("account-sign-in-hint");

/// The page behind a followed verification link, for a browser; `continue_to` is where the
/// hosted sign-up page came from (an authorization request on authd). `signed_in`: the link was
/// followed in the browser of the sign-up, which is now signed in; elsewhere, the sign-in page
/// that follows has the address filled in.
pub fn verified_page(
    state: &AppState,
    headers: &HeaderMap,
    verified: &Verified,
    continue_to: Option<&str>,
    signed_in: bool,
) -> Response {
    if verified.password_required {
        pages::message(
            state,
            headers,
            StatusCode::OK,
            t!("verified-title"),
            [
                t!("verified-password-dropped"),
                t!("verified-password-link"),
            ],
            None,
        )
    } else {
        pages::message(
            state,
            headers,
            StatusCode::OK,
            t!("verified-title"),
            [
                t!("verified-thanks"),
                if signed_in {
                    t!("verified-signed-in")
                } else {
                    SIGN_IN_HINT
                },
            ],
            match continue_to.filter(|to| accounts::is_authorize_path(to)) {
                Some(to) => Some(Link {
                    href: match (&verified.user.email, signed_in) {
                        (Some(email), false) if !to.contains("login_hint=") => format!(
                            "{to}&{}",
                            url::form_urlencoded::Serializer::new(String::new())
                                .append_pair("login_hint", email)
                                .finish()
                        ),
                        _ => to.to_owned(),
                    },
                    text: t!("continue"),
                }),
                None => sign_in_link(state),
            },
        )
    }
}

/// The page a verification link opens in a browser: one button confirms. Opening the link
/// changes nothing, so a mail scanner that opens it confirms no one's sign-up.
pub fn verify_page(
    state: &AppState,
    headers: &HeaderMap,
    token: &str,
    continue_to: Option<&str>,
    notice: Option<Key>,
) -> Response {
    pages::render(
        state,
        headers,
        Page {
            template: "verify_email.html",
            title: t!("verify-title"),
            status: if notice.is_some() {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::OK
            },
            data: minijinja::context! {
                token => token,
                continue_to => continue_to.filter(|to| accounts::is_authorize_path(to)),
                notice => notice.map(Text::from),
            },
        },
        None,
    )
}

#[derive(Deserialize)]
pub struct VerifyForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    csrf: String,
    #[serde(rename = "continue", default)]
    continue_to: Option<String>,
}

/// `POST /account/verify`: the button of the verification page. In the browser the hosted
/// sign-up was made in, it also signs the person in (see `accounts::verify_email_in_browser`).
pub async fn verify_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    meta: ClientMeta,
    Payload(form): Payload<VerifyForm>,
) -> Response {
    if let Some(refused) = from_elsewhere(&state, &headers) {
        return refused;
    }
    let continue_to = form.continue_to.as_deref();
    let id = BrowserId::of(&state, &headers);
    if cookies::check(&state, Binding::Browser(&id), Some(&form.csrf)) != Csrf::Valid {
        return verify_page(
            &state,
            &headers,
            &form.token,
            continue_to,
            Some(FORM_EXPIRED),
        );
    }
    let current = match cookies::signed_in(&state, &headers).await {
        Ok(current) => current,
        Err(e) => return failure(&state, &headers, AccountError::from(e)),
    };
    let browser = accounts::SignUpBrowser {
        id: id.hash(),
        current: current.as_ref(),
    };
    let (verified, signed_in) =
        match accounts::verify_email_in_browser(&state, &form.token, &browser, &meta).await {
            Ok(done) => done,
            Err(AccountError::AlreadyVerified) => {
                return pages::message(
                    &state,
                    &headers,
                    StatusCode::OK,
                    t!("verify-already-title"),
                    [t!("verify-already-body"), SIGN_IN_HINT],
                    continue_to
                        .filter(|to| accounts::is_authorize_path(to))
                        .map(|to| Link {
                            href: to.to_owned(),
                            text: t!("continue"),
                        })
                        .or_else(|| sign_in_link(&state)),
                );
            }
            Err(AccountError::InvalidToken) => {
                return pages::message(
                    &state,
                    &headers,
                    StatusCode::BAD_REQUEST,
                    t!("account-link-dead-title"),
                    [t!("verify-dead-body"), t!("verify-dead-next")],
                    sign_in_link(&state),
                );
            }
            Err(e) => return failure(&state, &headers, e),
        };
    let mut page = match (&state.config.frontend_url, verified.password_required) {
        (Some(front), false) => {
            axum::response::Redirect::to(&format!("{front}/login?verified=1")).into_response()
        }
        _ => verified_page(
            &state,
            &headers,
            &verified,
            continue_to,
            signed_in.is_some(),
        ),
    };
    for cookie in signed_in
        .as_ref()
        .map(|s| cookies::hold_sign_in(&state, s))
        .unwrap_or_default()
    {
        page.headers_mut().append(header::SET_COOKIE, cookie);
    }
    page
}

/// The hosted sign-up page's fields, kept when something needs fixing.
#[derive(Deserialize, Default)]
pub struct SignUpForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    oauth_request: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm_password: String,
}

/// Where the sign-up page goes back to: the authorization request it came from.
fn authorize_path(oauth_request: &str) -> Option<String> {
    (!oauth_request.is_empty()).then(|| format!("/oauth/authorize?{oauth_request}"))
}

fn sign_up_form(
    state: &AppState,
    headers: &HeaderMap,
    form: &SignUpForm,
    client_name: Option<String>,
    errors: Vec<Text>,
    taken: bool,
) -> Response {
    pages::render(
        state,
        headers,
        Page {
            template: "sign_up.html",
            title: t!("sign-up-title"),
            status: if errors.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::BAD_REQUEST
            },
            data: minijinja::context! {
                oauth_request => form.oauth_request,
                full_name => form.full_name,
                email => form.email,
                errors => errors,
                client_name => client_name,
                back => authorize_path(&form.oauth_request),
                // An address with an account already: sign in, or reset its password, and go
                // on to the same application either way.
                taken => taken,
                sign_in => authorize_path(&form.oauth_request)
                    .unwrap_or_else(|| "/account/sign-in".to_owned()),
                forgot => format!(
                    "/account/forgot-password{}",
                    authorize_path(&form.oauth_request)
                        .map(|to| format!(
                            "?{}",
                            url::form_urlencoded::Serializer::new(String::new())
                                .append_pair("continue", &to)
                                .finish()
                        ))
                        .unwrap_or_default()
                ),
                upstream => super::upstream::buttons(
                    state,
                    &if form.oauth_request.is_empty() {
                        crate::signin::upstream::Return::Account("/account/security".into())
                    } else {
                        crate::signin::upstream::Return::Authorize(form.oauth_request.clone())
                    },
                ),
            },
        },
        None,
    )
}

/// The client's name, for the page to say where the person is going.
async fn client_name(state: &AppState, oauth_request: &str) -> Option<String> {
    let client_id = url::form_urlencoded::parse(oauth_request.as_bytes())
        .find(|(k, _)| k == "client_id")
        .map(|(_, v)| v.into_owned())?;
    crate::oauth::client_auth::registered(state, &client_id)
        .await
        .ok()
        .flatten()
        .map(|c| c.name)
}

/// A form posted into authd from another site's page.
fn from_elsewhere(state: &AppState, headers: &HeaderMap) -> Option<Response> {
    cookies::from_another_site(state, headers).then(|| {
        pages::message(
            state,
            headers,
            StatusCode::FORBIDDEN,
            t!("account-foreign-form-title"),
            [t!("account-foreign-form-body")],
            None,
        )
    })
}

/// `GET /account/sign-up?oauth_request=...` (linked from the sign-in page).
pub async fn sign_up_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let oauth_request = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "oauth_request")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let form = SignUpForm {
        oauth_request,
        ..SignUpForm::default()
    };
    let name = client_name(&state, &form.oauth_request).await;
    sign_up_form(&state, &headers, &form, name, vec![], false)
}

/// `POST /account/sign-up`: the same rules and email verification as
/// `/api/auth/register`; the emailed link leads back to the authorization request.
pub async fn sign_up(
    State(state): State<AppState>,
    headers: HeaderMap,
    meta: ClientMeta,
    Payload(form): Payload<SignUpForm>,
) -> Response {
    if let Some(refused) = from_elsewhere(&state, &headers) {
        return refused;
    }
    let name = client_name(&state, &form.oauth_request).await;
    let id = BrowserId::of(&state, &headers);
    if cookies::check(&state, Binding::Browser(&id), Some(&form.csrf)) != Csrf::Valid {
        let errors = vec![FORM_EXPIRED.into()];
        let mut page = sign_up_form(&state, &headers, &form, name, errors, false);
        *page.status_mut() = StatusCode::FORBIDDEN;
        return page;
    }
    if let Err(e) = limits::per_client(&state, "register", &meta).await {
        return too_many(&state, &headers, e);
    }
    let request = crate::http::requests::RegisterRequest {
        email: Some(form.email.clone()),
        password: Some(form.password.clone()),
        confirm_password: Some(form.confirm_password.clone()),
        full_name: Some(form.full_name.clone()).filter(|n| !n.trim().is_empty()),
        ..Default::default()
    };
    let mut registration = match accounts::NewRegistration::try_from(request) {
        Ok(r) => r,
        Err(ApiError::Validation(errors)) => {
            return sign_up_form(
                &state,
                &headers,
                &form,
                name,
                errors.values().map(|e| pages::flow_message(e)).collect(),
                false,
            );
        }
        Err(e) => return failure(&state, &headers, AccountError::Unexpected(e.into())),
    };
    registration.continue_to = authorize_path(&form.oauth_request);
    let current = match cookies::signed_in(&state, &headers).await {
        Ok(current) => current,
        Err(e) => return failure(&state, &headers, AccountError::from(e)),
    };
    let browser = accounts::SignUpBrowser {
        id: id.hash(),
        current: current.as_ref(),
    };
    match accounts::register(&state, registration, meta, Some(browser)).await {
        // The address named, and a way to send the link again.
        Ok(accounts::RegisterOutcome::Pending { email, .. }) => pages::render(
            &state,
            &headers,
            Page {
                template: "check_email.html",
                title: t!("check-email-title"),
                status: StatusCode::OK,
                data: minijinja::context! { email => email },
            },
            None,
        ),
        Ok(accounts::RegisterOutcome::SignedInBrowser(signed_in)) => {
            let mut page = pages::message(
                &state,
                &headers,
                StatusCode::OK,
                t!("sign-up-done-title"),
                [t!("sign-up-done-body")],
                authorize_path(&form.oauth_request).map(|href| Link {
                    href,
                    text: t!("continue"),
                }),
            );
            for cookie in cookies::hold_sign_in(&state, &signed_in) {
                page.headers_mut().append(header::SET_COOKIE, cookie);
            }
            page
        }
        Ok(accounts::RegisterOutcome::SignedIn(_)) => failure(
            &state,
            &headers,
            AccountError::Unexpected(anyhow::anyhow!("a hosted sign-up opened an API session")),
        ),
        // The address has an account: the way on is signing in, or resetting its password.
        Err(AccountError::InUse(message)) => sign_up_form(
            &state,
            &headers,
            &form,
            name,
            vec![pages::flow_message(message)],
            message == "Email already in use",
        ),
        Err(e) => failure(&state, &headers, e),
    }
}

/// `continue` of a query: an authorization request to go back to, or nothing.
fn continue_of(query: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "continue")
        .map(|(_, v)| v.into_owned())
        .filter(|to| accounts::is_authorize_path(to))
}

/// `GET /account/forgot-password`, from the sign-in page with the authorization request it
/// was for (`continue`), which the reset link then carries.
pub async fn forgot_password_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    pages::render(
        &state,
        &headers,
        Page {
            template: "forgot_password.html",
            title: t!("forgot-title"),
            status: StatusCode::OK,
            data: minijinja::context! { continue_to => continue_of(query.as_deref()) },
        },
        None,
    )
}

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
    /// The authorization request the person was signing in to.
    #[serde(rename = "continue", default)]
    continue_to: Option<String>,
}

/// `POST /account/forgot-password`: the same answer whether or not the address is known.
pub async fn forgot_password_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    meta: ClientMeta,
    Payload(form): Payload<EmailForm>,
) -> Response {
    if let Some(refused) = from_elsewhere(&state, &headers) {
        return refused;
    }
    if let Err(e) = limits::per_client(&state, "forgot-password", &meta).await {
        return too_many(&state, &headers, e);
    }
    let Ok(email) = EmailAddress::parse(&form.email) else {
        return pages::message(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            t!("forgot-title"),
            [t!("forgot-not-email")],
            Some(Link {
                href: "/account/forgot-password".into(),
                text: t!("forgot-try-again"),
            }),
        );
    };
    let continue_to = form
        .continue_to
        .as_deref()
        .filter(|to| accounts::is_authorize_path(to));
    if let Err(e) = accounts::forgot_password(&state, &email, continue_to).await {
        return failure(&state, &headers, e);
    }
    pages::message(
        &state,
        &headers,
        StatusCode::OK,
        t!("check-email-title"),
        [t!("forgot-sent"), t!("forgot-sent-next")],
        None,
    )
}

/// `POST /account/resend-verification` (from the sign-in page).
pub async fn resend_verification_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    meta: ClientMeta,
    Payload(form): Payload<EmailForm>,
) -> Response {
    if let Some(refused) = from_elsewhere(&state, &headers) {
        return refused;
    }
    if let Err(e) = limits::per_client(&state, "resend-verification", &meta).await {
        return too_many(&state, &headers, e);
    }
    if let Ok(email) = EmailAddress::parse(&form.email)
        && let Err(e) = accounts::resend_verification(
            &state,
            &email,
            form.continue_to
                .as_deref()
                .filter(|to| accounts::is_authorize_path(to)),
        )
        .await
    {
        return failure(&state, &headers, e);
    }
    pages::message(
        &state,
        &headers,
        StatusCode::OK,
        t!("check-email-title"),
        [t!("check-email-resent"), t!("check-email-resent-next")],
        None,
    )
}

fn reset_form(
    state: &AppState,
    headers: &HeaderMap,
    (token, continue_to): (&str, Option<&str>),
    error: Option<Text>,
) -> Response {
    pages::render(
        state,
        headers,
        Page {
            template: "reset_password.html",
            title: t!("reset-title"),
            status: if error.is_some() {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            },
            data: minijinja::context! { token => token, continue_to => continue_to, error => error },
        },
        None,
    )
}

/// `GET /api/auth/reset-password?token=` (the link in the reset email, when no frontend is
/// configured).
pub async fn reset_password_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let continue_to = continue_of(query.as_deref());
    let token = query_token(query).unwrap_or_default();
    match accounts::reset_link_usable(&state, &token).await {
        Ok(true) => reset_form(&state, &headers, (&token, continue_to.as_deref()), None),
        Ok(false) => expired_reset_link(&state, &headers),
        Err(e) => failure(&state, &headers, e),
    }
}

/// A reset link that no longer works: say so, and offer a new one.
fn expired_reset_link(state: &AppState, headers: &HeaderMap) -> Response {
    pages::message(
        state,
        headers,
        StatusCode::BAD_REQUEST,
        t!("reset-expired-title"),
        [t!("reset-expired-body"), t!("reset-expired-next")],
        Some(Link {
            href: "/account/forgot-password".into(),
            text: t!("reset-expired-link"),
        }),
    )
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
    /// The authorization request to go back to once the password is saved.
    #[serde(rename = "continue", default)]
    continue_to: Option<String>,
}

/// `POST /account/reset-password`: the reset page's form.
pub async fn reset_password_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    meta: ClientMeta,
    Payload(form): Payload<ResetForm>,
) -> Response {
    if let Some(refused) = from_elsewhere(&state, &headers) {
        return refused;
    }
    if let Err(e) = limits::per_client(&state, "reset-password", &meta).await {
        return too_many(&state, &headers, e);
    }
    let continue_to = form
        .continue_to
        .as_deref()
        .filter(|to| accounts::is_authorize_path(to));
    let again = (form.token.as_str(), continue_to);
    if form.new_password != form.confirm_password {
        return reset_form(&state, &headers, again, Some(t!("reset-differ").into()));
    }
    match accounts::reset_password(&state, &form.token, &form.new_password).await {
        // Back to the application's sign-in, when the journey started there.
        Ok(()) => pages::message(
            &state,
            &headers,
            StatusCode::OK,
            t!("reset-done-title"),
            [
                t!("reset-done-body"),
                if continue_to.is_some() {
                    t!("reset-done-continue")
                } else {
                    SIGN_IN_HINT
                },
            ],
            continue_to
                .map(|to| Link {
                    href: to.to_owned(),
                    text: t!("reset-done-link"),
                })
                .or_else(|| sign_in_link(&state)),
        ),
        Err(AccountError::Invalid(_, message)) => {
            reset_form(&state, &headers, again, Some(pages::flow_message(&message)))
        }
        Err(AccountError::InvalidToken) => expired_reset_link(&state, &headers),
        Err(e) => failure(&state, &headers, e),
    }
}

/// `GET /api/auth/cancel-email-change?token=T`: the link in the notice to the old address. It
/// only asks: mail scanners open links, and must not stop a change the owner wanted.
pub async fn cancel_email_change_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    pages::render(
        &state,
        &headers,
        Page {
            template: "cancel_email_change.html",
            title: t!("cancel-email-title"),
            status: StatusCode::OK,
            data: minijinja::context! { token => query_token(query).unwrap_or_default() },
        },
        None,
    )
}

fn too_many(state: &AppState, headers: &HeaderMap, e: AccountError) -> Response {
    let status = ApiError::from(e).status();
    pages::message(
        state,
        headers,
        status,
        t!("account-wait-title"),
        [t!("account-wait-body")],
        None,
    )
}

fn failure(state: &AppState, headers: &HeaderMap, e: AccountError) -> Response {
    let status = match e {
        AccountError::Unexpected(ref cause)
            if crate::storage::StorageError::is_unavailable(cause) =>
        {
            tracing::error!(error = %cause, "database unavailable");
            StatusCode::SERVICE_UNAVAILABLE
        }
        AccountError::Unexpected(ref cause) => {
            tracing::error!(error = ?cause, "an account page failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
        other => ApiError::from(other).status(),
    };
    pages::message(
        state,
        headers,
        status,
        t!("account-failure-title"),
        [t!("account-failure-body")],
        None,
    )
}
