//! Reads a TSM file (the layout is in `writer`): memory-mapped, its index parsed once at
//! open into a sorted table of keys, so a key is found by binary search and its blocks are
//! read straight from the mapping.
//!
//! Everything is checked: the header, the footer, every index entry (a block inside the
//! data section, keys in order) at open, and every block's CRC when it is read (InfluxDB
//! does not check it). A failed check is [`TsmError::Corrupt`] with the file and the byte
//! offset, never wrong data and never a panic.

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::block::{self, Block, BlockType};
use crate::error::{Result, TsmError};
use crate::writer::{HEADER_LEN, INDEX_BLOCK_LEN, MAGIC, VERSION};

/// Where one block is, and the time it spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRef {
    pub min_time: i64,
    pub max_time: i64,
    /// Offset of the block's CRC in the file.
    pub offset: u64,
    /// CRC + data, in bytes.
    pub size: u32,
}

/// One key of the index. Invariant: `key_at + key_len` and `blocks_at + count × 28` lie in
/// the index section (checked at open).
#[derive(Debug, Clone, Copy)]
struct KeyEntry {
    key_at: usize,
    key_len: usize,
    block_type: BlockType,
    blocks_at: usize,
    count: usize,
}

/// A file's bytes: mapped (files on disk) or owned (bytes from elsewhere: fuzzing, tests).
#[derive(Debug)]
enum Data {
    Mapped(Mmap),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Data {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Data::Mapped(m) => m,
            Data::Owned(v) => v,
        }
    }
}

/// An open TSM file.
#[derive(Debug)]
pub struct TsmReader {
    path: PathBuf,
    data: Data,
    index_offset: u64,
    /// Sorted by key (checked at open).
    keys: Vec<KeyEntry>,
    blocks: u64,
    min_time: i64,
    max_time: i64,
    /// Points in the file, counted on first asking (it decodes every block's timestamps).
    points: std::sync::OnceLock<u64>,
}

impl TsmReader {
    /// Opens and checks `path`.
    pub fn open(path: &Path) -> Result<TsmReader> {
        let file = File::open(path).map_err(|e| TsmError::io(path, e))?;
        let len = file.metadata().map_err(|e| TsmError::io(path, e))?.len();
        if len < HEADER_LEN + 8 {
            let detail = format!("{len} bytes: too short for a header and a footer");
            return Err(TsmError::Corrupt { path: path.to_path_buf(), offset: 0, detail });
        }
        // SAFETY: TSM files are immutable once renamed into place: Strata never writes to
        // one again (compaction writes new files, deletion unlinks), so the mapping cannot
        // change under us through our own process. Exercised by every reader test.
        let data = unsafe { Mmap::map(&file) }.map_err(|e| TsmError::io(path, e))?;
        Self::check(path, Data::Mapped(data))
    }

