//! A transparency-log witness per [C2SP tlog-witness]: it keeps the newest checkpoint
//! it has cosigned for each log it knows, and cosigns (C2SP tlog-cosignature,
//! `cosignature/v1`) a new checkpoint only when a consistency proof shows the old one
//! is a prefix of it. It never cosigns two different trees of one size, nor a smaller
//! tree after a larger one: a log that shows one history to some readers and another
//! to others (a split view) cannot get both cosigned by the same witness.
//!
//! The newest checkpoint of each log is written to disk (a new file, synced, renamed
//! over the old one, the directory synced) before the cosignature leaves, and the check
//! and the write happen under one lock, so neither a crash nor two requests at once can
//! roll the witness back (the race the spec describes).
//!
//! A plain cosignature vouches for the first three lines of the checkpoint only (origin,
//! size, root): the extension lines that vouch adds (its supplier index root, its
//! registry head) are signed as part of the body but not checked.
//!
//! [C2SP tlog-witness]: https://c2sp.org/tlog-witness

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::merkle::{self, Hash};
use crate::note::{Alg, Checkpoint, NoteError, Signer, Verifier, BASE64};

/// At most this many consistency proof lines (the spec's limit).
pub const MAX_PROOF_LINES: usize = 63;

/// Why a checkpoint was not cosigned, with the HTTP status the spec gives each case.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AddError {
    /// 400: the request is not an old size line, proof lines, a blank line and a note.
    #[error("malformed add-checkpoint request: {0}")]
    Malformed(String),
    /// 404: the witness does not know the checkpoint's origin.
    #[error("this witness does not witness the log {0:?}")]
    UnknownLog(String),
    /// 403: no signature by the log's key verifies.
    #[error("the checkpoint is not signed by the key this witness trusts for {origin}: {reason}")]
    NotSigned { origin: String, reason: String },
    /// 400: the old size is larger than the checkpoint's.
    #[error("old size {old} is larger than the checkpoint's size {size}")]
    OldAfterNew { old: u64, size: u64 },
    /// 409, `text/x.tlog.size`: the old size is not the size the witness last cosigned.
    #[error("the newest checkpoint this witness cosigned for {origin} has size {size}, not {old}")]
    SizeMismatch { origin: String, old: u64, size: u64 },
    /// 409: the same size as the newest cosigned checkpoint, another root: a fork.
    #[error("{origin} at size {size} has another root in the checkpoint this witness cosigned: the log forked")]
    Fork { origin: String, size: u64 },
    /// 422: the consistency proof does not show the old tree is a prefix of the new.
    #[error("the consistency proof from size {old} to {size} does not verify: {reason}")]
    BadProof { old: u64, size: u64, reason: String },
    /// 422: a verifying witness (`--verify`) found that the log's entries break its
    /// rules or do not make this checkpoint.
    #[error("the log's entries do not make this checkpoint: {0}")]
    Entries(String),
    /// 503: a verifying witness could not read the log's tiles; nothing was cosigned.
    #[error("could not read the log's entries to verify them: {0}")]
    Unreadable(String),
    /// 500: the new checkpoint could not be made durable; nothing was cosigned.
    #[error("could not store the new checkpoint: {0}")]
    Storage(String),
}

/// Why a witness could not start.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: the stored checkpoint does not open with the log's key: {source}")]
    Stored { path: PathBuf, source: NoteError },
    #[error("two logs with the origin {0:?}")]
    DuplicateLog(String),
    #[error("the witness key must be a cosignature/v1 key (algorithm 0x04)")]
    NotACosigner,
    #[error("a verifying witness witnesses one log, not {0}")]
    VerifyOneLog(usize),
}

/// The newest checkpoint cosigned for one log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Latest {
    pub size: u64,
    pub root: Hash,
    /// The signed checkpoint as the log sent it.
    pub note: String,
}

/// A witness: its key, the logs it witnesses, and their newest cosigned checkpoints.
pub struct Witness {
    signer: Signer,
    logs: HashMap<String, Verifier>,
    dir: PathBuf,
    latest: Mutex<HashMap<String, Latest>>,
    /// A verifying witness's monitor of its one log.
    mirror: Option<Mutex<crate::monitor::Monitor>>,
}

