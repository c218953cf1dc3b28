//! Reading a block: `meta.json`, the index (format v2, and v1 as older Prometheus wrote it)
//! and the chunk segments, all memory-mapped, every checksum verified.
//!
//! Opening checks the index magic, version and TOC checksum, reads the symbol table (its
//! checksum too) and the postings offset table. Series entries and chunks are read on
//! demand, each against its own CRC, so a damaged block is an error naming the file and
//! byte, never a panic. Format v1 differs in three ways: symbols and series are referenced
//! by byte offset instead of position and offset/16, the postings offset table is not
//! sorted, and there is no all-series postings list.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use memmap2::Mmap;
use strata_codec::varint::{read_uvarint, read_varint};
use strata_codec::xor::header_sample_count;
use strata_model::{Labels, Matcher};

use super::dense_file;
use super::index_tables::{PostingsTable, Symbols};
use super::meta::BlockMeta;
use super::tombstones::{self, Tombstones};
use crate::time_range::{overlaps, push_samples_in_range};
use crate::StorageError;

const INDEX_MAGIC: u32 = 0xBAAA_D700;
const CHUNKS_MAGIC: u32 = 0x85BD_40DD;

/// One chunk's place and time range, as the index records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRef {
    /// First sample's timestamp.
    pub mint: i64,
    /// Last sample's timestamp (inclusive).
    pub maxt: i64,
    /// Segment index << 32 | offset.
    pub chunk_ref: u64,
}

/// An opened block; see the module docs.
#[derive(Debug)]
pub struct BlockReader {
    dir: PathBuf,
    meta: BlockMeta,
    index: Mmap,
    version: u8,
    /// Symbols by position (v2) or byte offset (v1), as positions in `index`.
    symbols: Symbols,
    /// `(name, value)` → offset of its postings list, as positions in `index`.
    postings: PostingsTable,
    segments: Vec<Mmap>,
    /// A cold block's `dense` file (`dense_file`), in place of chunk segments.
    dense: Option<Mmap>,
    /// Deleted intervals (the `tombstones` file), replaced whole by each delete.
    tombstones: RwLock<Arc<Tombstones>>,
    /// Held by a delete from reading the tombstones to replacing them.
    deleting: Mutex<()>,
}

/// A series a block select found: its labels, the chunks overlapping the range, and the
/// intervals deleted from it (sorted, merged; empty if none).
#[derive(Debug, Clone)]
pub struct SelectedSeries {
    /// The series' ref in the block's index.
    pub series_ref: u64,
    /// Its labels.
    pub labels: Labels,
    /// Its chunks that overlap the range (minus those wholly deleted).
    pub chunks: Vec<ChunkRef>,
    /// Deleted intervals, both ends inclusive.
    pub deleted: Vec<(i64, i64)>,
}

/// What a select over a block returns for one series.
pub type SeriesSamples = (Labels, Vec<(i64, f64)>);

pub(super) fn corrupt(path: &Path, offset: u64, detail: impl Into<String>) -> StorageError {
    StorageError::Corrupt { path: path.to_path_buf(), offset, detail: detail.into() }
}

fn map(path: &Path) -> Result<Mmap, StorageError> {
    let file = File::open(path).map_err(StorageError::io("opening", path))?;
    // SAFETY: block files are immutable once renamed into place (written whole, never
    // modified); the map is read through bounds-checked slices. Truncation by another
    // process could fault, as for any mmap reader. Exercised by the block tests.
    unsafe { Mmap::map(&file) }.map_err(StorageError::io("mapping", path))
}

/// Reads varints from a series entry's body, reporting errors at their file offset.
struct Cursor<'a> {
    body: &'a [u8],
    pos: usize,
    /// File offset of `body`.
    base: usize,
    path: &'a Path,
}

impl Cursor<'_> {
    fn uvarint(&mut self, what: &str) -> Result<u64, StorageError> {
        let at = self.pos;
        read_uvarint(self.body, &mut self.pos)
            .map_err(|e| corrupt(self.path, (self.base + at) as u64, format!("{what}: {e}")))
    }

    fn varint(&mut self, what: &str) -> Result<i64, StorageError> {
        let at = self.pos;
        read_varint(self.body, &mut self.pos)
            .map_err(|e| corrupt(self.path, (self.base + at) as u64, format!("{what}: {e}")))
    }
}

