//! authd's hosted pages: templates (`templates/`, minijinja, one layout) rendered with the
//! brand settings, and the one stylesheet (`assets/authd.css`) served by authd itself.

use std::sync::LazyLock;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

use super::{cookies, language};
use crate::i18n::{self, Key, Text};
use crate::state::AppState;
use crate::t;

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
    env.add_function("t", i18n::template_function);
    env
});

#[derive(Serialize)]
struct Brand<'a> {
    name: &'a str,
    logo_url: Option<&'a str>,
    support_url: Option<&'a str>,
}

/// A link offered as the way on from a page (its text a message of the catalogue).
#[derive(Serialize)]
pub struct Link {
    pub href: String,
    pub text: Key,
}

/// A page to send: which template, its title, and what it shows.
pub struct Page<T: Serialize> {
    pub template: &'static str,
    pub title: Key,
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
    let lang = i18n::current(state.config.default_locale);
    let context = minijinja::context! {
        ..minijinja::context! {
            lang => lang.tag(),
            languages => language::switches(lang),
            title => page.title.in_(lang),
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
    h.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(lang.tag()),
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
            title: t!("continue"),
            status: StatusCode::OK,
            data: minijinja::context! { action => action, fields => fields },
        },
        Some(target),
        Some(&SCRIPT_SOURCE),
    )
}

