//! The verifier trusts nothing but the log key: not the operator's registry, not a
//! server's selection of entries.

mod common;

use common::forge::ForgedLog;

use base64::Engine as _;
use common::*;
use time::OffsetDateTime;
use vouch::bundle::{Bundle, ProvenEntry};
use vouch::entry::{self, encode_hash, Entry, Prev};
use vouch::envelope;
use vouch::merkle::{self, MemoryTree};
use vouch::note::{Checkpoint, Signer, BASE64};
use vouch::statement::{Kind, RegistryStatement, Role, STATEMENT_TYPE};
use vouch::verify::{self, Verdict};

/// A log built by hand, as a dishonest operator holding the log key could: entries
/// chained by subject, a checkpoint naming the registry head, proofs for a bundle.
fn forged_log(register_signer: &Signer) -> (Bundle, Signer) {
    let cast = Cast::new();
    let evil = key("evil-auditor", 66);
    let genesis = RegistryStatement::Genesis {
        threshold: 1,
        participants: vec![spec("platform", &[Role::Governance], &cast.gov[0], &[])],
        issued_at: now(),
    };
    let register = RegistryStatement::Register {
        participant: spec("evil", &[Role::Auditor], &evil, &[]),
        issued_at: now(),
    };
    let audit = statement(Kind::Audit, FACTORY, "forged");
    let envelopes = [
        envelope::sign(
            vouch::statement::REGISTRY_TYPE,
            &serde_json::to_vec(&genesis).unwrap(),
            &[&cast.gov[0]],
        ),
        envelope::sign(
            vouch::statement::REGISTRY_TYPE,
            &serde_json::to_vec(&register).unwrap(),
            &[register_signer],
        ),
        envelope::sign(
            STATEMENT_TYPE,
            &serde_json::to_vec(&audit).unwrap(),
            &[&evil],
        ),
    ];
    let subjects = ["registry", "registry", FACTORY];
    let mut tree = MemoryTree::new();
    let mut entries = Vec::new();
    let mut last_registry = None;
    for (i, (env, subject)) in envelopes.iter().zip(subjects).enumerate() {
        let prev = if subject == "registry" {
            last_registry
        } else {
            None
        };
        let e = Entry {
            v: 1,
            logged_at: now(),
            subject: subject.into(),
            prev: prev.map(|(index, leaf)| Prev {
                index,
                leaf_hash: encode_hash(&leaf),
            }),
            envelope: env.clone(),
        };
        let bytes = e.to_bytes();
        let leaf = merkle::leaf_hash(&bytes);
        if subject == "registry" {
            last_registry = Some((i as u64, leaf));
        }
        tree.push(leaf);
        entries.push(bytes);
    }
    let (head, head_leaf) = last_registry.unwrap();
    let checkpoint = Checkpoint::new(
        cast.log_key.name().as_str(),
        3,
        tree.root(),
        vec![entry::registry_head_line(head, &head_leaf)],
    )
    .unwrap();
    let proven = |i: u64| ProvenEntry {
        index: i,
        decoded: None,
        entry: BASE64.encode(&entries[i as usize]),
        inclusion_proof: merkle::inclusion_proof(&tree, i, 3)
            .unwrap()
            .iter()
            .map(encode_hash)
            .collect(),
    };
    let p = proven(2);
    let bundle = Bundle {
        index: 2,
        entry: p.entry,
        tree_size: 3,
        inclusion_proof: p.inclusion_proof,
        checkpoint: checkpoint.sign(&[&cast.log_key]),
        // A checkpoint from before the supplier index: the whole registry, one chain.
        registry: vec![proven(0), proven(1)],
        registry_proofs: vec![],
        decoded: None,
    };
    (bundle, cast.log_key)
}

#[test]
fn a_registration_the_governance_did_not_sign_makes_the_bundle_invalid() {
    let cast = Cast::new();
    // Control: the same log with the registration signed by governance verifies.
    let (bundle, log_key) = forged_log(&cast.gov[0]);
    let report = verify::verify_bundle(&bundle, log_key.verifier(), OffsetDateTime::now_utc());
    assert_eq!(report.verdict, Verdict::Valid, "{:#?}", report.checks);
    // The operator registers an auditor on its own: refused by every verifier.
    let (bundle, log_key) = forged_log(&key("evil-auditor", 66));
    let report = verify::verify_bundle(&bundle, log_key.verifier(), OffsetDateTime::now_utc());
    assert_eq!(report.verdict, Verdict::Invalid);
    let registry = report.checks.iter().find(|c| c.name == "registry").unwrap();
    assert!(!registry.ok, "{registry:?}");
    assert!(
        registry.reason.contains("registry entry 1"),
        "{}",
        registry.reason
    );
}

