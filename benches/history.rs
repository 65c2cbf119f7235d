//! Complete histories and open data at scale: run with `cargo bench --bench history`.
//! Prints figures; asserts nothing about time.
//!
//! A ledger of `VOUCH_BENCH_ENTRIES` (default 1,000,000) signed attestations: one
//! factory has 300 of them, the rest are spread over 5,000 factories. Then:
//! 1. **The 300-record history**, read in process (`View::history`, one page of 500, as
//!    the server assembles it) and over HTTP from `vouch serve`: server time, bytes,
//!    proof bytes (index proof and inclusion proofs), and the client's verification
//!    time (`verify_history`: signatures, registry, index proof, chain).
//! 2. **The explorer**: the factory page of the 300-record supplier (first visit and
//!    after), and directory pages per second; then, when Chromium and chromedriver are
//!    installed, the same page in headless Chromium: how long the reader's browser
//!    takes to fetch and verify the 300-record history (explorer.js).
//! 3. **The monitor** (`vouch monitor`) over HTTP against the same server: every entry
//!    fetched from the tiles, judged by the log's rules and mirrored, in entries/s.
//! 4. **Export** of every record with `vouch export --data ... --format csv`, a
//!    process of its own: time and peak RSS, at a tenth of the ledger and at all of it
//!    (constant memory means the same peak).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{key, memory_mib, release_binary, supplier};
use vouch::log::{Log, LogConfig};
use vouch::store::{SledOptions, SledStore, Store};

/// One entry in `STRIDE` is about the 300-record factory.
const TARGET: &str = "VN2026365ZZ030X";
static STRIDE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(3333);

fn about(i: usize) -> String {
    if i % STRIDE.load(std::sync::atomic::Ordering::Relaxed) == 7 {
        TARGET.to_owned()
    } else {
        supplier(i)
    }
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}

/// Runs `vouch export` and reports its time and peak RSS, beside the peak RSS of
/// `vouch log checkpoint` on the same data (opening the store and nothing else).
fn export(bin: &Path, data: &Path, limit_note: &str) {
    let (_, open_peak, _) = run_measured(
        Command::new(bin)
            .args(["log", "checkpoint", "--data"])
            .arg(data)
            .stdout(Stdio::null()),
    );
    let (took, peak, err) = run_measured(
        Command::new(bin)
            .args(["export", "--format", "csv", "--out", "/dev/null", "--data"])
            .arg(data),
    );
    println!(
        "export {limit_note}: {took:.1} s, peak RSS {peak:.0} MiB; opening the store alone peaks at {open_peak:.0} MiB ({err})"
    );
}

