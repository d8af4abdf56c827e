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
use crate::i18n::{self, Key, Text};
use crate::signin::{self, Answer, BrowserSignIn, ClientMeta, LoginIdentifier, SignInError, Step};
use crate::state::AppState;
use crate::t;

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
        t!("security-failed-title"),
        [t!("security-failed-body")],
        None,
    )
}

/// Where the security page's "Link ..." forms lead (the providers' own addresses), for its
/// CSP's `form-action`.
fn provider_origins(state: &AppState) -> String {
    state
        .config
        .upstream
        .iter()
        .filter_map(|p| {
            let at = match &p.kind {
                crate::config::UpstreamKind::Oidc { issuer } => issuer,
                crate::config::UpstreamKind::GitHub { web, .. } => web,
            };
            let origin = url::Url::parse(at).ok()?.origin().ascii_serialization();
            origin
                .chars()
                .all(|c| c.is_ascii_graphic() && c != ';' && c != ',')
                .then_some(origin)
        })
        .collect::<Vec<_>>()
        .join(" ")
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
    let lang = i18n::current(state.config.default_locale);
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
                kind => Text::from(if f.kind == "passkey" {
                    t!("security-kind-passkey")
                } else {
                    t!("security-kind-totp")
                }),
                pending => f.status == "pending",
                last_used => f.last_used_at.as_deref().map(|t| t.get(..10).unwrap_or(t)),
            }
        })
        .collect();
    let identities = match crate::accounts::identities::list(state, &browser.user).await {
        Ok(identities) => identities,
        Err(e) => return failed(state, headers, e),
    };
    let providers: Vec<_> = state
        .config
        .upstream
        .iter()
        .map(|p| {
            minijinja::context! {
                id => p.id,
                name => p.name,
                linked => identities.iter().any(|i| i.provider == p.id),
            }
        })
        .collect();
    let identities: Vec<_> = identities
        .iter()
        .map(|i| {
            minijinja::context! {
                id => i.id,
                provider_name => i.provider_name,
                email => i.email,
                last_used => i.last_used_at.as_deref().map(|t| t.get(..10).unwrap_or(t)),
            }
        })
        .collect();
    let activity = match crate::accounts::audit::activity(
        state,
        &browser.user,
        crate::i18n::current(state.config.default_locale),
    )
    .await
    {
        Ok(activity) => activity,
        Err(e) => return failed(state, headers, e),
    };
    let activity: Vec<_> = activity
        .iter()
        .take(10)
        .map(|a| {
            minijinja::context! {
                what => a.what,
                // "2026-12-06T02:30:49Z" as "2026-12-06 02:30 UTC".
                at => format!("{} {} UTC", a.at.get(..10).unwrap_or(&a.at), a.at.get(11..16).unwrap_or("")),
                device => a.device,
                ip => a.ip,
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
            title: t!("security-title"),
            status: said.status(),
            data: minijinja::context! {
                who => user
                    .email
                    .clone()
                    .or_else(|| user.username.clone())
                    .unwrap_or_else(|| t!("security-your-account").in_(lang)),
                factors => items,
                codes_left => listed.recovery_codes_left,
                // A change that weakens the account needs a recent second factor: its code,
                // unless this sign-in proved one in the last 5 minutes.
                needs_code => !recent,
                passkeys => state.passkeys.is_some(),
                providers => providers,
                identities => identities,
                activity => activity,
                continue_to => next,
                error => said.error,
                notice => said.notice,
                csrf => cookies::mint(state, Binding::SignIn(&browser.sign_in)),
            },
        },
        Some(&provider_origins(state))
            .filter(|o| !o.is_empty())
            .map(String::as_str),
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
    /// A factor's (new) name.
    #[serde(default)]
    name: String,
    /// A passkey's registration (JSON), filled in by the page's script.
    #[serde(default)]
    credential: String,
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
            t!("security-foreign-form-title"),
            [t!("security-foreign-form-body")],
            None,
        ));
    }
    let next = continue_to(form.continue_to.as_deref());
    let browser = signed_in_or_sign_in(state, headers, &here(next.as_deref())).await?;
    if cookies::check(state, Binding::SignIn(&browser.sign_in), Some(&form.csrf)) != Csrf::Valid {
        let said = Said {
            notice: Some(FORM_EXPIRED.into()),
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
    error: Option<Key>,
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
            title: t!("security-add-totp"),
            status: if error.is_some() {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::OK
            },
            data: minijinja::context! {
                qr => qr,
                secret_grouped => grouped.join(" "),
                id => enrolment.id,
                error => error.map(Text::from),
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
                Some(codes) => {
                    codes_page(&state, &headers, t!("security-totp-set-up"), &codes, &back)
                }
                None => {
                    let said = Said {
                        notice: Some(t!("security-totp-set-up").into()),
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
                    Some(t!("security-totp-wrong-code")),
                ),
                Err(e) => failed(&state, &headers, e),
            }
        }
        Err(e) => failed(&state, &headers, e),
    }
}

