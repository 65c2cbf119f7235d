//! Commands that talk to a server: `serve`, `submit --url`, `verify`, `history`.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use time::OffsetDateTime;

use super::{demo, open_store, open_writable, Access, CliResult, Exit, LogLocation};
use crate::bundle::Bundle;
use crate::client::fetch_history;
use crate::keyfile;
use crate::log::{Log, LogConfig};
use crate::note::Verifier;
use crate::note::BASE64;
use crate::server;
use crate::statement::{Kind, Topic};
use crate::verify::{self, HistoryReport, Report, Verdict};
use crate::words;
use base64::Engine as _;

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub at: LogLocation,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Create (first start) and serve a demo ledger of Vietnamese factories, keys in
    /// keys/, with two witnesses that cosign its checkpoints (their state beside the data).
    #[arg(long, conflicts_with = "read_only")]
    pub demo: bool,
    /// Serve without appending: tiles, proofs, histories, the explorer and
    /// verification, following the checkpoints another process (the one writer)
    /// appends to the same store. On PostgreSQL, from the database or a replica of it.
    #[arg(long)]
    pub read_only: bool,
    /// A witness (C2SP tlog-witness) to send each new checkpoint to: its URL and its
    /// public key file (`vouch keygen NAME --witness`). Repeatable.
    #[arg(long = "witness", num_args = 2, value_names = ["URL", "KEY"])]
    pub witnesses: Vec<String>,
}

/// A reader's witness policy on the command line.
#[derive(Debug, Args)]
pub struct WitnessPolicyArgs {
    /// A witness's public key file (`vouch keygen NAME --witness`; C2SP
    /// cosignature/v1). Repeatable: the checkpoint must carry the cosignatures of
    /// --witness-threshold of them, or nothing verifies.
    #[arg(long = "witness", value_name = "KEY")]
    pub witnesses: Vec<PathBuf>,
    /// How many of the --witness keys must have cosigned the checkpoint [default: 1
    /// when any --witness is given].
    #[arg(long, value_name = "K", requires = "witnesses")]
    pub witness_threshold: Option<usize>,
}

impl WitnessPolicyArgs {
    /// The policy the flags ask for.
    ///
    /// # Errors
    /// An unreadable key file, or a threshold of 0 or above the number of witnesses.
    pub fn policy(
        &self,
    ) -> Result<verify::WitnessPolicy, Box<dyn std::error::Error + Send + Sync>> {
        let witnesses = self
            .witnesses
            .iter()
            .map(|p| keyfile::read_verifier_as(p, crate::note::Alg::CosignatureV1))
            .collect::<Result<Vec<_>, _>>()?;
        let threshold = self
            .witness_threshold
            .unwrap_or(usize::from(!witnesses.is_empty()));
        if !witnesses.is_empty() && (threshold == 0 || threshold > witnesses.len()) {
            return Err(format!(
                "--witness-threshold must be between 1 and the {} witnesses given",
                witnesses.len()
            )
            .into());
        }
        Ok(verify::WitnessPolicy {
            witnesses,
            threshold,
        })
    }
}

