//! Typed settings from the environment, or from an optional `authd.toml` holding the same keys.
//! Every value is parsed at start-up; a bad one stops start-up with the variable's name.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use lettre::message::Mailbox;
use secrecy::SecretString;

use crate::domain::SigningAlg;

mod describe;
mod source;
mod upstream;

pub use source::unknown_settings;
pub use upstream::{UpstreamKind, UpstreamProvider};
#[cfg(test)]
mod tests;

use source::*;

/// Whose accounts must have a second factor (`AUTHD_REQUIRE_MFA_FOR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MfaPolicy {
    None,
    Admin,
    All,
}

impl MfaPolicy {
    /// Whether the policy covers an account of `role`.
    pub fn covers(self, role: &str) -> bool {
        match self {
            Self::None => false,
            Self::Admin => role == crate::domain::Role::Admin.as_str(),
            Self::All => true,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Admin => "admin",
            Self::All => "all",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub bind: SocketAddr,
    pub database_url: SecretString,
    /// `iss` of every token, without a trailing slash.
    pub issuer: String,
    /// Base of links that point at authd itself.
    pub public_url: String,
    pub frontend_url: Option<String>,
    /// "Continue with ..." providers (`AUTHD_UPSTREAM_PROVIDERS`), in the order listed.
    pub upstream: Vec<UpstreamProvider>,
    /// A keys folder from an earlier authd, imported on first start (`AUTHD_KEYS_DIR`).
    pub keys_dir: Option<PathBuf>,
    /// The instance secret that seals the signing keys in the database (`AUTHD_SECRET`, or
    /// the contents of `AUTHD_SECRET_FILE`). Without it, on SQLite one is generated beside
    /// the database; PostgreSQL refuses to start.
    pub secret: Option<SecretString>,
    /// Whether `AUTHD_ISSUER` was set (rather than derived from `AUTHD_BIND`).
    pub issuer_explicit: bool,
    pub smtp_url: Option<SecretString>,
    pub mail_dir: PathBuf,
    pub mail_from: Mailbox,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub session_max_age: Duration,
    pub refresh_reuse_grace: Duration,
    pub require_email_verification: bool,
    pub key_activation_delay: Duration,
    /// What signs access tokens, and ID tokens for clients that name no algorithm
    /// (`AUTHD_SIGNING_ALG`: RS256, ES256 or EdDSA).
    pub signing_alg: SigningAlg,
    /// Every DPoP proof must carry a server nonce (`AUTHD_DPOP_REQUIRE_NONCE`).
    pub dpop_require_nonce: bool,
    /// The language of pages and emails when neither the request nor the browser names one
    /// authd speaks (`AUTHD_DEFAULT_LOCALE`: en or fr).
    pub default_locale: crate::i18n::Lang,
    /// Anonymous users whose sessions have gone unused this long are deleted.
    pub anonymous_max_age: Duration,
    /// Audit events older than this are deleted.
    pub audit_retention: Duration,
    pub cors_origins: Vec<String>,
    pub log_format: LogFormat,
    /// Requests per minute one client may make to each sensitive route; 0 turns limits off.
    pub rate_limit_per_minute: u32,
    /// Accounts that must have a second factor.
    pub require_mfa_for: MfaPolicy,
    /// Take the client address from the last `X-Forwarded-For` entry (behind a proxy).
    pub trust_forwarded_for: bool,
    pub limits: ServerLimits,
    /// Where `/metrics` is served; `None`: nowhere.
    pub metrics_bind: Option<SocketAddr>,
    pub brand: Brand,
}

/// How authd's pages and emails present the product.
#[derive(Clone, Debug)]
pub struct Brand {
    pub name: String,
    /// An `https` (or, for local development, `http`) URL of a logo image.
    pub logo_url: Option<String>,
    /// The accent colour, `#rrggbb`, used for buttons and links (white text on it).
    pub color: String,
    /// Where people get help.
    pub support_url: Option<String>,
}

/// What one client may hold of the server (see the README's table of settings).
#[derive(Clone, Copy, Debug)]
pub struct ServerLimits {
    /// A request's headers must arrive within this; an idle keep-alive connection is closed
    /// after it too.
    pub header_read_timeout: Duration,
    /// A request's body must arrive within this.
    pub body_read_timeout: Duration,
    /// A request must be answered within this, else 503.
    pub request_timeout: Duration,
    /// Largest request head (request line and headers); larger gets 431.
    pub max_header_bytes: usize,
    /// Connections held at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// Connections one client address (an IPv6 /64) may hold at once; more are answered 503.
    /// Not applied behind a trusted proxy, whose one address every connection has.
    pub max_connections_per_address: usize,
    /// After SIGTERM, requests in flight get this long before the process exits anyway.
    pub shutdown_timeout: Duration,
}

impl Config {
    /// Reads the process environment and, if present, `authd.toml` (or the file named by
    /// `AUTHD_CONFIG`).
    pub fn from_env() -> anyhow::Result<Self> {
        let env: HashMap<String, String> = std::env::vars().collect();
        let path = env.get("AUTHD_CONFIG").cloned();
        let file = match &path {
            Some(p) => read_toml(p)?,
            None if std::path::Path::new("authd.toml").exists() => read_toml("authd.toml")?,
            None => HashMap::new(),
        };
        Self::from_source(Source { env, file })
    }

    /// Builds a configuration from explicit key/value pairs (used by tests and tools).
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> anyhow::Result<Self> {
        let env = pairs
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Self::from_source(Source {
            env,
            file: HashMap::new(),
        })
    }

    /// Whether `DATABASE_URL` names SQLite (the one-instance mode); else it is PostgreSQL.
    pub fn uses_sqlite(&self) -> bool {
        use secrecy::ExposeSecret as _;
        self.database_url.expose_secret().starts_with("sqlite:")
    }

    /// With PostgreSQL, where instances share the sealed signing keys, every instance needs the
    /// same `AUTHD_SECRET`; SQLite (one instance) may keep a generated one beside its database.
    pub fn require_shared_secret(&self) -> anyhow::Result<()> {
        if self.secret.is_none() && !self.uses_sqlite() {
            bail!(
                "AUTHD_SECRET (or AUTHD_SECRET_FILE) is required with PostgreSQL: it seals the \
                 signing keys in the database, and every instance needs the same one. Generate it \
                 once with `openssl rand -base64 32`"
            );
        }
        Ok(())
    }

    /// What `serve` and `config check` refuse: an issuer derived from a bind address on every
    /// interface (`0.0.0.0`, `[::]`) names no host a client can reach, and every token, link and
    /// discovery document would carry it.
    pub fn require_reachable_issuer(&self) -> anyhow::Result<()> {
        if !self.issuer_explicit && self.bind.ip().is_unspecified() {
            bail!(
                "AUTHD_ISSUER is required with AUTHD_BIND={}: on every interface, authd cannot \
                 tell the address clients use, and {} reaches no one. Set it to that address, \
                 e.g. AUTHD_ISSUER=https://auth.example.com (or http://localhost:{} to try it \
                 on this machine)",
                self.bind,
                self.issuer,
                self.bind.port()
            );
        }
        Ok(())
    }

    /// Long by nature: one parse per setting, each naming its variable and default.
    fn from_source(src: Source) -> anyhow::Result<Self> {
        let bind: SocketAddr = src.parse("AUTHD_BIND", "127.0.0.1:8080", socket_address)?;
        let issuer = src.parse("AUTHD_ISSUER", &format!("http://{bind}"), base_url)?;
        let public_url = src.parse("AUTHD_PUBLIC_URL", &issuer, base_url)?;
        let mail_from = src.parse("AUTHD_MAIL_FROM", "authd <no-reply@localhost>", |s| {
            Ok(s.parse::<Mailbox>()?)
        })?;
        let smtp_url = src.optional("AUTHD_SMTP_URL", |s| {
            let url = url::Url::parse(s)?;
            if !matches!(url.scheme(), "smtp" | "smtps") {
                bail!("expected smtp:// or smtps://");
            }
            Ok(SecretString::from(s.to_owned()))
        })?;
        let database_url = src.parse("DATABASE_URL", "sqlite://data/authd.db", |s| {
            if !(s.starts_with("sqlite:")
                || s.starts_with("postgres://")
                || s.starts_with("postgresql://"))
            {
                bail!("expected sqlite://PATH or postgres://...");
            }
            Ok(SecretString::from(s.to_owned()))
        })?;
        let cors_origins = src.parse("AUTHD_CORS_ORIGINS", "", |s| {
            s.split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(|o| base_url(o).map_err(|e| anyhow!("{o}: {e}")))
                .collect()
        })?;
        let log_format = src.parse("AUTHD_LOG_FORMAT", "pretty", |s| match s {
            "pretty" => Ok(LogFormat::Pretty),
            "json" => Ok(LogFormat::Json),
            _ => bail!("expected pretty or json"),
        })?;
        let config =
            Config {
                bind,
                database_url,
                issuer,
                public_url,
                frontend_url: src.optional("AUTHD_FRONTEND_URL", base_url)?,
                keys_dir: src.optional("AUTHD_KEYS_DIR", |s| Ok(PathBuf::from(s)))?,
                secret: secret(&src)?,
                issuer_explicit: src.get("AUTHD_ISSUER").is_some(),
                smtp_url,
                mail_dir: PathBuf::from(
                    src.parse("AUTHD_MAIL_DIR", "data/outbox", |s| Ok(s.to_owned()))?,
                ),
                mail_from,
                access_token_ttl: src.parse("AUTHD_ACCESS_TOKEN_TTL", "15m", duration)?,
                refresh_token_ttl: src.parse("AUTHD_REFRESH_TOKEN_TTL", "7d", duration)?,
                session_max_age: src.parse("AUTHD_SESSION_MAX_AGE", "30d", duration)?,
                refresh_reuse_grace: src.parse("AUTHD_REFRESH_REUSE_GRACE", "10s", duration)?,
                require_email_verification: src.parse(
                    "AUTHD_REQUIRE_EMAIL_VERIFICATION",
                    "true",
                    boolean,
                )?,
                key_activation_delay: src.parse("AUTHD_KEY_ACTIVATION_DELAY", "10m", duration)?,
                signing_alg: src.parse("AUTHD_SIGNING_ALG", "RS256", |s| {
                    SigningAlg::parse(s).context("expected RS256, ES256 or EdDSA")
                })?,
                dpop_require_nonce: src.parse("AUTHD_DPOP_REQUIRE_NONCE", "false", boolean)?,
                default_locale: src.parse("AUTHD_DEFAULT_LOCALE", "en", |s| {
                    crate::i18n::Lang::parse(s).context("expected en or fr")
                })?,
                anonymous_max_age: src.parse("AUTHD_ANONYMOUS_MAX_AGE", "30d", duration)?,
                audit_retention: src.parse("AUTHD_AUDIT_RETENTION", "90d", duration)?,
                cors_origins,
                log_format,
                rate_limit_per_minute: src
                    .parse("AUTHD_RATE_LIMIT", "30", |s| Ok(s.parse::<u32>()?))?,
                require_mfa_for: src.parse("AUTHD_REQUIRE_MFA_FOR", "none", |s| {
                    match s.to_ascii_lowercase().as_str() {
                        "none" => Ok(MfaPolicy::None),
                        "admin" => Ok(MfaPolicy::Admin),
                        "all" => Ok(MfaPolicy::All),
                        _ => bail!("expected none, admin or all"),
                    }
                })?,
                trust_forwarded_for: src.parse("AUTHD_TRUST_FORWARDED_FOR", "false", boolean)?,
                limits: limits(&src)?,
                metrics_bind: src.optional("AUTHD_METRICS_BIND", socket_address)?,
                brand: brand(&src)?,
                upstream: upstream::providers(&src)?,
            };
        check_bounds(&config)?;
        Ok(config)
    }
}

/// The server's own limits: timeouts, header size, connections.
fn limits(src: &Source) -> anyhow::Result<ServerLimits> {
    let max_connections = src.parse("AUTHD_MAX_CONNECTIONS", "512", |s| {
        let n: usize = s.parse()?;
        if n == 0 {
            bail!("must be at least 1");
        }
        Ok(n)
    })?;
    Ok(ServerLimits {
        header_read_timeout: src.parse("AUTHD_HEADER_READ_TIMEOUT", "10s", duration)?,
        body_read_timeout: src.parse("AUTHD_BODY_READ_TIMEOUT", "10s", duration)?,
        request_timeout: src.parse("AUTHD_REQUEST_TIMEOUT", "30s", duration)?,
        max_header_bytes: src.parse("AUTHD_MAX_HEADER_BYTES", "16384", |s| {
            let n: usize = s.parse()?;
            if !(8192..=1 << 20).contains(&n) {
                bail!("expected 8192 to 1048576 bytes");
            }
            Ok(n)
        })?,
        max_connections,
        max_connections_per_address: src.parse(
            "AUTHD_MAX_CONNECTIONS_PER_ADDRESS",
            &(max_connections / 8).max(1).to_string(),
            |s| {
                let n: usize = s.parse()?;
                if n == 0 {
                    bail!("must be at least 1");
                }
                Ok(n)
            },
        )?,
        shutdown_timeout: src.parse("AUTHD_SHUTDOWN_TIMEOUT", "10s", duration)?,
    })
}

/// The hosted pages' and emails' branding.
fn brand(src: &Source) -> anyhow::Result<Brand> {
    Ok(Brand {
        name: src.parse("AUTHD_BRAND_NAME", "authd", |s| {
            if s.chars().count() > 60 || s.chars().any(char::is_control) {
                bail!("at most 60 printable characters");
            }
            Ok(s.to_owned())
        })?,
        logo_url: src.optional("AUTHD_BRAND_LOGO_URL", base_url)?,
        color: src.parse("AUTHD_BRAND_COLOR", "#3730a3", |s| {
            let hex = s.strip_prefix('#').unwrap_or_default();
            if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                bail!("expected a colour like #3730a3");
            }
            Ok(format!("#{}", hex.to_ascii_lowercase()))
        })?,
        support_url: src.optional("AUTHD_SUPPORT_URL", base_url)?,
    })
}

/// Durations that must be neither zero nor beyond what a deployment could mean.
fn check_bounds(config: &Config) -> anyhow::Result<()> {
    for (key, d) in [
        ("AUTHD_ACCESS_TOKEN_TTL", config.access_token_ttl),
        ("AUTHD_REFRESH_TOKEN_TTL", config.refresh_token_ttl),
        ("AUTHD_SESSION_MAX_AGE", config.session_max_age),
        ("AUTHD_ANONYMOUS_MAX_AGE", config.anonymous_max_age),
        ("AUTHD_AUDIT_RETENTION", config.audit_retention),
        (
            "AUTHD_HEADER_READ_TIMEOUT",
            config.limits.header_read_timeout,
        ),
        ("AUTHD_BODY_READ_TIMEOUT", config.limits.body_read_timeout),
        ("AUTHD_REQUEST_TIMEOUT", config.limits.request_timeout),
    ] {
        if d.is_zero() {
            bail!("{key}: must be longer than zero");
        }
    }
    for (key, d, max, max_text) in [
        (
            "AUTHD_ACCESS_TOKEN_TTL",
            config.access_token_ttl,
            86_400,
            "24h",
        ),
        (
            "AUTHD_REFRESH_TOKEN_TTL",
            config.refresh_token_ttl,
            400 * 86_400,
            "400d",
        ),
        (
            "AUTHD_SESSION_MAX_AGE",
            config.session_max_age,
            400 * 86_400,
            "400d",
        ),
        (
            "AUTHD_REFRESH_REUSE_GRACE",
            config.refresh_reuse_grace,
            300,
            "5m",
        ),
        (
            "AUTHD_ANONYMOUS_MAX_AGE",
            config.anonymous_max_age,
            400 * 86_400,
            "400d",
        ),
        (
            "AUTHD_AUDIT_RETENTION",
            config.audit_retention,
            3650 * 86_400,
            "3650d",
        ),
        (
            "AUTHD_KEY_ACTIVATION_DELAY",
            config.key_activation_delay,
            7 * 86_400,
            "7d",
        ),
        (
            "AUTHD_REQUEST_TIMEOUT",
            config.limits.request_timeout,
            600,
            "10m",
        ),
    ] {
        if d.as_secs() > max {
            bail!("{key}: at most {max_text}");
        }
    }
    // Every instance reads the key set again every 5 s; a new key must be in every JWKS
    // well before it signs.
    if config.key_activation_delay < Duration::from_secs(30) {
        bail!("AUTHD_KEY_ACTIVATION_DELAY: must be at least 30s");
    }
    Ok(())
}
