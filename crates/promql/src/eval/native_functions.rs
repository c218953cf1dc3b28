//! Functions of native histograms: `histogram_count`, `histogram_sum`, `histogram_avg`,
//! `histogram_stddev`, `histogram_stdvar` (a float per histogram sample; float samples
//! are left out), and the native half of `histogram_quantile` and `histogram_fraction`
//! (the classic half, over `le` buckets, is in `histogram`).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::sync::Arc;

use strata_model::histogram::FloatHistogram;

use super::{Evaluator, StepSeries};
use crate::native_histogram::quantile;

impl Evaluator<'_> {
    /// `histogram_count` and its kin over `input`: each histogram point becomes `f` of it,
    /// the metric name dropped.
    pub(crate) fn histogram_property(&self, name: &str, input: Vec<StepSeries>) -> Vec<StepSeries> {
        let f: fn(&FloatHistogram) -> f64 = match name {
            "histogram_count" => |h| h.count,
            "histogram_sum" => |h| h.sum,
            "histogram_avg" => |h| h.sum / h.count,
            "histogram_stddev" => |h| quantile::variance(h).sqrt(),
            _ => quantile::variance, // histogram_stdvar
        };
        self.per_native_histogram(input, |_, _, h| f(h))
    }

    /// The series of `input` that have histogram points, each point replaced by `f(step,
    /// metric name, histogram)`, the metric name dropped.
    pub(crate) fn per_native_histogram(
        &self,
        input: Vec<StepSeries>,
        f: impl Fn(usize, &str, &FloatHistogram) -> f64,
    ) -> Vec<StepSeries> {
        let mut out = Vec::new();
        for mut s in input.into_iter().filter(|s| !s.histograms.is_empty()) {
            let name = s.labels.get(strata_model::METRIC_NAME_LABEL).unwrap_or("").to_string();
            s.points = s.histograms.iter().map(|(t, h)| (*t, f(self.step_index(*t), &name, h))).collect();
            s.histograms = Vec::new();
            self.drop_name(&mut s);
            out.push(s);
        }
        out
    }

    /// `histogram_quantile(φ, v)` of the native histograms in `input`. NaN observations
    /// (a NaN sum) give Prometheus' infos: the result is NaN when φ's rank is past the
    /// observations the buckets hold, else it is skewed higher.
    pub(crate) fn native_quantiles(&self, input: &[StepSeries], phi: &[f64]) -> Vec<StepSeries> {
        let notes = RefCell::new(BTreeSet::new());
        let out = self.per_native_histogram(native_only(input), |step, name, h| {
            let (q, nan) = quantile::quantile_noting_nan(phi[step], h);
            if let Some(nan) = nan {
                notes.borrow_mut().insert((name.to_string(), nan));
            }
            q
        });
        for (name, nan) in notes.into_inner() {
            let outcome = match nan {
                quantile::NanObservations::ResultIsNan => "result is NaN",
                quantile::NanObservations::SkewedHigher => "result is skewed higher",
            };
            self.ctx.info(format!(
                "PromQL info: input to histogram_quantile has NaN observations, {outcome} for metric name {name:?}"
            ));
        }
        out
    }

    /// `histogram_fraction(lower, upper, v)` of the native histograms in `input`; NaN
    /// observations count in the total but in no fraction (with Prometheus' info).
    pub(crate) fn native_fractions(
        &self,
        input: &[StepSeries],
        lower: &[f64],
        upper: &[f64],
    ) -> Vec<StepSeries> {
        let noted = RefCell::new(BTreeSet::new());
        let out = self.per_native_histogram(native_only(input), |step, name, h| {
            if h.sum.is_nan() && h.count > 0.0 {
                noted.borrow_mut().insert(name.to_string());
            }
            quantile::fraction(lower[step], upper[step], h)
        });
        for name in noted.into_inner() {
            self.ctx.info(format!(
                "PromQL info: input to histogram_fraction has NaN observations, which are excluded from all fractions for metric name {name:?}"
            ));
        }
        out
    }
}

impl Evaluator<'_> {
    /// Where a classic histogram (series with `le`) and a native one have the same labels
    /// otherwise, at the same step, neither is used (Prometheus warns and returns nothing
    /// for them): their points at those steps are removed from `input`.
    pub(crate) fn drop_classic_native_conflicts(&self, input: &mut [StepSeries]) {
        use std::collections::{HashMap, HashSet};
        let key = |s: &StepSeries| {
            let mut labels = s.labels.clone();
            labels.remove("le");
            labels.remove(strata_model::METRIC_NAME_LABEL);
            labels
        };
        let mut native_steps: HashMap<strata_model::Labels, HashSet<i64>> = HashMap::new();
        for s in input.iter().filter(|s| !s.histograms.is_empty()) {
            native_steps.entry(key(s)).or_default().extend(s.histograms.iter().map(|h| h.0));
        }
        if native_steps.is_empty() {
            return;
        }
        let mut clashes: HashMap<strata_model::Labels, HashSet<i64>> = HashMap::new();
        for s in input.iter().filter(|s| s.labels.get("le").is_some()) {
            if let Some(steps) = native_steps.get(&key(s)) {
                clashes
                    .entry(key(s))
                    .or_default()
                    .extend(s.points.iter().map(|p| p.0).filter(|t| steps.contains(t)));
            }
        }
        for s in input.iter_mut() {
            let Some(steps) = clashes.get(&key(s)).filter(|steps| !steps.is_empty()) else { continue };
            if !s.histograms.is_empty() {
                self.ctx.warn(format!(
                    "PromQL warning: vector contains a mix of classic and native histograms for metric name {:?}",
                    s.labels.get(strata_model::METRIC_NAME_LABEL).unwrap_or("")
                ));
            }
            s.histograms.retain(|h| !steps.contains(&h.0));
            if s.labels.get("le").is_some() {
                s.points.retain(|p| !steps.contains(&p.0));
            }
        }
    }
}

/// The series of `input` with histogram points, without their float points.
fn native_only(input: &[StepSeries]) -> Vec<StepSeries> {
    input
        .iter()
        .filter(|s| !s.histograms.is_empty())
        .map(|s| StepSeries {
            labels: s.labels.clone(),
            points: Vec::new(),
            drop_name: s.drop_name,
            histograms: s.histograms.iter().map(|(t, h)| (*t, Arc::clone(h))).collect(),
        })
        .collect()
}
