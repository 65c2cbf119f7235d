//! The `vouch` command line: argument parsing (clap) and the commands, each a thin
//! call into the library.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use serde_json::json;

pub mod client;
pub mod demo;
mod ledger;
mod witness;

use crate::keyfile;
use crate::log::{Log, LogConfig, Submission};
use crate::note::{KeyName, BASE64};
use crate::store::{PgOptions, PgStore, Role, SledOptions, SledStore, Store};

use base64::Engine as _;

/// vouch: a public, tamper-evident ledger of supplier performance records.
#[derive(Debug, Parser)]
#[command(name = "vouch", version, about, long_about = None)]
pub struct Cli {
    /// Trust the CA certificates in this PEM file (beside the public web's roots) for
    /// HTTPS: a server or witness with a private or self-signed certificate.
    #[arg(long, global = true, value_name = "PEM")]
    pub ca: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate an Ed25519 key pair: NAME.key (private, mode 0600) and NAME.pub.
    Keygen {
        /// Key name (no whitespace, no '+'), e.g. an auditor's or the log's origin.
        name: String,
        /// Directory to write the key files into.
        #[arg(long, default_value = "keys")]
        dir: PathBuf,
        /// A witness's key: it makes C2SP cosignature/v1 signatures (algorithm 0x04).
        #[arg(long)]
        witness: bool,
    },
    /// Work with a log in a local data directory.
    #[command(subcommand)]
    Log(LogCommand),
    /// Create a new ledger: log key, governance key, genesis registry entry.
    Init(ledger::InitArgs),
    /// Change the registry, signed by governance keys: in a local ledger, over HTTP
    /// (--url), or into a file for other members to sign (--out).
    #[command(subcommand)]
    Participant(ledger::ParticipantCommand),
    /// Sign and combine registry changes, each member on their own machine.
    #[command(subcommand)]
    Registry(ledger::RegistryCommand),
    /// Build a statement from flags or a JSON file, validate it, sign it, write the envelope.
    Attest(Box<ledger::AttestArgs>),
    /// Submit a signed envelope to a server (--url) or a local ledger; prints the receipt.
    Submit(ledger::SubmitArgs),
    /// Serve the log over HTTP.
    Serve(client::ServeArgs),
    /// Verify a bundle (JSON) or a portable proof (.tlog-proof) against the log's public
    /// key; non-zero exit when not valid.
    Verify(client::VerifyArgs),
    /// Write a portable proof (C2SP tlog-proof) that entry INDEX is in the log, under
    /// the newest checkpoint the server holds witness cosignatures for (or its newest).
    Proof(client::ProofArgs),
    /// Fetch and verify a supplier's history, then print its timeline.
    History(client::HistoryArgs),
    /// A supplier's current standing per topic, or with --kind the newest valid record
    /// of that kind (exit 7 when there is none), from its complete, verified history.
    Standing(client::StandingArgs),
    /// A factory's verified standing for a lender: current audits, how its figures
    /// moved, open corrective actions, buyers' ratings, each citing its records.
    Summary(client::SummaryArgs),
    /// List and search the suppliers a server has records about.
    Suppliers(client::SuppliersArgs),
    /// Every record as open data (JSON Lines or CSV), from a server (--url) or a local
    /// data directory (--data), streamed to a file or stdout.
    Export(client::ExportArgs),
    /// Follow a log through its tiles and check every entry by the log's own rules, the
    /// registry and the supplier index replayed, every checkpoint compared; report each
    /// discrepancy as a JSON line (exit 2). Resumes from its state.
    Monitor(witness::MonitorArgs),
    /// Run a witness (C2SP tlog-witness): cosign the checkpoints of the logs it knows
    /// when each is consistent with the last one it cosigned, and never a fork.
    Witness(witness::WitnessArgs),
    /// Copy the log in a data directory into a new directory, while a server may be
    /// appending to it, then check the copy opens as the same log. (On PostgreSQL, use
    /// the database's own backups.)
    Backup {
        /// Data directory of the log.
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// A new (or empty) directory for the copy.
        #[arg(long)]
        out: PathBuf,
    },
    /// Make a new data directory from a backup, after checking every record in it, and
    /// check it opens as a log signed by its key.
    Restore {
        /// The backup (`vouch backup --out`).
        #[arg(long)]
        from: PathBuf,
        /// A new (or empty) data directory.
        #[arg(long, default_value = "data")]
        data: PathBuf,
    },
    /// Check a data directory: every journal record, entry and checkpoint, and the index
    /// against the journal. Exit 0 clean, 1 repaired, 2 repairable (use --repair),
    /// 3 entries lost or damaged, 4 could not check.
    Fsck {
        /// Data directory of the log (stop the server first).
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// Cut a torn last batch and rebuild an index that does not match the journal.
        #[arg(long)]
        repair: bool,
    },
}

