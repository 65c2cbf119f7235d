//! Signed attestations against the acceptance policy (docs/design.md §4, §6): who may sign
//! what, revocation, retraction, references, registry thresholds, prev chains.

mod common;

use std::sync::Arc;

use common::*;
use vouch::entry::{decode_hash, Entry};
use vouch::log::LogError;
use vouch::merkle;
use vouch::policy::PolicyError;
use vouch::registry::{KeyStatus, RegistryError};
use vouch::statement::{Kind, RegistryStatement, Since, Statement};

fn expect_policy(result: Result<vouch::log::Receipt, LogError>, what: &str) -> PolicyError {
    match result {
        Err(LogError::Policy(e)) => e,
        other => panic!("{what}: expected a policy error, got {other:?}"),
    }
}

/// The table of docs/design.md §4: kind → roles that may sign it ("supplier" meaning of that id).
fn allowed(kind: Kind, role: &str) -> bool {
    match kind {
        Kind::Audit | Kind::CorrectiveAction | Kind::Remediation => role == "auditor",
        Kind::Metric => role == "auditor" || role == "supplier",
        Kind::Rating | Kind::Incentive => role == "buyer",
        Kind::Response => role == "supplier",
        // The referenced audit is the auditor's own.
        Kind::Retraction | Kind::Correction => role == "auditor" || role == "governance",
        Kind::Dispute | Kind::PurchasingPractice => role == "supplier",
        Kind::Profile => role == "supplier" || role == "governance",
        // The supplier signs for FACTORY only, not for the ID joined.
        Kind::Alias => role == "governance",
        // The disputed audit is the auditor's own.
        Kind::Resolution => role == "auditor" || role == "governance",
    }
}

#[test]
fn every_kind_and_role_is_accepted_or_refused_as_the_design_says() {
    let ledger = Ledger::new(1);
    let audit = ledger
        .submit(
            &statement(Kind::Audit, FACTORY, "base audit"),
            &ledger.cast.auditor,
        )
        .unwrap();
    let mut dispute = statement(Kind::Dispute, FACTORY, "the finding is wrong");
    dispute.refs = vec![refer(&audit)];
    let dispute = ledger.submit(&dispute, &ledger.cast.supplier).unwrap();
    for kind in Kind::ALL {
        for role in ["auditor", "buyer", "supplier", "ngo", "governance"] {
            let mut s = statement(kind, FACTORY, &format!("{kind} by {role}"));
            if kind.needs_refs() {
                s.refs = vec![refer(&audit)];
            }
            if kind == Kind::Resolution {
                s.refs = vec![refer(&dispute)];
            }
            let result = ledger.submit(&s, ledger.cast.signer_for(role));
            if allowed(kind, role) {
                let r = result.unwrap_or_else(|e| panic!("{kind} by {role} refused: {e}"));
                assert!(!r.duplicate);
            } else {
                let e = expect_policy(result, &format!("{kind} by {role}"));
                let specific = match kind {
                    Kind::Retraction | Kind::Correction => {
                        matches!(e, PolicyError::RetractionNotBySigner(_))
                    }
                    Kind::Resolution => matches!(e, PolicyError::ResolutionNotBySigner(_)),
                    _ => matches!(e, PolicyError::WrongRole { .. }),
                };
                assert!(specific, "{kind} by {role}: {e:?}");
            }
        }
    }
}

#[test]
fn a_supplier_key_signs_only_about_its_own_supplier_ids() {
    let ledger = Ledger::new(1);
    ledger
        .submit(
            &statement(Kind::Metric, FACTORY, "own"),
            &ledger.cast.supplier,
        )
        .unwrap();
    let e = expect_policy(
        ledger.submit(
            &statement(Kind::Metric, OTHER_FACTORY, "not own"),
            &ledger.cast.supplier,
        ),
        "metric about another factory",
    );
    assert!(matches!(e, PolicyError::NotOwnSupplier { .. }), "{e:?}");
    let audit = ledger
        .submit(
            &statement(Kind::Audit, OTHER_FACTORY, "a"),
            &ledger.cast.auditor,
        )
        .unwrap();
    let mut reply = statement(Kind::Response, OTHER_FACTORY, "not our audit to answer");
    reply.refs = vec![refer(&audit)];
    let e = expect_policy(ledger.submit(&reply, &ledger.cast.supplier), "response");
    assert!(matches!(e, PolicyError::NotOwnSupplier { .. }), "{e:?}");
}

