//! An auditor files an audit with a running server (the demo's), then checks the
//! receipt it got back: the entry is in the tree of a checkpoint the log signed.
//!
//! ```sh
//! cargo run --release -- serve --demo &
//! cargo run --example auditor_submit -- --url http://127.0.0.1:8080
//! ```

use std::path::PathBuf;

use clap::Parser;
use vouch::entry::{decode_hash, encode_hash};
use vouch::note::Checkpoint;
use vouch::statement::{
    Finding, Framework, Kind, Metric, Outcome, Severity, Statement, Status, Supplier, SupplierId,
    Topic, STATEMENT_TYPE,
};
use vouch::{client, envelope, keyfile, merkle};

#[derive(Parser)]
struct Args {
    /// The vouch server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The auditor's private key.
    #[arg(long, default_value = "keys/delta-audit.key")]
    key: PathBuf,
    /// The log's public key.
    #[arg(long, default_value = "keys/demo.vouch.example_vn-apparel.pub")]
    log_key: PathBuf,
}

fn main() -> Result<(), client::ClientError> {
    let args = Args::parse();
    let auditor = keyfile::read_signer(&args.key)?;
    let log_key = keyfile::read_verifier(&args.log_key)?;
    let now = time::OffsetDateTime::now_utc();
    let statement = Statement {
        framework: Some(Framework {
            name: "ZDHC Wastewater Guidelines".into(),
            version: Some("2.1".into()),
        }),
        result: Some(Outcome {
            status: Some(Status::Conformant),
            metrics: vec![Metric {
                name: "cod_mg_per_l".into(),
                value: 58.0,
                unit: "mg/L".into(),
                unit_code: None,
            }],
            ..Outcome::default()
        }),
        findings: vec![Finding {
            code: "WW-00".into(),
            severity: Severity::Minor,
            text: "Effluent sampled at the outfall meets the foundational limits".into(),
        }],
        ..Statement::new(
            Kind::Audit,
            Supplier {
                id: SupplierId::new("VN2019303BQ3FZ9")?,
                name: "Song Hong Garment JSC".into(),
                country: "VN".into(),
                identifiers: Default::default(),
                province: None,
                address: None,
            },
            Topic::Wastewater,
            vouch::log::timestamp(now),
        )
    };
    statement.validate()?;
    let env = envelope::sign(
        STATEMENT_TYPE,
        &serde_json::to_vec(&statement)?,
        &[&auditor],
    );
    let receipt = client::post_envelope(&args.url, &env.to_json())?;
    println!(
        "filed as entry {} (leaf {})",
        receipt.index, receipt.leaf_hash
    );

    // Trust nothing the server says without checking it against the log's key.
    let (checkpoint, _) = Checkpoint::open(receipt.checkpoint.as_bytes(), &log_key)?;
    let proof = receipt
        .inclusion_proof
        .iter()
        .map(|h| decode_hash(h))
        .collect::<Result<Vec<_>, _>>()?;
    let leaf = decode_hash(&receipt.leaf_hash)?;
    merkle::verify_inclusion(
        &leaf,
        receipt.index,
        checkpoint.size(),
        &proof,
        checkpoint.root(),
    )?;
    println!(
        "receipt verified: entry {} is in the tree of size {} with root {}",
        receipt.index,
        checkpoint.size(),
        encode_hash(checkpoint.root())
    );
    Ok(())
}
