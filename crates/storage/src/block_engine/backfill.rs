//! The block engine's backfill ([`crate::backfill`]): history another replica holds, taken
//! while the engine takes writes.
//!
//! Where a sample goes depends on the head's minimum valid time (the end of the newest cut):
//! - **at or after it, into the head** (`Head::append_backfill`): logged in the WAL like any
//!   write; samples older than their series' newest are kept apart, as out-of-order samples
//!   are, and merged into the block the head's next cut writes;
//! - **before it, into new blocks**, one per block range the samples touch, written as a
//!   cut writes one (in a `.tmp` dir, synced, renamed) and added to the block list;
//!   compaction merges each with the blocks it overlaps, as Prometheus merges overlapping
//!   blocks. Such a block ends at or before the minimum valid time and the head holds
//!   nothing before it, so WAL replay (which skips samples before the newest block's end)
//!   never skips a head sample because of it.
//!
//! First the head is cut up to where maintenance would have cut it anyway — the start of
//! the block range 1.5 ranges behind its newest sample ([`room_line`]) — so that a long
//! history never piles up in the head's memory: everything older becomes blocks. The line
//! is raised before that cut, so no write can slip a sample under it meanwhile.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::backfill::{check_sorted, not_held, BackfillReport, BackfillSeries};
use crate::block::{write_block_range, BlockReader, BlockSeries};
use crate::StorageError;

use super::BlockEngine;

/// Where the head is cut before a backfill: the start of the block range that holds the
/// instant 1.5 ranges before `newest`. Maintenance keeps the head within 1.5 ranges, so it
/// would cut everything before this line anyway.
pub(super) fn room_line(newest: i64, range: i64) -> i64 {
    newest.saturating_sub(range / 2 * 3).div_euclid(range).saturating_mul(range)
}

impl BlockEngine {
    /// Takes `series`' history (see the module docs).
    pub(super) fn backfill_series(&self, series: &[BackfillSeries]) -> Result<BackfillReport, StorageError> {
        check_sorted(series)?;
        let mut report = BackfillReport::default();
        let Some(newest) = series.iter().filter_map(|s| s.samples.last().map(|s| s.0)).max() else {
            return Ok(report);
        };
        self.make_room(newest)?;
        let older = self.backfill_head(series, &mut report)?;
        self.backfill_blocks(older, &mut report)?;
        self.cut_after_append();
        Ok(report)
    }

    /// Raises the head's start to [`room_line`] and cuts what it holds before it.
    fn make_room(&self, batch_newest: i64) -> Result<(), StorageError> {
        let newest = self.head.time_range().map_or(batch_newest, |(_, hi)| hi.max(batch_newest));
        let line = room_line(newest, self.options.block_range);
        if line > self.head.min_valid_time() {
            self.head.raise_min_valid_time(line);
            self.cut_head_before(line)?;
        }
        Ok(())
    }

    /// Appends what is at or after the head's start to the head; returns, per series, what
    /// is before it (refusals as out of bounds included: a cut may have raised the start
    /// meanwhile, and the start only rises).
    fn backfill_head(
        &self,
        series: &[BackfillSeries],
        report: &mut BackfillReport,
    ) -> Result<Vec<BackfillSeries>, StorageError> {
        let start = self.head.min_valid_time();
        let mut older: Vec<BackfillSeries> = series
            .iter()
            .map(|s| BackfillSeries {
                labels: s.labels.clone(),
                samples: s.samples.iter().copied().filter(|&(t, _)| t < start).collect(),
            })
            .collect();
        let recent: Vec<usize> = (0..series.len())
            .filter(|&i| series[i].samples.last().is_some_and(|&(t, _)| t >= start))
            .collect();
        if recent.is_empty() {
            return Ok(older);
        }
        let labels: Vec<_> = recent.iter().map(|&i| series[i].labels.clone()).collect();
        let refs = self.head.series_refs(&labels)?;
        let mut batch = Vec::new();
        let mut origin = Vec::new();
        for (&i, r) in recent.iter().zip(refs) {
            for &(t, v) in series[i].samples.iter().filter(|&&(t, _)| t >= start) {
                batch.push((r, t, v));
                origin.push(i);
            }
        }
        let result = self.head.append_backfill(&batch)?;
        report.written += result.accepted as u64;
        report.held += result.held as u64;
        for refusal in result.rejected {
            let (_, t, v) = batch[refusal.index];
            if t < self.head.min_valid_time() {
                older[origin[refusal.index]].samples.push((t, v));
            } else {
                report.refuse(refusal.reason);
            }
        }
        for s in &mut older {
            s.samples.sort_unstable_by_key(|&(t, _)| t);
        }
        Ok(older)
    }

    /// Writes `older` (all before the head's start) as blocks, one per block range, leaving
    /// out timestamps the engine holds; adds them to the block list.
    fn backfill_blocks(
        &self,
        older: Vec<BackfillSeries>,
        report: &mut BackfillReport,
    ) -> Result<(), StorageError> {
        if older.iter().all(|s| s.samples.is_empty()) {
            return Ok(());
        }
        // No cut runs meanwhile: the head's start stays where it is, and no range is half
        // way between the head and a block.
        let _one_at_a_time = self.cutting.lock().unwrap_or_else(|e| e.into_inner());
        let start = self.head.min_valid_time();
        let range = self.options.block_range;
        let mut by_range: BTreeMap<i64, Vec<BlockSeries>> = BTreeMap::new();
        for s in older {
            let (new, held) = not_held(self, &s)?;
            report.held += held;
            let mut rest = new.as_slice();
            while let Some(&(t, _)) = rest.first() {
                let from = t.div_euclid(range) * range;
                let n = rest.partition_point(|&(t, _)| t < from.saturating_add(range));
                let part = rest[..n].to_vec();
                by_range.entry(from).or_default().push(BlockSeries::floats(s.labels.clone(), part));
                rest = &rest[n..];
            }
        }
        for (from, series) in by_range {
            let samples: u64 = series.iter().map(|s| s.samples.len() as u64).sum();
            let to = from.saturating_add(range).min(start);
            let stats = write_block_range(&self.dir, series, from, to)?;
            self.add_block(Arc::new(BlockReader::open(&stats.dir)?));
            report.written += samples;
            report.blocks += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::room_line;

    #[test]
    fn the_room_line_is_the_start_of_the_range_one_and_a_half_ranges_back() {
        let h = 3_600_000;
        // Newest at 10:05 with 2 h ranges: 1.5 ranges back is 07:05, in the 06:00 range.
        assert_eq!(room_line(10 * h + 300_000, 2 * h), 6 * h);
        assert_eq!(room_line(9 * h, 2 * h), 6 * h);
        assert_eq!(room_line(0, 2 * h), -4 * h);
        assert_eq!(room_line(i64::MIN, 2 * h), i64::MIN);
    }
}
