//! OAuth clients: who may ask for which grants and scopes, and where codes may be sent.

use std::fmt;
use std::str::FromStr;

use anyhow::Context as _;
use subtle::ConstantTimeEq as _;

use crate::domain::SigningAlg;
use crate::storage::ClientRow;
use crate::tokens::OpaqueToken;

/// What a client may ask for when it names no scopes of its own.
pub const DEFAULT_SCOPES: &str = "openid profile email offline_access";

pub use crate::domain::USER_SCOPES;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientType {
    Public,
    Confidential,
}

impl ClientType {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientType::Public => "public",
            ClientType::Confidential => "confidential",
        }
    }
}

impl FromStr for ClientType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "public" => Ok(ClientType::Public),
            "confidential" => Ok(ClientType::Confidential),
            other => Err(format!(
                "unknown client type {other:?}: public or confidential"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    Password,
}

impl GrantType {
    pub const ALL: [GrantType; 4] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::Password,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::Password => "password",
        }
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GrantType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        GrantType::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| format!("unknown grant {s:?}: one of authorization_code, refresh_token, client_credentials, password"))
    }
}

/// A registered client.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub name: String,
    pub client_type: ClientType,
    secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub first_party: bool,
    /// May introspect other clients' tokens (a resource server).
    pub can_introspect: bool,
    /// Where the client may send a person after logout (RP-Initiated Logout 1.0).
    pub post_logout_redirect_uris: Vec<String>,
    /// Where authd POSTs a logout token when a session of the client ends (Back-Channel
    /// Logout 1.0).
    pub backchannel_logout_uri: Option<String>,
    /// Sign-ins for it need a second factor (`clients create --require-mfa`).
    pub require_mfa: bool,
    /// How its ID and logout tokens are signed (`id_token_signed_response_alg`); `None`:
    /// `AUTHD_SIGNING_ALG`.
    pub id_token_alg: Option<SigningAlg>,
    /// Its token requests must prove a DPoP key (`dpop_bound_access_tokens`).
    pub require_dpop: bool,
}

impl TryFrom<ClientRow> for Client {
    type Error = anyhow::Error;

    fn try_from(row: ClientRow) -> anyhow::Result<Self> {
        let words = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        Ok(Client {
            client_type: row.client_type.parse().map_err(anyhow::Error::msg)?,
            grant_types: row
                .grant_types
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(anyhow::Error::msg)?,
            // Compared in their one canonical form, whatever spelling an earlier version stored.
            redirect_uris: words(&row.redirect_uris)
                .iter()
                .map(|u| canonical_uri(u))
                .collect(),
            scopes: words(&row.scopes),
            id: row.id,
            name: row.name,
            secret_hash: row.secret_hash,
            first_party: row.first_party,
            can_introspect: row.can_introspect,
            post_logout_redirect_uris: words(&row.post_logout_redirect_uris),
            backchannel_logout_uri: row.backchannel_logout_uri,
            require_mfa: row.require_mfa,
            id_token_alg: row
                .id_token_signed_response_alg
                .as_deref()
                .map(|a| {
                    SigningAlg::parse(a)
                        .with_context(|| format!("id_token_signed_response_alg {a:?}"))
                })
                .transpose()?,
            require_dpop: row.require_dpop,
        })
    }
}

