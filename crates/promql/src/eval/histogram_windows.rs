//! Range functions over series that hold native histograms, as Prometheus 3 computes them:
//!
//! - `rate`, `increase`, `delta`: the last histogram minus the first (for counters plus the
//!   histogram before every counter reset), in the coarsest schema of the window, then
//!   extrapolated like floats (without the zero-point limit, which floats alone get); the
//!   result is a gauge histogram. `delta` of counter histograms warns.
//! - `irate`, `idelta`: from the last two histograms (after a reset, `irate` takes the last).
//! - `count_over_time`, `present_over_time`: floats and histograms alike.
//! - `last_over_time`, `first_over_time`: the newest / oldest sample of either kind;
//!   `ts_of_last_over_time`, `ts_of_first_over_time`: its time.
//! - `sum_over_time`, `avg_over_time`: of histograms.
//! - `resets`: counter resets between histograms; `changes`: histograms that differ from
//!   the one before; over a window of both kinds, a switch of kind counts as either.
//!
//! A window holding both floats and histograms gives no value for the functions that would
//! combine them (Prometheus warns: "encountered a mix of histograms and floats"). Other
//! range functions read a series' floats only.

use std::sync::Arc;

use strata_model::histogram::{CounterResetHint, FloatHistogram, CUSTOM_BUCKETS_SCHEMA};

use super::range_functions::{extrapolate, start_time_reset, RateEdges, WindowValues};
use super::{Steps, Windows};
use crate::native_histogram::arith::{
    add, custom_bounds_differ, equal_values, in_common_bounds, scale, ArithError,
};
use crate::native_histogram::buckets::side_map;
use crate::native_histogram::kahan::{kahan_mean, kahan_sum};

/// Prometheus' warning when histograms summed or averaged say both "reset" and "no reset".
pub(crate) const CONFLICTING_RESETS: &str =
    "PromQL warning: conflicting counter resets during histogram aggregation";

/// Whether histograms summed together carry both a `CounterReset` and a `NotCounterReset`.
pub(crate) fn resets_conflict<'a>(hs: impl IntoIterator<Item = &'a FloatHistogram>) -> bool {
    let (mut reset, mut not_reset) = (false, false);
    for h in hs {
        reset |= h.counter_reset_hint == CounterResetHint::CounterReset;
        not_reset |= h.counter_reset_hint == CounterResetHint::NotCounterReset;
    }
    reset && not_reset
}

/// What a range function met in a series' histograms, for the annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum HistogramNote {
    MixedWithFloats,
    NotGauge,
    NotCounter,
    MixedSchemas,
    /// A window summed or averaged holds both a `CounterReset` and a `NotCounterReset`.
    ConflictingResets,
    /// Infos: custom buckets of different bounds were reconciled to the bounds they share.
    ReconciledInSubtraction,
    ReconciledInAggregation,
    /// An info, not a warning: the function read the floats of a mixed window.
    IgnoredInMixedRange,
}

impl HistogramNote {
    /// Whether Prometheus reports it as an info rather than a warning.
    pub(crate) fn is_info(self) -> bool {
        matches!(
            self,
            HistogramNote::IgnoredInMixedRange
                | HistogramNote::ReconciledInSubtraction
                | HistogramNote::ReconciledInAggregation
        )
    }

    /// Prometheus' warning (or info) for it, about metric `name`.
    pub(crate) fn message(self, name: &str) -> String {
        match self {
            HistogramNote::MixedWithFloats => {
                format!("PromQL warning: encountered a mix of histograms and floats for metric name {name:?}")
            }
            HistogramNote::NotGauge => format!("PromQL warning: this native histogram metric is not a gauge: {name:?}"),
            HistogramNote::NotCounter => {
                format!("PromQL warning: this native histogram metric is not a counter: {name:?}")
            }
            HistogramNote::MixedSchemas => format!(
                "PromQL warning: vector contains a mix of histograms with exponential and custom buckets schemas for metric name {name:?}"
            ),
            HistogramNote::ConflictingResets => CONFLICTING_RESETS.to_string(),
            HistogramNote::ReconciledInSubtraction => {
                "PromQL info: mismatched custom buckets were reconciled during subtraction".to_string()
            }
            HistogramNote::ReconciledInAggregation => {
                "PromQL info: mismatched custom buckets were reconciled during aggregation".to_string()
            }
            HistogramNote::IgnoredInMixedRange => format!(
                "PromQL info: ignored histograms in a range containing both floats and histograms for metric name {name:?}"
            ),
        }
    }
}

