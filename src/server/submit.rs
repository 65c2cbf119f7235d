//! Submissions: bounded request bodies, then the log's receipt with its inclusion proof.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::bundle::Receipt;
use crate::entry::encode_hash;
use crate::log::{LogError, Payload};
use crate::policy::PolicyError;

use super::metrics::LATENCY_BUCKETS_MS;
use super::problems::{ApiResult, Problem, ProblemDoc};
use super::{AppState, MAX_BODY};

/// Reads a JSON request body: the content type must be JSON and the body at most
/// `limit` bytes.
///
/// A body over the limit is refused with 413 before a byte of it is read when its
/// `Content-Length` says so (and no `100 Continue` is sent). A client that sends its body
/// without waiting for `100 Continue` is still sending when the answer goes out; the
/// server reads on and drops up to [`DRAIN`] bytes so that such a client reads the
/// problem instead of a connection reset (a socket closed with unread data resets).
pub(super) async fn json_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    timeout: Duration,
) -> ApiResult<Bytes> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let too_large = || {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Request body too large",
            format!("this request body is limited to {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let refused = if mime != "application/json"
        && !(mime.starts_with("application/") && mime.ends_with("+json"))
    {
        Some(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            format!("send JSON (application/json), not {content_type:?}"),
        ))
    } else if declared.is_some_and(|n| n > limit as u64) {
        Some(too_large())
    } else {
        None
    };
    if let Some(problem) = refused {
        let waiting = headers
            .get(header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        if !waiting && declared.is_none_or(|n| n <= DRAIN as u64) {
            let _ = tokio::time::timeout(timeout, read_limited(body, 0)).await;
        }
        return Err(problem);
    }
    match tokio::time::timeout(timeout, read_limited(body, limit)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(BodyError::TooLarge)) => Err(too_large()),
        Ok(Err(BodyError::Broken)) => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "The request body could not be read",
            "the connection failed or the body's framing was invalid".to_owned(),
        )),
        Err(_) => Err(Problem::new(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            "The request body came too slowly",
            format!(
                "a request body must arrive within {} s",
                timeout.as_secs_f64()
            ),
        )),
    }
}

/// How much of a refused request body is read and dropped before the answer is sent.
pub(super) const DRAIN: usize = 1 << 20;

pub(super) enum BodyError {
    TooLarge,
    Broken,
}

/// Reads a body of at most `limit` bytes; past the limit, reads on and drops up to
/// [`DRAIN`] bytes in all before answering `TooLarge`.
pub(super) async fn read_limited(mut body: Body, limit: usize) -> Result<Bytes, BodyError> {
    use http_body_util::BodyExt as _;
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Broken)?;
        let Some(data) = frame.data_ref() else {
            continue;
        };
        seen += data.len();
        if seen <= limit {
            kept.extend_from_slice(data);
        } else if seen > DRAIN {
            break;
        }
    }
    if seen > limit {
        return Err(BodyError::TooLarge);
    }
    Ok(Bytes::from(kept))
}

pub(super) fn proof_strings(proof: &[crate::merkle::Hash]) -> Vec<String> {
    proof.iter().map(encode_hash).collect()
}

pub(super) async fn submit(
    s: Arc<AppState>,
    headers: HeaderMap,
    body: Body,
    registry: bool,
) -> ApiResult<Response> {
    let bytes = json_body(&headers, body, MAX_BODY, s.config.body_read_timeout).await?;
    let started = Instant::now();
    let result = async {
        let signed = s.log.parse_submitted(&bytes)?;
        let is_registry = matches!(signed.payload, Payload::Registry(_));
        if is_registry != registry {
            return Err(LogError::Policy(PolicyError::WrongPayloadType));
        }
        let receipt = s.log.submit_signed(signed).await?;
        let size = receipt.head.size();
        let proof = match &receipt.inclusion_proof {
            Some(proof) => proof.clone(),
            None => s
                .log
                .view_of(receipt.head.clone())
                .inclusion_proof(receipt.index, size)?,
        };
        Ok(receipt_body(&receipt, size, &proof))
    }
    .await;
    let m = &s.metrics;
    let micros = started.elapsed().as_micros() as u64;
    m.submit_micros.fetch_add(micros, Ordering::Relaxed);
    if let Some(b) = LATENCY_BUCKETS_MS.iter().position(|ms| micros <= ms * 1000) {
        m.submit_latency[b].fetch_add(1, Ordering::Relaxed);
    }
    match result {
        Ok(receipt) => {
            let status = if receipt.duplicate {
                m.duplicates.fetch_add(1, Ordering::Relaxed);
                StatusCode::OK
            } else {
                m.accepted.fetch_add(1, Ordering::Relaxed);
                StatusCode::CREATED
            };
            Ok((status, Json(receipt)).into_response())
        }
        Err(e) => {
            m.refused.fetch_add(1, Ordering::Relaxed);
            Err(e.into())
        }
    }
}

pub(super) fn receipt_body(
    r: &crate::log::Receipt,
    size: u64,
    proof: &[crate::merkle::Hash],
) -> Receipt {
    Receipt {
        index: r.index,
        leaf_hash: encode_hash(&r.leaf_hash),
        duplicate: r.duplicate,
        tree_size: size,
        inclusion_proof: proof_strings(proof),
        checkpoint: r.head.signed.clone(),
    }
}

/// Submit a signed attestation (DSSE envelope, payload type application/vnd.vouch.statement+json).
#[utoipa::path(post, path = "/v1/attestations",
    request_body(content = crate::envelope::Envelope, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended and durable", body = Receipt),
        (status = 200, description = "Already in the log: the first submission's receipt", body = Receipt),
        (status = "4XX", description = "Refused; nothing stored", content_type = "application/problem+json", body = ProblemDoc)))]
pub(super) async fn submit_attestation(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    submit(s, headers, body, false).await
}

/// Submit a registry change signed by governance keys (payload type application/vnd.vouch.registry+json).
#[utoipa::path(post, path = "/v1/registry",
    request_body(content = crate::envelope::Envelope, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended and durable", body = Receipt),
        (status = 200, description = "Already in the log", body = Receipt),
        (status = "4XX", description = "Refused; nothing stored", content_type = "application/problem+json", body = ProblemDoc)))]
pub(super) async fn submit_registry(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    submit(s, headers, body, true).await
}
