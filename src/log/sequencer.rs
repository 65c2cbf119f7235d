//! The sequencer: one thread that turns queued requests into durable batches, the same
//! pipeline for every kind of log ([`Admission`] says what differs).
//!
//! 1. **Batch**: take up to [`LogConfig::max_batch`] requests, waiting at most
//!    [`LogConfig::max_wait`] for more after the first.
//! 2. **Admit**, in order: drop duplicates (of this batch or of the log, the latter
//!    confirmed against the stored entry), judge each request at the position it
//!    would take, push accepted leaves into the in-memory [`Frontier`].
//! 3. **Index and sign**: the chain heads of the batch's subjects update the supplier
//!    index; the checkpoint of the new size carries the admission's extension lines
//!    and the index root.
//! 4. **Commit**: entries, subtree hashes, chain heads and checkpoint as one atomic,
//!    flushed [`Batch`].
//! 5. **Publish, then answer**: the new [`Head`] (checkpoint, index) and registry become
//!    what readers see, and only then are the callers answered. An acknowledged entry
//!    is durable and a published checkpoint is never contradicted.
//!
//! A failed commit puts frontier, index and admission state back as they were. While
//! storage fails the sequencer answers at once and asks the store every
//! [`RECOVER_EVERY`] whether it works again; a store that may hold a batch it reported
//! failed is read back ([`Sequencer::reload`]) before writes resume.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::Instant;

use tokio::sync::oneshot;

use crate::index::{self, ChainHead, Index};
use crate::merkle::{self, Appended, Frontier, Hash, Node};
use crate::note::{Checkpoint, Signer};
use crate::store::{Batch, NewEntry, Store, StoreError};

use super::admission::{Admission, Context};
use super::{
    read_head, Head, LogConfig, LogError, Published, Receipt, Shared, BATCH_BUCKETS, RECENT_HEADS,
    RECOVER_EVERY,
};

pub(super) type Reply = oneshot::Sender<Result<Receipt, LogError>>;

/// A queued request and where its answer goes.
pub(super) struct Request<T> {
    pub item: T,
    pub reply: Reply,
}

pub(super) struct Sequencer<A: Admission> {
    pub shared: Arc<Shared>,
    pub signer: Signer,
    pub frontier: Frontier,
    /// The supplier index as of the last written batch: every subject's chain head,
    /// for `prev` links and the checkpoint's index root.
    pub index: Index,
    pub admission: A,
    pub config: LogConfig,
    /// Heads that left the recent ones, dropped on another thread: freeing the index
    /// nodes no newer head shares is work the sequencer need not wait for.
    pub retired: mpsc::Sender<Arc<Head>>,
}

/// Where a request in a batch ends up.
enum Placement {
    New(u64),
    /// Same entry as an earlier request, in this batch or already in the log.
    Duplicate(u64),
}

/// What became of one request of a batch.
type Outcome = Result<(Hash, Placement), LogError>;

/// A durable batch: its head, and the nodes that prove its entries.
type Written = (Arc<Head>, Appended);

/// Checks that the entry the duplicate index names really is the one submitted (the
/// index is a cache; a damaged one must not hand out someone else's receipt), and
/// returns its leaf hash.
fn confirm_duplicate<A: Admission>(
    store: &dyn Store,
    request: &A::Request,
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
    if A::is_stored(store, request, key, index, &leaf)? {
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
        heads
            .entry(subject)
            .or_insert_with(|| index.get(&index::key(subject)).unwrap_or_default())
            .push(start + i as u64, e.leaf_hash);
    }
    heads.into_iter().map(|(s, h)| (s.to_owned(), h)).collect()
}

