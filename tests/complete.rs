//! Histories a dishonest operator could serve, each caught with the failed check named:
//! newest entries left out, a second chain, a hidden supplier, an index that does not
//! match the entries, a registry revocation left out.

mod common;

use common::forge::ForgedLog;
use common::*;
use time::OffsetDateTime;
use vouch::envelope::{self, Envelope};
use vouch::index::{self, ChainHead};
use vouch::note::Checkpoint;
use vouch::statement::{Kind, RegistryStatement, Role, REGISTRY_TYPE, STATEMENT_TYPE};
use vouch::verify::{self, HistoryReport, Verdict};

/// Genesis and an auditor; then `audits` audits of FACTORY and one of OTHER_FACTORY.
fn start(cast: &Cast) -> ForgedLog {
    let reg = |change: &RegistryStatement| {
        envelope::sign(
            REGISTRY_TYPE,
            &serde_json::to_vec(change).unwrap(),
            &[&cast.gov[0]],
        )
    };
    let mut log = ForgedLog::new();
    log.push(
        reg(&RegistryStatement::Genesis {
            threshold: 1,
            participants: vec![spec("platform", &[Role::Governance], &cast.gov[0], &[])],
            issued_at: now(),
        }),
        "registry",
    );
    log.push(
        reg(&RegistryStatement::Register {
            participant: spec("kiwa", &[Role::Auditor], &cast.auditor, &[]),
            issued_at: now(),
        }),
        "registry",
    );
    log
}

fn audit(cast: &Cast, supplier: &str, what: &str) -> Envelope {
    let s = statement(Kind::Audit, supplier, what);
    envelope::sign(
        STATEMENT_TYPE,
        &serde_json::to_vec(&s).unwrap(),
        &[&cast.auditor],
    )
}

fn check<'a>(report: &'a HistoryReport, name: &str) -> &'a verify::Check {
    report
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no {name} check: {:#?}", report.checks))
}

/// [`start`], three audits of FACTORY, the honest index and its checkpoint.
fn three_audits(cast: &Cast) -> (ForgedLog, index::Index, String) {
    let mut log = start(cast);
    for i in 0..3 {
        log.push(audit(cast, FACTORY, &i.to_string()), FACTORY);
    }
    let index = log.honest_index();
    let cp = log.checkpoint(Some(&index), &cast.log_key);
    (log, index, cp)
}

fn verify(cast: &Cast, h: &vouch::bundle::History, supplier: &str) -> HistoryReport {
    verify::verify_history(
        h,
        supplier,
        cast.log_key.verifier(),
        OffsetDateTime::now_utc(),
    )
}

#[test]
fn an_honest_history_is_complete_and_an_unknown_supplier_is_proven_absent() {
    let cast = Cast::new();
    let (log, index, cp) = three_audits(&cast);
    let r = verify(&cast, &log.history(FACTORY, &index, cp.clone()), FACTORY);
    assert_eq!(r.verdict, Verdict::Valid, "{:#?}", r.checks);
    assert!(check(&r, "complete").reason.contains("all 3 entries"));
    let r = verify(
        &cast,
        &log.history(OTHER_FACTORY, &index, cp),
        OTHER_FACTORY,
    );
    assert_eq!(r.verdict, Verdict::Valid, "{:#?}", r.checks);
    assert!(check(&r, "complete")
        .reason
        .contains("proves that no entry is about"));
}

#[test]
fn a_history_without_its_newest_entry_is_incomplete() {
    let cast = Cast::new();
    let (log, index, cp) = three_audits(&cast);
    let mut h = log.history(FACTORY, &index, cp.clone());
    h.entries.remove(0);
    let r = verify(&cast, &h, FACTORY);
    assert_eq!(r.verdict, Verdict::Invalid);
    let c = check(&r, "complete");
    assert!(
        !c.ok && c.reason.contains("newer entries are left out"),
        "{}",
        c.reason
    );
    // Without the index proof nothing can be proven complete.
    let mut h = log.history(FACTORY, &index, cp);
    h.index_proof = None;
    assert!(!check(&verify(&cast, &h, FACTORY), "complete").ok);
}

