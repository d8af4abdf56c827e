//! `POST /oauth/token`: client authentication, the password, refresh_token and
//! client_credentials grants, and RFC 6749 errors.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::both_backends;
use crate::harness::{Backend, ISSUER, PASSWORD, Reply, s, spawn_app};

both_backends!(
    client_credentials_grant,
    password_grant_with_id_token_and_refresh_rotation,
    refresh_tokens_are_bound_to_their_client,
    malformed_token_requests,
);

#[track_caller]
fn oauth_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(s(&reply.json["error"]), code, "{}", reply.text);
    assert!(reply.json["error_description"].is_string());
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

async fn client_credentials_grant(backend: Backend) {
    let app = spawn_app(backend).await;
    let service = app
        .client(
            "confidential",
            &["client_credentials"],
            &["reports:read", "reports:write"],
            &[],
        )
        .await;
    let secret = service.secret.clone().unwrap();

    let basic = app
        .token(
            &[("grant_type", "client_credentials")],
            Some((&service.id, &secret)),
        )
        .await;
    let body = basic.expect(200).clone();
    assert_eq!(basic.header("cache-control"), Some("no-store"));
    assert_eq!(s(&body["token_type"]), "Bearer");
    assert_eq!(s(&body["scope"]), "reports:read reports:write");
    assert!(
        body.get("refresh_token").is_none(),
        "no refresh token for client credentials"
    );
    let jwks = app
        .get("/.well-known/jwks.json", None)
        .await
        .expect(200)
        .clone();
    let c = crate::login::verify_with_jwks(&jwks, s(&body["access_token"]));
    assert_eq!(s(&c["sub"]), service.id);
    assert_eq!(s(&c["client_id"]), service.id);
    assert!(c.get("sid").is_none());
    // A client token is not a user's: authd's user endpoints refuse it, saying why.
    let refused = app
        .get("/api/users/me", Some(s(&body["access_token"])))
        .await;
    assert!(s(&refused.expect(401)["message"]).contains("client_credentials"));

    let post = app
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &service.id),
                ("client_secret", &secret),
                ("scope", "reports:read"),
            ],
            None,
        )
        .await;
    assert_eq!(s(&post.expect(200)["scope"]), "reports:read");

    oauth_error(
        &app.token(
            &[("grant_type", "client_credentials")],
            Some((&service.id, "wrong")),
        )
        .await,
        401,
        "invalid_client",
    );
    let wrong = app
        .token(
            &[("grant_type", "client_credentials")],
            Some((&service.id, "wrong")),
        )
        .await;
    assert_eq!(
        wrong.header("www-authenticate"),
        Some("Basic realm=\"authd\"")
    );
    oauth_error(
        &app.token(
            &[("grant_type", "client_credentials")],
            Some(("nobody", "x")),
        )
        .await,
        401,
        "invalid_client",
    );
    oauth_error(
        &app.token(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &service.id),
            ],
            None,
        )
        .await,
        401,
        "invalid_client",
    );
    oauth_error(
        &app.token(
            &[("grant_type", "client_credentials"), ("scope", "admin")],
            Some((&service.id, &secret)),
        )
        .await,
        400,
        "invalid_scope",
    );
    let other = app
        .client(
            "confidential",
            &["authorization_code"],
            &[],
            &["https://app.example/cb"],
        )
        .await;
    oauth_error(
        &app.token(
            &[("grant_type", "client_credentials")],
            Some((&other.id, other.secret.as_deref().unwrap())),
        )
        .await,
        400,
        "unauthorized_client",
    );
    oauth_error(
        &app.token(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "authd-web"),
            ],
            None,
        )
        .await,
        401,
        "invalid_client",
    );
}

