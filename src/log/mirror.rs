//! A mirror of a ledger: the log's entries, replayed in log order into a store of the
//! mirror's own, each judged by the log's own acceptance rules at its position
//! (docs/design.md §6) with the time the log wrote in it. An entry passes only if
//! judging its envelope gives back exactly its bytes: the same subject, the same `prev`
//! link, the registry that was in force, every signature by a key active there, every
//! reference to an earlier entry of the right subject and signers. The registry and
//! the supplier index are replayed with it, so that a checkpoint of the log can be
//! compared whole (root, registry head, index root) with the checkpoint the mirror
//! computes for the same size. The monitor (`vouch monitor`) is built on it.
//!
//! The mirror signs its own checkpoints with a key of its own: a record of what it
//! verified, in the same store layout as the log but for two kinds of rows it keeps
//! its own way. It finds duplicates with Bloom filters of every dedup key it holds and,
//! on a "maybe", by walking the subject's chain; and it keeps the chain heads of the
//! suppliers' subjects (the supplier index) in memory. Both are written to the store
//! now and then ([`KEEP_EVERY`] entries, and at the end of a pass) and brought up to
//! date from the entries after them when the mirror is opened. Only the registry's
//! chains keep their subject rows, from which the registry is replayed.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use time::OffsetDateTime;

use super::accept::{verdict_for, BatchState, Judge, Ledger, Signed, Verdict};
use super::{LogError, Payload, META_LOG_KEY, META_ORIGIN, META_REGISTRY};
use crate::entry::{self, Entry};
use crate::index::{self, ChainHead, Index, Key};
use crate::merkle::{self, Frontier, Hash};
use crate::note::{Checkpoint, Signer, Verifier};
use crate::registry::{is_registry_chain, Registry};
use crate::statement::{RegistryStatement, REGISTRY_SUBJECT};
use crate::store::{Batch, NewEntry, Store};

/// Something the log did that its own rules forbid, or that contradicts what the
/// mirror saw before: one JSON line of the monitor's report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Discrepancy {
    /// `entry` (an entry the rules refuse, or not as the log should have written it),
    /// `checkpoint` (a checkpoint whose root, registry head or index root is not the
    /// mirror's for its size), `rollback` (a checkpoint smaller than one seen before),
    /// `signature` (a checkpoint not signed by the log key), `witnesses` (a checkpoint
    /// without the cosignatures the monitor requires), `store` (the mirror's own store
    /// failed).
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree_size: Option<u64>,
    pub detail: String,
}

impl Discrepancy {
    fn entry(index: u64, detail: impl Into<String>) -> Self {
        Discrepancy {
            kind: "entry",
            index: Some(index),
            tree_size: None,
            detail: detail.into(),
        }
    }
}

/// Entries decoded, and every signature by a key a registry knew verified, on every
/// core: the part of judging that does not depend on log order, done ahead (on another
/// thread while the mirror judges the entries before).
pub struct Prepared {
    entries: Vec<Vec<u8>>,
    decoded: Vec<Result<Box<Decoded>, String>>,
}

/// An entry decoded, and what can be known of it without the entries before it.
struct Decoded {
    /// The entry's fields beside its envelope (which `signed` holds).
    logged_at_text: String,
    subject: String,
    prev: Option<entry::Prev>,
    signed: Signed,
    /// The verdict on each signature whose key was known, with that key (a key id
    /// names one key forever in a log, so the verdict holds at any position).
    verdicts: Vec<Verdict>,
    /// `logged_at`, parsed.
    logged_at: OffsetDateTime,
    /// Whether the bytes are the entry as the log writes its fields (compact JSON,
    /// fields in order, no longer than an entry may be): then the log wrote these
    /// bytes if it wrote these fields.
    canonical: bool,
    leaf: Hash,
    dedup_key: Hash,
}

