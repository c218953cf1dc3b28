//! `info(v [, selector])` (experimental): adds the data labels of info series — `target_info`
//! by default, or those the selector's `__name__` matchers name — to the series of `v` that
//! share their identifying labels (`instance`, `job`), as a `* on (instance, job)
//! group_left (…) target_info` join would, without writing the join.
//!
//! How it is worked out, as Prometheus does:
//! - A series of `v` that is itself an info series (the selector has a positive `__name__`
//!   matcher and its name passes every `__name__` matcher) is passed through as it is.
//! - Info series are selected by the selector's matchers, by `__name__="target_info"` when
//!   it has no `__name__` matcher (`=~".+_info"` when it has only negative ones), and by the
//!   identifying label values the other series carry.
//! - They are looked up at the time `v`'s own samples come from: its first selector's `@`
//!   and offsets (through subqueries) shift the step time; at each such time the info
//!   series' newest sample within the lookback counts (a stale one does not).
//! - Per info metric name, a series matches the info series with the same name and the same
//!   identifying labels; of two such info series the one with the newer sample wins, equal
//!   times are an error.
//! - The data labels added are the info series' labels (all but `__name__`, or only those
//!   the selector names), never replacing a label the series has; two info metrics giving
//!   one label different values is an error.
//! - A series with no matching info series at a step keeps its sample unchanged, unless a
//!   data-label matcher refuses the empty value: then the sample is dropped.

use std::collections::{BTreeSet, HashMap};

use strata_model::{is_stale_marker, Labels, MatchOp, Matcher, METRIC_NAME_LABEL};
use strata_promql_syntax::ast::{AtModifier, DurationExpr, Expr};

use super::selector::matcher_sets;
use super::steps::OutputBuilder;
use super::{offset_ms, Evaluator, StepSeries, Val};
use crate::engine::QueryError;

/// The labels that tie a series to its info series.
const IDENTIFYING_LABELS: [&str; 2] = ["instance", "job"];

/// The info metric used when the selector names none.
const TARGET_INFO: &str = "target_info";

/// One info series: its labels and, per step, the time of the sample it has then.
struct InfoSeries {
    labels: Labels,
    name: String,
    at_step: Vec<Option<i64>>,
}

