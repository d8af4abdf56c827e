//! Administration of users: listing, reading, role and status changes, deletion, and the
//! command-line bootstrap of the first admin.

use super::AccountError;
use super::view::UserView;
use crate::domain::{Actor, AuditKind, EmailAddress, Password, Role, UserId, Username};
use crate::passwords::PasswordHasher;
use crate::state::AppState;
use crate::storage::audit::AuditEventRow;
use crate::storage::users::{self, UserKey};
use crate::storage::{Database, UserChanges, UserRow, sessions};

pub struct UserPage {
    pub users: Vec<UserView>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

pub async fn list_users(
    state: &AppState,
    q: Option<&str>,
    page: i64,
    per_page: i64,
) -> Result<UserPage, AccountError> {
    let (rows, total) = users::list_users(&state.db, q, page, per_page).await?;
    Ok(UserPage {
        users: rows.iter().map(UserView::from).collect(),
        page,
        per_page,
        total,
    })
}

pub async fn find_user(state: &AppState, id: &str) -> Result<UserRow, AccountError> {
    users::find_user(&state.db, UserKey::Id(id))
        .await?
        .ok_or(AccountError::NotFound("User not found"))
}

#[derive(Debug, Default)]
pub struct AdminUserChanges {
    pub role: Option<Role>,
    pub is_active: Option<bool>,
}

/// An admin may not take their own admin rights or access away: someone must stay able to
/// administer.
fn refuse_self(admin: &UserRow, target: &str) -> Result<(), AccountError> {
    if admin.id == target {
        Err(AccountError::NotAllowed(
            "Admins cannot demote, disable or delete themselves",
        ))
    } else {
        Ok(())
    }
}

pub async fn update_user(
    state: &AppState,
    admin: &UserRow,
    id: &str,
    change: AdminUserChanges,
) -> Result<UserRow, AccountError> {
    if change.role == Some(Role::Customer) || change.is_active == Some(false) {
        refuse_self(admin, id)?;
    }
    let now = state.clock.now_naive();
    let changes = UserChanges {
        role: change.role.map(|r| r.as_str().to_owned()),
        is_active: change.is_active,
        updated_at: Some(now),
        ..UserChanges::default()
    };
    let mut fields = Vec::new();
    if let Some(role) = &changes.role {
        fields.push(("role", serde_json::json!(role)));
    }
    if let Some(active) = changes.is_active {
        fields.push(("is_active", serde_json::json!(active)));
    }
    let updated = by_admin(AuditKind::AdminUserUpdated, now, admin, id).detail(
        serde_json::Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()),
    );
    let user = users::update_user(&state.db, id, &changes, &[updated])
        .await?
        .ok_or(AccountError::NotFound("User not found"))?;
    if change.is_active == Some(false) {
        let ended = by_admin(AuditKind::SessionEnded, now, admin, id)
            .detail(serde_json::json!({"reason": "disabled"}));
        sessions::revoke_user_sessions(&state.db, id, None, now, Some(&ended)).await?;
    }
    Ok(user)
}

/// An event about account `id` that `admin` caused.
fn by_admin(
    kind: AuditKind,
    now: chrono::NaiveDateTime,
    admin: &UserRow,
    id: &str,
) -> AuditEventRow {
    AuditEventRow::new(kind, now)
        .by(Actor::Admin, Some(&admin.id))
        .user(id)
}

pub async fn delete_user(state: &AppState, admin: &UserRow, id: &str) -> Result<(), AccountError> {
    refuse_self(admin, id)?;
    let now = state.clock.now_naive();
    let deleted = by_admin(AuditKind::AdminUserDeleted, now, admin, id);
    if users::delete_user(&state.db, id, now, &deleted).await? {
        Ok(())
    } else {
        Err(AccountError::NotFound("User not found"))
    }
}

pub async fn revoke_sessions(
    state: &AppState,
    admin: &UserRow,
    id: &str,
) -> Result<(), AccountError> {
    find_user(state, id).await?;
    let now = state.clock.now_naive();
    let ended = by_admin(AuditKind::SessionEnded, now, admin, id)
        .detail(serde_json::json!({"reason": "admin"}));
    sessions::revoke_user_sessions(&state.db, id, None, now, Some(&ended)).await?;
    Ok(())
}

/// `authd users create-admin`: promotes the account holding `email`, or creates a verified
/// admin with `password` (asked for only then). Returns whether a user was created.
pub async fn create_admin(
    db: &Database,
    hasher: &PasswordHasher,
    email: &EmailAddress,
    password: impl FnOnce() -> anyhow::Result<String>,
    now: chrono::NaiveDateTime,
) -> anyhow::Result<bool> {
    if let Some(user) = users::find_user(db, UserKey::Email(&email.normalized())).await? {
        let changes = UserChanges {
            role: Some(Role::Admin.as_str().to_owned()),
            updated_at: Some(now),
            ..UserChanges::default()
        };
        let promoted = AuditEventRow::new(AuditKind::AdminUserUpdated, now)
            .by(Actor::Cli, None)
            .user(&user.id)
            .detail(serde_json::json!({"role": Role::Admin.as_str()}));
        users::update_user(db, &user.id, &changes, &[promoted]).await?;
        return Ok(false);
    }
    let password = Password::parse(&password()?, Some(email.as_str()))
        .map_err(|m| anyhow::anyhow!("password: {m}"))?;
    let base = Username::base_from_email_local(email.local_part());
    let mut username = None;
    for n in 0..1000 {
        let candidate = Username::candidate(&base, n);
        if users::find_user(db, UserKey::Username(candidate.as_str()))
            .await?
            .is_none()
        {
            username = Some(candidate.as_str().to_owned());
            break;
        }
    }
    let user = UserRow {
        id: UserId::new().to_string(),
        email: Some(email.as_str().to_owned()),
        email_normalized: Some(email.normalized()),
        pending_email: None,
        username,
        full_name: None,
        first_name: None,
        last_name: None,
        phone: None,
        password_hash: Some(hasher.hash(&password).await?),
        role: Role::Admin.as_str().to_owned(),
        is_email_verified: true,
        is_active: true,
        is_anonymous: false,
        created_at: now,
        updated_at: now,
        last_login_at: None,
    };
    let created = AuditEventRow::new(AuditKind::SignUp, now)
        .by(Actor::Cli, None)
        .user(&user.id)
        .detail(serde_json::json!({"email_verified": true, "role": Role::Admin.as_str()}));
    users::insert_user(db, &user, &[created]).await?;
    Ok(true)
}
