//! The explorer's in-browser verifier (JavaScript, WebCrypto) and the Rust `verify`
//! module must say the same of the same history, down to each entry: honest, and
//! forged in each way a dishonest log could forge it. Every case goes to both as the
//! JSON text a server would send; the summaries (the history's checks and verdict;
//! each entry's verdict, checks, standing, signers and self-reporting) must be equal,
//! and each case's verdict is the one expected, so that agreement is never agreement
//! on nothing.
//!
//! The JavaScript runs under Node.js (`tests/js/check-history.mjs`), whose WebCrypto is
//! the same API the browser's is. `.ci/run` sets `VOUCH_REQUIRE_NODE=1`, so that there a
//! missing Node.js fails the test; elsewhere the test says it was skipped.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use base64::Engine as _;
use common::forge::{forged, forged_histories, forged_of, governed, signed, ForgedLog};
use common::*;
use ed25519_dalek::VerifyingKey;
use serde_json::{json, Value};
use time::OffsetDateTime;
use vouch::bundle::History;
use vouch::envelope;
use vouch::note::{KeyName, Signer, Verifier, BASE64};
use vouch::statement::{Kind, RegistryStatement, Role, Since, Statement, REGISTRY_TYPE};
use vouch::verify::{self, HistoryReport};

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

/// Runs a script of tests/js/ on `input` (written to a file) and reads its JSON output.
fn run_js(script: &str, input: &Value) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.json");
    std::fs::write(&file, serde_json::to_vec(input).unwrap()).unwrap();
    let out = Command::new("node")
        .arg(format!("{}/tests/js/{script}", env!("CARGO_MANIFEST_DIR")))
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What Rust says of a history's text, in the terms of tests/js/check-history.mjs.
fn rust_summary(
    text: &str,
    joined: Option<&[String]>,
    supplier: &str,
    log_key: &Verifier,
    now: OffsetDateTime,
) -> Value {
    let Ok(history) = serde_json::from_str::<History>(text) else {
        return json!({"unreadable": true});
    };
    let r: HistoryReport = match joined {
        Some(texts) => {
            let joined: Vec<History> = texts
                .iter()
                .map(|t| serde_json::from_str(t).unwrap())
                .collect();
            verify::verify_joined(&history, &joined, supplier, log_key, now)
        }
        None => verify::verify_history(&history, supplier, log_key, now),
    };
    let checks = |l: &[verify::Check]| -> BTreeMap<String, bool> {
        l.iter().map(|c| (c.name.clone(), c.ok)).collect()
    };
    json!({
        "verdict": r.verdict,
        "checks": checks(&r.checks),
        "entries": r.entries.iter().map(|e| json!({
            "index": e.index,
            "verdict": e.verdict,
            "checks": checks(&e.checks),
            "standing": {
                "retracted_by": e.standing.retracted_by,
                "superseded_by": e.standing.superseded_by,
                "answered_by": e.standing.answered_by,
                "expired": e.standing.expired,
            },
            "signers": e.signers,
            "self_reported": e.self_reported,
        })).collect::<Vec<_>>(),
    })
}

struct Case {
    name: String,
    supplier: String,
    history: String,
    /// The texts of the histories joined to it, to verify as one.
    joined: Option<Vec<String>>,
    /// The history's verdict, or "unreadable".
    expect: &'static str,
}

fn case(name: &str, h: &History, expect: &'static str) -> Case {
    Case {
        name: name.into(),
        supplier: FACTORY.into(),
        history: serde_json::to_string(h).unwrap(),
        joined: None,
        expect,
    }
}

