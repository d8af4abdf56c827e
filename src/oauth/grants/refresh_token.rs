//! The refresh_token grant (RFC 6749 section 6), run by oxide-auth's refresh state machine over
//! authd's sessions: the same rotation, grace window and theft detection as `/api/auth/refresh`.

use super::super::OAuthError;
use super::super::oxide_adapter;
use super::super::wire::{ClientAuth, TokenResponse, respond};
use crate::state::AppState;

pub async fn grant(
    state: &AppState,
    auth: Option<ClientAuth>,
    refresh_token: &str,
    scope: Option<&str>,
    device_id: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let (issued, client) =
        oxide_adapter::refresh_grant(state, auth, refresh_token, scope, device_id).await?;
    respond(state, &client, *issued, None, None)
}
