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
//! the series in the WAL). The head never reuses or drops a ref (a delete removes samples,
//! a block cut truncates them; both keep the series), so a cached ref always names the live
//! series those bytes decode to. The delete endpoint clears the cache all the same, so a
//! future head that drops deleted series stays correct. Two encodings of the same labels
//! (another label order, say) are two keys for one ref — harmless. Memory is bounded: a
//! shard that grows past its share of `capacity` is emptied (the next writes refill it).

use std::collections::HashMap;
use std::sync::Mutex;

use strata_storage::AppendRef;

const SHARDS: usize = 16;

type Shard<V> = HashMap<Box<[u8]>, V, foldhash::fast::RandomState>;

/// See the module docs.
#[derive(Debug)]
pub(crate) struct SeriesCache<V> {
    shards: Vec<Mutex<Shard<V>>>,
    per_shard: usize,
}

impl<V: Copy> SeriesCache<V> {
    /// A cache of at most about `capacity` series.
    pub(crate) fn new(capacity: usize) -> Self {
        SeriesCache {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard: (capacity / SHARDS).max(1),
        }
    }

    fn shard(&self, key: &[u8]) -> &Mutex<Shard<V>> {
        // The whole key: series often share their last labels (job, instance), so any
        // part of it would crowd them into a few shards.
        let h = std::hash::BuildHasher::hash_one(&foldhash::fast::FixedState::default(), key);
        &self.shards[(h % SHARDS as u64) as usize]
    }

    pub(crate) fn get(&self, key: &[u8]) -> Option<V> {
        self.shard(key).lock().unwrap_or_else(|e| e.into_inner()).get(key).copied()
    }

    pub(crate) fn insert(&self, key: &[u8], r: V) {
        let mut shard = self.shard(key).lock().unwrap_or_else(|e| e.into_inner());
        if shard.len() >= self.per_shard {
            shard.clear();
        }
        shard.insert(key.into(), r);
    }

    /// Heap bytes held: the tables' slots and the boxed keys (with the allocator's
    /// 16-byte minimum per allocation, roughly).
    pub(crate) fn heap_bytes(&self) -> usize {
        let slot = std::mem::size_of::<(Box<[u8]>, V)>() + 1;
        self.shards
            .iter()
            .map(|s| {
                let shard = s.lock().unwrap_or_else(|e| e.into_inner());
                shard.capacity() * slot + shard.keys().map(|k| k.len().next_multiple_of(16)).sum::<usize>()
            })
            .sum()
    }

    /// Forgets everything (after a delete: see the module docs).
    pub(crate) fn clear(&self) {
        for shard in &self.shards {
            shard.lock().unwrap_or_else(|e| e.into_inner()).clear();
        }
    }
}

/// A cache per protocol: their keys are different encodings, which must never meet.
#[derive(Debug)]
pub(crate) struct SeriesCaches {
    /// Keyed by a `TimeSeries`' label fields (`remote_write_fast`).
    pub(crate) remote_write: SeriesCache<AppendRef>,
    /// Keyed by a line's series text, `up{job="a"}`.
    pub(crate) prometheus_text: SeriesCache<AppendRef>,
    /// Keyed by a line's measurement and tags, a space and the field key.
    pub(crate) line_protocol: SeriesCache<AppendRef>,
    /// Keyed by a remote write 2.0 series' label strings (`remote_v2`).
    pub(crate) remote_write_v2: SeriesCache<AppendRef>,
    /// Keyed by a translated OTLP series' Prometheus text, `up{job="a"}`.
    pub(crate) otlp: SeriesCache<AppendRef>,
}

impl SeriesCaches {
    /// Caches of at most about `capacity` series each.
    pub(crate) fn new(capacity: usize) -> Self {
        SeriesCaches {
            remote_write: SeriesCache::new(capacity),
            prometheus_text: SeriesCache::new(capacity),
            line_protocol: SeriesCache::new(capacity),
            remote_write_v2: SeriesCache::new(capacity),
            otlp: SeriesCache::new(capacity),
        }
    }

    /// Heap bytes of all the caches.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.remote_write.heap_bytes()
            + self.prometheus_text.heap_bytes()
            + self.line_protocol.heap_bytes()
            + self.remote_write_v2.heap_bytes()
            + self.otlp.heap_bytes()
    }

    /// Forgets everything (after a delete: see the module docs).
    pub(crate) fn clear(&self) {
        self.remote_write.clear();
        self.prometheus_text.clear();
        self.line_protocol.clear();
        self.remote_write_v2.clear();
        self.otlp.clear();
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
}
