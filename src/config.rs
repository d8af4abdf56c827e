//! Typed settings from the environment, or from an optional `authd.toml` holding the same keys.
//! Every value is parsed at start-up; a bad one stops start-up with the variable's name.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use lettre::message::Mailbox;
use secrecy::SecretString;

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
    /// Anonymous users whose sessions have gone unused this long are deleted.
    pub anonymous_max_age: Duration,
    pub cors_origins: Vec<String>,
    pub log_format: LogFormat,
    /// Requests per minute one client may make to each sensitive route; 0 turns limits off.
    pub rate_limit_per_minute: u32,
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
    /// After SIGTERM, requests in flight get this long before the process exits anyway.
    pub shutdown_timeout: Duration,
}

/// Where settings come from: the environment wins over the file.
struct Source {
    env: HashMap<String, String>,
    file: HashMap<String, String>,
}

impl Source {
    fn get(&self, key: &str) -> Option<String> {
        self.env
            .get(key)
            .or_else(|| self.file.get(key))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn parse<T>(
        &self,
        key: &str,
        default: &str,
        parse: impl Fn(&str) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let raw = self.get(key).unwrap_or_else(|| default.to_owned());
        parse(&raw).with_context(|| format!("{key}: cannot use {}", shown(key, &raw)))
    }

    fn optional<T>(
        &self,
        key: &str,
        parse: impl Fn(&str) -> anyhow::Result<T>,
    ) -> anyhow::Result<Option<T>> {
        self.get(key)
            .map(|raw| {
                parse(&raw).with_context(|| format!("{key}: cannot use {}", shown(key, &raw)))
            })
            .transpose()
    }
}

/// A setting's value as an error message may show it: settings that can hold a password
/// (`DATABASE_URL`, `AUTHD_SMTP_URL`) or are one (`AUTHD_SECRET`) are never echoed.
fn shown(key: &str, raw: &str) -> String {
    match key {
        "AUTHD_SECRET" => "the value given".to_owned(),
        "DATABASE_URL" | "AUTHD_SMTP_URL" => match url::Url::parse(raw) {
            Ok(mut url) if !url.password().unwrap_or_default().is_empty() => {
                let _ = url.set_password(Some("***"));
                format!("{:?}", url.as_str())
            }
            Ok(_) => format!("{raw:?}"),
            Err(_) => "the value given (not a URL)".to_owned(),
        },
        _ => format!("{raw:?}"),
    }
}

/// Every setting authd reads; anything else in `authd.toml` is a mistake worth stopping for.
const KNOWN_SETTINGS: &[&str] = &[
    "AUTHD_BIND",
    "DATABASE_URL",
    "AUTHD_ISSUER",
    "AUTHD_PUBLIC_URL",
    "AUTHD_FRONTEND_URL",
    "AUTHD_KEYS_DIR",
    "AUTHD_SECRET",
    "AUTHD_SECRET_FILE",
    "AUTHD_SMTP_URL",
    "AUTHD_MAIL_DIR",
    "AUTHD_MAIL_FROM",
    "AUTHD_ACCESS_TOKEN_TTL",
    "AUTHD_REFRESH_TOKEN_TTL",
    "AUTHD_SESSION_MAX_AGE",
    "AUTHD_REFRESH_REUSE_GRACE",
    "AUTHD_REQUIRE_EMAIL_VERIFICATION",
    "AUTHD_KEY_ACTIVATION_DELAY",
    "AUTHD_ANONYMOUS_MAX_AGE",
    "AUTHD_CORS_ORIGINS",
    "AUTHD_LOG_FORMAT",
    "AUTHD_RATE_LIMIT",
    "AUTHD_TRUST_FORWARDED_FOR",
    "AUTHD_HEADER_READ_TIMEOUT",
    "AUTHD_BODY_READ_TIMEOUT",
    "AUTHD_REQUEST_TIMEOUT",
    "AUTHD_MAX_HEADER_BYTES",
    "AUTHD_MAX_CONNECTIONS",
    "AUTHD_SHUTDOWN_TIMEOUT",
    "AUTHD_METRICS_BIND",
    "AUTHD_BRAND_NAME",
    "AUTHD_BRAND_LOGO_URL",
    "AUTHD_BRAND_COLOR",
    "AUTHD_SUPPORT_URL",
];

/// `AUTHD_BIND` and `AUTHD_METRICS_BIND`: an `IP:port`, or `localhost:port`.
fn socket_address(raw: &str) -> anyhow::Result<SocketAddr> {
    if let Some(port) = raw.strip_prefix("localhost:") {
        let port: u16 = port
            .parse()
            .map_err(|_| anyhow!("the port must be 0 to 65535"))?;
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    raw.parse()
        .map_err(|_| anyhow!("expected IP:port, like 127.0.0.1:8080 or 0.0.0.0:8080"))
}

fn duration(raw: &str) -> anyhow::Result<Duration> {
    let d = humantime::parse_duration(raw)
        .map_err(|e| anyhow!("{e} (write durations like 90s, 15m, 7d)"))?;
    Ok(d)
}

fn boolean(raw: &str) -> anyhow::Result<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => bail!("expected true or false"),
    }
}

