//! Who writes the most: series and metrics ranked by samples per second, from the head's
//! sampled writes (one appended sample in `strata_storage::WRITE_SAMPLE_EVERY` names its
//! series and counts with that weight), each kept in a Space-Saving summary of
//! [`CAPACITY`] keys per window of [`WINDOW_MS`].
//!
//! A rate is over the last complete window, or over the current one while there is none
//! (a window that ended more than a window ago is dropped: nothing was written since).
//! Two sources of error, both stated with the figure: sampling (a key with `c` sampled
//! samples is known to about ±√c × weight) and Space-Saving's overestimate (`error`), which
//! only keys near the bottom of a full summary have.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use strata_model::Labels;

use crate::topk::SpaceSaving;

/// Length of a window.
pub const WINDOW_MS: i64 = 10 * 60 * 1000;
/// Keys kept per summary.
pub const CAPACITY: usize = 1_000;

/// A key's rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteRate {
    /// A metric name, or a series in Prometheus' form.
    pub key: String,
    pub samples_per_second: f64,
    /// How much of the rate may be Space-Saving's overestimate.
    pub overestimate_per_second: f64,
}

#[derive(Debug)]
struct Window {
    start: i64,
    metrics: SpaceSaving,
    series: SpaceSaving,
}

impl Window {
    fn new(start: i64) -> Self {
        Window { start, metrics: SpaceSaving::new(CAPACITY), series: SpaceSaving::new(CAPACITY) }
    }
}

#[derive(Debug)]
struct Windows {
    current: Window,
    previous: Option<Window>,
}

impl Windows {
    /// Moves to the window holding `now`.
    fn roll(&mut self, now: i64) {
        let age = now - self.current.start;
        if age < WINDOW_MS {
            return;
        }
        let next = Window::new(now - age % WINDOW_MS);
        let ended = std::mem::replace(&mut self.current, next);
        self.previous = (age < 2 * WINDOW_MS).then_some(ended);
    }

    /// The window rates are read from, and its length in seconds.
    fn measured(&self, now: i64) -> (&Window, f64) {
        match &self.previous {
            Some(w) => (w, WINDOW_MS as f64 / 1000.0),
            None => (&self.current, ((now - self.current.start) as f64 / 1000.0).max(1.0)),
        }
    }
}

/// Write rates by series and by metric.
#[derive(Debug)]
pub struct WriteRates {
    windows: Mutex<Windows>,
    clock: fn() -> i64,
}

impl WriteRates {
    /// Rates measured from `clock()` (ms) on.
    pub fn new(clock: fn() -> i64) -> Self {
        WriteRates { windows: Mutex::new(Windows { current: Window::new(clock()), previous: None }), clock }
    }

    /// Counts sampled writes: each of `sampled` stands for `weight` samples of its series.
    pub fn observe(&self, sampled: &[Labels], weight: u64) {
        let now = (self.clock)();
        // Formatted before the lock: every appender comes here once per batch.
        let series: Vec<String> = sampled.iter().map(Labels::to_string).collect();
        let Ok(mut windows) = self.windows.lock() else { return };
        windows.roll(now);
        let window = &mut windows.current;
        for (labels, key) in sampled.iter().zip(&series) {
            window.metrics.add(labels.metric_name().unwrap_or(""), weight);
            window.series.add(key, weight);
        }
    }

    /// The `k` metrics writing most, most first.
    pub fn top_metrics(&self, k: usize) -> Vec<WriteRate> {
        self.top(k, |w| &w.metrics)
    }

    /// The `k` series writing most, most first.
    pub fn top_series(&self, k: usize) -> Vec<WriteRate> {
        self.top(k, |w| &w.series)
    }

    fn top(&self, k: usize, summary: impl Fn(&Window) -> &SpaceSaving) -> Vec<WriteRate> {
        let now = (self.clock)();
        let Ok(mut windows) = self.windows.lock() else { return Vec::new() };
        windows.roll(now);
        let (window, seconds) = windows.measured(now);
        summary(window)
            .top(k)
            .into_iter()
            .map(|h| WriteRate {
                key: h.key,
                samples_per_second: h.count as f64 / seconds,
                overestimate_per_second: h.error as f64 / seconds,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};

    use super::*;

    static NOW: AtomicI64 = AtomicI64::new(0);

    fn clock() -> i64 {
        NOW.load(Ordering::SeqCst)
    }

    fn series(metric: &str, id: u32) -> Labels {
        Labels::from_pairs([("__name__", metric), ("id", &id.to_string())]).unwrap()
    }

    #[test]
    fn rates_are_over_the_last_complete_window_and_forget_silence() {
        NOW.store(0, Ordering::SeqCst);
        let rates = WriteRates::new(clock);
        NOW.store(10_000, Ordering::SeqCst);
        // 10 s in: `busy` 100 sampled writes of weight 64, `calm` 10.
        rates.observe(&vec![series("busy", 1); 100], 64);
        rates.observe(&vec![series("calm", 2); 10], 64);
        let top = rates.top_metrics(5);
        assert_eq!(top[0].key, "busy");
        assert_eq!(top[0].samples_per_second, 640.0);
        assert_eq!(rates.top_series(1)[0].key, "busy{id=\"1\"}");
        // The next window: the rates are the whole first window's.
        NOW.store(WINDOW_MS + 5, Ordering::SeqCst);
        rates.observe(&[series("calm", 2)], 64);
        let top = rates.top_metrics(5);
        assert_eq!(top[0].samples_per_second, 6400.0 / 600.0);
        // Two windows of silence: nothing is writing.
        NOW.store(4 * WINDOW_MS, Ordering::SeqCst);
        assert!(rates.top_metrics(5).is_empty());
    }
}
