//! Bounded work under hostile load: run with `cargo bench --bench limits`. Prints
//! figures; asserts nothing about time.
//!
//! 1. **Slow clients.** `vouch serve --demo` (release build, its own process) holds
//!    1,000 connections that never finish their requests: half send headers a byte
//!    every second, half send a POST body a byte every second. Meanwhile real
//!    submissions arrive at 200/s (open loop, fresh connections): their p50, p99 and
//!    max latency. Then SIGTERM with the slow clients still connected: how long until
//!    the process exits.
//! 2. **Expensive reads on a big ledger.** A ledger of `VOUCH_BENCH_ENTRIES` (default
//!    1,000,000) signed attestations about 5,000 factories, served by `vouch serve`.
//!    32 clients at once, for `VOUCH_BENCH_SECONDS` (default 20), alternate
//!    `POST /v1/verify {"supplier": ...}` and `GET /v1/suppliers/{id}/history`: answers
//!    by status, and the server's peak RSS (VmHWM).

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{key, memory_mib, percentile, release_binary, statement, supplier, Server};
use vouch::envelope;
use vouch::log::timestamp;
use vouch::statement::STATEMENT_TYPE;

fn wait_healthy(client: &reqwest::blocking::Client, url: &str) {
    for _ in 0..600 {
        if client.get(format!("{url}/healthz")).send().is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the server did not start");
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let bin = release_binary();
    slow_clients(&bin);
    expensive_reads(&bin);
}

fn slow_clients(bin: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(bin)
        .args(["serve", "--demo", "--listen", "127.0.0.1:18182"])
        .current_dir(dir.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut server = Server(child);
    let url = "http://127.0.0.1:18182";
    let client = reqwest::blocking::Client::new();
    wait_healthy(&client, url);
    let auditor = vouch::keyfile::read_signer(&dir.path().join("keys/delta-audit.key")).unwrap();
    let now = timestamp(time::OffsetDateTime::now_utc());
    let rate = 200u64;
    let seconds = env_or("VOUCH_BENCH_SECONDS", 20);
    let envelopes: Vec<Vec<u8>> = (0..(rate * seconds) as usize)
        .map(|i| envelope::sign(STATEMENT_TYPE, &statement(i, &now), &[&auditor]).to_json())
        .collect();

    // 1,000 slow clients, each fed one byte a second by one thread.
    const SLOW: usize = 1_000;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut slow = Vec::with_capacity(SLOW);
    for i in 0..SLOW {
        let Ok(s) = TcpStream::connect("127.0.0.1:18182") else {
            continue;
        };
        let request = if i % 2 == 0 {
            "GET /checkpoint HTTP/1.1\r\nHost: x\r\nX-Slow: ".to_owned() + &"a".repeat(4096)
        } else {
            format!(
                "POST /v1/attestations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{}",
                "{".repeat(60000)
            )
        };
        slow.push((s, request.into_bytes(), 0usize));
    }
    let opened = slow.len();
    let trickle = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut reconnects = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for (s, request, at) in &mut slow {
                    // Closed by the server's timeouts: come back, as an attacker would.
                    if s.write_all(&request[*at..*at + 1]).is_err() {
                        if let Ok(fresh) = TcpStream::connect("127.0.0.1:18182") {
                            *s = fresh;
                            *at = 0;
                            reconnects += 1;
                        }
                        continue;
                    }
                    *at = (*at + 1) % request.len();
                }
                std::thread::sleep(Duration::from_secs(1));
            }
            (slow, reconnects)
        })
    };
    std::thread::sleep(Duration::from_secs(2));

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let async_client = reqwest::Client::new();
    let envelopes = Arc::new(envelopes);
    let latencies = rt.block_on(async {
        let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
        let mut tasks = Vec::new();
        for i in 0..envelopes.len() {
            tick.tick().await;
            let (client, envelopes) = (async_client.clone(), envelopes.clone());
            tasks.push(tokio::spawn(async move {
                let t = Instant::now();
                let r = client
                    .post(format!("{url}/v1/attestations"))
                    .header("content-type", "application/json")
                    .body(envelopes[i].clone())
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                r.bytes().await.unwrap();
                (t.elapsed(), status)
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    let ok = latencies.iter().filter(|(_, s)| *s == 201).count();
    let mut sorted: Vec<Duration> = latencies.iter().map(|(d, _)| *d).collect();
    sorted.sort();
    println!(
        "slow clients: {opened} connections trickling a byte a second; {} real submissions at {rate}/s: {ok} answered 201, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; server RSS {:.0} MiB",
        sorted.len(),
        percentile(&sorted, 0.5),
        percentile(&sorted, 0.99),
        sorted.last().unwrap().as_secs_f64() * 1e3,
        memory_mib(pid, "VmRSS:")
    );
    // SIGTERM with the slow clients still connected.
    let t = Instant::now();
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let exit = server.0.wait().unwrap();
    println!(
        "SIGTERM with slow clients connected: the server exited ({exit}) after {:.2} s",
        t.elapsed().as_secs_f64()
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (_, reconnects) = trickle.join().unwrap();
    println!("(slow clients reconnected {reconnects} times after the server closed them)");
}

fn expensive_reads(bin: &Path) {
    let n = env_or("VOUCH_BENCH_ENTRIES", 1_000_000) as usize;
    let seconds = env_or("VOUCH_BENCH_SECONDS", 20);
    let base = std::env::var_os("VOUCH_BENCH_DIR").map_or_else(std::env::temp_dir, Into::into);
    let dir = tempfile::tempdir_in(base).unwrap();
    let data = dir.path().join("data");
    let log_key = key("bench.example/limits", 1);
    vouch::keyfile::write_pair(
        &log_key,
        &dir.path().join("log.key"),
        &dir.path().join("log.pub"),
    )
    .unwrap();
    let t = Instant::now();
    common::build_ledger(&data, &log_key, n, supplier);
    println!(
        "built a ledger of {n} attestations about 5,000 factories in {:.0} s",
        t.elapsed().as_secs_f64()
    );
    let (_server, pid) = common::serve_data(bin, &dir.path().join("log.key"), &data, 18183);
    let url = "http://127.0.0.1:18183";
    wait_healthy(&reqwest::blocking::Client::new(), url);
    println!("server started: RSS {:.0} MiB", memory_mib(pid, "VmRSS:"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::new();
    let counts = rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut tasks = Vec::new();
        for c in 0..32usize {
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                let mut counts = std::collections::BTreeMap::<(&str, u16), u64>::new();
                let mut i = c * 7919;
                while Instant::now() < deadline {
                    i += 1;
                    let id = supplier(i);
                    let (what, r) = if i % 2 == 0 {
                        (
                            "verify",
                            client
                                .post(format!("{url}/v1/verify"))
                                .header("content-type", "application/json")
                                .body(format!("{{\"supplier\":\"{id}\"}}"))
                                .send()
                                .await
                                .unwrap(),
                        )
                    } else {
                        (
                            "history",
                            client
                                .get(format!("{url}/v1/suppliers/{id}/history?limit=500"))
                                .send()
                                .await
                                .unwrap(),
                        )
                    };
                    let status = r.status().as_u16();
                    r.bytes().await.unwrap();
                    *counts.entry((what, status)).or_default() += 1;
                    if status == 503 {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                counts
            }));
        }
        let mut all = std::collections::BTreeMap::<(&str, u16), u64>::new();
        for t in tasks {
            for (k, v) in t.await.unwrap() {
                *all.entry(k).or_default() += v;
            }
        }
        all
    });
    println!(
        "32 clients for {seconds} s, verify and history of suppliers with {} entries each: {:?}",
        n / 5000,
        counts
    );
    println!(
        "server peak RSS (VmHWM) {:.0} MiB, RSS now {:.0} MiB",
        memory_mib(pid, "VmHWM:"),
        memory_mib(pid, "VmRSS:")
    );
}
