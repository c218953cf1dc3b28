//! The postings of one `name=value`: the refs of the series that carry it.
//!
//! Most values of a high-cardinality label (a pod, a request id, a series number) belong to
//! one series, and a roaring bitmap of one element costs two heap allocations (its container
//! vector and the container's array), about 60 bytes beyond its 24-byte header. So a value
//! with a single series keeps the ref inline ([`Postings::One`]), and becomes a bitmap when a
//! second series joins it (and an inline ref again when it drops back to one). At a million
//! series with a unique label each, that is ~60 MB less heap.

use std::borrow::Cow;

use roaring::RoaringBitmap;

/// See the module docs. Sixteen bytes (the bitmap boxed): a label with a million values
/// keeps a million of these, most of them [`Postings::One`].
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) enum Postings {
    /// No series (a value whose series all left keeps its id and this).
    #[default]
    Empty,
    /// Exactly this one series.
    One(u32),
    /// Two series or more.
    Many(Box<RoaringBitmap>),
}

impl From<RoaringBitmap> for Postings {
    fn from(bitmap: RoaringBitmap) -> Self {
        match (bitmap.len(), bitmap.min()) {
            (0, _) => Postings::Empty,
            (1, Some(r)) => Postings::One(r),
            _ => Postings::Many(Box::new(bitmap)),
        }
    }
}

impl Postings {
    /// Adds a series.
    pub(crate) fn insert(&mut self, r: u32) {
        match self {
            Postings::Empty => *self = Postings::One(r),
            Postings::One(existing) if *existing == r => {}
            Postings::One(existing) => {
                *self = Postings::Many(Box::new(RoaringBitmap::from_iter([*existing, r])))
            }
            Postings::Many(bitmap) => {
                bitmap.insert(r);
            }
        }
    }

    /// Removes a series.
    pub(crate) fn remove(&mut self, r: u32) {
        match self {
            Postings::One(existing) if *existing == r => *self = Postings::Empty,
            Postings::Empty | Postings::One(_) => {}
            Postings::Many(bitmap) => {
                if bitmap.remove(r) && bitmap.len() <= 1 {
                    *self = Postings::from(std::mem::take(&mut **bitmap));
                }
            }
        }
    }

    pub(crate) fn len(&self) -> u64 {
        match self {
            Postings::Empty => 0,
            Postings::One(_) => 1,
            Postings::Many(bitmap) => bitmap.len(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn max(&self) -> Option<u32> {
        match self {
            Postings::Empty => None,
            Postings::One(r) => Some(*r),
            Postings::Many(bitmap) => bitmap.max(),
        }
    }

    /// Whether none of these series is in `other`.
    pub(crate) fn is_disjoint(&self, other: &RoaringBitmap) -> bool {
        match self {
            Postings::Empty => true,
            Postings::One(r) => !other.contains(*r),
            Postings::Many(bitmap) => bitmap.is_disjoint(other),
        }
    }

    /// How many of these series are in `other`.
    pub(crate) fn intersection_len(&self, other: &RoaringBitmap) -> u64 {
        match self {
            Postings::Empty => 0,
            Postings::One(r) => u64::from(other.contains(*r)),
            Postings::Many(bitmap) => bitmap.intersection_len(other),
        }
    }

    /// As a bitmap: borrowed, or built for no or a single series.
    pub(crate) fn bitmap(&self) -> Cow<'_, RoaringBitmap> {
        match self {
            Postings::Empty => Cow::Owned(RoaringBitmap::new()),
            Postings::One(r) => Cow::Owned(RoaringBitmap::from_iter([*r])),
            Postings::Many(bitmap) => Cow::Borrowed(bitmap),
        }
    }

    /// Heap bytes beyond the enum itself.
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Postings::Empty | Postings::One(_) => 0,
            Postings::Many(bitmap) => bitmap.serialized_size() + 16 + std::mem::size_of::<RoaringBitmap>(),
        }
    }
}

/// The union of many postings in one pass: the bitmaps with a multi-way union, the single
/// refs gathered into one more bitmap.
pub(crate) fn union<'a>(sets: impl IntoIterator<Item = &'a Postings>) -> RoaringBitmap {
    use roaring::MultiOps;
    let mut singles = Vec::new();
    let mut bitmaps = Vec::new();
    for set in sets {
        match set {
            Postings::Empty => {}
            Postings::One(r) => singles.push(*r),
            Postings::Many(bitmap) => bitmaps.push(&**bitmap),
        }
    }
    singles.sort_unstable();
    singles.dedup();
    let singles = RoaringBitmap::from_sorted_iter(singles).unwrap_or_default();
    bitmaps.push(&singles);
    bitmaps.union()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn postings_take_sixteen_bytes() {
        assert_eq!(std::mem::size_of::<Postings>(), 16);
    }

    proptest! {
        // Any sequence of inserts and removes leaves the same set as a plain bitmap, in the
        // inline form exactly when it holds one series.
        #[test]
        fn behaves_like_a_bitmap(ops in proptest::collection::vec((any::<bool>(), 0u32..8), 0..60)) {
            let (mut postings, mut model) = (Postings::default(), RoaringBitmap::new());
            for (insert, r) in ops {
                if insert {
                    postings.insert(r);
                    model.insert(r);
                } else {
                    postings.remove(r);
                    model.remove(r);
                }
                prop_assert_eq!(&*postings.bitmap(), &model);
                prop_assert_eq!(postings.len(), model.len());
                prop_assert_eq!(postings.max(), model.max());
                prop_assert_eq!(matches!(postings, Postings::One(_)), model.len() == 1);
                prop_assert_eq!(matches!(postings, Postings::Empty), model.is_empty());
                let probe = RoaringBitmap::from_iter([1u32, 3, 5]);
                prop_assert_eq!(postings.is_disjoint(&probe), model.is_disjoint(&probe));
                prop_assert_eq!(postings.intersection_len(&probe), model.intersection_len(&probe));
            }
        }

        #[test]
        fn union_equals_the_union_of_bitmaps(sets in proptest::collection::vec(proptest::collection::vec(0u32..50, 0..4), 0..8)) {
            let postings: Vec<Postings> = sets.iter().map(|s| Postings::from(RoaringBitmap::from_iter(s.iter().copied()))).collect();
            let want: RoaringBitmap = sets.iter().flatten().copied().collect();
            prop_assert_eq!(union(&postings), want);
        }
    }
}
