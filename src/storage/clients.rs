//! Queries on `clients`, the OAuth client registry. Rows read are kept in memory while their
//! changes are heard (`client_cache`): every write announces itself in its transaction.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};

use super::audit::{AuditEventRow, record};
use super::client_cache::CHANNEL;
use super::schema::{authorization_codes, clients, sessions};
use super::{ClientRow, Database, StorageError, run, run_read};
use crate::domain::{Actor, AuditKind};

pub async fn insert_client(db: &Database, row: &ClientRow) -> Result<(), StorageError> {
    let done = run!(db, |c| {
        diesel::insert_into(clients::table)
            .values(row)
            .execute(c)
            .await?;
        c.client_changed(&row.id).await?;
        let created = AuditEventRow::new(AuditKind::ClientCreated, row.created_at)
            .by(Actor::Cli, None)
            .client(&row.id)
            .detail(serde_json::json!({"name": row.name}));
        record!(c, [&created]);
        Ok(())
    });
    // This instance knows at once; the others when the commit is announced.
    db.client_cache().changed(&row.id);
    done
}

pub async fn find_client(db: &Database, id: &str) -> Result<Option<ClientRow>, StorageError> {
    let cache = db.client_cache();
    cache.check_file();
    let generation = cache.generation();
    if let Some(row) = cache.get(id) {
        return Ok(Some(row));
    }
    let row: Option<ClientRow> = run_read!(db, |c| Ok::<_, StorageError>(
        clients::table
            .find(id)
            .select(ClientRow::as_select())
            .first(c)
            .await
            .optional()?
    ))?;
    if let Some(row) = &row {
        cache.fill(generation, row);
    }
    Ok(row)
}

/// Announces a change of client `id` to every instance, when the write's transaction commits.
trait AnnounceChange {
    fn client_changed(&mut self, id: &str) -> impl Future<Output = diesel::QueryResult<()>> + Send;
}

impl AnnounceChange for diesel_async::AsyncPgConnection {
    fn client_changed(&mut self, id: &str) -> impl Future<Output = diesel::QueryResult<()>> + Send {
        let id = id.to_owned();
        async move {
            diesel::sql_query("SELECT pg_notify($1, $2)")
                .bind::<diesel::sql_types::Text, _>(CHANNEL)
                .bind::<diesel::sql_types::Text, _>(id)
                .execute(self)
                .await
                .map(|_| ())
        }
    }
}

impl AnnounceChange for super::SqliteConn {
    /// One instance, no memory of clients: nothing to tell.
    fn client_changed(
        &mut self,
        _id: &str,
    ) -> impl Future<Output = diesel::QueryResult<()>> + Send {
        std::future::ready(Ok(()))
    }
}

pub async fn list_clients(db: &Database) -> Result<Vec<ClientRow>, StorageError> {
    run_read!(db, |c| Ok(clients::table
        .select(ClientRow::as_select())
        .order(clients::created_at)
        .load(c)
        .await?))
}

/// Stores a client's changed registration (`fields` name what changed, for the audit trail;
/// never the secret). Its sessions and tokens go on. Returns whether the client still existed.
pub async fn update_client(
    db: &Database,
    row: &ClientRow,
    fields: &[&str],
    secret_rotated: bool,
    now: NaiveDateTime,
) -> Result<bool, StorageError> {
    let done = run!(db, |c| c
        .transaction(async |c| {
            let n = diesel::update(clients::table.find(&row.id))
                .set((
                    clients::name.eq(&row.name),
                    clients::secret_hash.eq(&row.secret_hash),
                    clients::redirect_uris.eq(&row.redirect_uris),
                    clients::grant_types.eq(&row.grant_types),
                    clients::scopes.eq(&row.scopes),
                    clients::first_party.eq(row.first_party),
                    clients::can_introspect.eq(row.can_introspect),
                    clients::post_logout_redirect_uris.eq(&row.post_logout_redirect_uris),
                    clients::backchannel_logout_uri.eq(&row.backchannel_logout_uri),
                    clients::require_mfa.eq(row.require_mfa),
                    clients::id_token_signed_response_alg.eq(&row.id_token_signed_response_alg),
                    clients::require_dpop.eq(row.require_dpop),
                ))
                .execute(c)
                .await?;
            c.client_changed(&row.id).await?;
            if n > 0 {
                let updated = AuditEventRow::new(AuditKind::ClientUpdated, now)
                    .by(Actor::Cli, None)
                    .client(&row.id)
                    .detail(serde_json::json!({
                        "fields": fields,
                        "secret_rotated": secret_rotated,
                    }));
                record!(c, [&updated]);
            }
            Ok::<_, StorageError>(n > 0)
        })
        .await);
    db.client_cache().changed(&row.id);
    done
}

/// Deletes a client with its codes, and ends every session it holds, so that none of its
/// refresh or access tokens work any more. Returns whether the client existed.
pub async fn delete_client(
    db: &Database,
    id: &str,
    now: NaiveDateTime,
) -> Result<bool, StorageError> {
    let done = run!(db, |c| c
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
            c.client_changed(id).await?;
            if n > 0 {
                let deleted = AuditEventRow::new(AuditKind::ClientDeleted, now)
                    .by(Actor::Cli, None)
                    .client(id);
                record!(c, [&deleted]);
            }
            Ok::<_, StorageError>(n > 0)
        })
        .await);
    db.client_cache().changed(id);
    done
}
