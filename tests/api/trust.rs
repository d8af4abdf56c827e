//! Trust boundaries, each test written as the attack it stops: parameters smuggled through the
//! authorization URL, a third-party token on the account API, an email change without the
//! password, a pre-registered address, and credentials that outlive what should end them.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::authorize::{
    CB, authorize_url, browser, claims, exchange, form_fields, location, log_in, pkce, query,
    submit,
};
use crate::both_backends;
use crate::harness::{Backend, PASSWORD, Reply, TestApp, TestClient, s, spawn_app};

both_backends!(
    deny_cannot_be_turned_into_approve_by_the_authorization_url,
    the_authorization_url_cannot_sign_the_victim_in_as_the_attacker,
    third_party_tokens_never_manage_the_account,
    client_credentials_tokens_carry_no_user_scopes,
    email_and_phone_changes_need_the_password_and_can_be_undone,
    a_pre_registered_address_leaves_the_attacker_nothing,
    a_pre_registration_from_an_anonymous_session_attaches_nothing,
    reset_links_end_with_password_changes_email_changes_and_logout_all,
    a_replayed_code_ends_what_its_first_redemption_opened,
    a_code_is_checked_before_it_is_consumed,
    a_device_bound_session_refreshes_only_with_its_device_id,
    deleting_a_client_ends_its_sessions_and_tokens,
    introspection_shows_a_client_only_its_own_tokens,
);

/// A third-party (consent-asking) confidential client.
async fn partner(app: &TestApp) -> TestClient {
    app.client(
        "confidential",
        &["authorization_code", "refresh_token", "password"],
        &["openid", "profile", "email", "offline_access"],
        &[CB],
    )
    .await
}

fn basic(client: &TestClient) -> Option<(&str, &str)> {
    Some((client.id.as_str(), client.secret.as_deref().unwrap()))
}

/// Tokens for `email` from a confidential `client`'s password grant.
async fn password_grant(app: &TestApp, client: &TestClient, email: &str) -> Value {
    app.token(
        &[
            ("grant_type", "password"),
            ("username", email),
            ("password", PASSWORD),
            ("scope", "openid profile email offline_access"),
        ],
        basic(client),
    )
    .await
    .expect(200)
    .clone()
}

/// Signs `email` in on authd's page for `client` through `url`, and returns the next page.
async fn sign_in(
    app: &TestApp,
    browser: &reqwest::Client,
    url: &str,
    email: &str,
) -> reqwest::Response {
    let page = browser.get(url).send().await.unwrap().text().await.unwrap();
    submit(
        app,
        browser,
        &page,
        &[
            ("action", "login"),
            ("username", email),
            ("password", PASSWORD),
        ],
    )
    .await
}

