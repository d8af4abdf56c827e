//! Where settings come from (the environment, then `authd.toml`) and the parsers every setting
//! shares; each error names the setting and never echoes a secret.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use secrecy::SecretString;

/// Where settings come from: the environment wins over the file.
pub(super) struct Source {
    pub(super) env: HashMap<String, String>,
    pub(super) file: HashMap<String, String>,
}

impl Source {
    pub(super) fn get(&self, key: &str) -> Option<String> {
        self.env
            .get(key)
            .or_else(|| self.file.get(key))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    pub(super) fn parse<T>(
        &self,
        key: &str,
        default: &str,
        parse: impl Fn(&str) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let raw = self.get(key).unwrap_or_else(|| default.to_owned());
        parse(&raw).with_context(|| format!("{key}: cannot use {}", shown(key, &raw)))
    }

    pub(super) fn optional<T>(
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
pub(super) fn shown(key: &str, raw: &str) -> String {
    match key {
        "AUTHD_SECRET" => "the value given".to_owned(),
        k if k.ends_with("_CLIENT_SECRET") => "the value given".to_owned(),
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
pub(super) const KNOWN_SETTINGS: &[&str] = &[
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
    "AUTHD_SIGNING_ALG",
    "AUTHD_DPOP_REQUIRE_NONCE",
    "AUTHD_DEFAULT_LOCALE",
    "AUTHD_ANONYMOUS_MAX_AGE",
    "AUTHD_AUDIT_RETENTION",
    "AUTHD_CORS_ORIGINS",
    "AUTHD_LOG_FORMAT",
    "AUTHD_RATE_LIMIT",
    "AUTHD_REQUIRE_MFA_FOR",
    "AUTHD_TRUST_FORWARDED_FOR",
    "AUTHD_HEADER_READ_TIMEOUT",
    "AUTHD_BODY_READ_TIMEOUT",
    "AUTHD_REQUEST_TIMEOUT",
    "AUTHD_MAX_HEADER_BYTES",
    "AUTHD_MAX_CONNECTIONS",
    "AUTHD_MAX_CONNECTIONS_PER_ADDRESS",
    "AUTHD_SHUTDOWN_TIMEOUT",
    "AUTHD_METRICS_BIND",
    "AUTHD_BRAND_NAME",
    "AUTHD_BRAND_LOGO_URL",
    "AUTHD_BRAND_COLOR",
    "AUTHD_SUPPORT_URL",
    "AUTHD_UPSTREAM_PROVIDERS",
];

/// `AUTHD_BIND` and `AUTHD_METRICS_BIND`: an `IP:port`, or `localhost:port`.
pub(super) fn socket_address(raw: &str) -> anyhow::Result<SocketAddr> {
    if let Some(port) = raw.strip_prefix("localhost:") {
        let port: u16 = port
            .parse()
            .map_err(|_| anyhow!("the port must be 0 to 65535"))?;
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    raw.parse()
        .map_err(|_| anyhow!("expected IP:port, like 127.0.0.1:8080 or 0.0.0.0:8080"))
}

pub(super) fn duration(raw: &str) -> anyhow::Result<Duration> {
    let d = humantime::parse_duration(raw)
        .map_err(|e| anyhow!("{e} (write durations like 90s, 15m, 7d)"))?;
    Ok(d)
}

pub(super) fn boolean(raw: &str) -> anyhow::Result<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => bail!("expected true or false"),
    }
}

pub(super) fn base_url(raw: &str) -> anyhow::Result<String> {
    let url = url::Url::parse(raw)
        .map_err(|_| anyhow!("expected an absolute http(s) URL, like https://auth.example.com"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        bail!("expected an http(s) URL");
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

/// `AUTHD_SECRET`, or the first line of the file `AUTHD_SECRET_FILE` names.
pub(super) fn secret(src: &Source) -> anyhow::Result<Option<SecretString>> {
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

pub(super) fn read_toml(path: &str) -> anyhow::Result<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let mut table: toml::Table = text.parse().with_context(|| format!("parsing {path}"))?;
    let mut upstream = match table.remove("upstream") {
        Some(toml::Value::Table(providers)) => upstream_tables(path, providers)?,
        Some(_) => bail!("{path}: upstream must be tables, [upstream.ID]"),
        None => HashMap::new(),
    };
    let flat: HashMap<String, String> = table
        .into_iter()
        .map(|(k, v)| {
            let upper = k.to_uppercase();
            if !KNOWN_SETTINGS.contains(&upper.as_str()) && !is_upstream_key(&upper) {
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
        .collect::<anyhow::Result<_>>()?;
    // A flat key names the same setting as a table's: the flat one is the more specific.
    upstream.extend(flat);
    Ok(upstream)
}

/// `[upstream.google]` with `client_id = "..."` and so on: the same settings as
/// `AUTHD_UPSTREAM_GOOGLE_CLIENT_ID`; the tables' ids make `AUTHD_UPSTREAM_PROVIDERS` (in
/// their order) unless it is set.
fn upstream_tables(path: &str, providers: toml::Table) -> anyhow::Result<HashMap<String, String>> {
    const KEYS: &[&str] = &[
        "kind",
        "issuer",
        "api_url",
        "client_id",
        "client_secret",
        "client_secret_file",
        "name",
        "scopes",
        "allow_signup",
        "email_domains",
    ];
    let mut out = HashMap::new();
    let mut ids = Vec::new();
    for (id, settings) in providers {
        let toml::Value::Table(settings) = settings else {
            bail!("{path}: upstream.{id} must be a table of settings");
        };
        for (k, v) in settings {
            if !KEYS.contains(&k.as_str()) {
                bail!(
                    "{path}: upstream.{id}.{k} is not a provider setting ({})",
                    KEYS.join(", ")
                );
            }
            let value = match v {
                toml::Value::String(s) => s,
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .with_context(|| format!("{path}: upstream.{id}.{k} must list strings"))?
                    .join(","),
                _ => bail!("{path}: upstream.{id}.{k} must be a string, boolean or list"),
            };
            out.insert(upstream_key(&id, &k.to_ascii_uppercase()), value);
        }
        ids.push(id);
    }
    if !ids.is_empty() {
        out.insert("AUTHD_UPSTREAM_PROVIDERS".to_owned(), ids.join(","));
    }
    Ok(out)
}

/// Names in the environment that look like authd settings (`AUTHD_...`) but are none, each as
/// a sentence with the nearest setting when one is close: a typo in the environment is
/// otherwise silently ignored. The test harness's own names (`AUTHD_TEST_...`,
/// `AUTHD_SCREENSHOTS_DIR`) and `AUTHD_CONFIG` are known.
pub fn unknown_settings<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = names
        .into_iter()
        .filter(|n| n.starts_with("AUTHD_"))
        .filter(|n| {
            !KNOWN_SETTINGS.contains(n)
                && !is_upstream_key(n)
                && !n.starts_with("AUTHD_TEST_")
                && !matches!(*n, "AUTHD_CONFIG" | "AUTHD_SCREENSHOTS_DIR")
        })
        .map(|n| {
            let nearest = KNOWN_SETTINGS
                .iter()
                .map(|k| (distance(n, k), *k))
                .min()
                .filter(|(d, _)| *d <= 3);
            match nearest {
                Some((_, k)) => format!("{n} is not an authd setting (did you mean {k}?)"),
                None => {
                    format!("{n} is not an authd setting (see the README's configuration table)")
                }
            }
        })
        .collect();
    out.sort();
    out
}

/// Levenshtein distance, for the suggestion.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (row[j + 1] + 1)
                .min(row[j] + 1)
                .min(prev + usize::from(ca != *cb));
            prev = here;
        }
    }
    row[b.len()]
}

/// The environment name of setting `key` of upstream provider `id`:
/// `AUTHD_UPSTREAM_ACME_CLIENT_ID`.
pub fn upstream_key(id: &str, key: &str) -> String {
    format!(
        "AUTHD_UPSTREAM_{}_{key}",
        id.to_ascii_uppercase().replace('-', "_")
    )
}

/// Whether `key` is one of the upstream settings (any provider's).
pub(super) fn is_upstream_key(key: &str) -> bool {
    key.starts_with("AUTHD_UPSTREAM_")
}
