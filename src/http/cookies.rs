//! The cookies of authd's hosted pages and their CSRF values, in one place.
//!
//! Its cookies, all `HttpOnly`, `SameSite=Lax`, `Path=/`:
//! - the browser's sign-in (`authd_session`): the value whose hash a `sign_ins` row holds;
//! - the browser's id (`authd_browser`): random, meaning nothing by itself. Sign-in forms'
//!   CSRF values are bound to it, and a hosted sign-up to the browser it was made in;
//! - the language chosen (`authd_lang`: `en` or `fr`), see `language`.
//!
//! Under an HTTPS issuer both carry the `__Host-` prefix (so `Secure`, no `Domain`): neither a
//! sibling subdomain nor a plain-HTTP response on the way can plant or overwrite them.
//!
//! A CSRF value is authd's own: `issued-at (8 bytes) || HMAC(instance secret; binding,
//! issued-at)` truncated to 16 bytes, base64url. Forms that act on the account (consent,
//! sign-out) bind it to the browser's sign-in, which an attacker cannot plant; the sign-in and
//! sign-up forms to the browser id. A value authd did not mint fails the MAC, one of another
//! browser or sign-in fails its binding, and one older than [`CSRF_MAX_AGE_SECS`] is stale:
//! the form is shown again, filled in, rather than a dead end. Posts from another site are
//! refused first, by the browser's own `Sec-Fetch-Site` (or `Origin`) header.

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq as _;

use crate::i18n::Key;
use crate::signin::{self, BrowserSignIn, SignIn, SignInError};
use crate::state::AppState;
use crate::t;
use crate::tokens::{OpaqueToken, TokenHash};

/// How long a form's CSRF value stays good (a page left open overnight is shown again).
pub const CSRF_MAX_AGE_SECS: i64 = 12 * 3600;
/// How long the browser id lives; renewed with every page.
const BROWSER_MAX_AGE_SECS: u64 = 400 * 86_400;
const MAC_LEN: usize = 16;

/// What a form posted with a stale or foreign CSRF value says when it is shown again.
pub const FORM_EXPIRED: Key = t!("form-expired");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cookie {
    SignIn,
    Browser,
    /// A sign-in waiting for its second step (five minutes).
    Pending,
    /// The language a person chose (`ui_locales`, or the pages' language switch).
    Language,
}

fn https(state: &AppState) -> bool {
    state.config.issuer.starts_with("https://")
}

fn name(state: &AppState, cookie: Cookie) -> &'static str {
    match (https(state), cookie) {
        (true, Cookie::SignIn) => "__Host-authd_session",
        (true, Cookie::Browser) => "__Host-authd_browser",
        (true, Cookie::Pending) => "__Host-authd_pending",
        (true, Cookie::Language) => "__Host-authd_lang",
        (false, Cookie::SignIn) => "authd_session",
        (false, Cookie::Browser) => "authd_browser",
        (false, Cookie::Pending) => "authd_pending",
        (false, Cookie::Language) => "authd_lang",
    }
}

/// The cookie's value as the browser sent it.
pub fn read(state: &AppState, headers: &HeaderMap, cookie: Cookie) -> Option<String> {
    let name = name(state, cookie);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// `Set-Cookie` for `cookie` = `value`, for `max_age_secs` (0: remove it).
pub fn set(state: &AppState, cookie: Cookie, value: &str, max_age_secs: u64) -> HeaderValue {
    let secure = if https(state) { "; Secure" } else { "" };
    let text = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}",
        name(state, cookie)
    );
    HeaderValue::from_str(&text).expect("cookie values are base64url")
}

/// Removes the sign-in cookie, and the one earlier versions kept under `/oauth`.
pub fn clear_sign_in(state: &AppState) -> Vec<HeaderValue> {
    let mut headers = vec![set(state, Cookie::SignIn, "", 0)];
    if !https(state) {
        headers.push(HeaderValue::from_static(
            "authd_session=; Path=/oauth; HttpOnly; SameSite=Lax; Max-Age=0",
        ));
    }
    headers
}

/// `Set-Cookie` for a new sign-in the browser now holds.
pub fn hold_sign_in(state: &AppState, signed_in: &BrowserSignIn) -> Vec<HeaderValue> {
    let Some(value) = &signed_in.cookie else {
        return vec![];
    };
    let mut headers = clear_sign_in(state);
    headers[0] = set(
        state,
        Cookie::SignIn,
        value.expose(),
        state.config.session_max_age.as_secs(),
    );
    headers
}