/// Runs a command to its end: seconds, peak RSS in MiB, stderr.
fn run_measured(cmd: &mut Command) -> (f64, f64, String) {
    let started = Instant::now();
    let mut child = cmd.stderr(Stdio::piped()).spawn().unwrap();
    let pid = child.id();
    let mut peak = 0f64;
    loop {
        let m = memory_mib(pid, "VmHWM:");
        if m.is_finite() {
            peak = peak.max(m);
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        started.elapsed().as_secs_f64(),
        peak,
        String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    )
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n = env_or("VOUCH_BENCH_ENTRIES", 1_000_000) as usize;
    let base = std::env::var_os("VOUCH_BENCH_DIR").map_or_else(std::env::temp_dir, Into::into);
    let bin = release_binary();
    let log_key = key("bench.example/history", 1);
    STRIDE.store((n / 300).max(8), std::sync::atomic::Ordering::Relaxed);
    // VOUCH_BENCH_HISTORY_DATA: a directory to keep the ledger in and reuse on the next
    // run (built there if it holds none); the export measurements are then skipped.
    let kept = std::env::var_os("VOUCH_BENCH_HISTORY_DATA").map(std::path::PathBuf::from);
    let dir = tempfile::tempdir_in(base).unwrap();
    vouch::keyfile::write_pair(
        &log_key,
        &dir.path().join("log.key"),
        &dir.path().join("log.pub"),
    )
    .unwrap();
    let data = match kept {
        Some(kept) => {
            if !kept.join("journal").exists() {
                common::build_ledger(&kept, &log_key, n, about);
            }
            kept
        }
        None => {
            // A tenth first, exported; then the whole ledger in another directory.
            let small = dir.path().join("small");
            STRIDE.store((n / 10 / 300).max(8), std::sync::atomic::Ordering::Relaxed);
            common::build_ledger(&small, &log_key, n / 10, about);
            export(&bin, &small, &format!("of {} entries", n / 10));
            let data = dir.path().join("data");
            STRIDE.store((n / 300).max(8), std::sync::atomic::Ordering::Relaxed);
            let t = Instant::now();
            common::build_ledger(&data, &log_key, n, about);
            println!(
                "built a ledger of {n} attestations in {:.0} s",
                t.elapsed().as_secs_f64()
            );
            export(&bin, &data, &format!("of {n} entries"));
            data
        }
    };

    // In process: the server's work for the history, and the client's.
    {
        // VOUCH_BENCH_SLED_CACHE_MIB: sled's page cache for the in-process reads.
        let options = match std::env::var("VOUCH_BENCH_SLED_CACHE_MIB") {
            Ok(mib) => SledOptions {
                cache_bytes: mib.parse::<u64>().unwrap() << 20,
                ..SledOptions::default()
            },
            Err(_) => SledOptions::default(),
        };
        let store: Arc<dyn Store> = Arc::new(SledStore::open(&data, &options).unwrap());
        let log = Log::open(store, None, LogConfig::default()).unwrap();
        let mut server = Vec::new();
        let mut client = Vec::new();
        let mut history = None;
        for _ in 0..env_or("VOUCH_BENCH_ROUNDS", 20) {
            let t = Instant::now();
            let h = log.view().history(TARGET, None, 500).unwrap();
            server.push(t.elapsed());
            let t = Instant::now();
            let r = vouch::verify::verify_history(
                &h,
                TARGET,
                log_key.verifier(),
                time::OffsetDateTime::now_utc(),
            );
            client.push(t.elapsed());
            assert_eq!(r.verdict, vouch::verify::Verdict::Valid, "{:?}", r.checks);
            history = Some(h);
        }
        let h = history.unwrap();
        let index_proof = h.index_proof.as_ref().unwrap();
        let index_bytes = index_proof.decode().unwrap().byte_len();
        let inclusion_hashes: usize = h.entries.iter().map(|e| e.inclusion_proof.len()).sum();
        let json = serde_json::to_vec(&h).unwrap().len();
        let first = server[0].as_secs_f64() * 1e3;
        let fastest = server.iter().min().unwrap().as_secs_f64() * 1e3;
        println!(
            "history of {TARGET} ({} records) in a tree of {}: server {:.2} ms (median), server's first call {first:.2} ms (caches cold), fastest {fastest:.2} ms; client verification {:.1} ms first (every signature checked), {:.1} ms median after (signatures remembered)",
            h.entries.len(),
            h.tree_size,
            median(server),
            client[0].as_secs_f64() * 1e3,
            median(client.clone())
        );
        println!(
            "  proof bytes: index proof {index_bytes} ({} levels), inclusion proofs {} ({} hashes); whole response {json} bytes of JSON",
            index_proof.siblings.len(),
            inclusion_hashes * 32,
            inclusion_hashes
        );
        println!(
            "  index proof of an absent supplier: {} bytes; subjects in the index: {}",
            log.head()
                .index
                .prove(&vouch::index::key("VN0000000XXXXXX"))
                .byte_len(),
            log.head().index.len()
        );
    }

    // Over HTTP, from the release server.
    let (_server, _) = common::serve_data(&bin, &dir.path().join("log.key"), &data, 18184);
    let url = format!("http://127.0.0.1:18184/v1/suppliers/{TARGET}/history?limit=500");
    let client = reqwest::blocking::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while client.get(&url).send().map(|r| r.status().as_u16()).ok() != Some(200) {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..20 {
        let t = Instant::now();
        let body = client.get(&url).send().unwrap().bytes().unwrap();
        times.push(t.elapsed());
        bytes = body.len();
    }
    println!(
        "GET history over HTTP: {:.2} ms median of 20 (client to server on one machine), {bytes} bytes",
        median(times)
    );

    // The explorer: the factory page of the 300-record supplier (its history verified
    // and its standing drawn on the first visit, then kept while its chain head and the
    // day stay), and directory pages.
    let page = format!("http://127.0.0.1:18184/factories/{TARGET}");
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..21 {
        let t = Instant::now();
        let r = client.get(&page).send().unwrap();
        assert_eq!(r.status(), 200);
        bytes = r.bytes().unwrap().len();
        times.push(t.elapsed());
    }
    let first = times.remove(0);
    println!(
        "GET factory page of {TARGET} over HTTP: first {:.1} ms (history verified, standing drawn), then {:.2} ms median of 20; {bytes} bytes of HTML",
        first.as_secs_f64() * 1e3,
        median(times)
    );
    in_chromium(&page);
    for pass in ["first", "second"] {
        let t = Instant::now();
        let mut pages = 0;
        while t.elapsed() < Duration::from_secs(5) {
            pages += 1;
            let r = client
                .get(format!("http://127.0.0.1:18184/factories?page={pages}"))
                .send()
                .unwrap();
            if r.status() == 404 {
                break;
            }
            assert_eq!(r.status(), 200);
            r.bytes().unwrap();
        }
        println!(
            "directory pages ({pass} pass from page 1, 25 factories a page; briefs not drawn yet are drawn in the background): {pages} pages in {:.1} s = {:.1} pages/s",
            t.elapsed().as_secs_f64(),
            f64::from(pages) / t.elapsed().as_secs_f64()
        );
    }

    // The monitor: every entry from the tiles, judged, into a mirror of its own.
    let state = tempfile::tempdir().unwrap();
    let log_pub = state.path().join("log.pub");
    let info: serde_json::Value = client
        .get("http://127.0.0.1:18184/v1/log")
        .send()
        .unwrap()
        .json()
        .unwrap();
    std::fs::write(&log_pub, info["verifier_key"].as_str().unwrap()).unwrap();
    let t = Instant::now();
    let out = std::process::Command::new(&bin)
        .args(["monitor", "--url", "http://127.0.0.1:18184", "--log-key"])
        .arg(&log_pub)
        .arg("--state")
        .arg(state.path().join("monitor"))
        .output()
        .unwrap();
    let seconds = t.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let size = info["tree_size"].as_u64().unwrap();
    println!(
        "vouch monitor: {size} entries fetched, judged and mirrored in {seconds:.1} s = {:.0} entries/s (the server on the same two cores)",
        size as f64 / seconds
    );
}

/// The factory page `page` in headless Chromium, 11 visits: the time from the script's
/// start to its verdict (fetching every page of the history, then verifying it), and
/// the verification alone, as the page reports them (`data-ms`, `data-verify-ms`).
fn in_chromium(page: &str) {
    let find = |names: &[&str]| {
        names
            .iter()
            .map(std::path::PathBuf::from)
            .find(|p| p.is_file())
    };
    let (Some(driver), Some(chromium)) = (
        find(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]),
        find(&["/usr/bin/chromium", "/usr/lib/chromium/chromium"]),
    ) else {
        println!("in-browser verification: skipped (no chromium and chromedriver)");
        return;
    };
    let mut chromedriver = Command::new(driver)
        .arg("--port=18185")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let profile = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let times: Vec<(f64, f64)> = rt.block_on(async {
        let caps = serde_json::json!({"goog:chromeOptions": {"binary": chromium, "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
            format!("--user-data-dir={}", profile.path().display())]}});
        let deadline = Instant::now() + Duration::from_secs(30);
        let c = loop {
            let http = hyper_util::client::legacy::connect::HttpConnector::new();
            match fantoccini::ClientBuilder::new(http)
                .capabilities(caps.as_object().unwrap().clone())
                .connect("http://127.0.0.1:18185")
                .await
            {
                Ok(c) => break c,
                Err(e) => {
                    assert!(Instant::now() < deadline, "chromedriver: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        };
        let mut times = Vec::new();
        for _ in 0..11 {
            c.goto(page).await.unwrap();
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let got = c
                    .execute(
                        "const b = document.getElementById('in-browser'); return [b.dataset.state || '', b.dataset.ms || '', b.dataset.verifyMs || '']",
                        vec![],
                    )
                    .await
                    .unwrap();
                let state = got[0].as_str().unwrap_or_default();
                if state == "verified" || state == "failed" {
                    assert_eq!(state, "verified");
                    let ms = |i: usize| got[i].as_str().unwrap().parse::<f64>().unwrap();
                    times.push((ms(1), ms(2)));
                    break;
                }
                assert!(Instant::now() < deadline, "no verdict in the browser");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        c.close().await.unwrap();
        times
    });
    let _ = chromedriver.kill();
    let _ = chromedriver.wait();
    let (first, rest) = times.split_first().unwrap();
    let median = |i: usize| {
        let mut v: Vec<f64> = rest
            .iter()
            .map(|t| if i == 0 { t.0 } else { t.1 })
            .collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "in-browser verification of the factory page (headless Chromium, 300 records): fetch and verify {:.0} ms first visit, {:.0} ms median of 10 after; of which verification {:.0} ms first, {:.0} ms median",
        first.0,
        median(0),
        first.1,
        median(1)
    );
}
