//! An NGO watches the log: it remembers the checkpoint it saw last time, checks that
//! today's tree extends it (the log was not rewritten), and verifies every factory's
//! public history, listing retractions and supplier responses.
//!
//! ```sh
//! cargo run --release -- serve --demo &
//! cargo run --example ngo_history -- --url http://127.0.0.1:8080
//! ```

use std::path::PathBuf;

use clap::Parser;
use vouch::note::Checkpoint;
use vouch::verify::{self, Verdict};
use vouch::{client, keyfile};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    #[arg(long, default_value = "keys/demo.vouch.example_vn-apparel.pub")]
    log_key: PathBuf,
    /// Where the NGO keeps the last checkpoint it saw.
    #[arg(long, default_value = "target/ngo-last-checkpoint.txt")]
    state: PathBuf,
}

const FACTORIES: [&str; 10] = [
    "VN2019303BQ3FZ9",
    "VN2020114KD2M9D",
    "VN2021087TR7X4J",
    "VN2019256HP3K82",
    "VN2022031MN5Q2N",
    "VN2020199WS816Z",
    "VN2023012ZC4R7W",
    "VN2021145GT9N3Y",
    "VN2022208PB6V1Q",
    "VN2019317YK2D50",
];

fn main() -> Result<(), client::ClientError> {
    let args = Args::parse();
    let log_key = keyfile::read_verifier(&args.log_key)?;
    let base = args.url.trim_end_matches('/');
    let text = ureq::get(&format!("{base}/checkpoint"))
        .call()?
        .into_string()?;
    let (now, _) = Checkpoint::open(text.as_bytes(), &log_key)?;
    println!("checkpoint: tree size {}", now.size());
    match std::fs::read_to_string(&args.state) {
        Ok(old_text) => {
            client::check_extends(&args.url, &old_text, &text, &log_key)?;
            let (old, _) = Checkpoint::open(old_text.as_bytes(), &log_key)?;
            println!(
                "the log extends the tree of size {} seen last time: nothing was rewritten",
                old.size()
            );
        }
        Err(_) => println!("first visit: remembering this checkpoint for next time"),
    }
    if let Some(dir) = args.state.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.state, &text)?;

    for id in FACTORIES {
        let history = client::fetch_history(&args.url, id)?;
        let report =
            verify::verify_history(&history, id, &log_key, time::OffsetDateTime::now_utc());
        let retracted: Vec<u64> = report
            .entries
            .iter()
            .filter(|e| !e.standing.retracted_by.is_empty())
            .map(|e| e.index)
            .collect();
        let answered: Vec<u64> = report
            .entries
            .iter()
            .filter(|e| !e.standing.answered_by.is_empty())
            .map(|e| e.index)
            .collect();
        println!(
            "{id}: {:?}, {} entries{}{}",
            report.verdict,
            report.entries.len(),
            if retracted.is_empty() {
                String::new()
            } else {
                format!(", retracted: {retracted:?}")
            },
            if answered.is_empty() {
                String::new()
            } else {
                format!(", answered by the supplier: {answered:?}")
            },
        );
        if report.verdict != Verdict::Valid {
            for c in report.checks.iter().filter(|c| !c.ok) {
                println!("  {}: {}", c.name, c.reason);
            }
        }
    }
    Ok(())
}
