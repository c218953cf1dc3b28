//! `histogram_quantile` over classic histograms: series that differ only in `le` are one
//! histogram; its buckets are sorted by upper bound, merged where bounds repeat, made
//! monotonic (Prometheus' tolerance for floating-point noise included), and the quantile is
//! interpolated linearly inside the bucket that holds its rank.

use std::collections::HashMap;

use strata_model::{Labels, METRIC_NAME_LABEL};
use strata_promql_syntax::ast::Expr;

use super::functions::string_arg;
use super::steps::{by_step, OutputBuilder};
use super::{Evaluator, StepSeries, Val};
use crate::engine::QueryError;
use crate::native_histogram::quantile::cumulative_rank_at;

const BUCKET_LABEL: &str = "le";

impl Evaluator<'_> {
    pub(crate) fn histogram_quantile(&self, phi: &Expr, input: &Expr) -> Result<Val, QueryError> {
        let phi = self.eval_scalar(phi)?;
        self.check_quantile_param(&phi);
        let mut input = self.eval_vector(input)?;
        self.drop_classic_native_conflicts(&mut input);
        let mut out = self.quantiles_of(&input, &phi);
        out.extend(self.native_quantiles(&input, &phi));
        Ok(Val::Vector(super::steps::merge_same_labels(out)?))
    }

    /// `histogram_quantiles(v, "label", φ…)` (experimental): several quantiles of each
    /// histogram at once, each series labelled with its φ (`q="0.5"`).
    pub(crate) fn histogram_quantiles(&self, args: &[&Expr]) -> Result<Val, QueryError> {
        let label = string_arg(args[1])?;
        if label.is_empty() {
            return Err(QueryError::Execution("histogram_quantiles() needs a label name to put φ in".into()));
        }
        let phis: Vec<Vec<f64>> = args[2..].iter().map(|a| self.eval_scalar(a)).collect::<Result<_, _>>()?;
        phis.iter().for_each(|phi| self.check_quantile_param(phi));
        let mut input = self.eval_vector(args[0])?;
        self.drop_classic_native_conflicts(&mut input);
        let mut out = OutputBuilder::default();
        for phi in &phis {
            for s in self.quantiles_of(&input, phi).into_iter().chain(self.native_quantiles(&input, phi)) {
                for (t, v) in s.points {
                    let mut labels = s.labels.clone();
                    labels.set(&label, &quantile_label(phi[self.step_index(t)]));
                    let id = out.series_for(&labels, s.drop_name);
                    out.push(id, t, v)?;
                }
            }
        }
        Ok(Val::Vector(out.finish()?))
    }

    /// The φ-quantile (φ per step) of each histogram of `input`.
    fn quantiles_of(&self, input: &[StepSeries], phi: &[f64]) -> Vec<StepSeries> {
        self.per_histogram(input, |step, labels, buckets| {
            let (q, forced_monotonic) = bucket_quantile(phi[step], buckets);
            if forced_monotonic {
                self.ctx.info(format!(
                    "PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {:?}",
                    labels.get(METRIC_NAME_LABEL).unwrap_or("")
                ));
            }
            q
        })
    }

    pub(crate) fn histogram_fraction(
        &self,
        lower: &Expr,
        upper: &Expr,
        input: &Expr,
    ) -> Result<Val, QueryError> {
        let lower = self.eval_scalar(lower)?;
        let upper = self.eval_scalar(upper)?;
        let mut input = self.eval_vector(input)?;
        self.drop_classic_native_conflicts(&mut input);
        let mut fractions =
            self.per_histogram(&input, |step, _, buckets| bucket_fraction(lower[step], upper[step], buckets));
        fractions.extend(self.native_fractions(&input, &lower, &upper));
        Ok(Val::Vector(super::steps::merge_same_labels(fractions)?))
    }

    /// Groups the input's series into classic histograms (same labels but `le`) and gives
    /// `f` each histogram's (upper bound, count) buckets at each step.
    fn per_histogram(
        &self,
        input: &[StepSeries],
        f: impl Fn(usize, &Labels, &mut Vec<(f64, f64)>) -> f64,
    ) -> Vec<StepSeries> {
        let delayed = self.ctx.options().delayed_name_removal;
        let mut index: HashMap<Labels, usize> = HashMap::new();
        let mut histograms: Vec<StepSeries> = Vec::new();
        let mut member: Vec<Option<(usize, f64)>> = Vec::with_capacity(input.len());
        for s in input {
            if s.points.is_empty() {
                member.push(None); // a native histogram series: `native_functions` takes it
                continue;
            }
            let Some(bound) = s.labels.get(BUCKET_LABEL).and_then(parse_bound) else {
                self.ctx.warn(format!(
                    "PromQL warning: bucket label {BUCKET_LABEL:?} is missing or has a malformed value of {:?} for metric name {:?}",
                    s.labels.get(BUCKET_LABEL).unwrap_or(""),
                    s.labels.get(METRIC_NAME_LABEL).unwrap_or("")
                ));
                member.push(None);
                continue;
            };
            let mut labels = s.labels.clone();
            labels.remove(BUCKET_LABEL);
            if !delayed {
                super::remove_name(&mut labels);
            }
            let h = *index.entry(labels.clone()).or_insert_with(|| {
                histograms.push(StepSeries {
                    labels,
                    points: Vec::new(),
                    drop_name: delayed,
                    histograms: Vec::new(),
                });
                histograms.len() - 1
            });
            member.push(Some((h, bound)));
        }
        let mut buckets: Vec<Vec<(f64, f64)>> = vec![Vec::new(); histograms.len()];
        for (step, at_step) in by_step(self, input).into_iter().enumerate() {
            buckets.iter_mut().for_each(Vec::clear);
            for (series, count) in at_step {
                if let Some((h, bound)) = member[series] {
                    buckets[h].push((bound, count));
                }
            }
            let t = self.start + step as i64 * self.step;
            for (h, b) in buckets.iter_mut().enumerate() {
                if !b.is_empty() {
                    let v = f(step, &histograms[h].labels, b);
                    histograms[h].points.push((t, v));
                }
            }
        }
        histograms.into_iter().filter(|s| !s.points.is_empty()).collect()
    }
}