#[test]
fn a_second_chain_started_with_no_prev_is_caught_by_the_count() {
    let cast = Cast::new();
    let mut log = start(&cast);
    log.push(audit(&cast, FACTORY, "first"), FACTORY);
    log.push(audit(&cast, FACTORY, "second"), FACTORY);
    // A new chain: the log hides the two before behind an entry with no `prev`.
    log.push_with_prev(audit(&cast, FACTORY, "fresh start"), FACTORY, None);
    let index = log.honest_index();
    let cp = log.checkpoint(Some(&index), &cast.log_key);
    let whole = log.history(FACTORY, &index, cp);
    // Served with only the new chain: the index counts three.
    let mut h = whole.clone();
    h.entries.truncate(1);
    let c = check(&verify(&cast, &h, FACTORY), "complete").clone();
    assert!(!c.ok && c.reason.contains("counts 3"), "{}", c.reason);
    // Served with all three: the chain ends after one.
    let c = check(&verify(&cast, &whole, FACTORY), "complete").clone();
    assert!(
        !c.ok && c.reason.contains("more entries than its chain"),
        "{}",
        c.reason
    );
}

#[test]
fn a_hidden_supplier_cannot_be_proven_absent_and_a_lying_index_is_caught_by_replay() {
    let cast = Cast::new();
    let mut log = start(&cast);
    log.push(audit(&cast, FACTORY, "finding"), FACTORY);
    log.push(audit(&cast, OTHER_FACTORY, "other"), OTHER_FACTORY);
    let index = log.honest_index();
    let cp = log.checkpoint(Some(&index), &cast.log_key);
    // Against the honest index: no proof of absence can be made, whichever is offered.
    let mut h = log.history(FACTORY, &index, cp.clone());
    h.entries.clear();
    for proof in [
        index.prove(&index::key(OTHER_FACTORY)),
        index::Proof {
            leaf: None,
            siblings: index.prove(&index::key(FACTORY)).siblings,
        },
    ] {
        h.index_proof = Some(proof.to_json());
        let r = verify(&cast, &h, FACTORY);
        let c = check(&r, "complete");
        assert!(!c.ok, "{:#?}", r.checks);
    }
    // An index that leaves FACTORY out: its own proof of absence verifies, so the
    // history alone cannot tell; replaying the log against the checkpoint does.
    let lying = index::Index::from_heads(
        index
            .heads()
            .into_iter()
            .filter(|(k, _)| *k != index::key(FACTORY)),
    );
    let cp = log.checkpoint(Some(&lying), &cast.log_key);
    let mut h = log.history(FACTORY, &lying, cp.clone());
    h.entries.clear();
    assert_eq!(verify(&cast, &h, FACTORY).verdict, Verdict::Valid);
    let (checkpoint, _) = Checkpoint::open(cp.as_bytes(), cast.log_key.verifier()).unwrap();
    let err =
        verify::check_index_root(log.entries.iter().map(Vec::as_slice), &checkpoint).unwrap_err();
    assert!(err.contains("not the index of its entries"), "{err}");
    // And one that misstates a head (count one less) likewise.
    let k = index::key(FACTORY);
    let h0 = index.get(&k).unwrap();
    let misstated = index.with([(
        k,
        ChainHead {
            count: h0.count + 1,
            ..h0
        },
    )]);
    let cp = log.checkpoint(Some(&misstated), &cast.log_key);
    let (checkpoint, _) = Checkpoint::open(cp.as_bytes(), cast.log_key.verifier()).unwrap();
    assert!(verify::check_index_root(log.entries.iter().map(Vec::as_slice), &checkpoint).is_err());
    // The honest one replays to its root.
    let cp = log.checkpoint(Some(&index), &cast.log_key);
    let (checkpoint, _) = Checkpoint::open(cp.as_bytes(), cast.log_key.verifier()).unwrap();
    let replayed =
        verify::check_index_root(log.entries.iter().map(Vec::as_slice), &checkpoint).unwrap();
    assert_eq!(replayed.len(), 3);
}

