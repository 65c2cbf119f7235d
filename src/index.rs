//! The supplier index: a binary Merkle prefix tree that maps every subject of the log
//! to the head of its chain, committed in every checkpoint (`docs/index.md`).
//!
//! ```text
//! checkpoint extension line:   vouch-index <base64 root>
//! key:                         SHA-256(subject)
//! leaf:                        SHA-256(0x00 || key || count u64 BE || newest index u64 BE || newest leaf hash)
//! inner node:                  SHA-256(0x01 || left || right)
//! empty subtree:               SHA-256(0x02)
//! ```
//!
//! A leaf sits at the shortest prefix of its key that no other key shares; an inner
//! node at depth `d` splits its keys on bit `d` (most significant bit first). So the
//! tree, and its root, depend only on the set of (key, head) pairs. A proof for a key
//! is the node where the path along the key's bits ends (a leaf, or nothing) and the
//! siblings on the way up: a leaf with the key proves its head (membership); nothing,
//! or a leaf with another key that shares the path's prefix, proves that the subject
//! has no entry (non-membership).
//!
//! [`Index`] is persistent: an update returns a new tree that shares every untouched
//! node with the old one, so a reader keeps the snapshot of the checkpoint it serves
//! while the sequencer builds the next. Pure: no I/O.

use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::entry::{decode_hash, encode_hash};
use crate::merkle::Hash;

/// A subject's position in the index: SHA-256 of its UTF-8 bytes.
pub type Key = [u8; 32];

/// The checkpoint extension line that carries the index root.
pub const ROOT_LINE_PREFIX: &str = "vouch-index ";

/// The most siblings a proof can have: a key has 256 bits.
pub const MAX_DEPTH: usize = 256;

/// The key of `subject`.
pub fn key(subject: &str) -> Key {
    Sha256::digest(subject.as_bytes()).into()
}

/// What the index says of one subject: how many entries are about it, and the newest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ChainHead {
    pub count: u64,
    pub newest_index: u64,
    pub newest_leaf_hash: Hash,
}

impl ChainHead {
    /// Counts one more entry about the subject, at `index` with leaf hash `leaf`, as
    /// its newest (the default head counts none).
    pub fn push(&mut self, index: u64, leaf: Hash) {
        self.count += 1;
        self.newest_index = index;
        self.newest_leaf_hash = leaf;
    }
}

/// The hash of an empty subtree (and the root of an empty index).
pub fn empty_hash() -> Hash {
    static EMPTY: OnceLock<Hash> = OnceLock::new();
    *EMPTY.get_or_init(|| Sha256::digest([0x02]).into())
}

/// The hash of the leaf of `key`.
pub fn leaf_hash(key: &Key, head: &ChainHead) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(key);
    h.update(head.count.to_be_bytes());
    h.update(head.newest_index.to_be_bytes());
    h.update(head.newest_leaf_hash);
    h.finalize().into()
}

/// The hash of an inner node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Bit `depth` of `key`, most significant bit of the first byte first.
pub fn bit(key: &Key, depth: usize) -> u8 {
    (key[depth / 8] >> (7 - depth % 8)) & 1
}

/// How many leading bits two keys share.
fn shared_bits(a: &Key, b: &Key) -> usize {
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let diff = x ^ y;
        if diff != 0 {
            return i * 8 + diff.leading_zeros() as usize;
        }
    }
    MAX_DEPTH
}

#[derive(Debug)]
enum Node {
    Leaf {
        key: Key,
        head: ChainHead,
        hash: Hash,
    },
    Inner {
        left: Option<Arc<Node>>,
        right: Option<Arc<Node>>,
        hash: Hash,
    },
}

type Link = Option<Arc<Node>>;

fn hash_of(link: &Link) -> Hash {
    match link.as_deref() {
        None => empty_hash(),
        Some(Node::Leaf { hash, .. } | Node::Inner { hash, .. }) => *hash,
    }
}

fn leaf(key: Key, head: ChainHead) -> Link {
    Some(Arc::new(Node::Leaf {
        key,
        head,
        hash: leaf_hash(&key, &head),
    }))
}

