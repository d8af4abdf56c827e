//! A signed-in user's own account: profile, email change, sessions, deletion.

use chrono::Duration;
use serde::Serialize;

use super::AccountError;
use super::links::{VERIFICATION_TTL_HOURS, verification_link};
use super::password::{check_current_password, new_password_hash};
use super::view::rfc3339;
use crate::domain::{AuditKind, EmailAddress, FullName, PersonName, PhoneNumber, Username};
use crate::mail::Email;
use crate::state::AppState;
use crate::storage::audit::AuditEventRow;
use crate::storage::one_time_tokens::{self, PURPOSE_CANCEL_EMAIL_CHANGE, PURPOSE_CHANGE_EMAIL};
use crate::storage::users::{self, TokenUse};
use crate::storage::{UserChanges, UserRow, sessions};
use crate::tokens::OpaqueToken;

/// A profile change, parsed. `None` leaves a field alone; `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct ProfileUpdate {
    pub username: Option<Username>,
    pub full_name: Option<Option<FullName>>,
    pub first_name: Option<Option<PersonName>>,
    pub last_name: Option<Option<PersonName>>,
    pub phone: Option<Option<PhoneNumber>>,
    pub email: Option<EmailAddress>,
    /// A new password, checked against the policy once the account's email is known.
    pub password: Option<String>,
    pub current_password: Option<String>,
    /// A second factor's code, for an account that has one (see `factors`).
    pub code: Option<String>,
}

/// How long after proving the password a session may change the email or phone without
/// giving it again.
const RECENT_AUTH: Duration = Duration::minutes(5);
/// How long the link that stops an email change works (as long as the change itself).
const CANCEL_EMAIL_CHANGE_TTL: Duration = Duration::hours(VERIFICATION_TTL_HOURS);

/// Sensitive changes (the email, which receives reset links, and the phone, a login name) need
/// the current password, or a session whose password was proven within `RECENT_AUTH`: a token
/// alone, stolen or left in a browser, does not reach them.
async fn require_recent_auth(
    state: &AppState,
    user: &UserRow,
    session_id: &str,
    current_password: Option<&str>,
) -> Result<(), AccountError> {
    if current_password.is_some_and(|p| !p.is_empty()) {
        return check_current_password(state, user, current_password, "current_password").await;
    }
    let now = state.clock.now_naive();
    let recent = crate::signin::of_session(state, session_id)
        .await?
        .is_some_and(|s| now - s.auth_time <= RECENT_AUTH);
    if recent {
        Ok(())
    } else {
        Err(AccountError::Invalid(
            "current_password",
            "Enter your current password to change your email or phone".into(),
        ))
    }
}

/// The link in the notice to the old address that undoes an email change.
fn cancel_email_change_link(state: &AppState, token: &OpaqueToken) -> String {
    format!(
        "{}/api/auth/cancel-email-change?token={}",
        state.config.public_url,
        token.expose()
    )
}

/// An anonymous user gets an email and password by registering, not through its profile.
fn refuse_anonymous_credentials(
    user: &UserRow,
    update: &ProfileUpdate,
) -> Result<(), AccountError> {
    if !user.is_anonymous || (update.email.is_none() && update.password.is_none()) {
        return Ok(());
    }
    Err(AccountError::Invalid(
        if update.email.is_some() {
            "email"
        } else {
            "password"
        },
        "An anonymous user sets an email and password by registering".into(),
    ))
}

