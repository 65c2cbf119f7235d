//! The monitor (`vouch monitor`): follows a ledger through its tiles (C2SP tlog-tiles)
//! into a mirror of its own ([`crate::log::Mirror`]), judging every entry by the log's
//! rules, replaying the registry and the supplier index, and comparing every
//! checkpoint it sees (root, registry head, index root) with the one the entries make.
//! It resumes where it stopped: the mirror is its state. A log that rewrote an entry
//! the monitor already holds cannot show it a checkpoint whose root matches, and one
//! that shrank is caught by its size.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::log::{Discrepancy, Mirror, Prepared, KEEP_AFTER_A_PASS};
use crate::note::{Checkpoint, Signer, Verifier};
use crate::store::Store;
use crate::tiles::{self, TileKind, TilePath, TILE_WIDTH};

/// Entries judged and stored as one batch of the mirror.
const CHUNK_TILES: u64 = 16;

/// What one pass found.
#[derive(Debug, Default)]
pub struct Pass {
    /// The size of the log's checkpoint this pass checked against.
    pub tree_size: u64,
    /// Entries the mirror held before the pass.
    pub from: u64,
    /// Entries judged in this pass.
    pub judged: u64,
    pub seconds: f64,
    pub discrepancies: Vec<Discrepancy>,
}

/// A monitor of one log.
pub struct Monitor {
    fetcher: Fetcher,
    log_key: Verifier,
    mirror: Mirror,
    /// Checkpoints count only with these witnesses' cosignatures.
    policy: crate::verify::WitnessPolicy,
}

/// Why a pass could not check the log (not a discrepancy: the log may be down).
pub type MonitorError = Box<dyn std::error::Error + Send + Sync>;

impl Monitor {
    /// A monitor of the log at `url` signed by `log_key`, its mirror in `store`,
    /// signing what it verified with `signer`.
    ///
    /// # Errors
    /// A store that fails or mirrors another log.
    pub fn open(
        url: &str,
        log_key: Verifier,
        store: Arc<dyn Store>,
        signer: Signer,
    ) -> Result<Self, MonitorError> {
        Ok(Monitor {
            fetcher: Fetcher {
                url: url.trim_end_matches('/').to_owned(),
                agent: ureq::AgentBuilder::new()
                    .tls_config(crate::client::tls_config())
                    .timeout_connect(Duration::from_secs(5))
                    .timeout(Duration::from_secs(60))
                    .build(),
            },
            mirror: Mirror::open(store, log_key.clone(), signer)?,
            log_key,
            policy: crate::verify::WitnessPolicy::default(),
        })
    }

