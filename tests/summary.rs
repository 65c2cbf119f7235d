//! The summary for lenders: drawn from the verified history, the same from the server
//! (`GET /v1/suppliers/{id}/summary`, the printable page) and from `vouch summary`,
//! which draws it again from the history it verified itself; bad input is a problem
//! and changes nothing.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;
use time::OffsetDateTime;
use vouch::statement::{Kind, Metric, Outcome, Topic};
use vouch::verify;

/// An audit later corrected, one plan closed and one open, water figures from 50 down
/// to 41.5 (the newest reported by the factory), and a buyer's rating.
fn ledger() -> (Ledger, Vec<u64>) {
    let l = Ledger::new(1);
    let c = &l.cast;
    let audit = l
        .submit(&statement(Kind::Audit, FACTORY, "first audit"), &c.auditor)
        .unwrap();
    let mut fixed = statement(Kind::Correction, FACTORY, "corrected audit");
    fixed.result = Some(Outcome {
        status: Some(vouch::statement::Status::Conformant),
        score: Some(91.0),
        ..Default::default()
    });
    fixed.refs = vec![refer(&audit)];
    let fixed = l.submit(&fixed, &c.auditor).unwrap();
    let mut plan = statement(Kind::CorrectiveAction, FACTORY, "plan A");
    plan.refs = vec![refer(&audit)];
    let plan_a = l.submit(&plan, &c.auditor).unwrap();
    let mut plan = statement(Kind::CorrectiveAction, FACTORY, "plan B");
    plan.refs = vec![refer(&audit)];
    let plan_b = l.submit(&plan, &c.auditor).unwrap();
    let mut done = statement(Kind::Remediation, FACTORY, "plan A done");
    done.refs = vec![refer(&plan_a)];
    let done = l.submit(&done, &c.auditor).unwrap();
    let mut water = statement(Kind::Metric, FACTORY, "water, audited");
    water.topic = Topic::Water;
    water.result = Some(Outcome {
        metrics: vec![Metric {
            name: "water_m3_per_1000_pieces".into(),
            value: 50.0,
            unit: "m3".into(),
            unit_code: None,
        }],
        ..Default::default()
    });
    let first = l.submit(&water, &c.auditor).unwrap();
    water.findings[0].text = "water, own".into();
    water.result.as_mut().unwrap().metrics[0].value = 41.5;
    let newest = l.submit(&water, &c.supplier).unwrap();
    let rating = l
        .submit(&statement(Kind::Rating, FACTORY, "grade A"), &c.buyer)
        .unwrap();
    let cited = vec![
        fixed.index,
        plan_b.index,
        done.index,
        first.index,
        newest.index,
        rating.index,
    ];
    (l, cited)
}

#[test]
fn the_summary_cites_what_a_lender_asks_for() {
    let (l, cited) = ledger();
    let h = l.log.view().history(FACTORY, None, 100).unwrap();
    let now = OffsetDateTime::now_utc();
    let report = verify::verify_history(&h, FACTORY, l.cast.log_key.verifier(), now);
    let st = vouch::standing::standing(&report, now).unwrap();
    let s = vouch::summary::summary(&report, &st, &h.checkpoint).unwrap();
    assert_eq!(s.records, 8);
    assert_eq!(s.left_out.superseded, 1);
    let hours = s
        .topics
        .iter()
        .find(|t| t.topic == Topic::WorkingHours)
        .unwrap();
    assert_eq!(hours.area, "social");
    assert_eq!(hours.audit.as_ref().unwrap().score, Some(91.0));
    assert_eq!(hours.open_corrective_actions.len(), 1);
    assert_eq!(hours.remediations, [cited[2]]);
    assert_eq!(hours.ratings[0].grade.as_deref(), Some("A"));
    // Social topics come before environmental ones.
    let areas: Vec<&str> = s.topics.iter().map(|t| t.area.as_str()).collect();
    assert_eq!(areas, ["social", "environmental"]);
    let [t] = &s.trends[..] else {
        panic!("one trend: {:?}", s.trends)
    };
    assert_eq!((t.first.value, t.newest.value, t.figures), (50.0, 41.5, 2));
    assert!((t.change_percent.unwrap() + 17.0).abs() < 1e-9);
    assert!(t.newest.self_reported && !t.first.self_reported);
    for i in &cited {
        assert!(s.cited.contains(i), "#{i} is cited: {:?}", s.cited);
    }
    let text = s.to_text("http://x", "log.pub", now);
    for said in [
        "summary for lenders",
        "audit conformant, score 91",
        "corrective action open for 0 days",
        "1 corrective action(s) closed",
        "rated A",
        "down 17.0%",
        "the newest reported by the factory itself",
        "vouch proof N",
    ] {
        assert!(text.contains(said), "{said:?} in\n{text}");
    }
    // An invalid history has no summary.
    let mut broken = h.clone();
    broken.entries.remove(0);
    let bad = verify::verify_history(&broken, FACTORY, l.cast.log_key.verifier(), now);
    assert!(vouch::summary::summary(&bad, &st, &h.checkpoint).is_none());
}

#[test]
fn the_server_and_vouch_summary_draw_the_same_summary() {
    let (l, _) = ledger();
    let url = serve(l.log.clone());
    let (status, ctype, body) = get(&format!("{url}/v1/suppliers/{FACTORY}/summary"));
    assert_eq!((status, ctype.as_str()), (200, "application/json"));
    let served: Value = serde_json::from_str(&body).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("log.pub");
    std::fs::write(&key, format!("{}\n", l.cast.log_key.verifier())).unwrap();
    let run = |json: bool| {
        let mut args = vec!["summary", FACTORY, "--url", &url, "--log-key"];
        args.push(key.to_str().unwrap());
        if json {
            args.push("--json");
        }
        let out = Command::new(env!("CARGO_BIN_EXE_vouch"))
            .args(&args)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let ours: Value = serde_json::from_str(&run(true)).unwrap();
    assert_eq!(ours, served["summary"]);
    assert!(run(false).contains("How the figures moved"));

    // The printable page, in both languages, links every cited record.
    let (status, ctype, page) = get(&format!("{url}/factories/{FACTORY}/summary"));
    assert_eq!(status, 200);
    assert!(ctype.starts_with("text/html"));
    assert!(page.contains("Summary for lenders"));
    for i in served["summary"]["cited"].as_array().unwrap() {
        assert!(page.contains(&format!("href=\"/records/{i}\"")), "#{i}");
    }
    let (_, _, vi) = get(&format!("{url}/factories/{FACTORY}/summary?lang=vi"));
    assert!(vi.contains("Tóm tắt cho bên cho vay"));
    let (_, _, factory) = get(&format!("{url}/factories/{FACTORY}"));
    assert!(factory.contains(&format!("/factories/{FACTORY}/summary")));
}

#[test]
fn bad_summary_requests_are_problems_and_change_nothing() {
    let (l, _) = ledger();
    let url = serve(l.log.clone());
    let disk = l.disk_state();
    for (path, status) in [
        ("/v1/suppliers/not-an-id/summary".to_owned(), 400),
        (format!("/v1/suppliers/{OTHER_FACTORY}/summary"), 404),
        ("/factories/not-an-id/summary".to_owned(), 400),
        (format!("/factories/{OTHER_FACTORY}/summary"), 404),
    ] {
        let (got, ctype, body) = get(&format!("{url}{path}"));
        assert_eq!(got, status, "{path}: {body}");
        if path.starts_with("/v1/") {
            assert_eq!(ctype, "application/problem+json", "{path}");
        }
    }
    assert_eq!(l.disk_state(), disk);
}