fn base_url(raw: &str) -> anyhow::Result<String> {
    let url = url::Url::parse(raw)
        .map_err(|_| anyhow!("expected an absolute http(s) URL, like https://auth.example.com"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        bail!("expected an http(s) URL");
    }
    Ok(raw.trim_end_matches('/').to_owned())
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
                anonymous_max_age: src.parse("AUTHD_ANONYMOUS_MAX_AGE", "30d", duration)?,
                cors_origins,
                log_format,
                rate_limit_per_minute: src
                    .parse("AUTHD_RATE_LIMIT", "30", |s| Ok(s.parse::<u32>()?))?,
                trust_forwarded_for: src.parse("AUTHD_TRUST_FORWARDED_FOR", "false", boolean)?,
                limits: ServerLimits {
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
                    max_connections: src.parse("AUTHD_MAX_CONNECTIONS", "512", |s| {
                        let n: usize = s.parse()?;
                        if n == 0 {
                            bail!("must be at least 1");
                        }
                        Ok(n)
                    })?,
                    shutdown_timeout: src.parse("AUTHD_SHUTDOWN_TIMEOUT", "10s", duration)?,
                },
                metrics_bind: src.optional("AUTHD_METRICS_BIND", socket_address)?,
                brand: Brand {
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
                },
            };
        for (key, d) in [
            ("AUTHD_ACCESS_TOKEN_TTL", config.access_token_ttl),
            ("AUTHD_REFRESH_TOKEN_TTL", config.refresh_token_ttl),
            ("AUTHD_SESSION_MAX_AGE", config.session_max_age),
            ("AUTHD_ANONYMOUS_MAX_AGE", config.anonymous_max_age),
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
        Ok(config)
    }
}

/// `AUTHD_SECRET`, or the first line of the file `AUTHD_SECRET_FILE` names.
fn secret(src: &Source) -> anyhow::Result<Option<SecretString>> {
    let check = |s: String, key: &str| {
        if s.len() < crate::sealing::MIN_SECRET_LEN {
            bail!(
                "{key}: the secret must be at least {} bytes (try `openssl rand -base64 32`)",
                crate::sealing::MIN_SECRET_LEN
            );
        }
        Ok(Some(SecretString::from(s)))
    };
    match (src.get("AUTHD_SECRET"), src.get("AUTHD_SECRET_FILE")) {
        (Some(_), Some(_)) => bail!("AUTHD_SECRET and AUTHD_SECRET_FILE: set only one"),
        (Some(s), None) => check(s, "AUTHD_SECRET"),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("AUTHD_SECRET_FILE: cannot read {path}"))?;
            check(
                text.lines().next().unwrap_or_default().trim().to_owned(),
                "AUTHD_SECRET_FILE",
            )
        }
        (None, None) => Ok(None),
    }
}

