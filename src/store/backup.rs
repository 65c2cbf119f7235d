//! Backups of a sled data directory that a running server does not notice: the journal
//! is the log (the index is rebuilt from it), it only ever grows, and every record is
//! checksummed. A backup copies the journal's whole records as they stand, without the
//! directory's lock, and checks the copy by opening it as a log; a restore checks a
//! backup (as `vouch fsck` does) before it becomes a data directory.

use std::fs::{self, File};
use std::io::{Read as _, Write as _};
use std::path::Path;

use super::journal::{self, Read};
use super::sled::JOURNAL;
use super::StoreError;

/// What a backup or restore copied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Copied {
    /// Journal records (batches) and entries copied.
    pub batches: u64,
    pub entries: u64,
    pub bytes: u64,
}

fn io(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Backend(format!("cannot {what} {}: {e}", path.display()))
}

/// `dir` must not exist, or be empty; it is created.
fn fresh_dir(dir: &Path) -> Result<(), StoreError> {
    if dir.exists() {
        let empty = fs::read_dir(dir)
            .map_err(|e| io("read", dir, e))?
            .next()
            .is_none();
        if !empty {
            return Err(StoreError::Backend(format!(
                "{} is not empty: give a new directory",
                dir.display()
            )));
        }
    }
    fs::create_dir_all(dir).map_err(|e| io("create", dir, e))
}

/// The length of the whole, intact records at the start of `journal` (which may be
/// growing), and what they hold. A record being written is left out; a damaged one
/// stops the copy, since it may hold acknowledged entries.
fn intact_prefix(journal: &File, path: &Path) -> Result<(u64, Copied), StoreError> {
    let len = journal.metadata().map_err(|e| io("stat", path, e))?.len();
    let (mut offset, mut batches, mut entries) = (0, 0, 0);
    loop {
        match journal::read(journal, offset, len).map_err(|e| io("read", path, e))? {
            Read::End | Read::Torn { .. } => break,
            Read::Damaged { offset, why } => {
                return Err(StoreError::Corrupt(format!(
                    "the journal record at byte {offset} is damaged ({why}); nothing was \
                     copied: run `vouch fsck` on the data directory"
                )));
            }
            Read::Record(r) => {
                offset = r.end;
                batches += 1;
                entries = r.new_size();
            }
        }
    }
    Ok((
        offset,
        Copied {
            batches,
            entries,
            bytes: offset,
        },
    ))
}

/// Copies the first `len` bytes of `from` into a new file `to`, synced.
fn copy_prefix(from: &File, from_path: &Path, to: &Path, len: u64) -> Result<(), StoreError> {
    let mut out = File::create(to).map_err(|e| io("create", to, e))?;
    let copied =
        std::io::copy(&mut from.take(len), &mut out).map_err(|e| io("copy", from_path, e))?;
    if copied != len {
        return Err(StoreError::Backend(format!(
            "{} ended after {copied} of {len} bytes",
            from_path.display()
        )));
    }
    out.flush().map_err(|e| io("write", to, e))?;
    out.sync_all().map_err(|e| io("sync", to, e))?;
    if let Some(dir) = to.parent() {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io("sync", dir, e))?;
    }
    Ok(())
}

/// Copies the log in data directory `data` into the new directory `out`, while a
/// server may be appending to it: every batch committed when the copy starts, and
/// perhaps some after. The copy holds only the journal; opening it builds its index.
///
/// # Errors
/// When `out` is not new and empty, the journal cannot be read, or a record in it is
/// damaged.
pub fn backup(data: &Path, out: &Path) -> Result<Copied, StoreError> {
    let path = data.join(JOURNAL);
    let journal = File::open(&path).map_err(|e| io("open", &path, e))?;
    let (len, copied) = intact_prefix(&journal, &path)?;
    fresh_dir(out)?;
    copy_prefix(&journal, &path, &out.join(JOURNAL), len)?;
    Ok(copied)
}

/// Makes the new data directory `data` from the backup in `from`, after checking every
/// record of the backup's journal; the index is built when the log is opened.
///
/// # Errors
/// When the backup's journal is damaged or torn (not a backup `vouch backup` made, or
/// damaged since), or `data` is not new and empty.
pub fn restore(from: &Path, data: &Path) -> Result<Copied, StoreError> {
    let path = from.join(JOURNAL);
    let journal = File::open(&path).map_err(|e| io("open", &path, e))?;
    let (len, copied) = intact_prefix(&journal, &path)?;
    let size = journal.metadata().map_err(|e| io("stat", &path, e))?.len();
    if len != size {
        return Err(StoreError::Corrupt(format!(
            "{} ends with {} bytes that are not a whole record: not a backup as `vouch backup` \
             writes them",
            path.display(),
            size - len
        )));
    }
    if copied.batches == 0 {
        return Err(StoreError::Corrupt(format!(
            "{} holds no log",
            path.display()
        )));
    }
    fresh_dir(data)?;
    copy_prefix(&journal, &path, &data.join(JOURNAL), len)?;
    Ok(copied)
}

/// Whether another process holds the data directory `data` (a server serving it).
pub fn in_use(data: &Path) -> bool {
    data.join(JOURNAL).exists()
        && matches!(super::sled::lock_dir(data), Err(StoreError::Backend(_)))
}

/// The newest checkpoint in the journal of data directory `data`, and the metadata of
/// its first record (the log's origin and key), read without the directory's lock:
/// what `vouch log checkpoint` shows while a server holds the directory. The caller
/// checks the checkpoint's signature.
///
/// # Errors
/// When the journal cannot be read, holds no whole record, or its newest whole record
/// is damaged.
pub fn newest_checkpoint(data: &Path) -> Result<Newest, StoreError> {
    let path = data.join(JOURNAL);
    let journal = File::open(&path).map_err(|e| io("open", &path, e))?;
    let len = journal.metadata().map_err(|e| io("stat", &path, e))?.len();
    let record = |offset| match journal::read(&journal, offset, len) {
        Ok(Read::Record(r)) => Ok(r),
        Ok(Read::Damaged { offset, why }) => Err(StoreError::Corrupt(format!(
            "the journal record at byte {offset} is damaged ({why})"
        ))),
        Ok(_) => Err(StoreError::Corrupt(format!(
            "{} holds no whole record at byte {offset}",
            path.display()
        ))),
        Err(e) => Err(io("read", &path, e)),
    };
    let first = record(0)?;
    // Headers only, to the last whole record.
    let (mut last, mut offset) = (0, first.end);
    while let Some((end, _)) =
        journal::skip(&journal, offset, len).map_err(|e| io("read", &path, e))?
    {
        last = offset;
        offset = end;
    }
    let newest = if last == 0 {
        first.clone()
    } else {
        record(last)?
    };
    Ok(Newest {
        checkpoint: newest.checkpoint.clone(),
        meta: first.meta.clone(),
    })
}

/// What [`newest_checkpoint`] finds.
#[derive(Clone, Debug)]
pub struct Newest {
    /// The signed checkpoint of the newest whole record.
    pub checkpoint: Vec<u8>,
    /// The metadata of the first record: the log's origin and key.
    pub meta: Vec<(String, Vec<u8>)>,
}
