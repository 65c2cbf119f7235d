//! The log, split by job:
//!
//! - this module: creating and opening a log, and the queue callers append through;
//! - [`admission`]: what kind of log it is, said once: a raw log (opaque entries,
//!   [`Log::append`]) or a ledger ([`accept`]: signed envelopes that pass the rules of
//!   docs/design.md §6, [`Log::submit`]); what each accepts, what makes two requests one
//!   entry, the checkpoint's extension lines and the registry it publishes;
//! - [`sequencer`]: the pipeline every log shares: batch, admit, index and sign, commit
//!   durably, publish, answer;
//! - [`read`]: a [`View`] pins one published head, and everything read through it
//!   (entries, proofs, tiles, bundles, histories) is proven against that head;
//!   [`directory`] and [`export`] read on top of it.
//!
//! Opening reads the tree size, the O(log n) frontier hashes, the latest checkpoint,
//! the chain heads of the supplier index and (for a ledger) the registry chains.

mod accept;
mod admission;
mod cosigning;
mod directory;
mod export;
mod mirror;
mod read;
mod sequencer;

pub use accept::{timestamp, Payload, Signed};
pub use cosigning::{WitnessStatus, WitnessTarget, KEPT_SIZES};
pub use directory::{SupplierFile, SupplierPage, SupplierSummary};
pub use export::Format;
pub use mirror::{Discrepancy, Mirror, Prepared, KEEP_AFTER_A_PASS};
pub use read::View;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::oneshot;

use time::OffsetDateTime;

use crate::entry::{self, Entry};
use crate::envelope::EnvelopeError;
use crate::index::{self, ChainHead, Index};
use crate::merkle::{self, Frontier, Hash};
use crate::note::{Checkpoint, NoteError, Signer, Verifier};
use crate::policy::PolicyError;
use crate::registry::{Registry, RegistryError};
use crate::statement::{RegistryStatement, StatementError};
use crate::store::journal::MAX_RECORD_ENTRIES;
use crate::store::{Batch, NewEntry, Store, StoreError, StoreHashes};
use crate::tiles::TileError;

use accept::Ledger;
use admission::{Admission, RawEntry, RawLog};
use sequencer::{Request, Sequencer};

const META_ORIGIN: &str = "origin";
pub(crate) const META_LOG_KEY: &str = "log_key";
/// Marks a ledger (absent in a raw log): the genesis registry state. The registry is
/// not kept up to date here: it is replayed from the registry chains on open.
const META_REGISTRY: &str = "registry";

/// How the sequencer groups appends.
#[derive(Clone, Debug)]
pub struct LogConfig {
    /// The most entries in one batch (one write, one flush, one checkpoint).
    pub max_batch: usize,
    /// How long a batch stays open for more entries after its first. Zero batches
    /// whatever queued up while the previous batch was being written.
    pub max_wait: Duration,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            max_batch: 1024,
            max_wait: Duration::ZERO,
        }
    }
}

/// Why a log operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Tile(#[from] TileError),
    #[error("stored checkpoint: {0}")]
    Note(#[from] NoteError),
    #[error("the store holds no log; create one first (vouch log init)")]
    NotInitialised,
    #[error("the store already holds a log")]
    AlreadyInitialised,
    #[error("the log's key is {expected}, not {got}")]
    WrongKey { expected: String, got: String },
    #[error("the store is inconsistent: {0}")]
    Inconsistent(String),
    #[error("index {index} is not in the log (tree size {size})")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("tree size {size} is larger than the log's {tree_size}")]
    SizeOutOfRange { size: u64, tree_size: u64 },
    #[error("old tree size {old} is larger than new tree size {new}")]
    SizesReversed { old: u64, new: u64 },
    #[error(
        "supplier {supplier} has {records} records, more than the {max} verified in one request"
    )]
    TooManyRecords {
        supplier: String,
        records: u64,
        max: usize,
    },
    #[error("{0} does not exist in a tree of this size")]
    TileNotFound(String),
    #[error("the log signed no checkpoint for tree size {0}")]
    NoCheckpoint(u64),
    #[error("the log was opened read-only (no signing key)")]
    ReadOnly,
    #[error("the log is shutting down")]
    Closed,
    #[error("the log is not accepting writes: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error(transparent)]
    Statement(#[from] StatementError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("this log is a ledger: it accepts signed envelopes only")]
    IsALedger,
    #[error("this log is not a ledger: it has no registry and accepts raw entries only")]
    NotALedger,
}

