//! Bucket boundaries and the all-buckets order Prometheus iterates in: negative buckets
//! from the most negative, then the zero bucket, then positive buckets upwards.

use std::collections::BTreeMap;

use strata_model::histogram::{bucket_indices, FloatHistogram, Span, CUSTOM_BUCKETS_SCHEMA};

use super::bound_table::SCHEMA_8_FRACTIONS;

/// One bucket: its bounds and count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bucket {
    pub(crate) lower: f64,
    pub(crate) upper: f64,
    pub(crate) count: f64,
    /// The zero bucket.
    pub(crate) zero: bool,
}

/// Upper bound of exponential bucket `index` at `schema`: 2^(index · 2^−schema), made as
/// Prometheus makes it — a fraction from its table times a power of two — so the bounds
/// are the same floats. The last finite bucket's bound is `f64::MAX`, not the +Inf the
/// formula gives, so that ±Inf observations have a bucket of their own (Prometheus' rule).
pub(crate) fn exponential_bound(index: i64, schema: i32) -> f64 {
    if schema <= 0 {
        let exp = index << (-schema);
        return if exp == 1024 { f64::MAX } else { ldexp(1.0, exp) };
    }
    let schema = schema.min(8);
    let fraction_index = index & ((1 << schema) - 1);
    let fraction = SCHEMA_8_FRACTIONS[(fraction_index << (8 - schema)) as usize];
    let exp = (index >> schema) + 1;
    if fraction == 0.5 && exp == 1025 {
        return f64::MAX;
    }
    ldexp(fraction, exp)
}

/// `x · 2^exp` with one rounding, as Go's `math.Ldexp` (0 or ±Inf past the range).
fn ldexp(x: f64, exp: i64) -> f64 {
    let power_of_two = |e: i64| f64::from_bits(((e + 1023) as u64) << 52); // −1022 ≤ e ≤ 1023
    match exp {
        1024.. => (x * power_of_two(1023)) * power_of_two((exp - 1023).min(1023)),
        -1022..=1023 => x * power_of_two(exp),
        // Subnormal results: the first product is exact, the second rounds once.
        -1100..=-1023 => (x * power_of_two(exp + 100)) * power_of_two(-100),
        _ => x * 0.0,
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
    #[allow(clippy::approx_constant)] // one unit in the last place below √2, as Prometheus has it
    fn bounds_are_prometheus_floats() {
        // What a real Prometheus 2.42 answers for these buckets (schema 2, index 3, 2, −1).
        assert_eq!(exponential_bound(3, 2), 1.6817928305074288);
        assert_eq!(exponential_bound(2, 2), 1.414213562373095);
        assert_eq!(exponential_bound(-1, 2), 0.8408964152537144);
        // The last finite bucket ends at f64::MAX; the next one at +Inf.
        assert_eq!(exponential_bound(1024, 0), f64::MAX);
        assert_eq!(exponential_bound(1025, 0), f64::INFINITY);
        assert_eq!(exponential_bound(1024 << 8, 8), f64::MAX);
        assert_eq!(exponential_bound(64, -4), f64::MAX);
        assert_eq!(exponential_bound(-1074, 0), f64::from_bits(1), "the smallest subnormal");
        assert_eq!(exponential_bound(-1076, 0), 0.0);
    }

    #[test]
    fn the_fraction_table_is_the_halved_powers_of_two() {
        let table = &crate::native_histogram::bound_table::SCHEMA_8_FRACTIONS;
        assert!(table.windows(2).all(|w| w[0] < w[1]));
        for (i, &f) in table.iter().enumerate() {
            let exact = 2f64.powf(i as f64 / 256.0) / 2.0;
            let ulps = (f.to_bits() as i64 - exact.to_bits() as i64).abs();
            assert!(ulps <= 4, "entry {i}: {f} is {ulps} units from {exact}");
        }
        // Each schema's bounds are every 2^(8−s)-th entry of schema 8's.
        for schema in 1..=8 {
            for i in 0..(1i64 << schema) {
                let from_table = exponential_bound(i, schema);
                assert_eq!(from_table, exponential_bound(i << (8 - schema), 8), "schema {schema} index {i}");
            }
        }
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