/// A series' histograms in time order, with each one's start time (0 unknown) when the
/// series has start times at all.
pub(crate) type HistogramsWithStarts<'a> = (&'a [(i64, Arc<FloatHistogram>)], Option<&'a [i64]>);

/// The functions with a meaning for histograms.
pub(crate) fn reads_histograms(name: &str) -> bool {
    matches!(
        name,
        "rate"
            | "increase"
            | "delta"
            | "irate"
            | "idelta"
            | "count_over_time"
            | "present_over_time"
            | "last_over_time"
            | "first_over_time"
            | "ts_of_last_over_time"
            | "ts_of_first_over_time"
            | "sum_over_time"
            | "avg_over_time"
            | "resets"
            | "changes"
    )
}

/// Combines a series' float results (`floats`, from its float samples alone) with what
/// `name` makes of its histograms, step by step; see the module docs.
pub(crate) fn merge_histogram_windows(
    name: &str,
    floats: WindowValues,
    float_samples: &[(i64, f64)],
    (histograms, start_times): HistogramsWithStarts<'_>,
    steps: Steps,
    windows: Windows,
) -> WindowValues {
    if !reads_histograms(name) {
        // The function reads floats only: say so where a window held both kinds.
        let mut floats = floats;
        let (mut flo, mut fhi, mut hlo, mut hhi) = (0, 0, 0, 0);
        for t in steps.times() {
            let end = windows.end(t);
            let start = end - windows.range;
            advance(float_samples, start, end, &mut flo, &mut fhi);
            advance(histograms, start, end, &mut hlo, &mut hhi);
            if flo < fhi && hlo < hhi {
                floats.notes.insert(HistogramNote::IgnoredInMixedRange);
                break;
            }
        }
        return floats;
    }
    let mut out = WindowValues { start_time_overlap: floats.start_time_overlap, ..WindowValues::default() };
    // Counter resets, found once for all windows: `reset_before[i]` is a reset between
    // histograms i − 1 and i.
    let reset_before: Vec<bool> = if matches!(name, "rate" | "increase" | "irate" | "resets") {
        let started_again = |i: usize| {
            start_times
                .is_some_and(|st| start_time_reset(st[i - 1], histograms[i - 1].0, st[i], histograms[i].0))
        };
        std::iter::once(false)
            .chain(
                (1..histograms.len())
                    .map(|i| started_again(i) || detect_reset(&histograms[i].1, &histograms[i - 1].1)),
            )
            .collect()
    } else {
        vec![false; histograms.len()]
    };
    let mut float_points = floats.points.into_iter().peekable();
    let (mut flo, mut fhi, mut hlo, mut hhi) = (0, 0, 0, 0);
    for t in steps.times() {
        let end = windows.end(t);
        let start = end - windows.range;
        advance(float_samples, start, end, &mut flo, &mut fhi);
        advance(histograms, start, end, &mut hlo, &mut hhi);
        let float_value = match float_points.peek() {
            Some(&(pt, v)) if pt == t => {
                float_points.next();
                Some(v)
            }
            _ => None,
        };
        let (mut fw, mut hw) = (&float_samples[flo..fhi], &histograms[hlo..hhi]);
        let mut resets = &reset_before[hlo..hhi];
        if matches!(name, "irate" | "idelta") {
            // Only the last two samples count, whatever came before them.
            let second_last = last_two_start(fw, hw);
            let (fskip, hskip) =
                (fw.partition_point(|s| s.0 < second_last), hw.partition_point(|s| s.0 < second_last));
            (fw, hw, resets) = (&fw[fskip..], &hw[hskip..], &resets[hskip..]);
        }
        if hw.is_empty() {
            if let Some(v) = float_value {
                out.points.push((t, v));
            }
            continue;
        }
        let gauge = |h: &FloatHistogram| h.counter_reset_hint == CounterResetHint::Gauge;
        let counter_function = matches!(name, "rate" | "increase" | "irate");
        if counter_function
            && fw.is_empty()
            && hw.len() >= 2
            && (gauge(&hw[0].1) || gauge(&hw[hw.len() - 1].1))
        {
            out.notes.insert(HistogramNote::NotCounter);
        }
        // `idelta` of two counters is fine (a difference); of a gauge and a counter it is not.
        if name == "idelta" && fw.is_empty() && hw.len() == 2 && gauge(&hw[0].1) != gauge(&hw[1].1) {
            out.notes.insert(HistogramNote::NotGauge);
        }
        // (`irate` after a reset takes the last histogram as it is: nothing is subtracted.)
        let reset_irate = name == "irate" && resets.last() == Some(&true);
        if matches!(name, "sum_over_time" | "avg_over_time")
            && resets_conflict(hw.iter().map(|(_, h)| h.as_ref()))
        {
            out.notes.insert(HistogramNote::ConflictingResets);
        }
        if !reset_irate && hw.windows(2).any(|p| custom_bounds_differ(&p[0].1, &p[1].1)) {
            out.notes.insert(match name {
                "sum_over_time" | "avg_over_time" => HistogramNote::ReconciledInAggregation,
                _ => HistogramNote::ReconciledInSubtraction,
            });
        }
        // The start time of the window's first histogram (0 unknown).
        let first_start = start_times.map_or(0, |st| st[hhi - hw.len()]);
        match step_value(name, fw, hw, resets, (start, end), first_start) {
            Step::Float(v) => out.points.push((t, v)),
            Step::Histogram(h) => out.histograms.push((t, h)),
            Step::Mixed => {
                out.notes.insert(HistogramNote::MixedWithFloats);
            }
            Step::NotGauge => {
                out.notes.insert(HistogramNote::NotGauge);
                if let Step::Histogram(h) =
                    step_value("delta_gauge", fw, hw, resets, (start, end), first_start)
                {
                    out.histograms.push((t, h));
                }
            }
            Step::Incompatible(e) => {
                out.notes.insert(match e {
                    ArithError::MixedSchemas => HistogramNote::MixedSchemas,
                });
            }
            Step::None => {}
        }
    }
    out
}

