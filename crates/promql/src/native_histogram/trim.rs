//! The trim operators: `h </ x` keeps a histogram's observations at or below `x`, `h >/ x`
//! those at or above it (Prometheus 3). A bucket the cutoff falls inside keeps the share
//! interpolation gives — exponentially in exponential buckets, linearly in the zero bucket
//! and custom buckets — and when anything was trimmed the sum is worked out again from what
//! is left, each bucket's observations taken at the middle of what it kept (the geometric
//! middle in exponential buckets).
//!
//! Bounds, as for quantiles: the zero bucket reaches only to the side that has buckets (all
//! of it when neither or both have), and a first custom bucket with a positive bound starts
//! at 0 (but for `>/` with a cutoff below 0, where it reaches to −∞). A bucket that reaches
//! to infinity keeps all its observations at the cutoff when the kept side is the infinite
//! one, and none when it is not (no share of an infinite width can be interpolated); one
//! that reaches to infinity both ways keeps none.

use strata_model::histogram::{bucket_indices, FloatHistogram, CUSTOM_BUCKETS_SCHEMA};

use super::buckets::exponential_bound;

/// Which observations `trim` keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keep {
    /// `</`: at or below the cutoff.
    Below,
    /// `>/`: at or above the cutoff.
    Above,
}

#[derive(Clone, Copy, PartialEq)]
enum Interpolation {
    Linear,
    Exponential,
}

/// `h` with the observations on the far side of `cutoff` taken out.
pub(crate) fn trim(h: &FloatHistogram, cutoff: f64, keep: Keep) -> FloatHistogram {
    let mut out = h.clone();
    let mut trimmer = Trimmer { cutoff, keep, sum: 0.0, count: 0.0, changed: false };
    if h.schema == CUSTOM_BUCKETS_SCHEMA {
        let bounds = &h.custom_values;
        for (count, index) in out.positive_buckets.iter_mut().zip(bucket_indices(&h.positive_spans)) {
            let i = index as usize;
            let upper = bounds.get(i).copied().unwrap_or(f64::INFINITY);
            let lower = match i {
                // Taken to start at 0, except by `>/` below 0 (as Prometheus' tests pin down).
                0 if upper > 0.0 && upper.is_finite() && !(keep == Keep::Above && cutoff < 0.0) => 0.0,
                0 => f64::NEG_INFINITY,
                _ => bounds.get(i - 1).copied().unwrap_or(f64::INFINITY),
            };
            trimmer.bucket(lower, upper, count, Interpolation::Linear);
        }
    } else {
        for (count, index) in out.negative_buckets.iter_mut().zip(bucket_indices(&h.negative_spans)) {
            let (lower, upper) =
                (-exponential_bound(index, h.schema), -exponential_bound(index - 1, h.schema));
            trimmer.bucket(lower, upper, count, Interpolation::Exponential);
        }
        let (positive, negative) = (!h.positive_buckets.is_empty(), !h.negative_buckets.is_empty());
        let zero_lower = if positive && !negative { 0.0 } else { -h.zero_threshold };
        let zero_upper = if negative && !positive { 0.0 } else { h.zero_threshold };
        trimmer.bucket(zero_lower, zero_upper, &mut out.zero_count, Interpolation::Linear);
        for (count, index) in out.positive_buckets.iter_mut().zip(bucket_indices(&h.positive_spans)) {
            let (lower, upper) = (exponential_bound(index - 1, h.schema), exponential_bound(index, h.schema));
            trimmer.bucket(lower, upper, count, Interpolation::Exponential);
        }
    }
    if !trimmer.changed {
        return h.clone();
    }
    out.count = trimmer.count;
    out.sum = trimmer.sum;
    out
}

struct Trimmer {
    cutoff: f64,
    keep: Keep,
    sum: f64,
    count: f64,
    changed: bool,
}

