//! Disputes, as SLCP's verification dispute works: a supplier disputes findings of a
//! record about it within the window governance sets, and the record's signer (or
//! governance) resolves the dispute: the findings upheld, amended or withdrawn. Each
//! transition and the standing it leads to; every bad dispute and resolution refused
//! with its own error, the store as it was.

mod common;

use common::*;
use serde_json::Value;
use time::OffsetDateTime;
use vouch::log::{LogError, Receipt};
use vouch::policy::PolicyError;
use vouch::standing::{standing, DisputeStatus, SupplierStanding};
use vouch::statement::{
    DisputeOutcome, Finding, Kind, RegistryStatement, Severity, Statement, StatementError, Topic,
};
use vouch::verify::{self, Verdict};

fn dispute(of: &Receipt, codes: &[&str]) -> Statement {
    let mut d = statement(Kind::Dispute, FACTORY, "our time records show otherwise");
    d.refs = vec![refer(of)];
    d.disputes = codes.iter().map(|c| (*c).to_owned()).collect();
    d
}

fn resolution(of: &Receipt, outcome: DisputeOutcome, findings: Vec<Finding>) -> Statement {
    let mut r = statement(Kind::Resolution, FACTORY, "reviewed with the time records");
    r.refs = vec![refer(of)];
    r.outcome = Some(outcome);
    r.findings = findings;
    r
}

fn finding(code: &str, text: &str) -> Finding {
    Finding {
        code: code.into(),
        severity: Severity::Major,
        text: text.into(),
    }
}

/// The standing a verified history of FACTORY gives now.
fn standing_now(ledger: &Ledger) -> SupplierStanding {
    let h = ledger.log.view().history(FACTORY, None, 1000).unwrap();
    let now = OffsetDateTime::now_utc();
    let report = verify::verify_history(&h, FACTORY, ledger.cast.log_key.verifier(), now);
    assert_eq!(report.verdict, Verdict::Valid, "{report:#?}");
    assert!(report.entries.iter().all(|e| e.verdict != Verdict::Invalid));
    standing(&report, now).unwrap()
}

fn codes(findings: &[Finding]) -> Vec<(&str, &str)> {
    findings
        .iter()
        .map(|f| (f.code.as_str(), f.text.as_str()))
        .collect()
}

