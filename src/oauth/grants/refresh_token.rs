//! The refresh_token grant (RFC 6749 section 6), run by oxide-auth's refresh state machine over
//! authd's sessions: the same rotation, grace window and theft detection as `/api/auth/refresh`.

use crate::oauth::OAuthError;
use crate::oauth::dpop::ProvenKey;
use crate::oauth::oxide::{self, Endpoint, IssueFor, Minted, Request, auth_tuple};
use crate::oauth::wire::{ClientAuth, Minting, TokenResponse, respond};
use crate::state::AppState;

/// Rotates the refresh token. A client that names itself (as public clients must) is held to
/// the token's client; a session bound to a device needs its `device_id`.
pub async fn grant(
    state: &AppState,
    auth: Option<ClientAuth>,
    refresh_token: &str,
    scope: Option<&str>,
    device_id: Option<&str>,
    key: Option<&ProvenKey>,
) -> Result<TokenResponse, OAuthError> {
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
    // Whether the key binds the refresh token too depends on the client, which the issuer
    // learns (a public client's: RFC 9449 section 5).
    endpoint.issuer.proven = key.cloned();
    let Minted::Session(issued) = oxide::refresh(&mut endpoint, &request, basic).await? else {
        return Err(OAuthError::ServerError(anyhow::anyhow!(
            "refresh minted something other than a session"
        )));
    };
    let client = endpoint
        .registrar
        .registered(&issued.session.client_id)
        .await
        .map_err(OAuthError::ServerError)?
        .ok_or_else(|| {
            OAuthError::ServerError(anyhow::anyhow!("the refreshed session's client vanished"))
        })?;
    respond(state, &client, *issued, None, Minting::Rotated)
}
