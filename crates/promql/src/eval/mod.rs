//! The evaluator.
//!
//! Design: every expression is evaluated over all steps of the query at once, as
//! Prometheus' engine does; an instant query is a range query of one step. An instant-vector
//! expression yields [`StepSeries`] — per series, one point per step where it has a value —
//! so a function like `rate` walks each series' samples once for all steps (its window slides
//! forward), and aggregations and binary operators group series once and then combine the
//! values step by step. A range-vector expression (a matrix selector or a subquery) yields a
//! [`RangeVal`]: each series' samples over the whole span the steps need, read with the
//! window `(t − range, t]` at each step (left-open, as in Prometheus 3).
//!
//! Metric names: an operation that drops `__name__` (arithmetic, most functions) either
//! removes it at once or, with delayed name removal, marks the series and the name is removed
//! from the final result only; either way two result series that end with the same labels
//! are an error ("vector cannot contain metrics with the same labelset").
//!
//! Limits: samples read from storage are counted against `max_samples`; the deadline and the
//! cancel flag are checked at every node and every selected series.

mod aggregate;
mod binary;
mod context;
mod extended_histograms;
mod extended_range;
mod functions;
mod histogram;
mod histogram_aggregate;
mod histogram_stats;
mod histogram_windows;
mod info;
mod label_modifier;
mod math;
mod native_functions;
mod range_functions;
mod rollup_route;
mod selector;
mod steps;

pub(crate) use context::QueryContext;
pub(crate) use histogram_windows::detect_reset;
pub(crate) use math::almost_equal;
pub(crate) use selector::matcher_sets;

use std::sync::Arc;
use strata_promql_syntax::ast::{AtModifier, DurationExpr, Expr};

use strata_model::histogram::FloatHistogram;
use strata_model::{Labels, METRIC_NAME_LABEL};

use crate::engine::QueryError;
use crate::{Queryable, RangeSeries, Sample, Value};

/// One series of an instant-vector expression: its value at the steps where it has one.
#[derive(Debug, Clone)]
pub(crate) struct StepSeries {
    pub(crate) labels: Labels,
    /// (step time in ms, value), in step order.
    pub(crate) points: Vec<(i64, f64)>,
    /// `__name__` is to be dropped from the final result (delayed name removal).
    pub(crate) drop_name: bool,
    /// (step time in ms, native histogram), in step order; a step has a float or a
    /// histogram, never both.
    pub(crate) histograms: Vec<(i64, Arc<FloatHistogram>)>,
}

/// One series of a range-vector expression.
#[derive(Debug, Clone)]
pub(crate) struct RangeData {
    pub(crate) labels: Labels,
    /// Samples in time order over the span every step's window needs; no stale markers.
    pub(crate) samples: Vec<(i64, f64)>,
    pub(crate) drop_name: bool,
    /// Native-histogram samples likewise.
    pub(crate) histograms: Vec<(i64, Arc<FloatHistogram>)>,
}

/// A range-vector expression's value: series plus how to cut each step's window.
#[derive(Debug, Clone)]
pub(crate) struct RangeVal {
    pub(crate) series: Vec<RangeData>,
    pub(crate) windows: Windows,
}

/// Where each step's window lies: `(end − range, end]`, `end` being the step (or the `@`
/// time) less the offset.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Windows {
    /// Window length (ms).
    pub(crate) range: i64,
    /// Selector offset (ms).
    pub(crate) offset: i64,
    /// `@` time (ms), if fixed.
    pub(crate) at: Option<i64>,
    /// `anchored` or `smoothed`: each window's samples are already cut to it, its edges
    /// added (module `extended_range`).
    pub(crate) modifier: Option<crate::RangeModifier>,
}

impl Windows {
    /// The end of the window evaluated at step `t`.
    pub(crate) fn end(&self, t: i64) -> i64 {
        self.at.unwrap_or(t) - self.offset
    }
}

/// The step times of an evaluation, `start + i·step` for `i < count`: what work on other
/// threads needs of the [`Evaluator`] (which holds the query's annotations and so stays
/// on the query's thread).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Steps {
    start: i64,
    step: i64,
    count: usize,
}

impl Steps {
    pub(crate) fn count(self) -> usize {
        self.count
    }

    pub(crate) fn times(self) -> impl Iterator<Item = i64> {
        (0..self.count).map(move |i| self.start + i as i64 * self.step)
    }
}

/// A value during evaluation.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    /// One number per step.
    Scalar(Vec<f64>),
    String(String),
    Vector(Vec<StepSeries>),
    Range(RangeVal),
}

