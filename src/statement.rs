//! Statements: what auditors, buyers and suppliers sign about a supplier (docs/design.md §4),
//! and registry statements: who may sign (docs/design.md §4, "Registry statements").
//!
//! A statement is JSON with unknown fields rejected:
//!
//! ```json
//! {"kind": "audit", "supplier": {"id": "VN2019303BQ3FZ9", "name": "Example Garment JSC",
//!  "country": "VN"}, "topic": "working_hours", "issued_at": "2026-07-14T09:30:00Z",
//!  "result": {"status": "partially_conformant", "score": 78}}
//! ```
//!
//! [`Statement::parse`] and [`RegistryStatement::parse`] check the JSON and every rule
//! a single statement can be checked against (formats, ranges, sizes); who may sign it
//! is [`crate::policy`]'s business.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

/// DSSE payload type of attestation statements.
pub const STATEMENT_TYPE: &str = "application/vnd.vouch.statement+json";
/// DSSE payload type of registry statements.
pub const REGISTRY_TYPE: &str = "application/vnd.vouch.registry+json";
/// The largest statement payload: base64 in an envelope inside an entry, it must fit
/// the 65,535 bytes of an entry bundle (docs/design.md §5).
pub const MAX_STATEMENT_LEN: usize = 40 * 1024;

const MAX_NAME: usize = 200;
const MAX_PROVINCE: usize = 100;
const MAX_ADDRESS: usize = 300;
const MAX_TEXT: usize = 2000;
const MAX_URI: usize = 1000;
const MAX_LIST: usize = 100;
const MAX_EVIDENCE: usize = 20;
const MAX_REFS: usize = 20;
const MAX_IDENTIFIERS: usize = 10;
const MAX_KEYS: usize = 10;

/// Why a statement was refused: the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    #[error("statement is {0} bytes; the limit is {MAX_STATEMENT_LEN}")]
    TooLarge(usize),
    #[error("statement is not valid JSON for its schema: {0}")]
    Json(String),
    #[error("`{field}`: {problem}")]
    Invalid { field: String, problem: String },
}

fn invalid(field: impl Into<String>, problem: impl Into<String>) -> StatementError {
    StatementError::Invalid {
        field: field.into(),
        problem: problem.into(),
    }
}

/// What a statement is (docs/design.md §4, "Kinds").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Audit,
    Metric,
    CorrectiveAction,
    Remediation,
    Rating,
    Incentive,
    Response,
    Retraction,
    /// Replaces the entries it references: its content is their corrected content.
    Correction,
    /// A supplier disputes findings of a record about it, within the dispute window
    /// governance sets.
    Dispute,
    /// The signer of a disputed record (or governance) resolves the dispute: the
    /// findings are upheld, amended or withdrawn.
    Resolution,
    /// A factory says how a buyer buys: pays, plans, changes orders, negotiates.
    /// Filed under the buyer (`buyer:<participant id>`), not the factory.
    PurchasingPractice,
    /// What a facility is, as Open Supply Hub describes facilities: location, sector,
    /// products, processes, workforce, parent company, other names.
    Profile,
    /// Joins another OS ID to this one, as Open Supply Hub merges duplicates: the
    /// other ID's history is read as part of this one's.
    Alias,
}

impl Kind {
    pub const ALL: [Kind; 14] = [
        Kind::Audit,
        Kind::Metric,
        Kind::CorrectiveAction,
        Kind::Remediation,
        Kind::Rating,
        Kind::Incentive,
        Kind::Response,
        Kind::Retraction,
        Kind::Correction,
        Kind::Dispute,
        Kind::Resolution,
        Kind::PurchasingPractice,
        Kind::Profile,
        Kind::Alias,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Audit => "audit",
            Kind::Metric => "metric",
            Kind::CorrectiveAction => "corrective_action",
            Kind::Remediation => "remediation",
            Kind::Rating => "rating",
            Kind::Incentive => "incentive",
            Kind::Response => "response",
            Kind::Retraction => "retraction",
            Kind::Correction => "correction",
            Kind::Dispute => "dispute",
            Kind::Resolution => "resolution",
            Kind::PurchasingPractice => "purchasing_practice",
            Kind::Profile => "profile",
            Kind::Alias => "alias",
        }
    }

    /// Kinds that answer or act on earlier entries and so must reference them.
    pub fn needs_refs(self) -> bool {
        matches!(
            self,
            Kind::CorrectiveAction
                | Kind::Remediation
                | Kind::Response
                | Kind::Retraction
                | Kind::Correction
                | Kind::Dispute
                | Kind::Resolution
        )
    }

    /// Kinds that act on the entries they reference as their signer (or governance)
    /// may: withdraw them or replace them.
    pub fn amends(self) -> bool {
        matches!(self, Kind::Retraction | Kind::Correction)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The sector's improvement areas (docs/design.md §4, "Topics").
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    Wages,
    WorkingHours,
    HealthSafety,
    FreedomOfAssociation,
    WorkerDialogue,
    ChildForcedLabour,
    Grievance,
    Energy,
    Ghg,
    Water,
    Wastewater,
    Chemicals,
    Waste,
    ManagementSystems,
    Other,
    AirEmissions,
    Recruitment,
    Termination,
    WorkerTreatment,
    Discrimination,
    /// A buyer's planning and forecasting (the Better Buying Institute's categories,
    /// this one and the six after it: what factories say of their buyers).
    Forecasting,
    DesignDevelopment,
    PriceNegotiation,
    LeadTime,
    OrderChanges,
    PaymentTerms,
    Partnership,
}

impl Topic {
    /// Every topic, in the order of the enum.
    pub const ALL: [Topic; 27] = [
        Topic::Wages,
        Topic::WorkingHours,
        Topic::HealthSafety,
        Topic::FreedomOfAssociation,
        Topic::WorkerDialogue,
        Topic::ChildForcedLabour,
        Topic::Grievance,
        Topic::Energy,
        Topic::Ghg,
        Topic::Water,
        Topic::Wastewater,
        Topic::Chemicals,
        Topic::Waste,
        Topic::ManagementSystems,
        Topic::Other,
        Topic::AirEmissions,
        Topic::Recruitment,
        Topic::Termination,
        Topic::WorkerTreatment,
        Topic::Discrimination,
        Topic::Forecasting,
        Topic::DesignDevelopment,
        Topic::PriceNegotiation,
        Topic::LeadTime,
        Topic::OrderChanges,
        Topic::PaymentTerms,
        Topic::Partnership,
    ];

