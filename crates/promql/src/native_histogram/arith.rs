//! Arithmetic on float histograms, as Prometheus defines it: two histograms are brought to
//! a common layout — the coarser exponential schema (neighbouring buckets merged), the wider
//! zero bucket (buckets it now covers moved into it) — and added bucket by bucket.
//! Custom-bucket histograms only combine with ones of the same bounds.

use std::collections::BTreeMap;

use strata_model::histogram::{spans_for_indices, CounterResetHint, FloatHistogram, CUSTOM_BUCKETS_SCHEMA};

use super::buckets::{exponential_bound, side_map};

/// Why two histograms cannot be combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArithError {
    /// One has exponential buckets, the other custom ones.
    MixedSchemas,
}

/// A histogram with its buckets as index → count maps.
#[derive(Debug, Clone)]
pub(super) struct Sparse {
    pub(super) schema: i32,
    pub(super) zero_threshold: f64,
    pub(super) zero_count: f64,
    pub(super) count: f64,
    pub(super) sum: f64,
    pub(super) positive: BTreeMap<i64, f64>,
    pub(super) negative: BTreeMap<i64, f64>,
    pub(super) custom_values: Vec<f64>,
}

impl Sparse {
    pub(super) fn of(h: &FloatHistogram) -> Sparse {
        Sparse {
            schema: h.schema,
            zero_threshold: h.zero_threshold,
            zero_count: h.zero_count,
            count: h.count,
            sum: h.sum,
            positive: side_map(&h.positive_spans, &h.positive_buckets),
            negative: side_map(&h.negative_spans, &h.negative_buckets),
            custom_values: h.custom_values.clone(),
        }
    }

    /// Back to spans, leaving out buckets whose count is exactly zero.
    pub(super) fn into_histogram(self, hint: CounterResetHint) -> FloatHistogram {
        let side = |m: BTreeMap<i64, f64>| {
            let kept: Vec<(i64, f64)> = m.into_iter().filter(|(_, c)| *c != 0.0).collect();
            let indices: Vec<i64> = kept.iter().map(|b| b.0).collect();
            (spans_for_indices(&indices), kept.into_iter().map(|b| b.1).collect::<Vec<_>>())
        };
        let (positive_spans, positive_buckets) = side(self.positive);
        let (negative_spans, negative_buckets) = side(self.negative);
        FloatHistogram {
            counter_reset_hint: hint,
            schema: self.schema,
            zero_threshold: self.zero_threshold,
            zero_count: self.zero_count,
            count: self.count,
            sum: self.sum,
            positive_spans,
            negative_spans,
            positive_buckets,
            negative_buckets,
            custom_values: self.custom_values,
        }
    }

    /// Merges buckets down to the coarser `schema` (exponential schemas only).
    pub(super) fn reduce_to(&mut self, schema: i32) {
        if schema >= self.schema || self.schema == CUSTOM_BUCKETS_SCHEMA {
            return;
        }
        let shift = (self.schema - schema) as u32;
        let merge = |m: &BTreeMap<i64, f64>| {
            let mut out = BTreeMap::new();
            for (&i, &c) in m {
                *out.entry(((i - 1) >> shift) + 1).or_insert(0.0) += c;
            }
            out
        };
        self.positive = merge(&self.positive);
        self.negative = merge(&self.negative);
        self.schema = schema;
    }

    /// Widens the zero bucket to at least `threshold`, moving the buckets it then covers
    /// into it; a bucket it cuts through widens it to that bucket's upper bound.
    pub(super) fn widen_zero_bucket(&mut self, threshold: f64) {
        if threshold <= self.zero_threshold {
            return;
        }
        let mut threshold = threshold;
        loop {
            let schema = self.schema;
            let covered = |i: i64| exponential_bound(i - 1, schema) < threshold;
            let widest = self
                .positive
                .keys()
                .chain(self.negative.keys())
                .filter(|&&i| covered(i))
                .map(|&i| exponential_bound(i, schema))
                .fold(threshold, f64::max);
            for side in [&mut self.positive, &mut self.negative] {
                let moved: Vec<i64> = side.keys().copied().filter(|&i| covered(i)).collect();
                for i in moved {
                    self.zero_count += side.remove(&i).unwrap_or(0.0);
                }
            }
            if widest <= threshold {
                break;
            }
            threshold = widest;
        }
        self.zero_threshold = threshold;
    }
}