impl Val {
    fn type_name(&self) -> &'static str {
        match self {
            Val::Scalar(_) => "scalar",
            Val::String(_) => "string",
            Val::Vector(_) => "instant vector",
            Val::Range(_) => "range vector",
        }
    }
}

/// Evaluates `expr` over the context's steps and shapes the result as Prometheus does.
pub(crate) fn evaluate(
    store: &dyn Queryable,
    ctx: &QueryContext,
    expr: &Expr,
    instant: bool,
) -> Result<Value, QueryError> {
    let range = ctx.range();
    let ev = Evaluator {
        store,
        ctx,
        start: range.start,
        end: range.end,
        step: range.step,
        histogram_stats: false,
    };
    let val = ev.eval(expr)?;
    if !instant && matches!(val, Val::Range(_) | Val::String(_)) {
        return Err(QueryError::BadData(format!(
            "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
            val.type_name()
        )));
    }
    match val {
        Val::Scalar(values) if instant => Ok(Value::Scalar { t: range.start, v: values[0] }),
        Val::Scalar(values) => Ok(Value::Matrix(vec![RangeSeries {
            labels: Labels::empty(),
            points: ev.step_times().zip(values).collect(),
            histograms: Vec::new(),
        }])),
        Val::String(s) => Ok(Value::String { t: range.start, s }),
        Val::Vector(series) => {
            let series = finish_names(series)?;
            if instant {
                Ok(Value::Vector(series.into_iter().filter_map(first_sample).collect()))
            } else {
                let mut out: Vec<RangeSeries> = series
                    .into_iter()
                    .filter(|s| !s.points.is_empty() || !s.histograms.is_empty())
                    .map(|s| RangeSeries { labels: s.labels, points: s.points, histograms: s.histograms })
                    .collect();
                out.sort_by(|a, b| a.labels.cmp(&b.labels));
                Ok(Value::Matrix(out))
            }
        }
        Val::Range(rv) => {
            let t = range.start;
            let end = rv.windows.end(t);
            let cut = rv.windows.modifier.is_none();
            let mut out = Vec::new();
            for s in rv.series {
                let inside = |st: i64| !cut || (st > end - rv.windows.range && st <= end);
                let points: Vec<(i64, f64)> = s.samples.into_iter().filter(|&(st, _)| inside(st)).collect();
                let histograms: Vec<_> = s.histograms.into_iter().filter(|(st, _)| inside(*st)).collect();
                if points.is_empty() && histograms.is_empty() {
                    continue;
                }
                let mut labels = s.labels;
                if s.drop_name {
                    remove_name(&mut labels);
                }
                out.push(RangeSeries { labels, points, histograms });
            }
            out.sort_by(|a, b| a.labels.cmp(&b.labels));
            Ok(Value::Matrix(out))
        }
    }
}

/// An instant query's sample of a series: its one step's float or histogram.
fn first_sample(s: StepSeries) -> Option<Sample> {
    if let Some(&(t, v)) = s.points.first() {
        return Some(Sample { labels: s.labels, t, v, h: None });
    }
    let (t, h) = s.histograms.into_iter().next()?;
    Some(Sample { labels: s.labels, t, v: 0.0, h: Some(h) })
}

/// Drops `__name__` where marked and refuses results in which two series share labels.
fn finish_names(mut series: Vec<StepSeries>) -> Result<Vec<StepSeries>, QueryError> {
    for s in &mut series {
        if s.drop_name {
            remove_name(&mut s.labels);
            s.drop_name = false;
        }
    }
    // Series that share labels at different steps become one; at the same step, an error
    // (Prometheus merges so too, delayed name removal or not).
    steps::merge_same_labels(series)
}

pub(crate) fn same_labelset() -> QueryError {
    QueryError::Execution("vector cannot contain metrics with the same labelset".into())
}

/// Evaluates expressions over the steps `start, start + step, …, end`.
#[derive(Clone, Copy)]
pub(crate) struct Evaluator<'a> {
    store: &'a dyn Queryable,
    ctx: &'a QueryContext,
    start: i64,
    end: i64,
    step: i64,
    /// Selectors are read for histogram statistics only (`histogram_stats`).
    histogram_stats: bool,
}

impl<'a> Evaluator<'a> {
    /// The step times.
    pub(crate) fn step_times(&self) -> impl Iterator<Item = i64> {
        self.steps().times()
    }

    pub(crate) fn steps(&self) -> Steps {
        Steps { start: self.start, step: self.step, count: self.step_count() }
    }

    pub(crate) fn step_count(&self) -> usize {
        ((self.end - self.start) / self.step + 1) as usize
    }

