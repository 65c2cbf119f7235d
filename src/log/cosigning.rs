//! The log's side of witnessing (C2SP tlog-witness): one thread per configured witness
//! sends it each new checkpoint with a consistency proof from the last size it
//! cosigned, and the cosignatures that come back are kept beside the checkpoints they
//! sign, so that `/checkpoint`, bundles and histories carry them.
//!
//! Witnesses never hold up the log: appends never wait for them, each request has a
//! bounded time, a witness gets at most one request per [`MIN_INTERVAL`] (the newest
//! checkpoint then), a witness that fails is retried later (one second, doubling to a
//! minute), and how far each lags is in `/metrics`. Cosignatures are kept in memory
//! for the newest [`KEPT_SIZES`] sizes; after a restart the threads obtain them again
//! for the newest checkpoint.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use super::Log;
use crate::note::Verifier;
use crate::witness::Request;

/// How many of the newest cosigned sizes keep their cosignatures.
pub const KEPT_SIZES: usize = 256;

/// The longest a witness thread waits for a new checkpoint before it looks again (it
/// is woken when one is published; it looks again to notice that the log was dropped).
const POLL: Duration = Duration::from_millis(250);

/// At most one request per witness this often: a log under load signs a checkpoint per
/// batch, and the witness gets the newest of them (an idle log's next checkpoint goes
/// at once).
const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// The longest wait before a failed witness is tried again.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// A witness the log sends its checkpoints to.
#[derive(Clone, Debug)]
pub struct WitnessTarget {
    /// Its submission prefix: requests go to `<url>/add-checkpoint`.
    pub url: String,
    /// Its cosigner key (a vkey with signature type 0x04).
    pub key: Verifier,
}

/// How one witness is doing, for `/metrics`.
#[derive(Debug)]
pub struct WitnessStatus {
    pub name: String,
    pub url: String,
    /// The size of the newest checkpoint it cosigned (0 before the first).
    pub cosigned_size: AtomicU64,
    /// Requests that failed (transport errors, refusals, cosignatures that do not
    /// verify).
    pub failures: AtomicU64,
    /// Why the last request failed, if it did.
    pub last_error: Mutex<Option<String>>,
}

/// A checkpoint the log signed and the cosignature lines it got (each checked, with
/// the time it names), by witness name.
struct Cosigned {
    signed: String,
    lines: BTreeMap<String, (String, u64)>,
}

impl Cosigned {
    /// The checkpoint with its cosignature lines.
    fn note(&self) -> String {
        self.lines
            .values()
            .fold(self.signed.clone(), |mut out, (line, _)| {
                out.push_str(line);
                out
            })
    }
}

/// The cosignatures the log holds, and its witnesses.
#[derive(Default)]
pub(super) struct Cosigning {
    by_size: Mutex<BTreeMap<u64, Cosigned>>,
    witnesses: Mutex<Vec<Arc<WitnessStatus>>>,
    /// The witnesses' keys by name.
    keys: Mutex<BTreeMap<String, Verifier>>,
}

