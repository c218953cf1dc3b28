//! Merging blocks into one, series by series.
//!
//! Each source's series are read in index order — sorted by labels, in Prometheus' blocks
//! as in Strata's — and merged like sorted lists, so one series is in memory at a time:
//! its chunk references, and its samples only when they must be re-encoded. A series'
//! chunks are copied byte for byte when they do not overlap and no tombstone touches them
//! (the usual case for levelled compaction); otherwise they are decoded, tombstoned samples
//! dropped, merged by time keeping the first source's sample for a repeated timestamp
//! (sources in time order), and encoded again. Only the index's entries for the new block
//! stay in memory until it is finished.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use strata_codec::xor::decode_chunk_into;
use strata_model::histogram::HistogramValue;
use strata_model::Labels;

use crate::block::{
    drop_deleted, BlockBuilder, BlockFormat, BlockParent, BlockReader, BlockStats, ChunkRef, Lineage,
    Tombstones,
};
use crate::head::decode_histogram_chunk;
use crate::StorageError;

/// One source's position in the merge.
struct Cursor<'a> {
    block: &'a BlockReader,
    stones: Arc<Tombstones>,
    refs: Vec<u64>,
    next: usize,
    current: Option<(u64, Labels, Vec<ChunkRef>)>,
}

impl Cursor<'_> {
    fn advance(&mut self) -> Result<(), StorageError> {
        self.current = match self.refs.get(self.next) {
            Some(&r) => {
                let (labels, chunks) = self.block.series(r)?;
                Some((r, labels, chunks))
            }
            None => None,
        };
        self.next += 1;
        Ok(())
    }
}

/// A series' chunks from one source, with that source's deleted intervals.
struct Part<'a> {
    block: &'a BlockReader,
    chunks: Vec<ChunkRef>,
    deleted: &'a [(i64, i64)],
}

/// Writes `sources` (sorted by time) as one block under `parent`; `None` if every sample
/// was deleted. The new block records them as parents; see the module docs.
/// Written in `format`: XOR for a compaction, dense for a move to the cold tier, XOR again
/// for an export of a cold block.
pub(crate) fn compact_blocks_as(
    parent: &Path,
    sources: &[Arc<BlockReader>],
    format: BlockFormat,
) -> Result<Option<BlockStats>, StorageError> {
    let mut cursors = Vec::with_capacity(sources.len());
    for block in sources {
        let mut cursor =
            Cursor { block, stones: block.tombstones(), refs: block.series_refs()?, next: 0, current: None };
        cursor.advance()?;
        cursors.push(cursor);
    }
    let mut builder = BlockBuilder::with_format(parent, format)?;
    while let Some(labels) =
        cursors.iter().filter_map(|c| c.current.as_ref().map(|(_, l, _)| l)).min().cloned()
    {
        let mut taken = Vec::new();
        for (i, c) in cursors.iter_mut().enumerate() {
            if c.current.as_ref().is_some_and(|(_, l, _)| *l == labels) {
                taken.push((i, c.current.take().expect("checked just above")));
            }
        }
        let parts: Vec<Part<'_>> = taken
            .iter()
            .map(|(i, (r, _, chunks))| Part {
                block: cursors[*i].block,
                chunks: chunks.clone(),
                deleted: cursors[*i].stones.get(r).map_or(&[][..], Vec::as_slice),
            })
            .collect();
        write_series(&mut builder, &labels, &parts)?;
        drop(parts);
        for (i, _) in taken {
            cursors[i].advance()?;
        }
    }
    if builder.is_empty() {
        return Ok(None);
    }
    let min_time = sources.iter().map(|b| b.meta().min_time).min().unwrap_or(0);
    let max_time = sources.iter().map(|b| b.meta().max_time).max().unwrap_or(0);
    builder.finish(Some((min_time, max_time)), Some(lineage(sources))).map(Some)
}

/// Level one above the highest source (the same when a block is rewritten alone), every
/// source's sources, and the sources as parents — as Prometheus records them.
fn lineage(sources: &[Arc<BlockReader>]) -> Lineage {
    let top = sources.iter().map(|b| b.meta().compaction.level).max().unwrap_or(1);
    let level = if sources.len() > 1 { top + 1 } else { top };
    let all: BTreeSet<String> =
        sources.iter().flat_map(|b| b.meta().compaction.sources.iter().cloned()).collect();
    let parents = sources
        .iter()
        .map(|b| BlockParent {
            ulid: b.meta().ulid.clone(),
            min_time: b.meta().min_time,
            max_time: b.meta().max_time,
        })
        .collect();
    Lineage { level, sources: all.into_iter().collect(), parents }
}

