//! The rollup store: each tier's segment files under `DIR/rollups/<resolution>/`, and the
//! state that says how far each tier is complete (`DIR/rollups/state.json`).
//!
//! Invariants:
//! - A tier answers exactly for windows ending in `(from, watermark]`: every segment in that
//!   range was written whole (temporary file, sync, rename) *before* the watermark passed
//!   it, and the state file is replaced whole the same way. A crash between the two leaves
//!   a segment past the watermark, which the next run writes again under the same name —
//!   nothing is counted twice, nothing is lost.
//! - Re-rolling (after an import or a delete touched rolled time) lowers watermarks; it
//!   never lowers one below what its source still holds (`from` of the finer tier, or the
//!   oldest raw sample), so data past raw retention is never rolled again from nothing.
//! - Retention drops a tier's segments that end `keep` or more before the tier's
//!   watermark (never before the wall clock, as the raw retention counts) and raises `from`
//!   — but never one the next coarser tier has not rolled up yet.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use strata_model::{Labels, Matcher};

use crate::aggregate::WindowAggregate;
use crate::columns::Fields;
use crate::scan::TierScan;
use crate::segment::{RolledSeries, Segment, SegmentHeader};
use crate::segment_maps::{map_segment, SegmentMaps};
use crate::segment_writer::SegmentWriter;
use crate::tier::{Tier, Tiers};
use crate::RollupError;

/// What a tier holds: windows ending in `(from, to]` are complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TierCoverage {
    pub resolution: i64,
    pub from: i64,
    pub to: i64,
    /// The time one segment covers: readers that stream a long range read it in batches of
    /// whole segments.
    pub span: i64,
}

/// What the store can answer, and from when raw samples are held.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// Tiers that hold something, finest first.
    pub tiers: Vec<TierCoverage>,
    /// The oldest raw sample the storage engine held at the last run (`None`: unknown).
    pub raw_from: Option<i64>,
    /// Set when raw retention has removed samples the tiers still hold: raw samples before
    /// this time are gone (it is `raw_from` then).
    pub raw_expired_before: Option<i64>,
}

/// Persisted progress of one tier.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct TierState {
    /// Windows ending after this and up to `watermark` are complete (set when rolling began).
    pub from: Option<i64>,
    /// Windows ending at or before this are rolled up.
    pub watermark: Option<i64>,
    /// Wall-clock time (ms) of the last run that advanced it.
    pub last_run: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    /// By tier name (`1m`).
    tiers: BTreeMap<String, TierState>,
    raw_from: Option<i64>,
    /// The oldest raw sample ever seen by a run.
    raw_first: Option<i64>,
    /// Windows from here on are to be rolled up again: left by [`request_reroll`] (an
    /// offline import) for the store to apply when it next opens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reroll_from: Option<i64>,
}

/// The tiers' files and state; see the module docs.
#[derive(Debug)]
pub struct RollupStore {
    dir: PathBuf,
    tiers: Tiers,
    state: RwLock<State>,
    /// Span starts of the segments on disk, per tier (index as in `tiers`).
    segments: RwLock<Vec<BTreeSet<i64>>>,
    /// Segments queries read, kept mapped (forgotten when replaced or removed).
    maps: SegmentMaps,
}

