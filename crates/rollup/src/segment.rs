//! A segment file: one tier's windows of every series over one span `(start, end]`.
//! Written whole to a temporary file, synced and renamed into place; never modified.
//! docs/format/rollup.md has the byte tables; in short (integers little-endian, varints as
//! Prometheus' — LEB128, signed ones zigzag):
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `STRATARL` |
//! | 1 | version, 2 (1 is still read) |
//! | 8, 8, 8 | resolution ms, span start ms, span end ms (i64) |
//! | 4 | series count (u32) |
//! | 8 | offset of the sketch section (u64) |
//! | 4 | CRC-32 (IEEE) of the 45 bytes before |
//! | 4, 4, n | the series table: its length n (u32), its CRC-32, then per series its labels (uvarint count, then uvarint-prefixed name and value of each) and the length of its window record (uvarint) |
//! | per series, in the table's order | the window record (module `window_record`: columns, each with its CRC-32; version 1: a CRC-32, then rows) |
//! | sketch section: per series, in the same order | u32 length, u32 CRC-32, the sketches of the series' windows of two or more values, each uvarint-length-prefixed |
//!
//! The table lets a reader pick the series its matchers select without touching the other
//! series' windows, and a version-2 record lets it read only the fields it needs; the
//! sketches are read only by quantiles (readers map the file, so the others never touch
//! those pages).

use std::collections::HashMap;
use std::path::Path;

use strata_codec::varint::{put_uvarint, read_uvarint};
use strata_model::{Labels, Matcher, NameValidation};

use crate::aggregate::WindowAggregate;
use crate::columns::{Fields, SeriesColumns, WindowColumns};
use crate::window_record;
use crate::RollupError;

const MAGIC: &[u8; 8] = b"STRATARL";
/// The version written; version 1 (row window records) is still read.
const VERSION: u8 = 2;
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
    sketches: Vec<u8>,
}

