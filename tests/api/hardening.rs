//! Hardening, round three, each item written as the attack (or the person's retry): a client
//! that never reads, one address holding every connection, guesses spread over many addresses
//! to lock the owner out, redirect URIs that run script or are spelled two ways, refresh
//! tokens nobody consented to, a mail bomb, a body trickled in, a benign sign-up retry, and a
//! mail scanner opening the verification link.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::authorize::{
    CB, authorize_url, browser, code_after_sign_in, exchange, form_fields, location, query,
};
use crate::both_backends;
use crate::harness::{Backend, PASSWORD, TestApp, s, spawn_app, spawn_app_with};

both_backends!(
    a_client_that_never_reads_loses_its_connection,
    one_address_cannot_hold_every_connection,
    guesses_from_many_addresses_never_lock_the_owner_out,
    redirect_uris_are_safe_and_canonical,
    third_party_refresh_tokens_need_offline_access,
    one_address_gets_only_so_many_emails,
    a_trickled_body_gets_408_at_its_deadline,
    a_sign_up_retried_with_the_same_password_keeps_it,
    a_mail_scanner_opening_the_link_confirms_nothing,
);

fn socket_addr(app: &TestApp) -> SocketAddr {
    app.base.trim_start_matches("http://").parse().unwrap()
}

/// A connection to the app from `from` (another loopback address: a client of its own).
async fn connect_from(app: &TestApp, from: &str, recv_buffer: Option<u32>) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    if let Some(size) = recv_buffer {
        socket.set_recv_buffer_size(size).unwrap();
    }
    socket
        .bind(SocketAddr::new(from.parse().unwrap(), 0))
        .unwrap();
    socket.connect(socket_addr(app)).await.unwrap()
}

/// One request on a fresh connection from `from`: the status line's code.
async fn status_from(app: &TestApp, from: &str) -> u16 {
    let mut s = connect_from(app, from, None).await;
    let _ = s
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut answer)).await;
    let head = String::from_utf8_lossy(&answer);
    head.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// A client pipelines requests and never reads an answer: once its answers back up for the
/// write deadline, its connections are cut, and everyone else is served again.
async fn a_client_that_never_reads_loses_its_connection(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("AUTHD_MAX_CONNECTIONS", "4"),
            ("AUTHD_MAX_CONNECTIONS_PER_ADDRESS", "4"),
            ("AUTHD_REQUEST_TIMEOUT", "2s"),
            ("AUTHD_HEADER_READ_TIMEOUT", "30s"),
        ],
    )
    .await;
    let request = "GET /openapi.json HTTP/1.1\r\nhost: x\r\n\r\n".repeat(400);
    let mut hogs = Vec::new();
    for _ in 0..4 {
        let mut s = connect_from(&app, "127.0.0.2", Some(4096)).await;
        // Written from a task: the server stops reading once its answers back up.
        let request = request.clone();
        let writer = tokio::spawn(async move {
            let _ = s.write_all(request.as_bytes()).await;
            s
        });
        hogs.push(writer);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        status_from(&app, "127.0.0.3").await,
        503,
        "every slot is held"
    );
    // Past the write deadline, with some slack for a loaded machine.
    let started = Instant::now();
    let mut status = 0;
    while started.elapsed() < Duration::from_secs(20) {
        status = status_from(&app, "127.0.0.3").await;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(status, 200, "the slots came back");
    for hog in hogs {
        hog.abort();
    }
}

/// Idle connections from one address, reopened as they close, cannot take every slot: past its
/// share, that address is answered 503 while others are served.
async fn one_address_cannot_hold_every_connection(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("AUTHD_MAX_CONNECTIONS", "8"),
            ("AUTHD_MAX_CONNECTIONS_PER_ADDRESS", "2"),
            ("AUTHD_HEADER_READ_TIMEOUT", "30s"),
        ],
    )
    .await;
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(connect_from(&app, "127.0.0.2", None).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(status_from(&app, "127.0.0.2").await, 503, "past its share");
    let mut served = 0;
    for n in 3..30 {
        if status_from(&app, &format!("127.0.0.{n}")).await == 200 {
            served += 1;
        }
    }
    assert_eq!(served, 27, "everyone else is served");
    drop(held);
}

