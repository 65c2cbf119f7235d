//! An independent client: a Go program built only on Go's reference packages
//! (golang.org/x/mod/sumdb/note and sumdb/tlog, from Debian's golang-golang-x-mod-dev)
//! verifies what the server serves: the checkpoint signature, every tile and entry
//! bundle, inclusion of several entries, and consistency between a checkpoint saved
//! before more submissions and the one after.
//!
//! `.ci/run` installs Go (`common::go` builds the client).

mod common;

use std::process::Command;

use common::*;
use vouch::statement::Kind;

#[test]
fn go_reference_client_verifies_checkpoints_tiles_bundles_and_proofs() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(bin) = go::client(tmp.path()) else {
        return;
    };
    let ledger = Ledger::new(1);
    let url = serve(ledger.log.clone());
    // More than a full tile, from several threads.
    std::thread::scope(|s| {
        for t in 0..6 {
            let ledger = &ledger;
            s.spawn(move || {
                for i in 0..50 {
                    let f = if i % 2 == 0 { FACTORY } else { OTHER_FACTORY };
                    ledger
                        .submit(
                            &statement(Kind::Metric, f, &format!("{t}/{i}")),
                            &ledger.cast.auditor,
                        )
                        .unwrap();
                }
            });
        }
    });
    let key = ledger.cast.log_key.verifier().to_string();
    let state = tmp.path().join("checkpoint");
    let out = go::run(&bin, "check", &url, &key, &state);
    assert!(out.contains("ok: checkpoint of 305 entries"), "{out}");
    for i in 0..40 {
        ledger
            .submit(
                &statement(Kind::Audit, FACTORY, &format!("later {i}")),
                &ledger.cast.auditor,
            )
            .unwrap();
    }
    let out = go::run(&bin, "consistency", &url, &key, &state);
    assert!(
        out.contains("ok: the tree of 345 entries extends the saved tree of 305"),
        "{out}"
    );
    // And the Go client refuses a checkpoint under another key.
    let other = key_string_of_other_log();
    let out = Command::new(&bin)
        .args(["check", &url, &other])
        .arg(&state)
        .output()
        .unwrap();
    assert!(!out.status.success());

    // A portable proof (C2SP tlog-proof) that vouch writes, checked by Go's packages.
    let proof_file = tmp.path().join("7.tlog-proof");
    let log_pub = tmp.path().join("log.pub");
    std::fs::write(&log_pub, &key).unwrap();
    let written = Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(["proof", "7", "--url", &url, "--log-key"])
        .arg(&log_pub)
        .arg("--out")
        .arg(&proof_file)
        .output()
        .unwrap();
    assert!(written.status.success(), "{written:?}");
    let go_proof = || {
        Command::new(&bin)
            .arg("proof")
            .arg(&proof_file)
            .arg(&key)
            .output()
            .unwrap()
    };
    let out = go_proof();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("proof ok: entry 7 in a tree of 345"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // One byte of the entry changed: Go refuses it too.
    let text = std::fs::read_to_string(&proof_file).unwrap();
    let extra = text.lines().nth(1).unwrap();
    let changed = text.replacen(extra, &format!("extra A{}", &extra[7..]), 1);
    std::fs::write(&proof_file, changed).unwrap();
    assert!(!go_proof().status.success());
}

fn key_string_of_other_log() -> String {
    common::key("test.example/ledger", 77)
        .verifier()
        .to_string()
}
