//! The HTTP service (docs/design.md §9): C2SP tlog-tiles endpoints, submissions, entries,
//! proofs, supplier histories, the registry, verification, and operations.
//!
//! Every error is an RFC 9457 problem (`application/problem+json`) with a stable
//! `type` per kind of error; [`Problem::from`] is the one place where library errors
//! meet HTTP statuses.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use crate::bundle::{Bundle, History, Receipt};
use crate::entry::encode_hash;
use crate::envelope::EnvelopeError;
use crate::log::{Log, LogError, Payload, Signed};
use crate::policy::PolicyError;
use crate::statement::SupplierId;
use crate::store::StoreError;
use crate::tiles::{TileError, TilePath};
use crate::verify;

mod web;

/// The largest request body.
pub const MAX_BODY: usize = 64 * 1024;
/// The largest `POST /v1/verify` body: a bundle carries the registry chain.
pub const MAX_VERIFY_BODY: usize = 8 * 1024 * 1024;
/// The most entries one history page holds.
pub const MAX_PAGE: usize = 500;
/// The limits that keep every request's work bounded (defaults in brackets).
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// How long a request may take, its body included [30 s].
    pub request_timeout: Duration,
    /// How long a client may take to send a request's headers, counted from when it
    /// connects and again after each response, so it is also the idle timeout (hyper
    /// has one setting for both). Shorter closes pooled client connections as they are
    /// reused: at 10 s the HTTP bench's client lost requests to that race [30 s].
    pub header_read_timeout: Duration,
    /// How long a client may take to send a request body [10 s].
    pub body_read_timeout: Duration,
    /// How long a write of a response may make no progress (a client that does not
    /// read) before the connection is closed [30 s].
    pub write_timeout: Duration,
    /// Connections held at once; a new one past this is closed at once [8192].
    pub max_connections: usize,
    /// Expensive requests (verification, histories, bundles) served at once; more get
    /// 503 with `Retry-After`. They are CPU work: more at once than a few per core buys
    /// no throughput, only memory [8].
    pub max_expensive: usize,
    /// How long a shutdown waits for requests in flight before it closes their
    /// connections [5 s].
    pub shutdown_grace: Duration,
    /// The most entries `POST /v1/verify` verifies for one supplier; a longer history
    /// is refused, to be paged and verified by the client [500].
    pub max_verify_entries: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            request_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            max_connections: 8192,
            max_expensive: 8,
            shutdown_grace: Duration::from_secs(5),
            max_verify_entries: MAX_PAGE,
        }
    }
}

/// An RFC 9457 problem.
#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    /// Stable: the last part of the `type` URI, `/problems/<slug>`.
    pub slug: &'static str,
    pub title: &'static str,
    pub detail: String,
    /// Seconds for a `Retry-After` header (503s).
    pub retry_after: Option<u32>,
}

/// What a 503 asks the client to wait before trying again.
pub const RETRY_AFTER_SECONDS: u32 = 1;

