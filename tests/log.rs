//! The log over a real sled directory: appends, group commit, duplicates, proofs
//! against signed checkpoints, tiles, reopening.

use std::sync::Arc;
use std::time::Duration;

use tempfile::TempDir;
use vouch::log::{Log, LogConfig, LogError, Submission};
use vouch::merkle::{self, Node};
use vouch::note::{Checkpoint, KeyName, Signer};
use vouch::store::{SledOptions, SledStore, Store};
use vouch::tiles::{self, TilePath};

fn signer() -> Signer {
    Signer::from_seed(KeyName::new("test.example/log").unwrap(), [3; 32])
}

fn open_store(dir: &TempDir) -> Arc<dyn Store> {
    Arc::new(SledStore::open(dir.path(), &SledOptions::default()).unwrap())
}

fn new_log(dir: &TempDir, config: LogConfig) -> Log {
    let store = open_store(dir);
    Log::create(store.clone(), &signer()).unwrap();
    Log::open(store, Some(signer()), config).unwrap()
}

fn raw(entry: impl Into<Vec<u8>>) -> Submission {
    Submission {
        entry: entry.into(),
        subject: None,
    }
}

#[test]
fn a_new_log_has_a_signed_empty_checkpoint() {
    let dir = TempDir::new().unwrap();
    let log = new_log(&dir, LogConfig::default());
    let head = log.head();
    let (cp, _) = Checkpoint::open(head.signed.as_bytes(), signer().verifier()).unwrap();
    assert_eq!(cp.size(), 0);
    assert_eq!(*cp.root(), merkle::empty_root());
    assert_eq!(cp.origin(), "test.example/log");
}

#[test]
fn appended_entries_are_proven_by_their_receipts_checkpoint() {
    let dir = TempDir::new().unwrap();
    let log = new_log(&dir, LogConfig::default());
    for i in 0..20u32 {
        let entry = format!("entry {i}").into_bytes();
        let r = log.append_blocking(raw(entry.clone())).unwrap();
        assert_eq!(r.index, u64::from(i));
        assert!(!r.duplicate);
        assert_eq!(r.leaf_hash, merkle::leaf_hash(&entry));
        let (cp, _) = Checkpoint::open(r.head.signed.as_bytes(), signer().verifier()).unwrap();
        let proof = log.view().inclusion_proof(r.index, cp.size()).unwrap();
        merkle::verify_inclusion(&r.leaf_hash, r.index, cp.size(), &proof, cp.root()).unwrap();
        assert_eq!(log.view().entry(r.index).unwrap(), entry);
        // Every checkpoint the log signed stays available.
        assert_eq!(
            log.view().checkpoint_at(cp.size()).unwrap().unwrap(),
            r.head.signed
        );
    }
    assert_eq!(log.head().size(), 20);
    assert_eq!(
        log.view().entry(20).unwrap_err(),
        LogError::IndexOutOfRange {
            index: 20,
            size: 20
        }
    );
    assert_eq!(
        log.view().inclusion_proof(0, 21).unwrap_err(),
        LogError::SizeOutOfRange {
            size: 21,
            tree_size: 20
        }
    );
    assert_eq!(
        log.view().consistency_proof(5, 4).unwrap_err(),
        LogError::SizesReversed { old: 5, new: 4 }
    );
}

#[test]
fn the_same_entry_twice_is_stored_once() {
    let dir = TempDir::new().unwrap();
    let log = new_log(&dir, LogConfig::default());
    let a = log.append_blocking(raw("same")).unwrap();
    log.append_blocking(raw("other")).unwrap();
    let b = log.append_blocking(raw("same")).unwrap();
    assert_eq!((a.index, a.leaf_hash), (b.index, b.leaf_hash));
    assert!(!a.duplicate && b.duplicate);
    assert_eq!(log.head().size(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_share_batches_and_all_verify() {
    let dir = TempDir::new().unwrap();
    let log = Arc::new(new_log(
        &dir,
        LogConfig {
            max_batch: 64,
            max_wait: Duration::from_millis(5),
        },
    ));
    let mut tasks = Vec::new();
    for t in 0..32u32 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for i in 0..20u32 {
                // Each task also submits one entry another task submits: duplicates
                // across concurrent batches.
                let entry = if i == 0 {
                    "shared".to_string()
                } else {
                    format!("{t}/{i}")
                };
                out.push(log.append(raw(entry)).await.unwrap());
            }
            out
        }));
    }
    let mut receipts = Vec::new();
    for t in tasks {
        receipts.extend(t.await.unwrap());
    }
    let size = log.head().size();
    assert_eq!(size, 32 * 19 + 1);
    let mut indexes: Vec<u64> = receipts
        .iter()
        .filter(|r| !r.duplicate)
        .map(|r| r.index)
        .collect();
    indexes.sort_unstable();
    assert_eq!(indexes, (0..size).collect::<Vec<_>>());
    let mut sizes: Vec<u64> = receipts.iter().map(|r| r.head.checkpoint.size()).collect();
    sizes.sort_unstable();
    sizes.dedup();
    assert!(
        sizes.len() < receipts.len(),
        "group commit signs fewer checkpoints than appends"
    );
    let root = log.view().root(size).unwrap();
    for r in &receipts {
        let cp = &r.head.checkpoint;
        assert!(cp.size() > r.index);
        let proof = log.view().inclusion_proof(r.index, cp.size()).unwrap();
        merkle::verify_inclusion(&r.leaf_hash, r.index, cp.size(), &proof, cp.root()).unwrap();
        let c = log.view().consistency_proof(cp.size(), size).unwrap();
        merkle::verify_consistency(cp.size(), size, &c, cp.root(), &root).unwrap();
    }
}

