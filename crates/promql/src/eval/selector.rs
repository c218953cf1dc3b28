//! Selectors: instant vectors (the newest sample within the lookback window, ignoring stale
//! markers), range vectors (every sample in the window) and subqueries (an inner expression
//! evaluated at its own steps, then read like a range vector). The `anchored` and `smoothed`
//! modifiers widen what a selector reads; `extended_range` says what they make of it.

use strata_model::{is_stale_marker, Labels, MatchOp, Matcher, METRIC_NAME_LABEL};
use strata_promql_syntax::ast::{
    LabelMatcher, MatchOp as ParserMatchOp, MatrixSelector, SubqueryExpr, VectorSelector,
};

use std::sync::Arc;

use rayon::prelude::*;
use strata_model::histogram::{CounterResetHint, FloatHistogram, HistogramValue};
use strata_storage::Series;

use super::context::Limits;
use super::extended_histograms::interpolate_histograms;
use super::extended_range::{read_ahead, smoothed_value, ExtendedWindow};
use super::histogram_stats::set_stats_hints;
use super::histogram_windows::HistogramNote;
use super::{offset_ms, Evaluator, RangeData, RangeVal, StepSeries, Steps, Val, Windows};
use crate::engine::QueryError;
use strata_promql_syntax::ast::RangeModifier;

