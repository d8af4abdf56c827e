//! What the authorize endpoint answers a browser with: the error page, the redirect back to the
//! client (query, fragment or form_post), the sign-in page and the consent page.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::http::{cookies, pages};
use crate::i18n::Text;
use crate::oauth::authorize::Reason;
use crate::oauth::{
    AuthorizeError, AuthorizeParams, ClientRedirect, PendingAuthorization, ResponseMode,
};
use crate::signin::BrowserSignIn;
use crate::state::AppState;
use crate::t;

use super::*;

pub(super) fn error_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    message: impl Into<Text>,
) -> Response {
    pages::message(
        state,
        headers,
        status,
        t!("authorize-error-title"),
        [message.into(), t!("authorize-error-body").into()],
        None,
    )
}

/// What `oauth` says of a request it cannot trust (English, as it writes it), for the error
/// page in the page's language.
fn page_message(message: &str) -> Text {
    match message {
        "The application's return address is not usable." => t!("authorize-return-unusable").into(),
        "The application's sign-in link is not set up correctly: the address it asks to return \
         to is not registered." => t!("authorize-return-unregistered").into(),
        "The sign-in link does not say which application it is for (no client_id)." => {
            t!("authorize-no-client-id").into()
        }
        "The sign-in link names an application that is not registered here." => {
            t!("authorize-unknown-client").into()
        }
        "This application is not allowed to sign people in through this page." => {
            t!("authorize-client-not-allowed").into()
        }
        "The sign-in link does not say where to return (no redirect_uri), and this application \
         has several addresses." => t!("authorize-no-redirect-uri").into(),
        _ => match message
            .strip_prefix("The sign-in link is damaged (")
            .and_then(|m| m.strip_suffix(").").filter(|m| !m.is_empty()))
        {
            // What is wrong with it is said as the parser says it.
            Some(detail) => Text::new(t!("authorize-link-damaged")).arg("detail", detail),
            None => pages::flow_message(message),
        },
    }
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
pub(super) fn redirect(
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
            t!("authorize-return-unusable"),
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

pub(super) fn authorize_error(
    state: &AppState,
    headers: &HeaderMap,
    e: AuthorizeError,
) -> Response {
    match e {
        AuthorizeError::Page(message) => error_page(
            state,
            headers,
            StatusCode::BAD_REQUEST,
            page_message(&message),
        ),
        AuthorizeError::Redirect(answer) => redirect(state, headers, &answer, vec![]),
        AuthorizeError::Server(cause) if crate::storage::StorageError::is_unavailable(&cause) => {
            tracing::error!(error = %cause, "database unavailable");
            error_page(
                state,
                headers,
                StatusCode::SERVICE_UNAVAILABLE,
                t!("authorize-unavailable"),
            )
        }
        AuthorizeError::Server(cause) => {
            tracing::error!(error = ?cause, "authorization endpoint failed");
            error_page(
                state,
                headers,
                StatusCode::INTERNAL_SERVER_ERROR,
                t!("authorize-server-error"),
            )
        }
    }
}

/// What the sign-in page says besides its form, and what it keeps filled in.
#[derive(Default)]
pub(super) struct SignInPage<'a> {
    /// What went wrong with what was typed (a 401).
    pub(super) error: Option<Text>,
    /// Why the person is asked to sign in (again), or why the form is shown again.
    pub(super) notice: Option<Text>,
    /// What was typed (never the password), else the client's `login_hint`.
    pub(super) identifier: &'a str,
    /// The account exists but its email is not verified: offer to resend the link.
    pub(super) unverified: bool,
    /// A form that came back with a stale or foreign CSRF value (a 403).
    pub(super) expired: bool,
}

impl SignInPage<'_> {
    /// The page for a person `oauth::authorize` sends to sign in.
    pub(super) fn asked(reason: Reason) -> Self {
        Self {
            notice: match reason {
                Reason::NotSignedIn => None,
                Reason::Asked => Some(t!("authorize-reason-asked").into()),
                Reason::TooOld => Some(t!("authorize-reason-too-old").into()),
                Reason::OtherUser => Some(t!("authorize-reason-other-user").into()),
                Reason::Level => Some(t!("authorize-reason-level").into()),
            },
            ..Self::default()
        }
    }
}

