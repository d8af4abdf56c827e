//! Queries on `clients`, the OAuth client registry.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};

use super::audit::{AuditEventRow, record};
use super::schema::{authorization_codes, clients, sessions};
use super::{ClientRow, Database, StorageError, run, run_read};
use crate::domain::{Actor, AuditKind};

pub async fn insert_client(db: &Database, row: &ClientRow) -> Result<(), StorageError> {
    run!(db, |c| {
        diesel::insert_into(clients::table)
            .values(row)
            .execute(c)
            .await?;
        let created = AuditEventRow::new(AuditKind::ClientCreated, row.created_at)
            .by(Actor::Cli, None)
            .client(&row.id)
            .detail(serde_json::json!({"name": row.name}));
        record!(c, [&created]);
        Ok(())
    })
}

pub async fn find_client(db: &Database, id: &str) -> Result<Option<ClientRow>, StorageError> {
    run_read!(db, |c| Ok(clients::table
        .find(id)
        .select(ClientRow::as_select())
        .first(c)
        .await
        .optional()?))
}

pub async fn list_clients(db: &Database) -> Result<Vec<ClientRow>, StorageError> {
    run_read!(db, |c| Ok(clients::table
        .select(ClientRow::as_select())
        .order(clients::created_at)
        .load(c)
        .await?))
}

/// Deletes a client with its codes, and ends every session it holds, so that none of its
/// refresh or access tokens work any more. Returns whether the client existed.
pub async fn delete_client(
    db: &Database,
    id: &str,
    now: NaiveDateTime,
) -> Result<bool, StorageError> {
    run!(db, |c| c
        .transaction(async |c| {
            diesel::update(
                sessions::table
                    .filter(sessions::client_id.eq(id))
                    .filter(sessions::revoked_at.is_null()),
            )
            .set(sessions::revoked_at.eq(now))
            .execute(c)
            .await?;
            diesel::delete(
                authorization_codes::table.filter(authorization_codes::client_id.eq(id)),
            )
            .execute(c)
            .await?;
            let n = diesel::delete(clients::table.find(id)).execute(c).await?;
            if n > 0 {
                let deleted = AuditEventRow::new(AuditKind::ClientDeleted, now)
                    .by(Actor::Cli, None)
                    .client(id);
                record!(c, [&deleted]);
            }
            Ok::<_, StorageError>(n > 0)
        })
        .await)
}