/// A command that ends with this exit code, having said why itself.
#[derive(Debug)]
pub struct Exit(pub u8);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit code {}", self.0)
    }
}

impl std::error::Error for Exit {}

/// Where the log lives and which key signs it.
#[derive(Debug, Args)]
pub struct LogLocation {
    /// Where the log is stored: a data directory (embedded sled) or a PostgreSQL URL
    /// (postgres://USER@HOST:PORT/DATABASE).
    #[arg(long, visible_alias = "store", default_value = "data")]
    pub data: StoreAt,
    /// The log's signer key file [default: keys/<origin>.key].
    #[arg(long = "log-key")]
    pub key: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Create a new, empty log and sign its first checkpoint.
    Init {
        #[command(flatten)]
        at: LogLocation,
        /// The log's origin, which is also its key's name (e.g. vouch.example/vn-apparel).
        #[arg(long)]
        origin: String,
    },
    /// Append each FILE's bytes as one entry; prints index and leaf hash per file.
    Append {
        #[command(flatten)]
        at: LogLocation,
        /// Whom the entries are about (indexes them by subject).
        #[arg(long)]
        subject: Option<String>,
        /// Files to append, one entry each (at most 65,535 bytes).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the latest signed checkpoint.
    Checkpoint {
        /// Where the log is stored: a data directory or a postgres:// URL.
        #[arg(long, visible_alias = "store", default_value = "data")]
        data: StoreAt,
    },
    /// Print an inclusion proof (--index) or a consistency proof (--old-size) as JSON.
    Prove {
        /// Where the log is stored: a data directory or a postgres:// URL.
        #[arg(long, visible_alias = "store", default_value = "data")]
        data: StoreAt,
        /// Prove inclusion of the entry at this index.
        #[arg(
            long,
            conflicts_with = "old_size",
            required_unless_present = "old_size"
        )]
        index: Option<u64>,
        /// Prove consistency from this earlier tree size.
        #[arg(long)]
        old_size: Option<u64>,
        /// Tree size to prove against [default: the latest checkpoint's].
        #[arg(long)]
        size: Option<u64>,
    },
}

/// A command's failure, printed as one line.
pub type CliResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Where a log is stored: a data directory (the embedded sled store) or a PostgreSQL
/// database (`postgres://USER@HOST:PORT/DATABASE`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreAt {
    Dir(PathBuf),
    Postgres(String),
}

impl std::str::FromStr for StoreAt {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Ok(StoreAt::Postgres(s.to_owned()))
        } else if s.contains("://") {
            Err(format!(
                "{s:?}: a store is a data directory or a postgres:// URL"
            ))
        } else if s.is_empty() {
            Err("the store is empty: give a data directory or a postgres:// URL".into())
        } else {
            Ok(StoreAt::Dir(PathBuf::from(s)))
        }
    }
}

impl std::fmt::Display for StoreAt {
    /// The directory, or the database without its password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreAt::Dir(d) => write!(f, "{}", d.display()),
            StoreAt::Postgres(url) => match url.split_once('@') {
                Some((user, rest)) if user.matches(':').count() > 1 => {
                    let user = &user[..user.rfind(':').unwrap_or(user.len())];
                    write!(f, "{user}:***@{rest}")
                }
                _ => write!(f, "{url}"),
            },
        }
    }
}

impl StoreAt {
    /// A directory for files that live beside the log (the demo witnesses' state):
    /// the data directory itself, or `vouch-state/` here for a database.
    pub fn beside(&self) -> PathBuf {
        match self {
            StoreAt::Dir(d) => d.clone(),
            StoreAt::Postgres(_) => PathBuf::from("vouch-state"),
        }
    }
}

