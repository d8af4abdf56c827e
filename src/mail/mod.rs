//! Outgoing email: lettre's async SMTP transport when `AUTHD_SMTP_URL` is set, otherwise one
//! `.eml` file per message in `AUTHD_MAIL_DIR` (the embedded default for development).

mod templates;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use lettre::message::Mailbox;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::Config;
pub use templates::Email;

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Dir {
        dir: PathBuf,
        transport: AsyncFileTransport<Tokio1Executor>,
    },
}

pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

impl Mailer {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let transport = match &config.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .context("AUTHD_SMTP_URL: not a usable SMTP URL")?
                    .timeout(Some(Duration::from_secs(20)))
                    .build(),
            ),
            None => Transport::Dir {
                dir: config.mail_dir.clone(),
                transport: AsyncFileTransport::new(&config.mail_dir),
            },
        };
        Ok(Self {
            transport,
            from: config.mail_from.clone(),
        })
    }

    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp(_) => "SMTP relay".to_owned(),
            Transport::Dir { dir, .. } => format!("files in {}", dir.display()),
        }
    }

    /// Sends one email. In directory mode the link is also logged, so a developer without a
    /// mail client can follow it; an SMTP deployment never logs links.
    pub async fn send(&self, to: &str, email: Email) -> anyhow::Result<()> {
        let to: Mailbox = to.parse().context("recipient address")?;
        let message: Message = email.build(self.from.clone(), to.clone())?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await.context("sending through SMTP")?;
            }
            Transport::Dir { dir, transport } => {
                crate::files::private_dir(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                let id = transport
                    .send(message)
                    .await
                    .context("writing the email file")?;
                // The email holds a live link: readable by authd's user only.
                crate::files::restrict(&dir.join(format!("{id}.eml")))
                    .context("restricting the email file")?;
                tracing::info!(to = %to.email, file = %dir.join(format!("{id}.eml")).display(), link = email.link().unwrap_or("-"), "email written to the outbox");
            }
        }
        Ok(())
    }
}
