//! Discovery, the JWKS, health probes and the command line.

use serde_json::{Value, json};

use crate::both_backends;
use crate::harness::{Backend, ISSUER, Reply, s, spawn_app, spawn_app_with};
use crate::upstream::free_port;

both_backends!(
    browser_apps_call_the_oauth_endpoints_without_configuration,
    discovery_and_jwks,
    health_and_readiness,
    prometheus_metrics,
    openapi_lists_only_real_routes
);

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
            json!(["RS256", "ES256", "EdDSA"]),
            "AUTHD_SIGNING_ALG first"
        );
    }
    let jwks = app.get("/.well-known/jwks.json", None).await;
    assert!(
        jwks.header("cache-control")
            .unwrap()
            .starts_with("public, max-age=")
    );
    let all = jwks.expect(200)["keys"].as_array().unwrap().clone();
    let shapes: std::collections::BTreeSet<(&str, &str, &str)> = all
        .iter()
        .map(|k| (s(&k["alg"]), s(&k["kty"]), k["crv"].as_str().unwrap_or("-")))
        .collect();
    assert_eq!(
        shapes,
        [
            ("EdDSA", "OKP", "Ed25519"),
            ("ES256", "EC", "P-256"),
            ("RS256", "RSA", "-")
        ]
        .into_iter()
        .collect(),
        "a key per algorithm"
    );
    for key in &all {
        assert_eq!(s(&key["use"]), "sig");
        assert!(key.get("d").is_none(), "no private parts published");
    }
    let keys: Vec<&Value> = all.iter().filter(|k| k["alg"] == "RS256").collect();
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
    // The key was generated on first start and is stored sealed: the database alone does
    // not hold it in the clear.
    let stored = authd::storage::signing_keys::load(&app.state.db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 3);
    for key in &stored {
        assert!(all.iter().any(|k| k["kid"] == key.kid.as_str()));
        let pem = app.private_pem(&key.kid).await;
        assert!(
            String::from_utf8(pem)
                .unwrap()
                .contains("BEGIN PRIVATE KEY")
        );
        assert!(
            !String::from_utf8_lossy(&key.sealed).contains("PRIVATE KEY"),
            "sealed at rest"
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
    let app = spawn_app_with(backend, &[("AUTHD_METRICS_BIND", "127.0.0.1:0")]).await;
    app.get("/healthz", None).await.expect(200);
    app.get("/healthz", None).await.expect(200);
    app.get("/api/admin/users/0190f0e0-secret-looking-id", None)
        .await
        .expect(401);
    // Not on the public listener: on its own address only.
    app.get("/metrics", None).await.expect(404);
    let metrics = app.metrics_base.clone().expect("a metrics listener");
    let reply = Reply::read_public(
        app.client
            .get(format!("{metrics}/metrics"))
            .send()
            .await
            .unwrap(),
    )
    .await;
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

async fn openapi_lists_only_real_routes(backend: Backend) {
    let app = spawn_app(backend).await;
    let doc = app.get("/openapi.json", None).await.expect(200).clone();
    assert_eq!(s(&doc["openapi"]), "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for required in [
        "/api/auth/register",
        "/api/users/me",
        "/api/admin/users/{id}",
        "/oauth/token",
        "/oauth/authorize",
    ] {
        assert!(paths.contains_key(required), "{required} is documented");
    }
    assert!(
        !paths.contains_key("/metrics"),
        "not served on this listener"
    );
    for schema in [
        "RegisterRequest",
        "UserView",
        "TokenResponse",
        "OAuthTokenResponse",
        "ApiErrorBody",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
    let register = &doc["components"]["schemas"]["RegisterRequest"];
    assert!(register["properties"]["email"].is_object());
    assert_eq!(register["required"], json!(["email", "password"]));
    assert_eq!(register["properties"]["password"]["minLength"], 8);
    assert!(register["examples"][0]["email"].is_string(), "{register}");
    // Aliases are marked as such and point at their route.
    assert_eq!(
        doc["paths"]["/api/auth/me"]["get"]["x-alias-of"],
        "/api/users/me"
    );
    assert!(doc["paths"]["/api/users/me"]["get"]["x-alias-of"].is_null());
    // Client authentication is declared where clients authenticate.
    assert!(doc["components"]["securitySchemes"]["client_basic"].is_object());
    assert_eq!(
        doc["paths"]["/oauth/token"]["post"]["security"][0],
        json!({"client_basic": []})
    );
    // Operation ids are unique (code generators key on them).
    let mut ids = std::collections::BTreeSet::new();
    for item in paths.values() {
        for op in item.as_object().unwrap().values() {
            assert!(ids.insert(s(&op["operationId"]).to_owned()), "{op}");
        }
    }
    // Every documented operation exists: none answers 404 or 405.
    let mut checked = 0;
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let concrete = path.replace("{id}", "00000000-0000-0000-0000-000000000000");
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let reply = app
                .client
                .request(method.clone(), app.url(&concrete))
                .send()
                .await
                .unwrap();
            let status = reply.status().as_u16();
            let body = reply.text().await.unwrap_or_default();
            let unknown_route = status == 405
                || (status == 404 && body.contains("\"Not found\"") && !concrete.contains("0000"));
            assert!(!unknown_route, "{method} {path} answered {status}");
            checked += 1;
        }
    }
    assert!(checked > 50, "{checked} operations");
    let docs = app.get("/docs", None).await;
    assert_eq!(docs.status, 200);
    assert!(docs.text.contains("openapi.json"));
    // Rendered on the server for people: phone-sized, grouped, aliases beside their route, no
    // script and no literal backticks.
    assert!(docs.text.contains("name=\"viewport\""));
    assert!(docs.text.contains("OAuth 2.0 and OpenID Connect"));
    assert!(docs.text.contains("Also at"));
    assert!(docs.text.contains("Example request body"));
    assert!(docs.text.contains("&quot;email&quot;") || docs.text.contains("\"email\""));
    assert!(!docs.text.contains("<script"));
    assert!(!docs.text.contains('`'));
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
    // `config check` refuses what `serve` would: PostgreSQL without the shared secret.
    let (code, stdout, stderr) = run(
        &["config", "check"],
        &[("DATABASE_URL", "postgres://authd:pw@127.0.0.1:1/authd")],
    );
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("AUTHD_SECRET"), "{stderr}");
    assert!(stdout.contains("REQUIRED with PostgreSQL"), "{stdout}");
    assert!(!stdout.contains("pw@") && !stderr.contains("pw@"));
    let (code, _, _) = run(
        &["config", "check"],
        &[
            ("DATABASE_URL", "postgres://authd:pw@127.0.0.1:1/authd"),
            ("AUTHD_SECRET", "0123456789abcdef0123456789abcdef"),
        ],
    );
    assert_eq!(code, Some(0));
    let (code, _, stderr) = run(&["migrate"], &[("AUTHD_ACCESS_TOKEN_TTL", "soon")]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("AUTHD_ACCESS_TOKEN_TTL"), "{stderr}");

    // Every interface and no issuer: `config check` and `serve` refuse, naming the way out.
    let (code, _, stderr) = run(&["config", "check"], &[("AUTHD_BIND", "0.0.0.0:0")]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("AUTHD_ISSUER is required"), "{stderr}");
    let mut serve = std::process::Command::new(bin)
        .arg("serve")
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env("AUTHD_BIND", "0.0.0.0:0")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut exited = None;
    for _ in 0..100 {
        exited = serve.try_wait().unwrap();
        if exited.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    if exited.is_none() {
        serve.kill().unwrap();
    }
    let out = serve.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        exited.and_then(|s| s.code()),
        Some(1),
        "serve refused: {stderr}"
    );
    assert!(stderr.contains("AUTHD_ISSUER is required"), "{stderr}");
    // Logs into a pipe (a file, journald) carry no colour codes, so `grep link=` finds them.
    let mut serve = std::process::Command::new(bin)
        .arg("serve")
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG")
        .env("AUTHD_BIND", "127.0.0.1:0")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let rx = lines_of(serve.stderr.take().unwrap());
    let mut listening = None;
    while let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(20)) {
        if line.contains("listening") {
            listening = Some(line);
            break;
        }
    }
    serve.kill().unwrap();
    serve.wait().unwrap();
    let listening = listening.expect("serve logged that it listens");
    assert!(!listening.contains('\u{1b}'), "{listening:?}");
    // A typo in the environment is named, with the setting it probably meant.
    let (code, _, stderr) = run(
        &["config", "check"],
        &[("AUTHD_ISUER", "https://x.example")],
    );
    assert_eq!(code, Some(0));
    assert!(
        stderr.contains("AUTHD_ISUER is not an authd setting (did you mean AUTHD_ISSUER?)"),
        "{stderr}"
    );
}