/// `supplier`'s history from `url`, fetched as `trust` asks ([`fetch_for`]) and
/// verified against the log key in `log_key`, witnesses included: the history and its
/// report, as of `now`.
fn fetch_verified(
    url: &str,
    supplier: &str,
    log_key: &std::path::Path,
    trust: &WitnessPolicyArgs,
    now: OffsetDateTime,
) -> Result<(crate::bundle::History, verify::HistoryReport), Box<dyn std::error::Error + Send + Sync>>
{
    let log_key = keyfile::read_verifier(log_key)?;
    let policy = trust.policy()?;
    let history = fetch_for(url, supplier, &log_key, &policy)?;
    let report = verify::verify_history(&history, supplier, &log_key, now);
    // The OS IDs its alias records join to it, read at the same checkpoint.
    let joined = verify::joined_ids(&report)
        .iter()
        .map(|id| crate::client::fetch_history_at(url, id, Some(history.tree_size)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut report = verify::join(report, &history, &joined, &log_key, now);
    report.require_witnesses(&history.checkpoint, &log_key, &policy);
    Ok((history, report))
}

/// The history of `supplier` from `url`: at the newest checkpoint the server holds
/// cosignatures for when `policy` asks for some, else at the newest.
fn fetch_for(
    url: &str,
    supplier: &str,
    log_key: &Verifier,
    policy: &verify::WitnessPolicy,
) -> Result<crate::bundle::History, Box<dyn std::error::Error + Send + Sync>> {
    let size = if policy.is_empty() {
        None
    } else {
        crate::client::cosigned_size(url, log_key)?
    };
    crate::client::fetch_history_at(url, supplier, size)
}

#[derive(Debug, Args)]
pub struct ProofArgs {
    /// The entry's index.
    pub index: u64,
    #[arg(long, value_parser = crate::client::base_url)]
    pub url: String,
    /// The log's public key file (.pub): the proof is checked before it is written.
    #[arg(long)]
    pub log_key: PathBuf,
    /// Where to write it [default: <INDEX>.tlog-proof].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `vouch proof`.
///
/// # Errors
/// When the server cannot be reached or what it serves does not verify.
pub fn proof(args: ProofArgs) -> CliResult {
    let log_key = keyfile::read_verifier(&args.log_key)?;
    let base = args.url.trim_end_matches('/');
    let size = match crate::client::cosigned_size(base, &log_key)? {
        Some(s) if s > args.index => format!("&size={s}"),
        _ => String::new(),
    };
    let inclusion: serde_json::Value = crate::client::get_json(&format!(
        "{base}/v1/proofs/inclusion?index={}{size}",
        args.index
    ))?;
    let bundle: Bundle = crate::client::get_json(&format!("{base}/v1/entries/{}", args.index))?;
    let hashes = inclusion["inclusion_proof"]
        .as_array()
        .ok_or("the server's inclusion proof has no hashes")?
        .iter()
        .map(|h| {
            h.as_str()
                .and_then(|s| BASE64.decode(s).ok())
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or("an inclusion proof hash is not base64 of 32 bytes")
        })
        .collect::<Result<Vec<_>, _>>()?;
    let proof = crate::proof::TlogProof {
        extra: Some(
            BASE64
                .decode(&bundle.entry)
                .map_err(|_| "the server's entry is not base64")?,
        ),
        index: args.index,
        proof: hashes,
        checkpoint: inclusion["checkpoint"]
            .as_str()
            .ok_or("the server's inclusion proof has no checkpoint")?
            .to_owned(),
    };
    let (cp, _) = proof.verify(&log_key)?;
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("{}.tlog-proof", args.index)));
    std::fs::write(&out, proof.to_text())
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    let (_, note) = crate::note::Checkpoint::open(proof.checkpoint.as_bytes(), &log_key)?;
    println!(
        "wrote {}: entry {} in the tree of size {} signed by {}, with {} other signature line(s) (witnesses' cosignatures)",
        out.display(),
        args.index,
        cp.size(),
        log_key.name(),
        note.unverified.len()
    );
    Ok(())
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A bundle file (JSON, as GET /v1/entries/{index} returns it), or a portable
    /// proof (`vouch proof`, C2SP tlog-proof), checked offline.
    pub bundle: PathBuf,
    /// The log's public key file (.pub): the only thing trusted.
    #[arg(long)]
    pub log_key: PathBuf,
    /// A server to ask for newer entries about the supplier (retractions, responses).
    #[arg(long, value_parser = crate::client::base_url)]
    pub url: Option<String>,
    #[command(flatten)]
    pub trust: WitnessPolicyArgs,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The supplier's OS ID, or `buyer:<participant id>`.
    pub supplier: String,
    #[arg(long, value_parser = crate::client::base_url)]
    pub url: String,
    /// The log's public key file (.pub).
    #[arg(long)]
    pub log_key: PathBuf,
    #[command(flatten)]
    pub trust: WitnessPolicyArgs,
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

#[derive(Debug, Args)]
pub struct StandingArgs {
    /// The supplier's OS ID, or `buyer:<participant id>` for what factories say of a
    /// buyer's purchasing practices.
    pub supplier: String,
    #[arg(long, value_parser = crate::client::base_url)]
    pub url: String,
    /// The log's public key file (.pub).
    #[arg(long)]
    pub log_key: PathBuf,
    /// Only this topic (wages, working_hours, health_safety, chemicals, water, ...).
    #[arg(long, value_parser = parse_topic)]
    pub topic: Option<Topic>,
    /// The newest valid record of this kind (audit, metric, rating, ...).
    #[arg(long, value_parser = parse_kind)]
    pub kind: Option<Kind>,
    /// With --kind: only records under a framework whose name contains this (any case).
    #[arg(long)]
    pub framework: Option<String>,
    #[command(flatten)]
    pub trust: WitnessPolicyArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// The factory's OS ID.
    pub supplier: String,
    #[arg(long, value_parser = crate::client::base_url)]
    pub url: String,
    /// The log's public key file (.pub).
    #[arg(long)]
    pub log_key: PathBuf,
    #[command(flatten)]
    pub trust: WitnessPolicyArgs,
    /// Print JSON (as `GET /v1/suppliers/{id}/summary` serves it).
    #[arg(long)]
    pub json: bool,
}

fn parse_topic(s: &str) -> Result<Topic, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|_| {
        let all: Vec<&str> = Topic::ALL.iter().map(|t| t.as_str()).collect();
        format!("{s:?} is not a topic ({})", all.join(", "))
    })
}

