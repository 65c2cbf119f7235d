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
//! `registry` holds the registry entries that decide the signer's authority: the
//! governance chain and the signer's own chain, each entry proven against the same
//! checkpoint and each chain proven complete by the supplier index
//! (`registry_proofs`), never the whole registry.

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
    /// The signed statement (an attestation or a registry change), as JSON: the signed
    /// payload's own text.
    #[schema(value_type = Object)]
    pub statement: RawJson,
}

/// A JSON value kept as its text: what a payload says, passed on without being parsed
/// into a tree and written out again. Two are equal when they are the same JSON value,
/// however written (a bundle may have been reformatted on its way).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RawJson(pub Box<serde_json::value::RawValue>);

impl RawJson {
    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        let value = |r: &Self| serde_json::from_str::<serde_json::Value>(r.get()).ok();
        self.get() == other.get() || value(self).is_some_and(|v| Some(v) == value(other))
    }
}

impl Eq for RawJson {}

impl Decoded {
    /// Decodes entry bytes; `None` when they are not a vouch entry with a JSON payload.
    pub fn of(bytes: &[u8]) -> Option<Decoded> {
        Self::of_entry(&Entry::parse(bytes).ok()?)
    }

    /// [`Decoded::of`] an entry already parsed; `None` when its payload is not JSON.
    pub fn of_entry(e: &Entry) -> Option<Decoded> {
        use base64::Engine as _;
        let payload = crate::note::BASE64.decode(&e.envelope.payload).ok()?;
        Self::of_parts(e, payload)
    }

    /// [`Decoded::of_entry`] with the entry's payload already decoded.
    pub fn of_parts(e: &Entry, payload: Vec<u8>) -> Option<Decoded> {
        Some(Decoded {
            logged_at: e.logged_at.clone(),
            subject: e.subject.clone(),
            prev: e.prev.as_ref().map(|p| p.index),
            payload_type: e.envelope.payload_type.clone(),
            statement: RawJson(
                serde_json::value::RawValue::from_string(String::from_utf8(payload).ok()?).ok()?,
            ),
        })
    }
}

/// The supplier index's proof of one registry chain's head (or of its absence) at the
/// checkpoint, so that a verifier knows it holds every entry of that chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectProof {
    /// `registry` (the governance chain) or `registry:<participant id>`.
    pub subject: String,
    pub proof: ProofJson,
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
    /// The registry entries that decide the signer's authority, oldest first: the
    /// governance chain and the signers' own chains, each proven complete by
    /// `registry_proofs`.
    #[serde(default)]
    pub registry: Vec<ProvenEntry>,
    #[serde(default)]
    pub registry_proofs: Vec<SubjectProof>,
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
    /// The registry entries that decide the authority of this page's signers, oldest
    /// first: the governance chain (first page) and the signers' own chains, each
    /// proven complete by `registry_proofs`.
    #[serde(default)]
    pub registry: Vec<ProvenEntry>,
    #[serde(default)]
    pub registry_proofs: Vec<SubjectProof>,
}