async fn login_from(app: &TestApp, ip: &str, password: &str) -> u16 {
    app.client
        .post(app.url("/api/auth/login"))
        .header("x-forwarded-for", ip)
        .json(&json!({"email": "owner@example.com", "password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Wrong guesses spread over 10, 50 and 500 addresses spend the account's overall budget; the
/// owner, with the right password from an address that has not guessed wrong, still signs in.
async fn guesses_from_many_addresses_never_lock_the_owner_out(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("AUTHD_RATE_LIMIT", "2"),
            ("AUTHD_TRUST_FORWARDED_FOR", "true"),
        ],
    )
    .await;
    app.verified_user("owner@example.com").await;
    for (round, spread) in [10usize, 50, 500].into_iter().enumerate() {
        // Each round in a new window of its own.
        app.advance(Duration::from_secs(11 * 60));
        let mut refused = 0;
        for n in 0..spread {
            let ip = format!("10.{round}.{}.{}", n / 250, n % 250 + 1);
            // Two guesses each: the address's own budget.
            for g in 0..2 {
                if login_from(&app, &ip, &format!("guess-{n}-{g}-x")).await == 429 {
                    refused += 1;
                }
            }
        }
        if spread >= 50 {
            assert!(refused > 0, "{spread} addresses spent the account's budget");
        }
        let owner = format!("192.0.2.{}", round + 1);
        assert_eq!(
            login_from(&app, &owner, PASSWORD).await,
            200,
            "the owner signs in after guesses from {spread} addresses"
        );
    }
    // An address that guessed wrong is done with the account for the window, right password
    // or not; the hashes it can cost stay bounded.
    app.advance(Duration::from_secs(11 * 60));
    for n in 0..30 {
        login_from(&app, &format!("10.9.0.{}", n + 1), "guess-x-1").await;
    }
    assert_eq!(login_from(&app, "10.9.0.1", "guess-x-2").await, 429);
    assert_eq!(login_from(&app, "10.9.0.1", PASSWORD).await, 429);
}

/// `javascript:`, `data:`, `file:` and `vbscript:` never become redirect URIs, and a URI
/// registered in another spelling is stored in its canonical form, so the browser goes where
/// it was registered and the token endpoint accepts the spelling the client uses.
async fn redirect_uris_are_safe_and_canonical(backend: Backend) {
    use authd::oauth::client::{ClientType, GrantType, NewClient};
    let app = spawn_app(backend).await;
    app.verified_user("canon@example.com").await;
    let new = |uri: &str| NewClient {
        name: "app".into(),
        client_type: ClientType::Confidential,
        redirect_uris: vec![uri.into()],
        grant_types: vec![GrantType::AuthorizationCode],
        scopes: vec!["openid".into()],
        first_party: true,
        can_introspect: false,
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        require_mfa: false,
        id_token_alg: None,
        require_dpop: false,
    };
    for bad in [
        "javascript:alert(document.cookie)//",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "vbscript:msgbox(1)",
        "myapp:/cb",
    ] {
        assert!(
            new(bad).into_row(app.state.clock.now_naive()).is_err(),
            "{bad}"
        );
    }
    let spelled = "http://LOCALHOST:80/a/../cb";
    let client = app.register_client(new(spelled)).await;
    let row = authd::storage::clients::find_client(&app.state.db, &client.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.redirect_uris, "http://localhost/cb");
    let url = authorize_url(&app, &client.id, spelled, &[("scope", "openid")]);
    let browser = browser();
    let page = browser
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("name=\"password\""), "{page}");
    let back = crate::authorize::log_in(&app, &browser, &page, "canon@example.com").await;
    let to = location(&back);
    assert_eq!(
        format!("{}://{}{}", to.scheme(), to.host_str().unwrap(), to.path()),
        "http://localhost/cb"
    );
    let code = query(&to, "code").unwrap();
    let tokens = app
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", spelled),
            ],
            Some((&client.id, client.secret.as_deref().unwrap())),
        )
        .await;
    tokens.expect(200);
}