fn parse_kind(s: &str) -> Result<Kind, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| format!("{s:?} is not a kind (audit, metric, corrective_action, remediation, rating, incentive, response, retraction, correction)"))
}

#[derive(Debug, Args)]
pub struct SuppliersArgs {
    #[arg(long, value_parser = crate::client::base_url)]
    pub url: String,
    /// The start of an OS ID, or part of a name (any case).
    #[arg(long)]
    pub search: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    #[arg(long)]
    pub country: Option<String>,
    /// Print JSON (every page).
    #[arg(long)]
    pub json: bool,
}

/// `vouch suppliers`: every page of the directory.
///
/// # Errors
/// Transport failures and error statuses.
pub fn suppliers(args: SuppliersArgs) -> CliResult {
    let base = args.url.trim_end_matches('/');
    let mut after: Option<String> = None;
    let mut all = Vec::new();
    let mut size: u64;
    loop {
        let mut url = format!("{base}/v1/suppliers?limit=500");
        for (k, v) in [
            ("q", args.search.as_deref()),
            ("country", args.country.as_deref()),
            ("after", after.as_deref()),
        ] {
            if let Some(v) = v {
                url.push_str(&format!("&{k}={}", crate::client::query_escape(v)));
            }
        }
        let page: crate::log::SupplierPage = crate::client::get_json(&url)?;
        size = page.tree_size;
        all.extend(page.suppliers);
        match page.next_after {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    println!("{} suppliers as of checkpoint {size} (directory as the server lists it; `vouch standing ID` verifies one)", all.len());
    for s in &all {
        println!(
            "  {}  {:<40}  {}  {:>4} records, newest issued {}",
            s.id,
            s.name,
            s.country,
            s.records,
            &s.newest_issued_at[..10.min(s.newest_issued_at.len())]
        );
        if let Some(line) = s.standing.as_ref().map(standing_line) {
            println!("      {line}");
        }
    }
    Ok(())
}

/// A standing in brief, in words: "working_hours: audit non_compliant, grade C, 1 open
/// corrective action; chemicals: 2 figures".
fn standing_line(s: &crate::standing::StandingSummary) -> String {
    let mut parts = Vec::new();
    for (topic, t) in &s.topics {
        let mut said = Vec::new();
        if let Some(status) = &t.audit_status {
            let mut a = format!("audit {}", snake(status));
            if let Some(g) = &t.audit_grade {
                a.push_str(&format!(", grade {g}"));
            }
            said.push(a);
        }
        let count = |n: u64, one: &str, many: &str| match n {
            0 => None,
            1 => Some(format!("1 {one}")),
            n => Some(format!("{n} {many}")),
        };
        said.extend(count(t.metrics, "figure", "figures"));
        said.extend(count(t.ratings, "rating", "ratings"));
        said.extend(count(
            t.open_corrective_actions,
            "open corrective action",
            "open corrective actions",
        ));
        parts.push(format!("{}: {}", snake(topic), said.join(", ")));
    }
    if parts.is_empty() {
        parts.push("nothing current".into());
    }
    if s.left_out > 0 {
        parts.push(format!(
            "{} records left out (retracted, superseded, expired or suspect)",
            s.left_out
        ));
    }
    parts.join("; ")
}

/// The snake_case name serde gives a unit enum variant (`working_hours`).
fn snake<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A server to export from.
    #[arg(long, conflicts_with = "data", value_parser = crate::client::base_url)]
    pub url: Option<String>,
    /// A local store to export from: a data directory (while no server holds it) or
    /// a postgres:// URL (any time).
    #[arg(long, visible_alias = "store")]
    pub data: Option<super::StoreAt>,
    /// jsonl, csv, or untp (each record as a UNTP ConformityAttestation, JSON Lines).
    #[arg(long, default_value = "jsonl", value_parser = ["jsonl", "csv", "untp"])]
    pub format: String,
    /// The same as --format untp.
    #[arg(long, conflicts_with = "format")]
    pub untp: bool,
    /// Write here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `vouch export`.
///
/// # Errors
/// Transport, store or file failures.
pub fn export(
    args: ExportArgs,
    open: impl FnOnce(
        &super::StoreAt,
    ) -> Result<Arc<dyn crate::store::Store>, crate::client::ClientError>,
) -> CliResult {
    let mut out: Box<dyn std::io::Write> = match &args.out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).map_err(|e| format!("cannot create {}: {e}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let format = if args.untp {
        "untp"
    } else {
        args.format.as_str()
    };
    match (&args.url, &args.data) {
        (Some(url), None) => {
            let url = format!("{}/v1/export?format={format}", url.trim_end_matches('/'));
            let response = crate::client::agent()
                .get(&url)
                .call()
                .map_err(|e| format!("{url}: {e}"))?;
            std::io::copy(&mut response.into_reader(), &mut out)
                .map_err(|e| format!("the export from {url} broke off: {e}"))?;
        }
        (None, Some(data)) => {
            let log = Log::open(open(data)?, None, LogConfig::default())?;
            let format = match format {
                "csv" => crate::log::Format::Csv,
                "untp" => crate::log::Format::Untp,
                _ => crate::log::Format::JsonLines,
            };
            let view = log.view();
            let rows = view.export(format, OffsetDateTime::now_utc(), &mut out)?;
            eprintln!("exported {rows} records at tree size {}", view.size());
        }
        _ => return Err("give --url or --data".into()),
    }
    out.flush()?;
    Ok(())
}

/// Exit code of `vouch standing --kind` when the complete history holds no such record.
pub const NONE_FOUND: u8 = 7;

/// `vouch standing`.
///
/// # Errors
/// When the server cannot be reached, the history does not verify (exit 2), or with
/// `--kind` no valid record matches (exit 7).
pub fn standing(args: StandingArgs) -> CliResult {
    let now = OffsetDateTime::now_utc();
    let (_, report) = fetch_verified(&args.url, &args.supplier, &args.log_key, &args.trust, now)?;
    if report.verdict != Verdict::Valid {
        print_history(&report);
        return Err(Exit(Verdict::Invalid.exit_code()).into());
    }
    // How the history is known complete: its chain, and any joined to it.
    let complete = report
        .checks
        .iter()
        .filter(|c| c.name == "complete" || c.name == "joined")
        .map(|c| c.reason.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    if args.kind.is_some() || args.framework.is_some() {
        let query = crate::standing::Query {
            kind: args.kind,
            topic: args.topic,
            framework: args.framework.clone(),
        };
        let found = crate::standing::newest(&report, &query);
        let what = format!(
            "{}{}{}",
            args.kind
                .map_or("record".to_owned(), |k| words::kind(k).to_lowercase()),
            args.topic
                .map_or(String::new(), |t| format!(" on {}", words::topic(t))),
            args.framework
                .as_ref()
                .map_or(String::new(), |f| format!(" under {f}"))
        );
        if args.json {
            println!("{}", serde_json::to_string_pretty(&found)?);
        }
        let Some(r) = found else {
            if !args.json {
                println!(
                    "{}: no valid {what} as of checkpoint {} ({complete})",
                    args.supplier, report.tree_size
                );
            }
            return Err(Exit(NONE_FOUND).into());
        };
        if !args.json {
            println!(
                "{}: the newest valid {what} is entry {}, issued {}",
                args.supplier,
                r.index,
                r.issued_at.as_deref().unwrap_or("?")
            );
            print_record(r, "  ");
            println!("  verified: signatures and authority at entry {}; not retracted, corrected, expired or suspect; {complete}", r.index);
        }
        return Ok(());
    }
    let mut st = crate::standing::standing(&report, now)?;
    if let Some(t) = args.topic {
        st.topics.retain(|k, _| *k == t);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&st)?);
        return Ok(());
    }
    print_standing(&st, &complete);
    Ok(())
}

/// `vouch summary`: a factory's standing for a lender, drawn from the history this
/// command fetched and verified itself.
///
/// # Errors
/// Transport failures, a history that does not verify (exit 1), a witness policy not
/// met.
pub fn summary(args: SummaryArgs) -> CliResult {
    let now = OffsetDateTime::now_utc();
    let (history, report) =
        fetch_verified(&args.url, &args.supplier, &args.log_key, &args.trust, now)?;
    let Some(summary) = crate::standing::standing(&report, now)
        .ok()
        .and_then(|st| crate::summary::summary(&report, &st, &history.checkpoint))
    else {
        print_history(&report);
        return Err(Exit(Verdict::Invalid.exit_code()).into());
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!(
            "{}",
            summary.to_text(&args.url, &args.log_key.display().to_string(), now)
        );
    }
    Ok(())
}

fn print_standing(st: &crate::standing::SupplierStanding, complete: &str) {
    println!(
        "{}{}: standing as of checkpoint {}, from {} records ({complete})",
        st.supplier,
        st.name
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default(),
        st.tree_size,
        st.records
    );
    let l = &st.left_out;
    println!(
        "  left out: {} retracted, {} superseded, {} expired, {} suspect, {} invalid",
        l.retracted, l.superseded, l.expired, l.suspect, l.invalid
    );
    for j in &st.aliases {
        println!(
            "  also recorded under {} (joined by entry {}): its records count here too",
            j.id, j.index
        );
    }
    if let Some(p) = &st.profile {
        let f = &p.profile;
        let mut parts: Vec<String> = [&f.sector, &f.product_type, &f.processing_type]
            .into_iter()
            .filter(|l| !l.is_empty())
            .map(|l| l.join(", "))
            .collect();
        if let Some(n) = f.number_of_workers {
            parts.push(format!("{n} workers"));
        }
        if let Some(c) = &f.parent_company {
            parts.push(format!("part of {c}"));
        }
        println!(
            "  profile (entry {}): {}{}",
            p.index,
            parts.join("; "),
            p.address
                .as_ref()
                .map(|a| format!("; {a}"))
                .unwrap_or_default()
        );
    }
    let who = |c: &crate::standing::Cited| {
        let names: Vec<&str> = c.signed_by.iter().map(|s| s.name.as_str()).collect();
        format!(
            "{}{}",
            names.join(", "),
            if c.self_reported {
                ", self-reported"
            } else {
                ""
            }
        )
    };
    // A buyer's standing is what factories say of it, and its replies.
    let buyer = crate::statement::buyer_of_subject(&st.supplier).is_some();
    let (rated, replied) = if buyer {
        ("a factory says", "buyer's reply")
    } else {
        ("rating", "supplier's reply")
    };
    let result = |c: &crate::standing::Cited| {
        let mut parts = Vec::new();
        if let Some(s) = c.status {
            parts.push(words::status(s).to_owned());
        }
        if let Some(s) = c.score {
            parts.push(format!("score {s}"));
        }
        if let Some(g) = &c.grade {
            parts.push(format!("grade {g}"));
        }
        parts.join(", ")
    };
    for (topic, t) in &st.topics {
        println!("\n  {}", words::topic(*topic));
        if let Some(a) = &t.audit {
            println!(
                "    audit: {} (entry {}, {}, by {})",
                result(a),
                a.index,
                &a.issued_at[..10.min(a.issued_at.len())],
                who(a)
            );
        }
        for m in &t.metrics {
            println!(
                "    {}: {} {} (entry {}{})",
                m.name,
                m.value,
                m.unit,
                m.index,
                if m.self_reported {
                    ", self-reported"
                } else {
                    ""
                }
            );
        }
        for r in &t.ratings {
            let figures: Vec<String> = r
                .metrics
                .iter()
                .map(|m| format!("{} {} {}", m.name, m.value, m.unit))
                .collect();
            let said = [result(r), figures.join(", ")]
                .into_iter()
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join("; ");
            println!(
                "    {rated}: {said} (entry {}, by {}){}",
                r.index,
                who(r),
                r.text
                    .as_ref()
                    .map(|t| format!(": \"{}\" ({})", t.body, t.lang))
                    .unwrap_or_default()
            );
        }
        for a in &t.open_corrective_actions {
            println!(
                "    open corrective action: entry {}, {} days old{}",
                a.plan.index,
                a.age_days,
                a.plan
                    .findings
                    .first()
                    .map(|f| format!(": {} {}", f.code, f.text))
                    .unwrap_or_default()
            );
        }
        for r in &t.remediations {
            println!(
                "    remediation verified: entry {} (by {})",
                r.index,
                who(r)
            );
        }
        for r in &t.replies {
            println!(
                "    {replied}: entry {}{}",
                r.index,
                r.text
                    .as_ref()
                    .map(|t| format!(": \"{}\" ({})", t.body, t.lang))
                    .or_else(|| r.findings.first().map(|f| format!(": {}", f.text)))
                    .unwrap_or_default()
            );
        }
        for d in &t.disputes {
            println!(
                "    supplier's dispute: entry {} of entry {}'s findings {}: {}{}",
                d.index,
                d.record,
                d.findings.join(", "),
                words::dispute_status(d.state),
                d.resolved_by
                    .map(|r| format!(" (resolved by entry {r})"))
                    .unwrap_or_default()
            );
        }
        for r in &t.incentives {
            println!(
                "    incentive: entry {} (by {}){}",
                r.index,
                who(r),
                r.findings
                    .first()
                    .map(|f| format!(": {}", f.text))
                    .unwrap_or_default()
            );
        }
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
    if bytes.starts_with(crate::proof::HEADER.as_bytes()) {
        let text = String::from_utf8(bytes)
            .map_err(|_| format!("{} is not UTF-8", args.bundle.display()))?;
        let proof = crate::proof::TlogProof::parse(&text)
            .map_err(|e| format!("{}: {e}", args.bundle.display()))?;
        let mut report = verify::verify_tlog_proof(&proof, &log_key, OffsetDateTime::now_utc());
        report.require_witnesses(&proof.checkpoint, &log_key, &args.trust.policy()?);
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print_report(&report);
        }
        return match report.verdict.exit_code() {
            0 => Ok(()),
            code => Err(Exit(code).into()),
        };
    }
    let bundle: Bundle = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{} is not a bundle: {e}", args.bundle.display()))?;
    let policy = args.trust.policy()?;
    let now = OffsetDateTime::now_utc();
    let mut report = verify::verify_bundle(&bundle, &log_key, now);
    report.require_witnesses(&bundle.checkpoint, &log_key, &policy);
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
    let (_, report) = fetch_verified(
        &args.url,
        &args.supplier,
        &args.log_key,
        &args.trust,
        OffsetDateTime::now_utc(),
    )?;
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
         \x20 curl {url}/checkpoint      # signed by the log, cosigned by two witnesses\n\
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

/// Starts the demo's two witnesses in this process, each on a port of its own, keys in
/// `keys/`, state in `<data>/witness-<n>`: what the log sends its checkpoints to.
async fn demo_witnesses(
    data: &std::path::Path,
    log_key: &Verifier,
) -> Result<Vec<crate::log::WitnessTarget>, Box<dyn std::error::Error + Send + Sync>> {
    let mut targets = Vec::new();
    for (n, name) in demo::WITNESSES.iter().enumerate() {
        let signer = demo::witness_signer(std::path::Path::new("keys"), name)?;
        let key = signer.verifier().clone();
        let state = data.join(format!("witness-{}", n + 1));
        let witness = Arc::new(crate::witness::Witness::open(
            signer,
            vec![log_key.clone()],
            &state,
        )?);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tracing::info!(witness = %key.name(), %url, "demo witness");
        tokio::spawn(async move {
            let config = server::ServerConfig::default();
            let app = crate::witness::router(witness);
            if let Err(e) = server::serve_app(listener, app, &config, std::future::pending()).await
            {
                tracing::error!(error = %e, "a demo witness stopped");
            }
        });
        targets.push(crate::log::WitnessTarget { url, key });
    }
    Ok(targets)
}

/// How often a read-only server looks for the writer's new checkpoints.
const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// `vouch serve`.
///
/// # Errors
/// When the log cannot be opened or the address bound.
pub fn serve(args: ServeArgs) -> CliResult {
    let log = if args.demo {
        let store = open_store(&args.at.data, Access::WriteWhenFree)?;
        let keys = std::path::Path::new("keys");
        let key = demo::prepare(store.clone(), keys)?;
        Log::open(store, Some(key), LogConfig::default())?
    } else if args.read_only {
        Log::open(
            open_store(&args.at.data, Access::Read)?,
            None,
            LogConfig::default(),
        )?
    } else {
        open_writable(&args.at, Access::WriteWhenFree)?
    };
    let log = Arc::new(log);
    if args.read_only {
        log.follow_in_background(FOLLOW_EVERY);
    }
    let mut targets = Vec::new();
    for pair in args.witnesses.chunks(2) {
        let [url, key] = pair else {
            return Err("--witness takes a URL and a key file".into());
        };
        let key =
            keyfile::read_verifier_as(std::path::Path::new(key), crate::note::Alg::CosignatureV1)?;
        targets.push(crate::log::WitnessTarget {
            url: url.clone(),
            key,
        });
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let addr = listener.local_addr()?.to_string();
        if args.demo {
            targets.extend(demo_witnesses(&args.at.data.beside(), log.verifier()).await?);
        }
        log.start_witnessing(targets);
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

pub(super) async fn shutdown_signal() {
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
