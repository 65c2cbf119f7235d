//! Who may sign what (docs/design.md §4 and §6), given the registry at a log position.
//!
//! | kind | who may sign |
//! | --- | --- |
//! | `audit`, `corrective_action`, `remediation` | an auditor |
//! | `metric` | an auditor, or the supplier itself (self-reported) |
//! | `rating`, `incentive` | a buyer |
//! | `response` | the supplier the statement is about |
//! | `retraction` | whoever signed the referenced entry, or governance |
//! | `correction` | whoever signed the referenced entry, or governance |
//! | `dispute` | the supplier the statement is about, within the dispute window |
//! | `resolution` | whoever signed the disputed entry, or governance |
//! | `purchasing_practice` | a supplier (of the id it names as `supplier`), about a registered buyer |
//! | `response` about a buyer | the buyer itself |
//! | `profile` | the supplier of that id, or governance |
//! | `alias` | governance, or a supplier of both ids |
//!
//! Every signer of an envelope must be allowed; registry changes need signatures by
//! `threshold` distinct governance participants (keys of one member count once, so
//! that no member can act alone by holding several keys).

use std::collections::BTreeSet;

use time::{Duration, OffsetDateTime};

use crate::registry::{Participant, Registry};
use crate::statement::{Kind, Role, Statement};

/// How far in the future `issued_at` may be, for clock skew.
pub const MAX_CLOCK_SKEW: Duration = Duration::minutes(5);

/// Why a signed statement was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("key {0} is not registered")]
    UnknownKey(String),
    #[error("key {0} is revoked, or its participant removed, at this log position")]
    KeyNotActive(String),
    #[error("{participant} may not sign a statement of kind {kind}: that needs {needs}")]
    WrongRole {
        participant: String,
        kind: String,
        needs: String,
    },
    #[error("{participant} may only sign about its own supplier ids, not {supplier}")]
    NotOwnSupplier {
        participant: String,
        supplier: String,
    },
    #[error("referenced entry {0} does not exist")]
    MissingRef(u64),
    #[error("referenced entry {0} has another leaf hash")]
    RefHashMismatch(u64),
    #[error("referenced entry {index} is about {subject}, not this supplier")]
    RefOtherSubject { index: u64, subject: String },
    #[error("entry {0} can only be retracted or corrected by its signer or by governance")]
    RetractionNotBySigner(u64),
    #[error("{0} is not a buyer registered at this log position")]
    NotABuyer(String),
    #[error("entry {index} cannot be disputed: {why}")]
    NotDisputable { index: u64, why: String },
    #[error(
        "entry {index} was logged at {logged_at}: the {days}-day window to dispute it has closed"
    )]
    DisputeWindowClosed {
        index: u64,
        logged_at: String,
        days: i64,
    },
    #[error("entry {0} is not a dispute, so there is nothing to resolve")]
    NotADispute(u64),
    #[error("the dispute at entry {0} can only be resolved by the signer of the disputed entry or by governance")]
    ResolutionNotBySigner(u64),
    #[error("issued_at {0} is in the future")]
    FutureIssuedAt(String),
    #[error("a registry change needs signatures by {need} governance participants, it has {have}")]
    NotEnoughGovernance { have: usize, need: u32 },
    #[error("registry statements are submitted as registry changes, not attestations")]
    WrongPayloadType,
}

/// What the log knows of an entry a statement references.
#[derive(Clone, Debug)]
pub struct RefTarget {
    pub index: u64,
    pub subject: String,
    /// Participant ids of its signers.
    pub signers: Vec<String>,
    /// When the log wrote it.
    pub logged_at: String,
    /// Its kind (`None` for a registry change).
    pub kind: Option<Kind>,
    /// The codes of its findings.
    pub findings: Vec<String>,
    /// For a dispute: the signers of the entry it disputes.
    pub disputed_signers: Vec<String>,
}

impl RefTarget {
    /// The target that the entry of `statement` at `index` becomes for later entries.
    /// `targets` are the targets of its own references (for a dispute, the disputed
    /// entry).
    pub fn of(
        index: u64,
        subject: String,
        signers: Vec<String>,
        logged_at: String,
        statement: Option<&Statement>,
        targets: &[RefTarget],
    ) -> RefTarget {
        let dispute = statement.is_some_and(|s| s.kind == Kind::Dispute);
        RefTarget {
            index,
            subject,
            signers,
            logged_at,
            kind: statement.map(|s| s.kind),
            findings: statement
                .map(|s| s.findings.iter().map(|f| f.code.clone()).collect())
                .unwrap_or_default(),
            disputed_signers: if dispute {
                targets
                    .first()
                    .map(|t| t.signers.clone())
                    .unwrap_or_default()
            } else {
                Vec::new()
            },
        }
    }
}

