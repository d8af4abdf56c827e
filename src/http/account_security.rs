//! `/account/security`: a person's second factors on authd's own pages (list, add an
//! authenticator app with a QR code, remove, new recovery codes), and the sign-in that leads
//! there when the browser holds none. Forms that change the account carry CSRF values bound to
//! the browser's sign-in; `continue` leads back only to authd's own pages.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::authorize::Said;
use super::cookies::{self, Binding, BrowserId, Cookie, Csrf, FORM_EXPIRED};
use super::extract::Payload;
use super::pages::{self, Page};
use crate::accounts::factors::{self, Asker};
use crate::accounts::{AccountError, limits};
use crate::signin::{self, BrowserSignIn, ClientMeta, LoginIdentifier, Proof, SignInError};
use crate::state::AppState;

const SECURITY: &str = "/account/security";

/// Where a page may send the person on: authd's own account pages or an authorization
/// request on authd, never elsewhere.
fn continue_to(raw: Option<&str>) -> Option<String> {
    raw.filter(|to| {
        (to.starts_with("/account/") || crate::accounts::is_authorize_path(to))
            && !to.starts_with("//")
            && !to.contains(['\\', '\r', '\n'])
    })
    .map(str::to_owned)
}

fn query_value(query: Option<&str>, key: &str) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn see_other(to: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    for c in cookies {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

fn failed(state: &AppState, headers: &HeaderMap, e: impl Into<AccountError>) -> Response {
    let e: AccountError = e.into();
    if let AccountError::Unexpected(cause) = &e {
        tracing::error!(error = ?cause, "an account security page failed");
    }
    let status = crate::error::ApiError::from(e).status();
    pages::message(
        state,
        headers,
        status,
        "Something went wrong",
        &["We could not do that just now. Please try again in a moment."],
        None,
    )
}

/// The path of this page with `continue`, for the sign-in that leads back to it.
fn here(continue_to: Option<&str>) -> String {
    match continue_to {
        Some(to) => format!(
            "{SECURITY}?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("continue", to)
                .finish()
        ),
        None => SECURITY.to_owned(),
    }
}

/// The browser's sign-in, or the way to the sign-in page (and back here).
async fn signed_in_or_sign_in(
    state: &AppState,
    headers: &HeaderMap,
    back: &str,
) -> Result<BrowserSignIn, Response> {
    match cookies::signed_in(state, headers).await {
        Ok(Some(b)) => Ok(b),
        Ok(None) => Err(see_other(
            &format!(
                "/account/sign-in?{}",
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("continue", back)
                    .finish()
            ),
            vec![],
        )),
        Err(e) => Err(failed(state, headers, e)),
    }
}

/// `GET /account/security`.
pub async fn security_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let next = continue_to(query_value(query.as_deref(), "continue").as_deref());
    let browser = match signed_in_or_sign_in(&state, &headers, &here(next.as_deref())).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    render_security(
        &state,
        &headers,
        &browser,
        next.as_deref(),
        Said::default(),
        vec![],
    )
    .await
}

async fn render_security(
    state: &AppState,
    headers: &HeaderMap,
    browser: &BrowserSignIn,
    next: Option<&str>,
    said: Said<'_>,
    cookies: Vec<HeaderValue>,
) -> Response {
    let listed = match factors::list(state, &browser.user).await {
        Ok(listed) => listed,
        Err(e) => return failed(state, headers, e),
    };
    let items: Vec<_> = listed
        .factors
        .iter()
        .map(|f| {
            minijinja::context! {
                id => f.id,
                name => f.name,
                kind => if f.kind == "passkey" { "passkey" } else { "authenticator app" },
                pending => f.status == "pending",
                last_used => f.last_used_at.as_deref().map(|t| t.get(..10).unwrap_or(t)),
            }
        })
        .collect();
    let recent = browser.sign_in.level >= crate::domain::Level::Multi
        && state.clock.now_naive() - browser.sign_in.auth_time <= chrono::Duration::minutes(5);
    let user = &browser.user;
    let mut page = pages::render(
        state,
        headers,
        Page {
            template: "security.html",
            title: "Sign-in security",
            status: said.status(),
            data: minijinja::context! {
                who => user.email.as_deref().or(user.username.as_deref()).unwrap_or("your account"),
                factors => items,
                codes_left => listed.recovery_codes_left,
                // A change that weakens the account needs a recent second factor: its code,
                // unless this sign-in proved one in the last 5 minutes.
                needs_code => !recent,
                continue_to => next,
                error => said.error,
                notice => said.notice,
                csrf => cookies::mint(state, Binding::SignIn(&browser.sign_in)),
            },
        },
        None,
    );
    for c in cookies {
        page.headers_mut().append(header::SET_COOKIE, c);
    }
    page
}

#[derive(Deserialize, Default)]
pub struct SecurityForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    code: String,
    #[serde(rename = "continue", default)]
    continue_to: Option<String>,
}