/// How a command uses a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Reads only: on PostgreSQL, from any copy of the database.
    Read,
    /// Appends; on PostgreSQL, refuses while another process writes.
    Write,
    /// Appends, waiting on PostgreSQL for another writer to stop (`vouch serve`).
    WriteWhenFree,
}

fn open_store(
    at: &StoreAt,
    access: Access,
) -> Result<Arc<dyn Store>, Box<dyn std::error::Error + Send + Sync>> {
    match at {
        StoreAt::Dir(data) => {
            let store = SledStore::open(data, &SledOptions::default())
                .map_err(|e| format!("cannot open data directory {}: {e}", data.display()))?;
            Ok(Arc::new(store))
        }
        StoreAt::Postgres(url) => {
            let options = PgOptions {
                role: if access == Access::Read {
                    Role::Reader
                } else {
                    Role::Writer
                },
                wait_for_writer: access == Access::WriteWhenFree,
                ..PgOptions::default()
            };
            let store =
                PgStore::open(url, &options).map_err(|e| format!("cannot open {at}: {e}"))?;
            Ok(Arc::new(store))
        }
    }
}

/// Opens the log in `at.data` for appending, with the key in `at.key` or, by default,
/// `keys/<origin>.key`.
fn open_writable(
    at: &LogLocation,
    access: Access,
) -> Result<Log, Box<dyn std::error::Error + Send + Sync>> {
    let store = open_store(&at.data, access)?;
    let origin = Log::open(store.clone(), None, LogConfig::default())?
        .origin()
        .to_owned();
    let key_path = match &at.key {
        Some(k) => k.clone(),
        None => default_key_path(&origin)?,
    };
    let signer = keyfile::read_signer(&key_path)?;
    Ok(Log::open(store, Some(signer), LogConfig::default())?)
}

fn default_key_path(origin: &str) -> Result<PathBuf, Box<dyn std::error::Error + Send + Sync>> {
    Ok(keyfile::paths(Path::new("keys"), &KeyName::new(origin)?).0)
}

/// The log in data directory `dir`, opened to read, and checked: every journal record
/// against the checkpoint signed with it, the newest checkpoint's signature.
fn open_copy(dir: &Path) -> Result<Log, Box<dyn std::error::Error + Send + Sync>> {
    let store = open_store(&StoreAt::Dir(dir.to_owned()), Access::Read)?;
    Ok(Log::open(store, None, LogConfig::default())?)
}

/// The newest checkpoint of the log in data directory `dir`, which a server holds: from
/// its journal, its signature checked against the log's key (also from the journal).
fn checkpoint_of_served(dir: &Path) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let newest = crate::store::backup::newest_checkpoint(dir)?;
    let (signed, meta) = (newest.checkpoint, newest.meta);
    let key = meta
        .iter()
        .find(|(name, _)| name == crate::log::META_LOG_KEY)
        .and_then(|(_, key)| std::str::from_utf8(key).ok())
        .ok_or_else(|| {
            format!(
                "the journal in {} does not name the log's key",
                dir.display()
            )
        })?;
    let verifier = crate::note::Verifier::parse(key)?;
    crate::note::Checkpoint::open(&signed, &verifier)
        .map_err(|e| format!("the newest checkpoint in {}'s journal: {e}", dir.display()))?;
    eprintln!(
        "{} is in use by a server: this is the newest checkpoint in its journal, signed by {verifier}",
        dir.display()
    );
    Ok(String::from_utf8(signed)?)
}

/// `vouch backup`.
fn backup(data: &Path, out: &Path) -> CliResult {
    if matches!(
        data.to_str().map(str::parse),
        Some(Ok(StoreAt::Postgres(_)))
    ) {
        return Err(
            "a log on PostgreSQL is backed up with PostgreSQL's own tools (pg_dump, \
                    pg_basebackup, WAL archiving): see docs/deploy.md"
                .into(),
        );
    }
    let copied = crate::store::backup::backup(data, out)
        .map_err(|e| format!("cannot back up {}: {e}", data.display()))?;
    let log = open_copy(out)
        .map_err(|e| format!("the copy in {} does not open as a log: {e}", out.display()))?;
    eprintln!(
        "copied {} entries ({} batches, {} bytes) of {} from {} to {}; the copy opens, and its \
         newest checkpoint is:",
        copied.entries,
        copied.batches,
        copied.bytes,
        log.origin(),
        data.display(),
        out.display()
    );
    print!("{}", log.head().signed);
    Ok(())
}

