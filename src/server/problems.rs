//! Problems (RFC 9457): the one place where library errors meet HTTP statuses, and the
//! middleware that turns any plain-text rejection into a problem.

use axum::body::to_bytes;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use crate::envelope::EnvelopeError;
use crate::log::LogError;
use crate::policy::PolicyError;
use crate::store::StoreError;
use crate::tiles::TileError;

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
    pub(crate) fn new(
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

    pub(super) fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    pub(super) fn bad_request(
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
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
            LogError::Envelope(EnvelopeError::NoKeyMadeSignature(_)) => {
                (S::FORBIDDEN, "unknown-key", "Unknown signing key")
            }
            LogError::Envelope(EnvelopeError::KeyIdNeeded(_)) => {
                (S::BAD_REQUEST, "keyid-needed", "Name the signing key")
            }
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
            | LogError::Store(
                StoreError::Halted(_) | StoreError::Backend(_) | StoreError::Fenced(_),
            ) => (
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

pub(super) type ApiResult<T> = Result<T, Problem>;

/// An RFC 9457 problem, as the API returns it.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct ProblemDoc {
    /// `/problems/<slug>`, stable per kind of error.
    #[serde(rename = "type")]
    kind: String,
    title: String,
    status: u16,
    detail: String,
}

/// Turns an error response that is not a problem yet (an extractor's plain-text
/// rejection) into one, so that every error is `application/problem+json`.
pub(crate) async fn problems(req: Request, next: axum::middleware::Next) -> Response {
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

pub(super) fn too_large(id: &str, cap: usize) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "history-too-large",
        "History too large to verify here",
        format!(
            "{id} has more than {cap} entries: fetch its history page by page and verify it yourself (vouch history, vouch standing)"
        ),
    )
}
