//! Functions over range vectors (`rate`, `*_over_time`, …). Each series' samples are walked
//! once for all steps: the window `(end − range, end]` only moves forward. Over a matrix
//! selector (the usual case) a function reads each series as it is decoded, on the thread
//! that decoded it, so the selection's samples are never all in memory at once; over a
//! subquery it reads the subquery's series.
//!
//! Counter resets (`rate`, `increase`, `resets`) are found once per series, not once per
//! window: a window of a 1 s series in a 5 m rate holds 300 samples, and stepping it by 15 s
//! would otherwise compare each sample 20 times.
//!
//! Start timestamps (Prometheus' created timestamps, when the store keeps them; see
//! [`start_time_reset`]): a sample whose counter started after the sample before it was
//! taken is a reset whatever the values say (`rate`, `increase`, `irate`, `resets`); a first
//! sample whose counter started inside the window is counted from zero at that start rather
//! than extrapolated towards the window's start; and `rate`/`increase` warn once per series
//! when a start time overlaps the sample before. Subqueries and other expressions carry no
//! start timestamps, as in Prometheus.

use std::sync::Arc;

use strata_model::histogram::FloatHistogram;
use strata_model::{is_stale_marker, Labels, METRIC_NAME_LABEL};
use strata_promql_syntax::ast::MatrixSelector;

use super::extended_histograms::extended_histogram_values;
use super::extended_range::{extended_window_values, ExtendedFunction};
use super::histogram_windows::{merge_histogram_windows, HistogramNote};
use super::math::{fold, kahan_sum, linear_regression, quantile, Extreme, Mean, StdDev, Variance};
use super::{Evaluator, RangeVal, StepSeries, Steps, Windows};
use crate::engine::QueryError;

/// A series' float and histogram results by step.
type StepValues = (Vec<(i64, f64)>, Vec<(i64, Arc<FloatHistogram>)>);

/// A series' histogram samples, stale markers left out, as PromQL computes with them; a
/// chunk that does not decode is the query's error, naming the chunk.
pub(crate) fn series_histograms(
    series: &strata_storage::Series,
    histogram_stats: bool,
) -> Result<Vec<(i64, Arc<FloatHistogram>)>, QueryError> {
    let mut histograms = series.collect_histograms().map_err(|e| QueryError::Storage(e.to_string()))?;
    if histogram_stats {
        super::histogram_stats::set_stats_hints(&mut histograms);
    }
    Ok(histograms
        .into_iter()
        .filter(|(_, h)| !h.is_stale())
        .map(|(t, h)| (t, Arc::new(h.to_float())))
        .collect())
}

/// The samples of one series in one step's window, and where the window lies.
pub(crate) struct Window<'a> {
    pub(crate) samples: &'a [(i64, f64)],
    /// The start timestamp of each sample (0 unknown), or empty when the series has none.
    pub(crate) start_times: &'a [i64],
    /// The value before each counter reset (a sample below the one before it) inside the
    /// window, in time order; filled only for functions that read it.
    pub(crate) counter_resets: &'a [f64],
    /// Window start (exclusive) and end (inclusive), ms.
    pub(crate) start: i64,
    pub(crate) end: i64,
    /// Evaluation time (the step, even with `@`: Prometheus' `predict_linear` extrapolates
    /// from the step), ms.
    pub(crate) eval_time: i64,
}

impl Window<'_> {
    fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.samples.iter().map(|s| s.1)
    }
}

/// A range function: the window and the step's scalar arguments to a value (or none).
pub(crate) type RangeFn = fn(&Window<'_>, &[f64]) -> Option<f64>;

/// A range function and what the evaluator needs to know of it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RangeFunction {
    pub(crate) f: RangeFn,
    /// It keeps `__name__` (`last_over_time`, `first_over_time`).
    pub(crate) keeps_name: bool,
    /// It reads [`Window::counter_resets`].
    pub(crate) counter_resets: bool,
    /// It warns of start times that overlap the sample before (`rate`, `increase`).
    pub(crate) warns_start_time_overlap: bool,
}

