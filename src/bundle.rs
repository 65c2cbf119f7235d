//! What the server hands out for offline verification (docs/design.md §8, §9): receipts,
//! bundles and supplier histories, as JSON. Byte strings are base64.
//!
//! A bundle is everything needed to verify one entry without trusting the server:
//!
//! ```json
//! {"index": 12, "entry": "<base64 entry bytes>", "tree_size": 40,
//!  "inclusion_proof": ["<base64 hash>", ...], "checkpoint": "<signed note>",
//!  "registry": [{"index": 0, "entry": "...", "inclusion_proof": [...]}, ...]}
//! ```
//!
//! `registry` is the whole registry chain as of the checkpoint (whose extension line
//! names its newest entry), each proven against the same checkpoint.

use serde::{Deserialize, Serialize};

use crate::entry::Entry;
use crate::index::ProofJson;

/// What an entry's bytes say, decoded for people and tools that read JSON. It is a
/// convenience only: verification reads the bytes, and a verifier refuses an entry
/// whose decoded copy differs from them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decoded {
    pub logged_at: String,
    pub subject: String,
    /// The index of the previous entry about the same subject.
    pub prev: Option<u64>,
    pub payload_type: String,
    /// The signed statement (an attestation or a registry change), as JSON.
    #[schema(value_type = Object)]
    pub statement: serde_json::Value,
}

impl Decoded {
    /// Decodes entry bytes; `None` when they are not a vouch entry with a JSON payload.
    pub fn of(bytes: &[u8]) -> Option<Decoded> {
        use base64::Engine as _;
        let e = Entry::parse(bytes).ok()?;
        let payload = crate::note::BASE64.decode(&e.envelope.payload).ok()?;
        Some(Decoded {
            logged_at: e.logged_at,
            subject: e.subject,
            prev: e.prev.map(|p| p.index),
            payload_type: e.envelope.payload_type,
            statement: serde_json::from_slice(&payload).ok()?,
        })
    }
}

/// An entry with its inclusion proof against some checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvenEntry {
    pub index: u64,
    /// The entry's bytes, base64.
    pub entry: String,
    /// Hashes from the leaf up, base64.
    pub inclusion_proof: Vec<String>,
    /// What the bytes say (not verified by itself: see [`Decoded`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoded: Option<Decoded>,
}

/// One entry, verifiable offline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    pub index: u64,
    pub entry: String,
    pub tree_size: u64,
    pub inclusion_proof: Vec<String>,
    /// The signed checkpoint of `tree_size`.
    pub checkpoint: String,
    /// The registry chain as of the checkpoint, oldest first.
    #[serde(default)]
    pub registry: Vec<ProvenEntry>,
    /// What the entry's bytes say (not verified by itself: see [`Decoded`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoded: Option<Decoded>,
}

/// What a submission returns: where the entry is and the proof that it is there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub index: u64,
    pub leaf_hash: String,
    /// The envelope was already in the log: this is the first submission's receipt.
    pub duplicate: bool,
    pub tree_size: u64,
    pub inclusion_proof: Vec<String>,
    pub checkpoint: String,
}

/// A page of a supplier's history, every entry proven against one checkpoint.
///
/// The first page holds the supplier index's proof of the supplier's chain head at the
/// checkpoint (`docs/index.md`) and the newest entries; each next page, asked for with
/// `?size=<tree_size>&before=<next_before>`, the entries before those, against the
/// same checkpoint. Following `prev` from the head down to an entry with no `prev`,
/// with as many entries as the head counts, proves the history complete.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct History {
    pub supplier: String,
    pub tree_size: u64,
    pub checkpoint: String,
    /// The index proof of the supplier's chain head (or of its absence) at the
    /// checkpoint; on the first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_proof: Option<ProofJson>,
    /// Newest first.
    pub entries: Vec<ProvenEntry>,
    /// Where the next, older page ends (`?before=`), if there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<u64>,
    /// The registry chain as of the checkpoint, oldest first; on the first page.
    #[serde(default)]
    pub registry: Vec<ProvenEntry>,
}
