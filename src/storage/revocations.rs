//! Access tokens revoked before they expire, by `jti`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::revoked_access_tokens;
use super::{Database, StorageError, run, run_read};

pub async fn revoke_access_token(
    db: &Database,
    jti: &str,
    expires_at: NaiveDateTime,
) -> Result<(), StorageError> {
    run!(db, |c| {
        diesel::insert_into(revoked_access_tokens::table)
            .values((
                revoked_access_tokens::jti.eq(jti),
                revoked_access_tokens::expires_at.eq(expires_at),
            ))
            .on_conflict_do_nothing()
            .execute(c)
            .await?;
        Ok(())
    })
}

pub async fn is_revoked(db: &Database, jti: &str) -> Result<bool, StorageError> {
    run_read!(db, |c| {
        let n: i64 = revoked_access_tokens::table
            .find(jti)
            .count()
            .get_result(c)
            .await?;
        Ok(n > 0)
    })
}

/// Entries whose tokens have expired on their own are no longer needed.
pub async fn purge_expired_revocations(
    db: &Database,
    now: NaiveDateTime,
) -> Result<usize, StorageError> {
    run!(db, |c| Ok(diesel::delete(
        revoked_access_tokens::table.filter(revoked_access_tokens::expires_at.lt(now))
    )
    .execute(c)
    .await?))
}
