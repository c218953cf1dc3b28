//! Evaluating the `anchored` and `smoothed` selector modifiers (module
//! `extended_selectors` reads them from the text), as Prometheus 3 does.
//!
//! A modified range selector reads more than its window `(start, end]`: samples from up to
//! the lookback delta before `start` (both modifiers) and after `end` (`smoothed`). Each
//! window then gets a value at each edge:
//! - `anchored`: at `start` the last sample at or before it (or, if there is none, the first
//!   in the window); at `end` the last sample in the window. No extrapolation, so a counter's
//!   increase over whole samples is a whole number.
//! - `smoothed`: at each edge, the straight line between the samples either side of it
//!   (treating a drop as a counter reset from zero, for `rate` and `increase`); an edge with
//!   samples on one side only takes that side's nearest sample.
//!
//! `rate`, `increase` and `delta` are `right − left` (plus the value before each counter
//! reset strictly inside the window; `rate` divides by the range). `changes` and `resets`
//! (`anchored` only) count over the window's samples with the anchor value put in front.
//! Other functions refuse the modifiers, with Prometheus' message.
//!
//! A `smoothed` instant selector interpolates at the evaluation time between the samples
//! either side (the one before carried forward when there is none after) — histograms too,
//! in `selector.rs`; an `anchored` one is the lookback with stale markers ignored. Stale
//! markers never take part. Series that hold native histograms go through
//! `extended_histograms.rs`, which finds the same edges among samples of either kind.

use strata_promql_syntax::ast::{Expr, RangeModifier};

use super::functions::unwrap_parens;
use super::range_functions::same_float;
use super::{Steps, Windows};
use crate::engine::QueryError;

/// One series' values of `func` at every step whose window has a sample in it. Each step
/// reads the samples from the lookback delta before its window (and after it, smoothed); both
/// ends only move forward.
pub(crate) fn extended_window_values(
    samples: &[(i64, f64)],
    steps: Steps,
    windows: Windows,
    lookback: i64,
    func: ExtendedFunction,
) -> Vec<(i64, f64)> {
    let Some(modifier) = windows.modifier else { return Vec::new() };
    let ahead = read_ahead(Some(modifier), lookback);
    let mut points = Vec::new();
    let (mut lo, mut hi) = (0, 0);
    for t in steps.times() {
        let end = windows.end(t);
        let start = end - windows.range;
        while hi < samples.len() && samples[hi].0 <= end + ahead {
            hi += 1;
        }
        while lo < hi && samples[lo].0 <= start - lookback {
            lo += 1;
        }
        if let Some(v) = ExtendedWindow::new(&samples[lo..hi], start, end, modifier).apply(func) {
            points.push((t, v));
        }
    }
    points
}

/// How far past its window (or its evaluation time) a selector reads: the lookback delta
/// when smoothed, for the sample after the edge.
pub(crate) fn read_ahead(modifier: Option<RangeModifier>, lookback: i64) -> i64 {
    if modifier == Some(RangeModifier::Smoothed) {
        lookback
    } else {
        0
    }
}

/// The edges of a window over `len` time-ordered samples (`time_at(i)` is sample i's time):
/// the last at or before `start` (else the first), and the last read (smoothed: the first
/// at or after `end`, else the last). `None` when nothing lies inside the window.
pub(crate) fn edge_indices(
    len: usize,
    time_at: impl Fn(usize) -> i64,
    start: i64,
    end: i64,
    smoothed: bool,
) -> Option<(usize, usize)> {
    let mut last = len.checked_sub(1)?;
    // Only the samples before the last are candidates, as in Prometheus.
    let first = (0..last).take_while(|&i| time_at(i) <= start).count().saturating_sub(1);
    if smoothed {
        last = (0..last).take_while(|&i| time_at(i) < end).count();
    }
    if time_at(last) <= start || (smoothed && time_at(first) > end) {
        return None;
    }
    Some((first, last))
}

/// Refuses a modifier on the range argument of a function that does not take it.
pub(crate) fn check_allowed(name: &str, args: &[&Expr]) -> Result<(), QueryError> {
    for arg in args {
        let Expr::MatrixSelector(ms) = unwrap_parens(arg) else { continue };
        let Some(modifier) = ms.selector.modifier else { continue };
        let allowed: &[&str] = match modifier {
            RangeModifier::Anchored => &["changes", "delta", "increase", "rate", "resets"],
            RangeModifier::Smoothed => &["delta", "increase", "rate"],
        };
        if !allowed.contains(&name) {
            return Err(QueryError::BadData(format!(
                "{} modifier can only be used with: {} - not with {name}",
                modifier.keyword(),
                allowed.join(", ")
            )));
        }
    }
    Ok(())
}

/// What a modified window computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExtendedFunction {
    /// `rate`, `increase`, `delta`.
    Rate {
        is_counter: bool,
        is_rate: bool,
    },
    Changes,
    Resets,
}