impl Evaluator<'_> {
    /// An instant vector selector at every step. With `timestamps`, a point's value is the
    /// selected sample's timestamp in seconds (what `timestamp()` returns). Steps that rollup
    /// tiers answer exactly are read from them (module `rollup_route`).
    pub(crate) fn vector_selector(
        &self,
        vs: &VectorSelector,
        timestamps: bool,
    ) -> Result<Vec<StepSeries>, QueryError> {
        match self.routed_vector_selector(vs, timestamps)? {
            Some(routed) => Ok(routed),
            None => self.raw_vector_selector(vs, timestamps),
        }
    }

    /// [`Self::vector_selector`] from raw samples.
    pub(crate) fn raw_vector_selector(
        &self,
        vs: &VectorSelector,
        timestamps: bool,
    ) -> Result<Vec<StepSeries>, QueryError> {
        self.picked(vs, timestamps, false)
    }

    /// `start_timestamp()` of a selector: the start time, in seconds, of the sample each step
    /// picks (of either kind; 0 where it has none).
    pub(crate) fn start_time_selector(&self, vs: &VectorSelector) -> Result<Vec<StepSeries>, QueryError> {
        self.picked(vs, true, true)
    }

    /// The picks of a selector: values, or (`timestamps`) the picked samples' times, or
    /// (`start_times` too) their start times.
    fn picked(
        &self,
        vs: &VectorSelector,
        timestamps: bool,
        start_times: bool,
    ) -> Result<Vec<StepSeries>, QueryError> {
        let offset = offset_ms(&vs.offset);
        let at = self.at_time(&vs.at);
        let lookback = self.ctx.options().lookback_delta_ms;
        let modifier = vs.modifier;
        let (first, last) = at.map_or((self.start, self.end), |a| (a, a));
        let steps = self.steps();
        let ahead = read_ahead(modifier, lookback);
        let (mint, maxt) = (first - offset - lookback + 1, last - offset + ahead);
        let lookup = Lookup { at, offset, lookback, modifier };
        let histogram_stats = self.histogram_stats;
        let per_series = |samples: &mut Vec<(i64, f64)>, series: &Series| {
            let picks = pick_series(samples, series, lookup, steps, timestamps, histogram_stats);
            if !start_times {
                return picks;
            }
            // A picked sample's time (whole ms, so exact in seconds' f64) gives its start.
            picks.map(|(points, histograms, note)| {
                let starts = points
                    .into_iter()
                    .map(|(t, seconds)| {
                        (t, series.start_time_at((seconds * 1000.0).round() as i64) as f64 / 1000.0)
                    })
                    .collect();
                (starts, histograms, note)
            })
        };
        let mut out = Vec::new();
        for (labels, selected) in self.select_each(vs, mint, maxt, per_series)? {
            let (points, histograms, note) = selected?;
            if let Some(note) = note {
                self.note(note, labels.metric_name().unwrap_or(""));
            }
            if !points.is_empty() || !histograms.is_empty() {
                out.push(StepSeries { labels, points, drop_name: false, histograms });
            }
        }
        Ok(out)
    }

    /// A range vector selector: the samples every step's window needs, stale markers left
    /// out. A range function over a selector does not come here: it reads each series as it
    /// is decoded (`range_function_of_selector`).
    pub(crate) fn matrix_selector(&self, ms: &MatrixSelector) -> Result<RangeVal, QueryError> {
        let (windows, mint, maxt) = self.matrix_bounds(ms);
        let end = windows.end(self.start);
        let histogram_stats = self.histogram_stats;
        let selected = self.select_each(&ms.selector, mint, maxt, |samples, series| {
            samples.retain(|&(_, v)| !is_stale_marker(v));
            let floats = match windows.modifier {
                // Only an instant query's result is a range vector: its one window.
                Some(modifier) => ExtendedWindow::new(samples, end - windows.range, end, modifier)
                    .edged_samples()
                    .unwrap_or_default(),
                None => std::mem::take(samples),
            };
            let histograms = if series.has_histograms() && windows.modifier.is_none() {
                super::range_functions::series_histograms(series, histogram_stats)?
            } else {
                Vec::new()
            };
            Ok::<_, QueryError>((floats, histograms))
        })?;
        let mut series = Vec::new();
        for (labels, read) in selected {
            let (samples, histograms) = read?;
            if !samples.is_empty() || !histograms.is_empty() {
                series.push(RangeData { labels, samples, drop_name: false, histograms });
            }
        }
        Ok(RangeVal { series, windows })
    }

    /// Where a matrix selector's windows lie, and the time range they cover together (with
    /// `anchored` or `smoothed`, the lookback delta before it, and after it when smoothed).
    pub(crate) fn matrix_bounds(&self, ms: &MatrixSelector) -> (Windows, i64, i64) {
        let windows = Windows {
            range: ms.range.millis(),
            offset: offset_ms(&ms.selector.offset),
            at: self.at_time(&ms.selector.at),
            modifier: ms.selector.modifier,
        };
        let lookback = self.ctx.options().lookback_delta_ms;
        let before = if windows.modifier.is_some() { lookback } else { 0 };
        let after = read_ahead(windows.modifier, lookback);
        let (first, last) = windows.at.map_or((self.start, self.end), |a| (a, a));
        (windows, first - windows.offset - windows.range - before + 1, last - windows.offset + after)
    }

    /// A subquery: the inner expression at its own steps (multiples of the step, as in
    /// Prometheus), over the span the outer steps' windows need.
    pub(crate) fn subquery(&self, sq: &SubqueryExpr) -> Result<RangeVal, QueryError> {
        let windows = Windows {
            range: sq.range.millis(),
            offset: offset_ms(&sq.offset),
            at: self.at_time(&sq.at),
            modifier: None,
        };
        let step = match sq.step.as_ref().map(|s| s.millis()) {
            Some(s) if s != 0 => s,
            _ => self.ctx.options().default_subquery_step_ms,
        };
        let (first, last) = windows.at.map_or((self.start, self.end), |a| (a, a));
        let inner_start = (first - windows.offset - windows.range).div_euclid(step) * step;
        let inner_end = last - windows.offset;
        if inner_end < inner_start {
            return Ok(RangeVal { series: Vec::new(), windows });
        }
        let inner = self.with_steps(inner_start, inner_end, step);
        let series = match inner.eval(&sq.expr)? {
            Val::Vector(series) => series
                .into_iter()
                .map(|s| RangeData {
                    labels: s.labels,
                    samples: s.points,
                    drop_name: s.drop_name,
                    histograms: without_counter_hints(s.histograms),
                })
                .collect(),
            Val::Scalar(values) => vec![RangeData {
                labels: strata_model::Labels::empty(),
                samples: inner.step_times().zip(values).collect(),
                drop_name: false,
                histograms: Vec::new(),
            }],
            other => {
                return Err(QueryError::BadData(format!(
                    "subquery is only allowed on instant vector, got {}",
                    other.type_name()
                )))
            }
        };
        Ok(RangeVal { series, windows })
    }

    /// Every series the selector matches, each with what `per_series` makes of its samples
    /// in `[mint, maxt]` (a buffer it may change or take) and the series they are from. The
    /// series are decoded one at a time per thread, each handed to `per_series` at once, so a
    /// selection never holds more than one series' samples per thread — the step values or
    /// window results it is reduced to are what stays.
    pub(crate) fn select_each<T: Send>(
        &self,
        vs: &VectorSelector,
        mint: i64,
        maxt: i64,
        per_series: impl Fn(&mut Vec<(i64, f64)>, &Series) -> T + Sync,
    ) -> Result<Vec<(Labels, T)>, QueryError> {
        self.select_matching(matcher_sets(vs)?, mint, maxt, per_series)
    }

    /// [`Self::select_each`] for matchers built by the evaluator (one list per `or`
    /// alternative; a series matched by several is read once).
    pub(crate) fn select_matching<T: Send>(
        &self,
        alternatives: Vec<Vec<Matcher>>,
        mint: i64,
        maxt: i64,
        per_series: impl Fn(&mut Vec<(i64, f64)>, &Series) -> T + Sync,
    ) -> Result<Vec<(Labels, T)>, QueryError> {
        let several = alternatives.len() > 1;
        let mut seen = std::collections::HashSet::new();
        let mut picked = Vec::new();
        for matchers in alternatives {
            let selected =
                self.store.select(&matchers, mint, maxt).map_err(|e| QueryError::Storage(e.to_string()))?;
            picked.extend(selected.into_iter().filter(|s| !several || seen.insert(s.labels().clone())));
        }
        let reduced = decode_each(&picked, self.ctx.limits(), per_series)?;
        Ok(picked.into_iter().map(Series::into_labels).zip(reduced).collect())
    }
}

