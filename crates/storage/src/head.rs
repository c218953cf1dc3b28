//! The head: the most recent samples, in memory, every one of them first in the WAL.
//!
//! - **Series** are registered in the inverted index (`strata-index`), whose dense refs
//!   index a vector of series. Each series has its own mutex over its closed chunks, its
//!   open XOR chunk (encoded as samples arrive, cut at 120 samples) and its last timestamp,
//!   so appends to different series never wait on one another's lock.
//! - **Append** is two steps. `series_refs` resolves label sets to [`HeadRef`]s once,
//!   writing the records of new series to the WAL before it returns. `append_refs`, the hot
//!   path, groups a batch by series (a stable sort by ref, so arrival order is kept within
//!   a series), locks each series once in ascending ref order (no deadlock between
//!   batches), rejects samples not after their series' newest (Prometheus' rule with no
//!   out-of-order window: counted and returned per sample, never silent), appends one WAL
//!   record of the accepted samples and only then applies them to memory. When it returns
//!   `Ok`, they are as durable as the WAL's policy promises. `append` by labels does both.
//! - **Open** replays the WAL (checkpoint, then segments): series records map the log's refs
//!   to head refs (a log a real Prometheus wrote uses its own refs), samples are applied in
//!   log order. Series this head creates get WAL refs above every ref found in the log.
//! - **Select** decodes only the chunks that overlap the query range, the open one included.
//!
//! Cutting blocks from the head, the out-of-order window and truncating the WAL come next
//! (block engine issue).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use strata_codec::xor::XorEncoder;
use strata_index::{SeriesIndex, SeriesRef};
use strata_model::{Labels, Matcher};
use strata_wal::{Record, RefSample, RefSeries, ReplayOptions, Wal, WalOptions};

use crate::block::{SeriesSamples, SAMPLES_PER_CHUNK};
use crate::time_range::{overlaps, push_samples_in_range};
use crate::StorageError;

/// A closed chunk of the head.
#[derive(Debug)]
struct HeadChunk {
    mint: i64,
    maxt: i64,
    bytes: Vec<u8>,
}

#[derive(Debug)]
struct MemSeries {
    /// The ref this series has in the WAL.
    wal_ref: u64,
    closed: Vec<HeadChunk>,
    open: XorEncoder,
    open_mint: i64,
    /// Timestamp of the newest sample; samples must come after it.
    last_t: Option<i64>,
}

impl MemSeries {
    fn new(wal_ref: u64) -> Self {
        MemSeries { wal_ref, closed: Vec::new(), open: XorEncoder::new(), open_mint: 0, last_t: None }
    }

    fn push(&mut self, t: i64, v: f64) -> Result<(), StorageError> {
        if self.open.len() == SAMPLES_PER_CHUNK {
            let full = std::mem::take(&mut self.open);
            let maxt = self.last_t.unwrap_or(self.open_mint);
            self.closed.push(HeadChunk { mint: self.open_mint, maxt, bytes: full.finish().0 });
        }
        if self.open.is_empty() {
            self.open_mint = t;
        }
        self.open.append(t, v)?;
        self.last_t = Some(t);
        Ok(())
    }

    fn heap_bytes(&self) -> usize {
        self.closed.iter().map(|c| c.bytes.capacity() + std::mem::size_of::<HeadChunk>()).sum::<usize>()
            + self.open.byte_len()
            + std::mem::size_of::<Self>()
    }
}

/// A series of the head, for appending by ref (see [`Head::series_refs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HeadRef(u32);

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
    /// Samples refused, with the reason.
    pub rejected: Vec<Rejected>,
}

/// Figures about the head.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeadStats {
    /// Series.
    pub series: u64,
    /// Samples held.
    pub samples: u64,
    /// Chunks (closed and open).
    pub chunks: u64,
    /// Approximate heap bytes of series data (labels in the index not included).
    pub chunk_bytes: u64,
    /// Samples rejected since open (out of order or duplicate).
    pub rejected: u64,
}

