//! What the ingest path tells about cardinality, learnt from every series the head creates
//! (the admission hook's `learned`, a batch at a time after the head's creation lock), so
//! the cost is per new series, never per sample
//! (write rates, `write_rate`, hear of one sample in 64):
//! new series by metric (Space-Saving top-k), distinct values per metric × label
//! (HyperLogLog: what the index cannot answer once series are gone), new series per hour,
//! and the series count per hour for 90 days (the growth history the forecast reads),
//! persisted as JSON beside the data.
//!
//! A label is *ephemeral* (pod ids, request ids: values seen once, then never again) when
//! nearly every new series brings a new value of it (distinct values ≥ 90% of the series
//! created with it) and new values kept coming: in at least three of the hours tracked and
//! in three quarters of them. A label with many values that arrived together and then
//! stopped (instances at startup) is high-cardinality but stable.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use strata_model::Labels;

use crate::hll::HyperLogLog;
use crate::topk::SpaceSaving;
use crate::write_rate::WriteRates;

const HOUR_MS: i64 = 3_600_000;
/// Hours of growth history kept (90 days).
pub const HISTORY_HOURS: usize = 90 * 24;
/// Metric × label pairs tracked at most (memory bound: a pair costs at most 16 KiB).
const MAX_PAIRS: usize = 20_000;

/// One metric × label as tracked.
#[derive(Debug, Clone)]
struct PairTrack {
    values: HyperLogLog,
    /// Series created carrying the label.
    created: u64,
    /// Hours (since tracking began) in which a new value appeared, the last one first.
    hours_with_new: VecDeque<i64>,
}

/// A label's cardinality as the tracker saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelCardinality {
    pub metric: String,
    pub label: String,
    /// Distinct values seen (HyperLogLog estimate).
    pub distinct_values: u64,
    pub series_created: u64,
    pub ephemeral: bool,
}

/// One point of the growth history.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GrowthPoint {
    /// Start of the hour (ms).
    pub hour: i64,
    /// Active series then.
    pub series: u64,
    /// Series created in that hour.
    pub created: u64,
}

#[derive(Debug)]
struct State {
    new_by_metric: SpaceSaving,
    /// By metric, then label: looked up by `&str`, so a series allocates only for a pair
    /// never seen before.
    pairs: HashMap<String, HashMap<String, PairTrack>>,
    pair_count: usize,
    untracked_pairs: u64,
    history: VecDeque<GrowthPoint>,
    first_hour: i64,
    created_total: u64,
}

impl State {
    /// Learns one new series created in `hour`.
    fn learn(&mut self, labels: &Labels, hour: i64) {
        self.created_total += 1;
        let metric = labels.metric_name().unwrap_or("");
        self.new_by_metric.add(metric, 1);
        if !self.pairs.contains_key(metric) {
            self.pairs.insert(metric.to_string(), HashMap::new());
        }
        let Some(by_label) = self.pairs.get_mut(metric) else { return };
        for l in labels.iter().filter(|l| l.name != "__name__") {
            if !by_label.contains_key(l.name.as_str()) {
                if self.pair_count >= MAX_PAIRS {
                    self.untracked_pairs += 1;
                    continue;
                }
                self.pair_count += 1;
                by_label.insert(
                    l.name.clone(),
                    PairTrack { values: HyperLogLog::new(), created: 0, hours_with_new: VecDeque::new() },
                );
            }
            let Some(pair) = by_label.get_mut(l.name.as_str()) else { continue };
            pair.created += 1;
            // A register that grew means a value not seen before; counting the sketch here
            // would cost a pass over its registers per new series (measured: ingest of new
            // series fell from ~1M to ~9k samples/s).
            if pair.values.insert(l.value.as_bytes()) && pair.hours_with_new.front() != Some(&hour) {
                pair.hours_with_new.push_front(hour);
                pair.hours_with_new.truncate(HISTORY_HOURS);
            }
        }
    }
}

/// The tracker.
#[derive(Debug)]
pub struct Tracker {
    state: Mutex<State>,
    /// Write rates by series and metric (their own lock: they hear of every batch).
    writes: WriteRates,
    path: Option<PathBuf>,
    clock: fn() -> i64,
}

