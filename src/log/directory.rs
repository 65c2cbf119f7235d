//! The supplier directory: every supplier the log has records about, with its name,
//! country, record count and last activity, searchable by OS ID or part of the name
//! (`GET /v1/suppliers`, `vouch suppliers`).
//!
//! Built from the store's chain heads and each supplier's newest entry (proven against
//! the signed checkpoint), kept in memory and brought up to date on the next request
//! after the log grew: only suppliers whose head moved are read again.
//!
//! Each supplier on a page also gets its standing in brief, computed as
//! `/v1/suppliers/{id}/standing` computes it (the complete history, verified, then
//! [`crate::standing::standing`]); kept per supplier until its chain head moves or the
//! day changes (records expire), so a page costs one verification per supplier whose
//! history changed.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::{Log, LogError, View};
use crate::bundle::History;
use crate::entry::Entry;
use crate::index::ChainHead;
use crate::note::BASE64;
use crate::standing::{StandingSummary, SupplierStanding};
use crate::statement::{Statement, SupplierId, STATEMENT_TYPE};
use crate::verify::HistoryReport;

/// A supplier's complete history as of one head, verified as a client verifies it
/// but for envelope signatures, taken as the log checked them at admission
/// ([`crate::verify::verify_own_history`]), and the standing drawn from it: what
/// `/v1/suppliers/{id}/standing`, the directory's briefs and the explorer's factory
/// page all show, from one read path.
#[derive(Debug)]
pub struct SupplierFile {
    /// The history, as `/v1/suppliers/{id}/history` serves its first page.
    pub history: History,
    /// The histories of the OS IDs its alias records join to it.
    pub joined: Vec<History>,
    /// Its verification, entry by entry.
    pub report: HistoryReport,
    pub standing: SupplierStanding,
}

impl SupplierFile {
    /// The summary for lenders ([`crate::summary`]) drawn from this file.
    ///
    /// # Errors
    /// [`LogError::Inconsistent`] if its history does not verify (the log drew it from
    /// its own store, so that is a fault of the log).
    pub fn summary(&self) -> Result<crate::summary::Summary, LogError> {
        crate::summary::summary(&self.report, &self.standing, &self.history.checkpoint).ok_or_else(
            || {
                LogError::Inconsistent(format!(
                    "the log's own history of {} does not verify",
                    self.history.supplier
                ))
            },
        )
    }
}

/// What a supplier's file or brief was drawn from: it holds while the supplier's chain
/// head and the registry are the same and its first expiry (the end of the UTC day,
/// when corrective actions age, or an earlier `valid_until`) has not come.
#[derive(Clone)]
pub(super) struct Drawn {
    head: ChainHead,
    /// The chain heads of the OS IDs joined to it.
    joined: Vec<(String, Option<ChainHead>)>,
    registry: Option<Arc<crate::registry::Registry>>,
    expires: time::OffsetDateTime,
}

impl Drawn {
    /// For `view`, expiring at the end of the UTC day of `now`.
    fn new(view: &View<'_>, head: ChainHead, now: time::OffsetDateTime) -> Drawn {
        Drawn {
            head,
            joined: Vec::new(),
            registry: view.registry().ok().cloned(),
            expires: (now.date() + time::Duration::days(1))
                .midnight()
                .assume_utc(),
        }
    }

    /// Whether it still holds for `head` in `view` at `now`.
    fn holds(&self, view: &View<'_>, head: ChainHead, now: time::OffsetDateTime) -> bool {
        let same_registry = match (&self.registry, view.registry().ok()) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        let joined_same = self
            .joined
            .iter()
            .all(|(id, h)| view.head().index.get(&crate::index::key(id)) == *h);
        self.head == head && same_registry && joined_same && now < self.expires
    }
}

/// A supplier file as drawn.
#[derive(Clone)]
pub(super) struct Kept {
    drawn: Drawn,
    file: Arc<SupplierFile>,
}

/// Supplier files by OS ID, weighed by their records.
pub(super) type FileCache = quick_cache::sync::Cache<String, Kept, FileWeight>;

/// How many records the kept supplier files may hold in all (a few KiB each).
const FILE_CACHE_RECORDS: u64 = 4_096;

#[derive(Clone)]
pub(super) struct FileWeight;

impl quick_cache::Weighter<String, Kept> for FileWeight {
    fn weight(&self, _: &String, v: &Kept) -> u64 {
        v.file.history.entries.len() as u64 + 1
    }
}

