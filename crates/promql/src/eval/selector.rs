//! Selectors: instant vectors (the newest sample within the lookback window, ignoring stale
//! markers), range vectors (every sample in the window) and subqueries (an inner expression
//! evaluated at its own steps, then read like a range vector).

use promql_parser::label::MatchOp as ParserMatchOp;
use promql_parser::parser::{Expr, MatrixSelector, SubqueryExpr, VectorSelector};
use strata_model::{is_stale_marker, MatchOp, Matcher, METRIC_NAME_LABEL};

use rayon::prelude::*;
use strata_storage::Series;

use super::context::Limits;
use super::{offset_ms, Evaluator, RangeData, RangeVal, StepSeries, Val};
use crate::engine::QueryError;

/// A selected series: its labels and samples.
type SelectedSeries = (strata_model::Labels, Vec<(i64, f64)>);

impl Evaluator<'_> {
    /// An instant vector selector at every step. With `timestamps`, a point's value is the
    /// selected sample's timestamp in seconds (what `timestamp()` returns).
    pub(crate) fn vector_selector(
        &self,
        vs: &VectorSelector,
        timestamps: bool,
    ) -> Result<Vec<StepSeries>, QueryError> {
        let offset = offset_ms(&vs.offset);
        let at = self.at_time(&vs.at);
        let lookback = self.ctx.options().lookback_delta_ms;
        let (first, last) = at.map_or((self.start, self.end), |a| (a, a));
        let selected = self.select(vs, first - offset - lookback + 1, last - offset)?;
        let mut out = Vec::with_capacity(selected.len());
        for (labels, samples) in selected {
            let mut points = Vec::new();
            let mut next = 0;
            for t in self.step_times() {
                let ref_time = at.unwrap_or(t) - offset;
                while next < samples.len() && samples[next].0 <= ref_time {
                    next += 1;
                }
                if next == 0 {
                    continue;
                }
                let (st, v) = samples[next - 1];
                if st > ref_time - lookback && !is_stale_marker(v) {
                    points.push((t, if timestamps { st as f64 / 1000.0 } else { v }));
                }
            }
            if !points.is_empty() {
                out.push(StepSeries { labels, points, drop_name: false });
            }
        }
        Ok(out)
    }

    /// A range vector selector: the samples every step's window needs.
    pub(crate) fn matrix_selector(&self, ms: &MatrixSelector) -> Result<RangeVal, QueryError> {
        let range = ms.range.as_millis() as i64;
        let offset = offset_ms(&ms.vs.offset);
        let at = self.at_time(&ms.vs.at);
        let (first, last) = at.map_or((self.start, self.end), |a| (a, a));
        let selected = self.select(&ms.vs, first - offset - range + 1, last - offset)?;
        let series = selected
            .into_iter()
            .map(|(labels, mut samples)| {
                samples.retain(|&(_, v)| !is_stale_marker(v));
                RangeData { labels, samples, drop_name: false }
            })
            .filter(|s| !s.samples.is_empty())
            .collect();
        Ok(RangeVal { series, range, offset, at })
    }

    /// A subquery: the inner expression at its own steps (multiples of the step, as in
    /// Prometheus), over the span the outer steps' windows need.
    pub(crate) fn subquery(&self, sq: &SubqueryExpr) -> Result<RangeVal, QueryError> {
        let range = sq.range.as_millis() as i64;
        let offset = offset_ms(&sq.offset);
        let at = self.at_time(&sq.at);
        let step = match sq.step {
            Some(s) if !s.is_zero() => s.as_millis() as i64,
            _ => self.ctx.options().default_subquery_step_ms,
        };
        let (first, last) = at.map_or((self.start, self.end), |a| (a, a));
        let inner_start = (first - offset - range).div_euclid(step) * step;
        let inner_end = last - offset;
        if inner_end < inner_start {
            return Ok(RangeVal { series: Vec::new(), range, offset, at });
        }
        let inner = self.with_steps(inner_start, inner_end, step);
        let series = match inner.eval(&sq.expr)? {
            Val::Vector(series) => series
                .into_iter()
                .map(|s| RangeData { labels: s.labels, samples: s.points, drop_name: s.drop_name })
                .collect(),
            Val::Scalar(values) => vec![RangeData {
                labels: strata_model::Labels::empty(),
                samples: inner.step_times().zip(values).collect(),
                drop_name: false,
            }],
            other => {
                return Err(QueryError::BadData(format!(
                    "subquery is only allowed on instant vector, got {}",
                    other.type_name()
                )))
            }
        };
        Ok(RangeVal { series, range, offset, at })
    }

    /// Every series the selector matches, with its samples in `[mint, maxt]`.
    fn select(&self, vs: &VectorSelector, mint: i64, maxt: i64) -> Result<Vec<SelectedSeries>, QueryError> {
        let alternatives = matcher_sets(vs)?;
        let several = alternatives.len() > 1;
        let mut seen = std::collections::HashSet::new();
        let mut picked = Vec::new();
        for matchers in alternatives {
            let selected =
                self.store.select(&matchers, mint, maxt).map_err(|e| QueryError::Storage(e.to_string()))?;
            picked.extend(selected.into_iter().filter(|s| !several || seen.insert(s.labels().clone())));
        }
        let samples = read_samples(&picked, self.ctx.limits())?;
        Ok(picked.into_iter().zip(samples).map(|(series, samples)| (series.into_labels(), samples)).collect())
    }
}

