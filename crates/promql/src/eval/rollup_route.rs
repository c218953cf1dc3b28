//! Routing range functions to rollup tiers (`strata_rollup`).
//!
//! A range function over a matrix selector is answered, step by step, from the coarsest
//! tier that gives what the raw samples give: the function reads only what a window
//! aggregate keeps (sum, count, min, max, avg, first/last and their times, presence,
//! resets, changes, rate/increase/delta from the reset-corrected increase and the edge
//! samples, quantiles from the sketch within its 1%), the window `(t − range, t]` is a
//! whole number of the tier's windows (`range` and `t − offset` multiples of its
//! resolution), and the tier is complete over it (`from < t − range`, `t ≤ watermark`).
//! Other steps read raw samples, as without rollups; the answers join per series.
//!
//! Where a window reaches back before the oldest raw sample and a tier still holds that
//! time (raw retention is shorter than the tiers'), the tier answers even when the window
//! is not aligned — from the tier's windows ending inside it, so approximately — and the
//! result carries an info annotation saying so.
//!
//! Instant vector selectors (`cpu_usage` over a year) are routed too: at a step whose
//! reference time `t − offset` is a multiple of a tier's resolution, the newest sample at or
//! before it is the newest sample of the newest tier window ending in `(t − offset −
//! lookback, t − offset]` — its last value, unless a stale marker came after it, and only if
//! that value is newer than the lookback. That is exact; other steps read raw samples.
//!
//! Every routed segment is recorded in the query's route ([`crate::RoutedSegment`]): which
//! source answered which steps and how many points it read.

use rayon::prelude::*;
use strata_model::Labels;
use strata_promql_syntax::ast::{MatrixSelector, VectorSelector};
use strata_rollup::{
    format_duration, Coverage, Fields, RollupSource, Sketch, TierScan, WindowAggregate, WindowColumns,
};

use super::range_functions::{extrapolate, RangeFunction, RateEdges, WindowValues};
use super::selector::matcher_sets;
use super::{offset_ms, Evaluator, StepSeries, Steps, Windows};
use crate::engine::{QueryError, RoutedSegment};

/// A function a window aggregate answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rolled {
    Sum,
    Count,
    Min,
    Max,
    Avg,
    Rate,
    Increase,
    Delta,
    Last,
    First,
    TsOfLast,
    TsOfFirst,
    Present,
    Resets,
    Changes,
    Quantile,
}

impl Rolled {
    fn of(name: &str) -> Option<Rolled> {
        Some(match name {
            "sum_over_time" => Rolled::Sum,
            "count_over_time" => Rolled::Count,
            "min_over_time" => Rolled::Min,
            "max_over_time" => Rolled::Max,
            "avg_over_time" => Rolled::Avg,
            "rate" => Rolled::Rate,
            "increase" => Rolled::Increase,
            "delta" => Rolled::Delta,
            "last_over_time" => Rolled::Last,
            "first_over_time" => Rolled::First,
            "ts_of_last_over_time" => Rolled::TsOfLast,
            "ts_of_first_over_time" => Rolled::TsOfFirst,
            "present_over_time" => Rolled::Present,
            "resets" => Rolled::Resets,
            "changes" => Rolled::Changes,
            "quantile_over_time" => Rolled::Quantile,
            _ => return None,
        })
    }

    /// The fields of a window the function reads, its windows combined by
    /// [`WindowAggregate::append_parts`] (which reads first and last values at the
    /// boundaries for resets and changes).
    fn fields(self) -> Fields {
        match self {
            Rolled::Sum | Rolled::Avg => Fields::SUM,
            Rolled::Count | Rolled::Present => Fields::NONE,
            Rolled::Min => Fields::MIN,
            Rolled::Max => Fields::MAX,
            Rolled::Delta => Fields::FIRST.and(Fields::LAST),
            Rolled::Rate | Rolled::Increase | Rolled::Resets => {
                Fields::FIRST.and(Fields::LAST).and(Fields::RESETS)
            }
            Rolled::Changes => Fields::FIRST.and(Fields::LAST).and(Fields::CHANGES),
            Rolled::Last | Rolled::TsOfLast => Fields::LAST,
            Rolled::First | Rolled::TsOfFirst => Fields::FIRST,
            Rolled::Quantile => Fields::SKETCH.and(Fields::NON_FINITE),
        }
    }

