//! Writes a TSM file: the header, then each key's blocks in key order, then the index and
//! the footer.
//!
//! | part    | layout (big-endian)                                                        |
//! |---------|----------------------------------------------------------------------------|
//! | header  | magic `0x16D116D1`: u32, version `1`: u8                                   |
//! | block   | crc: u32 (CRC-32 IEEE of the data), data (see `block`)                     |
//! | index   | per key: key length: u16, key, type: u8, block count: u16, then per block: |
//! |         | min time: i64, max time: i64, offset: u64 (of its crc), size: u32 (crc + data) |
//! | footer  | offset of the index: u64                                                   |
//!
//! Keys are written in ascending byte order and a key's blocks in time order: readers find
//! a key by binary search. The file is written as `NAME.tmp`, synced, then renamed, so a
//! crash leaves either no file or a whole one.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::block::{self, BlockType, Values, MAX_POINTS_PER_BLOCK};
use crate::error::{Result, TsmError};

/// The magic number that opens a TSM file.
pub const MAGIC: u32 = 0x16D1_16D1;
/// The format version written and read.
pub const VERSION: u8 = 1;
/// Header bytes (magic + version).
pub const HEADER_LEN: u64 = 5;
/// Bytes of one block's entry in the index.
pub const INDEX_BLOCK_LEN: usize = 28;
/// Blocks a key may have in one file (the index's count is a u16).
pub const MAX_BLOCKS_PER_KEY: usize = u16::MAX as usize;

/// What a finished file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSummary {
    pub path: PathBuf,
    pub keys: u64,
    pub blocks: u64,
    pub points: u64,
    pub bytes: u64,
    pub min_time: i64,
    pub max_time: i64,
}

/// A TSM file being written.
#[derive(Debug)]
pub struct TsmWriter {
    path: PathBuf,
    tmp: PathBuf,
    out: BufWriter<File>,
    /// Bytes written so far: the offset of the next block.
    offset: u64,
    index: Vec<u8>,
    /// The key whose index entry is open, its type, and its block entries so far.
    open: Option<(Vec<u8>, BlockType, Vec<u8>)>,
    summary: FileSummary,
}

impl TsmWriter {
    /// Starts writing the file that will be `path` once finished.
    pub fn create(path: &Path) -> Result<TsmWriter> {
        let tmp = path.with_extension("tsm.tmp");
        let file = File::create(&tmp).map_err(|e| TsmError::io(&tmp, e))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let mut header = MAGIC.to_be_bytes().to_vec();
        header.push(VERSION);
        out.write_all(&header).map_err(|e| TsmError::io(&tmp, e))?;
        let summary = FileSummary {
            path: path.to_path_buf(),
            keys: 0,
            blocks: 0,
            points: 0,
            bytes: 0,
            min_time: i64::MAX,
            max_time: i64::MIN,
        };
        Ok(TsmWriter {
            path: path.to_path_buf(),
            tmp,
            out,
            offset: HEADER_LEN,
            index: Vec::new(),
            open: None,
            summary,
        })
    }

    /// Writes the points of `key` (ascending timestamps, after every key written before) as
    /// blocks of at most [`MAX_POINTS_PER_BLOCK`].
    pub fn write_series(&mut self, key: &[u8], timestamps: &[i64], values: &Values) -> Result<()> {
        if timestamps.len() != values.len() {
            return Err(TsmError::Unencodable(format!(
                "{} timestamps for {} values",
                timestamps.len(),
                values.len()
            )));
        }
        for start in (0..timestamps.len()).step_by(MAX_POINTS_PER_BLOCK) {
            let end = (start + MAX_POINTS_PER_BLOCK).min(timestamps.len());
            let part = slice_values(values, start, end);
            let data = block::encode(&timestamps[start..end], &part).map_err(TsmError::Unencodable)?;
            self.write_block(key, part.block_type(), timestamps[start], timestamps[end - 1], &data)?;
        }
        Ok(())
    }