pub async fn update_profile(
    state: &AppState,
    user: &UserRow,
    session_id: &str,
    update: ProfileUpdate,
) -> Result<UserRow, AccountError> {
    let now = state.clock.now_naive();
    let mut changes = UserChanges {
        updated_at: Some(now),
        ..UserChanges::default()
    };
    refuse_anonymous_credentials(user, &update)?;
    let sensitive = update.password.is_some()
        || update
            .email
            .as_ref()
            .is_some_and(|e| user.email_normalized.as_deref() != Some(&e.normalized()))
        || update
            .phone
            .as_ref()
            .and_then(|p| p.as_ref())
            .is_some_and(|p| user.phone.as_deref() != Some(p.as_str()));
    if sensitive {
        super::factors::require_recent_second_factor(
            state,
            user,
            super::factors::Asker::Session(session_id),
            update.code.as_deref(),
            None,
        )
        .await?;
    }
    if let Some(raw) = &update.password {
        check_current_password(
            state,
            user,
            update.current_password.as_deref(),
            "current_password",
        )
        .await?;
        changes.password_hash = Some(Some(new_password_hash(state, user, raw, "password").await?));
    }

    let names = name_changes(user, &update);
    let new_email = update
        .email
        .filter(|e| user.email_normalized.as_deref() != Some(&e.normalized()));
    let new_username = update
        .username
        .filter(|u| user.username.as_deref() != Some(u.as_str()));
    let new_phone = update
        .phone
        .as_ref()
        .and_then(|p| p.as_ref())
        .filter(|p| user.phone.as_deref() != Some(p.as_str()));
    if new_email.is_some() || new_phone.is_some() {
        require_recent_auth(state, user, session_id, update.current_password.as_deref()).await?;
    }
    if let Some(field) = users::find_taken_identifier(
        &state.db,
        &new_email
            .as_ref()
            .map(EmailAddress::normalized)
            .unwrap_or_default(),
        new_username.as_ref().map(Username::as_str),
        new_phone.map(PhoneNumber::as_str),
        Some(&user.id),
    )
    .await?
    {
        return Err(AccountError::in_use(field));
    }

    changes.username = new_username.map(|u| u.as_str().to_owned());
    (changes.full_name, changes.first_name, changes.last_name) = names;
    changes.phone = update.phone.map(|p| p.map(|p| p.as_str().to_owned()));
    changes.pending_email = new_email.as_ref().map(|e| Some(e.as_str().to_owned()));

    if changes.password_hash.is_some() {
        // Before the update: ending the other sessions also drops any earlier pending email
        // change, and must not drop the one this request makes.
        let ended = AuditEventRow::new(AuditKind::SessionEnded, now)
            .user(&user.id)
            .detail(serde_json::json!({"reason": "password_changed"}));
        sessions::revoke_user_sessions(&state.db, &user.id, Some(session_id), now, Some(&ended))
            .await?;
    }
    let mut events = Vec::new();
    if changes.password_hash.is_some() {
        events.push(
            AuditEventRow::new(AuditKind::PasswordChanged, now)
                .user(&user.id)
                .session(session_id),
        );
    }
    if let Some(email) = &new_email {
        events.push(
            AuditEventRow::new(AuditKind::EmailChangeRequested, now)
                .user(&user.id)
                .session(session_id)
                .detail(serde_json::json!({"old_email": user.email, "new_email": email.as_str()})),
        );
    }
    let updated = users::update_user(&state.db, &user.id, &changes, &events)
        .await?
        .ok_or(AccountError::NotFound("User not found"))?;

    if changes.password_hash.is_some() {
        super::password::password_changed_notice(state, &updated).await?;
    }
    if let Some(email) = new_email {
        start_email_change(state, user, &email, now).await?;
    }
    Ok(updated)
}

/// A profile update's names: `(full, first, last)`, each `None` when unchanged and `Some(None)`
/// when cleared. Sending only a first or last name makes the full name follow them.
#[allow(clippy::type_complexity)]
fn name_changes(
    user: &UserRow,
    update: &ProfileUpdate,
) -> (
    Option<Option<String>>,
    Option<Option<String>>,
    Option<Option<String>>,
) {
    let first = update
        .first_name
        .clone()
        .map(|n| n.map(PersonName::into_inner));
    let last = update
        .last_name
        .clone()
        .map(|n| n.map(PersonName::into_inner));
    let full = match &update.full_name {
        Some(full) => Some(full.clone().map(FullName::into_inner)),
        // Only first/last sent: the full name follows them.
        None if first.is_some() || last.is_some() => {
            let first = first.clone().unwrap_or_else(|| user.first_name.clone());
            let last = last.clone().unwrap_or_else(|| user.last_name.clone());
            let parts: Vec<String> = [first, last].into_iter().flatten().collect();
            Some((!parts.is_empty()).then(|| parts.join(" ")))
        }
        None => None,
    };
    (full, first, last)
}

