//! `histogram_quantile`, `histogram_fraction`, `histogram_stddev` and `histogram_stdvar` of
//! a native histogram, as Prometheus computes them: buckets walked in value order (from the
//! top for quantiles at or above the median, unless NaN observations make the sum NaN),
//! exponential interpolation inside exponential buckets, linear inside the zero bucket and
//! custom buckets, and a natural bound of 0 when all observations are on one side of it.

use strata_model::histogram::{FloatHistogram, CUSTOM_BUCKETS_SCHEMA};

use super::buckets::{all_buckets, Bucket};

fn one_sided_zero_bucket(h: &FloatHistogram, b: &mut Bucket) {
    if !b.zero {
        return;
    }
    let (positive, negative) = (!h.positive_buckets.is_empty(), !h.negative_buckets.is_empty());
    if positive && !negative {
        b.lower = 0.0;
    } else if negative && !positive {
        b.upper = 0.0;
    }
}

/// What NaN observations (a histogram whose sum is NaN) did to a quantile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum NanObservations {
    /// φ's rank lies past the observations the buckets hold: the quantile is NaN.
    ResultIsNan,
    /// The quantile comes from the buckets, which leave the NaNs out: skewed higher.
    SkewedHigher,
}

/// [`quantile`], and what NaN observations did to it.
pub(crate) fn quantile_noting_nan(q: f64, h: &FloatHistogram) -> (f64, Option<NanObservations>) {
    if !h.sum.is_nan() || h.count == 0.0 || q.is_nan() || !(0.0..=1.0).contains(&q) {
        return (quantile(q, h), None);
    }
    let in_buckets: f64 = all_buckets(h).iter().map(|b| b.count).sum();
    if q * h.count > in_buckets {
        return (f64::NAN, Some(NanObservations::ResultIsNan));
    }
    (quantile(q, h), Some(NanObservations::SkewedHigher))
}

/// The `q` quantile of the observations in `h`.
pub(crate) fn quantile(q: f64, h: &FloatHistogram) -> f64 {
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    if h.count == 0.0 || q.is_nan() {
        return f64::NAN;
    }
    let custom = h.schema == CUSTOM_BUCKETS_SCHEMA;
    let forward = h.sum.is_nan() || q < 0.5;
    let mut buckets = all_buckets(h);
    if !forward {
        buckets.reverse();
    }
    let rank_target = if forward { q * h.count } else { (1.0 - q) * h.count };
    let (mut count, mut found) = (0.0, None);
    for b in buckets.iter().filter(|b| b.count != 0.0) {
        count += b.count;
        found = Some(*b);
        if count >= rank_target {
            break;
        }
    }
    let Some(mut bucket) = found else { return f64::NAN };
    if !custom && bucket.lower < 0.0 && bucket.upper > 0.0 {
        one_sided_zero_bucket(h, &mut bucket);
    } else if custom {
        if bucket.lower == f64::NEG_INFINITY {
            if bucket.upper <= 0.0 {
                return bucket.upper;
            }
            bucket.lower = 0.0;
        } else if bucket.upper == f64::INFINITY {
            return bucket.lower;
        }
    }
    count = count.min(h.count);
    if count < rank_target {
        return bucket.upper;
    }
    let rank = if forward { rank_target - (count - bucket.count) } else { count - rank_target };
    let fraction = rank / bucket.count;
    if custom || (bucket.lower <= 0.0 && bucket.upper >= 0.0) {
        return bucket.lower + (bucket.upper - bucket.lower) * fraction;
    }
    let (log_lower, log_upper) = (bucket.lower.abs().log2(), bucket.upper.abs().log2());
    if bucket.lower > 0.0 {
        (log_lower + (log_upper - log_lower) * fraction).exp2()
    } else {
        -(log_upper + (log_lower - log_upper) * (1.0 - fraction)).exp2()
    }
}

/// The fraction of the observations in `h` between `lower` and `upper`.
pub(crate) fn fraction(lower: f64, upper: f64, h: &FloatHistogram) -> f64 {
    if h.count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let custom = h.schema == CUSTOM_BUCKETS_SCHEMA;
    let (mut rank, mut lower_rank, mut upper_rank) = (0.0, None, None);
    if custom {
        // As for a classic histogram's `_bucket` series, which custom buckets stand for.
        let cumulative = cumulative_custom_buckets(h);
        (lower_rank, upper_rank) =
            (Some(cumulative_rank_at(lower, &cumulative)), Some(cumulative_rank_at(upper, &cumulative)));
    }
    for mut b in all_buckets(h).into_iter().filter(|_| !custom) {
        one_sided_zero_bucket(h, &mut b);
        let linear = |v: f64, rank: f64| rank + b.count * (v - b.lower) / (b.upper - b.lower);
        let exponential = |v: f64, rank: f64| {
            let (log_lower, log_upper, log_v) = (b.lower.abs().log2(), b.upper.abs().log2(), v.abs().log2());
            let f = if v > 0.0 {
                (log_v - log_lower) / (log_upper - log_lower)
            } else {
                1.0 - (log_v - log_upper) / (log_lower - log_upper)
            };
            rank + b.count * f
        };
        let interpolate =
            |v: f64, rank: f64| if custom || b.zero { linear(v, rank) } else { exponential(v, rank) };
        if lower_rank.is_none() && b.lower >= lower {
            lower_rank = Some(rank);
        }
        if upper_rank.is_none() && b.lower >= upper {
            upper_rank = Some(rank);
        }
        if lower_rank.is_some() && upper_rank.is_some() {
            break;
        }
        if lower_rank.is_none() && b.lower < lower && b.upper > lower {
            lower_rank = Some(interpolate(lower, rank));
        }
        if upper_rank.is_none() && b.lower < upper && b.upper > upper {
            upper_rank = Some(interpolate(upper, rank));
        }
        if lower_rank.is_some() && upper_rank.is_some() {
            break;
        }
        rank += b.count;
    }
    // NaN observations (a NaN sum) count in the total but lie in no bucket: a rank never
    // reaches them.
    let reachable = if h.sum.is_nan() {
        all_buckets(h).iter().map(|b| b.count).sum::<f64>().min(h.count)
    } else {
        h.count
    };
    let clamp = |r: Option<f64>| r.filter(|r| *r <= reachable).unwrap_or(reachable);
    (clamp(upper_rank) - clamp(lower_rank)) / h.count
}

