//! Authorization codes as oxide-auth's `Authorizer`: stored hashed, checked before they are
//! consumed, redeemed once.

use async_trait::async_trait;
use oxide_auth::primitives::grant::Value;
use oxide_auth::primitives::grant::{Extensions, Grant};
use oxide_auth_async::primitives::Authorizer;

use super::*;
use crate::oauth::OAuthError;
use crate::state::AppState;
use crate::storage::{AuthorizationCodeRow, codes, sessions};
use crate::tokens::OpaqueToken;

/// How long a code may wait to be redeemed (RFC 6749 section 4.1.2 recommends at most 10 min).
pub(crate) const CODE_TTL_SECS: i64 = 60;

/// Authorization codes in the database: stored as hashes, bound to client, redirect URI and PKCE
/// challenge, redeemed once.
pub(crate) struct DbAuthorizer {
    pub(crate) state: AppState,
    pub(crate) failure: Failure,
    /// The sign-in the code is granted under.
    pub(crate) sign_in_id: Option<String>,
    /// Who is redeeming a code, and with what: checked before the code is consumed, so that a
    /// wrong client, redirect URI or verifier cannot burn the real client's code.
    pub(crate) redeeming: Option<Redemption>,
    /// Whether the authorization request named its redirect URI.
    pub(crate) redirect_uri_given: bool,
}

pub(crate) struct Redemption {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: Option<String>,
    pub(crate) code_verifier: Option<String>,
}

/// Whether `verifier` answers the code's PKCE `challenge` (RFC 7636 section 4.6); no challenge
/// wants no verifier.
pub(crate) fn pkce_matches(challenge: Option<&str>, verifier: Option<&str>) -> bool {
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
    pub(crate) async fn replayed(&self, row: &AuthorizationCodeRow) -> Result<(), ()> {
        tracing::warn!("an authorization code was presented again; its session is ended");
        if let Some(session_id) = &row.session_id {
            sessions::revoke_session(
                &self.state.db,
                session_id,
                self.state.clock.now_naive(),
                None,
            )
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
        let Some(sign_in_id) = self.sign_in_id.clone() else {
            return fail(
                &self.failure,
                OAuthError::ServerError(anyhow::anyhow!("a code without a sign-in")),
            );
        };
        let code = OpaqueToken::generate();
        let row = AuthorizationCodeRow {
            code_hash: code.hash().as_str().to_owned(),
            client_id: grant.client_id.clone(),
            user_id: grant.owner_id.clone(),
            redirect_uri: grant.redirect_uri.to_string(),
            scope: sorted(&grant.scope),
            code_challenge: private_value(&grant.extensions, EXT_PKCE),
            nonce: private_value(&grant.extensions, EXT_NONCE),
            expires_at: now + chrono::Duration::seconds(CODE_TTL_SECS),
            consumed_at: None,
            session_id: None,
            redirect_uri_given: self.redirect_uri_given,
            sign_in_id,
            resource: private_value(&grant.extensions, EXT_RESOURCE),
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
        if let Some(resource) = row.resource {
            extensions.set_raw(EXT_RESOURCE.into(), Value::private(Some(resource)));
        }
        extensions.set_raw(EXT_SIGN_IN.into(), Value::private(Some(row.sign_in_id)));
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