impl Trimmer {
    /// Trims one bucket's `count` in place and adds what it keeps to the totals.
    fn bucket(&mut self, lower: f64, upper: f64, count: &mut f64, how: Interpolation) {
        let (share, at) = self.kept(lower, upper, how);
        let kept = if share == 1.0 { *count } else { *count * share };
        if kept != *count {
            self.changed = true;
        }
        *count = kept;
        self.count += kept;
        if kept != 0.0 {
            self.sum += kept * at;
        }
    }

    /// The share of the bucket `[lower, upper]` kept, and where its kept observations are
    /// taken to be.
    fn kept(&self, lower: f64, upper: f64, how: Interpolation) -> (f64, f64) {
        let x = self.cutoff;
        let (from, to) = match self.keep {
            Keep::Below if upper <= x => return (1.0, middle(lower, upper, how)),
            Keep::Below if lower >= x => return (0.0, 0.0),
            Keep::Above if lower >= x => return (1.0, middle(lower, upper, how)),
            Keep::Above if upper <= x => return (0.0, 0.0),
            Keep::Below => (lower, x),
            Keep::Above => (x, upper),
        };
        // The cutoff is inside the bucket: one infinite both ways keeps nothing.
        if lower.is_infinite() && upper.is_infinite() {
            return (0.0, 0.0);
        }
        if from.is_infinite() || to.is_infinite() {
            return (1.0, x);
        }
        if lower.is_infinite() || upper.is_infinite() {
            return (0.0, 0.0);
        }
        let share = match how {
            Interpolation::Linear => (to - from) / (upper - lower),
            Interpolation::Exponential => {
                ((to.abs().ln() - from.abs().ln()) / (upper.abs().ln() - lower.abs().ln())).abs()
            }
        };
        (share, middle(from, to, how))
    }
}

/// Where a stretch's observations are taken to be: its middle (geometric for exponential
/// buckets), its finite end when it reaches to infinity.
fn middle(lower: f64, upper: f64, how: Interpolation) -> f64 {
    match (lower.is_infinite(), upper.is_infinite()) {
        (true, true) => 0.0,
        (true, false) => upper,
        (false, true) => lower,
        _ if how == Interpolation::Exponential && lower != 0.0 && upper != 0.0 => {
            lower.signum() * (lower.abs() * upper.abs()).sqrt()
        }
        _ => (lower + upper) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::native_histogram::parse_histogram;

    fn h(text: &str) -> FloatHistogram {
        parse_histogram(text).unwrap()
    }

    #[test]
    fn a_cutoff_on_a_bound_keeps_whole_buckets_and_the_sum_is_worked_out_again() {
        let t = trim(
            &h("{{schema:-53 sum:172.5 count:15 custom_values:[5 10 15 20] buckets:[1 6 4 3 1]}}"),
            15.0,
            Keep::Below,
        );
        assert_eq!((t.count, t.sum), (11.0, 97.5));
        let t = trim(
            &h("{{schema:-53 sum:172.5 count:15 custom_values:[5 10 15 20] buckets:[1 6 4 3 1]}}"),
            13.0,
            Keep::Above,
        );
        assert!((t.count - 5.6).abs() < 1e-12 && (t.sum - 94.9).abs() < 1e-9, "{t:?}");
    }

    #[test]
    fn exponential_buckets_interpolate_exponentially() {
        let base = h(
            "{{schema:0 sum:123.75 count:34 z_bucket:1 z_bucket_w:0.001 buckets:[2 4 8 16] n_buckets:[1 2]}}",
        );
        let t = trim(&base, 2f64.sqrt(), Keep::Below);
        assert!((t.count - 8.0).abs() < 1e-9, "{t:?}");
        assert!((t.sum - 0.2570938865989847).abs() < 1e-9, "{t:?}");
        assert_eq!(trim(&base, f64::INFINITY, Keep::Below), base, "nothing trimmed: the sum is kept");
    }
}
