//! Records as UNTP conformity attestations: every record of the demo ledger, rendered
//! by `vouch export --untp` (and `GET /v1/export?format=untp`), validates against the
//! UNTP `ConformityAttestation` schema of uncefact/spec-untp (a copy in
//! `tests/untp/`, checked with the `jsonschema` crate) and carries the statement as
//! signed, so nothing is lost; version 1 and version 2 statements stand in one history.

mod common;

use std::sync::Arc;

use base64::Engine as _;
use common::*;
use serde_json::Value;
use time::OffsetDateTime;
use vouch::log::{Format, Log, LogConfig};
use vouch::note::BASE64;
use vouch::statement::{
    AssessmentLevel, AssessorLevel, AttestationType, Criterion, Kind, Party, Scheme, Statement,
};
use vouch::store::{SledOptions, SledStore, Store};
use vouch::verify::{self, Verdict};

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/untp/conformity-attestation-schema.json"
    ))
    .unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

fn assert_valid(v: &jsonschema::Validator, rendering: &Value) {
    let errors: Vec<String> = v
        .iter_errors(rendering)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{rendering:#}");
}

/// The statement entry `index` of `log` holds, as signed.
fn signed_statement(log: &Log, index: u64) -> Statement {
    let p = log.view().proven_entries(&[index]).unwrap().remove(0);
    let entry = vouch::entry::Entry::parse(&BASE64.decode(&p.entry).unwrap()).unwrap();
    Statement::parse(&BASE64.decode(&entry.envelope.payload).unwrap()).unwrap()
}

#[test]
fn every_demo_record_renders_as_a_valid_untp_attestation_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Arc::new(SledStore::open(&dir.path().join("data"), &SledOptions::default()).unwrap());
    let key = vouch::cli::demo::prepare(store.clone(), &dir.path().join("keys")).unwrap();
    let log =
        Arc::new(Log::open(store as Arc<dyn Store>, Some(key), LogConfig::default()).unwrap());
    let mut out = Vec::new();
    let rows = log
        .view()
        .export(Format::Untp, OffsetDateTime::now_utc(), &mut out)
        .unwrap();
    let lines: Vec<Value> = out
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines.len() as u64, rows);
    assert!(rows > 400, "every record of the demo: {rows}");
    let v = validator();
    let mut kinds = std::collections::HashSet::new();
    for r in &lines {
        assert_valid(&v, r);
        let index = r["vouch:record"]["index"].as_u64().unwrap();
        let signed = signed_statement(&log, index);
        // Nothing lost: the statement as signed comes back out.
        assert_eq!(vouch::untp::statement_of(r).as_ref(), Some(&signed));
        kinds.insert(signed.kind);
        // UNTP's own fields say what the record says.
        let a = &r["assessment"][0];
        assert_eq!(
            a["conformityTopic"],
            vouch::untp::conformity_topic(signed.topic)
        );
        let figures = signed.result.iter().flat_map(|o| &o.metrics).count();
        assert_eq!(
            a["declaredValue"].as_array().map_or(0, Vec::len),
            figures,
            "{r:#}"
        );
        assert_eq!(
            r["id"],
            format!("urn:vouch:demo.vouch.example:vn-apparel:record:{index}")
        );
    }
    // Every kind the demo writes, buyers' and facilities' included.
    for k in [
        Kind::Audit,
        Kind::Metric,
        Kind::CorrectiveAction,
        Kind::Remediation,
        Kind::Rating,
        Kind::Response,
        Kind::Correction,
        Kind::Retraction,
        Kind::Incentive,
        Kind::Dispute,
        Kind::Resolution,
        Kind::PurchasingPractice,
        Kind::Profile,
        Kind::Alias,
    ] {
        assert!(kinds.contains(&k), "the demo renders no {k}");
    }
    // An auditor's audit: inspected by an accredited third party, with its figures in
    // Rec 20 units.
    let audit = lines
        .iter()
        .find(|r| {
            vouch::untp::statement_of(r).is_some_and(|s| {
                s.kind == Kind::Audit && s.result.as_ref().is_some_and(|o| !o.metrics.is_empty())
            })
        })
        .unwrap();
    assert_eq!(audit["assessorLevel"], "3rdParty");
    assert_eq!(audit["assessmentLevel"], "Accredited");
    assert_eq!(audit["attestationType"], "inspection");
    assert_eq!(
        audit["authorisation"][0]["issuingAuthority"]["name"],
        "APSCA"
    );
    assert!(audit["issuedToParty"]["id"]
        .as_str()
        .unwrap()
        .starts_with("https://opensupplyhub.org/facilities/VN"));
}

fn v2_audit() -> Statement {
    let mut s = statement(Kind::Audit, FACTORY, "overtime over the legal limit");
    s.v = Some(2);
    s.assessor_level = Some(AssessorLevel::ThirdParty);
    s.assessment_level = Some(AssessmentLevel::Accredited);
    s.attestation_type = Some(AttestationType::Inspection);
    s.scheme = Some(Scheme {
        id: "https://slcp.org/caf".into(),
        name: "SLCP Converged Assessment Framework".into(),
        description: "Social and labour converged assessment".into(),
        version: "1.7".into(),
        valid_from: "2025-01-01".into(),
        owner: Party {
            id: "https://slcp.org".into(),
            name: "Social & Labor Convergence Program".into(),
        },
    });
    s.criteria = vec![Criterion {
        id: "SLCP-WH-12".into(),
        name: "Overtime within the legal limit".into(),
        description: None,
        conformance: Some(false),
    }];
    s.result.as_mut().unwrap().metrics = vec![vouch::statement::Metric {
        name: "overtime_hours_per_week_p90".into(),
        value: 14.0,
        unit: "h".into(),
        unit_code: Some("HUR".into()),
    }];
    s
}

