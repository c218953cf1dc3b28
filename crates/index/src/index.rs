//! [`SeriesIndex`]: the registry, the postings and the queries, behind one lock.
//!
//! Readers (queries, and `get_or_create` of an existing series, the ingest hot path) take
//! the lock shared; only creating or deleting a series takes it exclusively. Creating
//! checks again under the exclusive lock, so two writers racing on a new label set get the
//! same ref.

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use roaring::RoaringBitmap;
use strata_model::{Labels, Matcher};

use crate::census::{self, Census, CensusError, CensusRequest};
use crate::label_table::{LabelTable, NameId};
use crate::series_store::SeriesStore;
use crate::{select, Result, SeriesRef};

/// Figures about an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexStats {
    /// Live series.
    pub series: u64,
    /// Distinct label names.
    pub label_names: usize,
    /// Distinct `name=value` pairs ever seen.
    pub label_values: usize,
    /// Approximate heap bytes of the whole index.
    pub memory_bytes: usize,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) table: LabelTable,
    pub(crate) series: SeriesStore,
    /// Every live series.
    pub(crate) all: RoaringBitmap,
}

/// The index; see the crate docs.
#[derive(Debug)]
pub struct SeriesIndex {
    inner: RwLock<Inner>,
}

impl Default for SeriesIndex {
    fn default() -> Self {
        Self::new()
    }
}