/// The time of the second-newest sample of a window of floats and histograms (the oldest
/// one if it holds fewer than two).
fn last_two_start(floats: &[(i64, f64)], hists: &[(i64, Arc<FloatHistogram>)]) -> i64 {
    let mut times: Vec<i64> = floats.iter().rev().take(2).map(|s| s.0).collect();
    times.extend(hists.iter().rev().take(2).map(|s| s.0));
    times.sort_unstable();
    times.iter().rev().nth(1).or(times.first()).copied().unwrap_or(i64::MIN)
}

/// `resets` (or `changes`) over a window of floats and histograms taken together in time
/// order: a float after a histogram, or a histogram after a float, is a reset and a change;
/// between two of a kind, as for that kind.
fn mixed_transitions(resets: bool, floats: &[(i64, f64)], hists: &[(i64, Arc<FloatHistogram>)]) -> f64 {
    enum Sample<'a> {
        Float(f64),
        Histogram(&'a FloatHistogram),
    }
    let mut merged: Vec<(i64, Sample<'_>)> = floats.iter().map(|&(t, v)| (t, Sample::Float(v))).collect();
    merged.extend(hists.iter().map(|(t, h)| (*t, Sample::Histogram(h))));
    merged.sort_by_key(|s| s.0);
    let counted = merged.windows(2).filter(|p| match (&p[0].1, &p[1].1) {
        (Sample::Float(a), Sample::Float(b)) if resets => b < a,
        (Sample::Float(a), Sample::Float(b)) => !(a == b || (a.is_nan() && b.is_nan())),
        (Sample::Histogram(a), Sample::Histogram(b)) if resets => detect_reset(b, a),
        (Sample::Histogram(a), Sample::Histogram(b)) => !equal_values(a, b),
        _ => true,
    });
    counted.count() as f64
}

/// Moves `[lo, hi)` to the samples in `(start, end]`.
fn advance<T>(samples: &[(i64, T)], start: i64, end: i64, lo: &mut usize, hi: &mut usize) {
    while *hi < samples.len() && samples[*hi].0 <= end {
        *hi += 1;
    }
    while *lo < *hi && samples[*lo].0 <= start {
        *lo += 1;
    }
}

/// One step's outcome.
enum Step {
    Float(f64),
    Histogram(Arc<FloatHistogram>),
    /// Floats and histograms in one window.
    Mixed,
    /// `delta` over counter histograms: computed, with a warning.
    NotGauge,
    /// Histograms that cannot be combined (exponential and custom buckets, or custom
    /// buckets with other bounds).
    Incompatible(ArithError),
    None,
}

fn step_value(
    name: &str,
    floats: &[(i64, f64)],
    hists: &[(i64, Arc<FloatHistogram>)],
    resets: &[bool],
    (start, end): (i64, i64),
    first_start: i64,
) -> Step {
    let mixed = !floats.is_empty();
    match name {
        "count_over_time" => Step::Float((floats.len() + hists.len()) as f64),
        "present_over_time" => Step::Float(1.0),
        "last_over_time" => match floats.last() {
            Some(&(ft, v)) if ft > hists[hists.len() - 1].0 => Step::Float(v),
            _ => Step::Histogram(Arc::clone(&hists[hists.len() - 1].1)),
        },
        "first_over_time" => match floats.first() {
            Some(&(ft, v)) if ft < hists[0].0 => Step::Float(v),
            _ => Step::Histogram(Arc::clone(&hists[0].1)),
        },
        // The time of the newest (oldest) sample of either kind, in seconds.
        "ts_of_last_over_time" => {
            let newest = floats.last().map_or(i64::MIN, |f| f.0).max(hists[hists.len() - 1].0);
            Step::Float(newest as f64 / 1000.0)
        }
        "ts_of_first_over_time" => {
            let oldest = floats.first().map_or(i64::MAX, |f| f.0).min(hists[0].0);
            Step::Float(oldest as f64 / 1000.0)
        }
        "resets" | "changes" if mixed => Step::Float(mixed_transitions(name == "resets", floats, hists)),
        _ if mixed => Step::Mixed,
        "sum_over_time" | "avg_over_time" => {
            let window = hists.iter().map(|(_, h)| h.as_ref());
            let total = if name == "sum_over_time" { kahan_sum(window) } else { kahan_mean(window) };
            match total {
                Ok(Some(h)) => Step::Histogram(Arc::new(h)),
                Ok(None) => Step::None,
                Err(e) => Step::Incompatible(e),
            }
        }
        // A window's first flag is about the sample before the window: not counted.
        "resets" => Step::Float(resets.iter().skip(1).filter(|r| **r).count() as f64),
        "changes" => {
            let differ = |a: &FloatHistogram, b: &FloatHistogram| !equal_values(a, b);
            Step::Float(hists.windows(2).filter(|p| differ(&p[0].1, &p[1].1)).count() as f64)
        }
        "rate" | "increase" => rate_step(hists, resets, (start, end, first_start), true, name == "rate"),
        "delta" => {
            let gauge = |h: &FloatHistogram| h.counter_reset_hint == CounterResetHint::Gauge;
            if !gauge(&hists[0].1) || !gauge(&hists[hists.len() - 1].1) {
                return if hists.len() < 2 { Step::None } else { Step::NotGauge };
            }
            rate_step(hists, resets, (start, end, 0), false, false)
        }
        "delta_gauge" => rate_step(hists, resets, (start, end, 0), false, false),
        "irate" | "idelta" => instant_step(hists, resets, name == "irate"),
        _ => Step::None,
    }
}

/// `last − first`, plus the histogram before each reset for counters; extrapolated as
/// floats are, a counter's start not before where its count would have been zero.
fn rate_step(
    hists: &[(i64, Arc<FloatHistogram>)],
    resets: &[bool],
    (start, end, first_start): (i64, i64, i64),
    counter: bool,
    is_rate: bool,
) -> Step {
    let (first, last) = (&hists[0], &hists[hists.len() - 1]);
    // A counter that started inside the window counts from zero at its start: the first
    // histogram is all increase, and nothing is extrapolated before it (one sample is enough).
    let started_inside = counter && first_start != 0 && first_start > start && first_start < first.0;
    if hists.len() < 2 && !started_inside {
        return Step::None;
    }
    let change = match change(hists, resets, counter) {
        Ok(h) if started_inside => match add(&h, &first.1) {
            Ok(h) => h,
            Err(e) => return Step::Incompatible(e),
        },
        Ok(h) => h,
        Err(e) => return Step::Incompatible(e),
    };
    // The extrapolation is worked out on a change of 1 (the factor is what it gives); the
    // first count, as a share of the change's, tells where the counter was zero.
    let clamp_at_zero = counter && !started_inside && change.count > 0.0 && first.1.count >= 0.0;
    let edges = RateEdges {
        first: (first.0, if clamp_at_zero { first.1.count / change.count } else { 0.0 }),
        last: (last.0, 0.0),
        count: hists.len(),
        change: 1.0,
        start,
        end,
        first_start: if started_inside { first_start } else { 0 },
    };
    let Some(factor) = extrapolate(&edges, clamp_at_zero || started_inside, is_rate) else {
        return Step::None;
    };
    let mut result = scale(&change, factor);
    result.counter_reset_hint = CounterResetHint::Gauge;
    Step::Histogram(Arc::new(result))
}

/// The window's change, as Prometheus' `histogramRate` works it out: for a counter whose
/// second sample follows a reset, the first sample counts as empty (its layout, which may
/// not match the rest, is not looked at); all samples must be of one kind of buckets
/// (exponential or custom); the result is in the coarsest schema the window holds.
fn change(
    hists: &[(i64, Arc<FloatHistogram>)],
    resets: &[bool],
    counter: bool,
) -> Result<FloatHistogram, ArithError> {
    let last = &hists[hists.len() - 1].1;
    let first_is_empty = counter && resets.get(1) == Some(&true);
    let considered = if first_is_empty { &hists[1..] } else { hists };
    let kinds_differ = |h: &FloatHistogram| h.uses_custom_buckets() != considered[0].1.uses_custom_buckets();
    if kinds_differ(last) || (counter && considered.iter().any(|(_, h)| kinds_differ(h))) {
        return Err(ArithError::MixedSchemas);
    }
    let mut total = if first_is_empty { (**last).clone() } else { add(last, &scale(&hists[0].1, -1.0))? };
    let coarsest = considered.iter().map(|(_, h)| h.schema).min().unwrap_or(total.schema);
    if !total.uses_custom_buckets() && coarsest < total.schema {
        let empty = FloatHistogram { schema: coarsest, ..Default::default() };
        total = add(&total, &empty)?;
    }
    if counter {
        // A reset between i − 1 and i adds the histogram before it (resets[0] is the
        // window's first sample, whose predecessor is outside; an empty first adds nothing).
        for i in (1..hists.len()).filter(|&i| resets[i] && !(first_is_empty && i == 1)) {
            total = add(&total, &hists[i - 1].1)?;
        }
    }
    Ok(total)
}

fn instant_step(hists: &[(i64, Arc<FloatHistogram>)], resets: &[bool], is_rate: bool) -> Step {
    if hists.len() < 2 {
        return Step::None;
    }
    let ((pt, prev), (lt, last)) = (&hists[hists.len() - 2], &hists[hists.len() - 1]);
    let delta = if is_rate && resets[resets.len() - 1] {
        (**last).clone()
    } else {
        match add(last, &scale(prev, -1.0)) {
            Ok(d) => d,
            Err(e) => return Step::Incompatible(e),
        }
    };
    let mut result = if is_rate {
        let seconds = (lt - pt) as f64 / 1000.0;
        if seconds == 0.0 {
            return Step::None;
        }
        scale(&delta, 1.0 / seconds)
    } else {
        delta
    };
    result.counter_reset_hint = CounterResetHint::Gauge;
    Step::Histogram(Arc::new(result))
}

/// Whether `curr` follows a counter reset after `prev`, as Prometheus decides: the hint
/// says so, or the count, the zero bucket or any bucket went down (compared in `curr`'s
/// schema), or the schema got finer, or the zero bucket narrower.
pub(crate) fn detect_reset(curr: &FloatHistogram, prev: &FloatHistogram) -> bool {
    match curr.counter_reset_hint {
        CounterResetHint::CounterReset => return true,
        CounterResetHint::NotCounterReset => return false,
        _ => {}
    }
    if curr.count < prev.count {
        return true;
    }
    let custom = (curr.schema == CUSTOM_BUCKETS_SCHEMA, prev.schema == CUSTOM_BUCKETS_SCHEMA);
    if custom.0 != custom.1 {
        return true;
    }
    if custom.0 && curr.custom_values != prev.custom_values {
        // Different bounds are compared in the bounds both have (the buckets reconciled).
        let (curr, prev) = in_common_bounds(curr, prev);
        return detect_reset(&curr, &prev);
    }
    if curr.schema > prev.schema || curr.zero_threshold < prev.zero_threshold {
        return true;
    }
    if crate::native_histogram::arith::same_layout(curr, prev) {
        let fell = |now: &[f64], before: &[f64]| now.iter().zip(before).any(|(n, b)| n < b);
        return curr.zero_count < prev.zero_count
            || fell(&curr.positive_buckets, &prev.positive_buckets)
            || fell(&curr.negative_buckets, &prev.negative_buckets);
    }
    // The previous histogram in the current one's layout: adding an empty histogram of the
    // current schema and threshold merges its buckets and widens its zero bucket.
    let empty = FloatHistogram {
        schema: curr.schema,
        zero_threshold: curr.zero_threshold,
        custom_values: curr.custom_values.clone(),
        ..Default::default()
    };
    let Ok(prev) = add(prev, &empty) else { return true };
    if prev.zero_threshold != curr.zero_threshold || curr.zero_count < prev.zero_count {
        return true;
    }
    let fell = |prev_spans, prev_counts: &[f64], curr_spans, curr_counts: &[f64]| {
        let now = side_map(curr_spans, curr_counts);
        side_map(prev_spans, prev_counts).into_iter().any(|(i, c)| c > now.get(&i).copied().unwrap_or(0.0))
    };
    fell(&prev.positive_spans, &prev.positive_buckets, &curr.positive_spans, &curr.positive_buckets)
        || fell(&prev.negative_spans, &prev.negative_buckets, &curr.negative_spans, &curr.negative_buckets)
}
