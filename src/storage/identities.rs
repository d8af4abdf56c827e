//! Identities at upstream providers, linked to accounts.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};

use super::audit::{AuditEventRow, record};
use super::schema::{factors, identities, one_time_tokens, pending_registrations, users};
use super::{Database, IdentityRow, StorageError, UserRow, run, run_read};
use crate::domain::AuditKind;
use crate::domain::Username;

/// The identity `subject` at `provider`, with its account.
pub async fn find(
    db: &Database,
    provider: &str,
    subject: &str,
) -> Result<Option<(IdentityRow, UserRow)>, StorageError> {
    run_read!(db, |c| Ok(identities::table
        .inner_join(users::table)
        .filter(identities::provider.eq(provider))
        .filter(identities::subject.eq(subject))
        .select((IdentityRow::as_select(), UserRow::as_select()))
        .first(c)
        .await
        .optional()?))
}

/// A user's identities, oldest first.
pub async fn list(db: &Database, user_id: &str) -> Result<Vec<IdentityRow>, StorageError> {
    run_read!(db, |c| Ok(identities::table
        .filter(identities::user_id.eq(user_id))
        .order(identities::created_at)
        .select(IdentityRow::as_select())
        .load(c)
        .await?))
}

/// An identity signed in: what the provider now asserts, and when.
pub async fn touch(
    db: &Database,
    id: &str,
    email: Option<&str>,
    email_verified: bool,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    run!(db, |c| {
        diesel::update(identities::table.find(id))
            .set((
                identities::email.eq(email),
                identities::email_verified.eq(email_verified),
                identities::last_used_at.eq(now),
            ))
            .execute(c)
            .await?;
        Ok(())
    })
}

/// Links `row` to its account; an identity linked already (to anyone) is a conflict.
pub async fn link(db: &Database, row: &IdentityRow) -> Result<bool, StorageError> {
    run!(db, |c| c
        .transaction(async |c| {
            let n = diesel::insert_into(identities::table)
                .values(row)
                .on_conflict_do_nothing()
                .execute(c)
                .await?;
            if n == 1 {
                let linked = AuditEventRow::new(AuditKind::IdentityLinked, row.created_at)
                    .user(&row.user_id)
                    .detail(serde_json::json!({"provider": row.provider, "email": row.email}));
                record!(c, [&linked]);
            }
            Ok::<_, StorageError>(n == 1)
        })
        .await)
}

/// A new account made through a provider, with its identity, in one transaction: a free
/// username is found from the email's local part, and any pending sign-up of the same address
/// (whoever made it: its password never becomes this account's) is dropped with its links.
/// `None` when the address or the identity was taken meanwhile.
pub async fn create_account(
    db: &Database,
    user: &UserRow,
    identity: &IdentityRow,
) -> Result<Option<UserRow>, StorageError> {
    run!(db, |c| c
        .transaction(async |c| {
            let mut user = user.clone();
            let base = Username::base_from_email_local(
                user.email
                    .as_deref()
                    .and_then(|e| e.rsplit_once('@'))
                    .map_or("user", |(local, _)| local),
            );
            let taken: Vec<Option<String>> = users::table
                .filter(users::username.like(format!("{base}%")))
                .select(users::username)
                .load(c)
                .await?;
            user.username = Some(super::registrations::free_username(&base, &taken));
            if let Some(normalized) = &user.email_normalized {
                let pending: Vec<String> = pending_registrations::table
                    .filter(pending_registrations::email_normalized.eq(normalized))
                    .select(pending_registrations::id)
                    .load(c)
                    .await?;
                diesel::delete(
                    one_time_tokens::table.filter(one_time_tokens::subject.eq_any(&pending)),
                )
                .execute(c)
                .await?;
                diesel::delete(
                    pending_registrations::table.filter(pending_registrations::id.eq_any(&pending)),
                )
                .execute(c)
                .await?;
            }
            let inserted = diesel::insert_into(users::table)
                .values(&user)
                .on_conflict_do_nothing()
                .execute(c)
                .await?;
            if inserted == 0 {
                return Ok::<_, StorageError>(None);
            }
            let linked = diesel::insert_into(identities::table)
                .values(identity)
                .on_conflict_do_nothing()
                .execute(c)
                .await?;
            if linked == 0 {
                return Err(StorageError::Conflict("id"));
            }
            let signed_up = AuditEventRow::new(AuditKind::SignUp, user.created_at)
                .user(&user.id)
                .detail(serde_json::json!({
                    "email_verified": true,
                    "provider": identity.provider,
                }));
            record!(c, [&signed_up]);
            Ok(Some(user))
        })
        .await)
}

/// Unlinks identity `id` of `user_id`, unless it is the account's last way to sign in (no
/// password, no passkey, no other identity). Returns what happened.
pub async fn unlink(
    db: &Database,
    user_id: &str,
    id: &str,
    now: NaiveDateTime,
) -> Result<Unlinked, StorageError> {
    run!(db, |c| c
        .transaction(async |c| {
            let has_password: Option<Option<String>> = users::table
                .find(user_id)
                .select(users::password_hash)
                .first(c)
                .await
                .optional()?;
            let passkeys: i64 = factors::table
                .filter(factors::user_id.eq(user_id))
                .filter(factors::kind.eq("passkey"))
                .filter(factors::active.eq(true))
                .count()
                .get_result(c)
                .await?;
            let others: i64 = identities::table
                .filter(identities::user_id.eq(user_id))
                .filter(identities::id.ne(id))
                .count()
                .get_result(c)
                .await?;
            let has_password = has_password.flatten().is_some();
            if !has_password && passkeys == 0 && others == 0 {
                return Ok::<_, StorageError>(Unlinked::LastWayIn);
            }
            let provider: Option<String> = identities::table
                .find(id)
                .filter(identities::user_id.eq(user_id))
                .select(identities::provider)
                .first(c)
                .await
                .optional()?;
            let n = diesel::delete(
                identities::table
                    .find(id)
                    .filter(identities::user_id.eq(user_id)),
            )
            .execute(c)
            .await?;
            if n == 1 {
                let unlinked = AuditEventRow::new(AuditKind::IdentityUnlinked, now)
                    .user(user_id)
                    .detail(serde_json::json!({"provider": provider}));
                record!(c, [&unlinked]);
            }
            Ok(if n == 1 {
                Unlinked::Done
            } else {
                Unlinked::NotFound
            })
        })
        .await)
}

/// What [`unlink`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Unlinked {
    Done,
    NotFound,
    /// The account would have no way to sign in left.
    LastWayIn,
}
