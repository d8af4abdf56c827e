//! The emails authd sends, each with a plain-text and an HTML body.

use lettre::Message;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};

pub struct Email {
    pub subject: &'static str,
    pub intro: &'static str,
    pub action: &'static str,
    pub link: String,
    pub outro: &'static str,
}

impl Email {
    pub fn verify_email(link: String) -> Self {
        Self {
            subject: "Confirm your email address",
            intro: "Welcome! Please confirm your email address to finish creating your account.",
            action: "Confirm email address",
            link,
            outro: "The link is valid for 24 hours. If you did not sign up, ignore this email.",
        }
    }

    pub fn reset_password(link: String) -> Self {
        Self {
            subject: "Reset your password",
            intro: "Someone asked to reset the password of your account.",
            action: "Choose a new password",
            link,
            outro: "The link is valid for 1 hour. If it was not you, ignore this email: your password stays as it is.",
        }
    }

    pub(super) fn build(&self, from: Mailbox, to: Mailbox) -> anyhow::Result<Message> {
        let text = format!(
            "{}\n\n{}:\n{}\n\n{}\n",
            self.intro, self.action, self.link, self.outro
        );
        let link = html_escape(&self.link);
        let html = format!(
            "<!doctype html><html><body style=\"font-family:sans-serif\">\
             <p>{}</p><p><a href=\"{link}\">{}</a></p><p style=\"color:#666\">{}</p>\
             <p style=\"color:#666;font-size:small\">{link}</p></body></html>",
            html_escape(self.intro),
            html_escape(self.action),
            html_escape(self.outro),
        );
        Ok(Message::builder()
            .from(from)
            .to(to)
            .subject(self.subject)
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

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
