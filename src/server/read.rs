//! Reads: entries and their bundles, proofs, supplier histories, standing, the
//! directory, open data export and the registry's participants.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use crate::bundle::{Bundle, History};
use crate::entry::encode_hash;
use crate::log::{Log, LogError};
use crate::statement::SupplierId;
use crate::verify;

use super::problems::{ApiResult, Problem, ProblemDoc};
use super::submit::proof_strings;
use super::{AppState, MAX_PAGE};

/// A query string, or a problem that says what is wrong with it (an unknown, repeated
/// or malformed parameter).
pub(super) struct Params<T>(pub(super) T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequestParts<S>
    for Params<T>
{
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Problem> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| Params(q))
            .map_err(|e| Problem::bad_request("bad-parameter", "Bad parameter", e.body_text()))
    }
}

pub(super) fn parse_index(raw: &str) -> ApiResult<u64> {
    let canonical = !raw.is_empty()
        && raw.bytes().all(|b| b.is_ascii_digit())
        && (raw == "0" || !raw.starts_with('0'));
    canonical
        .then(|| raw.parse().ok())
        .flatten()
        .ok_or_else(|| {
            Problem::bad_request(
                "bad-parameter",
                "Bad parameter",
                format!("{raw:?} is not an index"),
            )
        })
}

pub(super) fn bundle(log: &Log, index: u64) -> Result<Bundle, LogError> {
    log.view().bundle(index)
}

/// Runs a short read (a proof: microseconds of cached reads) on the async thread.
pub(super) fn inline<T>(f: impl FnOnce() -> Result<T, LogError>) -> ApiResult<T> {
    f().map_err(Problem::from)
}

pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, LogError> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| {
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
                e.to_string(),
            )
        })?
        .map_err(Problem::from)
}

/// One entry as a bundle: entry, inclusion proof, checkpoint and registry chain.
#[utoipa::path(get, path = "/v1/entries/{index}", params(("index" = u64, Path, description = "Entry index")),
    responses((status = 200, body = Bundle), (status = 404, content_type = "application/problem+json", body = ProblemDoc)))]
pub(super) async fn entry_bundle(
    State(s): State<Arc<AppState>>,
    Path(index): Path<String>,
) -> ApiResult<Json<Bundle>> {
    let index = parse_index(&index)?;
    let permit = s.expensive()?;
    let log = s.log.clone();
    Ok(Json(
        blocking(move || {
            let _permit = permit;
            bundle(&log, index)
        })
        .await?,
    ))
}

#[derive(Deserialize)]
pub(super) struct InclusionQuery {
    index: Option<String>,
    size: Option<String>,
}

pub(super) fn required(value: Option<&str>, name: &str) -> ApiResult<u64> {
    parse_index(value.ok_or_else(|| {
        Problem::bad_request(
            "bad-parameter",
            "Bad parameter",
            format!("the query parameter {name} is required"),
        )
    })?)
}

/// An inclusion proof.
#[utoipa::path(get, path = "/v1/proofs/inclusion",
    params(("index" = u64, Query, description = "Entry index"), ("size" = Option<u64>, Query, description = "Tree size (default: latest)")),
    responses((status = 200, description = "index, tree_size, leaf_hash, inclusion_proof, checkpoint"), (status = "4XX", content_type = "application/problem+json", body = ProblemDoc)))]
pub(super) async fn inclusion(
    State(s): State<Arc<AppState>>,
    Params(q): Params<InclusionQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let index = required(q.index.as_deref(), "index")?;
    let view = s.log.view();
    let size = q
        .size
        .as_deref()
        .map(parse_index)
        .transpose()?
        .unwrap_or(view.size());
    inline(|| {
        let (leaf, proof) = view.proven_leaf(index, size)?;
        Ok(Json(json!({
            "index": index,
            "tree_size": size,
            "leaf_hash": encode_hash(&leaf),
            "inclusion_proof": proof_strings(&proof),
            "checkpoint": view.checkpoint_at(size)?,
        })))
    })
}

#[derive(Deserialize)]
pub(super) struct ConsistencyQuery {
    from: Option<String>,
    to: Option<String>,
}

/// A consistency proof between two tree sizes.
#[utoipa::path(get, path = "/v1/proofs/consistency",
    params(("from" = u64, Query, description = "Old tree size"), ("to" = Option<u64>, Query, description = "New tree size (default: latest)")),
    responses((status = 200, description = "from, to, consistency_proof, checkpoint"), (status = "4XX", content_type = "application/problem+json", body = ProblemDoc)))]
