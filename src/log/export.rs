//! Open data export: one row per record (attestation) of the log, as JSON Lines or CSV,
//! for spreadsheets and pandas (`GET /v1/export`, `vouch export`).
//!
//! ```text
//! index,leaf_hash,logged_at,supplier,supplier_name,kind,topic,framework,period_from,period_to,status,score,grade,metrics,signers,self_reported,refs,verdict,text_lang,text,buyer,disputes,outcome,alias_of
//! 354,3n6o…=,2026-09-14T…Z,VN2020199WS816Z,An Phuoc Textile,audit,working_hours,SLCP CAF 1.7,…,partially_conformant,77,B,overtime_hours_per_week_p90=15 h,delta-audit,false,,valid,,,,,,
//! ```
//!
//! Streamed in two passes over the entry tiles, each tile proven against the signed
//! checkpoint before a byte of it is used: the first pass notes which records later
//! retractions and corrections name, the second writes the rows. Memory stays
//! constant in the number of records (a set of amended indexes aside). The verdict is
//! the log's reading (the log checked every signature when it accepted the entry);
//! re-verify any row from its bundle (`GET /v1/entries/{index}`, `vouch verify`).

use std::collections::HashMap;
use std::io::Write;

use base64::Engine as _;
use serde::Serialize;
use time::OffsetDateTime;

use super::{LogError, View};
use crate::entry::{encode_hash, Entry};
use crate::merkle;
use crate::note::BASE64;
use crate::registry::KeyStatus;
use crate::statement::{Kind, Statement, SupplierId, STATEMENT_TYPE};
use crate::tiles::{self, TileKind, TilePath, TILE_WIDTH};
use crate::verify::Verdict;

/// How rows are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One JSON object a line (`application/x-ndjson`).
    JsonLines,
    /// RFC 4180 CSV with a header row (`text/csv`).
    Csv,
    /// One UNTP `ConformityAttestation` a line ([`crate::untp`]), JSON Lines.
    Untp,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::JsonLines | Format::Untp => "application/x-ndjson",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// A metric in a JSON Lines row.
#[derive(Serialize)]
struct MetricRow<'a> {
    name: &'a str,
    value: f64,
    unit: &'a str,
}

/// One exported record.
#[derive(Serialize)]
struct Row<'a> {
    index: u64,
    leaf_hash: String,
    logged_at: &'a str,
    supplier: &'a str,
    supplier_name: &'a str,
    kind: Kind,
    topic: crate::statement::Topic,
    framework: Option<String>,
    period_from: Option<&'a str>,
    period_to: Option<&'a str>,
    status: Option<crate::statement::Status>,
    score: Option<f64>,
    grade: Option<&'a str>,
    metrics: Vec<MetricRow<'a>>,
    signers: Vec<String>,
    self_reported: bool,
    refs: Vec<u64>,
    verdict: Verdict,
    /// The language and words of the statement's own text, if it has one.
    text_lang: Option<&'a str>,
    text: Option<&'a str>,
    /// The buyer a record about purchasing practices is about.
    buyer: Option<&'a str>,
    /// A dispute's finding codes, a resolution's outcome, an alias's other OS ID.
    disputes: Vec<&'a str>,
    outcome: Option<crate::statement::DisputeOutcome>,
    alias_of: Option<&'a str>,
}

const CSV_HEADER: [&str; 24] = [
    "index",
    "leaf_hash",
    "logged_at",
    "supplier",
    "supplier_name",
    "kind",
    "topic",
    "framework",
    "period_from",
    "period_to",
    "status",
    "score",
    "grade",
    "metrics",
    "signers",
    "self_reported",
    "refs",
    "verdict",
    "text_lang",
    "text",
    "buyer",
    "disputes",
    "outcome",
    "alias_of",
];