    /// Writes one encoded block (without its CRC) of `key` spanning `[min_time, max_time]`;
    /// a compaction copies blocks this way without decoding them.
    pub fn write_block(
        &mut self,
        key: &[u8],
        block_type: BlockType,
        min_time: i64,
        max_time: i64,
        data: &[u8],
    ) -> Result<()> {
        if key.len() > u16::MAX as usize {
            return Err(TsmError::Unencodable(format!("a key of {} bytes (at most 65,535)", key.len())));
        }
        self.enter_key(key, block_type)?;
        let crc = crc32fast::hash(data);
        self.write(&crc.to_be_bytes())?;
        self.write(data)?;
        let size = 4 + data.len() as u32;
        let Some((_, _, entries)) = &mut self.open else { unreachable!("enter_key opened the key") };
        if entries.len() / INDEX_BLOCK_LEN >= MAX_BLOCKS_PER_KEY {
            return Err(TsmError::Unencodable(format!("more than {MAX_BLOCKS_PER_KEY} blocks for one key")));
        }
        entries.extend_from_slice(&min_time.to_be_bytes());
        entries.extend_from_slice(&max_time.to_be_bytes());
        entries.extend_from_slice(&(self.offset - u64::from(size)).to_be_bytes());
        entries.extend_from_slice(&size.to_be_bytes());
        let s = &mut self.summary;
        s.blocks += 1;
        s.points += block_points(data);
        s.min_time = s.min_time.min(min_time);
        s.max_time = s.max_time.max(max_time);
        Ok(())
    }

    /// Closes the open key if `key` is another, checking the order.
    fn enter_key(&mut self, key: &[u8], block_type: BlockType) -> Result<()> {
        match &self.open {
            Some((open, t, _)) if open.as_slice() == key => {
                if *t != block_type {
                    let detail = format!(
                        "key {} has {} and {} blocks",
                        String::from_utf8_lossy(key),
                        t.name(),
                        block_type.name()
                    );
                    return Err(TsmError::Unencodable(detail));
                }
                return Ok(());
            }
            Some((open, _, _)) if open.as_slice() > key => {
                let detail =
                    format!("key {} after {}", String::from_utf8_lossy(key), String::from_utf8_lossy(open));
                return Err(TsmError::Unencodable(format!("keys out of order: {detail}")));
            }
            _ => {}
        }
        self.close_key();
        self.open = Some((key.to_vec(), block_type, Vec::new()));
        Ok(())
    }

    fn close_key(&mut self) {
        let Some((key, block_type, entries)) = self.open.take() else { return };
        self.index.extend_from_slice(&(key.len() as u16).to_be_bytes());
        self.index.extend_from_slice(&key);
        self.index.push(block_type as u8);
        self.index.extend_from_slice(&((entries.len() / INDEX_BLOCK_LEN) as u16).to_be_bytes());
        self.index.extend_from_slice(&entries);
        self.summary.keys += 1;
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).map_err(|e| TsmError::io(&self.tmp, e))?;
        self.offset += bytes.len() as u64;
        Ok(())
    }

    /// Writes the index and footer, syncs, and renames the file into place. A file without
    /// a block is not written (InfluxDB refuses those too).
    pub fn finish(mut self) -> Result<FileSummary> {
        self.close_key();
        if self.summary.blocks == 0 {
            let _ = std::fs::remove_file(&self.tmp);
            return Err(TsmError::Unencodable("a TSM file needs at least one block".into()));
        }
        let index_offset = self.offset;
        let index = std::mem::take(&mut self.index);
        self.write(&index)?;
        self.write(&index_offset.to_be_bytes())?;
        let tmp = self.tmp.clone();
        let file = self.out.into_inner().map_err(|e| TsmError::io(&tmp, e.into_error()))?;
        file.sync_all().map_err(|e| TsmError::io(&tmp, e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| TsmError::io(&self.path, e))?;
        if let Some(dir) = self.path.parent() {
            File::open(dir).and_then(|d| d.sync_all()).map_err(|e| TsmError::io(dir, e))?;
        }
        self.summary.bytes = self.offset;
        Ok(self.summary)
    }

    /// Drops the unfinished file.
    pub fn abandon(self) {
        drop(self.out);
        let _ = std::fs::remove_file(&self.tmp);
    }
}

/// Points in an encoded block, from its timestamps alone (cheap: RLE and simple8b are not
/// expanded beyond counting).
fn block_points(data: &[u8]) -> u64 {
    block::decode_timestamps(data).map_or(0, |ts| ts.len() as u64)
}

fn slice_values(values: &Values, start: usize, end: usize) -> Values {
    match values {
        Values::Float(v) => Values::Float(v[start..end].to_vec()),
        Values::Integer(v) => Values::Integer(v[start..end].to_vec()),
        Values::Unsigned(v) => Values::Unsigned(v[start..end].to_vec()),
        Values::Boolean(v) => Values::Boolean(v[start..end].to_vec()),
        Values::String(v) => Values::String(v[start..end].to_vec()),
    }
}
