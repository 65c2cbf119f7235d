//! `POST /v1/verify`: a bundle or a supplier's history, verified with the same code
//! clients run.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use time::OffsetDateTime;

use crate::bundle::Bundle;
use crate::statement::SupplierId;
use crate::verify;

use super::problems::{too_large, ApiResult, Problem, ProblemDoc};
use super::read::blocking;
use super::submit::json_body;
use super::{AppState, MAX_VERIFY_BODY};

/// `POST /v1/verify`: `{"bundle": {...}}` or `{"supplier": "<OS ID>"}` (a history of at
/// most [`ServerConfig::max_verify_entries`] entries).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct VerifyRequest {
    bundle: Option<Bundle>,
    supplier: Option<String>,
}

/// Verify a bundle, or a supplier's history, with the same code clients run.
#[utoipa::path(post, path = "/v1/verify", request_body(content = VerifyRequest, content_type = "application/json"),
    responses((status = 200, description = "A report (Report for a bundle, HistoryReport for a supplier)", body = crate::verify::Report),
              (status = "4XX", content_type = "application/problem+json", body = ProblemDoc)))]
pub(super) async fn verify_request(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    // A bundle carries the whole registry chain: allow more than a submission.
    let bytes = json_body(&headers, body, MAX_VERIFY_BODY, s.config.body_read_timeout).await?;
    let req: VerifyRequest = serde_json::from_slice(&bytes).map_err(|e| {
        Problem::bad_request("malformed-request", "Malformed request", e.to_string())
    })?;
    let key = s.log.verifier().clone();
    let now = OffsetDateTime::now_utc();
    let permit = s.expensive()?;
    let log = s.log.clone();
    let cap = s.config.max_verify_entries;
    // Verification is CPU work (signatures, registry replay): off the async threads.
    match (req.bundle, req.supplier) {
        (Some(b), None) => {
            let report = blocking(move || {
                let _permit = permit;
                let mut report = verify::verify_bundle(&b, &key, now);
                // Newer records about the supplier: from its complete history here.
                let Some(subject) = report.subject.clone() else {
                    return Ok(report);
                };
                if report.verdict == verify::Verdict::Invalid {
                    return Ok(report);
                }
                let served = log.view().history(&subject, None, cap)?;
                if served.next_before.is_some() {
                    report.notes.push(format!(
                        "{subject} has more than {cap} entries, too many to check here: fetch its history (vouch verify --url, vouch history)"
                    ));
                    return Ok(report);
                }
                let history = verify::verify_history(&served, &subject, &key, now);
                if let Err(why) = verify::apply_history(&mut report, &b, &served, &history) {
                    report.notes.push(format!("newer records not checked: {why}"));
                }
                Ok(report)
            })
            .await?;
            Ok(Json(report).into_response())
        }
        (None, Some(id)) => {
            let id = SupplierId::new(&id).map_err(|e| {
                Problem::bad_request("bad-supplier-id", "Bad supplier id", e.to_string())
            })?;
            let report = blocking(move || {
                let _permit = permit;
                let h = log.view().history(id.as_str(), None, cap)?;
                if h.next_before.is_some() {
                    return Ok(Err(too_large(id.as_str(), cap)));
                }
                Ok(Ok(verify::verify_history(&h, id.as_str(), &key, now)))
            })
            .await??;
            Ok(Json(report).into_response())
        }
        _ => Err(Problem::bad_request(
            "malformed-request",
            "Malformed request",
            "send exactly one of \"bundle\" and \"supplier\"",
        )),
    }
}