#[test]
fn a_bundle_without_a_registry_revocation_is_invalid() {
    let ledger = Ledger::new(1);
    let revoked = key("revoked-auditor", 40);
    ledger
        .registry(&RegistryStatement::Register {
            participant: spec("old-auditor", &[Role::Auditor], &revoked, &[]),
            issued_at: now(),
        })
        .unwrap();
    let audit = ledger
        .submit(&statement(Kind::Audit, FACTORY, "before"), &revoked)
        .unwrap();
    let revocation = ledger
        .registry(&RegistryStatement::RevokeKey {
            participant: "old-auditor".into(),
            key_id: format!("{:08x}", revoked.key_id()),
            compromised_since: Some(vouch::statement::Since::Index(audit.index)),
            issued_at: now(),
        })
        .unwrap();
    let url = serve(ledger.log.clone());
    let bundle: vouch::bundle::Bundle = ureq::get(&format!("{url}/v1/entries/{}", audit.index))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let key = ledger.cast.log_key.verifier();
    let now = OffsetDateTime::now_utc();
    let report = verify::verify_bundle(&bundle, key, now);
    assert_eq!(report.verdict, Verdict::Suspect, "{:#?}", report.checks);
    let mut cut = bundle.clone();
    cut.registry.retain(|p| p.index != revocation.index);
    let report = verify::verify_bundle(&cut, key, now);
    assert_eq!(report.verdict, Verdict::Invalid);
    let registry = report.checks.iter().find(|c| c.name == "registry").unwrap();
    assert!(!registry.ok, "{registry:?}");
}

/// At the sector's scale (about 10,000 participants) a bundle carries the governance
/// chain and its signer's own chain, not the registry: it stays under 16 KiB. Leaving
/// out a revocation from the signer's chain is caught by the index proof.
#[test]
fn a_bundle_stays_small_with_ten_thousand_participants_and_keeps_every_revocation() {
    let ledger = Ledger::new(1);
    let n = 10_000;
    std::thread::scope(|s| {
        for t in 0..8 {
            let ledger = &ledger;
            s.spawn(move || {
                for i in (t..n).step_by(8) {
                    let k = vouch::note::Signer::from_seed(
                        vouch::note::KeyName::new(&format!("auditor-{i}")).unwrap(),
                        sha2_seed(i),
                    );
                    ledger
                        .registry(&RegistryStatement::Register {
                            participant: spec(&format!("auditor-{i}"), &[Role::Auditor], &k, &[]),
                            issued_at: now(),
                        })
                        .unwrap();
                }
            });
        }
    });
    assert_eq!(ledger.log.registry().unwrap().participants.len(), n + 7);
    let signer = vouch::note::Signer::from_seed(
        vouch::note::KeyName::new("auditor-4242").unwrap(),
        sha2_seed(4242),
    );
    let audit = ledger
        .submit(
            &statement(Kind::Audit, FACTORY, "by one of ten thousand"),
            &signer,
        )
        .unwrap();
    let revocation = ledger
        .registry(&RegistryStatement::RevokeKey {
            participant: "auditor-4242".into(),
            key_id: format!("{:08x}", signer.key_id()),
            compromised_since: Some(vouch::statement::Since::Index(audit.index)),
            issued_at: now(),
        })
        .unwrap();
    let bundle = ledger.log.view().bundle(audit.index).unwrap();
    let bytes = serde_json::to_vec(&bundle).unwrap().len();
    println!("a bundle with {} participants: {bytes} bytes", n + 7);
    assert!(bytes < 16 * 1024, "a bundle of {bytes} bytes");
    let key = ledger.cast.log_key.verifier();
    let now = OffsetDateTime::now_utc();
    let report = verify::verify_bundle(&bundle, key, now);
    assert_eq!(report.verdict, Verdict::Suspect, "{:#?}", report.checks);
    // The signer's chain is its registration and its revocation, under its own subject.
    let own: Vec<u64> = bundle
        .registry
        .iter()
        .filter(|p| p.index > 0)
        .map(|p| p.index)
        .collect();
    assert!(own.contains(&revocation.index), "{own:?}");
    let mut cut = bundle.clone();
    cut.registry.retain(|p| p.index != revocation.index);
    let report = verify::verify_bundle(&cut, key, now);
    assert_eq!(report.verdict, Verdict::Invalid);
    let registry = report.checks.iter().find(|c| c.name == "registry").unwrap();
    assert!(
        !registry.ok && registry.reason.contains("left out"),
        "{registry:?}"
    );
    // Nor can the signer's chain be dropped whole, proof and all.
    let mut dropped = bundle.clone();
    dropped.registry.retain(|p| p.index == 0);
    dropped
        .registry_proofs
        .retain(|p| p.subject != "registry:auditor-4242");
    let report = verify::verify_bundle(&dropped, key, now);
    assert_eq!(report.verdict, Verdict::Invalid, "{:#?}", report.checks);
}

