//! Storage faults. A data directory is damaged the ways disks and operators damage
//! them (a flipped byte, a truncation, zeroed blocks, a deleted file or directory) in
//! each of its parts, then opened: the outcome must be a refusal with a message, or a
//! log with every acknowledged entry and no checkpoint that contradicts one the log
//! signed. Never a fork, a silent rollback, destroyed entries, a panic, or a damaged
//! entry served as good. The sequencer's error paths, which every store shares, are in
//! `store_conformance.rs`.

use base64::Engine as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use vouch::log::{Log, LogConfig, LogError, Submission};
use vouch::merkle::{self, Hash};
use vouch::note::{KeyName, Signer};
use vouch::store::{SledOptions, SledStore, Store, StoreError};
use vouch::tiles::{TileKind, TilePath};

fn signer() -> Signer {
    Signer::from_seed(KeyName::new("faults.example/log").unwrap(), [9; 32])
}

fn open_store(dir: &Path) -> Result<SledStore, StoreError> {
    SledStore::open(dir, &SledOptions::default())
}

fn entry(i: usize) -> Vec<u8> {
    format!("entry {i} {}", "x".repeat(i % 300)).into_bytes()
}

/// What the log acknowledged before the damage.
struct Known {
    entries: Vec<Vec<u8>>,
    root: Hash,
}

/// A closed raw log of 700 entries in batches of up to 97.
fn build(dir: &Path) -> Known {
    let store: Arc<dyn Store> = Arc::new(open_store(dir).unwrap());
    Log::create(store.clone(), &signer()).unwrap();
    let log = Log::open(
        store,
        Some(signer()),
        LogConfig {
            max_batch: 97,
            ..LogConfig::default()
        },
    )
    .unwrap();
    let entries: Vec<Vec<u8>> = (0..700).map(entry).collect();
    for chunk in entries.chunks(150) {
        let receipts = log.append_all_blocking(
            chunk
                .iter()
                .map(|e| Submission {
                    entry: e.clone(),
                    subject: None,
                })
                .collect(),
        );
        assert!(receipts.iter().all(Result::is_ok));
    }
    let root = *log.head().checkpoint.root();
    log.close();
    Known { entries, root }
}

#[derive(Clone, Copy, Debug)]
enum Damage {
    Flip(f64),
    Truncate(f64),
    ZeroFirst4k,
    ZeroLast4k,
    Delete,
}

fn damage(path: &Path, how: Damage) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = |f: f64| ((bytes.len().saturating_sub(1)) as f64 * f) as usize;
    match how {
        Damage::Flip(f) => {
            let i = at(f);
            if bytes.is_empty() {
                return;
            }
            bytes[i] ^= 0x40;
        }
        Damage::Truncate(f) => {
            let n = at(f);
            bytes.truncate(n);
        }
        Damage::ZeroFirst4k => {
            let n = bytes.len().min(4096);
            bytes[..n].fill(0);
        }
        Damage::ZeroLast4k => {
            let n = bytes.len().saturating_sub(4096);
            bytes[n..].fill(0);
        }
        Damage::Delete => {
            std::fs::remove_file(path).unwrap();
            return;
        }
    }
    std::fs::write(path, bytes).unwrap();
}

#[derive(Debug, Default)]
struct Outcomes {
    refused: u32,
    repaired: u32,
    served_with_corruption_found: u32,
}

/// Opens a damaged directory and checks the outcome is an allowed one.
fn check(dir: &Path, known: &Known, case: &str, outcomes: &mut Outcomes) {
    check_opened(dir, known, case, outcomes, true);
}