    /// The function's value over window `(start, end]` from the windows' aggregate `a` and
    /// their sketch (read only by quantiles).
    fn value(self, a: &WindowAggregate, sketch: &Sketch, start: i64, end: i64, phi: f64) -> Option<f64> {
        if !a.has_values() {
            return None;
        }
        let n = a.count as f64;
        let rate = |is_counter: bool, is_rate: bool| {
            let change = if is_counter { a.increase() } else { a.last.1 - a.first.1 };
            let edges = RateEdges {
                first: a.first,
                last: a.last,
                count: a.count as usize,
                change,
                start,
                end,
                first_start: 0,
            };
            extrapolate(&edges, is_counter, is_rate)
        };
        match self {
            Rolled::Sum => Some(a.sum_value()),
            Rolled::Count => Some(n),
            Rolled::Min => Some(a.min),
            Rolled::Max => Some(a.max),
            // As PromQL's mean divides a compensated sum that did not overflow.
            Rolled::Avg => Some(a.sum / n + a.sum_c / n),
            Rolled::Rate => rate(true, true),
            Rolled::Increase => rate(true, false),
            Rolled::Delta => rate(false, false),
            Rolled::Last => Some(a.last.1),
            Rolled::First => Some(a.first.1),
            Rolled::TsOfLast => Some(a.last.0 as f64 / 1000.0),
            Rolled::TsOfFirst => Some(a.first.0 as f64 / 1000.0),
            Rolled::Present => Some(1.0),
            Rolled::Resets => Some(a.resets as f64),
            Rolled::Changes => Some(a.changes as f64),
            Rolled::Quantile => sketch.quantile(phi),
        }
    }
}

/// Records (segments) of a series a streamed tier read decodes at a time before answering
/// the steps they cover (a month of a 1h tier's one-day segments: tens of kilobytes a task).
const RECORDS_AT_A_TIME: usize = 32;

fn damaged(e: String) -> QueryError {
    QueryError::Storage(format!("rollups: a damaged sketch: {e}"))
}

/// One series' progress through a streamed tier read: windows read and not yet behind every
/// later step's window, the next step to answer, the answers so far.
#[derive(Debug, Default)]
struct StreamState {
    pending: WindowColumns,
    /// Windows of `pending` before this one are behind every later step's window.
    head: usize,
    next_step: usize,
    values: WindowValues,
}

/// The sketches a quantile step decodes into, reused across steps and series.
#[derive(Debug, Default)]
struct SketchScratch {
    joined: Sketch,
    one: Sketch,
}

/// What one thread of a streamed tier read reuses from series to series: the sketches, and
/// the columns a series' windows are decoded into (a year-long query over hundreds of
/// series otherwise takes fresh pages for each series' columns).
#[derive(Debug, Default)]
struct ThreadScratch {
    sketches: SketchScratch,
    pending: WindowColumns,
}

impl StreamState {
    /// A series' state before anything is read: `pending` (emptied; for `fields`), room for
    /// `points` answers.
    fn for_steps(points: usize, mut pending: WindowColumns, fields: Fields) -> StreamState {
        if pending.fields() == fields {
            pending.clear();
        } else {
            pending = WindowColumns::new(fields);
        }
        let mut state = StreamState { pending, ..StreamState::default() };
        state.values.points.reserve(points);
        state
    }

    /// Adds `records` of series `k` of `scan` (later than the windows read so far), after
    /// dropping the windows no step needs any more; returns how many windows it added.
    fn add_records(
        &mut self,
        scan: &TierScan,
        k: usize,
        records: std::ops::Range<usize>,
    ) -> Result<usize, strata_rollup::RollupError> {
        self.pending.drop_front(self.head);
        self.head = 0;
        let before = self.pending.len();
        scan.decode_records(k, records, &mut self.pending)?;
        Ok(self.pending.len() - before)
    }

