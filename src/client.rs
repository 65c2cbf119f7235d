//! A blocking HTTP client for a vouch server, for the CLI, the examples and tests.
//! It fetches; [`crate::verify`] decides what to believe.

use crate::bundle::{History, Receipt};

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

/// `value` escaped for a URL query (RFC 3986 unreserved characters kept).
pub fn query_escape(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Posts an envelope to the server's attestation or registry endpoint, as its payload
/// type says; the server checks the rest (and finds a signer whose `keyid` is not
/// vouch's, which a client without the registry cannot).
///
/// # Errors
/// When the envelope is not DSSE JSON or the server refuses it.
pub fn post_envelope(url: &str, envelope: &[u8]) -> Result<Receipt, ClientError> {
    let parsed: crate::envelope::Envelope = serde_json::from_slice(envelope)
        .map_err(|e| crate::envelope::EnvelopeError::Json(e.to_string()))?;
    let path = if parsed.payload_type == crate::statement::REGISTRY_TYPE {
        "/v1/registry"
    } else {
        "/v1/attestations"
    };
    let r = ureq::post(&format!("{}{path}", url.trim_end_matches('/')))
        .set("Content-Type", "application/json")
        .send_bytes(envelope)
        .map_err(http_error)?;
    Ok(serde_json::from_reader(r.into_reader())?)
}

/// Fetches every page of a supplier's history, newest first, all against the checkpoint
/// of the first page.
///
/// # Errors
/// Transport failures and error statuses, or a page at another checkpoint.
pub fn fetch_history(url: &str, supplier: &str) -> Result<History, ClientError> {
    fetch_history_at(url, supplier, None)
}

/// [`fetch_history`] as of the checkpoint of tree size `size` (default: the newest).
///
/// # Errors
/// Transport failures and error statuses, or a page at another checkpoint.
pub fn fetch_history_at(
    url: &str,
    supplier: &str,
    size: Option<u64>,
) -> Result<History, ClientError> {
    let base = url.trim_end_matches('/');
    // A buyer's records (`buyer:<id>`) have a route of their own.
    let route = match crate::statement::buyer_of_subject(supplier) {
        Some(buyer) => format!("{base}/v1/buyers/{buyer}/history"),
        None => format!("{base}/v1/suppliers/{supplier}/history"),
    };
    let at = size.map_or(String::new(), |s| format!("&size={s}"));
    let mut history: History = get_json(&format!("{route}?limit=500{at}"))?;
    while let Some(before) = history.next_before.take() {
        let page: History = get_json(&format!(
            "{route}?limit=500&size={}&before={before}",
            history.tree_size
        ))?;
        // Cosignatures may arrive between pages: the checkpoints' bodies must agree.
        let body = |note: &str| note.split_once("\n\n").map(|(b, _)| b.to_owned());
        if body(&page.checkpoint) != body(&history.checkpoint) || page.next_before >= Some(before) {
            return Err(format!(
                "the server answered the page before entry {before} of {supplier} with another checkpoint or page"
            )
            .into());
        }
        history.entries.extend(page.entries);
        history.next_before = page.next_before;
        // Each page brings the registry chains of its signers: keep one of each.
        for r in page.registry {
            if !history.registry.iter().any(|h| h.index == r.index) {
                history.registry.push(r);
            }
        }
        for p in page.registry_proofs {
            if !history
                .registry_proofs
                .iter()
                .any(|h| h.subject == p.subject)
            {
                history.registry_proofs.push(p);
            }
        }
        history.registry.sort_by_key(|r| r.index);
    }
    Ok(history)
}

/// The tree size of the newest checkpoint the server holds witness cosignatures for
/// (`GET /v1/checkpoint/cosigned`), signed by `log_key`; `None` when it holds none.
///
/// # Errors
/// Transport failures, or a checkpoint not signed by `log_key`.
pub fn cosigned_size(
    url: &str,
    log_key: &crate::note::Verifier,
) -> Result<Option<u64>, ClientError> {
    let r = match ureq::get(&format!(
        "{}/v1/checkpoint/cosigned",
        url.trim_end_matches('/')
    ))
    .call()
    {
        Ok(r) => r,
        Err(ureq::Error::Status(404, _)) => return Ok(None),
        Err(e) => return Err(http_error(e)),
    };
    let text = r.into_string()?;
    let (cp, _) = crate::note::Checkpoint::open(text.as_bytes(), log_key)?;
    Ok(Some(cp.size()))
}

/// Checks, with a consistency proof from the server, that the tree of checkpoint
/// `newer` extends the tree of checkpoint `older` (both signed by `log_key`).
///
/// # Errors
/// When either checkpoint is not the log's, or the proof fails.
pub fn check_extends(
    url: &str,
    older: &str,
    newer: &str,
    log_key: &crate::note::Verifier,
) -> Result<(), ClientError> {
    let (old, _) = crate::note::Checkpoint::open(older.as_bytes(), log_key)?;
    let (new, _) = crate::note::Checkpoint::open(newer.as_bytes(), log_key)?;
    if old.size() > new.size() {
        return Err(format!(
            "the log went back from size {} to {}",
            old.size(),
            new.size()
        )
        .into());
    }
    let c: serde_json::Value = get_json(&format!(
        "{}/v1/proofs/consistency?from={}&to={}",
        url.trim_end_matches('/'),
        old.size(),
        new.size()
    ))?;
    let proof = c["consistency_proof"]
        .as_array()
        .ok_or("the server sent no consistency proof")?
        .iter()
        .map(|h| crate::entry::decode_hash(h.as_str().unwrap_or_default()))
        .collect::<Result<Vec<_>, _>>()?;
    crate::merkle::verify_consistency(old.size(), new.size(), &proof, old.root(), new.root())?;
    Ok(())
}
