//! Client-side verification (docs/design.md §8). Nothing here trusts the server: a bundle or a
//! history is checked against the log's public key alone.
//!
//! For one entry: the checkpoint's signature; the entry's inclusion under it; the
//! registry chain the checkpoint names, every link proven in the log, replayed to the
//! entry's position; the envelope's signatures by keys that held the needed role
//! there; and, from the registry as of the checkpoint, whether the key was later found
//! compromised. Given newer entries about the supplier: whether the entry was
//! retracted or answered; and whether it has expired.
//!
//! The result is a [`Report`]: one verdict and the reason for each check.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::bundle::{Bundle, Decoded, History, ProvenEntry, SubjectProof};
use crate::entry::{self, Entry};
use crate::envelope::{Envelope, Opened};
use crate::index;
use crate::merkle::{self, Hash};
use crate::note::{Checkpoint, Verifier, BASE64};
use crate::policy;
use crate::registry::{KeyStatus, Registry};
use crate::statement::{
    Accreditation, Kind, RegistryStatement, Role, Statement, REGISTRY_SUBJECT, REGISTRY_TYPE,
    STATEMENT_TYPE,
};

/// The overall outcome: one per record (and per history: `valid` or `invalid`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every check holds, and nothing later withdraws, replaces or outdates the record.
    Valid,
    /// Every check holds, but a later retraction by its signer (or governance)
    /// withdrew it.
    Retracted,
    /// Every check holds, but a later correction by its signer (or governance)
    /// replaced it.
    Superseded,
    /// Every check holds, but its `valid_until` has passed.
    Expired,
    /// Every check holds, but the signing key was later revoked as compromised from a
    /// point at or before this entry.
    Suspect,
    /// A check failed: see its reason.
    Invalid,
}

impl Verdict {
    /// The exit code of `vouch verify` and `vouch standing` for a record with this
    /// verdict: only `valid` exits 0 (1 is kept for "could not check at all").
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Valid => 0,
            Verdict::Invalid => 2,
            Verdict::Suspect => 3,
            Verdict::Retracted => 4,
            Verdict::Superseded => 5,
            Verdict::Expired => 6,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Retracted => "retracted",
            Verdict::Superseded => "superseded",
            Verdict::Expired => "expired",
            Verdict::Suspect => "suspect",
            Verdict::Invalid => "invalid",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One check and why it holds or not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub reason: String,
}

/// What later entries say about this one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Standing {
    /// Indexes of retractions of this entry.
    pub retracted_by: Vec<u64>,
    /// Indexes of corrections that replace this entry.
    #[serde(default)]
    pub superseded_by: Vec<u64>,
    /// Indexes of supplier responses to it.
    pub answered_by: Vec<u64>,
    /// `valid_until` has passed.
    pub expired: bool,
}

/// A signer of a record, as the registry had it when the record was logged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SignerInfo {
    pub id: String,
    pub name: String,
    #[schema(value_type = Vec<String>)]
    pub roles: Vec<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub accreditation: Option<Accreditation>,
}

impl From<&crate::registry::Participant> for SignerInfo {
    fn from(p: &crate::registry::Participant) -> Self {
        SignerInfo {
            id: p.id.clone(),
            name: p.name.clone(),
            roles: p.roles.clone(),
            accreditation: p.accreditation.clone(),
        }
    }
}

/// The verification report of one entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Report {
    pub verdict: Verdict,
    pub index: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub kind: Option<Kind>,
    /// When the statement says it was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<String>,
    /// Participant ids of the signers.
    #[serde(default)]
    pub signers: Vec<String>,
    /// Who the signers are, as the registry said at the entry's position.
    #[serde(default)]
    pub signed_by: Vec<SignerInfo>,
    /// What the record says (decoded from the verified bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub statement: Option<Statement>,
    /// Signed by the supplier itself (a self-reported figure or a response).
    #[serde(default)]
    pub self_reported: bool,
    pub checks: Vec<Check>,
    pub standing: Standing,
    /// What could not be checked, and how to check it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Report {
    /// Turns a `valid` verdict into what later records and time make of it: retracted,
    /// superseded or expired (in that order of precedence).
    pub fn settle(&mut self) {
        if self.verdict != Verdict::Valid {
            return;
        }
        let s = &self.standing;
        self.verdict = if !s.retracted_by.is_empty() {
            Verdict::Retracted
        } else if !s.superseded_by.is_empty() {
            Verdict::Superseded
        } else if s.expired {
            Verdict::Expired
        } else {
            Verdict::Valid
        };
    }
}

/// The verification report of a supplier's history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistoryReport {
    pub verdict: Verdict,
    pub supplier: String,
    pub tree_size: u64,
    pub checks: Vec<Check>,
    pub entries: Vec<Report>,
}

/// A reader's witness policy: a checkpoint counts only with the cosignatures of at
/// least `threshold` of `witnesses` (C2SP tlog-cosignature), so that a log cannot show
/// the reader a view no independent witness saw.
#[derive(Clone, Debug, Default)]
pub struct WitnessPolicy {
    /// Cosigner keys (vkeys with signature type 0x04).
    pub witnesses: Vec<Verifier>,
    pub threshold: usize,
}

impl WitnessPolicy {
    /// Whether the policy asks for anything.
    pub fn is_empty(&self) -> bool {
        self.threshold == 0
    }

    /// The `witnesses` check of the signed checkpoint `signed`: who cosigned it.
    ///
    /// # Errors
    /// Fewer than `threshold` valid cosignatures, a cosignature of a listed witness
    /// that does not verify, or a checkpoint not signed by `log_key`.
    pub fn check(&self, signed: &str, log_key: &Verifier) -> Result<String, String> {
        let (_, note) = Checkpoint::open(signed.as_bytes(), log_key)
            .map_err(|e| format!("not signed by the trusted log key: {e}"))?;
        let cosigned = note
            .cosignatures(&self.witnesses)
            .map_err(|e| format!("a witness's cosignature does not verify: {e}"))?;
        let names: Vec<String> = cosigned
            .iter()
            .map(|c| {
                let at =
                    OffsetDateTime::from_unix_timestamp(i64::try_from(c.time).unwrap_or(i64::MAX))
                        .ok()
                        .and_then(|t| {
                            t.format(&time::format_description::well_known::Rfc3339)
                                .ok()
                        })
                        .unwrap_or_else(|| c.time.to_string());
                format!("{} at {at}", c.witness.name())
            })
            .collect();
        if cosigned.len() < self.threshold {
            return Err(format!(
                "cosigned by {} of the {} witnesses trusted ({}), {} needed",
                cosigned.len(),
                self.witnesses.len(),
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                },
                self.threshold
            ));
        }
        Ok(format!(
            "cosigned by {} ({} of the {} witnesses trusted needed)",
            names.join(", "),
            self.threshold,
            self.witnesses.len()
        ))
    }
}

impl HistoryReport {
    /// Adds the `witnesses` check of `policy` for the history's checkpoint; a history
    /// whose checkpoint fails it is invalid.
    pub fn require_witnesses(&mut self, signed: &str, log_key: &Verifier, policy: &WitnessPolicy) {
        policy.require(signed, log_key, &mut self.checks, &mut self.verdict);
    }
}

impl Report {
    /// Adds the `witnesses` check of `policy` for the bundle's checkpoint; an entry
    /// whose checkpoint fails it is invalid.
    pub fn require_witnesses(&mut self, signed: &str, log_key: &Verifier, policy: &WitnessPolicy) {
        policy.require(signed, log_key, &mut self.checks, &mut self.verdict);
    }
}

