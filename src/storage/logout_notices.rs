//! Back-channel logout notices: every session that ends (by whatever path: logout, logout-all,
//! password change, admin action, RP-initiated logout, a revoked consent) and whose client
//! registered a `backchannel_logout_uri` is due a logout token. The ended session itself is
//! the record: nothing can end a session and forget the notice. A sender in every instance
//! claims due sessions (one instance per session, by a conditional write) and marks them
//! notified. A deleted user's sessions go with the user's row, so deleting a user first copies
//! the ones still owed a token into `ended_sessions` ([`keep_owed!`]).

/// Inside the transaction that deletes user `$user` on `$c`: records, in `ended_sessions`,
/// each of the user's sessions whose client wants a logout token and has not had it.
macro_rules! keep_owed {
    ($c:ident, $user:expr, $now:expr) => {{
        use super::schema::{clients as cl, ended_sessions as es, sessions as ss};
        let owed: Vec<(String, String)> = ss::table
            .inner_join(cl::table)
            .filter(ss::user_id.eq($user))
            .filter(cl::backchannel_logout_uri.is_not_null())
            .filter(ss::logout_notified_at.is_null())
            .filter(ss::expires_at.gt($now))
            .select((ss::id, ss::client_id))
            .load($c)
            .await?;
        for (session_id, client_id) in owed {
            diesel::insert_into(es::table)
                .values((
                    es::session_id.eq(session_id),
                    es::user_id.eq($user),
                    es::client_id.eq(client_id),
                    es::ended_at.eq($now),
                ))
                .on_conflict_do_nothing()
                .execute($c)
                .await?;
        }
    }};
}
pub(crate) use keep_owed;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::{clients, ended_sessions, sessions};
use super::{Database, StorageError, run};

/// One session whose end must be announced.
#[derive(Debug, Clone)]
pub struct DueNotice {
    /// The session's row went with its deleted user (see `ended_sessions`).
    pub user_deleted: bool,
    pub session_id: String,
    pub user_id: String,
    pub client_id: String,
    pub uri: String,
    /// The client's `id_token_signed_response_alg`, which its logout tokens use too.
    pub alg: Option<String>,
    pub attempts: i32,
}

/// Claims up to `limit` ended sessions whose logout token is due, each for `lease`. Ended
/// sessions of clients that registered no logout URI are settled on the way (there is nothing
/// to send), so the due index only holds real work.
/// Each claim is a compare-and-set on the attempt count, so two instances never claim the same
/// notice.
pub async fn claim_due(
    db: &Database,
    now: NaiveDateTime,
    lease: chrono::Duration,
    limit: i64,
) -> Result<Vec<DueNotice>, StorageError> {
    let mut claimed = claim_live(db, now, lease, limit).await?;
    claimed.extend(claim_of_deleted_users(db, now, lease, limit).await?);
    Ok(claimed)
}