impl Client {
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Redirect URIs match exactly, character for character (RFC 9700 section 4.1.3), except
    /// the port of a loopback IP literal (`http://127.0.0.1/cb`, `http://[::1]/cb`): a native
    /// app listens on whatever port it gets, and RFC 8252 section 7.3 has the server allow any.
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris
            .iter()
            .any(|r| r == uri || same_but_loopback_port(r, uri))
    }

    /// The scopes granted for a request: all the client may have when none are asked for,
    /// else the asked ones if each is allowed. `Err` names the first one not allowed.
    ///
    /// An OpenID request (one asking for `openid`, which the client may have) drops the values
    /// the client may not have instead (OIDC Core 3.1.2.1: scope values not understood SHOULD
    /// be ignored; RFC 6749 section 3.3 lets the server grant less), and the token response's
    /// `scope` says what was granted. A plain OAuth request is refused naming the value, so a
    /// mistyped scope is found at once.
    pub fn grant_scopes(&self, requested: Option<&str>) -> Result<Vec<String>, String> {
        // Unasked, a client gets its scopes but not `openid`: an ID token is for a request
        // that asks for one (OIDC Core 3.1.2.1).
        let default = || {
            self.scopes
                .iter()
                .filter(|s| *s != "openid")
                .cloned()
                .collect()
        };
        match requested.map(str::split_whitespace) {
            None => Ok(default()),
            Some(asked) => {
                let allowed = |scope: &str| self.scopes.iter().any(|s| s == scope);
                let openid = requested.is_some_and(|r| r.split_whitespace().any(|s| s == "openid"))
                    && allowed("openid");
                let mut granted: Vec<String> = Vec::new();
                for scope in asked {
                    if !allowed(scope) {
                        if openid {
                            continue;
                        }
                        return Err(scope.to_owned());
                    }
                    if !granted.iter().any(|g| g == scope) {
                        granted.push(scope.to_owned());
                    }
                }
                if granted.is_empty() {
                    Ok(default())
                } else {
                    Ok(granted)
                }
            }
        }
    }

    /// The scopes of a client's own token (`client_credentials`): what it asked for, or all its
    /// non-user scopes when it asked for none. A user scope is never granted here. `Err` names
    /// the first scope refused.
    pub fn grant_client_scopes(&self, requested: Option<&str>) -> Result<Vec<String>, String> {
        let asked: Vec<&str> = requested
            .map(|r| r.split_whitespace().collect())
            .unwrap_or_default();
        if let Some(user_scope) = asked.iter().find(|s| USER_SCOPES.contains(s)) {
            return Err((*user_scope).to_owned());
        }
        if asked.is_empty() {
            return Ok(self
                .scopes
                .iter()
                .filter(|s| !USER_SCOPES.contains(&s.as_str()))
                .cloned()
                .collect());
        }
        self.grant_scopes(requested)
    }

    /// Checks a presented secret in constant time. Public clients have none to check.
    pub fn secret_matches(&self, presented: &str) -> bool {
        let (Some(stored), Some(token)) =
            (&self.secret_hash, OpaqueToken::from_presented(presented))
        else {
            return false;
        };
        token
            .hash()
            .as_str()
            .as_bytes()
            .ct_eq(stored.as_bytes())
            .into()
    }
}

/// Whether `asked` is the registered loopback URI `registered` on another port.
fn same_but_loopback_port(registered: &str, asked: &str) -> bool {
    let (Ok(mut r), Ok(mut a)) = (url::Url::parse(registered), url::Url::parse(asked)) else {
        return false;
    };
    let loopback =
        |u: &url::Url| u.scheme() == "http" && matches!(u.host_str(), Some("127.0.0.1" | "[::1]"));
    if !loopback(&r) || !loopback(&a) {
        return false;
    }
    // The asked URI must be written in its one canonical form (no dot segments, case or
    // escaping games), and equal the registered one but for the port.
    if a.as_str() != asked {
        return false;
    }
    let _ = r.set_port(None);
    let _ = a.set_port(None);
    r == a
}

/// A client to register, as `authd clients create` describes it.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: String,
    pub client_type: ClientType,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub first_party: bool,
    pub can_introspect: bool,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    /// Sign-ins for the client need a second factor.
    pub require_mfa: bool,
    /// How its ID tokens are signed; `None`: `AUTHD_SIGNING_ALG`.
    pub id_token_alg: Option<SigningAlg>,
    /// Its token requests must carry a DPoP proof.
    pub require_dpop: bool,
}

