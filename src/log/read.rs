//! The read side of a [`Log`]: entries, leaf hashes, roots, proofs, checkpoints and
//! tiles of the published tree, each checked against a checkpoint the log signed
//! before it is returned.
//!
//! The store is trusted to be the log's own, not to be intact: a disk can change bytes
//! under it. So every entry is hashed and proven against the signed head, every proof is
//! verified against the roots it claims to join, and every tile is proven as a run of
//! the tree. A mismatch is never served: the read fails with [`StoreError::Corrupt`],
//! the log stops taking writes ([`Log::stopped`]) and the count of corruptions found
//! rises ([`super::LogStats::corruptions`]). The checks cost a leaf hash and a proof
//! per entry (a few microseconds), and 511 hashes per full tile. Entries that histories
//! and bundles carry are kept once proven ([`EntryCache`]): a logged entry never
//! changes, and its proof is still checked against the head of every read.

use std::sync::atomic::Ordering;

use base64::Engine as _;

use std::sync::Arc;

use super::{Head, Log, LogError};
use crate::bundle::{Bundle, Decoded, History, ProvenEntry, SubjectProof};
use crate::entry::encode_hash;
use crate::entry::Entry;
use crate::index;
use crate::merkle::{self, Hash, Node, ProofError};
use crate::note::Checkpoint;
use crate::note::BASE64;
use crate::registry::{participant_subject, Registry};
use crate::statement::{Role, REGISTRY_SUBJECT};
use crate::store::{StoreError, StoreHashes};
use crate::tiles::{self, TileKind, TilePath, TILE_WIDTH};
use std::collections::BTreeSet;

/// What an entry's bytes give every reader at every tree size: its leaf hash, the
/// bytes as bundles and histories carry them, what they say, and the key ids that
/// signed them. A logged entry never changes, so once read and proven it is kept in
/// [`EntryCache`]; a page of a history then costs its proofs, not a read, a parse and
/// an encoding per entry.
#[derive(Debug)]
pub(super) struct Carried {
    leaf: Hash,
    entry: String,
    decoded: Option<Decoded>,
    key_ids: Vec<u32>,
}

impl Carried {
    fn of(bytes: &[u8]) -> Carried {
        let entry = Entry::parse(bytes).ok();
        Carried {
            leaf: merkle::leaf_hash(bytes),
            entry: BASE64.encode(bytes),
            decoded: entry.as_ref().and_then(Decoded::of_entry),
            key_ids: entry
                .iter()
                .flat_map(|e| &e.envelope.signatures)
                .filter_map(|s| u32::from_str_radix(&s.keyid, 16).ok())
                .collect(),
        }
    }

    fn weight(&self) -> u64 {
        let decoded = self.decoded.as_ref().map_or(0, |d| {
            d.statement.get().len() + d.logged_at.len() + d.subject.len() + d.payload_type.len()
        });
        (self.entry.len() + decoded + 4 * self.key_ids.len() + 160) as u64
    }

    fn proven(&self, index: u64, proof: &[Hash], decoded: bool) -> ProvenEntry {
        ProvenEntry {
            index,
            decoded: if decoded { self.decoded.clone() } else { None },
            entry: self.entry.clone(),
            inclusion_proof: proof.iter().map(encode_hash).collect(),
        }
    }
}

/// A carried entry and its inclusion proof.
type CarriedAndProof = (Arc<Carried>, Vec<Hash>);

/// Entries read and proven, by index, up to [`ENTRY_CACHE_BYTES`] (about 8,000
/// attestations of 1 KiB: the histories of the factories people are reading).
pub(super) type EntryCache = quick_cache::sync::Cache<u64, Arc<Carried>, CarriedWeight>;

/// The entry cache's budget, in bytes of what it holds.
pub(super) const ENTRY_CACHE_BYTES: u64 = 32 << 20;

#[derive(Clone)]
pub(super) struct CarriedWeight;

