//! DSSE envelopes as other signers write them: DSSE v1 makes `keyid` an optional,
//! unauthenticated hint and allows the standard or the URL-safe base64 alphabet, with
//! or without padding. vouch accepts them, stores them as it writes envelopes itself
//! (standard base64 with padding, the signer's key id as `keyid`: the signatures are
//! over the payload's bytes, so they still hold), and readers verify them as any other.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::*;
use serde_json::{json, Value};
use vouch::entry::Entry;
use vouch::envelope::{Envelope, EnvelopeError};
use vouch::log::LogError;
use vouch::note::{KeyName, Signer, BASE64};
use vouch::statement::{Kind, RegistryStatement, Role, STATEMENT_TYPE};
use vouch::verify::{verify_history, Verdict};

/// The envelope stored at `index`.
fn stored(ledger: &Ledger, index: u64) -> Envelope {
    let bytes = ledger.log.store().entries(index, 1).unwrap().pop().unwrap();
    Entry::parse(&bytes).unwrap().envelope
}

fn history_verdict(ledger: &Ledger, supplier: &str) -> Verdict {
    let h = ledger.log.view().history(supplier, None, 100).unwrap();
    verify_history(
        &h,
        supplier,
        ledger.cast.log_key.verifier(),
        time::OffsetDateTime::now_utc(),
    )
    .verdict
}

