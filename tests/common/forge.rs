//! Logs built by hand, as a dishonest operator holding the log key could build them:
//! any entries, any `prev` links, any supplier index, signed checkpoints.

use std::collections::HashMap;

use base64::Engine as _;
use vouch::bundle::{History, ProvenEntry, SubjectProof};
use vouch::entry::{self, encode_hash, Entry, Prev};
use vouch::envelope::{self, Envelope};
use vouch::index::{self, ChainHead, Index};
use vouch::merkle::{self, Hash, MemoryTree};
use vouch::note::{Checkpoint, Signer, BASE64};
use vouch::statement::{RegistryStatement, Role, REGISTRY_TYPE, STATEMENT_TYPE};

use super::{now, spec, Cast, FACTORY};

#[derive(Default)]
pub struct ForgedLog {
    pub entries: Vec<Vec<u8>>,
    pub subjects: Vec<String>,
    tree: MemoryTree,
    last: HashMap<String, (u64, Hash)>,
    /// The `logged_at` of the entries pushed from now on (`None`: a fixed time).
    pub logged_at: Option<String>,
}

impl ForgedLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an entry about `subject` linked to the subject's last entry; returns its
    /// index.
    pub fn push(&mut self, envelope: Envelope, subject: &str) -> u64 {
        let prev = self.last.get(subject).copied();
        self.push_with_prev(envelope, subject, prev)
    }

    /// Appends an entry with the `prev` link given (`None`: a new chain).
    pub fn push_with_prev(
        &mut self,
        envelope: Envelope,
        subject: &str,
        prev: Option<(u64, Hash)>,
    ) -> u64 {
        let e = Entry {
            v: 1,
            // Fixed, so that forging twice gives the same bytes.
            logged_at: self
                .logged_at
                .clone()
                .unwrap_or_else(|| "2026-11-01T00:00:00.000Z".into()),
            subject: subject.into(),
            prev: prev.map(|(index, leaf)| Prev {
                index,
                leaf_hash: encode_hash(&leaf),
            }),
            envelope,
        };
        self.push_raw(e.to_bytes(), subject)
    }

    /// Appends entry bytes as written (whatever they say), filed under `subject`.
    pub fn push_raw(&mut self, bytes: Vec<u8>, subject: &str) -> u64 {
        let leaf = merkle::leaf_hash(&bytes);
        let index = self.entries.len() as u64;
        self.last.insert(subject.to_owned(), (index, leaf));
        self.tree.push(leaf);
        self.entries.push(bytes);
        self.subjects.push(subject.to_owned());
        index
    }

    pub fn size(&self) -> u64 {
        self.entries.len() as u64
    }

    pub fn leaf(&self, index: u64) -> Hash {
        merkle::leaf_hash(&self.entries[index as usize])
    }

    /// The index an honest log would commit to: every subject's count and newest entry.
    pub fn honest_index(&self) -> Index {
        let mut heads: HashMap<&str, ChainHead> = HashMap::new();
        for (i, s) in self.subjects.iter().enumerate() {
            let h = heads.entry(s).or_insert(ChainHead {
                count: 0,
                newest_index: 0,
                newest_leaf_hash: [0; 32],
            });
            h.count += 1;
            h.newest_index = i as u64;
            h.newest_leaf_hash = self.leaf(i as u64);
        }
        Index::from_heads(heads.into_iter().map(|(s, h)| (index::key(s), h)))
    }

    /// The checkpoint of the whole tree, naming the registry head and `index`'s root
    /// (`None`: no index line, as before the index existed).
    pub fn checkpoint(&self, index: Option<&Index>, log_key: &Signer) -> String {
        let mut lines = Vec::new();
        if let Some((i, leaf)) = self.last.get("registry") {
            lines.push(entry::registry_head_line(*i, leaf));
        }
        if let Some(index) = index {
            lines.push(index::root_line(&index.root()));
        }
        Checkpoint::new(
            log_key.name().as_str(),
            self.size(),
            self.tree.root(),
            lines,
        )
        .unwrap()
        .sign(&[log_key])
    }

    pub fn proven(&self, i: u64) -> ProvenEntry {
        ProvenEntry {
            index: i,
            decoded: None,
            entry: BASE64.encode(&self.entries[i as usize]),
            inclusion_proof: merkle::inclusion_proof(&self.tree, i, self.size())
                .unwrap()
                .iter()
                .map(encode_hash)
                .collect(),
        }
    }

    /// The history of `subject` as the server serves it: every entry about it newest
    /// first, `index`'s proof, the registry chain.
    pub fn history(&self, subject: &str, index: &Index, checkpoint: String) -> History {
        let about = |s: &str| -> Vec<u64> {
            (0..self.size())
                .filter(|i| self.subjects[*i as usize] == s)
                .collect()
        };
        let registry_subjects = self.registry_subjects();
        let registry: Vec<ProvenEntry> = (0..self.size())
            .filter(|i| registry_subjects.contains(&self.subjects[*i as usize]))
            .map(|i| self.proven(i))
            .collect();
        History {
            supplier: subject.into(),
            tree_size: self.size(),
            checkpoint,
            index_proof: Some(index.prove(&index::key(subject)).to_json()),
            entries: about(subject)
                .into_iter()
                .rev()
                .map(|i| self.proven(i))
                .collect(),
            next_before: None,
            registry,
            registry_proofs: registry_subjects
                .into_iter()
                .map(|subject| SubjectProof {
                    proof: index.prove(&index::key(&subject)).to_json(),
                    subject,
                })
                .collect(),
        }
    }

    /// Every registry chain of the log, and the chain of every governance member the
    /// genesis entry names (an honest server proves them all).
    pub fn registry_subjects(&self) -> Vec<String> {
        let mut out: Vec<String> = vec!["registry".into()];
        for s in &self.subjects {
            if s.starts_with("registry:") && !out.contains(s) {
                out.push(s.clone());
            }
        }
        let genesis = Entry::parse(&self.entries[0]).unwrap();
        let body = BASE64.decode(&genesis.envelope.payload).unwrap();
        if let Ok(RegistryStatement::Genesis { participants, .. }) = RegistryStatement::parse(&body)
        {
            for p in participants {
                let s = format!("registry:{}", p.id);
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
        out
    }
}

/// A forged log: a genesis with one governance member (`platform`, threshold 1), the
/// auditor, buyer and supplier (of FACTORY) of `cast` registered, then `records`; the
/// history of FACTORY, with an honest supplier index and a checkpoint by the log key.
pub fn forged(cast: &Cast, records: impl FnOnce(&mut ForgedLog)) -> History {
    forged_of(cast, FACTORY, records)
}

/// [`forged`], the history of `subject`.
pub fn forged_of(cast: &Cast, subject: &str, records: impl FnOnce(&mut ForgedLog)) -> History {
    forged_histories(cast, &[subject], records).remove(0)
}

/// [`forged`], the histories of `subjects`, at one checkpoint.
pub fn forged_histories(
    cast: &Cast,
    subjects: &[&str],
    records: impl FnOnce(&mut ForgedLog),
) -> Vec<History> {
    let gov = &cast.gov[0];
    let reg = |c: &RegistryStatement| governed(c, gov);
    let mut log = ForgedLog::new();
    log.push(
        reg(&RegistryStatement::Genesis {
            threshold: 1,
            participants: vec![spec("platform", &[Role::Governance], gov, &[])],
            issued_at: now(),
        }),
        "registry",
    );
    for (id, role, signer, suppliers) in [
        ("kiwa", Role::Auditor, &cast.auditor, &[][..]),
        ("brand", Role::Buyer, &cast.buyer, &[][..]),
        ("songhong", Role::Supplier, &cast.supplier, &[FACTORY][..]),
    ] {
        log.push(
            reg(&RegistryStatement::Register {
                participant: spec(id, &[role], signer, suppliers),
                issued_at: now(),
            }),
            &format!("registry:{id}"),
        );
    }
    records(&mut log);
    let index = log.honest_index();
    let checkpoint = log.checkpoint(Some(&index), &cast.log_key);
    subjects
        .iter()
        .map(|s| log.history(s, &index, checkpoint.clone()))
        .collect()
}

/// A statement envelope over `body`, signed by `signers`.
pub fn signed(body: &[u8], signers: &[&Signer]) -> Envelope {
    envelope::sign(STATEMENT_TYPE, body, signers)
}

/// A registry change signed by `signer`.
pub fn governed(c: &RegistryStatement, signer: &Signer) -> Envelope {
    envelope::sign(REGISTRY_TYPE, &serde_json::to_vec(c).unwrap(), &[signer])
}