impl quick_cache::Weighter<u64, Arc<Carried>> for CarriedWeight {
    fn weight(&self, _: &u64, c: &Arc<Carried>) -> u64 {
        c.weight()
    }
}

/// An empty entry cache.
pub(super) fn entry_cache() -> EntryCache {
    EntryCache::with_weighter(8_192, ENTRY_CACHE_BYTES, CarriedWeight)
}

/// One published head, pinned: every read through a view is proven against this head
/// (or, for an older size, against a root proven consistent with it), and sees the
/// tree and the supplier index as of it, however the log grows meanwhile. The
/// registry is the newest one's when the view was taken (the log keeps its recent
/// heads, not a copy of the registry for each): it only decides which registry chains
/// a bundle or history carries, and every chain is proven at the view's head.
#[derive(Clone)]
pub struct View<'a> {
    pub(super) log: &'a Log,
    head: Arc<Head>,
    /// The registry as of the newest head when the view was taken (`None`: a raw log).
    registry: Option<Arc<Registry>>,
}

impl Log {
    /// A view of the newest published head.
    pub fn view(&self) -> View<'_> {
        let published = self.shared.published();
        View {
            log: self,
            head: published.head,
            registry: published.registry,
        }
    }

    /// A view of the head of tree size `size`, if it is one of the last
    /// [`super::RECENT_HEADS`] the log published.
    ///
    /// # Errors
    /// [`LogError::SizeOutOfRange`] past the newest head; [`LogError::NoCheckpoint`]
    /// for a size that is not one of the recent heads.
    pub fn view_at(&self, size: u64) -> Result<View<'_>, LogError> {
        let newest = self.view();
        if size > newest.size() {
            return Err(LogError::SizeOutOfRange {
                size,
                tree_size: newest.size(),
            });
        }
        let recent = self.shared.recent.lock().expect("recent lock");
        let at = recent.partition_point(|h| h.size() < size);
        let head = recent
            .get(at)
            .filter(|h| h.size() == size)
            .cloned()
            .ok_or(LogError::NoCheckpoint(size))?;
        Ok(View { head, ..newest })
    }

    /// A view of `head`, a head this log published (such as a receipt's).
    pub fn view_of(&self, head: Arc<Head>) -> View<'_> {
        View {
            head,
            ..self.view()
        }
    }

    /// Reports stored bytes that contradict the log's own signed checkpoint: the log
    /// stops taking writes and the read fails.
    fn corrupt(&self, what: String) -> LogError {
        self.shared.corruptions.fetch_add(1, Ordering::Relaxed);
        self.halt(format!("stored data is corrupt: {what}"));
        LogError::Store(StoreError::Corrupt(what))
    }

    /// A store error; a corrupt store is reported as [`Log::corrupt`] does.
    fn store_error(&self, e: StoreError) -> LogError {
        match e {
            StoreError::Corrupt(what) => self.corrupt(what),
            other => other.into(),
        }
    }

    pub(super) fn stored<T>(&self, r: Result<T, StoreError>) -> Result<T, LogError> {
        r.map_err(|e| self.store_error(e))
    }

    /// A proof computed from the store: its store error, or a shape it cannot have.
    fn proof_error(&self, e: Result<ProofError, StoreError>) -> LogError {
        match e {
            Ok(ProofError::IndexOutOfRange { index, size }) => {
                LogError::IndexOutOfRange { index, size }
            }
            Ok(ProofError::SizesReversed { old, new }) => LogError::SizesReversed { old, new },
            Ok(other) => LogError::Inconsistent(other.to_string()),
            Err(store) => self.store_error(store),
        }
    }

    fn hashes(&self) -> StoreHashes<'_> {
        StoreHashes(self.shared.store.as_ref())
    }
}

