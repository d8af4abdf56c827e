//! authd's hosted pages: templates (`templates/`, minijinja, one layout) rendered with the
//! brand settings, and the one stylesheet (`assets/authd.css`) served by authd itself.

use std::sync::LazyLock;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

use super::cookies;
use crate::state::AppState;

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in [
        ("layout.html", include_str!("../../templates/layout.html")),
        ("sign_in.html", include_str!("../../templates/sign_in.html")),
        ("sign_up.html", include_str!("../../templates/sign_up.html")),
        (
            "check_email.html",
            include_str!("../../templates/check_email.html"),
        ),
        ("consent.html", include_str!("../../templates/consent.html")),
        ("message.html", include_str!("../../templates/message.html")),
        (
            "forgot_password.html",
            include_str!("../../templates/forgot_password.html"),
        ),
        (
            "reset_password.html",
            include_str!("../../templates/reset_password.html"),
        ),
        (
            "sign_out.html",
            include_str!("../../templates/sign_out.html"),
        ),
        (
            "form_post.html",
            include_str!("../../templates/form_post.html"),
        ),
        (
            "api_docs.html",
            include_str!("../../templates/api_docs.html"),
        ),
        (
            "cancel_email_change.html",
            include_str!("../../templates/cancel_email_change.html"),
        ),
        (
            "verify_email.html",
            include_str!("../../templates/verify_email.html"),
        ),
        (
            "second_step.html",
            include_str!("../../templates/second_step.html"),
        ),
        (
            "security.html",
            include_str!("../../templates/security.html"),
        ),
        (
            "enrol_totp.html",
            include_str!("../../templates/enrol_totp.html"),
        ),
        (
            "enrol_passkey.html",
            include_str!("../../templates/enrol_passkey.html"),
        ),
        (
            "link_account.html",
            include_str!("../../templates/link_account.html"),
        ),
        (
            "link_confirm.html",
            include_str!("../../templates/link_confirm.html"),
        ),
        (
            "recovery_codes.html",
            include_str!("../../templates/recovery_codes.html"),
        ),
    ] {
        env.add_template(name, source)
            .expect("the built-in templates parse");
    }
    env
});

#[derive(Serialize)]
struct Brand<'a> {
    name: &'a str,
    logo_url: Option<&'a str>,
    support_url: Option<&'a str>,
}

/// A link offered as the way on from a page.
#[derive(Serialize)]
pub struct Link {
    pub href: String,
    pub text: &'static str,
}

/// A page to send: which template, its title, and what it shows.
pub struct Page<T: Serialize> {
    pub template: &'static str,
    pub title: &'static str,
    pub status: StatusCode,
    pub data: T,
}

/// The request id the request-id middleware gave this request, shown on pages so a person can
/// quote it to support.
pub fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Renders `page` in the layout, with headers that keep it out of frames and caches, and a CSP
/// whose `form-action` adds `form_targets` to authd itself.
pub fn render<T: Serialize>(
    state: &AppState,
    headers: &HeaderMap,
    page: Page<T>,
    form_targets: Option<&str>,
) -> Response {
    render_with_script(state, headers, page, form_targets, None)
}

/// [`render`], with one inline script allowed by its CSP source (`'sha256-...'`) besides
/// authd's own script file.
fn render_with_script<T: Serialize>(
    state: &AppState,
    headers: &HeaderMap,
    page: Page<T>,
    form_targets: Option<&str>,
    inline_script: Option<&str>,
) -> Response {
    let b = &state.config.brand;
    // Every page renews the browser's id, and a form on it gets a CSRF value bound to it unless
    // the page brings one of its own (bound to the sign-in).
    let browser = cookies::BrowserId::of(state, headers);
    let context = minijinja::context! {
        ..minijinja::context! {
            title => page.title,
            brand => Brand {
                name: &b.name,
                logo_url: b.logo_url.as_deref(),
                support_url: b.support_url.as_deref(),
            },
            // For support to find a problem in the logs: on pages that report one only.
            request_id => (page.status.is_client_error() || page.status.is_server_error())
                .then(|| request_id(headers))
                .flatten(),
        },
        ..minijinja::Value::from_serialize(&page.data),
        ..minijinja::context! { csrf => cookies::mint(state, cookies::Binding::Browser(&browser)) }
    };
    let html = match TEMPLATES
        .get_template(page.template)
        .and_then(|t| t.render(context))
    {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(error = %e, template = page.template, "a page did not render");
            return (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong").into_response();
        }
    };
    let img = b
        .logo_url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .map(|u| format!(" {}", u.origin().ascii_serialization()))
        .unwrap_or_default();
    let csp = format!(
        "default-src 'none'; script-src 'self'{}; style-src 'self'; img-src 'self'{img}; \
         form-action 'self'{}; \
         frame-ancestors 'none'; base-uri 'none'",
        inline_script.map(|s| format!(" {s}")).unwrap_or_default(),
        form_targets.map(|t| format!(" {t}")).unwrap_or_default()
    );
    let mut response = (page.status, html).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.append(header::SET_COOKIE, browser.cookie);
    response
}

