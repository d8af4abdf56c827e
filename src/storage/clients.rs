//! Queries on `clients`, the OAuth client registry.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::clients;
use super::{ClientRow, Database, StorageError, run};

pub async fn insert_client(db: &Database, row: &ClientRow) -> Result<(), StorageError> {
    run!(db, |c| {
        diesel::insert_into(clients::table)
            .values(row)
            .execute(c)
            .await?;
        Ok(())
    })
}

pub async fn find_client(db: &Database, id: &str) -> Result<Option<ClientRow>, StorageError> {
    run!(db, |c| Ok(clients::table
        .find(id)
        .select(ClientRow::as_select())
        .first(c)
        .await
        .optional()?))
}

pub async fn list_clients(db: &Database) -> Result<Vec<ClientRow>, StorageError> {
    run!(db, |c| Ok(clients::table
        .select(ClientRow::as_select())
        .order(clients::created_at)
        .load(c)
        .await?))
}

pub async fn delete_client(db: &Database, id: &str) -> Result<bool, StorageError> {
    run!(db, |c| Ok(diesel::delete(clients::table.find(id))
        .execute(c)
        .await?
        > 0))
}
