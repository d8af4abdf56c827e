//! Following an emailed confirmation link: it finishes a sign-up or an email change.

use super::AccountError;
use super::profile::confirm_email_change;
use super::register::{SignUpBrowser, Verified, complete_registration};
use crate::signin::{BrowserSignIn, ClientMeta};
use crate::state::AppState;
use crate::storage::one_time_tokens::{self, PURPOSE_CHANGE_EMAIL};
use crate::tokens::OpaqueToken;

/// Follows a verification link: a pending registration becomes a user, or a pending email
/// change takes effect.
pub async fn verify_email(state: &AppState, token: &str) -> Result<Verified, AccountError> {
    let token = OpaqueToken::from_presented(token).ok_or(AccountError::InvalidToken)?;
    match one_time_tokens::find_one_time_token(&state.db, &token.hash(), PURPOSE_CHANGE_EMAIL)
        .await?
    {
        Some(row) if row.consumed_at.is_some() => Err(AccountError::AlreadyVerified),
        Some(_) => Ok(Verified::email_change(
            confirm_email_change(state, &token).await?,
        )),
        None => complete_registration(state, &token, true).await,
    }
}

/// Follows a verification link in a browser. When it is the browser the hosted sign-up was
/// made in, it comes back signed in.
pub async fn verify_email_in_browser(
    state: &AppState,
    token: &str,
    browser: &SignUpBrowser<'_>,
    meta: &ClientMeta,
) -> Result<(Verified, Option<BrowserSignIn>), AccountError> {
    let verified = verify_email(state, token).await?;
    let signed_in = verified.sign_in_browser(state, browser, meta).await?;
    Ok((verified, signed_in))
}