/// A posted form of the security page: from authd's own page, of this browser's sign-in.
async fn posted(
    state: &AppState,
    headers: &HeaderMap,
    form: &SecurityForm,
) -> Result<BrowserSignIn, Response> {
    if cookies::from_another_site(state, headers) {
        return Err(pages::message(
            state,
            headers,
            StatusCode::FORBIDDEN,
            "This form came from another site",
            &["Open this page on our own site and try again."],
            None,
        ));
    }
    let next = continue_to(form.continue_to.as_deref());
    let browser = signed_in_or_sign_in(state, headers, &here(next.as_deref())).await?;
    if cookies::check(state, Binding::SignIn(&browser.sign_in), Some(&form.csrf)) != Csrf::Valid {
        let said = Said {
            notice: Some(FORM_EXPIRED),
            expired: true,
            ..Said::default()
        };
        return Err(render_security(state, headers, &browser, next.as_deref(), said, vec![]).await);
    }
    Ok(browser)
}

/// `POST /account/security/totp`: a pending authenticator app, its QR code and key.
pub async fn add_totp(
    State(state): State<AppState>,
    headers: HeaderMap,
    Payload(form): Payload<SecurityForm>,
) -> Response {
    let browser = match posted(&state, &headers, &form).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    match factors::enrol_totp(&state, &browser.user, None).await {
        Ok(enrolment) => enrol_page(&state, &headers, &browser, &enrolment, &form, None),
        Err(e) => failed(&state, &headers, e),
    }
}

fn enrol_page(
    state: &AppState,
    headers: &HeaderMap,
    browser: &BrowserSignIn,
    enrolment: &factors::TotpEnrolment,
    form: &SecurityForm,
    error: Option<&str>,
) -> Response {
    let qr = qrcode::QrCode::new(enrolment.otpauth_uri.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .build()
        })
        .unwrap_or_default();
    // The SVG element alone, inline (no image request, nothing for a CSP to allow).
    let qr = qr
        .find("<svg")
        .map(|at| qr[at..].to_owned())
        .unwrap_or_default();
    let grouped: Vec<String> = enrolment
        .secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    pages::render(
        state,
        headers,
        Page {
            template: "enrol_totp.html",
            title: "Add an authenticator app",
            status: if error.is_some() {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::OK
            },
            data: minijinja::context! {
                qr => qr,
                secret_grouped => grouped.join(" "),
                id => enrolment.id,
                error => error,
                continue_to => continue_to(form.continue_to.as_deref()),
                csrf => cookies::mint(state, Binding::SignIn(&browser.sign_in)),
            },
        },
        None,
    )
}

/// `POST /account/security/totp/confirm`: the app's first code. The account's first factor
/// shows its recovery codes, once.
pub async fn confirm_totp(
    State(state): State<AppState>,
    headers: HeaderMap,
    Payload(form): Payload<SecurityForm>,
) -> Response {
    let browser = match posted(&state, &headers, &form).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    let next = continue_to(form.continue_to.as_deref());
    match factors::confirm(&state, &browser.user, &form.id, &form.code).await {
        Ok(confirmed) => {
            let back = here(next.as_deref());
            match confirmed.recovery_codes {
                Some(codes) => codes_page(
                    &state,
                    &headers,
                    "Your authenticator app is set up.",
                    &codes,
                    &back,
                ),
                None => {
                    let said = Said {
                        notice: Some("Your authenticator app is set up."),
                        ..Said::default()
                    };
                    render_security(&state, &headers, &browser, next.as_deref(), said, vec![]).await
                }
            }
        }
        Err(AccountError::InvalidCode) => {
            match factors::pending_totp(&state, &browser.user, &form.id).await {
                Ok(enrolment) => enrol_page(
                    &state,
                    &headers,
                    &browser,
                    &enrolment,
                    &form,
                    Some("That code is not right: type the six digits the app shows now."),
                ),
                Err(e) => failed(&state, &headers, e),
            }
        }
        Err(e) => failed(&state, &headers, e),
    }
}

