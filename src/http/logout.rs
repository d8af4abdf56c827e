//! `GET`/`POST /oauth/logout`: OpenID Connect RP-Initiated Logout 1.0. A relying party sends
//! the browser here to end its sign-in on authd, then gets it back at a
//! `post_logout_redirect_uri` it registered.
//!
//! Only the browser's own sign-in ever ends, with every session opened under it. Without the
//! person's say-so it ends only when the `id_token_hint` names that very sign-in (its `sub`
//! and a `sid` opened under it); otherwise the person is asked (a hint anyone could hold, or
//! none, proves nothing about this browser). A hint alone, in a browser that is not signed
//! in, ends nothing.

use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::authorize::{form_target, with_cookies};
use super::cookies::{self, Binding, Csrf};
use super::extract::read_body;
use super::pages::{self, Page};
use crate::error::ApiError;
use crate::i18n::{self, Key};
use crate::oauth::client::Client;
use crate::oauth::client_auth;
use crate::oauth::wire::Params;
use crate::signin::{self, BrowserSignIn, SignInError};
use crate::state::AppState;
use crate::t;
use crate::tokens::jwt;

fn refuse(state: &AppState, headers: &HeaderMap, why: Key) -> Response {
    pages::message(
        state,
        headers,
        StatusCode::BAD_REQUEST,
        t!("sign-out-invalid-title"),
        [why, t!("sign-out-invalid-still")],
        None,
    )
}