/// [`check`]; with `append`, a log that opened must also take a new entry that extends
/// the same tree.
fn check_opened(dir: &Path, known: &Known, case: &str, outcomes: &mut Outcomes, append: bool) {
    let journal_before = std::fs::read(dir.join("journal")).ok();
    let store = match open_store(dir) {
        Ok(s) => s,
        Err(e) => {
            let message = e.to_string();
            assert!(
                message.len() > 40,
                "{case}: refusal says too little: {message}"
            );
            assert_eq!(
                std::fs::read(dir.join("journal")).ok(),
                journal_before,
                "{case}: a refused open changed the journal"
            );
            outcomes.refused += 1;
            return;
        }
    };
    let store: Arc<dyn Store> = Arc::new(store);
    let log = match Log::open(store.clone(), Some(signer()), LogConfig::default()) {
        Ok(l) => l,
        Err(e) => panic!("{case}: the store opened but the log did not: {e}"),
    };
    let size = known.entries.len() as u64;
    assert_eq!(log.head().size(), size, "{case}: the tree changed size");
    assert_eq!(
        *log.head().checkpoint.root(),
        known.root,
        "{case}: the root changed"
    );
    let mut corrupt = 0;
    for (i, e) in known.entries.iter().enumerate() {
        match log.view().entry(i as u64) {
            Ok(bytes) => assert_eq!(&bytes, e, "{case}: entry {i} served altered"),
            Err(LogError::Store(StoreError::Corrupt(_))) => corrupt += 1,
            Err(other) => panic!("{case}: entry {i}: {other}"),
        }
    }
    // Histories and bundles read many entries at once, with shared proofs: the same
    // verdict as one by one.
    let all: Vec<u64> = (0..size).collect();
    match log.view().proven_entries(&all) {
        Ok(proven) => {
            assert_eq!(
                corrupt, 0,
                "{case}: a batched read served what single reads refused"
            );
            for (i, p) in proven.iter().enumerate() {
                let bytes = vouch::note::BASE64.decode(&p.entry).unwrap();
                assert_eq!(bytes, known.entries[i], "{case}: entry {i} served altered");
            }
        }
        Err(LogError::Store(StoreError::Corrupt(_))) => {
            assert!(corrupt > 0, "{case}: a batched read refused intact entries")
        }
        Err(other) => panic!("{case}: batched read: {other}"),
    }
    for n in 0..=(size / 256) {
        let width = if n < size / 256 {
            256
        } else {
            (size % 256) as u16
        };
        if width == 0 {
            continue;
        }
        let path = TilePath::new(TileKind::Entries, n, width).unwrap();
        match log.view().tile(&path) {
            Ok(bundle) => {
                let want: Vec<&[u8]> = known.entries[(n * 256) as usize..][..usize::from(width)]
                    .iter()
                    .map(Vec::as_slice)
                    .collect();
                assert_eq!(
                    bundle,
                    vouch::tiles::encode_bundle(&want).unwrap(),
                    "{case}: {path}"
                );
            }
            Err(LogError::Store(StoreError::Corrupt(_))) => corrupt += 1,
            Err(other) => panic!("{case}: {path}: {other}"),
        }
    }
    if corrupt > 0 {
        let stopped = log.stopped().expect("corruption stops appends");
        assert!(stopped.until_restart, "{case}");
        assert!(log.stats().corruptions > 0);
        outcomes.served_with_corruption_found += 1;
        return;
    }
    if !append {
        outcomes.repaired += 1;
        return;
    }
    // Appends continue the same tree.
    let r = log
        .append_blocking(Submission {
            entry: b"after the damage".to_vec(),
            subject: None,
        })
        .unwrap_or_else(|e| panic!("{case}: append after repair: {e}"));
    assert_eq!(r.index, size, "{case}: an index was reused");
    let proof = log.view().consistency_proof(size, size + 1).unwrap();
    merkle::verify_consistency(
        size,
        size + 1,
        &proof,
        &known.root,
        r.head.checkpoint.root(),
    )
    .unwrap_or_else(|e| panic!("{case}: the new tree does not extend the old: {e}"));
    outcomes.repaired += 1;
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(files_under(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out.sort();
    out
}

#[test]
fn damaged_data_directories_are_refused_or_repaired_never_forked() {
    let pristine = tempfile::TempDir::new().unwrap();
    let known = build(pristine.path());
    let mut cases: Vec<(String, Damage)> = Vec::new();
    let mut parts = vec!["journal".to_owned()];
    for f in files_under(&pristine.path().join("index")) {
        parts.push(
            f.strip_prefix(pristine.path())
                .unwrap()
                .display()
                .to_string(),
        );
    }
    for part in &parts {
        let mut damages = vec![
            Damage::Truncate(0.0),
            Damage::Truncate(0.5),
            Damage::Truncate(0.999),
            Damage::ZeroFirst4k,
            Damage::ZeroLast4k,
            Damage::Delete,
        ];
        for i in 0..=20 {
            damages.push(Damage::Flip(f64::from(i) / 20.0));
        }
        cases.extend(damages.into_iter().map(|d| (part.clone(), d)));
    }
    let mut outcomes = Outcomes::default();
    for (part, how) in &cases {
        let dir = tempfile::TempDir::new().unwrap();
        copy_dir(pristine.path(), dir.path());
        damage(&dir.path().join(part), *how);
        check(
            dir.path(),
            &known,
            &format!("{part} {how:?}"),
            &mut outcomes,
        );
    }
    // The index directory as a whole.
    let dir = tempfile::TempDir::new().unwrap();
    copy_dir(pristine.path(), dir.path());
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();
    check(dir.path(), &known, "index deleted", &mut outcomes);
    eprintln!("{} cases: {outcomes:?}", cases.len() + 1);
    assert!(outcomes.refused > 0 && outcomes.repaired > 0);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn a_lost_index_is_rebuilt_and_a_lost_journal_refused() {
    let dir = tempfile::TempDir::new().unwrap();
    let known = build(dir.path());
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();
    let store = open_store(dir.path()).unwrap();
    assert!(
        store
            .recovery()
            .iter()
            .any(|n| n.contains("rebuilt the index")),
        "{:?}",
        store.recovery()
    );
    drop(store);
    let mut outcomes = Outcomes::default();
    check(dir.path(), &known, "rebuilt", &mut outcomes);
    assert_eq!(outcomes.repaired, 1);

    std::fs::remove_file(dir.path().join("journal")).unwrap();
    let e = open_store(dir.path()).unwrap_err().to_string();
    assert!(e.contains("entries 0..701 are lost"), "{e}");
}

#[test]
fn a_torn_last_batch_is_cut_and_nothing_acknowledged_is() {
    let dir = tempfile::TempDir::new().unwrap();
    let known = build(dir.path());
    // A batch that was being written when the machine stopped: half a record past the
    // end that the index (flushed at close) does not cover.
    let mut journal = std::fs::read(dir.path().join("journal")).unwrap();
    let len = journal.len();
    let head = journal[..200].to_vec();
    journal.extend_from_slice(&head);
    std::fs::write(dir.path().join("journal"), &journal).unwrap();
    let store = open_store(dir.path()).unwrap();
    assert!(
        store.recovery().iter().any(|n| n.contains("cut 200 bytes")),
        "{:?}",
        store.recovery()
    );
    drop(store);
    assert_eq!(
        std::fs::metadata(dir.path().join("journal")).unwrap().len() as usize,
        len
    );
    let mut outcomes = Outcomes::default();
    check(dir.path(), &known, "torn tail", &mut outcomes);
    assert_eq!(outcomes.repaired, 1);
}

#[test]
fn an_index_behind_the_journal_catches_up() {
    let dir = tempfile::TempDir::new().unwrap();
    let early_index = tempfile::TempDir::new().unwrap();
    let append = |entries: &[Vec<u8>]| {
        let store: Arc<dyn Store> = Arc::new(open_store(dir.path()).unwrap());
        if !Log::exists(store.as_ref()).unwrap() {
            Log::create(store.clone(), &signer()).unwrap();
        }
        let log = Log::open(store, Some(signer()), LogConfig::default()).unwrap();
        for e in entries {
            log.append_blocking(Submission {
                entry: e.clone(),
                subject: None,
            })
            .unwrap();
        }
        log.close();
        *log.head().checkpoint.root()
    };
    let entries: Vec<Vec<u8>> = (0..60).map(entry).collect();
    append(&entries[..20]);
    // The index as it was then: as if sled lost every flush after it.
    copy_dir(&dir.path().join("index"), early_index.path());
    let root = append(&entries[20..]);
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();
    copy_dir(early_index.path(), &dir.path().join("index"));
    let store = open_store(dir.path()).unwrap();
    assert!(
        store
            .recovery()
            .iter()
            .any(|n| n.contains("replayed 40 batches (entries 20..60)")),
        "{:?}",
        store.recovery()
    );
    drop(store);
    let mut outcomes = Outcomes::default();
    check(
        dir.path(),
        &Known { entries, root },
        "caught up",
        &mut outcomes,
    );
    assert_eq!(outcomes.repaired, 1);
}

fn append(log: &Log, i: usize) -> Result<vouch::log::Receipt, LogError> {
    log.append_blocking(Submission {
        entry: entry(i),
        subject: None,
    })
}

/// A writable raw log of `n` entries in a new directory.
fn running_log(n: usize) -> (tempfile::TempDir, Log) {
    let dir = tempfile::TempDir::new().unwrap();
    let store: Arc<dyn Store> = Arc::new(open_store(dir.path()).unwrap());
    Log::create(store.clone(), &signer()).unwrap();
    let log = Log::open(store, Some(signer()), LogConfig::default()).unwrap();
    for i in 0..n {
        append(&log, i).unwrap();
    }
    (dir, log)
}

/// Changes the journal's bytes around entry `i` (`at` is where its bytes start).
fn edit_journal_at_entry(dir: &Path, i: usize, edit: impl FnOnce(&mut Vec<u8>, usize)) {
    let target = entry(i);
    let path = dir.join("journal");
    let mut journal = std::fs::read(&path).unwrap();
    let at = journal
        .windows(target.len())
        .position(|w| w == target.as_slice())
        .unwrap();
    edit(&mut journal, at);
    std::fs::write(&path, &journal).unwrap();
}

#[test]
fn bytes_changed_under_a_running_log_are_never_served() {
    let (dir, log) = running_log(300);
    edit_journal_at_entry(dir.path(), 42, |journal, at| journal[at + 3] ^= 1);

    assert_eq!(log.view().entry(41).unwrap(), entry(41));
    let e = log.view().entry(42).unwrap_err();
    assert!(matches!(e, LogError::Store(StoreError::Corrupt(_))), "{e}");
    let tile = TilePath::new(TileKind::Entries, 0, 256).unwrap();
    assert!(matches!(
        log.view().tile(&tile),
        Err(LogError::Store(StoreError::Corrupt(_)))
    ));
    let stopped = log.stopped().unwrap();
    assert!(
        stopped.until_restart && stopped.reason.contains("entry 42"),
        "{stopped:?}"
    );
    assert!(matches!(append(&log, 1000), Err(LogError::Unavailable(_))));
    assert_eq!(log.stats().corruptions, 2);
}

const STARTUP_CHILD_ENV: &str = "VOUCH_STARTUP_CHILD_DIR";

/// Kills a process again and again while it opens a store (sled recovers its log and
/// writes a snapshot; sometimes the index is missing and being rebuilt), then opens it
/// here: it always opens, with every entry.
#[test]
fn kills_during_start_up_never_keep_the_log_from_opening() {
    if let Ok(dir) = std::env::var(STARTUP_CHILD_ENV) {
        loop {
            let store = open_store(Path::new(&dir)).unwrap();
            drop(store);
        }
    }
    let dir = tempfile::TempDir::new().unwrap();
    let known = build(dir.path());
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let cycles = 24;
    let mut rebuilt = 0;
    for cycle in 0..cycles {
        if cycle % 3 == 0 {
            std::fs::remove_dir_all(dir.path().join("index")).ok();
        }
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "kills_during_start_up_never_keep_the_log_from_opening",
                "--exact",
                "--test-threads=1",
            ])
            .env(STARTUP_CHILD_ENV, dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(5 + next() % 120));
        child.kill().unwrap();
        child.wait().unwrap();
        let store = open_store(dir.path())
            .unwrap_or_else(|e| panic!("cycle {cycle}: the store does not open: {e}"));
        rebuilt += u32::from(store.recovery().iter().any(|n| n.contains("rebuilt")));
        drop(store);
        let mut outcomes = Outcomes::default();
        check_opened(
            dir.path(),
            &known,
            &format!("cycle {cycle}"),
            &mut outcomes,
            false,
        );
        assert_eq!(outcomes.repaired, 1, "cycle {cycle}");
    }
    eprintln!("{cycles} kills during start-up, {rebuilt} reopens rebuilt the index");
}

#[test]
fn an_index_pointing_into_the_middle_of_a_record_is_rebuilt_not_blamed_on_the_journal() {
    let dir = tempfile::TempDir::new().unwrap();
    let known = build(dir.path());
    {
        let db = sled::open(dir.path().join("index")).unwrap();
        let g = u64::from_be_bytes(db.get(b"g").unwrap().unwrap().as_ref().try_into().unwrap());
        db.insert(b"g", &(g - 7).to_be_bytes()).unwrap();
        db.flush().unwrap();
    }
    let store = open_store(dir.path()).unwrap();
    assert!(
        store
            .recovery()
            .iter()
            .any(|n| n.contains("rebuilt the index")),
        "{:?}",
        store.recovery()
    );
    drop(store);
    let mut outcomes = Outcomes::default();
    check(
        dir.path(),
        &known,
        "index with a wrong position",
        &mut outcomes,
    );
    assert_eq!(outcomes.repaired, 1);
}

#[test]
fn a_damaged_length_prefix_is_corruption_not_a_500() {
    let (dir, log) = running_log(10);
    // Make the u16 length in front of entry 5 claim more bytes than the segment has.
    edit_journal_at_entry(dir.path(), 5, |journal, at| journal[at - 2] = 0xff);
    let tile = TilePath::new(TileKind::Entries, 0, 10).unwrap();
    let e = log.view().tile(&tile).unwrap_err();
    assert!(matches!(e, LogError::Store(StoreError::Corrupt(_))), "{e}");
    assert!(log.stopped().is_some_and(|s| s.until_restart));
    assert_eq!(log.stats().corruptions, 1);
}

#[test]
fn a_second_process_cannot_open_a_data_directory_in_use() {
    let dir = tempfile::TempDir::new().unwrap();
    build(dir.path());
    let first = open_store(dir.path()).unwrap();
    let e = open_store(dir.path()).unwrap_err().to_string();
    assert!(e.contains("in use by another vouch process"), "{e}");
    let e = vouch::store::fsck::check(dir.path(), true)
        .unwrap_err()
        .to_string();
    assert!(e.contains("in use"), "{e}");
    drop(first);
    open_store(dir.path()).unwrap();
}

#[test]
fn fsck_never_repairs_away_entries_the_index_still_knows() {
    let dir = tempfile::TempDir::new().unwrap();
    build(dir.path());
    // An older copy of the journal put back (as from a stale backup): cut at a record
    // boundary, so the journal alone looks whole.
    let path = dir.path().join("journal");
    let file = std::fs::File::open(&path).unwrap();
    let len = file.metadata().unwrap().len();
    let (mut at, mut boundaries) = (0, Vec::new());
    while let Some((end, _)) = vouch::store::journal::skip(&file, at, len).unwrap() {
        boundaries.push(end);
        at = end;
    }
    let cut = boundaries[boundaries.len() / 2];
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..cut as usize]).unwrap();
    for repair in [false, true] {
        let report = vouch::store::fsck::check(dir.path(), repair).unwrap();
        assert_eq!(report.exit_code(), 3, "{:?}", report.findings);
        assert!(report.repaired.is_empty());
    }
    assert!(dir.path().join("index").exists(), "the evidence is kept");
    let e = open_store(dir.path()).unwrap_err().to_string();
    assert!(e.contains("are lost"), "{e}");
}

