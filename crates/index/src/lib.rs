//! Strata's inverted label index: it turns label matchers into series refs.
//!
//! Used by the head and blocks of the storage engine and by the PromQL engine
//! (ARCHITECTURE.md, read path: "postings intersection"). Data flow:
//!
//! - **Write**: [`SeriesIndex::get_or_create`] hashes the label set (the stable xxh64 of
//!   `strata_model`), finds an existing series under a shared lock, or, for a new one,
//!   under the exclusive lock interns its names and values (`label_table`), stores its
//!   labels compactly (`series_store`) and adds its ref to each `name=value` postings list.
//! - **Read**: [`SeriesIndex::select`] evaluates matchers with Prometheus' semantics on the
//!   postings (`select`, with the regex shortcuts of `regex_plan`) and returns a roaring
//!   bitmap of refs; label names, values and per-value counts come from the same tables.
//! - **Disk**: [`SeriesIndex::write_to`] / [`SeriesIndex::open`] persist the whole index in
//!   one checksummed file (`persist`); a loaded index takes new series as before.

mod census;
mod error;
mod index;
mod label_table;
mod persist;
pub mod population;
mod postings;
mod regex_plan;
mod select;
mod series_store;

#[cfg(test)]
mod tests;

pub use census::{Census, CensusError, CensusRequest, NameCount};
pub use error::{IndexError, Result};
pub use index::{IndexStats, SeriesIndex};

/// Dense id of a series in one index. Never reused, even after the series is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesRef(pub u32);