fn failed(e: SignInError) -> Response {
    match e {
        SignInError::Unexpected(cause) => ApiError::Internal(cause).into_response(),
        other => ApiError::Internal(other.into()).into_response(),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let posted = parts.method == Method::POST;
    let raw = if posted {
        match read_body(body).await {
            Ok(body) => body.to_vec(),
            Err(e) => return e.into_response(),
        }
    } else {
        query.unwrap_or_default().into_bytes()
    };
    let Ok(params) = Params::parse(&raw) else {
        return refuse(&state, &headers, t!("sign-out-invalid-twice"));
    };
    let asker = match who_asks(&state, &headers, &params).await {
        Ok(asker) => asker,
        Err(refused) => return refused,
    };
    let browser = match cookies::signed_in(&state, &headers).await {
        Ok(browser) => browser,
        Err(e) => return failed(e),
    };
    let Some(browser) = browser else {
        // Nothing to end here: whatever the hint names belongs to no sign-in of this browser.
        return signed_out(
            &state,
            &headers,
            &params,
            &asker,
            cookies::clear_sign_in(&state),
        );
    };
    let confirmed = if posted {
        !cookies::from_another_site(&state, &headers)
            && cookies::check(
                &state,
                Binding::SignIn(&browser.sign_in),
                params.get("csrf"),
            ) == Csrf::Valid
    } else {
        match names_this_sign_in(&state, &asker, &browser).await {
            Ok(named) => named,
            Err(e) => return failed(e),
        }
    };
    if !confirmed {
        return confirm_page(&state, &headers, &params, &asker, &browser).await;
    }
    if let Err(e) = signin::browser::sign_out(&state, &browser.sign_in).await {
        return failed(e);
    }
    signed_out(
        &state,
        &headers,
        &params,
        &asker,
        cookies::clear_sign_in(&state),
    )
}

/// Who asks to sign out: the ID token the relying party holds and/or its client, and where the
/// browser goes afterwards.
struct Asker {
    hint: Option<jwt::IdTokenClaims>,
    client: Option<Client>,
    back_to: Option<String>,
}

async fn who_asks(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Asker, Response> {
    // Who asks: the ID token the relying party holds, and/or its client_id; they must agree.
    let hint = match params.get("id_token_hint") {
        Some(token) => {
            let now = state.clock.now();
            match jwt::verify_id_token_hint(&state.keys, token, &state.config.issuer, now) {
                Ok(claims) => Some(claims),
                Err(_) => return Err(refuse(state, headers, t!("sign-out-invalid-hint"))),
            }
        }
        None => None,
    };
    let client_id = match (
        params.get("client_id"),
        hint.as_ref().map(|h| h.aud.as_str()),
    ) {
        (Some(a), Some(b)) if a != b => {
            return Err(refuse(state, headers, t!("sign-out-invalid-disagree")));
        }
        (a, b) => a.or(b),
    };
    let client = match client_id {
        Some(id) => match client_auth::registered(state, id).await {
            Ok(Some(client)) => Some(client),
            Ok(None) => return Err(refuse(state, headers, t!("sign-out-invalid-client"))),
            Err(e) => return Err(super::oauth::OAuthErrorResponse(e).into_response()),
        },
        None => None,
    };
    // Only to an address the client registered for this, exactly.
    let back_to = match params.get("post_logout_redirect_uri") {
        Some(uri) => match &client {
            Some(c) if c.post_logout_redirect_uris.iter().any(|r| r == uri) => Some(uri),
            _ => {
                return Err(refuse(state, headers, t!("sign-out-invalid-redirect")));
            }
        },
        None => None,
    };
    Ok(Asker {
        hint,
        client,
        back_to: back_to.map(str::to_owned),
    })
}

/// Whether the hint names this browser's sign-in: its user, and a session opened under it.
async fn names_this_sign_in(
    state: &AppState,
    asker: &Asker,
    browser: &BrowserSignIn,
) -> Result<bool, SignInError> {
    let Some(hint) = &asker.hint else {
        return Ok(false);
    };
    let Some(sid) = hint.sid.as_deref() else {
        return Ok(false);
    };
    if hint.sub != browser.user.id {
        return Ok(false);
    }
    Ok(signin::of_session(state, sid)
        .await?
        .is_some_and(|s| s.id == browser.sign_in.id))
}

/// The person confirms, seeing who is signed in and which applications signing out ends.
async fn confirm_page(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    asker: &Asker,
    browser: &BrowserSignIn,
) -> Response {
    let (client, back_to) = (&asker.client, asker.back_to.as_deref());
    let applications = match signin::browser::applications(state, &browser.sign_in).await {
        Ok(names) => names,
        Err(e) => return failed(e),
    };
    let user = &browser.user;
    let who = user
        .email
        .clone()
        .or_else(|| user.username.clone())
        .unwrap_or_else(|| {
            t!("sign-out-your-account").in_(i18n::current(state.config.default_locale))
        });
    pages::render(
        state,
        headers,
        Page {
            template: "sign_out.html",
            title: t!("sign-out-title"),
            status: StatusCode::OK,
            data: minijinja::context! {
                // Signing out acts on the sign-in: its value is bound to it.
                csrf => cookies::mint(state, Binding::SignIn(&browser.sign_in)),
                who => who,
                applications => applications,
                client_name => client.as_ref().map(|c| c.name.clone()),
                client_id => client.as_ref().map(|c| c.id.clone()),
                post_logout_redirect_uri => back_to,
                client_state => params.get("state"),
            },
        },
        back_to.and_then(form_target).as_deref(),
    )
}

/// The browser is signed out (or was not signed in): back to the client, or say so.
fn signed_out(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    asker: &Asker,
    clear: Vec<HeaderValue>,
) -> Response {
    match asker
        .back_to
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
    {
        Some(mut url) => {
            if let Some(s) = params.get("state") {
                url.query_pairs_mut().append_pair("state", s);
            }
            let mut response = StatusCode::SEE_OTHER.into_response();
            if let Ok(location) = HeaderValue::from_str(url.as_str()) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            with_cookies(response, clear)
        }
        None => with_cookies(
            pages::message(
                state,
                headers,
                StatusCode::OK,
                t!("sign-out-done-title"),
                [t!("sign-out-done-body")],
                None,
            ),
            clear,
        ),
    }
}
