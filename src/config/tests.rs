use super::{Config, UpstreamKind};

#[test]
fn defaults_follow_the_contract() {
    let c = Config::from_pairs([]).unwrap();
    assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
    assert_eq!(c.issuer, "http://127.0.0.1:8080");
    assert_eq!(c.public_url, c.issuer);
    assert_eq!(c.access_token_ttl.as_secs(), 15 * 60);
    assert_eq!(c.refresh_token_ttl.as_secs(), 7 * 86400);
    assert_eq!(c.session_max_age.as_secs(), 30 * 86400);
    assert_eq!(c.refresh_reuse_grace.as_secs(), 10);
    assert!(c.require_email_verification);
    assert!(c.smtp_url.is_none());
}

#[test]
fn config_check_shows_every_setting_and_no_secret() {
    let c = Config::from_pairs([
        ("DATABASE_URL", "postgres://authd:hunter2@db:5432/authd"),
        ("AUTHD_SMTP_URL", "smtp://mailer:hunter3@relay:587"),
        ("AUTHD_SECRET", "hunter4-hunter4-hunter4-hunter4-hunter4"),
    ])
    .unwrap();
    let shown = c.describe();
    for key in super::KNOWN_SETTINGS {
        if *key != "AUTHD_SECRET_FILE" {
            assert!(shown.iter().any(|(k, _)| k == key), "{key}");
        }
    }
    let text = format!("{shown:?}");
    for secret in ["hunter2", "hunter3", "hunter4"] {
        assert!(!text.contains(secret), "{text}");
    }
    assert!(text.contains("db:5432"), "{text}");
}

#[test]
fn the_serve_help_names_every_setting() {
    let main = include_str!("../main.rs");
    for key in super::KNOWN_SETTINGS {
        assert!(
            main.contains(&format!(" {key} "))
                || main.contains(&format!(" {key}\n"))
                || main.contains(&format!("  {key}")),
            "{key}"
        );
    }
}

