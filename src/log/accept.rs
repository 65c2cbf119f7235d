//! Acceptance (docs/design.md §6): what the sequencer checks of a signed envelope at the
//! position it would take, and the entry it builds around an accepted one.
//!
//! The envelope, statement and signature encodings were checked by the caller before
//! queueing ([`Signed::parse`]); here, in log order, come the checks that depend on the
//! log: the signers' keys at this position, signatures (verified for a whole batch at
//! once), roles, references, duplicates and registry changes.

use std::collections::HashMap;

use ed25519_dalek::{Signature, VerifyingKey};
use time::OffsetDateTime;

use crate::entry::{self, Entry, Prev};
use crate::envelope::{self, Envelope, EnvelopeError, Opened};
use crate::index::{self, Index};
use crate::merkle::{self, Hash};
use crate::policy::{self, PolicyError, RefTarget};
use crate::registry::{Participant, Registry};
use crate::statement::{
    RegistryStatement, Statement, REGISTRY_SUBJECT, REGISTRY_TYPE, STATEMENT_TYPE,
};
use crate::store::Store;
use crate::tiles;

use super::LogError;

/// What a signed envelope says.
#[derive(Clone, Debug)]
pub enum Payload {
    Statement(Statement),
    Registry(RegistryStatement),
}

/// A signed envelope whose form has been checked: decoded, statement validated.
#[derive(Clone, Debug)]
pub struct Signed {
    pub opened: Opened,
    pub payload: Payload,
}

impl Signed {
    /// Parses an envelope and its statement.
    ///
    /// # Errors
    /// The envelope's or the statement's error.
    pub fn parse(bytes: &[u8]) -> Result<Self, LogError> {
        Self::from_opened(Envelope::parse(bytes)?)
    }

    /// Checks an envelope built in code.
    ///
    /// # Errors
    /// As [`Signed::parse`].
    pub fn from_envelope(envelope: Envelope) -> Result<Self, LogError> {
        Self::from_opened(envelope.open()?)
    }

    fn from_opened(opened: Opened) -> Result<Self, LogError> {
        let payload = match opened.envelope.payload_type.as_str() {
            STATEMENT_TYPE => Payload::Statement(Statement::parse(&opened.body)?),
            REGISTRY_TYPE => Payload::Registry(RegistryStatement::parse(&opened.body)?),
            other => return Err(EnvelopeError::UnknownPayloadType(other.to_owned()).into()),
        };
        Ok(Signed { opened, payload })
    }

    /// Whom the envelope is about: its supplier, or for a registry change the
    /// governance chain (`registry`); the sequencer files a change about another
    /// participant under that participant ([`Registry::subject_of`]).
    pub fn subject(&self) -> &str {
        match &self.payload {
            Payload::Statement(s) => s.supplier.id.as_str(),
            Payload::Registry(_) => REGISTRY_SUBJECT,
        }
    }

    fn issued_at(&self) -> (OffsetDateTime, &str) {
        match &self.payload {
            Payload::Statement(s) => (s.issued_at(), &s.issued_at),
            Payload::Registry(r) => (
                crate::statement::parse_utc("issued_at", r.issued_at())
                    .expect("validated at parse"),
                r.issued_at(),
            ),
        }
    }
}

/// `logged_at`: RFC 3339 UTC with milliseconds.
pub fn timestamp(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .expect("a UTC time formats")
}

/// What the batch has accepted so far, for references and `prev` links to entries
/// not yet in the store.
#[derive(Default)]
pub struct BatchState {
    /// Subject → (index, leaf hash) of its newest entry in this batch.
    pub last: HashMap<String, (u64, Hash)>,
    /// Index → reference target, for entries of this batch.
    targets: HashMap<u64, (Hash, RefTarget)>,
}

