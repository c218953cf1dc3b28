//! Compensated sums and means of histograms, as Prometheus 3 computes `sum`, `avg`,
//! `sum_over_time` and `avg_over_time` of them: every field (count, sum, zero bucket, each
//! bucket) is a Kahan–Neumaier sum whose compensation is kept in a second histogram of the
//! same layout, and added once at the end. Plain addition loses `1` next to `1e100`; this
//! keeps it (`sum 1, 1e100, 1, −1e100` is 2, not 0).
//!
//! The running sum and its compensation change layout together: when an addend brings a
//! coarser schema or a wider zero bucket, both are brought to it the way addition brings
//! any histogram (buckets merged, covered buckets moved into the zero bucket). Custom
//! buckets of different bounds are reconciled to the bounds they share; the compensation
//! is then folded into the sum first (it cannot follow the merge bucket for bucket).
//!
//! The mean is the compensated sum divided by the count until the sum overflows (a field
//! reaches ±Inf); from there on it is an incremental mean, `mean·(n−1)/n + h/n`, still
//! compensated — Prometheus' rule for floats and histograms alike.

use strata_model::histogram::{CounterResetHint, FloatHistogram, CUSTOM_BUCKETS_SCHEMA};
use strata_model::kahan::kahan_inc;

use super::arith::{add, common_bounds, divide, sum_hint, with_bounds, ArithError, Sparse};

/// A running compensated sum.
#[derive(Debug, Clone)]
struct Compensated {
    sum: Sparse,
    compensation: Sparse,
    /// The counter-reset hint addition gives the histograms added so far.
    hint: CounterResetHint,
}

impl Compensated {
    fn new(first: &FloatHistogram) -> Compensated {
        let sum = Sparse::of(first);
        let mut compensation = sum.clone();
        compensation.zero_count = 0.0;
        compensation.count = 0.0;
        compensation.sum = 0.0;
        compensation.positive.values_mut().for_each(|c| *c = 0.0);
        compensation.negative.values_mut().for_each(|c| *c = 0.0);
        Compensated { sum, compensation, hint: first.counter_reset_hint }
    }

    /// Adds `h` field by field, compensated.
    fn add(&mut self, h: &FloatHistogram) -> Result<(), ArithError> {
        self.hint = sum_hint(self.hint, h.counter_reset_hint);
        let custom = (self.sum.schema == CUSTOM_BUCKETS_SCHEMA, h.schema == CUSTOM_BUCKETS_SCHEMA);
        let mut other = match custom {
            (true, false) | (false, true) => return Err(ArithError::MixedSchemas),
            (true, true) if self.sum.custom_values != h.custom_values => {
                let common = common_bounds(&self.sum.custom_values, &h.custom_values);
                let hint = self.hint;
                *self = Compensated::new(&with_bounds(&self.value(), &common));
                self.hint = hint;
                Sparse::of(&with_bounds(h, &common))
            }
            _ => Sparse::of(h),
        };
        if !custom.0 {
            let schema = self.sum.schema.min(other.schema);
            for s in [&mut self.sum, &mut self.compensation, &mut other] {
                s.reduce_to(schema);
            }
            self.reconcile_zero_buckets(&mut other);
        }
        let (sum, comp) = (&mut self.sum, &mut self.compensation);
        (sum.zero_count, comp.zero_count) = kahan_inc(other.zero_count, sum.zero_count, comp.zero_count);
        (sum.count, comp.count) = kahan_inc(other.count, sum.count, comp.count);
        (sum.sum, comp.sum) = kahan_inc(other.sum, sum.sum, comp.sum);
        for (mine, compensations, theirs) in [
            (&mut sum.positive, &mut comp.positive, other.positive),
            (&mut sum.negative, &mut comp.negative, other.negative),
        ] {
            for (i, count) in theirs {
                let (v, c) = (mine.entry(i).or_insert(0.0), compensations.entry(i).or_insert(0.0));
                (*v, *c) = kahan_inc(count, *v, *c);
            }
        }
        Ok(())
    }

    /// Widens both zero buckets to the wider threshold (the compensation follows the sum).
    fn reconcile_zero_buckets(&mut self, other: &mut Sparse) {
        let threshold = self.sum.zero_threshold.max(other.zero_threshold);
        self.sum.widen_zero_bucket(threshold);
        other.widen_zero_bucket(self.sum.zero_threshold);
        self.sum.widen_zero_bucket(other.zero_threshold);
        let moved: Vec<(bool, i64)> =
            [(true, &self.compensation.positive), (false, &self.compensation.negative)]
                .into_iter()
                .flat_map(|(positive, side)| side.keys().map(move |&i| (positive, i)))
                .filter(|&(positive, i)| {
                    let sums = if positive { &self.sum.positive } else { &self.sum.negative };
                    !sums.contains_key(&i)
                })
                .collect();
        for (positive, i) in moved {
            let side =
                if positive { &mut self.compensation.positive } else { &mut self.compensation.negative };
            self.compensation.zero_count += side.remove(&i).unwrap_or(0.0);
        }
        self.compensation.zero_threshold = self.sum.zero_threshold;
    }

    /// Whether a field of the sum has reached ±Inf (Prometheus' `HasOverflow`).
    fn overflowed(&self) -> bool {
        let s = &self.sum;
        [s.count, s.sum, s.zero_count]
            .iter()
            .chain(s.positive.values())
            .chain(s.negative.values())
            .any(|v| v.is_infinite())
    }