/// Notices for ended sessions of users that still exist.
async fn claim_live(
    db: &Database,
    now: NaiveDateTime,
    lease: chrono::Duration,
    limit: i64,
) -> Result<Vec<DueNotice>, StorageError> {
    run!(db, |c| {
        let silent = clients::table
            .filter(clients::backchannel_logout_uri.is_null())
            .select(clients::id);
        diesel::update(
            sessions::table
                .filter(sessions::revoked_at.is_not_null())
                .filter(sessions::logout_notified_at.is_null())
                .filter(sessions::client_id.eq_any(silent)),
        )
        .set(sessions::logout_notified_at.eq(sessions::revoked_at))
        .execute(c)
        .await?;
        #[allow(clippy::type_complexity)]
        let due: Vec<(String, String, String, Option<String>, Option<String>, i32)> =
            sessions::table
                .inner_join(clients::table)
                .filter(sessions::revoked_at.is_not_null())
                .filter(sessions::logout_notified_at.is_null())
                .filter(
                    sessions::logout_next_at
                        .is_null()
                        .or(sessions::logout_next_at.le(now)),
                )
                .order(sessions::revoked_at)
                .limit(limit)
                .select((
                    sessions::id,
                    sessions::user_id,
                    sessions::client_id,
                    clients::backchannel_logout_uri,
                    clients::id_token_signed_response_alg,
                    sessions::logout_attempts,
                ))
                .load(c)
                .await?;
        let mut claimed = Vec::with_capacity(due.len());
        for (session_id, user_id, client_id, uri, alg, attempts) in due {
            let won = diesel::update(
                sessions::table
                    .find(&session_id)
                    .filter(sessions::logout_notified_at.is_null())
                    .filter(sessions::logout_attempts.eq(attempts)),
            )
            .set((
                sessions::logout_attempts.eq(attempts + 1),
                sessions::logout_next_at.eq(now + lease),
            ))
            .execute(c)
            .await?;
            if won == 1 {
                claimed.push(DueNotice {
                    user_deleted: false,
                    session_id,
                    user_id,
                    client_id,
                    uri: uri.unwrap_or_default(),
                    alg,
                    attempts: attempts + 1,
                });
            }
        }
        Ok(claimed)
    })
}

/// Notices owed for the sessions of deleted users (kept in `ended_sessions`).
async fn claim_of_deleted_users(
    db: &Database,
    now: NaiveDateTime,
    lease: chrono::Duration,
    limit: i64,
) -> Result<Vec<DueNotice>, StorageError> {
    run!(db, |c| {
        let mut claimed = Vec::new();
        #[allow(clippy::type_complexity)]
        let owed: Vec<(String, String, String, Option<String>, Option<String>, i32)> =
            ended_sessions::table
                .inner_join(clients::table)
                .filter(
                    ended_sessions::next_at
                        .is_null()
                        .or(ended_sessions::next_at.le(now)),
                )
                .order(ended_sessions::ended_at)
                .limit(limit)
                .select((
                    ended_sessions::session_id,
                    ended_sessions::user_id,
                    ended_sessions::client_id,
                    clients::backchannel_logout_uri,
                    clients::id_token_signed_response_alg,
                    ended_sessions::attempts,
                ))
                .load(c)
                .await?;
        for (session_id, user_id, client_id, uri, alg, attempts) in owed {
            let won = diesel::update(
                ended_sessions::table
                    .find(&session_id)
                    .filter(ended_sessions::attempts.eq(attempts)),
            )
            .set((
                ended_sessions::attempts.eq(attempts + 1),
                ended_sessions::next_at.eq(now + lease),
            ))
            .execute(c)
            .await?;
            if won == 1 {
                claimed.push(DueNotice {
                    user_deleted: true,
                    session_id,
                    user_id,
                    client_id,
                    uri: uri.unwrap_or_default(),
                    alg,
                    attempts: attempts + 1,
                });
            }
        }
        Ok(claimed)
    })
}

/// Delivered, or given up on: not due again.
pub async fn settle(
    db: &Database,
    notice: &DueNotice,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    run!(db, |c| {
        if notice.user_deleted {
            diesel::delete(ended_sessions::table.find(&notice.session_id))
                .execute(c)
                .await?;
        } else {
            diesel::update(sessions::table.find(&notice.session_id))
                .set(sessions::logout_notified_at.eq(now))
                .execute(c)
                .await?;
        }
        Ok(())
    })
}

/// Not delivered this time: due again at `next`.
pub async fn retry_at(
    db: &Database,
    notice: &DueNotice,
    next: NaiveDateTime,
) -> Result<(), StorageError> {
    run!(db, |c| {
        if notice.user_deleted {
            diesel::update(ended_sessions::table.find(&notice.session_id))
                .set(ended_sessions::next_at.eq(next))
                .execute(c)
                .await?;
        } else {
            diesel::update(sessions::table.find(&notice.session_id))
                .set(sessions::logout_next_at.eq(next))
                .execute(c)
                .await?;
        }
        Ok(())
    })
}
