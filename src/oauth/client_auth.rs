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

/// Whether a page at `origin` (`scheme://host[:port]`) belongs to a registered public client:
/// the origin of one of its `http(s)` redirect URIs (any port for a loopback address, as
/// redirects are matched). Such a page (a single-page app) may call the token, revocation and
/// userinfo endpoints from the browser without further configuration.
pub async fn is_public_client_origin(state: &AppState, origin: &str) -> Result<bool, OAuthError> {
    let Ok(asked) = url::Url::parse(origin) else {
        return Ok(false);
    };
    let loopback = |u: &url::Url| matches!(u.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
    for row in clients::list_clients(&state.db).await? {
        if row.client_type != ClientType::Public.as_str() {
            continue;
        }
        for uri in row.redirect_uris.split_whitespace() {
            let Ok(registered) = url::Url::parse(uri) else {
                continue;
            };
            if !matches!(registered.scheme(), "http" | "https") {
                continue;
            }
            let same_host =
                registered.scheme() == asked.scheme() && registered.host_str() == asked.host_str();
            if same_host
                && (registered.port_or_known_default() == asked.port_or_known_default()
                    || loopback(&registered))
            {
                return Ok(true);
            }
        }
    }
    Ok(false)
}
