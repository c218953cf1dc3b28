//! The labels of every series, compactly, and the lookup from labels to series ref.
//!
//! A series' labels are stored as uvarint pairs `(name id, value id)` in one byte arena, in
//! the label set's order (sorted by name), behind a uvarint count: typically 3–4 bytes a
//! label instead of two strings. `offsets[r]..offsets[r + 1]` is series `r`'s slice.
//!
//! Lookup by labels goes through the stable 64-bit hash ([`Labels::stable_hash`]): a table
//! of `(ref, fingerprint)` entries, the fingerprint being the hash's high 32 bits, placed
//! by the fingerprint (already uniform, so not hashed again). A candidate whose
//! fingerprint matches is confirmed by comparing the stored labels, so label sets that
//! share a fingerprint (or a whole hash) simply sit side by side in the table. An entry is
//! 8 bytes and a control byte: at a million series 19 MB, where a map from the whole hash
//! to the ref took 35 (16-byte entries) and needed a side table for shared hashes.
//!
//! Refs are dense and never reused: a deleted series keeps its slice (the arena is not
//! compacted), so a ref held elsewhere can never come to mean another series.

use strata_codec::varint::{put_uvarint, read_uvarint};
use strata_model::{Label, Labels, SeriesHash};

use crate::label_table::{LabelTable, NameId};
use crate::{IndexError, Result, SeriesRef};

/// A series' place in the lookup: its ref and the high 32 bits of its labels' hash.
type Entry = (u32, u32);

/// The fingerprint of a labels' hash, and where the table files it: the high bits, spread
/// over 64 again (hashbrown reads its control bits from the top and its bucket from the
/// bottom).
fn fingerprint(hash: u64) -> (u32, u64) {
    let fp = (hash >> 32) as u32;
    (fp, spread(fp))
}

fn spread(fp: u32) -> u64 {
    u64::from(fp).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[derive(Debug, Default)]
pub(crate) struct SeriesStore {
    arena: Vec<u8>,
    /// `offsets[r]` is where series `r` starts; one more entry than there are series.
    offsets: Vec<u32>,
    /// See the module docs.
    by_hash: hashbrown::HashTable<Entry>,
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
        let (fp, spread_fp) = fingerprint(hash);
        self.by_hash
            .find(spread_fp, |&(r, f)| f == fp && self.equals(SeriesRef(r), labels, table))
            .map(|&(r, _)| SeriesRef(r))
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
        let (fp, spread_fp) = fingerprint(hash);
        self.by_hash.insert_unique(spread_fp, (r.0, fp), |&(_, f)| spread(f));
    }

    /// Forgets the lookup entry of a deleted series (its labels stay readable).
    pub(crate) fn unmap(&mut self, hash: u64, r: SeriesRef) {
        let (_, spread_fp) = fingerprint(hash);
        if let Ok(entry) = self.by_hash.find_entry(spread_fp, |&(stored, _)| stored == r.0) {
            entry.remove();
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
        Ok(SeriesStore { arena, offsets, by_hash: hashbrown::HashTable::new() })
    }

    /// Adds the lookup entry of a loaded series.
    pub(crate) fn remap(&mut self, hash: u64, r: SeriesRef) {
        self.map(hash, r);
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.arena.capacity()
            + self.offsets.capacity() * 4
            // hashbrown: an entry and a control byte per bucket, buckets ≥ len / 0.875.
            + self.by_hash.capacity() * 8 / 7 * (std::mem::size_of::<Entry>() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intern(table: &mut LabelTable, labels: &Labels) -> Vec<(NameId, u32)> {
        labels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let name = table.name_id_at(i, &l.name);
                (name, table.get_mut(name).value_id_or_insert(&l.value))
            })
            .collect()
    }

    /// Label sets given one hash (and so one fingerprint) are each found as themselves,
    /// and forgetting one leaves the others found.
    #[test]
    fn series_sharing_a_hash_are_told_apart_by_their_labels() {
        let mut table = LabelTable::default();
        let mut store = SeriesStore::new();
        let sets: Vec<Labels> =
            (0..5).map(|i| Labels::from_pairs([("job", "a"), ("pod", &*format!("p{i}"))]).unwrap()).collect();
        let shared = 0xDEAD_BEEF_0000_0001;
        let refs: Vec<SeriesRef> = sets
            .iter()
            .map(|l| {
                let pairs = intern(&mut table, l);
                store.push(&pairs, shared).unwrap()
            })
            .collect();
        for (l, &r) in sets.iter().zip(&refs) {
            assert_eq!(store.find(l, shared, &table), Some(r));
        }
        let other = Labels::from_pairs([("job", "b")]).unwrap();
        assert_eq!(store.find(&other, shared, &table), None);
        store.unmap(shared, refs[2]);
        assert_eq!(store.find(&sets[2], shared, &table), None);
        for i in [0, 1, 3, 4] {
            assert_eq!(store.find(&sets[i], shared, &table), Some(refs[i]));
        }
        assert_eq!(store.labels(refs[2], &table), sets[2], "a forgotten series' labels stay readable");
    }
}
