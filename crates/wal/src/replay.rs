//! Recovery: replaying a log, checkpoint first, and deciding what damage means.
//!
//! Replay reads the newest complete checkpoint (`checkpoint.N/`, see `checkpoint`), then
//! every segment numbered above N, in order, calling back with each record. What it does
//! on damage:
//! - **torn tail** — a bad or cut-off record in the *last* segment with nothing valid
//!   after it (what a crash mid-write leaves): the segment is truncated there, the dropped
//!   bytes are reported, and replay succeeds. Nothing acknowledged is lost: an append is
//!   acknowledged only after its whole write (and, per policy, fsync) finished;
//! - **damage in the middle** — a bad record followed by valid ones, in any segment, or a
//!   missing segment in the sequence: by default replay stops there and returns
//!   [`WalError::Corrupt`] naming the segment and offset, so that the operator decides.
//!   With `repair` (like Prometheus' repair), the damaged segment is truncated at the
//!   damage and every later segment is deleted, and replay succeeds — reporting exactly
//!   what was dropped.
//!
//! It never panics, whatever the bytes on disk.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::checkpoint::latest_checkpoint;
use crate::record::Record;
use crate::segment::{list_segments, scan};
use crate::{Result, WalError};

/// How replay treats damage in the middle of the log.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReplayOptions {
    /// Truncate at damage in the middle (dropping what follows) instead of failing.
    pub repair: bool,
}

/// What replay found in one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentReport {
    /// Segment number.
    pub segment: u32,
    /// `Some(N)` for a segment of checkpoint N.
    pub checkpoint: Option<u32>,
    /// Records read.
    pub valid_records: u64,
    /// Damaged records found (0 or 1: reading a segment stops at the first).
    pub corrupt_records: u64,
    /// Where the damage was, and what.
    pub damage: Option<String>,
    /// Bytes removed from this segment (truncation or deletion).
    pub bytes_dropped: u64,
}

/// What replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// One entry per segment read (checkpoint segments first).
    pub segments: Vec<SegmentReport>,
    /// Segments deleted by `repair`.
    pub deleted_segments: Vec<u32>,
    /// Milliseconds taken.
    pub elapsed_ms: u64,
}

impl ReplayReport {
    /// Bytes dropped in all.
    pub fn bytes_dropped(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes_dropped).sum()
    }
}

