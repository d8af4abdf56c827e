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
use oxide_auth::code_grant::{
    accesstoken, authorization as authz, client_credentials as cc, refresh,
};
use oxide_auth::primitives::grant::Value;
use oxide_auth::primitives::grant::{Extensions, Grant};
use oxide_auth::primitives::issuer::{IssuedToken, RefreshedToken, TokenType};
use oxide_auth::primitives::registrar::{
    BoundClient, ClientUrl, ExactUrl, PreGrant, RegisteredUrl, RegistrarError,
};
use oxide_auth::primitives::scope::Scope;
use oxide_auth_async::code_grant::access_token as async_token;
use oxide_auth_async::code_grant::authorization as async_authz;
use oxide_auth_async::code_grant::client_credentials as async_cc;
use oxide_auth_async::code_grant::refresh as async_refresh;
use oxide_auth_async::primitives::{Authorizer, Issuer, Registrar};

use super::OAuthError;
use super::client::{Client, ClientType, GrantType};
use super::wire::{ClientAuth, Params, TokenResponse, respond};
use crate::accounts::{self, AccountError, ClientMeta, SessionGrant};
use crate::state::AppState;
use crate::storage::users::UserKey;
use crate::storage::{AuthorizationCodeRow, clients, codes, sessions, users};
use crate::tokens::AccessClaims;
use crate::tokens::OpaqueToken;
use crate::tokens::jwt;

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
    /// Scopes are negotiated for a client's own token (no user behind it).
    for_client_itself: bool,
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

/// What the issuer minted, for the caller to shape the answer.
enum Minted {
    /// A user session's tokens (refresh, authorization code).
    Session(Box<accounts::Issued>),
    /// A session opened by redeeming a code, with what the ID token repeats of the sign-in.
    Code {
        issued: Box<accounts::Issued>,
        nonce: Option<String>,
        auth_time: Option<i64>,
    },
    /// A client's own access token (client credentials).
    Client {
        access_token: String,
        expires_in: u64,
        scope: String,
    },
}

/// What `Issuer::issue` is issuing for.
enum IssueFor {
    /// A confidential client itself.
    Client,
    /// The user a code was granted by; the session records the token request's client.
    CodeOwner(ClientMeta),
}

struct DbIssuer {
    state: AppState,
    failure: Failure,
    minted: Option<Minted>,
    issue_for: IssueFor,
    /// The `device_id` a refresh request presents (a session bound to one requires it).
    device_id: Option<String>,
}

/// Extension keys authd keeps in oxide-auth grants (private: never shown to clients).
const EXT_PKCE: &str = "authd_pkce";
const EXT_NONCE: &str = "authd_nonce";
const EXT_AUTH_TIME: &str = "authd_auth_time";
/// The hash of the code being redeemed, to record the session it opens.
const EXT_CODE: &str = "authd_code";

fn private_value(extensions: &Extensions, key: &str) -> Option<String> {
    extensions
        .private()
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.map(str::to_owned))
}

