//! The emails authd sends, each with a plain-text and an HTML body, rendered from
//! `templates/email.txt` and `templates/email.html` by the pages' engine (minijinja, the HTML
//! autoescaped) in the language the email was written in.

use std::sync::LazyLock;

use lettre::Message;
use minijinja::Environment;

use crate::config::Brand;
use crate::i18n::{Lang, Text};
use crate::t;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // The text part ends with a line break, as an email's text does.
    env.set_keep_trailing_newline(true);
    for (name, source) in [
        ("email.html", include_str!("../../templates/email.html")),
        ("email.txt", include_str!("../../templates/email.txt")),
    ] {
        env.add_template(name, source)
            .expect("the built-in email templates parse");
    }
    env.add_function("t", crate::i18n::template_function);
    env
});

/// The language of an email queued before emails had one.
fn english() -> Lang {
    Lang::En
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Email {
    /// The language the email is written in (the request's, when it was queued).
    #[serde(default = "english")]
    pub lang: Lang,
    pub subject: String,
    pub intro: String,
    /// The button text and the link it follows; notices have none.
    pub action: Option<(String, String)>,
    pub outro: String,
}

impl Email {
    pub fn verify_email(lang: Lang, link: String) -> Self {
        Self {
            lang,
            subject: t!("email-verify-subject").in_(lang),
            intro: t!("email-verify-intro").in_(lang),
            action: Some((t!("email-confirm-button").in_(lang), link)),
            outro: t!("email-verify-outro").in_(lang),
        }
    }

    pub fn confirm_new_email(lang: Lang, link: String) -> Self {
        Self {
            lang,
            subject: t!("email-new-address-subject").in_(lang),
            intro: t!("email-new-address-intro").in_(lang),
            action: Some((t!("email-confirm-button").in_(lang), link)),
            outro: t!("email-new-address-outro").in_(lang),
        }
    }

    pub fn email_change_notice(lang: Lang, new_email: &str, cancel_link: String) -> Self {
        Self {
            lang,
            subject: t!("email-change-subject").in_(lang),
            intro: Text::new(t!("email-change-intro"))
                .arg("email", new_email)
                .in_(lang),
            action: Some((t!("email-change-button").in_(lang), cancel_link)),
            outro: t!("email-change-outro").in_(lang),
        }
    }

    pub fn reset_password(lang: Lang, link: String) -> Self {
        Self {
            lang,
            subject: t!("email-reset-subject").in_(lang),
            intro: t!("email-reset-intro").in_(lang),
            action: Some((t!("email-reset-button").in_(lang), link)),
            outro: t!("email-reset-outro").in_(lang),
        }
    }

    /// The proof that links an identity at another provider to an account, by its address.
    pub fn link_identity(lang: Lang, provider: &str, link: String) -> Self {
        let said = |key| Text::new(key).arg("provider", provider).in_(lang);
        Self {
            lang,
            subject: said(t!("email-link-subject")),
            intro: said(t!("email-link-intro")),
            action: Some((said(t!("email-link-button")), link)),
            outro: t!("email-link-outro").in_(lang),
        }
    }

    /// A security notice: a second factor added or removed, a recovery code used, the factors
    /// reset by an administrator.
    pub fn security_notice(lang: Lang, subject: impl Into<Text>, what: impl Into<Text>) -> Self {
        Self {
            lang,
            subject: subject.into().in_(lang),
            intro: what.into().in_(lang),
            action: None,
            outro: t!("email-security-outro").in_(lang),
        }
    }

    pub fn link(&self) -> Option<&str> {
        self.action.as_ref().map(|(_, link)| link.as_str())
    }

    /// The message as sent: the brand names the sender and signs the footer (with the support
    /// link when there is one); lettre gives it a `Message-ID`.
    /// The message, with `message_id` (stable across retries, so a copy delivered twice is
    /// recognisably the same email).
    pub(super) fn build(
        &self,
        from: Mailbox,
        to: Mailbox,
        brand: &Brand,
        message_id: String,
    ) -> anyhow::Result<Message> {
        let context = minijinja::context! {
            lang => self.lang.tag(),
            subject => self.subject,
            intro => self.intro,
            action => self.action.as_ref().map(|(label, link)| minijinja::context! {
                label => label,
                link => link,
                short => short_link(link),
            }),
            outro => self.outro,
            brand => minijinja::context! {
                name => brand.name,
                color => brand.color,
                support_url => brand.support_url,
            },
        };
        let text = TEMPLATES.get_template("email.txt")?.render(&context)?;
        let html = TEMPLATES.get_template("email.html")?.render(&context)?;
        let from = match from.name {
            // The default sender takes the product's name.
            Some(name) if name == "authd" => Mailbox::new(Some(brand.name.clone()), from.email),
            _ => from,
        };
        Ok(Message::builder()
            .from(from)
            .to(to)
            .subject(format!("{} – {}", self.subject, brand.name))
            .message_id(Some(message_id))
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(plain_body(text)),
                    )
                    .singlepart(SinglePart::html(html)),
            )?)
    }
}

/// The plain-text part as 7bit when it is ASCII with lines under SMTP's 998-octet limit, so the
/// link stays whole on one line (lettre's own choice would fold it with quoted-printable at 76
/// columns); anything else goes through lettre's encoding choice.
fn plain_body(text: String) -> Body {
    let crlf = text.replace('\n', "\r\n");
    if crlf.is_ascii() && crlf.split("\r\n").all(|line| line.len() <= 998) {
        Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::SevenBit)
    } else {
        Body::new(text)
    }
}

