//! A small SMTP receiver for tests: speaks enough of RFC 5321 for lettre's real SMTP
//! transport, and keeps every message it is given.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Clone, Debug)]
pub struct ReceivedMail {
    pub recipients: Vec<String>,
    pub raw: Vec<u8>,
}

impl ReceivedMail {
    pub fn subject(&self) -> String {
        let parsed = mailparse::parse_mail(&self.raw).expect("a parseable email");
        parsed
            .headers
            .iter()
            .find(|h| h.get_key().eq_ignore_ascii_case("subject"))
            .map(|h| h.get_value())
            .unwrap_or_default()
    }

    /// The decoded text of the `mime` part (`text/plain` or `text/html`).
    pub fn part(&self, mime: &str) -> String {
        let parsed = mailparse::parse_mail(&self.raw).expect("a parseable email");
        fn find(p: &mailparse::ParsedMail<'_>, mime: &str) -> Option<String> {
            if p.ctype.mimetype == mime {
                return p.get_body().ok();
            }
            p.subparts.iter().find_map(|s| find(s, mime))
        }
        find(&parsed, mime).unwrap_or_else(|| panic!("no {mime} part"))
    }

    /// The first link in the plain-text body.
    pub fn link(&self) -> String {
        let text = self.part("text/plain");
        text.split_whitespace()
            .find(|w| w.starts_with("http://") || w.starts_with("https://"))
            .expect("a link in the email")
            .to_owned()
    }

    /// The `token` parameter of the link.
    pub fn token(&self) -> String {
        let link = url::Url::parse(&self.link()).expect("a valid link");
        link.query_pairs()
            .find(|(k, _)| k == "token")
            .expect("a token in the link")
            .1
            .into_owned()
    }
}

/// Subjects of the notices [`SmtpSink::wait_for`] does not count, in English and French.
pub const AUDIT_NOTICES: [&str; 6] = [
    "New sign-in to your account",
    "Your password was changed",
    "We signed out a device of yours",
    "Nouvelle connexion à votre compte",
    "Votre mot de passe a été modifié",
    "Nous avons déconnecté l'un de vos appareils",
];

#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    mails: Arc<Mutex<Vec<ReceivedMail>>>,
}

/// How a scripted relay misbehaves, by recipient.
#[derive(Clone, Default)]
pub struct Script {
    /// The first attempt for these is answered `451 4.7.1` at RCPT (greylisting).
    pub greylist: Vec<String>,
    /// The first message for these is taken whole, then the connection is dropped before the
    /// end-of-data reply (and the message not kept: the relay crashed).
    pub drop_once: Vec<String>,
    /// For these, the end-of-data reply comes this long after the message was taken (kept).
    pub slow: Vec<(String, Duration)>,
    /// The first attempt for these is refused for good (`550`) at RCPT.
    pub refuse_once: Vec<String>,
    /// The first this many transactions are refused at MAIL FROM with `530 5.7.0`: the relay
    /// itself is not ready for authd (wants authentication it was not given yet).
    pub refuse_relay: usize,
}

#[derive(Default)]
struct Seen {
    greylisted: std::collections::HashSet<String>,
    dropped: std::collections::HashSet<String>,
    refused: std::collections::HashSet<String>,
    relay_refusals: usize,
}

impl SmtpSink {
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// A receiver on `port` (0: any free one), e.g. a relay coming back after an outage.
    pub async fn start_on(port: u16) -> Self {
        Self::start_scripted_on(port, Script::default()).await
    }

    /// A relay that misbehaves as `script` says.
    pub async fn start_scripted(script: Script) -> Self {
        Self::start_scripted_on(0, script).await
    }

