//! Keys as a resource server sees them: a new key is in the JWKS before it signs, a retired
//! key verifies until its tokens expire, and then it is gone; RS256, ES256 and EdDSA each
//! verify with their own key and algorithm only.

use std::time::Duration;

use authd::storage::signing_keys;
use authd::tokens::SigningAlg;
use serde_json::{Value, json};

use crate::authorize::{CB, authorize_url, browser, code_after_sign_in, exchange};
use crate::both_backends;
use crate::harness::{Backend, TestApp, TestClient, s, spawn_app, spawn_app_with};
use crate::login::verify_with_jwks;

both_backends!(rotation_without_restart);

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

async fn rotation_without_restart(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("rotor@example.com").await;
    let first = app.login("rotor@example.com", None).await;
    let old_kid = kid(s(&first["access_token"]));

    // `authd keys rotate` in another process: its own view of the same database.
    let cli = app.cli_keys().await;
    let before = app.get("/.well-known/jwks.json", None).await.expect(200)["keys"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, 3, "a key for each of RS256, ES256 and EdDSA");
    let new = signing_keys::rotate(
        &app.state.db,
        &cli,
        app.state.clock.now(),
        Duration::from_secs(600),
        &[SigningAlg::Rs256],
    )
    .await
    .unwrap()
    .remove(0);
    app.refresh_keys().await; // what the running server does every 5 s
    let cached_jwks: Value = app
        .get("/.well-known/jwks.json", None)
        .await
        .expect(200)
        .clone();
    assert_eq!(
        cached_jwks["keys"].as_array().unwrap().len(),
        before + 1,
        "published before it signs"
    );
    let still_old = app.login("rotor@example.com", None).await;
    assert_eq!(kid(s(&still_old["access_token"])), old_kid);

    app.advance(Duration::from_secs(11 * 60));
    let rotated = app.login("rotor@example.com", None).await;
    assert_eq!(
        kid(s(&rotated["access_token"])),
        new.kid,
        "signs once the activation delay has passed"
    );
    // A resource server that cached the JWKS before activation verifies the new tokens.
    verify_with_jwks(&cached_jwks, s(&rotated["access_token"]));

    // Retire the old key: tokens it signed keep working until they expire.
    signing_keys::retire(&app.state.db, &cli, &old_kid, app.state.clock.now())
        .await
        .unwrap();
    app.refresh_keys().await;
    app.get("/api/users/me", Some(s(&still_old["access_token"])))
        .await
        .expect(200);
    let after_retire = app.login("rotor@example.com", None).await;
    assert_eq!(kid(s(&after_retire["access_token"])), new.kid);

    // Once every token it signed has expired, the old key leaves the JWKS, and a token it
    // signs (from a stolen key file, say) is refused even with a future `exp`.
    app.advance(Duration::from_secs(16 * 60));
    let jwks = app
        .get("/.well-known/jwks.json", None)
        .await
        .expect(200)
        .clone();
    let rsa_kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["alg"] == "RS256")
        .map(|k| s(&k["kid"]))
        .collect();
    assert_eq!(rsa_kids, vec![new.kid.as_str()]);
    let pem = app.private_pem(&old_kid).await;
    let refreshed = app
        .post(
            "/api/auth/refresh",
            json!({"refresh_token": after_retire["refresh_token"]}),
        )
        .await
        .expect(200)
        .clone();
    let mut claims: Value = verify_with_jwks(&jwks, s(&refreshed["access_token"]));
    claims["exp"] = json!(app.state.clock.now().timestamp() + 600);
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.typ = Some("at+jwt".into());
    header.kid = Some(old_kid.clone());
    let forged = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_rsa_pem(&pem).unwrap(),
    )
    .unwrap();
    app.get("/api/users/me", Some(&forged)).await.expect(401);
    app.get("/api/users/me", Some(s(&refreshed["access_token"])))
        .await
        .expect(200);
}

both_backends!(each_algorithm_signs_what_standard_verifiers_accept);

fn alg_of(token: &str) -> String {
    let header = jsonwebtoken::decode_header(token).unwrap();
    serde_json::to_value(header.alg)
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

/// A client for the code flow with `openid`, its ID tokens signed with `id_token_alg`.
async fn openid_client(app: &TestApp, id_token_alg: Option<SigningAlg>) -> TestClient {
    use authd::oauth::client::{ClientType, GrantType, NewClient};
    app.register_client(NewClient {
        name: "rp".into(),
        client_type: ClientType::Confidential,
        redirect_uris: vec![CB.into()],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::ClientCredentials],
        scopes: vec!["openid".into(), "email".into()],
        first_party: true,
        can_introspect: false,
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        require_mfa: false,
        id_token_alg,
        require_dpop: false,
    })
    .await
}

