//! Fixed-window counters in the database, so that every instance counts against one limit.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};

use super::audit::{AuditEventRow, record};
use super::schema::rate_limits;
use super::{Database, StorageError, run};

/// Counts one hit on `bucket`. Returns `None` while within `limit` hits per `window`, or the
/// time until the window resets once over it. The first refusal of a window records
/// `refused` (a sample: one event per bucket and window, however many follow).
pub async fn hit(
    db: &Database,
    bucket: &str,
    limit: i32,
    window: Duration,
    now: NaiveDateTime,
    refused: &AuditEventRow,
) -> Result<Option<Duration>, StorageError> {
    Ok(count(db, bucket, limit, window, now, refused).await?.wait)
}

/// A hit as counted: how many the window holds now, and the wait once over the limit.
pub struct Counted {
    pub hits: i32,
    pub wait: Option<Duration>,
}

/// [`hit`], also telling how many hits the window holds with this one.
pub async fn count(
    db: &Database,
    bucket: &str,
    limit: i32,
    window: Duration,
    now: NaiveDateTime,
    refused: &AuditEventRow,
) -> Result<Counted, StorageError> {
    let window_open_since = now - window;
    run!(db, |c| c
        .transaction(async |c| {
            diesel::insert_into(rate_limits::table)
                .values((
                    rate_limits::bucket.eq(bucket),
                    rate_limits::window_start.eq(now),
                    rate_limits::hits.eq(0),
                ))
                .on_conflict_do_nothing()
                .execute(c)
                .await?;
            // Either count into the open window or start a new one; the row lock orders
            // concurrent callers.
            let counted = diesel::update(
                rate_limits::table
                    .find(bucket)
                    .filter(rate_limits::window_start.gt(window_open_since)),
            )
            .set(rate_limits::hits.eq(rate_limits::hits + 1))
            .execute(c)
            .await?;
            if counted == 0 {
                diesel::update(rate_limits::table.find(bucket))
                    .set((rate_limits::window_start.eq(now), rate_limits::hits.eq(1)))
                    .execute(c)
                    .await?;
            }
            let (start, hits): (NaiveDateTime, i32) = rate_limits::table
                .find(bucket)
                .select((rate_limits::window_start, rate_limits::hits))
                .first(c)
                .await?;
            if hits == limit.saturating_add(1) {
                record!(c, [refused]);
            }
            Ok::<_, StorageError>(Counted {
                hits,
                wait: (hits > limit).then(|| (start + window - now).max(Duration::seconds(1))),
            })
        })
        .await)
}

/// Takes one hit back (an attempt counted up front that turned out fine).
pub async fn refund(db: &Database, bucket: &str) -> Result<(), StorageError> {
    run!(db, |c| {
        diesel::update(
            rate_limits::table
                .find(bucket)
                .filter(rate_limits::hits.gt(0)),
        )
        .set(rate_limits::hits.eq(rate_limits::hits - 1))
        .execute(c)
        .await?;
        Ok(())
    })
}

/// A client address as rate limits count it: an IPv6 address by its /64, which one holder
/// usually has whole.
pub fn client_key(ip: &str) -> String {
    match ip.parse::<std::net::Ipv6Addr>() {
        Ok(v6) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        _ => ip.to_owned(),
    }
}

/// Forgets `bucket`'s count.
pub async fn clear(db: &Database, bucket: &str) -> Result<(), StorageError> {
    run!(db, |c| {
        diesel::delete(rate_limits::table.find(bucket))
            .execute(c)
            .await?;
        Ok(())
    })
}

/// The stored name of a counter: hashed, so the table holds no addresses or account names.
pub fn bucket(scope: &str, key: &str) -> String {
    use sha2::{Digest as _, Sha256};
    let digest = Sha256::digest(format!("{scope}\0{key}").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Forgets windows that closed long ago.
pub async fn purge_closed_windows(
    db: &Database,
    before: NaiveDateTime,
) -> Result<usize, StorageError> {
    run!(db, |c| Ok(diesel::delete(
        rate_limits::table.filter(rate_limits::window_start.lt(before))
    )
    .execute(c)
    .await?))
}
