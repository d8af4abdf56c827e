//! OAuth 2.0 and OpenID Connect: clients, the token endpoint and its grants. Protocol code
//! here knows nothing of HTTP.

pub mod authorize;
pub mod backchannel;
pub mod client;
pub mod client_auth;
pub mod dpop;
mod error;
pub(crate) mod grants;
pub mod introspection;
mod oxide;
pub mod resource;
pub mod token;
pub mod userinfo;
pub mod wire;

pub use error::OAuthError;

pub use grants::authorization_code::{
    AuthorizeError, AuthorizeParams, ClientRedirect, PendingAuthorization, ResponseMode,
    start_authorization,
};
