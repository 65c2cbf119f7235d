//! Acceptance (docs/design.md §6): what the sequencer checks of a signed envelope at the
//! position it would take, and the entry it builds around an accepted one.
//!
//! The envelope, statement and signature encodings were checked by the caller before
//! queueing ([`Signed::parse`]); here, in log order, come the checks that depend on the
//! log: the signers' keys at this position, signatures (verified for a whole batch at
//! once), roles, references, duplicates and registry changes.

use std::collections::HashMap;
use std::sync::Arc;

use ed25519_dalek::{Signature, VerifyingKey};
use time::OffsetDateTime;

use crate::entry::{self, Entry, Prev};
use crate::envelope::{self, Envelope, EnvelopeError, Opened};
use crate::index::{self, Index};
use crate::merkle::{self, Hash};
use crate::policy::{self, PolicyError, RefTarget};
use crate::registry::{is_registry_chain, Participant, Registry};
use crate::statement::{
    parse_utc, Kind, RegistryStatement, Role, Statement, REGISTRY_SUBJECT, REGISTRY_TYPE,
    STATEMENT_TYPE,
};
use crate::store::Store;
use crate::tiles;

use super::admission::{Admission, Admitted, Context};
use super::LogError;

/// What a signed envelope says.
#[derive(Clone, Debug)]
pub enum Payload {
    Statement(Box<Statement>),
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

    /// Parses a submitted envelope as DSSE allows it to be written, rewritten as vouch
    /// stores it ([`Envelope::parse_submitted`]). A signature whose `keyid` is not
    /// vouch's is matched against the keys in `registry` that could have made it: for
    /// a statement, those of auditors, buyers, governance and the supplier's own
    /// participants (not other suppliers'); for a registry change, governance's.
    ///
    /// # Errors
    /// As [`Signed::parse`], and the envelope's errors for a key not found.
    pub fn parse_submitted(bytes: &[u8], registry: Option<&Registry>) -> Result<Self, LogError> {
        let opened = Envelope::parse_submitted(bytes, |e, body| {
            let Some(registry) = registry else {
                return Ok(Vec::new());
            };
            let may_sign: Box<dyn Fn(&Participant) -> bool> = match e.payload_type.as_str() {
                STATEMENT_TYPE => {
                    let supplier = Statement::parse(body)?.supplier.id;
                    Box::new(move |p: &Participant| {
                        p.has_role(Role::Auditor)
                            || p.has_role(Role::Buyer)
                            || p.has_role(Role::Governance)
                            || p.is_supplier(&supplier)
                    })
                }
                REGISTRY_TYPE => {
                    RegistryStatement::parse(body)?;
                    Box::new(|p: &Participant| p.has_role(Role::Governance))
                }
                other => return Err(EnvelopeError::UnknownPayloadType(other.to_owned()).into()),
            };
            Ok::<_, LogError>(registry.keys_of(|p| p.removed_at.is_none() && may_sign(p)))
        })?;
        Self::from_opened(opened)
    }

