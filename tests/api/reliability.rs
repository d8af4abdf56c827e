//! Reliability, round three, each fault caused for real: a relay that is slow, greylists, drops
//! mid-exchange, refuses, or is not ready; a database that will not write (read-only, a full
//! disk); instances whose clocks disagree; a start that cannot listen.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::both_backends;
use crate::harness::{Backend, PASSWORD, TestApp, spawn_app_with};
use crate::smtp::{Script, SmtpSink};

both_backends!(
    a_slow_greylisting_crashing_relay_delivers_each_email_once,
    relay_wide_refusals_are_retried_and_mail_retry_sends_again,
);

async fn sign_up(app: &TestApp, email: &str) {
    app.post(
        "/api/auth/register",
        json!({"email": email, "password": PASSWORD}),
    )
    .await
    .expect(201);
}

async fn wait_for_empty_outbox(app: &TestApp, within: Duration) {
    let started = Instant::now();
    while started.elapsed() < within {
        if authd::storage::outbox::list(&app.state.db)
            .await
            .unwrap()
            .is_empty()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let left = authd::storage::outbox::list(&app.state.db).await.unwrap();
    panic!("the outbox still holds {left:?}");
}

/// One email's end-of-data reply comes 31 s late (past the 30 s an earlier version waited),
/// another recipient is greylisted once, a third's first message is cut off mid-exchange, a
/// fourth is plain: each arrives exactly once, with a stable Message-ID, and the slow one holds
/// none of the others back.
async fn a_slow_greylisting_crashing_relay_delivers_each_email_once(backend: Backend) {
    let relay = SmtpSink::start_scripted(Script {
        slow: vec![("slow@example.com".into(), Duration::from_secs(31))],
        greylist: vec!["grey@example.com".into()],
        drop_once: vec!["cut@example.com".into()],
        ..Script::default()
    })
    .await;
    let url = relay.url();
    let app = spawn_app_with(backend, &[("AUTHD_SMTP_URL", &url)]).await;
    sign_up(&app, "slow@example.com").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    for who in ["grey@example.com", "cut@example.com", "plain@example.com"] {
        sign_up(&app, who).await;
    }
    for who in ["grey@example.com", "cut@example.com", "plain@example.com"] {
        relay.wait_for(who, 1).await;
    }
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "the others went out while the slow one waited"
    );
    relay.wait_for("slow@example.com", 1).await;
    wait_for_empty_outbox(&app, Duration::from_secs(60)).await;
    // Longer than any retry would take: nothing comes twice.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for who in [
        "slow@example.com",
        "grey@example.com",
        "cut@example.com",
        "plain@example.com",
    ] {
        let got = relay.for_recipient(who);
        assert_eq!(got.len(), 1, "{who}: {} deliveries", got.len());
        let raw = String::from_utf8_lossy(&got[0].raw).to_string();
        assert!(
            raw.lines()
                .any(|l| l.to_ascii_lowercase().starts_with("message-id: <")),
            "{raw}"
        );
    }
    assert_eq!(relay.all().len(), 4);
}

