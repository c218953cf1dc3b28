//! Tombstones: deletions recorded beside a TSM file (`GEN-SEQ.tombstone` beside
//! `GEN-SEQ.tsm`) until a compaction rewrites the file without the deleted points.
//!
//! | version | layout                                                                        |
//! |---------|-------------------------------------------------------------------------------|
//! | 4       | `0x00001504`: u32 BE, then gzip members; each holds records of                |
//! |         | key length: u32 BE, key, min time: i64 BE, max time: i64 BE                   |
//! | 1       | no header: one key per line, each deleted whole                               |
//!
//! InfluxDB 1.6 writes version 4 and appends a gzip member per delete; Strata writes
//! version 4 too, but replaces the file whole (temporary file, sync, rename) so a crash
//! never leaves half a member. Versions 2 and 3 (older InfluxDB) are refused with an error
//! naming them rather than guessed at.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;

use crate::error::{Result, TsmError};

const V4_HEADER: u32 = 0x1504;

/// One deletion: the points of `key` in `[min_time, max_time]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    pub key: Vec<u8>,
    pub min_time: i64,
    pub max_time: i64,
}

impl Tombstone {
    /// Whether it deletes the point of `key` at `t`.
    pub fn covers(&self, key: &[u8], t: i64) -> bool {
        self.key == key && (self.min_time..=self.max_time).contains(&t)
    }
}

/// The tombstone file of a TSM file.
pub fn path_for(tsm: &Path) -> PathBuf {
    tsm.with_extension("tombstone")
}

/// The tombstones of a TSM file (none if it has no tombstone file).
pub fn read(tsm: &Path) -> Result<Vec<Tombstone>> {
    let path = path_for(tsm);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(TsmError::io(&path, e)),
    };
    parse(&path, &bytes)
}

fn parse(path: &Path, bytes: &[u8]) -> Result<Vec<Tombstone>> {
    let corrupt =
        |offset: u64, detail: String| TsmError::Corrupt { path: path.to_path_buf(), offset, detail };
    let header = bytes.get(..4).map(|h| u32::from_be_bytes([h[0], h[1], h[2], h[3]]));
    match header {
        Some(V4_HEADER) => {}
        Some(v @ (0x1502 | 0x1503)) => {
            return Err(corrupt(
                0,
                format!("tombstone version {} is not supported (InfluxDB 1.6 writes 4)", v & 0xF),
            ))
        }
        _ => return Ok(parse_v1(bytes)),
    }
    let mut raw = Vec::new();
    if bytes.len() > 4 {
        MultiGzDecoder::new(&bytes[4..])
            .read_to_end(&mut raw)
            .map_err(|e| corrupt(4, format!("gzip: {e}")))?;
    }
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < raw.len() {
        let at = pos;
        let short = || corrupt(4, format!("record at byte {at} of the decompressed tombstones is cut short"));
        let len = raw.get(pos..pos + 4).ok_or_else(short)?;
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        pos += 4;
        let key = raw.get(pos..pos.saturating_add(len)).ok_or_else(short)?.to_vec();
        pos += len;
        let times = raw.get(pos..pos + 16).ok_or_else(short)?;
        pos += 16;
        let min_time = crate::timestamps::be_u64(&times[..8]) as i64;
        let max_time = crate::timestamps::be_u64(&times[8..]) as i64;
        out.push(Tombstone { key, min_time, max_time });
    }
    Ok(out)
}

fn parse_v1(bytes: &[u8]) -> Vec<Tombstone> {
    bytes
        .split(|&b| b == b'\n')
        .filter(|k| !k.is_empty())
        .map(|k| Tombstone { key: k.to_vec(), min_time: i64::MIN, max_time: i64::MAX })
        .collect()
}

/// Adds `new` to the tombstones of a TSM file (version 4, replaced whole).
pub fn append(tsm: &Path, new: &[Tombstone]) -> Result<()> {
    let mut all = read(tsm)?;
    all.extend_from_slice(new);
    let path = path_for(tsm);
    let mut raw = Vec::new();
    for t in &all {
        raw.extend_from_slice(&(t.key.len() as u32).to_be_bytes());
        raw.extend_from_slice(&t.key);
        raw.extend_from_slice(&t.min_time.to_be_bytes());
        raw.extend_from_slice(&t.max_time.to_be_bytes());
    }
    let mut gz = GzEncoder::new(V4_HEADER.to_be_bytes().to_vec(), flate2::Compression::default());
    gz.write_all(&raw).map_err(|e| TsmError::io(&path, e))?;
    let bytes = gz.finish().map_err(|e| TsmError::io(&path, e))?;
    let tmp = path.with_extension("tombstone.tmp");
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    };
    write().map_err(|e| TsmError::io(&path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stone(key: &str, min_time: i64, max_time: i64) -> Tombstone {
        Tombstone { key: key.as_bytes().to_vec(), min_time, max_time }
    }

    #[test]
    fn tombstones_accumulate_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let tsm = dir.path().join("000000001-000000001.tsm");
        assert!(read(&tsm).unwrap().is_empty());
        append(&tsm, &[stone("cpu#!~#value", 10, 20)]).unwrap();
        append(&tsm, &[stone("mem#!~#value", i64::MIN, i64::MAX)]).unwrap();
        let back = read(&tsm).unwrap();
        assert_eq!(back, [stone("cpu#!~#value", 10, 20), stone("mem#!~#value", i64::MIN, i64::MAX)]);
        assert!(back[0].covers(b"cpu#!~#value", 15) && !back[0].covers(b"cpu#!~#value", 21));
    }

    #[test]
    fn influxdb_appended_members_are_read() {
        // InfluxDB appends a gzip member per delete.
        let mut bytes = V4_HEADER.to_be_bytes().to_vec();
        for t in [stone("a#!~#f", 1, 2), stone("b#!~#f", 3, 4)] {
            let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&(t.key.len() as u32).to_be_bytes()).unwrap();
            gz.write_all(&t.key).unwrap();
            gz.write_all(&t.min_time.to_be_bytes()).unwrap();
            gz.write_all(&t.max_time.to_be_bytes()).unwrap();
            bytes.extend(gz.finish().unwrap());
        }
        let back = parse(Path::new("x.tombstone"), &bytes).unwrap();
        assert_eq!(back, [stone("a#!~#f", 1, 2), stone("b#!~#f", 3, 4)]);
    }

    #[test]
    fn damaged_and_unknown_versions_are_named() {
        let mut bytes = V4_HEADER.to_be_bytes().to_vec();
        bytes.extend_from_slice(b"not gzip");
        let e = parse(Path::new("x.tombstone"), &bytes).unwrap_err().to_string();
        assert!(e.contains("x.tombstone") && e.contains("gzip"), "{e}");
        let e = parse(Path::new("x.tombstone"), &0x1503u32.to_be_bytes()).unwrap_err().to_string();
        assert!(e.contains("version 3"), "{e}");
        assert_eq!(parse_v1(b"a#!~#f\nb#!~#g\n").len(), 2);
    }
}
