//! Enforcing the retention policy on the blocks (module `crate::retention` says what
//! expires and when; this is how).
//!
//! One pass, under the compaction lock (no merge meanwhile, so the block list holds still):
//! 1. **Time**: a shard whose every block ends at or before the reference time minus the
//!    longest retention anyone gets is deleted whole — unless it holds samples at or after
//!    the retention hold (`hold_retention`: what the rollup job has not rolled up yet).
//! 2. **Size**: while the blocks and the WAL take more than the limit, the oldest shard is
//!    deleted whole; the newest is never deleted.
//! 3. **Rules**: in each remaining block that starts before the reference minus the shortest
//!    retention, every series whose own retention has expired part of the block gets a
//!    tombstone over that part, and the block is rewritten without it (compaction's
//!    rewrite). The expired part is rounded down to the block range, so a block is
//!    rewritten at most once a block range as time moves on; queries hide what the rounding
//!    leaves (they apply each series' retention exactly).
//!
//! Deleting a block: it leaves the block list first (queries started before keep their
//! maps), then its directory is renamed to `<ULID>.tmp-for-deletion` and removed. A crash
//! in between leaves a `.tmp` directory, which open removes — a block is served whole or
//! not at all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use std::path::Path;

use super::retention_ledger::RetentionLedger;
use super::BlockEngine;
use crate::block::BlockReader;
use crate::disk_usage::dir_bytes;
use crate::shard::ShardWindow;
use crate::StorageError;

/// Why a shard was deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Every sample in it had expired.
    Time,
    /// The size limit.
    Size,
}

/// A shard retention deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct DroppedShard {
    /// Its window.
    pub window: ShardWindow,
    /// Why.
    pub reason: DropReason,
    /// Its blocks' ids.
    pub blocks: Vec<String>,
    /// Samples they held.
    pub samples: u64,
    /// Bytes freed.
    pub bytes: u64,
}

/// What one retention pass did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RetentionReport {
    /// The time retention counted back from (ms).
    pub reference: i64,
    /// Shards deleted whole.
    pub dropped: Vec<DroppedShard>,
    /// Blocks rewritten without their expired series: (block id, series expired in it).
    pub rewritten: Vec<(String, u64)>,
    /// Series expired, per rule (index into the policy's rules; the global retention is
    /// `rules.len()`).
    pub expired_by_rule: Vec<u64>,
    /// Bytes freed in all.
    pub bytes_freed: u64,
}

impl RetentionReport {
    /// Logs what was freed, if anything.
    pub(super) fn log(&self) {
        for d in &self.dropped {
            tracing::info!(
                shard = %d.window.name(),
                reason = ?d.reason,
                blocks = d.blocks.len(),
                samples = d.samples,
                bytes = d.bytes,
                "retention: deleted a shard"
            );
        }
        if !self.rewritten.is_empty() {
            tracing::info!(
                blocks = self.rewritten.len(),
                bytes_freed = self.bytes_freed,
                "retention: rewrote blocks without expired series"
            );
        }
    }
}

/// What retention has done (persisted in the ledger) and what it has checked since open.
#[derive(Debug, Default)]
pub(super) struct RetentionTotals {
    ledger: Mutex<RetentionLedger>,
    /// Each block's last check: the reference time (in block ranges) it was made for.
    checked: Mutex<HashMap<String, i64>>,
}

impl RetentionTotals {
    /// The totals of the data dir `dir` (its ledger), and why it could not be read, if so.
    pub(super) fn open(dir: &Path) -> (RetentionTotals, Option<String>) {
        let (ledger, problem) = RetentionLedger::load(dir);
        (RetentionTotals { ledger: Mutex::new(ledger), checked: Mutex::default() }, problem)
    }
}

impl BlockEngine {
    /// The time retention counts back from: the newest head sample or the end of the
    /// newest block, but never later than the wall clock (see module `crate::retention`).
    pub fn retention_reference(&self) -> i64 {
        let newest_block = self.blocks().iter().map(|b| b.meta().max_time - 1).max();
        let newest_head = self.head.time_range().map(|(_, hi)| hi);
        let now = self.options.clock.now();
        newest_block.max(newest_head).map_or(now, |newest| newest.min(now))
    }

    /// Keeps time retention from deleting samples stamped at or after `t` (a shard goes only
    /// once all of its blocks end by then), until a later call moves it: the rollup job holds
    /// raw samples it has not rolled up yet. `i64::MAX` releases the hold.
    pub fn hold_retention(&self, t: i64) {
        self.retention_hold.store(t, std::sync::atomic::Ordering::SeqCst);
    }

