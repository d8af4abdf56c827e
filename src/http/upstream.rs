//! "Continue with ...": the round trip to an upstream provider and back, the page that asks a
//! person to prove the account an identity would join, and the identities on the account
//! pages and in the account API. The flows are `signin::upstream` (the provider) and
//! `accounts::identities` (the linking rules); every failure ends on a page with a way back,
//! or, for a frontend's round trip, back at the frontend with `upstream_error`.

use axum::Json;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::authorize::Said;
use super::cookies::{self, Binding, BrowserId, Csrf};
use super::extract::{AuthUser, IdPath, Payload};
use super::pages::{self, Link, Page};
use crate::accounts::identities::{self, IdentityView, Refusal, Resolved};
use crate::accounts::{self, limits};
use crate::config::UpstreamProvider;
use crate::error::ApiError;
use crate::i18n::{self, Text};
use crate::signin::upstream::{self, Callback, Intent, Return, UpstreamError};
use crate::signin::{self, BrowserSignIn, ClientMeta, Proof, Step};
use crate::state::AppState;
use crate::t;

fn provider<'a>(state: &'a AppState, id: &str) -> Option<&'a UpstreamProvider> {
    state.config.upstream.iter().find(|p| p.id == id)
}

fn see_other(to: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for c in cookies {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

/// Where a page's "way back" leads for `back`.
fn way_back(back: Option<&Return>) -> Link {
    match back {
        Some(Return::Authorize(query)) => Link {
            href: format!("/oauth/authorize?{query}"),
            text: t!("upstream-back-to-sign-in"),
        },
        Some(Return::Account(path)) => Link {
            href: path.clone(),
            text: t!("upstream-back"),
        },
        _ => Link {
            href: "/account/sign-in".into(),
            text: t!("sign-in"),
        },
    }
}

fn said_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    what: impl Into<Text>,
    back: Option<&Return>,
) -> Response {
    pages::message(
        state,
        headers,
        status,
        t!("upstream-stopped-title"),
        [what.into()],
        Some(way_back(back)),
    )
}

/// The page for a failed round trip: what went wrong, said plainly, and the way back.
fn failed(state: &AppState, headers: &HeaderMap, e: UpstreamError, name: &str) -> Response {
    let (status, what) = said_of(&e, name);
    said_page(state, headers, status, what, None)
}

/// A frontend's round trip that ended without a sign-in: back to its page with
/// `upstream_error` (an OAuth error word) and `error_description` (the sentence a page would
/// show, in the person's language).
fn frontend_failed(state: &AppState, url: &str, error: &str, description: &Text) -> Response {
    let mut to = url::Url::parse(url).expect("checked at start");
    to.query_pairs_mut()
        .append_pair("upstream_error", error)
        .append_pair(
            "error_description",
            &description.in_(i18n::current(state.config.default_locale)),
        );
    see_other(to.as_str(), vec![])
}

/// The status and sentence for a failed round trip (logged where an operator should know).
fn said_of(e: &UpstreamError, name: &str) -> (StatusCode, Text) {
    match e {
        UpstreamError::UnknownProvider => (
            StatusCode::NOT_FOUND,
            t!("upstream-unknown-provider").into(),
        ),
        UpstreamError::Unavailable(cause) => {
            tracing::warn!(
                provider = name,
                cause,
                "an upstream provider is unavailable"
            );
            (
                StatusCode::FAILED_DEPENDENCY,
                Text::new(t!("upstream-unavailable")).arg("provider", name),
            )
        }
        UpstreamError::Expired => (
            StatusCode::BAD_REQUEST,
            Text::new(t!("upstream-expired")).arg("provider", name),
        ),
        UpstreamError::OtherBrowser => (
            StatusCode::FORBIDDEN,
            Text::new(t!("upstream-other-browser")).arg("provider", name),
        ),
        UpstreamError::Refused(why) => (
            StatusCode::BAD_REQUEST,
            Text::new(t!("upstream-refused"))
                .arg("provider", name)
                .arg("why", why),
        ),
        UpstreamError::Invalid(why) => {
            tracing::warn!(provider = name, why, "an upstream answer did not verify");
            (
                StatusCode::BAD_REQUEST,
                Text::new(t!("upstream-invalid")).arg("provider", name),
            )
        }
        UpstreamError::Unexpected(cause) => {
            tracing::error!(error = ?cause, "an upstream sign-in failed");
            if crate::storage::StorageError::is_unavailable(cause) {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    t!("upstream-service-unavailable").into(),
                )
            } else {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    t!("upstream-went-wrong").into(),
                )
            }
        }
    }
}

