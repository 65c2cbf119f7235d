//! [`FaultyStore`]: a [`Store`] that fails on command, for tests of every error path of
//! the sequencer and the server (as sunlight's test backend and azul's fatal-error
//! tests do). It wraps a real store and passes every call through until told to fail.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};

use super::{Batch, Store, StoreError};
use crate::index::ChainHead;
use crate::merkle::{Hash, Node};

/// The calls a [`FaultyStore`] can fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// [`Store::write`] fails and writes nothing.
    Write,
    /// [`Store::write`] writes through to the inner store, then reports the error: the
    /// batch is durable although the caller was told otherwise.
    WriteAfterStoring,
    /// [`Store::recover`].
    Recover,
    /// [`Store::entries`].
    Entries,
    /// [`Store::hashes`] and [`Store::hash_run`].
    Hashes,
    /// [`Store::find`] and [`Store::find_all`].
    Find,
}

/// A store that fails the calls it is told to, and otherwise is the store it wraps.
pub struct FaultyStore {
    inner: Arc<dyn Store>,
    faults: Mutex<HashMap<Op, (u32, StoreError)>>,
    /// Writes wait while held (`.0`); `.1` counts the writes waiting.
    gate: Mutex<(bool, usize)>,
    gate_moved: Condvar,
}

impl std::fmt::Debug for FaultyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultyStore").finish_non_exhaustive()
    }
}

impl FaultyStore {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        FaultyStore {
            inner,
            faults: Mutex::default(),
            gate: Mutex::default(),
            gate_moved: Condvar::new(),
        }
    }

    /// Holds every [`Store::write`] until [`FaultyStore::release_writes`]: a batch then
    /// stays unwritten while more requests queue behind it.
    pub fn hold_writes(&self) {
        self.gate.lock().expect("gate lock").0 = true;
    }

    /// Lets held writes go on (to the faults set meanwhile).
    pub fn release_writes(&self) {
        self.gate.lock().expect("gate lock").0 = false;
        self.gate_moved.notify_all();
    }

    /// How many writes are waiting for [`FaultyStore::release_writes`].
    pub fn writes_held(&self) -> usize {
        self.gate.lock().expect("gate lock").1
    }

    fn pass_gate(&self) {
        let mut gate = self.gate.lock().expect("gate lock");
        gate.1 += 1;
        while gate.0 {
            gate = self.gate_moved.wait(gate).expect("gate lock");
        }
        gate.1 -= 1;
    }

    /// Makes the next `times` calls of `op` fail with `error` (`u32::MAX`: until
    /// [`FaultyStore::heal`]).
    pub fn fail(&self, op: Op, times: u32, error: StoreError) {
        self.faults
            .lock()
            .expect("fault table lock")
            .insert(op, (times, error));
    }

    /// Ends every failure.
    pub fn heal(&self) {
        self.faults.lock().expect("fault table lock").clear();
    }

    fn check(&self, op: Op) -> Result<(), StoreError> {
        let mut faults = self.faults.lock().expect("fault table lock");
        match faults.get_mut(&op) {
            Some((times, error)) if *times > 0 => {
                if *times != u32::MAX {
                    *times -= 1;
                }
                Err(error.clone())
            }
            _ => Ok(()),
        }
    }
}

impl Store for FaultyStore {
    fn tree_size(&self) -> Result<u64, StoreError> {
        self.inner.tree_size()
    }

    fn write(&self, batch: Batch) -> Result<(), StoreError> {
        self.pass_gate();
        self.check(Op::Write)?;
        self.inner.write(batch)?;
        self.check(Op::WriteAfterStoring)
    }

    fn recover(&self) -> Result<(), StoreError> {
        self.check(Op::Recover)?;
        self.inner.recover()
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.inner.flush()
    }

    fn entries(&self, start: u64, count: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        self.check(Op::Entries)?;
        self.inner.entries(start, count)
    }

    fn hashes(&self, nodes: &[Node]) -> Result<Vec<Hash>, StoreError> {
        self.check(Op::Hashes)?;
        self.inner.hashes(nodes)
    }

    fn hash_run(&self, first: Node, count: u64) -> Result<Vec<Hash>, StoreError> {
        self.check(Op::Hashes)?;
        self.inner.hash_run(first, count)
    }

    fn find(&self, dedup_key: &Hash) -> Result<Option<u64>, StoreError> {
        self.check(Op::Find)?;
        self.inner.find(dedup_key)
    }

    fn find_all(&self, keys: &[Hash]) -> Result<Vec<Option<u64>>, StoreError> {
        self.check(Op::Find)?;
        self.inner.find_all(keys)
    }

    fn subject_entries(
        &self,
        subject: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Hash)>, StoreError> {
        self.inner.subject_entries(subject, from, limit)
    }

    fn subject_entries_before(
        &self,
        subject: &str,
        before: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Hash)>, StoreError> {
        self.inner.subject_entries_before(subject, before, limit)
    }

    fn subject_head(&self, subject: &str) -> Result<Option<ChainHead>, StoreError> {
        self.inner.subject_head(subject)
    }

    fn subject_heads(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, ChainHead)>, StoreError> {
        self.inner.subject_heads(after, limit)
    }

    fn checkpoint(&self, size: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.checkpoint(size)
    }

    fn latest_checkpoint(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.latest_checkpoint()
    }

    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.meta(name)
    }

    fn size_on_disk(&self) -> Option<u64> {
        self.inner.size_on_disk()
    }
}
