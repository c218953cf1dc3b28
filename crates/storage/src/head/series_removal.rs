//! Removing series that have nothing left in the head (Prometheus' head GC).
//!
//! After a block cut truncates the head, a series whose samples all went into the block
//! holds no sample in memory; if nothing is written to it any more (a pod that went away,
//! a request id), keeping it would grow the head, the index and the WAL checkpoint with
//! every series ever seen, and an active-series limit would never free up. A removal pass
//! (`Head::remove_stale_series`, run by the engine once per cut, after the head is truncated
//! and before the WAL checkpoint) takes such series out:
//!
//! - **Which**: series with no sample held (`MemSeries::oldest` is `None`) that already
//!   existed at the previous pass (WAL ref below the floor recorded then). A series created
//!   since then may be waiting for its first sample (created by one request, appended to by
//!   the next), so it gets until the next pass; one that never receives a sample goes then.
//!   A series emptied by a delete stays while its newest timestamp is at or after the head's
//!   minimum valid time: that timestamp still refuses older samples as out of order, and a
//!   series created anew would accept them (a cut moves the minimum past it later).
//! - **How**, under the creation lock (the series vector's write lock): each candidate is
//!   locked, checked again, and marked removed (its WAL ref becomes [`REMOVED`]); its slot
//!   then points to one shared empty series, so its memory is freed; it leaves the index's
//!   postings and lookup (its stored labels stay, and its ref is never handed out again:
//!   `SeriesIndex::labels_ever`); admission control hears of it (limits count it out).
//! - **Refs in flight**: a writer may hold a ref from before the pass (the server's series
//!   caches keep them for good). An append that finds one of its series removed, once it
//!   holds the series' lock, applies nothing and redirects: the ref's labels resolve to the
//!   live series of those labels (created anew if needed, through admission control like
//!   any new series), and the batch is tried again with that ref. Redirects are remembered
//!   until the next pass, so a cached dead ref costs a map lookup, not a label lookup.
//! - **The WAL**: the removed series' WAL refs are kept until a checkpoint (the cut's own,
//!   or a later one if that failed) leaves their series records out (their samples are all older than the checkpoint's
//!   start), so a restart does not bring them back. Samples of them in later segments are
//!   skipped by replay as samples of unknown series; there are none newer than the cut.
//!
//! What stays per removed series: its slot (one pointer), its labels in the index's arena
//! (~4 bytes a label) and new label values in the label table; a restart, which rebuilds
//! the index from the WAL, drops those too.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use roaring::RoaringBitmap;
use strata_index::SeriesRef;
use strata_model::Labels;

use super::{lock, mem_series::MemSeries, AppendRef, Head, Rejected};
use crate::StorageError;

/// The WAL ref of a removed series (refs come from a counter that never gets there; the
/// top bit is not a ref's: `MemSeries` keeps a flag there).
pub(super) const REMOVED: u64 = u64::MAX >> 1;

/// How many times an append redirects before it gives up: each redirect resolves every
/// removed ref of the batch, so a second one only happens if a pass ran in between.
pub(super) const REDIRECTS: usize = 8;

/// What an append returns when its series were removed under it [`REDIRECTS`] times.
pub(super) fn removed_again() -> StorageError {
    StorageError::Invalid(format!(
        "series were removed from the head {REDIRECTS} times during one append; nothing of it was applied"
    ))
}

/// The head's bookkeeping for removals.
#[derive(Debug)]
pub(super) struct Removal {
    /// Series with a WAL ref below this existed at the last pass (candidates at the next).
    floor: AtomicU64,
    /// Series removed since open.
    removed: AtomicU64,
    /// WAL refs of removed series not yet left out of a checkpoint, in removal order.
    pending_wal_refs: Mutex<Vec<u64>>,
    /// Dead ref → live ref of the same labels, found by redirects since the last pass.
    moved: RwLock<HashMap<u32, u32>>,
    /// What every removed slot points to: empty, marked removed, never appended to.
    empty: Arc<Mutex<MemSeries>>,
}

