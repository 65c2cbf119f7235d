//! Durable storage of the log: the [`Store`] trait and its sled implementation.
//!
//! The trait is the narrow seam the sequencer and readers need: write one batch
//! atomically, make what was written durable, and read entries, subtree hashes,
//! checkpoints and indexes. It knows nothing of HTTP, statements or policy, so that
//! another backend (PostgreSQL) is a new file beside [`SledStore`], not a rewrite.
//!
//! [`SledStore`] keeps the entries in an append-only file, `entries`, as entry bundles
//! do (u16 BE length, bytes), and everything else in sled, in one tree, so that a
//! batch's index is one atomic sled write. sled pays per key and rewrites whole pages,
//! so large values do not belong in it: a batch costs a few keys plus one per entry for
//! the duplicate index (and one per entry with a subject).
//!
//! | key | value |
//! | --- | --- |
//! | `e` · first index (u64 BE) | a segment: where consecutive entries of one batch lie in `entries` (offset, length: u64 BE); never across a 256-entry tile boundary |
//! | `f` | the committed length of `entries` (u64 BE) |
//! | `h` · level (u8) · row (u64 BE) | a row: the hashes of complete subtrees `[32·row, 32·row + 32)` of that level, concatenated; a hash tile is eight rows |
//! | `d` · dedup key (32 bytes) | index (u64 BE) |
//! | `s` · len (u8) · subject · index (u64 BE) | leaf hash |
//! | `c` · tree size (u64 BE) | signed checkpoint |
//! | `t` | the tree size (u64 BE) |
//! | `m` · name | metadata, such as the log's origin and public key |

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Mutex, RwLock};

use crate::merkle::{Hash, HashReader, Node};
use crate::tiles;

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

    /// Writes a batch atomically: all of it or, on error, nothing. It may not be
    /// durable until [`Store::sync`] returns.
    ///
    /// # Errors
    /// [`StoreError::NotAppendOnly`] if `batch.start` is not the tree size; backend
    /// failures.
    fn write(&self, batch: Batch) -> Result<(), StoreError>;

    /// Makes every batch written so far durable.
    ///
    /// # Errors
    /// Backend failures; after one, what was written since the last successful sync
    /// may or may not survive a crash.
    fn sync(&self) -> Result<(), StoreError>;

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
    /// sled's page cache in bytes. sled defaults to 1 GiB; vouch to 32 MiB.
    pub cache_bytes: u64,
}

impl Default for SledOptions {
    fn default() -> Self {
        SledOptions {
            cache_bytes: 32 * 1024 * 1024,
        }
    }
}

/// The embedded default store: sled for hashes and indexes, a file for entries.
///
/// Crash safety: a batch's entries are written to the file and synced before its sled
/// batch is applied, and [`Store::sync`] flushes sled, so sled never durably refers to
/// bytes the file lacks, whatever sled writes on its own. Bytes past sled's committed
/// length (a batch that never committed) are cut off when the store opens.
#[derive(Debug)]
pub struct SledStore {
    db: sled::Db,
    entries: File,
    /// Where the next batch's entries go: the committed length of `entries`.
    end: Mutex<u64>,
    full_rows: RwLock<HashMap<(u8, u64), sled::IVec>>,
}

const TREE_SIZE_KEY: &[u8] = b"t";
const FILE_END_KEY: &[u8] = b"f";

fn entry_key(index: u64) -> [u8; 9] {
    let mut k = [b'e'; 9];
    k[1..].copy_from_slice(&index.to_be_bytes());
    k
}

/// Hashes per row. sled copies a whole leaf (up to 16 values) on every update, so rows
/// stay small: a batch rewrites the partial row of each level it touches.
const ROW: u64 = 32;
/// Full rows of these levels and above are cached in memory.
const CACHED_LEVELS_FROM: u8 = 3;

fn row_key(level: u8, row: u64) -> [u8; 10] {
    let mut k = [b'h'; 10];
    k[1] = level;
    k[2..].copy_from_slice(&row.to_be_bytes());
    k
}

/// Splits a batch's entries into segments that do not cross a 256-entry boundary, so
/// that an entry bundle reads few of them.
fn segments(start: u64, count: usize) -> Vec<(u64, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut first = 0;
    for i in 1..=count {
        if i == count || (start + i as u64) % tiles::TILE_WIDTH == 0 {
            out.push((start + first as u64, first..i));
            first = i;
        }
    }
    out
}