#[test]
fn revoked_key_cannot_append_after_revocation_and_compromise_marks_suspects() {
    let ledger = Ledger::new(2);
    let first = ledger
        .submit(
            &statement(Kind::Audit, FACTORY, "before"),
            &ledger.cast.auditor,
        )
        .unwrap();
    let second = ledger
        .submit(
            &statement(Kind::Audit, FACTORY, "after compromise"),
            &ledger.cast.auditor,
        )
        .unwrap();
    let key_id = format!("{:08x}", ledger.cast.auditor.key_id());
    let revoked = ledger
        .registry(&RegistryStatement::RevokeKey {
            participant: "kiwa".into(),
            key_id: key_id.clone(),
            compromised_since: Some(Since::Index(second.index)),
            issued_at: now(),
        })
        .unwrap();
    let e = expect_policy(
        ledger.submit(
            &statement(Kind::Audit, FACTORY, "after revocation"),
            &ledger.cast.auditor,
        ),
        "after revocation",
    );
    assert_eq!(e, PolicyError::KeyNotActive(key_id));
    let registry = ledger.log.registry().unwrap();
    let id = ledger.cast.auditor.key_id();
    let logged = |i| ledger.log.ledger_entry(i).unwrap().logged_at;
    assert_eq!(
        registry.key_status(id, first.index, &logged(first.index)),
        KeyStatus::Valid
    );
    assert_eq!(
        registry.key_status(id, second.index, &logged(second.index)),
        KeyStatus::Suspect
    );
    assert_eq!(
        registry.key_status(id, revoked.index + 1, &logged(revoked.index)),
        KeyStatus::NotAuthorised
    );
    // The revocation survives reopening (the registry state is persisted).
    drop(ledger.log);
}

#[test]
fn retractions_only_by_the_signer_or_governance() {
    let ledger = Ledger::new(1);
    let rating = ledger
        .submit(
            &statement(Kind::Rating, FACTORY, "grade A"),
            &ledger.cast.buyer,
        )
        .unwrap();
    let mut retract = statement(Kind::Retraction, FACTORY, "withdrawn");
    retract.refs = vec![refer(&rating)];
    let e = expect_policy(
        ledger.submit(&retract, &ledger.cast.auditor),
        "retraction by another",
    );
    assert_eq!(e, PolicyError::RetractionNotBySigner(rating.index));
    ledger.submit(&retract, &ledger.cast.buyer).unwrap();
    retract.findings[0].text = "governance withdraws it too".into();
    ledger.submit(&retract, &ledger.cast.gov[0]).unwrap();
}

#[test]
fn references_must_exist_match_and_be_about_the_same_supplier() {
    let ledger = Ledger::new(1);
    let audit = ledger
        .submit(
            &statement(Kind::Audit, FACTORY, "audit"),
            &ledger.cast.auditor,
        )
        .unwrap();
    let mut cap = statement(Kind::CorrectiveAction, FACTORY, "plan");
    cap.refs = vec![vouch::statement::EntryRef {
        index: 10_000,
        leaf_hash: refer(&audit).leaf_hash,
    }];
    assert_eq!(
        expect_policy(ledger.submit(&cap, &ledger.cast.auditor), "missing"),
        PolicyError::MissingRef(10_000)
    );
    cap.refs = vec![vouch::statement::EntryRef {
        index: audit.index - 1,
        leaf_hash: refer(&audit).leaf_hash,
    }];
    assert_eq!(
        expect_policy(ledger.submit(&cap, &ledger.cast.auditor), "wrong hash"),
        PolicyError::RefHashMismatch(audit.index - 1)
    );
    let other = ledger
        .submit(
            &statement(Kind::Audit, OTHER_FACTORY, "other"),
            &ledger.cast.auditor,
        )
        .unwrap();
    cap.refs = vec![refer(&other)];
    assert!(matches!(
        expect_policy(ledger.submit(&cap, &ledger.cast.auditor), "other supplier"),
        PolicyError::RefOtherSubject { .. }
    ));
    cap.refs = vec![refer(&audit)];
    ledger.submit(&cap, &ledger.cast.auditor).unwrap();
}

#[test]
fn issued_at_too_far_in_the_future_is_refused() {
    let ledger = Ledger::new(1);
    let mut s = statement(Kind::Audit, FACTORY, "from the future");
    s.issued_at = vouch::log::timestamp(time::OffsetDateTime::now_utc() + time::Duration::hours(1));
    assert!(matches!(
        expect_policy(ledger.submit(&s, &ledger.cast.auditor), "future"),
        PolicyError::FutureIssuedAt(_)
    ));
    s.issued_at =
        vouch::log::timestamp(time::OffsetDateTime::now_utc() + time::Duration::minutes(2));
    ledger.submit(&s, &ledger.cast.auditor).unwrap();
}

