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
    let tiers = store.tiers().list().to_vec();
    for (i, tier) in tiers.iter().enumerate() {
        // What the source holds: raw samples in [oldest, settled), or the finer tier's windows.
        let (source_start, source_end) = if i == 0 {
            (tier.span_start(oldest), settled.saturating_sub(1))
        } else {
            match store.coverage().tiers.iter().find(|c| c.resolution == tiers[i - 1].resolution) {
                Some(c) => (c.from, c.to),
                None => continue,
            }
        };
        let state = store.tier_state(i);
        let mut start = match state.watermark {
            Some(w) => w.max(tier.span_start(source_start + 1)),
            None => tier.span_start(source_start + 1),
        };
        if state.from.is_none() {
            store.update_tier(i, |s| s.from = Some(start))?;
        }
        while start + tier.span <= source_end {
            if budget.is_some_and(|b| report.spans >= b) {
                return Ok(finish(report, started));
            }
            let end = start + tier.span;
            let (series, inputs) = if i == 0 {
                roll_raw(engine, tier, start, end)?
            } else {
                roll_finer(store, i, tier, start, end)?
            };
            let windows = series.iter().map(|s| s.windows.len() as u64).sum();
            let bytes = store.write_segment(i, start, &series)?;
            store.update_tier(i, |s| {
                s.watermark = Some(end);
                s.last_run = Some(wall_ms());
                if s.from.is_none_or(|f| f > start) {
                    s.from = Some(start);
                }
            })?;
            // Tiers kept for a while drop what expired as they go, so a long backfill never
            // holds more than a tier keeps.
            report.segments_expired += store.apply_retention()?;
            report.spans += 1;
            report.windows += windows;
            report.inputs += inputs;
            report.bytes += bytes;
            let remaining = (source_end.saturating_sub(end) / tier.span).max(0) as u64;
            progress(&SpanDone {
                tier: i,
                resolution: tier.resolution,
                start,
                end,
                remaining,
                series: series.len() as u64,
                windows,
                inputs,
                bytes,
            });
            start = end;
        }
    }
    report.segments_expired += store.apply_retention()?;
    Ok(finish(report, started))
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
