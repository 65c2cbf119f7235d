//! `fsck` for a [`SledStore`](super::SledStore) data directory: checks every journal
//! record (checksums, continuity, every entry re-hashed, the root of every checkpoint),
//! then the index against what the journal says it must hold, and repairs what can be
//! rebuilt. What it cannot repair it names: which entries are lost or damaged.
//!
//! It checks storage, not authority: a checkpoint's signature is the log's business
//! (the CLI opens the log afterwards, which verifies the newest one).

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use super::journal::{self, Read};
use super::sled::{
    checkpoint_key, checkpoint_tree, dedup_key, entry_key, get_u64, head_key, lock_dir, meta_key,
    open_sled, row_key, segment_value, segments, subject_prefix, subject_value, SledOptions, INDEX,
    JOURNAL, JOURNAL_END_KEY, LAST_RECORD_KEY, ROW, TREE_SIZE_KEY, VERSION, VERSION_KEY,
};
use super::{SledStore, StoreError};
use crate::merkle::{self, Frontier, Hash};

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Rebuildable from the journal (the index), or never acknowledged (a torn tail).
    Repairable,
    /// Entries the log committed are missing or altered: only a copy can restore them.
    Lost,
}

/// One problem found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub message: String,
}

/// What [`check`] found and did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Entries in the journal's intact records.
    pub entries: u64,
    /// Intact records (batches).
    pub batches: u64,
    pub journal_bytes: u64,
    pub findings: Vec<Finding>,
    /// What `--repair` did, in words.
    pub repaired: Vec<String>,
}

impl Report {
    /// The exit code of `vouch fsck`: 0 clean, 1 problems repaired, 2 repairable
    /// problems left (run with `--repair`), 3 entries lost or damaged.
    pub fn exit_code(&self) -> i32 {
        match self.findings.iter().map(|f| f.severity).max() {
            Some(Severity::Lost) => 3,
            Some(Severity::Repairable) if self.repaired.is_empty() => 2,
            Some(Severity::Repairable) => 1,
            None => 0,
        }
    }
}

/// What the journal says the index must hold.
#[derive(Default)]
struct Expected {
    /// Hashes of every complete subtree, by level.
    levels: Vec<Vec<Hash>>,
    dedup: Vec<Hash>,
    subjects: Vec<(u64, String)>,
    /// (segment key, value) pairs.
    segments: Vec<([u8; 9], Vec<u8>)>,
    checkpoints: Vec<(u64, Vec<u8>)>,
    meta: HashMap<String, Vec<u8>>,
    size: u64,
    end: u64,
    last_record: u64,
}

/// Checks the data directory `dir` and, with `repair`, cuts a torn tail and rebuilds
/// an index that does not match the journal.
///
/// # Errors
/// When the directory cannot be read, or its index is in use by a running server.
pub fn check(dir: &Path, repair: bool) -> Result<Report, StoreError> {
    let lock = lock_dir(dir)?;
    let path = dir.join(JOURNAL);
    let file = File::open(&path)
        .map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", path.display())))?;
    let mut report = Report {
        journal_bytes: file
            .metadata()
            .map_err(|e| StoreError::Backend(format!("cannot stat the journal: {e}")))?
            .len(),
        ..Report::default()
    };
    let (expected, torn) = scan_journal(&file, &mut report)?;
    let lost = |r: &Report| r.findings.iter().any(|f| f.severity == Severity::Lost);
    let damaged = lost(&report);
    let index_ok = check_index(dir, &expected, damaged, &mut report)?;
    // Nothing is repaired while entries are lost: the index may be the only record
    // of them, and a rebuild from a short journal would sign their sizes again.
    if !repair || lost(&report) || (index_ok && !torn) {
        return Ok(report);
    }
    drop(lock);
    if !index_ok {
        let index = dir.join(INDEX);
        if index.exists() {
            std::fs::remove_dir_all(&index).map_err(|e| {
                StoreError::Backend(format!("cannot remove {}: {e}", index.display()))
            })?;
        }
    }
    // Opening cuts a torn tail and rebuilds a missing index, checking every record.
    let store = SledStore::open(dir, &SledOptions::default())?;
    report.repaired.extend(store.recovery().iter().cloned());
    Ok(report)
}

