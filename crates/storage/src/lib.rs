//! Strata's storage engines.
//!
//! For now: the in-memory store behind `strata mem` ([`MemStore`]) and the writer of
//! immutable blocks in Prometheus' format ([`block`]). The head, the querier and the
//! `Engine` trait join them with the block engine issue (ARCHITECTURE.md, decisions 3, 4, 9).

pub mod block;
mod block_engine;
mod clock;
mod compaction;
mod dir_lock;
mod disk_usage;
mod engine;
mod error;
mod head;
mod head_chunks;
mod memstore;
mod retention;
mod series_set;
mod shard;
mod time_range;

pub use block_engine::{
    BackgroundMaintenance, BlockEngine, BlockEngineOptions, DropReason, DroppedShard, RetentionReport,
    RetentionTotalsSnapshot, ShardInfo, ShardTier, SkippedBlock,
};
pub use clock::Clock;
pub use compaction::CompactionReport;
pub use disk_usage::dir_bytes;
pub use engine::{Engine, EngineStats, FlushReport, Persisted, SnapshotReport};
pub use error::StorageError;
pub use head::{AppendRef, AppendResult, Head, HeadOptions, HeadStats, Rejected, DEFAULT_BLOCK_RANGE_MS};
pub use memstore::{MemStore, MemStoreStats, SeriesId};
pub use retention::{RetentionPolicy, RetentionRule};
pub use series_set::{ChunkSource, SampleIter, Series};
pub use shard::{format_utc, ShardLayout, ShardWindow, DEFAULT_SHARD_DURATION_MS};
