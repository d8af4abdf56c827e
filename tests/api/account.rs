//! The signed-in user's own account: password reset and change, profile, email change,
//! sessions, deletion.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::both_backends;
use crate::harness::{Backend, PASSWORD, s, spawn_app, spawn_app_with};

both_backends!(
    forgot_and_reset_password,
    reset_links_expire_and_are_single_use,
    change_password_keeps_this_session_only,
    profile_update_names_phone_username,
    email_change_waits_for_the_new_address,
    sessions_list_and_end,
    self_service_deletion,
    the_reset_journey_goes_back_only_to_an_authorization_request,
);

async fn forgot_and_reset_password(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("forgetful@example.com").await;
    let a = app.login("forgetful@example.com", Some("a")).await;
    let b = app.login("forgetful@example.com", Some("b")).await;

    let known = app
        .post(
            "/api/auth/forgot-password",
            json!({"email": "Forgetful@example.com"}),
        )
        .await;
    let unknown = app
        .post("/api/auth/forgot", json!({"email": "stranger@example.com"}))
        .await;
    assert_eq!(known.expect(200), unknown.expect(200));
    assert_eq!(
        s(&known.json["message"]),
        "If your email is registered, you will receive a password reset link"
    );
    app.post("/api/auth/forgot-password", json!({"email": "nope"}))
        .await
        .expect(400);

    let mail = app.smtp.wait_for("forgetful@example.com", 2).await;
    assert_eq!(mail.subject(), "Reset your password – authd");
    assert!(mail.link().contains("/api/auth/reset-password?token="));
    let token = mail.token();

    let weak = app
        .post(
            "/api/auth/reset-password",
            json!({"token": token, "new_password": "weak"}),
        )
        .await;
    assert!(weak.expect(400)["errors"]["new_password"].is_string());
    let mismatch = app
        .post(
            "/api/auth/reset",
            json!({"token": token, "password": "brand-new-77", "confirmPassword": "other-77"}),
        )
        .await;
    assert!(mismatch.expect(400)["errors"]["confirm_password"].is_string());

    let ok = app
        .post(
            "/api/auth/reset",
            json!({"token": token, "password": "brand-new-77", "confirmPassword": "brand-new-77"}),
        )
        .await;
    assert_eq!(
        ok.expect(200),
        &json!({"message": "Password reset successful"})
    );
    for session in [&a, &b] {
        app.get("/api/users/me", Some(s(&session["access_token"])))
            .await
            .expect(401);
        app.post(
            "/api/auth/refresh",
            json!({"refresh_token": session["refresh_token"]}),
        )
        .await
        .expect(401);
    }
    app.post(
        "/api/auth/login",
        json!({"email": "forgetful@example.com", "password": PASSWORD}),
    )
    .await
    .expect(401);
    app.post(
        "/api/auth/login",
        json!({"email": "forgetful@example.com", "password": "brand-new-77"}),
    )
    .await
    .expect(200);
    assert!(app.smtp.for_recipient("stranger@example.com").is_empty());

    // The page the link opens without a frontend: the used link says so before anyone types
    // a password; a fresh one shows the form.
    let used = app
        .get(&format!("/api/auth/reset-password?token={token}"), None)
        .await;
    assert_eq!(used.status, 400);
    assert!(
        used.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(used.text.contains("This link has expired"));
    assert!(used.text.contains("forgot-password"), "a way to a new link");
    assert!(!used.text.contains("new_password"));
    app.post(
        "/api/auth/forgot-password",
        json!({"email": "forgetful@example.com"}),
    )
    .await
    .expect(200);
    let fresh = app.smtp.wait_for("forgetful@example.com", 3).await.token();
    let page = app
        .get(&format!("/api/auth/reset-password?token={fresh}"), None)
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text.contains(&fresh));
}

async fn reset_links_expire_and_are_single_use(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[("AUTHD_FRONTEND_URL", "https://app.example.com")],
    )
    .await;
    app.verified_user("once@example.com").await;
    app.post(
        "/api/auth/forgot-password",
        json!({"email": "once@example.com"}),
    )
    .await
    .expect(200);
    let mail = app.smtp.wait_for("once@example.com", 2).await;
    assert!(
        mail.link()
            .starts_with("https://app.example.com/reset-password?token="),
        "{}",
        mail.link()
    );
    let first = mail.token();
    app.advance(Duration::from_secs(61 * 60));
    app.post(
        "/api/auth/reset-password",
        json!({"token": first, "new_password": "brand-new-77"}),
    )
    .await
    .expect(400);

    app.post(
        "/api/auth/forgot-password",
        json!({"email": "once@example.com"}),
    )
    .await
    .expect(200);
    let second = app.smtp.wait_for("once@example.com", 3).await.token();
    app.post(
        "/api/auth/reset-password",
        json!({"token": second, "new_password": "brand-new-77"}),
    )
    .await
    .expect(200);
    app.post(
        "/api/auth/reset-password",
        json!({"token": second, "new_password": "again-new-88"}),
    )
    .await
    .expect(400);
    app.post(
        "/api/auth/reset-password",
        json!({"token": "forged", "new_password": "again-new-88"}),
    )
    .await
    .expect(400);
}