impl WitnessPolicy {
    fn require(
        &self,
        signed: &str,
        log_key: &Verifier,
        checks: &mut Vec<Check>,
        verdict: &mut Verdict,
    ) {
        if self.is_empty() {
            return;
        }
        let mut c = Checks(std::mem::take(checks));
        if !c.add("witnesses", self.check(signed, log_key)) {
            *verdict = Verdict::Invalid;
        }
        *checks = c.0;
    }
}

struct Checks(Vec<Check>);

impl Checks {
    fn add(&mut self, name: &str, result: Result<String, String>) -> bool {
        let ok = result.is_ok();
        let reason = result.unwrap_or_else(|e| e);
        self.0.push(Check {
            name: name.to_owned(),
            ok,
            reason,
        });
        ok
    }

    fn all_ok(&self) -> bool {
        self.0.iter().all(|c| c.ok)
    }
}

fn decode_proof(proof: &[String]) -> Result<Vec<Hash>, String> {
    proof
        .iter()
        .map(|p| {
            entry::decode_hash(p).map_err(|_| format!("proof hash {p:?} is not base64 of 32 bytes"))
        })
        .collect()
}

/// An entry's bytes and what they say, decoded once for every check that reads them.
struct Read {
    bytes: Vec<u8>,
    leaf: Hash,
    entry: Result<Entry, String>,
    /// The envelope opened (its payload decoded, its signatures read), if the entry
    /// parses.
    opened: Option<Result<Opened, String>>,
}

impl Read {
    /// `None` when the entry is not base64.
    fn of(p: &ProvenEntry) -> Option<Read> {
        let bytes = BASE64.decode(&p.entry).ok()?;
        let leaf = merkle::leaf_hash(&bytes);
        let entry = Entry::parse(&bytes).map_err(|e| e.to_string());
        let opened = entry
            .as_ref()
            .ok()
            .map(|e| e.envelope.clone().open().map_err(|e| e.to_string()));
        Some(Read {
            bytes,
            leaf,
            entry,
            opened,
        })
    }

    /// The payload's bytes, if the entry parses and its payload is base64.
    fn payload(&self) -> Option<std::borrow::Cow<'_, [u8]>> {
        match &self.opened {
            Some(Ok(o)) => Some(std::borrow::Cow::Borrowed(&o.body)),
            _ => {
                let e = self.entry.as_ref().ok()?;
                BASE64.decode(&e.envelope.payload).ok().map(Into::into)
            }
        }
    }
}

/// Checks a proven entry's inclusion under `checkpoint`, and that the decoded copy
/// beside it (if any) says what its bytes say.
fn included(p: &ProvenEntry, read: Option<&Read>, checkpoint: &Checkpoint) -> Result<(), String> {
    let read = read.ok_or_else(|| format!("entry {} is not base64", p.index))?;
    let proof = decode_proof(&p.inclusion_proof)?;
    merkle::verify_inclusion(
        &read.leaf,
        p.index,
        checkpoint.size(),
        &proof,
        checkpoint.root(),
    )
    .map_err(|e| format!("entry {} is not in the checkpoint's tree: {e}", p.index))?;
    if let Some(d) = &p.decoded {
        // As `Some(d) == Decoded::of(bytes)`, without a copy or a parse of the statement
        // when the copy beside it is its very text.
        let same = match (&read.entry, read.payload()) {
            (Ok(e), Some(payload)) => {
                d.logged_at == e.logged_at
                    && d.subject == e.subject
                    && d.prev == e.prev.as_ref().map(|p| p.index)
                    && d.payload_type == e.envelope.payload_type
                    && (d.statement.get().as_bytes() == &*payload
                        || Decoded::of_parts(e, payload.into_owned())
                            .is_some_and(|own| own.statement == d.statement))
            }
            _ => false,
        };
        if !same {
            return Err(format!(
                "the decoded copy beside entry {} is not what its signed bytes say",
                p.index
            ));
        }
    }
    Ok(())
}

/// The `inclusion` check of an entry's report.
fn inclusion_check(
    p: &ProvenEntry,
    read: Option<&Read>,
    checkpoint: &Checkpoint,
    checks: &mut Checks,
) -> bool {
    checks.add(
        "inclusion",
        included(p, read, checkpoint).map(|()| {
            format!(
                "entry {} is in the tree of size {}",
                p.index,
                checkpoint.size()
            )
        }),
    )
}

/// Decodes a proven entry and checks its inclusion under `checkpoint`.
fn proven(p: &ProvenEntry, checkpoint: &Checkpoint) -> Result<(Vec<u8>, Hash), String> {
    let read = Read::of(p);
    included(p, read.as_ref(), checkpoint)?;
    let read = read.expect("included");
    Ok((read.bytes, read.leaf))
}

/// The registry chain as of `checkpoint`, verified as the log should have accepted it:
/// each entry included, linked to the one before, from the genesis entry to the head
/// the checkpoint names, and each change signed by enough governance keys of the
/// registry before it (the genesis entry by its own). A log operator cannot slip in a
/// registration the governance did not sign.
struct RegistryChain {
    /// (index of the change, registry after it), oldest first, from the genesis entry.
    states: Vec<(u64, Registry)>,
    /// The leaf hash of each change replayed.
    leaves: BTreeMap<u64, Hash>,
}

/// Registry signatures whose keys were found, waiting to be verified together (on
/// every core) once the replay is done. `settle` answers as checking each where it was
/// met would have: the error of the first that fails.
#[derive(Default)]
struct PendingSignatures(
    Vec<(
        Vec<u8>,
        ed25519_dalek::Signature,
        ed25519_dalek::VerifyingKey,
        u64,
    )>,
);

impl PendingSignatures {
    fn settle(&mut self) -> Result<(), String> {
        let items: Vec<_> = self
            .0
            .iter()
            .map(|(m, s, k, _)| (m.as_slice(), *s, *k))
            .collect();
        let verdicts = verify_all_parallel(&items);
        let failed = self.0.iter().zip(verdicts).find(|(_, ok)| !ok);
        let result = match failed {
            Some(((_, _, _, position), _)) => Err(format!(
                "a signature on registry entry {position} does not verify"
            )),
            None => Ok(()),
        };
        self.0.clear();
        result
    }
}

/// Checks that every signature of `envelope` is by a key active in `registry` at
/// `position` (each signature left in `pending` to verify), and that enough of them
/// are governance keys.
fn check_registry_signatures(
    envelope: &Envelope,
    registry: &Registry,
    position: u64,
    pending: &mut PendingSignatures,
) -> Result<(), String> {
    let opened = envelope.clone().open().map_err(|e| e.to_string())?;
    for (key_id, sig) in &opened.signatures {
        let (_, key) = registry
            .signer_at(*key_id, position)
            .ok_or_else(|| format!("key {key_id:08x} could not sign registry entry {position}"))?;
        pending.0.push((opened.pae.clone(), *sig, *key, position));
    }
    let keys: Vec<u32> = opened.signatures.iter().map(|s| s.0).collect();
    policy::check_governance(registry, &keys, position)
        .map_err(|e| format!("registry entry {position}: {e}"))
}

/// A registry entry, included in the checkpoint's tree and decoded.
struct RegistryEntry {
    entry: Entry,
    leaf: Hash,
    statement: RegistryStatement,
}