impl Witness {
    /// Opens a witness that keeps its state in `dir` (created if needed), cosigning
    /// with `signer` for the logs `logs` (each by its key; the key's name is the log's
    /// origin). Every stored checkpoint is opened again with its log's key.
    ///
    /// # Errors
    /// A key that is not a cosigner's, two keys for one origin, an unreadable directory
    /// or a stored checkpoint that does not verify.
    pub fn open(signer: Signer, logs: Vec<Verifier>, dir: &Path) -> Result<Self, WitnessError> {
        if signer.verifier().alg() != Alg::CosignatureV1 {
            return Err(WitnessError::NotACosigner);
        }
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| WitnessError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let mut by_origin = HashMap::new();
        let mut latest = HashMap::new();
        for key in logs {
            let origin = key.name().as_str().to_owned();
            let path = state_path(dir, &origin);
            match std::fs::read(&path) {
                Ok(bytes) => {
                    let (cp, _) =
                        Checkpoint::open(&bytes, &key).map_err(|source| WitnessError::Stored {
                            path: path.clone(),
                            source,
                        })?;
                    latest.insert(
                        origin.clone(),
                        Latest {
                            size: cp.size(),
                            root: *cp.root(),
                            note: String::from_utf8_lossy(&bytes).into_owned(),
                        },
                    );
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&path)(e)),
            }
            if by_origin.insert(origin.clone(), key).is_some() {
                return Err(WitnessError::DuplicateLog(origin));
            }
        }
        Ok(Witness {
            signer,
            logs: by_origin,
            dir: dir.to_owned(),
            latest: Mutex::new(latest),
            mirror: None,
        })
    }

    /// Makes this a verifying witness (C2SP tlog-mirror's kind of additional
    /// statement): before it cosigns a checkpoint, `monitor` reads the log's entries up
    /// to it, judges each by the log's rules and checks that they make the checkpoint's
    /// root, registry head and supplier index root. The witness must witness that one
    /// log.
    ///
    /// # Errors
    /// When the witness knows another number of logs than one.
    pub fn verifying(mut self, monitor: crate::monitor::Monitor) -> Result<Self, WitnessError> {
        if self.logs.len() != 1 {
            return Err(WitnessError::VerifyOneLog(self.logs.len()));
        }
        self.mirror = Some(Mutex::new(monitor));
        Ok(self)
    }

    /// The witness's public key (a vkey with signature type 0x04).
    pub fn verifier(&self) -> &Verifier {
        self.signer.verifier()
    }

    /// The newest checkpoint cosigned for `origin`.
    pub fn latest(&self, origin: &str) -> Option<Latest> {
        self.lock().get(origin).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Latest>> {
        self.latest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Handles an `add-checkpoint` request body: on success, the cosignature line (the
    /// response body), with the new checkpoint already durable.
    ///
    /// # Errors
    /// [`AddError`], each with the status the spec gives it.
    pub fn add_checkpoint(&self, body: &[u8], now: u64) -> Result<String, AddError> {
        let request = Request::parse(body)?;
        let origin = origin_of(request.note)?;
        let key = self
            .logs
            .get(origin)
            .ok_or_else(|| AddError::UnknownLog(origin.to_owned()))?;
        let (checkpoint, note) = Checkpoint::open(request.note, key).map_err(|e| match e {
            NoteError::NoTrustedSignature | NoteError::InvalidSignature { .. } => {
                AddError::NotSigned {
                    origin: origin.to_owned(),
                    reason: e.to_string(),
                }
            }
            e => AddError::Malformed(e.to_string()),
        })?;
        let size = checkpoint.size();
        if request.old > size {
            return Err(AddError::OldAfterNew {
                old: request.old,
                size,
            });
        }
        let mut latest = self.lock();
        let (known_size, known_root) = latest
            .get(origin)
            .map_or((0, merkle::empty_root()), |l| (l.size, l.root));
        if request.old != known_size {
            return Err(AddError::SizeMismatch {
                origin: origin.to_owned(),
                old: request.old,
                size: known_size,
            });
        }
        if size == known_size && *checkpoint.root() != known_root {
            return Err(AddError::Fork {
                origin: origin.to_owned(),
                size,
            });
        }
        if size > known_size {
            merkle::verify_consistency(
                known_size,
                size,
                &request.proof,
                &known_root,
                checkpoint.root(),
            )
            .map_err(|e| AddError::BadProof {
                old: known_size,
                size,
                reason: e.to_string(),
            })?;
        } else if !request.proof.is_empty() {
            return Err(AddError::BadProof {
                old: known_size,
                size,
                reason: "the sizes are equal, so the proof must be empty".into(),
            });
        }
        if let Some(m) = &self.mirror {
            let mut m = m.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut pass = crate::monitor::Pass::default();
            m.check(&checkpoint, &mut pass)
                .map_err(|e| AddError::Unreadable(e.to_string()))?;
            if let Some(d) = pass.discrepancies.first() {
                return Err(AddError::Entries(d.detail.clone()));
            }
        }
        let text = std::str::from_utf8(request.note).expect("an opened note is UTF-8");
        if size > known_size {
            self.store(origin, text)?;
            latest.insert(
                origin.to_owned(),
                Latest {
                    size,
                    root: *checkpoint.root(),
                    note: text.to_owned(),
                },
            );
        }
        Ok(self.signer.cosignature_line(&note.text, now))
    }

    /// Writes the newest checkpoint of `origin` durably: a new file, synced, renamed
    /// over the old one, then the directory synced.
    fn store(&self, origin: &str, note: &str) -> Result<(), AddError> {
        let path = state_path(&self.dir, origin);
        let tmp = path.with_extension("tmp");
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(note.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            std::fs::File::open(&self.dir)?.sync_all()
        };
        write().map_err(|e| AddError::Storage(format!("{}: {e}", path.display())))
    }
}

/// The witness's HTTP interface: `POST /add-checkpoint` (C2SP tlog-witness). A size
/// conflict answers `409` with the size in `text/x.tlog.size`, as the spec requires;
/// every other refusal is an `application/problem+json` with the spec's status.
pub fn router(witness: std::sync::Arc<Witness>) -> axum::Router {
    use axum::extract::{DefaultBodyLimit, State};
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    async fn add(
        State(w): State<std::sync::Arc<Witness>>,
        body: axum::body::Bytes,
    ) -> axum::response::Response {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let outcome = tokio::task::spawn_blocking(move || w.add_checkpoint(&body, now)).await;
        let e = match outcome {
            Ok(Ok(lines)) => {
                return ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], lines)
                    .into_response()
            }
            Ok(Err(e)) => e,
            Err(join) => AddError::Storage(join.to_string()),
        };
        let (status, slug, title) = match &e {
            AddError::SizeMismatch { size, .. } => {
                tracing::info!(error = %e, "add-checkpoint refused");
                return (
                    StatusCode::CONFLICT,
                    [(header::CONTENT_TYPE, "text/x.tlog.size")],
                    format!("{size}\n"),
                )
                    .into_response();
            }
            AddError::Malformed(_) => (
                StatusCode::BAD_REQUEST,
                "malformed-request",
                "Malformed add-checkpoint request",
            ),
            AddError::UnknownLog(_) => (StatusCode::NOT_FOUND, "unknown-log", "Unknown log"),
            AddError::NotSigned { .. } => (
                StatusCode::FORBIDDEN,
                "not-signed",
                "Not signed by the log's key",
            ),
            AddError::OldAfterNew { .. } => (
                StatusCode::BAD_REQUEST,
                "old-after-new",
                "Old size larger than the checkpoint's",
            ),
            AddError::Fork { .. } => (
                StatusCode::CONFLICT,
                "fork",
                "Another root for a size already cosigned",
            ),
            AddError::BadProof { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad-consistency-proof",
                "Consistency proof does not verify",
            ),
            AddError::Entries(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "entries-do-not-match",
                "The log's entries do not make this checkpoint",
            ),
            AddError::Unreadable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "entries-unreadable",
                "Could not read the log's entries",
            ),
            AddError::Storage(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "storage",
                "Could not store the checkpoint",
            ),
        };
        if status.is_server_error() {
            tracing::error!(error = %e, "add-checkpoint failed");
        } else {
            tracing::warn!(error = %e, "add-checkpoint refused");
        }
        crate::server::Problem::new(status, slug, title, e.to_string()).into_response()
    }
    async fn not_found(uri: axum::http::Uri) -> crate::server::Problem {
        crate::server::Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            format!(
                "{} is not served here: a witness answers POST /add-checkpoint",
                uri.path()
            ),
        )
    }
    axum::Router::new()
        .route("/add-checkpoint", axum::routing::post(add))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(crate::note::MAX_NOTE_LEN + 8 * 1024))
        .layer(axum::middleware::from_fn(crate::server::problems))
        .with_state(witness)
}

