//! A factory's verified standing for a lender (`vouch summary`,
//! `GET /v1/suppliers/{id}/summary`, the printable `/factories/{id}/summary`): what a
//! credit officer asks of a factory that applies for green or social finance. Which
//! audits hold now and how they went, whether its energy, water and chemical figures
//! are falling, what corrective actions are open and for how long, how its buyers rate
//! it; each line citing the records behind it (each provable on its own with
//! `vouch proof INDEX`), all drawn from the complete history verified against one
//! signed checkpoint.
//!
//! Pure, like [`crate::standing`]: the server draws it from the history it verified,
//! and `vouch summary` draws it again from the history it fetched and verified itself.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::standing::{Cited, DisputeState, Figure, LeftOut, OpenAction, SupplierStanding};
use crate::statement::{Kind, Topic};
use crate::verify::{HistoryReport, Verdict};
use crate::words;

/// A factory's summary for lenders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Summary {
    pub supplier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The tree size of the checkpoint everything here is proven against.
    pub tree_size: u64,
    /// That checkpoint, as the log signed it (with any witness cosignatures).
    pub checkpoint: String,
    /// How many records the factory has in the log, all verified.
    pub records: u64,
    /// Records that do not count now, and why.
    pub left_out: LeftOut,
    /// Per topic with something current, social topics first, then environmental.
    pub topics: Vec<TopicLine>,
    /// Every metric with figures at two dates or more: the first and the newest.
    pub trends: Vec<Trend>,
    /// Every record a line above rests on, by log index.
    pub cited: Vec<u64>,
}

/// Where the factory stands on one topic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TopicLine {
    #[schema(value_type = String)]
    pub topic: Topic,
    /// `social`, `environmental` or `management`.
    pub area: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<Cited>,
    /// The newest valid figure of each metric.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub figures: Vec<Figure>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ratings: Vec<Cited>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open_corrective_actions: Vec<OpenAction>,
    /// The valid remediations that closed corrective action plans, by log index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remediations: Vec<u64>,
    /// The incentives buyers granted (orders, prices, terms) for this topic, by log
    /// index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incentives: Vec<u64>,
    /// The factory's disputes of records on this topic, open or resolved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disputes: Vec<DisputeState>,
}

/// How one metric moved: its first and newest valid figure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Trend {
    #[schema(value_type = String)]
    pub topic: Topic,
    pub metric: String,
    pub unit: String,
    pub first: Point,
    pub newest: Point,
    /// How many valid figures there are.
    pub figures: usize,
    /// The change from the first to the newest, in percent of the first (none when
    /// the first is 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_percent: Option<f64>,
}

/// One figure of a metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Point {
    pub value: f64,
    pub issued_at: String,
    pub index: u64,
    /// Reported by the factory itself rather than an auditor.
    pub self_reported: bool,
}

/// The area a topic belongs to, as the platform's priorities group them.
pub fn area(t: Topic) -> &'static str {
    match t {
        Topic::Energy
        | Topic::Ghg
        | Topic::Water
        | Topic::Wastewater
        | Topic::Chemicals
        | Topic::Waste
        | Topic::AirEmissions => "environmental",
        Topic::ManagementSystems | Topic::Other => "management",
        t if t.is_purchasing() => "purchasing",
        _ => "social",
    }
}