#[test]
fn a_missing_journal_beside_an_unreadable_index_is_refused() {
    let dir = tempfile::TempDir::new().unwrap();
    build(dir.path());
    std::fs::remove_file(dir.path().join("journal")).unwrap();
    damage(&dir.path().join("index/db"), Damage::ZeroFirst4k);
    let e = open_store(dir.path()).unwrap_err().to_string();
    assert!(e.contains("the journal is missing"), "{e}");
    assert!(
        !dir.path().join("journal").exists(),
        "no empty journal is made"
    );
}

#[test]
fn a_damaged_duplicate_index_hands_out_no_one_elses_receipt() {
    let dir = tempfile::TempDir::new().unwrap();
    build(dir.path());
    {
        // Point the duplicate key of entry 3 at entry 5.
        let db = sled::open(dir.path().join("index")).unwrap();
        let mut key = vec![b'd'];
        key.extend_from_slice(&merkle::leaf_hash(&entry(3)));
        db.insert(key, &5u64.to_be_bytes()).unwrap();
        db.flush().unwrap();
    }
    let log = Log::open(
        Arc::new(open_store(dir.path()).unwrap()),
        Some(signer()),
        LogConfig::default(),
    )
    .unwrap();
    let e = append(&log, 3).unwrap_err();
    assert!(
        matches!(&e, LogError::Unavailable(why) if why.contains("duplicate index")),
        "{e}"
    );
    assert!(log.stopped().is_some_and(|s| s.until_restart));
}