impl Removal {
    /// Bookkeeping for a head whose next new series gets WAL ref `next_wal_ref`: every
    /// series there is now is a candidate at the first pass.
    pub(super) fn new(next_wal_ref: u64) -> Removal {
        Removal {
            floor: AtomicU64::new(next_wal_ref),
            removed: AtomicU64::new(0),
            pending_wal_refs: Mutex::new(Vec::new()),
            moved: RwLock::new(HashMap::new()),
            empty: Arc::new(Mutex::new(MemSeries::new(REMOVED))),
        }
    }

    pub(super) fn is_removed_slot(&self, slot: &Arc<Mutex<MemSeries>>) -> bool {
        Arc::ptr_eq(slot, &self.empty)
    }

    /// Series removed since open.
    pub(super) fn removed(&self) -> u64 {
        self.removed.load(Ordering::Relaxed)
    }
}

/// A batch rewritten to live refs: the samples kept, where each came from in the original
/// batch, and the samples refused because their series could not be created again.
pub(super) struct Redirected {
    pub(super) batch: Vec<(AppendRef, i64, f64)>,
    pub(super) positions: Vec<usize>,
    pub(super) refused: Vec<Rejected>,
}

impl Head {
    /// Removes the series that hold no sample and existed at the previous pass (see the
    /// module docs); returns how many went.
    pub fn remove_stale_series(&self) -> u64 {
        let floor = self.removal.floor.swap(self.next_wal_ref.load(Ordering::SeqCst), Ordering::SeqCst);
        let min_valid = self.min_valid_time();
        // Candidates are found without the creation lock, then checked again under it.
        let candidates: Vec<usize> = self
            .series
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .enumerate()
            .filter(|(_, s)| !self.removal.is_removed_slot(s) && is_stale(&lock(s), floor, min_valid))
            .map(|(i, _)| i)
            .collect();
        if candidates.is_empty() {
            return 0;
        }
        let admission = self.admission.read().unwrap_or_else(|e| e.into_inner()).clone();
        let mut all = self.series.write().unwrap_or_else(|e| e.into_inner());
        let (mut refs, mut wal_refs) = (RoaringBitmap::new(), Vec::new());
        for i in candidates {
            let slot = &mut all[i];
            {
                let mut m = lock(slot);
                if !is_stale(&m, floor, min_valid) {
                    continue; // written to since it was picked
                }
                wal_refs.push(m.wal_ref());
                m.set_wal_ref(REMOVED);
            }
            *slot = Arc::clone(&self.removal.empty);
            refs.insert(i as u32);
        }
        let labels: Vec<Labels> = match &admission {
            Some(_) => refs.iter().filter_map(|r| self.index.labels(SeriesRef(r))).collect(),
            None => Vec::new(),
        };
        let count = self.index.delete(&refs);
        self.removal.removed.fetch_add(count, Ordering::Relaxed);
        if let Some(admission) = &admission {
            admission.removed(&labels, self.live_series(all.len()));
        }
        drop(all);
        self.removal.moved.write().unwrap_or_else(|e| e.into_inner()).clear();
        self.removal.pending_wal_refs.lock().unwrap_or_else(|e| e.into_inner()).extend(wal_refs);
        count
    }

    /// Series in the head now, of `slots` handed out.
    pub(super) fn live_series(&self, slots: usize) -> usize {
        slots.saturating_sub(self.removal.removed() as usize)
    }

