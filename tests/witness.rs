//! The witness (C2SP tlog-witness) and its cosignatures (C2SP tlog-cosignature):
//! consistent growth is cosigned; a fork, a rollback, a bad proof, an unknown log and a
//! checkpoint by another key are refused with the spec's status codes, over HTTP, and
//! leave the witness's state as it was; the state survives a restart; a log that shows
//! two histories (a split view) gets only one of them cosigned.

use std::path::Path;
use std::sync::Arc;

use vouch::merkle::{self, Hash, MemoryTree};
use vouch::note::{self, Alg, Checkpoint, KeyName, Signer, Verifier};
use vouch::witness::{AddError, Request, Witness};

const ORIGIN: &str = "example.org/vn-apparel";

fn log_key() -> Signer {
    Signer::from_seed(KeyName::new(ORIGIN).unwrap(), [3; 32])
}

fn witness_key(seed: u8) -> Signer {
    Signer::from_seed_as(
        Alg::CosignatureV1,
        KeyName::new(&format!("witness.example/w{seed}")).unwrap(),
        [seed; 32],
    )
}

/// A log's tree: `n` leaves `<tag> i`.
fn tree(tag: &str, n: u64) -> MemoryTree {
    let mut t = MemoryTree::new();
    for i in 0..n {
        t.push(merkle::leaf_hash(format!("{tag} {i}").as_bytes()));
    }
    t
}

/// The tree of the first `n` leaves of `tag` and more leaves of `fork` after them.
fn forked(tag: &str, n: u64, fork: &str, total: u64) -> MemoryTree {
    let mut t = tree(tag, n);
    for i in n..total {
        t.push(merkle::leaf_hash(format!("{fork} {i}").as_bytes()));
    }
    t
}

/// The checkpoint of `t`, with `key`'s name as its origin, signed by `key`.
fn signed(t: &MemoryTree, key: &Signer) -> String {
    Checkpoint::new(key.name().as_str(), t.size(), t.root(), vec![])
        .unwrap()
        .sign(&[key])
}

fn proof(t: &MemoryTree, old: u64) -> Vec<Hash> {
    merkle::consistency_proof(t, old, t.size()).unwrap()
}

fn add(w: &Witness, old: u64, t: &MemoryTree, key: &Signer) -> Result<String, AddError> {
    let body = Request::body(old, &proof(t, old), &signed(t, key));
    w.add_checkpoint(body.as_bytes(), 1_790_000_000)
}

fn open(dir: &Path) -> Witness {
    Witness::open(witness_key(1), vec![log_key().verifier().clone()], dir).unwrap()
}

/// The cosignature returned verifies, appended to the checkpoint, with the witness's
/// key, and names the time it was made.
fn check_cosignature(line: &str, t: &MemoryTree) {
    let cosigned = format!("{}{line}", signed(t, &log_key()));
    let (cp, opened) = Checkpoint::open(cosigned.as_bytes(), log_key().verifier()).unwrap();
    assert_eq!(cp.size(), t.size());
    let cosigs = opened
        .cosignatures(&[witness_key(1).verifier().clone()])
        .unwrap();
    assert_eq!(cosigs.len(), 1, "{line}");
    assert_eq!(cosigs[0].time, 1_790_000_000);
}

