//! The audit trail: each kind caused through the real API lands once, with its actor and
//! subject, readable from the other instance; the person's own activity in words; filters
//! that are bad input get 400; retention.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both_backends;
use crate::harness::{Backend, PASSWORD, TestApp, s, spawn_app, spawn_pair};

both_backends!(
    a_sign_in_from_a_new_device_is_told,
    security_changes_and_operator_actions_leave_events,
    each_change_leaves_one_event_with_its_actor,
    a_person_sees_their_own_activity_in_words,
    audit_filters_refuse_bad_input_and_page_with_a_cursor,
    unknown_names_and_refusals_are_recorded_and_counted,
    a_client_changes_in_place
);

/// Two instances on one PostgreSQL (SQLite serves one): changes through the first, reads
/// through the second.
async fn instances(backend: Backend) -> (TestApp, Option<TestApp>) {
    match backend {
        Backend::Postgres => {
            let (a, b) = spawn_pair(backend, &[]).await;
            (a, Some(b))
        }
        Backend::Sqlite => (spawn_app(backend).await, None),
    }
}

/// The audit trail about `user` as stored, oldest first: `(kind, actor, detail)`.
pub async fn trail(app: &TestApp, user: &str) -> Vec<(String, String, Value)> {
    let filter = authd::storage::audit::Filter {
        user_id: Some(user.to_owned()),
        ..Default::default()
    };
    let mut rows = authd::storage::audit::list(&app.state.db, &filter, 1000)
        .await
        .unwrap();
    rows.reverse();
    rows.into_iter()
        .map(|r| {
            let detail = r
                .detail
                .as_deref()
                .map(|d| serde_json::from_str(d).unwrap())
                .unwrap_or(Value::Null);
            (r.kind, r.actor, detail)
        })
        .collect()
}

