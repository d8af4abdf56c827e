//! One replay per seed frontend contract (the five frontend/backend API documents authd was built to serve), in its own words and shapes.

use reqwest::Method;
use serde_json::json;

use crate::both_backends;
use crate::harness::{Backend, s, spawn_app, spawn_app_with};

both_backends!(
    seed_000_cv_chap_chap,
    seed_001_pre_registration_and_devices,
    seed_002_cv_adapt_without_verification,
    seed_003_auth_service_on_api_auth,
    seed_004_camel_case_frontend,
);

/// 000_59e666a263af37fa.txt: email or phone login, `/api/auth/me`, `/api/user/profile`,
/// `/api/user/change-password`, forgot/reset, anonymous CV linking, admin deletion, and the
/// self-service deletion it lists as missing.
async fn seed_000_cv_chap_chap(backend: Backend) {
    let app = spawn_app(backend).await;
    // Anonymous CV creation, then registration that links it.
    let anon = app
        .post("/api/auth/anonymous", json!({}))
        .await
        .expect(201)
        .clone();
    let anon_id = s(&anon["user"]["id"]).to_owned();
    let reg = app
        .post_auth(
            "/api/auth/register",
            s(&anon["access_token"]),
            json!({"email": "wanjiku@cvchapchap.co.ke", "password": "Kenya2025pass", "phone_number": "+254 722 000111",
                   "anonymous_id": anon_id}),
        )
        .await;
    reg.expect(201);
    let token = app
        .smtp
        .wait_for("wanjiku@cvchapchap.co.ke", 1)
        .await
        .token();
    app.get(&format!("/api/auth/verify?token={token}"), None)
        .await
        .expect(200);

    let by_phone = app
        .post(
            "/api/auth/login",
            json!({"phone_number": "+254722000111", "password": "Kenya2025pass"}),
        )
        .await;
    let tokens = by_phone.expect(200).clone();
    assert_eq!(
        s(&tokens["user"]["id"]),
        anon_id,
        "the anonymous CVs stay linked"
    );
    assert_eq!(
        s(&tokens["user"]["username"]),
        "wanjiku",
        "username derived from the email"
    );
    let at = s(&tokens["access_token"]).to_owned();
    let me = app.get("/api/auth/me", Some(&at)).await.expect(200).clone();
    assert_eq!(s(&me["phone"]), "+254722000111");
    assert_eq!(
        app.get("/api/user/profile", Some(&at)).await.expect(200),
        &me
    );

    let put = app
        .send(
            Method::PUT,
            "/api/user/profile",
            Some(&at),
            Some(json!({"username": "wanjiku.m", "phone_number": "+254 733 000222"})),
        )
        .await;
    assert_eq!(s(&put.expect(200)["username"]), "wanjiku.m");
    app.post_auth(
        "/api/user/change-password",
        &at,
        json!({"current_password": "Kenya2025pass", "new_password": "Nairobi2026pass"}),
    )
    .await
    .expect(200);
    app.post(
        "/api/auth/forgot-password",
        json!({"email": "wanjiku@cvchapchap.co.ke"}),
    )
    .await
    .expect(200);
    let reset = app
        .smtp
        .wait_for("wanjiku@cvchapchap.co.ke", 2)
        .await
        .token();
    app.post(
        "/api/auth/reset-password",
        json!({"token": reset, "new_password": "Mombasa2027pass"}),
    )
    .await
    .expect(200);
    let tokens = app
        .post(
            "/api/auth/login",
            json!({"email": "wanjiku@cvchapchap.co.ke", "password": "Mombasa2027pass"}),
        )
        .await
        .expect(200)
        .clone();
    app.post(
        "/api/auth/logout",
        json!({"refresh_token": tokens["refresh_token"]}),
    )
    .await
    .expect(200);

    // Admin deletion, and self-service deletion for everyone else.
    let admin = app.admin("admin@cvchapchap.com").await;
    app.send(
        Method::DELETE,
        &format!("/api/admin/users/{anon_id}"),
        Some(&admin),
        None,
    )
    .await
    .expect(204);
    app.verified_user("self@cvchapchap.co.ke").await;
    let own = app.login("self@cvchapchap.co.ke", None).await;
    app.send(
        Method::DELETE,
        "/api/users/me",
        Some(s(&own["access_token"])),
        Some(json!({"password": crate::harness::PASSWORD})),
    )
    .await
    .expect(204);
}