#[test]
fn disputes_run_their_course_and_the_standing_shows_each_state() {
    let ledger = Ledger::new(1);
    let c = &ledger.cast;
    let mut audit = statement(Kind::Audit, FACTORY, "overtime over 300 hours a year");
    audit
        .findings
        .push(finding("T-2", "no rest day in 14 days"));
    let audit = ledger.submit(&audit, &c.auditor).unwrap();

    // Open: the findings stand as recorded meanwhile.
    let first = ledger
        .submit(&dispute(&audit, &["T-1"]), &c.supplier)
        .unwrap();
    let st = standing_now(&ledger);
    let wh = &st.topics[&Topic::WorkingHours];
    assert_eq!(wh.disputes.len(), 1);
    assert_eq!(wh.disputes[0].state, DisputeStatus::Open);
    assert_eq!(wh.disputes[0].record, audit.index);
    assert_eq!(wh.disputes[0].findings, ["T-1"]);
    assert_eq!(st.summary().open_disputes, 1);
    assert_eq!(codes(&wh.audit.as_ref().unwrap().findings).len(), 2);

    // Upheld by the auditor: closed, the findings unchanged.
    let upheld = ledger
        .submit(
            &resolution(&first, DisputeOutcome::Upheld, vec![]),
            &c.auditor,
        )
        .unwrap();
    let st = standing_now(&ledger);
    let wh = &st.topics[&Topic::WorkingHours];
    assert_eq!(wh.disputes[0].state, DisputeStatus::Upheld);
    assert_eq!(wh.disputes[0].resolved_by, Some(upheld.index));
    assert_eq!(st.summary().open_disputes, 0);
    assert_eq!(
        codes(&wh.audit.as_ref().unwrap().findings),
        [
            ("T-1", "overtime over 300 hours a year"),
            ("T-2", "no rest day in 14 days")
        ]
    );

    // Amended by governance: the finding stands as restated.
    let second = ledger
        .submit(&dispute(&audit, &["T-2"]), &c.supplier)
        .unwrap();
    let amended = ledger
        .submit(
            &resolution(
                &second,
                DisputeOutcome::Amended,
                vec![finding("T-2", "one rest day missed in 14 days")],
            ),
            &c.gov[0],
        )
        .unwrap();
    let st = standing_now(&ledger);
    let wh = &st.topics[&Topic::WorkingHours];
    assert_eq!(wh.disputes[1].state, DisputeStatus::Amended);
    assert_eq!(wh.disputes[1].resolved_by, Some(amended.index));
    assert_eq!(
        codes(&wh.audit.as_ref().unwrap().findings),
        [
            ("T-1", "overtime over 300 hours a year"),
            ("T-2", "one rest day missed in 14 days")
        ]
    );

    // Withdrawn, on another topic: the dispute is filed under the disputed record's
    // topic, and the finding no longer counts.
    let mut chemicals = statement(Kind::Audit, FACTORY, "no MRSL inventory");
    chemicals.topic = Topic::Chemicals;
    let chemicals = ledger.submit(&chemicals, &c.auditor).unwrap();
    let third = ledger
        .submit(&dispute(&chemicals, &["T-1"]), &c.supplier)
        .unwrap();
    let withdrawn = ledger
        .submit(
            &resolution(&third, DisputeOutcome::Withdrawn, vec![]),
            &c.auditor,
        )
        .unwrap();
    let st = standing_now(&ledger);
    let ch = &st.topics[&Topic::Chemicals];
    assert_eq!(ch.disputes.len(), 1);
    assert_eq!(ch.disputes[0].state, DisputeStatus::Withdrawn);
    assert!(ch.audit.as_ref().unwrap().findings.is_empty());
    assert_eq!(st.topics[&Topic::WorkingHours].disputes.len(), 2);

    // A resolution retracted by its signer no longer decides the dispute: it is open
    // again, and the finding counts again.
    let mut retraction = statement(Kind::Retraction, FACTORY, "resolved too soon");
    retraction.refs = vec![refer(&withdrawn)];
    ledger.submit(&retraction, &c.auditor).unwrap();
    let st = standing_now(&ledger);
    let ch = &st.topics[&Topic::Chemicals];
    assert_eq!(ch.disputes[0].state, DisputeStatus::Open);
    assert_eq!(ch.audit.as_ref().unwrap().findings.len(), 1);
}

type Check = fn(&LogError) -> bool;

