//! How a person proved who they are: the authentication methods of a sign-in (`amr`, RFC 8176
//! values) and the level they add up to (`acr`, OIDC Core 2).

use std::fmt;

/// One way of proving who one is (RFC 8176 section 2).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// A password.
    Pwd,
    /// A one-time code (authenticator app, recovery code).
    Otp,
    /// A hardware-bound key (a passkey).
    Hwk,
    /// The authenticator verified its user (a passkey's PIN or biometric).
    User,
    /// Another identity provider vouched for the person.
    Fed,
    /// Several factors, as another provider reports it without naming them.
    Mfa,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pwd => "pwd",
            Self::Otp => "otp",
            Self::Hwk => "hwk",
            Self::User => "user",
            Self::Fed => "fed",
            Self::Mfa => "mfa",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pwd" => Some(Self::Pwd),
            "otp" => Some(Self::Otp),
            "hwk" => Some(Self::Hwk),
            "user" => Some(Self::User),
            "fed" => Some(Self::Fed),
            "mfa" => Some(Self::Mfa),
            _ => None,
        }
    }
}

/// The methods of one sign-in: sorted, each once. Empty for an anonymous user, who proved
/// nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Methods(Vec<Method>);

impl Methods {
    pub fn new(methods: impl IntoIterator<Item = Method>) -> Self {
        let mut v: Vec<Method> = methods.into_iter().collect();
        v.sort_unstable();
        v.dedup();
        Self(v)
    }

    pub fn none() -> Self {
        Self(Vec::new())
    }

    /// As stored: space-separated values; unknown ones (from a newer version) are kept out.
    pub fn parse(stored: &str) -> Self {
        Self::new(stored.split_whitespace().filter_map(Method::parse))
    }

    pub fn iter(&self) -> impl Iterator<Item = Method> + '_ {
        self.0.iter().copied()
    }

    pub fn contains(&self, m: Method) -> bool {
        self.0.contains(&m)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `amr` claim's values.
    pub fn values(&self) -> Vec<&'static str> {
        self.0.iter().map(|m| m.as_str()).collect()
    }

    /// What the methods add up to: two different factors are multi-factor (so is `mfa`).
    pub fn level(&self) -> Level {
        if self.contains(Method::Mfa) {
            return Level::Multi;
        }
        // Another provider's sign-in and a password here may both be passwords: one kind of
        // factor, however many.
        if self.contains(Method::Fed)
            && self
                .0
                .iter()
                .all(|m| matches!(m, Method::Fed | Method::Pwd))
        {
            return Level::Single;
        }
        match self.0.len() {
            0 => Level::Anonymous,
            1 => Level::Single,
            _ => Level::Multi,
        }
    }
}

impl fmt::Display for Methods {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.values().join(" "))
    }
}

/// How sure authd is of who signed in, as an `acr` value: `0` for nobody in particular (OIDC
/// Core 2: does not meet ISO/IEC 29115 level 1), then the authenticator assurance levels of
/// NIST SP 800-63B.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Anonymous,
    /// One factor (a password).
    Single,
    /// Two different factors.
    Multi,
}

impl Level {
    /// The levels a sign-in on authd can reach, as discovery lists them.
    pub const OFFERED: [Level; 2] = [Level::Single, Level::Multi];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anonymous => "0",
            Self::Single => "aal1",
            Self::Multi => "aal2",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "0" => Some(Self::Anonymous),
            "aal1" => Some(Self::Single),
            "aal2" => Some(Self::Multi),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_a_set_and_add_up_to_a_level() {
        let m = Methods::parse("pwd otp pwd bogus");
        assert_eq!(m.to_string(), "pwd otp");
        assert_eq!(m.level(), Level::Multi);
        assert_eq!(Methods::parse("pwd").level(), Level::Single);
        assert_eq!(Methods::parse("").level(), Level::Anonymous);
        assert_eq!(Methods::none().values(), Vec::<&str>::new());
        for level in [Level::Anonymous, Level::Single, Level::Multi] {
            assert_eq!(Level::parse(level.as_str()), Some(level));
        }
        assert!(Level::Single < Level::Multi);
        assert_eq!(Level::parse("urn:other"), None);
    }

    #[test]
    fn another_providers_word_counts_as_one_factor() {
        for (amr, level) in [
            ("fed", Level::Single),
            ("fed pwd", Level::Single),
            ("fed otp", Level::Multi),
            ("fed hwk user", Level::Multi),
            ("fed mfa", Level::Multi),
            ("hwk user", Level::Multi),
        ] {
            assert_eq!(Methods::parse(amr).level(), level, "{amr}");
        }
    }
}
