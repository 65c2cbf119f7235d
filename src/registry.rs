//! The registry: who may sign, derived from the log's registry entries.
//!
//! Positions: the entry at index `p` is judged by the registry as it stood after every
//! registry entry before `p`. A key added by the registry entry at index `a` signs
//! validly for entries after `a`; a key revoked by the entry at index `r` signs nothing
//! after `r`; its earlier entries stay valid, except those from `compromised_since`
//! on, which are reported as suspect. A removed participant's keys sign nothing after
//! the removal.
//!
//! The state is small (one record per participant and key) and is persisted after
//! every batch that changes it, so that reopening the log replays nothing.

use std::collections::{BTreeMap, HashMap};

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::note::Verifier;
use crate::statement::{
    parse_utc, Accreditation, ParticipantSpec, RegistryStatement, Role, Since, SupplierId,
    REGISTRY_SUBJECT,
};

/// Why a registry change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("the genesis statement can only be the log's first entry")]
    GenesisNotFirst,
    #[error("the log's first entry must be a genesis statement")]
    NoGenesis,
    #[error("participant {0} is already registered")]
    AlreadyRegistered(String),
    #[error("participant {0} is not registered")]
    UnknownParticipant(String),
    #[error("participant {0} was removed")]
    Removed(String),
    #[error("key id {0} is already registered (key ids must be unique)")]
    DuplicateKeyId(String),
    #[error("key {0} is a weak Ed25519 key")]
    WeakKey(String),
    #[error("participant {participant} has no key {key_id}")]
    UnknownKey { participant: String, key_id: String },
    #[error("key {0} is already revoked")]
    AlreadyRevoked(String),
    #[error("compromised_since must be before the revocation")]
    CompromisedSinceLater,
    #[error(
        "the change would leave {left} governance participants able to sign, fewer than the {threshold} a change needs"
    )]
    BelowThreshold { left: usize, threshold: u32 },
    #[error("invalid registry statement: {0}")]
    Invalid(String),
}

/// A key of a participant, with when it was valid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// The C2SP verifier key string.
    pub key: String,
    /// The key id, 8 lowercase hex digits (an envelope signature's `keyid`).
    pub key_id: String,
    pub added_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compromised_since: Option<Since>,
}

/// A registered participant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub id: String,
    pub name: String,
    pub roles: Vec<Role>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supplier_ids: Vec<SupplierId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accreditation: Option<Accreditation>,
    pub registered_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_at: Option<u64>,
    pub keys: Vec<KeyRecord>,
}

impl Participant {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether the participant may sign as supplier `id`.
    pub fn is_supplier(&self, id: &SupplierId) -> bool {
        self.has_role(Role::Supplier) && self.supplier_ids.contains(id)
    }

    /// Whether it was registered before `position` and not removed before it.
    pub fn active_at(&self, position: u64) -> bool {
        self.registered_at < position && self.removed_at.is_none_or(|r| position <= r)
    }
}

/// How a key stands for an entry at some position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    /// Registered, not revoked, not suspect.
    Valid,
    /// Valid at the time, but the key was later revoked as compromised from a point
    /// before this entry.
    Suspect,
    /// Not a registered key of an active participant at that position.
    NotAuthorised,
}

/// The subject of participant `id`'s registry chain (when it is not a governance
/// member): `registry:<id>`.
pub fn participant_subject(id: &str) -> String {
    format!("{REGISTRY_SUBJECT}:{id}")
}

/// Whether `subject` is a registry chain: the governance chain (`registry`) or a
/// participant's ([`participant_subject`]).
pub fn is_registry_chain(subject: &str) -> bool {
    subject
        .strip_prefix(REGISTRY_SUBJECT)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(':'))
}

/// The registry state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registry {
    /// Distinct governance participants whose signatures a registry change needs.
    pub threshold: u32,
    /// Days a supplier has to dispute a record, once governance has set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispute_window_days: Option<u32>,
    pub participants: BTreeMap<String, Participant>,
    /// Key id → (participant id, key), rebuilt from `participants`.
    #[serde(skip)]
    keys: HashMap<u32, (String, VerifyingKey)>,
}

fn parse_key(key: &str) -> Result<(u32, VerifyingKey), RegistryError> {
    let v = Verifier::parse(key).map_err(|e| RegistryError::Invalid(e.to_string()))?;
    if v.key().is_weak() {
        return Err(RegistryError::WeakKey(key.to_owned()));
    }
    Ok((v.key_id(), *v.key()))
}

impl Registry {
    /// The registry that a genesis statement at index 0 creates.
    ///
    /// # Errors
    /// When the statement is not a genesis statement or is inconsistent.
    pub fn genesis(stmt: &RegistryStatement) -> Result<Self, RegistryError> {
        let RegistryStatement::Genesis {
            threshold,
            participants,
            ..
        } = stmt
        else {
            return Err(RegistryError::NoGenesis);
        };
        let mut r = Registry {
            threshold: *threshold,
            ..Registry::default()
        };
        for p in participants {
            r.register(p, 0, true)?;
        }
        r.check_threshold()?;
        Ok(r)
    }

