//! Durable storage of the log: the [`Store`] trait and its implementations.
//!
//! The trait is the narrow seam the sequencer and readers need: append one batch
//! durably and atomically, and read entries, subtree hashes, checkpoints and indexes.
//! It knows nothing of HTTP, statements or policy.
//!
//! - [`SledStore`], the embedded default, keeps a [`journal`] of batches, the source of
//!   truth, and a sled database that indexes it and can always be rebuilt from it
//!   (`docs/storage.md`).
//! - [`PgStore`] keeps everything in PostgreSQL, so that the database's own backups and
//!   replicas hold the log; one writer at a time, any number of readers.
//! - [`MemoryStore`] keeps it in memory: the contract in its plainest form.
//! - [`FaultyStore`] wraps any store and fails on command, so that tests reach every
//!   error path of the sequencer.
//!
//! `tests/store_conformance.rs` holds every store to the contract on [`Store`].

pub mod backup;
mod faulty;
pub mod fsck;
pub mod journal;
mod memory;
mod postgres;
mod sled;

pub use self::faulty::{FaultyStore, Op};
pub use self::memory::MemoryStore;
pub use self::postgres::{PgOptions, PgStore, Role};
pub use self::sled::{SledOptions, SledStore};

use crate::index::ChainHead;
use crate::merkle::{Hash, HashReader, Node};

/// Why the store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// An operation failed (a full disk, an I/O error); it may work when tried again.
    #[error("storage error: {0}")]
    Backend(String),
    /// Stored bytes are not what they must be: the disk lost or changed data.
    #[error("store is corrupt: {0}")]
    Corrupt(String),
    /// The store takes no more writes until it is reopened.
    #[error("the store stopped taking writes: {0}")]
    Halted(String),
    #[error("batch starts at index {got} but the tree has {want} entries")]
    NotAppendOnly { got: u64, want: u64 },
    #[error("subject {0:?} must be 1 to 255 bytes")]
    BadSubject(String),
    /// Another process took over writing the log: this one must not write again.
    #[error("this process no longer writes the log: {0}")]
    Fenced(String),
}

impl From<::sled::Error> for StoreError {
    fn from(e: ::sled::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

/// A subject's length as stored (1 to 255 bytes), or why it cannot be one.
pub(crate) fn check_subject(subject: &str) -> Result<u8, StoreError> {
    u8::try_from(subject.len())
        .ok()
        .filter(|l| *l > 0)
        .ok_or_else(|| StoreError::BadSubject(subject.to_owned()))
}

/// An entry to commit, with what it is indexed by.
#[derive(Clone, Debug)]
pub struct NewEntry {
    pub bytes: Vec<u8>,
    pub leaf_hash: Hash,
    /// What makes two submissions the same (see [`crate::log`]).
    pub dedup_key: Hash,
    pub subject: Option<String>,
}

/// One group commit: the entries appended at `start..`, the subtree hashes they
/// complete, the checkpoint signed for the new size, and metadata to set.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    pub start: u64,
    pub entries: Vec<NewEntry>,
    pub nodes: Vec<(Node, Hash)>,
    pub checkpoint: Vec<u8>,
    pub meta: Vec<(String, Vec<u8>)>,
    /// The chain heads of the subjects the entries are about, as they stand after the
    /// batch, when the caller knows them (the sequencer does); a store derives them
    /// from its own rows otherwise. They must be what the entries make them.
    pub heads: Option<Vec<(String, ChainHead)>>,
    /// The writer finds duplicates its own way (a mirror: Bloom filters and its chain
    /// heads), so the store may leave out the rows by which [`Store::find`] finds these
    /// entries (sled does: one B-tree insert an entry fewer). A store rebuilt from its
    /// journal may write them after all; they are true either way.
    pub no_dedup_rows: bool,
}

impl Batch {
    pub fn new_size(&self) -> u64 {
        self.start + self.entries.len() as u64
    }
}

/// The storage seam of the log. The contract, which `tests/store_conformance.rs` checks
/// on every store:
///
/// - **Append-only.** A batch starts at the tree size, or is refused
///   ([`StoreError::NotAppendOnly`]); nothing is ever removed or rewritten, but for the
///   checkpoint of a size, which a batch without entries may sign again.
/// - **Atomic.** A batch is one unit: its entries, subtree hashes, duplicate keys
///   (unless [`Batch::no_dedup_rows`]),
///   subject rows and chain heads, checkpoint, metadata and the new tree size become
///   visible together, or (on any `Err` but [`StoreError::Halted`]) not at all. A
///   refused batch (a bad subject, the wrong start) leaves the store as it was.
/// - **Durable when acknowledged.** When [`Store::write`] returns `Ok`, the batch
///   survives a crash of the process (and of the machine, as far as the backend's
///   syncs go), and every read after it, from any thread, sees it: the sequencer reads
///   a batch's hashes and entries right after writing it, before anything is flushed.
/// - **Honest about the unknown.** When storage failed after the batch may have become
///   durable, `write` says [`StoreError::Halted`] and takes nothing more until
///   [`Store::recover`] has succeeded; the caller then reloads its view, which may
///   have grown.
/// - **One writer.** One process writes at a time (sled: a lock on the data directory;
///   PostgreSQL: an advisory lock and a writer epoch). A writer that finds another has
///   taken over is fenced ([`StoreError::Fenced`]) and never writes again.
/// - **Reads are checked.** A read of something the tree size says exists, but the
///   store does not hold, is [`StoreError::Corrupt`], never a silent gap.
/// - **Chain heads.** A subject's head (count, newest entry) is what its entries make
///   it, whether the writer passes it in [`Batch::heads`] or the store derives it.
pub trait Store: Send + Sync + 'static {
    /// The number of committed entries.
    ///
    /// # Errors
    /// When the backend fails.
    fn tree_size(&self) -> Result<u64, StoreError>;

