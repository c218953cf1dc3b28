//! The head: the most recent samples, in memory, every one of them first in the WAL.
//!
//! - **Series** are registered in the inverted index (`strata-index`), whose dense refs
//!   index a vector of series. Each series has its own mutex over its closed chunks, its
//!   open XOR chunk (encoded as samples arrive), its out-of-order samples and its newest
//!   timestamp, so appends to different series never wait on one another's lock. A chunk is
//!   cut at 120 samples or when a sample crosses a chunk range boundary (multiples of the
//!   block range), so that every chunk lies inside one block's time range.
//! - **Append** is two steps. `series_refs` resolves label sets to [`AppendRef`]s once,
//!   writing the records of new series to the WAL before it returns. `append_refs`, the hot
//!   path, groups a batch by series (a stable sort by ref, so arrival order is kept within
//!   a series), locks each series once in ascending ref order (no deadlock between
//!   batches), checks every sample, appends one WAL record of the accepted samples and only
//!   then applies them to memory. When it returns `Ok`, they are as durable as the WAL's
//!   policy promises. Refused samples are counted and returned one by one with the reason:
//!   - *out of bounds*: older than the head's minimum valid time (that range is already
//!     in a block);
//!   - *duplicate*: the timestamp is already there with another value (the very same
//!     sample again — the newest one, value bit for bit — is accepted and ignored, as
//!     Prometheus does, so a sender's retry of a write that was stored succeeds);
//!   - *out of order*: older than the series' newest sample by more than the out-of-order
//!     window (default 0: Prometheus' rule). Within the window, samples are kept apart in a
//!     sorted list per series and merged into queries and into the next block.
//!
//!   [`Head::append_backfill`] is the same path for history another replica copies in (the
//!   cluster's re-replication): no out-of-order window, and a timestamp already held is
//!   skipped rather than refused.
//! - **Open** replays the WAL (checkpoint, then segments): series records map the log's refs
//!   to head refs (a log a real Prometheus wrote uses its own refs), samples are applied in
//!   log order; samples older than the minimum valid time (the end of the newest block) are
//!   skipped, older-than-newest samples go to the out-of-order list whatever the window
//!   (they were acknowledged). Series this head creates get WAL refs above every ref found
//!   in the log.
//! - **Cutting** (driven by the engine): [`Head::raise_min_valid_time`] first, so no sample
//!   can land in the range any more, then [`Head::write_block`] streams it into a block,
//!   then [`Head::truncate`] drops it from memory. The minimum valid time is checked while
//!   the series' lock is held, after the lock was taken, so an append either lands before
//!   the range is read or is refused.
//! - **Select** returns each series' chunks that overlap the query range, shared (closed
//!   chunks are reference-counted; the open one is copied only if the query needs it);
//!   decoding happens when the caller iterates (`series_set`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use strata_codec::synthetic::SplitMix;
use strata_index::{SeriesIndex, SeriesRef};
use strata_model::histogram::HistogramValue;
use strata_model::{Labels, Matcher};
use strata_wal::{Record, RefSample, RefSeries, ReplayOptions, Tombstone, Wal, WalOptions};

use crate::admission::{SeriesAdmission, WRITE_SAMPLE_EVERY};
use crate::head_chunks::{self, HeadChunkFiles};
use crate::series_set::Series;
use crate::StorageError;

mod block_write;
mod histogram_append;
mod histogram_chunks;
mod mem_series;
mod ooo_samples;
mod series_removal;

pub(crate) use histogram_chunks::{decode_histogram_chunk, OpenChunk};
use mem_series::{ChunkSink, MemSeries};
use series_removal::{Redirected, Removal, REMOVED};

/// How a head behaves.
#[derive(Debug, Clone)]
pub struct HeadOptions {
    /// The WAL's options.
    pub wal: WalOptions,
    /// Chunks never cross a multiple of this (ms): the block range.
    pub chunk_range: i64,
    /// How far (ms) before its series' newest sample a sample is still accepted.
    pub out_of_order_window: i64,
    /// Samples before this are refused (and skipped in replay): they belong to blocks.
    pub min_valid_time: i64,
    /// Keep closed chunks in files under the data dir, mapped, instead of on the heap
    /// (`head_chunks`; default true).
    pub chunks_on_disk: bool,
}

/// Two hours, Prometheus' default block range.
pub const DEFAULT_BLOCK_RANGE_MS: i64 = 2 * 3600 * 1000;

impl Default for HeadOptions {
    fn default() -> Self {
        HeadOptions {
            wal: WalOptions::default(),
            chunk_range: DEFAULT_BLOCK_RANGE_MS,
            out_of_order_window: 0,
            min_valid_time: i64::MIN,
            chunks_on_disk: true,
        }
    }
}

/// Where an accepted sample goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    InOrder,
    OutOfOrder,
    /// The series' newest sample again: nothing to store.
    Identical,
    /// A backfilled sample at a timestamp the series holds: skipped.
    Held,
}

/// A series of an engine, for appending by ref (see [`Head::series_refs`]). Valid only for
/// the engine that gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AppendRef(pub(crate) u32);

impl AppendRef {
    /// A ref made by an engine outside this crate (the TSM engine) from its own series id.
    pub fn new(id: u32) -> AppendRef {
        AppendRef(id)
    }

    /// The engine's series id behind it.
    pub fn id(self) -> u32 {
        self.0
    }
}

/// Why a sample was not appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Position of the sample in the batch.
    pub index: usize,
    /// Why.
    pub reason: String,
}

/// What an append did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppendResult {
    /// Samples appended (durable per the WAL policy).
    pub accepted: usize,
    /// Of those, samples older than their series' newest (within the out-of-order window).
    pub out_of_order: usize,
    /// Samples refused, with the reason.
    pub rejected: Vec<Rejected>,
    /// A backfill's samples at timestamps the series already held, skipped (not counted in
    /// `accepted`); always 0 for a write.
    pub held: usize,
}

/// How an append judges samples older than their series' newest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AppendMode {
    /// A client's write: the out-of-order window and the duplicate rule apply.
    Write,
    /// History copied in from another replica ([`Head::append_backfill`]): any age at or
    /// after the minimum valid time is taken, and a timestamp the series already holds is
    /// skipped whatever its value (the two replicas' values are merged at query time).
    Backfill,
}