impl Prepared {
    /// Decodes `entries` and verifies the signatures of keys `registry` knows (any
    /// registry of the log: keys never change owner, so a stale one only leaves some
    /// signatures to verify in order).
    pub fn new(entries: Vec<Vec<u8>>, registry: Option<&Registry>) -> Self {
        let decoded = crate::verify::par_map(&entries, |bytes| {
            let entry = Entry::parse(bytes).map_err(|e| e.to_string())?;
            let logged_at = OffsetDateTime::parse(
                &entry.logged_at,
                &time::format_description::well_known::Rfc3339,
            )
            .map_err(|_| format!("logged_at {:?} is not a time", entry.logged_at))?;
            let canonical =
                entry.to_bytes() == *bytes && crate::tiles::check_entry_len(bytes).is_ok();
            let Entry {
                logged_at: logged_at_text,
                subject,
                prev,
                envelope,
                ..
            } = entry;
            let signed = Signed::from_envelope(envelope).map_err(|e| e.to_string())?;
            // Each signature is met once here: checked, not remembered (the memo of
            // `verify_signature` is for signatures that come back).
            let verdicts = signed
                .opened
                .signatures
                .iter()
                .map(|(key_id, sig)| {
                    let (_, _, key) = registry?.key(*key_id)?;
                    Some((
                        *key,
                        crate::envelope::signature_holds(&signed.opened.pae, sig, key),
                    ))
                })
                .collect();
            Ok(Box::new(Decoded {
                canonical,
                leaf: merkle::leaf_hash(bytes),
                dedup_key: signed.opened.dedup_key(),
                logged_at_text,
                subject,
                prev,
                signed,
                verdicts,
                logged_at,
            }))
        });
        Prepared { entries, decoded }
    }
}

/// A mirror of one ledger in a store of its own.
pub struct Mirror {
    store: Arc<dyn Store>,
    log_key: Verifier,
    signer: Signer,
    registry: Option<Arc<Registry>>,
    index: Index,
    frontier: Frontier,
    /// The dedup keys of every entry the mirror holds.
    seen: Seen,
    /// The size at which the chain heads and `seen` were last written to the store.
    kept_at: u64,
}

/// The metadata under which the mirror keeps its chain heads and Bloom filters.
const META_MIRROR_STATE: &str = "mirror_state";

/// How many entries the mirror stores between two writes of its chain heads and Bloom
/// filters (which opening then brings up to date from at most this many entries).
pub const KEEP_EVERY: u64 = 1 << 18;

/// A pass of the monitor ends by keeping the state when at least this many entries
/// were stored since it was last kept (so opening replays fewer than this many, about
/// 80 ms, and a verifying witness that passes at every checkpoint does not write its
/// filters each time).
pub const KEEP_AFTER_A_PASS: u64 = 1 << 14;

/// What opening a mirror replays from its entries at once.
const REPLAY_CHUNK: u64 = 4096;

impl Mirror {
    /// Opens the mirror of the ledger signed by `log_key` that `store` holds (empty on
    /// the first run), signing its own checkpoints with `signer`.
    ///
    /// # Errors
    /// A store that fails, or that mirrors another log.
    pub fn open(
        store: Arc<dyn Store>,
        log_key: Verifier,
        signer: Signer,
    ) -> Result<Self, LogError> {
        if let Some(k) = store.meta(META_LOG_KEY)? {
            if k != log_key.to_string().into_bytes() {
                return Err(LogError::Inconsistent(format!(
                    "this state mirrors the log {}, not {log_key}",
                    String::from_utf8_lossy(&k)
                )));
            }
        }
        let size = store.tree_size()?;
        let frontier = Frontier::from_hashes(size, store.hashes(&Frontier::nodes(size))?)
            .ok_or_else(|| LogError::Inconsistent("the mirror's tree is incomplete".into()))?;
        let registry = Ledger::load(store.as_ref())?.and_then(|l| l.registry_arc());
        let (heads, seen, kept_at) = derived_state(store.as_ref(), size)?;
        Ok(Mirror {
            store,
            log_key,
            signer,
            registry,
            index: Index::from_heads(heads),
            seen,
            kept_at,
            frontier,
        })
    }

    /// How many entries were stored since the chain heads and Bloom filters were last
    /// written to the store: what opening would replay.
    pub fn unkept(&self) -> u64 {
        self.size() - self.kept_at
    }

