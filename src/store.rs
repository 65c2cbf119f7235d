//! Durable storage of the log: the [`Store`] trait and its sled implementation.
//!
//! The trait is the narrow seam the sequencer and readers need: commit one batch
//! atomically and durably, and read entries, subtree hashes, checkpoints and indexes.
//! It knows nothing of HTTP, statements or policy, so that another backend (PostgreSQL)
//! is a new file beside [`SledStore`], not a rewrite.
//!
//! sled layout, all in one tree so that a batch is one atomic write:
//!
//! | key | value |
//! | --- | --- |
//! | `e` · index (u64 BE) | entry bytes |
//! | `h` · level (u8) · index (u64 BE) | hash of the complete subtree ([`Node`]) |
//! | `d` · dedup key (32 bytes) | index (u64 BE) |
//! | `s` · len (u8) · subject · index (u64 BE) | leaf hash |
//! | `c` · tree size (u64 BE) | signed checkpoint |
//! | `t` | the committed tree size (u64 BE) |
//! | `m` · name | metadata, such as the log's origin and public key |

use std::path::Path;

use crate::merkle::{Hash, HashReader, Node};

/// Why the store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("storage error: {0}")]
    Backend(String),
    #[error("store is corrupt: {0}")]
    Corrupt(String),
    #[error("batch starts at index {got} but the tree has {want} entries")]
    NotAppendOnly { got: u64, want: u64 },
    #[error("subject {0:?} must be 1 to 255 bytes")]
    BadSubject(String),
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
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
}

impl Batch {
    pub fn new_size(&self) -> u64 {
        self.start + self.entries.len() as u64
    }
}

/// The storage seam of the log.
pub trait Store: Send + Sync + 'static {
    /// The number of committed entries.
    ///
    /// # Errors
    /// When the backend fails.
    fn tree_size(&self) -> Result<u64, StoreError>;

    /// Writes a batch atomically and returns only once it is durable.
    ///
    /// # Errors
    /// [`StoreError::NotAppendOnly`] if `batch.start` is not the tree size; backend
    /// failures. On error nothing of the batch is visible.
    fn commit(&self, batch: Batch) -> Result<(), StoreError>;

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

    /// The last entry about `subject`, as (index, leaf hash).
    ///
    /// # Errors
    /// When the backend fails.
    fn last_of_subject(&self, subject: &str) -> Result<Option<(u64, Hash)>, StoreError>;

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

/// Options for [`SledStore::open`].
#[derive(Clone, Debug)]
pub struct SledOptions {
    /// sled's page cache in bytes. sled defaults to 1 GiB; vouch to 64 MiB.
    pub cache_bytes: u64,
}

impl Default for SledOptions {
    fn default() -> Self {
        SledOptions {
            cache_bytes: 64 * 1024 * 1024,
        }
    }
}

/// The embedded default store.
#[derive(Clone, Debug)]
pub struct SledStore {
    db: sled::Db,
}

const TREE_SIZE_KEY: &[u8] = b"t";

fn entry_key(index: u64) -> [u8; 9] {
    let mut k = [b'e'; 9];
    k[1..].copy_from_slice(&index.to_be_bytes());
    k
}

fn node_key(node: Node) -> [u8; 10] {
    let mut k = [b'h'; 10];
    k[1] = node.level;
    k[2..].copy_from_slice(&node.index.to_be_bytes());
    k
}

fn dedup_key(hash: &Hash) -> [u8; 33] {
    let mut k = [b'd'; 33];
    k[1..].copy_from_slice(hash);
    k
}

fn subject_prefix(subject: &str) -> Result<Vec<u8>, StoreError> {
    let len = u8::try_from(subject.len())
        .ok()
        .filter(|l| *l > 0)
        .ok_or_else(|| StoreError::BadSubject(subject.to_owned()))?;
    let mut k = Vec::with_capacity(2 + subject.len() + 8);
    k.push(b's');
    k.push(len);
    k.extend_from_slice(subject.as_bytes());
    Ok(k)
}

fn checkpoint_key(size: u64) -> [u8; 9] {
    let mut k = [b'c'; 9];
    k[1..].copy_from_slice(&size.to_be_bytes());
    k
}

fn meta_key(name: &str) -> Vec<u8> {
    let mut k = b"m".to_vec();
    k.extend_from_slice(name.as_bytes());
    k
}

fn be_u64(bytes: &[u8]) -> Result<u64, StoreError> {
    bytes
        .try_into()
        .map(u64::from_be_bytes)
        .map_err(|_| StoreError::Corrupt("stored number is not 8 bytes".into()))
}

fn to_hash(bytes: &[u8]) -> Result<Hash, StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt("stored hash is not 32 bytes".into()))
}

impl SledStore {
    /// Opens (or creates) a store in directory `path`.
    ///
    /// # Errors
    /// When the directory cannot be opened, for instance because another process has it.
    pub fn open(path: &Path, options: &SledOptions) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(options.cache_bytes)
            .mode(sled::Mode::HighThroughput)
            .open()?;
        Ok(SledStore { db })
    }

    /// A store in a temporary directory, removed when dropped.
    ///
    /// # Errors
    /// When sled cannot create it.
    pub fn temporary() -> Result<Self, StoreError> {
        let db = sled::Config::new().temporary(true).open()?;
        Ok(SledStore { db })
    }
}

