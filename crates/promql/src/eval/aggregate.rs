//! Aggregations. Each input series is assigned its group once (`by` keeps the listed labels,
//! `without` drops them and the metric name); then the values are combined step by step.
//! `topk`, `bottomk`, `limitk` and `limit_ratio` select input series rather than combine
//! them, so their output keeps the input labels.

use std::sync::Arc;

use strata_promql_syntax::ast::{AggregateExpr, Expr};

use super::label_modifier::{self, LabelModifier};
use strata_model::{Labels, METRIC_NAME_LABEL};

use super::functions::{invalid_quantile, nan_last, unwrap_parens, valid_label_name};
use super::math::{quantile, Accumulate, Count, Extreme, Group, Mean, StdDev, Sum, Variance};
use super::steps::{by_step, histograms_by_step, OutputBuilder};
use super::{Evaluator, StepSeries, Val};
use crate::engine::QueryError;
use crate::format_float;
use crate::go_float::{format_g, go_max, go_min};
use crate::go_quote::go_quote;

impl Evaluator<'_> {
    pub(crate) fn aggregate(&self, agg: &AggregateExpr) -> Result<Val, QueryError> {
        let op = agg.op.clone();
        if matches!(op.as_str(), "limitk" | "limit_ratio") && !self.ctx.options().experimental_functions {
            return Err(QueryError::BadData(
                "limitk() and limit_ratio() are experimental and must be enabled with --enable-feature=promql-experimental-functions".into(),
            ));
        }
        let param = match (&agg.param, op.as_str()) {
            (Some(p), "count_values") => Param::Label(match unwrap_parens(p) {
                Expr::String(s) if valid_label_name(&s.value) => s.value.clone(),
                Expr::String(s) => {
                    return Err(QueryError::Execution(format!("invalid label name {}", go_quote(&s.value))))
                }
                _ => return Err(QueryError::BadData("count_values needs a string parameter".into())),
            }),
            (Some(p), _) => Param::Number(self.eval_scalar(p)?),
            (None, _) => Param::None,
        };
        let input = self.eval_vector(&agg.expr)?;
        let (group_of, group_labels) = groups(&input, label_modifier::grouping(agg).as_ref());
        match (op.as_str(), param) {
            ("topk" | "bottomk" | "limitk" | "limit_ratio", Param::Number(k)) => {
                self.select_series(&op, &k, input, &group_of, group_labels.len())
            }
            ("count_values", Param::Label(label)) => {
                self.count_values(&label, &input, &group_of, &group_labels)
            }
            (_, param) => self.combine(&op, param, &input, &group_of, group_labels),
        }
    }

    /// sum, avg, count, group, min, max, stddev, stdvar, quantile.
    fn combine(
        &self,
        op: &str,
        param: Param,
        input: &[StepSeries],
        group_of: &[usize],
        group_labels: Vec<Labels>,
    ) -> Result<Val, QueryError> {
        let groups = group_labels.len();
        let points = match (op, &param) {
            ("sum", _) => self.fold_groups::<Sum>(input, group_of, groups),
            ("avg", _) => self.fold_groups::<Mean>(input, group_of, groups),
            ("count", _) => self.fold_groups::<Count>(input, group_of, groups),
            ("group", _) => self.fold_groups::<Group>(input, group_of, groups),
            ("min", _) => self.fold_groups::<Extreme<false>>(input, group_of, groups),
            ("max", _) => self.fold_groups::<Extreme<true>>(input, group_of, groups),
            ("stdvar", _) => self.fold_groups::<Variance>(input, group_of, groups),
            ("stddev", _) => self.fold_groups::<StdDev>(input, group_of, groups),
            ("quantile", Param::Number(q)) => {
                self.warn_invalid_quantiles(&Extremes::of(q));
                self.quantile_groups(q, input, group_of, groups)
            }
            ("quantile", _) => return Err(QueryError::BadData("quantile needs a parameter".into())),
            (other, _) => {
                return Err(QueryError::BadData(format!("aggregation \"{other}\" is not supported")))
            }
        };
        let mut out: Vec<StepSeries> = group_labels
            .into_iter()
            .zip(points)
            .map(|(labels, points)| StepSeries { labels, points, drop_name: false, histograms: Vec::new() })
            .collect();
        if input.iter().any(|s| !s.histograms.is_empty()) {
            self.aggregate_histograms(op, input, group_of, &mut out)?;
        }
        // Grouping by `__name__` keeps a name that is to be dropped: the group is dropped
        // with it (delayed name removal).
        for (s, &g) in input.iter().zip(group_of) {
            out[g].drop_name |= s.drop_name && out[g].labels.metric_name().is_some();
        }
        Ok(Val::Vector(
            out.into_iter().filter(|s| !s.points.is_empty() || !s.histograms.is_empty()).collect(),
        ))
    }

    /// Each group's points: its inputs at each step folded by `A`, in input order either way.
    /// When groups × steps is no more than the input's points, one accumulator per (group,
    /// step) is kept and the input read series by series (no regrouping by step: the cost of
    /// a `count by (job)` over many series was mostly that); otherwise the input is
    /// regrouped by step and one accumulator per group reused, so memory stays bounded by
    /// the input.
    fn fold_groups<A: Accumulate>(
        &self,
        input: &[StepSeries],
        group_of: &[usize],
        groups: usize,
    ) -> Vec<Vec<(i64, f64)>> {
        let input_points: usize = input.iter().map(|s| s.points.len()).sum();
        if groups.saturating_mul(self.step_count()) <= input_points.max(1 << 16) {
            self.fold_by_series::<A>(input, group_of, groups)
        } else {
            self.fold_by_step::<A>(input, group_of, groups)
        }
    }

    /// One accumulator per (group, step); the input read series by series.
    fn fold_by_series<A: Accumulate>(
        &self,
        input: &[StepSeries],
        group_of: &[usize],
        groups: usize,
    ) -> Vec<Vec<(i64, f64)>> {
        let steps = self.step_count();
        let mut cells: Vec<Option<A>> = vec![None; groups * steps];
        for (s, &g) in input.iter().zip(group_of) {
            let row = &mut cells[g * steps..(g + 1) * steps];
            for &(t, v) in &s.points {
                row[self.step_index(t)].get_or_insert_with(A::default).add(v);
            }
        }
        cells
            .chunks(steps)
            .map(|row| {
                self.step_times().zip(row).filter_map(|(t, a)| Some((t, a.as_ref()?.value()))).collect()
            })
            .collect()
    }

    /// The input regrouped by step; one accumulator per group, reused from step to step.
    fn fold_by_step<A: Accumulate>(
        &self,
        input: &[StepSeries],
        group_of: &[usize],
        groups: usize,
    ) -> Vec<Vec<(i64, f64)>> {
        let mut out: Vec<Vec<(i64, f64)>> = vec![Vec::new(); groups];
        let mut accs: Vec<Option<A>> = vec![None; groups];
        let mut touched = Vec::new();
        for (step, at_step) in by_step(self, input).into_iter().enumerate() {
            for (series, v) in at_step {
                let g = group_of[series];
                if accs[g].is_none() {
                    touched.push(g);
                }
                accs[g].get_or_insert_with(A::default).add(v);
            }
            let t = self.start + step as i64 * self.step;
            for g in touched.drain(..) {
                if let Some(a) = accs[g].take() {
                    out[g].push((t, a.value()));
                }
            }
        }
        out
    }

    /// `quantile`: each group's values at each step, gathered to be ranked.
    fn quantile_groups(
        &self,
        q: &[f64],
        input: &[StepSeries],
        group_of: &[usize],
        groups: usize,
    ) -> Vec<Vec<(i64, f64)>> {
        let mut out: Vec<Vec<(i64, f64)>> = vec![Vec::new(); groups];
        let mut values: Vec<Vec<f64>> = vec![Vec::new(); groups];
        for (step, at_step) in by_step(self, input).into_iter().enumerate() {
            values.iter_mut().for_each(Vec::clear);
            for (series, v) in at_step {
                values[group_of[series]].push(v);
            }
            let t = self.start + step as i64 * self.step;
            for (g, vs) in values.iter_mut().enumerate() {
                if !vs.is_empty() {
                    out[g].push((t, quantile(q[step], vs)));
                }
            }
        }
        out
    }

    /// topk, bottomk, limitk, limit_ratio: which input series each group keeps at each step.
    fn select_series(
        &self,
        op: &str,
        k: &[f64],
        input: Vec<StepSeries>,
        group_of: &[usize],
        group_count: usize,
    ) -> Result<Val, QueryError> {
        let extremes = Extremes::of(k);
        let nothing = if op == "limit_ratio" { self.check_ratio(&extremes)? } else { check_k(&extremes)? };
        if nothing {
            return Ok(Val::Vector(Vec::new()));
        }
        if matches!(op, "topk" | "bottomk") && input.iter().any(|s| !s.histograms.is_empty()) {
            // Histograms have no value to rank by.
            self.ctx.info(format!("PromQL info: ignored histogram in {op} aggregation"));
        }
        let mut out = OutputBuilder::default();
        let ids: Vec<usize> = input.iter().map(|s| out.series_for(&s.labels, s.drop_name)).collect();
        let mut members: Vec<Vec<(usize, f64)>> = vec![Vec::new(); group_count];
        // limitk and limit_ratio pick series whatever their values: histograms take part
        // (with no value of their own; their histogram is what is kept).
        let histograms_pickable =
            matches!(op, "limitk" | "limit_ratio") && input.iter().any(|s| !s.histograms.is_empty());
        let steps = if histograms_pickable { by_step_any(self, &input) } else { by_step(self, &input) };
        let histograms = if histograms_pickable { histograms_by_step(self, &input) } else { Vec::new() };
        for (step, at_step) in steps.into_iter().enumerate() {
            if at_step.is_empty() {
                continue;
            }
            members.iter_mut().for_each(Vec::clear);
            for (series, v) in at_step {
                members[group_of[series]].push((series, v));
            }
            let t = self.start + step as i64 * self.step;
            for group in &mut members {
                let keep = match op {
                    "limit_ratio" => limit_ratio(k[step].clamp(-1.0, 1.0), group, &input),
                    _ => rank(op, k[step], group),
                };
                for &(series, v) in &keep {
                    let histogram = histograms.get(step).and_then(|at| at.iter().find(|h| h.0 == series));
                    match histogram {
                        Some((_, h)) => out.push_histogram(ids[series], t, Arc::clone(h))?,
                        None => out.push(ids[series], t, v)?,
                    }
                }
            }
        }
        let mut series = out.finish()?;
        if self.step_count() == 1 && op != "limit_ratio" && op != "limitk" {
            // An instant topk/bottomk lists its result best first.
            let descending = op == "topk";
            series.sort_by(|a, b| nan_last(a.points[0].1, b.points[0].1, descending));
        }
        Ok(Val::Vector(series))
    }

    /// limit_ratio's ratios as Prometheus checks them before the first step: all zero
    /// selects nothing (true); any NaN is an error; beyond ±1 is capped, with a warning.
    fn check_ratio(&self, ratios: &Extremes) -> Result<bool, QueryError> {
        if ratios.max == 0.0 && ratios.min == 0.0 {
            return Ok(true);
        }
        if ratios.any_nan {
            return Err(QueryError::Execution("Ratio value is NaN".into()));
        }
        let warn = |r: f64, capped: f64| {
            self.ctx.warn(format!(
                "PromQL warning: ratio value should be between -1 and 1, got {}, capping to {}",
                format_g(r),
                format_g(capped)
            ))
        };
        if ratios.max > 1.0 {
            warn(ratios.max, 1.0);
        }
        if ratios.min < -1.0 {
            warn(ratios.min, -1.0);
        }
        Ok(false)
    }

    /// quantile's φ as Prometheus checks it: a warning for NaN, for the largest above 1 and
    /// for the smallest below 0.
    fn warn_invalid_quantiles(&self, phi: &Extremes) {
        if phi.any_nan {
            self.ctx.warn(invalid_quantile(f64::NAN));
        }
        if phi.max > 1.0 {
            self.ctx.warn(invalid_quantile(phi.max));
        }
        if phi.min < 0.0 {
            self.ctx.warn(invalid_quantile(phi.min));
        }
    }

    fn count_values(
        &self,
        label: &str,
        input: &[StepSeries],
        group_of: &[usize],
        group_labels: &[Labels],
    ) -> Result<Val, QueryError> {
        let mut out = OutputBuilder::default();
        let histograms = histograms_by_step(self, input);
        for (step, (at_step, histograms_at_step)) in
            by_step(self, input).into_iter().zip(histograms).enumerate()
        {
            let t = self.start + step as i64 * self.step;
            let mut counts: std::collections::BTreeMap<usize, f64> = std::collections::BTreeMap::new();
            for (series, v) in at_step {
                let mut labels = group_labels[group_of[series]].clone();
                labels.set(label, &format_float(v));
                *counts.entry(out.series_for(&labels, false)).or_default() += 1.0;
            }
            // A histogram's value is counted in its `String()` form, as Prometheus does.
            for (series, h) in histograms_at_step {
                let mut labels = group_labels[group_of[series]].clone();
                labels.set(label, &crate::native_histogram::go_string::go_string(&h));
                *counts.entry(out.series_for(&labels, false)).or_default() += 1.0;
            }
            for (id, c) in counts {
                out.push(id, t, c)?;
            }
        }
        Ok(Val::Vector(out.finish()?))
    }
}