    /// Writes the chain heads and Bloom filters to the store, if entries were stored
    /// since they last were, so that the next open replays none.
    ///
    /// # Errors
    /// [`Discrepancy`] of kind `store` when the mirror's store fails.
    pub fn keep_state(&mut self) -> Result<(), Discrepancy> {
        if self.kept_at == self.size() {
            return Ok(());
        }
        let checkpoint = self
            .expected_checkpoint()
            .map_err(store_failed)?
            .sign(&[&self.signer])
            .into_bytes();
        self.store
            .write(Batch {
                start: self.size(),
                checkpoint,
                meta: vec![(META_MIRROR_STATE.into(), self.state_bytes())],
                no_dedup_rows: true,
                ..Batch::default()
            })
            .map_err(|e| store_failed(e.into()))?;
        self.kept_at = self.size();
        Ok(())
    }

    /// The chain heads and the Bloom filters, at the mirror's size.
    fn state_bytes(&self) -> Vec<u8> {
        let heads = self.index.heads();
        let mut out = Vec::with_capacity(64 + heads.len() * 80 + self.seen.byte_len());
        out.extend_from_slice(STATE_MAGIC);
        out.extend_from_slice(&self.size().to_be_bytes());
        out.extend_from_slice(&(heads.len() as u64).to_be_bytes());
        for (key, h) in &heads {
            out.extend_from_slice(key);
            out.extend_from_slice(&h.count.to_be_bytes());
            out.extend_from_slice(&h.newest_index.to_be_bytes());
            out.extend_from_slice(&h.newest_leaf_hash);
        }
        self.seen.write_to(&mut out);
        out
    }

    /// The index of the entry the mirror holds about `subject` whose dedup key is
    /// `key`, if any: a walk down the subject's chain by its `prev` links (two entries
    /// with one dedup key have one payload, so one subject).
    fn stored_with(&self, subject: &str, key: &Hash) -> Result<Option<u64>, LogError> {
        let mut next = self.index.get(&index::key(subject)).map(|h| h.newest_index);
        while let Some(i) = next {
            let bytes = self.store.entries(i, 1)?.pop().unwrap_or_default();
            let e = Entry::parse(&bytes)
                .map_err(|e| LogError::Inconsistent(format!("the mirror's entry {i}: {e}")))?;
            if e.envelope.dedup_key() == *key {
                return Ok(Some(i));
            }
            next = e.prev.map(|p| p.index).filter(|p| *p < i);
        }
        Ok(None)
    }

    /// How many of the log's entries the mirror holds, all judged.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The body of the checkpoint the log should sign at the mirror's size: origin,
    /// size, root, registry head and index root.
    pub fn expected_checkpoint(&self) -> Result<Checkpoint, LogError> {
        let mut extensions: Vec<String> = self
            .index
            .get(&index::key(REGISTRY_SUBJECT))
            .map(|h| entry::registry_head_line(h.newest_index, &h.newest_leaf_hash))
            .into_iter()
            .collect();
        extensions.push(index::root_line(&self.index.root()));
        Ok(Checkpoint::new(
            self.log_key.name().as_str(),
            self.size(),
            self.frontier.root(),
            extensions,
        )?)
    }

    /// Compares the log's checkpoint `cp` (signature already checked), of the mirror's
    /// size, with the one the mirror computes.
    ///
    /// # Errors
    /// The discrepancy, naming each line that differs.
    pub fn compare(&self, cp: &Checkpoint) -> Result<(), Discrepancy> {
        let mine = self.expected_checkpoint().map_err(|e| Discrepancy {
            kind: "checkpoint",
            index: None,
            tree_size: Some(cp.size()),
            detail: e.to_string(),
        })?;
        if mine == *cp {
            return Ok(());
        }
        let mut what = Vec::new();
        if mine.root() != cp.root() {
            what.push("the root hash is not that of the entries".to_owned());
        }
        for (name, prefix) in [
            ("registry head", entry::REGISTRY_HEAD_PREFIX),
            ("supplier index root", index::ROOT_LINE_PREFIX),
        ] {
            let line = |c: &Checkpoint| {
                c.extensions()
                    .iter()
                    .find(|l| l.starts_with(prefix))
                    .cloned()
            };
            if line(&mine) != line(cp) {
                what.push(format!(
                    "the {name} is {:?}, the entries make it {:?}",
                    line(cp).unwrap_or_default(),
                    line(&mine).unwrap_or_default()
                ));
            }
        }
        if what.is_empty() {
            what.push("its extension lines are not the ones vouch writes".into());
        }
        Err(Discrepancy {
            kind: "checkpoint",
            index: None,
            tree_size: Some(cp.size()),
            detail: format!(
                "the log's checkpoint of size {}: {}",
                cp.size(),
                what.join("; ")
            ),
        })
    }

