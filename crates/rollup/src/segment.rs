//! A segment file: one tier's windows of every series over one span `(start, end]`.
//! Written whole to a temporary file, synced and renamed into place; never modified.
//! docs/format/rollup.md has the byte tables; in short (integers little-endian, varints as
//! Prometheus' — LEB128, signed ones zigzag):
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `STRATARL` |
//! | 1 | version, 1 |
//! | 8, 8, 8 | resolution ms, span start ms, span end ms (i64) |
//! | 4 | series count (u32) |
//! | 8 | offset of the sketch section (u64) |
//! | 4 | CRC-32 (IEEE) of the 45 bytes before |
//! | 4, 4, n | the series table: its length n (u32), its CRC-32, then per series its labels (uvarint count, then uvarint-prefixed name and value of each) and the length of its window record (uvarint) |
//! | per series, in the table's order | the window record: u32 CRC-32, then its bytes |
//! | sketch section: per series, in the same order | u32 length, u32 CRC-32, the sketches of the series' kind-2 windows, each uvarint-length-prefixed |
//!
//! The table lets a reader pick the series its matchers select without touching the other
//! series' windows. A window record: uvarint window count, then each window: uvarint gap
//! (windows skipped since the previous one), a kind byte, and
//! - kind 0, only a stale marker: varint (stale time − window end);
//! - kind 1, one value: varint (time − end), f64 value;
//! - kind 2, several values: uvarint count, f64 sum, f64 sum compensation, f64 min, f64 max,
//!   varint (first time − end), f64 first value, varint (last time − end), f64 last value,
//!   f64 reset sum, uvarint resets, changes, non-finite values (its sketch is in the sketch
//!   section: only quantiles read it; readers map the file, so the others never touch those
//!   pages);
//!
//! and for kinds 1 and 2 a stale byte: 0, or 1 followed by varint (stale time − end).
//! Kind 1 is the common case of a tier finer than the scrape interval: 10 bytes or so
//! instead of a full aggregate.

use std::path::Path;

use strata_codec::varint::{put_uvarint, put_varint, read_uvarint, read_varint};
use strata_model::{Labels, Matcher, NameValidation};

use crate::aggregate::WindowAggregate;
use crate::sketch::Sketch;
use crate::RollupError;

const MAGIC: &[u8; 8] = b"STRATARL";
const VERSION: u8 = 1;
/// Bytes of the header, which says where the sketch section starts.
pub const HEADER_LEN: usize = 8 + 1 + 24 + 4 + 8 + 4;

/// One series' windows in a tier.
#[derive(Debug, Clone, PartialEq)]
pub struct RolledSeries {
    pub labels: Labels,
    /// Windows in time order, at most one per window end.
    pub windows: Vec<WindowAggregate>,
}

/// The header of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    pub resolution: i64,
    /// The span `(start, end]` its windows end in.
    pub start: i64,
    pub end: i64,
    pub series: u32,
    /// Where the sketch section starts (bytes from the file's start).
    pub sketch_offset: u64,
}

/// Encodes a segment in memory (series in any order; each series' windows in time order
/// inside the span); `header.series` and `header.sketch_offset` are filled in here. The job
/// streams segments to disk with [`crate::segment_writer::SegmentWriter`], which lays out
/// the same bytes from the same parts.
pub fn encode(header: SegmentHeader, series: &[RolledSeries]) -> Vec<u8> {
    let mut parts = SeriesParts::default();
    let (mut table, mut records, mut sketches) = (Vec::new(), Vec::new(), Vec::new());
    for s in series {
        let (r, k) = parts.encode(header, &s.labels, &s.windows, &mut table);
        records.extend_from_slice(r);
        sketches.extend_from_slice(k);
    }
    let mut out = encode_head(header, series.len() as u32, &table, records.len() as u64);
    out.extend_from_slice(&records);
    out.extend_from_slice(&sketches);
    out
}

/// Scratch space that encodes one series at a time into a segment's three parts.
#[derive(Debug, Default)]
pub(crate) struct SeriesParts {
    record: Vec<u8>,
    sketch_record: Vec<u8>,
    windows: Vec<u8>,
    sketches: Vec<u8>,
}

