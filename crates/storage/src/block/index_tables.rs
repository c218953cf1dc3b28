//! The two tables a block reader keeps from its index for as long as the block is open —
//! the symbols and the postings offset table — held as positions into the mapped index,
//! not as copies of their strings.
//!
//! Copied, a table cost about 100 heap bytes per label pair (two `String`s and a hash map
//! slot) and a symbol about 40: a block of a million series with an `instance`-like label
//! held ~150 MB on the heap, for every open block (found by `scripts/bench-series-churn.py`:
//! with the head bounded, RSS still grew with each block). As positions, a pair costs 24
//! bytes and a symbol 8; the strings stay in the mapped file (page cache, not heap).
//! Prometheus keeps only every 32nd postings table entry for the same reason.
//!
//! Every string is checked (bounds, UTF-8) when the table is read, so reading one later
//! cannot fail on a well-formed map; the lookups still return `None` rather than panic.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::path::Path;

use strata_codec::varint::read_uvarint;

use super::reader::{corrupt, string};
use crate::StorageError;

/// The string whose uvarint length starts at byte `at` of `index`.
fn str_at(index: &[u8], at: u64) -> Option<&str> {
    let mut pos = usize::try_from(at).ok()?;
    let len = read_uvarint(index, &mut pos).ok()? as usize;
    std::str::from_utf8(index.get(pos..pos.checked_add(len)?)?).ok()
}

/// The symbol table: symbol `i` is the string at `at[i]`.
#[derive(Debug, Default)]
pub(super) struct Symbols {
    at: Vec<u64>,
    /// Format v1 refers to symbols by byte offset (relative to the table): offset → index.
    by_offset: HashMap<u64, usize>,
}

impl Symbols {
    /// Reads the table whose body (after its length) starts at byte `body_at` of the index.
    pub(super) fn read(body: &[u8], body_at: usize, version: u8, path: &Path) -> Result<Self, StorageError> {
        let count = super::reader::be32(body, 0).unwrap_or(0) as usize;
        let mut symbols =
            Symbols { at: Vec::with_capacity(count.min(body.len())), by_offset: HashMap::new() };
        let mut pos = 4;
        for i in 0..count {
            let start = pos;
            string(body, &mut pos, path, body_at)?;
            symbols.at.push((body_at + start) as u64);
            if version == 1 {
                symbols.by_offset.insert((body_at + start) as u64, i);
            }
        }
        Ok(symbols)
    }

    /// Symbol `r` (a position in v2, a byte offset in v1).
    pub(super) fn get<'i>(&self, index: &'i [u8], r: u64, version: u8) -> Option<&'i str> {
        let i = if version >= 2 { usize::try_from(r).ok()? } else { *self.by_offset.get(&r)? };
        str_at(index, *self.at.get(i)?)
    }
}

/// One postings table entry: where its name and value strings are, and where its postings
/// list is.
#[derive(Debug, Clone, Copy)]
struct Entry {
    name: u64,
    value: u64,
    list: u64,
}

/// The postings offset table, sorted by (name, value) for binary search.
#[derive(Debug, Default)]
pub(super) struct PostingsTable {
    entries: Vec<Entry>,
}

impl PostingsTable {
    /// Reads the table whose body (after its length) starts at `body_at` in `index`.
    pub(super) fn read(index: &[u8], body: &[u8], body_at: usize, path: &Path) -> Result<Self, StorageError> {
        let count = super::reader::be32(body, 0).unwrap_or(0) as usize;
        let mut entries = Vec::with_capacity(count.min(body.len()));
        let mut pos = 4;
        for _ in 0..count {
            let bad = |pos: usize, d: String| corrupt(path, (body_at + pos) as u64, d);
            let n = read_uvarint(body, &mut pos).map_err(|e| bad(pos, e.to_string()))?;
            if n != 2 {
                return Err(bad(pos, format!("postings key of {n} strings, want 2")));
            }
            let name = (body_at + pos) as u64;
            string(body, &mut pos, path, body_at)?;
            let value = (body_at + pos) as u64;
            string(body, &mut pos, path, body_at)?;
            let list = read_uvarint(body, &mut pos).map_err(|e| bad(pos, e.to_string()))?;
            entries.push(Entry { name, value, list });
        }
        let mut table = PostingsTable { entries };
        // Prometheus writes v2 tables sorted; v1 tables are not.
        let key = |e: &Entry| (str_at(index, e.name), str_at(index, e.value));
        if !table.entries.windows(2).all(|w| key(&w[0]) <= key(&w[1])) {
            table.entries.sort_by(|a, b| key(a).cmp(&key(b)));
        }
        Ok(table)
    }

    /// Where the postings list of `name="value"` is, if the block has the pair.
    pub(super) fn find(&self, index: &[u8], name: &str, value: &str) -> Option<u64> {
        let probe = |e: &Entry| -> Ordering {
            let here = (str_at(index, e.name).unwrap_or(""), str_at(index, e.value).unwrap_or(""));
            here.cmp(&(name, value))
        };
        self.entries.binary_search_by(probe).ok().map(|i| self.entries[i].list)
    }

    /// Every pair with where its list is, in (name, value) order.
    pub(super) fn pairs<'i>(&'i self, index: &'i [u8]) -> impl Iterator<Item = (&'i str, &'i str, u64)> + 'i {
        self.entries
            .iter()
            .filter_map(move |e| Some((str_at(index, e.name)?, str_at(index, e.value)?, e.list)))
    }
}
