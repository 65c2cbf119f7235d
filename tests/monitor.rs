//! The monitor: it verifies an honest log and resumes where it stopped; it reports, as
//! JSON lines and exit 2, a fork under the same key, a checkpoint whose supplier index
//! root does not match the entries, and an entry the log's rules refuse that a
//! dishonest log signed into its tree.

mod common;

use std::process::Command;
use std::sync::Arc;

use common::*;
use vouch::entry::Entry;
use vouch::merkle::{self, MemoryTree};
use vouch::note::Checkpoint;
use vouch::statement::{Kind, STATEMENT_TYPE};

/// `vouch monitor` against `url` with its state in `state`: (exit code, stdout, stderr).
fn monitor(url: &str, log_pub: &std::path::Path, state: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(["monitor", "--url", url, "--log-key"])
        .arg(log_pub)
        .arg("--state")
        .arg(state)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn log_pub(l: &Ledger) -> std::path::PathBuf {
    let p = l.dir.path().join("log.pub");
    std::fs::write(&p, l.cast.log_key.verifier().to_string()).unwrap();
    p
}

/// The discrepancies of a monitor's stdout.
fn lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A log server that serves `entries` and `checkpoint` as it is told: `/checkpoint` and
/// the entry tiles, nothing checked.
fn fake_log(entries: Vec<Vec<u8>>, checkpoint: String) -> String {
    use axum::extract::Path;
    use axum::routing::get;
    let entries = Arc::new(entries);
    let app = axum::Router::new()
        .route(
            "/checkpoint",
            get(move || async move { checkpoint.clone() }),
        )
        .route(
            "/tile/{*path}",
            get(move |Path(path): Path<String>| {
                let entries = entries.clone();
                async move {
                    let tile = vouch::tiles::TilePath::parse(&format!("tile/{path}")).unwrap();
                    let first = usize::try_from(tile.index() * 256).unwrap();
                    let width = usize::from(tile.width());
                    vouch::tiles::encode_bundle(&entries[first..first + width]).unwrap()
                }
            }),
        );
    serve_app(app)
}

/// The ledger's entries, and its newest checkpoint with a false supplier index root,
/// signed again by the log's key.
fn false_index_root(l: &Ledger) -> (Vec<Vec<u8>>, String) {
    let view = l.log.view();
    let entries = (0..view.size()).map(|i| view.entry(i).unwrap()).collect();
    let cp = &view.head().checkpoint;
    let mut ext: Vec<String> = cp.extensions().to_vec();
    let at = ext
        .iter()
        .position(|e| e.starts_with("vouch-index "))
        .unwrap();
    ext[at] = vouch::index::root_line(&[7u8; 32]);
    let lying = Checkpoint::new(cp.origin(), cp.size(), *cp.root(), ext)
        .unwrap()
        .sign(&[&l.cast.log_key]);
    (entries, lying)
}

/// A ledger with a few hundred records (more than one tile), some referring to others.
fn busy_ledger() -> Ledger {
    let l = Ledger::new(2);
    for i in 0..300 {
        let audit = l
            .submit(
                &statement(Kind::Audit, FACTORY, &format!("audit {i}")),
                &l.cast.auditor,
            )
            .unwrap();
        if i % 50 == 0 {
            let mut reply = statement(Kind::Response, FACTORY, &format!("our reply {i}"));
            reply.refs = vec![refer(&audit)];
            l.submit(&reply, &l.cast.supplier).unwrap();
        }
    }
    l
}

#[test]
fn an_honest_log_verifies_and_the_monitor_resumes() {
    let l = busy_ledger();
    let url = serve(l.log.clone());
    let state = tempfile::tempdir().unwrap();
    let (code, out, err) = monitor(&url, &log_pub(&l), state.path());
    let size = l.log.head().size();
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert!(
        err.contains(&format!("{size} entries verified ({size} new")),
        "{err}"
    );
    for i in 0..5 {
        l.submit(
            &statement(Kind::Metric, OTHER_FACTORY, &format!("later {i}")),
            &l.cast.auditor,
        )
        .unwrap();
    }
    let (code, out, err) = monitor(&url, &log_pub(&l), state.path());
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert!(
        err.contains(&format!("{} entries verified (5 new", size + 5)),
        "{err}"
    );
}

#[test]
fn a_fork_a_false_index_root_and_a_forbidden_entry_are_reported() {
    let l = busy_ledger();
    let url = serve(l.log.clone());
    let pubkey = log_pub(&l);
    let state = tempfile::tempdir().unwrap();
    assert_eq!(monitor(&url, &pubkey, state.path()).0, 0);

    // A fork under the same key: other entries after the genesis.
    let fork = Ledger::new(2);
    for i in 0..400 {
        fork.submit(
            &statement(Kind::Audit, FACTORY, &format!("rewritten {i}")),
            &fork.cast.auditor,
        )
        .unwrap();
    }
    let (code, out, _) = monitor(&serve(fork.log.clone()), &pubkey, state.path());
    assert_eq!(code, 2);
    let found = lines(&out);
    assert_eq!(found.len(), 1, "{out}");
    assert!(
        ["entry", "checkpoint"].contains(&found[0]["kind"].as_str().unwrap()),
        "{out}"
    );

    // The honest entries under a checkpoint whose index root is false.
    let view = l.log.view();
    let size = view.size();
    let (entries, lying) = false_index_root(&l);
    let cp = &view.head().checkpoint;
    let fresh = tempfile::tempdir().unwrap();
    let (code, out, _) = monitor(&fake_log(entries.clone(), lying), &pubkey, fresh.path());
    assert_eq!(code, 2);
    let found = lines(&out);
    assert_eq!(found[0]["kind"], "checkpoint", "{out}");
    assert!(
        found[0]["detail"]
            .as_str()
            .unwrap()
            .contains("supplier index root"),
        "{out}"
    );

    // Entry 200 replaced by one signed by a key the registry never knew, the tree and
    // checkpoint signed again by the log's key: a log that broke its own rules.
    let stranger = key("stranger", 99);
    let mut e = Entry::parse(&entries[200]).unwrap();
    let body = serde_json::to_vec(&statement(Kind::Audit, FACTORY, "forged")).unwrap();
    e.envelope = vouch::envelope::sign(STATEMENT_TYPE, &body, &[&stranger]);
    let mut forged = entries.clone();
    forged[200] = e.to_bytes();
    let mut tree = MemoryTree::new();
    for b in &forged {
        tree.push(merkle::leaf_hash(b));
    }
    let signed = Checkpoint::new(cp.origin(), size, tree.root(), cp.extensions().to_vec())
        .unwrap()
        .sign(&[&l.cast.log_key]);
    let fresh = tempfile::tempdir().unwrap();
    let (code, out, err) = monitor(&fake_log(forged, signed), &pubkey, fresh.path());
    assert_eq!(code, 2, "{err}");
    let found = lines(&out);
    assert_eq!(found.len(), 1, "{out}");
    assert_eq!(found[0]["kind"], "entry");
    assert_eq!(found[0]["index"], 200);
    assert!(
        found[0]["detail"].as_str().unwrap().contains("key"),
        "{out}"
    );
    // It verified (and kept) everything before the forged entry.
    assert!(err.contains("200 entries verified"), "{err}");
}

/// A checkpoint whose supplier index root does not match the entries: a plain witness
/// cosigns it (it vouches for origin, size and root only); a verifying witness reads
/// the entries, finds the false root and refuses; the honest checkpoint it cosigns.
#[test]
fn a_verifying_witness_refuses_what_a_plain_witness_cosigns() {
    use vouch::note::{Alg, KeyName, Signer};
    use vouch::witness::{AddError, Request, Witness};
    let l = busy_ledger();
    let view = l.log.view();
    let (entries, lying) = false_index_root(&l);
    let cp = &view.head().checkpoint;
    let url = fake_log(entries, lying.clone());
    let witness = |seed: u8, dir: &std::path::Path| {
        let key = Signer::from_seed_as(
            Alg::CosignatureV1,
            KeyName::new(&format!("witness.example/v{seed}")).unwrap(),
            [seed; 32],
        );
        Witness::open(key, vec![l.cast.log_key.verifier().clone()], dir).unwrap()
    };
    let monitor = |dir: &std::path::Path, url: &str| {
        let store: Arc<dyn vouch::store::Store> = Arc::new(
            vouch::store::SledStore::open(dir, &vouch::store::SledOptions::default()).unwrap(),
        );
        vouch::monitor::Monitor::open(url, l.cast.log_key.verifier().clone(), store, key("m", 9))
            .unwrap()
    };
    let body = Request::body(0, &[], &lying);
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let plain = witness(1, dirs[0].path());
    assert!(plain.add_checkpoint(body.as_bytes(), 1).is_ok());
    let verifying = witness(2, dirs[1].path())
        .verifying(monitor(dirs[2].path(), &url))
        .unwrap();
    match verifying.add_checkpoint(body.as_bytes(), 1) {
        Err(AddError::Entries(why)) => assert!(why.contains("supplier index root"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(verifying.latest(cp.origin()).is_none(), "nothing stored");
    // The honest log and checkpoint: verified and cosigned.
    let honest = witness(3, dirs[3].path())
        .verifying(monitor(
            &dirs[3].path().join("mirror"),
            &serve(l.log.clone()),
        ))
        .unwrap();
    let honest_body = Request::body(0, &[], &view.head().signed);
    assert!(honest.add_checkpoint(honest_body.as_bytes(), 1).is_ok());
}

/// Entries a log signed into its tree that are not the entries it writes: the mirror
/// names each at its index and keeps everything before it, whether the mirror is
/// fresh, reopened (its chain heads and dedup filters replayed from its entries) or
/// reopened after it kept its state (read back, and the entries after it replayed).
#[test]
fn an_entry_not_as_the_log_writes_it_or_stored_twice_is_reported() {
    let l = busy_ledger();
    let (entries, _) = false_index_root(&l);
    let at = 200;
    let e = Entry::parse(&entries[at]).unwrap();
    // The subject's oldest statement: stored before the mirror is reopened, and found
    // there by walking the subject's chain.
    let earlier = (1..at)
        .map(|i| Entry::parse(&entries[i]).unwrap())
        .find(|x| x.subject == e.subject && x.envelope.payload_type == STATEMENT_TYPE)
        .unwrap();
    let spaced = String::from_utf8(entries[at].clone())
        .unwrap()
        .replacen("\"v\":1", "\"v\": 1", 1)
        .into_bytes();
    let mut relinked = e.clone();
    relinked.prev.as_mut().unwrap().index -= 1;
    let mut twice = e.clone();
    twice.envelope = earlier.envelope.clone();
    let cases: [(&str, Vec<u8>, &str); 3] = [
        ("spaced", spaced, "not what the log writes"),
        ("relinked", relinked.to_bytes(), "not what the log writes"),
        ("twice", twice.to_bytes(), "the same envelope as entry"),
    ];
    for (case, bytes, want) in cases {
        for reopened in [None, Some(false), Some(true)] {
            let dir = tempfile::tempdir().unwrap();
            let open = || {
                let store: Arc<dyn vouch::store::Store> = Arc::new(
                    vouch::store::SledStore::open(
                        dir.path(),
                        &vouch::store::SledOptions::default(),
                    )
                    .unwrap(),
                );
                vouch::log::Mirror::open(store, l.cast.log_key.verifier().clone(), key("m", 9))
                    .unwrap()
            };
            let mut mirror = open();
            let mut forged = entries[..at].to_vec();
            forged.push(bytes.clone());
            if let Some(kept) = reopened {
                mirror.append(forged[..100].to_vec()).unwrap();
                if kept {
                    mirror.keep_state().unwrap();
                    mirror.append(forged[100..150].to_vec()).unwrap();
                }
                let before = mirror.expected_checkpoint().unwrap();
                drop(mirror);
                mirror = open();
                assert_eq!(mirror.expected_checkpoint().unwrap(), before, "{case}");
                forged.drain(..usize::try_from(mirror.size()).unwrap());
            }
            let found = mirror.append(forged).unwrap_err();
            assert_eq!(found.kind, "entry", "{case} {reopened:?}");
            assert_eq!(found.index, Some(at as u64), "{case}");
            assert!(found.detail.contains(want), "{case}: {found:?}");
            if case == "twice" {
                let first = (1..at)
                    .find(|i| Entry::parse(&entries[*i]).unwrap().envelope == earlier.envelope)
                    .unwrap();
                assert!(first < 100, "{first}");
                assert!(
                    found.detail.contains(&format!("entry {first}")),
                    "{found:?}"
                );
            }
            assert_eq!(mirror.size(), at as u64, "{case}: what came before is kept");
        }
    }
}

/// A write of the mirror's store that fails is reported (kind `store`) and leaves the
/// mirror as it was before the batch: it goes on from there, and opened again it
/// resumes from what its store holds.
#[test]
fn a_failed_write_of_the_mirror_is_reported_and_it_goes_on_from_its_store() {
    use vouch::store::{FaultyStore, MemoryStore, Op, StoreError};
    let l = busy_ledger();
    let (entries, _) = false_index_root(&l);
    let inner: Arc<dyn vouch::store::Store> = Arc::new(MemoryStore::new());
    let faulty = Arc::new(FaultyStore::new(inner.clone()));
    let open = |store: Arc<dyn vouch::store::Store>| {
        vouch::log::Mirror::open(store, l.cast.log_key.verifier().clone(), key("m", 9)).unwrap()
    };
    let mut mirror = open(faulty.clone());
    mirror.append(entries[..100].to_vec()).unwrap();
    faulty.fail(Op::Write, 1, StoreError::Backend("disk full".into()));
    let found = mirror.append(entries[100..150].to_vec()).unwrap_err();
    assert_eq!(found.kind, "store");
    assert!(found.detail.contains("disk full"), "{found:?}");
    assert_eq!(mirror.size(), 100);
    assert_eq!(inner.tree_size().unwrap(), 100);
    mirror.append(entries[100..150].to_vec()).unwrap();
    drop(mirror);
    let mut mirror = open(inner.clone());
    assert_eq!(mirror.size(), 150);
    mirror.append(entries[150..].to_vec()).unwrap();
    assert_eq!(inner.tree_size().unwrap(), entries.len() as u64);
}
