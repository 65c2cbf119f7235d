//! Portable proofs per [C2SP tlog-proof]: one entry's inclusion in a checkpoint (with
//! the witnesses' cosignatures the log held), in a text file (`.tlog-proof`) that
//! anyone can check offline with the log's key and a witness policy:
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64 of the entry's bytes>
//! index 20
//! <base64 hash, one per line: the inclusion proof, leaf's sibling first>
//!
//! <the checkpoint, verbatim, with its signatures and cosignatures>
//! ```
//!
//! vouch puts the entry itself in the `extra` line (unauthenticated by the format, as
//! the spec says: it is authenticated here by hashing it to the leaf the inclusion
//! proof proves), so that the proof also says what was logged.
//!
//! [C2SP tlog-proof]: https://c2sp.org/tlog-proof

use base64::Engine as _;

use crate::merkle::{self, Hash};
use crate::note::{Checkpoint, BASE64};

/// The first line of every proof.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// At most this many inclusion proof lines (a tree of 2^63 leaves needs 63).
const MAX_PROOF_LINES: usize = 64;

/// A parsed `.tlog-proof`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// The `extra` line's bytes: for vouch, the entry.
    pub extra: Option<Vec<u8>>,
    pub index: u64,
    pub proof: Vec<Hash>,
    /// The checkpoint note, verbatim.
    pub checkpoint: String,
}

/// Why a proof could not be read or does not hold.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofFileError {
    #[error("not a tlog-proof: {0}")]
    Malformed(&'static str),
    #[error("the checkpoint is not signed by the log key: {0}")]
    Checkpoint(String),
    #[error("the proof has no entry (no extra line) to prove")]
    NoEntry,
    #[error("the entry is not at index {index} of the checkpoint's tree: {reason}")]
    NotIncluded { index: u64, reason: String },
}

impl TlogProof {
    /// Reads a proof.
    ///
    /// # Errors
    /// [`ProofFileError::Malformed`] saying what is wrong.
    pub fn parse(text: &str) -> Result<Self, ProofFileError> {
        let bad = ProofFileError::Malformed;
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or(bad("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n');
        if lines.next() != Some(HEADER) {
            return Err(bad("the first line is not c2sp.org/tlog-proof@v1"));
        }
        let mut line = lines.next().ok_or(bad("no index line"))?;
        let extra = match line.strip_prefix("extra ") {
            Some(b64) => {
                let bytes = BASE64
                    .decode(b64)
                    .map_err(|_| bad("the extra line is not base64"))?;
                line = lines.next().ok_or(bad("no index line"))?;
                Some(bytes)
            }
            None => None,
        };
        let digits = line.strip_prefix("index ").ok_or(bad("no index line"))?;
        let canonical = digits == "0" || (!digits.starts_with('0') && !digits.is_empty());
        let index = digits
            .parse::<u64>()
            .ok()
            .filter(|_| canonical && digits.bytes().all(|b| b.is_ascii_digit()))
            .ok_or(bad("the index is not a decimal without leading zeros"))?;
        let mut proof = Vec::new();
        for l in lines {
            if proof.len() == MAX_PROOF_LINES {
                return Err(bad("too many inclusion proof lines"));
            }
            let hash: Hash = BASE64
                .decode(l)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or(bad(
                    "an inclusion proof line is not the base64 of a 32-byte hash",
                ))?;
            proof.push(hash);
        }
        Ok(TlogProof {
            extra,
            index,
            proof,
            checkpoint: checkpoint.to_owned(),
        })
    }

    /// The proof as text.
    pub fn to_text(&self) -> String {
        let mut out = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            out.push_str(&format!("extra {}\n", BASE64.encode(extra)));
        }
        out.push_str(&format!("index {}\n", self.index));
        for h in &self.proof {
            out.push_str(&BASE64.encode(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Checks the checkpoint against `log_key` and the entry (the `extra` line)
    /// against it: its leaf hash at `index` leads to the checkpoint's root. Returns the
    /// checkpoint and the entry's bytes.
    ///
    /// # Errors
    /// A checkpoint not signed by the log key, no entry, or an entry not included.
    pub fn verify(
        &self,
        log_key: &crate::note::Verifier,
    ) -> Result<(Checkpoint, &[u8]), ProofFileError> {
        let (cp, _) = Checkpoint::open(self.checkpoint.as_bytes(), log_key)
            .map_err(|e| ProofFileError::Checkpoint(e.to_string()))?;
        let entry = self.extra.as_deref().ok_or(ProofFileError::NoEntry)?;
        merkle::verify_inclusion(
            &merkle::leaf_hash(entry),
            self.index,
            cp.size(),
            &self.proof,
            cp.root(),
        )
        .map_err(|e| ProofFileError::NotIncluded {
            index: self.index,
            reason: e.to_string(),
        })?;
        Ok((cp, entry))
    }
}