/// `POST /account/security/passkey`: the page that makes a passkey (its script answers the
/// registration's options).
pub async fn add_passkey(
    State(state): State<AppState>,
    headers: HeaderMap,
    Payload(form): Payload<SecurityForm>,
) -> Response {
    let browser = match posted(&state, &headers, &form).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    let name = Some(form.name.as_str()).filter(|n| !n.trim().is_empty());
    match factors::enrol_passkey(&state, &browser.user, name).await {
        Ok(enrolment) => passkey_page(&state, &headers, &browser, &enrolment, &form, None),
        Err(AccountError::Invalid(_, why)) => {
            let said = Said {
                error: Some(pages::flow_message(&why)),
                ..Said::default()
            };
            let next = continue_to(form.continue_to.as_deref());
            render_security(&state, &headers, &browser, next.as_deref(), said, vec![]).await
        }
        Err(e) => failed(&state, &headers, e),
    }
}

fn passkey_page(
    state: &AppState,
    headers: &HeaderMap,
    browser: &BrowserSignIn,
    enrolment: &factors::PasskeyEnrolment,
    form: &SecurityForm,
    error: Option<Key>,
) -> Response {
    pages::render(
        state,
        headers,
        Page {
            template: "enrol_passkey.html",
            title: t!("security-add-passkey"),
            status: if error.is_some() {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::OK
            },
            data: minijinja::context! {
                options => enrolment.options.to_string(),
                id => enrolment.id,
                error => error.map(Text::from),
                continue_to => continue_to(form.continue_to.as_deref()),
                csrf => cookies::mint(state, Binding::SignIn(&browser.sign_in)),
            },
        },
        None,
    )
}

/// `POST /account/security/passkey/confirm`: the browser's answer registers the passkey. The
/// account's first factor shows its recovery codes, once.
pub async fn confirm_passkey(
    State(state): State<AppState>,
    headers: HeaderMap,
    Payload(form): Payload<SecurityForm>,
) -> Response {
    let browser = match posted(&state, &headers, &form).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    let next = continue_to(form.continue_to.as_deref());
    let answer = serde_json::from_str(&form.credential).unwrap_or(serde_json::Value::Null);
    match factors::confirm_passkey(&state, &browser.user, &form.id, &answer).await {
        Ok(confirmed) => {
            let done = t!("security-passkey-set-up");
            match confirmed.recovery_codes {
                Some(codes) => codes_page(&state, &headers, done, &codes, &here(next.as_deref())),
                None => {
                    let said = Said {
                        notice: Some(done.into()),
                        ..Said::default()
                    };
                    render_security(&state, &headers, &browser, next.as_deref(), said, vec![]).await
                }
            }
        }
        Err(e @ (AccountError::Invalid(..) | AccountError::PasskeyRefused)) => {
            let why = match e {
                AccountError::PasskeyRefused => t!("security-passkey-not-checked"),
                _ => t!("security-passkey-not-made"),
            };
            match factors::pending_passkey(&state, &browser.user, &form.id).await {
                Ok(enrolment) => {
                    passkey_page(&state, &headers, &browser, &enrolment, &form, Some(why))
                }
                Err(e) => failed(&state, &headers, e),
            }
        }
        Err(AccountError::InUse(why)) => {
            let said = Said {
                error: Some(pages::flow_message(why)),
                ..Said::default()
            };
            render_security(&state, &headers, &browser, next.as_deref(), said, vec![]).await
        }
        Err(AccountError::PasskeyExpired) => {
            let said = Said {
                error: Some(t!("security-passkey-too-slow").into()),
                ..Said::default()
            };
            render_security(&state, &headers, &browser, next.as_deref(), said, vec![]).await
        }
        Err(e) => failed(&state, &headers, e),
    }
}

