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
    let trail = crate::audit::trail(&app, &id).await;
    let added = trail.iter().find(|(k, _, _)| k == "factor.added").unwrap();
    assert_eq!(added.2["type"], "totp");
    let (_, actor, detail) = trail.last().unwrap();
    assert_eq!(
        (trail.last().unwrap().0.as_str(), actor.as_str()),
        ("factors.reset", "admin")
    );
    assert_eq!(detail["factors"], 1);
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

both_backends!(
    the_hosted_sign_in_asks_for_the_second_factor,
    acr_values_and_max_age_step_the_sign_in_up,
    a_client_that_insists_leads_the_person_to_set_a_factor_up,
);

/// The hidden fields of the form that posts to `action` on `page`.
fn form_of(page: &str, action: &str) -> Vec<(String, String)> {
    let start = page
        .find(&format!("action=\"{action}\""))
        .unwrap_or_else(|| panic!("no form to {action}: {page}"));
    let end = page[start..].find("</form>").unwrap() + start;
    crate::authorize::form_fields(&page[start..end])
}

fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

fn set_cookie(r: &reqwest::Response, name: &str) -> bool {
    r.headers().get_all("set-cookie").iter().any(|c| {
        let c = c.to_str().unwrap();
        c.starts_with(&format!("{name}=")) && !c.starts_with(&format!("{name}=;"))
    })
}

async fn post_form(
    app: &TestApp,
    browser: &reqwest::Client,
    path: &str,
    mut form: Vec<(String, String)>,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    for (k, v) in extra {
        form.retain(|(key, _)| key != k);
        form.push((k.to_string(), v.to_string()));
    }
    browser
        .post(app.url(path))
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn first_party(app: &TestApp, require_mfa: bool) -> crate::harness::TestClient {
    use authd::oauth::client::{ClientType, GrantType, NewClient};
    app.register_client(NewClient {
        name: "Notes".into(),
        client_type: ClientType::Confidential,
        redirect_uris: vec![crate::authorize::CB.into()],
        grant_types: vec![GrantType::AuthorizationCode],
        scopes: vec!["openid".into()],
        first_party: true,
        can_introspect: false,
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        require_mfa,
        id_token_alg: None,
        require_dpop: false,
    })
    .await
}

async fn id_token_of(app: &TestApp, client: &crate::harness::TestClient, code: &str) -> Value {
    let tokens = crate::authorize::exchange(
        app,
        &client.id,
        code,
        None,
        Some((&client.id, client.secret.as_deref().unwrap())),
    )
    .await;
    claims(s(&tokens.expect(200)["id_token"]))
}

async fn the_hosted_sign_in_asks_for_the_second_factor(backend: Backend) {
    use crate::authorize::{CB, authorize_url, browser, location, query};
    let app = spawn_app(backend).await;
    app.verified_user("hosted@example.com").await;
    let (totp, _, _) = with_authenticator(&app, "hosted@example.com").await;
    let notes = first_party(&app, false).await;
    let url = authorize_url(&app, &notes.id, CB, &[("scope", "openid")]);
    let browser = browser();
    let page = browser
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = crate::authorize::log_in(&app, &browser, &page, "hosted@example.com").await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(set_cookie(&r, "authd_pending"));
    assert!(
        !set_cookie(&r, "authd_session"),
        "not signed in before the code"
    );
    let second = r.text().await.unwrap();
    assert!(second.contains("name=\"code\""), "{second}");
    // A pending sign-in is no sign-in.
    let again = browser.get(&url).send().await.unwrap();
    assert_eq!(again.status().as_u16(), 200);
    let wrong = post_form(
        &app,
        &browser,
        "/oauth/authorize",
        form_of(&second, "authorize"),
        &[("action", "second"), ("code", "000000")],
    )
    .await;
    assert_eq!(wrong.status().as_u16(), 401);
    let wrong = wrong.text().await.unwrap();
    let right = post_form(
        &app,
        &browser,
        "/oauth/authorize",
        form_of(&wrong, "authorize"),
        &[("action", "second"), ("code", &totp.code(&app, 0))],
    )
    .await;
    assert!(set_cookie(&right, "authd_session"));
    let code = query(&location(&right), "code").unwrap();
    let id = id_token_of(&app, &notes, &code).await;
    assert_eq!(id["amr"], json!(["pwd", "otp"]));
    assert_eq!(id["acr"], json!("aal2"));
    // The pending sign-in is spent: the same form again goes nowhere.
    let replay = post_form(
        &app,
        &browser,
        "/oauth/authorize",
        form_of(&wrong, "authorize"),
        &[("action", "second"), ("code", &totp.code(&app, 1))],
    )
    .await;
    assert!(replay.headers().get("location").is_none());
}

async fn acr_values_and_max_age_step_the_sign_in_up(backend: Backend) {
    use crate::authorize::{CB, authorize_url, browser, code_after_sign_in, location, query};
    let app = spawn_app(backend).await;
    app.verified_user("stepper@example.com").await;
    let notes = first_party(&app, false).await;
    let browser = browser();
    // Signed in with the password alone, before the factor was set up.
    let plain = authorize_url(&app, &notes.id, CB, &[("scope", "openid")]);
    let code = code_after_sign_in(&app, &browser, &plain, "stepper@example.com").await;
    let first = id_token_of(&app, &notes, &code).await;
    assert_eq!(first["acr"], json!("aal1"));
    let (totp, _, _) = with_authenticator(&app, "stepper@example.com").await;

    // acr_values=aal2: only the second factor is asked for, and the sign-in steps up.
    let stronger = authorize_url(
        &app,
        &notes.id,
        CB,
        &[("scope", "openid"), ("acr_values", "aal2")],
    );
    let r = browser.get(&stronger).send().await.unwrap();
    assert!(set_cookie(&r, "authd_pending"));
    let page = r.text().await.unwrap();
    assert!(
        page.contains("name=\"code\"") && !page.contains("name=\"password\""),
        "{page}"
    );
    let r = post_form(
        &app,
        &browser,
        "/oauth/authorize",
        form_of(&page, "authorize"),
        &[("action", "second"), ("code", &totp.code(&app, 0))],
    )
    .await;
    let id = id_token_of(&app, &notes, &query(&location(&r), "code").unwrap()).await;
    assert_eq!(id["acr"], json!("aal2"));
    assert_eq!(id["amr"], json!(["pwd", "otp"]));
    // The same sign-in, stepped up: the session it opened before is still live.
    assert_eq!(
        authd::signin::of_session(&app.state, s(&first["sid"]))
            .await
            .unwrap()
            .unwrap()
            .id,
        authd::signin::of_session(&app.state, s(&id["sid"]))
            .await
            .unwrap()
            .unwrap()
            .id,
    );

    // max_age past: the password, then the code, again.
    app.advance(Duration::from_secs(600));
    let fresh = authorize_url(
        &app,
        &notes.id,
        CB,
        &[("scope", "openid"), ("max_age", "60")],
    );
    let page = browser
        .get(&fresh)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("name=\"password\""));
    let second = crate::authorize::log_in(&app, &browser, &page, "stepper@example.com")
        .await
        .text()
        .await
        .unwrap();
    let r = post_form(
        &app,
        &browser,
        "/oauth/authorize",
        form_of(&second, "authorize"),
        &[("action", "second"), ("code", &totp.code(&app, 0))],
    )
    .await;
    let id = id_token_of(&app, &notes, &query(&location(&r), "code").unwrap()).await;
    assert!(id["auth_time"].as_i64().unwrap() > first["auth_time"].as_i64().unwrap() + 500);
}

