//! The log: a sequencer that appends entries in group commits and signs one checkpoint
//! per batch, and the read side (entries, proofs, tiles, checkpoints).
//!
//! Appends from any number of tasks go into one queue. A single sequencer thread takes
//! up to [`LogConfig::max_batch`] of them, waiting at most [`LogConfig::max_wait`] for
//! a batch to fill, computes the new subtree hashes from the in-memory [`Frontier`],
//! signs the checkpoint of the new size, and commits everything as one atomic, flushed
//! [`Batch`]. Only then are the callers answered and the new checkpoint published, so
//! an acknowledged entry is durable and a published checkpoint is never contradicted:
//! the tree only grows, and a failed commit leaves both store and frontier as they were.
//!
//! Opening reads the tree size, the O(log n) frontier hashes, the latest checkpoint
//! and (for a ledger) the registry state: nothing is replayed.
//!
//! A log is either raw (entries are opaque bytes: [`Log::append`]) or a ledger, whose
//! first entry is the genesis registry statement and which accepts only signed
//! envelopes that pass the acceptance rules of docs/design.md §6 ([`Log::submit`], checked in
//! [`accept`]).

mod accept;
mod directory;
mod export;
mod read;

pub use accept::{timestamp, Payload, Signed};
pub use directory::{SupplierPage, SupplierSummary};
pub use export::Format;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use time::OffsetDateTime;

use crate::entry::{self, Entry};
use crate::envelope::EnvelopeError;
use crate::index::{self, ChainHead, Index};
use crate::merkle::{self, Frontier, Hash, Node};
use crate::note::{Checkpoint, NoteError, Signer, Verifier};
use crate::policy::PolicyError;
use crate::registry::{Registry, RegistryError};
use crate::statement::{RegistryStatement, StatementError, REGISTRY_SUBJECT};
use crate::store::journal::MAX_RECORD_ENTRIES;
use crate::store::{Batch, NewEntry, Store, StoreError};
use crate::tiles::{self, TileError};

const META_ORIGIN: &str = "origin";
const META_LOG_KEY: &str = "log_key";
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
}

/// The newest published tree head, with the supplier index its checkpoint commits to.
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
    /// Whom the entry is about, for [`Log::subject_entries`].
    pub subject: Option<String>,
}

type Reply = oneshot::Sender<Result<Receipt, LogError>>;

enum Pending {
    Raw {
        submission: Submission,
        leaf_hash: Hash,
    },
    Signed(Box<Signed>),
}

struct Request {
    pending: Pending,
    reply: Reply,
}

/// How many of the newest heads the log keeps, so that pages of a history can be
/// proven against the checkpoint of its first page while the log grows.
pub const RECENT_HEADS: usize = 256;

struct Shared {
    store: Arc<dyn Store>,
    verifier: Verifier,
    head: RwLock<Arc<Head>>,
    /// The newest heads, oldest first (the last is `head`).
    recent: Mutex<std::collections::VecDeque<Arc<Head>>>,
    /// The registry as of the published head; `None` for a raw log.
    registry: Option<RwLock<Arc<Registry>>>,
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
}

const BATCH_BUCKETS: usize = 12;

