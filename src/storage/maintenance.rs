//! Housekeeping: rows nobody can use any more. Idempotent, so every instance may run it.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::{
    authorization_codes, dpop_proofs, one_time_tokens, pending_registrations, refresh_tokens,
    sessions, sign_ins,
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
        n += diesel::delete(dpop_proofs::table.filter(dpop_proofs::expires_at.lt(now)))
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

/// `authd backup PATH`: a consistent copy of the SQLite database, taken while it serves
/// (`VACUUM INTO` reads one snapshot; writers go on meanwhile). The file is made private
/// (0600) before SQLite writes it. PostgreSQL has its own tools (`pg_dump`).
pub async fn backup(db: &Database, path: &std::path::Path) -> anyhow::Result<()> {
    use anyhow::Context as _;
    use diesel_async::SimpleAsyncConnection as _;
    if path.exists() {
        anyhow::bail!("{} exists already: name a new file", path.display());
    }
    let target = path
        .to_str()
        .context("the backup path must be valid UTF-8")?
        .replace('\'', "''");
    // The writer's connection (the readers may not write even another file), used outside
    // any transaction: VACUUM INTO reads one snapshot, and takes no write lock.
    match db.conn().await? {
        super::Conn::Postgres(_) => anyhow::bail!(
            "authd backup copies SQLite databases; for PostgreSQL use pg_dump (see the README)"
        ),
        super::Conn::Sqlite(mut c) => {
            crate::files::private_file(path)
                .with_context(|| format!("creating {}", path.display()))?;
            // VACUUM INTO wants a file that does not exist or is empty.
            super::offloaded(c.batch_execute(&format!("VACUUM INTO '{target}'")))
                .await
                .with_context(|| format!("writing {}", path.display()))?;
        }
    }
    Ok(())
}
