//! Sign-ins (the authentication records of `signin`) and the one write that opens sessions
//! under them.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};

use super::audit::{AuditEventRow, record};
use super::schema::{clients, known_devices, refresh_tokens, sessions, sign_ins, users};
use super::{
    Database, RefreshTokenRow, SessionRow, SignInRow, StorageError, UserRow, run, run_read,
};
use crate::domain::AuditKind;
use crate::tokens::TokenHash;

/// Inside a transaction on `$c`: ends sign-in `$id` (its browser no longer holds it) and every
/// live session opened under it. Evaluates to how many sessions ended.
macro_rules! end {
    ($c:ident, $id:expr, $now:expr) => {{
        diesel::update(
            sign_ins::table
                .find($id)
                .filter(sign_ins::ended_at.is_null()),
        )
        .set((
            sign_ins::ended_at.eq($now),
            sign_ins::token_hash.eq(None::<String>),
        ))
        .execute($c)
        .await?;
        diesel::update(
            sessions::table
                .filter(sessions::sign_in_id.eq($id))
                .filter(sessions::revoked_at.is_null()),
        )
        .set(sessions::revoked_at.eq($now))
        .execute($c)
        .await?
    }};
}

/// Inside a transaction on `$c`: remembers device `$device` (a hash, or `None`) of user
/// `$user`. Evaluates to whether it is new to an account that had signed in elsewhere before.
macro_rules! seen_device {
    ($c:ident, $user:expr, $device:expr, $now:expr) => {{
        match $device {
            None => false,
            Some(device) => {
                let inserted = diesel::insert_into(known_devices::table)
                    .values((
                        known_devices::user_id.eq($user),
                        known_devices::device_hash.eq(device),
                        known_devices::first_seen.eq($now),
                        known_devices::last_seen.eq($now),
                    ))
                    .on_conflict_do_nothing()
                    .execute($c)
                    .await?;
                if inserted == 0 {
                    diesel::update(known_devices::table.find(($user, device)))
                        .set(known_devices::last_seen.eq($now))
                        .execute($c)
                        .await?;
                    false
                } else {
                    let others: i64 = known_devices::table
                        .filter(known_devices::user_id.eq($user))
                        .filter(known_devices::device_hash.ne(device))
                        .count()
                        .get_result($c)
                        .await?;
                    others > 0
                }
            }
        }
    }};
}

/// The audit event of a complete sign-in `row` at `at` (none for an anonymous one), with the
/// session opened under it.
fn signed_in(
    row: &SignInRow,
    at: NaiveDateTime,
    session: Option<&SessionRow>,
    new_device: bool,
) -> Option<AuditEventRow> {
    if row.due.is_some() || row.acr == crate::domain::Level::Anonymous.as_str() {
        return None;
    }
    let mut detail = serde_json::json!({"amr": row.amr, "acr": row.acr});
    if new_device {
        detail["new_device"] = true.into();
    }
    let mut event = AuditEventRow::new(AuditKind::SignInSucceeded, at)
        .user(&row.user_id)
        .from(row.ip.as_deref(), row.user_agent.as_deref())
        .detail(detail);
    if let Some(session) = session {
        event = event.client(&session.client_id).session(&session.id);
    }
    Some(event)
}

/// How a sign-in record is written.
#[derive(Clone, Copy)]
pub enum Record<'a> {
    New(&'a SignInRow),
    /// The same person proved themselves again in the same browser: the record `.1` takes the
    /// new row's cookie, time, methods and expiry.
    Renew(&'a SignInRow, &'a str),
    /// Someone else signed in on the browser that held `.1`: that sign-in ends, with its
    /// sessions.
    Replace(&'a SignInRow, &'a str),
}

