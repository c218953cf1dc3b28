//! The `tombstones` file: deleted time ranges of a block's series, which reads hide.
//!
//! Prometheus' format (its `tsdb/tombstones`; ../shared/specs/prom-format-notes.md §5):
//! `BE32` magic `0x0130BA30`, version `u8 1`, then one entry per deleted interval —
//! `uvarint` series ref (the index's ref), `varint` mint, `varint` maxt, both inclusive —
//! then a `BE32` CRC-32C of the entries. No file, or the 9-byte empty one, means none.
//!
//! The file is replaced whole: written to `tombstones.tmp`, fsynced, renamed, and the
//! directory fsynced, so a crash leaves the old set or the new one.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use strata_codec::varint::{put_uvarint, put_varint, read_uvarint, read_varint};

use crate::StorageError;

const MAGIC: u32 = 0x0130_BA30;

/// Deleted intervals `[mint, maxt]` by series ref, sorted and merged.
pub type Tombstones = BTreeMap<u64, Vec<(i64, i64)>>;

/// The bytes of a tombstones file with no entries.
pub(crate) fn empty_file() -> Vec<u8> {
    encode(&Tombstones::new())
}

/// The file's bytes for `stones`.
pub(crate) fn encode(stones: &Tombstones) -> Vec<u8> {
    let mut entries = Vec::new();
    for (&r, intervals) in stones {
        for &(mint, maxt) in intervals {
            put_uvarint(&mut entries, r);
            put_varint(&mut entries, mint);
            put_varint(&mut entries, maxt);
        }
    }
    let mut out = MAGIC.to_be_bytes().to_vec();
    out.push(1);
    out.extend_from_slice(&entries);
    out.extend_from_slice(&crc32c::crc32c(&entries).to_be_bytes());
    out
}

fn corrupt(path: &Path, offset: usize, detail: impl Into<String>) -> StorageError {
    StorageError::Corrupt { path: path.to_path_buf(), offset: offset as u64, detail: detail.into() }
}

/// Parses a tombstones file (`path` names it in errors).
pub(crate) fn decode(bytes: &[u8], path: &Path) -> Result<Tombstones, StorageError> {
    if bytes.len() < 9 {
        return Err(corrupt(path, 0, format!("{} bytes, shorter than the 9 of an empty file", bytes.len())));
    }
    if bytes[..4] != MAGIC.to_be_bytes() {
        return Err(corrupt(path, 0, "not a tombstones file (bad magic)"));
    }
    if bytes[4] != 1 {
        return Err(corrupt(path, 4, format!("unsupported tombstones version {}", bytes[4])));
    }
    let entries = &bytes[5..bytes.len() - 4];
    let crc = u32::from_be_bytes([
        bytes[bytes.len() - 4],
        bytes[bytes.len() - 3],
        bytes[bytes.len() - 2],
        bytes[bytes.len() - 1],
    ]);
    if crc32c::crc32c(entries) != crc {
        return Err(corrupt(path, bytes.len() - 4, "checksum mismatch"));
    }
    let mut stones = Tombstones::new();
    let mut pos = 0;
    while pos < entries.len() {
        let at = pos + 5;
        let bad = |e: strata_codec::CodecError| corrupt(path, at, format!("entry: {e}"));
        let r = read_uvarint(entries, &mut pos).map_err(bad)?;
        let mint = read_varint(entries, &mut pos).map_err(bad)?;
        let maxt = read_varint(entries, &mut pos).map_err(bad)?;
        add(&mut stones, r, mint, maxt);
    }
    Ok(stones)
}