/// The envelope of `tests/vectors/dsse.json` was signed by Python's securesystemslib,
/// whose `keyid` is a SHA-256 of its own: vouch finds the registered key that made the
/// signature and rewrites the envelope with that key's id, the payload and signature
/// untouched. The log then refuses it, with the reason: the vector's supplier id
/// (`VN2019303BQ3FZP`) fails Open Supply Hub's check character, and nothing is stored.
#[test]
fn an_envelope_signed_by_securesystemslib_is_read_with_its_own_keyid() {
    let ledger = Ledger::new(1);
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/vectors/dsse.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let seed: [u8; 32] = hex::decode(v["seed_hex"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let signer = Signer::from_seed(KeyName::new("sslib").unwrap(), seed);
    ledger
        .registry(&RegistryStatement::Register {
            participant: spec("sslib", &[Role::Auditor], &signer, &[]),
            issued_at: now(),
        })
        .unwrap();
    let theirs = &v["envelope"];
    assert_eq!(theirs["signatures"][0]["keyid"].as_str().unwrap().len(), 64);
    let bytes = serde_json::to_vec(theirs).unwrap();
    let read = ledger.log.parse_submitted_unchecked(&bytes).unwrap();
    let ours = &read.opened.envelope;
    assert_eq!(ours.payload, theirs["payload"].as_str().unwrap());
    assert_eq!(ours.signatures[0].sig, theirs["signatures"][0]["sig"]);
    assert_eq!(ours.signatures[0].keyid, format!("{:08x}", signer.key_id()));
    let size = ledger.log.head().size();
    let disk = ledger.disk_state();
    let e = ledger.log.submit_blocking(&bytes).unwrap_err();
    assert!(
        e.to_string().contains("check character"),
        "the vector's OS ID fails OSH's check: {e}"
    );
    assert_eq!(ledger.log.head().size(), size);
    assert_eq!(ledger.disk_state(), disk);
}

/// An envelope in URL-safe base64 without padding and without `keyid` is stored as
/// vouch writes it: byte for byte the envelope vouch's own signing makes.
#[test]
fn url_safe_unpadded_keyless_envelopes_are_stored_as_vouch_writes_them() {
    let ledger = Ledger::new(1);
    // "???" and ">>>" are written with '/' and '+' in standard base64.
    let statement = statement(Kind::Audit, FACTORY, "??? >>> ???");
    let standard = vouch::envelope::sign(
        STATEMENT_TYPE,
        &serde_json::to_vec(&statement).unwrap(),
        &[&ledger.cast.auditor],
    );
    assert!(standard.payload.contains(['+', '/']));
    let mut theirs: Value = serde_json::from_slice(&standard.to_json()).unwrap();
    let url_safe = |s: &Value| URL_SAFE_NO_PAD.encode(BASE64.decode(s.as_str().unwrap()).unwrap());
    theirs["payload"] = json!(url_safe(&theirs["payload"]));
    theirs["signatures"][0] = json!({"sig": url_safe(&theirs["signatures"][0]["sig"])});
    assert!(theirs["payload"].as_str().unwrap().contains(['-', '_']));
    let receipt = ledger
        .log
        .submit_blocking(&serde_json::to_vec(&theirs).unwrap())
        .unwrap();
    assert!(!receipt.duplicate);
    assert_eq!(stored(&ledger, receipt.index), standard);
    assert_eq!(history_verdict(&ledger, FACTORY), Verdict::Valid);
    let again = ledger.log.submit_blocking(&standard.to_json()).unwrap();
    assert!(again.duplicate);
    assert_eq!(again.index, receipt.index);
}

/// Keyless signatures are matched only against keys that could have signed: another
/// factory's key is not tried, so its signature is refused as made by no known key;
/// two keyless signatures by one key are one key signing twice.
#[test]
fn keyless_signatures_are_matched_against_the_keys_that_could_sign() {
    let ledger = Ledger::new(1);
    let body = serde_json::to_vec(&statement(Kind::Metric, OTHER_FACTORY, "metric")).unwrap();
    let keyless = |signers: &[&Signer]| {
        let mut e: Value = serde_json::from_slice(
            &vouch::envelope::sign(STATEMENT_TYPE, &body, signers).to_json(),
        )
        .unwrap();
        for s in e["signatures"].as_array_mut().unwrap() {
            s.as_object_mut().unwrap().remove("keyid");
        }
        serde_json::to_vec(&e).unwrap()
    };
    let size = ledger.log.head().size();
    let disk = ledger.disk_state();
    // songhong is FACTORY's supplier, not OTHER_FACTORY's.
    let err = ledger
        .log
        .submit_blocking(&keyless(&[&ledger.cast.supplier]))
        .unwrap_err();
    assert!(
        matches!(
            err,
            LogError::Envelope(EnvelopeError::NoKeyMadeSignature(0))
        ),
        "{err:?}"
    );
    let auditor = &ledger.cast.auditor;
    let err = ledger
        .log
        .submit_blocking(&keyless(&[auditor, auditor]))
        .unwrap_err();
    assert!(
        matches!(err, LogError::Envelope(EnvelopeError::DuplicateKey(_))),
        "{err:?}"
    );
    assert_eq!(ledger.log.head().size(), size);
    assert_eq!(ledger.disk_state(), disk);
    // The auditor's keyless signature goes in.
    ledger.log.submit_blocking(&keyless(&[auditor])).unwrap();
}

/// Over HTTP: a keyless URL-safe envelope is appended (201); one that no registered
/// key made is a 403 problem, and the store is as it was.
#[test]
fn keyless_envelopes_over_http() {
    let ledger = Ledger::new(1);
    let url = serve(ledger.log.clone());
    let client = reqwest::blocking::Client::new();
    let post = |e: &Value| {
        client
            .post(format!("{url}/v1/attestations"))
            .header("content-type", "application/json")
            .body(serde_json::to_vec(e).unwrap())
            .send()
            .unwrap()
    };
    let body = serde_json::to_vec(&statement(Kind::Audit, FACTORY, "over http")).unwrap();
    let keyless = |signer: &Signer| {
        let e = vouch::envelope::sign(STATEMENT_TYPE, &body, &[signer]);
        json!({
            "payloadType": e.payload_type,
            "payload": URL_SAFE_NO_PAD.encode(BASE64.decode(&e.payload).unwrap()),
            "signatures": [{"sig": URL_SAFE_NO_PAD.encode(BASE64.decode(&e.signatures[0].sig).unwrap())}],
        })
    };
    let disk = ledger.disk_state();
    let refused = post(&keyless(&key("stranger", 99)));
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = refused.json().unwrap();
    assert_eq!(problem["type"], "/problems/unknown-key");
    assert!(problem["detail"].as_str().unwrap().contains("keyid"));
    assert_eq!(ledger.disk_state(), disk);
    let accepted = post(&keyless(&ledger.cast.auditor));
    assert_eq!(accepted.status(), 201);
    let receipt: Value = accepted.json().unwrap();
    let index = receipt["index"].as_u64().unwrap();
    assert_eq!(
        stored(&ledger, index).signatures[0].keyid,
        format!("{:08x}", ledger.cast.auditor.key_id())
    );
}
