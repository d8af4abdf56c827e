//! Admin user management and the `create-admin` bootstrap.

use reqwest::Method;
use serde_json::json;

use crate::both_backends;
use crate::harness::{Backend, PASSWORD, s, spawn_app};

both_backends!(
    admin_lists_searches_and_pages_users,
    admin_changes_roles_disables_and_deletes,
    only_admins_get_in
);

async fn admin_lists_searches_and_pages_users(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin("root@example.com").await;
    for i in 0..5 {
        app.verified_user(&format!("member{i}@example.com")).await;
    }
    app.verified_user("zed_100%@example.com").await;
    let all = app
        .get("/api/admin/users", Some(&admin))
        .await
        .expect(200)
        .clone();
    assert_eq!(all["total"], json!(7));
    assert_eq!(all["page"], json!(1));
    assert_eq!(all["per_page"], json!(20));
    assert_eq!(all["users"].as_array().unwrap().len(), 7);

    let page = app
        .get("/api/admin/users?q=MEMBER&page=2&per_page=2", Some(&admin))
        .await
        .expect(200)
        .clone();
    assert_eq!(page["total"], json!(5));
    let emails: Vec<&str> = page["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| s(&u["email"]))
        .collect();
    assert_eq!(emails.len(), 2);
    assert!(emails.iter().all(|e| e.starts_with("member")));
    // LIKE wildcards in the search are literal.
    let literal = app
        .get("/api/admin/users?q=100%25", Some(&admin))
        .await
        .expect(200)
        .clone();
    assert_eq!(literal["total"], json!(1));
    let underscore = app
        .get("/api/admin/users?q=_", Some(&admin))
        .await
        .expect(200)
        .clone();
    assert_eq!(underscore["total"], json!(1));
    for bad in ["page=0", "per_page=1000", "page=x"] {
        app.get(&format!("/api/admin/users?{bad}"), Some(&admin))
            .await
            .expect(400);
    }
}

async fn admin_changes_roles_disables_and_deletes(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin("boss@example.com").await;
    let id = app.verified_user("worker@example.com").await;
    let worker = app.login("worker@example.com", None).await;
    let path = format!("/api/admin/users/{id}");

    let got = app.get(&path, Some(&admin)).await.expect(200).clone();
    assert_eq!(s(&got["email"]), "worker@example.com");
    app.get(
        "/api/admin/users/00000000-0000-0000-0000-000000000000",
        Some(&admin),
    )
    .await
    .expect(404);

    // Promote: the stored role decides, so admin routes open at once.
    let promoted = app
        .send(
            Method::PATCH,
            &path,
            Some(&admin),
            Some(json!({"role": "ADMIN"})),
        )
        .await;
    assert_eq!(s(&promoted.expect(200)["role"]), "ADMIN");
    app.get("/api/admin/users", Some(s(&worker["access_token"])))
        .await
        .expect(200);
    let fresh = app.login("worker@example.com", None).await;
    let claims = crate::login::verify_with_jwks(
        app.get("/.well-known/jwks.json", None).await.expect(200),
        s(&fresh["access_token"]),
    );
    assert_eq!(
        s(&claims["role"]),
        "ADMIN",
        "the role claim follows the stored role"
    );
    app.send(
        Method::PATCH,
        &path,
        Some(&admin),
        Some(json!({"role": "customer"})),
    )
    .await
    .expect(200);
    app.get("/api/admin/users", Some(s(&worker["access_token"])))
        .await
        .expect(403);
    app.send(
        Method::PATCH,
        &path,
        Some(&admin),
        Some(json!({"role": "GOD"})),
    )
    .await
    .expect(400);
    app.send(Method::PATCH, &path, Some(&admin), Some(json!({})))
        .await
        .expect(400);

    // Disable: sessions end, login and refresh are refused.
    let disabled = app
        .send(
            Method::PATCH,
            &path,
            Some(&admin),
            Some(json!({"is_active": false})),
        )
        .await;
    assert_eq!(disabled.expect(200)["is_active"], json!(false));
    app.get("/api/users/me", Some(s(&fresh["access_token"])))
        .await
        .expect(401);
    app.post(
        "/api/auth/refresh",
        json!({"refresh_token": fresh["refresh_token"]}),
    )
    .await
    .expect(401);
    let refused = app
        .post(
            "/api/auth/login",
            json!({"email": "worker@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(refused.expect(403), &json!({"message": "Account disabled"}));
    app.send(
        Method::PATCH,
        &path,
        Some(&admin),
        Some(json!({"is_active": true})),
    )
    .await
    .expect(200);
    let back = app.login("worker@example.com", None).await;

    app.send(
        Method::DELETE,
        &format!("{path}/sessions"),
        Some(&admin),
        None,
    )
    .await
    .expect(204);
    app.get("/api/users/me", Some(s(&back["access_token"])))
        .await
        .expect(401);

    // Admins cannot lock themselves out.
    let me = app
        .get("/api/users/me", Some(&admin))
        .await
        .expect(200)
        .clone();
    let self_path = format!("/api/admin/users/{}", s(&me["id"]));
    app.send(
        Method::PATCH,
        &self_path,
        Some(&admin),
        Some(json!({"role": "CUSTOMER"})),
    )
    .await
    .expect(403);
    app.send(Method::DELETE, &self_path, Some(&admin), None)
        .await
        .expect(403);

    app.send(Method::DELETE, &path, Some(&admin), None)
        .await
        .expect(204);
    app.send(Method::DELETE, &path, Some(&admin), None)
        .await
        .expect(404);
    app.send(
        Method::DELETE,
        &format!("{path}/sessions"),
        Some(&admin),
        None,
    )
    .await
    .expect(404);
    app.post(
        "/api/auth/login",
        json!({"email": "worker@example.com", "password": PASSWORD}),
    )
    .await
    .expect(401);
}

async fn only_admins_get_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.verified_user("plain@example.com").await;
    let at = app.login("plain@example.com", None).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/admin/users/{id}");
    for (method, p) in [
        (Method::GET, "/api/admin/users".to_owned()),
        (Method::GET, path.clone()),
        (Method::PATCH, path.clone()),
        (Method::DELETE, path.clone()),
        (Method::DELETE, format!("{path}/sessions")),
    ] {
        let body = (method == Method::PATCH).then(|| json!({"role": "ADMIN"}));
        let forbidden = app.send(method.clone(), &p, Some(&at), body.clone()).await;
        assert_eq!(
            forbidden.expect(403),
            &json!({"message": "Admin access required"}),
            "{method} {p}"
        );
        app.send(method, &p, None, body).await.expect(401);
    }
}

#[test]
fn cli_create_admin_reads_the_password_from_stdin() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let run = |email: &str, stdin: &str| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_authd"))
            .args(["users", "create-admin", "--email", email])
            .current_dir(dir.path())
            .env_remove("DATABASE_URL")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, _, stderr) = run("admin@example.com", "short\n");
    assert!(!ok, "a weak password is refused");
    assert!(stderr.contains("password"), "{stderr}");
    let (ok, stdout, stderr) = run("admin@example.com", "a-strong-pass-1\n");
    assert!(ok, "{stderr}");
    assert!(stdout.contains("created admin admin@example.com"));
    let (ok, stdout, _) = run("admin@example.com", "");
    assert!(ok);
    assert!(stdout.contains("promoted"));
    let (ok, _, stderr) = run("not-an-email", "a-strong-pass-1\n");
    assert!(!ok && stderr.contains("--email"));
}
