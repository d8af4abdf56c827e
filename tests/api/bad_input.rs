//! Bad input of every kind gets a clear 4xx in the contract's shape; never a 5xx.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use crate::both_backends;
use crate::harness::{Backend, PASSWORD, s, spawn_app};

both_backends!(
    malformed_bodies_are_4xx_in_the_error_shape,
    validation_names_every_bad_field,
    forged_and_tampered_tokens_are_refused,
    unknown_routes_and_methods,
    a_browser_at_the_edges_gets_pages_not_json,
);

async fn malformed_bodies_are_4xx_in_the_error_shape(backend: Backend) {
    let app = spawn_app(backend).await;
    let cases: Vec<(Option<&str>, Vec<u8>, u16)> = vec![
        (Some("application/json"), b"{not json".to_vec(), 400),
        (
            Some("application/json"),
            b"{\"email\":\"a@b.co\"} trailing".to_vec(),
            400,
        ),
        (Some("application/json"), b"[1,2,3]".to_vec(), 400),
        (Some("application/json"), b"\"just a string\"".to_vec(), 400),
        (Some("application/json"), vec![0xff, 0xfe, 0x00], 400),
        (
            Some("application/json"),
            format!("{{\"email\": \"{}\"}}", "a".repeat(70_000)).into_bytes(),
            413,
        ),
        (Some("text/plain"), b"email=a@b.c".to_vec(), 415),
        (None, b"{\"email\":\"a@b.c\"}".to_vec(), 415),
        (Some("application/xml"), b"<x/>".to_vec(), 415),
        (
            Some("application/x-www-form-urlencoded"),
            b"email=%ZZ&&==".to_vec(),
            400,
        ),
    ];
    for path in [
        "/api/auth/register",
        "/api/auth/login",
        "/api/auth/refresh",
        "/auth/verify-email",
    ] {
        for (ct, body, status) in &cases {
            let reply = app.post_raw(path, *ct, body.clone()).await;
            assert_eq!(reply.status, *status, "{path} {ct:?}: {}", reply.text);
            assert!(
                reply.json["message"].is_string(),
                "{path}: error shape: {}",
                reply.text
            );
            assert_eq!(reply.header("content-type"), Some("application/json"));
        }
    }
    // Wrong JSON types name the field.
    let typed = app
        .post(
            "/api/auth/register",
            json!({"email": 12, "password": PASSWORD}),
        )
        .await;
    assert!(
        typed.expect(400)["errors"]["email"].is_string(),
        "{}",
        typed.text
    );
    let nested = app
        .post(
            "/api/auth/login",
            json!({"email": {"$ne": null}, "password": PASSWORD}),
        )
        .await;
    nested.expect(400);
}

async fn validation_names_every_bad_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let reply = app
        .post(
            "/api/auth/register",
            json!({"email": "not-an-email", "password": "short", "username": "No Caps!", "phone": "12",
                   "first_name": "x".repeat(51), "full_name": "y".repeat(101)}),
        )
        .await;
    let body = reply.expect(400);
    assert_eq!(s(&body["message"]), "Validation failed");
    for field in [
        "email",
        "password",
        "username",
        "phone",
        "first_name",
        "full_name",
    ] {
        assert!(
            body["errors"][field].is_string(),
            "{field} missing in {body}"
        );
    }
    let empty = app
        .post_raw("/api/auth/register", Some("application/json"), "")
        .await;
    let errors = &empty.expect(400)["errors"];
    assert!(errors["email"].is_string() && errors["password"].is_string());

    for (password, why) in [
        ("abcdefgh", "no digit"),
        ("12345678", "no letter"),
        ("odd@example.com1", ""),
    ] {
        let r = app
            .post(
                "/api/auth/register",
                json!({"email": "odd@example.com1", "password": password}),
            )
            .await;
        assert_eq!(r.status, 400, "{password} {why}");
    }
    let same = app
        .post(
            "/api/auth/register",
            json!({"email": "pw1@example.com", "password": "pw1@example.com"}),
        )
        .await;
    assert!(same.expect(400)["errors"]["password"].is_string());
    // Odd unicode in the address: refused cleanly, and internationalised domains accepted.
    for email in [
        "a\u{0}b@example.com",
        "\u{202e}moc.elpmaxe@a",
        "🙂@",
        "a@b@c",
    ] {
        app.post(
            "/api/auth/register",
            json!({"email": email, "password": PASSWORD}),
        )
        .await
        .expect(400);
    }
    app.post(
        "/api/auth/register",
        json!({"email": "josé@bücher.example", "password": PASSWORD}),
    )
    .await
    .expect(201);
    app.post(
        "/api/auth/register",
        json!({"email": "a@b.technology", "password": PASSWORD}),
    )
    .await
    .expect(201);
}