    /// Checks every OS ID a submission names as Open Supply Hub makes them
    /// ([`crate::statement::SupplierId::check_os_id`]): the statement's supplier, or the
    /// supplier ids a registry change binds a participant to. Applied to what is
    /// submitted, not to entries logged before the check existed.
    ///
    /// # Errors
    /// [`LogError::Statement`] naming the id and what is wrong with it.
    pub fn check_os_ids(&self) -> Result<(), LogError> {
        let ids: Vec<&crate::statement::SupplierId> = match &self.payload {
            Payload::Statement(s) => std::iter::once(&s.supplier.id)
                .chain(s.alias_of.as_ref())
                .collect(),
            Payload::Registry(RegistryStatement::Register { participant, .. }) => {
                participant.supplier_ids.iter().collect()
            }
            Payload::Registry(RegistryStatement::Genesis { participants, .. }) => {
                participants.iter().flat_map(|p| &p.supplier_ids).collect()
            }
            Payload::Registry(_) => vec![],
        };
        for id in ids {
            id.check_os_id()?;
        }
        Ok(())
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
            STATEMENT_TYPE => Payload::Statement(Box::new(Statement::parse(&opened.body)?)),
            REGISTRY_TYPE => Payload::Registry(RegistryStatement::parse(&opened.body)?),
            other => return Err(EnvelopeError::UnknownPayloadType(other.to_owned()).into()),
        };
        Ok(Signed { opened, payload })
    }

    /// Whom the envelope is about: its supplier, or for a registry change the
    /// governance chain (`registry`); the sequencer files a change about another
    /// participant under that participant ([`Registry::subject_of`]).
    pub fn subject(&self) -> std::borrow::Cow<'_, str> {
        match &self.payload {
            Payload::Statement(s) => s.subject(),
            Payload::Registry(_) => std::borrow::Cow::Borrowed(REGISTRY_SUBJECT),
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
pub(super) struct BatchState {
    /// Subject → (index, leaf hash) of its newest entry in this batch.
    last: HashMap<String, (u64, Hash)>,
    /// Index → reference target, for entries of this batch.
    targets: HashMap<u64, (Hash, RefTarget)>,
}

impl BatchState {
    /// Room for a batch of `n` entries, allocated once.
    pub(super) fn with_capacity(n: usize) -> Self {
        BatchState {
            last: HashMap::with_capacity(n),
            targets: HashMap::with_capacity(n),
        }
    }

    /// Records an entry written outside [`Judge::accept`] (the genesis entry).
    pub(super) fn note(&mut self, subject: &str, index: u64, leaf: Hash, logged_at: &str) {
        self.last.insert(subject.to_owned(), (index, leaf));
        self.targets.insert(
            index,
            (
                leaf,
                RefTarget::of(
                    index,
                    subject.to_owned(),
                    vec![],
                    logged_at.to_owned(),
                    None,
                    &[],
                ),
            ),
        );
    }

    /// The newest entry of `subject` judged in this batch: (index, leaf hash).
    pub(super) fn newest(&self, subject: &str) -> Option<(u64, Hash)> {
        self.last.get(subject).copied()
    }
}

/// What was found of signatures checked ahead of the sequential checks: the key each
/// was checked against, and whether it held. A verdict counts only for the key it was
/// made with ([`Verified`]).
pub(super) type Verdict = Option<(VerifyingKey, bool)>;

/// The verdict on signature `s` of an envelope when checked against `key`, if one was
/// made ahead for that key; `None` has the judge check it then.
pub(super) type Verified<'a> = &'a dyn Fn(usize, &VerifyingKey) -> Option<bool>;

/// The verdict `verdict` gives for `key`.
pub(super) fn verdict_for(verdict: Option<&Verdict>, key: &VerifyingKey) -> Option<bool> {
    match verdict {
        Some(Some((checked, ok))) if checked == key => Some(*ok),
        _ => None,
    }
}

/// Signatures of a whole batch verified before the sequential checks:
/// `(request, signature) → (key, valid)`, against the keys `registry` knows. A verdict
/// is used only for the key it was made with, so it cannot vouch for a signature under
/// another key whatever the registry holds when the request is judged. Signatures by
/// keys unknown to `registry` are left out and checked one by one.
fn verify_signatures(
    registry: &Registry,
    requests: &[Box<Signed>],
) -> HashMap<(usize, usize), Verdict> {
    let mut items: Vec<(&[u8], Signature, VerifyingKey)> = Vec::new();
    let mut at = Vec::new();
    for (r, signed) in requests.iter().enumerate() {
        for (s, (key_id, sig)) in signed.opened.signatures.iter().enumerate() {
            if let Some((_, _, key)) = registry.key(*key_id) {
                items.push((&signed.opened.pae, *sig, *key));
                at.push((r, s));
            }
        }
    }
    let verdicts = envelope::verify_all(&items);
    at.into_iter()
        .zip(items.iter().zip(verdicts))
        .map(|(at, ((_, _, key), ok))| (at, Some((*key, ok))))
        .collect()
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
    verified: Verified<'_>,
) -> Result<Vec<&'r Participant>, LogError> {
    let mut out = Vec::new();
    for (s, (key_id, _)) in signed.opened.signatures.iter().enumerate() {
        let (participant, key) = registry
            .signer_at(*key_id, position)
            .ok_or_else(|| key_error(registry, *key_id))?;
        let ok = verified(s, key).unwrap_or_else(|| signed.opened.verify_one(s, key));
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
    let statement = (e.envelope.payload_type == STATEMENT_TYPE)
        .then(|| e.envelope.clone().open().ok())
        .flatten()
        .and_then(|o| Statement::parse(&o.body).ok());
    // A dispute's target carries the signers of what it disputes, for a resolution.
    let mut disputed = Vec::new();
    if let Some(s) = statement.as_ref().filter(|s| s.kind == Kind::Dispute) {
        if let Some(r) = s.refs.first() {
            disputed.push(ref_target(store, registry, batch, r.index, index)?.1);
        }
    }
    Ok((
        leaf,
        RefTarget::of(
            index,
            e.subject,
            signers,
            e.logged_at,
            statement.as_ref(),
            &disputed,
        ),
    ))
}

/// Everything needed to judge one envelope.
pub(super) struct Judge<'a> {
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
    pub(super) fn accept(
        &self,
        registry: &mut Arc<Registry>,
        batch: &mut BatchState,
        signed: &Signed,
        position: u64,
        verified: Verified<'_>,
    ) -> Result<(Vec<u8>, Hash, String), LogError> {
        let judged = self.judge(registry, batch, signed, position, verified)?;
        let entry = Entry {
            v: 1,
            logged_at: self.logged_at.to_owned(),
            subject: judged.subject.clone(),
            prev: judged.prev(),
            envelope: signed.opened.envelope.clone(),
        };
        let bytes = entry.to_bytes();
        tiles::check_entry_len(&bytes)?;
        let leaf = merkle::leaf_hash(&bytes);
        let subject = judged.subject.clone();
        Self::admit(registry, batch, judged, position, leaf)?;
        Ok((bytes, leaf, subject))
    }

    /// The checks of [`Judge::accept`], without the entry: what it would be filed
    /// under and linked to. Nothing is changed; [`Judge::admit`] records it.
    ///
    /// # Errors
    /// As [`Judge::accept`].
    pub(super) fn judge<'s>(
        &self,
        registry: &Registry,
        batch: &BatchState,
        signed: &'s Signed,
        position: u64,
        verified: Verified<'_>,
    ) -> Result<Judged<'s>, LogError> {
        let (issued, raw) = signed.issued_at();
        policy::check_issued_at(issued, raw, self.now)?;
        let signer_ids: Vec<String>;
        let target: RefTarget;
        let mut change = None;
        let mut subject = signed.subject().into_owned();
        match &signed.payload {
            Payload::Statement(statement) => {
                let who = signers(registry, signed, position, verified)?;
                for p in &who {
                    policy::authorise(p, statement)?;
                }
                policy::check_buyer(registry, statement, position)?;
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
                let logged_at = parse_utc("logged_at", self.logged_at)
                    .expect("the log writes RFC 3339 UTC times");
                policy::check_refs(&who, statement, &targets, logged_at, registry)?;
                signer_ids = who.iter().map(|p| p.id.clone()).collect();
                target = RefTarget::of(
                    position,
                    subject.clone(),
                    signer_ids.clone(),
                    self.logged_at.to_owned(),
                    Some(statement),
                    &targets,
                );
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
                target = RefTarget::of(
                    position,
                    subject.clone(),
                    signer_ids.clone(),
                    self.logged_at.to_owned(),
                    None,
                    &[],
                );
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
        Ok(Judged {
            subject,
            prev,
            target,
            change,
        })
    }

    /// Records an entry [`Judge::judge`] passed, at `position` with leaf hash `leaf`:
    /// its registry change applied (the last check: a refused change leaves the
    /// registry and the batch as they were), then its place in the batch.
    ///
    /// # Errors
    /// A registry change that does not apply.
    pub(super) fn admit(
        registry: &mut Arc<Registry>,
        batch: &mut BatchState,
        judged: Judged<'_>,
        position: u64,
        leaf: Hash,
    ) -> Result<(), LogError> {
        if let Some(stmt) = judged.change {
            // Copied here, once a batch: the published head and the sequencer's undo
            // copy share it.
            Arc::make_mut(registry).apply(stmt, position)?;
        }
        batch.last.insert(judged.subject, (position, leaf));
        batch.targets.insert(position, (leaf, judged.target));
        Ok(())
    }
}