    fn register(
        &mut self,
        p: &ParticipantSpec,
        index: u64,
        genesis: bool,
    ) -> Result<(), RegistryError> {
        if self.participants.contains_key(&p.id) {
            return Err(RegistryError::AlreadyRegistered(p.id.clone()));
        }
        // Every key checked before any is taken: all or nothing.
        let mut ids = std::collections::HashSet::new();
        for k in &p.keys {
            let (id, _) = parse_key(k)?;
            if self.keys.contains_key(&id) || !ids.insert(id) {
                return Err(RegistryError::DuplicateKeyId(format!("{id:08x}")));
            }
        }
        let mut keys = Vec::new();
        for k in &p.keys {
            keys.push(self.new_key(&p.id, k, index)?);
        }
        self.participants.insert(
            p.id.clone(),
            Participant {
                id: p.id.clone(),
                name: p.name.clone(),
                roles: p.roles.clone(),
                supplier_ids: p.supplier_ids.clone(),
                accreditation: p.accreditation.clone(),
                // Genesis participants act from the genesis entry on.
                registered_at: if genesis { 0 } else { index },
                removed_at: None,
                keys,
            },
        );
        Ok(())
    }

    fn new_key(
        &mut self,
        participant: &str,
        key: &str,
        index: u64,
    ) -> Result<KeyRecord, RegistryError> {
        let (id, vk) = parse_key(key)?;
        let hex = format!("{id:08x}");
        if self.keys.contains_key(&id) {
            return Err(RegistryError::DuplicateKeyId(hex));
        }
        self.keys.insert(id, (participant.to_owned(), vk));
        Ok(KeyRecord {
            key: key.to_owned(),
            key_id: hex,
            added_at: index,
            revoked_at: None,
            compromised_since: None,
        })
    }

    /// Governance participants that can still sign: not removed, with a live key.
    fn live_governance_members(&self) -> usize {
        self.participants
            .values()
            .filter(|p| p.has_role(Role::Governance) && p.removed_at.is_none())
            .filter(|p| p.keys.iter().any(|k| k.revoked_at.is_none()))
            .count()
    }

    fn check_threshold(&self) -> Result<(), RegistryError> {
        let left = self.live_governance_members();
        if left < self.threshold as usize {
            return Err(RegistryError::BelowThreshold {
                left,
                threshold: self.threshold,
            });
        }
        Ok(())
    }

    /// Applies a registry change made by the entry at `index`, all or nothing: every
    /// check comes before the first change, so a refused change leaves the registry as
    /// it was (without copying it: registries of 10,000 participants are normal).
    ///
    /// # Errors
    /// When the change does not fit the current state.
    pub fn apply(&mut self, stmt: &RegistryStatement, index: u64) -> Result<(), RegistryError> {
        // A revocation or removal may take a governance member's last live key: the
        // members left must still reach the threshold.
        let loses = match stmt {
            RegistryStatement::RevokeKey {
                participant,
                key_id,
                ..
            } => self.participants.get(participant).filter(|p| {
                let live: Vec<_> = p.keys.iter().filter(|k| k.revoked_at.is_none()).collect();
                live.len() == 1 && live[0].key_id == *key_id
            }),
            RegistryStatement::Remove { participant, .. } => self.participants.get(participant),
            _ => None,
        };
        let counted = loses.is_some_and(|p| {
            p.has_role(Role::Governance)
                && p.removed_at.is_none()
                && p.keys.iter().any(|k| k.revoked_at.is_none())
        });
        if counted {
            let left = self.live_governance_members() - 1;
            if left < self.threshold as usize {
                return Err(RegistryError::BelowThreshold {
                    left,
                    threshold: self.threshold,
                });
            }
        }
        self.apply_in_place(stmt, index)
    }

    fn live_participant(&mut self, id: &str) -> Result<&mut Participant, RegistryError> {
        let p = self
            .participants
            .get_mut(id)
            .ok_or_else(|| RegistryError::UnknownParticipant(id.to_owned()))?;
        if p.removed_at.is_some() {
            return Err(RegistryError::Removed(id.to_owned()));
        }
        Ok(p)
    }

    fn apply_in_place(
        &mut self,
        stmt: &RegistryStatement,
        index: u64,
    ) -> Result<(), RegistryError> {
        match stmt {
            RegistryStatement::Genesis { .. } => Err(RegistryError::GenesisNotFirst),
            RegistryStatement::Register { participant, .. } => {
                self.register(participant, index, false)
            }
            RegistryStatement::AddKey {
                participant, key, ..
            } => {
                self.live_participant(participant)?;
                let record = self.new_key(participant, key, index)?;
                self.live_participant(participant)?.keys.push(record);
                Ok(())
            }
            RegistryStatement::RevokeKey {
                participant,
                key_id,
                compromised_since,
                ..
            } => {
                if let Some(Since::Index(i)) = compromised_since {
                    if *i >= index {
                        return Err(RegistryError::CompromisedSinceLater);
                    }
                }
                let p = self.live_participant(participant)?;
                let k = p
                    .keys
                    .iter_mut()
                    .find(|k| k.key_id == *key_id)
                    .ok_or_else(|| RegistryError::UnknownKey {
                        participant: participant.clone(),
                        key_id: key_id.clone(),
                    })?;
                if k.revoked_at.is_some() {
                    return Err(RegistryError::AlreadyRevoked(key_id.clone()));
                }
                k.revoked_at = Some(index);
                k.compromised_since = compromised_since.clone();
                Ok(())
            }
            RegistryStatement::Remove { participant, .. } => {
                self.live_participant(participant)?.removed_at = Some(index);
                Ok(())
            }
            RegistryStatement::SetThreshold { threshold, .. } => {
                let left = self.live_governance_members();
                if left < *threshold as usize {
                    return Err(RegistryError::BelowThreshold {
                        left,
                        threshold: *threshold,
                    });
                }
                self.threshold = *threshold;
                Ok(())
            }
            RegistryStatement::SetDisputeWindow { days, .. } => {
                self.dispute_window_days = Some(*days);
                Ok(())
            }
        }
    }