/// The summary of a verified history and the standing drawn from it; `None` when the
/// history does not verify (there is nothing to summarise then, only a failure).
pub fn summary(
    report: &HistoryReport,
    standing: &SupplierStanding,
    checkpoint: &str,
) -> Option<Summary> {
    if report.verdict != Verdict::Valid {
        return None;
    }
    let mut cited = Vec::new();
    let mut topics: Vec<TopicLine> = standing
        .topics
        .iter()
        .map(|(topic, t)| {
            cited.extend(t.audit.iter().map(|c| c.index));
            cited.extend(t.metrics.iter().map(|f| f.index));
            cited.extend(t.ratings.iter().map(|c| c.index));
            cited.extend(t.open_corrective_actions.iter().map(|a| a.plan.index));
            cited.extend(t.remediations.iter().map(|c| c.index));
            cited.extend(t.incentives.iter().map(|c| c.index));
            cited.extend(
                t.disputes
                    .iter()
                    .flat_map(|d| [d.index].into_iter().chain(d.resolved_by)),
            );
            TopicLine {
                topic: *topic,
                area: area(*topic).to_owned(),
                audit: t.audit.clone(),
                figures: t.metrics.clone(),
                ratings: t.ratings.clone(),
                open_corrective_actions: t.open_corrective_actions.clone(),
                remediations: t.remediations.iter().map(|c| c.index).collect(),
                incentives: t.incentives.iter().map(|c| c.index).collect(),
                disputes: t.disputes.clone(),
            }
        })
        .collect();
    let order = |a: &str| {
        ["social", "environmental", "management"]
            .iter()
            .position(|x| *x == a)
    };
    topics.sort_by_key(|l| order(&l.area));
    // Every valid figure of each metric, oldest first (the report is newest first).
    let mut series: BTreeMap<(Topic, String, String), Vec<Point>> = BTreeMap::new();
    for r in report.entries.iter().rev() {
        let Some(s) = r.statement.as_ref() else {
            continue;
        };
        // A valid correction of a figure counts as the figure (the one it replaced is
        // superseded, so left out).
        if r.verdict != Verdict::Valid || !matches!(s.kind, Kind::Metric | Kind::Correction) {
            continue;
        }
        for m in s.result.iter().flat_map(|o| &o.metrics) {
            series
                .entry((s.topic, m.name.clone(), m.unit.clone()))
                .or_default()
                .push(Point {
                    value: m.value,
                    issued_at: s.issued_at.clone(),
                    index: r.index,
                    self_reported: r.self_reported,
                });
        }
    }
    let trends: Vec<Trend> = series
        .into_iter()
        .filter(|(_, points)| points.len() >= 2)
        .map(|((topic, metric, unit), points)| {
            let first = points[0].clone();
            let newest = points[points.len() - 1].clone();
            cited.extend([first.index, newest.index]);
            Trend {
                topic,
                metric,
                unit,
                change_percent: (first.value != 0.0)
                    .then(|| (newest.value - first.value) / first.value.abs() * 100.0),
                figures: points.len(),
                first,
                newest,
            }
        })
        .collect();
    cited.sort_unstable();
    cited.dedup();
    Some(Summary {
        supplier: standing.supplier.clone(),
        name: standing.name.clone(),
        tree_size: standing.tree_size,
        checkpoint: checkpoint.to_owned(),
        records: standing.records,
        left_out: standing.left_out.clone(),
        topics,
        trends,
        cited,
    })
}

fn who(c: &Cited) -> String {
    let mut names: Vec<String> = c
        .signed_by
        .iter()
        .map(|s| match &s.accreditation {
            Some(a) => format!("{}, {} {}", s.name, a.body, a.reference),
            None => s.name.clone(),
        })
        .collect();
    if c.self_reported {
        names.push("reported by the factory itself".into());
    }
    names.join("; ")
}

fn day(t: &str) -> &str {
    t.get(..10).unwrap_or(t)
}

