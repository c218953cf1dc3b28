//! What the PromQL engine reads: series selected by matchers over a time range, with their
//! samples decoded lazily (`strata_storage::Series`). Every storage engine is one; so is
//! [`MemoryQueryable`], the store the conformance runner loads scripts into.

use std::collections::BTreeMap;

use strata_model::histogram::HistogramValue;
use strata_model::{Labels, Matcher};
use strata_rollup::RollupSource;
use strata_storage::{Engine, Series, StorageError};

/// A source of series for queries.
pub trait Queryable: Send + Sync {
    /// Series the matchers select with samples in `[mint, maxt]` (both inclusive), sorted by
    /// labels.
    fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Series>, StorageError>;

    /// Rollup tiers of the same data, which range functions read where they answer
    /// exactly (`strata_rollup`); none by default.
    fn rollups(&self) -> Option<&dyn RollupSource> {
        None
    }
}

/// A store read together with its rollup tiers.
#[derive(Clone, Copy)]
pub struct WithRollups<'a> {
    pub store: &'a dyn Queryable,
    pub rollups: &'a dyn RollupSource,
}

impl std::fmt::Debug for WithRollups<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WithRollups").field("rollups", &self.rollups).finish_non_exhaustive()
    }
}

impl Queryable for WithRollups<'_> {
    fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Series>, StorageError> {
        self.store.select(matchers, mint, maxt)
    }

    fn rollups(&self) -> Option<&dyn RollupSource> {
        Some(self.rollups)
    }
}

impl<E: Engine + ?Sized> Queryable for E {
    fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Series>, StorageError> {
        Engine::select(self, matchers, mint, maxt)
    }
}

/// Series held in memory, for tests and the conformance runner.
#[derive(Debug, Default, Clone)]
pub struct MemoryQueryable {
    series: BTreeMap<Labels, BTreeMap<i64, f64>>,
    /// Native-histogram samples.
    histograms: BTreeMap<Labels, BTreeMap<i64, HistogramValue>>,
    /// Start timestamps of the series that have them, by sample time.
    start_times: BTreeMap<Labels, BTreeMap<i64, i64>>,
}

impl MemoryQueryable {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a sample (a later one at the same timestamp replaces it).
    pub fn add(&mut self, labels: &Labels, t: i64, v: f64) {
        self.series.entry(labels.clone()).or_default().insert(t, v);
    }

    /// Adds a native-histogram sample (a later one at the same timestamp replaces it, and
    /// a float at that time is dropped: a time has one sample).
    pub fn add_histogram(&mut self, labels: &Labels, t: i64, h: HistogramValue) {
        if let Some(floats) = self.series.get_mut(labels) {
            floats.remove(&t);
        }
        self.histograms.entry(labels.clone()).or_default().insert(t, h);
    }

    /// Gives the sample at `t` the start timestamp `st` (when its counter started; 0 is
    /// unknown), which `rate`, `increase`, `irate` and `resets` read.
    pub fn add_start_time(&mut self, labels: &Labels, t: i64, st: i64) {
        self.start_times.entry(labels.clone()).or_default().insert(t, st);
    }

    /// Drops everything.
    pub fn clear(&mut self) {
        self.series.clear();
        self.histograms.clear();
        self.start_times.clear();
    }

    /// Number of samples held.
    pub fn sample_count(&self) -> usize {
        self.series.values().map(BTreeMap::len).sum::<usize>()
            + self.histograms.values().map(BTreeMap::len).sum::<usize>()
    }
}

/// A series' histograms with the counter-reset hints a TSDB gives them when read back, as
/// Prometheus' chunks do: a gauge stays a gauge; the first sample keeps what it was written
/// with, as does one written as a reset; after that a sample where a count went down (or
/// the layout cannot continue the previous one) starts a new chunk, whose first sample
/// reads back knowing nothing (Prometheus never hands out the reset hint it cut the chunk
/// for: prometheus#15346), and any other is not a reset.
fn readback_hints(series: &BTreeMap<i64, HistogramValue>) -> Vec<(i64, HistogramValue)> {
    use strata_model::histogram::{CounterResetHint, FloatHistogram};
    let mut out: Vec<(i64, HistogramValue)> = Vec::with_capacity(series.len());
    let mut previous: Option<FloatHistogram> = None;
    for (t, h) in series {
        let float = h.to_float();
        let written = float.counter_reset_hint;
        let hint = match (&previous, written) {
            (_, CounterResetHint::Gauge | CounterResetHint::CounterReset) | (None, _) => written,
            (Some(p), _) if crate::eval::detect_reset(&unhinted(&float), p) => CounterResetHint::Unknown,
            (Some(_), _) => CounterResetHint::NotCounterReset,
        };
        let mut h = h.clone();
        match &mut h {
            HistogramValue::Integer(i) => i.counter_reset_hint = hint,
            HistogramValue::Float(f) => f.counter_reset_hint = hint,
        }
        previous = Some(float);
        out.push((*t, h));
    }
    out
}