    async fn start_scripted_on(port: u16, script: Script) -> Self {
        let script = Arc::new(script);
        let seen: Arc<Mutex<Seen>> = Arc::default();
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the SMTP sink");
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let store = mails.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (store, script, seen) = (store.clone(), script.clone(), seen.clone());
                tokio::spawn(async move {
                    let _ = session(stream, store, &script, &seen).await;
                });
            }
        });
        Self { port, mails }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn all(&self) -> Vec<ReceivedMail> {
        self.mails.lock().unwrap().clone()
    }

    /// Mails received for `to`, oldest first.
    pub fn for_recipient(&self, to: &str) -> Vec<ReceivedMail> {
        self.all()
            .into_iter()
            .filter(|m| m.recipients.iter().any(|r| r.eq_ignore_ascii_case(to)))
            .collect()
    }

    /// The mails to `to` that [`SmtpSink::wait_for`] counts.
    pub fn flow_mails(&self, to: &str) -> Vec<ReceivedMail> {
        self.for_recipient(to)
            .into_iter()
            .filter(|m| !AUDIT_NOTICES.iter().any(|s| m.subject().starts_with(s)))
            .collect()
    }

    /// Waits (up to 10 s) until `to` has received `n` mails and returns the `n`th, not counting
    /// the notices of the audit trail ([`AUDIT_NOTICES`]: a new device, a password changed, a
    /// device signed out), which tests/api/audit.rs checks, so that the flows' own emails keep
    /// their numbers whatever devices a test signs in from.
    pub async fn wait_for(&self, to: &str, n: usize) -> ReceivedMail {
        for _ in 0..200 {
            let got = self.flow_mails(to);
            if got.len() >= n {
                return got[n - 1].clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no mail #{n} for {to} within 10 s; got {}",
            self.for_recipient(to).len()
        );
    }
}

async fn session(
    stream: tokio::net::TcpStream,
    store: Arc<Mutex<Vec<ReceivedMail>>>,
    script: &Script,
    seen: &Mutex<Seen>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink ESMTP ready\r\n").await?;
    let mut recipients = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            write
                .write_all(b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                .await?;
        } else if upper.starts_with("MAIL FROM") && {
            let mut seen = seen.lock().unwrap();
            let refuse = seen.relay_refusals < script.refuse_relay;
            seen.relay_refusals += usize::from(refuse);
            refuse
        } {
            write
                .write_all(b"530 5.7.0 Authentication required\r\n")
                .await?;
        } else if upper.starts_with("HELO")
            || upper.starts_with("MAIL FROM")
            || upper.starts_with("RSET")
            || upper.starts_with("NOOP")
        {
            if upper.starts_with("RSET") {
                recipients.clear();
            }
            write.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO") {
            let addr = line[8..].trim().trim_start_matches(':').trim();
            let addr = addr
                .split('>')
                .next()
                .unwrap_or("")
                .trim_start_matches('<')
                .to_owned();
            // A mailbox that does not exist, for tests of permanent failures.
            if addr.starts_with("bounce") {
                write.write_all(b"550 5.1.1 no such mailbox\r\n").await?;
                continue;
            }
            if script.refuse_once.contains(&addr)
                && seen.lock().unwrap().refused.insert(addr.clone())
            {
                write.write_all(b"550 5.7.1 refused by policy\r\n").await?;
                continue;
            }
            if script.greylist.contains(&addr)
                && seen.lock().unwrap().greylisted.insert(addr.clone())
            {
                write
                    .write_all(b"451 4.7.1 greylisted, try again later\r\n")
                    .await?;
                continue;
            }
            recipients.push(addr);
            write.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("DATA") {
            write.write_all(b"354 go ahead\r\n").await?;
            let mut raw = Vec::new();
            loop {
                let mut data = Vec::new();
                if lines.read_until(b'\n', &mut data).await? == 0 {
                    return Ok(());
                }
                if data == b".\r\n" || data == b".\n" {
                    break;
                }
                // Undo dot-stuffing.
                if data.starts_with(b"..") {
                    data.remove(0);
                }
                raw.extend_from_slice(&data);
            }
            let to = std::mem::take(&mut recipients);
            let first = to.first().cloned().unwrap_or_default();
            if script.drop_once.contains(&first)
                && seen.lock().unwrap().dropped.insert(first.clone())
            {
                // Crashed before it kept the message or said anything.
                return Ok(());
            }
            store.lock().unwrap().push(ReceivedMail {
                recipients: to,
                raw,
            });
            if let Some((_, delay)) = script.slow.iter().find(|(r, _)| *r == first) {
                tokio::time::sleep(*delay).await;
            }
            write.write_all(b"250 queued\r\n").await?;
        } else if upper.starts_with("QUIT") {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            write.write_all(b"502 not implemented\r\n").await?;
        }
    }
}
