//! One series' aggregate over one window: what a rollup tier stores instead of the samples.
//!
//! A window is `(end − resolution, end]` — left-open, right-closed, like a PromQL range
//! window — so a query window `(t − range, t]` with `t` and `range` multiples of the
//! resolution is exactly a run of whole rollup windows.
//!
//! Every field is chosen so that [`WindowAggregate::append`] (this window followed by a later
//! one) gives what one pass over both windows' samples gives, the way PromQL computes it:
//! - `count`, `min`, `max`, `first`, `last`, `resets`, `changes`: exactly;
//! - `sum`: Kahan–Neumaier over the windows' compensated sums (exact when the partial sums
//!   are, e.g. integer values; otherwise within a few ulps of the raw fold);
//! - `reset_sum`: the value before every counter reset, summed; with `last − first` it is
//!   the reset-corrected increase `rate`/`increase` extrapolate (PromQL adds the resets one
//!   by one to `last − first`; here they are summed first — exact for integer counters,
//!   otherwise within a few ulps);
//! - `sketch`: a DDSketch of the finite values, merged exactly (module `sketch`).
//!
//! Stale markers (Prometheus' end-of-series NaN) are not values: range functions never see
//! them. A window keeps only the time of a stale marker newer than its last value
//! (`stale_after`), which is what an instant selector needs to know that the series ended.

use strata_model::is_stale_marker;
use strata_model::kahan::kahan_inc;

use crate::sketch::Sketch;

/// Aggregates of one series over one window; see the module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowAggregate {
    /// The window's end (inclusive), ms; the window is `(end − resolution, end]`.
    pub end: i64,
    /// Values (stale markers excluded). 0 only for a window that holds nothing but a stale
    /// marker, in which case the value fields below are meaningless.
    pub count: u64,
    /// Kahan–Neumaier sum of the values and its compensation (the sum is `sum + sum_c`).
    pub sum: f64,
    pub sum_c: f64,
    /// Smallest and largest value, NaN only when every value is NaN (PromQL's rule).
    pub min: f64,
    pub max: f64,
    /// The first and last value with their times.
    pub first: (i64, f64),
    pub last: (i64, f64),
    /// The value before every counter reset (a value below the one before it), summed in
    /// time order.
    pub reset_sum: f64,
    /// Counter resets (values below the one before).
    pub resets: u64,
    /// Changes of value (NaN to NaN is no change).
    pub changes: u64,
    /// Values that are NaN or infinite, which the sketch cannot hold.
    pub non_finite: u64,
    /// The time of a stale marker after the last value, if the series ended in the window.
    pub stale_after: Option<i64>,
    /// The finite values' quantile sketch.
    pub sketch: Sketch,
}

impl WindowAggregate {
    /// The aggregate of `samples` (time order, all inside the window ending at `end`),
    /// or `None` when they are nothing.
    pub fn of_samples(end: i64, samples: &[(i64, f64)]) -> Option<WindowAggregate> {
        let mut acc: Option<WindowAggregate> = None;
        let mut stale_after = None;
        for &(t, v) in samples {
            if is_stale_marker(v) {
                stale_after = Some(t);
                continue;
            }
            stale_after = None;
            match acc.as_mut() {
                None => acc = Some(WindowAggregate::single(end, t, v)),
                Some(a) => a.push(t, v),
            }
        }
        match acc {
            Some(mut a) => {
                a.stale_after = stale_after;
                Some(a)
            }
            None => stale_after.map(|t| WindowAggregate::stale_only(end, t)),
        }
    }

    /// A window holding one value.
    pub fn single(end: i64, t: i64, v: f64) -> WindowAggregate {
        let mut w = WindowAggregate::single_without_sketch(end, t, v);
        if v.is_finite() {
            w.sketch.add(v);
        }
        w
    }

    /// [`WindowAggregate::single`] with its sketch left empty (for readers that read none).
    pub fn single_without_sketch(end: i64, t: i64, v: f64) -> WindowAggregate {
        let finite = v.is_finite();
        WindowAggregate {
            end,
            count: 1,
            sum: v,
            sum_c: 0.0,
            min: v,
            max: v,
            first: (t, v),
            last: (t, v),
            reset_sum: 0.0,
            resets: 0,
            changes: 0,
            non_finite: u64::from(!finite),
            stale_after: None,
            sketch: Sketch::new(),
        }
    }

    /// A window holding only a stale marker at `t`.
    pub fn stale_only(end: i64, t: i64) -> WindowAggregate {
        WindowAggregate {
            count: 0,
            stale_after: Some(t),
            ..WindowAggregate::single_without_sketch(end, t, 0.0)
        }
    }

    /// Whether the window holds values (not just a stale marker).
    pub fn has_values(&self) -> bool {
        self.count > 0
    }

    /// The sum of the values.
    pub fn sum_value(&self) -> f64 {
        self.sum + self.sum_c
    }

    /// The counter increase corrected for resets: `last − first` plus the values before
    /// the resets.
    pub fn increase(&self) -> f64 {
        (self.last.1 - self.first.1) + self.reset_sum
    }

    /// Adds a value later than every value so far.
    fn push(&mut self, t: i64, v: f64) {
        let prev = self.last.1;
        self.count += 1;
        (self.sum, self.sum_c) = kahan_inc(v, self.sum, self.sum_c);
        self.min = min_rule(self.min, v);
        self.max = max_rule(self.max, v);
        if v < prev {
            self.resets += 1;
            self.reset_sum += prev;
        }
        if !same_float(v, prev) {
            self.changes += 1;
        }
        self.last = (t, v);
        if v.is_finite() {
            self.sketch.add(v);
        } else {
            self.non_finite += 1;
        }
    }

