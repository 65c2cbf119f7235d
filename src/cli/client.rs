//! Commands that talk to a server: `serve`, `submit --url`, `verify`, `history`.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use time::OffsetDateTime;

use super::{demo, open_store, open_writable, CliResult, Exit, LogLocation};
use crate::bundle::Bundle;
use crate::client::fetch_history;
use crate::keyfile;
use crate::log::{Log, LogConfig};
use crate::note::Verifier;
use crate::server;
use crate::verify::{self, HistoryReport, Report, Verdict};
use crate::words;

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub at: LogLocation,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Create (first start) and serve a demo ledger of Vietnamese factories, keys in keys/.
    #[arg(long)]
    pub demo: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A bundle file (JSON, as GET /v1/entries/{index} returns it).
    pub bundle: PathBuf,
    /// The log's public key file (.pub): the only thing trusted.
    #[arg(long)]
    pub log_key: PathBuf,
    /// A server to ask for newer entries about the supplier (retractions, responses).
    #[arg(long)]
    pub url: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The supplier's OS ID.
    pub supplier: String,
    #[arg(long)]
    pub url: String,
    /// The log's public key file (.pub).
    #[arg(long)]
    pub log_key: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What a record says and who signed it, indented.
fn print_record(r: &Report, indent: &str) {
    if let Some(statement) = &r.statement {
        for (i, line) in words::describe(statement).iter().enumerate() {
            let pad = if i == 0 { "" } else { "  " };
            println!("{indent}{pad}{line}");
        }
    }
    for s in &r.signed_by {
        println!(
            "{indent}signed by {}{}",
            words::signer(s),
            if r.self_reported {
                " (self-reported by the supplier)"
            } else {
                ""
            }
        );
    }
}

fn print_report(r: &Report) {
    println!("entry {}: {}", r.index, r.verdict);
    print_record(r, "  ");
    for c in &r.checks {
        println!(
            "  [{}] {}: {}",
            if c.ok { "ok" } else { "FAIL" },
            c.name,
            c.reason
        );
    }
    let s = &r.standing;
    if !s.retracted_by.is_empty() {
        println!("  retracted by entry {:?}", s.retracted_by);
    }
    if !s.superseded_by.is_empty() {
        println!(
            "  replaced by the correction in entry {:?}",
            s.superseded_by
        );
    }
    if !s.answered_by.is_empty() {
        println!("  answered by the supplier in entry {:?}", s.answered_by);
    }
    if s.expired {
        println!("  expired (valid_until has passed)");
    }
    for n in &r.notes {
        println!("  note: {n}");
    }
}

