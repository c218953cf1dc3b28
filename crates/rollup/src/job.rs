//! The rollup job: brings every tier up to date, one span at a time.
//!
//! The finest tier reads raw samples through the `Engine` trait; each coarser tier reads
//! the tier below it and merges its windows (sketches merge exactly), never raw data. A
//! span is rolled up only once all of it is settled: for the finest tier, once the storage
//! engine refuses samples stamped in it ([`Engine::settled_range`]) — so a late sample,
//! out-of-order ones included, always lands before its window is rolled, and nothing needs
//! rolling again; for a coarser tier, once the finer tier's watermark has passed it.
//!
//! Per span: the segment is written (temporary file, sync, rename), then the watermark moves
//! past it. A crash in between makes the next run write the same segment again: no window
//! is lost or counted twice (`tests/crash.rs` kills a job mid-way).
//!
//! Memory: a span is rolled series by series into a [`SegmentWriter`], which streams it to
//! disk — the finest tier decodes one series' samples at a time, a coarser tier merges the
//! finer segments of its span by labels (each is sorted) — so a run holds one series'
//! windows, not the span's (`tests/job.rs` bounds the allocation).

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use strata_storage::Engine;

use crate::aggregate::WindowAggregate;
use crate::segment::Segment;
use crate::segment_writer::SegmentWriter;
use crate::store::RollupStore;
use crate::tier::Tier;
use crate::RollupError;

/// What one span's roll-up did, for progress reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanDone {
    /// Tier index and resolution.
    pub tier: usize,
    pub resolution: i64,
    /// The span `(start, end]`.
    pub start: i64,
    pub end: i64,
    /// Spans of this tier still due after this one.
    pub remaining: u64,
    pub series: u64,
    pub windows: u64,
    /// Samples (finest tier) or windows (coarser) read.
    pub inputs: u64,
    pub bytes: u64,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    pub spans: u64,
    pub windows: u64,
    pub inputs: u64,
    pub bytes: u64,
    pub segments_expired: usize,
    pub micros: u64,
}

/// Runs the job until every tier is up to date (or `budget` spans are done, when given),
/// calling `progress` after each span.
pub fn run(
    engine: &dyn Engine,
    store: &RollupStore,
    budget: Option<u64>,
    progress: &mut dyn FnMut(&SpanDone),
) -> Result<RunReport, RollupError> {
    let started = Instant::now();
    let mut report = RunReport::default();
    let Some((oldest, settled)) = engine.settled_range() else {
        return Ok(report);
    };
    store.set_raw_from(Some(oldest))?;
    // Rounds of at most one span per tier, finest first: a coarser tier follows the finer
    // one as a backfill goes, so the finer one's retention can drop what both have used.
    loop {
        let mut progressed = false;
        for i in 0..store.tiers().list().len() {
            if budget.is_some_and(|b| report.spans >= b) {
                return Ok(finish(report, started));
            }
            if let Some(done) = roll_next_span(engine, store, i, oldest, settled)? {
                report.segments_expired += store.apply_retention()?;
                report.spans += 1;
                report.windows += done.windows;
                report.inputs += done.inputs;
                report.bytes += done.bytes;
                progress(&done);
                progressed = true;
            }
        }
        if !progressed {
            break;
        }
    }
    report.segments_expired += store.apply_retention()?;
    Ok(finish(report, started))
}

/// Rolls up tier `i`'s next span if it is due (its source holds all of it); `None` if not.
fn roll_next_span(
    engine: &dyn Engine,
    store: &RollupStore,
    i: usize,
    oldest: i64,
    settled: i64,
) -> Result<Option<SpanDone>, RollupError> {
    let tiers = store.tiers().list();
    let tier = &tiers[i];
    // What the source holds: raw samples in [oldest, settled), or the finer tier's windows.
    let (source_start, source_end) = if i == 0 {
        (tier.span_start(oldest), settled.saturating_sub(1))
    } else {
        match store.coverage().tiers.iter().find(|c| c.resolution == tiers[i - 1].resolution) {
            Some(c) => (c.from, c.to),
            None => return Ok(None),
        }
    };
    let state = store.tier_state(i);
    let first = tier.span_start(source_start.saturating_add(1));
    let start = state.watermark.map_or(first, |w| w.max(first));
    let end = start + tier.span;
    if end > source_end {
        return Ok(None);
    }
    let mut writer = store.segment_writer(i, start)?;
    let inputs = if i == 0 {
        roll_raw(engine, tier, start, end, &mut writer)?
    } else {
        roll_finer(store, i, tier, start, end, &mut writer)?
    };
    let (series, windows) = (writer.series(), writer.windows());
    let bytes = store.commit_segment(i, start, writer)?;
    store.update_tier(i, |s| {
        s.watermark = Some(end);
        s.last_run = Some(wall_ms());
        if s.from.is_none_or(|f| f > start) {
            s.from = Some(start);
        }
    })?;
    Ok(Some(SpanDone {
        tier: i,
        resolution: tier.resolution,
        start,
        end,
        remaining: (source_end.saturating_sub(end) / tier.span).max(0) as u64,
        series: u64::from(series),
        windows,
        inputs,
        bytes,
    }))
}

