//! The client registry as oxide-auth's `Registrar`.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use oxide_auth::primitives::registrar::{
    BoundClient, ClientUrl, ExactUrl, PreGrant, RegisteredUrl, RegistrarError,
};
use oxide_auth::primitives::scope::Scope;
use oxide_auth_async::primitives::Registrar;

use super::*;
use crate::oauth::OAuthError;
use crate::oauth::client::{Client, ClientType, canonical_uri};
use crate::state::AppState;
use crate::storage::clients;

pub(crate) struct DbRegistrar {
    pub(crate) state: AppState,
    pub(crate) failure: Failure,
    /// Scopes are negotiated for a client's own token (no user behind it).
    pub(crate) for_client_itself: bool,
    pub(crate) known: KnownClient,
}

/// The client one request has already read, shared by its registrar and issuer: oxide-auth
/// asks the registrar up to three times per request (check, bound redirect, negotiate), the
/// issuer asks again when refreshing, and the grant has usually authenticated the client before
/// all that. One request reads it once; nothing outlives the request, so a deleted or changed
/// client is seen by the next one.
#[derive(Clone, Default)]
pub(crate) struct KnownClient(Arc<Mutex<Option<Client>>>);

impl KnownClient {
    pub(crate) fn set(&self, client: &Client) {
        *self.0.lock().expect("known client") = Some(client.clone());
    }

    fn get(&self, id: &str) -> Option<Client> {
        self.0
            .lock()
            .expect("known client")
            .as_ref()
            .filter(|c| c.id == id)
            .cloned()
    }

    /// The client by id: the one already read, else from the database.
    pub(crate) async fn read(&self, state: &AppState, id: &str) -> anyhow::Result<Option<Client>> {
        if let Some(client) = self.get(id) {
            return Ok(Some(client));
        }
        let Some(row) = clients::find_client(&state.db, id).await? else {
            return Ok(None);
        };
        let client = Client::try_from(row)?;
        self.set(&client);
        Ok(Some(client))
    }
}

impl DbRegistrar {
    /// The registered client by id, `None` when there is none.
    pub(crate) async fn registered(&self, id: &str) -> anyhow::Result<Option<Client>> {
        self.known.read(&self.state, id).await
    }

    /// Starts the request with a client already read (and authenticated) by the grant.
    pub(crate) fn knows(&self, client: &Client) {
        self.known.set(client);
    }

    pub(crate) async fn client(&self, id: &str) -> Result<Client, RegistrarError> {
        match self.known.read(&self.state, id).await {
            Ok(Some(client)) => Ok(client),
            Ok(None) => Err(RegistrarError::Unspecified),
            Err(e) => {
                record(&self.failure, OAuthError::ServerError(e));
                Err(RegistrarError::PrimitiveError)
            }
        }
    }
}

#[async_trait]
impl Registrar for DbRegistrar {
    async fn bound_redirect<'a>(
        &self,
        bound: ClientUrl<'a>,
    ) -> Result<BoundClient<'a>, RegistrarError> {
        let client = self.client(&bound.client_id).await?;
        let uri = match bound
            .redirect_uri
            .as_ref()
            .map(|u| canonical_uri(u.as_str()))
        {
            // The browser goes to the URI as registered, whatever spelling was asked for.
            Some(asked) if client.has_redirect_uri(&asked) => asked,
            Some(_) => return Err(RegistrarError::Unspecified),
            // Unnamed, it is the client's one redirect URI; with several, there is no telling.
            None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
            None if client.redirect_uris.is_empty() => NO_REDIRECT.to_owned(),
            None => return Err(RegistrarError::Unspecified),
        };
        let exact = ExactUrl::new(uri).map_err(|_| RegistrarError::Unspecified)?;
        Ok(BoundClient {
            client_id: bound.client_id,
            redirect_uri: Cow::Owned(RegisteredUrl::Exact(exact)),
        })
    }

    async fn negotiate<'a>(
        &self,
        bound: BoundClient<'a>,
        scope: Option<Scope>,
    ) -> Result<PreGrant, RegistrarError> {
        let client = self.client(&bound.client_id).await?;
        let asked = scope.map(|s| s.to_string());
        let granted = if self.for_client_itself {
            client.grant_client_scopes(asked.as_deref())
        } else {
            client.grant_scopes(asked.as_deref())
        };
        let granted = granted.map_err(|s| {
            record(
                &self.failure,
                OAuthError::InvalidScope(format!("scope {s} is not allowed for this client")),
            );
            RegistrarError::Unspecified
        })?;
        let scope = granted
            .join(" ")
            .parse()
            .map_err(|_| RegistrarError::Unspecified)?;
        Ok(PreGrant {
            client_id: bound.client_id.into_owned(),
            redirect_uri: bound.redirect_uri.into_owned(),
            scope,
        })
    }

    /// A confidential client proves itself with its secret; a public one has none to give.
    async fn check(
        &self,
        client_id: &str,
        passphrase: Option<&[u8]>,
    ) -> Result<(), RegistrarError> {
        let client = self.client(client_id).await?;
        let secret = passphrase
            .filter(|p| !p.is_empty())
            .map(String::from_utf8_lossy);
        let ok = match (client.client_type, secret) {
            (ClientType::Confidential, Some(secret)) => client.secret_matches(&secret),
            (ClientType::Public, None) => true,
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(RegistrarError::Unspecified)
        }
    }
}