impl View<'_> {
    /// The pinned head.
    pub fn head(&self) -> &Arc<Head> {
        &self.head
    }

    /// The pinned tree size.
    pub fn size(&self) -> u64 {
        self.head.size()
    }

    /// The registry as of the view (ledgers only).
    ///
    /// # Errors
    /// [`LogError::NotALedger`] for a raw log.
    pub fn registry(&self) -> Result<&Arc<Registry>, LogError> {
        self.registry.as_ref().ok_or(LogError::NotALedger)
    }

    fn check_size(&self, size: u64) -> Result<(), LogError> {
        if size > self.size() {
            return Err(LogError::SizeOutOfRange {
                size,
                tree_size: self.size(),
            });
        }
        Ok(())
    }

    /// The root the log signed for the tree of `size`: the head's, a stored checkpoint's
    /// (its signature checked), or one computed from the store and proven consistent
    /// with the head.
    fn signed_root(&self, size: u64) -> Result<Hash, LogError> {
        let head = &self.head;
        if size == head.size() {
            return Ok(*head.checkpoint.root());
        }
        if size == 0 {
            return Ok(merkle::empty_root());
        }
        if let Some(signed) = self.log.stored(self.log.shared.store.checkpoint(size))? {
            return match Checkpoint::open(&signed, &self.log.shared.verifier) {
                Ok((c, _)) if c.size() == size => Ok(*c.root()),
                _ => Err(self.log.corrupt(format!(
                    "the stored checkpoint of size {size} is not one the log signed"
                ))),
            };
        }
        let root = self.log.stored(merkle::root(&self.log.hashes(), size))?;
        let proof = merkle::consistency_proof(&self.log.hashes(), size, head.size())
            .map_err(|e| self.log.proof_error(e))?;
        merkle::verify_consistency(size, head.size(), &proof, &root, head.checkpoint.root())
            .map_err(|_| {
                self.log.corrupt(format!(
                    "the stored tree of size {size} is not a prefix of the signed tree of size {}",
                    head.size()
                ))
            })?;
        Ok(root)
    }

    /// The entry at `index` and its inclusion proof in the tree of `size`, checked
    /// against the root the log signed for that size.
    ///
    /// # Errors
    /// [`LogError::SizeOutOfRange`], [`LogError::IndexOutOfRange`], or
    /// [`StoreError::Corrupt`] when the stored entry or hashes do not match.
    pub fn proven_entry(&self, index: u64, size: u64) -> Result<(Vec<u8>, Vec<Hash>), LogError> {
        self.check_size(size)?;
        if index >= size {
            return Err(LogError::IndexOutOfRange { index, size });
        }
        let bytes = self
            .log
            .stored(self.log.shared.store.entries(index, 1))?
            .pop()
            .ok_or_else(|| self.log.corrupt(format!("entry {index} is missing")))?;
        let proof = merkle::inclusion_proof(&self.log.hashes(), index, size)
            .map_err(|e| self.log.proof_error(e))?;
        let root = self.signed_root(size)?;
        merkle::verify_inclusion(&merkle::leaf_hash(&bytes), index, size, &proof, &root).map_err(
            |_| {
                self.log.corrupt(format!(
                    "entry {index} does not match the checkpoint the log signed for size {size}"
                ))
            },
        )?;
        Ok((bytes, proof))
    }

    /// The entry at `index`, checked against the signed head.
    ///
    /// # Errors
    /// [`LogError::IndexOutOfRange`] past the published tree; [`StoreError::Corrupt`].
    pub fn entry(&self, index: u64) -> Result<Vec<u8>, LogError> {
        let size = self.size();
        Ok(self.proven_entry(index, size)?.0)
    }

    /// The leaf hash of the entry at `index`, proven against the signed head.
    ///
    /// # Errors
    /// [`LogError::IndexOutOfRange`] past the published tree; [`StoreError::Corrupt`].
    pub fn leaf_hash(&self, index: u64) -> Result<Hash, LogError> {
        let head = &self.head;
        let size = head.size();
        if index >= size {
            return Err(LogError::IndexOutOfRange { index, size });
        }
        let leaf = self
            .log
            .stored(self.log.shared.store.hashes(&[Node::new(0, index)]))?[0];
        let proof = merkle::inclusion_proof(&self.log.hashes(), index, size)
            .map_err(|e| self.log.proof_error(e))?;
        merkle::verify_inclusion(&leaf, index, size, &proof, head.checkpoint.root()).map_err(
            |_| {
                self.log.corrupt(format!(
                    "the stored leaf hash of entry {index} is not the signed one"
                ))
            },
        )?;
        Ok(leaf)
    }

    /// The root of the tree of `size` leaves (at most the published size).
    ///
    /// # Errors
    /// [`LogError::SizeOutOfRange`] past the published tree; [`StoreError::Corrupt`].
    pub fn root(&self, size: u64) -> Result<Hash, LogError> {
        self.check_size(size)?;
        self.signed_root(size)
    }

    /// The inclusion proof of `index` in the tree of `size` leaves.
    ///
    /// # Errors
    /// [`LogError::SizeOutOfRange`] past the published tree,
    /// [`LogError::IndexOutOfRange`] when `index >= size`; [`StoreError::Corrupt`].
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, LogError> {
        Ok(self.proven_leaf(index, size)?.1)
    }

    /// The leaf hash of `index` and its inclusion proof in the tree of `size` leaves,
    /// checked against the root the log signed for that size.
    ///
    /// # Errors
    /// As [`View::inclusion_proof`].
    pub fn proven_leaf(&self, index: u64, size: u64) -> Result<(Hash, Vec<Hash>), LogError> {
        self.check_size(size)?;
        // As a batch of one: the nodes of levels 1 and 2 come from the leaf row the
        // leaf is read from anyway, not from two more rows.
        let proof = merkle::inclusion_proofs(&self.log.hashes(), &[index], size)
            .map_err(|e| self.log.proof_error(e))?
            .pop()
            .expect("one proof per index");
        let leaf = self
            .log
            .stored(self.log.shared.store.hashes(&[Node::new(0, index)]))?[0];
        let root = self.signed_root(size)?;
        merkle::verify_inclusion(&leaf, index, size, &proof, &root).map_err(|_| {
            self.log.corrupt(format!(
                "the inclusion proof of entry {index} at size {size} does not lead to the signed root"
            ))
        })?;
        Ok((leaf, proof))
    }

    /// The consistency proof from the tree of `old` leaves to the tree of `new`.
    ///
    /// # Errors
    /// [`LogError::SizeOutOfRange`] past the published tree,
    /// [`LogError::SizesReversed`] when `old > new`; [`StoreError::Corrupt`].
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, LogError> {
        self.check_size(new)?;
        let proof = merkle::consistency_proof(&self.log.hashes(), old, new)
            .map_err(|e| self.log.proof_error(e))?;
        let (old_root, new_root) = (self.signed_root(old)?, self.signed_root(new)?);
        merkle::verify_consistency(old, new, &proof, &old_root, &new_root).map_err(|_| {
            self.log.corrupt(format!(
                "the consistency proof from size {old} to {new} does not join the signed roots"
            ))
        })?;
        Ok(proof)
    }

    /// The signed checkpoint the log published at tree `size`, if it signed one there,
    /// its signature checked.
    ///
    /// # Errors
    /// When the store fails; [`StoreError::Corrupt`] when the stored checkpoint is not
    /// one the log signed for that size.
    pub fn checkpoint_at(&self, size: u64) -> Result<Option<String>, LogError> {
        let head = &self.head;
        if size > head.size() {
            return Ok(None);
        }
        if size == head.size() {
            return Ok(Some(self.log.with_cosignatures(size, &head.signed)));
        }
        let Some(signed) = self.log.stored(self.log.shared.store.checkpoint(size))? else {
            return Ok(None);
        };
        match (
            Checkpoint::open(&signed, &self.log.shared.verifier),
            String::from_utf8(signed),
        ) {
            (Ok((c, _)), Ok(text)) if c.size() == size => {
                Ok(Some(self.log.with_cosignatures(size, &text)))
            }
            _ => Err(self.log.corrupt(format!(
                "the stored checkpoint of size {size} is not one the log signed"
            ))),
        }
    }

    /// The contents of a tile of the published tree, proven against the signed head.
    ///
    /// # Errors
    /// [`LogError::TileNotFound`] when the tree has no such tile (a partial tile of
    /// another width, or one past the tree's edge); [`StoreError::Corrupt`].
    pub fn tile(&self, path: &TilePath) -> Result<Vec<u8>, LogError> {
        let head = &self.head;
        let size = head.size();
        if !path.exists_in(size) {
            return Err(LogError::TileNotFound(path.to_string()));
        }
        let width = u64::from(path.width());
        let first = path.index() * TILE_WIDTH;
        let (level, run, bytes) = match path.kind() {
            TileKind::Hashes { .. } => {
                let node = path
                    .first_node()
                    .ok_or_else(|| LogError::TileNotFound(path.to_string()))?;
                let hashes = self
                    .log
                    .stored(self.log.shared.store.hash_run(node, width))?;
                (node.level, tiles::hash_tile(&hashes), hashes)
            }
            TileKind::Entries => {
                let entries = self
                    .log
                    .stored(self.log.shared.store.entries(first, width))?;
                let leaves = entries.iter().map(|e| merkle::leaf_hash(e)).collect();
                (0, tiles::encode_bundle(&entries)?, leaves)
            }
        };
        // A full tile is proven in the view's tree; a partial one is the right edge of
        // the smallest tree it is a tile of (a client at an older checkpoint reads it).
        let (size, root) = if path.is_full() {
            (size, *head.checkpoint.root())
        } else {
            let edge = (first + width) << level;
            (edge, self.signed_root(edge)?)
        };
        merkle::verify_run(&self.log.hashes(), level, first, &bytes, size, &root).map_err(|e| {
            match e {
                Err(store) => self.log.store_error(store),
                Ok(_) => self.log.corrupt(format!(
                    "{path} does not match the checkpoint the log signed for size {size}"
                )),
            }
        })?;
        Ok(run)
    }

    /// Up to `limit` (index, leaf hash) pairs of published entries about `subject`,
    /// from index `from`.
    ///
    /// # Errors
    /// When the store fails.
    pub fn subject_entries(
        &self,
        subject: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Hash)>, LogError> {
        let size = self.size();
        let mut found = self
            .log
            .stored(self.log.shared.store.subject_entries(subject, from, limit))?;
        found.retain(|(i, _)| *i < size);
        Ok(found)
    }

    /// Entries `indexes` (each in the view's tree) as histories and bundles carry them,
    /// with their inclusion proofs, checked against the view's checkpoint together:
    /// what [`View::proven_entry`] gives for each, reading each hash once and hashing
    /// each shared node once.
    ///
    /// # Errors
    /// [`LogError::IndexOutOfRange`]; [`StoreError::Corrupt`] naming the first entry
    /// that does not match.
    pub fn proven_entries(&self, indexes: &[u64]) -> Result<Vec<ProvenEntry>, LogError> {
        Ok(self
            .proven_carried(indexes)?
            .iter()
            .zip(indexes)
            .map(|((c, proof), &i)| c.proven(i, proof, true))
            .collect())
    }

    /// Entry `index` as a bundle against the view's checkpoint: the entry, its
    /// inclusion proof, and the registry entries that decide its signers' authority,
    /// proven complete.
    ///
    /// # Errors
    /// [`LogError::IndexOutOfRange`], [`LogError::NotALedger`], a corrupt store.
    pub fn bundle(&self, index: u64) -> Result<Bundle, LogError> {
        let (mut entries, mut signers) = self.proven_with_signers(&[index])?;
        let p = entries.pop().expect("one entry asked, one proven");
        // A registry change comes with its own chain, so that a verifier replays it; a
        // record about a buyer, with the buyer's.
        if let Some(id) = p.decoded.as_ref().and_then(|d| {
            d.subject
                .strip_prefix(REGISTRY_SUBJECT)
                .and_then(|s| s.strip_prefix(':'))
                .or_else(|| crate::statement::buyer_of_subject(&d.subject))
        }) {
            signers.insert(id.to_owned());
        }
        let (registry, registry_proofs) = self.registry_material(&signers, true)?;
        Ok(Bundle {
            index,
            entry: p.entry,
            tree_size: self.size(),
            inclusion_proof: p.inclusion_proof,
            checkpoint: self
                .log
                .with_cosignatures(self.head.size(), &self.head.signed),
            registry,
            registry_proofs,
            decoded: p.decoded,
        })
    }

    /// Entries `indexes` as [`Carried`] (from the cache, or read), each proven against
    /// the view's head, with their inclusion proofs. Entries read are cached once
    /// proven.
    fn proven_carried(&self, indexes: &[u64]) -> Result<Vec<CarriedAndProof>, LogError> {
        let size = self.size();
        let store = self.log.shared.store.as_ref();
        let cache = &self.log.entries;
        let mut carried = Vec::with_capacity(indexes.len());
        let mut read = Vec::new();
        for &index in indexes {
            if index >= size {
                return Err(LogError::IndexOutOfRange { index, size });
            }
            let c = match cache.get(&index) {
                Some(c) => c,
                None => {
                    let bytes = self
                        .log
                        .stored(store.entries(index, 1))?
                        .pop()
                        .ok_or_else(|| self.log.corrupt(format!("entry {index} is missing")))?;
                    read.push(carried.len());
                    Arc::new(Carried::of(&bytes))
                }
            };
            carried.push(c);
        }
        let proofs = merkle::inclusion_proofs(&self.log.hashes(), indexes, size)
            .map_err(|e| self.log.proof_error(e))?;
        let items: Vec<(Hash, u64, &[Hash])> = carried
            .iter()
            .zip(indexes)
            .zip(&proofs)
            .map(|((c, &i), p)| (c.leaf, i, p.as_slice()))
            .collect();
        if let Err((at, _)) = merkle::verify_inclusions(&items, size, self.head.checkpoint.root()) {
            let index = indexes[at];
            return Err(self.log.corrupt(format!(
                "entry {index} does not match the checkpoint the log signed for size {size}"
            )));
        }
        for at in read {
            cache.insert(indexes[at], carried[at].clone());
        }
        Ok(carried.into_iter().zip(proofs).collect())
    }

    /// Entries `indexes` proven, decoded, and the participant ids of whoever signed
    /// them (by key id; a key id names one key forever).
    fn proven_with_signers(
        &self,
        indexes: &[u64],
    ) -> Result<(Vec<ProvenEntry>, BTreeSet<String>), LogError> {
        let registry = self.registry()?;
        let mut ids = BTreeSet::new();
        let mut out = Vec::with_capacity(indexes.len());
        for ((c, proof), &index) in self.proven_carried(indexes)?.iter().zip(indexes) {
            for &key in &c.key_ids {
                if let Some((p, _, _)) = registry.key(key) {
                    ids.insert(p.id.clone());
                }
            }
            out.push(c.proven(index, proof, true));
        }
        Ok((out, ids))
    }

    /// The registry entries and index proofs that decide the authority of
    /// `participants` in the view's tree: with `governance`, the governance chain and a
    /// proof for the chain of every governance member, and the chain of every other
    /// participant named; without (a later page of a history), the chain of every
    /// participant named, whatever their role now, since roles may have changed since
    /// the view's head. Each entry is proven against the tree, each chain proven
    /// complete by the view's index.
    ///
    /// # Errors
    /// [`LogError::NotALedger`], a corrupt store.
    fn registry_material(
        &self,
        participants: &BTreeSet<String>,
        governance: bool,
    ) -> Result<(Vec<ProvenEntry>, Vec<SubjectProof>), LogError> {
        let registry = self.registry()?;
        let mut subjects = BTreeSet::new();
        if governance {
            subjects.insert(REGISTRY_SUBJECT.to_owned());
            for p in registry.participants.values() {
                if p.has_role(Role::Governance) {
                    subjects.insert(participant_subject(&p.id));
                }
            }
        }
        for id in participants {
            let governs = governance
                && registry
                    .participants
                    .get(id)
                    .is_some_and(|p| p.has_role(Role::Governance));
            if !governs {
                subjects.insert(participant_subject(id));
            }
        }
        let size = self.size();
        let mut indexes = BTreeSet::new();
        let mut proofs = Vec::with_capacity(subjects.len());
        for subject in subjects {
            let stored = self
                .log
                .shared
                .store
                .subject_entries(&subject, 0, usize::MAX);
            indexes.extend(
                self.log
                    .stored(stored)?
                    .into_iter()
                    .map(|(i, _)| i)
                    .filter(|&i| i < size),
            );
            proofs.push(SubjectProof {
                proof: self.head.index.prove(&index::key(&subject)).to_json(),
                subject,
            });
        }
        let indexes: Vec<u64> = indexes.into_iter().collect();
        // The registry part of a bundle stays small: bytes and proof only.
        let entries = self
            .proven_carried(&indexes)?
            .iter()
            .zip(&indexes)
            .map(|((c, proof), &i)| c.proven(i, proof, false))
            .collect();
        Ok((entries, proofs))
    }

    /// Verifies the whole registry in the view's tree as a reader would (every chain
    /// proven complete, every change signed by enough governance keys): the number of
    /// registry entries. A server runs it once when it starts, so that the first page
    /// drawn finds its registry's signatures known; the log halts if it fails, as it
    /// does when its own history of a supplier does not verify.
    ///
    /// # Errors
    /// [`LogError::NotALedger`], a corrupt store, [`LogError::Inconsistent`].
    pub fn verify_registry(&self) -> Result<usize, LogError> {
        let everyone: BTreeSet<String> = self.registry()?.participants.keys().cloned().collect();
        let (entries, proofs) = self.registry_material(&everyone, true)?;
        let checkpoint = self.head.signed.clone();
        crate::verify::verify_registry(&entries, &proofs, &checkpoint, self.log.verifier()).map_err(
            |e| {
                self.log
                    .halt(format!("the log's own registry does not verify: {e}"));
                LogError::Inconsistent(e)
            },
        )
    }

    /// One page of `subject`'s history in the view's tree, newest first: at most
    /// `limit` entries below index `before` (from the newest). The first page (no
    /// `before`) carries the supplier index's proof of the subject's chain head and the
    /// governance chain; every page, the registry chains of its signers, proven
    /// complete. Later pages are read through [`Log::view_at`] the first page's size.
    ///
    /// # Errors
    /// [`LogError::NotALedger`], a corrupt store.
    pub fn history(
        &self,
        subject: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<History, LogError> {
        let size = self.size();
        let first = before.is_none();
        let index_proof = first.then(|| self.head.index.prove(&index::key(subject)).to_json());
        let below = before.unwrap_or(size).min(size);
        let mut found = self
            .log
            .stored(self.log.shared.store.subject_entries_before(
                subject,
                below,
                limit.saturating_add(1),
            ))?;
        let next_before = (found.len() > limit && limit > 0).then(|| found[limit - 1].0);
        found.truncate(limit);
        let indexes: Vec<u64> = found.into_iter().map(|(i, _)| i).collect();
        let (entries, mut signers) = self.proven_with_signers(&indexes)?;
        // A buyer's history carries the buyer's registry chain, which says whether it
        // was a registered buyer when each record about it was logged.
        if let Some(buyer) = crate::statement::buyer_of_subject(subject) {
            signers.insert(buyer.to_owned());
        }
        let (registry, registry_proofs) = self.registry_material(&signers, first)?;
        Ok(History {
            supplier: subject.to_owned(),
            tree_size: size,
            checkpoint: self
                .log
                .with_cosignatures(self.head.size(), &self.head.signed),
            index_proof,
            entries,
            next_before,
            registry,
            registry_proofs,
        })
    }
}
