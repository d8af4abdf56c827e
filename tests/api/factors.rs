//! Second factors through the account API, as the CV frontends use it: an authenticator app
//! enrolled with codes computed from its secret, the two-step JSON login, recovery codes, the
//! changes that need a recent second factor, the admin's reset, the policy; and the attacks.

use std::time::Duration;

use serde_json::{Value, json};
use totp_rs::{Algorithm, Secret, TOTP};

use crate::both_backends;
use crate::harness::{Backend, PASSWORD, TestApp, s, spawn_app, spawn_app_with};

both_backends!(
    an_authenticator_app_protects_the_account,
    codes_that_must_not_pass,
    recovery_codes_work_once_and_say_how_many_remain,
    changes_that_weaken_the_account_need_a_recent_second_factor,
    an_admin_resets_a_lost_factor,
    the_policy_makes_accounts_set_up_a_factor,
);

/// The authenticator app the person set up: the secret from the enrolment answer.
pub struct App(TOTP);

impl App {
    pub fn from_secret(secret: &str) -> Self {
        let bytes = Secret::Encoded(secret.to_owned()).to_bytes().unwrap();
        Self(TOTP::new(Algorithm::SHA1, 6, 0, 30, bytes, None, "x".into()).unwrap())
    }

    /// The code for `app`'s now, `steps` steps away.
    pub fn code(&self, app: &TestApp, steps: i64) -> String {
        let now = app.state.clock.now().timestamp() + steps * 30;
        self.0.generate(now as u64)
    }
}

