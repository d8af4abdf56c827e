//! DPoP (RFC 9449) as the adversary tries it: proofs replayed, made for another request, too
//! old, unsigned, signed by a key other than the one they name, or carrying a private key;
//! a bound token used as a plain Bearer token, with a proof by another key, or with a proof
//! for another token. Each is refused; the honest use works (openid-client's own DPoP support
//! is in `conformance.rs`).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::both_backends;
use crate::harness::{Backend, ISSUER, PASSWORD, Reply, TestApp, TestClient, s, spawn_app};

both_backends!(
    token_endpoint_proofs_that_do_not_hold_are_refused,
    a_bound_token_works_only_with_a_fresh_proof_by_its_key,
    with_nonces_required_a_proof_made_in_advance_is_useless,
);

/// A client's DPoP key.
pub struct Key {
    pair: EcdsaKeyPair,
}

impl Key {
    pub fn new() -> Self {
        Key {
            pair: EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap(),
        }
    }

    fn jwk(&self) -> Value {
        let point = self.pair.public_key().as_ref();
        json!({
            "kty": "EC",
            "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..]),
        })
    }

    /// RFC 7638: what `cnf.jkt` names.
    fn thumbprint(&self) -> String {
        let jwk = self.jwk();
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            s(&jwk["x"]),
            s(&jwk["y"])
        );
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    /// A proof with `header` and `claims` as given, signed by this key.
    fn sign(&self, header: Value, claims: Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }

    /// An honest proof for `method url` at `now` (and `token`, hashed into `ath`).
    pub fn proof(&self, method: &str, url: &str, now: i64, token: Option<&str>) -> String {
        self.proof_with(method, url, now, token, None)
    }

    /// [`Key::proof`] carrying the server's `nonce`.
    fn proof_with(
        &self,
        method: &str,
        url: &str,
        now: i64,
        token: Option<&str>,
        nonce: Option<&str>,
    ) -> String {
        let mut claims = json!({
            "jti": uuid::Uuid::new_v4().to_string(),
            "htm": method,
            "htu": url,
            "iat": now,
        });
        if let Some(nonce) = nonce {
            claims["nonce"] = nonce.into();
        }
        if let Some(token) = token {
            claims["ath"] = URL_SAFE_NO_PAD
                .encode(Sha256::digest(token.as_bytes()))
                .into();
        }
        self.sign(
            json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk()}),
            claims,
        )
    }
}

fn token_url() -> String {
    format!("{ISSUER}/oauth/token")
}