/// The range function called `name`.
pub(crate) fn lookup(name: &str) -> Option<RangeFunction> {
    let f: RangeFn = match name {
        "rate" => |w, _| extrapolated_rate(w, true, true),
        "increase" => |w, _| extrapolated_rate(w, true, false),
        "delta" => |w, _| extrapolated_rate(w, false, false),
        "irate" => |w, _| instant_delta(w, true),
        "idelta" => |w, _| instant_delta(w, false),
        "deriv" => |w, _| (w.samples.len() >= 2).then(|| linear_regression(w.samples, w.samples[0].0).0),
        "predict_linear" => predict_linear,
        "resets" => |w, _| Some(w.counter_resets.len() as f64),
        "changes" => |w, _| Some(w.samples.windows(2).filter(|p| !same_float(p[0].1, p[1].1)).count() as f64),
        "avg_over_time" => |w, _| Some(fold::<Mean>(w.values())),
        "sum_over_time" => |w, _| Some(kahan_sum(w.values())),
        "count_over_time" => |w, _| Some(w.samples.len() as f64),
        "min_over_time" => |w, _| Some(fold::<Extreme<false>>(w.values())),
        "max_over_time" => |w, _| Some(fold::<Extreme<true>>(w.values())),
        "stddev_over_time" => |w, _| Some(fold::<StdDev>(w.values())),
        "stdvar_over_time" => |w, _| Some(fold::<Variance>(w.values())),
        "quantile_over_time" => |w, args| Some(quantile(args[0], &mut w.values().collect::<Vec<_>>())),
        "last_over_time" => |w, _| w.samples.last().map(|s| s.1),
        "first_over_time" => |w, _| w.samples.first().map(|s| s.1),
        "present_over_time" => |_, _| Some(1.0),
        "mad_over_time" => mad_over_time,
        "ts_of_last_over_time" => |w, _| w.samples.last().map(|s| s.0 as f64 / 1000.0),
        "ts_of_first_over_time" => |w, _| w.samples.first().map(|s| s.0 as f64 / 1000.0),
        "ts_of_max_over_time" => |w, _| extreme_timestamp(w, |v, m| v >= m),
        "ts_of_min_over_time" => |w, _| extreme_timestamp(w, |v, m| v <= m),
        "double_exponential_smoothing" => double_exponential_smoothing,
        _ => return None,
    };
    Some(RangeFunction {
        f,
        keeps_name: matches!(name, "last_over_time" | "first_over_time"),
        counter_resets: matches!(name, "rate" | "increase" | "resets"),
        warns_start_time_overlap: matches!(name, "rate" | "increase"),
    })
}

