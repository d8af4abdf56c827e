//! Opaque secrets handed to clients (refresh tokens, email links): 256 random bits,
//! base64url, stored only as SHA-256 hashes.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

const TOKEN_BYTES: usize = 32;
/// Anything longer than this was never issued by authd; it is not even hashed.
const MAX_PRESENTED_LEN: usize = 512;

/// A token as the client holds it. `Debug` never shows it.
#[derive(Clone)]
pub struct OpaqueToken(SecretString);

/// The SHA-256 of a token, hex encoded: the only form the database sees.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash(String);

impl OpaqueToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; TOKEN_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(SecretString::from(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// A token presented by a client; `None` when it cannot be one of ours.
    pub fn from_presented(raw: &str) -> Option<Self> {
        let t = raw.trim();
        (!t.is_empty() && t.len() <= MAX_PRESENTED_LEN)
            .then(|| Self(SecretString::from(t.to_owned())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(hex(&Sha256::digest(self.expose().as_bytes())))
    }

    /// Seals `successor` so that only the holder of `self` can open it: the successor's bytes
    /// XOR a pad derived from `self`. `self` carries 256 random bits and seals exactly one
    /// successor, so the pad is never reused.
    pub fn seal(&self, successor: &OpaqueToken) -> String {
        let raw = URL_SAFE_NO_PAD
            .decode(successor.expose())
            .expect("successors are minted by generate()");
        URL_SAFE_NO_PAD.encode(xor_pad(self, &raw))
    }

    pub fn unseal(&self, sealed: &str) -> Option<OpaqueToken> {
        let raw = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        (raw.len() == TOKEN_BYTES).then(|| {
            Self(SecretString::from(
                URL_SAFE_NO_PAD.encode(xor_pad(self, &raw)),
            ))
        })
    }
}

fn xor_pad(key: &OpaqueToken, data: &[u8]) -> Vec<u8> {
    let pad = Sha256::new()
        .chain_update(b"authd refresh-token successor v1\0")
        .chain_update(key.expose().as_bytes())
        .finalize();
    data.iter().zip(pad.iter()).map(|(d, p)| d ^ p).collect()
}

fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

impl TokenHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OpaqueToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OpaqueToken(REDACTED)")
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({}…)", &self.0[..8])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_and_distinct() {
        let a = OpaqueToken::generate();
        let b = OpaqueToken::generate();
        assert_eq!(URL_SAFE_NO_PAD.decode(a.expose()).unwrap().len(), 32);
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.hash().as_str().len(), 64);
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn seal_opens_only_with_the_sealing_token() {
        let old = OpaqueToken::generate();
        let next = OpaqueToken::generate();
        let sealed = old.seal(&next);
        assert!(!sealed.contains(next.expose()));
        assert_eq!(old.unseal(&sealed).unwrap().expose(), next.expose());
        let other = OpaqueToken::generate();
        assert_ne!(other.unseal(&sealed).unwrap().expose(), next.expose());
        assert!(old.unseal("not base64!").is_none());
    }

    #[test]
    fn debug_is_redacted_and_oversized_input_refused() {
        let t = OpaqueToken::generate();
        assert!(!format!("{t:?}").contains(t.expose()));
        assert!(OpaqueToken::from_presented(&"a".repeat(513)).is_none());
        assert!(OpaqueToken::from_presented("  ").is_none());
    }
}
