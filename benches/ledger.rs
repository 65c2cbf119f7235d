//! Ledger benchmark: run with `cargo bench --bench ledger`. Prints figures; asserts
//! nothing about time.
//!
//! Signed attestations (about 1 KiB statements, pre-signed by 50 registered auditor
//! keys) submitted from 64 tasks, verified, checked against the policy and appended
//! durably. Then the parts on their own, on the same statements: parsing and
//! validation, signature verification (batched as the sequencer does it, and one at a
//! time), and durable storage of entries of the same size.

mod common;

use std::sync::Arc;

use common::{key, registry_envelope, statement, supplier};
use std::time::Instant;

use time::OffsetDateTime;
use vouch::envelope;
use vouch::log::{timestamp, Log, LogConfig, Signed, Submission};
use vouch::note::Signer;
use vouch::statement::{ParticipantSpec, RegistryStatement, Role, STATEMENT_TYPE};
use vouch::store::{SledOptions, SledStore, Store};

const TASKS: usize = 64;
const KEYS: usize = 50;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n: usize = std::env::var("VOUCH_BENCH_ATTESTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SledStore::open(dir.path(), &SledOptions::default()).unwrap());
    let log_key = key("bench.example/ledger", 1);
    let gov = key("platform", 2);
    let now = timestamp(OffsetDateTime::now_utc());
    let genesis = RegistryStatement::Genesis {
        threshold: 1,
        participants: vec![ParticipantSpec {
            id: "platform".into(),
            name: "Platform".into(),
            roles: vec![Role::Governance],
            supplier_ids: vec![],
            keys: vec![gov.verifier().to_string()],
            accreditation: None,
        }],
        issued_at: now.clone(),
    };
    let signed = Signed::parse(&registry_envelope(&genesis, &gov)).unwrap();
    Log::create_ledger(store.clone(), &log_key, &signed, OffsetDateTime::now_utc()).unwrap();
    let log = Arc::new(Log::open(store, Some(log_key), LogConfig::default()).unwrap());
    let auditors: Vec<Signer> = (0..KEYS)
        .map(|i| key(&format!("auditor-{i}"), 100 + i as u64))
        .collect();
    for (i, a) in auditors.iter().enumerate() {
        let change = RegistryStatement::Register {
            participant: ParticipantSpec {
                id: format!("auditor-{i}"),
                name: format!("Auditor {i}"),
                roles: vec![Role::Auditor],
                supplier_ids: vec![],
                keys: vec![a.verifier().to_string()],
                accreditation: None,
            },
            issued_at: now.clone(),
        };
        log.submit_blocking(&registry_envelope(&change, &gov))
            .unwrap();
    }

    let start = Instant::now();
    let envelopes: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            envelope::sign(STATEMENT_TYPE, &statement(i, &now), &[&auditors[i % KEYS]]).to_json()
        })
        .collect();
    let avg = envelopes.iter().map(Vec::len).sum::<usize>() / n;
    let payload = statement(0, &now).len();
    println!(
        "pre-signed {n} envelopes ({payload}-byte statements, {avg}-byte envelopes) in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let envelopes = Arc::new(envelopes);

    // End to end: 64 tasks submitting, each waiting for its receipt.
    let start = Instant::now();
    common::submit_all(&rt, &log, &envelopes, TASKS);
    let total = start.elapsed().as_secs_f64();
    let per = total * 1e6 / n as f64;
    println!(
        "end to end: {n} attestations in {total:.2} s = {:.0}/s ({per:.1} µs each)",
        n as f64 / total
    );
    println!(
        "log size {}, on disk {:.0} MiB",
        log.head().size(),
        log.store().size_on_disk().unwrap_or(0) as f64 / 1048576.0
    );

    // The parts alone, one thread each, on the same envelopes; parsed as a submission
    // is (`Log::parse_submitted`: DSSE's encodings allowed, rewritten as stored).
    let sample = n.min(50_000);
    let t = Instant::now();
    let parsed: Vec<Signed> = envelopes[..sample]
        .iter()
        .map(|e| log.parse_submitted(e).unwrap())
        .collect();
    let parse = t.elapsed().as_secs_f64() * 1e6 / sample as f64;
    let registry = log.registry().unwrap();
    let t = Instant::now();
    for s in &parsed {
        let (_, _, key) = registry.key(s.opened.signatures[0].0).unwrap();
        assert!(envelope::signature_holds(
            &s.opened.pae,
            &s.opened.signatures[0].1,
            key
        ));
    }
    let rule = t.elapsed().as_secs_f64() * 1e6 / sample as f64;
    let t = Instant::now();
    for s in &parsed {
        let (_, _, key) = registry.key(s.opened.signatures[0].0).unwrap();
        assert!(s.opened.verify_one(0, key));
    }
    let remembered = t.elapsed().as_secs_f64() * 1e6 / sample as f64;
    println!(
        "parse + validate: {parse:.1} µs; signature: {rule:.1} µs checked, {remembered:.1} µs through the memo of verified signatures (the newest {} the log accepted are remembered)",
        envelope::SIGNATURES_KEPT
    );
    drop(parsed);

    // Storage alone: a raw log, entries of the ledger's entry size, same tasks.
    let entry_len = log.view().entry(KEYS as u64 + 1).unwrap().len();
    let raw_dir = tempfile::tempdir().unwrap();
    let raw_store: Arc<dyn Store> =
        Arc::new(SledStore::open(raw_dir.path(), &SledOptions::default()).unwrap());
    let raw_key = key("bench.example/raw", 3);
    Log::create(raw_store.clone(), &raw_key).unwrap();
    let raw = Arc::new(Log::open(raw_store, Some(raw_key), LogConfig::default()).unwrap());
    let start = Instant::now();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for t in 0..TASKS {
            let raw = raw.clone();
            tasks.push(tokio::spawn(async move {
                for i in (t..n).step_by(TASKS) {
                    let mut entry = vec![b'x'; entry_len];
                    entry[..8].copy_from_slice(&(i as u64).to_le_bytes());
                    raw.append(Submission {
                        entry,
                        subject: Some(supplier(i)),
                    })
                    .await
                    .unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    let storage = start.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!("storage alone ({entry_len}-byte entries with subjects, 64 tasks): {storage:.1} µs each = {:.0}/s", 1e6 / storage);
    // The parts overlap on the machine's cores (parsing runs in the submitting tasks,
    // signatures and policy in the sequencer, the flush in the sync thread), so their
    // shares are of the CPU time they would take one after another.
    let policy = (per - rule - parse - storage).max(0.0);
    let sum = rule + parse + storage + policy;
    println!(
        "CPU shares per attestation: signature verification {:.0}%, parse+validate {:.0}%, storage {:.0}%, policy and sequencing (the rest of the end-to-end time) {:.0}%",
        100.0 * rule / sum,
        100.0 * parse / sum,
        100.0 * storage / sum,
        100.0 * policy / sum
    );
}