async fn deny_cannot_be_turned_into_approve_by_the_authorization_url(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("victim@example.com").await;
    let client = partner(&app).await;
    let browser = browser();
    // The client's own authorization URL carries `action=approve`, hoping it outranks the
    // button the user presses.
    let url = authorize_url(
        &app,
        &client.id,
        CB,
        &[("scope", "openid email"), ("action", "approve")],
    );
    let consent = sign_in(&app, &browser, &url, "victim@example.com").await;
    assert_eq!(consent.status().as_u16(), 200, "the consent page");
    let consent_page = consent.text().await.unwrap();
    assert!(
        !form_fields(&consent_page)
            .iter()
            .any(|(k, _)| k == "action"),
        "no hidden field named action"
    );

    // The browser sends the form as it is, hidden fields first, then the button pressed.
    let mut form = form_fields(&consent_page);
    form.push(("action".into(), "deny".into()));
    let denied = browser
        .post(app.url("/oauth/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let back = location(&denied);
    assert_eq!(query(&back, "error").as_deref(), Some("access_denied"));
    assert!(query(&back, "code").is_none());

    // A second `action` slipped into the body is refused outright, whatever its order.
    for order in [["approve", "deny"], ["deny", "approve"]] {
        let mut form = form_fields(&consent_page);
        form.retain(|(k, _)| k != "action");
        for a in order {
            form.push(("action".into(), a.into()));
        }
        let r = browser
            .post(app.url("/oauth/authorize"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400);
        assert!(r.headers().get("location").is_none());
    }
    // Repeated OAuth parameters are malformed requests, never a choice of value.
    let twice = format!("{url}&client_id={}", client.id);
    let r = browser.get(&twice).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
}

async fn the_authorization_url_cannot_sign_the_victim_in_as_the_attacker(backend: Backend) {
    let app = spawn_app(backend).await;
    let victim = app.verified_user("victim@example.com").await;
    let attacker = app.verified_user("attacker@example.com").await;
    let spa = app
        .client_with("public", &["authorization_code"], &["openid"], &[CB], true)
        .await;
    let browser = browser();
    let p = pkce();
    let url = authorize_url(
        &app,
        &spa.id,
        CB,
        &[
            ("scope", "openid"),
            ("code_challenge", &p.challenge),
            ("code_challenge_method", "S256"),
            ("username", "attacker@example.com"),
            ("password", PASSWORD),
        ],
    );
    // The victim types her own credentials on the page the attacker's URL opened.
    let page = browser
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let fields = form_fields(&page);
    assert!(
        !fields
            .iter()
            .any(|(k, _)| k == "username" || k == "password"),
        "credentials never ride in hidden fields: {fields:?}"
    );
    let back = log_in(&app, &browser, &page, "victim@example.com").await;
    let code = query(&location(&back), "code").unwrap();
    let tokens = exchange(&app, &spa.id, &code, Some(&p.verifier), None).await;
    let sub = claims(s(&tokens.expect(200)["id_token"]))["sub"].clone();
    assert_eq!(sub, json!(victim));
    assert_ne!(sub, json!(attacker));

    // Two usernames in one body: refused, nobody signed in.
    let fresh = crate::authorize::browser();
    let page = fresh.get(&url).send().await.unwrap().text().await.unwrap();
    let mut form = form_fields(&page);
    form.retain(|(k, _)| k != "action");
    for (k, v) in [
        ("action", "login"),
        ("username", "attacker@example.com"),
        ("username", "victim@example.com"),
        ("password", PASSWORD),
    ] {
        form.push((k.into(), v.into()));
    }
    let r = fresh
        .post(app.url("/oauth/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(
        !r.headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("authd_session=")),
        "nobody signed in"
    );
}

/// Every account and admin route, with what it needs to get past body validation.
fn account_routes(user_id: &str) -> Vec<(Method, String, Option<Value>)> {
    let admin_user = format!("/api/admin/users/{user_id}");
    vec![
        (Method::GET, "/api/users/me".into(), None),
        (Method::GET, "/api/auth/me".into(), None),
        (Method::GET, "/api/auth/user".into(), None),
        (Method::GET, "/api/user/profile".into(), None),
        (
            Method::PATCH,
            "/api/users/me".into(),
            Some(json!({"full_name": "Owned"})),
        ),
        (
            Method::PUT,
            "/api/user/profile".into(),
            Some(json!({"email": "attacker@example.com"})),
        ),
        (
            Method::POST,
            "/api/users/me/password".into(),
            Some(json!({"current_password": PASSWORD, "new_password": "owned-pass-1"})),
        ),
        (Method::GET, "/api/users/me/sessions".into(), None),
        (
            Method::DELETE,
            "/api/users/me/sessions/00000000-0000-0000-0000-000000000000".into(),
            None,
        ),
        (Method::POST, "/api/auth/logout-all".into(), None),
        (
            Method::DELETE,
            "/api/users/me".into(),
            Some(json!({"password": PASSWORD})),
        ),
        (Method::GET, "/api/admin/users".into(), None),
        (Method::GET, admin_user.clone(), None),
        (
            Method::PATCH,
            admin_user.clone(),
            Some(json!({"role": "ADMIN"})),
        ),
        (Method::DELETE, format!("{admin_user}/sessions"), None),
        (Method::DELETE, admin_user, None),
    ]
}

async fn third_party_tokens_never_manage_the_account(backend: Backend) {
    let app = spawn_app(backend).await;
    // The victim is an ADMIN: the worst case.
    let first_party_token = app.admin("boss@example.com").await;
    let me = app.get("/api/users/me", Some(&first_party_token)).await;
    let boss_id = s(&me.expect(200)["id"]).to_owned();
    let client = partner(&app).await;

    // A token the third party got through the browser with consent for `openid` alone.
    let browser = browser();
    let url = authorize_url(&app, &client.id, CB, &[("scope", "openid")]);
    let consent = sign_in(&app, &browser, &url, "boss@example.com").await;
    let consent_page = consent.text().await.unwrap();
    let approved = submit(&app, &browser, &consent_page, &[("action", "approve")]).await;
    let code = query(&location(&approved), "code").unwrap();
    let by_code = exchange(&app, &client.id, &code, None, basic(&client))
        .await
        .expect(200)
        .clone();
    // And one it got with the password grant and every scope it may have.
    let by_password = password_grant(&app, &client, "boss@example.com").await;

    for tokens in [&by_code, &by_password] {
        let token = s(&tokens["access_token"]);
        for (method, path, body) in account_routes(&boss_id) {
            let r = app.send(method.clone(), &path, Some(token), body).await;
            assert_eq!(r.status, 403, "{method} {path}: {:?}", r.json);
        }
        // What the token is for still works: userinfo, within its scope.
        let info = app.get("/oauth/userinfo", Some(token)).await;
        assert_eq!(s(&info.expect(200)["sub"]), boss_id);
    }
    // Nothing above acted: the admin's own session and data are as they were.
    let me = app.get("/api/users/me", Some(&first_party_token)).await;
    assert_eq!(me.expect(200)["full_name"], json!(null));
    assert_eq!(s(&me.json["role"]), "ADMIN");
    assert_eq!(s(&me.json["email"]), "boss@example.com");

    // A client its operator marks first-party is trusted like authd's own.
    let own = app
        .client_with("confidential", &["password"], &[], &[], true)
        .await;
    let own_token = password_grant(&app, &own, "boss@example.com").await;
    app.get("/api/admin/users", Some(s(&own_token["access_token"])))
        .await
        .expect(200);
}

async fn client_credentials_tokens_carry_no_user_scopes(backend: Backend) {
    let app = spawn_app(backend).await;
    // Registered without --scope: it may ask for the user scopes, for user flows only.
    let plain = app
        .client("confidential", &["client_credentials"], &[], &[])
        .await;
    let t = app
        .token(&[("grant_type", "client_credentials")], basic(&plain))
        .await
        .expect(200)
        .clone();
    assert_eq!(s(&t["scope"]), "");
    assert_eq!(s(&claims(s(&t["access_token"]))["scope"]), "");
    for asked in ["openid", "email", "profile offline_access"] {
        let r = app
            .token(
                &[("grant_type", "client_credentials"), ("scope", asked)],
                basic(&plain),
            )
            .await;
        assert_eq!(s(&r.expect(400)["error"]), "invalid_scope", "{asked}");
    }
    let reports = app
        .client(
            "confidential",
            &["client_credentials"],
            &["reports:read", "reports:write", "email"],
            &[],
        )
        .await;
    let t = app
        .token(&[("grant_type", "client_credentials")], basic(&reports))
        .await
        .expect(200)
        .clone();
    assert_eq!(s(&t["scope"]), "reports:read reports:write");
    let t = app
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("scope", "reports:read"),
            ],
            basic(&reports),
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(s(&t["scope"]), "reports:read");
}

/// Asks for a reset link for `email` and returns its token.
async fn reset_link(app: &TestApp, email: &str) -> String {
    let before = app.smtp.flow_mails(email).len();
    app.post("/api/auth/forgot-password", json!({"email": email}))
        .await
        .expect(200);
    app.smtp.wait_for(email, before + 1).await.token()
}

async fn reset(app: &TestApp, token: &str, password: &str) -> Reply {
    app.post(
        "/api/auth/reset-password",
        json!({"token": token, "new_password": password}),
    )
    .await
}

async fn email_and_phone_changes_need_the_password_and_can_be_undone(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("owner@example.com").await;
    let session = app.login("owner@example.com", Some("laptop")).await;
    let at = s(&session["access_token"]).to_owned();
    // Within five minutes of the login, as the seeds' profile pages do, no password is asked.
    app.send(
        Method::PATCH,
        "/api/users/me",
        Some(&at),
        Some(json!({"phone": "+254712345678"})),
    )
    .await
    .expect(200);

    // Later, a token alone (stolen, or left in a browser) cannot redirect the account's mail.
    app.advance(Duration::from_secs(6 * 60));
    let at = s(&app
        .post(
            "/api/auth/refresh",
            json!({"refresh_token": session["refresh_token"], "device_id": "laptop"}),
        )
        .await
        .expect(200)["access_token"])
    .to_owned();
    let old_link = reset_link(&app, "owner@example.com").await;
    for change in [
        json!({"email": "thief@example.com"}),
        json!({"phone": "+254799999999"}),
    ] {
        let r = app
            .send(Method::PATCH, "/api/users/me", Some(&at), Some(change))
            .await;
        assert!(
            r.expect(400)["errors"]["current_password"].is_string(),
            "{:?}",
            r.json
        );
    }
    let wrong = app
        .send(
            Method::PATCH,
            "/api/users/me",
            Some(&at),
            Some(json!({"email": "thief@example.com", "current_password": "guess-123"})),
        )
        .await;
    wrong.expect(401);
    assert!(app.smtp.for_recipient("thief@example.com").is_empty());

    // With the password the change goes ahead; the old address hears of it, with a way back.
    app.send(
        Method::PATCH,
        "/api/users/me",
        Some(&at),
        Some(json!({"email": "new@example.com", "current_password": PASSWORD})),
    )
    .await
    .expect(200);
    let confirm = app.smtp.wait_for("new@example.com", 1).await.token();
    let notice = app.smtp.wait_for("owner@example.com", 3).await.clone();
    assert!(notice.subject().contains("being changed"));
    assert!(
        notice
            .link()
            .contains("/api/auth/cancel-email-change?token=")
    );
    let stop = notice.token();
    // Opening the link (as a mail scanner would) only asks.
    let page = app
        .client
        .get(app.url(&format!("/api/auth/cancel-email-change?token={stop}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("method=\"post\""));
    app.get("/api/users/me", Some(&at)).await.expect(200);
    // The owner stops it: the change is gone and every device is out.
    app.post("/api/auth/cancel-email-change", json!({"token": stop}))
        .await
        .expect(200);
    app.get("/api/users/me", Some(&at)).await.expect(401);
    app.post("/api/auth/verify-email", json!({"token": confirm}))
        .await
        .expect(400);
    reset(&app, &old_link, "hijacked-pass-1").await.expect(400);

    // A change the owner makes goes through; a reset link mailed to the old address before
    // it was confirmed no longer resets, and the stop link does nothing once it is done.
    let at = s(&app.login("owner@example.com", None).await["access_token"]).to_owned();
    let old_link = reset_link(&app, "owner@example.com").await;
    app.send(
        Method::PATCH,
        "/api/users/me",
        Some(&at),
        Some(json!({"email": "new@example.com"})),
    )
    .await
    .expect(200);
    let confirm = app.smtp.wait_for("new@example.com", 2).await.token();
    let stop = app.smtp.wait_for("owner@example.com", 5).await.token();
    app.post("/api/auth/verify-email", json!({"token": confirm}))
        .await
        .expect(200);
    reset(&app, &old_link, "hijacked-pass-1").await.expect(400);
    app.post("/api/auth/cancel-email-change", json!({"token": stop}))
        .await
        .expect(400);
    let me = app.get("/api/users/me", Some(&at)).await;
    assert_eq!(s(&me.expect(200)["email"]), "new@example.com");
}

async fn a_pre_registered_address_leaves_the_attacker_nothing(backend: Backend) {
    for attacker_first in [true, false] {
        let app = spawn_app(backend).await;
        let victim = "victim@example.com";
        let register = |password: &'static str| {
            let app = &app;
            async move {
                app.post(
                    "/api/auth/register",
                    json!({"email": victim, "password": password}),
                )
                .await
                .expect(201);
            }
        };
        if attacker_first {
            register("attacker-pass-1").await;
            register(PASSWORD).await;
        } else {
            register(PASSWORD).await;
            register("attacker-pass-1").await;
        }
        let mails = app.smtp.wait_for(victim, 2).await;
        let older = app.smtp.for_recipient(victim)[0].token();
        let newest = mails.token();
        // Only the newest link works; it verifies the address but keeps neither password.
        app.post("/api/auth/verify-email", json!({"token": older}))
            .await
            .expect(400);
        let verified = app
            .post("/api/auth/verify-email", json!({"token": newest}))
            .await;
        assert_eq!(verified.expect(200)["password_required"], json!(true));
        for password in ["attacker-pass-1", PASSWORD] {
            let r = app
                .post(
                    "/api/auth/login",
                    json!({"email": victim, "password": password}),
                )
                .await;
            assert_eq!(r.expect(401), &json!({"message": "Invalid credentials"}));
        }
        // The owner of the mailbox gets a reset link and chooses the password with it.
        let chosen = app.smtp.wait_for(victim, 3).await.token();
        assert_ne!(chosen, newest);
        reset(&app, &chosen, "victims-own-9").await.expect(200);
        let tokens = app
            .post(
                "/api/auth/login",
                json!({"email": victim, "password": "victims-own-9"}),
            )
            .await
            .expect(200)
            .clone();
        assert_eq!(tokens["user"]["is_email_verified"], json!(true));
        reset(&app, &newest, "attacker-again-1").await.expect(400);
    }

    // One registration alone is the ordinary flow, unchanged: the password chosen is kept.
    let app = spawn_app(backend).await;
    let token = app.register("single@example.com").await;
    let verified = app
        .get(&format!("/api/auth/verify?token={token}"), None)
        .await;
    assert_eq!(
        verified.expect(200),
        &json!({"message": "Email verified successfully. You can now log in."})
    );
    app.login("single@example.com", None).await;
}

async fn a_pre_registration_from_an_anonymous_session_attaches_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let anon = app
        .post("/api/auth/anonymous", json!({"device_id": "attacker-tab"}))
        .await
        .expect(201)
        .clone();
    let anon_id = s(&anon["user"]["id"]).to_owned();
    // The victim signs up; the attacker, from his anonymous session, signs up her address
    // after her, so the newest link in her mailbox is his registration.
    app.post(
        "/api/auth/register",
        json!({"email": "victim@example.com", "password": PASSWORD}),
    )
    .await
    .expect(201);
    let r = app
        .client
        .post(app.url("/api/auth/register"))
        .bearer_auth(s(&anon["access_token"]))
        .json(
            &json!({"email": "victim@example.com", "password": "attacker-pass-1",
                      "phone": "+254711000111"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let token = app.smtp.wait_for("victim@example.com", 2).await.token();
    app.post("/api/auth/verify-email", json!({"token": token}))
        .await
        .expect(200);
    app.post(
        "/api/auth/login",
        json!({"email": "victim@example.com", "password": "attacker-pass-1"}),
    )
    .await
    .expect(401);
    let chosen = app.smtp.wait_for("victim@example.com", 3).await.token();
    reset(&app, &chosen, "victims-own-9").await.expect(200);
    let victim = app
        .post(
            "/api/auth/login",
            json!({"email": "victim@example.com", "password": "victims-own-9"}),
        )
        .await
        .expect(200)
        .clone();
    let victim_id = s(&victim["user"]["id"]).to_owned();
    assert_ne!(
        victim_id, anon_id,
        "the attacker's anonymous user is not her account"
    );

    // Whatever the attacker kept from his anonymous session opens only the anonymous user.
    let me = app
        .get("/api/users/me", Some(s(&anon["access_token"])))
        .await;
    assert_eq!(s(&me.expect(200)["id"]), anon_id);
    assert_eq!(me.json["email"], json!(null));
    let refreshed = app
        .post(
            "/api/auth/refresh",
            json!({"refresh_token": anon["refresh_token"], "device_id": "attacker-tab"}),
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(s(&refreshed["user"]["id"]), anon_id);
    assert_eq!(refreshed["user"]["is_anonymous"], json!(true));
}

async fn reset_links_end_with_password_changes_email_changes_and_logout_all(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("links@example.com").await;
    let at = s(&app.login("links@example.com", None).await["access_token"]).to_owned();

    let link = reset_link(&app, "links@example.com").await;
    app.post_auth(
        "/api/users/me/password",
        &at,
        json!({"current_password": PASSWORD, "new_password": "second-pass-2"}),
    )
    .await
    .expect(200);
    reset(&app, &link, "hijacked-pass-1").await.expect(400);

    let link = reset_link(&app, "links@example.com").await;
    app.send(
        Method::PATCH,
        "/api/users/me",
        Some(&at),
        Some(json!({"password": "third-pass-3", "current_password": "second-pass-2"})),
    )
    .await
    .expect(200);
    reset(&app, &link, "hijacked-pass-1").await.expect(400);

    let link = reset_link(&app, "links@example.com").await;
    app.post_auth("/api/auth/logout-all", &at, json!({}))
        .await
        .expect(200);
    reset(&app, &link, "hijacked-pass-1").await.expect(400);

    // A reset itself ends the link it used and any other.
    let link = reset_link(&app, "links@example.com").await;
    reset(&app, &link, "fourth-pass-4").await.expect(200);
    reset(&app, &link, "hijacked-pass-1").await.expect(400);
    app.post(
        "/api/auth/login",
        json!({"email": "links@example.com", "password": "fourth-pass-4"}),
    )
    .await
    .expect(200);
}

/// A signed-in browser's code for the partner client, approved on the consent page.
async fn partner_code(app: &TestApp, client: &TestClient, email: &str) -> String {
    let browser = browser();
    let url = authorize_url(app, &client.id, CB, &[("scope", "openid offline_access")]);
    let consent = sign_in(app, &browser, &url, email).await;
    let page = consent.text().await.unwrap();
    let approved = submit(app, &browser, &page, &[("action", "approve")]).await;
    query(&location(&approved), "code").unwrap()
}

async fn a_replayed_code_ends_what_its_first_redemption_opened(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("replay@example.com").await;
    let client = partner(&app).await;
    let code = partner_code(&app, &client, "replay@example.com").await;
    let first = exchange(&app, &client.id, &code, None, basic(&client))
        .await
        .expect(200)
        .clone();
    let at = s(&first["access_token"]);
    app.get("/oauth/userinfo", Some(at)).await.expect(200);

    // Someone who intercepted the code redeems it again.
    let again = exchange(&app, &client.id, &code, None, basic(&client)).await;
    assert_eq!(s(&again.expect(400)["error"]), "invalid_grant");
    app.get("/oauth/userinfo", Some(at)).await.expect(401);
    let refresh = app
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", s(&first["refresh_token"])),
            ],
            basic(&client),
        )
        .await;
    assert_eq!(s(&refresh.expect(400)["error"]), "invalid_grant");
}

async fn a_code_is_checked_before_it_is_consumed(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("checks@example.com").await;
    let spa = app
        .client_with(
            "public",
            &["authorization_code"],
            &["openid"],
            &[CB, "http://127.0.0.1:9/other"],
            true,
        )
        .await;
    let thief = app
        .client_with("public", &["authorization_code"], &["openid"], &[CB], true)
        .await;
    let browser = browser();
    let p = pkce();
    let url = authorize_url(
        &app,
        &spa.id,
        CB,
        &[
            ("scope", "openid"),
            ("code_challenge", &p.challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let back = sign_in(&app, &browser, &url, "checks@example.com").await;
    let code = query(&location(&back), "code").unwrap();

    let other_verifier = pkce().verifier;
    let attempts: [Vec<(&str, &str)>; 4] = [
        // Another client, with the right verifier.
        vec![("client_id", &thief.id), ("code_verifier", &p.verifier)],
        // The right client, a wrong verifier.
        vec![("client_id", &spa.id), ("code_verifier", &other_verifier)],
        // The right client, no verifier.
        vec![("client_id", &spa.id)],
        // The right client and verifier, another registered redirect URI.
        vec![
            ("client_id", &spa.id),
            ("code_verifier", &p.verifier),
            ("redirect_uri", "http://127.0.0.1:9/other"),
        ],
    ];
    for attempt in attempts {
        let mut form = vec![("grant_type", "authorization_code"), ("code", &code)];
        if !attempt.iter().any(|(k, _)| *k == "redirect_uri") {
            form.push(("redirect_uri", CB));
        }
        form.extend(attempt.iter().cloned());
        let r = app.token(&form, None).await;
        assert_eq!(s(&r.expect(400)["error"]), "invalid_grant", "{attempt:?}");
    }
    // None of them burned it: the real client redeems its code.
    exchange(&app, &spa.id, &code, Some(&p.verifier), None)
        .await
        .expect(200);
}

async fn a_device_bound_session_refreshes_only_with_its_device_id(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("device@example.com").await;
    let tokens = app.login("device@example.com", Some("laptop")).await;
    let rt = s(&tokens["refresh_token"]).to_owned();
    // A copy of the refresh token, without the device id, through either endpoint.
    app.post("/api/auth/refresh", json!({"refresh_token": rt}))
        .await
        .expect(401);
    let by_oauth = app
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "authd-web"),
                ("refresh_token", &rt),
            ],
            None,
        )
        .await;
    assert_eq!(s(&by_oauth.expect(400)["error"]), "invalid_grant");
    let wrong = app
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "authd-web"),
                ("refresh_token", &rt),
                ("device_id", "phone"),
            ],
            None,
        )
        .await;
    assert_eq!(s(&wrong.expect(400)["error"]), "invalid_grant");
    // The device itself carries on, through either endpoint.
    let next = app
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "authd-web"),
                ("refresh_token", &rt),
                ("device_id", "laptop"),
            ],
            None,
        )
        .await
        .expect(200)
        .clone();
    app.post(
        "/api/auth/refresh",
        json!({"refresh_token": next["refresh_token"], "device_id": "laptop"}),
    )
    .await
    .expect(200);
}