/// Walks `subject`'s chain from `head` down its `prev` links through `entries`; the
/// chain must be whole (every link present, down to an entry with no `prev`) and as
/// long as the index counts.
fn walk_registry_chain(
    subject: &str,
    head: Option<index::ChainHead>,
    entries: &BTreeMap<u64, RegistryEntry>,
) -> Result<(), String> {
    let Some(head) = head else {
        return if entries.values().any(|e| e.entry.subject == subject) {
            Err(format!(
                "the supplier index proves {subject} has no entry, yet the bundle holds one"
            ))
        } else {
            Ok(())
        };
    };
    let mut next = Some((head.newest_index, head.newest_leaf_hash));
    let mut count = 0;
    while let Some((index, leaf)) = next {
        let e = entries
            .get(&index)
            .filter(|e| e.leaf == leaf)
            .ok_or_else(|| {
                format!("registry entry {index} of {subject} is left out: the chain is not whole")
            })?;
        if e.entry.subject != subject {
            return Err(format!("registry entry {index} is not about {subject}"));
        }
        count += 1;
        next = e
            .entry
            .prev_link()
            .map_err(|e| format!("registry entry {index}: {e}"))?;
    }
    if count != head.count {
        return Err(format!(
            "the supplier index counts {} registry entries of {subject}, the chain holds {count}",
            head.count
        ));
    }
    Ok(())
}

impl RegistryChain {
    /// Verifies the registry entries a bundle or history carries: each included in the
    /// checkpoint's tree; the governance chain and every participant chain among them
    /// proven complete by the supplier index (`proofs`), and one proof for the chain of
    /// every governance member (so that none of their changes hides in a chain of its
    /// own); then replayed from the genesis entry, each change signed by enough
    /// governance keys of the registry before it. Checkpoints from before the index
    /// carry the whole registry as one chain whose head they name.
    fn verify(
        chain: &[ProvenEntry],
        proofs: &[SubjectProof],
        checkpoint: &Checkpoint,
    ) -> Result<Self, String> {
        let mut entries: BTreeMap<u64, RegistryEntry> = BTreeMap::new();
        for p in chain {
            let (bytes, leaf) = proven(p, checkpoint)?;
            let entry =
                Entry::parse(&bytes).map_err(|e| format!("registry entry {}: {e}", p.index))?;
            if entry.envelope.payload_type != REGISTRY_TYPE {
                return Err(format!("entry {} is not a registry statement", p.index));
            }
            let body = BASE64
                .decode(&entry.envelope.payload)
                .map_err(|_| format!("registry entry {}: payload is not base64", p.index))?;
            let statement = RegistryStatement::parse(&body)
                .map_err(|e| format!("registry entry {}: {e}", p.index))?;
            let e = RegistryEntry {
                entry,
                leaf,
                statement,
            };
            if entries.insert(p.index, e).is_some() {
                return Err(format!("registry entry {} is given twice", p.index));
            }
        }
        match index::root_of(checkpoint) {
            Some(root) => {
                if !proofs.iter().any(|p| p.subject == REGISTRY_SUBJECT) {
                    return Err("the governance chain comes without its index proof".into());
                }
                for sp in proofs {
                    if !crate::registry::is_registry_chain(&sp.subject) {
                        return Err(format!("{} is not a registry chain", sp.subject));
                    }
                    let proof = sp.proof.decode().map_err(|e| e.to_string())?;
                    let head = proof
                        .verify(&root, &index::key(&sp.subject))
                        .map_err(|e| format!("the index proof of {} fails: {e}", sp.subject))?;
                    if sp.subject == REGISTRY_SUBJECT {
                        let named = entry::registry_head(checkpoint);
                        if named.is_some()
                            && named != head.map(|h| (h.newest_index, h.newest_leaf_hash))
                        {
                            return Err(
                                "the checkpoint's registry head is not the head the index proves"
                                    .into(),
                            );
                        }
                    }
                    walk_registry_chain(&sp.subject, head, &entries)?;
                }
                if let Some((i, e)) = entries
                    .iter()
                    .find(|(_, e)| !proofs.iter().any(|p| p.subject == e.entry.subject))
                {
                    return Err(format!(
                        "registry entry {i} ({}) is not in a chain proven complete",
                        e.entry.subject
                    ));
                }
            }
            None => {
                let (head_index, head_leaf) = entry::registry_head(checkpoint).ok_or(
                    "the checkpoint names no registry head: not a vouch ledger checkpoint",
                )?;
                let head = index::ChainHead {
                    count: entries.len() as u64,
                    newest_index: head_index,
                    newest_leaf_hash: head_leaf,
                };
                walk_registry_chain(REGISTRY_SUBJECT, Some(head), &entries)?;
            }
        }
        let mut states: Vec<(u64, Registry)> = Vec::with_capacity(entries.len());
        let mut pending = PendingSignatures::default();
        let replayed = Self::replay(&entries, &mut states, &mut pending);
        // An earlier signature that fails is the first error, as it would have been
        // had each been checked where it was met.
        pending.settle()?;
        replayed?;
        if let (Some((_, last)), Some(_)) = (states.last(), index::root_of(checkpoint)) {
            for p in last.participants.values() {
                let subject = crate::registry::participant_subject(&p.id);
                if p.has_role(Role::Governance) && !proofs.iter().any(|sp| sp.subject == subject) {
                    return Err(format!(
                        "no index proof for {subject}: a governance member's changes could hide there"
                    ));
                }
            }
        }
        if states.is_empty() {
            return Err("no registry entries".into());
        }
        let leaves = entries.iter().map(|(i, e)| (*i, e.leaf)).collect();
        Ok(RegistryChain { states, leaves })
    }

    /// Replays `entries` from the genesis entry into `states`, leaving their signatures
    /// in `pending`.
    fn replay(
        entries: &BTreeMap<u64, RegistryEntry>,
        states: &mut Vec<(u64, Registry)>,
        pending: &mut PendingSignatures,
    ) -> Result<(), String> {
        for (index, e) in entries {
            let next = match states.last() {
                None => {
                    if *index != 0 {
                        return Err("the registry chain does not start at the genesis entry".into());
                    }
                    let genesis =
                        Registry::genesis(&e.statement).map_err(|e| format!("genesis: {e}"))?;
                    check_registry_signatures(&e.entry.envelope, &genesis, 0, pending)?;
                    genesis
                }
                Some((_, before)) => {
                    // A participant's chain holds only changes about that participant,
                    // never about a governance member.
                    if e.entry.subject != REGISTRY_SUBJECT
                        && before.subject_of(&e.statement) != e.entry.subject
                    {
                        return Err(format!(
                            "registry entry {index} is filed under {}, not where the log files it",
                            e.entry.subject
                        ));
                    }
                    check_registry_signatures(&e.entry.envelope, before, *index, pending)?;
                    let mut next = before.clone();
                    next.apply(&e.statement, *index)
                        .map_err(|e| format!("registry entry {index}: {e}"))?;
                    next
                }
            };
            states.push((*index, next));
        }
        Ok(())
    }

    fn len(&self) -> usize {
        self.states.len()
    }

    /// The registry after every change before `position` (or all, for `None`).
    fn at(&self, position: Option<u64>) -> &Registry {
        let upto = match position {
            None => self.states.len(),
            Some(p) => self.states.partition_point(|(i, _)| *i < p).max(1),
        };
        &self.states[upto - 1].1
    }
}

