//! Reading the blocks a query needs, shard by shard: only the shards whose blocks overlap
//! `[mint, maxt]` are read, each on a worker of a bounded pool (one thread per core, shared
//! by every query), and the series they give are merged in time order — a shard's chunks
//! before the next shard's. One shard is read on the caller's thread: a dashboard's last
//! hour pays no hand-off.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use rayon::prelude::*;
use strata_model::{Labels, Matcher};

use super::BlockEngine;
use crate::block::BlockReader;
use crate::series_set::{ChunkData, ChunkSource};
use crate::StorageError;

/// The selected series of one shard: labels and their chunk sources.
type ShardChunks = Vec<(Labels, Vec<ChunkSource>)>;

/// The pool shard reads run on (`None` if the system would not give it threads: shards are
/// then read one after another).
fn pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("strata-shard-read-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

impl BlockEngine {
    /// The chunks of every series the matchers select in the blocks overlapping
    /// `[mint, maxt]`, by labels, each series' chunks in time order of their shards.
    pub(super) fn select_from_blocks(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<BTreeMap<Labels, Vec<ChunkSource>>, StorageError> {
        let blocks = self.blocks_overlapping(mint, maxt);
        let shards: Vec<Vec<&Arc<BlockReader>>> =
            self.by_shard(&blocks).into_iter().map(|(_, b)| b).collect();
        let read = |in_shard: &Vec<&Arc<BlockReader>>| read_shard(in_shard, matchers, mint, maxt);
        let per_shard: Vec<ShardChunks> = match pool() {
            Some(pool) if shards.len() > 1 => {
                pool.install(|| shards.par_iter().map(read).collect::<Result<_, _>>())?
            }
            _ => shards.iter().map(read).collect::<Result<_, _>>()?,
        };
        let mut by_labels: BTreeMap<Labels, Vec<ChunkSource>> = BTreeMap::new();
        for (labels, chunks) in per_shard.into_iter().flatten() {
            by_labels.entry(labels).or_default().extend(chunks);
        }
        Ok(by_labels)
    }
}

fn read_shard(
    blocks: &[&Arc<BlockReader>],
    matchers: &[Matcher],
    mint: i64,
    maxt: i64,
) -> Result<ShardChunks, StorageError> {
    let mut out = Vec::new();
    for &block in blocks {
        for selected in block.select_chunks(matchers, mint, maxt)? {
            let deleted: Option<Arc<[(i64, i64)]>> =
                (!selected.deleted.is_empty()).then(|| selected.deleted.into());
            let chunks = selected
                .chunks
                .into_iter()
                .map(|c| ChunkSource {
                    deleted: deleted.clone(),
                    ..ChunkSource::new(
                        c.mint,
                        c.maxt,
                        ChunkData::Block { block: Arc::clone(block), chunk_ref: c.chunk_ref },
                    )
                })
                .collect();
            out.push((selected.labels, chunks));
        }
    }
    Ok(out)
}