fn snake<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl Row<'_> {
    fn csv(&self) -> [String; 24] {
        let opt = |v: Option<String>| v.unwrap_or_default();
        [
            self.index.to_string(),
            self.leaf_hash.clone(),
            self.logged_at.to_owned(),
            self.supplier.to_owned(),
            self.supplier_name.to_owned(),
            snake(&self.kind),
            snake(&self.topic),
            opt(self.framework.clone()),
            opt(self.period_from.map(str::to_owned)),
            opt(self.period_to.map(str::to_owned)),
            opt(self.status.map(|s| snake(&s))),
            opt(self.score.map(|s| s.to_string())),
            opt(self.grade.map(str::to_owned)),
            self.metrics
                .iter()
                .map(|m| format!("{}={} {}", m.name, m.value, m.unit))
                .collect::<Vec<_>>()
                .join("; "),
            self.signers.join(" "),
            self.self_reported.to_string(),
            self.refs
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            self.verdict.as_str().to_owned(),
            opt(self.text_lang.map(str::to_owned)),
            opt(self.text.map(str::to_owned)),
            opt(self.buyer.map(str::to_owned)),
            self.disputes.join(" "),
            opt(self.outcome.map(|o| o.as_str().to_owned())),
            opt(self.alias_of.map(str::to_owned)),
        ]
    }
}

