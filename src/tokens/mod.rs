//! Token machinery: signing keys, JWT access tokens, opaque secrets.

pub mod jwt;
pub mod keys;
mod opaque;

pub use jwt::{AccessClaims, JwtError};
pub use keys::KeyStore;
pub use opaque::{OpaqueToken, TokenHash};