/// `POST /oauth/token` with a DPoP header.
async fn token_with(
    app: &TestApp,
    form: &[(&str, &str)],
    client: &TestClient,
    proof: Option<&str>,
) -> Reply {
    let mut request = app
        .client
        .post(app.url("/oauth/token"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(form);
    if let Some(proof) = proof {
        request = request.header("dpop", proof);
    }
    Reply::read_public(request.send().await.unwrap()).await
}

fn refused_proof(reply: &Reply, attack: &str) {
    assert_eq!(reply.status, 400, "{attack}: {}", reply.text);
    assert_eq!(reply.json["error"], "invalid_dpop_proof", "{attack}");
}

async fn token_endpoint_proofs_that_do_not_hold_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let service = app
        .client("confidential", &["client_credentials"], &["api"], &[])
        .await;
    let key = Key::new();
    let now = app.state.clock.now().timestamp();
    let grant = [("grant_type", "client_credentials")];

    // The honest request: a token bound to the key.
    let proof = key.proof("POST", &token_url(), now, None);
    let bound = token_with(&app, &grant, &service, Some(&proof))
        .await
        .expect(200)
        .clone();
    assert_eq!(bound["token_type"], "DPoP");
    let claims = crate::authorize::claims(s(&bound["access_token"]));
    assert_eq!(claims["cnf"]["jkt"], key.thumbprint().as_str());
    // Introspection tells a resource server the binding.
    let rs = app.resource_server().await;
    let seen = app
        .token_at(
            "/oauth/introspect",
            &[("token", s(&bound["access_token"]))],
            Some((&rs.id, rs.secret.as_deref().unwrap())),
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(seen["token_type"], "DPoP");
    assert_eq!(seen["cnf"]["jkt"], key.thumbprint().as_str());

    let other = Key::new();
    let header = |alg: &str, jwk: Value| json!({"typ": "dpop+jwt", "alg": alg, "jwk": jwk});
    let claims_at = |iat: i64, htm: &str, htu: &str| json!({"jti": uuid::Uuid::new_v4().to_string(), "htm": htm, "htu": htu, "iat": iat});
    let mut private = key.jwk();
    private["d"] = json!("AAAA");
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD
            .encode(json!({"typ": "dpop+jwt", "alg": "none", "jwk": key.jwk()}).to_string()),
        URL_SAFE_NO_PAD.encode(claims_at(now, "POST", &token_url()).to_string())
    );
    let attacks = [
        ("the same proof again", proof.clone()),
        (
            "a proof for another endpoint",
            key.proof("POST", &format!("{ISSUER}/oauth/revoke"), now, None),
        ),
        (
            "a proof for another method",
            key.proof("GET", &token_url(), now, None),
        ),
        (
            "a proof for another server",
            key.proof("POST", "https://elsewhere.example/oauth/token", now, None),
        ),
        (
            "a proof made five minutes ago",
            key.proof("POST", &token_url(), now - 300, None),
        ),
        (
            "a proof dated in the future",
            key.proof("POST", &token_url(), now + 300, None),
        ),
        ("an unsigned proof", unsigned),
        (
            "a proof naming one key, signed by another",
            other.sign(
                header("ES256", key.jwk()),
                claims_at(now, "POST", &token_url()),
            ),
        ),
        (
            "a proof carrying a private key",
            key.sign(
                header("ES256", private),
                claims_at(now, "POST", &token_url()),
            ),
        ),
        (
            "a proof whose key does not fit its alg",
            key.sign(
                header("RS256", key.jwk()),
                claims_at(now, "POST", &token_url()),
            ),
        ),
        (
            "a proof with the wrong typ",
            key.sign(
                json!({"typ": "JWT", "alg": "ES256", "jwk": key.jwk()}),
                claims_at(now, "POST", &token_url()),
            ),
        ),
        ("not a JWT", "garbage".to_owned()),
    ];
    for (attack, proof) in &attacks {
        refused_proof(
            &token_with(&app, &grant, &service, Some(proof)).await,
            attack,
        );
    }
    // Two DPoP headers: which one would count?
    let twice = app
        .client
        .post(app.url("/oauth/token"))
        .basic_auth(&service.id, service.secret.as_deref())
        .header("dpop", key.proof("POST", &token_url(), now, None))
        .header("dpop", key.proof("POST", &token_url(), now, None))
        .form(&grant)
        .send()
        .await
        .unwrap();
    refused_proof(&Reply::read_public(twice).await, "two DPoP headers");

    // A client registered to require DPoP gets nothing without a proof.
    use authd::oauth::client::{ClientType, GrantType, NewClient};
    let strict = app
        .register_client(NewClient {
            name: "strict".into(),
            client_type: ClientType::Confidential,
            redirect_uris: vec![],
            grant_types: vec![GrantType::ClientCredentials],
            scopes: vec!["api".into()],
            first_party: false,
            can_introspect: false,
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            require_mfa: false,
            id_token_alg: None,
            require_dpop: true,
        })
        .await;
    let bare = token_with(&app, &grant, &strict, None).await;
    refused_proof(&bare, "no proof from a client that must send one");
    assert!(s(&bare.json["error_description"]).contains("must send a DPoP proof"));
    let proof = key.proof("POST", &token_url(), now, None);
    token_with(&app, &grant, &strict, Some(&proof))
        .await
        .expect(200);
}

async fn a_bound_token_works_only_with_a_fresh_proof_by_its_key(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("bound@example.com").await;
    let web = app
        .client_with(
            "confidential",
            &["password", "refresh_token"],
            &[],
            &[],
            true,
        )
        .await;
    let key = Key::new();
    let now = app.state.clock.now().timestamp();
    let proof = key.proof("POST", &token_url(), now, None);
    let tokens = token_with(
        &app,
        &[
            ("grant_type", "password"),
            ("username", "bound@example.com"),
            ("password", PASSWORD),
        ],
        &web,
        Some(&proof),
    )
    .await
    .expect(200)
    .clone();
    assert_eq!(tokens["token_type"], "DPoP");
    let token = s(&tokens["access_token"]).to_owned();
    let me_url = format!("{ISSUER}/api/users/me");

    let call = |scheme: &'static str, proof: Option<String>| {
        let mut request = app
            .client
            .get(app.url("/api/users/me"))
            .header("authorization", format!("{scheme} {token}"));
        if let Some(proof) = proof {
            request = request.header("dpop", proof);
        }
        async move { Reply::read_public(request.send().await.unwrap()).await }
    };
    // The honest call.
    let proof = key.proof("GET", &me_url, now, Some(&token));
    call("DPoP", Some(proof.clone())).await.expect(200);
    // The attacks.
    let other = Key::new();
    let attacks = [
        ("the token as a Bearer token", call("Bearer", None).await),
        ("the DPoP scheme without a proof", call("DPoP", None).await),
        ("the same proof again", call("DPoP", Some(proof)).await),
        (
            "a proof without ath",
            call("DPoP", Some(key.proof("GET", &me_url, now, None))).await,
        ),
        (
            "a proof for another token",
            call(
                "DPoP",
                Some(key.proof("GET", &me_url, now, Some("another.token.value"))),
            )
            .await,
        ),
        (
            "a proof by another key (a thief's own)",
            call("DPoP", Some(other.proof("GET", &me_url, now, Some(&token)))).await,
        ),
        (
            "a proof for another route",
            call(
                "DPoP",
                Some(key.proof(
                    "GET",
                    &format!("{ISSUER}/oauth/userinfo"),
                    now,
                    Some(&token),
                )),
            )
            .await,
        ),
    ];
    for (attack, reply) in &attacks {
        assert_eq!(reply.status, 401, "{attack}: {}", reply.text);
    }
    // An unbound token is not taken with the DPoP scheme.
    let plain = app.login("bound@example.com", None).await;
    let unbound = app
        .client
        .get(app.url("/api/users/me"))
        .header(
            "authorization",
            format!("DPoP {}", s(&plain["access_token"])),
        )
        .header(
            "dpop",
            key.proof("GET", &me_url, now, Some(s(&plain["access_token"]))),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(unbound.status().as_u16(), 401);

    // A confidential client's refresh token is not bound (RFC 9449 section 5): it may refresh
    // with a new key, and the new access token is bound to that one.
    let newer = Key::new();
    let refreshed = token_with(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", s(&tokens["refresh_token"])),
        ],
        &web,
        Some(&newer.proof("POST", &token_url(), now, None)),
    )
    .await
    .expect(200)
    .clone();
    let claims = crate::authorize::claims(s(&refreshed["access_token"]));
    assert_eq!(claims["cnf"]["jkt"], newer.thumbprint().as_str());
}

