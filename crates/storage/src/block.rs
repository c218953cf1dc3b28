//! Immutable blocks in the Prometheus TSDB block format (ARCHITECTURE.md, decision 4), so
//! `promtool tsdb analyze|dump` and a real Prometheus read what Strata writes.
//!
//! ```text
//! <ULID>/meta.json       block id, [minTime, maxTime), stats, compaction level 1 (`meta`)
//! <ULID>/chunks/000001   chunks of every series, grouped by series (`chunk_writer`): XOR
//!                        for floats, histogram chunks for native histograms (`series_chunks`)
//! <ULID>/index           index format v2: symbols, series, postings, TOC (`index_writer`)
//! <ULID>/tombstones      deleted intervals per series, empty when written (`tombstones`)
//! ```
//!
//! A **cold** block (a shard moved to the cold dir) has a `dense` file in place of
//! `chunks/`: the same index, whose one chunk ref per series points into it (`dense_file`).
//!
//! [`BlockReader`] reads blocks back (index v2, and v1 as older Prometheus wrote it).
//!
//! A block is written into `<ULID>.tmp/`, every file and directory fsynced, then renamed
//! into place (`writer`), so a crash never leaves a half block under a real block id.
//! Sources: Prometheus' `tsdb/docs/format/{index,chunks,tombstones}.md` and its writers,
//! restated in ../shared/specs/prom-format-notes.md §1–5; this layout is described in
//! docs/format/block.md.

mod chunk_writer;
pub(crate) mod dense_file;
mod index_tables;
mod index_writer;
pub(crate) mod meta;
mod reader;
mod series_chunks;
pub(crate) mod tombstones;
mod writer;

#[cfg(test)]
mod tests;

pub use meta::{BlockMeta, BlockParent};
pub use reader::{BlockReader, ChunkRef, SelectedSeries, SeriesSamples};
pub(crate) use tombstones::drop_deleted;
pub use tombstones::Tombstones;
pub use writer::{
    write_block, write_block_range, BlockSeries, BlockStats, SAMPLES_PER_BLOCK_CHUNK, SAMPLES_PER_CHUNK,
};
pub(crate) use writer::{BlockBuilder, BlockFormat, Lineage};