async fn password_grant_with_id_token_and_refresh_rotation(backend: Backend) {
    let app = spawn_app(backend).await;
    let user_id = app.verified_user("oauth@example.com").await;
    let form = [
        ("grant_type", "password"),
        ("client_id", "authd-web"),
        ("username", "oauth@example.com"),
        ("password", PASSWORD),
        ("scope", "openid profile email offline_access"),
    ];
    let reply = app.token(&form, None).await;
    let body = reply.expect(200).clone();
    assert_eq!(s(&body["scope"]), "openid profile email offline_access");
    assert!(
        body.get("user").is_none(),
        "/oauth/token answers without the user object"
    );
    let refresh = s(&body["refresh_token"]).to_owned();
    let access = s(&body["access_token"]).to_owned();
    app.get("/api/users/me", Some(&access)).await.expect(200);

    let id = claims(s(&body["id_token"]));
    assert_eq!(s(&id["iss"]), ISSUER);
    assert_eq!(s(&id["sub"]), user_id);
    assert_eq!(s(&id["aud"]), "authd-web");
    assert_eq!(s(&id["email"]), "oauth@example.com");
    assert_eq!(id["email_verified"], json!(true));
    assert_eq!(s(&id["at_hash"]), authd::tokens::jwt::at_hash(&access));
    assert!(id["auth_time"].is_i64());
    let header = jsonwebtoken::decode_header(s(&body["id_token"])).unwrap();
    assert!(header.kid.is_some());

    let narrow = app
        .token(
            &[
                ("grant_type", "password"),
                ("client_id", "authd-web"),
                ("username", "oauth@example.com"),
                ("password", PASSWORD),
                ("scope", "email"),
            ],
            None,
        )
        .await;
    let narrow = narrow.expect(200).clone();
    assert_eq!(s(&narrow["scope"]), "email");
    assert!(narrow.get("id_token").is_none(), "no openid, no ID token");
    // Without the email scope, no email claim: email_verified neither (OIDC Core 5.4).
    let openid_only = app
        .token(
            &[
                ("grant_type", "password"),
                ("client_id", "authd-web"),
                ("username", "oauth@example.com"),
                ("password", PASSWORD),
                ("scope", "openid"),
            ],
            None,
        )
        .await;
    let id = claims(s(&openid_only.expect(200)["id_token"]));
    assert!(
        id.get("email").is_none() && id.get("email_verified").is_none(),
        "{id}"
    );

    oauth_error(
        &app.token(
            &[
                ("grant_type", "password"),
                ("client_id", "authd-web"),
                ("username", "oauth@example.com"),
                ("password", "nope-1234"),
            ],
            None,
        )
        .await,
        400,
        "invalid_grant",
    );

    // Refresh through oxide-auth's flow: the same rotation rule as /api/auth/refresh.
    let rotated = app
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("client_id", "authd-web"),
            ],
            None,
        )
        .await;
    let rotated = rotated.expect(200).clone();
    assert_ne!(s(&rotated["refresh_token"]), refresh);
    let again = app
        .token(
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            None,
        )
        .await;
    assert_eq!(
        again.expect(200)["refresh_token"],
        rotated["refresh_token"],
        "grace window: same successor"
    );
    // The first-party API and the token endpoint share sessions.
    let via_api = app
        .post(
            "/api/auth/refresh",
            json!({"refresh_token": rotated["refresh_token"]}),
        )
        .await
        .expect(200)
        .clone();
    app.advance(Duration::from_secs(11));
    oauth_error(
        &app.token(
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            None,
        )
        .await,
        400,
        "invalid_grant",
    );
    app.post(
        "/api/auth/refresh",
        json!({"refresh_token": via_api["refresh_token"]}),
    )
    .await
    .expect(401);
}

