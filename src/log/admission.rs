//! Admission: what kind of log this is, said once. The sequencer's pipeline
//! ([`super::sequencer`]) is the same for every log; what it asks of an
//! [`Admission`] is what differs between a raw log and a ledger: what callers queue,
//! what makes two requests the same entry, whether a request is accepted at the
//! position it would take (and the entry it becomes), which extension lines the
//! checkpoint carries besides the supplier index root, and the state (the registry)
//! that a published head shares with readers.
//!
//! [`RawLog`] is here; the ledger's rules ([`super::accept::Ledger`]) are in
//! [`super::accept`].

use std::sync::Arc;

use crate::index::Index;
use crate::merkle::{self, Hash};
use crate::registry::Registry;
use crate::store::{Store, StoreError};
use crate::tiles;

use super::{LogError, Submission};

/// An accepted request: the entry it becomes.
pub(super) struct Admitted {
    pub bytes: Vec<u8>,
    pub leaf_hash: Hash,
    pub subject: Option<String>,
}

/// What the store and the log hold while a batch is judged.
pub(super) struct Context<'a> {
    pub store: &'a dyn Store,
    /// The supplier index as of the last written batch: each subject's chain head.
    pub index: &'a Index,
}

/// The rules of one kind of log. `Clone` is the sequencer's undo: a batch that fails
/// to commit puts back the admission state it started from (cheap: shared `Arc`s).
pub(super) trait Admission: Clone + Send + 'static {
    /// What callers queue, checked for form before it is queued.
    type Request: Send + 'static;
    /// Work done once for a whole batch before its requests are judged in order
    /// (a ledger verifies every signature of the batch at once).
    type Round;

    /// The deduplication key: requests with equal keys are one entry.
    fn key(request: &Self::Request) -> Hash;

    /// Whether the stored entry at `index`, with leaf hash `leaf`, is the one
    /// `request` would make (the duplicate index is a cache a disk can damage).
    ///
    /// # Errors
    /// When the store fails.
    fn is_stored(
        store: &dyn Store,
        request: &Self::Request,
        key: &Hash,
        index: u64,
        leaf: &Hash,
    ) -> Result<bool, LogError>;

    fn begin(&self, batch: &[Self::Request]) -> Self::Round;

    /// Judges request number `r` of the batch for the entry at `position`; on success
    /// the admission's state (the registry) includes it.
    ///
    /// # Errors
    /// Why the request is refused; nothing is changed then.
    fn admit(
        &mut self,
        round: &mut Self::Round,
        cx: &Context<'_>,
        request: Self::Request,
        r: usize,
        position: u64,
    ) -> Result<Admitted, LogError>;

    /// Extension lines of the checkpoint for the tree whose supplier index is `index`,
    /// besides the index root itself.
    fn extensions(&self, index: &Index) -> Vec<String>;

    /// The registry a head publishes with its checkpoint (`None`: a raw log).
    fn registry(&self) -> Option<Arc<Registry>>;

    /// Takes the admission state from the store again.
    ///
    /// # Errors
    /// When the store fails or contradicts itself.
    fn reload(&mut self, store: &dyn Store) -> Result<(), LogError>;
}

/// A raw entry for [`RawLog`]: bytes checked for length, hashed once.
pub(super) struct RawEntry {
    pub submission: Submission,
    pub leaf_hash: Hash,
}

impl RawEntry {
    /// # Errors
    /// An entry over the tile format's limit, or a subject out of 1 to 255 bytes.
    pub fn new(submission: Submission) -> Result<Self, LogError> {
        tiles::check_entry_len(&submission.entry)?;
        if let Some(subject) = &submission.subject {
            if subject.is_empty() || subject.len() > 255 {
                return Err(StoreError::BadSubject(subject.clone()).into());
            }
        }
        let leaf_hash = merkle::leaf_hash(&submission.entry);
        Ok(RawEntry {
            submission,
            leaf_hash,
        })
    }
}

/// A log of opaque entries: every well-formed entry is accepted; equal bytes are one
/// entry; the checkpoint carries only the supplier index root.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct RawLog;

impl Admission for RawLog {
    type Request = RawEntry;
    type Round = ();

    fn key(request: &RawEntry) -> Hash {
        // A raw entry's key is its leaf hash: equal bytes, equal entry.
        request.leaf_hash
    }

    fn is_stored(
        _: &dyn Store,
        _: &RawEntry,
        key: &Hash,
        _: u64,
        leaf: &Hash,
    ) -> Result<bool, LogError> {
        Ok(leaf == key)
    }

    fn begin(&self, _: &[RawEntry]) {}

    fn admit(
        &mut self,
        _: &mut (),
        _: &Context<'_>,
        request: RawEntry,
        _: usize,
        _: u64,
    ) -> Result<Admitted, LogError> {
        Ok(Admitted {
            bytes: request.submission.entry,
            leaf_hash: request.leaf_hash,
            subject: request.submission.subject,
        })
    }

    fn extensions(&self, _: &Index) -> Vec<String> {
        Vec::new()
    }

    fn registry(&self) -> Option<Arc<Registry>> {
        None
    }

    fn reload(&mut self, _: &dyn Store) -> Result<(), LogError> {
        Ok(())
    }
}
