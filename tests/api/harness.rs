//! Test harness: each test gets the real application on its own port, its own database
//! (a SQLite file, or a fresh PostgreSQL database that is dropped afterwards), its own keys
//! folder, a clock it can move, and a real SMTP receiver.

use std::sync::Arc;

use authd::clock::OffsetClock;
use authd::{Application, Config};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use tempfile::TempDir;

use crate::smtp::SmtpSink;

pub const ISSUER: &str = "http://authd.test";
pub const PASSWORD: &str = "correct-horse-9";
/// The instance secret of PostgreSQL test apps (SQLite ones generate their own).
pub const SECRET: &str = "test-secret-test-secret-test-secret-0";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one `#[tokio::test]` per backend for an `async fn(Backend)`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::harness::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::harness::Backend::Postgres).await;
            }
        }
    )*};
}

pub struct TestApp {
    pub base: String,
    /// The metrics listener, when `AUTHD_METRICS_BIND` was set.
    pub metrics_base: Option<String>,
    pub client: reqwest::Client,
    pub clock: Arc<OffsetClock>,
    pub smtp: Arc<SmtpSink>,
    /// Shared by instances on one database (see `spawn_pair`).
    pub dir: Arc<TempDir>,
    /// The running app's state, for tests that reach under the HTTP surface.
    pub state: authd::state::AppState,
    /// Dropped with the app: the PostgreSQL database goes with it.
    _pg: Option<Arc<PgDatabase>>,
}

struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime; use a thread with a runtime of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut conn) = AsyncPgConnection::establish(&admin_url).await {
                    let _ = diesel::sql_query(format!(
                        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                    ))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join();
    }
}

/// Warnings and errors go to the test's captured output, shown when a test fails.
fn init_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
            .with_test_writer()
            .try_init();
    });
}

fn pg_admin_url() -> String {
    std::env::var("AUTHD_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "AUTHD_TEST_DATABASE_URL is not set: point it at a PostgreSQL server \
             (postgres://postgres@127.0.0.1:5432/postgres), or skip these tests with `-- --skip postgres`"
        )
    })
}

async fn create_pg_database() -> (PgDatabase, String) {
    let admin_url = pg_admin_url();
    let name = format!("authd_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = AsyncPgConnection::establish(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at AUTHD_TEST_DATABASE_URL: {e}"));
    diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await
        .expect("create the test database");
    let mut url = url::Url::parse(&admin_url).expect("AUTHD_TEST_DATABASE_URL is a URL");
    url.set_path(&name);
    (PgDatabase { admin_url, name }, url.to_string())
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

/// Starts the app with its issuer at its real address, for clients that fetch discovery.
pub async fn spawn_app_at_own_address(backend: Backend) -> TestApp {
    spawn_app_at_own_address_with(backend, &[]).await
}

/// [`spawn_app_at_own_address`] with extra settings.
pub async fn spawn_app_at_own_address_with(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
    // Bind to learn a free port, then let the app bind it; nothing else races for it here.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bind = format!("127.0.0.1:{port}");
    let issuer = format!("http://127.0.0.1:{port}");
    let mut settings = vec![
        ("AUTHD_BIND", bind.as_str()),
        ("AUTHD_ISSUER", issuer.as_str()),
    ];
    settings.extend_from_slice(extra);
    spawn_app_with(backend, &settings).await
}

/// Starts the app with extra settings (`AUTHD_*` pairs) on top of the test defaults.
pub async fn spawn_app_with(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
    let prepared = prepare(backend, extra).await;
    let app = Application::build_with_clock(prepared.config.clone(), prepared.clock.clone())
        .await
        .expect("the app builds");
    prepared.start(app)
}

/// Two instances started at the same moment on one new database, as behind a load balancer
/// on a first deployment.
pub async fn spawn_pair(backend: Backend, extra: &[(&str, &str)]) -> (TestApp, TestApp) {
    let a = prepare(backend, extra).await;
    let mut b = a.sibling();
    b.config.bind = "127.0.0.1:0".parse().unwrap();
    let (built_a, built_b) = tokio::join!(
        Application::build_with_clock(a.config.clone(), a.clock.clone()),
        Application::build_with_clock(b.config.clone(), b.clock.clone()),
    );
    let app_b = b.start(built_b.expect("B builds"));
    (a.start(built_a.expect("A builds")), app_b)
}

