//! [`SledStore`]: the embedded default store. A [`journal`](super::journal) of batches
//! is the source of truth; sled indexes it and is rebuilt from it whenever it is
//! missing, behind, damaged or cannot be opened.
//!
//! A data directory holds `journal` and `index/` (sled). The index, in one sled tree:
//!
//! | key | value |
//! | --- | --- |
//! | `e` · first index (u64 BE) | a segment: where consecutive entries of one batch lie in `journal` (offset, length: u64 BE); never across a 256-entry tile boundary |
//! | `f` | the length of the journal the index covers (u64 BE) |
//! | `g` | where the last record the index covers starts (u64 BE) |
//! | `h` · level (u8) · row (u64 BE) | a row: the hashes of complete subtrees `[32·row, 32·row + 32)` of that level, concatenated; a hash tile is eight rows |
//! | `d` · dedup key (32 bytes) | index (u64 BE) |
//! | `s` · len (u8) · subject · index (u64 BE) | leaf hash |
//! | `c` · tree size (u64 BE) | signed checkpoint |
//! | `t` | the tree size (u64 BE) |
//! | `m` · name | metadata, such as the log's origin and public key |

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Instant;

use super::journal::{self, Read, Record};
use super::{check_subject, Batch, Store, StoreError};
use crate::index::ChainHead;
use crate::merkle::{self, Frontier, Hash, Node};
use crate::note::Checkpoint;
use crate::tiles;

/// Options for [`SledStore::open`].
#[derive(Clone, Debug)]
pub struct SledOptions {
    /// sled's page cache in bytes. sled defaults to 1 GiB; vouch to 32 MiB.
    pub cache_bytes: u64,
    /// Bytes of full hash rows of the lowest tree levels kept in memory (1 KiB a row
    /// of 32 hashes): the rows a proof starts from. 64 MiB holds every one of a log of
    /// 1,000,000 entries (`cargo bench --bench log`: a random inclusion proof then
    /// reads no row from sled).
    pub row_cache_bytes: u64,
}

impl Default for SledOptions {
    fn default() -> Self {
        SledOptions {
            cache_bytes: 32 * 1024 * 1024,
            row_cache_bytes: 64 * 1024 * 1024,
        }
    }
}

/// The embedded default store: a journal file for batches, sled as its index.
///
/// A batch is one journal record, written and `fdatasync`ed before sled sees it, so the
/// index is never ahead of the journal. sled itself is flushed in the background (and
/// on close): after a crash it may be behind, and opening replays the records it lacks.
#[derive(Debug)]
pub struct SledStore {
    dir: PathBuf,
    options: SledOptions,
    /// The index; swapped for a reopened one when sled failed (`None` meanwhile).
    db: RwLock<Option<sled::Db>>,
    journal: File,
    /// The journal's committed length, for bounds on reads.
    committed: AtomicU64,
    writer: Mutex<Writer>,
    full_rows: RwLock<HashMap<(u8, u64), sled::IVec>>,
    /// Full rows of the lower levels, the most recently read of them.
    low_rows: quick_cache::sync::Cache<(u8, u64), sled::IVec>,
    recovery: Vec<String>,
    /// Held while the store is open (see [`lock_dir`]).
    _lock: File,
}

#[derive(Debug)]
struct Writer {
    /// Where the next record goes.
    end: u64,
    /// Bytes past `end` may exist (a write failed); they are cut before the next.
    dirty: bool,
    halted: Option<String>,
}

pub(super) const TREE_SIZE_KEY: &[u8] = b"t";
pub(super) const JOURNAL_END_KEY: &[u8] = b"f";
pub(super) const LAST_RECORD_KEY: &[u8] = b"g";
/// The layout version of the index; an index of another version is rebuilt.
pub(super) const VERSION_KEY: &[u8] = b"v";
pub(super) const VERSION: &[u8] = b"4";
pub(super) const JOURNAL: &str = "journal";
pub(super) const INDEX: &str = "index";
const REBUILD: &str = "index.rebuild";

pub(super) fn entry_key(index: u64) -> [u8; 9] {
    let mut k = [b'e'; 9];
    k[1..].copy_from_slice(&index.to_be_bytes());
    k
}

/// Hashes per row. sled copies a whole leaf (up to 16 values) on every update, so rows
/// stay small: a batch rewrites the partial row of each level it touches.
pub(super) const ROW: u64 = 32;
/// Full rows of these levels and above are cached in memory.
const CACHED_LEVELS_FROM: u8 = 3;

pub(super) fn row_key(level: u8, row: u64) -> [u8; 10] {
    let mut k = [b'h'; 10];
    k[1] = level;
    k[2..].copy_from_slice(&row.to_be_bytes());
    k
}

/// Splits a batch's entries into segments that do not cross a 256-entry boundary, so
/// that an entry bundle reads few of them.
pub(super) fn segments(start: u64, count: usize) -> Vec<(u64, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut first = 0;
    for i in 1..=count {
        if i == count || (start + i as u64).is_multiple_of(tiles::TILE_WIDTH) {
            out.push((start + first as u64, first..i));
            first = i;
        }
    }
    out
}

/// A segment's value: where its entries lie in the journal (offset and length, u64 BE
/// each), then each entry's length (u16 BE), so that one entry is read without its
/// neighbours.
pub(super) fn segment_value(offset: u64, lens: &[usize]) -> Vec<u8> {
    let total: u64 = lens.iter().map(|l| 2 + *l as u64).sum();
    let mut v = Vec::with_capacity(16 + 2 * lens.len());
    v.extend_from_slice(&offset.to_be_bytes());
    v.extend_from_slice(&total.to_be_bytes());
    for l in lens {
        v.extend_from_slice(&u16::try_from(*l).unwrap_or(u16::MAX).to_be_bytes());
    }
    v
}

