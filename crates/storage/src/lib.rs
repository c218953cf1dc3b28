//! Strata's storage engines.
//!
//! For now this holds the in-memory store behind `strata mem` ([`MemStore`]); the block
//! engine (head, WAL, Prometheus-format blocks) and the `Engine` trait join it in later
//! issues (ARCHITECTURE.md, decisions 3, 4 and 9).

mod memstore;

pub use memstore::{MemStore, MemStoreStats, SeriesId};