/// What an append returns once its batch is durable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub index: u64,
    pub leaf_hash: Hash,
    /// The entry was already in the log; this is the first submission's receipt.
    pub duplicate: bool,
    /// A signed checkpoint that includes the entry: the one of the batch that made it
    /// durable (for a duplicate, the newest at the time).
    pub head: Arc<Head>,
    /// The entry's inclusion proof in the tree of `head`, when the sequencer had it in
    /// hand: for every entry of the batch that `head` closes, not for a duplicate of an
    /// older one ([`View::inclusion_proof`] has those).
    pub inclusion_proof: Option<Vec<Hash>>,
}

/// A published tree head, with the supplier index its checkpoint commits to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub checkpoint: Checkpoint,
    pub signed: String,
    /// The index whose root the checkpoint's `vouch-index` line names.
    pub index: Index,
}

impl Head {
    pub fn size(&self) -> u64 {
        self.checkpoint.size()
    }
}

/// An entry to append.
#[derive(Clone, Debug)]
pub struct Submission {
    pub entry: Vec<u8>,
    /// Whom the entry is about, for [`View::subject_entries`].
    pub subject: Option<String>,
}

/// The sequencer's queue, typed by the kind of log.
enum Queue {
    Raw(mpsc::Sender<Request<RawEntry>>),
    Ledger(mpsc::Sender<Request<Box<Signed>>>),
}

/// How many of the newest heads the log keeps, so that pages of a history can be
/// proven against the checkpoint of its first page while the log grows.
pub const RECENT_HEADS: usize = 256;

/// What readers see: the newest head and the registry as of that head.
#[derive(Clone)]
struct Published {
    head: Arc<Head>,
    /// `None` for a raw log.
    registry: Option<Arc<Registry>>,
}

struct Shared {
    store: Arc<dyn Store>,
    verifier: Verifier,
    published: RwLock<Published>,
    /// The newest heads, oldest first (the last is the published one).
    recent: Mutex<std::collections::VecDeque<Arc<Head>>>,
    /// Why the log takes no writes now, if it does not.
    stopped: Mutex<Option<Stopped>>,
    /// The store may hold a batch the sequencer was told failed: once storage
    /// recovers, the sequencer reloads its state from the store.
    reload: AtomicBool,
    batches: AtomicU64,
    batched_entries: AtomicU64,
    /// Reads refused because stored bytes contradicted a signed checkpoint.
    corruptions: AtomicU64,
    /// Batches by size: bucket `i` counts sizes in `(2^(i-1), 2^i]`.
    batch_sizes: [AtomicU64; BATCH_BUCKETS],
    /// Notified whenever a new head is published (the witness threads wait on it).
    head_moved: std::sync::Condvar,
    head_moved_lock: Mutex<()>,
}

const BATCH_BUCKETS: usize = 12;

impl Shared {
    fn published(&self) -> Published {
        self.published
            .read()
            .expect("published lock is never poisoned: writers do not panic")
            .clone()
    }

    fn head(&self) -> Arc<Head> {
        self.published().head
    }

    /// Waits until the published head is no longer of `size` entries, or `timeout`.
    fn wait_for_growth(&self, size: u64, timeout: Duration) {
        let guard = self
            .head_moved_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.head().size() != size {
            return;
        }
        let _ = self.head_moved.wait_timeout(guard, timeout);
    }