    /// Answers the steps whose windows end at or before `covered` (every window they hold
    /// has been read), then marks the windows no later step reads; an error names a damaged
    /// sketch.
    fn answer_up_to(
        &mut self,
        covered: i64,
        steps: &[i64],
        windows: Windows,
        rolled: Rolled,
        args: &[Vec<f64>],
        scratch: &mut SketchScratch,
    ) -> Result<(), String> {
        let quantile = rolled == Rolled::Quantile;
        while let Some(&t) = steps.get(self.next_step) {
            let end = windows.end(t);
            if end > covered {
                break;
            }
            let start = end - windows.range;
            // Steps move forward: a linear walk from the last step's windows finds this
            // step's in a step or two (with `@`, every step has the same window).
            let ends = self.pending.ends();
            let after = |from: usize, t: i64| from + ends[from..].iter().take_while(|&&e| e <= t).count();
            if windows.at.is_none() {
                self.head = after(self.head, start);
            }
            let lo = after(self.head, start);
            let hi = after(lo, end);
            let phi = args.first().map_or(0.0, |a| a[self.next_step]);
            let value = if lo == hi {
                None
            } else {
                // One window (a range of one resolution) is read as it is.
                let mut acc = self.pending.window(lo);
                if quantile {
                    self.pending.sketch_into(lo, &mut scratch.joined)?;
                }
                for i in lo + 1..hi {
                    acc.append_parts(&self.pending.window(i), false);
                    if quantile {
                        self.pending.sketch_into(i, &mut scratch.one)?;
                        scratch.joined.merge(&scratch.one);
                    }
                }
                rolled.value(&acc, &scratch.joined, start, end, phi)
            };
            if let Some(v) = value {
                self.values.points.push((t, v));
            }
            self.next_step += 1;
        }
        // What the next step's window starts after is behind every later step too: with it
        // dropped, the next batch's windows usually move in instead of being copied.
        if windows.at.is_none() {
            let ends = self.pending.ends();
            self.head = match steps.get(self.next_step) {
                Some(&t) => {
                    let start = windows.end(t) - windows.range;
                    self.head + ends[self.head..].iter().take_while(|&&e| e <= start).count()
                }
                None => ends.len(),
            };
        }
        Ok(())
    }
}

/// Where a step's window is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Raw,
    /// A tier, by resolution; `exact` unless raw samples are gone and the window is not
    /// aligned to it.
    Tier {
        resolution: i64,
        exact: bool,
    },
}

/// The source of each run of steps (indices `[from, to)`), in step order.
pub(crate) fn plan(coverage: &Coverage, windows: Windows, steps: Steps) -> Vec<(usize, usize, Source)> {
    let mut runs: Vec<(usize, usize, Source)> = Vec::new();
    for (i, t) in steps.times().enumerate() {
        let source = choose(coverage, windows, t);
        match runs.last_mut() {
            Some(run) if run.2 == source => run.1 = i + 1,
            _ => runs.push((i, i + 1, source)),
        }
    }
    runs
}

fn choose(coverage: &Coverage, windows: Windows, t: i64) -> Source {
    let end = windows.end(t);
    let start = end - windows.range;
    if windows.modifier.is_some() || windows.range <= 0 {
        return Source::Raw;
    }
    let exact = coverage.tiers.iter().rev().find(|c| {
        windows.range % c.resolution == 0
            && end.rem_euclid(c.resolution) == 0
            && start >= c.from
            && end <= c.to
    });
    if let Some(c) = exact {
        return Source::Tier { resolution: c.resolution, exact: true };
    }
    let Some(raw_from) = coverage.raw_expired_before else { return Source::Raw };
    if start >= raw_from - 1 {
        return Source::Raw;
    }
    // Raw samples are gone from part of the window: a tier that still holds that time.
    coverage
        .tiers
        .iter()
        .find(|c| c.from < raw_from && end > c.from && start < c.to)
        .map_or(Source::Raw, |c| Source::Tier { resolution: c.resolution, exact: false })
}

/// A series and its values at steps.
type SeriesPoints = (Labels, Vec<(i64, f64)>);

/// Where an instant selector's step is read from: the coarsest tier whose resolution divides
/// the reference time and that is complete over the lookback window.
fn choose_instant(coverage: &Coverage, reference: i64, lookback: i64) -> Source {
    coverage
        .tiers
        .iter()
        .rev()
        .find(|c| {
            reference.rem_euclid(c.resolution) == 0 && reference - lookback >= c.from && reference <= c.to
        })
        .map_or(Source::Raw, |c| Source::Tier { resolution: c.resolution, exact: true })
}