/// Where rows go.
enum Sink<'a> {
    Json(&'a mut dyn Write),
    Csv(Box<csv::Writer<&'a mut dyn Write>>),
}

/// An attestation entry, decoded.
fn attestation(bytes: &[u8]) -> Option<(Entry, Statement)> {
    let e = Entry::parse(bytes).ok()?;
    if e.envelope.payload_type != STATEMENT_TYPE {
        return None;
    }
    let payload = BASE64.decode(&e.envelope.payload).ok()?;
    let s = Statement::parse(&payload).ok()?;
    Some((e, s))
}

impl View<'_> {
    /// Calls `f` with each entry of the tree of `size` in order, reading whole entry
    /// tiles, each proven against the signed checkpoint.
    fn each_entry(
        &self,
        size: u64,
        mut f: impl FnMut(u64, &[u8]) -> Result<(), LogError>,
    ) -> Result<(), LogError> {
        let mut first = 0;
        while first < size {
            let width = (size - first).min(TILE_WIDTH);
            let path = TilePath::new(TileKind::Entries, first / TILE_WIDTH, width as u16)?;
            let bundle = self.tile(&path)?;
            for (i, e) in tiles::decode_bundle(&bundle, width as usize)?
                .into_iter()
                .enumerate()
            {
                f(first + i as u64, e)?;
            }
            first += width;
        }
        Ok(())
    }

    /// Writes every record of the view's tree to `out` as `format`; returns the
    /// number of rows. Registry entries are not records (see `/v1/participants`).
    ///
    /// # Errors
    /// [`LogError::NotALedger`], a corrupt store, or `out` failing (as
    /// [`LogError::Unavailable`]).
    pub fn export(
        &self,
        format: Format,
        now: OffsetDateTime,
        out: &mut dyn Write,
    ) -> Result<u64, LogError> {
        let registry = self.registry()?.clone();
        let size = self.size();
        // Pass 1: what later records withdraw or replace.
        let mut amended: HashMap<u64, Verdict> = HashMap::new();
        self.each_entry(size, |_, bytes| {
            if let Some((_, s)) = attestation(bytes) {
                let verdict = match s.kind {
                    Kind::Retraction => Verdict::Retracted,
                    Kind::Correction => Verdict::Superseded,
                    _ => return Ok(()),
                };
                for r in &s.refs {
                    // A retraction outranks a correction of the same record.
                    let v = amended.entry(r.index).or_insert(verdict);
                    if verdict == Verdict::Retracted {
                        *v = verdict;
                    }
                }
            }
            Ok(())
        })?;
        let stopped =
            |e: &dyn std::fmt::Display| LogError::Unavailable(format!("export stopped: {e}"));
        let mut sink = match format {
            Format::JsonLines | Format::Untp => Sink::Json(out),
            Format::Csv => {
                let mut w = csv::Writer::from_writer(out);
                w.write_record(CSV_HEADER).map_err(|e| stopped(&e))?;
                Sink::Csv(Box::new(w))
            }
        };
        let mut rows = 0u64;
        self.each_entry(size, |index, bytes| {
            let Some((e, s)) = attestation(bytes) else {
                return Ok(());
            };
            let result = s.result.as_ref();
            let opened = e.envelope.clone().open().ok();
            let keys: Vec<u32> = opened
                .iter()
                .flat_map(|o| o.signatures.iter().map(|(k, _)| *k))
                .collect();
            let signers: Vec<String> = keys
                .iter()
                .filter_map(|k| registry.signer_at(*k, index).map(|(p, _)| p.id.clone()))
                .collect();
            // Signed by its subject: the supplier, or the buyer a record is about.
            let self_reported = keys.iter().any(|k| {
                registry
                    .signer_at(*k, index)
                    .is_some_and(|(p, _)| match &s.buyer {
                        None => p.is_supplier(&s.supplier.id),
                        Some(b) => *b == p.id,
                    })
            });
            let suspect = keys
                .iter()
                .any(|k| registry.key_status(*k, index, &e.logged_at) == KeyStatus::Suspect);
            let verdict = if suspect {
                Verdict::Suspect
            } else if let Some(v) = amended.get(&index) {
                *v
            } else if s.valid_until().is_some_and(|u| u < now) {
                Verdict::Expired
            } else {
                Verdict::Valid
            };
            let row = Row {
                index,
                leaf_hash: encode_hash(&merkle::leaf_hash(bytes)),
                logged_at: &e.logged_at,
                supplier: s.supplier.id.as_str(),
                supplier_name: &s.supplier.name,
                kind: s.kind,
                topic: s.topic,
                framework: s.framework.as_ref().map(|f| match &f.version {
                    Some(v) => format!("{} {v}", f.name),
                    None => f.name.clone(),
                }),
                period_from: s.period.as_ref().map(|p| p.from.as_str()),
                period_to: s.period.as_ref().map(|p| p.to.as_str()),
                status: result.and_then(|r| r.status),
                score: result.and_then(|r| r.score),
                grade: result.and_then(|r| r.grade.as_deref()),
                metrics: result
                    .iter()
                    .flat_map(|r| &r.metrics)
                    .map(|m| MetricRow {
                        name: &m.name,
                        value: m.value,
                        unit: &m.unit,
                    })
                    .collect(),
                signers,
                self_reported,
                refs: s.refs.iter().map(|r| r.index).collect(),
                text_lang: s.text.as_ref().map(|t| t.lang.as_str()),
                text: s.text.as_ref().map(|t| t.body.as_str()),
                buyer: s.buyer.as_deref(),
                disputes: s.disputes.iter().map(String::as_str).collect(),
                outcome: s.outcome,
                alias_of: s.alias_of.as_ref().map(SupplierId::as_str),
                verdict,
            };
            match &mut sink {
                Sink::Json(out) if format == Format::Untp => {
                    let signed_by: Vec<crate::verify::SignerInfo> = keys
                        .iter()
                        .filter_map(|k| registry.signer_at(*k, index))
                        .map(|(p, _)| crate::verify::SignerInfo::from(p))
                        .collect();
                    let record = crate::untp::Record {
                        origin: self.log.origin(),
                        index,
                        leaf_hash: &row.leaf_hash,
                        verdict,
                        signed_by: &signed_by,
                        self_reported,
                    };
                    serde_json::to_writer(&mut **out, &crate::untp::attestation(&s, &record))
                        .map_err(|e| stopped(&e))?;
                    out.write_all(b"\n").map_err(|e| stopped(&e))?;
                }
                Sink::Json(out) => {
                    serde_json::to_writer(&mut **out, &row).map_err(|e| stopped(&e))?;
                    out.write_all(b"\n").map_err(|e| stopped(&e))?;
                }
                Sink::Csv(w) => w.write_record(row.csv()).map_err(|e| stopped(&e))?,
            }
            rows += 1;
            Ok(())
        })?;
        match sink {
            Sink::Json(out) => out.flush().map_err(|e| stopped(&e))?,
            Sink::Csv(mut w) => w.flush().map_err(|e| stopped(&e))?,
        }
        Ok(rows)
    }
}