/// A page of its own (no layout, no brand): `/docs`.
pub fn render_standalone(
    template: &str,
    context: minijinja::Value,
) -> Result<String, minijinja::Error> {
    TEMPLATES.get_template(template)?.render(context)
}

/// The one script authd's pages run: the form post response mode's automatic submit (the
/// page's button does the same without JavaScript). Allowed by its hash, nothing else.
const FORM_POST_SCRIPT: &str = "document.forms[0].submit();";

/// The form post response mode (OAuth 2.0 Form Post Response Mode): a page whose form the
/// browser POSTs to the client's redirect URI `action` at once, carrying `fields`.
pub fn form_post(
    state: &AppState,
    headers: &HeaderMap,
    action: &str,
    fields: &[(String, String)],
    target: &str,
) -> Response {
    static SCRIPT_SOURCE: LazyLock<String> = LazyLock::new(|| {
        use base64::Engine as _;
        use sha2::Digest as _;
        let hash = sha2::Sha256::digest(FORM_POST_SCRIPT.as_bytes());
        format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(hash)
        )
    });
    render_with_script(
        state,
        headers,
        Page {
            template: "form_post.html",
            title: "Continue",
            status: StatusCode::OK,
            data: minijinja::context! { action => action, fields => fields },
        },
        Some(target),
        Some(&SCRIPT_SOURCE),
    )
}

/// A page that says something in plain words, with an optional way on.
pub fn message(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    title: &'static str,
    paragraphs: &[&str],
    link: Option<Link>,
) -> Response {
    render(
        state,
        headers,
        Page {
            template: "message.html",
            title,
            status,
            data: minijinja::context! {
                paragraphs => paragraphs,
                alert => status.is_client_error() || status.is_server_error(),
                link => link,
            },
        },
        None,
    )
}

/// `GET /assets/authd.js`: the pages' one script: the show-password boxes, and the passkey
/// ceremonies (WebAuthn exists only for scripts); every other part of the pages works
/// without it.
pub async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../assets/authd.js"),
    )
        .into_response()
}

/// `GET /assets/authd.css`: the stylesheet, in the brand's colour.
pub async fn stylesheet(State(state): State<AppState>) -> Response {
    static CSS: &str = include_str!("../../assets/authd.css");
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS.replace("ACCENT", &state.config.brand.color),
    )
        .into_response()
}

/// Whether the request comes from a browser navigating (it accepts HTML): it gets a page, never
/// raw JSON.
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// `GET /`: for a browser, where it is and the ways on; for a program, where discovery is.
pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !wants_html(&headers) {
        return axum::Json(serde_json::json!({
            "issuer": state.config.issuer,
            "openid_configuration": format!("{}/.well-known/openid-configuration", state.config.issuer),
            "api_docs": format!("{}/docs", state.config.public_url),
        }))
        .into_response();
    }
    let said = format!(
        "This is the sign-in service of {}. Applications send you here to sign in; you can \
         also manage how you sign in.",
        state.config.brand.name
    );
    message(
        &state,
        &headers,
        StatusCode::OK,
        "Sign-in service",
        &[&said],
        Some(Link {
            href: "/account/security".into(),
            text: "Your sign-in security",
        }),
    )
}

/// Every unknown address: a page for a browser, the API's 404 for anything else.
pub async fn not_found(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !wants_html(&headers) {
        return crate::error::ApiError::NotFound("Not found").into_response();
    }
    message(
        &state,
        &headers,
        StatusCode::NOT_FOUND,
        "Page not found",
        &["There is no page at this address. It may have moved, or the link was cut short."],
        Some(Link {
            href: "/".into(),
            text: "Go to the start",
        }),
    )
}

/// A browser opening an address that only takes a form (a result page reloaded, say).
pub fn method_not_allowed_page(state: &AppState, headers: &HeaderMap) -> Response {
    message(
        state,
        headers,
        StatusCode::METHOD_NOT_ALLOWED,
        "This page cannot be opened directly",
        &["It answers a form. Go back to the form and send it again."],
        Some(Link {
            href: "/".into(),
            text: "Go to the start",
        }),
    )
}

/// `GET /robots.txt`: an authorization server has nothing to index.
pub async fn robots() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "User-agent: *\nDisallow: /\n",
    )
        .into_response()
}

/// `GET /favicon.ico`: nothing (204, cached a day), rather than a 404 in every browser's log.
pub async fn favicon() -> Response {
    (
        StatusCode::NO_CONTENT,
        [(header::CACHE_CONTROL, "public, max-age=86400")],
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_form_post_page_runs_exactly_the_hashed_script() {
        let page = include_str!("../../templates/form_post.html");
        assert_eq!(page.matches("<script>").count(), 1);
        assert!(page.contains(&format!("<script>{}</script>", super::FORM_POST_SCRIPT)));
    }
}