impl DbIssuer {
    async fn issue_for_code_owner(
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
        let auth_time: Option<i64> =
            private_value(&grant.extensions, EXT_AUTH_TIME).and_then(|t| t.parse().ok());
        let session = SessionGrant {
            client_id: grant.client_id.clone(),
            scope: sorted(&grant.scope),
            auth_time: auth_time
                .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                .map(|t| t.naive_utc()),
        };
        let issued = accounts::open_session_for(&self.state, &user, meta, session)
            .await
            .map_err(|e| record(&self.failure, OAuthError::from(e)))?;
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
            auth_time,
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
            aud: self.state.audience().to_owned(),
            exp: now.timestamp() + ttl as i64,
            iat: now.timestamp(),
            jti: uuid::Uuid::new_v4().to_string(),
            client_id: grant.client_id.clone(),
            scope: sorted(&grant.scope),
            sid: None,
            role: None,
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
        let issued = accounts::refresh_for(
            &self.state,
            token,
            self.device_id.as_deref(),
            &grant.client_id,
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
            let (token, _) = accounts::sign_access_token(&self.state, &issued.user, &narrowed)
                .map_err(|e| record(&self.failure, OAuthError::from(e)))?;
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

/// How long a code may wait to be redeemed (RFC 6749 section 4.1.2 recommends at most 10 min).
const CODE_TTL_SECS: i64 = 60;

/// Authorization codes in the database: stored as hashes, bound to client, redirect URI and PKCE
/// challenge, redeemed once.
struct DbAuthorizer {
    state: AppState,
    failure: Failure,
    /// When the user behind the code signed in.
    auth_time: Option<chrono::NaiveDateTime>,
    /// Who is redeeming a code, and with what: checked before the code is consumed, so that a
    /// wrong client, redirect URI or verifier cannot burn the real client's code.
    redeeming: Option<Redemption>,
    /// Whether the authorization request named its redirect URI.
    redirect_uri_given: bool,
}

struct Redemption {
    client_id: String,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
}

/// Whether `verifier` answers the code's PKCE `challenge` (RFC 7636 section 4.6); no challenge
/// wants no verifier.
fn pkce_matches(challenge: Option<&str>, verifier: Option<&str>) -> bool {
    use base64::Engine as _;
    use sha2::Digest as _;
    use subtle::ConstantTimeEq as _;
    match (challenge, verifier) {
        (Some(challenge), Some(verifier)) if valid_pkce_token(verifier) => {
            let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(sha2::Sha256::digest(verifier.as_bytes()));
            computed.as_bytes().ct_eq(challenge.as_bytes()).into()
        }
        (None, None) => true,
        _ => false,
    }
}

impl DbAuthorizer {
    /// A code came back after it was used: whatever its first redemption opened ends
    /// (RFC 6749 section 4.1.2).
    async fn replayed(&self, row: &AuthorizationCodeRow) -> Result<(), ()> {
        tracing::warn!("an authorization code was presented again; its session is ended");
        if let Some(session_id) = &row.session_id {
            sessions::revoke_session(&self.state.db, session_id, self.state.clock.now_naive())
                .await
                .map_err(|e| record(&self.failure, OAuthError::ServerError(e.into())))?;
        }
        Ok(())
    }
}

#[async_trait]
impl Authorizer for DbAuthorizer {
    async fn authorize(&mut self, grant: Grant) -> Result<String, ()> {
        let now = self.state.clock.now_naive();
        let code = OpaqueToken::generate();
        let row = AuthorizationCodeRow {
            code_hash: code.hash().as_str().to_owned(),
            client_id: grant.client_id.clone(),
            user_id: grant.owner_id.clone(),
            redirect_uri: grant.redirect_uri.to_string(),
            scope: sorted(&grant.scope),
            code_challenge: private_value(&grant.extensions, EXT_PKCE),
            nonce: private_value(&grant.extensions, EXT_NONCE),
            auth_time: self.auth_time.unwrap_or(now),
            expires_at: now + chrono::Duration::seconds(CODE_TTL_SECS),
            consumed_at: None,
            session_id: None,
            redirect_uri_given: self.redirect_uri_given,
        };
        codes::insert_code(&self.state.db, &row)
            .await
            .map_err(|e| record(&self.failure, OAuthError::ServerError(e.into())))?;
        Ok(code.expose().to_owned())
    }

    /// Redeems a code: checked against the redemption, then consumed by this call or not at
    /// all; expired by authd's clock.
    async fn extract(&mut self, code: &str) -> Result<Option<Grant>, ()> {
        // oxide-auth answers an unknown code with invalid_request; RFC 6749 section 5.2 says
        // invalid_grant, so the reason is recorded here.
        let refuse = |why: &str| record(&self.failure, OAuthError::InvalidGrant(why.into()));
        const UNKNOWN: &str = "The code is invalid, expired or already used";
        let Some(code) = OpaqueToken::from_presented(code) else {
            refuse(UNKNOWN);
            return Ok(None);
        };
        let db = &self.state.db;
        let now = self.state.clock.now_naive();
        let hash = code.hash();
        let found = codes::find_code(db, &hash)
            .await
            .map_err(|e| record(&self.failure, OAuthError::ServerError(e.into())))?;
        let Some(row) = found else {
            refuse(UNKNOWN);
            return Ok(None);
        };
        let Some(redemption) = &self.redeeming else {
            refuse(UNKNOWN);
            return Ok(None);
        };
        // Before anything else: another client learns nothing and ends nothing with it.
        if redemption.client_id != row.client_id {
            refuse("The code was issued to another client");
            return Ok(None);
        }
        if row.consumed_at.is_some() {
            self.replayed(&row).await?;
            refuse(UNKNOWN);
            return Ok(None);
        }
        if row.expires_at <= now {
            refuse(UNKNOWN);
            return Ok(None);
        }
        if redemption.redirect_uri.as_deref() != Some(row.redirect_uri.as_str()) {
            refuse("redirect_uri does not match the authorization request");
            return Ok(None);
        }
        if !pkce_matches(
            row.code_challenge.as_deref(),
            redemption.code_verifier.as_deref(),
        ) {
            refuse("PKCE verification failed");
            return Ok(None);
        }
        let consumed = codes::consume_code(db, &hash, now)
            .await
            .map_err(|e| record(&self.failure, OAuthError::ServerError(e.into())))?;
        let Some(row) = consumed else {
            // Another redemption won the race for it.
            refuse(UNKNOWN);
            return Ok(None);
        };
        let mut extensions = Extensions::new();
        if let Some(challenge) = row.code_challenge {
            extensions.set_raw(EXT_PKCE.into(), Value::private(Some(challenge)));
        }
        if let Some(nonce) = row.nonce {
            extensions.set_raw(EXT_NONCE.into(), Value::private(Some(nonce)));
        }
        extensions.set_raw(
            EXT_AUTH_TIME.into(),
            Value::private(Some(row.auth_time.and_utc().timestamp().to_string())),
        );
        extensions.set_raw(EXT_CODE.into(), Value::private(Some(row.code_hash)));
        Ok(Some(Grant {
            owner_id: row.user_id,
            client_id: row.client_id,
            scope: row.scope.parse().map_err(|_| ())?,
            redirect_uri: row.redirect_uri.parse().map_err(|_| ())?,
            // oxide-auth compares this with the wall clock; authd's own expiry check is above.
            until: chrono::Utc::now() + chrono::Duration::seconds(CODE_TTL_SECS),
            extensions,
        }))
    }
}

/// PKCE (RFC 7636) and the OIDC `nonce`, recorded at the authorization request.
struct RecordPkceAndNonce {
    /// Public clients must use PKCE.
    require_pkce: bool,
}

fn valid_pkce_token(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
}

#[async_trait]
impl async_authz::Extension for RecordPkceAndNonce {
    async fn extend(&mut self, request: &(dyn authz::Request + Sync)) -> Result<Extensions, ()> {
        let mut extensions = Extensions::new();
        match (
            request.extension("code_challenge"),
            request.extension("code_challenge_method"),
        ) {
            (Some(challenge), Some(method)) if method == "S256" && valid_pkce_token(&challenge) => {
                extensions.set_raw(
                    EXT_PKCE.into(),
                    Value::private(Some(challenge.into_owned())),
                );
            }
            (None, None) if !self.require_pkce => {}
            _ => return Err(()),
        }
        if let Some(nonce) = request.extension("nonce") {
            if nonce.len() > 512 {
                return Err(());
            }
            extensions.set_raw(EXT_NONCE.into(), Value::private(Some(nonce.into_owned())));
        }
        Ok(extensions)
    }
}

/// Checks the `code_verifier` against the code's challenge, and carries the sign-in details
/// on to the issuer.
struct VerifyPkce {
    failure: Failure,
}

#[async_trait]
impl async_token::Extension for VerifyPkce {
    async fn extend(
        &mut self,
        request: &(dyn accesstoken::Request + Sync),
        data: Extensions,
    ) -> Result<Extensions, ()> {
        let verifier = request.extension("code_verifier");
        if !pkce_matches(
            private_value(&data, EXT_PKCE).as_deref(),
            verifier.as_deref(),
        ) {
            return fail(
                &self.failure,
                OAuthError::InvalidGrant("PKCE verification failed".into()),
            );
        }
        let mut carried = Extensions::new();
        for key in [EXT_NONCE, EXT_AUTH_TIME, EXT_CODE] {
            if let Some(value) = private_value(&data, key) {
                carried.set_raw(key.into(), Value::private(Some(value)));
            }
        }
        Ok(carried)
    }
}

struct Endpoint {
    registrar: DbRegistrar,
    issuer: DbIssuer,
    authorizer: DbAuthorizer,
    no_extension: (),
    record_pkce: RecordPkceAndNonce,
    verify_pkce: VerifyPkce,
    failure: Failure,
    /// What the token request redeems ("authorization code", "refresh token"), for the
    /// errors oxide-auth gives without words.
    redeems: &'static str,
}

impl Endpoint {
    fn new(state: &AppState, issue_for: IssueFor) -> Self {
        let failure = Failure::default();
        Self {
            registrar: DbRegistrar {
                state: state.clone(),
                failure: failure.clone(),
                for_client_itself: false,
            },
            issuer: DbIssuer {
                state: state.clone(),
                failure: failure.clone(),
                minted: None,
                issue_for,
                device_id: None,
            },
            authorizer: DbAuthorizer {
                state: state.clone(),
                failure: failure.clone(),
                auth_time: None,
                redeeming: None,
                redirect_uri_given: true,
            },
            no_extension: (),
            record_pkce: RecordPkceAndNonce { require_pkce: true },
            verify_pkce: VerifyPkce {
                failure: failure.clone(),
            },
            redeems: "grant",
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
fn or(text: String, fallback: &str) -> String {
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

/// The client_credentials grant through oxide-auth's state machine.
pub async fn client_credentials_grant(
    state: &AppState,
    auth: ClientAuth,
    scope: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let mut endpoint = Endpoint::new(state, IssueFor::Client);
    endpoint.registrar.for_client_itself = true;
    // Who asks is established before anything about the client is said.
    let client = super::client::authenticate(state, &auth).await?;
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

/// Why an authorization request cannot go on.
#[derive(Debug)]
pub enum AuthorizeError {
    /// Shown to the user on authd's own page: the client or redirect URI could not be trusted,
    /// so nothing is sent to it (RFC 6749 section 4.1.2.1).
    Page(String),
    /// Sent back to the client's verified redirect URI (`error`, `state`), in the request's
    /// response mode.
    Redirect(ClientRedirect),
    Server(anyhow::Error),
}

/// How the answer reaches the redirect URI (OAuth 2.0 Multiple Response Types, Form Post
/// Response Mode).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResponseMode {
    /// In the query: the default for `response_type=code`.
    #[default]
    Query,
    /// In the fragment: never sent to the client's server in a request line or a log.
    Fragment,
    /// POSTed by the browser as a form: nothing in any URL.
    FormPost,
}

impl ResponseMode {
    /// The request's `response_mode`; `None` for one authd does not know.
    pub fn of(params: &AuthorizeParams) -> Option<Self> {
        match params.get("response_mode") {
            None | Some("query") => Some(Self::Query),
            Some("fragment") => Some(Self::Fragment),
            Some("form_post") => Some(Self::FormPost),
            Some(_) => None,
        }
    }
}

/// An answer for the client: the redirect URI with the response parameters in its query,
/// and how to deliver them.
#[derive(Clone, Debug)]
pub struct ClientRedirect {
    pub url: String,
    pub mode: ResponseMode,
}

/// A flow's failure, its cause kept whole (an unreachable database still reads as one).
impl From<AccountError> for AuthorizeError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Unexpected(cause) => AuthorizeError::Server(cause),
            other => AuthorizeError::Server(anyhow::Error::new(other)),
        }
    }
}

/// The query of an authorization request, each parameter at most once.
pub struct AuthorizeParams(Params);

impl AuthorizeParams {
    pub fn parse(query: &str) -> Result<Self, AuthorizeError> {
        Params::parse(query.as_bytes()).map(Self).map_err(|e| {
            AuthorizeError::Page(format!(
                "The sign-in link is damaged ({}).",
                e.description()
            ))
        })
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key)
    }

    /// The request as one query string, to carry through the sign-in and consent forms.
    pub fn to_query(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.0.iter())
            .finish()
    }
}

impl authz::Request for AuthorizeParams {
    fn valid(&self) -> bool {
        true
    }
    fn client_id(&self) -> Option<Cow<'_, str>> {
        self.get("client_id").map(Cow::Borrowed)
    }
    fn scope(&self) -> Option<Cow<'_, str>> {
        self.get("scope").map(Cow::Borrowed)
    }
    fn redirect_uri(&self) -> Option<Cow<'_, str>> {
        self.get("redirect_uri").map(Cow::Borrowed)
    }
    fn state(&self) -> Option<Cow<'_, str>> {
        self.get("state").map(Cow::Borrowed)
    }
    fn response_type(&self) -> Option<Cow<'_, str>> {
        self.get("response_type").map(Cow::Borrowed)
    }
    fn extension(&self, key: &str) -> Option<Cow<'_, str>> {
        self.get(key).map(Cow::Borrowed)
    }
}