    /// WAL refs of series removed but still in the log: a checkpoint leaves them out, then
    /// [`Head::forget_removed_wal_refs`] with how many of these it left out.
    pub fn removed_wal_refs(&self) -> Vec<u64> {
        self.removal.pending_wal_refs.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The first `n` of [`Head::removed_wal_refs`] are out of the log (a checkpoint left
    /// them out); later removals stay pending.
    pub fn forget_removed_wal_refs(&self, n: usize) {
        let mut pending = self.removal.pending_wal_refs.lock().unwrap_or_else(|e| e.into_inner());
        let n = n.min(pending.len());
        pending.drain(..n);
    }

    /// Rewrites `batch` so that samples of the `removed` refs name the live series of the
    /// same labels, creating it if needed (admission control may refuse it: those samples
    /// are refused with its reason). `positions[i]` is where `batch[i]` came from.
    pub(super) fn redirect(
        &self,
        batch: &[(AppendRef, i64, f64)],
        positions: &[usize],
        removed: &[AppendRef],
        wait: bool,
    ) -> Result<Redirected, StorageError> {
        let mut to: HashMap<AppendRef, Result<AppendRef, String>> = HashMap::with_capacity(removed.len());
        let mut unresolved = Vec::new();
        {
            let moved = self.removal.moved.read().unwrap_or_else(|e| e.into_inner());
            // A remembered target was live when remembered, and only a pass (which forgets
            // them all) removes series; one removed meanwhile is caught by the next try.
            for &r in removed {
                match moved.get(&r.0) {
                    Some(&live) => {
                        to.insert(r, Ok(AppendRef(live)));
                    }
                    None => unresolved.push(r),
                }
            }
        }
        if !unresolved.is_empty() {
            let labels = unresolved
                .iter()
                .map(|r| {
                    self.index.labels_ever(SeriesRef(r.0)).ok_or_else(|| {
                        StorageError::Invalid(format!("unknown series ref {} (removed, no labels)", r.0))
                    })
                })
                .collect::<Result<Vec<Labels>, StorageError>>()?;
            let resolved = self.refs_of(labels.iter(), wait)?;
            let mut moved = self.removal.moved.write().unwrap_or_else(|e| e.into_inner());
            for (r, live) in unresolved.into_iter().zip(resolved) {
                if let Ok(live) = &live {
                    moved.insert(r.0, live.0);
                }
                to.insert(r, live);
            }
        }
        let mut out =
            Redirected { batch: Vec::with_capacity(batch.len()), positions: Vec::new(), refused: Vec::new() };
        for (&(r, t, v), &position) in batch.iter().zip(positions) {
            match to.get(&r) {
                None => {
                    out.batch.push((r, t, v));
                    out.positions.push(position);
                }
                Some(Ok(live)) => {
                    out.batch.push((*live, t, v));
                    out.positions.push(position);
                }
                Some(Err(reason)) => out.refused.push(Rejected { index: position, reason: reason.clone() }),
            }
        }
        Ok(out)
    }
}

/// Whether a series may go: nothing held, and it existed at the previous pass.
fn is_stale(m: &MemSeries, floor: u64, min_valid: i64) -> bool {
    m.wal_ref() < floor && m.oldest().is_none() && m.last_t().is_none_or(|t| t < min_valid)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::atomic::AtomicBool;

    use super::*;
    use crate::head::tests::{all, opts, series};
    use crate::head::HeadOptions;
    use crate::SeriesAdmission;

    #[test]
    fn a_series_emptied_by_a_cut_goes_at_the_second_pass_and_a_cached_ref_still_appends() {
        let dir = tempfile::tempdir().unwrap();
        let head = Head::open(dir.path(), opts()).unwrap();
        let refs = head.series_refs(&[series("a"), series("b")]).unwrap();
        let (a, b) = (refs[0], refs[1]);
        head.append_refs(&[(b, 10, 2.0), (a, 1_000, 3.0)]).unwrap();
        head.raise_min_valid_time(500);
        head.truncate(500);
        assert_eq!(head.remove_stale_series(), 0, "both were created since the last pass (open)");
        assert_eq!(head.remove_stale_series(), 1, "b holds nothing");
        assert_eq!(head.stats().series, 1);
        assert_eq!(head.stats().series_removed, 1);
        assert_eq!(head.index().label_values("job", &[]), ["a"]);
        assert_eq!(all(&head), vec![(series("a"), vec![(1_000, 3.0)])]);

        // A writer still holding b's old ref: the samples go to b's labels, a series again.
        let result = head.append_refs(&[(b, 2_000, 4.0), (a, 2_000, 5.0), (b, 2_001, 6.0)]).unwrap();
        assert_eq!((result.accepted, result.rejected.len()), (3, 0));
        let b_again = head.series_refs(&[series("b")]).unwrap()[0];
        assert_ne!(b_again, b, "refs are never reused");
        assert_eq!(
            all(&head),
            vec![
                (series("a"), vec![(1_000, 3.0), (2_000, 5.0)]),
                (series("b"), vec![(2_000, 4.0), (2_001, 6.0)])
            ]
        );
        // A rejection after a redirect names the sample's place in the batch as given.
        let result = head.append_refs(&[(a, 3_000, 1.0), (b, 1_500, 1.0)]).unwrap();
        assert_eq!(result.rejected.iter().map(|r| r.index).collect::<Vec<_>>(), [1]);
        assert!(result.rejected[0].reason.contains("out of order"), "{:?}", result.rejected);
    }

    #[test]
    fn a_series_never_written_goes_too_but_not_before_one_pass_has_seen_it() {
        let dir = tempfile::tempdir().unwrap();
        let head = Head::open(dir.path(), opts()).unwrap();
        head.remove_stale_series();
        head.series_refs(&[series("idle")]).unwrap();
        assert_eq!(head.remove_stale_series(), 0, "it may be waiting for its first sample");
        assert_eq!(head.remove_stale_series(), 1);
        assert_eq!(head.stats().series, 0);
    }

    /// Found by the engine's model test in CI: a delete that empties a series must not let a
    /// removal pass forget its newest timestamp while older samples would still be taken.
    #[test]
    fn a_series_emptied_by_a_delete_stays_until_a_cut_passes_its_newest_sample() {
        let dir = tempfile::tempdir().unwrap();
        let head = Head::open(dir.path(), opts()).unwrap();
        let a = head.series_refs(&[series("a")]).unwrap()[0];
        head.append_refs(&[(a, 14_000, 1.0)]).unwrap();
        head.delete(&[], 0, 14_000).unwrap();
        head.raise_min_valid_time(10_000);
        head.truncate(10_000);
        head.remove_stale_series();
        assert_eq!(head.remove_stale_series(), 0, "its newest sample is after the minimum valid time");
        let result = head.append_refs(&[(a, 12_000, 2.0)]).unwrap();
        assert!(result.rejected[0].reason.contains("out of order"), "{:?}", result.rejected);
        head.raise_min_valid_time(14_001);
        head.truncate(14_001);
        assert_eq!(head.remove_stale_series(), 1, "a cut passed it");
    }
    /// Admission control that keeps a count of live series, as a limit does.
    #[derive(Debug, Default)]
    struct Count(Mutex<BTreeMap<String, i64>>);

    impl SeriesAdmission for Count {
        fn admit(&self, labels: &Labels, _: usize) -> Result<(), String> {
            match labels.get("job") {
                Some("refused") => Err("refused by the test".into()),
                _ => Ok(()),
            }
        }
        fn created(&self, labels: &Labels, _: usize) {
            *self.0.lock().unwrap().entry(labels.get("job").unwrap().to_string()).or_default() += 1;
        }
        fn removed(&self, removed: &[Labels], _: usize) {
            for labels in removed {
                *self.0.lock().unwrap().entry(labels.get("job").unwrap().to_string()).or_default() -= 1;
            }
        }
    }

    #[test]
    fn admission_hears_of_removals_and_may_refuse_a_series_coming_back() {
        let dir = tempfile::tempdir().unwrap();
        let head = Head::open(dir.path(), opts()).unwrap();
        let count = Arc::new(Count::default());
        head.set_admission(Some(count.clone()));
        let r = head.series_refs(&[series("x")]).unwrap()[0];
        head.remove_stale_series();
        head.remove_stale_series();
        assert_eq!(count.0.lock().unwrap().get("x"), Some(&0), "created, then removed");
        let result = head.append_refs(&[(r, 1, 1.0)]).unwrap();
        assert_eq!(result.accepted, 1);
        assert_eq!(count.0.lock().unwrap().get("x"), Some(&1), "created again through admission");
    }

    #[test]
    fn removed_series_stay_out_of_the_log_after_a_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        {
            let head = Head::open(dir.path(), opts()).unwrap();
            head.append(&[(series("gone"), 10, 1.0), (series("kept"), 10, 1.0), (series("kept"), 900, 2.0)])
                .unwrap();
            head.raise_min_valid_time(500);
            head.truncate(500);
            head.remove_stale_series();
            assert_eq!(head.remove_stale_series(), 1);
            let closed = head.wal().cut_segment().unwrap();
            let removed = head.removed_wal_refs();
            strata_wal::checkpoint(head.wal().dir(), closed, 500, |r| !removed.contains(&r)).unwrap();
            head.forget_removed_wal_refs(removed.len());
            assert!(head.removed_wal_refs().is_empty());
        }
        let head = Head::open(dir.path(), HeadOptions { min_valid_time: 500, ..opts() }).unwrap();
        assert_eq!(head.index().label_values("job", &[]), ["kept"]);
        assert_eq!(all(&head), vec![(series("kept"), vec![(900, 2.0)])]);
    }

    /// A crash between a removal pass and the checkpoint that would drop the removed series'
    /// records: they come back empty (nothing acknowledged was theirs), the live series keep
    /// every sample, and the first pass after the restart removes them again.
    #[test]
    fn a_crash_before_the_checkpoint_brings_removed_series_back_empty_and_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        {
            let head = Head::open(dir.path(), opts()).unwrap();
            head.append(&[(series("gone"), 10, 1.0), (series("kept"), 900, 2.0)]).unwrap();
            head.raise_min_valid_time(500);
            head.truncate(500);
            head.remove_stale_series();
            assert_eq!(head.remove_stale_series(), 1);
            head.append(&[(series("kept"), 901, 3.0)]).unwrap();
        } // dropped without a checkpoint: as after kill -9
        let head = Head::open(dir.path(), HeadOptions { min_valid_time: 500, ..opts() }).unwrap();
        assert_eq!(all(&head), vec![(series("kept"), vec![(900, 2.0), (901, 3.0)])]);
        assert_eq!(head.stats().series, 2, "the removed series is back, empty");
        assert_eq!(head.remove_stale_series(), 1, "replayed series are candidates at the first pass");
        assert_eq!(head.index().label_values("job", &[]), ["kept"]);
    }