fn inner(left: Link, right: Link) -> Link {
    let hash = node_hash(&hash_of(&left), &hash_of(&right));
    Some(Arc::new(Node::Inner { left, right, hash }))
}

/// The subtree at `depth` holding `items` (sorted by key, distinct, all sharing the
/// first `depth` bits).
fn build(depth: usize, items: &[(Key, ChainHead)]) -> Link {
    match items {
        [] => None,
        [(key, head)] => leaf(*key, *head),
        _ => {
            let split = items.partition_point(|(k, _)| bit(k, depth) == 0);
            inner(
                build(depth + 1, &items[..split]),
                build(depth + 1, &items[split..]),
            )
        }
    }
}

/// `node` at `depth` with `changes` (sorted by key, distinct, all on this node's path)
/// applied, and how many of the keys are new; untouched subtrees are shared.
fn update(node: &Link, depth: usize, changes: &[(Key, ChainHead)]) -> (Link, usize) {
    if changes.is_empty() {
        return (node.clone(), 0);
    }
    match node.as_deref() {
        None => (build(depth, changes), changes.len()),
        Some(Node::Leaf { key, head, .. }) => {
            if changes.iter().any(|(k, _)| k == key) {
                (build(depth, changes), changes.len() - 1)
            } else {
                let mut items = Vec::with_capacity(changes.len() + 1);
                let at = changes.partition_point(|(k, _)| k < key);
                items.extend_from_slice(&changes[..at]);
                items.push((*key, *head));
                items.extend_from_slice(&changes[at..]);
                (build(depth, &items), changes.len())
            }
        }
        Some(Node::Inner { left, right, .. }) => {
            let split = changes.partition_point(|(k, _)| bit(k, depth) == 0);
            let (l, a) = update(left, depth + 1, &changes[..split]);
            let (r, b) = update(right, depth + 1, &changes[split..]);
            (inner(l, r), a + b)
        }
    }
}

/// A snapshot of the index. Cloning is cheap (one reference count).
#[derive(Clone, Default)]
pub struct Index {
    root: Link,
    len: usize,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("subjects", &self.len)
            .field("root", &encode_hash(&self.root()))
            .finish()
    }
}

/// Two snapshots are equal when their roots are: the root commits to every leaf.
impl PartialEq for Index {
    fn eq(&self, other: &Self) -> bool {
        self.root() == other.root()
    }
}

impl Eq for Index {}

impl Index {
    pub fn new() -> Self {
        Index::default()
    }

    /// The index of exactly `heads`.
    pub fn from_heads(heads: impl IntoIterator<Item = (Key, ChainHead)>) -> Self {
        Index::new().with(heads)
    }

    /// The root hash, as the checkpoint's extension line carries it.
    pub fn root(&self) -> Hash {
        hash_of(&self.root)
    }

    /// The number of subjects.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The head of `key`'s chain, if the subject has entries.
    pub fn get(&self, key: &Key) -> Option<ChainHead> {
        let mut node = &self.root;
        let mut depth = 0;
        loop {
            match node.as_deref()? {
                Node::Leaf { key: k, head, .. } => return (k == key).then_some(*head),
                Node::Inner { left, right, .. } => {
                    node = if bit(key, depth) == 0 { left } else { right };
                    depth += 1;
                }
            }
        }
    }

    /// A new snapshot with `changes` applied (a key given twice takes the last head);
    /// `self` is unchanged.
    pub fn with(&self, changes: impl IntoIterator<Item = (Key, ChainHead)>) -> Self {
        let mut changes: Vec<(Key, ChainHead)> = changes.into_iter().collect();
        // Stable sort, then keep the last of equal keys.
        changes.sort_by_key(|a| a.0);
        let mut distinct: Vec<(Key, ChainHead)> = Vec::with_capacity(changes.len());
        for c in changes {
            match distinct.last_mut() {
                Some(last) if last.0 == c.0 => *last = c,
                _ => distinct.push(c),
            }
        }
        let (root, added) = update(&self.root, 0, &distinct);
        Index {
            root,
            len: self.len + added,
        }
    }

