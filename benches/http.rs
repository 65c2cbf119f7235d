//! HTTP load benchmark: run with `cargo bench --bench http`. Prints figures; asserts
//! nothing about time.
//!
//! Starts `vouch serve --demo` (release build) as a separate process in a temporary
//! directory, so that its RSS is its own, and drives it over loopback from this
//! process with envelopes signed before the timed runs:
//!
//! - `POST /v1/attestations` from 64 connections, each waiting for its receipt;
//! - `GET` of inclusion proofs and tiles from 64 connections;
//! - `POST` at 5,000 submissions/s offered (open loop): p50 and p99 latency;
//! - the server's RSS after each run.

mod common;

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{memory_mib, percentile, release_binary, Server};
use vouch::envelope;
use vouch::statement::{
    Finding, Kind, Outcome, Severity, Statement, Status, Supplier, SupplierId, Topic,
    STATEMENT_TYPE,
};

const CONNECTIONS: usize = 64;

fn statement(i: usize) -> Vec<u8> {
    let factories = [
        "VN2019303BQ3FZ9",
        "VN2020114KD2M9D",
        "VN2021087TR7X4J",
        "VN2019256HP3K82",
        "VN2022031MN5Q2N",
    ];
    let s = Statement {
        result: Some(Outcome {
            status: Some(Status::Conformant),
            score: Some(80.0),
            ..Default::default()
        }),
        findings: vec![Finding {
            code: format!("LOAD-{i}"),
            severity: Severity::Minor,
            text: "Load test finding with a realistic amount of text in it, about one line long."
                .repeat(4),
        }],
        ..Statement::new(
            Kind::Audit,
            Supplier {
                id: SupplierId::new(factories[i % 5]).unwrap(),
                name: "Factory".into(),
                country: "VN".into(),
                identifiers: Default::default(),
                province: None,
                address: None,
            },
            Topic::WorkingHours,
            vouch::log::timestamp(time::OffsetDateTime::now_utc()),
        )
    };
    serde_json::to_vec(&s).unwrap()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let seconds: u64 = std::env::var("VOUCH_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let bin = release_binary();
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(&bin)
        .args(["serve", "--demo", "--listen", "127.0.0.1:18181"])
        .current_dir(dir.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let _server = Server(child);
    let url = "http://127.0.0.1:18181";
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()
        .unwrap();
    rt.block_on(async {
        for _ in 0..100 {
            if client.get(format!("{url}/healthz")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    println!(
        "server pid {pid}, RSS after seeding the demo: {:.0} MiB",
        memory_mib(pid, "VmRSS:")
    );
    let keys: Vec<_> = ["delta-audit", "mekong-compliance", "red-river-assess"]
        .iter()
        .map(|k| vouch::keyfile::read_signer(&dir.path().join(format!("keys/{k}.key"))).unwrap())
        .collect();
    // Enough for 15,000/s closed loop, then 5,000/s open loop.
    let n = (15_000 + 5_000) * seconds as usize;
    let t = Instant::now();
    let envelopes: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..n)
            .map(|i| envelope::sign(STATEMENT_TYPE, &statement(i), &[&keys[i % 3]]).to_json())
            .collect(),
    );
    println!(
        "signed {n} envelopes ({} bytes each) in {:.1} s",
        envelopes[0].len(),
        t.elapsed().as_secs_f64()
    );

    // 1. Closed loop: 64 connections posting as fast as receipts come back.
    let next = Arc::new(AtomicU64::new(0));
    let done = rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut tasks = Vec::new();
        for _ in 0..CONNECTIONS {
            let (client, envelopes, next) = (client.clone(), envelopes.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                let mut ok = 0u64;
                while Instant::now() < deadline {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    if i >= envelopes.len() - 5_000 * seconds as usize {
                        break;
                    }
                    let r = client
                        .post(format!("{url}/v1/attestations"))
                        .header("content-type", "application/json")
                        .body(envelopes[i].clone())
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 201);
                    r.bytes().await.unwrap();
                    ok += 1;
                }
                ok
            }));
        }
        let start = Instant::now();
        let mut total = 0;
        for t in tasks {
            total += t.await.unwrap();
        }
        (total, start.elapsed().as_secs_f64())
    });
    println!(
        "POST /v1/attestations, {CONNECTIONS} connections: {} durable appends in {:.1} s = {:.0}/s; server RSS {:.0} MiB",
        done.0, done.1, done.0 as f64 / done.1, memory_mib(pid, "VmRSS:")
    );

    // 2. Reads: inclusion proofs and tiles.
    let size: u64 = rt.block_on(async {
        let v: serde_json::Value = client
            .get(format!("{url}/v1/log"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["tree_size"].as_u64().unwrap()
    });
    let reads = rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut tasks = Vec::new();
        for c in 0..CONNECTIONS {
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                let mut ok = 0u64;
                let mut x = c as u64 * 7919 + 1;
                while Instant::now() < deadline {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let path = if ok.is_multiple_of(2) {
                        format!(
                            "/v1/proofs/inclusion?index={}&size={size}",
                            (x >> 33) % size
                        )
                    } else {
                        format!(
                            "/tile/0/{}",
                            vouch::tiles::encode_index((x >> 33) % (size / 256))
                        )
                    };
                    let r = client.get(format!("{url}{path}")).send().await.unwrap();
                    assert_eq!(r.status(), 200, "{path}");
                    r.bytes().await.unwrap();
                    ok += 1;
                }
                ok
            }));
        }
        let start = Instant::now();
        let mut total = 0;
        for t in tasks {
            total += t.await.unwrap();
        }
        (total, start.elapsed().as_secs_f64())
    });
    println!(
        "GET inclusion proofs and full tiles at size {size}, {CONNECTIONS} connections: {} requests in {:.1} s = {:.0}/s; server RSS {:.0} MiB",
        reads.0, reads.1, reads.0 as f64 / reads.1, memory_mib(pid, "VmRSS:")
    );

    // 3. Open loop at 5,000 submissions/s offered: latency.
    let rate = 5_000u64;
    let latencies = rt.block_on(async {
        let start_at = next.load(Ordering::Relaxed) as usize;
        let count = ((rate * seconds) as usize).min(envelopes.len().saturating_sub(start_at));
        let mut tasks = Vec::with_capacity(count);
        let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        for i in 0..count {
            tick.tick().await;
            let (client, envelopes) = (client.clone(), envelopes.clone());
            tasks.push(tokio::spawn(async move {
                let t = Instant::now();
                let r = client
                    .post(format!("{url}/v1/attestations"))
                    .header("content-type", "application/json")
                    .body(envelopes[start_at + i].clone())
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 201 => {
                        r.bytes().await.unwrap();
                        Ok(t.elapsed())
                    }
                    Ok(r) => Err(format!("status {}", r.status())),
                    Err(e) => Err(e.to_string()),
                }
            }));
        }
        let mut out = Vec::with_capacity(count);
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    let failed: Vec<&String> = latencies.iter().filter_map(|r| r.as_ref().err()).collect();
    if !failed.is_empty() {
        println!(
            "open loop: {} of {} requests failed, first: {}",
            failed.len(),
            latencies.len(),
            failed[0]
        );
    }
    let mut sorted: Vec<Duration> = latencies
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    sorted.sort();
    if sorted.is_empty() {
        println!("open loop: no envelopes left");
    } else {
        println!(
            "POST at {rate}/s offered ({} requests): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; server RSS {:.0} MiB",
            sorted.len(),
            percentile(&sorted, 0.5),
            percentile(&sorted, 0.99),
            sorted.last().unwrap().as_secs_f64() * 1e3,
            memory_mib(pid, "VmRSS:")
        );
    }
}
