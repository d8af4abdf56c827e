//! Sessions (one login on one device) and their rotating refresh tokens.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};

use super::audit::{AuditEventRow, record};
use super::schema::{clients, refresh_tokens, sessions, sign_ins, users};
use super::{
    Database, RefreshTokenRow, SessionRow, SignInRow, StorageError, UserRow, run, run_read,
};
use crate::domain::{Actor, AuditKind};
use crate::tokens::OpaqueToken;

/// How refresh tokens age, from configuration.
#[derive(Clone, Copy, Debug)]
pub struct RotationPolicy {
    pub refresh_ttl: Duration,
    pub reuse_grace: Duration,
}

pub enum RotateOutcome {
    /// The live token of the session after this call: freshly minted, or the successor
    /// already minted for a token retired within the grace window.
    Rotated {
        session: Box<SessionRow>,
        user: Box<UserRow>,
        sign_in: Box<SignInRow>,
        token: OpaqueToken,
    },
    /// Unknown, expired, or its session has ended.
    Invalid,
    /// The session is bound to another device.
    DeviceMismatch,
    /// The session's refresh tokens are bound to a DPoP key the request did not prove.
    KeyMismatch,
    /// The user is disabled.
    Disabled,
    /// A token retired longer than the grace window ago came back: the session (of this user)
    /// is now ended.
    Reused { user: Box<UserRow> },
}

/// Who presents a refresh token: the client it must belong to, and what a session bound to a
/// device or a DPoP key needs to see.
#[derive(Clone, Copy)]
pub struct Presenter<'a> {
    pub client_id: &'a str,
    pub device_id: Option<&'a str>,
    /// The thumbprint of the DPoP key the request proved.
    pub dpop_jkt: Option<&'a str>,
}

/// How far a retired token's chain of successors is followed inside the grace window.
const MAX_CHAIN: usize = 16;

/// The session if it exists and has neither been revoked nor outlived its maximum age.
pub async fn find_live_session(
    db: &Database,
    id: &str,
    now: NaiveDateTime,
) -> Result<Option<SessionRow>, StorageError> {
    run_read!(db, |c| Ok(sessions::table
        .find(id)
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .select(SessionRow::as_select())
        .first(c)
        .await
        .optional()?))
}

/// How stale a session's `last_used_at` may grow before a rotation writes it again.
const LAST_USED_PRECISION: chrono::Duration = chrono::Duration::minutes(1);