pub(super) fn file_cache() -> FileCache {
    FileCache::with_weighter(256, FILE_CACHE_RECORDS, FileWeight)
}

/// One supplier, as its newest record names it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SupplierSummary {
    /// The Open Supply Hub OS ID.
    pub id: String,
    pub name: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// The province its newest record names (or, if that names none, the one an
    /// earlier record named while this server ran).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    /// Records about the supplier.
    pub records: u64,
    /// Its newest record: index, kind, and when its signer says it was issued.
    pub newest_index: u64,
    pub newest_kind: String,
    pub newest_issued_at: String,
    /// Its standing in brief, as `/v1/suppliers/{id}/standing` computes it (which
    /// serves the proof to recompute it). Absent for a supplier with more records than
    /// the server verifies in one request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standing: Option<StandingSummary>,
}

impl SupplierSummary {
    /// Whether a search finds this supplier: its OS ID starts with `query`, or its name
    /// holds it (`query` in lower case; any case in the supplier's).
    pub fn matches(&self, query: &str) -> bool {
        self.id.to_lowercase().starts_with(query) || self.name.to_lowercase().contains(query)
    }
}

/// A page of the directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SupplierPage {
    pub tree_size: u64,
    /// How many suppliers match the search, on all pages.
    pub total: u64,
    pub suppliers: Vec<SupplierSummary>,
    /// The next page: `?after=<next_after>` with the same search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
}

/// The cached directory and the tree size it reflects.
#[derive(Default)]
pub(super) struct Directory {
    size: u64,
    /// By OS ID, in OS ID order.
    suppliers: Arc<Vec<(ChainHead, SupplierSummary)>>,
    /// Standings in brief by OS ID, with the chain head and the day they were
    /// computed for.
    standings: HashMap<String, (Drawn, Option<StandingSummary>)>,
}

impl Log {
    /// The directory as of the published head, updated if the log grew.
    #[allow(clippy::type_complexity)]
    fn directory(
        &self,
        view: &View<'_>,
    ) -> Result<(u64, Arc<Vec<(ChainHead, SupplierSummary)>>), LogError> {
        let head = view.head();
        let size = head.size();
        let mut dir = self.directory.lock().expect("directory lock");
        if dir.size == size && size > 0 {
            return Ok((size, dir.suppliers.clone()));
        }
        let known: HashMap<&str, &(ChainHead, SupplierSummary)> =
            dir.suppliers.iter().map(|e| (e.1.id.as_str(), e)).collect();
        let mut next = Vec::with_capacity(known.len());
        let heads = self.stored(self.shared.store.subject_heads(None, usize::MAX))?;
        for (subject, _) in heads {
            if SupplierId::new(&subject).is_err() {
                continue;
            }
            // As of the head: the store may already hold a newer batch.
            let Some(h) = head.index.get(&crate::index::key(&subject)) else {
                continue;
            };
            if let Some(e) = known.get(subject.as_str()).filter(|e| e.0 == h) {
                next.push((*e).clone());
                continue;
            }
            let (bytes, _) = view.proven_entry(h.newest_index, size)?;
            let entry = Entry::parse(&bytes)
                .map_err(|e| LogError::Inconsistent(format!("entry {}: {e}", h.newest_index)))?;
            let statement = (entry.envelope.payload_type == STATEMENT_TYPE)
                .then(|| BASE64.decode(&entry.envelope.payload).ok())
                .flatten()
                .and_then(|p| Statement::parse(&p).ok());
            let Some(s) = statement else {
                continue;
            };
            // Only the newest record is read for each supplier (a directory of a
            // million entries is drawn in a second): one that names no province keeps
            // the province known before it, if any.
            let province = s.supplier.province.or_else(|| {
                known
                    .get(subject.as_str())
                    .and_then(|e| e.1.province.clone())
            });
            next.push((
                h,
                SupplierSummary {
                    id: subject,
                    name: s.supplier.name,
                    country: s.supplier.country,
                    province,
                    records: h.count,
                    newest_index: h.newest_index,
                    newest_kind: s.kind.to_string(),
                    newest_issued_at: s.issued_at,
                    standing: None,
                },
            ));
        }
        dir.size = size;
        dir.suppliers = Arc::new(next);
        Ok((size, dir.suppliers.clone()))
    }