    /// This window followed by `later` (whose samples all come after this one's), as one
    /// window ending at `later.end`: what one pass over both windows' samples gives (see
    /// the module docs for which fields are exact).
    pub fn append(&mut self, later: &WindowAggregate) {
        self.append_parts(later, true);
    }

    /// [`WindowAggregate::append`], merging the sketches only when `with_sketch` (a query
    /// that reads no quantile need not pay for them; the sketch is then left stale).
    pub fn append_parts(&mut self, later: &WindowAggregate, with_sketch: bool) {
        self.end = later.end;
        if !later.has_values() {
            self.stale_after = later.stale_after.or(self.stale_after);
            return;
        }
        if !self.has_values() {
            *self = later.clone();
            return;
        }
        let (prev, next) = (self.last.1, later.first.1);
        let boundary_reset = next < prev;
        self.count += later.count;
        (self.sum, self.sum_c) = kahan_inc(later.sum_value(), self.sum, self.sum_c);
        self.min = min_rule(self.min, later.min);
        self.max = max_rule(self.max, later.max);
        self.resets += later.resets + u64::from(boundary_reset);
        self.changes += later.changes + u64::from(!same_float(next, prev));
        self.non_finite += later.non_finite;
        if boundary_reset {
            self.reset_sum += prev;
        }
        self.reset_sum += later.reset_sum;
        self.last = later.last;
        self.stale_after = later.stale_after;
        if with_sketch {
            self.sketch.merge(&later.sketch);
        }
    }
}

/// PromQL's `min_over_time` step: a NaN so far is replaced by anything; otherwise only a
/// smaller value replaces it.
fn min_rule(current: f64, v: f64) -> f64 {
    if current.is_nan() || v < current {
        v
    } else {
        current
    }
}

fn max_rule(current: f64, v: f64) -> f64 {
    if current.is_nan() || v > current {
        v
    } else {
        current
    }
}

/// NaN equals NaN (a NaN that stays NaN is no change), as `changes()` reads it.
fn same_float(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use strata_model::STALE_NAN_BITS;

    use super::*;

    fn value() -> impl Strategy<Value = f64> {
        prop_oneof![
            8 => (-50i32..50).prop_map(f64::from),
            1 => Just(f64::NAN),
            1 => Just(f64::from_bits(STALE_NAN_BITS)),
            1 => -1e3f64..1e3,
        ]
    }

    /// Fields compared with NaN equal to NaN.
    fn same(a: &WindowAggregate, b: &WindowAggregate) -> bool {
        let f = |x: f64, y: f64| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan());
        a.count == b.count
            && a.resets == b.resets
            && a.changes == b.changes
            && a.non_finite == b.non_finite
            && a.stale_after == b.stale_after
            && a.sketch == b.sketch
            && a.end == b.end
            && (!a.has_values()
                || (f(a.min, b.min)
                    && f(a.max, b.max)
                    && a.first.0 == b.first.0
                    && f(a.first.1, b.first.1)
                    && a.last.0 == b.last.0
                    && f(a.last.1, b.last.1)))
    }

    proptest! {
        #[test]
        fn appending_windows_equals_one_pass(values in prop::collection::vec(value(), 1..60), cut in 0usize..60) {
            let samples: Vec<(i64, f64)> = values.iter().enumerate().map(|(i, &v)| (i as i64 * 10, v)).collect();
            let cut = cut.min(samples.len());
            let whole = WindowAggregate::of_samples(1000, &samples);
            let a = WindowAggregate::of_samples(1000, &samples[..cut]);
            let b = WindowAggregate::of_samples(1000, &samples[cut..]);
            let joined = match (a, b) {
                (Some(mut a), Some(b)) => { a.append(&b); Some(a) }
                (a, b) => a.or(b),
            };
            match (&whole, &joined) {
                (Some(w), Some(j)) => {
                    prop_assert!(same(w, j), "{w:?}\n{j:?}");
                    // Integer values: sums and increases are exact whichever way they were added.
                    if values.iter().all(|v| v.is_finite() && v.fract() == 0.0) {
                        prop_assert_eq!(w.sum_value(), j.sum_value());
                        prop_assert_eq!(w.increase(), j.increase());
                    }
                }
                (None, None) => {}
                _ => prop_assert!(false, "{whole:?} vs {joined:?}"),
            }
        }
    }

    #[test]
    fn increase_adds_the_value_before_each_reset() {
        let w =
            WindowAggregate::of_samples(100, &[(1, 5.0), (2, 8.0), (3, 2.0), (4, 4.0), (5, 1.0)]).unwrap();
        assert_eq!(w.resets, 2);
        assert_eq!(w.increase(), (1.0 - 5.0) + 8.0 + 4.0);
        assert_eq!(w.changes, 4);
        assert_eq!((w.min, w.max, w.count), (1.0, 8.0, 5));
    }

    #[test]
    fn a_trailing_stale_marker_is_kept_and_later_values_clear_it() {
        let stale = f64::from_bits(STALE_NAN_BITS);
        let w = WindowAggregate::of_samples(100, &[(1, 5.0), (2, stale)]).unwrap();
        assert_eq!((w.count, w.stale_after), (1, Some(2)));
        let w = WindowAggregate::of_samples(100, &[(1, stale), (2, 5.0)]).unwrap();
        assert_eq!((w.count, w.stale_after), (1, None));
        assert!(WindowAggregate::of_samples(100, &[]).is_none());
    }
}
