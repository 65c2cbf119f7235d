//! The [`Store`] contract, one suite for every store: the memory store (the reference),
//! sled (the embedded default) and PostgreSQL (on the server `VOUCH_TEST_PG` names;
//! `.ci/run` starts one). Each test runs once per store:
//!
//! - a batch is read back whole at once, before any flush, and after a reopen;
//! - a refused batch (not at the tree size, a bad subject) leaves nothing;
//! - chain heads come out the same whether the writer passes them or the store
//!   derives them;
//! - a log on the store appends, proves and reopens;
//! - the sequencer's error paths, through [`FaultyStore`] over the store: a failed
//!   write stores nothing and the log resumes; a batch stored but reported failed is
//!   kept and its index never reused; a failed read stores nothing;
//! - a child appending through a log on the store is killed with SIGKILL at random
//!   moments, and every acknowledged entry is there after each restart (sled and
//!   PostgreSQL: the memory store keeps nothing across processes).

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tempfile::TempDir;
use vouch::index::ChainHead;
use vouch::log::{Log, LogConfig, LogError, Submission};
use vouch::merkle::{self, Frontier, Hash, Node};
use vouch::note::{Checkpoint, KeyName, Signer};
use vouch::store::{
    Batch, FaultyStore, MemoryStore, NewEntry, Op, PgOptions, PgStore, SledOptions, SledStore,
    Store, StoreError, StoreHashes,
};

fn signer() -> Signer {
    Signer::from_seed(KeyName::new("conformance.example/log").unwrap(), [11; 32])
}

/// A store under test, which a test can close and open again.
trait Fixture {
    fn store(&self) -> Arc<dyn Store>;
    /// Closes the store and opens it again; `false` for a store that keeps nothing.
    fn reopen(&mut self) -> bool;
    /// Where a child process opens the same store (`None`: it cannot).
    fn location(&self) -> Option<String>;
    /// Closes the store, so that a child process can open it.
    fn release(&mut self) {}
}

struct Memory(Arc<MemoryStore>);

impl Fixture for Memory {
    fn store(&self) -> Arc<dyn Store> {
        self.0.clone()
    }
    fn reopen(&mut self) -> bool {
        false
    }
    fn location(&self) -> Option<String> {
        None
    }
}

struct Sled {
    dir: TempDir,
    store: Option<Arc<SledStore>>,
}

impl Fixture for Sled {
    fn store(&self) -> Arc<dyn Store> {
        self.store.clone().expect("open")
    }
    fn reopen(&mut self) -> bool {
        self.store = None;
        self.store = Some(Arc::new(open_location(
            &self.dir.path().display().to_string(),
        )));
        true
    }
    fn location(&self) -> Option<String> {
        Some(self.dir.path().display().to_string())
    }
    fn release(&mut self) {
        self.store = None;
    }
}

struct Postgres {
    url: String,
    store: Option<Arc<PgStore>>,
}

impl Fixture for Postgres {
    fn store(&self) -> Arc<dyn Store> {
        self.store.clone().expect("open")
    }
    fn reopen(&mut self) -> bool {
        self.store = None;
        self.store = Some(Arc::new(open_pg(&self.url)));
        true
    }
    fn location(&self) -> Option<String> {
        Some(self.url.clone())
    }
    fn release(&mut self) {
        self.store = None;
    }
}

/// A writer on `url`, waiting for the lock a store just dropped (the server lets go of
/// it when it sees the connection close).
fn open_pg(url: &str) -> PgStore {
    PgStore::open(
        url,
        &PgOptions {
            wait_for_writer: true,
            ..PgOptions::default()
        },
    )
    .unwrap()
}

/// A sled store in a directory (also the child's way in).
fn open_location(dir: &str) -> SledStore {
    SledStore::open(std::path::Path::new(dir), &SledOptions::default()).unwrap()
}

fn memory(_: &str) -> Option<Box<dyn Fixture>> {
    Some(Box::new(Memory(Arc::new(MemoryStore::new()))))
}

fn sled(_: &str) -> Option<Box<dyn Fixture>> {
    let dir = TempDir::new().unwrap();
    let store = Arc::new(open_location(&dir.path().display().to_string()));
    Some(Box::new(Sled {
        dir,
        store: Some(store),
    }))
}

