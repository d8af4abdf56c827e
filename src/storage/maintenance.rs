//! Housekeeping: rows nobody can use any more. Idempotent, so every instance may run it.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::{
    authorization_codes, one_time_tokens, pending_registrations, refresh_tokens, sessions, sign_ins,
};
use super::{Database, StorageError, run};

/// Used one-time tokens are kept this long after expiry, so a second click on a link can still
/// be told "already verified" rather than "invalid" while the link is recent.
const USED_TOKEN_RETENTION_DAYS: i64 = 7;

/// Deletes expired tokens, codes, pending registrations and ended sessions. Returns rows deleted.
pub async fn purge_expired(db: &Database, now: NaiveDateTime) -> Result<usize, StorageError> {
    let token_cutoff = now - Duration::days(USED_TOKEN_RETENTION_DAYS);
    run!(db, |c| {
        let mut n = diesel::delete(
            one_time_tokens::table.filter(one_time_tokens::expires_at.lt(token_cutoff)),
        )
        .execute(c)
        .await?;
        n += diesel::delete(
            pending_registrations::table.filter(pending_registrations::expires_at.lt(now)),
        )
        .execute(c)
        .await?;
        // Retired refresh tokens stay while unexpired: a late replay must still be recognised
        // as theft. Expired ones can only ever be refused.
        n += diesel::delete(refresh_tokens::table.filter(refresh_tokens::expires_at.lt(now)))
            .execute(c)
            .await?;
        n += diesel::delete(
            authorization_codes::table.filter(authorization_codes::expires_at.lt(now)),
        )
        .execute(c)
        .await?;
        // Ended sessions (and their tokens, by cascade) are refused whether present or not.
        n += diesel::delete(
            sessions::table.filter(
                sessions::expires_at
                    .lt(now)
                    .or(sessions::revoked_at.lt(now - Duration::days(1))),
            ),
        )
        .execute(c)
        .await?;
        // A sign-in stays while a session names it (its auth_time and amr go into the
        // session's ID tokens). Without one, it is kept only while a browser may use it.
        let day_ago = now - Duration::days(1);
        n += diesel::delete(
            sign_ins::table
                .filter(
                    sign_ins::expires_at.lt(now).or(sign_ins::token_hash
                        .is_null()
                        .and(sign_ins::created_at.lt(day_ago))),
                )
                .filter(diesel::dsl::not(diesel::dsl::exists(
                    sessions::table.filter(sessions::sign_in_id.eq(sign_ins::id)),
                ))),
        )
        .execute(c)
        .await?;
        Ok(n)
    })
}