fn segment_value(offset: u64, len: u64) -> [u8; 16] {
    let mut v = [0u8; 16];
    v[..8].copy_from_slice(&offset.to_be_bytes());
    v[8..].copy_from_slice(&len.to_be_bytes());
    v
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
    /// Opens (or creates) a store in directory `path`: sled in `path/index`, entries in
    /// `path/entries`.
    ///
    /// # Errors
    /// When the directory cannot be opened (another process has it), or when the
    /// entries file is shorter than the index says, which only a failing disk causes.
    pub fn open(path: &Path, options: &SledOptions) -> Result<Self, StoreError> {
        let io = |what: &str, e: std::io::Error| {
            StoreError::Backend(format!("{what} {}: {e}", path.display()))
        };
        std::fs::create_dir_all(path).map_err(|e| io("cannot create", e))?;
        let db = sled::Config::new()
            .path(path.join("index"))
            .cache_capacity(options.cache_bytes)
            .mode(sled::Mode::HighThroughput)
            // Only `sync` makes sled durable, always after the entries file.
            .flush_every_ms(None)
            .open()?;
        let entries = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path.join("entries"))
            .map_err(|e| io("cannot open entries file in", e))?;
        let end = db.get(FILE_END_KEY)?.map_or(Ok(0), |v| be_u64(&v))?;
        let len = entries
            .metadata()
            .map_err(|e| io("cannot stat entries file in", e))?
            .len();
        if len < end {
            return Err(StoreError::Corrupt(format!(
                "entries file holds {len} bytes but the index refers to {end}: the disk lost data"
            )));
        }
        if len > end {
            // A batch that was written to the file but never committed to the index.
            entries
                .set_len(end)
                .and_then(|()| entries.sync_data())
                .map_err(|e| io("cannot truncate entries file in", e))?;
        }
        Ok(SledStore {
            db,
            entries,
            end: Mutex::new(end),
            full_rows: RwLock::default(),
        })
    }

    /// A row of hashes. Full rows never change, so those of the upper levels (one hash
    /// in eight of the tree, a few MiB per million entries) are kept in memory: most of
    /// a proof then needs no sled read.
    fn row(&self, level: u8, row: u64) -> Result<sled::IVec, StoreError> {
        let cacheable = level >= CACHED_LEVELS_FROM;
        if cacheable {
            if let Some(r) = self
                .full_rows
                .read()
                .expect("row cache lock")
                .get(&(level, row))
            {
                return Ok(r.clone());
            }
        }
        let value = self.db.get(row_key(level, row))?.unwrap_or_default();
        if cacheable && value.len() as u64 == ROW * 32 {
            self.full_rows
                .write()
                .expect("row cache lock")
                .insert((level, row), value.clone());
        }
        Ok(value)
    }

    fn read_at(&self, offset: u64, len: u64) -> Result<Vec<u8>, StoreError> {
        let len = usize::try_from(len)
            .map_err(|_| StoreError::Corrupt("segment length overflows".into()))?;
        let mut buf = vec![0u8; len];
        self.entries
            .read_exact_at(&mut buf, offset)
            .map_err(|e| StoreError::Backend(format!("cannot read entries file: {e}")))?;
        Ok(buf)
    }
}

impl Store for SledStore {
    fn tree_size(&self) -> Result<u64, StoreError> {
        self.db.get(TREE_SIZE_KEY)?.map_or(Ok(0), |v| be_u64(&v))
    }

