//! vouch on PostgreSQL beyond the store contract (`store_conformance.rs` has that): one
//! writer at a time, a writer that lost its place cannot commit, read replicas that
//! serve what Go's reference client verifies and follow the writer, and the schema's
//! versions. On the server `VOUCH_TEST_PG` names; `.ci/run` starts one.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use vouch::log::{Log, LogConfig, LogError, Submission};
use vouch::merkle;
use vouch::note::{Checkpoint, KeyName, Signer};
use vouch::statement::Kind;
use vouch::store::{PgOptions, PgStore, Role, Store, StoreError};

fn writer(url: &str, wait: bool) -> Result<PgStore, StoreError> {
    PgStore::open(
        url,
        &PgOptions {
            wait_for_writer: wait,
            ..PgOptions::default()
        },
    )
}

fn reader(url: &str) -> Result<PgStore, StoreError> {
    PgStore::open(
        url,
        &PgOptions {
            role: Role::Reader,
            ..PgOptions::default()
        },
    )
}

fn raw_signer() -> Signer {
    Signer::from_seed(KeyName::new("pg.example/log").unwrap(), [21; 32])
}

/// Runs SQL on `url` from a connection of the test's own.
fn sql(url: &str, statement: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client.batch_execute(statement).await.unwrap();
    });
}

#[test]
fn a_reader_of_an_empty_database_says_a_writer_creates_the_schema() {
    let Some(url) = pg::database("schema") else {
        return;
    };
    let e = reader(&url).unwrap_err().to_string();
    assert!(
        e.contains("schema version 0") && e.contains("a writer applies it on start"),
        "{e}"
    );
    let w = writer(&url, false).unwrap();
    assert_eq!(w.writer_epoch(), Some(1));
    drop(w);
    // Applied once: a second writer finds it and only raises the epoch.
    let w = writer(&url, true).unwrap();
    assert_eq!(w.writer_epoch(), Some(2));
    let r = reader(&url).unwrap();
    assert_eq!(r.tree_size().unwrap(), 0);
    assert_eq!(r.writer_epoch(), None);
    let e = r.write(Default::default()).unwrap_err();
    assert!(e.to_string().contains("read only"), "{e}");
    let bad = PgStore::open("postgres://nobody@127.0.0.1:1/none", &PgOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        bad.contains("cannot connect to postgres://127.0.0.1:1/none"),
        "{bad}"
    );
}