impl SeriesParts {
    /// Appends the series' table entry to `table`; returns its checksummed window record and
    /// its checksummed sketch record, to be appended to the records and sketch sections.
    pub(crate) fn encode(
        &mut self,
        header: SegmentHeader,
        labels: &Labels,
        windows: &[WindowAggregate],
        table: &mut Vec<u8>,
    ) -> (&[u8], &[u8]) {
        self.windows.clear();
        self.sketches.clear();
        encode_windows(&mut self.windows, &mut self.sketches, header, windows);
        encode_labels(table, labels);
        put_uvarint(table, self.windows.len() as u64);
        self.record.clear();
        self.record.extend_from_slice(&crc32fast::hash(&self.windows).to_le_bytes());
        self.record.extend_from_slice(&self.windows);
        self.sketch_record.clear();
        self.sketch_record.extend_from_slice(&(self.sketches.len() as u32).to_le_bytes());
        self.sketch_record.extend_from_slice(&crc32fast::hash(&self.sketches).to_le_bytes());
        self.sketch_record.extend_from_slice(&self.sketches);
        (&self.record, &self.sketch_record)
    }
}

/// The header and the series table: everything before the window records, whose total
/// length places the sketch section.
pub(crate) fn encode_head(header: SegmentHeader, series: u32, table: &[u8], records_len: u64) -> Vec<u8> {
    let body = 8 + table.len() as u64 + records_len;
    let mut out = Vec::with_capacity(HEADER_LEN + 8 + table.len());
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&header.resolution.to_le_bytes());
    out.extend_from_slice(&header.start.to_le_bytes());
    out.extend_from_slice(&header.end.to_le_bytes());
    out.extend_from_slice(&series.to_le_bytes());
    out.extend_from_slice(&(HEADER_LEN as u64 + body).to_le_bytes());
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&(table.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(table).to_le_bytes());
    out.extend_from_slice(table);
    out
}

fn encode_labels(out: &mut Vec<u8>, labels: &Labels) {
    put_uvarint(out, labels.len() as u64);
    for l in labels.iter() {
        for text in [&l.name, &l.value] {
            put_uvarint(out, text.len() as u64);
            out.extend_from_slice(text.as_bytes());
        }
    }
}

fn encode_windows(
    out: &mut Vec<u8>,
    sketches: &mut Vec<u8>,
    header: SegmentHeader,
    windows: &[WindowAggregate],
) {
    put_uvarint(out, windows.len() as u64);
    let mut next_end = header.start + header.resolution;
    for w in windows {
        put_uvarint(out, ((w.end - next_end) / header.resolution) as u64);
        next_end = w.end + header.resolution;
        encode_window(out, sketches, w);
    }
}

fn encode_window(out: &mut Vec<u8>, sketches: &mut Vec<u8>, w: &WindowAggregate) {
    let end = w.end;
    if !w.has_values() {
        out.push(0);
        put_varint(out, w.stale_after.unwrap_or(end) - end);
        return;
    }
    if w.count == 1 {
        out.push(1);
        put_varint(out, w.last.0 - end);
        out.extend_from_slice(&w.last.1.to_bits().to_le_bytes());
    } else {
        out.push(2);
        put_uvarint(out, w.count);
        for v in [w.sum, w.sum_c, w.min, w.max] {
            out.extend_from_slice(&v.to_bits().to_le_bytes());
        }
        put_varint(out, w.first.0 - end);
        out.extend_from_slice(&w.first.1.to_bits().to_le_bytes());
        put_varint(out, w.last.0 - end);
        out.extend_from_slice(&w.last.1.to_bits().to_le_bytes());
        out.extend_from_slice(&w.reset_sum.to_bits().to_le_bytes());
        for n in [w.resets, w.changes, w.non_finite] {
            put_uvarint(out, n);
        }
        let mut sketch = Vec::new();
        w.sketch.encode(&mut sketch);
        put_uvarint(sketches, sketch.len() as u64);
        sketches.extend_from_slice(&sketch);
    }
    match w.stale_after {
        None => out.push(0),
        Some(t) => {
            out.push(1);
            put_varint(out, t - end);
        }
    }
}

