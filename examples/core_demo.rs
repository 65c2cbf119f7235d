//! A tour of the log core, using only the public library API: create a log in a
//! temporary directory, append supplier records from many tasks at once, then prove
//! and verify inclusion and consistency against signed checkpoints, as a client would.
//!
//! Run it with `cargo run --release --example core_demo`.

use std::sync::Arc;

use vouch::log::{Log, LogConfig, Submission};
use vouch::merkle;
use vouch::note::{Checkpoint, KeyName, Signer};
use vouch::store::{SledOptions, SledStore, Store};
use vouch::tiles::TilePath;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path(), &SledOptions::default())?);
    let signer = Signer::generate(KeyName::new("vouch.example/vn-apparel")?)?;
    Log::create(store.clone(), &signer)?;
    let log = Arc::new(Log::open(
        store,
        Some(signer.clone()),
        LogConfig::default(),
    )?);
    println!("log {} with key {}", log.origin(), log.verifier());

    let factories = ["VN2019303BQ3FZ9", "VN2024164XQ3F74", "VN2021087KD2M9Q"];
    let mut tasks = Vec::new();
    for i in 0..300u32 {
        let log = log.clone();
        let supplier = factories[i as usize % factories.len()];
        tasks.push(tokio::spawn(async move {
            let entry = format!(
                r#"{{"supplier":"{supplier}","topic":"water","month":{i},"m3_per_1000_pieces":{}}}"#,
                40 + i % 7
            );
            log.append(Submission { entry: entry.into_bytes(), subject: Some(supplier.into()) }).await
        }));
    }
    let mut receipts = Vec::new();
    for t in tasks {
        receipts.push(t.await??);
    }
    let mut batches: Vec<u64> = receipts.iter().map(|r| r.head.checkpoint.size()).collect();
    batches.sort_unstable();
    batches.dedup();
    println!(
        "appended {} entries in {} group commits",
        receipts.len(),
        batches.len()
    );

    let head = log.head();
    print!("\nlatest checkpoint:\n{}", head.signed);

    // A client trusts only the log's public key and what it can check.
    let (checkpoint, _) = Checkpoint::open(head.signed.as_bytes(), signer.verifier())?;
    let r = &receipts[42];
    let proof = log.view().inclusion_proof(r.index, checkpoint.size())?;
    merkle::verify_inclusion(
        &r.leaf_hash,
        r.index,
        checkpoint.size(),
        &proof,
        checkpoint.root(),
    )?;
    println!(
        "\nentry {} is in the tree of size {} ({} proof hashes)",
        r.index,
        checkpoint.size(),
        proof.len()
    );

    let old = &receipts[0].head.checkpoint;
    let proof = log
        .view()
        .consistency_proof(old.size(), checkpoint.size())?;
    merkle::verify_consistency(
        old.size(),
        checkpoint.size(),
        &proof,
        old.root(),
        checkpoint.root(),
    )?;
    println!(
        "checkpoint {} is a prefix of checkpoint {}: the log did not rewrite itself",
        old.size(),
        checkpoint.size()
    );

    let history = log.view().subject_entries(factories[0], 0, 5)?;
    println!(
        "\nfirst entries about {}: {:?}",
        factories[0],
        history.iter().map(|e| e.0).collect::<Vec<_>>()
    );
    let tile = TilePath::parse("tile/entries/001.p/44")?;
    println!("{tile}: {} bytes", log.view().tile(&tile)?.len());
    Ok(())
}
