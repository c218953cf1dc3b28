//! The TSM engine: Strata's `Engine` trait over InfluxDB's storage design — a WAL, a cache
//! of recent points, TSM files snapshotted from it and compacted by level.
//!
//! ```text
//! DIR/GGGGGGGGG-SSSSSSSSS.tsm        TSM files (docs/format/tsm.md), with their .tombstone
//! DIR/wal/_NNNNN.wal                 WAL segments in InfluxDB's format (`wal`)
//! ```
//!
//! **Write**: a batch becomes one WAL write entry (synced when `sync_wal`), then its points go
//! into the cache — both under the WAL's lock, so a snapshot that rolls the WAL and swaps the
//! cache under that lock never separates a point from its WAL entry. Points are stored in
//! nanoseconds (Strata's milliseconds × 10^6). InfluxDB's semantics hold: any timestamp is
//! accepted, a later write of a timestamp replaces the earlier. Above `cache_max_bytes`
//! (cache and snapshot in progress together) writes are refused with
//! `StorageError::Overloaded`, instead of growing without bound.
//!
//! **Snapshot** (the cache past `cache_snapshot_bytes`, or cold for `snapshot_cold`): under
//! the WAL lock the segment is closed and the cache swapped for an empty one; the old cache
//! stays readable (`View::snapshot`) while it is written as the next generation's level-1
//! file; the file is published and the snapshot dropped in one step; then the closed
//! segments are deleted.
//!
//! **Read**: a reader takes the current `View` (cache, snapshot in progress, files) in one
//! step and merges, per series, every file's points (oldest first), the snapshot's and the
//! cache's, keeping the newest of each timestamp. A series may have several keys: Strata
//! writes its canonical key (`key::key_of`), and files written by InfluxDB name it by
//! measurement and field (`cpu,host=a#!~#usage` for `cpu_usage{host="a"}`); reads merge all.
//!
//! **Delete**: a delete-range WAL entry, the points removed from the cache, and tombstones
//! on every file holding the keys, under `file_ops` (which a snapshot holds while it writes,
//! so its points get the tombstones too). A compaction running meanwhile finds, when it
//! publishes its output, the tombstones its inputs gained since it started, and gives them
//! to the output.
//!
//! **Open**: every TSM file is opened and checked (a damaged one is reported and skipped,
//! `skipped_files`), the series index is rebuilt from the keys (as influxd's `inmem` index
//! is), the WAL is replayed (a torn tail is cut at the last whole entry, as influxd does),
//! and a new WAL segment is started.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use strata_index::{SeriesIndex, SeriesRef};
use strata_model::{Labels, Matcher};
use strata_storage::{
    AppendRef, AppendResult, DirLock, Engine, EngineStats, FlushReport, Persisted, Rejected, Series,
    SnapshotReport, StorageError, NS_PER_MS,
};

use crate::block::{BlockType, Values};
use crate::cache::{sort_last_wins, Cache, Points};
use crate::compact::{self, Compaction};
use crate::error::TsmError;
use crate::file_set::{self, file_name, TsmFile};
use crate::floats::END_BITS;
use crate::key::{key_of, labels_of};
use crate::tombstone::Tombstone;
use crate::wal::{self, Entry, WalWriter};
use crate::writer::{FileSummary, TsmWriter};

/// Crash injection for tests: when the environment variable `STRATA_TSM_FAILPOINT` names
/// this point, the process aborts here (as a kill -9 would stop it), so a test can stop the
/// engine exactly between two steps of a snapshot or a compaction.
fn failpoint(name: &str) {
    static ARMED: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let armed = ARMED.get_or_init(|| std::env::var("STRATA_TSM_FAILPOINT").ok());
    if armed.as_deref() == Some(name) {
        std::process::abort();
    }
}

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct TsmOptions {
    /// Snapshot the cache into a TSM file past this size (InfluxDB: 25 MiB).
    pub cache_snapshot_bytes: u64,
    /// Refuse writes past this size of cache and snapshot (InfluxDB: 1 GiB).
    pub cache_max_bytes: u64,
    /// Snapshot a cache that has had no write for this long (InfluxDB: 10 minutes).
    pub snapshot_cold: Duration,
    /// Compact everything into one file after this long without writes (InfluxDB: 4 hours).
    pub full_compaction_cold: Duration,
    /// Sync the WAL before a write returns.
    pub sync_wal: bool,
    /// Run snapshots and compactions on a background thread (off: only when asked).
    pub background: bool,
}

impl Default for TsmOptions {
    fn default() -> Self {
        TsmOptions {
            cache_snapshot_bytes: 25 * 1024 * 1024,
            cache_max_bytes: 1024 * 1024 * 1024,
            snapshot_cold: Duration::from_secs(600),
            full_compaction_cold: Duration::from_secs(4 * 3600),
            sync_wal: true,
            background: true,
        }
    }
}

/// What readers see, replaced whole: the cache being written, a cache being snapshotted,
/// and the files oldest first.
#[derive(Debug, Clone)]
struct View {
    cache: Arc<Cache>,
    snapshot: Option<Arc<Cache>>,
    files: Vec<TsmFile>,
}

/// The keys a series has in the files and WAL; `canonical` is the one Strata writes.
#[derive(Debug, Clone)]
struct SeriesKeys {
    canonical: Arc<[u8]>,
    others: Vec<Arc<[u8]>>,
}

