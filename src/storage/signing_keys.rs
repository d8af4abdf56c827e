//! The shared key set: every instance reads the signing keys from here (sealed under the
//! instance secret), so all of them sign with and publish the same keys. A rotation made by
//! any instance or by `authd keys` reaches the others at their next [`refresh`], at most
//! [`REFRESH_INTERVAL`] later.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};

use super::audit::{AuditEventRow, record};
use super::schema::signing_keys as sk;
use super::{Database, StorageError, run, run_read};
use crate::domain::{Actor, AuditKind};
use crate::tokens::{KeyLifecycle, KeyStore, SealedKey, SigningAlg, SigningKey};

/// How often each instance reads the key set again: the bound within which a rotation or a
/// retirement reaches every instance. `AUTHD_KEY_ACTIVATION_DELAY` must be longer.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(5);

/// Arbitrary constant: the PostgreSQL advisory lock held while the first key is made, so that
/// instances starting together on an empty database agree on one key.
const BOOTSTRAP_LOCK: i64 = 0x6b65_7973;

type Row = (
    String,
    Vec<u8>,
    NaiveDateTime,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

fn from_row((kid, sealed, created, activates, retired): Row) -> SealedKey {
    SealedKey {
        kid,
        sealed,
        lifecycle: KeyLifecycle {
            created_at: created.and_utc(),
            activates_at: activates.and_utc(),
            retired_at: retired.map(|r| r.and_utc()),
        },
    }
}

macro_rules! load_all {
    ($c:ident) => {
        sk::table
            .select((
                sk::kid,
                sk::sealed_key,
                sk::created_at,
                sk::activates_at,
                sk::retired_at,
            ))
            .load::<Row>($c)
            .await?
            .into_iter()
            .map(from_row)
            .collect::<Vec<_>>()
    };
}

macro_rules! insert_key {
    ($c:ident, $key:expr) => {{
        let key: &SealedKey = $key;
        diesel::insert_into(sk::table)
            .values((
                sk::kid.eq(&key.kid),
                sk::sealed_key.eq(&key.sealed),
                sk::created_at.eq(key.lifecycle.created_at.naive_utc()),
                sk::activates_at.eq(key.lifecycle.activates_at.naive_utc()),
                sk::retired_at.eq(key.lifecycle.retired_at.map(|r| r.naive_utc())),
            ))
            .on_conflict_do_nothing()
            .execute($c)
            .await?
    }};
}

pub async fn load(db: &Database) -> Result<Vec<SealedKey>, StorageError> {
    run_read!(db, |c| Ok(load_all!(c)))
}

/// Reads the key set again and installs it in `store`.
pub async fn refresh(db: &Database, store: &KeyStore) -> anyhow::Result<()> {
    let keys = load(db).await?;
    store.install(&keys)
}

/// At start-up: loads the key set and gives every algorithm a key that signs or will: the
/// keys of `legacy_dir` (a keys folder from an earlier authd) when the database has none,
/// then a new key for each algorithm that has none left unretired. New keys sign at once when
/// no key signs yet (a new database, or every key retired); beside keys that already sign
/// (an upgrade that brings a new algorithm) they wait `activation_delay`, so that verifiers
/// caching the JWKS learn them first. Instances starting together make one set between them
/// (an advisory lock on PostgreSQL; SQLite serves one instance).
pub async fn bootstrap(
    db: &Database,
    store: &KeyStore,
    legacy_dir: Option<&Path>,
    now: DateTime<Utc>,
    activation_delay: Duration,
) -> anyhow::Result<()> {
    let postgres = db.is_postgres();
    let added: Vec<String> = run!(db, |c| c
        .transaction(async |c| {
            if postgres {
                diesel::sql_query(format!("SELECT pg_advisory_xact_lock({BOOTSTRAP_LOCK})"))
                    .execute(c)
                    .await?;
            }
            let existing = load_all!(c);
            store.install(&existing)?;
            let mut new = Vec::new();
            if let Some(dir) = legacy_dir.filter(|d| existing.is_empty() && d.is_dir()) {
                for (pem, lifecycle) in crate::tokens::read_key_folder(dir)? {
                    new.push(
                        store
                            .seal_pem(&pem, lifecycle)
                            .with_context(|| format!("importing the keys of {}", dir.display()))?,
                    );
                }
            }
            let mut all = existing.clone();
            all.extend(new.iter().cloned());
            store.install(&all)?;
            // A key that signs, or will (a rotation's, pending), counts: never a second one of
            // this instance's own, which the others would not know yet.
            let delay = store.rotation_delay(now, activation_delay);
            let covered: Vec<SigningAlg> = store
                .all()
                .iter()
                .filter(|k| k.lifecycle.retired_at.is_none())
                .map(|k| k.alg)
                .collect();
            for alg in SigningAlg::ALL {
                if !covered.contains(&alg) {
                    new.push(generate(store, now, delay, alg).await?);
                }
            }
            for key in &new {
                insert_key!(c, key);
            }
            Ok::<_, StorageError>(new.into_iter().map(|k| k.kid).collect())
        })
        .await)?;
    if !added.is_empty() {
        tracing::info!(keys = ?added, "signing keys added to the database");
    }
    refresh(db, store).await
}

async fn generate(
    store: &KeyStore,
    now: DateTime<Utc>,
    delay: Duration,
    alg: SigningAlg,
) -> anyhow::Result<SealedKey> {
    // RSA generation takes tens of milliseconds of CPU: not on the async runtime's threads.
    tokio::task::block_in_place(|| store.generate(now, delay, alg))
}

/// `keys rotate`: a new key for each of `algs`, published at once, signing after
/// `activation_delay` (at once when no key signs).
pub async fn rotate(
    db: &Database,
    store: &KeyStore,
    now: DateTime<Utc>,
    activation_delay: Duration,
    algs: &[SigningAlg],
) -> anyhow::Result<Vec<std::sync::Arc<SigningKey>>> {
    refresh(db, store).await?;
    let delay = store.rotation_delay(now, activation_delay);
    let mut keys = Vec::new();
    for alg in algs {
        keys.push((*alg, generate(store, now, delay, *alg).await?));
    }
    run!(db, |c| {
        for (alg, key) in &keys {
            insert_key!(c, key);
            let rotated = AuditEventRow::new(AuditKind::KeyRotated, now.naive_utc())
                .by(Actor::Cli, None)
                .detail(serde_json::json!({ "kid": key.kid, "alg": alg.as_str() }));
            record!(c, [&rotated]);
        }
        Ok::<_, StorageError>(())
    })?;
    refresh(db, store).await?;
    let loaded = store.all();
    keys.iter()
        .map(|(_, key)| {
            loaded
                .iter()
                .find(|k| k.kid == key.kid)
                .cloned()
                .context("the new key did not load")
        })
        .collect()
}

/// `keys retire KID`: the key signs no more; it stays published until its tokens expire.
pub async fn retire(
    db: &Database,
    store: &KeyStore,
    kid: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    refresh(db, store).await?;
    store.check_retire(kid, now)?;
    run!(db, |c| {
        let n = diesel::update(sk::table.find(kid).filter(sk::retired_at.is_null()))
            .set(sk::retired_at.eq(now.naive_utc()))
            .execute(c)
            .await?;
        if n > 0 {
            let retired = AuditEventRow::new(AuditKind::KeyRetired, now.naive_utc())
                .by(Actor::Cli, None)
                .detail(serde_json::json!({ "kid": kid }));
            record!(c, [&retired]);
        }
        Ok::<_, StorageError>(())
    })?;
    refresh(db, store).await
}

/// `keys import DIR`: brings the PEM keys of an earlier authd's keys folder into the database,
/// each with its lifecycle. Returns the kids added (keys already there are skipped).
pub async fn import(db: &Database, store: &KeyStore, dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut sealed = Vec::new();
    for (pem, lifecycle) in crate::tokens::read_key_folder(dir)? {
        sealed.push(store.seal_pem(&pem, lifecycle)?);
    }
    let mut added = Vec::new();
    run!(db, |c| {
        for key in &sealed {
            if insert_key!(c, key) == 1 {
                added.push(key.kid.clone());
            }
        }
        Ok::<_, StorageError>(())
    })?;
    refresh(db, store).await?;
    Ok(added)
}