impl Problem {
    fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Problem {
            status,
            slug,
            title,
            detail: detail.into(),
            retry_after: None,
        }
    }

    fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    fn bad_request(slug: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, slug, title, detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = json!({
            "type": format!("/problems/{}", self.slug),
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        let mut r = (self.status, body.to_string()).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        r
    }
}

impl From<LogError> for Problem {
    fn from(e: LogError) -> Self {
        use StatusCode as S;
        let detail = e.to_string();
        let (status, slug, title) = match &e {
            LogError::Envelope(EnvelopeError::BadSignature(_)) => (
                S::BAD_REQUEST,
                "bad-signature",
                "A signature does not verify",
            ),
            LogError::Envelope(EnvelopeError::UnknownPayloadType(_)) => (
                S::BAD_REQUEST,
                "wrong-payload-type",
                "Payload type not accepted here",
            ),
            LogError::Envelope(EnvelopeError::TooLarge) => (
                S::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Request body too large",
            ),
            LogError::Envelope(_) => (
                S::BAD_REQUEST,
                "malformed-envelope",
                "Malformed DSSE envelope",
            ),
            LogError::Statement(_) => (
                S::UNPROCESSABLE_ENTITY,
                "invalid-statement",
                "Invalid statement",
            ),
            LogError::Tile(TileError::EntryTooLong(_)) => (
                S::UNPROCESSABLE_ENTITY,
                "entry-too-large",
                "Entry too large for the log",
            ),
            LogError::Policy(PolicyError::UnknownKey(_)) => {
                (S::FORBIDDEN, "unknown-key", "Unknown signing key")
            }
            LogError::Policy(PolicyError::KeyNotActive(_)) => (
                S::FORBIDDEN,
                "key-not-active",
                "Signing key revoked or participant removed",
            ),
            LogError::Policy(
                PolicyError::MissingRef(_)
                | PolicyError::RefHashMismatch(_)
                | PolicyError::RefOtherSubject { .. },
            ) => (
                S::UNPROCESSABLE_ENTITY,
                "bad-reference",
                "Bad reference to an entry",
            ),
            LogError::Policy(PolicyError::FutureIssuedAt(_)) => (
                S::UNPROCESSABLE_ENTITY,
                "issued-in-future",
                "issued_at is in the future",
            ),
            LogError::Policy(PolicyError::WrongPayloadType) => (
                S::BAD_REQUEST,
                "wrong-payload-type",
                "Payload type not accepted here",
            ),
            LogError::Policy(_) => (S::FORBIDDEN, "not-authorised", "Signer not authorised"),
            LogError::Registry(_) => (
                S::CONFLICT,
                "registry-conflict",
                "Registry change does not apply",
            ),
            LogError::IndexOutOfRange { .. }
            | LogError::SizeOutOfRange { .. }
            | LogError::TileNotFound(_)
            | LogError::NoCheckpoint(_) => (S::NOT_FOUND, "not-found", "Not found"),
            LogError::SizesReversed { .. } => (S::BAD_REQUEST, "bad-range", "Bad range"),
            LogError::TooManyRecords { supplier, max, .. } => {
                return too_large(supplier, *max);
            }
            LogError::NotALedger | LogError::IsALedger | LogError::ReadOnly => {
                (S::CONFLICT, "wrong-log", "Not possible on this log")
            }
            LogError::Closed
            | LogError::Unavailable(_)
            | LogError::Store(StoreError::Halted(_) | StoreError::Backend(_)) => (
                S::SERVICE_UNAVAILABLE,
                "unavailable",
                "The log is not accepting submissions",
            ),
            LogError::Store(StoreError::Corrupt(_)) | LogError::Inconsistent(_) => (
                S::SERVICE_UNAVAILABLE,
                "corrupt",
                "Stored data does not match the log's signed checkpoint",
            ),
            LogError::Store(StoreError::NotAppendOnly { .. } | StoreError::BadSubject(_))
            | LogError::Tile(_)
            | LogError::Note(_)
            | LogError::NotInitialised
            | LogError::AlreadyInitialised
            | LogError::WrongKey { .. } => (S::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
        };
        if status.is_server_error() {
            tracing::error!(error = %e, "request failed");
        }
        let mut p = Problem::new(status, slug, title, detail);
        if status == S::SERVICE_UNAVAILABLE {
            p.retry_after = Some(RETRY_AFTER_SECONDS);
        }
        p
    }
}

type ApiResult<T> = Result<T, Problem>;

/// Upper bounds, in milliseconds, of the submission latency histogram.
const LATENCY_BUCKETS_MS: [u64; 10] = [1, 2, 5, 10, 25, 50, 100, 250, 1000, 10_000];

/// Counters for `/metrics`.
#[derive(Default)]
pub struct Metrics {
    accepted: AtomicU64,
    duplicates: AtomicU64,
    refused: AtomicU64,
    submit_micros: AtomicU64,
    /// Submission latencies: bucket `i` counts those up to `LATENCY_BUCKETS_MS[i]`.
    submit_latency: [AtomicU64; LATENCY_BUCKETS_MS.len()],
    requests: AtomicU64,
    client_errors: AtomicU64,
    server_errors: AtomicU64,
}

struct AppState {
    log: Arc<Log>,
    metrics: Metrics,
    /// Permits for expensive requests.
    expensive: Arc<tokio::sync::Semaphore>,
    config: ServerConfig,
}

impl AppState {
    /// A permit for an expensive request, or a 503 that asks the client to come back.
    /// The permit goes into the blocking work, so that it is held until the work ends
    /// even when the request times out or its client goes away.
    fn expensive(&self) -> ApiResult<tokio::sync::OwnedSemaphorePermit> {
        self.expensive.clone().try_acquire_owned().map_err(|_| {
            let mut p = Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "Too many expensive requests at once",
                format!(
                    "at most {} verifications, histories and bundles are served at once; try again shortly",
                    self.config.max_expensive
                ),
            );
            p.retry_after = Some(RETRY_AFTER_SECONDS);
            p
        })
    }
}

/// The OpenAPI document's frame; the paths come from the handlers' annotations.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "vouch",
        description = "A public, tamper-evident ledger of supplier performance records. Besides the routes below, the log serves C2SP tlog-tiles: GET /tile/<L>/<N>[.p/<W>] (hash tiles) and GET /tile/entries/<N>[.p/<W>] (entry bundles), application/octet-stream, immutable once full. Errors are RFC 9457 problem details (application/problem+json) whose type is /problems/<slug>."
    ),
    components(schemas(ProblemDoc))
)]
struct ApiDoc;

