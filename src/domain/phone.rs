//! A phone number in E.164 form. Numbers without a `+` country code are refused: authd
//! serves users in many countries and will not guess one.

use std::fmt;

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("Phone number is empty");
        }
        if trimmed.len() > 32 {
            return Err("Invalid phone number");
        }
        if !trimmed.starts_with('+') && !trimmed.starts_with("00") {
            return Err("Phone number must start with + and the country code");
        }
        let normalized = trimmed
            .strip_prefix("00")
            .map_or_else(|| trimmed.to_owned(), |rest| format!("+{rest}"));
        let parsed = phonenumber::parse(None, &normalized).map_err(|_| "Invalid phone number")?;
        if !parsed.is_valid() {
            return Err("Invalid phone number");
        }
        Ok(Self(
            parsed.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    /// Whether a login identifier looks like a phone number rather than a username.
    pub fn looks_like(raw: &str) -> bool {
        let t = raw.trim();
        (t.starts_with('+') || t.starts_with("00"))
            && t.chars()
                .skip(1)
                .all(|c| c.is_ascii_digit() || " -().".contains(c))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::PhoneNumber;

    #[test]
    fn parses_to_e164() {
        assert_eq!(
            PhoneNumber::parse("+254 712 345678").unwrap().as_str(),
            "+254712345678"
        );
        assert_eq!(
            PhoneNumber::parse("0044 20 7946 0958").unwrap().as_str(),
            "+442079460958"
        );
        assert_eq!(
            PhoneNumber::parse("+1 (415) 555-2671").unwrap().as_str(),
            "+14155552671"
        );
    }

    #[test]
    fn rejects_garbage_and_numbers_without_country() {
        for bad in [
            "",
            "abc",
            "0712345678",
            "+1",
            "+999 1234",
            "+12345678901234567890123456789012345",
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn looks_like() {
        assert!(PhoneNumber::looks_like("+254712345678"));
        assert!(!PhoneNumber::looks_like("jane_doe"));
        assert!(!PhoneNumber::looks_like("jane@example.com"));
    }
}
