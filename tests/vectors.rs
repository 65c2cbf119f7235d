//! vouch against the public vectors in `tests/vectors/` (copies of the project's shared
//! vectors, made by Go's `golang.org/x/mod/sumdb` packages and securesystemslib).
//! Expected values come from the files only.

use std::path::PathBuf;

use serde::Deserialize;
use vouch::merkle::{self, Hash, MemoryTree};
use vouch::note::{self, Checkpoint, KeyName, Signer, Verifier};

fn vector_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name)
}

fn load<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let path = vector_path(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("vector file {} must exist: {e}", path.display()));
    serde_json::from_str(&text).expect("vector file parses")
}

fn h(s: &str) -> Hash {
    hex::decode(s).unwrap().try_into().unwrap()
}

#[derive(Deserialize)]
struct MerkleSet {
    description: String,
    leaves_hex: Vec<String>,
    leaf_hashes: Vec<String>,
    roots_by_size: Vec<String>,
    inclusion: Vec<Inclusion>,
    consistency: Vec<Consistency>,
}

#[derive(Deserialize)]
struct Inclusion {
    index: u64,
    tree_size: u64,
    leaf_hash: String,
    root: String,
    proof: Vec<String>,
}

#[derive(Deserialize)]
struct Consistency {
    size1: u64,
    size2: u64,
    root1: String,
    root2: String,
    proof: Vec<String>,
}

#[test]
fn merkle_vectors_roots_inclusion_and_consistency() {
    let sets: Vec<MerkleSet> = load("merkle-rfc6962.json");
    assert!(sets.len() >= 2);
    for set in &sets {
        let mut tree = MemoryTree::new();
        assert_eq!(
            merkle::empty_root(),
            h(&set.roots_by_size[0]),
            "{}",
            set.description
        );
        for (i, leaf_hex) in set.leaves_hex.iter().enumerate() {
            let leaf = merkle::leaf_hash(&hex::decode(leaf_hex).unwrap());
            assert_eq!(
                leaf,
                h(&set.leaf_hashes[i]),
                "leaf {i} of {}",
                set.description
            );
            tree.push(leaf);
            let want = h(&set.roots_by_size[i + 1]);
            assert_eq!(tree.root(), want, "root of size {}", i + 1);
            assert_eq!(merkle::root(&tree, i as u64 + 1).unwrap(), want);
        }
        for v in &set.inclusion {
            let proof: Vec<Hash> = v.proof.iter().map(|p| h(p)).collect();
            let ours = merkle::inclusion_proof(&tree, v.index, v.tree_size).unwrap();
            assert_eq!(ours, proof, "inclusion {} in {}", v.index, v.tree_size);
            merkle::verify_inclusion(&h(&v.leaf_hash), v.index, v.tree_size, &proof, &h(&v.root))
                .unwrap();
        }
        for v in &set.consistency {
            let proof: Vec<Hash> = v.proof.iter().map(|p| h(p)).collect();
            let ours = merkle::consistency_proof(&tree, v.size1, v.size2).unwrap();
            assert_eq!(ours, proof, "consistency {} -> {}", v.size1, v.size2);
            merkle::verify_consistency(v.size1, v.size2, &proof, &h(&v.root1), &h(&v.root2))
                .unwrap();
        }
    }
}

#[derive(Deserialize)]
struct NoteVectors {
    key_id_hex: String,
    seed_hex: String,
    signer_key: String,
    verifier_key: String,
    notes: Vec<NoteVector>,
}

#[derive(Deserialize)]
struct NoteVector {
    description: String,
    text: String,
    signed_note: String,
}

#[test]
fn signed_note_vectors_are_reproduced_byte_for_byte_and_verify() {
    let v: NoteVectors = load("signed-note.json");
    let seed: [u8; 32] = hex::decode(&v.seed_hex).unwrap().try_into().unwrap();
    let verifier = Verifier::parse(&v.verifier_key).unwrap();
    let signer = Signer::parse(&v.signer_key).unwrap();
    assert_eq!(format!("{:08x}", signer.key_id()), v.key_id_hex);
    assert_eq!(signer.to_key_string(), v.signer_key);
    assert_eq!(verifier.to_string(), v.verifier_key);
    assert_eq!(signer.verifier(), &verifier);
    let from_seed = Signer::from_seed(verifier.name().clone(), seed);
    assert_eq!(from_seed.to_key_string(), v.signer_key);
    assert!(!v.notes.is_empty());
    for n in &v.notes {
        assert_eq!(
            note::sign(&n.text, &[&signer]).unwrap(),
            n.signed_note,
            "{}",
            n.description
        );
        let opened = note::open(n.signed_note.as_bytes(), std::slice::from_ref(&verifier)).unwrap();
        assert_eq!(opened.text, n.text);
        let (cp, _) = Checkpoint::open(n.signed_note.as_bytes(), &verifier).unwrap();
        assert_eq!(cp.to_text(), n.text, "{}", n.description);
        assert_eq!(cp.origin(), "vouch.example/vn-apparel");
    }
}

#[test]
fn signed_note_vectors_fail_under_another_key() {
    let v: NoteVectors = load("signed-note.json");
    let other = Signer::from_seed(KeyName::new("vouch.example/vn-apparel").unwrap(), [42; 32]);
    for n in &v.notes {
        assert_eq!(
            note::open(n.signed_note.as_bytes(), &[other.verifier().clone()]).unwrap_err(),
            note::NoteError::NoTrustedSignature
        );
    }
}

