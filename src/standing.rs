//! A supplier's current standing, computed from its complete, verified history: per
//! topic, the newest valid audit, the newest valid figure of each metric, buyers'
//! newest ratings, open corrective actions and their age, remediations and the
//! supplier's replies.
//!
//! Only records whose verdict is `valid` count: retracted, superseded, expired, suspect
//! and invalid ones are left out (and counted in [`SupplierStanding::left_out`]). A
//! `correction` counts as the kind of the record it replaces, with its own content.
//! Pure: the server serves it beside the history it came from, and a client recomputes
//! it from that history instead of trusting it (`vouch standing`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::statement::{
    DisputeOutcome, FacilityProfile, Finding, Framework, Kind, Metric, Period, Statement,
    StatementText, Status, Topic,
};
use crate::verify::{HistoryReport, Report, SignerInfo, Verdict};

/// One record as the standing cites it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Cited {
    pub index: u64,
    /// The record's kind as it counts here (a correction counts as what it replaces).
    #[schema(value_type = String)]
    pub kind: Kind,
    pub issued_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub framework: Option<Framework>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub period: Option<Period>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub findings: Vec<Finding>,
    /// The figures the record gives with its result.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub metrics: Vec<Metric>,
    /// What the signer says in their own words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub text: Option<StatementText>,
    pub signed_by: Vec<SignerInfo>,
    /// Signed by the supplier itself.
    pub self_reported: bool,
}

/// The newest valid figure of one metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Figure {
    pub name: String,
    pub value: f64,
    pub unit: String,
    pub index: u64,
    pub issued_at: String,
    pub self_reported: bool,
}

/// A corrective action plan that no valid remediation has closed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OpenAction {
    #[serde(flatten)]
    pub plan: Cited,
    /// Days since it was issued, as of the time the standing was computed.
    pub age_days: i64,
    /// The plan's items, each open, overdue or closed (plans may list none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<ItemState>,
}

/// Where one item of a corrective action plan stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ItemState {
    pub id: String,
    pub text: String,
    pub owner: String,
    pub due: String,
    /// `open`, `overdue` (its due date has passed) or `closed`.
    pub state: ItemStatus,
    /// The remediation that closed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_by: Option<u64>,
}

/// An action item's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Open,
    Overdue,
    Closed,
}

impl OpenAction {
    /// How many of its items are overdue.
    pub fn overdue(&self) -> usize {
        self.items
            .iter()
            .filter(|i| i.state == ItemStatus::Overdue)
            .count()
    }
}

/// Where a supplier stands on one topic.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TopicStanding {
    /// The newest valid audit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<Cited>,
    /// The newest valid figure of each metric, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Figure>,
    /// Each rater's newest valid rating: of a factory, its buyers'; of a buyer, the
    /// factories' statements on its purchasing practices.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ratings: Vec<Cited>,
    /// Buyers' incentives, newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incentives: Vec<Cited>,
    /// Corrective action plans no valid remediation has closed, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open_corrective_actions: Vec<OpenAction>,
    /// Valid remediations, newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remediations: Vec<Cited>,
    /// The supplier's replies, newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replies: Vec<Cited>,
    /// The supplier's disputes of records on this topic, open or resolved, oldest
    /// first. The records cited above show their findings as the resolutions left
    /// them: withdrawn ones gone, amended ones restated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disputes: Vec<DisputeState>,
}

/// Where a supplier's dispute of a record stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DisputeState {
    /// The dispute's entry.
    pub index: u64,
    /// The disputed record.
    pub record: u64,
    /// The codes of the findings disputed.
    pub findings: Vec<String>,
    pub issued_at: String,
    /// `open` until a resolution; then `upheld`, `amended` or `withdrawn`.
    pub state: DisputeStatus,
    /// The resolution that decided it (the newest valid one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<u64>,
}

/// A dispute's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DisputeStatus {
    Open,
    Upheld,
    Amended,
    Withdrawn,
}

impl DisputeStatus {
    fn of(outcome: DisputeOutcome) -> Self {
        match outcome {
            DisputeOutcome::Upheld => DisputeStatus::Upheld,
            DisputeOutcome::Amended => DisputeStatus::Amended,
            DisputeOutcome::Withdrawn => DisputeStatus::Withdrawn,
        }
    }
}

impl TopicStanding {
    /// Every record the topic cites, to restate its findings.
    fn cited_mut(&mut self) -> impl Iterator<Item = &mut Cited> {
        self.audit
            .iter_mut()
            .chain(self.ratings.iter_mut())
            .chain(self.incentives.iter_mut())
            .chain(self.open_corrective_actions.iter_mut().map(|a| &mut a.plan))
            .chain(self.remediations.iter_mut())
    }