/// The "Continue with ..." buttons of a sign-in or sign-up page that returns to `back`.
pub(super) fn buttons(state: &AppState, back: &Return) -> Vec<minijinja::Value> {
    let query = match back {
        Return::Authorize(request) => ("oauth_request", request.as_str()),
        Return::Account(path) | Return::Frontend(path) => ("continue", path.as_str()),
    };
    state
        .config
        .upstream
        .iter()
        .map(|p| {
            let href = format!(
                "/oauth/upstream/{}/start?{}",
                p.id,
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair(query.0, query.1)
                    .finish()
            );
            minijinja::context! { name => p.name, href => href }
        })
        .collect()
}

#[derive(Deserialize, Default)]
pub struct StartQuery {
    oauth_request: Option<String>,
    #[serde(rename = "continue")]
    continue_to: Option<String>,
    redirect_to: Option<String>,
}

/// `GET /oauth/upstream/{id}/start`: from a sign-in page, on to the provider; back to the
/// authorization request (`oauth_request`) or an account page (`continue`).
pub async fn start_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<StartQuery>,
) -> Response {
    let back = match (&query.oauth_request, &query.continue_to) {
        (Some(request), _) => Return::Authorize(request.clone()),
        (None, Some(to)) if accounts::is_authorize_path(to) => {
            Return::Authorize(to.split_once('?').map_or("", |(_, q)| q).to_owned())
        }
        (None, Some(to))
            if to.starts_with("/account/") && !to.starts_with("//") && !to.contains('\\') =>
        {
            Return::Account(to.clone())
        }
        _ => Return::Account("/account/security".into()),
    };
    start(&state, &headers, &id, Intent::SignIn(back)).await
}

/// `GET /api/auth/upstream/{id}/start?redirect_to=`: a frontend's button. The browser comes
/// back to `redirect_to` (under `AUTHD_FRONTEND_URL` or an `AUTHD_CORS_ORIGINS` origin) with
/// `upstream_code`, or `upstream_error` and `error_description`.
pub async fn start_for_frontend(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<StartQuery>,
) -> Response {
    let Some(back) = query
        .redirect_to
        .as_deref()
        .and_then(|to| identities::frontend_return(&state, to))
    else {
        return said_page(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            t!("upstream-bad-redirect"),
            None,
        );
    };
    start(
        &state,
        &headers,
        &id,
        Intent::SignIn(Return::Frontend(back)),
    )
    .await
}

async fn start(state: &AppState, headers: &HeaderMap, id: &str, intent: Intent) -> Response {
    let Some(provider) = provider(state, id) else {
        return failed(state, headers, UpstreamError::UnknownProvider, id);
    };
    let browser = BrowserId::of(state, headers);
    let frontend = match &intent {
        Intent::SignIn(Return::Frontend(url)) => Some(url.clone()),
        _ => None,
    };
    match state
        .upstream
        .start(state, provider, &browser.hash(), intent)
        .await
    {
        Ok(url) => see_other(&url, vec![browser.cookie]),
        Err(e) => match frontend {
            Some(url) => {
                let (_, what) = said_of(&e, &provider.name);
                frontend_failed(state, &url, e.code(), &what)
            }
            None => failed(state, headers, e, &provider.name),
        },
    }
}

