//! Persistence on diesel-async. One schema serves PostgreSQL and SQLite; the backend is picked
//! at run time from `DATABASE_URL`, and each query is written once and compiled for both
//! through the [`run!`] macro.

/// Inside a transaction on `$c`: every unused reset link of user `$user` stops working, and so
/// does a pending email change. Events that prove or replace the password, or end the user's
/// sessions, call it, so that a link mailed before them (perhaps to an address no longer the
/// user's, or started from a stolen session) cannot act afterwards.
macro_rules! end_reset_links {
    ($c:ident, $user:expr) => {{
        use super::one_time_tokens::{PURPOSE_CHANGE_EMAIL, PURPOSE_RESET_PASSWORD};
        use super::schema::{one_time_tokens as ott, users as u};
        diesel::delete(
            ott::table
                .filter(ott::subject.eq($user))
                .filter(ott::purpose.eq_any([PURPOSE_RESET_PASSWORD, PURPOSE_CHANGE_EMAIL]))
                .filter(ott::consumed_at.is_null()),
        )
        .execute($c)
        .await?;
        diesel::update(u::table.find($user))
            .set(u::pending_email.eq(None::<String>))
            .execute($c)
            .await?;
    }};
}

/// Inside a transaction on `$c`: ends every live session of user `$user` except the one named
/// `$keep` ("" for none), their sign-ins but the kept session's (a cookie left in some browser
/// must not mint new codes) and, through `end_reset_links!`, their unused links. Evaluates to
/// how many sessions ended.
macro_rules! end_user_sessions {
    ($c:ident, $user:expr, $keep:expr, $now:expr) => {{
        use super::schema::{sessions as ss, sign_ins as si};
        let kept: Vec<String> = ss::table
            .find($keep)
            .select(ss::sign_in_id)
            .load($c)
            .await?;
        diesel::update(
            si::table
                .filter(si::user_id.eq($user))
                .filter(si::id.ne_all(kept))
                .filter(si::ended_at.is_null()),
        )
        .set((si::ended_at.eq($now), si::token_hash.eq(None::<String>)))
        .execute($c)
        .await?;
        let ended = diesel::update(
            ss::table
                .filter(ss::user_id.eq($user))
                .filter(ss::id.ne($keep))
                .filter(ss::revoked_at.is_null()),
        )
        .set(ss::revoked_at.eq($now))
        .execute($c)
        .await?;
        end_reset_links!($c, $user);
        ended
    }};
}

