//! [`MemoryStore`]: the [`Store`] contract in its plainest form, in memory. It is the
//! reference the conformance suite (`tests/store_conformance.rs`) holds the durable
//! stores to, and a store for tests and benchmarks that need no disk.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use super::{Batch, Store, StoreError};
use crate::index::ChainHead;
use crate::merkle::{Hash, Node};

/// A store that lives as long as the value: nothing survives the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: RwLock<State>,
}

#[derive(Clone, Debug, Default)]
struct State {
    entries: Vec<Vec<u8>>,
    hashes: HashMap<(u8, u64), Hash>,
    dedup: HashMap<Hash, u64>,
    /// Per subject: index → leaf hash.
    subjects: BTreeMap<String, BTreeMap<u64, Hash>>,
    checkpoints: BTreeMap<u64, Vec<u8>>,
    meta: HashMap<String, Vec<u8>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn missing(what: String) -> StoreError {
    StoreError::Corrupt(format!("{what} is missing"))
}

fn head_of(chain: &BTreeMap<u64, Hash>) -> Option<ChainHead> {
    chain.last_key_value().map(|(i, h)| ChainHead {
        count: chain.len() as u64,
        newest_index: *i,
        newest_leaf_hash: *h,
    })
}

impl Store for MemoryStore {
    fn tree_size(&self) -> Result<u64, StoreError> {
        Ok(self.read().entries.len() as u64)
    }

    fn write(&self, batch: Batch) -> Result<(), StoreError> {
        let mut state = self
            .state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let size = state.entries.len() as u64;
        if batch.start != size {
            return Err(StoreError::NotAppendOnly {
                got: batch.start,
                want: size,
            });
        }
        // Checked before anything changes, so that a refused batch leaves nothing.
        for e in &batch.entries {
            if let Some(s) = &e.subject {
                super::check_subject(s)?;
            }
        }
        for (i, e) in batch.entries.into_iter().enumerate() {
            let index = size + i as u64;
            state.dedup.insert(e.dedup_key, index);
            if let Some(s) = e.subject {
                state
                    .subjects
                    .entry(s)
                    .or_default()
                    .insert(index, e.leaf_hash);
            }
            state.entries.push(e.bytes);
        }
        for (n, h) in batch.nodes {
            state.hashes.insert((n.level, n.index), h);
        }
        let new_size = state.entries.len() as u64;
        state.checkpoints.insert(new_size, batch.checkpoint);
        state.meta.extend(batch.meta);
        Ok(())
    }

    fn entries(&self, start: u64, count: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let state = self.read();
        (start..start.saturating_add(count))
            .map(|i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| state.entries.get(i).cloned())
                    .ok_or_else(|| missing(format!("entry {i}")))
            })
            .collect()
    }

    fn hashes(&self, nodes: &[Node]) -> Result<Vec<Hash>, StoreError> {
        let state = self.read();
        nodes
            .iter()
            .map(|n| {
                state
                    .hashes
                    .get(&(n.level, n.index))
                    .copied()
                    .ok_or_else(|| missing(format!("hash {} of level {}", n.index, n.level)))
            })
            .collect()
    }

    fn hash_run(&self, first: Node, count: u64) -> Result<Vec<Hash>, StoreError> {
        let nodes: Vec<Node> = (first.index..first.index.saturating_add(count))
            .map(|i| Node::new(first.level, i))
            .collect();
        self.hashes(&nodes)
    }

    fn find(&self, dedup_key: &Hash) -> Result<Option<u64>, StoreError> {
        Ok(self.read().dedup.get(dedup_key).copied())
    }

    fn subject_entries(
        &self,
        subject: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Hash)>, StoreError> {
        super::check_subject(subject)?;
        Ok(self
            .read()
            .subjects
            .get(subject)
            .map_or_else(Vec::new, |c| {
                c.range(from..).take(limit).map(|(i, h)| (*i, *h)).collect()
            }))
    }

    fn subject_entries_before(
        &self,
        subject: &str,
        before: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Hash)>, StoreError> {
        super::check_subject(subject)?;
        Ok(self
            .read()
            .subjects
            .get(subject)
            .map_or_else(Vec::new, |c| {
                c.range(..before)
                    .rev()
                    .take(limit)
                    .map(|(i, h)| (*i, *h))
                    .collect()
            }))
    }

    fn subject_head(&self, subject: &str) -> Result<Option<ChainHead>, StoreError> {
        super::check_subject(subject)?;
        Ok(self.read().subjects.get(subject).and_then(head_of))
    }

    fn subject_heads(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, ChainHead)>, StoreError> {
        let state = self.read();
        let range = match after {
            Some(a) => state
                .subjects
                .range::<str, _>((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded)),
            None => state.subjects.range::<str, _>(..),
        };
        Ok(range
            .filter_map(|(s, c)| head_of(c).map(|h| (s.clone(), h)))
            .take(limit)
            .collect())
    }

    fn checkpoint(&self, size: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.read().checkpoints.get(&size).cloned())
    }

    fn latest_checkpoint(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .read()
            .checkpoints
            .last_key_value()
            .map(|(_, c)| c.clone()))
    }

    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.read().meta.get(name).cloned())
    }

    fn size_on_disk(&self) -> Option<u64> {
        None
    }
}