    /// The topics of buyers' purchasing practices, on which factories speak of buyers.
    pub const PURCHASING: [Topic; 7] = [
        Topic::Forecasting,
        Topic::DesignDevelopment,
        Topic::PriceNegotiation,
        Topic::LeadTime,
        Topic::OrderChanges,
        Topic::PaymentTerms,
        Topic::Partnership,
    ];

    /// Whether it is a topic of buyers' purchasing practices.
    pub fn is_purchasing(self) -> bool {
        Topic::PURCHASING.contains(&self)
    }

    /// The snake_case name the statement format uses: `working_hours`.
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Wages => "wages",
            Topic::WorkingHours => "working_hours",
            Topic::HealthSafety => "health_safety",
            Topic::FreedomOfAssociation => "freedom_of_association",
            Topic::WorkerDialogue => "worker_dialogue",
            Topic::ChildForcedLabour => "child_forced_labour",
            Topic::Grievance => "grievance",
            Topic::Energy => "energy",
            Topic::Ghg => "ghg",
            Topic::Water => "water",
            Topic::Wastewater => "wastewater",
            Topic::Chemicals => "chemicals",
            Topic::Waste => "waste",
            Topic::ManagementSystems => "management_systems",
            Topic::Other => "other",
            Topic::AirEmissions => "air_emissions",
            Topic::Recruitment => "recruitment",
            Topic::Termination => "termination",
            Topic::WorkerTreatment => "worker_treatment",
            Topic::Discrimination => "discrimination",
            Topic::Forecasting => "forecasting",
            Topic::DesignDevelopment => "design_development",
            Topic::PriceNegotiation => "price_negotiation",
            Topic::LeadTime => "lead_time",
            Topic::OrderChanges => "order_changes",
            Topic::PaymentTerms => "payment_terms",
            Topic::Partnership => "partnership",
        }
    }

    /// The topic `as_str` names.
    pub fn parse(name: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// An Open Supply Hub OS ID: two letters, seven digits, six letters or digits
/// (`VN2019303BQ3FZ9`).
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(try_from = "String", into = "String")]
#[schemars(transparent)]
pub struct SupplierId(#[schemars(regex(pattern = r"^[A-Z]{2}[0-9]{7}[A-Z0-9]{6}$"))] String);

impl SupplierId {
    /// # Errors
    /// When `s` is not of the OS ID form.
    pub fn new(s: &str) -> Result<Self, StatementError> {
        let b = s.as_bytes();
        let ok = b.len() == 15
            && b[..2].iter().all(u8::is_ascii_uppercase)
            && b[2..9].iter().all(u8::is_ascii_digit)
            && b[9..]
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if ok {
            Ok(SupplierId(s.to_owned()))
        } else {
            Err(invalid(
                "supplier.id",
                format!("{s:?} is not an Open Supply Hub OS ID (two letters, seven digits, six letters or digits)"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks the id as Open Supply Hub makes them: an ISO 3166-1 country, a year and
    /// a day of that year, five Crockford base32 characters, and OSH's check
    /// character. The log applies it to what is submitted; entries logged before it
    /// (and lookups) need only the form [`SupplierId::new`] checks.
    ///
    /// # Errors
    /// [`StatementError::Invalid`] for `supplier.id`, saying which part is wrong.
    pub fn check_os_id(&self) -> Result<(), StatementError> {
        let s = self.0.as_str();
        let wrong = |why: String| {
            Err(invalid(
                "supplier.id",
                format!("{s} is not an Open Supply Hub OS ID: {why}"),
            ))
        };
        if !is_country(&s[..2]) {
            return wrong(format!("{} is not an ISO 3166-1 country code", &s[..2]));
        }
        let year: i32 = s[2..6].parse().expect("digits by form");
        let day: u16 = s[6..9].parse().expect("digits by form");
        if time::Date::from_ordinal_date(year, day).is_err() {
            return wrong(format!("{year} has no day {day}"));
        }
        if let Some(c) = s[9..].chars().find(|c| !CROCKFORD.contains(*c)) {
            return wrong(format!(
                "{c:?} is not a Crockford base32 character (0-9 and A-Z without I, L, O, U)"
            ));
        }
        let want = Self::check_character(&s[..14]).expect("checked above");
        if !s.ends_with(want) {
            return wrong(format!(
                "the check character should be {want}, not {}",
                &s[14..]
            ));
        }
        Ok(())
    }

    /// Open Supply Hub's check character for the first 14 characters of an OS ID: the
    /// character codes of the two country letters and the base32 values of the rest,
    /// summed, mod 32, in Crockford base32. `None` when a character after the country
    /// is not base32.
    pub fn check_character(first: &str) -> Option<char> {
        let b = first.as_bytes();
        let mut sum = u32::from(*b.first()?) + u32::from(*b.get(1)?);
        for c in first.chars().skip(2) {
            sum += CROCKFORD.find(c)? as u32;
        }
        CROCKFORD.chars().nth((sum % 32) as usize)
    }
}

/// Crockford's base32 alphabet, as Open Supply Hub writes OS IDs.
const CROCKFORD: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl TryFrom<String> for SupplierId {
    type Error = StatementError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        SupplierId::new(&s)
    }
}

impl From<SupplierId> for String {
    fn from(id: SupplierId) -> String {
        id.0
    }
}

impl fmt::Display for SupplierId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Supplier {
    pub id: SupplierId,
    pub name: String,
    /// ISO 3166-1 alpha-2 code.
    pub country: String,
    /// Other identifiers, e.g. `{"vn_tax_code": "0100101308"}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub identifiers: BTreeMap<String, String>,
    /// The province (or city) the facility is in, as the signer writes it:
    /// `"Bình Dương"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    /// The facility's street address, as the signer writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// A span of dates, `from` and `to` inclusive (`YYYY-MM-DD`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Period {
    pub from: String,
    pub to: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Conformant,
    PartiallyConformant,
    NonConformant,
    Open,
    InProgress,
    Completed,
    Verified,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    pub name: String,
    pub value: f64,
    pub unit: String,
    /// Version 2: the unit as a UN/CEFACT Recommendation 20 code (`KWH`, `MTQ`, `HUR`,
    /// `P1` for percent, `C62` for a plain number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_code: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// 0 to 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Minor,
    Major,
    Critical,
    ZeroTolerance,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    pub code: String,
    pub severity: Severity,
    pub text: String,
}

/// A document kept off the log, referenced by URI and SHA-256 (hex).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    pub uri: String,
    pub sha256: String,
}

/// A reference to an earlier entry of the log: its index and leaf hash (base64).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryRef {
    pub index: u64,
    pub leaf_hash: String,
}

/// An attestation statement (docs/design.md §4). Build one with [`Statement::parse`] or check
/// one built in code with [`Statement::validate`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    pub kind: Kind,
    pub supplier: Supplier,
    pub topic: Topic,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework: Option<Framework>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// RFC 3339, UTC (`Z`).
    pub issued_at: String,
    /// A date (`YYYY-MM-DD`) or an RFC 3339 UTC time after `issued_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refs: Vec<EntryRef>,
    /// What the signer says in their own words: a factory's reply, the reason for a
    /// retraction or a correction, an auditor's summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<StatementText>,
    /// A corrective action plan's items: what is to be done, by whom, by when.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<ActionItem>,
    /// A remediation's items closed, by id, of the plan it refers to (none: the whole
    /// plan).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub closes: Vec<String>,
    /// A dispute's findings disputed, by code, of the record it refers to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disputes: Vec<String>,
    /// A resolution's outcome for the disputed findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<DisputeOutcome>,
    /// The buyer (a participant id) a statement about purchasing practices is about,
    /// and the replies, retractions and corrections of such statements: they are filed
    /// under the buyer ([`Statement::subject`]), with `supplier` the factory that
    /// speaks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer: Option<String>,
    /// A profile's description of the facility (`supplier` gives its name, address
    /// and province).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<FacilityProfile>,
    /// An alias's other OS ID, whose history joins this one's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_of: Option<SupplierId>,
    /// The statement format's version: 2 for the UNTP fields below (absent: 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v: Option<u32>,
    /// Version 2, as UNTP's conformity attestation says them: who assessed (`3rdParty`,
    /// `Self`, `Buyer`, ...), under what authority (`Accredited`, ...), and how
    /// (`inspection`, `declaration`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assessor_level: Option<AssessorLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assessment_level: Option<AssessmentLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation_type: Option<AttestationType>,
    /// Version 2: the conformity scheme assessed under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<Scheme>,
    /// Version 2: the criteria assessed, by the scheme's ids (an SLCP question, a Better
    /// Work compliance point).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub criteria: Vec<Criterion>,
}

/// UNTP's assessor level: the assessor's relation to what is assessed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum AssessorLevel {
    #[serde(rename = "Self")]
    Self_,
    Commercial,
    Buyer,
    Membership,
    Unspecified,
    #[serde(rename = "3rdParty")]
    ThirdParty,
}

/// UNTP's assessment level: the authority behind the assessment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum AssessmentLevel {
    GovtApproval,
    #[serde(rename = "GlobalMRA")]
    GlobalMra,
    Accredited,
    Verified,
    Validated,
    Unspecified,
}

