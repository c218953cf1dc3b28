//! The `anchored` and `smoothed` range functions (`extended_range.rs`) over series that hold
//! native histograms. The edges are found as for floats, among the samples of either kind:
//! - `rate`, `increase`, `delta` of histograms: `right − left`, where an edge is the sample
//!   standing at it or, smoothed, the straight line between the samples either side (a
//!   counter that reset between them counts from zero: the later one scaled). For counters,
//!   the histogram before each reset along the way is added. The chain of samples checked
//!   for resets starts after an interpolated left edge (its segment is in the
//!   interpolation already) and ends at an interpolated right edge, which is compared with
//!   the sample before it; when both edges come from one segment nothing is added. A window
//!   mixing floats and histograms, or exponential and custom buckets, gives nothing and a
//!   warning; `rate`/`increase` warn about gauges among the samples, `delta` about an edge
//!   sample that is not a gauge.
//! - `changes`, `resets` (`anchored`): over the anchor, the samples inside and the last;
//!   a switch between a float and a histogram counts as a change and as a reset.

use std::sync::Arc;

use strata_model::histogram::{CounterResetHint, FloatHistogram};

use super::extended_range::{edge_indices, read_ahead, ExtendedFunction, ExtendedWindow};
use super::histogram_windows::{detect_reset, HistogramNote};
use super::range_functions::{same_float, WindowValues};
use super::{Steps, Windows};
use crate::native_histogram::arith::{add, equal_values, scale, subtract};

/// One sample of either kind.
#[derive(Clone, Copy)]
enum Value<'a> {
    Float(f64),
    Histogram(&'a FloatHistogram),
}

/// `func` of one series' floats and histograms at every step with a value.
pub(crate) fn extended_histogram_values(
    floats: &[(i64, f64)],
    histograms: &[(i64, Arc<FloatHistogram>)],
    steps: Steps,
    windows: Windows,
    lookback: i64,
    func: ExtendedFunction,
) -> WindowValues {
    let mut out = WindowValues::default();
    let Some(modifier) = windows.modifier else { return out };
    let ahead = read_ahead(Some(modifier), lookback);
    let smoothed = modifier == strata_promql_syntax::ast::RangeModifier::Smoothed;
    for t in steps.times() {
        let end = windows.end(t);
        let start = end - windows.range;
        let read = |s: i64| s > start - lookback && s <= end + ahead;
        let fw: Vec<(i64, f64)> = floats.iter().copied().filter(|s| read(s.0)).collect();
        let samples = merged(&fw, histograms.iter().filter(|s| read(s.0)));
        if !samples.iter().any(|s| matches!(s.1, Value::Histogram(_))) {
            // Floats only here: the float rules.
            if let Some(v) = ExtendedWindow::new(&fw, start, end, modifier).apply(func) {
                out.points.push((t, v));
            }
            continue;
        }
        let window = Edged { samples: &samples, start, end, smoothed };
        let result = match func {
            ExtendedFunction::Rate { is_counter, is_rate } => window.rate(is_counter, is_rate, &mut out),
            ExtendedFunction::Changes => window.count(differ).map(Step::Float),
            ExtendedFunction::Resets => window.count(resets).map(Step::Float),
        };
        match result {
            Some(Step::Float(v)) => out.points.push((t, v)),
            Some(Step::Histogram(h)) => out.histograms.push((t, Arc::new(h))),
            None => {}
        }
    }
    out
}

enum Step {
    Float(f64),
    Histogram(FloatHistogram),
}

/// Floats and histograms in time order (a float first at a shared time, which a valid
/// series never has).
fn merged<'a>(
    floats: &[(i64, f64)],
    histograms: impl Iterator<Item = &'a (i64, Arc<FloatHistogram>)>,
) -> Vec<(i64, Value<'a>)> {
    let mut out: Vec<(i64, Value<'a>)> = floats.iter().map(|&(t, v)| (t, Value::Float(v))).collect();
    out.extend(histograms.map(|(t, h)| (*t, Value::Histogram(h.as_ref()))));
    out.sort_by_key(|s| s.0);
    out
}

fn differ(a: Value<'_>, b: Value<'_>) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => !same_float(x, y),
        (Value::Histogram(x), Value::Histogram(y)) => !equal_values(x, y),
        _ => true,
    }
}

fn resets(prev: Value<'_>, curr: Value<'_>) -> bool {
    match (prev, curr) {
        (Value::Float(x), Value::Float(y)) => y < x,
        (Value::Histogram(x), Value::Histogram(y)) => detect_reset(y, x),
        _ => true,
    }
}

/// One window's samples with its edges.
struct Edged<'s, 'a> {
    samples: &'s [(i64, Value<'a>)],
    start: i64,
    end: i64,
    smoothed: bool,
}

impl Edged<'_, '_> {
    fn edges(&self) -> Option<(usize, usize)> {
        edge_indices(self.samples.len(), |i| self.samples[i].0, self.start, self.end, self.smoothed)
    }

