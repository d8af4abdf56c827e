//! The only file that imports oxide-auth. Its grant state machines (refresh, client
//! credentials) run over authd's own primitives: the client registry as the `Registrar`, and
//! authd's sessions and keys as the `Issuer`. HTTP stays with authd: oxide-auth sees plain
//! request values and hands back tokens or RFC errors, so none of its web errors (plain-text
//! 500s) can reach a client.
//!
//! oxide-auth's primitives answer `Err(())` without a reason; where authd knows the reason (an
//! unknown scope, a replayed refresh token), it leaves it in a shared slot for the caller.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use oxide_auth::code_grant::accesstoken::ErrorDescription;
use oxide_auth::code_grant::error::{AccessTokenError, AccessTokenErrorType};
use oxide_auth::code_grant::{client_credentials as cc, refresh};
use oxide_auth::primitives::grant::{Extensions, Grant};
use oxide_auth::primitives::issuer::{IssuedToken, RefreshedToken, TokenType};
use oxide_auth::primitives::registrar::{
    BoundClient, ClientUrl, ExactUrl, PreGrant, RegisteredUrl, RegistrarError,
};
use oxide_auth::primitives::scope::Scope;
use oxide_auth_async::code_grant::client_credentials as async_cc;
use oxide_auth_async::code_grant::refresh as async_refresh;
use oxide_auth_async::primitives::{Authorizer, Issuer, Registrar};

use super::OAuthError;
use super::client::{Client, ClientType, GrantType};
use super::token::{ClientAuth, TokenResponse};
use crate::accounts::{self, AccountError};
use crate::state::AppState;
use crate::storage::{clients, sessions};
use crate::tokens::OpaqueToken;
use crate::tokens::jwt::{self, ClientAccessClaims};

/// Where a primitive leaves the reason for its `Err(())`.
type Failure = Arc<Mutex<Option<OAuthError>>>;

fn record(slot: &Failure, error: OAuthError) {
    *slot.lock().expect("failure slot") = Some(error);
}

fn fail<T>(slot: &Failure, error: OAuthError) -> Result<T, ()> {
    record(slot, error);
    Err(())
}

/// Clients that use no redirect (client credentials) still need a URL in oxide-auth's types;
/// this one is never sent anywhere.
const NO_REDIRECT: &str = "urn:authd:no-redirect";

struct DbRegistrar {
    state: AppState,
    failure: Failure,
}

impl DbRegistrar {
    async fn client(&self, id: &str) -> Result<Client, RegistrarError> {
        let row = clients::find_client(&self.state.db, id)
            .await
            .map_err(|e| {
                record(&self.failure, OAuthError::ServerError(e.into()));
                RegistrarError::PrimitiveError
            })?;
        let row = row.ok_or(RegistrarError::Unspecified)?;
        Client::try_from(row).map_err(|e| {
            record(&self.failure, OAuthError::ServerError(e));
            RegistrarError::PrimitiveError
        })
    }
}

