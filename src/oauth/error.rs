//! The error codes of RFC 6749 section 5.2 (and RFC 7009/7662 where they reuse them). The
//! `Display` of a variant is its wire code; the text is the `error_description`.

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("invalid_request")]
    InvalidRequest(String),
    /// The client failed to authenticate; `basic` says whether it tried HTTP Basic, which the
    /// answer's `WWW-Authenticate` then names.
    #[error("invalid_client")]
    InvalidClient { description: String, basic: bool },
    #[error("invalid_grant")]
    InvalidGrant(String),
    #[error("unauthorized_client")]
    UnauthorizedClient(String),
    #[error("unsupported_grant_type")]
    UnsupportedGrantType(String),
    #[error("invalid_scope")]
    InvalidScope(String),
    /// A `resource` that is not a registered resource server, or not the one granted
    /// (RFC 8707 section 2).
    #[error("invalid_target")]
    InvalidTarget(String),
    /// A DPoP proof missing where the client must send one, or not valid (RFC 9449 section 5).
    #[error("invalid_dpop_proof")]
    InvalidDpopProof(String),
    /// The proof needs the server's nonce (RFC 9449 section 8): the answer's `DPoP-Nonce`.
    #[error("use_dpop_nonce")]
    UseDpopNonce,
    #[error("slow_down")]
    SlowDown { retry_after_secs: u64 },
    #[error("server_error")]
    ServerError(#[source] anyhow::Error),
}

impl OAuthError {
    pub fn description(&self) -> String {
        match self {
            OAuthError::InvalidRequest(d)
            | OAuthError::InvalidGrant(d)
            | OAuthError::UnauthorizedClient(d)
            | OAuthError::UnsupportedGrantType(d)
            | OAuthError::InvalidScope(d)
            | OAuthError::InvalidDpopProof(d)
            | OAuthError::InvalidTarget(d) => d.clone(),
            OAuthError::InvalidClient { description, .. } => description.clone(),
            OAuthError::SlowDown { .. } => "Too many requests, please try again later".into(),
            OAuthError::UseDpopNonce => {
                "The DPoP proof must carry the nonce of this answer's DPoP-Nonce header".into()
            }
            OAuthError::ServerError(_) => "The server could not complete the request".into(),
        }
    }

    pub fn invalid_client(basic: bool) -> Self {
        OAuthError::InvalidClient {
            description: "Client authentication failed".into(),
            basic,
        }
    }
}

/// A flow's unexpected failure, its cause kept whole (so an unreachable database still reads
/// as one and answers 503).
impl From<crate::accounts::AccountError> for OAuthError {
    fn from(e: crate::accounts::AccountError) -> Self {
        match e {
            crate::accounts::AccountError::Unexpected(cause) => OAuthError::ServerError(cause),
            other => OAuthError::ServerError(anyhow::Error::new(other)),
        }
    }
}

impl From<crate::storage::StorageError> for OAuthError {
    fn from(e: crate::storage::StorageError) -> Self {
        OAuthError::ServerError(e.into())
    }
}
