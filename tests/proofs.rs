//! Property tests: every proof of a random tree verifies, and any change to a proof,
//! a leaf, a root or a size makes verification fail.

use std::sync::OnceLock;

use proptest::prelude::*;
use vouch::merkle::{self, Hash, MemoryTree, ProofError};

const MAX: u64 = 2000;

/// One tree of 2,000 leaves; smaller trees are its prefixes.
fn tree() -> &'static (MemoryTree, Vec<Hash>, Vec<Hash>) {
    static TREE: OnceLock<(MemoryTree, Vec<Hash>, Vec<Hash>)> = OnceLock::new();
    TREE.get_or_init(|| {
        let mut t = MemoryTree::new();
        let mut leaves = Vec::new();
        let mut roots = vec![merkle::empty_root()];
        for i in 0..MAX {
            let leaf = merkle::leaf_hash(format!("leaf {i}").as_bytes());
            leaves.push(leaf);
            t.push(leaf);
            roots.push(t.root());
        }
        (t, leaves, roots)
    })
}

fn flip(h: &Hash, bit: usize) -> Hash {
    let mut h = *h;
    h[(bit / 8) % 32] ^= 1 << (bit % 8);
    h
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_inclusion_proof_verifies(size in 1..=MAX) {
        let (t, leaves, roots) = tree();
        for index in 0..size {
            let proof = merkle::inclusion_proof(t, index, size).unwrap();
            prop_assert_eq!(
                merkle::verify_inclusion(&leaves[index as usize], index, size, &proof, &roots[size as usize]),
                Ok(())
            );
        }
    }

    #[test]
    fn every_consistency_proof_verifies(new in 0..=MAX) {
        let (t, _, roots) = tree();
        for old in 0..=new {
            let proof = merkle::consistency_proof(t, old, new).unwrap();
            prop_assert_eq!(
                merkle::verify_consistency(old, new, &proof, &roots[old as usize], &roots[new as usize]),
                Ok(())
            );
        }
    }

    #[test]
    fn tampered_inclusion_fails(size in 1..=MAX, index_seed in any::<u64>(), bit in 0usize..256, pick in any::<usize>(), delta in 1u64..5) {
        let (t, leaves, roots) = tree();
        let index = index_seed % size;
        let leaf = leaves[index as usize];
        let root = roots[size as usize];
        let proof = merkle::inclusion_proof(t, index, size).unwrap();
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let at = pick % bad.len();
            bad[at] = flip(&bad[at], bit);
            prop_assert!(merkle::verify_inclusion(&leaf, index, size, &bad, &root).is_err());
            // Dropping or adding a hash fails too.
            prop_assert!(merkle::verify_inclusion(&leaf, index, size, &proof[1..], &root).is_err());
        }
        let mut longer = proof.clone();
        longer.push(leaf);
        prop_assert!(merkle::verify_inclusion(&leaf, index, size, &longer, &root).is_err());
        prop_assert!(merkle::verify_inclusion(&flip(&leaf, bit), index, size, &proof, &root).is_err());
        prop_assert!(merkle::verify_inclusion(&leaf, index, size, &proof, &flip(&root, bit)).is_err());
        // Another size: its own root (a size is bound to its root by the checkpoint).
        for other in [size.saturating_sub(delta), size + delta] {
            if other != size && other > index && other <= MAX {
                prop_assert!(merkle::verify_inclusion(&leaf, index, other, &proof, &roots[other as usize]).is_err());
            }
        }
        // Another index.
        let other_index = (index + delta) % size;
        if other_index != index {
            prop_assert!(merkle::verify_inclusion(&leaf, other_index, size, &proof, &root).is_err());
        }
        prop_assert_eq!(
            merkle::verify_inclusion(&leaf, size, size, &proof, &root),
            Err(ProofError::IndexOutOfRange { index: size, size })
        );
    }

    #[test]
    fn tampered_consistency_fails(new in 2..=MAX, old_seed in any::<u64>(), bit in 0usize..256, pick in any::<usize>(), delta in 1u64..5) {
        let (t, _, roots) = tree();
        let old = 1 + old_seed % (new - 1);
        let (r1, r2) = (roots[old as usize], roots[new as usize]);
        let proof = merkle::consistency_proof(t, old, new).unwrap();
        prop_assert!(!proof.is_empty());
        let mut bad = proof.clone();
        let at = pick % bad.len();
        bad[at] = flip(&bad[at], bit);
        prop_assert!(merkle::verify_consistency(old, new, &bad, &r1, &r2).is_err());
        prop_assert!(merkle::verify_consistency(old, new, &proof[1..], &r1, &r2).is_err());
        prop_assert!(merkle::verify_consistency(old, new, &proof, &flip(&r1, bit), &r2).is_err());
        prop_assert!(merkle::verify_consistency(old, new, &proof, &r1, &flip(&r2, bit)).is_err());
        for (o, n) in [(old + delta, new), (old.saturating_sub(delta), new), (old, new + delta), (old, new.saturating_sub(delta))] {
            if (o, n) != (old, new) && o > 0 && o < n && n <= MAX {
                prop_assert!(merkle::verify_consistency(o, n, &proof, &roots[o as usize], &roots[n as usize]).is_err());
            }
        }
    }
}

#[test]
fn equal_and_empty_sizes_are_consistent_only_with_matching_roots() {
    let (_, _, roots) = tree();
    let empty = merkle::empty_root();
    assert_eq!(
        merkle::verify_consistency(0, 10, &[], &empty, &roots[10]),
        Ok(())
    );
    assert!(merkle::verify_consistency(0, 10, &[], &roots[1], &roots[10]).is_err());
    assert_eq!(
        merkle::verify_consistency(7, 7, &[], &roots[7], &roots[7]),
        Ok(())
    );
    assert!(merkle::verify_consistency(7, 7, &[], &roots[7], &roots[8]).is_err());
    assert!(merkle::verify_consistency(8, 7, &[], &roots[8], &roots[7]).is_err());
}