/// Writes a sign-in `record` (when there is one) and opens `session` with its first refresh
/// token under it, in one transaction. A complete sign-in is the user's last login, and
/// remembers `device` (a hash). Returns whether the sign-in came from a device new to an
/// account that had signed in elsewhere before.
pub async fn open(
    db: &Database,
    record: Option<Record<'_>>,
    session: Option<(&SessionRow, &RefreshTokenRow)>,
    device: Option<&str>,
) -> Result<bool, StorageError> {
    run!(db, |c| c
        .transaction(async |c| {
            let mut new_device = false;
            if let Some(record) = record {
                let sign_in = match record {
                    Record::New(row) => row,
                    Record::Renew(row, id) => {
                        diesel::update(
                            sign_ins::table
                                .find(id)
                                .filter(sign_ins::user_id.eq(&row.user_id)),
                        )
                        .set((
                            sign_ins::token_hash.eq(&row.token_hash),
                            sign_ins::auth_time.eq(row.auth_time),
                            sign_ins::amr.eq(&row.amr),
                            sign_ins::acr.eq(&row.acr),
                            sign_ins::expires_at.eq(row.expires_at),
                        ))
                        .execute(c)
                        .await?;
                        row
                    }
                    Record::Replace(row, id) => {
                        end!(c, id, row.created_at);
                        row
                    }
                };
                if !matches!(record, Record::Renew(..)) {
                    diesel::insert_into(sign_ins::table)
                        .values(sign_in)
                        .execute(c)
                        .await?;
                }
                if sign_in.due.is_none() {
                    diesel::update(users::table.find(&sign_in.user_id))
                        .set(users::last_login_at.eq(sign_in.created_at))
                        .execute(c)
                        .await?;
                    new_device = seen_device!(c, &sign_in.user_id, device, sign_in.created_at);
                }
                record!(
                    c,
                    signed_in(
                        sign_in,
                        sign_in.created_at,
                        session.map(|(s, _)| s),
                        new_device
                    )
                    .iter()
                );
            }
            if let Some((session, refresh)) = session {
                diesel::insert_into(sessions::table)
                    .values(session)
                    .execute(c)
                    .await?;
                diesel::insert_into(refresh_tokens::table)
                    .values(refresh)
                    .execute(c)
                    .await?;
            }
            Ok::<_, StorageError>(new_device)
        })
        .await)
}

/// The complete, live sign-in a browser's cookie names, with its (active) user.
pub async fn find_browser_sign_in(
    db: &Database,
    hash: &TokenHash,
    now: NaiveDateTime,
) -> Result<Option<(UserRow, SignInRow)>, StorageError> {
    run_read!(db, |c| Ok(sign_ins::table
        .inner_join(users::table)
        .filter(sign_ins::token_hash.eq(hash.as_str()))
        .filter(sign_ins::ended_at.is_null())
        .filter(sign_ins::due.is_null())
        .filter(sign_ins::expires_at.gt(now))
        .filter(users::is_active.eq(true))
        .select((UserRow::as_select(), SignInRow::as_select()))
        .first(c)
        .await
        .optional()?))
}

/// A complete sign-in that has not ended or expired.
pub async fn find_live_sign_in(
    db: &Database,
    id: &str,
    now: NaiveDateTime,
) -> Result<Option<SignInRow>, StorageError> {
    run_read!(db, |c| Ok(sign_ins::table
        .find(id)
        .filter(sign_ins::ended_at.is_null())
        .filter(sign_ins::due.is_null())
        .filter(sign_ins::expires_at.gt(now))
        .select(SignInRow::as_select())
        .first(c)
        .await
        .optional()?))
}

/// Ends a sign-in: its browser no longer holds it, and every live session opened under it ends
/// too. Returns how many sessions ended.
pub async fn end_sign_in(
    db: &Database,
    id: &str,
    now: NaiveDateTime,
) -> Result<usize, StorageError> {
    run!(db, |c| c
        .transaction(async |c| Ok::<_, StorageError>(end!(c, id, now)))
        .await)
}