pub(super) async fn consistency(
    State(s): State<Arc<AppState>>,
    Params(q): Params<ConsistencyQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let from = required(q.from.as_deref(), "from")?;
    let view = s.log.view();
    let to =
        q.to.as_deref()
            .map(parse_index)
            .transpose()?
            .unwrap_or(view.size());
    inline(|| {
        let proof = view.consistency_proof(from, to)?;
        Ok(Json(json!({
            "from": from,
            "to": to,
            "consistency_proof": proof_strings(&proof),
            "checkpoint": view.checkpoint_at(to)?,
        })))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HistoryQuery {
    size: Option<String>,
    before: Option<String>,
    limit: Option<String>,
}

/// A page of a supplier's history, newest first, proven against one checkpoint; the
/// first page with the supplier index's proof of its chain head.
#[utoipa::path(get, path = "/v1/suppliers/{id}/history",
    params(("id" = String, Path, description = "Open Supply Hub OS ID"),
        ("size" = Option<u64>, Query, description = "Tree size of the checkpoint to prove against (default: latest; for the next pages, the first page's tree_size)"),
        ("before" = Option<u64>, Query, description = "Only entries below this index (for the next pages, the previous page's next_before)"),
        ("limit" = Option<usize>, Query, description = "Page size, 1 to 500 (default 100)")),
    responses((status = 200, body = History), (status = "4XX", content_type = "application/problem+json", body = ProblemDoc)))]
pub(super) async fn history(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    Params(q): Params<HistoryQuery>,
) -> ApiResult<Json<History>> {
    let id = SupplierId::new(&id)
        .map_err(|e| Problem::bad_request("bad-supplier-id", "Bad supplier id", e.to_string()))?;
    history_of(&s, id.to_string(), &q).await
}

/// A buyer's id from a path: a participant id.
pub(super) fn buyer_id(id: &str) -> ApiResult<String> {
    if crate::statement::is_participant_id(id) {
        Ok(id.to_owned())
    } else {
        Err(Problem::bad_request(
            "bad-buyer-id",
            "Bad buyer id",
            format!("{id:?} is not a participant id (2-64 of a-z 0-9 . - _)"),
        ))
    }
}

/// A page of what factories said of a buyer's purchasing practices, and the buyer's
/// replies, newest first: a history like a supplier's, filed under `buyer:<id>`.
#[utoipa::path(get, path = "/v1/buyers/{id}/history",
    params(("id" = String, Path, description = "The buyer's participant id"),
        ("size" = Option<u64>, Query, description = "Tree size of the checkpoint to prove against (default: latest; for the next pages, the first page's tree_size)"),
        ("before" = Option<u64>, Query, description = "Only entries below this index (for the next pages, the previous page's next_before)"),
        ("limit" = Option<usize>, Query, description = "Page size, 1 to 500 (default 100)")),
    responses((status = 200, body = History), (status = "4XX", content_type = "application/problem+json", body = ProblemDoc)))]
pub(super) async fn buyer_history(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    Params(q): Params<HistoryQuery>,
) -> ApiResult<Json<History>> {
    let subject = crate::statement::buyer_subject(&buyer_id(&id)?);
    history_of(&s, subject, &q).await
}

async fn history_of(s: &AppState, subject: String, q: &HistoryQuery) -> ApiResult<Json<History>> {
    let size = q.size.as_deref().map(parse_index).transpose()?;
    let before = q.before.as_deref().map(parse_index).transpose()?;
    let limit = page_limit(q.limit.as_deref())?;
    let permit = s.expensive()?;
    let log = s.log.clone();
    Ok(Json(
        blocking(move || {
            let _permit = permit;
            match size {
                Some(size) => log.view_at(size)?,
                None => log.view(),
            }
            .history(&subject, before, limit)
        })
        .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StandingQuery {
    topic: Option<String>,
}

/// A supplier's standing and the complete history it was computed from.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct StandingResponse {
    standing: crate::standing::SupplierStanding,
    /// Every entry about the supplier, with the index proof: recompute the standing
    /// from it (`vouch standing`) rather than trust it.
    history: History,
    /// The histories of the OS IDs its alias records join to it (Open Supply Hub
    /// merges), whose records the standing counts too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    joined: Vec<History>,
}

/// A supplier's current standing per topic, with the proof material to recompute it.
#[utoipa::path(get, path = "/v1/suppliers/{id}/standing",
    params(("id" = String, Path, description = "Open Supply Hub OS ID"),
        ("topic" = Option<String>, Query, description = "Only this topic (working_hours, chemicals, ...)")),
    responses((status = 200, body = StandingResponse), (status = "4XX", content_type = "application/problem+json", body = ProblemDoc)))]
pub(super) async fn supplier_standing(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    Params(q): Params<StandingQuery>,
) -> ApiResult<Json<StandingResponse>> {
    let id = SupplierId::new(&id)
        .map_err(|e| Problem::bad_request("bad-supplier-id", "Bad supplier id", e.to_string()))?;
    standing_of(&s, id.to_string(), &q).await
}

