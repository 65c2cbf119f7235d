//! The log entry: the envelope plus what the log adds (docs/design.md §5).
//!
//! ```json
//! {"v":1,"logged_at":"2026-07-14T09:31:02.123Z","subject":"VN2024164XQ3F74",
//!  "prev":{"index":812,"leaf_hash":"<base64>"},"envelope":{...}}
//! ```
//!
//! The log writes these bytes once; the leaf hash is over exactly them. `prev` links
//! each subject's entries into a hash chain inside the Merkle log.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::envelope::Envelope;
use crate::merkle::Hash;
use crate::note::BASE64;

/// The link to the previous entry about the same subject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prev {
    pub index: u64,
    pub leaf_hash: String,
}

/// A vouch log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub v: u32,
    pub logged_at: String,
    pub subject: String,
    pub prev: Option<Prev>,
    pub envelope: Envelope,
}

/// Why stored bytes are not a vouch entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("not a vouch entry: {0}")]
    Json(String),
    #[error("entry version {0} is not 1")]
    Version(u32),
    #[error("not base64 of a 32-byte hash")]
    Hash,
}

/// Decodes a base64 hash.
///
/// # Errors
/// [`EntryError::Hash`] when it is not canonical base64 of 32 bytes.
pub fn decode_hash(s: &str) -> Result<Hash, EntryError> {
    // Into a buffer of its own (proofs hold thousands): 44 characters decode to at
    // most 33 bytes as base64 reckons before it looks at the padding.
    let mut buf = [0u8; 33];
    match BASE64.decode_slice(s, &mut buf) {
        Ok(32) if s.len() == 44 => Ok(buf[..32].try_into().expect("32 bytes")),
        _ => Err(EntryError::Hash),
    }
}

pub fn encode_hash(h: &Hash) -> String {
    BASE64.encode(h)
}

impl Entry {
    /// # Errors
    /// When the bytes are not a version 1 entry.
    pub fn parse(bytes: &[u8]) -> Result<Self, EntryError> {
        let e: Entry =
            serde_json::from_slice(bytes).map_err(|e| EntryError::Json(e.to_string()))?;
        if e.v != 1 {
            return Err(EntryError::Version(e.v));
        }
        Ok(e)
    }

    /// The entry's bytes: compact JSON with fields in a fixed order.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an entry serializes")
    }

    /// The previous entry's index and leaf hash.
    ///
    /// # Errors
    /// When the stored leaf hash is malformed.
    pub fn prev_link(&self) -> Result<Option<(u64, Hash)>, EntryError> {
        self.prev
            .as_ref()
            .map(|p| Ok((p.index, decode_hash(&p.leaf_hash)?)))
            .transpose()
    }
}

/// The checkpoint extension line of a ledger naming its registry chain's newest entry:
/// `vouch-registry <index> <base64 leaf hash>`.
pub const REGISTRY_HEAD_PREFIX: &str = "vouch-registry ";

/// The extension line for a registry head.
pub fn registry_head_line(index: u64, leaf: &Hash) -> String {
    format!("{REGISTRY_HEAD_PREFIX}{index} {}", encode_hash(leaf))
}

/// The registry head a checkpoint names, if it is a ledger's checkpoint.
pub fn registry_head(checkpoint: &crate::note::Checkpoint) -> Option<(u64, Hash)> {
    checkpoint.extensions().iter().find_map(|line| {
        let rest = line.strip_prefix(REGISTRY_HEAD_PREFIX)?;
        let (index, hash) = rest.split_once(' ')?;
        let canonical = !index.is_empty()
            && index.bytes().all(|b| b.is_ascii_digit())
            && (index == "0" || !index.starts_with('0'));
        Some((
            canonical.then(|| index.parse().ok())??,
            decode_hash(hash).ok()?,
        ))
    })
}