    /// Appends a batch durably and atomically: when it returns `Ok` the batch survives
    /// a crash and every read sees it; on `Err` nothing of it is visible.
    ///
    /// # Errors
    /// [`StoreError::NotAppendOnly`] if `batch.start` is not the tree size;
    /// [`StoreError::Backend`] when storage failed and nothing was kept (try again);
    /// [`StoreError::Halted`] when the batch may be durable but the store cannot show
    /// it: no further batch is taken until [`Store::recover`] has brought the store up
    /// to date (or it is reopened), so none can reuse its indexes.
    fn write(&self, batch: Batch) -> Result<(), StoreError>;

    /// After a failed [`Store::write`], checks that storage takes writes again, undoes
    /// what the failed write left behind, and after [`StoreError::Halted`] brings the
    /// store up to date with what it holds durably. The caller then reloads its view
    /// of the tree: it may have grown.
    ///
    /// # Errors
    /// While storage still fails.
    fn recover(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Writes what the store caches to disk, so that the next open has nothing to
    /// catch up on. Batches are durable without it.
    ///
    /// # Errors
    /// When storage fails.
    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Entries `start..start + count`, all of which must exist.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when one is missing; backend failures.
    fn entries(&self, start: u64, count: u64) -> Result<Vec<Vec<u8>>, StoreError>;

    /// The hashes of `nodes`, in order, all of which must exist.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when one is missing; backend failures.
    fn hashes(&self, nodes: &[Node]) -> Result<Vec<Hash>, StoreError>;

    /// `count` consecutive hashes of one tree level from `first`, as in a hash tile.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when one is missing; backend failures.
    fn hash_run(&self, first: Node, count: u64) -> Result<Vec<Hash>, StoreError>;

    /// The index of the entry committed with `dedup_key`, if any.
    ///
    /// # Errors
    /// When the backend fails.
    fn find(&self, dedup_key: &Hash) -> Result<Option<u64>, StoreError>;

    /// [`Store::find`] for each of `keys`, in order: the sequencer asks for a whole
    /// batch at once, which a store across a network answers in one round trip.
    ///
    /// # Errors
    /// When the backend fails.
    fn find_all(&self, keys: &[Hash]) -> Result<Vec<Option<u64>>, StoreError> {
        keys.iter().map(|k| self.find(k)).collect()
    }

    /// Up to `limit` (index, leaf hash) pairs of entries about `subject`, from index
    /// `from` upwards.
    ///
    /// # Errors
    /// When the backend fails.
    fn subject_entries(
        &self,
        subject: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Hash)>, StoreError>;

    /// Up to `limit` (index, leaf hash) pairs of entries about `subject` below index
    /// `before`, newest first.
    ///
    /// # Errors
    /// When the backend fails.
    fn subject_entries_before(
        &self,
        subject: &str,
        before: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Hash)>, StoreError>;

    /// The head of `subject`'s chain: how many entries are about it, and the newest.
    ///
    /// # Errors
    /// When the backend fails.
    fn subject_head(&self, subject: &str) -> Result<Option<ChainHead>, StoreError>;

    /// Up to `limit` subjects after `after` (all, from the first, for `None`) in byte
    /// order of their names, with their chain heads.
    ///
    /// # Errors
    /// When the backend fails.
    fn subject_heads(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, ChainHead)>, StoreError>;

    /// The checkpoint signed for tree `size`, if the log signed one at that size.
    ///
    /// # Errors
    /// When the backend fails.
    fn checkpoint(&self, size: u64) -> Result<Option<Vec<u8>>, StoreError>;

    /// The newest signed checkpoint.
    ///
    /// # Errors
    /// When the backend fails.
    fn latest_checkpoint(&self) -> Result<Option<Vec<u8>>, StoreError>;

    /// Metadata under `name`.
    ///
    /// # Errors
    /// When the backend fails.
    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Bytes the store occupies on disk, where known.
    fn size_on_disk(&self) -> Option<u64>;
}

/// Lets the pure proof functions read from a store.
pub struct StoreHashes<'a>(pub &'a dyn Store);

impl HashReader for StoreHashes<'_> {
    type Error = StoreError;
    fn read_hashes(&self, nodes: &[Node]) -> Result<Vec<Hash>, StoreError> {
        self.0.hashes(nodes)
    }
}