    /// Stops taking writes; a stop until restart is never downgraded.
    fn stop(&self, reason: String, until_restart: bool) {
        let mut stopped = self.stopped.lock().expect("stopped lock");
        if stopped.as_ref().is_some_and(|s| s.until_restart) {
            return;
        }
        *stopped = Some(Stopped {
            reason,
            until_restart,
        });
    }
}

/// Why a log takes no writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stopped {
    pub reason: String,
    /// Until the log is reopened (storage may hold a batch it could not show, or the
    /// store is corrupt); otherwise the log retries storage every second and resumes.
    pub until_restart: bool,
}

/// How often a log whose storage failed checks whether it works again.
const RECOVER_EVERY: Duration = Duration::from_secs(1);

/// Counters of committed batches, for metrics.
#[derive(Clone, Debug, Default)]
pub struct LogStats {
    pub batches: u64,
    pub entries: u64,
    /// `batch_sizes[i]`: batches of more than `2^(i-1)` and at most `2^i` entries (the
    /// last bucket takes every larger batch too).
    pub batch_sizes: Vec<u64>,
    /// Reads refused because stored bytes did not match a checkpoint the log signed.
    pub corruptions: u64,
}

/// An append-only Merkle log over a [`Store`].
pub struct Log {
    shared: Arc<Shared>,
    /// Opened with the signing key (so a missing queue means closed, not read-only).
    writable: bool,
    /// A ledger (signed envelopes), not a raw log.
    ledger: bool,
    queue: Mutex<Option<Queue>>,
    sequencer: Mutex<Option<JoinHandle<()>>>,
    /// The supplier directory, as of the tree size it was last built for.
    directory: Mutex<directory::Directory>,
    /// Entries read and proven, as histories and bundles carry them.
    entries: read::EntryCache,
    /// Suppliers' files (history, verification, standing), the most recently read.
    files: directory::FileCache,
    /// A thread is drawing directory briefs ([`Log::draw_briefs_later`]).
    drawing: AtomicBool,
    /// Witnesses' cosignatures of the log's checkpoints, and the witnesses.
    cosigning: cosigning::Cosigning,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log")
            .field("origin", &self.origin())
            .field("size", &self.head().size())
            .finish()
    }
}

/// The metadata that names a log: its origin and public key.
fn identity(signer: &Signer) -> Vec<(String, Vec<u8>)> {
    vec![
        (
            META_ORIGIN.into(),
            signer.name().as_str().as_bytes().to_vec(),
        ),
        (
            META_LOG_KEY.into(),
            signer.verifier().to_string().into_bytes(),
        ),
    ]
}

/// Whether entries `old..new` of a ledger change its registry (the governance chain or
/// a participant's).
fn registry_changed(store: &dyn Store, old: u64, new: u64) -> Result<bool, LogError> {
    let prefix = format!("{}:", crate::statement::REGISTRY_SUBJECT);
    let mut at = old;
    while at < new {
        let n = (new - at).min(1024);
        for bytes in store.entries(at, n)? {
            let e = Entry::parse(&bytes).map_err(|e| LogError::Inconsistent(e.to_string()))?;
            if e.subject == crate::statement::REGISTRY_SUBJECT || e.subject.starts_with(&prefix) {
                return Ok(true);
            }
        }
        at += n;
    }
    Ok(false)
}

/// The supplier index of everything the store holds.
fn read_index(store: &dyn Store) -> Result<Index, LogError> {
    let heads = store.subject_heads(None, usize::MAX)?;
    Ok(Index::from_heads(
        heads.into_iter().map(|(s, h)| (index::key(&s), h)),
    ))
}

