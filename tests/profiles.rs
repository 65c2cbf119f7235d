//! Facilities as Open Supply Hub knows them: a profile record (signed by the facility
//! or governance) says what the facility is; an alias record joins another OS ID, as
//! Open Supply Hub merges duplicates, and the histories are then read as one, by the
//! server, the CLI and any verifier. Bad records are refused, the store as it was.

mod common;

use common::*;
use serde_json::Value;
use time::OffsetDateTime;
use vouch::policy::PolicyError;
use vouch::statement::{FacilityProfile, Kind, Location, Role, SupplierId, Topic};
use vouch::verify::{self, Verdict};

fn profile() -> vouch::statement::Statement {
    let mut s = statement(Kind::Profile, FACTORY, "");
    s.supplier.province = Some("Bình Dương".into());
    s.supplier.address = Some("Lô A1, KCN Sóng Thần".into());
    s.profile = Some(FacilityProfile {
        location: Some(Location {
            lat: 10.9,
            lng: 106.7,
        }),
        sector: vec!["Apparel".into()],
        product_type: vec!["Jackets".into()],
        facility_type: vec!["Final product assembly".into()],
        processing_type: vec!["Cutting".into(), "Sewing".into()],
        number_of_workers: Some(1450),
        parent_company: Some("Vinatex".into()),
        other_names: vec!["Công ty May Sông Hồng".into()],
    });
    s
}

#[test]
fn a_profile_describes_the_facility_and_an_alias_joins_histories() {
    let ledger = Ledger::new(1);
    let c = &ledger.cast;
    let described = ledger.submit(&profile(), &c.supplier).unwrap();
    ledger
        .submit(&statement(Kind::Audit, FACTORY, "new id"), &c.auditor)
        .unwrap();
    let mut old = statement(Kind::Audit, OTHER_FACTORY, "under the duplicate id");
    old.topic = Topic::HealthSafety;
    let old = ledger.submit(&old, &c.auditor).unwrap();
    let alias = ledger
        .submit(&statement(Kind::Alias, FACTORY, ""), &c.gov[0])
        .unwrap();

    let view = ledger.log.view();
    let history = view.history(FACTORY, None, 100).unwrap();
    let joined = view.history(OTHER_FACTORY, None, 100).unwrap();
    let now = OffsetDateTime::now_utc();
    let key = c.log_key.verifier();
    let report = verify::verify_joined(&history, std::slice::from_ref(&joined), FACTORY, key, now);
    assert_eq!(report.verdict, Verdict::Valid, "{report:#?}");
    assert_eq!(verify::joined_ids(&report), [OTHER_FACTORY]);
    assert!(report.entries.iter().any(|e| e.index == old.index));
    assert!(report.entries.windows(2).all(|w| w[0].index > w[1].index));
    let st = vouch::standing::standing(&report, now).unwrap();
    assert_eq!(st.profile.as_ref().unwrap().index, described.index);
    assert_eq!(
        st.profile.as_ref().unwrap().profile.number_of_workers,
        Some(1450)
    );
    assert_eq!(st.aliases[0].id, OTHER_FACTORY);
    assert_eq!(st.aliases[0].index, alias.index);
    assert_eq!(
        st.topics[&Topic::HealthSafety]
            .audit
            .as_ref()
            .unwrap()
            .index,
        old.index
    );
    // Without the joined history, or with one that was not joined: invalid.
    for (name, joined) in [
        ("missing", vec![]),
        ("not joined", vec![joined.clone(), history.clone()]),
    ] {
        let r = verify::verify_joined(&history, &joined, FACTORY, key, now);
        assert_eq!(r.verdict, Verdict::Invalid, "{name}");
        assert!(
            r.checks.iter().any(|k| k.name == "joined" && !k.ok),
            "{name}"
        );
    }

    // Too many records together to draw here: refused as too large, and the log,
    // whose own histories do verify, goes on taking records.
    let e = ledger.log.supplier_file(&view, FACTORY, 3).err();
    assert!(
        matches!(
            e,
            Some(vouch::log::LogError::TooManyRecords {
                records: 4,
                max: 3,
                ..
            })
        ),
        "{e:?}"
    );
    assert!(ledger
        .log
        .supplier_file(&view, FACTORY, 4)
        .unwrap()
        .is_some());

    // The server counts the joined records and serves their history beside.
    let url = serve(ledger.log.clone());
    let (status, _, body) = get(&format!("{url}/v1/suppliers/{FACTORY}/standing"));
    assert_eq!(status, 200);
    let served: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(served["standing"], serde_json::to_value(&st).unwrap());
    assert_eq!(served["joined"][0]["supplier"], OTHER_FACTORY);
    let (status, _, page) = get(&format!("{url}/factories/{FACTORY}"));
    assert_eq!(status, 200);
    assert!(page.contains("Công ty May Sông Hồng") && page.contains("1,450"));
    assert!(page.contains(&format!("/records/{}", old.index)));

    // And `vouch standing`, which verifies all of it itself.
    let dir = tempfile::tempdir().unwrap();
    vouch::keyfile::write_pair(
        &c.log_key,
        &dir.path().join("log.key"),
        &dir.path().join("log.pub"),
    )
    .unwrap();
    let out = ok(&vouch(
        dir.path(),
        &["standing", FACTORY, "--url", &url, "--log-key", "log.pub"],
    ));
    assert!(
        out.contains(&format!(
            "also recorded under {OTHER_FACTORY} (joined by entry {})",
            alias.index
        )),
        "{out}"
    );
    assert!(out.contains("Apparel; Jackets; Cutting, Sewing; 1450 workers; part of Vinatex"));
    assert!(out.contains("health and safety"), "{out}");
}

