//! Upstreams that lie or fail, run in the test: an OpenID provider whose ID tokens name another
//! issuer or audience, carry another nonce, are signed with a key it never published, or
//! expired; one that answers too slowly; and a GitHub look-alike (GitHub's OAuth and REST
//! endpoints, as GitHub Enterprise serves them) whose primary email is or is not verified.
//! None of their answers signs anyone in, except the honest ones.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::both_backends;
use crate::harness::Backend;
use crate::upstream::{CB, authd_at, browser, follow, free_port, location};

both_backends!(
    id_tokens_that_do_not_verify_sign_nobody_in,
    a_github_account_signs_in_by_its_verified_primary_email,
);

/// A key as an RSA provider holds it: what signs, and its JWK.
struct Key {
    encoding: jsonwebtoken::EncodingKey,
    jwk: Value,
}

fn key(kid: &str) -> Key {
    let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let der = pair.as_der().unwrap();
    let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref().to_vec()));
    let public = aws_lc_rs::signature::KeyPair::public_key(&pair);
    let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
    let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
    Key {
        encoding: jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
        jwk: json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": n, "e": e}),
    }
}

/// What the lying provider does next.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Lie {
    None,
    Issuer,
    Audience,
    Nonce,
    UnpublishedKey,
    Expired,
    NoIdToken,
    Slow,
}

struct Liar {
    base: String,
    client_id: String,
    published: Key,
    unpublished: Key,
    lie: Mutex<Lie>,
}

async fn liar() -> Arc<Liar> {
    let port = free_port();
    let liar = Arc::new(Liar {
        base: format!("http://127.0.0.1:{port}"),
        client_id: "authd-under-test".into(),
        published: key("k1"),
        unpublished: key("k1"),
        lie: Mutex::new(Lie::None),
    });
    let app = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize))
        .route("/token", post(token))
        .with_state(liar.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    liar
}