/// `GET /oauth/upstream/{id}/callback`: the provider's answer.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    meta: ClientMeta,
    Path(id): Path<String>,
    Query(answer): Query<Callback>,
) -> Response {
    let Some(provider) = provider(&state, &id) else {
        return failed(&state, &headers, UpstreamError::UnknownProvider, &id);
    };
    let browser = BrowserId::of(&state, &headers);
    let (asserted, intent) = match state
        .upstream
        .finish(&state, provider, &answer, &browser.hash())
        .await
    {
        Ok(finished) => finished,
        Err(upstream::Failed {
            error,
            intent: Some(Intent::SignIn(Return::Frontend(url))),
        }) => {
            let (_, what) = said_of(&error, &provider.name);
            return frontend_failed(&state, &url, error.code(), &what);
        }
        Err(upstream::Failed { error, .. }) => {
            return failed(&state, &headers, error, &provider.name);
        }
    };
    let back = match &intent {
        Intent::SignIn(back) => Some(back.clone()),
        Intent::Link { .. } => None,
    };
    if let Intent::Link { user_id, .. } = &intent {
        // Linking is for the person still signed in here.
        let still = matches!(cookies::signed_in(&state, &headers).await, Ok(Some(b)) if &b.user.id == user_id);
        if !still {
            return said_page(
                &state,
                &headers,
                StatusCode::FORBIDDEN,
                t!("upstream-link-ended"),
                None,
            );
        }
    }
    let resolved = identities::resolve(&state, provider, asserted, intent, &browser.hash()).await;
    match resolved {
        Ok(Resolved::SignIn { user, methods }) => {
            let proof = Proof::federated(user, methods, state.clock.now_naive());
            signed_in(
                &state,
                &headers,
                &meta,
                proof,
                back.unwrap_or(Return::Account("/account/security".into())),
            )
            .await
        }
        Ok(Resolved::Linked { back, .. }) => see_other(&back, vec![]),
        Ok(Resolved::Prove { token }) => {
            prove_page(&state, &headers, token.expose(), None, StatusCode::OK).await
        }
        Err(Refusal::Said(what)) => match &back {
            Some(Return::Frontend(url)) => frontend_failed(&state, url, "access_denied", &what),
            _ => said_page(&state, &headers, StatusCode::FORBIDDEN, what, back.as_ref()),
        },
        Err(Refusal::WrongPassword) => match &back {
            Some(Return::Frontend(url)) => frontend_failed(
                &state,
                url,
                "access_denied",
                &t!("link-wrong-password").into(),
            ),
            _ => said_page(
                &state,
                &headers,
                StatusCode::FORBIDDEN,
                t!("link-wrong-password"),
                back.as_ref(),
            ),
        },
        Err(Refusal::Failed(e)) => account_failed(&state, &headers, e),
    }
}

fn account_failed(state: &AppState, headers: &HeaderMap, e: accounts::AccountError) -> Response {
    let status = ApiError::from(e).status();
    said_page(
        state,
        headers,
        status,
        t!("upstream-could-not-finish"),
        None,
    )
}

/// A proof (the provider's word, with a password that linked it) signs the browser in, or
/// asks for the account's second factor; a frontend gets a one-time code instead.
async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    meta: &ClientMeta,
    proof: Proof,
    back: Return,
) -> Response {
    if let Return::Frontend(url) = &back {
        let methods = proof_methods(&proof);
        return match identities::login_code(state, proof.user(), &methods).await {
            Ok(code) => {
                let mut to = url::Url::parse(url).expect("checked at start");
                to.query_pairs_mut()
                    .append_pair("upstream_code", code.expose());
                see_other(to.as_str(), vec![])
            }
            Err(e) => {
                tracing::error!(error = ?e, "a frontend's upstream sign-in could not finish");
                frontend_failed(
                    state,
                    url,
                    "temporarily_unavailable",
                    &t!("upstream-could-not-finish").into(),
                )
            }
        };
    }
    let next = match &back {
        Return::Authorize(query) => format!("/oauth/authorize?{query}"),
        Return::Account(path) => path.clone(),
        Return::Frontend(_) => unreachable!("answered above"),
    };
    let current = cookies::signed_in(state, headers).await.ok().flatten();
    match signin::browser::with_proof(state, proof, meta, current.as_ref()).await {
        Ok(Step::Done(browser)) => see_other(&next, cookies::hold_sign_in(state, &browser)),
        Ok(Step::Second(second)) => {
            let cookie = cookies::hold_pending(state, &second);
            let said = Said {
                passkey: second.passkey_options.as_ref(),
                ..Said::default()
            };
            super::account_security::second_step_for(state, headers, &next, said, vec![cookie])
                .await
        }
        Err(e) => account_failed(state, headers, e.into()),
    }
}

fn proof_methods(proof: &Proof) -> crate::domain::Methods {
    proof.methods().clone()
}

/// The page that asks for the proof of the account an identity would join.
async fn prove_page(
    state: &AppState,
    headers: &HeaderMap,
    token: &str,
    said: Option<Said<'_>>,
    status: StatusCode,
) -> Response {
    let browser = BrowserId::of(state, headers);
    let pending = match identities::link_to_prove(state, token, &browser.hash()).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return said_page(
                state,
                headers,
                StatusCode::BAD_REQUEST,
                t!("upstream-link-request-gone"),
                None,
            );
        }
        Err(e) => return account_failed(state, headers, e),
    };
    let said = said.unwrap_or_default();
    let target = match &pending.back {
        Return::Authorize(query) => super::authorize::form_target_of(state, query).await,
        _ => None,
    };
    pages::render(
        state,
        headers,
        Page {
            template: "link_account.html",
            title: t!("link-title"),
            status: if said.error.is_some() {
                StatusCode::UNAUTHORIZED
            } else {
                status
            },
            data: minijinja::context! {
                provider => pending.provider,
                email => pending.email,
                has_password => pending.has_password,
                link => token,
                error => said.error,
                notice => said.notice,
            },
        },
        target.as_deref(),
    )
}