/// An envelope [`Judge::judge`] passed: the subject its entry is filed under, the
/// entry it links to, and the registry change it makes.
pub(super) struct Judged<'s> {
    pub subject: String,
    /// The subject's newest entry before it: index and leaf hash.
    pub prev: Option<(u64, Hash)>,
    target: RefTarget,
    change: Option<&'s RegistryStatement>,
}

impl Judged<'_> {
    /// The `prev` field of its entry.
    pub fn prev(&self) -> Option<Prev> {
        self.prev.map(|(index, leaf)| Prev {
            index,
            leaf_hash: entry::encode_hash(&leaf),
        })
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
        signers(registry, signed, 0, &|_, _| None)?;
        let key_ids: Vec<u32> = signed.opened.signatures.iter().map(|s| s.0).collect();
        policy::check_governance(registry, &key_ids, 0)?;
        let entry = Entry {
            v: 1,
            logged_at: self.logged_at.to_owned(),
            subject: signed.subject().into_owned(),
            prev: None,
            envelope: signed.opened.envelope.clone(),
        };
        let bytes = entry.to_bytes();
        tiles::check_entry_len(&bytes)?;
        let leaf = merkle::leaf_hash(&bytes);
        Ok((bytes, leaf))
    }
}

/// The rules of a ledger (docs/design.md §6): signed envelopes only, judged against the
/// registry at their position, each entry linked to its subject's previous one; the
/// checkpoint names the registry's newest entry.
#[derive(Clone, Debug)]
pub(super) struct Ledger {
    /// As of the last written batch; shared with the published head until a registry
    /// change copies it.
    registry: Arc<Registry>,
}