fn postgres(test: &str) -> Option<Box<dyn Fixture>> {
    let url = common::pg::database(test)?;
    let store = Arc::new(open_pg(&url));
    Some(Box::new(Postgres {
        url,
        store: Some(store),
    }))
}

/// What the tests wrote, to hold every read to.
#[derive(Default)]
struct Model {
    frontier: Frontier,
    /// (bytes, leaf hash, dedup key, subject) per entry.
    entries: Vec<(Vec<u8>, Hash, Hash, Option<String>)>,
    nodes: Vec<(Node, Hash)>,
    checkpoints: BTreeMap<u64, Vec<u8>>,
    meta: BTreeMap<String, Vec<u8>>,
}

impl Model {
    /// The next batch: `items` as (entry text, subject); the writer passes the chain
    /// heads when `with_heads`.
    fn batch(&mut self, items: &[(&str, Option<&str>)], with_heads: bool) -> Batch {
        let start = self.frontier.size();
        let mut frontier = self.frontier.clone();
        let mut entries = Vec::new();
        let mut nodes = Vec::new();
        for (text, subject) in items {
            let bytes = format!("{text} at {}", start + entries.len() as u64).into_bytes();
            let leaf = merkle::leaf_hash(&bytes);
            frontier.push(leaf, |n, h| nodes.push((n, h)));
            entries.push(NewEntry {
                dedup_key: merkle::leaf_hash(text.as_bytes()),
                bytes,
                leaf_hash: leaf,
                subject: subject.map(str::to_owned),
            });
        }
        let checkpoint = Checkpoint::new(
            signer().name().as_str(),
            frontier.size(),
            frontier.root(),
            vec![],
        )
        .unwrap()
        .sign(&[&signer()])
        .into_bytes();
        let heads = with_heads.then(|| {
            let mut heads: BTreeMap<String, ChainHead> = BTreeMap::new();
            for (i, e) in entries.iter().enumerate() {
                if let Some(s) = &e.subject {
                    let before = self.head(s).map_or(0, |h| h.count);
                    let h = heads.entry(s.clone()).or_insert(ChainHead {
                        count: before,
                        newest_index: 0,
                        newest_leaf_hash: [0; 32],
                    });
                    h.count += 1;
                    h.newest_index = start + i as u64;
                    h.newest_leaf_hash = e.leaf_hash;
                }
            }
            heads.into_iter().collect()
        });
        Batch {
            start,
            meta: vec![(
                format!("batch-{start}"),
                format!("meta {start}").into_bytes(),
            )],
            entries,
            nodes,
            checkpoint,
            heads,
            no_dedup_rows: false,
        }
    }

    /// Records `batch` as written.
    fn wrote(&mut self, batch: &Batch) {
        for e in &batch.entries {
            self.frontier.push(e.leaf_hash, |_, _| {});
            self.entries
                .push((e.bytes.clone(), e.leaf_hash, e.dedup_key, e.subject.clone()));
        }
        self.nodes.extend(batch.nodes.iter().copied());
        self.checkpoints
            .insert(batch.new_size(), batch.checkpoint.clone());
        self.meta.extend(batch.meta.iter().cloned());
    }

    fn write(&mut self, store: &dyn Store, items: &[(&str, Option<&str>)], with_heads: bool) {
        let batch = self.batch(items, with_heads);
        store.write(batch.clone()).unwrap();
        self.wrote(&batch);
    }