fn finish(mut report: RunReport, started: Instant) -> RunReport {
    report.micros = started.elapsed().as_micros() as u64;
    report
}

/// Milliseconds since the epoch, now.
pub fn wall_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// The finest tier's windows over `(start, end]`, from raw samples, into `out` series by
/// series; returns the samples read.
fn roll_raw(
    engine: &dyn Engine,
    tier: &Tier,
    start: i64,
    end: i64,
    out: &mut SegmentWriter,
) -> Result<u64, RollupError> {
    // Sorted by labels, as the writer wants them; chunks are decoded only below.
    let selected = engine.select(&[], start + 1, end)?;
    let mut samples = Vec::new();
    let mut inputs = 0;
    for series in selected {
        samples.clear();
        series.collect_samples_into(&mut samples)?;
        inputs += samples.len() as u64;
        out.add(series.labels(), &windows_of_samples(tier, &samples))?;
    }
    Ok(inputs)
}

/// One window per run of samples sharing a window end.
pub fn windows_of_samples(tier: &Tier, samples: &[(i64, f64)]) -> Vec<WindowAggregate> {
    let mut windows = Vec::new();
    let mut from = 0;
    while from < samples.len() {
        let end = tier.window_end(samples[from].0);
        let to = from + samples[from..].iter().take_while(|s| s.0 <= end).count();
        windows.extend(WindowAggregate::of_samples(end, &samples[from..to]));
        from = to;
    }
    windows
}

/// Tier `i`'s windows over `(start, end]`, merged from tier `i − 1`'s into `out`; returns
/// the finer windows read. The finer segments of the span are merged by labels (each is
/// sorted), so one series at a time is in memory.
fn roll_finer(
    store: &RollupStore,
    i: usize,
    tier: &Tier,
    start: i64,
    end: i64,
    out: &mut SegmentWriter,
) -> Result<u64, RollupError> {
    let mapped = store.map_segments(i - 1, start, end)?;
    let segments: Vec<Segment<'_>> =
        mapped.iter().map(|m| Segment::parse(&m.path, &m.map)).collect::<Result<_, _>>()?;
    let mut cursors = Vec::with_capacity(segments.len());
    let mut heads = Vec::with_capacity(segments.len());
    for segment in &segments {
        let mut cursor = segment.cursor(&[], start, end, true)?;
        heads.push(cursor.next_series()?);
        cursors.push(cursor);
    }
    let mut inputs = 0;
    let mut finer = Vec::new();
    while let Some(labels) = heads.iter().flatten().map(|s| &s.labels).min().cloned() {
        // Segments are in time order, so the windows gathered are too.
        finer.clear();
        for (k, head) in heads.iter_mut().enumerate() {
            if head.as_ref().is_none_or(|s| s.labels != labels) {
                continue;
            }
            if let Some(s) = head.take() {
                finer.extend(s.windows);
            }
            *head = cursors[k].next_series()?;
            if let Some(next) = head.as_ref().filter(|s| s.labels <= labels) {
                return Err(RollupError::Corrupt {
                    path: mapped[k].path.clone(),
                    offset: 0,
                    detail: format!("series {} comes after {labels}: a segment must be sorted", next.labels),
                });
            }
        }
        inputs += finer.len() as u64;
        out.add(&labels, &coarsen(tier, &finer))?;
    }
    Ok(inputs)
}

/// Finer windows (time order) merged into this tier's windows.
pub fn coarsen(tier: &Tier, finer: &[WindowAggregate]) -> Vec<WindowAggregate> {
    let mut out: Vec<WindowAggregate> = Vec::new();
    for w in finer {
        let end = tier.window_end(w.end);
        match out.last_mut() {
            Some(last) if last.end == end => {
                last.append(w);
                last.end = end;
            }
            _ => {
                let mut first = w.clone();
                first.end = end;
                out.push(first);
            }
        }
    }
    out
}