    /// Disputes not yet resolved.
    pub fn open_disputes(&self) -> usize {
        self.disputes
            .iter()
            .filter(|d| d.state == DisputeStatus::Open)
            .count()
    }
}

/// The newest valid profile of a facility: what it is, as its record says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Profiled {
    pub index: u64,
    pub issued_at: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    #[schema(value_type = Object)]
    pub profile: FacilityProfile,
    pub signed_by: Vec<SignerInfo>,
}

/// Another OS ID joined to this one by a valid alias record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Joined {
    /// The other OS ID.
    pub id: String,
    /// The alias record.
    pub index: u64,
}

/// How many records were left out of the standing, by verdict.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LeftOut {
    pub retracted: u64,
    pub superseded: u64,
    pub expired: u64,
    pub suspect: u64,
    pub invalid: u64,
}

/// A supplier's standing as of one checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SupplierStanding {
    pub supplier: String,
    /// The name the newest record gives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub tree_size: u64,
    /// The records the standing was computed from (all of the supplier's).
    pub records: u64,
    /// By topic (`working_hours`, `chemicals`, ...), only topics with something current.
    #[schema(value_type = Object)]
    pub topics: BTreeMap<Topic, TopicStanding>,
    pub left_out: LeftOut,
    /// The newest valid profile of the facility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profiled>,
    /// Other OS IDs joined to this one (Open Supply Hub merges), whose records the
    /// history holds too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<Joined>,
}

/// Why a standing cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StandingError {
    #[error("the history does not verify, so no standing can be drawn from it")]
    InvalidHistory,
}

fn cite(r: &Report, s: &Statement, kind: Kind) -> Cited {
    let result = s.result.clone().unwrap_or_default();
    Cited {
        index: r.index,
        kind,
        issued_at: s.issued_at.clone(),
        framework: s.framework.clone(),
        period: s.period.clone(),
        status: result.status,
        score: result.score,
        grade: result.grade,
        valid_until: s.valid_until.clone(),
        findings: s.findings.clone(),
        metrics: result.metrics,
        text: s.text.clone(),
        signed_by: r.signed_by.clone(),
        self_reported: r.self_reported,
    }
}

fn by_index(history: &HistoryReport) -> BTreeMap<u64, &Report> {
    history.entries.iter().map(|r| (r.index, r)).collect()
}

/// What a record counts as: a correction as the kind of the record it replaces (through
/// any number of corrections).
fn effective_kind(by_index: &BTreeMap<u64, &Report>, r: &Report) -> Option<Kind> {
    let mut at = r;
    let mut kind = at.statement.as_ref()?.kind;
    let mut hops = 0;
    while kind == Kind::Correction && hops < by_index.len() {
        let target = at.statement.as_ref()?.refs.first()?.index;
        at = by_index.get(&target)?;
        kind = at.statement.as_ref()?.kind;
        hops += 1;
    }
    Some(kind)
}

/// What to look for with [`newest`].
#[derive(Clone, Debug, Default)]
pub struct Query {
    pub kind: Option<Kind>,
    pub topic: Option<Topic>,
    /// Part of the framework's name, any case (`SLCP`, `higg fem`).
    pub framework: Option<String>,
}

/// The newest record of a complete, verified history that is `valid` and matches
/// `query`: "the latest valid audit of this factory on working hours".
pub fn newest<'a>(history: &'a HistoryReport, query: &Query) -> Option<&'a Report> {
    let by_index = by_index(history);
    history.entries.iter().find(|r| {
        let Some(s) = r.statement.as_ref() else {
            return false;
        };
        r.verdict == Verdict::Valid
            && query
                .kind
                .is_none_or(|k| effective_kind(&by_index, r) == Some(k))
            && query.topic.is_none_or(|t| s.topic == t)
            && query.framework.as_ref().is_none_or(|f| {
                s.framework
                    .as_ref()
                    .is_some_and(|fw| fw.name.to_lowercase().contains(&f.to_lowercase()))
            })
    })
}

