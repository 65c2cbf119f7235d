//! C2SP tlog-tiles: the checkpoint, hash tiles and entry bundles; the log's description.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::Json;
use serde::Serialize;

use crate::tiles::TilePath;

use super::problems::{ApiResult, Problem};
use super::AppState;

pub(super) fn with_type(
    body: impl Into<Body>,
    content_type: &'static str,
    cache: &'static str,
) -> Response {
    let mut r = Response::new(body.into());
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    r
}

/// The newest checkpoint the log holds witness cosignatures for (of the most witnesses),
/// with them: what a client that requires cosignatures fetches histories and proofs
/// at (`?size=`).
#[utoipa::path(get, path = "/v1/checkpoint/cosigned",
    responses((status = 200, description = "The signed checkpoint with its cosignature lines", content_type = "text/plain; charset=utf-8", body = String),
        (status = 404, content_type = "application/problem+json", body = super::ProblemDoc)))]
pub(super) async fn cosigned_checkpoint(State(s): State<Arc<AppState>>) -> ApiResult<Response> {
    let note = s.log.newest_cosigned().ok_or_else(|| {
        Problem::not_found(if s.log.witnesses().is_empty() {
            "this log sends its checkpoints to no witness"
        } else {
            "no witness has cosigned a checkpoint of this log since it started"
        })
    })?;
    Ok(with_type(
        note,
        "text/plain; charset=utf-8",
        "public, max-age=2",
    ))
}

/// The latest signed checkpoint (C2SP tlog-checkpoint), with the witnesses'
/// cosignatures the log holds for it.
#[utoipa::path(get, path = "/checkpoint", tag = "tiles",
    responses((status = 200, description = "The signed checkpoint", content_type = "text/plain; charset=utf-8", body = String)))]
pub(super) async fn checkpoint(State(s): State<Arc<AppState>>) -> Response {
    let head = s.log.head();
    with_type(
        s.log.with_cosignatures(head.size(), &head.signed),
        "text/plain; charset=utf-8",
        "public, max-age=2",
    )
}

pub(super) async fn tile(
    State(s): State<Arc<AppState>>,
    Path(path): Path<String>,
) -> ApiResult<Response> {
    let tile = TilePath::parse(&format!("tile/{path}"))
        .map_err(|e| Problem::bad_request("bad-tile-path", "Malformed tile path", e.to_string()))?;
    // A tile is one or a few reads of cached rows: cheaper here than a hand-off to
    // the blocking pool.
    let bytes = s.log.view().tile(&tile)?;
    let cache = if tile.is_full() {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=2"
    };
    Ok(with_type(bytes, "application/octet-stream", cache))
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct LogInfo {
    origin: String,
    verifier_key: String,
    tree_size: u64,
    checkpoint: String,
}

/// The log's origin, public key and size.
#[utoipa::path(get, path = "/v1/log", responses((status = 200, body = LogInfo)))]
pub(super) async fn log_info(State(s): State<Arc<AppState>>) -> Json<LogInfo> {
    let head = s.log.head();
    Json(LogInfo {
        origin: s.log.origin().to_owned(),
        verifier_key: s.log.verifier().to_string(),
        tree_size: head.size(),
        checkpoint: s.log.with_cosignatures(head.size(), &head.signed),
    })
}