async fn discovery(State(l): State<Arc<Liar>>) -> Json<Value> {
    Json(json!({
        "issuer": l.base,
        "authorization_endpoint": format!("{}/authorize", l.base),
        "token_endpoint": format!("{}/token", l.base),
        "jwks_uri": format!("{}/jwks", l.base),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn jwks(State(l): State<Arc<Liar>>) -> Json<Value> {
    Json(json!({"keys": [l.published.jwk]}))
}

/// Signs the person in at once: the code carries the nonce, to be put in the ID token.
async fn authorize(Query(q): Query<std::collections::HashMap<String, String>>) -> Redirect {
    let mut to = url::Url::parse(&q["redirect_uri"]).unwrap();
    to.query_pairs_mut()
        .append_pair("code", &q["nonce"])
        .append_pair("state", &q["state"]);
    Redirect::to(to.as_str())
}

async fn token(
    State(l): State<Arc<Liar>>,
    Form(form): Form<std::collections::HashMap<String, String>>,
) -> axum::response::Response {
    let lie = *l.lie.lock().unwrap();
    if lie == Lie::Slow {
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": if lie == Lie::Issuer { "https://evil.example".to_owned() } else { l.base.clone() },
        "aud": if lie == Lie::Audience { "someone-else".to_owned() } else { l.client_id.clone() },
        "sub": "liar-subject-1",
        "email": "lee@example.com",
        "email_verified": true,
        "nonce": if lie == Lie::Nonce { "another-nonce".to_owned() } else { form["code"].clone() },
        "iat": now,
        "exp": if lie == Lie::Expired { now - 600 } else { now + 300 },
    });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("k1".into());
    let signer = if lie == Lie::UnpublishedKey {
        &l.unpublished
    } else {
        &l.published
    };
    let id_token = jsonwebtoken::encode(&header, &claims, &signer.encoding).unwrap();
    let mut body = json!({"access_token": "at", "token_type": "Bearer", "expires_in": 300});
    if lie != Lie::NoIdToken {
        body["id_token"] = json!(id_token);
    }
    Json(body).into_response()
}

async fn id_tokens_that_do_not_verify_sign_nobody_in(backend: Backend) {
    let liar = liar().await;
    let (app, base) = authd_at(
        backend,
        "127.0.0.1",
        free_port(),
        &[
            ("AUTHD_UPSTREAM_PROVIDERS", "liar"),
            ("AUTHD_UPSTREAM_LIAR_ISSUER", &liar.base),
            ("AUTHD_UPSTREAM_LIAR_NAME", "Liar"),
            ("AUTHD_UPSTREAM_LIAR_CLIENT_ID", &liar.client_id),
            ("AUTHD_UPSTREAM_LIAR_CLIENT_SECRET", "s3cret"),
        ],
    )
    .await;
    let start = format!("{base}/oauth/upstream/liar/start?continue=%2Faccount%2Fsecurity");
    for lie in [
        Lie::Issuer,
        Lie::Audience,
        Lie::Nonce,
        Lie::UnpublishedKey,
        Lie::Expired,
        Lie::NoIdToken,
    ] {
        *liar.lie.lock().unwrap() = lie;
        let b = browser();
        let (r, _) = follow(&b, &start, CB).await;
        assert_eq!(r.status(), 400, "{lie:?}");
        let page = r.text().await.unwrap();
        assert!(page.contains("could not be verified"), "{lie:?}: {page}");
    }
    // Nobody was made from any of it.
    let made = authd::storage::users::find_user(
        &app.state.db,
        authd::storage::users::UserKey::Email("lee@example.com"),
    )
    .await
    .unwrap();
    assert!(made.is_none());

    // Too slow: a page within the bound, not a hung request.
    *liar.lie.lock().unwrap() = Lie::Slow;
    let began = Instant::now();
    let (r, _) = follow(&browser(), &start, CB).await;
    assert_eq!(r.status(), 424);
    assert!(
        began.elapsed() < Duration::from_secs(20),
        "{:?}",
        began.elapsed()
    );

    // The honest answer signs in.
    *liar.lie.lock().unwrap() = Lie::None;
    let b = browser();
    let (r, at) = follow(&b, &start, CB).await;
    assert!(
        at.ends_with("/account/security") || r.status() == 200,
        "{at}"
    );
    let made = authd::storage::users::find_user(
        &app.state.db,
        authd::storage::users::UserKey::Email("lee@example.com"),
    )
    .await
    .unwrap();
    assert!(made.is_some_and(|u| u.is_email_verified && u.password_hash.is_none()));
}

/// The GitHub look-alike's people: a verified primary address, or an unverified one.
struct Hub {
    web: String,
    verified: Mutex<bool>,
}

async fn hub() -> Arc<Hub> {
    let port = free_port();
    let hub = Arc::new(Hub {
        web: format!("http://127.0.0.1:{port}"),
        verified: Mutex::new(true),
    });
    let app = Router::new()
        .route("/login/oauth/authorize", get(hub_authorize))
        .route("/login/oauth/access_token", post(hub_token))
        .route("/api/v3/user", get(hub_user))
        .route("/api/v3/user/emails", get(hub_emails))
        .with_state(hub.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    hub
}

async fn hub_authorize(Query(q): Query<std::collections::HashMap<String, String>>) -> Redirect {
    assert_eq!(q["scope"], "read:user user:email");
    let mut to = url::Url::parse(&q["redirect_uri"]).unwrap();
    to.query_pairs_mut()
        .append_pair("code", "hub-code")
        .append_pair("state", &q["state"]);
    Redirect::to(to.as_str())
}

async fn hub_token(
    headers: axum::http::HeaderMap,
    Form(form): Form<std::collections::HashMap<String, String>>,
) -> Json<Value> {
    assert_eq!(headers["accept"], "application/json");
    if form["code"] != "hub-code" || form["client_secret"] != "hub-secret" {
        return Json(json!({"error": "bad_verification_code"}));
    }
    assert!(!form["code_verifier"].is_empty());
    Json(
        json!({"access_token": "gho_test", "token_type": "bearer", "scope": "read:user,user:email"}),
    )
}

async fn hub_user(headers: axum::http::HeaderMap) -> axum::response::Response {
    if headers["authorization"] != "Bearer gho_test" {
        return axum::http::StatusCode::UNAUTHORIZED.into_response();
    }
    Json(json!({"id": 583231, "login": "octo", "name": "Octo Cat"})).into_response()
}

async fn hub_emails(State(h): State<Arc<Hub>>) -> Json<Value> {
    let verified = *h.verified.lock().unwrap();
    Json(json!([
        {"email": "octo@users.noreply.example", "primary": false, "verified": true},
        {"email": "octo@example.com", "primary": true, "verified": verified},
    ]))
}

async fn a_github_account_signs_in_by_its_verified_primary_email(backend: Backend) {
    let hub = hub().await;
    let api = format!("{}/api/v3", hub.web);
    let (app, base) = authd_at(
        backend,
        "127.0.0.1",
        free_port(),
        &[
            ("AUTHD_UPSTREAM_PROVIDERS", "github"),
            ("AUTHD_UPSTREAM_GITHUB_ISSUER", &hub.web),
            ("AUTHD_UPSTREAM_GITHUB_API_URL", &api),
            ("AUTHD_UPSTREAM_GITHUB_CLIENT_ID", "Iv1.hub"),
            ("AUTHD_UPSTREAM_GITHUB_CLIENT_SECRET", "hub-secret"),
        ],
    )
    .await;
    let start = format!("{base}/oauth/upstream/github/start?continue=%2Faccount%2Fsecurity");
    // Unverified primary: refused, nothing made.
    *hub.verified.lock().unwrap() = false;
    let (r, _) = follow(&browser(), &start, CB).await;
    assert_eq!(r.status(), 403);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("GitHub did not confirm an email address")
    );
    // Verified: an account, signed in, with GitHub's name for the person.
    *hub.verified.lock().unwrap() = true;
    let b = browser();
    let r = b.get(&start).send().await.unwrap();
    let to_hub = location(&r);
    assert!(
        to_hub.starts_with(&format!("{}/login/oauth/authorize?", hub.web)),
        "{to_hub}"
    );
    let (r, at) = follow(&b, &to_hub, CB).await;
    assert_eq!(r.status(), 200, "{at}");
    assert!(at.ends_with("/account/security"), "{at}");
    let page = r.text().await.unwrap();
    assert!(page.contains("octo@example.com"), "{page}");
    let made = authd::storage::users::find_user(
        &app.state.db,
        authd::storage::users::UserKey::Email("octo@example.com"),
    )
    .await
    .unwrap()
    .expect("made");
    assert_eq!(made.full_name.as_deref(), Some("Octo Cat"));
    let linked = authd::storage::identities::find(&app.state.db, "github", "583231")
        .await
        .unwrap();
    assert!(linked.is_some_and(|(_, u)| u.id == made.id));
}
