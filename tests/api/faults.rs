//! Faults of the database under load, on a PostgreSQL server the test starts for itself (the
//! shared one is never stopped): while it is away every request gets a clean 503 within the
//! request timeout, never a 500 and never a hang, and once it is back authd serves again
//! without a restart. A frozen server (SIGSTOP) is the same, bounded by the request timeout.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Backend, s, spawn_app_with};

/// A PostgreSQL server of the test's own, in a temp folder, on a free port.
struct OwnPostgres {
    bin: PathBuf,
    data: tempfile::TempDir,
    port: u16,
}

impl OwnPostgres {
    /// `None` when this machine has no PostgreSQL server binaries.
    fn start() -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .find(|b| b.join("initdb").exists())?;
        let data = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = Self { bin, data, port };
        // PostgreSQL refuses to run as root: then the folder is handed to `postgres`.
        if as_root() {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(server.data.path()));
        }
        server.pg(
            "initdb",
            &["-A", "trust", "-U", "postgres", "-D", &server.dir()],
        );
        server.start_server();
        Some(server)
    }

    fn dir(&self) -> String {
        self.data.path().join("db").display().to_string()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// `tool` of the server's binaries, run as `postgres` when the test runs as root.
    fn command(&self, tool: &str) -> Command {
        let path = self.bin.join(tool);
        if as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn pg(&self, tool: &str, args: &[&str]) {
        run(self.command(tool).args(args));
    }

    fn start_server(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.data.path().display()
        );
        let log = self.data.path().join("log").display().to_string();
        self.pg(
            "pg_ctl",
            &["-D", &self.dir(), "-o", &options, "-l", &log, "-w", "start"],
        );
    }

    /// SIGSTOP (or SIGCONT) to the server and every backend: a frozen database, which
    /// accepts connections and answers nothing.
    fn signal_all(&self, signal: &str) {
        let pid = std::fs::read_to_string(self.data.path().join("db/postmaster.pid")).unwrap();
        let pid = pid.lines().next().unwrap().trim().to_owned();
        let children = Command::new("pgrep").args(["-P", &pid]).output().unwrap();
        let mut pids = vec![pid];
        pids.extend(
            String::from_utf8_lossy(&children.stdout)
                .split_whitespace()
                .map(str::to_owned),
        );
        run(Command::new("kill").arg(format!("-{signal}")).args(&pids));
    }

    fn stop_server(&self) {
        self.pg("pg_ctl", &["-D", &self.dir(), "-m", "fast", "-w", "stop"]);
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args(["-D", &self.dir(), "-m", "immediate", "stop"])
            .output();
    }
}

fn as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