fn read_head(store: &dyn Store, verifier: &Verifier) -> Result<(Head, Frontier), LogError> {
    let size = store.tree_size()?;
    let hashes = store.hashes(&Frontier::nodes(size))?;
    let frontier = Frontier::from_hashes(size, hashes)
        .ok_or_else(|| LogError::Inconsistent("frontier does not match tree size".into()))?;
    let signed = store.latest_checkpoint()?.ok_or(LogError::NotInitialised)?;
    let (checkpoint, _) = Checkpoint::open(&signed, verifier)?;
    if checkpoint.size() != size || *checkpoint.root() != frontier.root() {
        return Err(LogError::Inconsistent(format!(
            "latest checkpoint (size {}) does not match the stored tree (size {size})",
            checkpoint.size()
        )));
    }
    let index = read_index(store)?;
    // Checkpoints written before the index existed carry no root to compare.
    if index::root_of(&checkpoint).is_some_and(|root| root != index.root()) {
        return Err(LogError::Inconsistent(format!(
            "the stored supplier index does not match the latest checkpoint (size {size}); \
             `vouch fsck --repair` rebuilds the index from the journal"
        )));
    }
    let signed = String::from_utf8(signed).map_err(|_| NoteError::Malformed("not UTF-8"))?;
    Ok((
        Head {
            checkpoint,
            signed,
            index,
        },
        frontier,
    ))
}

impl Log {
    /// Creates a new, empty log in an empty store, signed by `signer`, whose name is
    /// the log's origin.
    ///
    /// # Errors
    /// [`LogError::AlreadyInitialised`] when the store already holds a log.
    pub fn create(store: Arc<dyn Store>, signer: &Signer) -> Result<(), LogError> {
        if Self::exists(store.as_ref())? {
            return Err(LogError::AlreadyInitialised);
        }
        let checkpoint = Checkpoint::new(
            signer.name().as_str(),
            0,
            merkle::empty_root(),
            vec![index::root_line(&Index::new().root())],
        )?;
        store.write(Batch {
            start: 0,
            checkpoint: checkpoint.sign(&[signer]).into_bytes(),
            meta: identity(signer),
            ..Batch::default()
        })?;
        Ok(())
    }

    /// Creates a new ledger whose first entry is `genesis`: a registry statement of the
    /// genesis kind, signed by at least `threshold` of the governance keys it names.
    ///
    /// # Errors
    /// [`LogError::AlreadyInitialised`], or what is wrong with the genesis envelope.
    pub fn create_ledger(
        store: Arc<dyn Store>,
        signer: &Signer,
        genesis: &Signed,
        now: OffsetDateTime,
    ) -> Result<(), LogError> {
        if Self::exists(store.as_ref())? {
            return Err(LogError::AlreadyInitialised);
        }
        let Payload::Registry(stmt @ RegistryStatement::Genesis { .. }) = &genesis.payload else {
            return Err(RegistryError::NoGenesis.into());
        };
        let registry = Registry::genesis(stmt)?;
        let logged_at = timestamp(now);
        let judge = accept::Judge {
            store: store.as_ref(),
            now,
            logged_at: &logged_at,
            index: &Index::new(),
        };
        let (bytes, leaf) = judge.genesis(&registry, genesis)?;
        let index = Index::new().with([(
            index::key(&genesis.subject()),
            ChainHead {
                count: 1,
                newest_index: 0,
                newest_leaf_hash: leaf,
            },
        )]);
        let mut frontier = Frontier::new();
        let mut nodes = Vec::new();
        frontier.push(leaf, |n, h| nodes.push((n, h)));
        let checkpoint = Checkpoint::new(
            signer.name().as_str(),
            1,
            frontier.root(),
            vec![
                entry::registry_head_line(0, &leaf),
                index::root_line(&index.root()),
            ],
        )?;
        store.write(Batch {
            start: 0,
            entries: vec![NewEntry {
                bytes,
                leaf_hash: leaf,
                dedup_key: genesis.opened.dedup_key(),
                subject: Some(genesis.subject().into_owned()),
            }],
            nodes,
            checkpoint: checkpoint.sign(&[signer]).into_bytes(),
            meta: [
                identity(signer),
                vec![(META_REGISTRY.into(), registry.to_bytes())],
            ]
            .concat(),
            heads: None,
            no_dedup_rows: false,
        })?;
        Ok(())
    }

