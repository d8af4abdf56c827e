//! The one place oxide-auth's primitives live, each in its own file: the client registry as
//! the `Registrar` (`registrar.rs`), authd's sessions and keys as the `Issuer` (`issuer.rs`),
//! authorization codes as the `Authorizer` (`authorizer.rs`), and PKCE and nonce as extensions
//! (`extensions.rs`). This file joins them into one endpoint for oxide-auth's state machines;
//! `flows.rs` runs those machines for the grant modules (`oauth::grants`) and turns their
//! verdicts into authd's, so oxide-auth is imported nowhere outside this folder. HTTP stays
//! with authd: oxide-auth sees plain request values and hands back tokens or RFC errors, so
//! none of its web errors (plain-text 500s) can reach a client.
//!
//! oxide-auth's primitives answer `Err(())` without a reason; where authd knows the reason (an
//! unknown scope, a replayed refresh token), it leaves it in a shared slot for the caller.

mod authorizer;
mod extensions;
mod flows;
mod issuer;
mod registrar;

pub(crate) use authorizer::*;
pub(crate) use extensions::*;
pub(crate) use flows::*;
pub(crate) use issuer::*;
pub(crate) use registrar::*;

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use oxide_auth::code_grant::error::{AccessTokenError, AccessTokenErrorType};
use oxide_auth::code_grant::{client_credentials as cc, refresh};
use oxide_auth::primitives::scope::Scope;
use oxide_auth_async::code_grant::access_token as async_token;
use oxide_auth_async::code_grant::authorization as async_authz;
use oxide_auth_async::code_grant::client_credentials as async_cc;
use oxide_auth_async::code_grant::refresh as async_refresh;
use oxide_auth_async::primitives::{Authorizer, Issuer, Registrar};

use crate::oauth::OAuthError;
use crate::oauth::wire::ClientAuth;
use crate::state::AppState;

/// Where a primitive leaves the reason for its `Err(())`.
pub(crate) type Failure = Arc<Mutex<Option<OAuthError>>>;

pub(crate) fn record(slot: &Failure, error: OAuthError) {
    *slot.lock().expect("failure slot") = Some(error);
}

pub(crate) fn fail<T>(slot: &Failure, error: OAuthError) -> Result<T, ()> {
    record(slot, error);
    Err(())
}

/// Clients that use no redirect (client credentials) still need a URL in oxide-auth's types;
/// this one is never sent anywhere.
pub(crate) const NO_REDIRECT: &str = "urn:authd:no-redirect";

pub(crate) struct Endpoint {
    pub(crate) registrar: DbRegistrar,
    pub(crate) issuer: DbIssuer,
    pub(crate) authorizer: DbAuthorizer,
    pub(crate) no_extension: (),
    pub(crate) record_pkce: RecordPkceAndNonce,
    pub(crate) verify_pkce: VerifyPkce,
    pub(crate) failure: Failure,
    /// What the token request redeems ("authorization code", "refresh token"), for the
    /// errors oxide-auth gives without words.
    pub(crate) redeems: &'static str,
}

impl Endpoint {
    pub(crate) fn new(state: &AppState, issue_for: IssueFor) -> Self {
        let failure = Failure::default();
        let known = KnownClient::default();
        Self {
            registrar: DbRegistrar {
                state: state.clone(),
                failure: failure.clone(),
                for_client_itself: false,
                known: known.clone(),
            },
            issuer: DbIssuer {
                state: state.clone(),
                failure: failure.clone(),
                minted: None,
                issue_for,
                device_id: None,
                dpop: None,
                proven: None,
                resource: None,
                known,
            },
            authorizer: DbAuthorizer {
                state: state.clone(),
                failure: failure.clone(),
                sign_in_id: None,
                redeeming: None,
                redirect_uri_given: true,
            },
            no_extension: (),
            record_pkce: RecordPkceAndNonce {
                require_pkce: true,
                failure: failure.clone(),
            },
            verify_pkce: VerifyPkce {
                failure: failure.clone(),
            },
            redeems: "grant",
            failure,
        }
    }

    /// The reason a flow failed: what a primitive recorded, else oxide-auth's own verdict.
    pub(crate) fn error(
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
            AccessTokenErrorType::InvalidRequest => OAuthError::InvalidRequest(or(
                text,
                "The token request lacks a parameter it needs or has one that is not valid",
            )),
            AccessTokenErrorType::InvalidClient => OAuthError::invalid_client(basic),
            AccessTokenErrorType::InvalidGrant => OAuthError::InvalidGrant(or(
                text,
                &format!(
                    "The {} is not valid: unknown, expired, already used, or issued to another client",
                    self.redeems
                ),
            )),
            AccessTokenErrorType::UnauthorizedClient => {
                OAuthError::UnauthorizedClient(or(text, "This client may not use this grant"))
            }
            AccessTokenErrorType::UnsupportedGrantType => OAuthError::UnsupportedGrantType(text),
            AccessTokenErrorType::InvalidScope => {
                OAuthError::InvalidScope(or(text, "The requested scope is more than was granted"))
            }
        }
    }
}

/// `text`, or `fallback` when oxide-auth gave none.
pub(crate) fn or(text: String, fallback: &str) -> String {
    if text.is_empty() {
        fallback.to_owned()
    } else {
        text
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
        &mut self.no_extension
    }
}

impl async_authz::Endpoint for Endpoint {
    fn registrar(&self) -> &(dyn Registrar + Sync) {
        &self.registrar
    }
    fn authorizer(&mut self) -> &mut (dyn Authorizer + Send) {
        &mut self.authorizer
    }
    fn extension(&mut self) -> &mut (dyn async_authz::Extension + Send) {
        &mut self.record_pkce
    }
}

impl async_token::Endpoint for Endpoint {
    fn registrar(&self) -> &(dyn Registrar + Sync) {
        &self.registrar
    }
    fn authorizer(&mut self) -> &mut (dyn Authorizer + Send) {
        &mut self.authorizer
    }
    fn issuer(&mut self) -> &mut (dyn Issuer + Send) {
        &mut self.issuer
    }
    fn extension(&mut self) -> &mut (dyn async_token::Extension + Send) {
        &mut self.verify_pkce
    }
}

/// A token request as oxide-auth's state machines read it.
pub(crate) struct Request<'a> {
    pub(crate) grant_type: &'static str,
    pub(crate) refresh_token: Option<&'a str>,
    pub(crate) scope: Option<&'a str>,
    pub(crate) auth: Option<(String, Vec<u8>)>,
}

impl Request<'_> {
    pub(crate) fn authorization(&self) -> Option<(Cow<'_, str>, Cow<'_, [u8]>)> {
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

pub(crate) fn auth_tuple(auth: &ClientAuth) -> (String, Vec<u8>) {
    (
        auth.client_id.clone(),
        auth.secret.clone().unwrap_or_default().into_bytes(),
    )
}

/// oxide-auth keeps scopes as a set; answer them in a stable order.
pub(crate) fn sorted(scope: &Scope) -> String {
    let mut tokens: Vec<&str> = scope.iter().collect();
    tokens.sort_unstable();
    tokens.join(" ")
}