/// `a + b`. A gauge in it makes a gauge; two counters make a counter that keeps a hint they
/// share, and knows none when they differ (Prometheus' rules).
pub(crate) fn add(a: &FloatHistogram, b: &FloatHistogram) -> Result<FloatHistogram, ArithError> {
    let mut out = combine(a, b, 1.0)?;
    out.counter_reset_hint = sum_hint(a.counter_reset_hint, b.counter_reset_hint);
    Ok(out)
}

/// `a − b`: always a gauge, as the result may be negative.
pub(crate) fn subtract(a: &FloatHistogram, b: &FloatHistogram) -> Result<FloatHistogram, ArithError> {
    let mut out = combine(a, b, -1.0)?;
    out.counter_reset_hint = CounterResetHint::Gauge;
    Ok(out)
}

pub(super) fn sum_hint(a: CounterResetHint, b: CounterResetHint) -> CounterResetHint {
    match (a, b) {
        (CounterResetHint::Gauge, _) | (_, CounterResetHint::Gauge) => CounterResetHint::Gauge,
        (a, b) if a == b => a,
        _ => CounterResetHint::Unknown,
    }
}

/// `h × factor` (counts and sum); a negative factor makes a gauge.
pub(crate) fn scale(h: &FloatHistogram, factor: f64) -> FloatHistogram {
    let mut out = h.clone();
    out.zero_count *= factor;
    out.count *= factor;
    out.sum *= factor;
    out.positive_buckets.iter_mut().for_each(|c| *c *= factor);
    out.negative_buckets.iter_mut().for_each(|c| *c *= factor);
    if factor < 0.0 {
        out.counter_reset_hint = CounterResetHint::Gauge;
    }
    out
}

/// `h / divisor`. Divided by zero a histogram keeps no regular buckets: its zero bucket,
/// count and sum become ±Inf or NaN, as Prometheus defines it.
pub(crate) fn divide(h: &FloatHistogram, divisor: f64) -> FloatHistogram {
    // Each field divided (not multiplied by the reciprocal, which rounds differently).
    let mut out = h.clone();
    out.zero_count /= divisor;
    out.count /= divisor;
    out.sum /= divisor;
    out.positive_buckets.iter_mut().chain(out.negative_buckets.iter_mut()).for_each(|b| *b /= divisor);
    if 1.0 / divisor < 0.0 {
        out.counter_reset_hint = CounterResetHint::Gauge; // as multiplying by a negative
    }
    if divisor != 0.0 {
        return out;
    }
    out.positive_buckets.clear();
    out.negative_buckets.clear();
    out.positive_spans.clear();
    out.negative_spans.clear();
    out
}

/// Whether two histograms have the same layout (schema, zero bucket, spans, bounds), so
/// that their buckets line up one to one.
pub(crate) fn same_layout(a: &FloatHistogram, b: &FloatHistogram) -> bool {
    a.schema == b.schema
        && a.zero_threshold.to_bits() == b.zero_threshold.to_bits()
        && a.positive_spans == b.positive_spans
        && a.negative_spans == b.negative_spans
        && a.custom_values == b.custom_values
}