/// The head; see the module docs. Thread-safe.
#[derive(Debug)]
pub struct Head {
    index: SeriesIndex,
    series: RwLock<Vec<Arc<Mutex<MemSeries>>>>,
    wal: Wal,
    /// WAL ref of the next new series.
    next_wal_ref: AtomicU64,
    samples: AtomicU64,
    rejected: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Series state is updated only after the WAL write succeeded, one sample at a time; a
    // panic mid-way (a bug) leaves a consistent prefix, so a poisoned lock is used as is.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Head {
    /// Opens the head of the data dir `dir`: replays `dir/wal/`, then appends to it.
    pub fn open(dir: &Path, wal_options: WalOptions) -> Result<Head, StorageError> {
        let wal_dir = dir.join("wal");
        let index = SeriesIndex::new();
        let mut series: Vec<Arc<Mutex<MemSeries>>> = Vec::new();
        let mut by_wal_ref: HashMap<u64, usize> = HashMap::new();
        let (mut max_ref, mut samples, mut rejected, mut failure) = (0u64, 0u64, 0u64, None);
        if wal_dir.is_dir() {
            strata_wal::replay(&wal_dir, ReplayOptions::default(), |record| match record {
                Record::Series(list) => {
                    for s in list {
                        max_ref = max_ref.max(s.series_ref);
                        match index.get_or_create(&s.labels) {
                            Ok(r) => {
                                let i = r.0 as usize;
                                if i == series.len() {
                                    series.push(Arc::new(Mutex::new(MemSeries::new(s.series_ref))));
                                }
                                if i < series.len() {
                                    by_wal_ref.insert(s.series_ref, i);
                                } else {
                                    let n = series.len();
                                    let detail = format!("series ref {i} out of step with {n} series");
                                    failure = Some(StorageError::Invalid(detail));
                                }
                            }
                            Err(e) => failure = Some(StorageError::from(e)),
                        }
                    }
                }
                Record::Samples(list) => {
                    for s in list {
                        let Some(&i) = by_wal_ref.get(&s.series_ref) else { continue };
                        let mut m = lock(&series[i]);
                        if m.last_t.is_some_and(|last| s.t <= last) || m.push(s.t, s.v).is_err() {
                            rejected += 1;
                        } else {
                            samples += 1;
                        }
                    }
                }
                _ => {}
            })?;
        }
        if let Some(e) = failure {
            return Err(e);
        }
        let wal = Wal::open(&wal_dir, wal_options)?;
        Ok(Head {
            index,
            series: RwLock::new(series),
            wal,
            next_wal_ref: AtomicU64::new(max_ref + 1),
            samples: AtomicU64::new(samples),
            rejected: AtomicU64::new(rejected),
        })
    }

    fn series_at(&self, r: SeriesRef) -> Option<Arc<Mutex<MemSeries>>> {
        self.series.read().unwrap_or_else(|e| e.into_inner()).get(r.0 as usize).cloned()
    }

    /// The refs of these series, creating the new ones: their records go to the WAL (one
    /// append for all of them) before this returns, so samples appended by ref later always
    /// follow their series in the log. Callers keep refs to append without label lookups.
    pub fn series_refs(&self, labels: &[Labels]) -> Result<Vec<HeadRef>, StorageError> {
        self.refs_of(labels.iter())
    }