/// Verifies registry entries with their index proofs (the registry part of a bundle or
/// a history) under `checkpoint`, signed by `log_key`, as [`verify_bundle`] and
/// [`verify_history`] do: how many entries were replayed, or why they do not verify.
/// A server checks its whole registry this way when it starts, so that the signatures
/// are known to [`crate::envelope::verify_signature`] before the first page needs them.
///
/// # Errors
/// The first check that fails, in words.
pub fn verify_registry(
    chain: &[ProvenEntry],
    proofs: &[SubjectProof],
    checkpoint: &str,
    log_key: &Verifier,
) -> Result<usize, String> {
    let (checkpoint, _) =
        Checkpoint::open(checkpoint.as_bytes(), log_key).map_err(|e| e.to_string())?;
    RegistryChain::verify(chain, proofs, &checkpoint).map(|c| c.len())
}

/// Checks the checkpoint's signature by the log key.
fn open_checkpoint(signed: &str, log_key: &Verifier, checks: &mut Checks) -> Option<Checkpoint> {
    match Checkpoint::open(signed.as_bytes(), log_key) {
        Ok((cp, _)) => {
            checks.add(
                "checkpoint",
                Ok(format!(
                    "signed by {} for tree size {}",
                    log_key.name(),
                    cp.size()
                )),
            );
            Some(cp)
        }
        Err(e) => {
            checks.add(
                "checkpoint",
                Err(format!("not signed by the trusted log key: {e}")),
            );
            None
        }
    }
}

/// Verifies one entry, given the verified checkpoint and registry chain, and which of
/// its signatures a batch already found to hold (`presigned`, by position).
fn verify_entry(
    p: &ProvenEntry,
    read: Option<&Read>,
    checkpoint: &Checkpoint,
    chain: Option<&RegistryChain>,
    now: OffsetDateTime,
    presigned: &[bool],
    mut checks: Checks,
) -> (Report, Option<Statement>) {
    let mut report = Report {
        verdict: Verdict::Invalid,
        index: p.index,
        subject: None,
        kind: None,
        issued_at: None,
        signers: vec![],
        signed_by: vec![],
        statement: None,
        self_reported: false,
        checks: vec![],
        standing: Standing::default(),
        notes: vec![],
    };
    let mut suspect = false;
    let mut parsed = None;
    let included_ok = inclusion_check(p, read, checkpoint, &mut checks);
    if let (true, Some(read)) = (included_ok, read) {
        let e = read.entry.as_ref();
        let statement = e.map_err(Clone::clone).and_then(|e| {
            if e.envelope.payload_type != STATEMENT_TYPE {
                return Err(format!(
                    "payload type {} is not a statement",
                    e.envelope.payload_type
                ));
            }
            let body = read
                .payload()
                .ok_or_else(|| "payload is not base64".to_string())?;
            Statement::parse(&body).map_err(|e| e.to_string())
        });
        let stmt_ok = checks.add(
            "statement",
            statement
                .as_ref()
                .map(|s| format!("a valid {} statement about {}", s.kind, s.supplier.id))
                .map_err(Clone::clone),
        );
        if let (true, Ok(e), Ok(statement)) = (stmt_ok, e, statement) {
            report.subject = Some(e.subject.clone());
            report.kind = Some(statement.kind);
            report.issued_at = Some(statement.issued_at.clone());
            checks.add(
                "subject",
                if e.subject == statement.subject() {
                    Ok(format!("the entry is filed under {}", e.subject))
                } else {
                    Err(format!(
                        "filed under {}, but the statement is about {}",
                        e.subject,
                        statement.subject()
                    ))
                },
            );
            match chain {
                None => {
                    checks.add(
                        "signers",
                        Err("no verified registry to check the signers against".into()),
                    );
                }
                Some(chain) => {
                    let opened = read.opened.as_ref().expect("opened when the entry parses");
                    let result =
                        signer_check(opened, &statement, chain, p.index, &e.logged_at, presigned);
                    match result {
                        Ok((signers, s, own)) => {
                            let ids: Vec<String> = signers.iter().map(|s| s.id.clone()).collect();
                            report.signed_by = signers;
                            report.self_reported = own;
                            checks.add(
                                "signers",
                                Ok(format!(
                                    "signed by {} with keys registered for this kind at entry {}",
                                    ids.join(", "),
                                    p.index
                                )),
                            );
                            report.signers = ids;
                            suspect = s;
                            checks.add(
                                "key standing",
                                if s {
                                    Ok("a signing key was later revoked as compromised from before this entry: suspect".into())
                                } else {
                                    Ok("no signing key is known to be compromised at this entry".into())
                                },
                            );
                        }
                        Err(reason) => {
                            checks.add("signers", Err(reason));
                        }
                    }
                }
            }
            report.standing.expired = statement.valid_until().is_some_and(|u| u < now);
            report.statement = Some(statement.clone());
            parsed = Some(statement);
        }
    }
    report.verdict = match (checks.all_ok(), suspect) {
        (false, _) => Verdict::Invalid,
        (true, true) => Verdict::Suspect,
        (true, false) => Verdict::Valid,
    };
    report.checks = checks.0;
    (report, parsed)
}

/// The envelope signatures of `entries` that hold, checked all at once on every core
/// against the keys the registry gives them at their positions: for the `n`th entry,
/// whether each of its signatures holds. Whatever is not found here (an entry that does
/// not parse, a key not registered) is left to [`signer_check`].
fn batch_signatures(
    entries: &[ProvenEntry],
    reads: &[Option<Read>],
    chain: &RegistryChain,
) -> Vec<Vec<bool>> {
    let opened: Vec<Option<&Opened>> = reads
        .iter()
        .map(|r| r.as_ref()?.opened.as_ref()?.as_ref().ok())
        .collect();
    let mut items = Vec::new();
    let mut at = Vec::new();
    for (n, (o, p)) in opened.iter().zip(entries).enumerate() {
        let Some(o) = o else { continue };
        let registry = chain.at(Some(p.index));
        for (i, (key_id, sig)) in o.signatures.iter().enumerate() {
            if let Some((_, key)) = registry.signer_at(*key_id, p.index) {
                items.push((o.pae.as_slice(), *sig, *key));
                at.push((n, i));
            }
        }
    }
    let mut out: Vec<Vec<bool>> = opened
        .iter()
        .map(|o| vec![false; o.map_or(0, |o| o.signatures.len())])
        .collect();
    for ((n, i), ok) in at.into_iter().zip(verify_all_parallel(&items)) {
        out[n][i] = ok;
    }
    out
}

/// `items.iter().map(f)`, split over the machine's cores when there are many (a long
/// history on a reader's first visit), in order.
pub(crate) fn par_map<T: Sync, U: Send>(items: &[T], f: impl Fn(&T) -> U + Sync) -> Vec<U> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    if cores < 2 || items.len() < 32 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(cores.min(4));
    std::thread::scope(|scope| {
        let f = &f;
        let parts: Vec<_> = items
            .chunks(chunk)
            .map(|c| scope.spawn(move || c.iter().map(f).collect::<Vec<U>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().expect("verification does not panic"))
            .collect()
    })
}