/// A third-party client gets a refresh token only when it asked for `offline_access` and the
/// consent page said "stay signed in"; first-party clients as before.
async fn third_party_refresh_tokens_need_offline_access(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("offline@example.com").await;
    let partner = app
        .client(
            "confidential",
            &["authorization_code", "refresh_token"],
            &["openid", "profile", "offline_access"],
            &[CB],
        )
        .await;
    let secret = partner.secret.clone().unwrap();
    let browser = browser();
    let tokens_for = |scope: &'static str| {
        let (app, partner, browser, secret) = (&app, &partner, &browser, &secret);
        async move {
            let url = authorize_url(app, &partner.id, CB, &[("scope", scope)]);
            let page = browser.get(&url).send().await.unwrap();
            let page = page.text().await.unwrap();
            let consent = if page.contains("name=\"password\"") {
                crate::authorize::log_in(app, browser, &page, "offline@example.com")
                    .await
                    .text()
                    .await
                    .unwrap()
            } else {
                page
            };
            assert!(consent.contains("value=\"approve\""), "{consent}");
            let says_offline = consent.contains("Stay signed in");
            let r =
                crate::authorize::submit(app, browser, &consent, &[("action", "approve")]).await;
            let code = query(&location(&r), "code").unwrap();
            let tokens = exchange(app, &partner.id, &code, None, Some((&partner.id, secret)))
                .await
                .expect(200)
                .clone();
            (tokens, says_offline)
        }
    };
    let (tokens, said) = tokens_for("openid profile").await;
    assert!(!said);
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
    let (tokens, said) = tokens_for("openid profile offline_access").await;
    assert!(said, "the consent page said so");
    let refresh = s(&tokens["refresh_token"]).to_owned();
    // A refresh that narrows the access token still rotates the refresh token.
    let narrowed = app
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("scope", "openid"),
            ],
            Some((&partner.id, &secret)),
        )
        .await;
    assert!(narrowed.expect(200)["refresh_token"].is_string());
    // First-party clients, as before.
    let own = app
        .client_with(
            "confidential",
            &["authorization_code", "refresh_token"],
            &["openid"],
            &[CB],
            true,
        )
        .await;
    let url = authorize_url(&app, &own.id, CB, &[("scope", "openid")]);
    let code = code_after_sign_in(
        &app,
        &crate::authorize::browser(),
        &url,
        "offline@example.com",
    )
    .await;
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
    assert!(tokens["refresh_token"].is_string());
    let discovery = app.get("/.well-known/openid-configuration", None).await;
    assert!(
        discovery.expect(200)["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("offline_access"))
    );
}

/// Twenty forgot-password requests for one address, from twenty client addresses: a handful of
/// emails, not twenty; and the answer is the same for an address nobody has.
async fn one_address_gets_only_so_many_emails(backend: Backend) {
    let app = spawn_app_with(backend, &[("AUTHD_TRUST_FORWARDED_FOR", "true")]).await;
    app.verified_user("bombed@example.com").await;
    // A 503 (the one SQLite writer busy past its wait on a loaded machine) is an outage, not
    // an answer: a client tries again, as this one does, a few times.
    let ask = |email: &'static str, n: usize| {
        let app = &app;
        async move {
            for _ in 0..5 {
                let r = app
                    .client
                    .post(app.url("/api/auth/forgot-password"))
                    .header("x-forwarded-for", format!("198.51.100.{}", n + 1))
                    .json(&json!({"email": email}))
                    .send()
                    .await
                    .unwrap();
                if r.status().as_u16() != 503 {
                    return (r.status().as_u16(), r.text().await.unwrap());
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            panic!("503 five times in a row");
        }
    };
    let mut answers = std::collections::HashSet::new();
    for n in 0..20 {
        answers.insert(ask("bombed@example.com", n).await);
        answers.insert(ask("nobody@example.com", n).await);
    }
    assert_eq!(answers.len(), 1, "one answer for all: {answers:?}");
    // The verification email of the sign-up, then at most five resets.
    app.smtp.wait_for("bombed@example.com", 6).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(app.smtp.for_recipient("bombed@example.com").len(), 6);
    // The link sent last still works.
    let link = app
        .smtp
        .for_recipient("bombed@example.com")
        .pop()
        .unwrap()
        .token();
    app.post(
        "/api/auth/reset-password",
        json!({"token": link, "new_password": "a-new-pass-42"}),
    )
    .await
    .expect(200);
}

/// A body trickled in a byte at a time is cut at the body deadline with 408, not left to run
/// until the request timeout.
async fn a_trickled_body_gets_408_at_its_deadline(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("AUTHD_BODY_READ_TIMEOUT", "2s"),
            ("AUTHD_REQUEST_TIMEOUT", "20s"),
        ],
    )
    .await;
    let mut s = TcpStream::connect(socket_addr(&app)).await.unwrap();
    s.write_all(
        b"POST /api/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
          content-length: 64\r\n\r\n",
    )
    .await
    .unwrap();
    let started = Instant::now();
    let trickle = tokio::spawn(async move {
        for _ in 0..60 {
            if s.write_all(b" ").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        s
    });
    // The answer arrives on the same socket; read it once the trickle task gives it back or
    // the server answered (the write then fails).
    let mut s = trickle.await.unwrap();
    let mut answer = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut answer))
        .await
        .unwrap_or(Ok(0))
        .unwrap_or(0);
    let head = String::from_utf8_lossy(&answer[..n]);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(
        started.elapsed() < Duration::from_secs(19),
        "before the request timeout"
    );
}

