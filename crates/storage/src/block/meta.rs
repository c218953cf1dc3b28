//! `meta.json`: what a block is, as Prometheus writes it (`version` 1 is the meta format).

use serde::{Deserialize, Serialize};

/// The contents of a block's `meta.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockMeta {
    /// Block id, the same as its directory name.
    pub ulid: String,
    /// First timestamp covered (inclusive).
    pub min_time: i64,
    /// End of the range covered (exclusive: last sample + 1).
    pub max_time: i64,
    /// Counts.
    pub stats: MetaStats,
    /// Compaction level and sources.
    pub compaction: MetaCompaction,
    /// Meta format version, always 1.
    pub version: u32,
}

/// `stats` of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetaStats {
    /// Samples.
    pub num_samples: u64,
    /// Series.
    pub num_series: u64,
    /// Chunks.
    pub num_chunks: u64,
}

/// `compaction` of a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaCompaction {
    /// 1 for a block cut from the head.
    pub level: u32,
    /// The level-1 blocks it holds; a level-1 block lists itself.
    pub sources: Vec<String>,
}
