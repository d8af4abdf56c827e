//! Audience-restricted tokens (RFC 8707): a token asked for a registered resource server names
//! it as `aud` and carries its scopes only, so a service that checks `aud` refuses a token
//! meant for another (the attack: a token for the reports API replayed at the billing API),
//! and authd's own API refuses it too.

use serde_json::{Value, json};

use crate::authorize::{CB, authorize_url, browser, claims, code_after_sign_in, location, query};
use crate::both_backends;
use crate::harness::{Backend, ISSUER, TestApp, s, spawn_app};

both_backends!(
    a_client_token_for_a_resource_is_for_it_alone,
    a_code_flow_for_a_resource,
);

const REPORTS: &str = "https://reports.example.com";
const BILLING: &str = "https://billing.example.com";

/// What a resource server does: the signature through the JWKS, and `aud` = itself.
async fn accepted_by(app: &TestApp, token: &str, audience: &str) -> bool {
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(app.get("/.well-known/jwks.json", None).await.json).unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let key =
        jsonwebtoken::DecodingKey::from_jwk(jwks.find(header.kid.as_deref().unwrap()).unwrap())
            .unwrap();
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[audience]);
    validation.validate_exp = false;
    jsonwebtoken::decode::<Value>(token, &key, &validation).is_ok()
}

async fn a_client_token_for_a_resource_is_for_it_alone(backend: Backend) {
    let app = spawn_app(backend).await;
    app.register_resource(REPORTS, &["reports:read", "reports:write"])
        .await;
    app.register_resource(BILLING, &["billing:read"]).await;
    let service = app
        .client(
            "confidential",
            &["client_credentials"],
            &["reports:read", "billing:read"],
            &[],
        )
        .await;
    let basic = Some((service.id.as_str(), service.secret.as_deref().unwrap()));
    let grant = |extra: &[(&'static str, &'static str)]| {
        let mut form = vec![("grant_type", "client_credentials")];
        form.extend_from_slice(extra);
        form
    };

    let reply = app.token(&grant(&[("resource", REPORTS)]), basic).await;
    let token = s(&reply.expect(200)["access_token"]).to_owned();
    assert_eq!(
        reply.json["scope"], "reports:read",
        "the resource's scopes only"
    );
    let issued = claims(&token);
    assert_eq!(issued["aud"], REPORTS);
    assert_eq!(issued["scope"], "reports:read");
    assert!(accepted_by(&app, &token, REPORTS).await);
    // The attack: the reports token replayed at the billing service (or at authd itself).
    assert!(
        !accepted_by(&app, &token, BILLING).await,
        "meant for reports"
    );
    assert!(!accepted_by(&app, &token, ISSUER).await, "not authd's");
    let rs = app.resource_server().await;
    let seen = app
        .token_at(
            "/oauth/introspect",
            &[("token", &token)],
            Some((&rs.id, rs.secret.as_deref().unwrap())),
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(seen["active"], true, "introspection still knows it");
    assert_eq!(seen["aud"], REPORTS);

    // Without `resource`: authd's audience, as before.
    let plain = app.token(&grant(&[]), basic).await;
    assert_eq!(claims(s(&plain.expect(200)["access_token"]))["aud"], ISSUER);

    let refused = [
        (
            grant(&[("resource", "https://unknown.example.com")]),
            "invalid_target",
        ),
        (
            grant(&[("resource", REPORTS), ("scope", "billing:read")]),
            "invalid_scope",
        ),
        (
            grant(&[("resource", REPORTS), ("resource", BILLING)]),
            "invalid_request",
        ),
    ];
    for (form, error) in &refused {
        let reply = app.token(form, basic).await;
        assert_eq!(reply.status, 400, "{form:?}: {}", reply.text);
        assert_eq!(reply.json["error"], *error, "{form:?}");
    }
}

async fn a_code_flow_for_a_resource(backend: Backend) {
    let app = spawn_app(backend).await;
    app.register_resource(REPORTS, &["reports:read"]).await;
    app.register_resource(BILLING, &["billing:read"]).await;
    app.verified_user("aud@example.com").await;
    let rp = app
        .client_with(
            "confidential",
            &["authorization_code", "refresh_token"],
            &["openid", "email", "reports:read", "billing:read"],
            &[CB],
            true,
        )
        .await;
    let secret = rp.secret.clone().unwrap();
    let asked = [
        ("scope", "openid email reports:read"),
        ("resource", REPORTS),
    ];

    // Refused at the authorization request: an unknown resource, a scope not its own.
    for (extra, error) in [
        (
            [
                ("scope", "openid"),
                ("resource", "https://nowhere.example.com"),
            ],
            "invalid_target",
        ),
        (
            [("scope", "openid billing:read"), ("resource", REPORTS)],
            "invalid_scope",
        ),
    ] {
        let reply = browser()
            .get(authorize_url(&app, &rp.id, CB, &extra))
            .send()
            .await
            .unwrap();
        assert_eq!(query(&location(&reply), "error").as_deref(), Some(error));
    }

    let code = code_after_sign_in(
        &app,
        &browser(),
        &authorize_url(&app, &rp.id, CB, &asked),
        "aud@example.com",
    )
    .await;
    // The token request may repeat the resource, not name another.
    let exchange = |code: String, resource: &'static str| {
        let (app, rp_id, secret) = (&app, rp.id.clone(), secret.clone());
        async move {
            app.token(
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", CB),
                    ("resource", resource),
                ],
                Some((&rp_id, &secret)),
            )
            .await
        }
    };
    let other = exchange(code.clone(), BILLING).await;
    assert_eq!(other.status, 400, "{}", other.text);
    assert_eq!(other.json["error"], "invalid_target");
    let tokens = exchange(code, REPORTS).await.expect(200).clone();
    let access = claims(s(&tokens["access_token"]));
    assert_eq!(access["aud"], REPORTS);
    assert_eq!(access["scope"], "reports:read", "no user scopes in it");
    assert_eq!(
        tokens["scope"], "email openid reports:read",
        "all of it granted"
    );
    let id = claims(s(&tokens["id_token"]));
    assert_eq!(id["aud"], rp.id.as_str());
    assert_eq!(id["email"], "aud@example.com", "the ID token is as ever");
    // authd's own endpoints take only tokens for authd.
    app.get("/oauth/userinfo", Some(s(&tokens["access_token"])))
        .await
        .expect(401);
    app.get("/api/users/me", Some(s(&tokens["access_token"])))
        .await
        .expect(401);

    // A refresh keeps the audience; it cannot move the grant to another resource.
    let refresh = |resource: Option<&'static str>, token: Value| {
        let (app, rp_id, secret) = (&app, rp.id.clone(), secret.clone());
        async move {
            let mut form = vec![
                ("grant_type", "refresh_token".to_owned()),
                ("refresh_token", s(&token).to_owned()),
            ];
            if let Some(r) = resource {
                form.push(("resource", r.to_owned()));
            }
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.token(&form, Some((&rp_id, &secret))).await
        }
    };
    let moved = refresh(Some(BILLING), tokens["refresh_token"].clone()).await;
    assert_eq!(moved.json["error"], "invalid_target", "{}", moved.text);
    let again = refresh(None, tokens["refresh_token"].clone())
        .await
        .expect(200)
        .clone();
    assert_eq!(claims(s(&again["access_token"]))["aud"], REPORTS);
    let named = refresh(Some(REPORTS), again["refresh_token"].clone())
        .await
        .expect(200)
        .clone();
    assert_eq!(claims(s(&named["access_token"]))["aud"], REPORTS);
}

