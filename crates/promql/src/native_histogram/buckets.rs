//! Bucket boundaries and the all-buckets order Prometheus iterates in: negative buckets
//! from the most negative, then the zero bucket, then positive buckets upwards.

use std::collections::BTreeMap;

use strata_model::histogram::{bucket_indices, FloatHistogram, Span, CUSTOM_BUCKETS_SCHEMA};

/// One bucket: its bounds and count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bucket {
    pub(crate) lower: f64,
    pub(crate) upper: f64,
    pub(crate) count: f64,
    /// The zero bucket.
    pub(crate) zero: bool,
}

/// Upper bound of exponential bucket `index` at `schema`: 2^(index · 2^−schema).
pub(crate) fn exponential_bound(index: i64, schema: i32) -> f64 {
    if schema <= 0 {
        // Exact: an integer power of two.
        2f64.powf((index << (-schema)) as f64)
    } else {
        2f64.powf(index as f64 / f64::from(1u32 << schema))
    }
}

/// A side's buckets as index → count.
pub(crate) fn side_map(spans: &[Span], counts: &[f64]) -> BTreeMap<i64, f64> {
    bucket_indices(spans).zip(counts.iter().copied()).collect()
}

/// Every bucket of `h` in ascending order of value (empty ones included, except an empty
/// zero bucket).
pub(crate) fn all_buckets(h: &FloatHistogram) -> Vec<Bucket> {
    let mut out = Vec::new();
    if h.schema == CUSTOM_BUCKETS_SCHEMA {
        let bounds = &h.custom_values;
        for (index, count) in side_map(&h.positive_spans, &h.positive_buckets) {
            let i = index as usize;
            let lower =
                if i == 0 { f64::NEG_INFINITY } else { bounds.get(i - 1).copied().unwrap_or(f64::INFINITY) };
            let upper = bounds.get(i).copied().unwrap_or(f64::INFINITY);
            out.push(Bucket { lower, upper, count, zero: false });
        }
        return out;
    }
    // Stored and computed histograms have increasing indices (validation refuses a later
    // span with a negative offset), so the spans are walked as they are, without a map.
    out.reserve(h.negative_buckets.len() + h.positive_buckets.len() + 1);
    let negative: Vec<(i64, f64)> =
        bucket_indices(&h.negative_spans).zip(h.negative_buckets.iter().copied()).collect();
    for &(index, count) in negative.iter().rev() {
        let (lower, upper) = (-exponential_bound(index, h.schema), -exponential_bound(index - 1, h.schema));
        out.push(Bucket { lower, upper, count, zero: false });
    }
    if h.zero_count > 0.0 {
        out.push(Bucket {
            lower: -h.zero_threshold,
            upper: h.zero_threshold,
            count: h.zero_count,
            zero: true,
        });
    }
    for (index, count) in bucket_indices(&h.positive_spans).zip(h.positive_buckets.iter().copied()) {
        let (lower, upper) = (exponential_bound(index - 1, h.schema), exponential_bound(index, h.schema));
        out.push(Bucket { lower, upper, count, zero: false });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_model::histogram::spans_for_indices;

    #[test]
    fn bounds_follow_the_schema() {
        assert_eq!(exponential_bound(1, 0), 2.0);
        assert_eq!(exponential_bound(-1, 0), 0.5);
        assert_eq!(exponential_bound(1, -2), 16.0);
        assert!((exponential_bound(1, 1) - std::f64::consts::SQRT_2).abs() < 1e-15);
    }

    #[test]
    fn buckets_come_in_value_order() {
        let h = FloatHistogram {
            schema: 0,
            zero_threshold: 0.001,
            zero_count: 1.0,
            count: 6.0,
            positive_spans: spans_for_indices(&[0, 1]),
            positive_buckets: vec![1.0, 2.0],
            negative_spans: spans_for_indices(&[0, 2]),
            negative_buckets: vec![1.0, 1.0],
            ..Default::default()
        };
        let b = all_buckets(&h);
        let bounds: Vec<(f64, f64)> = b.iter().map(|b| (b.lower, b.upper)).collect();
        assert_eq!(bounds, [(-4.0, -2.0), (-1.0, -0.5), (-0.001, 0.001), (0.5, 1.0), (1.0, 2.0)]);
    }
}
