//! The token endpoint (RFC 6749 section 3.2): one dispatcher over the grants, all issuing
//! through the same sessions and keys as `/api/auth/*`. The wire types it and the grants share
//! are in `oauth::wire`; client authentication is `oauth::client::authenticate`.

use super::OAuthError;
use super::client_auth::authenticate;
use super::grants;
use super::wire::{ClientAuth, Params, TokenRequest, TokenResponse};
use crate::signin::ClientMeta;
use crate::state::AppState;

/// Runs one token request.
pub async fn exchange(
    state: &AppState,
    params: &Params,
    basic: Option<(String, String)>,
    meta: ClientMeta,
) -> Result<TokenResponse, OAuthError> {
    let request = TokenRequest::parse(params)?;
    let auth = ClientAuth::from_request(params, basic)?;
    match request {
        TokenRequest::Password {
            username,
            password,
            scope,
        } => {
            let auth = auth.ok_or_else(|| OAuthError::invalid_client(false))?;
            let client = authenticate(state, &auth).await?;
            grants::password::grant(state, &client, &username, &password, scope.as_deref(), meta)
                .await
        }
        TokenRequest::RefreshToken {
            refresh_token,
            scope,
            device_id,
        } => {
            grants::refresh_token::grant(
                state,
                auth,
                &refresh_token,
                scope.as_deref(),
                device_id.as_deref(),
            )
            .await
        }
        TokenRequest::ClientCredentials { scope } => {
            let auth = auth.ok_or_else(|| OAuthError::invalid_client(false))?;
            grants::client_credentials::grant(state, auth, scope.as_deref()).await
        }
        TokenRequest::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            let auth = auth.ok_or_else(|| OAuthError::invalid_client(false))?;
            grants::authorization_code::grant(
                state,
                auth,
                &code,
                redirect_uri.as_deref(),
                code_verifier.as_deref(),
                meta,
            )
            .await
        }
    }
}