/// Signs in, enrols an authenticator app and confirms it; returns the app, the recovery codes
/// and the factor's id. The clock then moves to the next step, so the confirming code is spent.
pub async fn with_authenticator(app: &TestApp, email: &str) -> (App, Vec<String>, String) {
    let at = s(&app.login(email, None).await["access_token"]).to_owned();
    let enrolment = app
        .post_auth("/api/users/me/factors", &at, json!({"type": "totp"}))
        .await;
    let enrolment = enrolment.expect(201).clone();
    assert_eq!(enrolment["status"], "pending");
    assert!(s(&enrolment["otpauth_uri"]).starts_with("otpauth://totp/"));
    let id = s(&enrolment["id"]).to_owned();
    let totp = App::from_secret(s(&enrolment["secret"]));
    let confirmed = app
        .post_auth(
            &format!("/api/users/me/factors/{id}/verify"),
            &at,
            json!({"code": totp.code(app, 0)}),
        )
        .await;
    let confirmed = confirmed.expect(200).clone();
    assert_eq!(confirmed["status"], "active");
    let codes: Vec<String> = confirmed["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| s(c).to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    app.advance(Duration::from_secs(30));
    (totp, codes, id)
}

/// The login's first step: the challenge, with no tokens.
async fn challenge(app: &TestApp, email: &str) -> Value {
    let r = app
        .post(
            "/api/auth/login",
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    let body = r.expect(200).clone();
    assert_eq!(body["mfa_required"], true, "{body}");
    assert!(body.get("access_token").is_none(), "no tokens yet: {body}");
    body
}

async fn verify(app: &TestApp, challenge: &str, code: &str) -> crate::harness::Reply {
    app.post(
        "/api/auth/mfa/verify",
        json!({"challenge": challenge, "code": code}),
    )
    .await
}

fn claims(token: &str) -> Value {
    crate::authorize::claims(token)
}

async fn an_authenticator_app_protects_the_account(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("ada@example.com").await;
    let (totp, _codes, id) = with_authenticator(&app, "ada@example.com").await;
    let notice = app.smtp.wait_for("ada@example.com", 2).await;
    assert!(
        notice
            .subject()
            .starts_with("A second factor was added to your account"),
        "{}",
        notice.subject()
    );

    let first = challenge(&app, "ada@example.com").await;
    let kinds: Vec<&str> = first["factors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| s(&f["type"]))
        .collect();
    assert_eq!(kinds, ["totp", "recovery_code"]);
    assert_eq!(first["factors"][0]["id"], json!(id));
    let c = s(&first["challenge"]).to_owned();
    assert_eq!(verify(&app, &c, "000000").await.status, 401);
    let tokens = verify(&app, &c, &totp.code(&app, 0)).await;
    let tokens = tokens.expect(200).clone();
    let access = claims(s(&tokens["access_token"]));
    assert_eq!(access["amr"], json!(["pwd", "otp"]));
    assert_eq!(access["acr"], json!("aal2"));
    app.get("/api/users/me", Some(s(&tokens["access_token"])))
        .await
        .expect(200);

    // The challenge is spent; a refresh keeps the level.
    assert_eq!(verify(&app, &c, &totp.code(&app, 0)).await.status, 401);
    let refreshed = app
        .post(
            "/api/auth/refresh",
            json!({"refresh_token": s(&tokens["refresh_token"])}),
        )
        .await;
    assert_eq!(
        claims(s(&refreshed.expect(200)["access_token"]))["acr"],
        json!("aal2")
    );

    // The password grant has no second step: refused, saying why.
    let client = app
        .client("confidential", &["password"], &["openid"], &[])
        .await;
    let grant = app
        .token(
            &[
                ("grant_type", "password"),
                ("username", "ada@example.com"),
                ("password", PASSWORD),
            ],
            Some((&client.id, client.secret.as_deref().unwrap())),
        )
        .await;
    assert_eq!(s(&grant.expect(400)["error"]), "invalid_grant");
    assert!(s(&grant.json["error_description"]).contains("second factor"));
}

async fn codes_that_must_not_pass(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("eve-target@example.com").await;
    app.verified_user("other@example.com").await;
    let (totp, _, _) = with_authenticator(&app, "eve-target@example.com").await;
    let (other_totp, _, _) = with_authenticator(&app, "other@example.com").await;
    let c = s(&challenge(&app, "eve-target@example.com").await["challenge"]).to_owned();
    let now = totp.code(&app, 0);
    let arabic: String = now
        .chars()
        .map(|d| char::from_u32(0x0660 + d.to_digit(10).unwrap()).unwrap())
        .collect();
    for bad in [
        totp.code(&app, 2),
        totp.code(&app, -2),
        now[..5].to_owned(),
        format!("{now}0"),
        arabic,
        other_totp.code(&app, 0),
        "not-a-code".into(),
    ] {
        let r = verify(&app, &c, &bad).await;
        assert_eq!(r.status, 401, "{bad}: {}", r.text);
    }
    // A step of drift either way passes (one code per step).
    assert_eq!(verify(&app, &c, &totp.code(&app, -1)).await.status, 200);
    let c = s(&challenge(&app, "eve-target@example.com").await["challenge"]).to_owned();
    assert_eq!(
        verify(&app, &c, &totp.code(&app, -1)).await.status,
        401,
        "a code taken is not taken again"
    );
    assert_eq!(verify(&app, &c, &totp.code(&app, 1)).await.status, 200);

    // Another account's challenge with this account's code; an expired challenge.
    let theirs = s(&challenge(&app, "other@example.com").await["challenge"]).to_owned();
    assert_eq!(verify(&app, &theirs, &totp.code(&app, 0)).await.status, 401);
    let c = s(&challenge(&app, "eve-target@example.com").await["challenge"]).to_owned();
    app.advance(Duration::from_secs(6 * 60));
    let r = verify(&app, &c, &totp.code(&app, 0)).await;
    assert_eq!(r.status, 401);
    assert_eq!(s(&r.json["message"]), "Invalid or expired challenge");
    assert_eq!(verify(&app, "forged", "123456").await.status, 401);

    // Guesses count against the account like passwords: past its budget, refused unheard.
    let c = s(&challenge(&app, "other@example.com").await["challenge"]).to_owned();
    let mut statuses = Vec::new();
    for n in 0..40 {
        statuses.push(
            verify(&app, &c, &format!("{:06}", 100_000 + n))
                .await
                .status,
        );
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
}

async fn recovery_codes_work_once_and_say_how_many_remain(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("lost@example.com").await;
    let (_, codes, _) = with_authenticator(&app, "lost@example.com").await;
    let c = s(&challenge(&app, "lost@example.com").await["challenge"]).to_owned();
    // As typed from paper: upper case, spaces.
    let typed = codes[0].to_uppercase().replace('-', " ");
    verify(&app, &c, &typed).await.expect(200);
    let notice = app.smtp.wait_for("lost@example.com", 3).await;
    assert!(
        notice.subject().starts_with("A recovery code was used"),
        "{}",
        notice.subject()
    );
    assert!(notice.part("text/plain").contains("9 unused code(s)"));
    let c = s(&challenge(&app, "lost@example.com").await["challenge"]).to_owned();
    assert_eq!(verify(&app, &c, &codes[0]).await.status, 401, "used once");
    let tokens = verify(&app, &c, &codes[1]).await.expect(200).clone();
    let at = s(&tokens["access_token"]);
    let listed = app.get("/api/users/me/factors", Some(at)).await;
    assert_eq!(listed.expect(200)["recovery_codes_left"], 8);

    // A new set (a second factor within the last 5 minutes: this sign-in): the old ones void.
    let fresh = app
        .post_auth("/api/users/me/factors/recovery-codes", at, json!({}))
        .await;
    let fresh: Vec<String> = fresh.expect(200)["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| s(c).to_owned())
        .collect();
    let c = s(&challenge(&app, "lost@example.com").await["challenge"]).to_owned();
    assert_eq!(verify(&app, &c, &codes[2]).await.status, 401);
    verify(&app, &c, &fresh[0]).await.expect(200);
}

async fn changes_that_weaken_the_account_need_a_recent_second_factor(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("careful@example.com").await;
    let (totp, _, id) = with_authenticator(&app, "careful@example.com").await;
    let c = s(&challenge(&app, "careful@example.com").await["challenge"]).to_owned();
    let tokens = verify(&app, &c, &totp.code(&app, 0))
        .await
        .expect(200)
        .clone();
    let at = s(&tokens["access_token"]).to_owned();
    // Past the 5 minutes of the sign-in's second factor.
    app.advance(Duration::from_secs(6 * 60));
    let change = |code: Option<String>| {
        let mut body = json!({"current_password": PASSWORD, "new_password": "a-new-pass-42"});
        if let Some(code) = code {
            body["code"] = code.into();
        }
        let (app, at) = (&app, at.clone());
        async move { app.post_auth("/api/users/me/password", &at, body).await }
    };
    let r = change(None).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(s(&r.json["message"]).contains("second factor"));
    change(Some(totp.code(&app, 0))).await.expect(200);
    // Removing the factor: the same rule, then the login is one step again.
    let remove = app
        .send(
            reqwest::Method::DELETE,
            &format!("/api/users/me/factors/{id}"),
            Some(&at),
            Some(json!({})),
        )
        .await;
    assert_eq!(remove.status, 403);
    app.advance(Duration::from_secs(30));
    let remove = app
        .send(
            reqwest::Method::DELETE,
            &format!("/api/users/me/factors/{id}"),
            Some(&at),
            Some(json!({"code": totp.code(&app, 0)})),
        )
        .await;
    assert_eq!(remove.status, 204, "{}", remove.text);
    let notice = app.smtp.wait_for("careful@example.com", 3).await;
    assert!(
        notice
            .subject()
            .starts_with("A second factor was removed from your account"),
        "{}",
        notice.subject()
    );
    let login = app
        .post(
            "/api/auth/login",
            json!({"email": "careful@example.com", "password": "a-new-pass-42"}),
        )
        .await;
    assert!(login.expect(200)["access_token"].is_string());
}

async fn an_admin_resets_a_lost_factor(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("phoneless@example.com").await;
    let (_, _, _) = with_authenticator(&app, "phoneless@example.com").await;
    let admin = app.admin("root@example.com").await;
    let users = app.get("/api/admin/users?q=phoneless", Some(&admin)).await;
    let id = s(&users.expect(200)["users"][0]["id"]).to_owned();
    let r = app
        .send(
            reqwest::Method::DELETE,
            &format!("/api/admin/users/{id}/factors"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.expect(200)["removed"], 1);
    let notice = app.smtp.wait_for("phoneless@example.com", 3).await;
    assert!(
        notice
            .subject()
            .starts_with("Your account's second factors were reset"),
        "{}",
        notice.subject()
    );
    // One step again.
    assert!(app.login("phoneless@example.com", None).await["access_token"].is_string());
}

async fn the_policy_makes_accounts_set_up_a_factor(backend: Backend) {
    let app = spawn_app_with(backend, &[("AUTHD_REQUIRE_MFA_FOR", "all")]).await;
    app.verified_user("covered@example.com").await;
    let at = s(&app.login("covered@example.com", None).await["access_token"]).to_owned();
    let r = app.get("/api/users/me/sessions", Some(&at)).await;
    assert_eq!(r.status, 403);
    assert!(s(&r.json["message"]).contains("set one up"));
    app.get("/api/users/me", Some(&at)).await.expect(200);
    app.get("/api/users/me/factors", Some(&at))
        .await
        .expect(200);
    let (totp, _, id) = with_authenticator(&app, "covered@example.com").await;
    let c = s(&challenge(&app, "covered@example.com").await["challenge"]).to_owned();
    let tokens = verify(&app, &c, &totp.code(&app, 0))
        .await
        .expect(200)
        .clone();
    let at = s(&tokens["access_token"]);
    app.get("/api/users/me/sessions", Some(at))
        .await
        .expect(200);
    // The last factor stays while the policy needs one.
    let remove = app
        .send(
            reqwest::Method::DELETE,
            &format!("/api/users/me/factors/{id}"),
            Some(at),
            Some(json!({})),
        )
        .await;
    assert_eq!(remove.status, 403, "{}", remove.text);
    assert!(s(&remove.json["message"]).contains("must keep a second factor"));
}