#[test]
fn secrets_never_reach_the_message() {
    for (k, v) in [
        ("DATABASE_URL", "mysql://root:hunter2@db/authd"),
        ("AUTHD_SMTP_URL", "http://user:hunter2@mail"),
        ("AUTHD_SECRET", "hunter2"),
    ] {
        let err = format!("{:#}", Config::from_pairs([(k, v)]).unwrap_err());
        assert!(err.contains(k), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
}

#[test]
fn messages_say_what_is_expected() {
    let err = format!(
        "{:#}",
        Config::from_pairs([("AUTHD_ISSUER", "auth.example.com")]).unwrap_err()
    );
    assert!(err.contains("absolute http(s) URL"), "{err}");
    let err = format!(
        "{:#}",
        Config::from_pairs([("AUTHD_BIND", "0.0.0.0")]).unwrap_err()
    );
    assert!(err.contains("IP:port"), "{err}");
    let c = Config::from_pairs([("AUTHD_BIND", "localhost:8091")]).unwrap();
    assert_eq!(c.bind.to_string(), "127.0.0.1:8091");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("authd.toml");
    std::fs::write(
        &file,
        "AUTHD_BRAND_NAME = \"x\"\nAUTHD_BRNAD_COLOR = \"#000000\"\n",
    )
    .unwrap();
    let err = format!(
        "{:#}",
        super::read_toml(file.to_str().unwrap()).unwrap_err()
    );
    assert!(err.contains("AUTHD_BRNAD_COLOR"), "{err}");
}

#[test]
fn bad_values_name_the_variable() {
    for (k, v) in [
        ("AUTHD_BIND", "nope"),
        ("AUTHD_ACCESS_TOKEN_TTL", "fifteen"),
        ("AUTHD_REQUIRE_EMAIL_VERIFICATION", "maybe"),
        ("DATABASE_URL", "mysql://x"),
        ("AUTHD_SMTP_URL", "http://x"),
        ("AUTHD_ISSUER", "ftp://x"),
        ("AUTHD_LOG_FORMAT", "xml"),
        ("AUTHD_SESSION_MAX_AGE", "0s"),
        ("AUTHD_MAX_HEADER_BYTES", "100"),
        ("AUTHD_MAX_CONNECTIONS", "0"),
        ("AUTHD_METRICS_BIND", "localhost"),
        ("AUTHD_HEADER_READ_TIMEOUT", "0s"),
        ("AUTHD_BRAND_COLOR", "red"),
        ("AUTHD_BRAND_LOGO_URL", "logo.png"),
        ("AUTHD_ACCESS_TOKEN_TTL", "1y"),
        ("AUTHD_SESSION_MAX_AGE", "1000d"),
    ] {
        let err = format!("{:#}", Config::from_pairs([(k, v)]).unwrap_err());
        assert!(err.contains(k), "{err}");
    }
}

#[test]
fn upstream_providers_from_settings() {
    let dir = tempfile_dir();
    let secret_file = dir.join("gh.secret");
    std::fs::write(&secret_file, "gh-secret-from-file\n").unwrap();
    let c = Config::from_pairs([
        ("AUTHD_UPSTREAM_PROVIDERS", "acme, github,google"),
        ("AUTHD_UPSTREAM_ACME_ISSUER", "https://id.acme.example/"),
        ("AUTHD_UPSTREAM_ACME_NAME", "Acme"),
        ("AUTHD_UPSTREAM_ACME_CLIENT_ID", "authd"),
        ("AUTHD_UPSTREAM_ACME_CLIENT_SECRET", "hunter5"),
        ("AUTHD_UPSTREAM_ACME_ALLOW_SIGNUP", "false"),
        (
            "AUTHD_UPSTREAM_ACME_EMAIL_DOMAINS",
            "acme.example, @Staff.Acme.Example",
        ),
        ("AUTHD_UPSTREAM_GITHUB_CLIENT_ID", "Iv1.x"),
        (
            "AUTHD_UPSTREAM_GITHUB_CLIENT_SECRET_FILE",
            secret_file.to_str().unwrap(),
        ),
        ("AUTHD_UPSTREAM_GOOGLE_CLIENT_ID", "g"),
        ("AUTHD_UPSTREAM_GOOGLE_CLIENT_SECRET", "hunter6"),
    ])
    .unwrap();
    let [acme, github, google] = &c.upstream[..] else {
        panic!("three providers: {:?}", c.upstream)
    };
    assert_eq!(
        acme.kind,
        UpstreamKind::Oidc {
            issuer: "https://id.acme.example".into()
        }
    );
    assert!(!acme.allow_signup);
    assert_eq!(
        acme.email_domains.as_deref(),
        Some(&["acme.example".to_owned(), "staff.acme.example".to_owned()][..])
    );
    assert_eq!(github.name, "GitHub");
    assert!(
        matches!(&github.kind, UpstreamKind::GitHub { api, .. } if api == "https://api.github.com")
    );
    use secrecy::ExposeSecret as _;
    assert_eq!(github.client_secret.expose_secret(), "gh-secret-from-file");
    assert_eq!(google.name, "Google");
    assert_eq!(google.scopes, ["openid", "email", "profile"]);
    let shown = format!("{:?} {:?}", c.describe(), c);
    for secret in ["hunter5", "hunter6", "gh-secret-from-file"] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[test]
fn upstream_mistakes_name_the_setting() {
    for (pairs, named) in [
        (
            vec![("AUTHD_UPSTREAM_PROVIDERS", "acme")],
            "AUTHD_UPSTREAM_ACME_ISSUER",
        ),
        (
            vec![
                ("AUTHD_UPSTREAM_PROVIDERS", "acme"),
                ("AUTHD_UPSTREAM_ACME_ISSUER", "http://id.acme.example"),
            ],
            "must be https",
        ),
        (
            vec![
                ("AUTHD_UPSTREAM_PROVIDERS", "google"),
                ("AUTHD_UPSTREAM_GOOGLE_CLIENT_ID", "g"),
            ],
            "AUTHD_UPSTREAM_GOOGLE_CLIENT_SECRET",
        ),
        (vec![("AUTHD_UPSTREAM_PROVIDERS", "a b")], "letters, digits"),
    ] {
        let err = format!("{:#}", Config::from_pairs(pairs).unwrap_err());
        assert!(err.contains(named), "{err}");
    }
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("authd-config-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn upstream_providers_from_toml_tables() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("authd.toml");
    std::fs::write(
        &file,
        r#"
AUTHD_BRAND_NAME = "CV Builder"

[upstream.google]
client_id = "g"
client_secret = "hunter7"

[upstream.acme]
issuer = "https://id.acme.example"
name = "Acme"
client_id = "authd"
client_secret = "hunter8"
allow_signup = false
email_domains = ["acme.example", "staff.acme.example"]
scopes = ["openid", "email"]
"#,
    )
    .unwrap();
    let pairs = super::read_toml(file.to_str().unwrap()).unwrap();
    assert_eq!(pairs["AUTHD_UPSTREAM_PROVIDERS"], "google,acme", "in order");
    let c = Config::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap();
    let [google, acme] = &c.upstream[..] else {
        panic!("two providers: {:?}", c.upstream)
    };
    assert_eq!(google.name, "Google");
    assert!(!acme.allow_signup);
    assert_eq!(acme.scopes, ["openid", "email"]);
    assert_eq!(
        acme.email_domains.as_deref(),
        Some(&["acme.example".to_owned(), "staff.acme.example".to_owned()][..])
    );

    std::fs::write(&file, "[upstream.acme]\nclient_idd = \"x\"\n").unwrap();
    let err = format!(
        "{:#}",
        super::read_toml(file.to_str().unwrap()).unwrap_err()
    );
    assert!(err.contains("upstream.acme.client_idd"), "{err}");
}

#[test]
fn a_bind_on_every_interface_needs_an_issuer() {
    for bind in ["0.0.0.0:8080", "[::]:8080"] {
        let c = Config::from_pairs([("AUTHD_BIND", bind)]).unwrap();
        let err = format!("{:#}", c.require_reachable_issuer().unwrap_err());
        assert!(err.contains("AUTHD_ISSUER is required"), "{err}");
        assert!(err.contains("http://localhost:8080"), "{err}");
        let c = Config::from_pairs([
            ("AUTHD_BIND", bind),
            ("AUTHD_ISSUER", "https://auth.example.com"),
        ])
        .unwrap();
        c.require_reachable_issuer().unwrap();
    }
    Config::from_pairs([("AUTHD_BIND", "127.0.0.1:8080")])
        .unwrap()
        .require_reachable_issuer()
        .unwrap();
}

#[test]
fn typos_in_the_environment_are_named_with_the_nearest_setting() {
    let said = super::unknown_settings([
        "AUTHD_ISUER",
        "AUTHD_BIND",
        "AUTHD_UPSTREAM_ACME_CLIENT_ID",
        "AUTHD_TEST_DATABASE_URL",
        "AUTHD_COMPLETELY_ELSE",
        "HOME",
    ]);
    assert_eq!(
        said,
        [
            "AUTHD_COMPLETELY_ELSE is not an authd setting (see the README's configuration table)",
            "AUTHD_ISUER is not an authd setting (did you mean AUTHD_ISSUER?)",
        ]
    );
}
