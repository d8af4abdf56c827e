//! Login by every identifier, the access token as other services see it, logout.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use serde_json::{Value, json};

use crate::both_backends;
use crate::harness::{Backend, ISSUER, PASSWORD, TestApp, s, spawn_app};

both_backends!(
    login_by_email_phone_username_and_form,
    wrong_and_unknown_credentials_look_the_same,
    access_token_verifies_through_the_jwks,
    me_and_its_aliases,
    logout_ends_one_session_and_is_idempotent,
    logout_all_ends_every_session,
);

async fn login_by_email_phone_username_and_form(backend: Backend) {
    let app = spawn_app(backend).await;
    app.post(
        "/api/auth/register",
        json!({"email": "multi@example.com", "password": PASSWORD, "username": "multi", "phone": "+44 20 7946 0958"}),
    )
    .await
    .expect(201);
    let token = app.smtp.wait_for("multi@example.com", 1).await.token();
    app.post("/api/auth/verify-email", json!({"token": token}))
        .await
        .expect(200);

    for body in [
        json!({"email": "MULTI@example.com", "password": PASSWORD}),
        json!({"phone": "+442079460958", "password": PASSWORD}),
        json!({"phone_number": "+44 20 7946 0958", "password": PASSWORD}),
        json!({"username": "multi", "password": PASSWORD}),
        json!({"identifier": "multi", "password": PASSWORD}),
        json!({"identifier": "+442079460958", "password": PASSWORD}),
    ] {
        let reply = app.post("/api/auth/login", body.clone()).await;
        assert_eq!(
            s(&reply.expect(200)["user"]["phone"]),
            "+442079460958",
            "{body}"
        );
    }
    for form in [
        [("username", "multi@example.com"), ("password", PASSWORD)],
        [("username", "multi"), ("password", PASSWORD)],
    ] {
        let reply = app.post_form("/auth/login", &form).await;
        let body = reply.expect(200);
        assert_eq!(s(&body["token_type"]), "Bearer");
        assert_eq!(body["expires_in"], json!(900));
        assert_eq!(reply.header("cache-control"), Some("no-store"));
    }
}

async fn wrong_and_unknown_credentials_look_the_same(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("real@example.com").await;
    let wrong = app
        .post(
            "/api/auth/login",
            json!({"email": "real@example.com", "password": "not-it-123"}),
        )
        .await;
    let unknown = app
        .post(
            "/api/auth/login",
            json!({"email": "ghost@example.com", "password": PASSWORD}),
        )
        .await;
    let by_odd_name = app
        .post(
            "/api/auth/login",
            json!({"username": "Ünïcode ✓", "password": PASSWORD}),
        )
        .await;
    for r in [&wrong, &unknown, &by_odd_name] {
        assert_eq!(r.expect(401), &json!({"message": "Invalid credentials"}));
    }
    let missing = app
        .post("/api/auth/login", json!({"password": PASSWORD}))
        .await;
    assert!(missing.expect(400)["errors"]["email"].is_string());
    let no_password = app
        .post("/api/auth/login", json!({"email": "real@example.com"}))
        .await;
    assert!(no_password.expect(400)["errors"]["password"].is_string());
}

/// What a resource server does: fetch the JWKS, pick the key by `kid`, check RS256 and claims.
/// What a resource server does with an access token: the key its `kid` names in the JWKS,
/// with that key's algorithm (RS256 unless `AUTHD_SIGNING_ALG` says otherwise).
pub fn verify_with_jwks(jwks: &Value, token: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).expect("a JWT header");
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let set: JwkSet = serde_json::from_value(jwks.clone()).expect("a JWK set");
    let jwk = set
        .find(header.kid.as_deref().expect("a kid"))
        .expect("the kid is published");
    let alg: Algorithm = jwk
        .common
        .key_algorithm
        .map(|a| a.to_string().parse().expect("a JWS algorithm"))
        .expect("the JWK names its alg");
    assert_eq!(header.alg, alg, "the header's alg is the key's");
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[ISSUER]);
    // Tests move authd's clock forward; check `exp` against it, not the wall clock.
    validation.validate_exp = false;
    let key = DecodingKey::from_jwk(jwk).expect("a public JWK");
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("a valid token")
        .claims
}

async fn access_token_verifies_through_the_jwks(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.verified_user("jwt@example.com").await;
    let tokens = app.login("jwt@example.com", Some("laptop")).await;
    let jwks_reply = app.get("/.well-known/jwks.json", None).await;
    let claims = verify_with_jwks(jwks_reply.expect(200), s(&tokens["access_token"]));
    assert_eq!(s(&claims["iss"]), ISSUER);
    assert_eq!(s(&claims["sub"]), id);
    assert_eq!(s(&claims["client_id"]), "authd-web");
    assert_eq!(s(&claims["role"]), "CUSTOMER");
    assert_eq!(s(&claims["scope"]), "openid profile email offline_access");
    assert!(claims["jti"].is_string() && claims["sid"].is_string());
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert_eq!(exp - iat, 900);
    // The refresh token is opaque: not a JWT, 256 bits.
    assert_eq!(s(&tokens["refresh_token"]).len(), 43);
    assert!(!s(&tokens["refresh_token"]).contains('.'));
}

