//! Refresh-token rotation: the grace window, theft detection, device binding, lifetimes.

use std::time::Duration;

use serde_json::{Value, json};

use crate::both_backends;
use crate::harness::{Backend, TestApp, s, spawn_app, spawn_app_with};

both_backends!(
    refresh_rotates_and_retires_the_old_token,
    a_retired_token_within_the_grace_window_gets_the_same_successor,
    a_retired_token_after_the_grace_window_ends_the_session,
    concurrent_refreshes_agree_on_one_successor,
    a_session_bound_to_a_device_refuses_other_devices,
    refresh_tokens_expire_when_unused_and_sessions_at_max_age,
    expired_access_tokens_are_refused,
    malformed_refresh_requests,
    housekeeping_purges_only_what_nobody_can_use,
    the_session_list_shows_use_to_the_minute,
);

async fn refresh(app: &TestApp, token: &Value, device: Option<&str>) -> crate::harness::Reply {
    let mut body = json!({"refresh_token": token});
    if let Some(d) = device {
        body["device_id"] = d.into();
    }
    app.post("/api/auth/refresh", body).await
}

async fn refresh_rotates_and_retires_the_old_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.verified_user("rot@example.com").await;
    let first = app.login("rot@example.com", Some("web_chrome_xyz")).await;
    let second = refresh(&app, &first["refresh_token"], Some("web_chrome_xyz"))
        .await
        .expect(200)
        .clone();
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_ne!(second["access_token"], first["access_token"]);
    assert_eq!(s(&second["user"]["id"]), id);
    let me = app
        .get("/api/users/me", Some(s(&second["access_token"])))
        .await;
    me.expect(200);
    // `token` is accepted for the refresh token, as in 002_ad02babe3d6ebc91.txt, on `/auth`.
    let third = app
        .post(
            "/auth/refresh",
            json!({"token": second["refresh_token"], "device_id": "web_chrome_xyz"}),
        )
        .await
        .expect(200)
        .clone();
    assert_ne!(third["refresh_token"], second["refresh_token"]);
    // Form bodies work too.
    let fourth = app
        .post_form(
            "/api/auth/refresh",
            &[
                ("refresh_token", s(&third["refresh_token"])),
                ("device_id", "web_chrome_xyz"),
            ],
        )
        .await;
    fourth.expect(200);
}

async fn a_retired_token_within_the_grace_window_gets_the_same_successor(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("grace@example.com").await;
    let first = app.login("grace@example.com", None).await;
    let a = refresh(&app, &first["refresh_token"], None)
        .await
        .expect(200)
        .clone();
    app.advance(Duration::from_secs(5));
    // A second tab presents the same retired token: same successor, no logout.
    let b = refresh(&app, &first["refresh_token"], None)
        .await
        .expect(200)
        .clone();
    assert_eq!(a["refresh_token"], b["refresh_token"]);
    // The successor works and rotates as usual; retrying the original still follows the chain.
    let c = refresh(&app, &a["refresh_token"], None)
        .await
        .expect(200)
        .clone();
    let d = refresh(&app, &first["refresh_token"], None)
        .await
        .expect(200)
        .clone();
    assert_eq!(c["refresh_token"], d["refresh_token"]);
    app.get("/api/users/me", Some(s(&d["access_token"])))
        .await
        .expect(200);
}

async fn a_retired_token_after_the_grace_window_ends_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("theft@example.com").await;
    let first = app.login("theft@example.com", None).await;
    let other_device = app.login("theft@example.com", None).await;
    let rotated = refresh(&app, &first["refresh_token"], None)
        .await
        .expect(200)
        .clone();
    app.advance(Duration::from_secs(11));
    let stolen = refresh(&app, &first["refresh_token"], None).await;
    assert_eq!(
        stolen.expect(401),
        &json!({"message": "Invalid refresh token"})
    );
    // The whole session ended: the legitimate holder's newer tokens die with it.
    refresh(&app, &rotated["refresh_token"], None)
        .await
        .expect(401);
    app.get("/api/users/me", Some(s(&rotated["access_token"])))
        .await
        .expect(401);
    // Other sessions are untouched.
    refresh(&app, &other_device["refresh_token"], None)
        .await
        .expect(200);
}

async fn concurrent_refreshes_agree_on_one_successor(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("race@example.com").await;
    let first = app.login("race@example.com", None).await;
    let replies = futures_util::future::join_all(
        (0..6).map(|_| refresh(&app, &first["refresh_token"], None)),
    )
    .await;
    let tokens: Vec<&Value> = replies
        .iter()
        .map(|r| &r.expect(200)["refresh_token"])
        .collect();
    assert!(
        tokens.iter().all(|t| *t == tokens[0]),
        "every racer gets the one successor: {tokens:?}"
    );
    refresh(&app, tokens[0], None).await.expect(200);
}

async fn a_session_bound_to_a_device_refuses_other_devices(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("dev@example.com").await;
    let first = app.login("dev@example.com", Some("phone-1")).await;
    refresh(&app, &first["refresh_token"], Some("laptop-9"))
        .await
        .expect(401);
    // The refused attempt did not rotate anything: the right device carries on.
    let ok = refresh(&app, &first["refresh_token"], Some("phone-1"))
        .await
        .expect(200)
        .clone();
    // A copy of the token taken off the device, presented without its id, is refused too.
    refresh(&app, &ok["refresh_token"], None).await.expect(401);
    refresh(&app, &ok["refresh_token"], Some("phone-1"))
        .await
        .expect(200);
}