#[test]
fn reopening_keeps_the_tree_and_continues_it() {
    let dir = TempDir::new().unwrap();
    let before = {
        let log = new_log(&dir, LogConfig::default());
        for i in 0..300u32 {
            log.append_blocking(raw(i.to_be_bytes().to_vec())).unwrap();
        }
        log.head()
    };
    let log = Log::open(open_store(&dir), Some(signer()), LogConfig::default()).unwrap();
    assert_eq!(log.head(), before);
    let r = log.append_blocking(raw("after reopen")).unwrap();
    assert_eq!(r.index, 300);
    let proof = log.view().consistency_proof(300, 301).unwrap();
    merkle::verify_consistency(
        300,
        301,
        &proof,
        before.checkpoint.root(),
        r.head.checkpoint.root(),
    )
    .unwrap();
    // Duplicates are found across reopening too.
    assert!(
        log.append_blocking(raw(7u32.to_be_bytes().to_vec()))
            .unwrap()
            .duplicate
    );
}

#[test]
fn opening_with_another_key_or_creating_twice_is_refused() {
    let dir = TempDir::new().unwrap();
    drop(new_log(&dir, LogConfig::default()));
    let store = open_store(&dir);
    let other = Signer::from_seed(KeyName::new("test.example/log").unwrap(), [4; 32]);
    assert!(matches!(
        Log::open(store.clone(), Some(other), LogConfig::default()),
        Err(LogError::WrongKey { .. })
    ));
    assert_eq!(
        Log::create(store.clone(), &signer()).unwrap_err(),
        LogError::AlreadyInitialised
    );
    let empty = TempDir::new().unwrap();
    assert_eq!(
        Log::open(open_store(&empty), None, LogConfig::default()).unwrap_err(),
        LogError::NotInitialised
    );
}

#[test]
fn a_read_only_log_cannot_append() {
    let dir = TempDir::new().unwrap();
    drop(new_log(&dir, LogConfig::default()));
    let log = Log::open(open_store(&dir), None, LogConfig::default()).unwrap();
    assert_eq!(
        log.append_blocking(raw("x")).unwrap_err(),
        LogError::ReadOnly
    );
}

#[test]
fn tiles_hold_the_trees_hashes_and_entries() {
    let dir = TempDir::new().unwrap();
    let log = new_log(&dir, LogConfig::default());
    let entries: Vec<Vec<u8>> = (0..300u32)
        .map(|i| format!("entry {i}").into_bytes())
        .collect();
    std::thread::scope(|s| {
        for chunk in entries.chunks(30) {
            let log = &log;
            s.spawn(move || {
                for e in chunk {
                    log.append_blocking(raw(e.clone())).unwrap();
                }
            });
        }
    });
    let size = log.head().size();
    assert_eq!(size, 300);
    let ordered: Vec<Vec<u8>> = (0..size).map(|i| log.view().entry(i).unwrap()).collect();

    let full = log
        .view()
        .tile(&TilePath::parse("tile/0/000").unwrap())
        .unwrap();
    let hashes = tiles::parse_hash_tile(&full).unwrap();
    assert_eq!(hashes.len(), 256);
    for (i, h) in hashes.iter().enumerate() {
        assert_eq!(*h, merkle::leaf_hash(&ordered[i]));
    }
    let partial = log
        .view()
        .tile(&TilePath::parse("tile/0/001.p/44").unwrap())
        .unwrap();
    assert_eq!(partial.len(), 44 * 32);
    let level1 = log
        .view()
        .tile(&TilePath::parse("tile/1/000.p/1").unwrap())
        .unwrap();
    assert_eq!(level1, log.view().root(256).unwrap().to_vec());

    let bundle = log
        .view()
        .tile(&TilePath::parse("tile/entries/001.p/44").unwrap())
        .unwrap();
    let decoded = tiles::decode_bundle(&bundle, 44).unwrap();
    assert_eq!(
        decoded,
        ordered[256..].iter().map(Vec::as_slice).collect::<Vec<_>>()
    );

    // Narrower partial tiles stay readable for clients at older checkpoints.
    let narrower = log
        .view()
        .tile(&TilePath::parse("tile/0/001.p/43").unwrap())
        .unwrap();
    assert_eq!(narrower, partial[..43 * 32]);
    for missing in [
        "tile/0/001",
        "tile/0/001.p/45",
        "tile/0/002.p/1",
        "tile/1/000",
        "tile/entries/001.p/45",
    ] {
        assert!(
            matches!(
                log.view().tile(&TilePath::parse(missing).unwrap()),
                Err(LogError::TileNotFound(_))
            ),
            "{missing}"
        );
    }
}