/// `h` without its hint, for a reset found from the counts alone.
fn unhinted(h: &strata_model::histogram::FloatHistogram) -> strata_model::histogram::FloatHistogram {
    let mut h = h.clone();
    h.counter_reset_hint = strata_model::histogram::CounterResetHint::Unknown;
    h
}

impl Queryable for MemoryQueryable {
    fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Series>, StorageError> {
        let mut out = Vec::new();
        // An empty range (a zero-length range selector asks for one): nothing, and no
        // BTreeMap range with its start past its end, which panics.
        if mint > maxt {
            return Ok(out);
        }
        let empty = BTreeMap::new();
        let all: std::collections::BTreeSet<&Labels> =
            self.series.keys().chain(self.histograms.keys()).collect();
        for labels in all {
            if !matchers.iter().all(|m| m.matches_labels(labels)) {
                continue;
            }
            let samples = self.series.get(labels).unwrap_or(&empty);
            let in_range: Vec<(i64, f64)> = samples.range(mint..=maxt).map(|(t, v)| (*t, *v)).collect();
            let histograms: Vec<(i64, HistogramValue)> = self
                .histograms
                .get(labels)
                .map(|h| {
                    let hinted = readback_hints(h);
                    hinted.into_iter().filter(|(t, _)| (mint..=maxt).contains(t)).collect()
                })
                .unwrap_or_default();
            if in_range.is_empty() && histograms.is_empty() {
                continue;
            }
            let mut series =
                Series::from_samples(labels.clone(), in_range, mint, maxt).with_histograms(histograms);
            if let Some(start_times) = self.start_times.get(labels) {
                series = series
                    .with_start_times(start_times.range(mint..=maxt).map(|(t, st)| (*t, *st)).collect());
            }
            out.push(series);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(job: &str) -> Labels {
        Labels::from_pairs([("__name__", "up"), ("job", job)]).unwrap()
    }

    #[test]
    fn an_empty_range_selects_nothing_rather_than_panicking() {
        // Found by the promql_eval fuzz target: `absent_over_time(x{a!="b"}[0m])`.
        let mut store = MemoryQueryable::new();
        store.add(&labels("a"), 10, 1.0);
        assert!(store.select(&[], 11, 10).unwrap().is_empty());
        let engine = crate::QueryEngine::new(crate::EngineOptions::default());
        let query = "absent_over_time(up{job!=\"/foo\"}[0m])";
        let _ = engine.instant(&store, query, 60_000);
    }

    #[test]
    fn selects_by_matchers_and_range_in_label_order() {
        let mut store = MemoryQueryable::new();
        for t in 0..10 {
            store.add(&labels("b"), t * 10, t as f64);
            store.add(&labels("a"), t * 10, -(t as f64));
        }
        store.add(&labels("a"), 0, 42.0);
        assert_eq!(store.sample_count(), 20);
        let all = store.select(&[], 15, 40).unwrap();
        assert_eq!(all.iter().map(|s| s.labels().get("job").unwrap()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(all[1].collect_samples().unwrap(), [(20, 2.0), (30, 3.0), (40, 4.0)]);
        let a = store.select(&[Matcher::equal("job", "a")], 0, 0).unwrap();
        assert_eq!(a[0].collect_samples().unwrap(), [(0, 42.0)], "a later add replaces");
        store.clear();
        assert!(store.select(&[], i64::MIN, i64::MAX).unwrap().is_empty());
    }

    #[test]
    fn a_block_engine_is_queryable() {
        let dir = tempfile::tempdir().unwrap();
        let engine =
            strata_storage::BlockEngine::open(dir.path(), strata_storage::BlockEngineOptions::default())
                .unwrap();
        engine.append(&[(labels("a"), 1000, 1.0), (labels("a"), 2000, 2.0)]).unwrap();
        let q: &dyn Queryable = &engine;
        assert_eq!(q.select(&[], 0, 1500).unwrap()[0].collect_samples().unwrap(), [(1000, 1.0)]);
    }
}
