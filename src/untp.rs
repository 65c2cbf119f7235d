//! Records as the UN Transparency Protocol (UNTP) carries conformity claims: each record
//! rendered as the credential subject of a Digital Conformity Credential, a
//! `ConformityAttestation` (uncefact/spec-untp, `untp-dcc`), so that a buyer's or a
//! regulator's UNTP tooling reads vouch's records.
//!
//! The rendering is lossless: beside UNTP's fields it carries the record as signed
//! (`vouch:record`: log index, leaf hash, the log's verdict and the statement), which
//! [`statement_of`] reads back, byte for byte the same statement; and anyone checks the
//! signature and inclusion with the record's bundle (`GET /v1/entries/{index}`).
//!
//! UNTP's fields come from the statement's version 2 fields when it gives them, and are
//! derived from the record when it does not (a version 1 statement): see
//! [`attestation`].

use serde_json::{json, Map, Value};

use crate::statement::{
    AssessmentLevel, AssessorLevel, AttestationType, Kind, Role, Statement, Status, Topic,
};
use crate::verify::{SignerInfo, Verdict};

/// The UNTP conformity topic a sector topic falls under (one of UNTP's 15 codes).
pub fn conformity_topic(t: Topic) -> &'static str {
    match t {
        Topic::Wages | Topic::WorkingHours | Topic::Recruitment | Topic::Termination => {
            "social.labour"
        }
        Topic::HealthSafety => "social.safety",
        Topic::FreedomOfAssociation
        | Topic::WorkerDialogue
        | Topic::ChildForcedLabour
        | Topic::Grievance
        | Topic::WorkerTreatment
        | Topic::Discrimination => "social.rights",
        Topic::Energy => "environment.energy",
        Topic::Ghg | Topic::AirEmissions | Topic::Chemicals => "environment.emissions",
        Topic::Water | Topic::Wastewater => "environment.water",
        Topic::Waste => "environment.waste",
        Topic::ManagementSystems => "governance.compliance",
        Topic::Other => "governance.transparency",
        Topic::Forecasting
        | Topic::DesignDevelopment
        | Topic::PriceNegotiation
        | Topic::LeadTime
        | Topic::OrderChanges
        | Topic::PaymentTerms
        | Topic::Partnership => "governance.ethics",
    }
}

/// The UN/CEFACT Rec 20 code of a unit as records commonly write it (`kWh`, `m3`,
/// `h`), if it is one of those.
pub fn rec20(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "kWh" | "kwh" => "KWH",
        "MWh" => "MWH",
        "GJ" => "GV",
        "m3" | "m³" => "MTQ",
        "L" | "l" => "LTR",
        "h" => "HUR",
        "d" | "days" => "DAY",
        "%" => "P1",
        "ratio" | "count" => "C62",
        "kg" => "KGM",
        "t" => "TNE",
        "tCO2e" => "TNE",
        "mg/L" | "mg/l" => "M1",
        _ => return None,
    })
}

/// What the log knows of a record beside its statement.
pub struct Record<'a> {
    /// The log's origin (`demo.vouch.example/vn-apparel`), to name things uniquely.
    pub origin: &'a str,
    pub index: u64,
    /// Base64, as the log writes leaf hashes.
    pub leaf_hash: &'a str,
    pub verdict: Verdict,
    pub signed_by: &'a [SignerInfo],
    /// Signed by its subject (the supplier, or the buyer it is about).
    pub self_reported: bool,
}

fn urn(origin: &str, rest: &str) -> String {
    let safe: String = origin
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-') {
                c
            } else {
                ':'
            }
        })
        .collect();
    format!("urn:vouch:{safe}:{rest}")
}

fn facility_url(id: &str) -> String {
    format!("https://opensupplyhub.org/facilities/{id}")
}

/// How the record's signers stand to it, as UNTP's assessor level says.
fn assessor_level(s: &Statement, r: &Record) -> AssessorLevel {
    let has = |role| r.signed_by.iter().any(|p| p.roles.contains(&role));
    if r.self_reported {
        AssessorLevel::Self_
    } else if has(Role::Auditor) {
        AssessorLevel::ThirdParty
    } else if has(Role::Buyer) && s.buyer.is_none() {
        AssessorLevel::Buyer
    } else if has(Role::Supplier) && s.buyer.is_some() {
        // A factory speaking of its buyer: the commercial counterpart.
        AssessorLevel::Commercial
    } else {
        AssessorLevel::Unspecified
    }
}