    fn chain(&self, subject: &str) -> Vec<(u64, Hash)> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.3.as_deref() == Some(subject))
            .map(|(i, e)| (i as u64, e.1))
            .collect()
    }

    fn head(&self, subject: &str) -> Option<ChainHead> {
        let chain = self.chain(subject);
        chain.last().map(|(i, h)| ChainHead {
            count: chain.len() as u64,
            newest_index: *i,
            newest_leaf_hash: *h,
        })
    }

    fn subjects(&self) -> Vec<String> {
        let mut s: Vec<String> = self.entries.iter().filter_map(|e| e.3.clone()).collect();
        s.sort();
        s.dedup();
        s
    }

    /// Every read of `store` answers what was written.
    fn check(&self, store: &dyn Store, when: &str) {
        let n = self.entries.len() as u64;
        assert_eq!(store.tree_size().unwrap(), n, "{when}: tree size");
        let bytes: Vec<Vec<u8>> = self.entries.iter().map(|e| e.0.clone()).collect();
        assert_eq!(store.entries(0, n).unwrap(), bytes, "{when}: entries");
        if n > 2 {
            assert_eq!(store.entries(1, 2).unwrap(), bytes[1..3], "{when}: a range");
        }
        assert!(
            matches!(store.entries(n, 1), Err(StoreError::Corrupt(_))),
            "{when}: an entry beyond the tree is missing"
        );
        let nodes: Vec<Node> = self.nodes.iter().map(|(n, _)| *n).collect();
        let hashes: Vec<Hash> = self.nodes.iter().map(|(_, h)| *h).collect();
        assert_eq!(store.hashes(&nodes).unwrap(), hashes, "{when}: hashes");
        let leaves: Vec<Hash> = self.entries.iter().map(|e| e.1).collect();
        assert_eq!(store.hash_run(Node::new(0, 0), n).unwrap(), leaves);
        assert!(matches!(
            store.hashes(&[Node::new(0, n)]),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            store.hash_run(Node::new(0, 0), n + 1),
            Err(StoreError::Corrupt(_))
        ));
        if n > 0 {
            let root = merkle::root(&StoreHashes(store), n).unwrap();
            assert_eq!(
                root,
                self.frontier.root(),
                "{when}: the root from stored hashes"
            );
        }
        for (i, e) in self.entries.iter().enumerate() {
            assert_eq!(
                store.find(&e.2).unwrap(),
                Some(i as u64),
                "{when}: dedup {i}"
            );
        }
        assert_eq!(store.find(&[7; 32]).unwrap(), None);
        let subjects = self.subjects();
        for s in &subjects {
            let chain = self.chain(s);
            assert_eq!(
                store.subject_entries(s, 0, usize::MAX).unwrap(),
                chain,
                "{when}: {s}"
            );
            assert_eq!(
                store.subject_entries(s, chain[0].0 + 1, 1).unwrap(),
                chain[1..].iter().take(1).copied().collect::<Vec<_>>()
            );
            let mut newest_first = chain.clone();
            newest_first.reverse();
            assert_eq!(
                store.subject_entries_before(s, u64::MAX, 2).unwrap(),
                newest_first.iter().take(2).copied().collect::<Vec<_>>()
            );
            assert_eq!(
                store.subject_entries_before(s, chain[0].0, 5).unwrap(),
                vec![]
            );
            assert_eq!(
                store.subject_head(s).unwrap(),
                self.head(s),
                "{when}: head of {s}"
            );
        }
        assert_eq!(store.subject_head("nobody").unwrap(), None);
        assert_eq!(store.subject_entries("nobody", 0, 10).unwrap(), vec![]);
        let heads: Vec<(String, ChainHead)> = subjects
            .iter()
            .map(|s| (s.clone(), self.head(s).unwrap()))
            .collect();
        assert_eq!(
            store.subject_heads(None, usize::MAX).unwrap(),
            heads,
            "{when}: subjects"
        );
        if heads.len() > 2 {
            assert_eq!(
                store.subject_heads(Some(&heads[0].0), 1).unwrap(),
                heads[1..2],
                "{when}: a page of subjects"
            );
        }
        for (size, signed) in &self.checkpoints {
            assert_eq!(store.checkpoint(*size).unwrap().as_ref(), Some(signed));
        }
        assert_eq!(store.checkpoint(n + 1).unwrap(), None);
        assert_eq!(
            store.latest_checkpoint().unwrap().as_ref(),
            self.checkpoints.values().last()
        );
        for (name, value) in &self.meta {
            assert_eq!(
                store.meta(name).unwrap().as_ref(),
                Some(value),
                "{when}: {name}"
            );
        }
        assert_eq!(store.meta("no such name").unwrap(), None);
    }
}

/// Subjects whose byte order differs from other orders: upper before lower case,
/// multi-byte UTF-8 last, a prefix before its extensions.
const SUBJECTS: [&str; 6] = [
    "VN2019303BQ3FZ9",
    "buyer:lotus",
    "registry",
    "registry:kiwa",
    "Zeta",
    "Đồng Nai",
];