/// One batch of a ledger: its time, and its signatures verified at once.
pub(super) struct Round {
    now: OffsetDateTime,
    logged_at: String,
    verified: HashMap<(usize, usize), Verdict>,
    state: BatchState,
}

impl Ledger {
    /// The ledger a store holds, its registry replayed from the registry chains (the
    /// governance chain and every participant's, in log order from the genesis entry),
    /// or `None` for a raw log. The entries are the only record of the registry, so
    /// it cannot disagree with them.
    ///
    /// # Errors
    /// When the store fails or a registry entry does not replay.
    pub fn load(store: &dyn Store) -> Result<Option<Self>, LogError> {
        if store.meta(super::META_REGISTRY)?.is_none() {
            return Ok(None);
        }
        let bad =
            |i: u64, why: String| LogError::Inconsistent(format!("registry entry {i}: {why}"));
        let mut subjects = vec![REGISTRY_SUBJECT.to_owned()];
        let mut after = REGISTRY_SUBJECT.to_owned();
        loop {
            let page = store.subject_heads(Some(&after), 1024)?;
            let Some((last, _)) = page.last() else { break };
            after = last.clone();
            let done = page.iter().any(|(s, _)| !is_registry_chain(s));
            subjects.extend(
                page.into_iter()
                    .map(|(s, _)| s)
                    .filter(|s| is_registry_chain(s)),
            );
            if done {
                break;
            }
        }
        let mut indexes: Vec<u64> = Vec::new();
        for subject in &subjects {
            indexes.extend(
                store
                    .subject_entries(subject, 0, usize::MAX)?
                    .into_iter()
                    .map(|(i, _)| i),
            );
        }
        indexes.sort_unstable();
        let mut registry: Option<Registry> = None;
        for i in indexes {
            let bytes = store
                .entries(i, 1)?
                .pop()
                .ok_or_else(|| bad(i, "missing".into()))?;
            let e = Entry::parse(&bytes).map_err(|e| bad(i, e.to_string()))?;
            let payload = base64::Engine::decode(&crate::note::BASE64, &e.envelope.payload)
                .map_err(|e| bad(i, e.to_string()))?;
            let stmt = RegistryStatement::parse(&payload).map_err(|e| bad(i, e.to_string()))?;
            match registry.as_mut() {
                None => registry = Some(Registry::genesis(&stmt)?),
                Some(r) => r.apply(&stmt, i)?,
            }
        }
        let registry = registry
            .ok_or_else(|| LogError::Inconsistent("a ledger without a genesis entry".into()))?;
        Ok(Some(Ledger {
            registry: Arc::new(registry),
        }))
    }
}

