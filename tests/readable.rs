//! Histories a person can read and use: the supplier directory, standing, open data
//! export; and every new route refusing bad input with a problem, changing nothing.

mod common;

use common::*;
use serde_json::Value;
use time::OffsetDateTime;
use vouch::standing::{self, Query};
use vouch::statement::{Kind, Topic};
use vouch::verify::{self, Verdict};

/// A factory with an audit later corrected, a plan closed by a remediation, another
/// plan still open, a self-reported metric and a reply; a second factory with one audit.
fn ledger() -> Ledger {
    let l = Ledger::new(1);
    let c = &l.cast;
    let audit = l
        .submit(&statement(Kind::Audit, FACTORY, "first audit"), &c.auditor)
        .unwrap();
    let mut fixed = statement(Kind::Correction, FACTORY, "corrected audit");
    fixed.result = Some(vouch::statement::Outcome {
        status: Some(vouch::statement::Status::Conformant),
        score: Some(91.0),
        ..Default::default()
    });
    fixed.refs = vec![refer(&audit)];
    l.submit(&fixed, &c.auditor).unwrap();
    let mut plan = statement(Kind::CorrectiveAction, FACTORY, "plan A");
    plan.refs = vec![refer(&audit)];
    let plan_a = l.submit(&plan, &c.auditor).unwrap();
    let mut plan = statement(Kind::CorrectiveAction, FACTORY, "plan B");
    plan.refs = vec![refer(&audit)];
    let plan_b = l.submit(&plan, &c.auditor).unwrap();
    let mut done = statement(Kind::Remediation, FACTORY, "plan A done");
    done.refs = vec![refer(&plan_a)];
    l.submit(&done, &c.auditor).unwrap();
    l.submit(&statement(Kind::Metric, FACTORY, "own water"), &c.supplier)
        .unwrap();
    let mut reply = statement(Kind::Response, FACTORY, "we disagree");
    reply.refs = vec![refer(&plan_b)];
    l.submit(&reply, &c.supplier).unwrap();
    l.submit(&statement(Kind::Audit, OTHER_FACTORY, "other"), &c.auditor)
        .unwrap();
    l
}

#[test]
fn standing_takes_the_corrected_audit_open_plans_and_marks_self_reported_figures() {
    let l = ledger();
    let url = serve(l.log.clone());
    let history = vouch::client::fetch_history(&url, FACTORY).unwrap();
    let now = OffsetDateTime::now_utc();
    let report = verify::verify_history(&history, FACTORY, l.cast.log_key.verifier(), now);
    assert_eq!(report.verdict, Verdict::Valid, "{:#?}", report.checks);
    let st = standing::standing(&report, now).unwrap();
    let hours = &st.topics[&Topic::WorkingHours];
    let audit = hours.audit.as_ref().unwrap();
    // The correction counts as the audit it replaces, with its own result.
    assert_eq!(audit.kind, Kind::Audit);
    assert_eq!(audit.score, Some(91.0));
    assert_eq!(st.left_out.superseded, 1);
    assert_eq!(hours.open_corrective_actions.len(), 1);
    assert_eq!(
        hours.open_corrective_actions[0].plan.kind,
        Kind::CorrectiveAction
    );
    assert_eq!(hours.remediations.len(), 1);
    assert_eq!(hours.replies.len(), 1);
    assert!(hours.metrics.iter().all(|m| m.self_reported));
    // "The latest valid audit on working hours" is the correction.
    let newest = standing::newest(
        &report,
        &Query {
            kind: Some(Kind::Audit),
            topic: Some(Topic::WorkingHours),
            framework: None,
        },
    )
    .unwrap();
    assert_eq!(newest.statement.as_ref().unwrap().kind, Kind::Correction);
    // The server's standing is the same, and comes with the history to recompute it.
    let (status, _, body) = get(&format!("{url}/v1/suppliers/{FACTORY}/standing"));
    assert_eq!(status, 200, "{body}");
    let served: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(served["standing"], serde_json::to_value(&st).unwrap());
    let again: vouch::bundle::History =
        serde_json::from_str(&served["history"].to_string()).unwrap();
    let recomputed = standing::standing(
        &verify::verify_history(&again, FACTORY, l.cast.log_key.verifier(), now),
        now,
    )
    .unwrap();
    assert_eq!(recomputed, st);
    let (_, _, body) = get(&format!(
        "{url}/v1/suppliers/{FACTORY}/standing?topic=water"
    ));
    let only: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(only["standing"]["topics"].as_object().unwrap().len(), 0);
}