/// Sends every case to both verifiers and compares what they say.
fn agree(cases: &[Case], log_key: &Verifier) {
    let now = OffsetDateTime::now_utc();
    let input: Vec<Value> = cases
        .iter()
        .map(|c| {
            json!({"name": c.name, "supplier": c.supplier, "log_key": log_key.to_string(),
                   "now_ns": now.unix_timestamp_nanos().to_string(), "history": c.history,
                   "joined": c.joined})
        })
        .collect();
    let js = run_js("check-history.mjs", &Value::Array(input));
    let js = js.as_array().unwrap();
    assert_eq!(js.len(), cases.len());
    for (c, js) in cases.iter().zip(js) {
        let mut js = js.clone();
        js.as_object_mut().unwrap().remove("name");
        let rust = rust_summary(&c.history, c.joined.as_deref(), &c.supplier, log_key, now);
        assert_eq!(
            js, rust,
            "{}: the browser and Rust disagree\nbrowser: {js:#}\nrust: {rust:#}",
            c.name
        );
        let verdict = if rust.get("unreadable").is_some() {
            "unreadable"
        } else {
            rust["verdict"].as_str().unwrap()
        };
        assert_eq!(verdict, c.expect, "{}: {rust:#}", c.name);
    }
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

/// A ledger an honest server keeps, with each kind of record and what later records
/// and time do to earlier ones: corrected, retracted, answered, expired, and signed
/// with a key later revoked as compromised.
#[test]
fn the_browser_verifier_and_rust_agree_on_an_honest_ledger_and_its_forgeries() {
    if !node() {
        return;
    }
    let l = Ledger::new(1);
    let c = &l.cast;
    let audit = l
        .submit(&statement(Kind::Audit, FACTORY, "first audit"), &c.auditor)
        .unwrap();
    l.submit(&statement(Kind::Metric, FACTORY, "own water"), &c.supplier)
        .unwrap();
    let rating = l
        .submit(&statement(Kind::Rating, FACTORY, "grade A"), &c.buyer)
        .unwrap();
    let mut s = statement(Kind::Audit, FACTORY, "an old audit");
    s.issued_at = "2020-01-01T00:00:00Z".into();
    s.valid_until = Some("2021-01-01".into());
    l.submit(&s, &c.auditor).unwrap();
    let mut s = statement(Kind::CorrectiveAction, FACTORY, "fix the hours");
    s.refs = vec![refer(&audit)];
    let cap = l.submit(&s, &c.auditor).unwrap();
    let mut s = statement(Kind::Response, FACTORY, "we hired more");
    s.refs = vec![refer(&audit)];
    l.submit(&s, &c.supplier).unwrap();
    let mut s = statement(Kind::Correction, FACTORY, "the score was 80");
    s.refs = vec![refer(&audit)];
    l.submit(&s, &c.auditor).unwrap();
    let mut s = statement(Kind::Retraction, FACTORY, "withdrawn");
    s.refs = vec![refer(&rating)];
    l.submit(&s, &c.buyer).unwrap();
    l.submit(&statement(Kind::Audit, OTHER_FACTORY, "other"), &c.auditor)
        .unwrap();
    l.registry(&RegistryStatement::RevokeKey {
        participant: "kiwa".into(),
        key_id: format!("{:08x}", c.auditor.key_id()),
        compromised_since: Some(Since::Index(cap.index)),
        issued_at: now(),
    })
    .unwrap();
    let honest = l.log.view().history(FACTORY, None, 500).unwrap();
    assert_eq!(honest.entries.len(), 8);
    let other = l.log.view().history(OTHER_FACTORY, None, 500).unwrap();

    let mut cases = vec![case("honest", &honest, "valid")];
    cases.push(case(
        "one byte of the newest entry changed",
        &altered_entry(&honest, 0),
        "invalid",
    ));
    cases.push(case(
        "one byte of a middle entry changed",
        &altered_entry(&honest, 3),
        "invalid",
    ));
    cases.push(case(
        "the newest entry hidden",
        &without(&honest, 0),
        "invalid",
    ));
    cases.push(case(
        "a middle entry hidden",
        &without(&honest, 3),
        "invalid",
    ));
    cases.push(case(
        "the first entry hidden",
        &without(&honest, 7),
        "invalid",
    ));
    let mut h = honest.clone();
    h.checkpoint = l.log.head().checkpoint.sign(&[&key(l.log.origin(), 99)]);
    cases.push(case("the checkpoint signed by another key", &h, "invalid"));
    let mut h = honest.clone();
    let text = l.log.head().checkpoint.to_text();
    let renamed = text.replacen(l.log.origin(), "another.example/log", 1);
    h.checkpoint = vouch::note::sign(&renamed, &[&c.log_key]).unwrap();
    cases.push(case(
        "a checkpoint of another origin, signed by the log key",
        &h,
        "invalid",
    ));
    // Lines after the signature are nobody's: one of an unknown key whose name holds a
    // zero-width no-break space (not white space) is passed over; one whose name holds
    // a next-line character (white space) makes the note malformed.
    for (name, line, expect) in [
        ("an unsigned line of an unknown key", "\u{feff}w", "valid"),
        (
            "an unsigned line whose key name holds white space",
            "\u{85}w",
            "invalid",
        ),
    ] {
        let mut h = honest.clone();
        h.checkpoint
            .push_str(&format!("\u{2014} {line} AAAAAAAA\n"));
        cases.push(case(name, &h, expect));
    }
    let mut h = honest.clone();
    h.index_proof = other.index_proof.clone();
    cases.push(case("another supplier's index proof", &h, "invalid"));
    let mut h = honest.clone();
    h.supplier = OTHER_FACTORY.into();
    cases.push(case("a history of another supplier", &h, "invalid"));
    let mut h = honest.clone();
    h.tree_size -= 1;
    cases.push(case("another tree size", &h, "invalid"));
    let mut h = honest.clone();
    h.entries[1].inclusion_proof.swap(0, 1);
    cases.push(case("an inclusion proof out of order", &h, "invalid"));
    let mut h = honest.clone();
    h.entries.reverse();
    cases.push(case("the entries in the wrong order", &h, "invalid"));
    let mut h = other.clone();
    h.supplier = FACTORY.into();
    cases.push(case("another supplier's whole history", &h, "invalid"));
    let mut h = honest.clone();
    let d = h.entries[1].decoded.as_mut().unwrap();
    let mut statement: Value = serde_json::from_str(d.statement.get()).unwrap();
    statement["findings"][0]["text"] = json!("nothing to report");
    d.statement = serde_json::from_str(&statement.to_string()).unwrap();
    cases.push(case(
        "a decoded copy that says other than the signed bytes",
        &h,
        "invalid",
    ));
    let mut h = honest.clone();
    let d = h.entries[2].decoded.as_mut().unwrap();
    let reformatted: Value = serde_json::from_str(d.statement.get()).unwrap();
    d.statement =
        serde_json::from_str(&serde_json::to_string_pretty(&reformatted).unwrap()).unwrap();
    cases.push(case("its decoded copy reformatted", &h, "valid"));
    // The revocation (the kiwa chain's newest entry) left out, or altered.
    let revocation = honest.registry.len() - 1;
    let mut h = honest.clone();
    h.registry.remove(revocation);
    cases.push(case("a registry revocation left out", &h, "invalid"));
    let mut h = honest.clone();
    let mut bytes = BASE64.decode(&h.registry[1].entry).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0x01;
    h.registry[1].entry = BASE64.encode(bytes);
    cases.push(case("a registry entry altered", &h, "invalid"));
    let mut h = honest.clone();
    h.registry_proofs.retain(|p| p.subject != "registry:kiwa");
    cases.push(case(
        "the auditor's registry chain without its proof",
        &h,
        "invalid",
    ));

    // JSON a server might send that says the same, or that is not a history.
    let text = serde_json::to_string(&honest).unwrap();
    let mut more = vec![
        Case {
            name: "the decoded copy with a key given twice, the last as signed".into(),
            supplier: FACTORY.into(),
            history: text.replacen("\"statement\":{", "\"statement\":{\"kind\":\"nothing\",", 1),
            joined: None,
            expect: "valid",
        },
        Case {
            name: "the tree size written as 1.0".into(),
            supplier: FACTORY.into(),
            history: text.replacen(
                &format!("\"tree_size\":{}", honest.tree_size),
                &format!("\"tree_size\":{}.0", honest.tree_size),
                1,
            ),
            joined: None,
            expect: "unreadable",
        },
        Case {
            name: "a field of the history given twice".into(),
            supplier: FACTORY.into(),
            history: text.replacen('{', "{\"supplier\":\"VN0000000AAAAAA\",", 1),
            joined: None,
            expect: "unreadable",
        },
    ];
    cases.append(&mut more);
    agree(&cases, l.log.verifier());

    // The verdicts themselves: each kind of later record reaches the record it is about.
    let report = verify::verify_history(
        &honest,
        FACTORY,
        l.log.verifier(),
        OffsetDateTime::now_utc(),
    );
    let verdicts: Vec<&str> = report.entries.iter().map(|e| e.verdict.as_str()).collect();
    for v in ["superseded", "retracted", "expired", "suspect", "valid"] {
        assert!(verdicts.contains(&v), "{v} in {verdicts:?}");
    }
}

/// A log as a dishonest operator holding the log key could write it: a genesis entry
/// (one governance member), an auditor, a buyer and the supplier registered in their
/// own chains, then whatever `records` adds; the history of FACTORY.
/// A change to a statement's JSON.
type Edit = Box<dyn Fn(&mut Value)>;

/// A statement's JSON, changed by `edit`.
fn payload(s: &Statement, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v = serde_json::to_value(s).unwrap();
    edit(&mut v);
    serde_json::to_vec(&v).unwrap()
}

/// An audit by the auditor, then a statement of `kind` referring to it (by the leaf
/// hash `leaf`, or the audit's own) signed by `signer`.
fn audit_then(log: &mut ForgedLog, c: &Cast, kind: Kind, leaf: Option<[u8; 32]>, signer: &Signer) {
    let first = log.push(signed(&audit_body(), &[&c.auditor]), FACTORY);
    let mut s = statement(kind, FACTORY, "about the audit");
    s.refs = vec![vouch::statement::EntryRef {
        index: first,
        leaf_hash: vouch::entry::encode_hash(&leaf.unwrap_or_else(|| log.leaf(first))),
    }];
    log.push(signed(&serde_json::to_vec(&s).unwrap(), &[signer]), FACTORY);
}

fn audit_body() -> Vec<u8> {
    serde_json::to_vec(&statement(Kind::Audit, FACTORY, "audit")).unwrap()
}

#[test]
fn the_browser_verifier_and_rust_agree_on_what_a_dishonest_log_writes() {
    if !node() {
        return;
    }
    let cast = Cast::new();
    let c = &cast;
    let mut cases = vec![case(
        "honest",
        &forged(c, |log| {
            log.push(signed(&audit_body(), &[&c.auditor]), FACTORY);
        }),
        "valid",
    )];
    let mut add = |name: &str, expect: &'static str, records: &dyn Fn(&mut ForgedLog)| {
        cases.push(case(name, &forged(c, records), expect));
    };
    add("an audit signed by a buyer", "invalid", &|log| {
        log.push(signed(&audit_body(), &[&c.buyer]), FACTORY);
    });
    add(
        "an audit signed by an unregistered key",
        "invalid",
        &|log| {
            log.push(signed(&audit_body(), &[&key("stranger", 77)]), FACTORY);
        },
    );
    add("an audit whose signature is altered", "invalid", &|log| {
        let mut env = signed(&audit_body(), &[&c.auditor]);
        let mut sig = BASE64.decode(&env.signatures[0].sig).unwrap();
        sig[10] ^= 1;
        env.signatures[0].sig = BASE64.encode(sig);
        log.push(env, FACTORY);
    });
    add(
        "an audit signed twice, once by an unregistered key",
        "invalid",
        &|log| {
            log.push(
                signed(&audit_body(), &[&c.auditor, &key("stranger", 77)]),
                FACTORY,
            );
        },
    );
    add(
        "a metric by the supplier about its own factory",
        "valid",
        &|log| {
            let s = statement(Kind::Metric, FACTORY, "own");
            log.push(
                signed(&serde_json::to_vec(&s).unwrap(), &[&c.supplier]),
                FACTORY,
            );
        },
    );
    add("a response by a buyer", "invalid", &|log| {
        audit_then(log, c, Kind::Response, None, &c.buyer);
    });
    add(
        "a retraction by a buyer of an auditor's audit",
        "invalid",
        &|log| {
            audit_then(log, c, Kind::Retraction, None, &c.buyer);
        },
    );
    add(
        "a reference to a leaf hash that is not the entry's",
        "invalid",
        &|log| {
            audit_then(log, c, Kind::CorrectiveAction, Some([7; 32]), &c.auditor);
        },
    );
    add(
        "an audit of another factory filed in this chain",
        "invalid",
        &|log| {
            let s = statement(Kind::Audit, OTHER_FACTORY, "elsewhere");
            log.push(
                signed(&serde_json::to_vec(&s).unwrap(), &[&c.auditor]),
                FACTORY,
            );
        },
    );
    add(
        "a registration the governance did not sign",
        "invalid",
        &|log| {
            let evil = key("evil", 66);
            let change = RegistryStatement::Register {
                participant: spec("evil", &[Role::Auditor], &evil, &[]),
                issued_at: now(),
            };
            log.push(governed(&change, &evil), "registry:evil");
            log.push(signed(&audit_body(), &[&evil]), FACTORY);
        },
    );
    add("a registration filed in another chain", "invalid", &|log| {
        let other = key("other-auditor", 67);
        let change = RegistryStatement::Register {
            participant: spec("other-auditor", &[Role::Auditor], &other, &[]),
            issued_at: now(),
        };
        log.push(governed(&change, &c.gov[0]), "registry:kiwa");
        log.push(signed(&audit_body(), &[&c.auditor]), FACTORY);
    });
    add("an audit signed with a revoked key", "invalid", &|log| {
        let change = RegistryStatement::RevokeKey {
            participant: "kiwa".into(),
            key_id: format!("{:08x}", c.auditor.key_id()),
            compromised_since: None,
            issued_at: now(),
        };
        log.push(governed(&change, &c.gov[0]), "registry:kiwa");
        log.push(signed(&audit_body(), &[&c.auditor]), FACTORY);
    });
    add(
        "an audit before its key's compromise is known",
        "valid",
        &|log| {
            log.push(signed(&audit_body(), &[&c.auditor]), FACTORY);
            let change = RegistryStatement::RevokeKey {
                participant: "kiwa".into(),
                key_id: format!("{:08x}", c.auditor.key_id()),
                compromised_since: Some(Since::Time("2020-01-01T00:00:00Z".into())),
                issued_at: now(),
            };
            log.push(governed(&change, &c.gov[0]), "registry:kiwa");
        },
    );
    add(
        "a revocation that leaves fewer governance members than the threshold",
        "invalid",
        &|log| {
            let change = RegistryStatement::RevokeKey {
                participant: "platform".into(),
                key_id: format!("{:08x}", c.gov[0].key_id()),
                compromised_since: None,
                issued_at: now(),
            };
            log.push(governed(&change, &c.gov[0]), "registry");
            log.push(signed(&audit_body(), &[&c.auditor]), FACTORY);
        },
    );
    add(
        "a participant registered with a weak key",
        "invalid",
        &|log| {
            // The point of order 8, an Ed25519 key that verifies forged signatures.
            let weak: [u8; 32] =
                hex::decode("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")
                    .unwrap()
                    .try_into()
                    .unwrap();
            let weak = Verifier::new(
                KeyName::new("weak").unwrap(),
                VerifyingKey::from_bytes(&weak).unwrap(),
            );
            let mut p = spec("weak", &[Role::Auditor], &key("weak", 68), &[]);
            p.keys = vec![weak.to_string()];
            let change = RegistryStatement::Register {
                participant: p,
                issued_at: now(),
            };
            log.push(governed(&change, &c.gov[0]), "registry:weak");
            log.push(signed(&audit_body(), &[&c.auditor]), FACTORY);
        },
    );
    for (name, expect, text) in [
        (
            "a reply in Vietnamese",
            "valid",
            json!({"lang": "vi", "body": "Ca làm việc thứ hai bắt đầu từ tháng sau."}),
        ),
        (
            "a text whose language is not a tag",
            "invalid",
            json!({"lang": "Vietnamese", "body": "Xin chào"}),
        ),
        (
            "a text with an empty body",
            "invalid",
            json!({"lang": "en", "body": " "}),
        ),
        (
            "a text with a stray field",
            "invalid",
            json!({"lang": "en", "body": "x", "tone": "calm"}),
        ),
    ] {
        add(name, expect, &move |log| {
            let body = payload(&statement(Kind::Audit, FACTORY, "with text"), |v| {
                v["text"] = text.clone();
            });
            log.push(signed(&body, &[&c.auditor]), FACTORY);
        });
    }
    for (name, expect, actions) in [
        (
            "a plan with two items",
            "valid",
            json!([{"id": "OT-1", "text": "second shift", "owner": "HR", "due": "2027-01-31"},
                   {"id": "OT-2", "text": "monthly report", "owner": "union", "due": "2027-03-31"}]),
        ),
        (
            "a plan with an item given twice",
            "invalid",
            json!([{"id": "OT-1", "text": "a", "owner": "HR", "due": "2027-01-31"},
                   {"id": "OT-1", "text": "b", "owner": "HR", "due": "2027-01-31"}]),
        ),
        (
            "a plan item due on no date",
            "invalid",
            json!([{"id": "OT-1", "text": "a", "owner": "HR", "due": "2027-02-30"}]),
        ),
        (
            "a plan item whose id has a space",
            "invalid",
            json!([{"id": "OT 1", "text": "a", "owner": "HR", "due": "2027-01-31"}]),
        ),
    ] {
        add(name, expect, &move |log| {
            let audit = log.push(signed(&audit_body(), &[&c.auditor]), FACTORY);
            let mut plan = statement(Kind::CorrectiveAction, FACTORY, "plan");
            plan.refs = vec![vouch::statement::EntryRef {
                index: audit,
                leaf_hash: vouch::entry::encode_hash(&log.leaf(audit)),
            }];
            let body = payload(&plan, |v| v["actions"] = actions.clone());
            log.push(signed(&body, &[&c.auditor]), FACTORY);
        });
    }
    for (name, expect, threshold) in [
        ("a threshold set to what the members can sign", "valid", 1),
        (
            "a threshold raised above the governance members",
            "invalid",
            2,
        ),
        ("a threshold of zero", "invalid", 0),
    ] {
        add(name, expect, &move |log| {
            let change = RegistryStatement::SetThreshold {
                threshold,
                issued_at: now(),
            };
            log.push(governed(&change, &c.gov[0]), "registry");
            log.push(signed(&audit_body(), &[&c.auditor]), FACTORY);
        });
    }
    // Disputes: who, of what, and when, against the window governance set; and their
    // resolutions: by whom, of what.
    let dispute_of = |log: &mut ForgedLog, target: u64, codes: &[&str], signer: &Signer| {
        let mut d = statement(Kind::Dispute, FACTORY, "the finding misreads the records");
        d.refs = vec![vouch::statement::EntryRef {
            index: target,
            leaf_hash: vouch::entry::encode_hash(&log.leaf(target)),
        }];
        d.disputes = codes.iter().map(|c| (*c).to_owned()).collect();
        log.push(signed(&serde_json::to_vec(&d).unwrap(), &[signer]), FACTORY)
    };
    let window = |days| RegistryStatement::SetDisputeWindow {
        days,
        issued_at: now(),
    };
    type Disputed<'a> = Box<dyn Fn(&mut ForgedLog, u64) + 'a>;
    let at = |log: &mut ForgedLog, t: &str| log.logged_at = Some(t.to_owned());
    let dispute_cases: [(&str, &str, Disputed); 9] = [
        (
            "a dispute by the supplier within the window",
            "valid",
            Box::new(move |log, audit| {
                at(log, "2026-11-30T23:59:59.000Z");
                dispute_of(log, audit, &["T-1"], &c.supplier);
            }),
        ),
        (
            "a dispute by a buyer",
            "invalid",
            Box::new(move |log, audit| {
                dispute_of(log, audit, &["T-1"], &c.buyer);
            }),
        ),
        (
            "a dispute of a finding the record does not have",
            "invalid",
            Box::new(move |log, audit| {
                dispute_of(log, audit, &["T-9"], &c.supplier);
            }),
        ),
        (
            "a dispute logged after the 30-day window closed",
            "invalid",
            Box::new(move |log, audit| {
                at(log, "2026-12-01T00:00:00.001Z");
                dispute_of(log, audit, &["T-1"], &c.supplier);
            }),
        ),
        (
            "a late dispute after governance widened the window",
            "valid",
            Box::new(move |log, audit| {
                log.push(governed(&window(60), &c.gov[0]), "registry");
                at(log, "2026-12-15T00:00:00.000Z");
                dispute_of(log, audit, &["T-1"], &c.supplier);
            }),
        ),
        (
            "a late dispute before governance widened the window",
            "invalid",
            Box::new(move |log, audit| {
                at(log, "2026-12-15T00:00:00.000Z");
                dispute_of(log, audit, &["T-1"], &c.supplier);
                log.push(governed(&window(60), &c.gov[0]), "registry");
            }),
        ),
        (
            "a resolution by the auditor of the disputed audit",
            "valid",
            Box::new(move |log, audit| {
                let d = dispute_of(log, audit, &["T-1"], &c.supplier);
                let mut r = statement(Kind::Resolution, FACTORY, "the records show 72 hours");
                r.refs = vec![vouch::statement::EntryRef {
                    index: d,
                    leaf_hash: vouch::entry::encode_hash(&log.leaf(d)),
                }];
                log.push(
                    signed(&serde_json::to_vec(&r).unwrap(), &[&c.auditor]),
                    FACTORY,
                );
            }),
        ),
        (
            "a resolution by a buyer",
            "invalid",
            Box::new(move |log, audit| {
                let d = dispute_of(log, audit, &["T-1"], &c.supplier);
                let mut r = statement(Kind::Resolution, FACTORY, "withdrawn");
                r.outcome = Some(vouch::statement::DisputeOutcome::Withdrawn);
                r.refs = vec![vouch::statement::EntryRef {
                    index: d,
                    leaf_hash: vouch::entry::encode_hash(&log.leaf(d)),
                }];
                log.push(
                    signed(&serde_json::to_vec(&r).unwrap(), &[&c.buyer]),
                    FACTORY,
                );
            }),
        ),
        (
            "a resolution of an audit, not a dispute",
            "invalid",
            Box::new(move |log, audit| {
                let mut r = statement(Kind::Resolution, FACTORY, "upheld");
                r.refs = vec![vouch::statement::EntryRef {
                    index: audit,
                    leaf_hash: vouch::entry::encode_hash(&log.leaf(audit)),
                }];
                log.push(
                    signed(&serde_json::to_vec(&r).unwrap(), &[&c.auditor]),
                    FACTORY,
                );
            }),
        ),
    ];
    for (name, expect, then) in &dispute_cases {
        add(name, expect, &|log| {
            log.logged_at = Some("2026-10-31T23:59:59.000Z".into());
            let audit = log.push(signed(&audit_body(), &[&c.auditor]), FACTORY);
            then(log, audit);
        });
    }
    for (name, expect, from, to) in [
        (
            "a registration whose role is written as an object of {}",
            "valid",
            "\"roles\":[\"auditor\"]",
            "\"roles\":[{\"auditor\":{}}]",
        ),
        (
            "a registration whose type is a number",
            "invalid",
            "\"type\":\"register\"",
            "\"type\":1",
        ),
    ] {
        add(name, expect, &|log| {
            let other = key("other-auditor", 67);
            let change = RegistryStatement::Register {
                participant: spec("other-auditor", &[Role::Auditor], &other, &[]),
                issued_at: now(),
            };
            let text = serde_json::to_string(&change).unwrap();
            assert!(text.contains(from), "{text}");
            let body = text.replacen(from, to, 1);
            log.push(
                envelope::sign(REGISTRY_TYPE, body.as_bytes(), &[&c.gov[0]]),
                "registry:other-auditor",
            );
            log.push(signed(&audit_body(), &[&other]), FACTORY);
        });
    }
    let entry_without_prev = |log: &mut ForgedLog| {
        let env = signed(&audit_body(), &[&c.auditor]);
        let bytes = serde_json::to_vec(&json!({
            "v": 1, "logged_at": "2026-11-01T00:00:00.000Z", "subject": FACTORY,
            "envelope": env,
        }))
        .unwrap();
        log.push_raw(bytes, FACTORY);
    };
    add(
        "an entry with no prev field at all",
        "valid",
        &entry_without_prev,
    );
    // Statements signed by their auditor but written in ways the log's rules accept or
    // refuse: each must be accepted or refused alike.
    let v2 = || {
        json!({"id": "https://slcp.org/caf", "name": "SLCP CAF", "description": "Converged assessment",
               "version": "1.7", "valid_from": "2025-01-01",
               "owner": {"id": "https://slcp.org", "name": "SLCP"}})
    };
    let odd: [(&str, &str, Edit); 26] = [
        (
            "a version 2 audit with UNTP's fields",
            "valid",
            Box::new(move |v| {
                v["v"] = json!(2);
                v["assessor_level"] = json!("3rdParty");
                v["assessment_level"] = json!("Accredited");
                v["attestation_type"] = json!("inspection");
                v["scheme"] = v2();
                v["criteria"] =
                    json!([{"id": "SLCP-WH-12", "name": "Overtime", "conformance": false}]);
            }),
        ),
        (
            "a version 2 field in a version 1 statement",
            "invalid",
            Box::new(|v| v["assessor_level"] = json!("Self")),
        ),
        (
            "statement version 3",
            "invalid",
            Box::new(|v| v["v"] = json!(3)),
        ),
        (
            "a scheme whose id is no URI",
            "invalid",
            Box::new(move |v| {
                v["v"] = json!(2);
                v["scheme"] = v2();
                v["scheme"]["id"] = json!("SLCP CAF");
            }),
        ),
        (
            "an assessor level UNTP does not have",
            "invalid",
            Box::new(|v| {
                v["v"] = json!(2);
                v["assessor_level"] = json!("Auditor");
            }),
        ),
        (
            "a province and an address",
            "valid",
            Box::new(|v| {
                v["supplier"]["province"] = json!("Bình Dương");
                v["supplier"]["address"] = json!("Lô A1, KCN Sóng Thần");
            }),
        ),
        (
            "an empty province",
            "invalid",
            Box::new(|v| v["supplier"]["province"] = json!(" ")),
        ),
        (
            "a province of 101 characters",
            "invalid",
            Box::new(|v| v["supplier"]["province"] = json!("ễ".repeat(101))),
        ),
        (
            "a province that is a number",
            "invalid",
            Box::new(|v| v["supplier"]["province"] = json!(7)),
        ),
        (
            "a statement as an array of its fields",
            "valid",
            Box::new(|v| {
                let o = v.as_object().unwrap();
                *v = json!([
                    o["kind"],
                    o["supplier"],
                    o["topic"],
                    null,
                    null,
                    o["issued_at"],
                    null,
                    o["result"],
                    o["findings"]
                ]);
            }),
        ),
        (
            "a kind written as an object",
            "valid",
            Box::new(|v| v["kind"] = json!({"audit": null})),
        ),
        (
            "a whole-number score",
            "valid",
            Box::new(|v| v["result"]["score"] = json!(78)),
        ),
        (
            "a time with a space for its T",
            "valid",
            Box::new(|v| v["issued_at"] = json!("2026-01-02 03:04:05Z")),
        ),
        (
            "a leap second at the end of June",
            "valid",
            Box::new(|v| v["issued_at"] = json!("2015-06-30T23:59:60Z")),
        ),
        (
            "a name of a zero-width no-break space",
            "valid",
            Box::new(|v| v["supplier"]["name"] = json!("\u{feff}")),
        ),
        (
            "a period from a signed year",
            "valid",
            Box::new(|v| v["period"] = json!({"from": "+2026-01-01", "to": "2026-02-01"})),
        ),
        (
            "a leap second in the middle of a month",
            "invalid",
            Box::new(|v| v["issued_at"] = json!("2015-06-29T23:59:60Z")),
        ),
        (
            "a lowercase country",
            "invalid",
            Box::new(|v| v["supplier"]["country"] = json!("vn")),
        ),
        (
            "an unknown field",
            "invalid",
            Box::new(|v| v["colour"] = json!("red")),
        ),
        (
            "a bell in a finding",
            "invalid",
            Box::new(|v| v["findings"][0]["text"] = json!("ring\u{7}")),
        ),
        (
            "a score of 120",
            "invalid",
            Box::new(|v| v["result"]["score"] = json!(120)),
        ),
        (
            "valid_until at issued_at",
            "invalid",
            Box::new(|v| {
                let at = v["issued_at"].clone();
                v["valid_until"] = at;
            }),
        ),
        (
            "a period that ends before it starts",
            "invalid",
            Box::new(|v| v["period"] = json!({"from": "2026-02-01", "to": "2026-01-01"})),
        ),
        (
            "the 30th of February",
            "invalid",
            Box::new(|v| v["period"] = json!({"from": "2026-02-30", "to": "2026-03-01"})),
        ),
        (
            "a time in another zone",
            "invalid",
            Box::new(|v| v["issued_at"] = json!("2026-01-02T03:04:05+07:00")),
        ),
        (
            "a lowercase z",
            "invalid",
            Box::new(|v| v["issued_at"] = json!("2026-01-02T03:04:05z")),
        ),
    ];
    for (name, expect, edit) in odd {
        let s = statement(Kind::Audit, FACTORY, "odd");
        let body = payload(&s, |v| edit(v));
        add(name, expect, &|log| {
            log.push(signed(&body, &[&c.auditor]), FACTORY);
        });
    }
    let raw: [(&str, &str, String); 7] = [
        ("a reference index written as -0", "invalid", {
            let mut s = statement(Kind::CorrectiveAction, FACTORY, "fix");
            s.refs = vec![vouch::statement::EntryRef {
                index: 0,
                leaf_hash: vouch::entry::encode_hash(&[7; 32]),
            }];
            serde_json::to_string(&s)
                .unwrap()
                .replace("\"index\":0", "\"index\":-0")
        }),
        ("a figure of four hundred digits", "invalid", {
            let s = statement(Kind::Metric, FACTORY, "huge");
            let t = serde_json::to_string(&s).unwrap();
            t.replacen("41.5", &format!("1{}", "0".repeat(400)), 1)
        }),
        ("a score a hair above 100", "invalid", {
            let t = String::from_utf8(audit_body()).unwrap();
            t.replacen("78.0", "100.00000000000001", 1)
        }),
        ("a tab written raw inside a string", "invalid", {
            // The time crate takes any one ASCII character between date and time: only
            // the JSON rule refuses this.
            let s = statement(Kind::Audit, FACTORY, "audit");
            let t = serde_json::to_string(&s).unwrap();
            t.replacen(&s.issued_at, &s.issued_at.replacen('T', "\t", 1), 1)
        }),
        ("a field given twice", "invalid", {
            let t = String::from_utf8(audit_body()).unwrap();
            t.replacen("{", "{\"topic\":\"wages\",", 1)
        }),
        ("a reference index written as 1.0", "invalid", {
            let mut s = statement(Kind::CorrectiveAction, FACTORY, "fix");
            s.refs = vec![vouch::statement::EntryRef {
                index: 1,
                leaf_hash: vouch::entry::encode_hash(&[7; 32]),
            }];
            serde_json::to_string(&s)
                .unwrap()
                .replace("\"index\":1", "\"index\":1.0")
        }),
        ("a lone surrogate", "invalid", {
            let t = String::from_utf8(audit_body()).unwrap();
            t.replacen("Song Hong", "Song \\ud800Hong", 1)
        }),
    ];
    for (name, expect, body) in raw {
        add(name, expect, &|log| {
            log.push(signed(body.as_bytes(), &[&c.auditor]), FACTORY);
        });
    }
    // What factories say of a buyer, filed under the buyer: who may say it, of whom,
    // and who may reply.
    let practice = |buyer: &str| {
        let mut s = statement(Kind::PurchasingPractice, FACTORY, "paid 40 days late");
        s.buyer = Some(buyer.into());
        serde_json::to_vec(&s).unwrap()
    };
    type OfBuyer<'a> = Box<dyn Fn(&mut ForgedLog) + 'a>;
    let reply = |log: &mut ForgedLog, signer: &Signer| {
        let said = log.push(signed(&practice("brand"), &[&c.supplier]), "buyer:brand");
        let mut r = statement(Kind::Response, FACTORY, "we pay at 30 days now");
        r.buyer = Some("brand".into());
        r.topic = vouch::statement::Topic::PaymentTerms;
        r.refs = vec![vouch::statement::EntryRef {
            index: said,
            leaf_hash: vouch::entry::encode_hash(&log.leaf(said)),
        }];
        log.push(
            signed(&serde_json::to_vec(&r).unwrap(), &[signer]),
            "buyer:brand",
        );
    };
    let of_buyer: [(&str, &str, &str, OfBuyer); 6] = [
        (
            "a factory on its buyer's payment terms",
            "valid",
            "buyer:brand",
            Box::new(|log| {
                log.push(signed(&practice("brand"), &[&c.supplier]), "buyer:brand");
            }),
        ),
        (
            "a buyer's reply to a factory",
            "valid",
            "buyer:brand",
            Box::new(move |log| reply(log, &c.buyer)),
        ),
        (
            "a reply to a factory by another than the buyer",
            "invalid",
            "buyer:brand",
            Box::new(move |log| reply(log, &c.supplier)),
        ),
        (
            "a purchasing practice signed by an auditor",
            "invalid",
            "buyer:brand",
            Box::new(|log| {
                log.push(signed(&practice("brand"), &[&c.auditor]), "buyer:brand");
            }),
        ),
        (
            "a purchasing practice about an auditor, not a buyer",
            "invalid",
            "buyer:kiwa",
            Box::new(|log| {
                log.push(signed(&practice("kiwa"), &[&c.supplier]), "buyer:kiwa");
            }),
        ),
        (
            "a purchasing practice filed in the factory's own chain",
            "invalid",
            FACTORY,
            Box::new(|log| {
                log.push(signed(&practice("brand"), &[&c.supplier]), FACTORY);
            }),
        ),
    ];
    for (name, expect, subject, records) in &of_buyer {
        cases.push(Case {
            name: (*name).into(),
            supplier: (*subject).into(),
            history: serde_json::to_string(&forged_of(c, subject, records)).unwrap(),
            joined: None,
            expect,
        });
    }
    // Histories joined by alias records (Open Supply Hub merges): verified as one, the
    // joined history required, at the same checkpoint, and only the IDs joined.
    let joined_log = |alias_by: &Signer| {
        let alias_by = alias_by.clone();
        move |log: &mut ForgedLog| {
            log.push(signed(&audit_body(), &[&c.auditor]), FACTORY);
            let old = payload(
                &statement(Kind::Audit, OTHER_FACTORY, "under the old id"),
                |_| {},
            );
            log.push(signed(&old, &[&c.auditor]), OTHER_FACTORY);
            let mut alias = statement(Kind::Alias, FACTORY, "merged");
            alias.findings.clear();
            alias.alias_of = Some(vouch::statement::SupplierId::new(OTHER_FACTORY).unwrap());
            log.push(
                signed(&serde_json::to_vec(&alias).unwrap(), &[&alias_by]),
                FACTORY,
            );
        }
    };
    let by_governance = forged_histories(c, &[FACTORY, OTHER_FACTORY], joined_log(&c.gov[0]));
    let by_supplier = forged_histories(c, &[FACTORY, OTHER_FACTORY], joined_log(&c.supplier));
    let text = |h: &History| serde_json::to_string(h).unwrap();
    let mut elsewhere = by_governance[1].clone();
    elsewhere.tree_size -= 1;
    for (name, histories, joined, expect) in [
        (
            "a history joined by governance's alias, with the joined history",
            &by_governance,
            vec![text(&by_governance[1])],
            "valid",
        ),
        (
            "a history joined by governance's alias, without the joined history",
            &by_governance,
            vec![],
            "invalid",
        ),
        (
            "a joined history at another tree size",
            &by_governance,
            vec![text(&elsewhere)],
            "invalid",
        ),
        (
            "an alias by a supplier of only one of the ids",
            &by_supplier,
            vec![text(&by_supplier[1])],
            "invalid",
        ),
    ] {
        cases.push(Case {
            name: name.into(),
            supplier: FACTORY.into(),
            history: text(&histories[0]),
            joined: Some(joined),
            expect,
        });
    }
    agree(&cases, c.log_key.verifier());
}