/// The ID token of a code flow for `rp`, signed in as `email`.
async fn id_token(app: &TestApp, rp: &TestClient, email: &str) -> Value {
    let url = authorize_url(app, &rp.id, CB, &[("scope", "openid email")]);
    let code = code_after_sign_in(app, &browser(), &url, email).await;
    let secret = rp.secret.clone().unwrap();
    exchange(app, &rp.id, &code, None, Some((&rp.id, &secret)))
        .await
        .expect(200)
        .clone()
}

/// `AUTHD_SIGNING_ALG=ES256` or `EdDSA`: access tokens (the account API's, client_credentials)
/// and ID tokens carry it and verify through the JWKS with a standard library; a client that
/// registered another algorithm for its ID tokens gets that one; the account API, userinfo
/// and introspection accept the tokens.
async fn each_algorithm_signs_what_standard_verifiers_accept(backend: Backend) {
    for alg in [SigningAlg::Es256, SigningAlg::EdDsa] {
        let app = spawn_app_with(backend, &[("AUTHD_SIGNING_ALG", alg.as_str())]).await;
        let discovery = app
            .get("/.well-known/openid-configuration", None)
            .await
            .expect(200)
            .clone();
        assert_eq!(
            discovery["id_token_signing_alg_values_supported"][0],
            alg.as_str()
        );
        let jwks = app
            .get("/.well-known/jwks.json", None)
            .await
            .expect(200)
            .clone();
        app.verified_user("alg@example.com").await;
        let tokens = app.login("alg@example.com", None).await;
        let access = s(&tokens["access_token"]);
        assert_eq!(alg_of(access), alg.as_str());
        verify_with_jwks(&jwks, access);
        app.get("/api/users/me", Some(access)).await.expect(200);
        let refreshed = app
            .post(
                "/api/auth/refresh",
                json!({"refresh_token": tokens["refresh_token"]}),
            )
            .await
            .expect(200)
            .clone();
        assert_eq!(alg_of(s(&refreshed["access_token"])), alg.as_str());

        // A relying party that named no algorithm: the server's, for both tokens.
        let rp = openid_client(&app, None).await;
        let issued = id_token(&app, &rp, "alg@example.com").await;
        assert_eq!(alg_of(s(&issued["id_token"])), alg.as_str());
        assert_eq!(alg_of(s(&issued["access_token"])), alg.as_str());
        let id = verify_id_token(&jwks, s(&issued["id_token"]), &rp.id);
        assert_eq!(id["email"], "alg@example.com");
        app.get("/oauth/userinfo", Some(s(&issued["access_token"])))
            .await
            .expect(200);

        // One that registered RS256 for its ID tokens (an older library): RS256 ID tokens,
        // access tokens still the server's.
        let old_rp = openid_client(&app, Some(SigningAlg::Rs256)).await;
        let issued = id_token(&app, &old_rp, "alg@example.com").await;
        assert_eq!(alg_of(s(&issued["id_token"])), "RS256");
        verify_id_token(&jwks, s(&issued["id_token"]), &old_rp.id);
        assert_eq!(alg_of(s(&issued["access_token"])), alg.as_str());

        // client_credentials, checked by a resource server through introspection too.
        let secret = rp.secret.clone().unwrap();
        let service = app
            .token(
                &[("grant_type", "client_credentials")],
                Some((&rp.id, &secret)),
            )
            .await
            .expect(200)
            .clone();
        let token = s(&service["access_token"]);
        assert_eq!(alg_of(token), alg.as_str());
        verify_with_jwks(&jwks, token);
        let seen = app
            .token_at(
                "/oauth/introspect",
                &[("token", token)],
                Some((&rp.id, &secret)),
            )
            .await
            .expect(200)
            .clone();
        assert_eq!(seen["active"], true, "{seen}");
    }
}

/// An ID token checked as a relying party does: the key its `kid` names, that key's algorithm.
fn verify_id_token(jwks: &Value, token: &str, audience: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let jwk = set.find(header.kid.as_deref().unwrap()).expect("published");
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_issuer(&[crate::harness::ISSUER]);
    validation.set_audience(&[audience]);
    validation.validate_exp = false;
    jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .expect("an ID token that verifies")
    .claims
}

/// `AUTHD_SIGNING_ALG` changed on a running deployment (here: a second instance started with
/// EdDSA beside one with RS256, as during a rolling restart): a resource server that cached
/// the JWKS before the change verifies the new tokens, because every algorithm's key was
/// published from the start; tokens of either instance work at both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_signing_algorithm_does_not_break_verifiers_with_a_cached_jwks() {
    let old = spawn_app(Backend::Postgres).await;
    let cached = old
        .get("/.well-known/jwks.json", None)
        .await
        .expect(200)
        .clone();
    old.verified_user("switch@example.com").await;
    let before = old.login("switch@example.com", None).await;
    assert_eq!(alg_of(s(&before["access_token"])), "RS256");
    let new = old
        .start_sibling(old.sibling_config(|c| c.signing_alg = SigningAlg::EdDsa))
        .await;
    let after = new.login("switch@example.com", None).await;
    assert_eq!(alg_of(s(&after["access_token"])), "EdDSA");
    verify_with_jwks(&cached, s(&after["access_token"]));
    verify_with_jwks(&cached, s(&before["access_token"]));
    old.get("/api/users/me", Some(s(&after["access_token"])))
        .await
        .expect(200);
    new.get("/api/users/me", Some(s(&before["access_token"])))
        .await
        .expect(200);
}