fn scan_journal(file: &File, report: &mut Report) -> Result<(Expected, bool), StoreError> {
    let len = report.journal_bytes;
    let mut ex = Expected::default();
    let mut frontier = Frontier::new();
    let mut offset = 0;
    let read_error =
        |e: std::io::Error| StoreError::Backend(format!("cannot read the journal: {e}"));
    loop {
        let r = match journal::read(file, offset, len).map_err(read_error)? {
            Read::End => return Ok((ex, false)),
            Read::Torn { offset, len } => {
                report.findings.push(Finding {
                    severity: Severity::Repairable,
                    message: format!(
                        "the journal ends with {len} bytes of a batch that was never completed \
                         (at byte {offset}; never acknowledged): repair cuts them"
                    ),
                });
                return Ok((ex, true));
            }
            Read::Damaged { offset, why } => {
                damaged(file, offset, len, frontier.size(), &why, report)?;
                return Ok((ex, false));
            }
            Read::Record(r) => r,
        };
        if r.start != frontier.size() {
            damaged(
                file,
                r.offset,
                len,
                frontier.size(),
                &format!("it starts at index {} instead", r.start),
                report,
            )?;
            return Ok((ex, false));
        }
        for (e, (key, subject)) in r.entries.iter().zip(&r.keys) {
            let index = frontier.size();
            let leaf = merkle::leaf_hash(e);
            frontier.push(leaf, |n, h| {
                let level = usize::from(n.level);
                if ex.levels.len() <= level {
                    ex.levels.resize(level + 1, Vec::new());
                }
                ex.levels[level].push(h);
            });
            ex.dedup.push(*key);
            if let Some(s) = subject {
                ex.subjects.push((index, s.clone()));
            }
        }
        if checkpoint_tree(&r.checkpoint) != Some((frontier.size(), frontier.root())) {
            damaged(
                file,
                r.offset,
                len,
                r.start,
                &format!(
                    "entries {}..{} do not hash to the root of the checkpoint signed with them",
                    r.start,
                    r.new_size()
                ),
                report,
            )?;
            return Ok((ex, false));
        }
        let mut at = r.entries_at;
        for (first, range) in segments(r.start, r.entries.len()) {
            let lens: Vec<usize> = r.entries[range].iter().map(|e| e.len()).collect();
            let value = segment_value(at, &lens);
            at += u64::from_be_bytes(value[8..16].try_into().expect("8 bytes"));
            ex.segments.push((entry_key(first), value));
        }
        ex.checkpoints.push((r.new_size(), r.checkpoint.clone()));
        ex.meta.extend(r.meta.iter().cloned());
        ex.size = r.new_size();
        ex.end = r.end;
        ex.last_record = r.offset;
        report.entries = ex.size;
        report.batches += 1;
        offset = r.end;
    }
}

/// Reports a damaged record and how much of the journal lies beyond it.
fn damaged(
    file: &File,
    offset: u64,
    len: u64,
    from: u64,
    why: &str,
    report: &mut Report,
) -> Result<(), StoreError> {
    let mut message = format!("the journal record at byte {offset} is damaged: {why}");
    let walk = |mut end: u64, mut size: u64| {
        while let Ok(Some((next_end, next_size))) = journal::skip(file, end, len) {
            end = next_end;
            size = next_size;
        }
        size
    };
    if let Ok(Some((end, size))) = journal::skip(file, offset, len) {
        // Its header still reads: it says which entries it held.
        message.push_str(&if size > from {
            format!(". It holds entries {from}..{size}: they are lost or altered")
        } else {
            ". It holds no entries, but the log's metadata or a checkpoint".to_owned()
        });
        let last = walk(end, size);
        if last > size {
            message.push_str(&format!(
                "; the records after it hold entries {size}..{last}, intact but unusable \
                 until it is restored"
            ));
        }
    } else {
        // Look for the next record that still reads, to say what the damage covers,
        // a window at a time.
        let mut next = None;
        let mut window = vec![0u8; 1 << 20];
        let mut at = offset + 1;
        while next.is_none() && at < len {
            let n = usize::try_from((len - at).min(window.len() as u64)).unwrap_or(0);
            std::os::unix::fs::FileExt::read_exact_at(file, &mut window[..n], at)
                .map_err(|e| StoreError::Backend(format!("cannot read the journal: {e}")))?;
            next = window[..n]
                .windows(4)
                .enumerate()
                .filter(|(_, w)| *w == journal::MAGIC)
                .map(|(i, _)| at + i as u64)
                .find_map(|start| match journal::read(file, start, len) {
                    Ok(Read::Record(r)) => Some(r),
                    _ => None,
                });
            // Overlap by three bytes so that no magic is split between windows.
            at += (n as u64).saturating_sub(3).max(1);
        }
        match next {
            Some(r) if r.start > from => message.push_str(&format!(
                ". Entries {from}..{} are lost or altered; the records after them hold entries \
                 {}..{}, intact but unusable until it is restored",
                r.start,
                r.start,
                walk(r.end, r.new_size())
            )),
            Some(r) => message.push_str(&format!(
                ". It held no entries (metadata or a checkpoint); the records after it hold \
                 entries {}..{}, intact but unusable until it is restored",
                r.start,
                walk(r.end, r.new_size())
            )),
            None => message.push_str(&format!(
                ". Entries from index {from} on are lost or altered"
            )),
        }
    }
    message.push_str(". Restore the journal from a backup or mirror (docs/operations.md)");
    report.findings.push(Finding {
        severity: Severity::Lost,
        message,
    });
    Ok(())
}