#[test]
fn consistent_growth_is_cosigned_and_everything_else_refused() {
    let dir = tempfile::tempdir().unwrap();
    let w = open(dir.path());
    let key = log_key();
    let t5 = tree("entry", 5);
    let t9 = tree("entry", 9);
    check_cosignature(&add(&w, 0, &t5, &key).unwrap(), &t5);
    check_cosignature(&add(&w, 5, &t9, &key).unwrap(), &t9);
    // The same checkpoint again: cosigned again (old = size, same root).
    check_cosignature(&add(&w, 9, &t9, &key).unwrap(), &t9);
    let state = w.latest(ORIGIN).unwrap();
    assert_eq!((state.size, state.root), (9, t9.root()));

    // Every refusal leaves the state exactly as it was.
    let refusals: Vec<(AddError, &str)> = vec![
        (add(&w, 5, &t9, &key).unwrap_err(), "stale old size"),
        (add(&w, 0, &t5, &key).unwrap_err(), "rollback"),
        (
            add(&w, 9, &forked("entry", 8, "other", 9), &key).unwrap_err(),
            "same size, other root",
        ),
        (
            add(&w, 9, &forked("entry", 7, "other", 12), &key).unwrap_err(),
            "a fork that grows",
        ),
        (
            add(
                &w,
                9,
                &tree("entry", 12),
                &Signer::from_seed(KeyName::new(ORIGIN).unwrap(), [4; 32]),
            )
            .unwrap_err(),
            "another key",
        ),
        (
            add(
                &w,
                0,
                &tree("entry", 3),
                &Signer::from_seed(KeyName::new("example.org/other").unwrap(), [3; 32]),
            )
            .unwrap_err(),
            "unknown log",
        ),
        (
            w.add_checkpoint(Request::body(12, &[], &signed(&t9, &key)).as_bytes(), 1)
                .unwrap_err(),
            "old after new",
        ),
    ];
    let kinds: Vec<String> = refusals
        .iter()
        .map(|(e, what)| {
            let kind = match e {
                AddError::SizeMismatch { size: 9, .. } => "409 size 9",
                AddError::Fork { size: 9, .. } => "409 fork",
                AddError::BadProof { .. } => "422",
                AddError::NotSigned { .. } => "403",
                AddError::UnknownLog(_) => "404",
                AddError::OldAfterNew { .. } => "400",
                _ => "other",
            };
            format!("{what}: {kind}")
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "stale old size: 409 size 9",
            "rollback: 409 size 9",
            "same size, other root: 409 fork",
            "a fork that grows: 422",
            "another key: 403",
            "unknown log: 404",
            "old after new: 400",
        ]
    );
    assert_eq!(w.latest(ORIGIN).unwrap(), state);

    // A proof that does not match, and malformed bodies.
    let t12 = tree("entry", 12);
    let mut bad = proof(&t12, 9);
    bad[0][0] ^= 1;
    let body = Request::body(9, &bad, &signed(&t12, &key));
    assert!(matches!(
        w.add_checkpoint(body.as_bytes(), 1),
        Err(AddError::BadProof { .. })
    ));
    for body in [
        "".to_owned(),
        "old 09\n\n".to_owned() + &signed(&t12, &key),
        "old 9\nnot base64\n\n".to_owned() + &signed(&t12, &key),
        "old 9\n".to_owned() + &signed(&t12, &key),
        format!("old 9\n{}\n", "AAAA\n".repeat(64)),
    ] {
        assert!(
            matches!(
                w.add_checkpoint(body.as_bytes(), 1),
                Err(AddError::Malformed(_))
            ),
            "{body:?}"
        );
    }
    assert_eq!(w.latest(ORIGIN).unwrap(), state);

    // A restart keeps the newest checkpoint: a rollback is still refused.
    drop(w);
    let w = open(dir.path());
    assert_eq!(w.latest(ORIGIN).unwrap(), state);
    assert!(matches!(
        add(&w, 0, &t5, &key),
        Err(AddError::SizeMismatch { size: 9, .. })
    ));
    check_cosignature(&add(&w, 9, &t12, &key).unwrap(), &t12);
}

/// One log key, two histories that share their first 6 entries: the witness that
/// cosigned one refuses the other at every size, whatever old size the other claims.
#[test]
fn a_split_view_gets_one_side_cosigned() {
    let dir = tempfile::tempdir().unwrap();
    let w = open(dir.path());
    let key = log_key();
    let honest = tree("entry", 10);
    add(&w, 0, &honest, &key).unwrap();
    for size in [7, 10, 11, 40] {
        let other = forked("entry", 6, "hidden", size);
        for old in [0, 6, 10] {
            if old > size {
                continue;
            }
            let err = add(&w, old, &other, &key).unwrap_err();
            assert!(
                matches!(
                    err,
                    AddError::SizeMismatch { .. }
                        | AddError::Fork { .. }
                        | AddError::BadProof { .. }
                ),
                "size {size} old {old}: {err}"
            );
        }
    }
    assert_eq!(w.latest(ORIGIN).unwrap().root, honest.root());
}