impl Config {
    /// The effective settings, one `(name, value)` per setting, secrets masked: what
    /// `authd config check` prints.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        use secrecy::ExposeSecret as _;
        let masked_url = |raw: &str| match url::Url::parse(raw) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("***"));
                url.to_string()
            }
            _ => raw.to_owned(),
        };
        let d = |d: Duration| humantime::format_duration(d).to_string();
        let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "(unset)".into());
        vec![
            ("AUTHD_BIND", self.bind.to_string()),
            (
                "DATABASE_URL",
                masked_url(self.database_url.expose_secret()),
            ),
            (
                "AUTHD_SECRET",
                if self.secret.is_some() {
                    "set (***)".into()
                } else {
                    "unset: SQLite keeps a generated one in authd.secret beside the database".into()
                },
            ),
            (
                "AUTHD_ISSUER",
                format!(
                    "{}{}",
                    self.issuer,
                    if self.issuer_explicit {
                        ""
                    } else {
                        " (derived from AUTHD_BIND)"
                    }
                ),
            ),
            ("AUTHD_PUBLIC_URL", self.public_url.clone()),
            ("AUTHD_FRONTEND_URL", opt(&self.frontend_url)),
            (
                "AUTHD_KEYS_DIR",
                self.keys_dir
                    .as_ref()
                    .map_or("(unset)".into(), |p| p.display().to_string()),
            ),
            (
                "AUTHD_SMTP_URL",
                self.smtp_url
                    .as_ref()
                    .map_or("(unset: emails are files)".into(), |u| {
                        masked_url(u.expose_secret())
                    }),
            ),
            ("AUTHD_MAIL_DIR", self.mail_dir.display().to_string()),
            ("AUTHD_MAIL_FROM", self.mail_from.to_string()),
            ("AUTHD_ACCESS_TOKEN_TTL", d(self.access_token_ttl)),
            ("AUTHD_REFRESH_TOKEN_TTL", d(self.refresh_token_ttl)),
            ("AUTHD_SESSION_MAX_AGE", d(self.session_max_age)),
            ("AUTHD_REFRESH_REUSE_GRACE", d(self.refresh_reuse_grace)),
            (
                "AUTHD_REQUIRE_EMAIL_VERIFICATION",
                self.require_email_verification.to_string(),
            ),
            ("AUTHD_KEY_ACTIVATION_DELAY", d(self.key_activation_delay)),
            ("AUTHD_ANONYMOUS_MAX_AGE", d(self.anonymous_max_age)),
            ("AUTHD_CORS_ORIGINS", self.cors_origins.join(",")),
            (
                "AUTHD_LOG_FORMAT",
                format!("{:?}", self.log_format).to_lowercase(),
            ),
            ("AUTHD_RATE_LIMIT", self.rate_limit_per_minute.to_string()),
            (
                "AUTHD_TRUST_FORWARDED_FOR",
                self.trust_forwarded_for.to_string(),
            ),
            (
                "AUTHD_HEADER_READ_TIMEOUT",
                d(self.limits.header_read_timeout),
            ),
            ("AUTHD_BODY_READ_TIMEOUT", d(self.limits.body_read_timeout)),
            ("AUTHD_REQUEST_TIMEOUT", d(self.limits.request_timeout)),
            (
                "AUTHD_MAX_HEADER_BYTES",
                self.limits.max_header_bytes.to_string(),
            ),
            (
                "AUTHD_MAX_CONNECTIONS",
                self.limits.max_connections.to_string(),
            ),
            ("AUTHD_SHUTDOWN_TIMEOUT", d(self.limits.shutdown_timeout)),
            (
                "AUTHD_METRICS_BIND",
                self.metrics_bind
                    .map_or("(unset: no metrics)".into(), |a| a.to_string()),
            ),
            ("AUTHD_BRAND_NAME", self.brand.name.clone()),
            ("AUTHD_BRAND_LOGO_URL", opt(&self.brand.logo_url)),
            ("AUTHD_BRAND_COLOR", self.brand.color.clone()),
            ("AUTHD_SUPPORT_URL", opt(&self.brand.support_url)),
        ]
    }
}