impl SeriesIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::from_inner(Inner {
            table: LabelTable::default(),
            series: SeriesStore::new(),
            all: RoaringBitmap::new(),
        })
    }

    pub(crate) fn from_inner(inner: Inner) -> Self {
        SeriesIndex { inner: RwLock::new(inner) }
    }

    // Only a bug can panic under the lock; it could leave a new series without some of its
    // postings (queries would miss it, never see garbage). Poisoning every later caller
    // would be worse, so a poisoned lock is used as is.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The ref of the series with `labels`, creating it if new. Errors only when the index
    /// is full (2³² series or 4 GiB of labels).
    pub fn get_or_create(&self, labels: &Labels) -> Result<SeriesRef> {
        let hash = labels.stable_hash().0;
        {
            let inner = self.read();
            if let Some(r) = inner.series.find(labels, hash, &inner.table) {
                return Ok(r);
            }
        }
        let mut inner = self.write();
        let inner = &mut *inner;
        if let Some(r) = inner.series.find(labels, hash, &inner.table) {
            return Ok(r);
        }
        let pairs: Vec<_> = labels
            .iter()
            .enumerate()
            .map(|(position, l)| {
                let name = inner.table.name_id_at(position, &l.name);
                (name, inner.table.get_mut(name).value_id_or_insert(&l.value))
            })
            .collect();
        let r = inner.series.push(&pairs, hash)?;
        for &(name, value) in &pairs {
            inner.table.get_mut(name).postings_mut(value).insert(r.0);
        }
        inner.all.insert(r.0);
        Ok(r)
    }

    /// The ref of the series with `labels`, if it exists.
    pub fn get(&self, labels: &Labels) -> Option<SeriesRef> {
        let inner = self.read();
        inner.series.find(labels, labels.stable_hash().0, &inner.table)
    }

    /// The labels of a live series.
    pub fn labels(&self, r: SeriesRef) -> Option<Labels> {
        let inner = self.read();
        inner.all.contains(r.0).then(|| inner.series.labels(r, &inner.table))
    }

    /// The labels ref `r` was given, live or deleted (a deleted series keeps its stored
    /// labels and its ref is never handed out again, so this names one label set for good);
    /// `None` for a ref never handed out.
    pub fn labels_ever(&self, r: SeriesRef) -> Option<Labels> {
        let inner = self.read();
        (r.0 < inner.series.len()).then(|| inner.series.labels(r, &inner.table))
    }

    /// The distinct tuples of the values of `names` (`None` where a series lacks the label)
    /// among the live series of `refs`, in no particular order: read from the stored pairs
    /// by id, so no series' labels are built and only each distinct tuple's strings are
    /// copied (what SHOW TAG VALUES asks of thousands of series).
    pub fn distinct_values(&self, refs: &RoaringBitmap, names: &[&str]) -> Vec<Vec<Option<String>>> {
        let inner = self.read();
        let ids: Vec<Option<NameId>> = names.iter().map(|n| inner.table.name_id(n)).collect();
        let mut seen: std::collections::HashSet<Vec<Option<u32>>, foldhash::fast::RandomState> =
            Default::default();
        let mut tuple = vec![None; names.len()];
        for r in refs.iter().filter(|r| inner.all.contains(*r)) {
            tuple.fill(None);
            for (name, value) in inner.series.pairs(SeriesRef(r)) {
                for (slot, id) in tuple.iter_mut().zip(&ids) {
                    if *id == Some(name) {
                        *slot = Some(value);
                    }
                }
            }
            if !seen.contains(&tuple) {
                seen.insert(tuple.clone());
            }
        }
        let text = |slot: usize, value: Option<u32>| {
            let id = ids[slot]?;
            Some(inner.table.get(id).value(value?).to_string())
        };
        seen.into_iter().map(|t| t.into_iter().enumerate().map(|(slot, v)| text(slot, v)).collect()).collect()
    }

    /// The live series every matcher selects, with Prometheus' semantics (see `select.rs`).
    pub fn select(&self, matchers: &[Matcher]) -> RoaringBitmap {
        let inner = self.read();
        select::select(&inner.table, &inner.all, matchers)
    }

    /// Every live series.
    pub fn all_series(&self) -> RoaringBitmap {
        self.read().all.clone()
    }

    /// Label names that some live series has (those some selected series has, if
    /// `matchers` is not empty), sorted.
    pub fn label_names(&self, matchers: &[Matcher]) -> Vec<String> {
        let inner = self.read();
        let selected = (!matchers.is_empty()).then(|| select::select(&inner.table, &inner.all, matchers));
        let mut names: Vec<String> = inner
            .table
            .iter()
            .filter(|l| l.live_values().any(|(_, p)| selected.as_ref().is_none_or(|s| !p.is_disjoint(s))))
            .map(|l| l.name.to_string())
            .collect();
        names.sort_unstable();
        names
    }

    /// Values of label `name` on live series (on selected series, if `matchers` is not
    /// empty), sorted.
    pub fn label_values(&self, name: &str, matchers: &[Matcher]) -> Vec<String> {
        let inner = self.read();
        let Some(label) = inner.table.by_name(name) else { return Vec::new() };
        let selected = (!matchers.is_empty()).then(|| select::select(&inner.table, &inner.all, matchers));
        let mut values: Vec<String> = label
            .live_values()
            .filter(|(_, p)| selected.as_ref().is_none_or(|s| !p.is_disjoint(s)))
            .map(|(v, _)| v.to_string())
            .collect();
        values.sort_unstable();
        values
    }

    /// Number of live series with `name=value`.
    pub fn series_count(&self, name: &str, value: &str) -> u64 {
        let inner = self.read();
        let Some(label) = inner.table.by_name(name) else { return 0 };
        label.value_id(value).map_or(0, |id| label.postings(id).len())
    }

    /// Counts the series `request` selects from the postings (see `census`), holding the
    /// read lock meanwhile.
    pub fn census(&self, request: &CensusRequest) -> std::result::Result<Census, CensusError> {
        let inner = self.read();
        census::count(&inner.table, &inner.all, request)
    }

    /// Deletes series (for retention and the delete API): they leave every postings list
    /// and the lookup; their refs are never handed out again. Returns how many were live.
    pub fn delete(&self, refs: &RoaringBitmap) -> u64 {
        let mut guard = self.write();
        let inner = &mut *guard;
        let doomed = refs & &inner.all;
        for r in doomed.iter().map(SeriesRef) {
            let hash = inner.series.hash_of(r, &inner.table);
            let pairs: Vec<_> = inner.series.pairs(r).collect();
            for (name, value) in pairs {
                inner.table.get_mut(name).postings_mut(value).remove(r.0);
            }
            inner.series.unmap(hash, r);
        }
        inner.all -= &doomed;
        doomed.len()
    }

    /// Figures about the index.
    pub fn stats(&self) -> IndexStats {
        let inner = self.read();
        IndexStats {
            series: inner.all.len(),
            label_names: inner.table.len(),
            label_values: inner.table.iter().map(|l| l.value_count()).sum(),
            memory_bytes: inner.table.heap_bytes() + inner.series.heap_bytes() + inner.all.serialized_size(),
        }
    }
}
