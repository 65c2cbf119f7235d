//! `vouch backup` of a data directory while the log appends to it, and `vouch restore`,
//! which checks a backup before it becomes a data directory.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use vouch::log::{Log, LogConfig};
use vouch::merkle::Node;
use vouch::statement::Kind;
use vouch::store::{SledOptions, SledStore};

fn open(dir: &Path) -> Log {
    let store = Arc::new(SledStore::open(dir, &SledOptions::default()).unwrap());
    Log::open(store, None, LogConfig::default()).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_backup_taken_under_load_holds_every_entry_acknowledged_before_it_and_restores() {
    let ledger = Ledger::new(1);
    let acked = Arc::new(Mutex::new(Vec::new()));
    let running = Arc::new(AtomicBool::new(true));
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let (log, auditor, acked, running) = (
                ledger.log.clone(),
                ledger.cast.auditor.clone(),
                acked.clone(),
                running.clone(),
            );
            std::thread::spawn(move || {
                let mut i = 0;
                while running.load(Ordering::Relaxed) {
                    let body = sign_statement(
                        &statement(Kind::Metric, FACTORY, &format!("{t}/{i}")),
                        &auditor,
                    );
                    let r = log.submit_blocking(&body).unwrap();
                    acked.lock().unwrap().push((r.index, r.leaf_hash));
                    i += 1;
                }
            })
        })
        .collect();
    // Enough acknowledged to make the check mean something, however slow the machine.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while acked.lock().unwrap().len() < 50 {
        assert!(
            std::time::Instant::now() < deadline,
            "the writers made no progress"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let before: Vec<(u64, [u8; 32])> = acked.lock().unwrap().clone();
    let work = tempfile::TempDir::new().unwrap();
    let backup = work.path().join("backup");
    let out = vouch_cli(&[
        "backup",
        "--data",
        s(ledger.dir.path()),
        "--out",
        s(&backup),
    ]);
    assert!(out.status.success(), "{}", printed(&out));
    running.store(false, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    assert!(
        printed(&out).contains("the copy opens"),
        "{}",
        printed(&out)
    );

    let restored = work.path().join("restored");
    let out = vouch_cli(&["restore", "--from", s(&backup), "--data", s(&restored)]);
    assert!(out.status.success(), "{}", printed(&out));
    let log = open(&restored);
    let size = log.head().size();
    let nodes: Vec<Node> = before.iter().map(|(i, _)| Node::new(0, *i)).collect();
    assert!(before.iter().all(|(i, _)| *i < size));
    let leaves = log.store().hashes(&nodes).unwrap();
    for ((i, leaf), stored) in before.iter().zip(leaves) {
        assert_eq!(*leaf, stored, "entry {i}");
    }
    // The restored log is the live one's prefix: its checkpoint is consistent with it.
    let live = ledger.log.head();
    let proof = ledger
        .log
        .view()
        .consistency_proof(size, live.size())
        .unwrap();
    vouch::merkle::verify_consistency(
        size,
        live.size(),
        &proof,
        log.head().checkpoint.root(),
        live.checkpoint.root(),
    )
    .unwrap();
    assert_eq!(log.registry().unwrap().participants.len(), 7);
}

#[test]
fn restore_refuses_damaged_backups_and_used_directories_and_leaves_them_as_they_were() {
    let ledger = Ledger::new(1);
    for i in 0..20 {
        ledger
            .submit(
                &statement(Kind::Audit, FACTORY, &format!("r{i}")),
                &ledger.cast.auditor,
            )
            .unwrap();
    }
    let work = tempfile::TempDir::new().unwrap();
    let backup = work.path().join("backup");
    assert!(vouch_cli(&[
        "backup",
        "--data",
        s(ledger.dir.path()),
        "--out",
        s(&backup)
    ])
    .status
    .success());

    // A backup into a directory that holds something: refused.
    let used = work.path().join("used");
    std::fs::create_dir(&used).unwrap();
    std::fs::write(used.join("keep"), "mine").unwrap();
    let out = vouch_cli(&["backup", "--data", s(ledger.dir.path()), "--out", s(&used)]);
    assert!(!out.status.success());
    assert!(printed(&out).contains("is not empty"), "{}", printed(&out));
    let out = vouch_cli(&["restore", "--from", s(&backup), "--data", s(&used)]);
    assert!(!out.status.success());
    assert!(printed(&out).contains("is not empty"), "{}", printed(&out));
    assert_eq!(std::fs::read_dir(&used).unwrap().count(), 1);
    assert_eq!(std::fs::read_to_string(used.join("keep")).unwrap(), "mine");

    // A flipped byte in the backup: refused, nothing made.
    let journal = backup.join("journal");
    let mut bytes = std::fs::read(&journal).unwrap();
    let original = bytes.clone();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x40;
    std::fs::write(&journal, &bytes).unwrap();
    let target = work.path().join("from-damaged");
    let out = vouch_cli(&["restore", "--from", s(&backup), "--data", s(&target)]);
    assert!(!out.status.success());
    assert!(printed(&out).contains("damaged"), "{}", printed(&out));
    assert!(!target.exists());

    // A torn tail (a copy made by hand while a batch was being written): refused.
    let mut torn = original.clone();
    torn.extend_from_slice(&original[..40]);
    std::fs::write(&journal, &torn).unwrap();
    let out = vouch_cli(&["restore", "--from", s(&backup), "--data", s(&target)]);
    assert!(!out.status.success());
    assert!(
        printed(&out).contains("not a whole record"),
        "{}",
        printed(&out)
    );
    assert!(!target.exists());

    // The backup as it was made restores.
    std::fs::write(&journal, &original).unwrap();
    let out = vouch_cli(&["restore", "--from", s(&backup), "--data", s(&target)]);
    assert!(out.status.success(), "{}", printed(&out));
    assert_eq!(open(&target).head().size(), ledger.log.head().size());

    let out = vouch_cli(&[
        "backup",
        "--data",
        "postgres://vouch@db/vouch",
        "--out",
        s(&used),
    ]);
    assert!(!out.status.success());
    assert!(printed(&out).contains("pg_basebackup"), "{}", printed(&out));
}

#[test]
fn log_checkpoint_reads_a_served_data_directory_from_its_journal() {
    let ledger = Ledger::new(1);
    ledger
        .submit(
            &statement(Kind::Audit, FACTORY, "served"),
            &ledger.cast.auditor,
        )
        .unwrap();
    // The ledger's process holds the directory, as a server does.
    let out = vouch_cli(&["log", "checkpoint", "--data", s(ledger.dir.path())]);
    assert!(out.status.success(), "{}", printed(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        ledger.log.head().signed
    );
    assert!(
        printed(&out).contains("is in use by a server"),
        "{}",
        printed(&out)
    );

    // A copy held by another process, its newest record changed: refused.
    let work = tempfile::TempDir::new().unwrap();
    let copy = work.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    let mut journal = std::fs::read(ledger.dir.path().join("journal")).unwrap();
    let at = journal.len() - 40;
    journal[at] ^= 1;
    std::fs::write(copy.join("journal"), journal).unwrap();
    let lock = std::fs::File::create(copy.join("lock")).unwrap();
    lock.try_lock().unwrap();
    let out = vouch_cli(&["log", "checkpoint", "--data", s(&copy)]);
    assert!(!out.status.success());
    assert!(printed(&out).contains("damaged"), "{}", printed(&out));
}