#[test]
fn registry_changes_need_k_governance_signatures() {
    let ledger = Ledger::new(2);
    let change = RegistryStatement::Register {
        participant: spec(
            "second-auditor",
            &[vouch::statement::Role::Auditor],
            &key("bv", 20),
            &[],
        ),
        issued_at: now(),
    };
    let one = sign_registry(&change, &[&ledger.cast.gov[0]]);
    assert!(matches!(
        ledger.log.submit_blocking(&one),
        Err(LogError::Policy(PolicyError::NotEnoughGovernance {
            have: 1,
            need: 2
        }))
    ));
    // Two signatures, but one is not a governance key.
    let mixed = sign_registry(&change, &[&ledger.cast.gov[0], &ledger.cast.auditor]);
    assert!(matches!(
        ledger.log.submit_blocking(&mixed),
        Err(LogError::Policy(PolicyError::NotEnoughGovernance {
            have: 1,
            need: 2
        }))
    ));
    let two = sign_registry(&change, &[&ledger.cast.gov[0], &ledger.cast.gov[2]]);
    ledger.log.submit_blocking(&two).unwrap();
    assert!(ledger
        .log
        .registry()
        .unwrap()
        .participants
        .contains_key("second-auditor"));
    // Registering the same participant again is a registry error.
    let again = RegistryStatement::Register {
        participant: spec(
            "second-auditor",
            &[vouch::statement::Role::Auditor],
            &key("bv2", 21),
            &[],
        ),
        issued_at: now(),
    };
    assert!(matches!(
        ledger.registry(&again),
        Err(LogError::Registry(RegistryError::AlreadyRegistered(_)))
    ));
    // Revoking governance keys below the threshold is refused.
    let revoke = |i: usize| RegistryStatement::RevokeKey {
        participant: GOVERNANCE[i].into(),
        key_id: format!("{:08x}", ledger.cast.gov[i].key_id()),
        compromised_since: None,
        issued_at: now(),
    };
    ledger.registry(&revoke(2)).unwrap();
    assert!(matches!(
        ledger.registry(&revoke(1)),
        Err(LogError::Registry(RegistryError::BelowThreshold { .. }))
    ));
}

#[test]
fn a_removed_participant_signs_nothing_after_removal() {
    let ledger = Ledger::new(1);
    ledger
        .submit(
            &statement(Kind::Rating, FACTORY, "before"),
            &ledger.cast.buyer,
        )
        .unwrap();
    ledger
        .registry(&RegistryStatement::Remove {
            participant: "brand".into(),
            issued_at: now(),
        })
        .unwrap();
    assert!(matches!(
        expect_policy(
            ledger.submit(
                &statement(Kind::Rating, FACTORY, "after"),
                &ledger.cast.buyer
            ),
            "removed"
        ),
        PolicyError::KeyNotActive(_)
    ));
}

#[test]
fn the_same_envelope_twice_is_stored_once_with_one_receipt() {
    let ledger = Ledger::new(1);
    let envelope = sign_statement(
        &statement(Kind::Audit, FACTORY, "once"),
        &ledger.cast.auditor,
    );
    let a = ledger.log.submit_blocking(&envelope).unwrap();
    // Same envelope, other JSON spacing.
    let v: serde_json::Value = serde_json::from_slice(&envelope).unwrap();
    let b = ledger
        .log
        .submit_blocking(serde_json::to_string_pretty(&v).unwrap().as_bytes())
        .unwrap();
    assert_eq!((a.index, a.leaf_hash), (b.index, b.leaf_hash));
    assert!(b.duplicate);
    assert_eq!(ledger.log.head().size(), a.index + 1);
}

