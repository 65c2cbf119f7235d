//! The supplier index against an independent model: the root computed straight from
//! the definition in `docs/index.md` over a plain map, after random batches of updates;
//! every membership and non-membership proof verifies, and every flipped bit fails.

use std::collections::BTreeMap;

use proptest::prelude::*;
use sha2::{Digest, Sha256};
use vouch::index::{self, ChainHead, Index, Key, Proof};

/// The definition, written out: the hash of the subtree at `depth` over `keys`.
fn model_root(items: &[(Key, ChainHead)], depth: usize) -> [u8; 32] {
    let sha = |parts: &[&[u8]]| -> [u8; 32] {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p);
        }
        h.finalize().into()
    };
    match items {
        [] => sha(&[&[2]]),
        [(k, h)] => sha(&[
            &[0],
            k,
            &h.count.to_be_bytes(),
            &h.newest_index.to_be_bytes(),
            &h.newest_leaf_hash,
        ]),
        _ => {
            let bit = |k: &Key| (k[depth / 8] >> (7 - depth % 8)) & 1;
            let left: Vec<_> = items.iter().filter(|(k, _)| bit(k) == 0).cloned().collect();
            let right: Vec<_> = items.iter().filter(|(k, _)| bit(k) == 1).cloned().collect();
            sha(&[
                &[1],
                &model_root(&left, depth + 1),
                &model_root(&right, depth + 1),
            ])
        }
    }
}

fn head(count: u64, newest: u64) -> ChainHead {
    ChainHead {
        count,
        newest_index: newest,
        newest_leaf_hash: Sha256::digest(newest.to_be_bytes()).into(),
    }
}

