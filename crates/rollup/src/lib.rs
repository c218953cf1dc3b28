//! Rollups: downsampled tiers that PromQL reads where they answer exactly
//! (ARCHITECTURE.md; docs/rollups.md has the design and its guarantees, docs/format/rollup.md
//! the file format).
//!
//! A tier keeps, per series and per window `(end − resolution, end]`, a [`WindowAggregate`]:
//! count, sum, min, max, first and last (time and value), the counter increase corrected
//! for resets, resets and changes, and a DDSketch of the values. Windows of a tier are
//! whole runs of the finer tier's windows, so tiers are built from each other ([`job`]),
//! and a query window that is a whole number of aligned windows is answered from them with
//! what one pass over the raw samples would give (the router lives in `strata-promql`).
//!
//! - [`aggregate`]: the per-window aggregate and how two windows combine;
//! - [`sketch`]: the quantile sketch (1% relative error);
//! - [`columns`]: windows as a query reads them, only the fields it needs;
//! - [`tier`]: resolutions, retention and spans;
//! - [`segment`]: the file holding one tier's windows of every series over one span;
//! - [`scan`]: a query's read of a tier: series found in segments, then decoded one by one;
//! - [`segment_writer`]: writes a segment series by series, streaming it to disk;
//! - `segment_maps`: the segments queries read, kept mapped between queries;
//! - [`store`]: the tiers' files and the watermark that says what is complete;
//! - [`status`]: a tier's status as reports show it;
//! - [`job`]: the incremental, crash-safe roll-up.

pub mod aggregate;
pub mod columns;
pub mod job;
pub mod scan;
pub mod segment;
mod segment_maps;
pub mod segment_writer;
pub mod sketch;
pub mod status;
pub mod store;
pub mod tier;
mod window_record;

use std::path::{Path, PathBuf};

pub use aggregate::WindowAggregate;
pub use columns::{Fields, SeriesColumns, WindowColumns};
pub use scan::TierScan;
pub use segment::RolledSeries;
pub use sketch::Sketch;
pub use status::TierStatus;
pub use store::{request_reroll, Coverage, RollupStore, TierCoverage, TierState};
pub use tier::{format_duration, Tier, Tiers};

use strata_model::Matcher;

/// What went wrong in the rollup store or job.
#[derive(Debug, thiserror::Error)]
pub enum RollupError {
    /// A file operation failed.
    #[error("{op} {path}: {source}")]
    Io { op: &'static str, path: PathBuf, source: std::io::Error },
    /// A file's bytes contradict its format.
    #[error("corrupt {path} at byte {offset}: {detail}")]
    Corrupt { path: PathBuf, offset: usize, detail: String },
    /// A tier configuration that cannot work.
    #[error("{0}")]
    Config(String),
    /// Reading raw samples failed.
    #[error(transparent)]
    Storage(#[from] strata_storage::StorageError),
}

impl RollupError {
    pub(crate) fn io(op: &'static str, path: &Path, source: std::io::Error) -> RollupError {
        RollupError::Io { op, path: path.to_owned(), source }
    }
}

/// What the PromQL router reads: which tiers hold what, and their windows.
pub trait RollupSource: Send + Sync + std::fmt::Debug {
    /// What each tier holds and from when raw samples are held.
    fn coverage(&self) -> Coverage;

    /// The series of the tier of this resolution that the matchers select in its segments
    /// holding windows ending in `(mint, maxt]`, sorted by labels, to be decoded with the
    /// `fields` asked for (an unknown resolution finds nothing).
    fn scan(
        &self,
        resolution: i64,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        fields: Fields,
    ) -> Result<TierScan, RollupError>;

    /// [`RollupSource::scan`]'s series with windows in the range, decoded.
    fn read(
        &self,
        resolution: i64,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        fields: Fields,
    ) -> Result<Vec<SeriesColumns>, RollupError> {
        self.scan(resolution, matchers, mint, maxt, fields)?.into_columns()
    }
}

impl RollupSource for RollupStore {
    fn coverage(&self) -> Coverage {
        RollupStore::coverage(self)
    }

    fn scan(
        &self,
        resolution: i64,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        fields: Fields,
    ) -> Result<TierScan, RollupError> {
        match self.tiers().list().iter().position(|t| t.resolution == resolution) {
            Some(i) => RollupStore::scan(self, i, matchers, mint, maxt, fields),
            None => Ok(TierScan::empty(fields)),
        }
    }
}