async fn refresh_tokens_are_bound_to_their_client(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("bound@example.com").await;
    let web = app
        .client("confidential", &["password", "refresh_token"], &[], &[])
        .await;
    let web_secret = web.secret.clone().unwrap();
    let other = app
        .client("confidential", &["password", "refresh_token"], &[], &[])
        .await;
    let login = [
        ("grant_type", "password"),
        ("username", "bound@example.com"),
        ("password", PASSWORD),
        ("scope", "openid"),
    ];
    let tokens = app
        .token(&login, Some((&web.id, &web_secret)))
        .await
        .expect(200)
        .clone();
    let refresh = s(&tokens["refresh_token"]).to_owned();

    // Another client, properly authenticated, cannot use it; nor can anyone without the
    // owning client's secret; nor the first-party API.
    oauth_error(
        &app.token(
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            Some((&other.id, other.secret.as_deref().unwrap())),
        )
        .await,
        400,
        "invalid_grant",
    );
    oauth_error(
        &app.token(
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            None,
        )
        .await,
        401,
        "invalid_client",
    );
    app.post("/api/auth/refresh", json!({"refresh_token": refresh}))
        .await
        .expect(401);
    // None of that retired the token.
    let ok = app
        .token(
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            Some((&web.id, &web_secret)),
        )
        .await;
    ok.expect(200);

    // A client without the refresh_token grant gets no refresh token.
    let no_refresh = app
        .client("confidential", &["password"], &["openid"], &[])
        .await;
    let t = app
        .token(
            &login,
            Some((&no_refresh.id, no_refresh.secret.as_deref().unwrap())),
        )
        .await
        .expect(200)
        .clone();
    assert!(t.get("refresh_token").is_none());
    assert!(t["id_token"].is_string());
    let unauthorized = app
        .client("confidential", &["client_credentials"], &[], &[])
        .await;
    oauth_error(
        &app.token(
            &login,
            Some((&unauthorized.id, unauthorized.secret.as_deref().unwrap())),
        )
        .await,
        400,
        "unauthorized_client",
    );
}