    /// Judges the log's entries `entries` (its entries from [`Mirror::size`] on) and
    /// stores those before the first that fails, as one batch.
    ///
    /// # Errors
    /// The first entry the rules refuse, or whose bytes are not the ones judging its
    /// envelope gives; [`Discrepancy`] of kind `store` when the mirror's own store
    /// fails.
    pub fn append(&mut self, entries: Vec<Vec<u8>>) -> Result<(), Discrepancy> {
        let prepared = Prepared::new(entries, self.registry.as_deref());
        self.append_prepared(prepared)
    }

    /// The registry as of the mirror's size (`None` before the genesis entry).
    pub fn registry(&self) -> Option<Arc<Registry>> {
        self.registry.clone()
    }

    /// [`Mirror::append`] of entries decoded beforehand.
    ///
    /// # Errors
    /// As [`Mirror::append`].
    pub fn append_prepared(&mut self, prepared: Prepared) -> Result<(), Discrepancy> {
        let start = self.size();
        let Prepared { entries, decoded } = prepared;
        let n = entries.len();
        let mut state = BatchState::with_capacity(n);
        let mut registry = self.registry.clone();
        let mut new = Vec::with_capacity(entries.len());
        let mut nodes = Vec::new();
        let mut frontier = self.frontier.clone();
        let mut counts: HashMap<String, u64> = HashMap::with_capacity(n);
        let mut in_batch: HashMap<Hash, u64> = HashMap::with_capacity(n);
        let mut failure = None;
        for (n, (bytes, d)) in entries.into_iter().zip(decoded).enumerate() {
            let position = start + n as u64;
            let judged = d.and_then(|d| {
                let subject = self.judge(&mut registry, &mut state, &d, position)?;
                Ok((subject, d))
            });
            let (subject, d) = match judged {
                Ok(j) => j,
                Err(why) => {
                    failure = Some(Discrepancy::entry(position, why));
                    break;
                }
            };
            let Decoded {
                leaf, dedup_key, ..
            } = *d;
            let seen = match in_batch.get(&dedup_key) {
                Some(first) => Some(*first),
                None if self.seen.may_hold(&dedup_key) => {
                    match self.stored_with(&subject, &dedup_key) {
                        Ok(first) => first,
                        Err(e) => {
                            failure = Some(store_failed(e));
                            break;
                        }
                    }
                }
                None => None,
            };
            if let Some(first) = seen {
                failure = Some(Discrepancy::entry(
                    position,
                    format!("the same envelope as entry {first}: the log stores each once"),
                ));
                break;
            }
            in_batch.insert(dedup_key, position);
            frontier.push(leaf, |node, hash| nodes.push((node, hash)));
            *counts.entry(subject.clone()).or_insert(0) += 1;
            new.push(NewEntry {
                bytes,
                leaf_hash: leaf,
                dedup_key,
                subject: is_registry_chain(&subject).then_some(subject),
            });
        }
        if !new.is_empty() {
            // Into the filters first, so that the state kept with the batch has them:
            // should the write fail, a key too many only makes a "maybe".
            for key in in_batch.keys() {
                self.seen.insert(key);
            }
            self.commit(start, new, nodes, frontier, registry, &counts, &state)
                .map_err(store_failed)?;
        }
        failure.map_or(Ok(()), Err)
    }