/// Which 32-byte strings are Ed25519 public keys, and which of those are of small
/// order: the browser must read keys as curve25519-dalek does.
#[test]
fn the_browser_reads_ed25519_points_as_dalek_does() {
    if !node() {
        return;
    }
    let mut points: Vec<[u8; 32]> = (0..300u32)
        .map(|i| {
            let h: [u8; 32] = vouch::merkle::leaf_hash(&i.to_be_bytes());
            h
        })
        .collect();
    for hex in [
        "0100000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        // y = 1 + p and y = p: unreduced encodings of small-order points; y = 1 and
        // y = p - 1 with the sign bit set (x = 0 written negative).
        "0100000000000000000000000000000000000000000000000000000000000080",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ] {
        points.push(hex::decode(hex).unwrap().try_into().unwrap());
    }
    for s in 0..20u8 {
        points.push(*key("k", s).verifier().key().as_bytes());
    }
    let input: Vec<String> = points.iter().map(hex::encode).collect();
    let js = run_js("points.mjs", &json!(input));
    let rust: Vec<Value> = points
        .iter()
        .map(|p| match VerifyingKey::from_bytes(p) {
            Ok(k) => json!({"on_curve": true, "weak": k.is_weak(),
                            "canonical": k.to_edwards().compress().to_bytes() == *p}),
            Err(_) => json!({"on_curve": false, "weak": false, "canonical": false}),
        })
        .collect();
    for ((p, js), rust) in points.iter().zip(js.as_array().unwrap()).zip(&rust) {
        assert_eq!(js, rust, "{}", hex::encode(p));
    }
    let on = rust.iter().filter(|r| r["on_curve"] == true).count();
    let weak = rust.iter().filter(|r| r["weak"] == true).count();
    assert!(
        on > 100 && on < points.len() && weak >= 6,
        "{on} on the curve, {weak} weak"
    );
}