#[test]
fn a_history_missing_its_beginning_or_of_another_supplier_is_invalid() {
    let ledger = Ledger::new(1);
    for i in 0..5 {
        ledger
            .submit(
                &statement(Kind::Audit, FACTORY, &format!("{i}")),
                &ledger.cast.auditor,
            )
            .unwrap();
        ledger
            .submit(
                &statement(Kind::Audit, OTHER_FACTORY, &format!("{i}")),
                &ledger.cast.auditor,
            )
            .unwrap();
    }
    let url = serve(ledger.log.clone());
    let key = ledger.cast.log_key.verifier().clone();
    let now = OffsetDateTime::now_utc();
    let full = vouch::client::fetch_history(&url, FACTORY).unwrap();
    assert_eq!(
        verify::verify_history(&full, FACTORY, &key, now).verdict,
        Verdict::Valid
    );
    // Newest first: without the last entry the history misses its beginning.
    let mut cut = full.clone();
    cut.entries.pop();
    let report = verify::verify_history(&cut, FACTORY, &key, now);
    assert_eq!(report.verdict, Verdict::Invalid);
    assert!(
        report
            .checks
            .iter()
            .any(|c| !c.ok && c.reason.contains("earlier entries are left out")),
        "{:#?}",
        report.checks
    );
    let mut gap = full.clone();
    gap.entries.remove(2);
    assert_eq!(
        verify::verify_history(&gap, FACTORY, &key, now).verdict,
        Verdict::Invalid
    );
    assert_eq!(
        verify::verify_history(&full, OTHER_FACTORY, &key, now).verdict,
        Verdict::Invalid
    );
    // Another supplier's entries passed off as this one's.
    let other = vouch::client::fetch_history(&url, OTHER_FACTORY).unwrap();
    let mut mixed = full.clone();
    mixed.entries = other.entries;
    assert_eq!(
        verify::verify_history(&mixed, FACTORY, &key, now).verdict,
        Verdict::Invalid
    );
}

#[test]
fn a_retraction_by_someone_else_makes_a_history_invalid() {
    let cast = Cast::new();
    let reg = |change: &RegistryStatement| {
        envelope::sign(
            vouch::statement::REGISTRY_TYPE,
            &serde_json::to_vec(change).unwrap(),
            &[&cast.gov[0]],
        )
    };
    let stmt = |s: &vouch::statement::Statement, k: &Signer| {
        envelope::sign(STATEMENT_TYPE, &serde_json::to_vec(s).unwrap(), &[k])
    };
    let history_with_retraction_by = |retractor: &Signer| {
        let genesis = RegistryStatement::Genesis {
            threshold: 1,
            participants: vec![spec("platform", &[Role::Governance], &cast.gov[0], &[])],
            issued_at: now(),
        };
        let rating = statement(Kind::Rating, FACTORY, "grade A");
        let items = vec![
            (reg(&genesis), "registry"),
            (
                reg(&RegistryStatement::Register {
                    participant: spec("kiwa", &[Role::Auditor], &cast.auditor, &[]),
                    issued_at: now(),
                }),
                "registry",
            ),
            (
                reg(&RegistryStatement::Register {
                    participant: spec("brand", &[Role::Buyer], &cast.buyer, &[]),
                    issued_at: now(),
                }),
                "registry",
            ),
            (stmt(&rating, &cast.buyer), FACTORY),
        ];
        let mut log = ForgedLog::new();
        for (env, subject) in items {
            log.push(env, subject);
        }
        // The rating is entry 3; its leaf hash, as the retraction names it.
        let mut retraction = statement(Kind::Retraction, FACTORY, "withdrawn");
        retraction.refs = vec![vouch::statement::EntryRef {
            index: 3,
            leaf_hash: encode_hash(&log.leaf(3)),
        }];
        log.push(stmt(&retraction, retractor), FACTORY);
        let index = log.honest_index();
        let checkpoint = log.checkpoint(Some(&index), &cast.log_key);
        log.history(FACTORY, &index, checkpoint)
    };
    let now = OffsetDateTime::now_utc();
    let key = cast.log_key.verifier();
    let by_buyer =
        verify::verify_history(&history_with_retraction_by(&cast.buyer), FACTORY, key, now);
    assert_eq!(by_buyer.verdict, Verdict::Valid, "{by_buyer:#?}");
    // Newest first: the retraction, then the rating it retracts.
    assert_eq!(by_buyer.entries[1].standing.retracted_by, vec![4]);
    let by_auditor = verify::verify_history(
        &history_with_retraction_by(&cast.auditor),
        FACTORY,
        key,
        now,
    );
    assert_eq!(by_auditor.verdict, Verdict::Invalid);
    assert!(
        by_auditor.entries[0]
            .checks
            .iter()
            .any(|c| c.name == "references" && !c.ok),
        "{:#?}",
        by_auditor.entries[0]
    );
    assert!(by_auditor.entries[1].standing.retracted_by.is_empty());
}

/// A registry change's bundle verifies as one: in the tree, in a chain the index proves
/// whole, replayed from the genesis entry; its signers are the governance keys that
/// signed it. Without its chain, it does not.
#[test]
fn a_registry_change_verifies_from_its_bundle() {
    let l = Ledger::new(1);
    let now = OffsetDateTime::now_utc();
    let size = l.log.head().checkpoint.size();
    for index in 0..size {
        let bundle = l.log.view().bundle(index).unwrap();
        let report = verify::verify_bundle(&bundle, l.log.verifier(), now);
        assert_eq!(
            report.verdict,
            Verdict::Valid,
            "entry {index}: {:#?}",
            report.checks
        );
        assert!(
            report
                .checks
                .iter()
                .any(|c| c.name == "registry change" && c.ok),
            "{:#?}",
            report.checks
        );
        assert!(
            report.signers.contains(&"platform-a".to_string()),
            "{:?}",
            report.signers
        );
    }
    // The kiwa registration without its own chain: nothing replays it.
    let mut bundle = l.log.view().bundle(1).unwrap();
    assert_eq!(bundle.decoded.as_ref().unwrap().subject, "registry:kiwa");
    bundle.registry.retain(|e| e.index != 1);
    bundle
        .registry_proofs
        .retain(|p| p.subject != "registry:kiwa");
    let report = verify::verify_bundle(&bundle, l.log.verifier(), now);
    assert_eq!(report.verdict, Verdict::Invalid, "{:#?}", report.checks);
    let failed = report.checks.iter().find(|c| !c.ok).unwrap();
    assert_eq!(failed.name, "registry change", "{:#?}", report.checks);
}