/// `vouch restore`.
fn restore(from: &Path, data: &Path) -> CliResult {
    let copied = crate::store::backup::restore(from, data)
        .map_err(|e| format!("cannot restore {}: {e}", from.display()))?;
    match open_copy(data) {
        Ok(log) => {
            eprintln!(
                "restored {} entries ({} batches) of {} into {}; its newest checkpoint is:",
                copied.entries,
                copied.batches,
                log.origin(),
                data.display()
            );
            print!("{}", log.head().signed);
            Ok(())
        }
        Err(e) => {
            // The directory was made by this command: leave nothing half-restored.
            let _ = std::fs::remove_dir_all(data);
            Err(format!(
                "{} is not a log that opens ({e}); nothing was restored",
                from.display()
            )
            .into())
        }
    }
}

/// `vouch fsck`: the report in words, then the exit code.
fn fsck(data: &Path, repair: bool) -> CliResult {
    use crate::store::fsck::{self, Severity};
    if !data.join("journal").exists() {
        eprintln!(
            "fsck: {} holds no journal: nothing to check",
            data.display()
        );
        return Err(Exit(4).into());
    }
    let report = match fsck::check(data, repair) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("fsck: cannot check {}: {e}", data.display());
            return Err(Exit(4).into());
        }
    };
    println!(
        "journal: {} entries in {} batches, {} bytes",
        report.entries, report.batches, report.journal_bytes
    );
    for f in &report.findings {
        let tag = match f.severity {
            Severity::Repairable => "repairable",
            Severity::Lost => "LOST",
        };
        println!("{tag}: {}", f.message);
    }
    for r in &report.repaired {
        println!("repaired: {r}");
    }
    let code = report.exit_code();
    if code <= 1 {
        // The storage is sound: the log's own checks (its key, the newest checkpoint's
        // signature, the registry) must hold too.
        match open_store(&StoreAt::Dir(data.to_owned()), Access::Read)
            .and_then(|s| Ok(Log::open(s, None, LogConfig::default())?))
        {
            Ok(log) => println!(
                "log: {} at size {}, newest checkpoint signed by {}",
                log.origin(),
                log.head().size(),
                log.verifier()
            ),
            Err(e) => {
                println!("LOST: the log does not open: {e}");
                return Err(Exit(3).into());
            }
        }
    }
    println!(
        "{}",
        match code {
            0 => "clean",
            1 => "repaired",
            2 => "problems found: run again with --repair",
            _ => "entries are lost or damaged: see docs/operations.md",
        }
    );
    match code {
        0 => Ok(()),
        c => Err(Exit(c as u8).into()),
    }
}

fn hex_or_b64(hash: &[u8]) -> serde_json::Value {
    json!(BASE64.encode(hash))
}