/// Where entry `k` of a segment lies: (offset of its bytes, length), from the
/// segment's value; `None` when the value does not list it.
fn entry_in_segment(value: &[u8], k: usize) -> Option<(u64, u64)> {
    let offset = u64::from_be_bytes(value.get(..8)?.try_into().ok()?);
    let lens = value.get(16..)?;
    if k >= lens.len() / 2 {
        return None;
    }
    let len_of = |j: usize| u64::from(u16::from_be_bytes([lens[2 * j], lens[2 * j + 1]]));
    let before: u64 = (0..k).map(|j| 2 + len_of(j)).sum();
    Some((offset + before + 2, len_of(k)))
}

pub(super) fn dedup_key(hash: &Hash) -> [u8; 33] {
    let mut k = [b'd'; 33];
    k[1..].copy_from_slice(hash);
    k
}

pub(super) fn subject_prefix(subject: &str) -> Result<Vec<u8>, StoreError> {
    let len = check_subject(subject)?;
    let mut k = Vec::with_capacity(2 + subject.len() + 8);
    k.push(b's');
    k.push(len);
    k.extend_from_slice(subject.as_bytes());
    Ok(k)
}

/// `S` · subject, empty: the subject has entries. Written once, with its first entry;
/// its chain head is its newest `s` row.
pub(super) fn head_key(subject: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + subject.len());
    k.push(b'S');
    k.extend_from_slice(subject.as_bytes());
    k
}

/// The value of an `s` row: the entry's leaf hash, then its place in the subject's
/// chain (1 for the first entry), so that the newest row is the chain head.
pub(super) fn subject_value(leaf: &Hash, count: u64) -> [u8; 40] {
    let mut v = [0; 40];
    v[..32].copy_from_slice(leaf);
    v[32..].copy_from_slice(&count.to_be_bytes());
    v
}

/// An `s` row of `prefix` (the subject's): its entry index, leaf hash and count.
fn parse_subject_row(prefix: &[u8], k: &[u8], v: &[u8]) -> Result<ChainHead, StoreError> {
    if v.len() != 40 || k.len() != prefix.len() + 8 {
        return Err(StoreError::Corrupt(
            "a stored subject index row is malformed".into(),
        ));
    }
    Ok(ChainHead {
        count: be_u64(&v[32..])?,
        newest_index: be_u64(&k[prefix.len()..])?,
        newest_leaf_hash: to_hash(&v[..32])?,
    })
}

/// The chain head of `subject` in `db`: its newest `s` row.
fn chain_head(db: &sled::Db, subject: &str) -> Result<Option<ChainHead>, StoreError> {
    let prefix = subject_prefix(subject)?;
    db.scan_prefix(&prefix)
        .next_back()
        .transpose()?
        .map(|(k, v)| parse_subject_row(&prefix, &k, &v))
        .transpose()
}

pub(super) fn checkpoint_key(size: u64) -> [u8; 9] {
    let mut k = [b'c'; 9];
    k[1..].copy_from_slice(&size.to_be_bytes());
    k
}

pub(super) fn meta_key(name: &str) -> Vec<u8> {
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

pub(super) fn get_u64(db: &sled::Db, key: &[u8]) -> Result<Option<u64>, StoreError> {
    db.get(key)?.map(|v| be_u64(&v)).transpose()
}

/// The tree size and root a signed checkpoint states (its signature is the log's
/// business: the store does not know the key it trusts).
pub(crate) fn checkpoint_tree(signed: &[u8]) -> Option<(u64, Hash)> {
    let text = std::str::from_utf8(signed).ok()?;
    let body = &text[..text.find("\n\n")? + 1];
    let c = Checkpoint::parse(body).ok()?;
    Some((c.size(), *c.root()))
}

/// One batch as the index records it, from a live write or a journal record.
struct Indexing<'a> {
    record_at: u64,
    end: u64,
    start: u64,
    entries_at: u64,
    entry_lens: Vec<usize>,
    keys: Vec<(&'a Hash, Option<&'a str>, Hash)>,
    /// The subjects' chain heads after the batch, when the writer knows them.
    heads: Option<&'a [(String, ChainHead)]>,
    nodes: Vec<(Node, Hash)>,
    meta: &'a [(String, Vec<u8>)],
    checkpoint: &'a [u8],
    /// [`Batch::no_dedup_rows`] of a live write (a replayed record writes them).
    no_dedup_rows: bool,
}