/// The standing a complete, verified history gives, as of `now` (for the age of open
/// corrective actions).
///
/// # Errors
/// [`StandingError::InvalidHistory`] when the history's verdict is not `valid`.
pub fn standing(
    history: &HistoryReport,
    now: OffsetDateTime,
) -> Result<SupplierStanding, StandingError> {
    if history.verdict != Verdict::Valid {
        return Err(StandingError::InvalidHistory);
    }
    let by_index = by_index(history);
    let effective = |r: &Report| effective_kind(&by_index, r);
    let mut left_out = LeftOut::default();
    let mut topics: BTreeMap<Topic, TopicStanding> = BTreeMap::new();
    // Plans closed whole by a valid remediation, and items closed one by one: plan →
    // (item id, remediation).
    let mut closed: Vec<u64> = Vec::new();
    let mut closed_items: BTreeMap<u64, Vec<(String, u64)>> = BTreeMap::new();
    // Disputes by entry, with the topic of the record disputed, and what the newest
    // valid resolution of each restated (amended findings).
    let mut disputes: BTreeMap<u64, (Topic, DisputeState)> = BTreeMap::new();
    let mut amended: BTreeMap<u64, Vec<Finding>> = BTreeMap::new();
    let mut profile = None;
    let mut aliases = Vec::new();
    // Oldest first, so that "newest" is the last one seen.
    for r in history.entries.iter().rev() {
        match r.verdict {
            Verdict::Valid => {}
            Verdict::Retracted => left_out.retracted += 1,
            Verdict::Superseded => left_out.superseded += 1,
            Verdict::Expired => left_out.expired += 1,
            Verdict::Suspect => left_out.suspect += 1,
            Verdict::Invalid => left_out.invalid += 1,
        }
        if r.verdict != Verdict::Valid {
            continue;
        }
        let (Some(s), Some(kind)) = (r.statement.as_ref(), effective(r)) else {
            continue;
        };
        let t = topics.entry(s.topic).or_default();
        match kind {
            Kind::Audit => t.audit = Some(cite(r, s, kind)),
            Kind::Metric => {
                for m in s.result.iter().flat_map(|o| &o.metrics) {
                    let figure = Figure {
                        name: m.name.clone(),
                        value: m.value,
                        unit: m.unit.clone(),
                        index: r.index,
                        issued_at: s.issued_at.clone(),
                        self_reported: r.self_reported,
                    };
                    match t.metrics.iter_mut().find(|f| f.name == m.name) {
                        Some(f) => *f = figure,
                        None => t.metrics.push(figure),
                    }
                }
            }
            // A buyer's rating of a factory, a factory's of a buyer: each signer's
            // newest counts.
            Kind::Rating | Kind::PurchasingPractice => {
                let buyer = r.signers.clone();
                t.ratings
                    .retain(|c| c.signed_by.iter().map(|s| &s.id).ne(buyer.iter()));
                t.ratings.push(cite(r, s, kind));
            }
            Kind::Incentive => t.incentives.insert(0, cite(r, s, kind)),
            Kind::CorrectiveAction => t.open_corrective_actions.push(OpenAction {
                plan: cite(r, s, kind),
                age_days: (now - s.issued_at()).whole_days(),
                items: s
                    .actions
                    .iter()
                    .map(|a| ItemState {
                        id: a.id.clone(),
                        text: a.text.clone(),
                        owner: a.owner.clone(),
                        due: a.due.clone(),
                        state: ItemStatus::Open,
                        closed_by: None,
                    })
                    .collect(),
            }),
            Kind::Remediation => {
                for plan in s.refs.iter().map(|x| x.index) {
                    if s.closes.is_empty() {
                        closed.push(plan);
                    } else {
                        closed_items
                            .entry(plan)
                            .or_default()
                            .extend(s.closes.iter().map(|id| (id.clone(), r.index)));
                    }
                }
                t.remediations.insert(0, cite(r, s, kind));
            }
            Kind::Response => t.replies.insert(0, cite(r, s, kind)),
            Kind::Dispute => {
                let Some(record) = s.refs.first().map(|x| x.index) else {
                    continue;
                };
                let topic = by_index
                    .get(&record)
                    .and_then(|d| d.statement.as_ref())
                    .map_or(s.topic, |d| d.topic);
                disputes.insert(
                    r.index,
                    (
                        topic,
                        DisputeState {
                            index: r.index,
                            record,
                            findings: s.disputes.clone(),
                            issued_at: s.issued_at.clone(),
                            state: DisputeStatus::Open,
                            resolved_by: None,
                        },
                    ),
                );
            }
            Kind::Resolution => {
                let dispute = s.refs.first().map(|x| x.index);
                if let (Some((_, d)), Some(outcome)) =
                    (dispute.and_then(|i| disputes.get_mut(&i)), s.outcome)
                {
                    d.state = DisputeStatus::of(outcome);
                    d.resolved_by = Some(r.index);
                    amended.insert(d.index, s.findings.clone());
                }
            }
            Kind::Profile => {
                if let Some(p) = &s.profile {
                    profile = Some(Profiled {
                        index: r.index,
                        issued_at: s.issued_at.clone(),
                        name: s.supplier.name.clone(),
                        address: s.supplier.address.clone(),
                        province: s.supplier.province.clone(),
                        profile: p.clone(),
                        signed_by: r.signed_by.clone(),
                    });
                }
            }
            Kind::Alias => {
                if let Some(other) = &s.alias_of {
                    aliases.push(Joined {
                        id: other.to_string(),
                        index: r.index,
                    });
                }
            }
            Kind::Retraction | Kind::Correction => {}
        }
    }
    // Findings as resolutions left them, then the disputes under the disputed
    // record's topic.
    for (topic, d) in disputes.into_values() {
        let t = topics.entry(topic).or_default();
        for c in t.cited_mut().filter(|c| c.index == d.record) {
            match d.state {
                DisputeStatus::Withdrawn => c.findings.retain(|f| !d.findings.contains(&f.code)),
                DisputeStatus::Amended => {
                    let restated = amended.get(&d.index).map_or(&[][..], Vec::as_slice);
                    c.findings.retain(|f| !d.findings.contains(&f.code));
                    c.findings.extend(restated.iter().cloned());
                }
                DisputeStatus::Open | DisputeStatus::Upheld => {}
            }
        }
        t.disputes.push(d);
    }
    let today = now.date();
    for t in topics.values_mut() {
        for a in &mut t.open_corrective_actions {
            let by = closed_items.get(&a.plan.index);
            for item in &mut a.items {
                item.closed_by =
                    by.and_then(|c| c.iter().find(|(id, _)| *id == item.id).map(|(_, r)| *r));
                let due = time::Date::parse(
                    &item.due,
                    time::macros::format_description!("[year]-[month]-[day]"),
                )
                .ok();
                item.state = match (item.closed_by, due) {
                    (Some(_), _) => ItemStatus::Closed,
                    (None, Some(d)) if d < today => ItemStatus::Overdue,
                    _ => ItemStatus::Open,
                };
            }
        }
        // A plan is closed by a remediation of the whole plan, or once every item is.
        t.open_corrective_actions.retain(|a| {
            let every_item_closed =
                !a.items.is_empty() && a.items.iter().all(|i| i.state == ItemStatus::Closed);
            !closed.contains(&a.plan.index) && !every_item_closed
        });
    }
    topics.retain(|_, t| *t != TopicStanding::default());
    // A buyer's records are the factories' (their names are the signers'), so only a
    // supplier's give its name.
    let name = history
        .entries
        .iter()
        .find_map(|r| r.statement.as_ref().map(|s| s.supplier.name.clone()))
        .filter(|_| crate::statement::buyer_of_subject(&history.supplier).is_none());
    Ok(SupplierStanding {
        supplier: history.supplier.clone(),
        name,
        tree_size: history.tree_size,
        records: history.entries.len() as u64,
        topics,
        left_out,
        profile,
        aliases,
    })
}