/// Whether a record of `kind` can be disputed: records that state findings, not
/// answers, disputes or amendments.
pub fn disputable(kind: Kind) -> bool {
    !matches!(
        kind,
        Kind::Response | Kind::Retraction | Kind::Correction | Kind::Dispute | Kind::Resolution
    )
}

/// Why `statement`, a dispute logged at `logged_at`, may not dispute `target` (the
/// registry's window is `window`), if it may not: the target must be a record that
/// states the findings named, not signed by the disputing supplier, and logged no
/// longer than the window before.
pub fn dispute_problem(
    statement: &Statement,
    signers: &[String],
    target: &RefTarget,
    logged_at: OffsetDateTime,
    window: Duration,
) -> Option<PolicyError> {
    let not = |why: String| {
        Some(PolicyError::NotDisputable {
            index: target.index,
            why,
        })
    };
    match target.kind {
        Some(k) if disputable(k) => {}
        Some(k) => return not(format!("it is a {k}, not a record of findings")),
        None => return not("it is a registry change".into()),
    }
    if target.signers.iter().any(|s| signers.contains(s)) {
        return not("a signer cannot dispute its own record".into());
    }
    if let Some(code) = statement
        .disputes
        .iter()
        .find(|c| !target.findings.contains(c))
    {
        return not(format!("it has no finding {code}"));
    }
    let then = crate::statement::parse_utc("logged_at", &target.logged_at).ok()?;
    if logged_at > then + window {
        return Some(PolicyError::DisputeWindowClosed {
            index: target.index,
            logged_at: target.logged_at.clone(),
            days: window.whole_days(),
        });
    }
    None
}

/// Why `signers` may not resolve `target` with a resolution, if they may not: it must
/// be a dispute, and they the signers of the disputed entry or governance.
pub fn resolution_problem(signers: &[&Participant], target: &RefTarget) -> Option<PolicyError> {
    if target.kind != Some(Kind::Dispute) {
        return Some(PolicyError::NotADispute(target.index));
    }
    let allowed = signers
        .iter()
        .all(|s| s.has_role(Role::Governance) || target.disputed_signers.contains(&s.id));
    (!allowed).then_some(PolicyError::ResolutionNotBySigner(target.index))
}

fn needs(statement: &Statement) -> &'static str {
    let kind = statement.kind;
    if kind == Kind::Response && statement.buyer.is_some() {
        return "the buyer it is about";
    }
    match kind {
        Kind::Audit | Kind::CorrectiveAction | Kind::Remediation => "auditor",
        Kind::Metric => "auditor, or supplier of this id",
        Kind::Rating | Kind::Incentive => "buyer",
        Kind::Response => "supplier of this id",
        Kind::Retraction | Kind::Correction => "signer of the referenced entry, or governance",
        Kind::Dispute => "supplier of this id",
        Kind::Resolution => "signer of the disputed entry, or governance",
        Kind::PurchasingPractice => "supplier of this id, about a registered buyer",
        Kind::Profile => "supplier of this id, or governance",
        Kind::Alias => "governance, or the supplier of both ids",
    }
}

/// Whether `signer` may sign `statement` (all but the reference checks, which need the
/// referenced entries: see [`check_refs`]).
///
/// # Errors
/// [`PolicyError::WrongRole`] or [`PolicyError::NotOwnSupplier`].
pub fn authorise(signer: &Participant, statement: &Statement) -> Result<(), PolicyError> {
    let kind = statement.kind;
    let supplier = &statement.supplier.id;
    let wrong_role = || PolicyError::WrongRole {
        participant: signer.id.clone(),
        kind: kind.to_string(),
        needs: needs(statement).to_owned(),
    };
    let own_supplier = || {
        if signer.is_supplier(supplier) {
            Ok(())
        } else {
            Err(PolicyError::NotOwnSupplier {
                participant: signer.id.clone(),
                supplier: supplier.to_string(),
            })
        }
    };
    match kind {
        Kind::Audit | Kind::CorrectiveAction | Kind::Remediation => signer
            .has_role(Role::Auditor)
            .then_some(())
            .ok_or_else(wrong_role),
        Kind::Metric if signer.has_role(Role::Auditor) => Ok(()),
        // A buyer answers what a factory said of it.
        Kind::Response if statement.buyer.is_some() => {
            (statement.buyer.as_deref() == Some(signer.id.as_str()) && signer.has_role(Role::Buyer))
                .then_some(())
                .ok_or_else(wrong_role)
        }
        Kind::Metric | Kind::Response | Kind::Dispute | Kind::PurchasingPractice
            if signer.has_role(Role::Supplier) =>
        {
            own_supplier()
        }
        Kind::PurchasingPractice => Err(wrong_role()),
        Kind::Profile | Kind::Alias if signer.has_role(Role::Governance) => Ok(()),
        Kind::Profile if signer.has_role(Role::Supplier) => own_supplier(),
        Kind::Alias
            if statement
                .alias_of
                .as_ref()
                .is_some_and(|other| signer.is_supplier(other)) =>
        {
            own_supplier()
        }
        Kind::Profile | Kind::Alias => Err(wrong_role()),
        Kind::Metric | Kind::Response | Kind::Dispute => Err(wrong_role()),
        Kind::Rating | Kind::Incentive => signer
            .has_role(Role::Buyer)
            .then_some(())
            .ok_or_else(wrong_role),
        // Checked against the referenced entries in `check_refs`.
        Kind::Retraction | Kind::Correction | Kind::Resolution => Ok(()),
    }
}