    fn write(&self, batch: Batch) -> Result<(), StoreError> {
        let size = self.tree_size()?;
        if batch.start != size {
            return Err(StoreError::NotAppendOnly {
                got: batch.start,
                want: size,
            });
        }
        let new_size = batch.new_size();
        let mut b = sled::Batch::default();
        for (i, e) in batch.entries.iter().enumerate() {
            let index = batch.start + i as u64;
            b.insert(&dedup_key(&e.dedup_key)[..], &index.to_be_bytes());
            if let Some(subject) = &e.subject {
                let mut k = subject_prefix(subject)?;
                k.extend_from_slice(&index.to_be_bytes());
                b.insert(k, &e.leaf_hash);
            }
        }
        // Entries go to the file first; the index below refers to them.
        let mut end = self.end.lock().expect("end lock is never poisoned");
        let mut offset = *end;
        let mut bundle = Vec::new();
        for (first, range) in segments(batch.start, batch.entries.len()) {
            let at = bundle.len();
            for e in &batch.entries[range] {
                let len = u16::try_from(e.bytes.len()).map_err(|_| {
                    StoreError::Corrupt(format!("entry of {} bytes", e.bytes.len()))
                })?;
                bundle.extend_from_slice(&len.to_be_bytes());
                bundle.extend_from_slice(&e.bytes);
            }
            let len = (bundle.len() - at) as u64;
            b.insert(&entry_key(first), &segment_value(offset, len));
            offset += len;
        }
        // Durable before the index refers to it: sled may write (and a later flush
        // make durable) this batch's index at any time after `apply_batch`, even
        // while the previous batch's sync is still running.
        self.entries
            .write_all_at(&bundle, *end)
            .and_then(|()| self.entries.sync_data())
            .map_err(|e| StoreError::Backend(format!("cannot write entries file: {e}")))?;
        b.insert(FILE_END_KEY, &offset.to_be_bytes());
        // Append the new hashes to their rows, in order; a row may already be partial.
        let mut nodes = batch.nodes;
        nodes.sort_by_key(|(n, _)| (n.level, n.index));
        for group in
            nodes.chunk_by(|(a, _), (b, _)| a.level == b.level && a.index / ROW == b.index / ROW)
        {
            let (first, _) = group[0];
            let key = row_key(first.level, first.index / ROW);
            let mut row = self.db.get(key)?.map(|v| v.to_vec()).unwrap_or_default();
            let offset = (first.index % ROW) as usize * 32;
            if row.len() != offset {
                return Err(StoreError::Corrupt(format!(
                    "row {} of level {} holds {} bytes, expected {offset}",
                    first.index / ROW,
                    first.level,
                    row.len()
                )));
            }
            for (_, h) in group {
                row.extend_from_slice(h);
            }
            b.insert(&key, row);
        }
        for (name, value) in batch.meta {
            b.insert(meta_key(&name), value);
        }
        if !batch.checkpoint.is_empty() {
            b.insert(&checkpoint_key(new_size), batch.checkpoint);
        }
        b.insert(TREE_SIZE_KEY, &new_size.to_be_bytes());
        self.db.apply_batch(b)?;
        *end = offset;
        Ok(())
    }

    fn sync(&self) -> Result<(), StoreError> {
        // The entries were synced by `write`; this makes the index durable.
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
        let missing = || StoreError::Corrupt(format!("entries {start}..{end} are incomplete"));
        // The segment holding `start` begins at or before it.
        let (first, _) = self
            .db
            .range(entry_key(0)..=entry_key(start))
            .next_back()
            .ok_or_else(missing)??;
        let mut out = Vec::with_capacity(count as usize);
        let mut next = start;
        for kv in self.db.range(&first[..]..&entry_key(end)[..]) {
            let (k, v) = kv?;
            let mut index = be_u64(&k[1..])?;
            let segment = v
                .get(..16)
                .ok_or_else(|| StoreError::Corrupt("segment record is not 16 bytes".into()))?;
            let bytes = self.read_at(be_u64(&segment[..8])?, be_u64(&segment[8..])?)?;
            let mut rest: &[u8] = &bytes;
            while !rest.is_empty() && index < end {
                let len = rest
                    .get(..2)
                    .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
                    .ok_or_else(missing)?;
                let entry = rest.get(2..2 + len).ok_or_else(missing)?;
                if index == next {
                    out.push(entry.to_vec());
                    next += 1;
                }
                rest = &rest[2 + len..];
                index += 1;
            }
        }
        if next != end {
            return Err(missing());
        }
        Ok(out)
    }

    fn hashes(&self, nodes: &[Node]) -> Result<Vec<Hash>, StoreError> {
        let mut rows: Vec<([u8; 10], sled::IVec)> = Vec::new();
        nodes
            .iter()
            .map(|n| {
                let key = row_key(n.level, n.index / ROW);
                let row = match rows.iter().find(|(k, _)| *k == key) {
                    Some((_, row)) => row.clone(),
                    None => {
                        let row = self.row(n.level, n.index / ROW)?;
                        rows.push((key, row.clone()));
                        row
                    }
                };
                let at = (n.index % ROW) as usize * 32;
                row.get(at..at + 32).map_or_else(
                    || {
                        Err(StoreError::Corrupt(format!(
                            "hash of level {} index {} is missing",
                            n.level, n.index
                        )))
                    },
                    to_hash,
                )
            })
            .collect()
    }

    fn hash_run(&self, first: Node, count: u64) -> Result<Vec<Hash>, StoreError> {
        let nodes: Vec<Node> = (0..count)
            .map(|i| Node::new(first.level, first.index + i))
            .collect();
        self.hashes(&nodes)
    }

    fn find(&self, key: &Hash) -> Result<Option<u64>, StoreError> {
        self.db.get(dedup_key(key))?.map(|v| be_u64(&v)).transpose()
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
        Ok(self
            .db
            .scan_prefix(b"c")
            .next_back()
            .transpose()?
            .map(|(_, v)| v.to_vec()))
    }

    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get(meta_key(name))?.map(|v| v.to_vec()))
    }

    fn size_on_disk(&self) -> Option<u64> {
        let file = self.entries.metadata().ok()?.len();
        Some(self.db.size_on_disk().ok()? + file)
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
