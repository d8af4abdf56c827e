//! A username: 3 to 32 of `a-z 0-9 . _ -`.

use std::fmt;

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Username(String);

impl Username {
    pub const MIN: usize = 3;
    pub const MAX: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let t = raw.trim();
        if t.len() < Self::MIN || t.len() > Self::MAX {
            return Err("Username must be 3 to 32 characters");
        }
        if !t.chars().all(Self::allowed) {
            return Err("Username may contain only a-z, 0-9, '.', '_' and '-'");
        }
        Ok(Self(t.to_owned()))
    }

    fn allowed(c: char) -> bool {
        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
    }

    /// A base for a username derived from an email's local part: lower-cased, other characters
    /// dropped, padded to the minimum and cut to leave room for a numeric suffix.
    pub fn base_from_email_local(local: &str) -> String {
        let mut base: String = local
            .to_lowercase()
            .chars()
            .filter(|c| Self::allowed(*c))
            .take(Self::MAX - 6)
            .collect();
        if base.len() < Self::MIN {
            base.push_str("user");
        }
        base
    }

    /// The `n`th candidate for a derived username: the base, then base + n.
    pub fn candidate(base: &str, n: u32) -> Self {
        if n == 0 {
            Self(base.to_owned())
        } else {
            Self(format!("{base}{n}"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Username;

    #[test]
    fn parse_rules() {
        assert!(Username::parse("jane.doe_1-x").is_ok());
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("Jane").is_err());
        assert!(Username::parse("jäne").is_err());
        assert!(Username::parse(&"a".repeat(33)).is_err());
    }

    #[test]
    fn derived_candidates_are_valid() {
        for local in ["Jane.Doe", "x", "ü", "a+b", &"verylong".repeat(10)] {
            let base = Username::base_from_email_local(local);
            for n in [0, 7, 99999] {
                let c = Username::candidate(&base, n);
                assert!(Username::parse(c.as_str()).is_ok(), "{local} -> {c}");
            }
        }
        assert_eq!(Username::base_from_email_local("Jane.Doe"), "jane.doe");
        assert_eq!(Username::base_from_email_local("a"), "auser");
    }
}
