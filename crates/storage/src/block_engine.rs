//! The block engine: a WAL-backed head and immutable Prometheus-format blocks in one data
//! dir, laid out exactly as Prometheus lays out its own (ARCHITECTURE.md, decisions 3, 4, 9):
//!
//! ```text
//! DIR/wal/00000000 …, checkpoint.N/     the head's write-ahead log (strata-wal)
//! DIR/<ULID>/meta.json index chunks/ tombstones    one block per cut head range
//! DIR/strata_chunks_head/000001 …       the head's closed chunks, mapped (a cache of the WAL)
//! ```
//!
//! so a Prometheus started on DIR serves what Strata wrote, and Strata opens what Prometheus
//! wrote (its other files, `chunks_head/`, `lock`, `queries.active`, are left alone, as
//! Prometheus leaves Strata's head chunk files alone).
//!
//! - **Lock**: the engine holds an exclusive flock on `DIR/lock` (as Prometheus does) for its
//!   life; a second process, Strata's or Prometheus', is refused the dir.
//! - **Open**: every `<ULID>/` is opened (meta, index TOC and tables, chunk segment headers
//!   checked); a block that fails is reported in [`BlockEngine::skipped_blocks`] and left
//!   out, and the engine still starts. `<ULID>.tmp*` directories are what a crash during a
//!   block write (ours or Prometheus') leaves: they are removed. The head then replays the
//!   WAL, skipping samples before the end of the newest block (they are in it).
//! - **Cutting**: when the head spans more than 1.5 block ranges (Prometheus' rule), its
//!   oldest aligned range `[k·range, (k+1)·range)` is written as a block, oldest first,
//!   until it spans less. The appender whose batch made the head due does it, the others
//!   carry on (one cut at a time). The order is what keeps queries and appends right: the
//!   head's minimum valid time is raised (later samples for the range are refused as out of
//!   bounds), the range is read and written as a block, the block joins the block list,
//!   and only then is the range dropped from the head. Last, the WAL's current segment is
//!   closed and a checkpoint keeps the series and every sample from the cut on, deleting
//!   older segments: a crash at any step leaves each sample in the WAL or in a block (both
//!   is harmless: replay skips what a block holds, queries drop duplicate timestamps).
//! - **Select** reads the head first, then the block list, so a cut running meanwhile
//!   shows a range in both (deduplicated) rather than in neither.
//! - **Flush** cuts the whole head, its last range ending just after its newest sample.
//! - **Snapshot** (as Prometheus' admin snapshot): every block hard-linked into the target,
//!   the head written there as one more block, and an empty `wal/` (promtool wants one);
//!   the engine carries on untouched.
//! - **Compaction** (`compaction`): `compact` merges blocks as Prometheus' leveled planner
//!   picks them (overlapping ones first, then 2 h → 6 h → 18 h …, up to the maximum block
//!   range), `clean_tombstones` rewrites blocks without their deleted samples; one at a
//!   time, and never while a delete runs. `start_maintenance` runs due cuts and `compact` in a
//!   background thread (and `open_shared` starts it, leaving appends free of cuts; an append
//!   that finds a cut due wakes it at once). Queries keep the readers they started with, so each sees a block list from
//!   before or after a compaction's swap — every sample exactly once.
//! - **Delete** drops the range from the head (logged in the WAL as a tombstones record)
//!   and adds tombstones to every block it overlaps (their `tombstones` file, Prometheus'
//!   format, which promtool and Prometheus honour too); reads hide tombstoned samples at
//!   once. Rewriting blocks without them is compaction's job.
//! - **Backfill** (`backfill`): another replica's history, of any age — into the head at or
//!   after its start, as new blocks before it (compaction merges them into their neighbours).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use strata_model::histogram::HistogramValue;
use strata_model::{Labels, Matcher};
use strata_wal::WalOptions;

mod backfill;
mod background;
mod distinct_series;
mod retention;
mod retention_ledger;
mod shard_reads;
mod shards;
mod tiers;

pub use background::BackgroundMaintenance;
pub use retention::{DropReason, DroppedShard, RetentionReport};
pub use retention_ledger::RetentionLedger;
pub use shards::{ShardInfo, ShardTier};
pub use tiers::ColdMove;

use crate::backfill::{BackfillReport, BackfillSeries};
use crate::block::{BlockFormat, BlockReader, BlockStats};
use crate::clock::Clock;
use crate::compaction::{self, Candidate, CompactionReport};
use crate::dir_lock::DirLock;
use crate::disk_usage::dir_bytes;
use crate::engine::{Engine, EngineStats, FlushReport, Persisted, SnapshotReport};
use crate::head::{AppendRef, AppendResult, Head, HeadOptions, DEFAULT_BLOCK_RANGE_MS};
use crate::retention::RetentionPolicy;
use crate::series_set::Series;
use crate::shard::{ShardLayout, DEFAULT_SHARD_DURATION_MS};
use crate::time_range::overlaps;
use crate::StorageError;