    /// Writers append by refs they keep (as the server's caches do) to series that passes
    /// keep removing (every series is empty until written): every sample acknowledged is
    /// there once, each label set is one series, and nothing else is.
    #[test]
    fn appends_racing_removal_passes_lose_nothing_and_split_no_series() {
        let dir = tempfile::tempdir().unwrap();
        let head = Arc::new(Head::open(dir.path(), opts()).unwrap());
        let names: Vec<Labels> = (0..200).map(|i| series(&format!("s{i}"))).collect();
        let refs = head.series_refs(&names).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let remover = {
            let (head, stop) = (head.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut passes = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    head.remove_stale_series();
                    passes += 1;
                }
                passes
            })
        };
        let writers: Vec<_> = (0..4u64)
            .map(|w| {
                let (head, refs) = (head.clone(), refs.clone());
                std::thread::spawn(move || {
                    let mut acked = Vec::new();
                    let mut rng = strata_codec::synthetic::SplitMix(w);
                    for round in 0..300i64 {
                        // Each writer its own timestamps, so no two writers collide.
                        let t = round * 4 + w as i64;
                        let picks: Vec<usize> =
                            (0..5).map(|_| (rng.next_u64() % refs.len() as u64) as usize).collect();
                        let batch: Vec<_> =
                            picks.iter().map(|&i| (refs[i], t, (i as i64 * 1_000 + t) as f64)).collect();
                        let result = head.append_refs(&batch).unwrap();
                        for (k, &i) in picks.iter().enumerate() {
                            if !result.rejected.iter().any(|r| r.index == k) {
                                acked.push((i, t));
                            }
                        }
                    }
                    acked
                })
            })
            .collect();
        let mut acked: Vec<(usize, i64)> = writers.into_iter().flat_map(|w| w.join().unwrap()).collect();
        stop.store(true, Ordering::Relaxed);
        assert!(remover.join().unwrap() > 10, "passes ran meanwhile");
        acked.sort_unstable();
        acked.dedup();
        let mut stored = Vec::new();
        for (labels, samples) in all(&head) {
            let i = names.iter().position(|n| *n == labels).expect("a label set written");
            stored.extend(samples.iter().map(|&(t, v)| {
                assert_eq!(v, (i as i64 * 1_000 + t) as f64, "the value written with it");
                (i, t)
            }));
        }
        let series_seen: std::collections::BTreeSet<_> = stored.iter().map(|(i, _)| *i).collect();
        assert_eq!(series_seen.len(), all(&head).len(), "one series per label set");
        stored.sort_unstable();
        assert_eq!(stored, acked, "what was acknowledged, each once, and nothing else");
    }
}