enum Param {
    None,
    Number(Vec<f64>),
    Label(String),
}

/// Each series' group index, and each group's labels.
fn groups(input: &[StepSeries], modifier: Option<&LabelModifier>) -> (Vec<usize>, Vec<Labels>) {
    let mut index: std::collections::HashMap<Labels, usize> = std::collections::HashMap::new();
    let mut labels_of_group = Vec::new();
    let group_of = input
        .iter()
        .map(|s| {
            let mut labels = s.labels.clone();
            match modifier {
                None => labels = Labels::empty(),
                Some(LabelModifier::Include(keep)) => labels.retain(|l| keep.labels.contains(&l.name)),
                Some(LabelModifier::Exclude(drop)) => {
                    labels.retain(|l| l.name != METRIC_NAME_LABEL && !drop.labels.contains(&l.name))
                }
            }
            *index.entry(labels.clone()).or_insert_with(|| {
                labels_of_group.push(labels);
                labels_of_group.len() - 1
            })
        })
        .collect();
    (group_of, labels_of_group)
}

/// The largest and smallest of a parameter's values over the steps, folded with Go's
/// `math.Max`/`math.Min` from ±MaxFloat64 as Prometheus' `fParams` does — so a NaN makes
/// both NaN unless an infinity outranks it — and whether any value is NaN.
#[derive(Debug, Clone, Copy)]
struct Extremes {
    max: f64,
    min: f64,
    any_nan: bool,
}

