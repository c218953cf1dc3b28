//! Which blocks to compact next: Prometheus' leveled planner, restated.
//!
//! 1. **Overlap first** (vertical compaction): the first run of blocks whose time ranges
//!    overlap (out-of-order data, a flush followed by a cut, backfill) is merged into one.
//! 2. **Levels**: ranges grow by 3 from the block range (2 h, 6 h, 18 h, 54 h …) up to the
//!    maximum. The newest block is left out (its range may still be filling). For each
//!    range above the first, blocks are grouped by the aligned window of that size they fit
//!    in; the first group of two or more that fills its window, or ends before the newest
//!    remaining block starts (no block can join it any more), is merged.
//! 3. **Tombstones**: otherwise a block of at least the middle range whose tombstones exceed
//!    5% of its series is rewritten alone, without them.

use crate::block::BlockMeta;

/// Block ranges for compaction levels: `block_range · 3ⁱ`, up to `max_range`.
pub(crate) fn ranges(block_range: i64, max_range: i64) -> Vec<i64> {
    let mut out = vec![block_range];
    while let Some(next) = out.last().and_then(|r| r.checked_mul(3)).filter(|r| *r <= max_range) {
        out.push(next);
    }
    out
}

/// A block as the planner sees it: its meta and how many tombstone intervals it has now.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Candidate<'a> {
    pub(crate) meta: &'a BlockMeta,
    pub(crate) tombstones: u64,
}

/// The ids of the blocks to compact together next (empty: nothing to do). `closed`: no
/// block can join these any more (their shard's window is behind the head), so the newest
/// is not left out and a window need not be full to be merged.
pub(crate) fn plan(blocks: &[Candidate<'_>], ranges: &[i64], closed: bool) -> Vec<String> {
    let mut sorted: Vec<Candidate<'_>> = blocks.to_vec();
    sorted.sort_by_key(|b| (b.meta.min_time, b.meta.max_time));
    let ids = |group: &[Candidate<'_>]| group.iter().map(|b| b.meta.ulid.clone()).collect::<Vec<_>>();
    let overlapping = first_overlap(&sorted);
    if overlapping.len() > 1 {
        return ids(overlapping);
    }
    // Leave the newest block out; the start of the newest of the others is the time before
    // which a window can no longer receive a block of its size.
    let (older, high_time) = if closed {
        (&sorted[..], i64::MAX)
    } else {
        let older = &sorted[..sorted.len().saturating_sub(1)];
        let Some(high_time) = older.last().map(|b| b.meta.min_time) else { return Vec::new() };
        (older, high_time)
    };
    for &range in ranges.iter().skip(1) {
        for group in split_by_range(older, range) {
            let (first, last) = (&group[0], &group[group.len() - 1]);
            let spans = last.meta.max_time - first.meta.min_time == range;
            if group.len() > 1 && (spans || last.meta.max_time <= high_time) {
                return ids(group);
            }
        }
    }
    let middle = ranges[ranges.len() / 2];
    for b in sorted.iter().rev() {
        if b.meta.max_time - b.meta.min_time < middle {
            continue;
        }
        if b.tombstones > 0 && b.tombstones as f64 / (b.meta.stats.num_series + 1) as f64 > 0.05 {
            return vec![b.meta.ulid.clone()];
        }
    }
    Vec::new()
}

/// The first run of blocks (sorted by start) whose ranges overlap one another.
fn first_overlap<'a, 'b>(sorted: &'a [Candidate<'b>]) -> &'a [Candidate<'b>] {
    let mut start = 0;
    let mut max_time = i64::MIN;
    for (i, b) in sorted.iter().enumerate() {
        if i > start && b.meta.min_time < max_time {
            max_time = max_time.max(b.meta.max_time);
            continue;
        }
        if i - start > 1 {
            return &sorted[start..i];
        }
        start = i;
        max_time = b.meta.max_time;
    }
    &sorted[start..]
}