/// The newest sample at or before the end of windows `range` of `ws` (all ending inside the
/// lookback window), as an instant selector picks it: `None` when it is a stale marker or
/// older than `reference − lookback`.
fn newest_sample(
    ws: &WindowColumns,
    range: std::ops::Range<usize>,
    reference: i64,
    lookback: i64,
) -> Option<(i64, f64)> {
    let i = range.rev().find(|&i| ws.count(i) > 0 || ws.stale_after(i).is_some())?;
    if ws.stale_after(i).is_some() || ws.count(i) == 0 {
        return None;
    }
    let last = ws.last(i);
    (last.0 > reference - lookback).then_some(last)
}

impl Evaluator<'_> {
    /// An instant selector with the steps the tiers answer read from them, or `None` when
    /// none is.
    pub(crate) fn routed_vector_selector(
        &self,
        vs: &VectorSelector,
        timestamps: bool,
    ) -> Result<Option<Vec<StepSeries>>, QueryError> {
        let Some(source) = self.store.rollups() else { return Ok(None) };
        if vs.modifier.is_some() {
            return Ok(None);
        }
        let (offset, at) = (offset_ms(&vs.offset), self.at_time(&vs.at));
        let lookback = self.ctx.options().lookback_delta_ms;
        let coverage = source.coverage();
        let mut runs: Vec<(usize, usize, Source)> = Vec::new();
        for (i, t) in self.steps().times().enumerate() {
            let src = choose_instant(&coverage, at.unwrap_or(t) - offset, lookback);
            match runs.last_mut() {
                Some(run) if run.2 == src => run.1 = i + 1,
                _ => runs.push((i, i + 1, src)),
            }
        }
        if runs.iter().all(|r| r.2 == Source::Raw) {
            return Ok(None);
        }
        let mut joined: std::collections::BTreeMap<Labels, Vec<(i64, f64)>> = Default::default();
        for (from, to, src) in runs {
            let first = self.start + from as i64 * self.step;
            let last = self.start + (to - 1) as i64 * self.step;
            let sub = self.with_steps(first, last, self.step);
            let loaded_before = self.ctx.samples_loaded();
            let part = match src {
                Source::Raw => sub
                    .raw_vector_selector(vs, timestamps)?
                    .into_iter()
                    .map(|s| (s.labels, s.points))
                    .collect(),
                Source::Tier { resolution, .. } => {
                    sub.tier_instant_values(source, resolution, vs, offset, at, lookback, timestamps)?
                }
            };
            self.ctx.route(RoutedSegment {
                function: "(instant selector)".into(),
                resolution: match src {
                    Source::Raw => None,
                    Source::Tier { resolution, .. } => Some(resolution),
                },
                exact: true,
                start: first,
                end: last,
                steps: to - from,
                points: self.ctx.samples_loaded() - loaded_before,
            });
            for (labels, points) in part {
                joined.entry(labels).or_default().extend(points);
            }
        }
        Ok(Some(
            joined
                .into_iter()
                .filter(|(_, p)| !p.is_empty())
                .map(|(labels, points)| StepSeries {
                    labels,
                    points,
                    drop_name: false,
                    histograms: Vec::new(),
                })
                .collect(),
        ))
    }

    /// Each series' instant-selector value at this evaluator's steps, from one tier.
    #[allow(clippy::too_many_arguments)]
    fn tier_instant_values(
        &self,
        source: &dyn RollupSource,
        resolution: i64,
        vs: &VectorSelector,
        offset: i64,
        at: Option<i64>,
        lookback: i64,
        timestamps: bool,
    ) -> Result<Vec<SeriesPoints>, QueryError> {
        let steps = self.steps();
        let reference = |t: i64| at.unwrap_or(t) - offset;
        let (lo, hi) =
            (reference(self.start).min(reference(self.end)), reference(self.start).max(reference(self.end)));
        let mut series: std::collections::BTreeMap<Labels, WindowColumns> = Default::default();
        for matchers in matcher_sets(vs)? {
            let read = source
                .read(resolution, &matchers, lo - lookback, hi, Fields::LAST.and(Fields::STALE))
                .map_err(|e| QueryError::Storage(format!("rollups: {e}")))?;
            for s in read {
                series.entry(s.labels).or_insert(s.windows);
            }
        }
        self.ctx.limits().load_samples(series.values().map(WindowColumns::len).sum())?;
        let mut out = Vec::with_capacity(series.len());
        for (labels, ws) in series {
            self.ctx.check("rollup evaluation")?;
            let mut points = Vec::new();
            let (mut lo, mut hi) = (0, 0);
            for t in steps.times() {
                let r = reference(t);
                if at.is_some() {
                    (lo, hi) = (0, 0);
                }
                let ends = ws.ends();
                while hi < ends.len() && ends[hi] <= r {
                    hi += 1;
                }
                while lo < hi && ends[lo] <= r - lookback {
                    lo += 1;
                }
                if let Some((st, v)) = newest_sample(&ws, lo..hi, r, lookback) {
                    points.push((t, if timestamps { st as f64 / 1000.0 } else { v }));
                }
            }
            if !points.is_empty() {
                out.push((labels, points));
            }
        }
        Ok(out)
    }

    /// `func` over `ms` with the steps the tiers answer read from them, or `None` when no
    /// step is (no tiers, a function they cannot answer, unaligned windows).
    pub(crate) fn routed_window_values(
        &self,
        name: &str,
        ms: &MatrixSelector,
        func: RangeFunction,
        args: &[Vec<f64>],
    ) -> Result<Option<Vec<(Labels, WindowValues)>>, QueryError> {
        let Some(source) = self.store.rollups() else { return Ok(None) };
        let Some(rolled) = Rolled::of(name) else { return Ok(None) };
        let (windows, _, _) = self.matrix_bounds(ms);
        let coverage = source.coverage();
        let runs = plan(&coverage, windows, self.steps());
        if runs.iter().all(|r| r.2 == Source::Raw) {
            return Ok(None);
        }
        let mut joined: std::collections::BTreeMap<Labels, WindowValues> = Default::default();
        let all_steps = self.steps().count();
        for (from, to, src) in runs {
            let first = self.start + from as i64 * self.step;
            let last = self.start + (to - 1) as i64 * self.step;
            let sub = self.with_steps(first, last, self.step);
            let sub_args: Vec<Vec<f64>> = args.iter().map(|a| a[from..to].to_vec()).collect();
            let loaded_before = self.ctx.samples_loaded();
            let part = match src {
                Source::Raw => sub.raw_window_values(name, ms, func, &sub_args)?,
                // Room for the later runs' points too: the first run's points are moved into
                // the answer and the later runs' appended without moving them again.
                Source::Tier { resolution, exact } => sub.tier_window_values(
                    source,
                    resolution,
                    exact,
                    ms,
                    (windows, rolled),
                    &sub_args,
                    &coverage,
                    all_steps - from,
                )?,
            };
            self.ctx.route(RoutedSegment {
                function: name.to_string(),
                resolution: match src {
                    Source::Raw => None,
                    Source::Tier { resolution, .. } => Some(resolution),
                },
                exact: !matches!(src, Source::Tier { exact: false, .. }),
                start: first,
                end: last,
                steps: to - from,
                points: self.ctx.samples_loaded() - loaded_before,
            });
            for (labels, values) in part {
                let into = joined.entry(labels).or_default();
                // The usual single run moves its points in instead of copying them.
                if into.points.is_empty() {
                    into.points = values.points;
                } else {
                    into.points.extend(values.points);
                }
                into.start_time_overlap |= values.start_time_overlap;
            }
        }
        Ok(Some(joined.into_iter().filter(|(_, v)| !v.points.is_empty()).collect()))
    }

    /// Each series' values at this evaluator's steps from the tier of `resolution`. The
    /// tier's segments over the range are scanned once (records found, not decoded); then
    /// each series, one per task on every core, is decoded a few records at a time, in time
    /// order, and each step answered as soon as the records read cover its window: a task
    /// holds the windows a later step still needs — never a year of windows at once — and
    /// the cores meet once per query, not once per batch (on a busy two-core machine every
    /// meeting waits for the slower thread).
    #[allow(clippy::too_many_arguments)]
    fn tier_window_values(
        &self,
        source: &dyn RollupSource,
        resolution: i64,
        exact: bool,
        ms: &MatrixSelector,
        (windows, rolled): (Windows, Rolled),
        args: &[Vec<f64>],
        coverage: &Coverage,
        points_room: usize,
    ) -> Result<Vec<(Labels, WindowValues)>, QueryError> {
        let steps: Vec<i64> = self.steps().times().collect();
        let (Some(&first), Some(&last)) = (steps.first(), steps.last()) else { return Ok(Vec::new()) };
        let mint = windows.end(first).min(windows.end(last)) - windows.range;
        let maxt = windows.end(first).max(windows.end(last));
        let quantile = rolled == Rolled::Quantile;
        let storage = |e: strata_rollup::RollupError| QueryError::Storage(format!("rollups: {e}"));
        let scans: Vec<TierScan> = matcher_sets(&ms.selector)?
            .iter()
            .map(|matchers| source.scan(resolution, matchers, mint, maxt, rolled.fields()).map_err(storage))
            .collect::<Result<_, _>>()?;
        // Each series once, in label order: a series matched by two `or` alternatives is
        // read from the first.
        let mut by_labels: std::collections::BTreeMap<&Labels, (usize, usize)> = Default::default();
        for (i, scan) in scans.iter().enumerate() {
            for k in 0..scan.len() {
                by_labels.entry(scan.labels(k)).or_insert((i, k));
            }
        }
        let work: Vec<(&Labels, usize, usize)> = by_labels.into_iter().map(|(l, (i, k))| (l, i, k)).collect();
        let limits = self.ctx.limits();
        // A series per task on every core, each streamed through its records.
        let answered: Vec<(WindowValues, bool)> = work
            .par_iter()
            .map_init(ThreadScratch::default, |thread, &(_, i, k)| {
                let scan = &scans[i];
                let pending = std::mem::take(&mut thread.pending);
                let mut state = StreamState::for_steps(points_room, pending, scan.fields());
                let scratch = &mut thread.sketches;
                let mut non_finite = false;
                let records = scan.records(k);
                let mut from = 0;
                while from < records {
                    let to = (from + RECORDS_AT_A_TIME).min(records);
                    let added = state.add_records(scan, k, from..to).map_err(storage)?;
                    limits.load_samples(added)?;
                    limits.check("rollup evaluation")?;
                    non_finite |= quantile && state.pending.any_non_finite();
                    let covered = scan.record_span_end(k, to - 1);
                    state.answer_up_to(covered, &steps, windows, rolled, args, scratch).map_err(damaged)?;
                    from = to;
                }
                // The steps after the series' last window.
                state.answer_up_to(i64::MAX, &steps, windows, rolled, args, scratch).map_err(damaged)?;
                thread.pending = state.pending;
                Ok((state.values, non_finite))
            })
            .collect::<Result<_, QueryError>>()?;
        let non_finite = answered.iter().any(|a| a.1);
        self.note_tier_answer(resolution, exact, coverage, windows, non_finite);
        let out: Vec<(Labels, WindowValues)> = work
            .into_iter()
            .zip(answered)
            .filter(|(_, (values, _))| !values.points.is_empty())
            .map(|((labels, _, _), (values, _))| (labels.clone(), values))
            .collect();
        if matches!(rolled, Rolled::Rate | Rolled::Increase) {
            self.note_non_counter(out.iter().map(|(labels, _)| labels));
        }
        Ok(out)
    }

    /// The info annotations a tier's answer carries: answered where raw samples are gone,
    /// approximate, quantiles without the NaN/±Inf values the sketch cannot hold.
    fn note_tier_answer(
        &self,
        resolution: i64,
        exact: bool,
        coverage: &Coverage,
        windows: Windows,
        non_finite: bool,
    ) {
        let tier = format_duration(resolution);
        let first_start = windows.end(self.start).min(windows.end(self.end)) - windows.range;
        if let Some(raw_from) = coverage.raw_expired_before.filter(|&f| first_start < f - 1) {
            let exactness = if exact {
                String::new()
            } else {
                format!(
                    ", approximately: the {} windows are not aligned to {tier}",
                    format_duration(windows.range)
                )
            };
            self.ctx.info(format!(
                "PromQL info: answered from the {tier} rollup tier where raw samples are past retention (before {}){exactness}",
                strata_model::calendar::format_utc(raw_from)
            ));
        }
        if non_finite {
            self.ctx.info(format!(
                "PromQL info: quantile_over_time from the {tier} rollup tier leaves out NaN and ±Inf values, which its sketch does not hold"
            ));
        }
    }
}