fn wall_clock() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[derive(Serialize, Deserialize)]
struct Persisted {
    history: Vec<GrowthPoint>,
}

impl Tracker {
    /// A tracker keeping its growth history in `path` (read back if it exists).
    pub fn open(path: Option<&Path>) -> Tracker {
        Tracker::with_clock(path, wall_clock)
    }

    /// [`Tracker::open`] with a clock (ms), for tests.
    pub fn with_clock(path: Option<&Path>, clock: fn() -> i64) -> Tracker {
        let history = path
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|bytes| serde_json::from_slice::<Persisted>(&bytes).ok())
            .map(|p| p.history.into_iter().collect())
            .unwrap_or_default();
        let now = clock();
        Tracker {
            state: Mutex::new(State {
                new_by_metric: SpaceSaving::new(1_000),
                pairs: HashMap::new(),
                pair_count: 0,
                untracked_pairs: 0,
                history,
                first_hour: now.div_euclid(HOUR_MS),
                created_total: 0,
            }),
            writes: WriteRates::new(clock),
            path: path.map(Path::to_path_buf),
            clock,
        }
    }

    /// A series was created; `active` is the head's series count after it.
    pub fn created(&self, labels: &Labels, active: u64) {
        self.created_many(&[labels], active);
    }

    /// Series created together (one batch); `active` is the head's series count after
    /// them. One lock for the batch: appenders tell it outside the head's creation lock,
    /// and eight of them creating series at once should not queue here per series.
    pub fn created_many(&self, created: &[&Labels], active: u64) {
        let hour = (self.clock)().div_euclid(HOUR_MS);
        let Ok(mut guard) = self.state.lock() else { return };
        let s = &mut *guard;
        for labels in created {
            s.learn(labels, hour);
        }
        record_growth(&mut s.history, hour * HOUR_MS, active, created.len() as u64);
    }

    /// Sampled writes (see `write_rate`).
    pub fn written(&self, sampled: &[Labels], weight: u64) {
        self.writes.observe(sampled, weight);
    }

    /// Series and metrics by write rate.
    pub fn write_rates(&self) -> &WriteRates {
        &self.writes
    }

    /// Notes the active series count now (called periodically, so hours without new
    /// series still have a point); persists the history when the hour changed.
    pub fn tick(&self, active: u64) {
        let hour = (self.clock)().div_euclid(HOUR_MS) * HOUR_MS;
        let changed = self.state.lock().is_ok_and(|mut s| {
            let before = s.history.back().map(|p| p.hour);
            record_growth(&mut s.history, hour, active, 0);
            before != Some(hour)
        });
        if changed {
            let _ = self.persist();
        }
    }

    /// Writes the growth history (replaced whole, through a temporary file).
    pub fn persist(&self) -> std::io::Result<()> {
        let Some(path) = &self.path else { return Ok(()) };
        let history: Vec<GrowthPoint> =
            self.state.lock().map(|s| s.history.iter().copied().collect()).unwrap_or_default();
        let bytes = serde_json::to_vec(&Persisted { history })?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, path)
    }

    /// The growth history, oldest first.
    pub fn history(&self) -> Vec<GrowthPoint> {
        self.state.lock().map(|s| s.history.iter().copied().collect()).unwrap_or_default()
    }

    /// Metrics by series created since start, most first.
    pub fn top_new_series(&self, k: usize) -> Vec<(String, u64)> {
        self.state
            .lock()
            .map(|s| s.new_by_metric.top(k).into_iter().map(|h| (h.key, h.count)).collect())
            .unwrap_or_default()
    }

    /// The metric × label pairs with the most distinct values, most first.
    pub fn labels(&self, k: usize) -> Vec<LabelCardinality> {
        let now_hour = (self.clock)().div_euclid(HOUR_MS);
        let Ok(s) = self.state.lock() else { return Vec::new() };
        let hours_tracked = (now_hour - s.first_hour + 1).max(1);
        let mut out: Vec<LabelCardinality> = s
            .pairs
            .iter()
            .flat_map(|(metric, by_label)| by_label.iter().map(move |(label, p)| (metric, label, p)))
            .map(|(metric, label, p)| {
                let distinct = p.values.count();
                let recent: Vec<i64> =
                    p.hours_with_new.iter().copied().filter(|h| now_hour - h < hours_tracked).collect();
                let steady = recent.len() >= 3 && recent.len() as f64 >= 0.75 * hours_tracked as f64;
                LabelCardinality {
                    metric: metric.clone(),
                    label: label.clone(),
                    distinct_values: distinct,
                    series_created: p.created,
                    ephemeral: steady && distinct as f64 >= 0.9 * p.created as f64,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            b.distinct_values
                .cmp(&a.distinct_values)
                .then_with(|| (&a.metric, &a.label).cmp(&(&b.metric, &b.label)))
        });
        out.truncate(k);
        out
    }

    /// Series created since start.
    pub fn created_total(&self) -> u64 {
        self.state.lock().map(|s| s.created_total).unwrap_or(0)
    }

    /// Series created in each of the last `hours` hours (newest last).
    pub fn created_by_hour(&self) -> BTreeMap<i64, u64> {
        self.state.lock().map(|s| s.history.iter().map(|p| (p.hour, p.created)).collect()).unwrap_or_default()
    }
}

