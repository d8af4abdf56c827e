//! `GET`/`POST /oauth/logout`: OpenID Connect RP-Initiated Logout 1.0. A relying party sends
//! the browser here to end its sign-in on authd (and the session its ID token names), then
//! gets it back at a `post_logout_redirect_uri` it registered.

use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq as _;

use super::authorize::{
    CSRF_COOKIE, SESSION_COOKIE, cookie, csrf, form_target, set_cookie, with_cookies,
};
use super::extract::read_body;
use super::pages::{self, Page};
use crate::oauth::client::Client;
use crate::oauth::wire::Params;
use crate::state::AppState;
use crate::storage::{clients, codes, sessions};
use crate::tokens::OpaqueToken;
use crate::tokens::jwt;

fn refuse(state: &AppState, headers: &HeaderMap, why: &str) -> Response {
    pages::message(
        state,
        headers,
        StatusCode::BAD_REQUEST,
        "This sign-out link is not valid",
        &[
            why,
            "You are still signed in. Go back to the application and try again.",
        ],
        None,
    )
}

pub async fn logout(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let raw = if parts.method == Method::POST {
        match read_body(body).await {
            Ok(body) => body.to_vec(),
            Err(e) => return e.into_response(),
        }
    } else {
        query.unwrap_or_default().into_bytes()
    };
    let Ok(params) = Params::parse(&raw) else {
        return refuse(&state, &headers, "It holds a parameter twice.");
    };
    let now = state.clock.now();

    let asker = match who_asks(&state, &headers, &params, now).await {
        Ok(asker) => asker,
        Err(refused) => return refused,
    };
    // Without an ID token, anyone's page could send the browser here: ask first.
    let confirmed = asker.hint.is_some()
        || match (cookie(&headers, CSRF_COOKIE), params.get("csrf")) {
            (Some(c), Some(f)) => bool::from(c.as_bytes().ct_eq(f.as_bytes())),
            _ => false,
        };
    if !confirmed {
        return confirm_page(&state, &headers, &params, &asker);
    }
    sign_out(&state, &headers, &params, &asker, now).await
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
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Asker, Response> {
    // Who asks: the ID token the relying party holds, and/or its client_id; they must agree.
    let hint = match params.get("id_token_hint") {
        Some(token) => {
            match jwt::verify_id_token_hint(&state.keys, token, &state.config.issuer, now) {
                Ok(claims) => Some(claims),
                Err(_) => return Err(refuse(state, headers, "Its id_token_hint is not ours.")),
            }
        }
        None => None,
    };
    let client_id = match (
        params.get("client_id"),
        hint.as_ref().map(|h| h.aud.as_str()),
    ) {
        (Some(a), Some(b)) if a != b => {
            return Err(refuse(
                state,
                headers,
                "Its client_id and id_token_hint disagree.",
            ));
        }
        (a, b) => a.or(b),
    };
    let client = match client_id {
        Some(id) => match clients::find_client(&state.db, id).await {
            Ok(Some(row)) => Client::try_from(row).ok(),
            Ok(None) => return Err(refuse(state, headers, "It names an unknown application.")),
            Err(e) => return Err(crate::error::ApiError::from(e).into_response()),
        },
        None => None,
    };
    // Only to an address the client registered for this, exactly.
    let back_to = match params.get("post_logout_redirect_uri") {
        Some(uri) => match &client {
            Some(c) if c.post_logout_redirect_uris.iter().any(|r| r == uri) => Some(uri),
            _ => {
                return Err(refuse(
                    state,
                    headers,
                    "Its post_logout_redirect_uri is not registered for the application.",
                ));
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

/// Without an ID token, anyone's page could send the browser here: the user confirms.
fn confirm_page(state: &AppState, headers: &HeaderMap, params: &Params, asker: &Asker) -> Response {
    let (client, back_to) = (&asker.client, asker.back_to.as_deref());
    let (token, set) = csrf(state, headers);
    let page = pages::render(
        state,
        headers,
        Page {
            template: "sign_out.html",
            title: "Sign out",
            status: StatusCode::OK,
            data: minijinja::context! {
                csrf => token,
                client_name => client.as_ref().map(|c| c.name.clone()),
                client_id => client.as_ref().map(|c| c.id.clone()),
                post_logout_redirect_uri => back_to,
                client_state => params.get("state"),
            },
        },
        back_to.and_then(form_target).as_deref(),
    );
    with_cookies(page, set.into_iter().collect())
}

/// Signs out this browser's sign-in on authd and the session the ID token names, then sends the
/// browser back to the client or says so.
async fn sign_out(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    asker: &Asker,
    now: chrono::DateTime<chrono::Utc>,
) -> Response {
    let (hint, back_to) = (&asker.hint, asker.back_to.as_deref());
    // Sign out: this browser's sign-in on authd, and the session the ID token names.
    if let Some(token) =
        cookie(headers, SESSION_COOKIE).and_then(|c| OpaqueToken::from_presented(&c))
        && let Err(e) = codes::delete_browser_session(&state.db, &token.hash()).await
    {
        return crate::error::ApiError::from(e).into_response();
    }
    if let Some(sid) = hint.as_ref().and_then(|h| h.sid.as_deref())
        && let Err(e) = sessions::revoke_session(&state.db, sid, now.naive_utc()).await
    {
        return crate::error::ApiError::from(e).into_response();
    }
    let clear = set_cookie(state, SESSION_COOKIE, "", "Lax", 0);
    match back_to {
        Some(uri) => {
            let mut url = url::Url::parse(uri).expect("registered URIs parse");
            if let Some(s) = params.get("state") {
                url.query_pairs_mut().append_pair("state", s);
            }
            let mut response = StatusCode::SEE_OTHER.into_response();
            if let Ok(location) = HeaderValue::from_str(url.as_str()) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            with_cookies(response, vec![clear])
        }
        None => with_cookies(
            pages::message(
                state,
                headers,
                StatusCode::OK,
                "You are signed out",
                &["You are signed out of this browser. You can close this page."],
                None,
            ),
            vec![clear],
        ),
    }
}
