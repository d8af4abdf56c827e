//! The client_credentials grant (RFC 6749 section 4.4), run by oxide-auth's state machine: an
//! access token for a confidential client itself, with no user, session or refresh token.

use crate::oauth::OAuthError;
use crate::oauth::client::{ClientType, GrantType};
use crate::oauth::grants::asked::Asked;
use crate::oauth::oxide::{self, Endpoint, IssueFor, Minted, Request, auth_tuple};
use crate::oauth::wire::{ClientAuth, TokenResponse};
use crate::state::AppState;

/// The client's own access token, for the scopes it may hold itself.
pub async fn grant(
    state: &AppState,
    auth: ClientAuth,
    scope: Option<&str>,
    asked: Asked<'_>,
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
    let bound = crate::oauth::grants::asked::binding(&client, asked.key)?;
    // For a resource server (RFC 8707): its scopes only; unasked, the client's that are its.
    let narrowed;
    let scope = match asked.resource {
        Some(resource) => {
            narrowed = match scope {
                Some(scope) => {
                    resource
                        .admits(scope.split_whitespace())
                        .map_err(OAuthError::InvalidScope)?;
                    scope.to_owned()
                }
                None => {
                    let theirs: Vec<&str> = client
                        .scopes
                        .iter()
                        .map(String::as_str)
                        .filter(|s| resource.scopes.iter().any(|r| r == s))
                        .collect();
                    if theirs.is_empty() {
                        return Err(OAuthError::InvalidScope(format!(
                            "this client may have none of {}'s scopes",
                            resource.identifier
                        )));
                    }
                    theirs.join(" ")
                }
            };
            Some(narrowed.as_str())
        }
        None => scope,
    };
    let request = Request {
        grant_type: "client_credentials",
        refresh_token: None,
        scope,
        auth: Some(auth_tuple(&auth)),
    };
    let mut endpoint = Endpoint::new(state, IssueFor::Client);
    endpoint.issuer.dpop = bound;
    endpoint.issuer.resource = asked.resource.map(|r| r.identifier.clone());
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
