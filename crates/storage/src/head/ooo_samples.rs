//! A series' accepted out-of-order samples, sorted by time, one per timestamp. Few series
//! ever have any, so the list is boxed: an empty one is one null pointer in the series (8
//! bytes, not a `Vec`'s 24), which at a million series is 16 MB.

use std::ops::Deref;

// Box<Vec> on purpose: the point is the 8-byte empty case (a Vec is 24), not the heap.
#[allow(clippy::box_collection)]
#[derive(Debug, Default)]
pub(super) struct OooSamples(Option<Box<Vec<(i64, f64)>>>);

impl Deref for OooSamples {
    type Target = [(i64, f64)];

    fn deref(&self) -> &[(i64, f64)] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }
}

impl OooSamples {
    /// Inserts `sample` at `at` (the caller found the place by binary search).
    pub(super) fn insert(&mut self, at: usize, sample: (i64, f64)) {
        self.0.get_or_insert_with(Default::default).insert(at, sample);
    }

    /// Keeps the samples `keep` accepts.
    pub(super) fn retain(&mut self, keep: impl FnMut(&(i64, f64)) -> bool) {
        if let Some(samples) = &mut self.0 {
            samples.retain(keep);
            self.free_if_empty();
        }
    }

    /// Drops the first `n` samples.
    pub(super) fn drop_first(&mut self, n: usize) {
        if let Some(samples) = &mut self.0 {
            samples.drain(..n);
            self.free_if_empty();
        }
    }

    /// Samples the list has room for.
    pub(super) fn capacity(&self) -> usize {
        self.0.as_ref().map_or(0, |s| s.capacity())
    }

    fn free_if_empty(&mut self) {
        if self.0.as_ref().is_some_and(|s| s.is_empty()) {
            self.0 = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_list_holds_no_allocation_and_edits_keep_order() {
        let mut ooo = OooSamples::default();
        assert!(ooo.is_empty() && ooo.capacity() == 0);
        ooo.insert(0, (20, 2.0));
        ooo.insert(0, (10, 1.0));
        ooo.insert(2, (30, 3.0));
        assert_eq!(&*ooo, &[(10, 1.0), (20, 2.0), (30, 3.0)]);
        ooo.retain(|s| s.0 != 20);
        ooo.drop_first(1);
        assert_eq!(&*ooo, &[(30, 3.0)]);
        ooo.drop_first(1);
        assert_eq!(ooo.capacity(), 0, "an emptied list is freed");
        assert_eq!(std::mem::size_of::<OooSamples>(), 8);
    }
}