/// Below this many chunks a selection is decoded on the query's thread: handing work to
/// other threads costs more than decoding a few thousand samples.
const PARALLEL_FROM_CHUNKS: usize = 256;

/// Each series' samples (only those in the selection's range), decoded on every core when
/// there are many: decoding is most of a large selection's cost. The limits are checked per
/// series, so a timeout, a cancel or `max_samples` stops the read early.
fn read_samples(series: &[Series], limits: &Limits) -> Result<Vec<Vec<(i64, f64)>>, QueryError> {
    let one = |s: &Series| {
        limits.check("query execution")?;
        let samples = s.collect_samples().map_err(|e| QueryError::Storage(e.to_string()))?;
        limits.load_samples(samples.len())?;
        Ok(samples)
    };
    if series.iter().map(Series::chunk_count).sum::<usize>() < PARALLEL_FROM_CHUNKS {
        return series.iter().map(one).collect();
    }
    series.par_iter().with_min_len(8).map(one).collect()
}

/// The selector's matchers as ours, one list per `or` alternative, the metric name first.
pub(crate) fn matcher_sets(vs: &VectorSelector) -> Result<Vec<Vec<Matcher>>, QueryError> {
    std::iter::once(&vs.matchers.matchers)
        .chain(&vs.matchers.or_matchers)
        .map(|alternative| {
            let name = vs.name.iter().map(|n| Ok(Matcher::equal(METRIC_NAME_LABEL, n.clone())));
            name.chain(alternative.iter().map(convert_matcher)).collect()
        })
        .collect()
}

/// A matcher of the parser's AST as one of ours.
pub(crate) fn convert_matcher(m: &promql_parser::label::Matcher) -> Result<Matcher, QueryError> {
    let op = match m.op {
        ParserMatchOp::Equal => MatchOp::Equal,
        ParserMatchOp::NotEqual => MatchOp::NotEqual,
        ParserMatchOp::Re(_) => MatchOp::RegexMatch,
        ParserMatchOp::NotRe(_) => MatchOp::RegexNoMatch,
    };
    Matcher::new(op, m.name.clone(), m.value.clone()).map_err(|e| QueryError::BadData(e.to_string()))
}

/// The matchers of every selector in `expr` (one list per selector and `or` alternative).
pub(crate) fn selector_matchers(expr: &Expr) -> Result<Vec<Vec<Matcher>>, QueryError> {
    let mut out = Vec::new();
    collect_selectors(expr, &mut out)?;
    Ok(out)
}

fn collect_selectors(expr: &Expr, out: &mut Vec<Vec<Matcher>>) -> Result<(), QueryError> {
    match expr {
        Expr::VectorSelector(vs) => out.extend(matcher_sets(vs)?),
        Expr::MatrixSelector(ms) => out.extend(matcher_sets(&ms.vs)?),
        Expr::Aggregate(a) => {
            collect_selectors(&a.expr, out)?;
            if let Some(p) = &a.param {
                collect_selectors(p, out)?;
            }
        }
        Expr::Unary(u) => collect_selectors(&u.expr, out)?,
        Expr::Binary(b) => {
            collect_selectors(&b.lhs, out)?;
            collect_selectors(&b.rhs, out)?;
        }
        Expr::Paren(p) => collect_selectors(&p.expr, out)?,
        Expr::Subquery(s) => collect_selectors(&s.expr, out)?,
        Expr::Call(c) => {
            for a in &c.args.args {
                collect_selectors(a, out)?;
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
    Ok(())
}
