//! Label names, their values, and the postings of each `name=value`.
//!
//! Every distinct label name gets a dense [`NameId`], and within a name every distinct
//! value gets a dense value id; the pair is what a series stores, so strings are kept once.
//! Postings are sets of series refs, one per `name=value` (`postings`: inline for a single
//! series, else a roaring bitmap). A value whose
//! postings became empty (its series were deleted) keeps its id; readers skip empty ones.
//!
//! A value's string is stored once: the lookup table holds value ids and hashes the
//! strings they point to (hashbrown's `HashTable`), instead of a second copy as map key.
//! The strings of one name lie end to end in one buffer ([`ValueStrings`]): a value costs
//! its bytes and an 8-byte end, where a boxed string cost a 16-byte pointer and an
//! allocation of its own.
//!
//! The string maps use foldhash: several times faster than std's SipHash on short strings
//! (interning is on the path of every new series), and still randomly seeded, so label
//! values sent by a hostile client cannot be chosen to collide.

use std::collections::HashMap;
use std::hash::BuildHasher;

use foldhash::fast::RandomState;

use crate::postings::Postings;

/// Dense id of a label name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct NameId(pub(crate) u32);

/// One label name with its values and their postings.
#[derive(Debug, Default)]
pub(crate) struct LabelName {
    pub(crate) name: Box<str>,
    /// Value ids, found by their value's hash (the strings live in `values` only).
    value_ids: hashbrown::HashTable<u32>,
    hasher: RandomState,
    /// Values by value id.
    values: ValueStrings,
    /// Postings by value id.
    postings: Vec<Postings>,
}

impl LabelName {
    fn new(name: &str) -> Self {
        LabelName { name: name.into(), ..Default::default() }
    }

    /// The id of `value`, creating it if new.
    pub(crate) fn value_id_or_insert(&mut self, value: &str) -> u32 {
        if let Some(id) = self.value_id(value) {
            return id;
        }
        let id = self.values.len() as u32;
        self.values.push(value);
        let LabelName { value_ids, values, hasher, .. } = self;
        let hash = hasher.hash_one(value);
        value_ids.insert_unique(hash, id, |&id| hasher.hash_one(values.get(id)));
        self.postings.push(Postings::default());
        id
    }

    pub(crate) fn value_id(&self, value: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(value);
        self.value_ids.find(hash, |&id| self.values.get(id) == value).copied()
    }

    pub(crate) fn value(&self, id: u32) -> &str {
        self.values.get(id)
    }

    pub(crate) fn postings(&self, id: u32) -> &Postings {
        &self.postings[id as usize]
    }

    pub(crate) fn postings_mut(&mut self, id: u32) -> &mut Postings {
        &mut self.postings[id as usize]
    }

    /// `(value, postings)` of every value that still has series.
    pub(crate) fn live_values(&self) -> impl Iterator<Item = (&str, &Postings)> {
        self.values.iter().zip(&self.postings).filter(|(_, p)| !p.is_empty())
    }

    /// Number of values ever seen (including those now without series).
    pub(crate) fn value_count(&self) -> usize {
        self.values.len()
    }

    /// Approximate heap bytes.
    pub(crate) fn heap_bytes(&self) -> usize {
        let postings: usize = self.postings.iter().map(Postings::heap_bytes).sum();
        // Each value: its string and end, a table slot (id and control byte, at most 8/7
        // full), its postings.
        self.values.heap_bytes()
            + self.value_ids.capacity() * 5
            + self.values.len() * std::mem::size_of::<Postings>()
            + postings
    }
}

/// The value strings of one label name, end to end, by value id.
#[derive(Debug, Default)]
struct ValueStrings {
    text: String,
    /// Where each value ends in `text` (it starts where the previous one ends).
    ends: Vec<u64>,
}

impl ValueStrings {
    fn push(&mut self, value: &str) {
        self.text.push_str(value);
        self.ends.push(self.text.len() as u64);
    }

    fn get(&self, id: u32) -> &str {
        let id = id as usize;
        let start = if id == 0 { 0 } else { self.ends[id - 1] as usize };
        &self.text[start..self.ends[id] as usize]
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.ends.len() as u32).map(|id| self.get(id))
    }

    fn heap_bytes(&self) -> usize {
        self.text.capacity() + self.ends.capacity() * 8
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