/// Replays the log in `dir`; see the module docs.
pub fn replay(dir: &Path, options: ReplayOptions, mut on_record: impl FnMut(Record)) -> Result<ReplayReport> {
    let started = Instant::now();
    let mut report = ReplayReport::default();
    let checkpoint = latest_checkpoint(dir)?;
    if let Some((n, path)) = &checkpoint {
        let segments = list_segments(path)?;
        replay_segments(&segments, None, Some(*n), false, options, &mut on_record, &mut report)?;
    }
    let after = checkpoint.map(|(n, _)| n);
    let segments: Vec<_> =
        list_segments(dir)?.into_iter().filter(|(n, _)| after.is_none_or(|c| *n > c)).collect();
    replay_segments(&segments, after.map(|c| c + 1), None, true, options, &mut on_record, &mut report)?;
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// Replays the segments of one directory (a checkpoint's, or the log's numbered in
/// `(after, upto]`), without looking for checkpoints. For writing checkpoints: every
/// segment read is closed, so damage anywhere is damage in the middle.
pub(crate) fn replay_dir(
    dir: &Path,
    range: Option<(Option<u32>, u32)>,
    options: ReplayOptions,
    on_record: &mut impl FnMut(Record),
) -> Result<ReplayReport> {
    let mut report = ReplayReport::default();
    let mut segments = list_segments(dir)?;
    let mut expected_first = None;
    if let Some((after, upto)) = range {
        segments.retain(|(n, _)| after.is_none_or(|a| *n > a) && *n <= upto);
        expected_first = after.map(|a| a + 1);
        // Closed segments only: treat the last as if more followed.
        let closed = segments.last().is_some_and(|(n, _)| *n == upto);
        if !closed {
            return Err(WalError::Corrupt {
                segment: upto,
                path: dir.join(crate::segment::segment_name(upto)),
                offset: 0,
                detail: format!("segment {upto:08} to checkpoint up to does not exist"),
            });
        }
    }
    // Every segment read here is closed: damage at the end of the last is not a torn tail.
    replay_segments(&segments, expected_first, None, false, options, on_record, &mut report)?;
    Ok(report)
}

/// Replays `segments` in order. `ends_log`: the last of them is the log's newest segment,
/// where a crash mid-write leaves a torn tail (anywhere else damage is in the middle).
fn replay_segments(
    segments: &[(u32, PathBuf)],
    expected_first: Option<u32>,
    checkpoint: Option<u32>,
    ends_log: bool,
    options: ReplayOptions,
    on_record: &mut impl FnMut(Record),
    report: &mut ReplayReport,
) -> Result<()> {
    let mut expected = expected_first.or(segments.first().map(|(n, _)| *n));
    for (i, (n, path)) in segments.iter().enumerate() {
        let is_last = ends_log && i + 1 == segments.len();
        if expected.is_some_and(|e| e != *n) {
            // A gap: the missing segment's records are gone, and what follows cannot be
            // replayed in order without them.
            let detail = format!("segment {:08} is missing before {n:08}", expected.unwrap_or(*n));
            if !options.repair {
                return Err(WalError::Corrupt { segment: *n, path: path.clone(), offset: 0, detail });
            }
            return delete_from(&segments[i..], report);
        }
        expected = Some(n + 1);
        let seg = replay_segment(*n, checkpoint, path, is_last, options, on_record)?;
        let damaged_mid = seg.damage.is_some() && !is_last_or_torn(&seg, is_last);
        report.segments.push(seg);
        if damaged_mid {
            return delete_from(&segments[i + 1..], report);
        }
    }
    Ok(())
}

fn is_last_or_torn(seg: &SegmentReport, is_last: bool) -> bool {
    is_last && seg.damage.as_deref().is_some_and(|d| d.starts_with("torn tail"))
}

fn delete_from(segments: &[(u32, PathBuf)], report: &mut ReplayReport) -> Result<()> {
    for (n, path) in segments {
        let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        std::fs::remove_file(path).map_err(|source| WalError::Io {
            op: "deleting",
            path: path.clone(),
            source,
        })?;
        report.deleted_segments.push(*n);
        report.segments.push(SegmentReport {
            segment: *n,
            checkpoint: None,
            valid_records: 0,
            corrupt_records: 0,
            damage: Some("deleted: it follows damage repaired away".into()),
            bytes_dropped: len,
        });
    }
    Ok(())
}

fn replay_segment(
    segment: u32,
    checkpoint: Option<u32>,
    path: &Path,
    is_last: bool,
    options: ReplayOptions,
    on_record: &mut impl FnMut(Record),
) -> Result<SegmentReport> {
    let bytes =
        std::fs::read(path).map_err(|source| WalError::Io { op: "reading", path: path.into(), source })?;
    let scanned = scan(&bytes);
    let mut report = SegmentReport {
        segment,
        checkpoint,
        valid_records: 0,
        corrupt_records: 0,
        damage: None,
        bytes_dropped: 0,
    };
    // Records before the damage are good: hand them over, whatever comes next.
    for (offset, payload) in &scanned.records {
        match Record::decode(payload) {
            Ok(record) => {
                on_record(record);
                report.valid_records += 1;
            }
            Err(e) => {
                let detail = format!("record at byte {offset}: {e}");
                return Err(WalError::Corrupt { segment, path: path.into(), offset: *offset, detail });
            }
        }
    }
    let Some((offset, detail)) = scanned.corruption else { return Ok(report) };
    report.corrupt_records = 1;
    let torn_tail = is_last && !scanned.valid_after_corruption;
    if !torn_tail && !options.repair {
        let detail = format!(
            "{detail} (valid records follow: pass the repair option to truncate here and drop the rest)"
        );
        return Err(WalError::Corrupt { segment, path: path.into(), offset, detail });
    }
    // Cut right after the last complete record: no partial record may stay behind.
    let cut = scanned.valid_len;
    report.bytes_dropped = bytes.len() as u64 - cut;
    report.damage = Some(if torn_tail {
        format!("torn tail at byte {offset}: {detail}; truncated to {cut} bytes")
    } else {
        format!("damage at byte {offset}: {detail}; repaired by truncating to {cut} bytes")
    });
    let file = OpenOptions::new().write(true).open(path).map_err(|source| WalError::Io {
        op: "opening",
        path: path.into(),
        source,
    })?;
    file.set_len(cut).and_then(|()| file.sync_all()).map_err(|source| WalError::Io {
        op: "truncating",
        path: path.into(),
        source,
    })?;
    Ok(report)
}