/// 001_ceca66ef6d36bb78.txt: pre-registration, verify link, device-bound login and refresh,
/// `/api/users/me`, logout, and `/auth/logout-all`.
async fn seed_001_pre_registration_and_devices(backend: Backend) {
    let app = spawn_app(backend).await;
    let reg = app
        .post("/api/auth/register", json!({"email": "test@example.com", "full_name": "John Doe", "password": "mypassword123"}))
        .await;
    assert!(s(&reg.expect(201)["message"]).contains("test@example.com"));
    let token = app.smtp.wait_for("test@example.com", 1).await.token();
    let verified = app
        .get(&format!("/api/auth/verify?token={token}"), None)
        .await;
    assert_eq!(
        verified.expect(200),
        &json!({"message": "Email verified successfully. You can now log in."})
    );
    app.get(&format!("/api/auth/verify?token={token}"), None)
        .await
        .expect(409);

    let login = app
        .post("/api/auth/login", json!({"email": "test@example.com", "password": "mypassword123", "device_id": "web_chrome_xyz"}))
        .await
        .expect(200)
        .clone();
    assert!(login["access_token"].is_string() && login["refresh_token"].is_string());
    assert_eq!(s(&login["user"]["full_name"]), "John Doe");
    assert_eq!(s(&login["user"]["role"]), "CUSTOMER");
    let refreshed = app
        .post(
            "/api/auth/refresh",
            json!({"refresh_token": login["refresh_token"], "device_id": "web_chrome_xyz"}),
        )
        .await
        .expect(200)
        .clone();
    let me = app
        .get("/api/users/me", Some(s(&refreshed["access_token"])))
        .await
        .expect(200)
        .clone();
    assert_eq!(me["is_email_verified"], json!(true));
    assert_eq!(s(&me["full_name"]), "John Doe");
    let out = app
        .post(
            "/api/auth/logout",
            json!({"refresh_token": refreshed["refresh_token"]}),
        )
        .await;
    assert_eq!(
        out.expect(200),
        &json!({"message": "Logged out successfully"})
    );

    let a = app
        .post(
            "/api/auth/login",
            json!({"email": "test@example.com", "password": "mypassword123", "device_id": "phone"}),
        )
        .await
        .expect(200)
        .clone();
    let all = app
        .post_auth("/auth/logout-all", s(&a["access_token"]), json!({}))
        .await;
    assert_eq!(all.expect(200), &json!({"message": "All sessions revoked"}));
}

/// 002_ad02babe3d6ebc91.txt: `/auth/...` paths, register answering with tokens, a form-encoded
/// OAuth2-password-style login, refresh with `{"token"}`, 401 on a bad token.
async fn seed_002_cv_adapt_without_verification(backend: Backend) {
    let app = spawn_app_with(backend, &[("AUTHD_REQUIRE_EMAIL_VERIFICATION", "false")]).await;
    let reg = app
        .post(
            "/auth/register",
            json!({"email": "user@example.com", "password": "userpassword1"}),
        )
        .await;
    let body = reg.expect(201).clone();
    assert!(body["access_token"].is_string() && body["refresh_token"].is_string());
    assert_eq!(s(&body["token_type"]).to_lowercase(), "bearer");
    assert_eq!(s(&body["user"]["email"]), "user@example.com");
    assert!(body["user"]["created_at"].is_string());
    let dup = app
        .post(
            "/auth/register",
            json!({"email": "user@example.com", "password": "userpassword1"}),
        )
        .await;
    dup.expect(409);

    let login = app
        .post_form(
            "/auth/login",
            &[
                ("username", "user@example.com"),
                ("password", "userpassword1"),
            ],
        )
        .await;
    let login = login.expect(200).clone();
    let wrong = app
        .post_form(
            "/auth/login",
            &[
                ("username", "user@example.com"),
                ("password", "nope-nope-1"),
            ],
        )
        .await;
    wrong.expect(401);
    let refreshed = app
        .post("/auth/refresh", json!({"token": login["refresh_token"]}))
        .await
        .expect(200)
        .clone();
    assert!(refreshed["user"]["id"].is_string());
    app.post("/auth/refresh", json!({"token": "eyJ1..."}))
        .await
        .expect(401);
    app.get("/auth/me", Some(s(&refreshed["access_token"])))
        .await
        .expect(200);
    app.get("/auth/me", Some("eyJ0...")).await.expect(401);
}