/// A proof used at one instance is refused at the other: the replay record is shared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proof_is_used_once_across_instances() {
    let (a, b) = crate::harness::spawn_pair(Backend::Postgres, &[]).await;
    let service = a
        .client("confidential", &["client_credentials"], &["api"], &[])
        .await;
    let key = Key::new();
    let proof = key.proof("POST", &token_url(), a.state.clock.now().timestamp(), None);
    let grant = [("grant_type", "client_credentials")];
    token_with(&a, &grant, &service, Some(&proof))
        .await
        .expect(200);
    refused_proof(
        &token_with(&b, &grant, &service, Some(&proof)).await,
        "the same proof at the other instance",
    );
}

/// `AUTHD_DPOP_REQUIRE_NONCE=true`: a proof without authd's nonce, with a made-up one, or with
/// one from more than two windows ago is answered `use_dpop_nonce` with a fresh nonce (at the
/// token endpoint as an OAuth error, at the account API as a `DPoP` challenge); with it, the
/// request goes through. Every answer to a request with a proof carries a nonce.
async fn with_nonces_required_a_proof_made_in_advance_is_useless(backend: Backend) {
    let app =
        crate::harness::spawn_app_with(backend, &[("AUTHD_DPOP_REQUIRE_NONCE", "true")]).await;
    app.verified_user("nonce@example.com").await;
    let web = app
        .client_with("confidential", &["password"], &[], &[], true)
        .await;
    let key = Key::new();
    let now = || app.state.clock.now().timestamp();
    let grant = [
        ("grant_type", "password"),
        ("username", "nonce@example.com"),
        ("password", PASSWORD),
    ];
    let asked = token_with(
        &app,
        &grant,
        &web,
        Some(&key.proof("POST", &token_url(), now(), None)),
    )
    .await;
    assert_eq!(asked.status, 400, "{}", asked.text);
    assert_eq!(asked.json["error"], "use_dpop_nonce");
    let nonce = asked
        .header("dpop-nonce")
        .expect("a nonce to use")
        .to_owned();
    let forged = key.proof_with(
        "POST",
        &token_url(),
        now(),
        None,
        Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    );
    let refused = token_with(&app, &grant, &web, Some(&forged)).await;
    assert_eq!(refused.json["error"], "use_dpop_nonce", "a made-up nonce");
    let proof = key.proof_with("POST", &token_url(), now(), None, Some(&nonce));
    let tokens = token_with(&app, &grant, &web, Some(&proof)).await;
    assert!(tokens.header("dpop-nonce").is_some());
    let token = s(&tokens.expect(200)["access_token"]).to_owned();

    let me = |proof: String| {
        let request = app
            .client
            .get(app.url("/api/users/me"))
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", proof);
        async move { Reply::read_public(request.send().await.unwrap()).await }
    };
    let me_url = format!("{ISSUER}/api/users/me");
    let challenged = me(key.proof("GET", &me_url, now(), Some(&token))).await;
    assert_eq!(challenged.status, 401);
    assert_eq!(
        challenged.header("www-authenticate"),
        Some("DPoP error=\"use_dpop_nonce\"")
    );
    let fresh = challenged.header("dpop-nonce").expect("a nonce").to_owned();
    me(key.proof_with("GET", &me_url, now(), Some(&token), Some(&fresh)))
        .await
        .expect(200);
    // A nonce from more than two windows ago is refused: proofs cannot be stocked.
    app.advance(std::time::Duration::from_secs(11 * 60));
    let stale = token_with(
        &app,
        &grant,
        &web,
        Some(&key.proof_with("POST", &token_url(), now(), None, Some(&nonce))),
    )
    .await;
    assert_eq!(stale.json["error"], "use_dpop_nonce", "{}", stale.text);
}