/// [`crate::envelope::verify_all`], split over the machine's cores when there are many
/// (a long history on a reader's first visit), in order.
fn verify_all_parallel(
    items: &[(&[u8], ed25519_dalek::Signature, ed25519_dalek::VerifyingKey)],
) -> Vec<bool> {
    par_map(items, |(m, s, k)| {
        crate::envelope::verify_signature(m, s, k)
    })
}

/// Checks every signature of `envelope` against the registry at `position`; returns the
/// signers' participant ids and whether any key is suspect.
fn signer_check(
    opened: &Result<Opened, String>,
    statement: &Statement,
    chain: &RegistryChain,
    position: u64,
    logged_at: &str,
    presigned: &[bool],
) -> Result<(Vec<SignerInfo>, bool, bool), String> {
    let then = chain.at(Some(position));
    let latest = chain.at(None);
    let opened = opened.as_ref().map_err(Clone::clone)?;
    let mut signers = Vec::new();
    let mut suspect = false;
    let mut own = false;
    for (i, (key_id, _)) in opened.signatures.iter().enumerate() {
        let (participant, key) = then.signer_at(*key_id, position).ok_or_else(|| {
            format!("key {key_id:08x} was not registered and active at entry {position}")
        })?;
        if !presigned.get(i).copied().unwrap_or(false) && !opened.verify_one(i, key) {
            return Err(format!("signature by key {key_id:08x} does not verify"));
        }
        if !statement.kind.amends() {
            policy::authorise(participant, statement).map_err(|e| e.to_string())?;
        }
        suspect |= latest.key_status(*key_id, position, logged_at) == KeyStatus::Suspect;
        // Signed by its subject: the supplier, or the buyer a record is about.
        own |= match &statement.buyer {
            None => participant.is_supplier(&statement.supplier.id),
            Some(b) => *b == participant.id,
        };
        signers.push(SignerInfo::from(participant));
    }
    policy::check_buyer(then, statement, position).map_err(|e| e.to_string())?;
    Ok((signers, suspect, own))
}

/// Verifies a bundle against the trusted log key. Whether the entry was later
/// retracted or answered needs the supplier's newer entries: see [`verify_history`]
/// and [`standing_from_history`].
pub fn verify_bundle(bundle: &Bundle, log_key: &Verifier, now: OffsetDateTime) -> Report {
    let mut checks = Checks(Vec::new());
    let Some(checkpoint) = open_checkpoint(&bundle.checkpoint, log_key, &mut checks) else {
        return failed(bundle.index, checks);
    };
    if checkpoint.size() != bundle.tree_size {
        checks.add(
            "checkpoint",
            Err(format!(
                "the bundle says tree size {}, the checkpoint {}",
                bundle.tree_size,
                checkpoint.size()
            )),
        );
        return failed(bundle.index, checks);
    }
    let chain = RegistryChain::verify(&bundle.registry, &bundle.registry_proofs, &checkpoint);
    checks.add(
        "registry",
        chain
            .as_ref()
            .map(|c| format!("{} registry entries that decide the signers' authority, every chain whole, replayed from the genesis entry", c.len()))
            .map_err(Clone::clone),
    );
    let p = ProvenEntry {
        index: bundle.index,
        entry: bundle.entry.clone(),
        inclusion_proof: bundle.inclusion_proof.clone(),
        decoded: bundle.decoded.clone(),
    };
    let read = Read::of(&p);
    let registry_change = read
        .as_ref()
        .and_then(|r| r.entry.as_ref().ok())
        .is_some_and(|e| e.envelope.payload_type == REGISTRY_TYPE);
    if registry_change {
        return registry_change_report(&p, read.as_ref(), &checkpoint, chain.as_ref().ok(), checks);
    }
    let mut report = verify_entry(
        &p,
        read.as_ref(),
        &checkpoint,
        chain.as_ref().ok(),
        now,
        &[],
        checks,
    )
    .0;
    report.notes.push(format!(
        "not checked: whether a later record retracted or corrected this one (a bundle \
         holds only the log up to tree size {}); check it with `vouch verify --url`, \
         `vouch history {}` or POST /v1/verify",
        checkpoint.size(),
        report.subject.as_deref().unwrap_or("<supplier>")
    ));
    report.settle();
    report
}

/// The report of a registry change's bundle: the entry is in the checkpoint's tree and
/// is one of the registry entries the bundle proves whole and replays from the genesis
/// entry, so it was signed by enough governance keys of the registry before it and fits
/// it. Its signers are the keys that signed it, as that registry had them.
fn registry_change_report(
    p: &ProvenEntry,
    read: Option<&Read>,
    checkpoint: &Checkpoint,
    chain: Option<&RegistryChain>,
    mut checks: Checks,
) -> Report {
    let in_tree = inclusion_check(p, read, checkpoint, &mut checks);
    let mut signers = Vec::new();
    if let (true, Some(read)) = (in_tree, read) {
        let replayed = match chain {
            None => Err("no verified registry to replay it in".to_string()),
            Some(c) if c.leaves.get(&p.index) == Some(&read.leaf) => {
                let before = c.at(Some(p.index));
                if let Some(Ok(opened)) = &read.opened {
                    for (key_id, _) in &opened.signatures {
                        if let Some((participant, _)) = before.signer_at(*key_id, p.index) {
                            signers.push(participant.id.clone());
                        }
                    }
                }
                Ok(format!(
                    "registry entry {} is in a chain the supplier index proves whole, signed by enough governance keys of the registry before it, replayed from the genesis entry",
                    p.index
                ))
            }
            Some(_) => Err(format!(
                "entry {} is not among the registry entries the bundle proves and replays",
                p.index
            )),
        };
        checks.add("registry change", replayed);
    }
    let ok = checks.all_ok();
    let mut report = failed(p.index, checks);
    report.subject = read
        .and_then(|r| r.entry.as_ref().ok())
        .map(|e| e.subject.clone());
    report.signers = signers;
    if ok {
        report.verdict = Verdict::Valid;
    }
    report
}

/// Verifies a portable proof (C2SP tlog-proof, [`crate::proof`]) offline: the
/// checkpoint's signature by `log_key`, the entry it carries included at its index,
/// and the entry's statement well formed. A proof carries no registry, so who signed
/// the entry and their authority are not checked: the report says so and how to check
/// them (the entry's bundle).
pub fn verify_tlog_proof(
    proof: &crate::proof::TlogProof,
    log_key: &Verifier,
    now: OffsetDateTime,
) -> Report {
    let mut checks = Checks(Vec::new());
    let Some(checkpoint) = open_checkpoint(&proof.checkpoint, log_key, &mut checks) else {
        return failed(proof.index, checks);
    };
    let included = proof.verify(log_key).map(|_| {
        format!(
            "entry {} is in the tree of size {}",
            proof.index,
            checkpoint.size()
        )
    });
    if !checks.add("inclusion", included.map_err(|e| e.to_string())) {
        return failed(proof.index, checks);
    }
    let bytes = proof.extra.as_deref().unwrap_or_default();
    let mut report = failed(proof.index, Checks(Vec::new()));
    let statement = Entry::parse(bytes)
        .map_err(|e| e.to_string())
        .and_then(|e| {
            report.subject = Some(e.subject.clone());
            let body = BASE64
                .decode(&e.envelope.payload)
                .map_err(|_| "the payload is not base64".to_owned())?;
            match e.envelope.payload_type.as_str() {
                STATEMENT_TYPE => Statement::parse(&body).map(Some).map_err(|e| e.to_string()),
                REGISTRY_TYPE => RegistryStatement::parse(&body)
                    .map(|_| None)
                    .map_err(|e| e.to_string()),
                other => Err(format!("a {other} entry, not a vouch statement")),
            }
        });
    let ok = checks.add(
        "statement",
        statement
            .as_ref()
            .map(|s| match s {
                Some(s) => format!("a well-formed {} statement", s.kind),
                None => "a well-formed registry change".into(),
            })
            .map_err(Clone::clone),
    );
    if let Ok(Some(s)) = statement {
        report.standing.expired = s.valid_until().is_some_and(|u| u < now);
        report.kind = Some(s.kind);
        report.issued_at = Some(s.issued_at.clone());
        report.statement = Some(s);
    }
    report.checks = checks.0;
    report.notes.push(
        "a tlog-proof carries no registry and no later records: who signed the entry, whether they could, and whether a later record retracted, replaced or answered it are not checked here; `vouch verify` of the entry's bundle (GET /v1/entries/<index>) with --url checks them".into(),
    );
    report.verdict = if ok { Verdict::Valid } else { Verdict::Invalid };
    report.settle();
    report
}

