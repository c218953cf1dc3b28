//! Time shards over the TSM engine, as InfluxDB keeps shard groups: one [`TsmEngine`] per
//! aligned window of `shard_duration`, in `DIR/shards/<start ms>_<end ms>/`, and retention
//! that drops a whole shard once its window ended more than `retention` ago (by the wall
//! clock, as influxd's retention service does) — a delete that costs one directory removal.
//!
//! A series has one ref across shards (a global index of labels); each shard keeps its own
//! refs, looked up once per series and shard. A write is split by window and each part goes
//! to its shard; a read asks every shard whose window overlaps the range and joins a
//! series' points in window order (windows do not overlap, so the join stays sorted).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use strata_index::{SeriesIndex, SeriesRef};
use strata_model::{Labels, Matcher};
use strata_storage::{
    AppendRef, AppendResult, DirLock, Engine, EngineStats, FlushReport, Rejected, Series, SnapshotReport,
    StorageError, NS_PER_MS,
};

use crate::engine::{TsmEngine, TsmOptions};

/// One shard: its engine and the global → local ref map (indexed by global ref, holding
/// the local ref + 1, 0 for a series the shard has not seen: refs are dense).
#[derive(Debug)]
struct Shard {
    start: i64,
    end: i64,
    engine: TsmEngine,
    refs: RwLock<Vec<u32>>,
}

/// The sharded engine; see the module docs.
#[derive(Debug)]
pub struct ShardedTsm {
    _lock: DirLock,
    dir: PathBuf,
    options: TsmOptions,
    shard_duration: i64,
    retention: Option<i64>,
    index: SeriesIndex,
    /// By window start.
    shards: RwLock<BTreeMap<i64, Arc<Shard>>>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StorageError + '_ {
    move |source| StorageError::Io { op: "tsm shards", path: path.to_path_buf(), source }
}