async fn change_password_keeps_this_session_only(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("changer@example.com").await;
    let here = app.login("changer@example.com", Some("here")).await;
    let there = app.login("changer@example.com", Some("there")).await;
    let at = s(&here["access_token"]).to_owned();

    let wrong = app
        .post_auth(
            "/api/users/me/password",
            &at,
            json!({"current_password": "wrong-123", "new_password": "next-pass-42"}),
        )
        .await;
    assert_eq!(
        wrong.expect(401),
        &json!({"message": "Current password is incorrect"})
    );
    let weak = app
        .post_auth(
            "/api/users/me/password",
            &at,
            json!({"current_password": PASSWORD, "new_password": "short"}),
        )
        .await;
    assert!(weak.expect(400)["errors"]["new_password"].is_string());
    let ok = app
        .post_auth(
            "/api/user/change-password",
            &at,
            json!({"currentPassword": PASSWORD, "newPassword": "next-pass-42", "confirmPassword": "next-pass-42"}),
        )
        .await;
    ok.expect(200);
    app.get("/api/users/me", Some(&at)).await.expect(200);
    app.post(
        "/api/auth/refresh",
        json!({"refresh_token": here["refresh_token"], "device_id": "here"}),
    )
    .await
    .expect(200);
    app.get("/api/users/me", Some(s(&there["access_token"])))
        .await
        .expect(401);
    app.post(
        "/api/auth/login",
        json!({"email": "changer@example.com", "password": "next-pass-42"}),
    )
    .await
    .expect(200);
    app.post(
        "/api/users/me/password",
        json!({"current_password": "x", "new_password": "y"}),
    )
    .await
    .expect(401);
}

async fn profile_update_names_phone_username(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("profile@example.com").await;
    app.post("/api/auth/register", json!({"email": "other@example.com", "password": PASSWORD, "username": "takenname", "phone": "+14155552671"}))
        .await
        .expect(201);
    let t = app.smtp.wait_for("other@example.com", 1).await.token();
    app.post("/api/auth/verify-email", json!({"token": t}))
        .await
        .expect(200);
    let at = app.login("profile@example.com", None).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let updated = app
        .send(Method::PATCH, "/api/users/me", Some(&at), Some(json!({"first_name": "Ada", "last_name": "King", "phone": "+254 712 345678", "username": "ada.k"})))
        .await;
    let user = updated.expect(200).clone();
    assert_eq!(s(&user["full_name"]), "Ada King");
    assert_eq!(s(&user["phone"]), "+254712345678");
    assert_eq!(s(&user["username"]), "ada.k");
    assert_eq!(app.get("/api/users/me", Some(&at)).await.expect(200), &user);

    let put = app
        .send(
            Method::PUT,
            "/api/user/profile",
            Some(&at),
            Some(json!({"full_name": "Ada Lovelace", "phone": null})),
        )
        .await;
    let user = put.expect(200).clone();
    assert_eq!(s(&user["full_name"]), "Ada Lovelace");
    assert_eq!(s(&user["first_name"]), "Ada");
    assert_eq!(user["phone"], json!(null));

    let dup = app
        .send(
            Method::PATCH,
            "/api/users/me",
            Some(&at),
            Some(json!({"username": "takenname"})),
        )
        .await;
    assert_eq!(s(&dup.expect(409)["message"]), "Username already in use");
    let dup = app
        .send(
            Method::PATCH,
            "/api/users/me",
            Some(&at),
            Some(json!({"phone": "+1 415 555 2671"})),
        )
        .await;
    assert_eq!(
        s(&dup.expect(409)["message"]),
        "Phone number already in use"
    );
    let bad = app
        .send(
            Method::PATCH,
            "/api/users/me",
            Some(&at),
            Some(json!({"username": "A B", "phone": "123"})),
        )
        .await;
    let errors = &bad.expect(400)["errors"];
    assert!(errors["username"].is_string() && errors["phone"].is_string());

    // A password through the profile needs the current one.
    let no_current = app
        .send(
            Method::PUT,
            "/api/users/me",
            Some(&at),
            Some(json!({"password": "prof-pass-99"})),
        )
        .await;
    assert!(no_current.expect(400)["errors"]["current_password"].is_string());
    app.send(
        Method::PUT,
        "/api/users/me",
        Some(&at),
        Some(json!({"password": "prof-pass-99", "current_password": PASSWORD})),
    )
    .await
    .expect(200);
    app.post(
        "/api/auth/login",
        json!({"username": "ada.k", "password": "prof-pass-99"}),
    )
    .await
    .expect(200);
    app.send(
        Method::PATCH,
        "/api/users/me",
        None,
        Some(json!({"username": "zzz"})),
    )
    .await
    .expect(401);
}

