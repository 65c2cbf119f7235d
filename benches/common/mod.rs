//! What the benchmarks share: keys, registry envelopes, attestation statements of about
//! 1 KiB about 5,000 factories, and a server process to measure.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use vouch::envelope;
use vouch::note::{KeyName, Signer};
use vouch::statement::{
    Finding, Kind, Outcome, RegistryStatement, Severity, Statement, Status, Supplier, SupplierId,
    Topic, REGISTRY_TYPE,
};

/// A deterministic key for `name`.
pub fn key(name: &str, seed: u64) -> Signer {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&seed.to_le_bytes());
    s[8] = 0x5a;
    Signer::from_seed(KeyName::new(name).unwrap(), s)
}

pub fn registry_envelope(change: &RegistryStatement, gov: &Signer) -> Vec<u8> {
    envelope::sign(REGISTRY_TYPE, &serde_json::to_vec(change).unwrap(), &[gov]).to_json()
}

/// One of 5,000 factories: about the number of garment and footwear exporters in Vietnam.
/// The OS ID of supplier `i % 5000`, as Open Supply Hub would make it: a day of 2026,
/// `AB` and three base32 characters, and the check character.
pub fn supplier(i: usize) -> String {
    const BASE32: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let n = i % 5000;
    let digits: String = [n / 1024, n / 32 % 32, n % 32]
        .iter()
        .map(|&d| BASE32[d] as char)
        .collect();
    let first = format!("VN2026{:03}AB{digits}", 1 + n % 365);
    let check = vouch::statement::SupplierId::check_character(&first).expect("base32");
    format!("{first}{check}")
}

pub fn statement(i: usize, issued_at: &str) -> Vec<u8> {
    statement_about(i, &supplier(i), issued_at)
}

/// Attestation `i` about supplier `id`.
pub fn statement_about(i: usize, id: &str, issued_at: &str) -> Vec<u8> {
    let s = Statement {
        result: Some(Outcome { status: Some(Status::PartiallyConformant), score: Some(78.0), ..Default::default() }),
        findings: vec![Finding {
            code: format!("OT-{i}"),
            severity: Severity::Major,
            text: "Overtime above 300 hours a year for 4% of workers; rest days not granted in peak weeks. ".repeat(8),
        }],
        ..Statement::new(
            Kind::Audit,
            Supplier {
                id: SupplierId::new(id).unwrap(),
                name: "Song Hong Garment JSC".into(),
                country: "VN".into(),
                identifiers: Default::default(),
                province: None,
                address: None,
            },
            Topic::WorkingHours,
            issued_at.into(),
        )
    };
    serde_json::to_vec(&s).unwrap()
}

/// Builds, in `data`, a ledger signed by `log_key` with 50 registered auditors and `n`
/// signed attestations, the `i`-th about `about(i)`, submitted from 64 tasks.
pub fn build_ledger(data: &Path, log_key: &Signer, n: usize, about: fn(usize) -> String) {
    use std::sync::Arc;
    use vouch::log::{timestamp, Log, LogConfig, Signed};
    use vouch::statement::{ParticipantSpec, Role, STATEMENT_TYPE};
    use vouch::store::{SledOptions, SledStore, Store};
    let store: Arc<dyn Store> = Arc::new(SledStore::open(data, &SledOptions::default()).unwrap());
    let gov = key("platform", 2);
    let now = timestamp(time::OffsetDateTime::now_utc());
    let spec = |id: String, role: Role, k: &Signer| ParticipantSpec {
        id: id.clone(),
        name: id,
        roles: vec![role],
        supplier_ids: vec![],
        keys: vec![k.verifier().to_string()],
        accreditation: None,
    };
    let genesis = RegistryStatement::Genesis {
        threshold: 1,
        participants: vec![spec("platform".into(), Role::Governance, &gov)],
        issued_at: now.clone(),
    };
    let signed = Signed::parse(&registry_envelope(&genesis, &gov)).unwrap();
    Log::create_ledger(
        store.clone(),
        log_key,
        &signed,
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    let log = Arc::new(Log::open(store, Some(log_key.clone()), LogConfig::default()).unwrap());
    let auditors: Vec<_> = (0..50)
        .map(|i| key(&format!("auditor-{i}"), 100 + i))
        .collect();
    for (i, a) in auditors.iter().enumerate() {
        let change = RegistryStatement::Register {
            participant: spec(format!("auditor-{i}"), Role::Auditor, a),
            issued_at: now.clone(),
        };
        log.submit_blocking(&registry_envelope(&change, &gov))
            .unwrap();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Signed as they go, 64 tasks at a time.
    rt.block_on(async {
        let mut tasks = Vec::new();
        for t in 0..64usize {
            let (log, auditors, now) = (log.clone(), auditors.clone(), now.clone());
            tasks.push(tokio::spawn(async move {
                for i in (t..n).step_by(64) {
                    let e = envelope::sign(
                        STATEMENT_TYPE,
                        &statement_about(i, &about(i), &now),
                        &[&auditors[i % 50]],
                    )
                    .to_json();
                    log.submit(&e).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    log.close();
}

/// A server process, killed when dropped.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `bin serve` on `port` over the log in `data` signed with `key`; returns it
/// (killed when dropped) and its pid.
pub fn serve_data(bin: &Path, key: &Path, data: &Path, port: u16) -> (Server, u32) {
    let child = Command::new(bin)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--log-key",
        ])
        .arg(key)
        .arg("--data")
        .arg(data)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    (Server(child), pid)
}

/// Builds the release binary and returns its path.
pub fn release_binary() -> PathBuf {
    assert!(
        Command::new("cargo")
            .args(["build", "--release", "--bin", "vouch"])
            .status()
            .unwrap()
            .success(),
        "cargo build --release"
    );
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/vouch")
}

/// A field of `/proc/<pid>/status` in MiB (`VmRSS:`, `VmHWM:`).
pub fn memory_mib(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The `p` quantile of sorted durations, in milliseconds.
pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1e3
}

/// Submits every envelope to `log` from `tasks` tasks, each waiting for its receipts.
pub fn submit_all(
    rt: &tokio::runtime::Runtime,
    log: &std::sync::Arc<vouch::log::Log>,
    envelopes: &std::sync::Arc<Vec<Vec<u8>>>,
    tasks: usize,
) {
    rt.block_on(async {
        let mut running = Vec::new();
        for t in 0..tasks {
            let (log, envelopes) = (log.clone(), envelopes.clone());
            running.push(tokio::spawn(async move {
                for e in envelopes.iter().skip(t).step_by(tasks) {
                    log.submit(e).await.unwrap();
                }
            }));
        }
        for t in running {
            t.await.unwrap();
        }
    });
}

/// A new, empty database `name` on the PostgreSQL server `server` (a URL), dropped
/// first if it exists; returns its URL.
pub fn pg_database(server: &str, name: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(server, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {server}: {e}"));
        tokio::spawn(conn);
        for sql in [
            format!("DROP DATABASE IF EXISTS {name}"),
            format!("CREATE DATABASE {name}"),
        ] {
            client.batch_execute(&sql).await.unwrap();
        }
    });
    let mut url = url::Url::parse(server).expect("a PostgreSQL URL");
    url.set_path(name);
    url.to_string()
}