/// `a + sign·b` in the common layout. Histograms of one layout (the usual case: samples of
/// one series, or of series from one instrument) are added bucket by bucket, without the
/// index maps a layout change needs.
fn combine(a: &FloatHistogram, b: &FloatHistogram, sign: f64) -> Result<FloatHistogram, ArithError> {
    if same_layout(a, b) {
        let mut out = a.clone();
        out.counter_reset_hint = CounterResetHint::Unknown;
        out.zero_count += sign * b.zero_count;
        out.count += sign * b.count;
        out.sum += sign * b.sum;
        out.positive_buckets.iter_mut().zip(&b.positive_buckets).for_each(|(x, y)| *x += sign * y);
        out.negative_buckets.iter_mut().zip(&b.negative_buckets).for_each(|(x, y)| *x += sign * y);
        return Ok(out);
    }
    let custom = (a.schema == CUSTOM_BUCKETS_SCHEMA, b.schema == CUSTOM_BUCKETS_SCHEMA);
    match custom {
        (true, false) | (false, true) => return Err(ArithError::MixedSchemas),
        (true, true) => {
            if custom_bounds_differ(a, b) {
                let common = common_bounds(&a.custom_values, &b.custom_values);
                return combine(&with_bounds(a, &common), &with_bounds(b, &common), sign);
            }
        }
        (false, false) => {}
    }
    let (mut x, mut y) = (Sparse::of(a), Sparse::of(b));
    let schema = x.schema.min(y.schema);
    x.reduce_to(schema);
    y.reduce_to(schema);
    if !custom.0 {
        let threshold = x.zero_threshold.max(y.zero_threshold);
        x.widen_zero_bucket(threshold);
        y.widen_zero_bucket(threshold);
        // Widening one may have widened past the other's.
        x.widen_zero_bucket(y.zero_threshold);
        y.widen_zero_bucket(x.zero_threshold);
    }
    x.zero_count += sign * y.zero_count;
    x.count += sign * y.count;
    x.sum += sign * y.sum;
    for (mine, theirs) in [(&mut x.positive, y.positive), (&mut x.negative, y.negative)] {
        for (i, c) in theirs {
            *mine.entry(i).or_insert(0.0) += sign * c;
        }
    }
    Ok(x.into_histogram(CounterResetHint::Unknown))
}

/// Whether two histograms hold the same observations (compacted alike), whatever their
/// counter-reset hints say (Prometheus' `Equals`).
pub(crate) fn equal_values(a: &FloatHistogram, b: &FloatHistogram) -> bool {
    let (mut a, mut b) = (compact(a), compact(b));
    a.counter_reset_hint = CounterResetHint::Unknown;
    b.counter_reset_hint = CounterResetHint::Unknown;
    a == b
}

/// Whether both have custom buckets, with different bounds: combining them reconciles the
/// bounds (Prometheus notes it with an info).
pub(crate) fn custom_bounds_differ(a: &FloatHistogram, b: &FloatHistogram) -> bool {
    a.schema == CUSTOM_BUCKETS_SCHEMA
        && b.schema == CUSTOM_BUCKETS_SCHEMA
        && a.custom_values != b.custom_values
}

/// Two custom-bucket histograms in the bounds they share.
pub(crate) fn in_common_bounds(a: &FloatHistogram, b: &FloatHistogram) -> (FloatHistogram, FloatHistogram) {
    let common = common_bounds(&a.custom_values, &b.custom_values);
    (with_bounds(a, &common), with_bounds(b, &common))
}

/// The bounds two custom-bucket layouts share.
pub(super) fn common_bounds(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().copied().filter(|x| b.contains(x)).collect()
}

/// `h`'s custom buckets merged into the coarser buckets of `bounds` (a subset of its own):
/// each bucket goes to the first one whose bound is at or above its own.
pub(super) fn with_bounds(h: &FloatHistogram, bounds: &[f64]) -> FloatHistogram {
    let mut counts = vec![0.0; bounds.len() + 1];
    for (index, count) in super::buckets::side_map(&h.positive_spans, &h.positive_buckets) {
        let upper = h.custom_values.get(index as usize).copied().unwrap_or(f64::INFINITY);
        counts[bounds.partition_point(|&b| b < upper)] += count;
    }
    FloatHistogram {
        positive_spans: vec![strata_model::histogram::Span { offset: 0, length: counts.len() as u32 }],
        positive_buckets: counts,
        custom_values: bounds.to_vec(),
        ..h.clone()
    }
}

