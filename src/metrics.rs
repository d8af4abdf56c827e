//! Request counts and latencies per route, kept per application (not in a global registry,
//! so several apps in one process, as in the tests, each count their own) and rendered in the
//! Prometheus text format. Fed and served by `http::metrics`; nothing here knows HTTP.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

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
pub struct RequestMetrics {
    series: Mutex<BTreeMap<(String, String), Series>>,
}

impl RequestMetrics {
    pub fn record(&self, method: &str, route: &str, status: u16, latency: Duration) {
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

    pub fn render(&self) -> String {
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
