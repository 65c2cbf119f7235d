//! Crash safety of the server process under HTTP load: `vouch serve --demo` takes
//! submissions from several clients and is killed with SIGKILL at random moments; after
//! each restart every submission it answered 201 is in the log with the same leaf hash,
//! and every checkpoint a client received is consistent with the restarted log's. Once
//! on sled (a data directory), once on PostgreSQL (`VOUCH_TEST_PG`).

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use common::*;
use serde_json::Value;
use vouch::bundle::Receipt;
use vouch::entry::decode_hash;
use vouch::merkle::{self, Hash};
use vouch::note::{Checkpoint, Verifier};
use vouch::statement::Kind;

const CYCLES: u32 = 8;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(dir: &Path, port: u16, store: Option<&str>) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .args(store.map(|url| ["--store", url]).into_iter().flatten())
        .current_dir(dir)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while ureq::get(&format!("http://127.0.0.1:{port}/healthz"))
        .call()
        .is_err()
    {
        assert!(Instant::now() < deadline, "the server did not come back");
        std::thread::sleep(Duration::from_millis(50));
    }
    Server(child)
}

struct Ack {
    index: u64,
    leaf: Hash,
    size: u64,
    root: Hash,
}

fn get(url: &str) -> Value {
    serde_json::from_reader(ureq::get(url).call().unwrap().into_reader()).unwrap()
}

#[test]
fn acknowledged_submissions_survive_sigkill_of_the_server_under_load() {
    survive_sigkill(None);
}

#[test]
fn acknowledged_submissions_survive_sigkill_of_a_server_on_postgresql() {
    if let Some(url) = pg::database("crash_server") {
        survive_sigkill(Some(&url));
    }
}

fn survive_sigkill(store: Option<&str>) {
    let dir = tempfile::TempDir::new().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let mut server = start(dir.path(), port, store);
    let key: Verifier =
        vouch::keyfile::read_verifier(&dir.path().join("keys/demo.vouch.example_vn-apparel.pub"))
            .unwrap();
    let auditor = vouch::keyfile::read_signer(&dir.path().join("keys/delta-audit.key")).unwrap();
    let mut seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let acked = Arc::new(Mutex::new(Vec::<Ack>::new()));
    let counter = Arc::new(AtomicU64::new(0));
    let mut last_size = 0;
    let mut checked = 0;
    for cycle in 0..CYCLES {
        let running = Arc::new(AtomicBool::new(true));
        let clients: Vec<_> = (0..4)
            .map(|_| {
                let (url, key, auditor, acked, counter, running) = (
                    url.clone(),
                    key.clone(),
                    auditor.clone(),
                    acked.clone(),
                    counter.clone(),
                    running.clone(),
                );
                std::thread::spawn(move || {
                    while running.load(Ordering::Relaxed) {
                        let n = counter.fetch_add(1, Ordering::Relaxed);
                        let body = sign_statement(
                            &statement(Kind::Audit, FACTORY, &format!("crash load {n}")),
                            &auditor,
                        );
                        let Ok(r) = ureq::post(&format!("{url}/v1/attestations"))
                            .set("content-type", "application/json")
                            .send_bytes(&body)
                        else {
                            continue;
                        };
                        if r.status() != 201 {
                            continue;
                        }
                        let r: Receipt = serde_json::from_reader(r.into_reader()).unwrap();
                        let (c, _) = Checkpoint::open(r.checkpoint.as_bytes(), &key).unwrap();
                        acked.lock().unwrap().push(Ack {
                            index: r.index,
                            leaf: decode_hash(&r.leaf_hash).unwrap(),
                            size: c.size(),
                            root: *c.root(),
                        });
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(200 + next() % 800));
        server.0.kill().unwrap(); // SIGKILL
        server.0.wait().unwrap();
        running.store(false, Ordering::Relaxed);
        for c in clients {
            c.join().unwrap();
        }
        server = start(dir.path(), port, store);

        let info = get(&format!("{url}/v1/log"));
        let size = info["tree_size"].as_u64().unwrap();
        let (head, _) =
            Checkpoint::open(info["checkpoint"].as_str().unwrap().as_bytes(), &key).unwrap();
        assert!(size >= last_size, "cycle {cycle}: the log shrank");
        // Each entry once, after the first restart since it was acknowledged; from then
        // on the consistency proofs below cover it (its receipt's root commits to it).
        let acked = acked.lock().unwrap();
        for a in &acked[checked..] {
            assert!(
                a.index < size,
                "cycle {cycle}: acknowledged entry {} lost",
                a.index
            );
            let p = get(&format!(
                "{url}/v1/proofs/inclusion?index={}&size={size}",
                a.index
            ));
            assert_eq!(
                decode_hash(p["leaf_hash"].as_str().unwrap()).unwrap(),
                a.leaf,
                "cycle {cycle}: entry {}",
                a.index
            );
        }
        let mut sizes: Vec<(u64, Hash)> = acked.iter().map(|a| (a.size, a.root)).collect();
        sizes.sort_unstable();
        sizes.dedup();
        for (old, old_root) in sizes {
            let p = get(&format!("{url}/v1/proofs/consistency?from={old}&to={size}"));
            let proof: Vec<Hash> = p["consistency_proof"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| decode_hash(h.as_str().unwrap()).unwrap())
                .collect();
            merkle::verify_consistency(old, size, &proof, &old_root, head.root())
                .unwrap_or_else(|e| panic!("cycle {cycle}: checkpoint {old} contradicted: {e}"));
        }
        last_size = size;
        checked = acked.len();
    }
    let n = acked.lock().unwrap().len();
    assert!(n > 50, "the clients got only {n} receipts");
    eprintln!(
        "{CYCLES} kills of the server on {}, under load: {n} acknowledged submissions, final size {last_size}",
        if store.is_some() { "PostgreSQL" } else { "sled" }
    );
}
