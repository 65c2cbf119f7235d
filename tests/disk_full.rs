//! A real full disk: a log on a small tmpfs appends until the file system is full. The
//! batch that does not fit is refused and leaves nothing behind, `stopped` says why,
//! and once space is freed the log takes writes again by itself, with every
//! acknowledged entry intact, in the same process and after a reopen.
//!
//! Mounting needs root (CI runs as root); elsewhere the test says so and passes.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vouch::log::{Log, LogConfig, LogError, Submission};
use vouch::note::{KeyName, Signer};
use vouch::store::{SledOptions, SledStore, Store};

struct Mount(tempfile::TempDir);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

fn mount_tmpfs(size: &str) -> Option<Mount> {
    let dir = tempfile::TempDir::new().unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir.path())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(Mount(dir))
}

fn entry(i: u64) -> Vec<u8> {
    format!("{i:08} {}", "d".repeat(2000)).into_bytes()
}

fn open(dir: &Path) -> Arc<dyn Store> {
    Arc::new(SledStore::open(dir, &SledOptions::default()).unwrap())
}

#[test]
fn a_full_disk_refuses_a_batch_and_writes_resume_once_space_is_freed() {
    let Some(mount) = mount_tmpfs("8m") else {
        eprintln!("cannot mount a tmpfs here (not root): disk-full test not run");
        return;
    };
    let data = mount.0.path().join("data");
    let filler = mount.0.path().join("filler");
    std::fs::write(&filler, vec![1u8; 2 << 20]).unwrap();
    let signer = Signer::from_seed(KeyName::new("full.example/log").unwrap(), [3; 32]);
    let store = open(&data);
    Log::create(store.clone(), &signer).unwrap();
    let log = Log::open(store, Some(signer.clone()), LogConfig::default()).unwrap();
    let mut acked = Vec::new();
    let error = loop {
        let i = acked.len() as u64;
        match log.append_blocking(Submission {
            entry: entry(i),
            subject: None,
        }) {
            Ok(r) => {
                assert_eq!(r.index, i);
                acked.push(r.leaf_hash);
            }
            Err(e) => break e,
        }
        assert!(acked.len() < 100_000, "the disk never filled");
    };
    assert!(
        matches!(&error, LogError::Unavailable(why) if why.contains("No space")),
        "{error}"
    );
    let stopped = log.stopped().expect("the log says it takes no writes");
    assert!(!stopped.until_restart, "{stopped:?}");
    assert!(matches!(
        log.append_blocking(Submission {
            entry: entry(0),
            subject: None
        }),
        Err(LogError::Unavailable(_))
    ));
    let size = acked.len() as u64;
    assert_eq!(log.head().size(), size);

    std::fs::remove_file(&filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while log.stopped().is_some() {
        assert!(
            Instant::now() < deadline,
            "writes did not resume: {:?}",
            log.stopped()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The batch that hit the full disk was refused; if its record had reached the
    // journal before the index failed, the log kept it (it is signed and durable) and
    // reloaded: either way no index is reused or skipped.
    let kept = log.head().size() - size;
    assert!(kept <= 1, "{kept}");
    if kept == 1 {
        assert_eq!(log.view().entry(size).unwrap(), entry(size));
    }
    let r = log
        .append_blocking(Submission {
            entry: entry(size + 1),
            subject: None,
        })
        .unwrap();
    assert_eq!(r.index, size + kept, "no index was skipped or reused");
    for (i, leaf) in acked.iter().enumerate() {
        assert_eq!(log.view().leaf_hash(i as u64).unwrap(), *leaf);
    }
    log.close();
    drop(log);
    let log = Log::open(open(&data), None, LogConfig::default()).unwrap();
    assert_eq!(log.head().size(), size + kept + 1);
    for (i, leaf) in acked.iter().enumerate() {
        assert_eq!(
            vouch::merkle::leaf_hash(&log.view().entry(i as u64).unwrap()),
            *leaf
        );
    }
    eprintln!("{size} entries filled the disk; writes resumed after freeing space");
}