async fn malformed_token_requests(backend: Backend) {
    let app = spawn_app(backend).await;
    let raw = |ct: &'static str, body: &'static str| {
        let req = app
            .client
            .post(app.url("/oauth/token"))
            .header("content-type", ct)
            .body(body);
        async move { Reply::read_public(req.send().await.unwrap()).await }
    };
    oauth_error(
        &raw("application/json", r#"{"grant_type":"password"}"#).await,
        400,
        "invalid_request",
    );
    oauth_error(
        &raw(
            "application/x-www-form-urlencoded",
            "grant_type=password&grant_type=password",
        )
        .await,
        400,
        "invalid_request",
    );
    oauth_error(
        &raw("application/x-www-form-urlencoded", "").await,
        400,
        "invalid_request",
    );
    oauth_error(
        &raw("application/x-www-form-urlencoded", "grant_type=implicit").await,
        400,
        "unsupported_grant_type",
    );
    oauth_error(
        &raw(
            "application/x-www-form-urlencoded",
            "grant_type=password&username=a",
        )
        .await,
        400,
        "invalid_request",
    );
    oauth_error(
        &raw(
            "application/x-www-form-urlencoded",
            "grant_type=refresh_token&refresh_token=%00",
        )
        .await,
        400,
        "invalid_request",
    );
    oauth_error(
        &raw(
            "application/x-www-form-urlencoded",
            "grant_type=refresh_token&refresh_token=garbage&client_id=authd-web",
        )
        .await,
        400,
        "invalid_grant",
    );
    oauth_error(
        &app.token(
            &[("grant_type", "client_credentials"), ("client_secret", "x")],
            Some(("a", "b")),
        )
        .await,
        400,
        "invalid_request",
    );
    let bad_basic = app
        .client
        .post(app.url("/oauth/token"))
        .header("authorization", "Basic !!!")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    oauth_error(&Reply::read_public(bad_basic).await, 401, "invalid_client");
    let huge = "x".repeat(70_000);
    let big = app
        .token(&[("grant_type", "password"), ("username", &huge)], None)
        .await;
    oauth_error(&big, 400, "invalid_request");
}

both_backends!(revocation_and_introspection, userinfo_by_scope);

async fn revocation_and_introspection(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("intro@example.com").await;
    let rs = app.resource_server().await;
    let rs_secret = rs.secret.clone().unwrap();
    let introspect = |token: String| {
        let app = &app;
        let (id, secret) = (rs.id.clone(), rs_secret.clone());
        async move {
            app.token_at(
                "/oauth/introspect",
                &[("token", &token)],
                Some((&id, &secret)),
            )
            .await
        }
    };
    let login = [
        ("grant_type", "password"),
        ("client_id", "authd-web"),
        ("username", "intro@example.com"),
        ("password", PASSWORD),
    ];
    let t = app.token(&login, None).await.expect(200).clone();
    let (access, refresh) = (
        s(&t["access_token"]).to_owned(),
        s(&t["refresh_token"]).to_owned(),
    );

    let active = introspect(access.clone()).await.expect(200).clone();
    assert_eq!(active["active"], json!(true));
    assert_eq!(s(&active["client_id"]), "authd-web");
    assert_eq!(s(&active["token_type"]), "Bearer");
    assert!(active["exp"].is_i64() && active["sub"].is_string());
    let active_refresh = introspect(refresh.clone()).await.expect(200).clone();
    assert_eq!(active_refresh["active"], json!(true));
    assert_eq!(s(&active_refresh["token_type"]), "refresh_token");
    assert_eq!(
        introspect("garbage".into()).await.expect(200),
        &json!({"active": false})
    );
    // Only authenticated confidential clients may introspect.
    let public = app
        .token_at(
            "/oauth/introspect",
            &[("token", &access), ("client_id", "authd-web")],
            None,
        )
        .await;
    assert_eq!(public.status, 401);
    let wrong = app
        .token_at(
            "/oauth/introspect",
            &[("token", &access)],
            Some((&rs.id, "nope")),
        )
        .await;
    assert_eq!(wrong.status, 401);

    // Revoking an access token denies it by jti, everywhere, until it expires.
    app.token_at(
        "/oauth/revoke",
        &[("token", &access), ("client_id", "authd-web")],
        None,
    )
    .await
    .expect(200);
    assert_eq!(
        introspect(access.clone()).await.expect(200)["active"],
        json!(false)
    );
    app.get("/api/users/me", Some(&access)).await.expect(401);
    // Other clients cannot revoke what is not theirs; the answer is the same.
    let other = app.token(&login, None).await.expect(200).clone();
    app.token_at(
        "/oauth/revoke",
        &[("token", s(&other["refresh_token"]))],
        Some((&rs.id, &rs_secret)),
    )
    .await
    .expect(200);
    assert_eq!(
        introspect(s(&other["refresh_token"]).to_owned())
            .await
            .expect(200)["active"],
        json!(true)
    );

    // Revoking a refresh token ends its session, and the session's access tokens with it.
    app.token_at(
        "/oauth/revoke",
        &[
            ("token", &refresh),
            ("client_id", "authd-web"),
            ("token_type_hint", "refresh_token"),
        ],
        None,
    )
    .await
    .expect(200);
    assert_eq!(
        introspect(refresh.clone()).await.expect(200)["active"],
        json!(false)
    );
    oauth_error(
        &app.token(
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            None,
        )
        .await,
        400,
        "invalid_grant",
    );
    app.token_at(
        "/oauth/revoke",
        &[("token", "unknown"), ("client_id", "authd-web")],
        None,
    )
    .await
    .expect(200);
    oauth_error(
        &app.token_at("/oauth/revoke", &[("client_id", "authd-web")], None)
            .await,
        400,
        "invalid_request",
    );

    // Client tokens introspect too, and expire.
    let cc = app
        .token(
            &[("grant_type", "client_credentials")],
            Some((&rs.id, &rs_secret)),
        )
        .await
        .expect(200)
        .clone();
    let view = introspect(s(&cc["access_token"]).to_owned())
        .await
        .expect(200)
        .clone();
    assert_eq!(s(&view["sub"]), rs.id);
    app.advance(Duration::from_secs(16 * 60));
    assert_eq!(
        introspect(s(&cc["access_token"]).to_owned())
            .await
            .expect(200)["active"],
        json!(false)
    );
}

async fn userinfo_by_scope(backend: Backend) {
    let app = spawn_app(backend).await;
    app.post("/api/auth/register", json!({"email": "info@example.com", "password": PASSWORD, "first_name": "Ida", "last_name": "Info"}))
        .await
        .expect(201);
    let token = app.smtp.wait_for("info@example.com", 1).await.token();
    app.post("/api/auth/verify-email", json!({"token": token}))
        .await
        .expect(200);
    let login = |scope: &'static str| {
        let app = &app;
        async move {
            let form = [
                ("grant_type", "password"),
                ("client_id", "authd-web"),
                ("username", "info@example.com"),
                ("password", PASSWORD),
                ("scope", scope),
            ];
            s(&app.token(&form, None).await.expect(200)["access_token"]).to_owned()
        }
    };
    let full = login("openid profile email").await;
    let info = app
        .get("/oauth/userinfo", Some(&full))
        .await
        .expect(200)
        .clone();
    assert_eq!(s(&info["email"]), "info@example.com");
    assert_eq!(info["email_verified"], json!(true));
    assert_eq!(s(&info["name"]), "Ida Info");
    assert_eq!(s(&info["given_name"]), "Ida");
    let post = app
        .client
        .post(app.url("/oauth/userinfo"))
        .bearer_auth(&full)
        .send()
        .await
        .unwrap();
    assert_eq!(post.status().as_u16(), 200);

    let email_only = app
        .get("/oauth/userinfo", Some(&login("openid email").await))
        .await
        .expect(200)
        .clone();
    assert!(email_only.get("name").is_none());
    let no_openid = app
        .get("/oauth/userinfo", Some(&login("email").await))
        .await;
    assert_eq!(no_openid.status, 403);
    // Claims without a value are left out, not null (no phone here, and no username chosen
    // means a derived one, which is present).
    assert!(info.get("phone_number").is_none());
    assert!(
        info.as_object().unwrap().values().all(|v| !v.is_null()),
        "{info}"
    );
    // The token as a form body (RFC 6750 section 2.2).
    let form = app
        .token_at("/oauth/userinfo", &[("access_token", &full)], None)
        .await;
    assert_eq!(s(&form.expect(200)["email"]), "info@example.com");
    // No token at all: a bare challenge (RFC 6750 section 3.1).
    let none = app.get("/oauth/userinfo", None).await;
    assert_eq!(none.status, 401);
    assert_eq!(none.header("www-authenticate"), Some("Bearer"));
    let bad = app.get("/oauth/userinfo", Some("forged.token.here")).await;
    assert_eq!(
        bad.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\"")
    );
    app.get("/oauth/userinfo", Some("forged.token.here"))
        .await
        .expect(401);
}