impl Evaluator<'_> {
    /// Applies `func` to every series' window at every step; `args` are scalar arguments,
    /// one value per step each.
    pub(crate) fn apply_range_function(
        &self,
        name: &str,
        input: RangeVal,
        func: RangeFunction,
        args: &[Vec<f64>],
    ) -> Result<Vec<StepSeries>, QueryError> {
        let mut out = Vec::with_capacity(input.series.len());
        for series in input.series {
            self.ctx.check("function evaluation")?;
            let mut values = window_values(&series.samples, None, self.steps(), input.windows, func, args);
            if !series.histograms.is_empty() {
                values = merge_histogram_windows(
                    name,
                    values,
                    &series.samples,
                    (&series.histograms, None),
                    self.steps(),
                    input.windows,
                );
                for note in &values.notes {
                    self.note(*note, series.labels.get(METRIC_NAME_LABEL).unwrap_or(""));
                }
            }
            self.push_result(
                &mut out,
                series.labels,
                (values.points, values.histograms),
                series.drop_name,
                func,
            );
        }
        Ok(out)
    }

    /// `func` over a matrix selector, each series reduced to its step values as soon as it
    /// is decoded (see the module docs); over an `anchored` or `smoothed` one, as module
    /// `extended_range` computes it. Where rollup tiers answer some steps exactly, those
    /// steps are read from them (module `rollup_route`).
    pub(crate) fn range_function_of_selector(
        &self,
        name: &str,
        ms: &MatrixSelector,
        func: RangeFunction,
        args: &[Vec<f64>],
    ) -> Result<Vec<StepSeries>, QueryError> {
        let selected = match self.routed_window_values(name, ms, func, args)? {
            Some(routed) => routed,
            None => self.raw_window_values(name, ms, func, args)?,
        };
        let mut out = Vec::with_capacity(selected.len());
        for (labels, values) in selected {
            for note in &values.notes {
                self.note(*note, labels.get(METRIC_NAME_LABEL).unwrap_or(""));
            }
            if values.start_time_overlap {
                self.ctx.warn(format!(
                    "PromQL warning: sample has start time that overlaps with previous sample timestamp for metric {:?}",
                    labels.get(METRIC_NAME_LABEL).unwrap_or("")
                ));
            }
            self.push_result(&mut out, labels, (values.points, values.histograms), false, func);
        }
        Ok(out)
    }

    /// Each series' values of `func` at this evaluator's steps, from raw samples.
    pub(crate) fn raw_window_values(
        &self,
        name: &str,
        ms: &MatrixSelector,
        func: RangeFunction,
        args: &[Vec<f64>],
    ) -> Result<Vec<(Labels, WindowValues)>, QueryError> {
        let (windows, mint, maxt) = self.matrix_bounds(ms);
        let extended = match windows.modifier {
            Some(_) => Some(ExtendedFunction::of(name).ok_or_else(|| {
                QueryError::BadData(format!("function \"{name}\" takes no range modifier"))
            })?),
            None => None,
        };
        let lookback = self.ctx.options().lookback_delta_ms;
        let steps = self.steps();
        let histogram_stats = self.histogram_stats;
        let selected = self.select_each(&ms.selector, mint, maxt, |samples, series| {
            samples.retain(|&(_, v)| !is_stale_marker(v));
            if extended.is_none() && series.has_histograms() {
                let histograms = series_histograms(series, histogram_stats)?;
                let floats = window_values(samples, None, steps, windows, func, args);
                let start_times = series.start_times_at(histograms.iter().map(|h| h.0));
                let merged = merge_histogram_windows(
                    name,
                    floats,
                    samples,
                    (&histograms, start_times.as_deref()),
                    steps,
                    windows,
                );
                return Ok((!merged.points.is_empty()
                    || !merged.histograms.is_empty()
                    || !merged.notes.is_empty())
                .then_some(merged));
            }
            if let (Some(extended), true) = (extended, series.has_histograms()) {
                let histograms = series_histograms(series, histogram_stats)?;
                let values =
                    extended_histogram_values(samples, &histograms, steps, windows, lookback, extended);
                return Ok((!values.points.is_empty()
                    || !values.histograms.is_empty()
                    || !values.notes.is_empty())
                .then_some(values));
            }
            if samples.is_empty() {
                return Ok(None);
            }
            let Some(extended) = extended else {
                let start_times = series.start_times_of(samples);
                return Ok(Some(window_values(samples, start_times.as_deref(), steps, windows, func, args)));
            };
            let points = extended_window_values(samples, steps, windows, lookback, extended);
            Ok((!points.is_empty()).then_some(WindowValues { points, ..WindowValues::default() }))
        })?;
        let mut out = Vec::with_capacity(selected.len());
        for (labels, values) in selected {
            if let Some(values) = values? {
                out.push((labels, values));
            }
        }
        if matches!(name, "rate" | "increase") {
            self.note_non_counter(out.iter().map(|(labels, _)| labels));
        }
        Ok(out)
    }

    /// Reports what a range function met in a series' histograms.
    pub(crate) fn note(&self, note: HistogramNote, metric: &str) {
        if note.is_info() {
            self.ctx.info(note.message(metric));
        } else {
            self.ctx.warn(note.message(metric));
        }
    }

    /// Adds a series of function results, its name dropped unless the function keeps it.
    fn push_result(
        &self,
        out: &mut Vec<StepSeries>,
        labels: Labels,
        (points, histograms): StepValues,
        drop_name: bool,
        func: RangeFunction,
    ) {
        if points.is_empty() && histograms.is_empty() {
            return;
        }
        let mut s = StepSeries { labels, points, drop_name, histograms };
        if !func.keeps_name {
            self.drop_name(&mut s);
        }
        out.push(s);
    }

    /// Prometheus' info for `rate`/`increase` over something that is not named like a counter.
    pub(crate) fn note_non_counter<'l>(&self, series: impl Iterator<Item = &'l Labels>) {
        for labels in series {
            if let Some(name) = labels.get(METRIC_NAME_LABEL) {
                if !["_total", "_sum", "_count", "_bucket"].iter().any(|suffix| name.ends_with(suffix)) {
                    self.ctx.info(format!(
                        "PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {name:?}"
                    ));
                }
            }
        }
    }
}