/// A standing in brief, for a directory: per topic, the newest valid audit's result
/// and how many current figures, ratings and open corrective actions there are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StandingSummary {
    #[schema(value_type = Object)]
    pub topics: BTreeMap<Topic, TopicSummary>,
    /// Open corrective actions over all topics.
    pub open_corrective_actions: u64,
    /// Open disputes over all topics.
    #[serde(default)]
    pub open_disputes: u64,
    /// Records left out of the standing (retracted, superseded, expired, suspect).
    pub left_out: u64,
}

/// One topic of a [`StandingSummary`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TopicSummary {
    /// The newest valid audit: entry index, status, score and grade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_index: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub audit_status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_grade: Option<String>,
    /// Metrics with a current valid figure.
    pub metrics: u64,
    /// Buyers with a current valid rating.
    pub ratings: u64,
    pub open_corrective_actions: u64,
    /// The supplier's disputes not yet resolved.
    #[serde(default)]
    pub open_disputes: u64,
}

impl SupplierStanding {
    /// This standing in brief.
    pub fn summary(&self) -> StandingSummary {
        let topics: BTreeMap<Topic, TopicSummary> = self
            .topics
            .iter()
            .map(|(topic, t)| {
                let audit = t.audit.as_ref();
                (
                    *topic,
                    TopicSummary {
                        audit_index: audit.map(|a| a.index),
                        audit_status: audit.and_then(|a| a.status),
                        audit_score: audit.and_then(|a| a.score),
                        audit_grade: audit.and_then(|a| a.grade.clone()),
                        metrics: t.metrics.len() as u64,
                        ratings: t.ratings.len() as u64,
                        open_corrective_actions: t.open_corrective_actions.len() as u64,
                        open_disputes: t.open_disputes() as u64,
                    },
                )
            })
            .collect();
        let l = &self.left_out;
        StandingSummary {
            open_corrective_actions: topics.values().map(|t| t.open_corrective_actions).sum(),
            open_disputes: topics.values().map(|t| t.open_disputes).sum(),
            topics,
            left_out: l.retracted + l.superseded + l.expired + l.suspect + l.invalid,
        }
    }
}