/// One series' picks at every step (values, or the picked samples' times in seconds).
fn pick_series(
    samples: &mut Vec<(i64, f64)>,
    series: &Series,
    lookup: Lookup,
    steps: Steps,
    timestamps: bool,
    histogram_stats: bool,
) -> Result<StepPoints, QueryError> {
    if series.has_histograms() {
        let mut histograms = series.collect_histograms().map_err(|e| QueryError::Storage(e.to_string()))?;
        if histogram_stats {
            set_stats_hints(&mut histograms);
        }
        return Ok(lookup.mixed_points(samples, &histograms, steps, timestamps));
    }
    let points = if timestamps {
        lookup.points::<true>(samples, steps)
    } else {
        lookup.points::<false>(samples, steps)
    };
    Ok((points, Vec::new(), None))
}

/// How an instant selector picks a sample for a step: the newest at or before the step
/// (or the `@` time) less the offset, if no older than the lookback and not a stale marker.
/// `anchored` ignores stale markers; `smoothed` also interpolates towards the next sample
/// within the lookback (module `extended_range`).
#[derive(Clone, Copy)]
struct Lookup {
    at: Option<i64>,
    offset: i64,
    lookback: i64,
    modifier: Option<RangeModifier>,
}

impl Lookup {
    /// One series' value at each step where it has one (with `TIMESTAMPS`, the picked
    /// sample's time in seconds). The samples are walked once for all steps.
    fn points<const TIMESTAMPS: bool>(self, samples: &mut Vec<(i64, f64)>, steps: Steps) -> Vec<(i64, f64)> {
        if self.modifier.is_some() {
            samples.retain(|&(_, v)| !is_stale_marker(v));
        }
        let smoothed = self.modifier == Some(RangeModifier::Smoothed);
        let mut points = Vec::with_capacity(steps.count().min(samples.len()));
        let mut next = 0;
        for t in steps.times() {
            let ref_time = self.at.unwrap_or(t) - self.offset;
            next += samples[next..].iter().take_while(|s| s.0 <= ref_time).count();
            let Some(&(st, v)) = next.checked_sub(1).map(|i| &samples[i]) else { continue };
            if st <= ref_time - self.lookback || is_stale_marker(v) {
                continue;
            }
            let value = if TIMESTAMPS {
                st as f64 / 1000.0
            } else if smoothed {
                let after = usize::from(samples.get(next).is_some_and(|s| s.0 <= ref_time + self.lookback));
                smoothed_value(&samples[next - 1..next + after], ref_time).unwrap_or(v)
            } else {
                v
            };
            points.push((t, value));
        }
        points
    }
}

/// A series' float and histogram points by step, and what picking them met.
type StepPoints = (Vec<(i64, f64)>, Vec<(i64, Arc<FloatHistogram>)>, Option<HistogramNote>);