#[test]
fn bad_disputes_and_resolutions_are_refused_and_nothing_changes() {
    let ledger = Ledger::new(1);
    let c = &ledger.cast;
    let audit = ledger
        .submit(&statement(Kind::Audit, FACTORY, "overtime"), &c.auditor)
        .unwrap();
    let own_metric = ledger
        .submit(&statement(Kind::Metric, FACTORY, "own figure"), &c.supplier)
        .unwrap();
    let other = ledger
        .submit(
            &statement(Kind::Audit, OTHER_FACTORY, "elsewhere"),
            &c.auditor,
        )
        .unwrap();
    let open = ledger
        .submit(&dispute(&audit, &["T-1"]), &c.supplier)
        .unwrap();
    let with = |edit: fn(&mut Statement), base: Statement| {
        let mut s = base;
        edit(&mut s);
        s
    };
    let cases: Vec<(&str, Statement, &vouch::note::Signer, Check)> = vec![
        (
            "a dispute by the auditor",
            dispute(&audit, &["T-1"]),
            &c.auditor,
            |e| is_policy(e, |p| matches!(p, PolicyError::WrongRole { .. })),
        ),
        (
            "a dispute by a buyer",
            dispute(&audit, &["T-1"]),
            &c.buyer,
            |e| is_policy(e, |p| matches!(p, PolicyError::WrongRole { .. })),
        ),
        (
            "a dispute of a finding the audit does not have",
            dispute(&audit, &["T-9"]),
            &c.supplier,
            |e| is_policy(e, |p| matches!(p, PolicyError::NotDisputable { .. })),
        ),
        (
            "a dispute of the supplier's own figure",
            dispute(&own_metric, &["T-1"]),
            &c.supplier,
            |e| is_policy(e, |p| matches!(p, PolicyError::NotDisputable { .. })),
        ),
        (
            "a dispute of a dispute",
            dispute(&open, &["T-1"]),
            &c.supplier,
            |e| is_policy(e, |p| matches!(p, PolicyError::NotDisputable { .. })),
        ),
        (
            "a dispute of another factory's audit",
            with(
                |s| s.supplier.id = vouch::statement::SupplierId::new(OTHER_FACTORY).unwrap(),
                dispute(&other, &["T-1"]),
            ),
            &c.supplier,
            |e| is_policy(e, |p| matches!(p, PolicyError::NotOwnSupplier { .. })),
        ),
        (
            "a dispute that does not say why",
            with(|s| s.text = None, dispute(&audit, &["T-1"])),
            &c.supplier,
            |e| is_field(e, "text"),
        ),
        (
            "a dispute that names no finding",
            with(|s| s.disputes.clear(), dispute(&audit, &["T-1"])),
            &c.supplier,
            |e| is_field(e, "disputes"),
        ),
        (
            "a dispute that names a finding twice",
            dispute(&audit, &["T-1", "T-1"]),
            &c.supplier,
            |e| is_field(e, "disputes[1]"),
        ),
        (
            "a dispute of two entries",
            with(
                |s| s.refs.push(s.refs[0].clone()),
                dispute(&audit, &["T-1"]),
            ),
            &c.supplier,
            |e| is_field(e, "refs"),
        ),
        (
            "a dispute with an outcome",
            with(
                |s| s.outcome = Some(DisputeOutcome::Upheld),
                dispute(&audit, &["T-1"]),
            ),
            &c.supplier,
            |e| is_field(e, "outcome"),
        ),
        (
            "a resolution by a buyer",
            resolution(&open, DisputeOutcome::Withdrawn, vec![]),
            &c.buyer,
            |e| is_policy(e, |p| matches!(p, PolicyError::ResolutionNotBySigner(_))),
        ),
        (
            "a resolution by the disputing supplier",
            resolution(&open, DisputeOutcome::Withdrawn, vec![]),
            &c.supplier,
            |e| is_policy(e, |p| matches!(p, PolicyError::ResolutionNotBySigner(_))),
        ),
        (
            "a resolution of an audit",
            resolution(&audit, DisputeOutcome::Upheld, vec![]),
            &c.auditor,
            |e| is_policy(e, |p| matches!(p, PolicyError::NotADispute(_))),
        ),
        (
            "a resolution without an outcome",
            with(
                |s| s.outcome = None,
                resolution(&open, DisputeOutcome::Upheld, vec![]),
            ),
            &c.auditor,
            |e| is_field(e, "outcome"),
        ),
        (
            "an amendment that restates no finding",
            resolution(&open, DisputeOutcome::Amended, vec![]),
            &c.auditor,
            |e| is_field(e, "findings"),
        ),
        (
            "an upheld outcome that restates a finding",
            resolution(&open, DisputeOutcome::Upheld, vec![finding("T-1", "x")]),
            &c.auditor,
            |e| is_field(e, "findings"),
        ),
        (
            "a resolution that names disputed findings",
            with(
                |s| s.disputes = vec!["T-1".into()],
                resolution(&open, DisputeOutcome::Upheld, vec![]),
            ),
            &c.auditor,
            |e| is_field(e, "disputes"),
        ),
        (
            "an audit with an outcome",
            with(
                |s| s.outcome = Some(DisputeOutcome::Upheld),
                statement(Kind::Audit, FACTORY, "x"),
            ),
            &c.auditor,
            |e| is_field(e, "outcome"),
        ),
    ];
    let disk = ledger.disk_state();
    let size = ledger.log.head().size();
    for (name, s, signer, check) in cases {
        let e = ledger.submit(&s, signer).expect_err(name);
        assert!(check(&e), "{name}: {e:?}");
        assert!(!e.to_string().is_empty());
    }
    assert_eq!(ledger.log.head().size(), size);
    assert_eq!(ledger.disk_state(), disk);

    // Over HTTP, a 4xx problem that says what is wrong; the store as it was.
    let url = serve(ledger.log.clone());
    let post = |body: Vec<u8>| post_attestation(&url, body);
    for (s, signer, status, says) in [
        (
            dispute(&audit, &["T-9"]),
            &c.supplier,
            403,
            "has no finding T-9",
        ),
        (
            resolution(&open, DisputeOutcome::Upheld, vec![]),
            &c.buyer,
            403,
            "can only be resolved by the signer of the disputed entry or by governance",
        ),
        (
            with(|s| s.text = None, dispute(&audit, &["T-1"])),
            &c.supplier,
            422,
            "a dispute says why",
        ),
    ] {
        assert_problem(post(sign_statement(&s, signer)), status, says);
    }
    assert_eq!(ledger.disk_state(), disk);
}