async fn introspect(app: &TestApp, caller: &TestClient, token: &str) -> Value {
    app.token_at("/oauth/introspect", &[("token", token)], basic(caller))
        .await
        .expect(200)
        .clone()
}

async fn deleting_a_client_ends_its_sessions_and_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("gone@example.com").await;
    let rs = app.resource_server().await;
    let doomed = app
        .client_with(
            "confidential",
            &["password", "refresh_token", "client_credentials"],
            &[],
            &[],
            true,
        )
        .await;
    let user_tokens = password_grant(&app, &doomed, "gone@example.com").await;
    let own_token = app
        .token(&[("grant_type", "client_credentials")], basic(&doomed))
        .await
        .expect(200)
        .clone();
    let user_at = s(&user_tokens["access_token"]);
    let own_at = s(&own_token["access_token"]);
    app.get("/api/users/me", Some(user_at)).await.expect(200);
    for token in [user_at, own_at, s(&user_tokens["refresh_token"])] {
        assert_eq!(introspect(&app, &rs, token).await["active"], json!(true));
    }

    // What `authd clients delete` runs.
    let now = app.state.clock.now_naive();
    assert!(
        authd::storage::clients::delete_client(&app.state.db, &doomed.id, now)
            .await
            .unwrap()
    );
    for token in [user_at, own_at, s(&user_tokens["refresh_token"])] {
        assert_eq!(introspect(&app, &rs, token).await, json!({"active": false}));
    }
    app.get("/api/users/me", Some(user_at)).await.expect(401);
    app.get("/oauth/userinfo", Some(user_at)).await.expect(401);
    let refresh = app
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", s(&user_tokens["refresh_token"])),
            ],
            basic(&doomed),
        )
        .await;
    assert_eq!(refresh.status, 401, "the client itself is gone");
}

async fn introspection_shows_a_client_only_its_own_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("nosy@example.com").await;
    let owner = partner(&app).await;
    let nosy = app
        .client("confidential", &["client_credentials"], &[], &[])
        .await;
    let rs = app.resource_server().await;
    let tokens = password_grant(&app, &owner, "nosy@example.com").await;
    for token in [s(&tokens["access_token"]), s(&tokens["refresh_token"])] {
        assert_eq!(
            introspect(&app, &nosy, token).await,
            json!({"active": false}),
            "another client learns nothing"
        );
        let own = introspect(&app, &owner, token).await;
        assert_eq!(own["active"], json!(true));
        assert_eq!(s(&own["client_id"]), owner.id);
        assert_eq!(introspect(&app, &rs, token).await["active"], json!(true));
    }
    // A first-party login's token is no business of a third party's either.
    let web = app.login("nosy@example.com", None).await;
    assert_eq!(
        introspect(&app, &nosy, s(&web["access_token"])).await,
        json!({"active": false})
    );
}