/// Seed 001: a person signs up, does not see the email, signs up again with the same password,
/// and follows the newest link: she can log in with that password.
async fn a_sign_up_retried_with_the_same_password_keeps_it(backend: Backend) {
    let app = spawn_app(backend).await;
    for _ in 0..2 {
        app.post(
            "/api/auth/register",
            json!({"email": "retry@example.com", "password": PASSWORD}),
        )
        .await
        .expect(201);
    }
    let token = app.smtp.wait_for("retry@example.com", 2).await.token();
    let verified = app
        .post("/api/auth/verify-email", json!({"token": token}))
        .await;
    assert!(verified.expect(200).get("password_required").is_none());
    app.login("retry@example.com", None).await;
    // With another password in between, the address is contested as before.
    for password in [PASSWORD, "another-pass-9", PASSWORD] {
        app.post(
            "/api/auth/register",
            json!({"email": "contest@example.com", "password": password}),
        )
        .await
        .expect(201);
    }
    let token = app.smtp.wait_for("contest@example.com", 3).await.token();
    let verified = app
        .post("/api/auth/verify-email", json!({"token": token}))
        .await;
    assert_eq!(verified.expect(200)["password_required"], json!(true));
}

/// A scanner that opens links (Outlook Safe Links and the like) completes nobody's sign-up: in
/// a browser the link shows a page whose button confirms. A JSON client's GET still does.
async fn a_mail_scanner_opening_the_link_confirms_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    // The attacker's only sign-up of the victim's address, with his password.
    app.post(
        "/api/auth/register",
        json!({"email": "victim@example.com", "password": "attackers-pass-1"}),
    )
    .await
    .expect(201);
    let link = app.smtp.wait_for("victim@example.com", 1).await.link();
    let link = link.replace(crate::harness::ISSUER, &app.base);
    let scanner = reqwest::Client::new();
    let page = scanner
        .get(&link)
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("action=\"/account/verify\""), "{page}");
    let attacker = app
        .post(
            "/api/auth/login",
            json!({"email": "victim@example.com", "password": "attackers-pass-1"}),
        )
        .await;
    assert_eq!(attacker.status, 403, "not verified: {}", attacker.text);

    // The person presses the button: confirmed.
    let person = crate::authorize::browser();
    let page = person
        .get(&link)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let done = person
        .post(app.url("/account/verify"))
        .form(&form_fields(&page))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status().as_u16(), 200);
    assert!(done.text().await.unwrap().contains("Email confirmed"));

    // A JSON client's GET, as the contract's frontends do.
    app.register("json@example.com").await;
    let token = app.smtp.wait_for("json@example.com", 1).await.token();
    app.get(&format!("/api/auth/verify?token={token}"), None)
        .await
        .expect(200);
}