    /// The subject a registry change is filed under in the log: `registry` (the
    /// governance chain) for the genesis entry and every change about a governance
    /// participant, `registry:<id>` for a change about any other participant. A
    /// verifier replays the governance chain whole, and reads only the chains of the
    /// participants it needs, each proven complete by the supplier index
    /// (`docs/index.md`): so no bundle carries the whole registry, and none can leave
    /// out a revocation.
    pub fn subject_of(&self, change: &RegistryStatement) -> String {
        let governance = match change {
            RegistryStatement::Genesis { .. }
            | RegistryStatement::SetThreshold { .. }
            | RegistryStatement::SetDisputeWindow { .. } => true,
            RegistryStatement::Register { participant, .. } => {
                participant.roles.contains(&Role::Governance)
            }
            RegistryStatement::AddKey { participant, .. }
            | RegistryStatement::RevokeKey { participant, .. }
            | RegistryStatement::Remove { participant, .. } => self
                .participants
                .get(participant)
                .is_none_or(|p| p.has_role(Role::Governance)),
        };
        match change.participant() {
            Some(id) if !governance => participant_subject(id),
            _ => REGISTRY_SUBJECT.to_owned(),
        }
    }

    /// How long after a record is logged its supplier may dispute it.
    pub fn dispute_window(&self) -> time::Duration {
        time::Duration::days(i64::from(
            self.dispute_window_days
                .unwrap_or(crate::statement::DEFAULT_DISPUTE_WINDOW_DAYS),
        ))
    }

    /// The participant and public key behind a key id, whatever their state.
    pub fn key(&self, key_id: u32) -> Option<(&Participant, &KeyRecord, &VerifyingKey)> {
        let (pid, vk) = self.keys.get(&key_id)?;
        let p = self.participants.get(pid)?;
        let hex = format!("{key_id:08x}");
        let k = p.keys.iter().find(|k| k.key_id == hex)?;
        Some((p, k, vk))
    }

    /// The keys, not revoked, of the participants `which` picks: (key id, key).
    pub fn keys_of(&self, which: impl Fn(&Participant) -> bool) -> Vec<(u32, VerifyingKey)> {
        let mut keys: Vec<(u32, VerifyingKey)> = self
            .keys
            .iter()
            .filter(|(id, (pid, _))| {
                self.participants.get(pid).is_some_and(|p| {
                    which(p)
                        && p.keys
                            .iter()
                            .any(|k| k.key_id == format!("{id:08x}") && k.revoked_at.is_none())
                })
            })
            .map(|(id, (_, key))| (*id, *key))
            .collect();
        keys.sort_unstable_by_key(|(id, _)| *id);
        keys
    }

    /// The participant whose key `key_id` may sign the entry at `position`, if any.
    pub fn signer_at(&self, key_id: u32, position: u64) -> Option<(&Participant, &VerifyingKey)> {
        let (p, k, vk) = self.key(key_id)?;
        let key_live = k.added_at < position || (k.added_at == 0 && position == 0);
        let not_revoked = k.revoked_at.is_none_or(|r| position <= r);
        let participant_live = p.active_at(position) || (p.registered_at == 0 && position == 0);
        (key_live && not_revoked && participant_live).then_some((p, vk))
    }

    /// How key `key_id` stands for the entry at `position`, logged at `logged_at`.
    pub fn key_status(&self, key_id: u32, position: u64, logged_at: &str) -> KeyStatus {
        if self.signer_at(key_id, position).is_none() {
            return KeyStatus::NotAuthorised;
        }
        let Some((_, k, _)) = self.key(key_id) else {
            return KeyStatus::NotAuthorised;
        };
        let suspect = match &k.compromised_since {
            None => false,
            Some(Since::Index(i)) => position >= *i,
            Some(Since::Time(t)) => {
                let since = parse_utc("compromised_since", t).ok();
                let at: Option<OffsetDateTime> = parse_utc("logged_at", logged_at).ok();
                matches!((since, at), (Some(s), Some(a)) if a >= s)
            }
        };
        if suspect {
            KeyStatus::Suspect
        } else {
            KeyStatus::Valid
        }
    }

    /// Serialises the state for the store.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("the registry serializes")
    }
}