impl Extremes {
    fn of(values: &[f64]) -> Extremes {
        let mut e = Extremes { max: -f64::MAX, min: f64::MAX, any_nan: false };
        for &v in values {
            e.max = go_max(e.max, v);
            e.min = go_min(e.min, v);
            e.any_nan |= v.is_nan();
        }
        e
    }
}

/// The largest float an int64 holds exactly below 2⁶³, and −2⁶³: Prometheus' bounds for k.
const MAX_K: f64 = 9_223_372_036_854_774_784.0;
const MIN_K: f64 = -9_223_372_036_854_775_808.0;

/// topk/bottomk/limitk's k as Prometheus checks it before the first step: every k below 1
/// selects nothing (true); then NaN, and values an int64 cannot hold, are errors.
fn check_k(k: &Extremes) -> Result<bool, QueryError> {
    if k.max < 1.0 {
        return Ok(true);
    }
    if k.any_nan {
        return Err(QueryError::Execution("Parameter value is NaN".into()));
    }
    if k.min <= MIN_K {
        return Err(QueryError::Execution(format!("Scalar value {} underflows int64", format_g(k.min))));
    }
    if k.max >= MAX_K {
        return Err(QueryError::Execution(format!("Scalar value {} overflows int64", format_g(k.max))));
    }
    Ok(false)
}