/// How a block engine behaves.
#[derive(Debug, Clone)]
pub struct BlockEngineOptions {
    /// Time range of a block cut from the head, in ms (default 2 h).
    pub block_range: i64,
    /// How far (ms) before its series' newest sample a sample is still accepted (default 0).
    pub out_of_order_window: i64,
    /// The WAL's options.
    pub wal: WalOptions,
    /// Keep the head's closed chunks in mapped files (`DIR/strata_chunks_head/`) rather than
    /// on the heap (default true).
    pub head_chunks_on_disk: bool,
    /// Compaction never makes a block longer than this, in ms (default 1 day, the span of a
    /// time shard).
    pub max_block_range: i64,
    /// How often [`BlockEngine::open_shared`] cuts the blocks that are due, compacts and
    /// enforces retention, in a background thread (default every minute, as Prometheus'
    /// compaction loop). `None`: no background thread; cuts then happen in the append that
    /// makes the head due.
    pub maintenance_every: Option<Duration>,
    /// The time shard duration, ms (default 1 day); the block range must divide it.
    pub shard_duration: i64,
    /// What is kept (default: everything).
    pub retention: RetentionPolicy,
    /// The wall clock retention reads.
    pub clock: Clock,
    /// Where cold shards go (another disk, typically); `None`: no cold tier.
    pub cold_dir: Option<PathBuf>,
    /// Shards whose window ended this long (ms) before the reference time move to the cold
    /// dir, re-encoded with the dense codec (`None`: never).
    pub cold_after: Option<i64>,
}

impl Default for BlockEngineOptions {
    fn default() -> Self {
        BlockEngineOptions {
            block_range: DEFAULT_BLOCK_RANGE_MS,
            out_of_order_window: 0,
            wal: WalOptions::default(),
            head_chunks_on_disk: true,
            max_block_range: 24 * 3600 * 1000,
            maintenance_every: Some(Duration::from_secs(60)),
            shard_duration: DEFAULT_SHARD_DURATION_MS,
            retention: RetentionPolicy::default(),
            clock: Clock::system(),
            cold_dir: None,
            cold_after: None,
        }
    }
}

/// A block that could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedBlock {
    /// Its directory.
    pub dir: PathBuf,
    /// Why.
    pub error: String,
}

/// The block engine; see the module docs.
#[derive(Debug)]
pub struct BlockEngine {
    /// Held for the engine's life: no other process writes this dir meanwhile.
    _lock: DirLock,
    dir: PathBuf,
    options: BlockEngineOptions,
    /// The time windows blocks are grouped in (`shard`).
    shards: ShardLayout,
    head: Head,
    /// Sorted by min time.
    blocks: RwLock<Vec<Arc<BlockReader>>>,
    skipped: Vec<SkippedBlock>,
    /// Held while cutting: one cut at a time.
    cutting: Mutex<()>,
    /// Held while compacting or deleting: a delete must not land in a block being merged.
    compacting: Mutex<()>,
    /// Blocks whose compaction failed since open (also marked in their meta.json).
    failed_compactions: Mutex<BTreeSet<String>>,
    /// The background maintenance of [`BlockEngine::open_shared`], stopped with the engine.
    own_maintenance: OnceLock<BackgroundMaintenance>,
    /// Set when that thread cuts blocks: appends then leave cuts to it.
    cuts_in_background: std::sync::atomic::AtomicBool,
    /// The error of the last cut started by an append, if it failed (the data stays in the
    /// head and the WAL; the next append retries).
    last_cut_error: Mutex<Option<String>>,
    /// Compactions (merges and tombstone cleanups) done since open, and their total time.
    compactions: std::sync::atomic::AtomicU64,
    compaction_micros: std::sync::atomic::AtomicU64,
    /// The blocks' series, hashed, for [`BlockEngine::distinct_series`].
    block_series_hashes: distinct_series::BlockSeriesHashes,
    /// What retention has done since open.
    retention_totals: retention::RetentionTotals,
    /// Time retention may not delete past: samples at or after it are still needed (by the
    /// rollup job, which has not rolled them up yet); `i64::MAX` when nothing holds it.
    retention_hold: std::sync::atomic::AtomicI64,
}

/// Whether `name` is a ULID (26 characters of Crockford's base32).
fn is_ulid(name: &str) -> bool {
    name.len() == 26 && ulid::Ulid::from_string(name).is_ok()
}

impl BlockEngine {
    /// Whether the head holds everything in `[mint, maxt]`: no block overlaps it, and no
    /// retention rule hides samples (what lets label-only reads answer from the head's
    /// index). Decided from the blocks' time ranges alone, so that a label-only read that
    /// must go through `select` does not list the blocks' chunks twice.
    fn head_alone(&self, mint: i64, maxt: i64) -> bool {
        self.options.retention.rules.is_empty() && self.blocks_overlapping(mint, maxt).is_empty()
    }

