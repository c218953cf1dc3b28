//! The cold tier: a shard whose window ended `cold_after` before the reference time moves
//! to the cold dir (another disk, typically), re-encoded with the dense codec
//! (`block::dense_file`) — about a fifth of a warm block's bytes, every bit kept. Queries
//! read it as any block; only its chunks decode differently.
//!
//! **Moving is crash-safe** as compaction is, by the same rule: the cold block is written
//! under `<cold-dir>/<ULID>.tmp`, fsynced, renamed into place, and names the warm block as its
//! parent; then it replaces the warm block in the block list, and only then is the warm
//! block deleted. A kill -9 before the rename leaves a `.tmp` directory that open removes
//! (the warm block serves); after it, open finds the cold block's parent still there and
//! deletes it (the cold block serves) — never neither, never both counted.
//!
//! A shard moves when it is one block (compaction merges a closed shard down to one first)
//! and holds no native histograms (the dense codec has no form for them; such a shard stays
//! warm, in Prometheus' format).
//! A cold dir that cannot be written (missing disk, read-only) makes the move fail with the
//! path and the reason; the shard stays warm and nothing is lost. [`BlockEngine::export_cold`]
//! turns cold shards back into Prometheus blocks, so the data never becomes Strata-only.

use std::path::Path;
use std::sync::Arc;

use super::BlockEngine;
use crate::block::{BlockFormat, BlockReader};
use crate::compaction;
use crate::engine::Persisted;
use crate::shard::ShardWindow;
use crate::StorageError;

/// A shard moved to the cold dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColdMove {
    /// Its window.
    pub window: ShardWindow,
    /// The warm block it was.
    pub from: String,
    /// The cold block it is.
    pub to: String,
    /// Bytes before and after.
    pub bytes_before: u64,
    /// Bytes of the cold block.
    pub bytes_after: u64,
}

impl BlockEngine {
    /// Moves every shard that is due to the cold dir (see the module docs); none without a
    /// cold dir or `cold_after`.
    pub fn move_cold_shards(&self) -> Result<Vec<ColdMove>, StorageError> {
        let (Some(cold), Some(after)) = (self.options.cold_dir.clone(), self.options.cold_after) else {
            return Ok(Vec::new());
        };
        let _no_compaction_meanwhile = self.compacting.lock().unwrap_or_else(|e| e.into_inner());
        let cutoff = self.retention_reference().saturating_sub(after);
        let blocks = self.blocks();
        let mut moved = Vec::new();
        for (window, in_shard) in self.by_shard(&blocks) {
            let [block] = in_shard.as_slice() else { continue };
            // The dense codec has no form for native histograms: such a shard stays warm.
            if window.end > cutoff || block.is_dense() || block.has_histograms()? {
                continue;
            }
            moved.push(self.freeze(window, block, &cold)?);
        }
        Ok(moved)
    }

    /// A move is a compaction of one block into the cold dir in the dense format: the same
    /// swap, the same crash safety, counted among the compactions.
    fn freeze(
        &self,
        window: ShardWindow,
        warm: &Arc<BlockReader>,
        cold: &Path,
    ) -> Result<ColdMove, StorageError> {
        let report = self.merge_into(&[Arc::clone(warm)], cold, BlockFormat::Dense)?;
        Ok(ColdMove {
            window,
            from: warm.meta().ulid.clone(),
            to: report.created.map(|p| p.id).unwrap_or_default(),
            bytes_before: report.bytes_before,
            bytes_after: report.bytes_after,
        })
    }

    /// Writes the cold shards (those of `window` only, if given) into `out` as Prometheus
    /// blocks (XOR chunks), which promtool and Prometheus read; the engine is unchanged.
    pub fn export_cold(
        &self,
        out: &Path,
        window: Option<ShardWindow>,
    ) -> Result<Vec<Persisted>, StorageError> {
        std::fs::create_dir_all(out).map_err(StorageError::io("creating", out))?;
        let mut written = Vec::new();
        for block in self.blocks().into_iter().filter(|b| b.is_dense()) {
            if window.is_some_and(|w| self.shards.window_of(block.meta().min_time) != w) {
                continue;
            }
            if let Some(stats) = compaction::compact_blocks_as(out, &[block], BlockFormat::Xor)? {
                written.push(super::persisted(&stats));
            }
        }
        // promtool's read-only open of a data dir wants a WAL directory.
        let wal = out.join("wal");
        std::fs::create_dir_all(&wal).map_err(StorageError::io("creating", &wal))?;
        Ok(written)
    }
}
