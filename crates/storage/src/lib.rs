//! Strata's storage engines, behind the [`Engine`] trait (ARCHITECTURE.md, decisions 3, 4,
//! 8, 9).
//!
//! - [`BlockEngine`]: a WAL-backed head ([`Head`]) and immutable Prometheus-format blocks
//!   ([`block`]) in one data dir, with compaction (module `compaction`), deletion by
//!   tombstones, snapshots, and background maintenance. Its blocks are grouped in **time
//!   shards** (module `shard`: aligned windows that compaction never crosses and retention
//!   deletes whole) and kept by a **retention policy** (module `retention`: global time,
//!   size, per-selector rules). docs/architecture.md gives the invariants of each part.
//! - [`MemStore`]: the in-memory store behind `strata mem`.
//! - [`backfill`]: history copied in from another replica, of any age (the cluster's
//!   re-replication).

mod admission;
pub mod backfill;
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

pub use admission::{SeriesAdmission, WRITE_SAMPLE_EVERY};
pub use backfill::{BackfillReport, BackfillSeries};
pub use block_engine::{
    BackgroundMaintenance, BlockEngine, BlockEngineOptions, ColdMove, DropReason, DroppedShard,
    RetentionLedger, RetentionReport, ShardInfo, ShardTier, SkippedBlock,
};
pub use clock::Clock;
pub use compaction::CompactionReport;
pub use dir_lock::DirLock;
pub use disk_usage::dir_bytes;
pub use engine::{ms_covering, Engine, EngineStats, FlushReport, Persisted, SnapshotReport, NS_PER_MS};
pub use error::StorageError;
pub use head::{AppendRef, AppendResult, Head, HeadOptions, HeadStats, Rejected, DEFAULT_BLOCK_RANGE_MS};
pub use memstore::{MemStore, MemStoreStats, SeriesId};
pub use retention::{RetentionPolicy, RetentionRule};
pub use series_set::{ChunkSource, SampleIter, Series};
pub use shard::{ShardLayout, ShardWindow, DEFAULT_SHARD_DURATION_MS};
