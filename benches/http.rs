//! End-to-end throughput and latency of the hot routes, against the real server in-process.
//!
//!     cargo bench --bench http                       # SQLite
//!     AUTHD_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/authd_bench cargo bench --bench http
//!
//! The load generator shares the machine (and its cores) with the server, so the numbers are
//! a floor, comparable between runs on the same machine rather than absolute.

use std::sync::Arc;
use std::time::{Duration, Instant};

use authd::{Application, Config};
use serde_json::{Value, json};

const PASSWORD: &str = "correct-horse-9";

struct Stats {
    name: &'static str,
    count: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Stats {
    fn print(mut self) {
        self.latencies.sort();
        let pct = |p: f64| {
            self.latencies
                [((self.latencies.len() as f64 * p) as usize).min(self.latencies.len() - 1)]
        };
        println!(
            "{:<28} {:>6} req  {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms",
            self.name,
            self.count,
            self.count as f64 / self.elapsed.as_secs_f64(),
            pct(0.50).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3,
        );
    }
}

/// Runs `total` requests, `concurrency` at a time; `make(i)` sends request `i`.
async fn load<F, Fut>(name: &'static str, total: usize, concurrency: usize, make: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = u16> + Send,
{
    let make = Arc::new(make);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (make, next) = (make.clone(), next.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= total {
                        return lat;
                    }
                    let t = Instant::now();
                    let status = make(i).await;
                    assert!(status < 400, "{name}: request {i} answered {status}");
                    lat.push(t.elapsed());
                }
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await.unwrap());
    }
    Stats {
        name,
        count: total,
        elapsed: start.elapsed(),
        latencies,
    }
}

/// 5,000 GETs of one URL, 32 at a time.
async fn gets(
    name: &'static str,
    client: &reqwest::Client,
    url: String,
    bearer: Option<String>,
) -> Stats {
    let client = client.clone();
    load(name, 5000, 32, move |_| {
        let mut request = client.get(&url);
        if let Some(token) = &bearer {
            request = request.bearer_auth(token);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    })
    .await
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = std::env::var("AUTHD_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let outbox = dir.path().join("outbox").display().to_string();
    let config = Config::from_pairs([
        ("AUTHD_BIND", "127.0.0.1:0"),
        ("DATABASE_URL", database_url.as_str()),
        ("AUTHD_SECRET", "bench-secret-bench-secret-bench-secret"),
        ("AUTHD_MAIL_DIR", outbox.as_str()),
        ("AUTHD_REQUIRE_EMAIL_VERIFICATION", "false"),
        ("AUTHD_RATE_LIMIT", "0"),
    ])
    .unwrap();
    let app = Application::build(config).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    println!(
        "authd bench on {} ({} cores)",
        app.state().db.backend_name(),
        std::thread::available_parallelism().unwrap()
    );
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let client = reqwest::Client::new();
    let email = format!("bench-{}@example.com", uuid::Uuid::new_v4().simple());
    let reg: Value = client
        .post(format!("{base}/api/auth/register"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = reg["access_token"].as_str().unwrap().to_owned();

    for (name, path, bearer) in [
        ("GET /healthz", "/healthz", None),
        ("GET /.well-known/jwks.json", "/.well-known/jwks.json", None),
        ("GET /api/users/me", "/api/users/me", Some(access)),
    ] {
        gets(name, &client, format!("{base}{path}"), bearer)
            .await
            .print();
    }

    // Each worker refreshes its own session's chain.
    let sessions = 16;
    let mut tokens = Vec::new();
    for _ in 0..sessions {
        let t: Value = client
            .post(format!("{base}/api/auth/login"))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens.push(tokio::sync::Mutex::new(
            t["refresh_token"].as_str().unwrap().to_owned(),
        ));
    }
    let tokens = Arc::new(tokens);
    let (c, b2) = (client.clone(), base.clone());
    load("POST /api/auth/refresh", 2000, sessions, move |i| {
        let (c, b, tokens) = (c.clone(), b2.clone(), tokens.clone());
        async move {
            let mut slot = tokens[i % sessions].lock().await;
            let r = c
                .post(format!("{b}/api/auth/refresh"))
                .json(&json!({"refresh_token": *slot}))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            *slot = body["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            status
        }
    })
    .await
    .print();

    // No-enumeration: a known and an unknown address must take the same time to answer.
    for (name, address) in [
        ("POST forgot-password known", email.clone()),
        (
            "POST forgot-password unknown",
            "nobody-here@example.com".to_owned(),
        ),
    ] {
        let (c, b) = (client.clone(), base.clone());
        load(name, 300, 1, move |_| {
            let (c, b, a) = (c.clone(), b.clone(), address.clone());
            async move {
                c.post(format!("{b}/api/auth/forgot-password"))
                    .json(&json!({ "email": a }))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        })
        .await
        .print();
    }

    let (c, b) = (client.clone(), base.clone());
    load("POST /api/auth/login", 200, 8, move |_| {
        let (c, b, e) = (c.clone(), b.clone(), email.clone());
        async move {
            c.post(format!("{b}/api/auth/login"))
                .json(&json!({"email": e, "password": PASSWORD}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    })
    .await
    .print();
}