/// Rotates `presented`: retires it, mints `fresh` as its successor (sealed under `presented`
/// so a retry within the grace window gets the same successor back) and returns the live
/// token. The conditional retire decides between concurrent callers.
///
/// Two statements on PostgreSQL, each its own round trip and atomic by itself: the read of
/// token, session, user and sign-in, then one statement that retires the token, inserts its
/// successor and (once a minute) marks the session used — no transaction around them (under
/// READ COMMITTED it would see nothing more). On SQLite the same steps run as separate
/// statements inside the writer's transaction (`run!`), in-process. The rare paths (a race
/// lost, a token within the grace window, a reused one) follow in order.
///
/// Long: the checks, the conditional retire and the grace-window walk read best in order, as
/// the rotation rules are written, on the one connection `run!` hands them.
pub async fn rotate_refresh_token(
    db: &Database,
    presented: &OpaqueToken,
    fresh: OpaqueToken,
    by: Presenter<'_>,
    now: NaiveDateTime,
    policy: RotationPolicy,
) -> Result<RotateOutcome, StorageError> {
    let Presenter {
        client_id,
        device_id,
        dpop_jkt,
    } = by;
    let presented_hash = presented.hash();
    let postgres = db.is_postgres();
    run!(db, |c| {
        // The token, its session, the session's user and sign-in in one read.
        let Some((mut row, session, user, sign_in)) = refresh_tokens::table
            .inner_join(
                sessions::table
                    .inner_join(users::table)
                    .inner_join(sign_ins::table),
            )
            .filter(refresh_tokens::token_hash.eq(presented_hash.as_str()))
            .select((
                RefreshTokenRow::as_select(),
                SessionRow::as_select(),
                UserRow::as_select(),
                SignInRow::as_select(),
            ))
            .first::<(RefreshTokenRow, SessionRow, UserRow, SignInRow)>(c)
            .await
            .optional()?
        else {
            return Ok(RotateOutcome::Invalid);
        };
        if session.revoked_at.is_some() || session.expires_at <= now {
            return Ok(RotateOutcome::Invalid);
        }
        // A token is only good for the client it was issued to; checked before anything
        // is written, so presenting it elsewhere retires nothing.
        if session.client_id != client_id {
            return Ok(RotateOutcome::Invalid);
        }
        // A session bound to a device refreshes only for that device: a token copied off
        // it, presented without the device's id, is refused like one with another id.
        if let Some(bound) = &session.device_id
            && device_id != Some(bound.as_str())
        {
            return Ok(RotateOutcome::DeviceMismatch);
        }
        // A public client's session opened with a DPoP proof refreshes only with a proof of
        // the same key: the token alone, copied off the device, is not enough.
        if let Some(bound) = &session.dpop_jkt
            && dpop_jkt != Some(bound.as_str())
        {
            return Ok(RotateOutcome::KeyMismatch);
        }
        if !user.is_active {
            return Ok(RotateOutcome::Disabled);
        }

        if row.retired_at.is_none() {
            if row.expires_at <= now {
                return Ok(RotateOutcome::Invalid);
            }
            let successor = Successor {
                presented: presented_hash.as_str(),
                sealed: presented.seal(&fresh),
                fresh: fresh.hash().as_str().to_owned(),
                session_id: &session.id,
                now,
                expires_at: (now + policy.refresh_ttl).min(session.expires_at),
                // To the minute: a device refreshing often costs one write of its session a
                // minute, not one per rotation.
                used_before: now - LAST_USED_PRECISION,
            };
            let won = if postgres {
                retire_with_successor!(c, &successor) == 1
            } else {
                let won = diesel::update(
                    refresh_tokens::table
                        .find(successor.presented)
                        .filter(refresh_tokens::retired_at.is_null()),
                )
                .set((
                    refresh_tokens::retired_at.eq(now),
                    refresh_tokens::successor_sealed.eq(&successor.sealed),
                ))
                .execute(c)
                .await?
                    == 1;
                if won {
                    diesel::insert_into(refresh_tokens::table)
                        .values((
                            refresh_tokens::token_hash.eq(&successor.fresh),
                            refresh_tokens::session_id.eq(&session.id),
                            refresh_tokens::created_at.eq(now),
                            refresh_tokens::expires_at.eq(successor.expires_at),
                        ))
                        .execute(c)
                        .await?;
                    diesel::update(
                        sessions::table
                            .find(&session.id)
                            .filter(sessions::last_used_at.le(successor.used_before)),
                    )
                    .set(sessions::last_used_at.eq(now))
                    .execute(c)
                    .await?;
                }
                won
            };
            if won {
                return Ok(RotateOutcome::Rotated {
                    session: Box::new(session),
                    user: Box::new(user),
                    sign_in: Box::new(sign_in),
                    token: fresh,
                });
            }
            // Another request retired it first; read what it left behind.
            row = refresh_tokens::table
                .find(presented_hash.as_str())
                .select(RefreshTokenRow::as_select())
                .first(c)
                .await?;
        }

        // A retired token: within the grace window its holder gets the live successor;
        // later it can only be a copy in someone else's hands.
        let mut holder = presented.clone();
        for _ in 0..MAX_CHAIN {
            let Some(retired_at) = row.retired_at else {
                return Ok(RotateOutcome::Rotated {
                    session: Box::new(session),
                    user: Box::new(user),
                    sign_in: Box::new(sign_in),
                    token: holder,
                });
            };
            if now - retired_at > policy.reuse_grace {
                let theft = AuditEventRow::new(AuditKind::SessionEnded, now)
                    .user(&session.user_id)
                    .by(Actor::System, None)
                    .client(&session.client_id)
                    .session(&session.id)
                    .detail(serde_json::json!({"reason": "refresh_token_reused"}));
                c.transaction(async |c| {
                    diesel::update(sessions::table.find(&session.id))
                        .set(sessions::revoked_at.eq(now))
                        .execute(c)
                        .await?;
                    record!(c, [&theft]);
                    Ok::<_, StorageError>(())
                })
                .await?;
                return Ok(RotateOutcome::Reused {
                    user: Box::new(user),
                });
            }
            let Some(next) = row
                .successor_sealed
                .as_deref()
                .and_then(|s| holder.unseal(s))
            else {
                return Ok(RotateOutcome::Invalid);
            };
            let Some(next_row) = refresh_tokens::table
                .find(next.hash().as_str())
                .select(RefreshTokenRow::as_select())
                .first(c)
                .await
                .optional()?
            else {
                return Ok(RotateOutcome::Invalid);
            };
            holder = next;
            row = next_row;
        }
        Ok(RotateOutcome::Invalid)
    })
}

