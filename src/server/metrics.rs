//! Counters, `/healthz` and `/metrics` (Prometheus text format).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::tiles::with_type;
use super::AppState;

/// Upper bounds, in milliseconds, of the submission latency histogram.
pub(super) const LATENCY_BUCKETS_MS: [u64; 10] = [1, 2, 5, 10, 25, 50, 100, 250, 1000, 10_000];

/// Counters for `/metrics`.
#[derive(Default)]
pub struct Metrics {
    pub(super) accepted: AtomicU64,
    pub(super) duplicates: AtomicU64,
    pub(super) refused: AtomicU64,
    pub(super) submit_micros: AtomicU64,
    /// Submission latencies: bucket `i` counts those up to `LATENCY_BUCKETS_MS[i]`.
    pub(super) submit_latency: [AtomicU64; LATENCY_BUCKETS_MS.len()],
    pub(super) requests: AtomicU64,
    pub(super) client_errors: AtomicU64,
    pub(super) server_errors: AtomicU64,
}

pub(super) async fn count(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    let r = next.run(req).await;
    let m = &state.metrics;
    m.requests.fetch_add(1, Ordering::Relaxed);
    if r.status().is_client_error() {
        m.client_errors.fetch_add(1, Ordering::Relaxed);
    } else if r.status().is_server_error() {
        m.server_errors.fetch_add(1, Ordering::Relaxed);
    }
    r
}

/// Whether the log takes writes.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Health {
    /// `ok`, or `not accepting writes`.
    status: &'static str,
    /// Why not, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// Whether only a restart can end it (storage may hold a batch the index lacks, or
    /// stored data is corrupt); otherwise the log retries storage every second.
    #[serde(skip_serializing_if = "Option::is_none")]
    until_restart: Option<bool>,
    tree_size: u64,
}

/// Health: 200 while the log takes writes; 503, with the reason, while it does not.
/// Reads are served either way.
#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Health), (status = 503, body = Health)))]
pub(super) async fn healthz(State(s): State<Arc<AppState>>) -> Response {
    let tree_size = s.log.head().size();
    let (status, health) = match s.log.stopped() {
        None => (
            StatusCode::OK,
            Health {
                status: "ok",
                reason: None,
                until_restart: None,
                tree_size,
            },
        ),
        Some(stopped) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Health {
                status: "not accepting writes",
                reason: Some(stopped.reason),
                until_restart: Some(stopped.until_restart),
                tree_size,
            },
        ),
    };
    let mut r = (status, Json(health)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", responses((status = 200, content_type = "text/plain", body = String)))]
pub(super) async fn metrics(State(s): State<Arc<AppState>>) -> Response {
    let m = &s.metrics;
    let stats = s.log.stats();
    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let mut out = String::new();
    fn metric(out: &mut String, name: &str, kind: &str, help: &str, lines: Vec<(String, u64)>) {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
        for (labels, v) in lines {
            out.push_str(&format!("{name}{labels} {v}\n"));
        }
    }
    metric(
        &mut out,
        "vouch_submissions_total",
        "counter",
        "Envelopes submitted, by outcome.",
        vec![
            ("{outcome=\"accepted\"}".into(), get(&m.accepted)),
            ("{outcome=\"duplicate\"}".into(), get(&m.duplicates)),
            ("{outcome=\"refused\"}".into(), get(&m.refused)),
        ],
    );
    let submissions = get(&m.accepted) + get(&m.duplicates) + get(&m.refused);
    let mut cumulative = 0;
    let mut latency: Vec<(String, u64)> = LATENCY_BUCKETS_MS
        .iter()
        .zip(&m.submit_latency)
        .map(|(ms, n)| {
            cumulative += get(n);
            (
                format!("_bucket{{le=\"{}\"}}", *ms as f64 / 1000.0),
                cumulative,
            )
        })
        .collect();
    latency.push(("_bucket{le=\"+Inf\"}".into(), submissions));
    latency.push(("_count".into(), submissions));
    out.push_str("# HELP vouch_submission_seconds Time from a submission's arrival to its durable receipt.\n# TYPE vouch_submission_seconds histogram\n");
    for (suffix, v) in latency {
        out.push_str(&format!("vouch_submission_seconds{suffix} {v}\n"));
    }
    out.push_str(&format!(
        "vouch_submission_seconds_sum {}\n",
        get(&m.submit_micros) as f64 / 1e6
    ));
    metric(
        &mut out,
        "vouch_http_requests_total",
        "counter",
        "HTTP requests, by class of status.",
        vec![
            ("{class=\"all\"}".into(), get(&m.requests)),
            ("{class=\"4xx\"}".into(), get(&m.client_errors)),
            ("{class=\"5xx\"}".into(), get(&m.server_errors)),
        ],
    );
    metric(
        &mut out,
        "vouch_batches_total",
        "counter",
        "Batches committed (one flush and one checkpoint each).",
        vec![(String::new(), stats.batches)],
    );
    metric(
        &mut out,
        "vouch_batched_entries_total",
        "counter",
        "Entries committed in batches.",
        vec![(String::new(), stats.entries)],
    );
    let mut buckets = Vec::new();
    let mut cumulative = 0;
    for (i, n) in stats.batch_sizes.iter().enumerate() {
        cumulative += n;
        buckets.push((format!("_bucket{{le=\"{}\"}}", 1u64 << i), cumulative));
    }
    buckets.push(("_bucket{le=\"+Inf\"}".into(), stats.batches));
    out.push_str(
        "# HELP vouch_batch_size Entries per committed batch.\n# TYPE vouch_batch_size histogram\n",
    );
    for (suffix, v) in buckets {
        out.push_str(&format!("vouch_batch_size{suffix} {v}\n"));
    }
    out.push_str(&format!(
        "vouch_batch_size_sum {}\nvouch_batch_size_count {}\n",
        stats.entries, stats.batches
    ));
    metric(
        &mut out,
        "vouch_corruptions_total",
        "counter",
        "Reads refused because stored bytes did not match a checkpoint the log signed.",
        vec![(String::new(), stats.corruptions)],
    );
    metric(
        &mut out,
        "vouch_accepting_writes",
        "gauge",
        "1 while the log takes writes, 0 while storage has stopped it.",
        vec![(String::new(), u64::from(s.log.stopped().is_none()))],
    );
    let witnesses = s.log.witnesses();
    if !witnesses.is_empty() {
        let size = s.log.head().size();
        let label = |w: &crate::log::WitnessStatus| format!("{{witness=\"{}\"}}", w.name);
        metric(
            &mut out,
            "vouch_witness_cosigned_size",
            "gauge",
            "The size of the newest checkpoint each witness cosigned.",
            witnesses
                .iter()
                .map(|w| (label(w), get(&w.cosigned_size)))
                .collect(),
        );
        metric(
            &mut out,
            "vouch_witness_lag_entries",
            "gauge",
            "Entries in the log beyond the newest checkpoint each witness cosigned.",
            witnesses
                .iter()
                .map(|w| (label(w), size.saturating_sub(get(&w.cosigned_size))))
                .collect(),
        );
        metric(
            &mut out,
            "vouch_witness_failures_total",
            "counter",
            "Requests to each witness that failed (transport, refusal, a bad cosignature).",
            witnesses
                .iter()
                .map(|w| (label(w), get(&w.failures)))
                .collect(),
        );
    }
    out.push_str(&format!("# HELP vouch_tree_size Entries in the log.\n# TYPE vouch_tree_size gauge\nvouch_tree_size {}\n", s.log.head().size()));
    with_type(out, "text/plain; version=0.0.4; charset=utf-8", "no-store")
}
