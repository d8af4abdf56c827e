//! authd's sessions and keys as oxide-auth's `Issuer`.

use async_trait::async_trait;
use oxide_auth::primitives::grant::{Extensions, Grant};
use oxide_auth::primitives::issuer::{IssuedToken, RefreshedToken, TokenType};
use oxide_auth_async::primitives::Issuer;

use super::*;
use crate::accounts::{self, AccountError};
use crate::oauth::OAuthError;
use crate::oauth::client::GrantType;
use crate::oauth::dpop::ProvenKey;
use crate::signin::{self, ClientMeta, DpopBinding, SessionGrant};
use crate::state::AppState;
use crate::storage::users::UserKey;
use crate::storage::{codes, sessions, users};
use crate::tokens::AccessClaims;
use crate::tokens::OpaqueToken;
use crate::tokens::jwt::{self, Confirmation};

/// What the issuer minted, for the caller to shape the answer.
pub(crate) enum Minted {
    /// A user session's tokens (refresh, authorization code).
    Session(Box<signin::Issued>),
    /// A session opened by redeeming a code, with the request's nonce for the ID token.
    Code {
        issued: Box<signin::Issued>,
        nonce: Option<String>,
    },
    /// A client's own access token (client credentials).
    Client {
        access_token: String,
        expires_in: u64,
        scope: String,
    },
}

/// What `Issuer::issue` is issuing for.
pub(crate) enum IssueFor {
    /// A confidential client itself.
    Client,
    /// The user a code was granted by; the session records the token request's client.
    CodeOwner(ClientMeta),
}

pub(crate) struct DbIssuer {
    pub(crate) state: AppState,
    pub(crate) failure: Failure,
    pub(crate) minted: Option<Minted>,
    pub(crate) issue_for: IssueFor,
    /// The `device_id` a refresh request presents (a session bound to one requires it).
    pub(crate) device_id: Option<String>,
    /// What a client's own token is bound to (DPoP).
    pub(crate) dpop: Option<DpopBinding>,
    /// The DPoP key a refresh request proved.
    pub(crate) proven: Option<ProvenKey>,
    /// The resource server a client's own token is for (RFC 8707): its `aud`.
    pub(crate) resource: Option<String>,
    pub(crate) known: KnownClient,
}

/// Extension keys authd keeps in oxide-auth grants (private: never shown to clients).
pub(crate) const EXT_PKCE: &str = "authd_pkce";
pub(crate) const EXT_NONCE: &str = "authd_nonce";
/// The sign-in a code was granted under.
pub(crate) const EXT_SIGN_IN: &str = "authd_sign_in";
/// The hash of the code being redeemed, to record the session it opens.
pub(crate) const EXT_CODE: &str = "authd_code";
/// The resource server (RFC 8707) the code's tokens are for.
pub(crate) const EXT_RESOURCE: &str = "authd_resource";

pub(crate) fn private_value(extensions: &Extensions, key: &str) -> Option<String> {
    extensions
        .private()
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.map(str::to_owned))
}

impl DbIssuer {
    pub(crate) async fn issue_for_code_owner(
        &mut self,
        grant: Grant,
        meta: ClientMeta,
    ) -> Result<IssuedToken, ()> {
        let user = users::find_user(&self.state.db, UserKey::Id(&grant.owner_id))
            .await
            .map_err(|e| record(&self.failure, OAuthError::ServerError(e.into())))?;
        let Some(user) = user.filter(|u| u.is_active) else {
            return fail(
                &self.failure,
                OAuthError::InvalidGrant("The user is gone or disabled".into()),
            );
        };
        // The browser's sign-in must still hold: signed out (or every session ended) since the
        // code was granted, it opens nothing more.
        let sign_in_id = private_value(&grant.extensions, EXT_SIGN_IN).unwrap_or_default();
        let sign_in = signin::find_live(&self.state, &sign_in_id)
            .await
            .map_err(|e| record(&self.failure, OAuthError::from(AccountError::from(e))))?;
        let Some(sign_in) = sign_in.filter(|s| s.user_id == user.id) else {
            return fail(
                &self.failure,
                OAuthError::InvalidGrant("The sign-in the code was granted under has ended".into()),
            );
        };
        let session = SessionGrant {
            client_id: grant.client_id.clone(),
            scope: sorted(&grant.scope),
            resource: private_value(&grant.extensions, EXT_RESOURCE),
        };
        let issued = signin::open_session_under(&self.state, &sign_in, &user, session, meta)
            .await
            .map_err(|e| record(&self.failure, OAuthError::from(AccountError::from(e))))?;
        if let Some(code_hash) = private_value(&grant.extensions, EXT_CODE) {
            codes::attach_session(&self.state.db, &code_hash, &issued.session.id)
                .await
                .map_err(|e| record(&self.failure, OAuthError::ServerError(e.into())))?;
        }
        let token = IssuedToken {
            token: issued.access_token.clone(),
            refresh: Some(issued.refresh_token.expose().to_owned()),
            until: self.state.clock.now() + chrono::Duration::seconds(issued.expires_in as i64),
            token_type: TokenType::Bearer,
        };
        self.minted = Some(Minted::Code {
            issued: Box::new(issued),
            nonce: private_value(&grant.extensions, EXT_NONCE),
        });
        Ok(token)
    }
}