/// An RFC 9457 problem, as the API returns it.
#[derive(Serialize, utoipa::ToSchema)]
struct ProblemDoc {
    /// `/problems/<slug>`, stable per kind of error.
    #[serde(rename = "type")]
    kind: String,
    title: String,
    status: u16,
    detail: String,
}

/// The routes of the API and its OpenAPI 3.1 document, from one list of handlers.
fn api() -> (Router<Arc<AppState>>, utoipa::openapi::OpenApi) {
    use utoipa::OpenApi as _;
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(checkpoint))
        .routes(routes!(log_info))
        .routes(routes!(submit_attestation))
        .routes(routes!(submit_registry))
        .routes(routes!(entry_bundle))
        .routes(routes!(inclusion))
        .routes(routes!(consistency))
        .routes(routes!(history))
        .routes(routes!(supplier_standing))
        .routes(routes!(supplier_directory))
        .routes(routes!(export))
        .routes(routes!(participants))
        .routes(routes!(participant))
        .routes(routes!(verify_request))
        .routes(routes!(healthz))
        .routes(routes!(metrics))
        .split_for_parts()
}

/// The OpenAPI 3.1 document served at `/openapi.json`.
pub fn openapi_json() -> String {
    api()
        .1
        .to_pretty_json()
        .expect("the OpenAPI document serializes")
}

/// The service's routes over `log`, with the default limits.
pub fn router(log: Arc<Log>) -> Router {
    router_with(log, ServerConfig::default())
}

/// The service's routes over `log`.
pub fn router_with(log: Arc<Log>, config: ServerConfig) -> Router {
    let timeout = config.request_timeout;
    let state = Arc::new(AppState {
        log,
        metrics: Metrics::default(),
        expensive: Arc::new(tokio::sync::Semaphore::new(config.max_expensive)),
        config,
    });
    let (routes, _) = api();
    let doc = openapi_json();
    routes
        .route("/tile/{*path}", get(tile))
        .route(
            "/openapi.json",
            get(move || async move { with_type(doc, "application/json", "public, max-age=300") }),
        )
        .merge(web::routes())
        .fallback(web::not_found)
        .method_not_allowed_fallback(|| async {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                "this route does not take that method",
            )
        })
        .layer(axum::middleware::from_fn(problems))
        .layer(axum::middleware::from_fn_with_state(state.clone(), count))
        .layer(axum::middleware::from_fn_with_state(
            timeout,
            request_timeout,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http().on_failure(()))
        .with_state(state)
}

