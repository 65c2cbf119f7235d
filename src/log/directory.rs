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
use crate::entry::Entry;
use crate::index::ChainHead;
use crate::note::BASE64;
use crate::standing::StandingSummary;
use crate::statement::{Statement, SupplierId, STATEMENT_TYPE};

/// One supplier, as its newest record names it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SupplierSummary {
    /// The Open Supply Hub OS ID.
    pub id: String,
    pub name: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
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
    standings: HashMap<String, (ChainHead, time::Date, Option<StandingSummary>)>,
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
            next.push((
                h,
                SupplierSummary {
                    id: subject,
                    name: s.supplier.name,
                    country: s.supplier.country,
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
        after: Option<&str>,
        limit: usize,
        max_records: usize,
    ) -> Result<SupplierPage, LogError> {
        let view = self.view();
        let (size, all) = self.directory(&view)?;
        let q = query.map(str::to_lowercase);
        let matches = |s: &SupplierSummary| {
            q.as_ref().is_none_or(|q| {
                s.id.to_lowercase().starts_with(q) || s.name.to_lowercase().contains(q)
            }) && country.is_none_or(|c| s.country == c)
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
        let today = now.date();
        if let Some((h, day, summary)) = self
            .directory
            .lock()
            .expect("directory lock")
            .standings
            .get(&s.id)
        {
            if *h == head && *day == today {
                return Ok(summary.clone());
            }
        }
        let summary = if s.records as usize > max_records {
            None
        } else {
            let history = view.history(&s.id, None, max_records)?;
            let report = crate::verify::verify_history(&history, &s.id, self.verifier(), now);
            let standing = crate::standing::standing(&report, now).map_err(|e| {
                self.halt(format!("the log's own history of {} does not verify", s.id));
                LogError::Inconsistent(e.to_string())
            })?;
            Some(standing.summary())
        };
        self.directory
            .lock()
            .expect("directory lock")
            .standings
            .insert(s.id.clone(), (head, today, summary.clone()));
        Ok(summary)
    }
}