/// What a test app is built from, before it is built.
pub struct Prepared {
    pub config: Config,
    clock: Arc<OffsetClock>,
    smtp: Arc<SmtpSink>,
    dir: Arc<TempDir>,
    pg: Option<Arc<PgDatabase>>,
}

async fn prepare(backend: Backend, extra: &[(&str, &str)]) -> Prepared {
    init_logs();
    let dir = tempfile::tempdir().expect("a temp dir");
    let smtp = SmtpSink::start().await;
    let (pg, database_url) = match backend {
        Backend::Sqlite => (
            None,
            format!("sqlite://{}", dir.path().join("authd.db").display()),
        ),
        Backend::Postgres => {
            let (db, url) = create_pg_database().await;
            (Some(Arc::new(db)), url)
        }
    };
    let outbox = dir.path().join("outbox").display().to_string();
    let smtp_url = smtp.url();
    let mut pairs: Vec<(&str, &str)> = vec![
        ("AUTHD_BIND", "127.0.0.1:0"),
        ("AUTHD_ISSUER", ISSUER),
        ("DATABASE_URL", &database_url),
        ("AUTHD_MAIL_DIR", &outbox),
        ("AUTHD_SMTP_URL", &smtp_url),
    ];
    if backend == Backend::Postgres {
        pairs.push(("AUTHD_SECRET", SECRET));
    }
    for (k, v) in extra {
        pairs.retain(|(key, _)| key != k);
        if !v.is_empty() {
            pairs.push((k, v));
        }
    }
    let config = Config::from_pairs(pairs).expect("a valid test configuration");
    Prepared {
        config,
        clock: Arc::new(OffsetClock::default()),
        smtp: Arc::new(smtp),
        dir: Arc::new(dir),
        pg,
    }
}

impl Prepared {
    /// Another instance's settings: the same database, mail relay and folder, its own clock.
    fn sibling(&self) -> Prepared {
        Prepared {
            config: self.config.clone(),
            clock: Arc::new(OffsetClock::default()),
            smtp: self.smtp.clone(),
            dir: self.dir.clone(),
            pg: self.pg.clone(),
        }
    }

    fn start(self, app: Application) -> TestApp {
        let base = format!("http://127.0.0.1:{}", app.port());
        let metrics_base = app.metrics_addr().map(|a| format!("http://{a}"));
        let state = app.state();
        tokio::spawn(app.run_until_stopped(std::future::pending()));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        TestApp {
            base,
            metrics_base,
            client,
            clock: self.clock,
            smtp: self.smtp,
            dir: self.dir,
            state,
            _pg: self.pg,
        }
    }
}

impl TestApp {
    /// Settings for another instance beside this one (same database, relay and folder), with
    /// `change` applied; build it with [`TestApp::start_sibling`], or expect it to fail.
    pub fn sibling_config(&self, change: impl FnOnce(&mut Config)) -> Config {
        let mut config = self.state.config.clone();
        config.bind = "127.0.0.1:0".parse().unwrap();
        change(&mut config);
        config
    }

    /// Builds and runs another instance on this one's database.
    pub async fn start_sibling(&self, config: Config) -> TestApp {
        self.start_sibling_skewed(config, chrono::Duration::zero())
            .await
    }

    /// [`TestApp::start_sibling`], on a machine whose clock is `skew` off.
    pub async fn start_sibling_skewed(&self, config: Config, skew: chrono::Duration) -> TestApp {
        let clock = Arc::new(OffsetClock::default());
        clock.set_skew(skew);
        let prepared = Prepared {
            config: config.clone(),
            clock,
            smtp: self.smtp.clone(),
            dir: self.dir.clone(),
            pg: self._pg.clone(),
        };
        let app = Application::build_with_clock(config, prepared.clock.clone())
            .await
            .expect("the sibling builds");
        prepared.start(app)
    }
}