impl SeriesKeys {
    fn all(&self) -> impl Iterator<Item = &Arc<[u8]>> {
        std::iter::once(&self.canonical).chain(&self.others)
    }
}

#[derive(Debug, Default)]
struct Counters {
    rejected: AtomicU64,
    compactions: AtomicU64,
    compaction_micros: AtomicU64,
    compaction_bytes_written: AtomicU64,
    snapshots: AtomicU64,
    snapshot_bytes_written: AtomicU64,
    wal_syncs: AtomicU64,
}

#[derive(Debug)]
struct Inner {
    /// One process at a time on the dir (the block engine's `lock` file, flock(2)).
    _lock: DirLock,
    dir: PathBuf,
    options: TsmOptions,
    index: SeriesIndex,
    /// By series ref (refs are dense).
    keys: RwLock<Vec<SeriesKeys>>,
    view: RwLock<Arc<View>>,
    wal: Mutex<WalWriter>,
    /// WAL entries known durable (group commit, `group_sync`).
    synced: Mutex<u64>,
    /// Held by snapshots (while writing), deletes, and a compaction's publication.
    file_ops: Mutex<()>,
    /// One compaction at a time.
    compacting: Mutex<()>,
    next_generation: AtomicU64,
    /// When the last write came (ms since the engine opened).
    last_write: AtomicI64,
    opened: Instant,
    skipped_files: Vec<(PathBuf, String)>,
    counters: Counters,
}

/// Tells the background thread to stop.
type StopSignal = Arc<(Mutex<bool>, Condvar)>;

/// The engine; see the module docs.
#[derive(Debug)]
pub struct TsmEngine {
    inner: Arc<Inner>,
    worker: Option<(JoinHandle<()>, StopSignal)>,
}

/// A TSM error as a storage error.
fn storage(e: TsmError) -> StorageError {
    match e {
        TsmError::Corrupt { path, offset, detail } => StorageError::Corrupt { path, offset, detail },
        TsmError::Io { path, source } => StorageError::Io { op: "tsm", path, source },
        TsmError::Unencodable(detail) => StorageError::Invalid(detail),
    }
}

impl TsmEngine {
    /// Opens (or creates) the engine in `dir`; see the module docs for what opening does.
    pub fn open(dir: &Path, options: TsmOptions) -> Result<TsmEngine, StorageError> {
        std::fs::create_dir_all(dir).map_err(|e| storage(TsmError::io(dir, e)))?;
        let dir_lock = DirLock::acquire(dir)?;
        remove_temporary_files(dir)?;
        compact::recover(dir).map_err(storage)?;
        let (files, skipped_files) = file_set::open_dir(dir).map_err(storage)?;
        for (path, why) in &skipped_files {
            eprintln!("tsm: skipping damaged file {}: {why}", path.display());
        }
        let next_generation = files.iter().map(|f| f.generation).max().unwrap_or(0) + 1;
        let wal_dir = dir.join("wal");
        let inner = Inner {
            _lock: dir_lock,
            dir: dir.to_path_buf(),
            options: options.clone(),
            index: SeriesIndex::new(),
            keys: RwLock::new(Vec::new()),
            view: RwLock::new(Arc::new(View { cache: Arc::new(Cache::default()), snapshot: None, files })),
            // Replaced after replay, which tells which segment comes next; it creates no file.
            wal: Mutex::new(WalWriter::open(&wal_dir, 0).map_err(storage)?),
            synced: Mutex::new(0),
            file_ops: Mutex::new(()),
            compacting: Mutex::new(()),
            next_generation: AtomicU64::new(next_generation),
            last_write: AtomicI64::new(0),
            opened: Instant::now(),
            skipped_files,
            counters: Counters::default(),
        };
        let inner = Arc::new(inner);
        inner.index_files()?;
        let last_segment = inner.replay(&wal_dir)?;
        *lock(&inner.wal) = WalWriter::open(&wal_dir, last_segment).map_err(storage)?;
        let worker = options.background.then(|| start_worker(inner.clone()));
        Ok(TsmEngine { inner, worker })
    }

    /// Snapshots the cache into a TSM file now (nothing if it is empty).
    pub fn snapshot_cache(&self) -> Result<Option<FileSummary>, StorageError> {
        self.inner.snapshot_cache()
    }

    /// Runs the next planned compaction (`full`: compact everything into one file).
    pub fn compact_once(&self, full: bool) -> Result<Option<Compaction>, StorageError> {
        self.inner.compact_once(full)
    }

    /// The TSM files, oldest first.
    pub fn files(&self) -> Vec<TsmFile> {
        self.inner.view().files.clone()
    }

    /// The series index (every series of the files, the WAL and the cache).
    pub fn index(&self) -> &SeriesIndex {
        &self.inner.index
    }