/// `/openapi.json` passes a standard OpenAPI 3.1 validator (openapi-spec-validator, installed
/// from `tests/conformance/requirements.txt`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs `pip install -r tests/conformance/requirements.txt` (in a venv)"]
async fn openapi_document_passes_a_validator() {
    let present = std::process::Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        present,
        "not installed: pip install -r tests/conformance/requirements.txt"
    );
    let app = spawn_app(Backend::Sqlite).await;
    let doc = app.get("/openapi.json", None).await;
    let file = app.dir.path().join("openapi.json");
    std::fs::write(&file, &doc.text).unwrap();
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import json, sys\n\
             from openapi_spec_validator import OpenAPIV31SpecValidator\n\
             errors = list(OpenAPIV31SpecValidator(json.load(open(sys.argv[1]))).iter_errors())\n\
             for e in errors: print(e.message)\n\
             sys.exit(1 if errors else 0)",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Path and query parameters are declared.
    let admin = &doc.json["paths"]["/api/admin/users/{id}"]["get"]["parameters"];
    assert_eq!(admin[0]["name"], "id");
    assert_eq!(admin[0]["in"], "path");
    let authorize = doc.json["paths"]["/oauth/authorize"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert!(
        authorize.contains(&"code_challenge".to_owned()),
        "{authorize:?}"
    );
}

