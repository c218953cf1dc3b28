//! The index on disk: one file, written whole and replaced atomically.
//!
//! | field | encoding |
//! |---|---|
//! | magic | `STIX`, then version `1` and three zero bytes |
//! | names | uvarint count; per name: uvarint-length string, uvarint value count, then per value a uvarint-length string and its postings (uvarint byte length + roaring's portable serialization) |
//! | series | uvarint number of refs handed out; uvarint arena length + the label arena (see `series_store`) |
//! | live | uvarint byte length + roaring bitmap of live refs |
//! | checksum | `BE32` CRC-32C of everything before it |
//!
//! Writing goes to `<file>.tmp`, is fsynced, then renamed over the file, so a crash leaves
//! the old index or the new one. Reading maps the file (no copy of the bytes before the
//! checksum is known good), checks the CRC, then checks every id against the tables it
//! refers to: a damaged file is an error naming the byte, never a panic. The hash lookup
//! is rebuilt from the labels rather than stored.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use roaring::RoaringBitmap;
use strata_codec::varint::{put_uvarint, read_uvarint};

use crate::index::Inner;
use crate::label_table::LabelTable;
use crate::series_store::SeriesStore;
use crate::{IndexError, Result, SeriesIndex, SeriesRef};

const MAGIC: [u8; 8] = *b"STIX\x01\0\0\0";

impl SeriesIndex {
    /// Writes the whole index to `path` atomically; returns the file's size.
    pub fn write_to(&self, path: &Path) -> Result<u64> {
        let bytes = encode(&self.read());
        let tmp = path.with_extension("tmp");
        let io = |op| move |source| IndexError::Io { op, path: path.to_path_buf(), source };
        let mut file = File::create(&tmp).map_err(io("creating"))?;
        file.write_all(&bytes).map_err(io("writing"))?;
        file.sync_all().map_err(io("syncing"))?;
        std::fs::rename(&tmp, path).map_err(io("renaming into place"))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir).and_then(|d| d.sync_all()).map_err(io("syncing the directory of"))?;
        }
        Ok(bytes.len() as u64)
    }

    /// Loads an index written by [`SeriesIndex::write_to`]; series can be added after.
    pub fn open(path: &Path) -> Result<SeriesIndex> {
        let file =
            File::open(path).map_err(|source| IndexError::Io { op: "opening", path: path.into(), source })?;
        // SAFETY: the map is read-only and dropped before this function returns; the bytes
        // are only read through a checked cursor. Another process truncating the file
        // meanwhile could fault, as with any mmap reader; index files are written whole
        // and renamed into place, never modified in place. Exercised by the persistence tests.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|source| IndexError::Io {
            op: "mapping",
            path: path.into(),
            source,
        })?;
        decode(&map, path).map(SeriesIndex::from_inner)
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_uvarint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn put_bitmap(out: &mut Vec<u8>, bitmap: &RoaringBitmap) {
    put_uvarint(out, bitmap.serialized_size() as u64);
    // Writing into a Vec cannot fail.
    let _ = bitmap.serialize_into(&mut *out);
}

fn encode(inner: &Inner) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    put_uvarint(&mut out, inner.table.len() as u64);
    for label in inner.table.iter() {
        put_bytes(&mut out, label.name.as_bytes());
        put_uvarint(&mut out, label.value_count() as u64);
        for id in 0..label.value_count() as u32 {
            put_bytes(&mut out, label.value(id).as_bytes());
            put_bitmap(&mut out, &label.postings(id).bitmap());
        }
    }
    put_uvarint(&mut out, u64::from(inner.series.len()));
    put_bytes(&mut out, inner.series.arena());
    put_bitmap(&mut out, &inner.all);
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// A checked reader over the file's bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Cursor<'a> {
    fn corrupt(&self, detail: impl Into<String>) -> IndexError {
        IndexError::Corrupt { path: PathBuf::from(self.path), offset: self.pos, detail: detail.into() }
    }

    fn uvarint(&mut self, what: &str) -> Result<u64> {
        read_uvarint(self.bytes, &mut self.pos).map_err(|e| self.corrupt(format!("{what}: {e}")))
    }

    fn len(&mut self, what: &str) -> Result<usize> {
        let n = self.uvarint(what)?;
        let left = self.bytes.len() - self.pos;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= left)
            .ok_or_else(|| self.corrupt(format!("{what} of {n} overruns the file")))
    }

    fn bytes(&mut self, what: &str) -> Result<&'a [u8]> {
        let n = self.len(what)?;
        let slice = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    fn string(&mut self, what: &str) -> Result<&'a str> {
        let at = self.pos;
        let bytes = self.bytes(what)?;
        std::str::from_utf8(bytes).map_err(|e| IndexError::Corrupt {
            path: PathBuf::from(self.path),
            offset: at,
            detail: format!("{what} is not UTF-8: {e}"),
        })
    }

    fn bitmap(&mut self, what: &str) -> Result<RoaringBitmap> {
        let at = self.pos;
        let bytes = self.bytes(what)?;
        RoaringBitmap::deserialize_from(bytes).map_err(|e| IndexError::Corrupt {
            path: PathBuf::from(self.path),
            offset: at,
            detail: format!("{what}: {e}"),
        })
    }
}