impl Lookup {
    /// [`Lookup::points`] for a series that has native histograms too: at each step the
    /// newest sample of either kind within the lookback, none if it is a stale marker (of
    /// either kind). With `timestamps`, every pick is the sample's time in seconds.
    /// `smoothed` interpolates histograms as it does floats ([`Lookup::smoothed_points`]);
    /// under `anchored`, and for timestamps under either, only floats are picked.
    fn mixed_points(
        self,
        floats: &mut Vec<(i64, f64)>,
        histograms: &[(i64, HistogramValue)],
        steps: Steps,
        timestamps: bool,
    ) -> StepPoints {
        if self.modifier == Some(RangeModifier::Smoothed) && !timestamps {
            return self.smoothed_points(floats, histograms, steps);
        }
        if self.modifier.is_some() {
            let points = if timestamps {
                self.points::<true>(floats, steps)
            } else {
                self.points::<false>(floats, steps)
            };
            return (points, Vec::new(), None);
        }
        let histograms: Vec<(i64, Option<Arc<FloatHistogram>>)> =
            histograms.iter().map(|(t, h)| (*t, (!h.is_stale()).then(|| Arc::new(h.to_float())))).collect();
        let (mut points, mut picked) = (Vec::new(), Vec::new());
        let (mut next_float, mut next_histogram) = (0, 0);
        for t in steps.times() {
            let ref_time = self.at.unwrap_or(t) - self.offset;
            next_float += floats[next_float..].iter().take_while(|s| s.0 <= ref_time).count();
            next_histogram += histograms[next_histogram..].iter().take_while(|s| s.0 <= ref_time).count();
            let float = next_float.checked_sub(1).map(|i| floats[i]);
            let histogram = next_histogram.checked_sub(1).map(|i| &histograms[i]);
            let newest_is_histogram = match (float, histogram) {
                (Some(f), Some(h)) => h.0 > f.0,
                (None, Some(_)) => true,
                _ => false,
            };
            if newest_is_histogram {
                let (st, h) = histogram.expect("checked above");
                if *st <= ref_time - self.lookback {
                    continue;
                }
                match h {
                    Some(_) if timestamps => points.push((t, *st as f64 / 1000.0)),
                    Some(h) => picked.push((t, Arc::clone(h))),
                    None => {} // a stale marker
                }
            } else if let Some((st, v)) = float {
                if st > ref_time - self.lookback && !is_stale_marker(v) {
                    points.push((t, if timestamps { st as f64 / 1000.0 } else { v }));
                }
            }
        }
        (points, picked, None)
    }

    /// A `smoothed` selector over a series holding histograms: at each step the samples
    /// either side of its time (within the lookback) are interpolated when both are
    /// histograms, as floats are when both are floats; a counter histogram that resets
    /// between them counts from zero (the later one scaled). Two samples of different kinds
    /// give nothing and Prometheus' warning, as do exponential and custom buckets.
    fn smoothed_points(
        self,
        floats: &mut Vec<(i64, f64)>,
        histograms: &[(i64, HistogramValue)],
        steps: Steps,
    ) -> StepPoints {
        floats.retain(|&(_, v)| !is_stale_marker(v));
        let float_points = self.points::<false>(floats, steps);
        let histograms: Vec<(i64, FloatHistogram)> =
            histograms.iter().filter(|(_, h)| !h.is_stale()).map(|(t, h)| (*t, h.to_float())).collect();
        let (mut points, mut picked, mut note) = (Vec::new(), Vec::new(), None);
        for t in steps.times() {
            let at = self.at.unwrap_or(t) - self.offset;
            let (float_before, float_after) = self.neighbours(floats.iter().map(|s| s.0), at);
            let (hist_before, hist_after) = self.neighbours(histograms.iter().map(|s| s.0), at);
            // Which kind is the newest sample at or before the step, and the oldest after.
            let before_is_histogram = match (float_before, hist_before) {
                (None, None) => continue,
                (Some(f), Some(h)) => h > f,
                (None, Some(_)) => true,
                (Some(_), None) => false,
            };
            let after_is_histogram = match (float_after, hist_after) {
                (Some(f), Some(h)) => Some(h < f),
                (None, Some(_)) => Some(true),
                (Some(_), None) => Some(false),
                (None, None) => None,
            };
            if after_is_histogram.is_some_and(|after| after != before_is_histogram) {
                note = Some(HistogramNote::MixedWithFloats);
                continue;
            }
            if !before_is_histogram {
                points.extend(float_points.iter().find(|p| p.0 == t));
                continue;
            }
            let index = histograms.partition_point(|s| s.0 <= at) - 1;
            let before = &histograms[index];
            let after = histograms.get(index + 1).filter(|_| before.0 != at && after_is_histogram.is_some());
            let value = match after {
                None => Some(before.1.clone()),
                Some(after) => {
                    let counter = after.1.counter_reset_hint != CounterResetHint::Gauge;
                    interpolate_histograms((before.0, &before.1), (after.0, &after.1), at, counter)
                }
            };
            match value {
                Some(h) => picked.push((t, Arc::new(h))),
                None => note = Some(HistogramNote::MixedSchemas),
            }
        }
        (points, picked, note)
    }