/// The window `[start, end)` of a shard dir's name.
fn parse_window(name: &str) -> Option<(i64, i64)> {
    let (a, b) = name.split_once('_')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

impl ShardedTsm {
    /// Opens (or creates) `dir` with shards of `shard_duration` ms, dropping shards that
    /// ended more than `retention` ms ago (`None`: kept until deleted).
    pub fn open(
        dir: &Path,
        options: TsmOptions,
        shard_duration: i64,
        retention: Option<i64>,
    ) -> Result<ShardedTsm, StorageError> {
        if shard_duration <= 0 {
            return Err(StorageError::Invalid(format!(
                "shard duration {shard_duration} ms must be positive"
            )));
        }
        let root = dir.join("shards");
        std::fs::create_dir_all(&root).map_err(io(&root))?;
        let lock = DirLock::acquire(dir)?;
        let engine = ShardedTsm {
            _lock: lock,
            dir: dir.to_path_buf(),
            options,
            shard_duration,
            retention,
            index: SeriesIndex::new(),
            shards: RwLock::new(BTreeMap::new()),
        };
        let mut names: Vec<(i64, i64, PathBuf)> = std::fs::read_dir(&root)
            .map_err(io(&root))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter_map(|p| parse_window(p.file_name()?.to_str()?).map(|(s, e)| (s, e, p)))
            .collect();
        names.sort();
        for (start, end, path) in names {
            let shard = TsmEngine::open(&path, engine.options.clone())?;
            for r in shard.index().all_series().iter() {
                if let Some(labels) = shard.index().labels(SeriesRef(r)) {
                    engine.index.get_or_create(&labels)?;
                }
            }
            let shard = Shard { start, end, engine: shard, refs: RwLock::new(Vec::new()) };
            engine.shards.write().unwrap_or_else(|e| e.into_inner()).insert(start, Arc::new(shard));
        }
        engine.enforce_retention(wall_clock())?;
        Ok(engine)
    }

    /// The shards' windows `[start, end)` (ms), oldest first.
    pub fn windows(&self) -> Vec<(i64, i64)> {
        self.shards.read().unwrap_or_else(|e| e.into_inner()).values().map(|s| (s.start, s.end)).collect()
    }

    /// Bytes in the shards' caches.
    pub fn cache_bytes(&self) -> u64 {
        self.all().iter().map(|s| s.engine.cache_bytes()).sum()
    }

    /// The earliest and latest time (ms) of the data, if there is any.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        let ranges = self.all().iter().filter_map(|s| s.engine.time_range()).collect::<Vec<_>>();
        let lo = ranges.iter().map(|r| r.0).min()?;
        Some((lo, ranges.iter().map(|r| r.1).max()?))
    }

    /// Files found damaged at open and left out, with why, over every shard.
    pub fn skipped_files(&self) -> Vec<(PathBuf, String)> {
        self.all().iter().flat_map(|s| s.engine.skipped_files().to_vec()).collect()
    }

    /// Every shard's cache snapshotted and its files compacted into one.
    pub fn compact_fully(&self) -> Result<(), StorageError> {
        for shard in self.all() {
            shard.engine.snapshot_cache()?;
            while shard.engine.compact_once(true)?.is_some() {}
        }
        Ok(())
    }

    /// The global series index.
    pub fn index(&self) -> &SeriesIndex {
        &self.index
    }

    /// Drops every shard whose window ended more than the retention before `now` (ms);
    /// returns the windows dropped.
    pub fn enforce_retention(&self, now: i64) -> Result<Vec<(i64, i64)>, StorageError> {
        let Some(keep) = self.retention else { return Ok(Vec::new()) };
        let expired: Vec<Arc<Shard>> = {
            let mut shards = self.shards.write().unwrap_or_else(|e| e.into_inner());
            let starts: Vec<i64> =
                shards.values().filter(|s| s.end <= now.saturating_sub(keep)).map(|s| s.start).collect();
            starts.into_iter().filter_map(|s| shards.remove(&s)).collect()
        };
        let mut dropped = Vec::new();
        for shard in expired {
            let window = (shard.start, shard.end);
            let path = self.shard_dir(shard.start, shard.end);
            // Readers that took the shard before it left the map finish with it; its files
            // go once the last of them lets go (the engine and its maps close on drop).
            drop(shard);
            std::fs::remove_dir_all(&path).map_err(io(&path))?;
            dropped.push(window);
        }
        Ok(dropped)
    }

    fn shard_dir(&self, start: i64, end: i64) -> PathBuf {
        self.dir.join("shards").join(format!("{start}_{end}"))
    }

    fn all(&self) -> Vec<Arc<Shard>> {
        self.shards.read().unwrap_or_else(|e| e.into_inner()).values().cloned().collect()
    }

    /// The shard holding time `t`, created if new.
    fn shard_for(&self, t: i64) -> Result<Arc<Shard>, StorageError> {
        let start = t.div_euclid(self.shard_duration) * self.shard_duration;
        if let Some(s) = self.shards.read().unwrap_or_else(|e| e.into_inner()).get(&start) {
            return Ok(s.clone());
        }
        let mut shards = self.shards.write().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = shards.get(&start) {
            return Ok(s.clone());
        }
        let end = start.saturating_add(self.shard_duration);
        let engine = TsmEngine::open(&self.shard_dir(start, end), self.options.clone())?;
        let shard = Arc::new(Shard { start, end, engine, refs: RwLock::new(Vec::new()) });
        shards.insert(start, shard.clone());
        Ok(shard)
    }

    /// The shard's refs of the global refs of `batch` at `positions`: one lock for the
    /// known ones, the new ones made in one call.
    fn local_refs(
        &self,
        shard: &Shard,
        batch: &[(AppendRef, i64, f64)],
        positions: &[usize],
    ) -> Result<Vec<AppendRef>, StorageError> {
        let mut out = Vec::with_capacity(positions.len());
        let mut missing = Vec::new();
        {
            let refs = shard.refs.read().unwrap_or_else(|e| e.into_inner());
            for &i in positions {
                let r = batch[i].0.id();
                match refs.get(r as usize).copied().unwrap_or(0) {
                    0 => {
                        missing.push(r);
                        out.push(AppendRef::new(u32::MAX)); // filled in below
                    }
                    local => out.push(AppendRef::new(local - 1)),
                }
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        missing.sort_unstable();
        missing.dedup();
        let labels = missing
            .iter()
            .map(|&r| {
                self.index
                    .labels(SeriesRef(r))
                    .ok_or_else(|| StorageError::Invalid(format!("unknown series ref {r}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let made = shard.engine.series_refs(&labels)?;
        let mut refs = shard.refs.write().unwrap_or_else(|e| e.into_inner());
        for (&r, local) in missing.iter().zip(made) {
            if refs.len() <= r as usize {
                refs.resize(r as usize + 1, 0);
            }
            refs[r as usize] = local.id() + 1;
        }
        for (slot, &i) in out.iter_mut().zip(positions) {
            if slot.id() == u32::MAX {
                *slot = AppendRef::new(refs[batch[i].0.id() as usize] - 1);
            }
        }
        Ok(out)
    }

    /// Appends a batch whose timestamps count `unit` nanoseconds each (`NS_PER_MS`: Strata's
    /// milliseconds; 1: InfluxDB's nanoseconds), each point to the shard of its millisecond.
    fn append_in(&self, batch: &[(AppendRef, i64, f64)], unit: i64) -> Result<AppendResult, StorageError> {
        let per_ms = NS_PER_MS / unit;
        let mut result = AppendResult::default();
        // A point whose shard retention would drop is refused, as influxd refuses writes to
        // an expired shard group, rather than written and dropped a minute later.
        let horizon = self.retention.map(|keep| wall_clock().saturating_sub(keep));
        let mut by_window: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
        for (i, &(_, t, _)) in batch.iter().enumerate() {
            let window = t.div_euclid(per_ms).div_euclid(self.shard_duration);
            let end = window.saturating_add(1).saturating_mul(self.shard_duration);
            match horizon {
                Some(h) if end <= h => result.rejected.push(Rejected {
                    index: i,
                    reason: format!("out of bounds: timestamp {t} falls in a shard already past the retention (it ended at {end})"),
                }),
                _ => by_window.entry(window).or_default().push(i),
            }
        }
        for positions in by_window.values() {
            let shard = self.shard_for(batch[positions[0]].1.div_euclid(per_ms))?;
            let locals = self.local_refs(&shard, batch, positions)?;
            let part: Vec<_> =
                positions.iter().zip(locals).map(|(&i, local)| (local, batch[i].1, batch[i].2)).collect();
            let done = if unit == 1 {
                shard.engine.append_refs_ns(&part)?
            } else {
                shard.engine.append_refs(&part)?
            };
            result.accepted += done.accepted;
            result.out_of_order += done.out_of_order;
            result.rejected.extend(done.rejected.into_iter().map(|mut r| {
                r.index = positions[r.index];
                r
            }));
        }
        result.rejected.sort_by_key(|r| r.index);
        Ok(result)
    }

    /// The series the matchers select with points in `[lo, hi]`, in units of `unit`
    /// nanoseconds (see `append_in`): every overlapping shard asked, a series' parts joined.
    fn select_in(
        &self,
        matchers: &[Matcher],
        lo: i64,
        hi: i64,
        unit: i64,
    ) -> Result<Vec<Series>, StorageError> {
        let per_ms = NS_PER_MS / unit;
        let select = |engine: &TsmEngine, lo: i64, hi: i64| {
            if unit == 1 {
                engine.select_ns(matchers, lo, hi)
            } else {
                engine.select(matchers, lo, hi)
            }
        };
        let shards = self.overlapping(lo.div_euclid(per_ms), hi.div_euclid(per_ms));
        if let [shard] = shards.as_slice() {
            return select(&shard.engine, lo, hi); // one shard: nothing to join
        }
        let mut joined: BTreeMap<Labels, Vec<(i64, f64)>> = BTreeMap::new();
        for shard in shards {
            let (start, end) = (shard.start.saturating_mul(per_ms), shard.end.saturating_mul(per_ms));
            for series in select(&shard.engine, lo.max(start), hi.min(end - 1))? {
                let samples = series.collect_samples()?;
                joined.entry(series.into_labels()).or_default().extend(samples);
            }
        }
        Ok(joined
            .into_iter()
            .map(|(labels, samples)| Series::from_samples(labels, samples, lo, hi))
            .collect())
    }

    fn overlapping(&self, mint: i64, maxt: i64) -> Vec<Arc<Shard>> {
        self.all().into_iter().filter(|s| s.end > mint && s.start <= maxt).collect()
    }
}

fn wall_clock() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl Engine for ShardedTsm {
    fn series_refs(&self, labels: &[Labels]) -> Result<Vec<AppendRef>, StorageError> {
        labels.iter().map(|l| Ok(AppendRef::new(self.index.get_or_create(l)?.0))).collect()
    }

    fn append_refs(&self, batch: &[(AppendRef, i64, f64)]) -> Result<AppendResult, StorageError> {
        self.append_in(batch, NS_PER_MS)
    }

    /// InfluxDB's engine takes writes of any age, so a backfill is an append of the
    /// timestamps not held yet.
    fn backfill(
        &self,
        series: &[strata_storage::BackfillSeries],
    ) -> Result<strata_storage::BackfillReport, StorageError> {
        strata_storage::backfill::backfill_by_append(self, series)
    }

    /// Every shard keeps InfluxDB's nanoseconds.
    fn resolution_ns(&self) -> i64 {
        1
    }

    fn append_refs_ns(&self, batch: &[(AppendRef, i64, f64)]) -> Result<AppendResult, StorageError> {
        self.append_in(batch, 1)
    }

    fn append_ns(&self, batch: &[(Labels, i64, f64)]) -> Result<AppendResult, StorageError> {
        let labels: Vec<Labels> = batch.iter().map(|(l, _, _)| l.clone()).collect();
        let refs = self.series_refs(&labels)?;
        let by_ref: Vec<_> = refs.into_iter().zip(batch).map(|(r, (_, t, v))| (r, *t, *v)).collect();
        self.append_in(&by_ref, 1)
    }

    fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Series>, StorageError> {
        self.select_in(matchers, mint, maxt, NS_PER_MS)
    }

    fn select_ns(&self, matchers: &[Matcher], min_ns: i64, max_ns: i64) -> Result<Vec<Series>, StorageError> {
        self.select_in(matchers, min_ns, max_ns, 1)
    }

    fn sync_wal(&self) -> Result<(), StorageError> {
        self.all().iter().try_for_each(|s| s.engine.sync_wal())
    }

    fn label_names(&self, matchers: &[Matcher], _mint: i64, _maxt: i64) -> Result<Vec<String>, StorageError> {
        Ok(self.index.label_names(matchers))
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        _mint: i64,
        _maxt: i64,
    ) -> Result<Vec<String>, StorageError> {
        Ok(self.index.label_values(name, matchers))
    }

    fn delete(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<u64, StorageError> {
        let mut touched = 0;
        for shard in self.overlapping(mint, maxt) {
            touched = touched.max(shard.engine.delete(matchers, mint, maxt)?);
        }
        Ok(touched)
    }

    fn flush(&self) -> Result<FlushReport, StorageError> {
        let mut report = FlushReport::default();
        for shard in self.all() {
            let r = shard.engine.flush()?;
            report.written.extend(r.written);
            report.wal_bytes_removed += r.wal_bytes_removed;
        }
        Ok(report)
    }

    fn snapshot(&self, out: &Path) -> Result<SnapshotReport, StorageError> {
        let mut report = SnapshotReport::default();
        for shard in self.all() {
            let dir = out.join("shards").join(format!("{}_{}", shard.start, shard.end));
            let r = shard.engine.snapshot(&dir)?;
            report.linked.extend(r.linked);
            if r.written.is_some() {
                report.written = r.written;
            }
        }
        Ok(report)
    }

    fn stats(&self) -> Result<EngineStats, StorageError> {
        let mut total = EngineStats::default();
        for shard in self.all() {
            let s = shard.engine.stats()?;
            total.head_series += s.head_series;
            total.head_samples += s.head_samples;
            total.head_memory_bytes += s.head_memory_bytes;
            total.blocks += s.blocks;
            total.block_series += s.block_series;
            total.block_samples += s.block_samples;
            total.block_chunks += s.block_chunks;
            total.block_bytes += s.block_bytes;
            total.wal_bytes += s.wal_bytes;
            total.rejected_samples += s.rejected_samples;
            total.skipped_blocks += s.skipped_blocks;
            total.compactions += s.compactions;
            total.compaction_micros += s.compaction_micros;
            total.wal_fsyncs += s.wal_fsyncs;
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn options() -> TsmOptions {
        TsmOptions { background: false, sync_wal: false, ..TsmOptions::default() }
    }

    fn labels(n: u32) -> Labels {
        Labels::with_metric_name("m", [("n", n.to_string().as_str())]).unwrap()
    }

    #[test]
    fn writes_split_by_day_read_back_joined_and_old_days_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let now = wall_clock();
        let today = now.div_euclid(DAY) * DAY;
        let points: Vec<(Labels, i64, f64)> = (0..10)
            .flat_map(|d| (0..2).map(move |n| (labels(n), today - d * DAY + 1000, d as f64)))
            .collect();
        {
            let engine = ShardedTsm::open(dir.path(), options(), DAY, None).unwrap();
            assert_eq!(engine.append(&points).unwrap().accepted, 20);
            assert_eq!(engine.windows().len(), 10);
            let series = engine.select(&[], today - 20 * DAY, now).unwrap();
            assert_eq!(series.len(), 2);
            let samples = series[0].collect_samples().unwrap();
            assert_eq!(samples.len(), 10);
            assert!(samples.windows(2).all(|w| w[0].0 < w[1].0));
            assert_eq!(engine.label_values("n", &[], 0, 0).unwrap(), ["0", "1"]);
        }
        // Reopened with a retention of 3 days: shards that ended more than 3 days ago go.
        let engine = ShardedTsm::open(dir.path(), options(), DAY, Some(3 * DAY)).unwrap();
        let kept = engine.windows();
        assert!(kept.iter().all(|&(_, end)| end > now - 3 * DAY), "{kept:?}");
        // Today and the three days before it end less than 3 days ago.
        let expected = (0..10).filter(|d| today - d * DAY + DAY > now - 3 * DAY).count();
        assert_eq!(kept.len(), expected, "{kept:?}");
        let series = engine.select(&[], today - 20 * DAY, now).unwrap();
        assert_eq!(series[0].collect_samples().unwrap().len(), expected);
        let on_disk = std::fs::read_dir(dir.path().join("shards")).unwrap().count();
        assert_eq!(on_disk, expected, "dropped shards leave no dir");
        assert_eq!(engine.index().all_series().len(), 2, "series stay known while a shard holds them");
    }

    #[test]
    fn points_past_the_retention_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let now = wall_clock();
        let engine = ShardedTsm::open(dir.path(), options(), DAY, Some(2 * DAY)).unwrap();
        let batch = [(labels(0), now - 10 * DAY, 1.0), (labels(0), now, 2.0)];
        let result = engine.append(&batch).unwrap();
        assert_eq!(result.accepted, 1);
        assert_eq!(result.rejected.len(), 1);
        assert!(result.rejected[0].index == 0 && result.rejected[0].reason.starts_with("out of bounds"));
        assert_eq!(engine.windows().len(), 1, "no shard made for the refused point");
    }

    #[test]
    fn a_batch_spanning_shards_reports_refusals_at_their_positions() {
        let dir = tempfile::tempdir().unwrap();
        let engine = ShardedTsm::open(dir.path(), options(), DAY, None).unwrap();
        let nan_end = f64::from_bits(crate::floats::END_BITS);
        let batch = [
            (labels(0), 10, 1.0),
            (labels(0), DAY + 10, nan_end),
            (labels(1), 20, nan_end),
            (labels(1), DAY + 20, 2.0),
        ];
        let result = engine.append(&batch).unwrap();
        assert_eq!(result.accepted, 2);
        assert_eq!(result.rejected.iter().map(|r| r.index).collect::<Vec<_>>(), [1, 2]);
    }
}
