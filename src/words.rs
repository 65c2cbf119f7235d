//! Records in words: what a statement says, as a buyer or an NGO reads it.
//!
//! ```text
//! Audit on working hours, SLCP CAF 1.7, covering 2026-01-01 to 2026-06-30
//!   result: partially conformant, score 78/100, grade B
//!   overtime_hours_per_week_p90: 11.5 h
//!   finding OT-02 (major): Overtime above 300 h/year for 4% of workers
//!   valid until 2027-07-14
//! ```
//!
//! Pure: the CLI prints these lines, and the explorer will render the same facts.

use crate::statement::{Kind, Severity, Statement, Status, Topic};
use crate::verify::SignerInfo;

/// A kind, as a noun.
pub fn kind(k: Kind) -> &'static str {
    match k {
        Kind::Audit => "Audit",
        Kind::Metric => "Measurement",
        Kind::CorrectiveAction => "Corrective action plan",
        Kind::Remediation => "Remediation verified",
        Kind::Rating => "Buyer rating",
        Kind::Incentive => "Buyer incentive",
        Kind::Response => "Supplier response",
        Kind::Retraction => "Retraction",
        Kind::Correction => "Correction",
    }
}

/// A topic, in words.
pub fn topic(t: Topic) -> &'static str {
    match t {
        Topic::Wages => "wages",
        Topic::WorkingHours => "working hours",
        Topic::HealthSafety => "health and safety",
        Topic::FreedomOfAssociation => "freedom of association",
        Topic::WorkerDialogue => "worker-management dialogue",
        Topic::ChildForcedLabour => "child and forced labour",
        Topic::Grievance => "grievance handling",
        Topic::Energy => "energy",
        Topic::Ghg => "greenhouse gas emissions",
        Topic::Water => "water",
        Topic::Wastewater => "wastewater",
        Topic::Chemicals => "chemicals",
        Topic::Waste => "waste",
        Topic::ManagementSystems => "management systems",
        Topic::Other => "other matters",
    }
}

pub fn status(s: Status) -> &'static str {
    match s {
        Status::Conformant => "conformant",
        Status::PartiallyConformant => "partially conformant",
        Status::NonConformant => "non-conformant",
        Status::Open => "open",
        Status::InProgress => "in progress",
        Status::Completed => "completed",
        Status::Verified => "verified",
    }
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Minor => "minor",
        Severity::Major => "major",
        Severity::Critical => "critical",
        Severity::ZeroTolerance => "zero tolerance",
    }
}

/// How a statement relates to the entries it references.
fn refers(k: Kind) -> &'static str {
    match k {
        Kind::Retraction => "withdraws entry",
        Kind::Correction => "replaces entry",
        Kind::Response => "replies to entry",
        Kind::CorrectiveAction => "plans the correction of the findings of entry",
        Kind::Remediation => "verifies the corrective action of entry",
        _ => "refers to entry",
    }
}

/// A number without a needless fraction: `78`, `11.5`.
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// What the statement says: a headline, then one line per fact.
pub fn describe(s: &Statement) -> Vec<String> {
    let on = if s.kind == Kind::Metric { "of" } else { "on" };
    let mut head = format!("{} {on} {}", kind(s.kind), topic(s.topic));
    if let Some(f) = &s.framework {
        head.push_str(&format!(", {}", f.name));
        if let Some(v) = &f.version {
            head.push_str(&format!(" {v}"));
        }
    }
    if let Some(p) = &s.period {
        head.push_str(&format!(", covering {} to {}", p.from, p.to));
    }
    let mut lines = vec![head];
    if let Some(r) = &s.result {
        let mut parts = Vec::new();
        if let Some(st) = r.status {
            parts.push(status(st).to_owned());
        }
        if let Some(score) = r.score {
            parts.push(format!("score {}/100", number(score)));
        }
        if let Some(g) = &r.grade {
            parts.push(format!("grade {g}"));
        }
        if !parts.is_empty() {
            lines.push(format!("result: {}", parts.join(", ")));
        }
        for m in &r.metrics {
            lines.push(format!("{}: {} {}", m.name, number(m.value), m.unit));
        }
    }
    for f in &s.findings {
        lines.push(format!(
            "finding {} ({}): {}",
            f.code,
            severity(f.severity),
            f.text
        ));
    }
    for r in &s.refs {
        lines.push(format!("{} {}", refers(s.kind), r.index));
    }
    if let Some(u) = &s.valid_until {
        lines.push(format!("valid until {u}"));
    }
    for e in &s.evidence {
        let short: String = e.sha256.chars().take(12).collect();
        lines.push(format!("evidence: {} (SHA-256 {short}…)", e.uri));
    }
    lines
}

/// Who signed, with role and accreditation: `Kiwa Vietnam (kiwa), auditor, accredited
/// by APSCA 21700123`.
pub fn signer(s: &SignerInfo) -> String {
    let roles: Vec<String> = s
        .roles
        .iter()
        .map(|r| {
            serde_json::to_value(r)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        })
        .collect();
    let mut out = format!("{} ({}), {}", s.name, s.id, roles.join(" and "));
    if let Some(a) = &s.accreditation {
        out.push_str(&format!(", accredited by {} {}", a.body, a.reference));
    }
    out
}