fn written(f: &dyn Fixture) -> Model {
    let store = f.store();
    let mut m = Model::default();
    m.check(store.as_ref(), "empty");
    m.write(store.as_ref(), &[], false);
    for round in 0..6 {
        let items: Vec<(String, Option<&str>)> = (0..(5 + round * 7))
            .map(|i| {
                let subject = (i % 3 != 0).then_some(SUBJECTS[(i + round) % SUBJECTS.len()]);
                (format!("round {round} item {i}"), subject)
            })
            .collect();
        let items: Vec<(&str, Option<&str>)> =
            items.iter().map(|(t, s)| (t.as_str(), *s)).collect();
        m.write(store.as_ref(), &items, round % 2 == 0);
        m.check(
            store.as_ref(),
            &format!("after batch {round}, before any flush"),
        );
    }
    m
}

fn batches_are_read_back_whole_at_once_and_after_reopening(mut f: Box<dyn Fixture>) {
    let mut m = written(f.as_ref());
    if f.reopen() {
        m.check(f.store().as_ref(), "reopened");
        m.write(
            f.store().as_ref(),
            &[("after reopening", Some(SUBJECTS[1]))],
            false,
        );
        m.check(f.store().as_ref(), "written after reopening");
        f.store().flush().unwrap();
        assert!(f.reopen());
        m.check(f.store().as_ref(), "flushed and reopened");
    }
}

fn refused_batches_leave_nothing(mut f: Box<dyn Fixture>) {
    let mut m = written(f.as_ref());
    let store = f.store();
    let mut ahead = m.batch(&[("ahead", Some("a"))], false);
    ahead.start += 1;
    let n = m.entries.len() as u64;
    assert_eq!(
        store.write(ahead).unwrap_err(),
        StoreError::NotAppendOnly {
            got: n + 1,
            want: n
        }
    );
    let mut behind = m.batch(&[("behind", Some("a"))], true);
    behind.start -= 1;
    assert!(matches!(
        store.write(behind),
        Err(StoreError::NotAppendOnly { .. })
    ));
    let long = "x".repeat(256);
    for bad in ["", long.as_str()] {
        let batch = m.batch(&[("good", Some("a")), ("bad subject", Some(bad))], false);
        assert!(
            matches!(store.write(batch), Err(StoreError::BadSubject(_))),
            "subject of {} bytes",
            bad.len()
        );
    }
    m.check(store.as_ref(), "after refused batches");
    m.write(store.as_ref(), &[("next", Some("a"))], false);
    m.check(store.as_ref(), "a batch after the refused ones");
    drop(store);
    if f.reopen() {
        m.check(f.store().as_ref(), "refused batches, reopened");
    }
}

/// A raw log of `subjects`' entries on the store.
fn open_log(store: Arc<dyn Store>, writable: bool) -> Log {
    Log::open(store, writable.then(signer), LogConfig::default()).unwrap()
}

fn entry(i: usize) -> Vec<u8> {
    format!("entry {i} {}", "x".repeat(i % 300)).into_bytes()
}

fn append(log: &Log, i: usize) -> Result<vouch::log::Receipt, LogError> {
    log.append_blocking(Submission {
        entry: entry(i),
        subject: Some(SUBJECTS[i % SUBJECTS.len()].to_owned()),
    })
}