impl Summary {
    /// The summary in plain words, for a terminal or a letter; `url` and `log_key`
    /// (a file name) make the commands that check it.
    pub fn to_text(&self, url: &str, log_key: &str, now: OffsetDateTime) -> String {
        let mut out = String::new();
        let name = self.name.as_deref().unwrap_or("");
        let _ = writeln!(out, "{} {name}: summary for lenders", self.supplier);
        let _ = writeln!(
            out,
            "Drawn on {} from all {} of its records in the log, each verified (signatures, the signers' authority, a complete history) against the log's checkpoint of tree size {}.",
            now.date(),
            self.records,
            self.tree_size
        );
        let l = &self.left_out;
        let left: Vec<String> = [
            (l.retracted, "retracted"),
            (l.superseded, "replaced by a correction"),
            (l.expired, "expired"),
            (l.suspect, "signed with a key later reported compromised"),
            (l.invalid, "invalid"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, why)| format!("{n} {why}"))
        .collect();
        if !left.is_empty() {
            let _ = writeln!(out, "Not counted: {}.", left.join(", "));
        }
        let mut area = "";
        for t in &self.topics {
            if t.area != area {
                area = &t.area;
                let _ = writeln!(out, "\n{}", capitalise(area));
            }
            let _ = write!(out, "  {}:", words::topic(t.topic));
            match &t.audit {
                Some(a) => {
                    let mut parts = Vec::new();
                    if let Some(s) = a.status {
                        parts.push(words::status(s).to_owned());
                    }
                    if let Some(s) = a.score {
                        parts.push(format!("score {s}"));
                    }
                    let _ = write!(
                        out,
                        " audit {} on {} by {}",
                        parts.join(", "),
                        day(&a.issued_at),
                        who(a)
                    );
                    if let Some(u) = &a.valid_until {
                        let _ = write!(out, ", valid until {}", day(u));
                    }
                    let _ = write!(out, " [#{}]", a.index);
                }
                None if t.figures.is_empty() => {
                    let _ = write!(out, " no current audit");
                }
                None => {}
            }
            let _ = writeln!(out);
            for f in &t.figures {
                let _ = writeln!(
                    out,
                    "    {} {} {} on {}{} [#{}]",
                    f.name,
                    f.value,
                    f.unit,
                    day(&f.issued_at),
                    if f.self_reported {
                        ", reported by the factory itself"
                    } else {
                        ""
                    },
                    f.index
                );
            }
            for a in &t.open_corrective_actions {
                let _ = write!(
                    out,
                    "    corrective action open for {} days, since {} [#{}]",
                    a.age_days,
                    day(&a.plan.issued_at),
                    a.plan.index
                );
                if !a.items.is_empty() {
                    let closed = a
                        .items
                        .iter()
                        .filter(|i| i.state == crate::standing::ItemStatus::Closed)
                        .count();
                    let _ = write!(
                        out,
                        ": {} items, {closed} closed, {} overdue",
                        a.items.len(),
                        a.overdue()
                    );
                }
                let _ = writeln!(out);
            }
            for d in &t.disputes {
                let _ = writeln!(
                    out,
                    "    the factory disputed findings {} of [#{}]: {}{} [#{}]",
                    d.findings.join(", "),
                    d.record,
                    crate::words::dispute_status(d.state),
                    d.resolved_by
                        .map(|r| format!(" [#{r}]"))
                        .unwrap_or_default(),
                    d.index
                );
            }
            if !t.remediations.is_empty() {
                let _ = writeln!(
                    out,
                    "    {} corrective action(s) closed {}",
                    t.remediations.len(),
                    cite_all(&t.remediations)
                );
            }
            for r in &t.ratings {
                let _ = writeln!(
                    out,
                    "    rated {} by {} on {} [#{}]",
                    r.grade.as_deref().unwrap_or("-"),
                    who(r),
                    day(&r.issued_at),
                    r.index
                );
            }
            if !t.incentives.is_empty() {
                let _ = writeln!(
                    out,
                    "    {} buyer incentive(s) granted {}",
                    t.incentives.len(),
                    cite_all(&t.incentives)
                );
            }
        }
        if !self.trends.is_empty() {
            let _ = writeln!(out, "\nHow the figures moved");
            for t in &self.trends {
                let change = t.change_percent.map_or(String::new(), |c| {
                    if format!("{:.1}", c.abs()) == "0.0" {
                        ", unchanged".to_owned()
                    } else {
                        format!(", {} {:.1}%", if c < 0.0 { "down" } else { "up" }, c.abs())
                    }
                });
                let _ = writeln!(
                    out,
                    "  {} ({}): {} {} on {} [#{}], {} on {} [#{}]{change}, {} figures{}",
                    t.metric,
                    words::topic(t.topic),
                    t.first.value,
                    t.unit,
                    day(&t.first.issued_at),
                    t.first.index,
                    t.newest.value,
                    day(&t.newest.issued_at),
                    t.newest.index,
                    t.figures,
                    if t.newest.self_reported {
                        ", the newest reported by the factory itself"
                    } else {
                        ""
                    }
                );
            }
        }
        let _ = writeln!(
            out,
            "\nTo check this yourself, with nothing but the log's public key:\n  vouch summary {} --url {url} --log-key {log_key}\nand any record [#N] on its own, offline:\n  vouch proof N --url {url} --log-key {log_key} --out N.tlog-proof && vouch verify N.tlog-proof --log-key {log_key}",
            self.supplier
        );
        out
    }
}

fn cite_all(indexes: &[u64]) -> String {
    let all: Vec<String> = indexes.iter().map(|i| format!("#{i}")).collect();
    format!("[{}]", all.join(", "))
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