#[test]
fn version_1_and_version_2_statements_stand_in_one_history() {
    let ledger = Ledger::new(1);
    let c = &ledger.cast;
    let v1 = ledger
        .submit(&statement(Kind::Audit, FACTORY, "version 1"), &c.auditor)
        .unwrap();
    let v2 = ledger.submit(&v2_audit(), &c.auditor).unwrap();
    let h = ledger.log.view().history(FACTORY, None, 100).unwrap();
    let report =
        verify::verify_history(&h, FACTORY, c.log_key.verifier(), OffsetDateTime::now_utc());
    assert_eq!(report.verdict, Verdict::Valid, "{report:#?}");
    assert!(report.entries.iter().all(|e| e.verdict == Verdict::Valid));
    let mut out = Vec::new();
    ledger
        .log
        .view()
        .export(Format::Untp, OffsetDateTime::now_utc(), &mut out)
        .unwrap();
    let v = validator();
    let lines: Vec<Value> = out
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    for r in &lines {
        assert_valid(&v, r);
    }
    let at = |i: u64| {
        lines
            .iter()
            .find(|r| r["vouch:record"]["index"] == i)
            .unwrap()
    };
    let new = at(v2.index);
    assert_eq!(new["scope"]["version"], "1.7");
    assert_eq!(
        new["scope"]["owner"]["name"],
        "Social & Labor Convergence Program"
    );
    assert_eq!(
        new["assessment"][0]["assessmentCriteria"][0]["id"],
        "urn:vouch:test.example:ledger:criterion:SLCP-WH-12"
    );
    assert_eq!(
        new["assessment"][0]["declaredValue"][0]["metricValue"]["unit"],
        "HUR"
    );
    assert_eq!(new["assessment"][0]["conformance"], false);
    let old = at(v1.index);
    assert!(old.get("scope").is_none());
    assert_eq!(vouch::untp::statement_of(old).unwrap().v, None);
}

#[test]
fn bad_version_2_fields_are_refused_and_nothing_changes() {
    let ledger = Ledger::new(1);
    let c = &ledger.cast;
    let disk = ledger.disk_state();
    let cases: Vec<(&str, Statement, &str)> = vec![
        (
            "a version 2 field without \"v\": 2",
            Statement {
                v: None,
                ..v2_audit()
            },
            "assessor_level",
        ),
        (
            "version 3",
            Statement {
                v: Some(3),
                ..v2_audit()
            },
            "v",
        ),
        (
            "a unit code in lowercase",
            {
                let mut s = v2_audit();
                s.result.as_mut().unwrap().metrics[0].unit_code = Some("hur".into());
                s
            },
            "result.metrics[0].unit_code",
        ),
        (
            "a scheme id that is no URI",
            {
                let mut s = v2_audit();
                s.scheme.as_mut().unwrap().id = "SLCP CAF".into();
                s
            },
            "scheme.id",
        ),
        (
            "a scheme valid from no date",
            {
                let mut s = v2_audit();
                s.scheme.as_mut().unwrap().valid_from = "2025-13-01".into();
                s
            },
            "scheme.valid_from",
        ),
        (
            "a criterion with no name",
            {
                let mut s = v2_audit();
                s.criteria[0].name = " ".into();
                s
            },
            "criteria[0].name",
        ),
    ];
    for (name, s, field) in cases {
        let e = ledger.submit(&s, &c.auditor).expect_err(name);
        assert!(is_field(&e, field), "{name}: {e:?}");
    }
    assert_eq!(ledger.disk_state(), disk);

    // Over HTTP: a 422 problem naming the field; the export in UNTP form.
    let url = serve(ledger.log.clone());
    assert_problem(
        post_attestation(
            &url,
            sign_statement(
                &Statement {
                    v: None,
                    ..v2_audit()
                },
                &c.auditor,
            ),
        ),
        422,
        "version 2 field",
    );
    assert_eq!(ledger.disk_state(), disk);
    ledger.submit(&v2_audit(), &c.auditor).unwrap();
    let (status, kind, body) = get(&format!("{url}/v1/export?format=untp"));
    assert_eq!((status, kind.as_str()), (200, "application/x-ndjson"));
    let v = validator();
    for line in body.lines() {
        assert_valid(&v, &serde_json::from_str(line).unwrap());
    }
    let (status, _, body) = get(&format!("{url}/v1/export?format=xml"));
    assert_eq!(status, 400, "{body}");
    // `vouch export --untp` writes the same lines.
    let dir = tempfile::tempdir().unwrap();
    let cli = ok(&vouch(dir.path(), &["export", "--url", &url, "--untp"]));
    let (_, _, served) = get(&format!("{url}/v1/export?format=untp"));
    assert_eq!(cli, served);
}
