//! Each instance's memory of the client registry.
//!
//! Every token request reads its client's row. On PostgreSQL an instance keeps the rows it has
//! read for as long as it hears of their changes: a write to a client (from any instance or
//! the command line) sends `NOTIFY authd_clients` with its id in the write's transaction, and
//! each instance's listener drops that row when the commit is announced (milliseconds; the
//! instance that wrote drops it at once, so its own next request sees the change). While the listener is
//! not connected (starting, or its connection lost) nothing is served from memory, and on
//! connecting again memory starts empty: no notification can have been missed by a row that
//! is kept. A read that began before an announcement never fills the memory after it (the
//! generation counter).
//!
//! On SQLite (one instance) the rows another process writes (a command line's `authd clients
//! ...`) announce nothing, so before serving a row from memory the instance asks a connection
//! of its own for SQLite's `PRAGMA data_version`, which moves whenever any other connection has
//! committed to the file: when it has moved, memory starts over. The instance's own writes
//! move it too (its writer is another connection), so memory only outlives stretches without
//! writes. The check is a read transaction (file locks, a statement) and cost a token request
//! as much as reading the row, so it is made at most once per [`FILE_CHECK_EVERY`]: another
//! process's change is served from memory for at most that long after its commit, as other
//! PostgreSQL instances hear of a change milliseconds after it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use super::{ClientRow, Database};

/// The client rows an instance has read, kept while their changes are heard.
#[derive(Default)]
pub struct ClientCache {
    rows: RwLock<HashMap<String, ClientRow>>,
    /// Moved on by every announced change and by every (re)connection of the listener.
    generation: AtomicU64,
    /// The listener is connected and listening (on SQLite: always).
    live: AtomicBool,
    /// On SQLite: what tells of commits to the file by other connections.
    file: Option<FileVersion>,
}

/// SQLite's count of commits by other connections, as one connection of our own sees it.
struct FileVersion {
    path: String,
    /// Opened on first use (read-only); dropped after an error, to be opened again.
    conn: Mutex<Option<diesel::SqliteConnection>>,
    seen: Mutex<Seen>,
}

/// The file's last check.
#[derive(Default)]
struct Seen {
    /// The `data_version` the kept rows were read under.
    version: Option<i64>,
    /// When it was asked (`None`: never, or it could not be told).
    at: Option<Instant>,
}

/// How long a check of the SQLite file holds (see the module's comment).
pub const FILE_CHECK_EVERY: Duration = Duration::from_millis(1);

// SQLite's `PRAGMA data_version` as the table-valued function it also is: diesel keeps this
// statement prepared (a `sql_query` it prepares on every call), though SQLite still prepares
// the pragma inside it on each step; the check's cost is why it is made at most once a
// millisecond.
diesel::table! {
    pragma_data_version (data_version) {
        data_version -> BigInt,
    }
}

impl FileVersion {
    /// The file's `data_version` now, or `None` when it cannot be read.
    fn now(&self) -> Option<i64> {
        use diesel::connection::SimpleConnection as _;
        use diesel::{Connection as _, QueryDsl as _, RunQueryDsl as _};
        let mut conn = self.conn.lock().ok()?;
        if conn.is_none() {
            let mut opened = diesel::SqliteConnection::establish(&self.path).ok()?;
            opened.batch_execute(super::SQLITE_READER_PRAGMAS).ok()?;
            *conn = Some(opened);
        }
        let read = pragma_data_version::table
            .select(pragma_data_version::data_version)
            .get_result::<i64>(conn.as_mut()?);
        if read.is_err() {
            *conn = None;
        }
        read.ok()
    }
}

/// Rows kept at most (a registry is small; past this the memory starts over).
const CACHE_MAX: usize = 10_000;
/// The channel of client changes.
pub(super) const CHANNEL: &str = "authd_clients";

impl ClientCache {
    /// A memory for the SQLite file at `path`, checked against the file's commits.
    pub(super) fn for_sqlite(path: &str) -> Self {
        ClientCache {
            live: AtomicBool::new(true),
            file: Some(FileVersion {
                path: path.to_owned(),
                conn: Mutex::new(None),
                seen: Mutex::default(),
            }),
            ..Default::default()
        }
    }