/// What a winning rotation writes.
struct Successor<'a> {
    presented: &'a str,
    sealed: String,
    fresh: String,
    session_id: &'a str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
    /// The session's `last_used_at` is written when it is older than this.
    used_before: NaiveDateTime,
}

/// PostgreSQL: the retire, the successor and the session's use in one statement (data-modifying
/// CTEs run once each, atomically with the statement); inserts one row when the presented token
/// was still live, none when another request retired it first. (A macro: the query is typed
/// for each backend `run!` expands the body for, and runs on PostgreSQL only.)
macro_rules! retire_with_successor {
    ($c:ident, $s:expr) => {{
        use diesel::sql_types::{Text, Timestamp};
        let s: &Successor<'_> = $s;
        diesel::sql_query(
            "WITH retired AS ( \
               UPDATE refresh_tokens SET retired_at = $1, successor_sealed = $2 \
               WHERE token_hash = $3 AND retired_at IS NULL RETURNING session_id \
             ), used AS ( \
               UPDATE sessions SET last_used_at = $1 \
               WHERE id = $4 AND last_used_at <= $5 AND EXISTS (SELECT 1 FROM retired) \
             ) \
             INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) \
             SELECT $6, session_id, $1, $7 FROM retired",
        )
        .bind::<Timestamp, _>(s.now)
        .bind::<Text, _>(&s.sealed)
        .bind::<Text, _>(s.presented)
        .bind::<Text, _>(s.session_id)
        .bind::<Timestamp, _>(s.used_before)
        .bind::<Text, _>(&s.fresh)
        .bind::<Timestamp, _>(s.expires_at)
        .execute($c)
        .await?
    }};
}
use retire_with_successor;

/// Ends one session. Returns whether a live session was ended.
/// Ends one session; `ended` (a `session.ended` event) is recorded with its user, client and
/// id when it was live. Returns whether a live session was ended.
pub async fn revoke_session(
    db: &Database,
    id: &str,
    now: NaiveDateTime,
    ended: Option<&AuditEventRow>,
) -> Result<bool, StorageError> {
    run!(db, |c| c
        .transaction(async |c| {
            let live: Option<SessionRow> = sessions::table
                .find(id)
                .filter(sessions::revoked_at.is_null())
                .select(SessionRow::as_select())
                .first(c)
                .await
                .optional()?;
            let Some(live) = live else {
                return Ok::<_, StorageError>(false);
            };
            let n = diesel::update(
                sessions::table
                    .find(id)
                    .filter(sessions::revoked_at.is_null()),
            )
            .set(sessions::revoked_at.eq(now))
            .execute(c)
            .await?;
            if n == 0 {
                return Ok(false);
            }
            record!(c, ended.map(|e| of_session(e, &live)).iter());
            Ok(true)
        })
        .await)
}

/// `event` about session `session`.
fn of_session(event: &AuditEventRow, session: &SessionRow) -> AuditEventRow {
    event
        .clone()
        .user(&session.user_id)
        .client(&session.client_id)
        .session(&session.id)
}

/// Ends the session a refresh token belongs to, whatever the token's own state, recording
/// `ended` about it.
pub async fn revoke_session_by_refresh_token(
    db: &Database,
    token: &OpaqueToken,
    now: NaiveDateTime,
    ended: &AuditEventRow,
) -> Result<bool, StorageError> {
    let hash = token.hash();
    let id = run_read!(db, |c| Ok::<Option<String>, StorageError>(
        refresh_tokens::table
            .find(hash.as_str())
            .select(refresh_tokens::session_id)
            .first(c)
            .await
            .optional()?
    ))?;
    match id {
        Some(id) => revoke_session(db, &id, now, Some(ended)).await,
        None => Ok(false),
    }
}