fn a_log_appends_proves_and_reopens(mut f: Box<dyn Fixture>) {
    Log::create(f.store(), &signer()).unwrap();
    let log = open_log(f.store(), true);
    let receipts: Vec<_> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let log = &log;
                s.spawn(move || {
                    (0..50)
                        .map(|i| append(log, t * 50 + i).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    });
    let size = log.head().size();
    assert_eq!(size, 200);
    let view = log.view();
    for r in &receipts {
        let proof = view.inclusion_proof(r.index, size).unwrap();
        merkle::verify_inclusion(
            &r.leaf_hash,
            r.index,
            size,
            &proof,
            log.head().checkpoint.root(),
        )
        .unwrap();
    }
    let history = f
        .store()
        .subject_entries(SUBJECTS[0], 0, usize::MAX)
        .unwrap();
    assert_eq!(history.len(), 200 / SUBJECTS.len() + 1);
    let root = *log.head().checkpoint.root();
    drop(view);
    log.close();
    drop(log);
    if f.reopen() {
        let log = open_log(f.store(), true);
        assert_eq!(log.head().size(), 200);
        assert_eq!(*log.head().checkpoint.root(), root);
        assert_eq!(append(&log, 200).unwrap().index, 200);
        let again = append(&log, 7).unwrap();
        assert!(again.duplicate, "a resubmission after reopening is found");
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn faulty_log(f: &dyn Fixture) -> (Arc<FaultyStore>, Log) {
    Log::create(f.store(), &signer()).unwrap();
    let faulty = Arc::new(FaultyStore::new(f.store()));
    let log = Log::open(faulty.clone(), Some(signer()), LogConfig::default()).unwrap();
    (faulty, log)
}

fn a_failed_write_stores_nothing_and_the_log_resumes(mut f: Box<dyn Fixture>) {
    let (faulty, log) = faulty_log(f.as_ref());
    append(&log, 0).unwrap();
    let disk_full = StoreError::Backend("No space left on device (os error 28)".into());
    faulty.fail(Op::Write, 1, disk_full.clone());
    faulty.fail(Op::Recover, u32::MAX, disk_full);
    let e = append(&log, 1).unwrap_err();
    assert!(
        matches!(&e, LogError::Unavailable(why) if why.contains("No space")),
        "{e}"
    );
    let stopped = log.stopped().expect("the log says it takes no writes");
    assert!(!stopped.until_restart && stopped.reason.contains("No space"));
    assert!(matches!(append(&log, 2), Err(LogError::Unavailable(_))));
    assert_eq!(log.head().size(), 1);
    faulty.heal();
    wait_until("the log takes writes again", || log.stopped().is_none());
    let r = append(&log, 3).unwrap();
    assert_eq!(r.index, 1, "the refused batches left no trace");
    assert_eq!(log.view().entry(1).unwrap(), entry(3));
    drop(log);
    drop(faulty);
    if f.reopen() {
        assert_eq!(open_log(f.store(), false).head().size(), 2);
    }
}

/// A batch that fails while another request waits behind it: that request is judged
/// against the log as it was before the failed batch, not as it would have been after.
fn a_failed_write_with_the_next_batch_waiting_leaves_no_gap(mut f: Box<dyn Fixture>) {
    let (faulty, log) = faulty_log(f.as_ref());
    append(&log, 0).unwrap();
    faulty.hold_writes();
    faulty.fail(
        Op::Write,
        1,
        StoreError::Backend("No space left on device (os error 28)".into()),
    );
    let (first, second) = std::thread::scope(|s| {
        let first = s.spawn(|| append(&log, 1));
        wait_until("the first batch reaches the store", || {
            faulty.writes_held() == 1
        });
        let second = s.spawn(|| append(&log, 2));
        // The second request queues while the first batch is held.
        std::thread::sleep(std::time::Duration::from_millis(200));
        faulty.release_writes();
        (first.join().unwrap(), second.join().unwrap())
    });
    assert!(
        matches!(&first, Err(LogError::Unavailable(why)) if why.contains("No space")),
        "{first:?}"
    );
    let second = second.expect("storage recovered before the second batch was written");
    assert_eq!(second.index, 1, "the failed batch left no gap");
    assert_eq!(log.head().size(), 2);
    assert_eq!(log.view().entry(1).unwrap(), entry(2));
    assert!(append(&log, 1).is_ok_and(|r| r.index == 2 && !r.duplicate));
    drop(log);
    drop(faulty);
    if f.reopen() {
        assert_eq!(open_log(f.store(), false).head().size(), 3);
    }
}

fn a_batch_stored_but_reported_failed_is_kept_and_its_index_never_reused(mut f: Box<dyn Fixture>) {
    let (faulty, log) = faulty_log(f.as_ref());
    append(&log, 0).unwrap();
    faulty.fail(
        Op::WriteAfterStoring,
        1,
        StoreError::Halted("the index could not record the batch".into()),
    );
    faulty.fail(Op::Recover, 3, StoreError::Backend("still failing".into()));
    assert!(matches!(append(&log, 1), Err(LogError::Unavailable(_))));
    assert!(log.stopped().is_some());
    assert!(matches!(append(&log, 2), Err(LogError::Unavailable(_))));
    // Once storage has recovered, the log reloads what the store holds: the batch it
    // was told failed.
    wait_until("the log takes writes again", || log.stopped().is_none());
    assert_eq!(log.head().size(), 2, "the durable batch is kept");
    assert_eq!(log.view().entry(1).unwrap(), entry(1));
    assert_eq!(append(&log, 3).unwrap().index, 2, "index 1 is not reused");
    let again = append(&log, 1).unwrap();
    assert!(again.duplicate && again.index == 1);
    drop(log);
    drop(faulty);
    if f.reopen() {
        assert_eq!(open_log(f.store(), true).head().size(), 3);
    }
}

fn a_failed_read_stores_nothing(f: Box<dyn Fixture>) {
    let (faulty, log) = faulty_log(f.as_ref());
    append(&log, 0).unwrap();
    faulty.fail(Op::Find, 1, StoreError::Backend("read error".into()));
    assert!(matches!(append(&log, 1), Err(LogError::Unavailable(_))));
    wait_until("the log takes writes again", || log.stopped().is_none());
    assert_eq!(append(&log, 1).unwrap().index, 1);
    faulty.fail(Op::Entries, 1, StoreError::Backend("read error".into()));
    assert!(matches!(
        log.view().entry(0),
        Err(LogError::Store(StoreError::Backend(_)))
    ));
    assert_eq!(
        log.view().entry(0).unwrap(),
        entry(0),
        "a failed read changes nothing"
    );
    assert!(log.stopped().is_none(), "a failed read is not corruption");
}

/// The crash test's child: appends through a log on the store at `location` from
/// several threads, printing `ack <index> <leaf hex> <size> <root hex>` per receipt,
/// until killed.
const CHILD_ENV: &str = "VOUCH_CONFORMANCE_CHILD";

fn open_anywhere(location: &str) -> Arc<dyn Store> {
    if location.starts_with("postgres://") {
        Arc::new(open_pg(location))
    } else {
        Arc::new(open_location(location))
    }
}

fn child(location: &str) {
    let config = LogConfig {
        max_batch: 32,
        max_wait: Duration::from_micros(200),
    };
    let log = Log::open(open_anywhere(location), Some(signer()), config).unwrap();
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::thread::scope(|s| {
        for t in 0..8 {
            let log = &log;
            s.spawn(move || {
                for i in 0u64.. {
                    let entry = format!("{seed}/{t}/{i}/{}", "x".repeat((i % 500) as usize));
                    let r = log
                        .append_blocking(Submission {
                            entry: entry.into_bytes(),
                            subject: Some(SUBJECTS[(i % 6) as usize].to_owned()),
                        })
                        .unwrap();
                    let line = format!(
                        "ack {} {} {} {}\n",
                        r.index,
                        hex::encode(r.leaf_hash),
                        r.head.checkpoint.size(),
                        hex::encode(r.head.checkpoint.root())
                    );
                    let mut out = std::io::stdout().lock();
                    out.write_all(line.as_bytes()).unwrap();
                    out.flush().unwrap();
                }
            });
        }
    });
}

struct Ack {
    index: u64,
    leaf: Hash,
    size: u64,
    root: Hash,
}

fn parse_ack(line: &str) -> Option<Ack> {
    let f: Vec<&str> = line.split(' ').collect();
    let [tag, index, leaf, size, root] = f[..] else {
        return None;
    };
    if tag != "ack" {
        return None;
    }
    Some(Ack {
        index: index.parse().ok()?,
        leaf: hex::decode(leaf).ok()?.try_into().ok()?,
        size: size.parse().ok()?,
        root: hex::decode(root).ok()?.try_into().ok()?,
    })
}

const CRASH_CYCLES: u32 = 16;

/// `test` is the name of the test running this, which the child re-runs.
fn acknowledged_appends_survive_sigkill(mut f: Box<dyn Fixture>, test: &str) {
    let Some(location) = f.location() else {
        eprintln!("{test}: the memory store keeps nothing across processes: nothing to kill");
        return;
    };
    Log::create(f.store(), &signer()).unwrap();
    let mut rng = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut acked: Vec<Ack> = Vec::new();
    let mut last_size = 0;
    for cycle in 0..CRASH_CYCLES {
        // The child opens the store itself: this process lets go of it meanwhile.
        f.release();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([test, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &location)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| parse_ack(&l))
                .collect::<Vec<_>>()
        });
        std::thread::sleep(Duration::from_millis(100 + next() % 400));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        acked.extend(reader.join().unwrap());

        assert!(f.reopen());
        let store = f.store();
        let log = open_log(store.clone(), false);
        let size = log.head().size();
        assert!(
            size >= last_size,
            "cycle {cycle}: tree shrank from {last_size} to {size}"
        );
        assert!(
            acked.iter().all(|a| a.index < size),
            "cycle {cycle}: an acknowledged entry was lost (size {size})"
        );
        let nodes: Vec<Node> = acked.iter().map(|a| Node::new(0, a.index)).collect();
        for (a, stored) in acked.iter().zip(store.hashes(&nodes).unwrap()) {
            assert_eq!(stored, a.leaf, "cycle {cycle}: index {}", a.index);
        }
        let root = log.view().root(size).unwrap();
        let mut sizes: Vec<(u64, Hash)> = acked.iter().map(|a| (a.size, a.root)).collect();
        sizes.sort_unstable();
        sizes.dedup();
        for (old, old_root) in sizes {
            let proof = merkle::consistency_proof(&StoreHashes(store.as_ref()), old, size).unwrap();
            merkle::verify_consistency(old, size, &proof, &old_root, &root)
                .unwrap_or_else(|e| panic!("cycle {cycle}: checkpoint {old} contradicted: {e}"));
        }
        last_size = size;
    }
    assert!(
        acked.len() > 100,
        "the children acknowledged only {} appends",
        acked.len()
    );
    eprintln!(
        "{test}: {CRASH_CYCLES} kills, {} acknowledged appends, final size {last_size}",
        acked.len()
    );
}

macro_rules! conformance {
    ($($store:ident),*) => {$(
        mod $store {
            use super::*;

            fn fixture(test: &str) -> Option<Box<dyn Fixture>> {
                super::$store(test)
            }

            #[test]
            fn batches_are_read_back_whole_at_once_and_after_reopening() {
                if let Some(f) = fixture("read_back") {
                    super::batches_are_read_back_whole_at_once_and_after_reopening(f);
                }
            }

            #[test]
            fn refused_batches_leave_nothing() {
                if let Some(f) = fixture("refused") {
                    super::refused_batches_leave_nothing(f);
                }
            }

            #[test]
            fn a_log_appends_proves_and_reopens() {
                if let Some(f) = fixture("log") {
                    super::a_log_appends_proves_and_reopens(f);
                }
            }

            #[test]
            fn a_failed_write_stores_nothing_and_the_log_resumes() {
                if let Some(f) = fixture("failed_write") {
                    super::a_failed_write_stores_nothing_and_the_log_resumes(f);
                }
            }

            #[test]
            fn a_failed_write_with_the_next_batch_waiting_leaves_no_gap() {
                if let Some(f) = fixture("failed_write_next_waiting") {
                    super::a_failed_write_with_the_next_batch_waiting_leaves_no_gap(f);
                }
            }

            #[test]
            fn a_batch_stored_but_reported_failed_is_kept_and_its_index_never_reused() {
                if let Some(f) = fixture("reported_failed") {
                    super::a_batch_stored_but_reported_failed_is_kept_and_its_index_never_reused(f);
                }
            }

            #[test]
            fn a_failed_read_stores_nothing() {
                if let Some(f) = fixture("failed_read") {
                    super::a_failed_read_stores_nothing(f);
                }
            }

            #[test]
            fn acknowledged_appends_survive_sigkill() {
                let test = concat!(stringify!($store), "::acknowledged_appends_survive_sigkill");
                if let Ok(location) = std::env::var(CHILD_ENV) {
                    child(&location);
                    return;
                }
                if let Some(f) = fixture("sigkill") {
                    super::acknowledged_appends_survive_sigkill(f, test);
                }
            }
        }
    )*};
}

conformance!(memory, sled, postgres);