    /// Both halves multiplied by `factor`.
    fn multiply(&mut self, factor: f64) {
        self.each_field(|v| *v *= factor);
    }

    /// Both halves divided by `divisor` (Prometheus divides; a reciprocal rounds otherwise).
    fn divide(&mut self, divisor: f64) {
        self.each_field(|v| *v /= divisor);
    }

    fn each_field(&mut self, mut f: impl FnMut(&mut f64)) {
        for s in [&mut self.sum, &mut self.compensation] {
            [&mut s.zero_count, &mut s.count, &mut s.sum].into_iter().for_each(&mut f);
            s.positive.values_mut().chain(s.negative.values_mut()).for_each(&mut f);
        }
    }

    /// The sum with its compensation added, with the hint addition gives.
    fn value(&self) -> FloatHistogram {
        let sum = self.sum.clone().into_histogram(CounterResetHint::Unknown);
        let compensation = self.compensation.clone().into_histogram(CounterResetHint::Unknown);
        let mut total = add(&sum, &compensation).unwrap_or(sum);
        total.counter_reset_hint = self.hint;
        total
    }
}

/// The compensated sum of `hs` (`None` for none), its counter-reset hint as addition gives
/// it (a gauge makes a gauge; a hint all share is kept).
pub(crate) fn kahan_sum<'a>(
    mut hs: impl Iterator<Item = &'a FloatHistogram>,
) -> Result<Option<FloatHistogram>, ArithError> {
    let Some(first) = hs.next() else { return Ok(None) };
    let mut total = Compensated::new(first);
    for h in hs {
        total.add(h)?;
    }
    Ok(Some(total.value()))
}

/// The mean of `hs` (`None` for none): the compensated sum over the count, or, once that
/// sum overflows, an incremental mean. Its hint is the sum's.
pub(crate) fn kahan_mean<'a>(
    mut hs: impl Iterator<Item = &'a FloatHistogram>,
) -> Result<Option<FloatHistogram>, ArithError> {
    let Some(first) = hs.next() else { return Ok(None) };
    let mut running = Compensated::new(first);
    let mut count = 1.0;
    let mut incremental = false;
    for h in hs {
        count += 1.0;
        if !incremental {
            let mut next = running.clone();
            next.add(h)?;
            if !next.overflowed() {
                running = next;
                continue;
            }
            // From here on `running` holds the mean of what came before.
            incremental = true;
            running.divide(count - 1.0);
        }
        running.multiply((count - 1.0) / count);
        running.add(&divide(h, count))?;
    }
    if !incremental {
        running.divide(count);
    }
    Ok(Some(running.value()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_model::histogram::spans_for_indices;

    fn h(count: f64, sum: f64, buckets: &[(i64, f64)]) -> FloatHistogram {
        let indices: Vec<i64> = buckets.iter().map(|b| b.0).collect();
        FloatHistogram {
            count,
            sum,
            positive_spans: spans_for_indices(&indices),
            positive_buckets: buckets.iter().map(|b| b.1).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn small_values_beside_huge_ones_are_kept() {
        let hs = [h(1.0, 1.0, &[]), h(2.0, 1e100, &[]), h(3.0, 1.0, &[]), h(4.0, -1e100, &[])];
        let total = kahan_sum(hs.iter()).unwrap().unwrap();
        assert_eq!((total.count, total.sum), (10.0, 2.0));
        let plain = hs[1..].iter().fold(hs[0].clone(), |a, b| add(&a, b).unwrap());
        assert_eq!(plain.sum, 0.0, "plain addition loses both ones");
        let mean = kahan_mean(hs.iter()).unwrap().unwrap();
        assert_eq!((mean.count, mean.sum), (2.5, 0.5));
    }

    #[test]
    fn buckets_are_compensated_across_layouts() {
        let hs = [
            h(2.0, 0.0, &[(1, 1.0), (2, 1e100)]),
            h(2.0, 0.0, &[(1, 1.0), (3, 1.0)]),
            h(1.0, 0.0, &[(2, -1e100)]),
        ];
        let total = kahan_sum(hs.iter()).unwrap().unwrap();
        let buckets: Vec<(i64, f64)> =
            super::super::buckets::side_map(&total.positive_spans, &total.positive_buckets)
                .into_iter()
                .collect();
        assert_eq!(buckets, [(1, 2.0), (3, 1.0)], "bucket 2 cancels out exactly");
    }

    #[test]
    fn an_overflowing_sum_turns_into_an_incremental_mean() {
        let hs = [h(f64::MAX, 5.3, &[]), h(1e308, 1e100, &[]), h(1e-6, 1.0, &[]), h(1e-6, -1e100, &[])];
        let mean = kahan_mean(hs.iter()).unwrap().unwrap();
        assert!(
            mean.count.is_finite() && (mean.count - (f64::MAX / 4.0 + 2.5e307)).abs() / mean.count < 1e-12
        );
        assert!((mean.sum - 6.3 / 4.0).abs() < 1e-12, "{}", mean.sum);
        assert_eq!(kahan_sum(hs.iter()).unwrap().unwrap().count, f64::INFINITY);
    }

    #[test]
    fn exponential_and_custom_buckets_do_not_mix() {
        let custom =
            FloatHistogram { schema: CUSTOM_BUCKETS_SCHEMA, custom_values: vec![1.0], ..h(1.0, 1.0, &[]) };
        assert_eq!(kahan_sum([h(1.0, 1.0, &[]), custom].iter()).unwrap_err(), ArithError::MixedSchemas);
    }
}
