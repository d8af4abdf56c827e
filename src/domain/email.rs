//! An email address as authd accepts it: trimmed, syntactically valid, at most 254 chars, and
//! one that the mailer (lettre) accepts too, so nothing accepted here fails at sending.
//!
//! Rules beyond the syntax, as mainstream providers apply them: no quoted local parts and no
//! IP-literal domains; no fullwidth forms; no label (of the local part or the domain) that
//! mixes Latin letters with Cyrillic or Greek ones, the usual look-alike trick. Uniqueness is
//! checked on one form: the local part lower-cased, the domain in IDNA ASCII form (UTS 46), so
//! `user@bücher.de` and `user@xn--bcher-kva.de` are one address.

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
        let syntax_ok = match email_address::EmailAddress::from_str(trimmed) {
            // The crate accepts display forms like `Name <a@b>`; an address field holds the address alone.
            Ok(parsed) => parsed.as_str() == trimmed && !trimmed.contains(['<', '>', ' ']),
            Err(_) => false,
        };
        let Some((local, domain)) = trimmed.rsplit_once('@').filter(|_| syntax_ok) else {
            return Err("Invalid email address");
        };
        if local.starts_with('"') || domain.starts_with('[') {
            return Err("Invalid email address");
        }
        if trimmed
            .chars()
            .any(|c| ('\u{FF01}'..='\u{FF5E}').contains(&c))
            || local
                .split('.')
                .chain(idna::domain_to_unicode(domain).0.split('.'))
                .any(mixes_scripts)
        {
            return Err("Email address mixes look-alike characters");
        }
        if ascii_domain(domain).is_none() || trimmed.parse::<lettre::Address>().is_err() {
            return Err("Invalid email address");
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key under which uniqueness is checked: the local part lower-cased, the domain in
    /// its IDNA ASCII form.
    pub fn normalized(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').expect("parsed addresses have an @");
        let domain = ascii_domain(domain).expect("parsed domains convert");
        format!("{}@{domain}", local.to_lowercase())
    }

    pub fn local_part(&self) -> &str {
        self.0
            .rsplit_once('@')
            .map_or(self.0.as_str(), |(local, _)| local)
    }
}

/// The domain in IDNA ASCII form, lower-cased; `None` when it is no valid domain name.
fn ascii_domain(domain: &str) -> Option<String> {
    match url::Host::parse(domain).ok()? {
        url::Host::Domain(ascii) => Some(ascii.to_lowercase()),
        _ => None,
    }
}

#[derive(PartialEq)]
enum Script {
    Latin,
    Cyrillic,
    Greek,
}

fn script(c: char) -> Option<Script> {
    match c {
        'a'..='z' | 'A'..='Z' | '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}' => {
            Some(Script::Latin)
        }
        '\u{0400}'..='\u{052F}' => Some(Script::Cyrillic),
        '\u{0370}'..='\u{03FF}' | '\u{1F00}'..='\u{1FFF}' => Some(Script::Greek),
        _ => None,
    }
}

/// Whether one label holds letters of two of the scripts that look alike.
fn mixes_scripts(label: &str) -> bool {
    let mut seen: Option<Script> = None;
    for s in label.chars().filter_map(script) {
        match &seen {
            Some(first) if *first != s => return true,
            Some(_) => {}
            None => seen = Some(s),
        }
    }
    false
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
    fn refuses_what_mail_cannot_carry_and_look_alikes() {
        for bad in [
            "victim@[127.0.0.1]",
            "\"a@b\"@example.com",
            "ｕser@example.com",
            "user@ｅxample.com",
            "pаypal@example.com",
            "user@pаypal.com",
            "αlpha@example.com",
            "user@xn--pypal-4ve.com",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
        for ok in ["иван@пример.рф", "ελένη@example.gr", "jöran@bücher.de"] {
            assert!(EmailAddress::parse(ok).is_ok(), "{ok:?} is one script");
        }
    }

    #[test]
    fn one_form_for_internationalised_domains() {
        let unicode = EmailAddress::parse("User@Bücher.de").unwrap();
        let ascii = EmailAddress::parse("user@xn--bcher-kva.de").unwrap();
        assert_eq!(unicode.normalized(), ascii.normalized());
        assert_eq!(ascii.normalized(), "user@xn--bcher-kva.de");
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
