//! The supplier directory: every supplier the log has records about, with its name,
//! country, record count and last activity, searchable by OS ID or part of the name
//! (`GET /v1/suppliers`, `vouch suppliers`).
//!
//! Built from the store's chain heads and each supplier's newest entry (proven against
//! the signed checkpoint), kept in memory and brought up to date on the next request
//! after the log grew: only suppliers whose head moved are read again.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::{Log, LogError};
use crate::entry::Entry;
use crate::index::ChainHead;
use crate::note::BASE64;
use crate::statement::{Statement, SupplierId, STATEMENT_TYPE};

/// One supplier, as its newest record names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
}

/// A page of the directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
}

impl Log {
    /// The directory as of the published head, updated if the log grew.
    #[allow(clippy::type_complexity)]
    fn directory(&self) -> Result<(u64, Arc<Vec<(ChainHead, SupplierSummary)>>), LogError> {
        let view = self.view();
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
                },
            ));
        }
        *dir = Directory {
            size,
            suppliers: Arc::new(next),
        };
        Ok((size, dir.suppliers.clone()))
    }

    /// A page of the supplier directory: suppliers whose OS ID starts with `query` or
    /// whose name contains it (any case), optionally in one `country`, in OS ID order
    /// after `after`, at most `limit`.
    ///
    /// # Errors
    /// A corrupt store.
    pub fn suppliers(
        &self,
        query: Option<&str>,
        country: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<SupplierPage, LogError> {
        let (size, all) = self.directory()?;
        let q = query.map(str::to_lowercase);
        let matches = |s: &SupplierSummary| {
            q.as_ref().is_none_or(|q| {
                s.id.to_lowercase().starts_with(q) || s.name.to_lowercase().contains(q)
            }) && country.is_none_or(|c| s.country == c)
        };
        let found: Vec<&SupplierSummary> =
            all.iter().map(|e| &e.1).filter(|s| matches(s)).collect();
        let start = after.map_or(0, |a| found.partition_point(|s| s.id.as_str() <= a));
        let page: Vec<SupplierSummary> = found[start..]
            .iter()
            .take(limit)
            .map(|s| (*s).clone())
            .collect();
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
