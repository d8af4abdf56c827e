//! The links authd emails for confirming an address, shared by sign-up and email change, and
//! the way back to an authorization request that any emailed link may carry.

use crate::state::AppState;
use crate::tokens::OpaqueToken;

/// How long a verification link (sign-up or new address) works.
pub const VERIFICATION_TTL_HOURS: i64 = 24;

/// The link that confirms an address: the frontend's page when `AUTHD_FRONTEND_URL` is set,
/// else authd's own route.
pub(super) fn verification_link(state: &AppState, token: &OpaqueToken) -> String {
    match &state.config.frontend_url {
        Some(front) => format!("{front}/verify-email?token={}", token.expose()),
        None => format!(
            "{}/api/auth/verify?token={}",
            state.config.public_url,
            token.expose()
        ),
    }
}

/// `link` carrying the authorization request a journey started from (`continue`): only ever a
/// path on `/oauth/authorize`, so an emailed link cannot send anyone elsewhere.
pub(super) fn with_continue(mut link: String, continue_to: Option<&str>) -> String {
    if let Some(to) = continue_to.filter(|t| super::is_authorize_path(t)) {
        link.push('&');
        link.push_str(
            &url::form_urlencoded::Serializer::new(String::new())
                .append_pair("continue", to)
                .finish(),
        );
    }
    link
}