/// `Set-Cookie` for a sign-in waiting for its second step.
pub fn hold_pending(state: &AppState, pending: &crate::signin::Pending) -> HeaderValue {
    set(
        state,
        Cookie::Pending,
        pending.token.expose(),
        crate::signin::SECOND_STEP_TTL.num_seconds() as u64,
    )
}

/// The browser's sign-in on authd, by its cookie.
pub async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<BrowserSignIn>, SignInError> {
    signin::browser::signed_in(state, read(state, headers, Cookie::SignIn).as_deref()).await
}

/// The browser's id: the one it sent, or a new one; its cookie is renewed either way.
pub struct BrowserId {
    value: OpaqueToken,
    pub cookie: HeaderValue,
}

impl BrowserId {
    pub fn of(state: &AppState, headers: &HeaderMap) -> Self {
        let value = read(state, headers, Cookie::Browser)
            .filter(|v| {
                v.len() == 43
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
            .and_then(|v| OpaqueToken::from_presented(&v))
            .unwrap_or_else(OpaqueToken::generate);
        let cookie = set(state, Cookie::Browser, value.expose(), BROWSER_MAX_AGE_SECS);
        Self { value, cookie }
    }

    /// What is stored to recognise this browser later (a hosted sign-up's).
    pub fn hash(&self) -> TokenHash {
        self.value.hash()
    }
}

/// What a form's CSRF value is bound to.
#[derive(Clone, Copy)]
pub enum Binding<'a> {
    /// Forms before a sign-in: the browser.
    Browser(&'a BrowserId),
    /// Forms that act on the account: the browser's sign-in.
    SignIn(&'a SignIn),
}

impl Binding<'_> {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Binding::Browser(id) => [b"browser:".as_slice(), id.value.expose().as_bytes()].concat(),
            Binding::SignIn(s) => [b"sign-in:".as_slice(), s.id.as_bytes()].concat(),
        }
    }
}

fn tag(state: &AppState, binding: &Binding<'_>, issued_at: i64) -> [u8; MAC_LEN] {
    let mac = state
        .sealer
        .mac(&[b"authd csrf v1", &binding.bytes(), &issued_at.to_be_bytes()]);
    let mut out = [0u8; MAC_LEN];
    out.copy_from_slice(&mac[..MAC_LEN]);
    out
}

/// A CSRF value for a form, bound to `binding`.
pub fn mint(state: &AppState, binding: Binding<'_>) -> String {
    let issued_at = state.clock.now().timestamp();
    let mut raw = issued_at.to_be_bytes().to_vec();
    raw.extend_from_slice(&tag(state, &binding, issued_at));
    URL_SAFE_NO_PAD.encode(raw)
}

/// What a posted CSRF value turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Csrf {
    Valid,
    /// Authd's, for this binding, but older than [`CSRF_MAX_AGE_SECS`].
    Stale,
    /// Missing, not authd's, or bound to another browser or sign-in.
    Invalid,
}

pub fn check(state: &AppState, binding: Binding<'_>, posted: Option<&str>) -> Csrf {
    let Some(raw) = posted.and_then(|p| URL_SAFE_NO_PAD.decode(p).ok()) else {
        return Csrf::Invalid;
    };
    if raw.len() != 8 + MAC_LEN {
        return Csrf::Invalid;
    }
    let (at, mac) = raw.split_at(8);
    let issued_at = i64::from_be_bytes(at.try_into().expect("eight bytes"));
    if !bool::from(tag(state, &binding, issued_at).ct_eq(mac)) {
        return Csrf::Invalid;
    }
    let age = state.clock.now().timestamp() - issued_at;
    // A value from the future (another instance's clock ahead) is fine within a minute.
    if !(-60..=CSRF_MAX_AGE_SECS).contains(&age) {
        return Csrf::Stale;
    }
    Csrf::Valid
}

/// Whether a form post came from another site (a page elsewhere posting into authd), by the
/// browser's own `Sec-Fetch-Site`, else `Origin`. Requests without either (old browsers, other
/// HTTP clients) rely on the CSRF value. `Origin: null` is what authd's own pages send (their
/// `Referrer-Policy: no-referrer`), so it proves nothing either way.
pub fn from_another_site(state: &AppState, headers: &HeaderMap) -> bool {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = value("sec-fetch-site") {
        return !matches!(site, "same-origin" | "none");
    }
    match value("origin") {
        None | Some("null") => false,
        Some(origin) => {
            let ours = |base: &str| {
                url::Url::parse(base)
                    .map(|u| u.origin().ascii_serialization() == origin)
                    .unwrap_or(false)
            };
            !ours(&state.config.issuer) && !ours(&state.config.public_url)
        }
    }
}