fn failed(index: u64, checks: Checks) -> Report {
    Report {
        verdict: Verdict::Invalid,
        index,
        subject: None,
        kind: None,
        issued_at: None,
        signers: vec![],
        signed_by: vec![],
        statement: None,
        self_reported: false,
        checks: checks.0,
        standing: Standing::default(),
        notes: vec![],
    }
}

/// Verifies a supplier's whole history, as asked for `supplier` from its first entry:
/// the checkpoint, the registry chain, every entry as in [`verify_bundle`], and the
/// `prev` chain between them unbroken from the supplier's first entry. Retractions and
/// responses among the entries are reported in the standing of the entries they refer
/// to.
pub fn verify_history(
    history: &History,
    supplier: &str,
    log_key: &Verifier,
    now: OffsetDateTime,
) -> HistoryReport {
    verify_history_as(history, supplier, log_key, now, Signatures::Checked)
}

/// [`verify_history`] as the log checks its own store (the explorer's pages, standings
/// and summaries it serves): every check but one is made again, and an envelope
/// signature of an entry proven in a tree the log signed is taken as the log checked
/// it when it admitted the entry. The sequencer checks every signature strictly before
/// the entry joins a tree it signs ([`crate::log`]'s acceptance rules), and the
/// inclusion proof, checked here against the checkpoint, shows the entry is that one,
/// unchanged: checking the signature again proves nothing more unless the log's own
/// key signed what its rules refused. Readers check signatures again (`vouch verify`,
/// the explorer's script), and so does a monitor. An entry whose inclusion fails is
/// refused as in [`verify_history`].
pub fn verify_own_history(
    history: &History,
    supplier: &str,
    log_key: &Verifier,
    now: OffsetDateTime,
) -> HistoryReport {
    verify_history_as(history, supplier, log_key, now, Signatures::AsAdmitted)
}

/// Whose check of envelope signatures a history's verification rests on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Signatures {
    /// Every signature checked here.
    Checked,
    /// As the log checked them when it admitted each entry ([`verify_own_history`]).
    AsAdmitted,
}

fn verify_history_as(
    history: &History,
    supplier: &str,
    log_key: &Verifier,
    now: OffsetDateTime,
    signatures: Signatures,
) -> HistoryReport {
    let mut checks = Checks(Vec::new());
    let mut report = HistoryReport {
        verdict: Verdict::Invalid,
        supplier: supplier.to_owned(),
        tree_size: history.tree_size,
        checks: vec![],
        entries: vec![],
    };
    let Some(checkpoint) = open_checkpoint(&history.checkpoint, log_key, &mut checks) else {
        report.checks = checks.0;
        return report;
    };
    let asked = if history.supplier != supplier {
        Err(format!(
            "asked for {supplier}, got a history of {}",
            history.supplier
        ))
    } else if history.tree_size != checkpoint.size() {
        Err(format!(
            "the history says tree size {}, its checkpoint {}",
            history.tree_size,
            checkpoint.size()
        ))
    } else {
        Ok(format!(
            "the history of {supplier} at tree size {}",
            checkpoint.size()
        ))
    };
    if !checks.add("request", asked) {
        report.checks = checks.0;
        return report;
    }
    // The registry chain on a thread of its own while the entries are decoded: each
    // needs a core for a few milliseconds on a long history's first visit.
    let (chain, reads) = std::thread::scope(|scope| {
        let chain = scope.spawn(|| {
            RegistryChain::verify(&history.registry, &history.registry_proofs, &checkpoint)
        });
        let reads: Vec<Option<Read>> = par_map(&history.entries, Read::of);
        (chain.join().expect("verification does not panic"), reads)
    });
    checks.add(
        "registry",
        chain
            .as_ref()
            .map(|c| {
                format!(
                    "{} registry entries that decide the signers' authority, every chain whole, replayed from the genesis entry",
                    c.len()
                )
            })
            .map_err(Clone::clone),
    );
    // Each entry is decoded once (above), for every check that reads it.
    checks.add(
        "complete",
        completeness(history, &reads, supplier, &checkpoint),
    );
    let presigned = match (&chain, signatures) {
        (Err(_), _) => Vec::new(),
        (Ok(c), Signatures::Checked) => batch_signatures(&history.entries, &reads, c),
        // Only an entry whose inclusion holds gets as far as its signers
        // (`verify_entry`), so these stand for no entry the log did not sign.
        (Ok(_), Signatures::AsAdmitted) => reads
            .iter()
            .map(|r| {
                let n = r
                    .as_ref()
                    .and_then(|r| r.opened.as_ref()?.as_ref().ok())
                    .map_or(0, |o| o.signatures.len());
                vec![true; n]
            })
            .collect(),
    };
    let numbered: Vec<(usize, &ProvenEntry)> = history.entries.iter().enumerate().collect();
    let verified = par_map(&numbered, |&(n, p)| {
        let signed = presigned.get(n).map_or(&[][..], Vec::as_slice);
        verify_entry(
            p,
            reads[n].as_ref(),
            &checkpoint,
            chain.as_ref().ok(),
            now,
            signed,
            Checks(Vec::new()),
        )
    });
    let mut parsed: BTreeMap<u64, Statement> = BTreeMap::new();
    for ((mut entry_report, statement), p) in verified.into_iter().zip(&history.entries) {
        if signatures == Signatures::AsAdmitted {
            for c in entry_report
                .checks
                .iter_mut()
                .filter(|c| c.ok && c.name == "signers")
            {
                c.reason.push_str(
                    "; the signatures as this log checked them when it admitted the entry (a reader's verification checks them again)",
                );
            }
        }
        if let Some(statement) = statement {
            parsed.insert(p.index, statement);
        }
        report.entries.push(entry_report);
    }
    // References, now that every entry of the supplier is at hand: each must point at
    // an entry of this history with the leaf hash it names, and a retraction must come
    // from the signers of what it retracts or from governance (as the log checked).
    let leaves: BTreeMap<u64, Hash> = history
        .entries
        .iter()
        .zip(&reads)
        .filter_map(|(p, r)| Some((p.index, r.as_ref()?.leaf)))
        .collect();
    let logged: BTreeMap<u64, String> = history
        .entries
        .iter()
        .zip(&reads)
        .filter_map(|(p, r)| Some((p.index, r.as_ref()?.entry.as_ref().ok()?.logged_at.clone())))
        .collect();
    let known = Known {
        leaves: &leaves,
        logged: &logged,
        parsed: &parsed,
        reports: &report.entries,
        subject: supplier,
    };
    let problems: Vec<(u64, Option<String>)> = parsed
        .iter()
        .map(|(index, statement)| {
            (
                *index,
                ref_problem(*index, statement, &known, chain.as_ref().ok()),
            )
        })
        .collect();
    for ((index, statement), (_, problem)) in parsed.iter().zip(problems) {
        if let Some(reason) = problem {
            if let Some(e) = report.entries.iter_mut().find(|e| e.index == *index) {
                e.verdict = Verdict::Invalid;
                e.checks.push(Check {
                    name: "references".into(),
                    ok: false,
                    reason,
                });
            }
            continue;
        }
        // Only a record that verifies can withdraw, replace or answer another.
        let holds = report
            .entries
            .iter()
            .any(|e| e.index == *index && e.verdict != Verdict::Invalid);
        if !holds {
            continue;
        }
        for r in &statement.refs {
            if let Some(target) = report.entries.iter_mut().find(|e| e.index == r.index) {
                match statement.kind {
                    Kind::Retraction => target.standing.retracted_by.push(*index),
                    Kind::Correction => target.standing.superseded_by.push(*index),
                    Kind::Response => target.standing.answered_by.push(*index),
                    _ => {}
                }
            }
        }
    }
    for e in &mut report.entries {
        e.settle();
    }
    let entries_ok = report.entries.iter().all(|e| e.verdict != Verdict::Invalid);
    checks.add(
        "entries",
        if history.entries.is_empty() {
            Ok("no entries to verify".into())
        } else if entries_ok {
            Ok("every entry verifies".into())
        } else {
            Err("at least one entry does not verify: see its report".into())
        },
    );
    report.verdict = if checks.all_ok() {
        Verdict::Valid
    } else {
        Verdict::Invalid
    };
    report.checks = checks.0;
    report
}

