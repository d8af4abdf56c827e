//! Upstream providers ("Continue with ..."): `AUTHD_UPSTREAM_PROVIDERS=acme,github` and, per
//! id, `AUTHD_UPSTREAM_{ID}_KIND` (`oidc`, the default, or `github`), `_ISSUER`, `_CLIENT_ID`,
//! `_CLIENT_SECRET` or `_CLIENT_SECRET_FILE`, `_NAME`, `_SCOPES`, `_ALLOW_SIGNUP`,
//! `_EMAIL_DOMAINS`, and for GitHub Enterprise `_API_URL`. The ids `google`, `linkedin` and
//! `github` come with their issuer (or GitHub's addresses) and name filled in.

use anyhow::{Context, anyhow, bail};
use secrecy::SecretString;

pub use super::source::upstream_key as key;
use super::source::{Source, base_url, boolean};

/// What kind of provider, and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpstreamKind {
    /// OpenID Connect: discovery at `{issuer}/.well-known/openid-configuration`.
    Oidc { issuer: String },
    /// GitHub's OAuth apps: `{web}/login/oauth/...`, the user and its emails from `api`.
    GitHub { web: String, api: String },
}

#[derive(Clone, Debug)]
pub struct UpstreamProvider {
    /// Lower-case letters, digits and dashes: in the callback path and the identities.
    pub id: String,
    pub kind: UpstreamKind,
    /// "Continue with {name}".
    pub name: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub scopes: Vec<String>,
    /// Whether a person without an account may get one through this provider.
    pub allow_signup: bool,
    /// When set, the only email domains this provider may assert (lower case).
    pub email_domains: Option<Vec<String>>,
}

pub(super) fn providers(src: &Source) -> anyhow::Result<Vec<UpstreamProvider>> {
    let Some(list) = src.get("AUTHD_UPSTREAM_PROVIDERS") else {
        return Ok(Vec::new());
    };
    let mut out: Vec<UpstreamProvider> = Vec::new();
    for id in list.split(',').map(str::trim).filter(|id| !id.is_empty()) {
        let id = id.to_ascii_lowercase();
        if !id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            || id.len() > 32
        {
            bail!("AUTHD_UPSTREAM_PROVIDERS: {id:?} must be letters, digits and dashes");
        }
        if out.iter().any(|p| p.id == id) {
            bail!("AUTHD_UPSTREAM_PROVIDERS: {id} is listed twice");
        }
        out.push(provider(src, &id)?);
    }
    Ok(out)
}

fn provider(src: &Source, id: &str) -> anyhow::Result<UpstreamProvider> {
    let get = |k: &str| src.get(&key(id, k));
    let kind = match get("KIND").as_deref() {
        Some("github") => "github",
        Some("oidc") => "oidc",
        None if id == "github" => "github",
        None => "oidc",
        Some(other) => bail!("{}: {other:?} is not oidc or github", key(id, "KIND")),
    };
    let url = |k: &str, default: Option<&str>| -> anyhow::Result<String> {
        let raw = get(k)
            .or(default.map(str::to_owned))
            .ok_or_else(|| anyhow!("{} is required", key(id, k)))?;
        let url = base_url(&raw).with_context(|| format!("{}: cannot use {raw:?}", key(id, k)))?;
        let parsed = url::Url::parse(&url)?;
        let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        if parsed.scheme() != "https" && !loopback {
            bail!(
                "{}: {raw:?} must be https (http only on loopback)",
                key(id, k)
            );
        }
        Ok(url)
    };
    let (kind, default_name, default_scopes) = if kind == "github" {
        let web = url("ISSUER", Some("https://github.com"))?;
        let api = url("API_URL", Some("https://api.github.com"))?;
        (
            UpstreamKind::GitHub { web, api },
            "GitHub",
            "read:user user:email",
        )
    } else {
        let (preset_issuer, preset_name) = match id {
            "google" => (Some("https://accounts.google.com"), "Google"),
            "linkedin" => (Some("https://www.linkedin.com/oauth"), "LinkedIn"),
            "microsoft" => (None, "Microsoft"),
            _ => (None, ""),
        };
        let issuer = url("ISSUER", preset_issuer)?;
        (
            UpstreamKind::Oidc { issuer },
            preset_name,
            "openid email profile",
        )
    };
    let name = get("NAME")
        .or_else(|| (!default_name.is_empty()).then(|| default_name.to_owned()))
        .ok_or_else(|| anyhow!("{} is required (\"Continue with NAME\")", key(id, "NAME")))?;
    if name.chars().count() > 40 || name.chars().any(char::is_control) {
        bail!("{}: at most 40 characters", key(id, "NAME"));
    }
    let client_id =
        get("CLIENT_ID").ok_or_else(|| anyhow!("{} is required", key(id, "CLIENT_ID")))?;
    let client_secret = match (get("CLIENT_SECRET"), get("CLIENT_SECRET_FILE")) {
        (Some(_), Some(_)) => bail!(
            "{} and {}: set only one",
            key(id, "CLIENT_SECRET"),
            key(id, "CLIENT_SECRET_FILE")
        ),
        (Some(secret), None) => secret,
        (None, Some(path)) => std::fs::read_to_string(&path)
            .with_context(|| format!("{}: cannot read {path}", key(id, "CLIENT_SECRET_FILE")))?
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        (None, None) => bail!("{} (or _FILE) is required", key(id, "CLIENT_SECRET")),
    };
    if client_secret.is_empty() {
        bail!("{}: the secret is empty", key(id, "CLIENT_SECRET"));
    }
    let scopes = get("SCOPES")
        .unwrap_or_else(|| default_scopes.to_owned())
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let allow_signup = match get("ALLOW_SIGNUP") {
        Some(raw) => boolean(&raw).with_context(|| key(id, "ALLOW_SIGNUP"))?,
        None => true,
    };
    let email_domains = get("EMAIL_DOMAINS").map(|raw| {
        raw.split(',')
            .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .collect()
    });
    Ok(UpstreamProvider {
        id: id.to_owned(),
        kind,
        name,
        client_id,
        client_secret: SecretString::from(client_secret),
        scopes,
        allow_signup,
        email_domains,
    })
}