/// Ends a request that takes longer than [`ServerConfig::request_timeout`] with a problem.
async fn request_timeout(
    State(timeout): State<Duration>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "The request took too long",
            format!("requests are ended after {} s", timeout.as_secs_f64()),
        )
        .into_response(),
    }
}

/// Turns an error response that is not a problem yet (an extractor's plain-text
/// rejection) into one, so that every error is `application/problem+json`.
async fn problems(req: Request, next: axum::middleware::Next) -> Response {
    let r = next.run(req).await;
    // Our own errors are problems already, and `/healthz` answers 503 with its own
    // JSON document: only plain-text rejections are rewritten.
    let plain = r
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|v| v.as_bytes().starts_with(b"text/plain"));
    if !(r.status().is_client_error() || r.status().is_server_error()) || !plain {
        return r;
    }
    let status = r.status();
    let detail = match to_bytes(r.into_body(), 4096).await {
        Ok(b) if !b.is_empty() => String::from_utf8_lossy(&b).into_owned(),
        _ => status.canonical_reason().unwrap_or("error").to_owned(),
    };
    let (slug, title) = match status {
        StatusCode::BAD_REQUEST => ("bad-request", "Bad request"),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload-too-large", "Request body too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported-media-type", "Unsupported media type"),
        StatusCode::REQUEST_TIMEOUT => ("timeout", "The request took too long"),
        s if s.is_client_error() => ("bad-request", "Bad request"),
        _ => ("internal", "Internal error"),
    };
    Problem::new(status, slug, title, detail).into_response()
}

/// [`serve_with`] the default limits.
///
/// # Errors
/// When the log cannot be closed.
pub async fn serve(
    listener: tokio::net::TcpListener,
    log: Arc<Log>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, log, ServerConfig::default(), shutdown).await
}

/// Serves `router_with(log, config)` on `listener` until `shutdown` resolves, then
/// stops taking connections, gives requests in flight
/// [`ServerConfig::shutdown_grace`] to finish, closes every connection and closes the
/// log (every acknowledged entry is already durable).
///
/// Each connection speaks HTTP/1.1 and has [`ServerConfig::header_read_timeout`] to
/// send a request's headers (from when it connects, and again after each response: an
/// idle connection is closed), so clients that stall hold neither the server nor its
/// shutdown. At most [`ServerConfig::max_connections`] are held.
///
/// # Errors
/// When the log cannot be closed.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    log: Arc<Log>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let grace = config.shutdown_grace;
    let write_timeout = config.write_timeout;
    let mut tasks = tokio::task::JoinSet::new();
    let connections = Arc::new(tokio::sync::Semaphore::new(config.max_connections));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .keep_alive(true);
    let app = router_with(log.clone(), config);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before accept:
                    // wait a little instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let mut stream = tokio_io_timeout::TimeoutStream::new(stream);
        stream.set_write_timeout(Some(write_timeout));
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let conn = graceful.watch(http.serve_connection(TokioIo::new(Box::pin(stream)), service));
        tasks.spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
        // Reap finished connections as we go.
        while tasks.try_join_next().is_some() {}
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            connections = tasks.len(),
            "closing connections whose requests did not finish in time"
        );
    }
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    tokio::task::spawn_blocking(move || log.close())
        .await
        .map_err(std::io::Error::other)?;
    Ok(())
}

async fn count(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    let r = next.run(req).await;
    let m = &state.metrics;
    m.requests.fetch_add(1, Ordering::Relaxed);
    if r.status().is_client_error() {
        m.client_errors.fetch_add(1, Ordering::Relaxed);
    } else if r.status().is_server_error() {
        m.server_errors.fetch_add(1, Ordering::Relaxed);
    }
    r
}