#[test]
fn governance_sets_the_dispute_window_from_its_position_on() {
    let ledger = Ledger::new(2);
    assert_eq!(
        ledger.log.registry().unwrap().dispute_window(),
        time::Duration::days(30)
    );
    let disk = ledger.disk_state();
    for days in [0, 367] {
        let e = ledger
            .registry(&RegistryStatement::SetDisputeWindow {
                days,
                issued_at: now(),
            })
            .unwrap_err();
        assert!(
            matches!(&e, LogError::Statement(StatementError::Invalid { field, .. }) if field == "days"),
            "{e:?}"
        );
    }
    // One governance signature of the two needed is not enough.
    let one = sign_registry(
        &RegistryStatement::SetDisputeWindow {
            days: 60,
            issued_at: now(),
        },
        &[&ledger.cast.gov[0]],
    );
    let e = ledger.log.submit_blocking(&one).unwrap_err();
    assert!(
        matches!(e, LogError::Policy(PolicyError::NotEnoughGovernance { .. })),
        "{e:?}"
    );
    assert_eq!(ledger.disk_state(), disk);
    let set = ledger
        .registry(&RegistryStatement::SetDisputeWindow {
            days: 60,
            issued_at: now(),
        })
        .unwrap();
    assert_eq!(
        ledger.log.registry().unwrap().dispute_window(),
        time::Duration::days(60)
    );
    // Filed in the governance chain, which every checkpoint names; the history with a
    // dispute under the new window verifies.
    let audit = ledger
        .submit(&statement(Kind::Audit, FACTORY, "a"), &ledger.cast.auditor)
        .unwrap();
    assert!(audit.index > set.index);
    ledger
        .submit(&dispute(&audit, &["T-1"]), &ledger.cast.supplier)
        .unwrap();
    standing_now(&ledger);
}

#[test]
fn the_dispute_window_is_measured_from_the_disputed_entry_logged_at() {
    use vouch::policy::{dispute_problem, RefTarget};
    let d = {
        let mut d = statement(Kind::Dispute, FACTORY, "why");
        d.disputes = vec!["T-1".into()];
        d
    };
    let target = |logged_at: &str| {
        RefTarget::of(
            7,
            FACTORY.into(),
            vec!["kiwa".into()],
            logged_at.into(),
            Some(&statement(Kind::Audit, FACTORY, "a")),
            &[],
        )
    };
    let at = |t: &str| vouch::statement::parse_utc("t", t).unwrap();
    let window = time::Duration::days(30);
    let signers = ["songhong".to_owned()];
    // To the millisecond: 30 days after is in time, a millisecond later is not.
    assert!(dispute_problem(
        &d,
        &signers,
        &target("2026-10-01T00:00:00.000Z"),
        at("2026-10-31T00:00:00.000Z"),
        window
    )
    .is_none());
    let late = dispute_problem(
        &d,
        &signers,
        &target("2026-10-01T00:00:00.000Z"),
        at("2026-10-31T00:00:00.001Z"),
        window,
    )
    .unwrap();
    assert!(
        matches!(late, PolicyError::DisputeWindowClosed { days: 30, .. }),
        "{late:?}"
    );
    assert!(late.to_string().contains("30-day window"), "{late}");
}

