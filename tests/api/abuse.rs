//! Abuse resistance at the connection level, each test written as the abuse: slow headers,
//! huge headers, too many connections, odd methods against the metrics, a client that holds a
//! stopping server open.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::both_backends;
use crate::harness::{Backend, TestApp, spawn_app, spawn_app_with};
use secrecy::ExposeSecret as _;

both_backends!(
    a_slow_header_client_is_closed_while_others_are_served,
    oversized_headers_get_431,
    connections_beyond_the_cap_get_503,
    odd_methods_do_not_grow_the_metrics,
    every_answer_carries_the_safety_headers,
    the_owner_signs_in_while_an_attacker_spends_the_accounts_budget,
    every_spelling_of_an_account_shares_one_budget,
    current_password_guesses_are_limited,
    odd_addresses_are_400_with_nothing_written,
    the_two_spellings_of_an_international_domain_are_one_account,
    an_smtp_outage_loses_no_email_and_holds_no_request,
    an_email_the_relay_refuses_is_marked_failed,
    parallel_guesses_do_not_slip_past_the_limit,
    a_client_cannot_choose_its_address_with_its_own_forwarded_for,
);

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

/// Reads until the peer closes or `limit` passes; `None` if it stayed open.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(out),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return None,
        }
    }
}

async fn a_slow_header_client_is_closed_while_others_are_served(backend: Backend) {
    let app = spawn_app_with(backend, &[("AUTHD_HEADER_READ_TIMEOUT", "1s")]).await;
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut s = TcpStream::connect(addr(&app)).await.unwrap();
        // Slowloris: a request line and one header, then nothing.
        s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n")
            .await
            .unwrap();
        slow.push(s);
    }
    // An idle keep-alive connection (no bytes at all) is held to the same bound.
    slow.push(TcpStream::connect(addr(&app)).await.unwrap());
    app.get("/healthz", None).await.expect(200);
    for s in &mut slow {
        assert!(
            read_until_closed(s, Duration::from_secs(5)).await.is_some(),
            "the server closed the half-sent request"
        );
    }
    // A fresh connection: the client's pooled one was idle past the bound and is closed too.
    let fresh = reqwest::Client::new();
    let r = fresh.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

async fn oversized_headers_get_431(backend: Backend) {
    let app = spawn_app_with(backend, &[("AUTHD_MAX_HEADER_BYTES", "16384")]).await;
    let mut s = TcpStream::connect(addr(&app)).await.unwrap();
    let big = "a".repeat(64 * 1024);
    let request = format!("GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: {big}\r\n\r\n");
    // The server may close while we still write; what it answered is what counts.
    let _ = s.write_all(request.as_bytes()).await;
    let answer = read_until_closed(&mut s, Duration::from_secs(5))
        .await
        .expect("closed");
    let head = String::from_utf8_lossy(&answer);
    assert!(head.starts_with("HTTP/1.1 431"), "{head}");
    app.get("/healthz", None).await.expect(200);
}

async fn connections_beyond_the_cap_get_503(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("AUTHD_MAX_CONNECTIONS", "4"),
            ("AUTHD_MAX_CONNECTIONS_PER_ADDRESS", "4"),
            ("AUTHD_HEADER_READ_TIMEOUT", "30s"),
        ],
    )
    .await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(addr(&app)).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut fifth = TcpStream::connect(addr(&app)).await.unwrap();
    let _ = fifth
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await;
    let answer = read_until_closed(&mut fifth, Duration::from_secs(5))
        .await
        .expect("answered and closed");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(text.contains("retry-after: 1"), "{text}");
    // Slots come back as connections close.
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.get("/healthz", None).await.expect(200);
}

