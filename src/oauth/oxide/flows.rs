//! oxide-auth's state machines, run over the endpoint, with their verdicts turned into authd's
//! own: tokens minted or an `OAuthError` for the token endpoint, a URL or a `Refused` for the
//! authorization endpoint. The grant modules call these and never see oxide-auth's types.

use std::borrow::Cow;

use oxide_auth::code_grant::accesstoken::{self, ErrorDescription};
use oxide_auth::code_grant::{authorization as authz, client_credentials as cc, refresh};
use oxide_auth_async::code_grant::access_token as async_token;
use oxide_auth_async::code_grant::authorization as async_authz;
use oxide_auth_async::code_grant::client_credentials as async_cc;
use oxide_auth_async::code_grant::refresh as async_refresh;

use super::*;
use crate::oauth::OAuthError;
use crate::oauth::wire::Params;

/// What the issuer left behind, or why there is nothing.
fn minted(endpoint: &mut Endpoint, flow: &str) -> Result<Minted, OAuthError> {
    endpoint
        .issuer
        .minted
        .take()
        .ok_or_else(|| OAuthError::ServerError(anyhow::anyhow!("{flow} issued nothing")))
}

/// Refreshes a session through oxide-auth's refresh state machine.
pub(crate) async fn refresh(
    endpoint: &mut Endpoint,
    request: &Request<'_>,
    basic: bool,
) -> Result<Minted, OAuthError> {
    match async_refresh::refresh(endpoint, request).await {
        Ok(_) => minted(endpoint, "refresh"),
        Err(refresh::Error::Invalid(mut d)) => {
            Err(endpoint.error(Some(d.description()), false, basic))
        }
        Err(refresh::Error::Unauthorized(mut d, _)) => {
            Err(endpoint.error(Some(d.description()), true, basic))
        }
        Err(refresh::Error::Primitive) => Err(endpoint.error(None, false, basic)),
    }
}

/// A client's own token through oxide-auth's client-credentials state machine.
pub(crate) async fn client_credentials(
    endpoint: &mut Endpoint,
    request: &Request<'_>,
    client_id: String,
    basic: bool,
) -> Result<Minted, OAuthError> {
    let outcome = match async_cc::client_credentials(endpoint, request).await {
        Ok(pending) => pending.issue(endpoint, client_id, false).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => minted(endpoint, "client credentials"),
        Err(cc::Error::Invalid(mut d)) => {
            Err(endpoint.error(Some(description(&mut d)), false, basic))
        }
        Err(cc::Error::Unauthorized(mut d, _)) => {
            Err(endpoint.error(Some(description(&mut d)), true, basic))
        }
        Err(cc::Error::Ignore) | Err(cc::Error::Primitive(_)) => {
            Err(endpoint.error(None, false, basic))
        }
    }
}

fn description(d: &mut ErrorDescription) -> &mut oxide_auth::code_grant::error::AccessTokenError {
    d.description()
}

/// A code redemption as oxide-auth's access-token state machine reads it.
pub(crate) struct CodeRequest<'a> {
    pub(crate) code: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) secret: Option<&'a str>,
    pub(crate) redirect_uri: Option<&'a str>,
    pub(crate) code_verifier: Option<&'a str>,
}

impl accesstoken::Request for CodeRequest<'_> {
    fn valid(&self) -> bool {
        true
    }
    fn code(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(self.code))
    }
    /// A confidential client authenticates (Basic or body, already merged); a public client
    /// only names itself. oxide-auth refuses a request that does both.
    fn authorization(&self) -> accesstoken::Authorization<'_> {
        match self.secret {
            Some(secret) => accesstoken::Authorization::UsernamePassword(
                Cow::Borrowed(self.client_id),
                Cow::Borrowed(secret.as_bytes()),
            ),
            None => accesstoken::Authorization::None,
        }
    }
    fn client_id(&self) -> Option<Cow<'_, str>> {
        self.secret
            .is_none()
            .then_some(Cow::Borrowed(self.client_id))
    }
    fn redirect_uri(&self) -> Option<Cow<'_, str>> {
        self.redirect_uri.map(Cow::Borrowed)
    }
    fn grant_type(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed("authorization_code"))
    }
    fn extension(&self, key: &str) -> Option<Cow<'_, str>> {
        (key == "code_verifier")
            .then_some(self.code_verifier)
            .flatten()
            .map(Cow::Borrowed)
    }
}

