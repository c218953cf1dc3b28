//! Checkpoints: compacting the start of the log.
//!
//! A checkpoint `checkpoint.N/` holds, in ordinary segments, what segments up to N still
//! matter for: the series that are still alive and their samples and tombstones from a
//! given time on (older samples are in blocks by then). Replay then starts from it and
//! reads only segments above N. As Prometheus does it:
//! 1. read the previous checkpoint (if any) and segments up to N, keeping what matters;
//! 2. write it to `checkpoint.N.tmp/`, fsync, rename to `checkpoint.N/`, fsync the directory;
//! 3. only then delete segments up to N and older checkpoints.
//!
//! A crash before the rename leaves a `.tmp` directory that replay ignores (and the next
//! checkpoint removes) and every segment intact; a crash after it leaves segments that
//! replay skips because the checkpoint covers them. Either way nothing is lost.

use std::path::{Path, PathBuf};

use crate::record::Record;
use crate::replay::{replay_dir, ReplayOptions};
use crate::segment::list_segments;
use crate::writer::{SyncPolicy, Wal, WalOptions};
use crate::{Result, WalError};

/// What a checkpoint kept and removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckpointReport {
    /// The checkpoint written (it covers segments up to this number).
    pub checkpoint: u32,
    /// Records read and records written.
    pub records_in: u64,
    /// Series, sample and tombstone entries kept.
    pub series_kept: u64,
    /// Samples kept.
    pub samples_kept: u64,
    /// Samples dropped (older than the cut-off or of dead series).
    pub samples_dropped: u64,
    /// Segments deleted.
    pub deleted_segments: Vec<u32>,
    /// Older checkpoints deleted.
    pub deleted_checkpoints: Vec<u32>,
    /// Bytes of the deleted segments and checkpoints.
    pub bytes_removed: u64,
}

/// The newest complete checkpoint in `dir`, if any.
pub fn latest_checkpoint(dir: &Path) -> Result<Option<(u32, PathBuf)>> {
    Ok(list_checkpoints(dir)?.pop())
}

fn list_checkpoints(dir: &Path) -> Result<Vec<(u32, PathBuf)>> {
    let mut out = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|source| WalError::Io { op: "listing", path: dir.into(), source })?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(n) = name.to_str().and_then(|n| n.strip_prefix("checkpoint.")) else { continue };
        if n.len() == 8 && n.bytes().all(|b| b.is_ascii_digit()) && entry.path().is_dir() {
            if let Ok(n) = n.parse() {
                out.push((n, entry.path()));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Records a checkpoint gathers before writing them.
const KEPT_BATCH: usize = 64;

/// Writes a checkpoint of segments up to `upto` (which must all be closed), keeping series
/// for which `keep` holds and their samples and tombstones at or after `min_time`; then
/// deletes what it covers. See the module docs.
pub fn checkpoint(
    dir: &Path,
    upto: u32,
    min_time: i64,
    keep: impl Fn(u64) -> bool,
) -> Result<CheckpointReport> {
    let mut report = CheckpointReport { checkpoint: upto, ..Default::default() };
    let previous = latest_checkpoint(dir)?;
    let final_dir = dir.join(format!("checkpoint.{upto:08}"));
    let tmp = dir.join(format!("checkpoint.{upto:08}.tmp"));
    let io = |op, path: &Path| {
        let path = path.to_path_buf();
        move |source| WalError::Io { op, path, source }
    };
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io("removing", &tmp))?;
    }
    // Kept records are written as they are read, 64 at a time: what a checkpoint keeps can
    // be an hour of samples (hundreds of MB decoded), which must not sit in memory at once.
    let out = Wal::open(&tmp, WalOptions { policy: SyncPolicy::None, ..WalOptions::default() })?;
    let mut kept: Vec<Record> = Vec::with_capacity(KEPT_BATCH);
    let mut write_error: Option<WalError> = None;
    let flush = |kept: &mut Vec<Record>, write_error: &mut Option<WalError>| {
        if write_error.is_none() && !kept.is_empty() {
            if let Err(e) = out.append(kept) {
                *write_error = Some(e);
            }
        }
        kept.clear();
    };
    let mut on_record = |record: Record| {
        report.records_in += 1;
        match record {
            Record::Series(mut s) => {
                s.retain(|s| keep(s.series_ref));
                report.series_kept += s.len() as u64;
                if !s.is_empty() {
                    kept.push(Record::Series(s));
                }
            }
            Record::Samples(mut s) => {
                let before = s.len();
                s.retain(|s| keep(s.series_ref) && s.t >= min_time);
                report.samples_kept += s.len() as u64;
                report.samples_dropped += (before - s.len()) as u64;
                if !s.is_empty() {
                    kept.push(Record::Samples(s));
                }
            }
            Record::Tombstones(mut t) => {
                t.retain(|t| keep(t.series_ref) && t.maxt >= min_time);
                if !t.is_empty() {
                    kept.push(Record::Tombstones(t));
                }
            }
            Record::Histograms(mut h) => {
                let before = h.len();
                h.retain(|h| keep(h.series_ref) && h.t >= min_time);
                report.samples_kept += h.len() as u64;
                report.samples_dropped += (before - h.len()) as u64;
                kept.extend(crate::histogram_records(h));
            }
            Record::FloatHistograms(mut h) => {
                let before = h.len();
                h.retain(|h| keep(h.series_ref) && h.t >= min_time);
                report.samples_kept += h.len() as u64;
                report.samples_dropped += (before - h.len()) as u64;
                kept.extend(crate::float_histogram_records(h));
            }
            Record::Other(_) => {}
        }
        if kept.len() >= KEPT_BATCH {
            flush(&mut kept, &mut write_error);
        }
    };
    if let Some((_, path)) = &previous {
        replay_dir(path, None, ReplayOptions::default(), &mut on_record)?;
    }
    replay_dir(dir, Some((previous.as_ref().map(|p| p.0), upto)), ReplayOptions::default(), &mut on_record)?;
    flush(&mut kept, &mut write_error);
    if let Some(e) = write_error {
        return Err(e);
    }
    out.sync()?;
    drop(out);
    strata_failpoint::hit(strata_failpoint::Point::CheckpointBeforeRename);
    std::fs::rename(&tmp, &final_dir).map_err(io("renaming", &tmp))?;
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io("syncing", dir))?;
    strata_failpoint::hit(strata_failpoint::Point::CheckpointAfterRename);

    for (n, path) in list_segments(dir)?.into_iter().filter(|(n, _)| *n <= upto) {
        report.bytes_removed += std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        std::fs::remove_file(&path).map_err(io("deleting", &path))?;
        report.deleted_segments.push(n);
    }
    for (n, path) in list_checkpoints(dir)?.into_iter().filter(|(n, _)| *n < upto) {
        report.bytes_removed += dir_size(&path);
        std::fs::remove_dir_all(&path).map_err(io("deleting", &path))?;
        report.deleted_checkpoints.push(n);
    }
    Ok(report)
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map_or(0, |entries| entries.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
}