pub mod audit;
pub mod client_cache;
pub mod clients;
pub mod codes;
pub mod consents;
pub mod dpop;
mod error;
pub mod factors;
pub mod identities;
pub mod instance;
pub mod logout_notices;
pub mod maintenance;
pub mod one_time_tokens;
pub mod outbox;
pub mod rate_limits;
pub mod registrations;
pub mod resources;
pub mod revocations;
mod rows;
pub mod schema;
pub mod sessions;
pub mod sign_ins;
pub mod signing_keys;
pub mod users;

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use diesel::SqliteConnection;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{
    AsyncConnection, AsyncMigrationHarness, AsyncPgConnection, SimpleAsyncConnection,
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use futures_util::FutureExt;

pub use error::StorageError;
pub use rows::*;

pub type SqliteConn = SyncConnectionWrapper<SqliteConnection, SqliteCalls>;

/// Where SQLite's calls run: on the calling thread, unless the work is [`offloaded`]. A call
/// (one statement on small indexed tables) takes microseconds, and handing each to a blocking
/// thread and back cost more than the statement: a third of the server's CPU was futex
/// wake-ups, and a refresh rotation (six calls) ran at two thirds of the speed. What can hold a
/// worker longer: a write waiting for a lock another process holds (a CLI command's short
/// transaction; up to `busy_timeout`, then a 503), a commit that runs WAL's automatic
/// checkpoint (copying pages into the database file), and the admin lists (paginated users,
/// the clients and outbox lists read whole). Readers never wait for the writer in WAL mode. The
/// runtime keeps at least two workers so that one held worker is not the whole server, though a
/// task woken on it may wait with it.
#[derive(Default)]
pub struct SqliteCalls;

tokio::task_local! {
    static OFFLOADED: ();
}

/// Runs `work` with its SQLite calls on blocking threads: for bulk work (the hourly purges)
/// that may take longer than a request should wait for a worker thread.
pub async fn offloaded<F: Future>(work: F) -> F::Output {
    OFFLOADED.scope((), work).await
}

impl diesel_async::sync_connection_wrapper::SpawnBlocking for SqliteCalls {
    fn spawn_blocking<'a, R>(
        &mut self,
        task: impl FnOnce() -> R + Send + 'static,
    ) -> futures_util::future::BoxFuture<
        'a,
        Result<R, Box<dyn std::error::Error + Send + Sync + 'static>>,
    >
    where
        R: Send + 'static,
    {
        if OFFLOADED.try_with(|_| ()).is_ok() {
            let handle = tokio::task::spawn_blocking(task);
            Box::pin(async move { handle.await.map_err(|e| e.into()) })
        } else {
            Box::pin(std::future::ready(Ok(task())))
        }
    }

    fn get_runtime() -> Self {
        SqliteCalls
    }
}

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Arbitrary constant: the PostgreSQL advisory lock that keeps two instances from migrating at once.
const MIGRATION_LOCK: i64 = 0x0061_7574_6864;

/// The writer does not wait inside SQLite for a lock another process holds: that would hold a
/// runtime worker for the whole wait. `begin_writing` waits between short tries instead. Only
/// while the connection is set up (once per writer connection) may it wait longer: switching
/// a new file to WAL needs the database to itself for a moment, and a CLI command starting
/// beside another one on a new database saw "database is locked" at once without it.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 20;";
/// Readers never write (`query_only`), so they never take the write lock.
const SQLITE_READER_PRAGMAS: &str = "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
     PRAGMA query_only = ON;";

/// A pool for whichever backend `DATABASE_URL` names, and the count of audit events it has
/// committed (for `/metrics`).
#[derive(Clone)]
pub struct Database {
    pools: Pools,
    audited: std::sync::Arc<audit::Committed>,
    /// The client rows read, while their changes are heard (see `client_cache`).
    clients: std::sync::Arc<client_cache::ClientCache>,
}

#[derive(Clone)]
enum Pools {
    Postgres(PgPool),
    Sqlite(SqlitePools),
}

/// SQLite has one writer and, in WAL mode, any number of readers that never wait for it: one
/// connection takes every write (queueing them instead of failing with "database is locked"),
/// and a few read-only ones answer the hot lookups ([`run_read!`]) meanwhile.
#[derive(Clone)]
pub struct SqlitePools {
    writer: Pool<SqliteConn>,
    readers: Pool<SqliteConn>,
}

/// The PostgreSQL pool.
pub type PgPool = deadpool::managed::Pool<PgManager>;

/// How long after its last checkout a PostgreSQL connection is handed out again without a
/// test query first (HikariCP's `aliveBypassWindowMs` is 500 ms too).
const PING_AFTER: Duration = Duration::from_millis(500);

/// PostgreSQL connections for the pool, as diesel-async makes and checks them, except that a
/// connection checked out again within [`PING_AFTER`] of its last checkout is not sent a
/// `SELECT 1` first: under load that test was a round trip in every checkout (a login made
/// three, a refresh rotation two besides its own two). A connection idle longer is tested
/// as before. One that broke meanwhile (the server restarted) fails the request that gets it,
/// with a 503, and is dropped: diesel-async marks it broken.
pub struct PgManager(AsyncDieselConnectionManager<AsyncPgConnection>);

impl deadpool::managed::Manager for PgManager {
    type Type = AsyncPgConnection;
    type Error = diesel_async::pooled_connection::PoolError;