/// An authorization request oxide-auth found valid, waiting for the user to sign in and agree.
pub struct PendingAuthorization {
    endpoint: Endpoint,
    pending: async_authz::Pending,
    pub client: Client,
    pub scope: String,
    /// The registered redirect URI the answer will go to.
    pub redirect_uri: String,
    pub response_mode: ResponseMode,
}

fn redirect_of(error: authz::Error, mode: ResponseMode) -> AuthorizeError {
    match error {
        authz::Error::Redirect(url) => AuthorizeError::Redirect(ClientRedirect {
            url: Into::<url::Url>::into(url).to_string(),
            mode,
        }),
        authz::Error::Ignore => AuthorizeError::Page(
            "The application's sign-in link is not set up correctly: the address it asks \
                 to return to is not registered."
                .into(),
        ),
        authz::Error::PrimitiveError => {
            AuthorizeError::Server(anyhow::anyhow!("authorization primitive failed"))
        }
    }
}

/// Validates an authorization request (client, exact redirect URI, response type, scope, PKCE)
/// through oxide-auth's authorization state machine.
pub async fn start_authorization(
    state: &AppState,
    params: &AuthorizeParams,
) -> Result<PendingAuthorization, AuthorizeError> {
    let mut endpoint = Endpoint::new(state, IssueFor::Client);
    let client_id = params.get("client_id").ok_or_else(|| {
        AuthorizeError::Page(
            "The sign-in link does not say which application it is for (no client_id).".into(),
        )
    })?;
    let client = match endpoint.registrar.client(client_id).await {
        Ok(client) => client,
        Err(RegistrarError::Unspecified) => {
            return Err(AuthorizeError::Page(
                "The sign-in link names an application that is not registered here.".into(),
            ));
        }
        Err(RegistrarError::PrimitiveError) => {
            return Err(AuthorizeError::Server(anyhow::anyhow!(
                "client lookup failed"
            )));
        }
    };
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(AuthorizeError::Page(
            "This application is not allowed to sign people in through this page.".into(),
        ));
    }
    if params.get("redirect_uri").is_none() && client.redirect_uris.len() > 1 {
        return Err(AuthorizeError::Page(
            "The sign-in link does not say where to return (no redirect_uri), and this \
             application has several addresses."
                .into(),
        ));
    }
    endpoint.record_pkce.require_pkce = client.client_type == ClientType::Public;
    // An unknown mode is refused (by the caller) in the default one.
    let response_mode = ResponseMode::of(params).unwrap_or_default();
    endpoint.authorizer.redirect_uri_given = params.get("redirect_uri").is_some();
    let pending = async_authz::authorization_code(&mut endpoint, params)
        .await
        .map_err(|e| redirect_of(e, response_mode))?;
    let scope = sorted(&pending.pre_grant().scope);
    let redirect_uri = pending.pre_grant().redirect_uri.to_string();
    Ok(PendingAuthorization {
        endpoint,
        pending,
        client,
        scope,
        redirect_uri,
        response_mode,
    })
}