/// UNTP's attestation type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AttestationType {
    Certification,
    Declaration,
    Inspection,
    Testing,
    Verification,
    Validation,
    Calibration,
}

/// A conformity scheme, as UNTP names one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scheme {
    /// A URI: `https://slcp.org/caf`.
    pub id: String,
    pub name: String,
    pub description: String,
    pub version: String,
    /// The date this version is valid from (`YYYY-MM-DD`).
    pub valid_from: String,
    pub owner: Party,
}

/// An organisation, by a URI and a name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Party {
    pub id: String,
    pub name: String,
}

/// A criterion assessed: the scheme's id for it and what it asks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    /// The scheme's id: `SLCP-WH-12`, `BW-OT-3`, or a URI.
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether the facility meets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conformance: Option<bool>,
}

/// A facility as Open Supply Hub describes one (its field names), beyond the name,
/// address and province a statement's `supplier` carries.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FacilityProfile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// `Apparel`, `Footwear`, `Textiles`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sector: Vec<String>,
    /// `Jackets`, `Denim trousers`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub product_type: Vec<String>,
    /// `Final product assembly`, `Textile or material production`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub facility_type: Vec<String>,
    /// `Cutting`, `Sewing`, `Dyeing`, `Washing`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processing_type: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_of_workers: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_company: Option<String>,
    /// Other names it is known by, e.g. its name in Vietnamese.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_names: Vec<String>,
}

/// WGS 84 coordinates, in degrees.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Location {
    pub lat: f64,
    pub lng: f64,
}

/// The subject of buyer `id`'s chain of purchasing-practice records: `buyer:<id>`.
pub fn buyer_subject(id: &str) -> String {
    format!("{BUYER_PREFIX}{id}")
}

/// The buyer whose chain `subject` is, if it is a buyer's ([`buyer_subject`]).
pub fn buyer_of_subject(subject: &str) -> Option<&str> {
    subject.strip_prefix(BUYER_PREFIX)
}

const BUYER_PREFIX: &str = "buyer:";

/// What a resolution decides of the findings a dispute names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DisputeOutcome {
    /// The findings stand as recorded.
    Upheld,
    /// The findings stand as the resolution restates them (its `findings`).
    Amended,
    /// The findings are withdrawn: they no longer count.
    Withdrawn,
}

impl DisputeOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            DisputeOutcome::Upheld => "upheld",
            DisputeOutcome::Amended => "amended",
            DisputeOutcome::Withdrawn => "withdrawn",
        }
    }

    /// The outcome `as_str` names.
    pub fn parse(name: &str) -> Option<DisputeOutcome> {
        [
            DisputeOutcome::Upheld,
            DisputeOutcome::Amended,
            DisputeOutcome::Withdrawn,
        ]
        .into_iter()
        .find(|o| o.as_str() == name)
    }
}

