//! The refresh_token grant (RFC 6749 section 6), run by oxide-auth's refresh state machine over
//! authd's sessions: the same rotation, grace window and theft detection as `/api/auth/refresh`.

use oxide_auth::code_grant::refresh;
use oxide_auth_async::code_grant::refresh as async_refresh;

use crate::accounts::{self};
use crate::oauth::OAuthError;
use crate::oauth::client::Client;
use crate::oauth::oxide::*;
use crate::oauth::wire::{ClientAuth, TokenResponse, respond};
use crate::state::AppState;

/// The refresh_token grant through oxide-auth's refresh state machine. A client that names
/// itself (as public clients must) is held to the token's client.
async fn refresh_grant(
    state: &AppState,
    auth: Option<ClientAuth>,
    refresh_token: &str,
    scope: Option<&str>,
    device_id: Option<&str>,
) -> Result<(Box<accounts::Issued>, Client), OAuthError> {
    let basic = auth.as_ref().is_some_and(|a| a.basic);
    let request = Request {
        grant_type: "refresh_token",
        refresh_token: Some(refresh_token),
        scope,
        auth: auth.as_ref().map(auth_tuple),
    };
    let mut endpoint = Endpoint::new(state, IssueFor::Client);
    endpoint.redeems = "refresh token";
    endpoint.issuer.device_id = device_id.map(str::to_owned);
    match async_refresh::refresh(&mut endpoint, &request).await {
        Ok(_) => match endpoint.issuer.minted.take() {
            Some(Minted::Session(issued)) => {
                let client = endpoint
                    .registrar
                    .client(&issued.session.client_id)
                    .await
                    .map_err(|_| {
                        OAuthError::ServerError(anyhow::anyhow!(
                            "the refreshed session's client vanished"
                        ))
                    })?;
                Ok((issued, client))
            }
            _ => Err(OAuthError::ServerError(anyhow::anyhow!(
                "refresh issued nothing"
            ))),
        },
        Err(refresh::Error::Invalid(mut d)) => {
            Err(endpoint.error(Some(d.description()), false, basic))
        }
        Err(refresh::Error::Unauthorized(mut d, _)) => {
            Err(endpoint.error(Some(d.description()), true, basic))
        }
        Err(refresh::Error::Primitive) => Err(endpoint.error(None, false, basic)),
    }
}

pub async fn grant(
    state: &AppState,
    auth: Option<ClientAuth>,
    refresh_token: &str,
    scope: Option<&str>,
    device_id: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let (issued, client) = refresh_grant(state, auth, refresh_token, scope, device_id).await?;
    respond(state, &client, *issued, None, None)
}