impl RollupStore {
    /// Opens (creating) `dir` (normally `DATA/rollups`), removing what a crash left half
    /// written.
    pub fn open(dir: &Path, tiers: Tiers) -> Result<RollupStore, RollupError> {
        let mut segments = Vec::new();
        for tier in tiers.list() {
            let tier_dir = dir.join(tier.name());
            fs::create_dir_all(&tier_dir).map_err(|e| RollupError::io("create", &tier_dir, e))?;
            segments.push(list_segments(&tier_dir)?);
        }
        let state_path = dir.join("state.json");
        let state = match fs::read(&state_path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| RollupError::Corrupt {
                path: state_path.clone(),
                offset: 0,
                detail: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(RollupError::io("read", &state_path, e)),
        };
        let _ = fs::remove_file(dir.join("state.json.tmp"));
        let pending = state.reroll_from;
        let store = RollupStore {
            dir: dir.to_owned(),
            tiers,
            state: RwLock::new(state),
            segments: RwLock::new(segments),
            maps: SegmentMaps::default(),
        };
        if let Some(t) = pending {
            store.reroll_from(t)?;
            store.update_state(|s| s.reroll_from = None)?;
        }
        Ok(store)
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Its tiers, finest first.
    pub fn tiers(&self) -> &Tiers {
        &self.tiers
    }

    /// Tier `i`'s persisted progress.
    pub fn tier_state(&self, i: usize) -> TierState {
        let name = self.tiers.list()[i].name();
        self.read_state().tiers.get(&name).copied().unwrap_or_default()
    }

    /// What the tiers hold; see [`Coverage`].
    pub fn coverage(&self) -> Coverage {
        let state = self.read_state();
        let tiers = self
            .tiers
            .list()
            .iter()
            .filter_map(|t| {
                let s = state.tiers.get(&t.name())?;
                let (from, to) = (s.from?, s.watermark?);
                (to > from).then_some(TierCoverage { resolution: t.resolution, from, to, span: t.span })
            })
            .collect();
        let raw_expired_before = match (state.raw_from, state.raw_first) {
            (Some(now), Some(first)) if now > first => Some(now),
            _ => None,
        };
        Coverage { tiers, raw_from: state.raw_from, raw_expired_before }
    }

    /// Tier `i`'s series the matchers select, with their windows ending in `(mint, maxt]`
    /// (up to the watermark only), sorted by labels; their sketches only `with_sketch`
    /// (otherwise skipped over, empty).
    pub fn read(
        &self,
        i: usize,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        with_sketch: bool,
    ) -> Result<Vec<RolledSeries>, RollupError> {
        let runs = self.fold_segments(i, mint, maxt, Vec::new, |into, segment, (mint, maxt), _| {
            let series = segment.series(matchers, mint, maxt, with_sketch)?;
            into.extend(series.into_iter().map(|s| (s.labels, s.windows)));
            Ok(())
        })?;
        let mut joined: BTreeMap<Labels, Vec<WindowAggregate>> = BTreeMap::new();
        for (labels, windows) in runs.into_iter().flatten() {
            joined.entry(labels).or_default().extend(windows);
        }
        Ok(joined.into_iter().map(|(labels, windows)| RolledSeries { labels, windows }).collect())
    }

    /// Tier `i`'s series the matchers select in its segments holding windows that end in
    /// `(mint, maxt]` (up to the watermark only), found but not decoded: a query decodes
    /// each series' `fields` from the scan (module `scan`).
    pub fn scan(
        &self,
        i: usize,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        fields: Fields,
    ) -> Result<TierScan, RollupError> {
        let tier = self.tiers.list()[i];
        let maxt = maxt.min(self.tier_state(i).watermark.unwrap_or(i64::MIN));
        let mut segments = Vec::new();
        if maxt > mint {
            for start in self.segment_starts(i, mint, maxt) {
                let path = self.segment_path(&tier, start);
                // Retention may remove a segment between the listing and the read.
                if let Some(map) = self.maps.get(i, start, &path)? {
                    segments.push((path, map));
                }
            }
        }
        TierScan::new(segments, matchers, (mint, maxt), fields)
    }

    /// `fold` over tier `i`'s segments holding windows in `(mint, maxt]` (capped at the
    /// watermark), in time order: the segments are cut into one run of consecutive ones per
    /// core (a year of a 1h tier is hundreds of them), each run folded into its own `init()`;
    /// the runs' results come back in time order. `fold` is given the range and how many
    /// segments of its run come after the one it is given.
    fn fold_segments<A: Send>(
        &self,
        i: usize,
        mint: i64,
        maxt: i64,
        init: impl Fn() -> A + Sync,
        fold: impl Fn(&mut A, &Segment<'_>, (i64, i64), usize) -> Result<(), RollupError> + Sync,
    ) -> Result<Vec<A>, RollupError> {
        let tier = self.tiers.list()[i];
        let maxt = maxt.min(self.tier_state(i).watermark.unwrap_or(i64::MIN));
        if maxt <= mint {
            return Ok(Vec::new());
        }
        let starts = self.segment_starts(i, mint, maxt);
        let per_run = starts.len().div_ceil(rayon::current_num_threads().max(1)).max(1);
        starts
            .par_chunks(per_run)
            .map(|run| {
                let mut acc = init();
                for (k, &start) in run.iter().enumerate() {
                    let path = self.segment_path(&tier, start);
                    // Retention may remove a segment between the listing and the read.
                    let Some(map) = self.maps.get(i, start, &path)? else { continue };
                    fold(&mut acc, &Segment::parse(&path, &map)?, (mint, maxt), run.len() - k - 1)?;
                }
                Ok(acc)
            })
            .collect()
    }

    fn segment_path(&self, tier: &Tier, start: i64) -> PathBuf {
        self.dir.join(tier.name()).join(format!("{start}.seg"))
    }

    /// A writer for tier `i`'s segment of the span starting at `start`; nothing is visible
    /// until [`RollupStore::commit_segment`].
    pub(crate) fn segment_writer(&self, i: usize, start: i64) -> Result<SegmentWriter, RollupError> {
        let tier = self.tiers.list()[i];
        let header = SegmentHeader {
            resolution: tier.resolution,
            start,
            end: start + tier.span,
            series: 0,
            sketch_offset: 0,
        };
        SegmentWriter::create(&self.segment_path(&tier, start), header)
    }

    /// Puts the written segment in place (replacing one of that name; removing it when the
    /// writer holds no series); returns its bytes.
    pub(crate) fn commit_segment(
        &self,
        i: usize,
        start: i64,
        writer: SegmentWriter,
    ) -> Result<u64, RollupError> {
        let mut segments = self.segments.write().unwrap_or_else(|e| e.into_inner());
        let bytes = writer.finish()?;
        self.maps.forget(i, start);
        if bytes == 0 {
            segments[i].remove(&start);
        } else {
            segments[i].insert(start);
        }
        Ok(bytes)
    }

    /// Removes tier `i`'s segment of the span starting at `start` (retention).
    fn remove_segment(&self, i: usize, start: i64) -> Result<(), RollupError> {
        let path = self.segment_path(&self.tiers.list()[i], start);
        let mut segments = self.segments.write().unwrap_or_else(|e| e.into_inner());
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(RollupError::io("remove", &path, e)),
        }
        self.maps.forget(i, start);
        segments[i].remove(&start);
        Ok(())
    }

    #[cfg(test)]
    /// Writes tier `i`'s segment for the span starting at `start` from series in ascending
    /// label order (removing it when there are none); returns the bytes written.
    pub(crate) fn write_segment(
        &self,
        i: usize,
        start: i64,
        series: &[RolledSeries],
    ) -> Result<u64, RollupError> {
        let mut writer = self.segment_writer(i, start)?;
        for s in series {
            writer.add(&s.labels, &s.windows)?;
        }
        self.commit_segment(i, start, writer)
    }

    /// The span starts of tier `i`'s segments holding windows that end in `(mint, maxt]`.
    fn segment_starts(&self, i: usize, mint: i64, maxt: i64) -> Vec<i64> {
        let tier = self.tiers.list()[i];
        let segments = self.segments.read().unwrap_or_else(|e| e.into_inner());
        segments[i].range(tier.span_start(mint.saturating_add(1))..=tier.span_start(maxt)).copied().collect()
    }

    /// Tier `i`'s segments holding windows that end in `(mint, maxt]`, mapped, oldest first
    /// (a segment retention removed meanwhile is left out).
    pub(crate) fn map_segments(
        &self,
        i: usize,
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<MappedSegment>, RollupError> {
        let tier = self.tiers.list()[i];
        let starts = self.segment_starts(i, mint, maxt);
        let mut out = Vec::with_capacity(starts.len());
        for start in starts {
            let path = self.segment_path(&tier, start);
            if let Some(map) = map_segment(&path)? {
                out.push(MappedSegment { path, map });
            }
        }
        Ok(out)
    }

    /// Records tier `i`'s progress (replacing the state file whole).
    pub(crate) fn update_tier(
        &self,
        i: usize,
        update: impl FnOnce(&mut TierState),
    ) -> Result<(), RollupError> {
        let name = self.tiers.list()[i].name();
        self.update_state(|s| update(s.tiers.entry(name).or_default()))
    }

    /// Records the oldest raw sample the engine holds.
    pub(crate) fn set_raw_from(&self, t: Option<i64>) -> Result<(), RollupError> {
        if self.read_state().raw_from == t {
            return Ok(());
        }
        self.update_state(|s| {
            s.raw_from = t;
            s.raw_first = s.raw_first.into_iter().chain(t).min();
        })
    }

    /// Makes the next run roll up again every window holding time `t` or later (a window
    /// ending at or after `t`) that its source still holds — after an import or a delete
    /// touched rolled time; see the module docs.
    pub fn reroll_from(&self, t: i64) -> Result<(), RollupError> {
        let tiers = self.tiers.list().to_vec();
        self.update_state(|state| {
            // Windows ending after this are held by the source (raw: samples from raw_from on).
            let mut source_from = state.raw_from.map(|f| f - 1);
            for tier in &tiers {
                let s = state.tiers.entry(tier.name()).or_default();
                let floor = source_from.map_or(i64::MIN, |f| ceil_to(f, tier.span));
                let target = tier.span_start(t).max(floor).max(s.from.unwrap_or(i64::MIN));
                if s.watermark.is_some_and(|w| w > target) {
                    s.watermark = Some(target);
                }
                source_from = s.from;
            }
        })
    }

    /// Drops segments past each tier's keep time; returns how many.
    pub fn apply_retention(&self) -> Result<usize, RollupError> {
        let mut removed = 0;
        for (i, tier) in self.tiers.list().iter().enumerate() {
            let (Some(keep), Some(watermark)) = (tier.keep, self.tier_state(i).watermark) else { continue };
            // Never what the next coarser tier has yet to read.
            let consumed = match self.tiers.list().get(i + 1) {
                Some(_) => self.tier_state(i + 1).watermark.unwrap_or(i64::MIN),
                None => i64::MAX,
            };
            let horizon = (watermark - keep).min(consumed);
            let expired: Vec<i64> = {
                let segments = self.segments.read().unwrap_or_else(|e| e.into_inner());
                segments[i].iter().copied().filter(|&start| start + tier.span <= horizon).collect()
            };
            let Some(&last) = expired.last() else { continue };
            // `from` rises first: a reader never routes to a segment about to go.
            self.update_tier(i, |s| s.from = Some(s.from.unwrap_or(i64::MIN).max(last + tier.span)))?;
            for start in expired {
                self.remove_segment(i, start)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Bytes of each tier's segments on disk.
    pub fn disk_bytes(&self) -> Vec<u64> {
        self.tiers.list().iter().map(|t| strata_storage::dir_bytes(&self.dir.join(t.name()))).collect()
    }

    /// Segment files of each tier.
    pub fn segment_counts(&self) -> Vec<usize> {
        self.segments.read().unwrap_or_else(|e| e.into_inner()).iter().map(BTreeSet::len).collect()
    }

    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn update_state(&self, update: impl FnOnce(&mut State)) -> Result<(), RollupError> {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        let mut next = state.clone();
        update(&mut next);
        let bytes = serde_json::to_vec_pretty(&next).map_err(|e| RollupError::Config(e.to_string()))?;
        write_atomically(&self.dir.join("state.json"), &bytes)?;
        *state = next;
        Ok(())
    }
}

/// A segment file mapped into memory, for reading it with [`Segment::parse`].
#[derive(Debug)]
pub(crate) struct MappedSegment {
    pub(crate) path: PathBuf,
    pub(crate) map: memmap2::Mmap,
}

/// Asks the rollup store in `dir` (`DATA/rollups`) to roll up again every window holding
/// time `t` or later when it next opens — what an offline import into a data dir does, not
/// knowing the server's tiers. `false` when there is no store there.
pub fn request_reroll(dir: &Path, t: i64) -> Result<bool, RollupError> {
    let path = dir.join("state.json");
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(RollupError::io("read", &path, e)),
    };
    let mut state: State = serde_json::from_slice(&bytes).map_err(|e| RollupError::Corrupt {
        path: path.clone(),
        offset: 0,
        detail: e.to_string(),
    })?;
    state.reroll_from = Some(state.reroll_from.map_or(t, |r| r.min(t)));
    let bytes = serde_json::to_vec_pretty(&state).map_err(|e| RollupError::Config(e.to_string()))?;
    write_atomically(&path, &bytes)?;
    Ok(true)
}

/// `t` rounded up to a multiple of `step`.
fn ceil_to(t: i64, step: i64) -> i64 {
    t.div_euclid(step) * step + if t.rem_euclid(step) == 0 { 0 } else { step }
}

/// The span starts of the segments in `dir`; a `.tmp` file (a crash's leftover) is removed.
fn list_segments(dir: &Path) -> Result<BTreeSet<i64>, RollupError> {
    let mut starts = BTreeSet::new();
    for entry in fs::read_dir(dir).map_err(|e| RollupError::io("list", dir, e))? {
        let entry = entry.map_err(|e| RollupError::io("list", dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".tmp") {
            let _ = fs::remove_file(entry.path());
        } else if let Some(start) = name.strip_suffix(".seg").and_then(|s| s.parse().ok()) {
            starts.insert(start);
        }
    }
    Ok(starts)
}

/// Writes `path` whole: a temporary file, synced, renamed over it, the directory synced.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), RollupError> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default()
    ));
    let mut file = fs::File::create(&tmp).map_err(|e| RollupError::io("create", &tmp, e))?;
    file.write_all(bytes).map_err(|e| RollupError::io("write", &tmp, e))?;
    sync_and_rename(&file, &tmp, path)
}

/// Syncs a fully written temporary file and renames it to `path`, then syncs the directory.
pub(crate) fn sync_and_rename(file: &fs::File, tmp: &Path, path: &Path) -> Result<(), RollupError> {
    file.sync_all().map_err(|e| RollupError::io("sync", tmp, e))?;
    strata_failpoint::hit(strata_failpoint::Point::RollupBeforeRename);
    fs::rename(tmp, path).map_err(|e| RollupError::io("rename", tmp, e))?;
    if let Some(parent) = path.parent() {
        if let Ok(d) = fs::File::open(parent) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;

    fn tiers() -> Tiers {
        Tiers::new(vec![
            Tier { resolution: MIN, keep: Some(3 * HOUR), span: HOUR },
            Tier { resolution: 5 * MIN, keep: None, span: 2 * HOUR },
        ])
        .unwrap()
    }

    fn one_series(end: i64) -> Vec<RolledSeries> {
        let labels = Labels::from_pairs([("__name__", "m")]).unwrap();
        vec![RolledSeries { labels, windows: vec![WindowAggregate::single(end, end - 1, 1.0)] }]
    }

    /// A store whose 1m tier holds hours 0..6 and 5m tier hours 0..6, raw from 0.
    fn filled(dir: &Path) -> RollupStore {
        let store = RollupStore::open(dir, tiers()).unwrap();
        store.set_raw_from(Some(1)).unwrap();
        for h in 0..6 {
            store.write_segment(0, h * HOUR, &one_series(h * HOUR + MIN)).unwrap();
        }
        for h in (0..6).step_by(2) {
            store.write_segment(1, h * HOUR, &one_series(h * HOUR + 5 * MIN)).unwrap();
        }
        store.update_tier(0, |s| (s.from, s.watermark) = (Some(0), Some(6 * HOUR))).unwrap();
        store.update_tier(1, |s| (s.from, s.watermark) = (Some(0), Some(6 * HOUR))).unwrap();
        store
    }

    #[test]
    fn rerolling_lowers_watermarks_to_the_span_holding_the_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = filled(dir.path());
        store.reroll_from(3 * HOUR).unwrap();
        assert_eq!(store.tier_state(0).watermark, Some(2 * HOUR), "the window ending at 3h holds 3h");
        assert_eq!(store.tier_state(1).watermark, Some(2 * HOUR));
        store.reroll_from(3 * HOUR + 1).unwrap();
        assert_eq!(store.tier_state(0).watermark, Some(2 * HOUR), "never raised");
        // Raw samples before 4h are gone: nothing before the first whole span raw holds.
        store.set_raw_from(Some(4 * HOUR + 1)).unwrap();
        store.update_tier(0, |s| s.watermark = Some(6 * HOUR)).unwrap();
        store.reroll_from(0).unwrap();
        assert_eq!(store.tier_state(0).watermark, Some(4 * HOUR));
        assert_eq!(store.coverage().raw_expired_before, Some(4 * HOUR + 1));
    }

    #[test]
    fn an_import_asks_for_a_reroll_applied_at_open() {
        let dir = tempfile::tempdir().unwrap();
        drop(filled(dir.path()));
        assert!(request_reroll(dir.path(), 5 * HOUR).unwrap());
        assert!(request_reroll(dir.path(), 4 * HOUR + 30 * MIN).unwrap(), "the earliest request wins");
        let store = RollupStore::open(dir.path(), tiers()).unwrap();
        assert_eq!(store.tier_state(0).watermark, Some(4 * HOUR));
        assert_eq!(store.tier_state(1).watermark, Some(4 * HOUR));
        drop(store);
        let again = RollupStore::open(dir.path(), tiers()).unwrap();
        assert_eq!(again.tier_state(0).watermark, Some(4 * HOUR), "applied once");
        assert!(!request_reroll(&dir.path().join("none"), 0).unwrap());
    }

    #[test]
    fn retention_drops_old_segments_and_raises_from_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = filled(dir.path());
        assert_eq!(store.apply_retention().unwrap(), 3, "1m kept 3h behind its 6h watermark");
        assert_eq!(store.segment_counts(), [3, 3]);
        assert_eq!(store.tier_state(0).from, Some(3 * HOUR));
        let c = store.coverage();
        assert_eq!(c.tiers[0], TierCoverage { resolution: MIN, from: 3 * HOUR, to: 6 * HOUR, span: HOUR });
        assert!(store.read(0, &[], 0, 6 * HOUR, true).unwrap()[0].windows.iter().all(|w| w.end > 3 * HOUR));
    }

    #[test]
    fn a_damaged_segment_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = filled(dir.path());
        let path = dir.path().join("1m").join(format!("{}.seg", 2 * HOUR));
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs::write(&path, bytes).unwrap();
        let err = store.read(0, &[], 0, 6 * HOUR, true).unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()) && err.contains("checksum"), "{err}");
        // A crash's leftover is removed at open.
        fs::write(dir.path().join("1m").join("7.seg.tmp"), b"half").unwrap();
        drop(RollupStore::open(dir.path(), tiers()).unwrap());
        assert!(!dir.path().join("1m").join("7.seg.tmp").exists());
    }
}