#[async_trait]
impl Issuer for DbIssuer {
    /// Client credentials: an access token for the client itself. No session, no refresh token.
    /// An authorization code: a session for its user with the client, as a login would open.
    async fn issue(&mut self, grant: Grant) -> Result<IssuedToken, ()> {
        if let IssueFor::CodeOwner(meta) = &self.issue_for {
            return self.issue_for_code_owner(grant, meta.clone()).await;
        }
        let now = self.state.clock.now();
        let ttl = self.state.config.access_token_ttl.as_secs();
        let claims = AccessClaims {
            iss: self.state.config.issuer.clone(),
            sub: grant.client_id.clone(),
            aud: self
                .resource
                .clone()
                .unwrap_or_else(|| self.state.audience().to_owned()),
            exp: now.timestamp() + ttl as i64,
            iat: now.timestamp(),
            jti: uuid::Uuid::new_v4().to_string(),
            client_id: grant.client_id.clone(),
            scope: sorted(&grant.scope),
            sid: None,
            role: None,
            auth_time: None,
            acr: None,
            amr: None,
            cnf: self.dpop.as_ref().map(|d| Confirmation::key(&d.jkt)),
        };
        let token = jwt::sign_access_token(&self.state.keys, &claims).map_err(|e| {
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
        let client = match self.known.read(&self.state, &grant.client_id).await {
            Ok(Some(client)) => client,
            Ok(None) => {
                return fail(
                    &self.failure,
                    OAuthError::InvalidGrant("Unknown client".into()),
                );
            }
            Err(e) => return fail(&self.failure, OAuthError::ServerError(e)),
        };
        if !client.allows(GrantType::RefreshToken) {
            return fail(
                &self.failure,
                OAuthError::UnauthorizedClient(
                    "this client may not use the refresh_token grant".into(),
                ),
            );
        }
        let dpop = match crate::oauth::grants::asked::binding(&client, self.proven.as_ref()) {
            Ok(dpop) => dpop,
            Err(e) => return fail(&self.failure, e),
        };
        let issued = accounts::refresh_for(
            &self.state,
            token,
            self.device_id.as_deref(),
            &grant.client_id,
            dpop.as_ref(),
        )
        .await
        .map_err(|e| {
            let error = match e {
                AccountError::InvalidRefreshToken => {
                    OAuthError::InvalidGrant("Invalid refresh token".into())
                }
                AccountError::AccountDisabled => {
                    OAuthError::InvalidGrant("Account disabled".into())
                }
                AccountError::DpopKeyMismatch => OAuthError::InvalidDpopProof(
                    "this refresh token is bound to a DPoP key: prove possession of that key"
                        .into(),
                ),
                other => OAuthError::from(other),
            };
            record(&self.failure, error);
        })?;
        // A narrower scope asked for (oxide-auth refused a wider one before rotating) narrows
        // the new access token and the answer; the session, and so the refresh token, keeps
        // what was granted (RFC 6749 section 6).
        let mut issued = issued;
        let asked: Vec<&str> = grant.scope.iter().collect();
        if issued
            .session
            .scope
            .split_whitespace()
            .any(|s| !asked.contains(&s))
        {
            let mut narrowed = issued.session.clone();
            narrowed.scope = issued
                .session
                .scope
                .split_whitespace()
                .filter(|s| asked.contains(s))
                .collect::<Vec<_>>()
                .join(" ");
            let bound = dpop.as_ref().map(|d| d.jkt.as_str());
            let (token, _) = signin::sign_access_token(
                &self.state,
                &issued.user,
                &narrowed,
                &issued.sign_in,
                bound,
            )
            .map_err(|e| record(&self.failure, OAuthError::from(AccountError::from(e))))?;
            issued.access_token = token;
            issued.session = narrowed;
        }
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
