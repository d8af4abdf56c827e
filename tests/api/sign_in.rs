//! Sign-in's one home, tried as the attacker and as the person: CSRF values authd did not mint
//! (or minted for someone else), sign-out by anyone's ID token, `max_age=0` a tenth of a
//! second later, a form left open, the way on after a sign-up, and what the tokens say of the
//! sign-in (`auth_time`, `amr`, `acr`).

use std::sync::Arc;
use std::time::Duration;

use reqwest::cookie::Jar;
use serde_json::json;

use crate::authorize::{
    CB, authorize_url, browser, claims, code_after_sign_in, exchange, form_fields, location,
    log_in, query,
};
use crate::both_backends;
use crate::harness::{
    Backend, PASSWORD, TestApp, TestClient, s, spawn_app, spawn_app_with, spawn_pair,
};

both_backends!(
    planted_or_foreign_csrf_values_approve_nothing,
    a_sign_in_form_cannot_be_posted_for_the_victim,
    sign_out_asks_unless_the_hint_names_this_sign_in,
    max_age_counts_fractions_of_a_second,
    a_stale_form_is_shown_again_filled_in,
    the_sign_up_browser_continues_signed_in,
    an_account_created_without_verification_continues_signed_in,
    tokens_say_when_and_how_the_user_signed_in,
    bad_sign_in_parameters_are_answered_as_the_specs_say,
    https_issuer_cookies_carry_the_host_prefix,
    an_address_in_use_offers_sign_in_and_a_new_password,
);

/// A browser whose cookies the test can plant, as an attacker on a sibling host would.
fn browser_with(jar: &Arc<Jar>) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn third_party(app: &TestApp) -> TestClient {
    app.client(
        "confidential",
        &["authorization_code", "refresh_token"],
        &["openid", "email"],
        &[CB],
    )
    .await
}

async fn first_party(app: &TestApp) -> TestClient {
    app.client_with(
        "confidential",
        &["authorization_code", "refresh_token"],
        &["openid", "email", "offline_access"],
        &[CB],
        true,
    )
    .await
}

async fn text(r: reqwest::Response) -> String {
    r.text().await.unwrap()
}

/// The value a response sets for cookie `name`, if it sets one (and does not remove it).
fn cookie_value(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|c| c.to_str().ok()?.split(';').next()?.split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v.to_owned())
}

fn set_cookie(r: &reqwest::Response, name: &str) -> bool {
    cookie_value(r, name).is_some()
}

/// HTML text as the browser reads it.
fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A valid CSRF value, as the page hands it out.
fn csrf_of(page: &str) -> String {
    form_fields(page)
        .into_iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v)
        .expect("the page's form carries a CSRF value")
}

/// The form of `page` with `csrf` swapped for `value`, and `action`.
fn with_csrf(page: &str, value: &str, action: &str) -> Vec<(String, String)> {
    let mut form = form_fields(page);
    form.retain(|(k, _)| k != "csrf" && k != "action");
    form.push(("csrf".into(), value.into()));
    form.push(("action".into(), action.into()));
    form
}

/// Whether `browser` is signed in: `prompt=none` for a first-party client brings a code.
async fn signed_in(app: &TestApp, browser: &reqwest::Client, client: &TestClient) -> bool {
    let url = authorize_url(
        app,
        &client.id,
        CB,
        &[("prompt", "none"), ("scope", "openid")],
    );
    let r = browser.get(&url).send().await.unwrap();
    query(&location(&r), "code").is_some()
}