async fn email_change_waits_for_the_new_address(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("old@example.com").await;
    app.verified_user("holder@example.com").await;
    let at = app.login("old@example.com", None).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let taken = app
        .send(
            Method::PATCH,
            "/api/users/me",
            Some(&at),
            Some(json!({"email": "HOLDER@example.com"})),
        )
        .await;
    assert_eq!(
        taken.expect(409),
        &json!({"message": "Email already in use"})
    );

    let reply = app
        .send(
            Method::PATCH,
            "/api/users/me",
            Some(&at),
            Some(json!({"email": "new@example.com"})),
        )
        .await;
    assert_eq!(
        s(&reply.expect(200)["email"]),
        "old@example.com",
        "the old address stays until confirmed"
    );
    assert_eq!(
        s(&reply.json["pending_email"]),
        "new@example.com",
        "and the answer says a confirmation is waiting"
    );
    assert!(
        s(&reply.json["message"]).contains("new@example.com"),
        "{}",
        reply.text
    );
    let confirm = app.smtp.wait_for("new@example.com", 1).await;
    assert_eq!(confirm.subject(), "Confirm your new email address – authd");
    let notice = app.smtp.wait_for("old@example.com", 2).await;
    assert_eq!(
        notice.subject(),
        "Your email address is being changed – authd"
    );
    assert!(notice.part("text/plain").contains("new@example.com"));
    app.login("old@example.com", None).await;

    app.get(&format!("/api/auth/verify?token={}", confirm.token()), None)
        .await
        .expect(200);
    app.get(&format!("/api/auth/verify?token={}", confirm.token()), None)
        .await
        .expect(409);
    assert_eq!(
        s(&app.get("/api/users/me", Some(&at)).await.expect(200)["email"]),
        "new@example.com"
    );
    app.post(
        "/api/auth/login",
        json!({"email": "old@example.com", "password": PASSWORD}),
    )
    .await
    .expect(401);
    app.login("new@example.com", None).await;
    // The old address is free again.
    app.verified_user("old@example.com").await;
}