    /// What retention has freed since the data dir was made (module `retention_ledger`).
    pub fn retention_totals(&self) -> RetentionLedger {
        self.retention_totals.ledger.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// One retention pass (see the module docs); what it freed.
    pub fn enforce_retention(&self) -> Result<RetentionReport, StorageError> {
        let _no_compaction_meanwhile = self.compacting.lock().unwrap_or_else(|e| e.into_inner());
        let policy = &self.options.retention;
        let mut report = RetentionReport {
            reference: self.retention_reference(),
            expired_by_rule: vec![0; policy.rules.len() + 1],
            ..RetentionReport::default()
        };
        if let Some(longest) = policy.longest() {
            let hold = self.retention_hold.load(std::sync::atomic::Ordering::SeqCst);
            let cutoff = report.reference.saturating_sub(longest).min(hold);
            for (window, blocks) in self.by_shard(&self.blocks()) {
                if blocks.iter().all(|b| b.meta().max_time <= cutoff) {
                    report.dropped.push(self.drop_shard(window, &blocks, DropReason::Time)?);
                }
            }
        }
        if let Some(limit) = policy.size {
            self.drop_oldest_while_over(limit, &mut report)?;
        }
        if policy.shortest().is_some_and(|s| Some(s) != policy.longest()) {
            self.expire_series(&mut report)?;
        }
        report.bytes_freed += report.dropped.iter().map(|d| d.bytes).sum::<u64>();
        self.add_to_totals(&report)?;
        Ok(report)
    }

    fn drop_oldest_while_over(&self, limit: u64, report: &mut RetentionReport) -> Result<(), StorageError> {
        loop {
            let blocks = self.blocks();
            let wal = dir_bytes(self.head.wal().dir());
            let total: u64 = wal + blocks.iter().map(|b| dir_bytes(b.dir())).sum::<u64>();
            let shards = self.by_shard(&blocks);
            if total <= limit || shards.len() <= 1 {
                return Ok(());
            }
            let (window, oldest) = &shards[0];
            report.dropped.push(self.drop_shard(*window, oldest, DropReason::Size)?);
        }
    }

    /// Deletes every block of one shard (see the module docs for the order).
    fn drop_shard(
        &self,
        window: ShardWindow,
        blocks: &[&Arc<BlockReader>],
        reason: DropReason,
    ) -> Result<DroppedShard, StorageError> {
        let ids: Vec<String> = blocks.iter().map(|b| b.meta().ulid.clone()).collect();
        let bytes = blocks.iter().map(|b| dir_bytes(b.dir())).sum();
        let samples = blocks.iter().map(|b| b.meta().stats.num_samples).sum();
        self.blocks.write().unwrap_or_else(|e| e.into_inner()).retain(|b| !ids.contains(&b.meta().ulid));
        for b in blocks {
            let doomed = b.dir().with_file_name(format!("{}.tmp-for-deletion", b.meta().ulid));
            std::fs::rename(b.dir(), &doomed).map_err(StorageError::io("renaming", b.dir()))?;
            std::fs::remove_dir_all(&doomed).map_err(StorageError::io("removing", &doomed))?;
        }
        Ok(DroppedShard { window, reason, blocks: ids, samples, bytes })
    }

    /// Step 3 of the module docs.
    fn expire_series(&self, report: &mut RetentionReport) -> Result<(), StorageError> {
        let policy = &self.options.retention;
        let Some(shortest) = policy.shortest() else { return Ok(()) };
        let range = self.options.block_range;
        let period = report.reference.div_euclid(range);
        for block in self.blocks() {
            let meta = block.meta();
            if meta.min_time >= report.reference.saturating_sub(shortest)
                || self.checked_for(&meta.ulid, period)
            {
                continue;
            }
            let stones = block.tombstones();
            let mut intervals = Vec::new();
            for r in block.series_refs()? {
                let (labels, chunks) = block.series(r)?;
                // Rounded down to the block range: see the module docs.
                let kept_from =
                    policy.kept_from(&labels, report.reference).div_euclid(range).saturating_mul(range);
                let oldest = chunks.iter().map(|c| c.mint).min().unwrap_or(i64::MAX);
                if kept_from <= oldest {
                    continue;
                }
                let (from, to) = (oldest, kept_from.min(meta.max_time) - 1);
                let done = stones.get(&r).is_some_and(|i| crate::block::tombstones::covers(i, from, to));
                if !done {
                    intervals.push((r, from, to));
                    report.expired_by_rule
                        [policy.rule_for(&labels).map_or(policy.rules.len(), |(i, _)| i)] += 1;
                }
            }
            self.mark_checked(&meta.ulid, period);
            if !intervals.is_empty() {
                block.delete_ranges(&intervals)?;
                let rewrite = self.merge(&[Arc::clone(&block)])?;
                report.bytes_freed += rewrite.bytes_before.saturating_sub(rewrite.bytes_after);
                report.rewritten.push((meta.ulid.clone(), intervals.len() as u64));
                if let Some(created) = &rewrite.created {
                    self.mark_checked(&created.id, period);
                }
            }
        }
        Ok(())
    }

    fn checked_for(&self, ulid: &str, period: i64) -> bool {
        self.retention_totals.checked.lock().unwrap_or_else(|e| e.into_inner()).get(ulid) == Some(&period)
    }

    fn mark_checked(&self, ulid: &str, period: i64) {
        self.retention_totals
            .checked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(ulid.to_string(), period);
    }

    /// Adds a pass to the ledger and saves it, if the pass freed anything.
    fn add_to_totals(&self, report: &RetentionReport) -> Result<(), StorageError> {
        let expired: u64 = report.expired_by_rule.iter().sum();
        if report.dropped.is_empty() && report.bytes_freed == 0 && expired == 0 {
            return Ok(());
        }
        let rules = &self.options.retention.rules;
        let mut ledger = self.retention_totals.ledger.lock().unwrap_or_else(|e| e.into_inner());
        ledger.shards_dropped += report.dropped.len() as u64;
        ledger.bytes_freed += report.bytes_freed;
        for (i, &n) in report.expired_by_rule.iter().enumerate().filter(|(_, n)| **n > 0) {
            let selector = rules.get(i).map_or(String::new(), |r| r.selector.clone());
            *ledger.series_expired.entry(selector).or_default() += n;
        }
        ledger.save(&self.dir)
    }
}