#[test]
fn the_directory_lists_and_searches_suppliers_page_by_page() {
    let l = ledger();
    let url = serve(l.log.clone());
    let (status, _, body) = get(&format!("{url}/v1/suppliers"));
    assert_eq!(status, 200);
    let page: vouch::log::SupplierPage = serde_json::from_str(&body).unwrap();
    assert_eq!(page.total, 2);
    let ids: Vec<&str> = page.suppliers.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, [FACTORY, OTHER_FACTORY]);
    assert_eq!(page.suppliers[0].records, 7);
    assert_eq!(page.suppliers[0].name, "Song Hong Garment JSC");
    // Each supplier's standing in brief is what its standing route says.
    for s in &page.suppliers {
        let (_, _, body) = get(&format!("{url}/v1/suppliers/{}/standing", s.id));
        let full: Value = serde_json::from_str(&body).unwrap();
        let full: vouch::standing::SupplierStanding =
            serde_json::from_value(full["standing"].clone()).unwrap();
        assert_eq!(s.standing.as_ref(), Some(&full.summary()), "{}", s.id);
    }
    let brief = page.suppliers[0].standing.as_ref().unwrap();
    assert!(!brief.topics.is_empty());
    let (_, _, body) = get(&format!("{url}/v1/suppliers?limit=1"));
    let first: vouch::log::SupplierPage = serde_json::from_str(&body).unwrap();
    assert_eq!(first.next_after.as_deref(), Some(FACTORY));
    let (_, _, body) = get(&format!("{url}/v1/suppliers?limit=1&after={FACTORY}"));
    let second: vouch::log::SupplierPage = serde_json::from_str(&body).unwrap();
    assert_eq!(second.suppliers[0].id, OTHER_FACTORY);
    assert_eq!(second.next_after, None);
    for (q, n) in [("song%20HONG", 2), ("VN2024", 1), ("nobody", 0)] {
        let (_, _, body) = get(&format!("{url}/v1/suppliers?q={q}"));
        let p: vouch::log::SupplierPage = serde_json::from_str(&body).unwrap();
        assert_eq!(p.total, n, "{q}");
    }
    // A new record moves the directory on.
    l.submit(
        &statement(Kind::Audit, OTHER_FACTORY, "again"),
        &l.cast.auditor,
    )
    .unwrap();
    let (_, _, body) = get(&format!("{url}/v1/suppliers?q=VN2024"));
    let p: vouch::log::SupplierPage = serde_json::from_str(&body).unwrap();
    assert_eq!(p.suppliers[0].records, 2);
    let brief = p.suppliers[0].standing.as_ref().unwrap();
    let (_, _, body) = get(&format!("{url}/v1/suppliers/{OTHER_FACTORY}/standing"));
    let full: Value = serde_json::from_str(&body).unwrap();
    let full: vouch::standing::SupplierStanding =
        serde_json::from_value(full["standing"].clone()).unwrap();
    assert_eq!(*brief, full.summary(), "the brief follows the new record");
}