fn corrupt_chunk(block: &BlockReader, chunk_ref: u64, e: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt { path: block.dir().join("chunks"), offset: chunk_ref, detail: e.to_string() }
}

fn write_series(builder: &mut BlockBuilder, labels: &Labels, parts: &[Part<'_>]) -> Result<(), StorageError> {
    if parts.iter().any(|p| p.block.is_dense()) {
        return write_decoded(builder, labels, parts);
    }
    // Each chunk is read (and its CRC checked) once, in source order.
    let mut chunks: Vec<(ChunkRef, u8, &[u8], &Part<'_>)> = Vec::new();
    let mut touched_by_tombstones = false;
    for part in parts {
        for c in &part.chunks {
            touched_by_tombstones |= part.deleted.iter().any(|&(lo, hi)| lo <= c.maxt && c.mint <= hi);
            let (encoding, bytes) = part.block.raw_chunk(c.chunk_ref)?;
            chunks.push((*c, encoding, bytes, part));
        }
    }
    let mut by_time: Vec<(i64, i64, u8, &[u8])> =
        chunks.iter().map(|(c, encoding, bytes, _)| (c.mint, c.maxt, *encoding, *bytes)).collect();
    by_time.sort_by_key(|c| c.0);
    let overlapping = by_time.windows(2).any(|w| w[1].0 <= w[0].1);
    if !overlapping && !touched_by_tombstones {
        return builder.add_chunks(labels, by_time);
    }
    let mut decoded = Decoded::default();
    for (c, encoding, bytes, part) in &chunks {
        decoded.add(*encoding, bytes, part.deleted).map_err(|e| corrupt_chunk(part.block, c.chunk_ref, e))?;
    }
    decoded.write(builder, labels)
}

/// A series from sources that include a cold block: every chunk decoded (a dense column has
/// no XOR bytes to copy), deleted samples dropped, merged by time as above.
fn write_decoded(
    builder: &mut BlockBuilder,
    labels: &Labels,
    parts: &[Part<'_>],
) -> Result<(), StorageError> {
    let mut decoded = Decoded::default();
    for part in parts {
        for c in &part.chunks {
            if part.block.is_dense() {
                let start = decoded.floats.len();
                part.block.decode_chunk_into(c.chunk_ref, &mut decoded.floats)?;
                drop_deleted(&mut decoded.floats, start, part.deleted);
            } else {
                let (encoding, bytes) = part.block.raw_chunk(c.chunk_ref)?;
                decoded
                    .add(encoding, bytes, part.deleted)
                    .map_err(|e| corrupt_chunk(part.block, c.chunk_ref, e))?;
            }
        }
    }
    decoded.write(builder, labels)
}

/// A series' decoded samples, its sources' in source order.
#[derive(Default)]
struct Decoded {
    floats: Vec<(i64, f64)>,
    histograms: Vec<(i64, HistogramValue)>,
}

impl Decoded {
    /// Decodes a chunk of `encoding`, dropping the samples in `deleted`.
    fn add(&mut self, encoding: u8, bytes: &[u8], deleted: &[(i64, i64)]) -> Result<(), StorageError> {
        if matches!(encoding, 2 | 3) {
            let start = self.histograms.len();
            decode_histogram_chunk(encoding == 3, bytes, &mut self.histograms)?;
            let mut i = 0;
            self.histograms.retain(|h| {
                i += 1;
                i <= start || !deleted.iter().any(|&(lo, hi)| (lo..=hi).contains(&h.0))
            });
            return Ok(());
        }
        let start = self.floats.len();
        decode_chunk_into(bytes, &mut self.floats)?;
        drop_deleted(&mut self.floats, start, deleted);
        Ok(())
    }

    /// Adds the series merged by time: for a repeated timestamp the earlier source's sample
    /// stays (the sorts are stable); a series with nothing left is left out.
    fn write(mut self, builder: &mut BlockBuilder, labels: &Labels) -> Result<(), StorageError> {
        self.floats.sort_by_key(|s| s.0);
        self.floats.dedup_by_key(|s| s.0);
        self.histograms.sort_by_key(|s| s.0);
        self.histograms.dedup_by_key(|s| s.0);
        if self.floats.is_empty() && self.histograms.is_empty() {
            return Ok(());
        }
        builder.add_series(labels, &self.floats, &self.histograms)
    }
}