fn decode(bytes: &[u8], path: &Path) -> Result<Inner> {
    let mut c = Cursor { bytes, pos: 0, path };
    if bytes.len() < MAGIC.len() + 4 || bytes[..4] != MAGIC[..4] {
        return Err(c.corrupt("not a Strata index file (bad magic or too short)"));
    }
    if bytes[4..8] != MAGIC[4..8] {
        return Err(c.corrupt(format!("unsupported version {}", bytes[4])));
    }
    let body_end = bytes.len() - 4;
    let stored =
        u32::from_be_bytes([bytes[body_end], bytes[body_end + 1], bytes[body_end + 2], bytes[body_end + 3]]);
    if crc32c::crc32c(&bytes[..body_end]) != stored {
        c.pos = body_end;
        return Err(c.corrupt("checksum mismatch"));
    }
    c.bytes = &bytes[..body_end];
    c.pos = MAGIC.len();

    let mut table = LabelTable::default();
    let names = c.len("label name count")?;
    for _ in 0..names {
        let name = c.string("label name")?;
        if table.name_id(name).is_some() {
            return Err(c.corrupt(format!("label name {name:?} appears twice")));
        }
        let id = table.name_id_or_insert(name);
        let values = c.len("value count")?;
        for expected in 0..values as u32 {
            let value = c.string("label value")?;
            let label = table.get_mut(id);
            if label.value_id_or_insert(value) != expected {
                return Err(c.corrupt(format!("value {value:?} of {name:?} appears twice")));
            }
            *label.postings_mut(expected) = crate::postings::Postings::from(c.bitmap("postings")?);
        }
    }
    let refs = c.uvarint("series count")?;
    let arena_at = c.pos;
    let arena = c.bytes("label arena")?.to_vec();
    let mut series = SeriesStore::from_arena(arena).map_err(|(offset, detail)| IndexError::Corrupt {
        path: path.into(),
        offset: arena_at + offset,
        detail,
    })?;
    if u64::from(series.len()) != refs {
        return Err(c.corrupt(format!("{refs} series announced, the label arena holds {}", series.len())));
    }
    let all = c.bitmap("live series")?;
    if c.pos != c.bytes.len() {
        return Err(c.corrupt("bytes left over before the checksum"));
    }
    check_refs(&table, &series, &all).map_err(|detail| c.corrupt(detail))?;
    for r in all.iter().map(SeriesRef) {
        let hash = series.hash_of(r, &table);
        series.remap(hash, r);
    }
    Ok(Inner { table, series, all })
}

/// Every id the file holds refers to something that exists.
fn check_refs(
    table: &LabelTable,
    series: &SeriesStore,
    all: &RoaringBitmap,
) -> std::result::Result<(), String> {
    if all.max().is_some_and(|m| m >= series.len()) {
        return Err("a live series ref is beyond the series table".into());
    }
    for r in (0..series.len()).map(SeriesRef) {
        let mut previous: Option<&str> = None;
        for (name, value) in series.pairs(r) {
            if name.0 as usize >= table.len() || value as usize >= table.get(name).value_count() {
                return Err(format!("series {} refers to a label that does not exist", r.0));
            }
            let n = &*table.get(name).name;
            if previous.is_some_and(|p| p >= n) {
                return Err(format!("labels of series {} are not sorted by name", r.0));
            }
            previous = Some(n);
        }
    }
    for label in table.iter() {
        for (_, postings) in label.live_values() {
            if postings.max().is_some_and(|m| m >= series.len()) {
                return Err(format!("postings of {:?} refer to a series beyond the table", label.name));
            }
        }
    }
    Ok(())
}