    /// The proof of what the index holds for `key`: membership if the subject has
    /// entries, non-membership otherwise.
    pub fn prove(&self, key: &Key) -> Proof {
        let mut siblings = Vec::new();
        let mut node = &self.root;
        let mut depth = 0;
        let leaf = loop {
            match node.as_deref() {
                None => break None,
                Some(Node::Leaf { key, head, .. }) => break Some((*key, *head)),
                Some(Node::Inner { left, right, .. }) => {
                    let (next, other) = if bit(key, depth) == 0 {
                        (left, right)
                    } else {
                        (right, left)
                    };
                    siblings.push(hash_of(other));
                    node = next;
                    depth += 1;
                }
            }
        };
        siblings.reverse();
        Proof { leaf, siblings }
    }

    /// Every (key, head) in key order.
    pub fn heads(&self) -> Vec<(Key, ChainHead)> {
        fn walk(node: &Link, out: &mut Vec<(Key, ChainHead)>) {
            match node.as_deref() {
                None => {}
                Some(Node::Leaf { key, head, .. }) => out.push((*key, *head)),
                Some(Node::Inner { left, right, .. }) => {
                    walk(left, out);
                    walk(right, out);
                }
            }
        }
        let mut out = Vec::with_capacity(self.len);
        walk(&self.root, &mut out);
        out
    }
}

/// The proof for one key: where its path ends, and the siblings on the way up from
/// there (the first is the sibling of the node where the path ends).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proof {
    /// The leaf where the path ends, or `None` for an empty subtree.
    pub leaf: Option<(Key, ChainHead)>,
    pub siblings: Vec<Hash>,
}

/// Why an index proof does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    #[error("the proof has {0} siblings; a key has only 256 bits")]
    TooDeep(usize),
    #[error("the proof's leaf is for a key that is not on the asked key's path")]
    NotOnPath,
    #[error("the proof does not lead to the index root the checkpoint names")]
    RootMismatch,
    #[error("the index proof is malformed: {0}")]
    Malformed(&'static str),
}

impl Proof {
    /// Checks the proof for `key` against `root`: `Some(head)` proves the subject's
    /// chain head, `None` proves that the subject has no entry.
    ///
    /// # Errors
    /// When the proof does not lead to `root` along `key`'s path.
    pub fn verify(&self, root: &Hash, key: &Key) -> Result<Option<ChainHead>, IndexError> {
        let depth = self.siblings.len();
        if depth > MAX_DEPTH {
            return Err(IndexError::TooDeep(depth));
        }
        let (mut hash, found) = match &self.leaf {
            None => (empty_hash(), None),
            Some((k, head)) if k == key => (leaf_hash(k, head), Some(*head)),
            Some((k, head)) => {
                if shared_bits(k, key) < depth {
                    return Err(IndexError::NotOnPath);
                }
                (leaf_hash(k, head), None)
            }
        };
        for (i, sibling) in self.siblings.iter().enumerate() {
            let d = depth - 1 - i;
            hash = if bit(key, d) == 0 {
                node_hash(&hash, sibling)
            } else {
                node_hash(sibling, &hash)
            };
        }
        if hash != *root {
            return Err(IndexError::RootMismatch);
        }
        Ok(found)
    }

    /// The proof in its JSON form (`docs/index.md`).
    pub fn to_json(&self) -> ProofJson {
        ProofJson {
            leaf: self.leaf.map(|(key, head)| LeafJson {
                key: encode_hash(&key),
                count: head.count,
                newest_index: head.newest_index,
                newest_leaf_hash: encode_hash(&head.newest_leaf_hash),
            }),
            siblings: self
                .siblings
                .iter()
                .map(|h| (*h != empty_hash()).then(|| encode_hash(h)))
                .collect(),
        }
    }

    /// The size of the proof's content in bytes: one bit per level (whether its
    /// sibling is the empty subtree), 32 per sibling that is not, 80 for a leaf.
    pub fn byte_len(&self) -> usize {
        let written = self.siblings.iter().filter(|h| **h != empty_hash()).count();
        self.siblings.len().div_ceil(8) + 32 * written + if self.leaf.is_some() { 80 } else { 0 }
    }
}