impl SeriesParts {
    /// Appends the series' table entry to `table`; returns its window record (whose columns
    /// carry their checksums) and its checksummed sketch record, to be appended to the
    /// records and sketch sections.
    pub(crate) fn encode(
        &mut self,
        header: SegmentHeader,
        labels: &Labels,
        windows: &[WindowAggregate],
        table: &mut Vec<u8>,
    ) -> (&[u8], &[u8]) {
        self.record.clear();
        self.sketches.clear();
        window_record::encode(&mut self.record, &mut self.sketches, header, windows);
        encode_labels(table, labels);
        put_uvarint(table, self.record.len() as u64);
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

/// A segment's bytes, read back; see [`Segment::series`].
#[derive(Debug)]
pub struct Segment<'a> {
    pub header: SegmentHeader,
    /// 1: row window records, each after its CRC-32; 2: columnar ones (module
    /// `window_record`).
    version: u8,
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
        if bytes[8] != VERSION && bytes[8] != 1 {
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
        Ok(Segment { header, version: bytes[8], bytes, path })
    }

    /// The format version of its window records.
    pub(crate) fn version(&self) -> u8 {
        self.version
    }

    /// The labels of a series table entry (`raw` as [`Located::raw_labels`] gives it);
    /// `at`, its window record's offset, names it in errors.
    pub(crate) fn labels_of(&self, raw: &[u8], at: usize) -> Result<Labels, RollupError> {
        let entry = Entry { raw_labels: raw, payload: &[], at, payload_at: at, sketches: None };
        entry.labels(self)
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

    /// The series whose labels every matcher accepts, with the `fields` of their windows
    /// ending in `(mint, maxt]` as columns (module `columns`): what queries read.
    pub fn columns(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        fields: Fields,
    ) -> Result<Vec<SeriesColumns>, RollupError> {
        let mut cursor = self.cursor(matchers, mint, maxt, fields.has(Fields::SKETCH))?;
        let mut out = Vec::new();
        while let Some(s) = cursor.next_columns(fields)? {
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
            segment: Segment {
                header: self.header,
                version: self.version,
                bytes: self.bytes,
                path: self.path,
            },
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
            pairs: Vec::new(),
            selections: None,
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
    /// The labels of the table entry being read (a buffer reused across entries).
    pairs: Vec<(&'a str, &'a str)>,
    /// Selections remembered across segments, when the reader keeps them.
    selections: Option<&'m mut Selections>,
}

/// A selected series of a segment: its labels as the series table holds them, its window
/// record (`at` in the file; version 1's checksum checked) and, when read, its checked
/// sketch record and where that starts.
struct Entry<'a> {
    raw_labels: &'a [u8],
    payload: &'a [u8],
    at: usize,
    /// Where `payload` starts in the file.
    payload_at: usize,
    sketches: Option<(&'a [u8], usize)>,
}

impl Entry<'_> {
    fn corrupt(&self, segment: &Segment<'_>, detail: String) -> RollupError {
        RollupError::Corrupt { path: segment.path.to_owned(), offset: self.at, detail }
    }

    /// The series' labels (built only where they are kept: the table's bytes identify a
    /// series across segments).
    fn labels(&self, segment: &Segment<'_>) -> Result<Labels, RollupError> {
        let mut pairs = Vec::new();
        decode_label_pairs(self.raw_labels, &mut 0, &mut pairs).map_err(|e| self.corrupt(segment, e))?;
        Labels::from_pairs_with(pairs, NameValidation::Utf8)
            .map_err(|e| self.corrupt(segment, format!("labels: {e}")))
    }
}

/// A selected series of a segment, found by [`SeriesCursor::next_located`]: its labels'
/// bytes in the series table, where its window record starts (`at`, named in errors), and
/// the byte ranges in the file of the record's payload and of its sketch record's payload
/// (both checksums already checked where the format has them).
pub(crate) struct Located<'a> {
    pub(crate) raw_labels: &'a [u8],
    pub(crate) at: usize,
    pub(crate) payload: std::ops::Range<usize>,
    pub(crate) sketches: Option<std::ops::Range<usize>>,
}

impl<'a, 'm> SeriesCursor<'a, 'm> {
    /// The next series the matchers select that has windows in the range; `None` after the
    /// last (once the table and the sections are checked to end where they should).
    pub fn next_series(&mut self) -> Result<Option<RolledSeries>, RollupError> {
        let fields = if self.with_sketch { Fields::ALL } else { Fields::ALL.without(Fields::SKETCH) };
        let Some((entry, columns)) = self.next_decoded(fields)? else { return Ok(None) };
        let windows = (0..columns.len())
            .map(|i| {
                let mut w = columns.window(i);
                if let Some((_, sketch_at)) = entry.sketches {
                    columns.sketch_into(i, &mut w.sketch).map_err(|detail| RollupError::Corrupt {
                        path: self.segment.path.to_owned(),
                        offset: sketch_at,
                        detail,
                    })?;
                }
                Ok(w)
            })
            .collect::<Result<_, RollupError>>()?;
        Ok(Some(RolledSeries { labels: entry.labels(&self.segment)?, windows }))
    }

    /// [`SeriesCursor::next_series`] with only `fields` of the windows, as columns (the
    /// cursor must have been made with sketches if `fields` holds them).
    pub fn next_columns(&mut self, fields: Fields) -> Result<Option<SeriesColumns>, RollupError> {
        let Some((entry, windows)) = self.next_decoded(fields)? else { return Ok(None) };
        Ok(Some(SeriesColumns { labels: entry.labels(&self.segment)?, windows }))
    }

    /// The next selected series with windows in the range, and those windows' `fields`.
    fn next_decoded(&mut self, fields: Fields) -> Result<Option<(Entry<'a>, WindowColumns)>, RollupError> {
        while let Some(entry) = self.next_entry()? {
            let mut windows = WindowColumns::new(fields);
            self.decode(&entry, &mut windows)?;
            if !windows.is_empty() {
                return Ok(Some((entry, windows)));
            }
        }
        Ok(None)
    }

    /// Decides series with `selections` (remembered across this thread's segments).
    pub(crate) fn remembering(mut self, selections: &'m mut Selections) -> Self {
        self.selections = Some(selections);
        self
    }

    /// The next selected series without decoding its windows: its labels as the series
    /// table holds them and where its checked records are (module `scan`).
    pub(crate) fn next_located(&mut self) -> Result<Option<Located<'a>>, RollupError> {
        let Some(entry) = self.next_entry()? else { return Ok(None) };
        Ok(Some(Located {
            raw_labels: entry.raw_labels,
            at: entry.at,
            payload: entry.payload_at..entry.payload_at + entry.payload.len(),
            sketches: entry.sketches.map(|(bytes, at)| at + 8..at + 8 + bytes.len()),
        }))
    }

    /// Appends the windows of `entry`'s record in the cursor's range to `out`; returns how
    /// many the record holds.
    fn decode(&self, entry: &Entry<'_>, out: &mut WindowColumns) -> Result<usize, RollupError> {
        window_record::decode(
            self.segment.version,
            entry.payload,
            self.segment.header,
            (self.mint, self.maxt),
            entry.sketches.map(|s| s.0),
            out,
        )
        .map_err(|detail| entry.corrupt(&self.segment, detail))
    }

    /// The next series the matchers select, its window record checked; `None` after the
    /// last (once the table and the sections are checked to end where they should).
    fn next_entry(&mut self) -> Result<Option<Entry<'a>>, RollupError> {
        while self.left > 0 {
            self.left -= 1;
            if let Some(entry) = self.read_one()? {
                return Ok(Some(entry));
            }
        }
        self.check_end()?;
        Ok(None)
    }