fn codes_page(
    state: &AppState,
    headers: &HeaderMap,
    lead: &str,
    codes: &[String],
    next: &str,
) -> Response {
    pages::render(
        state,
        headers,
        Page {
            template: "recovery_codes.html",
            title: "Your recovery codes",
            status: StatusCode::OK,
            data: minijinja::context! { lead => lead, codes => codes, next => next },
        },
        None,
    )
}

/// `POST /account/security/remove`.
pub async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    meta: ClientMeta,
    Payload(form): Payload<SecurityForm>,
) -> Response {
    let browser = match posted(&state, &headers, &form).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    let next = continue_to(form.continue_to.as_deref());
    let code = Some(form.code.as_str()).filter(|c| !c.trim().is_empty());
    let asker = Asker::Browser(&browser.sign_in);
    let said = match factors::remove(
        &state,
        &browser.user,
        asker,
        &form.id,
        code,
        meta.ip.as_deref(),
    )
    .await
    {
        Ok(()) => Said {
            notice: Some("The factor is removed."),
            ..Said::default()
        },
        Err(AccountError::SecondFactorRequired(_)) | Err(AccountError::InvalidCode) => Said {
            error: Some(
                "Type a code from your authenticator app (or a recovery code) to remove a factor.",
            ),
            ..Said::default()
        },
        Err(AccountError::NotAllowed(why)) => Said {
            error: Some(why),
            ..Said::default()
        },
        Err(e) => return failed(&state, &headers, e),
    };
    render_security(&state, &headers, &browser, next.as_deref(), said, vec![]).await
}

/// `POST /account/security/recovery-codes`: a new set, shown once.
pub async fn new_recovery_codes(
    State(state): State<AppState>,
    headers: HeaderMap,
    meta: ClientMeta,
    Payload(form): Payload<SecurityForm>,
) -> Response {
    let browser = match posted(&state, &headers, &form).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    let next = continue_to(form.continue_to.as_deref());
    let code = Some(form.code.as_str()).filter(|c| !c.trim().is_empty());
    let asker = Asker::Browser(&browser.sign_in);
    match factors::regenerate_recovery_codes(&state, &browser.user, asker, code, meta.ip.as_deref())
        .await
    {
        Ok(codes) => codes_page(
            &state,
            &headers,
            "New recovery codes: the old ones no longer work.",
            &codes,
            &here(next.as_deref()),
        ),
        Err(AccountError::SecondFactorRequired(_)) | Err(AccountError::InvalidCode) => {
            let said = Said {
                error: Some(
                    "Type a code from your authenticator app (or a recovery code) to make new recovery codes.",
                ),
                ..Said::default()
            };
            render_security(&state, &headers, &browser, next.as_deref(), said, vec![]).await
        }
        Err(e) => failed(&state, &headers, e),
    }
}

/// `GET /account/sign-in?continue=`: the account pages' own sign-in.
pub async fn sign_in_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let next = continue_to(query_value(query.as_deref(), "continue").as_deref())
        .unwrap_or_else(|| SECURITY.to_owned());
    account_sign_in(&state, &headers, &next, Said::default(), "")
}

fn account_sign_in(
    state: &AppState,
    headers: &HeaderMap,
    next: &str,
    said: Said<'_>,
    identifier: &str,
) -> Response {
    pages::render(
        state,
        headers,
        Page {
            template: "sign_in.html",
            title: "Sign in",
            status: said.status(),
            data: minijinja::context! {
                form_action => "/account/sign-in",
                hidden => [("continue", next)],
                error => said.error,
                notice => said.notice,
                identifier => identifier,
            },
        },
        None,
    )
}

fn second_step_page(
    state: &AppState,
    headers: &HeaderMap,
    next: &str,
    said: Said<'_>,
    cookies: Vec<HeaderValue>,
) -> Response {
    let mut page = pages::render(
        state,
        headers,
        Page {
            template: "second_step.html",
            title: "Two-step verification",
            status: said.status(),
            data: minijinja::context! {
                who => "Your account",
                form_action => "/account/sign-in",
                hidden => [("continue", next)],
                error => said.error,
                notice => said.notice,
            },
        },
        None,
    );
    for c in cookies {
        page.headers_mut().append(header::SET_COOKIE, c);
    }
    page
}

#[derive(Deserialize, Default)]
pub struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
    #[serde(rename = "continue", default)]
    continue_to: Option<String>,
}