/// The names of the applications with a live session under a sign-in, each once.
pub async fn applications_of(
    db: &Database,
    sign_in_id: &str,
    now: NaiveDateTime,
) -> Result<Vec<String>, StorageError> {
    run_read!(db, |c| Ok(sessions::table
        .inner_join(clients::table)
        .filter(sessions::sign_in_id.eq(sign_in_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .select(clients::name)
        .distinct()
        .order(clients::name)
        .load(c)
        .await?))
}

/// The sign-in behind a session, whether or not either is still live.
pub async fn sign_in_of_session(
    db: &Database,
    session_id: &str,
) -> Result<Option<SignInRow>, StorageError> {
    run_read!(db, |c| Ok(sessions::table
        .inner_join(sign_ins::table)
        .filter(sessions::id.eq(session_id))
        .select(SignInRow::as_select())
        .first(c)
        .await
        .optional()?))
}

/// A sign-in waiting for its second step, named by `hash` (a browser's pending cookie, or the
/// JSON API's challenge), with its user.
pub async fn find_pending(
    db: &Database,
    hash: &TokenHash,
    now: NaiveDateTime,
) -> Result<Option<(UserRow, SignInRow)>, StorageError> {
    run_read!(db, |c| Ok(sign_ins::table
        .inner_join(users::table)
        .filter(sign_ins::token_hash.eq(hash.as_str()))
        .filter(sign_ins::due.is_not_null())
        .filter(sign_ins::ended_at.is_null())
        .filter(sign_ins::expires_at.gt(now))
        .filter(users::is_active.eq(true))
        .select((UserRow::as_select(), SignInRow::as_select()))
        .first(c)
        .await
        .optional()?))
}

/// Where a completed second step goes.
#[derive(Clone, Copy)]
pub enum Completion<'a> {
    /// The pending record itself becomes the sign-in.
    Own,
    /// The browser's earlier sign-in of the same person takes the new proof (step-up); the
    /// pending record goes.
    Into(&'a str),
    /// The pending record becomes the sign-in, and the browser's earlier sign-in (someone
    /// else's) ends, with its sessions.
    Replacing(&'a str),
}

/// Completes pending sign-in `pending` (still pending, still named by `hash`: one conditional
/// write, so a challenge completes once) as `done` says, where `completion` puts it; with
/// `session`, opened under it in the same transaction; `device` remembered as [`open`] does.
/// Returns `None` when this call did not complete it, else whether the device was new.
pub async fn complete_pending(
    db: &Database,
    pending: &str,
    hash: &TokenHash,
    done: &SignInRow,
    completion: Completion<'_>,
    session: Option<(&SessionRow, &RefreshTokenRow)>,
    device: Option<&str>,
) -> Result<Option<bool>, StorageError> {
    run!(db, |c| c
        .transaction(async |c| {
            // Taken by this call, or by none: the challenge is spent either way.
            let taken = diesel::update(
                sign_ins::table
                    .find(pending)
                    .filter(sign_ins::token_hash.eq(hash.as_str()))
                    .filter(sign_ins::due.is_not_null()),
            )
            .set((
                sign_ins::due.eq(None::<String>),
                sign_ins::token_hash.eq(None::<String>),
                sign_ins::ceremony.eq(None::<String>),
            ))
            .execute(c)
            .await?;
            if taken == 0 {
                return Ok::<_, StorageError>(None);
            }
            let becomes = match completion {
                Completion::Own => pending,
                Completion::Into(prior) => {
                    diesel::delete(sign_ins::table.find(pending))
                        .execute(c)
                        .await?;
                    prior
                }
                Completion::Replacing(prior) => {
                    end!(c, prior, done.created_at);
                    pending
                }
            };
            diesel::update(sign_ins::table.find(becomes))
                .set((
                    sign_ins::token_hash.eq(&done.token_hash),
                    sign_ins::auth_time.eq(done.auth_time),
                    sign_ins::amr.eq(&done.amr),
                    sign_ins::acr.eq(&done.acr),
                    sign_ins::expires_at.eq(done.expires_at),
                ))
                .execute(c)
                .await?;
            diesel::update(users::table.find(&done.user_id))
                .set(users::last_login_at.eq(done.auth_time))
                .execute(c)
                .await?;
            let mut done = done.clone();
            done.due = None;
            let new_device = seen_device!(c, &done.user_id, device, done.auth_time);
            record!(
                c,
                signed_in(&done, done.auth_time, session.map(|(s, _)| s), new_device).iter()
            );
            if let Some((session, refresh)) = session {
                diesel::insert_into(sessions::table)
                    .values(session)
                    .execute(c)
                    .await?;
                diesel::insert_into(refresh_tokens::table)
                    .values(refresh)
                    .execute(c)
                    .await?;
            }
            Ok(Some(new_device))
        })
        .await)
}