#[derive(Deserialize)]
struct DsseVector {
    seed_hex: String,
    public_key_hex: String,
    payload_type: String,
    payload_utf8: String,
    pae_hex: String,
    envelope: vouch::envelope::Envelope,
}

#[test]
fn dsse_vector_from_securesystemslib_verifies_and_is_reproduced() {
    let v: DsseVector = load("dsse.json");
    assert_eq!(v.envelope.payload_type, v.payload_type);
    assert_eq!(
        hex::encode(vouch::envelope::pae(
            &v.payload_type,
            v.payload_utf8.as_bytes()
        )),
        v.pae_hex
    );
    let key_bytes: [u8; 32] = hex::decode(&v.public_key_hex).unwrap().try_into().unwrap();
    let key = ed25519_dalek::VerifyingKey::from_bytes(&key_bytes).unwrap();
    let body = v.envelope.verify_with(&key).unwrap();
    assert_eq!(body, v.payload_utf8.as_bytes());
    // Another key does not verify it.
    let other = Signer::from_seed(KeyName::new("x").unwrap(), [9; 32]);
    assert!(v.envelope.verify_with(other.verifier().key()).is_err());
    // The statement inside is a valid vouch statement.
    vouch::statement::Statement::parse(&body).unwrap();
    // Ed25519 is deterministic: signing the same payload with the same seed gives the
    // same signature (vouch writes its own key id, not securesystemslib's).
    let seed: [u8; 32] = hex::decode(&v.seed_hex).unwrap().try_into().unwrap();
    let signer = Signer::from_seed(KeyName::new("dsse-test").unwrap(), seed);
    assert_eq!(signer.verifier().key().as_bytes(), &key_bytes);
    let ours = vouch::envelope::sign(&v.payload_type, v.payload_utf8.as_bytes(), &[&signer]);
    assert_eq!(ours.payload, v.envelope.payload);
    assert_eq!(ours.signatures[0].sig, v.envelope.signatures[0].sig);
    assert_eq!(ours.signatures[0].keyid, format!("{:08x}", signer.key_id()));
    // With vouch's key id, the envelope opens and its signature verifies.
    let opened = ours.open().unwrap();
    assert_eq!(hex::encode(&opened.pae), v.pae_hex);
    assert!(opened.verify_one(0, &key));
}

/// The copies in `tests/vectors/` must stay equal to the project's shared vectors,
/// where a checkout has them beside it (a plain clone does not, and skips this).
#[test]
fn vector_copies_equal_the_shared_source() {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors");
    let Ok(dir) = std::fs::read_dir(&source) else {
        return;
    };
    for file in dir {
        let file = file.unwrap().path();
        let name = file.file_name().unwrap().to_str().unwrap().to_owned();
        let copy = std::fs::read(vector_path(&name))
            .unwrap_or_else(|e| panic!("tests/vectors/{name} must exist: {e}"));
        assert_eq!(
            copy,
            std::fs::read(&file).unwrap(),
            "tests/vectors/{name} differs"
        );
    }
}

#[derive(serde::Deserialize)]
struct EdgeCase {
    number: u32,
    key: String,
    sig: String,
    msg: String,
    go_accepts: bool,
    pyca_accepts: bool,
}

/// vouch's answer for an edge case: the key as `Verifier::parse` reads keys (a point,
/// canonically written), the signature as `envelope::verify_signature` checks it.
fn vouch_accepts(c: &EdgeCase) -> bool {
    let key: [u8; 32] = hex::decode(&c.key).unwrap().try_into().unwrap();
    let sig: [u8; 64] = hex::decode(&c.sig).unwrap().try_into().unwrap();
    let Ok(vk) = ed25519_dalek::VerifyingKey::from_bytes(&key) else {
        return false;
    };
    let canonical = vk.to_edwards().compress().to_bytes() == key;
    canonical
        && vouch::envelope::verify_signature(
            c.msg.as_bytes(),
            &ed25519_dalek::Signature::from_bytes(&sig),
            &vk,
        )
}

/// The 914 edge cases of C2SP's ed25519vectors, with Go's and PyCA's verdicts: vouch
/// accepts none that either rejects (a signer cannot make a signature vouch calls
/// valid and a standard verifier later calls invalid), and it accepts the ordinary
/// signatures among them.
#[test]
fn ed25519_edge_cases_accepts_nothing_go_or_pyca_rejects() {
    let cases: Vec<EdgeCase> = load("ed25519-edge-cases.json");
    assert_eq!(cases.len(), 914);
    let mut accepted = 0;
    for c in &cases {
        let ours = vouch_accepts(c);
        assert!(
            !ours || (c.go_accepts && c.pyca_accepts),
            "case {}: vouch accepts what Go ({}) or PyCA ({}) rejects",
            c.number,
            c.go_accepts,
            c.pyca_accepts
        );
        accepted += u32::from(ours);
    }
    // Go and PyCA accept 208; vouch also refuses those with a small-order R or key.
    assert!(accepted > 0 && accepted <= 208, "vouch accepts {accepted}");
    eprintln!("vouch accepts {accepted} of the 914 edge cases (Go and PyCA: 208)");
}
