//! authd's hosted pages in a real browser: headless Chromium driven over WebDriver
//! (chromedriver) through fantoccini, against the real server. The authorization code flow
//! must finish where it matters, in a browser that enforces the pages' CSP.
//!
//! Without `/usr/bin/chromium` and `/usr/bin/chromedriver` these tests skip, except under
//! `CI=true`, where a missing browser fails them (`.ci/run` installs both).

use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::harness::{Backend, PASSWORD, TestApp, s, spawn_app};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A chromedriver of this test's own, stopped with it: the whole process group it leads, so
/// the Chromium processes it started go too (killing chromedriver alone leaves them running:
/// a full test run once left 130 behind, slowing everything after it).
struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the tests of this file need, as their `#[ignore]` says: they run with
/// `cargo test -- --include-ignored` (as `.ci/run` does).
const NEEDS: &str = "needs chromium, chromium-driver and `npm ci` in tests/conformance";

/// The browser (the test fails, naming what to install, when it is not there).
async fn browser(width: u32, height: u32) -> (Client, Driver) {
    let installed =
        std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists();
    assert!(
        installed,
        "no {CHROMIUM} / {CHROMEDRIVER}: apt-get install chromium chromium-driver ({NEEDS})"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group, which it and its browsers share (see `Driver`).
        .process_group(0)
        .spawn()
        .expect("chromedriver starts");
    let profile = tempfile::tempdir().unwrap();
    let driver = Driver {
        child,
        port,
        _profile: profile,
    };
    let mut options = json!({
        "binary": CHROMIUM,
        "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
            format!("--user-data-dir={}", driver._profile.path().display()),
            format!("--window-size={width},{height}"),
        ],
    });
    if width < 500 {
        // A desktop window cannot be this narrow: emulate the phone's screen instead.
        options["mobileEmulation"] = json!({
            "deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0, "touch": true}
        });
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
    let url = format!("http://127.0.0.1:{}", driver.port);
    // Two TLS backends are linked (ring via reqwest, aws-lc-rs via lettre); name one.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    // chromedriver takes a moment to listen.
    for attempt in 0..50 {
        match ClientBuilder::rustls()
            .unwrap()
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return (client, driver),
            Err(e) if attempt == 49 => panic!("no WebDriver session: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    unreachable!()
}

/// A client's redirect target: answers every request with a small page, so the browser
/// lands somewhere real.
async fn callback_server() -> String {
    recording_callback_server().await.0
}

/// The same, keeping each request it received (request line, headers and body) as text.
async fn recording_callback_server() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let n = stream.read(&mut buf).await.unwrap_or(0);
                let mut request = String::from_utf8_lossy(&buf[..n]).into_owned();
                // A form's body may follow its headers in a second packet.
                if request.starts_with("POST")
                    && request.ends_with("\r\n\r\n")
                    && let Ok(Ok(more)) =
                        tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf)).await
                {
                    request.push_str(&String::from_utf8_lossy(&buf[..more]));
                }
                log.lock().unwrap().push(request);
                let body = "<!doctype html><title>callback</title><p>back at the client</p>";
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
    (format!("http://127.0.0.1:{}/cb", addr.port()), seen)
}

/// Saves what the browser shows, for a person to look at: into `target/tmp/screenshots/`, or
/// the folder `AUTHD_SCREENSHOTS_DIR` names (`docs/screenshots` when refreshing those).
async fn screenshot(client: &Client, name: &str) {
    let dir = std::env::var_os("AUTHD_SCREENSHOTS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots"));
    let file = dir.join(format!("{name}.png"));
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let png = client.screenshot().await.expect("a screenshot");
    std::fs::write(file, png).unwrap();
    // Every page worth a look is checked for accessibility too.
    accessible(client, name).await;
}

/// Runs axe-core (the WCAG 2.1 A and AA rules) on the page the browser shows, and asserts
/// that it finds no violation.
async fn accessible(client: &Client, what: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/conformance/node_modules/axe-core/axe.min.js");
    let axe = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!("no axe-core to check {what}: run `npm ci` in tests/conformance ({NEEDS})")
    });
    client.execute(&axe, vec![]).await.expect("axe-core loads");
    let found = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
               .then((r) => done(r.violations.map((v) => ({
                 id: v.id, impact: v.impact, help: v.help,
                 nodes: v.nodes.slice(0, 3).map((n) => n.html),
               }))))
               .catch((e) => done([{id: 'axe failed', help: String(e)}]));",
            vec![],
        )
        .await
        .expect("axe-core runs");
    assert_eq!(found, json!([]), "{what}: accessibility violations");
}

