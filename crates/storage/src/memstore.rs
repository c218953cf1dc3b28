//! The in-memory store: one map from series to a time-sorted sample array.
//!
//! Shape, and why:
//! - Series get dense ids ([`SeriesId`]) on first sight; callers that append many samples
//!   to one series resolve its labels once and then append by id, so the per-sample cost is
//!   a `Vec` push, not a hash of the labels.
//! - Each series keeps its samples sorted by timestamp. Appends in time order (the usual
//!   case) are pushes; a late sample is inserted at its place found by binary search, and
//!   a sample at an existing timestamp replaces that sample's value (last write wins).
//! - Range queries binary-search both ends, so they cost O(log n + returned samples).
//! - Selection by matchers walks the series of the queried metric name only (a small
//!   name → series list), then tests the remaining matchers; the full inverted index comes
//!   with the index issue.
//!
//! Not thread-safe by itself: it is the single-user store of a REPL and of tests.

use std::collections::HashMap;

use strata_model::{Labels, Matcher, Sample, Timestamp, METRIC_NAME_LABEL};

/// Dense id of a series within one [`MemStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesId(u32);

#[derive(Debug)]
struct Series {
    labels: Labels,
    /// Sorted by `t`, no two samples at the same `t`.
    samples: Vec<Sample>,
}

