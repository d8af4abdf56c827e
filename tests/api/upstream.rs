//! Sign-in through another provider, against providers authd does not control: a second
//! authd (at `localhost`, so the two keep their cookies apart), node-oidc-provider, a GitHub
//! look-alike, and an upstream that lies. The person is a cookie-keeping HTTP client following
//! the redirects one by one; the linking rules are tested as the attacks they stop.

use serde_json::{Value, json};

use crate::authorize::form_fields;
use crate::both_backends;
use crate::harness::{Backend, PASSWORD, TestApp, TestClient, s, spawn_app_with};

both_backends!(
    an_authd_upstream_signs_people_in,
    an_upstream_asserting_someones_email_does_not_take_her_account,
    a_pending_sign_up_is_not_claimed_by_an_upstream_identity,
    refusals_end_on_pages_with_a_way_back,
);

pub const CB: &str = "http://127.0.0.1:9/rp";
const FRONTEND: &str = "http://127.0.0.1:9/app";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An authd serving at `http://{host}:{port}` (bound on 127.0.0.1): its base URL as
/// browsers use it.
pub async fn authd_at(
    backend: Backend,
    host: &str,
    port: u16,
    extra: &[(&str, &str)],
) -> (TestApp, String) {
    let base = format!("http://{host}:{port}");
    let bind = format!("127.0.0.1:{port}");
    let mut settings = vec![
        ("AUTHD_BIND", bind.as_str()),
        ("AUTHD_ISSUER", base.as_str()),
    ];
    settings.extend_from_slice(extra);
    (spawn_app_with(backend, &settings).await, base)
}

/// A person's browser: keeps cookies per host, follows nothing by itself.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Follows redirects from `url` (relative ones against the page's origin) until a page
/// answers or the next address starts with `stop`; returns that response and its address.
pub async fn follow(
    browser: &reqwest::Client,
    url: &str,
    stop: &str,
) -> (reqwest::Response, String) {
    let mut at = url.to_owned();
    for _ in 0..10 {
        let r = browser.get(&at).send().await.unwrap();
        if !r.status().is_redirection() {
            return (r, at);
        }
        let next = url::Url::parse(&at)
            .unwrap()
            .join(&location(&r))
            .unwrap()
            .to_string();
        if next.starts_with(stop) {
            return (r, next);
        }
        at = next;
    }
    panic!("too many redirects from {url}");
}

