//! The resource owner password credentials grant (RFC 6749 section 4.3): the same login as
//! `/api/auth/login`, for a registered client. oxide-auth has no password grant; it lives here.

use crate::accounts::{self, AccountError};
use crate::oauth::OAuthError;
use crate::oauth::client::{Client, GrantType};
use crate::oauth::resource::Resource;
use crate::oauth::wire::{Minting, TokenResponse, respond};
use crate::signin::{ClientMeta, LoginIdentifier, SessionGrant};
use crate::state::AppState;

pub async fn grant(
    state: &AppState,
    client: &Client,
    (username, password): (&str, &str),
    scope: Option<&str>,
    meta: ClientMeta,
    resource: Option<&Resource>,
) -> Result<TokenResponse, OAuthError> {
    if !client.allows(GrantType::Password) {
        return Err(OAuthError::UnauthorizedClient(
            "this client may not use the password grant".into(),
        ));
    }
    let scopes = client.grant_scopes(scope).map_err(|s| {
        OAuthError::InvalidScope(format!("scope {s} is not allowed for this client"))
    })?;
    if let Some(resource) = resource {
        resource
            .admits(scopes.iter().map(String::as_str))
            .map_err(OAuthError::InvalidScope)?;
    }
    let session = SessionGrant {
        client_id: client.id.clone(),
        scope: scopes.join(" "),
        resource: resource.map(|r| r.identifier.clone()),
    };
    let issued = accounts::login_for(
        state,
        LoginIdentifier::parse(username),
        password,
        meta,
        session,
    )
    .await
    .map_err(|e| match e {
        AccountError::InvalidCredentials => OAuthError::InvalidGrant("Invalid credentials".into()),
        AccountError::TooManyAttempts { retry_after_secs } => {
            OAuthError::SlowDown { retry_after_secs }
        }
        AccountError::EmailNotVerified => OAuthError::InvalidGrant("Email not verified".into()),
        AccountError::AccountDisabled => OAuthError::InvalidGrant("Account disabled".into()),
        AccountError::SecondFactorRequired(why) => OAuthError::InvalidGrant(why.into()),
        other => OAuthError::from(other),
    })?;
    respond(state, client, issued, None, Minting::Password)
}