pub(super) fn be32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn be64(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 8).map(|s| {
        let mut w = [0u8; 8];
        w.copy_from_slice(s);
        u64::from_be_bytes(w)
    })
}

/// A `len BE32 | body | CRC BE32` section at `at`: its body, checksum verified.
fn section<'a>(bytes: &'a [u8], at: usize, path: &Path, what: &str) -> Result<&'a [u8], StorageError> {
    let len = be32(bytes, at)
        .ok_or_else(|| corrupt(path, at as u64, format!("{what}: length past the end")))?
        as usize;
    let body = bytes
        .get(at + 4..at + 4 + len)
        .ok_or_else(|| corrupt(path, at as u64, format!("{what}: {len} bytes past the end")))?;
    let crc = be32(bytes, at + 4 + len)
        .ok_or_else(|| corrupt(path, at as u64, format!("{what}: checksum past the end")))?;
    if crc32c::crc32c(body) != crc {
        return Err(corrupt(path, at as u64, format!("{what}: checksum mismatch")));
    }
    Ok(body)
}

pub(super) fn string<'a>(
    b: &'a [u8],
    pos: &mut usize,
    path: &Path,
    base: usize,
) -> Result<&'a str, StorageError> {
    let bad = |pos: usize, d: &str| corrupt(path, (base + pos) as u64, d.to_string());
    let len = read_uvarint(b, pos).map_err(|e| bad(*pos, &e.to_string()))? as usize;
    let s = b.get(*pos..*pos + len).ok_or_else(|| bad(*pos, "string past the end of its section"))?;
    *pos += len;
    std::str::from_utf8(s).map_err(|_| bad(*pos, "string is not UTF-8"))
}

impl BlockReader {
    /// Opens the block in `dir`.
    pub fn open(dir: &Path) -> Result<BlockReader, StorageError> {
        let meta_path = dir.join("meta.json");
        let meta_bytes = std::fs::read(&meta_path).map_err(StorageError::io("reading", &meta_path))?;
        let meta: BlockMeta = serde_json::from_slice(&meta_bytes)
            .map_err(|e| corrupt(&meta_path, e.column() as u64, e.to_string()))?;
        let index_path = dir.join("index");
        let index = map(&index_path)?;
        let p = &index_path;
        if be32(&index, 0) != Some(INDEX_MAGIC) {
            return Err(corrupt(p, 0, "not a Prometheus index (bad magic)"));
        }
        let version = *index.get(4).ok_or_else(|| corrupt(p, 4, "no version byte"))?;
        if !(1..=2).contains(&version) {
            return Err(corrupt(p, 4, format!("unsupported index version {version}")));
        }
        let toc_at = index.len().checked_sub(52).ok_or_else(|| corrupt(p, 0, "too short for a TOC"))?;
        let toc = &index[toc_at..toc_at + 48];
        if be32(&index, toc_at + 48) != Some(crc32c::crc32c(toc)) {
            return Err(corrupt(p, toc_at as u64, "TOC checksum mismatch"));
        }
        let offset = |i: usize| be64(toc, i * 8).unwrap_or(0) as usize;
        let (symbols_at, table_at) = (offset(0), offset(5));

        let body = section(&index, symbols_at, p, "symbol table")?;
        let symbols = Symbols::read(body, symbols_at + 4, version, p)?;
        let body = section(&index, table_at, p, "postings offset table")?;
        let postings = PostingsTable::read(&index, body, table_at + 4, p)?;

        let mut segments = Vec::new();
        for n in 1.. {
            let path = dir.join("chunks").join(format!("{n:06}"));
            if !path.is_file() {
                break;
            }
            let segment = map(&path)?;
            if be32(&segment, 0) != Some(CHUNKS_MAGIC) {
                return Err(corrupt(&path, 0, "not a chunk segment (bad magic)"));
            }
            segments.push(segment);
        }
        let dense_path = dir.join(dense_file::DENSE_FILE);
        let dense = if dense_path.is_file() {
            let bytes = map(&dense_path)?;
            dense_file::check_header(&bytes, &dense_path)?;
            Some(bytes)
        } else {
            None
        };
        let tombstones = RwLock::new(Arc::new(tombstones::read(dir)?));
        Ok(BlockReader {
            dir: dir.to_path_buf(),
            meta,
            index,
            version,
            symbols,
            postings,
            segments,
            dense,
            tombstones,
            deleting: Mutex::new(()),
        })
    }

