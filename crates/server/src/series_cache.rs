//! The ingest path's series caches: the raw bytes that name a series in a request (for
//! remote write, the protobuf bytes of a `TimeSeries`' labels; for the text format, the
//! series text `up{job="a"}`; for line protocol, measurement and tags, a space and the field
//! key) → the engine's `AppendRef`, one cache per protocol. A series seen before then costs
//! a hash and a byte comparison: no label strings are decoded, built, sorted, validated or
//! looked up in the index (Prometheus' scrape cache and VictoriaMetrics' raw-name cache do
//! the same). In a perf profile of
//! remote write, label decoding, validation, hashing and the index lookup together took
//! about 40% of the server's CPU; for the text formats, on the scrape dataset (lines of
//! ~130 bytes), the cache took import from 1.24M to 2.67M samples/s and line protocol from
//! 0.82M to 3.0M (scripts/bench-dataset-peer.sh).
//!
//! Correctness: a ref goes into the cache only after the engine handed it out (and logged
//! the series in the WAL). The head never reuses a ref, so a cached ref always names the
//! series those bytes decode to; when the head has removed that series (a cut left it no
//! sample), an append by the ref goes to the live series of the same labels (the head
//! redirects: `strata_storage` `head/series_removal.rs`). The delete endpoint clears the
//! cache all the same. Two encodings of the same labels
//! (another label order, say) are two keys for one ref — harmless. Memory is bounded: a
//! shard that grows past its share of `capacity` is emptied (the next writes refill it).
//! Series the head refused are remembered beside the refs, by the same bytes
//! (`refused_keys`).
//!
//! A key is kept as 96 bits of its XXH3-128 digest, seeded at random per cache, not as its
//! bytes: a slot of 16 bytes with the ref instead of a slot plus a boxed copy of ~100 bytes
//! of labels (at a million series, ~110 MB became 32 MB). Two keys share a digest with
//! probability about n²/2⁹⁷ — 10⁻¹⁷ for a million series, 10⁻¹⁵ for ten million — and the
//! random seed keeps a sender from aiming at one; even then a collision could only mix two
//! series of the same sender (caches are per protocol and per tenant).

use std::sync::{Arc, Mutex};

use strata_cardinality::RefusalEpoch;
use strata_storage::AppendRef;

use crate::refused_keys::RefusedKeys;

const SHARDS: usize = 16;

/// A key's digest: 96 bits of its XXH3-128 (see the module docs).
type Digest = [u32; 3];

/// A value a slot holds, in a form with one bit pattern kept for "empty": a ref then costs
/// its four bytes in a slot, where an `Option` would add four more (a slot of 16 bytes, not
/// 24: 16 MB at a million series).
pub(crate) trait SlotValue: Copy {
    type Bits: Copy + Eq + std::fmt::Debug;
    /// The pattern of an empty slot; a value with this pattern is never held.
    const EMPTY: Self::Bits;
    fn to_bits(self) -> Self::Bits;
    fn from_bits(bits: Self::Bits) -> Self;
}

#[cfg(test)]
impl SlotValue for u32 {
    type Bits = u32;
    const EMPTY: u32 = u32::MAX;
    fn to_bits(self) -> u32 {
        self
    }
    fn from_bits(bits: u32) -> u32 {
        bits
    }
}

impl SlotValue for AppendRef {
    type Bits = u32;
    const EMPTY: u32 = u32::MAX;
    fn to_bits(self) -> u32 {
        self.id()
    }
    fn from_bits(bits: u32) -> AppendRef {
        AppendRef::new(bits)
    }
}

#[derive(Debug, Clone, Copy)]
struct Slot<V: SlotValue> {
    digest: Digest,
    value: V::Bits,
}

impl<V: SlotValue> Slot<V> {
    const EMPTY: Slot<V> = Slot { digest: [0; 3], value: V::EMPTY };

    fn is_empty(&self) -> bool {
        self.value == V::EMPTY
    }
}

/// One shard: an open-addressing table of `(digest, value)` slots, probed linearly from
/// the digest's low bits (the digest is already uniform), at most three quarters full (the
/// probes stay in neighbouring slots, mostly one cache line). A lookup at a
/// million series is a memory miss whatever the table; here the digest and the value share
/// one slot, so a hit usually costs one miss where a `HashMap` (control bytes apart from
/// the slots) costs two. Profiled under remote write of 1M series (`perf record -F 499`, 15
/// s): lookups took 36% of the server's samples with the map, 28% with this table.
#[derive(Debug)]
struct Shard<V: SlotValue> {
    slots: Vec<Slot<V>>,
    len: usize,
}

impl<V: SlotValue> Default for Shard<V> {
    fn default() -> Self {
        Shard { slots: Vec::new(), len: 0 }
    }
}

