//! The authorization code flow with PKCE, driven like a browser: authd's sign-in page, its
//! cookies and CSRF token, consent for third-party clients, and the attacks on each step.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::Digest as _;

use crate::both_backends;
use crate::harness::{Backend, PASSWORD, Reply, TestApp, s, spawn_app};

both_backends!(
    backchannel_logout,
    rp_initiated_logout,
    consent_is_remembered_and_can_be_withdrawn,
    prompt_max_age_loopback_ports_and_iss,
    first_party_code_flow_with_pkce,
    third_party_consent_and_refusals,
    requests_that_never_redirect_or_redirect_errors
);

pub const CB: &str = "http://127.0.0.1:9/cb";

pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

pub fn pkce() -> Pkce {
    let verifier = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    Pkce {
        verifier,
        challenge,
    }
}

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn authorize_url(
    app: &TestApp,
    client_id: &str,
    redirect_uri: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut url = url::Url::parse(&app.url("/oauth/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", "st-42");
    for (k, v) in extra {
        url.query_pairs_mut().append_pair(k, v);
    }
    url.to_string()
}

/// The hidden fields of the page's form, as a browser would submit them.
pub fn form_fields(html: &str) -> Vec<(String, String)> {
    // The page's main form: the first that carries a CSRF value (a sign-in page may also hold
    // a form for resending a link before it, and one for passkeys after it).
    let form = html
        .split("<form")
        .skip(1)
        .map(|f| f.split("</form>").next().unwrap_or(f))
        .find(|f| f.contains("name=\"csrf\""))
        .unwrap_or(html);
    form.split("<input type=\"hidden\" ")
        .skip(1)
        .filter_map(|chunk| {
            let name = chunk.split("name=\"").nth(1)?.split('"').next()?;
            let value = chunk.split("value=\"").nth(1)?.split('"').next()?;
            let unescape = |v: &str| {
                v.replace("&quot;", "\"")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&#39;", "'")
                    .replace("&#x27;", "'")
                    .replace("&#x2f;", "/")
                    .replace("&amp;", "&")
            };
            Some((unescape(name), unescape(value)))
        })
        .collect()
}

pub async fn submit(
    app: &TestApp,
    browser: &reqwest::Client,
    page: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = form_fields(page);
    form.retain(|(k, _)| k != "action");
    for (k, v) in extra {
        form.push((k.to_string(), v.to_string()));
    }
    browser
        .post(app.url("/oauth/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// Signs `email` in (with the test password) on a sign-in page the browser holds.
pub async fn log_in(
    app: &TestApp,
    browser: &reqwest::Client,
    page: &str,
    email: &str,
) -> reqwest::Response {
    submit(
        app,
        browser,
        page,
        &[
            ("action", "login"),
            ("username", email),
            ("password", PASSWORD),
        ],
    )
    .await
}

/// A browser that is not signed in opens `url`, signs in as `email`, and comes back with a code.
pub async fn code_after_sign_in(
    app: &TestApp,
    browser: &reqwest::Client,
    url: &str,
    email: &str,
) -> String {
    let page = browser.get(url).send().await.unwrap().text().await.unwrap();
    let back = log_in(app, browser, &page, email).await;
    query(&location(&back), "code").unwrap()
}

pub fn location(response: &reqwest::Response) -> url::Url {
    assert_eq!(response.status().as_u16(), 303, "expected a redirect");
    url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap()
}

pub fn query(url: &url::Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

pub async fn exchange(
    app: &TestApp,
    client_id: &str,
    code: &str,
    verifier: Option<&str>,
    basic: Option<(&str, &str)>,
) -> Reply {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CB),
    ];
    if basic.is_none() {
        form.push(("client_id", client_id));
    }
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    app.token(&form, basic).await
}

/// A new code for a browser that is already signed in, with the PKCE pair it was asked with.
async fn signed_in_code(
    app: &TestApp,
    browser: &reqwest::Client,
    client_id: &str,
) -> (String, Pkce) {
    let p = pkce();
    let pk = [
        ("code_challenge", p.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let reply = browser
        .get(authorize_url(app, client_id, CB, &pk))
        .send()
        .await
        .unwrap();
    (query(&location(&reply), "code").unwrap(), p)
}

pub fn claims(token: &str) -> Value {
    serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap()
}

async fn first_party_code_flow_with_pkce(backend: Backend) {
    let app = spawn_app(backend).await;
    let user_id = app.verified_user("coder@example.com").await;
    let spa = app
        .client_with(
            "public",
            &["authorization_code", "refresh_token"],
            &[],
            &[CB],
            true,
        )
        .await;
    let browser = browser();
    let p = pkce();
    let url = authorize_url(
        &app,
        &spa.id,
        CB,
        &[
            ("scope", "openid email"),
            ("code_challenge", &p.challenge),
            ("code_challenge_method", "S256"),
            ("nonce", "n-0S6"),
        ],
    );

    let login = browser.get(&url).send().await.unwrap();
    assert_eq!(login.status().as_u16(), 200);
    assert_eq!(login.headers()["x-frame-options"], "DENY");
    let page = login.text().await.unwrap();
    assert!(page.contains("Sign in"));

    // A wrong password stays on the page; CSRF is required.
    let wrong = submit(
        &app,
        &browser,
        &page,
        &[
            ("action", "login"),
            ("username", "coder@example.com"),
            ("password", "wrong-123"),
        ],
    )
    .await;
    assert_eq!(wrong.status().as_u16(), 401);
    let mut form = form_fields(&page);
    form.retain(|(k, _)| k != "csrf" && k != "action");
    for (k, v) in [
        ("action", "login"),
        ("username", "coder@example.com"),
        ("password", PASSWORD),
    ] {
        form.push((k.into(), v.into()));
    }
    let no_csrf = browser
        .post(app.url("/oauth/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status().as_u16(), 403);
    assert!(
        !no_csrf
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("authd_session=")),
        "not signed in without the form's CSRF value"
    );

    let signed = log_in(&app, &browser, &page, "coder@example.com").await;
    assert!(signed.headers().get_all("set-cookie").iter().any(|c| {
        let c = c.to_str().unwrap();
        c.starts_with("authd_session=") && c.contains("HttpOnly") && c.contains("SameSite=Lax")
    }));
    let back = location(&signed);
    assert_eq!(back.as_str().split('?').next().unwrap(), CB);
    assert_eq!(query(&back, "state").as_deref(), Some("st-42"));
    let code = query(&back, "code").expect("a code");

    let tokens = exchange(&app, &spa.id, &code, Some(&p.verifier), None)
        .await
        .expect(200)
        .clone();
    assert_eq!(s(&tokens["scope"]), "email openid");
    assert!(tokens["refresh_token"].is_string());
    let id = claims(s(&tokens["id_token"]));
    assert_eq!(s(&id["sub"]), user_id);
    assert_eq!(s(&id["aud"]), spa.id);
    assert_eq!(s(&id["nonce"]), "n-0S6");
    assert_eq!(s(&id["email"]), "coder@example.com");
    assert_eq!(
        s(&id["at_hash"]),
        authd::tokens::jwt::at_hash(s(&tokens["access_token"]))
    );
    app.get("/oauth/userinfo", Some(s(&tokens["access_token"])))
        .await
        .expect(200);
    // Codes are single use.
    let reused = exchange(&app, &spa.id, &code, Some(&p.verifier), None).await;
    assert_eq!(reused.status, 400);
    assert_eq!(s(&reused.json["error"]), "invalid_grant");

    // Signed in already: the next request redirects at once, and PKCE still decides.
    let (code2, _) = signed_in_code(&app, &browser, &spa.id).await;
    let wrong_verifier = exchange(&app, &spa.id, &code2, Some(&p.verifier), None).await;
    assert_eq!(s(&wrong_verifier.json["error"]), "invalid_grant");
    let (code3, _) = signed_in_code(&app, &browser, &spa.id).await;
    let missing = exchange(&app, &spa.id, &code3, None, None).await;
    assert_eq!(s(&missing.json["error"]), "invalid_grant");

    // Codes expire within minutes.
    let (code4, p4) = signed_in_code(&app, &browser, &spa.id).await;
    app.advance(Duration::from_secs(120));
    let late = exchange(&app, &spa.id, &code4, Some(&p4.verifier), None).await;
    assert_eq!(s(&late.json["error"]), "invalid_grant");

    // Logging out everywhere ends the sign-in on authd's page too.
    let api = app.login("coder@example.com", None).await;
    app.post_auth(
        "/api/auth/logout-all",
        s(&api["access_token"]),
        serde_json::json!({}),
    )
    .await
    .expect(200);
    let p5 = pkce();
    let pk = [
        ("code_challenge", p5.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let after = browser
        .get(authorize_url(&app, &spa.id, CB, &pk))
        .send()
        .await
        .unwrap();
    assert_eq!(
        after.status().as_u16(),
        200,
        "the sign-in page again, not a code"
    );
}

async fn third_party_consent_and_refusals(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("consent@example.com").await;
    let partner = app
        .client(
            "confidential",
            &["authorization_code"],
            &["openid", "profile"],
            &[CB],
        )
        .await;
    let secret = partner.secret.clone().unwrap();
    let browser = browser();
    let page = browser
        .get(authorize_url(
            &app,
            &partner.id,
            CB,
            &[("scope", "openid profile")],
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let consent = log_in(&app, &browser, &page, "consent@example.com").await;
    assert_eq!(
        consent.status().as_u16(),
        200,
        "third-party clients ask first"
    );
    let consent_page = consent.text().await.unwrap();
    assert!(consent_page.contains("Allow") && consent_page.contains("profile"));
    // "Not you?" asks for the same request with a new sign-in.
    let switch = consent_page
        .split("href=\"authorize?")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a \"not you?\" link")
        .replace("&amp;", "&");
    assert!(switch.contains("prompt=login") && switch.contains(&partner.id));
    let again = browser
        .get(app.url(&format!("/oauth/authorize?{switch}")))
        .send()
        .await
        .unwrap();
    assert!(again.text().await.unwrap().contains("name=\"password\""));

    let denied = submit(&app, &browser, &consent_page, &[("action", "deny")]).await;
    let back = location(&denied);
    assert_eq!(query(&back, "error").as_deref(), Some("access_denied"));
    assert_eq!(query(&back, "state").as_deref(), Some("st-42"));

    let approved = submit(&app, &browser, &consent_page, &[("action", "approve")]).await;
    let code = query(&location(&approved), "code").unwrap();
    // The code belongs to this client: another client, or a wrong secret, cannot redeem it.
    let other = app
        .client("confidential", &["authorization_code"], &[], &[CB])
        .await;
    let stolen = exchange(
        &app,
        &other.id,
        &code,
        None,
        Some((&other.id, other.secret.as_deref().unwrap())),
    )
    .await;
    assert_eq!(stolen.status, 400);
    let bad_secret = exchange(&app, &partner.id, &code, None, Some((&partner.id, "nope"))).await;
    assert_eq!(bad_secret.status, 401);
    // Neither attempt consumed it: the real client still redeems its code.
    exchange(&app, &partner.id, &code, None, Some((&partner.id, &secret)))
        .await
        .expect(200);

    // Allowed once, remembered: the next request comes straight back with a code.
    let again = browser
        .get(authorize_url(&app, &partner.id, CB, &[("scope", "openid")]))
        .send()
        .await
        .unwrap();
    let code = query(&location(&again), "code").unwrap();
    let tokens = exchange(&app, &partner.id, &code, None, Some((&partner.id, &secret)))
        .await
        .expect(200)
        .clone();
    assert!(
        tokens.get("refresh_token").is_none(),
        "the client may not refresh"
    );
    assert!(tokens["id_token"].is_string());
}

async fn requests_that_never_redirect_or_redirect_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    let spa = app
        .client_with("public", &["authorization_code"], &["openid"], &[CB], true)
        .await;
    let browser = browser();
    let p = pkce();
    let pk = [
        ("code_challenge", p.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    // An unregistered redirect URI or client: an error page, never a redirect.
    for url in [
        authorize_url(&app, &spa.id, "https://evil.example/cb", &pk),
        authorize_url(&app, &spa.id, "http://127.0.0.1:9/cb/extra", &pk),
        authorize_url(&app, "no-such-client", CB, &pk),
        app.url("/oauth/authorize?response_type=code&client_id=x&client_id=y"),
    ] {
        let r = browser.get(&url).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 400, "{url}");
        assert!(r.headers().get("location").is_none());
    }
    // With a verified redirect URI, errors go back to the client.
    let no_pkce = browser
        .get(authorize_url(&app, &spa.id, CB, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        query(&location(&no_pkce), "error").as_deref(),
        Some("invalid_request")
    );
    // Each PKCE refusal says what is wrong (RFC 7636 section 4.4.1).
    let described = query(&location(&no_pkce), "error_description").unwrap();
    assert!(described.contains("must use PKCE"), "{described}");
    let short = browser
        .get(authorize_url(
            &app,
            &spa.id,
            CB,
            &[("code_challenge", "abc"), ("code_challenge_method", "S256")],
        ))
        .send()
        .await
        .unwrap();
    let described = query(&location(&short), "error_description").unwrap();
    assert!(described.contains("43 to 128 characters"), "{described}");
    let plain = browser
        .get(authorize_url(
            &app,
            &spa.id,
            CB,
            &[
                ("code_challenge", &p.challenge),
                ("code_challenge_method", "plain"),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        query(&location(&plain), "error").as_deref(),
        Some("invalid_request")
    );
    let described = query(&location(&plain), "error_description").unwrap();
    assert!(described.contains("must be S256"), "{described}");
    let scope = browser
        .get(authorize_url(
            &app,
            &spa.id,
            CB,
            &[("scope", "admin"), pk[0], pk[1]],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        query(&location(&scope), "error").as_deref(),
        Some("invalid_scope")
    );
    // An OpenID request ignores what the client may not have (OIDC Core 3.1.2.1), and the
    // token response says what was granted.
    let p2 = pkce();
    let openid = authorize_url(
        &app,
        &spa.id,
        CB,
        &[
            ("scope", "openid admin email"),
            ("code_challenge", &p2.challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    app.verified_user("scopes@example.com").await;
    let fresh = crate::authorize::browser();
    let code = code_after_sign_in(&app, &fresh, &openid, "scopes@example.com").await;
    let granted = exchange(&app, &spa.id, &code, Some(&p2.verifier), None)
        .await
        .expect(200)
        .clone();
    assert_eq!(s(&granted["scope"]), "openid", "admin and email dropped");
    let mut token_url = url::Url::parse(&authorize_url(&app, &spa.id, CB, &pk)).unwrap();
    let pairs: Vec<(String, String)> = token_url
        .query_pairs()
        .map(|(k, v)| {
            let value = if k == "response_type" {
                "token".to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), value)
        })
        .collect();
    token_url.query_pairs_mut().clear().extend_pairs(pairs);
    let implicit = browser.get(token_url.as_str()).send().await.unwrap();
    assert_eq!(
        query(&location(&implicit), "error").as_deref(),
        Some("unsupported_response_type")
    );
}

/// OIDC Core 3.1.2.1 `prompt` and `max_age`, RFC 8252 loopback ports, RFC 9207 `iss`.
async fn prompt_max_age_loopback_ports_and_iss(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("prompt@example.com").await;
    let native = "http://127.0.0.1/callback";
    let spa = app
        .client_with(
            "public",
            &["authorization_code"],
            &["openid"],
            &[CB, native],
            true,
        )
        .await;
    let partner = app
        .client("confidential", &["authorization_code"], &["openid"], &[CB])
        .await;
    let p = pkce();
    let pk = [
        ("scope", "openid"),
        ("code_challenge", p.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let with = |extra: &[(&str, &str)]| {
        let mut all = pk.to_vec();
        all.extend_from_slice(extra);
        authorize_url(&app, &spa.id, CB, &all)
    };
    let browser = browser();

    // Not signed in: prompt=none answers login_required by redirect, with state and iss.
    let r = browser
        .get(with(&[("prompt", "none")]))
        .send()
        .await
        .unwrap();
    let back = location(&r);
    assert_eq!(query(&back, "error").as_deref(), Some("login_required"));
    assert_eq!(query(&back, "state").as_deref(), Some("st-42"));
    assert_eq!(query(&back, "iss").as_deref(), Some(crate::harness::ISSUER));
    assert!(query(&back, "error_description").is_some());

    // Sign in; then prompt=none gets a code at once, with iss.
    let page = browser
        .get(with(&[]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let signed = log_in(&app, &browser, &page, "prompt@example.com").await;
    assert_eq!(
        query(&location(&signed), "iss").as_deref(),
        Some(crate::harness::ISSUER)
    );
    let r = browser
        .get(with(&[("prompt", "none")]))
        .send()
        .await
        .unwrap();
    assert!(query(&location(&r), "code").is_some());

    // prompt=login and select_account show the sign-in page despite the live sign-in.
    for prompt in ["login", "select_account"] {
        let r = browser
            .get(with(&[("prompt", prompt)]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{prompt}");
        assert!(r.text().await.unwrap().contains("name=\"password\""));
    }
    // prompt=consent asks even a first-party client's user.
    let r = browser
        .get(with(&[("prompt", "consent")]))
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("value=\"approve\""));
    // A third-party client with prompt=none: consent is needed, so consent_required.
    let r = browser
        .get(authorize_url(&app, &partner.id, CB, &[("prompt", "none")]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        query(&location(&r), "error").as_deref(),
        Some("consent_required")
    );
    // Malformed prompt values are invalid_request, back to the client.
    for bad in ["none login", "sometimes"] {
        let r = browser.get(with(&[("prompt", bad)])).send().await.unwrap();
        assert_eq!(
            query(&location(&r), "error").as_deref(),
            Some("invalid_request")
        );
    }
    // What authd does not offer is said, not ignored.
    for (param, value, error) in [
        (
            "request",
            "eyJhbGciOiJub25lIn0.e30.",
            "request_not_supported",
        ),
        (
            "request_uri",
            "https://rp.example/r",
            "request_uri_not_supported",
        ),
        ("response_mode", "web_message", "invalid_request"),
    ] {
        let r = browser.get(with(&[(param, value)])).send().await.unwrap();
        assert_eq!(
            query(&location(&r), "error").as_deref(),
            Some(error),
            "{param}"
        );
    }
    let r = browser
        .get(with(&[("response_mode", "query")]))
        .send()
        .await
        .unwrap();
    assert!(query(&location(&r), "code").is_some());
    // fragment: the whole response after `#`, nothing of it in the query.
    let r = browser
        .get(with(&[("response_mode", "fragment")]))
        .send()
        .await
        .unwrap();
    let to = location(&r);
    assert!(to.query().is_none(), "{to}");
    let fragment: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(to.fragment().unwrap().as_bytes())
            .into_owned()
            .collect();
    assert!(fragment.contains_key("code"));
    assert_eq!(fragment["state"], "st-42");
    assert_eq!(fragment["iss"], crate::harness::ISSUER);
    // An error in fragment mode goes the same way.
    let r = browser
        .get(with(&[
            ("response_mode", "fragment"),
            ("prompt", "sometimes"),
        ]))
        .send()
        .await
        .unwrap();
    let to = location(&r);
    assert!(
        to.query().is_none() && to.fragment().unwrap().contains("error="),
        "{to}"
    );
    // form_post: a page whose form posts the response to the redirect URI; CSP lets exactly
    // that form and its one hashed script run.
    let r = browser
        .get(with(&[("response_mode", "form_post")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers().get("location").is_none());
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("form-action 'self' http://127.0.0.1:9"),
        "{csp}"
    );
    assert!(csp.contains("script-src 'self' 'sha256-"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let html = r.text().await.unwrap();
    let action = html
        .split("<form method=\"post\" action=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .replace("&#x2f;", "/");
    assert_eq!(action, CB);
    let fields: std::collections::HashMap<String, String> =
        form_fields(&html).into_iter().collect();
    assert!(fields.contains_key("code"));
    assert_eq!(fields["state"], "st-42");
    assert_eq!(fields["iss"], crate::harness::ISSUER);

    // max_age: a sign-in older than it must be done again (or login_required with none).
    app.advance(Duration::from_secs(120));
    let r = browser
        .get(with(&[("max_age", "600")]))
        .send()
        .await
        .unwrap();
    assert!(query(&location(&r), "code").is_some(), "fresh enough");
    let r = browser
        .get(with(&[("max_age", "60"), ("prompt", "none")]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        query(&location(&r), "error").as_deref(),
        Some("login_required")
    );
    let r = browser
        .get(with(&[("max_age", "60")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "the sign-in page again");
    let page = r.text().await.unwrap();
    let signed = log_in(&app, &browser, &page, "prompt@example.com").await;
    let code = query(&location(&signed), "code").unwrap();
    let tokens = exchange(&app, &spa.id, &code, Some(&p.verifier), None)
        .await
        .expect(200)
        .clone();
    let auth_time = claims(s(&tokens["id_token"]))["auth_time"]
        .as_i64()
        .unwrap();
    let now = app.state.clock.now().timestamp();
    assert!(now - auth_time <= 5, "auth_time is the new sign-in");

    // A native app's loopback redirect URI matches on any port (RFC 8252 7.3), exactly
    // otherwise.
    let port_uri = "http://127.0.0.1:53127/callback";
    let r = browser
        .get(authorize_url(&app, &spa.id, port_uri, &pk))
        .send()
        .await
        .unwrap();
    let back = location(&r);
    assert!(back.as_str().starts_with(port_uri), "{back}");
    let code = query(&back, "code").unwrap();
    let r = app
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", port_uri),
                ("client_id", &spa.id),
                ("code_verifier", &p.verifier),
            ],
            None,
        )
        .await;
    let id_token = s(&r.expect(200)["id_token"]).to_owned();
    // The ID token where the access token belongs is named as such, not "invalid".
    let mixed_up = app.get("/api/users/me", Some(&id_token)).await;
    assert!(s(&mixed_up.expect(401)["message"]).starts_with("This is an ID token"));
    for bad in [
        "http://127.0.0.1:53127/callback/../evil",
        "http://127.0.0.1:53127/other",
        "http://localhost:53127/callback",
    ] {
        let r = browser
            .get(authorize_url(&app, &spa.id, bad, &pk))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "{bad}");
    }

    // id_token_hint naming the signed-in user: prompt=none answers with a code.
    let r = browser
        .get(with(&[("prompt", "none"), ("id_token_hint", &id_token)]))
        .send()
        .await
        .unwrap();
    assert!(query(&location(&r), "code").is_some());
    // A hint that is not authd's ID token for this client is refused, not ignored.
    // (An ID token of the same user, issued to another client.)
    let foreign = app
        .token(
            &[
                ("grant_type", "password"),
                ("client_id", "authd-web"),
                ("username", "prompt@example.com"),
                ("password", PASSWORD),
                ("scope", "openid"),
            ],
            None,
        )
        .await
        .expect(200)
        .clone();
    for hint in ["a.b.c", s(&foreign["id_token"])] {
        let r = browser
            .get(with(&[("prompt", "none"), ("id_token_hint", hint)]))
            .send()
            .await
            .unwrap();
        assert_eq!(
            query(&location(&r), "error").as_deref(),
            Some("invalid_request")
        );
    }
    // Someone else is signed in than the hint names: not used (with none, login_required).
    app.verified_user("other-person@example.com").await;
    let second = crate::authorize::browser();
    let page = second
        .get(with(&[]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    log_in(&app, &second, &page, "other-person@example.com").await;
    let r = second
        .get(with(&[("prompt", "none"), ("id_token_hint", &id_token)]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        query(&location(&r), "error").as_deref(),
        Some("login_required")
    );

    // login_hint fills in the sign-in form.
    let fresh = crate::authorize::browser();
    let page = fresh
        .get(with(&[("login_hint", "hinted@example.com")]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("value=\"hinted@example.com\""), "{page}");
}

/// Allowing a third-party client once is remembered (no consent page for the same scopes, and
/// `prompt=none` succeeds) until the user withdraws it, which also ends its sessions.
async fn consent_is_remembered_and_can_be_withdrawn(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("remember@example.com").await;
    let partner = app
        .client(
            "confidential",
            &["authorization_code"],
            &["openid", "profile", "email"],
            &[CB],
        )
        .await;
    let secret = partner.secret.clone().unwrap();
    let browser = browser();
    let url = |scope: &str, extra: &[(&str, &str)]| {
        let mut all = vec![("scope", scope)];
        all.extend_from_slice(extra);
        authorize_url(&app, &partner.id, CB, &all)
    };
    let page = browser
        .get(url("openid profile", &[]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let consent = log_in(&app, &browser, &page, "remember@example.com")
        .await
        .text()
        .await
        .unwrap();
    let approved = submit(&app, &browser, &consent, &[("action", "approve")]).await;
    let code = query(&location(&approved), "code").unwrap();
    let tokens = exchange(&app, &partner.id, &code, None, Some((&partner.id, &secret)))
        .await
        .expect(200)
        .clone();

    // The same scopes (or fewer): straight back with a code, also with prompt=none.
    for (scope, extra) in [
        ("openid profile", vec![]),
        ("openid", vec![]),
        ("openid profile", vec![("prompt", "none")]),
    ] {
        let r = browser.get(url(scope, &extra)).send().await.unwrap();
        assert!(query(&location(&r), "code").is_some(), "{scope} {extra:?}");
    }
    // More than was allowed: asked again.
    let r = browser.get(url("openid email", &[])).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().contains("value=\"approve\""));

    // The user sees and withdraws it from the account API.
    let at = s(&app.login("remember@example.com", None).await["access_token"]).to_owned();
    let list = app.get("/api/users/me/consents", Some(&at)).await;
    let list = list.expect(200).as_array().unwrap().clone();
    assert_eq!(list.len(), 1);
    assert_eq!(s(&list[0]["client_id"]), partner.id);
    assert_eq!(list[0]["scopes"], serde_json::json!(["openid", "profile"]));
    // Not from the third party's own token.
    app.get("/api/users/me/consents", Some(s(&tokens["access_token"])))
        .await
        .expect(403);
    app.send(
        reqwest::Method::DELETE,
        &format!("/api/users/me/consents/{}", partner.id),
        Some(&at),
        None,
    )
    .await
    .expect(204);
    app.get("/oauth/userinfo", Some(s(&tokens["access_token"])))
        .await
        .expect(401);
    // Both in the person's trail, with the client.
    let me = app.get("/api/users/me", Some(&at)).await;
    let trail = crate::audit::trail(&app, s(&me.expect(200)["id"])).await;
    let consents: Vec<_> = trail
        .iter()
        .filter(|(k, _, _)| k.starts_with("consent."))
        .collect();
    assert_eq!(consents.len(), 2, "{trail:?}");
    assert_eq!(consents[0].0, "consent.given");
    assert_eq!(consents[0].2["scopes"], "openid profile");
    assert_eq!(consents[1].0, "consent.withdrawn");
    let r = browser
        .get(url("openid profile", &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "asked again");
    let r = browser
        .get(url("openid profile", &[("prompt", "none")]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        query(&location(&r), "error").as_deref(),
        Some("consent_required")
    );
    app.send(
        reqwest::Method::DELETE,
        &format!("/api/users/me/consents/{}", partner.id),
        Some(&at),
        None,
    )
    .await
    .expect(404);
}

/// OpenID Connect RP-Initiated Logout: with its ID token, a relying party signs the browser
/// out of authd and ends the session, then gets the browser back at a registered address.
async fn rp_initiated_logout(backend: Backend) {
    use authd::oauth::client::{ClientType, GrantType, NewClient};
    let app = spawn_app(backend).await;
    app.verified_user("leaving@example.com").await;
    let bye = "http://127.0.0.1:9/bye";
    let rp = app
        .register_client(NewClient {
            name: "relying party".into(),
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
    let discovery = app.get("/.well-known/openid-configuration", None).await;
    assert_eq!(
        s(&discovery.expect(200)["end_session_endpoint"]),
        format!("{}/oauth/logout", crate::harness::ISSUER)
    );

    let browser = browser();
    let url = authorize_url(&app, &rp.id, CB, &[("scope", "openid offline_access")]);
    let code = code_after_sign_in(&app, &browser, &url, "leaving@example.com").await;
    let tokens = exchange(&app, &rp.id, &code, None, Some((&rp.id, &secret)))
        .await
        .expect(200)
        .clone();
    let id_token = s(&tokens["id_token"]).to_owned();
    assert!(claims(&id_token)["sid"].is_string());

    let logout = |extra: &[(&str, &str)]| {
        let mut u = url::Url::parse(&app.url("/oauth/logout")).unwrap();
        for (k, v) in extra {
            u.query_pairs_mut().append_pair(k, v);
        }
        u.to_string()
    };
    // Refused, and nothing ends: an unregistered address, a forged hint.
    for bad in [
        logout(&[
            ("id_token_hint", &id_token),
            ("post_logout_redirect_uri", "https://evil.example/"),
        ]),
        logout(&[("id_token_hint", "a.b.c")]),
        logout(&[("id_token_hint", &id_token), ("client_id", "someone-else")]),
    ] {
        let r = browser.get(&bad).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 400);
        assert!(r.headers().get("location").is_none());
    }
    app.get("/oauth/userinfo", Some(s(&tokens["access_token"])))
        .await
        .expect(200);

    // The relying party's logout: back at its address with its state, signed out everywhere.
    let r = browser
        .get(logout(&[
            ("id_token_hint", &id_token),
            ("post_logout_redirect_uri", bye),
            ("state", "so-long"),
        ]))
        .send()
        .await
        .unwrap();
    let to = location(&r);
    assert!(to.as_str().starts_with(bye));
    assert_eq!(query(&to, "state").as_deref(), Some("so-long"));
    app.get("/oauth/userinfo", Some(s(&tokens["access_token"])))
        .await
        .expect(401);
    let refreshed = app
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", s(&tokens["refresh_token"])),
            ],
            Some((&rp.id, &secret)),
        )
        .await;
    assert_eq!(s(&refreshed.expect(400)["error"]), "invalid_grant");
    let again = browser.get(&url).send().await.unwrap();
    assert_eq!(again.status().as_u16(), 200, "the sign-in page: signed out");

    // Without an ID token the browser is asked first; a page elsewhere cannot sign it out.
    let page = browser
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    log_in(&app, &browser, &page, "leaving@example.com").await;
    let ask = browser.get(logout(&[])).send().await.unwrap();
    assert_eq!(ask.status().as_u16(), 200);
    let ask = ask.text().await.unwrap();
    let still = browser.get(&url).send().await.unwrap();
    assert!(
        query(&location(&still), "code").is_some(),
        "not signed out by a GET"
    );
    // A page elsewhere posting the form cannot know the CSRF value: it is asked again, and
    // the browser stays signed in.
    let forged: Vec<(String, String)> = form_fields(&ask)
        .into_iter()
        .map(|(k, v)| {
            if k == "csrf" {
                (k, "forged".into())
            } else {
                (k, v)
            }
        })
        .collect();
    assert!(
        forged.iter().any(|(k, _)| k == "csrf"),
        "the form carries a csrf field"
    );
    let refused = browser
        .post(app.url("/oauth/logout"))
        .form(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 200);
    assert!(!refused.text().await.unwrap().contains("You are signed out"));
    let still = browser.get(&url).send().await.unwrap();
    assert!(
        query(&location(&still), "code").is_some(),
        "not signed out by a forged post"
    );
    let done = browser
        .post(app.url("/oauth/logout"))
        .form(&form_fields(&ask))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status().as_u16(), 200);
    assert!(done.text().await.unwrap().contains("signed out"));
    let after = browser.get(&url).send().await.unwrap();
    assert_eq!(after.status().as_u16(), 200, "signed out");
}

/// A relying party's backend that records the logout tokens POSTed to it. It answers 503 to
/// the first one, as a backend restarting would, so authd must retry.
async fn logout_receiver() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use axum::routing::post;
    let got: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let refused_once = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let store = got.clone();
    let router = axum::Router::new().route(
        "/backchannel-logout",
        post(move |headers: axum::http::HeaderMap, body: String| {
            let (store, refused_once) = (store.clone(), refused_once.clone());
            async move {
                assert_eq!(headers["content-type"], "application/x-www-form-urlencoded");
                if !refused_once.swap(true, std::sync::atomic::Ordering::SeqCst) {
                    return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                }
                let token = url::form_urlencoded::parse(body.as_bytes())
                    .find(|(k, _)| k == "logout_token")
                    .map(|(_, v)| v.into_owned())
                    .expect("a logout_token");
                store.lock().unwrap().push(token);
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/backchannel-logout",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, got)
}

/// OpenID Connect Back-Channel Logout: when the user changes her password, every other session
/// ends, and the relying party's backend receives a logout token naming the session (`sid`)
/// and user, signed by authd and verifiable through the JWKS; a failed delivery is retried,
/// and a delivered one is not repeated.
async fn backchannel_logout(backend: Backend) {
    use authd::oauth::client::{ClientType, GrantType, NewClient};
    let app = spawn_app(backend).await;
    let user_id = app.verified_user("bcl@example.com").await;
    let (receiver, received) = logout_receiver().await;
    let rp = app
        .register_client(NewClient {
            name: "backend with sessions".into(),
            client_type: ClientType::Confidential,
            redirect_uris: vec![CB.into()],
            grant_types: vec![GrantType::AuthorizationCode],
            scopes: vec!["openid".into()],
            first_party: true,
            can_introspect: false,
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: Some(receiver.clone()),
            require_mfa: false,
            id_token_alg: None,
            require_dpop: false,
        })
        .await;
    let discovery = app.get("/.well-known/openid-configuration", None).await;
    assert_eq!(discovery.json["backchannel_logout_supported"], true);
    assert_eq!(discovery.json["backchannel_logout_session_supported"], true);

    let browser = browser();
    let url = authorize_url(&app, &rp.id, CB, &[("scope", "openid")]);
    let code = code_after_sign_in(&app, &browser, &url, "bcl@example.com").await;
    let secret = rp.secret.clone().unwrap();
    let tokens = exchange(&app, &rp.id, &code, None, Some((&rp.id, &secret)))
        .await
        .expect(200)
        .clone();
    let id_claims = claims(s(&tokens["id_token"]));

    // A session of the account API ends too, but its client has no logout URI: no notice.
    let own = app.login("bcl@example.com", Some("laptop")).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(received.lock().unwrap().is_empty(), "nothing ended yet");
    app.post_auth(
        "/api/users/me/password",
        s(&own["access_token"]),
        serde_json::json!({"current_password": PASSWORD, "new_password": "next-pass-42"}),
    )
    .await
    .expect(200);

    let mut waited = 0;
    while received.lock().unwrap().is_empty() {
        assert!(waited < 100, "no logout token within 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    let token = received.lock().unwrap()[0].clone();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(app.get("/.well-known/jwks.json", None).await.json).unwrap();
    let key =
        jsonwebtoken::DecodingKey::from_jwk(jwks.find(header.kid.as_deref().unwrap()).unwrap())
            .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[crate::harness::ISSUER]);
    validation.set_audience(&[rp.id.as_str()]);
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["iss", "aud", "iat", "exp"]);
    let logout = jsonwebtoken::decode::<Value>(&token, &key, &validation)
        .expect("a logout token signed by authd")
        .claims;
    assert_eq!(logout["sid"], id_claims["sid"], "names the ended session");
    assert_eq!(s(&logout["sub"]), user_id);
    assert_eq!(logout["sub"], id_claims["sub"]);
    assert!(logout["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(logout.get("nonce").is_none(), "a logout token has no nonce");
    assert!(logout["jti"].is_string());
    assert!(logout["exp"].as_i64().unwrap() - logout["iat"].as_i64().unwrap() <= 120);

    // Delivered once: not sent again.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(received.lock().unwrap().len(), 1);
    app.get("/oauth/userinfo", Some(s(&tokens["access_token"])))
        .await
        .expect(401);

    // Deleting the account takes its sessions' rows with it; the relying party still hears.
    // (The password change signed the browser out of authd too.)
    let html = browser
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let signed_in = submit(
        &app,
        &browser,
        &html,
        &[
            ("action", "login"),
            ("username", "bcl@example.com"),
            ("password", "next-pass-42"),
        ],
    )
    .await;
    let code = query(&location(&signed_in), "code").unwrap();
    let second = exchange(&app, &rp.id, &code, None, Some((&rp.id, &secret)))
        .await
        .expect(200)
        .clone();
    let second_sid = claims(s(&second["id_token"]))["sid"].clone();
    let me = app
        .post(
            "/api/auth/login",
            serde_json::json!({"email": "bcl@example.com", "password": "next-pass-42"}),
        )
        .await
        .expect(200)
        .clone();
    app.send(
        reqwest::Method::DELETE,
        "/api/users/me",
        Some(s(&me["access_token"])),
        Some(serde_json::json!({"password": "next-pass-42"})),
    )
    .await
    .expect(204);
    let mut waited = 0;
    while received.lock().unwrap().len() < 2 {
        assert!(
            waited < 100,
            "no logout token for the deleted user's session"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    let deleted = jsonwebtoken::decode::<Value>(&received.lock().unwrap()[1], &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(deleted["sid"], second_sid);
    assert_eq!(s(&deleted["sub"]), user_id);
}