    /// A page of the supplier directory: suppliers whose OS ID starts with `query` or
    /// whose name contains it (any case), optionally in one `country`, in OS ID order
    /// after `after`, at most `limit`; each with its standing in brief if it has at
    /// most `max_records` records.
    ///
    /// # Errors
    /// A corrupt store; a supplier history the log cannot verify itself (the log then
    /// stops taking writes).
    pub fn suppliers(
        &self,
        query: Option<&str>,
        country: Option<&str>,
        province: Option<&str>,
        after: Option<&str>,
        limit: usize,
        max_records: usize,
    ) -> Result<SupplierPage, LogError> {
        let view = self.view();
        let (size, all) = self.directory(&view)?;
        let q = query.map(str::to_lowercase);
        let matches = |s: &SupplierSummary| {
            q.as_ref().is_none_or(|q| s.matches(q))
                && country.is_none_or(|c| s.country == c)
                && province.is_none_or(|p| s.province.as_deref() == Some(p))
        };
        let found: Vec<&SupplierSummary> =
            all.iter().map(|e| &e.1).filter(|s| matches(s)).collect();
        let start = after.map_or(0, |a| found.partition_point(|s| s.id.as_str() <= a));
        let mut page: Vec<SupplierSummary> = found[start..]
            .iter()
            .take(limit)
            .map(|s| (*s).clone())
            .collect();
        for s in &mut page {
            s.standing = self.standing_summary(&view, s, max_records)?;
        }
        let next_after = (start + page.len() < found.len())
            .then(|| page.last().map(|s| s.id.clone()))
            .flatten();
        Ok(SupplierPage {
            tree_size: size,
            total: found.len() as u64,
            suppliers: page,
            next_after,
        })
    }
}

impl Log {
    /// The file of supplier `id` as of `view`: its complete history (at most
    /// `max_records` records), verified ([`crate::verify::verify_own_history`]), and
    /// its standing. Kept while the supplier's chain head and the registry stay the
    /// same, until the end of the UTC day (corrective actions age) or the first
    /// `valid_until` to pass, if sooner.
    ///
    /// `Ok(None)` when the log has no record about `id`; [`LogError::TooManyRecords`]
    /// when it has more than `max_records`.
    ///
    /// # Errors
    /// A corrupt store; a history the log cannot verify itself (the log then stops
    /// taking writes: its own records must verify).
    pub fn supplier_file(
        &self,
        view: &View<'_>,
        id: &str,
        max_records: usize,
    ) -> Result<Option<Arc<SupplierFile>>, LogError> {
        Ok(self.kept_file(view, id, max_records)?.map(|k| k.file))
    }

    /// [`Log::supplier_file`] with what it was drawn from.
    fn kept_file(
        &self,
        view: &View<'_>,
        id: &str,
        max_records: usize,
    ) -> Result<Option<Kept>, LogError> {
        let Some(head) = view.head().index.get(&crate::index::key(id)) else {
            return Ok(None);
        };
        let now = time::OffsetDateTime::now_utc();
        if let Some(k) = self.files.get(id) {
            if k.drawn.holds(view, head, now) {
                return Ok(Some(k));
            }
        }
        if head.count > max_records as u64 {
            return Err(LogError::TooManyRecords {
                supplier: id.to_owned(),
                records: head.count,
                max: max_records,
            });
        }
        let history = view.history(id, None, max_records)?;
        let report = crate::verify::verify_own_history(&history, id, self.verifier(), now);
        // The OS IDs its alias records join to it: their histories are read with it.
        let joined_ids = crate::verify::joined_ids(&report);
        // Together they may hold no more records than one history may.
        let mut records = head.count;
        for other in &joined_ids {
            records += view
                .head()
                .index
                .get(&crate::index::key(other))
                .map_or(0, |h| h.count);
        }
        if records > max_records as u64 {
            return Err(LogError::TooManyRecords {
                supplier: id.to_owned(),
                records,
                max: max_records,
            });
        }
        let joined = joined_ids
            .iter()
            .map(|other| view.history(other, None, max_records))
            .collect::<Result<Vec<History>, LogError>>()?;
        let report = crate::verify::join(report, &history, &joined, self.verifier(), now);
        let standing = crate::standing::standing(&report, now).map_err(|e| {
            self.halt(format!("the log's own history of {id} does not verify"));
            LogError::Inconsistent(e.to_string())
        })?;
        let mut drawn = Drawn::new(view, head, now);
        drawn.joined = joined_ids
            .iter()
            .map(|other| {
                (
                    other.clone(),
                    view.head().index.get(&crate::index::key(other)),
                )
            })
            .collect();
        drawn.expires = report
            .entries
            .iter()
            .filter_map(|r| r.statement.as_ref()?.valid_until())
            .filter(|u| *u > now)
            .fold(drawn.expires, std::cmp::min);
        let kept = Kept {
            drawn,
            file: Arc::new(SupplierFile {
                history,
                joined,
                report,
                standing,
            }),
        };
        self.files.insert(id.to_owned(), kept.clone());
        Ok(Some(kept))
    }