/// Waits for an email to `to` whose subject starts with `subject`.
pub async fn told(app: &TestApp, to: &str, subject: &str) -> crate::smtp::ReceivedMail {
    for _ in 0..100 {
        if let Some(m) = app
            .smtp
            .for_recipient(to)
            .into_iter()
            .find(|m| m.subject().starts_with(subject))
        {
            return m;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no email {subject:?} to {to}");
}

/// The events about `user` of `kind`, through the admin API of `app`.
async fn events(app: &TestApp, admin: &str, user: &str, kind: &str) -> Vec<Value> {
    let page = app
        .get(
            &format!("/api/admin/audit?user_id={user}&kind={kind}&limit=200"),
            Some(admin),
        )
        .await;
    page.expect(200)["events"].as_array().unwrap().clone()
}

/// The one event about `user` of `kind`.
async fn one(app: &TestApp, admin: &str, user: &str, kind: &str) -> Value {
    let found = events(app, admin, user, kind).await;
    assert_eq!(found.len(), 1, "one {kind} for {user}: {found:#?}");
    found[0].clone()
}

async fn each_change_leaves_one_event_with_its_actor(backend: Backend) {
    // Changes through A, read through B: one trail, in the database.
    let (a, other) = instances(backend).await;
    let b = other.as_ref().unwrap_or(&a);
    let admin = a.admin("root@example.com").await;
    let admin_id = s(&a.get("/api/users/me", Some(&admin)).await.expect(200)["id"]).to_owned();

    let ann = a.verified_user("ann@example.com").await;
    let up = one(b, &admin, &ann, "sign_up").await;
    assert_eq!(up["actor"], "user");
    assert_eq!(up["detail"]["email_verified"], true);

    // A wrong password: a failure naming the factor, never the password typed.
    a.post(
        "/api/auth/login",
        json!({"email": "ann@example.com", "password": "not-her-password-1"}),
    )
    .await
    .expect(401);
    let failed = one(b, &admin, &ann, "sign_in.failed").await;
    assert_eq!(failed["outcome"], "failure");
    assert_eq!(failed["detail"], json!({"factor": "password"}));
    assert!(failed["ip"].is_string(), "{failed}");
    let all = b.get("/api/admin/audit?limit=200", Some(&admin)).await;
    assert!(
        !all.text.contains("not-her-password-1") && !all.text.contains(PASSWORD),
        "no password in the trail"
    );

    // A sign-in, its session and client.
    let tokens = a.login("ann@example.com", Some("phone")).await;
    let signed_in = one(b, &admin, &ann, "sign_in.succeeded").await;
    assert_eq!(signed_in["detail"], json!({"amr": "pwd", "acr": "aal1"}));
    assert_eq!(signed_in["client_id"], "authd-web");
    assert!(signed_in["session_id"].is_string());
    let all = b.get("/api/admin/audit?limit=200", Some(&admin)).await;
    assert!(!all.text.contains(s(&tokens["refresh_token"])));
    assert!(!all.text.contains(s(&tokens["access_token"])));

    // A refresh token used again after its grace: theft, the session ended by the system.
    let first = s(&tokens["refresh_token"]).to_owned();
    a.post(
        "/api/auth/refresh",
        json!({"refresh_token": first, "device_id": "phone"}),
    )
    .await
    .expect(200);
    a.advance(std::time::Duration::from_secs(11));
    a.post(
        "/api/auth/refresh",
        json!({"refresh_token": first, "device_id": "phone"}),
    )
    .await
    .expect(401);
    let theft = one(b, &admin, &ann, "session.ended").await;
    assert_eq!(theft["actor"], "system");
    assert_eq!(theft["detail"]["reason"], "refresh_token_reused");
    assert_eq!(theft["session_id"], signed_in["session_id"]);
    told(&a, "ann@example.com", "We signed out a device of yours").await;

    // Logout.
    let tokens = a.login("ann@example.com", None).await;
    a.post(
        "/api/auth/logout",
        json!({"refresh_token": tokens["refresh_token"]}),
    )
    .await
    .expect(200);
    let ended = events(b, &admin, &ann, "session.ended").await;
    assert_eq!(ended.len(), 2, "{ended:#?}");
    assert_eq!(ended[0]["detail"]["reason"], "logout", "newest first");
    assert_eq!(ended[0]["actor_id"], json!(ann));

    // A password change (another session open: it ends, with its own event).
    let other = a.login("ann@example.com", None).await;
    let here = a.login("ann@example.com", None).await;
    a.post_auth(
        "/api/users/me/password",
        s(&here["access_token"]),
        json!({"current_password": PASSWORD, "new_password": "next-pass-42"}),
    )
    .await
    .expect(200);
    one(b, &admin, &ann, "password.changed").await;
    told(&a, "ann@example.com", "Your password was changed").await;
    let ended = events(b, &admin, &ann, "session.ended").await;
    assert_eq!(ended[0]["detail"]["reason"], "password_changed");
    assert!(ended[0]["detail"]["sessions"].as_u64().unwrap() >= 1);
    drop(other);

    // A reset by the emailed link.
    a.post(
        "/api/auth/forgot-password",
        json!({"email": "ann@example.com"}),
    )
    .await
    .expect(200);
    let mut token = None;
    for _ in 0..100 {
        token = a
            .smtp
            .for_recipient("ann@example.com")
            .into_iter()
            .find(|m| m.subject().starts_with("Reset your password"))
            .map(|m| m.token());
        if token.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let token = token.expect("a reset email");
    a.post(
        "/api/auth/reset-password",
        json!({"token": token, "new_password": PASSWORD}),
    )
    .await
    .expect(200);
    one(b, &admin, &ann, "password.reset").await;

    // Admin actions carry the admin.
    a.send(
        Method::PATCH,
        &format!("/api/admin/users/{ann}"),
        Some(&admin),
        Some(json!({"role": "ADMIN"})),
    )
    .await
    .expect(200);
    let updated = one(b, &admin, &ann, "admin.user_updated").await;
    assert_eq!(updated["actor"], "admin");
    assert_eq!(updated["actor_id"], json!(admin_id));
    assert_eq!(updated["detail"], json!({"role": "ADMIN"}));
    a.login("ann@example.com", None).await;
    a.send(
        Method::DELETE,
        &format!("/api/admin/users/{ann}/sessions"),
        Some(&admin),
        None,
    )
    .await
    .expect(204);
    let ended = events(b, &admin, &ann, "session.ended").await;
    assert_eq!(ended[0]["detail"]["reason"], "admin");
    assert_eq!(ended[0]["actor_id"], json!(admin_id));

    // Deletions: by the person, by an admin; the trail outlives the account.
    let bob = a.verified_user("bob@example.com").await;
    let bob_tokens = a.login("bob@example.com", None).await;
    a.send(
        Method::DELETE,
        "/api/users/me",
        Some(s(&bob_tokens["access_token"])),
        Some(json!({"password": PASSWORD})),
    )
    .await
    .expect(204);
    assert_eq!(
        one(b, &admin, &bob, "account.deleted").await["actor"],
        "user"
    );
    let cy = a.verified_user("cy@example.com").await;
    a.send(
        Method::DELETE,
        &format!("/api/admin/users/{cy}"),
        Some(&admin),
        None,
    )
    .await
    .expect(204);
    assert_eq!(
        one(b, &admin, &cy, "admin.user_deleted").await["actor_id"],
        json!(admin_id)
    );
    one(b, &admin, &cy, "sign_up").await;

    // Retention: the hourly clean-up's purge drops what is older than the window.
    let later = a.state.clock.now_naive() + chrono::Duration::days(91);
    let purged = authd::storage::audit::purge(
        &a.state.db,
        later - chrono::Duration::from_std(a.state.config.audit_retention).unwrap(),
    )
    .await
    .unwrap();
    assert!(purged >= 15, "{purged}");
    let left = b.get("/api/admin/audit", Some(&admin)).await;
    assert_eq!(left.expect(200)["events"], json!([]));
}

async fn a_person_sees_their_own_activity_in_words(backend: Backend) {
    let (a, other) = instances(backend).await;
    let b = other.as_ref().unwrap_or(&a);
    a.verified_user("dee@example.com").await;
    a.verified_user("eve@example.com").await;
    a.post(
        "/api/auth/login",
        json!({"email": "dee@example.com", "password": "wrong-password-9"}),
    )
    .await
    .expect(401);
    let r = a
        .client
        .post(a.url("/api/auth/login"))
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        )
        .json(&json!({"email": "dee@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let tokens: Value = r.json().await.unwrap();
    a.login("eve@example.com", None).await;
    let mine = b
        .get("/api/users/me/activity", Some(s(&tokens["access_token"])))
        .await;
    let mine = mine.expect(200).as_array().unwrap().clone();
    let what: Vec<&str> = mine.iter().map(|e| s(&e["what"])).collect();
    assert_eq!(
        what,
        [
            "Signed in with a password",
            "A wrong password was typed",
            "Account created"
        ],
        "{mine:#?}"
    );
    assert_eq!(mine[0]["device"], "Firefox on Linux");
    assert_eq!(mine[1]["outcome"], "failure");
    // Not an admin: the whole trail is closed.
    b.get("/api/admin/audit", Some(s(&tokens["access_token"])))
        .await
        .expect(403);
    b.get("/api/users/me/activity", None).await.expect(401);
}

async fn audit_filters_refuse_bad_input_and_page_with_a_cursor(backend: Backend) {
    let (a, other) = instances(backend).await;
    let b = other.as_ref().unwrap_or(&a);
    let admin = a.admin("root@example.com").await;
    let fay = a.verified_user("fay@example.com").await;
    for _ in 0..5 {
        a.login("fay@example.com", None).await;
    }
    for (bad, field) in [
        ("since=yesterday", "since"),
        ("until=2026-13-01T00:00:00Z", "until"),
        (
            "since=2020-01-01T00:00:00Z&until=2026-01-01T00:00:00Z",
            "since",
        ),
        (
            "since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z",
            "until",
        ),
        ("kind=sign_in.succeeded,nope", "kind"),
        ("kind=%27%20OR%201%3D1", "kind"),
        ("user_id=%27%20OR%201%3D1%20--", "user_id"),
        ("limit=0", "limit"),
        ("limit=100000", "limit"),
        ("cursor=abc", "cursor"),
        ("cursor=MXwnIE9SIDE9MQ", "cursor"),
    ] {
        let r = b
            .get(&format!("/api/admin/audit?{bad}"), Some(&admin))
            .await;
        assert!(
            r.expect(400)["errors"][field].is_string(),
            "{bad}: {}",
            r.text
        );
    }
    // LIKE and SQL metacharacters are only characters.
    let r = b.get("/api/admin/audit?user_id=%25", Some(&admin)).await;
    assert_eq!(r.expect(200)["events"], json!([]));

    // Pages of two: every event of hers once, newest first, then no cursor.
    let all = events(b, &admin, &fay, "sign_in.succeeded,sign_up").await;
    assert_eq!(all.len(), 6);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let path = match &cursor {
            Some(c) => format!("/api/admin/audit?user_id={fay}&limit=2&cursor={c}"),
            None => format!("/api/admin/audit?user_id={fay}&limit=2"),
        };
        let page = b.get(&path, Some(&admin)).await.expect(200).clone();
        seen.extend(
            page["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].clone()),
        );
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let ids: Vec<Value> = all.iter().map(|e| e["id"].clone()).collect();
    assert_eq!(seen, ids);
    let mut times: Vec<&str> = all.iter().map(|e| s(&e["at"])).collect();
    let sorted = {
        let mut t = times.clone();
        t.sort_unstable_by(|x, y| y.cmp(x));
        t
    };
    assert_eq!(times, sorted, "newest first");
    times.clear();
}

async fn security_changes_and_operator_actions_leave_events(backend: Backend) {
    let app = spawn_app(backend).await;
    let gus = app.verified_user("gus@example.com").await;
    let tokens = app.login("gus@example.com", None).await;
    let at = s(&tokens["access_token"]).to_owned();

    // An email change: asked for, confirmed by the new address.
    app.send(
        Method::PATCH,
        "/api/users/me",
        Some(&at),
        Some(json!({"email": "gus.new@example.com"})),
    )
    .await
    .expect(200);
    let token = app.smtp.wait_for("gus.new@example.com", 1).await.token();
    app.post("/api/auth/verify-email", json!({"token": token}))
        .await
        .expect(200);
    // New recovery codes need a factor: set one up, then renew, then remove it.
    let (_, _, factor) = crate::factors::with_authenticator(&app, "gus.new@example.com").await;
    let trail = trail(&app, &gus).await;
    let kinds: Vec<&str> = trail.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "sign_up",
            "sign_in.succeeded",
            "email_change.requested",
            "email_change.confirmed",
            "sign_in.succeeded",
            "factor.added"
        ],
        "{trail:?}"
    );
    assert_eq!(trail[2].2["new_email"], "gus.new@example.com");
    assert_eq!(trail[3].2["old_email"], "gus@example.com");
    assert!(!factor.is_empty());

    // Operator actions at the command line: a client registered and deleted, a key rotated
    // and retired; actor cli.
    let client = app
        .client("confidential", &["client_credentials"], &["api"], &[])
        .await;
    assert!(
        authd::storage::clients::delete_client(
            &app.state.db,
            &client.id,
            app.state.clock.now_naive()
        )
        .await
        .unwrap()
    );
    let now = app.state.clock.now();
    let key = authd::storage::signing_keys::rotate(
        &app.state.db,
        &app.state.keys,
        now,
        std::time::Duration::from_secs(60),
        &[authd::tokens::SigningAlg::Es256],
    )
    .await
    .unwrap()
    .remove(0);
    let filter = authd::storage::audit::Filter {
        client_id: Some(client.id.clone()),
        ..Default::default()
    };
    let rows = authd::storage::audit::list(&app.state.db, &filter, 10)
        .await
        .unwrap();
    let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["client.deleted", "client.created"]);
    assert!(rows.iter().all(|r| r.actor == "cli"));
    let filter = authd::storage::audit::Filter {
        kinds: vec!["key.rotated".into()],
        ..Default::default()
    };
    let rows = authd::storage::audit::list(&app.state.db, &filter, 10)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].detail.as_deref().unwrap().contains(&key.kid));
}

/// `authd audit list` and `tail` from the command line, on the default SQLite: JSON lines,
/// filters checked as the API checks them, and a follower that prints what is new.
#[test]
fn the_command_line_lists_and_follows_the_trail() {
    use std::io::{BufRead as _, Write as _};
    let dir = tempfile::tempdir().unwrap();
    let authd = |args: &[&str]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_authd"));
        c.args(args)
            .current_dir(dir.path())
            .env_remove("DATABASE_URL")
            .env_remove("RUST_LOG");
        c
    };
    let create_admin = |email: &str| {
        let mut child = authd(&["users", "create-admin", "--email", email])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"a-strong-pass-1\n")
            .unwrap();
        assert!(child.wait().unwrap().success());
    };
    create_admin("root@example.com");
    create_admin("root@example.com");
    let out = authd(&["audit", "list"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = lines.iter().map(|e| s(&e["kind"])).collect();
    assert_eq!(kinds, ["admin.user_updated", "sign_up"], "newest first");
    assert!(lines.iter().all(|e| e["actor"] == "cli"));
    assert_eq!(lines[0]["user_id"], lines[1]["user_id"]);

    let out = authd(&["audit", "list", "--since", "yesterday"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--since"));
    let out = authd(&["audit", "list", "--kind", "sign_up,nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--kind"));

    // A follower prints only what comes after it started (new admins are made until it has
    // started and printed one; none of the earlier ones appears).
    let mut tail = authd(&["audit", "tail", "--kind", "sign_up"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = tail.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let mut line = None;
    for n in 0..15 {
        create_admin(&format!("next{n}@example.com"));
        if let Ok(l) = rx.recv_timeout(std::time::Duration::from_secs(2)) {
            line = Some(l);
            break;
        }
    }
    tail.kill().unwrap();
    tail.wait().unwrap();
    let event: Value = serde_json::from_str(&line.expect("the follower printed")).unwrap();
    assert_eq!(event["kind"], "sign_up");
    assert_ne!(event["user_id"], lines[1]["user_id"], "only new events");
}

/// `authd clients create` then `update` at the command line: the same id, a new name and
/// secret (printed once), refusals with a reason and exit status, one `client.updated`.
#[test]
fn a_client_changes_at_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let authd = |args: &[&str]| crate::harness::cli(dir.path(), args);
    let json_of = |out: &std::process::Output| -> Value {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let created = json_of(&authd(&[
        "clients",
        "create",
        "--name",
        "Reports",
        "--type",
        "confidential",
        "--grant",
        "client_credentials",
    ]));
    let id = s(&created["client_id"]).to_owned();
    let updated = json_of(&authd(&[
        "clients",
        "update",
        &id,
        "--name",
        "Monthly reports",
        "--rotate-secret",
    ]));
    assert_eq!(updated["client_id"], id.as_str());
    assert_eq!(updated["name"], "Monthly reports");
    assert!(updated["client_secret"].as_str().unwrap().len() >= 32);
    assert_ne!(updated["client_secret"], created["client_secret"]);
    let listed = String::from_utf8(authd(&["clients", "list"]).stdout).unwrap();
    assert!(!listed.contains(s(&updated["client_secret"])), "shown once");

    let refused = authd(&["clients", "update", &id, "--name", "Monthly reports"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("nothing to change"));
    let refused = authd(&["clients", "update", "c_nope", "--name", "x"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no client c_nope"));
    let refused = authd(&["clients", "update", &id, "--first-party", "maybe"]);
    assert_eq!(refused.status.code(), Some(2), "bad arguments");
    let refused = authd(&["clients", "update", &id, "--id-token-alg", "HS256"]);
    assert_eq!(
        refused.status.code(),
        Some(2),
        "not an algorithm authd signs with"
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("expected RS256, ES256 or EdDSA"));
    let es = json_of(&authd(&[
        "clients",
        "update",
        &id,
        "--id-token-alg",
        "ES256",
    ]));
    assert_eq!(es["id_token_signed_response_alg"], "ES256");
    let back = json_of(&authd(&[
        "clients",
        "update",
        &id,
        "--default-id-token-alg",
    ]));
    assert_eq!(back["id_token_signed_response_alg"], Value::Null);

    let events =
        String::from_utf8(authd(&["audit", "list", "--kind", "client.updated"]).stdout).unwrap();
    let events: Vec<Value> = events
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 3);
    // Newest first.
    assert_eq!(
        events[2]["detail"],
        json!({"fields": ["name"], "secret_rotated": true})
    );
    assert_eq!(
        events[0]["detail"],
        json!({"fields": ["id_token_signed_response_alg"], "secret_rotated": false})
    );
}

async fn a_sign_in_from_a_new_device_is_told(backend: Backend) {
    let app = spawn_app(backend).await;
    let hal = app.verified_user("hal@example.com").await;
    let login = |device: Option<&'static str>| {
        let mut body = json!({"email": "hal@example.com", "password": PASSWORD});
        if let Some(d) = device {
            body["device_id"] = d.into();
        }
        app.client
            .post(app.url("/api/auth/login"))
            .header(
                "user-agent",
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
            )
            .json(&body)
            .send()
    };
    let notices = || {
        app.smtp
            .for_recipient("hal@example.com")
            .into_iter()
            .filter(|m| m.subject().starts_with("New sign-in"))
            .collect::<Vec<_>>()
    };
    // The first device, again, and a login that names none: nothing to tell.
    for device in [Some("laptop"), Some("laptop"), None] {
        assert_eq!(login(device).await.unwrap().status(), 200);
    }
    // Another device: told, with the device in words.
    assert_eq!(login(Some("phone")).await.unwrap().status(), 200);
    let mut told = Vec::new();
    for _ in 0..100 {
        told = notices();
        if !told.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(told.len(), 1);
    let text = told[0].part("text/plain");
    assert!(text.contains("Safari on iOS"), "{text}");
    let trail = trail(&app, &hal).await;
    let new: Vec<_> = trail
        .iter()
        .filter(|(k, _, d)| k == "sign_in.succeeded" && d["new_device"] == true)
        .collect();
    assert_eq!(new.len(), 1, "{trail:?}");
    // Known now: no second notice.
    assert_eq!(login(Some("phone")).await.unwrap().status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(notices().len(), 1);
}

/// Every event of `kind` in the trail (any account, or none), newest first.
async fn all_of(app: &TestApp, admin: &str, kind: &str) -> Vec<Value> {
    let page = app
        .get(
            &format!("/api/admin/audit?kind={kind}&limit=200"),
            Some(admin),
        )
        .await;
    page.expect(200)["events"].as_array().unwrap().clone()
}

async fn unknown_names_and_refusals_are_recorded_and_counted(backend: Backend) {
    use std::time::Duration;
    let app = crate::harness::spawn_app_with(
        backend,
        &[
            ("AUTHD_RATE_LIMIT", "3"),
            ("AUTHD_TRUST_FORWARDED_FOR", "true"),
            ("AUTHD_METRICS_BIND", "127.0.0.1:0"),
        ],
    )
    .await;
    let admin = app.admin("root@example.com").await;
    let ann = app.verified_user("ann@example.com").await;
    let post_from = |ip: &'static str, path: &'static str, body: Value| {
        let req = app
            .client
            .post(app.url(path))
            .header("x-forwarded-for", ip)
            .json(&body);
        async move { req.send().await.unwrap().status().as_u16() }
    };

    // Names no account holds: failures without a subject; an address or phone typed is kept,
    // a username (where passwords get typed by mistake) is not.
    let wrong = json!({"email": "nobody@example.com", "password": "a-guess-1234"});
    assert_eq!(post_from("10.0.0.1", "/api/auth/login", wrong).await, 401);
    let wrong = json!({"email": "Hunter2Secret", "password": "a-guess-1234"});
    assert_eq!(post_from("10.0.0.2", "/api/auth/login", wrong).await, 401);
    let failed = all_of(&app, &admin, "sign_in.failed").await;
    assert_eq!(failed.len(), 2, "{failed:#?}");
    for event in &failed {
        assert!(event["user_id"].is_null(), "{event}");
        assert_eq!(event["outcome"], "failure");
        assert_eq!(event["detail"]["reason"], "unknown_account");
    }
    let named: Vec<&Value> = failed
        .iter()
        .filter_map(|e| e["detail"].get("identifier"))
        .collect();
    assert_eq!(named, [&json!("nobody@example.com")]);
    let page = app.get("/api/admin/audit?limit=200", Some(&admin)).await;
    assert!(!page.text.to_lowercase().contains("hunter2secret"));
    assert!(!page.text.contains("a-guess-1234"));

    // Six sign-ups from one address a minute, three allowed: one refusal event, not three.
    for _ in 0..6 {
        post_from("10.0.0.3", "/api/auth/register", json!({})).await;
    }
    assert_eq!(
        post_from("10.0.0.3", "/api/auth/register", json!({})).await,
        429
    );
    let refused = all_of(&app, &admin, "rate_limit.refused").await;
    assert_eq!(refused.len(), 1, "{refused:#?}");
    assert_eq!(refused[0]["ip"], "10.0.0.3");
    assert_eq!(refused[0]["actor"], "system");
    assert_eq!(
        refused[0]["detail"],
        json!({"limit": "register", "per": "client_address"})
    );

    // Password guesses at Ann's account: three wrong, then (a minute later, the address's
    // request budget renewed) refused by the account's guess budget, twice: one event, hers.
    let guess = || json!({"email": "ann@example.com", "password": "not-her-password-1"});
    for _ in 0..3 {
        assert_eq!(post_from("10.0.0.4", "/api/auth/login", guess()).await, 401);
    }
    for _ in 0..2 {
        app.advance(Duration::from_secs(61));
        assert_eq!(post_from("10.0.0.4", "/api/auth/login", guess()).await, 429);
    }
    let refused = all_of(&app, &admin, "rate_limit.refused").await;
    assert_eq!(refused.len(), 2, "{refused:#?}");
    assert_eq!(refused[0]["user_id"], ann.as_str());
    assert_eq!(
        refused[0]["detail"],
        json!({"limit": "password_guesses", "per": "account_and_client_address"})
    );

    // The same counts in /metrics, every kind listed.
    let metrics = app.metrics_base.clone().unwrap();
    let text = app
        .client
        .get(format!("{metrics}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"authd_audit_events_total{kind="rate_limit.refused"} 2"#,
        r#"authd_audit_events_total{kind="sign_in.failed"} 5"#,
        r#"authd_audit_events_total{kind="key.retired"} 0"#,
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in {text}");
    }
}

async fn a_client_changes_in_place(backend: Backend) {
    use authd::oauth::client::{ClientChanges, GrantType};
    let app = spawn_app(backend).await;
    let admin = app.admin("root@example.com").await;
    let client = app
        .client(
            "confidential",
            &["client_credentials", "authorization_code"],
            &["api"],
            &["https://app.example.com/cb"],
        )
        .await;
    let old_secret = client.secret.clone().unwrap();
    let token = |secret: String| {
        let req = app
            .client
            .post(app.url("/oauth/token"))
            .basic_auth(&client.id, Some(secret))
            .form(&[("grant_type", "client_credentials"), ("scope", "api")]);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(token(old_secret.clone()).await, 200);

    let change = |changes: ClientChanges| {
        let db = app.state.db.clone();
        let id = client.id.clone();
        let now = app.state.clock.now_naive();
        async move {
            let old = authd::storage::clients::find_client(&db, &id)
                .await
                .unwrap()
                .unwrap();
            let update = changes.apply(&old)?;
            let rotated = update.secret.is_some();
            assert!(
                authd::storage::clients::update_client(
                    &db,
                    &update.row,
                    &update.fields,
                    rotated,
                    now
                )
                .await
                .unwrap()
            );
            Ok::<_, String>(update)
        }
    };
    // A new redirect address and a new secret: the old secret stops, the new one works.
    let update = change(ClientChanges {
        redirect_uris: Some(vec!["https://app.example.com/callback".into()]),
        rotate_secret: true,
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(update.fields, ["redirect_uris"]);
    let new_secret = update.secret.unwrap().expose().to_owned();
    assert_eq!(token(old_secret).await, 401);
    assert_eq!(token(new_secret.clone()).await, 200);
    let app = &app;
    let authorize = |redirect: &str| {
        let path = format!(
            "/oauth/authorize?response_type=code&client_id={}&redirect_uri={redirect}\
             &scope=api&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGjSw9cIMs\
             &code_challenge_method=S256&state=s",
            client.id
        );
        async move { app.get(&path, None).await }
    };
    // The old address is no longer one the client may be answered at (an error page, never a
    // redirect); the new one is.
    assert_eq!(authorize("https://app.example.com/cb").await.status, 400);
    assert_ne!(
        authorize("https://app.example.com/callback").await.status,
        400
    );

    // Checked as a new registration is; nothing changed is refused too.
    let bad = change(ClientChanges {
        grant_types: Some(vec![GrantType::AuthorizationCode]),
        redirect_uris: Some(vec!["not a uri".into()]),
        ..Default::default()
    })
    .await;
    assert!(bad.err().unwrap().contains("--redirect-uri"));
    let same = change(ClientChanges {
        scopes: Some(vec!["api".into()]),
        ..Default::default()
    })
    .await;
    assert!(same.err().unwrap().contains("nothing to change"));

    let updated = all_of(app, &admin, "client.updated").await;
    assert_eq!(updated.len(), 1, "{updated:#?}");
    assert_eq!(updated[0]["actor"], "cli");
    assert_eq!(updated[0]["client_id"], client.id.as_str());
    assert_eq!(
        updated[0]["detail"],
        json!({"fields": ["redirect_uris"], "secret_rotated": true})
    );
    let all = app.get("/api/admin/audit?limit=200", Some(&admin)).await;
    assert!(!all.text.contains(&new_secret));
}