async fn sessions_list_and_end(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("lister@example.com").await;
    let phone = app.login("lister@example.com", Some("phone-7")).await;
    let laptop = app.login("lister@example.com", Some("laptop-3")).await;
    let at = s(&laptop["access_token"]).to_owned();
    let list = app
        .get("/api/users/me/sessions", Some(&at))
        .await
        .expect(200)
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(list.len(), 2);
    let current: Vec<_> = list
        .iter()
        .filter(|s| s["current"] == json!(true))
        .collect();
    assert_eq!(current.len(), 1);
    assert_eq!(s(&current[0]["device_id"]), "laptop-3");
    assert!(current[0]["user_agent"].is_string() || current[0]["user_agent"].is_null());
    assert_eq!(s(&current[0]["ip"]), "127.0.0.1");
    let other = list.iter().find(|s| s["current"] == json!(false)).unwrap();
    assert_eq!(s(&other["device_id"]), "phone-7");

    let path = format!("/api/users/me/sessions/{}", s(&other["id"]));
    app.send(Method::DELETE, &path, Some(&at), None)
        .await
        .expect(204);
    app.send(Method::DELETE, &path, Some(&at), None)
        .await
        .expect(404);
    app.get("/api/users/me", Some(s(&phone["access_token"])))
        .await
        .expect(401);
    assert_eq!(
        app.get("/api/users/me/sessions", Some(&at))
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Someone else's session id is not yours to end.
    app.verified_user("nosy@example.com").await;
    let nosy = app.login("nosy@example.com", None).await;
    let mine = format!("/api/users/me/sessions/{}", s(&current[0]["id"]));
    app.send(Method::DELETE, &mine, Some(s(&nosy["access_token"])), None)
        .await
        .expect(404);
    app.get("/api/users/me", Some(&at)).await.expect(200);
    app.send(
        Method::DELETE,
        "/api/users/me/sessions/%FF%FE",
        Some(&at),
        None,
    )
    .await
    .expect(404);
}

async fn self_service_deletion(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.verified_user("leaver@example.com").await;
    let t = app.login("leaver@example.com", None).await;
    let at = s(&t["access_token"]).to_owned();
    app.send(
        Method::DELETE,
        "/api/users/me",
        Some(&at),
        Some(json!({"password": "wrong-123"})),
    )
    .await
    .expect(401);
    app.send(Method::DELETE, "/api/users/me", Some(&at), Some(json!({})))
        .await
        .expect(400);
    let gone = app
        .send(
            Method::DELETE,
            "/api/users/me",
            Some(&at),
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(gone.status, 204);
    app.get("/api/users/me", Some(&at)).await.expect(401);
    app.post(
        "/api/auth/refresh",
        json!({"refresh_token": t["refresh_token"]}),
    )
    .await
    .expect(401);
    app.post(
        "/api/auth/login",
        json!({"email": "leaver@example.com", "password": PASSWORD}),
    )
    .await
    .expect(401);
    // Personal data is gone: the address registers again as a new user.
    let again = app.verified_user("leaver@example.com").await;
    assert_ne!(again, id);
}

/// The forgot → reset journey, and a re-sent verification link, carry the authorization request
/// they started from (`continue`) through the email and back; anything but a path on
/// `/oauth/authorize` is dropped on the way (the attack: a crafted link that would end at the
/// attacker's site).
async fn the_reset_journey_goes_back_only_to_an_authorization_request(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("journey@example.com").await;
    let page = |path: String| {
        let app = &app;
        async move {
            app.client
                .get(app.url(&path))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let form = |path: &'static str, fields: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            app.client
                .post(app.url(path))
                .form(&fields)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let authorize = "/oauth/authorize?client_id=c_app&response_type=code&scope=openid";
    let encoded = |to: &str| {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("continue", to)
            .finish()
    };
    let evil = "https://evil.example/steal";
    // Not carried (the language switch's link repeats the page's own address, escaped, which
    // is authd's page again: not a way out).
    let refused = page(format!("/account/forgot-password?{}", encoded(evil))).await;
    assert!(!refused.contains("name=\"continue\""), "{refused}");
    assert!(!refused.contains("href=\"https:"), "{refused}");
    let kept = page(format!("/account/forgot-password?{}", encoded(authorize))).await;
    assert!(kept.contains("name=\"continue\""), "{kept}");

    form(
        "/account/forgot-password",
        vec![
            ("email", "journey@example.com".into()),
            ("continue", evil.into()),
        ],
    )
    .await;
    let first = app.smtp.wait_for("journey@example.com", 2).await.link();
    assert!(!first.contains("evil"), "{first}");
    form(
        "/account/forgot-password",
        vec![
            ("email", "journey@example.com".into()),
            ("continue", authorize.into()),
        ],
    )
    .await;
    let link = app.smtp.wait_for("journey@example.com", 3).await.link();
    assert!(link.contains(&encoded(authorize)), "{link}");
    let path = link.replace(crate::harness::ISSUER, "");
    let reset = page(path.clone()).await;
    assert!(reset.contains("name=\"continue\""), "{reset}");
    let token = url::Url::parse(&link)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "token")
        .unwrap()
        .1
        .into_owned();
    // A tampered form: the way back is not the attacker's.
    let done = form(
        "/account/reset-password",
        vec![
            ("token", token),
            ("new_password", "journey-pass-77".into()),
            ("confirm_password", "journey-pass-77".into()),
            ("continue", evil.into()),
        ],
    )
    .await;
    assert!(done.contains("Password changed"), "{done}");
    assert!(!done.contains("evil"), "{done}");

    // A re-sent verification link carries the request too, and nothing else.
    app.register("pending@example.com").await;
    form(
        "/account/resend-verification",
        vec![
            ("email", "pending@example.com".into()),
            ("continue", evil.into()),
        ],
    )
    .await;
    let plain = app.smtp.wait_for("pending@example.com", 2).await.link();
    assert!(
        !plain.contains("evil") && !plain.contains("continue"),
        "{plain}"
    );
    form(
        "/account/resend-verification",
        vec![
            ("email", "pending@example.com".into()),
            ("continue", authorize.into()),
        ],
    )
    .await;
    let carried = app.smtp.wait_for("pending@example.com", 3).await.link();
    assert!(carried.contains(&encoded(authorize)), "{carried}");
}