    /// Every supplier the log has records about, as of `view`, in OS ID order, without
    /// standings ([`Log::supplier_brief`] gives each).
    ///
    /// # Errors
    /// A corrupt store.
    pub fn supplier_summaries(&self, view: &View<'_>) -> Result<Vec<SupplierSummary>, LogError> {
        Ok(self
            .directory(view)?
            .1
            .iter()
            .map(|e| e.1.clone())
            .collect())
    }

    /// The standing in brief of the supplier `s` names if it is already drawn for its
    /// chain head today: `Some(None)` for a supplier with too many records to draw one,
    /// `None` when it is yet to be drawn ([`Log::supplier_brief`] draws it).
    pub fn cached_supplier_brief(
        &self,
        view: &View<'_>,
        s: &SupplierSummary,
    ) -> Option<Option<StandingSummary>> {
        let head = view.head().index.get(&crate::index::key(&s.id))?;
        let now = time::OffsetDateTime::now_utc();
        let dir = self.directory.lock().expect("directory lock");
        let (drawn, summary) = dir.standings.get(&s.id)?;
        drawn.holds(view, head, now).then(|| summary.clone())
    }

    /// Draws the briefs of `suppliers` on a thread of its own, one at a time, unless
    /// one such thread is already at work (a page asked for meanwhile draws its own
    /// missing briefs on its next visit): a directory page then shows what is drawn and
    /// does not wait for the rest (each brief verifies a whole history).
    pub fn draw_briefs_later(
        self: &Arc<Self>,
        suppliers: Vec<SupplierSummary>,
        max_records: usize,
    ) {
        use std::sync::atomic::Ordering;
        if suppliers.is_empty() || self.drawing.swap(true, Ordering::AcqRel) {
            return;
        }
        /// Lets the next page start a drawing thread, however this one ends (a panic
        /// included).
        struct Done(Arc<Log>);
        impl Drop for Done {
            fn drop(&mut self) {
                self.0.drawing.store(false, Ordering::Release);
            }
        }
        let done = Done(self.clone());
        let spawned = std::thread::Builder::new()
            .name("vouch-briefs".into())
            .spawn(move || {
                let log = &done.0;
                for s in &suppliers {
                    let view = log.view();
                    if let Err(e) = log.standing_summary(&view, s, max_records) {
                        tracing::warn!(supplier = %s.id, error = %e, "could not draw a standing in brief");
                        break;
                    }
                }
            });
        if spawned.is_err() {
            self.drawing.store(false, Ordering::Release);
        }
    }

    /// The standing in brief of the supplier `s` names (`None` when it has more than
    /// `max_records` records), as the directory shows it.
    ///
    /// # Errors
    /// As [`Log::supplier_file`].
    pub fn supplier_brief(
        &self,
        view: &View<'_>,
        s: &SupplierSummary,
        max_records: usize,
    ) -> Result<Option<StandingSummary>, LogError> {
        self.standing_summary(view, s, max_records)
    }

    /// The standing in brief of the supplier `s` names, from the cache if its chain
    /// head has not moved today.
    fn standing_summary(
        &self,
        view: &View<'_>,
        s: &SupplierSummary,
        max_records: usize,
    ) -> Result<Option<StandingSummary>, LogError> {
        let Some(head) = view.head().index.get(&crate::index::key(&s.id)) else {
            return Ok(None);
        };
        let now = time::OffsetDateTime::now_utc();
        if let Some((drawn, summary)) = self
            .directory
            .lock()
            .expect("directory lock")
            .standings
            .get(&s.id)
        {
            if drawn.holds(view, head, now) {
                return Ok(summary.clone());
            }
        }
        let (drawn, summary) = match self.kept_file(view, &s.id, max_records) {
            Ok(Some(k)) => (k.drawn, Some(k.file.standing.summary())),
            Ok(None) | Err(LogError::TooManyRecords { .. }) => (Drawn::new(view, head, now), None),
            Err(e) => return Err(e),
        };
        self.directory
            .lock()
            .expect("directory lock")
            .standings
            .insert(s.id.clone(), (drawn, summary.clone()));
        Ok(summary)
    }
}
