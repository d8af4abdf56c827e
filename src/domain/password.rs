//! A password that meets authd's policy. Its `Debug` never shows the value.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

pub struct Password(SecretString);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    /// Checks the policy: 8 to 128 characters, at least one letter and one digit, and not the
    /// account's own email address.
    pub fn parse(raw: &str, email: Option<&str>) -> Result<Self, &'static str> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err("Password must be at least 8 characters");
        }
        if chars > Self::MAX_CHARS {
            return Err("Password must be at most 128 characters");
        }
        if !raw.chars().any(char::is_alphabetic) || !raw.chars().any(|c| c.is_ascii_digit()) {
            return Err("Password must contain at least one letter and one digit");
        }
        if email.is_some_and(|e| e.trim().eq_ignore_ascii_case(raw.trim())) {
            return Err("Password must not be the email address");
        }
        Ok(Self(SecretString::from(raw.to_owned())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(REDACTED)")
    }
}

#[cfg(test)]
mod tests {
    use super::Password;

    #[test]
    fn policy() {
        assert!(Password::parse("abcdefg1", None).is_ok());
        assert!(Password::parse("pässwörd9", None).is_ok());
        assert!(Password::parse("short1", None).is_err());
        assert!(Password::parse("allletters", None).is_err());
        assert!(Password::parse("12345678", None).is_err());
        assert!(Password::parse(&"a1".repeat(65), None).is_err());
        assert!(Password::parse(&"a1".repeat(64), None).is_ok());
        assert!(Password::parse("me1@example.com", Some("ME1@example.com")).is_err());
    }

    #[test]
    fn debug_is_redacted() {
        let p = Password::parse("secret123", None).unwrap();
        assert!(!format!("{p:?}").contains("secret123"));
    }
}
