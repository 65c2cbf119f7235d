//! A witness killed with SIGKILL while it cosigns, 20 times: over every run, no size is
//! ever cosigned with two roots, no cosignature names a tree that is not the honest
//! log's (a fork that shares no prefix is offered between honest checkpoints), and no
//! size is cosigned after a larger one.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vouch::merkle::{self, MemoryTree};
use vouch::note::{Alg, Checkpoint, KeyName, Signer};
use vouch::witness::Request;

const ORIGIN: &str = "example.org/vn-apparel";

fn start(dir: &std::path::Path, port: u16) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(["witness", "--key"])
        .arg(dir.join("w.key"))
        .arg("--log-key")
        .arg(dir.join("log.pub"))
        .arg("--state")
        .arg(dir.join("state"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the witness did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}

#[test]
fn kill_9_while_cosigning_never_forks_nor_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let log = Signer::from_seed(KeyName::new(ORIGIN).unwrap(), [3; 32]);
    let w = Signer::from_seed_as(
        Alg::CosignatureV1,
        KeyName::new("witness.example/crash").unwrap(),
        [5; 32],
    );
    std::fs::write(dir.path().join("w.key"), w.to_key_string()).unwrap();
    std::fs::write(dir.path().join("log.pub"), log.verifier().to_string()).unwrap();
    let mut honest = MemoryTree::new();
    let mut fork = MemoryTree::new();
    let mut roots = std::collections::HashMap::new();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let (mut known, mut largest, mut cosigned) = (0u64, 0u64, 0usize);
    let sign = |t: &MemoryTree| {
        Checkpoint::new(ORIGIN, t.size(), t.root(), vec![])
            .unwrap()
            .sign(&[&log])
    };
    for cycle in 0..20u64 {
        let port = common::free_port();
        let mut child = start(dir.path(), port);
        let url = format!("http://127.0.0.1:{port}/add-checkpoint");
        let stop = Instant::now() + Duration::from_millis(40 + (cycle * 37) % 200);
        while Instant::now() < stop {
            for _ in 0..3 {
                honest.push(merkle::leaf_hash(
                    format!("entry {}", honest.size()).as_bytes(),
                ));
                fork.push(merkle::leaf_hash(
                    format!("fork {}", fork.size()).as_bytes(),
                ));
            }
            roots.insert(honest.size(), honest.root());
            for (t, is_fork) in [(&honest, false), (&fork, true)] {
                let proof = merkle::consistency_proof(t, known, t.size()).unwrap();
                let body = Request::body(known, &proof, &sign(t));
                let Ok(r) = client.post(&url).body(body).send() else {
                    continue;
                };
                let status = r.status().as_u16();
                let text = r.text().unwrap_or_default();
                match status {
                    200 => {
                        assert!(
                            !is_fork,
                            "cycle {cycle}: the fork of size {} was cosigned",
                            t.size()
                        );
                        assert!(
                            t.size() >= largest,
                            "size {} cosigned after {largest}",
                            t.size()
                        );
                        assert_eq!(roots[&t.size()], t.root());
                        largest = t.size();
                        known = t.size();
                        cosigned += 1;
                    }
                    409 if text.ends_with('\n') && text.trim().parse::<u64>().is_ok() => {
                        // The witness stored a checkpoint whose answer was lost.
                        let size: u64 = text.trim().parse().unwrap();
                        assert!(
                            size >= known,
                            "the witness went back from {known} to {size}"
                        );
                        assert!(
                            roots.contains_key(&size),
                            "the witness holds size {size}, never sent"
                        );
                        known = size;
                    }
                    422 | 409 => assert!(is_fork, "cycle {cycle}: honest refused: {status} {text}"),
                    _ => panic!("cycle {cycle}: {status} {text}"),
                }
            }
        }
        // SIGKILL, mid-request or not.
        child.kill().unwrap();
        child.wait().unwrap();
    }
    eprintln!("{cosigned} cosignatures up to size {largest} over 20 runs, each ended by SIGKILL");
    assert!(cosigned >= 20, "only {cosigned} cosignatures in 20 runs");
    // And what the witness kept is the honest tree at the size it last cosigned or later.
    let stored = std::fs::read_dir(dir.path().join("state"))
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.path().extension().is_some_and(|x| x == "checkpoint"))
        .unwrap();
    let (cp, _) = Checkpoint::open(&std::fs::read(stored.path()).unwrap(), log.verifier()).unwrap();
    assert!(cp.size() >= largest);
    assert_eq!(roots[&cp.size()], *cp.root());
}