    /// Checks `bytes` as a TSM file; `path` names it in errors.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<TsmReader> {
        Self::check(path, Data::Owned(bytes))
    }

    fn check(path: &Path, data: Data) -> Result<TsmReader> {
        let len = data.len() as u64;
        let corrupt =
            |offset: u64, detail: String| TsmError::Corrupt { path: path.to_path_buf(), offset, detail };
        if len < HEADER_LEN + 8 {
            return Err(corrupt(0, format!("{len} bytes: too short for a header and a footer")));
        }
        let magic = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
        if magic != MAGIC {
            return Err(corrupt(0, format!("magic number {magic:#010X}, not 0x16D116D1: not a TSM file")));
        }
        if data[4] != VERSION {
            return Err(corrupt(4, format!("format version {} (only 1 is known)", data[4])));
        }
        let footer_at = len - 8;
        let index_offset = be_u64(&data[footer_at as usize..]);
        if !(HEADER_LEN..=footer_at).contains(&index_offset) {
            return Err(corrupt(footer_at, format!("index offset {index_offset} outside the file")));
        }
        let mut reader = TsmReader {
            path: path.to_path_buf(),
            data,
            index_offset,
            keys: Vec::new(),
            blocks: 0,
            min_time: i64::MAX,
            max_time: i64::MIN,
            points: std::sync::OnceLock::new(),
        };
        reader.parse_index(footer_at as usize)?;
        Ok(reader)
    }

    /// Walks the index, checking every entry.
    fn parse_index(&mut self, end: usize) -> Result<()> {
        let mut pos = self.index_offset as usize;
        while pos < end {
            let entry_at = pos;
            let need = |pos: usize, n: usize, what: &str| -> Result<()> {
                if end - pos < n {
                    return Err(self.corrupt(pos as u64, format!("index ends inside {what}")));
                }
                Ok(())
            };
            need(pos, 2, "a key length")?;
            let key_len = usize::from(u16::from_be_bytes([self.data[pos], self.data[pos + 1]]));
            pos += 2;
            need(pos, key_len + 3, "a key")?;
            let key_at = pos;
            pos += key_len;
            let type_byte = self.data[pos];
            let block_type = BlockType::from_byte(type_byte).ok_or_else(|| {
                self.corrupt(pos as u64, format!("unknown block type {type_byte} in the index"))
            })?;
            let count = usize::from(u16::from_be_bytes([self.data[pos + 1], self.data[pos + 2]]));
            pos += 3;
            need(pos, count * INDEX_BLOCK_LEN, "a key's block entries")?;
            let entry = KeyEntry { key_at, key_len, block_type, blocks_at: pos, count };
            if let Some(prev) = self.keys.last() {
                if self.key_bytes(prev) >= self.key_bytes(&entry) {
                    return Err(self.corrupt(entry_at as u64, "index keys are not in ascending order".into()));
                }
            }
            for i in 0..count {
                self.check_block(pos + i * INDEX_BLOCK_LEN)?;
            }
            pos += count * INDEX_BLOCK_LEN;
            self.blocks += count as u64;
            self.keys.push(entry);
        }
        Ok(())
    }

    fn check_block(&mut self, at: usize) -> Result<()> {
        let b = self.block_ref_at(at);
        let in_data = b.offset >= HEADER_LEN
            && b.size >= 5
            && b.offset.checked_add(u64::from(b.size)).is_some_and(|e| e <= self.index_offset);
        if !in_data {
            let detail = format!("block at {} of {} bytes lies outside the data section", b.offset, b.size);
            return Err(self.corrupt(at as u64, detail));
        }
        if b.min_time > b.max_time {
            return Err(self
                .corrupt(at as u64, format!("block spans {}..{} (min after max)", b.min_time, b.max_time)));
        }
        self.min_time = self.min_time.min(b.min_time);
        self.max_time = self.max_time.max(b.max_time);
        Ok(())
    }

    fn block_ref_at(&self, at: usize) -> BlockRef {
        let d = &self.data[at..at + INDEX_BLOCK_LEN];
        BlockRef {
            min_time: be_u64(&d[0..]) as i64,
            max_time: be_u64(&d[8..]) as i64,
            offset: be_u64(&d[16..]),
            size: u32::from_be_bytes([d[24], d[25], d[26], d[27]]),
        }
    }

    fn key_bytes(&self, e: &KeyEntry) -> &[u8] {
        &self.data[e.key_at..e.key_at + e.key_len]
    }

    fn corrupt(&self, offset: u64, detail: String) -> TsmError {
        TsmError::Corrupt { path: self.path.clone(), offset, detail }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        self.data.len() as u64
    }

    /// Where the index starts.
    pub fn index_offset(&self) -> u64 {
        self.index_offset
    }

    /// Number of keys.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// Number of blocks.
    pub fn block_count(&self) -> u64 {
        self.blocks
    }

    /// Points in the file (damaged blocks count none).
    pub fn point_count(&self) -> u64 {
        *self.points.get_or_init(|| {
            (0..self.key_count())
                .flat_map(|i| self.blocks(i))
                .filter_map(|b| self.block_data(&b).ok().and_then(|d| block::decode_timestamps(d).ok()))
                .map(|ts| ts.len() as u64)
                .sum()
        })
    }

    /// The earliest and latest time of any block (`None` for no block).
    pub fn time_range(&self) -> Option<(i64, i64)> {
        (self.blocks > 0).then_some((self.min_time, self.max_time))
    }

    /// Key `i` (`i < key_count()`), in ascending order.
    pub fn key(&self, i: usize) -> &[u8] {
        self.key_bytes(&self.keys[i])
    }

    /// The position of `key`, if the file has it.
    pub fn find(&self, key: &[u8]) -> Option<usize> {
        self.keys.binary_search_by(|e| self.key_bytes(e).cmp(key)).ok()
    }

    /// The first key position at or after `key`.
    pub fn seek(&self, key: &[u8]) -> usize {
        self.keys.partition_point(|e| self.key_bytes(e) < key)
    }

    /// The type of key `i`'s blocks.
    pub fn block_type(&self, i: usize) -> BlockType {
        self.keys[i].block_type
    }

    /// Key `i`'s blocks, in time order.
    pub fn blocks(&self, i: usize) -> Vec<BlockRef> {
        let e = self.keys[i];
        (0..e.count).map(|b| self.block_ref_at(e.blocks_at + b * INDEX_BLOCK_LEN)).collect()
    }

    /// A block's data (after its CRC), the CRC checked.
    pub fn block_data(&self, b: &BlockRef) -> Result<&[u8]> {
        let start = b.offset as usize;
        let bytes = &self.data[start..start + b.size as usize];
        let stored = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let data = &bytes[4..];
        let computed = crc32fast::hash(data);
        if stored != computed {
            let detail = format!("block checksum {stored:#010x} does not match its data ({computed:#010x})");
            return Err(self.corrupt(b.offset, detail));
        }
        Ok(data)
    }

    /// A block, decoded.
    pub fn read_block(&self, b: &BlockRef) -> Result<Block> {
        let data = self.block_data(b)?;
        block::decode(data).map_err(|e| e.in_file(&self.path, b.offset + 4))
    }
}

fn be_u64(b: &[u8]) -> u64 {
    crate::timestamps::be_u64(b)
}