/// `POST /account/security/rename`: a factor's new name.
pub async fn rename(
    State(state): State<AppState>,
    headers: HeaderMap,
    Payload(form): Payload<SecurityForm>,
) -> Response {
    let browser = match posted(&state, &headers, &form).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    let next = continue_to(form.continue_to.as_deref());
    let said = match factors::rename(&state, &browser.user, &form.id, &form.name).await {
        Ok(()) => Said {
            notice: Some(t!("security-renamed").into()),
            ..Said::default()
        },
        Err(AccountError::Invalid(_, why)) => Said {
            error: Some(pages::flow_message(&why)),
            ..Said::default()
        },
        Err(e) => return failed(&state, &headers, e),
    };
    render_security(&state, &headers, &browser, next.as_deref(), said, vec![]).await
}

fn codes_page(
    state: &AppState,
    headers: &HeaderMap,
    lead: Key,
    codes: &[String],
    next: &str,
) -> Response {
    pages::render(
        state,
        headers,
        Page {
            template: "recovery_codes.html",
            title: t!("recovery-codes-title"),
            status: StatusCode::OK,
            data: minijinja::context! { lead => Text::from(lead), codes => codes, next => next },
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
            notice: Some(t!("security-removed").into()),
            ..Said::default()
        },
        Err(AccountError::SecondFactorRequired(_)) | Err(AccountError::InvalidCode) => Said {
            error: Some(t!("security-code-to-remove").into()),
            ..Said::default()
        },
        Err(AccountError::NotAllowed(why)) => Said {
            error: Some(pages::flow_message(why)),
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
            t!("recovery-codes-new"),
            &codes,
            &here(next.as_deref()),
        ),
        Err(AccountError::SecondFactorRequired(_)) | Err(AccountError::InvalidCode) => {
            let said = Said {
                error: Some(t!("security-code-for-new-codes").into()),
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
            title: t!("sign-in"),
            status: said.status(),
            data: minijinja::context! {
                form_action => "/account/sign-in",
                hidden => [("continue", next)],
                error => said.error,
                notice => said.notice,
                identifier => identifier,
                passkey => super::authorize::passkey_ceremony(state),
                upstream => super::upstream::buttons(
                    state,
                    &crate::signin::upstream::Return::Account(next.to_owned()),
                ),
            },
        },
        None,
    )
}

/// The second step on the account pages' sign-in, then on to `next`: also where a sign-in
/// through another provider asks for the account's second factor.
pub(super) async fn second_step_for(
    state: &AppState,
    headers: &HeaderMap,
    next: &str,
    said: Said<'_>,
    cookies: Vec<HeaderValue>,
) -> Response {
    let target = target_of(state, next).await;
    second_step_page(state, headers, next, target.as_deref(), said, cookies)
}

/// The CSP form target a form that goes on to `next` needs: the client's, when `next` is an
/// authorization request (its redirect back is part of the form's navigation).
async fn target_of(state: &AppState, next: &str) -> Option<String> {
    let query = next.strip_prefix("/oauth/authorize?")?;
    super::authorize::form_target_of(state, query).await
}

fn second_step_page(
    state: &AppState,
    headers: &HeaderMap,
    next: &str,
    target: Option<&str>,
    said: Said<'_>,
    cookies: Vec<HeaderValue>,
) -> Response {
    let mut page = pages::render(
        state,
        headers,
        Page {
            template: "second_step.html",
            title: t!("second-step-title"),
            status: said.status(),
            data: minijinja::context! {
                who => Text::from(t!("security-second-step-your-account")),
                form_action => "/account/sign-in",
                hidden => [("continue", next)],
                error => said.error,
                notice => said.notice,
                passkey => said.passkey.map(|options| options.to_string()),
            },
        },
        target,
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
    /// A passkey's answer (JSON), filled in by the page's script.
    #[serde(default)]
    credential: String,
    /// The sign-in page's sealed passkey ceremony.
    #[serde(default)]
    passkey_state: String,
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
            t!("security-foreign-form-title"),
            [t!("security-foreign-form-body")],
            None,
        );
    }
    let next = continue_to(form.continue_to.as_deref()).unwrap_or_else(|| SECURITY.to_owned());
    let id = BrowserId::of(&state, &headers);
    let expired = Said {
        notice: Some(FORM_EXPIRED.into()),
        expired: true,
        ..Said::default()
    };
    let current = match cookies::signed_in(&state, &headers).await {
        Ok(current) => current,
        Err(e) => return failed(&state, &headers, e),
    };
    if form.action == "second" {
        return second_step(&state, &headers, &meta, &form, &next, &id, current.as_ref()).await;
    }
    if cookies::check(&state, Binding::Browser(&id), Some(&form.csrf)) != Csrf::Valid {
        return account_sign_in(&state, &headers, &next, expired, &form.username);
    }
    let wrong = |message: Text| Said {
        error: Some(message),
        ..Said::default()
    };
    if limits::per_client(&state, "login", &meta).await.is_err() {
        return account_sign_in(
            &state,
            &headers,
            &next,
            wrong(t!("security-too-many-attempts").into()),
            &form.username,
        );
    }
    let step = if form.action == "passkey" {
        signin::browser::with_passkey(
            &state,
            &form.passkey_state,
            &form.credential,
            &meta,
            current.as_ref(),
        )
        .await
        .map(Step::Done)
    } else {
        signin::browser::with_password(
            &state,
            LoginIdentifier::parse(&form.username),
            &form.password,
            &meta,
            current.as_ref(),
        )
        .await
    };
    match step {
        Ok(Step::Done(signed_in)) => see_other(&next, cookies::hold_sign_in(&state, &signed_in)),
        Ok(Step::Second(second)) => {
            let cookie = cookies::hold_pending(&state, &second);
            let said = Said {
                passkey: second.passkey_options.as_ref(),
                ..Said::default()
            };
            let target = target_of(&state, &next).await;
            second_step_page(
                &state,
                &headers,
                &next,
                target.as_deref(),
                said,
                vec![cookie],
            )
        }
        Err(SignInError::Unexpected(cause)) => {
            failed(&state, &headers, AccountError::Unexpected(cause))
        }
        Err(SignInError::InvalidCredentials) => account_sign_in(
            &state,
            &headers,
            &next,
            wrong(t!("security-sign-in-no-match").into()),
            &form.username,
        ),
        Err(SignInError::PasskeyRefused) => account_sign_in(
            &state,
            &headers,
            &next,
            wrong(t!("security-sign-in-passkey-refused").into()),
            "",
        ),
        Err(SignInError::PasskeyExpired) => account_sign_in(
            &state,
            &headers,
            &next,
            wrong(t!("security-sign-in-passkey-too-slow").into()),
            "",
        ),
        Err(e) => {
            let message = pages::flow_message(&e.to_string());
            account_sign_in(&state, &headers, &next, wrong(message), &form.username)
        }
    }
}

