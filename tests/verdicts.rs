//! One verdict per record, the same through the CLI (its exit code) and POST /v1/verify:
//! valid, retracted, superseded, expired, suspect, invalid.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::{json, Value};
use vouch::statement::{Kind, RegistryStatement, Role, Since};

fn vouch(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.code().expect("exited"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn every_verdict_has_its_exit_code_and_the_server_agrees() {
    let ledger = Ledger::new(1);
    let c = &ledger.cast;
    let valid = ledger
        .submit(&statement(Kind::Audit, FACTORY, "stands"), &c.auditor)
        .unwrap();
    let retracted = ledger
        .submit(
            &statement(Kind::Audit, FACTORY, "withdrawn later"),
            &c.auditor,
        )
        .unwrap();
    let mut retraction = statement(Kind::Retraction, FACTORY, "wrong factory");
    retraction.refs = vec![refer(&retracted)];
    ledger.submit(&retraction, &c.auditor).unwrap();
    let rated = ledger
        .submit(&statement(Kind::Rating, FACTORY, "first rating"), &c.buyer)
        .unwrap();
    let mut correction = statement(Kind::Correction, FACTORY, "corrected rating");
    correction.refs = vec![refer(&rated)];
    let corrected = ledger.submit(&correction, &c.buyer).unwrap();
    let mut old = statement(Kind::Audit, FACTORY, "long ago");
    old.issued_at = "2024-01-10T09:00:00Z".into();
    old.valid_until = Some("2025-01-10".into());
    let expired = ledger.submit(&old, &c.auditor).unwrap();
    let compromised = key("leaky-auditor", 41);
    ledger
        .registry(&RegistryStatement::Register {
            participant: spec("leaky", &[Role::Auditor], &compromised, &[]),
            issued_at: now(),
        })
        .unwrap();
    let suspect = ledger
        .submit(
            &statement(Kind::Audit, FACTORY, "by a leaked key"),
            &compromised,
        )
        .unwrap();
    ledger
        .registry(&RegistryStatement::RevokeKey {
            participant: "leaky".into(),
            key_id: format!("{:08x}", compromised.key_id()),
            compromised_since: Some(Since::Index(suspect.index)),
            issued_at: now(),
        })
        .unwrap();

    let url = serve(ledger.log.clone());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("log.pub"), c.log_key.verifier().to_string()).unwrap();
    for (receipt, verdict, code) in [
        (&valid, "valid", 0),
        (&corrected, "valid", 0),
        (&retracted, "retracted", 4),
        (&rated, "superseded", 5),
        (&expired, "expired", 6),
        (&suspect, "suspect", 3),
    ] {
        let bundle: Value = ureq::get(&format!("{url}/v1/entries/{}", receipt.index))
            .call()
            .unwrap()
            .into_json()
            .unwrap();
        let file = format!("e{}.json", receipt.index);
        std::fs::write(d.join(&file), bundle.to_string()).unwrap();
        let (got, out) = vouch(d, &["verify", &file, "--log-key", "log.pub", "--url", &url]);
        assert_eq!(got, code, "entry {}: {out}", receipt.index);
        assert!(
            out.starts_with(&format!("entry {}: {verdict}", receipt.index)),
            "{out}"
        );
        let report: Value = ureq::post(&format!("{url}/v1/verify"))
            .send_json(json!({ "bundle": bundle }))
            .unwrap()
            .into_json()
            .unwrap();
        assert_eq!(
            report["verdict"], verdict,
            "entry {}: {report:#}",
            receipt.index
        );
    }

    // Offline, a retracted record cannot be known as such: the report says so.
    let (got, out) = vouch(
        d,
        &[
            "verify",
            &format!("e{}.json", retracted.index),
            "--log-key",
            "log.pub",
        ],
    );
    assert_eq!(got, 0, "{out}");
    assert!(
        out.contains("not checked: whether a later record retracted or corrected"),
        "{out}"
    );

    // A history shows each record's verdict, and is itself valid.
    let (got, out) = vouch(
        d,
        &["history", FACTORY, "--url", &url, "--log-key", "log.pub"],
    );
    assert_eq!(got, 0, "{out}");
    for line in [
        format!("{:>7}  ", retracted.index),
        format!("retracted   withdrawn by entry [{}]", retracted.index + 1),
        format!("superseded  replaced by entry [{}]", corrected.index),
        "expired".to_owned(),
        "suspect".to_owned(),
    ] {
        assert!(out.contains(&line), "{line:?} in {out}");
    }

    // Tampered: the bundle claims another index. Exit 2, and the server says invalid.
    let mut bundle: Value = ureq::get(&format!("{url}/v1/entries/{}", valid.index))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    bundle["index"] = json!(valid.index + 1);
    std::fs::write(d.join("bad.json"), bundle.to_string()).unwrap();
    let (got, out) = vouch(d, &["verify", "bad.json", "--log-key", "log.pub"]);
    assert_eq!(got, 2, "{out}");
    let report: Value = ureq::post(&format!("{url}/v1/verify"))
        .send_json(json!({ "bundle": bundle }))
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(report["verdict"], "invalid");
}