    /// Judges one entry at `position`: its envelope, as the log's rules accept it with
    /// the time written in the entry, and the entry itself, which must be the one the
    /// log writes for it; returns its subject.
    fn judge(
        &self,
        registry: &mut Option<Arc<Registry>>,
        state: &mut BatchState,
        d: &Decoded,
        position: u64,
    ) -> Result<String, String> {
        let signed = &d.signed;
        let judge = Judge {
            store: self.store.as_ref(),
            now: d.logged_at,
            logged_at: &d.logged_at_text,
            index: &self.index,
        };
        let not_written = || {
            "the entry is not what the log writes for its envelope (its subject, prev link or form differ)".to_owned()
        };
        let Some(r) = registry else {
            let Payload::Registry(stmt @ RegistryStatement::Genesis { .. }) = &signed.payload
            else {
                return Err("the log does not start with a genesis registry entry".into());
            };
            let genesis = Registry::genesis(stmt).map_err(|e| e.to_string())?;
            let (_, leaf) = judge.genesis(&genesis, signed).map_err(|e| e.to_string())?;
            if leaf != d.leaf {
                return Err(not_written());
            }
            *registry = Some(Arc::new(genesis));
            state.note(&signed.subject(), position, leaf, judge.logged_at);
            return Ok(signed.subject().into_owned());
        };
        let refused = |e: LogError| format!("the log's rules refuse it: {e}");
        let judged = judge
            .judge(r, state, signed, position, &|s, key| {
                verdict_for(d.verdicts.get(s), key)
            })
            .map_err(refused)?;
        // The log writes {v: 1, logged_at, subject, prev, envelope} (the judge took
        // logged_at and the envelope from these bytes): if they are written as the
        // log writes them and name the same subject and link, they are its entry.
        let written = d.canonical && d.subject == judged.subject && d.prev == judged.prev();
        if !written {
            return Err(not_written());
        }
        let subject = judged.subject.clone();
        Judge::admit(r, state, judged, position, d.leaf).map_err(refused)?;
        Ok(subject)
    }

    #[allow(clippy::too_many_arguments)]
    fn commit(
        &mut self,
        start: u64,
        entries: Vec<NewEntry>,
        nodes: Vec<(merkle::Node, Hash)>,
        frontier: Frontier,
        registry: Option<Arc<Registry>>,
        counts: &HashMap<String, u64>,
        state: &BatchState,
    ) -> Result<(), LogError> {
        let mut heads = Vec::with_capacity(counts.len());
        for (subject, added) in counts {
            let before = self.index.get(&index::key(subject)).map_or(0, |h| h.count);
            let (newest_index, newest_leaf_hash) =
                state.newest(subject).expect("judged in this batch");
            heads.push((
                subject.clone(),
                ChainHead {
                    count: before + added,
                    newest_index,
                    newest_leaf_hash,
                },
            ));
        }
        let index = self
            .index
            .with(heads.iter().map(|(s, h)| (index::key(s), *h)));
        let (old_index, old_frontier) = (
            std::mem::replace(&mut self.index, index),
            std::mem::replace(&mut self.frontier, frontier),
        );
        let checkpoint = match self.expected_checkpoint() {
            Ok(c) => c.sign(&[&self.signer]).into_bytes(),
            Err(e) => {
                (self.index, self.frontier) = (old_index, old_frontier);
                return Err(e);
            }
        };
        let mut meta = Vec::new();
        let size = self.size();
        let keep = size - self.kept_at >= KEEP_EVERY;
        if keep {
            meta.push((META_MIRROR_STATE.into(), self.state_bytes()));
        }
        if start == 0 {
            meta.push((
                META_ORIGIN.into(),
                self.log_key.name().as_str().as_bytes().to_vec(),
            ));
            meta.push((META_LOG_KEY.into(), self.log_key.to_string().into_bytes()));
            if let Some(r) = &registry {
                meta.push((META_REGISTRY.into(), r.to_bytes()));
            }
        }
        let written = self.store.write(Batch {
            start,
            entries,
            nodes,
            checkpoint,
            meta,
            heads: None,
            no_dedup_rows: true,
        });
        if let Err(e) = written {
            (self.index, self.frontier) = (old_index, old_frontier);
            return Err(e.into());
        }
        if keep {
            self.kept_at = size;
        }
        self.registry = registry;
        Ok(())
    }
}