/// A distinct key seed for participant `i`.
fn sha2_seed(i: usize) -> [u8; 32] {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
    seed[31] = 0xa5;
    seed
}

/// The log's own pages take an envelope signature as the log checked it at admission
/// (`verify_own_history`), and only for an entry its signed tree proves: a bad
/// signature the log's key signed into its tree is refused by every reader's
/// verification, and bytes changed after the tree was made are refused by both.
#[test]
fn the_log_takes_signatures_as_admitted_only_for_entries_its_signed_tree_proves() {
    use base64::Engine as _;
    let cast = Cast::new();
    let mut log = start(&cast);
    log.push(audit(&cast, FACTORY, "0"), FACTORY);
    let mut bad = audit(&cast, FACTORY, "1");
    let mut sig = vouch::note::BASE64.decode(&bad.signatures[0].sig).unwrap();
    sig[5] ^= 1;
    bad.signatures[0].sig = vouch::note::BASE64.encode(&sig);
    let at = log.push(bad, FACTORY);
    let index = log.honest_index();
    let cp = log.checkpoint(Some(&index), &cast.log_key);
    let h = log.history(FACTORY, &index, cp);
    let entry = |r: &HistoryReport| r.entries.iter().find(|e| e.index == at).unwrap().clone();

    // A reader checks every signature.
    let r = verify(&cast, &h, FACTORY);
    assert_eq!(r.verdict, Verdict::Invalid);
    let signers = entry(&r)
        .checks
        .into_iter()
        .find(|c| c.name == "signers")
        .unwrap();
    assert!(
        !signers.ok && signers.reason.contains("does not verify"),
        "{signers:?}"
    );

    // The log takes its admission's word for what its signed tree holds, and says so.
    let now = OffsetDateTime::now_utc();
    let own = verify::verify_own_history(&h, FACTORY, cast.log_key.verifier(), now);
    assert_eq!(own.verdict, Verdict::Valid, "{:#?}", own.checks);
    let signers = entry(&own)
        .checks
        .into_iter()
        .find(|c| c.name == "signers")
        .unwrap();
    assert!(signers
        .reason
        .contains("as this log checked them when it admitted"));

    // Bytes the tree does not prove get no such word: the entry is refused.
    let mut changed = h.clone();
    let p = changed.entries.iter_mut().find(|e| e.index == at).unwrap();
    let mut bytes = vouch::note::BASE64.decode(&p.entry).unwrap();
    let good = audit(&cast, FACTORY, "1");
    let mut e: vouch::entry::Entry = serde_json::from_slice(&bytes).unwrap();
    e.envelope = good;
    bytes = e.to_bytes();
    p.entry = vouch::note::BASE64.encode(&bytes);
    let own = verify::verify_own_history(&changed, FACTORY, cast.log_key.verifier(), now);
    assert_eq!(own.verdict, Verdict::Invalid);
    let refused = entry(&own);
    assert!(
        refused
            .checks
            .iter()
            .any(|c| c.name == "inclusion" && !c.ok),
        "{:#?}",
        refused.checks
    );
    assert!(refused.checks.iter().all(|c| c.name != "signers"));
}