    /// The earliest and latest time (ms) of the data, if there is any.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        let view = self.inner.view();
        let files = view.files.iter().filter_map(|f| f.reader.time_range());
        let (lo, hi) = files.fold((i64::MAX, i64::MIN), |(lo, hi), (a, b)| (lo.min(a), hi.max(b)));
        let (clo, chi) = view.cache.time_range().unwrap_or((i64::MAX, i64::MIN));
        let (lo, hi) = (lo.min(clo), hi.max(chi));
        (lo <= hi).then(|| (lo.div_euclid(NS_PER_MS), hi.div_euclid(NS_PER_MS)))
    }

    /// Files found damaged at open and left out, with why.
    pub fn skipped_files(&self) -> &[(PathBuf, String)] {
        &self.inner.skipped_files
    }

    /// Bytes in the cache (and a snapshot in progress).
    pub fn cache_bytes(&self) -> u64 {
        self.inner.cache_bytes()
    }

    /// Bytes of the WAL's segments.
    pub fn wal_bytes(&self) -> u64 {
        self.inner.wal_bytes()
    }

    /// Bytes written by snapshots and by compactions since open.
    pub fn bytes_written(&self) -> (u64, u64) {
        let c = &self.inner.counters;
        (c.snapshot_bytes_written.load(Ordering::Relaxed), c.compaction_bytes_written.load(Ordering::Relaxed))
    }
}

impl Drop for TsmEngine {
    fn drop(&mut self) {
        if let Some((handle, stop)) = self.worker.take() {
            *lock(&stop.0) = true;
            stop.1.notify_all();
            let _ = handle.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes `.tmp` files a crash left (a snapshot or compaction that never finished).
fn remove_temporary_files(dir: &Path) -> Result<(), StorageError> {
    let entries = std::fs::read_dir(dir).map_err(|e| storage(TsmError::io(dir, e)))?;
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if path.extension().is_some_and(|x| x == "tmp") {
            std::fs::remove_file(&path).map_err(|e| storage(TsmError::io(&path, e)))?;
        }
    }
    Ok(())
}

/// Snapshots and compacts in the background until the engine is dropped.
fn start_worker(inner: Arc<Inner>) -> (JoinHandle<()>, StopSignal) {
    let stop = Arc::new((Mutex::new(false), Condvar::new()));
    let signal = stop.clone();
    let handle = std::thread::Builder::new()
        .name("tsm-background".into())
        .spawn(move || loop {
            {
                let stopped = lock(&signal.0);
                let (stopped, _) = signal
                    .1
                    .wait_timeout_while(stopped, Duration::from_millis(200), |s| !*s)
                    .unwrap_or_else(|e| e.into_inner());
                if *stopped {
                    return;
                }
            }
            if let Err(e) = inner.background_round() {
                eprintln!("tsm: background snapshot or compaction failed: {e}");
            }
        })
        .expect("spawning the TSM background thread");
    (handle, stop)
}

impl Inner {
    fn view(&self) -> Arc<View> {
        self.view.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set_view(&self, change: impl FnOnce(&mut View)) {
        let mut guard = self.view.write().unwrap_or_else(|e| e.into_inner());
        let mut next = (**guard).clone();
        change(&mut next);
        *guard = Arc::new(next);
    }

    fn now_ms(&self) -> i64 {
        self.opened.elapsed().as_millis() as i64
    }

    fn cache_bytes(&self) -> u64 {
        let v = self.view();
        v.cache.bytes() + v.snapshot.as_ref().map_or(0, |s| s.bytes())
    }

    fn wal_bytes(&self) -> u64 {
        wal::segments(&self.dir.join("wal"))
            .map(|s| s.iter().filter_map(|(_, p)| std::fs::metadata(p).ok()).map(|m| m.len()).sum())
            .unwrap_or(0)
    }

    /// The ref of `labels`, registering `key` as one of its keys.
    fn series_for(&self, labels: &Labels, key: Option<&[u8]>) -> Result<u32, StorageError> {
        let r = self.index.get_or_create(labels)?.0;
        let known = {
            let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
            keys.get(r as usize).map(|k| key.is_none_or(|key| k.all().any(|x| &**x == key)))
        };
        if known == Some(true) {
            return Ok(r);
        }
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        while keys.len() <= r as usize {
            let labels = self.index.labels(SeriesRef(keys.len() as u32)).unwrap_or_default();
            let canonical: Arc<[u8]> = key_of(&labels).map_err(StorageError::Invalid)?.into();
            keys.push(SeriesKeys { canonical, others: Vec::new() });
        }
        if let Some(key) = key {
            let entry = &mut keys[r as usize];
            if !entry.all().any(|x| &**x == key) {
                entry.others.push(key.into());
            }
        }
        Ok(r)
    }

    fn keys_of(&self, r: u32) -> Vec<Arc<[u8]>> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        keys.get(r as usize).map(|k| k.all().cloned().collect()).unwrap_or_default()
    }

    fn canonical_key(&self, r: u32) -> Option<Arc<[u8]>> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        keys.get(r as usize).map(|k| k.canonical.clone())
    }

    /// Registers every key of every file (strings left out: Strata does not store them).
    fn index_files(&self) -> Result<(), StorageError> {
        for file in &self.view().files {
            for i in 0..file.reader.key_count() {
                if file.reader.block_type(i) == BlockType::String {
                    continue;
                }
                let key = file.reader.key(i);
                match labels_of(key) {
                    Ok(labels) => {
                        self.series_for(&labels, Some(key))?;
                    }
                    Err(why) => eprintln!(
                        "tsm: {}: key {:?} left out: {why}",
                        file.path().display(),
                        String::from_utf8_lossy(key)
                    ),
                }
            }
        }
        Ok(())
    }

    /// Replays the WAL into the cache (and its deletes onto the files); returns the last
    /// segment's number.
    fn replay(&self, wal_dir: &Path) -> Result<u64, StorageError> {
        let segments = wal::segments(wal_dir).map_err(storage)?;
        let cache = self.view().cache.clone();
        for (_, path) in &segments {
            let read = wal::read_segment(path).map_err(storage)?;
            for entry in read.entries {
                self.replay_entry(&cache, entry)?;
            }
            if let Some(damage) = read.damage {
                eprintln!("tsm: WAL replay stopped early, the rest of the segment is cut off: {damage}");
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| storage(TsmError::io(path, e)))?;
                f.set_len(read.valid_len)
                    .and_then(|_| f.sync_all())
                    .map_err(|e| storage(TsmError::io(path, e)))?;
            }
        }
        Ok(segments.last().map_or(0, |s| s.0))
    }

