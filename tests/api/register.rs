//! Sign-up with a pending registration, the verification link, re-registration, resend.

use std::time::Duration;

use serde_json::json;

use crate::both_backends;
use crate::harness::{Backend, ISSUER, PASSWORD, s, spawn_app, spawn_app_with};

both_backends!(
    register_sends_a_link_and_verify_creates_the_user,
    verification_by_post_and_every_alias,
    no_user_exists_until_verified_and_reregistering_replaces_the_link,
    verification_links_expire_after_a_day,
    verified_addresses_and_usernames_conflict,
    resend_verification_answers_the_same_for_any_address,
    verification_off_answers_with_tokens,
    frontend_links_and_browser_redirect,
    names_camel_case_and_derived_usernames,
    emails_go_to_the_outbox_folder_without_smtp,
);

async fn register_sends_a_link_and_verify_creates_the_user(backend: Backend) {
    let app = spawn_app(backend).await;
    let reply = app
        .post(
            "/api/auth/register",
            json!({"email": "Ann@Example.com", "password": PASSWORD, "full_name": "Ann Lee"}),
        )
        .await;
    let body = reply.expect(201);
    assert!(s(&body["message"]).contains("Ann@Example.com"));
    let user_id = s(&body["user_id"]).to_owned();
    uuid::Uuid::parse_str(&user_id).expect("user_id is a UUID");

    let mail = app.smtp.wait_for("Ann@Example.com", 1).await;
    assert_eq!(mail.subject(), "Confirm your email address – authd");
    let raw = String::from_utf8_lossy(&mail.raw);
    assert!(
        raw.contains("Message-ID: <"),
        "every email has a Message-ID"
    );
    assert!(raw.contains("From: authd <"), "{raw}");
    let link = mail.link();
    assert!(
        link.starts_with(&format!("{ISSUER}/api/auth/verify?token=")),
        "{link}"
    );
    assert!(mail.part("text/html").contains(&mail.token()));
    assert_eq!(mail.token().len(), 43, "256 random bits, base64url");

    // The link is followed against the server itself (the issuer is only a name here).
    let path = link.strip_prefix(ISSUER).unwrap();
    let verified = app.get(path, None).await;
    assert_eq!(
        s(&verified.expect(200)["message"]),
        "Email verified successfully. You can now log in."
    );
    let again = app.get(path, None).await;
    assert_eq!(s(&again.expect(409)["message"]), "Email already verified");

    let tokens = app.login("ann@example.com", None).await;
    let user = &tokens["user"];
    assert_eq!(
        s(&user["id"]),
        user_id,
        "the id answered at sign-up is the user's id"
    );
    assert_eq!(s(&user["email"]), "Ann@Example.com");
    assert_eq!(s(&user["full_name"]), "Ann Lee");
    assert_eq!(user["first_name"], json!(null));
    assert_eq!(s(&user["role"]), "CUSTOMER");
    assert_eq!(user["is_email_verified"], json!(true));
    assert_eq!(user["is_active"], json!(true));
    assert_eq!(user["is_anonymous"], json!(false));
    assert!(s(&user["created_at"]).ends_with('Z'));
    assert!(s(&user["last_login_at"]).ends_with('Z'));
}

async fn verification_by_post_and_every_alias(backend: Backend) {
    let app = spawn_app(backend).await;
    for (i, (method, path)) in [
        ("POST", "/api/auth/verify-email"),
        ("POST", "/api/auth/verify"),
        ("POST", "/auth/verify-email"),
        ("GET", "/api/auth/verify-email-link"),
        ("GET", "/api/auth/verify-email"),
        ("GET", "/auth/verify"),
    ]
    .into_iter()
    .enumerate()
    {
        let email = format!("user{i}@example.org");
        let token = app.register(&email).await;
        let reply = match method {
            "POST" => app.post(path, json!({"token": token})).await,
            _ => app.get(&format!("{path}?token={token}"), None).await,
        };
        reply.expect(200);
        app.login(&email, None).await;
        let reused = match method {
            "POST" => app.post(path, json!({"token": token})).await,
            _ => app.get(&format!("{path}?token={token}"), None).await,
        };
        reused.expect(409);
    }
    let missing = app.get("/api/auth/verify", None).await;
    assert_eq!(
        missing.expect(400)["errors"]["token"],
        json!("Token is required")
    );
    app.get("/api/auth/verify?token=forged", None)
        .await
        .expect(400);
    app.post("/api/auth/verify-email", json!({"token": "x".repeat(2000)}))
        .await
        .expect(400);
}

