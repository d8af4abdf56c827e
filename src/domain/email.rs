//! An email address as authd accepts it: trimmed, syntactically valid, at most 254 chars.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("Email is required");
        }
        if trimmed.chars().count() > Self::MAX_LEN {
            return Err("Email must be at most 254 characters");
        }
        match email_address::EmailAddress::from_str(trimmed) {
            // The crate accepts display forms like `Name <a@b>`; an address field holds the address alone.
            Ok(parsed) if parsed.as_str() == trimmed && !trimmed.contains(['<', '>', ' ']) => {
                Ok(Self(trimmed.to_owned()))
            }
            _ => Err("Invalid email address"),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key under which uniqueness is checked: the whole address lower-cased.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }

    pub fn local_part(&self) -> &str {
        self.0
            .rsplit_once('@')
            .map_or(self.0.as_str(), |(local, _)| local)
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EmailAddress").field(&self.0).finish()
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::EmailAddress;

    #[test]
    fn accepts_any_tld_and_internationalised_domains() {
        for ok in [
            "a@b.co",
            "first.last+tag@example.africa",
            "user@sub.example.co.ke",
            "jöran@bücher.de",
            "user@xn--bcher-kva.de",
            "  padded@example.com  ",
        ] {
            assert!(EmailAddress::parse(ok).is_ok(), "{ok} should be accepted");
        }
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "   ",
            "plain",
            "@example.com",
            "user@",
            "a b@example.com",
            "Name <a@example.com>",
            "user@@example.com",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn rejects_addresses_longer_than_254() {
        let long = format!("{}@example.com", "a".repeat(64)) + &".example".repeat(25);
        assert!(long.len() > 254);
        assert!(EmailAddress::parse(&long).is_err());
    }

    #[test]
    fn normalizes_case_and_trims() {
        let e = EmailAddress::parse(" Mixed.Case@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "Mixed.Case@Example.COM");
        assert_eq!(e.normalized(), "mixed.case@example.com");
        assert_eq!(e.local_part(), "Mixed.Case");
    }
}
