//! OAuth 2.0 and OpenID Connect: clients, the token endpoint and its grants. Protocol code
//! here knows nothing of HTTP.

pub mod backchannel;
pub mod client;
mod error;
mod grants;
pub mod introspection;
mod oxide_adapter;
pub mod token;
pub mod wire;

pub use error::OAuthError;

pub use oxide_adapter::{
    AuthorizeError, AuthorizeParams, ClientRedirect, PendingAuthorization, ResponseMode,
    start_authorization,
};