/// A segment's bytes, read back; see [`Segment::series`].
#[derive(Debug)]
pub struct Segment<'a> {
    pub header: SegmentHeader,
    bytes: &'a [u8],
    path: &'a Path,
}

impl<'a> Segment<'a> {
    /// Checks the header of `bytes` (read from `path`, named in errors).
    pub fn parse(path: &'a Path, bytes: &'a [u8]) -> Result<Segment<'a>, RollupError> {
        let corrupt =
            |offset: usize, detail: String| RollupError::Corrupt { path: path.to_owned(), offset, detail };
        if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
            return Err(corrupt(0, "not a rollup segment (bad magic or too short)".into()));
        }
        if bytes[8] != VERSION {
            return Err(corrupt(8, format!("unknown segment version {}", bytes[8])));
        }
        let crc = u32::from_le_bytes(bytes[45..49].try_into().unwrap_or_default());
        if crc32fast::hash(&bytes[..45]) != crc {
            return Err(corrupt(45, "header checksum mismatch".into()));
        }
        let i64_at = |at: usize| i64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default());
        let header = SegmentHeader {
            resolution: i64_at(9),
            start: i64_at(17),
            end: i64_at(25),
            series: u32::from_le_bytes(bytes[33..37].try_into().unwrap_or_default()),
            sketch_offset: u64::from_le_bytes(bytes[37..45].try_into().unwrap_or_default()),
        };
        if header.resolution <= 0 || header.end <= header.start || header.sketch_offset < HEADER_LEN as u64 {
            return Err(corrupt(9, format!("impossible header {header:?}")));
        }
        Ok(Segment { header, bytes, path })
    }

    /// The series whose labels every matcher accepts, with their windows ending in
    /// `(mint, maxt]` (and their sketches `with_sketch`: the bytes must then hold the
    /// sketch section); a damaged record is an error naming the file and offset.
    pub fn series(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        with_sketch: bool,
    ) -> Result<Vec<RolledSeries>, RollupError> {
        let mut cursor = self.cursor(matchers, mint, maxt, with_sketch)?;
        let mut out = Vec::new();
        while let Some(s) = cursor.next_series()? {
            out.push(s);
        }
        Ok(out)
    }

    /// [`Segment::series`] one series at a time, in the file's order — what merges read,
    /// holding one series of each segment instead of all of them.
    pub fn cursor<'m>(
        &self,
        matchers: &'m [Matcher],
        mint: i64,
        maxt: i64,
        with_sketch: bool,
    ) -> Result<SeriesCursor<'a, 'm>, RollupError> {
        let mut table_pos = HEADER_LEN;
        let (table, table_at) = self.record(&mut table_pos, "series table")?;
        Ok(SeriesCursor {
            segment: Segment { header: self.header, bytes: self.bytes, path: self.path },
            table,
            table_at,
            table_read: 0,
            record_pos: table_pos,
            sketch_pos: self.header.sketch_offset as usize,
            left: self.header.series,
            matchers,
            mint,
            maxt,
            with_sketch,
        })
    }

    /// The checksummed record at `*pos` (moved past it) and its offset.
    fn record(&self, pos: &mut usize, what: &str) -> Result<(&'a [u8], usize), RollupError> {
        let at = *pos;
        let corrupt =
            |detail: String| RollupError::Corrupt { path: self.path.to_owned(), offset: at, detail };
        let Some(head) = self.bytes.get(at..at + 8) else {
            return Err(corrupt(format!("truncated: a {what} record is missing")));
        };
        let len = u32::from_le_bytes(head[..4].try_into().unwrap_or_default()) as usize;
        let crc = u32::from_le_bytes(head[4..].try_into().unwrap_or_default());
        let Some(payload) = self.bytes.get(at + 8..at + 8 + len) else {
            return Err(corrupt(format!("truncated: a {len}-byte {what} record runs past the end")));
        };
        if crc32fast::hash(payload) != crc {
            return Err(corrupt(format!("{what} record checksum mismatch")));
        }
        *pos = at + 8 + len;
        Ok((payload, at))
    }
}

