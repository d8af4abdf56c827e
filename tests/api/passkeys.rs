//! Passkeys through the account API, with a software authenticator that does what a browser
//! and its authenticator do (WebAuthn's `none` attestation, ES256, user verified): register,
//! the second step of a login, a sign-in without a name; every ceremony started on one
//! instance and finished on the other. And the attacks: replays, another account's key,
//! another site's, a cloned authenticator, a credential registered twice, stale or forged
//! ceremony state.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::both_backends;
use crate::harness::{Backend, PASSWORD, TestApp, s, spawn_app_with, spawn_pair};

both_backends!(
    a_passkey_registered_and_used_across_instances,
    passkey_answers_that_must_not_pass,
    a_synced_passkey_answer_is_not_replayable,
    passkeys_are_off_where_browsers_offer_none,
);

const ISSUER: &str = "https://auth.example.test";

/// A minimal CBOR writer: what an authenticator's answers hold.
fn cbor_head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend([m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend((n as u16).to_be_bytes());
        }
        _ => {
            out.push(m | 26);
            out.extend((n as u32).to_be_bytes());
        }
    }
}

fn cbor_int(out: &mut Vec<u8>, v: i64) {
    if v >= 0 {
        cbor_head(out, 0, v as u64);
    } else {
        cbor_head(out, 1, (-1 - v) as u64);
    }
}

fn cbor_bytes(out: &mut Vec<u8>, b: &[u8]) {
    cbor_head(out, 2, b.len() as u64);
    out.extend(b);
}

fn cbor_text(out: &mut Vec<u8>, t: &str) {
    cbor_head(out, 3, t.len() as u64);
    out.extend(t.as_bytes());
}

fn b64(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

fn unb64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s).unwrap()
}

/// A software authenticator holding one ES256 key: a passkey with user verification.
pub struct SoftKey {
    key: EcdsaKeyPair,
    credential_id: Vec<u8>,
    /// The user handle the registration gave (a discoverable credential keeps it).
    user: Vec<u8>,
    pub counter: u32,
    /// A synced passkey (a password manager's): its counter stays 0, so only the server's
    /// single-use challenges stop a replay.
    pub synced: bool,
    /// The site the authenticator (and the browser's origin) believe they talk to.
    pub rp_id: String,
    pub origin: String,
}

impl SoftKey {
    pub fn new() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let key =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
        let credential_id: Vec<u8> = (0..32).map(|_| rand::random::<u8>()).collect();
        let url = url::Url::parse(ISSUER).unwrap();
        Self {
            key,
            credential_id,
            user: Vec::new(),
            counter: 0,
            synced: false,
            rp_id: url.host_str().unwrap().to_owned(),
            origin: url.origin().ascii_serialization(),
        }
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        json!({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false})
            .to_string()
            .into_bytes()
    }

    fn auth_data(&mut self, attested: bool) -> Vec<u8> {
        if !self.synced {
            self.counter += 1;
        }
        let mut out = sha2::Sha256::digest(self.rp_id.as_bytes()).to_vec();
        // User present, user verified; attested credential data on registration.
        out.push(0x01 | 0x04 | if attested { 0x40 } else { 0 });
        out.extend(self.counter.to_be_bytes());
        if attested {
            out.extend([0u8; 16]);
            out.extend((self.credential_id.len() as u16).to_be_bytes());
            out.extend(&self.credential_id);
            let public = self.key.public_key().as_ref();
            let mut cose = Vec::new();
            cbor_head(&mut cose, 5, 5);
            for (k, v) in [(1, 2), (3, -7), (-1, 1)] {
                cbor_int(&mut cose, k);
                cbor_int(&mut cose, v);
            }
            cbor_int(&mut cose, -2);
            cbor_bytes(&mut cose, &public[1..33]);
            cbor_int(&mut cose, -3);
            cbor_bytes(&mut cose, &public[33..65]);
            out.extend(cose);
        }
        out
    }

    /// The answer to `navigator.credentials.create(options)`.
    pub fn register(&mut self, options: &Value) -> Value {
        let public_key = &options["publicKey"];
        self.user = unb64(s(&public_key["user"]["id"]));
        let client_data = self.client_data("webauthn.create", s(&public_key["challenge"]));
        let auth_data = self.auth_data(true);
        let mut attestation = Vec::new();
        cbor_head(&mut attestation, 5, 3);
        cbor_text(&mut attestation, "fmt");
        cbor_text(&mut attestation, "none");
        cbor_text(&mut attestation, "attStmt");
        cbor_head(&mut attestation, 5, 0);
        cbor_text(&mut attestation, "authData");
        cbor_bytes(&mut attestation, &auth_data);
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "attestationObject": b64(&attestation),
                "clientDataJSON": b64(&client_data),
            },
            "clientExtensionResults": {},
        })
    }

    /// The answer to `navigator.credentials.get(options)`.
    pub fn assert(&mut self, options: &Value) -> Value {
        let client_data = self.client_data("webauthn.get", s(&options["publicKey"]["challenge"]));
        let auth_data = self.auth_data(false);
        let mut signed = auth_data.clone();
        signed.extend(sha2::Sha256::digest(&client_data));
        let signature = self.key.sign(&SystemRandom::new(), &signed).unwrap();
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(signature.as_ref()),
                "userHandle": b64(&self.user),
            },
            "clientExtensionResults": {},
        })
    }
}

