//! Crash safety: a child process appends from several threads and prints each receipt
//! as soon as it has it; the parent kills it with SIGKILL at random moments, reopens
//! the log, and checks that every acknowledged entry is there with the same leaf hash
//! and that every checkpoint the child saw is consistent with the reopened tree.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use vouch::log::{Log, LogConfig, Submission};
use vouch::merkle::{self, Hash, Node};
use vouch::note::{Checkpoint, KeyName, Signer};
use vouch::store::{SledOptions, SledStore, Store, StoreHashes};

const CHILD_ENV: &str = "VOUCH_CRASH_CHILD_DIR";
const CYCLES: u32 = 24;

fn signer() -> Signer {
    Signer::from_seed(KeyName::new("crash.example/log").unwrap(), [5; 32])
}

fn open(dir: &Path) -> Arc<dyn Store> {
    Arc::new(SledStore::open(dir, &SledOptions::default()).expect("store opens after a crash"))
}

/// What the child prints per receipt: `ack <index> <leaf hex> <size> <root hex>`.
struct Ack {
    index: u64,
    leaf: Hash,
    size: u64,
    root: Hash,
}

fn parse_ack(line: &str) -> Option<Ack> {
    let f: Vec<&str> = line.split(' ').collect();
    let [tag, index, leaf, size, root] = f[..] else {
        return None;
    };
    if tag != "ack" || leaf.len() != 64 || root.len() != 64 {
        return None;
    }
    Some(Ack {
        index: index.parse().ok()?,
        leaf: hex::decode(leaf).ok()?.try_into().ok()?,
        size: size.parse().ok()?,
        root: hex::decode(root).ok()?.try_into().ok()?,
    })
}

/// The child: append until killed. Runs only when the parent re-executes this test
/// binary with `CHILD_ENV` set.
fn child(dir: &Path) {
    let config = LogConfig {
        max_batch: 32,
        max_wait: Duration::from_micros(200),
    };
    let log = Log::open(open(dir), Some(signer()), config).unwrap();
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::thread::scope(|s| {
        for t in 0..8 {
            let log = &log;
            s.spawn(move || {
                for i in 0u64.. {
                    let entry = format!("{seed}/{t}/{i}/{}", "x".repeat((i % 500) as usize));
                    let r = log
                        .append_blocking(Submission {
                            entry: entry.into_bytes(),
                            subject: None,
                        })
                        .unwrap();
                    let line = format!(
                        "ack {} {} {} {}\n",
                        r.index,
                        hex::encode(r.leaf_hash),
                        r.head.checkpoint.size(),
                        hex::encode(r.head.checkpoint.root())
                    );
                    let mut out = std::io::stdout().lock();
                    out.write_all(line.as_bytes()).unwrap();
                    out.flush().unwrap();
                }
            });
        }
    });
}

#[test]
fn acknowledged_appends_survive_sigkill() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(Path::new(&dir));
        return;
    }
    let dir = tempfile::TempDir::new().unwrap();
    Log::create(open(dir.path()), &signer()).unwrap();
    let mut rng = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut acked: Vec<Ack> = Vec::new();
    let mut last_size = 0;
    for cycle in 0..CYCLES {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "acknowledged_appends_survive_sigkill",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| parse_ack(&l))
                .collect::<Vec<_>>()
        });
        std::thread::sleep(Duration::from_millis(20 + next() % 300));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let seen = reader.join().unwrap();

        let store = open(dir.path());
        let log = Log::open(store.clone(), None, LogConfig::default()).unwrap();
        let size = log.head().size();
        assert!(
            size >= last_size,
            "cycle {cycle}: tree shrank from {last_size} to {size}"
        );
        // New acknowledgements: through the log's checked read path. All of them, every
        // cycle: their leaf hashes in one read, and the root they make.
        for a in &seen {
            assert!(
                a.index < size,
                "cycle {cycle}: acknowledged index {} lost (size {size})",
                a.index
            );
            assert_eq!(
                merkle::leaf_hash(&log.view().entry(a.index).unwrap()),
                a.leaf
            );
        }
        acked.extend(seen);
        let nodes: Vec<Node> = acked.iter().map(|a| Node::new(0, a.index)).collect();
        assert!(
            acked.iter().all(|a| a.index < size),
            "cycle {cycle}: an entry was lost"
        );
        for (a, stored) in acked.iter().zip(store.hashes(&nodes).unwrap()) {
            assert_eq!(stored, a.leaf, "cycle {cycle}: index {}", a.index);
        }
        let root = log.view().root(size).unwrap();
        let mut sizes: Vec<(u64, Hash)> = acked.iter().map(|a| (a.size, a.root)).collect();
        sizes.sort_unstable();
        sizes.dedup();
        for (old, old_root) in sizes {
            let proof = merkle::consistency_proof(&StoreHashes(store.as_ref()), old, size).unwrap();
            merkle::verify_consistency(old, size, &proof, &old_root, &root)
                .unwrap_or_else(|e| panic!("cycle {cycle}: checkpoint {old} contradicted: {e}"));
        }
        let (cp, _) = Checkpoint::open(log.head().signed.as_bytes(), signer().verifier()).unwrap();
        assert_eq!((cp.size(), *cp.root()), (size, root));
        last_size = size;
        drop(log);
        drop(store);
    }
    assert!(
        acked.len() > 100,
        "the children acknowledged only {} appends",
        acked.len()
    );
    eprintln!(
        "{CYCLES} kills, {} acknowledged appends, final size {last_size}",
        acked.len()
    );
}