/// The 914 Ed25519 edge cases of C2SP's ed25519vectors (tests/vectors/): the browser
/// accepts exactly the signatures vouch accepts, and so none that Go or PyCA reject.
#[test]
fn the_browser_and_rust_accept_the_same_ed25519_signatures() {
    if !node() {
        return;
    }
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/ed25519-edge-cases.json"
    );
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let js = run_js("ed25519.mjs", &Value::Array(cases.clone()));
    let mut accepted = 0;
    for (c, js) in cases.iter().zip(js.as_array().unwrap()) {
        let hex32 = |k: &str| -> Vec<u8> { hex::decode(c[k].as_str().unwrap()).unwrap() };
        let key: [u8; 32] = hex32("key").try_into().unwrap();
        let sig: [u8; 64] = hex32("sig").try_into().unwrap();
        let rust = VerifyingKey::from_bytes(&key).is_ok_and(|vk| {
            vk.to_edwards().compress().to_bytes() == key
                && vouch::envelope::verify_signature(
                    c["msg"].as_str().unwrap().as_bytes(),
                    &ed25519_dalek::Signature::from_bytes(&sig),
                    &vk,
                )
        });
        assert_eq!(
            js.as_bool(),
            Some(rust),
            "case {}: the browser and Rust disagree",
            c["number"]
        );
        if rust {
            assert!(
                c["go_accepts"] == true && c["pyca_accepts"] == true,
                "case {}",
                c["number"]
            );
            accepted += 1;
        }
    }
    assert!(accepted > 0, "no ordinary signature among the cases");
}
