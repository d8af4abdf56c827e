//! The client_credentials grant (RFC 6749 section 4.4), run by oxide-auth's state machine: an
//! access token for a confidential client itself, with no user, session or refresh token.

use crate::oauth::OAuthError;
use crate::oauth::client::{ClientType, GrantType};
use crate::oauth::dpop::ProvenKey;
use crate::oauth::oxide::{self, Endpoint, IssueFor, Minted, Request, auth_tuple};
use crate::oauth::wire::{ClientAuth, TokenResponse};
use crate::state::AppState;

/// The client's own access token, for the scopes it may hold itself.
pub async fn grant(
    state: &AppState,
    auth: ClientAuth,
    scope: Option<&str>,
    key: Option<&ProvenKey>,
) -> Result<TokenResponse, OAuthError> {
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
    let bound = crate::oauth::token::binding(&client, key)?;
    let mut endpoint = Endpoint::new(state, IssueFor::Client);
    endpoint.issuer.dpop = bound;
    endpoint.registrar.for_client_itself = true;
    endpoint.registrar.knows(&client);
    let minted =
        oxide::client_credentials(&mut endpoint, &request, auth.client_id.clone(), auth.basic)
            .await?;
    let Minted::Client {
        access_token,
        expires_in,
        scope,
    } = minted
    else {
        return Err(OAuthError::ServerError(anyhow::anyhow!(
            "client credentials minted something other than a client token"
        )));
    };
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
        refresh_token: None,
        scope,
        id_token: None,
    })
}
