//! PKCE (RFC 7636) and the OIDC `nonce` as oxide-auth extensions.

use async_trait::async_trait;
use oxide_auth::code_grant::{accesstoken, authorization as authz};
use oxide_auth::primitives::grant::Extensions;
use oxide_auth::primitives::grant::Value;
use oxide_auth_async::code_grant::access_token as async_token;
use oxide_auth_async::code_grant::authorization as async_authz;

use super::*;
use crate::oauth::OAuthError;

/// PKCE (RFC 7636) and the OIDC `nonce`, recorded at the authorization request.
pub(crate) struct RecordPkceAndNonce {
    /// Public clients must use PKCE.
    pub(crate) require_pkce: bool,
    pub(crate) failure: Failure,
}

pub(crate) fn valid_pkce_token(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
}

#[async_trait]
impl async_authz::Extension for RecordPkceAndNonce {
    async fn extend(&mut self, request: &(dyn authz::Request + Sync)) -> Result<Extensions, ()> {
        let mut extensions = Extensions::new();
        // RFC 7636 section 4.4.1: say what is wrong.
        let refuse = |why: &str| fail(&self.failure, OAuthError::InvalidRequest(why.into()));
        match (
            request.extension("code_challenge"),
            request.extension("code_challenge_method"),
        ) {
            (Some(challenge), Some(method)) if method == "S256" => {
                if !valid_pkce_token(&challenge) {
                    return refuse(
                        "code_challenge must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', \
                         '_' and '~' (the BASE64URL of the verifier's SHA-256)",
                    );
                }
                extensions.set_raw(
                    EXT_PKCE.into(),
                    Value::private(Some(challenge.into_owned())),
                );
            }
            (None, None) if !self.require_pkce => {}
            (None, None) => {
                return refuse(
                    "code_challenge and code_challenge_method=S256 are required: this client \
                     must use PKCE",
                );
            }
            (Some(_), None) => {
                return refuse("code_challenge_method=S256 is required (plain is not supported)");
            }
            (None, Some(_)) => return refuse("code_challenge_method without a code_challenge"),
            (Some(_), Some(_)) => {
                return refuse("code_challenge_method must be S256 (plain is not supported)");
            }
        }
        // Checked against the registered resources by the authorize decision, before here.
        if let Some(resource) = request.extension("resource") {
            extensions.set_raw(
                EXT_RESOURCE.into(),
                Value::private(Some(resource.into_owned())),
            );
        }
        if let Some(nonce) = request.extension("nonce") {
            if nonce.len() > 512 {
                return refuse("nonce is longer than 512 characters");
            }
            extensions.set_raw(EXT_NONCE.into(), Value::private(Some(nonce.into_owned())));
        }
        Ok(extensions)
    }
}

/// Checks the `code_verifier` against the code's challenge, and carries the sign-in details
/// on to the issuer.
pub(crate) struct VerifyPkce {
    pub(crate) failure: Failure,
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
        for key in [EXT_NONCE, EXT_SIGN_IN, EXT_CODE, EXT_RESOURCE] {
            if let Some(value) = private_value(&data, key) {
                carried.set_raw(key.into(), Value::private(Some(value)));
            }
        }
        Ok(carried)
    }
}
