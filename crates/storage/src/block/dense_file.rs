//! The `dense` file of a cold block: every series' samples in the dense codec
//! (`strata_codec::dense`, docs/format/dense.md), in place of a warm block's `chunks/`.
//! The block keeps its Prometheus `index`, whose one chunk ref per series is the offset of
//! the series' entry here, and its `tombstones` and `meta.json`.
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `STRDENSE` |
//! | 1 | version 1 |
//! | … | sections, each `length (u32 BE) · body · CRC32C of body (u32 BE)`: |
//! | | a timestamp column: body = a dense timestamp frame (each distinct column once) |
//! | | a series entry: body = offset of its timestamp column's section (uvarint) · a dense value frame |
//!
//! Every section is checksummed, so damage is found where it is read and named with the
//! file and offset, never decoded into wrong samples.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use strata_codec::dense;
use strata_codec::varint::{put_uvarint, read_uvarint};

use crate::StorageError;

/// The file's name in a block directory.
pub(crate) const DENSE_FILE: &str = "dense";

const MAGIC: &[u8; 8] = b"STRDENSE";
const VERSION: u8 = 1;

/// Writes a `dense` file series by series.
#[derive(Debug)]
pub(crate) struct DenseWriter {
    path: PathBuf,
    out: BufWriter<File>,
    written: u64,
    /// Offset of each distinct timestamp column's section.
    columns: HashMap<Vec<i64>, u64>,
}

impl DenseWriter {
    pub(crate) fn create(path: &Path) -> Result<DenseWriter, StorageError> {
        let file = File::create(path).map_err(StorageError::io("creating", path))?;
        let mut w = DenseWriter {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
            written: 0,
            columns: HashMap::new(),
        };
        w.write(MAGIC)?;
        w.write(&[VERSION])?;
        Ok(w)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), StorageError> {
        self.out.write_all(bytes).map_err(StorageError::io("writing", &self.path))?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Writes a checksummed section; returns its offset.
    fn section(&mut self, body: &[u8]) -> Result<u64, StorageError> {
        let at = self.written;
        let len = u32::try_from(body.len()).map_err(|_| {
            StorageError::Invalid(format!("a dense section of {} bytes is too long", body.len()))
        })?;
        self.write(&len.to_be_bytes())?;
        self.write(body)?;
        self.write(&crc32c::crc32c(body).to_be_bytes())?;
        Ok(at)
    }

    /// Adds a series' samples (in time order); returns its entry's offset (its chunk ref).
    pub(crate) fn add(&mut self, samples: &[(i64, f64)]) -> Result<u64, StorageError> {
        let ts: Vec<i64> = samples.iter().map(|s| s.0).collect();
        let values: Vec<f64> = samples.iter().map(|s| s.1).collect();
        let ts_at = match self.columns.get(&ts) {
            Some(&at) => at,
            None => {
                let frame = dense::encode_timestamps(&ts).map_err(|e| unencodable(&self.path, e))?;
                let at = self.section(&frame)?;
                self.columns.insert(ts, at);
                at
            }
        };
        let mut body = Vec::new();
        put_uvarint(&mut body, ts_at);
        body.extend(dense::encode_values(&values).map_err(|e| unencodable(&self.path, e))?);
        self.section(&body)
    }

    /// Flushes and fsyncs the file.
    pub(crate) fn finish(self) -> Result<(), StorageError> {
        let path = self.path.clone();
        let file = self.out.into_inner().map_err(|e| StorageError::io("writing", &path)(e.into_error()))?;
        file.sync_all().map_err(StorageError::io("syncing", &path))
    }
}

/// Checks a mapped `dense` file's header.
pub(crate) fn check_header(bytes: &[u8], path: &Path) -> Result<(), StorageError> {
    if bytes.get(..8) != Some(MAGIC.as_slice()) {
        return Err(corrupt(path, 0, "not a dense file (bad magic)"));
    }
    match bytes.get(8) {
        Some(&VERSION) => Ok(()),
        Some(v) => Err(corrupt(path, 8, format!("unsupported dense file version {v}"))),
        None => Err(corrupt(path, 8, "no version byte")),
    }
}

/// Decodes the series whose entry is at `entry` into `out` (appending).
pub(crate) fn decode_series(
    bytes: &[u8],
    entry: u64,
    path: &Path,
    out: &mut Vec<(i64, f64)>,
) -> Result<(), StorageError> {
    let body = section(bytes, entry, path)?;
    let mut pos = 0;
    let ts_at = read_uvarint(body, &mut pos).map_err(|e| corrupt(path, entry, e.to_string()))?;
    let ts = dense::decode_timestamps(section(bytes, ts_at, path)?)
        .map_err(|e| corrupt(path, ts_at, e.to_string()))?;
    let values = dense::decode_values(&body[pos..]).map_err(|e| corrupt(path, entry, e.to_string()))?;
    if ts.len() != values.len() {
        return Err(corrupt(path, entry, format!("{} timestamps for {} values", ts.len(), values.len())));
    }
    out.extend(ts.into_iter().zip(values));
    Ok(())
}

fn section<'a>(bytes: &'a [u8], at: u64, path: &Path) -> Result<&'a [u8], StorageError> {
    let at_usize = usize::try_from(at).map_err(|_| corrupt(path, at, "offset past the file"))?;
    let len = bytes
        .get(at_usize..at_usize + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or_else(|| corrupt(path, at, "section length past the end"))?;
    let body = bytes
        .get(at_usize + 4..at_usize + 4 + len)
        .ok_or_else(|| corrupt(path, at, "section past the end"))?;
    let crc = bytes
        .get(at_usize + 4 + len..at_usize + 8 + len)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| corrupt(path, at, "section checksum past the end"))?;
    if crc32c::crc32c(body) != crc {
        return Err(corrupt(path, at, "section checksum mismatch"));
    }
    Ok(body)
}

/// A column the dense codec refused (too long), named with the file being written.
fn unencodable(path: &Path, e: strata_codec::CodecError) -> StorageError {
    StorageError::Invalid(format!("{}: {e}", path.display()))
}

fn corrupt(path: &Path, offset: u64, detail: impl Into<String>) -> StorageError {
    StorageError::Corrupt { path: path.to_path_buf(), offset, detail: detail.into() }
}