    async fn create(&self) -> Result<AsyncPgConnection, Self::Error> {
        self.0.create().await
    }

    async fn recycle(
        &self,
        conn: &mut AsyncPgConnection,
        metrics: &deadpool::managed::Metrics,
    ) -> deadpool::managed::RecycleResult<Self::Error> {
        use diesel_async::pooled_connection::PoolableConnection as _;
        if metrics.last_used() >= PING_AFTER || std::thread::panicking() || conn.is_broken() {
            return self.0.recycle(conn, metrics).await;
        }
        Ok(())
    }
}

/// A connection checked out of the pool. Short-lived and used in place, so the size
/// difference between the variants costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
pub enum Conn {
    Postgres(deadpool::managed::Object<PgManager>),
    Sqlite(Object<SqliteConn>),
}

/// Runs `$body` with `$c` bound to `&mut` the connection that `$conn` (a `Conn` future)
/// yields. The body is compiled once per backend, so one query text serves both.
#[macro_export]
#[doc(hidden)]
macro_rules! with_conn {
    ($conn:expr, |$c:ident| $body:expr) => {{
        match $conn.await? {
            $crate::storage::Conn::Postgres(mut pooled) => {
                let $c: &mut ::diesel_async::AsyncPgConnection = &mut pooled;
                $body
            }
            $crate::storage::Conn::Sqlite(mut pooled) => {
                let $c: &mut $crate::storage::SqliteConn = &mut pooled;
                $body
            }
        }
    }};
}

/// Runs `$body` on a connection that may write (on SQLite, the one writer, inside a
/// transaction that holds the write lock from its start: see [`begin_writing`]). The audit
/// events the body records count in `/metrics` once the work has committed.
#[macro_export]
#[doc(hidden)]
macro_rules! run {
    ($db:expr, |$c:ident| $body:expr) => {{
        let db: &$crate::storage::Database = &$db;
        let (done, recorded) = $crate::storage::audit::recording(async {
            match db.conn().await? {
                $crate::storage::Conn::Postgres(mut pooled) => {
                    let $c: &mut ::diesel_async::AsyncPgConnection = &mut pooled;
                    let done: Result<_, $crate::storage::StorageError> = async { $body }.await;
                    done
                }
                $crate::storage::Conn::Sqlite(mut pooled) => {
                    let $c: &mut $crate::storage::SqliteConn = &mut pooled;
                    $crate::storage::begin_writing($c).await?;
                    let done: Result<_, $crate::storage::StorageError> = async { $body }.await;
                    $crate::storage::end_writing($c, done).await
                }
            }
        })
        .await;
        if done.is_ok() {
            db.audited().add(recorded);
        }
        done
    }};
}
pub(crate) use run;

/// [`run!`] for a query that only reads, on a connection that cannot write: on SQLite it does
/// not queue behind the writer. Reads made after a write see it once it has committed.
#[macro_export]
#[doc(hidden)]
macro_rules! run_read {
    ($db:expr, |$c:ident| $body:expr) => {
        $crate::with_conn!($db.read_conn(), |$c| $body)
    };
}
pub(crate) use run_read;

