//! authd as standard OAuth tooling sees it: the `openidconnect` and `oauth2` crates driving
//! discovery, every grant, userinfo, revocation and introspection; and the example resource
//! server verifying tokens through the JWKS across a key rotation.

use std::time::Duration;

use oauth2::basic::BasicClient;
use oauth2::{
    ClientId, ClientSecret, IntrospectionUrl, RefreshToken, ResourceOwnerPassword,
    ResourceOwnerUsername, TokenIntrospectionResponse, TokenUrl,
};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

use crate::both_backends;
use crate::harness::{Backend, PASSWORD, TestApp, s, spawn_app_at_own_address};

#[path = "../../examples/resource_server/verifier.rs"]
#[allow(dead_code)]
mod resource_server;

both_backends!(
    openidconnect_discovery_code_flow_and_userinfo,
    oauth2_crate_grants_revocation_and_introspection,
    resource_server_across_key_rotation
);

const CB: &str = "http://127.0.0.1:9/cb";

fn http() -> oauth2::reqwest::Client {
    oauth2::reqwest::ClientBuilder::new()
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in on authd's page in a cookie-keeping browser and returns the `code` it redirects with.
async fn sign_in_for_code(app: &TestApp, authorize_url: &str, email: &str) -> (String, String) {
    use crate::authorize::{browser, location, query, submit};
    let browser = browser();
    let page = browser
        .get(authorize_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let reply = submit(
        app,
        &browser,
        &page,
        &[
            ("action", "login"),
            ("username", email),
            ("password", PASSWORD),
        ],
    )
    .await;
    let back = location(&reply);
    (
        query(&back, "code").unwrap(),
        query(&back, "state").unwrap(),
    )
}

async fn openidconnect_discovery_code_flow_and_userinfo(backend: Backend) {
    let app = spawn_app_at_own_address(backend).await;
    let user_id = app.verified_user("oidc@example.com").await;
    let spa = app
        .client_with(
            "public",
            &["authorization_code", "refresh_token"],
            &[],
            &[CB],
            true,
        )
        .await;
    let http = http();

    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.base.clone()).unwrap(), &http)
            .await
            .expect("discovery");
    let client = CoreClient::from_provider_metadata(metadata, ClientId::new(spa.id.clone()), None)
        .set_redirect_uri(RedirectUrl::new(CB.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let (code, state) = sign_in_for_code(&app, url.as_str(), "oidc@example.com").await;
    assert_eq!(&state, csrf.secret());

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("a valid ID token, verified through the JWKS");
    assert_eq!(claims.subject().as_str(), user_id);
    assert_eq!(claims.email().map(|e| e.as_str()), Some("oidc@example.com"));
    let expected = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected));

    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.subject().as_str(), user_id);
    assert_eq!(info.email().map(|e| e.as_str()), Some("oidc@example.com"));

    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    assert_ne!(
        refreshed.refresh_token().unwrap().secret(),
        tokens.refresh_token().unwrap().secret()
    );
}

async fn oauth2_crate_grants_revocation_and_introspection(backend: Backend) {
    let app = spawn_app_at_own_address(backend).await;
    app.verified_user("o2@example.com").await;
    let svc = app
        .client(
            "confidential",
            &["client_credentials", "password", "refresh_token"],
            &["openid", "api:read"],
            &[],
        )
        .await;
    let http = http();
    let client = BasicClient::new(ClientId::new(svc.id.clone()))
        .set_client_secret(ClientSecret::new(svc.secret.clone().unwrap()))
        .set_token_uri(TokenUrl::new(app.url("/oauth/token")).unwrap())
        .set_introspection_url(IntrospectionUrl::new(app.url("/oauth/introspect")).unwrap());

    let cc = client
        .exchange_client_credentials()
        .add_scope(oauth2::Scope::new("api:read".into()))
        .request_async(&http)
        .await
        .expect("client credentials");
    assert!(cc.refresh_token().is_none());
    let view = client
        .introspect(cc.access_token())
        .request_async(&http)
        .await
        .expect("introspection");
    assert!(view.active());
    assert_eq!(view.client_id().map(|c| c.as_str()), Some(svc.id.as_str()));

    let pw = client
        .exchange_password(
            &ResourceOwnerUsername::new("o2@example.com".into()),
            &ResourceOwnerPassword::new(PASSWORD.into()),
        )
        .request_async(&http)
        .await
        .expect("password grant");
    let refresh = pw.refresh_token().unwrap().clone();
    let rotated = client
        .exchange_refresh_token(&refresh)
        .request_async(&http)
        .await
        .expect("refresh");
    let newest = rotated.refresh_token().unwrap().clone();

    // The oauth2 crate revokes over https only; over this test's http, revoke by hand.
    let secret = svc.secret.clone().unwrap();
    app.token_at(
        "/oauth/revoke",
        &[("token", newest.secret())],
        Some((&svc.id, &secret)),
    )
    .await
    .expect(200);
    let after = client
        .introspect(rotated.access_token())
        .request_async(&http)
        .await
        .unwrap();
    assert!(
        !after.active(),
        "revoking the refresh token ended the session and its access tokens"
    );
    let refused = client
        .exchange_refresh_token(&RefreshToken::new(newest.secret().clone()))
        .request_async(&http)
        .await;
    assert!(refused.is_err());
    let wrong = BasicClient::new(ClientId::new(svc.id.clone()))
        .set_client_secret(ClientSecret::new("wrong".into()))
        .set_token_uri(TokenUrl::new(app.url("/oauth/token")).unwrap());
    assert!(
        wrong
            .exchange_client_credentials()
            .request_async(&http)
            .await
            .is_err()
    );
}

