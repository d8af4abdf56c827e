//! The links authd emails for confirming an address, shared by sign-up and email change.

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