async fn no_user_exists_until_verified_and_reregistering_replaces_the_link(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.register("pending@example.com").await;

    // Login before verification: the right password learns why; a wrong one learns nothing.
    let early = app
        .post(
            "/api/auth/login",
            json!({"email": "pending@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s(&early.expect(403)["message"]), "Email not verified");
    let wrong = app
        .post(
            "/api/auth/login",
            json!({"email": "pending@example.com", "password": "wrong-pass-1"}),
        )
        .await;
    assert_eq!(s(&wrong.expect(401)["message"]), "Invalid credentials");

    // Someone else signing up with the address replaces the pending sign-up.
    app.post(
        "/api/auth/register",
        json!({"email": "PENDING@example.com", "password": "other-pass-2"}),
    )
    .await
    .expect(201);
    let second = app.smtp.wait_for("PENDING@example.com", 2).await.token();
    assert_ne!(first, second);
    app.post("/api/auth/verify-email", json!({"token": first}))
        .await
        .expect(400);
    // Two sign-ups for one address: whoever follows the link cannot be told from the other,
    // so neither password is kept.
    let verified = app
        .post("/api/auth/verify-email", json!({"token": second}))
        .await;
    assert_eq!(verified.expect(200)["password_required"], json!(true));
    for password in ["other-pass-2", PASSWORD] {
        app.post(
            "/api/auth/login",
            json!({"email": "pending@example.com", "password": password}),
        )
        .await
        .expect(401);
    }
    // The address's owner gets a link to choose one.
    let reset = app.smtp.wait_for("pending@example.com", 3).await;
    assert!(reset.subject().contains("Reset"));
    app.post(
        "/api/auth/reset-password",
        json!({"token": reset.token(), "new_password": "owner-chose-3"}),
    )
    .await
    .expect(200);
    app.post(
        "/api/auth/login",
        json!({"email": "pending@example.com", "password": "owner-chose-3"}),
    )
    .await
    .expect(200);
}

async fn verification_links_expire_after_a_day(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.register("late@example.com").await;
    app.advance(Duration::from_secs(24 * 3600 + 60));
    let reply = app
        .post("/api/auth/verify-email", json!({"token": token}))
        .await;
    assert_eq!(s(&reply.expect(400)["message"]), "Invalid or expired token");

    let fresh = app.register("late@example.com").await;
    app.advance(Duration::from_secs(23 * 3600));
    app.post("/api/auth/verify-email", json!({"token": fresh}))
        .await
        .expect(200);
}

async fn verified_addresses_and_usernames_conflict(backend: Backend) {
    let app = spawn_app(backend).await;
    app.post(
        "/api/auth/register",
        json!({"email": "taken@example.com", "password": PASSWORD, "username": "taken", "phone": "+254712345678"}),
    )
    .await
    .expect(201);
    let token = app.smtp.wait_for("taken@example.com", 1).await.token();
    app.post("/api/auth/verify-email", json!({"token": token}))
        .await
        .expect(200);

    let dup = app
        .post(
            "/api/auth/register",
            json!({"email": "TAKEN@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(dup.expect(409), &json!({"message": "Email already in use"}));
    let dup = app
        .post(
            "/api/auth/register",
            json!({"email": "new@example.com", "password": PASSWORD, "username": "taken"}),
        )
        .await;
    assert_eq!(s(&dup.expect(409)["message"]), "Username already in use");
    let dup = app
        .post(
            "/api/auth/register",
            json!({"email": "new2@example.com", "password": PASSWORD, "phone_number": "+254 712 345 678"}),
        )
        .await;
    assert_eq!(
        s(&dup.expect(409)["message"]),
        "Phone number already in use"
    );
    assert_eq!(app.smtp.all().len(), 1, "refused sign-ups send no email");
}

async fn resend_verification_answers_the_same_for_any_address(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.register("slow@example.com").await;
    let known = app
        .post(
            "/api/auth/resend-verification",
            json!({"email": "slow@example.com"}),
        )
        .await;
    let unknown = app
        .post(
            "/api/auth/resend-verification",
            json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_eq!(known.expect(200), unknown.expect(200));
    let second = app.smtp.wait_for("slow@example.com", 2).await.token();
    assert_ne!(first, second);
    app.post("/api/auth/verify-email", json!({"token": first}))
        .await
        .expect(400);
    app.post("/api/auth/verify-email", json!({"token": second}))
        .await
        .expect(200);
    assert!(app.smtp.for_recipient("nobody@example.com").is_empty());
    app.post(
        "/api/auth/resend-verification",
        json!({"email": "not an address"}),
    )
    .await
    .expect(400);
}

async fn verification_off_answers_with_tokens(backend: Backend) {
    let app = spawn_app_with(backend, &[("AUTHD_REQUIRE_EMAIL_VERIFICATION", "false")]).await;
    let reply = app
        .post(
            "/auth/register",
            json!({"email": "quick@example.com", "password": PASSWORD}),
        )
        .await;
    let body = reply.expect(201);
    assert_eq!(s(&body["token_type"]), "Bearer");
    assert!(body["refresh_token"].is_string());
    assert_eq!(body["user"]["is_email_verified"], json!(false));
    let me = app
        .get("/api/users/me", Some(s(&body["access_token"])))
        .await;
    assert_eq!(s(&me.expect(200)["email"]), "quick@example.com");
    let form = app
        .post_form(
            "/auth/login",
            &[("username", "quick@example.com"), ("password", PASSWORD)],
        )
        .await;
    form.expect(200);
    assert!(app.smtp.all().is_empty());
}

async fn frontend_links_and_browser_redirect(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[("AUTHD_FRONTEND_URL", "https://cv.example.com/")],
    )
    .await;
    app.register("front@example.com").await;
    let mail = app.smtp.wait_for("front@example.com", 1).await;
    assert!(
        mail.link()
            .starts_with("https://cv.example.com/verify-email?token="),
        "{}",
        mail.link()
    );
    // A browser on authd's own route (an older link): the page's button confirms, then on to
    // the frontend's sign-in.
    let browser = crate::authorize::browser();
    let page = browser
        .get(app.url(&format!("/api/auth/verify?token={}", mail.token())))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let reply = browser
        .post(app.url("/account/verify"))
        .form(&crate::authorize::form_fields(&page))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 303);
    assert_eq!(
        reply.headers()["location"],
        "https://cv.example.com/login?verified=1"
    );
    app.login("front@example.com", None).await;
}

async fn names_camel_case_and_derived_usernames(backend: Backend) {
    let app = spawn_app(backend).await;
    let reply = app
        .post(
            "/api/auth/register",
            json!({"firstName": "  Zoë ", "lastName": "Ångström", "email": "zoe.a@example.com",
                   "password": PASSWORD, "confirmPassword": PASSWORD}),
        )
        .await;
    assert!(reply.expect(201)["userId"].is_string());
    let token = app.smtp.wait_for("zoe.a@example.com", 1).await.token();
    app.post("/api/auth/verify", json!({"token": token}))
        .await
        .expect(200);
    let user = app.login("zoe.a@example.com", None).await["user"].clone();
    assert_eq!(s(&user["first_name"]), "Zoë");
    assert_eq!(s(&user["last_name"]), "Ångström");
    assert_eq!(s(&user["full_name"]), "Zoë Ångström");
    assert_eq!(s(&user["username"]), "zoe.a");

    // The same local part elsewhere gets a unique derived name.
    app.verified_user("zoe.a@other.example").await;
    let other = app.login("zoe.a@other.example", None).await["user"].clone();
    assert_eq!(s(&other["username"]), "zoe.a1");
    // Login by username.
    let by_name = app
        .post(
            "/api/auth/login",
            json!({"username": "zoe.a1", "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        s(&by_name.expect(200)["user"]["email"]),
        "zoe.a@other.example"
    );

    let mismatch = app
        .post(
            "/api/auth/register",
            json!({"email": "m@example.com", "password": PASSWORD, "confirmPassword": "something-else-1"}),
        )
        .await;
    assert_eq!(
        s(&mismatch.expect(400)["errors"]["confirm_password"]),
        "Passwords do not match"
    );
}

async fn emails_go_to_the_outbox_folder_without_smtp(backend: Backend) {
    let app = spawn_app_with(backend, &[("AUTHD_SMTP_URL", "")]).await;
    app.post(
        "/api/auth/register",
        json!({"email": "files@example.com", "password": PASSWORD}),
    )
    .await
    .expect(201);
    let files = crate::harness::outbox_files(&app, 1).await;
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].extension().unwrap(), "eml");
    let mail = crate::smtp::ReceivedMail {
        recipients: vec![],
        raw: std::fs::read(&files[0]).unwrap(),
    };
    let token = mail.token();
    app.post("/api/auth/verify-email", json!({"token": token}))
        .await
        .expect(200);
    assert!(app.smtp.all().is_empty());
}
