//! Every request's work is bounded, and every error is a problem: slow and stalled
//! clients, bodies over the limit, busy expensive routes, bad query strings, a store
//! that fails or is corrupt, and a shutdown with clients that never finish.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use vouch::log::{Log, LogConfig};
use vouch::server::ServerConfig;
use vouch::statement::Kind;
use vouch::store::{FaultyStore, Op, SledOptions, SledStore, Store, StoreError};

fn quick() -> ServerConfig {
    ServerConfig {
        header_read_timeout: Duration::from_millis(400),
        body_read_timeout: Duration::from_millis(400),
        shutdown_grace: Duration::from_millis(500),
        ..ServerConfig::default()
    }
}

/// Sends raw bytes and reads the whole answer (the server closes or `Connection:
/// close` ends it).
fn raw(url: &str, request: &[u8]) -> String {
    let mut s = TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn host(url: &str) -> &str {
    url.trim_start_matches("http://")
}

fn verify_supplier(url: &str) -> String {
    let body = format!("{{\"supplier\":\"{FACTORY}\"}}");
    format!(
        "POST /v1/verify HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        host(url),
        body.len()
    )
}

fn is_problem(answer: &str, status: u16, slug: &str) -> bool {
    answer.starts_with(&format!("HTTP/1.1 {status}"))
        && answer.contains("content-type: application/problem+json")
        && answer.contains(&format!("\"type\":\"/problems/{slug}\""))
}

#[test]
fn query_strings_and_indexes_are_parsed_strictly_into_problems() {
    let ledger = Ledger::new(1);
    let url = serve(ledger.log.clone());
    for path in [
        "/v1/proofs/inclusion?index=1&index=2",
        "/v1/proofs/inclusion?index=%2B1",
        "/v1/proofs/inclusion?index=01",
        "/v1/proofs/consistency?from=1&from=1",
        "/v1/suppliers/VN2024164XQ3F74/history?limit=5&limit=6",
        "/v1/entries/+1",
    ] {
        let a = raw(
            &url,
            format!(
                "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                host(&url)
            )
            .as_bytes(),
        );
        assert!(is_problem(&a, 400, "bad-parameter"), "{path}: {a}");
    }
}

#[test]
fn bodies_over_the_limit_are_refused_before_they_are_read() {
    let ledger = Ledger::new(1);
    let url = serve(ledger.log.clone());
    // The body is never sent: the answer must come from the headers alone.
    let started = Instant::now();
    let a = raw(
        &url,
        format!(
            "POST /v1/attestations HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: 10000000\r\nConnection: close\r\n\r\n",
            host(&url)
        )
        .as_bytes(),
    );
    assert!(is_problem(&a, 413, "payload-too-large"), "{a}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // With `Expect: 100-continue`, no `100 Continue` is sent for a refused body.
    let a = raw(
        &url,
        format!(
            "POST /v1/attestations HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: 70000\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
            host(&url)
        )
        .as_bytes(),
    );
    assert!(!a.contains("100 Continue"), "{a}");
    assert!(is_problem(&a, 413, "payload-too-large"), "{a}");
}

/// A client that sends its whole body without waiting for `100 Continue` reads the
/// problem, not a connection reset: the server drops what it refused before it closes.
#[test]
fn clients_that_send_a_refused_body_anyway_read_the_problem() {
    let ledger = Ledger::new(1);
    let url = serve(ledger.log.clone());
    let a = format!("{url}/v1/attestations");
    let size = ledger.log.head().size();
    let body = vec![b' '; 200_000];
    for round in 0..40 {
        // Declared too long, then a type that is not JSON, then a chunked body (no
        // length at all) that runs past the limit.
        let declared = ureq::post(&a)
            .set("Content-Type", "application/json")
            .send_bytes(&body);
        let not_json = ureq::post(&a)
            .set("Content-Type", "text/plain")
            .send_bytes(&body);
        let chunked = ureq::post(&a)
            .set("Content-Type", "application/json")
            .send(&body[..]);
        for (what, answer, status) in [
            ("declared", declared, 413),
            ("not JSON", not_json, 415),
            ("chunked", chunked, 413),
        ] {
            match answer {
                Err(ureq::Error::Status(s, r)) => {
                    assert_eq!(s, status, "{what}, round {round}");
                    assert_eq!(r.content_type(), "application/problem+json");
                }
                other => panic!("{what}, round {round}: {other:?}"),
            }
        }
    }
    assert_eq!(ledger.log.head().size(), size);
}

#[test]
fn slow_bodies_time_out_with_a_problem_and_stalled_headers_are_closed() {
    let ledger = Ledger::new(1);
    let (url, _server) = serve_with(ledger.log.clone(), quick(), std::future::pending());
    // A body that never finishes.
    let a = raw(
        &url,
        format!(
            "POST /v1/attestations HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: 100\r\nConnection: close\r\n\r\n{{\"payloadType\"",
            host(&url)
        )
        .as_bytes(),
    );
    assert!(is_problem(&a, 408, "timeout"), "{a}");
    // Headers that never finish, and a connection that never sends anything: closed.
    for request in [&b"GET /checkpoint HTTP/1.1\r\nHost: x\r\n"[..], b""] {
        let started = Instant::now();
        let mut s = TcpStream::connect(host(&url)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(request).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        assert!(started.elapsed() < Duration::from_secs(5), "not closed");
    }
    // An idle keep-alive connection is closed after the header timeout too.
    let mut s = TcpStream::connect(host(&url)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", host(&url)).as_bytes())
        .unwrap();
    let started = Instant::now();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200"));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "idle connection kept"
    );
}

#[test]
fn shutdown_ends_in_bounded_time_with_stalled_clients() {
    let ledger = Ledger::new(1);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = ServerConfig {
        header_read_timeout: Duration::from_secs(60),
        body_read_timeout: Duration::from_secs(60),
        shutdown_grace: Duration::from_millis(500),
        ..ServerConfig::default()
    };
    let (url, server) = serve_with(ledger.log.clone(), config, async move {
        let _ = stopped.await;
    });
    let mut stalled = Vec::new();
    for i in 0..50 {
        let mut s = TcpStream::connect(host(&url)).unwrap();
        let partial = if i % 2 == 0 {
            "GET /checkpoint HTTP/1.1\r\nHost: x\r\n".to_owned()
        } else {
            "POST /v1/attestations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{".to_owned()
        };
        s.write_all(partial.as_bytes()).unwrap();
        stalled.push(s);
    }
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    stop.send(()).unwrap();
    server.join().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "shutdown took {:?}",
        started.elapsed()
    );
}

#[test]
fn expensive_routes_beyond_the_limit_get_503_with_retry_after() {
    let ledger = Ledger::new(1);
    let config = ServerConfig {
        max_expensive: 0,
        ..ServerConfig::default()
    };
    let (url, _server) = serve_with(ledger.log.clone(), config, std::future::pending());
    for request in [
        format!(
            "GET /v1/entries/1 HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            host(&url)
        ),
        format!(
            "GET /v1/suppliers/{FACTORY}/history HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            host(&url)
        ),
        verify_supplier(&url),
    ] {
        let a = raw(&url, request.as_bytes());
        assert!(is_problem(&a, 503, "busy"), "{a}");
        assert!(a.contains("retry-after: 1"), "{a}");
    }
    // Cheap routes are not limited.
    let a = raw(
        &url,
        format!(
            "GET /checkpoint HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            host(&url)
        )
        .as_bytes(),
    );
    assert!(a.starts_with("HTTP/1.1 200"), "{a}");
}

#[test]
fn server_verification_of_a_history_is_capped() {
    let ledger = Ledger::new(1);
    for note in ["one", "two", "three"] {
        ledger
            .submit(&statement(Kind::Audit, FACTORY, note), &ledger.cast.auditor)
            .unwrap();
    }
    for cap in [50, 2] {
        let config = ServerConfig {
            max_verify_entries: cap,
            ..ServerConfig::default()
        };
        let (url, _server) = serve_with(ledger.log.clone(), config, std::future::pending());
        let a = raw(&url, verify_supplier(&url).as_bytes());
        if cap == 50 {
            assert!(
                a.starts_with("HTTP/1.1 200") && a.contains("\"verdict\":\"valid\""),
                "{a}"
            );
        } else {
            assert!(is_problem(&a, 422, "history-too-large"), "{a}");
        }
    }
}

#[test]
fn a_failing_disk_is_reported_by_healthz_and_writes_resume_by_themselves() {
    let dir = tempfile::TempDir::new().unwrap();
    let cast = Cast::new();
    let inner: Arc<dyn Store> =
        Arc::new(SledStore::open(dir.path(), &SledOptions::default()).unwrap());
    let genesis = vouch::statement::RegistryStatement::Genesis {
        threshold: 1,
        participants: vec![
            spec(
                "platform",
                &[vouch::statement::Role::Governance],
                &cast.gov[0],
                &[],
            ),
            spec(
                "kiwa",
                &[vouch::statement::Role::Auditor],
                &cast.auditor,
                &[],
            ),
        ],
        issued_at: now(),
    };
    let signed = vouch::log::Signed::parse(&sign_registry(&genesis, &[&cast.gov[0]])).unwrap();
    Log::create_ledger(
        inner.clone(),
        &cast.log_key,
        &signed,
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    let faulty = Arc::new(FaultyStore::new(inner));
    let log = Arc::new(
        Log::open(
            faulty.clone(),
            Some(cast.log_key.clone()),
            LogConfig::default(),
        )
        .unwrap(),
    );
    let url = serve(log.clone());
    let envelope =
        |note: &str| sign_statement(&statement(Kind::Audit, FACTORY, note), &cast.auditor);
    let submit = |body: &[u8]| {
        raw(
            &url,
            &[
                format!(
                    "POST /v1/attestations HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    host(&url),
                    body.len()
                )
                .as_bytes(),
                body,
            ]
            .concat(),
        )
    };
    let health = || {
        raw(
            &url,
            format!(
                "GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                host(&url)
            )
            .as_bytes(),
        )
    };
    assert!(submit(&envelope("first")).starts_with("HTTP/1.1 201"));
    let full = StoreError::Backend("No space left on device (os error 28)".into());
    faulty.fail(Op::Write, 1, full.clone());
    faulty.fail(Op::Recover, u32::MAX, full);
    let a = submit(&envelope("second"));
    assert!(
        is_problem(&a, 503, "unavailable") && a.contains("retry-after: 1"),
        "{a}"
    );
    let h = health();
    assert!(h.starts_with("HTTP/1.1 503"), "{h}");
    assert!(
        h.contains("not accepting writes") && h.contains("No space left"),
        "{h}"
    );
    // Reads go on.
    let a = raw(
        &url,
        format!(
            "GET /v1/entries/1 HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            host(&url)
        )
        .as_bytes(),
    );
    assert!(a.starts_with("HTTP/1.1 200"), "{a}");
    faulty.heal();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !health().starts_with("HTTP/1.1 200") {
        assert!(Instant::now() < deadline, "writes never resumed");
        std::thread::sleep(Duration::from_millis(50));
    }
    let a = submit(&envelope("second"));
    assert!(
        a.starts_with("HTTP/1.1 201") && a.contains("\"index\":2"),
        "{a}"
    );
}

#[test]
fn a_corrupt_entry_is_answered_with_503_and_stops_writes() {
    let ledger = Ledger::new(1);
    let url = serve(ledger.log.clone());
    ledger
        .submit(
            &statement(Kind::Audit, FACTORY, "a marker to find"),
            &ledger.cast.auditor,
        )
        .unwrap();
    let index = ledger.log.head().size() - 1;
    // Flip a byte of that entry in the journal under the running server.
    let path = ledger.dir.path().join("journal");
    let mut journal = std::fs::read(&path).unwrap();
    let entry = ledger.log.view().entry(index).unwrap();
    let at = journal
        .windows(entry.len())
        .position(|w| w == entry.as_slice())
        .unwrap();
    journal[at + entry.len() / 2] ^= 1;
    std::fs::write(&path, &journal).unwrap();
    let a = raw(
        &url,
        format!(
            "GET /v1/entries/{index} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            host(&url)
        )
        .as_bytes(),
    );
    assert!(is_problem(&a, 503, "corrupt"), "{a}");
    let h = raw(
        &url,
        format!(
            "GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            host(&url)
        )
        .as_bytes(),
    );
    assert!(
        h.starts_with("HTTP/1.1 503") && h.contains("\"until_restart\":true"),
        "{h}"
    );
    let m = raw(
        &url,
        format!(
            "GET /metrics HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            host(&url)
        )
        .as_bytes(),
    );
    assert!(
        m.contains("vouch_corruptions_total 1") && m.contains("vouch_accepting_writes 0"),
        "{m}"
    );
}