/// Where a buyer stands on purchasing practices, per topic, as the factories that
/// supply it say (each factory's newest statement), with its replies, and the
/// complete history to recompute it.
#[utoipa::path(get, path = "/v1/buyers/{id}/standing",
    params(("id" = String, Path, description = "The buyer's participant id"),
        ("topic" = Option<String>, Query, description = "Only this topic (payment_terms, order_changes, ...)")),
    responses((status = 200, body = StandingResponse), (status = "4XX", content_type = "application/problem+json", body = ProblemDoc)))]
pub(super) async fn buyer_standing(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    Params(q): Params<StandingQuery>,
) -> ApiResult<Json<StandingResponse>> {
    let subject = crate::statement::buyer_subject(&buyer_id(&id)?);
    standing_of(&s, subject, &q).await
}

async fn standing_of(
    s: &AppState,
    subject: String,
    q: &StandingQuery,
) -> ApiResult<Json<StandingResponse>> {
    let id = subject;
    let topic = q.topic.as_deref().map(parse_topic).transpose()?;
    let key = s.log.verifier().clone();
    let cap = s.config.max_verify_entries;
    let permit = s.expensive()?;
    let log = s.log.clone();
    blocking(move || {
        let _permit = permit;
        let Some(file) = log.supplier_file(&log.view(), &id, cap)? else {
            // No record: the complete (empty) history, with its proof of absence.
            let history = log.view().history(&id, None, cap)?;
            let report = verify::verify_history(&history, &id, &key, OffsetDateTime::now_utc());
            let standing = crate::standing::standing(&report, OffsetDateTime::now_utc())
                .map_err(|e| LogError::Inconsistent(e.to_string()))?;
            return Ok(Json(StandingResponse {
                standing,
                history,
                joined: Vec::new(),
            }));
        };
        let mut standing = file.standing.clone();
        if let Some(t) = topic {
            standing.topics.retain(|k, _| *k == t);
        }
        Ok(Json(StandingResponse {
            standing,
            history: file.history.clone(),
            joined: file.joined.clone(),
        }))
    })
    .await
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct SummaryResponse {
    summary: crate::summary::Summary,
    /// Every entry about the supplier, with the index proof: draw the summary again
    /// from it (`vouch summary`) rather than trust it.
    history: History,
}

/// A factory's verified standing for a lender: current audits, how its figures moved,
/// open corrective actions and buyers' ratings, each line citing its records.
#[utoipa::path(get, path = "/v1/suppliers/{id}/summary",
    params(("id" = String, Path, description = "Open Supply Hub OS ID")),
    responses((status = 200, body = SummaryResponse), (status = "4XX", content_type = "application/problem+json", body = ProblemDoc)))]