/// Adds `[mint, maxt]` to series `r`'s intervals, merging those it overlaps or touches.
pub(crate) fn add(stones: &mut Tombstones, r: u64, mint: i64, maxt: i64) {
    if mint > maxt {
        return;
    }
    let intervals = stones.entry(r).or_default();
    intervals.push((mint, maxt));
    intervals.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::with_capacity(intervals.len());
    for &(lo, hi) in intervals.iter() {
        match merged.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    *intervals = merged;
}

/// Whether `t` is in one of the (sorted, merged) `intervals`.
pub(crate) fn is_deleted(intervals: &[(i64, i64)], t: i64) -> bool {
    let i = intervals.partition_point(|&(_, hi)| hi < t);
    intervals.get(i).is_some_and(|&(lo, _)| lo <= t)
}

/// Drops from `samples[from..]` (in time order) those inside the deleted `intervals`.
pub(crate) fn drop_deleted(samples: &mut Vec<(i64, f64)>, from: usize, intervals: &[(i64, i64)]) {
    if intervals.is_empty() {
        return;
    }
    let mut keep = from;
    for i in from..samples.len() {
        if !is_deleted(intervals, samples[i].0) {
            samples[keep] = samples[i];
            keep += 1;
        }
    }
    samples.truncate(keep);
}

/// Whether `[mint, maxt]` lies wholly inside one interval.
pub(crate) fn covers(intervals: &[(i64, i64)], mint: i64, maxt: i64) -> bool {
    let i = intervals.partition_point(|&(_, hi)| hi < mint);
    intervals.get(i).is_some_and(|&(lo, hi)| lo <= mint && maxt <= hi)
}

/// Reads `dir/tombstones` (none if the file is missing).
pub(crate) fn read(dir: &Path) -> Result<Tombstones, StorageError> {
    let path = dir.join("tombstones");
    match std::fs::read(&path) {
        Ok(bytes) => decode(&bytes, &path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Tombstones::new()),
        Err(source) => Err(StorageError::Io { op: "reading", path, source }),
    }
}

/// Replaces `dir/tombstones` with `stones`, atomically (see the module docs).
pub(crate) fn write(dir: &Path, stones: &Tombstones) -> Result<(), StorageError> {
    let tmp = dir.join("tombstones.tmp");
    let path = dir.join("tombstones");
    let mut file = std::fs::File::create(&tmp).map_err(StorageError::io("creating", &tmp))?;
    file.write_all(&encode(stones)).map_err(StorageError::io("writing", &tmp))?;
    file.sync_all().map_err(StorageError::io("syncing", &tmp))?;
    std::fs::rename(&tmp, &path).map_err(StorageError::io("renaming", &tmp))?;
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(StorageError::io("syncing", dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn empty_file_is_the_nine_bytes_prometheus_writes() {
        assert_eq!(super::empty_file(), [0x01, 0x30, 0xBA, 0x30, 0x01, 0, 0, 0, 0]);
    }

    #[test]
    fn intervals_merge_when_they_overlap_or_touch() {
        let mut stones = Tombstones::new();
        add(&mut stones, 3, 10, 20);
        add(&mut stones, 3, 30, 40);
        add(&mut stones, 3, 21, 25);
        add(&mut stones, 3, 5, 5);
        assert_eq!(stones[&3], [(5, 5), (10, 25), (30, 40)]);
        assert!(is_deleted(&stones[&3], 25) && !is_deleted(&stones[&3], 26) && !is_deleted(&stones[&3], 4));
        assert!(covers(&stones[&3], 11, 24) && !covers(&stones[&3], 24, 31));
    }

    #[test]
    fn damage_is_reported_with_the_file() {
        let mut stones = Tombstones::new();
        add(&mut stones, 16, -5, 5);
        let mut bytes = encode(&stones);
        let n = bytes.len();
        bytes[n - 6] ^= 1;
        let err = decode(&bytes, Path::new("b/tombstones")).unwrap_err().to_string();
        assert!(err.contains("b/tombstones") && err.contains("checksum"), "{err}");
        assert!(decode(&bytes[..4], Path::new("t")).is_err());
    }

    proptest! {
        #[test]
        fn files_round_trip(entries in prop::collection::vec((0u64..1000, any::<i32>(), 0i64..1000), 0..40)) {
            let mut stones = Tombstones::new();
            for (r, mint, len) in entries {
                add(&mut stones, r * 16, i64::from(mint), i64::from(mint) + len);
            }
            prop_assert_eq!(decode(&encode(&stones), Path::new("t")).unwrap(), stones);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&bytes, Path::new("t"));
        }
    }
}
