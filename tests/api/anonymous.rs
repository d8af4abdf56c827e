//! Anonymous users: real tokens at once; registering later keeps the same id.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::both_backends;
use crate::harness::{Backend, PASSWORD, s, spawn_app};

both_backends!(
    anonymous_user_registers_and_keeps_its_id,
    anonymous_ids_need_proof,
    stale_anonymous_users_are_purged
);

async fn anonymous_user_registers_and_keeps_its_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let anon = app
        .post("/api/auth/anonymous", json!({"device_id": "tab-1"}))
        .await
        .expect(201)
        .clone();
    let user = &anon["user"];
    assert_eq!(user["is_anonymous"], json!(true));
    assert_eq!(user["email"], json!(null));
    let id = s(&user["id"]).to_owned();
    let at = s(&anon["access_token"]).to_owned();
    assert_eq!(
        s(&app.get("/api/users/me", Some(&at)).await.expect(200)["id"]),
        id
    );
    app.post(
        "/api/auth/refresh",
        json!({"refresh_token": anon["refresh_token"], "device_id": "tab-1"}),
    )
    .await
    .expect(200);
    // No body at all works too.
    app.post_raw("/api/auth/anonymous", None, "")
        .await
        .expect(201);

    let reply = app
        .client
        .post(app.url("/api/auth/register"))
        .bearer_auth(&at)
        .json(&json!({"email": "was-anon@example.com", "password": PASSWORD, "anonymous_id": id}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 201);
    let body: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(
        s(&body["user_id"]),
        id,
        "the registration will keep the anonymous id"
    );
    // Until verified, it is still the anonymous user.
    assert_eq!(
        app.get("/api/users/me", Some(&at)).await.expect(200)["is_anonymous"],
        json!(true)
    );

    let token = app.smtp.wait_for("was-anon@example.com", 1).await.token();
    app.post("/api/auth/verify-email", json!({"token": token}))
        .await
        .expect(200);
    let registered = app.login("was-anon@example.com", None).await;
    assert_eq!(
        s(&registered["user"]["id"]),
        id,
        "same id, so the same sub for other services"
    );
    assert_eq!(registered["user"]["is_anonymous"], json!(false));
    // The anonymous session lives on as the registered user's.
    let me = app
        .get("/api/users/me", Some(&at))
        .await
        .expect(200)
        .clone();
    assert_eq!(s(&me["email"]), "was-anon@example.com");
}

async fn anonymous_ids_need_proof(backend: Backend) {
    let app = spawn_app(backend).await;
    let victim = app
        .post("/api/auth/anonymous", json!({}))
        .await
        .expect(201)
        .clone();
    let id = s(&victim["user"]["id"]);
    let claim = app
        .post(
            "/api/auth/register",
            json!({"email": "thief@example.com", "password": PASSWORD, "anonymous_id": id}),
        )
        .await;
    claim.expect(401);
    let other = app
        .post("/api/auth/anonymous", json!({}))
        .await
        .expect(201)
        .clone();
    let mismatched = app
        .post_auth(
            "/api/auth/register",
            s(&other["access_token"]),
            json!({"email": "thief@example.com", "password": PASSWORD, "anonymous_id": id}),
        )
        .await;
    assert!(mismatched.expect(400)["errors"]["anonymous_id"].is_string());
    // Anonymous users delete themselves without a password.
    app.send(
        Method::DELETE,
        "/api/users/me",
        Some(s(&victim["access_token"])),
        None,
    )
    .await
    .expect(204);
    // And cannot set an email through the profile: they register for that.
    let e = app
        .send(
            Method::PATCH,
            "/api/users/me",
            Some(s(&other["access_token"])),
            Some(json!({"email": "x@example.com"})),
        )
        .await;
    assert!(e.expect(400)["errors"]["email"].is_string());
}

async fn stale_anonymous_users_are_purged(backend: Backend) {
    use authd::storage::users::{UserKey, find_user, purge_stale_anonymous_users};
    let app = spawn_app(backend).await;
    let stale = app
        .post("/api/auth/anonymous", json!({}))
        .await
        .expect(201)
        .clone();
    let active = app
        .post("/api/auth/anonymous", json!({}))
        .await
        .expect(201)
        .clone();
    app.verified_user("real@example.com").await;
    let mut token = active["refresh_token"].clone();
    for _ in 0..3 {
        app.advance(Duration::from_secs(6 * 86400));
        token = app
            .post("/api/auth/refresh", json!({"refresh_token": token}))
            .await
            .expect(200)["refresh_token"]
            .clone();
    }
    app.advance(Duration::from_secs(13 * 86400));
    let max_age = chrono::Duration::days(30);
    let purged = purge_stale_anonymous_users(&app.state.db, app.state.clock.now_naive(), max_age)
        .await
        .unwrap();
    assert_eq!(purged, 1);
    let exists = |id: String| {
        let db = app.state.db.clone();
        async move { find_user(&db, UserKey::Id(&id)).await.unwrap().is_some() }
    };
    assert!(!exists(s(&stale["user"]["id"]).to_owned()).await);
    assert!(
        exists(s(&active["user"]["id"]).to_owned()).await,
        "used within the window"
    );
    app.login("real@example.com", None).await;
}