/// Over HTTP: the status codes and content types the spec gives.
#[tokio::test]
async fn over_http_with_the_specs_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let w = Arc::new(open(dir.path()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/add-checkpoint", listener.local_addr().unwrap());
    let app = vouch::witness::router(w.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();
    let key = log_key();
    let post = |body: String| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let r = client.post(&url).body(body).send().await.unwrap();
            let status = r.status().as_u16();
            let ct = r
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            (status, ct, r.text().await.unwrap())
        }
    };
    let t4 = tree("entry", 4);
    let (status, _, body) = post(Request::body(0, &[], &signed(&t4, &key))).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("\u{2014} witness.example/w1 ") && body.ends_with('\n'));
    let cosigned = format!("{}{body}", signed(&t4, &key));
    let opened = note::open(
        cosigned.as_bytes(),
        &[key.verifier().clone(), witness_key(1).verifier().clone()],
    )
    .unwrap();
    assert_eq!(opened.verified.len(), 2);

    let (status, ct, body) = post(Request::body(0, &[], &signed(&t4, &key))).await;
    assert_eq!(
        (status, ct.as_str(), body.as_str()),
        (409, "text/x.tlog.size", "4\n")
    );
    let problem = |status: u16| {
        move |(s, ct, body): (u16, String, String)| {
            assert_eq!(s, status, "{body}");
            assert_eq!(ct, "application/problem+json", "{body}");
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["status"], status);
            assert!(!v["detail"].as_str().unwrap().is_empty());
        }
    };
    let other = Signer::from_seed(KeyName::new("example.org/other").unwrap(), [3; 32]);
    problem(404)(post(Request::body(0, &[], &signed(&tree("e", 2), &other))).await);
    let stranger = Signer::from_seed(KeyName::new(ORIGIN).unwrap(), [9; 32]);
    problem(403)(post(Request::body(4, &[], &signed(&t4, &stranger))).await);
    problem(400)(post("old 4\n".into()).await);
    problem(400)(post(Request::body(9, &[], &signed(&t4, &key))).await);
    let fork = forked("entry", 2, "x", 4);
    problem(409)(post(Request::body(4, &[], &signed(&fork, &key))).await);
    let t8 = tree("entry", 8);
    problem(422)(
        post(Request::body(
            4,
            &proof(&tree("x", 8), 4),
            &signed(&t8, &key),
        ))
        .await,
    );
    problem(413)(post("old 4\n".to_owned() + &"A".repeat(200_000)).await);
    let r = client
        .get(url.replace("/add-checkpoint", "/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(w.latest(ORIGIN).unwrap().size, 4);
    let (status, _, _) = post(Request::body(4, &proof(&t8, 4), &signed(&t8, &key))).await;
    assert_eq!(status, 200);
}

/// Key strings: a witness's keys carry the algorithm byte 0x04 and are read only as
/// such; a log key is never read as a witness key, nor the other way round.
#[test]
fn witness_keys_are_their_own_kind() {
    let w = witness_key(7);
    let vkey = w.verifier().to_string();
    assert_eq!(Verifier::parse_cosigner(&vkey).unwrap(), *w.verifier());
    assert!(Verifier::parse(&vkey).is_err());
    assert_eq!(
        Signer::parse_cosigner(&w.to_key_string()).unwrap().key_id(),
        w.key_id()
    );
    assert!(Signer::parse(&w.to_key_string()).is_err());
    let log = log_key();
    assert!(Verifier::parse_cosigner(&log.verifier().to_string()).is_err());
    assert_ne!(
        note::key_id_of(Alg::CosignatureV1, log.name(), log.verifier().key()),
        log.key_id()
    );
    assert!(Witness::open(log_key(), vec![], tempfile::tempdir().unwrap().path()).is_err());
}

/// `docs/cosignature-vectors.json`: cosigned checkpoints that vouch makes byte for byte
/// (Ed25519 is deterministic), for verifiers written from C2SP tlog-cosignature alone
/// (`tests/independent/cosignature_verify.py` checks them with Python's
/// `cryptography`). `VOUCH_WRITE_VECTORS=1` writes the file again.
#[test]
fn cosignatures_match_the_vectors() {
    use base64::Engine as _;
    let log = log_key();
    let mut cases = Vec::new();
    for (seed, size, time) in [
        (1u8, 1u64, 0u64),
        (2, 5, 1_790_000_000),
        (3, 1000, 9_223_372_036_854_775_807),
    ] {
        let w = witness_key(seed);
        let t = tree("entry", size);
        let body = Checkpoint::new(ORIGIN, size, t.root(), vec!["vouch-index abc".into()])
            .unwrap()
            .to_text();
        let line = w.cosignature_line(&body, time);
        let note = format!("{}{line}", Checkpoint::parse(&body).unwrap().sign(&[&log]));
        let (_, opened) = Checkpoint::open(note.as_bytes(), log.verifier()).unwrap();
        let cosigs = opened.cosignatures(&[w.verifier().clone()]).unwrap();
        assert_eq!(cosigs.len(), 1);
        assert_eq!(cosigs[0].time, time);
        // Any changed byte of the body fails; so does another time.
        let changed = note.replacen(&size.to_string(), &(size + 1).to_string(), 1);
        if let Ok((_, o)) = Checkpoint::open(changed.as_bytes(), log.verifier()) {
            assert!(o.cosignatures(&[w.verifier().clone()]).is_err());
        }
        let seed_b64 = vouch::note::BASE64.encode([seed; 32]);
        cases.push(serde_json::json!({
            "witness_seed": seed_b64,
            "witness_vkey": w.verifier().to_string(),
            "log_vkey": log.verifier().to_string(),
            "time": time,
            "note": note,
        }));
    }
    let file = serde_json::json!({
        "about": "C2SP tlog-cosignature cosignature/v1 (Ed25519, key id algorithm byte 0x04): each note is a checkpoint signed by the log, then cosigned by the witness at the given time; the witness key is the Ed25519 key of the 32-byte seed",
        "cases": cases,
    });
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/cosignature-vectors.json");
    if std::env::var_os("VOUCH_WRITE_VECTORS").is_some() {
        std::fs::write(path, serde_json::to_string_pretty(&file).unwrap() + "\n").unwrap();
    }
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(
        stored, file,
        "docs/cosignature-vectors.json is not what vouch makes"
    );
}

/// As the spec says: a cosignature line of a key the reader does not know is passed
/// over; one of a known witness whose time does not fit in 63 bits, or whose signature
/// does not hold for the time it names, is refused.
#[test]
fn unknown_cosigners_are_passed_over_and_bad_times_refused() {
    use base64::Engine as _;
    let log = log_key();
    let w = witness_key(1);
    let t = tree("entry", 4);
    let body = Checkpoint::new(ORIGIN, 4, t.root(), vec![])
        .unwrap()
        .to_text();
    let signed = Checkpoint::parse(&body).unwrap().sign(&[&log]);
    let open = |note: &str| {
        let (_, n) = Checkpoint::open(note.as_bytes(), log.verifier()).unwrap();
        n.cosignatures(&[w.verifier().clone()])
    };
    // An unknown witness's line: passed over.
    let stranger = witness_key(9);
    let note = format!("{signed}{}", stranger.cosignature_line(&body, 5));
    assert_eq!(open(&note).unwrap(), vec![]);
    // A line of the known witness with its time changed after signing: refused.
    let line = w.cosignature_line(&body, 1_790_000_000);
    let b64 = line.trim_end().rsplit(' ').next().unwrap();
    let mut raw = vouch::note::BASE64.decode(b64).unwrap();
    raw[11] ^= 1;
    let moved = line.replace(b64, &vouch::note::BASE64.encode(&raw));
    assert!(open(&format!("{signed}{moved}")).is_err());
    // A time of 2^63 or more, even signed as such: refused.
    let late = w.cosignature_line(&body, 1 << 63);
    assert!(open(&format!("{signed}{late}")).is_err());
    // And the honest line: one cosignature, with its time.
    assert_eq!(
        open(&format!("{signed}{line}")).unwrap()[0].time,
        1_790_000_000
    );
}
