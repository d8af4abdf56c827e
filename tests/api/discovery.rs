//! Discovery, the JWKS, health probes and the command line.

use serde_json::json;

use crate::both_backends;
use crate::harness::{Backend, ISSUER, s, spawn_app};

both_backends!(discovery_and_jwks, health_and_readiness, prometheus_metrics);

async fn discovery_and_jwks(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let doc = app.get(path, None).await.expect(200).clone();
        assert_eq!(s(&doc["issuer"]), ISSUER);
        assert_eq!(
            s(&doc["jwks_uri"]),
            format!("{ISSUER}/.well-known/jwks.json")
        );
        assert_eq!(
            doc["id_token_signing_alg_values_supported"],
            json!(["RS256"])
        );
    }
    let jwks = app.get("/.well-known/jwks.json", None).await;
    assert!(
        jwks.header("cache-control")
            .unwrap()
            .starts_with("public, max-age=")
    );
    let keys = jwks.expect(200)["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 1);
    assert_eq!(s(&keys[0]["kty"]), "RSA");
    assert_eq!(s(&keys[0]["alg"]), "RS256");
    assert_eq!(s(&keys[0]["use"]), "sig");
    assert!(keys[0].get("d").is_none(), "no private parts published");
    let n = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        s(&keys[0]["n"]),
    )
    .unwrap();
    assert!(n.len() >= 256, "at least 2048 bits");
    // The key was generated on first start, private to its owner.
    let pem = app
        .dir
        .path()
        .join("keys")
        .join(format!("{}.pem", s(&keys[0]["kid"])));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&pem).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

async fn health_and_readiness(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(
        app.get("/healthz", None).await.expect(200),
        &json!({"status": "ok"})
    );
    assert_eq!(
        app.get("/readyz", None).await.expect(200),
        &json!({"database": true, "signing_key": true})
    );
}

async fn prometheus_metrics(backend: Backend) {
    let app = spawn_app(backend).await;
    app.get("/healthz", None).await.expect(200);
    app.get("/healthz", None).await.expect(200);
    app.get("/api/admin/users/0190f0e0-secret-looking-id", None)
        .await
        .expect(401);
    let reply = app.get("/metrics", None).await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let text = &reply.text;
    assert!(
        text.contains(r#"authd_http_requests_total{method="GET",route="/healthz",status="200"} 2"#),
        "{text}"
    );
    assert!(text.contains(r#"authd_http_requests_total{method="GET",route="/api/admin/users/{id}",status="401"} 1"#), "{text}");
    assert!(
        text.contains(
            r#"authd_http_request_duration_seconds_count{method="GET",route="/healthz"} 2"#
        )
    );
    assert!(
        !text.contains("secret-looking"),
        "paths are reported by route template only"
    );
}

#[test]
fn cli_migrate_and_keys_list() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_authd");
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let out = std::process::Command::new(bin)
            .args(args)
            .current_dir(dir.path())
            .env_remove("DATABASE_URL")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, _) = run(&["migrate"], &[]);
    assert_eq!(code, Some(0));
    let applied: usize = stdout.split_whitespace().next().unwrap().parse().unwrap();
    assert!(applied >= 2, "{stdout}");
    assert!(
        dir.path().join("data/authd.db").exists(),
        "the embedded default database"
    );
    let (code, stdout, _) = run(&["migrate"], &[]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("0 migration(s) applied"));
    let (_, stdout, _) = run(&["keys", "list"], &[]);
    assert!(stdout.contains("no keys"), "{stdout}");
    let (code, _, stderr) = run(&["migrate"], &[("AUTHD_ACCESS_TOKEN_TTL", "soon")]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("AUTHD_ACCESS_TOKEN_TTL"), "{stderr}");
}
