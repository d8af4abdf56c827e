//! Account flows: registration, verification, login, refresh, logout, profile.
//! They speak domain types and return `AccountError`; HTTP knows nothing in here.

mod admin;
mod anonymous;
pub mod audit;
pub mod consent;
pub mod factors;
pub mod identities;
pub mod limits;
mod links;
mod login;
mod password;
mod profile;
mod register;
mod sessions;
mod verify;
mod view;

pub use admin::{
    AdminUserChanges, UserPage, create_admin, delete_user, find_user, list_users, revoke_sessions,
    update_user,
};
pub use anonymous::create_anonymous;
pub use login::{
    Challenge, ChallengeFactor, LoginOutcome, PasskeySignIn, SecondAnswer, login, login_for,
    passkey_login, passkey_options, verify_second_step,
};
pub use password::{change_password, forgot_password, reset_link_usable, reset_password};
pub use profile::{
    ProfileUpdate, SessionView, cancel_email_change, delete_account, end_session, list_sessions,
    update_profile,
};
pub use register::{
    NewRegistration, RegisterOutcome, SignUpBrowser, Verified, is_authorize_path, register,
    resend_verification,
};
pub use sessions::{TokenUser, logout, logout_all, refresh, refresh_for, token_user};
pub use verify::{verify_email, verify_email_in_browser};
pub use view::{TokenResponse, UserView};

use crate::signin::{SessionGrant, SignInError};
use crate::state::AppState;
use crate::storage::StorageError;

/// The built-in public client that `/api/auth/*` issues tokens for.
pub const FIRST_PARTY_CLIENT: &str = "authd-web";
/// What a first-party login may do.
pub const FIRST_PARTY_SCOPE: &str = "openid profile email offline_access";

/// A session of the built-in client of `/api/auth/*`.
pub fn first_party_grant() -> SessionGrant {
    SessionGrant {
        resource: None,
        client_id: FIRST_PARTY_CLIENT.to_owned(),
        scope: FIRST_PARTY_SCOPE.to_owned(),
    }
}

/// Runs `work` off the request path, so that the answer takes the same time whatever the work
/// finds (a known address or not); its failure is logged, since nobody waits for it.
fn off_request<F>(what: &'static str, work: F)
where
    F: Future<Output = Result<(), AccountError>> + Send + 'static,
{
    tokio::spawn(async move {
        if let Err(e) = work.await {
            tracing::error!(error = ?e, "{what} failed");
        }
    });
}

/// How many emails of one purpose one address gets in an hour, whoever asks for them: a
/// sign-up, reset or resend form cannot be turned into a mail bomb. The asker is told the same
/// whether or not an email went.
const MAILS_PER_ADDRESS_PER_HOUR: i32 = 5;

/// Counts an email of `purpose` to `address` (normalized); `false` once the hour's are spent.
async fn mail_allowed(
    state: &AppState,
    purpose: &str,
    address: &str,
) -> Result<bool, AccountError> {
    use crate::storage::rate_limits;
    let bucket = rate_limits::bucket(&format!("mail:{purpose}"), address);
    let now = state.clock.now_naive();
    let refused =
        crate::storage::audit::AuditEventRow::new(crate::domain::AuditKind::RateLimited, now)
            .by(crate::domain::Actor::System, None)
            .failed()
            .detail(
                serde_json::json!({ "limit": format!("mail:{purpose}"), "per": "email_address" }),
            );
    let over = rate_limits::hit(
        &state.db,
        &bucket,
        MAILS_PER_ADDRESS_PER_HOUR,
        chrono::Duration::hours(1),
        now,
        &refused,
    )
    .await?;
    if over.is_some() {
        tracing::info!(
            purpose,
            "an address's emails for the hour are spent; not sent"
        );
    }
    Ok(over.is_none())
}

/// A fresh single-use token for an emailed link, and the row that stores only its hash.
fn one_time_token(
    purpose: &str,
    subject: &str,
    now: chrono::NaiveDateTime,
    ttl: chrono::Duration,
) -> (crate::tokens::OpaqueToken, crate::storage::OneTimeTokenRow) {
    let token = crate::tokens::OpaqueToken::generate();
    let row = crate::storage::OneTimeTokenRow {
        token_hash: token.hash().as_str().to_owned(),
        purpose: purpose.to_owned(),
        subject: subject.to_owned(),
        created_at: now,
        expires_at: now + ttl,
        consumed_at: None,
        payload: None,
    };
    (token, row)
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("Invalid credentials")]
    InvalidCredentials,
    #[error("Email not verified")]
    EmailNotVerified,
    #[error("Account disabled")]
    AccountDisabled,
    #[error("Invalid or expired token")]
    InvalidToken,
    #[error("Email already verified")]
    AlreadyVerified,
    #[error("{0}")]
    InUse(&'static str),
    #[error("Invalid refresh token")]
    InvalidRefreshToken,
    /// A refresh token bound to a DPoP key, presented without a proof of that key.
    #[error("Invalid refresh token")]
    DpopKeyMismatch,
    #[error("Current password is incorrect")]
    WrongPassword,
    /// A second factor's code that is wrong, used already, or of another time.
    #[error("Invalid code")]
    InvalidCode,
    /// A second step's challenge unknown, spent or expired.
    #[error("Invalid or expired challenge")]
    InvalidChallenge,
    /// A passkey's answer that proves nothing.
    #[error("The passkey was not accepted")]
    PasskeyRefused,
    /// A passkey sign-in's options that expired or were used already.
    #[error("The passkey request expired")]
    PasskeyExpired,
    /// The account has a second factor, and this needs a recent proof of it.
    #[error("{0}")]
    SecondFactorRequired(&'static str),
    /// Too many wrong passwords for this account (see `guard`).
    #[error("Too many attempts, please try again later")]
    TooManyAttempts { retry_after_secs: u64 },
    /// A field the flow itself found wrong (where the check needs stored data).
    #[error("{1}")]
    Invalid(&'static str, String),
    #[error("{0}")]
    NotFound(&'static str),
    #[error("{0}")]
    NotAllowed(&'static str),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl AccountError {
    /// The 409 message for an identifier that another account holds.
    pub fn in_use(field: &str) -> Self {
        AccountError::InUse(match field {
            "username" => "Username already in use",
            "phone" => "Phone number already in use",
            _ => "Email already in use",
        })
    }
}

impl From<SignInError> for AccountError {
    fn from(e: SignInError) -> Self {
        match e {
            SignInError::InvalidCredentials => AccountError::InvalidCredentials,
            SignInError::EmailNotVerified => AccountError::EmailNotVerified,
            SignInError::AccountDisabled => AccountError::AccountDisabled,
            SignInError::TooManyAttempts { retry_after_secs } => {
                AccountError::TooManyAttempts { retry_after_secs }
            }
            SignInError::InvalidCode => AccountError::InvalidCode,
            SignInError::InvalidChallenge => AccountError::InvalidChallenge,
            SignInError::PasskeyRefused => AccountError::PasskeyRefused,
            SignInError::PasskeyExpired => AccountError::PasskeyExpired,
            SignInError::PasskeysUnavailable => AccountError::NotAllowed(
                "Passkeys are off: authd's pages must be served over HTTPS (or at localhost) under \
                 a domain name",
            ),
            SignInError::Unexpected(cause) => AccountError::Unexpected(cause),
        }
    }
}

impl From<StorageError> for AccountError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Conflict(field) => AccountError::in_use(field),
            other => AccountError::Unexpected(other.into()),
        }
    }
}