impl Store for SledStore {
    fn tree_size(&self) -> Result<u64, StoreError> {
        self.db
            .get(TREE_SIZE_KEY)?
            .map_or(Ok(0), |v| be_u64(&v))
    }

    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        let size = self.tree_size()?;
        if batch.start != size {
            return Err(StoreError::NotAppendOnly {
                got: batch.start,
                want: size,
            });
        }
        let new_size = batch.new_size();
        let mut b = sled::Batch::default();
        for (i, e) in batch.entries.into_iter().enumerate() {
            let index = batch.start + i as u64;
            b.insert(&dedup_key(&e.dedup_key)[..], &index.to_be_bytes());
            if let Some(subject) = &e.subject {
                let mut k = subject_prefix(subject)?;
                k.extend_from_slice(&index.to_be_bytes());
                b.insert(k, &e.leaf_hash);
            }
            b.insert(&entry_key(index), e.bytes);
        }
        for (node, hash) in &batch.nodes {
            b.insert(&node_key(*node), hash);
        }
        for (name, value) in batch.meta {
            b.insert(meta_key(&name), value);
        }
        if !batch.checkpoint.is_empty() {
            b.insert(&checkpoint_key(new_size), batch.checkpoint);
        }
        b.insert(TREE_SIZE_KEY, &new_size.to_be_bytes());
        self.db.apply_batch(b)?;
        self.db.flush()?;
        Ok(())
    }

    fn entries(&self, start: u64, count: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let end = start
            .checked_add(count)
            .ok_or_else(|| StoreError::Corrupt("entry range overflows".into()))?;
        let mut out = Vec::with_capacity(count as usize);
        for (expected, kv) in (start..end).zip(self.db.range(entry_key(start)..entry_key(end))) {
            let (k, v) = kv?;
            if be_u64(&k[1..])? != expected {
                return Err(StoreError::Corrupt(format!("entry {expected} is missing")));
            }
            out.push(v.to_vec());
        }
        if out.len() as u64 != count {
            return Err(StoreError::Corrupt(format!(
                "entries {start}..{end} are incomplete"
            )));
        }
        Ok(out)
    }

    fn hashes(&self, nodes: &[Node]) -> Result<Vec<Hash>, StoreError> {
        nodes
            .iter()
            .map(|n| {
                let v = self.db.get(node_key(*n))?.ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "hash of level {} index {} is missing",
                        n.level, n.index
                    ))
                })?;
                to_hash(&v)
            })
            .collect()
    }

    fn hash_run(&self, first: Node, count: u64) -> Result<Vec<Hash>, StoreError> {
        let end = Node::new(first.level, first.index.saturating_add(count));
        let mut out = Vec::with_capacity(count as usize);
        for kv in self.db.range(node_key(first)..node_key(end)) {
            out.push(to_hash(&kv?.1)?);
        }
        if out.len() as u64 != count {
            return Err(StoreError::Corrupt(format!(
                "hashes of level {} from {} are incomplete",
                first.level, first.index
            )));
        }
        Ok(out)
    }

    fn find(&self, key: &Hash) -> Result<Option<u64>, StoreError> {
        self.db
            .get(dedup_key(key))?
            .map(|v| be_u64(&v))
            .transpose()
    }

    fn subject_entries(
        &self,
        subject: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Hash)>, StoreError> {
        let prefix = subject_prefix(subject)?;
        let mut start = prefix.clone();
        start.extend_from_slice(&from.to_be_bytes());
        let mut out = Vec::new();
        for kv in self.db.range(start..).take(limit) {
            let (k, v) = kv?;
            if !k.starts_with(&prefix) {
                break;
            }
            out.push((be_u64(&k[prefix.len()..])?, to_hash(&v)?));
        }
        Ok(out)
    }

    fn last_of_subject(&self, subject: &str) -> Result<Option<(u64, Hash)>, StoreError> {
        let prefix = subject_prefix(subject)?;
        match self.db.scan_prefix(&prefix).next_back() {
            Some(kv) => {
                let (k, v) = kv?;
                Ok(Some((be_u64(&k[prefix.len()..])?, to_hash(&v)?)))
            }
            None => Ok(None),
        }
    }

    fn checkpoint(&self, size: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get(checkpoint_key(size))?.map(|v| v.to_vec()))
    }

    fn latest_checkpoint(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.scan_prefix(b"c").next_back().transpose()?.map(|(_, v)| v.to_vec()))
    }

    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get(meta_key(name))?.map(|v| v.to_vec()))
    }

    fn size_on_disk(&self) -> Option<u64> {
        self.db.size_on_disk().ok()
    }
}

/// Lets the pure proof functions read from a store.
pub struct StoreHashes<'a>(pub &'a dyn Store);

impl HashReader for StoreHashes<'_> {
    type Error = StoreError;
    fn read_hashes(&self, nodes: &[Node]) -> Result<Vec<Hash>, StoreError> {
        self.0.hashes(nodes)
    }
}