async fn resource_server_across_key_rotation(backend: Backend) {
    let app = spawn_app_at_own_address(backend).await;
    app.verified_user("rs@example.com").await;
    // No refetch interval: a rotated key that signs at once (the worst case for a cache) is
    // fetched on first sight of its kid.
    let verifier = resource_server::JwksVerifier::new(&app.base, &app.base)
        .with_refetch_interval(Duration::ZERO);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rs = format!("http://{}", listener.local_addr().unwrap());
    let served = verifier.clone();
    tokio::spawn(async move { axum::serve(listener, resource_server::router(served)).await });
    let call = |token: String| {
        let url = format!("{rs}/hello");
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };

    let first = app.login("rs@example.com", None).await;
    assert_eq!(call(s(&first["access_token"]).to_owned()).await, 200);
    assert_eq!(call(s(&first["access_token"]).to_owned()).await, 200);
    assert_eq!(verifier.fetches(), 1, "the JWKS is cached");

    // A key that signs at once, as on a fresh key set: a resource server meets an unknown kid.
    let cli = app.cli_keys().await;
    let new_key = authd::storage::signing_keys::rotate(
        &app.state.db,
        &cli,
        app.state.clock.now(),
        Duration::ZERO,
        &[authd::tokens::SigningAlg::Rs256],
    )
    .await
    .unwrap()
    .remove(0);
    app.refresh_keys().await; // what every running authd does every 5 s
    let second = app.login("rs@example.com", None).await;
    assert_eq!(
        jsonwebtoken::decode_header(s(&second["access_token"]))
            .unwrap()
            .kid
            .unwrap(),
        new_key.kid
    );
    assert_eq!(
        call(s(&second["access_token"]).to_owned()).await,
        200,
        "refetched on the unknown kid"
    );
    assert_eq!(verifier.fetches(), 2);
    assert_eq!(
        call(s(&first["access_token"]).to_owned()).await,
        200,
        "the old key is still published"
    );
    assert_eq!(call("forged.token.value".into()).await, 401);
    // A DPoP-bound token (a thief's copy, without the key): the example takes Bearer tokens
    // only, and refuses it rather than ignore its binding.
    let service = app
        .client("confidential", &["client_credentials"], &["api"], &[])
        .await;
    let proof = crate::dpop::Key::new().proof(
        "POST",
        &app.url("/oauth/token"),
        app.state.clock.now().timestamp(),
        None,
    );
    let bound = app
        .client
        .post(app.url("/oauth/token"))
        .basic_auth(&service.id, service.secret.as_deref())
        .header("dpop", proof)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(bound["token_type"], "DPoP");
    assert_eq!(call(s(&bound["access_token"]).to_owned()).await, 401);

    // With the default interval, tokens naming made-up kids cannot make it hammer authd.
    let guarded = resource_server::JwksVerifier::new(&app.base, &app.base);
    assert!(guarded.verify(s(&second["access_token"])).await.is_ok());
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.typ = Some("at+jwt".into());
    for i in 0..5 {
        header.kid = Some(format!("made-up-{i}"));
        let pem = rsa_pem_of(&app).await;
        let forged = jsonwebtoken::encode(
            &header,
            &serde_json::json!({"sub": "x"}),
            &jsonwebtoken::EncodingKey::from_rsa_pem(&pem).unwrap(),
        )
        .unwrap();
        assert!(guarded.verify(&forged).await.is_err());
    }
    assert_eq!(guarded.fetches(), 1);
}

/// Any RSA private key will do for a token with a made-up kid: authd's own, read from disk.
async fn rsa_pem_of(app: &TestApp) -> Vec<u8> {
    let kid = app.state.keys.all()[0].kid.clone();
    app.private_pem(&kid).await
}