#[test]
fn the_export_has_one_row_per_record_with_its_verdict_in_jsonl_and_csv() {
    let l = ledger();
    let url = serve(l.log.clone());
    let (status, ctype, body) = get(&format!("{url}/v1/export"));
    assert_eq!(status, 200);
    assert_eq!(ctype, "application/x-ndjson");
    let rows: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 8, "every attestation, no registry entry");
    let first = &rows[0];
    assert_eq!(first["kind"], "audit");
    assert_eq!(first["verdict"], "superseded");
    assert_eq!(first["signers"], serde_json::json!(["kiwa"]));
    assert_eq!(first["supplier"], FACTORY);
    // Each row's leaf hash is the log's.
    for r in &rows {
        let index = r["index"].as_u64().unwrap();
        assert_eq!(
            r["leaf_hash"],
            vouch::entry::encode_hash(&l.log.view().leaf_hash(index).unwrap())
        );
    }
    let metric = rows.iter().find(|r| r["kind"] == "metric").unwrap();
    assert_eq!(metric["self_reported"], true);
    assert_eq!(metric["metrics"][0]["unit"], "m3");
    let (status, ctype, csv) = get(&format!("{url}/v1/export?format=csv"));
    assert_eq!(status, 200);
    assert!(ctype.starts_with("text/csv"));
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().unwrap().clone();
    assert_eq!(&header[0], "index");
    assert_eq!(&header[17], "verdict");
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 8);
    assert_eq!(&records[0][17], "superseded");
    assert_eq!(&records[5][13], "water_m3_per_1000_pieces=41.5 m3");
}

#[test]
fn new_routes_refuse_bad_input_with_a_problem_and_change_nothing() {
    let l = ledger();
    let url = serve(l.log.clone());
    let size = l.log.head().size();
    let disk = l.disk_state();
    for (path, status) in [
        ("/v1/suppliers/VN-1/history", 400),
        ("/v1/suppliers/VN0000000XXXXXX/history?topic=wages", 400),
        ("/v1/suppliers/VN0000000XXXXXX/history?limit=0", 400),
        ("/v1/suppliers/VN0000000XXXXXX/history?limit=501", 400),
        ("/v1/suppliers/VN0000000XXXXXX/history?limit=x", 400),
        ("/v1/suppliers/VN0000000XXXXXX/history?before=-1", 400),
        ("/v1/suppliers/VN0000000XXXXXX/history?size=99999", 404),
        ("/v1/suppliers/VN-1/standing", 400),
        (
            "/v1/suppliers/VN0000000XXXXXX/standing?topic=happiness",
            400,
        ),
        ("/v1/suppliers/VN0000000XXXXXX/standing?kind=audit", 400),
        ("/v1/suppliers?limit=100000", 400),
        ("/v1/suppliers?country=Vietnam", 400),
        ("/v1/suppliers?after=someone", 400),
        ("/v1/suppliers?q=", 400),
        ("/v1/suppliers?sort=name", 400),
        ("/v1/export?format=xlsx", 400),
        ("/v1/export?format=csv&format=jsonl", 400),
    ] {
        let (got, ctype, body) = get(&format!("{url}{path}"));
        assert_eq!(got, status, "{path}: {body}");
        assert_eq!(ctype, "application/problem+json", "{path}");
        let p: Value = serde_json::from_str(&body).unwrap();
        assert!(
            !p["detail"].as_str().unwrap_or("").is_empty(),
            "{path}: {p}"
        );
    }
    assert_eq!(l.log.head().size(), size);
    assert_eq!(l.disk_state(), disk, "bad input changed the data directory");
}

#[test]
fn a_standing_follows_the_registry_the_same_day() {
    // The server keeps a supplier's standing while nothing it was drawn from changes:
    // a key revoked as compromised must change it at once, though the supplier's own
    // chain did not move.
    let l = Ledger::new(1);
    let c = &l.cast;
    let audit = l
        .submit(&statement(Kind::Audit, FACTORY, "audit"), &c.auditor)
        .unwrap();
    let url = serve(l.log.clone());
    let standing = |url: &str| -> Value {
        let (status, _, body) = get(&format!("{url}/v1/suppliers/{FACTORY}/standing"));
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<Value>(&body).unwrap()["standing"].clone()
    };
    let before = standing(&url);
    assert_eq!(before["left_out"]["suspect"], 0);
    assert!(
        before["topics"]["working_hours"]["audit"].is_object(),
        "{before}"
    );
    l.registry(&vouch::statement::RegistryStatement::RevokeKey {
        participant: "kiwa".into(),
        key_id: format!("{:08x}", c.auditor.verifier().key_id()),
        compromised_since: Some(vouch::statement::Since::Index(audit.index)),
        issued_at: now(),
    })
    .unwrap();
    let after = standing(&url);
    assert_eq!(after["left_out"]["suspect"], 1, "{after}");
    assert!(
        after["topics"]["working_hours"]["audit"].is_null(),
        "{after}"
    );
}

