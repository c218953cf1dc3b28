//! The stable series hash.
//!
//! Prometheus hashes a label set with xxHash64 (seed 0) over `name 0xFF value 0xFF` for
//! each label in order. Strata uses the same function: it is fixed by its specification, so
//! it gives the same 64 bits in every process, on every machine and in every release —
//! unlike `std`'s `DefaultHasher` — and a series hashes the same in Strata and Prometheus.
//! `0xFF` never occurs in UTF-8, so the separator cannot be confused with content.

use xxhash_rust::xxh64::Xxh64;

use crate::Labels;

const SEPARATOR: [u8; 1] = [0xFF];

/// A label set's stable 64-bit hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesHash(pub u64);

impl SeriesHash {
    /// Hashes `labels` (already canonical, so equal sets hash equally).
    pub fn of(labels: &Labels) -> Self {
        let mut h = Xxh64::new(0);
        for label in labels {
            h.update(label.name.as_bytes());
            h.update(&SEPARATOR);
            h.update(label.value.as_bytes());
            h.update(&SEPARATOR);
        }
        SeriesHash(h.digest())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_set_is_xxh64_of_nothing() {
        // The published xxHash64 test vector for empty input with seed 0.
        assert_eq!(SeriesHash::of(&Labels::empty()).0, 0xEF46_DB37_51D8_E999);
    }

    #[test]
    fn hash_is_of_the_separated_bytes() {
        let l = Labels::from_pairs([("b", "2"), ("a", "1")]).unwrap();
        let bytes = b"a\xff1\xffb\xff2\xff";
        assert_eq!(SeriesHash::of(&l).0, xxhash_rust::xxh64::xxh64(bytes, 0));
    }

    #[test]
    fn separator_prevents_concatenation_collisions() {
        let a = Labels::from_pairs([("a", "bc")]).unwrap();
        let b = Labels::from_pairs([("ab", "c")]).unwrap();
        assert_ne!(a.stable_hash(), b.stable_hash());
    }
}