/// `vouch verify`.
///
/// # Errors
/// When a file cannot be read, or the entry is not valid.
pub fn verify_bundle(args: VerifyArgs) -> CliResult {
    let log_key = keyfile::read_verifier(&args.log_key)?;
    let bytes = std::fs::read(&args.bundle)
        .map_err(|e| format!("cannot read {}: {e}", args.bundle.display()))?;
    let bundle: Bundle = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{} is not a bundle: {e}", args.bundle.display()))?;
    let now = OffsetDateTime::now_utc();
    let mut report = verify::verify_bundle(&bundle, &log_key, now);
    if let (Some(url), Some(subject), false) = (
        &args.url,
        report.subject.clone(),
        report.verdict == Verdict::Invalid,
    ) {
        // Newer data: the supplier's whole history at a checkpoint that extends the
        // bundle's, holding this very entry.
        let history = fetch_history(url, &subject)?;
        let h = verify::verify_history(&history, &subject, &log_key, now);
        crate::client::check_extends(url, &bundle.checkpoint, &history.checkpoint, &log_key)?;
        verify::apply_history(&mut report, &bundle, &history, &h)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    match report.verdict.exit_code() {
        0 => Ok(()),
        code => Err(Exit(code).into()),
    }
}

fn print_history(h: &HistoryReport) {
    let complete = h.checks.iter().any(|c| c.name == "complete" && c.ok);
    if h.entries.is_empty() && complete {
        println!(
            "{}: no records as of checkpoint {} (the log's supplier index proves it has none)",
            h.supplier, h.tree_size
        );
    } else {
        println!(
            "{}: {}, {} entries{}, newest first, as of checkpoint {}",
            h.supplier,
            h.verdict,
            h.entries.len(),
            if complete { " (complete)" } else { "" },
            h.tree_size
        );
    }
    for c in &h.checks {
        println!(
            "  [{}] {}: {}",
            if c.ok { "ok" } else { "FAIL" },
            c.name,
            c.reason
        );
    }
    if h.entries.is_empty() {
        return;
    }
    println!();
    for r in &h.entries {
        let issued: String = r
            .issued_at
            .as_deref()
            .unwrap_or("")
            .chars()
            .take(10)
            .collect();
        let mut note = Vec::new();
        if !r.standing.retracted_by.is_empty() {
            note.push(format!("withdrawn by entry {:?}", r.standing.retracted_by));
        }
        if !r.standing.superseded_by.is_empty() {
            note.push(format!("replaced by entry {:?}", r.standing.superseded_by));
        }
        if !r.standing.answered_by.is_empty() {
            note.push(format!("answered in entry {:?}", r.standing.answered_by));
        }
        let row = format!(
            "{:>7}  {:<10}  {:<10}  {}",
            r.index,
            issued,
            r.verdict.as_str(),
            note.join("; ")
        );
        println!("{}", row.trim_end());
        print_record(r, "         ");
    }
}

/// `vouch history`.
///
/// # Errors
/// When the server cannot be reached or the history does not verify.
pub fn history(args: HistoryArgs) -> CliResult {
    let log_key = keyfile::read_verifier(&args.log_key)?;
    let history = fetch_history(&args.url, &args.supplier)?;
    let report = verify::verify_history(
        &history,
        &args.supplier,
        &log_key,
        OffsetDateTime::now_utc(),
    );
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_history(&report);
    }
    if report.verdict == Verdict::Invalid {
        return Err(Exit(Verdict::Invalid.exit_code()).into());
    }
    Ok(())
}

fn demo_instructions(addr: &str, log_key: &Verifier, pub_path: &std::path::Path) -> String {
    let (_, name, os_id, _) = demo::FACTORIES[5];
    let url = format!("http://{addr}");
    format!(
        "\nvouch demo ledger {origin} on {url}\n\
         log public key: {key}\n  (written to {pub_path})\n\n\
         Try:\n\
         \x20 curl {url}/checkpoint\n\
         \x20 curl {url}/v1/participants\n\
         \x20 curl '{url}/v1/suppliers/{os_id}/history?limit=5'      # {name}\n\
         \x20 curl {url}/v1/entries/20 > bundle.json\n\
         \x20 cargo run --release -- verify bundle.json --log-key {pub_path} --url {url}\n\
         \x20 cargo run --release -- history {os_id} --url {url} --log-key {pub_path}\n\
         \x20 cargo run --example buyer_verify -- --url {url}\n\
         \x20 cargo run --example ngo_history -- --url {url}\n\
         \x20 cargo run --example auditor_submit -- --url {url}\n\
         \nCtrl-C stops the server; nothing acknowledged is lost.\n",
        origin = log_key.name(),
        key = log_key,
        pub_path = pub_path.display(),
    )
}

/// `vouch serve`.
///
/// # Errors
/// When the log cannot be opened or the address bound.
pub fn serve(args: ServeArgs) -> CliResult {
    let log = if args.demo {
        let store = open_store(&args.at.data)?;
        let keys = std::path::Path::new("keys");
        let key = demo::prepare(store.clone(), keys)?;
        Log::open(store, Some(key), LogConfig::default())?
    } else {
        open_writable(&args.at)?
    };
    let log = Arc::new(log);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let addr = listener.local_addr()?.to_string();
        tracing::info!(%addr, origin = log.origin(), size = log.head().size(), "serving");
        if args.demo {
            let name = crate::note::KeyName::new(log.origin())?;
            let (_, pub_path) = keyfile::paths(std::path::Path::new("keys"), &name);
            println!("{}", demo_instructions(&addr, log.verifier(), &pub_path));
        }
        server::serve(listener, log, shutdown_signal()).await?;
        Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
    })?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