/// Posts the page's form (its hidden fields and `extra`) to `action` on `base`.
pub async fn post_form(
    browser: &reqwest::Client,
    base: &str,
    action: &str,
    page: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = form_fields(page);
    for (k, _) in extra {
        form.retain(|(key, _)| key != k);
    }
    form.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    browser
        .post(format!("{base}{action}"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// The upstream authd and the authd that uses it ("u"); `settings` go to the latter.
pub struct Pair {
    pub upstream: TestApp,
    pub upstream_base: String,
    pub app: TestApp,
    pub base: String,
    /// A first-party client of `app`, redirecting to [`CB`].
    pub rp: TestClient,
}

pub async fn pair(
    backend: Backend,
    upstream_settings: &[(&str, &str)],
    settings: &[(&str, &str)],
) -> Pair {
    let (upstream, upstream_base) =
        authd_at(Backend::Sqlite, "localhost", free_port(), upstream_settings).await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let callback = format!("{base}/oauth/upstream/u/callback");
    let client = upstream
        .client_with(
            "confidential",
            &["authorization_code"],
            &["openid", "email", "profile"],
            &[callback.as_str()],
            true,
        )
        .await;
    let secret = client.secret.clone().unwrap();
    let mut all = vec![
        ("AUTHD_UPSTREAM_PROVIDERS", "u"),
        ("AUTHD_UPSTREAM_U_ISSUER", upstream_base.as_str()),
        ("AUTHD_UPSTREAM_U_NAME", "Upstream"),
        ("AUTHD_UPSTREAM_U_CLIENT_ID", client.id.as_str()),
        ("AUTHD_UPSTREAM_U_CLIENT_SECRET", secret.as_str()),
        ("AUTHD_FRONTEND_URL", FRONTEND),
    ];
    for (k, v) in settings {
        all.retain(|(key, _)| key != k);
        all.push((k, v));
    }
    let (app, base) = authd_at(backend, "127.0.0.1", port, &all).await;
    let rp = app
        .client_with(
            "confidential",
            &["authorization_code"],
            &["openid", "email"],
            &[CB],
            true,
        )
        .await;
    Pair {
        upstream,
        upstream_base,
        app,
        base,
        rp,
    }
}

impl Pair {
    fn authorize_url(&self) -> String {
        let mut url = url::Url::parse(&format!("{}/oauth/authorize", self.base)).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.rp.id)
            .append_pair("redirect_uri", CB)
            .append_pair("scope", "openid email")
            .append_pair("state", "st");
        url.to_string()
    }

    /// From the relying party's authorization request, "Continue with Upstream", signing in
    /// at the upstream as `email` (unless already signed in there): where the browser lands
    /// back at authd, after its callback.
    async fn continue_with_upstream(
        &self,
        browser: &reqwest::Client,
        email: &str,
    ) -> (reqwest::Response, String) {
        let (page, _) = follow(browser, &self.authorize_url(), CB).await;
        let page = page
            .text()
            .await
            .unwrap()
            .replace("&#x2f;", "/")
            .replace("&#x3d;", "=");
        let start = page
            .split("href=\"")
            .filter_map(|c| c.split('"').next())
            .find(|h| h.starts_with("/oauth/upstream/u/start"))
            .unwrap_or_else(|| panic!("a Continue with button: {page}"))
            .replace("&amp;", "&");
        self.through_upstream(browser, &format!("{}{start}", self.base), email)
            .await
    }

    /// From a start address: the upstream's sign-in (if it asks), back to authd's callback,
    /// and on until a page answers or the browser reaches the relying party or frontend.
    async fn through_upstream(
        &self,
        browser: &reqwest::Client,
        start: &str,
        email: &str,
    ) -> (reqwest::Response, String) {
        let (r, at) = follow(browser, start, "http://127.0.0.1:9/").await;
        if !at.starts_with(&self.upstream_base) || r.status() != 200 {
            return (r, at);
        }
        // The upstream's own sign-in page.
        let page = r.text().await.unwrap();
        assert!(page.contains("name=\"password\""), "{page}");
        let r = post_form(
            browser,
            &self.upstream_base,
            "/oauth/authorize",
            &page,
            &[
                ("action", "login"),
                ("username", email),
                ("password", PASSWORD),
            ],
        )
        .await;
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
        let next = location(&r);
        follow(browser, &next, "http://127.0.0.1:9/").await
    }

    /// Redeems the code the relying party got: the ID token's claims.
    async fn redeem(&self, at: &str) -> Value {
        let url = url::Url::parse(at).unwrap();
        let code = url
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("a code at {at}"));
        let tokens = self
            .app
            .token(
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", CB),
                ],
                Some((&self.rp.id, self.rp.secret.as_deref().unwrap())),
            )
            .await;
        crate::authorize::claims(s(&tokens.expect(200)["id_token"]))
    }
}