#[test]
fn prev_chains_stay_unbroken_under_interleaved_submissions() {
    let ledger = Ledger::new(1);
    let factories = [FACTORY, OTHER_FACTORY, "VN2021087KD2M9Q"];
    std::thread::scope(|scope| {
        for t in 0..12 {
            let ledger = &ledger;
            scope.spawn(move || {
                for i in 0..25 {
                    let s = statement(
                        Kind::Audit,
                        factories[(t + i) % 3],
                        &format!("task {t} item {i}"),
                    );
                    let envelope = sign_statement(&s, &ledger.cast.auditor);
                    ledger.log.submit_blocking(&envelope).unwrap();
                }
            });
        }
    });
    let size = ledger.log.head().size();
    let root = ledger.log.view().root(size).unwrap();
    for f in factories {
        let chain = ledger.log.view().subject_entries(f, 0, 1000).unwrap();
        assert_eq!(chain.len(), 100, "{f}");
        let mut prev: Option<(u64, [u8; 32])> = None;
        for (index, leaf) in &chain {
            let bytes = ledger.log.view().entry(*index).unwrap();
            assert_eq!(merkle::leaf_hash(&bytes), *leaf);
            let entry = Entry::parse(&bytes).unwrap();
            assert_eq!(entry.subject, f);
            let link = entry
                .prev
                .as_ref()
                .map(|p| (p.index, decode_hash(&p.leaf_hash).unwrap()));
            assert_eq!(link, prev, "entry {index} of {f}");
            let proof = ledger.log.view().inclusion_proof(*index, size).unwrap();
            merkle::verify_inclusion(leaf, *index, size, &proof, &root).unwrap();
            prev = Some((*index, *leaf));
        }
    }
}

#[test]
fn the_registry_state_survives_reopening() {
    let ledger = Ledger::new(1);
    let before = ledger.log.registry().unwrap();
    let Ledger {
        dir,
        sled,
        log,
        cast,
    } = ledger;
    drop((log, sled));
    let store: Arc<dyn vouch::store::Store> =
        Arc::new(vouch::store::SledStore::open(dir.path(), &Default::default()).unwrap());
    let log = vouch::log::Log::open(store, Some(cast.log_key.clone()), Default::default()).unwrap();
    assert_eq!(*log.registry().unwrap(), *before);
    let s: Statement = statement(Kind::Audit, FACTORY, "after reopen");
    log.submit_blocking(&sign_statement(&s, &cast.auditor))
        .unwrap();
}

#[test]
fn registry_changes_are_filed_by_participant_and_checkpoints_name_the_governance_chain() {
    let ledger = Ledger::new(1);
    let head = |signed: &str| {
        let (cp, _) =
            vouch::note::Checkpoint::open(signed.as_bytes(), ledger.cast.log_key.verifier())
                .unwrap();
        vouch::entry::registry_head(&cp).expect("a ledger checkpoint names its registry head")
    };
    let audit = ledger
        .submit(&statement(Kind::Audit, FACTORY, "a"), &ledger.cast.auditor)
        .unwrap();
    // The four registrations (of no governance member) went to their own chains: the
    // governance chain is the genesis entry alone.
    assert_eq!(
        head(&audit.head.signed),
        (0, ledger.log.view().leaf_hash(0).unwrap())
    );
    let removal = ledger
        .registry(&RegistryStatement::Remove {
            participant: "watch".into(),
            issued_at: now(),
        })
        .unwrap();
    assert_eq!(head(&removal.head.signed).0, 0);
    // "watch": its registration and its removal, one chain, proven by the index.
    let index = &ledger.log.head().index;
    let h = index
        .get(&vouch::index::key("registry:watch"))
        .expect("the index holds registry:watch");
    assert_eq!((h.count, h.newest_index), (2, removal.index));
    let mut at = Some((removal.index, removal.leaf_hash));
    let mut seen = 0;
    while let Some((i, hash)) = at {
        let bytes = ledger.log.view().entry(i).unwrap();
        assert_eq!(merkle::leaf_hash(&bytes), hash);
        let e = Entry::parse(&bytes).unwrap();
        assert_eq!(e.subject, "registry:watch");
        at = e.prev_link().unwrap();
        seen += 1;
    }
    assert_eq!(seen, 2);
    // A new governance member joins the governance chain, which the checkpoint names.
    let joined = ledger
        .registry(&RegistryStatement::Register {
            participant: spec(
                "platform-d",
                &[vouch::statement::Role::Governance],
                &key("platform-d", 77),
                &[],
            ),
            issued_at: now(),
        })
        .unwrap();
    assert_eq!(head(&joined.head.signed), (joined.index, joined.leaf_hash));
    let e = Entry::parse(&ledger.log.view().entry(joined.index).unwrap()).unwrap();
    assert_eq!(e.subject, vouch::statement::REGISTRY_SUBJECT);
    assert_eq!(e.prev_link().unwrap().map(|p| p.0), Some(0));
}
