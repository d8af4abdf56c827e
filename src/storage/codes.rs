//! Authorization codes: stored as hashes, consumed once.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};

use super::schema::authorization_codes;
use super::{AuthorizationCodeRow, Database, StorageError, run, run_read};
use crate::tokens::TokenHash;

pub async fn insert_code(db: &Database, row: &AuthorizationCodeRow) -> Result<(), StorageError> {
    run!(db, |c| {
        diesel::insert_into(authorization_codes::table)
            .values(row)
            .execute(c)
            .await?;
        Ok(())
    })
}

/// A code as stored, used or not (for the checks made before it is consumed).
pub async fn find_code(
    db: &Database,
    hash: &TokenHash,
) -> Result<Option<AuthorizationCodeRow>, StorageError> {
    run_read!(db, |c| Ok(authorization_codes::table
        .find(hash.as_str())
        .select(AuthorizationCodeRow::as_select())
        .first(c)
        .await
        .optional()?))
}

/// Records the session a redeemed code opened, so that a replay of the code can end it.
pub async fn attach_session(
    db: &Database,
    code_hash: &str,
    session_id: &str,
) -> Result<(), StorageError> {
    run!(db, |c| {
        diesel::update(authorization_codes::table.find(code_hash))
            .set(authorization_codes::session_id.eq(session_id))
            .execute(c)
            .await?;
        Ok(())
    })
}

/// Consumes a live code: one conditional write, so of two redemptions only one gets the row.
pub async fn consume_code(
    db: &Database,
    hash: &TokenHash,
    now: NaiveDateTime,
) -> Result<Option<AuthorizationCodeRow>, StorageError> {
    run!(db, |c| c
        .transaction(async |c| {
            let won = diesel::update(
                authorization_codes::table
                    .find(hash.as_str())
                    .filter(authorization_codes::consumed_at.is_null())
                    .filter(authorization_codes::expires_at.gt(now)),
            )
            .set(authorization_codes::consumed_at.eq(now))
            .execute(c)
            .await?;
            if won == 0 {
                return Ok::<_, StorageError>(None);
            }
            Ok(Some(
                authorization_codes::table
                    .find(hash.as_str())
                    .select(AuthorizationCodeRow::as_select())
                    .first(c)
                    .await?,
            ))
        })
        .await)
}
