//! How many distinct series the engine holds, head and blocks together: a series that is in
//! the head and in three blocks counts once (the blocks' own series counts add up to four).
//!
//! Every block's series are hashed once into one sorted list, kept for the current set of
//! blocks and rebuilt only when a cut or a compaction changes that set; a count then costs a
//! pass over the head's series, each looked up in the list. 64-bit label-set hashes: two
//! series colliding would count once, with odds of about n²/2⁶⁵.

use std::sync::{Arc, Mutex};

use super::BlockEngine;
use crate::block::BlockReader;
use crate::StorageError;

/// The blocks' series hashes, for the block set they were taken from.
#[derive(Debug, Default)]
pub(super) struct BlockSeriesHashes {
    cached: Mutex<Option<HashesOf>>,
}

/// Sorted series hashes, and the ids of the blocks they are of.
#[derive(Debug)]
struct HashesOf {
    block_ids: Vec<String>,
    hashes: Arc<Vec<u64>>,
}

impl BlockSeriesHashes {
    /// The sorted, deduplicated series hashes of `blocks`.
    fn of(&self, blocks: &[Arc<BlockReader>]) -> Result<Arc<Vec<u64>>, StorageError> {
        let ids: Vec<String> = blocks.iter().map(|b| b.meta().ulid.clone()).collect();
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(of) = cached.as_ref().filter(|of| of.block_ids == ids) {
            return Ok(Arc::clone(&of.hashes));
        }
        let mut hashes = Vec::new();
        for block in blocks {
            for r in block.series_refs()? {
                hashes.push(block.series(r)?.0.stable_hash().0);
            }
        }
        hashes.sort_unstable();
        hashes.dedup();
        let hashes = Arc::new(hashes);
        *cached = Some(HashesOf { block_ids: ids, hashes: Arc::clone(&hashes) });
        Ok(hashes)
    }
}

impl BlockEngine {
    /// Distinct series in the head and the blocks (see the module docs).
    pub fn distinct_series(&self) -> Result<u64, StorageError> {
        let in_blocks = self.block_series_hashes.of(&self.blocks())?;
        let index = self.head.index();
        let head_only = index
            .all_series()
            .iter()
            .filter_map(|r| index.labels(strata_index::SeriesRef(r)))
            .filter(|labels| in_blocks.binary_search(&labels.stable_hash().0).is_err())
            .count();
        Ok(in_blocks.len() as u64 + head_only as u64)
    }
}
