//! Merkle tree hashing and proofs, per [RFC 9162 §2.1](https://www.rfc-editor.org/rfc/rfc9162#section-2.1).
//!
//! SHA-256; the empty tree's root is SHA-256 of the empty string; a leaf hash is
//! `SHA-256(0x00 || entry)`; a node hash is `SHA-256(0x01 || left || right)`; a tree of
//! `n > 1` leaves splits at the largest power of two smaller than `n`.
//!
//! The tree is stored as its *complete* subtrees: [`Node`] `{level, index}` is the
//! subtree of the `2^level` leaves starting at `index << level`. Every hash a proof or
//! a root needs is a short fold of such nodes, so a store that keeps them answers any
//! proof with O(log n) reads ([`inclusion_proof`], [`consistency_proof`]).
//!
//! The verification functions ([`verify_inclusion`], [`verify_consistency`]) are the
//! ones clients use: they take hashes, never a store.

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// The root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The hash of a leaf: `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.finalize().into()
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// A complete subtree: the `2^level` leaves starting at leaf `index << level`.
/// Level 0 nodes are leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Node {
    pub level: u8,
    pub index: u64,
}

impl Node {
    pub const fn new(level: u8, index: u64) -> Self {
        Node { level, index }
    }
}

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("index {index} is not in a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("old tree size {old} is larger than new tree size {new}")]
    SizesReversed { old: u64, new: u64 },
    #[error("proof has {got} hashes, expected {want}")]
    WrongLength { got: usize, want: usize },
    #[error("proof does not lead to the expected root")]
    RootMismatch,
}

/// A source of complete-subtree hashes, such as a store. Reads come in one call per
/// proof so that a store can serve them together.
pub trait HashReader {
    type Error;
    /// Returns the hashes of `nodes`, in the same order.
    ///
    /// # Errors
    /// When a node is missing or the underlying storage fails.
    fn read_hashes(&self, nodes: &[Node]) -> Result<Vec<Hash>, Self::Error>;
}

/// The largest power of two strictly smaller than `n` (`n >= 2`).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The complete subtrees that make up leaves `[lo, hi)`, left to right. The range is a
/// subtree of the RFC 9162 recursion, so its hash is the right fold of these nodes.
pub fn range_nodes(lo: u64, hi: u64) -> Vec<Node> {
    let mut nodes = Vec::new();
    let mut start = lo;
    while start < hi {
        // The largest aligned block at `start` that fits in the range.
        let align = if start == 0 {
            63
        } else {
            start.trailing_zeros()
        };
        let fit = 63 - (hi - start).leading_zeros();
        let level = align.min(fit);
        nodes.push(Node::new(level as u8, start >> level));
        start += 1u64 << level;
    }
    nodes
}

/// The hash of a run of complete subtrees laid out left to right: the right fold
/// `node(h0, node(h1, ... node(hn-2, hn-1)))`.
pub fn fold_right(hashes: &[Hash]) -> Option<Hash> {
    let (last, rest) = hashes.split_last()?;
    Some(rest.iter().rev().fold(*last, |acc, h| node_hash(h, &acc)))
}

/// The leaf ranges whose hashes form the inclusion proof of `index` in a tree of `size`,
/// ordered from the leaf upwards (RFC 9162 §2.1.3.1).
fn inclusion_ranges(index: u64, size: u64) -> Vec<(u64, u64)> {
    let mut ranges = Vec::new();
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            ranges.push((lo + k, hi));
            hi = lo + k;
        } else {
            ranges.push((lo, lo + k));
            lo += k;
        }
    }
    ranges.reverse();
    ranges
}