impl ExtendedFunction {
    pub(crate) fn of(name: &str) -> Option<Self> {
        Some(match name {
            "rate" => ExtendedFunction::Rate { is_counter: true, is_rate: true },
            "increase" => ExtendedFunction::Rate { is_counter: true, is_rate: false },
            "delta" => ExtendedFunction::Rate { is_counter: false, is_rate: false },
            "changes" => ExtendedFunction::Changes,
            "resets" => ExtendedFunction::Resets,
            _ => return None,
        })
    }
}

/// One window of a modified selector: the samples read for it (from the lookback delta
/// before `start` to `end`, or to the lookback delta after `end` when smoothed) and its
/// edges.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExtendedWindow<'a> {
    pub(crate) samples: &'a [(i64, f64)],
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) smoothed: bool,
}

impl<'a> ExtendedWindow<'a> {
    pub(crate) fn new(samples: &'a [(i64, f64)], start: i64, end: i64, modifier: RangeModifier) -> Self {
        ExtendedWindow { samples, start, end, smoothed: modifier == RangeModifier::Smoothed }
    }

    /// `func` over the window, or `None` when the window has no sample in it.
    pub(crate) fn apply(&self, func: ExtendedFunction) -> Option<f64> {
        match func {
            ExtendedFunction::Rate { is_counter, is_rate } => self.rate(is_counter, is_rate),
            ExtendedFunction::Changes => {
                let s = self.edged_samples()?;
                Some(s.windows(2).filter(|p| !same_float(p[0].1, p[1].1)).count() as f64)
            }
            ExtendedFunction::Resets => {
                let s = self.edged_samples()?;
                Some(s.windows(2).filter(|p| p[1].1 < p[0].1).count() as f64)
            }
        }
    }

    /// The indices of the samples that stand at the left and right edges: the last at or
    /// before `start` (else the first), and the last read (smoothed: the first at or after
    /// `end`, else the last). `None` when nothing lies inside the window.
    fn edges(&self) -> Option<(usize, usize)> {
        edge_indices(self.samples.len(), |i| self.samples[i].0, self.start, self.end, self.smoothed)
    }

    fn left(&self, first: usize, is_counter: bool) -> f64 {
        let f = self.samples;
        if self.smoothed && f[first].0 < self.start {
            interpolate(f[first], f[first + 1], self.start, is_counter)
        } else {
            f[first].1
        }
    }

    fn right(&self, last: usize, is_counter: bool) -> f64 {
        let f = self.samples;
        if self.smoothed && last > 0 && f[last].0 > self.end {
            interpolate(f[last - 1], f[last], self.end, is_counter)
        } else {
            f[last].1
        }
    }

    /// The samples strictly inside the window between the two edge samples (those standing
    /// at an edge are represented by the edge's value).
    fn inner(&self, first: usize, last: usize) -> &[(i64, f64)] {
        let f = self.samples;
        let from = if f[first].0 <= self.start { first + 1 } else { first };
        let to = if f[last].0 >= self.end { last } else { last + 1 };
        &f[from..to.max(from)]
    }

    fn rate(&self, is_counter: bool, is_rate: bool) -> Option<f64> {
        let (first, last) = self.edges()?;
        let left = self.left(first, is_counter);
        let right = self.right(last, is_counter);
        let mut result = right - left;
        if is_counter {
            // Resets at the edges are in the interpolation already.
            let mut prev = left;
            for &(_, v) in self.inner(first, last) {
                if v < prev {
                    result += prev;
                }
                prev = v;
            }
            if right < prev {
                result += prev;
            }
        }
        if is_rate {
            result /= (self.end - self.start) as f64 / 1000.0;
        }
        Some(result)
    }

    /// The window as Prometheus hands it to `changes` and `resets`: the left edge's value at
    /// `start`, the samples inside, the right edge's value at `end`.
    pub(crate) fn edged_samples(&self) -> Option<Vec<(i64, f64)>> {
        let (first, last) = self.edges()?;
        let mut out = Vec::with_capacity(last + 3 - first);
        out.push((self.start, self.left(first, false)));
        out.extend_from_slice(self.inner(first, last));
        out.push((self.end, self.right(last, false)));
        Some(out)
    }
}

/// The straight line between two samples at `t`; for a counter, a drop is a reset from 0.
fn interpolate(p1: (i64, f64), p2: (i64, f64), t: i64, is_counter: bool) -> f64 {
    let (mut y1, y2) = (p1.1, p2.1);
    if is_counter && y2 < y1 {
        y1 = 0.0;
    }
    y1 + (y2 - y1) * (t - p1.0) as f64 / (p2.0 - p1.0) as f64
}