/// A page that says something in plain words, with an optional way on.
pub fn message<P: Into<Text>>(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    title: Key,
    paragraphs: impl IntoIterator<Item = P>,
    link: Option<Link>,
) -> Response {
    let lang = i18n::current(state.config.default_locale);
    let paragraphs: Vec<String> = paragraphs.into_iter().map(|p| p.into().in_(lang)).collect();
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

/// A flow's message (English, as the API says it) for a page, in the page's language.
pub fn flow_message(message: &str) -> Text {
    /// The messages with a variable part, by their shape.
    fn shaped(message: &str) -> Option<Text> {
        // "Full name must be at most 100 characters", "First name contains invalid characters".
        let field = |name: &str| match name {
            "Full name" => Some("full"),
            "First name" => Some("first"),
            "Last name" => Some("last"),
            _ => None,
        };
        if let Some((name, max)) = message
            .strip_suffix(" characters")
            .and_then(|m| m.split_once(" must be at most "))
            && let (Some(field), Ok(max)) = (field(name), max.parse::<u32>())
        {
            return Some(
                Text::new(t!("flow-name-too-long"))
                    .arg("field", field)
                    .num("max", max),
            );
        }
        if let Some(field) = message
            .strip_suffix(" contains invalid characters")
            .and_then(field)
        {
            return Some(Text::new(t!("flow-name-invalid")).arg("field", field));
        }
        None
    }
    match message {
        // The fields of the forms (`http::requests`, `domain`).
        "Email is required" => t!("flow-email-required").into(),
        "Email, phone or username is required" => t!("flow-identifier-required").into(),
        "Password is required" => t!("flow-password-required").into(),
        "New password is required" => t!("flow-new-password-required").into(),
        "Current password is required" => t!("flow-current-password-required").into(),
        "Code is required" => t!("flow-code-required").into(),
        "Credential is required" => t!("flow-credential-required").into(),
        "Token is required" => t!("flow-token-required").into(),
        "Passwords do not match" => t!("flow-passwords-differ").into(),
        "Email must be at most 254 characters" => t!("flow-email-too-long").into(),
        "Invalid email address" => t!("flow-email-invalid").into(),
        "Email address mixes look-alike characters" => t!("flow-email-look-alike").into(),
        "Password must be at least 8 characters" => t!("flow-password-too-short").into(),
        "Password must be at most 128 characters" => t!("flow-password-too-long").into(),
        "Password must contain at least one letter and one digit" => {
            t!("flow-password-weak").into()
        }
        "Password must not be the email address" => t!("flow-password-is-email").into(),
        "Phone number is empty" => t!("flow-phone-empty").into(),
        "Invalid phone number" => t!("flow-phone-invalid").into(),
        "Phone number must start with + and the country code" => {
            t!("flow-phone-country-code").into()
        }
        "Username must be 3 to 32 characters" => t!("flow-username-length").into(),
        "Username may contain only a-z, 0-9, '.', '_' and '-'" => {
            t!("flow-username-characters").into()
        }
        // What the flows answer (`AccountError`, `SignInError`).
        "Invalid credentials" => t!("flow-invalid-credentials").into(),
        "Email not verified" => t!("flow-email-not-verified").into(),
        "Account disabled" => t!("flow-account-disabled").into(),
        "Invalid or expired token" => t!("flow-invalid-token").into(),
        "Email already verified" => t!("flow-already-verified").into(),
        "Email already in use" => t!("flow-email-in-use").into(),
        "Username already in use" => t!("flow-username-in-use").into(),
        "Phone number already in use" => t!("flow-phone-in-use").into(),
        "Current password is incorrect" => t!("flow-wrong-password").into(),
        "Invalid code" => t!("flow-invalid-code").into(),
        "Invalid or expired challenge" => t!("flow-invalid-challenge").into(),
        "The passkey was not accepted" => t!("flow-passkey-refused").into(),
        "The passkey request expired" => t!("flow-passkey-expired").into(),
        "Passkeys are not available here" => t!("flow-passkeys-unavailable").into(),
        "Passkeys are off: authd's pages must be served over HTTPS (or at localhost) under a \
         domain name" => t!("flow-passkeys-off").into(),
        "Too many attempts, please try again later" => t!("flow-too-many-attempts").into(),
        "Enter your current password to change your email or phone" => {
            t!("flow-current-password-needed").into()
        }
        // Second factors and passkeys (`accounts::factors`).
        "A name is required" => t!("flow-factor-name-required").into(),
        "At most 60 characters, no control characters" => t!("flow-factor-name-invalid").into(),
        "No such factor" => t!("flow-no-such-factor").into(),
        "No such pending factor" => t!("flow-no-such-pending-factor").into(),
        "The factor is active already" => t!("flow-factor-active").into(),
        "This passkey is registered already" => t!("flow-passkey-registered").into(),
        "This credential does not answer this registration (another challenge, site or \
         origin, or no user verification)" => t!("flow-passkey-registration-refused").into(),
        "This account must keep a second factor: add another before removing this one" => {
            t!("flow-factor-must-keep").into()
        }
        "Recovery codes come with a second factor: add one first" => {
            t!("flow-recovery-codes-need-factor").into()
        }
        // Other providers' sign-ins (`accounts::identities::unlink`).
        "No such identity" => t!("flow-no-such-identity").into(),
        "This is the account's last way to sign in: set a password (forgot password) or add a \
         passkey first" => t!("flow-identity-last-way-in").into(),
        _ => {
            shaped(message).unwrap_or_else(|| Text::new(t!("flow-message")).arg("message", message))
        }
    }
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
    message(
        &state,
        &headers,
        StatusCode::OK,
        t!("home-title"),
        [Text::new(t!("home-body")).arg("brand", &state.config.brand.name)],
        Some(Link {
            href: "/account/security".into(),
            text: t!("home-security-link"),
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
        t!("not-found-title"),
        [t!("not-found-body")],
        Some(Link {
            href: "/".into(),
            text: t!("go-to-start"),
        }),
    )
}

/// A browser opening an address that only takes a form (a result page reloaded, say).
pub fn method_not_allowed_page(state: &AppState, headers: &HeaderMap) -> Response {
    message(
        state,
        headers,
        StatusCode::METHOD_NOT_ALLOWED,
        t!("form-only-title"),
        [t!("form-only-body")],
        Some(Link {
            href: "/".into(),
            text: t!("go-to-start"),
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
    /// `flow_message` matches the flows' English by its exact text: a reworded message would
    /// fall back to English on a French page. The flows' own messages must still be found.
    #[test]
    fn the_flows_messages_are_in_the_catalogue() {
        use crate::accounts::AccountError;
        use crate::i18n::Lang;
        for e in [
            AccountError::InvalidCredentials,
            AccountError::EmailNotVerified,
            AccountError::AccountDisabled,
            AccountError::InvalidToken,
            AccountError::AlreadyVerified,
            AccountError::WrongPassword,
            AccountError::InvalidCode,
            AccountError::InvalidChallenge,
        ] {
            let english = e.to_string();
            let said = super::flow_message(&english).in_(Lang::Fr);
            assert_ne!(said, english, "no French for the flow message {english:?}");
        }
    }

    #[test]
    fn the_form_post_page_runs_exactly_the_hashed_script() {
        let page = include_str!("../../templates/form_post.html");
        assert_eq!(page.matches("<script>").count(), 1);
        assert!(page.contains(&format!("<script>{}</script>", super::FORM_POST_SCRIPT)));
    }
}