    /// Whether this is a cold block (a `dense` file rather than XOR chunks).
    pub fn is_dense(&self) -> bool {
        self.dense.is_some()
    }

    /// Decodes chunk `r` into `out` (appending), whichever the block's format.
    pub fn decode_chunk_into(&self, r: u64, out: &mut Vec<(i64, f64)>) -> Result<(), StorageError> {
        if let Some(dense) = &self.dense {
            return dense_file::decode_series(dense, r, &self.dir.join(dense_file::DENSE_FILE), out);
        }
        let bytes = self.chunk(r)?;
        strata_codec::xor::decode_chunk_into(bytes, out).map_err(|e| StorageError::Corrupt {
            path: self.dir.join("chunks"),
            offset: r,
            detail: e.to_string(),
        })
    }

    /// The block's meta.json as it was at open (a delete since then updates the file's
    /// tombstone count, not this copy).
    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    /// The block's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The index format version (1 or 2).
    pub fn index_version(&self) -> u8 {
        self.version
    }

    fn index_path(&self) -> PathBuf {
        self.dir.join("index")
    }

    /// The series refs of a postings list (empty if the pair is not in the block).
    fn postings_of(&self, name: &str, value: &str) -> Result<Vec<u64>, StorageError> {
        let Some(at) = self.postings.find(&self.index, name, value) else {
            return Ok(Vec::new());
        };
        self.postings_at(at)
    }

    /// The series refs of the postings list at byte `at` of the index.
    fn postings_at(&self, at: u64) -> Result<Vec<u64>, StorageError> {
        let body = section(&self.index, at as usize, &self.index_path(), "postings list")?;
        let count = be32(body, 0).unwrap_or(0) as usize;
        Ok((0..count).filter_map(|i| be32(body, 4 + i * 4)).map(u64::from).collect())
    }

    /// Every series ref in the block, in index order (sorted by labels).
    pub fn series_refs(&self) -> Result<Vec<u64>, StorageError> {
        self.all_refs()
    }

    /// Every series ref in the block.
    fn all_refs(&self) -> Result<Vec<u64>, StorageError> {
        if self.version >= 2 {
            return self.postings_of("", "");
        }
        // v1 has no all-series list: the union of every list.
        let mut all = Vec::new();
        for (_, _, at) in self.postings.pairs(&self.index) {
            all.extend(self.postings_at(at)?);
        }
        all.sort_unstable();
        all.dedup();
        Ok(all)
    }