/// A link as the HTML part shows it under the button: its host and path, cut short (the
/// button and the `href` carry it whole; the text part shows it whole).
fn short_link(link: &str) -> String {
    const MAX_CHARS: usize = 40;
    let shown = match url::Url::parse(link) {
        Ok(url) => {
            let host = url.host_str().unwrap_or_default();
            let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
            let path = url.path().trim_end_matches('/');
            format!("{host}{port}{path}")
        }
        Err(_) => link.to_owned(),
    };
    if shown.chars().count() <= MAX_CHARS {
        shown
    } else {
        let cut: String = shown.chars().take(MAX_CHARS - 1).collect();
        format!("{cut}\u{2026}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brand() -> Brand {
        Brand {
            name: "Example & Co".into(),
            logo_url: None,
            color: "#1d4ed8".into(),
            support_url: Some("https://help.example.com/?a=1&b=2".into()),
        }
    }

    /// The email as sent: its subject, its text part (and that part's transfer encoding) and
    /// its HTML part, decoded.
    struct Sent {
        subject: String,
        text: String,
        text_encoding: String,
        html: String,
    }

    fn sent(email: &Email) -> Sent {
        let message = email
            .build(
                "authd <authd@example.com>".parse().unwrap(),
                "ann@example.com".parse().unwrap(),
                &brand(),
                "<1@example.com>".into(),
            )
            .unwrap();
        let raw = message.formatted();
        let parsed = mailparse::parse_mail(&raw).unwrap();
        let part = |mime: &str| {
            parsed
                .subparts
                .iter()
                .find(|p| p.ctype.mimetype == mime)
                .unwrap_or_else(|| panic!("no {mime} part"))
        };
        let header = |p: &mailparse::ParsedMail<'_>, name: &str| {
            p.headers
                .iter()
                .find(|h| h.get_key().eq_ignore_ascii_case(name))
                .map(|h| h.get_value())
                .unwrap_or_default()
        };
        Sent {
            subject: header(&parsed, "subject"),
            text: part("text/plain").get_body().unwrap().replace("\r\n", "\n"),
            text_encoding: header(part("text/plain"), "content-transfer-encoding"),
            html: part("text/html").get_body().unwrap(),
        }
    }

    #[test]
    fn the_text_part_says_it_all_with_the_whole_link() {
        let link = "https://auth.example.com/api/auth/verify?token=abc&continue=%2Foauth";
        let sent = sent(&Email::verify_email(Lang::En, link.into()));
        assert_eq!(
            sent.subject,
            "Confirm your email address \u{2013} Example & Co"
        );
        assert_eq!(
            sent.text,
            format!(
                "Welcome! Please confirm your email address to finish creating your account.\n\n\
                 Confirm email address:\n{link}\n\n\
                 The link is valid for 24 hours. If you did not sign up, ignore this email.\n\n\
                 -- \nExample & Co\nHelp: https://help.example.com/?a=1&b=2\n"
            )
        );
        assert_eq!(sent.text_encoding, "7bit");
    }

    #[test]
    fn the_html_part_is_escaped_responsive_and_shows_a_short_link() {
        let link = "https://auth.example.com/api/auth/verify?token=abc&continue=%2Foauth";
        let sent = sent(&Email::email_change_notice(
            Lang::En,
            "new<b>@example.com",
            link.into(),
        ));
        let html = &sent.html;
        assert!(html.contains("<html lang=\"en\">"), "{html}");
        assert!(html.contains("name=\"viewport\""), "{html}");
        assert!(html.contains("new&lt;b&gt;@example.com"), "{html}");
        assert!(html.contains("Example &amp; Co"), "{html}");
        assert!(html.contains("token=abc&amp;continue=%2Foauth"), "{html}");
        assert!(
            html.contains(">auth.example.com&#x2f;api&#x2f;auth&#x2f;verify</a>"),
            "{html}"
        );
        assert!(!html.contains(">https:"), "the link is shown short: {html}");
    }

    #[test]
    fn a_notice_has_no_button() {
        let email = Email::security_notice(
            Lang::En,
            t!("email-password-changed-subject"),
            t!("email-password-changed-intro"),
        );
        assert!(email.link().is_none());
        let sent = sent(&email);
        assert!(
            sent.text
                .starts_with("The password of your account was just changed"),
            "{}",
            sent.text
        );
        assert!(!sent.html.contains("<a href=\"https:&#x2f;&#x2f;auth"));
        assert_eq!(
            sent.subject,
            "Your password was changed \u{2013} Example & Co"
        );
    }

    #[test]
    fn a_short_link_is_the_host_and_path_cut_short() {
        assert_eq!(
            short_link("https://auth.example.com/api/auth/verify?token=abc"),
            "auth.example.com/api/auth/verify"
        );
        assert_eq!(
            short_link("http://localhost:8080/account/link/confirm/and/a/long/path?token=x"),
            "localhost:8080/account/link/confirm/and\u{2026}"
        );
        assert_eq!(
            short_link("https://auth.example.com/?x=1"),
            "auth.example.com"
        );
    }

    #[test]
    fn an_email_is_written_in_its_language() {
        let email = Email::reset_password(Lang::Fr, "https://auth.example.com/r?token=t".into());
        assert_eq!(email.subject, t!("email-reset-subject").in_(Lang::Fr));
        assert_ne!(email.subject, "Reset your password");
        let sent = sent(&email);
        assert!(sent.html.contains("<html lang=\"fr\">"), "{}", sent.html);
        assert!(
            sent.text.contains("https://auth.example.com/r?token=t"),
            "{}",
            sent.text
        );
        // Queued before emails had a language: English.
        let old: Email =
            serde_json::from_str(r#"{"subject":"s","intro":"i","action":null,"outro":"o"}"#)
                .unwrap();
        assert_eq!(old.lang, Lang::En);
    }
}
