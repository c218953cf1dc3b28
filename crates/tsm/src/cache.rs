//! The cache: points written since the last snapshot, by series, in memory. It is a copy of
//! the WAL's open segments; a snapshot moves it whole into a TSM file.
//!
//! Points of a series are kept in arrival order and sorted only when read or snapshotted
//! (writes are cheap appends). InfluxDB's semantics: any timestamp is accepted, and a later
//! write of a timestamp replaces the earlier one — the sort is stable and keeps the last.
//! The size counted is 16 bytes a point of buffer capacity plus a per-series overhead; writers are refused
//! above the engine's `cache_max_bytes`, not here.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Locks striped by series, so concurrent writers rarely meet.
const STRIPES: usize = 16;
/// Bytes counted per series beside its points (map entry, vector header).
const SERIES_OVERHEAD: u64 = 64;
/// Bytes counted per point.
pub const POINT_BYTES: u64 = 16;
/// Points a series' buffer starts with: a scraped series gets hundreds between snapshots,
/// and growing from one point by doubling costs copies and page faults; a million series
/// of one point each still take only 256 MiB (counted: the cache counts capacity).
const INITIAL_POINTS: usize = 16;

/// A series' points as written: (nanoseconds, value), arrival order.
pub type Points = Vec<(i64, f64)>;
/// One stripe: points by series ref.
type Stripe = HashMap<u32, Points, foldhash::fast::RandomState>;

/// Points in memory, by series ref.
#[derive(Debug)]
pub struct Cache {
    stripes: Vec<Mutex<Stripe>>,
    bytes: AtomicU64,
    points: AtomicU64,
}

impl Default for Cache {
    fn default() -> Self {
        Cache {
            stripes: (0..STRIPES).map(|_| Mutex::new(Stripe::default())).collect(),
            bytes: AtomicU64::new(0),
            points: AtomicU64::new(0),
        }
    }
}