#[test]
fn a_tampered_stored_checkpoint_is_not_served() {
    let dir = tempfile::TempDir::new().unwrap();
    build(dir.path());
    let size = {
        let db = sled::open(dir.path().join("index")).unwrap();
        let (k, v) = db.scan_prefix(b"c").next().unwrap().unwrap();
        let mut v = v.to_vec();
        let n = v.len();
        v[n - 5] ^= 1;
        db.insert(&k, v).unwrap();
        db.flush().unwrap();
        u64::from_be_bytes(k[1..].try_into().unwrap())
    };
    let log = Log::open(
        Arc::new(open_store(dir.path()).unwrap()),
        None,
        LogConfig::default(),
    )
    .unwrap();
    let e = log.view().checkpoint_at(size).unwrap_err();
    assert!(matches!(e, LogError::Store(StoreError::Corrupt(_))), "{e}");
}

#[test]
fn a_damaged_chain_head_is_found_by_fsck_and_repaired() {
    let dir = tempfile::TempDir::new().unwrap();
    let root = {
        let store: Arc<dyn Store> = Arc::new(open_store(dir.path()).unwrap());
        Log::create(store.clone(), &signer()).unwrap();
        let log = Log::open(store, Some(signer()), LogConfig::default()).unwrap();
        for i in 0..20 {
            log.append_blocking(Submission {
                entry: entry(i),
                subject: Some(format!("s{}", i % 3)),
            })
            .unwrap();
        }
        let root = vouch::index::root_of(&log.head().checkpoint).unwrap();
        log.close();
        root
    };
    {
        // The chain head of s1 (its newest row, entry 19) says one entry fewer.
        let db = sled::open(dir.path().join("index")).unwrap();
        let mut key = b"s\x02s1".to_vec();
        key.extend_from_slice(&19u64.to_be_bytes());
        let mut v = db.get(&key).unwrap().unwrap().to_vec();
        assert_eq!(v.len(), 40, "leaf hash, then place in the chain");
        v[39] -= 1;
        db.insert(&key, v).unwrap();
        db.flush().unwrap();
    }
    let e = Log::open(
        Arc::new(open_store(dir.path()).unwrap()),
        Some(signer()),
        LogConfig::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("fsck --repair"), "{e}");
    let report = vouch::store::fsck::check(dir.path(), false).unwrap();
    assert_eq!(report.exit_code(), 2, "{report:?}");
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.message.contains("the subject index of entry 19")),
        "{report:?}"
    );
    assert_eq!(
        vouch::store::fsck::check(dir.path(), true)
            .unwrap()
            .exit_code(),
        1
    );
    let log = Log::open(
        Arc::new(open_store(dir.path()).unwrap()),
        Some(signer()),
        LogConfig::default(),
    )
    .unwrap();
    assert_eq!(log.head().index.root(), root);
}
