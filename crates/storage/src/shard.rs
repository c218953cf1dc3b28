//! Time shards: the block engine's data owned by aligned time window (ARCHITECTURE.md,
//! decision 8; docs/architecture.md says why it is laid out so).
//!
//! A shard is the window `[k·D, (k+1)·D)` of the shard duration D (default 1 day, aligned to
//! the Unix epoch, so a 1d shard is a UTC day) and the blocks that start in it. The head is
//! the one live part: it holds the newest samples of whatever windows they fall in, and a
//! cut writes each block range into the window it belongs to. So memory does not grow with
//! the number of shards — a shard is a set of immutable blocks, nothing more.
//!
//! The invariants, each kept by one rule:
//! - **A block never spans two windows.** Blocks are cut on block-range boundaries and the
//!   block range divides D ([`ShardLayout::new`] refuses other pairs); compaction merges
//!   only within a window, on levels that divide D ([`ShardLayout::compaction_ranges`]).
//!   A block written before shards existed (or by Prometheus) that does span windows
//!   belongs to the window it starts in and is never merged with another window's blocks.
//! - **A shard is dropped whole or not at all**: retention removes every block of a window
//!   together (module `block_engine::retention`).

use crate::StorageError;

/// How time is cut into shards; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardLayout {
    duration: i64,
}

/// One shard's window, `[start, end)` in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShardWindow {
    /// First millisecond of the window.
    pub start: i64,
    /// First millisecond after it.
    pub end: i64,
}

/// The default shard duration: one day.
pub const DEFAULT_SHARD_DURATION_MS: i64 = 24 * 3_600_000;

impl Default for ShardLayout {
    fn default() -> Self {
        ShardLayout { duration: DEFAULT_SHARD_DURATION_MS }
    }
}

impl ShardLayout {
    /// Shards of `duration` ms, holding blocks of `block_range` ms: the block range must
    /// divide the duration, or a block would straddle two windows.
    pub fn new(duration: i64, block_range: i64) -> Result<ShardLayout, StorageError> {
        if duration <= 0 || block_range <= 0 {
            return Err(StorageError::Invalid(format!(
                "shard duration {duration} ms and block range {block_range} ms must be positive"
            )));
        }
        if duration % block_range != 0 {
            return Err(StorageError::Invalid(format!(
                "the block range ({block_range} ms) must divide the shard duration ({duration} ms), \
                 or blocks would straddle shards"
            )));
        }
        Ok(ShardLayout { duration })
    }

    /// The shard duration, ms.
    pub fn duration(&self) -> i64 {
        self.duration
    }

    /// The window holding `t`.
    pub fn window_of(&self, t: i64) -> ShardWindow {
        let start = t.div_euclid(self.duration).saturating_mul(self.duration);
        ShardWindow { start, end: start.saturating_add(self.duration) }
    }

    /// Compaction levels that keep merges inside one window: `block_range · 3ⁱ` up to
    /// `max_range` (Prometheus' levels), keeping those that divide the shard duration, then
    /// the shard duration itself when `max_range` allows — so a closed day ends as one block.
    pub(crate) fn compaction_ranges(&self, block_range: i64, max_range: i64) -> Vec<i64> {
        let limit = max_range.min(self.duration);
        let mut out: Vec<i64> = crate::compaction::ranges(block_range, limit)
            .into_iter()
            .filter(|r| self.duration % r == 0)
            .collect();
        if limit == self.duration && out.last() != Some(&self.duration) {
            out.push(self.duration);
        }
        out
    }
}

impl ShardWindow {
    /// Its start as UTC, `2026-12-03T00:00:00Z` (milliseconds shown only when not zero).
    pub fn name(&self) -> String {
        strata_model::calendar::format_utc(self.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const H: i64 = 3_600_000;

    #[test]
    fn windows_are_aligned_to_the_epoch_and_hold_their_first_and_last_millisecond() {
        let day = ShardLayout::new(24 * H, 2 * H).unwrap();
        let w = day.window_of(1_764_720_000_000); // 2025-12-03T00:00:00Z
        assert_eq!((w.start, w.end), (1_764_720_000_000, 1_764_806_400_000));
        assert_eq!(day.window_of(w.end - 1), w, "the last millisecond is in the window");
        assert_eq!(day.window_of(w.end).start, w.end, "the next one is not");
        assert_eq!(day.window_of(-1), ShardWindow { start: -24 * H, end: 0 }, "before the epoch");
        assert_eq!(w.name(), "2025-12-03T00:00:00Z");
        assert_eq!(strata_model::calendar::format_utc(1_500), "1970-01-01T00:00:01.500Z");
        assert_eq!(strata_model::calendar::format_utc(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn the_block_range_must_divide_the_shard_duration() {
        assert!(ShardLayout::new(H, 2 * H).is_err());
        assert!(ShardLayout::new(7 * H, 2 * H).is_err());
        assert!(ShardLayout::new(0, 2 * H).is_err());
        assert!(ShardLayout::new(H, H).is_ok());
        assert!(ShardLayout::new(7 * 24 * H, 2 * H).is_ok());
    }

    #[test]
    fn compaction_levels_divide_the_window() {
        let day = ShardLayout::new(24 * H, 2 * H).unwrap();
        assert_eq!(day.compaction_ranges(2 * H, 24 * H), [2 * H, 6 * H, 24 * H], "18 h would cross days");
        assert_eq!(day.compaction_ranges(2 * H, 6 * H), [2 * H, 6 * H], "the maximum holds");
        let week = ShardLayout::new(7 * 24 * H, 2 * H).unwrap();
        assert_eq!(week.compaction_ranges(2 * H, 31 * 24 * H), [2 * H, 6 * H, 7 * 24 * H]);
        let hour = ShardLayout::new(H, H).unwrap();
        assert_eq!(hour.compaction_ranges(H, 24 * H), [H]);
    }

    proptest! {
        /// Every compaction window of every level lies inside one shard window.
        #[test]
        fn compaction_windows_never_cross_a_shard_boundary(
            blocks in 1i64..12, multiple in 1i64..40, t in -1_000_000_000_000i64..5_000_000_000_000,
        ) {
            let block_range = blocks * 600_000;
            let layout = ShardLayout::new(block_range * multiple, block_range).unwrap();
            for range in layout.compaction_ranges(block_range, i64::MAX) {
                let start = t.div_euclid(range) * range;
                prop_assert_eq!(layout.window_of(start), layout.window_of(start + range - 1));
            }
        }
    }
}