#[derive(Deserialize, Default)]
pub struct LinkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    link: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    token: String,
}

fn posted_here(
    state: &AppState,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<BrowserId, Box<Response>> {
    if cookies::from_another_site(state, headers) {
        return Err(Box::new(said_page(
            state,
            headers,
            StatusCode::FORBIDDEN,
            t!("upstream-foreign-form"),
            None,
        )));
    }
    let browser = BrowserId::of(state, headers);
    if cookies::check(state, Binding::Browser(&browser), Some(csrf)) != Csrf::Valid {
        return Err(Box::new(said_page(
            state,
            headers,
            StatusCode::FORBIDDEN,
            t!("upstream-form-expired"),
            None,
        )));
    }
    Ok(browser)
}

/// `POST /account/link`: the account's password proves it; the identity joins it, and the
/// browser is signed in.
pub async fn link_by_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    meta: ClientMeta,
    Payload(form): Payload<LinkForm>,
) -> Response {
    let browser = match posted_here(&state, &headers, &form.csrf) {
        Ok(b) => b,
        Err(page) => return *page,
    };
    if limits::per_client(&state, "login", &meta).await.is_err() {
        let said = Said {
            error: Some(t!("security-too-many-attempts").into()),
            ..Said::default()
        };
        return prove_page(
            &state,
            &headers,
            &form.link,
            Some(said),
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
    }
    let proved = identities::prove_by_password(
        &state,
        &form.link,
        &form.password,
        &browser.hash(),
        meta.ip.as_deref(),
    )
    .await;
    finish_proof(&state, &headers, &meta, proved, Some(&form.link)).await
}

async fn finish_proof(
    state: &AppState,
    headers: &HeaderMap,
    meta: &ClientMeta,
    proved: Result<identities::Proved, Refusal>,
    link: Option<&str>,
) -> Response {
    match proved {
        Ok(proved) => {
            let proof = Proof::federated(proved.user, proved.methods, state.clock.now_naive());
            signed_in(state, headers, meta, proof, proved.back).await
        }
        Err(Refusal::WrongPassword) => match link {
            Some(link) => {
                let said = Said {
                    error: Some(t!("link-wrong-password").into()),
                    ..Said::default()
                };
                prove_page(state, headers, link, Some(said), StatusCode::UNAUTHORIZED).await
            }
            None => said_page(
                state,
                headers,
                StatusCode::BAD_REQUEST,
                t!("link-wrong-password"),
                None,
            ),
        },
        Err(Refusal::Said(what)) => said_page(state, headers, StatusCode::BAD_REQUEST, what, None),
        Err(Refusal::Failed(e)) => account_failed(state, headers, e),
    }
}

/// `POST /account/link/email`: a link to the account's address proves it instead.
pub async fn link_by_email(
    State(state): State<AppState>,
    headers: HeaderMap,
    Payload(form): Payload<LinkForm>,
) -> Response {
    let browser = match posted_here(&state, &headers, &form.csrf) {
        Ok(b) => b,
        Err(page) => return *page,
    };
    match identities::prove_by_email(&state, &form.link, &browser.hash()).await {
        Ok(()) => {
            let said = Said {
                notice: Some(t!("link-email-sent").into()),
                ..Said::default()
            };
            prove_page(&state, &headers, &form.link, Some(said), StatusCode::OK).await
        }
        Err(Refusal::Said(what)) => {
            said_page(&state, &headers, StatusCode::BAD_REQUEST, what, None)
        }
        Err(Refusal::WrongPassword) => said_page(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            t!("link-wrong-password"),
            None,
        ),
        Err(Refusal::Failed(e)) => account_failed(&state, &headers, e),
    }
}

/// `GET /account/link/confirm?token=`: the mailed link; a button confirms (a mail scanner
/// opening the link links nothing).
pub async fn confirm_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let token = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let target = match identities::mailed_link_back(&state, &token).await {
        Some(Return::Authorize(query)) => super::authorize::form_target_of(&state, &query).await,
        _ => None,
    };
    pages::render(
        &state,
        &headers,
        Page {
            template: "link_confirm.html",
            title: t!("link-confirm-title"),
            status: StatusCode::OK,
            data: minijinja::context! { token => token },
        },
        target.as_deref(),
    )
}