impl NewClient {
    /// Checks the registration and produces the row to store, with the secret to show once.
    pub fn into_row(
        self,
        now: chrono::NaiveDateTime,
    ) -> Result<(ClientRow, Option<OpaqueToken>), String> {
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.len() > 100 {
            return Err("--name: 1 to 100 characters".into());
        }
        if self.grant_types.is_empty() {
            return Err("--grant: name at least one grant".into());
        }
        if self.client_type == ClientType::Public
            && self.grant_types.contains(&GrantType::ClientCredentials)
        {
            return Err("a public client cannot use client_credentials: it has no secret".into());
        }
        if self.grant_types.contains(&GrantType::AuthorizationCode) && self.redirect_uris.is_empty()
        {
            return Err("authorization_code needs at least one --redirect-uri".into());
        }
        let canonical = |flag: &str, uris: &[String]| -> Result<Vec<String>, String> {
            uris.iter().map(|u| check_redirect_uri(flag, u)).collect()
        };
        let redirect_uris = canonical("--redirect-uri", &self.redirect_uris)?;
        let post_logout_redirect_uris = canonical(
            "--post-logout-redirect-uri",
            &self.post_logout_redirect_uris,
        )?;
        let backchannel_logout_uri = match &self.backchannel_logout_uri {
            Some(uri) => Some(check_redirect_uri("--backchannel-logout-uri", uri)?),
            None => None,
        };
        for scope in &self.scopes {
            if scope.is_empty()
                || !scope
                    .chars()
                    .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
            {
                return Err(format!("--scope {scope:?}: not a valid scope token"));
            }
        }
        let scopes = if self.scopes.is_empty() {
            DEFAULT_SCOPES.to_owned()
        } else {
            self.scopes.join(" ")
        };
        let secret = (self.client_type == ClientType::Confidential).then(OpaqueToken::generate);
        let mut grants: Vec<&str> = self.grant_types.iter().map(|g| g.as_str()).collect();
        grants.dedup();
        let row = ClientRow {
            id: format!("c_{}", &OpaqueToken::generate().expose()[..22]),
            name,
            client_type: self.client_type.as_str().to_owned(),
            secret_hash: secret.as_ref().map(|s| s.hash().as_str().to_owned()),
            redirect_uris: redirect_uris.join(" "),
            grant_types: grants.join(" "),
            scopes,
            first_party: self.first_party,
            created_at: now,
            can_introspect: self.can_introspect,
            post_logout_redirect_uris: post_logout_redirect_uris.join(" "),
            backchannel_logout_uri,
            require_mfa: self.require_mfa,
            id_token_signed_response_alg: self.id_token_alg.map(|a| a.as_str().to_owned()),
            require_dpop: self.require_dpop,
        };
        Ok((row, secret))
    }
}

/// Changes to a registered client, as `authd clients update` gives them: each field given
/// replaces the registered one (a list replaces the whole list); the id, type and sessions stay.
#[derive(Debug, Default)]
pub struct ClientChanges {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub grant_types: Option<Vec<GrantType>>,
    pub scopes: Option<Vec<String>>,
    pub first_party: Option<bool>,
    pub can_introspect: Option<bool>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// `Some(None)` removes it.
    pub backchannel_logout_uri: Option<Option<String>>,
    pub require_mfa: Option<bool>,
    /// `Some(None)`: back to `AUTHD_SIGNING_ALG`.
    pub id_token_alg: Option<Option<SigningAlg>>,
    pub require_dpop: Option<bool>,
    /// A new secret replaces the old one at once (confidential clients only).
    pub rotate_secret: bool,
}

/// A client changed: its new row, the names of the fields that changed, and a new secret to
/// show once.
pub struct ClientUpdate {
    pub row: ClientRow,
    pub fields: Vec<&'static str>,
    pub secret: Option<OpaqueToken>,
}