    /// The labels and chunk refs of series `r`.
    pub fn series(&self, r: u64) -> Result<(Labels, Vec<ChunkRef>), StorageError> {
        let path = self.index_path();
        let at = if self.version >= 2 { r * 16 } else { r } as usize;
        let bad = |pos: usize, d: String| corrupt(&path, pos as u64, d);
        let mut pos = at;
        let len = read_uvarint(&self.index, &mut pos).map_err(|e| bad(at, e.to_string()))? as usize;
        let body =
            self.index.get(pos..pos + len).ok_or_else(|| bad(at, "series entry past the end".into()))?;
        if be32(&self.index, pos + len) != Some(crc32c::crc32c(body)) {
            return Err(bad(at, "series entry checksum mismatch".into()));
        }
        let mut c = Cursor { body, pos: 0, base: pos, path: &path };
        let labels_n = c.uvarint("label count")?;
        let mut pairs = Vec::with_capacity(labels_n.min(64) as usize);
        for _ in 0..labels_n {
            let (n, v) = (c.uvarint("label name")?, c.uvarint("label value")?);
            pairs.push((self.symbol(n, &path)?, self.symbol(v, &path)?));
        }
        let labels = Labels::from_pairs(pairs).map_err(|e| bad(at, e.to_string()))?;
        let chunks_n = c.uvarint("chunk count")?;
        let mut chunks = Vec::with_capacity(chunks_n.min(1024) as usize);
        let (mut prev_maxt, mut prev_ref) = (0i64, 0u64);
        for i in 0..chunks_n {
            let mint = if i == 0 {
                c.varint("chunk mint")?
            } else {
                prev_maxt.wrapping_add(c.uvarint("chunk mint")? as i64)
            };
            let maxt = mint.wrapping_add(c.uvarint("chunk maxt")? as i64);
            let chunk_ref = if i == 0 {
                c.uvarint("chunk ref")?
            } else {
                prev_ref.wrapping_add(c.varint("chunk ref")? as u64)
            };
            chunks.push(ChunkRef { mint, maxt, chunk_ref });
            (prev_maxt, prev_ref) = (maxt, chunk_ref);
        }
        Ok((labels, chunks))
    }

    fn symbol(&self, r: u64, path: &Path) -> Result<String, StorageError> {
        self.symbols
            .get(&self.index, r, self.version)
            .map(str::to_string)
            .ok_or_else(|| corrupt(path, 0, format!("unknown symbol reference {r}")))
    }

    /// The bytes of an XOR chunk, checksum verified (a cold block has none: see
    /// [`BlockReader::decode_chunk_into`]).
    pub fn chunk(&self, r: u64) -> Result<&[u8], StorageError> {
        let (encoding, data) = self.raw_chunk(r)?;
        if encoding != 1 {
            let path = self.dir.join("chunks").join(format!("{:06}", (r >> 32) + 1));
            return Err(corrupt(&path, r & 0xffff_ffff, format!("chunk encoding {encoding} is not XOR (1)")));
        }
        Ok(data)
    }

    /// The encoding byte (1 XOR, 2 histogram, 3 float histogram) and the bytes of chunk
    /// `r`, checksum verified.
    pub fn raw_chunk(&self, r: u64) -> Result<(u8, &[u8]), StorageError> {
        if self.dense.is_some() {
            return Err(StorageError::Invalid(format!(
                "{} is a cold block: it has no XOR chunks",
                self.dir.display()
            )));
        }
        let (segment, offset) = ((r >> 32) as usize, (r & 0xffff_ffff) as usize);
        // Only an error names the file: a query reads thousands of chunks.
        let path = || self.dir.join("chunks").join(format!("{:06}", segment + 1));
        let bytes = self
            .segments
            .get(segment)
            .ok_or_else(|| corrupt(&path(), 0, format!("chunk ref {r:#x}: no such segment")))?;
        let mut pos = offset;
        let len = read_uvarint(bytes, &mut pos).map_err(|e| corrupt(&path(), offset as u64, e.to_string()))?
            as usize;
        let body = bytes
            .get(pos..pos + 1 + len)
            .ok_or_else(|| corrupt(&path(), offset as u64, "chunk past the end"))?;
        if be32(bytes, pos + 1 + len) != Some(crc32c::crc32c(body)) {
            return Err(corrupt(&path(), offset as u64, "chunk checksum mismatch"));
        }
        Ok((body[0], &body[1..]))
    }

    /// The encoding byte of chunk `r` (1 XOR, 2 histogram, 3 float histogram), unverified;
    /// `None` if it cannot be read (then reading the chunk reports why).
    pub fn chunk_encoding(&self, r: u64) -> Option<u8> {
        if self.dense.is_some() {
            return None;
        }
        let (segment, mut pos) = ((r >> 32) as usize, (r & 0xffff_ffff) as usize);
        let bytes = self.segments.get(segment)?;
        read_uvarint(bytes, &mut pos).ok()?;
        bytes.get(pos).copied()
    }