async fn fill(client: &Client, name: &str, value: &str) {
    let css = format!("input[name=\"{name}\"]");
    shows(client, &css).await;
    let field = client
        .find(Locator::Css(&css))
        .await
        .unwrap_or_else(|e| panic!("field {name}: {e}"));
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

async fn press(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("button {css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Waits until the page shows `css` (a form post navigates after the click returns).
async fn shows(client: &Client, css: &str) {
    if let Err(e) = client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
    {
        let page = client.source().await.unwrap_or_default();
        panic!("{css} never showed ({e}): {page}");
    }
}

/// Waits until the page says `text` (a form post navigates after the click returns).
async fn says(client: &Client, text: &str) {
    for _ in 0..100 {
        if client.source().await.is_ok_and(|p| p.contains(text)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let page = client.source().await.unwrap_or_default();
    panic!("the page never said {text:?}: {page}");
}

/// Waits until the browser is at the client's callback, and returns that URL.
async fn landed_at(client: &Client, callback: &str) -> url::Url {
    for _ in 0..100 {
        let url = client.current_url().await.unwrap();
        if url.as_str().starts_with(callback) {
            return url;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let url = client.current_url().await.unwrap();
    let page = client.source().await.unwrap_or_default();
    panic!("never reached the callback; at {url}: {page}");
}

fn param(url: &url::Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

async fn authorize_url(app: &TestApp, client_id: &str, callback: &str) -> String {
    let mut url = url::Url::parse(&app.url("/oauth/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", callback)
        .append_pair("scope", "openid email")
        .append_pair("state", "st-browser");
    url.to_string()
}

/// Sign-in (a wrong password, then the right one), consent, Deny and Allow, on a desktop and
/// a phone-sized window; the callback receives `access_denied`, then a code that redeems.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium, chromium-driver and `npm ci` in tests/conformance"]
async fn third_party_code_flow_finishes_in_chromium() {
    for (label, width, height) in [("desktop", 1280, 800), ("phone", 390, 844)] {
        let (client, _driver) = browser(width, height).await;
        let app = spawn_app(Backend::Sqlite).await;
        app.verified_user("browser@example.com").await;
        let callback = callback_server().await;
        let partner = app
            .client(
                "confidential",
                &["authorization_code"],
                &["openid", "email"],
                &[callback.as_str()],
            )
            .await;
        let url = authorize_url(&app, &partner.id, &callback).await;

        client.goto(&url).await.unwrap();
        screenshot(&client, &format!("sign-in-{label}")).await;
        fill(&client, "username", "browser@example.com").await;
        fill(&client, "password", "not-the-password-1").await;
        press(&client, "button").await;
        says(&client, "do not match an account").await;
        // What was typed stays typed.
        let kept = client
            .find(Locator::Css("input[name=\"username\"]"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap();
        assert_eq!(kept.as_deref(), Some("browser@example.com"));
        screenshot(&client, &format!("sign-in-error-{label}")).await;
        fill(&client, "username", "browser@example.com").await;
        fill(&client, "password", PASSWORD).await;
        press(&client, "button").await;

        // Consent: Deny goes back to the client with access_denied.
        shows(&client, "button[value=\"approve\"]").await;
        screenshot(&client, &format!("consent-{label}")).await;
        press(&client, "button[value=\"deny\"]").await;
        let back = landed_at(&client, &callback).await;
        assert_eq!(param(&back, "error").as_deref(), Some("access_denied"));
        assert_eq!(param(&back, "state").as_deref(), Some("st-browser"));

        // Again, signed in already: straight to consent, and Allow brings a code.
        client.goto(&url).await.unwrap();
        shows(&client, "button[value=\"approve\"]").await;
        press(&client, "button[value=\"approve\"]").await;
        let back = landed_at(&client, &callback).await;
        let code = param(&back, "code").expect("a code");
        assert_eq!(param(&back, "state").as_deref(), Some("st-browser"));
        let tokens = app
            .token(
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", &callback),
                ],
                Some((&partner.id, partner.secret.as_deref().unwrap())),
            )
            .await;
        assert!(s(&tokens.expect(200)["id_token"]).contains('.'));

        // A bad redirect URI: authd's own error page, and the browser stays at authd.
        let bad = url.replace("%2Fcb", "%2Fevil");
        client.goto(&bad).await.unwrap();
        says(&client, "cannot go on").await;
        let at = client.current_url().await.unwrap();
        assert!(at.as_str().starts_with(&app.base), "{at}");
        screenshot(&client, &format!("error-{label}")).await;
        client.close().await.unwrap();
    }
}

/// A first-party public client with PKCE: no consent page, the code arrives at once; then
/// the same with `response_mode=form_post`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium, chromium-driver and `npm ci` in tests/conformance"]
async fn first_party_pkce_flow_finishes_in_chromium() {
    let (client, _driver) = browser(1280, 800).await;
    let app = spawn_app(Backend::Sqlite).await;
    app.verified_user("spa@example.com").await;
    let callback = callback_server().await;
    let spa = app
        .client_with(
            "public",
            &["authorization_code"],
            &["openid", "email"],
            &[callback.as_str()],
            true,
        )
        .await;
    let p = crate::authorize::pkce();
    let url = format!(
        "{}&code_challenge={}&code_challenge_method=S256",
        authorize_url(&app, &spa.id, &callback).await,
        p.challenge
    );
    client.goto(&url).await.unwrap();
    fill(&client, "username", "spa@example.com").await;
    fill(&client, "password", PASSWORD).await;
    // "Show password" shows what was typed, and hides it again.
    let field_type = || async {
        client
            .find(Locator::Css("input[name=\"password\"]"))
            .await
            .unwrap()
            .attr("type")
            .await
            .unwrap()
    };
    assert_eq!(field_type().await.as_deref(), Some("password"));
    press(&client, "input[data-show-password]").await;
    assert_eq!(field_type().await.as_deref(), Some("text"));
    press(&client, "input[data-show-password]").await;
    assert_eq!(field_type().await.as_deref(), Some("password"));
    press(&client, "button").await;
    let back = landed_at(&client, &callback).await;
    let code = param(&back, "code").expect("a code");
    app.token(
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &callback),
            ("client_id", &spa.id),
            ("code_verifier", &p.verifier),
        ],
        None,
    )
    .await
    .expect(200);

    // response_mode=form_post: the page's one script posts the form at once (its CSP allows
    // that script by hash and the form's target), and the client receives the code in the
    // body of a POST, in no URL.
    let (posted_to, requests) = recording_callback_server().await;
    let spa = app
        .client_with(
            "public",
            &["authorization_code"],
            &["openid", "email"],
            &[posted_to.as_str()],
            true,
        )
        .await;
    let url = format!(
        "{}&code_challenge={}&code_challenge_method=S256&response_mode=form_post",
        authorize_url(&app, &spa.id, &posted_to).await,
        p.challenge
    );
    client.goto(&url).await.unwrap();
    let back = landed_at(&client, &posted_to).await;
    assert!(back.query().is_none(), "{back}");
    let request = requests
        .lock()
        .unwrap()
        .iter()
        .find(|r| r.starts_with("POST /cb "))
        .cloned()
        .expect("the form was posted to the callback");
    let body = request.split("\r\n\r\n").nth(1).unwrap_or_default();
    let fields: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(fields["state"], "st-browser");
    app.token(
        &[
            ("grant_type", "authorization_code"),
            ("code", &fields["code"]),
            ("redirect_uri", &posted_to),
            ("client_id", &spa.id),
            ("code_verifier", &p.verifier),
        ],
        None,
    )
    .await
    .expect(200);
    client.close().await.unwrap();
}

/// The pages a person reaches from emails, without any frontend: the verification link, then
/// forgot password from the sign-in page, the emailed link, the reset page, and signing in
/// with the new password; on a desktop and a phone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium, chromium-driver and `npm ci` in tests/conformance"]
async fn account_pages_work_from_the_emails_in_chromium() {
    for (label, width, height) in [("desktop", 1280, 800), ("phone", 390, 844)] {
        let (client, _driver) = browser(width, height).await;
        let app = spawn_app(Backend::Sqlite).await;
        let callback = callback_server().await;
        let spa = app
            .client_with(
                "confidential",
                &["authorization_code"],
                &["openid", "email"],
                &[callback.as_str()],
                true,
            )
            .await;
        // The verification link, opened in the browser (no frontend configured).
        let link = {
            app.post(
                "/api/auth/register",
                json!({"email": "pages@example.com", "password": PASSWORD}),
            )
            .await
            .expect(201);
            app.smtp.wait_for("pages@example.com", 1).await.link()
        };
        let link = link.replace(crate::harness::ISSUER, &app.base);
        client.goto(&link).await.unwrap();
        // Opening the link confirms nothing (mail scanners open links); the button does.
        says(&client, "One step left").await;
        screenshot(&client, &format!("verify-{label}")).await;
        press(&client, "button").await;
        says(&client, "Email confirmed").await;
        screenshot(&client, &format!("verified-{label}")).await;

        // Forgot password, from the sign-in page: the journey keeps the authorization request.
        let url = authorize_url(&app, &spa.id, &callback).await;
        client.goto(&url).await.unwrap();
        shows(&client, "p.forgot a").await;
        press(&client, "p.forgot a").await;
        shows(&client, "input[name=\"email\"]").await;
        screenshot(&client, &format!("forgot-password-{label}")).await;
        fill(&client, "email", "pages@example.com").await;
        press(&client, "button").await;
        says(&client, "Check your email").await;
        screenshot(&client, &format!("forgot-password-sent-{label}")).await;

        // The emailed link, the reset page: two different passwords first, then the same.
        let reset = app.smtp.wait_for("pages@example.com", 2).await.link();
        client
            .goto(&reset.replace(crate::harness::ISSUER, &app.base))
            .await
            .unwrap();
        shows(&client, "input[name=\"new_password\"]").await;
        screenshot(&client, &format!("reset-password-{label}")).await;
        fill(&client, "new_password", "brand-new-pass-7").await;
        fill(&client, "confirm_password", "brand-new-pass-8").await;
        press(&client, "button").await;
        says(&client, "The two passwords differ").await;
        fill(&client, "new_password", "brand-new-pass-7").await;
        fill(&client, "confirm_password", "brand-new-pass-7").await;
        press(&client, "button").await;
        says(&client, "Password changed").await;
        screenshot(&client, &format!("reset-password-done-{label}")).await;

        // And on to the application it started from: its sign-in, then its callback.
        press(&client, "a.button[href^=\"/oauth/authorize\"]").await;
        says(&client, "to continue to").await;
        fill(&client, "username", "pages@example.com").await;
        fill(&client, "password", "brand-new-pass-7").await;
        press(&client, "button").await;
        let back = landed_at(&client, &callback).await;
        assert!(param(&back, "code").is_some());
        client.close().await.unwrap();
    }
}

/// A new person signs up through authd's pages alone, on a phone: from a client's sign-in
/// page to "create account", the emailed link, back to the authorization request, signed in
/// without typing the password again (the link is followed in the browser of the sign-up).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium, chromium-driver and `npm ci` in tests/conformance"]
async fn a_new_person_signs_up_through_the_hosted_pages() {
    let (client, _driver) = browser(390, 844).await;
    let app = spawn_app(Backend::Sqlite).await;
    let callback = callback_server().await;
    let partner = app
        .client(
            "confidential",
            &["authorization_code"],
            &["openid", "email"],
            &[callback.as_str()],
        )
        .await;
    let url = authorize_url(&app, &partner.id, &callback).await;
    client.goto(&url).await.unwrap();
    shows(&client, "a[href^=\"/account/sign-up\"]").await;
    press(&client, "a[href^=\"/account/sign-up\"]").await;
    shows(&client, "input[name=\"confirm_password\"]").await;
    fill(&client, "full_name", "Nia Newcomer").await;
    fill(&client, "email", "nia@example.com").await;
    // Long enough for the browser's own check, but no digit: the server's rule speaks.
    fill(&client, "password", "onlyletters").await;
    fill(&client, "confirm_password", "onlyletters").await;
    press(&client, "button").await;
    says(&client, "Please check what you entered").await;
    screenshot(&client, "sign-up-error-phone").await;
    fill(&client, "password", "nias-pass-42").await;
    fill(&client, "confirm_password", "nias-pass-42").await;
    press(&client, "button").await;
    says(&client, "Check your email").await;
    // The page names the address, and offers to send the link again.
    says(&client, "nia@example.com").await;
    shows(
        &client,
        "form[action=\"/account/resend-verification\"] button",
    )
    .await;
    screenshot(&client, "check-email-phone").await;

    let link = app.smtp.wait_for("nia@example.com", 1).await.link();
    client
        .goto(&link.replace(crate::harness::ISSUER, &app.base))
        .await
        .unwrap();
    press(&client, "button").await;
    says(&client, "Email confirmed").await;
    says(&client, "You are signed in").await;
    screenshot(&client, "sign-up-confirmed-phone").await;
    press(&client, "a.button").await;
    shows(&client, "button[value=\"approve\"]").await;
    press(&client, "button[value=\"approve\"]").await;
    let back = landed_at(&client, &callback).await;
    assert!(param(&back, "code").is_some());

    // Signing up again with the same address: the page says so and offers the ways on.
    let oauth_request = url.split_once('?').unwrap().1;
    let again = format!(
        "{}/account/sign-up?{}",
        app.base,
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("oauth_request", oauth_request)
            .finish()
    );
    client.goto(&again).await.unwrap();
    fill(&client, "email", "nia@example.com").await;
    fill(&client, "password", "nias-pass-43").await;
    fill(&client, "confirm_password", "nias-pass-43").await;
    press(&client, "button").await;
    says(&client, "Email already in use").await;
    shows(&client, "p.taken a[href^=\"/oauth/authorize?\"]").await;
    shows(
        &client,
        "p.taken a[href^=\"/account/forgot-password?continue=\"]",
    )
    .await;
    screenshot(&client, "sign-up-taken-phone").await;
    client.close().await.unwrap();
}

/// The pages reached from an unverified sign-in, an email-change notice and a sign-out
/// request, on a phone: resend the confirmation link, stop an email change, confirm sign-out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium, chromium-driver and `npm ci` in tests/conformance"]
async fn resend_stop_email_change_and_sign_out_in_chromium() {
    let (client, _driver) = browser(390, 844).await;
    let app = spawn_app(Backend::Sqlite).await;
    let callback = callback_server().await;
    let spa = app
        .client_with(
            "confidential",
            &["authorization_code"],
            &["openid", "email"],
            &[callback.as_str()],
            true,
        )
        .await;
    let url = authorize_url(&app, &spa.id, &callback).await;

    // Not verified yet: the sign-in page offers to send the link again.
    app.register("late@example.com").await;
    client.goto(&url).await.unwrap();
    fill(&client, "username", "late@example.com").await;
    fill(&client, "password", PASSWORD).await;
    press(&client, "form[action=\"authorize\"] button").await;
    says(&client, "confirm your email address first").await;
    screenshot(&client, "sign-in-unverified-phone").await;
    press(&client, "button.link").await;
    says(&client, "Check your email").await;
    // The new link leads back to the same application: confirmed, then on to its sign-in.
    let resent = app.smtp.wait_for("late@example.com", 2).await.link();
    assert!(resent.contains("continue=%2Foauth%2Fauthorize"), "{resent}");
    client
        .goto(&resent.replace(crate::harness::ISSUER, &app.base))
        .await
        .unwrap();
    press(&client, "button").await;
    says(&client, "Email confirmed").await;
    press(&client, "a.button[href^=\"/oauth/authorize?\"]").await;
    says(&client, "to continue to").await;

    // An email change, stopped from the notice's link: the page asks, the button acts.
    app.verified_user("mover@example.com").await;
    let at = s(&app.login("mover@example.com", None).await["access_token"]).to_owned();
    app.send(
        reqwest::Method::PATCH,
        "/api/users/me",
        Some(&at),
        Some(json!({"email": "elsewhere@example.com"})),
    )
    .await
    .expect(200);
    let notice = app.smtp.wait_for("mover@example.com", 2).await.link();
    client
        .goto(&notice.replace(crate::harness::ISSUER, &app.base))
        .await
        .unwrap();
    says(&client, "Stop the email change?").await;
    screenshot(&client, "stop-email-change-phone").await;
    app.get("/api/users/me", Some(&at)).await.expect(200);
    press(&client, "button").await;
    says(&client, "Email change stopped").await;
    app.get("/api/users/me", Some(&at)).await.expect(401);

    // Sign-out without an ID token: the person confirms it.
    client.goto(&url).await.unwrap();
    fill(&client, "username", "mover@example.com").await;
    fill(&client, "password", PASSWORD).await;
    press(&client, "form[action=\"authorize\"] button").await;
    landed_at(&client, &callback).await;
    client.goto(&app.url("/oauth/logout")).await.unwrap();
    says(&client, "Sign out of").await;
    screenshot(&client, "sign-out-phone").await;
    press(&client, "button").await;
    says(&client, "You are signed out").await;
    client.goto(&url).await.unwrap();
    shows(&client, "input[name=\"password\"]").await;
    client.close().await.unwrap();
}

/// `/docs` is read on a phone as well as a desktop: nothing wider than the screen, the groups
/// listed, and an example body opens where the schema has one (a `<details>`, no script).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium, chromium-driver and `npm ci` in tests/conformance"]
async fn api_reference_reads_on_desktop_and_phone() {
    for (label, width, height) in [("desktop", 1280, 800), ("phone", 390, 844)] {
        let (client, _driver) = browser(width, height).await;
        let app = spawn_app(Backend::Sqlite).await;
        client.goto(&app.url("/docs")).await.unwrap();
        shows(&client, "section#oauth").await;
        screenshot(&client, &format!("api-docs-{label}")).await;
        let example = client
            .find(Locator::Css("section#account details summary"))
            .await
            .expect("the sign-up route shows an example body");
        // Centred first: chromedriver clicks the middle of an element that straddles the
        // bottom edge, which is off screen.
        client
            .execute(
                "arguments[0].scrollIntoView({block: 'center'})",
                vec![serde_json::to_value(&example).unwrap()],
            )
            .await
            .unwrap();
        example.click().await.unwrap();
        shows(&client, "section#account details[open] pre").await;
        let shown = client
            .find(Locator::Css("section#account details[open] pre"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_str(&shown).expect("the example is JSON");
        assert!(s(&body["email"]).contains('@'), "{shown}");
        let overflow = client
            .execute(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
                vec![],
            )
            .await
            .unwrap();
        assert!(
            overflow.as_i64().unwrap_or(1) <= 0,
            "{label}: the page is {overflow} px wider than the screen"
        );
        screenshot(&client, &format!("api-docs-example-{label}")).await;
    }
}

/// A page of the attacker's own, served from another port of the same host: to the browser a
/// different origin but the same site, whose script can set cookies that authd receives (as a
/// sibling subdomain could). It plants a CSRF cookie of its choosing, then its button posts
/// `fields` to authd.
async fn attacker_site(action: String, fields: Vec<(String, String)>, planted: &str) -> String {
    let inputs: String = fields
        .iter()
        .map(|(k, v)| {
            let esc = |s: &str| {
                s.replace('&', "&amp;")
                    .replace('"', "&quot;")
                    .replace('<', "&lt;")
            };
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                esc(k),
                esc(v)
            )
        })
        .collect();
    let html = format!(
        "<!doctype html><title>win a prize</title>\
         <script>for (const p of ['/', '/oauth']) {{\
           document.cookie = 'authd_csrf={planted}; path=' + p;\
           document.cookie = 'authd_browser={planted}; path=' + p; }}</script>\
         <form method=\"post\" action=\"{action}\">{inputs}<button id=\"win\">Claim</button></form>"
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let html = html.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{html}",
                    html.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
    format!("http://127.0.0.1:{}/", addr.port())
}

/// Whether Chromium is signed in on authd: `prompt=none` brings a code to the callback.
async fn chromium_signed_in(client: &Client, url: &str, callback: &str) -> bool {
    client.goto(&format!("{url}&prompt=none")).await.unwrap();
    let back = landed_at(client, callback).await;
    param(&back, "code").is_some()
}

/// The attacks on sign-in, in the browser they target: a page on a sibling origin plants a
/// CSRF cookie and posts authd's sign-in form with the attacker's password (to sign the victim
/// into his account), then its "Allow" for his client (to get a code for hers); a link to
/// sign-out with his ID token. Nothing of it works, and the victim sees why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium, chromium-driver and `npm ci` in tests/conformance"]
async fn a_sibling_page_cannot_sign_in_approve_or_sign_out_in_chromium() {
    let (client, _driver) = browser(390, 844).await;
    let app = spawn_app(Backend::Sqlite).await;
    app.verified_user("victim@example.com").await;
    app.verified_user("mallory@example.com").await;
    let (callback, seen) = recording_callback_server().await;
    let own = app
        .client_with(
            "confidential",
            &["authorization_code"],
            &["openid", "email"],
            &[callback.as_str()],
            true,
        )
        .await;
    let evil = app
        .client(
            "confidential",
            &["authorization_code"],
            &["openid", "email"],
            &[callback.as_str()],
        )
        .await;
    let own_url = authorize_url(&app, &own.id, &callback).await;
    let evil_url = authorize_url(&app, &evil.id, &callback).await;
    let evil_request = evil_url.split_once('?').unwrap().1.to_owned();
    let planted = "A".repeat(43);
    let codes_seen = || {
        seen.lock()
            .unwrap()
            .iter()
            .filter(|r| r.contains("code="))
            .count()
    };

    // Login CSRF: his credentials, posted from his page with a planted value.
    let login_form = vec![
        ("oauth_request".to_owned(), evil_request.clone()),
        ("csrf".to_owned(), planted.clone()),
        ("action".to_owned(), "login".to_owned()),
        ("username".to_owned(), "mallory@example.com".to_owned()),
        ("password".to_owned(), PASSWORD.to_owned()),
    ];
    let site = attacker_site(app.url("/oauth/authorize"), login_form, &planted).await;
    client.goto(&site).await.unwrap();
    press(&client, "#win").await;
    says(&client, "another site").await;
    screenshot(&client, "attack-refused-phone").await;

    // The victim signs in herself.
    client.goto(&own_url).await.unwrap();
    fill(&client, "username", "victim@example.com").await;
    fill(&client, "password", PASSWORD).await;
    press(&client, "form[action=\"authorize\"] button").await;
    landed_at(&client, &callback).await;
    let before = codes_seen();

    // "Allow" for his client, posted from his page with the planted value.
    let approve_form = vec![
        ("oauth_request".to_owned(), evil_request),
        ("csrf".to_owned(), planted.clone()),
        ("action".to_owned(), "approve".to_owned()),
    ];
    let site = attacker_site(app.url("/oauth/authorize"), approve_form, &planted).await;
    client.goto(&site).await.unwrap();
    press(&client, "#win").await;
    says(&client, "another site").await;
    assert_eq!(codes_seen(), before, "no code went to his client");
    assert!(
        chromium_signed_in(&client, &own_url, &callback).await,
        "still her"
    );

    // A sign-out link carrying his own (valid) ID token: she is asked, and stays signed in.
    let mallory = crate::authorize::browser();
    let his_code = crate::authorize::code_after_sign_in(
        &app,
        &mallory,
        &format!("{own_url}&nonce=n"),
        "mallory@example.com",
    )
    .await;
    let his = app
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &his_code),
                ("redirect_uri", &callback),
            ],
            Some((&own.id, own.secret.as_deref().unwrap())),
        )
        .await;
    let hint = s(&his.expect(200)["id_token"]).to_owned();
    client
        .goto(&app.url(&format!("/oauth/logout?id_token_hint={hint}")))
        .await
        .unwrap();
    says(&client, "victim@example.com").await;
    screenshot(&client, "sign-out-asks-phone").await;
    assert!(
        chromium_signed_in(&client, &own_url, &callback).await,
        "not signed out"
    );
    client.close().await.unwrap();
}

/// A sign-in page left open until its cookie is gone: the post shows the form again with the
/// address kept and a working button, and signing in from it goes on to the application.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium, chromium-driver and `npm ci` in tests/conformance"]
async fn a_stale_sign_in_form_is_no_dead_end_in_chromium() {
    let (client, _driver) = browser(390, 844).await;
    let app = spawn_app(Backend::Sqlite).await;
    app.verified_user("slow@example.com").await;
    let callback = callback_server().await;
    let own = app
        .client_with(
            "confidential",
            &["authorization_code"],
            &["openid", "email"],
            &[callback.as_str()],
            true,
        )
        .await;
    client
        .goto(&authorize_url(&app, &own.id, &callback).await)
        .await
        .unwrap();
    fill(&client, "username", "slow@example.com").await;
    fill(&client, "password", PASSWORD).await;
    // Hours pass: the browser let the form's cookie go (authd_csrf, as earlier versions named it).
    for name in ["authd_browser", "authd_csrf"] {
        client.delete_cookie(name).await.unwrap();
    }
    press(&client, "form[action=\"authorize\"] button").await;
    says(&client, "open for a long time").await;
    screenshot(&client, "sign-in-expired-phone").await;
    let kept = client
        .find(Locator::Css("input[name=\"username\"]"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("slow@example.com"));
    fill(&client, "password", PASSWORD).await;
    press(&client, "form[action=\"authorize\"] button").await;
    let back = landed_at(&client, &callback).await;
    assert!(param(&back, "code").is_some());
    client.close().await.unwrap();
}

/// The code an authenticator app shows for `secret` now, on `app`'s clock.
fn app_code(app: &TestApp, secret: &str) -> String {
    crate::factors::App::from_secret(secret).code(app, 0)
}

/// A person protects her account with an authenticator app on authd's own pages (QR code and
/// key, a first code, the recovery codes shown once), then signs in with it: the password, a
/// wrong code, the right one; and once with a recovery code. On a phone and a desktop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium, chromium-driver and `npm ci` in tests/conformance"]
async fn an_authenticator_app_set_up_and_used_in_chromium() {
    for (label, width, height) in [("phone", 390, 844), ("desktop", 1280, 800)] {
        let (client, _driver) = browser(width, height).await;
        let app = spawn_app(Backend::Sqlite).await;
        app.verified_user("mfa@example.com").await;
        let callback = callback_server().await;
        let own = app
            .client_with(
                "confidential",
                &["authorization_code"],
                &["openid", "email"],
                &[callback.as_str()],
                true,
            )
            .await;
        let url = authorize_url(&app, &own.id, &callback).await;

        // The account page signs in first, then lists no factor.
        client.goto(&app.url("/account/security")).await.unwrap();
        fill(&client, "username", "mfa@example.com").await;
        fill(&client, "password", PASSWORD).await;
        press(&client, "form[action=\"/account/sign-in\"] button").await;
        says(&client, "None yet").await;
        screenshot(&client, &format!("security-empty-{label}")).await;
        press(&client, "form[action=\"/account/security/totp\"] button").await;
        shows(&client, "figure.qr svg").await;
        screenshot(&client, &format!("enrol-totp-{label}")).await;
        let secret = client
            .find(Locator::Css("code.secret"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .replace(' ', "");
        fill(&client, "code", "000000").await;
        press(
            &client,
            "form[action=\"/account/security/totp/confirm\"] button",
        )
        .await;
        says(&client, "That code is not right").await;
        fill(&client, "code", &app_code(&app, &secret)).await;
        press(
            &client,
            "form[action=\"/account/security/totp/confirm\"] button",
        )
        .await;
        shows(&client, "ol.codes").await;
        screenshot(&client, &format!("recovery-codes-{label}")).await;
        let codes: Vec<String> = {
            let mut out = Vec::new();
            for item in client
                .find_all(Locator::Css("ol.codes code"))
                .await
                .unwrap()
            {
                out.push(item.text().await.unwrap());
            }
            out
        };
        assert_eq!(codes.len(), 10);
        press(&client, "a.button").await;
        says(&client, "Authenticator app").await;
        // The trail, in words: the app just added, the sign-in before it.
        says(&client, "Recent activity").await;
        says(&client, "Authenticator app added").await;
        says(&client, "Signed in with a password").await;
        screenshot(&client, &format!("security-{label}")).await;

        // Signed out, then in again: the password, then the code.
        client.delete_all_cookies().await.unwrap();
        app.advance(Duration::from_secs(30));
        client.goto(&url).await.unwrap();
        fill(&client, "username", "mfa@example.com").await;
        fill(&client, "password", PASSWORD).await;
        press(&client, "form[action=\"authorize\"] button").await;
        shows(&client, "input[name=\"code\"]").await;
        screenshot(&client, &format!("second-step-{label}")).await;
        fill(&client, "code", "123456").await;
        press(&client, "form[action=\"authorize\"] button").await;
        says(&client, "That code is not right").await;
        screenshot(&client, &format!("second-step-error-{label}")).await;
        fill(&client, "code", &app_code(&app, &secret)).await;
        press(&client, "form[action=\"authorize\"] button").await;
        let back = landed_at(&client, &callback).await;
        let code = param(&back, "code").expect("a code");
        let tokens = app
            .token(
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", &callback),
                ],
                Some((&own.id, own.secret.as_deref().unwrap())),
            )
            .await;
        let id_token = crate::authorize::claims(s(&tokens.expect(200)["id_token"]));
        assert_eq!(id_token["amr"], json!(["pwd", "otp"]));
        assert_eq!(id_token["acr"], json!("aal2"));

        // A lost phone: a recovery code instead.
        client.delete_all_cookies().await.unwrap();
        client.goto(&url).await.unwrap();
        fill(&client, "username", "mfa@example.com").await;
        fill(&client, "password", PASSWORD).await;
        press(&client, "form[action=\"authorize\"] button").await;
        fill(&client, "code", &codes[0]).await;
        press(&client, "form[action=\"authorize\"] button").await;
        landed_at(&client, &callback).await;
        client.close().await.unwrap();
    }
}

/// A command of the WebDriver extension of WebAuthn (W3C WebAuthn Level 3, 11): chromedriver's
/// virtual authenticators, under `/session/{id}/webauthn/`.
#[derive(Debug)]
struct VirtualAuthenticator {
    path: String,
    method: axum::http::Method,
    body: Option<serde_json::Value>,
}

impl fantoccini::wd::WebDriverCompatibleCommand for VirtualAuthenticator {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/webauthn/{}",
            session.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        (
            self.method.clone(),
            self.body.as_ref().map(|b| b.to_string()),
        )
    }
}

async fn webauthn(
    client: &Client,
    method: axum::http::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> serde_json::Value {
    client
        .issue_cmd(VirtualAuthenticator {
            path: path.to_owned(),
            method,
            body,
        })
        .await
        .unwrap_or_else(|e| panic!("webauthn/{path}: {e}"))
}

/// authd at `http://localhost:{port}`: browsers offer WebAuthn to localhost, not to an IP
/// address. Returns the app and its base URL as the browser uses it.
async fn app_at_localhost() -> (TestApp, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://localhost:{port}");
    let bind = format!("127.0.0.1:{port}");
    let app = crate::harness::spawn_app_with(
        Backend::Sqlite,
        &[("AUTHD_BIND", &bind), ("AUTHD_ISSUER", &base)],
    )
    .await;
    (app, base)
}

/// Signs the browser out of authd at `base` by forgetting its cookies (WebDriver forgets those of
/// the page's own host only: the callback is elsewhere).
async fn forget(client: &Client, base: &str) {
    client.goto(&format!("{base}/healthz")).await.unwrap();
    client.delete_all_cookies().await.unwrap();
}

/// A person adds a passkey on authd's pages (a platform authenticator with user verification:
/// chromedriver's virtual one), then signs in with it twice: alone, offered by the sign-in
/// page's name field (conditional mediation; amr hwk, user), and as the second step after her
/// password (pwd, hwk, user); both aal2. Then the authenticator is cloned (its signature
/// counter set back): the clone's assertion is refused. On a phone and a desktop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium, chromium-driver and `npm ci` in tests/conformance"]
async fn a_passkey_added_and_used_in_chromium() {
    use axum::http::Method;
    for (label, width, height) in [("phone", 390, 844), ("desktop", 1280, 800)] {
        let (client, _driver) = browser(width, height).await;
        let (app, base) = app_at_localhost().await;
        app.verified_user("key@example.com").await;
        let callback = callback_server().await;
        let own = app
            .client_with(
                "confidential",
                &["authorization_code"],
                &["openid", "email"],
                &[callback.as_str()],
                true,
            )
            .await;
        let url = authorize_url(&app, &own.id, &callback)
            .await
            .replace(&app.base, &base);
        let redeem = |back: url::Url| {
            let app = &app;
            let own = &own;
            let callback = &callback;
            async move {
                let code = param(&back, "code").expect("a code");
                let tokens = app
                    .token(
                        &[
                            ("grant_type", "authorization_code"),
                            ("code", &code),
                            ("redirect_uri", callback),
                        ],
                        Some((&own.id, own.secret.as_deref().unwrap())),
                    )
                    .await;
                crate::authorize::claims(s(&tokens.expect(200)["id_token"]))
            }
        };
        let added = webauthn(
            &client,
            Method::POST,
            "authenticator",
            Some(json!({
                "protocol": "ctap2", "transport": "internal", "hasResidentKey": true,
                "hasUserVerification": true, "isUserConsenting": true, "isUserVerified": true,
            })),
        )
        .await;
        let authenticator = added.as_str().expect("an authenticator id").to_owned();

        // Signed in on the account pages, a passkey named and made.
        client
            .goto(&format!("{base}/account/security"))
            .await
            .unwrap();
        fill(&client, "username", "key@example.com").await;
        fill(&client, "password", PASSWORD).await;
        press(&client, "form[action=\"/account/sign-in\"] button.primary").await;
        says(&client, "None yet").await;
        fill(&client, "name", "Work laptop").await;
        press(&client, "form[action=\"/account/security/passkey\"] button").await;
        shows(&client, "button[data-passkey-button]:not([hidden])").await;
        screenshot(&client, &format!("enrol-passkey-{label}")).await;
        press(&client, "button[data-passkey-button]").await;
        shows(&client, "ol.codes").await;
        press(&client, "a.button").await;
        says(&client, "Work laptop").await;
        screenshot(&client, &format!("security-passkey-{label}")).await;
        let held = webauthn(
            &client,
            Method::GET,
            &format!("authenticator/{authenticator}/credentials"),
            None,
        )
        .await;
        let held = held.as_array().expect("credentials").clone();
        assert_eq!(held.len(), 1, "one credential: {held:?}");
        assert_eq!(held[0]["isResidentCredential"], json!(true), "discoverable");
        assert_eq!(held[0]["rpId"], json!("localhost"));

        // No name typed: the sign-in page offers the passkey in the name field's autofill
        // (conditional mediation), which the virtual authenticator answers at once.
        forget(&client, &base).await;
        client.goto(&url).await.unwrap();
        let id_token = redeem(landed_at(&client, &callback).await).await;
        assert_eq!(id_token["amr"], json!(["hwk", "user"]));
        assert_eq!(id_token["acr"], json!("aal2"));
        assert_eq!(id_token["email"], json!("key@example.com"));

        // The same key kept as a non-discoverable credential: the sign-in page waits for a
        // name, and after the password the second step asks for the passkey.
        let path = format!("authenticator/{authenticator}/credentials");
        let mut credential = webauthn(&client, Method::GET, &path, None).await[0].clone();
        let id = s(&credential["credentialId"]).to_owned();
        let put_back = |mut credential: serde_json::Value, count: u64| {
            credential["isResidentCredential"] = json!(false);
            credential["signCount"] = json!(count);
            credential
        };
        webauthn(&client, Method::DELETE, &format!("{path}/{id}"), None).await;
        let count = credential["signCount"].as_u64().unwrap();
        assert!(count >= 2, "the counter moved: {credential}");
        credential = put_back(credential, count);
        let add = format!("authenticator/{authenticator}/credential");
        webauthn(&client, Method::POST, &add, Some(credential.clone())).await;
        forget(&client, &base).await;
        client.goto(&url).await.unwrap();
        shows(&client, "button[data-passkey-button]:not([hidden])").await;
        screenshot(&client, &format!("sign-in-passkey-{label}")).await;
        fill(&client, "username", "key@example.com").await;
        fill(&client, "password", PASSWORD).await;
        press(&client, "form[action=\"authorize\"] button.primary").await;
        shows(&client, "button[data-passkey-button]:not([hidden])").await;
        screenshot(&client, &format!("second-step-passkey-{label}")).await;
        press(&client, "button[data-passkey-button]").await;
        let id_token = redeem(landed_at(&client, &callback).await).await;
        assert_eq!(id_token["amr"], json!(["pwd", "hwk", "user"]));
        assert_eq!(id_token["acr"], json!("aal2"));

        if label == "desktop" {
            // A clone: the same key with its signature counter set back. Its assertion is
            // refused, and the person stays at the second step.
            webauthn(&client, Method::DELETE, &format!("{path}/{id}"), None).await;
            webauthn(&client, Method::POST, &add, Some(put_back(credential, 0))).await;
            forget(&client, &base).await;
            client.goto(&url).await.unwrap();
            fill(&client, "username", "key@example.com").await;
            fill(&client, "password", PASSWORD).await;
            press(&client, "form[action=\"authorize\"] button.primary").await;
            shows(&client, "button[data-passkey-button]:not([hidden])").await;
            press(&client, "button[data-passkey-button]").await;
            says(&client, "That passkey was not accepted").await;
            screenshot(&client, &format!("second-step-passkey-refused-{label}")).await;
        }
        client.close().await.unwrap();
    }
}

/// "Continue with Upstream" in Chromium: the upstream is another authd (at `localhost`). The
/// person has an account here with the same address, so she proves it with her password once;
/// then her security page lists the identity, unlinks it and links it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium, chromium-driver and `npm ci` in tests/conformance"]
async fn continue_with_another_provider_in_chromium() {
    for (label, width, height) in [("phone", 390, 844), ("desktop", 1280, 800)] {
        let (client, _driver) = browser(width, height).await;
        let p = crate::upstream::pair(Backend::Sqlite, &[], &[]).await;
        p.app.verified_user("ida@example.com").await;
        p.upstream.verified_user("ida@example.com").await;
        let callback = callback_server().await;
        let rp = p
            .app
            .client_with(
                "confidential",
                &["authorization_code"],
                &["openid", "email"],
                &[callback.as_str()],
                true,
            )
            .await;
        let url = authorize_url(&p.app, &rp.id, &callback).await;
        client.goto(&url).await.unwrap();
        shows(&client, "a[href^=\"/oauth/upstream/u/start\"]").await;
        screenshot(&client, &format!("sign-in-upstream-{label}")).await;
        press(&client, "a[href^=\"/oauth/upstream/u/start\"]").await;
        // The upstream's own sign-in page.
        fill(&client, "username", "ida@example.com").await;
        fill(&client, "password", PASSWORD).await;
        press(&client, "form[action=\"authorize\"] button.primary").await;
        says(&client, "An account here already uses").await;
        screenshot(&client, &format!("link-account-{label}")).await;
        fill(&client, "password", PASSWORD).await;
        press(&client, "form[action=\"/account/link\"] button").await;
        let back = landed_at(&client, &callback).await;
        assert!(param(&back, "code").is_some());

        client.goto(&p.app.url("/account/security")).await.unwrap();
        says(&client, "Other ways to sign in").await;
        shows(&client, "form[action=\"/account/identities/unlink\"]").await;
        screenshot(&client, &format!("security-identities-{label}")).await;
        press(
            &client,
            "form[action=\"/account/identities/unlink\"] button",
        )
        .await;
        shows(&client, "form[action=\"/account/identities/link\"]").await;
        press(&client, "form[action=\"/account/identities/link\"] button").await;
        // Still signed in at the upstream: straight back, linked again.
        shows(&client, "form[action=\"/account/identities/unlink\"]").await;
        client.close().await.unwrap();
    }
}

/// A person who types authd's address, or a wrong one, lands on a page with a way on (checked
/// by axe like every page here), and the way on leads to the account's sign-in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium, chromium-driver and `npm ci` in tests/conformance"]
async fn the_start_and_a_wrong_address_are_pages_in_chromium() {
    for (label, width, height) in [("desktop", 1280, 800), ("phone", 390, 844)] {
        let (client, _driver) = browser(width, height).await;
        let app = spawn_app(Backend::Sqlite).await;
        client.goto(&app.url("/no-such-page")).await.unwrap();
        says(&client, "Page not found").await;
        screenshot(&client, &format!("not-found-{label}")).await;
        press(&client, "a.button").await;
        says(&client, "Sign-in service").await;
        screenshot(&client, &format!("start-{label}")).await;
        press(&client, "a.button").await;
        shows(&client, "input[name=\"password\"]").await;
    }
}

/// A Chrome DevTools command through chromedriver (`goog/cdp/execute`).
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        (
            axum::http::Method::POST,
            Some(json!({"cmd": self.cmd, "params": self.params}).to_string()),
        )
    }
}

/// The hosted pages on a device that prefers dark: dark colours, and still no accessibility
/// violation (axe checks the contrast of every text) at both widths.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium, chromium-driver and `npm ci` in tests/conformance"]
async fn the_pages_read_well_in_the_dark_in_chromium() {
    let app = spawn_app(Backend::Sqlite).await;
    for (label, width, height) in [("desktop", 1280, 800), ("phone", 390, 844)] {
        let (client, _driver) = browser(width, height).await;
        client
            .issue_cmd(Cdp {
                cmd: "Emulation.setEmulatedMedia",
                params: json!({"features": [{"name": "prefers-color-scheme", "value": "dark"}]}),
            })
            .await
            .expect("dark emulated");
        for (page, path, text) in [
            ("sign-in", "/account/sign-in", "Sign in"),
            ("sign-up", "/account/sign-up", "Create"),
            ("forgot", "/account/forgot-password", "password"),
            ("not-found", "/no-such-page", "Page not found"),
            ("docs", "/docs", "OAuth 2.0 and OpenID Connect"),
        ] {
            client.goto(&app.url(path)).await.unwrap();
            says(&client, text).await;
            let background = client
                .execute(
                    "return getComputedStyle(document.body).backgroundColor",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(background, json!("rgb(11, 17, 32)"), "{path} is dark");
            screenshot(&client, &format!("dark-{page}-{label}")).await;
        }
    }
}

/// Serves `examples/spa/` as a static site would (`python3 -m http.server` in the README), with
/// what `config` holds (set it once the client is registered) as its `config.json`; returns the
/// site's address (its own redirect URI).
async fn spa_site(config: std::sync::Arc<std::sync::Mutex<String>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/spa");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let root = root.clone();
            let config = config.lock().unwrap().clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 8192];
                let n = stream.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]).into_owned();
                let path = request
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("/")
                    .split('?')
                    .next()
                    .unwrap_or("/")
                    .to_owned();
                let file = match path.as_str() {
                    "/" => Some(("index.html", "text/html; charset=utf-8")),
                    "/app.js" => Some(("app.js", "text/javascript")),
                    "/vendor/oauth4webapi.js" => {
                        Some(("vendor/oauth4webapi.js", "text/javascript"))
                    }
                    "/config.json" => Some(("config.json", "application/json")),
                    _ => None,
                };
                let (status, kind, body) = match file {
                    Some(("config.json", kind)) => ("200 OK", kind, config.into_bytes()),
                    Some((name, kind)) => ("200 OK", kind, std::fs::read(root.join(name)).unwrap()),
                    None => ("404 Not Found", "text/plain", b"not found".to_vec()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
            });
        }
    });
    format!("http://127.0.0.1:{}/", addr.port())
}

/// Waits until the page's `#id` is shown (not `hidden`) and returns its text.
async fn visible_text(client: &Client, id: &str) -> String {
    for _ in 0..100 {
        let found = client
            .execute(
                "const e = document.getElementById(arguments[0]);
                 return e && !e.closest('[hidden]') ? e.textContent : null;",
                vec![json!(id)],
            )
            .await
            .unwrap();
        if let Some(text) = found.as_str().filter(|t| !t.is_empty()) {
            return text.to_owned();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let page = client.source().await.unwrap_or_default();
    panic!("#{id} never showed: {page}");
}

async fn spa_tokens(client: &Client) -> serde_json::Value {
    let saved = client
        .execute("return sessionStorage.getItem('tokens');", vec![])
        .await
        .unwrap();
    saved
        .as_str()
        .map(|t| serde_json::from_str(t).unwrap())
        .unwrap_or(serde_json::Value::Null)
}

/// `examples/spa/` (oauth4webapi, vendored) on its own origin against an authd with no CORS
/// setting: discovery, sign-in, consent, the code exchanged with PKCE from the page, tokens
/// DPoP-bound to the page's key, the ID token's claims and userinfo shown, a refresh, and a
/// sign-out that revokes the refresh token and comes back through RP-initiated logout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium, chromium-driver and `npm ci` in tests/conformance"]
async fn the_spa_example_signs_in_refreshes_and_signs_out_in_chromium() {
    use authd::oauth::client::{ClientType, GrantType, NewClient};
    let (client, _driver) = browser(1280, 800).await;
    // With DPoP nonces required: oauth4webapi's handle keeps the nonce of each answer.
    let app = crate::harness::spawn_app_at_own_address_with(
        Backend::Sqlite,
        &[("AUTHD_DPOP_REQUIRE_NONCE", "true")],
    )
    .await;
    app.verified_user("spa@example.com").await;
    // The site's address is known once it listens; the client is registered for it after.
    let config = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let site = spa_site(config.clone()).await;
    let spa = app
        .register_client(NewClient {
            name: "Example app".into(),
            client_type: ClientType::Public,
            redirect_uris: vec![site.clone()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scopes: vec![
                "openid".into(),
                "email".into(),
                "profile".into(),
                "offline_access".into(),
            ],
            first_party: false,
            can_introspect: false,
            post_logout_redirect_uris: vec![site.clone()],
            backchannel_logout_uri: None,
            require_mfa: false,
            id_token_alg: None,
            require_dpop: false,
        })
        .await;
    *config.lock().unwrap() = json!({"issuer": app.base, "client_id": spa.id}).to_string();

    client.goto(&site).await.unwrap();
    shows(&client, "body[data-ready]").await;
    screenshot(&client, "spa-signed-out").await;
    press(&client, "#sign-in").await;
    fill(&client, "username", "spa@example.com").await;
    fill(&client, "password", PASSWORD).await;
    press(&client, "button").await;
    shows(&client, "button[value=\"approve\"]").await;
    press(&client, "button[value=\"approve\"]").await;

    assert_eq!(visible_text(&client, "who").await, "spa@example.com");
    let userinfo: serde_json::Value =
        serde_json::from_str(&visible_text(&client, "userinfo").await).unwrap();
    assert_eq!(userinfo["email"], "spa@example.com");
    let at = client.current_url().await.unwrap();
    assert_eq!(at.as_str(), site, "the code left the address bar");
    screenshot(&client, "spa-signed-in").await;
    let first = spa_tokens(&client).await;
    assert!(first["refresh_token"].is_string(), "{first}");
    // DPoP-bound to the page's key (oauth4webapi's own DPoP): copied out, the token is refused.
    assert_eq!(first["token_type"], "dpop", "{first}");
    let claims = crate::authorize::claims(s(&first["access_token"]));
    assert!(claims["cnf"]["jkt"].is_string(), "{claims}");
    app.get("/oauth/userinfo", Some(s(&first["access_token"])))
        .await
        .expect(401);

    press(&client, "#refresh").await;
    assert!(
        visible_text(&client, "refreshed")
            .await
            .starts_with("Refreshed")
    );
    let second = spa_tokens(&client).await;
    assert_ne!(second["refresh_token"], first["refresh_token"], "rotated");
    assert_ne!(second["access_token"], first["access_token"]);

    press(&client, "#sign-out").await;
    assert_eq!(visible_text(&client, "status").await, "You are signed out.");
    shows(&client, "#sign-in").await;
    assert_eq!(spa_tokens(&client).await, serde_json::Value::Null);
    let refused = app
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", s(&second["refresh_token"])),
                ("client_id", &spa.id),
            ],
            None,
        )
        .await;
    assert_eq!(refused.status, 400, "revoked: {}", refused.text);
    app.get("/oauth/userinfo", Some(s(&second["access_token"])))
        .await
        .expect(401);
    // Signed out of authd too: signing in again asks for the password.
    press(&client, "#sign-in").await;
    shows(&client, "input[name=\"password\"]").await;
    client.close().await.unwrap();
}

/// Every journey of the hosted pages, walked in English and in French, light and dark, at
/// desktop and phone widths: sign-in (a wrong password, then forgot → the emailed link →
/// reset → back to the application → consent), a used link, sign-in security, sign-out,
/// sign-up → the emailed link → confirmed, an email change stopped, the start, a wrong address
/// and a form's address opened. Each page must be in the language asked for (`ui_locales` on the
/// first request, then kept by authd for the rest of the journey), HTML (never JSON), and free
/// of axe-core violations; phone-width screenshots go to `journeys/`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium, chromium-driver and `npm ci` in tests/conformance"]
async fn every_journey_in_both_languages_and_schemes_in_chromium() {
    for lang in ["fr", "en"] {
        for dark in [false, true] {
            for (label, width, height) in [("phone", 390, 844), ("desktop", 1280, 800)] {
                walk(lang, dark, label, width, height).await;
            }
        }
    }
}

/// Marks the page the browser shows, so that [`arrived`] can tell when a click has led on.
async fn leave(client: &Client) {
    client
        .execute("window.__left = true;", vec![])
        .await
        .unwrap();
}

/// Waits until the browser shows a new, loaded page in `lang`, then checks it: HTML, not JSON;
/// in French, none of the English words a forgotten text would show; no axe-core violation;
/// and a screenshot under `journeys/` when `shot` names one.
async fn arrived(client: &Client, lang: &str, shot: Option<String>) {
    let mut at = json!(null);
    for _ in 0..100 {
        at = client
            .execute(
                "return window.__left === undefined && document.readyState === 'complete'
                   ? [document.documentElement.lang, document.contentType, document.body.innerText]
                   : null;",
                vec![],
            )
            .await
            .unwrap_or(json!(null));
        if at.is_array() && at[0] == json!(lang) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let page = client.source().await.unwrap_or_default();
    let where_ = client
        .current_url()
        .await
        .map(|u| u.to_string())
        .unwrap_or_default();
    assert_eq!(
        at[0],
        json!(lang),
        "not a page in {lang} at {where_}: {page}"
    );
    assert_eq!(at[1], json!("text/html"), "{where_}: {page}");
    let text = at[2].as_str().unwrap_or_default();
    assert!(
        !text.trim_start().starts_with('{'),
        "JSON at {where_}: {text}"
    );
    if lang == "fr" {
        for english in [" the ", "Your ", " your ", "Sign in", "Password", " and "] {
            assert!(
                !text.contains(english),
                "English {english:?} at {where_}: {text}"
            );
        }
    }
    match shot {
        Some(name) => screenshot(client, &format!("journeys/{name}")).await,
        None => accessible(client, &where_).await,
    }
}

async fn walk(lang: &str, dark: bool, label: &str, width: u32, height: u32) {
    let (client, _driver) = browser(width, height).await;
    let scheme = if dark { "dark" } else { "light" };
    if dark {
        client
            .issue_cmd(Cdp {
                cmd: "Emulation.setEmulatedMedia",
                params: json!({"features": [{"name": "prefers-color-scheme", "value": "dark"}]}),
            })
            .await
            .expect("dark emulated");
    }
    // Screenshots at phone width (the desktop pages are checked all the same).
    let shot = |name: &str| (label == "phone").then(|| format!("{lang}-{scheme}-{name}"));
    let app = spawn_app(Backend::Sqlite).await;
    let callback = callback_server().await;
    let partner = app
        .client(
            "confidential",
            &["authorization_code"],
            &["openid", "email"],
            &[callback.as_str()],
        )
        .await;
    app.verified_user("walker@example.com").await;
    let url = format!(
        "{}&ui_locales={lang}",
        authorize_url(&app, &partner.id, &callback).await
    );

    // Sign-in, in the language the application asked for; the switch goes to the other and
    // back, keeping the request.
    client.goto(&url).await.unwrap();
    arrived(&client, lang, shot("sign-in")).await;
    let other = if lang == "fr" { "en" } else { "fr" };
    leave(&client).await;
    press(&client, &format!("footer a[hreflang=\"{other}\"]")).await;
    arrived(&client, other, None).await;
    leave(&client).await;
    press(&client, &format!("footer a[hreflang=\"{lang}\"]")).await;
    arrived(&client, lang, None).await;
    fill(&client, "username", "walker@example.com").await;
    fill(&client, "password", "not-the-password-1").await;
    leave(&client).await;
    press(&client, "form[action=\"authorize\"] button").await;
    arrived(&client, lang, shot("sign-in-error")).await;

    // Forgot → the emailed link → reset → back to the application.
    leave(&client).await;
    press(&client, "p.forgot a").await;
    arrived(&client, lang, shot("forgot-password")).await;
    fill(&client, "email", "walker@example.com").await;
    leave(&client).await;
    press(&client, "form button").await;
    arrived(&client, lang, shot("forgot-password-sent")).await;
    let mail = app.smtp.wait_for("walker@example.com", 2).await;
    if lang == "fr" {
        let html = mail.part("text/html");
        assert!(html.contains("lang=\"fr\""), "{html}");
    }
    let reset = mail.link().replace(crate::harness::ISSUER, &app.base);
    client.goto(&reset).await.unwrap();
    arrived(&client, lang, shot("reset-password")).await;
    fill(&client, "new_password", "walkers-new-pass-1").await;
    fill(&client, "confirm_password", "walkers-new-pass-2").await;
    leave(&client).await;
    press(&client, "form button").await;
    arrived(&client, lang, shot("reset-password-error")).await;
    fill(&client, "new_password", "walkers-new-pass-1").await;
    fill(&client, "confirm_password", "walkers-new-pass-1").await;
    leave(&client).await;
    press(&client, "form button").await;
    arrived(&client, lang, shot("reset-password-done")).await;
    leave(&client).await;
    press(&client, "a.button[href^=\"/oauth/authorize\"]").await;
    arrived(&client, lang, None).await;
    fill(&client, "username", "walker@example.com").await;
    fill(&client, "password", "walkers-new-pass-1").await;
    leave(&client).await;
    press(&client, "form[action=\"authorize\"] button").await;
    arrived(&client, lang, shot("consent")).await;
    press(&client, "button[value=\"approve\"]").await;
    assert!(param(&landed_at(&client, &callback).await, "code").is_some());

    // The used link again; the account's sign-in security; signing out.
    client.goto(&reset).await.unwrap();
    arrived(&client, lang, shot("reset-link-used")).await;
    client.goto(&app.url("/account/security")).await.unwrap();
    arrived(&client, lang, shot("security")).await;
    client.goto(&app.url("/oauth/logout")).await.unwrap();
    arrived(&client, lang, shot("sign-out")).await;
    leave(&client).await;
    press(&client, "form button").await;
    arrived(&client, lang, shot("signed-out")).await;

    // Sign-up from the application's sign-in page, confirmed by the emailed link.
    client.goto(&url).await.unwrap();
    arrived(&client, lang, None).await;
    leave(&client).await;
    press(&client, "a[href^=\"/account/sign-up\"]").await;
    arrived(&client, lang, shot("sign-up")).await;
    fill(&client, "full_name", "Nouveau Venu").await;
    fill(&client, "email", "newcomer@example.com").await;
    fill(&client, "password", PASSWORD).await;
    fill(&client, "confirm_password", PASSWORD).await;
    leave(&client).await;
    press(&client, "form button.primary").await;
    arrived(&client, lang, shot("check-email")).await;
    let link = app.smtp.wait_for("newcomer@example.com", 1).await.link();
    client
        .goto(&link.replace(crate::harness::ISSUER, &app.base))
        .await
        .unwrap();
    arrived(&client, lang, shot("verify-email")).await;
    leave(&client).await;
    press(&client, "form button").await;
    arrived(&client, lang, shot("email-confirmed")).await;

    // An email change, stopped from the notice sent to the old address.
    let at = s(&app.login("newcomer@example.com", None).await["access_token"]).to_owned();
    app.send(
        reqwest::Method::PATCH,
        "/api/users/me",
        Some(&at),
        Some(json!({"email": "elsewhere@example.com"})),
    )
    .await
    .expect(200);
    let notice = app.smtp.wait_for("newcomer@example.com", 2).await.link();
    client
        .goto(&notice.replace(crate::harness::ISSUER, &app.base))
        .await
        .unwrap();
    arrived(&client, lang, shot("stop-email-change")).await;
    leave(&client).await;
    press(&client, "form button").await;
    arrived(&client, lang, shot("email-change-stopped")).await;

    // The start, a wrong address, and a form's address opened directly.
    client.goto(&app.url("/")).await.unwrap();
    arrived(&client, lang, shot("start")).await;
    client.goto(&app.url("/no-such-page")).await.unwrap();
    arrived(&client, lang, shot("not-found")).await;
    client
        .goto(&app.url("/account/reset-password"))
        .await
        .unwrap();
    arrived(&client, lang, shot("form-only")).await;
    client.close().await.unwrap();
}