#[track_caller]
fn run(command: &mut Command) {
    let out = command.output().expect("the command runs");
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL's server binaries under /usr/lib/postgresql (it starts its own)"]
async fn a_postgres_restart_under_load_gives_503_then_recovers() {
    let pg = OwnPostgres::start().expect(
        "no PostgreSQL server binaries under /usr/lib/postgresql: apt-get install postgresql",
    );
    assert!(Path::new(&pg.dir()).exists());
    let url = pg.url();
    let app = spawn_app_with(
        Backend::Postgres,
        &[("DATABASE_URL", &url), ("AUTHD_REQUEST_TIMEOUT", "5s")],
    )
    .await;
    app.verified_user("steady@example.com").await;
    let token = s(&app.login("steady@example.com", None).await["access_token"]).to_owned();

    // Load: 4 clients asking for the profile in a loop, each answer and its time recorded.
    let seen: Arc<Mutex<Vec<(u16, Duration)>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut load = Vec::new();
    for _ in 0..4 {
        let (client, url, token) = (app.client.clone(), app.url("/api/users/me"), token.clone());
        let (seen, stop) = (seen.clone(), stop.clone());
        load.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let started = Instant::now();
                let status = client
                    .get(&url)
                    .bearer_auth(&token)
                    .timeout(Duration::from_secs(20))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                seen.lock().unwrap().push((status, started.elapsed()));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stopper = tokio::task::spawn_blocking(move || {
        pg.stop_server();
        std::thread::sleep(Duration::from_secs(2));
        pg.start_server();
        pg
    });
    let pg = stopper.await.unwrap();
    // Back: answered again without restarting authd.
    let back = Instant::now();
    loop {
        let reply = app.get("/api/users/me", Some(&token)).await;
        if reply.status == 200 {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(15),
            "not recovered: {}",
            reply.status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
    app.get("/readyz", None).await.expect(200);
    let seen = seen.lock().unwrap().clone();
    let count = |code: u16| seen.iter().filter(|(s, _)| *s == code).count();
    assert!(
        seen.iter().all(|(s, _)| *s == 200 || *s == 503),
        "only 200 and 503: {:?}",
        seen.iter().map(|(s, _)| *s).collect::<Vec<_>>()
    );
    assert!(count(503) > 0, "the outage was seen");
    assert_eq!(seen.first().unwrap().0, 200, "served before the outage");
    assert_eq!(seen.last().unwrap().0, 200, "and after it");
    eprintln!("{} answered 200, {} answered 503", count(200), count(503));
    let slowest = seen.iter().map(|(_, d)| *d).max().unwrap();
    assert!(
        slowest < Duration::from_secs(6),
        "no request outlived the 5 s request timeout: {slowest:?}"
    );

    // Frozen: the same, bounded by the request timeout; `/readyz` answers within its own 2 s.
    pg.signal_all("STOP");
    let started = Instant::now();
    let frozen = app.get("/api/users/me", Some(&token)).await;
    let waited = started.elapsed();
    let ready = Instant::now();
    let readyz = app.get("/readyz", None).await;
    let ready_waited = ready.elapsed();
    pg.signal_all("CONT");
    assert_eq!(frozen.status, 503, "{}", frozen.text);
    assert!(waited < Duration::from_secs(7), "{waited:?}");
    assert_eq!(readyz.status, 503);
    assert!(ready_waited < Duration::from_secs(4), "{ready_waited:?}");
    let back = Instant::now();
    while app.get("/api/users/me", Some(&token)).await.status != 200 {
        assert!(back.elapsed() < Duration::from_secs(15), "not recovered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(pg);
}

/// SQLite's write lock, held by another connection on a thread of its own (as another process
/// would hold it) until released.
struct WriteLock {
    release: std::sync::mpsc::Sender<()>,
    holder: std::thread::JoinHandle<()>,
}

impl WriteLock {
    fn take(app: &crate::harness::TestApp) -> Self {
        use diesel::{Connection, SqliteConnection, connection::SimpleConnection};
        use secrecy::ExposeSecret;

        let url = app.state.config.database_url.expose_secret().to_owned();
        let path = authd::storage::sqlite_path(&url).unwrap().to_owned();
        let (locked, is_locked) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let holder = std::thread::spawn(move || {
            let mut other = SqliteConnection::establish(&path).unwrap();
            other.batch_execute("BEGIN IMMEDIATE").unwrap();
            locked.send(()).unwrap();
            released.recv().unwrap();
            other.batch_execute("COMMIT").unwrap();
        });
        is_locked.recv().unwrap();
        Self { release, holder }
    }

    fn release(self) {
        self.release.send(()).unwrap();
        self.holder.join().unwrap();
    }
}

/// Another process holding SQLite's write lock (a CLI command, a backup tool) holds back only
/// the writes: reads answer meanwhile although SQLite's calls run on the worker threads, a
/// second waiting write does not take another worker, and both writes go through once the
/// lock is released, never "database is locked".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_sqlite_write_lock_holds_back_only_the_writes() {
    let app = crate::harness::spawn_app(Backend::Sqlite).await;
    app.verified_user("held@example.com").await;
    let first = app.login("held@example.com", None).await;
    let second = app.login("held@example.com", None).await;
    let lock = WriteLock::take(&app);

    let refresh = |token: &Value| {
        let request = app
            .client
            .post(app.url("/api/auth/refresh"))
            .json(&json!({"refresh_token": s(&token["refresh_token"])}));
        tokio::spawn(async move { request.send().await.unwrap().status().as_u16() })
    };
    let writes = [refresh(&first), refresh(&second)];
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        writes.iter().all(|w| !w.is_finished()),
        "the writes should be waiting for the lock"
    );
    // Well inside SQLite's busy timeout (5 s): a read stuck behind the lock would not answer.
    for (path, bearer) in [
        ("/api/users/me", Some(s(&first["access_token"]))),
        ("/.well-known/jwks.json", None),
        ("/api/users/me/sessions", Some(s(&second["access_token"]))),
    ] {
        let reply = tokio::time::timeout(Duration::from_secs(3), app.get(path, bearer))
            .await
            .unwrap_or_else(|_| panic!("{path} waited for the write lock"));
        reply.expect(200);
    }
    // No worker waits inside SQLite for the lock (the writer tries again between sleeps of its
    // own), so no read queued behind a waiting write on a worker waits with it.
    for _ in 0..30 {
        let started = std::time::Instant::now();
        app.get("/api/users/me", Some(s(&first["access_token"])))
            .await
            .expect(200);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "a read waited {:?} behind the lock",
            started.elapsed()
        );
    }
    lock.release();
    for write in writes {
        assert_eq!(write.await.unwrap(), 200);
    }
}

/// A write lock held by another process past SQLite's busy timeout (5 s) is a database that
/// cannot be reached for now: a 503 in the API's error shape, not a 500, and the refresh token
/// is still good once the lock is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_write_lock_held_past_the_busy_timeout_is_a_503() {
    let app = crate::harness::spawn_app(Backend::Sqlite).await;
    app.verified_user("stuck@example.com").await;
    let tokens = app.login("stuck@example.com", None).await;
    let lock = WriteLock::take(&app);
    let body = json!({"refresh_token": s(&tokens["refresh_token"])});
    let reply = app.post("/api/auth/refresh", body.clone()).await;
    assert!(reply.expect(503)["message"].is_string());
    lock.release();
    app.post("/api/auth/refresh", body).await.expect(200);
}
