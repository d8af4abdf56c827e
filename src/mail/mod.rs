//! Outgoing email: lettre's async SMTP transport when `AUTHD_SMTP_URL` is set, otherwise one
//! `.eml` file per message in `AUTHD_MAIL_DIR` (the embedded default for development).
//!
//! Nothing is sent from a request: flows record the email in the outbox table (`queue`), and
//! each instance's delivery workers (`deliver_due`) send what is due, retrying with back-off
//! while the relay is down or slow, so an outage or a restart loses no email and never holds a
//! request.
//!
//! Delivery is at least once. Each message goes over an SMTP connection of its own, closed
//! with it: an exchange broken off (a timeout, a dropped future) never leaves a half-used
//! connection for the next message to read the wrong replies from. A message waits for the
//! relay longer than RFC 5321 lets a relay take over the end of its data (10 minutes), so a
//! slow relay's late "250" is not mistaken for a failure and sent again; several messages go
//! out at once, so one slow message holds no other back. A copy delivered twice (the relay
//! took it, then the connection broke before it said so) carries the same `Message-ID`.

mod templates;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::NaiveDateTime;

use crate::sealing::Sealer;

use crate::config::Config;
use crate::storage::{Database, OutboxRow, StorageError, outbox};
pub use templates::Email;

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Dir { dir: PathBuf },
}

pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    brand: crate::config::Brand,
    /// The language of the emails queued outside a request (`AUTHD_DEFAULT_LOCALE`).
    default_lang: crate::i18n::Lang,
    /// Seals outbox messages: they hold live links, which a copy of the database must not.
    sealer: Arc<Sealer>,
    /// Wakes this instance's delivery worker when an email is queued.
    wake: tokio::sync::Notify,
}

/// How long one delivery may take, all told: above the 10 minutes RFC 5321 (4.5.3.2.6) gives a
/// relay to answer the end of the data.
const SEND_TIMEOUT: Duration = Duration::from_secs(11 * 60);
/// How long a claimed email is reserved for the instance sending it: longer than a send may
/// take, so no other instance sends it meanwhile. An instance that dies mid-send leaves it to
/// the others after this.
const CLAIM_LEASE: Duration = Duration::from_secs(15 * 60);
/// Emails one instance sends at once.
pub const WORKERS: usize = 4;
/// Emails still unsent after this are marked failed: every link they hold has expired.
const GIVE_UP_AFTER: chrono::Duration = chrono::Duration::hours(24);

/// Marks an outbox message sealed under the instance secret (base64 after it).
const SEALED_PREFIX: &str = "sealed:v1:";

/// Whether the relay refused this email for good: a 5xx about the message or its recipient
/// (550 to 559: no such mailbox, refused by policy, too large). A 5xx about the relay itself
/// (530/534/535/538 authentication, 500 to 504 a command it did not take: a broken
/// configuration, or a connection out of step) is retried with back-off, as is anything else,
/// until the email's links have expired.
fn is_permanent(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|e| e.downcast_ref::<lettre::transport::smtp::Error>())
        .any(|e| {
            e.is_permanent()
                && e.status()
                    .is_some_and(|code| (550..=559).contains(&u16::from(code)))
        })
        || error.to_string().starts_with("unreadable outbox message")
}

impl Mailer {
    pub fn from_config(config: &Config, sealer: Arc<Sealer>) -> anyhow::Result<Self> {
        let transport = match &config.smtp_url {
            Some(url) => Transport::Smtp(
                // No pool: a connection per message (see the module's documentation).
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .context("AUTHD_SMTP_URL: not a usable SMTP URL")?
                    .timeout(Some(Duration::from_secs(20)))
                    .build(),
            ),
            None => Transport::Dir {
                dir: config.mail_dir.clone(),
            },
        };
        Ok(Self {
            transport,
            from: config.mail_from.clone(),
            brand: config.brand.clone(),
            default_lang: config.default_locale,
            sealer,
            wake: tokio::sync::Notify::new(),
        })
    }

    /// The language of an email queued outside a request (the command line), for
    /// `i18n::current`.
    pub fn default_lang(&self) -> crate::i18n::Lang {
        self.default_lang
    }

    /// The outbox row for an email to `to`, for a flow that writes it in its own transaction
    /// (then calls `wake`).
    pub fn outbox_row(&self, to: &str, email: &Email, now: NaiveDateTime) -> OutboxRow {
        let id = uuid::Uuid::now_v7().to_string();
        let json = serde_json::to_string(email).expect("an email serializes");
        // Sealing fails only without randomness; then the row keeps the message as it is
        // rather than losing the email.
        let message = match self.sealer.seal(&id, json.as_bytes()) {
            Ok(sealed) => format!("{SEALED_PREFIX}{}", STANDARD.encode(sealed)),
            Err(_) => json,
        };
        OutboxRow {
            id,
            recipient: to.to_owned(),
            message,
            created_at: now,
            next_attempt_at: now,
            attempts: 0,
            claimed_until: None,
            last_error: None,
            failed_at: None,
        }
    }