/// `authd healthcheck` (the container's health check) says ready for a serving authd and
/// fails, within its bound, where nothing answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_healthcheck_command_asks_the_server() {
    let app = spawn_app(Backend::Sqlite).await;
    let bind = app.base.trim_start_matches("http://").to_owned();
    let check = |bind: String| {
        tokio::task::spawn_blocking(move || {
            let dir = tempfile::tempdir().unwrap();
            std::process::Command::new(env!("CARGO_BIN_EXE_authd"))
                .arg("healthcheck")
                .current_dir(dir.path())
                .env_remove("DATABASE_URL")
                .env("AUTHD_BIND", bind)
                .output()
                .unwrap()
        })
    };
    let ready = check(bind).await.unwrap();
    assert_eq!(
        ready.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ready.stderr)
    );
    let started = std::time::Instant::now();
    let down = check(format!("127.0.0.1:{}", free_port())).await.unwrap();
    assert_eq!(down.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&down.stderr).contains("nothing answered"));
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

/// The embedded default moved to another port (no AUTHD_ISSUER): it starts, serving under the
/// new address, and back again; nothing else can share its SQLite file, so nothing disagrees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_default_may_change_its_port() {
    let dir = tempfile::tempdir().unwrap();
    let serve_at = |port: u16| {
        let mut serve = std::process::Command::new(env!("CARGO_BIN_EXE_authd"))
            .arg("serve")
            .current_dir(dir.path())
            .env_remove("DATABASE_URL")
            .env_remove("AUTHD_ISSUER")
            .env("AUTHD_BIND", format!("127.0.0.1:{port}"))
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let rx = lines_of(serve.stderr.take().unwrap());
        (serve, rx)
    };
    let client = reqwest::Client::new();
    let (first, second) = (free_port(), free_port());
    for port in [first, second, first] {
        let (mut serve, lines) = serve_at(port);
        let mut log = Vec::new();
        let mut up = false;
        while let Ok(line) = lines.recv_timeout(std::time::Duration::from_secs(20)) {
            up = line.contains("listening");
            log.push(line);
            if up {
                break;
            }
        }
        if !up {
            serve.kill().unwrap();
        }
        serve.try_wait().unwrap();
        assert!(up, "serves at {port}: {log:#?}");
        let discovery: serde_json::Value = client
            .get(format!(
                "http://127.0.0.1:{port}/.well-known/openid-configuration"
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(discovery["issuer"], format!("http://127.0.0.1:{port}"));
        serve.kill().unwrap();
        serve.wait().unwrap();
    }
}

/// A PostgreSQL that is not there is named with the reason the system gave.
#[test]
fn an_unreachable_postgres_is_named_with_its_reason() {
    let closed = free_port();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_authd"))
        .arg("migrate")
        .env(
            "DATABASE_URL",
            format!("postgres://postgres:hunter2@127.0.0.1:{closed}/authd"),
        )
        .env("AUTHD_SECRET", "a-secret-of-thirty-two-characters-or-more")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains(&format!("PostgreSQL at 127.0.0.1:{closed}/authd"))
            && stderr.contains("Connection refused"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"));
}

/// `authd keys export` writes each published key's public half to keys/ (the default folder),
/// the same key the JWKS publishes; nothing private leaves the database.
#[test]
fn keys_export_writes_public_keys_to_the_keys_folder() {
    let dir = tempfile::tempdir().unwrap();
    let authd = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_authd"))
            .args(args)
            .current_dir(dir.path())
            .env_remove("DATABASE_URL")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let added = authd(&["keys", "rotate", "--alg", "ES256"]);
    let kid = added
        .strip_prefix("added ")
        .and_then(|r| r.split(" (ES256)").next())
        .unwrap()
        .to_owned();
    let written = authd(&["keys", "export"]);
    assert!(
        written.contains(&format!("keys/{kid}.pub.pem")),
        "{written}"
    );
    let files: Vec<_> = std::fs::read_dir(dir.path().join("keys"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(files, [format!("{kid}.pub.pem")]);
    let pem = std::fs::read(dir.path().join("keys").join(&files[0])).unwrap();
    let text = String::from_utf8(pem.clone()).unwrap();
    assert!(text.starts_with("-----BEGIN PUBLIC KEY-----"), "{text}");
    assert!(!text.contains("PRIVATE"));
    jsonwebtoken::DecodingKey::from_ec_pem(&pem).expect("a P-256 public key");
}

/// The lines a child writes to `stderr`, as they come.
fn lines_of(stderr: std::process::ChildStderr) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stderr).lines() {
            if tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    rx
}

/// A single-page app on its own origin, with no AUTHD_CORS_ORIGINS: discovery and the JWKS
/// answer any origin; the token endpoint answers the origin of a registered public client's
/// redirect URI (preflight and the call, errors included), and no other.
async fn browser_apps_call_the_oauth_endpoints_without_configuration(backend: Backend) {
    let app = spawn_app(backend).await;
    app.client(
        "public",
        &["authorization_code", "refresh_token"],
        &["openid"],
        &["http://localhost:5173/callback"],
    )
    .await;
    app.client(
        "confidential",
        &["authorization_code"],
        &["openid"],
        &["https://server.example/cb"],
    )
    .await;
    let allowed = |r: &reqwest::Response| {
        r.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/jwks.json",
    ] {
        let r = app
            .client
            .get(app.url(path))
            .header("origin", "https://anyone.example")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(allowed(&r).as_deref(), Some("*"), "{path}");
        assert!(
            r.headers()
                .get("access-control-allow-credentials")
                .is_none()
        );
    }
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/oauth/token"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let ok = preflight("http://localhost:5173").await.unwrap();
    assert_eq!(ok.status(), 204);
    assert_eq!(allowed(&ok).as_deref(), Some("http://localhost:5173"));
    assert!(
        ok.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    // The call itself: its error is readable by the app.
    let call = app
        .client
        .post(app.url("/oauth/token"))
        .header("origin", "http://localhost:5173")
        .form(&[("grant_type", "authorization_code"), ("code", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(call.status(), 401, "invalid_client, readable by the app");
    assert_eq!(allowed(&call).as_deref(), Some("http://localhost:5173"));
    // Not a public client's origin: a confidential client's, or anyone's.
    for origin in ["https://server.example", "https://evil.example"] {
        let refused = preflight(origin).await.unwrap();
        assert!(allowed(&refused).is_none(), "{origin}");
    }
}