/// The sled batch that records `ix`: segments, indexes, hash rows (appended to the
/// partial rows already in `db`), metadata, checkpoint, tree size and journal position.
fn index_batch(db: &sled::Db, ix: Indexing<'_>) -> Result<sled::Batch, StoreError> {
    let mut b = sled::Batch::default();
    let new_size = ix.start + ix.entry_lens.len() as u64;
    // Each subject's count before the batch: the writer's head less this batch's
    // entries, or the index's newest row (a replayed record).
    let mut in_batch: HashMap<&str, u64> = HashMap::with_capacity(ix.keys.len());
    for subject in ix.keys.iter().filter_map(|k| k.1) {
        *in_batch.entry(subject).or_default() += 1;
    }
    let written: HashMap<&str, u64> = ix
        .heads
        .unwrap_or_default()
        .iter()
        .map(|(s, h)| (s.as_str(), h.count))
        .collect();
    let mut counts: HashMap<&str, u64> = HashMap::with_capacity(in_batch.len());
    for (i, (dedup, subject, leaf)) in ix.keys.iter().enumerate() {
        let index = ix.start + i as u64;
        if !ix.no_dedup_rows {
            b.insert(&dedup_key(dedup)[..], &index.to_be_bytes());
        }
        let Some(subject) = subject else { continue };
        let count = match counts.get_mut(subject) {
            Some(c) => {
                *c += 1;
                *c
            }
            None => {
                let before = match (ix.heads, written.get(subject)) {
                    (Some(_), Some(after)) => after.saturating_sub(in_batch[subject]),
                    _ => chain_head(db, subject)?.map_or(0, |h| h.count),
                };
                if before == 0 {
                    b.insert(head_key(subject), &[][..]);
                }
                counts.insert(subject, before + 1);
                before + 1
            }
        };
        let mut k = subject_prefix(subject)?;
        k.extend_from_slice(&index.to_be_bytes());
        b.insert(k, &subject_value(leaf, count)[..]);
    }
    let mut offset = ix.entries_at;
    for (first, range) in segments(ix.start, ix.entry_lens.len()) {
        let value = segment_value(offset, &ix.entry_lens[range]);
        offset += u64::from_be_bytes(value[8..16].try_into().expect("8 bytes"));
        b.insert(&entry_key(first), value);
    }
    let mut nodes = ix.nodes;
    nodes.sort_by_key(|(n, _)| (n.level, n.index));
    for group in
        nodes.chunk_by(|(a, _), (b, _)| a.level == b.level && a.index / ROW == b.index / ROW)
    {
        let (first, _) = group[0];
        let key = row_key(first.level, first.index / ROW);
        let mut row = db.get(key)?.map(|v| v.to_vec()).unwrap_or_default();
        let at = (first.index % ROW) as usize * 32;
        if row.len() != at {
            return Err(StoreError::Corrupt(format!(
                "row {} of level {} holds {} bytes, expected {at}",
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
    for (name, value) in ix.meta {
        b.insert(meta_key(name), value.as_slice());
    }
    b.insert(&checkpoint_key(new_size), ix.checkpoint);
    b.insert(TREE_SIZE_KEY, &new_size.to_be_bytes());
    b.insert(VERSION_KEY, VERSION);
    b.insert(JOURNAL_END_KEY, &ix.end.to_be_bytes());
    b.insert(LAST_RECORD_KEY, &ix.record_at.to_be_bytes());
    Ok(b)
}

/// Opens sled, turning its errors and panics (it panics on some damaged files) into
/// a sentence.
pub(super) fn open_sled(path: &Path, options: &SledOptions) -> Result<sled::Db, String> {
    let config = sled::Config::new()
        .path(path)
        .cache_capacity(options.cache_bytes)
        .mode(sled::Mode::HighThroughput)
        // The journal is durable before sled sees a batch; sled only needs flushing
        // now and then, to bound what opening has to replay. Often, so that each flush
        // is small: at once a second, its fsync stalled the journal's (p99 of
        // submissions 302 ms against 14 ms at 200 ms, `cargo bench --bench http`).
        .flush_every_ms(Some(200));
    // The panic hook is process-wide: silencing it here would also silence every other
    // thread's panics meanwhile (and, with two opens at once, for good). sled's own
    // message goes to stderr beside ours.
    // The caller holds the data directory's lock, so sled's own lock on its files can
    // only be held by the background threads of a store this process just closed:
    // they let go within moments.
    let mut opened;
    let deadline = Instant::now() + std::time::Duration::from_secs(2);
    loop {
        opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| config.open()));
        let locked =
            matches!(&opened, Ok(Err(e)) if e.to_string().contains("could not acquire lock"));
        if !locked || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    match opened {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(e)) => Err(e.to_string()),
        Err(panic) => Err(format!(
            "sled panicked: {}",
            panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("no message")
        )),
    }
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Backend(format!("{what} {}: {e}", path.display()))
}

/// Takes the data directory's lock (an exclusive `flock` on `DIR/lock`), held until the
/// returned file is dropped.
///
/// # Errors
/// When another process holds it.
pub(crate) fn lock_dir(path: &Path) -> Result<File, StoreError> {
    let lock_path = path.join("lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| io_error("cannot open", &lock_path, e))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Backend(format!(
            "{} is in use by another vouch process (stop it first)",
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(io_error("cannot lock", &lock_path, e)),
    }
}

fn sync_dir(path: &Path) -> Result<(), StoreError> {
    File::open(path)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error("cannot sync directory", path, e))
}

/// Why an index cannot be used as it is.
enum Check {
    Good,
    Rebuild(String),
}

/// What stops a replay: the journal (refuse to open) or the index (rebuild it).
enum ReplayError {
    Journal(StoreError),
    Index(String),
}

/// Reads the journal from `offset` on and records every batch in `db`, checking each
/// against the checkpoint signed with it. A torn last record (never acknowledged) is
/// cut; a damaged one stops everything, since it may have been acknowledged.
fn replay(
    db: &sled::Db,
    journal: &File,
    mut offset: u64,
    mut frontier: Frontier,
    notes: &mut Vec<String>,
) -> Result<(), ReplayError> {
    let journal_error = |what: &str, e: std::io::Error| {
        ReplayError::Journal(StoreError::Backend(format!(
            "cannot {what} the journal: {e}"
        )))
    };
    let len = journal
        .metadata()
        .map_err(|e| journal_error("stat", e))?
        .len();
    let (mut batches, first) = (0u64, frontier.size());
    loop {
        let record =
            match journal::read(journal, offset, len).map_err(|e| journal_error("read", e))? {
                Read::End => break,
                Read::Torn { offset, len: torn } => {
                    journal
                        .set_len(offset)
                        .and_then(|()| journal.sync_all())
                        .map_err(|e| journal_error("cut", e))?;
                    notes.push(format!(
                    "cut {torn} bytes at the end of the journal: a batch that was being written \
                     when vouch stopped, never acknowledged"
                ));
                    break;
                }
                Read::Damaged { offset, why } => {
                    return Err(ReplayError::Journal(StoreError::Corrupt(damaged(
                        offset,
                        frontier.size(),
                        &why,
                    ))));
                }
                Read::Record(r) => r,
            };
        let indexed = check_record(&record, &mut frontier).map_err(ReplayError::Journal)?;
        index_batch(db, indexed)
            .and_then(|b| Ok(db.apply_batch(b)?))
            .map_err(|e| ReplayError::Index(format!("the index cannot record a batch: {e}")))?;
        offset = record.end;
        batches += 1;
    }
    if batches > 0 {
        notes.push(format!(
            "replayed {batches} batches (entries {first}..{}) from the journal into the index",
            frontier.size()
        ));
    }
    Ok(())
}

fn damaged(offset: u64, from: u64, why: &str) -> String {
    format!(
        "the journal record at byte {offset} (entries from index {from} on) is damaged: {why}. \
         Those entries may have been acknowledged, so vouch will not cut them; see \
         docs/operations.md, \"the journal is damaged\""
    )
}

/// Checks that a journal record continues the tree and that its entries hash to the
/// root of the checkpoint signed with them; returns what the index records of it.
fn check_record<'a>(r: &'a Record, frontier: &mut Frontier) -> Result<Indexing<'a>, StoreError> {
    if r.start != frontier.size() {
        return Err(StoreError::Corrupt(damaged(
            r.offset,
            frontier.size(),
            &format!("it starts at index {} instead", r.start),
        )));
    }
    let mut nodes = Vec::with_capacity(r.entries.len() * 2);
    let mut keys = Vec::with_capacity(r.entries.len());
    for (e, (dedup, subject)) in r.entries.iter().zip(&r.keys) {
        let leaf = merkle::leaf_hash(e);
        frontier.push(leaf, |n, h| nodes.push((n, h)));
        keys.push((dedup, subject.as_deref(), leaf));
    }
    if checkpoint_tree(&r.checkpoint) != Some((frontier.size(), frontier.root())) {
        return Err(StoreError::Corrupt(damaged(
            r.offset,
            r.start,
            &format!(
                "entries {}..{} do not hash to the root of the checkpoint signed with them",
                r.start,
                r.new_size()
            ),
        )));
    }
    Ok(Indexing {
        record_at: r.offset,
        end: r.end,
        start: r.start,
        entries_at: r.entries_at,
        entry_lens: r.entries.iter().map(Vec::len).collect(),
        keys,
        nodes,
        meta: &r.meta,
        checkpoint: &r.checkpoint,
        heads: None,
        no_dedup_rows: false,
    })
}

