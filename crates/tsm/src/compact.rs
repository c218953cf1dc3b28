//! Levelled compaction, as InfluxDB 1.6 plans it: a snapshot writes a level-1 file; 8
//! adjacent level-1 generations merge into one level-2 file, 4 level-2 into a level-3, 4
//! level-3 into a level-4; 4 level-4 files merge again, and a shard cold for long enough is
//! compacted fully into one file. A run of a level shorter than its group still compacts
//! when one of its files has tombstones, so deletions are dropped from disk.
//!
//! Only adjacent files (a contiguous run in recency order) are merged, and the output takes
//! the newest input's generation and a sequence one above the inputs', so the recency order
//! stays true (see `file_set`). Merging a key: a key in one input without tombstones is
//! copied block by block without decoding; otherwise its points are decoded, tombstones
//! applied, and of points with one timestamp the newest file's kept. Inputs of different
//! types for one key (an InfluxDB integer field, then Strata's floats) are merged as floats.
//!
//! Crash safety: before anything is written, a journal `GGGGGGGGG-SSSSSSSSS.inputs` beside
//! the output names the inputs (synced). The output is written to a temporary file, synced
//! and renamed into place; it is published, then the inputs are deleted, then the journal.
//! At open, a journal whose output exists means the inputs' deletion was cut short: they are
//! deleted then (their points are all in the output); a journal without its output means
//! the compaction never finished: the journal goes and the inputs stay. Either way no point
//! is lost, and none is found in two files that both survive.

use std::path::Path;
use std::time::Instant;

use crate::block::Values;
use crate::error::Result;
use crate::file_set::{file_name, TsmFile};
use crate::writer::{FileSummary, TsmWriter};

/// Generations merged at once, by level (index 1–3), as InfluxDB 1.6.
const GROUP: [usize; 4] = [0, 8, 4, 4];
/// Level-4 generations merged at once.
const LEVEL4_GROUP: usize = 4;

/// Which files (a contiguous run of `files`, by position) to merge next, if any.
pub fn plan(files: &[TsmFile], cold: bool) -> Option<std::ops::Range<usize>> {
    if cold && (files.len() > 1 || files.iter().any(|f| !f.tombstones.is_empty())) {
        return Some(0..files.len());
    }
    for level in 1..=4u64 {
        let group = if level == 4 { LEVEL4_GROUP } else { GROUP[level as usize] };
        for run in runs_of_level(files, level) {
            if run.len() >= group {
                return Some(run.start..run.start + group);
            }
            let tombstoned = files[run.clone()].iter().any(|f| !f.tombstones.is_empty());
            if tombstoned && level < 4 {
                return Some(run);
            }
        }
    }
    // A level-4 file with tombstones alone is rewritten.
    files.iter().position(|f| f.level() == 4 && !f.tombstones.is_empty()).map(|i| i..i + 1)
}

/// Maximal runs of adjacent files of `level`.
fn runs_of_level(files: &[TsmFile], level: u64) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < files.len() {
        if files[i].level() != level {
            i += 1;
            continue;
        }
        let start = i;
        while i < files.len() && files[i].level() == level {
            i += 1;
        }
        runs.push(start..i);
    }
    runs
}

/// What one compaction did.
#[derive(Debug, Clone)]
pub struct Compaction {
    /// Level of the output.
    pub level: u64,
    pub inputs: Vec<String>,
    pub input_bytes: u64,
    /// `None` when everything in the inputs was deleted.
    pub output: Option<FileSummary>,
    pub millis: u64,
    /// The journal naming the inputs, removed once they are deleted.
    pub journal: std::path::PathBuf,
}

/// Merges `inputs` (oldest first) into a new file in `dir`; see the module docs.
pub fn merge(dir: &Path, inputs: &[TsmFile]) -> Result<Compaction> {
    let started = Instant::now();
    let generation = inputs.iter().map(|f| f.generation).max().unwrap_or(0);
    let sequence = inputs.iter().map(|f| f.sequence).max().unwrap_or(0) + 1;
    let path = dir.join(file_name(generation, sequence));
    write_journal(&path, inputs)?;
    let mut writer = TsmWriter::create(&path)?;
    let mut cursors = vec![0usize; inputs.len()];
    let mut wrote_any = false;
    while let Some(key) = next_key(inputs, &cursors) {
        let holders: Vec<(usize, usize)> = inputs
            .iter()
            .enumerate()
            .filter(|(n, f)| {
                cursors[*n] < f.reader.key_count() && f.reader.key(cursors[*n]) == key.as_slice()
            })
            .map(|(n, _)| (n, cursors[n]))
            .collect();
        for &(n, _) in &holders {
            cursors[n] += 1;
        }
        let result = merge_key(&mut writer, inputs, &key, &holders);
        match result {
            Ok(wrote) => wrote_any |= wrote,
            Err(e) => {
                writer.abandon();
                let _ = std::fs::remove_file(journal_path(&path));
                return Err(e);
            }
        }
    }
    let output = if wrote_any {
        let finished = writer.finish();
        if finished.is_err() {
            let _ = std::fs::remove_file(journal_path(&path));
        }
        Some(finished?)
    } else {
        writer.abandon();
        None
    };
    Ok(Compaction {
        level: sequence.min(4),
        inputs: inputs.iter().map(|f| f.path().display().to_string()).collect(),
        input_bytes: inputs.iter().map(|f| f.reader.size()).sum(),
        output,
        millis: started.elapsed().as_millis() as u64,
        journal: journal_path(&path),
    })
}

