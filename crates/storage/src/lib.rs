//! Strata's storage engines.
//!
//! For now: the in-memory store behind `strata mem` ([`MemStore`]) and the writer of
//! immutable blocks in Prometheus' format ([`block`]). The head, the querier and the
//! `Engine` trait join them with the block engine issue (ARCHITECTURE.md, decisions 3, 4, 9).

pub mod block;
mod block_engine;
mod compaction;
mod dir_lock;
mod disk_usage;
mod engine;
mod error;
mod head;
mod head_chunks;
mod memstore;
mod series_set;
mod time_range;

pub use block_engine::{BackgroundMaintenance, BlockEngine, BlockEngineOptions, SkippedBlock};
pub use compaction::CompactionReport;
pub use disk_usage::dir_bytes;
pub use engine::{Engine, EngineStats, FlushReport, Persisted, SnapshotReport};
pub use error::StorageError;
pub use head::{AppendRef, AppendResult, Head, HeadOptions, HeadStats, Rejected, DEFAULT_BLOCK_RANGE_MS};
pub use memstore::{MemStore, MemStoreStats, SeriesId};
pub use series_set::{ChunkSource, SampleIter, Series};