/// A leaf in a proof, in JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeafJson {
    /// SHA-256 of the subject of this leaf, base64.
    pub key: String,
    pub count: u64,
    pub newest_index: u64,
    /// base64.
    pub newest_leaf_hash: String,
}

/// An index proof in JSON: the leaf where the path ends (`null`: an empty subtree) and
/// the siblings from there up to the root, base64, each empty subtree as `null`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProofJson {
    pub leaf: Option<LeafJson>,
    pub siblings: Vec<Option<String>>,
}

impl ProofJson {
    /// # Errors
    /// When a hash is not base64 of 32 bytes, an empty subtree is written out instead
    /// of `null` (each proof has one encoding), or there are more than 256 siblings.
    pub fn decode(&self) -> Result<Proof, IndexError> {
        if self.siblings.len() > MAX_DEPTH {
            return Err(IndexError::TooDeep(self.siblings.len()));
        }
        let hash = |s: &str| {
            decode_hash(s).map_err(|_| IndexError::Malformed("a hash is not base64 of 32 bytes"))
        };
        let leaf = self
            .leaf
            .as_ref()
            .map(|l| -> Result<_, IndexError> {
                Ok((
                    hash(&l.key)?,
                    ChainHead {
                        count: l.count,
                        newest_index: l.newest_index,
                        newest_leaf_hash: hash(&l.newest_leaf_hash)?,
                    },
                ))
            })
            .transpose()?;
        let siblings = self
            .siblings
            .iter()
            .map(|s| match s {
                None => Ok(empty_hash()),
                Some(s) => match hash(s)? {
                    h if h == empty_hash() => Err(IndexError::Malformed(
                        "an empty sibling is written as null, not as its hash",
                    )),
                    h => Ok(h),
                },
            })
            .collect::<Result<_, _>>()?;
        Ok(Proof { leaf, siblings })
    }
}

/// The extension line for an index root.
pub fn root_line(root: &Hash) -> String {
    format!("{ROOT_LINE_PREFIX}{}", encode_hash(root))
}

/// The index root a checkpoint names, if it names one.
pub fn root_of(checkpoint: &crate::note::Checkpoint) -> Option<Hash> {
    checkpoint
        .extensions()
        .iter()
        .find_map(|line| decode_hash(line.strip_prefix(ROOT_LINE_PREFIX)?).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(n: u64) -> ChainHead {
        ChainHead {
            count: n,
            newest_index: n * 10,
            newest_leaf_hash: [n as u8; 32],
        }
    }

    #[test]
    fn empty_index_proves_absence_with_no_siblings() {
        let index = Index::new();
        assert_eq!(index.root(), empty_hash());
        let p = index.prove(&key("VN2024164XQ3F74"));
        assert_eq!(p.leaf, None);
        assert!(p.siblings.is_empty());
        assert_eq!(p.verify(&index.root(), &key("VN2024164XQ3F74")), Ok(None));
    }

    #[test]
    fn one_leaf_is_the_root() {
        let k = key("a");
        let index = Index::from_heads([(k, head(1))]);
        assert_eq!(index.root(), leaf_hash(&k, &head(1)));
        assert_eq!(index.prove(&k).verify(&index.root(), &k), Ok(Some(head(1))));
        // Another key: the lone leaf shares the empty prefix with every key.
        let other = key("b");
        assert_eq!(index.prove(&other).verify(&index.root(), &other), Ok(None));
    }

    #[test]
    fn updates_share_untouched_nodes_and_keep_the_old_snapshot() {
        let a = Index::from_heads((0..100).map(|i| (key(&i.to_string()), head(i))));
        let b = a.with([(key("7"), head(1000))]);
        assert_eq!(a.get(&key("7")), Some(head(7)));
        assert_eq!(b.get(&key("7")), Some(head(1000)));
        assert_eq!(b.len(), 100);
        assert_ne!(a.root(), b.root());
        let rebuilt = Index::from_heads(b.heads());
        assert_eq!(rebuilt.root(), b.root());
    }
}