/// The leaf ranges whose hashes form the consistency proof from `old` to `new`
/// (`0 < old < new`), in RFC 9162 §2.1.4.1 order.
fn consistency_ranges(old: u64, new: u64) -> Vec<(u64, u64)> {
    let mut ranges = Vec::new();
    let (mut lo, mut hi, mut m) = (0u64, new, old);
    let mut complete = true;
    loop {
        let n = hi - lo;
        if m == n {
            if !complete {
                ranges.push((lo, hi));
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            ranges.push((lo + k, hi));
            hi = lo + k;
        } else {
            ranges.push((lo, lo + k));
            lo += k;
            m -= k;
            complete = false;
        }
    }
    ranges.reverse();
    ranges
}

/// Reads the hashes of leaf ranges with one call to `reader`.
fn range_hashes<R: HashReader>(reader: &R, ranges: &[(u64, u64)]) -> Result<Vec<Hash>, R::Error> {
    let per_range: Vec<Vec<Node>> = ranges.iter().map(|&(lo, hi)| range_nodes(lo, hi)).collect();
    let all: Vec<Node> = per_range.iter().flatten().copied().collect();
    let hashes = reader.read_hashes(&all)?;
    let mut out = Vec::with_capacity(ranges.len());
    let mut at = 0;
    for nodes in &per_range {
        let folded = fold_right(&hashes[at..at + nodes.len()]).expect("a range is never empty");
        out.push(folded);
        at += nodes.len();
    }
    Ok(out)
}

/// The root of the tree of `size` leaves.
///
/// # Errors
/// When the reader fails.
pub fn root<R: HashReader>(reader: &R, size: u64) -> Result<Hash, R::Error> {
    if size == 0 {
        return Ok(empty_root());
    }
    let hashes = reader.read_hashes(&range_nodes(0, size))?;
    Ok(fold_right(&hashes).expect("a non-empty tree has nodes"))
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves, from the leaf upwards.
///
/// # Errors
/// [`ProofError::IndexOutOfRange`] (as `Err(Ok(..))`) when `index >= size`; the reader's
/// error as `Err(Err(..))`.
pub fn inclusion_proof<R: HashReader>(
    reader: &R,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, Result<ProofError, R::Error>> {
    if index >= size {
        return Err(Ok(ProofError::IndexOutOfRange { index, size }));
    }
    range_hashes(reader, &inclusion_ranges(index, size)).map_err(Err)
}

/// Below this level (levels 1 and 2: `hash_of` in [`inclusion_proofs`]), a node is
/// computed from its leaves instead of read: a proof reads the leaf row around its
/// entry anyway (stores keep hashes in rows of 32 and cache upper levels), and 1 or 3
/// hashes cost less than a read.
const COMPUTED_BELOW: u8 = 3;

/// The inclusion proofs of every index of `indexes` in the tree of `size`, in that
/// order: what calling [`inclusion_proof`] for each gives, with every hash read once
/// (proofs of nearby entries share most of their nodes) in one call to `reader`, and
/// nodes of levels 1 and 2 computed from their leaves.
///
/// # Errors
/// As [`inclusion_proof`], for the first index that fails.
pub fn inclusion_proofs<R: HashReader>(
    reader: &R,
    indexes: &[u64],
    size: u64,
) -> Result<Vec<Vec<Hash>>, Result<ProofError, R::Error>> {
    if let Some(&index) = indexes.iter().find(|&&i| i >= size) {
        return Err(Ok(ProofError::IndexOutOfRange { index, size }));
    }
    let ranges: Vec<Vec<(u64, u64)>> = indexes.iter().map(|&i| inclusion_ranges(i, size)).collect();
    // Each range once. Most are one complete subtree; the right edge folds a few.
    let mut unique: Vec<(u64, u64)> = ranges.iter().flatten().copied().collect();
    unique.sort_unstable();
    unique.dedup();
    // The nodes each range folds, flat: those of `unique[i]` are `folds[at[i]..at[i + 1]]`.
    let mut folds: Vec<Node> = Vec::with_capacity(unique.len() + 64);
    let mut at = Vec::with_capacity(unique.len() + 1);
    for &(lo, hi) in &unique {
        at.push(folds.len());
        let width = hi - lo;
        if width.is_power_of_two() && lo % width == 0 {
            folds.push(Node::new(
                width.trailing_zeros() as u8,
                lo >> width.trailing_zeros(),
            ));
        } else {
            folds.extend(range_nodes(lo, hi));
        }
    }
    at.push(folds.len());
    let mut reads: Vec<Node> = Vec::with_capacity(folds.len() * 2);
    for &node in &folds {
        if node.level > 0 && node.level < COMPUTED_BELOW {
            let first = node.index << node.level;
            reads.extend((first..first + (1 << node.level)).map(|i| Node::new(0, i)));
        } else {
            reads.push(node);
        }
    }
    reads.sort_unstable();
    reads.dedup();
    let hashes = reader.read_hashes(&reads).map_err(Err)?;
    let read = |n: Node| hashes[reads.binary_search(&n).expect("every node is read")];
    let hash_of = |n: &Node| -> Hash {
        let leaf = |i: u64| read(Node::new(0, (n.index << n.level) + i));
        match n.level {
            1 => node_hash(&leaf(0), &leaf(1)),
            2 => node_hash(
                &node_hash(&leaf(0), &leaf(1)),
                &node_hash(&leaf(2), &leaf(3)),
            ),
            _ => read(*n),
        }
    };
    let mut run = Vec::new();
    let folded: Vec<Hash> = (0..unique.len())
        .map(|i| {
            run.clear();
            run.extend(folds[at[i]..at[i + 1]].iter().map(hash_of));
            fold_right(&run).expect("a range is never empty")
        })
        .collect();
    let of = |r: &(u64, u64)| folded[unique.binary_search(r).expect("every range is folded")];
    Ok(ranges
        .iter()
        .map(|rs| rs.iter().map(of).collect())
        .collect())
}

/// Hashes the leaf ranges and nodes of one tree for a map: a multiply-xor of their
/// numbers, enough for keys that no adversary picks (they come from the tree's shape).
#[derive(Default)]
struct RangeHasher;

struct RangeHash(u64);

impl std::hash::BuildHasher for RangeHasher {
    type Hasher = RangeHash;
    fn build_hasher(&self) -> RangeHash {
        RangeHash(0)
    }
}

impl std::hash::Hasher for RangeHash {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// Verifies many inclusion proofs in the tree of `size` against one `root`: the same
/// outcome as [`verify_inclusion`] for each `(leaf, index, proof)`, with less hashing.
/// Every node on a path that reached the root, and every sibling hash of that path, is
/// then proven; a later path stops hashing at the first node already proven, must
/// equal it there, and the rest of its proof must be proven nodes.
///
/// # Errors
/// The position in `items` of the first proof that fails, and why.
pub fn verify_inclusions(
    items: &[(Hash, u64, &[Hash])],
    size: u64,
    root: &Hash,
) -> Result<(), (usize, ProofError)> {
    // Each path adds two ranges a level.
    let levels = 2 * (64 - size.leading_zeros() as usize) + 1;
    let mut proven: std::collections::HashMap<(u64, u64), Hash, RangeHasher> =
        std::collections::HashMap::with_capacity_and_hasher(items.len() * levels, RangeHasher);
    for (at, &(leaf, index, proof)) in items.iter().enumerate() {
        if index >= size {
            return Err((at, ProofError::IndexOutOfRange { index, size }));
        }
        let ranges = inclusion_ranges(index, size);
        if proof.len() != ranges.len() {
            return Err((
                at,
                ProofError::WrongLength {
                    got: proof.len(),
                    want: ranges.len(),
                },
            ));
        }
        // Climb: `(lo, hi)` is the range whose hash is `h`. Once it meets a proven
        // node, the rest of the proof must be proven nodes too.
        let (mut lo, mut hi, mut h) = (index, index + 1, leaf);
        let mut path = vec![((lo, hi), h)];
        let mut met = false;
        let mut ok = true;
        for (&(slo, shi), sibling) in ranges.iter().zip(proof) {
            if !met {
                if let Some(known) = proven.get(&(lo, hi)) {
                    met = true;
                    ok = *known == h;
                }
            }
            if met {
                ok &= proven.get(&(slo, shi)) == Some(sibling);
                if !ok {
                    break;
                }
                continue;
            }
            path.push(((slo, shi), *sibling));
            if slo >= hi {
                h = node_hash(&h, sibling);
                hi = shi;
            } else {
                h = node_hash(sibling, &h);
                lo = slo;
            }
            path.push(((lo, hi), h));
        }
        if !met {
            ok = match proven.get(&(lo, hi)) {
                Some(known) => *known == h,
                None => (lo, hi) == (0, size) && h == *root,
            };
        }
        if !ok {
            return Err((at, ProofError::RootMismatch));
        }
        proven.extend(path);
    }
    Ok(())
}

/// The consistency proof between the trees of `old` and `new` leaves. Empty when
/// `old == 0` or `old == new`.
///
/// # Errors
/// [`ProofError::SizesReversed`] (as `Err(Ok(..))`) when `old > new`; the reader's error
/// as `Err(Err(..))`.
pub fn consistency_proof<R: HashReader>(
    reader: &R,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, Result<ProofError, R::Error>> {
    if old > new {
        return Err(Ok(ProofError::SizesReversed { old, new }));
    }
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    range_hashes(reader, &consistency_ranges(old, new)).map_err(Err)
}

/// Verifies that `leaf` is at `index` in the tree of `size` leaves with root `root`
/// (RFC 9162 §2.1.3.2).
///
/// # Errors
/// Says why the proof does not hold.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let want = inclusion_ranges(index, size).len();
    if proof.len() != want {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            want,
        });
    }
    climb(index, size - 1, *leaf, proof, root)
}

/// The RFC 9162 §2.1.3.2 loop from a node at position `f` of the `s + 1` nodes of its
/// level, up the `proof` path, to `root`.
fn climb(
    mut f: u64,
    mut s: u64,
    mut r: Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    for p in proof {
        if s == 0 {
            return Err(ProofError::RootMismatch);
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s == 0 && r == *root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Checks that `hashes` are the complete-subtree hashes of nodes `first..first + len`
/// of `level` in the tree of `size` leaves with root `root`: the contents of a hash
/// tile (level `8·L`), or the leaf hashes of an entry bundle (level 0).
///
/// A run whose length is a power of two and that forms one complete subtree is proven
/// by that subtree's inclusion proof. A run that ends at the tree's right edge is
/// proven by recomputing the root from it and the tree's other edge nodes. Either way
/// `reader` supplies only hashes outside the run. `Err(Ok(..))` says why the run does
/// not belong to the tree, `Err(Err(..))` that the reader failed.
///
/// # Errors
/// [`ProofError::RootMismatch`] when the run is not the tree's;
/// [`ProofError::IndexOutOfRange`] when it is not a run of this tree at all.
pub fn verify_run<R: HashReader>(
    reader: &R,
    level: u8,
    first: u64,
    hashes: &[Hash],
    size: u64,
    root: &Hash,
) -> Result<(), Result<ProofError, R::Error>> {
    let len = hashes.len() as u64;
    let nodes_at_level = if level >= 64 { 0 } else { size >> level };
    let out_of_range = || {
        Err(Ok(ProofError::IndexOutOfRange {
            index: first,
            size: nodes_at_level,
        }))
    };
    if len == 0
        || first
            .checked_add(len)
            .is_none_or(|end| end > nodes_at_level)
    {
        return out_of_range();
    }
    if len.is_power_of_two() && first.is_multiple_of(len) {
        // One complete subtree: its hash, then the path above it.
        let height = level + len.trailing_zeros() as u8;
        let mut layer = hashes.to_vec();
        while layer.len() > 1 {
            layer = layer.chunks(2).map(|p| node_hash(&p[0], &p[1])).collect();
        }
        let first_leaf = first << level;
        let proof = inclusion_proof(reader, first_leaf, size)?;
        let path = proof
            .get(usize::from(height)..)
            .ok_or(Ok(ProofError::RootMismatch))?;
        return climb(
            first >> len.trailing_zeros(),
            (size - 1) >> height,
            layer[0],
            path,
            root,
        )
        .map_err(Ok);
    }
    if first + len != nodes_at_level {
        return out_of_range();
    }
    // The run is the right end of its level: the tree's edge nodes of this level and
    // the few above it come from the run, the rest from the reader.
    let edge = range_nodes(0, size);
    let run_start = first << level;
    let outside: Vec<Node> = edge
        .iter()
        .filter(|n| n.level < level || (n.index + 1) << n.level <= run_start)
        .copied()
        .collect();
    let mut read = reader.read_hashes(&outside).map_err(Err)?.into_iter();
    let mut folded = Vec::with_capacity(edge.len());
    for n in &edge {
        if n.level < level || (n.index + 1) << n.level <= run_start {
            folded.push(read.next().expect("one hash per node read"));
        } else {
            let width = 1usize << (n.level - level);
            let at = (n.index << (n.level - level))
                .checked_sub(first)
                .and_then(|at| usize::try_from(at).ok())
                .ok_or(Ok(ProofError::RootMismatch))?;
            let mut layer = hashes
                .get(at..at + width)
                .ok_or(Ok(ProofError::RootMismatch))?
                .to_vec();
            while layer.len() > 1 {
                layer = layer.chunks(2).map(|p| node_hash(&p[0], &p[1])).collect();
            }
            folded.push(layer[0]);
        }
    }
    if fold_right(&folded).as_ref() == Some(root) {
        Ok(())
    } else {
        Err(Ok(ProofError::RootMismatch))
    }
}

/// Verifies that the tree of `old` leaves with root `old_root` is a prefix of the tree
/// of `new` leaves with root `new_root` (RFC 9162 §2.1.4.2). The empty tree is a prefix
/// of every tree; equal sizes need equal roots and an empty proof.
///
/// # Errors
/// Says why the proof does not hold.
pub fn verify_consistency(
    old: u64,
    new: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> Result<(), ProofError> {
    if old > new {
        return Err(ProofError::SizesReversed { old, new });
    }
    let want = if old == 0 || old == new {
        0
    } else {
        consistency_ranges(old, new).len()
    };
    if proof.len() != want {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            want,
        });
    }
    if old == 0 {
        return if *old_root == empty_root() {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    if old == new {
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    let mut path: Vec<&Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(old_root);
    }
    path.extend(proof.iter());
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*path[0], *path[0]);
    for c in &path[1..] {
        if s == 0 {
            return Err(ProofError::RootMismatch);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if fr == *old_root && sr == *new_root && s == 0 {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// The right edge of a tree: the complete subtrees that make up all its leaves, left
/// to right. Appending a leaf yields the new complete subtrees to store; the root is
/// their right fold. This is all the sequencer keeps in memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Frontier {
            size: 0,
            hashes: Vec::new(),
        }
    }

    /// The nodes whose hashes [`Frontier::from_hashes`] needs for a tree of `size`.
    pub fn nodes(size: u64) -> Vec<Node> {
        range_nodes(0, size)
    }

    /// Rebuilds the frontier of a tree of `size` leaves from the hashes of
    /// [`Frontier::nodes`]`(size)`, or `None` if their number does not match.
    pub fn from_hashes(size: u64, hashes: Vec<Hash>) -> Option<Self> {
        (hashes.len() == size.count_ones() as usize).then_some(Frontier { size, hashes })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The tree's root.
    pub fn root(&self) -> Hash {
        fold_right(&self.hashes).unwrap_or_else(empty_root)
    }

    /// Appends a leaf and calls `store` for every complete subtree it completes, the
    /// leaf itself first.
    pub fn push(&mut self, leaf: Hash, mut store: impl FnMut(Node, Hash)) {
        let index = self.size;
        store(Node::new(0, index), leaf);
        let mut hash = leaf;
        let mut level = 0u8;
        // Each trailing one bit of the old size is a left sibling that now merges.
        while (index >> level) & 1 == 1 {
            let left = self.hashes.pop().expect("a set bit has a frontier node");
            hash = node_hash(&left, &hash);
            level += 1;
            store(Node::new(level, index >> level), hash);
        }
        self.hashes.push(hash);
        self.size += 1;
    }
}

impl Default for Frontier {
    fn default() -> Self {
        Self::new()
    }
}

/// What a batch of appends did to a tree: the frontier before it and every node the
/// batch completed ([`Frontier::push`] gives them). Every hash of the inclusion proof
/// of a leaf the batch appended, in the tree after the batch, is one of these: a left
/// sibling that ends before the batch is a node of the frontier before it (its parent
/// holds a newer leaf), and every other sibling ends inside the batch. So the
/// sequencer answers each append with its proof without a read.
#[derive(Clone, Debug, Default)]
pub struct Appended {
    nodes: std::collections::HashMap<Node, Hash>,
}

impl Appended {
    /// Starts from the tree `before` the batch.
    pub fn new(before: &Frontier) -> Self {
        Appended {
            nodes: Frontier::nodes(before.size)
                .into_iter()
                .zip(before.hashes.iter().copied())
                .collect(),
        }
    }

    /// Adds a node the batch completed.
    pub fn add(&mut self, node: Node, hash: Hash) {
        self.nodes.insert(node, hash);
    }
}

impl HashReader for Appended {
    /// The first node it does not hold.
    type Error = Node;

    fn read_hashes(&self, nodes: &[Node]) -> Result<Vec<Hash>, Node> {
        nodes
            .iter()
            .map(|n| self.nodes.get(n).copied().ok_or(*n))
            .collect()
    }
}

/// Complete-subtree hashes held in memory: for tests, tools and small trees.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
    frontier: Frontier,
}

impl MemoryTree {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, leaf: Hash) {
        let levels = &mut self.levels;
        self.frontier.push(leaf, |node, hash| {
            let level = node.level as usize;
            if levels.len() <= level {
                levels.resize(level + 1, Vec::new());
            }
            debug_assert_eq!(levels[level].len() as u64, node.index);
            levels[level].push(hash);
        });
    }

    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    pub fn root(&self) -> Hash {
        self.frontier.root()
    }
}

/// A node that the tree does not hold (yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("tree has no complete subtree at level {}, index {}", .0.level, .0.index)]
pub struct MissingNode(pub Node);

impl HashReader for MemoryTree {
    type Error = MissingNode;
    fn read_hashes(&self, nodes: &[Node]) -> Result<Vec<Hash>, MissingNode> {
        nodes
            .iter()
            .map(|n| {
                self.levels
                    .get(n.level as usize)
                    .and_then(|l| l.get(usize::try_from(n.index).ok()?))
                    .copied()
                    .ok_or(MissingNode(*n))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_nodes_decomposes_into_aligned_blocks() {
        assert_eq!(range_nodes(0, 0), vec![]);
        assert_eq!(
            range_nodes(0, 7),
            vec![Node::new(2, 0), Node::new(1, 2), Node::new(0, 6)]
        );
        assert_eq!(range_nodes(4, 7), vec![Node::new(1, 2), Node::new(0, 6)]);
        assert_eq!(range_nodes(8, 16), vec![Node::new(3, 1)]);
    }

    #[test]
    fn runs_of_every_tile_shape_verify_and_altered_ones_do_not() {
        let mut t = MemoryTree::new();
        for size in 1..=300u64 {
            t.push(leaf_hash(&size.to_be_bytes()));
            let root = t.root();
            for level in [0u8, 1, 3] {
                let nodes = size >> level;
                // Full blocks of 4 and 8, and the right edge from each block start.
                for width in [4u64, 8] {
                    let mut first = 0;
                    while first < nodes {
                        let len = width.min(nodes - first);
                        let run: Vec<Hash> = (first..first + len)
                            .map(|i| t.read_hashes(&[Node::new(level, i)]).unwrap()[0])
                            .collect();
                        if len == width || first + len == nodes {
                            verify_run(&t, level, first, &run, size, &root).unwrap_or_else(|e| {
                                panic!("size {size} level {level} run {first}+{len}: {e:?}")
                            });
                            let mut bad = run.clone();
                            bad[(size as usize) % run.len()][0] ^= 1;
                            assert!(verify_run(&t, level, first, &bad, size, &root).is_err());
                        }
                        first += width;
                    }
                }
            }
        }
    }

    #[test]
    fn batched_proofs_equal_single_ones_and_fail_where_single_ones_fail() {
        let mut t = MemoryTree::new();
        for size in 1..=140u64 {
            t.push(leaf_hash(&size.to_be_bytes()));
            let root = t.root();
            // Every index, nearby ones, and one index twice.
            let mut indexes: Vec<u64> = (0..size).rev().step_by(3).collect();
            indexes.push(size - 1);
            let proofs = inclusion_proofs(&t, &indexes, size).unwrap();
            let leaves: Vec<Hash> = indexes
                .iter()
                .map(|&i| t.read_hashes(&[Node::new(0, i)]).unwrap()[0])
                .collect();
            for ((&i, proof), leaf) in indexes.iter().zip(&proofs).zip(&leaves) {
                assert_eq!(
                    *proof,
                    inclusion_proof(&t, i, size).unwrap(),
                    "size {size} index {i}"
                );
                verify_inclusion(leaf, i, size, proof, &root).unwrap();
            }
            let items = |proofs: &[Vec<Hash>]| -> Vec<(Hash, u64, Vec<Hash>)> {
                indexes
                    .iter()
                    .zip(proofs)
                    .zip(&leaves)
                    .map(|((&i, p), l)| (*l, i, p.clone()))
                    .collect()
            };
            let check = |items: &[(Hash, u64, Vec<Hash>)]| {
                let refs: Vec<(Hash, u64, &[Hash])> = items
                    .iter()
                    .map(|(l, i, p)| (*l, *i, p.as_slice()))
                    .collect();
                verify_inclusions(&refs, size, &root)
            };
            check(&items(&proofs)).unwrap();
            // A flipped bit anywhere, in a leaf or in any proof hash of any item, is
            // found, and at that item.
            let good = items(&proofs);
            for at in 0..good.len() {
                let mut bad = good.clone();
                bad[at].0[at % 32] ^= 1;
                assert_eq!(check(&bad).unwrap_err().0, at, "size {size} leaf {at}");
                for h in 0..good[at].2.len() {
                    let mut bad = good.clone();
                    bad[at].2[h][h % 32] ^= 0x80;
                    assert_eq!(
                        check(&bad).unwrap_err().0,
                        at,
                        "size {size} item {at} hash {h}"
                    );
                }
            }
            let mut other_root = root;
            other_root[0] ^= 1;
            assert!(check(&good).is_ok());
            let refs: Vec<(Hash, u64, &[Hash])> = good
                .iter()
                .map(|(l, i, p)| (*l, *i, p.as_slice()))
                .collect();
            assert_eq!(
                verify_inclusions(&refs, size, &other_root).unwrap_err().0,
                0
            );
        }
    }

    #[test]
    fn a_batch_proves_its_own_leaves_without_the_rest_of_the_tree() {
        for before in 0..40u64 {
            for batch in 1..20u64 {
                let mut tree = MemoryTree::new();
                for i in 0..before {
                    tree.push(leaf_hash(&i.to_be_bytes()));
                }
                let mut appended = Appended::new(&tree.frontier);
                let mut frontier = tree.frontier.clone();
                for i in before..before + batch {
                    let leaf = leaf_hash(&i.to_be_bytes());
                    tree.push(leaf);
                    frontier.push(leaf, |node, hash| appended.add(node, hash));
                }
                let size = before + batch;
                for i in before..size {
                    assert_eq!(
                        inclusion_proof(&appended, i, size).unwrap(),
                        inclusion_proof(&tree, i, size).unwrap(),
                        "leaf {i} of {size}, batch from {before}"
                    );
                }
                // It holds no leaf before the batch but the frontier's own: leaf 0's
                // proof needs leaf 1.
                if before >= 2 {
                    assert!(inclusion_proof(&appended, 0, size).is_err());
                }
            }
        }
    }

    #[test]
    fn frontier_matches_recomputed_root() {
        let mut t = MemoryTree::new();
        for i in 0..100u32 {
            t.push(leaf_hash(&i.to_be_bytes()));
            assert_eq!(root(&t, t.size()).unwrap(), t.root());
        }
    }
}