    /// Checks the log only against checkpoints cosigned as `policy` asks: each pass
    /// reads the newest checkpoint the log holds cosignatures for
    /// (`/v1/checkpoint/cosigned`), and one without them is a discrepancy of kind
    /// `witnesses`, against which nothing is judged.
    pub fn with_policy(mut self, policy: crate::verify::WitnessPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Entries verified so far.
    pub fn size(&self) -> u64 {
        self.mirror.size()
    }

    /// One pass: the log's newest checkpoint, every entry up to it judged, the
    /// checkpoint compared with the mirror's.
    ///
    /// # Errors
    /// When the log could not be read (its checkpoint or a tile): nothing to judge.
    pub fn pass(&mut self) -> Result<Pass, MonitorError> {
        let started = Instant::now();
        let mut pass = Pass {
            from: self.size(),
            ..Pass::default()
        };
        let path = if self.policy.is_empty() {
            "checkpoint"
        } else {
            "v1/checkpoint/cosigned"
        };
        let text = match self.fetcher.get(&format!("{}/{path}", self.fetcher.url)) {
            Ok(t) => t,
            Err(e) if !self.policy.is_empty() => {
                pass.discrepancies.push(Discrepancy {
                    kind: "witnesses",
                    index: None,
                    tree_size: None,
                    detail: format!("the log serves no cosigned checkpoint: {e}"),
                });
                return Ok(pass);
            }
            Err(e) => return Err(e),
        };
        if !self.policy.is_empty() {
            let note = String::from_utf8_lossy(&text);
            if let Err(why) = self.policy.check(&note, &self.log_key) {
                pass.discrepancies.push(Discrepancy {
                    kind: "witnesses",
                    index: None,
                    tree_size: None,
                    detail: format!("the log's checkpoint: {why}"),
                });
                return Ok(pass);
            }
        }
        let cp = match Checkpoint::open(&text, &self.log_key) {
            Ok((cp, _)) => cp,
            Err(e) => {
                pass.discrepancies.push(Discrepancy {
                    kind: "signature",
                    index: None,
                    tree_size: None,
                    detail: format!("the log's checkpoint is not signed by its key: {e}"),
                });
                return Ok(pass);
            }
        };
        self.check(&cp, &mut pass)?;
        pass.seconds = started.elapsed().as_secs_f64();
        Ok(pass)
    }

    /// Judges every entry of the log up to `cp` (its signature already checked) and
    /// compares `cp` with the checkpoint they make; what it finds goes into `pass`.
    ///
    /// # Errors
    /// When the log's tiles could not be read.
    pub fn check(&mut self, cp: &Checkpoint, pass: &mut Pass) -> Result<(), MonitorError> {
        pass.tree_size = cp.size();
        if cp.size() < self.size() {
            pass.discrepancies.push(Discrepancy {
                kind: "rollback",
                index: None,
                tree_size: Some(cp.size()),
                detail: format!(
                    "the log's checkpoint has {} entries; this monitor verified {} of it before",
                    cp.size(),
                    self.size()
                ),
            });
            return Ok(());
        }
        // Tiles are fetched and decoded, and their signatures verified, on a thread of
        // their own (two chunks ahead) while the mirror judges in log order.
        let size = cp.size();
        let registry = Arc::new(std::sync::Mutex::new(self.mirror.registry()));
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Prepared, String>>(2);
        let fetcher = self.fetcher.clone();
        let from = self.size();
        let known = registry.clone();
        let prefetch = std::thread::spawn(move || {
            let mut start = from;
            while start < size {
                let end = size.min((start / TILE_WIDTH + CHUNK_TILES) * TILE_WIDTH);
                let chunk = fetcher.entries(start, end, size).map(|entries| {
                    let r = known.lock().map(|r| r.clone()).unwrap_or_default();
                    Prepared::new(entries, r.as_deref())
                });
                let failed = chunk.is_err();
                if tx.send(chunk.map_err(|e| e.to_string())).is_err() || failed {
                    return;
                }
                start = end;
            }
        });
        let mut failure = None;
        while self.size() < size {
            let start = self.size();
            let prepared = match rx.recv() {
                Ok(Ok(p)) => p,
                Ok(Err(e)) => {
                    failure = Some(e);
                    break;
                }
                Err(_) => break,
            };
            let judged = self.mirror.append_prepared(prepared);
            if let Ok(mut r) = registry.lock() {
                *r = self.mirror.registry();
            }
            pass.judged += self.size() - start;
            if let Err(d) = judged {
                pass.discrepancies.push(d);
                break;
            }
        }
        drop(rx);
        let _ = prefetch.join();
        // What it judged is kept, so that the next open replays little of it.
        if self.mirror.unkept() >= KEEP_AFTER_A_PASS {
            if let Err(d) = self.mirror.keep_state() {
                pass.discrepancies.push(d);
            }
        }
        if let Some(e) = failure {
            return Err(e.into());
        }
        if self.size() == cp.size() {
            if let Err(d) = self.mirror.compare(cp) {
                pass.discrepancies.push(d);
            }
        }
        Ok(())
    }
}

/// Reads a log's checkpoint and entry tiles.
#[derive(Clone)]
struct Fetcher {
    url: String,
    agent: ureq::Agent,
}

impl Fetcher {
    /// The log's entries `start..end` from its entry tiles, in a tree of `size`.
    fn entries(&self, start: u64, end: u64, size: u64) -> Result<Vec<Vec<u8>>, MonitorError> {
        let mut out = Vec::with_capacity(usize::try_from(end - start)?);
        let mut tile = start / TILE_WIDTH;
        while tile * TILE_WIDTH < end {
            let width = (size - tile * TILE_WIDTH).min(TILE_WIDTH);
            let path = TilePath::new(TileKind::Entries, tile, u16::try_from(width)?)?;
            let bytes = self.get(&format!("{}/{path}", self.url))?;
            let bundle = tiles::decode_bundle(&bytes, usize::try_from(width)?)
                .map_err(|e| format!("{path}: {e}"))?;
            let first = tile * TILE_WIDTH;
            for (i, e) in bundle.into_iter().enumerate() {
                let at = first + i as u64;
                if at >= start && at < end {
                    out.push(e.to_vec());
                }
            }
            tile += 1;
        }
        Ok(out)
    }

    fn get(&self, url: &str) -> Result<Vec<u8>, MonitorError> {
        let r = self
            .agent
            .get(url)
            .call()
            .map_err(|e| format!("GET {url}: {e}"))?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut r.into_reader(), &mut bytes)?;
        Ok(bytes)
    }
}