impl<A: Admission> Sequencer<A> {
    /// Batches requests, writes each batch durably, then publishes its head and
    /// answers, until every sender is gone.
    pub fn run(mut self, rx: mpsc::Receiver<Request<A::Request>>) {
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

    /// Takes the tree, index, admission state and newest checkpoint from the store
    /// again, after a batch the sequencer was told failed may have been kept, and
    /// publishes them.
    fn reload(&mut self) -> Result<(), LogError> {
        let store = self.shared.store.as_ref();
        let (head, frontier) = read_head(store, &self.shared.verifier)?;
        self.admission.reload(store)?;
        self.frontier = frontier;
        self.index = head.index.clone();
        tracing::warn!(size = head.size(), "reloaded the log from its store");
        let head = Arc::new(head);
        *self.shared.recent.lock().expect("recent lock") = [head.clone()].into();
        *self.shared.published.write().expect("published lock") = Published {
            head,
            registry: self.admission.registry(),
        };
        Ok(())
    }

    /// Writes a batch and answers its requests.
    fn write(&mut self, batch: Vec<Request<A::Request>>) {
        if let Some(s) = self.shared.stopped.lock().expect("stopped lock").clone() {
            for req in batch {
                let _ = req.reply.send(Err(LogError::Unavailable(s.reason.clone())));
            }
            return;
        }
        let saved = (
            self.frontier.clone(),
            self.admission.clone(),
            self.index.clone(),
        );
        let (replies, items): (Vec<Reply>, Vec<A::Request>) =
            batch.into_iter().map(|r| (r.reply, r.item)).unzip();
        let (outcomes, head, appended) = match self.try_write(items) {
            Ok((outcomes, Some((head, appended)))) => {
                self.publish(&outcomes, head.clone());
                (outcomes, head, Some(appended))
            }
            Ok((outcomes, None)) => (outcomes, self.shared.head(), None),
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
                (self.frontier, self.admission, self.index) = saved;
                for reply in replies {
                    let _ = reply.send(Err(error.clone()));
                }
                return;
            }
        };
        let size = head.size();
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            let receipt = outcome.map(|(leaf_hash, placement)| {
                let (index, duplicate) = match placement {
                    Placement::New(index) => (index, false),
                    Placement::Duplicate(index) => (index, true),
                };
                // Entries of this batch (new ones, and duplicates of them) are proven
                // from the nodes the batch made; older duplicates are left to the reader.
                let inclusion_proof = appended
                    .as_ref()
                    .and_then(|a| merkle::inclusion_proof(a, index, size).ok());
                debug_assert!(inclusion_proof.as_ref().is_none_or(|p| {
                    merkle::verify_inclusion(&leaf_hash, index, size, p, head.checkpoint.root())
                        .is_ok()
                }));
                Receipt {
                    index,
                    leaf_hash,
                    duplicate,
                    head: head.clone(),
                    inclusion_proof,
                }
            });
            let _ = reply.send(receipt);
        }
    }

    /// Makes a durable batch visible: its head, its registry, the counters.
    fn publish(&self, outcomes: &[Outcome], head: Arc<Head>) {
        let shared = &self.shared;
        let n = outcomes
            .iter()
            .filter(|o| matches!(o, Ok((_, Placement::New(_)))))
            .count() as u64;
        shared.batches.fetch_add(1, Ordering::Relaxed);
        shared.batched_entries.fetch_add(n, Ordering::Relaxed);
        let bucket = (64 - n.saturating_sub(1).leading_zeros()) as usize;
        shared.batch_sizes[bucket.min(BATCH_BUCKETS - 1)].fetch_add(1, Ordering::Relaxed);
        let retired = {
            let mut recent = shared.recent.lock().expect("recent lock");
            let retired = (recent.len() == RECENT_HEADS)
                .then(|| recent.pop_front())
                .flatten();
            recent.push_back(head.clone());
            retired
        };
        if let Some(old) = retired {
            // If the dropping thread is gone, the head is dropped here.
            let _ = self.retired.send(old);
        }
        *shared.published.write().expect("published lock") = Published {
            head,
            registry: self.admission.registry(),
        };
        let _moved = shared.head_moved_lock.lock();
        shared.head_moved.notify_all();
    }

    /// Judges and writes a batch. Per-request refusals are outcomes; an `Err` is a
    /// store failure that refuses the whole batch.
    fn try_write(
        &mut self,
        batch: Vec<A::Request>,
    ) -> Result<(Vec<Outcome>, Option<Written>), LogError> {
        let store = self.shared.store.as_ref();
        let start = self.frontier.size();
        let mut appended = Appended::new(&self.frontier);
        let mut round = self.admission.begin(&batch);
        let mut in_batch: HashMap<Hash, u64> = HashMap::new();
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut entries: Vec<NewEntry> = Vec::with_capacity(batch.len());
        let mut nodes = Vec::with_capacity(batch.len() * 2);
        // Which requests the log already holds, in one read.
        let keys: Vec<Hash> = batch.iter().map(A::key).collect();
        let stored = store.find_all(&keys)?;
        for (r, ((request, key), stored)) in batch.into_iter().zip(keys).zip(stored).enumerate() {
            if let Some(&index) = in_batch.get(&key) {
                let leaf = entries[(index - start) as usize].leaf_hash;
                outcomes.push(Ok((leaf, Placement::Duplicate(index))));
                continue;
            }
            if let Some(index) = stored {
                let leaf = confirm_duplicate::<A>(store, &request, &key, index, start)?;
                outcomes.push(Ok((leaf, Placement::Duplicate(index))));
                continue;
            }
            let index = self.frontier.size();
            let cx = Context {
                store,
                index: &self.index,
            };
            let admitted = match self.admission.admit(&mut round, &cx, request, r, index) {
                Ok(a) => a,
                Err(e) => {
                    outcomes.push(Err(e));
                    continue;
                }
            };
            self.frontier.push(admitted.leaf_hash, |node, hash| {
                nodes.push((node, hash));
                appended.add(node, hash);
            });
            in_batch.insert(key, index);
            outcomes.push(Ok((admitted.leaf_hash, Placement::New(index))));
            entries.push(NewEntry {
                bytes: admitted.bytes,
                leaf_hash: admitted.leaf_hash,
                dedup_key: key,
                subject: admitted.subject,
            });
        }
        if entries.is_empty() {
            return Ok((outcomes, None));
        }
        let heads = chain_heads(&self.index, &entries, start);
        let index = self
            .index
            .with(heads.iter().map(|(s, h)| (index::key(s), *h)));
        let mut extensions = self.admission.extensions(&index);
        extensions.push(index::root_line(&index.root()));
        let checkpoint = Checkpoint::new(
            self.signer.name().as_str(),
            self.frontier.size(),
            self.frontier.root(),
            extensions,
        )?;
        let signed = checkpoint.sign(&[&self.signer]);
        store.write(Batch {
            start,
            entries,
            nodes,
            checkpoint: signed.clone().into_bytes(),
            meta: Vec::new(),
            heads: Some(heads),
            no_dedup_rows: false,
        })?;
        self.index = index.clone();
        Ok((
            outcomes,
            Some((
                Arc::new(Head {
                    checkpoint,
                    signed,
                    index,
                }),
                appended,
            )),
        ))
    }
}
