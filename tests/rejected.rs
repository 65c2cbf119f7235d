//! Malformed and unauthorised envelopes: each gets its own clear error, and the store
//! is byte-for-byte as it was.

mod common;

use base64::Engine as _;
use common::*;
use serde_json::{json, Value};
use vouch::envelope::EnvelopeError;
use vouch::log::LogError;
use vouch::note::BASE64;
use vouch::policy::PolicyError;
use vouch::statement::{Kind, StatementError, STATEMENT_TYPE};

/// A valid audit statement as JSON, to be broken one field at a time.
fn audit_json() -> Value {
    serde_json::to_value(statement(Kind::Audit, FACTORY, "base")).unwrap()
}

/// An envelope over `body` (raw bytes) signed by the auditor.
fn envelope_over(cast: &Cast, body: &[u8]) -> Value {
    serde_json::from_slice(&vouch::envelope::sign(STATEMENT_TYPE, body, &[&cast.auditor]).to_json())
        .unwrap()
}

fn with_statement(cast: &Cast, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut s = audit_json();
    edit(&mut s);
    serde_json::to_vec(&envelope_over(cast, &serde_json::to_vec(&s).unwrap())).unwrap()
}

fn with_envelope(cast: &Cast, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut e = envelope_over(cast, &serde_json::to_vec(&audit_json()).unwrap());
    edit(&mut e);
    serde_json::to_vec(&e).unwrap()
}

type Check = fn(&LogError) -> bool;

