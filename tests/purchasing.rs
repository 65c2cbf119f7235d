//! Buyers' purchasing practices: factories sign what they say of a buyer (how it pays,
//! plans, negotiates, changes orders), filed under the buyer (`buyer:<id>`) with its
//! own complete, verified history and standing; the buyer replies on the record. Bad
//! statements are refused with their own errors, the store as it was.

mod common;

use common::*;
use serde_json::Value;
use time::OffsetDateTime;
use vouch::log::LogError;
use vouch::policy::PolicyError;
use vouch::standing::standing;
use vouch::statement::{Kind, Metric, Outcome, Role, Statement, Topic};
use vouch::verify::{self, Verdict};

fn practice(topic: Topic, days_late: f64) -> Statement {
    let mut s = statement(Kind::PurchasingPractice, FACTORY, "paid late");
    s.findings.clear();
    s.topic = topic;
    s.result = Some(Outcome {
        score: Some(if days_late > 15.0 { 45.0 } else { 85.0 }),
        metrics: vec![Metric {
            name: "days_paid_after_due_date_p90".into(),
            value: days_late,
            unit: "d".into(),
            unit_code: None,
        }],
        ..Outcome::default()
    });
    s
}

#[test]
fn factories_speak_of_buyers_and_buyers_reply() {
    let ledger = Ledger::new(1);
    let c = &ledger.cast;
    let first = ledger
        .submit(&practice(Topic::PaymentTerms, 40.0), &c.supplier)
        .unwrap();
    let newer = ledger
        .submit(&practice(Topic::PaymentTerms, 12.0), &c.supplier)
        .unwrap();
    let mut reply = statement(Kind::Response, FACTORY, "we pay at 30 days since June");
    reply.buyer = Some("brand".into());
    reply.topic = Topic::PaymentTerms;
    reply.refs = vec![refer(&first)];
    reply.findings.clear();
    reply.text = Some(vouch::statement::StatementText {
        lang: "en".into(),
        body: "we pay at 30 days since June".into(),
    });
    let replied = ledger.submit(&reply, &c.buyer).unwrap();

    // Filed under the buyer, not the factory.
    let view = ledger.log.view();
    assert!(view.history(FACTORY, None, 100).unwrap().entries.is_empty());
    let h = view.history("buyer:brand", None, 100).unwrap();
    assert_eq!(h.entries.len(), 3);
    let now = OffsetDateTime::now_utc();
    let report = verify::verify_history(&h, "buyer:brand", c.log_key.verifier(), now);
    assert_eq!(report.verdict, Verdict::Valid, "{report:#?}");
    let reply_report = report
        .entries
        .iter()
        .find(|e| e.index == replied.index)
        .unwrap();
    assert!(reply_report.self_reported, "the buyer answers for itself");
    assert!(
        !report
            .entries
            .iter()
            .find(|e| e.index == first.index)
            .unwrap()
            .self_reported
    );
    let st = standing(&report, now).unwrap();
    assert_eq!(st.name, None);
    let pay = &st.topics[&Topic::PaymentTerms];
    // Each factory's newest statement counts.
    assert_eq!(pay.ratings.len(), 1);
    assert_eq!(pay.ratings[0].index, newer.index);
    assert_eq!(pay.ratings[0].metrics[0].value, 12.0);
    assert_eq!(pay.replies[0].index, replied.index);
    assert_eq!(
        pay.replies[0].text.as_ref().unwrap().body,
        "we pay at 30 days since June"
    );

    // Over HTTP: the buyer's history and standing, and its page.
    let url = serve(ledger.log.clone());
    let (status, kind, body) = get(&format!("{url}/v1/buyers/brand/standing"));
    assert_eq!((status, kind.as_str()), (200, "application/json"));
    let served: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(served["standing"], serde_json::to_value(&st).unwrap());
    let (status, _, body) = get(&format!("{url}/v1/buyers/brand/history"));
    assert_eq!(status, 200);
    let served: vouch::bundle::History = serde_json::from_str(&body).unwrap();
    assert_eq!(
        verify::verify_history(&served, "buyer:brand", c.log_key.verifier(), now).verdict,
        Verdict::Valid
    );
    let (status, _, page) = get(&format!("{url}/buyers/brand"));
    assert_eq!(status, 200);
    assert!(page.contains("we pay at 30 days since June"), "{page}");
    assert!(page.contains("days_paid_after_due_date_p90"));
    let (status, _, record) = get(&format!("{url}/records/{}", replied.index));
    assert_eq!(status, 200);
    assert!(record.contains("Reply by brand on payment and terms"));
    for (path, status, problem) in [
        ("/v1/buyers/Brand!/standing", 400, "/problems/bad-buyer-id"),
        ("/v1/buyers/x/history", 400, "/problems/bad-buyer-id"),
        ("/buyers/nobody-here", 404, "/problems/not-found"),
    ] {
        let (got, kind, body) = get(&format!("{url}{path}"));
        assert_eq!(got, status, "{path}: {body}");
        if path.starts_with("/v1") {
            assert_eq!(kind, "application/problem+json");
            let p: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(p["type"], problem);
        }
    }
    // A buyer no factory has spoken of: a complete, empty history, proven so.
    let (status, _, body) = get(&format!("{url}/v1/buyers/nobody-here/standing"));
    assert_eq!(status, 200);
    let empty: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(empty["standing"]["records"], 0);
}

