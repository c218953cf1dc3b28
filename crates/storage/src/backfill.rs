//! Backfill: history another replica holds, copied into an engine that is taking writes (the
//! cluster's re-replication and rebalancing, `strata_cluster::repair`).
//!
//! A write is judged against its series' newest sample (out of order is refused); a
//! backfill is not: its samples may be of any age, and a timestamp the engine holds already
//! is skipped, whatever its value (replicas' values are merged at query time, the larger
//! winning, so either copy gives the same answer). Each engine decides where old samples
//! go: the block engine writes what lies before its head's start as blocks
//! (`block_engine::backfill`), the TSM engine takes any timestamp as a write does.

use strata_model::{Labels, Matcher};

use crate::engine::Engine;
use crate::StorageError;

/// One series' history to take.
#[derive(Debug, Clone, PartialEq)]
pub struct BackfillSeries {
    /// The series (as the engine stores it: a tenant's label included).
    pub labels: Labels,
    /// `(timestamp ms, value)`, sorted by time, one per timestamp.
    pub samples: Vec<(i64, f64)>,
}

/// What a backfill did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillReport {
    /// Samples stored (durably: logged, or in a block written and synced).
    pub written: u64,
    /// Samples at timestamps the engine held already: skipped.
    pub held: u64,
    /// Blocks written for samples older than the head.
    pub blocks: u64,
    /// Samples refused, with the first reasons (a series over a limit, a histogram series).
    pub refused: u64,
    /// Up to [`REASONS_KEPT`] reasons for the refusals.
    pub reasons: Vec<String>,
}

/// Refusal reasons a report keeps.
pub const REASONS_KEPT: usize = 5;

impl BackfillReport {
    /// Counts one refusal.
    pub(crate) fn refuse(&mut self, reason: String) {
        self.refused += 1;
        if self.reasons.len() < REASONS_KEPT && !self.reasons.contains(&reason) {
            self.reasons.push(reason);
        }
    }

    /// Adds another report's figures.
    pub fn add(&mut self, other: BackfillReport) {
        self.written += other.written;
        self.held += other.held;
        self.blocks += other.blocks;
        self.refused += other.refused;
        for reason in other.reasons {
            if self.reasons.len() < REASONS_KEPT && !self.reasons.contains(&reason) {
                self.reasons.push(reason);
            }
        }
    }
}

/// Checks that every series' samples are sorted by time with one per timestamp (what a
/// remote read answers and what blocks need).
pub(crate) fn check_sorted(series: &[BackfillSeries]) -> Result<(), StorageError> {
    for s in series {
        if let Some(pair) = s.samples.windows(2).find(|p| p[0].0 >= p[1].0) {
            return Err(StorageError::Invalid(format!(
                "backfill of {}: timestamps must increase, but {} is followed by {}",
                s.labels, pair[0].0, pair[1].0
            )));
        }
    }
    Ok(())
}

/// Matchers that select exactly `labels` (and series with more labels, which the caller
/// filters out).
pub(crate) fn matchers_of(labels: &Labels) -> Vec<Matcher> {
    labels.iter().map(|l| Matcher::equal(l.name.clone(), l.value.clone())).collect()
}

/// The samples `engine` holds for exactly the series `labels` in `[lo, hi]`, sorted by
/// time (none when it holds no such series): what a replica sends of a series' history.
pub fn series_samples(
    engine: &dyn Engine,
    labels: &Labels,
    lo: i64,
    hi: i64,
) -> Result<Vec<(i64, f64)>, StorageError> {
    match engine.select(&matchers_of(labels), lo, hi)?.into_iter().find(|s| s.labels() == labels) {
        Some(series) => series.collect_samples(),
        None => Ok(Vec::new()),
    }
}

/// The timestamps `engine` holds for `labels` in `[lo, hi]`, sorted.
pub(crate) fn held_timestamps(
    engine: &dyn Engine,
    labels: &Labels,
    lo: i64,
    hi: i64,
) -> Result<Vec<i64>, StorageError> {
    Ok(series_samples(engine, labels, lo, hi)?.into_iter().map(|(t, _)| t).collect())
}

/// The samples of `series` at timestamps `engine` does not hold, and how many it does.
pub(crate) fn not_held(
    engine: &dyn Engine,
    series: &BackfillSeries,
) -> Result<(Vec<(i64, f64)>, u64), StorageError> {
    let (Some(first), Some(last)) = (series.samples.first(), series.samples.last()) else {
        return Ok((Vec::new(), 0));
    };
    let held = held_timestamps(engine, &series.labels, first.0, last.0)?;
    let new: Vec<(i64, f64)> =
        series.samples.iter().copied().filter(|(t, _)| held.binary_search(t).is_err()).collect();
    let skipped = (series.samples.len() - new.len()) as u64;
    Ok((new, skipped))
}

/// A backfill for an engine whose appends take samples of any age (the TSM engine, as
/// InfluxDB): held timestamps are left out, the rest appended.
pub fn backfill_by_append(
    engine: &dyn Engine,
    series: &[BackfillSeries],
) -> Result<BackfillReport, StorageError> {
    check_sorted(series)?;
    let mut report = BackfillReport::default();
    let mut batch = Vec::new();
    for s in series {
        let (new, held) = not_held(engine, s)?;
        report.held += held;
        batch.extend(new.into_iter().map(|(t, v)| (s.labels.clone(), t, v)));
    }
    if batch.is_empty() {
        return Ok(report);
    }
    let result = engine.append(&batch)?;
    report.written = result.accepted as u64;
    for r in result.rejected {
        report.refuse(r.reason);
    }
    Ok(report)
}
