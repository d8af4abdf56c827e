//! The audit trail: events written inside the transaction of the change they describe (the
//! [`record!`] macro, for a `run!` body), read back by filter, newest first, and purged after
//! the retention.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::audit_events;
use super::{Database, StorageError, run, run_read};
use crate::domain::{Actor, AuditKind};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct AuditEventRow {
    pub id: String,
    pub at: NaiveDateTime,
    pub kind: String,
    pub actor: String,
    pub actor_id: Option<String>,
    /// The account the event concerns.
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub session_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// `success` or `failure`.
    pub outcome: String,
    /// A small JSON object (reasons, methods, field names): never a secret.
    pub detail: Option<String>,
}

impl AuditEventRow {
    /// An event of `kind` at `at`, acted by the person it concerns unless said otherwise.
    pub fn new(kind: AuditKind, at: NaiveDateTime) -> Self {
        AuditEventRow {
            id: uuid::Uuid::new_v4().to_string(),
            at,
            kind: kind.as_str().to_owned(),
            actor: Actor::User.as_str().to_owned(),
            actor_id: None,
            user_id: None,
            client_id: None,
            session_id: None,
            ip: None,
            user_agent: None,
            outcome: "success".to_owned(),
            detail: None,
        }
    }

    /// The account the event concerns (also the actor, for [`Actor::User`]).
    pub fn user(mut self, id: &str) -> Self {
        self.user_id = Some(id.to_owned());
        if self.actor == Actor::User.as_str() {
            self.actor_id = Some(id.to_owned());
        }
        self
    }

    pub fn by(mut self, actor: Actor, id: Option<&str>) -> Self {
        self.actor = actor.as_str().to_owned();
        self.actor_id = id.map(str::to_owned);
        self
    }

    pub fn client(mut self, id: &str) -> Self {
        self.client_id = Some(id.to_owned());
        self
    }

    pub fn session(mut self, id: &str) -> Self {
        self.session_id = Some(id.to_owned());
        self
    }

    /// Where the request came from (user agents cut to 256 characters).
    pub fn from(mut self, ip: Option<&str>, user_agent: Option<&str>) -> Self {
        self.ip = ip.map(str::to_owned);
        self.user_agent = user_agent.map(|ua| ua.chars().take(256).collect());
        self
    }

    pub fn failed(mut self) -> Self {
        self.outcome = "failure".to_owned();
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail.to_string());
        self
    }
}

/// Inside a `run!` body on `$c`: writes the events `$events` (an iterator of `&AuditEventRow`).
macro_rules! record {
    ($c:ident, $events:expr) => {{
        for event in $events {
            let event: &$crate::storage::audit::AuditEventRow = event;
            if !$crate::storage::audit::OFF {
                diesel::insert_into($crate::storage::schema::audit_events::table)
                    .values(event)
                    .execute($c)
                    .await?;
                $crate::storage::audit::recorded(&event.kind);
            }
        }
    }};
}
pub(crate) use record;

/// Whether this is the benchmark's build without the trail (feature `bench-audit-off`).
#[doc(hidden)]
pub const OFF: bool = cfg!(feature = "bench-audit-off");

tokio::task_local! {
    /// The kinds of the events written by the `run!` body now running.
    static RECORDED: RefCell<Vec<String>>;
}

/// Runs `work` (a `run!` body with its commit) and gives back, with its outcome, the kinds of
/// the events it recorded: they count only once `run!` sees the work committed.
#[doc(hidden)]
pub async fn recording<F: Future>(work: F) -> (F::Output, Vec<String>) {
    RECORDED
        .scope(RefCell::new(Vec::new()), async {
            let out = work.await;
            (out, RECORDED.with(RefCell::take))
        })
        .await
}

#[doc(hidden)]
pub fn recorded(kind: &str) {
    let _ = RECORDED.try_with(|r| r.borrow_mut().push(kind.to_owned()));
}

/// Events committed by this process, per kind: `authd_audit_events_total` in `/metrics`.
/// Counted after the commit, so a change rolled back counts nothing.
#[derive(Default)]
pub struct Committed {
    per_kind: Mutex<BTreeMap<String, u64>>,
}

impl Committed {
    pub fn add(&self, kinds: Vec<String>) {
        if kinds.is_empty() {
            return;
        }
        let mut counts = self.per_kind.lock().expect("audit counts lock");
        for kind in kinds {
            *counts.entry(kind).or_default() += 1;
        }
    }