/// One item of a corrective action plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionItem {
    /// Unique in its plan: 1 to 32 of `A-Z a-z 0-9 . _ -` (`OT-1`).
    pub id: String,
    pub text: String,
    /// Who at the factory answers for it (a role or a name).
    pub owner: String,
    /// A date, `YYYY-MM-DD`.
    pub due: String,
}

fn is_item_id(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn check_item_ids<'a>(
    field: &str,
    ids: impl Iterator<Item = &'a str>,
) -> Result<(), StatementError> {
    let mut seen = std::collections::BTreeSet::new();
    for (i, id) in ids.enumerate() {
        if !is_item_id(id) {
            return Err(invalid(
                format!("{field}[{i}]"),
                format!("{id:?} is not an item id (1-32 of A-Z a-z 0-9 . _ -)"),
            ));
        }
        if !seen.insert(id) {
            return Err(invalid(
                format!("{field}[{i}]"),
                format!("{id} is given twice"),
            ));
        }
    }
    Ok(())
}

/// Free text and the language it is written in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatementText {
    /// A BCP 47 language tag: `vi`, `en`, `en-GB`, `zh-Hant`.
    pub lang: String,
    pub body: String,
}

/// Whether `tag` has the form of a BCP 47 language tag: a language of 2 or 3 lowercase
/// letters, then subtags of 1 to 8 letters or digits, at most 35 characters.
pub fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let lang = parts.next().unwrap_or("");
    tag.len() <= 35
        && (2..=3).contains(&lang.len())
        && lang.bytes().all(|b| b.is_ascii_lowercase())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Whether `code` has the form of a UN/CEFACT Recommendation 20 unit code: 2 or 3
/// uppercase letters and digits.
pub fn is_rec20_code(code: &str) -> bool {
    (2..=3).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Checks that `s` is an absolute URI: a scheme (a letter, then letters, digits, `+`,
/// `-`, `.`), a colon and more, without spaces or control characters.
fn uri(field: &str, s: &str) -> Result<(), StatementError> {
    let ok = s.split_once(':').is_some_and(|(scheme, rest)| {
        scheme
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
            && !rest.is_empty()
    }) && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && s.len() <= MAX_URI;
    if ok {
        Ok(())
    } else {
        Err(invalid(field, format!("{s:?} is not an absolute URI")))
    }
}

/// Parses an RFC 3339 time that must be in UTC, written with `Z`.
///
/// # Errors
/// Names `field` and says what is wrong.
pub fn parse_utc(field: &str, s: &str) -> Result<OffsetDateTime, StatementError> {
    let t = OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|_| invalid(field, format!("{s:?} is not an RFC 3339 time")))?;
    if !s.ends_with('Z') {
        return Err(invalid(
            field,
            format!("{s:?} must be in UTC, written with Z"),
        ));
    }
    Ok(t)
}

fn parse_date(field: &str, s: &str) -> Result<Date, StatementError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s, &format).map_err(|_| invalid(field, format!("{s:?} is not a date (YYYY-MM-DD)")))
}

/// The end of `valid_until`: the end of the day for a date, else the time itself.
fn parse_until(s: &str) -> Result<OffsetDateTime, StatementError> {
    if s.len() == 10 {
        let d = parse_date("valid_until", s)?;
        Ok(d.next_day().unwrap_or(d).midnight().assume_utc())
    } else {
        parse_utc("valid_until", s)
    }
}

fn text(field: &str, s: &str, max: usize, required: bool) -> Result<(), StatementError> {
    if required && s.trim().is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if s.chars().count() > max {
        return Err(invalid(field, format!("longer than {max} characters")));
    }
    if s.chars().any(|c| c.is_control() && c != '\n') {
        return Err(invalid(field, "holds control characters"));
    }
    Ok(())
}

fn list<T>(field: &str, l: &[T], max: usize) -> Result<(), StatementError> {
    if l.len() > max {
        return Err(invalid(field, format!("more than {max} items")));
    }
    Ok(())
}

fn finite(field: &str, v: f64) -> Result<(), StatementError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(invalid(field, "must be a finite number"))
    }
}

/// The ISO 3166-1 alpha-2 country codes, in order.
const COUNTRY_CODES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// Whether `code` is an ISO 3166-1 alpha-2 country code.
pub fn is_country(code: &str) -> bool {
    // In order (a test checks), so searched by halves.
    static SORTED: std::sync::LazyLock<Vec<&str>> =
        std::sync::LazyLock::new(|| COUNTRY_CODES.split(' ').collect());
    code.len() == 2 && SORTED.binary_search(&code).is_ok()
}

impl Statement {
    /// A statement of `kind` about `supplier` on `topic`, issued at `issued_at`, with
    /// nothing else said (fill in the rest, then [`Statement::validate`]).
    pub fn new(kind: Kind, supplier: Supplier, topic: Topic, issued_at: String) -> Statement {
        Statement {
            kind,
            supplier,
            topic,
            framework: None,
            period: None,
            issued_at,
            valid_until: None,
            result: None,
            findings: vec![],
            evidence: vec![],
            refs: vec![],
            text: None,
            actions: vec![],
            closes: vec![],
            disputes: vec![],
            outcome: None,
            buyer: None,
            profile: None,
            alias_of: None,
            v: None,
            assessor_level: None,
            assessment_level: None,
            attestation_type: None,
            scheme: None,
            criteria: vec![],
        }
    }

    /// Parses and validates a statement payload.
    ///
    /// # Errors
    /// [`StatementError`] naming the first problem found.
    pub fn parse(bytes: &[u8]) -> Result<Self, StatementError> {
        if bytes.len() > MAX_STATEMENT_LEN {
            return Err(StatementError::TooLarge(bytes.len()));
        }
        let s: Statement =
            serde_json::from_slice(bytes).map_err(|e| StatementError::Json(e.to_string()))?;
        s.validate()?;
        Ok(s)
    }