/// `POST /account/link/confirm`: the mailed link's button.
pub async fn confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    meta: ClientMeta,
    Payload(form): Payload<LinkForm>,
) -> Response {
    let browser = match posted_here(&state, &headers, &form.csrf) {
        Ok(b) => b,
        Err(page) => return *page,
    };
    let proved = identities::prove_by_mailed_link(&state, &form.token, &browser.hash()).await;
    finish_proof(&state, &headers, &meta, proved, None).await
}

#[derive(Deserialize, Default)]
pub struct IdentityForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    provider: String,
    #[serde(default)]
    id: String,
}

async fn signed_in_here(
    state: &AppState,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<BrowserSignIn, Response> {
    if cookies::from_another_site(state, headers) {
        return Err(said_page(
            state,
            headers,
            StatusCode::FORBIDDEN,
            t!("upstream-foreign-form"),
            None,
        ));
    }
    let browser = match cookies::signed_in(state, headers).await {
        Ok(Some(b)) => b,
        Ok(None) => {
            return Err(see_other(
                "/account/sign-in?continue=%2Faccount%2Fsecurity",
                vec![],
            ));
        }
        Err(e) => return Err(account_failed(state, headers, e.into())),
    };
    if cookies::check(state, Binding::SignIn(&browser.sign_in), Some(csrf)) != Csrf::Valid {
        return Err(said_page(
            state,
            headers,
            StatusCode::FORBIDDEN,
            t!("upstream-form-expired"),
            None,
        ));
    }
    Ok(browser)
}

/// `POST /account/identities/link`: the signed-in person links another provider.
pub async fn link_from_account(
    State(state): State<AppState>,
    headers: HeaderMap,
    Payload(form): Payload<IdentityForm>,
) -> Response {
    let browser = match signed_in_here(&state, &headers, &form.csrf).await {
        Ok(b) => b,
        Err(page) => return page,
    };
    let intent = Intent::Link {
        user_id: browser.user.id.clone(),
        back: "/account/security".into(),
    };
    start(&state, &headers, &form.provider, intent).await
}

/// `POST /account/identities/unlink`.
pub async fn unlink_from_account(
    State(state): State<AppState>,
    headers: HeaderMap,
    Payload(form): Payload<IdentityForm>,
) -> Response {
    let browser = match signed_in_here(&state, &headers, &form.csrf).await {
        Ok(b) => b,
        Err(page) => return page,
    };
    match identities::unlink(&state, &browser.user, &form.id).await {
        Ok(()) => see_other("/account/security", vec![]),
        Err(accounts::AccountError::InUse(why)) => said_page(
            &state,
            &headers,
            StatusCode::CONFLICT,
            pages::flow_message(why),
            Some(&Return::Account("/account/security".into())),
        ),
        Err(e) => account_failed(&state, &headers, e),
    }
}

/// `GET /api/users/me/identities`.
pub async fn list(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<Json<Vec<IdentityView>>, ApiError> {
    Ok(Json(identities::list(&state, &auth.user).await?))
}

/// `DELETE /api/users/me/identities/{id}`.
pub async fn unlink(
    State(state): State<AppState>,
    auth: AuthUser,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    identities::unlink(&state, &auth.user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(examples(json!({"code": "<upstream_code from the redirect>"})))]
pub struct ExchangeRequest {
    /// The `upstream_code` authd added to `redirect_to`.
    #[schema(required = true)]
    pub code: Option<String>,
    #[serde(alias = "deviceId")]
    pub device_id: Option<String>,
}

/// `POST /api/auth/upstream/exchange`: the frontend's one-time code for the login's answer.
pub async fn exchange(
    State(state): State<AppState>,
    mut meta: ClientMeta,
    Payload(body): Payload<ExchangeRequest>,
) -> Result<Response, ApiError> {
    limits::per_client(&state, "login", &meta).await?;
    let code = body
        .code
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::field("code", "Code is required"))?;
    meta.device_id = body.device_id.clone().filter(|d| !d.is_empty());
    Ok(
        match identities::exchange_login_code(&state, code, meta).await? {
            accounts::LoginOutcome::SignedIn(tokens) => Json(tokens).into_response(),
            accounts::LoginOutcome::SecondStep(challenge) => Json(challenge).into_response(),
        },
    )
}

/// `GET /api/auth/upstream`: the providers a frontend may offer, with their start addresses.
pub async fn providers(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(json!(
        state
            .config
            .upstream
            .iter()
            .map(|p| json!({
                "id": p.id,
                "name": p.name,
                "start": format!("{}/api/auth/upstream/{}/start", state.config.public_url, p.id),
            }))
            .collect::<Vec<_>>()
    ))
}
