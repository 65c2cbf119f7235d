//! A buyer checks a supplier's claim ("our chemicals management is conformant") without
//! trusting the supplier or the operator: it fetches the supplier's history, verifies
//! every entry against the log's public key, and looks for the newest auditor-signed
//! chemicals statement that is not retracted and not expired.
//!
//! ```sh
//! cargo run --release -- serve --demo &
//! cargo run --example buyer_verify -- --url http://127.0.0.1:8080
//! ```

use std::path::PathBuf;

use base64::Engine as _;
use clap::Parser;
use vouch::entry::Entry;
use vouch::note::BASE64;
use vouch::statement::{Kind, Statement, Topic};
use vouch::verify::{self, Verdict};
use vouch::{client, keyfile};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The supplier whose claim to check.
    #[arg(long, default_value = "VN2020114KD2M9D")]
    supplier: String,
    #[arg(long, default_value = "keys/demo.vouch.example_vn-apparel.pub")]
    log_key: PathBuf,
}

fn main() -> Result<(), client::ClientError> {
    let args = Args::parse();
    let log_key = keyfile::read_verifier(&args.log_key)?;
    let history = client::fetch_history(&args.url, &args.supplier)?;
    let report = verify::verify_history(
        &history,
        &args.supplier,
        &log_key,
        time::OffsetDateTime::now_utc(),
    );
    println!(
        "history of {}: {:?} ({} entries)",
        args.supplier,
        report.verdict,
        report.entries.len()
    );
    if report.verdict != Verdict::Valid {
        return Err("the history does not verify; believe nothing in it".into());
    }
    let mut found = None;
    for (r, p) in report.entries.iter().zip(&history.entries) {
        let bytes = BASE64.decode(&p.entry)?;
        let entry = Entry::parse(&bytes)?;
        let statement = Statement::parse(&BASE64.decode(&entry.envelope.payload)?)?;
        // Audits are auditor-signed by policy; metrics may be self-reported.
        let by_auditor = matches!(statement.kind, Kind::Audit | Kind::Metric) && !r.self_reported;
        // `valid` means not retracted, not superseded, not expired and not suspect.
        let current = r.verdict == Verdict::Valid;
        // Newest first: the first match is the newest.
        if found.is_none() && statement.topic == Topic::Chemicals && by_auditor && current {
            found = Some((r.index, r.signers.clone(), statement));
        }
    }
    match found {
        Some((index, signers, s)) => {
            let r = s.result.unwrap_or_default();
            println!(
                "newest verified chemicals statement: entry {index}, {} on {}, signed by {}: status {:?}, {}",
                s.kind,
                &s.issued_at[..10],
                signers.join(", "),
                r.status,
                r.metrics.iter().map(|m| format!("{} = {} {}", m.name, m.value, m.unit)).collect::<Vec<_>>().join(", ")
            );
        }
        None => println!("no current, auditor-signed chemicals statement: the claim is not backed"),
    }
    Ok(())
}
