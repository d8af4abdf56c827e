//! authd driven by the relying-party libraries people use, unmodified: openid-client (Node)
//! runs `tests/conformance/openid_client.mjs`, Authlib (Python) `authlib_client.py`, against
//! the real server.
//!
//! Needs `node` with `npm ci` in `tests/conformance`, and `python3` with
//! `pip install -r tests/conformance/requirements.txt` (in a venv): `#[ignore]`d for that, run
//! by `cargo test -- --include-ignored` (`.ci/run` installs both and does).

use std::process::Command;

use authd::tokens::SigningAlg;

use crate::harness::{Backend, PASSWORD, spawn_app_at_own_address, spawn_app_at_own_address_with};

const CALLBACK: &str = "http://127.0.0.1:9/cb";
const AFTER_LOGOUT: &str = "http://127.0.0.1:9/bye";

fn conformance_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance")
}

/// Fails, saying what to install, when the library is not there.
fn installed(present: bool, how: &str) -> bool {
    assert!(present, "not installed: {how} first");
    present
}

/// Runs `program` with `args` (the script first) in tests/conformance, and checks that it
/// passed.
async fn passes(
    program: &'static str,
    script: &'static str,
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
) {
    let output = tokio::task::spawn_blocking(move || {
        Command::new(program)
            .current_dir(conformance_dir())
            .args(&args)
            .envs(env)
            .output()
            .unwrap_or_else(|e| panic!("{program} runs: {e}"))
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
}

/// How the tokens are signed in a run: `AUTHD_SIGNING_ALG`, and the client's own ID token
/// algorithm if it names one. The script is told what to expect (`ID_TOKEN_ALG`,
/// `ACCESS_TOKEN_ALG`).
#[derive(Clone, Copy)]
struct Signing {
    server: SigningAlg,
    client: Option<SigningAlg>,
}

const RS256: Signing = Signing {
    server: SigningAlg::Rs256,
    client: None,
};

/// Starts authd with a verified `email` and a first-party confidential client for it, runs
/// `program script` with the issuer, client id, secret, callback, email, password and
/// post-logout address, and checks that it passed.
async fn run_relying_party(program: &'static str, script: &'static str, email: &str) {
    run_relying_party_signing(program, script, email, RS256).await
}

async fn run_relying_party_signing(
    program: &'static str,
    script: &'static str,
    email: &str,
    signing: Signing,
) {
    use authd::oauth::client::{ClientType, GrantType, NewClient};
    let app = spawn_app_at_own_address_with(
        Backend::Sqlite,
        &[("AUTHD_SIGNING_ALG", signing.server.as_str())],
    )
    .await;
    app.verified_user(email).await;
    // Where the relying party's backend takes back-channel logout tokens (the Node script
    // listens there).
    let backchannel_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let rp = app
        .register_client(NewClient {
            name: script.into(),
            client_type: ClientType::Confidential,
            redirect_uris: vec![CALLBACK.into()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scopes: vec![],
            first_party: true,
            can_introspect: false,
            post_logout_redirect_uris: vec![AFTER_LOGOUT.into()],
            backchannel_logout_uri: Some(format!(
                "http://127.0.0.1:{backchannel_port}/backchannel-logout"
            )),
            require_mfa: false,
            id_token_alg: signing.client,
            require_dpop: false,
        })
        .await;
    let args = [
        script.to_owned(),
        app.base.clone(),
        rp.id.clone(),
        rp.secret.clone().unwrap(),
        CALLBACK.to_owned(),
        email.to_owned(),
        PASSWORD.to_owned(),
        AFTER_LOGOUT.to_owned(),
        backchannel_port.to_string(),
    ];
    let mut env = vec![("ACCESS_TOKEN_ALG", signing.server.to_string())];
    if let Some(alg) = signing.client {
        env.push(("ID_TOKEN_ALG", alg.to_string()));
    } else {
        env.push(("ID_TOKEN_ALG", signing.server.to_string()));
    }
    passes(program, script, args.to_vec(), env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node and `npm ci` in tests/conformance"]
async fn openid_client_runs_the_whole_flow() {
    let present = conformance_dir()
        .join("node_modules/openid-client")
        .exists();
    if installed(present, "run `npm ci` in tests/conformance") {
        run_relying_party("node", "openid_client.mjs", "rp@example.com").await;
    }
}

/// The same flow for a client registered for EdDSA ID tokens (`clients create --id-token-alg
/// EdDSA`), which openid-client is told to require; access tokens stay RS256, and its logout
/// tokens are EdDSA too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node and `npm ci` in tests/conformance"]
async fn openid_client_runs_the_whole_flow_with_eddsa_id_tokens() {
    let present = conformance_dir()
        .join("node_modules/openid-client")
        .exists();
    if installed(present, "run `npm ci` in tests/conformance") {
        let signing = Signing {
            server: SigningAlg::Rs256,
            client: Some(SigningAlg::EdDsa),
        };
        run_relying_party_signing("node", "openid_client.mjs", "ed@example.com", signing).await;
    }
}

/// DPoP with openid-client's own support, as a public first-party client, against an authd that
/// requires server nonces (openid-client answers `use_dpop_nonce` itself): bound access and
/// refresh tokens, userinfo and the account API with proofs, and refusals without them or
/// with another key (`tests/conformance/openid_client_dpop.mjs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node and `npm ci` in tests/conformance"]
async fn openid_client_binds_tokens_with_dpop() {
    use authd::oauth::client::{ClientType, GrantType, NewClient};
    let present = conformance_dir()
        .join("node_modules/openid-client")
        .exists();
    installed(present, "run `npm ci` in tests/conformance");
    let app =
        spawn_app_at_own_address_with(Backend::Sqlite, &[("AUTHD_DPOP_REQUIRE_NONCE", "true")])
            .await;
    app.verified_user("dpop@example.com").await;
    let spa = app
        .register_client(NewClient {
            name: "DPoP app".into(),
            client_type: ClientType::Public,
            redirect_uris: vec![CALLBACK.into()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scopes: vec![],
            first_party: true,
            can_introspect: false,
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            require_mfa: false,
            id_token_alg: None,
            require_dpop: false,
        })
        .await;
    let args = vec![
        "openid_client_dpop.mjs".to_owned(),
        app.base.clone(),
        spa.id.clone(),
        CALLBACK.to_owned(),
        "dpop@example.com".to_owned(),
        PASSWORD.to_owned(),
    ];
    passes("node", "openid_client_dpop.mjs", args, Vec::new()).await;
}

/// RFC 8707 with openid-client, the tokens verified with jose as two resource servers would
/// (`tests/conformance/openid_client_resource.mjs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node and `npm ci` in tests/conformance"]
async fn openid_client_asks_for_a_token_for_one_service() {
    let present = conformance_dir()
        .join("node_modules/openid-client")
        .exists();
    installed(present, "run `npm ci` in tests/conformance");
    let app = spawn_app_at_own_address(Backend::Sqlite).await;
    let (reports, billing) = ("https://reports.example.com", "https://billing.example.com");
    app.register_resource(reports, &["reports:read"]).await;
    app.register_resource(billing, &["billing:read"]).await;
    let service = app
        .client(
            "confidential",
            &["client_credentials"],
            &["reports:read", "billing:read"],
            &[],
        )
        .await;
    let args = vec![
        "openid_client_resource.mjs".to_owned(),
        app.base.clone(),
        service.id.clone(),
        service.secret.clone().unwrap(),
        reports.to_owned(),
        billing.to_owned(),
    ];
    passes("node", "openid_client_resource.mjs", args, Vec::new()).await;
}

/// Step-up by `acr_values` and `max_age`, with an authenticator app added in between.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node and `npm ci` in tests/conformance"]
async fn openid_client_steps_up() {
    let present = conformance_dir()
        .join("node_modules/openid-client")
        .exists();
    if installed(present, "run `npm ci` in tests/conformance") {
        run_relying_party("node", "openid_client_step_up.mjs", "up@example.com").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs `pip install -r tests/conformance/requirements.txt` (in a venv)"]
async fn authlib_runs_the_whole_flow() {
    let present = Command::new("python3")
        .args(["-c", "import authlib, requests"])
        .output()
        .is_ok_and(|o| o.status.success());
    let how = "pip install -r tests/conformance/requirements.txt";
    if installed(present, how) {
        run_relying_party("python3", "authlib_client.py", "py@example.com").await;
    }
}

/// Authlib against an authd that signs everything with ES256 (`AUTHD_SIGNING_ALG=ES256`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs `pip install -r tests/conformance/requirements.txt` (in a venv)"]
async fn authlib_runs_the_whole_flow_with_es256() {
    let present = Command::new("python3")
        .args(["-c", "import authlib, requests"])
        .output()
        .is_ok_and(|o| o.status.success());
    let how = "pip install -r tests/conformance/requirements.txt";
    if installed(present, how) {
        let signing = Signing {
            server: SigningAlg::Es256,
            client: None,
        };
        run_relying_party_signing("python3", "authlib_client.py", "es@example.com", signing).await;
    }
}

/// Runs `program script` with the issuer, a verified user's email and password, and a
/// client_credentials client, and checks that it passed.
async fn run_generated_client(program: &'static str, script: &'static str, email: &str) {
    let app = spawn_app_at_own_address(Backend::Sqlite).await;
    app.verified_user(email).await;
    let service = app
        .client("confidential", &["client_credentials"], &["api"], &[])
        .await;
    let args = vec![
        script.to_owned(),
        app.base.clone(),
        email.to_owned(),
        PASSWORD.to_owned(),
        service.id.clone(),
        service.secret.clone().unwrap(),
    ];
    passes(program, script, args, Vec::new()).await;
}

/// A Python client generated by openapi-python-client from `/openapi.json`: every endpoint
/// generated, every module imports, and register, login, me, refresh and the token endpoint
/// work through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs `pip install -r tests/conformance/requirements.txt` (in a venv)"]
async fn a_generated_python_client_drives_the_api() {
    let present = Command::new("python3")
        .args(["-c", "import openapi_python_client, httpx, attrs"])
        .output()
        .is_ok_and(|o| o.status.success());
    installed(present, "pip install -r tests/conformance/requirements.txt");
    run_generated_client("python3", "generated_python.py", "gen.py@example.com").await;
}

/// TypeScript types generated by openapi-typescript from `/openapi.json`, a client
/// type-checked against them (tsc, strict) and run with openapi-fetch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node and `npm ci` in tests/conformance"]
async fn a_generated_typescript_client_drives_the_api() {
    let present = conformance_dir()
        .join("node_modules/openapi-typescript")
        .exists();
    installed(present, "run `npm ci` in tests/conformance");
    run_generated_client("node", "generated_typescript.mjs", "gen.ts@example.com").await;
}

/// Tests that need set-up beyond Rust and PostgreSQL are listed as ignored by a plain
/// `cargo test` (with their reason), never run and reported as passed without it.
#[test]
fn tests_that_need_set_up_are_listed_as_ignored() {
    let listed = Command::new(std::env::current_exe().unwrap())
        .args(["--list", "--ignored", "--format", "terse"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    for needs_set_up in [
        "browser::a_passkey_added_and_used_in_chromium",
        "browser::the_spa_example_signs_in_refreshes_and_signs_out_in_chromium",
        "conformance::openid_client_runs_the_whole_flow",
        "conformance::authlib_runs_the_whole_flow",
        "conformance::authlib_runs_the_whole_flow_with_es256",
        "conformance::openid_client_runs_the_whole_flow_with_eddsa_id_tokens",
        "conformance::openid_client_binds_tokens_with_dpop",
        "conformance::openid_client_asks_for_a_token_for_one_service",
        "conformance::a_generated_python_client_drives_the_api",
        "conformance::a_generated_typescript_client_drives_the_api",
        "discovery::openapi_document_passes_a_validator",
        "upstream::node_oidc_provider_signs_people_in",
        "reliability::a_full_disk_under_sqlite_answers_503_and_readyz_says_so",
        "faults::a_postgres_restart_under_load_gives_503_then_recovers",
    ] {
        assert!(
            listed.contains(&format!("{needs_set_up}: test")),
            "{needs_set_up} is #[ignore]d: {listed}"
        );
    }
    assert!(!listed.contains("audit::"), "{listed}");
}
