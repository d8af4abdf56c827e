//! Token machinery: signing keys, JWT access tokens, opaque secrets.

pub mod jwt;
pub mod keys;
mod opaque;

pub use jwt::{AccessClaims, JwtError};
pub use keys::{
    KeyLifecycle, KeyStatus, KeyStore, SealedKey, SigningAlg, SigningKey, read_key_folder,
};
pub use opaque::{OpaqueToken, TokenHash};