    /// Checks every rule of docs/design.md §4 that the statement alone can be checked against.
    ///
    /// # Errors
    /// [`StatementError::Invalid`] naming the field.
    pub fn validate(&self) -> Result<(), StatementError> {
        let sup = &self.supplier;
        text("supplier.name", &sup.name, MAX_NAME, true)?;
        if !is_country(&sup.country) {
            return Err(invalid(
                "supplier.country",
                format!("{:?} is not an ISO 3166-1 alpha-2 code", sup.country),
            ));
        }
        if sup.identifiers.len() > MAX_IDENTIFIERS {
            return Err(invalid(
                "supplier.identifiers",
                format!("more than {MAX_IDENTIFIERS} items"),
            ));
        }
        for (k, v) in &sup.identifiers {
            text("supplier.identifiers", k, 64, true)?;
            text(&format!("supplier.identifiers.{k}"), v, MAX_NAME, true)?;
        }
        if let Some(p) = &sup.province {
            text("supplier.province", p, MAX_PROVINCE, true)?;
        }
        if let Some(a) = &sup.address {
            text("supplier.address", a, MAX_ADDRESS, true)?;
        }
        if let Some(f) = &self.framework {
            text("framework.name", &f.name, MAX_NAME, true)?;
            if let Some(v) = &f.version {
                text("framework.version", v, 64, true)?;
            }
        }
        if let Some(p) = &self.period {
            let from = parse_date("period.from", &p.from)?;
            let to = parse_date("period.to", &p.to)?;
            if from > to {
                return Err(invalid("period", "`from` is after `to`"));
            }
        }
        let issued = parse_utc("issued_at", &self.issued_at)?;
        if let Some(until) = &self.valid_until {
            if parse_until(until)? <= issued {
                return Err(invalid("valid_until", "must be after issued_at"));
            }
        }
        if let Some(r) = &self.result {
            if let Some(score) = r.score {
                finite("result.score", score)?;
                if !(0.0..=100.0).contains(&score) {
                    return Err(invalid("result.score", "must be from 0 to 100"));
                }
            }
            if let Some(g) = &r.grade {
                text("result.grade", g, 16, true)?;
            }
            list("result.metrics", &r.metrics, MAX_LIST)?;
            for (i, m) in r.metrics.iter().enumerate() {
                text(
                    &format!("result.metrics[{i}].name"),
                    &m.name,
                    MAX_NAME,
                    true,
                )?;
                finite(&format!("result.metrics[{i}].value"), m.value)?;
                text(&format!("result.metrics[{i}].unit"), &m.unit, 32, true)?;
            }
        }
        list("findings", &self.findings, MAX_LIST)?;
        for (i, f) in self.findings.iter().enumerate() {
            text(&format!("findings[{i}].code"), &f.code, 64, true)?;
            text(&format!("findings[{i}].text"), &f.text, MAX_TEXT, true)?;
        }
        list("evidence", &self.evidence, MAX_EVIDENCE)?;
        for (i, e) in self.evidence.iter().enumerate() {
            text(&format!("evidence[{i}].uri"), &e.uri, MAX_URI, true)?;
            let hex_ok = e.sha256.len() == 64
                && e.sha256
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            if !hex_ok {
                return Err(invalid(
                    format!("evidence[{i}].sha256"),
                    "must be 64 lowercase hex digits",
                ));
            }
        }
        list("refs", &self.refs, MAX_REFS)?;
        for (i, r) in self.refs.iter().enumerate() {
            crate::entry::decode_hash(&r.leaf_hash).map_err(|_| {
                invalid(format!("refs[{i}].leaf_hash"), "must be base64 of 32 bytes")
            })?;
        }
        if !self.actions.is_empty() && self.kind != Kind::CorrectiveAction {
            return Err(invalid(
                "actions",
                "only a corrective_action lists action items",
            ));
        }
        list("actions", &self.actions, MAX_LIST)?;
        check_item_ids("actions.id", self.actions.iter().map(|a| a.id.as_str()))?;
        for (i, a) in self.actions.iter().enumerate() {
            text(&format!("actions[{i}].text"), &a.text, MAX_TEXT, true)?;
            text(&format!("actions[{i}].owner"), &a.owner, MAX_NAME, true)?;
            parse_date(&format!("actions[{i}].due"), &a.due)?;
        }
        if !self.closes.is_empty() && self.kind != Kind::Remediation {
            return Err(invalid("closes", "only a remediation closes action items"));
        }
        list("closes", &self.closes, MAX_LIST)?;
        check_item_ids("closes", self.closes.iter().map(String::as_str))?;
        self.validate_dispute()?;
        self.validate_buyer()?;
        self.validate_profile()?;
        self.validate_v2()?;
        if let Some(t) = &self.text {
            if !is_language_tag(&t.lang) {
                return Err(invalid(
                    "text.lang",
                    format!("{:?} is not a BCP 47 language tag (vi, en, en-GB)", t.lang),
                ));
            }
            text("text.body", &t.body, MAX_TEXT, true)?;
        }
        if self.kind.needs_refs() && self.refs.is_empty() {
            return Err(invalid(
                "refs",
                format!("a {} must reference the entries it is about", self.kind),
            ));
        }
        match self.kind {
            Kind::Metric if self.result.as_ref().is_none_or(|r| r.metrics.is_empty()) => {
                Err(invalid(
                    "result.metrics",
                    "a metric statement carries at least one metric",
                ))
            }
            Kind::Rating
                if self
                    .result
                    .as_ref()
                    .is_none_or(|r| r.score.is_none() && r.grade.is_none()) =>
            {
                Err(invalid("result", "a rating gives a score or a grade"))
            }
            _ => Ok(()),
        }
    }