/// `POST /account/sign-in`: the password, then (with a factor) the second step; then on to
/// `continue`.
pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    meta: ClientMeta,
    Payload(form): Payload<SignInForm>,
) -> Response {
    if cookies::from_another_site(&state, &headers) {
        return pages::message(
            &state,
            &headers,
            StatusCode::FORBIDDEN,
            "This form came from another site",
            &["Open this page on our own site and try again."],
            None,
        );
    }
    let next = continue_to(form.continue_to.as_deref()).unwrap_or_else(|| SECURITY.to_owned());
    let id = BrowserId::of(&state, &headers);
    let expired = Said {
        notice: Some(FORM_EXPIRED),
        expired: true,
        ..Said::default()
    };
    let current = match cookies::signed_in(&state, &headers).await {
        Ok(current) => current,
        Err(e) => return failed(&state, &headers, e),
    };
    if form.action == "second" {
        if cookies::check(&state, Binding::Browser(&id), Some(&form.csrf)) != Csrf::Valid {
            return second_step_page(&state, &headers, &next, expired, vec![]);
        }
        let Some(token) = cookies::read(&state, &headers, Cookie::Pending) else {
            let said = Said {
                notice: Some("Your sign-in waited too long for its code. Please sign in again."),
                ..Said::default()
            };
            return account_sign_in(&state, &headers, &next, said, "");
        };
        return match signin::finish_in_browser(&state, &token, &form.code, &meta, current.as_ref())
            .await
        {
            Ok((signed_in, _)) => {
                let mut set = cookies::hold_sign_in(&state, &signed_in);
                set.push(cookies::set(&state, Cookie::Pending, "", 0));
                see_other(&next, set)
            }
            Err(SignInError::InvalidCode) | Err(SignInError::TooManyAttempts { .. }) => {
                let said = Said {
                    error: Some(
                        "That code is not right. Type the newest code from the app, or a recovery code.",
                    ),
                    ..Said::default()
                };
                second_step_page(&state, &headers, &next, said, vec![])
            }
            Err(SignInError::InvalidChallenge) => {
                let said = Said {
                    notice: Some(
                        "Your sign-in waited too long for its code. Please sign in again.",
                    ),
                    ..Said::default()
                };
                account_sign_in(&state, &headers, &next, said, "")
            }
            Err(e) => failed(&state, &headers, e),
        };
    }
    if cookies::check(&state, Binding::Browser(&id), Some(&form.csrf)) != Csrf::Valid {
        return account_sign_in(&state, &headers, &next, expired, &form.username);
    }
    let wrong = |message| Said {
        error: Some(message),
        ..Said::default()
    };
    if limits::per_client(&state, "login", &meta).await.is_err() {
        return account_sign_in(
            &state,
            &headers,
            &next,
            wrong("Too many attempts. Please wait a minute and try again."),
            &form.username,
        );
    }
    let user = match signin::verify_credentials(
        &state,
        LoginIdentifier::parse(&form.username),
        &form.password,
        meta.ip.as_deref(),
    )
    .await
    {
        Ok(user) => user,
        Err(SignInError::Unexpected(cause)) => {
            return failed(&state, &headers, AccountError::Unexpected(cause));
        }
        Err(SignInError::InvalidCredentials) => {
            return account_sign_in(
                &state,
                &headers,
                &next,
                wrong("That email, phone or username and password do not match an account."),
                &form.username,
            );
        }
        Err(e) => {
            let message = e.to_string();
            let said = Said {
                error: Some(&message),
                ..Said::default()
            };
            return account_sign_in(&state, &headers, &next, said, &form.username);
        }
    };
    let factors = match signin::active_factors(&state, &user.id).await {
        Ok(factors) => factors,
        Err(e) => return failed(&state, &headers, e),
    };
    let proof = Proof::password(user, state.clock.now_naive());
    if !factors.is_empty() {
        return match signin::begin_second_step(&state, proof, factors, &meta).await {
            Ok(second) => {
                let cookie = cookies::hold_pending(&state, &second);
                second_step_page(&state, &headers, &next, Said::default(), vec![cookie])
            }
            Err(e) => failed(&state, &headers, e),
        };
    }
    match signin::complete_in_browser(&state, proof, &meta, current.as_ref()).await {
        Ok(signed_in) => see_other(&next, cookies::hold_sign_in(&state, &signed_in)),
        Err(e) => failed(&state, &headers, e),
    }
}