/// A custom-bucket histogram as a classic one: `(upper bound, observations at or below
/// it)` for every bound and `+Inf`, buckets left out of the spans counting none.
fn cumulative_custom_buckets(h: &FloatHistogram) -> Vec<(f64, f64)> {
    let uppers = h.custom_values.iter().copied().chain([f64::INFINITY]);
    let present = all_buckets(h);
    let mut total = 0.0;
    uppers
        .map(|upper| {
            total += present.iter().filter(|b| b.upper == upper).map(|b| b.count).sum::<f64>();
            (upper, total)
        })
        .collect()
}

/// How many observations of a classic histogram (`(upper bound, cumulative count)`,
/// sorted, ending at `+Inf`) are at or below `v`: linear inside finite buckets, the first
/// bucket starting at 0 when its bound is positive; a value inside an infinitely wide
/// bucket counts none of the `+Inf` bucket and all of a first one reaching down to `-Inf`.
pub(crate) fn cumulative_rank_at(v: f64, buckets: &[(f64, f64)]) -> f64 {
    let first_lower = if buckets[0].0 > 0.0 { 0.0 } else { f64::NEG_INFINITY };
    if v <= first_lower {
        return 0.0;
    }
    let mut previous_count = 0.0;
    for (i, &(upper, count)) in buckets.iter().enumerate() {
        let lower = if i == 0 { first_lower } else { buckets[i - 1].0 };
        if v <= upper {
            if v == upper || lower.is_infinite() {
                return count;
            }
            if upper.is_infinite() {
                return previous_count;
            }
            return previous_count + (count - previous_count) * (v - lower) / (upper - lower);
        }
        previous_count = count;
    }
    previous_count
}

/// The variance of the observations, each bucket's taken at its geometric mean (its
/// arithmetic mean for custom buckets, 0 in the zero bucket).
pub(crate) fn variance(h: &FloatHistogram) -> f64 {
    let mean = h.sum / h.count;
    let custom = h.schema == CUSTOM_BUCKETS_SCHEMA;
    let (mut sum, mut c) = (0.0, 0.0);
    for b in all_buckets(h).into_iter().filter(|b| b.count != 0.0) {
        let value = if custom {
            (b.upper + b.lower) / 2.0
        } else if b.lower <= 0.0 && b.upper >= 0.0 {
            0.0
        } else {
            let g = (b.upper * b.lower).sqrt();
            if b.upper < 0.0 {
                -g
            } else {
                g
            }
        };
        let delta = value - mean;
        (sum, c) = strata_model::kahan::kahan_inc(b.count * delta * delta, sum, c);
    }
    (sum + c) / h.count
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_model::histogram::spans_for_indices;

    fn h() -> FloatHistogram {
        // Buckets (0.5, 1]: 1, (1, 2]: 2, (2, 4]: 1.
        FloatHistogram {
            schema: 0,
            count: 4.0,
            sum: 5.0,
            positive_spans: spans_for_indices(&[0, 1, 2]),
            positive_buckets: vec![1.0, 2.0, 1.0],
            ..Default::default()
        }
    }

    #[test]
    fn quantiles_interpolate_exponentially() {
        // The median is half-way through (1, 2] (two of four observations), on a log scale.
        assert!((quantile(0.5, &h()) - 2f64.sqrt()).abs() < 1e-12);
        assert!((quantile(0.25, &h()) - 1.0).abs() < 1e-12, "the end of the first bucket");
        assert!((quantile(0.375, &h()) - 2f64.powf(0.25)).abs() < 1e-12, "a quarter into (1, 2]");
        assert_eq!(quantile(1.5, &h()), f64::INFINITY);
        assert!(quantile(0.5, &FloatHistogram::default()).is_nan());
    }

    #[test]
    fn fractions_invert_quantiles() {
        assert!((fraction(f64::NEG_INFINITY, 2f64.sqrt(), &h()) - 0.5).abs() < 1e-12);
        assert!((fraction(f64::NEG_INFINITY, 2f64.powf(0.25), &h()) - 0.375).abs() < 1e-12);
        assert_eq!(fraction(0.0, f64::INFINITY, &h()), 1.0);
        assert_eq!(fraction(3.0, 1.0, &h()), 0.0);
    }

    #[test]
    fn variance_uses_geometric_means() {
        let v = variance(&h());
        let means = [0.5f64.sqrt(), 2f64.sqrt(), 8f64.sqrt()];
        let want = (means[0] - 1.25).powi(2) + 2.0 * (means[1] - 1.25).powi(2) + (means[2] - 1.25).powi(2);
        assert!((v - want / 4.0).abs() < 1e-12);
    }
}