    /// Opens (creating if needed) the data dir `dir`; see the module docs.
    pub fn open(dir: &Path, options: BlockEngineOptions) -> Result<BlockEngine, StorageError> {
        if options.block_range <= 0 {
            return Err(StorageError::Invalid(format!(
                "block range {} ms must be positive",
                options.block_range
            )));
        }
        let shards = ShardLayout::new(options.shard_duration, options.block_range)?;
        std::fs::create_dir_all(dir).map_err(StorageError::io("creating", dir))?;
        let lock = DirLock::acquire(dir)?;
        let mut dirs = vec![dir.to_path_buf()];
        if let Some(cold) = &options.cold_dir {
            std::fs::create_dir_all(cold).map_err(StorageError::io("creating the cold dir", cold))?;
            dirs.push(cold.clone());
        }
        let (blocks, skipped) = open_blocks(&dirs)?;
        let (retention_totals, ledger_problem) = retention::RetentionTotals::open(dir);
        if let Some(problem) = ledger_problem {
            tracing::warn!(%problem, "retention ledger");
        }
        let min_valid_time = blocks.iter().map(|b| b.meta().max_time).max().unwrap_or(i64::MIN);
        let head = Head::open(
            dir,
            HeadOptions {
                wal: options.wal.clone(),
                chunk_range: options.block_range,
                out_of_order_window: options.out_of_order_window,
                min_valid_time,
                chunks_on_disk: options.head_chunks_on_disk,
            },
        )?;
        Ok(BlockEngine {
            _lock: lock,
            dir: dir.to_path_buf(),
            options,
            shards,
            head,
            blocks: RwLock::new(blocks),
            skipped,
            cutting: Mutex::new(()),
            compacting: Mutex::new(()),
            failed_compactions: Mutex::new(BTreeSet::new()),
            own_maintenance: OnceLock::new(),
            cuts_in_background: std::sync::atomic::AtomicBool::new(false),
            last_cut_error: Mutex::new(None),
            compactions: Default::default(),
            compaction_micros: Default::default(),
            block_series_hashes: Default::default(),
            retention_totals,
            retention_hold: std::sync::atomic::AtomicI64::new(i64::MAX),
        })
    }

    /// [`BlockEngine::open`], shared, with cuts and compaction running in a background thread
    /// every `options.maintenance_every` for as long as the engine lives: the engine maintains
    /// itself, and appends never wait for a block to be written.
    pub fn open_shared(dir: &Path, options: BlockEngineOptions) -> Result<Arc<BlockEngine>, StorageError> {
        let every = options.maintenance_every;
        let engine = Arc::new(BlockEngine::open(dir, options)?);
        if let Some(every) = every {
            engine.cuts_in_background.store(true, std::sync::atomic::Ordering::SeqCst);
            let compactor = engine.start_maintenance(every);
            // Set once, here; the thread holds the engine weakly, so this is no cycle.
            let _ = engine.own_maintenance.set(compactor);
        }
        Ok(engine)
    }

    /// [`Engine::snapshot`], with the head written as a block only when `with_head` (the
    /// admin API's `skip_head=true` leaves it out, as Prometheus does).
    pub fn snapshot_with(&self, out: &Path, with_head: bool) -> Result<SnapshotReport, StorageError> {
        if out.read_dir().is_ok_and(|mut entries| entries.next().is_some()) {
            return Err(StorageError::Invalid(format!("snapshot target {} is not empty", out.display())));
        }
        std::fs::create_dir_all(out).map_err(StorageError::io("creating", out))?;
        // No cut meanwhile: a range is then either in a listed block or in the head.
        let _one_at_a_time = self.cutting.lock().unwrap_or_else(|e| e.into_inner());
        let mut report = SnapshotReport::default();
        for block in self.blocks() {
            if block.is_dense() {
                // A cold block, re-encoded: a snapshot is a Prometheus data dir.
                if let Some(written) =
                    compaction::compact_blocks_as(out, &[Arc::clone(&block)], BlockFormat::Xor)?
                {
                    report.linked.push(written.meta.ulid.clone());
                }
                continue;
            }
            link_block(block.dir(), &out.join(&block.meta().ulid))?;
            report.linked.push(block.meta().ulid.clone());
        }
        if let Some((lo, hi)) = self.head.time_range().filter(|_| with_head) {
            if let Some(stats) = self.head.write_block(out, lo, hi.saturating_add(1))? {
                report.written = Some(persisted(&stats));
            }
        }
        // An empty WAL: promtool's read-only open of a data dir insists on one.
        let wal = out.join("wal");
        std::fs::create_dir_all(&wal).map_err(StorageError::io("creating", &wal))?;
        std::fs::File::open(out).and_then(|d| d.sync_all()).map_err(StorageError::io("syncing", out))?;
        Ok(report)
    }