impl PendingAuthorization {
    /// The user agreed: a code for them, in the redirect back to the client.
    pub async fn approve(
        mut self,
        user_id: &str,
        auth_time: chrono::NaiveDateTime,
    ) -> Result<ClientRedirect, AuthorizeError> {
        self.endpoint.authorizer.auth_time = Some(auth_time);
        let mode = self.response_mode;
        match self
            .pending
            .authorize(&mut self.endpoint, Cow::Borrowed(user_id))
            .await
        {
            Ok(url) => Ok(ClientRedirect {
                url: url.to_string(),
                mode,
            }),
            Err(e) => Err(redirect_of(e, mode)),
        }
    }

    /// An OAuth error back to the client (OIDC Core 3.1.2.6: `login_required`,
    /// `consent_required`, ...), with the request's `state`.
    pub fn error(&self, error: &str, description: &str, state: Option<&str>) -> AuthorizeError {
        let Ok(mut url) = url::Url::parse(&self.redirect_uri) else {
            return AuthorizeError::Page("The application's return address is not usable.".into());
        };
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("error", error);
            query.append_pair("error_description", description);
            if let Some(state) = state {
                query.append_pair("state", state);
            }
        }
        AuthorizeError::Redirect(ClientRedirect {
            url: url.to_string(),
            mode: self.response_mode,
        })
    }

    /// The user declined: `access_denied` back to the client.
    pub fn deny(self) -> AuthorizeError {
        let mode = self.response_mode;
        match self.pending.deny() {
            Ok(url) => AuthorizeError::Redirect(ClientRedirect {
                url: url.to_string(),
                mode,
            }),
            Err(e) => redirect_of(e, mode),
        }
    }
}

