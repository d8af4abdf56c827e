//! Scope values authd gives a meaning of its own.

/// Scopes about a user (OIDC Core 5.4, and `offline_access`): meaningless in a token a client
/// gets for itself (`client_credentials`), which has no user, and never a resource server's.
pub const USER_SCOPES: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "phone",
    "address",
    "offline_access",
];

/// `scope` without the user scopes: what an access token for a resource server carries (the
/// user scopes shape the ID token and userinfo, which are authd's).
pub fn without_user_scopes(scope: &str) -> String {
    scope
        .split_whitespace()
        .filter(|s| !USER_SCOPES.contains(s))
        .collect::<Vec<_>>()
        .join(" ")
}
