//! The refresh_token grant (RFC 6749 section 6), run by oxide-auth's refresh state machine over
//! authd's sessions: the same rotation, grace window and theft detection as `/api/auth/refresh`.

use crate::oauth::OAuthError;
use crate::oauth::grants::asked::Asked;
use crate::oauth::oxide::{self, Endpoint, IssueFor, Minted, Request, auth_tuple};
use crate::oauth::wire::{ClientAuth, Minting, TokenResponse, respond};
use crate::state::AppState;
use crate::tokens::OpaqueToken;

/// Rotates the refresh token. A client that names itself (as public clients must) is held to
/// the token's client; a session bound to a device needs its `device_id`.
pub async fn grant(
    state: &AppState,
    auth: Option<ClientAuth>,
    refresh_token: &str,
    scope: Option<&str>,
    device_id: Option<&str>,
    asked: Asked<'_>,
) -> Result<TokenResponse, OAuthError> {
    // A `resource` here must be the session's: a refresh token does not change its audience.
    if let Some(resource) = asked.resource {
        let session = match OpaqueToken::from_presented(refresh_token) {
            Some(token) => crate::storage::sessions::find_refresh_token_session(
                &state.db,
                &token,
                state.clock.now_naive(),
            )
            .await?
            .map(|(_, session)| session),
            None => None,
        };
        if let Some(session) = session
            && session.resource.as_deref() != Some(resource.identifier.as_str())
        {
            return Err(OAuthError::InvalidTarget(
                "resource is not the one this refresh token's authorization named".into(),
            ));
        }
    }
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
    endpoint.issuer.proven = asked.key.cloned();
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