/// `authd resources create|list|delete` at the command line, with their refusals and audit
/// events.
#[test]
fn resource_servers_are_managed_at_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let authd = |args: &[&str]| crate::harness::cli(dir.path(), args);
    let ok = |out: std::process::Output| -> String {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let created: Value = serde_json::from_str(&ok(authd(&[
        "resources",
        "create",
        "--identifier",
        REPORTS,
        "--scope",
        "reports:read",
        "--scope",
        "reports:write",
    ])))
    .unwrap();
    assert_eq!(
        created,
        json!({"identifier": REPORTS, "name": "reports.example.com", "scopes": ["reports:read", "reports:write"]})
    );
    let again = authd(&[
        "resources",
        "create",
        "--identifier",
        REPORTS,
        "--scope",
        "x",
    ]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("registered already"));
    let bad = authd(&[
        "resources",
        "create",
        "--identifier",
        "reports",
        "--scope",
        "x",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    let user_scope = authd(&[
        "resources",
        "create",
        "--identifier",
        BILLING,
        "--scope",
        "openid",
    ]);
    assert!(String::from_utf8_lossy(&user_scope.stderr).contains("a user scope"));
    assert!(ok(authd(&["resources", "list"])).contains(REPORTS));
    assert!(ok(authd(&["resources", "delete", REPORTS])).contains("deleted"));
    assert_eq!(ok(authd(&["resources", "list"])), "");
    let events = ok(authd(&["audit", "list", "--kind", "resource.created"]));
    assert_eq!(events.lines().count(), 1, "{events}");
    let events = ok(authd(&["audit", "list", "--kind", "resource.deleted"]));
    assert_eq!(events.lines().count(), 1, "{events}");
}
