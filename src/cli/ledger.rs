//! Ledger commands: `init`, `participant ...`, `attest`, `submit`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde_json::json;
use time::OffsetDateTime;

use super::{open_store, open_writable, CliResult, LogLocation};
use crate::entry::encode_hash;
use crate::envelope;
use crate::keyfile;
use crate::log::{timestamp, Log, LogConfig, Receipt, Signed};
use crate::note::{KeyName, Signer};
use crate::statement::{
    Accreditation, EntryRef, Finding, Kind, Metric, Outcome, ParticipantSpec, RegistryStatement,
    Role, Severity, Since, Statement, Status, Supplier, SupplierId, Topic, REGISTRY_TYPE,
    STATEMENT_TYPE,
};

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The log's origin, also its key's name (e.g. vouch.example/vn-apparel).
    #[arg(long)]
    pub origin: String,
    /// Data directory for the new ledger.
    #[arg(long, default_value = "data")]
    pub data: PathBuf,
    /// Directory for the generated keys.
    #[arg(long, default_value = "keys")]
    pub keys: PathBuf,
    /// Participant id of the platform's governance participant.
    #[arg(long, default_value = "platform")]
    pub governance: String,
    /// Display name of the governance participant.
    #[arg(long, default_value = "Platform governance")]
    pub governance_name: String,
}

