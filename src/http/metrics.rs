//! `GET /metrics`: request counts and latencies per route, in the Prometheus text format.
//! Kept per application (not in a global registry), so several apps in one process, as in the
//! tests, each count their own.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

#[derive(Default)]
struct Series {
    /// Count per status code.
    statuses: BTreeMap<u16, u64>,
    /// Cumulative counts per bucket, then the total count and sum.
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
pub struct HttpMetrics {
    series: Mutex<BTreeMap<(String, String), Series>>,
}

impl HttpMetrics {
    fn record(&self, method: &str, route: &str, status: u16, latency: Duration) {
        let secs = latency.as_secs_f64();
        let mut all = self.series.lock().expect("metrics lock");
        let s = all
            .entry((method.to_owned(), route.to_owned()))
            .or_default();
        *s.statuses.entry(status).or_default() += 1;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                s.buckets[i] += 1;
            }
        }
        s.count += 1;
        s.sum += secs;
    }

    fn render(&self) -> String {
        let all = self.series.lock().expect("metrics lock");
        let mut out = String::new();
        out.push_str(
            "# HELP authd_http_requests_total HTTP requests answered, by route and status.\n",
        );
        out.push_str("# TYPE authd_http_requests_total counter\n");
        for ((method, route), s) in all.iter() {
            for (status, n) in &s.statuses {
                let _ = writeln!(
                    out,
                    "authd_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP authd_http_request_duration_seconds Time to answer, by route.\n");
        out.push_str("# TYPE authd_http_request_duration_seconds histogram\n");
        for ((method, route), s) in all.iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\"");
            for (bound, n) in BUCKETS.iter().zip(s.buckets) {
                let _ = writeln!(
                    out,
                    "authd_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "authd_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "authd_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "authd_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        out
    }
}

/// Counts every request under its route template (never its raw path: ids and tokens stay out).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    // Only the methods authd serves get a label of their own: any other would add a series
    // per odd method a client cares to send.
    let method = match request.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => m,
        _ => "other",
    }
    .to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.record(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// The router of the metrics listener (`AUTHD_METRICS_BIND`): `/metrics` and nothing else.
pub fn metrics_router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(metrics))
        .with_state(state)
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