impl Ledger {
    /// The registry replayed.
    pub(super) fn registry_arc(self) -> Option<Arc<Registry>> {
        Some(self.registry)
    }
}

impl Admission for Ledger {
    type Request = Box<Signed>;
    type Round = Round;

    fn key(request: &Box<Signed>) -> Hash {
        request.opened.dedup_key()
    }

    fn is_stored(
        store: &dyn Store,
        _: &Box<Signed>,
        key: &Hash,
        index: u64,
        leaf: &Hash,
    ) -> Result<bool, LogError> {
        let bytes = store.entries(index, 1)?.pop().unwrap_or_default();
        Ok(merkle::leaf_hash(&bytes) == *leaf
            && Entry::parse(&bytes)
                .ok()
                .and_then(|e| e.envelope.open().ok())
                .is_some_and(|opened| opened.dedup_key() == *key))
    }

    fn begin(&self, batch: &[Box<Signed>]) -> Round {
        let now = OffsetDateTime::now_utc();
        Round {
            now,
            logged_at: timestamp(now),
            verified: verify_signatures(&self.registry, batch),
            state: BatchState::with_capacity(batch.len()),
        }
    }

    fn admit(
        &mut self,
        round: &mut Round,
        cx: &Context<'_>,
        request: Box<Signed>,
        r: usize,
        position: u64,
    ) -> Result<Admitted, LogError> {
        let judge = Judge {
            store: cx.store,
            now: round.now,
            logged_at: &round.logged_at,
            index: cx.index,
        };
        let verified = &round.verified;
        let verified = |s: usize, key: &VerifyingKey| verdict_for(verified.get(&(r, s)), key);
        let (bytes, leaf_hash, subject) = judge.accept(
            &mut self.registry,
            &mut round.state,
            &request,
            position,
            &verified,
        )?;
        Ok(Admitted {
            bytes,
            leaf_hash,
            subject: Some(subject),
        })
    }

    fn extensions(&self, index: &Index) -> Vec<String> {
        index
            .get(&index::key(REGISTRY_SUBJECT))
            .map(|h| entry::registry_head_line(h.newest_index, &h.newest_leaf_hash))
            .into_iter()
            .collect()
    }

    fn registry(&self) -> Option<Arc<Registry>> {
        Some(self.registry.clone())
    }

    fn reload(&mut self, store: &dyn Store) -> Result<(), LogError> {
        *self = Self::load(store)?
            .ok_or_else(|| LogError::Inconsistent("the ledger's registry is gone".into()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::{KeyName, Signer};

    /// A verdict made ahead is one on a signature under one key: should the key id it
    /// was made for name another key when the batch is judged (a registration undone
    /// by a failed write, then another), the judge checks the signature again.
    #[test]
    fn a_verdict_counts_only_for_the_key_it_was_made_with() {
        let key = |seed| {
            *Signer::from_seed(KeyName::new("k").unwrap(), [seed; 32])
                .verifier()
                .key()
        };
        let (a, b) = (key(1), key(2));
        assert_eq!(verdict_for(Some(&Some((a, true))), &a), Some(true));
        assert_eq!(verdict_for(Some(&Some((a, false))), &a), Some(false));
        assert_eq!(verdict_for(Some(&Some((a, true))), &b), None);
        assert_eq!(verdict_for(Some(&None), &a), None);
        assert_eq!(verdict_for(None, &a), None);
    }
}
