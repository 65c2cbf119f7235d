//! A blocking HTTP client for a vouch server, for the CLI, the examples and tests.
//! It fetches; [`crate::verify`] decides what to believe.

use crate::bundle::{History, Receipt};

/// A failed exchange, in words for the user.
pub type ClientError = Box<dyn std::error::Error + Send + Sync>;

use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls_pki_types::{pem::PemObject, CertificateDer};

static TLS: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
static AGENT: OnceLock<ureq::Agent> = OnceLock::new();

/// The TLS settings of every HTTPS request this process makes: the public web's root
/// certificates (Mozilla's, from `webpki-roots`), and those of `ca` when given.
fn tls_config_with(ca: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, ClientError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca {
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("cannot read the CA file {}: {e}", path.display()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{}: not PEM certificates: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!("{} holds no PEM certificate", path.display()).into());
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| format!("{}: not a usable CA certificate: {e}", path.display()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Trusts the CA certificates in the PEM file `ca` (beside the public roots) for every
/// HTTPS request of this process: a server with a private or self-signed certificate.
///
/// # Errors
/// When the file holds no usable certificate, or the client was already in use.
pub fn trust_ca(ca: &Path) -> Result<(), ClientError> {
    TLS.set(tls_config_with(Some(ca))?)
        .map_err(|_| "--ca must be set before the first request".into())
}

/// The TLS settings every HTTP client of this process uses ([`trust_ca`]).
pub fn tls_config() -> Arc<rustls::ClientConfig> {
    TLS.get_or_init(|| {
        tls_config_with(None).expect("the public roots and ring's defaults always make a config")
    })
    .clone()
}

/// The process's HTTP client: HTTP and HTTPS (rustls), with [`tls_config`].
pub fn agent() -> ureq::Agent {
    AGENT
        .get_or_init(|| ureq::AgentBuilder::new().tls_config(tls_config()).build())
        .clone()
}

/// A server's base URL from what a user typed: `http://` and `https://` URLs as they
/// are (without a trailing `/`), and `HOST:PORT` or `HOST` as `https://…`, or as
/// `http://…` on the loopback interface (`localhost`, `127.0.0.1`, `[::1]`), where the
/// demo serves plain HTTP.
///
/// # Errors
/// Anything else, with what is expected.
pub fn base_url(input: &str) -> Result<String, String> {
    let s = input.trim().trim_end_matches('/');
    let expected = || {
        format!(
            "{input:?} is not a server's address: give a URL (https://ledger.example, \
             http://127.0.0.1:8080) or HOST:PORT (ledger.example:443, 127.0.0.1:8080)"
        )
    };
    let (scheme, rest) = match s.split_once("://") {
        Some((scheme @ ("http" | "https"), rest)) => (Some(scheme), rest),
        Some(_) => return Err(expected()),
        None => (None, s),
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') && host.contains(':') => {
            // A bare IPv6 address without brackets: not a HOST:PORT.
            let _ = port;
            return Err(expected());
        }
        Some((host, port)) => {
            if port.is_empty()
                || !port.bytes().all(|b| b.is_ascii_digit())
                || port.parse::<u16>().is_err()
            {
                return Err(expected());
            }
            host
        }
        None => authority,
    };
    let valid_host = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._[]:".contains(&b));
    if !valid_host || s.chars().any(char::is_whitespace) {
        return Err(expected());
    }
    Ok(match scheme {
        Some(_) => s.to_owned(),
        None if ["localhost", "127.0.0.1", "[::1]"].contains(&host) || host.starts_with("127.") => {
            format!("http://{s}")
        }
        None => format!("https://{s}"),
    })
}

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
        other => {
            let text = other.to_string();
            let hint = if text.contains("certificate") || text.contains("UnknownIssuer") {
                " (a server with a private or self-signed certificate: give its CA with --ca FILE)"
            } else {
                ""
            };
            format!("cannot reach the server: {text}{hint}").into()
        }
    }
}

/// `GET url` as JSON.
///
/// # Errors
/// Transport failures and error statuses, with the server's problem detail.
pub fn get_json<T: serde::de::DeserializeOwned>(url: &str) -> Result<T, ClientError> {
    let r = agent().get(url).call().map_err(http_error)?;
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
    let r = agent()
        .post(&format!("{}{path}", url.trim_end_matches('/')))
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
    let r = match agent()
        .get(&format!(
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

#[cfg(test)]
mod tests {
    use super::base_url;

    #[test]
    fn base_urls() {
        for (input, want) in [
            ("https://ledger.example/", "https://ledger.example"),
            ("http://10.0.0.2:8080", "http://10.0.0.2:8080"),
            ("ledger.example:8443", "https://ledger.example:8443"),
            ("ledger.example", "https://ledger.example"),
            ("127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("localhost:8080", "http://localhost:8080"),
            ("[::1]:8080", "http://[::1]:8080"),
            (
                "https://ledger.example/vouch",
                "https://ledger.example/vouch",
            ),
        ] {
            assert_eq!(base_url(input).as_deref(), Ok(want), "{input}");
        }
        for bad in [
            "",
            "ftp://x",
            "host:port",
            "a b:80",
            ":80",
            "host:99999",
            "::1:80",
        ] {
            assert!(base_url(bad).is_err(), "{bad}");
        }
    }
}