/// A `smoothed` instant selector's value at `t` from the samples read around it (stale
/// markers removed): the sample at `t`, else the line between the samples either side, else
/// the sample before carried forward. `None` with no sample at or before `t`.
pub(crate) fn smoothed_value(samples: &[(i64, f64)], t: i64) -> Option<f64> {
    let after = samples.partition_point(|s| s.0 <= t);
    let before = samples[..after].last()?;
    if before.0 == t {
        return Some(before.1);
    }
    Some(match samples.get(after) {
        Some(&next) => interpolate(*before, next, t, false),
        None => before.1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn window(samples: &[(i64, f64)], start: i64, end: i64, smoothed: bool) -> ExtendedWindow<'_> {
        ExtendedWindow { samples, start, end, smoothed }
    }

    const INCREASE: ExtendedFunction = ExtendedFunction::Rate { is_counter: true, is_rate: false };

    #[test]
    fn anchored_increase_is_the_change_since_the_anchor() {
        // 1, 2, 3 every 15 s; the window (20 s, 50 s] is anchored on the sample at 15 s.
        let s = [(0, 1.0), (15_000, 2.0), (30_000, 3.0), (45_000, 4.0)];
        assert_eq!(window(&s, 20_000, 50_000, false).apply(INCREASE), Some(2.0));
        // A reset inside adds the value before it.
        let s = [(0, 5.0), (10_000, 8.0), (20_000, 2.0), (30_000, 4.0)];
        assert_eq!(window(&s, 0, 30_000, false).apply(INCREASE), Some(3.0 + 2.0 + 2.0));
        // Nothing inside the window: no value.
        assert_eq!(window(&s[..1], 0, 30_000, false).apply(INCREASE), None);
    }

    #[test]
    fn smoothed_edges_are_interpolated() {
        // 100 then a reset to 10 15 s later: the window (2 s, 12 s] sees 10·2/15 … 10·12/15.
        let s = [(0, 100.0), (15_000, 10.0)];
        let rate = ExtendedFunction::Rate { is_counter: true, is_rate: true };
        let got = window(&s, 2_000, 12_000, true).apply(rate).unwrap();
        assert!((got - 0.666_666_666_666_667).abs() < 1e-12, "{got}");
        // Data only after the window: nothing.
        assert_eq!(window(&s[1..], 2_000, 12_000, true).apply(rate), None);
    }

    #[test]
    fn smoothed_instant_values() {
        let s = [(0, 1.0), (10_000, 2.0), (20_000, 5.0)];
        assert_eq!(smoothed_value(&s, 10_000), Some(2.0));
        assert_eq!(smoothed_value(&s, 15_000), Some(3.5));
        assert_eq!(smoothed_value(&s, 25_000), Some(5.0));
        assert_eq!(smoothed_value(&s[1..], 5_000), None);
    }

    fn counter() -> impl Strategy<Value = Vec<(i64, f64)>> {
        prop::collection::vec((1i64..30_000, 0u32..100, prop::bool::weighted(0.1)), 1..40).prop_map(|steps| {
            let (mut t, mut v) = (0i64, 0.0);
            steps
                .into_iter()
                .map(|(dt, inc, reset)| {
                    t += dt;
                    v = if reset { f64::from(inc) } else { v + f64::from(inc) };
                    (t, v)
                })
                .collect()
        })
    }

    proptest! {
        /// Anchored increase of a counter is the sum of its rises from the anchor to the last
        /// sample in the window (each reset counting as a rise from zero): an oracle that
        /// walks the samples in order.
        #[test]
        fn anchored_increase_matches_the_sum_of_rises(s in counter(), a in 0i64..400_000, len in 1i64..200_000) {
            let (start, end) = (a, a + len);
            // What an anchored selector reads: nothing after the window.
            let read = &s[..s.partition_point(|p| p.0 <= end)];
            let got = window(read, start, end, false).apply(INCREASE);
            let inside: Vec<_> = s.iter().filter(|p| p.0 > start && p.0 <= end).collect();
            prop_assert_eq!(got.is_some(), !inside.is_empty());
            if let Some(got) = got {
                let anchor = s.iter().rev().find(|p| p.0 <= start).unwrap_or(inside[0]);
                let mut expected = 0.0;
                let mut prev = anchor.1;
                for p in &inside {
                    expected += if p.1 < prev { p.1 } else { p.1 - prev };
                    prev = p.1;
                }
                prop_assert!((got - expected).abs() < 1e-9, "{got} vs {expected}");
            }
        }

        /// Smoothed windows that tile a span add up to the smoothed increase over the span
        /// (interpolated edges are shared), when no reset straddles an edge.
        #[test]
        fn smoothed_increases_add_up(s in counter(), cut in 0.1f64..0.9) {
            prop_assume!(s.len() >= 2 && s.windows(2).all(|p| p[1].1 >= p[0].1));
            let (a, b) = (s[0].0, s[s.len() - 1].0);
            prop_assume!(b - a >= 2);
            let m = a + 1 + ((b - a - 2) as f64 * cut) as i64;
            let whole = window(&s, a, b, true).apply(INCREASE).unwrap();
            let parts = window(&s, a, m, true).apply(INCREASE).unwrap() + window(&s, m, b, true).apply(INCREASE).unwrap();
            prop_assert!((whole - parts).abs() < 1e-6 * whole.abs().max(1.0), "{whole} vs {parts}");
        }
    }
}
