//! The TSM files of a data dir as the engine holds them: each with its generation and
//! sequence (from its name, `GGGGGGGGG-SSSSSSSSS.tsm`) and its tombstones.
//!
//! Recency is the order `(generation, sequence)`: a snapshot takes the next generation with
//! sequence 1; a compaction of adjacent generations writes the largest of them with a
//! sequence one above its inputs', so its output sorts after every input and before any
//! later snapshot. Of two points of one key with one timestamp, the later file's wins.
//! The sequence is also the level (1 = from the cache; 4 and above are all level 4).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::block::Values;
use crate::error::Result;
use crate::reader::TsmReader;
use crate::tombstone::{self, Tombstone};

/// One TSM file and its tombstones. Cloning shares the mapping.
#[derive(Debug, Clone)]
pub struct TsmFile {
    pub reader: Arc<TsmReader>,
    pub generation: u64,
    pub sequence: u64,
    pub tombstones: Arc<Vec<Tombstone>>,
}

/// The generation and sequence a file name says, if it is a TSM file's name.
pub fn parse_name(path: &Path) -> Option<(u64, u64)> {
    let name = path.file_name()?.to_str()?.strip_suffix(".tsm")?;
    let (g, s) = name.split_once('-')?;
    Some((g.parse().ok()?, s.parse().ok()?))
}

/// The name of a file of generation `g`, sequence `s`.
pub fn file_name(g: u64, s: u64) -> String {
    format!("{g:09}-{s:09}.tsm")
}

impl TsmFile {
    /// Opens a TSM file and reads its tombstones.
    pub fn open(path: &Path) -> Result<TsmFile> {
        let (generation, sequence) = parse_name(path).unwrap_or((0, 1));
        let reader = TsmReader::open(path)?;
        let tombstones = tombstone::read(path)?;
        Ok(TsmFile { reader: Arc::new(reader), generation, sequence, tombstones: Arc::new(tombstones) })
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.reader.path()
    }

    /// Its level (1–4).
    pub fn level(&self) -> u64 {
        self.sequence.clamp(1, 4)
    }

    /// This file with `more` tombstones, written to its tombstone file first.
    pub fn with_tombstones(&self, more: &[Tombstone]) -> Result<TsmFile> {
        tombstone::append(self.path(), more)?;
        let mut all = (*self.tombstones).clone();
        all.extend_from_slice(more);
        Ok(TsmFile { tombstones: Arc::new(all), ..self.clone() })
    }

    /// The points of `key` in `[mint, maxt]` (nanoseconds) as floats, tombstones applied,
    /// sorted. String keys have none (Strata does not store strings).
    pub fn points(&self, key: &[u8], mint: i64, maxt: i64) -> Result<Vec<(i64, f64)>> {
        let mut out = Vec::new();
        self.points_into(key, mint, maxt, &mut out, &mut Vec::new(), &mut Vec::new())?;
        Ok(out)
    }

    /// [`TsmFile::points`] appended to `out`, decoding through the caller's buffers: the
    /// query path, which reads many series and should not allocate per block.
    pub fn points_into(
        &self,
        key: &[u8],
        mint: i64,
        maxt: i64,
        out: &mut Vec<(i64, f64)>,
        ts: &mut Vec<i64>,
        vs: &mut Vec<f64>,
    ) -> Result<()> {
        let Some(i) = self.reader.find(key) else { return Ok(()) };
        let stones: Vec<&Tombstone> = self.tombstones.iter().filter(|t| t.key == key).collect();
        for b in self.reader.blocks(i).iter().filter(|b| b.max_time >= mint && b.min_time <= maxt) {
            let data = self.reader.block_data(b)?;
            let floats = crate::block::decode_floats_into(data, ts, vs)
                .map_err(|e| e.in_file(self.path(), b.offset + 4))?;
            if !floats {
                return Ok(());
            }
            let (lo, hi) = (ts.partition_point(|&t| t < mint), ts.partition_point(|&t| t <= maxt));
            let points = ts[lo..hi].iter().zip(&vs[lo..hi]).map(|(&t, &v)| (t, v));
            if stones.is_empty() {
                out.extend(points);
            } else {
                let kept = points.filter(|&(t, _)| !stones.iter().any(|s| s.covers(key, t)));
                out.extend(kept);
            }
        }
        Ok(())
    }

    /// Every point of key `i` (tombstones applied), with the key's value type kept: what a
    /// compaction merges.
    pub fn key_values(&self, i: usize) -> Result<(Vec<i64>, Values)> {
        let key = self.reader.key(i);
        let stones: Vec<&Tombstone> = self.tombstones.iter().filter(|t| t.key == key).collect();
        let mut ts = Vec::new();
        let mut values: Option<Values> = None;
        for b in self.reader.blocks(i) {
            let block = self.reader.read_block(&b)?;
            let keep: Vec<bool> =
                block.timestamps.iter().map(|&t| !stones.iter().any(|s| s.covers(key, t))).collect();
            ts.extend(block.timestamps.iter().zip(&keep).filter(|(_, k)| **k).map(|(t, _)| *t));
            append_kept(&mut values, block.values, &keep);
        }
        Ok((ts, values.unwrap_or(Values::Float(Vec::new()))))
    }
}

fn append_kept(into: &mut Option<Values>, from: Values, keep: &[bool]) {
    let from = filtered(from, keep);
    match into {
        None => *into = Some(from),
        Some(values) => {
            // A file holds one type per key (its writer checks), so this always appends.
            values.extend(from);
        }
    }
}

/// The values whose `keep` is true.
fn filtered(values: Values, keep: &[bool]) -> Values {
    fn kept<T>(v: Vec<T>, keep: &[bool]) -> Vec<T> {
        v.into_iter().zip(keep).filter(|(_, k)| **k).map(|(x, _)| x).collect()
    }
    match values {
        Values::Float(v) => Values::Float(kept(v, keep)),
        Values::Integer(v) => Values::Integer(kept(v, keep)),
        Values::Unsigned(v) => Values::Unsigned(kept(v, keep)),
        Values::Boolean(v) => Values::Boolean(kept(v, keep)),
        Values::String(v) => Values::String(kept(v, keep)),
    }
}

/// Files that could not be opened, with why.
pub type Skipped = Vec<(PathBuf, String)>;

/// The TSM files in `dir`, by recency, and the paths that could not be opened with why.
pub fn open_dir(dir: &Path) -> Result<(Vec<TsmFile>, Skipped)> {
    let mut paths: Vec<(u64, u64, PathBuf)> = std::fs::read_dir(dir)
        .map_err(|e| crate::TsmError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| parse_name(&p).map(|(g, s)| (g, s, p)))
        .collect();
    paths.sort();
    let (mut files, mut skipped) = (Vec::new(), Vec::new());
    for (_, _, path) in paths {
        match TsmFile::open(&path) {
            Ok(f) => files.push(f),
            Err(e) => skipped.push((path, e.to_string())),
        }
    }
    Ok((files, skipped))
}