    /// On SQLite, forgets every row when another connection has committed to the file since
    /// they were read (or when that cannot be told), unless the file was checked within
    /// [`FILE_CHECK_EVERY`]; call before [`ClientCache::generation`].
    pub(super) fn check_file(&self) {
        let Some(file) = &self.file else { return };
        let asked = Instant::now();
        if let Ok(seen) = file.seen.lock()
            && seen
                .at
                .is_some_and(|at| asked.saturating_duration_since(at) < FILE_CHECK_EVERY)
        {
            return;
        }
        let now = file.now();
        let Ok(mut seen) = file.seen.lock() else {
            return;
        };
        seen.at = now.is_some().then_some(asked);
        if now.is_none() || seen.version != now {
            seen.version = now;
            if let Ok(mut rows) = self.rows.write() {
                self.generation.fetch_add(1, Ordering::AcqRel);
                rows.clear();
            }
        }
    }

    /// The generation now: give it to [`ClientCache::fill`] with what is read after.
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    pub(super) fn get(&self, id: &str) -> Option<ClientRow> {
        if !self.is_live() {
            return None;
        }
        self.rows.read().ok()?.get(id).cloned()
    }

    /// Keeps `row`, read when the generation was `generation`, unless anything changed since.
    pub(super) fn fill(&self, generation: u64, row: &ClientRow) {
        let Ok(mut rows) = self.rows.write() else {
            return;
        };
        if self.is_live() && self.generation.load(Ordering::Acquire) == generation {
            if rows.len() >= CACHE_MAX {
                rows.clear();
            }
            rows.insert(row.id.clone(), row.clone());
        }
    }

    /// A client changed: forget it, and keep reads begun before from filling it in again.
    pub(super) fn changed(&self, id: &str) {
        if let Ok(mut rows) = self.rows.write() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            rows.remove(id);
        }
    }

    /// The listener connected (`live`) or lost its connection: start over, empty.
    fn set_live(&self, live: bool) {
        match self.rows.write() {
            Ok(mut rows) => {
                self.generation.fetch_add(1, Ordering::AcqRel);
                rows.clear();
                self.live.store(live, Ordering::Release);
            }
            Err(_) => self.live.store(false, Ordering::Release),
        }
    }
}

/// An instance's listener for client changes (PostgreSQL only), until `stop`: connects,
/// listens, and only then serves rows from memory; on losing its connection it stops serving
/// them and connects again.
pub async fn keep_cache(db: Database, url: String, mut stop: tokio::sync::watch::Receiver<bool>) {
    if !db.is_postgres() {
        return;
    }
    let cache = db.client_cache().clone();
    loop {
        tokio::select! {
            ended = listen(&url, &cache) => {
                if let Err(e) = ended {
                    tracing::warn!(error = %e, "the listener for client changes lost its connection");
                }
            }
            _ = stop.changed() => {
                cache.set_live(false);
                return;
            }
        }
        cache.set_live(false);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One connection of the listener: returns when it ends.
async fn listen(url: &str, cache: &Arc<ClientCache>) -> Result<(), tokio_postgres::Error> {
    let mut config: tokio_postgres::Config = url.parse()?;
    config
        .application_name("authd-client-changes")
        .connect_timeout(Duration::from_secs(10));
    let (client, mut connection) = config.connect(tokio_postgres::NoTls).await?;
    // The connection is driven here, its notifications handed over as they come.
    let (heard, mut hearing) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            match message {
                Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                    if heard.send(Some(n.payload().to_owned())).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "the listener for client changes failed");
                    break;
                }
            }
        }
        let _ = heard.send(None);
    });
    let listening = client.batch_execute(&format!("LISTEN {CHANNEL}")).await;
    if let Err(e) = listening {
        driver.abort();
        return Err(e);
    }
    cache.set_live(true);
    while let Some(Some(id)) = hearing.recv().await {
        cache.changed(&id);
    }
    driver.abort();
    Ok(())
}