impl Log {
    /// Starts one thread per witness that sends it the log's new checkpoints. A thread
    /// ends when the log is dropped.
    pub fn start_witnessing(self: &Arc<Self>, targets: Vec<WitnessTarget>) {
        for target in targets {
            let status = Arc::new(WitnessStatus {
                name: target.key.name().to_string(),
                url: target.url.clone(),
                cosigned_size: AtomicU64::new(0),
                failures: AtomicU64::new(0),
                last_error: Mutex::new(None),
            });
            lock(&self.cosigning.witnesses).push(status.clone());
            lock(&self.cosigning.keys).insert(status.name.clone(), target.key.clone());
            let log = Arc::downgrade(self);
            let spawned = std::thread::Builder::new()
                .name(format!("vouch-witness {}", status.name))
                .spawn(move || follow(&log, &target, &status));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a witness thread");
            }
        }
    }

    /// The witnesses this log sends checkpoints to, and how each is doing.
    pub fn witnesses(&self) -> Vec<Arc<WitnessStatus>> {
        lock(&self.cosigning.witnesses).clone()
    }

    /// `signed` (the log's checkpoint of `size`) with the cosignature lines the log
    /// holds for it.
    pub fn with_cosignatures(&self, size: u64, signed: &str) -> String {
        match lock(&self.cosigning.by_size).get(&size) {
            Some(c) if c.signed == signed => c.note(),
            _ => signed.to_owned(),
        }
    }

    /// The newest checkpoint with the most cosignatures the log holds (of the newest
    /// [`KEPT_SIZES`] cosigned sizes), with them; `None` before any.
    pub fn newest_cosigned(&self) -> Option<String> {
        let by_size = lock(&self.cosigning.by_size);
        let most = by_size.values().map(|c| c.lines.len()).max()?;
        let (_, c) = by_size.iter().rev().find(|(_, c)| c.lines.len() == most)?;
        Some(c.note())
    }

    /// The witnesses whose cosignatures the log holds for `signed` (its checkpoint of
    /// `size`), by name, with the time each cosigned.
    pub fn cosigners(&self, size: u64, signed: &str) -> Vec<(String, u64)> {
        match lock(&self.cosigning.by_size).get(&size) {
            Some(c) if c.signed == signed => c
                .lines
                .iter()
                .map(|(name, (_, time))| (name.clone(), *time))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The keys of the witnesses this log sends its checkpoints to.
    pub fn witness_keys(&self) -> Vec<Verifier> {
        lock(&self.cosigning.keys).values().cloned().collect()
    }

    /// Keeps a cosignature line of `witness` for the checkpoint `signed` of `size`.
    fn keep_cosignature(&self, size: u64, signed: &str, witness: &str, line: (String, u64)) {
        let mut by_size = lock(&self.cosigning.by_size);
        let c = by_size.entry(size).or_insert_with(|| Cosigned {
            signed: signed.to_owned(),
            lines: BTreeMap::new(),
        });
        if c.signed == signed {
            c.lines.insert(witness.to_owned(), line);
        }
        while by_size.len() > KEPT_SIZES {
            by_size.pop_first();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What one request to a witness came to.
enum Outcome {
    /// A cosignature line that verifies, and the time it names.
    Cosigned((String, u64)),
    /// The witness's newest cosigned size is another: send again from there.
    Conflict(u64),
    Failed(String),
}

/// The witness thread: sends each new checkpoint, from the size the witness last
/// cosigned (learnt from its 409 answer after a start), until the log is dropped.
fn follow(log: &Weak<Log>, target: &WitnessTarget, status: &WitnessStatus) {
    let agent = ureq::AgentBuilder::new()
        .tls_config(crate::client::tls_config())
        .timeout_connect(Duration::from_secs(2))
        .timeout(Duration::from_secs(10))
        .build();
    let url = format!("{}/add-checkpoint", target.url.trim_end_matches('/'));
    let mut old = 0u64;
    let mut cosigned: Option<u64> = None;
    let mut backoff = Duration::from_secs(1);
    let mut last_sent: Option<std::time::Instant> = None;
    loop {
        if let Some(wait) = last_sent.and_then(|t| MIN_INTERVAL.checked_sub(t.elapsed())) {
            std::thread::sleep(wait);
        }
        let Some(log) = log.upgrade() else { return };
        let head = log.head();
        let size = head.size();
        if cosigned == Some(size) {
            let shared = log.shared.clone();
            drop((log, head));
            shared.wait_for_growth(size, POLL);
            continue;
        }
        last_sent = Some(std::time::Instant::now());
        let outcome = if old > size {
            Outcome::Failed(format!(
                "the witness has cosigned size {old}, larger than this log's {size}: the log lost entries or another log with this key forked it"
            ))
        } else {
            match log.view().consistency_proof(old, size) {
                Ok(proof) => send(
                    &agent,
                    &url,
                    &Request::body(old, &proof, &head.signed),
                    &head.signed,
                    target,
                ),
                Err(e) => {
                    Outcome::Failed(format!("no consistency proof from {old} to {size}: {e}"))
                }
            }
        };
        match outcome {
            Outcome::Cosigned(line) => {
                log.keep_cosignature(size, &head.signed, &status.name, line);
                status.cosigned_size.store(size, Ordering::Relaxed);
                *lock(&status.last_error) = None;
                cosigned = Some(size);
                old = size;
                backoff = Duration::from_secs(1);
            }
            Outcome::Conflict(size) if size != old => old = size,
            Outcome::Conflict(_) | Outcome::Failed(_) => {
                let why = match outcome {
                    Outcome::Failed(why) => why,
                    _ => format!("the witness answered 409 with the size {old} that was sent"),
                };
                tracing::warn!(witness = %status.name, error = %why, retry_in = ?backoff, "witness failed");
                status.failures.fetch_add(1, Ordering::Relaxed);
                *lock(&status.last_error) = Some(why);
                drop(log);
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Posts one `add-checkpoint` request and checks the answer.
fn send(
    agent: &ureq::Agent,
    url: &str,
    body: &str,
    signed: &str,
    target: &WitnessTarget,
) -> Outcome {
    match agent
        .post(url)
        .set("Content-Type", "text/plain; charset=utf-8")
        .send_string(body)
    {
        Ok(r) => {
            let Ok(text) = r.into_string() else {
                return Outcome::Failed("unreadable answer".into());
            };
            match check_cosignature(signed, &text, &target.key) {
                Ok(line) => Outcome::Cosigned(line),
                Err(why) => Outcome::Failed(why),
            }
        }
        Err(ureq::Error::Status(409, r)) if r.content_type() == "text/x.tlog.size" => {
            let text = r.into_string().unwrap_or_default();
            match text.strip_suffix('\n').and_then(|t| t.parse().ok()) {
                Some(size) => Outcome::Conflict(size),
                None => Outcome::Failed(format!("a 409 without a size: {text:?}")),
            }
        }
        Err(ureq::Error::Status(code, r)) => {
            let text = r.into_string().unwrap_or_default();
            Outcome::Failed(format!("the witness answered {code}: {}", text.trim()))
        }
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// The line of `key` among the witness's answer `text`, if it cosigns `signed`, and the
/// time it names.
fn check_cosignature(signed: &str, text: &str, key: &Verifier) -> Result<(String, u64), String> {
    let prefix = format!("\u{2014} {} ", key.name());
    let mut why = "the answer holds no cosignature of the witness's key".to_owned();
    for line in text.lines().filter(|l| l.starts_with(&prefix)) {
        let line = format!("{line}\n");
        match crate::note::open(
            format!("{signed}{line}").as_bytes(),
            std::slice::from_ref(key),
        ) {
            Ok(note) => {
                let time = note
                    .verified
                    .first()
                    .and_then(|s| crate::note::cosignature_time(&s.signature))
                    .unwrap_or_default();
                return Ok((line, time));
            }
            Err(e) => why = format!("the answer does not cosign the checkpoint: {e}"),
        }
    }
    Err(why)
}