/// Figures about the head.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeadStats {
    /// Series.
    pub series: u64,
    /// Series removed since open because they held no sample after a cut.
    pub series_removed: u64,
    /// Samples appended or replayed since open (cut samples included).
    pub samples_appended: u64,
    /// Samples held now (in chunks and out of order).
    pub samples: u64,
    /// Chunks (closed and open).
    pub chunks: u64,
    /// Out-of-order samples held.
    pub out_of_order_samples: u64,
    /// Approximate heap bytes of series data (labels in the index not included).
    pub chunk_bytes: u64,
    /// Approximate heap bytes of the series index (labels, postings).
    pub index_bytes: u64,
    /// Bytes of closed chunks in the head chunk files (on disk, mapped, not on the heap).
    pub chunk_file_bytes: u64,
    /// Bytes the held samples take encoded (XOR chunks, 16 per out-of-order sample).
    pub encoded_bytes: u64,
    /// Samples rejected since open (out of bounds, duplicate, out of order).
    pub rejected: u64,
    /// Oldest and newest timestamp held (`None` when empty).
    pub time_range: Option<(i64, i64)>,
}

/// The head; see the module docs. Thread-safe.
#[derive(Debug)]
pub struct Head {
    /// Where closed chunks go (`None`: they stay in memory).
    chunk_files: Option<HeadChunkFiles>,
    index: SeriesIndex,
    series: RwLock<Vec<Arc<Mutex<MemSeries>>>>,
    wal: Wal,
    options: HeadOptions,
    /// WAL ref of the next new series.
    next_wal_ref: AtomicU64,
    min_valid_time: AtomicI64,
    /// Oldest and newest sample time held (`MAX`/`MIN` when empty).
    min_time: AtomicI64,
    max_time: AtomicI64,
    samples: AtomicU64,
    rejected: AtomicU64,
    /// Asked before a series is created (cardinality limits); none: every series is.
    admission: RwLock<Option<Arc<dyn SeriesAdmission>>>,
    /// Samples appended by ref, counted to pick the ones admission hears of (`sample_writes`).
    write_sampler: AtomicU64,
    /// Series taken out when they hold nothing (`series_removal`).
    removal: Removal,
}

/// What one try at appending a batch by ref did.
enum Attempt {
    Appended(AppendResult),
    /// Nothing: these refs name series removed meanwhile (`series_removal`).
    Removed(Vec<AppendRef>),
}

/// How a series' labels resolved.
enum Resolved {
    Known(AppendRef),
    Created(AppendRef, RefSeries),
    /// Admission control refused to create it; the reason.
    Refused(String),
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Series state is updated only after the WAL write succeeded, one sample at a time; a
    // panic mid-way (a bug) leaves a consistent prefix, so a poisoned lock is used as is.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What replay builds before the head exists.
#[derive(Debug, Default)]
struct Replayed {
    series: Vec<Arc<Mutex<MemSeries>>>,
    by_wal_ref: HashMap<u64, usize>,
    max_ref: u64,
    samples: u64,
    min_time: i64,
    max_time: i64,
    failure: Option<StorageError>,
}

impl Replayed {
    fn record(&mut self, record: Record, index: &SeriesIndex, options: &HeadOptions, sink: ChunkSink<'_>) {
        match record {
            Record::Series(list) => {
                for s in list {
                    if s.series_ref >= series_removal::REMOVED {
                        // Never given out (a head's refs count up from 1); a series under it
                        // could not be told from a removed one: the log is damaged.
                        let detail = format!(
                            "WAL series record with ref {}, past any ref a head gives out",
                            s.series_ref
                        );
                        self.failure = Some(StorageError::Invalid(detail));
                        continue;
                    }
                    self.max_ref = self.max_ref.max(s.series_ref);
                    match index.get_or_create(&s.labels) {
                        Ok(r) if r.0 as usize == self.series.len() => {
                            self.series.push(Arc::new(Mutex::new(MemSeries::new(s.series_ref))));
                            self.by_wal_ref.insert(s.series_ref, r.0 as usize);
                        }
                        // The same labels again under another ref (Prometheus may log a series
                        // twice across a checkpoint): both refs name one series.
                        Ok(r) if (r.0 as usize) < self.series.len() => {
                            self.by_wal_ref.insert(s.series_ref, r.0 as usize);
                        }
                        Ok(r) => {
                            let detail =
                                format!("series ref {} out of step with {} series", r.0, self.series.len());
                            self.failure = Some(StorageError::Invalid(detail));
                        }
                        Err(e) => self.failure = Some(StorageError::from(e)),
                    }
                }
            }
            Record::Tombstones(list) => {
                for stone in list {
                    let Some(&i) = self.by_wal_ref.get(&stone.series_ref) else { continue };
                    if let Err(e) = lock(&self.series[i]).delete(stone.mint, stone.maxt, sink) {
                        self.failure = Some(e);
                    }
                }
            }
            Record::Histograms(list) => {
                let values = list.into_iter().map(|h| (h.series_ref, h.t, HistogramValue::Integer(h.h)));
                self.replay_histograms(values, options, sink);
            }
            Record::FloatHistograms(list) => {
                let values = list.into_iter().map(|h| (h.series_ref, h.t, HistogramValue::Float(h.h)));
                self.replay_histograms(values, options, sink);
            }
            Record::Samples(list) => {
                for s in list.iter().filter(|s| s.t >= options.min_valid_time) {
                    let Some(&i) = self.by_wal_ref.get(&s.series_ref) else { continue };
                    if lock(&self.series[i]).replay(s.t, s.v, sink) {
                        self.samples += 1;
                        self.min_time = self.min_time.min(s.t);
                        self.max_time = self.max_time.max(s.t);
                    }
                }
            }
            _ => {}
        }
    }
}

impl Replayed {
    fn replay_histograms(
        &mut self,
        values: impl Iterator<Item = (u64, i64, HistogramValue)>,
        options: &HeadOptions,
        sink: ChunkSink<'_>,
    ) {
        for (series_ref, t, value) in values.filter(|v| v.1 >= options.min_valid_time) {
            let Some(&i) = self.by_wal_ref.get(&series_ref) else { continue };
            if lock(&self.series[i]).replay_histogram(t, value, sink) {
                self.samples += 1;
                self.min_time = self.min_time.min(t);
                self.max_time = self.max_time.max(t);
            }
        }
    }
}

impl Head {
    /// Opens the head of the data dir `dir`: replays `dir/wal/`, then appends to it.
    pub fn open(dir: &Path, options: HeadOptions) -> Result<Head, StorageError> {
        if options.chunk_range <= 0 {
            return Err(StorageError::Invalid(format!(
                "chunk range {} ms must be positive",
                options.chunk_range
            )));
        }
        let wal_dir = dir.join("wal");
        let chunk_files = if options.chunks_on_disk {
            Some(HeadChunkFiles::create(dir, head_chunks::SEGMENT_BYTES)?)
        } else {
            None
        };
        let sink = ChunkSink { chunk_range: options.chunk_range, files: chunk_files.as_ref() };
        let index = SeriesIndex::new();
        let mut replayed = Replayed { min_time: i64::MAX, max_time: i64::MIN, ..Replayed::default() };
        if wal_dir.is_dir() {
            strata_wal::replay(&wal_dir, ReplayOptions::default(), |record| {
                replayed.record(record, &index, &options, sink)
            })?;
        }
        if let Some(e) = replayed.failure {
            return Err(e);
        }
        let wal = Wal::open(&wal_dir, options.wal.clone())?;
        Ok(Head {
            chunk_files,
            index,
            series: RwLock::new(replayed.series),
            wal,
            next_wal_ref: AtomicU64::new(replayed.max_ref + 1),
            removal: Removal::new(replayed.max_ref + 1),
            min_valid_time: AtomicI64::new(options.min_valid_time),
            options,
            min_time: AtomicI64::new(replayed.min_time),
            max_time: AtomicI64::new(replayed.max_time),
            samples: AtomicU64::new(replayed.samples),
            rejected: AtomicU64::new(0),
            admission: RwLock::new(None),
            write_sampler: AtomicU64::new(0),
        })
    }