/// What the journal still holds when it is shorter than the index says: the size
/// after its last whole record.
fn lost(journal: &File, len: u64, end: u64, size: u64) -> StoreError {
    let mut offset = 0;
    let mut kept = 0;
    while let Ok(Some((next, new_size))) = journal::skip(journal, offset, len) {
        offset = next;
        kept = new_size;
    }
    StoreError::Corrupt(format!(
        "the journal holds {len} bytes but batches up to byte {end} (tree size {size}) were \
         committed: entries {kept}..{size} are lost. vouch will not sign a tree without them; \
         see docs/operations.md, \"entries are lost\""
    ))
}

/// What the index says of itself: tree size, journal length, last record, and the
/// checkpoint of that size. `Ok(None)` for an empty index; `Err` when it cannot say.
#[allow(clippy::type_complexity)]
fn index_state(db: &sled::Db) -> Result<Option<(u64, u64, u64, Vec<u8>)>, String> {
    let read = |key: &[u8]| get_u64(db, key).map_err(|e| format!("the index cannot be read: {e}"));
    let Some(size) = read(TREE_SIZE_KEY)? else {
        return Ok(None);
    };
    match db.get(VERSION_KEY) {
        Ok(Some(v)) if v == VERSION => {}
        _ => return Err("the index was written by another version of vouch".into()),
    }
    let (Some(end), Some(last)) = (read(JOURNAL_END_KEY)?, read(LAST_RECORD_KEY)?) else {
        return Err("the index does not say where it is in the journal".into());
    };
    let checkpoint = db
        .get(checkpoint_key(size))
        .map_err(|e| format!("the index cannot be read: {e}"))?
        .ok_or("the index lacks the checkpoint of its own size")?;
    if last >= end {
        return Err("the index's position in the journal is inconsistent".into());
    }
    Ok(Some((size, end, last, checkpoint.to_vec())))
}

