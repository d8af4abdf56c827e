//! Facts every instance on one database must share, recorded by the first one to start.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::instance_settings as is;
use super::{Database, StorageError, run};

const ISSUER: &str = "issuer";

/// What [`claim_issuer`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum IssuerClaim {
    /// The database had none, or the same one.
    Agreed,
    /// The database names another issuer: tokens this instance signs would be refused by the
    /// others, and theirs by it.
    Differs { recorded: String },
}

/// Records `issuer` if the database has none, and compares otherwise.
pub async fn claim_issuer(db: &Database, issuer: &str) -> Result<IssuerClaim, StorageError> {
    run!(db, |c| {
        diesel::insert_into(is::table)
            .values((is::name.eq(ISSUER), is::value.eq(issuer)))
            .on_conflict_do_nothing()
            .execute(c)
            .await?;
        let recorded: String = is::table.find(ISSUER).select(is::value).first(c).await?;
        Ok(if recorded == issuer {
            IssuerClaim::Agreed
        } else {
            IssuerClaim::Differs { recorded }
        })
    })
}

/// Records `issuer` as the one every instance uses (an operator moved authd on purpose).
pub async fn set_issuer(db: &Database, issuer: &str) -> Result<(), StorageError> {
    run!(db, |c| {
        diesel::update(is::table.find(ISSUER))
            .set(is::value.eq(issuer))
            .execute(c)
            .await?;
        Ok(())
    })
}

/// A small write that proves the database takes writes now (see `Database::ping`).
pub async fn stamp_ready(db: &Database) -> Result<(), StorageError> {
    let stamp = chrono::Utc::now().to_rfc3339();
    run!(db, |c| {
        diesel::insert_into(is::table)
            .values((is::name.eq("ready"), is::value.eq(&stamp)))
            .on_conflict(is::name)
            .do_update()
            .set(is::value.eq(&stamp))
            .execute(c)
            .await?;
        Ok(())
    })
}

/// The database server's clock, for instances to agree on time (see `clock::Aligned`);
/// `None` for SQLite, which runs on this machine's clock and serves one instance.
pub async fn database_now(
    db: &Database,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, StorageError> {
    use diesel::sql_types::Timestamptz;
    match db.read_conn().await? {
        super::Conn::Sqlite(_) => Ok(None),
        super::Conn::Postgres(mut c) => Ok(Some(
            diesel::select(diesel::dsl::sql::<Timestamptz>("clock_timestamp()"))
                .get_result::<chrono::DateTime<chrono::Utc>>(&mut *c)
                .await?,
        )),
    }
}