/// Groups of consecutive blocks (sorted by start) lying wholly inside one aligned window of
/// `range`; blocks that straddle a window boundary belong to no group.
fn split_by_range<'a, 'b>(sorted: &'a [Candidate<'b>], range: i64) -> Vec<&'a [Candidate<'b>]> {
    let mut groups = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let window = sorted[i].meta.min_time.div_euclid(range) * range;
        let end = window.saturating_add(range);
        if sorted[i].meta.max_time > end {
            i += 1;
            continue;
        }
        let start = i;
        while i < sorted.len() && sorted[i].meta.min_time >= window && sorted[i].meta.max_time <= end {
            i += 1;
        }
        groups.push(&sorted[start..i]);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::meta::{MetaCompaction, MetaStats};

    const H: i64 = 3_600_000;

    fn meta(id: &str, min_time: i64, max_time: i64) -> BlockMeta {
        BlockMeta {
            ulid: id.to_string(),
            min_time,
            max_time,
            stats: MetaStats { num_samples: 1, num_series: 100, num_chunks: 1, num_tombstones: 0 },
            compaction: MetaCompaction {
                level: 1,
                sources: vec![id.to_string()],
                parents: Vec::new(),
                failed: false,
            },
            version: 1,
        }
    }

    fn planned(metas: &[BlockMeta], tombstones: &[u64]) -> Vec<String> {
        let candidates: Vec<_> = metas
            .iter()
            .enumerate()
            .map(|(i, meta)| Candidate { meta, tombstones: tombstones.get(i).copied().unwrap_or(0) })
            .collect();
        plan(&candidates, &ranges(2 * H, 24 * H), false)
    }

    #[test]
    fn a_closed_shard_merges_its_newest_block_and_a_window_it_does_not_fill() {
        // Blocks for 10:00–16:00 only: the 6 h window 12:00–18:00 is not full.
        let metas = [meta("a", 10 * H, 12 * H), meta("b", 12 * H, 14 * H), meta("c", 14 * H, 16 * H)];
        let candidates: Vec<_> = metas.iter().map(|meta| Candidate { meta, tombstones: 0 }).collect();
        let ranges = [2 * H, 6 * H, 24 * H];
        assert!(plan(&candidates, &ranges, false).is_empty(), "open: c may still be joined");
        assert_eq!(plan(&candidates, &ranges, true), ["b", "c"], "closed: nothing can join");
    }

    #[test]
    fn ranges_grow_by_three_up_to_the_maximum() {
        assert_eq!(ranges(2 * H, 24 * H), [2 * H, 6 * H, 18 * H]);
        assert_eq!(ranges(2 * H, H), [2 * H]);
    }

    #[test]
    fn three_two_hour_blocks_fill_six_hours_but_the_newest_waits() {
        let blocks = [meta("a", 0, 2 * H), meta("b", 2 * H, 4 * H), meta("c", 4 * H, 6 * H)];
        assert!(planned(&blocks, &[]).is_empty(), "c is the newest: [0, 6h) is not complete without it");
        let four = [&blocks[..], &[meta("d", 6 * H, 8 * H)]].concat();
        assert_eq!(planned(&four, &[]), ["a", "b", "c"]);
        // A window that will get no more blocks (later ones exist past it) goes as it is.
        let gap = [meta("a", 0, 2 * H), meta("b", 2 * H, 4 * H), meta("d", 8 * H, 10 * H)];
        assert!(planned(&gap, &[]).is_empty(), "d is the newest, left out: nothing after [0, 6h) yet");
        let later = [&gap[..], &[meta("e", 10 * H, 12 * H)]].concat();
        assert_eq!(planned(&later, &[]), ["a", "b"]);
    }

    #[test]
    fn overlapping_blocks_come_first() {
        let blocks =
            [meta("a", 0, 2 * H), meta("b", 2 * H, 4 * H), meta("c", 3 * H, 5 * H), meta("d", 4 * H, 6 * H)];
        assert_eq!(planned(&blocks, &[]), ["b", "c", "d"]);
    }

    #[test]
    fn a_block_heavy_with_tombstones_is_rewritten_alone() {
        let blocks = [meta("a", 0, 6 * H), meta("b", 6 * H, 8 * H)];
        assert!(planned(&blocks, &[5]).is_empty(), "5 of 100 series is not more than 5%");
        assert_eq!(planned(&blocks, &[6]), ["a"]);
        assert!(planned(&blocks, &[0, 60]).is_empty(), "b is shorter than the middle range");
    }
}