impl ClientChanges {
    /// Checks the changed registration as `clients create` checks a new one.
    pub fn apply(self, old: &ClientRow) -> Result<ClientUpdate, String> {
        let words = |s: &str| -> Vec<String> { s.split_whitespace().map(str::to_owned).collect() };
        let client_type: ClientType = old.client_type.parse()?;
        if self.rotate_secret && client_type != ClientType::Confidential {
            return Err("--rotate-secret: a public client has no secret".into());
        }
        let grant_types = match self.grant_types {
            Some(grants) => grants,
            None => old
                .grant_types
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()?,
        };
        let changed = NewClient {
            name: self.name.unwrap_or_else(|| old.name.clone()),
            client_type,
            redirect_uris: self
                .redirect_uris
                .unwrap_or_else(|| words(&old.redirect_uris)),
            grant_types,
            scopes: self.scopes.unwrap_or_else(|| words(&old.scopes)),
            first_party: self.first_party.unwrap_or(old.first_party),
            can_introspect: self.can_introspect.unwrap_or(old.can_introspect),
            post_logout_redirect_uris: self
                .post_logout_redirect_uris
                .unwrap_or_else(|| words(&old.post_logout_redirect_uris)),
            backchannel_logout_uri: self
                .backchannel_logout_uri
                .unwrap_or_else(|| old.backchannel_logout_uri.clone()),
            require_mfa: self.require_mfa.unwrap_or(old.require_mfa),
            id_token_alg: match self.id_token_alg {
                Some(alg) => alg,
                None => old
                    .id_token_signed_response_alg
                    .as_deref()
                    .and_then(SigningAlg::parse),
            },
            require_dpop: self.require_dpop.unwrap_or(old.require_dpop),
        };
        let (mut row, _) = changed.into_row(old.created_at)?;
        row.id = old.id.clone();
        row.secret_hash = old.secret_hash.clone();
        let secret = self.rotate_secret.then(OpaqueToken::generate);
        if let Some(secret) = &secret {
            row.secret_hash = Some(secret.hash().as_str().to_owned());
        }
        let mut fields = Vec::new();
        for (name, differs) in [
            ("name", row.name != old.name),
            ("redirect_uris", row.redirect_uris != old.redirect_uris),
            ("grant_types", row.grant_types != old.grant_types),
            ("scopes", row.scopes != old.scopes),
            ("first_party", row.first_party != old.first_party),
            ("can_introspect", row.can_introspect != old.can_introspect),
            (
                "post_logout_redirect_uris",
                row.post_logout_redirect_uris != old.post_logout_redirect_uris,
            ),
            (
                "backchannel_logout_uri",
                row.backchannel_logout_uri != old.backchannel_logout_uri,
            ),
            ("require_mfa", row.require_mfa != old.require_mfa),
            (
                "id_token_signed_response_alg",
                row.id_token_signed_response_alg != old.id_token_signed_response_alg,
            ),
            ("require_dpop", row.require_dpop != old.require_dpop),
        ] {
            if differs {
                fields.push(name);
            }
        }
        if fields.is_empty() && secret.is_none() {
            return Err("nothing to change: every value given is the registered one".into());
        }
        Ok(ClientUpdate {
            row,
            fields,
            secret,
        })
    }
}

/// A URI in its one canonical form (WHATWG URL serialization: scheme and host in lower case,
/// a default port dropped, dot segments resolved), so that what is registered, what a browser
/// is sent to and what the token request repeats are compared alike. A string that does not
/// parse stays as it is (and matches nothing but itself).
pub fn canonical_uri(uri: &str) -> String {
    url::Url::parse(uri).map_or_else(|_| uri.to_owned(), String::from)
}