/// A code redemption as oxide-auth's access-token state machine reads it.
struct CodeRequest<'a> {
    code: &'a str,
    client_id: &'a str,
    secret: Option<&'a str>,
    redirect_uri: Option<&'a str>,
    code_verifier: Option<&'a str>,
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

/// The authorization_code grant (RFC 6749 section 4.1.3 with RFC 7636 PKCE) through
/// oxide-auth's access-token state machine: the code is redeemed once, by its client, with its
/// redirect URI and verifier, and opens a session for its user.
pub async fn redeem_code(
    state: &AppState,
    auth: ClientAuth,
    code: &str,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
    meta: ClientMeta,
) -> Result<TokenResponse, OAuthError> {
    let mut endpoint = Endpoint::new(state, IssueFor::CodeOwner(meta));
    endpoint.redeems = "authorization code";
    // Who asks is established before anything about the client is said.
    let client = super::client::authenticate(state, &auth).await?;
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(OAuthError::UnauthorizedClient(
            "this client may not use the authorization_code grant".into(),
        ));
    }
    // The token request repeats `redirect_uri` only when the authorization request named it
    // (RFC 6749 section 4.1.3); otherwise the code's own stands in.
    let stored;
    let redirect_uri = match redirect_uri {
        Some(uri) => Some(uri),
        None => match OpaqueToken::from_presented(code) {
            Some(token) => match codes::find_code(&state.db, &token.hash()).await? {
                Some(row) if !row.redirect_uri_given => {
                    stored = row.redirect_uri;
                    Some(stored.as_str())
                }
                Some(_) => {
                    return Err(OAuthError::InvalidRequest(
                        "redirect_uri is required: the authorization request named one".into(),
                    ));
                }
                None => None,
            },
            None => None,
        },
    };
    endpoint.authorizer.redeeming = Some(Redemption {
        client_id: auth.client_id.clone(),
        redirect_uri: redirect_uri.map(str::to_owned),
        code_verifier: code_verifier.map(str::to_owned),
    });
    let request = CodeRequest {
        code,
        client_id: &auth.client_id,
        secret: auth.secret.as_deref().filter(|s| !s.is_empty()),
        redirect_uri,
        code_verifier,
    };
    match async_token::access_token(&mut endpoint, &request).await {
        Ok(_) => match endpoint.issuer.minted.take() {
            Some(Minted::Code {
                issued,
                nonce,
                auth_time,
            }) => respond(state, &client, *issued, nonce, auth_time),
            _ => Err(OAuthError::ServerError(anyhow::anyhow!(
                "the code issued nothing"
            ))),
        },
        Err(accesstoken::Error::Invalid(mut d)) => {
            Err(endpoint.error(Some(d.description()), false, auth.basic))
        }
        Err(accesstoken::Error::Unauthorized(mut d, _)) => {
            Err(endpoint.error(Some(d.description()), true, auth.basic))
        }
        Err(accesstoken::Error::Primitive(_)) => Err(endpoint.error(None, false, auth.basic)),
    }
}