both_backends!(token_endpoint_details);

/// What strict clients check at the token endpoint (RFC 6749 sections 4.1.3, 5.2 and 6):
/// `redirect_uri` needed there only when the authorization request had one, a client with
/// several redirect URIs must name one, refresh may narrow the scope, `openid` is never added
/// unasked, `WWW-Authenticate` only answers HTTP authentication, and a wrong method gets the
/// OAuth error shape.
async fn token_endpoint_details(backend: Backend) {
    use crate::authorize::{CB, browser, log_in, query};
    let app = spawn_app(backend).await;
    app.verified_user("strict@example.com").await;

    // No scope asked: the client's scopes, but not `openid` (so no ID token).
    let plain = app
        .token(
            &[
                ("grant_type", "password"),
                ("client_id", "authd-web"),
                ("username", "strict@example.com"),
                ("password", PASSWORD),
            ],
            None,
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(s(&plain["scope"]), "profile email offline_access");
    assert!(plain.get("id_token").is_none());

    // Refresh with a narrower scope narrows the new access token (not the session).
    let full = app
        .token(
            &[
                ("grant_type", "password"),
                ("client_id", "authd-web"),
                ("username", "strict@example.com"),
                ("password", PASSWORD),
                ("scope", "openid email profile offline_access"),
            ],
            None,
        )
        .await
        .expect(200)
        .clone();
    let narrowed = app
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "authd-web"),
                ("refresh_token", s(&full["refresh_token"])),
                ("scope", "email"),
            ],
            None,
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(s(&narrowed["scope"]), "email");
    assert!(narrowed.get("id_token").is_none());
    assert_eq!(
        s(&crate::authorize::claims(s(&narrowed["access_token"]))["scope"]),
        "email"
    );
    let wider = app
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "authd-web"),
                ("refresh_token", s(&narrowed["refresh_token"])),
                ("scope", "email admin"),
            ],
            None,
        )
        .await;
    oauth_error(&wider, 400, "invalid_scope");
    let again = app
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "authd-web"),
                ("refresh_token", s(&narrowed["refresh_token"])),
            ],
            None,
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(
        s(&again["scope"]),
        "openid email profile offline_access",
        "the session keeps what was granted"
    );

    // A code asked for without redirect_uri (one registered) redeems without it; with it in
    // the request, the token request must repeat it.
    let one = app
        .client_with(
            "confidential",
            &["authorization_code"],
            &["openid"],
            &[CB],
            true,
        )
        .await;
    let secret = one.secret.clone().unwrap();
    let b = browser();
    let mut url = url::Url::parse(&app.url("/oauth/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &one.id)
        .append_pair("scope", "openid");
    let page = b.get(url.as_str()).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let page = page.text().await.unwrap();
    let back = log_in(&app, &b, &page, "strict@example.com").await;
    let code = query(&crate::authorize::location(&back), "code").unwrap();
    app.token(
        &[("grant_type", "authorization_code"), ("code", &code)],
        Some((&one.id, &secret)),
    )
    .await
    .expect(200);
    let code = query(
        &crate::authorize::location(
            &b.get(crate::authorize::authorize_url(
                &app,
                &one.id,
                CB,
                &[("scope", "openid")],
            ))
            .send()
            .await
            .unwrap(),
        ),
        "code",
    )
    .unwrap();
    let missing = app
        .token(
            &[("grant_type", "authorization_code"), ("code", &code)],
            Some((&one.id, &secret)),
        )
        .await;
    oauth_error(&missing, 400, "invalid_request");
    assert!(
        !missing.json["error_description"]
            .as_str()
            .unwrap()
            .contains("refresh"),
        "{}",
        missing.text
    );

    // Two redirect URIs registered: the request must say which.
    let two = app
        .client_with(
            "confidential",
            &["authorization_code"],
            &["openid"],
            &[CB, "http://127.0.0.1:9/other"],
            true,
        )
        .await;
    let mut url = url::Url::parse(&app.url("/oauth/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &two.id);
    let r = b.get(url.as_str()).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400, "an error page, no redirect");
    assert!(r.headers().get("location").is_none());

    // A wrong code says so.
    let wrong = app
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", "not-a-code"),
                ("redirect_uri", CB),
            ],
            Some((&one.id, &secret)),
        )
        .await;
    oauth_error(&wrong, 400, "invalid_grant");
    assert!(
        !s(&wrong.json["error_description"]).contains("refresh"),
        "{}",
        wrong.text
    );

    // WWW-Authenticate answers HTTP authentication only.
    let posted = app
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &one.id),
                ("client_secret", "wrong"),
            ],
            None,
        )
        .await;
    oauth_error(&posted, 401, "invalid_client");
    assert!(posted.header("www-authenticate").is_none());
    let basic = app
        .token(
            &[("grant_type", "client_credentials")],
            Some((&one.id, "wrong")),
        )
        .await;
    oauth_error(&basic, 401, "invalid_client");
    assert!(
        basic
            .header("www-authenticate")
            .unwrap()
            .starts_with("Basic")
    );

    // A wrong method on an OAuth endpoint: 405 in the OAuth error shape.
    for path in ["/oauth/token", "/oauth/revoke", "/oauth/introspect"] {
        let r = app.get(path, None).await;
        assert_eq!(r.status, 405, "{path}");
        assert_eq!(s(&r.json["error"]), "invalid_request", "{path}: {}", r.text);
        assert!(r.header("allow").unwrap().contains("POST"), "{path}");
    }
}
