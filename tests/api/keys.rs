//! Key rotation as a resource server sees it: a new key is in the JWKS before it signs, a
//! retired key verifies until its tokens expire, and then it is gone.

use std::time::Duration;

use authd::storage::signing_keys;
use serde_json::{Value, json};

use crate::both_backends;
use crate::harness::{Backend, s, spawn_app};
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
    let new = signing_keys::rotate(
        &app.state.db,
        &cli,
        app.state.clock.now(),
        Duration::from_secs(600),
    )
    .await
    .unwrap();
    app.refresh_keys().await; // what the running server does every 5 s
    let cached_jwks: Value = app
        .get("/.well-known/jwks.json", None)
        .await
        .expect(200)
        .clone();
    assert_eq!(
        cached_jwks["keys"].as_array().unwrap().len(),
        2,
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
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| s(&k["kid"]))
        .collect();
    assert_eq!(kids, vec![new.kid.as_str()]);
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
