//! The explorer's in-browser verifier (JavaScript, WebCrypto) and the Rust `verify`
//! module must say the same of the same history: honest, and forged in each way a
//! dishonest log could forge it. Each case goes to both; every check both report
//! (`checkpoint`, `request`, `complete`, and `inclusion`, which Rust reports per entry)
//! must agree, the honest history must pass both, and every forged one must fail both.
//!
//! The JavaScript runs under Node.js (`tests/js/check-history.mjs`), whose WebCrypto is
//! the same API the browser's is. `.ci/run` sets `VOUCH_REQUIRE_NODE=1`, so that there a
//! missing Node.js fails the test; elsewhere the test says it was skipped.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use base64::Engine as _;
use common::*;
use serde_json::{json, Value};
use vouch::bundle::History;
use vouch::note::BASE64;
use vouch::statement::Kind;
use vouch::verify::{self, Verdict};

fn node() -> bool {
    let ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let msg = "Node.js is needed to run the in-browser verifier's checks";
        assert!(std::env::var_os("VOUCH_REQUIRE_NODE").is_none(), "{msg}");
        eprintln!("SKIPPED: {msg}; .ci/run installs it");
    }
    ok
}

/// One byte of entry `n` changed, its base64 rewritten.
fn altered_entry(h: &History, n: usize) -> History {
    let mut h = h.clone();
    let mut bytes = BASE64.decode(&h.entries[n].entry).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    h.entries[n].entry = BASE64.encode(bytes);
    h
}

fn without(h: &History, n: usize) -> History {
    let mut h = h.clone();
    h.entries.remove(n);
    h
}

/// What Rust says, check by check, in the JavaScript verifier's terms.
fn rust_checks(h: &History, log_key: &vouch::note::Verifier) -> BTreeMap<String, bool> {
    let r = verify::verify_history(h, FACTORY, log_key, time::OffsetDateTime::now_utc());
    let mut out: BTreeMap<String, bool> = r
        .checks
        .iter()
        .filter(|c| ["checkpoint", "request", "complete"].contains(&c.name.as_str()))
        .map(|c| (c.name.clone(), c.ok))
        .collect();
    if out.get("request") == Some(&true) {
        let included = r
            .entries
            .iter()
            .all(|e| e.checks.iter().all(|c| c.name != "inclusion" || c.ok));
        out.insert("inclusion".into(), included);
    }
    if out.values().all(|ok| *ok) {
        // Rust checks more than the browser does yet (signatures, authority): an
        // honest history must pass all of it.
        assert_eq!(r.verdict, Verdict::Valid, "{:?}", r.checks);
    }
    out
}

#[test]
fn the_browser_verifier_and_rust_agree_on_honest_and_forged_histories() {
    if !node() {
        return;
    }
    let l = Ledger::new(1);
    let c = &l.cast;
    for note in [
        "first audit",
        "water",
        "energy",
        "second audit",
        "chemicals",
    ] {
        let kind = if note.contains("audit") {
            Kind::Audit
        } else {
            Kind::Metric
        };
        l.submit(&statement(kind, FACTORY, note), &c.auditor)
            .unwrap();
    }
    l.submit(&statement(Kind::Audit, OTHER_FACTORY, "other"), &c.auditor)
        .unwrap();
    let honest = l.log.view().history(FACTORY, None, 500).unwrap();
    assert_eq!(honest.entries.len(), 5);
    let other = l.log.view().history(OTHER_FACTORY, None, 500).unwrap();
    let log_key = l.log.verifier().clone();

    let mut cases: Vec<(&str, History)> = vec![("honest", honest.clone())];
    cases.push((
        "one byte of the newest entry changed",
        altered_entry(&honest, 0),
    ));
    cases.push((
        "one byte of a middle entry changed",
        altered_entry(&honest, 2),
    ));
    cases.push(("the newest entry hidden", without(&honest, 0)));
    cases.push(("a middle entry hidden", without(&honest, 2)));
    cases.push(("the first entry hidden", without(&honest, 4)));
    let mut h = honest.clone();
    h.checkpoint = l.log.head().checkpoint.sign(&[&key(l.log.origin(), 99)]);
    cases.push(("the checkpoint signed by another key", h));
    let mut h = honest.clone();
    let text = l.log.head().checkpoint.to_text();
    let renamed = text.replacen(l.log.origin(), "another.example/log", 1);
    h.checkpoint = vouch::note::sign(&renamed, &[&c.log_key]).unwrap();
    cases.push(("a checkpoint of another origin, signed by the log key", h));
    let mut h = honest.clone();
    h.index_proof = other.index_proof.clone();
    cases.push(("another supplier's index proof", h));
    let mut h = honest.clone();
    h.supplier = OTHER_FACTORY.into();
    cases.push(("a history of another supplier", h));
    let mut h = honest.clone();
    h.tree_size -= 1;
    cases.push(("another tree size", h));
    let mut h = honest.clone();
    h.entries[1].inclusion_proof.swap(0, 1);
    cases.push(("an inclusion proof out of order", h));
    let mut h = honest.clone();
    h.entries.reverse();
    cases.push(("the entries in the wrong order", h));
    let mut h = other.clone();
    h.supplier = FACTORY.into();
    cases.push(("another supplier's whole history", h));
    let mut h = honest.clone();
    let d = h.entries[1].decoded.as_mut().unwrap();
    let mut statement: Value = serde_json::from_str(d.statement.get()).unwrap();
    statement["findings"][0]["text"] = json!("nothing to report");
    d.statement = serde_json::from_str(&statement.to_string()).unwrap();
    cases.push(("a decoded copy that says other than the signed bytes", h));
    let mut h = honest.clone();
    let d = h.entries[2].decoded.as_mut().unwrap();
    let reformatted: Value = serde_json::from_str(d.statement.get()).unwrap();
    d.statement =
        serde_json::from_str(&serde_json::to_string_pretty(&reformatted).unwrap()).unwrap();
    cases.push(("honest, its decoded copy reformatted", h));

    let input: Vec<Value> = cases
        .iter()
        .map(|(name, h)| {
            json!({"name": name, "supplier": FACTORY, "log_key": log_key.to_string(), "history": h})
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.json");
    std::fs::write(&file, serde_json::to_vec(&input).unwrap()).unwrap();
    let out = Command::new("node")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/js/check-history.mjs"
        ))
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let js: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(js.len(), cases.len());
    for ((name, h), js) in cases.iter().zip(&js) {
        let rust = rust_checks(h, &log_key);
        let browser: BTreeMap<String, bool> = serde_json::from_value(js["checks"].clone()).unwrap();
        assert_eq!(browser, rust, "{name}: the browser and Rust disagree");
        let passed = rust.values().all(|ok| *ok) && rust.len() == 4;
        assert_eq!(passed, name.starts_with("honest"), "{name}: {rust:?}");
    }
}