/// Checks that `db` indexes the journal up to one of its records, then replays what
/// it lacks. `Err` is a refusal: the journal cannot back what the index knows was
/// committed. Whatever is wrong with the index alone is a [`Check::Rebuild`].
fn check(
    db: &sled::Db,
    journal: &File,
    len: u64,
    notes: &mut Vec<String>,
) -> Result<Check, StoreError> {
    let (size, end, last, checkpoint) = match index_state(db) {
        Ok(Some(state)) => state,
        Ok(None) if len == 0 => return Ok(Check::Good),
        Ok(None) => {
            return Ok(Check::Rebuild(format!(
                "the index is empty but the journal holds {len} bytes"
            )))
        }
        Err(why) => return Ok(Check::Rebuild(why)),
    };
    let read_error =
        |e: std::io::Error| StoreError::Backend(format!("cannot read the journal: {e}"));
    let record = match journal::read(journal, last, len).map_err(read_error)? {
        Read::Record(r) => r,
        // The journal ends before the index's last batch does: it lost data (unless
        // the index's own numbers are wrong, which a journal this long disproves).
        Read::End | Read::Torn { .. } if len < end => return Err(lost(journal, len, end, size)),
        Read::Damaged { .. } if last >= len => return Err(lost(journal, len, end, size)),
        Read::Damaged { offset, why } => {
            // Either that record is damaged, or the index (itself damaged) points
            // into the middle of one: walk the record headers to tell which.
            let mut at = 0;
            while at < last {
                match journal::skip(journal, at, len).map_err(read_error)? {
                    Some((next, _)) => at = next,
                    None => break,
                }
            }
            if at > last {
                return Ok(Check::Rebuild(format!(
                    "the index's last batch (at byte {last}) is not where a journal record starts"
                )));
            }
            let first = first_index_at(db, at, size);
            if at < last {
                // The walk stopped at an earlier record whose header is damaged.
                return Err(StoreError::Corrupt(damaged(
                    at,
                    first,
                    "its header is damaged",
                )));
            }
            return Err(StoreError::Corrupt(damaged(offset, first, &why)));
        }
        Read::End | Read::Torn { .. } => {
            return Ok(Check::Rebuild(format!(
                "the index's last batch (at byte {last}) is not a record of the journal"
            )))
        }
    };
    if record.end != end || record.new_size() != size || record.checkpoint != checkpoint {
        return Ok(Check::Rebuild(format!(
            "the index (tree size {size}) does not match the journal record at byte {last}"
        )));
    }
    let frontier = match rows_hashes(db, &Frontier::nodes(size)) {
        Ok(Some(h)) => Frontier::from_hashes(size, h),
        _ => None,
    };
    let frontier = match frontier {
        Some(f) if checkpoint_tree(&record.checkpoint) == Some((size, f.root())) => f,
        _ => {
            return Ok(Check::Rebuild(format!(
                "the index's hashes do not match the checkpoint of size {size}"
            )))
        }
    };
    match replay(db, journal, end, frontier, notes) {
        Ok(()) => Ok(Check::Good),
        Err(ReplayError::Journal(e)) => Err(e),
        Err(ReplayError::Index(why)) => Ok(Check::Rebuild(why)),
    }
}

/// The first entry of the record at `record`, as the index's segments say, or `size`
/// when they do not say.
fn first_index_at(db: &sled::Db, record: u64, size: u64) -> u64 {
    let entries_at = record + journal::HEADER_LEN as u64;
    db.range(entry_key(0)..=entry_key(size))
        .rev()
        .filter_map(Result::ok)
        .find(|(_, v)| v.len() >= 16 && be_u64(&v[..8]).ok() == Some(entries_at))
        .and_then(|(k, _)| be_u64(&k[1..]).ok())
        .unwrap_or(size)
}

/// Reads hashes straight from sled's rows; `None` where one is missing.
fn rows_hashes(db: &sled::Db, nodes: &[Node]) -> Result<Option<Vec<Hash>>, StoreError> {
    let mut out = Vec::with_capacity(nodes.len());
    for n in nodes {
        let row = db.get(row_key(n.level, n.index / ROW))?.unwrap_or_default();
        let at = (n.index % ROW) as usize * 32;
        match row.get(at..at + 32) {
            Some(h) => out.push(to_hash(h)?),
            None => return Ok(None),
        }
    }
    Ok(Some(out))
}