pub(super) async fn supplier_summary(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<SummaryResponse>> {
    let id = SupplierId::new(&id)
        .map_err(|e| Problem::bad_request("bad-supplier-id", "Bad supplier id", e.to_string()))?;
    let cap = s.config.max_verify_entries;
    let permit = s.expensive()?;
    let log = s.log.clone();
    let unknown = Problem::not_found(format!("no records about {}", id.as_str()));
    let found = blocking(move || {
        let _permit = permit;
        let Some(file) = log.supplier_file(&log.view(), id.as_str(), cap)? else {
            return Ok(None);
        };
        Ok(Some(Json(SummaryResponse {
            summary: file.summary()?,
            history: file.history.clone(),
        })))
    })
    .await?;
    found.ok_or(unknown)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DirectoryQuery {
    q: Option<String>,
    country: Option<String>,
    province: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

/// The supplier directory: every supplier with records, searchable by OS ID or name.
#[utoipa::path(get, path = "/v1/suppliers",
    params(("q" = Option<String>, Query, description = "The start of an OS ID, or part of a name (any case)"),
        ("country" = Option<String>, Query, description = "ISO 3166-1 alpha-2 code"),
        ("province" = Option<String>, Query, description = "The province, exactly as the records name it"),
        ("after" = Option<String>, Query, description = "The previous page's next_after"),
        ("limit" = Option<usize>, Query, description = "Page size, 1 to 500 (default 100)")),
    responses((status = 200, body = crate::log::SupplierPage), (status = "4XX", content_type = "application/problem+json", body = ProblemDoc)))]
pub(super) async fn supplier_directory(
    State(s): State<Arc<AppState>>,
    Params(q): Params<DirectoryQuery>,
) -> ApiResult<Json<crate::log::SupplierPage>> {
    let limit = page_limit(q.limit.as_deref())?;
    let bad = |detail: String| Problem::bad_request("bad-parameter", "Bad parameter", detail);
    if let Some(c) = &q.country {
        if !crate::statement::is_country(c) {
            return Err(bad(format!(
                "{c:?} is not an ISO 3166-1 alpha-2 country code"
            )));
        }
    }
    if let Some(text) = &q.q {
        if text.trim().is_empty() || text.chars().count() > 200 {
            return Err(bad("q must be 1 to 200 characters".into()));
        }
    }
    if let Some(p) = &q.province {
        if p.trim().is_empty() || p.chars().count() > 100 {
            return Err(bad("province must be 1 to 100 characters".into()));
        }
    }
    if let Some(a) = &q.after {
        SupplierId::new(a).map_err(|_| bad(format!("after={a:?} is not an OS ID")))?;
    }
    let permit = s.expensive()?;
    let log = s.log.clone();
    let max_records = s.config.max_verify_entries;
    Ok(Json(
        blocking(move || {
            let _permit = permit;
            log.suppliers(
                q.q.as_deref(),
                q.country.as_deref(),
                q.province.as_deref(),
                q.after.as_deref(),
                limit,
                max_records,
            )
        })
        .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExportQuery {
    format: Option<String>,
}

/// Every record as open data, streamed: JSON Lines (default) or CSV.
#[utoipa::path(get, path = "/v1/export",
    params(("format" = Option<String>, Query, description = "jsonl (default), csv, or untp (each record as a UNTP ConformityAttestation, JSON Lines)")),
    responses((status = 200, description = "One row per record: index, leaf_hash, logged_at, supplier, kind, topic, status, score, metrics, signers, verdict", content_type = "application/x-ndjson"),
        (status = "4XX", content_type = "application/problem+json", body = ProblemDoc)))]
pub(super) async fn export(
    State(s): State<Arc<AppState>>,
    Params(q): Params<ExportQuery>,
) -> ApiResult<Response> {
    let format = match q.format.as_deref() {
        None | Some("jsonl") => crate::log::Format::JsonLines,
        Some("csv") => crate::log::Format::Csv,
        Some("untp") => crate::log::Format::Untp,
        Some(other) => {
            return Err(Problem::bad_request(
                "bad-parameter",
                "Bad parameter",
                format!("format={other:?}: ask for jsonl, csv or untp"),
            ))
        }
    };
    s.log.registry()?;
    let permit = s.expensive()?;
    let log = s.log.clone();
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let mut out = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::new(),
        };
        if let Err(e) = log
            .view()
            .export(format, OffsetDateTime::now_utc(), &mut out)
        {
            // The status line is gone: cut the stream so the client sees it fail.
            tracing::error!(error = %e, "export failed");
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        )],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Sends what is written, in chunks of 64 KiB, to a response body.
pub(super) struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl std::io::Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= 1 << 16 {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })
    }
}

/// A topic named in a query.
pub(super) fn parse_topic(raw: &str) -> ApiResult<crate::statement::Topic> {
    serde_json::from_value(serde_json::Value::String(raw.to_owned())).map_err(|_| {
        Problem::bad_request(
            "bad-parameter",
            "Bad parameter",
            format!("{raw:?} is not a topic (wages, working_hours, health_safety, ..., other)"),
        )
    })
}

/// The `limit` query parameter: 1 to [`MAX_PAGE`], 100 when absent.
pub(super) fn page_limit(raw: Option<&str>) -> ApiResult<usize> {
    match raw {
        None => Ok(100),
        Some(l) => parse_index(l)
            .ok()
            .and_then(|l| usize::try_from(l).ok())
            .filter(|l| (1..=MAX_PAGE).contains(l))
            .ok_or_else(|| {
                Problem::bad_request(
                    "bad-parameter",
                    "Bad parameter",
                    format!("limit must be 1 to {MAX_PAGE}, not {l:?}"),
                )
            }),
    }
}

/// The registry: every participant, its roles and keys, and the governance threshold.
#[utoipa::path(get, path = "/v1/participants", responses((status = 200, description = "threshold and participants")))]
pub(super) async fn participants(
    State(s): State<Arc<AppState>>,
) -> ApiResult<Json<serde_json::Value>> {
    let registry = s.log.registry()?;
    Ok(Json(json!({
        "threshold": registry.threshold,
        "participants": registry.participants.values().collect::<Vec<_>>(),
    })))
}

/// One participant.
#[utoipa::path(get, path = "/v1/participants/{id}", params(("id" = String, Path, description = "Participant id")),
    responses((status = 200, description = "The participant"), (status = 404, content_type = "application/problem+json", body = ProblemDoc)))]
pub(super) async fn participant(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let registry = s.log.registry()?;
    let p = registry
        .participants
        .get(&id)
        .ok_or_else(|| Problem::not_found(format!("no participant {id:?}")))?;
    Ok(Json(serde_json::to_value(p).map_err(|e| {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            e.to_string(),
        )
    })?))
}