/// A response read whole: status, headers, and the body as JSON (`Null` when it is not JSON).
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Reply {
    pub async fn read_public(r: reqwest::Response) -> Self {
        Self::read(r).await
    }

    async fn read(r: reqwest::Response) -> Self {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.expect("a body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self {
            status,
            headers,
            text,
            json,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    #[track_caller]
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        &self.json
    }
}

impl TestApp {
    /// A key store of its own on the app's database, as `authd keys` in another process has.
    pub async fn cli_keys(&self) -> authd::tokens::KeyStore {
        let keys = authd::tokens::KeyStore::new(
            Arc::new(authd::app::sealer(&self.state.config).unwrap()),
            self.state.config.access_token_ttl,
            self.state.config.signing_alg,
        );
        authd::storage::signing_keys::refresh(&self.state.db, &keys)
            .await
            .unwrap();
        keys
    }

    /// What every running instance does every few seconds: read the key set again.
    pub async fn refresh_keys(&self) {
        authd::storage::signing_keys::refresh(&self.state.db, &self.state.keys)
            .await
            .unwrap();
    }

    /// The private key `kid` as PKCS#8 PEM, opened from the database with the app's secret
    /// (what an attacker holding the secret and a copy of the database would have).
    pub async fn private_pem(&self, kid: &str) -> Vec<u8> {
        let sealer = authd::app::sealer(&self.state.config).unwrap();
        let rows = authd::storage::signing_keys::load(&self.state.db)
            .await
            .unwrap();
        let row = rows
            .iter()
            .find(|k| k.kid == kid)
            .expect("the key is stored");
        sealer.open(kid, &row.sealed).unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Reply {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        Reply::read(req.send().await.expect("request sent")).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        Reply::read(
            self.client
                .post(self.url(path))
                .json(&body)
                .send()
                .await
                .expect("request sent"),
        )
        .await
    }

    pub async fn post_auth(&self, path: &str, bearer: &str, body: Value) -> Reply {
        let req = self
            .client
            .post(self.url(path))
            .bearer_auth(bearer)
            .json(&body);
        Reply::read(req.send().await.expect("request sent")).await
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        Reply::read(
            self.client
                .post(self.url(path))
                .form(form)
                .send()
                .await
                .expect("request sent"),
        )
        .await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Reply {
        let mut req = self.client.post(self.url(path)).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        Reply::read(req.send().await.expect("request sent")).await
    }

    /// Takes the app's PostgreSQL database away under it, as an outage would (its
    /// connections are ended and it no longer exists). PostgreSQL backend only.
    pub async fn drop_database(&self) {
        let pg = self._pg.as_ref().expect("a PostgreSQL-backed app");
        let mut conn = AsyncPgConnection::establish(&pg.admin_url).await.unwrap();
        diesel::sql_query(format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            pg.name
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    }

    /// Switches the app's PostgreSQL database to read-only, or back (what a failover to a
    /// standby looks like), and ends its connections so the pool opens new ones under the
    /// setting. PostgreSQL backend only.
    pub async fn set_read_only(&self, read_only: bool) {
        let pg = self._pg.as_ref().expect("a PostgreSQL-backed app");
        let mut conn = AsyncPgConnection::establish(&pg.admin_url).await.unwrap();
        let set = if read_only {
            format!(
                "ALTER DATABASE \"{}\" SET default_transaction_read_only = on",
                pg.name
            )
        } else {
            format!(
                "ALTER DATABASE \"{}\" RESET default_transaction_read_only",
                pg.name
            )
        };
        diesel::sql_query(set).execute(&mut conn).await.unwrap();
        diesel::sql_query(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
            pg.name
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    }

    pub fn advance(&self, by: std::time::Duration) {
        self.clock.advance(by);
    }

    /// Registers `email` and returns the verification token from the email it received.
    pub async fn register(&self, email: &str) -> String {
        let before = self.smtp.flow_mails(email).len();
        self.post(
            "/api/auth/register",
            serde_json::json!({"email": email, "password": PASSWORD}),
        )
        .await
        .expect(201);
        self.smtp.wait_for(email, before + 1).await.token()
    }

    /// Registers and verifies `email`; returns the user's id.
    pub async fn verified_user(&self, email: &str) -> String {
        let before = self.smtp.flow_mails(email).len();
        let reply = self
            .post(
                "/api/auth/register",
                serde_json::json!({"email": email, "password": PASSWORD}),
            )
            .await;
        let id = reply.expect(201)["user_id"].as_str().unwrap().to_owned();
        let token = self.smtp.wait_for(email, before + 1).await.token();
        self.post(
            "/api/auth/verify-email",
            serde_json::json!({"token": token}),
        )
        .await
        .expect(200);
        id
    }

    /// Logs in and returns the token response.
    pub async fn login(&self, email: &str, device: Option<&str>) -> Value {
        let mut body = serde_json::json!({"email": email, "password": PASSWORD});
        if let Some(d) = device {
            body["device_id"] = d.into();
        }
        self.post("/api/auth/login", body).await.expect(200).clone()
    }
}

/// The `.eml` files in the outbox folder (no SMTP URL), once `n` have been written (the
/// delivery worker writes them shortly after the request).
pub async fn outbox_files(app: &TestApp, n: usize) -> Vec<std::path::PathBuf> {
    let outbox = app.dir.path().join("outbox");
    for _ in 0..100 {
        let files: Vec<_> = std::fs::read_dir(&outbox)
            .map(|d| {
                d.map(|e| e.unwrap().path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        if files.len() >= n {
            return files;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} emails in {} after 5 s", outbox.display());
}

pub fn s(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
}

impl TestApp {
    /// Creates a verified ADMIN through the same code as `authd users create-admin`, logs in,
    /// and returns the access token.
    pub async fn admin(&self, email: &str) -> String {
        let email_addr = authd::domain::EmailAddress::parse(email).unwrap();
        let now = self.state.clock.now_naive();
        authd::accounts::create_admin(
            &self.state.db,
            &self.state.hasher,
            &email_addr,
            || Ok(PASSWORD.to_owned()),
            now,
        )
        .await
        .expect("create an admin");
        self.login(email, None).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        Reply::read(req.send().await.expect("request sent")).await
    }
}

/// A registered OAuth client, made through the same code as `authd clients create`.
pub struct TestClient {
    pub id: String,
    pub secret: Option<String>,
}

impl TestApp {
    pub async fn client(
        &self,
        client_type: &str,
        grants: &[&str],
        scopes: &[&str],
        redirect_uris: &[&str],
    ) -> TestClient {
        self.client_with(client_type, grants, scopes, redirect_uris, false)
            .await
    }

    pub async fn client_with(
        &self,
        client_type: &str,
        grants: &[&str],
        scopes: &[&str],
        redirect_uris: &[&str],
        first_party: bool,
    ) -> TestClient {
        use authd::oauth::client::NewClient;
        self.register_client(NewClient {
            name: "test client".into(),
            client_type: client_type.parse().unwrap(),
            redirect_uris: redirect_uris.iter().map(|s| s.to_string()).collect(),
            grant_types: grants.iter().map(|g| g.parse().unwrap()).collect(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            first_party,
            can_introspect: false,
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            require_mfa: false,
            id_token_alg: None,
            require_dpop: false,
        })
        .await
    }

    /// A confidential client registered as a resource server (`clients create --introspect`).
    pub async fn resource_server(&self) -> TestClient {
        use authd::oauth::client::{ClientType, GrantType, NewClient};
        self.register_client(NewClient {
            name: "resource server".into(),
            client_type: ClientType::Confidential,
            redirect_uris: vec![],
            grant_types: vec![GrantType::ClientCredentials],
            scopes: vec![],
            first_party: false,
            can_introspect: true,
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            require_mfa: false,
            id_token_alg: None,
            require_dpop: false,
        })
        .await
    }

    pub async fn register_client(&self, new: authd::oauth::client::NewClient) -> TestClient {
        let (row, secret) = new
            .into_row(self.state.clock.now_naive())
            .expect("a valid client");
        authd::storage::clients::insert_client(&self.state.db, &row)
            .await
            .expect("stored");
        TestClient {
            id: row.id,
            secret: secret.map(|s| s.expose().to_owned()),
        }
    }

    /// `POST /oauth/token` with a form body and optional HTTP Basic client credentials.
    pub async fn token(&self, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> Reply {
        self.token_at("/oauth/token", form, basic).await
    }

    /// A form `POST` to one of the OAuth endpoints.
    pub async fn token_at(
        &self,
        path: &str,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Reply {
        let mut req = self.client.post(self.url(path)).form(form);
        if let Some((id, secret)) = basic {
            req = req.basic_auth(id, Some(secret));
        }
        Reply::read(req.send().await.expect("request sent")).await
    }
}

/// `authd ARGS` run in `dir` with the embedded defaults (SQLite in `dir/data`), as a person at
/// the command line would.
pub fn cli(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_authd"))
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

impl TestApp {
    /// A resource server (RFC 8707), as `authd resources create` registers one.
    pub async fn register_resource(&self, identifier: &str, scopes: &[&str]) {
        let row = authd::oauth::resource::NewResource {
            identifier: identifier.into(),
            name: None,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }
        .into_row(self.state.clock.now_naive())
        .expect("a valid resource");
        assert!(
            authd::storage::resources::insert_resource(&self.state.db, &row)
                .await
                .expect("stored"),
            "{identifier} is new"
        );
    }
}
