//! The labels of every series, compactly, and the lookup from labels to series ref.
//!
//! A series' labels are stored as uvarint pairs `(name id, value id)` in one byte arena, in
//! the label set's order (sorted by name), behind a uvarint count: typically 3–4 bytes a
//! label instead of two strings. `offsets[r]..offsets[r + 1]` is series `r`'s slice.
//!
//! Lookup by labels goes through the stable 64-bit hash ([`Labels::stable_hash`]): a map
//! from hash to series ref, plus a side table for the rare hashes shared by two label sets;
//! a hit is confirmed by comparing the stored labels. The hash is already uniform, so the
//! map uses it as is instead of hashing it again.
//!
//! Refs are dense and never reused: a deleted series keeps its slice (the arena is not
//! compacted), so a ref held elsewhere can never come to mean another series.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use strata_codec::varint::{put_uvarint, read_uvarint};
use strata_model::{Label, Labels, SeriesHash};

use crate::label_table::{LabelTable, NameId};
use crate::{IndexError, Result, SeriesRef};

/// Passes a `u64` key through: the keys are already hashes.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed; fold anything else in so the hasher stays correct.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type HashToRef = HashMap<u64, SeriesRef, BuildHasherDefault<IdentityHasher>>;

#[derive(Debug, Default)]
pub(crate) struct SeriesStore {
    arena: Vec<u8>,
    /// `offsets[r]` is where series `r` starts; one more entry than there are series.
    offsets: Vec<u32>,
    by_hash: HashToRef,
    /// Series whose hash collides with the one in `by_hash`.
    collisions: HashMap<u64, Vec<SeriesRef>>,
}

impl SeriesStore {
    pub(crate) fn new() -> Self {
        SeriesStore { offsets: vec![0], ..Default::default() }
    }

    /// Number of refs handed out (deleted series included).
    pub(crate) fn len(&self) -> u32 {
        (self.offsets.len() - 1) as u32
    }

    /// The series with exactly `labels`, if any.
    pub(crate) fn find(&self, labels: &Labels, hash: u64, table: &LabelTable) -> Option<SeriesRef> {
        let first = *self.by_hash.get(&hash)?;
        if self.equals(first, labels, table) {
            return Some(first);
        }
        self.collisions.get(&hash)?.iter().copied().find(|&r| self.equals(r, labels, table))
    }

    /// Stores the labels of a new series (the caller checked it is new).
    pub(crate) fn push(&mut self, pairs: &[(NameId, u32)], hash: u64) -> Result<SeriesRef> {
        let r = SeriesRef(self.len());
        put_uvarint(&mut self.arena, pairs.len() as u64);
        for &(name, value) in pairs {
            put_uvarint(&mut self.arena, u64::from(name.0));
            put_uvarint(&mut self.arena, u64::from(value));
        }
        let end =
            u32::try_from(self.arena.len()).map_err(|_| IndexError::Full("label arena exceeds 4 GiB"))?;
        self.offsets.push(end);
        self.map(hash, r);
        Ok(r)
    }

    fn map(&mut self, hash: u64, r: SeriesRef) {
        match self.by_hash.entry(hash) {
            Entry::Vacant(slot) => {
                slot.insert(r);
            }
            Entry::Occupied(_) => self.collisions.entry(hash).or_default().push(r),
        }
    }

    /// Forgets the lookup entry of a deleted series (its labels stay readable).
    pub(crate) fn unmap(&mut self, hash: u64, r: SeriesRef) {
        if self.by_hash.get(&hash) == Some(&r) {
            self.by_hash.remove(&hash);
            if let Some(mut others) = self.collisions.remove(&hash) {
                let promoted = others.remove(0);
                self.by_hash.insert(hash, promoted);
                if !others.is_empty() {
                    self.collisions.insert(hash, others);
                }
            }
        } else if let Some(others) = self.collisions.get_mut(&hash) {
            others.retain(|&o| o != r);
            if others.is_empty() {
                self.collisions.remove(&hash);
            }
        }
    }

    /// The `(name id, value id)` pairs of series `r`, in label order.
    pub(crate) fn pairs(&self, r: SeriesRef) -> impl Iterator<Item = (NameId, u32)> + '_ {
        let start = self.offsets[r.0 as usize] as usize;
        let mut pos = start;
        // The arena is written only by `push`, so its varints are well-formed.
        let count = read_uvarint(&self.arena, &mut pos).unwrap_or(0);
        (0..count).map_while(move |_| {
            let name = read_uvarint(&self.arena, &mut pos).ok()?;
            let value = read_uvarint(&self.arena, &mut pos).ok()?;
            Some((NameId(name as u32), value as u32))
        })
    }

    pub(crate) fn labels(&self, r: SeriesRef, table: &LabelTable) -> Labels {
        let pairs = self.pairs(r).map(|(n, v)| {
            let name = table.get(n);
            (name.name.to_string(), name.value(v).to_string())
        });
        // Stored labels came from a valid `Labels`, in order: rebuilding cannot fail.
        Labels::from_pairs(pairs).unwrap_or_default()
    }

    /// The stable hash of series `r`'s labels, computed from the stored pairs.
    pub(crate) fn hash_of(&self, r: SeriesRef, table: &LabelTable) -> u64 {
        let pairs = self.pairs(r).map(|(n, v)| {
            let name = table.get(n);
            (&*name.name, name.value(v))
        });
        SeriesHash::of_pairs(pairs).0
    }

    fn equals(&self, r: SeriesRef, labels: &Labels, table: &LabelTable) -> bool {
        let mut stored = self.pairs(r);
        let mut given = labels.iter();
        loop {
            match (stored.next(), given.next()) {
                (None, None) => return true,
                (Some((n, v)), Some(Label { name, value })) => {
                    let entry = table.get(n);
                    if *entry.name != **name || entry.value(v) != value {
                        return false;
                    }
                }
                _ => return false,
            }
        }
    }

    /// The arena, for persistence.
    pub(crate) fn arena(&self) -> &[u8] {
        &self.arena
    }

    /// Rebuilds a store from a persisted arena (the lookup is filled in by `remap`).
    pub(crate) fn from_arena(arena: Vec<u8>) -> std::result::Result<Self, (usize, String)> {
        let mut offsets = vec![0u32];
        let mut pos = 0;
        while pos < arena.len() {
            let at = pos;
            let count = read_uvarint(&arena, &mut pos).map_err(|e| (at, e.to_string()))?;
            for _ in 0..count.saturating_mul(2) {
                read_uvarint(&arena, &mut pos).map_err(|e| (pos, e.to_string()))?;
            }
            let end = u32::try_from(pos).map_err(|_| (pos, "label arena exceeds 4 GiB".to_string()))?;
            offsets.push(end);
        }
        Ok(SeriesStore { arena, offsets, by_hash: HashToRef::default(), collisions: HashMap::new() })
    }

    /// Adds the lookup entry of a loaded series.
    pub(crate) fn remap(&mut self, hash: u64, r: SeriesRef) {
        self.map(hash, r);
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.arena.capacity()
            + self.offsets.capacity() * 4
            // hashbrown: key + value + control byte per bucket, buckets ≥ len / 0.875.
            + self.by_hash.capacity() * 8 / 7 * (8 + 4 + 1)
            + self.collisions.len() * 64
    }
}
