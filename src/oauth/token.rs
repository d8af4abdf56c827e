//! The token endpoint (RFC 6749 section 3.2): one dispatcher over the grants, all issuing
//! through the same sessions and keys as `/api/auth/*`. The wire types it and the grants share
//! are in `oauth::wire`; client authentication is `oauth::client::authenticate`.

use super::OAuthError;
use super::client_auth::authenticate;
use super::dpop::{self, CheckError, Expected, ProvenKey};
use super::grants;
use super::grants::asked::{Asked, binding};
use super::resource::Resource;
use super::wire::{ClientAuth, Params, TokenRequest, TokenResponse};
use crate::signin::ClientMeta;
use crate::state::AppState;

/// Runs one token request. `dpop` is the request's DPoP proof, if it sent one: checked here,
/// and what is issued is then bound to its key (`token_type` `DPoP`).
pub async fn exchange(
    state: &AppState,
    params: &Params,
    basic: Option<(String, String)>,
    meta: ClientMeta,
    dpop: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let request = TokenRequest::parse(params)?;
    let auth = ClientAuth::from_request(params, basic)?;
    let key = match dpop {
        Some(proof) => Some(proven_key(state, proof).await?),
        None => None,
    };
    let resource = match params.get("resource") {
        Some(identifier) => Some(registered_resource(state, identifier).await?),
        None => None,
    };
    let asked = Asked {
        key: key.as_ref(),
        resource: resource.as_ref(),
    };
    let mut answer = dispatch(state, request, auth, meta, asked).await?;
    if key.is_some() {
        answer.token_type = "DPoP";
    }
    Ok(answer)
}

/// The key a token request's DPoP proof was made with.
async fn proven_key(state: &AppState, proof: &str) -> Result<ProvenKey, OAuthError> {
    let url = format!("{}/oauth/token", state.config.issuer);
    let expected = Expected {
        method: "POST",
        url: &url,
        access_token: None,
        now: state.clock.now().timestamp(),
    };
    dpop::check(state, proof, &expected)
        .await
        .map_err(|e| match e {
            CheckError::Invalid(why) => OAuthError::InvalidDpopProof(why.0),
            CheckError::UseNonce => OAuthError::UseDpopNonce,
            CheckError::Storage(cause) => OAuthError::ServerError(cause),
        })
}

/// The resource server `resource` names (RFC 8707), if registered.
async fn registered_resource(state: &AppState, identifier: &str) -> Result<Resource, OAuthError> {
    crate::storage::resources::find_resource(&state.db, identifier)
        .await?
        .map(Resource::from)
        .ok_or_else(|| {
            OAuthError::InvalidTarget(format!(
                "resource {identifier} is not a registered resource server"
            ))
        })
}

async fn dispatch(
    state: &AppState,
    request: TokenRequest,
    auth: Option<ClientAuth>,
    mut meta: ClientMeta,
    asked: Asked<'_>,
) -> Result<TokenResponse, OAuthError> {
    let key = asked.key;
    match request {
        TokenRequest::Password {
            username,
            password,
            scope,
        } => {
            let auth = auth.ok_or_else(|| OAuthError::invalid_client(false))?;
            let client = authenticate(state, &auth).await?;
            meta.dpop = binding(&client, key)?;
            grants::password::grant(
                state,
                &client,
                (&username, &password),
                scope.as_deref(),
                meta,
                asked.resource,
            )
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
                asked,
            )
            .await
        }
        TokenRequest::ClientCredentials { scope } => {
            let auth = auth.ok_or_else(|| OAuthError::invalid_client(false))?;
            grants::client_credentials::grant(state, auth, scope.as_deref(), asked).await
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
                asked,
            )
            .await
        }
    }
}