    fn sink(&self) -> ChunkSink<'_> {
        ChunkSink { chunk_range: self.options.chunk_range, files: self.chunk_files.as_ref() }
    }

    /// The head's write-ahead log.
    pub fn wal(&self) -> &Wal {
        &self.wal
    }

    /// The series index of the head (label lookups).
    pub fn index(&self) -> &SeriesIndex {
        &self.index
    }

    /// The series of ref `r`; `None` if it was never handed out or was removed (removed
    /// slots share one series, which is never locked: two of them would be locked twice).
    fn series_at(&self, r: SeriesRef) -> Option<Arc<Mutex<MemSeries>>> {
        let all = self.series.read().unwrap_or_else(|e| e.into_inner());
        all.get(r.0 as usize).filter(|s| !self.removal.is_removed_slot(s)).cloned()
    }

    /// Every series in the head with its ref (removed ones left out).
    fn all_series(&self) -> Vec<(SeriesRef, Arc<Mutex<MemSeries>>)> {
        let all = self.series.read().unwrap_or_else(|e| e.into_inner());
        let live = all.iter().enumerate().filter(|(_, s)| !self.removal.is_removed_slot(s));
        live.map(|(i, s)| (SeriesRef(i as u32), Arc::clone(s))).collect()
    }

    /// The refs of these series, creating the new ones: their records go to the WAL (one
    /// append for all of them) before this returns, so samples appended by ref later always
    /// follow their series in the log. Callers keep refs to append without label lookups.
    pub fn series_refs(&self, labels: &[Labels]) -> Result<Vec<AppendRef>, StorageError> {
        self.refs_of(labels.iter(), true)?.into_iter().map(|r| r.map_err(StorageError::Invalid)).collect()
    }

    /// [`Head::series_refs`] with admission control's refusals per series (the reason)
    /// rather than as an error for all.
    pub fn series_refs_admitted(
        &self,
        labels: &[Labels],
    ) -> Result<Vec<Result<AppendRef, String>>, StorageError> {
        self.refs_of(labels.iter(), true)
    }

    /// Sets the hook asked before each new series is created (replacing any earlier one).
    pub fn set_admission(&self, admission: Option<Arc<dyn SeriesAdmission>>) {
        *self.admission.write().unwrap_or_else(|e| e.into_inner()) = admission;
    }

    /// The labels of the series the matchers select (every series with none), at most `max`.
    pub fn series_labels(&self, matchers: &[Matcher], max: usize) -> Vec<Labels> {
        let refs = if matchers.is_empty() { self.index.all_series() } else { self.index.select(matchers) };
        refs.iter().take(max).filter_map(|r| self.index.labels(SeriesRef(r))).collect()
    }

    /// How many series the matchers select (all of them with none): what a hook counts
    /// when it is set.
    pub fn count_series(&self, matchers: &[Matcher]) -> u64 {
        if matchers.is_empty() {
            return self.index.all_series().len();
        }
        self.index.select(matchers).len()
    }

