//! Log core benchmark: run with `cargo bench --bench log`. Prints figures; asserts
//! nothing about time.
//!
//! - durable appends of 1 KiB entries from 64 concurrent tasks, group commit against a
//!   flush per append;
//! - inclusion and consistency proof generation at 1,000,000 entries;
//! - reopening the 1,000,000-entry log;
//! - bytes on disk per entry and the process's peak RSS.
//!
//! `VOUCH_BENCH_ENTRIES` changes the size of the big log (default 1,000,000).
//! `VOUCH_BENCH_PG=postgres://…` (a server; each run makes a database of its own, see
//! `.ci/postgres`) measures the big log on PostgreSQL too, after sled, in the same run.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vouch::log::{Log, LogConfig, Submission};
use vouch::merkle;
use vouch::note::{KeyName, Signer};
use vouch::store::{PgOptions, PgStore, SledOptions, SledStore, Store, StoreHashes};

const TASKS: u64 = 64;
const ENTRY_LEN: usize = 1024;

fn signer() -> Signer {
    Signer::from_seed(KeyName::new("bench.example/log").unwrap(), [1; 32])
}

fn entry(task: u64, i: u64) -> Vec<u8> {
    let mut e = vec![0u8; ENTRY_LEN];
    // Distinct, incompressible-enough content per entry.
    let mut x = (task << 40) ^ i ^ 0x9E37_79B9_7F4A_7C15;
    for chunk in e.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    e
}

/// Where a log of the benchmark lives.
enum At {
    Sled(tempfile::TempDir),
    Postgres(String),
}

impl At {
    fn name(&self) -> &'static str {
        match self {
            At::Sled(_) => "sled",
            At::Postgres(_) => "PostgreSQL",
        }
    }

    fn store(&self) -> Arc<dyn Store> {
        match self {
            At::Sled(dir) => {
                Arc::new(SledStore::open(dir.path(), &SledOptions::default()).unwrap())
            }
            At::Postgres(url) => Arc::new(
                PgStore::open(
                    url,
                    &PgOptions {
                        wait_for_writer: true,
                        ..PgOptions::default()
                    },
                )
                .unwrap(),
            ),
        }
    }

    fn bytes(&self, store: &dyn Store) -> u64 {
        match self {
            At::Sled(dir) => dir_bytes(dir.path()),
            At::Postgres(_) => store.size_on_disk().unwrap_or(0),
        }
    }
}

fn open_log(at: &At, config: LogConfig, create: bool) -> Log {
    let store = at.store();
    if create {
        Log::create(store.clone(), &signer()).unwrap();
    }
    Log::open(store, Some(signer()), config).unwrap()
}

/// Appends from 64 tasks until `total` entries or `limit` time; returns (appends, seconds).
fn run_appends(
    rt: &tokio::runtime::Runtime,
    log: Arc<Log>,
    total: u64,
    limit: Duration,
    offset: u64,
) -> (u64, f64) {
    let start = Instant::now();
    let per_task = total / TASKS;
    let done: u64 = rt.block_on(async {
        let mut tasks = Vec::new();
        for t in 0..TASKS {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                let mut n = 0;
                for i in 0..per_task {
                    if start.elapsed() > limit {
                        break;
                    }
                    log.append(Submission {
                        entry: entry(t + offset, i),
                        subject: None,
                    })
                    .await
                    .unwrap();
                    n += 1;
                }
                n
            }));
        }
        let mut sum = 0;
        for t in tasks {
            sum += t.await.unwrap();
        }
        sum
    });
    (done, start.elapsed().as_secs_f64())
}

