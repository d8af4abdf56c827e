//! Encryption at rest: what authd keeps in the database that must not be usable from a copy
//! of it (the signing keys) is sealed with AES-256-GCM (aws-lc-rs) under a key derived from
//! `AUTHD_SECRET` by HKDF-SHA256. Every instance is given the same secret.
//!
//! A sealed value is `version (1) || nonce (12) || ciphertext || tag (16)`, with a label
//! naming what it is (a key's `kid`, say) as associated data, so a sealed value moved to
//! another row does not open.
//!
//! The same secret also keys an HMAC-SHA256 (a key of its own, derived apart) for values that
//! authd hands out and must recognise as its own later, such as the hosted pages' CSRF values.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hkdf::{HKDF_SHA256, Salt};
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};

const VERSION: u8 = 1;
/// The fewest bytes a secret may have.
pub const MIN_SECRET_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// Wrong secret, or the value was altered or belongs to another label.
    #[error("the sealed value does not open with this AUTHD_SECRET")]
    WrongSecret,
    #[error("sealing failed")]
    Seal,
}

/// Seals and opens values under the key derived from the instance secret.
pub struct Sealer {
    key: LessSafeKey,
    mac: hmac::Key,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// Derives the sealing key from `secret` (at least [`MIN_SECRET_LEN`] bytes).
    pub fn new(secret: &[u8]) -> anyhow::Result<Self> {
        if secret.len() < MIN_SECRET_LEN {
            anyhow::bail!("the secret must be at least {MIN_SECRET_LEN} bytes");
        }
        let prk = Salt::new(HKDF_SHA256, b"authd sealing salt v1").extract(secret);
        let okm = prk
            .expand(&[b"authd at-rest encryption v1"], &AES_256_GCM)
            .map_err(|_| anyhow::anyhow!("deriving the sealing key failed"))?;
        let mac = prk
            .expand(&[b"authd message authentication v1"], hmac::HMAC_SHA256)
            .map_err(|_| anyhow::anyhow!("deriving the MAC key failed"))?;
        Ok(Self {
            key: LessSafeKey::new(UnboundKey::from(okm)),
            mac: hmac::Key::from(mac),
        })
    }

    /// The HMAC-SHA256 of `parts` (each length-prefixed, so no two lists give the same input).
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.mac);
        for part in parts {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    pub fn seal(&self, label: &str, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| SealError::Seal)?;
        let mut in_out = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(label.as_bytes()),
                &mut in_out,
            )
            .map_err(|_| SealError::Seal)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + in_out.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&in_out);
        Ok(out)
    }

    pub fn open(&self, label: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let (&version, rest) = sealed.split_first().ok_or(SealError::WrongSecret)?;
        if version != VERSION || rest.len() < NONCE_LEN {
            return Err(SealError::WrongSecret);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::WrongSecret)?;
        let mut in_out = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(label.as_bytes()), &mut in_out)
            .map_err(|_| SealError::WrongSecret)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn opens_what_it_sealed_and_nothing_else() {
        let sealer = Sealer::new(SECRET).unwrap();
        let sealed = sealer.seal("kid-1", b"private key").unwrap();
        assert!(!sealed.windows(11).any(|w| w == b"private key"));
        assert_eq!(sealer.open("kid-1", &sealed).unwrap(), b"private key");
        assert!(sealer.open("kid-2", &sealed).is_err(), "bound to its label");
        let other = Sealer::new(b"another secret of at least 32 bytes!").unwrap();
        assert!(other.open("kid-1", &sealed).is_err(), "bound to the secret");
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(sealer.open("kid-1", &flipped).is_err(), "tamper-evident");
        assert!(sealer.open("kid-1", &[]).is_err());
        assert_ne!(
            sealer.seal("kid-1", b"x").unwrap(),
            sealer.seal("kid-1", b"x").unwrap(),
            "a fresh nonce each time"
        );
        assert!(Sealer::new(b"short").is_err());
    }

    #[test]
    fn macs_are_keyed_and_unambiguous() {
        let sealer = Sealer::new(SECRET).unwrap();
        let other = Sealer::new(b"another secret of at least 32 bytes!").unwrap();
        assert_eq!(sealer.mac(&[b"a", b"b"]), sealer.mac(&[b"a", b"b"]));
        assert_ne!(sealer.mac(&[b"a", b"b"]), other.mac(&[b"a", b"b"]));
        assert_ne!(sealer.mac(&[b"ab", b""]), sealer.mac(&[b"a", b"b"]));
    }
}
