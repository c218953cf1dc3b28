//! Strata's storage engines.
//!
//! For now: the in-memory store behind `strata mem` ([`MemStore`]) and the writer of
//! immutable blocks in Prometheus' format ([`block`]). The head, the querier and the
//! `Engine` trait join them with the block engine issue (ARCHITECTURE.md, decisions 3, 4, 9).

pub mod block;
mod error;
mod head;
mod memstore;
mod time_range;

pub use error::StorageError;
pub use head::{AppendResult, Head, HeadRef, HeadStats, Rejected};
pub use memstore::{MemStore, MemStoreStats, SeriesId};