async fn refresh_tokens_expire_when_unused_and_sessions_at_max_age(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("AUTHD_REFRESH_TOKEN_TTL", "7d"),
            ("AUTHD_SESSION_MAX_AGE", "30d"),
        ],
    )
    .await;
    app.verified_user("age@example.com").await;
    let idle = app.login("age@example.com", None).await;
    let active = app.login("age@example.com", None).await;
    let mut current = active["refresh_token"].clone();
    for _ in 0..4 {
        app.advance(Duration::from_secs(6 * 86400));
        current = refresh(&app, &current, None).await.expect(200)["refresh_token"].clone();
    }
    // 24 days: the idle session's token expired after 7.
    refresh(&app, &idle["refresh_token"], None)
        .await
        .expect(401);
    app.advance(Duration::from_secs(6 * 86400 + 60));
    // 30 days and a minute after login: the active session ends however fresh its token.
    refresh(&app, &current, None).await.expect(401);
}

async fn expired_access_tokens_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("exp@example.com").await;
    let tokens = app.login("exp@example.com", None).await;
    app.advance(Duration::from_secs(14 * 60));
    app.get("/api/users/me", Some(s(&tokens["access_token"])))
        .await
        .expect(200);
    app.advance(Duration::from_secs(2 * 60));
    let reply = app
        .get("/api/users/me", Some(s(&tokens["access_token"])))
        .await;
    assert_eq!(
        reply.expect(401),
        &json!({"message": "Invalid or expired token"})
    );
    let renewed = refresh(&app, &tokens["refresh_token"], None)
        .await
        .expect(200)
        .clone();
    app.get("/api/users/me", Some(s(&renewed["access_token"])))
        .await
        .expect(200);
}

async fn malformed_refresh_requests(backend: Backend) {
    let app = spawn_app(backend).await;
    let missing = app.post("/api/auth/refresh", json!({})).await;
    assert!(missing.expect(400)["errors"]["refresh_token"].is_string());
    for bad in [
        json!("garbage"),
        json!("x".repeat(5000)),
        json!("eyJhbGciOiJub25lIn0.e30."),
        json!(" "),
    ] {
        let r = app
            .post("/api/auth/refresh", json!({"refresh_token": bad}))
            .await;
        assert!(r.status == 401 || r.status == 400, "{}", r.text);
    }
    let typed = app
        .post("/api/auth/refresh", json!({"refresh_token": 42}))
        .await;
    assert!(typed.expect(400)["errors"]["refresh_token"].is_string());
}

async fn housekeeping_purges_only_what_nobody_can_use(backend: Backend) {
    use authd::storage::maintenance::purge_expired;
    let app = spawn_app(backend).await;
    app.verified_user("keep@example.com").await;
    let old = app.login("keep@example.com", None).await;
    app.register("never@example.com").await;
    let now = || app.state.clock.now_naive();
    assert_eq!(
        purge_expired(&app.state.db, now()).await.unwrap(),
        0,
        "nothing is stale yet"
    );

    app.advance(Duration::from_secs(31 * 86400));
    let fresh = app.login("keep@example.com", None).await;
    let purged = purge_expired(&app.state.db, now()).await.unwrap();
    assert!(
        purged >= 3,
        "expired session, its token, the pending sign-up: {purged}"
    );
    refresh(&app, &old["refresh_token"], None).await.expect(401);
    refresh(&app, &fresh["refresh_token"], None)
        .await
        .expect(200);
    // The stale sign-up is gone: the address can start again.
    app.register("never@example.com").await;
}

/// A rotation marks its session used (what the session list shows), at most once a minute:
/// refreshes within the minute leave it, the first one after moves it.
async fn the_session_list_shows_use_to_the_minute(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("minute@example.com").await;
    let first = app.login("minute@example.com", None).await;
    let last_used = |tokens: Value| {
        let app = &app;
        async move {
            let list = app
                .get("/api/users/me/sessions", Some(s(&tokens["access_token"])))
                .await
                .expect(200)
                .clone();
            let at = s(&list[0]["last_used_at"]);
            chrono::DateTime::parse_from_rfc3339(at).unwrap()
        }
    };
    let signed_in = last_used(first.clone()).await;
    app.advance(Duration::from_secs(20));
    let soon = refresh(&app, &first["refresh_token"], None)
        .await
        .expect(200)
        .clone();
    assert_eq!(
        last_used(soon.clone()).await,
        signed_in,
        "within the minute: not written"
    );
    app.advance(Duration::from_secs(50));
    let later = refresh(&app, &soon["refresh_token"], None)
        .await
        .expect(200)
        .clone();
    let moved = last_used(later.clone()).await;
    // (The clock is the database's, moved on by the test: a second or two of real time too.)
    let apart = (moved - signed_in).num_seconds();
    assert!(
        (70..=73).contains(&apart),
        "written after a minute: {apart} s"
    );
    // And the rotation itself happened: the successor works, its predecessor is retired.
    refresh(&app, &later["refresh_token"], None)
        .await
        .expect(200);
}