/// Reads a segment's series one at a time ([`Segment::cursor`]).
#[derive(Debug)]
pub struct SeriesCursor<'a, 'm> {
    segment: Segment<'a>,
    table: &'a [u8],
    table_at: usize,
    /// Bytes of the table read so far.
    table_read: usize,
    /// Where the next series' window record and sketch record start.
    record_pos: usize,
    sketch_pos: usize,
    /// Series not read yet.
    left: u32,
    matchers: &'m [Matcher],
    mint: i64,
    maxt: i64,
    with_sketch: bool,
}

impl SeriesCursor<'_, '_> {
    /// The next series the matchers select that has windows in the range; `None` after the
    /// last (once the table and the sections are checked to end where they should).
    pub fn next_series(&mut self) -> Result<Option<RolledSeries>, RollupError> {
        while self.left > 0 {
            self.left -= 1;
            if let Some(s) = self.read_one()? {
                return Ok(Some(s));
            }
        }
        self.check_end()?;
        Ok(None)
    }

    fn corrupt_table(&self, detail: String) -> RollupError {
        RollupError::Corrupt { path: self.segment.path.to_owned(), offset: self.table_at, detail }
    }

    /// Reads the next series of the table: `None` if the matchers or the range leave it out.
    fn read_one(&mut self) -> Result<Option<RolledSeries>, RollupError> {
        let seg = &self.segment;
        let mut p = self.table_read;
        let pairs = decode_label_pairs(self.table, &mut p).map_err(|e| self.corrupt_table(e))?;
        let len = read_uvarint(self.table, &mut p).map_err(|e| self.corrupt_table(e.to_string()))? as usize;
        self.table_read = p;
        let at = self.record_pos;
        self.record_pos = self.record_pos.saturating_add(4).saturating_add(len);
        let sketches =
            if self.with_sketch { Some(seg.record(&mut self.sketch_pos, "sketch")?) } else { None };
        let value = |name: &str| pairs.iter().find(|(n, _)| *n == name).map_or("", |(_, v)| *v);
        if !self.matchers.iter().all(|m| m.matches(value(m.name()))) {
            return Ok(None);
        }
        let corrupt = |detail: String| RollupError::Corrupt { path: seg.path.to_owned(), offset: at, detail };
        let Some(bytes) = seg.bytes.get(at..self.record_pos) else {
            return Err(corrupt(format!("truncated: a {len}-byte window record runs past the end")));
        };
        let (crc, payload) = bytes.split_at(4);
        if crc32fast::hash(payload) != u32::from_le_bytes(crc.try_into().unwrap_or_default()) {
            return Err(corrupt("window record checksum mismatch".into()));
        }
        let labels = Labels::from_pairs_with(pairs.iter().copied(), NameValidation::Utf8)
            .map_err(|e| corrupt(format!("labels: {e}")))?;
        let (mint, maxt) = (self.mint, self.maxt);
        let mut read = 0;
        let mut windows =
            decode_windows(payload, &mut read, seg.header, mint, maxt, self.with_sketch).map_err(&corrupt)?;
        if read != payload.len() {
            return Err(corrupt(format!("{} bytes left over in a window record", payload.len() - read)));
        }
        if let Some((bytes, sketch_at)) = sketches {
            attach_sketches(&mut windows, bytes, mint, maxt).map_err(|detail| RollupError::Corrupt {
                path: seg.path.to_owned(),
                offset: sketch_at,
                detail,
            })?;
        }
        windows.retain(|w| w.end > mint && w.end <= maxt);
        Ok((!windows.is_empty()).then_some(RolledSeries { labels, windows }))
    }

    /// After the last series: the table is used up and the records end where the sketch
    /// section starts.
    fn check_end(&self) -> Result<(), RollupError> {
        if self.table_read != self.table.len() {
            return Err(self.corrupt_table(format!(
                "{} bytes left over in the series table",
                self.table.len() - self.table_read
            )));
        }
        if self.record_pos != self.segment.header.sketch_offset as usize {
            return Err(self.corrupt_table(format!(
                "the window records end at {}, the sketch section starts at {}",
                self.record_pos, self.segment.header.sketch_offset
            )));
        }
        Ok(())
    }
}

