//! The log's side of witnessing and a reader's policy: the log sends its checkpoints
//! to its witnesses and serves their cosignatures; a dead witness neither blocks nor
//! slows appends and shows in `/metrics`; a reader that requires cosignatures accepts
//! the witnessed log and refuses a fork of it (same log key, other entries) that the
//! witness would not cosign.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use vouch::log::WitnessTarget;
use vouch::note::{Alg, Checkpoint, KeyName, Signer};
use vouch::statement::Kind;
use vouch::verify::{Verdict, WitnessPolicy};
use vouch::witness::Witness;

fn witness_key(n: u8) -> Signer {
    Signer::from_seed_as(
        Alg::CosignatureV1,
        KeyName::new(&format!("witness.example/w{n}")).unwrap(),
        [40 + n; 32],
    )
}

/// Runs a witness for `log_key` on a free port; returns its URL.
fn run_witness(key: Signer, log_key: &Signer, dir: &std::path::Path) -> String {
    let w = Arc::new(Witness::open(key, vec![log_key.verifier().clone()], dir).unwrap());
    serve_app(vouch::witness::router(w))
}

fn get(url: &str) -> (u16, String) {
    let r = reqwest::blocking::get(url).unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

/// Waits until the log's newest checkpoint carries a cosignature of every witness in
/// `names`; returns that note.
fn wait_cosigned(base: &str, names: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, note) = get(&format!("{base}/checkpoint"));
        if names
            .iter()
            .all(|n| note.contains(&format!("\u{2014} {n} ")))
        {
            return note;
        }
        assert!(Instant::now() < deadline, "not cosigned in time: {note}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn policy(keys: &[&Signer], threshold: usize) -> WitnessPolicy {
    WitnessPolicy {
        witnesses: keys.iter().map(|k| k.verifier().clone()).collect(),
        threshold,
    }
}

/// The history of FACTORY from `base` as a reader with `policy` fetches and judges it.
fn read_with(base: &str, log_key: &Signer, policy: &WitnessPolicy) -> vouch::verify::HistoryReport {
    let size = vouch::client::cosigned_size(base, log_key.verifier()).unwrap();
    let history = vouch::client::fetch_history_at(base, FACTORY, size).unwrap();
    let mut report = vouch::verify::verify_history(
        &history,
        FACTORY,
        log_key.verifier(),
        time::OffsetDateTime::now_utc(),
    );
    report.require_witnesses(&history.checkpoint, log_key.verifier(), policy);
    report
}

#[test]
fn the_log_is_cosigned_and_a_dead_witness_holds_nothing_up() {
    let l = Ledger::new(1);
    let wdir = tempfile::tempdir().unwrap();
    let live = witness_key(1);
    let url = run_witness(live.clone(), &l.cast.log_key, wdir.path());
    // A witness nobody answers for: connections refused at once.
    let dead = witness_key(2);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    l.log.start_witnessing(vec![
        WitnessTarget {
            url,
            key: live.verifier().clone(),
        },
        WitnessTarget {
            url: dead_url,
            key: dead.verifier().clone(),
        },
    ]);
    let base = serve(l.log.clone());
    for i in 0..40 {
        l.submit(
            &statement(Kind::Audit, FACTORY, &format!("audit {i}")),
            &l.cast.auditor,
        )
        .unwrap();
    }
    let size = l.log.head().size();
    let note = wait_cosigned(&base, &["witness.example/w1"]);
    let (cp, opened) = Checkpoint::open(note.as_bytes(), l.cast.log_key.verifier()).unwrap();
    assert_eq!(cp.size(), size);
    assert_eq!(
        opened
            .cosignatures(&[live.verifier().clone(), dead.verifier().clone()])
            .unwrap()
            .len(),
        1
    );
    let (status, cosigned) = get(&format!("{base}/v1/checkpoint/cosigned"));
    assert_eq!((status, cosigned.as_str()), (200, note.as_str()));

    // Readers: one cosignature of the live witness holds; two, or the dead one's, not.
    let ok = read_with(&base, &l.cast.log_key, &policy(&[&live], 1));
    assert_eq!(ok.verdict, Verdict::Valid, "{:?}", ok.checks);
    let w = ok.checks.iter().find(|c| c.name == "witnesses").unwrap();
    assert!(
        w.ok && w.reason.contains("witness.example/w1"),
        "{}",
        w.reason
    );
    for p in [policy(&[&live, &dead], 2), policy(&[&dead], 1)] {
        let r = read_with(&base, &l.cast.log_key, &p);
        assert_eq!(r.verdict, Verdict::Invalid);
        assert!(r.checks.iter().any(|c| c.name == "witnesses" && !c.ok));
    }

    // The dead witness shows in /metrics, and never held an append up.
    let (_, metrics) = get(&format!("{base}/metrics"));
    let value = |line: &str| -> u64 {
        metrics
            .lines()
            .find(|l| l.starts_with(line))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{line} not in {metrics}"))
    };
    assert!(value("vouch_witness_failures_total{witness=\"witness.example/w2\"}") >= 1);
    assert_eq!(
        value("vouch_witness_lag_entries{witness=\"witness.example/w2\"}"),
        size
    );
    assert_eq!(
        value("vouch_witness_lag_entries{witness=\"witness.example/w1\"}"),
        0
    );
    assert_eq!(
        value("vouch_witness_cosigned_size{witness=\"witness.example/w1\"}"),
        size
    );

    // The monitor under a witness policy: the live witness's cosignature holds; a
    // policy of the dead one is a `witnesses` discrepancy, and nothing is judged.
    let files = tempfile::tempdir().unwrap();
    let file = |name: &str, text: String| {
        let p = files.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let log_pub = file("log.pub", l.cast.log_key.verifier().to_string());
    let live_pub = file("w1.pub", live.verifier().to_string());
    let dead_pub = file("w2.pub", dead.verifier().to_string());
    let monitor = |witness: &str, state: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_vouch"))
            .args([
                "monitor",
                "--url",
                &base,
                "--log-key",
                &log_pub,
                "--witness",
                witness,
            ])
            .arg("--state")
            .arg(files.path().join(state))
            .output()
            .unwrap()
    };
    let out = monitor(&live_pub, "m1");
    assert!(out.status.success(), "{out:?}");
    let out = monitor(&dead_pub, "m2");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["kind"], "witnesses", "{line}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 entries verified"));
}