/// The OS IDs that the valid alias records of a verified history join to it, oldest
/// first, each once.
pub fn joined_ids(report: &HistoryReport) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for r in report.entries.iter().rev() {
        let alias = r
            .statement
            .as_ref()
            .filter(|s| r.verdict == Verdict::Valid && s.kind == Kind::Alias)
            .and_then(|s| s.alias_of.as_ref());
        if let Some(id) = alias {
            if !ids.iter().any(|i| i == id.as_str()) {
                ids.push(id.to_string());
            }
        }
    }
    ids
}

/// Verifies the history of `supplier` and the histories of the OS IDs its valid alias
/// records join to it (Open Supply Hub merges), all against one checkpoint, as one
/// history: [`verify_history`] of each, and a `joined` check that every joined history
/// is there, at the same checkpoint, and verifies. The entries of all, newest first.
/// One level: the aliases of a joined ID are not followed.
pub fn verify_joined(
    history: &History,
    joined: &[History],
    supplier: &str,
    log_key: &Verifier,
    now: OffsetDateTime,
) -> HistoryReport {
    join(
        verify_history(history, supplier, log_key, now),
        history,
        joined,
        log_key,
        now,
    )
}

/// [`verify_joined`] for a history already verified into `report`.
pub fn join(
    mut report: HistoryReport,
    history: &History,
    joined: &[History],
    log_key: &Verifier,
    now: OffsetDateTime,
) -> HistoryReport {
    let ids = if report.verdict == Verdict::Valid {
        joined_ids(&report)
    } else {
        Vec::new()
    };
    if ids.is_empty() && joined.is_empty() {
        return report;
    }
    let body = |note: &str| note.split_once("\n\n").map(|(b, _)| b.to_owned());
    let mut problem = None;
    let mut counts = Vec::new();
    for h in joined {
        if !ids.contains(&h.supplier) {
            problem.get_or_insert(format!(
                "{} is not joined to {} by a valid alias record",
                h.supplier, report.supplier
            ));
        }
    }
    for id in &ids {
        let Some(h) = joined.iter().find(|h| &h.supplier == id) else {
            problem.get_or_insert(format!(
                "the history of {id}, which an alias record joins, is missing"
            ));
            continue;
        };
        if h.tree_size != history.tree_size || body(&h.checkpoint) != body(&history.checkpoint) {
            problem.get_or_insert(format!(
                "the history of {id} is at another checkpoint than {}'s",
                report.supplier
            ));
            continue;
        }
        let r = verify_history(h, id, log_key, now);
        if r.verdict != Verdict::Valid {
            let why = r
                .checks
                .iter()
                .find(|c| !c.ok)
                .map(|c| format!("{}: {}", c.name, c.reason))
                .unwrap_or_default();
            problem.get_or_insert(format!("the history of {id} does not verify ({why})"));
        }
        counts.push(format!("{id} ({} records)", r.entries.len()));
        report.entries.extend(r.entries);
    }
    report.entries.sort_by_key(|e| std::cmp::Reverse(e.index));
    let mut checks = Checks(std::mem::take(&mut report.checks));
    let ok = checks.add(
        "joined",
        match problem {
            Some(p) => Err(p),
            None => Ok(format!(
                "joined by alias records: the complete histories of {}, at tree size {}",
                counts.join(", "),
                history.tree_size
            )),
        },
    );
    report.checks = checks.0;
    if !ok {
        report.verdict = Verdict::Invalid;
    }
    report
}

/// Whether `history` holds every entry about `supplier` in the checkpoint's tree: the
/// supplier index proves the chain head (or that there is none), the entries run from
/// that head down the `prev` links to the supplier's first entry, and there are as
/// many as the index counts (`docs/index.md`, section 6).
fn completeness(
    history: &History,
    reads: &[Option<Read>],
    supplier: &str,
    checkpoint: &Checkpoint,
) -> Result<String, String> {
    let size = checkpoint.size();
    let root = index::root_of(checkpoint).ok_or(
        "the checkpoint commits to no supplier index, so the history cannot be proven complete",
    )?;
    let proof = history
        .index_proof
        .as_ref()
        .ok_or("the history carries no supplier index proof, so it cannot be proven complete")?
        .decode()
        .map_err(|e| e.to_string())?;
    let head = proof
        .verify(&root, &index::key(supplier))
        .map_err(|e| format!("the supplier index proof fails: {e}"))?;
    let Some(head) = head else {
        return if history.entries.is_empty() {
            Ok(format!(
                "the supplier index proves that no entry is about {supplier} as of tree size {size}"
            ))
        } else {
            Err(format!(
                "the supplier index proves that no entry is about {supplier}, yet the history shows {}",
                history.entries.len()
            ))
        };
    };
    let mut expect = Some((head.newest_index, head.newest_leaf_hash));
    for (n, (p, read)) in history.entries.iter().zip(reads).enumerate() {
        let read = read
            .as_ref()
            .ok_or_else(|| format!("entry {} is not base64", p.index))?;
        let Some((index, leaf)) = expect else {
            return Err(format!(
                "entry {} comes after the supplier's first entry: the history has more entries than its chain",
                p.index
            ));
        };
        if (p.index, read.leaf) != (index, leaf) {
            return Err(if p.index == index {
                format!(
                    "entry {index} is not the entry {}: its bytes were changed",
                    if n == 0 {
                        "the supplier index names as the newest"
                    } else {
                        "the one after it links to"
                    }
                )
            } else if n == 0 {
                format!(
                    "the supplier index names entry {index} as the newest about {supplier}, but the history starts at entry {}: newer entries are left out",
                    p.index
                )
            } else {
                format!(
                    "the entry before this one in the chain is entry {index}, but the history shows entry {}",
                    p.index
                )
            });
        }
        let e = read
            .entry
            .as_ref()
            .map_err(|e| format!("entry {}: {e}", p.index))?;
        if e.subject != supplier {
            return Err(format!(
                "entry {} is about {}, not {supplier}",
                p.index, e.subject
            ));
        }
        expect = e
            .prev_link()
            .map_err(|e| format!("entry {}: {e}", p.index))?;
    }
    if let Some((index, _)) = expect {
        return Err(format!(
            "the history ends before entry {index}, which its last entry links to: earlier entries are left out"
        ));
    }
    if history.entries.len() as u64 != head.count {
        return Err(format!(
            "the supplier index counts {} entries about {supplier}, but its chain holds {}: entries outside the chain",
            head.count,
            history.entries.len()
        ));
    }
    Ok(format!(
        "all {} entries about {supplier}, from the newest (entry {}) back to the first, as the supplier index at tree size {size} proves",
        head.count, head.newest_index
    ))
}

