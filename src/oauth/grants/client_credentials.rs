//! The client_credentials grant (RFC 6749 section 4.4), run by oxide-auth's state machine: an
//! access token for a confidential client itself, with no user, session or refresh token.

use oxide_auth::code_grant::client_credentials as cc;
use oxide_auth_async::code_grant::client_credentials as async_cc;

use crate::oauth::OAuthError;
use crate::oauth::client::{ClientType, GrantType};
use crate::oauth::oxide::*;
use crate::oauth::wire::{ClientAuth, TokenResponse};
use crate::state::AppState;

/// The client_credentials grant through oxide-auth's state machine.
pub async fn grant(
    state: &AppState,
    auth: ClientAuth,
    scope: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let mut endpoint = Endpoint::new(state, IssueFor::Client);
    endpoint.registrar.for_client_itself = true;
    // Who asks is established before anything about the client is said.
    let client = crate::oauth::client_auth::authenticate(state, &auth).await?;
    if client.client_type != ClientType::Confidential {
        return Err(OAuthError::invalid_client(auth.basic));
    }
    if !client.allows(GrantType::ClientCredentials) {
        return Err(OAuthError::UnauthorizedClient(
            "this client may not use the client_credentials grant".into(),
        ));
    }
    let request = Request {
        grant_type: "client_credentials",
        refresh_token: None,
        scope,
        auth: Some(auth_tuple(&auth)),
    };
    let outcome = match async_cc::client_credentials(&mut endpoint, &request).await {
        Ok(pending) => {
            pending
                .issue(&mut endpoint, auth.client_id.clone(), false)
                .await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => match endpoint.issuer.minted.take() {
            Some(Minted::Client {
                access_token,
                expires_in,
                scope,
            }) => Ok(TokenResponse {
                access_token,
                token_type: "Bearer",
                expires_in,
                refresh_token: None,
                scope,
                id_token: None,
            }),
            _ => Err(OAuthError::ServerError(anyhow::anyhow!(
                "client credentials issued nothing"
            ))),
        },
        Err(cc::Error::Invalid(mut d)) => {
            Err(endpoint.error(Some(description(&mut d)), false, auth.basic))
        }
        Err(cc::Error::Unauthorized(mut d, _)) => {
            Err(endpoint.error(Some(description(&mut d)), true, auth.basic))
        }
        Err(cc::Error::Ignore) | Err(cc::Error::Primitive(_)) => {
            Err(endpoint.error(None, false, auth.basic))
        }
    }
}
