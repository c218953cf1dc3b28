//! Series the head refused, remembered by the raw bytes that name them in a request, so a
//! cardinality explosion that keeps sending the same refused series costs a hash per
//! sample instead of a label decode, a head lookup and a limit check each time.
//!
//! Before this cache, an explosion at full speed (`scripts/bench-cardinality-explosion.py`:
//! 1M `user_id` values against a limit of 10,000) had the server decode and ask the head
//! about every refused series of every request; the ordinary load beside it ran at half its
//! speed alone.
//!
//! Correctness: a refusal is kept with the [`RefusalEpoch`] stamp read before the head
//! was asked, and answers only while the stamp is unchanged: the limits could not have
//! made room since (see `strata_cardinality::refusal_epoch`). A refusal that is not the
//! limits' (a tenant's reserved label) is deterministic in the labels, so keeping it the
//! same way is safe too. Each request still counts a remembered refusal once per series
//! against its limit (`Limiter::refused_again`), as a decided one would be. Bounded like
//! the series caches (a shard past its share is emptied); the reasons are interned, at most
//! [`MAX_REASONS`] distinct (past that, new reasons are simply not remembered).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use strata_cardinality::RefusalEpoch;

use crate::series_cache::{SeriesCache, SlotValue};

/// Distinct refusal texts kept (one per limit, in practice): an index fits in a byte.
const MAX_REASONS: usize = 255;

/// A remembered refusal in eight bytes (a slot is then 24): the low 56
/// bits of the stamp it was made under (the hour, and the limiter's events modulo 2²⁴ — a
/// stale refusal would need 16.7M removals and reloads within one hour to pass), then its
/// reason's index + 1, so the value is never zero (zero marks an empty slot).
#[derive(Debug, Clone, Copy)]
struct Refusal(std::num::NonZeroU64);

impl Refusal {
    fn new(stamp: u64, reason: u32) -> Self {
        // reason < 255, so the + 1 stays in the low byte.
        Refusal(std::num::NonZeroU64::MIN.saturating_add((stamp << 8) | u64::from(reason)))
    }

    /// Its reason's index, if it was made under `stamp`.
    fn reason_at(self, stamp: u64) -> Option<u32> {
        let value = self.0.get();
        (value >> 8 == stamp & ((1 << 56) - 1)).then(|| (value & 0xff) as u32 - 1)
    }
}

impl SlotValue for Refusal {
    type Bits = u64;
    const EMPTY: u64 = 0;
    fn to_bits(self) -> u64 {
        self.0.get()
    }
    fn from_bits(bits: u64) -> Refusal {
        // Only a held slot's bits come back, and those are never the empty pattern.
        Refusal(std::num::NonZeroU64::new(bits).unwrap_or(std::num::NonZeroU64::MIN))
    }
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct RefusedKeys {
    keys: SeriesCache<Refusal>,
    /// Whether anything may be remembered: until a first refusal (and after a clear), a
    /// lookup and a prefetch cost one load instead of a hash and a lock, on every series of
    /// every remote-write request.
    any: AtomicBool,
    reasons: Mutex<Vec<Arc<str>>>,
    epoch: Arc<RefusalEpoch>,
}

impl RefusedKeys {
    /// Remembers at most about `capacity` refused series, for as long as `epoch` says.
    pub(crate) fn new(capacity: usize, epoch: Arc<RefusalEpoch>) -> Self {
        RefusedKeys {
            keys: SeriesCache::new(capacity),
            any: AtomicBool::new(false),
            reasons: Mutex::new(Vec::new()),
            epoch,
        }
    }

    /// The stamp to look up with and to remember under: read it before asking the head.
    pub(crate) fn stamp(&self) -> u64 {
        self.epoch.stamp()
    }

    /// The reason `key` was refused, if that still stands at `stamp`.
    pub(crate) fn get(&self, key: &[u8], stamp: u64) -> Option<u32> {
        if !self.any.load(Ordering::Relaxed) {
            return None;
        }
        self.keys.get(key).and_then(|r| r.reason_at(stamp))
    }