/// 003_442ec479324a07b5.txt: base URL `/api/auth`, verify by POST and by link, login only once
/// verified, forgot/reset, and `GET /user` wrapped as `{"user": ...}`.
async fn seed_003_auth_service_on_api_auth(backend: Backend) {
    let app = spawn_app(backend).await;
    let reg = app
        .post(
            "/api/auth/register",
            json!({"email": "user@example.com", "password": "YourPassword123"}),
        )
        .await;
    reg.expect(201);
    let early = app
        .post(
            "/api/auth/login",
            json!({"email": "user@example.com", "password": "YourPassword123"}),
        )
        .await;
    assert_eq!(early.expect(403), &json!({"message": "Email not verified"}));
    let token = app.smtp.wait_for("user@example.com", 1).await.token();
    app.post("/api/auth/verify-email", json!({"token": token}))
        .await
        .expect(200);

    app.post(
        "/api/auth/register",
        json!({"email": "link@example.com", "password": "YourPassword123"}),
    )
    .await
    .expect(201);
    let link_token = app.smtp.wait_for("link@example.com", 1).await.token();
    let by_link = app
        .get(
            &format!("/api/auth/verify-email-link?token={link_token}"),
            None,
        )
        .await;
    assert_eq!(
        s(&by_link.expect(200)["message"]),
        "Email verified successfully. You can now log in."
    );

    let login = app
        .post(
            "/api/auth/login",
            json!({"email": "user@example.com", "password": "YourPassword123"}),
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(login["user"]["is_active"], json!(true));
    let user = app
        .get("/api/auth/user", Some(s(&login["access_token"])))
        .await
        .expect(200)
        .clone();
    assert_eq!(s(&user["user"]["email"]), "user@example.com");
    assert_eq!(user["user"]["is_active"], json!(true));

    let forgot = app
        .post(
            "/api/auth/forgot-password",
            json!({"email": "user@example.com"}),
        )
        .await;
    assert_eq!(
        forgot.expect(200),
        &json!({"message": "If your email is registered, you will receive a password reset link"})
    );
    let reset = app.smtp.wait_for("user@example.com", 2).await.token();
    let done = app
        .post(
            "/api/auth/reset-password",
            json!({"token": reset, "new_password": "NewPassword123"}),
        )
        .await;
    assert_eq!(
        done.expect(200),
        &json!({"message": "Password reset successful"})
    );
    app.post(
        "/api/auth/login",
        json!({"email": "user@example.com", "password": "NewPassword123"}),
    )
    .await
    .expect(200);
    let weak = app
        .post(
            "/api/auth/register",
            json!({"email": "weak@example.com", "password": "onlyletters"}),
        )
        .await;
    assert!(weak.expect(400)["message"].is_string());
}

/// 004_e04ed38932246109.txt: camelCase fields, `confirmPassword`, field-level errors, any TLD,
/// `/api/auth/forgot` and `/api/auth/reset` with `password` + `confirmPassword`.
async fn seed_004_camel_case_frontend(backend: Backend) {
    let app = spawn_app(backend).await;
    let bad = app
        .post(
            "/api/auth/register",
            json!({"firstName": "x".repeat(60), "lastName": "Doe", "email": "not-an-email", "password": "short", "confirmPassword": "short"}),
        )
        .await;
    let errors = &bad.expect(400)["errors"];
    assert!(
        errors["email"].is_string()
            && errors["password"].is_string()
            && errors["first_name"].is_string()
    );

    let reg = app
        .post(
            "/api/auth/register",
            json!({"firstName": " Jane ", "lastName": "Doe", "email": " jane@studio.design ", "password": "Password123",
                   "confirmPassword": "Password123"}),
        )
        .await;
    let reg = reg.expect(201).clone();
    assert!(reg["message"].is_string());
    uuid::Uuid::parse_str(s(&reg["userId"])).unwrap();
    let dup_pending = app
        .post(
            "/api/auth/login",
            json!({"email": "jane@studio.design", "password": "Password123"}),
        )
        .await;
    assert_eq!(
        dup_pending.expect(403),
        &json!({"message": "Email not verified"})
    );
    let token = app.smtp.wait_for("jane@studio.design", 1).await.token();
    app.get(&format!("/api/auth/verify?token={token}"), None)
        .await
        .expect(200);
    let again = app
        .post("/api/auth/register", json!({"email": "jane@studio.design", "password": "Password123", "confirmPassword": "Password123"}))
        .await;
    assert_eq!(
        again.expect(409),
        &json!({"message": "Email already in use"})
    );

    let login = app
        .post(
            "/api/auth/login",
            json!({"email": "jane@studio.design", "password": "Password123"}),
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(s(&login["user"]["id"]), s(&reg["userId"]));
    assert_eq!(s(&login["user"]["first_name"]), "Jane");
    assert_eq!(s(&login["user"]["last_name"]), "Doe");
    let wrong = app
        .post(
            "/api/auth/login",
            json!({"email": "jane@studio.design", "password": "Password124"}),
        )
        .await;
    assert_eq!(
        wrong.expect(401),
        &json!({"message": "Invalid credentials"})
    );

    app.post("/api/auth/forgot", json!({"email": "jane@studio.design"}))
        .await
        .expect(200);
    app.post("/api/auth/forgot", json!({"email": "nobody@studio.design"}))
        .await
        .expect(200);
    let reset = app.smtp.wait_for("jane@studio.design", 2).await.token();
    let mismatch = app
        .post(
            "/api/auth/reset",
            json!({"token": reset, "password": "Password456", "confirmPassword": "Password457"}),
        )
        .await;
    mismatch.expect(400);
    app.post(
        "/api/auth/reset",
        json!({"token": reset, "password": "Password456", "confirmPassword": "Password456"}),
    )
    .await
    .expect(200);
    app.post(
        "/api/auth/login",
        json!({"email": "jane@studio.design", "password": "Password456"}),
    )
    .await
    .expect(200);
}