/// Where the newest checkpoint of `origin` is kept: named by SHA-256 of the origin, as
/// origins hold characters a file name cannot.
fn state_path(dir: &Path, origin: &str) -> PathBuf {
    dir.join(format!(
        "{}.checkpoint",
        hex::encode(Sha256::digest(origin.as_bytes()))
    ))
}

/// The first line of a note: a checkpoint's origin.
fn origin_of(note: &[u8]) -> Result<&str, AddError> {
    let first = note.split(|&b| b == b'\n').next().unwrap_or_default();
    std::str::from_utf8(first)
        .ok()
        .filter(|o| !o.is_empty())
        .ok_or_else(|| AddError::Malformed("the checkpoint has no origin line".into()))
}

/// An `add-checkpoint` request body: `old <size>`, up to 63 base64 proof hashes, a blank
/// line, then the signed checkpoint.
#[derive(Debug)]
pub struct Request<'a> {
    pub old: u64,
    pub proof: Vec<Hash>,
    pub note: &'a [u8],
}

impl<'a> Request<'a> {
    /// Parses a request body.
    ///
    /// # Errors
    /// [`AddError::Malformed`] saying what is wrong.
    pub fn parse(body: &'a [u8]) -> Result<Self, AddError> {
        let bad = |s: &str| AddError::Malformed(s.to_owned());
        let mut rest = body;
        let mut line = || -> Result<&'a [u8], AddError> {
            let end = rest
                .iter()
                .position(|&b| b == b'\n')
                .ok_or_else(|| bad("a line does not end in a newline"))?;
            let (l, r) = (&rest[..end], &rest[end + 1..]);
            rest = r;
            Ok(l)
        };
        let first = line()?;
        let old = first
            .strip_prefix(b"old ")
            .and_then(|d| std::str::from_utf8(d).ok())
            .filter(|d| *d == "0" || (!d.starts_with('0') && d.bytes().all(|b| b.is_ascii_digit())))
            .and_then(|d| d.parse::<u64>().ok())
            .ok_or_else(|| {
                bad("the first line must be `old <size>` in decimal without leading zeros")
            })?;
        let mut proof = Vec::new();
        loop {
            let l = line()?;
            if l.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(bad("more than 63 consistency proof lines"));
            }
            let hash: Hash = std::str::from_utf8(l)
                .ok()
                .and_then(|t| BASE64.decode(t).ok())
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| bad("a proof line is not the base64 of a 32-byte hash"))?;
            proof.push(hash);
        }
        if old == 0 && !proof.is_empty() {
            return Err(bad("the proof must be empty when the old size is 0"));
        }
        Ok(Request {
            old,
            proof,
            note: rest,
        })
    }

    /// The request body for `note`, given the old size and the proof from it.
    pub fn body(old: u64, proof: &[Hash], note: &str) -> String {
        let mut out = format!("old {old}\n");
        for h in proof {
            out.push_str(&BASE64.encode(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(note);
        out
    }
}