pub(super) fn login_page(
    state: &AppState,
    headers: &HeaderMap,
    params: &AuthorizeParams,
    pending: &PendingAuthorization,
    page: SignInPage<'_>,
    cookies: Vec<HeaderValue>,
) -> Response {
    let status = if page.expired {
        StatusCode::FORBIDDEN
    } else if page.error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let rendered = pages::render(
        state,
        headers,
        pages::Page {
            template: "sign_in.html",
            title: t!("sign-in"),
            status,
            data: minijinja::context! {
                client_name => pending.client.name,
                form_action => "authorize",
                hidden => [("oauth_request", params.to_query())],
                sign_up => format!(
                    "/account/sign-up?{}",
                    url::form_urlencoded::Serializer::new(String::new())
                        .append_pair("oauth_request", &params.to_query())
                        .finish()
                ),
                // A re-sent verification link comes back to this request.
                continue_to => format!("/oauth/authorize?{}", params.to_query()),
                // The journey through a reset comes back to this request.
                forgot => format!(
                    "/account/forgot-password?{}",
                    url::form_urlencoded::Serializer::new(String::new())
                        .append_pair("continue", &format!("/oauth/authorize?{}", params.to_query()))
                        .finish()
                ),
                error => page.error,
                notice => page.notice,
                // What was typed, or else the client's `login_hint` (OIDC Core 3.1.2.1).
                identifier => Some(page.identifier)
                    .filter(|i| !i.is_empty())
                    .or_else(|| params.get("login_hint").filter(|h| h.len() <= 320))
                    .unwrap_or_default(),
                resend => page.unverified,
                passkey => passkey_ceremony(state),
                upstream => crate::http::upstream::buttons(
                    state,
                    &crate::signin::upstream::Return::Authorize(params.to_query()),
                ),
            },
        },
        form_target(&pending.redirect_uri).as_deref(),
    );
    with_cookies(rendered, cookies)
}

/// The request as a query string, with `key` set to `value`.
pub(super) fn query_with(params: &AuthorizeParams, key: &str, value: &str) -> String {
    let query = params.to_query();
    let kept = url::form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k != key);
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .append_pair(key, value)
        .finish()
}

/// The scopes as the consent page lists them: who you are first, then what the client sees,
/// staying signed in last; other scopes between, alphabetically (a scope set has no order).
fn in_consent_order(scope: &str) -> Vec<&str> {
    let rank = |scope: &str| match scope {
        "openid" => 0,
        "profile" => 1,
        "email" => 2,
        "phone" => 3,
        "address" => 4,
        "offline_access" => 6,
        _ => 5,
    };
    let mut ordered: Vec<&str> = scope.split_whitespace().collect();
    ordered.sort_by_key(|s| (rank(s), *s));
    ordered
}

#[cfg(test)]
#[test]
fn consent_lists_who_you_are_first_and_staying_signed_in_last() {
    assert_eq!(
        in_consent_order("email offline_access openid reports:read profile"),
        [
            "openid",
            "profile",
            "email",
            "reports:read",
            "offline_access"
        ]
    );
}

/// What each scope lets a client do, in plain words.
pub(super) fn describe_scope(scope: &str) -> Text {
    match scope {
        "openid" => t!("consent-scope-openid").into(),
        "profile" => t!("consent-scope-profile").into(),
        "email" => t!("consent-scope-email").into(),
        "phone" => t!("consent-scope-phone").into(),
        "address" => t!("consent-scope-address").into(),
        "offline_access" => t!("consent-scope-offline-access").into(),
        other => Text::new(t!("consent-scope-other")).arg("scope", other),
    }
}