    /// The rules of disputes and resolutions a statement alone shows: a dispute names
    /// the findings it disputes and why; a resolution gives an outcome and why, and
    /// restates the findings only when it amends them; each refers to one entry.
    fn validate_dispute(&self) -> Result<(), StatementError> {
        let dispute = self.kind == Kind::Dispute;
        let resolution = self.kind == Kind::Resolution;
        if !self.disputes.is_empty() && !dispute {
            return Err(invalid(
                "disputes",
                "only a dispute names disputed findings",
            ));
        }
        if self.outcome.is_some() && !resolution {
            return Err(invalid("outcome", "only a resolution gives an outcome"));
        }
        if !dispute && !resolution {
            return Ok(());
        }
        if self.refs.len() > 1 {
            return Err(invalid(
                "refs",
                format!("a {} refers to exactly one entry", self.kind),
            ));
        }
        if self.text.is_none() {
            return Err(invalid(
                "text",
                format!("a {} says why, in `text`", self.kind),
            ));
        }
        if dispute {
            if self.disputes.is_empty() {
                return Err(invalid(
                    "disputes",
                    "a dispute names the codes of the findings it disputes",
                ));
            }
            list("disputes", &self.disputes, MAX_LIST)?;
            let mut seen = std::collections::BTreeSet::new();
            for (i, code) in self.disputes.iter().enumerate() {
                text(&format!("disputes[{i}]"), code, 64, true)?;
                if !seen.insert(code) {
                    return Err(invalid(
                        format!("disputes[{i}]"),
                        format!("{code} is given twice"),
                    ));
                }
            }
            return Ok(());
        }
        match self.outcome {
            None => Err(invalid(
                "outcome",
                "a resolution gives an outcome: upheld, amended or withdrawn",
            )),
            Some(DisputeOutcome::Amended) if self.findings.is_empty() => Err(invalid(
                "findings",
                "an amended outcome restates the disputed findings as amended",
            )),
            Some(o @ (DisputeOutcome::Upheld | DisputeOutcome::Withdrawn))
                if !self.findings.is_empty() =>
            {
                Err(invalid(
                    "findings",
                    format!(
                        "a resolution restates findings only when it amends them, not when {}",
                        o.as_str()
                    ),
                ))
            }
            Some(_) => Ok(()),
        }
    }

    /// A statement about a buyer names it and speaks of its purchasing practices; only
    /// it, and the answers and amendments of such statements, name a buyer.
    fn validate_buyer(&self) -> Result<(), StatementError> {
        let practice = self.kind == Kind::PurchasingPractice;
        match &self.buyer {
            None if practice => {
                return Err(invalid(
                    "buyer",
                    "a purchasing_practice names the buyer it is about",
                ))
            }
            None => return Ok(()),
            Some(b) => check_participant_id("buyer", b)?,
        }
        if !practice
            && !matches!(
                self.kind,
                Kind::Response | Kind::Retraction | Kind::Correction
            )
        {
            return Err(invalid(
                "buyer",
                format!("a {} is about a supplier, not a buyer", self.kind),
            ));
        }
        if practice && !self.topic.is_purchasing() {
            return Err(invalid(
                "topic",
                "a purchasing_practice is on forecasting, design_development, price_negotiation, lead_time, order_changes, payment_terms or partnership",
            ));
        }
        if practice && self.result.is_none() && self.findings.is_empty() && self.text.is_none() {
            return Err(invalid(
                "result",
                "a purchasing_practice gives a result, findings or text",
            ));
        }
        Ok(())
    }

    /// A profile describes the facility, and only a profile does; an alias names
    /// another OS ID, and only an alias does.
    fn validate_profile(&self) -> Result<(), StatementError> {
        let only = |field: &str, kind: Kind, present: bool| {
            if present != (self.kind == kind) {
                let problem = if present {
                    format!("only a {kind} gives `{field}`")
                } else {
                    format!("a {kind} gives `{field}`")
                };
                return Err(invalid(field, problem));
            }
            Ok(())
        };
        only("profile", Kind::Profile, self.profile.is_some())?;
        only("alias_of", Kind::Alias, self.alias_of.is_some())?;
        if let Some(p) = &self.profile {
            if let Some(l) = p.location {
                finite("profile.location.lat", l.lat)?;
                finite("profile.location.lng", l.lng)?;
                if !(-90.0..=90.0).contains(&l.lat) || !(-180.0..=180.0).contains(&l.lng) {
                    return Err(invalid(
                        "profile.location",
                        "latitude is from -90 to 90 and longitude from -180 to 180",
                    ));
                }
            }
            for (field, items) in [
                ("profile.sector", &p.sector),
                ("profile.product_type", &p.product_type),
                ("profile.facility_type", &p.facility_type),
                ("profile.processing_type", &p.processing_type),
                ("profile.other_names", &p.other_names),
            ] {
                list(field, items, MAX_IDENTIFIERS * 2)?;
                for (i, item) in items.iter().enumerate() {
                    text(&format!("{field}[{i}]"), item, MAX_NAME, true)?;
                }
            }
            if let Some(c) = &p.parent_company {
                text("profile.parent_company", c, MAX_NAME, true)?;
            }
        }
        if let Some(other) = &self.alias_of {
            if *other == self.supplier.id {
                return Err(invalid("alias_of", "an OS ID is not an alias of itself"));
            }
        }
        Ok(())
    }

    /// The first version 2 field the statement gives, if any.
    pub fn v2_field(&self) -> Option<&'static str> {
        let metric_codes = self
            .result
            .iter()
            .flat_map(|r| r.metrics.iter())
            .any(|m| m.unit_code.is_some());
        [
            ("assessor_level", self.assessor_level.is_some()),
            ("assessment_level", self.assessment_level.is_some()),
            ("attestation_type", self.attestation_type.is_some()),
            ("scheme", self.scheme.is_some()),
            ("criteria", !self.criteria.is_empty()),
            ("result.metrics.unit_code", metric_codes),
        ]
        .into_iter()
        .find_map(|(field, given)| given.then_some(field))
    }

    /// The version 2 fields, only in a version 2 statement, and each well formed.
    fn validate_v2(&self) -> Result<(), StatementError> {
        let v2 = match self.v {
            None | Some(1) => false,
            Some(2) => true,
            Some(n) => {
                return Err(invalid(
                    "v",
                    format!("{n} is not a statement version (1 or 2)"),
                ))
            }
        };
        if let Some(field) = self.v2_field().filter(|_| !v2) {
            return Err(invalid(
                field,
                "is a version 2 field: the statement says \"v\": 2",
            ));
        }
        for (i, m) in self
            .result
            .iter()
            .flat_map(|r| r.metrics.iter())
            .enumerate()
        {
            if let Some(code) = &m.unit_code {
                if !is_rec20_code(code) {
                    return Err(invalid(
                        format!("result.metrics[{i}].unit_code"),
                        format!("{code:?} is not a UN/CEFACT Rec 20 unit code (2 or 3 of A-Z 0-9: KWH, MTQ, HUR)"),
                    ));
                }
            }
        }
        if let Some(sc) = &self.scheme {
            uri("scheme.id", &sc.id)?;
            text("scheme.name", &sc.name, MAX_NAME, true)?;
            text("scheme.description", &sc.description, MAX_TEXT, true)?;
            text("scheme.version", &sc.version, 64, true)?;
            parse_date("scheme.valid_from", &sc.valid_from)?;
            uri("scheme.owner.id", &sc.owner.id)?;
            text("scheme.owner.name", &sc.owner.name, MAX_NAME, true)?;
        }
        list("criteria", &self.criteria, MAX_LIST)?;
        for (i, c) in self.criteria.iter().enumerate() {
            text(&format!("criteria[{i}].id"), &c.id, MAX_NAME, true)?;
            text(&format!("criteria[{i}].name"), &c.name, MAX_NAME, true)?;
            if let Some(d) = &c.description {
                text(&format!("criteria[{i}].description"), d, MAX_TEXT, true)?;
            }
        }
        Ok(())
    }

    /// The subject the statement is filed under: the supplier's OS ID, or for a
    /// statement about a buyer, `buyer:<id>`.
    pub fn subject(&self) -> std::borrow::Cow<'_, str> {
        match &self.buyer {
            Some(b) => std::borrow::Cow::Owned(buyer_subject(b)),
            None => std::borrow::Cow::Borrowed(self.supplier.id.as_str()),
        }
    }

    /// The time the statement was issued.
    pub fn issued_at(&self) -> OffsetDateTime {
        parse_utc("issued_at", &self.issued_at).expect("validated at construction")
    }

    /// When the statement stops being current, if it says.
    pub fn valid_until(&self) -> Option<OffsetDateTime> {
        self.valid_until
            .as_deref()
            .and_then(|u| parse_until(u).ok())
    }
}