    fn refs_of<'a>(
        &self,
        labels: impl ExactSizeIterator<Item = &'a Labels>,
        wait: bool,
    ) -> Result<Vec<Result<AppendRef, String>>, StorageError> {
        let mut refs = Vec::with_capacity(labels.len());
        let mut created = Vec::new();
        for l in labels {
            match self.resolve(l)? {
                Resolved::Known(r) => refs.push(Ok(r)),
                Resolved::Created(r, new) => {
                    created.push(new);
                    refs.push(Ok(r));
                }
                Resolved::Refused(reason) => refs.push(Err(reason)),
            }
        }
        if !created.is_empty() {
            self.learned(&created);
            self.wal_append(&[Record::Series(created)], wait)?;
        }
        Ok(refs)
    }

    /// Tells admission control what a batch created (outside the creation lock).
    fn learned(&self, created: &[RefSeries]) {
        let Some(admission) = self.admission.read().unwrap_or_else(|e| e.into_inner()).clone() else {
            return;
        };
        let labels: Vec<&Labels> = created.iter().map(|s| &s.labels).collect();
        let head_series = self.live_series(self.series.read().unwrap_or_else(|e| e.into_inner()).len());
        admission.learned(&labels, head_series);
    }

    fn resolve(&self, labels: &Labels) -> Result<Resolved, StorageError> {
        if let Some(r) = self.index.get(labels) {
            return Ok(Resolved::Known(AppendRef(r.0)));
        }
        let admission = self.admission.read().unwrap_or_else(|e| e.into_inner()).clone();
        // A refusal is decided before the creation lock too: only a removal pass after a cut
        // (`series_removal`) makes room, so what the limits refuse now they would refuse
        // under the lock but at that moment, and an explosion of refused series does not
        // hold the lock every appender needs. An admission is only decided under the lock
        // (below), where it is exact.
        if let Some(admission) = &admission {
            let now = self.live_series(self.series.read().unwrap_or_else(|e| e.into_inner()).len());
            if let Err(reason) = admission.admit(labels, now) {
                return Ok(Resolved::Refused(reason));
            }
        }
        let mut all = self.series.write().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = self.index.get(labels) {
            return Ok(Resolved::Known(AppendRef(r.0))); // another appender created it meanwhile
        }
        if let Some(admission) = &admission {
            if let Err(reason) = admission.admit(labels, self.live_series(all.len())) {
                return Ok(Resolved::Refused(reason));
            }
        }
        let r = self.index.get_or_create(labels)?;
        // Index refs are dense and only created here (under this lock) or during replay, so a
        // new ref is the next position; anything else would attach samples to a wrong series.
        if r.0 as usize != all.len() {
            let n = all.len();
            return Err(StorageError::Invalid(format!(
                "series ref {} out of step with the head's {n} series",
                r.0
            )));
        }
        let wal_ref = self.next_wal_ref.fetch_add(1, Ordering::SeqCst);
        all.push(Arc::new(Mutex::new(MemSeries::new(wal_ref))));
        if let Some(admission) = &admission {
            admission.created(labels, self.live_series(all.len()));
        }
        Ok(Resolved::Created(AppendRef(r.0), RefSeries { series_ref: wal_ref, labels: labels.clone() }))
    }

    /// Appends a batch of samples given by labels: [`Head::series_refs`], then
    /// [`Head::append_refs`]. See the module docs for what `Ok` promises.
    pub fn append(&self, batch: &[(Labels, i64, f64)]) -> Result<AppendResult, StorageError> {
        self.append_labelled(batch, true)
    }

    /// [`Head::append`] without waiting for the WAL to be durable; [`Head::sync_wal`] makes
    /// it so (see `Wal::append_unsynced`).
    pub fn append_unsynced(&self, batch: &[(Labels, i64, f64)]) -> Result<AppendResult, StorageError> {
        self.append_labelled(batch, false)
    }

    /// Makes every append so far durable.
    pub fn sync_wal(&self) -> Result<(), StorageError> {
        Ok(self.wal.sync()?)
    }

    fn append_labelled(
        &self,
        batch: &[(Labels, i64, f64)],
        wait: bool,
    ) -> Result<AppendResult, StorageError> {
        let refs = self.refs_of(batch.iter().map(|(l, _, _)| l), wait)?;
        let mut by_ref = Vec::with_capacity(batch.len());
        let mut at = Vec::with_capacity(batch.len());
        let mut refused = Vec::new();
        for (i, (r, (_, t, v))) in refs.into_iter().zip(batch).enumerate() {
            match r {
                Ok(r) => {
                    by_ref.push((r, *t, *v));
                    at.push(i);
                }
                Err(reason) => refused.push(Rejected { index: i, reason }),
            }
        }
        if refused.is_empty() {
            return self.append_refs_waiting(&by_ref, wait, AppendMode::Write);
        }
        // Indexes in the result are the caller's.
        let mut result = self.append_refs_waiting(&by_ref, wait, AppendMode::Write)?;
        for r in &mut result.rejected {
            r.index = at[r.index];
        }
        self.rejected.fetch_add(refused.len() as u64, Ordering::Relaxed);
        result.rejected.extend(refused);
        result.rejected.sort_by_key(|r| r.index);
        Ok(result)
    }

    fn wal_append(&self, records: &[Record], wait: bool) -> Result<(), StorageError> {
        if wait {
            self.wal.append(records)?;
        } else {
            self.wal.append_unsynced(records)?;
        }
        Ok(())
    }

    /// Where sample `(t, v)` goes in a series whose newest in-order sample is `newest`, or
    /// why it is refused; `pending` are the series' timestamps accepted earlier in the batch.
    fn place(
        &self,
        (t, v): (i64, f64),
        newest: Option<(i64, f64)>,
        series: &MemSeries,
        pending: &[i64],
        mode: AppendMode,
    ) -> Result<Placement, String> {
        let min_valid = self.min_valid_time.load(Ordering::SeqCst);
        if t < min_valid {
            return Err(format!(
                "out of bounds: timestamp {t} is before {min_valid}, the start of the head (older data is in blocks)"
            ));
        }
        let Some((n, newest_v)) = newest.filter(|&(n, _)| t <= n) else { return Ok(Placement::InOrder) };
        if mode == AppendMode::Backfill {
            let held = t == n || pending.contains(&t) || series.holds(t);
            return Ok(if held { Placement::Held } else { Placement::OutOfOrder });
        }
        if t == n && v.to_bits() == newest_v.to_bits() {
            return Ok(Placement::Identical);
        }
        let window = self.options.out_of_order_window;
        let in_window = window > 0 && t >= n.saturating_sub(window);
        if t == n || (in_window && (pending.contains(&t) || series.holds(t))) {
            return Err(format!("duplicate sample for timestamp {t}"));
        }
        if in_window {
            return Ok(Placement::OutOfOrder);
        }
        Err(format!(
            "out of order sample: timestamp {t} is before the series' newest {n} (out-of-order window {window} ms)"
        ))
    }

    /// Appends samples of series known by ref (the ingest hot path: no label lookups).
    /// Refused samples are returned each with its reason (see the module docs).
    pub fn append_refs(&self, batch: &[(AppendRef, i64, f64)]) -> Result<AppendResult, StorageError> {
        self.append_refs_waiting(batch, true, AppendMode::Write)
    }

    /// Appends history another replica holds (the cluster's re-replication): samples of
    /// any age at or after the minimum valid time go in (older than their series' newest:
    /// kept apart, as out-of-order samples are, and logged); a timestamp the series holds
    /// already is skipped and counted in `held`. Samples before the minimum valid time are
    /// refused as out of bounds: they belong in a block.
    pub fn append_backfill(&self, batch: &[(AppendRef, i64, f64)]) -> Result<AppendResult, StorageError> {
        self.append_refs_waiting(batch, true, AppendMode::Backfill)
    }

    fn append_refs_waiting(
        &self,
        batch: &[(AppendRef, i64, f64)],
        wait: bool,
        mode: AppendMode,
    ) -> Result<AppendResult, StorageError> {
        let mut removed = match self.try_append_refs(batch, wait, mode)? {
            Attempt::Appended(result) => return Ok(result),
            Attempt::Removed(removed) => removed,
        };
        // Some of its series were removed (`series_removal`): their samples go to the live
        // series of their labels, and the batch is tried again.
        let mut current =
            Redirected { batch: batch.to_vec(), positions: (0..batch.len()).collect(), refused: Vec::new() };
        for _ in 0..series_removal::REDIRECTS {
            let next = self.redirect(&current.batch, &current.positions, &removed, wait)?;
            current.refused.extend(next.refused);
            (current.batch, current.positions) = (next.batch, next.positions);
            match self.try_append_refs(&current.batch, wait, mode)? {
                Attempt::Removed(again) => removed = again,
                Attempt::Appended(mut result) => {
                    for r in &mut result.rejected {
                        r.index = current.positions[r.index];
                    }
                    self.rejected.fetch_add(current.refused.len() as u64, Ordering::Relaxed);
                    result.rejected.extend(current.refused);
                    result.rejected.sort_by_key(|r| r.index);
                    return Ok(result);
                }
            }
        }
        Err(series_removal::removed_again())
    }

    fn try_append_refs(
        &self,
        batch: &[(AppendRef, i64, f64)],
        wait: bool,
        mode: AppendMode,
    ) -> Result<Attempt, StorageError> {
        // Group by series, keeping arrival order within a series (stable sort); series are
        // locked in ascending ref order, the same in every batch, so batches cannot deadlock.
        let mut order: Vec<usize> = (0..batch.len()).collect();
        order.sort_by_key(|&i| batch[i].0);
        // A removed series gets nothing: the caller redirects. Removed slots share one
        // series, so they are told apart before any lock is taken (it would be taken twice).
        let (series, removed) = {
            let all = self.series.read().unwrap_or_else(|e| e.into_inner());
            let (mut series, mut removed) = (Vec::new(), Vec::new());
            for (k, &i) in order.iter().enumerate() {
                if k > 0 && batch[order[k - 1]].0 == batch[i].0 {
                    continue;
                }
                let r = batch[i].0;
                let s = all
                    .get(r.0 as usize)
                    .ok_or_else(|| StorageError::Invalid(format!("unknown series ref {}", r.0)))?;
                if self.removal.is_removed_slot(s) {
                    removed.push(r);
                } else {
                    series.push(Arc::clone(s));
                }
            }
            (series, removed)
        };
        if !removed.is_empty() {
            return Ok(Attempt::Removed(removed));
        }
        // The minimum valid time is read (in `place`) only once these locks are held.
        let mut guards: Vec<_> = series.iter().map(|s| lock(s)).collect();
        if guards.iter().any(|g| g.wal_ref() == REMOVED) {
            // Removed after its slot was read, before its lock was taken (rare: only then
            // are the groups' refs gathered).
            let mut refs: Vec<AppendRef> = order.iter().map(|&i| batch[i].0).collect();
            refs.dedup();
            let removed =
                refs.into_iter().zip(&guards).filter(|(_, g)| g.wal_ref() == REMOVED).map(|(r, _)| r);
            return Ok(Attempt::Removed(removed.collect()));
        }
        let mut result = AppendResult::default();
        let mut accepted: Vec<(usize, Placement, RefSample)> = Vec::with_capacity(batch.len());
        let (mut group, mut newest, mut pending) = (0usize, None, Vec::new());
        let mut identical = 0;
        for (k, &i) in order.iter().enumerate() {
            if k > 0 && batch[order[k - 1]].0 != batch[i].0 {
                group += 1;
                newest = None;
                pending.clear();
            }
            let (_, t, v) = batch[i];
            let g = &guards[group];
            if newest.is_none() && g.last_t() == Some(t) && g.last_is_histogram() {
                result
                    .rejected
                    .push(Rejected { index: i, reason: format!("duplicate sample for timestamp {t}") });
                continue;
            }
            let newest_here = newest.or(g.last_t().map(|last| (last, g.last_v)));
            match self.place((t, v), newest_here, g, &pending, mode) {
                Ok(Placement::Identical) => identical += 1,
                Ok(Placement::Held) => result.held += 1,
                Ok(placement) => {
                    if placement == Placement::InOrder {
                        newest = Some((t, v));
                    }
                    pending.push(t);
                    accepted.push((group, placement, RefSample { series_ref: g.wal_ref(), t, v }));
                }
                Err(reason) => result.rejected.push(Rejected { index: i, reason }),
            }
        }
        result.rejected.sort_by_key(|r| r.index);
        if !accepted.is_empty() {
            let samples = accepted.iter().map(|(_, _, s)| *s).collect();
            self.wal_append(&[Record::Samples(samples)], wait)?;
        }
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for (group, placement, s) in &accepted {
            match placement {
                Placement::InOrder => guards[*group].push(s.t, s.v, self.sink())?,
                Placement::OutOfOrder => {
                    guards[*group].insert_ooo(s.t, s.v);
                    result.out_of_order += 1;
                }
                Placement::Identical | Placement::Held => {}
            }
            (lo, hi) = (lo.min(s.t), hi.max(s.t));
        }
        drop(guards);
        if !accepted.is_empty() {
            self.min_time.fetch_min(lo, Ordering::SeqCst);
            self.max_time.fetch_max(hi, Ordering::SeqCst);
        }
        result.accepted = accepted.len() + identical;
        self.samples.fetch_add(accepted.len() as u64, Ordering::Relaxed);
        self.rejected.fetch_add(result.rejected.len() as u64, Ordering::Relaxed);
        self.sample_writes(batch);
        Ok(Attempt::Appended(result))
    }

    /// Tells admission control the series of one sample appended in `WRITE_SAMPLE_EVERY`
    /// (for write rates), after every series lock is released. How many a batch gives is
    /// exact over time (a running count); which ones is random, so that series sent in a
    /// fixed order, in batches whose size shares a factor with 64, are not always the same
    /// ones heard of.
    fn sample_writes(&self, batch: &[(AppendRef, i64, f64)]) {
        let Some(admission) = self.admission.read().unwrap_or_else(|e| e.into_inner()).clone() else {
            return;
        };
        let (n, every) = (batch.len() as u64, WRITE_SAMPLE_EVERY);
        let seen = self.write_sampler.fetch_add(n, Ordering::Relaxed);
        let count = (seen + n) / every - seen / every;
        if count == 0 {
            return;
        }
        let mut random = SplitMix(seen);
        let sampled: Vec<Labels> = (0..count)
            .filter_map(|_| {
                let i = (random.next_u64() % n) as usize;
                self.index.labels(SeriesRef(batch[i].0 .0))
            })
            .collect();
        admission.written(&sampled, every);
    }

    /// Series the matchers select, with their chunks that overlap `[mint, maxt]`, sorted by
    /// labels. Series without such chunks are left out.
    pub fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Series> {
        let mut out = Vec::new();
        for r in self.index.select(matchers).iter().map(SeriesRef) {
            let (Some(labels), Some(series)) = (self.index.labels(r), self.series_at(r)) else { continue };
            let chunks = lock(&series).chunks_in(mint, maxt);
            if !chunks.is_empty() {
                out.push(Series::new(labels, chunks, mint, maxt));
            }
        }
        out.sort_by(|a, b| a.labels().cmp(b.labels()));
        out
    }

    /// [`Head::select`]'s series that have a sample in `[mint, maxt]`, without building
    /// them: a series wholly inside the range has one if it has any chunk, so only a series
    /// the range cuts has its chunks listed and read until the first sample.
    pub fn refs_with_samples(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> roaring::RoaringBitmap {
        let mut out = roaring::RoaringBitmap::new();
        for r in self.index.select(matchers).iter() {
            let Some(series) = self.series_at(SeriesRef(r)) else { continue };
            let s = lock(&series);
            let has_sample = if !s.touches(mint, maxt) {
                false
            } else if s.oldest().is_some_and(|t| t >= mint) && maxt == i64::MAX {
                true
            } else {
                let chunks = s.chunks_in(mint, maxt);
                drop(s);
                Series::new(Labels::default(), chunks, mint, maxt).has_samples()
            };
            if has_sample {
                out.insert(r);
            }
        }
        out
    }

    /// The labels of [`Head::refs_with_samples`], in no particular order.
    pub fn labels_with_samples(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Labels> {
        let refs = self.refs_with_samples(matchers, mint, maxt);
        refs.iter().filter_map(|r| self.index.labels(SeriesRef(r))).collect()
    }

    /// The distinct tuples of the values of `names` among [`Head::refs_with_samples`]
    /// (see `SeriesIndex::distinct_values`).
    pub fn distinct_values(
        &self,
        matchers: &[Matcher],
        names: &[&str],
        mint: i64,
        maxt: i64,
    ) -> Vec<Vec<Option<String>>> {
        self.index.distinct_values(&self.refs_with_samples(matchers, mint, maxt), names)
    }

    /// Deletes the samples in `[mint, maxt]` of the series the matchers select: a WAL
    /// tombstones record first, then the samples are dropped from memory, all under the
    /// series' locks (taken in ascending order) so that no append lands between the two.
    /// Returns the labels of the series that had chunks in the range.
    pub fn delete(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Labels>, StorageError> {
        let refs: Vec<SeriesRef> = self.index.select(matchers).iter().map(SeriesRef).collect();
        self.delete_refs(&refs, mint, maxt)
    }

    /// Deletes every sample of exactly these series (no others, unlike matchers, which
    /// also select series with more labels), as [`Head::delete`] does.
    pub fn delete_series(&self, series: &[Labels]) -> Result<Vec<Labels>, StorageError> {
        let mut refs: Vec<SeriesRef> = series.iter().filter_map(|labels| self.index.get(labels)).collect();
        refs.sort_unstable_by_key(|r| r.0);
        refs.dedup();
        self.delete_refs(&refs, i64::MIN, i64::MAX)
    }

    /// [`Head::delete`] of the series `refs` (ascending).
    fn delete_refs(&self, refs: &[SeriesRef], mint: i64, maxt: i64) -> Result<Vec<Labels>, StorageError> {
        let selected: Vec<(SeriesRef, Arc<Mutex<MemSeries>>)> =
            refs.iter().filter_map(|&r| self.series_at(r).map(|s| (r, s))).collect();
        let mut guards: Vec<_> = selected.iter().map(|(r, s)| (*r, lock(s))).collect();
        guards.retain(|(_, g)| g.touches(mint, maxt));
        if guards.is_empty() {
            return Ok(Vec::new());
        }
        let stones = guards.iter().map(|(_, g)| Tombstone { series_ref: g.wal_ref(), mint, maxt }).collect();
        self.wal.append(&[Record::Tombstones(stones)])?;
        let mut touched = Vec::with_capacity(guards.len());
        for (r, g) in &mut guards {
            g.delete(mint, maxt, self.sink())?;
            touched.extend(self.index.labels(*r));
        }
        Ok(touched)
    }

    /// The oldest and newest timestamp in the head, if it holds any sample.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        let (lo, hi) = (self.min_time.load(Ordering::SeqCst), self.max_time.load(Ordering::SeqCst));
        (lo <= hi).then_some((lo, hi))
    }

    /// Samples before this are refused.
    pub fn min_valid_time(&self) -> i64 {
        self.min_valid_time.load(Ordering::SeqCst)
    }

    /// Refuses samples before `t` from now on (never lowers it).
    pub fn raise_min_valid_time(&self, t: i64) {
        self.min_valid_time.fetch_max(t, Ordering::SeqCst);
    }

    /// Drops every sample before `t` from memory (they are in a block now) and moves the
    /// head's start to its oldest remaining sample.
    pub fn truncate(&self, t: i64) {
        let mut oldest = i64::MAX;
        for (_, s) in self.all_series() {
            let mut m = lock(&s);
            m.truncate(t);
            oldest = oldest.min(m.oldest().unwrap_or(i64::MAX));
        }
        // Appends racing with this only add samples at or after `t`; starting at `t` when
        // the head is empty keeps `time_range` from going backwards.
        let start = if oldest == i64::MAX { t } else { oldest.max(t) };
        self.min_time.fetch_max(start, Ordering::SeqCst);
        if let Some(files) = &self.chunk_files {
            files.remove_before(t);
        }
    }

    /// Figures about the head.
    pub fn stats(&self) -> HeadStats {
        let all = self.all_series();
        let (mut chunks, mut bytes, mut ooo, mut samples, mut encoded) = (0u64, 0u64, 0u64, 0u64, 0u64);
        for (_, s) in &all {
            let m = lock(s);
            let histograms = m.histograms.as_deref();
            chunks += m.closed.len() as u64
                + u64::from(!m.open.is_empty())
                + histograms.map_or(0, |h| h.chunk_count() as u64);
            let closed: u64 = m.closed.iter().map(|c| c.bytes.samples()).sum();
            samples += closed + m.open.len() as u64 + m.ooo.len() as u64;
            samples += histograms.map_or(0, |h| h.sample_count() as u64);
            bytes += m.heap_bytes() as u64;
            encoded += m.encoded_bytes() as u64;
            ooo += m.ooo.len() as u64;
        }
        HeadStats {
            series: all.len() as u64,
            series_removed: self.removal.removed(),
            samples_appended: self.samples.load(Ordering::Relaxed),
            samples,
            chunks,
            out_of_order_samples: ooo,
            chunk_bytes: bytes,
            index_bytes: self.index.stats().memory_bytes as u64,
            chunk_file_bytes: self.chunk_files.as_ref().map_or(0, HeadChunkFiles::bytes),
            encoded_bytes: encoded,
            rejected: self.rejected.load(Ordering::Relaxed),
            time_range: self.time_range(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_wal::SyncPolicy;

    pub(super) fn opts() -> HeadOptions {
        HeadOptions {
            wal: WalOptions { policy: SyncPolicy::None, ..WalOptions::default() },
            ..Default::default()
        }
    }

    fn collect(series: Vec<Series>) -> Vec<(Labels, Vec<(i64, f64)>)> {
        series.into_iter().map(|s| (s.labels().clone(), s.collect_samples().unwrap())).collect()
    }

    pub(super) fn series(job: &str) -> Labels {
        Labels::from_pairs([("__name__", "up"), ("job", job)]).unwrap()
    }

    pub(super) fn all(head: &Head) -> Vec<(Labels, Vec<(i64, f64)>)> {
        collect(head.select(&[], i64::MIN, i64::MAX))
    }

    #[test]
    fn appends_are_selected_and_chunks_cut_at_120() {
        let dir = tempfile::tempdir().unwrap();
        let head = Head::open(dir.path(), opts()).unwrap();
        let batch: Vec<_> = (0..300)
            .flat_map(|i| [(series("a"), i * 1000, i as f64), (series("b"), i * 1000, -(i as f64))])
            .collect();
        let result = head.append(&batch).unwrap();
        assert_eq!((result.accepted, result.rejected.len()), (600, 0));
        let got = all(&head);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1.len(), 300);
        assert_eq!(got[1].1[299], (299_000, -299.0));
        assert_eq!(head.stats().chunks, 2 * 3, "300 samples: two full chunks and an open one");
        let window = collect(head.select(&[Matcher::equal("job", "a")], 100_000, 100_500));
        assert_eq!(window, vec![(series("a"), vec![(100_000, 100.0)])]);
    }

    #[test]
    fn out_of_order_and_duplicate_samples_are_rejected_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let head = Head::open(dir.path(), opts()).unwrap();
        head.append(&[(series("a"), 10, 1.0)]).unwrap();
        let result = head
            .append(&[
                (series("a"), 5, 2.0),
                (series("a"), 10, 3.0),
                (series("a"), 11, 4.0),
                (series("a"), 11, 5.0),
                (series("a"), 11, 4.0),
            ])
            .unwrap();
        assert_eq!(result.accepted, 2, "the newest sample again is accepted (and stored once)");
        assert_eq!(result.rejected.iter().map(|r| r.index).collect::<Vec<_>>(), [0, 1, 3]);
        assert!(result.rejected[0].reason.contains("out of order"), "{}", result.rejected[0].reason);
        assert!(result.rejected[1].reason.contains("duplicate"), "{}", result.rejected[1].reason);
        assert_eq!(all(&head)[0].1, [(10, 1.0), (11, 4.0)]);
        assert_eq!(head.stats().rejected, 3);

        // Deleting the newest sample keeps its time and value as the newest: the same
        // sample again is still "identical", the older sample's value at that time is not.
        head.delete(&[Matcher::equal("job", "a")], 11, 11).unwrap();
        let result = head.append(&[(series("a"), 11, 1.0), (series("a"), 11, 4.0)]).unwrap();
        assert_eq!(result.rejected.iter().map(|r| r.index).collect::<Vec<_>>(), [0]);
        assert!(result.rejected[0].reason.contains("duplicate"), "{}", result.rejected[0].reason);
        assert_eq!(all(&head)[0].1, [(10, 1.0)], "deleted stays deleted");
    }

    #[test]
    fn append_by_ref_keeps_arrival_order_within_each_series() {
        let dir = tempfile::tempdir().unwrap();
        let head = Head::open(dir.path(), opts()).unwrap();
        let refs = head.series_refs(&[series("a"), series("b")]).unwrap();
        let (a, b) = (refs[0], refs[1]);
        assert_eq!(head.series_refs(&[series("b")]).unwrap(), [b], "refs are stable");
        let result =
            head.append_refs(&[(a, 5, 1.0), (b, 1, 2.0), (a, 3, 3.0), (a, 6, 4.0), (b, 1, 5.0)]).unwrap();
        assert_eq!(result.accepted, 3);
        assert_eq!(result.rejected.iter().map(|r| r.index).collect::<Vec<_>>(), [2, 4]);
        let got = all(&head);
        assert_eq!(got[0].1, [(5, 1.0), (6, 4.0)]);
        assert_eq!(got[1].1, [(1, 2.0)]);
        let unknown = head.append_refs(&[(AppendRef(99), 1, 1.0)]).unwrap_err();
        assert!(unknown.to_string().contains("unknown series ref 99"), "{unknown}");
    }

    #[test]
    fn series_records_are_durable_before_any_sample() {
        let dir = tempfile::tempdir().unwrap();
        {
            let head = Head::open(dir.path(), opts()).unwrap();
            head.series_refs(&[series("a")]).unwrap();
        }
        let head = Head::open(dir.path(), opts()).unwrap();
        assert_eq!(head.stats().series, 1, "the series came back from the WAL");
        let r = head.series_refs(&[series("a")]).unwrap()[0];
        head.append_refs(&[(r, 1, 1.0)]).unwrap();
        assert_eq!(all(&head), vec![(series("a"), vec![(1, 1.0)])]);
    }

    #[test]
    fn reopening_replays_the_wal_and_new_series_get_new_wal_refs() {
        let dir = tempfile::tempdir().unwrap();
        {
            let head = Head::open(dir.path(), opts()).unwrap();
            head.append(&[(series("a"), 1, 1.0), (series("b"), 1, 2.0)]).unwrap();
        }
        let before;
        {
            let head = Head::open(dir.path(), opts()).unwrap();
            assert_eq!(head.stats().samples_appended, 2);
            head.append(&[(series("c"), 2, 3.0), (series("a"), 2, 4.0)]).unwrap();
            before = all(&head);
        }
        let head = Head::open(dir.path(), opts()).unwrap();
        assert_eq!(all(&head), before, "a second replay gives the same head");
        assert_eq!(before.len(), 3);
        assert_eq!(before[0].1, [(1, 1.0), (2, 4.0)]);
    }

    #[test]
    fn replays_a_log_with_foreign_refs() {
        // A log as a real Prometheus writes it: its own refs, not ours.
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::open(&dir.path().join("wal"), opts().wal).unwrap();
        wal.append(&[
            Record::Series(vec![RefSeries { series_ref: 7_000, labels: series("x") }]),
            Record::Samples(vec![
                RefSample { series_ref: 7_000, t: 5, v: 1.5 },
                RefSample { series_ref: 99, t: 5, v: 0.0 },
            ]),
        ])
        .unwrap();
        drop(wal);
        let head = Head::open(dir.path(), opts()).unwrap();
        assert_eq!(all(&head), vec![(series("x"), vec![(5, 1.5)])], "samples of unknown refs are skipped");
        head.append(&[(series("y"), 6, 2.0)]).unwrap();
        drop(head);
        let head = Head::open(dir.path(), opts()).unwrap();
        assert_eq!(all(&head).len(), 2, "the new series' WAL ref does not collide with 7000");
    }

    #[test]
    fn a_log_with_a_ref_no_head_gives_out_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::open(&dir.path().join("wal"), opts().wal).unwrap();
        let huge = u64::MAX - 1;
        wal.append(&[Record::Series(vec![RefSeries { series_ref: huge, labels: series("x") }])]).unwrap();
        drop(wal);
        let Err(err) = Head::open(dir.path(), opts()) else { panic!("a damaged log is refused") };
        assert!(err.to_string().contains(&huge.to_string()), "{err}");
    }

    #[test]
    fn concurrent_writers_to_different_series() {
        let dir = tempfile::tempdir().unwrap();
        let batch_wal = WalOptions { policy: SyncPolicy::Batch, ..WalOptions::default() };
        let head = Arc::new(Head::open(dir.path(), HeadOptions { wal: batch_wal, ..opts() }).unwrap());
        let threads: Vec<_> = (0..4)
            .map(|w| {
                let head = Arc::clone(&head);
                std::thread::spawn(move || {
                    for b in 0..50 {
                        let batch: Vec<_> =
                            (0..20).map(|s| (series(&format!("w{w}s{s}")), b * 1000, b as f64)).collect();
                        assert_eq!(head.append(&batch).unwrap().accepted, 20);
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let stats = head.stats();
        assert_eq!((stats.series, stats.samples_appended), (80, 4000));
        drop(head);
        let reopened = Head::open(dir.path(), opts()).unwrap();
        assert_eq!(reopened.stats().samples_appended, 4000);
    }

    /// Hears every sampled write; admits every series.
    #[derive(Debug, Default)]
    struct Listener {
        heard: Mutex<Vec<(String, u64)>>,
        learned: Mutex<Vec<(Vec<String>, usize)>>,
    }

    impl SeriesAdmission for Listener {
        fn admit(&self, _: &Labels, _: usize) -> Result<(), String> {
            Ok(())
        }

        fn created(&self, _: &Labels, _: usize) {}

        fn learned(&self, created: &[&Labels], head_series: usize) {
            let jobs = created.iter().map(|l| l.get("job").unwrap_or("").to_string()).collect();
            self.learned.lock().unwrap().push((jobs, head_series));
        }

        fn written(&self, sampled: &[Labels], weight: u64) {
            let mut heard = self.heard.lock().unwrap();
            heard.extend(sampled.iter().map(|l| (l.get("job").unwrap_or("").to_string(), weight)));
        }
    }

    #[test]
    fn admission_learns_each_batch_of_new_series_once() {
        let dir = tempfile::tempdir().unwrap();
        let head = Head::open(dir.path(), opts()).unwrap();
        let listener = Arc::new(Listener::default());
        head.set_admission(Some(listener.clone()));
        head.append(&[(series("a"), 1, 0.0), (series("b"), 1, 0.0), (series("a"), 2, 0.0)]).unwrap();
        head.append(&[(series("a"), 3, 0.0)]).unwrap();
        head.append(&[(series("b"), 4, 0.0), (series("c"), 4, 0.0)]).unwrap();
        let learned = listener.learned.lock().unwrap();
        let expected = [(vec!["a".to_string(), "b".to_string()], 2), (vec!["c".to_string()], 3)];
        assert_eq!(*learned, expected, "a batch without new series tells nothing");
    }

    #[test]
    fn admission_hears_one_write_in_sixty_four_across_batches() {
        let dir = tempfile::tempdir().unwrap();
        let head = Head::open(dir.path(), opts()).unwrap();
        let listener = Arc::new(Listener::default());
        head.set_admission(Some(listener.clone()));
        // 3 samples of `a` for each of `b`, in batches of 100 that do not divide 64.
        for round in 0..32 {
            let batch: Vec<_> = (0..100)
                .map(|i| (series(if i % 4 == 3 { "b" } else { "a" }), (round * 100 + i) as i64, 0.0))
                .collect();
            head.append(&batch).unwrap();
        }
        let heard = listener.heard.lock().unwrap();
        assert_eq!(heard.len(), 3200 / 64, "every 64th of 3,200 samples");
        assert!(heard.iter().all(|(_, w)| *w == WRITE_SAMPLE_EVERY));
        let a = heard.iter().filter(|(job, _)| job == "a").count();
        assert!((30..=45).contains(&a), "`a` writes 3 in 4 samples: heard {a} of 50");
    }
}