    /// How many events of `kind` committed so far.
    pub fn count(&self, kind: AuditKind) -> u64 {
        let counts = self.per_kind.lock().expect("audit counts lock");
        counts.get(kind.as_str()).copied().unwrap_or(0)
    }

    /// The counters in the Prometheus text format, every kind listed (at 0 until it happens).
    pub fn render(&self) -> String {
        let counts = self.per_kind.lock().expect("audit counts lock");
        let mut out = String::from(
            "# HELP authd_audit_events_total Audit events committed by this instance, by kind.\n\
             # TYPE authd_audit_events_total counter\n",
        );
        for kind in AuditKind::ALL {
            let n = counts.get(kind.as_str()).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "authd_audit_events_total{{kind=\"{}\"}} {n}",
                kind.as_str()
            );
        }
        out
    }
}

/// Writes an event that goes with no other change (a failed sign-in).
pub async fn insert(db: &Database, event: &AuditEventRow) -> Result<(), StorageError> {
    run!(db, |c| {
        record!(c, [event]);
        Ok(())
    })
}

/// What to read back.
#[derive(Debug, Default)]
pub struct Filter {
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub kinds: Vec<String>,
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
    /// The last event of the previous page (its time and id): this page is older.
    pub before: Option<(NaiveDateTime, String)>,
    /// Oldest first (a follower reading what is new), instead of newest first.
    pub oldest_first: bool,
}

/// Up to `limit` events matching `filter`, newest first (or oldest first, when it says so).
pub async fn list(
    db: &Database,
    filter: &Filter,
    limit: i64,
) -> Result<Vec<AuditEventRow>, StorageError> {
    run_read!(db, |c| {
        let mut query = audit_events::table.into_boxed();
        if let Some(user) = &filter.user_id {
            query = query.filter(audit_events::user_id.eq(user.clone()));
        }
        if let Some(client) = &filter.client_id {
            query = query.filter(audit_events::client_id.eq(client.clone()));
        }
        if !filter.kinds.is_empty() {
            query = query.filter(audit_events::kind.eq_any(filter.kinds.clone()));
        }
        if let Some(since) = filter.since {
            query = query.filter(audit_events::at.ge(since));
        }
        if let Some(until) = filter.until {
            query = query.filter(audit_events::at.lt(until));
        }
        if let Some((at, id)) = &filter.before {
            query = query.filter(
                audit_events::at.lt(*at).or(audit_events::at
                    .eq(*at)
                    .and(audit_events::id.lt(id.clone()))),
            );
        }
        query = if filter.oldest_first {
            query.order((audit_events::at.asc(), audit_events::id.asc()))
        } else {
            query.order((audit_events::at.desc(), audit_events::id.desc()))
        };
        Ok(query
            .select(AuditEventRow::as_select())
            .limit(limit)
            .load(c)
            .await?)
    })
}

/// Deletes events older than `before`; how many.
pub async fn purge(db: &Database, before: NaiveDateTime) -> Result<usize, StorageError> {
    run!(db, |c| Ok(diesel::delete(
        audit_events::table.filter(audit_events::at.lt(before))
    )
    .execute(c)
    .await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An event counts in `/metrics` once its work commits; work rolled back counts nothing.
    #[tokio::test(flavor = "multi_thread")]
    async fn only_committed_events_count() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("audit.db").display());
        let db = Database::connect(&url).await.unwrap();
        db.migrate().await.unwrap();
        let now = chrono::Utc::now().naive_utc();
        let committed = AuditEventRow::new(AuditKind::KeyRotated, now);
        insert(&db, &committed).await.unwrap();
        assert_eq!(db.audited().count(AuditKind::KeyRotated), 1);

        let rolled_back = AuditEventRow::new(AuditKind::KeyRotated, now);
        let failed: Result<(), StorageError> = run!(db, |c| {
            record!(c, [&rolled_back]);
            Err(StorageError::Conflict("test"))
        });
        assert!(failed.is_err());
        assert_eq!(db.audited().count(AuditKind::KeyRotated), 1);
        let stored = list(&db, &Filter::default(), 10).await.unwrap();
        assert_eq!(
            stored.len(),
            1,
            "the second event rolled back with its work"
        );
        assert!(
            db.audited()
                .render()
                .contains("authd_audit_events_total{kind=\"key.rotated\"} 1\n")
        );
    }
}