#[async_trait]
impl Registrar for DbRegistrar {
    async fn bound_redirect<'a>(
        &self,
        bound: ClientUrl<'a>,
    ) -> Result<BoundClient<'a>, RegistrarError> {
        let client = self.client(&bound.client_id).await?;
        let uri = match &bound.redirect_uri {
            Some(asked) if client.has_redirect_uri(asked.as_str()) => asked.as_str().to_owned(),
            Some(_) => return Err(RegistrarError::Unspecified),
            None => client
                .redirect_uris
                .first()
                .cloned()
                .unwrap_or_else(|| NO_REDIRECT.to_owned()),
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
        let granted = client.grant_scopes(asked.as_deref()).map_err(|s| {
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

/// What the issuer minted, for the caller to shape the answer.
enum Minted {
    /// A user session's tokens (refresh).
    Session(Box<accounts::Issued>),
    /// A client's own access token (client credentials).
    Client {
        access_token: String,
        expires_in: u64,
        scope: String,
    },
}

struct DbIssuer {
    state: AppState,
    failure: Failure,
    minted: Option<Minted>,
}

#[async_trait]
impl Issuer for DbIssuer {
    /// Client credentials: an access token for the client itself. No session, no refresh token.
    async fn issue(&mut self, grant: Grant) -> Result<IssuedToken, ()> {
        let now = self.state.clock.now();
        let ttl = self.state.config.access_token_ttl.as_secs();
        let claims = ClientAccessClaims {
            iss: self.state.config.issuer.clone(),
            sub: grant.client_id.clone(),
            aud: self.state.audience().to_owned(),
            exp: now.timestamp() + ttl as i64,
            iat: now.timestamp(),
            jti: uuid::Uuid::new_v4().to_string(),
            client_id: grant.client_id.clone(),
            scope: sorted(&grant.scope),
        };
        let token = jwt::sign_client_access_token(&self.state.keys, &claims).map_err(|e| {
            record(&self.failure, OAuthError::ServerError(e.into()));
        })?;
        self.minted = Some(Minted::Client {
            access_token: token.clone(),
            expires_in: ttl,
            scope: claims.scope,
        });
        Ok(IssuedToken {
            token,
            refresh: None,
            until: now + chrono::Duration::seconds(ttl as i64),
            token_type: TokenType::Bearer,
        })
    }

    /// Rotates through the same rule as `/api/auth/refresh`: grace window, theft detection.
    async fn refresh(&mut self, token: &str, grant: Grant) -> Result<RefreshedToken, ()> {
        let client = match clients::find_client(&self.state.db, &grant.client_id).await {
            Ok(Some(row)) => Client::try_from(row)
                .map_err(|e| record(&self.failure, OAuthError::ServerError(e)))?,
            Ok(None) => {
                return fail(
                    &self.failure,
                    OAuthError::InvalidGrant("Unknown client".into()),
                );
            }
            Err(e) => return fail(&self.failure, OAuthError::ServerError(e.into())),
        };
        if !client.allows(GrantType::RefreshToken) {
            return fail(
                &self.failure,
                OAuthError::UnauthorizedClient(
                    "this client may not use the refresh_token grant".into(),
                ),
            );
        }
        let issued = accounts::refresh_for(&self.state, token, None, &grant.client_id)
            .await
            .map_err(|e| {
                let error = match e {
                    AccountError::InvalidRefreshToken => {
                        OAuthError::InvalidGrant("Invalid refresh token".into())
                    }
                    AccountError::AccountDisabled => {
                        OAuthError::InvalidGrant("Account disabled".into())
                    }
                    other => OAuthError::ServerError(other.into()),
                };
                record(&self.failure, error);
            })?;
        let refreshed = RefreshedToken {
            token: issued.access_token.clone(),
            refresh: Some(issued.refresh_token.expose().to_owned()),
            until: self.state.clock.now() + chrono::Duration::seconds(issued.expires_in as i64),
            token_type: TokenType::Bearer,
        };
        self.minted = Some(Minted::Session(Box::new(issued)));
        Ok(refreshed)
    }

    async fn recover_token(&mut self, _: &str) -> Result<Option<Grant>, ()> {
        // Access tokens are JWTs verified against the key store, never looked up.
        Ok(None)
    }

    /// The grant behind a refresh token: any known token (live or retired) of a live session,
    /// so that a retired one reaches `refresh`, which applies the grace window or ends the
    /// session.
    async fn recover_refresh(&mut self, token: &str) -> Result<Option<Grant>, ()> {
        let Some(token) = OpaqueToken::from_presented(token) else {
            return Ok(None);
        };
        let found = sessions::find_refresh_token_session(
            &self.state.db,
            &token,
            self.state.clock.now_naive(),
        )
        .await
        .map_err(|e| record(&self.failure, OAuthError::ServerError(e.into())))?;
        let Some((row, session)) = found else {
            return Ok(None);
        };
        Ok(Some(Grant {
            owner_id: session.user_id,
            client_id: session.client_id,
            scope: session.scope.parse().map_err(|_| ())?,
            redirect_uri: NO_REDIRECT.parse().map_err(|_| ())?,
            until: row.expires_at.and_utc(),
            extensions: Extensions::new(),
        }))
    }
}

/// Client credentials issue no codes.
struct NoCodes;

#[async_trait]
impl Authorizer for NoCodes {
    async fn authorize(&mut self, _: Grant) -> Result<String, ()> {
        Err(())
    }
    async fn extract(&mut self, _: &str) -> Result<Option<Grant>, ()> {
        Ok(None)
    }
}

struct Endpoint {
    registrar: DbRegistrar,
    issuer: DbIssuer,
    authorizer: NoCodes,
    extension: (),
    failure: Failure,
}

impl Endpoint {
    fn new(state: &AppState) -> Self {
        let failure = Failure::default();
        Self {
            registrar: DbRegistrar {
                state: state.clone(),
                failure: failure.clone(),
            },
            issuer: DbIssuer {
                state: state.clone(),
                failure: failure.clone(),
                minted: None,
            },
            authorizer: NoCodes,
            extension: (),
            failure,
        }
    }

    /// The reason a flow failed: what a primitive recorded, else oxide-auth's own verdict.
    fn error(
        &self,
        description: Option<&mut AccessTokenError>,
        unauthorized: bool,
        basic: bool,
    ) -> OAuthError {
        if let Some(recorded) = self.failure.lock().expect("failure slot").take() {
            return recorded;
        }
        if unauthorized {
            return OAuthError::invalid_client(basic);
        }
        let Some(error) = description else {
            return OAuthError::ServerError(anyhow::anyhow!("token flow failed without a reason"));
        };
        let text = error
            .iter()
            .find(|(k, _)| *k == "error_description")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        match error.kind() {
            AccessTokenErrorType::InvalidRequest => OAuthError::InvalidRequest(text),
            AccessTokenErrorType::InvalidClient => OAuthError::invalid_client(basic),
            AccessTokenErrorType::InvalidGrant => OAuthError::InvalidGrant(if text.is_empty() {
                "Invalid refresh token".into()
            } else {
                text
            }),
            AccessTokenErrorType::UnauthorizedClient => OAuthError::UnauthorizedClient(text),
            AccessTokenErrorType::UnsupportedGrantType => OAuthError::UnsupportedGrantType(text),
            AccessTokenErrorType::InvalidScope => OAuthError::InvalidScope(text),
        }
    }
}

impl async_refresh::Endpoint for Endpoint {
    fn registrar(&self) -> &(dyn Registrar + Sync) {
        &self.registrar
    }
    fn issuer(&mut self) -> &mut (dyn Issuer + Send) {
        &mut self.issuer
    }
}

impl async_cc::Endpoint for Endpoint {
    fn registrar(&self) -> &(dyn Registrar + Sync) {
        &self.registrar
    }
    fn authorizer(&mut self) -> &mut (dyn Authorizer + Send) {
        &mut self.authorizer
    }
    fn issuer(&mut self) -> &mut (dyn Issuer + Send) {
        &mut self.issuer
    }
    fn extension(&mut self) -> &mut (dyn async_cc::Extension + Send) {
        &mut self.extension
    }
}

/// A token request as oxide-auth's state machines read it.
struct Request<'a> {
    grant_type: &'static str,
    refresh_token: Option<&'a str>,
    scope: Option<&'a str>,
    auth: Option<(String, Vec<u8>)>,
}

impl Request<'_> {
    fn authorization(&self) -> Option<(Cow<'_, str>, Cow<'_, [u8]>)> {
        self.auth
            .as_ref()
            .map(|(id, secret)| (Cow::Borrowed(id.as_str()), Cow::Borrowed(secret.as_slice())))
    }
}

impl refresh::Request for Request<'_> {
    fn valid(&self) -> bool {
        true
    }
    fn refresh_token(&self) -> Option<Cow<'_, str>> {
        self.refresh_token.map(Cow::Borrowed)
    }
    fn scope(&self) -> Option<Cow<'_, str>> {
        self.scope.map(Cow::Borrowed)
    }
    fn grant_type(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(self.grant_type))
    }
    fn authorization(&self) -> Option<(Cow<'_, str>, Cow<'_, [u8]>)> {
        Request::authorization(self)
    }
    fn extension(&self, _: &str) -> Option<Cow<'_, str>> {
        None
    }
}

