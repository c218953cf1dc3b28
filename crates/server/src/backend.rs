//! The storage engine a server runs on, chosen per data dir with `--engine`: the block
//! engine (Prometheus' format: shards, retention, cold tiers, cardinality limits) or the TSM
//! engine (InfluxDB 1.x's format). Everything above the `Engine` trait — writes, PromQL, the
//! HTTP API, rules — goes through [`Backend::engine`] and works on either; what only one
//! engine has is asked here, so handlers need not know which runs.

use std::sync::Arc;

use strata_index::SeriesIndex;
use strata_model::Matcher;
use strata_storage::{BlockEngine, Engine, StorageError};
use strata_tsm::ShardedTsm;
use strata_wal::WalStats;

use crate::health::EngineHealth;

/// The engine, by kind.
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Block(Arc<BlockEngine>),
    Tsm(Arc<ShardedTsm>),
}

/// The in-memory part of the data, as `/api/v1/status/tsdb` and the cardinality report
/// describe it (the block engine's head, the TSM engine's cache).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MemoryFigures {
    pub(crate) series: u64,
    pub(crate) chunks: u64,
    pub(crate) bytes: u64,
    pub(crate) time_range: Option<(i64, i64)>,
}

impl Backend {
    /// Its name, as `--engine` takes it.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Backend::Block(_) => "block",
            Backend::Tsm(_) => "tsm",
        }
    }

    /// The engine behind the trait.
    pub(crate) fn engine(&self) -> &dyn Engine {
        match self {
            Backend::Block(e) => &**e,
            Backend::Tsm(e) => &**e,
        }
    }

    /// The engine as PromQL reads it.
    pub(crate) fn queryable(&self) -> &dyn strata_promql::Queryable {
        match self {
            Backend::Block(e) => &**e,
            Backend::Tsm(e) => &**e,
        }
    }

    /// The engine as the rule manager reads and writes it.
    pub(crate) fn rule_storage(&self) -> Arc<dyn strata_rules::RuleStorage> {
        match self {
            Backend::Block(e) => e.clone(),
            Backend::Tsm(e) => e.clone(),
        }
    }

    /// The block engine, when that is what runs.
    pub(crate) fn block(&self) -> Option<&Arc<BlockEngine>> {
        match self {
            Backend::Block(e) => Some(e),
            Backend::Tsm(_) => None,
        }
    }

    /// The index of the series held in memory (the block engine's head; every series of the
    /// TSM engine).
    pub(crate) fn index(&self) -> &SeriesIndex {
        match self {
            Backend::Block(e) => e.head().index(),
            Backend::Tsm(e) => e.index(),
        }
    }

    /// How many of those series the matchers select (all with none).
    pub(crate) fn count_series(&self, matchers: &[Matcher]) -> u64 {
        match self {
            Backend::Block(e) => e.head().count_series(matchers),
            Backend::Tsm(_) if matchers.is_empty() => self.index().all_series().len(),
            Backend::Tsm(_) => self.index().select(matchers).len(),
        }
    }

    /// Distinct series stored (memory and disk).
    pub(crate) fn distinct_series(&self) -> Result<u64, StorageError> {
        match self {
            Backend::Block(e) => e.distinct_series(),
            Backend::Tsm(e) => Ok(e.index().all_series().len()),
        }
    }

    /// The in-memory part's figures.
    pub(crate) fn memory(&self) -> MemoryFigures {
        match self {
            Backend::Block(e) => {
                let head = e.head();
                let stats = head.stats();
                MemoryFigures {
                    series: stats.series,
                    chunks: stats.chunks,
                    bytes: stats.chunk_bytes + stats.index_bytes,
                    time_range: head.time_range(),
                }
            }
            Backend::Tsm(e) => MemoryFigures {
                series: e.index().all_series().len(),
                chunks: 0,
                bytes: e.cache_bytes() + e.index().stats().memory_bytes as u64,
                time_range: e.time_range(),
            },
        }
    }

    /// What the engine reports of its health.
    pub(crate) fn health(&self) -> EngineHealth {
        match self {
            Backend::Block(e) => EngineHealth {
                skipped_blocks: e
                    .skipped_blocks()
                    .iter()
                    .map(|b| format!("{}: {}", b.dir.display(), b.error))
                    .collect(),
                maintenance_error: e.last_cut_error().or_else(|| e.maintenance_error()),
            },
            Backend::Tsm(e) => EngineHealth {
                skipped_blocks: e
                    .skipped_files()
                    .iter()
                    .map(|(p, why)| format!("{}: {why}", p.display()))
                    .collect(),
                maintenance_error: None,
            },
        }
    }

    /// The WAL's figures (the block engine's; the TSM engine's WAL keeps none yet).
    pub(crate) fn wal_stats(&self) -> WalStats {
        match self {
            Backend::Block(e) => e.head().wal().stats(),
            Backend::Tsm(_) => WalStats::default(),
        }
    }

    /// Periodic upkeep the engine does not do itself: the TSM engine's retention (the block
    /// engine runs its own).
    pub(crate) fn maintain(&self) -> Result<(), StorageError> {
        match self {
            Backend::Block(_) => Ok(()),
            Backend::Tsm(e) => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64);
                e.enforce_retention(now).map(|_| ())
            }
        }
    }

    /// Makes every acknowledged write durable (at stop).
    pub(crate) fn sync_wal(&self) -> Result<(), StorageError> {
        match self {
            Backend::Block(e) => e.head().wal().sync().map_err(StorageError::from),
            Backend::Tsm(e) => e.sync_wal(),
        }
    }

    /// A snapshot into `out` (`with_head`: what is only in memory too).
    pub(crate) fn snapshot_to(&self, out: &std::path::Path, with_head: bool) -> Result<(), StorageError> {
        match self {
            Backend::Block(e) => e.snapshot_with(out, with_head).map(|_| ()),
            // The TSM engine's snapshot always holds its cache.
            Backend::Tsm(e) => e.snapshot(out).map(|_| ()),
        }
    }

    /// Rewrites stored data without what deletes hid (for TSM: each shard's cache
    /// snapshotted, then a full compaction of the shard into one file).
    pub(crate) fn clean_tombstones(&self) -> Result<(), StorageError> {
        match self {
            Backend::Block(e) => e.clean_tombstones().map(|_| ()),
            Backend::Tsm(e) => e.compact_fully(),
        }
    }
}