/// What kind of attestation a record is, as UNTP types them.
fn attestation_type(s: &Statement, r: &Record) -> AttestationType {
    match s.kind {
        Kind::Audit | Kind::CorrectiveAction => AttestationType::Inspection,
        Kind::Metric if !r.self_reported => AttestationType::Verification,
        Kind::Remediation | Kind::Resolution => AttestationType::Verification,
        _ => AttestationType::Declaration,
    }
}

fn name(v: impl serde::Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Whether the record says the facility conforms: by its status when it gives one,
/// else by having no findings.
fn conformance(s: &Statement) -> bool {
    match s.result.as_ref().and_then(|r| r.status) {
        Some(Status::Conformant | Status::Completed | Status::Verified) => true,
        Some(
            Status::PartiallyConformant | Status::NonConformant | Status::Open | Status::InProgress,
        ) => false,
        None => s.findings.is_empty(),
    }
}

/// The record as a UNTP `ConformityAttestation`. UNTP's fields, where a version 1
/// statement leaves them out:
///
/// - `assessorLevel`: `Self` when the supplier (or the buyer it is about) signed it,
///   `3rdParty` for an auditor, `Buyer` for a buyer, `Commercial` for a factory
///   speaking of a buyer, else `Unspecified`;
/// - `assessmentLevel`: `Accredited` when a signer is accredited, else `Unspecified`;
/// - `attestationType`: `inspection` for audits and plans, `verification` for an
///   auditor's figures, remediations and resolutions, else `declaration`;
/// - `conformance`: the status (conformant, completed, verified), else no findings;
/// - a metric's unit: its Rec 20 code, or the code of the unit as written ([`rec20`]),
///   or the unit as written.
pub fn attestation(s: &Statement, r: &Record) -> Value {
    let id = urn(r.origin, &format!("record:{}", r.index));
    let accredited: Vec<&SignerInfo> = r
        .signed_by
        .iter()
        .filter(|p| p.accreditation.is_some())
        .collect();
    let assessment_level = s.assessment_level.unwrap_or(if accredited.is_empty() {
        AssessmentLevel::Unspecified
    } else {
        AssessmentLevel::Accredited
    });
    let subject_party = match &s.buyer {
        Some(b) => {
            json!({"id": urn(r.origin, &format!("participant:{b}")), "name": b, "registeredId": b})
        }
        None => json!({"id": facility_url(s.supplier.id.as_str()), "name": s.supplier.name,
                       "registeredId": s.supplier.id.as_str()}),
    };
    let mut declared = Vec::new();
    for m in s.result.iter().flat_map(|o| &o.metrics) {
        let unit = m
            .unit_code
            .clone()
            .or_else(|| rec20(&m.unit).map(str::to_owned))
            .unwrap_or_else(|| m.unit.clone());
        declared.push(json!({"type": ["Metric"], "metricName": m.name,
                             "metricValue": {"type": ["Measure"], "value": m.value, "unit": unit}}));
    }
    let topic = conformity_topic(s.topic);
    let mut assessment = Map::new();
    assessment.insert(
        "type".into(),
        json!(["ConformityAssessment", "Declaration"]),
    );
    assessment.insert("id".into(), json!(format!("{id}#assessment")));
    assessment.insert(
        "name".into(),
        json!(crate::words::describe(s)
            .first()
            .cloned()
            .unwrap_or_default()),
    );
    assessment.insert("conformityTopic".into(), json!(topic));
    assessment.insert("conformance".into(), json!(conformance(s)));
    assessment.insert("assessmentDate".into(), json!(&s.issued_at[..10]));
    if !s.findings.is_empty() {
        let findings: Vec<String> = s
            .findings
            .iter()
            .map(|f| {
                format!(
                    "{} ({}): {}",
                    f.code,
                    crate::words::severity_in(f.severity, crate::words::Lang::En),
                    f.text
                )
            })
            .collect();
        assessment.insert("description".into(), json!(findings.join("; ")));
    }
    if !declared.is_empty() {
        assessment.insert("declaredValue".into(), Value::Array(declared));
    }
    if !s.criteria.is_empty() {
        let criteria: Vec<Value> = s
            .criteria
            .iter()
            .map(|c| {
                let cid = if c.id.contains(':') {
                    c.id.clone()
                } else {
                    urn(r.origin, &format!("criterion:{}", c.id))
                };
                json!({"type": ["Criterion"], "id": cid, "name": c.name,
                       "description": c.description.clone().unwrap_or_else(|| c.name.clone()),
                       "conformityTopic": topic, "status": "active"})
            })
            .collect();
        assessment.insert("assessmentCriteria".into(), Value::Array(criteria));
    }
    if s.buyer.is_none() {
        assessment.insert(
            "assessedFacility".into(),
            json!([{"type": ["FacilityVerification"],
                    "facility": {"id": facility_url(s.supplier.id.as_str()), "name": s.supplier.name,
                                 "registeredId": s.supplier.id.as_str()}}]),
        );
    }
    if let Some(p) = r.signed_by.first() {
        assessment.insert(
            "auditor".into(),
            json!({"id": urn(r.origin, &format!("participant:{}", p.id)), "name": p.name}),
        );
    }
    let mut out = Map::new();
    out.insert(
        "type".into(),
        json!(["ConformityAttestation", "Attestation"]),
    );
    out.insert("id".into(), json!(id));
    out.insert(
        "name".into(),
        json!(format!(
            "{} (record {})",
            crate::words::kind(s.kind),
            r.index
        )),
    );
    out.insert(
        "assessorLevel".into(),
        name(s.assessor_level.unwrap_or_else(|| assessor_level(s, r))),
    );
    out.insert("assessmentLevel".into(), name(assessment_level));
    out.insert(
        "attestationType".into(),
        name(s.attestation_type.unwrap_or_else(|| attestation_type(s, r))),
    );
    if let Some(t) = &s.text {
        out.insert("description".into(), json!(t.body));
    }
    out.insert("issuedToParty".into(), subject_party);
    if !accredited.is_empty() {
        let endorsements: Vec<Value> = accredited
            .iter()
            .filter_map(|p| {
                let a = p.accreditation.as_ref()?;
                Some(json!({"type": ["Endorsement"],
                    "id": urn(r.origin, &format!("accreditation:{}:{}", a.body, a.reference)),
                    "name": format!("{} accreditation {} of {}", a.body, a.reference, p.name),
                    "issuingAuthority": {"id": urn(r.origin, &format!("body:{}", a.body)), "name": a.body}}))
            })
            .collect();
        out.insert("authorisation".into(), Value::Array(endorsements));
    }
    if let Some(e) = s.evidence.first() {
        out.insert(
            "conformityCertificate".into(),
            json!({"type": ["SecureLink", "Link"], "linkURL": e.uri, "hashDigest": e.sha256,
                   "hashMethod": "SHA-256"}),
        );
    }
    if let Some(sc) = &s.scheme {
        out.insert(
            "scope".into(),
            json!({"type": ["ConformityScheme"], "id": sc.id, "name": sc.name,
                   "description": sc.description, "version": sc.version, "validFrom": sc.valid_from,
                   "owner": {"id": sc.owner.id, "name": sc.owner.name}}),
        );
    }
    out.insert("assessment".into(), json!([assessment]));
    out.insert(
        "vouch:record".into(),
        json!({"index": r.index, "leafHash": r.leaf_hash, "verdict": r.verdict,
               "signers": r.signed_by.iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
               "statement": s}),
    );
    Value::Object(out)
}

/// The statement a rendering carries, as signed: what makes the rendering lossless.
pub fn statement_of(rendering: &Value) -> Option<Statement> {
    serde_json::from_value(rendering.get("vouch:record")?.get("statement")?.clone()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_topic_has_one_of_untps_fifteen_codes() {
        let codes = [
            "environment.energy",
            "environment.emissions",
            "environment.water",
            "environment.waste",
            "environment.deforestation",
            "environment.biodiversity",
            "circularity.content",
            "circularity.design",
            "social.labour",
            "social.rights",
            "social.community",
            "social.safety",
            "governance.ethics",
            "governance.compliance",
            "governance.transparency",
        ];
        for t in Topic::ALL {
            assert!(codes.contains(&conformity_topic(t)), "{t:?}");
        }
    }
}
