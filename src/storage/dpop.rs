//! DPoP proofs seen (by a hash of their key and `jti`), kept until their `iat` window has
//! passed: a proof is good once, at whichever instance it reaches first.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::dpop_proofs;
use super::{Database, StorageError, run};

/// Records the proof `id`; `false` when it was recorded before (a replay).
pub async fn first_use(
    db: &Database,
    id: &str,
    keep_until: NaiveDateTime,
) -> Result<bool, StorageError> {
    run!(db, |c| {
        let n = diesel::insert_into(dpop_proofs::table)
            .values((
                dpop_proofs::id.eq(id),
                dpop_proofs::expires_at.eq(keep_until),
            ))
            .on_conflict_do_nothing()
            .execute(c)
            .await?;
        Ok(n == 1)
    })
}
