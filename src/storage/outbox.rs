//! The email outbox: rows written with the change that causes them, claimed and sent by the
//! delivery worker of any instance, retried until they go out or their links expire.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::outbox;
use super::{Database, OutboxRow, StorageError, run, run_read};

pub async fn enqueue(db: &Database, row: &OutboxRow) -> Result<(), StorageError> {
    run!(db, |c| {
        diesel::insert_into(outbox::table)
            .values(row)
            .execute(c)
            .await?;
        Ok(())
    })
}

/// Claims up to `limit` due emails for `lease`, oldest first. Each claim is one conditional
/// write, so of two instances only one gets a row.
pub async fn claim_due(
    db: &Database,
    now: NaiveDateTime,
    lease: Duration,
    limit: i64,
) -> Result<Vec<OutboxRow>, StorageError> {
    run!(db, |c| {
        let due: Vec<OutboxRow> = outbox::table
            .filter(outbox::failed_at.is_null())
            .filter(outbox::next_attempt_at.le(now))
            .filter(
                outbox::claimed_until
                    .is_null()
                    .or(outbox::claimed_until.lt(now)),
            )
            .order((outbox::created_at, outbox::id))
            .limit(limit)
            .select(OutboxRow::as_select())
            .load(c)
            .await?;
        let mut claimed = Vec::with_capacity(due.len());
        for row in due {
            let won = diesel::update(
                outbox::table.find(&row.id).filter(
                    outbox::claimed_until
                        .is_null()
                        .or(outbox::claimed_until.lt(now)),
                ),
            )
            .set(outbox::claimed_until.eq(now + lease))
            .execute(c)
            .await?;
            if won == 1 {
                claimed.push(row);
            }
        }
        Ok(claimed)
    })
}

/// Sent: the row, and the link it held, are gone.
pub async fn delete(db: &Database, id: &str) -> Result<(), StorageError> {
    run!(db, |c| {
        diesel::delete(outbox::table.find(id)).execute(c).await?;
        Ok(())
    })
}

/// Not sent this time: try again at `next`.
pub async fn retry_later(
    db: &Database,
    id: &str,
    next: NaiveDateTime,
    error: &str,
) -> Result<(), StorageError> {
    run!(db, |c| {
        diesel::update(outbox::table.find(id))
            .set((
                outbox::attempts.eq(outbox::attempts + 1),
                outbox::next_attempt_at.eq(next),
                outbox::claimed_until.eq(None::<NaiveDateTime>),
                outbox::last_error.eq(error),
            ))
            .execute(c)
            .await?;
        Ok(())
    })
}

/// Given up on: the row stays (its message sealed, as queued), for `authd mail list` and
/// `authd mail retry`, until `purge_failed`.
pub async fn mark_failed(
    db: &Database,
    id: &str,
    now: NaiveDateTime,
    error: &str,
) -> Result<(), StorageError> {
    run!(db, |c| {
        diesel::update(outbox::table.find(id))
            .set((
                outbox::attempts.eq(outbox::attempts + 1),
                outbox::failed_at.eq(now),
                outbox::claimed_until.eq(None::<NaiveDateTime>),
                outbox::last_error.eq(error),
            ))
            .execute(c)
            .await?;
        Ok(())
    })
}

/// Which emails `authd mail retry` sends again.
pub enum Retry<'a> {
    One(&'a str),
    EveryFailed,
}

/// Sends failed emails again (as new: their 24 hours to go out start now, back-off from the
/// start). Returns how many.
pub async fn retry(
    db: &Database,
    which: Retry<'_>,
    now: NaiveDateTime,
) -> Result<usize, StorageError> {
    run!(db, |c| {
        let changes = (
            outbox::failed_at.eq(None::<NaiveDateTime>),
            outbox::claimed_until.eq(None::<NaiveDateTime>),
            outbox::next_attempt_at.eq(now),
            outbox::created_at.eq(now),
            outbox::attempts.eq(0),
        );
        let failed = outbox::table.filter(outbox::failed_at.is_not_null());
        let n = match which {
            Retry::One(id) => {
                diesel::update(failed.filter(outbox::id.eq(id)))
                    .set(changes)
                    .execute(c)
                    .await?
            }
            Retry::EveryFailed => diesel::update(failed).set(changes).execute(c).await?,
        };
        Ok(n)
    })
}

/// Every email not yet sent: waiting (oldest first), then failed.
pub async fn list(db: &Database) -> Result<Vec<OutboxRow>, StorageError> {
    run_read!(db, |c| Ok(outbox::table
        .order((outbox::failed_at.is_not_null(), outbox::created_at))
        .select(OutboxRow::as_select())
        .load(c)
        .await?))
}

/// Forgets failed emails older than `before`.
pub async fn purge_failed(db: &Database, before: NaiveDateTime) -> Result<usize, StorageError> {
    run!(db, |c| Ok(diesel::delete(
        outbox::table
            .filter(outbox::failed_at.is_not_null())
            .filter(outbox::failed_at.lt(before)),
    )
    .execute(c)
    .await?))
}