/// Fills the sketches of the windows in `(mint, maxt]` from a series' sketch record (one per
/// kind-2 window, in order; a one-value window's sketch is its value).
fn attach_sketches(
    windows: &mut [WindowAggregate],
    bytes: &[u8],
    mint: i64,
    maxt: i64,
) -> Result<(), String> {
    let mut pos = 0;
    for w in windows.iter_mut() {
        let wanted = w.end > mint && w.end <= maxt;
        if w.count == 1 {
            if wanted && w.last.1.is_finite() {
                w.sketch.add(w.last.1);
            }
            continue;
        }
        if w.count < 2 {
            continue;
        }
        let len = read_uvarint(bytes, &mut pos).map_err(|e| e.to_string())? as usize;
        let sketch = bytes.get(pos..pos.saturating_add(len)).ok_or("sketch runs past its record")?;
        pos += len;
        if wanted {
            let mut at = 0;
            w.sketch = Sketch::decode(sketch, &mut at)?;
            if at != len {
                return Err(format!("a sketch of {len} bytes decoded from {at}"));
            }
        }
    }
    if pos != bytes.len() {
        return Err(format!("{} bytes of sketches left over", bytes.len() - pos));
    }
    Ok(())
}

/// A record's labels, borrowed from it (checked as UTF-8).
fn decode_label_pairs<'b>(buf: &'b [u8], pos: &mut usize) -> Result<Vec<(&'b str, &'b str)>, String> {
    let n = read_uvarint(buf, pos).map_err(|e| e.to_string())?;
    if n > buf.len() as u64 {
        return Err(format!("{n} labels claimed in a {}-byte record", buf.len()));
    }
    let mut pairs = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let mut text = || -> Result<&'b str, String> {
            let len = read_uvarint(buf, pos).map_err(|e| e.to_string())? as usize;
            let bytes = buf.get(*pos..pos.saturating_add(len)).ok_or("label runs past the record")?;
            *pos += len;
            std::str::from_utf8(bytes).map_err(|_| "label is not UTF-8".to_string())
        };
        pairs.push((text()?, text()?));
    }
    Ok(pairs)
}

fn decode_windows(
    buf: &[u8],
    pos: &mut usize,
    header: SegmentHeader,
    mint: i64,
    maxt: i64,
    keep_all: bool,
) -> Result<Vec<WindowAggregate>, String> {
    let n = read_uvarint(buf, pos).map_err(|e| e.to_string())?;
    if n > buf.len() as u64 {
        return Err(format!("{n} windows claimed in a {}-byte record", buf.len()));
    }
    let mut out = Vec::with_capacity(n as usize);
    let mut next_end = header.start + header.resolution;
    for _ in 0..n {
        let gap = read_uvarint(buf, pos).map_err(|e| e.to_string())?;
        let end = i64::try_from(gap)
            .ok()
            .and_then(|g| g.checked_mul(header.resolution))
            .and_then(|g| g.checked_add(next_end))
            .filter(|&e| e <= header.end)
            .ok_or_else(|| format!("window gap {gap} leaves the span"))?;
        next_end = end + header.resolution;
        let w = decode_window(buf, pos, end)?;
        // With sketches, every window is kept until they are attached (they come in order).
        if keep_all || (end > mint && end <= maxt) {
            out.push(w);
        }
    }
    Ok(out)
}