/// A redirect URI a client may register, in its canonical form: `https`; `http` only for
/// loopback hosts (native apps and local development); or a native app's private-use scheme in
/// reverse-DNS form (`com.example.app:/callback`, RFC 8252 section 7.1). No fragment, and no
/// scheme that runs or reads something in the browser (`javascript:`, `data:`, `file:`, ...).
fn check_redirect_uri(flag: &str, uri: &str) -> Result<String, String> {
    let parsed = url::Url::parse(uri).map_err(|e| format!("{flag} {uri}: {e}"))?;
    if parsed.fragment().is_some() {
        return Err(format!("{flag} {uri}: must not have a fragment"));
    }
    if uri.chars().any(char::is_whitespace) {
        return Err(format!("{flag} {uri}: must not contain spaces"));
    }
    let loopback = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match parsed.scheme() {
        "https" if parsed.host_str().is_some() => {}
        "http" if loopback => {}
        "http" => {
            return Err(format!(
                "{flag} {uri}: http is allowed only for localhost; use https"
            ));
        }
        _ if flag == "--backchannel-logout-uri" => {
            return Err(format!("{flag} {uri}: must be an http(s) URL"));
        }
        // A private-use scheme names its owner by a domain it controls.
        scheme if scheme.contains('.') => {
            if parsed.host_str().is_some_and(|h| !h.is_empty()) {
                return Err(format!(
                    "{flag} {uri}: a private-use scheme takes a path only ({scheme}:/callback)"
                ));
            }
        }
        scheme => {
            return Err(format!(
                "{flag} {uri}: the scheme {scheme}: is not allowed; use https, http on \
                 localhost, or a reverse-DNS scheme of your app (com.example.app:/callback)"
            ));
        }
    }
    Ok(parsed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(client_type: ClientType, grants: &[GrantType], uris: &[&str]) -> NewClient {
        NewClient {
            name: "app".into(),
            client_type,
            redirect_uris: uris.iter().map(|s| s.to_string()).collect(),
            grant_types: grants.to_vec(),
            scopes: vec![],
            first_party: false,
            can_introspect: false,
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            require_mfa: false,
            id_token_alg: None,
            require_dpop: false,
        }
    }

    #[test]
    fn registration_rules() {
        let now = chrono::Utc::now().naive_utc();
        let (row, secret) = new(
            ClientType::Confidential,
            &[GrantType::ClientCredentials],
            &[],
        )
        .into_row(now)
        .unwrap();
        let client = Client::try_from(row).unwrap();
        let secret = secret.unwrap();
        assert!(client.secret_matches(secret.expose()));
        assert!(!client.secret_matches("wrong"));
        assert_eq!(client.scopes.join(" "), DEFAULT_SCOPES);

        let (row, secret) = new(
            ClientType::Public,
            &[GrantType::AuthorizationCode],
            &["https://app.example/cb"],
        )
        .into_row(now)
        .unwrap();
        assert!(secret.is_none());
        assert!(!Client::try_from(row).unwrap().secret_matches(""));

        assert!(
            new(ClientType::Public, &[GrantType::ClientCredentials], &[])
                .into_row(now)
                .is_err()
        );
        assert!(
            new(ClientType::Public, &[GrantType::AuthorizationCode], &[])
                .into_row(now)
                .is_err()
        );
        for bad in [
            "http://evil.example/cb",
            "https://app.example/cb#frag",
            "not a uri",
            "javascript:alert(document.domain)//",
            "data:text/html,<script>alert(1)</script>",
            "file:///etc/passwd",
            "vbscript:msgbox(1)",
            "myapp:/callback",
            "com.example.app://callback.host/cb",
        ] {
            assert!(
                new(ClientType::Public, &[GrantType::AuthorizationCode], &[bad])
                    .into_row(now)
                    .is_err(),
                "{bad}"
            );
        }
        assert!(
            new(
                ClientType::Public,
                &[GrantType::AuthorizationCode],
                &["http://127.0.0.1:8400/cb"]
            )
            .into_row(now)
            .is_ok()
        );
        // A native app's private-use scheme, and a spelling stored in its canonical form.
        let (row, _) = new(
            ClientType::Public,
            &[GrantType::AuthorizationCode],
            &[
                "com.example.app:/callback",
                "https://APP.example:443/a/../cb",
            ],
        )
        .into_row(now)
        .unwrap();
        assert_eq!(
            row.redirect_uris,
            "com.example.app:/callback https://app.example/cb"
        );
        let client = Client::try_from(row).unwrap();
        assert!(client.has_redirect_uri("https://app.example/cb"));
        assert!(client.has_redirect_uri("com.example.app:/callback"));
    }

    #[test]
    fn scopes_and_redirects_match_exactly() {
        let now = chrono::Utc::now().naive_utc();
        let mut n = new(
            ClientType::Public,
            &[GrantType::AuthorizationCode],
            &["https://app.example/cb"],
        );
        n.scopes = vec!["openid".into(), "email".into()];
        let client = Client::try_from(n.into_row(now).unwrap().0).unwrap();
        assert!(client.has_redirect_uri("https://app.example/cb"));
        assert!(!client.has_redirect_uri("https://app.example/cb/"));
        assert!(!client.has_redirect_uri("https://app.example/cb?x=1"));
        assert_eq!(
            client.grant_scopes(Some("email openid email")).unwrap(),
            vec!["email", "openid"]
        );
        assert_eq!(
            client.grant_scopes(None).unwrap(),
            vec!["email"],
            "no openid unasked"
        );
        assert_eq!(client.grant_scopes(Some("admin")).unwrap_err(), "admin");
        assert_eq!(
            client.grant_scopes(Some("openid admin email")).unwrap(),
            vec!["openid", "email"],
            "an OpenID request drops what the client may not have"
        );
        assert_eq!(
            client.grant_scopes(Some("openid admin")).unwrap(),
            vec!["openid"]
        );
    }

    #[test]
    fn loopback_redirects_match_on_any_port() {
        let now = chrono::Utc::now().naive_utc();
        let n = new(
            ClientType::Public,
            &[GrantType::AuthorizationCode],
            &[
                "http://127.0.0.1/callback",
                "http://[::1]:8000/cb",
                "http://localhost/cb",
            ],
        );
        let client = Client::try_from(n.into_row(now).unwrap().0).unwrap();
        assert!(client.has_redirect_uri("http://127.0.0.1:53127/callback"));
        assert!(client.has_redirect_uri("http://127.0.0.1/callback"));
        assert!(client.has_redirect_uri("http://[::1]:40001/cb"));
        assert!(!client.has_redirect_uri("http://127.0.0.1:53127/callback/x"));
        assert!(!client.has_redirect_uri("http://127.0.0.1:53127/callback?x=1"));
        assert!(!client.has_redirect_uri("https://127.0.0.1:53127/callback"));
        assert!(!client.has_redirect_uri("http://127.0.0.2:53127/callback"));
        // `localhost` is a name, not a loopback literal: exact match only (RFC 8252 8.3).
        assert!(!client.has_redirect_uri("http://localhost:9000/cb"));
    }

    #[test]
    fn client_tokens_get_no_user_scopes() {
        let now = chrono::Utc::now().naive_utc();
        let mut n = new(
            ClientType::Confidential,
            &[GrantType::ClientCredentials],
            &[],
        );
        let client = Client::try_from(n.clone().into_row(now).unwrap().0).unwrap();
        assert!(client.grant_client_scopes(None).unwrap().is_empty());
        assert_eq!(
            client.grant_client_scopes(Some("openid")).unwrap_err(),
            "openid"
        );
        n.scopes = vec![
            "reports:read".into(),
            "email".into(),
            "reports:write".into(),
        ];
        let client = Client::try_from(n.into_row(now).unwrap().0).unwrap();
        assert_eq!(
            client.grant_client_scopes(None).unwrap(),
            vec!["reports:read", "reports:write"]
        );
        assert_eq!(
            client.grant_client_scopes(Some("reports:read")).unwrap(),
            vec!["reports:read"]
        );
        assert_eq!(
            client
                .grant_client_scopes(Some("reports:read email"))
                .unwrap_err(),
            "email"
        );
    }
}