    fn replay_entry(&self, cache: &Cache, entry: Entry) -> Result<(), StorageError> {
        match entry {
            Entry::Write(points) => {
                for kp in points {
                    let Ok(labels) = labels_of(&kp.key) else { continue };
                    let Some(values) = kp.values.into_floats() else { continue };
                    let r = self.series_for(&labels, Some(&kp.key))?;
                    for (t, v) in kp.timestamps.into_iter().zip(values) {
                        cache.insert(r, t, v);
                    }
                }
            }
            Entry::Delete(keys) => self.apply_delete(cache, &keys, i64::MIN, i64::MAX)?,
            Entry::DeleteRange { keys, min_time, max_time } => {
                self.apply_delete(cache, &keys, min_time, max_time)?
            }
        }
        Ok(())
    }

    /// Removes `[mint, maxt]` of `keys` from the cache and tombstones it in the files.
    fn apply_delete(
        &self,
        cache: &Cache,
        keys: &[Vec<u8>],
        mint: i64,
        maxt: i64,
    ) -> Result<(), StorageError> {
        for key in keys {
            if let Ok(labels) = labels_of(key) {
                if let Some(r) = self.index.get(&labels) {
                    cache.delete(r.0, mint, maxt);
                }
            }
        }
        self.tombstone_files(keys, mint, maxt)
    }

    /// Adds tombstones for `keys` in `[mint, maxt]` to every file holding those points.
    fn tombstone_files(&self, keys: &[Vec<u8>], mint: i64, maxt: i64) -> Result<(), StorageError> {
        let view = self.view();
        let mut changed = Vec::new();
        for (n, file) in view.files.iter().enumerate() {
            let stones: Vec<Tombstone> = keys
                .iter()
                .filter(|k| {
                    file.reader.find(k).is_some_and(|i| {
                        file.reader.blocks(i).iter().any(|b| b.max_time >= mint && b.min_time <= maxt)
                    })
                })
                .map(|k| Tombstone { key: k.clone(), min_time: mint, max_time: maxt })
                .collect();
            if !stones.is_empty() {
                changed.push((n, file.with_tombstones(&stones).map_err(storage)?));
            }
        }
        if !changed.is_empty() {
            self.set_view(|v| {
                for (n, f) in changed {
                    v.files[n] = f;
                }
            });
        }
        Ok(())
    }

