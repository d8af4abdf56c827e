//! Consents: what a user allowed a client, remembered so that it is not asked again.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};

use super::audit::{AuditEventRow, record};
use super::schema::{clients, consents, sessions};
use super::{Database, StorageError, run, run_read};
use crate::domain::AuditKind;

/// The scopes `user_id` has allowed `client_id`, if any.
pub async fn find_consent(
    db: &Database,
    user_id: &str,
    client_id: &str,
) -> Result<Option<String>, StorageError> {
    run_read!(db, |c| Ok(consents::table
        .find((user_id, client_id))
        .select(consents::scope)
        .first(c)
        .await
        .optional()?))
}

/// Remembers that `user_id` allowed `client_id` `scope` (space-separated, already merged with
/// what was allowed before).
pub async fn save_consent(
    db: &Database,
    user_id: &str,
    client_id: &str,
    scope: &str,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    run!(db, |c| {
        let given = AuditEventRow::new(AuditKind::ConsentGiven, now)
            .user(user_id)
            .client(client_id)
            .detail(serde_json::json!({ "scopes": scope }));
        record!(c, [&given]);
        diesel::insert_into(consents::table)
            .values((
                consents::user_id.eq(user_id),
                consents::client_id.eq(client_id),
                consents::scope.eq(scope),
                consents::granted_at.eq(now),
            ))
            .on_conflict((consents::user_id, consents::client_id))
            .do_update()
            .set((consents::scope.eq(scope), consents::granted_at.eq(now)))
            .execute(c)
            .await?;
        Ok(())
    })
}

/// A user's consents with each client's name, newest first.
pub async fn list_consents(
    db: &Database,
    user_id: &str,
) -> Result<Vec<(String, String, String, NaiveDateTime)>, StorageError> {
    run_read!(db, |c| Ok(consents::table
        .inner_join(clients::table)
        .filter(consents::user_id.eq(user_id))
        .order(consents::granted_at.desc())
        .select((
            consents::client_id,
            clients::name,
            consents::scope,
            consents::granted_at,
        ))
        .load(c)
        .await?))
}

/// Withdraws a consent and ends the sessions the client holds for the user: what it was
/// allowed stops at once. Returns whether there was a consent.
pub async fn revoke_consent(
    db: &Database,
    user_id: &str,
    client_id: &str,
    now: NaiveDateTime,
) -> Result<bool, StorageError> {
    run!(db, |c| c
        .transaction(async |c| {
            let n = diesel::delete(consents::table.find((user_id, client_id)))
                .execute(c)
                .await?;
            diesel::update(
                sessions::table
                    .filter(sessions::user_id.eq(user_id))
                    .filter(sessions::client_id.eq(client_id))
                    .filter(sessions::revoked_at.is_null()),
            )
            .set(sessions::revoked_at.eq(now))
            .execute(c)
            .await?;
            if n > 0 {
                let withdrawn = AuditEventRow::new(AuditKind::ConsentWithdrawn, now)
                    .user(user_id)
                    .client(client_id);
                record!(c, [&withdrawn]);
            }
            Ok::<_, StorageError>(n > 0)
        })
        .await)
}