async fn me_and_its_aliases(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("me@example.com").await;
    let at = app.login("me@example.com", None).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let canonical = app
        .get("/api/users/me", Some(&at))
        .await
        .expect(200)
        .clone();
    assert_eq!(s(&canonical["email"]), "me@example.com");
    for path in ["/api/auth/me", "/api/user/profile", "/auth/me"] {
        assert_eq!(
            app.get(path, Some(&at)).await.expect(200),
            &canonical,
            "{path}"
        );
    }
    assert_eq!(
        app.get("/api/auth/user", Some(&at)).await.expect(200),
        &json!({"user": canonical})
    );
    let none = app.get("/api/users/me", None).await;
    none.expect(401);
    assert_eq!(none.header("www-authenticate"), Some("Bearer"));
}

async fn session_count(app: &TestApp, at: &str) -> u16 {
    app.get("/api/users/me", Some(at)).await.status
}

async fn logout_ends_one_session_and_is_idempotent(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("out@example.com").await;
    let a = app.login("out@example.com", Some("phone")).await;
    let b = app.login("out@example.com", Some("laptop")).await;

    let reply = app
        .post(
            "/api/auth/logout",
            json!({"refresh_token": a["refresh_token"]}),
        )
        .await;
    assert_eq!(
        reply.expect(200),
        &json!({"message": "Logged out successfully"})
    );
    assert_eq!(
        session_count(&app, s(&a["access_token"])).await,
        401,
        "access tokens of an ended session are refused"
    );
    app.post(
        "/api/auth/refresh",
        json!({"refresh_token": a["refresh_token"]}),
    )
    .await
    .expect(401);
    assert_eq!(
        session_count(&app, s(&b["access_token"])).await,
        200,
        "the other device stays logged in"
    );
    app.post(
        "/api/auth/logout",
        json!({"refresh_token": a["refresh_token"]}),
    )
    .await
    .expect(200);

    // Logout by Bearer alone, through the `/auth` mirror.
    app.post_auth("/auth/logout", s(&b["access_token"]), json!({}))
        .await
        .expect(200);
    assert_eq!(session_count(&app, s(&b["access_token"])).await, 401);
    app.post(
        "/api/auth/refresh",
        json!({"refresh_token": b["refresh_token"]}),
    )
    .await
    .expect(401);
    app.post("/api/auth/logout", json!({})).await.expect(400);
}

async fn logout_all_ends_every_session(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("all@example.com").await;
    app.verified_user("bystander@example.com").await;
    let sessions: Vec<Value> = futures_util::future::join_all(
        ["a", "b", "c"].map(|d| app.login("all@example.com", Some(d))),
    )
    .await;
    let other = app.login("bystander@example.com", None).await;
    let reply = app
        .post_auth(
            "/auth/logout-all",
            s(&sessions[0]["access_token"]),
            json!({}),
        )
        .await;
    assert_eq!(
        reply.expect(200),
        &json!({"message": "All sessions revoked"})
    );
    for t in &sessions {
        assert_eq!(session_count(&app, s(&t["access_token"])).await, 401);
        app.post(
            "/api/auth/refresh",
            json!({"refresh_token": t["refresh_token"]}),
        )
        .await
        .expect(401);
    }
    assert_eq!(session_count(&app, s(&other["access_token"])).await, 200);
    app.post("/api/auth/logout-all", json!({}))
        .await
        .expect(401);
}

both_backends!(rate_limits_answer_429_with_retry_after);

async fn rate_limits_answer_429_with_retry_after(backend: Backend) {
    use std::time::Duration;
    let app = crate::harness::spawn_app_with(
        backend,
        &[
            ("AUTHD_RATE_LIMIT", "3"),
            ("AUTHD_TRUST_FORWARDED_FOR", "true"),
        ],
    )
    .await;
    app.verified_user("limited@example.com").await;
    let login = |ip: &'static str, email: &'static str| {
        let req = app
            .client
            .post(app.url("/api/auth/login"))
            .header("x-forwarded-for", format!("203.0.113.9, {ip}"))
            .json(&json!({"email": email, "password": PASSWORD}));
        async move { req.send().await.unwrap() }
    };
    for _ in 0..3 {
        assert_eq!(
            login("198.51.100.1", "limited@example.com")
                .await
                .status()
                .as_u16(),
            200
        );
    }
    let limited = login("198.51.100.1", "limited@example.com").await;
    assert_eq!(limited.status().as_u16(), 429);
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body: Value = limited.json().await.unwrap();
    assert!(body["message"].is_string());
    // Another address has its own budget; right passwords spend no account budget (only
    // wrong ones do, see abuse.rs).
    assert_eq!(
        login("198.51.100.2", "someone-else@example.com")
            .await
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        login("198.51.100.2", "LIMITED@example.com")
            .await
            .status()
            .as_u16(),
        200
    );
    app.advance(Duration::from_secs(61));
    assert_eq!(
        login("198.51.100.1", "someone-else@example.com")
            .await
            .status()
            .as_u16(),
        401
    );
    app.advance(Duration::from_secs(10 * 60));
    assert_eq!(
        login("198.51.100.3", "limited@example.com")
            .await
            .status()
            .as_u16(),
        200
    );

    for _ in 0..3 {
        app.post("/api/auth/anonymous", json!({})).await.expect(201);
    }
    app.post("/api/auth/anonymous", json!({})).await.expect(429);
}