    /// Whether any series of the block has a native-histogram chunk (reads every chunk's
    /// encoding byte: for rare jobs such as choosing what moves to the cold tier).
    pub fn has_histograms(&self) -> Result<bool, StorageError> {
        for r in self.series_refs()? {
            let (_, chunks) = self.series(r)?;
            if chunks.iter().any(|c| matches!(self.chunk_encoding(c.chunk_ref), Some(2 | 3))) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// How many samples chunk `r` says it holds (its header, unverified; 0 if unreadable):
    /// for sizing a buffer before [`BlockReader::chunk`] reads it.
    pub fn chunk_sample_hint(&self, r: u64) -> usize {
        if self.dense.is_some() {
            return 0;
        }
        let (segment, mut pos) = ((r >> 32) as usize, (r & 0xffff_ffff) as usize);
        let Some(bytes) = self.segments.get(segment) else { return 0 };
        if read_uvarint(bytes, &mut pos).is_err() {
            return 0;
        }
        // After the length: the encoding byte, then the XOR chunk.
        bytes.get(pos + 1..).and_then(header_sample_count).map_or(0, usize::from)
    }

    /// Series the matchers select, with the refs of their chunks that overlap `[mint, maxt]`
    /// and are not wholly deleted (series with none are left out). Candidates are the
    /// intersection of the postings of every `name="value"` matcher (all series if there is
    /// none); every matcher is then checked against each candidate's labels.
    pub fn select_chunks(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SelectedSeries>, StorageError> {
        let mut candidates: Option<Vec<u64>> = None;
        for m in matchers.iter().filter(|m| m.op() == strata_model::MatchOp::Equal && !m.value().is_empty()) {
            let list = self.postings_of(m.name(), m.value())?;
            candidates = Some(match candidates {
                None => list,
                Some(c) => intersect(&c, &list),
            });
        }
        let refs = match candidates {
            Some(c) => c,
            None => self.all_refs()?,
        };
        let stones = self.tombstones();
        let mut out = Vec::new();
        for r in refs {
            let (labels, mut chunks) = self.series(r)?;
            if !matchers.iter().all(|m| m.matches_labels(&labels)) {
                continue;
            }
            let deleted = stones.get(&r).cloned().unwrap_or_default();
            chunks.retain(|c| {
                overlaps(c.mint, c.maxt, mint, maxt) && !tombstones::covers(&deleted, c.mint, c.maxt)
            });
            if !self.keeps_a_sample(&chunks, &deleted)? {
                continue;
            }
            if !chunks.is_empty() {
                out.push(SelectedSeries { series_ref: r, labels, chunks, deleted });
            }
        }
        Ok(out)
    }

    /// Whether any of a series' chunks still holds a sample its deleted intervals leave.
    /// No chunk lies inside one interval (those are left out already), so a chunk whose
    /// first or last sample survives answers at once; only a chunk whose ends fall in
    /// different intervals (two deletes, say) is decoded to look between them.
    fn keeps_a_sample(&self, chunks: &[ChunkRef], deleted: &[(i64, i64)]) -> Result<bool, StorageError> {
        let survives = |t: i64| !tombstones::is_deleted(deleted, t);
        if deleted.is_empty() || chunks.iter().any(|c| survives(c.mint) || survives(c.maxt)) {
            return Ok(!chunks.is_empty());
        }
        for c in chunks {
            let times: Vec<i64> = match (self.dense.is_some(), self.chunk_encoding(c.chunk_ref)) {
                (false, Some(encoding @ (2 | 3))) => {
                    let mut histograms = Vec::new();
                    crate::head::decode_histogram_chunk(
                        encoding == 3,
                        self.raw_chunk(c.chunk_ref)?.1,
                        &mut histograms,
                    )?;
                    histograms.iter().map(|h| h.0).collect()
                }
                _ => {
                    let mut samples = Vec::new();
                    self.decode_chunk_into(c.chunk_ref, &mut samples)?;
                    samples.iter().map(|s| s.0).collect()
                }
            };
            if times.into_iter().any(survives) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The block's deleted intervals.
    pub fn tombstones(&self) -> Arc<Tombstones> {
        Arc::clone(&self.tombstones.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Deletes `[mint, maxt]` from the series the matchers select: adds tombstones (the file
    /// first, then what reads see). Returns the labels of the series that had chunks there.
    pub fn delete(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Labels>, StorageError> {
        let _one_at_a_time = self.deleting.lock().unwrap_or_else(|e| e.into_inner());
        let hit = self.select_chunks(matchers, mint, maxt)?;
        if hit.is_empty() {
            return Ok(Vec::new());
        }
        let intervals: Vec<(u64, i64, i64)> = hit.iter().map(|s| (s.series_ref, mint, maxt)).collect();
        self.add_tombstones(&intervals)?;
        Ok(hit.into_iter().map(|s| s.labels).collect())
    }

    /// Deletes every sample of exactly these series (not series with more labels, which
    /// their equality matchers would also select), with one tombstones write; returns the
    /// series it held.
    pub fn delete_series(&self, series: &[Labels]) -> Result<Vec<Labels>, StorageError> {
        let _one_at_a_time = self.deleting.lock().unwrap_or_else(|e| e.into_inner());
        let mut intervals = Vec::new();
        let mut held = Vec::new();
        for labels in series {
            for hit in self.select_chunks(&crate::backfill::matchers_of(labels), i64::MIN, i64::MAX)? {
                if &hit.labels == labels {
                    intervals.push((hit.series_ref, i64::MIN, i64::MAX));
                    held.push(hit.labels);
                }
            }
        }
        self.add_tombstones(&intervals)?;
        Ok(held)
    }

    /// Deletes `[mint, maxt]` from series `r` for each `(r, mint, maxt)` (retention's
    /// expired ranges), as [`BlockReader::delete`] does.
    pub fn delete_ranges(&self, intervals: &[(u64, i64, i64)]) -> Result<(), StorageError> {
        let _one_at_a_time = self.deleting.lock().unwrap_or_else(|e| e.into_inner());
        self.add_tombstones(intervals)
    }

    /// Adds tombstones: the file first, then meta.json's count, then what reads see.
    fn add_tombstones(&self, intervals: &[(u64, i64, i64)]) -> Result<(), StorageError> {
        if intervals.is_empty() {
            return Ok(());
        }
        let mut stones = Tombstones::clone(&self.tombstones());
        for &(r, mint, maxt) in intervals {
            tombstones::add(&mut stones, r, mint, maxt);
        }
        tombstones::write(&self.dir, &stones)?;
        // Prometheus counts the intervals in meta.json too; the file is what reads use.
        let mut meta = self.meta.clone();
        meta.stats.num_tombstones = stones.values().map(|i| i.len() as u64).sum();
        meta.replace_file(&self.dir)?;
        *self.tombstones.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(stones);
        Ok(())
    }

    /// Series the matchers select with their samples in `[mint, maxt]`, decoding only the
    /// chunks that overlap the range. Series without samples in range are left out.
    pub fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SeriesSamples>, StorageError> {
        let mut out = Vec::new();
        for s in self.select_chunks(matchers, mint, maxt)? {
            let mut samples = Vec::new();
            for c in &s.chunks {
                if self.dense.is_some() {
                    // A cold series decodes whole; what came before is already in range.
                    self.decode_chunk_into(c.chunk_ref, &mut samples)?;
                    samples.retain(|&(t, _)| t >= mint && t <= maxt);
                    continue;
                }
                let chunk = self.chunk(c.chunk_ref)?;
                push_samples_in_range(chunk, mint, maxt, &mut samples)
                    .map_err(|e| corrupt(&self.dir.join("chunks"), c.chunk_ref, e.to_string()))?;
            }
            tombstones::drop_deleted(&mut samples, 0, &s.deleted);
            if !samples.is_empty() {
                out.push((s.labels, samples));
            }
        }
        Ok(out)
    }

    /// Every `(name, value)` pair of the block's postings table (the all-series key left out).
    pub fn label_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.postings.pairs(&self.index).filter(|(n, _, _)| !n.is_empty()).map(|(n, v, _)| (n, v))
    }
}

/// The refs in both sorted lists.
fn intersect(a: &[u64], b: &[u64]) -> Vec<u64> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}
