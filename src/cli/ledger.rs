//! Ledger commands: `init`, `participant ...`, `attest`, `submit`.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use clap::{Args, Subcommand};
use serde_json::json;
use time::OffsetDateTime;

use super::{open_store, open_writable, CliResult, LogLocation};
use crate::entry::encode_hash;
use crate::envelope::{self, Envelope};
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
    /// Where to store the new ledger: a data directory or a postgres:// URL.
    #[arg(long, visible_alias = "store", default_value = "data")]
    pub data: super::StoreAt,
    /// Directory for the generated keys.
    #[arg(long, default_value = "keys")]
    pub keys: PathBuf,
    /// Participant id of the one governance participant whose key `init` makes
    /// (without --governance).
    #[arg(long, default_value = "platform")]
    pub governance_id: String,
    /// Display name of the governance participant(s).
    #[arg(long, default_value = "Platform governance")]
    pub governance_name: String,
    /// The governance members' public key files (comma-separated or repeated), each a
    /// participant named after its key; their private keys stay with them.
    #[arg(long, value_delimiter = ',', conflicts_with = "genesis")]
    pub governance: Vec<PathBuf>,
    /// How many governance members must sign each registry change (with --governance).
    #[arg(long, default_value_t = 1, requires = "governance")]
    pub threshold: u32,
    /// Private key files of members signing the genesis entry here (at least
    /// --threshold of them); without them, the unsigned genesis statement is written
    /// to --out, for `vouch registry sign` on each member's machine and `init --genesis`.
    #[arg(long = "gov-key", requires = "governance")]
    pub gov_keys: Vec<PathBuf>,
    /// A genesis envelope its members signed (`vouch registry sign`).
    #[arg(long)]
    pub genesis: Option<PathBuf>,
    /// Where to write the unsigned genesis statement (with --governance, without
    /// --gov-key).
    #[arg(long, requires = "governance")]
    pub out: Option<PathBuf>,
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
    /// Set how many governance members must sign each registry change after this one.
    SetThreshold {
        #[command(flatten)]
        common: RegistryArgs,
        #[arg(long)]
        threshold: u32,
    },
    /// Set how many days after a record is logged its supplier may dispute it
    /// [until set: 30, as SLCP's verification dispute].
    SetDisputeWindow {
        #[command(flatten)]
        common: RegistryArgs,
        #[arg(long)]
        days: u32,
    },
}

#[derive(Debug, Args)]
pub struct RegistryArgs {
    #[command(flatten)]
    pub at: LogLocation,
    /// Governance signer key file (repeat for k-of-n).
    #[arg(long = "gov-key", required = true)]
    pub gov_keys: Vec<PathBuf>,
    /// Write the signed change here instead of submitting it, for the other members
    /// to add their signatures (`vouch registry sign`) before `vouch submit`.
    #[arg(long, conflicts_with = "url")]
    pub out: Option<PathBuf>,
    /// Submit the change to a running server (POST /v1/registry) instead of the local
    /// data directory.
    #[arg(long, value_parser = crate::client::base_url)]
    pub url: Option<String>,
}