    /// Whether the store already holds a log.
    ///
    /// # Errors
    /// When the store fails.
    pub fn exists(store: &dyn Store) -> Result<bool, LogError> {
        Ok(store.tree_size()? != 0 || store.latest_checkpoint()?.is_some())
    }

    /// Opens an existing log. With a signer (which must be the log's key) the log can
    /// append; without one it is read-only.
    ///
    /// # Errors
    /// [`LogError::NotInitialised`], [`LogError::WrongKey`], or a store that does not
    /// match its own latest checkpoint.
    pub fn open(
        store: Arc<dyn Store>,
        signer: Option<Signer>,
        config: LogConfig,
    ) -> Result<Self, LogError> {
        let key = store.meta(META_LOG_KEY)?.ok_or(LogError::NotInitialised)?;
        let key = String::from_utf8(key)
            .map_err(|_| LogError::Inconsistent("stored log key is not UTF-8".into()))?;
        let verifier = Verifier::parse(&key)?;
        if let Some(s) = &signer {
            if *s.verifier() != verifier {
                return Err(LogError::WrongKey {
                    expected: verifier.to_string(),
                    got: s.verifier().to_string(),
                });
            }
        }
        let (head, frontier) = read_head(store.as_ref(), &verifier)?;
        let ledger = Ledger::load(store.as_ref())?;
        let head = Arc::new(head);
        let shared = Arc::new(Shared {
            store,
            verifier,
            recent: Mutex::new([head.clone()].into()),
            published: RwLock::new(Published {
                head: head.clone(),
                registry: ledger.as_ref().and_then(Admission::registry),
            }),
            stopped: Mutex::new(None),
            reload: AtomicBool::new(false),
            batches: AtomicU64::new(0),
            corruptions: AtomicU64::new(0),
            batched_entries: AtomicU64::new(0),
            batch_sizes: Default::default(),
            head_moved: std::sync::Condvar::new(),
            head_moved_lock: Mutex::new(()),
        });
        let is_ledger = ledger.is_some();
        let (queue, sequencer) = match signer {
            Some(signer) => {
                let config = LogConfig {
                    max_batch: config.max_batch.clamp(1, MAX_RECORD_ENTRIES as usize),
                    ..config
                };
                let index = head.index.clone();
                let (queue, handle) = match ledger {
                    Some(ledger) => {
                        let (tx, handle) = spawn(&shared, signer, frontier, index, ledger, config)?;
                        (Queue::Ledger(tx), handle)
                    }
                    None => {
                        let (tx, handle) = spawn(&shared, signer, frontier, index, RawLog, config)?;
                        (Queue::Raw(tx), handle)
                    }
                };
                (Some(queue), Some(handle))
            }
            None => (None, None),
        };
        Ok(Log {
            shared,
            writable: queue.is_some(),
            ledger: is_ledger,
            queue: Mutex::new(queue),
            sequencer: Mutex::new(sequencer),
            directory: Mutex::default(),
            entries: read::entry_cache(),
            files: directory::file_cache(),
            drawing: AtomicBool::new(false),
            cosigning: cosigning::Cosigning::default(),
        })
    }

    /// The log's origin (its key's name).
    pub fn origin(&self) -> &str {
        self.shared.verifier.name().as_str()
    }

    /// The log's public key.
    pub fn verifier(&self) -> &Verifier {
        &self.shared.verifier
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.shared.store
    }

    /// The newest published checkpoint.
    pub fn head(&self) -> Arc<Head> {
        self.shared.head()
    }

    /// Why the log takes no writes now, or `None` while it does.
    pub fn stopped(&self) -> Option<Stopped> {
        self.shared.stopped.lock().expect("stopped lock").clone()
    }

