//! Resource servers (RFC 8707): a service registered with the identifier its tokens must name
//! (`authd resources create`). A request with `resource=IDENTIFIER` gets an access token whose
//! `aud` is that identifier and whose scopes are the service's, so a token meant for one
//! service is refused by another that checks `aud` (and by authd's own API).

use crate::domain::USER_SCOPES;
use crate::storage::ResourceRow;

/// A registered resource server.
#[derive(Debug, Clone)]
pub struct Resource {
    pub identifier: String,
    pub name: String,
    pub scopes: Vec<String>,
}

impl From<ResourceRow> for Resource {
    fn from(row: ResourceRow) -> Self {
        Resource {
            scopes: row.scopes.split_whitespace().map(str::to_owned).collect(),
            identifier: row.identifier,
            name: row.name,
        }
    }
}

impl Resource {
    /// Whether a token for this resource may carry `scopes`: the service's own, and the user
    /// scopes of an OpenID request (they shape the ID token, not the access token). `Err`
    /// names the first one that is neither.
    pub fn admits<'a>(&self, scopes: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
        for scope in scopes {
            if !USER_SCOPES.contains(&scope) && !self.scopes.iter().any(|s| s == scope) {
                return Err(format!(
                    "scope {scope} is not one of {}'s scopes",
                    self.identifier
                ));
            }
        }
        Ok(())
    }
}

/// A resource to register, as `authd resources create` describes it.
pub struct NewResource {
    pub identifier: String,
    pub name: Option<String>,
    pub scopes: Vec<String>,
}

impl NewResource {
    /// Checks it (RFC 8707 section 2: an absolute URI without a fragment) and produces its row.
    pub fn into_row(self, now: chrono::NaiveDateTime) -> Result<ResourceRow, String> {
        let parsed = url::Url::parse(&self.identifier)
            .map_err(|e| format!("--identifier {}: {e}", self.identifier))?;
        if parsed.fragment().is_some() {
            return Err(format!(
                "--identifier {}: must not have a fragment (RFC 8707 section 2)",
                self.identifier
            ));
        }
        if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
            return Err(format!(
                "--identifier {}: an http(s) URL, such as https://api.example.com",
                self.identifier
            ));
        }
        if self.scopes.is_empty() {
            return Err("--scope: name at least one scope the service takes".into());
        }
        for scope in &self.scopes {
            if USER_SCOPES.contains(&scope.as_str()) {
                return Err(format!(
                    "--scope {scope}: a user scope, not a service's (it shapes ID tokens)"
                ));
            }
            if scope.is_empty()
                || !scope
                    .chars()
                    .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
            {
                return Err(format!("--scope {scope:?}: not a valid scope token"));
            }
        }
        let name = self
            .name
            .unwrap_or_else(|| parsed.host_str().unwrap_or_default().to_owned());
        Ok(ResourceRow {
            identifier: self.identifier,
            name,
            scopes: self.scopes.join(" "),
            created_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_and_scopes() {
        let now = chrono::Utc::now().naive_utc();
        let new = |id: &str, scopes: &[&str]| NewResource {
            identifier: id.into(),
            name: None,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        };
        let row = new("https://api.example.com", &["reports:read"])
            .into_row(now)
            .unwrap();
        assert_eq!(row.name, "api.example.com");
        assert!(
            new("https://api.example.com#x", &["a"])
                .into_row(now)
                .is_err()
        );
        assert!(new("api.example.com", &["a"]).into_row(now).is_err());
        assert!(new("https://api.example.com", &[]).into_row(now).is_err());
        assert!(
            new("https://api.example.com", &["openid"])
                .into_row(now)
                .is_err()
        );
        let api = Resource::from(row);
        assert!(api.admits(["openid", "reports:read"]).is_ok());
        assert!(
            api.admits(["reports:write"])
                .unwrap_err()
                .contains("reports:write")
        );
        assert_eq!(
            crate::domain::without_user_scopes("email openid reports:read"),
            "reports:read"
        );
    }
}