/// φ as `histogram_quantiles` writes it in its label: Prometheus' float form, with `.0` on
/// whole numbers (`q="0.0"`, `q="0.25"`, `q="1.0"`).
fn quantile_label(phi: f64) -> String {
    let text = crate::format_float(phi);
    if text.bytes().all(|c| c.is_ascii_digit() || c == b'-') {
        format!("{text}.0")
    } else {
        text
    }
}

/// An `le` value as Go's ParseFloat reads it.
fn parse_bound(le: &str) -> Option<f64> {
    le.trim().parse::<f64>().ok()
}

/// The φ-quantile of (upper bound, cumulative count) buckets; also whether the counts had to
/// be made monotonic.
pub(crate) fn bucket_quantile(q: f64, buckets: &mut Vec<(f64, f64)>) -> (f64, bool) {
    if q.is_nan() {
        return (f64::NAN, false);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, false);
    }
    if q > 1.0 {
        return (f64::INFINITY, false);
    }
    buckets.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
        return (f64::NAN, false);
    }
    coalesce(buckets);
    let forced = make_monotonic(buckets);
    if buckets.len() < 2 {
        return (f64::NAN, forced);
    }
    let observations = buckets[buckets.len() - 1].1;
    if observations == 0.0 {
        return (f64::NAN, forced);
    }
    let mut rank = q * observations;
    let b = buckets[..buckets.len() - 1].partition_point(|x| x.1 < rank);
    if b == buckets.len() - 1 {
        return (buckets[buckets.len() - 2].0, forced);
    }
    if b == 0 && buckets[0].0 <= 0.0 {
        return (buckets[0].0, forced);
    }
    let (mut start, end, mut count) = (0.0, buckets[b].0, buckets[b].1);
    if b > 0 {
        start = buckets[b - 1].0;
        count -= buckets[b - 1].1;
        rank -= buckets[b - 1].1;
    }
    (start + (end - start) * (rank / count), forced)
}