    /// Starts loading what `get(key)` will read (nothing while none is remembered).
    pub(crate) fn prefetch(&self, key: &[u8]) {
        if self.any.load(Ordering::Relaxed) {
            self.keys.prefetch(key);
        }
    }

    /// Remembers that `key` was refused for `reason` under `stamp`.
    pub(crate) fn insert(&self, key: &[u8], stamp: u64, reason: &str) {
        if let Some(reason) = self.intern(reason) {
            self.keys.insert(key, Refusal::new(stamp, reason));
            self.any.store(true, Ordering::Relaxed);
        }
    }

    /// The text of a reason index [`RefusedKeys::get`] gave.
    pub(crate) fn reason(&self, index: u32) -> Arc<str> {
        let reasons = self.reasons.lock().unwrap_or_else(|e| e.into_inner());
        reasons.get(index as usize).cloned().unwrap_or_else(|| Arc::from("new series refused"))
    }

    fn intern(&self, reason: &str) -> Option<u32> {
        let mut reasons = self.reasons.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = reasons.iter().position(|r| &**r == reason) {
            return Some(i as u32);
        }
        if reasons.len() >= MAX_REASONS {
            return None;
        }
        reasons.push(Arc::from(reason));
        Some(reasons.len() as u32 - 1)
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        let reasons = self.reasons.lock().unwrap_or_else(|e| e.into_inner());
        self.keys.heap_bytes() + reasons.iter().map(|r| r.len() + 16).sum::<usize>()
    }

    /// Forgets every refusal (after a delete, with the series caches).
    pub(crate) fn clear(&self) {
        self.any.store(false, Ordering::Relaxed);
        self.keys.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_answers_only_under_the_stamp_it_was_made_under() {
        let epoch = Arc::new(RefusalEpoch::default());
        let refused = RefusedKeys::new(1 << 10, epoch.clone());
        let stamp = refused.stamp();
        refused.insert(b"m{user=\"1\"}", stamp, "over the limit");
        refused.insert(b"m{user=\"2\"}", stamp, "over the limit");
        refused.insert(b"m{__tenant__=\"x\"}", stamp, "reserved label");
        let first = refused.get(b"m{user=\"1\"}", stamp).unwrap();
        assert_eq!(refused.get(b"m{user=\"2\"}", stamp), Some(first), "one reason, interned once");
        assert_eq!(&*refused.reason(first), "over the limit");
        assert_eq!(&*refused.reason(refused.get(b"m{__tenant__=\"x\"}", stamp).unwrap()), "reserved label");
        assert_eq!(refused.get(b"m{user=\"3\"}", stamp), None);
        epoch.bump();
        assert_eq!(refused.get(b"m{user=\"1\"}", refused.stamp()), None, "room may have been made");
        refused.insert(b"m{user=\"1\"}", refused.stamp(), "over the limit");
        assert!(refused.get(b"m{user=\"1\"}", refused.stamp()).is_some());
        refused.clear();
        assert_eq!(refused.get(b"m{user=\"1\"}", refused.stamp()), None);
    }

    #[test]
    fn a_refusal_packs_its_stamp_and_reason_in_eight_bytes() {
        assert_eq!(std::mem::size_of::<Option<Refusal>>(), 8);
        let stamp = (7u64 << 32) | 493_000;
        for reason in [0, 1, 254] {
            let r = Refusal::new(stamp, reason);
            assert_eq!(r.reason_at(stamp), Some(reason));
            assert_eq!(r.reason_at(stamp + 1), None, "another hour");
            assert_eq!(r.reason_at(stamp + (1 << 32)), None, "another event");
        }
    }

    #[test]
    fn reasons_past_the_bound_are_not_remembered() {
        let refused = RefusedKeys::new(1 << 12, Arc::new(RefusalEpoch::default()));
        let stamp = refused.stamp();
        for i in 0..MAX_REASONS + 10 {
            refused.insert(format!("k{i}").as_bytes(), stamp, &format!("reason {i}"));
        }
        assert!(refused.get(b"k0", stamp).is_some());
        assert_eq!(refused.get(format!("k{}", MAX_REASONS + 5).as_bytes(), stamp), None);
    }
}
