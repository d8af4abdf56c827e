//! Forgotten passwords (an emailed, single-use, one-hour link) and password changes.

use chrono::Duration;

use super::AccountError;
use crate::domain::{AuditKind, EmailAddress, Password};
use crate::mail::Email;
use crate::signin::guard;
use crate::state::AppState;
use crate::storage::audit::AuditEventRow;
use crate::storage::one_time_tokens::{self, PURPOSE_RESET_PASSWORD};
use crate::storage::users::{self, TokenUse, UserKey};
use crate::storage::{UserChanges, UserRow, sessions};
use crate::t;
use crate::tokens::OpaqueToken;

pub const RESET_TTL_HOURS: i64 = 1;

/// The link in the reset email: the frontend's page when one is configured, else authd's,
/// carrying the authorization request the person was signing in to (only ever a path on
/// `/oauth/authorize`), so the journey ends back at the application.
fn reset_link(state: &AppState, token: &OpaqueToken, continue_to: Option<&str>) -> String {
    match &state.config.frontend_url {
        Some(front) => format!("{front}/reset-password?token={}", token.expose()),
        None => super::links::with_continue(
            format!(
                "{}/api/auth/reset-password?token={}",
                state.config.public_url,
                token.expose()
            ),
            continue_to,
        ),
    }
}

/// Sends a reset link when the address belongs to an account. The answer, and the time it
/// takes, are the same either way: the lookup, the write and the email all happen off the
/// request path.
pub async fn forgot_password(
    state: &AppState,
    email: &EmailAddress,
    continue_to: Option<&str>,
) -> Result<(), AccountError> {
    let (state, email) = (state.clone(), email.clone());
    let continue_to = continue_to.map(str::to_owned);
    // The email goes in the request's language, read before the work leaves the request.
    let lang = crate::i18n::current(state.config.default_locale);
    let work = async move {
        let found = users::find_user(&state.db, UserKey::Email(&email.normalized())).await?;
        match found {
            // Past the hour's emails, the link sent last stays the one that works.
            Some(user)
                if user.is_active
                    && !user.is_anonymous
                    && super::mail_allowed(&state, "reset", &email.normalized()).await? =>
            {
                send_reset_link(&state, &user, continue_to.as_deref()).await
            }
            _ => Ok(()),
        }
    };
    super::off_request("sending a reset link", crate::i18n::speaking(lang, work));
    Ok(())
}

/// Stores a fresh reset token for `user` (the only live one) and queues its link.
pub(super) async fn send_reset_link(
    state: &AppState,
    user: &UserRow,
    continue_to: Option<&str>,
) -> Result<(), AccountError> {
    let now = state.clock.now_naive();
    let (token, row) = super::one_time_token(
        PURPOSE_RESET_PASSWORD,
        &user.id,
        now,
        Duration::hours(RESET_TTL_HOURS),
    );
    one_time_tokens::replace_one_time_token(&state.db, &row).await?;
    let to = user.email.clone().unwrap_or_default();
    let email = Email::reset_password(
        crate::i18n::current(state.config.default_locale),
        reset_link(state, &token, continue_to),
    );
    state.mailer.queue(&state.db, &to, &email, now).await?;
    Ok(())
}

/// Sets a new password from a reset link; every session of the user ends.
pub async fn reset_password(
    state: &AppState,
    token: &str,
    new_password: &str,
) -> Result<(), AccountError> {
    let token = OpaqueToken::from_presented(token).ok_or(AccountError::InvalidToken)?;
    let hash = token.hash();
    let row = one_time_tokens::find_one_time_token(&state.db, &hash, PURPOSE_RESET_PASSWORD)
        .await?
        .ok_or(AccountError::InvalidToken)?;
    let user = users::find_user(&state.db, UserKey::Id(&row.subject))
        .await?
        .ok_or(AccountError::InvalidToken)?;
    let password = Password::parse(new_password, user.email.as_deref())
        .map_err(|m| AccountError::Invalid("new_password", m.into()))?;
    let new_hash = state.hasher.hash(&password).await?;
    match users::reset_password(&state.db, &hash, &new_hash, state.clock.now_naive()).await? {
        TokenUse::Done(user) => {
            guard::cleared(state, &user.id).await?;
            password_changed_notice(state, &user).await
        }
        TokenUse::Invalid | TokenUse::Conflict => Err(AccountError::InvalidToken),
    }
}

