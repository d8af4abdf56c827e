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

/// Where a password typed on authd's pages leads.
pub enum Step {
    /// Signed in (the browser gets the cookie).
    Done(BrowserSignIn),
    /// The password was right; the second factor is due (the browser gets the pending cookie).
    Second(super::Pending),
}

/// A password typed on authd's pages (the authorize page, the account pages): the browser's
/// sign-in, or its second step when the account has a factor. `current` is the browser's
/// sign-in, if any (see `complete_in_browser`).
pub async fn with_password(
    state: &AppState,
    identifier: Option<super::LoginIdentifier>,
    password: &str,
    meta: &super::ClientMeta,
    current: Option<&BrowserSignIn>,
) -> Result<Step, SignInError> {
    let user = super::verify_credentials(state, identifier, password, meta.ip.as_deref()).await?;
    let proof = super::Proof::password(user, state.clock.now_naive());
    with_proof(state, proof, meta, current).await
}

/// What a person proved on authd's pages (a password; another provider's word): the browser's
/// sign-in, or its second step when the account has a factor.
pub async fn with_proof(
    state: &AppState,
    proof: super::Proof,
    meta: &super::ClientMeta,
    current: Option<&BrowserSignIn>,
) -> Result<Step, SignInError> {
    let factors = super::active_factors(state, &proof.user.id).await?;
    if factors.is_empty() {
        let signed_in = super::complete_in_browser(state, proof, meta, current).await?;
        Ok(Step::Done(signed_in))
    } else {
        Ok(Step::Second(
            super::begin_second_step(state, proof, factors, meta).await?,
        ))
    }
}

/// A passkey chosen on authd's sign-in page without a name typed: `sealed` is the page's
/// ceremony, `credential` the browser's answer as JSON. Two factors in one.
pub async fn with_passkey(
    state: &AppState,
    sealed: &str,
    credential: &str,
    meta: &super::ClientMeta,
    current: Option<&BrowserSignIn>,
) -> Result<BrowserSignIn, SignInError> {
    let answer = serde_json::from_str::<serde_json::Value>(credential)
        .ok()
        .as_ref()
        .and_then(super::passkeys::parse_assertion)
        .ok_or(SignInError::PasskeyRefused)?;
    let user = super::passkeys::identify(state, sealed, &answer).await?;
    let proof = super::Proof::passkey(user, state.clock.now_naive());
    super::complete_in_browser(state, proof, meta, current).await
}