/// Registry changes, each signed by the governance key files given with `--gov-key`.
#[derive(Debug, Subcommand)]
pub enum ParticipantCommand {
    /// Register a participant with roles and keys.
    Register {
        #[command(flatten)]
        common: RegistryArgs,
        /// Participant id (2-64 of a-z 0-9 . - _).
        #[arg(long)]
        id: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Role: auditor, buyer, supplier, ngo or governance (repeatable).
        #[arg(long = "role", required = true, value_parser = parse_role)]
        roles: Vec<Role>,
        /// Supplier id (OS ID) the participant speaks for (supplier role; repeatable).
        #[arg(long = "supplier-id")]
        supplier_ids: Vec<String>,
        /// Public key file (.pub) of the participant (repeatable).
        #[arg(long = "key", required = true)]
        keys: Vec<PathBuf>,
        /// Accreditation body (auditors), e.g. APSCA.
        #[arg(long, requires = "accreditation_ref")]
        accreditation_body: Option<String>,
        /// Accreditation reference, e.g. a member number.
        #[arg(long, requires = "accreditation_body")]
        accreditation_ref: Option<String>,
    },
    /// Add a key to a participant.
    AddKey {
        #[command(flatten)]
        common: RegistryArgs,
        #[arg(long)]
        id: String,
        /// Public key file (.pub).
        #[arg(long)]
        key: PathBuf,
    },
    /// Revoke a participant's key.
    RevokeKey {
        #[command(flatten)]
        common: RegistryArgs,
        #[arg(long)]
        id: String,
        /// Key id (8 hex digits) of the key to revoke.
        #[arg(long)]
        key_id: String,
        /// Log index or RFC 3339 UTC time from which the key's entries are suspect.
        #[arg(long)]
        compromised_since: Option<String>,
    },
    /// Remove a participant: its keys sign nothing from now on.
    Remove {
        #[command(flatten)]
        common: RegistryArgs,
        #[arg(long)]
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct RegistryArgs {
    #[command(flatten)]
    pub at: LogLocation,
    /// Governance signer key file (repeat for k-of-n).
    #[arg(long = "gov-key", required = true)]
    pub gov_keys: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AttestArgs {
    /// Signer key file (.key) of the auditor, buyer or supplier.
    #[arg(long)]
    pub key: PathBuf,
    /// A statement JSON file; without it, the statement is built from the flags below.
    #[arg(long, conflicts_with_all = ["kind", "supplier_id"])]
    pub file: Option<PathBuf>,
    /// Where to write the envelope [default: standard output].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// audit, metric, corrective_action, remediation, rating, incentive, response, retraction.
    #[arg(long, required_unless_present = "file", value_parser = parse_enum::<Kind>)]
    pub kind: Option<Kind>,
    /// The supplier's Open Supply Hub OS ID.
    #[arg(long, required_unless_present = "file")]
    pub supplier_id: Option<String>,
    /// The supplier's name.
    #[arg(long, default_value = "")]
    pub supplier_name: String,
    /// ISO 3166-1 alpha-2 country code.
    #[arg(long, default_value = "VN")]
    pub country: String,
    /// The province (or city) the facility is in: "Bình Dương".
    #[arg(long)]
    pub province: Option<String>,
    /// The facility's street address.
    #[arg(long)]
    pub address: Option<String>,
    /// wages, working_hours, health_safety, ..., chemicals, waste, other.
    #[arg(long, default_value = "other", value_parser = parse_enum::<Topic>)]
    pub topic: Topic,
    /// conformant, partially_conformant, non_conformant, open, in_progress, completed, verified.
    #[arg(long, value_parser = parse_enum::<Status>)]
    pub status: Option<Status>,
    /// Score from 0 to 100.
    #[arg(long)]
    pub score: Option<f64>,
    #[arg(long)]
    pub grade: Option<String>,
    /// A metric as NAME=VALUE:UNIT, e.g. water_m3=41.5:m3 (repeatable).
    #[arg(long = "metric", value_parser = parse_metric)]
    pub metrics: Vec<Metric>,
    /// A finding as CODE:SEVERITY:TEXT, severity minor|major|critical|zero_tolerance (repeatable).
    #[arg(long = "finding", value_parser = parse_finding)]
    pub findings: Vec<Finding>,
    /// A referenced entry as INDEX:LEAF_HASH_BASE64 (repeatable).
    #[arg(long = "ref", value_parser = parse_ref)]
    pub refs: Vec<EntryRef>,
    /// RFC 3339 UTC issue time [default: now].
    #[arg(long)]
    pub issued_at: Option<String>,
    /// Valid until (YYYY-MM-DD).
    #[arg(long)]
    pub valid_until: Option<String>,
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The envelope file (DSSE JSON).
    pub envelope: PathBuf,
    /// The server to submit to; without it, the local ledger in --data.
    #[arg(long)]
    pub url: Option<String>,
    #[command(flatten)]
    pub at: LogLocation,
}

fn parse_enum<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, String> {
    serde_json::from_value(json!(s)).map_err(|_| format!("{s:?} is not one of the accepted values"))
}

fn parse_role(s: &str) -> Result<Role, String> {
    parse_enum(s)
}

fn parse_metric(s: &str) -> Result<Metric, String> {
    let err = || format!("{s:?} is not NAME=VALUE:UNIT");
    let (name, rest) = s.split_once('=').ok_or_else(err)?;
    let (value, unit) = rest.split_once(':').ok_or_else(err)?;
    Ok(Metric {
        name: name.into(),
        value: value.parse().map_err(|_| err())?,
        unit: unit.into(),
    })
}

fn parse_finding(s: &str) -> Result<Finding, String> {
    let err = || format!("{s:?} is not CODE:SEVERITY:TEXT");
    let mut parts = s.splitn(3, ':');
    let (Some(code), Some(severity), Some(text)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(err());
    };
    Ok(Finding {
        code: code.into(),
        severity: parse_enum::<Severity>(severity)?,
        text: text.into(),
    })
}

fn parse_ref(s: &str) -> Result<EntryRef, String> {
    let (index, hash) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?} is not INDEX:LEAF_HASH"))?;
    Ok(EntryRef {
        index: index
            .parse()
            .map_err(|_| format!("{index:?} is not an index"))?,
        leaf_hash: hash.into(),
    })
}

fn receipt_json(r: &Receipt) -> serde_json::Value {
    json!({
        "index": r.index,
        "leaf_hash": encode_hash(&r.leaf_hash),
        "duplicate": r.duplicate,
        "checkpoint": r.head.signed,
    })
}

fn read_verifier_string(path: &Path) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    Ok(keyfile::read_verifier(path)?.to_string())
}

/// `vouch init`.
///
/// # Errors
/// When the data directory already holds a log or a key file exists.
pub fn init(args: InitArgs) -> CliResult {
    let store = open_store(&args.data)?;
    if Log::exists(store.as_ref())? {
        return Err(format!("{} already holds a log", args.data.display()).into());
    }
    let (log_key, key_path, _) = keyfile::generate(&args.keys, &KeyName::new(&args.origin)?)?;
    let (gov_key, gov_path, _) = keyfile::generate(&args.keys, &KeyName::new(&args.governance)?)?;
    let genesis = RegistryStatement::Genesis {
        threshold: 1,
        participants: vec![ParticipantSpec {
            id: args.governance.clone(),
            name: args.governance_name,
            roles: vec![Role::Governance],
            supplier_ids: vec![],
            keys: vec![gov_key.verifier().to_string()],
            accreditation: None,
        }],
        issued_at: timestamp(OffsetDateTime::now_utc()),
    };
    genesis.validate()?;
    let body = serde_json::to_vec(&genesis)?;
    let signed = Signed::from_envelope(envelope::sign(REGISTRY_TYPE, &body, &[&gov_key]))?;
    Log::create_ledger(store.clone(), &log_key, &signed, OffsetDateTime::now_utc())?;
    let log = Log::open(store, None, LogConfig::default())?;
    eprintln!(
        "created ledger {} in {}; log key {}, governance key {}",
        log.origin(),
        args.data.display(),
        key_path.display(),
        gov_path.display()
    );
    print!("{}", log.head().signed);
    Ok(())
}

/// `vouch participant ...`.
///
/// # Errors
/// When a key file cannot be read or the ledger refuses the change.
pub fn participant(cmd: ParticipantCommand) -> CliResult {
    let now = timestamp(OffsetDateTime::now_utc());
    let (common, change) = match cmd {
        ParticipantCommand::Register {
            common,
            id,
            name,
            roles,
            supplier_ids,
            keys,
            accreditation_body,
            accreditation_ref,
        } => {
            let keys = keys
                .iter()
                .map(|k| read_verifier_string(k))
                .collect::<Result<Vec<_>, _>>()?;
            let supplier_ids = supplier_ids
                .iter()
                .map(|s| SupplierId::new(s))
                .collect::<Result<Vec<_>, _>>()?;
            let accreditation = accreditation_body
                .zip(accreditation_ref)
                .map(|(body, reference)| Accreditation { body, reference });
            let participant = ParticipantSpec {
                id,
                name,
                roles,
                supplier_ids,
                keys,
                accreditation,
            };
            (
                common,
                RegistryStatement::Register {
                    participant,
                    issued_at: now,
                },
            )
        }
        ParticipantCommand::AddKey { common, id, key } => {
            let key = read_verifier_string(&key)?;
            (
                common,
                RegistryStatement::AddKey {
                    participant: id,
                    key,
                    issued_at: now,
                },
            )
        }
        ParticipantCommand::RevokeKey {
            common,
            id,
            key_id,
            compromised_since,
        } => {
            let compromised_since = compromised_since.map(|c| match c.parse::<u64>() {
                Ok(i) => Since::Index(i),
                Err(_) => Since::Time(c),
            });
            (
                common,
                RegistryStatement::RevokeKey {
                    participant: id,
                    key_id,
                    compromised_since,
                    issued_at: now,
                },
            )
        }
        ParticipantCommand::Remove { common, id } => (
            common,
            RegistryStatement::Remove {
                participant: id,
                issued_at: now,
            },
        ),
    };
    change.validate()?;
    let signers = common
        .gov_keys
        .iter()
        .map(|k| keyfile::read_signer(k))
        .collect::<Result<Vec<Signer>, _>>()?;
    let refs: Vec<&Signer> = signers.iter().collect();
    let env = envelope::sign(REGISTRY_TYPE, &serde_json::to_vec(&change)?, &refs);
    let log = open_writable(&common.at)?;
    let receipt = log.submit_blocking(&env.to_json())?;
    println!("{}", serde_json::to_string_pretty(&receipt_json(&receipt))?);
    Ok(())
}

/// `vouch attest`.
///
/// # Errors
/// When the statement is invalid or a file cannot be read or written.
pub fn attest(args: AttestArgs) -> CliResult {
    let signer = keyfile::read_signer(&args.key)?;
    let body = match &args.file {
        Some(f) => {
            let bytes =
                std::fs::read(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
            Statement::parse(&bytes).map_err(|e| format!("{}: {e}", f.display()))?;
            bytes
        }
        None => {
            let statement = Statement {
                kind: args.kind.expect("clap requires --kind without --file"),
                supplier: Supplier {
                    id: SupplierId::new(&args.supplier_id.expect("clap requires --supplier-id"))?,
                    name: args.supplier_name,
                    country: args.country,
                    identifiers: Default::default(),
                    province: args.province,
                    address: args.address,
                },
                topic: args.topic,
                framework: None,
                period: None,
                issued_at: args
                    .issued_at
                    .unwrap_or_else(|| timestamp(OffsetDateTime::now_utc())),
                valid_until: args.valid_until,
                result: (args.status.is_some()
                    || args.score.is_some()
                    || args.grade.is_some()
                    || !args.metrics.is_empty())
                .then_some(Outcome {
                    status: args.status,
                    score: args.score,
                    grade: args.grade,
                    metrics: args.metrics,
                }),
                findings: args.findings,
                evidence: vec![],
                refs: args.refs,
            };
            statement.validate()?;
            serde_json::to_vec(&statement)?
        }
    };
    let env = envelope::sign(STATEMENT_TYPE, &body, &[&signer]);
    let json = serde_json::to_string_pretty(&env)? + "\n";
    match &args.out {
        Some(path) => std::fs::write(path, json)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        None => print!("{json}"),
    }
    Ok(())
}

/// `vouch submit` (local).
///
/// # Errors
/// When the envelope cannot be read or the ledger refuses it.
pub fn submit(args: SubmitArgs) -> CliResult {
    let bytes = std::fs::read(&args.envelope)
        .map_err(|e| format!("cannot read {}: {e}", args.envelope.display()))?;
    if let Some(url) = &args.url {
        let receipt = crate::client::post_envelope(url, &bytes)?;
        println!("{}", serde_json::to_string_pretty(&receipt)?);
        return Ok(());
    }
    let log = open_writable(&args.at)?;
    let receipt = log.submit_blocking(&bytes)?;
    println!("{}", serde_json::to_string_pretty(&receipt_json(&receipt))?);
    Ok(())
}
