//! Append load from a light generator: run with `cargo bench --bench wrk`. Prints
//! figures; asserts nothing about time.
//!
//! Drives `vouch serve --demo` with [wrk](https://github.com/wg/wrk) (Debian's `wrk`),
//! 64 connections on one wrk thread, each `POST /v1/attestations` a different envelope
//! signed before the run (`benches/wrk/submit.lua` rotates them). wrk costs a fraction
//! of the CPU an HTTP client library would, so the figures are the server's, and the
//! server's own CPU time per append is read from `/proc` around each run.
//!
//! - A null handler (an axum route in this process that reads the body and answers a
//!   receipt-sized 201) on the same cores is the ceiling.
//! - `VOUCH_BENCH_SERVERS=name=/path/to/vouch,...` compares other builds of `vouch`
//!   (say, a worktree at an older commit) in the same run: rounds alternate between
//!   them, and the summary gives each one's mean throughput and CPU per append as a
//!   ratio to the first. Without it, this tree's release build is measured.
//! - `VOUCH_BENCH_PG=postgres://…` (a server, see `.ci/postgres`) adds this tree's build
//!   on PostgreSQL (`serve --demo --store`, a new database per round) to every round.
//! - `VOUCH_BENCH_RUST_LOG` (default `info`, what a server logs unless told otherwise:
//!   one line per request) is the servers' `RUST_LOG`; their output is discarded.
//! - `VOUCH_BENCH_SECONDS` (default 10) per run, `VOUCH_BENCH_ROUNDS` (default 3).
//! - `VOUCH_BENCH_DIR`: where the demo keys (`keys/`) and the envelopes
//!   (`envelopes.jsonl`) are written and left, to drive a server by hand (under a
//!   profiler, say) with `benches/wrk/submit.lua`; a temporary directory otherwise.
//!
//! Every server of a run starts from the same demo keys, so that one set of envelopes
//! is valid for all of them.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{release_binary, Server};
use vouch::envelope;
use vouch::statement::STATEMENT_TYPE;

const CONNECTIONS: usize = 64;
/// The name of the run on PostgreSQL.
const PG_SERVER: &str = "this tree on PostgreSQL";
const PORT: u16 = 18191;

struct Run {
    rate: f64,
    cpu_us: f64,
    p50: String,
    p99: String,
    failed: u64,
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if Command::new("wrk").arg("--version").output().is_err() {
        println!("wrk is not installed (Debian: apt-get install wrk); nothing measured");
        return;
    }
    let seconds: u64 = env_or("VOUCH_BENCH_SECONDS", 10);
    let rounds: usize = env_or("VOUCH_BENCH_ROUNDS", 3);
    let mut servers: Vec<(String, PathBuf)> = match std::env::var("VOUCH_BENCH_SERVERS") {
        Ok(list) => list
            .split(',')
            .map(|s| {
                let (name, path) = s
                    .split_once('=')
                    .expect("VOUCH_BENCH_SERVERS is name=path,...");
                (name.to_owned(), PathBuf::from(path))
            })
            .collect(),
        Err(_) => vec![("this tree".to_owned(), release_binary())],
    };
    let pg = std::env::var("VOUCH_BENCH_PG").ok();
    if pg.is_some() {
        servers.push((PG_SERVER.to_owned(), release_binary()));
    }

    // One set of demo keys for every server, and envelopes signed with them.
    let temp = tempfile::tempdir().unwrap();
    let keys =
        std::env::var_os("VOUCH_BENCH_DIR").map_or_else(|| temp.path().to_owned(), PathBuf::from);
    std::fs::create_dir_all(&keys).unwrap();
    {
        let demo = tempfile::tempdir().unwrap();
        let (_server, _) = start(&servers[0].1, demo.path(), None);
        copy_dir(&demo.path().join("keys"), &keys.join("keys"));
    }
    let signers: Vec<_> = ["delta-audit", "mekong-compliance", "red-river-assess"]
        .iter()
        .map(|k| vouch::keyfile::read_signer(&keys.join(format!("keys/{k}.key"))).unwrap())
        .collect();
    let n = 25_000 * seconds as usize;
    let issued_at = vouch::log::timestamp(time::OffsetDateTime::now_utc());
    let envelopes = keys.join("envelopes.jsonl");
    let mut lines = Vec::with_capacity(n * 1000);
    for i in 0..n {
        let statement = common::statement_about(i, http_supplier(i), &issued_at);
        lines.extend_from_slice(
            &envelope::sign(STATEMENT_TYPE, &statement, &[&signers[i % 3]]).to_json(),
        );
        lines.push(b'\n');
    }
    std::fs::write(&envelopes, lines).unwrap();
    println!("signed {n} envelopes; {seconds} s per run, {rounds} rounds, {CONNECTIONS} connections, wrk -t1");

    let null = null_server();
    let mut results: Vec<Vec<Run>> = servers.iter().map(|_| Vec::new()).collect();
    let mut ceiling = Vec::new();
    for round in 1..=rounds {
        ceiling.push(wrk(std::process::id(), &envelopes, seconds, PORT + 1));
        print_run(round, "null handler", ceiling.last().unwrap());
        for (i, (name, bin)) in servers.iter().enumerate() {
            let dir = tempfile::tempdir().unwrap();
            copy_dir(&keys.join("keys"), &dir.path().join("keys"));
            let store = (name == PG_SERVER).then(|| {
                let server = pg.as_deref().expect("VOUCH_BENCH_PG");
                common::pg_database(
                    server,
                    &format!("vouch_bench_wrk_{}_{round}", std::process::id()),
                )
            });
            let (_server, pid) = start(bin, dir.path(), store.as_deref());
            let run = wrk(pid, &envelopes, seconds, PORT);
            print_run(round, name, &run);
            results[i].push(run);
        }
    }
    drop(null);