/// The same histogram in its canonical form: no zero-count buckets, spans merged.
pub(crate) fn compact(h: &FloatHistogram) -> FloatHistogram {
    Sparse::of(h).into_histogram(h.counter_reset_hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(schema: i32, buckets: &[(i64, f64)]) -> FloatHistogram {
        let indices: Vec<i64> = buckets.iter().map(|b| b.0).collect();
        let count = buckets.iter().map(|b| b.1).sum();
        FloatHistogram {
            schema,
            count,
            sum: count * 2.0,
            positive_spans: spans_for_indices(&indices),
            positive_buckets: buckets.iter().map(|b| b.1).collect(),
            ..Default::default()
        }
    }

    fn buckets(h: &FloatHistogram) -> Vec<(i64, f64)> {
        side_map(&h.positive_spans, &h.positive_buckets).into_iter().collect()
    }

    #[test]
    fn adding_across_schemas_merges_to_the_coarser() {
        // Schema 1 buckets 1 and 2, (1, √2] and (√2, 2], fall in schema 0 bucket 1, (1, 2];
        // bucket 3 in bucket 2.
        let sum = add(&h(1, &[(1, 1.0), (2, 2.0), (3, 4.0)]), &h(0, &[(1, 10.0)])).unwrap();
        assert_eq!(sum.schema, 0);
        assert_eq!(buckets(&sum), [(1, 13.0), (2, 4.0)]);
        assert_eq!((sum.count, sum.sum), (17.0, 34.0));
    }

    #[test]
    fn subtraction_and_scaling() {
        let d = combine(&h(0, &[(1, 5.0), (2, 1.0)]), &h(0, &[(1, 2.0), (2, 1.0)]), -1.0).unwrap();
        assert_eq!(buckets(&d), [(1, 3.0), (2, 0.0)], "one layout: bucket by bucket");
        assert_eq!(
            buckets(&compact(&d)),
            [(1, 3.0)],
            "an exactly zero bucket is left out of the compact form"
        );
        assert_eq!(scale(&d, 0.5).count, 1.5);
    }

    #[test]
    fn a_wider_zero_bucket_swallows_the_buckets_it_covers() {
        let mut narrow = h(0, &[(-3, 1.0), (0, 2.0), (2, 3.0)]);
        narrow.zero_threshold = 0.01;
        let mut wide = h(0, &[]);
        wide.zero_threshold = 0.3;
        let sum = add(&narrow, &wide).unwrap();
        // Bucket −3 is (0.0625, 0.125]: covered. Bucket 0 is (0.5, 1]: not.
        assert_eq!(sum.zero_count, 1.0);
        assert_eq!(buckets(&sum), [(0, 2.0), (2, 3.0)]);
        assert_eq!(sum.zero_threshold, 0.3);
    }

    #[test]
    fn custom_buckets_only_combine_with_the_same_bounds() {
        let mut a = h(CUSTOM_BUCKETS_SCHEMA, &[(0, 1.0)]);
        a.custom_values = vec![1.0];
        let mut b = a.clone();
        assert!(add(&a, &b).is_ok());
        b.custom_values = vec![2.0];
        assert!(custom_bounds_differ(&a, &b));
        let sum = add(&a, &b).unwrap();
        assert!(sum.custom_values.iter().all(|v| a.custom_values.contains(v) && b.custom_values.contains(v)));
        assert_eq!(sum.count, a.count + b.count, "reconciled to the bounds both share");
        assert_eq!(add(&a, &h(0, &[])).unwrap_err(), ArithError::MixedSchemas);
    }
}
