//! Witnessing benchmark: run with `cargo bench --bench witness`. Prints figures;
//! asserts nothing about time.
//!
//! 1. **Appends with 0, 1 and 3 witnesses**, same run: signed attestations submitted
//!    from 64 tasks to a ledger in process whose checkpoints go to that many witnesses
//!    (each a `vouch::witness` HTTP server on its own thread, state on disk), the three
//!    configurations in turn, five rounds (the first a warm-up), each on a fresh ledger.
//! 2. **From append to cosigned checkpoint**: one attestation every 150 ms, the time until
//!    the log serves its checkpoint with the cosignatures of all three witnesses; p50
//!    and p99.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{key, percentile, registry_envelope, statement};
use time::OffsetDateTime;
use vouch::envelope;
use vouch::log::{timestamp, Log, LogConfig, Signed, WitnessTarget};
use vouch::note::{Alg, KeyName, Signer};
use vouch::statement::{ParticipantSpec, RegistryStatement, Role, STATEMENT_TYPE};
use vouch::store::{SledOptions, SledStore, Store};

const TASKS: usize = 64;

fn spec(id: &str, role: Role, k: &Signer) -> ParticipantSpec {
    ParticipantSpec {
        id: id.into(),
        name: id.into(),
        roles: vec![role],
        supplier_ids: vec![],
        keys: vec![k.verifier().to_string()],
        accreditation: None,
    }
}

/// A fresh ledger with one auditor, sending its checkpoints to `witnesses` new
/// witnesses; the witnesses' keys.
fn ledger(
    dir: &std::path::Path,
    witnesses: usize,
    rt: &tokio::runtime::Runtime,
) -> (Arc<Log>, Signer, Vec<Signer>) {
    let store: Arc<dyn Store> =
        Arc::new(SledStore::open(&dir.join("log"), &SledOptions::default()).unwrap());
    let log_key = key("bench.example/witnessed", 1);
    let gov = key("platform", 2);
    let auditor = key("auditor", 3);
    let now = timestamp(OffsetDateTime::now_utc());
    let genesis = RegistryStatement::Genesis {
        threshold: 1,
        participants: vec![spec("platform", Role::Governance, &gov)],
        issued_at: now.clone(),
    };
    let signed = Signed::parse(&registry_envelope(&genesis, &gov)).unwrap();
    Log::create_ledger(store.clone(), &log_key, &signed, OffsetDateTime::now_utc()).unwrap();
    let log = Arc::new(Log::open(store, Some(log_key.clone()), LogConfig::default()).unwrap());
    log.submit_blocking(&registry_envelope(
        &RegistryStatement::Register {
            participant: spec("auditor", Role::Auditor, &auditor),
            issued_at: now,
        },
        &gov,
    ))
    .unwrap();
    let mut keys = Vec::new();
    let mut targets = Vec::new();
    for n in 0..witnesses {
        let w = Signer::from_seed_as(
            Alg::CosignatureV1,
            KeyName::new(&format!("witness.example/w{n}")).unwrap(),
            [10 + n as u8; 32],
        );
        let witness = Arc::new(
            vouch::witness::Witness::open(
                w.clone(),
                vec![log_key.verifier().clone()],
                &dir.join(format!("w{n}")),
            )
            .unwrap(),
        );
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        rt.spawn(async move { axum::serve(listener, vouch::witness::router(witness)).await });
        targets.push(WitnessTarget {
            url,
            key: w.verifier().clone(),
        });
        keys.push(w);
    }
    log.start_witnessing(targets);
    (log, auditor, keys)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n: usize = std::env::var("VOUCH_BENCH_ATTESTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let now = timestamp(OffsetDateTime::now_utc());
    let auditor = key("auditor", 3);
    let envelopes: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..n)
            .map(|i| envelope::sign(STATEMENT_TYPE, &statement(i, &now), &[&auditor]).to_json())
            .collect(),
    );
    let mut rates: Vec<(usize, Vec<f64>)> = vec![(0, vec![]), (1, vec![]), (3, vec![])];
    // Round 0 warms the machine up and is not counted.
    for round in 0..5 {
        for (witnesses, runs) in &mut rates {
            let dir = tempfile::tempdir().unwrap();
            let (log, _, _) = ledger(dir.path(), *witnesses, &rt);
            let start = Instant::now();
            common::submit_all(&rt, &log, &envelopes, TASKS);
            let rate = n as f64 / start.elapsed().as_secs_f64();
            println!("round {round}: {witnesses} witnesses: {n} appends at {rate:.0}/s");
            if round > 0 {
                runs.push(rate);
            }
            log.close();
        }
    }
    let base = rates[0].1.iter().sum::<f64>() / rates[0].1.len() as f64;
    for (w, runs) in &rates {
        let mean = runs.iter().sum::<f64>() / runs.len() as f64;
        println!(
            "{w} witnesses: {mean:.0} appends/s (mean of {}), {:.3} of no witnesses",
            runs.len(),
            mean / base
        );
    }

    // From append to a checkpoint cosigned by all three witnesses.
    let dir = tempfile::tempdir().unwrap();
    let (log, auditor, witnesses) = ledger(dir.path(), 3, &rt);
    let names: Vec<String> = witnesses
        .iter()
        .map(|w| format!("\u{2014} {} ", w.name()))
        .collect();
    let mut waits = Vec::new();
    for i in 0..200 {
        let e = envelope::sign(STATEMENT_TYPE, &statement(n + i, &now), &[&auditor]).to_json();
        // Appends as a ledger of audits sees them: now and then, not back to back
        // (back to back, a witness gets the newest checkpoint every 100 ms).
        std::thread::sleep(Duration::from_millis(150));
        let start = Instant::now();
        let receipt = log.submit_blocking(&e).unwrap();
        let size = receipt.index + 1;
        loop {
            let head = log.head();
            let note = log.with_cosignatures(head.size(), &head.signed);
            if head.size() >= size && names.iter().all(|n| note.contains(n.as_str())) {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "not cosigned");
            std::thread::sleep(Duration::from_micros(200));
        }
        waits.push(start.elapsed());
    }
    waits.sort();
    println!(
        "append to a checkpoint cosigned by 3 witnesses: p50 {:.1} ms, p99 {:.1} ms (200 appends 150 ms apart; each witness thread is woken when a checkpoint is published)",
        percentile(&waits, 0.50),
        percentile(&waits, 0.99)
    );
}