impl SledStore {
    /// Opens (or creates) a store in directory `path`: the journal in `path/journal`,
    /// the index in `path/index`. An index that is behind the journal is brought up to
    /// date; one that is missing, damaged, inconsistent or that sled cannot open is
    /// rebuilt from the journal. [`SledStore::recovery`] says what was done.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the journal cannot back what was committed (it is
    /// shorter than the index says, or a record is damaged): nothing is cut, and the
    /// message says which entries are affected. [`StoreError::Backend`] when the
    /// directory cannot be used (another process holds it, permissions, I/O).
    pub fn open(path: &Path, options: &SledOptions) -> Result<Self, StoreError> {
        std::fs::create_dir_all(path).map_err(|e| io_error("cannot create", path, e))?;
        // One process at a time: a second one would rebuild the index and cut the
        // journal under the first.
        let lock = lock_dir(path)?;
        if path.join("entries").exists() && !path.join(JOURNAL).exists() {
            return Err(StoreError::Backend(format!(
                "{} was written by an earlier version of vouch (an `entries` file, no journal); \
                 this version cannot read it",
                path.display()
            )));
        }
        let rebuild_dir = path.join(REBUILD);
        if rebuild_dir.exists() {
            std::fs::remove_dir_all(&rebuild_dir)
                .map_err(|e| io_error("cannot remove an unfinished", &rebuild_dir, e))?;
        }
        let journal_path = path.join(JOURNAL);
        let index_path = path.join(INDEX);
        let created = !journal_path.exists();
        if created && index_path.exists() {
            // The journal is created before the index, so an index without a journal
            // means the journal was lost. Creating an empty one would start a second
            // log over the first; a damaged index may even look empty.
            let known = match open_sled(&index_path, options).map(|db| get_u64(&db, TREE_SIZE_KEY))
            {
                Ok(Ok(Some(size))) => {
                    format!("the index knows a log of {size} entries: entries 0..{size} are lost")
                }
                Ok(Ok(None)) => {
                    "the index is empty or unreadable, so what was lost is unknown".to_owned()
                }
                Ok(Err(e)) => format!("the index cannot be read ({e})"),
                Err(why) => format!("the index cannot be opened ({why})"),
            };
            return Err(StoreError::Corrupt(format!(
                "the journal is missing but an index is there: {known}. vouch will not start \
                 a new log over it (if {} should hold no log, remove it); see \
                 docs/operations.md, \"entries are lost\"",
                path.display()
            )));
        }
        let journal = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&journal_path)
            .map_err(|e| io_error("cannot open the journal in", path, e))?;
        if created {
            sync_dir(path)?;
        }
        let len = journal
            .metadata()
            .map_err(|e| io_error("cannot stat the journal in", path, e))?
            .len();
        let mut recovery = Vec::new();
        let mut indexed_size = None;
        let db = match open_sled(&index_path, options) {
            Ok(db) => {
                indexed_size = get_u64(&db, TREE_SIZE_KEY).ok().flatten();
                match check(&db, &journal, len, &mut recovery)? {
                    Check::Good => Some(db),
                    Check::Rebuild(why) => {
                        recovery.push(why);
                        drop(db);
                        None
                    }
                }
            }
            Err(why) if why.contains("could not acquire lock") => {
                return Err(StoreError::Backend(format!(
                    "the index in {} is in use by another process: {why}",
                    path.display()
                )))
            }
            Err(why) => {
                recovery.push(format!("the index cannot be opened: {why}"));
                None
            }
        };
        let db = match db {
            Some(db) => db,
            None => rebuild(path, &journal, options, indexed_size, &mut recovery)?,
        };
        for note in &recovery {
            tracing::warn!(store = %path.display(), "{note}");
        }
        let end = journal
            .metadata()
            .map_err(|e| io_error("cannot stat the journal in", path, e))?
            .len();
        Ok(SledStore {
            dir: path.to_owned(),
            options: options.clone(),
            db: RwLock::new(Some(db)),
            journal,
            committed: AtomicU64::new(end),
            writer: Mutex::new(Writer {
                end,
                dirty: false,
                halted: None,
            }),
            full_rows: RwLock::default(),
            low_rows: quick_cache::sync::Cache::new(
                usize::try_from(options.row_cache_bytes / (ROW * 32)).unwrap_or(usize::MAX),
            ),
            recovery,
            _lock: lock,
        })
    }

    /// The index (a handle: sled's `Db` is shared).
    fn db(&self) -> Result<sled::Db, StoreError> {
        self.db
            .read()
            .expect("index lock is never poisoned")
            .clone()
            .ok_or_else(|| StoreError::Backend("the index is being reopened".into()))
    }

    /// After sled failed (it keeps an I/O error, such as a full disk, and refuses every
    /// write after it): drops it, opens it again and replays from the journal what it
    /// lacks, as opening the store does.
    fn reopen_index(&self) -> Result<(), StoreError> {
        let old = self
            .db
            .write()
            .expect("index lock is never poisoned")
            .take();
        drop(old);
        let mut notes = Vec::new();
        let len = self
            .journal
            .metadata()
            .map_err(|e| StoreError::Backend(format!("cannot stat the journal: {e}")))?
            .len();
        let db = open_sled(&self.dir.join(INDEX), &self.options)
            .map_err(|why| StoreError::Backend(format!("cannot reopen the index: {why}")))?;
        let db = match check(&db, &self.journal, len, &mut notes)? {
            Check::Good => db,
            Check::Rebuild(why) => {
                notes.push(why);
                let size = get_u64(&db, TREE_SIZE_KEY).ok().flatten();
                drop(db);
                rebuild(&self.dir, &self.journal, &self.options, size, &mut notes)?
            }
        };
        for note in &notes {
            tracing::warn!(store = %self.dir.display(), "{note}");
        }
        *self.db.write().expect("index lock is never poisoned") = Some(db);
        Ok(())
    }

    /// What opening had to do to the index or the journal, in words; empty when both
    /// were as they were left.
    pub fn recovery(&self) -> &[String] {
        &self.recovery
    }

    /// A digest of everything the store holds: the committed journal and every key and
    /// value of the index. Unlike the files' bytes it does not change when sled
    /// reorganises its pages on its own, so it tells whether anything was stored.
    ///
    /// # Errors
    /// When the journal or the index cannot be read.
    pub fn state_digest(&self) -> Result<Hash, StoreError> {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        let end = self.committed.load(Ordering::Acquire);
        h.update(end.to_be_bytes());
        h.update(self.read_at(0, end)?);
        for kv in self.db()?.iter() {
            let (k, v) = kv?;
            h.update((k.len() as u64).to_be_bytes());
            h.update(&k);
            h.update((v.len() as u64).to_be_bytes());
            h.update(&v);
        }
        Ok(h.finalize().into())
    }

    /// A row of hashes. Full rows never change, so those of the upper levels (one hash
    /// in eight of the tree, a few MiB per million entries) are kept in memory: most of
    /// a proof then needs no sled read. Of the lower levels, the most recently read
    /// are, up to [`SledOptions::row_cache_bytes`].
    fn row(&self, level: u8, row: u64) -> Result<sled::IVec, StoreError> {
        let upper = level >= CACHED_LEVELS_FROM;
        let cached = if upper {
            self.full_rows
                .read()
                .expect("row cache lock")
                .get(&(level, row))
                .cloned()
        } else {
            self.low_rows.get(&(level, row))
        };
        if let Some(r) = cached {
            return Ok(r);
        }
        let value = self.db()?.get(row_key(level, row))?.unwrap_or_default();
        if value.len() as u64 == ROW * 32 {
            if upper {
                self.full_rows
                    .write()
                    .expect("row cache lock")
                    .insert((level, row), value.clone());
            } else {
                self.low_rows.insert((level, row), value.clone());
            }
        }
        Ok(value)
    }

    fn read_at(&self, offset: u64, len: u64) -> Result<Vec<u8>, StoreError> {
        // A segment is at most one tile of entries, inside the committed journal.
        let inside = offset
            .checked_add(len)
            .is_some_and(|end| end <= self.committed.load(Ordering::Acquire));
        if len > tiles::TILE_WIDTH * 65_537 || !inside {
            return Err(StoreError::Corrupt(format!(
                "the index places {len} bytes of entries at byte {offset}, outside the journal"
            )));
        }
        let len = len as usize;
        let mut buf = vec![0u8; len];
        self.journal
            .read_exact_at(&mut buf, offset)
            .map_err(|e| StoreError::Backend(format!("cannot read the journal: {e}")))?;
        Ok(buf)
    }

    /// Cuts whatever a failed write left past the last record.
    fn cut(&self, w: &mut Writer) -> Result<(), StoreError> {
        self.journal
            .set_len(w.end)
            .and_then(|()| self.journal.sync_all())
            .map_err(|e| StoreError::Backend(format!("cannot cut the journal back: {e}")))?;
        w.dirty = false;
        Ok(())
    }
}