/// Redeems a code through oxide-auth's access-token state machine.
pub(crate) async fn redeem_code(
    endpoint: &mut Endpoint,
    request: &CodeRequest<'_>,
    basic: bool,
) -> Result<Minted, OAuthError> {
    match async_token::access_token(endpoint, request).await {
        Ok(_) => minted(endpoint, "the code"),
        Err(accesstoken::Error::Invalid(mut d)) => {
            Err(endpoint.error(Some(d.description()), false, basic))
        }
        Err(accesstoken::Error::Unauthorized(mut d, _)) => {
            Err(endpoint.error(Some(d.description()), true, basic))
        }
        Err(accesstoken::Error::Primitive(_)) => Err(endpoint.error(None, false, basic)),
    }
}

/// Why the authorization state machine will not go on.
pub(crate) enum Refused {
    /// An OAuth error for the client's verified redirect URI (already in its query).
    Redirect(url::Url),
    /// The client or redirect URI could not be verified: nothing may go to it.
    Unverified,
    /// A primitive failed (the database, most likely).
    Primitive,
}

impl From<authz::Error> for Refused {
    fn from(error: authz::Error) -> Self {
        match error {
            authz::Error::Redirect(url) => Refused::Redirect(url.into()),
            authz::Error::Ignore => Refused::Unverified,
            authz::Error::PrimitiveError => Refused::Primitive,
        }
    }
}

/// An authorization request's parameters as oxide-auth's authorization state machine reads
/// them.
struct AuthorizationQuery<'a>(&'a Params);

impl authz::Request for AuthorizationQuery<'_> {
    fn valid(&self) -> bool {
        true
    }
    fn client_id(&self) -> Option<Cow<'_, str>> {
        self.0.get("client_id").map(Cow::Borrowed)
    }
    fn scope(&self) -> Option<Cow<'_, str>> {
        self.0.get("scope").map(Cow::Borrowed)
    }
    fn redirect_uri(&self) -> Option<Cow<'_, str>> {
        self.0.get("redirect_uri").map(Cow::Borrowed)
    }
    fn state(&self) -> Option<Cow<'_, str>> {
        self.0.get("state").map(Cow::Borrowed)
    }
    fn response_type(&self) -> Option<Cow<'_, str>> {
        self.0.get("response_type").map(Cow::Borrowed)
    }
    fn extension(&self, key: &str) -> Option<Cow<'_, str>> {
        self.0.get(key).map(Cow::Borrowed)
    }
}

/// An authorization request the state machine found valid, waiting for the user.
pub(crate) struct Authorization {
    pending: async_authz::Pending,
    /// The scope granted, in a stable order.
    pub(crate) scope: String,
    /// The registered redirect URI the answer goes to.
    pub(crate) redirect_uri: String,
}

/// Validates an authorization request (client, exact redirect URI, response type, scope and
/// the PKCE the endpoint requires) through oxide-auth's authorization state machine.
pub(crate) async fn authorize(
    endpoint: &mut Endpoint,
    params: &Params,
) -> Result<Authorization, Refused> {
    let pending = match async_authz::authorization_code(endpoint, &AuthorizationQuery(params)).await
    {
        Ok(pending) => pending,
        // A refusal with a recorded reason says it (the PKCE check's, say).
        Err(authz::Error::Redirect(url)) => {
            let mut url: url::Url = url.into();
            let recorded = endpoint.failure.lock().expect("failure slot").take();
            if let Some(OAuthError::InvalidRequest(why)) = recorded {
                url.query_pairs_mut().append_pair("error_description", &why);
            }
            return Err(Refused::Redirect(url));
        }
        Err(e) => return Err(e.into()),
    };
    let scope = sorted(&pending.pre_grant().scope);
    let redirect_uri = pending.pre_grant().redirect_uri.to_string();
    Ok(Authorization {
        pending,
        scope,
        redirect_uri,
    })
}

impl Authorization {
    /// The user agreed: the redirect URI carrying a code for them.
    pub(crate) async fn approve(
        self,
        endpoint: &mut Endpoint,
        user_id: &str,
    ) -> Result<url::Url, Refused> {
        Ok(self
            .pending
            .authorize(endpoint, Cow::Borrowed(user_id))
            .await?)
    }

    /// The user declined: the redirect URI carrying `access_denied`.
    pub(crate) fn deny(self) -> Result<url::Url, Refused> {
        Ok(self.pending.deny()?)
    }
}