/// An attacker who can set cookies on authd's host (a sibling subdomain, a plain-HTTP response
/// on the way) plants a CSRF cookie in the victim's browser and posts "Allow" for his client
/// with the value he chose; or plants a value authd minted for his own browser or sign-in. No
/// code for her account reaches him: the consent form's value is bound to her sign-in.
async fn planted_or_foreign_csrf_values_approve_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("victim@example.com").await;
    app.verified_user("mallory@example.com").await;
    let own = first_party(&app).await;
    let evil = third_party(&app).await;
    let evil_url = authorize_url(&app, &evil.id, CB, &[("scope", "openid email")]);

    // The victim is signed in on authd (she used an application of the operator's).
    let jar = Arc::new(Jar::default());
    let victim = browser_with(&jar);
    code_after_sign_in(
        &app,
        &victim,
        &authorize_url(&app, &own.id, CB, &[("scope", "openid")]),
        "victim@example.com",
    )
    .await;
    // Her consent page for his client, as he would build the form (the request is public).
    let consent = text(victim.get(&evil_url).send().await.unwrap()).await;
    assert!(consent.contains("value=\"approve\""), "{consent}");

    let base = url::Url::parse(&app.base).unwrap();
    let planted = "A".repeat(43);
    for cookie in [
        format!("authd_csrf={planted}; Path=/"),
        format!("authd_csrf={planted}; Path=/oauth"),
        format!("authd_browser={planted}; Path=/"),
    ] {
        jar.add_cookie_str(&cookie, &base);
    }
    // 1. A value he chose, matching the cookie he planted.
    let r = victim
        .post(app.url("/oauth/authorize"))
        .form(&with_csrf(&consent, &planted, "approve"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403, "a planted value approves nothing");
    assert!(r.headers().get("location").is_none());
    assert!(text(r).await.contains("value=\"approve\""), "asked again");

    // 2. A value authd minted for his own browser, with his browser's cookie planted in hers.
    let r = crate::authorize::browser()
        .get(&evil_url)
        .send()
        .await
        .unwrap();
    let his_cookie = cookie_value(&r, "authd_browser").expect("a browser id");
    let his_value = csrf_of(&text(r).await);
    jar.add_cookie_str(&format!("authd_browser={his_cookie}; Path=/"), &base);
    let r = victim
        .post(app.url("/oauth/authorize"))
        .form(&with_csrf(&consent, &his_value, "approve"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        403,
        "a browser-bound value approves nothing"
    );

    // 3. A value authd minted for his own sign-in's consent page.
    let his = browser();
    let his_page = text(his.get(&evil_url).send().await.unwrap()).await;
    log_in(&app, &his, &his_page, "mallory@example.com").await;
    let his_consent = text(his.get(&evil_url).send().await.unwrap()).await;
    let r = victim
        .post(app.url("/oauth/authorize"))
        .form(&with_csrf(&consent, &csrf_of(&his_consent), "approve"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        403,
        "another sign-in's value approves nothing"
    );

    // 4. Her own valid value, posted from a page on another site: the browser says so.
    let fresh = text(victim.get(&evil_url).send().await.unwrap()).await;
    for (header, value) in [
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
        ("origin", "http://evil.example"),
    ] {
        let r = victim
            .post(app.url("/oauth/authorize"))
            .header(header, value)
            .form(&with_csrf(&fresh, &csrf_of(&fresh), "approve"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 403, "{header}: {value}");
        assert!(r.headers().get("location").is_none());
    }

    // Her own click on her own page still works (the test can tell the difference).
    let r = victim
        .post(app.url("/oauth/authorize"))
        .header("sec-fetch-site", "same-origin")
        .header("origin", "null")
        .form(&with_csrf(&fresh, &csrf_of(&fresh), "approve"))
        .send()
        .await
        .unwrap();
    assert!(query(&location(&r), "code").is_some());
}

/// Login CSRF: the attacker makes the victim's browser post the sign-in form with his own
/// credentials, to sign her into his account. A planted value, a post from another site, or a
/// form with no value signs nobody in.
async fn a_sign_in_form_cannot_be_posted_for_the_victim(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("mallory@example.com").await;
    let own = first_party(&app).await;
    let url = authorize_url(&app, &own.id, CB, &[("scope", "openid")]);
    let jar = Arc::new(Jar::default());
    let victim = browser_with(&jar);
    let page = text(browser().get(&url).send().await.unwrap()).await;
    let planted = "B".repeat(43);
    let base = url::Url::parse(&app.base).unwrap();
    jar.add_cookie_str(&format!("authd_csrf={planted}; Path=/oauth"), &base);
    jar.add_cookie_str(&format!("authd_browser={planted}; Path=/"), &base);
    let mut form = with_csrf(&page, &planted, "login");
    form.push(("username".into(), "mallory@example.com".into()));
    form.push(("password".into(), PASSWORD.into()));
    let r = victim
        .post(app.url("/oauth/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(!set_cookie(&r, "authd_session"));
    let shown = text(r).await;
    assert!(
        shown.contains("name=\"password\""),
        "the form again: {shown}"
    );
    assert!(!shown.contains(PASSWORD), "never the password");
    assert!(!signed_in(&app, &victim, &own).await);

    // From another site, even with a value that would pass.
    let page = text(victim.get(&url).send().await.unwrap()).await;
    let mut form = with_csrf(&page, &csrf_of(&page), "login");
    form.push(("username".into(), "mallory@example.com".into()));
    form.push(("password".into(), PASSWORD.into()));
    let r = victim
        .post(app.url("/oauth/authorize"))
        .header("sec-fetch-site", "cross-site")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(!set_cookie(&r, "authd_session"));
    assert!(!signed_in(&app, &victim, &own).await);
    // The same form from authd's own page signs in: the refusals above were the checks.
    let r = victim
        .post(app.url("/oauth/authorize"))
        .header("sec-fetch-site", "same-origin")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(set_cookie(&r, "authd_session"));
}

/// RP-Initiated Logout 1.0 section 2: a hint that is anyone's ID token must not sign this
/// browser out without asking, and a hint alone never ends a session the browser does not hold.
async fn sign_out_asks_unless_the_hint_names_this_sign_in(backend: Backend) {
    use authd::oauth::client::{ClientType, GrantType, NewClient};
    let app = spawn_app(backend).await;
    app.verified_user("victim@example.com").await;
    app.verified_user("mallory@example.com").await;
    let bye = "http://127.0.0.1:9/bye";
    let rp = app
        .register_client(NewClient {
            name: "Notes".into(),
            client_type: ClientType::Confidential,
            redirect_uris: vec![CB.into()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scopes: vec!["openid".into(), "offline_access".into()],
            first_party: true,
            can_introspect: false,
            post_logout_redirect_uris: vec![bye.into()],
            backchannel_logout_uri: None,
            require_mfa: false,
            id_token_alg: None,
            require_dpop: false,
        })
        .await;
    let secret = rp.secret.clone().unwrap();
    let url = authorize_url(&app, &rp.id, CB, &[("scope", "openid offline_access")]);
    let tokens_of = |code: String| {
        let (app, rp, secret) = (&app, &rp, &secret);
        async move {
            exchange(app, &rp.id, &code, None, Some((&rp.id, secret)))
                .await
                .expect(200)
                .clone()
        }
    };
    let logout = |hint: &str| {
        let mut u = url::Url::parse(&app.url("/oauth/logout")).unwrap();
        u.query_pairs_mut()
            .append_pair("id_token_hint", hint)
            .append_pair("post_logout_redirect_uri", bye);
        u.to_string()
    };
    let victim = browser();
    let first =
        tokens_of(code_after_sign_in(&app, &victim, &url, "victim@example.com").await).await;
    let mallory = browser();
    let his =
        tokens_of(code_after_sign_in(&app, &mallory, &url, "mallory@example.com").await).await;

    // Someone else's valid ID token, opened in her browser: she is asked, and stays signed in.
    let r = victim
        .get(logout(s(&his["id_token"])))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(!set_cookie(&r, "authd_session"));
    let page = text(r).await;
    assert!(
        page.contains("victim@example.com"),
        "names who is signed in: {page}"
    );
    assert!(page.contains("Notes"), "names what ends: {page}");
    assert!(signed_in(&app, &victim, &rp).await);

    // Her ID token, sent without her browser's cookies: nothing of hers ends.
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(logout(s(&first["id_token"])))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success() || r.status().as_u16() == 303);
    app.get("/oauth/userinfo", Some(s(&first["access_token"])))
        .await
        .expect(200);
    assert!(signed_in(&app, &victim, &rp).await);

    // A stale hint: from a sign-in of hers that another one replaced in this browser.
    let again = browser();
    let stale = tokens_of(code_after_sign_in(&app, &again, &url, "victim@example.com").await).await;
    let page = text(
        again
            .get(url.replace("scope=", "prompt=login&scope="))
            .send()
            .await
            .unwrap(),
    )
    .await;
    log_in(&app, &again, &page, "mallory@example.com").await;
    let r = again
        .get(logout(s(&stale["id_token"])))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        200,
        "asked: the hint names another sign-in"
    );

    // Her current ID token in her own browser: signed out at once, and back at the client.
    let r = victim
        .get(logout(s(&first["id_token"])))
        .send()
        .await
        .unwrap();
    assert!(location(&r).as_str().starts_with(bye));
    assert!(!signed_in(&app, &victim, &rp).await);
    app.get("/oauth/userinfo", Some(s(&first["access_token"])))
        .await
        .expect(401);
    // His session, in his browser, is untouched by all of it.
    app.get("/oauth/userinfo", Some(s(&his["access_token"])))
        .await
        .expect(200);
}

/// OIDC Core 3.1.2.1: with `max_age`, a new sign-in is needed whenever the elapsed time is
/// greater than it; `max_age=0` a tenth of a second after signing in asks again.
async fn max_age_counts_fractions_of_a_second(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("fresh@example.com").await;
    let own = first_party(&app).await;
    let browser = browser();
    let url = authorize_url(&app, &own.id, CB, &[("scope", "openid")]);
    let page = text(browser.get(&url).send().await.unwrap()).await;
    let at_sign_in = chrono::Utc::now();
    let back = log_in(&app, &browser, &page, "fresh@example.com").await;
    assert!(query(&location(&back), "code").is_some());

    app.advance(Duration::from_millis(100));
    let again = authorize_url(&app, &own.id, CB, &[("scope", "openid"), ("max_age", "0")]);
    let r = browser.get(&again).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "the sign-in page, not a code");
    let page = text(r).await;
    assert!(page.contains("sign in again"), "{page}");
    // Signing in answers it: the code comes, with this sign-in's time.
    let back = log_in(&app, &browser, &page, "fresh@example.com").await;
    let code = query(&location(&back), "code").unwrap();
    let tokens = exchange(
        &app,
        &own.id,
        &code,
        None,
        Some((&own.id, own.secret.as_deref().unwrap())),
    )
    .await
    .expect(200)
    .clone();
    let auth_time = claims(s(&tokens["id_token"]))["auth_time"]
        .as_i64()
        .unwrap();
    assert!(auth_time >= at_sign_in.timestamp());
    // prompt=none with max_age=0 has no page to show.
    app.advance(Duration::from_millis(100));
    let none = authorize_url(
        &app,
        &own.id,
        CB,
        &[("scope", "openid"), ("max_age", "0"), ("prompt", "none")],
    );
    let r = browser.get(&none).send().await.unwrap();
    assert_eq!(
        query(&location(&r), "error").as_deref(),
        Some("login_required")
    );
}

/// A sign-in page left open: its CSRF value grows stale, or the browser dropped the cookie. The
/// post is shown again with what was typed (never the password) and a working button, not a
/// dead end.
async fn a_stale_form_is_shown_again_filled_in(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("slow@example.com").await;
    let own = first_party(&app).await;
    let url = authorize_url(&app, &own.id, CB, &[("scope", "openid")]);
    let browser = browser();
    let page = text(browser.get(&url).send().await.unwrap()).await;

    app.advance(Duration::from_secs(13 * 3600));
    let mut form = with_csrf(&page, &csrf_of(&page), "login");
    form.push(("username".into(), "slow@example.com".into()));
    form.push(("password".into(), PASSWORD.into()));
    let r = browser
        .post(app.url("/oauth/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(!set_cookie(&r, "authd_session"));
    let again = text(r).await;
    assert!(
        again.contains("value=\"slow@example.com\""),
        "what was typed: {again}"
    );
    assert!(!again.contains(PASSWORD));
    assert_ne!(csrf_of(&again), csrf_of(&page), "a fresh value");
    let back = log_in(&app, &browser, &again, "slow@example.com").await;
    assert!(query(&location(&back), "code").is_some());

    // The browser lost its cookies meanwhile (closed, cleared, expired): the same.
    let page = text(crate::authorize::browser().get(&url).send().await.unwrap()).await;
    let cookieless = crate::authorize::browser();
    let mut form = with_csrf(&page, &csrf_of(&page), "login");
    form.push(("username".into(), "slow@example.com".into()));
    form.push(("password".into(), PASSWORD.into()));
    let r = cookieless
        .post(app.url("/oauth/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let again = text(r).await;
    assert!(again.contains("value=\"slow@example.com\""));
    let back = log_in(&app, &cookieless, &again, "slow@example.com").await;
    assert!(query(&location(&back), "code").is_some());
}

/// From the authorization request `url`'s sign-in page to "create account", and its form sent
/// for `email` (with a good password), as a browser would.
async fn sign_up_from(
    app: &TestApp,
    browser: &reqwest::Client,
    url: &str,
    email: &str,
) -> reqwest::Response {
    let page = unescape(&text(browser.get(url).send().await.unwrap()).await);
    let href = page
        .split("href=\"/account/sign-up?")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let form_page = text(
        browser
            .get(app.url(&format!("/account/sign-up?{href}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let mut form = form_fields(&form_page);
    for (k, v) in [
        ("email", email),
        ("password", "new-pass-123"),
        ("confirm_password", "new-pass-123"),
    ] {
        form.push((k.into(), v.into()));
    }
    browser
        .post(app.url("/account/sign-up"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// The hosted sign-up proved the password in this browser, the emailed link the mailbox: the
/// link followed in the same browser signs the person in, and "Continue" brings the code. In
/// another browser, the sign-in page that follows has the address filled in.
async fn the_sign_up_browser_continues_signed_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let partner = third_party(&app).await;
    let url = authorize_url(&app, &partner.id, CB, &[("scope", "openid email")]);
    let sign_up = |who: &'static str| {
        let (app, url) = (&app, url.clone());
        async move {
            let browser = browser();
            let r = sign_up_from(app, &browser, &url, who).await;
            assert_eq!(r.status().as_u16(), 200);
            let page = text(r).await;
            assert!(
                page.contains("Check your email") && page.contains(who),
                "{page}"
            );
            let link = app.smtp.wait_for(who, 1).await.link();
            (browser, link.replace(crate::harness::ISSUER, &app.base))
        }
    };
    let follow = |browser: reqwest::Client, link: String| async move {
        let page = browser
            .get(&link)
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert!(
            !set_cookie(&page, "authd_session"),
            "opening the link signs no one in"
        );
        let page = text(page).await;
        let r = browser
            .post(link.split("/api/").next().unwrap().to_owned() + "/account/verify")
            .form(&form_fields(&page))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let signed = set_cookie(&r, "authd_session");
        let page = unescape(&text(r).await);
        let next = page
            .split("href=\"/oauth/authorize?")
            .nth(1)
            .map(|rest| format!("/oauth/authorize?{}", rest.split('"').next().unwrap()))
            .unwrap_or_default();
        (signed, page, next)
    };

    // The same browser: signed in, consent, the code. No password typed again.
    let (browser, link) = sign_up("nia@example.com").await;
    let (signed, page, next) = follow(browser.clone(), link).await;
    assert!(signed, "{page}");
    assert!(page.contains("You are signed in"), "{page}");
    let consent = text(browser.get(app.url(&next)).send().await.unwrap()).await;
    assert!(consent.contains("value=\"approve\""), "{consent}");
    let r = browser
        .post(app.url("/oauth/authorize"))
        .form(&with_csrf(&consent, &csrf_of(&consent), "approve"))
        .send()
        .await
        .unwrap();
    let code = query(&location(&r), "code").unwrap();
    let tokens = exchange(
        &app,
        &partner.id,
        &code,
        None,
        Some((&partner.id, partner.secret.as_deref().unwrap())),
    )
    .await
    .expect(200)
    .clone();
    assert_eq!(claims(s(&tokens["id_token"]))["amr"], json!(["pwd"]));

    // Another browser (the phone's mail app): confirmed, not signed in, the address filled in.
    let (_, link) = sign_up("omar@example.com").await;
    let elsewhere = crate::authorize::browser();
    let (signed, page, next) = follow(elsewhere.clone(), link).await;
    assert!(!signed, "{page}");
    assert!(next.contains("login_hint=omar%40example.com"), "{next}");
    let sign_in = text(elsewhere.get(app.url(&next)).send().await.unwrap()).await;
    assert!(sign_in.contains("value=\"omar@example.com\""), "{sign_in}");
}

/// With verification off, the hosted sign-up signs the browser in, and "Continue" goes on.
async fn an_account_created_without_verification_continues_signed_in(backend: Backend) {
    let app = spawn_app_with(backend, &[("AUTHD_REQUIRE_EMAIL_VERIFICATION", "false")]).await;
    let own = first_party(&app).await;
    let url = authorize_url(&app, &own.id, CB, &[("scope", "openid")]);
    let browser = browser();
    let request = url.split_once('?').unwrap().1.to_owned();
    let form_page = text(
        browser
            .get(app.url(&format!(
                "/account/sign-up?{}",
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("oauth_request", &request)
                    .finish()
            )))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let mut form = form_fields(&form_page);
    for (k, v) in [
        ("email", "quick@example.com"),
        ("password", "new-pass-123"),
        ("confirm_password", "new-pass-123"),
    ] {
        form.push((k.into(), v.into()));
    }
    let r = browser
        .post(app.url("/account/sign-up"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(set_cookie(&r, "authd_session"));
    let page = text(r).await;
    assert!(page.contains("Account created"), "{page}");
    let back = browser.get(&url).send().await.unwrap();
    assert!(
        query(&location(&back), "code").is_some(),
        "signed in already"
    );

    // Without the form's CSRF value, nobody is signed up or in.
    let mut form = form_fields(&form_page);
    form.retain(|(k, _)| k != "csrf");
    form.push(("csrf".into(), "C".repeat(43)));
    for (k, v) in [
        ("email", "forged@example.com"),
        ("password", "new-pass-123"),
        ("confirm_password", "new-pass-123"),
    ] {
        form.push((k.into(), v.into()));
    }
    let r = crate::authorize::browser()
        .post(app.url("/account/sign-up"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(!set_cookie(&r, "authd_session"));
    let login = app
        .post(
            "/api/auth/login",
            json!({"email": "forged@example.com", "password": "new-pass-123"}),
        )
        .await;
    assert_eq!(login.status, 401);
}

/// ID tokens and access tokens carry the sign-in: `auth_time` (kept through refresh), `amr`
/// and `acr`; discovery lists the levels; `acr_values` beyond reach is voluntary.
async fn tokens_say_when_and_how_the_user_signed_in(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("how@example.com").await;
    let own = first_party(&app).await;
    let secret = own.secret.clone().unwrap();
    let discovery = app.get("/.well-known/openid-configuration", None).await;
    let discovery = discovery.expect(200);
    assert_eq!(discovery["acr_values_supported"], json!(["aal1", "aal2"]));
    let listed: Vec<&str> = discovery["claims_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(listed.contains(&"amr") && listed.contains(&"acr"));

    let browser = browser();
    let url = authorize_url(
        &app,
        &own.id,
        CB,
        &[
            ("scope", "openid offline_access"),
            ("acr_values", "aal2 aal1"),
        ],
    );
    let code = code_after_sign_in(&app, &browser, &url, "how@example.com").await;
    let tokens = exchange(&app, &own.id, &code, None, Some((&own.id, &secret)))
        .await
        .expect(200)
        .clone();
    let id = claims(s(&tokens["id_token"]));
    assert_eq!(id["amr"], json!(["pwd"]));
    assert_eq!(id["acr"], json!("aal1"));
    let access = claims(s(&tokens["access_token"]));
    assert_eq!(access["amr"], json!(["pwd"]));
    assert_eq!(access["acr"], json!("aal1"));
    assert_eq!(access["auth_time"], id["auth_time"]);

    // A refresh later: the same sign-in, the same auth_time.
    app.advance(Duration::from_secs(120));
    let refreshed = app
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", s(&tokens["refresh_token"])),
            ],
            Some((&own.id, &secret)),
        )
        .await
        .expect(200)
        .clone();
    let again = claims(s(&refreshed["id_token"]));
    assert_eq!(again["auth_time"], id["auth_time"]);
    assert_eq!(again["sid"], id["sid"]);
    assert_eq!(again["amr"], json!(["pwd"]));

    // The account API's login and an anonymous user say what they proved.
    let login = app.login("how@example.com", None).await;
    let access = claims(s(&login["access_token"]));
    assert_eq!(access["acr"], json!("aal1"));
    let anonymous = app.post("/api/auth/anonymous", json!({})).await;
    let access = claims(s(&anonymous.expect(201)["access_token"]));
    assert_eq!(access["acr"], json!("0"));
    assert!(access.get("amr").is_none(), "{access}");
}

/// Two instances on one database: a sign-in made on one holds on the other, and a form served
/// by one is accepted by the other. An instance with another secret mints values this one
/// refuses (the form is shown again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_and_forms_hold_across_postgres_instances() {
    let (a, b) = spawn_pair(Backend::Postgres, &[]).await;
    a.verified_user("both@example.com").await;
    let partner = third_party(&a).await;
    let url_a = authorize_url(&a, &partner.id, CB, &[("scope", "openid")]);
    let url_b = url_a.replace(&a.base, &b.base);
    // The sign-in page from A, posted to B: signed in. (Behind one name a browser sends the
    // same cookies to both; here they are carried by hand.)
    let cookies = |r: &reqwest::Response| -> String {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned())
            .filter(|c| !c.ends_with('='))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let plain = crate::authorize::browser();
    let first = plain.get(&url_a).send().await.unwrap();
    let jar = cookies(&first);
    let page = text(first).await;
    let mut form_b = with_csrf(&page, &csrf_of(&page), "login");
    form_b.push(("username".into(), "both@example.com".into()));
    form_b.push(("password".into(), PASSWORD.into()));
    let r = plain
        .post(b.url("/oauth/authorize"))
        .header("cookie", &jar)
        .form(&form_b)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "consent, on B");
    let session = cookies(&r);
    let consent = text(r).await;
    assert!(consent.contains("value=\"approve\""), "{consent}");
    // Consent shown by B, allowed at A.
    let r = plain
        .post(a.url("/oauth/authorize"))
        .header("cookie", format!("{jar}; {session}"))
        .form(&with_csrf(&consent, &csrf_of(&consent), "approve"))
        .send()
        .await
        .unwrap();
    assert!(query(&location(&r), "code").is_some());
    // And the sign-in holds on B.
    let r = plain
        .get(&url_b)
        .header("cookie", format!("{jar}; {session}"))
        .send()
        .await
        .unwrap();
    assert!(
        query(&location(&r), "code").is_some(),
        "consent remembered, signed in on B"
    );

    // Another deployment (its own database and secret): its cookie and form mean nothing here.
    let other = spawn_app(Backend::Sqlite).await;
    other.verified_user("both@example.com").await;
    let stranger = third_party(&other).await;
    let other_browser = crate::authorize::browser();
    let other_url = authorize_url(&other, &stranger.id, CB, &[("scope", "openid")]);
    let page = text(other_browser.get(&other_url).send().await.unwrap()).await;
    let r = log_in(&other, &other_browser, &page, "both@example.com").await;
    let foreign = cookies(&r);
    let foreign_consent = text(r).await;
    let r = plain
        .get(&url_a)
        .header("cookie", &foreign)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        text(r).await.contains("name=\"password\""),
        "not signed in here"
    );
    let r = plain
        .post(a.url("/oauth/authorize"))
        .header("cookie", format!("{jar}; {session}"))
        .form(&with_csrf(&consent, &csrf_of(&foreign_consent), "approve"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403, "another deployment's value");
}

/// `max_age` of 0, negative, huge or not a number; `acr_values` unknown; a hint for another
/// user, another client or an ended session: each answered as the specs say, never a 5xx.
async fn bad_sign_in_parameters_are_answered_as_the_specs_say(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("edge@example.com").await;
    app.verified_user("other@example.com").await;
    let own = first_party(&app).await;
    let partner = third_party(&app).await;
    let browser = browser();
    let url = |extra: &[(&str, &str)]| {
        let mut all = vec![("scope", "openid")];
        all.extend_from_slice(extra);
        authorize_url(&app, &own.id, CB, &all)
    };
    let code = code_after_sign_in(&app, &browser, &url(&[]), "edge@example.com").await;
    let tokens = exchange(
        &app,
        &own.id,
        &code,
        None,
        Some((&own.id, own.secret.as_deref().unwrap())),
    )
    .await
    .expect(200)
    .clone();
    let id_token = s(&tokens["id_token"]).to_owned();
    let error_of = |r: &reqwest::Response| query(&location(r), "error");

    for bad in ["-1", "soon", "1.5", "1e3"] {
        let r = browser.get(url(&[("max_age", bad)])).send().await.unwrap();
        assert_eq!(
            error_of(&r).as_deref(),
            Some("invalid_request"),
            "max_age={bad}"
        );
    }
    for fine in ["99999999999999999999999", "86400"] {
        let r = browser.get(url(&[("max_age", fine)])).send().await.unwrap();
        assert!(query(&location(&r), "code").is_some(), "max_age={fine}");
    }
    let r = browser
        .get(url(&[("acr_values", "urn:example:unknown")]))
        .send()
        .await
        .unwrap();
    assert!(
        query(&location(&r), "code").is_some(),
        "unknown acr values are voluntary"
    );

    // A hint of another user: the sign-in page (or login_required without one).
    let other = crate::authorize::browser();
    let his = code_after_sign_in(&app, &other, &url(&[]), "other@example.com").await;
    let his = exchange(
        &app,
        &own.id,
        &his,
        None,
        Some((&own.id, own.secret.as_deref().unwrap())),
    )
    .await
    .expect(200)
    .clone();
    let r = browser
        .get(url(&[("id_token_hint", s(&his["id_token"]))]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = browser
        .get(url(&[
            ("id_token_hint", s(&his["id_token"])),
            ("prompt", "none"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(&r).as_deref(), Some("login_required"));
    // A hint issued to another client: invalid.
    let for_partner = authorize_url(
        &app,
        &partner.id,
        CB,
        &[("scope", "openid"), ("id_token_hint", &id_token)],
    );
    let r = browser.get(&for_partner).send().await.unwrap();
    assert_eq!(error_of(&r).as_deref(), Some("invalid_request"));
    // Her own hint, of a session since ended: still her, still signed in here.
    app.post(
        "/api/auth/logout",
        json!({"refresh_token": s(&tokens["refresh_token"])}),
    )
    .await
    .expect(200);
    let r = browser
        .get(url(&[("id_token_hint", &id_token), ("prompt", "none")]))
        .send()
        .await
        .unwrap();
    assert!(query(&location(&r), "code").is_some());
}

/// Under an `https://` issuer the cookies carry the `__Host-` prefix (so `Secure`, `Path=/`, no
/// `Domain`): a browser refuses them from anywhere but authd's own host over HTTPS. A cookie of
/// the plain name, planted beside them, means nothing.
async fn https_issuer_cookies_carry_the_host_prefix(backend: Backend) {
    let app = spawn_app_with(backend, &[("AUTHD_ISSUER", "https://authd.test")]).await;
    app.verified_user("secure@example.com").await;
    let own = first_party(&app).await;
    let url = authorize_url(&app, &own.id, CB, &[("scope", "openid")]);
    let plain = crate::authorize::browser();
    let r = plain.get(&url).send().await.unwrap();
    let set: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_owned())
        .collect();
    let id = cookie_value(&r, "__Host-authd_browser").expect("the browser id, prefixed");
    for c in &set {
        assert!(c.starts_with("__Host-"), "{c}");
        assert!(c.contains("; Secure") && c.contains("Path=/;"), "{c}");
        assert!(!c.to_ascii_lowercase().contains("domain="), "{c}");
    }
    let page = text(r).await;
    let mut form = with_csrf(&page, &csrf_of(&page), "login");
    form.push(("username".into(), "secure@example.com".into()));
    form.push(("password".into(), PASSWORD.into()));
    let r = plain
        .post(app.url("/oauth/authorize"))
        .header("cookie", format!("__Host-authd_browser={id}"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let session = cookie_value(&r, "__Host-authd_session").expect("signed in, prefixed");
    assert!(query(&location(&r), "code").is_some());
    let again = |cookie: String| {
        let (plain, url) = (&plain, &url);
        async move {
            plain
                .get(format!("{url}&prompt=none"))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
        }
    };
    let r = again(format!("__Host-authd_session={session}")).await;
    assert!(query(&location(&r), "code").is_some());
    let r = again(format!("authd_session={session}")).await;
    assert_eq!(
        query(&location(&r), "error").as_deref(),
        Some("login_required")
    );
}

/// Signing up with an address that has an account: the page says so and offers the ways on,
/// both leading back to the same authorization request (signing in, or a new password).
async fn an_address_in_use_offers_sign_in_and_a_new_password(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("taken@example.com").await;
    let partner = third_party(&app).await;
    let url = authorize_url(&app, &partner.id, CB, &[("scope", "openid email")]);
    let browser = browser();
    let r = sign_up_from(&app, &browser, &url, "taken@example.com").await;
    assert_eq!(r.status().as_u16(), 400);
    let page = unescape(&text(r).await);
    assert!(page.contains("Email already in use"), "{page}");
    let links: Vec<&str> = page
        .split("class=\"taken\"")
        .nth(1)
        .and_then(|rest| rest.split("</p>").next())
        .unwrap()
        .split("href=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap())
        .collect();
    assert_eq!(links.len(), 2, "{page}");
    assert!(links[0].starts_with("/oauth/authorize?"), "{links:?}");
    assert!(links[0].contains(&partner.id));
    assert!(
        links[1].starts_with("/account/forgot-password?continue=%2Foauth%2Fauthorize%3F"),
        "{links:?}"
    );
    // The sign-in link is the authorization request itself: its sign-in page.
    let signing_in = text(browser.get(app.url(links[0])).send().await.unwrap()).await;
    assert!(signing_in.contains("name=\"password\""), "{signing_in}");
}
