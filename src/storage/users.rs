//! Queries on `users`.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};

use super::audit::{AuditEventRow, record};
use super::one_time_tokens::{
    PURPOSE_CANCEL_EMAIL_CHANGE, PURPOSE_CHANGE_EMAIL, PURPOSE_RESET_PASSWORD,
};
use super::schema::{one_time_tokens, sessions, users};
use super::{Database, OneTimeTokenRow, StorageError, UserChanges, UserRow, run, run_read};
use crate::domain::{AuditKind, EmailAddress};
use crate::tokens::TokenHash;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>);

/// How a user is looked up: by id, or by one of its unique identifiers.
#[derive(Debug, Clone, Copy)]
pub enum UserKey<'a> {
    Id(&'a str),
    /// The lower-cased address.
    Email(&'a str),
    /// E.164.
    Phone(&'a str),
    Username(&'a str),
}

pub async fn find_user(db: &Database, key: UserKey<'_>) -> Result<Option<UserRow>, StorageError> {
    run_read!(db, |c| {
        let query = users::table.select(UserRow::as_select()).into_boxed();
        let query = match key {
            UserKey::Id(id) => query.filter(users::id.eq(id)),
            UserKey::Email(e) => query.filter(users::email_normalized.eq(e)),
            UserKey::Phone(p) => query.filter(users::phone.eq(p)),
            UserKey::Username(u) => query.filter(users::username.eq(u)),
        };
        Ok(query.first(c).await.optional()?)
    })
}

/// Email (normalized), username and phone of one user.
type Identifiers = (Option<String>, Option<String>, Option<String>);

/// Which of the given identifiers an existing user already holds, email first.
pub async fn find_taken_identifier(
    db: &Database,
    email_normalized: &str,
    username: Option<&str>,
    phone: Option<&str>,
    except_user: Option<&str>,
) -> Result<Option<&'static str>, StorageError> {
    let except = except_user.unwrap_or("");
    run_read!(db, |c| {
        let hits: Vec<Identifiers> = users::table
            .filter(users::id.ne(except))
            .filter(
                users::email_normalized
                    .eq(email_normalized)
                    .or(users::username.eq_any(username.into_iter().collect::<Vec<_>>()))
                    .or(users::phone.eq_any(phone.into_iter().collect::<Vec<_>>())),
            )
            .select((users::email_normalized, users::username, users::phone))
            .load(c)
            .await?;
        let held = |field: usize, want: Option<&str>| {
            want.is_some()
                && hits
                    .iter()
                    .any(|(e, u, p)| [e, u, p][field].as_deref() == want)
        };
        Ok(if held(0, Some(email_normalized)) {
            Some("email")
        } else if held(1, username) {
            Some("username")
        } else if held(2, phone) {
            Some("phone")
        } else {
            None
        })
    })
}

/// `events` are recorded with the new user.
pub async fn insert_user(
    db: &Database,
    row: &UserRow,
    events: &[AuditEventRow],
) -> Result<(), StorageError> {
    run!(db, |c| c
        .transaction(async |c| {
            diesel::insert_into(users::table)
                .values(row)
                .execute(c)
                .await?;
            record!(c, events);
            Ok::<_, StorageError>(())
        })
        .await)
}

/// Applies `changes` and returns the user as it now is; `None` when there is no such user.
/// `events` are recorded with the change.
pub async fn update_user(
    db: &Database,
    id: &str,
    changes: &UserChanges,
    events: &[AuditEventRow],
) -> Result<Option<UserRow>, StorageError> {
    run!(db, |c| c
        .transaction(async |c| {
            let n = diesel::update(users::table.find(id))
                .set(changes)
                .execute(c)
                .await?;
            if n == 0 {
                return Ok::<_, StorageError>(None);
            }
            record!(c, events);
            Ok(Some(
                users::table
                    .find(id)
                    .select(UserRow::as_select())
                    .first(c)
                    .await?,
            ))
        })
        .await)
}

/// Deletes a user with everything it owns: sessions and refresh tokens (by cascade), and the
/// one-time tokens that name it. Returns whether the user existed.
/// `deleted` is recorded with the deletion.
pub async fn delete_user(
    db: &Database,
    id: &str,
    now: NaiveDateTime,
    deleted: &AuditEventRow,
) -> Result<bool, StorageError> {
    run!(db, |c| c
        .transaction(async |c| {
            diesel::delete(one_time_tokens::table.filter(one_time_tokens::subject.eq(id)))
                .execute(c)
                .await?;
            // The user's sessions go with the row; the logout tokens their clients are owed
            // (see `logout_notices`) must not.
            super::logout_notices::keep_owed!(c, id, now);
            let n = diesel::delete(users::table.find(id)).execute(c).await?;
            if n > 0 {
                record!(c, [deleted]);
            }
            Ok::<_, StorageError>(n > 0)
        })
        .await)
}

/// One page of users, newest first, optionally matching `q` in email, username, name or phone.
pub async fn list_users(
    db: &Database,
    q: Option<&str>,
    page: i64,
    per_page: i64,
) -> Result<(Vec<UserRow>, i64), StorageError> {
    let pattern = q.map(|q| {
        let escaped = q
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    run_read!(db, |c| {
        let filtered = || {
            let mut query = users::table.into_boxed();
            if let Some(p) = &pattern {
                query = query.filter(
                    users::email_normalized
                        .like(p.clone())
                        .escape('\\')
                        .or(users::username.like(p.clone()).escape('\\'))
                        .or(lower(users::full_name).like(p.clone()).escape('\\'))
                        .or(users::phone.like(p.clone()).escape('\\')),
                );
            }
            query
        };
        let total: i64 = filtered().count().get_result(c).await?;
        let rows = filtered()
            .select(UserRow::as_select())
            .order((users::created_at.desc(), users::id.desc()))
            .limit(per_page)
            .offset((page - 1) * per_page)
            .load(c)
            .await?;
        Ok((rows, total))
    })
}

pub enum TokenUse {
    Done(Box<UserRow>),
    /// Unknown, expired or already used.
    Invalid,
    /// The new address was taken by someone else meanwhile.
    Conflict,
}

/// Consumes the token only if it is live; returns its row when this call consumed it.
macro_rules! consume_token {
    ($c:ident, $hash:expr, $purpose:expr, $now:expr) => {{
        let n = diesel::update(
            one_time_tokens::table
                .find($hash.as_str())
                .filter(one_time_tokens::purpose.eq($purpose))
                .filter(one_time_tokens::consumed_at.is_null())
                .filter(one_time_tokens::expires_at.gt($now)),
        )
        .set(one_time_tokens::consumed_at.eq($now))
        .execute($c)
        .await?;
        if n == 0 {
            None
        } else {
            Some(
                one_time_tokens::table
                    .find($hash.as_str())
                    .select(OneTimeTokenRow::as_select())
                    .first($c)
                    .await?,
            )
        }
    }};
}

/// Sets a new password hash from a reset token and ends every session of the user, in one
/// transaction.
pub async fn reset_password(
    db: &Database,
    hash: &TokenHash,
    new_hash: &str,
    now: NaiveDateTime,
) -> Result<TokenUse, StorageError> {
    run!(db, |c| c
        .transaction(async |c| {
            let Some(token) = consume_token!(c, hash, PURPOSE_RESET_PASSWORD, now) else {
                return Ok::<_, StorageError>(TokenUse::Invalid);
            };
            let n = diesel::update(users::table.find(&token.subject))
                .set((users::password_hash.eq(new_hash), users::updated_at.eq(now)))
                .execute(c)
                .await?;
            if n == 0 {
                return Ok(TokenUse::Invalid);
            }
            let ended = end_user_sessions!(c, &token.subject, "", now);
            record!(
                c,
                [&AuditEventRow::new(AuditKind::PasswordReset, now)
                    .user(&token.subject)
                    .detail(serde_json::json!({"sessions_ended": ended}))]
            );
            let user = users::table
                .find(&token.subject)
                .select(UserRow::as_select())
                .first(c)
                .await?;
            Ok(TokenUse::Done(Box::new(user)))
        })
        .await)
}

/// Follows an email-change link: the pending address becomes the address.
pub async fn confirm_email_change(
    db: &Database,
    hash: &TokenHash,
    now: NaiveDateTime,
) -> Result<TokenUse, StorageError> {
    run!(db, |c| c
        .transaction(async |c| {
            let Some(token) = consume_token!(c, hash, PURPOSE_CHANGE_EMAIL, now) else {
                return Ok::<_, StorageError>(TokenUse::Invalid);
            };
            let Some(user) = users::table
                .find(&token.subject)
                .select(UserRow::as_select())
                .first(c)
                .await
                .optional()?
            else {
                return Ok(TokenUse::Invalid);
            };
            let Some(new_email) = user.pending_email.clone() else {
                return Ok(TokenUse::Invalid);
            };
            let Ok(normalized) = EmailAddress::parse(&new_email).map(|e| e.normalized()) else {
                return Ok(TokenUse::Invalid);
            };
            let taken: i64 = users::table
                .filter(users::email_normalized.eq(&normalized))
                .filter(users::id.ne(&user.id))
                .count()
                .get_result(c)
                .await?;
            if taken > 0 {
                return Ok(TokenUse::Conflict);
            }
            diesel::update(users::table.find(&user.id))
                .set((
                    users::email.eq(&new_email),
                    users::email_normalized.eq(&normalized),
                    users::pending_email.eq(None::<String>),
                    users::is_email_verified.eq(true),
                    users::updated_at.eq(now),
                ))
                .execute(c)
                .await?;
            // Reset links went to the old address.
            end_reset_links!(c, &user.id);
            let confirmed = AuditEventRow::new(AuditKind::EmailChangeConfirmed, now)
                .user(&user.id)
                .detail(serde_json::json!({"old_email": user.email, "new_email": new_email}));
            record!(c, [&confirmed]);
            let user = users::table
                .find(&user.id)
                .select(UserRow::as_select())
                .first(c)
                .await?;
            Ok(TokenUse::Done(Box::new(user)))
        })
        .await)
}

/// Follows the link mailed to the old address on an email change, while the change is still
/// pending: the change is dropped (its confirmation link stops working) and, since the owner
/// says "not me", every session, sign-in and reset link ends. Once the new address is
/// confirmed the link does nothing: whoever holds the old mailbox (perhaps the reason for the
/// change) cannot take the account back with it.
pub async fn cancel_email_change(
    db: &Database,
    hash: &TokenHash,
    now: NaiveDateTime,
) -> Result<TokenUse, StorageError> {
    run!(db, |c| c
        .transaction(async |c| {
            let Some(token) = consume_token!(c, hash, PURPOSE_CANCEL_EMAIL_CHANGE, now) else {
                return Ok::<_, StorageError>(TokenUse::Invalid);
            };
            let Some(user) = users::table
                .find(&token.subject)
                .select(UserRow::as_select())
                .first(c)
                .await
                .optional()?
            else {
                return Ok(TokenUse::Invalid);
            };
            let old = token.payload.as_deref().map(EmailAddress::parse);
            let still_old = matches!(
                (&user.email_normalized, old),
                (Some(now), Some(Ok(old))) if *now == old.normalized()
            );
            if user.pending_email.is_none() || !still_old {
                return Ok(TokenUse::Invalid);
            }
            let ended = end_user_sessions!(c, &user.id, "", now);
            let cancelled = AuditEventRow::new(AuditKind::EmailChangeCancelled, now)
                .user(&user.id)
                .detail(serde_json::json!({
                    "new_email": user.pending_email,
                    "sessions_ended": ended,
                }));
            record!(c, [&cancelled]);
            let user = users::table
                .find(&user.id)
                .select(UserRow::as_select())
                .first(c)
                .await?;
            Ok(TokenUse::Done(Box::new(user)))
        })
        .await)
}

/// Deletes anonymous users older than `max_age` whose sessions have not been used within it.
pub async fn purge_stale_anonymous_users(
    db: &Database,
    now: NaiveDateTime,
    max_age: Duration,
) -> Result<usize, StorageError> {
    let cutoff = now - max_age;
    run!(db, |c| {
        let recently_used = sessions::table
            .filter(sessions::last_used_at.ge(cutoff))
            .select(sessions::user_id);
        Ok(diesel::delete(
            users::table
                .filter(users::is_anonymous.eq(true))
                .filter(users::created_at.lt(cutoff))
                .filter(users::id.ne_all(recently_used)),
        )
        .execute(c)
        .await?)
    })
}