/// Mails the confirmation link to the new address and, when there was one, a notice with a
/// way to stop the change to the old one.
async fn start_email_change(
    state: &AppState,
    user: &UserRow,
    email: &EmailAddress,
    now: chrono::NaiveDateTime,
) -> Result<(), AccountError> {
    let (token, row) = super::one_time_token(
        PURPOSE_CHANGE_EMAIL,
        &user.id,
        now,
        Duration::hours(VERIFICATION_TTL_HOURS),
    );
    one_time_tokens::replace_one_time_token(&state.db, &row).await?;
    let lang = crate::i18n::current(state.config.default_locale);
    let confirm = Email::confirm_new_email(lang, verification_link(state, &token));
    state
        .mailer
        .queue(&state.db, email.as_str(), &confirm, now)
        .await?;
    if let Some(old) = user.email.clone() {
        let (cancel, mut row) = super::one_time_token(
            PURPOSE_CANCEL_EMAIL_CHANGE,
            &user.id,
            now,
            CANCEL_EMAIL_CHANGE_TTL,
        );
        row.payload = Some(old.clone());
        one_time_tokens::insert_one_time_token(&state.db, &row).await?;
        let notice = Email::email_change_notice(
            lang,
            email.as_str(),
            cancel_email_change_link(state, &cancel),
        );
        state.mailer.queue(&state.db, &old, &notice, now).await?;
    }
    Ok(())
}

/// Follows an email-change link.
pub(super) async fn confirm_email_change(
    state: &AppState,
    token: &OpaqueToken,
) -> Result<UserRow, AccountError> {
    match users::confirm_email_change(&state.db, &token.hash(), state.clock.now_naive()).await? {
        TokenUse::Done(user) => Ok(*user),
        TokenUse::Conflict => Err(AccountError::in_use("email")),
        TokenUse::Invalid => Err(AccountError::InvalidToken),
    }
}

/// Follows the link that stops a pending email change (see `storage::users::cancel_email_change`).
pub async fn cancel_email_change(state: &AppState, token: &str) -> Result<UserRow, AccountError> {
    let token = OpaqueToken::from_presented(token).ok_or(AccountError::InvalidToken)?;
    match users::cancel_email_change(&state.db, &token.hash(), state.clock.now_naive()).await? {
        TokenUse::Done(user) => Ok(*user),
        TokenUse::Conflict => Err(AccountError::in_use("email")),
        TokenUse::Invalid => Err(AccountError::InvalidToken),
    }
}

/// Deletes the signed-in user and everything it owns. Anonymous users need no password; an
/// account with a second factor needs a recent proof of it too.
pub async fn delete_account(
    state: &AppState,
    user: &UserRow,
    session_id: &str,
    password: Option<&str>,
    code: Option<&str>,
) -> Result<(), AccountError> {
    if !user.is_anonymous {
        check_current_password(state, user, password, "password").await?;
        super::factors::require_recent_second_factor(
            state,
            user,
            super::factors::Asker::Session(session_id),
            code,
            None,
        )
        .await?;
    }
    let now = state.clock.now_naive();
    let deleted = AuditEventRow::new(AuditKind::AccountDeleted, now)
        .user(&user.id)
        .session(session_id);
    users::delete_user(&state.db, &user.id, now, &deleted).await?;
    Ok(())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub id: String,
    pub device_id: Option<String>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub created_at: String,
    pub last_used_at: String,
    pub current: bool,
}

pub async fn list_sessions(
    state: &AppState,
    user_id: &str,
    current: &str,
) -> Result<Vec<SessionView>, AccountError> {
    let rows = sessions::list_live_sessions(&state.db, user_id, state.clock.now_naive()).await?;
    Ok(rows
        .into_iter()
        .map(|s| SessionView {
            current: s.id == current,
            id: s.id,
            device_id: s.device_id,
            user_agent: s.user_agent,
            ip: s.ip,
            created_at: rfc3339(s.created_at),
            last_used_at: rfc3339(s.last_used_at),
        })
        .collect())
}

pub async fn end_session(
    state: &AppState,
    user_id: &str,
    session_id: &str,
) -> Result<(), AccountError> {
    let now = state.clock.now_naive();
    let ended = AuditEventRow::new(AuditKind::SessionEnded, now)
        .user(user_id)
        .detail(serde_json::json!({"reason": "revoked"}));
    if sessions::revoke_user_session(&state.db, user_id, session_id, now, &ended).await? {
        Ok(())
    } else {
        Err(AccountError::NotFound("Session not found"))
    }
}