pub(super) fn consent_page(
    state: &AppState,
    headers: &HeaderMap,
    params: &AuthorizeParams,
    pending: &PendingAuthorization,
    browser: &BrowserSignIn,
    notice: Option<Text>,
    cookies: Vec<HeaderValue>,
) -> Response {
    let scopes: Vec<Text> = in_consent_order(&pending.scope)
        .into_iter()
        .map(describe_scope)
        .collect();
    let user = &browser.user;
    let who = match user.email.as_deref().or(user.username.as_deref()) {
        Some(who) => who.to_owned(),
        None => t!("consent-your-account").in_(crate::i18n::current(state.config.default_locale)),
    };
    let redirect_host = url::Url::parse(&pending.redirect_uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| pending.redirect_uri.clone());
    let page = pages::render(
        state,
        headers,
        pages::Page {
            template: "consent.html",
            title: t!("consent-title"),
            status: if notice.is_some() {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::OK
            },
            data: minijinja::context! {
                client_name => pending.client.name,
                who => who,
                scopes => scopes,
                redirect_host => redirect_host,
                notice => notice,
                // The same request, asking to sign in again (as someone else).
                switch_account => format!("authorize?{}", query_with(params, "prompt", "login")),
                oauth_request => params.to_query(),
                // Allowing acts on the account: bound to its sign-in, which no one can plant.
                csrf => cookies::mint(state, cookies::Binding::SignIn(&browser.sign_in)),
            },
        },
        form_target(&pending.redirect_uri).as_deref(),
    );
    with_cookies(page, cookies)
}

/// The second step of a sign-in (the cookie of the pending sign-in goes with it): a code from
/// the authenticator app, or a recovery code.
pub(super) fn second_step_page(
    state: &AppState,
    headers: &HeaderMap,
    params: &AuthorizeParams,
    pending: &PendingAuthorization,
    said: Said<'_>,
    cookies: Vec<HeaderValue>,
) -> Response {
    let page = pages::render(
        state,
        headers,
        pages::Page {
            template: "second_step.html",
            title: t!("authorize-second-step-title"),
            status: said.status(),
            data: minijinja::context! {
                client_name => pending.client.name,
                form_action => "authorize",
                hidden => [("oauth_request", params.to_query())],
                error => said.error,
                notice => said.notice,
                passkey => said.passkey.map(|options| options.to_string()),
                cancel => format!("authorize?{}", query_with(params, "prompt", "login")),
            },
        },
        form_target(&pending.redirect_uri).as_deref(),
    );
    with_cookies(page, cookies)
}

/// What a page says besides its form.
#[derive(Default, Clone)]
pub(in crate::http) struct Said<'a> {
    pub error: Option<Text>,
    pub notice: Option<Text>,
    /// The form came back with a stale or foreign CSRF value.
    pub expired: bool,
    /// A second step's passkey options (`navigator.credentials.get`), when the person has a
    /// passkey.
    pub passkey: Option<&'a serde_json::Value>,
}

/// A sign-in page's passkey ceremony (a passkey chosen without a name typed): its options for
/// the page's script and its sealed state for the form; `None` when passkeys are off. Nothing
/// is written until the form comes back.
pub(in crate::http) fn passkey_ceremony(state: &AppState) -> Option<minijinja::Value> {
    let rp = state.passkeys.as_ref()?;
    match rp.start_without_name(state) {
        Ok((options, sealed)) => Some(minijinja::context! {
            options => options.to_string(),
            state => sealed,
        }),
        Err(e) => {
            tracing::error!(error = %e, "a passkey sign-in could not start");
            None
        }
    }
}

impl Said<'_> {
    pub(in crate::http) fn status(&self) -> StatusCode {
        if self.expired {
            StatusCode::FORBIDDEN
        } else if self.error.is_some() {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::OK
        }
    }
}

/// The client or the policy needs a second factor this person has not set up: the way to set
/// one up, and back.
pub(super) fn enroll_page(
    state: &AppState,
    headers: &HeaderMap,
    params: &AuthorizeParams,
    pending: &PendingAuthorization,
    cookies: Vec<HeaderValue>,
) -> Response {
    let back = format!("/oauth/authorize?{}", params.to_query());
    let href = format!(
        "/account/security?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("continue", &back)
            .finish()
    );
    let page = pages::message(
        state,
        headers,
        StatusCode::OK,
        t!("authorize-enroll-title"),
        [
            Text::new(t!("authorize-enroll-body")).arg("client", &pending.client.name),
            t!("authorize-enroll-minute").into(),
        ],
        Some(pages::Link {
            href,
            text: t!("authorize-enroll-link"),
        }),
    );
    with_cookies(page, cookies)
}