/// Opens the SQLite writer's work with `BEGIN IMMEDIATE`, taking the write lock at once (in a
/// deferred transaction that has read, SQLite does not wait to upgrade to writing: it answers
/// "database is locked" at once). While another process holds the lock (a CLI command
/// writing), it tries again after short sleeps of its own, so the runtime worker serves other
/// requests meanwhile, for at most `SQLITE_LOCK_WAIT`; then the write is an outage (503). A
/// transaction the work opens nests as a savepoint.
pub async fn begin_writing(c: &mut SqliteConn) -> diesel::QueryResult<()> {
    use diesel::connection::AnsiTransactionManager;
    let deadline = tokio::time::Instant::now() + SQLITE_LOCK_WAIT;
    let mut pause = Duration::from_millis(5);
    loop {
        // A connection left inside a transaction never gets here: the pool discards it.
        let begun = c
            .spawn_blocking(|c| AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"))
            .await;
        match begun {
            Err(diesel::result::Error::DatabaseError(_, info))
                if info.message().contains("database is locked")
                    && tokio::time::Instant::now() + pause < deadline =>
            {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            other => return other,
        }
    }
}

/// Commits the writer's work, or rolls it back when it failed; the work's own error is the
/// answer even when the rollback fails too (that one is logged).
pub async fn end_writing<T: Send + 'static>(
    c: &mut SqliteConn,
    done: Result<T, StorageError>,
) -> Result<T, StorageError> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager as _};
    match done {
        Ok(value) => {
            c.spawn_blocking(AnsiTransactionManager::commit_transaction)
                .await?;
            Ok(value)
        }
        Err(e) => {
            if let Err(rollback) = c
                .spawn_blocking(AnsiTransactionManager::rollback_transaction)
                .await
            {
                tracing::warn!(error = %rollback, "rolling back the SQLite writer's work failed");
            }
            Err(e)
        }
    }
}

/// Where a `sqlite://` URL points.
pub fn sqlite_path(url: &str) -> Option<&str> {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
}

/// The SQLite file and its folder, made private before SQLite opens them.
fn prepare_sqlite_file(path: &str) -> anyhow::Result<()> {
    if path.is_empty() {
        anyhow::bail!("DATABASE_URL: sqlite:// needs a file path");
    }
    if let Some(parent) = Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        crate::files::private_dir(parent)
            .with_context(|| format!("creating the database folder {}", parent.display()))?;
    }
    // Created 0600 before SQLite opens it; its WAL and shared-memory files take the database
    // file's mode.
    if path != ":memory:" && !path.starts_with("file:") {
        crate::files::private_file(Path::new(path))
            .with_context(|| format!("creating the database file {path}"))?;
        // A file from before authd made it private: make it so now, if it may.
        if let Err(e) = crate::files::restrict(Path::new(path)) {
            tracing::warn!(error = %e, path, "could not make the database file 0600");
        }
    }
    Ok(())
}

/// How long one PostgreSQL statement may run, and wait for a lock, before the server cancels
/// it (an outage, answered 503): below the request timeout, so a table locked for a minute
/// gives prompt 503s rather than requests that hang until their own deadline.
#[derive(Clone, Copy, Debug)]
pub struct StatementLimits {
    pub statement: Duration,
    pub lock: Duration,
}

impl StatementLimits {
    /// For a server whose requests must be answered within `request_timeout`.
    pub fn within(request_timeout: Duration) -> Self {
        let statement = (request_timeout * 4 / 5).max(Duration::from_secs(1));
        Self {
            statement,
            lock: statement.min(Duration::from_secs(5)),
        }
    }
}

impl Default for StatementLimits {
    fn default() -> Self {
        Self::within(Duration::from_secs(30))
    }
}

/// How long SQLite's writer waits, all told, for a lock another process holds (a CLI
/// command's short transaction) before the write is answered 503.
const SQLITE_LOCK_WAIT: Duration = Duration::from_secs(5);

impl Database {
    fn new(pools: Pools, clients: client_cache::ClientCache) -> Self {
        Database {
            pools,
            audited: Default::default(),
            clients: std::sync::Arc::new(clients),
        }
    }