async fn an_authd_upstream_signs_people_in(backend: Backend) {
    let p = pair(backend, &[], &[]).await;
    let upstream_id = p.upstream.verified_user("nia@example.com").await;
    let browser = browser();

    // A new person: an account made from the upstream's verified email, signed in.
    let (_, at) = p.continue_with_upstream(&browser, "nia@example.com").await;
    assert!(at.starts_with(CB), "at {at}");
    let claims = p.redeem(&at).await;
    assert_eq!(claims["email"], json!("nia@example.com"));
    assert_eq!(claims["amr"], json!(["fed"]));
    assert_eq!(claims["acr"], json!("aal1"));
    let sub = claims["sub"].clone();
    let trail = crate::audit::trail(&p.app, s(&sub)).await;
    assert_eq!(trail[0].0, "sign_up");
    assert_eq!(trail[0].2["provider"], "u");
    assert_eq!(trail[1].0, "sign_in.succeeded");
    assert_eq!(trail[1].2["amr"], "fed");
    assert_ne!(
        sub,
        json!(upstream_id),
        "authd's own id, not the upstream's"
    );
    let welcome = p.app.smtp.for_recipient("nia@example.com");
    assert!(
        welcome.is_empty(),
        "no verification email: the upstream vouched"
    );
    // No password: the password login fails like any wrong password.
    let r = p
        .app
        .post(
            "/api/auth/login",
            json!({"email": "nia@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 401);

    // Again in a fresh browser: the same account, through the linked identity.
    let other = self::browser();
    let (_, at) = p.continue_with_upstream(&other, "nia@example.com").await;
    assert_eq!(p.redeem(&at).await["sub"], sub);

    // A frontend's button: back to it with a one-time code, exchanged for tokens.
    let start = format!(
        "{}/api/auth/upstream/u/start?redirect_to={}",
        p.base,
        url::form_urlencoded::byte_serialize(format!("{FRONTEND}/done").as_bytes())
            .collect::<String>()
    );
    let (_, at) = p.through_upstream(&other, &start, "nia@example.com").await;
    assert!(
        at.starts_with(&format!("{FRONTEND}/done?upstream_code=")),
        "{at}"
    );
    let code = at.split("upstream_code=").nth(1).unwrap().to_owned();
    let tokens = p
        .app
        .post("/api/auth/upstream/exchange", json!({"code": code}))
        .await;
    let tokens = tokens.expect(200).clone();
    let again = p
        .app
        .post("/api/auth/upstream/exchange", json!({"code": code}))
        .await;
    assert_eq!(again.status, 400, "a code works once");
    let access = s(&tokens["access_token"]).to_owned();
    let listed = p.app.get("/api/users/me/identities", Some(&access)).await;
    let listed = listed.expect(200).clone();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["provider"], "u");
    assert_eq!(listed[0]["provider_name"], "Upstream");
    assert_eq!(listed[0]["email"], "nia@example.com");
    assert_eq!(listed[0]["email_verified"], true);
    // Its only way in cannot be unlinked.
    let id = s(&listed[0]["id"]).to_owned();
    let r = p
        .app
        .send(
            reqwest::Method::DELETE,
            &format!("/api/users/me/identities/{id}"),
            Some(&access),
            None,
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    let providers = p.app.get("/api/auth/upstream", None).await;
    assert_eq!(providers.expect(200)[0]["name"], "Upstream");
    // A redirect_to elsewhere is refused before anything starts.
    let r = browser
        .get(format!(
            "{}/api/auth/upstream/u/start?redirect_to=https://evil.example/",
            p.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.text().await.unwrap().contains("<html"),
        "a page, not JSON"
    );
}

/// The attacker controls an upstream account asserting the victim's address as verified.
/// authd does not link it: it asks for the account's password (he fails), or mails the
/// victim a link that works only in his browser (she never gives it to him). When the victim
/// herself does it, with her password, it links.
async fn an_upstream_asserting_someones_email_does_not_take_her_account(backend: Backend) {
    let p = pair(backend, &[], &[]).await;
    p.app.verified_user("vic@example.com").await;
    p.upstream.verified_user("vic@example.com").await;
    let attacker = browser();
    let (r, at) = p.continue_with_upstream(&attacker, "vic@example.com").await;
    assert!(at.contains("/oauth/upstream/u/callback"), "{at}");
    let page = r.text().await.unwrap();
    assert!(page.contains("already uses"), "{page}");
    let wrong = post_form(
        &attacker,
        &p.base,
        "/account/link",
        &page,
        &[("password", "not-hers-1")],
    )
    .await;
    assert_eq!(wrong.status(), 401);
    let page = wrong.text().await.unwrap();
    assert!(page.contains("That password is not right"), "{page}");
    // The mailed link, opened by the victim in her own browser, links nothing.
    let mailed = post_form(&attacker, &p.base, "/account/link/email", &page, &[]).await;
    assert_eq!(mailed.status(), 200);
    let email = p.app.smtp.wait_for("vic@example.com", 2).await;
    let link = email.link();
    let victim = browser();
    let confirm = victim.get(&link).send().await.unwrap();
    let confirm = confirm.text().await.unwrap();
    let r = post_form(&victim, &p.base, "/account/link/confirm", &confirm, &[]).await;
    assert_eq!(r.status(), 400, "another browser");
    // And the attacker's browser has neither the link nor a sign-in.
    let (r, at) = follow(&attacker, &p.authorize_url(), CB).await;
    assert!(!at.starts_with(CB), "not signed in");
    drop(r);
    let tokens = p.app.login("vic@example.com", None).await;
    let access = s(&tokens["access_token"]).to_owned();
    let listed = p.app.get("/api/users/me/identities", Some(&access)).await;
    assert_eq!(listed.expect(200), &json!([]), "nothing linked");

    // The victim herself: her password links it, and she is signed in (fed + pwd: aal1).
    let (r, _) = p.continue_with_upstream(&victim, "vic@example.com").await;
    let page = r.text().await.unwrap();
    let r = post_form(
        &victim,
        &p.base,
        "/account/link",
        &page,
        &[("password", PASSWORD)],
    )
    .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let (_, at) = follow(&victim, &format!("{}{}", p.base, location(&r)), CB).await;
    let claims = p.redeem(&at).await;
    assert_eq!(claims["email"], json!("vic@example.com"));
    assert_eq!(claims["amr"], json!(["pwd", "fed"]));
    assert_eq!(claims["acr"], json!("aal1"));
    let listed = p.app.get("/api/users/me/identities", Some(&access)).await;
    assert_eq!(listed.expect(200).as_array().unwrap().len(), 1);
    let notice = p.app.smtp.wait_for("vic@example.com", 3).await;
    assert!(
        notice.subject().contains("Upstream can now sign in"),
        "{}",
        notice.subject()
    );
}

/// The attacker signs up locally with the victim's address (pending: he cannot verify it);
/// the victim later continues with an upstream that vouches for the address. Her account is
/// made without his password, and his verification link is void.
async fn a_pending_sign_up_is_not_claimed_by_an_upstream_identity(backend: Backend) {
    let p = pair(backend, &[], &[]).await;
    p.app
        .post(
            "/api/auth/register",
            json!({"email": "eve@example.com", "password": "attackers-pw-1"}),
        )
        .await
        .expect(201);
    let link = p.app.smtp.wait_for("eve@example.com", 1).await.token();
    p.upstream.verified_user("eve@example.com").await;
    let (_, at) = p
        .continue_with_upstream(&browser(), "eve@example.com")
        .await;
    assert_eq!(p.redeem(&at).await["email"], json!("eve@example.com"));
    let r = p
        .app
        .post(
            "/api/auth/login",
            json!({"email": "eve@example.com", "password": "attackers-pw-1"}),
        )
        .await;
    assert_eq!(r.status, 401, "the attacker's password is not hers");
    let r = p
        .app
        .post("/api/auth/verify-email", json!({"token": link}))
        .await;
    assert_eq!(r.status, 400, "his link is void: {}", r.text);
}

async fn refusals_end_on_pages_with_a_way_back(backend: Backend) {
    // An upstream that signs in unverified addresses, an authd that may not create accounts
    // through it, or only for one domain.
    let p = pair(
        backend,
        &[("AUTHD_REQUIRE_EMAIL_VERIFICATION", "false")],
        &[],
    )
    .await;
    p.upstream
        .post(
            "/api/auth/register",
            json!({"email": "unv@example.com", "password": PASSWORD}),
        )
        .await
        .expect(201);
    let (r, _) = p
        .continue_with_upstream(&browser(), "unv@example.com")
        .await;
    assert_eq!(r.status(), 403);
    let page = r.text().await.unwrap();
    assert!(page.contains("did not confirm an email address"), "{page}");
    assert!(
        page.contains("href=\"&#x2f;oauth&#x2f;authorize?"),
        "a way back: {page}"
    );

    let p = pair(
        backend,
        &[],
        &[("AUTHD_UPSTREAM_U_EMAIL_DOMAINS", "example.com")],
    )
    .await;
    p.upstream.verified_user("out@elsewhere.example").await;
    let (r, _) = p
        .continue_with_upstream(&browser(), "out@elsewhere.example")
        .await;
    assert_eq!(r.status(), 403);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("may not sign in addresses at elsewhere.example")
    );
    // The same refusal for a frontend's button: back at the frontend, saying why.
    let start = format!(
        "{}/api/auth/upstream/u/start?redirect_to={FRONTEND}%2Fdone",
        p.base
    );
    let (_, at) = p
        .through_upstream(&browser(), &start, "out@elsewhere.example")
        .await;
    let at = url::Url::parse(&at).unwrap();
    assert!(
        at.as_str().starts_with(&format!("{FRONTEND}/done?")),
        "{at}"
    );
    let said: std::collections::HashMap<_, _> = at.query_pairs().into_owned().collect();
    assert_eq!(said["upstream_error"], "access_denied", "{at}");
    assert!(
        said["error_description"].contains("elsewhere.example"),
        "{at}"
    );
    assert!(!said.contains_key("upstream_code"));

    // The callback replayed, and another browser's state.
    p.upstream.verified_user("rep@example.com").await;
    let b = browser();
    let (page, _) = follow(&b, &p.authorize_url(), CB).await;
    drop(page);
    let start = format!(
        "{}/oauth/upstream/u/start?continue=%2Faccount%2Fsecurity",
        p.base
    );
    let (r, at) = follow(&b, &start, &format!("{}/oauth/upstream/u/callback", p.base)).await;
    assert!(
        at.starts_with(&p.upstream_base) || r.status() == 303,
        "{at}"
    );
    let page = r.text().await.unwrap();
    let r = post_form(
        &b,
        &p.upstream_base,
        "/oauth/authorize",
        &page,
        &[
            ("action", "login"),
            ("username", "rep@example.com"),
            ("password", PASSWORD),
        ],
    )
    .await;
    let callback = location(&r);
    assert!(
        callback.contains("/oauth/upstream/u/callback?"),
        "{callback}"
    );
    let stranger = browser();
    let r = stranger.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 403, "another browser's round trip");
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("started in another browser")
    );
    let r = b.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 400, "spent");
    assert!(r.text().await.unwrap().contains("expired or was finished"));

    // A provider that is not configured, and one that is down.
    let r = b
        .get(format!("{}/oauth/upstream/nope/start", p.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let down = free_port();
    let (app, base) = authd_at(
        backend,
        "127.0.0.1",
        free_port(),
        &[
            ("AUTHD_UPSTREAM_PROVIDERS", "u"),
            (
                "AUTHD_UPSTREAM_U_ISSUER",
                &format!("http://127.0.0.1:{down}"),
            ),
            ("AUTHD_UPSTREAM_U_NAME", "Down"),
            ("AUTHD_UPSTREAM_U_CLIENT_ID", "x"),
            ("AUTHD_UPSTREAM_U_CLIENT_SECRET", "y"),
            ("AUTHD_FRONTEND_URL", FRONTEND),
        ],
    )
    .await;
    let r = b
        .get(format!("{base}/oauth/upstream/u/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 424);
    let page = r.text().await.unwrap();
    assert!(page.contains("Down did not answer"), "{page}");
    // A frontend's button hears it at the frontend.
    let r = b
        .get(format!(
            "{base}/api/auth/upstream/u/start?redirect_to={FRONTEND}%2Fdone"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let at = location(&r);
    assert!(
        at.starts_with(&format!(
            "{FRONTEND}/done?upstream_error=temporarily_unavailable&"
        )),
        "{at}"
    );
    drop(app);

    // Sign-up closed through the provider.
    let closed = pair(backend, &[], &[("AUTHD_UPSTREAM_U_ALLOW_SIGNUP", "false")]).await;
    closed.upstream.verified_user("new@example.com").await;
    let (r, _) = closed
        .continue_with_upstream(&browser(), "new@example.com")
        .await;
    assert_eq!(r.status(), 403);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("No account here uses new@example.com")
    );
}

/// node-oidc-provider, unmodified, as the upstream: its own login page, the email at
/// userinfo. Needs `node` and `npm ci` in tests/conformance (CI has both).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node and `npm ci` in tests/conformance"]
async fn node_oidc_provider_signs_people_in() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    assert!(
        dir.join("node_modules/oidc-provider").exists(),
        "not installed: node-oidc-provider (npm ci in tests/conformance)"
    );
    let op_port = free_port();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let redirect = format!("{base}/oauth/upstream/op/callback");
    let mut op = tokio::process::Command::new("node")
        .current_dir(&dir)
        .args([
            "upstream_op.mjs",
            &op_port.to_string(),
            "authd",
            "op-secret-0123456789",
            &redirect,
        ])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut out = tokio::io::BufReader::new(op.stdout.take().unwrap());
    let mut line = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(20),
        tokio::io::AsyncBufReadExt::read_line(&mut out, &mut line),
    )
    .await
    .expect("the provider starts")
    .unwrap();
    assert!(line.contains("listening"), "{line}");
    let op_base = format!("http://127.0.0.1:{op_port}");
    let (app, _) = authd_at(
        Backend::Sqlite,
        "127.0.0.1",
        port,
        &[
            ("AUTHD_UPSTREAM_PROVIDERS", "op"),
            ("AUTHD_UPSTREAM_OP_ISSUER", &op_base),
            ("AUTHD_UPSTREAM_OP_NAME", "Node OP"),
            ("AUTHD_UPSTREAM_OP_CLIENT_ID", "authd"),
            ("AUTHD_UPSTREAM_OP_CLIENT_SECRET", "op-secret-0123456789"),
        ],
    )
    .await;
    let b = browser();
    let start = format!("{base}/oauth/upstream/op/start?continue=%2Faccount%2Fsecurity");
    let (r, at) = follow(&b, &start, CB).await;
    assert!(at.starts_with(&format!("{op_base}/interaction/")), "{at}");
    let page = r.text().await.unwrap();
    let action = page
        .split("action=\"")
        .nth(1)
        .and_then(|a| a.split('"').next())
        .unwrap_or_else(|| panic!("the provider's login form: {page}"))
        .to_owned();
    let r = b
        .post(url::Url::parse(&at).unwrap().join(&action).unwrap())
        .form(&[
            ("prompt", "login"),
            ("login", "pat@example.com"),
            ("password", "anything"),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let next = url::Url::parse(&op_base)
        .unwrap()
        .join(&location(&r))
        .unwrap()
        .to_string();
    let (r, at) = follow(&b, &next, CB).await;
    assert!(at.ends_with("/account/security"), "at {at}");
    let page = r.text().await.unwrap();
    assert!(page.contains("pat@example.com"), "{page}");
    let user = authd::storage::users::find_user(
        &app.state.db,
        authd::storage::users::UserKey::Email("pat@example.com"),
    )
    .await
    .unwrap()
    .expect("made");
    let identities = authd::storage::identities::list(&app.state.db, &user.id)
        .await
        .unwrap();
    let [identity] = &identities[..] else {
        panic!("one identity: {identities:?}")
    };
    assert_eq!(identity.provider, "op");
    assert_eq!(identity.email.as_deref(), Some("pat@example.com"));
    assert_eq!(user.full_name.as_deref(), Some("Person pat@example.com"));
    assert!(user.is_email_verified);
}