/// One series' function values, and whether a window `rate`/`increase` read had a start
/// time overlapping the sample before it.
#[derive(Debug, Default)]
pub(crate) struct WindowValues {
    pub(crate) points: Vec<(i64, f64)>,
    pub(crate) start_time_overlap: bool,
    /// Histogram results (`histogram_windows`).
    pub(crate) histograms: Vec<(i64, Arc<FloatHistogram>)>,
    /// What the histograms gave warnings for.
    pub(crate) notes: std::collections::BTreeSet<HistogramNote>,
}

/// Where a series' counter resets and start-time overlaps lie, found once for all windows.
struct SeriesEvents {
    /// Each reset: the index of the sample after it…
    reset_at: Vec<usize>,
    /// …and the value before it.
    reset_values: Vec<f64>,
    /// Each sample whose start time overlaps the sample before (its index).
    overlap_at: Vec<usize>,
}

impl SeriesEvents {
    /// Only what `func` reads: resets for `rate`, `increase` and `resets`, overlaps for the
    /// first two when there are start times (`st`, empty when none).
    fn find(samples: &[(i64, f64)], st: &[i64], func: RangeFunction) -> SeriesEvents {
        let (reset_at, reset_values) = if func.counter_resets {
            samples
                .windows(2)
                .enumerate()
                .filter(|&(i, p)| {
                    p[1].1 < p[0].1 || (!st.is_empty() && start_time_reset(st[i], p[0].0, st[i + 1], p[1].0))
                })
                .map(|(i, p)| (i + 1, p[0].1))
                .unzip()
        } else {
            (Vec::new(), Vec::new())
        };
        let overlap_at = if func.warns_start_time_overlap && !st.is_empty() {
            (1..samples.len()).filter(|&i| start_time_overlaps(st[i - 1], samples[i - 1].0, st[i])).collect()
        } else {
            Vec::new()
        };
        SeriesEvents { reset_at, reset_values, overlap_at }
    }
}

/// One series' function values at every step where its window holds samples. Pure (no
/// evaluator), so it runs on whichever thread decoded the series.
fn window_values(
    samples: &[(i64, f64)],
    start_times: Option<&[i64]>,
    steps: Steps,
    windows: Windows,
    func: RangeFunction,
    args: &[Vec<f64>],
) -> WindowValues {
    let st = start_times.unwrap_or(&[]);
    let SeriesEvents { reset_at, reset_values, overlap_at } = SeriesEvents::find(samples, st, func);
    let mut out = WindowValues::default();
    let mut step_args = vec![0.0; args.len()];
    let (mut lo, mut hi, mut resets_lo, mut resets_hi, mut overlaps_lo) = (0, 0, 0, 0, 0);
    for (i, t) in steps.times().enumerate() {
        let end = windows.end(t);
        let start = end - windows.range;
        while hi < samples.len() && samples[hi].0 <= end {
            hi += 1;
        }
        while lo < hi && samples[lo].0 <= start {
            lo += 1;
        }
        if lo == hi {
            continue;
        }
        // A reset at index r lies in the window when both r − 1 and r do: lo < r < hi.
        while resets_hi < reset_at.len() && reset_at[resets_hi] < hi {
            resets_hi += 1;
        }
        while resets_lo < resets_hi && reset_at[resets_lo] <= lo {
            resets_lo += 1;
        }
        while overlaps_lo < overlap_at.len() && overlap_at[overlaps_lo] <= lo {
            overlaps_lo += 1;
        }
        if overlap_at.get(overlaps_lo).is_some_and(|&r| r < hi) {
            out.start_time_overlap = true;
        }
        for (a, values) in step_args.iter_mut().zip(args) {
            *a = values[i];
        }
        let window = Window {
            samples: &samples[lo..hi],
            start_times: if st.is_empty() { &[] } else { &st[lo..hi] },
            counter_resets: &reset_values[resets_lo..resets_hi],
            start,
            end,
            eval_time: t,
        };
        if let Some(v) = (func.f)(&window, &step_args) {
            out.points.push((t, v));
        }
    }
    out
}

