//! The HTTP service (docs/design.md §9): C2SP tlog-tiles endpoints, submissions, entries,
//! proofs, supplier histories, the registry, verification, operations, and the explorer's
//! pages.
//!
//! Every error is an RFC 9457 problem (`application/problem+json`) with a stable
//! `type` per kind of error; [`Problem::from`] is the one place where library errors
//! meet HTTP statuses.
//!
//! This file holds the limits, the shared state, the routes and the server loop; the
//! handlers live by job: `problems`, `metrics` (counters, `/healthz`, `/metrics`),
//! `tiles`, `submit`, `read`, `verify`, and `web` (the pages).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::log::Log;

mod metrics;
mod problems;
mod read;
mod submit;
mod tiles;
mod verify;
mod web;

use metrics::count;
pub use metrics::Metrics;
pub(crate) use problems::problems;
use problems::{ApiResult, ProblemDoc};
pub use problems::{Problem, RETRY_AFTER_SECONDS};
use tiles::{tile, with_type};

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

/// The routes of the API and its OpenAPI 3.1 document, from one list of handlers.
fn api() -> (Router<Arc<AppState>>, utoipa::openapi::OpenApi) {
    use utoipa::OpenApi as _;
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(tiles::checkpoint))
        .routes(routes!(tiles::log_info))
        .routes(routes!(tiles::cosigned_checkpoint))
        .routes(routes!(submit::submit_attestation))
        .routes(routes!(submit::submit_registry))
        .routes(routes!(read::entry_bundle))
        .routes(routes!(read::inclusion))
        .routes(routes!(read::consistency))
        .routes(routes!(read::history))
        .routes(routes!(read::supplier_standing))
        .routes(routes!(read::supplier_summary))
        .routes(routes!(read::buyer_history))
        .routes(routes!(read::buyer_standing))
        .routes(routes!(read::supplier_directory))
        .routes(routes!(read::export))
        .routes(routes!(read::participants))
        .routes(routes!(read::participant))
        .routes(routes!(verify::verify_request))
        .routes(routes!(metrics::healthz))
        .routes(routes!(metrics::metrics))
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
        .layer(
            // One line per request at the default level: method, route (the pattern,
            // not the path: no supplier ids or query strings), status, time. No bodies.
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let route = req
                        .extensions()
                        .get::<axum::extract::MatchedPath>()
                        .map_or("(no route)", axum::extract::MatchedPath::as_str);
                    tracing::info_span!("http", method = %req.method(), route)
                })
                .on_request(())
                .on_response(
                    |res: &axum::response::Response, latency: Duration, _: &tracing::Span| {
                        tracing::info!(
                            status = res.status().as_u16(),
                            micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
                            "answered"
                        );
                    },
                )
                .on_failure(()),
        )
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
    let (limits, app) = (config.clone(), router_with(log.clone(), config));
    // Every page verifies its registry chain: check the whole registry now, on a
    // thread of its own, so that the first reader does not wait for its signatures.
    let warm = log.clone();
    tokio::task::spawn_blocking(move || match warm.view().verify_registry() {
        Ok(n) => tracing::debug!(entries = n, "registry verified"),
        Err(crate::log::LogError::NotALedger) => {}
        Err(e) => tracing::error!(error = %e, "the registry does not verify"),
    });
    serve_app(listener, app, &limits, shutdown).await?;
    tokio::task::spawn_blocking(move || log.close())
        .await
        .map_err(std::io::Error::other)?;
    Ok(())
}

/// Serves `app` on `listener` with `config`'s connection limits (as [`serve_with`]
/// describes them) until `shutdown` resolves: the log's server, and a witness's.
///
/// # Errors
/// None today; the signature leaves room for the listener's.
pub async fn serve_app(
    listener: tokio::net::TcpListener,
    app: Router,
    config: &ServerConfig,
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
    Ok(())
}