    /// How many neighbouring pairs of the anchor, the samples inside and the last `hit`.
    fn count(&self, hit: impl Fn(Value<'_>, Value<'_>) -> bool) -> Option<f64> {
        let (first, last) = self.edges()?;
        let run = &self.samples[first..=last];
        Some(run.windows(2).filter(|p| hit(p[0].1, p[1].1)).count() as f64)
    }

    fn rate(&self, is_counter: bool, is_rate: bool, out: &mut WindowValues) -> Option<Step> {
        let (first, last) = self.edges()?;
        let mut hs = Vec::with_capacity(last + 1 - first);
        for (t, v) in &self.samples[first..=last] {
            match v {
                Value::Histogram(h) => hs.push((*t, *h)),
                Value::Float(_) => {
                    out.notes.insert(HistogramNote::MixedWithFloats);
                    return None;
                }
            }
        }
        if hs.iter().any(|(_, h)| h.uses_custom_buckets() != hs[0].1.uses_custom_buckets()) {
            out.notes.insert(HistogramNote::MixedSchemas);
            return None;
        }
        let gauge = |h: &FloatHistogram| h.counter_reset_hint == CounterResetHint::Gauge;
        if is_counter && hs.iter().any(|(_, h)| gauge(h)) {
            out.notes.insert(HistogramNote::NotCounter);
        }
        if !is_counter && (!gauge(hs[0].1) || !gauge(hs[hs.len() - 1].1)) {
            out.notes.insert(HistogramNote::NotGauge);
        }
        let n = hs.len() - 1;
        let left_interpolated = self.smoothed && hs[0].0 < self.start && n > 0;
        let right_interpolated = self.smoothed && n > 0 && hs[n].0 > self.end;
        let left = match left_interpolated {
            true => interpolate_histograms(hs[0], hs[1], self.start, is_counter)?,
            false => hs[0].1.clone(),
        };
        let right = match right_interpolated {
            true => interpolate_histograms(hs[n - 1], hs[n], self.end, is_counter)?,
            false => hs[n].1.clone(),
        };
        let mut result = subtract(&right, &left).ok()?;
        if is_counter {
            // The chain of whole samples between the edges (see the module docs).
            let (from, to) = (usize::from(left_interpolated), n - usize::from(right_interpolated));
            if from <= to {
                let mut prev = if left_interpolated { hs[from].1 } else { &left };
                for (_, h) in &hs[from + 1..=to] {
                    if detect_reset(h, prev) {
                        result = add(&result, prev).ok()?;
                    }
                    prev = h;
                }
                if right_interpolated && detect_reset(&right, prev) {
                    result = add(&result, prev).ok()?;
                }
            }
        }
        if is_rate {
            result = scale(&result, 1.0 / ((self.end - self.start) as f64 / 1000.0));
        }
        result.counter_reset_hint = CounterResetHint::Gauge;
        Some(Step::Histogram(result))
    }
}

/// The histogram on the straight line between two at `t` (`None` when one has exponential
/// buckets and the other custom ones). For a counter, a reset between them counts from zero:
/// the later one scaled, its hint kept.
pub(crate) fn interpolate_histograms(
    p1: (i64, &FloatHistogram),
    p2: (i64, &FloatHistogram),
    t: i64,
    is_counter: bool,
) -> Option<FloatHistogram> {
    if p1.1.uses_custom_buckets() != p2.1.uses_custom_buckets() {
        return None;
    }
    let fraction = (t - p1.0) as f64 / (p2.0 - p1.0) as f64;
    if is_counter && detect_reset(p2.1, p1.1) {
        return Some(scale(p2.1, fraction));
    }
    let change = subtract(p2.1, p1.1).ok()?;
    add(p1.1, &scale(&change, fraction)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_model::histogram::CUSTOM_BUCKETS_SCHEMA;

    fn counter(count: f64) -> FloatHistogram {
        FloatHistogram { count, sum: count, ..Default::default() }
    }

    #[test]
    fn histograms_are_interpolated_as_counters() {
        let (a, b) = (counter(1.0), counter(2.0));
        let line = interpolate_histograms((0, &a), (15_000, &b), 7_000, true).unwrap();
        assert!((line.count - (1.0 + 7.0 / 15.0)).abs() < 1e-12, "{}", line.count);
        // After a reset a counter counts from zero: the later histogram, scaled.
        let (c, d) = (counter(10.0), counter(2.0));
        let reset = interpolate_histograms((15_000, &c), (30_000, &d), 20_000, true).unwrap();
        assert!((reset.count - 2.0 / 3.0).abs() < 1e-12, "{}", reset.count);
        let custom =
            FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, custom_values: vec![5.0], ..counter(1.0) };
        assert!(interpolate_histograms((0, &custom), (15_000, &b), 7_000, true).is_none());
    }
}
