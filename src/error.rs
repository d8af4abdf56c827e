//! `ApiError`: the only error type that becomes an HTTP response on `/api/...` routes.
//! Its body is the contract's `{"message", "errors"?}`; internal causes are logged, never sent.

use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Field name to what is wrong with it.
pub type FieldErrors = BTreeMap<String, String>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("validation failed")]
    Validation(FieldErrors),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(&'static str),
    /// A DPoP proof without the server's nonce (RFC 9449 section 8): the nonce to use, sent
    /// as the answer's `DPoP-Nonce`.
    #[error("A DPoP nonce is required: make the proof again with this answer's DPoP-Nonce")]
    UseDpopNonce(String),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("The request body did not arrive in time")]
    RequestTimeout,
    #[error("{0}")]
    UnsupportedMediaType(&'static str),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("Too many requests, please try again later")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("{0}")]
    Unavailable(&'static str),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(BTreeMap::from([(field.to_owned(), message.into())]))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) | ApiError::UseDpopNonce(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<crate::storage::StorageError> for ApiError {
    fn from(e: crate::storage::StorageError) -> Self {
        ApiError::Internal(e.into())
    }
}

/// What a client is told when the database cannot be reached.
pub const UNAVAILABLE: &str = "The service is temporarily unavailable, please try again";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self
            && crate::storage::StorageError::is_unavailable(cause)
        {
            tracing::error!(error = %cause, "database unavailable");
            let mut response = ApiError::Unavailable(UNAVAILABLE).into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            return response;
        }
        let status = self.status();
        let body = match &self {
            ApiError::Validation(errors) => {
                json!({"message": "Validation failed", "errors": errors})
            }
            ApiError::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                json!({"message": "Internal server error"})
            }
            other => json!({"message": other.to_string()}),
        };
        let mut response = (status, axum::Json(body)).into_response();
        match &self {
            ApiError::Unauthorized(_) => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::TooManyRequests { retry_after_secs } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            ApiError::UseDpopNonce(nonce) => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("DPoP error=\"use_dpop_nonce\""),
                );
                if let Ok(value) = HeaderValue::from_str(nonce) {
                    response.headers_mut().insert("dpop-nonce", value);
                }
            }
            _ => {}
        }
        response
    }
}

/// How an account flow's failure reads on the wire (the flows themselves know no HTTP).
impl From<crate::accounts::AccountError> for ApiError {
    fn from(e: crate::accounts::AccountError) -> Self {
        match e {
            crate::accounts::AccountError::InvalidCredentials => {
                ApiError::Unauthorized("Invalid credentials")
            }
            crate::accounts::AccountError::InvalidRefreshToken
            | crate::accounts::AccountError::DpopKeyMismatch => {
                ApiError::Unauthorized("Invalid refresh token")
            }
            crate::accounts::AccountError::EmailNotVerified => {
                ApiError::Forbidden("Email not verified")
            }
            crate::accounts::AccountError::AccountDisabled => {
                ApiError::Forbidden("Account disabled")
            }
            crate::accounts::AccountError::InvalidToken => {
                ApiError::BadRequest("Invalid or expired token".into())
            }
            crate::accounts::AccountError::AlreadyVerified => {
                ApiError::Conflict("Email already verified".into())
            }
            crate::accounts::AccountError::InUse(message) => ApiError::Conflict(message.into()),
            crate::accounts::AccountError::WrongPassword => {
                ApiError::Unauthorized("Current password is incorrect")
            }
            crate::accounts::AccountError::InvalidCode => ApiError::Unauthorized("Invalid code"),
            crate::accounts::AccountError::InvalidChallenge => {
                ApiError::Unauthorized("Invalid or expired challenge")
            }
            crate::accounts::AccountError::PasskeyRefused => {
                ApiError::Unauthorized("The passkey was not accepted")
            }
            crate::accounts::AccountError::PasskeyExpired => {
                ApiError::Unauthorized("The passkey request expired or was used: start again")
            }
            crate::accounts::AccountError::SecondFactorRequired(why) => ApiError::Forbidden(why),
            crate::accounts::AccountError::TooManyAttempts { retry_after_secs } => {
                ApiError::TooManyRequests { retry_after_secs }
            }
            crate::accounts::AccountError::Invalid(field, message) => {
                ApiError::field(field, message)
            }
            crate::accounts::AccountError::NotFound(what) => ApiError::NotFound(what),
            crate::accounts::AccountError::NotAllowed(why) => ApiError::Forbidden(why),
            crate::accounts::AccountError::Unexpected(cause) => ApiError::Internal(cause),
        }
    }
}