impl<V: SlotValue> Shard<V> {
    /// The slot holding `digest`, or the empty one where it would go.
    fn position(&self, digest: &Digest) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = digest[0] as usize & mask;
        // Never full, so an empty slot ends every probe.
        while !self.slots[i].is_empty() && self.slots[i].digest != *digest {
            i = (i + 1) & mask;
        }
        i
    }

    fn get(&self, digest: &Digest) -> Option<V> {
        if self.slots.is_empty() {
            return None;
        }
        let slot = self.slots[self.position(digest)];
        (!slot.is_empty()).then(|| V::from_bits(slot.value))
    }

    fn insert(&mut self, digest: Digest, value: V) {
        let value = value.to_bits();
        if value == V::EMPTY {
            return; // the one value a slot cannot hold: left uncached
        }
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let i = self.position(&digest);
        if self.slots[i].is_empty() {
            self.len += 1;
        }
        self.slots[i] = Slot { digest, value };
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(16);
        let old = std::mem::replace(&mut self.slots, vec![Slot::EMPTY; size]);
        self.len = 0;
        for slot in old.into_iter().filter(|s| !s.is_empty()) {
            self.insert(slot.digest, V::from_bits(slot.value));
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn clear(&mut self) {
        self.slots.iter_mut().for_each(|slot| *slot = Slot::EMPTY);
        self.len = 0;
    }
}

/// Asks the CPU to bring the cache line at `address` in; a hint only (no effect elsewhere
/// than on x86-64).
#[inline]
fn prefetch_read(address: *const i8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint that never faults and reads nothing into the program,
    // whatever the address (here it points into a live table anyway).
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct SeriesCache<V: SlotValue> {
    shards: Vec<Mutex<Shard<V>>>,
    per_shard: usize,
    seed: u64,
}

impl<V: SlotValue> SeriesCache<V> {
    /// A cache of at most about `capacity` series.
    pub(crate) fn new(capacity: usize) -> Self {
        let seed = std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), 0u8);
        SeriesCache {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard: (capacity / SHARDS).max(1),
            seed,
        }
    }

    fn digest(&self, key: &[u8]) -> Digest {
        let h = xxhash_rust::xxh3::xxh3_128_with_seed(key, self.seed);
        [h as u32, (h >> 32) as u32, (h >> 64) as u32]
    }

    fn shard(&self, digest: &Digest) -> &Mutex<Shard<V>> {
        // From the digest of the whole key: series often share their last labels (job,
        // instance), so any part of the key would crowd them into a few shards.
        &self.shards[(digest[2] as usize) % SHARDS]
    }

    pub(crate) fn get(&self, key: &[u8]) -> Option<V> {
        let digest = self.digest(key);
        self.shard(&digest).lock().unwrap_or_else(|e| e.into_inner()).get(&digest)
    }

    /// Starts loading the slot a `get(key)` would probe first, without waiting for it: a
    /// lookup at a million series is a memory miss (see [`Shard`]), and a request's
    /// lookups done one after another wait for their misses one after another. Issued a
    /// few keys ahead, the misses overlap.
    pub(crate) fn prefetch(&self, key: &[u8]) {
        let digest = self.digest(key);
        let shard = self.shard(&digest).lock().unwrap_or_else(|e| e.into_inner());
        if shard.slots.is_empty() {
            return;
        }
        let slot = &shard.slots[digest[0] as usize & (shard.slots.len() - 1)];
        prefetch_read(std::ptr::from_ref(slot).cast());
    }

    pub(crate) fn insert(&self, key: &[u8], r: V) {
        let digest = self.digest(key);
        let mut shard = self.shard(&digest).lock().unwrap_or_else(|e| e.into_inner());
        if shard.len() >= self.per_shard {
            shard.clear();
        }
        shard.insert(digest, r);
    }

    /// Heap bytes held: the tables' slots.
    pub(crate) fn heap_bytes(&self) -> usize {
        let slot = std::mem::size_of::<Slot<V>>();
        self.shards.iter().map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).slots.capacity() * slot).sum()
    }

    /// Forgets everything (after a delete: see the module docs).
    pub(crate) fn clear(&self) {
        for shard in &self.shards {
            shard.lock().unwrap_or_else(|e| e.into_inner()).clear();
        }
    }
}

/// One protocol's caches: the refs of series it has seen, and the series the head refused
/// (`refused_keys`), both keyed by the same raw bytes.
#[derive(Debug)]
pub(crate) struct ProtocolCache {
    pub(crate) refs: SeriesCache<AppendRef>,
    pub(crate) refused: RefusedKeys,
}

impl ProtocolCache {
    /// Caches of at most about `capacity` series each; refusals stand as `epoch` says.
    pub(crate) fn new(capacity: usize, epoch: Arc<RefusalEpoch>) -> Self {
        ProtocolCache { refs: SeriesCache::new(capacity), refused: RefusedKeys::new(capacity, epoch) }
    }

