//! Person names: trimmed, bounded, free of control characters.

fn parse_name(raw: &str, max: usize, what: &'static str) -> Result<Option<String>, String> {
    let t = raw.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if t.chars().count() > max {
        return Err(format!("{what} must be at most {max} characters"));
    }
    if t.chars().any(char::is_control) {
        return Err(format!("{what} contains invalid characters"));
    }
    Ok(Some(t.to_owned()))
}

/// A first or last name, at most 50 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str, what: &'static str) -> Result<Option<Self>, String> {
        parse_name(raw, 50, what).map(|o| o.map(Self))
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A full name, at most 100 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FullName(String);

impl FullName {
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        parse_name(raw, 100, "Full name").map(|o| o.map(Self))
    }

    /// The join of first and last name, when only those were given.
    pub fn join(first: Option<&PersonName>, last: Option<&PersonName>) -> Option<Self> {
        let parts: Vec<&str> = [first, last]
            .into_iter()
            .flatten()
            .map(|n| n.0.as_str())
            .collect();
        (!parts.is_empty()).then(|| Self(parts.join(" ")))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            PersonName::parse("  Ann ", "First name")
                .unwrap()
                .unwrap()
                .into_inner(),
            "Ann"
        );
        assert!(PersonName::parse("", "First name").unwrap().is_none());
        assert!(PersonName::parse(&"x".repeat(51), "First name").is_err());
        assert!(PersonName::parse("a\u{0}b", "First name").is_err());
        assert!(FullName::parse(&"é".repeat(100)).unwrap().is_some());
        let first = PersonName::parse("Ann", "f").unwrap();
        let last = PersonName::parse("Lee", "l").unwrap();
        assert_eq!(
            FullName::join(first.as_ref(), last.as_ref())
                .unwrap()
                .into_inner(),
            "Ann Lee"
        );
        assert!(FullName::join(None, None).is_none());
    }
}