    fn corrupt_table(&self, detail: String) -> RollupError {
        RollupError::Corrupt { path: self.segment.path.to_owned(), offset: self.table_at, detail }
    }

    /// Whether the matchers select the series whose labels are `raw` (a table entry's).
    fn selects(&mut self, raw: &'a [u8]) -> Result<bool, RollupError> {
        if let Some(&known) = self.selections.as_ref().and_then(|s| s.by_bytes.get(raw)) {
            return Ok(known);
        }
        let mut pairs = std::mem::take(&mut self.pairs);
        decode_label_pairs(raw, &mut 0, &mut pairs).map_err(|e| self.corrupt_table(e))?;
        let value = |name: &str| pairs.iter().find(|(n, _)| *n == name).map_or("", |(_, v)| *v);
        let selected = self.matchers.iter().all(|m| m.matches(value(m.name())));
        self.pairs = pairs;
        if let Some(s) = self.selections.as_mut().filter(|s| s.by_bytes.len() < MAX_SELECTIONS) {
            s.by_bytes.insert(raw.into(), selected);
        }
        Ok(selected)
    }

    /// Reads the next series of the table: `None` if the matchers leave it out.
    fn read_one(&mut self) -> Result<Option<Entry<'a>>, RollupError> {
        let mut p = self.table_read;
        walk_label_pairs(self.table, &mut p, |_, _| Ok(())).map_err(|e| self.corrupt_table(e))?;
        let raw_labels = &self.table[self.table_read..p];
        let selected = self.selects(raw_labels)?;
        let seg = &self.segment;
        let len = read_uvarint(self.table, &mut p).map_err(|e| self.corrupt_table(e.to_string()))? as usize;
        self.table_read = p;
        let at = self.record_pos;
        // Version 1 puts a CRC-32 of the record in front; version 2's columns carry theirs.
        let crc_len = if seg.version == 1 { 4 } else { 0 };
        self.record_pos = self.record_pos.saturating_add(crc_len).saturating_add(len);
        let sketches =
            if self.with_sketch { Some(seg.record(&mut self.sketch_pos, "sketch")?) } else { None };
        if !selected {
            return Ok(None);
        }
        let corrupt = |detail: String| RollupError::Corrupt { path: seg.path.to_owned(), offset: at, detail };
        let Some(bytes) = seg.bytes.get(at..self.record_pos) else {
            return Err(corrupt(format!("truncated: a {len}-byte window record runs past the end")));
        };
        let (crc, payload) = bytes.split_at(crc_len);
        if seg.version == 1
            && crc32fast::hash(payload) != u32::from_le_bytes(crc.try_into().unwrap_or_default())
        {
            return Err(corrupt("window record checksum mismatch".into()));
        }
        Ok(Some(Entry { raw_labels, payload, at, payload_at: at + crc_len, sketches }))
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

/// A record's labels into `pairs` (emptied first), borrowed from it (checked as UTF-8).
fn decode_label_pairs<'b>(
    buf: &'b [u8],
    pos: &mut usize,
    pairs: &mut Vec<(&'b str, &'b str)>,
) -> Result<(), String> {
    pairs.clear();
    let text = |bytes: &'b [u8]| std::str::from_utf8(bytes).map_err(|_| "label is not UTF-8".to_string());
    walk_label_pairs(buf, pos, |name, value| {
        pairs.push((text(name)?, text(value)?));
        Ok(())
    })
}

/// Walks the label pairs of a table entry at `*pos` (moved past them), giving each name
/// and value as bytes.
fn walk_label_pairs<'b>(
    buf: &'b [u8],
    pos: &mut usize,
    mut each: impl FnMut(&'b [u8], &'b [u8]) -> Result<(), String>,
) -> Result<(), String> {
    let n = read_uvarint(buf, pos).map_err(|e| e.to_string())?;
    if n > buf.len() as u64 {
        return Err(format!("{n} labels claimed in a {}-byte record", buf.len()));
    }
    let bytes = |pos: &mut usize| -> Result<&'b [u8], String> {
        let len = read_uvarint(buf, pos).map_err(|e| e.to_string())? as usize;
        let bytes = buf.get(*pos..pos.saturating_add(len)).ok_or("label runs past the record")?;
        *pos += len;
        Ok(bytes)
    };
    for _ in 0..n {
        let name = bytes(pos)?;
        each(name, bytes(pos)?)?;
    }
    Ok(())
}