fn record_growth(history: &mut VecDeque<GrowthPoint>, hour: i64, active: u64, created: u64) {
    match history.back_mut() {
        Some(p) if p.hour == hour => {
            p.series = active;
            p.created += created;
        }
        _ => {
            history.push_back(GrowthPoint { hour, series: active, created });
            while history.len() > HISTORY_HOURS {
                history.pop_front();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, Ordering};

    static NOW: AtomicI64 = AtomicI64::new(0);
    fn clock() -> i64 {
        NOW.load(Ordering::SeqCst)
    }

    fn labels(metric: &str, pairs: &[(&str, &str)]) -> Labels {
        Labels::with_metric_name(metric, pairs.iter().copied()).unwrap()
    }

    #[test]
    fn ephemeral_labels_are_told_from_stable_high_cardinality() {
        NOW.store(0, Ordering::SeqCst);
        let t = Tracker::with_clock(None, clock);
        let mut active = 0;
        // 500 instances at startup, then nothing new; request ids every hour for 4 hours.
        for i in 0..500 {
            active += 1;
            t.created(&labels("up", &[("instance", &format!("host-{i}"))]), active);
        }
        for hour in 0..4 {
            NOW.store(hour * HOUR_MS + 1, Ordering::SeqCst);
            for i in 0..200 {
                active += 1;
                t.created(
                    &labels("requests", &[("request_id", &format!("{hour}-{i}")), ("code", "200")]),
                    active,
                );
            }
        }
        let labels = t.labels(10);
        let find = |m: &str, l: &str| labels.iter().find(|x| x.metric == m && x.label == l).unwrap().clone();
        let request = find("requests", "request_id");
        assert!(request.ephemeral, "{request:?}");
        assert!((request.distinct_values as i64 - 800).abs() <= 8);
        let instance = find("up", "instance");
        assert!(!instance.ephemeral, "arrived once and stopped: {instance:?}");
        assert!(!find("requests", "code").ephemeral, "one value");
        assert_eq!(t.top_new_series(1), [("requests".to_string(), 800)]);
        let history = t.history();
        assert_eq!(history.len(), 4);
        assert_eq!((history[0].created, history[3].created, history[3].series), (700, 200, 1300));
    }

    static LATER: AtomicI64 = AtomicI64::new(0);
    fn later() -> i64 {
        LATER.load(Ordering::SeqCst)
    }

    #[test]
    fn history_persists_and_reads_back() {
        LATER.store(10 * HOUR_MS, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("strata-tracker-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("cardinality.json");
        let t = Tracker::with_clock(Some(&path), later);
        t.tick(42);
        LATER.store(11 * HOUR_MS, Ordering::SeqCst);
        t.tick(50);
        let again = Tracker::with_clock(Some(&path), later);
        assert_eq!(again.history().iter().map(|p| p.series).collect::<Vec<_>>(), [42, 50]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