/// Signatures verified for a whole batch at once, before the sequential checks:
/// `(request, signature) → valid`. Key ids map to one key forever (a key id cannot be
/// registered twice), so a result stays true whatever the registry does later in the
/// batch; signatures by keys unknown at the start of the batch are left out and
/// checked one by one.
pub fn verify_batch(
    registry: &Registry,
    requests: &[Option<&Signed>],
) -> HashMap<(usize, usize), bool> {
    let mut items: Vec<(&[u8], Signature, VerifyingKey)> = Vec::new();
    let mut at = Vec::new();
    for (r, signed) in requests.iter().enumerate() {
        let Some(signed) = signed else { continue };
        for (s, (key_id, sig)) in signed.opened.signatures.iter().enumerate() {
            if let Some((_, _, key)) = registry.key(*key_id) {
                items.push((&signed.opened.pae, *sig, *key));
                at.push((r, s));
            }
        }
    }
    at.into_iter().zip(envelope::verify_all(&items)).collect()
}

fn key_error(registry: &Registry, key_id: u32) -> LogError {
    let hex = format!("{key_id:08x}");
    if registry.key(key_id).is_some() {
        PolicyError::KeyNotActive(hex).into()
    } else {
        PolicyError::UnknownKey(hex).into()
    }
}

/// The participants who signed `signed`, checked for the entry at `position`: every
/// key must be active there and every signature valid.
fn signers<'r>(
    registry: &'r Registry,
    signed: &Signed,
    position: u64,
    verified: &dyn Fn(usize) -> Option<bool>,
) -> Result<Vec<&'r Participant>, LogError> {
    let mut out = Vec::new();
    for (s, (key_id, _)) in signed.opened.signatures.iter().enumerate() {
        let (participant, key) = registry
            .signer_at(*key_id, position)
            .ok_or_else(|| key_error(registry, *key_id))?;
        let ok = verified(s).unwrap_or_else(|| signed.opened.verify_one(s, key));
        if !ok {
            return Err(EnvelopeError::BadSignature(format!("{key_id:08x}")).into());
        }
        if !out.iter().any(|p: &&Participant| p.id == participant.id) {
            out.push(participant);
        }
    }
    Ok(out)
}

fn ref_target(
    store: &dyn Store,
    registry: &Registry,
    batch: &BatchState,
    index: u64,
    position: u64,
) -> Result<(Hash, RefTarget), LogError> {
    if index >= position {
        return Err(PolicyError::MissingRef(index).into());
    }
    if let Some(t) = batch.targets.get(&index) {
        return Ok(t.clone());
    }
    let bytes = store
        .entries(index, 1)?
        .pop()
        .ok_or(PolicyError::MissingRef(index))?;
    let leaf = merkle::leaf_hash(&bytes);
    let e = Entry::parse(&bytes).map_err(|_| PolicyError::MissingRef(index))?;
    let signers = e
        .envelope
        .signatures
        .iter()
        .filter_map(|s| u32::from_str_radix(&s.keyid, 16).ok())
        .filter_map(|k| registry.key(k).map(|(p, _, _)| p.id.clone()))
        .collect();
    Ok((
        leaf,
        RefTarget {
            index,
            subject: e.subject,
            signers,
        },
    ))
}

/// Everything the sequencer needs to judge one envelope.
pub struct Judge<'a> {
    pub store: &'a dyn Store,
    pub now: OffsetDateTime,
    pub logged_at: &'a str,
    /// The supplier index as of the last written batch: each subject's newest entry.
    pub index: &'a Index,
}