type Check = fn(&LogError) -> bool;

#[test]
fn bad_purchasing_practices_are_refused_and_nothing_changes() {
    let ledger = Ledger::new(1);
    let c = &ledger.cast;
    // A second supplier, of another factory.
    let other = key("other-factory", 44);
    ledger
        .registry(&vouch::statement::RegistryStatement::Register {
            participant: spec("other-factory", &[Role::Supplier], &other, &[OTHER_FACTORY]),
            issued_at: now(),
        })
        .unwrap();
    let said = ledger
        .submit(&practice(Topic::PaymentTerms, 40.0), &c.supplier)
        .unwrap();
    let audit = ledger
        .submit(&statement(Kind::Audit, FACTORY, "a"), &c.auditor)
        .unwrap();
    let about = |buyer: &str| {
        let mut s = practice(Topic::PaymentTerms, 3.0);
        s.buyer = Some(buyer.into());
        s
    };
    let edit = |f: fn(&mut Statement)| {
        let mut s = practice(Topic::OrderChanges, 3.0);
        f(&mut s);
        s
    };
    let reply_to = |r: &vouch::log::Receipt| {
        let mut s = statement(Kind::Response, FACTORY, "not so");
        s.buyer = Some("brand".into());
        s.refs = vec![refer(r)];
        s
    };
    let cases: Vec<(&str, Statement, &vouch::note::Signer, Check)> = vec![
        (
            "by an auditor",
            practice(Topic::PaymentTerms, 1.0),
            &c.auditor,
            |e| is_policy(e, |p| matches!(p, PolicyError::WrongRole { .. })),
        ),
        (
            "by the buyer about itself",
            practice(Topic::PaymentTerms, 1.0),
            &c.buyer,
            |e| is_policy(e, |p| matches!(p, PolicyError::WrongRole { .. })),
        ),
        (
            "in the name of another factory",
            practice(Topic::PaymentTerms, 1.0),
            &other,
            |e| is_policy(e, |p| matches!(p, PolicyError::NotOwnSupplier { .. })),
        ),
        ("about an auditor", about("kiwa"), &c.supplier, |e| {
            is_policy(e, |p| matches!(p, PolicyError::NotABuyer(_)))
        }),
        (
            "about nobody registered",
            about("ghost"),
            &c.supplier,
            |e| is_policy(e, |p| matches!(p, PolicyError::NotABuyer(_))),
        ),
        (
            "about no buyer",
            edit(|s| s.buyer = None),
            &c.supplier,
            |e| is_field(e, "buyer"),
        ),
        (
            "about a buyer id that is no participant id",
            edit(|s| s.buyer = Some("Brand Inc".into())),
            &c.supplier,
            |e| is_field(e, "buyer"),
        ),
        (
            "on working hours",
            edit(|s| s.topic = Topic::WorkingHours),
            &c.supplier,
            |e| is_field(e, "topic"),
        ),
        (
            "saying nothing",
            edit(|s| s.result = None),
            &c.supplier,
            |e| is_field(e, "result"),
        ),
        (
            "an audit that names a buyer",
            {
                let mut s = statement(Kind::Audit, FACTORY, "a");
                s.buyer = Some("brand".into());
                s
            },
            &c.auditor,
            |e| is_field(e, "buyer"),
        ),
        (
            "a reply by the factory in the buyer's name",
            reply_to(&said),
            &c.supplier,
            |e| is_policy(e, |p| matches!(p, PolicyError::WrongRole { .. })),
        ),
        (
            "a buyer's reply to a factory's audit",
            reply_to(&audit),
            &c.buyer,
            |e| is_policy(e, |p| matches!(p, PolicyError::RefOtherSubject { .. })),
        ),
    ];
    let disk = ledger.disk_state();
    for (name, s, signer, check) in cases {
        let e = ledger.submit(&s, signer).expect_err(name);
        assert!(check(&e), "{name}: {e:?}");
    }
    assert_eq!(ledger.disk_state(), disk);
    // Over HTTP, a 403 problem that names what is wrong.
    let url = serve(ledger.log.clone());
    assert_problem(
        post_attestation(&url, sign_statement(&about("kiwa"), &c.supplier)),
        403,
        "kiwa is not a buyer registered at this log position",
    );
    assert_eq!(ledger.disk_state(), disk);
}