/// Whether the sample at `t` with start time `st` began counting again after the sample
/// before it (`prev_t`, started `prev_st`) — a reset, whatever the values. Start time 0 is
/// unknown; one at or after its own sample is invalid or OTel's "unknown start". A start
/// time equal to the sample before's time is a delta sample's (a reset) unless the sample
/// before had no valid start time (a cumulative series whose start is unknown).
pub(crate) fn start_time_reset(prev_st: i64, prev_t: i64, st: i64, t: i64) -> bool {
    if st == 0 || st >= t || st < prev_t {
        return false;
    }
    if st > prev_t {
        return true;
    }
    prev_st != 0 && prev_st < prev_t
}

/// Whether start time `st` lies before the sample before (`prev_t`) without being that
/// sample's own start time: the two samples claim overlapping spans.
fn start_time_overlaps(prev_st: i64, prev_t: i64, st: i64) -> bool {
    st != 0 && st < prev_t && st != prev_st
}

/// NaN equals NaN here (a NaN that stays NaN is no change).
pub(crate) fn same_float(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// `rate`, `increase` and `delta`: the change over the window, corrected for counter resets
/// and extrapolated towards the window's edges (not past where the series plausibly starts
/// or ends, nor below zero for counters), as Prometheus 3 does.
fn extrapolated_rate(w: &Window<'_>, is_counter: bool, is_rate: bool) -> Option<f64> {
    let s = w.samples;
    let (first, last) = (*s.first()?, s[s.len() - 1]);
    let mut result = last.1 - first.1;
    if is_counter {
        // In order, as Prometheus adds them.
        for before in w.counter_resets {
            result += before;
        }
    }
    let first_start = w.start_times.first().copied().unwrap_or(0);
    let edges =
        RateEdges { first, last, count: s.len(), change: result, start: w.start, end: w.end, first_start };
    extrapolate(&edges, is_counter, is_rate)
}

/// What `rate`, `increase` and `delta` read of a window: its first and last sample, how many
/// samples it holds, the change between them (for counters corrected for resets), the
/// window's bounds and the first sample's start time (0 unknown). Raw windows and rollup
/// windows (module `rollup_route`) both reduce to this, so both extrapolate alike.
pub(crate) struct RateEdges {
    pub(crate) first: (i64, f64),
    pub(crate) last: (i64, f64),
    pub(crate) count: usize,
    pub(crate) change: f64,
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) first_start: i64,
}

/// The change extrapolated towards the window's edges (not past where the series plausibly
/// starts or ends, nor below zero for counters), as Prometheus 3 does; per second for rates.
pub(crate) fn extrapolate(e: &RateEdges, is_counter: bool, is_rate: bool) -> Option<f64> {
    let (first, last) = (e.first, e.last);
    let mut result = e.change;
    let mut to_start = (first.0 - e.start) as f64 / 1000.0;
    let mut to_end = (e.end - last.0) as f64 / 1000.0;
    let mut sampled = (last.0 - first.0) as f64 / 1000.0;
    let average_gap = if e.count > 1 { sampled / (e.count - 1) as f64 } else { 0.0 };
    let threshold = average_gap * 1.1;
    let first_start = e.first_start;
    if is_counter && first_start != 0 && first_start > e.start && first_start < first.0 {
        // The counter started inside the window: count from zero there, not extrapolating.
        to_start = 0.0;
        sampled = (last.0 - first_start) as f64 / 1000.0;
        result += first.1;
    } else if e.count < 2 {
        return None;
    } else {
        if to_start >= threshold {
            to_start = average_gap / 2.0;
        }
        if is_counter && result > 0.0 && first.1 >= 0.0 {
            // Don't extrapolate below zero: a counter started no earlier than where it would
            // have been 0.
            let to_zero = sampled * (first.1 / result);
            if to_zero < to_start {
                to_start = to_zero;
            }
        }
    }
    if to_end >= threshold {
        to_end = average_gap / 2.0;
    }
    let mut factor = if sampled != 0.0 { (sampled + to_start + to_end) / sampled } else { 1.0 };
    if is_rate {
        factor /= (e.end - e.start) as f64 / 1000.0;
    }
    Some(result * factor)
}