    /// Stops taking writes until the log is reopened: for a reader that found stored
    /// bytes that do not match the log's own signed checkpoint.
    pub fn halt(&self, reason: String) {
        tracing::error!(%reason, "the log takes no writes until it is restarted");
        self.shared.stop(reason, true);
    }

    /// Queues a request for the sequencer, which must be of the kind `pick` takes.
    fn enqueue<T>(
        &self,
        item: T,
        pick: impl FnOnce(&Queue) -> Option<&mpsc::Sender<Request<T>>>,
    ) -> Result<oneshot::Receiver<Result<Receipt, LogError>>, LogError> {
        let (reply, rx) = oneshot::channel();
        let queue = self.queue.lock().expect("queue lock is never poisoned");
        let queue = queue.as_ref().ok_or(if self.writable {
            LogError::Closed
        } else {
            LogError::ReadOnly
        })?;
        let tx = pick(queue).expect("callers check the log's kind first");
        tx.send(Request { item, reply })
            .map_err(|_| LogError::Closed)?;
        Ok(rx)
    }

    fn enqueue_raw(
        &self,
        submission: Submission,
    ) -> Result<oneshot::Receiver<Result<Receipt, LogError>>, LogError> {
        if self.ledger {
            return Err(LogError::IsALedger);
        }
        self.enqueue(RawEntry::new(submission)?, |q| match q {
            Queue::Raw(tx) => Some(tx),
            Queue::Ledger(_) => None,
        })
    }

    fn enqueue_signed(
        &self,
        signed: impl FnOnce() -> Result<Signed, LogError>,
    ) -> Result<oneshot::Receiver<Result<Receipt, LogError>>, LogError> {
        if !self.ledger {
            return Err(LogError::NotALedger);
        }
        self.enqueue(Box::new(signed()?), |q| match q {
            Queue::Ledger(tx) => Some(tx),
            Queue::Raw(_) => None,
        })
    }

    /// Submits a signed envelope (DSSE JSON) to a ledger and returns its receipt once
    /// its entry is durable. The same envelope submitted twice is stored once; both
    /// calls get its receipt.
    ///
    /// # Errors
    /// The envelope's, statement's or policy's error (nothing is stored), or the
    /// store's failure.
    pub async fn submit(&self, envelope: &[u8]) -> Result<Receipt, LogError> {
        let rx = self.enqueue_signed(|| self.parse_submitted(envelope))?;
        rx.await.map_err(|_| LogError::Closed)?
    }

    /// [`Log::submit`] for callers outside an async runtime.
    ///
    /// # Errors
    /// As [`Log::submit`].
    pub fn submit_blocking(&self, envelope: &[u8]) -> Result<Receipt, LogError> {
        let rx = self.enqueue_signed(|| self.parse_submitted(envelope))?;
        rx.blocking_recv().map_err(|_| LogError::Closed)?
    }

    /// A submitted envelope, parsed as DSSE allows it to be written, with the keys of
    /// the registry as of now to find signers whose `keyid` is not vouch's
    /// ([`Signed::parse_submitted`]).
    ///
    /// # Errors
    /// As [`Log::submit`].
    pub fn parse_submitted(&self, envelope: &[u8]) -> Result<Signed, LogError> {
        let signed = self.parse_submitted_unchecked(envelope)?;
        signed.check_os_ids()?;
        Ok(signed)
    }

    /// [`Log::parse_submitted`] without its check of the OS IDs named: how the log
    /// reads an envelope, for tools that look at one it would refuse.
    ///
    /// # Errors
    /// As [`Log::submit`], but for OS IDs.
    pub fn parse_submitted_unchecked(&self, envelope: &[u8]) -> Result<Signed, LogError> {
        let view = self.view();
        Signed::parse_submitted(envelope, view.registry().ok().map(|r| &**r))
    }