/// As a factory and its auditor do it from the command line, against a running server:
/// the dispute refers to the audit by its index alone (its leaf hash looked up), the
/// auditor resolves it, and `vouch standing`, which verifies the history itself, says
/// where it stands; a governance member changes the window while the server runs.
#[test]
fn a_dispute_from_the_command_line() {
    let ledger = Ledger::new(1);
    let c = &ledger.cast;
    let audit = ledger
        .submit(&statement(Kind::Audit, FACTORY, "overtime"), &c.auditor)
        .unwrap();
    let url = serve(ledger.log.clone());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let keys = d.join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    for (name, signer) in [
        ("songhong", &c.supplier),
        ("kiwa", &c.auditor),
        ("platform-a", &c.gov[0]),
        ("log", &c.log_key),
    ] {
        vouch::keyfile::write_pair(
            signer,
            &keys.join(format!("{name}.key")),
            &keys.join(format!("{name}.pub")),
        )
        .unwrap();
    }
    let attest = |key: &str, kind: &str, r: u64, extra: &[&str], out: &str| {
        let index = r.to_string();
        let mut args = vec![
            "attest",
            "--key",
            key,
            "--kind",
            kind,
            "--supplier-id",
            FACTORY,
            "--supplier-name",
            "Song Hong Garment JSC",
            "--topic",
            "working_hours",
            "--ref",
            &index,
            "--url",
            &url,
            "--out",
            out,
        ];
        args.extend_from_slice(extra);
        ok(&vouch(d, &args));
        let receipt: Value =
            serde_json::from_str(&ok(&vouch(d, &["submit", out, "--url", &url]))).unwrap();
        receipt["index"].as_u64().unwrap()
    };
    let dispute = attest(
        "keys/songhong.key",
        "dispute",
        audit.index,
        &[
            "--disputes",
            "T-1",
            "--text",
            "Chỉ 9 công nhân",
            "--lang",
            "vi",
        ],
        "dispute.json",
    );
    let standing = |d: &std::path::Path| {
        ok(&vouch(
            d,
            &[
                "standing",
                FACTORY,
                "--url",
                &url,
                "--log-key",
                "keys/log.pub",
            ],
        ))
    };
    let open = standing(d);
    assert!(
        open.contains(&format!(
            "supplier's dispute: entry {dispute} of entry {}'s findings T-1: open, awaiting resolution",
            audit.index
        )),
        "{open}"
    );
    let resolved = attest(
        "keys/kiwa.key",
        "resolution",
        dispute,
        &[
            "--outcome",
            "withdrawn",
            "--text",
            "The records bear it out",
        ],
        "resolution.json",
    );
    let after = standing(d);
    assert!(
        after.contains(&format!(
            "the findings were withdrawn (resolved by entry {resolved})"
        )),
        "{after}"
    );
    // Without --url, a bare index is refused with what to do.
    let err = fails(&vouch(
        d,
        &[
            "attest",
            "--key",
            "keys/songhong.key",
            "--kind",
            "dispute",
            "--supplier-id",
            FACTORY,
            "--supplier-name",
            "S",
            "--ref",
            "3",
            "--disputes",
            "T-1",
            "--text",
            "x",
        ],
    ));
    assert!(err.contains("add --url"), "{err}");
    // A bad window is refused before anything is sent; a good one takes effect.
    let err = fails(&vouch(
        d,
        &[
            "participant",
            "set-dispute-window",
            "--gov-key",
            "keys/platform-a.key",
            "--days",
            "0",
            "--url",
            &url,
        ],
    ));
    assert!(err.contains("days"), "{err}");
    ok(&vouch(
        d,
        &[
            "participant",
            "set-dispute-window",
            "--gov-key",
            "keys/platform-a.key",
            "--days",
            "45",
            "--url",
            &url,
        ],
    ));
    assert_eq!(
        ledger.log.registry().unwrap().dispute_window(),
        time::Duration::days(45)
    );
}
