//! What a token request asks for beside its grant, shared by the grants and the dispatcher:
//! the DPoP key it proved and the resource server its tokens are for.

use crate::oauth::OAuthError;
use crate::oauth::client::{Client, ClientType};
use crate::oauth::dpop::ProvenKey;
use crate::oauth::resource::Resource;
use crate::signin::DpopBinding;

/// What a token request asks for beside its grant: a DPoP key it proved, and the resource
/// server its tokens are for.
#[derive(Clone, Copy)]
pub struct Asked<'a> {
    pub key: Option<&'a ProvenKey>,
    pub resource: Option<&'a Resource>,
}

/// What a token request for `client` binds, given the key it proved (if any): refused when
/// the client must prove one and did not.
pub fn binding(
    client: &Client,
    key: Option<&ProvenKey>,
) -> Result<Option<DpopBinding>, OAuthError> {
    match key {
        Some(key) => Ok(Some(DpopBinding {
            jkt: key.jkt.clone(),
            bind_refresh: client.client_type == ClientType::Public,
        })),
        None if client.require_dpop => Err(OAuthError::InvalidDpopProof(
            "this client must send a DPoP proof with its token requests".into(),
        )),
        None => Ok(None),
    }
}