/// Every single-bit change of a proof's content makes it fail (or, for a leaf's key in
/// a non-membership proof, still say nothing about `key` that is false).
fn assert_every_flip_fails(proof: &Proof, root: &[u8; 32], key: &Key) {
    for s in 0..proof.siblings.len() {
        for bit in [0, 77, 255] {
            let mut p = proof.clone();
            p.siblings[s][bit / 8] ^= 1 << (bit % 8);
            assert!(p.verify(root, key).is_err(), "sibling {s} bit {bit}");
        }
    }
    if let Some((k, h)) = proof.leaf {
        for bit in [0, 100, 255] {
            let mut p = proof.clone();
            let mut k2 = k;
            k2[bit / 8] ^= 1 << (bit % 8);
            p.leaf = Some((k2, h));
            match p.verify(root, key) {
                Err(_) => {}
                Ok(found) => panic!("a flipped leaf key still verified: {found:?}"),
            }
        }
        for field in 0..3 {
            let mut p = proof.clone();
            let mut h2 = h;
            match field {
                0 => h2.count ^= 1,
                1 => h2.newest_index ^= 1 << 40,
                _ => h2.newest_leaf_hash[31] ^= 0x80,
            }
            p.leaf = Some((k, h2));
            assert!(p.verify(root, key).is_err(), "leaf field {field}");
        }
    }
    // A proof cut short or made longer.
    if !proof.siblings.is_empty() {
        let mut p = proof.clone();
        p.siblings.pop();
        assert!(
            p.verify(root, key).is_err(),
            "a proof without its top sibling"
        );
    }
    let mut p = proof.clone();
    p.siblings.push(index::empty_hash());
    assert!(p.verify(root, key).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn index_matches_the_model_and_every_proof_holds(
        batches in prop::collection::vec(
            prop::collection::vec((0u32..400, 1u64..1_000_000), 1..40),
            1..12,
        ),
        absent in prop::collection::vec(400u32..10_000, 1..10),
    ) {
        let mut index = Index::new();
        let mut model: BTreeMap<Key, ChainHead> = BTreeMap::new();
        let mut snapshots = Vec::new();
        for batch in &batches {
            let changes: Vec<(Key, ChainHead)> = batch
                .iter()
                .map(|(s, n)| (index::key(&format!("VN{s:013}")), head(*n, *n * 3)))
                .collect();
            let before = index.root();
            index = index.with(changes.clone());
            for (k, h) in changes {
                model.insert(k, h);
            }
            let items: Vec<_> = model.iter().map(|(k, h)| (*k, *h)).collect();
            prop_assert_eq!(index.root(), model_root(&items, 0));
            prop_assert_eq!(index.len(), model.len());
            snapshots.push((before, index.clone()));
        }
        // Older snapshots are untouched by later updates.
        for (before, snap) in snapshots.windows(2).map(|w| (w[1].0, &w[0].1)) {
            prop_assert_eq!(snap.root(), before);
        }
        let root = index.root();
        for (k, h) in &model {
            let proof = index.prove(k);
            prop_assert_eq!(proof.verify(&root, k), Ok(Some(*h)));
            // The JSON form round-trips.
            prop_assert_eq!(&proof.to_json().decode().unwrap(), &proof);
            assert_every_flip_fails(&proof, &root, k);
        }
        for s in absent {
            let k = index::key(&format!("VN{s:013}"));
            let proof = index.prove(&k);
            prop_assert_eq!(proof.verify(&root, &k), Ok(None));
            assert_every_flip_fails(&proof, &root, &k);
            // A non-membership proof never passes for a key that is present.
            for present in model.keys().take(5) {
                prop_assert!(proof.verify(&root, present) != Ok(None));
            }
        }
    }
}

/// A membership proof for one subject cannot be passed off as a proof for another, and
/// a proof of absence cannot be made for a present subject by using another leaf.
#[test]
fn proofs_are_bound_to_their_key() {
    let index =
        Index::from_heads((0..1000u64).map(|i| (index::key(&format!("s{i}")), head(i + 1, i))));
    let root = index.root();
    let a = index::key("s1");
    let b = index::key("s2");
    let proof_a = index.prove(&a);
    assert!(proof_a.verify(&root, &b).is_err());
    // The leaf of `a` offered as the end of `b`'s path: `a` does not share it.
    let forged = Proof {
        leaf: proof_a.leaf,
        siblings: index.prove(&b).siblings,
    };
    assert!(forged.verify(&root, &b).is_err());
}

/// The index of 60 subjects, its root and proofs (present, absent, and broken ones), as
/// `docs/index-vectors.json` holds them: a fixed target for verifiers written from
/// `docs/index.md` alone. `VOUCH_WRITE_VECTORS=1` rewrites the file.
#[test]
fn index_vectors_match_the_committed_file() {
    use serde_json::{json, Value};
    let subjects: Vec<(String, ChainHead)> = (0..60u64)
        .map(|i| {
            (
                format!("VN2026{:03}AB{:04}", i * 7 % 1000, i),
                head(i % 5 + 1, 1000 + i * 3),
            )
        })
        .collect();
    let index = Index::from_heads(subjects.iter().map(|(s, h)| (index::key(s), *h)));
    let root = index.root();
    let b64 = |h: &[u8]| vouch::entry::encode_hash(h.try_into().unwrap());
    let mut proofs = Vec::new();
    for (s, _) in subjects.iter().step_by(7) {
        proofs.push(json!({"subject": s, "proof": index.prove(&index::key(s)).to_json(), "result": "present"}));
    }
    // Absent subjects: the first whose path ends in an empty subtree, then three whose
    // path ends in another subject's leaf.
    let empty_end = (0..)
        .map(|i| format!("VN2026999ZZ{i:04}"))
        .find(|s| index.prove(&index::key(s)).leaf.is_none())
        .unwrap();
    for s in [
        empty_end.as_str(),
        "VN2026999ZZ9999",
        "registry",
        "VN0000000XXXXXX",
    ] {
        proofs.push(json!({"subject": s, "proof": index.prove(&index::key(s)).to_json(), "result": "absent"}));
    }
    // Broken: a present subject's proof with a changed count; an absent subject offered
    // another subject's proof; a sibling changed.
    let (s0, _) = &subjects[3];
    let mut p = index.prove(&index::key(s0));
    if let Some((_, h)) = p.leaf.as_mut() {
        h.count += 1;
    }
    proofs.push(json!({"subject": s0, "proof": p.to_json(), "result": "reject"}));
    proofs.push(json!({"subject": "VN2026999ZZ9999", "proof": index.prove(&index::key(s0)).to_json(), "result": "reject"}));
    let mut p = index.prove(&index::key(&subjects[10].0));
    p.siblings[0][0] ^= 1;
    proofs.push(json!({"subject": subjects[10].0, "proof": p.to_json(), "result": "reject"}));
    // An empty sibling written out as EMPTY instead of null: the proof would lead to
    // the root, but each proof has one encoding.
    let (s, mut p) = subjects
        .iter()
        .map(|(s, _)| (s, index.prove(&index::key(s)).to_json()))
        .find(|(_, p)| p.siblings.iter().any(Option::is_none))
        .expect("some path passes an empty subtree");
    let at = p.siblings.iter().position(Option::is_none).unwrap();
    p.siblings[at] = Some(b64(&index::empty_hash()));
    proofs.push(json!({"subject": s, "proof": p, "result": "reject"}));
    let file = json!({
        "description": "vouch supplier index (docs/index.md): the leaves, the root, and proofs to verify against it",
        "leaves": subjects.iter().map(|(s, h)| json!({
            "subject": s,
            "count": h.count,
            "newest_index": h.newest_index,
            "newest_leaf_hash": b64(&h.newest_leaf_hash),
        })).collect::<Vec<_>>(),
        "root": b64(&root),
        "empty_root": b64(&index::empty_hash()),
        "proofs": proofs,
    });
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/index-vectors.json");
    if std::env::var_os("VOUCH_WRITE_VECTORS").is_some() {
        std::fs::write(path, serde_json::to_string_pretty(&file).unwrap() + "\n").unwrap();
    }
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(
        stored, file,
        "docs/index-vectors.json is not what the index computes"
    );
    // And every case says what it should.
    for case in stored["proofs"].as_array().unwrap() {
        let subject = case["subject"].as_str().unwrap();
        let proof: index::ProofJson = serde_json::from_value(case["proof"].clone()).unwrap();
        let got = proof
            .decode()
            .and_then(|p| p.verify(&root, &index::key(subject)));
        match case["result"].as_str().unwrap() {
            "present" => assert!(matches!(got, Ok(Some(_))), "{subject}"),
            "absent" => assert_eq!(got, Ok(None), "{subject}"),
            _ => assert!(got.is_err(), "{subject}"),
        }
    }
}

/// docs/index.md §5: counts and indexes are JSON integers, written without a fraction
/// or an exponent.
#[test]
fn proof_numbers_with_a_fraction_or_an_exponent_are_refused() {
    let index = Index::from_heads([(index::key("VN2026001AB0001"), head(3, 812))]);
    let good = serde_json::to_value(index.prove(&index::key("VN2026001AB0001")).to_json()).unwrap();
    assert!(serde_json::from_value::<index::ProofJson>(good.clone()).is_ok());
    for (field, number) in [
        ("count", "3.0"),
        ("count", "3e0"),
        ("newest_index", "812.0"),
    ] {
        let text = serde_json::to_string(&good).unwrap().replace(
            &format!("\"{field}\":{}", good["leaf"][field]),
            &format!("\"{field}\":{number}"),
        );
        assert_ne!(text, serde_json::to_string(&good).unwrap(), "{field}");
        assert!(
            serde_json::from_str::<index::ProofJson>(&text).is_err(),
            "{field} = {number} was taken"
        );
    }
}