/// The k best of a group (`topk`: largest, `bottomk`: smallest, NaN worst either way) or,
/// for `limitk`, the first k. Ties are broken as Prometheus breaks them: by the same
/// bounded binary heap (Go's `container/heap`), fed in the same order.
/// For each step, the series (in input order) with a float or a histogram there; a
/// histogram's value is NaN (only its presence counts).
fn by_step_any(ev: &Evaluator<'_>, series: &[StepSeries]) -> Vec<Vec<(usize, f64)>> {
    let mut steps: Vec<Vec<(usize, f64)>> = vec![Vec::new(); ev.step_count()];
    for (i, s) in series.iter().enumerate() {
        for &(t, v) in &s.points {
            steps[ev.step_index(t)].push((i, v));
        }
        for (t, _) in &s.histograms {
            steps[ev.step_index(*t)].push((i, f64::NAN));
        }
    }
    for at in &mut steps {
        at.sort_by_key(|m| m.0); // input order, as for floats alone
    }
    steps
}

fn rank(op: &str, k: f64, group: &[(usize, f64)]) -> Vec<(usize, f64)> {
    if k < 1.0 {
        return Vec::new();
    }
    let k = if k >= group.len() as f64 { group.len() } else { k as usize };
    match op {
        // The heap's top is the worst kept: the smallest for topk, the largest for bottomk.
        "topk" => bounded_heap(group, k, |a, b| a.is_nan() || a < b),
        "bottomk" => bounded_heap(group, k, |a, b| a.is_nan() || a > b),
        _ => group[..k].to_vec(),
    }
}

