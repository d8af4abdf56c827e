//! The pages and emails in the person's language: `ui_locales` on the authorization request
//! (kept for the rest of the journey, on any instance), the browser's `Accept-Language`, the
//! operator's `AUTHD_DEFAULT_LOCALE`; the language switch; the API's JSON stays as the contract
//! says it.

use serde_json::json;

use crate::authorize::{CB, authorize_url, browser};
use crate::harness::{Backend, TestApp, spawn_app_with, spawn_pair};

async fn page(browser: &reqwest::Client, url: &str, accept_language: Option<&str>) -> Page {
    let mut request = browser.get(url).header("accept", "text/html");
    if let Some(al) = accept_language {
        request = request.header("accept-language", al);
    }
    let r = request.send().await.unwrap();
    Page {
        status: r.status().as_u16(),
        content_language: r
            .headers()
            .get("content-language")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        cookie: r
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|c| c.to_str().ok())
            .find(|c| c.starts_with("authd_lang="))
            .map(|c| c.split(';').next().unwrap().to_owned()),
        html: r.text().await.unwrap(),
    }
}

struct Page {
    status: u16,
    content_language: Option<String>,
    cookie: Option<String>,
    html: String,
}

impl Page {
    #[track_caller]
    fn is_in(&self, lang: &str) {
        assert!(
            self.html.contains(&format!("<html lang=\"{lang}\">")),
            "not in {lang}: {}",
            self.html
        );
        assert_eq!(self.content_language.as_deref(), Some(lang));
    }
}

async fn third_party(app: &TestApp) -> String {
    app.client(
        "confidential",
        &["authorization_code"],
        &["openid", "email"],
        &[CB],
    )
    .await
    .id
}