    fn refs_of<'a>(
        &self,
        labels: impl ExactSizeIterator<Item = &'a Labels>,
    ) -> Result<Vec<HeadRef>, StorageError> {
        let mut refs = Vec::with_capacity(labels.len());
        let mut created = Vec::new();
        for l in labels {
            let (r, new) = self.resolve(l)?;
            created.extend(new);
            refs.push(r);
        }
        if !created.is_empty() {
            self.wal.append(&[Record::Series(created)])?;
        }
        Ok(refs)
    }

    /// The ref of `labels`, creating the series (and returning its WAL record) if new.
    fn resolve(&self, labels: &Labels) -> Result<(HeadRef, Option<RefSeries>), StorageError> {
        if let Some(r) = self.index.get(labels) {
            return Ok((HeadRef(r.0), None));
        }
        let mut all = self.series.write().unwrap_or_else(|e| e.into_inner());
        let r = self.index.get_or_create(labels)?;
        if (r.0 as usize) < all.len() {
            return Ok((HeadRef(r.0), None)); // another appender created it meanwhile
        }
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
        Ok((HeadRef(r.0), Some(RefSeries { series_ref: wal_ref, labels: labels.clone() })))
    }

    /// Appends a batch of samples given by labels: [`Head::series_refs`], then
    /// [`Head::append_refs`]. See the module docs for what `Ok` promises.
    pub fn append(&self, batch: &[(Labels, i64, f64)]) -> Result<AppendResult, StorageError> {
        let refs = self.refs_of(batch.iter().map(|(l, _, _)| l))?;
        let by_ref: Vec<(HeadRef, i64, f64)> =
            refs.into_iter().zip(batch).map(|(r, (_, t, v))| (r, *t, *v)).collect();
        self.append_refs(&by_ref)
    }

    /// Appends samples of series known by ref (the ingest hot path: no label lookups).
    /// Samples not after their series' newest are rejected, each with its reason.
    pub fn append_refs(&self, batch: &[(HeadRef, i64, f64)]) -> Result<AppendResult, StorageError> {
        // Group by series, keeping arrival order within a series (stable sort); series are
        // locked in ascending ref order, the same in every batch, so batches cannot deadlock.
        let mut order: Vec<usize> = (0..batch.len()).collect();
        order.sort_by_key(|&i| batch[i].0);
        let series: Vec<Arc<Mutex<MemSeries>>> = {
            let all = self.series.read().unwrap_or_else(|e| e.into_inner());
            let mut out = Vec::new();
            for (k, &i) in order.iter().enumerate() {
                if k > 0 && batch[order[k - 1]].0 == batch[i].0 {
                    continue;
                }
                let r = batch[i].0;
                let s = all
                    .get(r.0 as usize)
                    .ok_or_else(|| StorageError::Invalid(format!("unknown head series ref {}", r.0)))?;
                out.push(Arc::clone(s));
            }
            out
        };
        let mut guards: Vec<_> = series.iter().map(|s| lock(s)).collect();
        let mut result = AppendResult::default();
        let mut accepted: Vec<(usize, RefSample)> = Vec::with_capacity(batch.len());
        let mut group = 0usize;
        let mut newest: Option<i64> = None;
        for (k, &i) in order.iter().enumerate() {
            if k > 0 && batch[order[k - 1]].0 != batch[i].0 {
                group += 1;
                newest = None;
            }
            let (_, t, v) = batch[i];
            let g = &guards[group];
            match newest.or(g.last_t) {
                Some(n) if t <= n => result.rejected.push(Rejected {
                    index: i,
                    reason: format!("out of order sample: timestamp {t} is not after the series' newest {n}"),
                }),
                _ => {
                    newest = Some(t);
                    accepted.push((group, RefSample { series_ref: g.wal_ref, t, v }));
                }
            }
        }
        result.rejected.sort_by_key(|r| r.index);
        if !accepted.is_empty() {
            let samples = accepted.iter().map(|(_, s)| *s).collect();
            self.wal.append(&[Record::Samples(samples)])?;
        }
        for (group, s) in &accepted {
            guards[*group].push(s.t, s.v)?;
        }
        result.accepted = accepted.len();
        self.samples.fetch_add(accepted.len() as u64, Ordering::Relaxed);
        self.rejected.fetch_add(result.rejected.len() as u64, Ordering::Relaxed);
        Ok(result)
    }

    /// Series the matchers select, with their samples in `[mint, maxt]`.
    pub fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SeriesSamples>, StorageError> {
        let mut out = Vec::new();
        for r in self.index.select(matchers).iter().map(SeriesRef) {
            let (Some(labels), Some(series)) = (self.index.labels(r), self.series_at(r)) else { continue };
            let m = lock(&series);
            let mut samples = Vec::new();
            for c in m.closed.iter().filter(|c| overlaps(c.mint, c.maxt, mint, maxt)) {
                push_samples_in_range(&c.bytes, mint, maxt, &mut samples)?;
            }
            // The open chunk is copied out of its encoder only when the query needs it.
            let open_overlaps = m.last_t.is_some_and(|last| overlaps(m.open_mint, last, mint, maxt));
            if !m.open.is_empty() && open_overlaps {
                push_samples_in_range(&m.open.to_bytes(), mint, maxt, &mut samples)?;
            }
            if !samples.is_empty() {
                out.push((labels, samples));
            }
        }
        Ok(out)
    }

    /// Figures about the head.
    pub fn stats(&self) -> HeadStats {
        let all = self.series.read().unwrap_or_else(|e| e.into_inner());
        let (mut chunks, mut bytes) = (0u64, 0u64);
        for s in all.iter() {
            let m = lock(s);
            chunks += m.closed.len() as u64 + u64::from(!m.open.is_empty());
            bytes += m.heap_bytes() as u64;
        }
        HeadStats {
            series: all.len() as u64,
            samples: self.samples.load(Ordering::Relaxed),
            chunks,
            chunk_bytes: bytes,
            rejected: self.rejected.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_wal::SyncPolicy;

    fn opts() -> WalOptions {
        WalOptions { policy: SyncPolicy::None, ..WalOptions::default() }
    }

    fn series(job: &str) -> Labels {
        Labels::from_pairs([("__name__", "up"), ("job", job)]).unwrap()
    }

    fn all(head: &Head) -> Vec<SeriesSamples> {
        let mut out = head.select(&[], i64::MIN, i64::MAX).unwrap();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
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
        let window = head.select(&[Matcher::equal("job", "a")], 100_000, 100_500).unwrap();
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
            ])
            .unwrap();
        assert_eq!(result.accepted, 1);
        assert_eq!(result.rejected.iter().map(|r| r.index).collect::<Vec<_>>(), [0, 1, 3]);
        assert!(result.rejected[0].reason.contains("out of order"), "{}", result.rejected[0].reason);
        assert_eq!(all(&head)[0].1, [(10, 1.0), (11, 4.0)]);
        assert_eq!(head.stats().rejected, 3);
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
        let unknown = head.append_refs(&[(HeadRef(99), 1, 1.0)]).unwrap_err();
        assert!(unknown.to_string().contains("unknown head series ref 99"), "{unknown}");
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
            assert_eq!(head.stats().samples, 2);
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
        let wal = Wal::open(&dir.path().join("wal"), opts()).unwrap();
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
    fn concurrent_writers_to_different_series() {
        let dir = tempfile::tempdir().unwrap();
        let head =
            Arc::new(Head::open(dir.path(), WalOptions { policy: SyncPolicy::Batch, ..opts() }).unwrap());
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
        assert_eq!((stats.series, stats.samples), (80, 4000));
        drop(head);
        let reopened = Head::open(dir.path(), opts()).unwrap();
        assert_eq!(reopened.stats().samples, 4000);
    }
}
