//! Space-Saving heavy hitters (Metwally, Agrawal, El Abbadi 2005): the `capacity` keys with
//! the largest counts in a stream, in bounded memory. A key not tracked takes the place of
//! the current minimum and inherits its count as its possible overestimate (`error`), so a
//! reported count is never below the truth and at most `error` above it; every key whose
//! true count exceeds total / capacity is guaranteed to be tracked.
//!
//! The minimum is found in an ordered set beside the map (O(log capacity) per addition):
//! a stream of mostly new keys — series by write rate, a million of them — replaces the
//! minimum on nearly every addition.

use std::collections::{BTreeSet, HashMap};

/// One tracked key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeavyHitter {
    pub key: String,
    /// Its count (an overestimate by at most `error`).
    pub count: u64,
    pub error: u64,
}

/// A Space-Saving summary.
#[derive(Debug, Clone)]
pub struct SpaceSaving {
    capacity: usize,
    counts: HashMap<String, (u64, u64)>,
    /// (count, key) of every tracked key: the first is the minimum.
    order: BTreeSet<(u64, String)>,
    total: u64,
}

impl SpaceSaving {
    pub fn new(capacity: usize) -> Self {
        SpaceSaving { capacity: capacity.max(1), counts: HashMap::new(), order: BTreeSet::new(), total: 0 }
    }

    /// Counts `n` more occurrences of `key`.
    pub fn add(&mut self, key: &str, n: u64) {
        self.total += n;
        if let Some((count, _)) = self.counts.get_mut(key) {
            // The set's own copy of the key moves to the new position.
            let owned =
                self.order.take(&(*count, key.to_string())).map_or_else(|| key.to_string(), |(_, k)| k);
            *count += n;
            self.order.insert((*count, owned));
            return;
        }
        let (count, error) = if self.counts.len() < self.capacity {
            (n, 0)
        } else {
            let Some((min, min_key)) = self.order.pop_first() else { return };
            self.counts.remove(&min_key);
            (min + n, min)
        };
        self.counts.insert(key.to_string(), (count, error));
        self.order.insert((count, key.to_string()));
    }

    /// The tracked keys, largest count first (ties by key).
    pub fn top(&self, k: usize) -> Vec<HeavyHitter> {
        let mut out: Vec<HeavyHitter> = self
            .counts
            .iter()
            .map(|(key, &(count, error))| HeavyHitter { key: key.clone(), count, error })
            .collect();
        out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        out.truncate(k);
        out
    }

    /// Occurrences counted in all.
    pub fn total(&self) -> u64 {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Against exact counts: every key above total / capacity is tracked, and every
        /// reported count is within [truth, truth + error].
        #[test]
        fn heavy_hitters_are_found_with_bounded_error(stream in proptest::collection::vec(0u32..200, 1..3_000), zipf in 1u32..5) {
            let capacity = 20;
            let mut summary = SpaceSaving::new(capacity);
            let mut exact: HashMap<String, u64> = HashMap::new();
            for x in &stream {
                // Skew the stream: small keys are frequent.
                let key = format!("k{}", x / zipf.max(1) / (1 + x % 7));
                summary.add(&key, 1);
                *exact.entry(key).or_default() += 1;
            }
            let top = summary.top(capacity);
            for h in &top {
                let truth = exact[&h.key];
                prop_assert!(h.count >= truth && h.count - h.error <= truth, "{h:?} truth {truth}");
            }
            let threshold = summary.total() / capacity as u64;
            for (key, &truth) in &exact {
                if truth > threshold {
                    prop_assert!(top.iter().any(|h| &h.key == key), "{key} ({truth} > {threshold}) missing");
                }
            }
        }
    }
}