fn dir_bytes(path: &Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(path).unwrap().flatten() {
        let md = e.metadata().unwrap();
        total += if md.is_dir() {
            dir_bytes(&e.path())
        } else {
            md.len()
        };
    }
    total
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn time_per_op(iterations: u64, mut f: impl FnMut(u64)) -> f64 {
    let start = Instant::now();
    for i in 0..iterations {
        f(i);
    }
    start.elapsed().as_secs_f64() * 1e6 / iterations as f64
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let big: u64 = std::env::var("VOUCH_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let base = std::env::var_os("VOUCH_BENCH_DIR").map_or_else(std::env::temp_dir, Into::into);

    // 1. Flush per append (batch of one) against group commit, same tasks and entries.
    let at = At::Sled(tempfile::TempDir::new_in(&base).unwrap());
    let single = Arc::new(open_log(
        &at,
        LogConfig {
            max_batch: 1,
            max_wait: Duration::ZERO,
        },
        true,
    ));
    let baseline_secs = std::env::var("VOUCH_BENCH_BASELINE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let (n1, s1) = run_appends(
        &rt,
        single,
        64 * 1000,
        Duration::from_secs(baseline_secs),
        0,
    );
    let per_append = n1 as f64 / s1;
    println!("flush per append:  {n1} appends in {s1:.2} s = {per_append:.0} appends/s");

    let mut config = LogConfig::default();
    if let Some(us) = std::env::var("VOUCH_BENCH_MAX_WAIT_US")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        config.max_wait = Duration::from_micros(us);
    }
    println!(
        "group commit config: max_batch {} max_wait {:?}",
        config.max_batch, config.max_wait
    );
    big_log(
        &rt,
        &At::Sled(tempfile::TempDir::new_in(&base).unwrap()),
        &config,
        big,
        Some(per_append),
    );
    if let Ok(server) = std::env::var("VOUCH_BENCH_PG") {
        let url = common::pg_database(&server, &format!("vouch_bench_log_{}", std::process::id()));
        big_log(&rt, &At::Postgres(url), &config, big, None);
    }
    println!("peak RSS: {:.0} MiB", peak_rss_mib());
}

/// Group commit appends of `big` entries at `at`, then proofs, bytes and reopening at
/// that size.
fn big_log(
    rt: &tokio::runtime::Runtime,
    at: &At,
    config: &LogConfig,
    big: u64,
    per_append: Option<f64>,
) {
    let name = at.name();
    let log = Arc::new(open_log(at, config.clone(), true));
    let (n2, s2) = run_appends(rt, log.clone(), big, Duration::from_secs(600), 1000);
    let grouped = n2 as f64 / s2;
    println!(
        "{name}: group commit: {n2} appends in {s2:.2} s = {grouped:.0} appends/s{}",
        per_append.map_or(String::new(), |p| format!(
            " ({:.1}x flush per append)",
            grouped / p
        ))
    );
    let size = log.head().size();

    // 2. Proof generation at the big size.
    let iters = 20_000;
    let mut x = 12345u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let idx: Vec<u64> = (0..iters).map(|_| rnd() % size).collect();
    let inc = time_per_op(iters, |i| {
        std::hint::black_box(log.view().inclusion_proof(idx[i as usize], size).unwrap());
    });
    let old: Vec<u64> = (0..iters).map(|_| 1 + rnd() % (size - 1)).collect();
    let con = time_per_op(iters, |i| {
        std::hint::black_box(log.view().consistency_proof(old[i as usize], size).unwrap());
    });
    println!("{name}: inclusion proof at {size}: {inc:.2} µs; consistency proof: {con:.2} µs");
    // The read path of a proof alone, two ways, alternated so that neither has the
    // other's warm cache to itself: every level read, or (the log's way) levels 1 and
    // 2 computed from the leaf row.
    let reads = StoreHashes(log.store().as_ref());
    let (mut read_all, mut computed) = (0.0, 0.0);
    for round in 0..4 {
        let at: Vec<u64> = (0..2 * iters).map(|_| rnd() % size).collect();
        let a = time_per_op(iters, |i| {
            std::hint::black_box(merkle::inclusion_proof(&reads, at[i as usize], size).unwrap());
        });
        let b = time_per_op(iters, |i| {
            std::hint::black_box(
                merkle::inclusion_proofs(&reads, &[at[(iters + i) as usize]], size).unwrap(),
            );
        });
        if round >= 2 {
            read_all += a / 2.0;
            computed += b / 2.0;
        }
    }
    println!(
        "{name}: a proof's reads: every level {read_all:.2} µs, levels 1-2 from the leaf row \
         {computed:.2} µs ({:.2}x)",
        computed / read_all
    );

    // 3. Bytes on disk, then reopen.
    let on_disk = at.bytes(log.store().as_ref());
    println!(
        "{name}: on disk: {:.1} MiB = {:.0} bytes per {ENTRY_LEN}-byte entry ({:.2}x)",
        on_disk as f64 / (1 << 20) as f64,
        on_disk as f64 / size as f64,
        on_disk as f64 / size as f64 / ENTRY_LEN as f64
    );
    let start = Instant::now();
    drop(log);
    println!(
        "{name}: close (the sequencer stops, the store flushes): {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    std::thread::sleep(Duration::from_millis(200));
    let start = Instant::now();
    let reopened = open_log(at, LogConfig::default(), false);
    let reopen = start.elapsed();
    assert_eq!(reopened.head().size(), size);
    println!(
        "{name}: reopen of {size} entries: {:.1} ms",
        reopen.as_secs_f64() * 1e3
    );
    drop(reopened);
    let start = Instant::now();
    let again = open_log(at, LogConfig::default(), false);
    println!(
        "{name}: second reopen: {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    drop(again);
    // The cache of low hash rows, at its old size and its default, in this run: random
    // proofs once it is warm.
    if let At::Sled(dir) = at {
        for mib in [16u64, 64] {
            let options = SledOptions {
                row_cache_bytes: mib << 20,
                ..SledOptions::default()
            };
            let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path(), &options).unwrap());
            let log = Log::open(store, None, LogConfig::default()).unwrap();
            let mut proofs = |n: u64| {
                time_per_op(n, |_| {
                    std::hint::black_box(log.view().inclusion_proof(rnd() % size, size).unwrap());
                })
            };
            proofs(200_000);
            let warm = proofs(iters);
            println!("{name}: inclusion proof at {size}, {mib} MiB of low rows cached, warm: {warm:.2} µs");
        }
    }
}
