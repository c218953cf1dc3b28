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

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use strata_storage::Engine;

use crate::aggregate::WindowAggregate;
use crate::segment::RolledSeries;
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
    let (series, inputs) =
        if i == 0 { roll_raw(engine, tier, start, end)? } else { roll_finer(store, i, tier, start, end)? };
    let windows = series.iter().map(|s| s.windows.len() as u64).sum();
    let bytes = store.write_segment(i, start, &series)?;
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
        series: series.len() as u64,
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

/// The finest tier's windows over `(start, end]`, from raw samples.
fn roll_raw(
    engine: &dyn Engine,
    tier: &Tier,
    start: i64,
    end: i64,
) -> Result<(Vec<RolledSeries>, u64), RollupError> {
    let selected = engine.select(&[], start + 1, end)?;
    let mut out = Vec::with_capacity(selected.len());
    let mut samples = Vec::new();
    let mut inputs = 0;
    for series in selected {
        samples.clear();
        series.collect_samples_into(&mut samples)?;
        inputs += samples.len() as u64;
        let windows = windows_of_samples(tier, &samples);
        if !windows.is_empty() {
            out.push(RolledSeries { labels: series.into_labels(), windows });
        }
    }
    Ok((out, inputs))
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

/// Tier `i`'s windows over `(start, end]`, merged from tier `i − 1`'s.
fn roll_finer(
    store: &RollupStore,
    i: usize,
    tier: &Tier,
    start: i64,
    end: i64,
) -> Result<(Vec<RolledSeries>, u64), RollupError> {
    let finer = store.read(i - 1, &[], start, end, true)?;
    let mut inputs = 0;
    let out = finer
        .into_iter()
        .map(|s| {
            inputs += s.windows.len() as u64;
            RolledSeries { windows: coarsen(tier, &s.windows), labels: s.labels }
        })
        .collect();
    Ok((out, inputs))
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