/// Checks that the buyer a purchasing-practice statement is about is a participant
/// with the buyer role, active at `position` (its replies need no check: only the buyer
/// itself may sign them).
///
/// # Errors
/// [`PolicyError::NotABuyer`].
pub fn check_buyer(
    registry: &Registry,
    statement: &Statement,
    position: u64,
) -> Result<(), PolicyError> {
    let Some(buyer) = statement
        .buyer
        .as_ref()
        .filter(|_| statement.kind == Kind::PurchasingPractice)
    else {
        return Ok(());
    };
    let registered = registry
        .participants
        .get(buyer)
        .is_some_and(|p| p.has_role(Role::Buyer) && p.active_at(position));
    if registered {
        Ok(())
    } else {
        Err(PolicyError::NotABuyer(buyer.clone()))
    }
}

/// Checks a statement's references against the entries they point at: each must be
/// about the same supplier, a retraction or correction must come from their signer
/// or governance, a dispute must come in time for a record with the findings it names
/// ([`dispute_problem`]), and a resolution must resolve a dispute as the disputed
/// record's signer or governance ([`resolution_problem`]). `logged_at` is the time
/// the log writes the statement, `registry` the registry at its position.
///
/// # Errors
/// The first reference that fails.
pub fn check_refs(
    signers: &[&Participant],
    statement: &Statement,
    targets: &[RefTarget],
    logged_at: OffsetDateTime,
    registry: &Registry,
) -> Result<(), PolicyError> {
    for t in targets {
        if t.subject != statement.subject() {
            return Err(PolicyError::RefOtherSubject {
                index: t.index,
                subject: t.subject.clone(),
            });
        }
        if statement.kind.amends() {
            let allowed = signers
                .iter()
                .all(|s| s.has_role(Role::Governance) || t.signers.contains(&s.id));
            if !allowed {
                return Err(PolicyError::RetractionNotBySigner(t.index));
            }
        }
        let problem = match statement.kind {
            Kind::Dispute => {
                let ids: Vec<String> = signers.iter().map(|p| p.id.clone()).collect();
                dispute_problem(statement, &ids, t, logged_at, registry.dispute_window())
            }
            Kind::Resolution => resolution_problem(signers, t),
            _ => None,
        };
        if let Some(e) = problem {
            return Err(e);
        }
    }
    Ok(())
}

/// Refuses an `issued_at` further in the future than the clock skew allows.
///
/// # Errors
/// [`PolicyError::FutureIssuedAt`].
pub fn check_issued_at(
    statement_issued_at: OffsetDateTime,
    raw: &str,
    now: OffsetDateTime,
) -> Result<(), PolicyError> {
    if statement_issued_at > now + MAX_CLOCK_SKEW {
        return Err(PolicyError::FutureIssuedAt(raw.to_owned()));
    }
    Ok(())
}

/// Checks that enough distinct governance participants signed a registry change.
///
/// # Errors
/// [`PolicyError::NotEnoughGovernance`].
pub fn check_governance(
    registry: &Registry,
    signer_keys: &[u32],
    position: u64,
) -> Result<(), PolicyError> {
    let have: BTreeSet<&str> = signer_keys
        .iter()
        .filter_map(|k| registry.signer_at(*k, position))
        .filter(|(p, _)| p.has_role(Role::Governance))
        .map(|(p, _)| p.id.as_str())
        .collect();
    if have.len() < registry.threshold as usize {
        return Err(PolicyError::NotEnoughGovernance {
            have: have.len(),
            need: registry.threshold,
        });
    }
    Ok(())
}