fn decode_window(buf: &[u8], pos: &mut usize, end: i64) -> Result<WindowAggregate, String> {
    let kind = *buf.get(*pos).ok_or("record ends inside a window")?;
    *pos += 1;
    let varint = |pos: &mut usize| read_varint(buf, pos).map_err(|e| e.to_string());
    let uvarint = |pos: &mut usize| read_uvarint(buf, pos).map_err(|e| e.to_string());
    let float = |pos: &mut usize| -> Result<f64, String> {
        let b = buf.get(*pos..*pos + 8).ok_or("record ends inside a value")?;
        *pos += 8;
        Ok(f64::from_bits(u64::from_le_bytes(b.try_into().unwrap_or_default())))
    };
    let mut w = match kind {
        0 => return Ok(WindowAggregate::stale_only(end, end + varint(pos)?)),
        1 => {
            let t = end + varint(pos)?;
            // Its sketch (the value) is added only for a reader that wants sketches.
            WindowAggregate::single_without_sketch(end, t, float(pos)?)
        }
        2 => {
            let count = uvarint(pos)?;
            let (sum, sum_c, min, max) = (float(pos)?, float(pos)?, float(pos)?, float(pos)?);
            let first = (end + varint(pos)?, float(pos)?);
            let last = (end + varint(pos)?, float(pos)?);
            let reset_sum = float(pos)?;
            let (resets, changes, non_finite) = (uvarint(pos)?, uvarint(pos)?, uvarint(pos)?);
            let sketch = Sketch::new();
            WindowAggregate {
                end,
                count,
                sum,
                sum_c,
                min,
                max,
                first,
                last,
                reset_sum,
                resets,
                changes,
                non_finite,
                stale_after: None,
                sketch,
            }
        }
        other => return Err(format!("unknown window kind {other}")),
    };
    match buf.get(*pos) {
        Some(0) => *pos += 1,
        Some(1) => {
            *pos += 1;
            w.stale_after = Some(end + varint(pos)?);
        }
        _ => return Err("bad stale flag".into()),
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_series() -> Vec<RolledSeries> {
        let labels = |v: &str| Labels::from_pairs([("__name__", "cpu"), ("host", v)]).unwrap();
        let many = WindowAggregate::of_samples(120_000, &[(61_000, 5.0), (90_000, 3.0), (119_000, f64::NAN)])
            .unwrap();
        let one = WindowAggregate::of_samples(
            240_000,
            &[(200_000, 7.5), (230_000, f64::from_bits(strata_model::STALE_NAN_BITS))],
        )
        .unwrap();
        let stale =
            WindowAggregate::of_samples(300_000, &[(250_000, f64::from_bits(strata_model::STALE_NAN_BITS))])
                .unwrap();
        vec![
            RolledSeries { labels: labels("a"), windows: vec![many, one, stale] },
            RolledSeries { labels: labels("b"), windows: vec![WindowAggregate::single(60_000, 1, -2.0)] },
        ]
    }

    fn header() -> SegmentHeader {
        SegmentHeader { resolution: 60_000, start: 0, end: 600_000, series: 2, sketch_offset: 0 }
    }

    #[test]
    fn round_trips_every_window_kind() {
        let series = sample_series();
        let bytes = encode(header(), &series);
        let seg = Segment::parse(Path::new("x"), &bytes).unwrap();
        assert_eq!(
            (seg.header.resolution, seg.header.start, seg.header.end, seg.header.series),
            (60_000, 0, 600_000, 2)
        );
        assert!(
            seg.header.sketch_offset > HEADER_LEN as u64 && seg.header.sketch_offset < bytes.len() as u64
        );
        let back = seg.series(&[], i64::MIN, i64::MAX, true).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[1], series[1]);
        // NaN != NaN: compare the encodings instead.
        assert_eq!(encode(header(), &back), bytes);
        let only_b = seg.series(&[Matcher::equal("host", "b")], i64::MIN, i64::MAX, true).unwrap();
        assert_eq!(only_b, series[1..]);
        let later = seg.series(&[], 120_000, 300_000, true).unwrap();
        assert_eq!(later[0].windows.len(), 2, "windows ending in (mint, maxt]");
        let lean = seg.series(&[], i64::MIN, i64::MAX, false).unwrap();
        assert!(
            lean[0].windows[0].sketch.count() == 0 && back[0].windows[0].sketch.count() == 2,
            "sketches skipped"
        );
        assert_eq!(
            (lean[0].windows[0].count, lean[0].windows[0].max),
            (back[0].windows[0].count, back[0].windows[0].max)
        );
    }

    #[test]
    fn every_truncation_and_bit_flip_is_an_error_or_a_checked_answer() {
        let bytes = encode(header(), &sample_series());
        for cut in 0..bytes.len() {
            let b = &bytes[..cut];
            if let Ok(seg) = Segment::parse(Path::new("x"), b) {
                assert!(seg.series(&[], i64::MIN, i64::MAX, true).is_err(), "cut at {cut}");
            }
        }
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x10;
            let answer =
                Segment::parse(Path::new("x"), &b).and_then(|s| s.series(&[], i64::MIN, i64::MAX, true));
            assert!(answer.is_err(), "a flipped bit at {i} went unnoticed");
        }
    }
}
