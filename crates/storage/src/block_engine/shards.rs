//! The engine's shards as it reports them (`strata shards status`, `/admin/status`): each
//! window that holds blocks or head data, its tier, and its figures. A shard is not an
//! object the engine keeps — it is the blocks that start in one window (module `shard`) —
//! so this is worked out from the block list each time.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::BlockEngine;
use crate::block::BlockReader;
use crate::disk_usage::dir_bytes;
use crate::shard::{ShardLayout, ShardWindow};

/// Where a shard is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardTier {
    /// Still written: its window reaches past the head's start, or the head holds its data.
    Hot,
    /// Closed: only blocks, on the data dir.
    Warm,
    /// Moved to the cold dir, in the dense codec.
    Cold,
}

impl ShardTier {
    /// `HOT` or `WARM`.
    pub fn as_str(self) -> &'static str {
        match self {
            ShardTier::Hot => "HOT",
            ShardTier::Warm => "WARM",
            ShardTier::Cold => "COLD",
        }
    }
}

/// One shard's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardInfo {
    /// Its window.
    pub window: ShardWindow,
    /// Hot or warm.
    pub tier: ShardTier,
    /// Ids of its blocks, oldest first.
    pub blocks: Vec<String>,
    /// First and last millisecond of data it holds (blocks' ranges; the head's for data
    /// still there), `None` when it holds none.
    pub data_range: Option<(i64, i64)>,
    /// Series, summed over its blocks (exact once compaction has made one block of a
    /// closed shard), plus the head's when the head's newest data is in this window.
    pub series: u64,
    /// Samples in its blocks, plus the head's when the head's newest data is in it.
    pub samples: u64,
    /// Bytes of its blocks on disk.
    pub bytes: u64,
}

impl ShardInfo {
    /// Bytes a sample on disk (0 without samples).
    pub fn bytes_per_sample(&self) -> f64 {
        if self.samples == 0 {
            0.0
        } else {
            self.bytes as f64 / self.samples as f64
        }
    }
}

impl BlockEngine {
    /// How time is cut into shards.
    pub fn shard_layout(&self) -> ShardLayout {
        self.shards
    }

    /// `blocks` grouped by the window each starts in, windows in time order.
    pub(super) fn by_shard<'a>(
        &self,
        blocks: &'a [Arc<BlockReader>],
    ) -> Vec<(ShardWindow, Vec<&'a Arc<BlockReader>>)> {
        let mut groups: BTreeMap<ShardWindow, Vec<&'a Arc<BlockReader>>> = BTreeMap::new();
        for b in blocks {
            groups.entry(self.shards.window_of(b.meta().min_time)).or_default().push(b);
        }
        groups.into_iter().collect()
    }

    /// Every shard's window and tier, oldest first — without sizes or counts, so cheap
    /// enough for every `/metrics` scrape.
    pub fn shard_tiers(&self) -> Vec<(ShardWindow, ShardTier)> {
        self.tiers_of(&self.blocks(), self.head.time_range())
    }

    /// The windows with blocks and those of the head's oldest and newest samples (a head
    /// holding one 2015 sample beside today's must not list the years between), each with
    /// its tier: HOT while the head holds its data or may still cut into it, COLD when all
    /// its blocks are cold, else WARM.
    fn tiers_of(
        &self,
        blocks: &[Arc<BlockReader>],
        head: Option<(i64, i64)>,
    ) -> Vec<(ShardWindow, ShardTier)> {
        let mut all_cold: BTreeMap<ShardWindow, bool> = BTreeMap::new();
        for (window, in_shard) in self.by_shard(blocks) {
            all_cold.insert(window, in_shard.iter().all(|b| b.is_dense()));
        }
        if let Some((lo, hi)) = head {
            for t in [lo, hi] {
                all_cold.entry(self.shards.window_of(t)).or_insert(false);
            }
        }
        let head_start = self.head.min_valid_time();
        all_cold
            .into_iter()
            .map(|(window, cold)| {
                let in_head = head.is_some_and(|(lo, hi)| lo < window.end && hi >= window.start);
                let tier = if in_head || window.end > head_start {
                    ShardTier::Hot
                } else if cold {
                    ShardTier::Cold
                } else {
                    ShardTier::Warm
                };
                (window, tier)
            })
            .collect()
    }

    /// Every shard, oldest first (the windows of [`BlockEngine::shard_tiers`]), with its
    /// blocks, data range and figures.
    pub fn shards(&self) -> Vec<ShardInfo> {
        let blocks = self.blocks();
        let head = self.head.stats();
        let mut out: BTreeMap<ShardWindow, ShardInfo> = self
            .tiers_of(&blocks, head.time_range)
            .into_iter()
            .map(|(window, tier)| {
                let info = ShardInfo {
                    window,
                    tier,
                    blocks: Vec::new(),
                    data_range: None,
                    series: 0,
                    samples: 0,
                    bytes: 0,
                };
                (window, info)
            })
            .collect();
        for (window, in_shard) in self.by_shard(&blocks) {
            let Some(shard) = out.get_mut(&window) else { continue };
            for b in in_shard {
                let meta = b.meta();
                shard.blocks.push(meta.ulid.clone());
                shard.series += meta.stats.num_series;
                shard.samples += meta.stats.num_samples;
                shard.bytes += dir_bytes(b.dir());
                widen(&mut shard.data_range, meta.min_time, meta.max_time - 1);
            }
        }
        if let Some((lo, hi)) = head.time_range {
            let (first, last) = (self.shards.window_of(lo), self.shards.window_of(hi));
            for (window, from, to) in [(first, lo, hi.min(first.end - 1)), (last, lo.max(last.start), hi)] {
                if let Some(shard) = out.get_mut(&window) {
                    widen(&mut shard.data_range, from, to);
                }
            }
            if let Some(newest) = out.get_mut(&last) {
                newest.series += head.series;
                newest.samples += head.samples;
            }
        }
        out.into_values().collect()
    }
}

fn widen(range: &mut Option<(i64, i64)>, lo: i64, hi: i64) {
    *range = Some(match *range {
        Some((a, b)) => (a.min(lo), b.max(hi)),
        None => (lo, hi),
    });
}