    /// The email an outbox row holds: sealed (see `outbox_row`), or plain JSON from before
    /// messages were sealed.
    fn open_message(&self, row: &OutboxRow) -> anyhow::Result<Email> {
        let json = match row.message.strip_prefix(SEALED_PREFIX) {
            Some(b64) => {
                let sealed = STANDARD.decode(b64).context("unreadable outbox message")?;
                let plain = self
                    .sealer
                    .open(&row.id, &sealed)
                    .map_err(|e| anyhow::anyhow!("unreadable outbox message: {e}"))?;
                String::from_utf8(plain).context("unreadable outbox message")?
            }
            None => row.message.clone(),
        };
        serde_json::from_str(&json).map_err(|e| anyhow::anyhow!("unreadable outbox message: {e}"))
    }

    /// Records an email for delivery and wakes the worker.
    pub async fn queue(
        &self,
        db: &Database,
        to: &str,
        email: &Email,
        now: NaiveDateTime,
    ) -> Result<(), StorageError> {
        outbox::enqueue(db, &self.outbox_row(to, email, now)).await?;
        self.wake();
        Ok(())
    }

    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Resolves when an email was queued on this instance.
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    /// Sends what is due, up to [`WORKERS`] emails at once (each claimed for longer than a
    /// send may take, so no other instance sends it meanwhile); a failure is retried later,
    /// with back-off (1 s, 2 s, 4 s, ..., at most 5 min), and given up at once when the relay
    /// refuses it for good. `now` is read afresh for each email. Returns how many were sent
    /// once nothing more is due, or once `stop` turns true (the emails in hand are finished).
    pub async fn deliver_due(
        &self,
        db: &Database,
        now: impl Fn() -> NaiveDateTime,
        stop: &tokio::sync::watch::Receiver<bool>,
    ) -> Result<usize, StorageError> {
        use futures_util::StreamExt as _;
        let lease = chrono::Duration::from_std(CLAIM_LEASE).expect("a short lease");
        let mut sent = 0;
        let mut in_flight = futures_util::stream::FuturesUnordered::new();
        loop {
            // Between messages, never during one: a stopping instance sends nothing twice.
            let free = WORKERS - in_flight.len();
            if free > 0 && !*stop.borrow() {
                for row in outbox::claim_due(db, now(), lease, free as i64).await? {
                    in_flight.push(self.deliver_one(db, row, &now));
                }
            }
            if in_flight.is_empty() {
                return Ok(sent);
            }
            // While some are out, look again for what became due meanwhile.
            tokio::select! {
                Some(outcome) = in_flight.next() => sent += usize::from(outcome?),
                () = self.woken() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// Sends one claimed email and records what became of it; `true` when it went out.
    async fn deliver_one(
        &self,
        db: &Database,
        row: OutboxRow,
        now: &impl Fn() -> NaiveDateTime,
    ) -> Result<bool, StorageError> {
        let outcome = match self.open_message(&row) {
            Ok(email) => tokio::time::timeout(SEND_TIMEOUT, self.send(&row, email))
                .await
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the relay did not answer in time"))),
            Err(e) => Err(e),
        };
        let now = now();
        match outcome {
            Ok(()) => {
                outbox::delete(db, &row.id).await?;
                return Ok(true);
            }
            Err(e) if is_permanent(&e) || now - row.created_at > GIVE_UP_AFTER => {
                tracing::error!(error = %format!("{e:#}"), id = %row.id, attempts = row.attempts + 1, "giving up on an email (`authd mail retry` sends it again)");
                outbox::mark_failed(db, &row.id, now, &format!("{e:#}")).await?;
            }
            Err(e) => {
                // Doubling from 1 s to 5 min, plus up to a quarter more at random, so that
                // instances retrying after one outage do not all come back at once.
                let backoff_ms = (1i64 << row.attempts.clamp(0, 9)).min(300) * 1000;
                let jitter_ms = rand::random::<u32>() as i64 % (backoff_ms / 4 + 1);
                let next = now + chrono::Duration::milliseconds(backoff_ms + jitter_ms);
                tracing::warn!(error = %format!("{e:#}"), id = %row.id, attempts = row.attempts + 1, "sending an email failed; will retry");
                outbox::retry_later(db, &row.id, next, &format!("{e:#}")).await?;
            }
        }
        Ok(false)
    }

    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp(_) => "SMTP relay".to_owned(),
            Transport::Dir { dir } => format!("files in {}", dir.display()),
        }
    }

    /// Sends one email. In directory mode the link is also logged, so a developer without a
    /// mail client can follow it; an SMTP deployment never logs links.
    async fn send(&self, row: &OutboxRow, email: Email) -> anyhow::Result<()> {
        let to: Mailbox = row.recipient.parse().context("recipient address")?;
        let domain = self.from.email.domain().to_owned();
        let message_id = format!("<{}@{domain}>", row.id);
        let message: Message =
            email.build(self.from.clone(), to.clone(), &self.brand, message_id)?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await.context("sending through SMTP")?;
            }
            Transport::Dir { dir } => {
                crate::files::private_dir(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                // The email holds a live link: written readable by authd's user only from
                // its first byte (a temporary name, then renamed whole into place).
                let id = uuid::Uuid::new_v4();
                let bytes = message.formatted();
                let tmp = dir.join(format!(".{id}.eml.tmp"));
                crate::files::write_new_private(&tmp, &bytes)
                    .with_context(|| format!("writing {}", tmp.display()))?;
                std::fs::rename(&tmp, dir.join(format!("{id}.eml")))
                    .context("placing the email file")?;
                tracing::info!(to = %to.email, file = %dir.join(format!("{id}.eml")).display(), link = email.link().unwrap_or("-"), "email written to the outbox");
            }
        }
        Ok(())
    }
}