#[test]
fn entries_are_indexed_by_subject() {
    let dir = TempDir::new().unwrap();
    let log = new_log(&dir, LogConfig::default());
    for i in 0..10u32 {
        let subject = if i % 2 == 0 {
            "VN2019303BQ3FZ9"
        } else {
            "VN2024164XQ3F74"
        };
        log.append_blocking(Submission {
            entry: format!("e{i}").into_bytes(),
            subject: Some(subject.into()),
        })
        .unwrap();
    }
    let even = log
        .view()
        .subject_entries("VN2019303BQ3FZ9", 0, 100)
        .unwrap();
    assert_eq!(
        even.iter().map(|e| e.0).collect::<Vec<_>>(),
        vec![0, 2, 4, 6, 8]
    );
    assert_eq!(even[1].1, log.view().leaf_hash(2).unwrap());
    let page = log.view().subject_entries("VN2024164XQ3F74", 4, 2).unwrap();
    assert_eq!(page.iter().map(|e| e.0).collect::<Vec<_>>(), vec![5, 7]);
    let head = log
        .store()
        .subject_head("VN2024164XQ3F74")
        .unwrap()
        .unwrap();
    assert_eq!((head.count, head.newest_index), (5, 9));
    assert_eq!(head.newest_leaf_hash, log.view().leaf_hash(9).unwrap());
    let newest_first = log
        .store()
        .subject_entries_before("VN2024164XQ3F74", 9, 3)
        .unwrap();
    assert_eq!(
        newest_first.iter().map(|e| e.0).collect::<Vec<_>>(),
        vec![7, 5, 3]
    );
    // The index the checkpoint commits to holds both subjects.
    let index = &log.head().index;
    assert_eq!(index.len(), 2);
    assert_eq!(index.get(&vouch::index::key("VN2024164XQ3F74")), Some(head));
    assert_eq!(
        vouch::index::root_of(&log.head().checkpoint),
        Some(index.root())
    );
    assert_eq!(
        log.store().hashes(&[Node::new(0, 9)]).unwrap()[0],
        log.view().leaf_hash(9).unwrap()
    );
}

#[test]
fn a_view_stays_on_the_head_it_pinned_while_the_log_grows() {
    let dir = TempDir::new().unwrap();
    let log = new_log(&dir, LogConfig::default());
    for i in 0..5u32 {
        log.append_blocking(raw(format!("early {i}"))).unwrap();
    }
    let view = log.view();
    let pinned = view.head().clone();
    let later = log.append_blocking(raw("later")).unwrap();
    assert_eq!(later.index, 5);
    // The view still answers for the tree of 5 entries: its checkpoint, its proofs.
    assert_eq!(view.size(), 5);
    assert_eq!(
        view.checkpoint_at(5).unwrap().as_deref(),
        Some(pinned.signed.as_str())
    );
    assert_eq!(view.checkpoint_at(6).unwrap(), None);
    assert!(matches!(
        view.entry(5),
        Err(LogError::IndexOutOfRange { index: 5, size: 5 })
    ));
    assert!(matches!(
        view.inclusion_proof(0, 6),
        Err(LogError::SizeOutOfRange {
            size: 6,
            tree_size: 5
        })
    ));
    let proof = view.inclusion_proof(4, 5).unwrap();
    merkle::verify_inclusion(
        &merkle::leaf_hash(b"early 4"),
        4,
        5,
        &proof,
        pinned.checkpoint.root(),
    )
    .unwrap();
    // A new view sees the new head; an old one can be taken again by its size.
    assert_eq!(log.view().size(), 6);
    assert_eq!(log.view_at(5).unwrap().head().signed, pinned.signed);
    assert!(matches!(
        log.view_at(7),
        Err(LogError::SizeOutOfRange { .. })
    ));
}

#[test]
fn a_raw_log_refuses_envelopes() {
    let dir = TempDir::new().unwrap();
    let log = new_log(&dir, LogConfig::default());
    assert!(matches!(
        log.submit_blocking(b"{}"),
        Err(LogError::NotALedger)
    ));
    assert_eq!(log.head().size(), 0);
}