    /// [`Log::submit`] for an envelope already parsed.
    ///
    /// # Errors
    /// As [`Log::submit`].
    pub async fn submit_signed(&self, signed: Signed) -> Result<Receipt, LogError> {
        let rx = self.enqueue_signed(|| Ok(signed))?;
        rx.await.map_err(|_| LogError::Closed)?
    }

    /// Counters of the batches committed since the log was opened.
    pub fn stats(&self) -> LogStats {
        let s = &self.shared;
        LogStats {
            batches: s.batches.load(Ordering::Relaxed),
            entries: s.batched_entries.load(Ordering::Relaxed),
            batch_sizes: s
                .batch_sizes
                .iter()
                .map(|b| b.load(Ordering::Relaxed))
                .collect(),
            corruptions: s.corruptions.load(Ordering::Relaxed),
        }
    }

    /// The registry as of the published checkpoint.
    ///
    /// # Errors
    /// [`LogError::NotALedger`] for a raw log.
    pub fn registry(&self) -> Result<Arc<Registry>, LogError> {
        self.shared.published().registry.ok_or(LogError::NotALedger)
    }

    /// The entry at `index`, parsed (ledgers only).
    ///
    /// # Errors
    /// [`LogError::IndexOutOfRange`], or stored bytes that are not an entry.
    pub fn ledger_entry(&self, index: u64) -> Result<Entry, LogError> {
        Entry::parse(&self.view().entry(index)?)
            .map_err(|e| LogError::Inconsistent(format!("entry {index}: {e}")))
    }

    /// Appends an entry and returns its receipt once the entry is durable. The same
    /// entry appended twice is stored once; both calls get its receipt.
    ///
    /// # Errors
    /// [`LogError::Tile`] for an entry over 65,535 bytes (nothing is queued),
    /// [`LogError::ReadOnly`], [`LogError::Closed`], or the store's failure.
    pub async fn append(&self, submission: Submission) -> Result<Receipt, LogError> {
        let rx = self.enqueue_raw(submission)?;
        rx.await.map_err(|_| LogError::Closed)?
    }

    /// [`Log::append`] for callers outside an async runtime.
    ///
    /// # Errors
    /// As [`Log::append`].
    pub fn append_blocking(&self, submission: Submission) -> Result<Receipt, LogError> {
        let rx = self.enqueue_raw(submission)?;
        rx.blocking_recv().map_err(|_| LogError::Closed)?
    }

    /// Appends entries in the order given, sharing batches, and returns their receipts
    /// once durable: for tools that append many entries from one thread.
    pub fn append_all_blocking(
        &self,
        submissions: Vec<Submission>,
    ) -> Vec<Result<Receipt, LogError>> {
        let pending: Vec<_> = submissions
            .into_iter()
            .map(|s| self.enqueue_raw(s))
            .collect();
        pending
            .into_iter()
            .map(|rx| rx?.blocking_recv().map_err(|_| LogError::Closed)?)
            .collect()
    }

