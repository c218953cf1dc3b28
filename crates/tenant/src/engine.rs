//! The engine a tenant's request is given: the real one, with every write tagged and every
//! read confined to the tenant and stripped of its label (see the crate docs).
//!
//! What is not about one tenant's series — flush, snapshot, figures, the settled range —
//! is passed through: the server only gives this engine to tenant-scoped handlers, which
//! do not ask for those.

use std::path::Path;

use strata_model::histogram::HistogramValue;
use strata_model::{Labels, Matcher};
use strata_storage::{
    AppendRef, AppendResult, Engine, EngineStats, FlushReport, Rejected, Series, SnapshotReport, StorageError,
};

use crate::label::{confine, strip, tag, TENANT_LABEL};
use crate::TenantId;

/// The engine seen by one tenant.
#[derive(Debug, Clone)]
pub struct TenantEngine<'e> {
    inner: &'e dyn Engine,
    tenant: TenantId,
}

/// The engine a request reads and writes: all of it (one tenant, the default), or one
/// tenant's part.
#[derive(Debug, Clone)]
pub enum EngineView<'e> {
    All(&'e dyn Engine),
    Tenant(TenantEngine<'e>),
}

impl<'e> EngineView<'e> {
    /// The view for `tenant` (`None`: the whole engine).
    pub fn new(inner: &'e dyn Engine, tenant: Option<&TenantId>) -> EngineView<'e> {
        match tenant {
            None => EngineView::All(inner),
            Some(t) => EngineView::Tenant(TenantEngine::new(inner, t.clone())),
        }
    }

    /// The engine to use.
    pub fn engine(&self) -> &dyn Engine {
        match self {
            EngineView::All(e) => *e,
            EngineView::Tenant(t) => t,
        }
    }
}

/// A batch's samples whose labels could be tagged, where each came from, and the refusals
/// of the others.
struct Tagged<T> {
    batch: Vec<(Labels, i64, T)>,
    positions: Vec<usize>,
    refused: Vec<Rejected>,
}

impl<'e> TenantEngine<'e> {
    /// `inner` as `tenant` sees it.
    pub fn new(inner: &'e dyn Engine, tenant: TenantId) -> TenantEngine<'e> {
        TenantEngine { inner, tenant }
    }

    fn tag_batch<T: Clone>(&self, batch: &[(Labels, i64, T)]) -> Tagged<T> {
        let mut tagged =
            Tagged { batch: Vec::with_capacity(batch.len()), positions: Vec::new(), refused: Vec::new() };
        for (index, (labels, t, v)) in batch.iter().enumerate() {
            match tag(labels, &self.tenant) {
                Ok(l) => {
                    tagged.batch.push((l, *t, v.clone()));
                    tagged.positions.push(index);
                }
                Err(reason) => tagged.refused.push(Rejected { index, reason }),
            }
        }
        tagged
    }

    /// Appends the taggable samples with `append`, reporting refusals at their places in
    /// the caller's batch.
    fn append_tagged<T: Clone>(
        &self,
        batch: &[(Labels, i64, T)],
        append: impl FnOnce(&[(Labels, i64, T)]) -> Result<AppendResult, StorageError>,
    ) -> Result<AppendResult, StorageError> {
        let Tagged { batch: tagged, positions, mut refused } = self.tag_batch(batch);
        let mut result = if tagged.is_empty() { AppendResult::default() } else { append(&tagged)? };
        for r in &mut result.rejected {
            r.index = positions[r.index];
        }
        result.rejected.append(&mut refused);
        result.rejected.sort_by_key(|r| r.index);
        Ok(result)
    }
}

/// Series read back without the tenant's label, in label order again.
fn stripped(mut series: Vec<Series>) -> Vec<Series> {
    for s in &mut series {
        strip(s.labels_mut());
    }
    series.sort_by(|a, b| a.labels().cmp(b.labels()));
    series
}

impl Engine for TenantEngine<'_> {
    fn series_refs(&self, labels: &[Labels]) -> Result<Vec<AppendRef>, StorageError> {
        let tagged = labels
            .iter()
            .map(|l| tag(l, &self.tenant))
            .collect::<Result<Vec<_>, _>>()
            .map_err(StorageError::Refused)?;
        self.inner.series_refs(&tagged)
    }

    fn series_refs_admitted(
        &self,
        labels: &[Labels],
    ) -> Result<Vec<Result<AppendRef, String>>, StorageError> {
        let tags: Vec<Result<Labels, String>> = labels.iter().map(|l| tag(l, &self.tenant)).collect();
        let ok: Vec<Labels> = tags.iter().filter_map(|t| t.as_ref().ok().cloned()).collect();
        let mut admitted = self.inner.series_refs_admitted(&ok)?.into_iter();
        Ok(tags
            .into_iter()
            .map(|t| match t {
                Ok(_) => {
                    admitted.next().unwrap_or_else(|| Err("the engine answered for fewer series".into()))
                }
                Err(reason) => Err(reason),
            })
            .collect())
    }

    fn append_refs(&self, batch: &[(AppendRef, i64, f64)]) -> Result<AppendResult, StorageError> {
        // Refs are handed out by `series_refs` of this view (the server's series caches are
        // per tenant), so they name this tenant's series.
        self.inner.append_refs(batch)
    }

    fn append(&self, batch: &[(Labels, i64, f64)]) -> Result<AppendResult, StorageError> {
        self.append_tagged(batch, |b| self.inner.append(b))
    }

    fn append_histograms(
        &self,
        batch: &[(Labels, i64, HistogramValue)],
    ) -> Result<AppendResult, StorageError> {
        self.append_tagged(batch, |b| self.inner.append_histograms(b))
    }

    fn append_unsynced(&self, batch: &[(Labels, i64, f64)]) -> Result<AppendResult, StorageError> {
        self.append_tagged(batch, |b| self.inner.append_unsynced(b))
    }

    fn sync_wal(&self) -> Result<(), StorageError> {
        self.inner.sync_wal()
    }

    fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Series>, StorageError> {
        let Some(confined) = confine(matchers, &self.tenant) else { return Ok(Vec::new()) };
        Ok(stripped(self.inner.select(&confined, mint, maxt)?))
    }

    fn series_labels(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Labels>, StorageError> {
        let Some(confined) = confine(matchers, &self.tenant) else { return Ok(Vec::new()) };
        let mut labels = self.inner.series_labels(&confined, mint, maxt)?;
        labels.iter_mut().for_each(strip);
        Ok(labels)
    }

    fn distinct_label_values(
        &self,
        matchers: &[Matcher],
        names: &[&str],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Vec<Option<String>>>, StorageError> {
        let Some(confined) = confine(matchers, &self.tenant) else { return Ok(Vec::new()) };
        // The tenant's label is not the tenant's to see: asked for, it is absent.
        let asked: Vec<&str> = names.iter().map(|n| if *n == TENANT_LABEL { "" } else { *n }).collect();
        self.inner.distinct_label_values(&confined, &asked, mint, maxt)
    }

    fn resolution_ns(&self) -> i64 {
        self.inner.resolution_ns()
    }

    fn append_refs_ns(&self, batch: &[(AppendRef, i64, f64)]) -> Result<AppendResult, StorageError> {
        self.inner.append_refs_ns(batch) // refs name this tenant's series (see `append_refs`)
    }

    fn append_ns(&self, batch: &[(Labels, i64, f64)]) -> Result<AppendResult, StorageError> {
        self.append_tagged(batch, |b| self.inner.append_ns(b))
    }

    fn select_ns(&self, matchers: &[Matcher], min_ns: i64, max_ns: i64) -> Result<Vec<Series>, StorageError> {
        let Some(confined) = confine(matchers, &self.tenant) else { return Ok(Vec::new()) };
        Ok(stripped(self.inner.select_ns(&confined, min_ns, max_ns)?))
    }

    fn label_names(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<String>, StorageError> {
        let Some(confined) = confine(matchers, &self.tenant) else { return Ok(Vec::new()) };
        let mut names = self.inner.label_names(&confined, mint, maxt)?;
        names.retain(|n| n != TENANT_LABEL);
        Ok(names)
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, StorageError> {
        let confined = confine(matchers, &self.tenant);
        match confined {
            Some(confined) if name != TENANT_LABEL => self.inner.label_values(name, &confined, mint, maxt),
            _ => Ok(Vec::new()),
        }
    }

    fn delete(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<u64, StorageError> {
        let Some(confined) = confine(matchers, &self.tenant) else { return Ok(0) };
        self.inner.delete(&confined, mint, maxt)
    }

    fn flush(&self) -> Result<FlushReport, StorageError> {
        self.inner.flush()
    }

    fn snapshot(&self, out: &Path) -> Result<SnapshotReport, StorageError> {
        self.inner.snapshot(out)
    }

    fn stats(&self) -> Result<EngineStats, StorageError> {
        self.inner.stats()
    }

    fn settled_range(&self) -> Option<(i64, i64)> {
        self.inner.settled_range()
    }
}
