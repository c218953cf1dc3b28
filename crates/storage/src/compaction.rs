//! Compaction of the block engine's blocks: what to merge (`plan`, Prometheus' leveled
//! planner) and how (`merge`, streaming series by series). The engine runs one compaction at
//! a time and swaps the result in: the new block is renamed into place, joins the readers
//! in the same step as its sources leave, and only then are the sources deleted. The new
//! block's meta.json names them as parents, so after a crash between the rename and the
//! deletion the engine deletes them at open — never both visible, never neither.

mod merge;
mod plan;

pub(crate) use merge::compact_blocks_as;
pub(crate) use plan::{plan, ranges, Candidate};

/// What one compaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactionReport {
    /// The blocks merged (and deleted).
    pub sources: Vec<String>,
    /// The block written; `None` when every sample of the sources had been deleted.
    pub created: Option<crate::Persisted>,
    /// Its compaction level.
    pub level: Option<u32>,
    /// Time range covered: start (inclusive).
    pub min_time: i64,
    /// Time range covered: end (exclusive).
    pub max_time: i64,
    /// Bytes on disk of the sources.
    pub bytes_before: u64,
    /// Bytes on disk of the new block.
    pub bytes_after: u64,
}