/// `ui_locales` picks French on one instance; the forms and emails that follow on the other
/// instance stay French (the cookie), and the emailed reset link opens a French page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ui_locales_carries_through_the_journey_on_two_instances() {
    let (a, b) = spawn_pair(Backend::Postgres, &[]).await;
    a.verified_user("lea@example.com").await;
    let client_id = third_party(&a).await;
    let person = browser();

    // An unknown language first, then French: the first that authd speaks wins.
    let url = authorize_url(&a, &client_id, CB, &[("ui_locales", "de-DE fr-CA en")]);
    let sign_in = page(&person, &url, Some("en")).await;
    assert_eq!(sign_in.status, 200);
    sign_in.is_in("fr");
    assert!(sign_in.html.contains("Se connecter"), "{}", sign_in.html);
    assert!(!sign_in.html.contains(">Sign in<"));
    assert_eq!(sign_in.cookie.as_deref(), Some("authd_lang=fr"));

    // The switch to English keeps the whole authorization request.
    let english = sign_in
        .html
        .split("hreflang=\"en\"")
        .next()
        .and_then(|before| before.rsplit("href=\"").next())
        .map(|href| {
            let href = href.split('"').next().unwrap();
            href.replace("&#x2f;", "/").replace("&amp;", "&")
        })
        .expect("a link to the page in English");
    assert!(english.starts_with("/oauth/authorize?"), "{english}");
    let switched = url::Url::parse(&a.url(&english)).unwrap();
    let pairs: Vec<(String, String)> = switched.query_pairs().into_owned().collect();
    assert!(pairs.contains(&("client_id".into(), client_id.clone())));
    assert!(pairs.contains(&("ui_locales".into(), "en".into())));
    assert_eq!(pairs.iter().filter(|(k, _)| k == "ui_locales").count(), 1);

    // The other instance: the browser says nothing of French but its cookie.
    let forgot = page(&person, &b.url("/account/forgot-password"), Some("en")).await;
    forgot.is_in("fr");
    let sent = person
        .post(b.url("/account/forgot-password"))
        .header("accept", "text/html")
        .form(&[("email", "lea@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status().as_u16(), 200);
    assert!(sent.text().await.unwrap().contains("<html lang=\"fr\">"));

    // The email is French in both parts, fits a phone, and its link opens a French page.
    let mail = b.smtp.wait_for("lea@example.com", 2).await;
    assert!(
        !mail.subject().starts_with("Reset your password"),
        "{}",
        mail.subject()
    );
    let html = mail.part("text/html");
    assert!(html.contains("lang=\"fr\""), "{html}");
    assert!(html.contains("name=\"viewport\""), "{html}");
    assert!(!mail.part("text/plain").contains("Choose a new password"));
    let link = mail.link().replace(crate::harness::ISSUER, &b.base);
    let reset = page(&person, &link, None).await;
    assert_eq!(reset.status, 200);
    reset.is_in("fr");

    // Asking for English again puts it back.
    let url = authorize_url(&a, &client_id, CB, &[("ui_locales", "en")]);
    let back = page(&person, &url, Some("fr")).await;
    back.is_in("en");
    assert_eq!(back.cookie.as_deref(), Some("authd_lang=en"));
}

/// Without `ui_locales` or a cookie, the browser's preferences decide, by their weights; a
/// language authd does not speak falls to the default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_language_decides_without_a_choice() {
    let app = spawn_app_with(Backend::Sqlite, &[]).await;
    let url = app.url("/account/sign-in");
    for (header, lang) in [
        (Some("fr-FR,fr;q=0.9,en;q=0.8"), "fr"),
        (Some("de-DE, en;q=0.3, fr;q=0.7"), "fr"),
        (Some("en-GB, fr;q=0.9"), "en"),
        (Some("de, it"), "en"),
        (Some("fr;q=0"), "en"),
        (None, "en"),
    ] {
        let p = page(&browser(), &url, header).await;
        p.is_in(lang);
        assert_eq!(p.cookie, None, "only a choice is remembered");
    }
    // Pages outside any journey too: "not found" speaks the browser's language.
    let missing = page(&browser(), &app.url("/nothing-here"), Some("fr")).await;
    assert_eq!(missing.status, 404);
    missing.is_in("fr");
    // The API's JSON is the contract's, whatever the browser reads.
    let r = app
        .client
        .post(app.url("/api/auth/login"))
        .header("accept-language", "fr")
        .json(&json!({"email": "nobody@example.com", "password": "wrong-password-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["message"], "Invalid credentials");
    // Discovery names the languages.
    let d = app.get("/.well-known/openid-configuration", None).await;
    assert_eq!(d.expect(200)["ui_locales_supported"], json!(["en", "fr"]));
}

/// `AUTHD_DEFAULT_LOCALE` is the language of a browser that names none authd speaks; a browser
/// that does still gets its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_chooses_the_default_language() {
    let app = spawn_app_with(Backend::Sqlite, &[("AUTHD_DEFAULT_LOCALE", "fr")]).await;
    let url = app.url("/account/sign-in");
    page(&browser(), &url, None).await.is_in("fr");
    page(&browser(), &url, Some("de")).await.is_in("fr");
    page(&browser(), &url, Some("en-US")).await.is_in("en");
}

/// The language switch repeats the page's own address in its links: an address crafted to
/// break out of the attribute comes back escaped, and the switch stays on authd.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_language_switch_cannot_be_turned_into_markup_or_a_way_out() {
    let app = spawn_app_with(Backend::Sqlite, &[]).await;
    let crafted =
        "/account/sign-in?x=%22%3E%3Cscript%3Ealert(1)%3C/script%3E&y=%27onmouseover%3Dalert(1)";
    let p = page(&browser(), &app.url(crafted), Some("fr")).await;
    p.is_in("fr");
    assert!(!p.html.contains("<script>alert"), "{}", p.html);
    assert!(!p.html.contains("'onmouseover"), "{}", p.html);
    let switch = p
        .html
        .split("hreflang=\"en\"")
        .next()
        .and_then(|before| before.rsplit("href=\"").next())
        .map(|href| href.split('"').next().unwrap().to_owned())
        .expect("a link to the page in English");
    assert!(
        switch.starts_with("&#x2f;account&#x2f;sign-in?"),
        "{switch}"
    );
    // A scheme-relative address is not a page of authd's: it opens none, so offers no switch
    // to follow elsewhere.
    let away = page(&browser(), &app.url("//evil.example/x"), Some("fr")).await;
    assert!(
        !away.html.contains("href=\"&#x2f;&#x2f;evil"),
        "{}",
        away.html
    );
}