async fn forged_and_tampered_tokens_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("forge@example.com").await;
    let at = app.login("forge@example.com", None).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let parts: Vec<&str> = at.split('.').collect();
    let payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();

    let mut admin = payload.clone();
    admin["role"] = json!("ADMIN");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(admin.to_string()),
        parts[2]
    );
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"at+jwt"}"#);
    let alg_none = format!("{none_header}.{}.", parts[1]);
    let hs_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"at+jwt"}"#);
    let hs256 = format!("{hs_header}.{}.{}", parts[1], parts[2]);
    let unknown_kid = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"at+jwt","kid":"nope"}"#),
        parts[1],
        parts[2]
    );
    let wrong_typ = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT"}"#),
        parts[1],
        parts[2]
    );
    for token in [
        tampered.as_str(),
        &alg_none,
        &hs256,
        &unknown_kid,
        &wrong_typ,
        "garbage",
        "a.b.c",
        &"x".repeat(10_000),
    ] {
        let reply = app.get("/api/users/me", Some(token)).await;
        assert_eq!(reply.status, 401, "{token:.40}: {}", reply.text);
        assert!(reply.json["message"].is_string());
    }
    for header in ["Basic abc", "Bearer", "Bearer ", "bearer\u{0}x"] {
        let r = app
            .client
            .get(app.url("/api/users/me"))
            .header("authorization", header)
            .send()
            .await;
        if let Ok(r) = r {
            assert_eq!(r.status().as_u16(), 401, "{header:?}");
        }
    }
}

async fn unknown_routes_and_methods(backend: Backend) {
    let app = spawn_app(backend).await;
    let missing = app.get("/api/nothing-here", None).await;
    assert_eq!(missing.expect(404), &json!({"message": "Not found"}));
    let wrong_method = app.get("/api/auth/login", None).await;
    assert_eq!(wrong_method.status, 405);
    assert!(wrong_method.json["message"].is_string());
    let id = app.get("/healthz", None).await;
    assert!(id.header("x-request-id").is_some());
}

/// A person who types an address, follows a cut link or reloads a form's result sees a page
/// with a way on; a program still gets JSON; nothing asks to be indexed.
async fn a_browser_at_the_edges_gets_pages_not_json(backend: Backend) {
    let app = spawn_app(backend).await;
    let browse = |path: &str| {
        app.client
            .get(app.url(path))
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
            .send()
    };
    for (path, status, says) in [
        ("/", 200, "Sign-in service"),
        ("/nothing-here", 404, "Page not found"),
        ("/api/auth/verify-email-typo?token=x", 404, "Page not found"),
        ("/api/auth/login", 405, "cannot be opened directly"),
        ("/account/reset-password", 405, "cannot be opened directly"),
        ("/api/auth/verify", 400, "This link is incomplete"),
    ] {
        let r = browse(path).await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        let page = r.text().await.unwrap();
        assert!(page.contains(says), "{path}: {page}");
        assert!(page.contains("href=\"&#x2f;"), "a way on: {page}");
        assert!(page.contains("<meta name=\"robots\" content=\"noindex\">"));
        // The request id, for support, on a page that reports a problem only.
        assert_eq!(page.contains("Request id"), status >= 400, "{path}");
    }
    // Programs: JSON as before.
    let root = app.get("/", None).await;
    let root = root.expect(200);
    assert_eq!(root["issuer"], json!(app.state.config.issuer));
    assert!(s(&root["openid_configuration"]).ends_with("/.well-known/openid-configuration"));
    assert_eq!(
        app.get("/nothing-here", None).await.expect(404),
        &json!({"message": "Not found"})
    );
    let robots = app.client.get(app.url("/robots.txt")).send().await.unwrap();
    assert_eq!(robots.status(), 200);
    assert_eq!(robots.text().await.unwrap(), "User-agent: *\nDisallow: /\n");
    let icon = browse("/favicon.ico").await.unwrap();
    assert_eq!(icon.status(), 204);
}