#[test]
fn malformed_and_unauthorised_envelopes_are_refused_and_nothing_is_stored() {
    let ledger = Ledger::new(1);
    let c = &ledger.cast;
    ledger
        .submit(
            &statement(Kind::Audit, FACTORY, "a stored audit"),
            &c.auditor,
        )
        .unwrap();
    let good = with_statement(c, |_| {});
    let unknown = key("stranger", 99);
    let cases: Vec<(&str, Vec<u8>, Check)> = vec![
        ("not JSON", b"audit: yes".to_vec(), |e| {
            matches!(e, LogError::Envelope(EnvelopeError::Json(_)))
        }),
        ("truncated JSON", good[..good.len() / 2].to_vec(), |e| {
            matches!(e, LogError::Envelope(EnvelopeError::Json(_)))
        }),
        ("JSON array", b"[]".to_vec(), |e| {
            matches!(e, LogError::Envelope(EnvelopeError::Json(_)))
        }),
        (
            "unknown envelope field",
            with_envelope(c, |e| {
                e["extra"] = json!(1);
            }),
            |e| matches!(e, LogError::Envelope(EnvelopeError::Json(_))),
        ),
        (
            "missing payloadType",
            with_envelope(c, |e| {
                e.as_object_mut().unwrap().remove("payloadType");
            }),
            |e| matches!(e, LogError::Envelope(EnvelopeError::Json(_))),
        ),
        (
            "payload not base64",
            with_envelope(c, |e| {
                e["payload"] = json!("!!!!");
            }),
            |e| matches!(e, LogError::Envelope(EnvelopeError::PayloadBase64)),
        ),
        (
            "payload base64 with stray bits",
            with_envelope(c, |e| {
                e["payload"] = json!("e31=");
            }),
            |e| matches!(e, LogError::Envelope(EnvelopeError::PayloadBase64)),
        ),
        (
            "payload base64 mixing the standard and URL-safe alphabets",
            with_envelope(c, |e| {
                e["payload"] = json!("e3-+");
            }),
            |e| matches!(e, LogError::Envelope(EnvelopeError::PayloadBase64)),
        ),
        (
            "unknown payload type",
            with_envelope(c, |e| {
                e["payloadType"] = json!("text/plain");
            }),
            |e| matches!(e, LogError::Envelope(EnvelopeError::UnknownPayloadType(_))),
        ),
        (
            "no signatures",
            with_envelope(c, |e| {
                e["signatures"] = json!([]);
            }),
            |e| matches!(e, LogError::Envelope(EnvelopeError::NoSignatures)),
        ),
        (
            "too many signatures",
            with_envelope(c, |e| {
                let s = e["signatures"][0].clone();
                e["signatures"] = json!(vec![s; 17]);
            }),
            |e| matches!(e, LogError::Envelope(EnvelopeError::TooManySignatures)),
        ),
        (
            "no keyid, and no registered key made the signature",
            {
                let body = serde_json::to_vec(&audit_json()).unwrap();
                let mut e: Value = serde_json::from_slice(
                    &vouch::envelope::sign(STATEMENT_TYPE, &body, &[&unknown]).to_json(),
                )
                .unwrap();
                e["signatures"][0]["keyid"] = json!("kiwa-key");
                serde_json::to_vec(&e).unwrap()
            },
            |e| matches!(e, LogError::Envelope(EnvelopeError::NoKeyMadeSignature(0))),
        ),
        (
            "no keyid, and the statement does not parse",
            {
                let mut e = envelope_over(c, b"{\"kind\": \"audit\"}");
                e["signatures"][0].as_object_mut().unwrap().remove("keyid");
                serde_json::to_vec(&e).unwrap()
            },
            |e| matches!(e, LogError::Statement(StatementError::Json(_))),
        ),
        (
            "sig not base64",
            with_envelope(c, |e| {
                e["signatures"][0]["sig"] = json!("%%%");
            }),
            |e| {
                matches!(
                    e,
                    LogError::Envelope(EnvelopeError::BadSignatureEncoding(0))
                )
            },
        ),
        (
            "sig too short",
            with_envelope(c, |e| {
                e["signatures"][0]["sig"] = json!(BASE64.encode([1u8; 32]));
            }),
            |e| {
                matches!(
                    e,
                    LogError::Envelope(EnvelopeError::BadSignatureEncoding(0))
                )
            },
        ),
        (
            "same key twice",
            with_envelope(c, |e| {
                let s = e["signatures"][0].clone();
                e["signatures"] = json!([s.clone(), s]);
            }),
            |e| matches!(e, LogError::Envelope(EnvelopeError::DuplicateKey(_))),
        ),
        (
            "signature does not verify",
            with_envelope(c, |e| {
                let mut sig = BASE64
                    .decode(e["signatures"][0]["sig"].as_str().unwrap())
                    .unwrap();
                sig[5] ^= 1;
                e["signatures"][0]["sig"] = json!(BASE64.encode(sig));
            }),
            |e| matches!(e, LogError::Envelope(EnvelopeError::BadSignature(_))),
        ),
        (
            "signature over another statement",
            with_envelope(c, |e| {
                let other = envelope_over(&Cast::new(), b"{}");
                e["signatures"] = other["signatures"].clone();
            }),
            |e| matches!(e, LogError::Envelope(EnvelopeError::BadSignature(_))),
        ),
        (
            "signed by an unknown key",
            {
                let body = serde_json::to_vec(&audit_json()).unwrap();
                vouch::envelope::sign(STATEMENT_TYPE, &body, &[&unknown]).to_json()
            },
            |e| matches!(e, LogError::Policy(PolicyError::UnknownKey(_))),
        ),
        (
            "envelope over 64 KiB",
            with_envelope(c, |e| {
                e["payload"] = json!("A".repeat(70_000));
            }),
            |e| matches!(e, LogError::Envelope(EnvelopeError::TooLarge)),
        ),
        (
            "statement over 40 KiB",
            with_statement(c, |s| {
                s["findings"][0]["text"] = json!("x".repeat(41 * 1024));
            }),
            |e| matches!(e, LogError::Statement(StatementError::TooLarge(_))),
        ),
        (
            "unknown statement field",
            with_statement(c, |s| {
                s["worker_names"] = json!(["A"]);
            }),
            |e| matches!(e, LogError::Statement(StatementError::Json(_))),
        ),
        (
            "truncated statement",
            envelope_bytes(c, br#"{"kind":"audit","supplier":{"id":"VN2019"#),
            |e| matches!(e, LogError::Statement(StatementError::Json(_))),
        ),
        (
            "bad OS ID",
            with_statement(c, |s| {
                s["supplier"]["id"] = json!("VN-123");
            }),
            |e| matches!(e, LogError::Statement(StatementError::Json(m)) if m.contains("OS ID")),
        ),
        (
            "lower-case OS ID",
            with_statement(c, |s| {
                s["supplier"]["id"] = json!("vn2019303bq3fzp");
            }),
            |e| matches!(e, LogError::Statement(StatementError::Json(m)) if m.contains("OS ID")),
        ),
        (
            "unknown country",
            with_statement(c, |s| {
                s["supplier"]["country"] = json!("XX");
            }),
            |e| invalid(e, "supplier.country"),
        ),
        (
            "unknown kind",
            with_statement(c, |s| {
                s["kind"] = json!("opinion");
            }),
            |e| matches!(e, LogError::Statement(StatementError::Json(_))),
        ),
        (
            "unknown topic",
            with_statement(c, |s| {
                s["topic"] = json!("vibes");
            }),
            |e| matches!(e, LogError::Statement(StatementError::Json(_))),
        ),
        (
            "score out of float range (no NaN in JSON)",
            envelope_bytes(
                c,
                &serde_json::to_vec(&audit_json())
                    .unwrap()
                    .replace_score("1e400"),
            ),
            |e| matches!(e, LogError::Statement(StatementError::Json(_))),
        ),
        (
            "OS ID with a wrong check character",
            with_statement(c, |s| {
                s["supplier"]["id"] = json!("VN2019303BQ3FZP");
            }),
            |e| invalid(e, "supplier.id"),
        ),
        (
            "OS ID on day 366 of a common year",
            with_statement(c, |s| {
                s["supplier"]["id"] = json!("VN2019366BQ3FZ9");
            }),
            |e| invalid(e, "supplier.id"),
        ),
        (
            "OS ID with a letter base32 leaves out",
            with_statement(c, |s| {
                s["supplier"]["id"] = json!("VN2019303BL3FZ9");
            }),
            |e| invalid(e, "supplier.id"),
        ),
        (
            "OS ID in lowercase",
            with_statement(c, |s| {
                s["supplier"]["id"] = json!("vn2019303bq3fz9");
            }),
            |e| matches!(e, LogError::Statement(StatementError::Json(_))),
        ),
        (
            "text whose language is not a BCP 47 tag",
            with_statement(c, |s| {
                s["text"] = json!({"lang": "Vietnamese", "body": "Xin chào"});
            }),
            |e| invalid(e, "text.lang"),
        ),
        (
            "text with an empty body",
            with_statement(c, |s| {
                s["text"] = json!({"lang": "vi", "body": "  "});
            }),
            |e| invalid(e, "text.body"),
        ),
        (
            "text with a control character",
            with_statement(c, |s| {
                s["text"] = json!({"lang": "en", "body": "a\u{7}b"});
            }),
            |e| invalid(e, "text.body"),
        ),
        (
            "text without its language",
            with_statement(c, |s| {
                s["text"] = json!({"body": "no language"});
            }),
            |e| matches!(e, LogError::Statement(StatementError::Json(_))),
        ),
        (
            "action items on an audit",
            with_statement(c, |s| {
                s["actions"] =
                    json!([{"id": "A1", "text": "t", "owner": "o", "due": "2027-01-01"}]);
            }),
            |e| invalid(e, "actions"),
        ),
        (
            "items closed by an audit",
            with_statement(c, |s| {
                s["closes"] = json!(["A1"]);
            }),
            |e| invalid(e, "closes"),
        ),
        (
            "score over 100",
            with_statement(c, |s| {
                s["result"]["score"] = json!(150);
            }),
            |e| invalid(e, "result.score"),
        ),
        (
            "issued_at not UTC",
            with_statement(c, |s| {
                s["issued_at"] = json!("2026-07-14T09:30:00+07:00");
            }),
            |e| invalid(e, "issued_at"),
        ),
        (
            "issued_at not a time",
            with_statement(c, |s| {
                s["issued_at"] = json!("yesterday");
            }),
            |e| invalid(e, "issued_at"),
        ),
        (
            "period from after to",
            with_statement(c, |s| {
                s["period"] = json!({"from": "2026-06-30", "to": "2026-01-01"});
            }),
            |e| invalid(e, "period"),
        ),
        (
            "period not dates",
            with_statement(c, |s| {
                s["period"] = json!({"from": "2026-13-01", "to": "2026-12-31"});
            }),
            |e| invalid(e, "period.from"),
        ),
        (
            "valid_until before issued_at",
            with_statement(c, |s| {
                s["valid_until"] = json!("2020-01-01");
            }),
            |e| invalid(e, "valid_until"),
        ),
        (
            "metric without unit",
            with_statement(c, |s| {
                s["result"]["metrics"] = json!([{"name": "kwh", "value": 1.5, "unit": ""}]);
            }),
            |e| invalid(e, "result.metrics[0].unit"),
        ),
        (
            "evidence hash not hex",
            with_statement(c, |s| {
                s["evidence"] = json!([{"uri": "https://example.org/r.pdf", "sha256": "xyz"}]);
            }),
            |e| invalid(e, "evidence[0].sha256"),
        ),
        (
            "empty supplier name",
            with_statement(c, |s| {
                s["supplier"]["name"] = json!(" ");
            }),
            |e| invalid(e, "supplier.name"),
        ),
        (
            "too many findings",
            with_statement(c, |s| {
                let f = s["findings"][0].clone();
                s["findings"] = json!(vec![f; 101]);
            }),
            |e| invalid(e, "findings"),
        ),
        (
            "metric without metrics",
            with_statement(c, |s| {
                s["kind"] = json!("metric");
                s["result"] = json!({"score": 80});
            }),
            |e| invalid(e, "result.metrics"),
        ),
        (
            "corrective action without refs",
            with_statement(c, |s| {
                s["kind"] = json!("corrective_action");
            }),
            |e| invalid(e, "refs"),
        ),
        (
            "ref hash not base64",
            with_statement(c, |s| {
                s["refs"] = json!([{"index": 1, "leaf_hash": "nope"}]);
            }),
            |e| invalid(e, "refs[0].leaf_hash"),
        ),
        (
            "control character in text",
            with_statement(c, |s| {
                s["findings"][0]["text"] = json!("bell\u{7}");
            }),
            |e| invalid(e, "findings[0].text"),
        ),
    ];
    assert!(cases.len() >= 30);
    let size = ledger.log.head().size();
    let disk = ledger.disk_state();
    let mut messages = std::collections::HashSet::new();
    for (what, bytes, check) in &cases {
        let err = ledger.log.submit_blocking(bytes).expect_err(what);
        assert!(check(&err), "{what}: got {err:?}");
        let message = err.to_string();
        assert!(!message.is_empty());
        messages.insert(message);
        assert_eq!(ledger.log.head().size(), size, "{what}: the tree grew");
    }
    assert!(
        messages.len() >= cases.len() - 4,
        "errors should say what is wrong, each its own way"
    );
    assert_eq!(ledger.disk_state(), disk, "the data directory changed");
    // The good envelope still goes in.
    ledger.log.submit_blocking(&good).unwrap();
}

fn invalid(e: &LogError, field: &str) -> bool {
    matches!(e, LogError::Statement(StatementError::Invalid { field: f, .. }) if f == field)
}

fn envelope_bytes(cast: &Cast, body: &[u8]) -> Vec<u8> {
    serde_json::to_vec(&envelope_over(cast, body)).unwrap()
}

trait ReplaceScore {
    fn replace_score(self, with: &str) -> Vec<u8>;
}

impl ReplaceScore for Vec<u8> {
    fn replace_score(self, with: &str) -> Vec<u8> {
        String::from_utf8(self)
            .unwrap()
            .replace("\"score\":78.0", &format!("\"score\":{with}"))
            .into_bytes()
    }
}

#[test]
fn a_raw_entry_cannot_enter_a_ledger_nor_an_envelope_a_raw_log() {
    let ledger = Ledger::new(1);
    let raw = vouch::log::Submission {
        entry: b"x".to_vec(),
        subject: None,
    };
    assert_eq!(
        ledger.log.append_blocking(raw).unwrap_err(),
        LogError::IsALedger
    );
}