/// Ends every live session of a user, except `keep` when given, with their sign-ins on authd's
/// login page and their unused reset links; `ended` is recorded when any ended (its detail
/// gains `sessions`, how many). Returns how many sessions ended.
pub async fn revoke_user_sessions(
    db: &Database,
    user_id: &str,
    keep: Option<&str>,
    now: NaiveDateTime,
    ended: Option<&AuditEventRow>,
) -> Result<usize, StorageError> {
    let keep = keep.unwrap_or("");
    run!(db, |c| c
        .transaction(async |c| {
            let n = end_user_sessions!(c, user_id, keep, now);
            if n > 0
                && let Some(ended) = ended
            {
                let mut detail: serde_json::Value = ended
                    .detail
                    .as_deref()
                    .and_then(|d| serde_json::from_str(d).ok())
                    .unwrap_or_else(|| serde_json::json!({}));
                detail["sessions"] = n.into();
                record!(c, [&ended.clone().user(user_id).detail(detail)]);
            }
            Ok::<_, StorageError>(n)
        })
        .await)
}

/// The live sessions of a user, most recently used first.
pub async fn list_live_sessions(
    db: &Database,
    user_id: &str,
    now: NaiveDateTime,
) -> Result<Vec<SessionRow>, StorageError> {
    run_read!(db, |c| Ok(sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .select(SessionRow::as_select())
        .order(sessions::last_used_at.desc())
        .load(c)
        .await?))
}

/// Ends one live session of this user. Returns whether there was one.
pub async fn revoke_user_session(
    db: &Database,
    user_id: &str,
    session_id: &str,
    now: NaiveDateTime,
    ended: &AuditEventRow,
) -> Result<bool, StorageError> {
    run!(db, |c| c
        .transaction(async |c| {
            let live: Option<SessionRow> = sessions::table
                .find(session_id)
                .filter(sessions::user_id.eq(user_id))
                .filter(sessions::revoked_at.is_null())
                .filter(sessions::expires_at.gt(now))
                .select(SessionRow::as_select())
                .first(c)
                .await
                .optional()?;
            let Some(live) = live else {
                return Ok::<_, StorageError>(false);
            };
            let n = diesel::update(
                sessions::table
                    .find(session_id)
                    .filter(sessions::revoked_at.is_null()),
            )
            .set(sessions::revoked_at.eq(now))
            .execute(c)
            .await?;
            if n == 0 {
                return Ok(false);
            }
            record!(c, [&of_session(ended, &live)]);
            Ok(true)
        })
        .await)
}

/// The session a refresh token belongs to, if the token is known (live or retired) and the
/// session is live: what a refresh would act on, read without writing.
pub async fn find_refresh_token_session(
    db: &Database,
    token: &OpaqueToken,
    now: NaiveDateTime,
) -> Result<Option<(RefreshTokenRow, SessionRow)>, StorageError> {
    let hash = token.hash();
    run_read!(db, |c| Ok(refresh_tokens::table
        .inner_join(sessions::table)
        .filter(refresh_tokens::token_hash.eq(hash.as_str()))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .select((RefreshTokenRow::as_select(), SessionRow::as_select()))
        .first(c)
        .await
        .optional()?))
}

// `sessions.client_id` has no foreign key (a deleted client's sessions stay, revoked, for the
// record), so diesel does not generate this join; token checks need it.
diesel::joinable!(sessions -> clients (client_id));

/// The user behind an access token, in one query: its session live and the user's, its client
/// still registered, the token not revoked. `None` when any of that fails; else the user and
/// whether the session's client is first-party.
pub async fn find_token_user(
    db: &Database,
    session_id: &str,
    user_id: &str,
    jti: &str,
    now: NaiveDateTime,
) -> Result<Option<(UserRow, bool)>, StorageError> {
    use super::schema::revoked_access_tokens;
    use diesel::dsl::{exists, not};
    run_read!(db, |c| Ok(sessions::table
        .inner_join(users::table)
        .inner_join(clients::table)
        .filter(sessions::id.eq(session_id))
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .filter(not(exists(revoked_access_tokens::table.find(jti))))
        .select((UserRow::as_select(), clients::first_party))
        .first(c)
        .await
        .optional()?))
}