fn read_toml(path: &str) -> anyhow::Result<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let table: toml::Table = text.parse().with_context(|| format!("parsing {path}"))?;
    table
        .into_iter()
        .map(|(k, v)| {
            if !KNOWN_SETTINGS.contains(&k.to_uppercase().as_str()) {
                bail!("{path}: {k} is not an authd setting (see the README's configuration table)");
            }
            let value = match v {
                toml::Value::String(s) => s,
                toml::Value::Integer(_) | toml::Value::Boolean(_) | toml::Value::Float(_) => {
                    v.to_string()
                }
                _ => bail!("{path}: {k} must be a string, number or boolean"),
            };
            Ok((k.to_uppercase(), value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::Config;

    #[test]
    fn defaults_follow_the_contract() {
        let c = Config::from_pairs([]).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.issuer, "http://127.0.0.1:8080");
        assert_eq!(c.public_url, c.issuer);
        assert_eq!(c.access_token_ttl.as_secs(), 15 * 60);
        assert_eq!(c.refresh_token_ttl.as_secs(), 7 * 86400);
        assert_eq!(c.session_max_age.as_secs(), 30 * 86400);
        assert_eq!(c.refresh_reuse_grace.as_secs(), 10);
        assert!(c.require_email_verification);
        assert!(c.smtp_url.is_none());
    }

    #[test]
    fn config_check_shows_every_setting_and_no_secret() {
        let c = Config::from_pairs([
            ("DATABASE_URL", "postgres://authd:hunter2@db:5432/authd"),
            ("AUTHD_SMTP_URL", "smtp://mailer:hunter3@relay:587"),
            ("AUTHD_SECRET", "hunter4-hunter4-hunter4-hunter4-hunter4"),
        ])
        .unwrap();
        let shown = c.describe();
        for key in super::KNOWN_SETTINGS {
            if *key != "AUTHD_SECRET_FILE" {
                assert!(shown.iter().any(|(k, _)| k == key), "{key}");
            }
        }
        let text = format!("{shown:?}");
        for secret in ["hunter2", "hunter3", "hunter4"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.contains("db:5432"), "{text}");
    }

    #[test]
    fn the_serve_help_names_every_setting() {
        let main = include_str!("main.rs");
        for key in super::KNOWN_SETTINGS {
            assert!(
                main.contains(&format!(" {key} "))
                    || main.contains(&format!(" {key}\n"))
                    || main.contains(&format!("  {key}")),
                "{key}"
            );
        }
    }

    #[test]
    fn secrets_never_reach_the_message() {
        for (k, v) in [
            ("DATABASE_URL", "mysql://root:hunter2@db/authd"),
            ("AUTHD_SMTP_URL", "http://user:hunter2@mail"),
            ("AUTHD_SECRET", "hunter2"),
        ] {
            let err = format!("{:#}", Config::from_pairs([(k, v)]).unwrap_err());
            assert!(err.contains(k), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn messages_say_what_is_expected() {
        let err = format!(
            "{:#}",
            Config::from_pairs([("AUTHD_ISSUER", "auth.example.com")]).unwrap_err()
        );
        assert!(err.contains("absolute http(s) URL"), "{err}");
        let err = format!(
            "{:#}",
            Config::from_pairs([("AUTHD_BIND", "0.0.0.0")]).unwrap_err()
        );
        assert!(err.contains("IP:port"), "{err}");
        let c = Config::from_pairs([("AUTHD_BIND", "localhost:8091")]).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8091");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("authd.toml");
        std::fs::write(
            &file,
            "AUTHD_BRAND_NAME = \"x\"\nAUTHD_BRNAD_COLOR = \"#000000\"\n",
        )
        .unwrap();
        let err = format!(
            "{:#}",
            super::read_toml(file.to_str().unwrap()).unwrap_err()
        );
        assert!(err.contains("AUTHD_BRNAD_COLOR"), "{err}");
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (k, v) in [
            ("AUTHD_BIND", "nope"),
            ("AUTHD_ACCESS_TOKEN_TTL", "fifteen"),
            ("AUTHD_REQUIRE_EMAIL_VERIFICATION", "maybe"),
            ("DATABASE_URL", "mysql://x"),
            ("AUTHD_SMTP_URL", "http://x"),
            ("AUTHD_ISSUER", "ftp://x"),
            ("AUTHD_LOG_FORMAT", "xml"),
            ("AUTHD_SESSION_MAX_AGE", "0s"),
            ("AUTHD_MAX_HEADER_BYTES", "100"),
            ("AUTHD_MAX_CONNECTIONS", "0"),
            ("AUTHD_METRICS_BIND", "localhost"),
            ("AUTHD_HEADER_READ_TIMEOUT", "0s"),
            ("AUTHD_BRAND_COLOR", "red"),
            ("AUTHD_BRAND_LOGO_URL", "logo.png"),
            ("AUTHD_ACCESS_TOKEN_TTL", "1y"),
            ("AUTHD_SESSION_MAX_AGE", "1000d"),
        ] {
            let err = format!("{:#}", Config::from_pairs([(k, v)]).unwrap_err());
            assert!(err.contains(k), "{err}");
        }
    }
}