    let mean =
        |runs: &[Run], f: fn(&Run) -> f64| runs.iter().map(f).sum::<f64>() / runs.len() as f64;
    println!("\nmeans over {rounds} rounds:");
    let ceiling_rate = mean(&ceiling, |r| r.rate);
    println!("  null handler: {ceiling_rate:.0}/s");
    let (base_rate, base_cpu) = (
        mean(&results[0], |r| r.rate),
        mean(&results[0], |r| r.cpu_us),
    );
    for ((name, _), runs) in servers.iter().zip(&results) {
        let (rate, cpu) = (mean(runs, |r| r.rate), mean(runs, |r| r.cpu_us));
        println!(
            "  {name}: {rate:.0}/s ({:.0}% of the null handler), server CPU {cpu:.1} µs per append; ratio to {}: throughput {:.3}, CPU {:.3}",
            100.0 * rate / ceiling_rate,
            servers[0].0,
            rate / base_rate,
            cpu / base_cpu
        );
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The factories of `benches/http.rs`: a handful, so that chains grow long.
fn http_supplier(i: usize) -> &'static str {
    [
        "VN2019303BQ3FZ9",
        "VN2020114KD2M9D",
        "VN2021087TR7X4J",
        "VN2019256HP3K82",
        "VN2022031MN5Q2N",
    ][i % 5]
}

/// `vouch serve --demo` in `dir` (keys in `dir/keys`; on the database `store` when
/// given), once it answers.
fn start(bin: &Path, dir: &Path, store: Option<&str>) -> (Server, u32) {
    let child = Command::new(bin)
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{PORT}")])
        .args(store.map(|url| ["--store", url]).into_iter().flatten())
        .current_dir(dir)
        .env(
            "RUST_LOG",
            std::env::var("VOUCH_BENCH_RUST_LOG").unwrap_or_else(|_| "info".into()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", PORT)).is_err() {
        assert!(Instant::now() < deadline, "{} did not start", bin.display());
        std::thread::sleep(Duration::from_millis(50));
    }
    (server, pid)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// CPU seconds (user and system) that process `pid` has used.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    // The kernel's USER_HZ, which /proc reports in, is 100 on every Linux ABI.
    ticks / 100.0
}

fn wrk(pid: u32, envelopes: &Path, seconds: u64, port: u16) -> Run {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/wrk/submit.lua");
    let cpu = cpu_seconds(pid);
    let out = Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{CONNECTIONS}"),
            &format!("-d{seconds}s"),
            "--latency",
            "-s",
        ])
        .arg(&script)
        .arg(format!("http://127.0.0.1:{port}"))
        .arg("--")
        .arg(envelopes)
        .output()
        .unwrap();
    let cpu = cpu_seconds(pid) - cpu;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "wrk failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |prefix: &str| -> Option<String> {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .map(|v| v.split_whitespace().next().unwrap_or("").to_owned())
    };
    let requests: f64 = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.parse().ok())
        .expect("wrk printed no request count");
    let failed = field("Non-2xx or 3xx responses:").map_or(0, |v| v.parse().unwrap_or(0))
        + text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Socket errors:"))
            .map_or(0, |l| {
                l.split(',')
                    .filter_map(|p| p.split_whitespace().nth(1)?.parse::<u64>().ok())
                    .sum()
            });
    Run {
        rate: field("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0),
        cpu_us: cpu * 1e6 / requests.max(1.0),
        p50: field("50%").unwrap_or_default(),
        p99: field("99%").unwrap_or_default(),
        failed,
    }
}

fn print_run(round: usize, name: &str, r: &Run) {
    println!(
        "round {round} {name}: {:.0}/s, p50 {}, p99 {}, CPU {:.1} µs per request{}",
        r.rate,
        r.p50,
        r.p99,
        r.cpu_us,
        if r.failed > 0 {
            format!(", {} failed", r.failed)
        } else {
            String::new()
        }
    );
}

/// The ceiling: a route that reads the body and answers a receipt-sized 201, served by
/// this process on a runtime of two threads. Dropped, it stops.
fn null_server() -> tokio::runtime::Runtime {
    use axum::routing::post;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let receipt: &'static str = Box::leak(
        serde_json::json!({
            "index": 123_456,
            "leaf_hash": "x".repeat(44),
            "duplicate": false,
            "tree_size": 123_457,
            "inclusion_proof": vec!["x".repeat(44); 17],
            "checkpoint": "vouch.example/log\n123457\n".to_owned() + &"x".repeat(44) + "\n\n— vouch.example/log " + &"x".repeat(92) + "\n",
        })
        .to_string()
        .into_boxed_str(),
    );
    rt.spawn(async move {
        let app = axum::Router::new().route(
            "/v1/attestations",
            post(move |body: axum::body::Bytes| async move {
                std::hint::black_box(body);
                (
                    axum::http::StatusCode::CREATED,
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    receipt,
                )
            }),
        );
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", PORT + 1))
            .await
            .unwrap();
        axum::serve(listener, app).await.unwrap();
    });
    rt
}
