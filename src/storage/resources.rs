//! Registered resource servers (RFC 8707), managed at the command line.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::audit::{AuditEventRow, record};
use super::schema::resources;
use super::{Database, ResourceRow, StorageError, run, run_read};
use crate::domain::{Actor, AuditKind};

/// Registers a resource; `false` when one with that identifier exists already.
pub async fn insert_resource(db: &Database, row: &ResourceRow) -> Result<bool, StorageError> {
    run!(db, |c| {
        let n = diesel::insert_into(resources::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)
            .await?;
        if n == 1 {
            let created = AuditEventRow::new(AuditKind::ResourceCreated, row.created_at)
                .by(Actor::Cli, None)
                .detail(serde_json::json!({
                    "identifier": row.identifier,
                    "scopes": row.scopes.split_whitespace().collect::<Vec<_>>(),
                }));
            record!(c, [&created]);
        }
        Ok(n == 1)
    })
}

pub async fn find_resource(
    db: &Database,
    identifier: &str,
) -> Result<Option<ResourceRow>, StorageError> {
    run_read!(db, |c| Ok(resources::table
        .find(identifier)
        .select(ResourceRow::as_select())
        .first(c)
        .await
        .optional()?))
}

pub async fn list_resources(db: &Database) -> Result<Vec<ResourceRow>, StorageError> {
    run_read!(db, |c| Ok(resources::table
        .order(resources::identifier)
        .select(ResourceRow::as_select())
        .load(c)
        .await?))
}

/// Deletes a resource: tokens already issued for it keep their `aud` until they expire; new
/// requests naming it are refused. Returns whether it existed.
pub async fn delete_resource(
    db: &Database,
    identifier: &str,
    now: NaiveDateTime,
) -> Result<bool, StorageError> {
    run!(db, |c| {
        let n = diesel::delete(resources::table.find(identifier))
            .execute(c)
            .await?;
        if n == 1 {
            let deleted = AuditEventRow::new(AuditKind::ResourceDeleted, now)
                .by(Actor::Cli, None)
                .detail(serde_json::json!({ "identifier": identifier }));
            record!(c, [&deleted]);
        }
        Ok(n == 1)
    })
}
