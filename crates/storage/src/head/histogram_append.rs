//! Appending native-histogram samples to the head: validated, in order only, logged as
//! Prometheus' histogram WAL records (types 7–10) before they are applied.

use std::sync::atomic::Ordering;

use strata_model::histogram::HistogramValue;
use strata_model::Labels;
use strata_wal::{float_histogram_records, histogram_records, RefFloatHistogram, RefHistogram};

use super::series_removal::{removed_again, REDIRECTS, REMOVED};
use super::{lock, AppendResult, Head, Rejected, SeriesRef};
use crate::StorageError;

/// What happens to one histogram sample of a batch.
enum Fate {
    Store,
    /// The series' newest sample again: accepted, nothing stored.
    Identical,
}

impl Head {
    /// Appends native-histogram samples given by labels (creating series as floats do).
    /// A sample is refused, with its reason, when it is malformed, before the head's start,
    /// or not after its series' newest sample (a resent copy of the newest is accepted and
    /// ignored). Durable as [`Head::append`] promises once `Ok` returns.
    pub fn append_histograms(
        &self,
        batch: &[(Labels, i64, HistogramValue)],
    ) -> Result<AppendResult, StorageError> {
        // A series removed between resolving its labels and locking it (`series_removal`)
        // makes a try append nothing; the next resolves the labels again.
        for _ in 0..REDIRECTS {
            if let Some(result) = self.try_append_histograms(batch)? {
                return Ok(result);
            }
        }
        Err(removed_again())
    }

    fn try_append_histograms(
        &self,
        batch: &[(Labels, i64, HistogramValue)],
    ) -> Result<Option<AppendResult>, StorageError> {
        let refs = self.refs_of(batch.iter().map(|(l, _, _)| l), true)?;
        let mut result = AppendResult::default();
        // Stable by ref: a series' samples keep their order; locks are taken in ref order.
        let mut order: Vec<(u32, usize)> = Vec::with_capacity(batch.len());
        for (i, r) in refs.into_iter().enumerate() {
            match r {
                Ok(r) => order.push((r.0, i)),
                Err(reason) => result.rejected.push(Rejected { index: i, reason }),
            }
        }
        order.sort_by_key(|&(r, _)| r);
        let mut refs: Vec<u32> = order.iter().map(|o| o.0).collect();
        refs.dedup();
        // A series removed since its labels resolved (`series_at` leaves it out) or before
        // its lock was taken (marked): nothing is appended, the caller tries again.
        let series: Vec<_> = refs.iter().filter_map(|r| self.series_at(SeriesRef(*r))).collect();
        if series.len() != refs.len() {
            return Ok(None);
        }
        let mut guards: Vec<_> = series.iter().map(|s| lock(s)).collect();
        if guards.iter().any(|g| g.wal_ref() == REMOVED) {
            return Ok(None);
        }
        let min_valid = self.min_valid_time.load(Ordering::SeqCst);

        let (mut accepted, mut identical) = (Vec::new(), 0usize);
        let (mut group, mut previous_ref, mut newest): (usize, Option<u32>, Option<(i64, &HistogramValue)>) =
            (0, None, None);
        for &(r, i) in &order {
            if previous_ref.is_some_and(|p| p != r) {
                group += 1;
                newest = None;
            }
            previous_ref = Some(r);
            let (_, t, value) = &batch[i];
            let g = &guards[group];
            let stored = g.last_t().map(|last| (last, g.last_histogram()));
            match judge(*t, value, min_valid, newest, stored) {
                Ok(Fate::Store) => {
                    newest = Some((*t, value));
                    accepted.push((group, i));
                }
                Ok(Fate::Identical) => identical += 1,
                Err(reason) => result.rejected.push(Rejected { index: i, reason }),
            }
        }
        result.rejected.sort_by_key(|r| r.index);

        self.log_histograms(&accepted, &guards, batch)?;
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for &(group, i) in &accepted {
            let (_, t, value) = &batch[i];
            guards[group].push_histogram(*t, value.clone(), self.sink())?;
            (lo, hi) = (lo.min(*t), hi.max(*t));
        }
        drop(guards);
        if !accepted.is_empty() {
            self.min_time.fetch_min(lo, Ordering::SeqCst);
            self.max_time.fetch_max(hi, Ordering::SeqCst);
        }
        result.accepted = accepted.len() + identical;
        self.samples.fetch_add(accepted.len() as u64, Ordering::Relaxed);
        self.rejected.fetch_add(result.rejected.len() as u64, Ordering::Relaxed);
        Ok(Some(result))
    }

    /// Writes the accepted samples' WAL records (integer and float ones, custom-bucket
    /// ones in their own record types) and waits for them to be durable.
    fn log_histograms(
        &self,
        accepted: &[(usize, usize)],
        guards: &[std::sync::MutexGuard<'_, super::MemSeries>],
        batch: &[(Labels, i64, HistogramValue)],
    ) -> Result<(), StorageError> {
        let (mut integer, mut float) = (Vec::new(), Vec::new());
        for &(group, i) in accepted {
            let (_, t, value) = &batch[i];
            let series_ref = guards[group].wal_ref();
            match value {
                HistogramValue::Integer(h) => integer.push(RefHistogram { series_ref, t: *t, h: h.clone() }),
                HistogramValue::Float(h) => float.push(RefFloatHistogram { series_ref, t: *t, h: h.clone() }),
            }
        }
        let mut records = histogram_records(integer);
        records.extend(float_histogram_records(float));
        if !records.is_empty() {
            self.wal.append(&records)?;
        }
        Ok(())
    }
}

/// Whether a histogram at `t` is stored, ignored as a copy, or refused (and why).
/// `newest` is the series' newest sample accepted earlier in the batch, `stored` its newest
/// stored one (`None` as value when that was a float).
fn judge(
    t: i64,
    value: &HistogramValue,
    min_valid: i64,
    newest: Option<(i64, &HistogramValue)>,
    stored: Option<(i64, Option<&HistogramValue>)>,
) -> Result<Fate, String> {
    if let Err(e) = value.validate() {
        return Err(format!("invalid native histogram at timestamp {t}: {e}"));
    }
    if t < min_valid {
        return Err(format!(
            "out of bounds: timestamp {t} is before {min_valid}, the start of the head (older data is in blocks)"
        ));
    }
    let last = newest.map(|(n, v)| (n, Some(v))).or(stored);
    match last {
        Some((n, Some(previous))) if t == n && previous.identical(value) => Ok(Fate::Identical),
        Some((n, _)) if t == n => Err(format!("duplicate sample for timestamp {t}")),
        Some((n, _)) if t < n => Err(format!(
            "out of order sample: native histograms are accepted in order only, and timestamp {t} is before the series' newest {n}"
        )),
        _ => Ok(Fate::Store),
    }
}