    /// The index of step time `t`.
    pub(crate) fn step_index(&self, t: i64) -> usize {
        ((t - self.start) / self.step) as usize
    }

    pub(crate) fn eval(&self, expr: &Expr) -> Result<Val, QueryError> {
        self.ctx.check("expression evaluation")?;
        match expr {
            Expr::Number(n) => Ok(Val::Scalar(vec![n.value; self.step_count()])),
            Expr::String(s) => Ok(Val::String(s.value.clone())),
            Expr::Paren(p) => self.eval(&p.expr),
            Expr::Unary(u) if !u.negative => self.eval(&u.expr),
            Expr::Unary(u) => self.negate(self.eval(&u.expr)?),
            Expr::VectorSelector(vs) => self.vector_selector(vs, false).map(Val::Vector),
            Expr::MatrixSelector(ms) => self.matrix_selector(ms).map(Val::Range),
            Expr::Subquery(sq) => self.reading_stats(false).subquery(sq).map(Val::Range),
            Expr::Call(call) => match call.func.as_str() {
                "histogram_count" | "histogram_sum" | "histogram_avg" => self.reading_stats(true).call(call),
                "histogram_quantile" | "histogram_fraction" => self.reading_stats(false).call(call),
                _ => self.call(call),
            },
            Expr::Aggregate(agg) => self.aggregate(agg),
            Expr::Binary(bin) => self.reading_stats(false).binary(bin),
        }
    }

    /// This evaluator, its selectors read for histogram statistics only or not.
    fn reading_stats(&self, histogram_stats: bool) -> Evaluator<'a> {
        Evaluator { histogram_stats, ..*self }
    }

    /// Evaluates an expression that must give an instant vector.
    pub(crate) fn eval_vector(&self, expr: &Expr) -> Result<Vec<StepSeries>, QueryError> {
        match self.eval(expr)? {
            Val::Vector(v) => Ok(v),
            other => Err(QueryError::BadData(format!("expected instant vector, got {}", other.type_name()))),
        }
    }

    /// Evaluates an expression that must give a scalar (one number per step).
    pub(crate) fn eval_scalar(&self, expr: &Expr) -> Result<Vec<f64>, QueryError> {
        match self.eval(expr)? {
            Val::Scalar(v) => Ok(v),
            other => Err(QueryError::BadData(format!("expected scalar, got {}", other.type_name()))),
        }
    }

    fn negate(&self, val: Val) -> Result<Val, QueryError> {
        match val {
            Val::Scalar(v) => Ok(Val::Scalar(v.into_iter().map(|x| -x).collect())),
            Val::Vector(mut series) => {
                for s in &mut series {
                    s.points.iter_mut().for_each(|p| p.1 = -p.1);
                    for (_, h) in &mut s.histograms {
                        *h = Arc::new(crate::native_histogram::arith::scale(h, -1.0));
                    }
                    self.drop_name(s);
                }
                Ok(Val::Vector(series))
            }
            other => Err(QueryError::BadData(format!(
                "unary expression only allowed on expressions of type scalar or instant vector, got {}",
                other.type_name()
            ))),
        }
    }

    /// Drops the metric name now, or marks it to be dropped at the end.
    pub(crate) fn drop_name(&self, s: &mut StepSeries) {
        if self.ctx.options().delayed_name_removal {
            s.drop_name = true;
        } else {
            remove_name(&mut s.labels);
        }
    }

    /// The time an `@` modifier fixes, in ms.
    pub(crate) fn at_time(&self, at: &Option<AtModifier>) -> Option<i64> {
        let range = self.ctx.range();
        match at.as_ref()? {
            AtModifier::Start => Some(range.start),
            AtModifier::End => Some(range.end),
            AtModifier::Timestamp(ms) => Some(*ms),
        }
    }

    /// An `Evaluator` over other steps (subqueries, step-invariant parts).
    pub(crate) fn with_steps(&self, start: i64, end: i64, step: i64) -> Evaluator<'a> {
        Evaluator { start, end, step, ..*self }
    }
}

/// An offset in ms (negative offsets look forward).
pub(crate) fn offset_ms(offset: &Option<DurationExpr>) -> i64 {
    offset.as_ref().map_or(0, DurationExpr::millis)
}

/// Drops the metric name and, with it, the `__type__` and `__unit__` labels Prometheus 3
/// attaches to a series' name (they describe the metric, not the result).
pub(crate) fn remove_name(labels: &mut Labels) {
    labels.remove(METRIC_NAME_LABEL);
    labels.remove("__type__");
    labels.remove("__unit__");
}