/// Replays the supplier index from every entry of a tree (`entries[i]` is entry `i`)
/// and checks it against the root `checkpoint` names: what a monitor does to catch a
/// log whose index hides or misstates a subject. Returns the replayed index.
///
/// # Errors
/// When an entry is not a vouch entry, the tree holds another number of entries than
/// the checkpoint's size, or the roots differ (naming a subject whose head differs,
/// when one is found among the entries).
pub fn check_index_root<'a>(
    entries: impl IntoIterator<Item = &'a [u8]>,
    checkpoint: &Checkpoint,
) -> Result<index::Index, String> {
    let mut heads: BTreeMap<String, index::ChainHead> = BTreeMap::new();
    let mut n = 0u64;
    for bytes in entries {
        let e = Entry::parse(bytes).map_err(|e| format!("entry {n}: {e}"))?;
        heads
            .entry(e.subject)
            .or_default()
            .push(n, merkle::leaf_hash(bytes));
        n += 1;
    }
    if n != checkpoint.size() {
        return Err(format!(
            "{n} entries replayed for a checkpoint of size {}",
            checkpoint.size()
        ));
    }
    let replayed = index::Index::from_heads(heads.iter().map(|(s, h)| (index::key(s), *h)));
    let root = index::root_of(checkpoint).ok_or("the checkpoint names no supplier index")?;
    if replayed.root() == root {
        return Ok(replayed);
    }
    Err(format!(
        "the checkpoint's supplier index root is not the index of its entries ({} subjects replayed)",
        heads.len()
    ))
}

/// What a history's verification knows of its entries, for their references.
struct Known<'a> {
    leaves: &'a BTreeMap<u64, Hash>,
    /// Each entry's `logged_at`.
    logged: &'a BTreeMap<u64, String>,
    parsed: &'a BTreeMap<u64, Statement>,
    reports: &'a [Report],
    subject: &'a str,
}

impl Known<'_> {
    /// Entry `index` as the log's policy sees a referenced entry (for a dispute, with
    /// the signers of what it disputes).
    fn target(&self, index: u64, depth: u8) -> Option<policy::RefTarget> {
        let statement = self.parsed.get(&index);
        let disputed: Vec<policy::RefTarget> = match statement {
            Some(s) if s.kind == Kind::Dispute && depth == 0 => s
                .refs
                .first()
                .and_then(|r| self.target(r.index, 1))
                .into_iter()
                .collect(),
            _ => Vec::new(),
        };
        Some(policy::RefTarget::of(
            index,
            self.subject.to_owned(),
            self.reports
                .iter()
                .find(|e| e.index == index)?
                .signers
                .clone(),
            self.logged.get(&index)?.clone(),
            statement,
            &disputed,
        ))
    }
}

/// What is wrong with the references of the statement at `index`, if anything.
fn ref_problem(
    index: u64,
    statement: &Statement,
    known: &Known,
    chain: Option<&RegistryChain>,
) -> Option<String> {
    let reports = known.reports;
    let signers = &reports.iter().find(|e| e.index == index)?.signers;
    for r in &statement.refs {
        let Some(leaf) = known.leaves.get(&r.index) else {
            return Some(format!(
                "entry {} that it refers to is not in this history",
                r.index
            ));
        };
        if entry::decode_hash(&r.leaf_hash).ok() != Some(*leaf) {
            return Some(format!(
                "entry {} has another leaf hash than the reference names",
                r.index
            ));
        }
        if statement.kind.amends() {
            let target = &reports.iter().find(|e| e.index == r.index)?.signers;
            let registry = chain?.at(Some(index));
            let allowed = signers.iter().all(|s| {
                target.contains(s)
                    || registry
                        .participants
                        .get(s)
                        .is_some_and(|p| p.has_role(crate::statement::Role::Governance))
            });
            if !allowed {
                return Some(format!(
                    "{}s entry {} without being its signer or governance",
                    if statement.kind == Kind::Retraction {
                        "retract"
                    } else {
                        "correct"
                    },
                    r.index
                ));
            }
        }
        if matches!(statement.kind, Kind::Dispute | Kind::Resolution) {
            let registry = chain?.at(Some(index));
            let target = known.target(r.index, 0)?;
            let problem = if statement.kind == Kind::Dispute {
                let logged_at =
                    crate::statement::parse_utc("logged_at", known.logged.get(&index)?).ok()?;
                policy::dispute_problem(
                    statement,
                    signers,
                    &target,
                    logged_at,
                    registry.dispute_window(),
                )
            } else {
                let who: Vec<&crate::registry::Participant> = signers
                    .iter()
                    .filter_map(|s| registry.participants.get(s))
                    .collect();
                policy::resolution_problem(&who, &target)
            };
            if let Some(e) = problem {
                return Some(e.to_string());
            }
        }
    }
    None
}

/// Completes a bundle's report with what the supplier's newer records say: takes the
/// verdict and standing (retracted, superseded, answered) that the verified, complete
/// `history` gives the same entry. The caller checks that the history's checkpoint
/// extends the bundle's.
///
/// # Errors
/// When the history does not verify or does not hold the bundle's entry, byte for byte.
pub fn apply_history(
    report: &mut Report,
    bundle: &Bundle,
    served: &History,
    history: &HistoryReport,
) -> Result<(), String> {
    if history.verdict != Verdict::Valid {
        return Err("the supplier's history does not verify".into());
    }
    let same = served
        .entries
        .iter()
        .any(|e| e.index == bundle.index && e.entry == bundle.entry);
    let entry = history.entries.iter().find(|e| e.index == bundle.index);
    let (true, Some(entry)) = (same, entry) else {
        return Err(format!(
            "the supplier's history does not hold entry {} as the bundle has it",
            bundle.index
        ));
    };
    report.standing = entry.standing.clone();
    report.verdict = entry.verdict;
    report.notes = vec![format!(
        "retractions and corrections checked against the supplier's complete history at tree size {}",
        history.tree_size
    )];
    Ok(())
}

/// The standing of entry `index` as a verified history reports it.
pub fn standing_from_history(history: &HistoryReport, index: u64) -> Option<Standing> {
    history
        .entries
        .iter()
        .find(|e| e.index == index)
        .map(|e| e.standing.clone())
}