    /// The audit events this process has committed, by kind.
    pub fn audited(&self) -> &audit::Committed {
        &self.audited
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.pools, Pools::Postgres(_))
    }

    pub(crate) fn client_cache(&self) -> &std::sync::Arc<client_cache::ClientCache> {
        &self.clients
    }

    /// Whether client rows may be served from this instance's memory now (on PostgreSQL: its
    /// listener for their changes is connected; on SQLite: always, checked against the file), for
    /// tests.
    #[doc(hidden)]
    pub fn clients_cached(&self) -> bool {
        self.clients.is_live()
    }

    /// The PostgreSQL pool, for tests that reach under the storage layer.
    #[doc(hidden)]
    pub fn postgres_pool(&self) -> Option<&PgPool> {
        match &self.pools {
            Pools::Postgres(pool) => Some(pool),
            Pools::Sqlite(_) => None,
        }
    }

    /// Opens a pool with the default statement limits (see [`Database::connect_with`]).
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        Self::connect_with(url, StatementLimits::default()).await
    }

    /// Opens a pool. SQLite files and their folders are created on demand; each PostgreSQL
    /// connection is held to `limits`.
    pub async fn connect_with(url: &str, limits: StatementLimits) -> anyhow::Result<Self> {
        if let Some(path) = sqlite_path(url) {
            prepare_sqlite_file(path)?;
            let pool = |size: usize, pragmas: &'static str| {
                let mut config = ManagerConfig::<SqliteConn>::default();
                config.custom_setup = Box::new(move |path| {
                    async move {
                        let mut conn = SqliteConn::establish(path).await?;
                        conn.batch_execute(pragmas)
                            .await
                            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                        Ok(conn)
                    }
                    .boxed()
                });
                let manager = AsyncDieselConnectionManager::new_with_config(path, config);
                Pool::builder(manager)
                    .max_size(size)
                    .wait_timeout(Some(Duration::from_secs(10)))
                    .runtime(deadpool::Runtime::Tokio1)
                    .build()
                    .context("building the SQLite pool")
            };
            let db = Database::new(
                Pools::Sqlite(SqlitePools {
                    // One writer: contention becomes queueing, never SQLITE_BUSY mid-transaction.
                    writer: pool(1, SQLITE_PRAGMAS)?,
                    readers: pool(4, SQLITE_READER_PRAGMAS)?,
                }),
                client_cache::ClientCache::for_sqlite(path),
            );
            db.conn()
                .await
                .with_context(|| format!("opening the SQLite database {path}"))?;
            Ok(db)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let setup = format!(
                "SET statement_timeout = {}; SET lock_timeout = {};",
                limits.statement.as_millis(),
                limits.lock.as_millis()
            );
            let mut config = ManagerConfig::<AsyncPgConnection>::default();
            config.custom_setup = Box::new(move |url| {
                let setup = setup.clone();
                async move {
                    let mut conn = AsyncPgConnection::establish(url).await?;
                    conn.batch_execute(&setup)
                        .await
                        .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                    Ok(conn)
                }
                .boxed()
            });
            let manager =
                AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
            let pool = PgPool::builder(PgManager(manager))
                .max_size(16)
                .wait_timeout(Some(Duration::from_secs(10)))
                .create_timeout(Some(Duration::from_secs(10)))
                .runtime(deadpool::Runtime::Tokio1)
                .build()
                .context("building the PostgreSQL pool")?;
            let db = Database::new(Pools::Postgres(pool), Default::default());
            // Where, never with the password.
            let parsed = url::Url::parse(url).ok();
            let host = parsed
                .as_ref()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_else(|| "localhost".to_owned());
            let port = parsed.as_ref().and_then(url::Url::port).unwrap_or(5432);
            let at = parsed.as_ref().map_or_else(
                || "the DATABASE_URL given".to_owned(),
                |u| format!("{host}:{port}{}", u.path()),
            );
            if let Err(e) = db.conn().await {
                // The driver's "error connecting to server" drops its cause: a plain
                // connection to the same address tells it ("Connection refused").
                let reach = tokio::time::timeout(
                    Duration::from_secs(3),
                    tokio::net::TcpStream::connect((host.as_str(), port)),
                )
                .await;
                return Err(match reach {
                    Ok(Err(io)) => anyhow::anyhow!("connecting to PostgreSQL at {at}: {io}"),
                    Err(_) => {
                        anyhow::anyhow!("connecting to PostgreSQL at {at}: no answer within 3 s")
                    }
                    Ok(Ok(_)) => {
                        anyhow::Error::new(e).context(format!("connecting to PostgreSQL at {at}"))
                    }
                });
            }
            Ok(db)
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite:// or postgres://")
        }
    }

    /// A connection that may write (on SQLite, the one writer).
    pub async fn conn(&self) -> Result<Conn, StorageError> {
        self.checkout(false).await
    }

    /// A connection for reading only (see [`run_read!`]).
    pub async fn read_conn(&self) -> Result<Conn, StorageError> {
        self.checkout(true).await
    }

    async fn checkout(&self, read_only: bool) -> Result<Conn, StorageError> {
        let conn = match &self.pools {
            Pools::Postgres(pool) => pool.get().await.map(Conn::Postgres),
            Pools::Sqlite(pools) if read_only => pools.readers.get().await.map(Conn::Sqlite),
            Pools::Sqlite(pools) => pools.writer.get().await.map(Conn::Sqlite),
        };
        conn.map_err(|e| StorageError::Unavailable(anyhow::anyhow!("database pool: {e}")))
    }

    pub fn backend_name(&self) -> &'static str {
        match self.pools {
            Pools::Postgres(_) => "postgres",
            Pools::Sqlite(_) => "sqlite",
        }
    }

    /// Applies pending migrations. Needs the multi-threaded runtime (diesel's migration
    /// harness is synchronous and runs in `block_in_place`).
    pub async fn migrate(&self) -> anyhow::Result<usize> {
        match self.conn().await? {
            Conn::Postgres(mut conn) => {
                diesel_async::RunQueryDsl::execute(
                    diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})")),
                    &mut *conn,
                )
                .await?;
                // A migration may rewrite a large table: no statement limit on its connection
                // (taken out of the pool for good).
                conn.batch_execute("SET statement_timeout = 0; SET lock_timeout = 0;")
                    .await?;
                let conn = deadpool::managed::Object::take(conn);
                let mut harness = AsyncMigrationHarness::new(conn);
                let applied = harness
                    .run_pending_migrations(PG_MIGRATIONS)
                    .map(|v| v.len())
                    .map_err(|e| anyhow::anyhow!("migrating PostgreSQL: {e}"));
                let mut conn = harness.into_inner();
                diesel_async::RunQueryDsl::execute(
                    diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})")),
                    &mut conn,
                )
                .await?;
                applied
            }
            Conn::Sqlite(conn) => {
                let conn = Object::take(conn);
                let mut harness = AsyncMigrationHarness::new(conn);
                let applied = harness
                    .run_pending_migrations(SQLITE_MIGRATIONS)
                    .map(|v| v.len())
                    .map_err(|e| anyhow::anyhow!("migrating SQLite: {e}"));
                // The connection was taken out of the pool; let the pool open a fresh one.
                drop(harness.into_inner());
                applied
            }
        }
    }

    /// Whether the database takes a small write within 2 s: a frozen server, a read-only one
    /// (a standby after a failover) and a full disk all count as down, so `/readyz` sends a
    /// load balancer elsewhere while they last.
    pub async fn ping(&self) -> bool {
        tokio::time::timeout(Duration::from_secs(2), instance::stamp_ready(self))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

#[cfg(test)]
mod tests {
    use diesel_async::sync_connection_wrapper::SpawnBlocking;

    use super::*;

    #[tokio::test]
    async fn sqlite_calls_run_here_unless_offloaded() {
        let here = std::thread::current().id();
        let ran_on = || SqliteCalls.spawn_blocking(|| std::thread::current().id());
        assert_eq!(ran_on().await.unwrap(), here);
        let offloaded_on = offloaded(async { ran_on().await.unwrap() }).await;
        assert_ne!(offloaded_on, here);
    }
}