/// Rebuilds the index from the whole journal, beside the old one, then swaps it in.
fn rebuild(
    path: &Path,
    journal: &File,
    options: &SledOptions,
    indexed_size: Option<u64>,
    notes: &mut Vec<String>,
) -> Result<sled::Db, StoreError> {
    let started = Instant::now();
    let tmp = path.join(REBUILD);
    let index = path.join(INDEX);
    let db = open_sled(&tmp, options)
        .map_err(|e| StoreError::Backend(format!("cannot create {}: {e}", tmp.display())))?;
    let mut replayed = Vec::new();
    let size = match replay(&db, journal, 0, Frontier::new(), &mut replayed) {
        Ok(()) => get_u64(&db, TREE_SIZE_KEY)?.unwrap_or(0),
        Err(e) => {
            drop(db);
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(match e {
                ReplayError::Journal(e) => e,
                ReplayError::Index(why) => StoreError::Backend(why),
            });
        }
    };
    // The old index, however damaged, said the log had more: believe it over a
    // rebuild that would sign those sizes again.
    if let Some(old) = indexed_size.filter(|old| *old > size) {
        drop(db);
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(StoreError::Corrupt(format!(
            "the index knew a tree of {old} entries but the journal holds {size}: entries \
             {size}..{old} may be lost. vouch will not sign a tree without them; see \
             docs/operations.md, \"entries are lost\""
        )));
    }
    notes.extend(replayed.into_iter().filter(|n| !n.starts_with("replayed")));
    db.flush()?;
    drop(db);
    if index.exists() {
        std::fs::remove_dir_all(&index).map_err(|e| io_error("cannot remove", &index, e))?;
    }
    std::fs::rename(&tmp, &index).map_err(|e| io_error("cannot rename", &tmp, e))?;
    sync_dir(path)?;
    notes.push(format!(
        "rebuilt the index from the journal: {size} entries in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    open_sled(&index, options)
        .map_err(|e| StoreError::Backend(format!("cannot open the rebuilt index: {e}")))
}

impl Store for SledStore {
    fn tree_size(&self) -> Result<u64, StoreError> {
        Ok(get_u64(&self.db()?, TREE_SIZE_KEY)?.unwrap_or(0))
    }

    fn write(&self, batch: Batch) -> Result<(), StoreError> {
        let mut w = self.writer.lock().expect("writer lock is never poisoned");
        if let Some(why) = &w.halted {
            return Err(StoreError::Halted(why.clone()));
        }
        if w.dirty {
            self.cut(&mut w)?;
        }
        let size = self.tree_size()?;
        if batch.start != size {
            return Err(StoreError::NotAppendOnly {
                got: batch.start,
                want: size,
            });
        }
        let new_size = batch.new_size();
        for e in &batch.entries {
            if e.bytes.len() > usize::from(u16::MAX) {
                return Err(StoreError::Corrupt(format!(
                    "entry of {} bytes",
                    e.bytes.len()
                )));
            }
            if let Some(s) = &e.subject {
                check_subject(s)?;
            }
        }
        let entries: Vec<&[u8]> = batch.entries.iter().map(|e| e.bytes.as_slice()).collect();
        let keys: Vec<(Hash, Option<&str>)> = batch
            .entries
            .iter()
            .map(|e| (e.dedup_key, e.subject.as_deref()))
            .collect();
        let record = journal::encode(batch.start, &entries, &keys, &batch.meta, &batch.checkpoint);
        let at = w.end;
        let end = at + record.len() as u64;
        let db = self.db()?;
        let sled_batch = index_batch(
            &db,
            Indexing {
                record_at: at,
                end,
                start: batch.start,
                entries_at: at + journal::HEADER_LEN as u64,
                entry_lens: entries.iter().map(|e| e.len()).collect(),
                keys: batch
                    .entries
                    .iter()
                    .map(|e| (&e.dedup_key, e.subject.as_deref(), e.leaf_hash))
                    .collect(),
                nodes: batch.nodes,
                meta: &batch.meta,
                checkpoint: &batch.checkpoint,
                heads: batch.heads.as_deref(),
                no_dedup_rows: batch.no_dedup_rows,
            },
        )?;
        // Durable before the index refers to it: the index is never ahead of the
        // journal, whatever sled writes on its own.
        if let Err(e) = self
            .journal
            .write_all_at(&record, at)
            .and_then(|()| self.journal.sync_data())
        {
            w.dirty = true;
            let _ = self.cut(&mut w);
            return Err(StoreError::Backend(format!(
                "cannot write the journal: {e}"
            )));
        }
        w.end = end;
        self.committed.store(end, Ordering::Release);
        if let Err(e) = db.apply_batch(sled_batch) {
            let why = format!(
                "entries {}..{new_size} are durable in the journal but the index could not \
                 record them ({e}); they are replayed into it once the disk takes writes again",
                batch.start
            );
            w.halted = Some(why.clone());
            return Err(StoreError::Halted(why));
        }
        Ok(())
    }

    fn recover(&self) -> Result<(), StoreError> {
        let mut w = self.writer.lock().expect("writer lock is never poisoned");
        self.cut(&mut w)?;
        // A batch needs room and a working fsync: try both beside the journal.
        let probe = self.dir.join("write-probe");
        let tried = std::fs::write(&probe, vec![0u8; 1 << 20])
            .and_then(|()| File::open(&probe)?.sync_all());
        let _ = std::fs::remove_file(&probe);
        tried.map_err(|e| StoreError::Backend(format!("the disk still refuses writes: {e}")))?;
        // sled keeps an I/O error it met on its own (its background flush on a full
        // disk) and refuses every write after it, so the index is always reopened; that
        // also replays a batch the journal holds and the index could not record.
        self.reopen_index()?;
        w.halted = None;
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db()?.flush()?;
        // sled writes its snapshot (which spares an open from reading its whole log
        // since the last one) only when it opens: open it once more, so that the next
        // start finds the snapshot current (`cargo bench --bench log`: the first reopen
        // of 1,000,000 entries then costs what the second did).
        self.reopen_index()
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
        let db = self.db()?;
        let (first, value) = db
            .range(entry_key(0)..=entry_key(start))
            .next_back()
            .ok_or_else(missing)??;
        // One entry: read just its bytes, as the segment lists them.
        if count == 1 {
            let k = usize::try_from(start - be_u64(&first[1..])?).map_err(|_| missing())?;
            if let Some((offset, len)) = entry_in_segment(&value, k) {
                // With its length prefix, which must agree with the index.
                let mut bytes = self.read_at(offset - 2, len + 2)?;
                if u64::from(u16::from_be_bytes([bytes[0], bytes[1]])) != len {
                    return Err(StoreError::Corrupt(format!(
                        "entry {start}: the journal's length prefix and the index disagree"
                    )));
                }
                bytes.drain(..2);
                return Ok(vec![bytes]);
            }
        }
        let mut out = Vec::with_capacity(count as usize);
        let mut next = start;
        for kv in db.range(&first[..]..&entry_key(end)[..]) {
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
        // Each row read once: sorted nodes (as proofs ask) find their row in the last
        // one read; others, in a map of the rows read.
        let sorted = nodes.is_sorted();
        let mut rows: HashMap<(u8, u64), sled::IVec> = HashMap::new();
        let mut last: Option<((u8, u64), sled::IVec)> = None;
        let mut out = Vec::with_capacity(nodes.len());
        for n in nodes {
            let key = (n.level, n.index / ROW);
            let row = match &last {
                Some((k, row)) if *k == key => row,
                _ => {
                    let row = match rows.get(&key) {
                        Some(row) => row.clone(),
                        None => {
                            let row = self.row(n.level, n.index / ROW)?;
                            if !sorted {
                                rows.insert(key, row.clone());
                            }
                            row
                        }
                    };
                    &last.insert((key, row)).1
                }
            };
            let at = (n.index % ROW) as usize * 32;
            out.push(row.get(at..at + 32).map_or_else(
                || {
                    Err(StoreError::Corrupt(format!(
                        "hash of level {} index {} is missing",
                        n.level, n.index
                    )))
                },
                to_hash,
            )?);
        }
        Ok(out)
    }

    fn hash_run(&self, first: Node, count: u64) -> Result<Vec<Hash>, StoreError> {
        let nodes: Vec<Node> = (0..count)
            .map(|i| Node::new(first.level, first.index + i))
            .collect();
        self.hashes(&nodes)
    }

    fn find(&self, key: &Hash) -> Result<Option<u64>, StoreError> {
        self.db()?
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
        for kv in self.db()?.range(start..).take(limit) {
            let (k, v) = kv?;
            if !k.starts_with(&prefix) {
                break;
            }
            let h = parse_subject_row(&prefix, &k, &v)?;
            out.push((h.newest_index, h.newest_leaf_hash));
        }
        Ok(out)
    }

    fn subject_entries_before(
        &self,
        subject: &str,
        before: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Hash)>, StoreError> {
        let prefix = subject_prefix(subject)?;
        let mut end = prefix.clone();
        end.extend_from_slice(&before.to_be_bytes());
        let mut out = Vec::new();
        for kv in self.db()?.range(prefix.clone()..end).rev().take(limit) {
            let (k, v) = kv?;
            let h = parse_subject_row(&prefix, &k, &v)?;
            out.push((h.newest_index, h.newest_leaf_hash));
        }
        Ok(out)
    }

    fn subject_head(&self, subject: &str) -> Result<Option<ChainHead>, StoreError> {
        chain_head(&self.db()?, subject)
    }

    fn subject_heads(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, ChainHead)>, StoreError> {
        let db = self.db()?;
        let range = match after {
            Some(a) => {
                let mut k = head_key(a);
                k.push(0);
                db.range(k..)
            }
            None => db.range(b"S".to_vec()..),
        };
        let mut out = Vec::new();
        for kv in range.take(limit) {
            let (k, _) = kv?;
            if k.first() != Some(&b'S') {
                break;
            }
            let subject = String::from_utf8(k[1..].to_vec())
                .map_err(|_| StoreError::Corrupt("a stored subject is not UTF-8".into()))?;
            let head = chain_head(&db, &subject)?.ok_or_else(|| {
                StoreError::Corrupt(format!("the subject index has no entry of {subject}"))
            })?;
            out.push((subject, head));
        }
        Ok(out)
    }

    fn checkpoint(&self, size: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db()?.get(checkpoint_key(size))?.map(|v| v.to_vec()))
    }

    fn latest_checkpoint(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .db()?
            .scan_prefix(b"c")
            .next_back()
            .transpose()?
            .map(|(_, v)| v.to_vec()))
    }

    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db()?.get(meta_key(name))?.map(|v| v.to_vec()))
    }

    fn size_on_disk(&self) -> Option<u64> {
        let file = self.journal.metadata().ok()?.len();
        Some(self.db().ok()?.size_on_disk().ok()? + file)
    }
}

impl Drop for SledStore {
    fn drop(&mut self) {
        // Spares the next open a replay; the journal already holds everything.
        if let Ok(db) = self.db() {
            let _ = db.flush();
        }
    }
}