impl Cache {
    fn stripe(&self, series: u32) -> std::sync::MutexGuard<'_, Stripe> {
        self.stripes[series as usize % STRIPES].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a point (nanoseconds).
    pub fn insert(&self, series: u32, t: i64, v: f64) {
        let mut stripe = self.stripe(series);
        let points = stripe.entry(series).or_insert_with(|| {
            self.bytes.fetch_add(SERIES_OVERHEAD, Ordering::Relaxed);
            Vec::new()
        });
        let before = points.capacity();
        points.push((t, v));
        self.bytes.fetch_add(POINT_BYTES * (points.capacity() - before) as u64, Ordering::Relaxed);
        self.points.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds points of one series (nanoseconds), under one lock.
    pub fn insert_many(&self, series: u32, ts: &[i64], vs: &[f64]) {
        let mut stripe = self.stripe(series);
        let points = stripe.entry(series).or_insert_with(|| {
            self.bytes.fetch_add(SERIES_OVERHEAD, Ordering::Relaxed);
            Vec::new()
        });
        let before = points.capacity();
        if before == 0 {
            points.reserve_exact(INITIAL_POINTS.max(ts.len()));
        }
        points.extend(ts.iter().copied().zip(vs.iter().copied()));
        let grown = (points.capacity() - before) as u64;
        self.bytes.fetch_add(POINT_BYTES * grown, Ordering::Relaxed);
        self.points.fetch_add(ts.len() as u64, Ordering::Relaxed);
    }

    /// The points of `series` in `[mint, maxt]`, sorted, each timestamp once (its last write).
    pub fn points(&self, series: u32, mint: i64, maxt: i64) -> Vec<(i64, f64)> {
        let stripe = self.stripe(series);
        let Some(points) = stripe.get(&series) else { return Vec::new() };
        let mut out: Vec<(i64, f64)> =
            points.iter().copied().filter(|p| (mint..=maxt).contains(&p.0)).collect();
        drop(stripe);
        sort_last_wins(&mut out);
        out
    }

    /// Removes the points of `series` in `[mint, maxt]`.
    pub fn delete(&self, series: u32, mint: i64, maxt: i64) {
        let mut stripe = self.stripe(series);
        let Some(points) = stripe.get_mut(&series) else { return };
        let before = points.len();
        points.retain(|p| !(mint..=maxt).contains(&p.0));
        // The buffer keeps its capacity, so the bytes counted stay.
        self.points.fetch_sub((before - points.len()) as u64, Ordering::Relaxed);
    }

    /// Takes every point out (for a snapshot): by series, sorted, each timestamp once.
    pub fn take(&self) -> HashMap<u32, Vec<(i64, f64)>> {
        let mut out = HashMap::new();
        for stripe in &self.stripes {
            let taken = std::mem::take(&mut *stripe.lock().unwrap_or_else(|e| e.into_inner()));
            out.extend(taken);
        }
        self.bytes.store(0, Ordering::Relaxed);
        self.points.store(0, Ordering::Relaxed);
        out.retain(|_, points: &mut Vec<(i64, f64)>| {
            sort_last_wins(points);
            !points.is_empty()
        });
        out
    }

    /// Every series' points, sorted, each timestamp once, leaving the cache as it is (a
    /// snapshot's cache stays readable until its file is published).
    pub fn sorted_series(&self) -> Vec<(u32, Vec<(i64, f64)>)> {
        let mut out = Vec::new();
        for stripe in &self.stripes {
            let stripe = stripe.lock().unwrap_or_else(|e| e.into_inner());
            out.extend(stripe.iter().map(|(&r, points)| (r, points.clone())));
        }
        for (_, points) in &mut out {
            sort_last_wins(points);
        }
        out.retain(|(_, p)| !p.is_empty());
        out
    }

    /// The earliest and latest timestamp held.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        let mut range: Option<(i64, i64)> = None;
        for stripe in &self.stripes {
            let stripe = stripe.lock().unwrap_or_else(|e| e.into_inner());
            for &(t, _) in stripe.values().flatten() {
                range = Some(range.map_or((t, t), |(lo, hi)| (lo.min(t), hi.max(t))));
            }
        }
        range
    }

    /// Bytes counted.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Points held (a rewritten timestamp counts twice until read).
    pub fn len(&self) -> u64 {
        self.points.load(Ordering::Relaxed)
    }

    /// Whether no point is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Series with points.
    pub fn series(&self) -> u64 {
        self.stripes.iter().map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).len() as u64).sum()
    }
}

/// Sorts by time; of points with one timestamp, keeps the one that came last.
pub fn sort_last_wins(points: &mut Vec<(i64, f64)>) {
    if points.windows(2).all(|w| w[0].0 < w[1].0) {
        return;
    }
    points.sort_by_key(|p| p.0); // stable: equal timestamps stay in arrival order
    let mut kept = 0;
    for i in 0..points.len() {
        if kept > 0 && points[kept - 1].0 == points[i].0 {
            points[kept - 1] = points[i];
        } else {
            points[kept] = points[i];
            kept += 1;
        }
    }
    points.truncate(kept);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_writes_of_a_timestamp_win_and_deletes_remove() {
        let c = Cache::default();
        for (t, v) in [(30, 1.0), (10, 2.0), (30, 3.0), (20, 4.0)] {
            c.insert(7, t, v);
        }
        assert_eq!(c.points(7, 0, 100), [(10, 2.0), (20, 4.0), (30, 3.0)]);
        assert_eq!(c.points(7, 15, 25), [(20, 4.0)]);
        c.delete(7, 20, 30);
        assert_eq!(c.points(7, 0, 100), [(10, 2.0)]);
        assert_eq!(c.len(), 1);
        let taken = c.take();
        assert_eq!(taken[&7], [(10, 2.0)]);
        assert!(c.is_empty() && c.bytes() == 0);
    }
}