impl cc::Request for Request<'_> {
    fn valid(&self) -> bool {
        true
    }
    fn authorization(&self) -> Option<(Cow<'_, str>, Cow<'_, [u8]>)> {
        Request::authorization(self)
    }
    fn scope(&self) -> Option<Cow<'_, str>> {
        self.scope.map(Cow::Borrowed)
    }
    fn grant_type(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(self.grant_type))
    }
    fn extension(&self, _: &str) -> Option<Cow<'_, str>> {
        None
    }
}

fn auth_tuple(auth: &ClientAuth) -> (String, Vec<u8>) {
    (
        auth.client_id.clone(),
        auth.secret.clone().unwrap_or_default().into_bytes(),
    )
}

/// The refresh_token grant through oxide-auth's refresh state machine. A client that names
/// itself (as public clients must) is held to the token's client.
pub async fn refresh_grant(
    state: &AppState,
    auth: Option<ClientAuth>,
    refresh_token: &str,
    scope: Option<&str>,
) -> Result<(Box<accounts::Issued>, Client), OAuthError> {
    let basic = auth.as_ref().is_some_and(|a| a.basic);
    let request = Request {
        grant_type: "refresh_token",
        refresh_token: Some(refresh_token),
        scope,
        auth: auth.as_ref().map(auth_tuple),
    };
    let mut endpoint = Endpoint::new(state);
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

/// The client_credentials grant through oxide-auth's state machine.
pub async fn client_credentials_grant(
    state: &AppState,
    auth: ClientAuth,
    scope: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let mut endpoint = Endpoint::new(state);
    let client = endpoint
        .registrar
        .client(&auth.client_id)
        .await
        .map_err(|e| match e {
            RegistrarError::Unspecified => OAuthError::invalid_client(auth.basic),
            RegistrarError::PrimitiveError => endpoint.error(None, false, auth.basic),
        })?;
    if client.client_type != ClientType::Confidential {
        return Err(OAuthError::invalid_client(auth.basic));
    }
    if !client.allows(GrantType::ClientCredentials) {
        return Err(OAuthError::UnauthorizedClient(
            "this client may not use the client_credentials grant".into(),
        ));
    }
    let request = Request {
        grant_type: "client_credentials",
        refresh_token: None,
        scope,
        auth: Some(auth_tuple(&auth)),
    };
    let outcome = match async_cc::client_credentials(&mut endpoint, &request).await {
        Ok(pending) => {
            pending
                .issue(&mut endpoint, auth.client_id.clone(), false)
                .await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => match endpoint.issuer.minted.take() {
            Some(Minted::Client {
                access_token,
                expires_in,
                scope,
            }) => Ok(TokenResponse {
                access_token,
                token_type: "Bearer",
                expires_in,
                refresh_token: None,
                scope,
                id_token: None,
            }),
            _ => Err(OAuthError::ServerError(anyhow::anyhow!(
                "client credentials issued nothing"
            ))),
        },
        Err(cc::Error::Invalid(mut d)) => {
            Err(endpoint.error(Some(description(&mut d)), false, auth.basic))
        }
        Err(cc::Error::Unauthorized(mut d, _)) => {
            Err(endpoint.error(Some(description(&mut d)), true, auth.basic))
        }
        Err(cc::Error::Ignore) | Err(cc::Error::Primitive(_)) => {
            Err(endpoint.error(None, false, auth.basic))
        }
    }
}

/// oxide-auth keeps scopes as a set; answer them in a stable order.
fn sorted(scope: &Scope) -> String {
    let mut tokens: Vec<&str> = scope.iter().collect();
    tokens.sort_unstable();
    tokens.join(" ")
}

fn description(d: &mut ErrorDescription) -> &mut AccessTokenError {
    d.description()
}