/// Keeps k elements in a heap ordered by `less` (top = least), replacing the top when a
/// new value beats it — Prometheus' topk/bottomk, step for step.
fn bounded_heap(group: &[(usize, f64)], k: usize, less: fn(f64, f64) -> bool) -> Vec<(usize, f64)> {
    let mut heap: Vec<(usize, f64)> = Vec::with_capacity(k);
    for &item in group {
        if heap.len() < k {
            heap.push(item);
            let last = heap.len() - 1;
            heap_up(&mut heap, last, less);
        } else if less(heap[0].1, item.1) && !item.1.is_nan() {
            heap[0] = item;
            heap_down(&mut heap, 0, less);
        }
    }
    heap
}

fn heap_up(heap: &mut [(usize, f64)], mut j: usize, less: fn(f64, f64) -> bool) {
    while j > 0 {
        let parent = (j - 1) / 2;
        if !less(heap[j].1, heap[parent].1) {
            break;
        }
        heap.swap(parent, j);
        j = parent;
    }
}

fn heap_down(heap: &mut [(usize, f64)], mut i: usize, less: fn(f64, f64) -> bool) {
    loop {
        let left = 2 * i + 1;
        if left >= heap.len() {
            break;
        }
        let mut j = left;
        if left + 1 < heap.len() && less(heap[left + 1].1, heap[left].1) {
            j = left + 1;
        }
        if !less(heap[j].1, heap[i].1) {
            break;
        }
        heap.swap(i, j);
        i = j;
    }
}