both_backends!(a_token_whose_header_lies_about_its_algorithm_is_refused);

/// The algorithm-confusion attacks, each at the account API, userinfo and introspection: an
/// `HS256` token keyed with a published public key (as the JWK's bytes and as its PEM), an
/// unsigned `none` token, and a token signed by the real EdDSA key whose header claims
/// ES256 or names the RSA key. Only the key's own algorithm verifies.
async fn a_token_whose_header_lies_about_its_algorithm_is_refused(backend: Backend) {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let app = spawn_app(backend).await;
    app.verified_user("confused@example.com").await;
    let tokens = app.login("confused@example.com", None).await;
    let genuine = s(&tokens["access_token"]).to_owned();
    let mut claims = verify_with_jwks(
        app.get("/.well-known/jwks.json", None).await.expect(200),
        &genuine,
    );
    claims["exp"] = json!(app.state.clock.now().timestamp() + 600);
    let jwks = app
        .get("/.well-known/jwks.json", None)
        .await
        .expect(200)
        .clone();
    let key_of = |alg: &str| -> Value {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["alg"] == alg)
            .unwrap()
            .clone()
    };
    let rsa = key_of("RS256");
    let ed = key_of("EdDSA");
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let hs256 = |kid: &str, secret: &[u8]| {
        let header = json!({"alg": "HS256", "typ": "at+jwt", "kid": kid});
        let input = format!(
            "{}.{body}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap())
        );
        let mac = hmac_sha256(secret, input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac))
    };
    let rsa_kid = s(&rsa["kid"]);
    let rsa_pem = {
        let cli = app.cli_keys().await;
        let key = cli.all().iter().find(|k| k.kid == rsa_kid).unwrap().clone();
        key.public_pem().unwrap()
    };
    let n = URL_SAFE_NO_PAD.decode(s(&rsa["n"])).unwrap();
    let none = {
        let header = json!({"alg": "none", "typ": "at+jwt", "kid": rsa_kid});
        format!(
            "{}.{body}.",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap())
        )
    };
    // Signed by the real Ed25519 key (an attacker cannot, but a verifier that let the header
    // pick the algorithm or key would be the weak point this checks): a valid EdDSA signature
    // under a header that lies.
    let ed_pem = app.private_pem(s(&ed["kid"])).await;
    let ed_key = jsonwebtoken::EncodingKey::from_ed_pem(&ed_pem).unwrap();
    let signed_ed = |header: Value| {
        let input = format!(
            "{}.{body}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap())
        );
        let signature =
            jsonwebtoken::crypto::sign(input.as_bytes(), &ed_key, jsonwebtoken::Algorithm::EdDSA)
                .unwrap();
        format!("{input}.{signature}")
    };
    let honest = signed_ed(json!({"alg": "EdDSA", "typ": "at+jwt", "kid": ed["kid"]}));
    app.get("/api/users/me", Some(&honest)).await.expect(200);
    let forged = [
        ("HS256 keyed with the modulus", hs256(rsa_kid, &n)),
        (
            "HS256 keyed with the PEM",
            hs256(rsa_kid, rsa_pem.as_bytes()),
        ),
        ("alg none", none),
        (
            "EdDSA signature, header says ES256",
            signed_ed(json!({"alg": "ES256", "typ": "at+jwt", "kid": ed["kid"]})),
        ),
        (
            "EdDSA signature, kid of the RSA key",
            signed_ed(json!({"alg": "EdDSA", "typ": "at+jwt", "kid": rsa_kid})),
        ),
    ];
    let rs = app.resource_server().await;
    let rs_secret = rs.secret.clone().unwrap();
    for (attack, token) in &forged {
        app.get("/api/users/me", Some(token)).await.expect(401);
        let reply = app.get("/oauth/userinfo", Some(token)).await;
        assert_eq!(reply.status, 401, "{attack}: {}", reply.text);
        let seen = app
            .token_at(
                "/oauth/introspect",
                &[("token", token)],
                Some((&rs.id, &rs_secret)),
            )
            .await
            .expect(200)
            .clone();
        assert_eq!(seen, json!({"active": false}), "{attack}");
    }
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    aws_lc_rs::hmac::sign(&key, message).as_ref().to_vec()
}
