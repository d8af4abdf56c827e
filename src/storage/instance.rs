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