    /// The data dir.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The head.
    pub fn head(&self) -> &Head {
        &self.head
    }

    /// The blocks, oldest first.
    pub fn blocks(&self) -> Vec<Arc<BlockReader>> {
        self.blocks.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Blocks found damaged at open and left out.
    pub fn skipped_blocks(&self) -> &[SkippedBlock] {
        &self.skipped
    }

    /// The error of the last cut an append started, if it failed.
    pub fn last_cut_error(&self) -> Option<String> {
        self.last_cut_error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The error of the last round of the engine's own background maintenance
    /// ([`BlockEngine::open_shared`]), if it failed.
    pub fn maintenance_error(&self) -> Option<String> {
        self.own_maintenance.get().and_then(BackgroundMaintenance::last_error)
    }

    /// Writes the head's samples before `end` as blocks and drops them from the head (the
    /// memory guard's early cut; [`Engine::flush`] with `end` past the newest sample). Later
    /// samples older than `end` are refused as too old, as after any cut.
    pub fn cut_head_before(&self, end: i64) -> Result<FlushReport, StorageError> {
        let _one_at_a_time = self.cutting.lock().unwrap_or_else(|e| e.into_inner());
        let range = self.options.block_range;
        let mut report = FlushReport::default();
        if self.head.time_range().is_none_or(|(lo, _)| lo >= end) {
            return Ok(report);
        }
        // Each persist moves the head's start past its range, so this ends.
        while let Some((lo, _)) = self.head.time_range().filter(|(lo, _)| *lo < end) {
            let from = lo.div_euclid(range) * range;
            let to = from.saturating_add(range).min(end);
            report.written.extend(self.persist(from, to)?.as_ref().map(persisted));
        }
        report.wal_bytes_removed = self.truncate_wal(end)?;
        Ok(report)
    }

    fn cut_is_due(&self) -> bool {
        let range = self.options.block_range;
        self.head.time_range().is_some_and(|(lo, hi)| hi.saturating_sub(lo) > range / 2 * 3)
    }

    /// Cuts blocks while the head spans more than 1.5 block ranges; returns them.
    pub fn cut_due_blocks(&self) -> Result<Vec<BlockStats>, StorageError> {
        let _one_at_a_time = self.cutting.lock().unwrap_or_else(|e| e.into_inner());
        self.cut_while_due()
    }

    fn cut_while_due(&self) -> Result<Vec<BlockStats>, StorageError> {
        let range = self.options.block_range;
        let mut written = Vec::new();
        let mut cut_to = None;
        while self.cut_is_due() {
            let Some((lo, _)) = self.head.time_range() else { break };
            let from = lo.div_euclid(range) * range;
            let to = from.saturating_add(range);
            written.extend(self.persist(from, to)?);
            cut_to = Some(to);
        }
        if let Some(to) = cut_to {
            strata_failpoint::hit(strata_failpoint::Point::HeadCutBeforeCheckpoint);
            self.truncate_wal(to)?;
        }
        Ok(written)
    }

    /// Writes the head's samples in `[from, to)` as a block (none if it has none there) and
    /// drops them from the head; see the module docs for the order of the steps.
    fn persist(&self, from: i64, to: i64) -> Result<Option<BlockStats>, StorageError> {
        self.head.raise_min_valid_time(to);
        let stats = match self.head.write_block(&self.dir, from, to)? {
            None => None,
            Some(stats) => {
                self.add_block(Arc::new(BlockReader::open(&stats.dir)?));
                Some(stats)
            }
        };
        self.head.truncate(to);
        Ok(stats)
    }

    /// Puts a block just written into the block list, which stays sorted by min time.
    fn add_block(&self, reader: Arc<BlockReader>) {
        let mut blocks = self.blocks.write().unwrap_or_else(|e| e.into_inner());
        blocks.push(reader);
        blocks.sort_by_key(|b| b.meta().min_time);
    }

    /// After a cut: removes the series the cut left empty (once per cut, however many
    /// ranges it wrote: each pass starts a new grace period for new series), closes the
    /// WAL's segment and checkpoints what is before it, keeping samples from `min_time` on
    /// and leaving out the series the head removed; returns the bytes removed.
    fn truncate_wal(&self, min_time: i64) -> Result<u64, StorageError> {
        self.head.remove_stale_series();
        let closed = self.head.wal().cut_segment()?;
        let removed = self.head.removed_wal_refs();
        let mut sorted = removed.clone();
        sorted.sort_unstable();
        let keep = |r: u64| sorted.binary_search(&r).is_err();
        let report = strata_wal::checkpoint(self.head.wal().dir(), closed, min_time, keep)?;
        self.head.forget_removed_wal_refs(removed.len());
        Ok(report.bytes_removed)
    }

    /// Runs compactions while the planner finds one (see `compaction`); returns them. The
    /// planner sees one shard's blocks at a time, on levels that divide the shard duration,
    /// so no merge crosses a shard boundary; a shard behind the head is closed (no block can
    /// join it), and merged down to one block.
    pub fn compact(&self) -> Result<Vec<CompactionReport>, StorageError> {
        let _one_at_a_time = self.compacting.lock().unwrap_or_else(|e| e.into_inner());
        let ranges = self.shards.compaction_ranges(self.options.block_range, self.options.max_block_range);
        let mut done = Vec::new();
        loop {
            let failed = self.failed_compactions.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let blocks: Vec<_> = self
                .blocks()
                .into_iter()
                .filter(|b| !b.meta().compaction.failed && !failed.contains(&b.meta().ulid))
                .collect();
            let head_start = self.head.min_valid_time();
            let chosen = self.by_shard(&blocks).into_iter().find_map(|(window, in_shard)| {
                let candidates: Vec<Candidate<'_>> = in_shard
                    .iter()
                    .map(|b| Candidate {
                        meta: b.meta(),
                        tombstones: b.tombstones().values().map(|i| i.len() as u64).sum(),
                    })
                    .collect();
                let chosen = compaction::plan(&candidates, &ranges, window.end <= head_start);
                (!chosen.is_empty()).then_some(chosen)
            });
            let Some(chosen) = chosen else { return Ok(done) };
            let sources: Vec<_> = blocks.into_iter().filter(|b| chosen.contains(&b.meta().ulid)).collect();
            match self.merge(&sources) {
                Ok(report) => done.push(report),
                Err(e) => {
                    self.mark_failed(&sources);
                    return Err(e);
                }
            }
        }
    }

    /// One round of maintenance: the cuts that are due, the compactions, retention, then
    /// the moves to the cold tier.
    pub fn maintain(&self) -> Result<(), StorageError> {
        let cut = self.cut_due_blocks();
        let compacted = self.compact();
        let retained = if self.options.retention.is_unlimited() {
            Ok(())
        } else {
            self.enforce_retention().map(|report| report.log())
        };
        let cooled = self.move_cold_shards().map(|moved| {
            for m in moved {
                tracing::info!(shard = %m.window.name(), from = %m.from, to = %m.to, bytes_before = m.bytes_before,
                    bytes_after = m.bytes_after, "moved a shard to the cold tier");
            }
        });
        cut.and(compacted).and(retained).and(cooled).map(|_| ())
    }

    /// Marks blocks whose compaction failed, as Prometheus does (`compaction.failed` in
    /// meta.json, best effort), so the planner moves on to others instead of failing on
    /// them again.
    fn mark_failed(&self, sources: &[Arc<BlockReader>]) {
        let mut failed = self.failed_compactions.lock().unwrap_or_else(|e| e.into_inner());
        for b in sources {
            failed.insert(b.meta().ulid.clone());
            let mut meta = b.meta().clone();
            meta.compaction.failed = true;
            let _ = meta.replace_file(b.dir());
        }
    }

    /// Rewrites every block that has tombstones without the deleted samples; returns what
    /// it did.
    pub fn clean_tombstones(&self) -> Result<Vec<CompactionReport>, StorageError> {
        let _one_at_a_time = self.compacting.lock().unwrap_or_else(|e| e.into_inner());
        let mut done = Vec::new();
        for block in self.blocks().into_iter().filter(|b| !b.tombstones().is_empty()) {
            done.push(self.merge(&[block])?);
        }
        Ok(done)
    }

    /// Merges `sources` (sorted by time) into one block and swaps it in; the caller holds
    /// the compaction lock. See `compaction` for why this order is crash-safe.
    fn merge(&self, sources: &[Arc<BlockReader>]) -> Result<CompactionReport, StorageError> {
        // Cold blocks stay cold (a retention rewrite of one); anything else is written warm.
        match &self.options.cold_dir {
            Some(cold) if sources.iter().all(|b| b.is_dense()) => {
                self.merge_into(sources, cold, BlockFormat::Dense)
            }
            _ => self.merge_into(sources, &self.dir, BlockFormat::Xor),
        }
    }

    /// Merges `sources` into one block in `format` under `dir` (the data dir, or the cold
    /// dir for a move to the cold tier) and swaps it in; see [`BlockEngine::merge`].
    fn merge_into(
        &self,
        sources: &[Arc<BlockReader>],
        dir: &Path,
        format: BlockFormat,
    ) -> Result<CompactionReport, StorageError> {
        let started = std::time::Instant::now();
        let report = self.merge_untimed(sources, dir, format);
        if report.is_ok() {
            use std::sync::atomic::Ordering::Relaxed;
            self.compactions.fetch_add(1, Relaxed);
            self.compaction_micros.fetch_add(started.elapsed().as_micros() as u64, Relaxed);
        }
        report
    }

    fn merge_untimed(
        &self,
        sources: &[Arc<BlockReader>],
        dir: &Path,
        format: BlockFormat,
    ) -> Result<CompactionReport, StorageError> {
        let bytes_before = sources.iter().map(|b| dir_bytes(b.dir())).sum();
        let written = compaction::compact_blocks_as(dir, sources, format)?;
        let reader = written.as_ref().map(|w| BlockReader::open(&w.dir)).transpose()?;
        let ids: Vec<String> = sources.iter().map(|b| b.meta().ulid.clone()).collect();
        {
            let mut blocks = self.blocks.write().unwrap_or_else(|e| e.into_inner());
            blocks.retain(|b| !ids.contains(&b.meta().ulid));
            blocks.extend(reader.map(Arc::new));
            blocks.sort_by_key(|b| b.meta().min_time);
        }
        strata_failpoint::hit(strata_failpoint::Point::CompactionBeforeDelete);
        for (i, b) in sources.iter().enumerate() {
            if i == 1 {
                strata_failpoint::hit(strata_failpoint::Point::CompactionMidDelete);
            }
            // Readers still holding the block keep their maps; the files go now.
            std::fs::remove_dir_all(b.dir()).map_err(StorageError::io("removing", b.dir()))?;
        }
        Ok(CompactionReport {
            sources: ids,
            min_time: sources.iter().map(|b| b.meta().min_time).min().unwrap_or(0),
            max_time: sources.iter().map(|b| b.meta().max_time).max().unwrap_or(0),
            bytes_before,
            bytes_after: written.as_ref().map_or(0, |w| dir_bytes(&w.dir)),
            created: written.as_ref().map(persisted),
            level: written.as_ref().map(|w| w.meta.compaction.level),
        })
    }

    /// Starts maintenance in the background: a thread runs [`BlockEngine::maintain`] (due
    /// cuts, then compactions) every `every` until the returned handle is dropped (or the
    /// engine is). One cut and one compaction at a time, whoever starts them.
    pub fn start_maintenance(self: &Arc<Self>, every: Duration) -> BackgroundMaintenance {
        BackgroundMaintenance::spawn(Arc::downgrade(self), every)
    }

    /// After an append: cuts what is due, or wakes the maintenance thread that does it.
    /// Whoever finds the cutting lock taken leaves the cut to its holder.
    fn cut_after_append(&self) {
        if !self.cut_is_due() {
            return;
        }
        if self.cuts_in_background.load(std::sync::atomic::Ordering::Relaxed) {
            // The maintenance thread cuts; it is woken now rather than at its next round.
            if let Some(maintenance) = self.own_maintenance.get() {
                maintenance.poke();
            }
            return;
        }
        if let Ok(_one_at_a_time) = self.cutting.try_lock() {
            let outcome = self.cut_while_due().err().map(|e| e.to_string());
            *self.last_cut_error.lock().unwrap_or_else(|e| e.into_inner()) = outcome;
        }
    }

    /// Blocks whose time range overlaps `[mint, maxt]`.
    pub fn blocks_overlapping(&self, mint: i64, maxt: i64) -> Vec<Arc<BlockReader>> {
        self.blocks()
            .into_iter()
            .filter(|b| overlaps(b.meta().min_time, b.meta().max_time - 1, mint, maxt))
            .collect()
    }
}

/// Opens every block of `dirs` (the data dir, and the cold dir if there is one), oldest
/// first; damaged ones are returned apart.
fn open_blocks(dirs: &[PathBuf]) -> Result<(Vec<Arc<BlockReader>>, Vec<SkippedBlock>), StorageError> {
    let (mut blocks, mut skipped) = (Vec::new(), Vec::new());
    for dir in dirs {
        let entries = std::fs::read_dir(dir).map_err(StorageError::io("listing", dir))?;
        for entry in entries {
            let entry = entry.map_err(StorageError::io("listing", dir))?;
            let path = entry.path();
            let Some(name) = entry.file_name().to_str().map(str::to_string) else { continue };
            if !path.is_dir() {
                continue;
            }
            let leftover = name.get(..26).is_some_and(is_ulid) && name[26..].starts_with(".tmp");
            if leftover {
                std::fs::remove_dir_all(&path).map_err(StorageError::io("removing", &path))?;
            } else if is_ulid(&name) {
                match BlockReader::open(&path) {
                    Ok(block) => blocks.push(Arc::new(block)),
                    Err(e) => skipped.push(SkippedBlock { dir: path, error: e.to_string() }),
                }
            }
        }
    }
    // Sources of a compaction (or of a move to the cold dir) that finished — its result
    // names them as parents — but were not deleted before a crash: delete them now, or
    // their samples would be there twice.
    let parents: BTreeSet<String> =
        blocks.iter().flat_map(|b| b.meta().compaction.parents.iter().map(|p| p.ulid.clone())).collect();
    for dir in dirs {
        for ulid in &parents {
            let path = dir.join(ulid);
            if path.is_dir() {
                std::fs::remove_dir_all(&path).map_err(StorageError::io("removing", &path))?;
            }
        }
    }
    let is_parent = |path: &Path| path.file_name().is_some_and(|n| parents.contains(&*n.to_string_lossy()));
    blocks.retain(|b| !is_parent(b.dir()));
    skipped.retain(|s| !is_parent(&s.dir));
    blocks.sort_by_key(|b| b.meta().min_time);
    Ok((blocks, skipped))
}

/// Hard-links every file of block `from` into a new directory `to` (blocks are never
/// modified in place: a delete replaces `tombstones` by a rename, which leaves the link
/// pointing at the old file).
fn link_block(from: &Path, to: &Path) -> Result<(), StorageError> {
    std::fs::create_dir_all(to).map_err(StorageError::io("creating", to))?;
    for entry in std::fs::read_dir(from).map_err(StorageError::io("listing", from))? {
        let entry = entry.map_err(StorageError::io("listing", from))?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        if source.is_dir() {
            link_block(&source, &target)?;
        } else if !entry.file_name().to_string_lossy().ends_with(".tmp") {
            std::fs::hard_link(&source, &target).map_err(StorageError::io("linking", &source))?;
        }
    }
    std::fs::File::open(to).and_then(|d| d.sync_all()).map_err(StorageError::io("syncing", to))
}

pub(super) fn persisted(stats: &BlockStats) -> Persisted {
    let meta = &stats.meta;
    Persisted {
        id: meta.ulid.clone(),
        min_time: meta.min_time,
        max_time: meta.max_time,
        series: meta.stats.num_series,
        samples: meta.stats.num_samples,
        chunks: meta.stats.num_chunks,
        chunk_bytes: stats.chunk_bytes,
        index_bytes: stats.index_bytes,
    }
}

impl Engine for BlockEngine {
    fn settled_range(&self) -> Option<(i64, i64)> {
        let oldest_block = self.blocks().iter().map(|b| b.meta().min_time).min();
        let oldest_head = self.head.time_range().map(|(lo, _)| lo);
        let oldest = oldest_block.into_iter().chain(oldest_head).min()?;
        Some((oldest, self.head.min_valid_time()))
    }

    fn series_refs(&self, labels: &[Labels]) -> Result<Vec<AppendRef>, StorageError> {
        self.head.series_refs(labels)
    }

    fn series_refs_admitted(
        &self,
        labels: &[Labels],
    ) -> Result<Vec<Result<AppendRef, String>>, StorageError> {
        self.head.series_refs_admitted(labels)
    }

    fn append_refs(&self, batch: &[(AppendRef, i64, f64)]) -> Result<AppendResult, StorageError> {
        let result = self.head.append_refs(batch)?;
        self.cut_after_append();
        Ok(result)
    }

    fn backfill(&self, series: &[BackfillSeries]) -> Result<BackfillReport, StorageError> {
        self.backfill_series(series)
    }

    fn append(&self, batch: &[(Labels, i64, f64)]) -> Result<AppendResult, StorageError> {
        // The head resolves labels without copying them (the trait's default would).
        let result = self.head.append(batch)?;
        self.cut_after_append();
        Ok(result)
    }

    fn append_histograms(
        &self,
        batch: &[(Labels, i64, HistogramValue)],
    ) -> Result<AppendResult, StorageError> {
        let result = self.head.append_histograms(batch)?;
        self.cut_after_append();
        Ok(result)
    }

    fn append_unsynced(&self, batch: &[(Labels, i64, f64)]) -> Result<AppendResult, StorageError> {
        let result = self.head.append_unsynced(batch)?;
        self.cut_after_append();
        Ok(result)
    }

    fn sync_wal(&self) -> Result<(), StorageError> {
        self.head.sync_wal()
    }

    fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Series>, StorageError> {
        let head = self.head.select(matchers, mint, maxt);
        let mut by_labels = self.select_from_blocks(matchers, mint, maxt)?;
        if by_labels.is_empty() && self.options.retention.rules.is_empty() {
            return Ok(head); // sorted by labels already: no merge to make
        }
        for series in head {
            let (labels, chunks) = series.into_parts();
            by_labels.entry(labels).or_default().extend(chunks);
        }
        // Samples a retention rule expired are never returned, removed yet or not.
        let policy = &self.options.retention;
        let reference = (!policy.rules.is_empty()).then(|| self.retention_reference());
        Ok(by_labels
            .into_iter()
            .filter_map(|(labels, chunks)| {
                let from = reference.map_or(mint, |r| mint.max(policy.hidden_before(&labels, r)));
                let kept = from <= maxt && chunks.iter().any(|c| c.maxt >= from);
                kept.then(|| Series::new(labels, chunks, from, maxt))
            })
            .collect())
    }

    /// From the head alone, without listing chunks, when `head_alone`; otherwise as
    /// `select` answers.
    fn series_labels(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Labels>, StorageError> {
        if self.head_alone(mint, maxt) {
            return Ok(self.head.labels_with_samples(matchers, mint, maxt));
        }
        Ok(crate::engine::labels_with_samples(self.select(matchers, mint, maxt)?))
    }

    /// From the head's index alone, as `series_labels`; otherwise from the series' labels.
    fn distinct_label_values(
        &self,
        matchers: &[Matcher],
        names: &[&str],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Vec<Option<String>>>, StorageError> {
        if self.head_alone(mint, maxt) {
            return Ok(self.head.distinct_values(matchers, names, mint, maxt));
        }
        Ok(crate::engine::distinct_values_of(&self.series_labels(matchers, mint, maxt)?, names))
    }

    fn label_names(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<String>, StorageError> {
        let mut names = BTreeSet::new();
        if matchers.is_empty() {
            names.extend(self.head.index().label_names(&[]));
            for block in self.blocks_overlapping(mint, maxt) {
                names.extend(block.label_pairs().map(|(n, _)| n.to_string()));
            }
        } else {
            for series in self.select(matchers, mint, maxt)? {
                names.extend(series.labels().iter().map(|l| l.name.to_string()));
            }
        }
        Ok(names.into_iter().collect())
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, StorageError> {
        let mut values = BTreeSet::new();
        if matchers.is_empty() {
            values.extend(self.head.index().label_values(name, &[]));
            for block in self.blocks_overlapping(mint, maxt) {
                values.extend(block.label_pairs().filter(|(n, _)| *n == name).map(|(_, v)| v.to_string()));
            }
        } else {
            for series in self.select(matchers, mint, maxt)? {
                values.extend(series.labels().get(name).map(str::to_string));
            }
        }
        Ok(values.into_iter().collect())
    }

    fn delete(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<u64, StorageError> {
        let _no_compaction_meanwhile = self.compacting.lock().unwrap_or_else(|e| e.into_inner());
        let mut touched: BTreeSet<Labels> = self.head.delete(matchers, mint, maxt)?.into_iter().collect();
        for block in self.blocks_overlapping(mint, maxt) {
            touched.extend(block.delete(matchers, mint, maxt)?);
        }
        Ok(touched.len() as u64)
    }

    fn delete_series(&self, series: &[Labels]) -> Result<u64, StorageError> {
        let _no_compaction_meanwhile = self.compacting.lock().unwrap_or_else(|e| e.into_inner());
        let mut touched: BTreeSet<Labels> = self.head.delete_series(series)?.into_iter().collect();
        for block in self.blocks() {
            touched.extend(block.delete_series(series)?);
        }
        Ok(touched.len() as u64)
    }

    fn flush(&self) -> Result<FlushReport, StorageError> {
        let Some((_, hi)) = self.head.time_range() else { return Ok(FlushReport::default()) };
        self.cut_head_before(hi.saturating_add(1))
    }

    fn snapshot(&self, out: &Path) -> Result<SnapshotReport, StorageError> {
        self.snapshot_with(out, true)
    }

    fn stats(&self) -> Result<EngineStats, StorageError> {
        let head = self.head.stats();
        let blocks = self.blocks();
        let mut stats = EngineStats {
            head_series: head.series,
            head_series_removed: head.series_removed,
            head_samples: head.samples,
            head_chunks: head.chunks,
            head_memory_bytes: head.chunk_bytes + head.index_bytes,
            head_index_bytes: head.index_bytes,
            head_encoded_bytes: head.encoded_bytes,
            blocks: blocks.len() as u64,
            wal_bytes: dir_bytes(self.head.wal().dir()),
            rejected_samples: head.rejected,
            skipped_blocks: self.skipped.len() as u64,
            compactions: self.compactions.load(std::sync::atomic::Ordering::Relaxed),
            compaction_micros: self.compaction_micros.load(std::sync::atomic::Ordering::Relaxed),
            wal_fsyncs: self.head.wal().stats().fsyncs,
            ..EngineStats::default()
        };
        for b in &blocks {
            let m = b.meta();
            stats.block_series += m.stats.num_series;
            stats.block_samples += m.stats.num_samples;
            stats.block_chunks += m.stats.num_chunks;
            stats.block_bytes += dir_bytes(b.dir());
        }
        Ok(stats)
    }
}