    /// Publishes what the one writer appended to the store since this read-only log
    /// last looked, once the new tree is proven consistent with the one it served.
    /// Returns the new size when the log moved.
    ///
    /// # Errors
    /// When the store fails, or holds a tree that does not extend the one served (a
    /// fork or a rollback: the log keeps serving the old one).
    pub fn follow(&self) -> Result<Option<u64>, LogError> {
        let store = self.shared.store.as_ref();
        let current = self.head();
        match store.latest_checkpoint()? {
            Some(newest) if newest != current.signed.as_bytes() => {}
            _ => return Ok(None),
        }
        // The writer may commit between the reads of one head: read again.
        let mut tries = 0;
        let (head, _) = loop {
            match read_head(store, &self.shared.verifier) {
                Ok(h) => break h,
                Err(LogError::Inconsistent(_)) if tries < 3 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(e),
            }
        };
        let (old, new) = (current.size(), head.size());
        if new < old {
            return Err(LogError::Inconsistent(format!(
                "the store's tree shrank from {old} to {new} entries"
            )));
        }
        let proof =
            merkle::consistency_proof(&StoreHashes(store), old, new).map_err(|e| match e {
                Ok(e) => LogError::Inconsistent(e.to_string()),
                Err(e) => LogError::Store(e),
            })?;
        merkle::verify_consistency(
            old,
            new,
            &proof,
            current.checkpoint.root(),
            head.checkpoint.root(),
        )
        .map_err(|e| {
            LogError::Inconsistent(format!(
                "the store's tree of {new} entries does not extend the one of {old} served: {e}"
            ))
        })?;
        let mut published = self.shared.published();
        if published.registry.is_some() && registry_changed(store, old, new)? {
            published.registry = Ledger::load(store)?.and_then(Ledger::registry_arc);
        }
        let head = Arc::new(head);
        {
            let mut recent = self.shared.recent.lock().expect("recent lock");
            if recent.len() == RECENT_HEADS {
                recent.pop_front();
            }
            recent.push_back(head.clone());
        }
        published.head = head;
        *self.shared.published.write().expect("published lock") = published;
        let _moved = self.shared.head_moved_lock.lock();
        self.shared.head_moved.notify_all();
        Ok(Some(new))
    }

    /// Follows the writer ([`Log::follow`]) every `every` on a thread of its own, until
    /// the log is dropped. Failures are logged; the log keeps serving what it has.
    pub fn follow_in_background(self: &Arc<Self>, every: Duration) {
        let log = Arc::downgrade(self);
        let spawned = std::thread::Builder::new()
            .name("vouch-follow".into())
            .spawn(move || {
                let mut failing = false;
                loop {
                    std::thread::sleep(every);
                    let Some(log) = log.upgrade() else { return };
                    match log.follow() {
                        Ok(Some(size)) => tracing::debug!(size, "followed the writer"),
                        Ok(None) => {}
                        Err(e) if !failing => {
                            tracing::error!(error = %e, "cannot follow the writer; serving the last good checkpoint");
                        }
                        Err(_) => {}
                    }
                    failing = log.stopped().is_some();
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start the thread that follows the writer");
        }
    }

    /// Stops the sequencer after it has committed everything already queued, and
    /// flushes the store's caches so that the next open replays nothing.
    pub fn close(&self) {
        drop(self.queue.lock().expect("queue lock").take());
        if let Some(handle) = self.sequencer.lock().expect("sequencer lock").take() {
            let _ = handle.join();
        }
        if let Err(e) = self.shared.store.flush() {
            tracing::warn!(error = %e, "could not flush the index; the next start replays the journal");
        }
    }
}

/// Starts the sequencer thread of a log whose rules are `admission`.
#[allow(clippy::type_complexity)]
fn spawn<A: Admission>(
    shared: &Arc<Shared>,
    signer: Signer,
    frontier: Frontier,
    index: Index,
    admission: A,
    config: LogConfig,
) -> Result<(mpsc::Sender<Request<A::Request>>, JoinHandle<()>), LogError> {
    let (tx, rx) = mpsc::channel();
    let (retired, to_drop) = mpsc::channel::<Arc<Head>>();
    std::thread::Builder::new()
        .name("vouch-retire".into())
        .spawn(move || to_drop.into_iter().for_each(drop))
        .map_err(|e| LogError::Store(StoreError::Backend(e.to_string())))?;
    let seq = Sequencer {
        shared: shared.clone(),
        signer,
        frontier,
        index,
        admission,
        config,
        retired,
    };
    let handle = std::thread::Builder::new()
        .name("vouch-sequencer".into())
        .spawn(move || seq.run(rx))
        .map_err(|e| LogError::Store(StoreError::Backend(e.to_string())))?;
    Ok((tx, handle))
}

impl Drop for Log {
    fn drop(&mut self) {
        self.close();
    }
}
