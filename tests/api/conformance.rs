//! authd driven by the relying-party libraries people use, unmodified: openid-client (Node)
//! runs `tests/conformance/openid_client.mjs`, Authlib (Python) `authlib_client.py`, against
//! the real server.
//!
//! Needs `node` with `npm ci` in `tests/conformance`, and `python3` with
//! `pip install -r tests/conformance/requirements.txt`; without them these tests skip, except
//! under `CI=true` (`.ci/run` installs them).

use std::process::Command;

use crate::harness::{Backend, PASSWORD, spawn_app_at_own_address};

fn conformance_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openid_client_runs_the_whole_flow() {
    let dir = conformance_dir();
    if !dir.join("node_modules/openid-client").exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "run `npm ci` in tests/conformance (CI must not skip this)"
        );
        eprintln!("skipped: no tests/conformance/node_modules");
        return;
    }
    use authd::oauth::client::{ClientType, GrantType, NewClient};
    let app = spawn_app_at_own_address(Backend::Sqlite).await;
    app.verified_user("rp@example.com").await;
    let rp = app
        .register_client(NewClient {
            name: "openid-client".into(),
            client_type: ClientType::Confidential,
            redirect_uris: vec!["http://127.0.0.1:9/cb".into()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scopes: vec![],
            first_party: true,
            can_introspect: false,
            post_logout_redirect_uris: vec!["http://127.0.0.1:9/bye".into()],
        })
        .await;
    let output = tokio::task::spawn_blocking({
        let (base, id, secret) = (app.base.clone(), rp.id.clone(), rp.secret.clone().unwrap());
        move || {
            Command::new("node")
                .current_dir(&dir)
                .args([
                    "openid_client.mjs",
                    &base,
                    &id,
                    &secret,
                    "http://127.0.0.1:9/cb",
                    "rp@example.com",
                    PASSWORD,
                    "http://127.0.0.1:9/bye",
                ])
                .output()
                .expect("node runs")
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "openid-client failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authlib_runs_the_whole_flow() {
    let has_authlib = Command::new("python3")
        .args(["-c", "import authlib, requests"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_authlib {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "pip install -r tests/conformance/requirements.txt (CI must not skip this)"
        );
        eprintln!("skipped: no Authlib");
        return;
    }
    use authd::oauth::client::{ClientType, GrantType, NewClient};
    let app = spawn_app_at_own_address(Backend::Sqlite).await;
    app.verified_user("py@example.com").await;
    let rp = app
        .register_client(NewClient {
            name: "authlib".into(),
            client_type: ClientType::Confidential,
            redirect_uris: vec!["http://127.0.0.1:9/cb".into()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scopes: vec![],
            first_party: true,
            can_introspect: false,
            post_logout_redirect_uris: vec![],
        })
        .await;
    let output = tokio::task::spawn_blocking({
        let (base, id, secret) = (app.base.clone(), rp.id.clone(), rp.secret.clone().unwrap());
        move || {
            Command::new("python3")
                .current_dir(conformance_dir())
                .args([
                    "authlib_client.py",
                    &base,
                    &id,
                    &secret,
                    "http://127.0.0.1:9/cb",
                    "py@example.com",
                    PASSWORD,
                ])
                .output()
                .expect("python3 runs")
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "Authlib failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
}