    /// The times of the newest sample at or before `at` within the lookback, and of the
    /// oldest after it within the lookback, of a time-ordered series.
    fn neighbours(self, times: impl Iterator<Item = i64>, at: i64) -> (Option<i64>, Option<i64>) {
        let mut before = None;
        for time in times {
            if time > at {
                return (before, (time <= at + self.lookback).then_some(time));
            }
            before = (time > at - self.lookback).then_some(time);
        }
        (before, None)
    }
}

/// Below this many chunks a selection is decoded on the query's thread: handing work to
/// other threads costs more than decoding a few thousand samples.
const PARALLEL_FROM_CHUNKS: usize = 256;

/// `per_series` of each series' samples (only those in the selection's range), decoded on
/// every core when there are many: decoding is most of a large selection's cost. Each
/// thread reuses one buffer. The limits are checked per series, so a timeout, a cancel or
/// `max_samples` stops the read early.
fn decode_each<T: Send>(
    series: &[Series],
    limits: &Limits,
    per_series: impl Fn(&mut Vec<(i64, f64)>, &Series) -> T + Sync,
) -> Result<Vec<T>, QueryError> {
    let one = |buffer: &mut Vec<(i64, f64)>, s: &Series| {
        limits.check("query execution")?;
        s.collect_samples_into(buffer).map_err(|e| QueryError::Storage(e.to_string()))?;
        limits.load_samples(buffer.len())?;
        Ok(per_series(buffer, s))
    };
    if series.iter().map(Series::chunk_count).sum::<usize>() < PARALLEL_FROM_CHUNKS {
        let mut buffer = Vec::new();
        return series.iter().map(|s| one(&mut buffer, s)).collect();
    }
    series.par_iter().with_min_len(8).map_init(Vec::new, one).collect()
}

/// A subquery's histograms with their counter-reset hints dropped (gauges stay gauges): its
/// steps skip samples, so a hint about the sample before says nothing about the step before,
/// and resets are found from the counts, as Prometheus does.
fn without_counter_hints(
    histograms: Vec<(i64, std::sync::Arc<strata_model::histogram::FloatHistogram>)>,
) -> Vec<(i64, std::sync::Arc<strata_model::histogram::FloatHistogram>)> {
    use strata_model::histogram::CounterResetHint;
    histograms
        .into_iter()
        .map(|(t, h)| match h.counter_reset_hint {
            CounterResetHint::Gauge | CounterResetHint::Unknown => (t, h),
            _ => {
                let mut h = (*h).clone();
                h.counter_reset_hint = CounterResetHint::Unknown;
                (t, std::sync::Arc::new(h))
            }
        })
        .collect()
}

/// The selector's matchers as ours, the metric name first (one list: Prometheus' selectors
/// have no `or` alternatives; callers take a list of lists for the API's `match[]`).
pub(crate) fn matcher_sets(vs: &VectorSelector) -> Result<Vec<Vec<Matcher>>, QueryError> {
    let name = vs.name.iter().map(|n| Ok(Matcher::equal(METRIC_NAME_LABEL, n.clone())));
    Ok(vec![name.chain(vs.matchers.iter().map(convert_matcher)).collect::<Result<_, _>>()?])
}

/// A matcher of the parser's AST as one of ours.
pub(crate) fn convert_matcher(m: &LabelMatcher) -> Result<Matcher, QueryError> {
    let op = match m.op {
        ParserMatchOp::Equal => MatchOp::Equal,
        ParserMatchOp::NotEqual => MatchOp::NotEqual,
        ParserMatchOp::Regex => MatchOp::RegexMatch,
        ParserMatchOp::NotRegex => MatchOp::RegexNoMatch,
    };
    Matcher::new(op, m.name.clone(), m.value.clone()).map_err(|e| QueryError::BadData(e.to_string()))
}
