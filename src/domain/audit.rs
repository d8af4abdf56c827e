//! What the audit trail records: the kinds of events and who acts in them.

/// The kind of an audit event, as stored and as filtered by (`sign_in.succeeded`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    /// A complete sign-in (every factor due proved): `detail` has its `amr` and `acr`.
    SignInSucceeded,
    /// A wrong password or code: `detail.factor` says which. For a name that no account
    /// holds, `user_id` is empty and `detail.reason` is `unknown_account`.
    SignInFailed,
    /// An account made by a followed verification link (or at once, without verification).
    SignUp,
    PasswordChanged,
    PasswordReset,
    /// A session ended: `detail.reason` is `logout`, `logout_all`, `revoked` (from the
    /// session list), `refresh_token_reused` (a retired refresh token came back: theft),
    /// `admin`.
    SessionEnded,
    AccountDeleted,
    /// An email change asked for (`detail.new_email`), confirmed by the new address, or
    /// stopped from the old one.
    EmailChangeRequested,
    EmailChangeConfirmed,
    EmailChangeCancelled,
    /// A second factor confirmed (`detail.type`: `totp`, `passkey`), or removed.
    FactorAdded,
    FactorRemoved,
    /// Every factor of the account removed by an admin or at the command line.
    FactorsReset,
    /// A new set of recovery codes.
    RecoveryCodesRenewed,
    /// An identity at another provider linked or unlinked (`detail.provider`).
    IdentityLinked,
    IdentityUnlinked,
    /// A third-party client allowed (`detail.scopes`), or the permission withdrawn.
    ConsentGiven,
    ConsentWithdrawn,
    /// A client registered, changed (`detail.fields`, `detail.secret_rotated`) or deleted at
    /// the command line.
    ClientCreated,
    ClientUpdated,
    ClientDeleted,
    /// A resource server (RFC 8707) registered or deleted at the command line
    /// (`detail.identifier`).
    ResourceCreated,
    ResourceDeleted,
    /// A signing key rotated in, or retired (`detail.kid`).
    KeyRotated,
    KeyRetired,
    /// An admin changed an account: `detail` names the fields (`role`, `is_active`, ...).
    AdminUserUpdated,
    AdminUserDeleted,
    /// A request refused by a rate limit (`detail.limit` names which): the first refusal per
    /// client address (or account) and window, not every one.
    RateLimited,
}

impl AuditKind {
    pub const ALL: [AuditKind; 28] = [
        Self::SignInSucceeded,
        Self::SignInFailed,
        Self::SignUp,
        Self::PasswordChanged,
        Self::PasswordReset,
        Self::SessionEnded,
        Self::AccountDeleted,
        Self::EmailChangeRequested,
        Self::EmailChangeConfirmed,
        Self::EmailChangeCancelled,
        Self::FactorAdded,
        Self::FactorRemoved,
        Self::FactorsReset,
        Self::RecoveryCodesRenewed,
        Self::IdentityLinked,
        Self::IdentityUnlinked,
        Self::ConsentGiven,
        Self::ConsentWithdrawn,
        Self::ClientCreated,
        Self::ClientUpdated,
        Self::ClientDeleted,
        Self::ResourceCreated,
        Self::ResourceDeleted,
        Self::KeyRotated,
        Self::KeyRetired,
        Self::AdminUserUpdated,
        Self::AdminUserDeleted,
        Self::RateLimited,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignInSucceeded => "sign_in.succeeded",
            Self::SignInFailed => "sign_in.failed",
            Self::SignUp => "sign_up",
            Self::PasswordChanged => "password.changed",
            Self::PasswordReset => "password.reset",
            Self::SessionEnded => "session.ended",
            Self::AccountDeleted => "account.deleted",
            Self::EmailChangeRequested => "email_change.requested",
            Self::EmailChangeConfirmed => "email_change.confirmed",
            Self::EmailChangeCancelled => "email_change.cancelled",
            Self::FactorAdded => "factor.added",
            Self::FactorRemoved => "factor.removed",
            Self::FactorsReset => "factors.reset",
            Self::RecoveryCodesRenewed => "recovery_codes.renewed",
            Self::IdentityLinked => "identity.linked",
            Self::IdentityUnlinked => "identity.unlinked",
            Self::ConsentGiven => "consent.given",
            Self::ConsentWithdrawn => "consent.withdrawn",
            Self::ClientCreated => "client.created",
            Self::ClientUpdated => "client.updated",
            Self::ClientDeleted => "client.deleted",
            Self::ResourceCreated => "resource.created",
            Self::ResourceDeleted => "resource.deleted",
            Self::KeyRotated => "key.rotated",
            Self::KeyRetired => "key.retired",
            Self::AdminUserUpdated => "admin.user_updated",
            Self::AdminUserDeleted => "admin.user_deleted",
            Self::RateLimited => "rate_limit.refused",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the person the event concerns sees it in their own activity.
    pub fn shown_to_the_person(self) -> bool {
        !matches!(
            self,
            Self::AdminUserUpdated
                | Self::AdminUserDeleted
                | Self::ClientCreated
                | Self::ClientUpdated
                | Self::ClientDeleted
                | Self::ResourceCreated
                | Self::ResourceDeleted
                | Self::RateLimited
                | Self::KeyRotated
                | Self::KeyRetired
        )
    }
}

/// Who acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The account's own person (or someone with its credentials).
    User,
    /// An admin through the admin API (`actor_id` names the admin).
    Admin,
    /// An operator at the command line.
    Cli,
    /// authd itself (theft detection, expiry).
    System,
}

impl Actor {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
            Self::Cli => "cli",
            Self::System => "system",
        }
    }
}

/// "Firefox on Linux" from a user agent; `None` when neither is recognised.
pub fn device_in_words(user_agent: &str) -> Option<String> {
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .into_iter()
    .find(|(mark, _)| user_agent.contains(mark))
    .map(|(_, name)| name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(mark, _)| user_agent.contains(mark))
    .map(|(_, name)| name);
    match (browser, system) {
        (Some(b), Some(s)) => Some(format!("{b} on {s}")),
        (Some(b), None) => Some(b.to_owned()),
        (None, Some(s)) => Some(s.to_owned()),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_in_words() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert_eq!(
            device_in_words(firefox).as_deref(),
            Some("Firefox on Linux")
        );
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
        assert_eq!(device_in_words(iphone).as_deref(), Some("Safari on iOS"));
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
        assert_eq!(device_in_words(edge).as_deref(), Some("Edge on Windows"));
        assert_eq!(device_in_words("reqwest"), None);
    }

    #[test]
    fn kinds_round_trip_and_unknown_ones_are_refused() {
        for k in AuditKind::ALL {
            assert_eq!(AuditKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(AuditKind::parse("sign_in"), None);
        assert_eq!(AuditKind::parse("SIGN_IN.SUCCEEDED"), None);
    }
}
