//! The sign-in a browser holds on authd's own pages, by its cookie: found, listed, ended.

use super::{SignIn, SignInError};
use crate::state::AppState;
use crate::storage::{UserRow, sign_ins};
use crate::tokens::OpaqueToken;

/// A browser's sign-in and its user.
pub struct BrowserSignIn {
    pub user: UserRow,
    pub sign_in: SignIn,
    /// The cookie value that holds it, when it was just made (to be set on the browser).
    pub cookie: Option<OpaqueToken>,
}

/// The live, complete sign-in the browser's cookie value names, if any.
pub async fn signed_in(
    state: &AppState,
    cookie: Option<&str>,
) -> Result<Option<BrowserSignIn>, SignInError> {
    let Some(token) = cookie.and_then(OpaqueToken::from_presented) else {
        return Ok(None);
    };
    let found =
        sign_ins::find_browser_sign_in(&state.db, &token.hash(), state.clock.now_naive()).await?;
    Ok(found.map(|(user, row)| BrowserSignIn {
        user,
        sign_in: SignIn::from(&row),
        cookie: None,
    }))
}

/// Signs the browser out: its sign-in ends, and with it every session opened under it (each
/// client with a back-channel logout URI is told). Returns how many sessions ended.
pub async fn sign_out(state: &AppState, sign_in: &SignIn) -> Result<usize, SignInError> {
    Ok(sign_ins::end_sign_in(&state.db, &sign_in.id, state.clock.now_naive()).await?)
}

/// The names of the applications signed in through this sign-in (what signing out ends).
pub async fn applications(state: &AppState, sign_in: &SignIn) -> Result<Vec<String>, SignInError> {
    Ok(sign_ins::applications_of(&state.db, &sign_in.id, state.clock.now_naive()).await?)
}