/// A participant's role (docs/design.md §1).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Auditor,
    Buyer,
    Supplier,
    Ngo,
    Governance,
}

/// How an auditor is accredited, e.g. `{"body": "APSCA", "reference": "21700123"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Accreditation {
    pub body: String,
    pub reference: String,
}

/// A participant as registered: id (lowercase letters, digits, `.`, `-`, `_`), name,
/// roles, supplier ids (for the supplier role), verifier keys, accreditation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParticipantSpec {
    pub id: String,
    pub name: String,
    pub roles: Vec<Role>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supplier_ids: Vec<SupplierId>,
    /// C2SP verifier key strings.
    pub keys: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accreditation: Option<Accreditation>,
}

/// From where a revoked key's entries are suspect: a log index or a time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Since {
    Index(u64),
    Time(String),
}

/// A change to who may sign (docs/design.md §4, "Registry statements").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RegistryStatement {
    /// The log's first entry: the governance participants and how many of them must
    /// sign a registry change.
    Genesis {
        threshold: u32,
        participants: Vec<ParticipantSpec>,
        issued_at: String,
    },
    Register {
        participant: ParticipantSpec,
        issued_at: String,
    },
    AddKey {
        participant: String,
        key: String,
        issued_at: String,
    },
    RevokeKey {
        participant: String,
        /// The key id (8 hex digits) of the key to revoke.
        key_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        compromised_since: Option<Since>,
        issued_at: String,
    },
    Remove {
        participant: String,
        issued_at: String,
    },
    /// How many governance participants must sign each registry change after this one.
    /// Signed, as every change, by enough governance keys under the threshold before it.
    SetThreshold { threshold: u32, issued_at: String },
    /// How many days after a record is logged its supplier may dispute it (SLCP's
    /// verification dispute allows 30, the window until governance sets one).
    SetDisputeWindow { days: u32, issued_at: String },
}

/// The dispute window until governance sets one, in days (SLCP's).
pub const DEFAULT_DISPUTE_WINDOW_DAYS: u32 = 30;
/// The longest dispute window governance may set, in days.
pub const MAX_DISPUTE_WINDOW_DAYS: u32 = 366;

/// Whether `id` is a participant id: 2 to 64 of lowercase letters, digits, `.-_`,
/// starting with a letter or digit.
pub fn is_participant_id(id: &str) -> bool {
    (2..=64).contains(&id.len())
        && id
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && id.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_')
        })
}

fn check_participant_id(field: &str, id: &str) -> Result<(), StatementError> {
    if is_participant_id(id) {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("{id:?} is not a participant id (2-64 of a-z 0-9 . - _)"),
        ))
    }
}

fn check_spec(field: &str, p: &ParticipantSpec) -> Result<(), StatementError> {
    check_participant_id(&format!("{field}.id"), &p.id)?;
    text(&format!("{field}.name"), &p.name, MAX_NAME, true)?;
    if p.roles.is_empty() {
        return Err(invalid(format!("{field}.roles"), "at least one role"));
    }
    if p.roles.contains(&Role::Supplier) == p.supplier_ids.is_empty() {
        return Err(invalid(
            format!("{field}.supplier_ids"),
            "a participant with the supplier role names its supplier ids, and only it",
        ));
    }
    list(&format!("{field}.supplier_ids"), &p.supplier_ids, MAX_LIST)?;
    if p.keys.is_empty() {
        return Err(invalid(format!("{field}.keys"), "at least one key"));
    }
    list(&format!("{field}.keys"), &p.keys, MAX_KEYS)?;
    for (i, k) in p.keys.iter().enumerate() {
        crate::note::Verifier::parse(k)
            .map_err(|e| invalid(format!("{field}.keys[{i}]"), e.to_string()))?;
    }
    if let Some(a) = &p.accreditation {
        text(
            &format!("{field}.accreditation.body"),
            &a.body,
            MAX_NAME,
            true,
        )?;
        text(
            &format!("{field}.accreditation.reference"),
            &a.reference,
            MAX_NAME,
            true,
        )?;
    }
    Ok(())
}

impl RegistryStatement {
    /// Parses and validates a registry statement payload.
    ///
    /// # Errors
    /// [`StatementError`] naming the first problem found.
    pub fn parse(bytes: &[u8]) -> Result<Self, StatementError> {
        if bytes.len() > MAX_STATEMENT_LEN {
            return Err(StatementError::TooLarge(bytes.len()));
        }
        let s: RegistryStatement =
            serde_json::from_slice(bytes).map_err(|e| StatementError::Json(e.to_string()))?;
        s.validate()?;
        Ok(s)
    }