/// A relay that is not ready for authd (530 at MAIL FROM: it wants authentication) is retried
/// with back-off, not taken as a refusal of the email; a refusal of one recipient is final, and
/// `authd mail retry` sends it again once the cause is fixed.
async fn relay_wide_refusals_are_retried_and_mail_retry_sends_again(backend: Backend) {
    let relay = SmtpSink::start_scripted(Script {
        refuse_relay: 2,
        refuse_once: vec!["policy@example.com".into()],
        ..Script::default()
    })
    .await;
    let url = relay.url();
    let app = spawn_app_with(backend, &[("AUTHD_SMTP_URL", &url)]).await;
    sign_up(&app, "patient@example.com").await;
    relay.wait_for("patient@example.com", 1).await;

    sign_up(&app, "policy@example.com").await;
    let mut failed = None;
    for _ in 0..100 {
        let rows = authd::storage::outbox::list(&app.state.db).await.unwrap();
        if let Some(row) = rows.into_iter().find(|r| r.failed_at.is_some()) {
            failed = Some(row);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let failed = failed.expect("the refused email is marked failed");
    assert!(relay.for_recipient("policy@example.com").is_empty());
    let n = authd::storage::outbox::retry(
        &app.state.db,
        authd::storage::outbox::Retry::One(&failed.id),
        app.state.clock.now_naive(),
    )
    .await
    .unwrap();
    assert_eq!(n, 1);
    relay.wait_for("policy@example.com", 1).await;
    wait_for_empty_outbox(&app, Duration::from_secs(10)).await;
}

/// Requests under load while the database cannot write: every answer a 200, a 4xx or a 503
/// (never a 500), and `/readyz` 503 so a load balancer looks elsewhere; all well again once it
/// can.
async fn hammer(app: &TestApp, rounds: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for n in 0..rounds {
        let login = app
            .post(
                "/api/auth/login",
                json!({"email": "steady@example.com", "password": PASSWORD}),
            )
            .await;
        statuses.push(login.status);
        let register = app
            .post(
                "/api/auth/register",
                json!({"email": format!("new{n}@example.com"), "password": PASSWORD}),
            )
            .await;
        statuses.push(register.status);
        statuses.push(app.get("/.well-known/jwks.json", None).await.status);
    }
    statuses
}

fn no_server_errors(statuses: &[u16]) {
    assert!(
        statuses
            .iter()
            .all(|s| *s == 200 || *s == 201 || (400..500).contains(s) || *s == 503),
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_postgres_answers_503_and_readyz_says_so() {
    let app = spawn_app_with(Backend::Postgres, &[]).await;
    app.verified_user("steady@example.com").await;
    let refresh =
        crate::harness::s(&app.login("steady@example.com", None).await["refresh_token"]).to_owned();
    app.set_read_only(true).await;
    let statuses = hammer(&app, 5).await;
    no_server_errors(&statuses);
    assert!(statuses.contains(&503), "{statuses:?}");
    let r = app
        .post("/api/auth/refresh", json!({"refresh_token": refresh}))
        .await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert!(r.header("retry-after").is_some());
    assert_eq!(app.get("/readyz", None).await.status, 503);

    app.set_read_only(false).await;
    let started = Instant::now();
    while app.get("/readyz", None).await.status != 200 {
        assert!(started.elapsed() < Duration::from_secs(10), "ready again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.login("steady@example.com", None).await;
}

/// A small tmpfs as the SQLite database's disk, mounted for the test, unmounted after.
struct SmallDisk {
    path: std::path::PathBuf,
}

impl SmallDisk {
    /// Fails the test where this process may not mount (not root).
    fn mount(megabytes: u32) -> Self {
        let path = std::env::temp_dir().join(format!("authd-disk-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&path).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(&path)
            .status()
            .is_ok_and(|s| s.success());
        assert!(mounted, "cannot mount a tmpfs here: run this test as root");
        Self { path }
    }

    /// Fills what is left with a file; returns it (removing it frees the space).
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write as _;
        let filler = self.path.join("filler");
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .status();
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root: it mounts a small tmpfs as the full disk"]
async fn a_full_disk_under_sqlite_answers_503_and_readyz_says_so() {
    let disk = SmallDisk::mount(8);
    let url = format!("sqlite://{}", disk.path.join("authd.db").display());
    let app = spawn_app_with(
        Backend::Sqlite,
        &[
            ("DATABASE_URL", &url),
            ("AUTHD_SECRET", crate::harness::SECRET),
        ],
    )
    .await;
    app.verified_user("steady@example.com").await;
    let filler = disk.fill();
    let statuses = hammer(&app, 5).await;
    no_server_errors(&statuses);
    assert!(statuses.contains(&503), "{statuses:?}");
    assert_eq!(app.get("/readyz", None).await.status, 503);
    std::fs::remove_file(filler).unwrap();
    assert_eq!(app.get("/readyz", None).await.status, 200);
    app.login("steady@example.com", None).await;
}

/// Three instances on one PostgreSQL: one on time, one a minute behind, one a minute ahead.
/// They decide by one clock, the database's: a key rotated and retired early still leaves the
/// lagging one a key to sign with; a refresh token rotated on one and retried at once on the
/// one ahead is a benign retry, not theft; a code granted by one is redeemed at the one ahead;
/// and `keys retire` refuses while an instance could still lack the new key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skewed_postgres_instances_decide_by_one_clock() {
    let on_time = spawn_app_with(Backend::Postgres, &[]).await;
    let config = on_time.sibling_config(|_| {});
    let behind = on_time
        .start_sibling_skewed(config.clone(), chrono::Duration::seconds(-60))
        .await;
    let ahead = on_time
        .start_sibling_skewed(config, chrono::Duration::seconds(60))
        .await;
    for other in [&behind, &ahead] {
        let apart = other.state.clock.now() - on_time.state.clock.now();
        assert!(apart.abs() < chrono::Duration::seconds(1), "{apart}");
    }

    // A rotation, then the old key retired early (as `keys retire` allowed before).
    let keys = on_time.cli_keys().await;
    let now = on_time.state.clock.now();
    let rsa = authd::tokens::SigningAlg::Rs256;
    let old = keys.signing_key(now, rsa).unwrap().kid.clone();
    let new = authd::storage::signing_keys::rotate(
        &on_time.state.db,
        &keys,
        now,
        Duration::from_secs(1),
        &[rsa],
    )
    .await
    .unwrap()
    .remove(0);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let refused = authd::storage::signing_keys::retire(
        &on_time.state.db,
        &keys,
        &old,
        on_time.state.clock.now(),
    )
    .await;
    assert!(
        refused.unwrap_err().to_string().contains("retire it after"),
        "retire waits until every instance signs with the new key"
    );
    {
        use diesel_async::RunQueryDsl;
        let pool = on_time.state.db.postgres_pool().expect("a PostgreSQL test");
        let mut c = pool.get().await.unwrap();
        diesel::sql_query(format!(
            "UPDATE signing_keys SET retired_at = now() AT TIME ZONE 'UTC' WHERE kid = '{old}'"
        ))
        .execute(&mut *c)
        .await
        .unwrap();
    }
    for app in [&on_time, &behind, &ahead] {
        app.refresh_keys().await;
        let signer = app.state.keys.signing_key(app.state.clock.now(), rsa);
        assert_eq!(signer.map(|k| k.kid.clone()), Some(new.kid.clone()));
    }
    behind.verified_user("clock@example.com").await;
    let tokens = behind.login("clock@example.com", None).await;
    let refresh = crate::harness::s(&tokens["refresh_token"]).to_owned();

    // Rotated on time, retried at once on the instance ahead: the same successor, no theft.
    let first = on_time
        .post("/api/auth/refresh", json!({"refresh_token": refresh}))
        .await;
    let first = first.expect(200).clone();
    let retried = ahead
        .post("/api/auth/refresh", json!({"refresh_token": refresh}))
        .await;
    assert_eq!(
        retried.expect(200)["refresh_token"],
        first["refresh_token"],
        "a retry within the grace window"
    );
    let at = crate::harness::s(&first["access_token"]).to_owned();
    ahead.get("/api/users/me", Some(&at)).await.expect(200);

    // A code granted on time, redeemed at the instance ahead.
    let client = on_time
        .client_with(
            "confidential",
            &["authorization_code"],
            &["openid"],
            &[crate::authorize::CB],
            true,
        )
        .await;
    let url = crate::authorize::authorize_url(
        &on_time,
        &client.id,
        crate::authorize::CB,
        &[("scope", "openid")],
    );
    let code = crate::authorize::code_after_sign_in(
        &on_time,
        &crate::authorize::browser(),
        &url,
        "clock@example.com",
    )
    .await;
    crate::authorize::exchange(
        &ahead,
        &client.id,
        &code,
        None,
        Some((&client.id, client.secret.as_deref().unwrap())),
    )
    .await
    .expect(200);
}

/// A start that cannot listen (the port is taken) leaves nothing behind: no database file
/// migrated, no secret generated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_that_cannot_listen_changes_nothing() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data").join("authd.db");
    let bind = format!("127.0.0.1:{port}");
    let url = format!("sqlite://{}", db.display());
    let config = authd::Config::from_pairs(vec![
        ("AUTHD_BIND", bind.as_str()),
        ("DATABASE_URL", url.as_str()),
    ])
    .unwrap();
    let failed = authd::Application::build(config).await;
    let error = format!("{:#}", failed.err().expect("the port is taken"));
    assert!(error.contains("cannot listen"), "{error}");
    assert!(!db.exists(), "no database made");
    assert!(
        !dir.path().join("data").join("authd.secret").exists(),
        "no secret made"
    );
}

/// A second instance on the same SQLite file, reached through a symlink to the file, is
/// refused like one through the same path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_instance_through_a_symlink_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    let other = dir.path().join("other");
    std::fs::create_dir_all(&real).unwrap();
    std::fs::create_dir_all(&other).unwrap();
    let first_url = format!("sqlite://{}", real.join("authd.db").display());
    let first = spawn_app_with(Backend::Sqlite, &[("DATABASE_URL", &first_url)]).await;
    std::os::unix::fs::symlink(real.join("authd.db"), other.join("authd.db")).unwrap();
    let mut config = first.sibling_config(|_| {});
    config.database_url = format!("sqlite://{}", other.join("authd.db").display()).into();
    let second = authd::Application::build(config).await;
    let error = format!("{:#}", second.err().expect("refused"));
    assert!(error.contains("another authd is serving"), "{error}");
}

/// `authd backup` while authd serves and writes: the copy opens whole (integrity check), and
/// holds every account made before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_writing_restores_whole() {
    use secrecy::ExposeSecret as _;
    let app = spawn_app_with(
        Backend::Sqlite,
        &[("AUTHD_REQUIRE_EMAIL_VERIFICATION", "false")],
    )
    .await;
    for n in 0..10 {
        app.post(
            "/api/auth/register",
            json!({"email": format!("before{n}@example.com"), "password": PASSWORD}),
        )
        .await
        .expect(201);
    }
    let writer = {
        let (client, url) = (app.client.clone(), app.url("/api/auth/register"));
        tokio::spawn(async move {
            for n in 0..30 {
                let _ = client
                    .post(&url)
                    .json(&json!({"email": format!("during{n}@example.com"), "password": PASSWORD}))
                    .send()
                    .await;
            }
        })
    };
    let copy = app.dir.path().join("backup.db");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_authd"))
        .args(["backup", copy.to_str().unwrap()])
        .env(
            "DATABASE_URL",
            app.state.config.database_url.expose_secret(),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    writer.await.unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // Restored: the copy serves, with the same secret (from the original's folder).
    let restored_dir = tempfile::tempdir().unwrap();
    let restored = restored_dir.path().join("authd.db");
    std::fs::copy(&copy, &restored).unwrap();
    std::fs::copy(
        app.dir.path().join("authd.secret"),
        restored_dir.path().join("authd.secret"),
    )
    .unwrap();
    let url = format!("sqlite://{}", restored.display());
    let again = spawn_app_with(
        Backend::Sqlite,
        &[
            ("DATABASE_URL", &url),
            ("AUTHD_REQUIRE_EMAIL_VERIFICATION", "false"),
        ],
    )
    .await;
    for n in 0..10 {
        again
            .post(
                "/api/auth/login",
                json!({"email": format!("before{n}@example.com"), "password": PASSWORD}),
            )
            .await
            .expect(200);
    }
}