/// `irate` and `idelta`: from the last two samples.
fn instant_delta(w: &Window<'_>, is_rate: bool) -> Option<f64> {
    let s = w.samples;
    if s.len() < 2 {
        return None;
    }
    let (prev, last) = (s[s.len() - 2], s[s.len() - 1]);
    let n = w.start_times.len();
    let reset = last.1 < prev.1
        || (n >= 2 && start_time_reset(w.start_times[n - 2], prev.0, w.start_times[n - 1], last.0));
    let delta = if is_rate && reset { last.1 } else { last.1 - prev.1 };
    if !is_rate {
        return Some(delta);
    }
    let interval = last.0 - prev.0;
    (interval != 0).then(|| delta / (interval as f64 / 1000.0))
}

fn predict_linear(w: &Window<'_>, args: &[f64]) -> Option<f64> {
    if w.samples.len() < 2 {
        return None;
    }
    let (slope, intercept) = linear_regression(w.samples, w.eval_time);
    Some(slope * args[0] + intercept)
}

fn mad_over_time(w: &Window<'_>, _: &[f64]) -> Option<f64> {
    // A NaN sample makes the deviation unknown (the quantile would sort it away).
    if w.values().any(f64::is_nan) {
        return Some(f64::NAN);
    }
    let mut values: Vec<f64> = w.values().collect();
    let median = quantile(0.5, &mut values);
    let mut deviations: Vec<f64> = values.iter().map(|v| (v - median).abs()).collect();
    Some(quantile(0.5, &mut deviations))
}

/// Timestamp (s) of the last sample that wins `better(value, best)`; NaN never wins unless all are NaN.
fn extreme_timestamp(w: &Window<'_>, better: fn(f64, f64) -> bool) -> Option<f64> {
    let mut best = w.samples.first()?;
    for s in &w.samples[1..] {
        if best.1.is_nan() || (!s.1.is_nan() && better(s.1, best.1)) {
            best = s;
        }
    }
    Some(best.0 as f64 / 1000.0)
}

/// Holt's linear smoothing; the factors must lie strictly between 0 and 1.
fn double_exponential_smoothing(w: &Window<'_>, args: &[f64]) -> Option<f64> {
    let (sf, tf) = (args[0], args[1]);
    let s = w.samples;
    if s.len() < 2 || !(sf > 0.0 && sf < 1.0) || !(tf > 0.0 && tf < 1.0) {
        return None;
    }
    let (mut s0, mut s1, mut trend) = (0.0, s[0].1, s[1].1 - s[0].1);
    for (i, sample) in s.iter().enumerate().skip(1) {
        let x = sf * sample.1;
        if i > 1 {
            trend = tf * (s1 - s0) + (1.0 - tf) * trend;
        }
        let y = (1.0 - sf) * (s1 + trend);
        (s0, s1) = (s1, x + y);
    }
    Some(s1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_resets_as_prometheus_reads_them() {
        // (prev start, prev time, start, time) → reset?
        let cases = [
            ((0, 60, 0, 120), false),   // no start time
            ((0, 60, 120, 120), false), // start at its own time: OTel's unknown start
            ((0, 60, 130, 120), false), // start after its own time: invalid
            ((0, 60, 30, 120), false),  // started before the previous sample: same run
            ((0, 60, 90, 120), true),   // started after the previous sample: a reset
            ((30, 60, 60, 120), true),  // starts at the previous sample: a delta sample
            ((0, 60, 60, 120), false),  // … after one with unknown start: cumulative
            ((60, 60, 60, 120), false), // … after one started at its own time
            ((90, 60, 60, 120), false), // … after an invalid start
        ];
        for ((prev_st, prev_t, st, t), reset) in cases {
            assert_eq!(start_time_reset(prev_st, prev_t, st, t), reset, "{prev_st} {prev_t} {st} {t}");
        }
        assert!(start_time_overlaps(0, 60, 30));
        assert!(!start_time_overlaps(30, 60, 30), "a cumulative run shares its start");
        assert!(!start_time_overlaps(0, 60, 60), "a delta sample starts at the previous one");
    }
}
