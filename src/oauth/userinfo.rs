//! The claims `/oauth/userinfo` answers (OIDC Core 5.3 and 5.4): `sub`, and the rest by the
//! token's scopes. Claims without a value are left out.

use serde_json::{Map, Value, json};

use crate::storage::UserRow;

/// The claims about `user` that `scopes` allow.
pub fn claims(user: &UserRow, scopes: &[&str]) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(user.id));
    let mut put = |name: &str, value: Option<Value>| {
        if let Some(v) = value {
            claims.insert(name.into(), v);
        }
    };
    let text = |v: &Option<String>| v.as_ref().map(|v| json!(v));
    if scopes.contains(&"profile") {
        put("name", text(&user.full_name));
        put("given_name", text(&user.first_name));
        put("family_name", text(&user.last_name));
        put("preferred_username", text(&user.username));
    }
    if scopes.contains(&"email") && user.email.is_some() {
        put("email", text(&user.email));
        put("email_verified", Some(json!(user.is_email_verified)));
    }
    if scopes.contains(&"phone") && user.phone.is_some() {
        put("phone_number", text(&user.phone));
        // authd does not verify phone numbers.
        put("phone_number_verified", Some(json!(false)));
    }
    claims
}
