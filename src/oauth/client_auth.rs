//! Client authentication at the token, revocation and introspection endpoints: a confidential
//! client by its secret, a public one by its id alone (RFC 6749 section 2.3).

use super::OAuthError;
use super::client::{Client, ClientType};
use super::wire::ClientAuth;
use crate::state::AppState;
use crate::storage::clients;

/// Authenticates a client: a confidential one by its secret, a public one by its id alone.
pub async fn authenticate(state: &AppState, auth: &ClientAuth) -> Result<Client, OAuthError> {
    let row = clients::find_client(&state.db, &auth.client_id)
        .await?
        .ok_or_else(|| OAuthError::invalid_client(auth.basic))?;
    let client = Client::try_from(row).map_err(OAuthError::ServerError)?;
    let ok = match (client.client_type, auth.secret.as_deref()) {
        (ClientType::Confidential, Some(secret)) => client.secret_matches(secret),
        (ClientType::Confidential, None) => false,
        (ClientType::Public, None) => true,
        // A public client has no secret; one that sends some is misconfigured.
        (ClientType::Public, Some(_)) => false,
    };
    if ok {
        Ok(client)
    } else {
        Err(OAuthError::invalid_client(auth.basic))
    }
}

/// A registered client by its id, unauthenticated: for pages that name it or check where it
/// may send a person (logout, sign-up).
pub async fn registered(state: &AppState, id: &str) -> Result<Option<Client>, OAuthError> {
    match clients::find_client(&state.db, id).await? {
        Some(row) => Ok(Some(
            Client::try_from(row).map_err(OAuthError::ServerError)?,
        )),
        None => Ok(None),
    }
}