/// A failure of the mirror's own store, as the monitor reports it.
fn store_failed(e: LogError) -> Discrepancy {
    Discrepancy {
        kind: "store",
        index: None,
        tree_size: None,
        detail: format!("the mirror's own store failed: {e}"),
    }
}

/// What the mirror's kept state starts with.
const STATE_MAGIC: &[u8] = b"vouch mirror state 1\n";

/// The chain heads and the dedup keys' filters of the `size` entries `store` holds:
/// the state the mirror kept last, brought up to date from the entries after it (all
/// of them when it kept none); and the size it was kept at.
fn derived_state(
    store: &dyn Store,
    size: u64,
) -> Result<(HashMap<Key, ChainHead>, Seen, u64), LogError> {
    let malformed = || LogError::Inconsistent("the mirror's kept state is malformed".into());
    let (mut heads, mut seen, from) = match store.meta(META_MIRROR_STATE)? {
        Some(bytes) => parse_state(&bytes).ok_or_else(malformed)?,
        None => (HashMap::new(), Seen::default(), 0),
    };
    if from > size {
        return Err(LogError::Inconsistent(format!(
            "the mirror's kept state is of size {from}, its tree of size {size}"
        )));
    }
    let mut at = from;
    while at < size {
        let n = (size - at).min(REPLAY_CHUNK);
        for (i, bytes) in store.entries(at, n)?.into_iter().enumerate() {
            let index = at + i as u64;
            let e = Entry::parse(&bytes)
                .map_err(|e| LogError::Inconsistent(format!("the mirror's entry {index}: {e}")))?;
            seen.insert(&e.envelope.dedup_key());
            heads
                .entry(index::key(&e.subject))
                .or_default()
                .push(index, merkle::leaf_hash(&bytes));
        }
        at += n;
    }
    Ok((heads, seen, from))
}

/// Reads what [`Mirror::state_bytes`] wrote.
fn parse_state(bytes: &[u8]) -> Option<(HashMap<Key, ChainHead>, Seen, u64)> {
    let mut r = Reader(bytes.strip_prefix(STATE_MAGIC)?);
    let size = r.u64()?;
    let n = r.u64()?;
    let mut heads = HashMap::with_capacity(usize::try_from(n).ok()?.min(1 << 20));
    for _ in 0..n {
        let key: Key = r.take(32)?.try_into().ok()?;
        let count = r.u64()?;
        let newest_index = r.u64()?;
        let newest_leaf_hash: Hash = r.take(32)?.try_into().ok()?;
        heads.insert(
            key,
            ChainHead {
                count,
                newest_index,
                newest_leaf_hash,
            },
        );
    }
    let seen = Seen::read_from(&mut r)?;
    r.0.is_empty().then_some((heads, seen, size))
}

/// Big-endian fields off the front of a byte string.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
}

/// The dedup keys of the entries a mirror holds, in Bloom filters (each twice the one
/// before when it fills; 32 bits and 11 probes a key: about one false "maybe" in a
/// million a filter): a key it says no to is not stored, so only a "maybe" is looked
/// for in the store. A dedup key is a SHA-256 output, so its own bits place the
/// probes.
#[derive(Default)]
struct Seen {
    filters: Vec<Bloom>,
}

struct Bloom {
    bits: Vec<u64>,
    keys: u64,
    capacity: u64,
}

const BLOOM_PROBES: u64 = 11;
const BLOOM_BITS_PER_KEY: u64 = 32;
const BLOOM_FIRST: u64 = 1 << 16;

impl Seen {
    /// The probes of `key`: bit positions under `mask`.
    fn probes(key: &Hash, mask: u64) -> impl Iterator<Item = u64> {
        let word = |i: usize| u64::from_le_bytes(key[i..i + 8].try_into().expect("8 bytes"));
        let (h1, h2) = (word(0), word(8) | 1);
        (0..BLOOM_PROBES).map(move |i| h1.wrapping_add(i.wrapping_mul(h2)) & mask)
    }