/// `limit_ratio`: a series is kept when its label hash, as a fraction of the hash space, is
/// below the ratio (from the top for a negative ratio) — the same series at every step and
/// on every Prometheus-compatible system.
fn limit_ratio(ratio: f64, group: &[(usize, f64)], input: &[StepSeries]) -> Vec<(usize, f64)> {
    group
        .iter()
        .copied()
        .filter(|&(series, _)| {
            let offset = input[series].labels.stable_hash().0 as f64 / u64::MAX as f64;
            (ratio >= 0.0 && offset < ratio) || (ratio < 0.0 && offset >= 1.0 + ratio)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::engine::{EngineOptions, Range};
    use crate::eval::QueryContext;
    use crate::MemoryQueryable;

    proptest! {
        /// Both ways of folding groups give the same bits, and the same as folding each
        /// group's values at a step gathered first (for sum, count and max by an independent
        /// fold; for avg and stdvar by the same accumulator, which checks the grouping).
        #[test]
        fn folding_by_series_and_by_step_agree(
            series in prop::collection::vec(
                (0usize..4, prop::collection::vec(prop::option::of(prop_oneof![
                    4 => -1e3f64..1e3, 1 => Just(f64::NAN), 1 => Just(f64::INFINITY), 1 => Just(1e308)
                ]), 1..12)),
                0..10,
            ),
        ) {
            let steps = 12;
            let options = EngineOptions::default();
            let range = Range { start: 0, end: (steps - 1) * 10, step: 10 };
            let ctx = QueryContext::new(&options, range, false, std::time::Instant::now() + options.timeout, None);
            let store = MemoryQueryable::new();
            let ev = Evaluator {
                store: &store,
                ctx: &ctx,
                start: range.start,
                end: range.end,
                step: range.step,
                histogram_stats: false,
            };
            let input: Vec<StepSeries> = series
                .iter()
                .map(|(_, values)| StepSeries {
                    labels: Labels::empty(),
                    points: values.iter().enumerate().filter_map(|(i, v)| Some((i as i64 * 10, (*v)?))).collect(),
                    drop_name: false,
                    histograms: Vec::new(),
                })
                .collect();
            let group_of: Vec<usize> = series.iter().map(|(g, _)| *g).collect();
            fn check<A: Accumulate>(ev: &Evaluator<'_>, input: &[StepSeries], group_of: &[usize], oracle: fn(&[f64]) -> f64) -> Result<(), TestCaseError> {
                let bits = |p: Vec<Vec<(i64, f64)>>| -> Vec<Vec<(i64, u64)>> {
                    p.into_iter().map(|g| g.into_iter().map(|(t, v)| (t, v.to_bits())).collect()).collect()
                };
                let by_series = bits(ev.fold_by_series::<A>(input, group_of, 4));
                prop_assert_eq!(&by_series, &bits(ev.fold_by_step::<A>(input, group_of, 4)));
                for (g, points) in by_series.iter().enumerate() {
                    for &(t, v) in points {
                        let values: Vec<f64> = input.iter().zip(group_of)
                            .filter(|(_, &sg)| sg == g)
                            .filter_map(|(s, _)| s.points.iter().find(|p| p.0 == t).map(|p| p.1))
                            .collect();
                        prop_assert_eq!(v, oracle(&values).to_bits());
                    }
                }
                Ok(())
            }
            check::<Sum>(&ev, &input, &group_of, |v| crate::eval::math::kahan_sum(v.iter().copied()))?;
            check::<Mean>(&ev, &input, &group_of, |v| crate::eval::math::fold::<Mean>(v.iter().copied()))?;
            check::<Variance>(&ev, &input, &group_of, |v| crate::eval::math::fold::<Variance>(v.iter().copied()))?;
            check::<Count>(&ev, &input, &group_of, |v| v.len() as f64)?;
            check::<Extreme<true>>(&ev, &input, &group_of, |v| v.iter().copied().fold(f64::NAN, |m, x| if x > m || m.is_nan() { x } else { m }))?;
        }
    }
}