/// Signs `email` in (the password; no factor yet) and registers `key` as a passkey named
/// `name`: its factor id and the registration's answer.
async fn register(app: &TestApp, email: &str, key: &mut SoftKey, name: &str) -> (String, Value) {
    let at = s(&app.login(email, None).await["access_token"]).to_owned();
    let started = app
        .post_auth(
            "/api/users/me/factors",
            &at,
            json!({"type": "passkey", "name": name}),
        )
        .await;
    let started = started.expect(201).clone();
    assert_eq!(started["status"], "pending");
    let id = s(&started["id"]).to_owned();
    let answer = key.register(&started["options"]);
    let confirmed = app
        .post_auth(
            &format!("/api/users/me/factors/{id}/verify"),
            &at,
            json!({"credential": answer}),
        )
        .await;
    assert_eq!(confirmed.expect(200)["status"], "active");
    (id, answer)
}

/// The login's first step for an account with a passkey: the challenge and its options.
async fn challenge(app: &TestApp, email: &str) -> (String, Value) {
    let r = app
        .post(
            "/api/auth/login",
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    let body = r.expect(200).clone();
    assert_eq!(body["mfa_required"], true, "{body}");
    (s(&body["challenge"]).to_owned(), body["passkey"].clone())
}

/// Two instances on one PostgreSQL; SQLite serves one, which then plays both.
async fn two(backend: Backend) -> (TestApp, Option<TestApp>) {
    let settings = [("AUTHD_ISSUER", ISSUER)];
    match backend {
        Backend::Postgres => {
            let (a, b) = spawn_pair(backend, &settings).await;
            (a, Some(b))
        }
        Backend::Sqlite => (spawn_app_with(backend, &settings).await, None),
    }
}

fn claims(token: &str) -> Value {
    crate::authorize::claims(token)
}

async fn a_passkey_registered_and_used_across_instances(backend: Backend) {
    let (a, second) = two(backend).await;
    let b = second.as_ref().unwrap_or(&a);
    a.verified_user("pia@example.com").await;
    let mut key = SoftKey::new();
    let (id, _) = register(&a, "pia@example.com", &mut key, "Phone").await;
    let notice = a.smtp.wait_for("pia@example.com", 2).await;
    assert!(notice.subject().starts_with("A second factor was added"));

    // The login on A asks for the passkey; B takes its answer.
    let (c, options) = challenge(&a, "pia@example.com").await;
    assert_eq!(
        options["publicKey"]["allowCredentials"][0]["id"],
        json!(b64(&key.credential_id))
    );
    let answer = key.assert(&options);
    let tokens = b
        .post(
            "/api/auth/mfa/verify",
            json!({"challenge": c, "credential": answer}),
        )
        .await;
    let tokens = tokens.expect(200).clone();
    let access = claims(s(&tokens["access_token"]));
    assert_eq!(access["amr"], json!(["pwd", "hwk", "user"]));
    assert_eq!(access["acr"], json!("aal2"));
    // Spent: the same answer again opens nothing.
    let again = b
        .post(
            "/api/auth/mfa/verify",
            json!({"challenge": c, "credential": answer}),
        )
        .await;
    assert_eq!(again.status, 401);

    // No name typed: options from A, the answer to B.
    let started = a.post("/api/auth/passkey/options", json!({})).await;
    let started = started.expect(200).clone();
    let answer = key.assert(&started["options"]);
    let body = json!({"state": started["state"], "credential": answer});
    let tokens = b.post("/api/auth/passkey/login", body.clone()).await;
    let tokens = tokens.expect(200).clone();
    let access = claims(s(&tokens["access_token"]));
    assert_eq!(access["amr"], json!(["hwk", "user"]));
    assert_eq!(access["acr"], json!("aal2"));
    let me = b
        .get("/api/users/me", Some(s(&tokens["access_token"])))
        .await;
    assert_eq!(me.expect(200)["email"], json!("pia@example.com"));
    // A replay of that answer (same state, same signature) on either instance.
    for app in [&a, b] {
        let replay = app.post("/api/auth/passkey/login", body.clone()).await;
        assert_eq!(replay.status, 401, "{}", replay.text);
    }

    // Listed with its last use; renamed; removed with a recent second factor (this sign-in).
    let at = s(&tokens["access_token"]).to_owned();
    let listed = a.get("/api/users/me/factors", Some(&at)).await;
    let listed = listed.expect(200).clone();
    assert_eq!(listed["factors"][0]["type"], "passkey");
    assert_eq!(listed["factors"][0]["name"], "Phone");
    assert!(listed["factors"][0]["last_used_at"].is_string());
    let path = format!("/api/users/me/factors/{id}");
    a.send(
        reqwest::Method::PATCH,
        &path,
        Some(&at),
        Some(json!({"name": "Pixel"})),
    )
    .await
    .expect(200);
    let removed = a
        .send(reqwest::Method::DELETE, &path, Some(&at), Some(json!({})))
        .await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    let login = a
        .post(
            "/api/auth/login",
            json!({"email": "pia@example.com", "password": PASSWORD}),
        )
        .await;
    assert!(login.expect(200)["access_token"].is_string());
}

async fn passkey_answers_that_must_not_pass(backend: Backend) {
    let (a, second) = two(backend).await;
    let b = second.as_ref().unwrap_or(&a);
    let ann_id = a.verified_user("ann@example.com").await;
    a.verified_user("bob@example.com").await;
    let mut ann = SoftKey::new();
    let (_, registration) = register(&a, "ann@example.com", &mut ann, "Ann's key").await;
    let ann_handle = b64(&ann.user);

    // Bob registers Ann's credential (the same id): one credential, one account.
    let bob_at = s(&a.login("bob@example.com", None).await["access_token"]).to_owned();
    let started = a
        .post_auth("/api/users/me/factors", &bob_at, json!({"type": "passkey"}))
        .await;
    let started = started.expect(201).clone();
    let bob_factor = s(&started["id"]).to_owned();
    let stolen = ann.register(&started["options"]);
    let taken = b
        .post_auth(
            &format!("/api/users/me/factors/{bob_factor}/verify"),
            &bob_at,
            json!({"credential": stolen}),
        )
        .await;
    assert_eq!(taken.status, 409, "{}", taken.text);
    // Ann's old registration answer for Bob's pending factor: another challenge.
    let replayed = b
        .post_auth(
            &format!("/api/users/me/factors/{bob_factor}/verify"),
            &bob_at,
            json!({"credential": registration}),
        )
        .await;
    assert_eq!(replayed.status, 400, "{}", replayed.text);
    assert!(
        replayed.json["errors"]["credential"].is_string(),
        "{}",
        replayed.text
    );
    // Not a credential at all.
    let garbage = b
        .post_auth(
            &format!("/api/users/me/factors/{bob_factor}/verify"),
            &bob_at,
            json!({"credential": {"id": "x"}}),
        )
        .await;
    assert_eq!(garbage.status, 400, "{}", garbage.text);
    let mut bob = SoftKey::new();
    let bob_reg = bob.register(&started["options"]);
    b.post_auth(
        &format!("/api/users/me/factors/{bob_factor}/verify"),
        &bob_at,
        json!({"credential": bob_reg}),
    )
    .await
    .expect(200);

    // Ann's challenge answered with Bob's key; with Ann's key for another site; by a clone of
    // Ann's key whose counter went back; nothing passes, and the right answer still does.
    let (c, options) = challenge(&a, "ann@example.com").await;
    let verify = |answer: Value| {
        let c = c.clone();
        async move {
            b.post(
                "/api/auth/mfa/verify",
                json!({"challenge": c, "credential": answer}),
            )
            .await
        }
    };
    assert_eq!(verify(bob.assert(&options)).await.status, 401);
    let real_rp = std::mem::replace(&mut ann.rp_id, "evil.example".into());
    assert_eq!(verify(ann.assert(&options)).await.status, 401);
    ann.rp_id = real_rp;
    let real_origin = std::mem::replace(&mut ann.origin, "https://evil.example".into());
    assert_eq!(verify(ann.assert(&options)).await.status, 401);
    ann.origin = real_origin;
    let counted = ann.counter;
    ann.counter = 0;
    let cloned = verify(ann.assert(&options)).await;
    assert_eq!(cloned.status, 401, "a clone's counter went back");
    ann.counter = counted + 10;
    let tokens = verify(ann.assert(&options)).await;
    assert_eq!(
        claims(s(&tokens.expect(200)["access_token"]))["sub"],
        json!(ann_id)
    );

    // Sign-ins without a name: Bob's answer with a user handle naming Ann; stale options;
    // forged state.
    let started = a.post("/api/auth/passkey/options", json!({})).await;
    let started = started.expect(200).clone();
    let mut forged = bob.assert(&started["options"]);
    forged["response"]["userHandle"] = json!(ann_handle);
    let r = b
        .post(
            "/api/auth/passkey/login",
            json!({"state": started["state"], "credential": forged}),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    let mut tampered = s(&started["state"]).to_owned();
    tampered.replace_range(10..11, if &tampered[10..11] == "A" { "B" } else { "A" });
    let r = b
        .post(
            "/api/auth/passkey/login",
            json!({"state": tampered, "credential": ann.assert(&started["options"])}),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    a.advance(std::time::Duration::from_secs(6 * 60));
    b.advance(std::time::Duration::from_secs(6 * 60));
    let r = b
        .post(
            "/api/auth/passkey/login",
            json!({"state": started["state"], "credential": ann.assert(&started["options"])}),
        )
        .await;
    assert_eq!(r.status, 401, "expired: {}", r.text);
    let r = b
        .post(
            "/api/auth/passkey/login",
            json!({"state": started["state"]}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
}

/// A synced passkey signs with a counter of 0 every time, so the counter cannot tell a replay:
/// a captured answer (its sign-in without a name, or its second step) opens nothing twice.
async fn a_synced_passkey_answer_is_not_replayable(backend: Backend) {
    let (a, second) = two(backend).await;
    let b = second.as_ref().unwrap_or(&a);
    a.verified_user("sam@example.com").await;
    let mut key = SoftKey::new();
    key.synced = true;
    register(&a, "sam@example.com", &mut key, "Password manager").await;

    let started = a.post("/api/auth/passkey/options", json!({})).await;
    let started = started.expect(200).clone();
    let body = json!({"state": started["state"], "credential": key.assert(&started["options"])});
    b.post("/api/auth/passkey/login", body.clone())
        .await
        .expect(200);
    for app in [&a, b] {
        let replay = app.post("/api/auth/passkey/login", body.clone()).await;
        assert_eq!(replay.status, 401, "{}", replay.text);
    }

    let (c, options) = challenge(&a, "sam@example.com").await;
    let body = json!({"challenge": c, "credential": key.assert(&options)});
    b.post("/api/auth/mfa/verify", body.clone())
        .await
        .expect(200);
    let replay = a.post("/api/auth/mfa/verify", body).await;
    assert_eq!(replay.status, 401, "{}", replay.text);
}

/// Under a plain-HTTP name other than localhost (the tests' usual issuer) browsers offer no
/// WebAuthn: authd offers no passkey either, and says why.
async fn passkeys_are_off_where_browsers_offer_none(backend: Backend) {
    let app = crate::harness::spawn_app(backend).await;
    app.verified_user("off@example.com").await;
    let at = s(&app.login("off@example.com", None).await["access_token"]).to_owned();
    let r = app
        .post_auth("/api/users/me/factors", &at, json!({"type": "passkey"}))
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(r.text.contains("HTTPS"), "{}", r.text);
    let r = app.post("/api/auth/passkey/options", json!({})).await;
    assert_eq!(r.status, 403, "{}", r.text);
    let page = app.get("/account/sign-in", None).await;
    assert_eq!(page.status, 200);
    assert!(!page.text.contains("data-passkey"), "{}", page.text);
}
