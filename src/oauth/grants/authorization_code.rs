//! The authorization_code grant with PKCE (RFC 6749 section 4.1, RFC 7636), run by
//! oxide-auth's access-token state machine over authd's codes, clients and sessions.

use super::super::OAuthError;
use super::super::oxide_adapter;
use super::super::wire::{ClientAuth, TokenResponse};
use crate::accounts::ClientMeta;
use crate::state::AppState;

pub async fn grant(
    state: &AppState,
    auth: ClientAuth,
    code: &str,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
    meta: ClientMeta,
) -> Result<TokenResponse, OAuthError> {
    oxide_adapter::redeem_code(state, auth, code, redirect_uri, code_verifier, meta).await
}