async fn odd_methods_do_not_grow_the_metrics(backend: Backend) {
    let app = spawn_app_with(backend, &[("AUTHD_METRICS_BIND", "127.0.0.1:0")]).await;
    let metrics = format!("{}/metrics", app.metrics_base.clone().unwrap());
    let size = |app: &TestApp| {
        let url = metrics.clone();
        let client = app.client.clone();
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    for i in 0..5 {
        let method = reqwest::Method::from_bytes(format!("WARM{i}").as_bytes()).unwrap();
        app.send(method, "/api/users/me", None, None).await;
    }
    let before = size(&app).await;
    for i in 0..200 {
        let method =
            reqwest::Method::from_bytes(format!("X{i}{}", "Y".repeat(200)).as_bytes()).unwrap();
        app.send(method, "/api/users/me", None, None).await;
    }
    let after = size(&app).await;
    assert!(!after.contains("YYYY"), "no raw method in a label");
    assert_eq!(
        before.lines().count(),
        after.lines().count(),
        "the same series, counted up"
    );
    assert!(after.contains(r#"method="other""#));
}

async fn every_answer_carries_the_safety_headers(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    for path in [
        "/healthz",
        "/docs",
        "/api/auth/reset-password?token=x",
        "/api/users/me",
        "/nope",
    ] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
    }
}

async fn limited_app(backend: Backend) -> TestApp {
    let app = spawn_app_with(
        backend,
        &[
            ("AUTHD_RATE_LIMIT", "3"),
            ("AUTHD_TRUST_FORWARDED_FOR", "true"),
        ],
    )
    .await;
    let id = app.verified_user("owner@example.com").await;
    // A phone and a username, to sign in by.
    let now = app.state.clock.now_naive();
    let changes = authd::storage::UserChanges {
        phone: Some(Some("+14155550123".into())),
        username: Some("owner".into()),
        updated_at: Some(now),
        ..Default::default()
    };
    authd::storage::users::update_user(&app.state.db, &id, &changes, &[])
        .await
        .unwrap();
    app
}

async fn login_from(app: &TestApp, ip: &str, body: serde_json::Value) -> u16 {
    app.client
        .post(app.url("/api/auth/login"))
        .header("x-forwarded-for", ip)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn the_owner_signs_in_while_an_attacker_spends_the_accounts_budget(backend: Backend) {
    let app = limited_app(backend).await;
    let guess = |n: usize| serde_json::json!({"email": "owner@example.com", "password": format!("guess-{n}-x")});
    for n in 0..3 {
        assert_eq!(login_from(&app, "198.51.100.66", guess(n)).await, 401);
    }
    // Past the per-address minute, so only the account's budget speaks.
    app.advance(Duration::from_secs(61));
    let right =
        serde_json::json!({"email": "owner@example.com", "password": crate::harness::PASSWORD});
    assert_eq!(
        login_from(&app, "198.51.100.66", right.clone()).await,
        429,
        "the attacker's address is done with this account, right password or not"
    );
    assert_eq!(
        login_from(&app, "203.0.113.7", right).await,
        200,
        "the owner is not"
    );
}

async fn every_spelling_of_an_account_shares_one_budget(backend: Backend) {
    let app = limited_app(backend).await;
    let ip = "198.51.100.77";
    for name in [
        serde_json::json!({"phone": "+1 415 555 0123"}),
        serde_json::json!({"phone": "+1-415-555-0123"}),
        serde_json::json!({"username": "OWNER"}),
    ] {
        let mut body = name;
        body["password"] = "wrong-guess-1".into();
        assert_eq!(login_from(&app, ip, body).await, 401);
    }
    app.advance(Duration::from_secs(61));
    for name in [
        serde_json::json!({"phone": "+14155550123"}),
        serde_json::json!({"email": "Owner@Example.com"}),
    ] {
        let mut body = name;
        body["password"] = "wrong-guess-2".into();
        assert_eq!(login_from(&app, ip, body).await, 429);
    }
    // An unknown account's spellings share one too.
    app.advance(Duration::from_secs(11 * 60));
    for phone in ["+1 415 555 0199", "+1-415-555-0199", "+14155550199"] {
        let body = serde_json::json!({"phone": phone, "password": "wrong-guess-3"});
        assert_eq!(login_from(&app, ip, body).await, 401);
    }
    app.advance(Duration::from_secs(61));
    let body = serde_json::json!({"phone": "+1 (415) 555-0199", "password": "wrong-guess-3"});
    assert_eq!(login_from(&app, ip, body).await, 429);
}

async fn parallel_guesses_do_not_slip_past_the_limit(backend: Backend) {
    // Budget 3 per address and 30 per account: 40 guesses at once, each from its own
    // address, all reach the check before any hash is done.
    let app = limited_app(backend).await;
    let addresses: Vec<String> = (0..40).map(|n| format!("198.51.100.{n}")).collect();
    let guesses = addresses.iter().enumerate().map(|(n, ip)| {
        let body =
            serde_json::json!({"email": "owner@example.com", "password": format!("guess-{n}-x")});
        login_from(&app, ip, body)
    });
    let statuses = futures_util::future::join_all(guesses).await;
    // Past the account's budget each address still had its one try (see `signin::guard`):
    // wrong, it is refused as too many, never told "invalid".
    let refused = statuses.iter().filter(|s| **s == 429).count();
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        checked <= 30,
        "{checked} guesses were checked: {statuses:?}"
    );
    assert_eq!(refused + checked, 40, "{statuses:?}");
}

async fn a_client_cannot_choose_its_address_with_its_own_forwarded_for(backend: Backend) {
    // Behind a proxy that appends its own header line, the client's own line comes first.
    let app = limited_app(backend).await;
    let attempt = |n: usize| {
        app.client
            .post(app.url("/api/auth/login"))
            .header("x-forwarded-for", format!("10.9.9.{n}"))
            .header("x-forwarded-for", "203.0.113.50")
            .json(&serde_json::json!({"email": format!("nobody{n}@example.com"), "password": "whatever-1"}))
            .send()
    };
    for n in 0..3 {
        assert_eq!(attempt(n).await.unwrap().status().as_u16(), 401);
    }
    assert_eq!(
        attempt(3).await.unwrap().status().as_u16(),
        429,
        "the proxy's line names the client, whatever it wrote itself"
    );
}

async fn current_password_guesses_are_limited(backend: Backend) {
    let app = limited_app(backend).await;
    let at =
        crate::harness::s(&app.login("owner@example.com", None).await["access_token"]).to_owned();
    for n in 0..3 {
        app.post_auth(
            "/api/users/me/password",
            &at,
            serde_json::json!({"current_password": format!("guess-{n}-x"), "new_password": "next-pass-42"}),
        )
        .await
        .expect(401);
    }
    let r = app
        .send(
            reqwest::Method::DELETE,
            "/api/users/me",
            Some(&at),
            Some(serde_json::json!({"password": "guess-9-x"})),
        )
        .await;
    r.expect(429);
    assert!(r.header("retry-after").is_some());
    // A reset through the mailbox clears the account's count.
    app.post(
        "/api/auth/forgot-password",
        serde_json::json!({"email": "owner@example.com"}),
    )
    .await
    .expect(200);
    let token = app.smtp.wait_for("owner@example.com", 2).await.token();
    app.post(
        "/api/auth/reset-password",
        serde_json::json!({"token": token, "new_password": "fresh-pass-77"}),
    )
    .await
    .expect(200);
    app.post(
        "/api/auth/login",
        serde_json::json!({"email": "owner@example.com", "password": "fresh-pass-77"}),
    )
    .await
    .expect(200);
}

async fn odd_addresses_are_400_with_nothing_written(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let odd = [
        "victim@[127.0.0.1]",
        "\"a@b\"@example.com",
        "ｖictim@example.com",
        "viсtim@example.com",
    ];
    for address in odd {
        let r = app
            .post(
                "/api/auth/register",
                serde_json::json!({"email": address, "password": crate::harness::PASSWORD}),
            )
            .await;
        assert!(r.expect(400)["errors"]["email"].is_string(), "{address}");
    }
    app.verified_user("plain@example.com").await;
    let at =
        crate::harness::s(&app.login("plain@example.com", None).await["access_token"]).to_owned();
    for address in odd {
        let r = app
            .send(
                reqwest::Method::PATCH,
                "/api/users/me",
                Some(&at),
                Some(serde_json::json!({"full_name": "Half Written", "email": address})),
            )
            .await;
        r.expect(400);
    }
    let me = app.get("/api/users/me", Some(&at)).await;
    assert_eq!(me.expect(200)["full_name"], serde_json::json!(null));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        app.smtp.all().len(),
        1,
        "only plain@'s verification was sent"
    );
}

async fn the_two_spellings_of_an_international_domain_are_one_account(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    app.verified_user("user@bücher.de").await;
    let again = app
        .post(
            "/api/auth/register",
            serde_json::json!({"email": "USER@xn--bcher-kva.de", "password": crate::harness::PASSWORD}),
        )
        .await;
    assert_eq!(
        again.expect(409),
        &serde_json::json!({"message": "Email already in use"})
    );
    let tokens = app.login("user@xn--bcher-kva.de", None).await;
    assert_eq!(
        crate::harness::s(&tokens["user"]["email"]),
        "user@bücher.de"
    );
}

async fn an_smtp_outage_loses_no_email_and_holds_no_request(backend: Backend) {
    // The relay's port, with nothing listening yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let relay = format!("smtp://127.0.0.1:{port}");
    let app = spawn_app_with(backend, &[("AUTHD_SMTP_URL", &relay)]).await;
    let started = Instant::now();
    app.post(
        "/api/auth/register",
        serde_json::json!({"email": "patient@example.com", "password": crate::harness::PASSWORD}),
    )
    .await
    .expect(201);
    app.post(
        "/api/auth/forgot-password",
        serde_json::json!({"email": "nobody@example.com"}),
    )
    .await
    .expect(200);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "no request waits on the relay"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Waiting in the outbox, sealed: a copy of the database holds no usable link.
    let waiting = authd::storage::outbox::list(&app.state.db).await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert!(waiting[0].attempts >= 1, "tried, and failed");
    assert!(waiting[0].message.starts_with("sealed:v1:"));
    assert!(!waiting[0].message.contains("verify"));
    // The relay comes back; past the back-off, the queued email goes out.
    let sink = crate::smtp::SmtpSink::start_on(port).await;
    app.advance(Duration::from_secs(600));
    let mail = sink.wait_for("patient@example.com", 1).await;
    app.post(
        "/api/auth/verify-email",
        serde_json::json!({"token": mail.token()}),
    )
    .await
    .expect(200);
    assert_eq!(sink.all().len(), 1, "sent once");
    assert!(
        authd::storage::outbox::list(&app.state.db)
            .await
            .unwrap()
            .is_empty(),
        "deleted once sent"
    );
    let stored_token = mail.token();
    assert!(!waiting[0].message.contains(&stored_token));
}

/// A relay that refuses an address for good: the email is not retried forever; it is marked
/// failed with the relay's answer, its message (and link) erased, and listed by `authd mail
/// list` until purged.
async fn an_email_the_relay_refuses_is_marked_failed(backend: Backend) {
    let app = spawn_app(backend).await;
    app.post(
        "/api/auth/register",
        serde_json::json!({"email": "bounce@example.com", "password": crate::harness::PASSWORD}),
    )
    .await
    .expect(201);
    let mut failed = None;
    for _ in 0..100 {
        let rows = authd::storage::outbox::list(&app.state.db).await.unwrap();
        if let Some(row) = rows.into_iter().find(|r| r.failed_at.is_some()) {
            failed = Some(row);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let failed = failed.expect("marked failed");
    assert_eq!(failed.recipient, "bounce@example.com");
    assert!(
        failed.message.starts_with("sealed:v1:") && !failed.message.contains("token="),
        "kept sealed, for `authd mail retry`"
    );
    assert!(
        failed
            .last_error
            .as_deref()
            .unwrap()
            .contains("no such mailbox"),
        "{:?}",
        failed.last_error
    );
    // Not claimed again.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let again = authd::storage::outbox::list(&app.state.db).await.unwrap();
    assert_eq!(again[0].attempts, failed.attempts);

    if backend == Backend::Sqlite {
        // `authd mail list` beside the running server.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_authd"))
            .args(["mail", "list"])
            .env(
                "DATABASE_URL",
                app.state.config.database_url.expose_secret(),
            )
            .output()
            .unwrap();
        assert!(out.status.success());
        let line: serde_json::Value =
            serde_json::from_slice(out.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
        assert_eq!(line["status"], "failed");
        assert_eq!(line["recipient"], "bounce@example.com");
    }
}

/// A database that goes away answers 503 (and `Retry-After`) within a bound, never 500 and
/// never a hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_answers_503_quickly() {
    let app = spawn_app_with(Backend::Postgres, &[]).await;
    app.verified_user("outage@example.com").await;
    let at =
        crate::harness::s(&app.login("outage@example.com", None).await["access_token"]).to_owned();
    app.drop_database().await;
    let started = Instant::now();
    let me = app.get("/api/users/me", Some(&at)).await;
    assert_eq!(me.status, 503, "{:?}", me.json);
    assert!(me.header("retry-after").is_some());
    let login = app
        .post(
            "/api/auth/login",
            serde_json::json!({"email": "outage@example.com", "password": crate::harness::PASSWORD}),
        )
        .await;
    assert_eq!(login.status, 503, "{:?}", login.json);
    let token = app
        .token(
            &[
                ("grant_type", "password"),
                ("client_id", "authd-web"),
                ("username", "outage@example.com"),
                ("password", crate::harness::PASSWORD),
            ],
            None,
        )
        .await;
    assert_eq!(token.status, 503, "{:?}", token.json);
    assert_eq!(
        crate::harness::s(&token.json["error"]),
        "temporarily_unavailable"
    );
    app.get("/readyz", None).await.expect(503);
    assert!(
        started.elapsed() < Duration::from_secs(45),
        "{:?}",
        started.elapsed()
    );
}

/// The database, its WAL and the outbox's emails (live links) are readable by authd alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_files_are_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let app = spawn_app_with(Backend::Sqlite, &[("AUTHD_SMTP_URL", "")]).await;
    app.post(
        "/api/auth/register",
        serde_json::json!({"email": "files@example.com", "password": crate::harness::PASSWORD}),
    )
    .await
    .expect(201);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = app.dir.path();
    assert_eq!(mode(&dir.join("authd.db")), 0o600);
    assert_eq!(mode(&dir.join("authd.db-wal")), 0o600);
    let emails = crate::harness::outbox_files(&app, 1).await;
    assert_eq!(mode(&dir.join("outbox")), 0o700);
    assert_eq!(emails.len(), 1);
    for email in emails {
        assert_eq!(mode(&email), 0o600);
    }
}

/// A client that half-sends a request cannot keep a stopping server alive past its deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_is_bounded_by_its_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("authd.db").display());
    let outbox = dir.path().join("outbox").display().to_string();
    let config = authd::Config::from_pairs([
        ("AUTHD_BIND", "127.0.0.1:0"),
        ("DATABASE_URL", db.as_str()),
        ("AUTHD_MAIL_DIR", outbox.as_str()),
        ("AUTHD_HEADER_READ_TIMEOUT", "10m"),
        ("AUTHD_SHUTDOWN_TIMEOUT", "1s"),
    ])
    .unwrap();
    let app = authd::Application::build(config).await.unwrap();
    let address = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let mut holder = TcpStream::connect(address).await.unwrap();
    holder
        .write_all(b"POST /api/auth/login HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let asked = Instant::now();
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("stopped within the deadline")
        .unwrap()
        .unwrap();
    assert!(asked.elapsed() < Duration::from_secs(4));
}