/// Totals of a store, for the `STATS` command and memory reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemStoreStats {
    /// Number of series.
    pub series: usize,
    /// Number of samples across all series.
    pub samples: usize,
    /// Approximate heap bytes used by samples, labels and the maps.
    pub approx_bytes: usize,
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct MemStore {
    series: Vec<Series>,
    ids: HashMap<Labels, SeriesId>,
    /// Metric name → series with that name (series without a name are under "").
    by_name: HashMap<String, Vec<SeriesId>>,
    samples: usize,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of the series with `labels`, creating it if new.
    pub fn get_or_create(&mut self, labels: &Labels) -> SeriesId {
        if let Some(&id) = self.ids.get(labels) {
            return id;
        }
        let id = SeriesId(self.series.len() as u32);
        self.series.push(Series { labels: labels.clone(), samples: Vec::new() });
        self.ids.insert(labels.clone(), id);
        self.by_name.entry(labels.metric_name().unwrap_or("").to_string()).or_default().push(id);
        id
    }

    /// Adds a sample to series `id` (see the module docs for late and duplicate samples).
    ///
    /// # Panics
    /// If `id` did not come from this store's [`MemStore::get_or_create`].
    pub fn append(&mut self, id: SeriesId, t: Timestamp, v: f64) {
        let samples = &mut self.series[id.0 as usize].samples;
        match samples.last() {
            Some(last) if last.t >= t => match samples.binary_search_by_key(&t, |s| s.t) {
                Ok(i) => samples[i].v = v,
                Err(i) => {
                    samples.insert(i, Sample::new(t, v));
                    self.samples += 1;
                }
            },
            _ => {
                samples.push(Sample::new(t, v));
                self.samples += 1;
            }
        }
    }

    /// Adds a sample to the series with `labels`.
    pub fn insert(&mut self, labels: &Labels, t: Timestamp, v: f64) {
        let id = self.get_or_create(labels);
        self.append(id, t, v);
    }

    /// The labels of series `id`.
    pub fn labels(&self, id: SeriesId) -> &Labels {
        &self.series[id.0 as usize].labels
    }

    /// The samples of series `id` with `from ≤ t ≤ to`, in time order.
    pub fn range(&self, id: SeriesId, from: Timestamp, to: Timestamp) -> &[Sample] {
        let samples = &self.series[id.0 as usize].samples;
        let start = samples.partition_point(|s| s.t < from);
        let end = samples.partition_point(|s| s.t <= to);
        samples.get(start..end).unwrap_or(&[])
    }

    /// The ids of the series every matcher selects, in creation order.
    pub fn select(&self, matchers: &[Matcher]) -> Vec<SeriesId> {
        let name =
            matchers.iter().find(|m| m.name() == METRIC_NAME_LABEL && m.op() == strata_model::MatchOp::Equal);
        let matches = |id: &SeriesId| matchers.iter().all(|m| m.matches_labels(self.labels(*id)));
        match name {
            Some(m) => self
                .by_name
                .get(m.value())
                .map_or(Vec::new(), |ids| ids.iter().copied().filter(matches).collect()),
            None => (0..self.series.len() as u32).map(SeriesId).filter(matches).collect(),
        }
    }

    /// Samples in `[from, to]` of every series the matchers select, merged by time (samples
    /// of equal timestamps keep the series' creation order).
    pub fn query_merged(&self, matchers: &[Matcher], from: Timestamp, to: Timestamp) -> Vec<Sample> {
        let mut out: Vec<Sample> =
            self.select(matchers).into_iter().flat_map(|id| self.range(id, from, to)).copied().collect();
        // Each run is already sorted; a stable sort of concatenated runs is a merge.
        out.sort_by_key(|s| s.t);
        out
    }

    /// Totals, with an approximate memory figure.
    pub fn stats(&self) -> MemStoreStats {
        let sample_bytes: usize =
            self.series.iter().map(|s| s.samples.capacity() * size_of::<Sample>()).sum();
        let label_bytes: usize = self.series.iter().map(|s| 2 * s.labels.heap_bytes()).sum();
        let map_bytes = self.series.len() * (size_of::<Series>() + size_of::<(Labels, SeriesId)>() + 8);
        MemStoreStats {
            series: self.series.len(),
            samples: self.samples,
            approx_bytes: sample_bytes + label_bytes + map_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn labels(host: &str) -> Labels {
        Labels::with_metric_name("cpu.usage", [("host", host), ("region", "us-east")]).unwrap()
    }

    #[test]
    fn query_merges_matching_series_by_time() {
        let mut store = MemStore::new();
        store.insert(&labels("server1"), 1703001600, 0.75);
        store.insert(&labels("server1"), 1703001610, 0.82);
        store.insert(&labels("server2"), 1703001605, 0.5);
        store.insert(&Labels::with_metric_name("mem", [("host", "server1")]).unwrap(), 1703001600, 9.0);
        let name = Matcher::equal(METRIC_NAME_LABEL, "cpu.usage");
        let host = Matcher::equal("host", "server1");
        let one = store.query_merged(&[name.clone(), host], 1703001600, 1703001620);
        assert_eq!(one, vec![Sample::new(1703001600, 0.75), Sample::new(1703001610, 0.82)]);
        let both = store.query_merged(&[name], 0, i64::MAX);
        assert_eq!(both.iter().map(|s| s.t).collect::<Vec<_>>(), [1703001600, 1703001605, 1703001610]);
    }

    #[test]
    fn late_samples_are_inserted_in_order_and_duplicates_overwrite() {
        let mut store = MemStore::new();
        let id = store.get_or_create(&labels("a"));
        for t in [10, 30, 20, 5, 30] {
            store.append(id, t, t as f64);
        }
        store.append(id, 20, -1.0);
        let got: Vec<_> = store.range(id, 0, 100).to_vec();
        assert_eq!(
            got,
            vec![Sample::new(5, 5.0), Sample::new(10, 10.0), Sample::new(20, -1.0), Sample::new(30, 30.0)]
        );
        assert_eq!(store.stats().samples, 4);
        assert!(store.range(id, 31, 40).is_empty());
        assert!(store.range(id, 40, 0).is_empty(), "an inverted range is empty, not a panic");
    }

    proptest! {
        /// Against a BTreeMap model: any insert order, any range.
        #[test]
        fn ranges_match_a_sorted_map(points in proptest::collection::vec((0i64..200, -5.0f64..5.0), 0..300), from in 0i64..200, len in 0i64..100) {
            let mut store = MemStore::new();
            let id = store.get_or_create(&labels("x"));
            let mut model = BTreeMap::new();
            for &(t, v) in &points {
                store.append(id, t, v);
                model.insert(t, v);
            }
            let want: Vec<_> = model.range(from..=from + len).map(|(&t, &v)| Sample::new(t, v)).collect();
            prop_assert_eq!(store.range(id, from, from + len).to_vec(), want);
            prop_assert_eq!(store.stats().samples, model.len());
        }
    }
}