/// The journal of a compaction into `output`.
pub fn journal_path(output: &Path) -> std::path::PathBuf {
    output.with_extension("inputs")
}

fn write_journal(output: &Path, inputs: &[TsmFile]) -> Result<()> {
    let path = journal_path(output);
    let names: Vec<String> = inputs
        .iter()
        .filter_map(|f| f.path().file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&path)?;
        std::io::Write::write_all(&mut f, (names.join("\n") + "\n").as_bytes())?;
        f.sync_all()?;
        std::fs::File::open(path.parent().unwrap_or(Path::new(".")))?.sync_all()
    };
    write().map_err(|e| crate::TsmError::io(&path, e))
}

/// Finishes or abandons compactions a crash interrupted (see the module docs); returns the
/// inputs deleted.
pub fn recover(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut deleted = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| crate::TsmError::io(dir, e))?;
    for journal in entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "inputs"))
    {
        let output = journal.with_extension("tsm");
        if output.exists() {
            let names = std::fs::read_to_string(&journal).map_err(|e| crate::TsmError::io(&journal, e))?;
            for name in names.lines().filter(|n| !n.is_empty() && n.ends_with(".tsm")) {
                let input = dir.join(name);
                if input != output && input.exists() {
                    let _ = std::fs::remove_file(crate::tombstone::path_for(&input));
                    std::fs::remove_file(&input).map_err(|e| crate::TsmError::io(&input, e))?;
                    deleted.push(input);
                }
            }
        }
        std::fs::remove_file(&journal).map_err(|e| crate::TsmError::io(&journal, e))?;
    }
    Ok(deleted)
}

/// The smallest key at the inputs' cursors.
fn next_key(inputs: &[TsmFile], cursors: &[usize]) -> Option<Vec<u8>> {
    inputs
        .iter()
        .zip(cursors)
        .filter(|(f, &c)| c < f.reader.key_count())
        .map(|(f, &c)| f.reader.key(c))
        .min()
        .map(<[u8]>::to_vec)
}

/// Writes one key's merged points; whether anything was left to write.
fn merge_key(
    writer: &mut TsmWriter,
    inputs: &[TsmFile],
    key: &[u8],
    holders: &[(usize, usize)],
) -> Result<bool> {
    if let [(n, i)] = holders {
        let f = &inputs[*n];
        if !f.tombstones.iter().any(|t| t.key == key) {
            let block_type = f.reader.block_type(*i);
            for b in f.reader.blocks(*i) {
                writer.write_block(key, block_type, b.min_time, b.max_time, f.reader.block_data(&b)?)?;
            }
            return Ok(true);
        }
    }
    let mut parts = Vec::with_capacity(holders.len());
    for &(n, i) in holders {
        parts.push(inputs[n].key_values(i)?);
    }
    let same_type = parts.windows(2).all(|w| w[0].1.block_type() == w[1].1.block_type());
    if !same_type {
        parts = parts.into_iter().filter_map(|(ts, v)| Some((ts, Values::Float(v.into_floats()?)))).collect();
    }
    let Some((mut ts, mut values)) = parts.first().cloned() else { return Ok(false) };
    for (t, v) in parts.into_iter().skip(1) {
        ts.extend(t);
        values.extend(v);
    }
    let keep = newest_per_timestamp(&ts);
    if keep.is_empty() {
        return Ok(false);
    }
    let ts: Vec<i64> = keep.iter().map(|&i| ts[i]).collect();
    writer.write_series(key, &ts, &values.select(&keep))?;
    Ok(true)
}

/// Positions of `ts` (concatenated oldest source first) sorted by time, keeping the last of
/// equal timestamps.
pub fn newest_per_timestamp(ts: &[i64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..ts.len()).collect();
    order.sort_by_key(|&i| ts[i]); // stable
    let mut keep: Vec<usize> = Vec::with_capacity(order.len());
    for i in order {
        match keep.last_mut() {
            Some(last) if ts[*last] == ts[i] => *last = i,
            _ => keep.push(i),
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_of_equal_timestamps_is_kept_in_time_order() {
        assert_eq!(newest_per_timestamp(&[30, 10, 30, 20, 10]), [4, 3, 2]);
    }
}