/// The second step's form: a code, or a passkey's answer, completes the pending sign-in the
/// browser's pending cookie names.
async fn second_step(
    state: &AppState,
    headers: &HeaderMap,
    meta: &ClientMeta,
    form: &SignInForm,
    next: &str,
    id: &BrowserId,
    current: Option<&BrowserSignIn>,
) -> Response {
    let too_long = Said {
        notice: Some(t!("security-sign-in-too-long").into()),
        ..Said::default()
    };
    let Some(token) = cookies::read(state, headers, Cookie::Pending) else {
        return account_sign_in(state, headers, next, too_long, "");
    };
    let passkey = match signin::pending(state, &token).await {
        Ok(found) => found.and_then(|(_, row)| signin::passkey_options(&row)),
        Err(e) => return failed(state, headers, e),
    };
    let target = target_of(state, next).await;
    let again = |said: Said<'_>| {
        let said = Said {
            passkey: passkey.as_ref(),
            ..said
        };
        second_step_page(state, headers, next, target.as_deref(), said, vec![])
    };
    if cookies::check(state, Binding::Browser(id), Some(&form.csrf)) != Csrf::Valid {
        return again(Said {
            notice: Some(FORM_EXPIRED.into()),
            expired: true,
            ..Said::default()
        });
    }
    let finished = match Answer::from_form(&form.code, &form.credential) {
        Ok(answer) => signin::finish_in_browser(state, &token, answer, meta, current).await,
        Err(e) => Err(e),
    };
    match finished {
        Ok((signed_in, _)) => {
            let mut set = cookies::hold_sign_in(state, &signed_in);
            set.push(cookies::set(state, Cookie::Pending, "", 0));
            see_other(next, set)
        }
        Err(SignInError::InvalidCode) | Err(SignInError::TooManyAttempts { .. }) => again(Said {
            error: Some(t!("security-sign-in-wrong-code").into()),
            ..Said::default()
        }),
        Err(SignInError::PasskeyRefused) => again(Said {
            error: Some(t!("security-sign-in-passkey-not-accepted").into()),
            ..Said::default()
        }),
        Err(SignInError::InvalidChallenge) => account_sign_in(state, headers, next, too_long, ""),
        Err(e) => failed(state, headers, e),
    }
}