impl Shared {
    fn head(&self) -> Arc<Head> {
        self.head
            .read()
            .expect("head lock is never poisoned: writers do not panic")
            .clone()
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
    queue: Mutex<Option<mpsc::Sender<Request>>>,
    sequencer: Mutex<Option<JoinHandle<()>>>,
    /// The supplier directory, as of the tree size it was last built for.
    directory: Mutex<directory::Directory>,
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

/// The registry of a ledger (`None` for a raw log), replayed from its registry chains:
/// the governance chain and every participant's, in log order from the genesis entry.
/// The entries are the only record of the registry, so it cannot disagree with them.
fn load_registry(store: &dyn Store) -> Result<Option<Registry>, LogError> {
    if store.meta(META_REGISTRY)?.is_none() {
        return Ok(None);
    }
    let bad = |i: u64, why: String| LogError::Inconsistent(format!("registry entry {i}: {why}"));
    let mut indexes: Vec<u64> = Vec::new();
    let mut after = REGISTRY_SUBJECT.to_owned();
    let mut subjects = vec![REGISTRY_SUBJECT.to_owned()];
    loop {
        let page = store.subject_heads(Some(&after), 1024)?;
        let Some((last, _)) = page.last() else { break };
        after = last.clone();
        let prefix = format!("{REGISTRY_SUBJECT}:");
        let done = page.iter().any(|(s, _)| !s.starts_with(&prefix));
        subjects.extend(
            page.into_iter()
                .map(|(s, _)| s)
                .filter(|s| s.starts_with(&prefix)),
        );
        if done {
            break;
        }
    }
    for subject in &subjects {
        indexes.extend(
            store
                .subject_entries(subject, 0, usize::MAX)?
                .into_iter()
                .map(|(i, _)| i),
        );
    }
    indexes.sort_unstable();
    let mut registry: Option<Registry> = None;
    for i in indexes {
        let bytes = store
            .entries(i, 1)?
            .pop()
            .ok_or_else(|| bad(i, "missing".into()))?;
        let e = Entry::parse(&bytes).map_err(|e| bad(i, e.to_string()))?;
        let payload = base64::Engine::decode(&crate::note::BASE64, &e.envelope.payload)
            .map_err(|e| bad(i, e.to_string()))?;
        let stmt = RegistryStatement::parse(&payload).map_err(|e| bad(i, e.to_string()))?;
        match registry.as_mut() {
            None => registry = Some(Registry::genesis(&stmt)?),
            Some(r) => r.apply(&stmt, i)?,
        }
    }
    registry
        .ok_or_else(|| LogError::Inconsistent("a ledger without a genesis entry".into()))
        .map(Some)
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
            index::key(genesis.subject()),
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
                subject: Some(genesis.subject().to_owned()),
            }],
            nodes,
            checkpoint: checkpoint.sign(&[signer]).into_bytes(),
            meta: [
                identity(signer),
                vec![(META_REGISTRY.into(), registry.to_bytes())],
            ]
            .concat(),
            heads: None,
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
        let registry = load_registry(store.as_ref())?.map(Arc::new);
        let index = head.index.clone();
        let shared = Arc::new(Shared {
            store,
            verifier,
            recent: Mutex::new([Arc::new(head.clone())].into()),
            head: RwLock::new(Arc::new(head)),
            registry: registry.clone().map(RwLock::new),
            stopped: Mutex::new(None),
            reload: AtomicBool::new(false),
            batches: AtomicU64::new(0),
            corruptions: AtomicU64::new(0),
            batched_entries: AtomicU64::new(0),
            batch_sizes: Default::default(),
        });
        let (queue, sequencer) = match signer {
            Some(signer) => {
                let (tx, rx) = mpsc::channel();
                let seq = Sequencer {
                    shared: shared.clone(),
                    signer,
                    frontier,
                    registry,
                    index,
                    config: LogConfig {
                        max_batch: config.max_batch.clamp(1, MAX_RECORD_ENTRIES as usize),
                        ..config
                    },
                };
                let handle = std::thread::Builder::new()
                    .name("vouch-sequencer".into())
                    .spawn(move || seq.run(rx))
                    .map_err(|e| LogError::Store(StoreError::Backend(e.to_string())))?;
                (Some(tx), Some(handle))
            }
            None => (None, None),
        };
        Ok(Log {
            shared,
            writable: queue.is_some(),
            queue: Mutex::new(queue),
            sequencer: Mutex::new(sequencer),
            directory: Mutex::default(),
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

    /// The head of tree size `size`, if it is one of the last [`RECENT_HEADS`].
    pub fn head_at(&self, size: u64) -> Option<Arc<Head>> {
        let recent = self.shared.recent.lock().expect("recent lock");
        let at = recent.partition_point(|h| h.size() < size);
        recent.get(at).filter(|h| h.size() == size).cloned()
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

    fn enqueue(
        &self,
        pending: Pending,
    ) -> Result<oneshot::Receiver<Result<Receipt, LogError>>, LogError> {
        let (reply, rx) = oneshot::channel();
        let queue = self.queue.lock().expect("queue lock is never poisoned");
        let tx = queue.as_ref().ok_or(if self.writable {
            LogError::Closed
        } else {
            LogError::ReadOnly
        })?;
        tx.send(Request { pending, reply })
            .map_err(|_| LogError::Closed)?;
        Ok(rx)
    }

    fn raw(&self, submission: Submission) -> Result<Pending, LogError> {
        if self.shared.registry.is_some() {
            return Err(LogError::IsALedger);
        }
        tiles::check_entry_len(&submission.entry)?;
        if let Some(subject) = &submission.subject {
            if subject.is_empty() || subject.len() > 255 {
                return Err(StoreError::BadSubject(subject.clone()).into());
            }
        }
        let leaf_hash = merkle::leaf_hash(&submission.entry);
        Ok(Pending::Raw {
            submission,
            leaf_hash,
        })
    }

    fn signed(&self, envelope: &[u8]) -> Result<Pending, LogError> {
        if self.shared.registry.is_none() {
            return Err(LogError::NotALedger);
        }
        Ok(Pending::Signed(Box::new(Signed::parse(envelope)?)))
    }

    /// Submits a signed envelope (DSSE JSON) to a ledger and returns its receipt once
    /// its entry is durable. The same envelope submitted twice is stored once; both
    /// calls get its receipt.
    ///
    /// # Errors
    /// The envelope's, statement's or policy's error (nothing is stored), or the
    /// store's failure.
    pub async fn submit(&self, envelope: &[u8]) -> Result<Receipt, LogError> {
        let rx = self.enqueue(self.signed(envelope)?)?;
        rx.await.map_err(|_| LogError::Closed)?
    }

    /// [`Log::submit`] for callers outside an async runtime.
    ///
    /// # Errors
    /// As [`Log::submit`].
    pub fn submit_blocking(&self, envelope: &[u8]) -> Result<Receipt, LogError> {
        let rx = self.enqueue(self.signed(envelope)?)?;
        rx.blocking_recv().map_err(|_| LogError::Closed)?
    }

    /// [`Log::submit`] for an envelope already parsed.
    ///
    /// # Errors
    /// As [`Log::submit`].
    pub async fn submit_signed(&self, signed: Signed) -> Result<Receipt, LogError> {
        if self.shared.registry.is_none() {
            return Err(LogError::NotALedger);
        }
        let rx = self.enqueue(Pending::Signed(Box::new(signed)))?;
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
        Ok(self
            .shared
            .registry
            .as_ref()
            .ok_or(LogError::NotALedger)?
            .read()
            .expect("registry lock")
            .clone())
    }

    /// The entry at `index`, parsed (ledgers only).
    ///
    /// # Errors
    /// [`LogError::IndexOutOfRange`], or stored bytes that are not an entry.
    pub fn ledger_entry(&self, index: u64) -> Result<Entry, LogError> {
        Entry::parse(&self.entry(index)?)
            .map_err(|e| LogError::Inconsistent(format!("entry {index}: {e}")))
    }

    /// Appends an entry and returns its receipt once the entry is durable. The same
    /// entry appended twice is stored once; both calls get its receipt.
    ///
    /// # Errors
    /// [`LogError::Tile`] for an entry over 65,535 bytes (nothing is queued),
    /// [`LogError::ReadOnly`], [`LogError::Closed`], or the store's failure.
    pub async fn append(&self, submission: Submission) -> Result<Receipt, LogError> {
        let rx = self.enqueue(self.raw(submission)?)?;
        rx.await.map_err(|_| LogError::Closed)?
    }

    /// [`Log::append`] for callers outside an async runtime.
    ///
    /// # Errors
    /// As [`Log::append`].
    pub fn append_blocking(&self, submission: Submission) -> Result<Receipt, LogError> {
        let rx = self.enqueue(self.raw(submission)?)?;
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
            .map(|s| self.raw(s).and_then(|p| self.enqueue(p)))
            .collect();
        pending
            .into_iter()
            .map(|rx| rx?.blocking_recv().map_err(|_| LogError::Closed)?)
            .collect()
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

impl Drop for Log {
    fn drop(&mut self) {
        self.close();
    }
}

struct Sequencer {
    shared: Arc<Shared>,
    signer: Signer,
    frontier: Frontier,
    /// The registry as of the last written batch (ledgers only); shared with the
    /// published head until a registry change copies it.
    registry: Option<Arc<Registry>>,
    /// The supplier index as of the last written batch: every subject's chain head,
    /// for `prev` links and the checkpoint's index root.
    index: Index,
    config: LogConfig,
}

/// Checks that the entry the duplicate index names really is the one submitted (the
/// index is a cache; a damaged one must not hand out someone else's receipt), and
/// returns its leaf hash.
fn confirm_duplicate(
    store: &dyn Store,
    pending: &Pending,
    key: &Hash,
    index: u64,
    size: u64,
) -> Result<Hash, LogError> {
    let damaged = || {
        LogError::Store(StoreError::Corrupt(format!(
            "the duplicate index names entry {index} for a submission that is not that entry; \
             run `vouch fsck --repair` to rebuild the index"
        )))
    };
    if index >= size {
        return Err(damaged());
    }
    let leaf = store.hashes(&[Node::new(0, index)])?[0];
    let same = match pending {
        // A raw entry's key is its leaf hash.
        Pending::Raw { leaf_hash, .. } => leaf == *leaf_hash,
        Pending::Signed(_) => {
            let bytes = store.entries(index, 1)?.pop().unwrap_or_default();
            merkle::leaf_hash(&bytes) == leaf
                && Entry::parse(&bytes)
                    .ok()
                    .and_then(|e| e.envelope.open().ok())
                    .is_some_and(|opened| opened.dedup_key() == *key)
        }
    };
    if same {
        Ok(leaf)
    } else {
        Err(damaged())
    }
}

/// The chain heads that `entries`, appended at `start`, give their subjects.
fn chain_heads(index: &Index, entries: &[NewEntry], start: u64) -> Vec<(String, ChainHead)> {
    let mut heads: HashMap<&str, ChainHead> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        let Some(subject) = e.subject.as_deref() else {
            continue;
        };
        let head = heads.entry(subject).or_insert_with(|| {
            index.get(&index::key(subject)).unwrap_or(ChainHead {
                count: 0,
                newest_index: 0,
                newest_leaf_hash: [0; 32],
            })
        });
        head.count += 1;
        head.newest_index = start + i as u64;
        head.newest_leaf_hash = e.leaf_hash;
    }
    heads.into_iter().map(|(s, h)| (s.to_owned(), h)).collect()
}

/// Where a request in a batch ends up.
enum Placement {
    New(u64),
    /// Same entry as an earlier request, in this batch or already in the log.
    Duplicate(u64),
}

/// What became of one request of a batch.
type Outcome = Result<(Hash, Placement), LogError>;

impl Sequencer {
    /// Batches requests, writes each batch durably, then publishes its head and
    /// answers. While storage fails it answers at once and retries storage every
    /// [`RECOVER_EVERY`].
    fn run(mut self, rx: mpsc::Receiver<Request>) {
        loop {
            let first = match rx.recv_timeout(RECOVER_EVERY) {
                Ok(r) => r,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    self.try_recover();
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            let mut batch = vec![first];
            let deadline = Instant::now() + self.config.max_wait;
            while batch.len() < self.config.max_batch {
                let next = match rx.try_recv() {
                    Ok(r) => Some(r),
                    Err(mpsc::TryRecvError::Disconnected) => None,
                    Err(mpsc::TryRecvError::Empty) => {
                        let left = deadline.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            None
                        } else {
                            rx.recv_timeout(left).ok()
                        }
                    }
                };
                match next {
                    Some(r) => batch.push(r),
                    None => break,
                }
            }
            self.try_recover();
            self.write(batch);
        }
    }

    /// Asks a store that failed whether it works again, and resumes if so.
    fn try_recover(&mut self) {
        // Not under the lock: readers of `stopped` (health checks) must not wait for
        // the probe's write and sync.
        let Some(s) = self.shared.stopped.lock().expect("stopped lock").clone() else {
            return;
        };
        if s.until_restart {
            return;
        }
        match self.shared.store.recover() {
            Ok(()) => {
                if self.shared.reload.load(Ordering::SeqCst) {
                    if let Err(e) = self.reload() {
                        tracing::error!(error = %e, "cannot reload the log from its store");
                        self.shared.stop(e.to_string(), true);
                        return;
                    }
                    self.shared.reload.store(false, Ordering::SeqCst);
                }
                let mut stopped = self.shared.stopped.lock().expect("stopped lock");
                // Only the stop this probe was for ends here.
                if stopped.as_ref() == Some(&s) {
                    tracing::warn!(was = %s.reason, "storage works again; the log takes writes");
                    *stopped = None;
                }
            }
            Err(StoreError::Halted(why)) => self.shared.stop(why, true),
            Err(_) => {}
        }
    }

    /// Takes the tree, registry and newest checkpoint from the store again, after a
    /// batch the sequencer was told failed may have been kept, and publishes them.
    fn reload(&mut self) -> Result<(), LogError> {
        let store = self.shared.store.as_ref();
        let (head, frontier) = read_head(store, &self.shared.verifier)?;
        let registry = load_registry(store)?.map(Arc::new);
        if let (Some(r), Some(lock)) = (&registry, &self.shared.registry) {
            *lock.write().expect("registry lock") = r.clone();
        }
        self.registry = registry;
        self.frontier = frontier;
        self.index = head.index.clone();
        tracing::warn!(size = head.size(), "reloaded the log from its store");
        let head = Arc::new(head);
        *self.shared.recent.lock().expect("recent lock") = [head.clone()].into();
        *self.shared.head.write().expect("head lock") = head;
        Ok(())
    }

    /// Writes a batch and answers its requests.
    fn write(&mut self, batch: Vec<Request>) {
        if let Some(s) = self.shared.stopped.lock().expect("stopped lock").clone() {
            for req in batch {
                let _ = req.reply.send(Err(LogError::Unavailable(s.reason.clone())));
            }
            return;
        }
        let saved = (
            self.frontier.clone(),
            self.registry.clone(),
            self.index.clone(),
        );
        let (replies, pending): (Vec<Reply>, Vec<Pending>) =
            batch.into_iter().map(|r| (r.reply, r.pending)).unzip();
        let (outcomes, head) = match self.try_write(pending) {
            Ok((outcomes, head, registry)) => {
                if let Some(head) = &head {
                    self.publish(&outcomes, head.clone(), registry);
                }
                (outcomes, head.unwrap_or_else(|| self.shared.head()))
            }
            Err(e) => {
                let error = match &e {
                    LogError::Store(StoreError::Backend(why)) => {
                        tracing::error!(error = %e, "batch write failed; nothing of it was stored; retrying storage every second");
                        self.shared.stop(why.clone(), false);
                        LogError::Unavailable(why.clone())
                    }
                    LogError::Store(StoreError::Halted(why)) => {
                        // The batch may be durable: nothing more until the store has
                        // recovered and the sequencer has reloaded what it holds.
                        tracing::error!(error = %e, "batch write failed; the store may hold it; retrying storage every second");
                        self.shared.reload.store(true, Ordering::SeqCst);
                        self.shared.stop(why.clone(), false);
                        LogError::Unavailable(why.clone())
                    }
                    LogError::Store(store) => {
                        // The store no longer agrees with the sequencer: nothing more
                        // until a restart has checked it.
                        let why = store.to_string();
                        tracing::error!(error = %e, "batch write failed; the log takes no writes until it is restarted");
                        self.shared.stop(why.clone(), true);
                        LogError::Unavailable(why)
                    }
                    _ => e,
                };
                (self.frontier, self.registry, self.index) = saved;
                for reply in replies {
                    let _ = reply.send(Err(error.clone()));
                }
                return;
            }
        };
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            let receipt = outcome.map(|(leaf_hash, placement)| {
                let (index, duplicate) = match placement {
                    Placement::New(index) => (index, false),
                    Placement::Duplicate(index) => (index, true),
                };
                Receipt {
                    index,
                    leaf_hash,
                    duplicate,
                    head: head.clone(),
                }
            });
            let _ = reply.send(receipt);
        }
    }

    /// Makes a durable batch visible: its head, its registry, the counters.
    fn publish(&self, outcomes: &[Outcome], head: Arc<Head>, registry: Option<Arc<Registry>>) {
        let shared = &self.shared;
        let n = outcomes
            .iter()
            .filter(|o| matches!(o, Ok((_, Placement::New(_)))))
            .count() as u64;
        shared.batches.fetch_add(1, Ordering::Relaxed);
        shared.batched_entries.fetch_add(n, Ordering::Relaxed);
        let bucket = (64 - n.saturating_sub(1).leading_zeros()) as usize;
        shared.batch_sizes[bucket.min(BATCH_BUCKETS - 1)].fetch_add(1, Ordering::Relaxed);
        if let (Some(r), Some(lock)) = (registry, &shared.registry) {
            *lock.write().expect("registry lock") = r;
        }
        {
            let mut recent = shared.recent.lock().expect("recent lock");
            if recent.len() == RECENT_HEADS {
                recent.pop_front();
            }
            recent.push_back(head.clone());
        }
        *shared.head.write().expect("head lock") = head;
    }

    /// Judges and writes a batch. Per-request refusals are outcomes; an `Err` is a
    /// store failure that refuses the whole batch.
    #[allow(clippy::type_complexity)]
    fn try_write(
        &mut self,
        batch: Vec<Pending>,
    ) -> Result<(Vec<Outcome>, Option<Arc<Head>>, Option<Arc<Registry>>), LogError> {
        let store = self.shared.store.as_ref();
        let start = self.frontier.size();
        let now = OffsetDateTime::now_utc();
        let logged_at = timestamp(now);
        let judge = accept::Judge {
            store,
            now,
            logged_at: &logged_at,
            index: &self.index,
        };
        let verified = match &self.registry {
            Some(r) => {
                let signed: Vec<Option<&Signed>> = batch
                    .iter()
                    .map(|p| match p {
                        Pending::Signed(s) => Some(s.as_ref()),
                        Pending::Raw { .. } => None,
                    })
                    .collect();
                accept::verify_batch(r, &signed)
            }
            None => HashMap::new(),
        };
        let mut state = accept::BatchState::default();
        let mut in_batch: HashMap<Hash, u64> = HashMap::new();
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut entries: Vec<NewEntry> = Vec::with_capacity(batch.len());
        let mut nodes = Vec::with_capacity(batch.len() * 2);
        let mut registry_changed = false;
        for (r, pending) in batch.into_iter().enumerate() {
            let key = match &pending {
                // The dedup key of a raw entry is its leaf hash: equal bytes, equal entry.
                Pending::Raw { leaf_hash, .. } => *leaf_hash,
                Pending::Signed(s) => s.opened.dedup_key(),
            };
            if let Some(&index) = in_batch.get(&key) {
                let leaf = entries[(index - start) as usize].leaf_hash;
                outcomes.push(Ok((leaf, Placement::Duplicate(index))));
                continue;
            }
            if let Some(index) = store.find(&key)? {
                let leaf = confirm_duplicate(store, &pending, &key, index, start)?;
                outcomes.push(Ok((leaf, Placement::Duplicate(index))));
                continue;
            }
            let index = self.frontier.size();
            let (bytes, leaf, subject) = match pending {
                Pending::Raw {
                    submission,
                    leaf_hash,
                } => (submission.entry, leaf_hash, submission.subject),
                Pending::Signed(signed) => {
                    let registry = self
                        .registry
                        .as_mut()
                        .expect("signed requests are only queued in ledgers");
                    let verified = |s: usize| verified.get(&(r, s)).copied();
                    match judge.accept(registry, &mut state, &signed, index, &verified) {
                        Ok((bytes, leaf, subject)) => {
                            registry_changed |= matches!(signed.payload, Payload::Registry(_));
                            (bytes, leaf, Some(subject))
                        }
                        Err(e) => {
                            outcomes.push(Err(e));
                            continue;
                        }
                    }
                }
            };
            self.frontier
                .push(leaf, |node, hash| nodes.push((node, hash)));
            in_batch.insert(key, index);
            outcomes.push(Ok((leaf, Placement::New(index))));
            entries.push(NewEntry {
                bytes,
                leaf_hash: leaf,
                dedup_key: key,
                subject,
            });
        }
        if entries.is_empty() {
            return Ok((outcomes, None, None));
        }
        let heads = chain_heads(&self.index, &entries, start);
        let index = self
            .index
            .with(heads.iter().map(|(s, h)| (index::key(s), *h)));
        let mut extensions = Vec::new();
        if let Some(h) = index.get(&index::key(REGISTRY_SUBJECT)) {
            extensions.push(entry::registry_head_line(
                h.newest_index,
                &h.newest_leaf_hash,
            ));
        }
        extensions.push(index::root_line(&index.root()));
        let checkpoint = Checkpoint::new(
            self.signer.name().as_str(),
            self.frontier.size(),
            self.frontier.root(),
            extensions,
        )?;
        let signed = checkpoint.sign(&[&self.signer]);
        let registry = registry_changed.then(|| self.registry.clone()).flatten();
        store.write(Batch {
            start,
            entries,
            nodes,
            checkpoint: signed.clone().into_bytes(),
            meta: Vec::new(),
            heads: Some(heads),
        })?;
        self.index = index.clone();
        Ok((
            outcomes,
            Some(Arc::new(Head {
                checkpoint,
                signed,
                index,
            })),
            registry,
        ))
    }
}
