//! The emails authd sends, each with a plain-text and an HTML body.

use lettre::Message;

use crate::config::Brand;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Email {
    pub subject: String,
    pub intro: String,
    /// The button text and the link it follows; notices have none.
    pub action: Option<(String, String)>,
    pub outro: String,
}

impl Email {
    pub fn verify_email(link: String) -> Self {
        Self {
            subject: "Confirm your email address".into(),
            intro: "Welcome! Please confirm your email address to finish creating your account."
                .into(),
            action: Some(("Confirm email address".into(), link)),
            outro: "The link is valid for 24 hours. If you did not sign up, ignore this email."
                .into(),
        }
    }

    pub fn confirm_new_email(link: String) -> Self {
        Self {
            subject: "Confirm your new email address".into(),
            intro: "Please confirm this address to make it the email address of your account."
                .into(),
            action: Some(("Confirm email address".into(), link)),
            outro: "The link is valid for 24 hours. Until then your old address keeps working."
                .into(),
        }
    }

    pub fn email_change_notice(new_email: &str, cancel_link: String) -> Self {
        Self {
            subject: "Your email address is being changed".into(),
            intro: format!(
                "Someone signed in to your account asked to change its email address to {new_email}. \
                 The change takes effect when the new address is confirmed."
            ),
            action: Some(("This was not me: stop the change".into(), cancel_link)),
            outro: "Until the new address is confirmed, the link stops the change and signs every \
                    device out; then choose a new password."
                .into(),
        }
    }

    pub fn reset_password(link: String) -> Self {
        Self {
            subject: "Reset your password".into(),
            intro: "Someone asked to reset the password of your account.".into(),
            action: Some(("Choose a new password".into(), link)),
            outro: "The link is valid for 1 hour. If it was not you, ignore this email: your password stays as it is.".into(),
        }
    }

    /// The proof that links an identity at another provider to an account, by its address.
    pub fn link_identity(provider: &str, link: String) -> Self {
        Self {
            subject: format!("Link your {provider} sign-in to your account?"),
            intro: format!(
                "Someone signed in with {provider} using this email address and asked to use it \
                 to sign in to your account. If it was you, open the link in the same browser."
            ),
            action: Some((format!("Link {provider}"), link)),
            outro: "The link is valid for 30 minutes and works only in the browser that asked. \
                    If it was not you, ignore this email: nothing changes."
                .into(),
        }
    }

    /// A security notice: a second factor added or removed, a recovery code used, the factors
    /// reset by an administrator.
    pub fn security_notice(subject: &str, what: String) -> Self {
        Self {
            subject: subject.into(),
            intro: what,
            action: None,
            outro: "If this was not you, reset your password at once and tell us: someone may \
                    be signed in to your account."
                .into(),
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
        let (text_action, html_action) = match &self.action {
            Some((label, link)) => (
                format!("{label}:\n{link}\n\n"),
                format!(
                    "<p><a href=\"{0}\" style=\"display:inline-block;padding:12px 20px;background:{2};\
                     color:#fff;border-radius:8px;text-decoration:none;font-weight:600\">{1}</a></p>\
                     <p style=\"color:#4b5563;font-size:small\">{0}</p>",
                    html_escape(link),
                    html_escape(label),
                    html_escape(&brand.color),
                ),
            ),
            None => (String::new(), String::new()),
        };
        let support_text = brand
            .support_url
            .as_deref()
            .map(|u| format!("\nHelp: {u}"))
            .unwrap_or_default();
        let support_html = brand
            .support_url
            .as_deref()
            .map(|u| format!(" · <a href=\"{0}\">Help</a>", html_escape(u)))
            .unwrap_or_default();
        let text = format!(
            "{}\n\n{text_action}{}\n\n-- \n{}{support_text}\n",
            self.intro, self.outro, brand.name
        );
        let html = format!(
            "<!doctype html><html><body style=\"font-family:sans-serif;color:#111827\">\
             <p>{}</p>{html_action}<p style=\"color:#4b5563\">{}</p>\
             <p style=\"color:#4b5563;font-size:small\">{}{support_html}</p></body></html>",
            html_escape(&self.intro),
            html_escape(&self.outro),
            html_escape(&brand.name),
        );
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

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