async fn a_client_that_insists_leads_the_person_to_set_a_factor_up(backend: Backend) {
    use crate::authorize::{CB, authorize_url, browser, location, query};
    let app = spawn_app(backend).await;
    app.verified_user("nofactor@example.com").await;
    let strict = first_party(&app, true).await;
    let browser = browser();
    let url = authorize_url(&app, &strict.id, CB, &[("scope", "openid")]);
    let page = browser
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = crate::authorize::log_in(&app, &browser, &page, "nofactor@example.com").await;
    assert_eq!(r.status().as_u16(), 200, "no code without a second factor");
    let page = unescape(&r.text().await.unwrap());
    assert!(page.contains("Set up a second factor"), "{page}");
    let href = page
        .split("href=\"/account/security?")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let security = browser
        .get(app.url(&format!("/account/security?{href}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = post_form(
        &app,
        &browser,
        "/account/security/totp",
        form_of(&security, "/account/security/totp"),
        &[],
    )
    .await;
    let enrol = r.text().await.unwrap();
    let secret = enrol
        .split("class=\"secret\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .replace(' ', "");
    let totp = App::from_secret(&secret);
    let r = post_form(
        &app,
        &browser,
        "/account/security/totp/confirm",
        form_of(&enrol, "/account/security/totp/confirm"),
        &[("code", &totp.code(&app, 0))],
    )
    .await;
    let codes = unescape(&r.text().await.unwrap());
    assert!(codes.contains("<ol class=\"codes\">"), "{codes}");
    let next = codes
        .split("class=\"button primary\" href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let back = unescape(
        &browser
            .get(app.url(&next))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let to = back
        .split("class=\"button secondary\" href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    assert!(to.starts_with("/oauth/authorize?"), "{to}");
    // Back at the application: the new factor is asked for, then the code.
    app.advance(Duration::from_secs(30));
    let page = browser
        .get(app.url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("name=\"code\""), "{page}");
    let r = post_form(
        &app,
        &browser,
        "/oauth/authorize",
        form_of(&page, "authorize"),
        &[("action", "second"), ("code", &totp.code(&app, 0))],
    )
    .await;
    let id = id_token_of(&app, &strict, &query(&location(&r), "code").unwrap()).await;
    assert_eq!(id["acr"], json!("aal2"));
    // The policy does the same for every client.
    let app = spawn_app_with(backend, &[("AUTHD_REQUIRE_MFA_FOR", "all")]).await;
    app.verified_user("policy@example.com").await;
    let notes = first_party(&app, false).await;
    let url = authorize_url(&app, &notes.id, CB, &[("scope", "openid")]);
    let browser = crate::authorize::browser();
    let page = browser
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = crate::authorize::log_in(&app, &browser, &page, "policy@example.com").await;
    assert!(r.text().await.unwrap().contains("Set up a second factor"));
}