impl Evaluator<'_> {
    pub(crate) fn info(&self, args: &[&Expr]) -> Result<Val, QueryError> {
        let base = self.eval_vector(args[0])?;
        let selector = match args.get(1) {
            Some(Expr::VectorSelector(vs)) => matcher_sets(vs)?.into_iter().next().unwrap_or_default(),
            Some(_) => {
                return Err(QueryError::BadData(
                    "info() takes a label selector as its second argument".into(),
                ))
            }
            None => vec![Matcher::equal(METRIC_NAME_LABEL, TARGET_INFO)],
        };
        let (name_matchers, data_matchers): (Vec<Matcher>, Vec<Matcher>) =
            selector.into_iter().partition(|m| m.name() == METRIC_NAME_LABEL);
        let is_info_series = |labels: &Labels| {
            let name = labels.metric_name().unwrap_or("");
            name_matchers.iter().any(is_positive) && name_matchers.iter().all(|m| m.matches(name))
        };
        let ignored: Vec<bool> = base.iter().map(|s| is_info_series(&s.labels)).collect();
        let info = self.info_series(args[0], &base, &ignored, &name_matchers, &data_matchers)?;
        let data_names: BTreeSet<&str> = data_matchers.iter().map(Matcher::name).collect();
        let keep_unmatched = data_matchers.iter().all(|m| m.matches(""));
        let info_names: BTreeSet<&str> = info.iter().map(|s| s.name.as_str()).collect();

        // Per step, the info series present by signature (name + identifying labels).
        let mut by_step: Vec<HashMap<Labels, (usize, i64)>> = vec![HashMap::new(); self.step_count()];
        for (i, s) in info.iter().enumerate() {
            let sig = signature(&s.name, &s.labels);
            for (step, t) in s.at_step.iter().enumerate() {
                let Some(t) = *t else { continue };
                match by_step[step].get(&sig) {
                    Some(&(j, other)) if other == t => {
                        return Err(QueryError::Execution(format!(
                            "found duplicate series for info metric: existing {} @ {other}, new {} @ {t}",
                            info[j].labels, s.labels
                        )))
                    }
                    Some(&(_, other)) if other > t => {}
                    _ => {
                        by_step[step].insert(sig.clone(), (i, t));
                    }
                }
            }
        }

        let mut out = OutputBuilder::default();
        for (s, ignored) in base.iter().zip(ignored) {
            let sigs: Vec<Labels> = info_names.iter().map(|name| signature(name, &s.labels)).collect();
            for &(t, v) in &s.points {
                let labels = if ignored {
                    s.labels.clone()
                } else {
                    let matched: Vec<&Labels> = sigs
                        .iter()
                        .filter_map(|sig| by_step[self.step_index(t)].get(sig))
                        .map(|&(i, _)| &info[i].labels)
                        .collect();
                    if matched.is_empty() && !keep_unmatched {
                        continue;
                    }
                    enriched(&s.labels, &matched, &data_names)?
                };
                let id = out.series_for(&labels, s.drop_name);
                out.push(id, t, v)?;
            }
        }
        Ok(Val::Vector(out.finish()?))
    }

    /// The info series that may match `base`'s series, with their sample times per step.
    fn info_series(
        &self,
        base_expr: &Expr,
        base: &[StepSeries],
        ignored: &[bool],
        name_matchers: &[Matcher],
        data_matchers: &[Matcher],
    ) -> Result<Vec<InfoSeries>, QueryError> {
        let mut matchers: Vec<Matcher> = name_matchers.iter().chain(data_matchers).cloned().collect();
        if name_matchers.is_empty() {
            matchers.push(Matcher::equal(METRIC_NAME_LABEL, TARGET_INFO));
        } else if !name_matchers.iter().any(is_positive) {
            matchers.push(regex_matcher(METRIC_NAME_LABEL, ".+_info")?);
        }
        let mut identifying = false;
        for label in IDENTIFYING_LABELS {
            let values: BTreeSet<&str> = base
                .iter()
                .zip(ignored)
                .filter(|(_, &ignored)| !ignored)
                .filter_map(|(s, _)| s.labels.get(label).filter(|v| !v.is_empty()))
                .collect();
            if !values.is_empty() {
                identifying = true;
                let alternatives: Vec<String> = values.iter().map(|v| regex::escape(v)).collect();
                matchers.push(regex_matcher(label, &alternatives.join("|"))?);
            }
        }
        if !identifying {
            return Ok(Vec::new());
        }

        let (at, offset) = self.reference_time(base_expr, None, 0).unwrap_or((None, 0));
        let reference = |t: i64| at.unwrap_or(t) - offset;
        let lookback = self.ctx.options().lookback_delta_ms;
        let times: Vec<i64> = self.step_times().map(reference).collect();
        let (first, last) = (times.iter().min().copied(), times.iter().max().copied());
        let (Some(first), Some(last)) = (first, last) else { return Ok(Vec::new()) };
        let selected =
            self.select_matching(vec![matchers], first - lookback + 1, last, |samples, series| {
                // Info metrics are floats: one holding histograms is an error, as in Prometheus.
                if series.has_histograms() {
                    return None;
                }
                Some(
                    times
                        .iter()
                        .map(|&r| {
                            let newest = samples[..samples.partition_point(|s| s.0 <= r)].last()?;
                            (newest.0 > r - lookback && !is_stale_marker(newest.1)).then_some(newest.0)
                        })
                        .collect::<Vec<_>>(),
                )
            })?;
        selected
            .into_iter()
            .map(|(labels, at_step)| match at_step {
                Some(at_step) => {
                    Ok(InfoSeries { name: labels.metric_name().unwrap_or("").to_string(), labels, at_step })
                }
                None => Err(QueryError::Execution(format!(
                    "info metric {labels} has native histogram samples; info metrics must be float series"
                ))),
            })
            .collect()
    }

    /// The `@` time and summed offset that the first selector of `expr` reads its samples
    /// at (through subqueries): a step `t` reads at `at.unwrap_or(t) − offset`.
    fn reference_time(&self, expr: &Expr, at: Option<i64>, offset: i64) -> Option<(Option<i64>, i64)> {
        let shift =
            |node_at: &Option<AtModifier>, node_offset: &Option<DurationExpr>| match self.at_time(node_at) {
                Some(pinned) => (Some(pinned), offset_ms(node_offset)),
                None => (at, offset + offset_ms(node_offset)),
            };
        match expr {
            Expr::VectorSelector(vs) => Some(shift(&vs.at, &vs.offset)),
            Expr::MatrixSelector(ms) => Some(shift(&ms.selector.at, &ms.selector.offset)),
            Expr::Subquery(sq) => {
                let (at, offset) = shift(&sq.at, &sq.offset);
                self.reference_time(&sq.expr, at, offset)
            }
            Expr::Call(call) => call.args.iter().find_map(|a| self.reference_time(a, at, offset)),
            Expr::Aggregate(agg) => self
                .reference_time(&agg.expr, at, offset)
                .or_else(|| agg.param.as_deref().and_then(|p| self.reference_time(p, at, offset))),
            Expr::Binary(b) => {
                self.reference_time(&b.lhs, at, offset).or_else(|| self.reference_time(&b.rhs, at, offset))
            }
            Expr::Unary(u) => self.reference_time(&u.expr, at, offset),
            Expr::Paren(p) => self.reference_time(&p.expr, at, offset),
            Expr::Number(_) | Expr::String(_) => None,
        }
    }
}

/// An info metric name with the identifying labels `labels` has.
fn signature(name: &str, labels: &Labels) -> Labels {
    let mut sig = Labels::empty();
    sig.set(METRIC_NAME_LABEL, name);
    for label in IDENTIFYING_LABELS {
        if let Some(v) = labels.get(label) {
            sig.set(label, v);
        }
    }
    sig
}

/// `base` with the data labels of the `matched` info series added (see the module docs).
fn enriched(base: &Labels, matched: &[&Labels], data_names: &BTreeSet<&str>) -> Result<Labels, QueryError> {
    let mut added = Labels::empty();
    for info in matched {
        for l in info.iter().filter(|l| l.name != METRIC_NAME_LABEL) {
            if !data_names.is_empty() && !data_names.contains(l.name.as_str()) {
                continue;
            }
            if added.get(&l.name).is_some_and(|v| v != l.value) {
                return Err(QueryError::Execution(format!("conflicting label: {}", l.name)));
            }
            if base.get(&l.name).is_none() {
                added.set(&l.name, &l.value);
            }
        }
    }
    let mut labels = base.clone();
    for l in added.iter() {
        labels.set(&l.name, &l.value);
    }
    Ok(labels)
}

/// `=` or `=~`: a matcher that names what it selects rather than what it leaves out.
fn is_positive(m: &Matcher) -> bool {
    matches!(m.op(), MatchOp::Equal | MatchOp::RegexMatch)
}

fn regex_matcher(name: &str, pattern: &str) -> Result<Matcher, QueryError> {
    Matcher::new(MatchOp::RegexMatch, name, pattern).map_err(|e| QueryError::BadData(e.to_string()))
}