/// A statement's own words show with their language, in both languages of the explorer.
#[test]
fn a_statements_text_is_shown_with_its_language() {
    let mut s = statement(Kind::Response, FACTORY, "reply");
    s.text = Some(vouch::statement::StatementText {
        lang: "vi".into(),
        body: "Ca làm việc thứ hai bắt đầu từ tháng sau.".into(),
    });
    let en = vouch::words::describe(&s).join("\n");
    assert!(
        en.contains("In the signer's words (vi): Ca làm việc thứ hai bắt đầu từ tháng sau."),
        "{en}"
    );
    let vi = vouch::words::describe_in(&s, vouch::words::Lang::Vi).join("\n");
    assert!(vi.contains("Lời của người ký (vi)"), "{vi}");
}

fn item(id: &str, due: &str) -> vouch::statement::ActionItem {
    vouch::statement::ActionItem {
        id: id.into(),
        text: format!("do {id}"),
        owner: "HR manager".into(),
        due: due.into(),
    }
}

/// A corrective action plan's items: open until due, overdue after, closed by a
/// remediation that names them; the plan closes once every item is closed.
#[test]
fn corrective_action_items_are_open_overdue_or_closed() {
    use vouch::standing::ItemStatus;
    let l = Ledger::new(1);
    let c = &l.cast;
    let audit = l
        .submit(&statement(Kind::Audit, FACTORY, "audit"), &c.auditor)
        .unwrap();
    let mut plan = statement(Kind::CorrectiveAction, FACTORY, "plan");
    plan.refs = vec![refer(&audit)];
    plan.actions = vec![
        item("OT-1", "2020-01-31"),
        item("OT-2", "2999-12-31"),
        item("OT-3", "2020-02-29"),
    ];
    let plan = l.submit(&plan, &c.auditor).unwrap();
    let mut fix = statement(Kind::Remediation, FACTORY, "OT-3 done");
    fix.refs = vec![refer(&plan)];
    fix.closes = vec!["OT-3".into()];
    let fix = l.submit(&fix, &c.auditor).unwrap();
    let standing = |l: &Ledger| {
        let h = l.log.view().history(FACTORY, None, 100).unwrap();
        let now = OffsetDateTime::now_utc();
        let r = verify::verify_history(&h, FACTORY, l.cast.log_key.verifier(), now);
        standing::standing(&r, now).unwrap()
    };
    let st = standing(&l);
    let t = &st.topics[&Topic::WorkingHours];
    let [open] = &t.open_corrective_actions[..] else {
        panic!("one open plan: {t:?}")
    };
    let states: Vec<(&str, ItemStatus, Option<u64>)> = open
        .items
        .iter()
        .map(|i| (i.id.as_str(), i.state, i.closed_by))
        .collect();
    assert_eq!(
        states,
        [
            ("OT-1", ItemStatus::Overdue, None),
            ("OT-2", ItemStatus::Open, None),
            ("OT-3", ItemStatus::Closed, Some(fix.index)),
        ]
    );
    assert_eq!(open.overdue(), 1);
    // The words say who does what by when.
    let described = vouch::words::describe(
        &l.log.view().proven_entries(&[plan.index]).unwrap()[0]
            .decoded
            .as_ref()
            .map(|d| vouch::statement::Statement::parse(d.statement.get().as_bytes()).unwrap())
            .unwrap(),
    )
    .join("\n");
    assert!(
        described.contains("Action OT-1 (owner HR manager, due 2020-01-31): do OT-1"),
        "{described}"
    );
    // Closing the other two closes the plan.
    let mut rest = statement(Kind::Remediation, FACTORY, "the rest done");
    rest.refs = vec![refer(&plan)];
    rest.closes = vec!["OT-1".into(), "OT-2".into()];
    l.submit(&rest, &c.auditor).unwrap();
    let st = standing(&l);
    let t = &st.topics[&Topic::WorkingHours];
    assert!(t.open_corrective_actions.is_empty(), "{t:?}");
    assert_eq!(t.remediations.len(), 2);
}