/// Whether the matchers select a series, by its labels' bytes in a series table. One
/// thread's scan of many segments meets the same series in each: deciding again from the
/// bytes is a hash lookup instead of checking every label as UTF-8 and matching it (bytes
/// once checked and decided stay decided; at most [`MAX_SELECTIONS`] are kept).
#[derive(Debug, Default)]
pub(crate) struct Selections {
    by_bytes: HashMap<Box<[u8]>, bool, foldhash::fast::RandomState>,
}

/// Series a [`Selections`] remembers at most (beyond, series are decided from their labels).
const MAX_SELECTIONS: usize = 1 << 17;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sketch::Sketch;

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

    /// A read of one field gives that field as a read of every field does (decoding skips
    /// the rest and fills a window of one value, or none, from its last).
    #[test]
    fn each_field_alone_reads_as_with_every_field() {
        let bytes = encode(header(), &sample_series());
        let seg = Segment::parse(Path::new("x"), &bytes).unwrap();
        let all = seg.columns(&[], i64::MIN, i64::MAX, Fields::ALL).unwrap();
        for (bit, field) in Fields::EACH.into_iter().enumerate() {
            let one = seg.columns(&[], i64::MIN, i64::MAX, field).unwrap();
            for (a, o) in all.iter().zip(&one) {
                assert_eq!(a.windows.ends(), o.windows.ends());
                for i in 0..a.windows.len() {
                    let (wa, wo) = (a.windows.window(i), o.windows.window(i));
                    let kept = |w: &WindowAggregate| {
                        let pick = |f: Fields, text: String| if field.has(f) { text } else { String::new() };
                        [
                            format!("{}", w.count),
                            pick(Fields::SUM, format!("{:?}", (w.sum, w.sum_c))),
                            pick(Fields::MIN, format!("{:?}", w.min)),
                            pick(Fields::MAX, format!("{:?}", w.max)),
                            pick(Fields::FIRST, format!("{:?}", w.first)),
                            pick(Fields::LAST, format!("{:?}", w.last)),
                            pick(Fields::RESETS, format!("{:?}", (w.reset_sum, w.resets))),
                            pick(Fields::CHANGES, format!("{}", w.changes)),
                            pick(Fields::NON_FINITE, format!("{}", w.non_finite)),
                            pick(Fields::STALE, format!("{:?}", w.stale_after)),
                        ]
                    };
                    assert_eq!(kept(&wa), kept(&wo), "field {bit}, window {i} of {}", a.labels);
                    if field.has(Fields::SKETCH) {
                        let (mut sa, mut so) = (Sketch::new(), Sketch::new());
                        a.windows.sketch_into(i, &mut sa).unwrap();
                        o.windows.sketch_into(i, &mut so).unwrap();
                        assert_eq!(sa, so, "sketch of window {i}");
                    }
                }
            }
        }
    }

    /// Segments written before version 2 (row window records) are still read: this one was
    /// written by the version-1 encoder from `sample_series()`.
    #[test]
    fn a_version_1_segment_reads_as_it_was_written() {
        let v1 = include_bytes!("../tests/fixtures/segment-v1.seg");
        let seg = Segment::parse(Path::new("v1"), v1).unwrap();
        assert_eq!(seg.version, 1);
        let back = seg.series(&[], i64::MIN, i64::MAX, true).unwrap();
        // NaN != NaN: compared by their version-2 encodings.
        assert_eq!(encode(header(), &back), encode(header(), &sample_series()));
        let sums = seg.columns(&[Matcher::equal("host", "a")], i64::MIN, i64::MAX, Fields::SUM).unwrap();
        assert_eq!((sums[0].windows.len(), sums[0].windows.window(1).sum_value()), (3, 7.5));
        let mut flipped = v1.to_vec();
        let last_record_byte = seg.header.sketch_offset as usize - 1;
        flipped[last_record_byte] ^= 1;
        let seg = Segment::parse(Path::new("v1"), &flipped).unwrap();
        assert!(
            seg.series(&[], i64::MIN, i64::MAX, false).is_err(),
            "version 1's record checksum is checked"
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
