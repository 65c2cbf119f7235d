//! Supplier index benchmark: run with `cargo bench --bench index`. Prints figures;
//! asserts nothing about time.
//!
//! With 100,000 subjects (override with VOUCH_BENCH_SUBJECTS): building the index,
//! updating it by batches of 1,024 subjects (as the sequencer does once per batch),
//! proof sizes (membership and non-membership; bytes of hashes and of the JSON form),
//! and verifying a proof.

use std::time::Instant;

use sha2::{Digest, Sha256};
use vouch::index::{self, ChainHead, Index};

fn head(i: u64) -> ChainHead {
    ChainHead {
        count: i % 300 + 1,
        newest_index: i * 10,
        newest_leaf_hash: Sha256::digest(i.to_be_bytes()).into(),
    }
}

fn subject(i: u64) -> String {
    format!("VN2026{:03}AB{:05}", i % 1000, i)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n: u64 = std::env::var("VOUCH_BENCH_SUBJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let t = Instant::now();
    let idx = Index::from_heads((0..n).map(|i| (index::key(&subject(i)), head(i))));
    println!(
        "build from {n} subjects: {:.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    );

    // Batches of 1,024: half existing subjects, half new ones.
    let rounds = 100u64;
    let t = Instant::now();
    let mut cur = idx.clone();
    for r in 0..rounds {
        let changes = (0..1024u64).map(|j| {
            let i = if j % 2 == 0 {
                (r * 7919 + j * 104_729) % n
            } else {
                n + r * 1024 + j
            };
            (index::key(&subject(i)), head(i + 1))
        });
        cur = cur.with(changes);
    }
    let per_batch = t.elapsed().as_secs_f64() / rounds as f64;
    println!(
        "update by 1,024 subjects: {:.2} ms a batch = {:.2} µs a subject",
        per_batch * 1e3,
        per_batch * 1e6 / 1024.0
    );

    let sample = 10_000u64;
    let (mut bytes, mut json, mut max, mut depth) = (0usize, 0usize, 0usize, 0usize);
    let root = idx.root();
    let t = Instant::now();
    for i in 0..sample {
        let k = index::key(&subject(i * (n / sample)));
        let p = idx.prove(&k);
        assert!(p.verify(&root, &k).unwrap().is_some());
        bytes += p.byte_len();
        max = max.max(p.byte_len());
        depth += p.siblings.len();
        json += serde_json::to_vec(&p.to_json()).unwrap().len();
    }
    let prove_verify = t.elapsed().as_secs_f64() / sample as f64;
    println!(
        "membership proof at {n} subjects: mean {} bytes ({:.1} levels), max {max} bytes; JSON mean {} bytes",
        bytes / sample as usize,
        depth as f64 / sample as f64,
        json / sample as usize
    );
    let (mut abytes, mut amax) = (0usize, 0usize);
    for i in 0..sample {
        let k = index::key(&format!("absent-{i}"));
        let p = idx.prove(&k);
        assert!(p.verify(&root, &k).unwrap().is_none());
        abytes += p.byte_len();
        amax = amax.max(p.byte_len());
    }
    println!(
        "non-membership proof: mean {} bytes, max {amax} bytes",
        abytes / sample as usize
    );
    let k = index::key(&subject(42));
    let p = idx.prove(&k);
    let t = Instant::now();
    for _ in 0..10_000 {
        std::hint::black_box(p.verify(&root, &k).unwrap());
    }
    println!(
        "prove + verify + JSON: {:.1} µs; verify alone: {:.1} µs",
        prove_verify * 1e6,
        t.elapsed().as_secs_f64() * 1e6 / 10_000.0
    );
}