/// Whether a reset link's token would still work (unused, unexpired, the newest): checked
/// when its page opens, so a dead link says so before anyone types a password.
pub async fn reset_link_usable(state: &AppState, token: &str) -> Result<bool, AccountError> {
    let Some(token) = OpaqueToken::from_presented(token) else {
        return Ok(false);
    };
    let row =
        one_time_tokens::find_one_time_token(&state.db, &token.hash(), PURPOSE_RESET_PASSWORD)
            .await?;
    Ok(row.is_some_and(|r| r.consumed_at.is_none() && r.expires_at > state.clock.now_naive()))
}

/// Tells the account's address its password changed (by the account, or by a reset link).
pub(super) async fn password_changed_notice(
    state: &AppState,
    user: &UserRow,
) -> Result<(), AccountError> {
    crate::signin::factors::notice(
        state,
        user,
        t!("email-password-changed-subject"),
        t!("email-password-changed-intro"),
    )
    .await?;
    Ok(())
}

/// Checks the current password of `user`; a wrong one is a 401.
pub(super) async fn check_current_password(
    state: &AppState,
    user: &UserRow,
    given: Option<&str>,
    field: &'static str,
) -> Result<(), AccountError> {
    let given = given
        .filter(|p| !p.is_empty())
        .ok_or_else(|| AccountError::Invalid(field, "Current password is required".into()))?;
    // Guesses here count against the account like login guesses: a stolen session must not
    // become an unlimited password oracle.
    let guesser = guard::Guesser {
        account: guard::Account::User(&user.id),
        ip: None,
    };
    let budget = guard::attempt(state, &guesser).await?;
    if state
        .hasher
        .verify(given, user.password_hash.as_deref())
        .await?
    {
        Ok(guard::succeeded(state, &guesser).await?)
    } else if let guard::Budget::LastTry { retry_after_secs } = budget {
        Err(AccountError::TooManyAttempts { retry_after_secs })
    } else {
        Err(AccountError::WrongPassword)
    }
}

/// Hashes a new password for `user`, after checking the policy.
pub(super) async fn new_password_hash(
    state: &AppState,
    user: &UserRow,
    raw: &str,
    field: &'static str,
) -> Result<String, AccountError> {
    let password = Password::parse(raw, user.email.as_deref())
        .map_err(|m| AccountError::Invalid(field, m.into()))?;
    Ok(state.hasher.hash(&password).await?)
}

/// Changes the password of a signed-in user; every other session ends, this one stays.
pub async fn change_password(
    state: &AppState,
    user: &UserRow,
    session_id: &str,
    current: Option<&str>,
    new_password: &str,
    code: Option<&str>,
) -> Result<(), AccountError> {
    check_current_password(state, user, current, "current_password").await?;
    super::factors::require_recent_second_factor(
        state,
        user,
        super::factors::Asker::Session(session_id),
        code,
        None,
    )
    .await?;
    let new_hash = new_password_hash(state, user, new_password, "new_password").await?;
    let now = state.clock.now_naive();
    let changes = UserChanges {
        password_hash: Some(Some(new_hash)),
        updated_at: Some(now),
        ..UserChanges::default()
    };
    let changed = AuditEventRow::new(AuditKind::PasswordChanged, now)
        .user(&user.id)
        .session(session_id);
    users::update_user(&state.db, &user.id, &changes, &[changed]).await?;
    let ended = AuditEventRow::new(AuditKind::SessionEnded, now)
        .user(&user.id)
        .detail(serde_json::json!({"reason": "password_changed"}));
    sessions::revoke_user_sessions(&state.db, &user.id, Some(session_id), now, Some(&ended))
        .await?;
    password_changed_notice(state, user).await
}