    /// # Errors
    /// [`StatementError::Invalid`] naming the field.
    pub fn validate(&self) -> Result<(), StatementError> {
        parse_utc("issued_at", self.issued_at())?;
        match self {
            RegistryStatement::Genesis {
                threshold,
                participants,
                ..
            } => {
                list("participants", participants, MAX_LIST)?;
                for (i, p) in participants.iter().enumerate() {
                    check_spec(&format!("participants[{i}]"), p)?;
                }
                let members = participants
                    .iter()
                    .filter(|p| p.roles.contains(&Role::Governance))
                    .count();
                if *threshold == 0 || *threshold as usize > members {
                    return Err(invalid(
                        "threshold",
                        format!("must be from 1 to the {members} governance participants"),
                    ));
                }
                Ok(())
            }
            RegistryStatement::Register { participant, .. } => {
                check_spec("participant", participant)
            }
            RegistryStatement::AddKey {
                participant, key, ..
            } => {
                check_participant_id("participant", participant)?;
                crate::note::Verifier::parse(key).map_err(|e| invalid("key", e.to_string()))?;
                Ok(())
            }
            RegistryStatement::RevokeKey {
                participant,
                key_id,
                compromised_since,
                ..
            } => {
                check_participant_id("participant", participant)?;
                let ok = key_id.len() == 8
                    && key_id
                        .bytes()
                        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
                if !ok {
                    return Err(invalid("key_id", "must be 8 lowercase hex digits"));
                }
                if let Some(Since::Time(t)) = compromised_since {
                    parse_utc("compromised_since", t)?;
                }
                Ok(())
            }
            RegistryStatement::Remove { participant, .. } => {
                check_participant_id("participant", participant)
            }
            RegistryStatement::SetThreshold { threshold, .. } => {
                if *threshold == 0 || *threshold as usize > MAX_LIST {
                    return Err(invalid(
                        "threshold",
                        format!("must be from 1 to {MAX_LIST}"),
                    ));
                }
                Ok(())
            }
            RegistryStatement::SetDisputeWindow { days, .. } => {
                if *days == 0 || *days > MAX_DISPUTE_WINDOW_DAYS {
                    return Err(invalid(
                        "days",
                        format!("must be from 1 to {MAX_DISPUTE_WINDOW_DAYS}"),
                    ));
                }
                Ok(())
            }
        }
    }

    pub fn issued_at(&self) -> &str {
        match self {
            RegistryStatement::Genesis { issued_at, .. }
            | RegistryStatement::Register { issued_at, .. }
            | RegistryStatement::AddKey { issued_at, .. }
            | RegistryStatement::RevokeKey { issued_at, .. }
            | RegistryStatement::Remove { issued_at, .. }
            | RegistryStatement::SetThreshold { issued_at, .. }
            | RegistryStatement::SetDisputeWindow { issued_at, .. } => issued_at,
        }
    }

    /// The participant the change is about (`None` for the genesis statement and
    /// changes of the rules: threshold, dispute window).
    pub fn participant(&self) -> Option<&str> {
        match self {
            RegistryStatement::Genesis { .. }
            | RegistryStatement::SetThreshold { .. }
            | RegistryStatement::SetDisputeWindow { .. } => None,
            RegistryStatement::Register { participant, .. } => Some(&participant.id),
            RegistryStatement::AddKey { participant, .. }
            | RegistryStatement::RevokeKey { participant, .. }
            | RegistryStatement::Remove { participant, .. } => Some(participant),
        }
    }
}

/// The subject of the governance chain: the genesis entry and every registry change
/// about a governance participant. Changes about other participants are filed under
/// `registry:<id>` ([`crate::registry::participant_subject`]). Every checkpoint of a
/// ledger names this chain's newest entry, and the supplier index proves every chain
/// complete, so a verifier knows it has every change it needs, not a server's
/// selection of them.
pub const REGISTRY_SUBJECT: &str = "registry";

/// The JSON Schemas of both statement kinds, as published under `docs/schema/`.
pub fn schemas() -> [(&'static str, String); 2] {
    let pretty = |s: schemars::schema::RootSchema| {
        serde_json::to_string_pretty(&s).expect("schemas serialize") + "\n"
    };
    [
        (
            "statement.schema.json",
            pretty(schemars::schema_for!(Statement)),
        ),
        (
            "registry.schema.json",
            pretty(schemars::schema_for!(RegistryStatement)),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_are_the_statement_format_names() {
        for t in Topic::ALL {
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
            assert_eq!(Topic::parse(t.as_str()), Some(t));
        }
        assert_eq!(Topic::parse("Working_hours"), None);
    }

    #[test]
    fn os_ids_are_checked_as_open_supply_hub_makes_them() {
        let check = |s: &str| SupplierId::new(s).and_then(|id| id.check_os_id());
        // Real OS IDs from Open Supply Hub.
        for ok in ["CN2019303BQ3FZP", "CN202031463D4MB"] {
            check(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for (bad, why) in [
            ("CN2019303BQ3FZQ", "check character"),
            ("CN2019366BQ3FZP", "no day 366"),
            ("CN2020367BQ3FZP", "no day 367"),
            ("CN2019000BQ3FZP", "no day 0"),
            ("CN2019303BL3FZP", "Crockford"),
            ("CN2019303BU3FZP", "Crockford"),
            ("XX2019303BQ3FZP", "country"),
            ("VN2099999ZZZZZZ", "no day 999"),
        ] {
            let e = check(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
        // Day 366 is there in a leap year.
        let leap = "VN2024366AB123";
        let leap = format!("{leap}{}", SupplierId::check_character(leap).unwrap());
        check(&leap).unwrap();
        // Lowercase is not even of the form.
        assert!(SupplierId::new("cn2019303bq3fzp").is_err());
    }

    #[test]
    fn country_codes_are_in_order_and_found() {
        let codes: Vec<&str> = COUNTRY_CODES.split(' ').collect();
        assert!(codes.is_sorted() && codes.len() == 249);
        assert!(codes.iter().all(|c| is_country(c)));
        for no in ["", "V", "vn", "XX", "AA", "ZZ", "VNM"] {
            assert!(!is_country(no), "{no}");
        }
    }
}
