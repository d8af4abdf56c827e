//! Queries on `one_time_tokens`: tokens sent by email, single use.

use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};

use super::schema::one_time_tokens;
use super::{Database, OneTimeTokenRow, StorageError, run, run_read};
use crate::tokens::TokenHash;

pub const PURPOSE_VERIFY_EMAIL: &str = "verify_email";
pub const PURPOSE_RESET_PASSWORD: &str = "reset_password";
pub const PURPOSE_CHANGE_EMAIL: &str = "change_email";
/// Sent to the old address on an email change; `payload` holds that address.
pub const PURPOSE_CANCEL_EMAIL_CHANGE: &str = "cancel_email_change";

/// Stores a token beside any earlier ones: each link keeps working until used or expired.
pub async fn insert_one_time_token(
    db: &Database,
    row: &OneTimeTokenRow,
) -> Result<(), StorageError> {
    run!(db, |c| {
        diesel::insert_into(one_time_tokens::table)
            .values(row)
            .execute(c)
            .await?;
        Ok(())
    })
}

/// Stores a new token for `row.subject`, replacing any earlier unused one for the same purpose,
/// so only the newest link works.
pub async fn replace_one_time_token(
    db: &Database,
    row: &OneTimeTokenRow,
) -> Result<(), StorageError> {
    run!(db, |c| c
        .transaction(async |c| {
            diesel::delete(
                one_time_tokens::table
                    .filter(one_time_tokens::subject.eq(&row.subject))
                    .filter(one_time_tokens::purpose.eq(&row.purpose))
                    .filter(one_time_tokens::consumed_at.is_null()),
            )
            .execute(c)
            .await?;
            diesel::insert_into(one_time_tokens::table)
                .values(row)
                .execute(c)
                .await?;
            Ok::<_, StorageError>(())
        })
        .await)
}

pub async fn find_one_time_token(
    db: &Database,
    hash: &TokenHash,
    purpose: &str,
) -> Result<Option<OneTimeTokenRow>, StorageError> {
    run_read!(db, |c| Ok(one_time_tokens::table
        .find(hash.as_str())
        .filter(one_time_tokens::purpose.eq(purpose))
        .select(OneTimeTokenRow::as_select())
        .first(c)
        .await
        .optional()?))
}

/// A passkey sign-in's ceremony, spent (see `signin::passkeys`): `token_hash` is its nonce.
pub const PURPOSE_PASSKEY_CEREMONY: &str = "passkey_ceremony";

/// Records `row` (already consumed) unless its key is there: one conditional write, so a
/// single-use value is spent once on any instance. Returns whether this call spent it.
pub async fn spend_once(db: &Database, row: &OneTimeTokenRow) -> Result<bool, StorageError> {
    run!(db, |c| {
        let n = diesel::insert_into(one_time_tokens::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)
            .await?;
        Ok(n == 1)
    })
}

/// A round trip to an upstream provider (see `signin::upstream`), named by its `state`.
pub const PURPOSE_UPSTREAM: &str = "upstream";
/// An upstream identity waiting for its person to prove the account it would join; `subject`
/// is that account.
pub const PURPOSE_LINK_IDENTITY: &str = "link_identity";
/// The same proof, by a link mailed to the account's address.
pub const PURPOSE_LINK_IDENTITY_EMAIL: &str = "link_identity_email";
/// A sign-in through a provider for a frontend: exchanged once for the login's answer.
pub const PURPOSE_UPSTREAM_LOGIN: &str = "upstream_login";

/// Takes the unexpired, unused token `hash` of `purpose`: one conditional write, so it is
/// taken once on any instance. Returns it as it was.
pub async fn take(
    db: &Database,
    hash: &TokenHash,
    purpose: &str,
    now: chrono::NaiveDateTime,
) -> Result<Option<OneTimeTokenRow>, StorageError> {
    run!(db, |c| c
        .transaction(async |c| {
            let n = diesel::update(
                one_time_tokens::table
                    .find(hash.as_str())
                    .filter(one_time_tokens::purpose.eq(purpose))
                    .filter(one_time_tokens::consumed_at.is_null())
                    .filter(one_time_tokens::expires_at.gt(now)),
            )
            .set(one_time_tokens::consumed_at.eq(now))
            .execute(c)
            .await?;
            if n == 0 {
                return Ok::<_, StorageError>(None);
            }
            Ok(one_time_tokens::table
                .find(hash.as_str())
                .select(OneTimeTokenRow::as_select())
                .first(c)
                .await
                .optional()?)
        })
        .await)
}