impl Judge<'_> {
    /// Checks `signed` for the entry at `position`, applying a registry change to
    /// `registry`, and returns the entry's bytes, leaf hash and subject (for a registry
    /// change, as [`Registry::subject_of`] files it).
    ///
    /// # Errors
    /// The first rule of docs/design.md §6 that does not hold; nothing is changed then.
    pub fn accept(
        &self,
        registry: &mut std::sync::Arc<Registry>,
        batch: &mut BatchState,
        signed: &Signed,
        position: u64,
        verified: &dyn Fn(usize) -> Option<bool>,
    ) -> Result<(Vec<u8>, Hash, String), LogError> {
        let (issued, raw) = signed.issued_at();
        policy::check_issued_at(issued, raw, self.now)?;
        let signer_ids: Vec<String>;
        let mut change = None;
        let mut subject = signed.subject().to_owned();
        match &signed.payload {
            Payload::Statement(statement) => {
                let who = signers(registry, signed, position, verified)?;
                for p in &who {
                    policy::authorise(p, statement)?;
                }
                let mut targets = Vec::new();
                for r in &statement.refs {
                    let (leaf, target) =
                        ref_target(self.store, registry, batch, r.index, position)?;
                    let want = entry::decode_hash(&r.leaf_hash).expect("validated at parse");
                    if leaf != want {
                        return Err(PolicyError::RefHashMismatch(r.index).into());
                    }
                    targets.push(target);
                }
                policy::check_refs(&who, statement, &targets)?;
                signer_ids = who.iter().map(|p| p.id.clone()).collect();
            }
            Payload::Registry(stmt) => {
                let key_ids: Vec<u32> = signed.opened.signatures.iter().map(|s| s.0).collect();
                // Every signature must verify, governance or not.
                signers(registry, signed, position, verified)?;
                policy::check_governance(registry, &key_ids, position)?;
                signer_ids = key_ids
                    .iter()
                    .filter_map(|k| registry.key(*k).map(|(p, _, _)| p.id.clone()))
                    .collect();
                subject = registry.subject_of(stmt);
                change = Some(stmt);
            }
        }
        let prev = match batch.last.get(&subject) {
            Some(p) => Some(*p),
            None => self
                .index
                .get(&index::key(&subject))
                .map(|h| (h.newest_index, h.newest_leaf_hash)),
        };
        let entry = Entry {
            v: 1,
            logged_at: self.logged_at.to_owned(),
            subject: subject.clone(),
            prev: prev.map(|(index, leaf)| Prev {
                index,
                leaf_hash: entry::encode_hash(&leaf),
            }),
            envelope: signed.opened.envelope.clone(),
        };
        let bytes = entry.to_bytes();
        tiles::check_entry_len(&bytes)?;
        let leaf = merkle::leaf_hash(&bytes);
        // Last, all or nothing: a refused change leaves the registry as it was.
        if let Some(stmt) = change {
            // Copied here, once a batch, if the published registry still shares it.
            std::sync::Arc::make_mut(registry).apply(stmt, position)?;
        }
        batch.last.insert(subject.clone(), (position, leaf));
        batch.targets.insert(
            position,
            (
                leaf,
                RefTarget {
                    index: position,
                    subject: subject.clone(),
                    signers: signer_ids,
                },
            ),
        );
        Ok((bytes, leaf, subject))
    }
}

impl Judge<'_> {
    /// Checks the genesis envelope against the registry it creates: every signature by
    /// one of its keys and valid, at least `threshold` governance keys; returns the
    /// genesis entry's bytes and leaf hash.
    ///
    /// # Errors
    /// The first check that fails.
    pub fn genesis(
        &self,
        registry: &Registry,
        signed: &Signed,
    ) -> Result<(Vec<u8>, Hash), LogError> {
        let (issued, raw) = signed.issued_at();
        policy::check_issued_at(issued, raw, self.now)?;
        signers(registry, signed, 0, &|_| None)?;
        let key_ids: Vec<u32> = signed.opened.signatures.iter().map(|s| s.0).collect();
        policy::check_governance(registry, &key_ids, 0)?;
        let entry = Entry {
            v: 1,
            logged_at: self.logged_at.to_owned(),
            subject: signed.subject().to_owned(),
            prev: None,
            envelope: signed.opened.envelope.clone(),
        };
        let bytes = entry.to_bytes();
        tiles::check_entry_len(&bytes)?;
        let leaf = merkle::leaf_hash(&bytes);
        Ok((bytes, leaf))
    }
}