#[test]
fn a_second_writer_is_refused_or_waits_and_never_appends_meanwhile() {
    let Some(url) = pg::database("two_writers") else {
        return;
    };
    let first: Arc<dyn Store> = Arc::new(writer(&url, false).unwrap());
    Log::create(first.clone(), &raw_signer()).unwrap();
    let log = Log::open(first.clone(), Some(raw_signer()), LogConfig::default()).unwrap();
    let e = writer(&url, false).unwrap_err().to_string();
    assert!(e.contains("another vouch process writes"), "{e}");
    // One that waits gets the lock only when the first has gone.
    let waiting = {
        let url = url.clone();
        std::thread::spawn(move || {
            let store: Arc<dyn Store> = Arc::new(writer(&url, true).unwrap());
            let log = Log::open(store, Some(raw_signer()), LogConfig::default()).unwrap();
            let size = log.head().size();
            let r = log
                .append_blocking(Submission {
                    entry: b"from the second writer".to_vec(),
                    subject: None,
                })
                .unwrap();
            (size, r.index)
        })
    };
    for i in 0..50 {
        let r = log
            .append_blocking(Submission {
                entry: format!("first writer {i}").into_bytes(),
                subject: None,
            })
            .unwrap();
        assert_eq!(r.index, i, "the waiting writer appended nothing meanwhile");
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(!waiting.is_finished(), "the second writer waits");
    let root = *log.head().checkpoint.root();
    drop(log);
    drop(first);
    let (size_seen, index) = waiting.join().unwrap();
    assert_eq!(
        (size_seen, index),
        (50, 50),
        "the second took over where the first ended"
    );
    let log = Log::open(Arc::new(reader(&url).unwrap()), None, LogConfig::default()).unwrap();
    let view = log.view();
    let proof = view.consistency_proof(50, 51).unwrap();
    merkle::verify_consistency(50, 51, &proof, &root, log.head().checkpoint.root()).unwrap();
}

#[test]
fn a_writer_that_lost_its_place_cannot_commit() {
    let Some(url) = pg::database("fenced") else {
        return;
    };
    let store: Arc<dyn Store> = Arc::new(writer(&url, false).unwrap());
    Log::create(store.clone(), &raw_signer()).unwrap();
    let log = Log::open(store.clone(), Some(raw_signer()), LogConfig::default()).unwrap();
    let append = |i: u32| {
        log.append_blocking(Submission {
            entry: format!("entry {i}").into_bytes(),
            subject: None,
        })
    };
    append(0).unwrap();
    // What a writer that took over does (after the first's lock was lost in a
    // partition): raise the epoch. The first's next batch is refused whole.
    sql(
        &url,
        "UPDATE vouch_state SET writer_epoch = writer_epoch + 1",
    );
    let e = append(1).unwrap_err();
    assert!(
        matches!(&e, LogError::Unavailable(why) if why.contains("took over")),
        "{e}"
    );
    let stopped = log.stopped().unwrap();
    assert!(stopped.until_restart, "a fenced writer writes no more");
    assert!(matches!(append(2), Err(LogError::Unavailable(_))));
    drop(log);
    drop(store);
    let r = Log::open(Arc::new(reader(&url).unwrap()), None, LogConfig::default()).unwrap();
    assert_eq!(
        r.head().size(),
        1,
        "nothing of the refused batch was stored"
    );
}

fn get(url: &str) -> Value {
    serde_json::from_reader(ureq::get(url).call().unwrap().into_reader()).unwrap()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_read_replica_serves_what_go_verifies_and_follows_the_writer() {
    let Some(url) = pg::database("replica") else {
        return;
    };
    let store: Arc<dyn Store> = Arc::new(writer(&url, false).unwrap());
    let ledger = Ledger::on(1, tempfile::TempDir::new().unwrap(), store, None);
    for i in 0..300 {
        let f = if i % 2 == 0 { FACTORY } else { OTHER_FACTORY };
        ledger
            .submit(
                &statement(Kind::Metric, f, &format!("metric {i}")),
                &ledger.cast.auditor,
            )
            .unwrap();
    }
    let replica =
        Arc::new(Log::open(Arc::new(reader(&url).unwrap()), None, LogConfig::default()).unwrap());
    replica.follow_in_background(Duration::from_millis(50));
    let replica_url = serve(replica.clone());
    let size = ledger.log.head().size();
    assert_eq!(get(&format!("{replica_url}/v1/log"))["tree_size"], size);

    // The replica refuses writes, with a problem.
    let refused = ureq::post(&format!("{replica_url}/v1/attestations"))
        .set("content-type", "application/json")
        .send_bytes(&sign_statement(
            &statement(Kind::Audit, FACTORY, "to the replica"),
            &ledger.cast.auditor,
        ));
    let Err(ureq::Error::Status(code, response)) = refused else {
        panic!("a replica took a submission");
    };
    assert!(code >= 400, "{code}");
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json")
    );

    // A history read from the replica, verified by the CLI.
    let key_file = ledger.dir.path().join("log.pub");
    std::fs::write(&key_file, ledger.cast.log_key.verifier().to_string()).unwrap();
    let history = Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(["history", FACTORY, "--url", &replica_url, "--log-key"])
        .arg(&key_file)
        .output()
        .unwrap();
    assert!(
        history.status.success(),
        "{}{}",
        String::from_utf8_lossy(&history.stdout),
        String::from_utf8_lossy(&history.stderr)
    );

    let tmp = tempfile::TempDir::new().unwrap();
    let bin = go::client(tmp.path());
    let key = ledger.cast.log_key.verifier().to_string();
    let state = tmp.path().join("checkpoint");
    if let Some(bin) = &bin {
        let out = go::run(bin, "check", &replica_url, &key, &state);
        assert!(
            out.contains(&format!("ok: checkpoint of {size} entries")),
            "{out}"
        );
    }
    // Appends through the writer reach the replica.
    let before = replica.head();
    for i in 0..40 {
        ledger
            .submit(
                &statement(Kind::Audit, FACTORY, &format!("later {i}")),
                &ledger.cast.auditor,
            )
            .unwrap();
    }
    let grown = ledger.log.head().size();
    wait_until("the replica follows the writer", || {
        replica.head().size() == grown
    });
    assert_eq!(replica.head().signed, ledger.log.head().signed);
    let proof = replica
        .view()
        .consistency_proof(before.size(), grown)
        .unwrap();
    merkle::verify_consistency(
        before.size(),
        grown,
        &proof,
        before.checkpoint.root(),
        replica.head().checkpoint.root(),
    )
    .unwrap();
    if let Some(bin) = &bin {
        let out = go::run(bin, "consistency", &replica_url, &key, &state);
        assert!(
            out.contains(&format!(
                "ok: the tree of {grown} entries extends the saved tree of {size}"
            )),
            "{out}"
        );
    }
    // A registry change through the writer reaches the replica's registry.
    let before = replica.registry().unwrap().participants.len();
    ledger
        .registry(&vouch::statement::RegistryStatement::Register {
            participant: spec(
                "second-auditor",
                &[vouch::statement::Role::Auditor],
                &key_of(40),
                &[],
            ),
            issued_at: now(),
        })
        .unwrap();
    wait_until("the replica's registry follows", || {
        replica.registry().unwrap().participants.len() == before + 1
    });
}

fn key_of(seed: u8) -> Signer {
    key("second-auditor", seed)
}

/// `vouch serve` on PostgreSQL, in `dir`, until dropped (SIGKILL).
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_serve(dir: &Path, port: u16, args: &[&str]) -> Server {
    Server(
        Command::new(env!("CARGO_BIN_EXE_vouch"))
            .arg("serve")
            .args(args)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .current_dir(dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn healthy(port: u16) -> bool {
    ureq::get(&format!("http://127.0.0.1:{port}/healthz"))
        .call()
        .is_ok()
}

#[test]
fn killing_the_writer_lets_a_waiting_one_take_over_without_a_fork() {
    let Some(url) = pg::database("takeover") else {
        return;
    };
    let dir = tempfile::TempDir::new().unwrap();
    let (a_port, b_port) = (free_port(), free_port());
    let mut a = spawn_serve(dir.path(), a_port, &["--demo", "--store", &url]);
    wait_until("the first server is up", || healthy(a_port));
    let log_key = dir.path().join("keys/demo.vouch.example_vn-apparel.key");
    let b = spawn_serve(
        dir.path(),
        b_port,
        &["--store", &url, "--log-key", log_key.to_str().unwrap()],
    );
    let auditor = vouch::keyfile::read_signer(&dir.path().join("keys/delta-audit.key")).unwrap();
    let verifier =
        vouch::keyfile::read_verifier(&dir.path().join("keys/demo.vouch.example_vn-apparel.pub"))
            .unwrap();
    let mut acked = Vec::new();
    for i in 0..30 {
        let body = sign_statement(
            &statement(Kind::Audit, FACTORY, &format!("takeover {i}")),
            &auditor,
        );
        let r: Value = serde_json::from_reader(
            ureq::post(&format!("http://127.0.0.1:{a_port}/v1/attestations"))
                .set("content-type", "application/json")
                .send_bytes(&body)
                .unwrap()
                .into_reader(),
        )
        .unwrap();
        acked.push((
            r["index"].as_u64().unwrap(),
            r["leaf_hash"].as_str().unwrap().to_owned(),
        ));
    }
    assert!(
        !healthy(b_port),
        "the second server waits for the writer lock"
    );
    let last = get(&format!("http://127.0.0.1:{a_port}/v1/log"));
    let (a_head, _) =
        Checkpoint::open(last["checkpoint"].as_str().unwrap().as_bytes(), &verifier).unwrap();
    a.0.kill().unwrap(); // SIGKILL
    a.0.wait().unwrap();
    wait_until("the second server takes over", || healthy(b_port));
    let b_url = format!("http://127.0.0.1:{b_port}");
    for (index, leaf) in &acked {
        let p = get(&format!(
            "{b_url}/v1/proofs/inclusion?index={index}&size={}",
            a_head.size()
        ));
        assert_eq!(p["leaf_hash"].as_str().unwrap(), leaf, "entry {index}");
    }
    let body = sign_statement(
        &statement(Kind::Audit, FACTORY, "after the takeover"),
        &auditor,
    );
    let r: Value = serde_json::from_reader(
        ureq::post(&format!("{b_url}/v1/attestations"))
            .set("content-type", "application/json")
            .send_bytes(&body)
            .unwrap()
            .into_reader(),
    )
    .unwrap();
    assert_eq!(
        r["index"].as_u64().unwrap(),
        a_head.size(),
        "the next index, no gap, no reuse"
    );
    let now = get(&format!("{b_url}/v1/log"));
    let (b_head, _) =
        Checkpoint::open(now["checkpoint"].as_str().unwrap().as_bytes(), &verifier).unwrap();
    let p = get(&format!(
        "{b_url}/v1/proofs/consistency?from={}&to={}",
        a_head.size(),
        b_head.size()
    ));
    let proof: Vec<merkle::Hash> = p["consistency_proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| vouch::entry::decode_hash(h.as_str().unwrap()).unwrap())
        .collect();
    merkle::verify_consistency(
        a_head.size(),
        b_head.size(),
        &proof,
        a_head.root(),
        b_head.root(),
    )
    .unwrap();
    // A command that appends refuses while the server writes.
    let out = Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(["log", "checkpoint", "--store", &url])
        .output()
        .unwrap();
    assert!(out.status.success(), "reading is always allowed: {out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        now["checkpoint"].as_str().unwrap()
    );
    drop(b);
}