    /// Appends a batch whose timestamps count `unit` nanoseconds each (`NS_PER_MS` for
    /// Strata's milliseconds, 1 for InfluxDB's nanoseconds).
    fn append(&self, batch: &[(AppendRef, i64, f64)], unit: i64) -> Result<AppendResult, StorageError> {
        let max = self.options.cache_max_bytes;
        let used = self.cache_bytes();
        if used > max {
            return Err(StorageError::Overloaded(format!(
                "the TSM cache holds {used} bytes, over cache-max-size ({max} bytes); retry once it is snapshotted"
            )));
        }
        let mut result = AppendResult::default();
        // The accepted points ordered by series (stable: a series' points keep their order),
        // in two flat buffers: one allocation each, whatever the number of series.
        let mut order: Vec<(u32, usize)> = Vec::with_capacity(batch.len());
        for (i, &(r, t, v)) in batch.iter().enumerate() {
            let reason = if v.to_bits() == END_BITS {
                Some(
                    "the value's bits 0x7FF8000000000001 end a TSM float block and cannot be stored"
                        .to_string(),
                )
            } else if t.checked_mul(unit).is_none() {
                Some(format!("timestamp {t} ms is outside what nanoseconds in an i64 can hold"))
            } else {
                None
            };
            match reason {
                Some(reason) => result.rejected.push(Rejected { index: i, reason }),
                None => order.push((r.id(), i)),
            }
        }
        if order.is_empty() {
            self.counters.rejected.fetch_add(result.rejected.len() as u64, Ordering::Relaxed);
            return Ok(result);
        }
        order.sort_by_key(|p| p.0);
        let ts: Vec<i64> = order.iter().map(|&(_, i)| batch[i].1 * unit).collect();
        let vs: Vec<f64> = order.iter().map(|&(_, i)| batch[i].2).collect();
        let mut series: Vec<(u32, Arc<[u8]>, std::ops::Range<usize>)> = Vec::new();
        let mut at = 0;
        while at < order.len() {
            let r = order[at].0;
            let end = at + order[at..].iter().take_while(|p| p.0 == r).count();
            let key = self
                .canonical_key(r)
                .ok_or_else(|| StorageError::Invalid(format!("unknown series ref {r}")))?;
            series.push((r, key, at..end));
            at = end;
        }
        // Encoded before the lock, into this thread's buffer (reused: a fresh one per batch
        // cost page faults): appenders only queue to write bytes and fill the cache.
        thread_local! {
            static ENCODED: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let slices: Vec<(&[u8], &[i64], &[f64])> =
            series.iter().map(|(_, k, range)| (&**k, &ts[range.clone()], &vs[range.clone()])).collect();
        let appended = ENCODED.with(|buffer| -> Result<u64, StorageError> {
            let mut bytes = buffer.borrow_mut();
            wal::encode_float_write_into(&mut bytes, &slices);
            let mut wal = lock(&self.wal);
            let appended = wal.append_encoded(&bytes).map_err(storage)?;
            let cache = self.view().cache.clone();
            for (r, _, range) in &series {
                cache.insert_many(*r, &ts[range.clone()], &vs[range.clone()]);
            }
            Ok(appended)
        })?;
        if self.options.sync_wal {
            self.group_sync(appended)?;
        }
        result.accepted = batch.len() - result.rejected.len();
        self.counters.rejected.fetch_add(result.rejected.len() as u64, Ordering::Relaxed);
        self.last_write.store(self.now_ms(), Ordering::Relaxed);
        Ok(result)
    }

    /// Makes WAL entry number `appended` durable, sharing one fsync among the writers that
    /// wait together (group commit): whoever syncs covers every entry appended before the
    /// sync began.
    fn group_sync(&self, appended: u64) -> Result<(), StorageError> {
        let mut synced = lock(&self.synced);
        if *synced >= appended {
            return Ok(());
        }
        let (target, file) = lock(&self.wal).sync_target();
        if let Some((file, path)) = file {
            file.sync_data().map_err(|e| storage(TsmError::io(path, e)))?;
            self.counters.wal_syncs.fetch_add(1, Ordering::Relaxed);
        }
        *synced = target;
        Ok(())
    }

    fn sync(&self) -> Result<(), StorageError> {
        lock(&self.wal).sync().map_err(storage)?;
        self.counters.wal_syncs.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// The points of series `r` in `[mint, maxt]`, in units of `unit` nanoseconds (see
    /// `append`), newest of each nanosecond kept; read in milliseconds, each millisecond
    /// shows its latest nanosecond's point. `scratch` holds decoding buffers reused from
    /// series to series.
    fn series_points(
        &self,
        view: &View,
        r: u32,
        (mint, maxt, unit): (i64, i64, i64),
        scratch: &mut (Vec<i64>, Vec<f64>),
    ) -> Result<Vec<(i64, f64)>, StorageError> {
        let (lo, hi) = (mint.saturating_mul(unit), maxt.saturating_mul(unit).saturating_add(unit - 1));
        let keys = self.keys_of(r);
        let mut points = Vec::new();
        for file in &view.files {
            let (fmin, fmax) = file.reader.time_range().unwrap_or((i64::MAX, i64::MIN));
            if fmax < lo || fmin > hi {
                continue;
            }
            for key in &keys {
                file.points_into(key, lo, hi, &mut points, &mut scratch.0, &mut scratch.1)
                    .map_err(storage)?;
            }
        }
        let in_memory = view
            .snapshot
            .iter()
            .map(|s| s.points(r, lo, hi))
            .chain(std::iter::once(view.cache.points(r, lo, hi)));
        for more in in_memory {
            points.extend(more);
        }
        // Newest write of each nanosecond first; then, in coarser units, the latest
        // nanosecond of each unit (the points are in time order, so the last one).
        sort_last_wins(&mut points);
        if unit != 1 {
            points.iter_mut().for_each(|p| p.0 = p.0.div_euclid(unit));
            sort_last_wins(&mut points);
        }
        Ok(points)
    }

    /// The series the matchers select with points in `[mint, maxt]`, in units of `unit`
    /// nanoseconds (see `append`).
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        unit: i64,
    ) -> Result<Vec<Series>, StorageError> {
        let refs = if matchers.is_empty() { self.index.all_series() } else { self.index.select(matchers) };
        let view = self.view();
        let mut out = Vec::new();
        let mut scratch = (Vec::new(), Vec::new());
        for r in refs.iter() {
            let points = self.series_points(&view, r, (mint, maxt, unit), &mut scratch)?;
            if points.is_empty() {
                continue;
            }
            let Some(labels) = self.index.labels(SeriesRef(r)) else { continue };
            out.push(Series::from_samples(labels, points, mint, maxt));
        }
        out.sort_by(|a, b| a.labels().cmp(b.labels()));
        Ok(out)
    }

    fn delete(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<u64, StorageError> {
        let _ops = lock(&self.file_ops);
        let refs = self.index.select(matchers);
        let (lo, hi) =
            (mint.saturating_mul(NS_PER_MS), maxt.saturating_mul(NS_PER_MS).saturating_add(NS_PER_MS - 1));
        let keys: Vec<Vec<u8>> = refs.iter().flat_map(|r| self.keys_of(r)).map(|k| k.to_vec()).collect();
        if keys.is_empty() {
            return Ok(0);
        }
        {
            let mut wal = lock(&self.wal);
            let entry = Entry::DeleteRange { keys: keys.clone(), min_time: lo, max_time: hi };
            wal.append(&entry, true).map_err(storage)?;
            let cache = self.view().cache.clone();
            for r in refs.iter() {
                cache.delete(r, lo, hi);
            }
        }
        self.tombstone_files(&keys, lo, hi)?;
        Ok(refs.len())
    }

    /// See the module docs (**Snapshot**).
    fn snapshot_cache(&self) -> Result<Option<FileSummary>, StorageError> {
        let _ops = lock(&self.file_ops);
        let (closed, snapshot) = {
            let mut wal = lock(&self.wal);
            if self.view().cache.is_empty() {
                return Ok(None);
            }
            let closed = wal.roll().map_err(storage)?;
            failpoint("snapshot-wal-rolled");
            let mut taken = None;
            self.set_view(|v| {
                let old = std::mem::replace(&mut v.cache, Arc::new(Cache::default()));
                v.snapshot = Some(old.clone());
                taken = Some(old);
            });
            (closed, taken.unwrap_or_default())
        };
        let written =
            self.write_cache_file(&self.dir, &snapshot, self.next_generation.fetch_add(1, Ordering::SeqCst));
        let summary = match written {
            Ok(s) => s,
            Err(e) => {
                // Put the points back where readers and the next snapshot find them.
                self.set_view(|v| {
                    for (r, points) in snapshot.take() {
                        for (t, val) in points {
                            v.cache.insert(r, t, val);
                        }
                    }
                    v.snapshot = None;
                });
                return Err(e);
            }
        };
        let file = match &summary {
            Some(s) => Some(TsmFile::open(&s.path).map_err(storage)?),
            None => None,
        };
        failpoint("snapshot-file-written");
        self.set_view(|v| {
            v.files.extend(file);
            v.snapshot = None;
        });
        for (n, path) in wal::segments(&self.dir.join("wal")).map_err(storage)? {
            if n <= closed {
                std::fs::remove_file(&path).map_err(|e| storage(TsmError::io(&path, e)))?;
            }
        }
        if let Some(s) = &summary {
            self.counters.snapshots.fetch_add(1, Ordering::Relaxed);
            self.counters.snapshot_bytes_written.fetch_add(s.bytes, Ordering::Relaxed);
        }
        Ok(summary)
    }

    /// Writes a cache's points as a level-1 file of generation `generation` in `dir`.
    fn write_cache_file(
        &self,
        dir: &Path,
        cache: &Cache,
        generation: u64,
    ) -> Result<Option<FileSummary>, StorageError> {
        let mut series: Vec<(Arc<[u8]>, Points)> = cache
            .sorted_series()
            .into_iter()
            .filter_map(|(r, points)| Some((self.canonical_key(r)?, points)))
            .collect();
        if series.is_empty() {
            return Ok(None);
        }
        series.sort_by(|a, b| a.0.cmp(&b.0));
        let path = dir.join(file_name(generation, 1));
        let mut writer = TsmWriter::create(&path).map_err(storage)?;
        for (key, points) in &series {
            let ts: Vec<i64> = points.iter().map(|p| p.0).collect();
            let vs: Vec<f64> = points.iter().map(|p| p.1).collect();
            if let Err(e) = writer.write_series(key, &ts, &Values::Float(vs)) {
                writer.abandon();
                return Err(storage(e));
            }
        }
        writer.finish().map(Some).map_err(storage)
    }

    /// See `compact`.
    fn compact_once(&self, full: bool) -> Result<Option<Compaction>, StorageError> {
        let _one = lock(&self.compacting);
        let view = self.view();
        let cold_for =
            Duration::from_millis((self.now_ms() - self.last_write.load(Ordering::Relaxed)).max(0) as u64);
        let cold = full || (cold_for >= self.options.full_compaction_cold && view.cache.is_empty());
        let Some(range) = compact::plan(&view.files, cold) else { return Ok(None) };
        let inputs: Vec<TsmFile> = view.files[range].to_vec();
        if inputs.len() == 1 && inputs[0].tombstones.is_empty() {
            return Ok(None); // one file, nothing to drop: already compacted
        }
        let result = compact::merge(&self.dir, &inputs).map_err(storage)?;
        failpoint("compaction-output-written");
        self.publish(&inputs, &result)?;
        let c = &self.counters;
        c.compactions.fetch_add(1, Ordering::Relaxed);
        c.compaction_micros.fetch_add(result.millis * 1000, Ordering::Relaxed);
        c.compaction_bytes_written
            .fetch_add(result.output.as_ref().map_or(0, |o| o.bytes), Ordering::Relaxed);
        Ok(Some(result))
    }

    /// Replaces `inputs` by the compaction's output: tombstones the inputs gained while it
    /// ran go to the output, the view changes in one step, then the inputs are deleted.
    fn publish(&self, inputs: &[TsmFile], result: &Compaction) -> Result<(), StorageError> {
        let _ops = lock(&self.file_ops);
        let current = self.view();
        let mut late = Vec::new();
        for input in inputs {
            let now = current.files.iter().find(|f| f.path() == input.path());
            if let Some(now) = now {
                late.extend(now.tombstones[input.tombstones.len()..].iter().cloned());
            }
        }
        let mut output = match &result.output {
            Some(o) => Some(TsmFile::open(&o.path).map_err(storage)?),
            None => None,
        };
        if let (Some(out), false) = (&output, late.is_empty()) {
            output = Some(out.with_tombstones(&late).map_err(storage)?);
        }
        let paths: Vec<PathBuf> = inputs.iter().map(|f| f.path().to_path_buf()).collect();
        self.set_view(|v| {
            let at =
                v.files.iter().position(|f| paths.iter().any(|p| p == f.path())).unwrap_or(v.files.len());
            v.files.retain(|f| !paths.iter().any(|p| p == f.path()));
            if let Some(out) = output {
                v.files.insert(at.min(v.files.len()), out);
            }
        });
        for path in paths {
            if result.output.as_ref().is_some_and(|o| o.path == path) {
                continue; // the output took an input's name (a lone file rewritten)
            }
            let _ = std::fs::remove_file(crate::tombstone::path_for(&path));
            std::fs::remove_file(&path).map_err(|e| storage(TsmError::io(&path, e)))?;
            failpoint("compaction-input-deleted");
        }
        let journal = &result.journal;
        std::fs::remove_file(journal).map_err(|e| storage(TsmError::io(journal, e)))?;
        Ok(())
    }

    fn background_round(&self) -> Result<(), StorageError> {
        let idle =
            Duration::from_millis((self.now_ms() - self.last_write.load(Ordering::Relaxed)).max(0) as u64);
        let view = self.view();
        let due = view.cache.bytes() >= self.options.cache_snapshot_bytes
            || (!view.cache.is_empty() && idle >= self.options.snapshot_cold);
        drop(view);
        if due {
            self.snapshot_cache()?;
        }
        while self.compact_once(false)?.is_some() {}
        Ok(())
    }
}

impl Engine for TsmEngine {
    fn series_refs(&self, labels: &[Labels]) -> Result<Vec<AppendRef>, StorageError> {
        labels.iter().map(|l| self.inner.series_for(l, None).map(AppendRef::new)).collect()
    }

    fn append_refs(&self, batch: &[(AppendRef, i64, f64)]) -> Result<AppendResult, StorageError> {
        self.inner.append(batch, NS_PER_MS)
    }

    /// InfluxDB's nanoseconds, kept as they are.
    fn resolution_ns(&self) -> i64 {
        1
    }

    fn append_refs_ns(&self, batch: &[(AppendRef, i64, f64)]) -> Result<AppendResult, StorageError> {
        self.inner.append(batch, 1)
    }

    fn append_ns(&self, batch: &[(Labels, i64, f64)]) -> Result<AppendResult, StorageError> {
        let labels: Vec<Labels> = batch.iter().map(|(l, _, _)| l.clone()).collect();
        let refs = self.series_refs(&labels)?;
        let by_ref: Vec<_> = refs.into_iter().zip(batch).map(|(r, (_, t, v))| (r, *t, *v)).collect();
        self.inner.append(&by_ref, 1)
    }

    fn select_ns(&self, matchers: &[Matcher], min_ns: i64, max_ns: i64) -> Result<Vec<Series>, StorageError> {
        self.inner.select(matchers, min_ns, max_ns, 1)
    }

    fn sync_wal(&self) -> Result<(), StorageError> {
        self.inner.sync()
    }

    fn append_unsynced(&self, batch: &[(Labels, i64, f64)]) -> Result<AppendResult, StorageError> {
        // Every append syncs per the engine's option; a caller asking for less gets that.
        self.append(batch)
    }

    fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Series>, StorageError> {
        self.inner.select(matchers, mint, maxt, NS_PER_MS)
    }

    /// From the index, as the block engine's head answers: the time range is not looked at
    /// (selecting would decode every point of every series).
    fn label_names(&self, matchers: &[Matcher], _mint: i64, _maxt: i64) -> Result<Vec<String>, StorageError> {
        Ok(self.inner.index.label_names(matchers))
    }

    /// From the index; see `label_names`.
    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        _mint: i64,
        _maxt: i64,
    ) -> Result<Vec<String>, StorageError> {
        Ok(self.inner.index.label_values(name, matchers))
    }

    fn delete(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<u64, StorageError> {
        self.inner.delete(matchers, mint, maxt)
    }

    fn flush(&self) -> Result<FlushReport, StorageError> {
        let wal_before = self.inner.wal_bytes();
        let written = self.inner.snapshot_cache()?;
        let wal_after = self.inner.wal_bytes();
        Ok(FlushReport {
            written: written.into_iter().map(persisted).collect(),
            wal_bytes_removed: wal_before.saturating_sub(wal_after),
        })
    }

    fn snapshot(&self, out: &Path) -> Result<SnapshotReport, StorageError> {
        std::fs::create_dir_all(out).map_err(|e| storage(TsmError::io(out, e)))?;
        let _ops = lock(&self.inner.file_ops);
        let view = self.inner.view();
        let mut report = SnapshotReport::default();
        for file in &view.files {
            let name = file.path().file_name().unwrap_or_default();
            std::fs::hard_link(file.path(), out.join(name))
                .map_err(|e| storage(TsmError::io(file.path(), e)))?;
            let stones = crate::tombstone::path_for(file.path());
            if stones.exists() {
                let to = crate::tombstone::path_for(&out.join(name));
                std::fs::copy(&stones, &to).map_err(|e| storage(TsmError::io(&stones, e)))?;
            }
            report.linked.push(name.to_string_lossy().into_owned());
        }
        let generation = self.inner.next_generation.fetch_add(1, Ordering::SeqCst);
        let written = self.inner.write_cache_file(out, &view.cache, generation)?;
        report.written = written.map(persisted);
        Ok(report)
    }

    fn stats(&self) -> Result<EngineStats, StorageError> {
        let view = self.inner.view();
        let c = &self.inner.counters;
        let files = &view.files;
        Ok(EngineStats {
            head_series: view.cache.series(),
            head_samples: view.cache.len() + view.snapshot.as_ref().map_or(0, |s| s.len()),
            head_memory_bytes: self.inner.cache_bytes(),
            blocks: files.len() as u64,
            block_series: files.iter().map(|f| f.reader.key_count() as u64).sum(),
            block_samples: files.iter().map(|f| f.reader.point_count()).sum(),
            block_chunks: files.iter().map(|f| f.reader.block_count()).sum(),
            block_bytes: files.iter().map(|f| f.reader.size()).sum(),
            wal_bytes: self.inner.wal_bytes(),
            rejected_samples: c.rejected.load(Ordering::Relaxed),
            skipped_blocks: self.inner.skipped_files.len() as u64,
            compactions: c.compactions.load(Ordering::Relaxed),
            compaction_micros: c.compaction_micros.load(Ordering::Relaxed),
            wal_fsyncs: c.wal_syncs.load(Ordering::Relaxed),
            ..EngineStats::default()
        })
    }
}

fn persisted(s: FileSummary) -> Persisted {
    let id = s.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Persisted {
        id,
        min_time: s.min_time.div_euclid(NS_PER_MS),
        max_time: s.max_time.div_euclid(NS_PER_MS) + 1,
        series: s.keys,
        samples: s.points,
        chunks: s.blocks,
        chunk_bytes: s.bytes,
        index_bytes: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(n: usize) -> Labels {
        Labels::with_metric_name("m", [("n", n.to_string().as_str())]).unwrap()
    }

    #[test]
    fn writes_past_the_cache_limit_are_refused_until_a_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let options =
            TsmOptions { cache_max_bytes: 1024, background: false, sync_wal: false, ..TsmOptions::default() };
        let engine = TsmEngine::open(dir.path(), options).unwrap();
        let batch: Vec<_> = (0..100).map(|i| (labels(i % 3), i as i64, 1.0)).collect();
        engine.append(&batch).unwrap();
        let refused = engine.append(&batch).unwrap_err();
        assert!(matches!(refused, StorageError::Overloaded(_)), "{refused}");
        assert!(refused.to_string().contains("cache-max-size"), "{refused}");
        engine.snapshot_cache().unwrap();
        assert_eq!(engine.append(&batch).unwrap().accepted, 100);
    }

    #[test]
    fn a_damaged_file_is_reported_and_skipped_and_the_rest_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let options = TsmOptions { background: false, ..TsmOptions::default() };
        {
            let engine = TsmEngine::open(dir.path(), options.clone()).unwrap();
            engine.append(&[(labels(1), 1000, 1.0)]).unwrap();
            engine.snapshot_cache().unwrap();
            engine.append(&[(labels(2), 2000, 2.0)]).unwrap();
            engine.snapshot_cache().unwrap();
        }
        let first = dir.path().join(file_name(1, 1));
        let mut bytes = std::fs::read(&first).unwrap();
        bytes[0] ^= 0xFF;
        std::fs::write(&first, bytes).unwrap();
        let engine = TsmEngine::open(dir.path(), options).unwrap();
        let skipped = engine.skipped_files();
        assert_eq!(skipped.len(), 1);
        assert!(skipped[0].0 == first && skipped[0].1.contains("magic number"), "{skipped:?}");
        let series = engine.select(&[], 0, 10_000).unwrap();
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].collect_samples().unwrap(), [(2000, 2.0)]);
    }

    #[test]
    fn unstorable_samples_are_refused_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        let engine =
            TsmEngine::open(dir.path(), TsmOptions { background: false, ..TsmOptions::default() }).unwrap();
        let batch =
            [(labels(0), 1, 1.0), (labels(0), i64::MAX / 10, 2.0), (labels(0), 3, f64::from_bits(END_BITS))];
        let result = engine.append(&batch).unwrap();
        assert_eq!(result.accepted, 1);
        let reasons: Vec<_> = result
            .rejected
            .iter()
            .map(|r| (r.index, r.reason.contains("nanoseconds") || r.reason.contains("0x7FF8")))
            .collect();
        assert_eq!(reasons, [(1, true), (2, true)]);
        let second = TsmEngine::open(dir.path(), TsmOptions::default()).unwrap_err();
        assert!(second.to_string().contains("lock"), "one process at a time: {second}");
    }

    #[test]
    fn native_histograms_are_refused_not_failed() {
        let dir = tempfile::tempdir().unwrap();
        let engine =
            TsmEngine::open(dir.path(), TsmOptions { background: false, ..TsmOptions::default() }).unwrap();
        let h = strata_model::HistogramValue::Integer(strata_model::Histogram::default());
        let result = engine.append_histograms(&[(labels(0), 1, h.clone()), (labels(0), 2, h)]).unwrap();
        assert_eq!(result.accepted, 0);
        assert_eq!(result.rejected.len(), 2);
        assert!(
            result.rejected[0].reason.contains("native histograms are not stored"),
            "{:?}",
            result.rejected
        );
    }
}
