//! `meta.json`: what a block is, as Prometheus writes it (`version` 1 is the meta format).

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::StorageError;

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
    /// Deleted intervals in the block's tombstones (left out of the file when 0, as
    /// Prometheus leaves zero counts out).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_tombstones: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `compaction` of a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaCompaction {
    /// 1 for a block cut from the head.
    pub level: u32,
    /// The level-1 blocks it holds; a level-1 block lists itself.
    pub sources: Vec<String>,
    /// The blocks it was compacted from (none for a level-1 block). A block listed here is
    /// obsolete: the engine deletes it at open if it is still there (a crash between writing
    /// a compacted block and deleting its sources), as Prometheus does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<BlockParent>,
    /// A compaction of this block failed (set as Prometheus sets it): the planner leaves
    /// it out rather than retrying it forever.
    #[serde(default, skip_serializing_if = "is_false")]
    pub failed: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A block another block was compacted from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockParent {
    /// Its id.
    pub ulid: String,
    /// Its range's start.
    pub min_time: i64,
    /// Its range's end (exclusive).
    pub max_time: i64,
}

impl BlockMeta {
    /// Replaces `dir/meta.json` with this meta: written to `meta.json.tmp`, fsynced, renamed,
    /// the directory fsynced (a crash leaves the old file or the new one).
    pub(crate) fn replace_file(&self, dir: &Path) -> Result<(), StorageError> {
        let json =
            serde_json::to_vec_pretty(self).map_err(|e| StorageError::Invalid(format!("meta.json: {e}")))?;
        let (tmp, path) = (dir.join("meta.json.tmp"), dir.join("meta.json"));
        let mut file = std::fs::File::create(&tmp).map_err(StorageError::io("creating", &tmp))?;
        file.write_all(&json).map_err(StorageError::io("writing", &tmp))?;
        file.sync_all().map_err(StorageError::io("syncing", &tmp))?;
        std::fs::rename(&tmp, &path).map_err(StorageError::io("renaming", &tmp))?;
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(StorageError::io("syncing", dir))
    }
}