/// Compares the index with what the journal says; `Ok(true)` when it matches.
fn check_index(
    dir: &Path,
    ex: &Expected,
    journal_damaged: bool,
    report: &mut Report,
) -> Result<bool, StoreError> {
    let index = dir.join(INDEX);
    let mut problem = |message: String| {
        report.findings.push(Finding {
            severity: Severity::Repairable,
            message,
        });
        Ok(false)
    };
    if !index.exists() {
        return problem("the index is missing: repair rebuilds it from the journal".into());
    }
    let db = match open_sled(&index, &SledOptions::default()) {
        Ok(db) => db,
        Err(why) if why.contains("WouldBlock") || why.contains("lock") => {
            return Err(StoreError::Backend(format!(
                "the index is in use ({why}): stop the server first"
            )))
        }
        Err(why) => {
            return problem(format!(
                "the index cannot be opened ({why}): repair rebuilds it"
            ))
        }
    };
    let size = get_u64(&db, TREE_SIZE_KEY)?.unwrap_or(0);
    if journal_damaged {
        // What the index holds beyond the damage is the only trace of those entries.
        if size > ex.size {
            report.findings.push(Finding {
                severity: Severity::Lost,
                message: format!(
                    "the index knows {size} entries, the intact journal {}: keep the index \
                     directory as evidence until the journal is restored",
                    ex.size
                ),
            });
        }
        return Ok(true);
    }
    let end = get_u64(&db, JOURNAL_END_KEY)?.unwrap_or(0);
    if size > ex.size || end > ex.end {
        report.findings.push(Finding {
            severity: Severity::Lost,
            message: format!(
                "the index knows {size} entries (journal up to byte {end}), the journal holds \
                 {} (up to byte {}): entries {}..{size} are lost. Keep the index directory; \
                 restore the journal from a backup or mirror (docs/operations.md)",
                ex.size, ex.end, ex.size
            ),
        });
        return Ok(false);
    }
    if size != ex.size {
        return problem(format!(
            "the index covers {size} of the journal's {} entries: repair rebuilds it (a \
             start replays what it lacks)",
            ex.size
        ));
    }
    let mut wrong = Vec::new();
    if get_u64(&db, JOURNAL_END_KEY)? != Some(ex.end)
        || get_u64(&db, LAST_RECORD_KEY)? != Some(ex.last_record)
    {
        wrong.push("its position in the journal".to_owned());
    }
    for (level, hashes) in ex.levels.iter().enumerate() {
        let level_u8 = u8::try_from(level).expect("tree levels are below 64");
        for (row, chunk) in hashes.chunks(ROW as usize).enumerate() {
            let want: Vec<u8> = chunk.iter().flatten().copied().collect();
            if db.get(row_key(level_u8, row as u64))?.as_deref() != Some(&want[..]) {
                wrong.push(format!("hashes of level {level}, row {row}"));
            }
        }
    }
    for (index, key) in ex.dedup.iter().enumerate() {
        if db.get(dedup_key(key))?.as_deref() != Some(&(index as u64).to_be_bytes()[..]) {
            wrong.push(format!("the duplicate index of entry {index}"));
        }
    }
    // Every entry's row in its subject's chain (leaf hash and place in the chain: the
    // newest is the chain head the supplier index is built from), and every subject's
    // marker.
    let mut counts: HashMap<&str, u64> = HashMap::new();
    for (index, subject) in &ex.subjects {
        let count = counts.entry(subject.as_str()).or_default();
        *count += 1;
        let mut k = subject_prefix(subject)?;
        k.extend_from_slice(&index.to_be_bytes());
        let leaf = &ex.levels[0][*index as usize];
        if db.get(k)?.as_deref() != Some(&subject_value(leaf, *count)[..]) {
            wrong.push(format!("the subject index of entry {index}"));
        }
    }
    for subject in counts.keys() {
        if db.get(head_key(subject))?.as_deref() != Some(&[][..]) {
            wrong.push(format!("the chain head of {subject}"));
        }
    }
    if ex.size > 0 && db.get(VERSION_KEY)?.as_deref() != Some(VERSION) {
        wrong.push("its layout version".to_owned());
    }
    for (key, value) in &ex.segments {
        if db.get(key)?.as_deref() != Some(&value[..]) {
            wrong.push(format!(
                "where entry {} lies",
                u64::from_be_bytes(key[1..].try_into().expect("8"))
            ));
        }
    }
    for (size, signed) in &ex.checkpoints {
        if db.get(checkpoint_key(*size))?.as_deref() != Some(&signed[..]) {
            wrong.push(format!("the checkpoint of size {size}"));
        }
    }
    for (name, value) in &ex.meta {
        if db.get(meta_key(name))?.as_deref() != Some(&value[..]) {
            wrong.push(format!("metadata {name}"));
        }
    }
    let kinds = [
        (b'd', ex.dedup.len()),
        (b's', ex.subjects.len()),
        (b'S', counts.len()),
        (b'e', ex.segments.len()),
        (b'c', ex.checkpoints.len()),
    ];
    for (prefix, want) in kinds {
        let got = db.scan_prefix([prefix]).count();
        if got != want {
            wrong.push(format!(
                "{got} keys of kind '{}' where the journal has {want}",
                prefix as char
            ));
        }
    }
    if wrong.is_empty() {
        return Ok(true);
    }
    let n = wrong.len();
    wrong.truncate(5);
    problem(format!(
        "the index differs from the journal in {n} places ({}{}): repair rebuilds it",
        wrong.join("; "),
        if n > 5 { "; …" } else { "" }
    ))
}
