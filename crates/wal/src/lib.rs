//! Strata's write-ahead log, in Prometheus' WAL format (ARCHITECTURE.md, decision 4).
//!
//! Every sample Strata acknowledges is first appended here. Data flow:
//! - **Append** ([`Wal::append`]): records ([`Record`]: series, samples, tombstones, encoded
//!   as Prometheus does, `record`) are cut into fragments in 32 KiB pages of numbered
//!   segment files (`segment`), written, and made durable per the [`SyncPolicy`] with group
//!   commit (`writer`).
//! - **Recover** ([`replay`]): the newest checkpoint, then the later segments, in order; a
//!   torn tail is truncated, damage in the middle is reported and stops replay unless
//!   repair is asked for (`replay`).
//! - **Compact** ([`checkpoint()`]): what the first segments still matter for goes into
//!   `checkpoint.N/`, and the segments it covers are deleted (`checkpoint`).
//!
//! The same bytes work both ways: a real Prometheus replays a Strata `wal/`, and Strata
//! replays a Prometheus one (snappy-compressed records included). The format is described
//! in docs/wal.md.

mod checkpoint;
mod error;
mod histogram_record;
mod record;
mod replay;
mod segment;
mod writer;

pub use checkpoint::{checkpoint, latest_checkpoint, CheckpointReport};
pub use error::{Result, WalError};
pub use histogram_record::{float_histogram_records, histogram_records, RefFloatHistogram, RefHistogram};
pub use record::{Record, RefSample, RefSeries, Tombstone};
pub use replay::{replay, ReplayOptions, ReplayReport, SegmentReport};
pub use segment::{list_segments, segment_name, PAGE_SIZE};
pub use writer::{SyncPolicy, Wal, WalOptions, WalStats, FSYNC_BUCKETS_SECONDS};

#[cfg(test)]
mod tests;
