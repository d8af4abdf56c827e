//! The client_credentials grant (RFC 6749 section 4.4), run by oxide-auth's state machine: an
//! access token for a confidential client itself, with no user, session or refresh token.

use super::super::OAuthError;
use super::super::oxide_adapter;
use super::super::wire::{ClientAuth, TokenResponse};
use crate::state::AppState;

pub async fn grant(
    state: &AppState,
    auth: ClientAuth,
    scope: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    oxide_adapter::client_credentials_grant(state, auth, scope).await
}