    fn insert(&mut self, key: &Hash) {
        let full = self.filters.last().is_none_or(|f| f.keys >= f.capacity);
        if full {
            let capacity = self.filters.last().map_or(BLOOM_FIRST, |f| f.capacity * 2);
            // A power of two bits.
            self.filters.push(Bloom {
                bits: vec![0; usize::try_from(capacity * BLOOM_BITS_PER_KEY / 64).expect("fits")],
                keys: 0,
                capacity,
            });
        }
        let f = self.filters.last_mut().expect("one was pushed");
        let mask = f.bits.len() as u64 * 64 - 1;
        for bit in Self::probes(key, mask) {
            f.bits[(bit / 64) as usize] |= 1 << (bit % 64);
        }
        f.keys += 1;
    }

    /// False only if no key inserted is `key`.
    fn may_hold(&self, key: &Hash) -> bool {
        self.filters.iter().any(|f| {
            let mask = f.bits.len() as u64 * 64 - 1;
            Self::probes(key, mask).all(|bit| f.bits[(bit / 64) as usize] & (1 << (bit % 64)) != 0)
        })
    }

    fn byte_len(&self) -> usize {
        8 + self
            .filters
            .iter()
            .map(|f| 16 + f.bits.len() * 8)
            .sum::<usize>()
    }

    /// Appends the filters: their number, then each one's capacity, keys and bits.
    fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.filters.len() as u64).to_be_bytes());
        for f in &self.filters {
            out.extend_from_slice(&f.capacity.to_be_bytes());
            out.extend_from_slice(&f.keys.to_be_bytes());
            for w in &f.bits {
                out.extend_from_slice(&w.to_be_bytes());
            }
        }
    }

    fn read_from(r: &mut Reader<'_>) -> Option<Self> {
        let n = r.u64()?;
        let mut filters = Vec::new();
        for _ in 0..n {
            let capacity = r.u64()?;
            let keys = r.u64()?;
            let words = usize::try_from(capacity.checked_mul(BLOOM_BITS_PER_KEY)? / 64).ok()?;
            if !capacity.is_power_of_two() || capacity < BLOOM_FIRST || keys > capacity {
                return None;
            }
            let bits = r
                .take(words.checked_mul(8)?)?
                .chunks_exact(8)
                .map(|w| u64::from_be_bytes(w.try_into().expect("8 bytes")))
                .collect();
            filters.push(Bloom {
                bits,
                keys,
                capacity,
            });
        }
        Some(Seen { filters })
    }
}

#[cfg(test)]
mod tests {
    use super::Seen;

    fn key(i: u64) -> crate::merkle::Hash {
        crate::merkle::leaf_hash(&i.to_be_bytes())
    }

    #[test]
    fn seen_never_forgets_a_key_and_rarely_says_maybe_to_others() {
        let mut seen = Seen::default();
        assert!(!seen.may_hold(&key(0)));
        for i in 0..300_000 {
            seen.insert(&key(i));
        }
        assert!(seen.filters.len() >= 3, "it grew: {}", seen.filters.len());
        assert!((0..300_000).all(|i| seen.may_hold(&key(i))));
        let maybes = (1_000_000..1_100_000)
            .filter(|i| seen.may_hold(&key(*i)))
            .count();
        assert!(maybes < 5, "{maybes} false maybes in 100,000");
        // Written and read back, it is the same.
        let mut bytes = Vec::new();
        seen.write_to(&mut bytes);
        assert_eq!(bytes.len(), seen.byte_len());
        let back = Seen::read_from(&mut super::Reader(&bytes)).unwrap();
        assert!((0..300_000).all(|i| back.may_hold(&key(i))));
        assert_eq!(
            (1_000_000..1_100_000)
                .filter(|i| back.may_hold(&key(*i)))
                .count(),
            maybes
        );
        assert!(Seen::read_from(&mut super::Reader(&bytes[..bytes.len() - 1])).is_none());
    }
}
