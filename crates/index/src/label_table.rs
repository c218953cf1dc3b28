//! Label names, their values, and the postings of each `name=value`.
//!
//! Every distinct label name gets a dense [`NameId`], and within a name every distinct
//! value gets a dense value id; the pair is what a series stores, so strings are kept once.
//! Postings are roaring bitmaps of series refs, one per `name=value`. A value whose
//! postings became empty (its series were deleted) keeps its id; readers skip empty ones.
//!
//! The string maps use foldhash: several times faster than std's SipHash on short strings
//! (interning is on the path of every new series), and still randomly seeded, so label
//! values sent by a hostile client cannot be chosen to collide.

use std::collections::HashMap;

use foldhash::fast::RandomState;

use roaring::RoaringBitmap;

/// Dense id of a label name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct NameId(pub(crate) u32);

/// One label name with its values and their postings.
#[derive(Debug, Default)]
pub(crate) struct LabelName {
    pub(crate) name: Box<str>,
    value_ids: HashMap<Box<str>, u32, RandomState>,
    /// Values by value id.
    values: Vec<Box<str>>,
    /// Postings by value id.
    postings: Vec<RoaringBitmap>,
}

impl LabelName {
    fn new(name: &str) -> Self {
        LabelName { name: name.into(), ..Default::default() }
    }

    /// The id of `value`, creating it if new.
    pub(crate) fn value_id_or_insert(&mut self, value: &str) -> u32 {
        if let Some(&id) = self.value_ids.get(value) {
            return id;
        }
        let id = self.values.len() as u32;
        self.values.push(value.into());
        self.value_ids.insert(value.into(), id);
        self.postings.push(RoaringBitmap::new());
        id
    }

    pub(crate) fn value_id(&self, value: &str) -> Option<u32> {
        self.value_ids.get(value).copied()
    }

    pub(crate) fn value(&self, id: u32) -> &str {
        &self.values[id as usize]
    }

    pub(crate) fn postings(&self, id: u32) -> &RoaringBitmap {
        &self.postings[id as usize]
    }

    pub(crate) fn postings_mut(&mut self, id: u32) -> &mut RoaringBitmap {
        &mut self.postings[id as usize]
    }

    /// `(value, postings)` of every value that still has series.
    pub(crate) fn live_values(&self) -> impl Iterator<Item = (&str, &RoaringBitmap)> {
        self.values.iter().zip(&self.postings).filter(|(_, p)| !p.is_empty()).map(|(v, p)| (&**v, p))
    }

    /// Number of values ever seen (including those now without series).
    pub(crate) fn value_count(&self) -> usize {
        self.values.len()
    }

    /// Approximate heap bytes.
    pub(crate) fn heap_bytes(&self) -> usize {
        let strings: usize = self.values.iter().map(|v| v.len()).sum();
        let postings: usize = self.postings.iter().map(|p| p.serialized_size() + 16).sum();
        // Each value: the string twice (vector and map key), a map slot, a postings header.
        strings * 2 + self.values.len() * (16 + 16 + 8 + std::mem::size_of::<RoaringBitmap>()) + postings
    }
}

/// All label names.
#[derive(Debug, Default)]
pub(crate) struct LabelTable {
    ids: HashMap<Box<str>, NameId, RandomState>,
    names: Vec<LabelName>,
    /// The name ids of the last series interned, by position: series mostly carry the
    /// same names in the same order, and a string compare against a hot entry is cheaper
    /// than a hash lookup that chases pointers.
    last_layout: Vec<NameId>,
}

impl LabelTable {
    /// The id of the `position`-th label name of a series, creating it if new.
    pub(crate) fn name_id_at(&mut self, position: usize, name: &str) -> NameId {
        if let Some(&id) = self.last_layout.get(position) {
            if *self.names[id.0 as usize].name == *name {
                return id;
            }
        }
        let id = self.name_id_or_insert(name);
        if position < self.last_layout.len() {
            self.last_layout[position] = id;
        } else if position == self.last_layout.len() {
            self.last_layout.push(id);
        }
        id
    }

    pub(crate) fn name_id_or_insert(&mut self, name: &str) -> NameId {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = NameId(self.names.len() as u32);
        self.names.push(LabelName::new(name));
        self.ids.insert(name.into(), id);
        id
    }

    pub(crate) fn name_id(&self, name: &str) -> Option<NameId> {
        self.ids.get(name).copied()
    }

    pub(crate) fn get(&self, id: NameId) -> &LabelName {
        &self.names[id.0 as usize]
    }

    pub(crate) fn get_mut(&mut self, id: NameId) -> &mut LabelName {
        &mut self.names[id.0 as usize]
    }

    pub(crate) fn by_name(&self, name: &str) -> Option<&LabelName> {
        self.name_id(name).map(|id| self.get(id))
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &LabelName> {
        self.names.iter()
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.names.iter().map(|n| n.heap_bytes() + n.name.len() * 2 + 64).sum()
    }
}