#[test]
fn bad_profiles_and_aliases_are_refused_and_nothing_changes() {
    let ledger = Ledger::new(1);
    let c = &ledger.cast;
    // A supplier of both IDs may join them; one of only one may not.
    let both = key("group-supplier", 45);
    ledger
        .registry(&vouch::statement::RegistryStatement::Register {
            participant: spec("group", &[Role::Supplier], &both, &[FACTORY, OTHER_FACTORY]),
            issued_at: now(),
        })
        .unwrap();
    let disk = ledger.disk_state();
    let with = |f: fn(&mut vouch::statement::Statement)| {
        let mut s = profile();
        f(&mut s);
        s
    };
    let alias = |f: fn(&mut vouch::statement::Statement)| {
        let mut s = statement(Kind::Alias, FACTORY, "");
        f(&mut s);
        s
    };
    type Check = fn(&vouch::log::LogError) -> bool;
    let cases: Vec<(
        &str,
        vouch::statement::Statement,
        &vouch::note::Signer,
        Check,
    )> = vec![
        ("a profile by a buyer", profile(), &c.buyer, |e| {
            is_policy(e, |p| matches!(p, PolicyError::WrongRole { .. }))
        }),
        ("a profile by an auditor", profile(), &c.auditor, |e| {
            is_policy(e, |p| matches!(p, PolicyError::WrongRole { .. }))
        }),
        (
            "a profile without one",
            with(|s| s.profile = None),
            &c.supplier,
            |e| is_field(e, "profile"),
        ),
        (
            "a latitude of 91",
            with(|s| {
                s.profile.as_mut().unwrap().location = Some(Location {
                    lat: 91.0,
                    lng: 0.0,
                })
            }),
            &c.supplier,
            |e| is_field(e, "profile.location"),
        ),
        (
            "an empty sector",
            with(|s| s.profile.as_mut().unwrap().sector = vec![" ".into()]),
            &c.supplier,
            |e| is_field(e, "profile.sector[0]"),
        ),
        (
            "an audit with a profile",
            with(|s| s.kind = Kind::Audit),
            &c.auditor,
            |e| is_field(e, "profile"),
        ),
        (
            "an alias by a supplier of one id",
            alias(|_| {}),
            &c.supplier,
            |e| is_policy(e, |p| matches!(p, PolicyError::WrongRole { .. })),
        ),
        ("an alias by a buyer", alias(|_| {}), &c.buyer, |e| {
            is_policy(e, |p| matches!(p, PolicyError::WrongRole { .. }))
        }),
        (
            "an alias of itself",
            alias(|s| s.alias_of = Some(SupplierId::new(FACTORY).unwrap())),
            &c.gov[0],
            |e| is_field(e, "alias_of"),
        ),
        (
            "an alias of an OS ID with a wrong check character",
            alias(|s| s.alias_of = Some(SupplierId::new("VN2024164XQ3F7X").unwrap())),
            &c.gov[0],
            |e| {
                matches!(e, vouch::log::LogError::Statement(_))
                    && e.to_string().contains("check character")
            },
        ),
        (
            "an alias without the other id",
            alias(|s| s.alias_of = None),
            &c.gov[0],
            |e| is_field(e, "alias_of"),
        ),
    ];
    for (name, s, signer, check) in cases {
        let e = ledger.submit(&s, signer).expect_err(name);
        assert!(check(&e), "{name}: {e:?}");
    }
    assert_eq!(ledger.disk_state(), disk);
    // Over HTTP, a 4xx problem that names what is wrong; the store as it was.
    let url = serve(ledger.log.clone());
    let post = |body: Vec<u8>| post_attestation(&url, body);
    for (body, status, says) in [
        (
            sign_statement(
                &with(|s| {
                    s.profile.as_mut().unwrap().location = Some(Location {
                        lat: 91.0,
                        lng: 0.0,
                    })
                }),
                &c.supplier,
            ),
            422,
            "latitude is from -90 to 90",
        ),
        (
            sign_statement(&alias(|_| {}), &c.supplier),
            403,
            "governance, or the supplier of both ids",
        ),
    ] {
        assert_problem(post(body), status, says);
    }
    assert_eq!(ledger.disk_state(), disk);
    ledger.submit(&alias(|_| {}), &both).unwrap();
}