/// Runs one command.
///
/// # Errors
/// Whatever the command failed on, in words for the user.
pub fn run(cli: Cli) -> CliResult {
    if let Some(ca) = &cli.ca {
        crate::client::trust_ca(ca)?;
    }
    match cli.command {
        Command::Keygen { name, dir, witness } => {
            let name = KeyName::new(&name)?;
            let alg = if witness {
                crate::note::Alg::CosignatureV1
            } else {
                crate::note::Alg::Ed25519
            };
            let (signer, key, public) = keyfile::generate_as(&dir, &name, alg)?;
            println!("{}", signer.verifier());
            eprintln!("wrote {} and {}", key.display(), public.display());
        }
        Command::Log(LogCommand::Init { at, origin }) => {
            let name = KeyName::new(&origin)?;
            let store = open_store(&at.data, Access::Write)?;
            if Log::exists(store.as_ref())? {
                return Err(format!("{} already holds a log", at.data).into());
            }
            let key_path = match at.key {
                Some(k) => k,
                None => default_key_path(&origin)?,
            };
            let signer = if key_path.exists() {
                let s = keyfile::read_signer(&key_path)?;
                if s.name() != &name {
                    return Err(format!(
                        "{} is a key for {}, not for origin {origin}",
                        key_path.display(),
                        s.name()
                    )
                    .into());
                }
                s
            } else {
                let (s, key, public) =
                    keyfile::generate(key_path.parent().unwrap_or(Path::new(".")), &name)?;
                eprintln!("wrote {} and {}", key.display(), public.display());
                s
            };
            Log::create(store.clone(), &signer)?;
            let log = Log::open(store, None, LogConfig::default())?;
            eprintln!("created log {} in {}", log.origin(), at.data);
            print!("{}", log.head().signed);
        }
        Command::Init(args) => ledger::init(args)?,
        Command::Participant(cmd) => ledger::participant(cmd)?,
        Command::Registry(cmd) => ledger::registry(cmd)?,
        Command::Attest(args) => ledger::attest(*args)?,
        Command::Submit(args) => ledger::submit(args)?,
        Command::Serve(args) => client::serve(args)?,
        Command::Witness(args) => witness::run(args)?,
        Command::Monitor(args) => witness::monitor(args)?,
        Command::Verify(args) => client::verify_bundle(args)?,
        Command::Proof(args) => client::proof(args)?,
        Command::History(args) => client::history(args)?,
        Command::Standing(args) => client::standing(args)?,
        Command::Summary(args) => client::summary(args)?,
        Command::Suppliers(args) => client::suppliers(args)?,
        Command::Export(args) => client::export(args, |at| open_store(at, Access::Read))?,
        Command::Fsck { data, repair } => fsck(&data, repair)?,
        Command::Backup { data, out } => backup(&data, &out)?,
        Command::Restore { from, data } => restore(&from, &data)?,
        Command::Log(LogCommand::Append { at, subject, files }) => {
            let log = open_writable(&at, Access::Write)?;
            let mut entries = Vec::with_capacity(files.len());
            for f in &files {
                let bytes =
                    std::fs::read(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
                crate::tiles::check_entry_len(&bytes)
                    .map_err(|e| format!("{}: {e}", f.display()))?;
                entries.push(bytes);
            }
            // Queued in order from this thread: they keep the files' order and share
            // batches.
            let pending = log.append_all_blocking(
                entries
                    .into_iter()
                    .map(|entry| Submission {
                        entry,
                        subject: subject.clone(),
                    })
                    .collect(),
            );
            for (f, receipt) in files.iter().zip(pending) {
                let r = receipt?;
                println!(
                    "{}\t{}\t{}{}",
                    r.index,
                    BASE64.encode(r.leaf_hash),
                    f.display(),
                    if r.duplicate {
                        "\t(already in the log)"
                    } else {
                        ""
                    }
                );
            }
            print!("{}", log.head().signed);
        }
        Command::Log(LogCommand::Checkpoint { data }) => match &data {
            StoreAt::Dir(dir) if crate::store::backup::in_use(dir) => {
                print!("{}", checkpoint_of_served(dir)?);
            }
            _ => {
                let log = Log::open(open_store(&data, Access::Read)?, None, LogConfig::default())?;
                print!("{}", log.head().signed);
            }
        },
        Command::Log(LogCommand::Prove {
            data,
            index,
            old_size,
            size,
        }) => {
            let log = Log::open(open_store(&data, Access::Read)?, None, LogConfig::default())?;
            let log = log.view();
            let size = size.unwrap_or(log.size());
            let checkpoint = log.checkpoint_at(size)?;
            let out = if let Some(index) = index {
                let proof = log.inclusion_proof(index, size)?;
                json!({
                    "index": index,
                    "tree_size": size,
                    "leaf_hash": hex_or_b64(&log.leaf_hash(index)?),
                    "root": hex_or_b64(&log.root(size)?),
                    "proof": proof.iter().map(|h| hex_or_b64(h)).collect::<Vec<_>>(),
                    "checkpoint": checkpoint,
                })
            } else {
                let old = old_size.expect("clap requires --index or --old-size");
                let proof = log.consistency_proof(old, size)?;
                json!({
                    "old_size": old,
                    "old_root": hex_or_b64(&log.root(old)?),
                    "tree_size": size,
                    "root": hex_or_b64(&log.root(size)?),
                    "proof": proof.iter().map(|h| hex_or_b64(h)).collect::<Vec<_>>(),
                    "checkpoint": checkpoint,
                })
            };
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
    }
    Ok(())
}