/// The fraction of observations between `lower` and `upper`, interpolating linearly inside
/// finite buckets; the first bucket starts at 0 when its bound is positive (as for
/// quantiles), and a bound inside an infinitely wide bucket counts none of it.
pub(crate) fn bucket_fraction(lower: f64, upper: f64, buckets: &mut Vec<(f64, f64)>) -> f64 {
    buckets.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
        return f64::NAN;
    }
    coalesce(buckets);
    make_monotonic(buckets);
    let total = buckets[buckets.len() - 1].1;
    if total == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    (cumulative_rank_at(upper, buckets) - cumulative_rank_at(lower, buckets)).max(0.0) / total
}

/// Merges buckets with the same upper bound (sorted input).
fn coalesce(buckets: &mut Vec<(f64, f64)>) {
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(buckets.len());
    for &(bound, count) in buckets.iter() {
        match out.last_mut() {
            Some(last) if last.0 == bound => last.1 += count,
            _ => out.push((bound, count)),
        }
    }
    *buckets = out;
}

/// Raises counts that fall below an earlier bucket's; tiny relative differences (1e-12) are
/// floating-point noise and are flattened without counting as a fix.
fn make_monotonic(buckets: &mut [(f64, f64)]) -> bool {
    const TOLERANCE: f64 = 1e-12;
    let mut forced = false;
    let mut prev = buckets[0].1;
    for b in buckets.iter_mut().skip(1) {
        let cur = b.1;
        if cur == prev {
            continue;
        }
        if super::math::almost_equal(prev, cur, TOLERANCE) {
            b.1 = prev;
            continue;
        }
        if cur < prev {
            b.1 = prev;
            forced = true;
            continue;
        }
        prev = cur;
    }
    forced
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_interpolate_inside_finite_buckets_only() {
        let positive = || vec![(1.0, 1.0), (2.0, 3.0), (3.0, 6.0), (f64::INFINITY, 100.0)];
        assert!((bucket_fraction(0.0, 1.5, &mut positive()) - 0.02).abs() < 1e-12);
        assert!((bucket_fraction(400.0, f64::INFINITY, &mut positive()) - 0.94).abs() < 1e-12);
        assert_eq!(bucket_fraction(4.0, 5.0, &mut positive()), 0.0);
        let negative = || vec![(-3.0, 10.0), (-2.0, 12.0), (-1.0, 15.0), (f64::INFINITY, 100.0)];
        assert!((bucket_fraction(-4.0, -2.0, &mut negative()) - 0.02).abs() < 1e-12);
        assert!((bucket_fraction(f64::NEG_INFINITY, -1.5, &mut negative()) - 0.135).abs() < 1e-12);
        assert!(bucket_fraction(f64::NAN, 1.0, &mut negative()).is_nan());
    }

    #[test]
    fn median_of_uniform_buckets_interpolates() {
        let mut b = vec![(1.0, 10.0), (2.0, 20.0), (f64::INFINITY, 20.0), (0.5, 5.0)];
        let (q, forced) = bucket_quantile(0.5, &mut b);
        assert_eq!((q, forced), (1.0, false));
        let mut b = vec![(1.0, 10.0), (2.0, 8.0), (f64::INFINITY, 20.0)];
        assert!(bucket_quantile(0.9, &mut b).1, "a falling count is fixed and said so");
        assert!(bucket_quantile(0.5, &mut vec![(1.0, 1.0)]).0.is_nan(), "no +Inf bucket");
    }
}