    /// Heap bytes of both.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.refs.heap_bytes() + self.refused.heap_bytes()
    }

    /// Starts loading what a lookup of `key` will read (`SeriesCache::prefetch`).
    pub(crate) fn prefetch(&self, key: &[u8]) {
        self.refs.prefetch(key);
        self.refused.prefetch(key);
    }

    /// Forgets everything (after a delete: see the module docs).
    pub(crate) fn clear(&self) {
        self.refs.clear();
        self.refused.clear();
    }
}

/// A cache per protocol: their keys are different encodings, which must never meet.
#[derive(Debug)]
pub(crate) struct SeriesCaches {
    /// Keyed by a `TimeSeries`' label fields (`remote_write_fast`).
    pub(crate) remote_write: ProtocolCache,
    /// Keyed by a line's series text, `up{job="a"}`.
    pub(crate) prometheus_text: ProtocolCache,
    /// Keyed by a line's measurement and tags, a space and the field key.
    pub(crate) line_protocol: ProtocolCache,
    /// Keyed by a remote write 2.0 series' label strings (`remote_v2`).
    pub(crate) remote_write_v2: ProtocolCache,
    /// Keyed by a translated OTLP series' Prometheus text, `up{job="a"}`.
    pub(crate) otlp: ProtocolCache,
    /// Keyed by a series' canonical Prometheus text: a cluster node's own copies of the
    /// writes it coordinates (`write_api::write_local_copy`).
    pub(crate) cluster: ProtocolCache,
}

impl SeriesCaches {
    /// Caches of at most about `capacity` series each; refusals stand as `epoch` (the
    /// limiter's) says.
    pub(crate) fn new(capacity: usize, epoch: Arc<RefusalEpoch>) -> Self {
        let cache = || ProtocolCache::new(capacity, epoch.clone());
        SeriesCaches {
            remote_write: cache(),
            prometheus_text: cache(),
            line_protocol: cache(),
            remote_write_v2: cache(),
            otlp: cache(),
            cluster: cache(),
        }
    }

    fn all(&self) -> [&ProtocolCache; 6] {
        [
            &self.remote_write,
            &self.prometheus_text,
            &self.line_protocol,
            &self.remote_write_v2,
            &self.otlp,
            &self.cluster,
        ]
    }

    /// Heap bytes of all the caches.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.all().iter().map(|c| c.heap_bytes()).sum()
    }

    /// Forgets everything (after a delete: see the module docs).
    pub(crate) fn clear(&self) {
        self.all().iter().for_each(|c| c.clear());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_misses_bound_and_clear() {
        let cache = SeriesCache::new(SHARDS * 2);
        cache.insert(b"a", 1u32);
        assert_eq!(cache.get(b"a"), Some(1));
        assert_eq!(cache.get(b"b"), None);
        for i in 0..1000u32 {
            cache.insert(&i.to_le_bytes(), i);
        }
        let held: usize = cache.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert!(held <= SHARDS * 2, "{held}");
        cache.clear();
        assert_eq!(cache.get(&999u32.to_le_bytes()), None);
    }

    /// A ref costs 16 bytes a slot (the module docs' arithmetic); the one value a slot
    /// cannot hold is left uncached, not mistaken for an empty slot.
    #[test]
    fn a_ref_slot_is_sixteen_bytes_and_the_empty_pattern_is_never_held() {
        assert_eq!(std::mem::size_of::<Slot<AppendRef>>(), 16);
        let cache = SeriesCache::new(1024);
        cache.insert(b"max", AppendRef::new(u32::MAX));
        cache.insert(b"zero", AppendRef::new(0));
        assert_eq!(cache.get(b"max"), None);
        assert_eq!(cache.get(b"zero"), Some(AppendRef::new(0)));
    }

    proptest::proptest! {
        /// Against a map keyed by the bytes themselves: every key answers its own value,
        /// keys differing in one byte or in length never answer each other's.
        #[test]
        fn answers_as_a_map_of_the_keys_would(
            keys in proptest::collection::vec(proptest::collection::vec(0u8..4, 0..24), 1..300),
        ) {
            let cache = SeriesCache::new(1 << 20);
            let mut oracle = std::collections::HashMap::new();
            for (i, k) in keys.iter().enumerate() {
                cache.insert(k, i as u32);
                oracle.insert(k.clone(), i as u32);
            }
            for k in &keys {
                proptest::prop_assert_eq!(cache.get(k), oracle.get(k).copied());
                let mut longer = k.clone();
                longer.push(0);
                proptest::prop_assert_eq!(cache.get(&longer), oracle.get(&longer).copied());
            }
        }
    }
}