/// Registry changes signed by members on their own machines.
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Add your signature to a registry change: FILE is an envelope (from
    /// `vouch participant ... --out` or another member) or a bare registry statement
    /// (as `vouch init --governance ... --out` writes the genesis).
    Sign {
        file: PathBuf,
        /// Your governance key file.
        #[arg(long)]
        key: PathBuf,
        /// Where to write the envelope [default: FILE itself].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Combine envelopes over the same registry change, each signed by some members,
    /// into one that carries every signature.
    Combine {
        #[arg(required = true, num_args = 2..)]
        files: Vec<PathBuf>,
        /// Where to write the envelope [default: standard output].
        #[arg(long)]
        out: Option<PathBuf>,
    },
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
    /// audit, metric, corrective_action, remediation, rating, incentive, response,
    /// retraction, correction, dispute, resolution, purchasing_practice, alias
    /// (profile: with --file).
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
    /// A metric as NAME=VALUE:UNIT, e.g. water_m3=41.5:m3, or with its UN/CEFACT Rec 20
    /// code (version 2) as NAME=VALUE:UNIT:CODE, e.g. water=41.5:m3:MTQ (repeatable).
    #[arg(long = "metric", value_parser = parse_metric)]
    pub metrics: Vec<Metric>,
    /// A finding as CODE:SEVERITY:TEXT, severity minor|major|critical|zero_tolerance (repeatable).
    #[arg(long = "finding", value_parser = parse_finding)]
    pub findings: Vec<Finding>,
    /// A referenced entry as INDEX:LEAF_HASH_BASE64, or as INDEX with --url to look its
    /// leaf hash up (repeatable).
    #[arg(long = "ref", value_parser = parse_ref)]
    pub refs: Vec<EntryRef>,
    /// The log's URL, to look up the leaf hashes of entries given by --ref INDEX (the
    /// log checks them again when the statement is submitted).
    #[arg(long, value_parser = crate::client::base_url)]
    pub url: Option<String>,
    /// A corrective action plan's item as ID|TEXT|OWNER|DUE (YYYY-MM-DD), repeatable:
    /// `--action "OT-1|Second shift for peak season|HR manager|2026-12-31"`.
    #[arg(long = "action", value_parser = parse_action)]
    pub actions: Vec<crate::statement::ActionItem>,
    /// A remediation's item closed, by id, of the plan it refers to (repeatable; none:
    /// the whole plan).
    #[arg(long = "closes")]
    pub closes: Vec<String>,
    /// Version 2 (UNTP): the assessor's relation to the facility: 3rdParty, Self,
    /// Buyer, Commercial, Membership, Unspecified.
    #[arg(long, value_parser = parse_enum::<crate::statement::AssessorLevel>)]
    pub assessor_level: Option<crate::statement::AssessorLevel>,
    /// Version 2 (UNTP): the authority behind the assessment: Accredited, Verified,
    /// Validated, GovtApproval, GlobalMRA, Unspecified.
    #[arg(long, value_parser = parse_enum::<crate::statement::AssessmentLevel>)]
    pub assessment_level: Option<crate::statement::AssessmentLevel>,
    /// Version 2 (UNTP): inspection, verification, declaration, certification, testing,
    /// validation, calibration.
    #[arg(long, value_parser = parse_enum::<crate::statement::AttestationType>)]
    pub attestation_type: Option<crate::statement::AttestationType>,
    /// Version 2 (UNTP): a criterion assessed, as ID|NAME or ID|NAME|yes|no (met or
    /// not), repeatable: `--criterion "SLCP-WH-12|Overtime within legal limits|no"`.
    /// A scheme is written in a statement file (--file).
    #[arg(long = "criterion", value_parser = parse_criterion)]
    pub criteria: Vec<crate::statement::Criterion>,
    /// A dispute's finding disputed, by code, of the record it refers to (repeatable).
    #[arg(long = "disputes")]
    pub disputes: Vec<String>,
    /// A resolution's outcome for the disputed findings: upheld, amended (restate them
    /// with --finding) or withdrawn.
    #[arg(long, value_parser = parse_enum::<crate::statement::DisputeOutcome>)]
    pub outcome: Option<crate::statement::DisputeOutcome>,
    /// The buyer (participant id) a purchasing_practice is about, or whose record a
    /// response, retraction or correction concerns.
    #[arg(long)]
    pub buyer: Option<String>,
    /// An alias's other OS ID, whose history joins this one's (when Open Supply Hub
    /// merged the two). A profile is written as a statement file (--file).
    #[arg(long)]
    pub alias_of: Option<String>,
    /// What you say in your own words: a reply, a retraction's reason, a summary.
    #[arg(long)]
    pub text: Option<String>,
    /// The language of --text, a BCP 47 tag (vi, en).
    #[arg(long, default_value = "en", requires = "text")]
    pub lang: String,
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
    #[arg(long, value_parser = crate::client::base_url)]
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
    let err = || format!("{s:?} is not NAME=VALUE:UNIT or NAME=VALUE:UNIT:REC20_CODE");
    let (name, rest) = s.split_once('=').ok_or_else(err)?;
    let (value, unit) = rest.split_once(':').ok_or_else(err)?;
    let (unit, code) = match unit.split_once(':') {
        Some((unit, code)) => (unit, Some(code.to_owned())),
        None => (unit, None),
    };
    Ok(Metric {
        name: name.into(),
        value: value.parse().map_err(|_| err())?,
        unit: unit.into(),
        unit_code: code,
    })
}

fn parse_criterion(s: &str) -> Result<crate::statement::Criterion, String> {
    let parts: Vec<&str> = s.split('|').collect();
    let conformance = match parts.get(2) {
        None => None,
        Some(&"yes") => Some(true),
        Some(&"no") => Some(false),
        Some(other) => return Err(format!("{other:?} is not yes or no")),
    };
    match parts[..] {
        [id, name, ..] if parts.len() <= 3 => Ok(crate::statement::Criterion {
            id: id.into(),
            name: name.into(),
            description: None,
            conformance,
        }),
        _ => Err(format!("{s:?} is not ID|NAME or ID|NAME|yes|no")),
    }
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
    // A bare index: its leaf hash is looked up with --url.
    let (index, hash) = s.split_once(':').unwrap_or((s, ""));
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

fn parse_action(s: &str) -> Result<crate::statement::ActionItem, String> {
    let parts: Vec<&str> = s.splitn(4, '|').collect();
    let [id, text, owner, due] = parts[..] else {
        return Err(format!("{s:?} is not ID|TEXT|OWNER|DUE"));
    };
    Ok(crate::statement::ActionItem {
        id: id.trim().to_owned(),
        text: text.trim().to_owned(),
        owner: owner.trim().to_owned(),
        due: due.trim().to_owned(),
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
    let store = open_store(&args.data, super::Access::Write)?;
    if Log::exists(store.as_ref())? {
        return Err(format!("{} already holds a log", args.data).into());
    }
    let now = timestamp(OffsetDateTime::now_utc());
    let (genesis_envelope, governance) = if let Some(file) = &args.genesis {
        (
            read_envelope(file)?,
            format!("signed in {}", file.display()),
        )
    } else if args.governance.is_empty() {
        let (gov_key, gov_path, _) =
            keyfile::generate(&args.keys, &KeyName::new(&args.governance_id)?)?;
        let genesis = RegistryStatement::Genesis {
            threshold: 1,
            participants: vec![governance_spec(
                &args.governance_id,
                &args.governance_name,
                &gov_key.verifier().to_string(),
            )],
            issued_at: now,
        };
        (
            envelope::sign(REGISTRY_TYPE, &serde_json::to_vec(&genesis)?, &[&gov_key]),
            format!("governance key {}", gov_path.display()),
        )
    } else {
        let mut participants = Vec::new();
        for path in &args.governance {
            let v = keyfile::read_verifier(path)?;
            participants.push(governance_spec(
                v.name().as_str(),
                &args.governance_name,
                &v.to_string(),
            ));
        }
        let genesis = RegistryStatement::Genesis {
            threshold: args.threshold,
            participants,
            issued_at: now,
        };
        genesis.validate()?;
        let body = serde_json::to_vec_pretty(&genesis)?;
        if args.gov_keys.is_empty() {
            let out = args.out.as_ref().ok_or(
                "the genesis entry needs the members' signatures: give --gov-key files, or --out FILE for `vouch registry sign` and then `vouch init --genesis`",
            )?;
            write_new(out, &body)?;
            eprintln!(
                "wrote the genesis statement to {}: each member signs it with `vouch registry sign {} --key <their key>`, then `vouch init --origin {} --genesis {}`",
                out.display(),
                out.display(),
                args.origin,
                out.display()
            );
            return Ok(());
        }
        let signers = read_signers(&args.gov_keys)?;
        let refs: Vec<&Signer> = signers.iter().collect();
        (
            envelope::sign(REGISTRY_TYPE, &body, &refs),
            format!(
                "{} governance members, {} signatures needed",
                args.governance.len(),
                args.threshold
            ),
        )
    };
    let signed = Signed::from_envelope(genesis_envelope)?;
    let (log_key, key_path, pub_path) =
        keyfile::generate(&args.keys, &KeyName::new(&args.origin)?)?;
    if let Err(e) = Log::create_ledger(store.clone(), &log_key, &signed, OffsetDateTime::now_utc())
    {
        // No ledger, so no use for its key: a genesis short of signatures leaves
        // nothing behind, and `init` can run again.
        let _ = std::fs::remove_file(&key_path);
        let _ = std::fs::remove_file(&pub_path);
        return Err(e.into());
    }
    let log = Log::open(store, None, LogConfig::default())?;
    eprintln!(
        "created ledger {} in {}; log key {}, {governance}",
        log.origin(),
        args.data,
        key_path.display(),
    );
    print!("{}", log.head().signed);
    Ok(())
}

fn governance_spec(id: &str, name: &str, key: &str) -> ParticipantSpec {
    ParticipantSpec {
        id: id.to_owned(),
        name: name.to_owned(),
        roles: vec![Role::Governance],
        supplier_ids: vec![],
        keys: vec![key.to_owned()],
        accreditation: None,
    }
}

fn read_signers(
    paths: &[PathBuf],
) -> Result<Vec<Signer>, Box<dyn std::error::Error + Send + Sync>> {
    Ok(paths
        .iter()
        .map(|k| keyfile::read_signer(k))
        .collect::<Result<Vec<Signer>, _>>()?)
}

fn read_envelope(path: &Path) -> Result<Envelope, Box<dyn std::error::Error + Send + Sync>> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(serde_json::from_slice(&bytes)
        .map_err(|e| format!("{}: not a DSSE envelope: {e}", path.display()))?)
}

/// Writes `bytes` to `path`, which must not exist yet.
fn write_new(path: &Path, bytes: &[u8]) -> CliResult {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    f.write_all(bytes)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(())
}

fn write_envelope(path: &Path, e: &Envelope) -> CliResult {
    std::fs::write(path, serde_json::to_string_pretty(e)? + "\n")
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(())
}

/// `vouch registry ...`.
///
/// # Errors
/// When a file cannot be read or written, or the envelopes are not over one change.
pub fn registry(cmd: RegistryCommand) -> CliResult {
    match cmd {
        RegistryCommand::Sign { file, key, out } => {
            let signer = keyfile::read_signer(&key)?;
            let bytes =
                std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let mut env = match serde_json::from_slice::<Envelope>(&bytes) {
                Ok(e) => e,
                Err(_) => {
                    RegistryStatement::parse(&bytes).map_err(|e| {
                        format!(
                            "{}: neither an envelope nor a registry statement: {e}",
                            file.display()
                        )
                    })?;
                    Envelope {
                        payload_type: REGISTRY_TYPE.to_owned(),
                        payload: crate::note::BASE64.encode(&bytes),
                        signatures: vec![],
                    }
                }
            };
            if env.payload_type != REGISTRY_TYPE {
                return Err(format!(
                    "{} is not a registry change ({})",
                    file.display(),
                    env.payload_type
                )
                .into());
            }
            let body = crate::note::BASE64
                .decode(&env.payload)
                .map_err(|_| format!("{}: payload is not base64", file.display()))?;
            RegistryStatement::parse(&body).map_err(|e| format!("{}: {e}", file.display()))?;
            let mine = envelope::sign(REGISTRY_TYPE, &body, &[&signer]).signatures;
            if env.signatures.iter().any(|s| s.keyid == mine[0].keyid) {
                return Err(format!(
                    "{} already carries {}'s signature",
                    file.display(),
                    signer.name()
                )
                .into());
            }
            env.signatures.extend(mine);
            write_envelope(out.as_ref().unwrap_or(&file), &env)?;
            eprintln!(
                "signed by {}: {} signature(s) now",
                signer.name(),
                env.signatures.len()
            );
        }
        RegistryCommand::Combine { files, out } => {
            let mut combined: Option<Envelope> = None;
            for f in &files {
                let e = read_envelope(f)?;
                match &mut combined {
                    None => combined = Some(e),
                    Some(c) => {
                        if c.payload_type != e.payload_type || c.payload != e.payload {
                            return Err(format!(
                                "{} is over another change than {}",
                                f.display(),
                                files[0].display()
                            )
                            .into());
                        }
                        for s in e.signatures {
                            if !c.signatures.iter().any(|t| t.keyid == s.keyid) {
                                c.signatures.push(s);
                            }
                        }
                    }
                }
            }
            let combined = combined.expect("clap requires two files");
            match out {
                Some(path) => write_envelope(&path, &combined)?,
                None => print!("{}", serde_json::to_string_pretty(&combined)? + "\n"),
            }
        }
    }
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
                .map(|s| {
                    let id = SupplierId::new(s)?;
                    id.check_os_id()?;
                    Ok(id)
                })
                .collect::<Result<Vec<_>, crate::statement::StatementError>>()?;
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
        ParticipantCommand::SetThreshold { common, threshold } => (
            common,
            RegistryStatement::SetThreshold {
                threshold,
                issued_at: now,
            },
        ),
        ParticipantCommand::SetDisputeWindow { common, days } => (
            common,
            RegistryStatement::SetDisputeWindow {
                days,
                issued_at: now,
            },
        ),
    };
    change.validate()?;
    let signers = read_signers(&common.gov_keys)?;
    let refs: Vec<&Signer> = signers.iter().collect();
    let env = envelope::sign(REGISTRY_TYPE, &serde_json::to_vec(&change)?, &refs);
    if let Some(path) = &common.out {
        write_envelope(path, &env)?;
        eprintln!(
            "wrote the change, signed by {} member(s), to {}: other members add theirs with `vouch registry sign {}`, then `vouch submit {} --url ...`",
            signers.len(),
            path.display(),
            path.display(),
            path.display()
        );
        return Ok(());
    }
    if let Some(url) = &common.url {
        let receipt = crate::client::post_envelope(url, &env.to_json())?;
        println!("{}", serde_json::to_string_pretty(&receipt)?);
        return Ok(());
    }
    let log = open_writable(&common.at, super::Access::Write)?;
    let receipt = log.submit_blocking(&env.to_json())?;
    println!("{}", serde_json::to_string_pretty(&receipt_json(&receipt))?);
    Ok(())
}

/// `vouch attest`.
///
/// # Errors
/// When the statement is invalid or a file cannot be read or written.
/// `refs` with the leaf hash of each one given by index alone fetched from the log at
/// `url`: the hash of the entry's bytes as served (a log that serves other bytes makes
/// the reference fail when the statement is submitted, not pass).
fn lookup_refs(refs: Vec<EntryRef>, url: Option<&str>) -> Result<Vec<EntryRef>, String> {
    refs.into_iter()
        .map(|mut r| {
            if !r.leaf_hash.is_empty() {
                return Ok(r);
            }
            let url = url.ok_or_else(|| {
                format!(
                    "--ref {} gives no leaf hash: add --url of the log to look it up, or write INDEX:LEAF_HASH",
                    r.index
                )
            })?;
            let bundle: crate::bundle::Bundle = crate::client::get_json(&format!(
                "{}/v1/entries/{}",
                url.trim_end_matches('/'),
                r.index
            ))
            .map_err(|e| format!("looking up entry {}: {e}", r.index))?;
            let bytes = crate::note::BASE64
                .decode(&bundle.entry)
                .map_err(|_| format!("entry {} as served is not base64", r.index))?;
            r.leaf_hash = encode_hash(&crate::merkle::leaf_hash(&bytes));
            Ok(r)
        })
        .collect()
}

pub fn attest(args: AttestArgs) -> CliResult {
    let signer = keyfile::read_signer(&args.key)?;
    let body = match &args.file {
        Some(f) => {
            let bytes =
                std::fs::read(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
            let s = Statement::parse(&bytes).map_err(|e| format!("{}: {e}", f.display()))?;
            s.supplier
                .id
                .check_os_id()
                .map_err(|e| format!("{}: {e}", f.display()))?;
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
                refs: lookup_refs(args.refs, args.url.as_deref())?,
                text: args.text.map(|body| crate::statement::StatementText {
                    lang: args.lang.clone(),
                    body,
                }),
                actions: args.actions,
                closes: args.closes,
                disputes: args.disputes,
                outcome: args.outcome,
                buyer: args.buyer,
                profile: None,
                alias_of: args.alias_of.as_deref().map(SupplierId::new).transpose()?,
                v: None,
                assessor_level: args.assessor_level,
                assessment_level: args.assessment_level,
                attestation_type: args.attestation_type,
                scheme: None,
                criteria: args.criteria,
            };
            // Version 2 when it says anything only version 2 says.
            let statement = Statement {
                v: statement.v2_field().map(|_| 2),
                ..statement
            };
            statement.validate()?;
            statement.supplier.id.check_os_id()?;
            if let Some(other) = &statement.alias_of {
                other.check_os_id()?;
            }
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
    let log = open_writable(&args.at, super::Access::Write)?;
    let receipt = log.submit_blocking(&bytes)?;
    println!("{}", serde_json::to_string_pretty(&receipt_json(&receipt))?);
    Ok(())
}