fn with_type(body: impl Into<Body>, content_type: &'static str, cache: &'static str) -> Response {
    let mut r = Response::new(body.into());
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    r
}

/// The latest signed checkpoint (C2SP tlog-checkpoint).
#[utoipa::path(get, path = "/checkpoint", tag = "tiles",
    responses((status = 200, description = "The signed checkpoint", content_type = "text/plain; charset=utf-8", body = String)))]
async fn checkpoint(State(s): State<Arc<AppState>>) -> Response {
    with_type(
        s.log.head().signed.clone(),
        "text/plain; charset=utf-8",
        "public, max-age=2",
    )
}

async fn tile(State(s): State<Arc<AppState>>, Path(path): Path<String>) -> ApiResult<Response> {
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
struct LogInfo {
    origin: String,
    verifier_key: String,
    tree_size: u64,
    checkpoint: String,
}

/// The log's origin, public key and size.
#[utoipa::path(get, path = "/v1/log", responses((status = 200, body = LogInfo)))]
async fn log_info(State(s): State<Arc<AppState>>) -> Json<LogInfo> {
    let head = s.log.head();
    Json(LogInfo {
        origin: s.log.origin().to_owned(),
        verifier_key: s.log.verifier().to_string(),
        tree_size: head.size(),
        checkpoint: head.signed.clone(),
    })
}

/// Reads a JSON request body: the content type must be JSON and the body at most
/// `limit` bytes.
///
/// A body over the limit is refused with 413 before a byte of it is read when its
/// `Content-Length` says so (and no `100 Continue` is sent). A client that sends its body
/// without waiting for `100 Continue` is still sending when the answer goes out; the
/// server reads on and drops up to [`DRAIN`] bytes so that such a client reads the
/// problem instead of a connection reset (a socket closed with unread data resets).
async fn json_body(
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
const DRAIN: usize = 1 << 20;

enum BodyError {
    TooLarge,
    Broken,
}

/// Reads a body of at most `limit` bytes; past the limit, reads on and drops up to
/// [`DRAIN`] bytes in all before answering `TooLarge`.
async fn read_limited(mut body: Body, limit: usize) -> Result<Bytes, BodyError> {
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

fn proof_strings(proof: &[crate::merkle::Hash]) -> Vec<String> {
    proof.iter().map(encode_hash).collect()
}

async fn submit(
    s: Arc<AppState>,
    headers: HeaderMap,
    body: Body,
    registry: bool,
) -> ApiResult<Response> {
    let bytes = json_body(&headers, body, MAX_BODY, s.config.body_read_timeout).await?;
    let started = Instant::now();
    let result = async {
        let signed = Signed::parse(&bytes)?;
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

fn receipt_body(r: &crate::log::Receipt, size: u64, proof: &[crate::merkle::Hash]) -> Receipt {
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
async fn submit_attestation(
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
async fn submit_registry(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    submit(s, headers, body, true).await
}

/// A query string, or a problem that says what is wrong with it (an unknown, repeated
/// or malformed parameter).
struct Params<T>(T);

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

fn parse_index(raw: &str) -> ApiResult<u64> {
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

fn bundle(log: &Log, index: u64) -> Result<Bundle, LogError> {
    log.view().bundle(index)
}

/// Runs a short read (a proof: microseconds of cached reads) on the async thread.
fn inline<T>(f: impl FnOnce() -> Result<T, LogError>) -> ApiResult<T> {
    f().map_err(Problem::from)
}

async fn blocking<T: Send + 'static>(
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
async fn entry_bundle(
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
struct InclusionQuery {
    index: Option<String>,
    size: Option<String>,
}

fn required(value: Option<&str>, name: &str) -> ApiResult<u64> {
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
async fn inclusion(
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
struct ConsistencyQuery {
    from: Option<String>,
    to: Option<String>,
}

/// A consistency proof between two tree sizes.
#[utoipa::path(get, path = "/v1/proofs/consistency",
    params(("from" = u64, Query, description = "Old tree size"), ("to" = Option<u64>, Query, description = "New tree size (default: latest)")),
    responses((status = 200, description = "from, to, consistency_proof, checkpoint"), (status = "4XX", content_type = "application/problem+json", body = ProblemDoc)))]
async fn consistency(
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
struct HistoryQuery {
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
async fn history(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    Params(q): Params<HistoryQuery>,
) -> ApiResult<Json<History>> {
    let id = SupplierId::new(&id)
        .map_err(|e| Problem::bad_request("bad-supplier-id", "Bad supplier id", e.to_string()))?;
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
            .history(id.as_str(), before, limit)
        })
        .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StandingQuery {
    topic: Option<String>,
}

/// A supplier's standing and the complete history it was computed from.
#[derive(Serialize, utoipa::ToSchema)]
struct StandingResponse {
    standing: crate::standing::SupplierStanding,
    /// Every entry about the supplier, with the index proof: recompute the standing
    /// from it (`vouch standing`) rather than trust it.
    history: History,
}

/// A supplier's current standing per topic, with the proof material to recompute it.
#[utoipa::path(get, path = "/v1/suppliers/{id}/standing",
    params(("id" = String, Path, description = "Open Supply Hub OS ID"),
        ("topic" = Option<String>, Query, description = "Only this topic (working_hours, chemicals, ...)")),
    responses((status = 200, body = StandingResponse), (status = "4XX", content_type = "application/problem+json", body = ProblemDoc)))]
async fn supplier_standing(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    Params(q): Params<StandingQuery>,
) -> ApiResult<Json<StandingResponse>> {
    let id = SupplierId::new(&id)
        .map_err(|e| Problem::bad_request("bad-supplier-id", "Bad supplier id", e.to_string()))?;
    let topic = q.topic.as_deref().map(parse_topic).transpose()?;
    let key = s.log.verifier().clone();
    let cap = s.config.max_verify_entries;
    let permit = s.expensive()?;
    let log = s.log.clone();
    blocking(move || {
        let _permit = permit;
        let Some(file) = log.supplier_file(&log.view(), id.as_str(), cap)? else {
            // No record: the complete (empty) history, with its proof of absence.
            let history = log.view().history(id.as_str(), None, cap)?;
            let report =
                verify::verify_history(&history, id.as_str(), &key, OffsetDateTime::now_utc());
            let standing = crate::standing::standing(&report, OffsetDateTime::now_utc())
                .map_err(|e| LogError::Inconsistent(e.to_string()))?;
            return Ok(Json(StandingResponse { standing, history }));
        };
        let mut standing = file.standing.clone();
        if let Some(t) = topic {
            standing.topics.retain(|k, _| *k == t);
        }
        Ok(Json(StandingResponse {
            standing,
            history: file.history.clone(),
        }))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DirectoryQuery {
    q: Option<String>,
    country: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

/// The supplier directory: every supplier with records, searchable by OS ID or name.
#[utoipa::path(get, path = "/v1/suppliers",
    params(("q" = Option<String>, Query, description = "The start of an OS ID, or part of a name (any case)"),
        ("country" = Option<String>, Query, description = "ISO 3166-1 alpha-2 code"),
        ("after" = Option<String>, Query, description = "The previous page's next_after"),
        ("limit" = Option<usize>, Query, description = "Page size, 1 to 500 (default 100)")),
    responses((status = 200, body = crate::log::SupplierPage), (status = "4XX", content_type = "application/problem+json", body = ProblemDoc)))]
async fn supplier_directory(
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
struct ExportQuery {
    format: Option<String>,
}

/// Every record as open data, streamed: JSON Lines (default) or CSV.
#[utoipa::path(get, path = "/v1/export",
    params(("format" = Option<String>, Query, description = "jsonl (default) or csv")),
    responses((status = 200, description = "One row per record: index, leaf_hash, logged_at, supplier, kind, topic, status, score, metrics, signers, verdict", content_type = "application/x-ndjson"),
        (status = "4XX", content_type = "application/problem+json", body = ProblemDoc)))]
async fn export(
    State(s): State<Arc<AppState>>,
    Params(q): Params<ExportQuery>,
) -> ApiResult<Response> {
    let format = match q.format.as_deref() {
        None | Some("jsonl") => crate::log::Format::JsonLines,
        Some("csv") => crate::log::Format::Csv,
        Some(other) => {
            return Err(Problem::bad_request(
                "bad-parameter",
                "Bad parameter",
                format!("format={other:?}: ask for jsonl or csv"),
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
struct ChannelWriter {
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
fn parse_topic(raw: &str) -> ApiResult<crate::statement::Topic> {
    serde_json::from_value(serde_json::Value::String(raw.to_owned())).map_err(|_| {
        Problem::bad_request(
            "bad-parameter",
            "Bad parameter",
            format!("{raw:?} is not a topic (wages, working_hours, health_safety, ..., other)"),
        )
    })
}

fn too_large(id: &str, cap: usize) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "history-too-large",
        "History too large to verify here",
        format!(
            "{id} has more than {cap} entries: fetch its history page by page and verify it yourself (vouch history, vouch standing)"
        ),
    )
}

/// The `limit` query parameter: 1 to [`MAX_PAGE`], 100 when absent.
fn page_limit(raw: Option<&str>) -> ApiResult<usize> {
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
async fn participants(State(s): State<Arc<AppState>>) -> ApiResult<Json<serde_json::Value>> {
    let registry = s.log.registry()?;
    Ok(Json(json!({
        "threshold": registry.threshold,
        "participants": registry.participants.values().collect::<Vec<_>>(),
    })))
}

/// One participant.
#[utoipa::path(get, path = "/v1/participants/{id}", params(("id" = String, Path, description = "Participant id")),
    responses((status = 200, description = "The participant"), (status = 404, content_type = "application/problem+json", body = ProblemDoc)))]
async fn participant(
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

/// `POST /v1/verify`: `{"bundle": {...}}` or `{"supplier": "<OS ID>"}` (a history of at
/// most [`ServerConfig::max_verify_entries`] entries).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct VerifyRequest {
    bundle: Option<Bundle>,
    supplier: Option<String>,
}

/// Verify a bundle, or a supplier's history, with the same code clients run.
#[utoipa::path(post, path = "/v1/verify", request_body(content = VerifyRequest, content_type = "application/json"),
    responses((status = 200, description = "A report (Report for a bundle, HistoryReport for a supplier)", body = crate::verify::Report),
              (status = "4XX", content_type = "application/problem+json", body = ProblemDoc)))]
async fn verify_request(
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

/// Whether the log takes writes.
#[derive(Serialize, utoipa::ToSchema)]
struct Health {
    /// `ok`, or `not accepting writes`.
    status: &'static str,
    /// Why not, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// Whether only a restart can end it (storage may hold a batch the index lacks, or
    /// stored data is corrupt); otherwise the log retries storage every second.
    #[serde(skip_serializing_if = "Option::is_none")]
    until_restart: Option<bool>,
    tree_size: u64,
}

/// Health: 200 while the log takes writes; 503, with the reason, while it does not.
/// Reads are served either way.
#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Health), (status = 503, body = Health)))]
async fn healthz(State(s): State<Arc<AppState>>) -> Response {
    let tree_size = s.log.head().size();
    let (status, health) = match s.log.stopped() {
        None => (
            StatusCode::OK,
            Health {
                status: "ok",
                reason: None,
                until_restart: None,
                tree_size,
            },
        ),
        Some(stopped) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Health {
                status: "not accepting writes",
                reason: Some(stopped.reason),
                until_restart: Some(stopped.until_restart),
                tree_size,
            },
        ),
    };
    let mut r = (status, Json(health)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", responses((status = 200, content_type = "text/plain", body = String)))]
async fn metrics(State(s): State<Arc<AppState>>) -> Response {
    let m = &s.metrics;
    let stats = s.log.stats();
    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let mut out = String::new();
    fn metric(out: &mut String, name: &str, kind: &str, help: &str, lines: Vec<(String, u64)>) {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
        for (labels, v) in lines {
            out.push_str(&format!("{name}{labels} {v}\n"));
        }
    }
    metric(
        &mut out,
        "vouch_submissions_total",
        "counter",
        "Envelopes submitted, by outcome.",
        vec![
            ("{outcome=\"accepted\"}".into(), get(&m.accepted)),
            ("{outcome=\"duplicate\"}".into(), get(&m.duplicates)),
            ("{outcome=\"refused\"}".into(), get(&m.refused)),
        ],
    );
    let submissions = get(&m.accepted) + get(&m.duplicates) + get(&m.refused);
    let mut cumulative = 0;
    let mut latency: Vec<(String, u64)> = LATENCY_BUCKETS_MS
        .iter()
        .zip(&m.submit_latency)
        .map(|(ms, n)| {
            cumulative += get(n);
            (
                format!("_bucket{{le=\"{}\"}}", *ms as f64 / 1000.0),
                cumulative,
            )
        })
        .collect();
    latency.push(("_bucket{le=\"+Inf\"}".into(), submissions));
    latency.push(("_count".into(), submissions));
    out.push_str("# HELP vouch_submission_seconds Time from a submission's arrival to its durable receipt.\n# TYPE vouch_submission_seconds histogram\n");
    for (suffix, v) in latency {
        out.push_str(&format!("vouch_submission_seconds{suffix} {v}\n"));
    }
    out.push_str(&format!(
        "vouch_submission_seconds_sum {}\n",
        get(&m.submit_micros) as f64 / 1e6
    ));
    metric(
        &mut out,
        "vouch_http_requests_total",
        "counter",
        "HTTP requests, by class of status.",
        vec![
            ("{class=\"all\"}".into(), get(&m.requests)),
            ("{class=\"4xx\"}".into(), get(&m.client_errors)),
            ("{class=\"5xx\"}".into(), get(&m.server_errors)),
        ],
    );
    metric(
        &mut out,
        "vouch_batches_total",
        "counter",
        "Batches committed (one flush and one checkpoint each).",
        vec![(String::new(), stats.batches)],
    );
    metric(
        &mut out,
        "vouch_batched_entries_total",
        "counter",
        "Entries committed in batches.",
        vec![(String::new(), stats.entries)],
    );
    let mut buckets = Vec::new();
    let mut cumulative = 0;
    for (i, n) in stats.batch_sizes.iter().enumerate() {
        cumulative += n;
        buckets.push((format!("_bucket{{le=\"{}\"}}", 1u64 << i), cumulative));
    }
    buckets.push(("_bucket{le=\"+Inf\"}".into(), stats.batches));
    out.push_str(
        "# HELP vouch_batch_size Entries per committed batch.\n# TYPE vouch_batch_size histogram\n",
    );
    for (suffix, v) in buckets {
        out.push_str(&format!("vouch_batch_size{suffix} {v}\n"));
    }
    out.push_str(&format!(
        "vouch_batch_size_sum {}\nvouch_batch_size_count {}\n",
        stats.entries, stats.batches
    ));
    metric(
        &mut out,
        "vouch_corruptions_total",
        "counter",
        "Reads refused because stored bytes did not match a checkpoint the log signed.",
        vec![(String::new(), stats.corruptions)],
    );
    metric(
        &mut out,
        "vouch_accepting_writes",
        "gauge",
        "1 while the log takes writes, 0 while storage has stopped it.",
        vec![(String::new(), u64::from(s.log.stopped().is_none()))],
    );
    out.push_str(&format!("# HELP vouch_tree_size Entries in the log.\n# TYPE vouch_tree_size gauge\nvouch_tree_size {}\n", s.log.head().size()));
    with_type(out, "text/plain; version=0.0.4; charset=utf-8", "no-store")
}
