//! A blocking HTTP client for a vouch server, for the CLI, the examples and tests.
//! It fetches; [`crate::verify`] decides what to believe.

use crate::bundle::{History, Receipt};
use crate::log::{Payload, Signed};

/// A failed exchange, in words for the user.
pub type ClientError = Box<dyn std::error::Error + Send + Sync>;

/// A failed HTTP exchange, with the server's problem detail when it sent one.
fn http_error(e: ureq::Error) -> ClientError {
    match e {
        ureq::Error::Status(code, r) => {
            let body = r.into_string().unwrap_or_default();
            let detail = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| {
                    Some(format!(
                        "{} ({})",
                        v["detail"].as_str()?,
                        v["type"].as_str()?
                    ))
                })
                .unwrap_or(body);
            format!("server answered {code}: {detail}").into()
        }
        other => format!("cannot reach the server: {other}").into(),
    }
}

/// `GET url` as JSON.
///
/// # Errors
/// Transport failures and error statuses, with the server's problem detail.
pub fn get_json<T: serde::de::DeserializeOwned>(url: &str) -> Result<T, ClientError> {
    let r = ureq::get(url).call().map_err(http_error)?;
    Ok(serde_json::from_reader(r.into_reader())?)
}

/// Posts an envelope to the server's attestation or registry endpoint.
///
/// # Errors
/// When the envelope is malformed or the server refuses it.
pub fn post_envelope(url: &str, envelope: &[u8]) -> Result<Receipt, ClientError> {
    let signed = Signed::parse(envelope)?;
    let path = match signed.payload {
        Payload::Statement(_) => "/v1/attestations",
        Payload::Registry(_) => "/v1/registry",
    };
    let r = ureq::post(&format!("{}{path}", url.trim_end_matches('/')))
        .set("Content-Type", "application/json")
        .send_bytes(envelope)
        .map_err(http_error)?;
    Ok(serde_json::from_reader(r.into_reader())?)
}

/// Fetches every page of a supplier's history.
///
/// # Errors
/// Transport failures and error statuses.
pub fn fetch_history(url: &str, supplier: &str) -> Result<History, ClientError> {
    let base = url.trim_end_matches('/');
    let mut history: History =
        get_json(&format!("{base}/v1/suppliers/{supplier}/history?limit=500"))?;
    while let Some(from) = history.next_from.take() {
        let page: History = get_json(&format!(
            "{base}/v1/suppliers/{supplier}/history?limit=500&from={from}"
        ))?;
        if page.checkpoint != history.checkpoint {
            // The log grew between pages; start over against one checkpoint.
            return fetch_history(url, supplier);
        }
        history.entries.extend(page.entries);
        history.next_from = page.next_from;
    }
    Ok(history)
}
