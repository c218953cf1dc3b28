//! The stable series hash.
//!
//! Prometheus hashes a label set with xxHash64 (seed 0) over `name 0xFF value 0xFF` for
//! each label in order. Strata uses the same function: it is fixed by its specification, so
//! it gives the same 64 bits in every process, on every machine and in every release —
//! unlike `std`'s `DefaultHasher` — and a series hashes the same in Strata and Prometheus.
//! `0xFF` never occurs in UTF-8, so the separator cannot be confused with content.

use xxhash_rust::xxh64::xxh64;

use crate::Labels;

const SEPARATOR: [u8; 1] = [0xFF];

/// A label set's stable 64-bit hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesHash(pub u64);

impl SeriesHash {
    /// Hashes `labels` (already canonical, so equal sets hash equally).
    pub fn of(labels: &Labels) -> Self {
        Self::of_pairs(labels.iter().map(|l| (l.name.as_str(), l.value.as_str())))
    }

    /// Hashes `(name, value)` pairs that are already in canonical order (sorted by name,
    /// no empty values): the same hash as the [`Labels`] they make, without building it.
    pub fn of_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        // One-shot hashing of the joined bytes: xxh64's streaming `update` costs far more
        // than copying when fed many short slices, and the result is the same. Typical
        // label sets fit the stack buffer; longer ones spill to the heap.
        let mut stack = [0u8; 512];
        let mut len = 0;
        let mut heap: Vec<u8> = Vec::new();
        for (name, value) in pairs {
            for part in [name.as_bytes(), &SEPARATOR, value.as_bytes(), &SEPARATOR] {
                if heap.is_empty() && len + part.len() <= stack.len() {
                    stack[len..len + part.len()].copy_from_slice(part);
                    len += part.len();
                } else {
                    if heap.is_empty() {
                        heap.extend_from_slice(&stack[..len]);
                    }
                    heap.extend_from_slice(part);
                }
            }
        }
        let bytes = if heap.is_empty() { &stack[..len] } else { &heap[..] };
        SeriesHash(xxh64(bytes, 0))
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
    fn long_label_sets_hash_the_same_bytes() {
        let long = "v".repeat(700);
        let l = Labels::from_pairs([("a", long.as_str()), ("b", "1")]).unwrap();
        let bytes = [b"a\xff".as_slice(), long.as_bytes(), b"\xffb\xff1\xff"].concat();
        assert_eq!(SeriesHash::of(&l).0, xxhash_rust::xxh64::xxh64(&bytes, 0));
    }

    #[test]
    fn separator_prevents_concatenation_collisions() {
        let a = Labels::from_pairs([("a", "bc")]).unwrap();
        let b = Labels::from_pairs([("ab", "c")]).unwrap();
        assert_ne!(a.stable_hash(), b.stable_hash());
    }
}