/// Two servers with the same log key and forked data: the witness that cosigned one
/// refuses the other, and a reader who requires its cosignature refuses the fork.
#[test]
fn a_fork_under_the_same_key_goes_unwitnessed() {
    let honest = Ledger::new(1);
    let wdir = tempfile::tempdir().unwrap();
    let w = witness_key(3);
    let url = run_witness(w.clone(), &honest.cast.log_key, wdir.path());
    let target = WitnessTarget {
        url,
        key: w.verifier().clone(),
    };
    honest.log.start_witnessing(vec![target.clone()]);
    let a = serve(honest.log.clone());
    honest
        .submit(
            &statement(Kind::Audit, FACTORY, "the real audit"),
            &honest.cast.auditor,
        )
        .unwrap();
    wait_cosigned(&a, &["witness.example/w3"]);

    // The same log key, the same genesis, then other entries.
    let fork = Ledger::new(1);
    assert_eq!(fork.cast.log_key.verifier(), honest.cast.log_key.verifier());
    for i in 0..3 {
        fork.submit(
            &statement(Kind::Audit, FACTORY, &format!("a rewritten audit {i}")),
            &fork.cast.auditor,
        )
        .unwrap();
    }
    assert_ne!(
        fork.log.head().checkpoint.root(),
        honest.log.head().checkpoint.root()
    );
    fork.log.start_witnessing(vec![target]);
    let b = serve(fork.log.clone());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        let s = fork.log.witnesses().pop().unwrap();
        if s.failures.load(std::sync::atomic::Ordering::Relaxed) > 0 {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the fork's witness thread never failed"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let why = status.last_error.lock().unwrap().clone().unwrap();
    assert!(why.contains("409") || why.contains("422"), "{why}");
    assert_eq!(
        status
            .cosigned_size
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    assert_eq!(get(&format!("{b}/v1/checkpoint/cosigned")).0, 404);

    let p = policy(&[&w], 1);
    assert_eq!(
        read_with(&a, &honest.cast.log_key, &p).verdict,
        Verdict::Valid
    );
    let r = read_with(&b, &fork.cast.log_key, &p);
    assert_eq!(r.verdict, Verdict::Invalid);
    let c = r.checks.iter().find(|c| c.name == "witnesses").unwrap();
    assert!(!c.ok && c.reason.contains("0 of the 1"), "{}", c.reason);
    // Without the policy the fork verifies: only a witness tells the two apart.
    assert_eq!(
        read_with(&b, &fork.cast.log_key, &WitnessPolicy::default()).verdict,
        Verdict::Valid
    );
}
