//! A series' window record inside a segment: version 2 is columnar, version 1 (still read)
//! a row per window. docs/format/rollup.md has the byte tables.
//!
//! Why columns: a query reads one or two fields of a window (`avg_over_time` its sum and
//! count, `rate` its edges and reset sum), but a row of version 1 is ~90 bytes with eight
//! varints, all of which had to be walked to reach the next window — a year of a 1h tier
//! for 500 series decoded at ~90 ns a window, more than the raw samples' query saved. In
//! version 2 each field is a column with its own length and CRC-32, so a reader walks and
//! checks only the columns it needs and skips the rest by their lengths.
//!
//! Version 2, after the counts `n` (windows), `k` (windows of two or more values) and `m`
//! (windows with values), holds twelve columns, each `uvarint length, u32 CRC-32, bytes`:
//!
//! | column | per | content |
//! |---|---|---|
//! | gaps | window | uvarint windows skipped since the previous one |
//! | counts | window | uvarint values (0: only a stale marker) |
//! | stale | window with a stale time | uvarint index step, varint (stale time − end) |
//! | last | window with values | varint (time − end), f64 |
//! | sum, sum_c, min, max | window of ≥ 2 values | f64 |
//! | first | window of ≥ 2 values | varint (time − end), f64 |
//! | resets | window of ≥ 2 values | f64 reset sum, uvarint resets |
//! | changes, non_finite | window of ≥ 2 values | uvarint |
//!
//! A window of one value stores only its last value: everything else follows from it.

use strata_codec::varint::{put_uvarint, put_varint, read_uvarint, read_varint, zigzag_decode};

use crate::aggregate::WindowAggregate;
use crate::columns::{Fields, ManyFields, WindowColumns};
use crate::segment::SegmentHeader;
use crate::sketch::Sketch;

/// The columns of a version-2 record, in their order.
const GAPS: usize = 0;
const COUNTS: usize = 1;
const STALE: usize = 2;
const LAST: usize = 3;
const SUM: usize = 4;
const SUM_C: usize = 5;
const MIN: usize = 6;
const MAX: usize = 7;
const FIRST: usize = 8;
const RESETS: usize = 9;
const CHANGES: usize = 10;
const NON_FINITE: usize = 11;
const COLUMNS: usize = 12;

/// Appends the version-2 record of `windows` (time order, inside the header's span) to
/// `out`, and the sketches of its windows of two or more values to `sketches`.
pub(crate) fn encode(
    out: &mut Vec<u8>,
    sketches: &mut Vec<u8>,
    header: SegmentHeader,
    windows: &[WindowAggregate],
) {
    let mut columns: [Vec<u8>; COLUMNS] = Default::default();
    let (mut many, mut valued) = (0u64, 0u64);
    let mut next_end = header.start + header.resolution;
    let mut next_stale = 0;
    let mut sketch = Vec::new();
    for (i, w) in windows.iter().enumerate() {
        put_uvarint(&mut columns[GAPS], ((w.end - next_end) / header.resolution) as u64);
        next_end = w.end + header.resolution;
        let count = if w.has_values() { w.count } else { 0 };
        put_uvarint(&mut columns[COUNTS], count);
        // A window of only a stale marker always has its time (version 1 wrote the end
        // for a missing one).
        if w.stale_after.is_some() || count == 0 {
            put_uvarint(&mut columns[STALE], (i - next_stale) as u64);
            put_varint(&mut columns[STALE], w.stale_after.unwrap_or(w.end) - w.end);
            next_stale = i + 1;
        }
        if count >= 1 {
            valued += 1;
            put_timed(&mut columns[LAST], w.last, w.end);
        }
        if count >= 2 {
            many += 1;
            put_f64(&mut columns[SUM], w.sum);
            put_f64(&mut columns[SUM_C], w.sum_c);
            put_f64(&mut columns[MIN], w.min);
            put_f64(&mut columns[MAX], w.max);
            put_timed(&mut columns[FIRST], w.first, w.end);
            put_f64(&mut columns[RESETS], w.reset_sum);
            put_uvarint(&mut columns[RESETS], w.resets);
            put_uvarint(&mut columns[CHANGES], w.changes);
            put_uvarint(&mut columns[NON_FINITE], w.non_finite);
            sketch.clear();
            w.sketch.encode(&mut sketch);
            put_uvarint(sketches, sketch.len() as u64);
            sketches.extend_from_slice(&sketch);
        }
    }
    put_uvarint(out, windows.len() as u64);
    put_uvarint(out, many);
    put_uvarint(out, valued);
    for column in &columns {
        put_uvarint(out, column.len() as u64);
        out.extend_from_slice(&crc32fast::hash(column).to_le_bytes());
        out.extend_from_slice(column);
    }
}

fn put_f64(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(&v.to_bits().to_le_bytes());
}

fn put_timed(out: &mut Vec<u8>, (t, v): (i64, f64), end: i64) {
    put_varint(out, t - end);
    put_f64(out, v);
}

/// Decodes a record of `version` into `out`: the windows ending in `(mint, maxt]`, the
/// fields `out` keeps; `sketches` is the series' sketch record when `out` keeps sketches.
/// Everything read is checked; an error says what is wrong. Returns how many windows the
/// record holds, in the range or not.
pub(crate) fn decode(
    version: u8,
    buf: &[u8],
    header: SegmentHeader,
    range: (i64, i64),
    sketches: Option<&[u8]>,
    out: &mut WindowColumns,
) -> Result<usize, String> {
    let mut sketches = sketches.map(|bytes| SketchReader { bytes, pos: 0 });
    let windows = match version {
        1 => decode_v1(buf, header, range, sketches.as_mut(), out)?,
        _ => decode_v2(buf, header, range, sketches.as_mut(), out)?,
    };
    match sketches {
        Some(s) if s.pos != s.bytes.len() => {
            Err(format!("{} bytes of sketches left over", s.bytes.len() - s.pos))
        }
        _ => Ok(windows),
    }
}

/// The sketches of a series' windows of two or more values, read in order.
struct SketchReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> SketchReader<'a> {
    fn next(&mut self) -> Result<&'a [u8], String> {
        let len = read_uvarint(self.bytes, &mut self.pos).map_err(|e| e.to_string())? as usize;
        let sketch =
            self.bytes.get(self.pos..self.pos.saturating_add(len)).ok_or("sketch runs past its record")?;
        self.pos += len;
        Ok(sketch)
    }
}

/// A column of a version-2 record, read front to back.
#[derive(Default)]
struct Column<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Its place among the columns (names it in errors).
    index: usize,
}

/// A column whose next value could not be read — cut short, or a varint too long — and
/// where in the column. Small, so the reads below return it in registers; worded only when
/// it happens.
#[derive(Debug, Clone, Copy)]
struct Damaged {
    column: u8,
    at: u32,
}

impl From<Damaged> for String {
    fn from(d: Damaged) -> String {
        format!(
            "the {} column is cut short or holds a malformed varint at its byte {}",
            NAMES[usize::from(d.column)],
            d.at
        )
    }
}

impl Column<'_> {
    /// Columns are walked a value at a time for millions of windows: the common varint
    /// (whole, under ten bytes) is decoded inline, the rest by the checked decoder.
    #[inline(always)]
    fn uvarint(&mut self) -> Result<u64, Damaged> {
        let (mut x, mut shift, mut p) = (0u64, 0, self.pos);
        while shift < 63 {
            let Some(&b) = self.bytes.get(p) else { break };
            p += 1;
            x |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                self.pos = p;
                return Ok(x);
            }
            shift += 7;
        }
        read_uvarint(self.bytes, &mut self.pos).map_err(|_| self.damaged())
    }

    #[cold]
    fn damaged(&self) -> Damaged {
        Damaged { column: self.index as u8, at: u32::try_from(self.pos).unwrap_or(u32::MAX) }
    }

    #[inline(always)]
    fn varint(&mut self) -> Result<i64, Damaged> {
        Ok(zigzag_decode(self.uvarint()?))
    }

    #[inline(always)]
    fn f64(&mut self) -> Result<f64, Damaged> {
        let b = self.bytes.get(self.pos..self.pos + 8).ok_or_else(|| self.damaged())?;
        self.pos += 8;
        Ok(f64::from_bits(u64::from_le_bytes(b.try_into().unwrap_or_default())))
    }

    #[inline(always)]
    fn timed(&mut self, end: i64) -> Result<(i64, f64), Damaged> {
        Ok((end + self.varint()?, self.f64()?))
    }

    fn check_used_up(&self) -> Result<(), String> {
        match self.bytes.len() - self.pos.min(self.bytes.len()) {
            0 => Ok(()),
            left => Err(format!("{left} bytes left over in the {} column", NAMES[self.index])),
        }
    }
}

const NAMES: [&str; COLUMNS] = [
    "gaps",
    "counts",
    "stale",
    "last",
    "sum",
    "sum_c",
    "min",
    "max",
    "first",
    "resets",
    "changes",
    "non_finite",
];

/// The columns `fields` needs: gaps and counts always; the last value of every window of
/// one value stands for all of its fields.
fn needed(fields: Fields, single_values: bool) -> [bool; COLUMNS] {
    let mut need = [false; COLUMNS];
    need[GAPS] = true;
    need[COUNTS] = true;
    need[STALE] = fields.has(Fields::STALE);
    need[LAST] = fields.has(Fields::LAST) || (single_values && fields != Fields::NONE);
    need[SUM] = fields.has(Fields::SUM);
    need[SUM_C] = fields.has(Fields::SUM);
    need[MIN] = fields.has(Fields::MIN);
    need[MAX] = fields.has(Fields::MAX);
    need[FIRST] = fields.has(Fields::FIRST);
    need[RESETS] = fields.has(Fields::RESETS);
    need[CHANGES] = fields.has(Fields::CHANGES);
    need[NON_FINITE] = fields.has(Fields::NON_FINITE);
    need
}

fn decode_v2(
    buf: &[u8],
    header: SegmentHeader,
    (mint, maxt): (i64, i64),
    mut sketches: Option<&mut SketchReader<'_>>,
    out: &mut WindowColumns,
) -> Result<usize, String> {
    // The record's head is read with the columns' inline varint decoder: a year of a 1h
    // tier is hundreds of thousands of small records, each with fifteen varints up front.
    let mut head = Column { bytes: buf, pos: 0, index: GAPS };
    let mut count = || {
        head.uvarint().map_err(|d| {
            format!("the record's window counts are cut short or malformed at the record's byte {}", d.at)
        })
    };
    let (n, many, valued) = (count()?, count()?, count()?);
    if n > buf.len() as u64 || many > valued || valued > n {
        return Err(format!("impossible window counts {n}, {many}, {valued} in a {}-byte record", buf.len()));
    }
    let need = needed(out.fields(), valued > many);
    let mut columns: [Column<'_>; COLUMNS] = Default::default();
    let mut pos = head.pos;
    for (i, column) in columns.iter_mut().enumerate() {
        head.pos = pos;
        let len = head.uvarint().map_err(|d| {
            format!(
                "the {} column's length is cut short or malformed at the record's byte {}",
                NAMES[i], d.at
            )
        })? as usize;
        pos = head.pos;
        let head = buf.get(pos..pos + 4).ok_or("record ends inside a column head")?;
        let crc = u32::from_le_bytes(head.try_into().unwrap_or_default());
        let bytes = buf.get(pos + 4..(pos + 4).saturating_add(len)).ok_or("a column runs past its record")?;
        pos += 4 + len;
        if need[i] && crc32fast::hash(bytes) != crc {
            return Err(format!("{} column checksum mismatch", NAMES[i]));
        }
        *column = Column { bytes: if need[i] { bytes } else { &[] }, pos: 0, index: i };
    }
    if pos != buf.len() {
        return Err(format!("{} bytes left over in a window record", buf.len() - pos));
    }
    out.reserve(n as usize, sketches.as_ref().map_or(0, |s| s.bytes.len()));
    let (mut seen_many, mut seen_valued) = (0, 0);
    let mut next_end = header.start + header.resolution;
    let mut next_stale = if need[STALE] { stale_index(&mut columns[STALE], 0)? } else { None };
    for i in 0..n as usize {
        let end = window_end(columns[GAPS].uvarint()?, header, next_end)?;
        next_end = end + header.resolution;
        let values = columns[COUNTS].uvarint()?;
        let mut last = (end, 0.0);
        if values >= 1 {
            seen_valued += 1;
            if need[LAST] {
                last = columns[LAST].timed(end)?;
            }
        }
        let (mut fields, mut sketch) = (ManyFields::default(), None);
        if values >= 2 {
            seen_many += 1;
            fields = read_many(&mut columns, &need, end)?;
            if let Some(s) = sketches.as_deref_mut() {
                sketch = Some(s.next()?);
            }
        }
        let mut stale_after = None;
        if next_stale == Some(i) {
            stale_after = Some(end + columns[STALE].varint()?);
            next_stale = stale_index(&mut columns[STALE], i + 1)?;
        }
        if end > mint && end <= maxt {
            out.push_decoded(end, values, last, &fields, stale_after, sketch);
        }
    }
    if (seen_many, seen_valued) != (many, valued) {
        return Err(format!(
            "counts say {many} and {valued} windows, the counts column {seen_many} and {seen_valued}"
        ));
    }
    if next_stale.is_some() {
        return Err("a stale time past the last window".into());
    }
    columns.iter().try_for_each(Column::check_used_up)?;
    Ok(n as usize)
}

/// The fields of a window of two or more values (ending at `end`) from the columns read.
#[inline(always)]
fn read_many(
    columns: &mut [Column<'_>; COLUMNS],
    need: &[bool; COLUMNS],
    end: i64,
) -> Result<ManyFields, Damaged> {
    let mut m = ManyFields::default();
    if need[SUM] {
        (m.sum, m.sum_c) = (columns[SUM].f64()?, columns[SUM_C].f64()?);
    }
    if need[MIN] {
        m.min = columns[MIN].f64()?;
    }
    if need[MAX] {
        m.max = columns[MAX].f64()?;
    }
    if need[FIRST] {
        m.first = columns[FIRST].timed(end)?;
    }
    if need[RESETS] {
        (m.reset_sum, m.resets) = (columns[RESETS].f64()?, columns[RESETS].uvarint()?);
    }
    if need[CHANGES] {
        m.changes = columns[CHANGES].uvarint()?;
    }
    if need[NON_FINITE] {
        m.non_finite = columns[NON_FINITE].uvarint()?;
    }
    Ok(m)
}

/// The index of the next window with a stale time, at or after `from`; `None` once the
/// column is used up.
fn stale_index(column: &mut Column<'_>, from: usize) -> Result<Option<usize>, String> {
    if column.pos >= column.bytes.len() {
        return Ok(None);
    }
    let step = usize::try_from(column.uvarint()?).map_err(|_| "stale index out of range")?;
    Ok(Some(from.checked_add(step).ok_or("stale index out of range")?))
}

/// The end of the window `gap` windows after the one ending at `next_end − resolution`.
#[inline(always)]
fn window_end(gap: u64, header: SegmentHeader, next_end: i64) -> Result<i64, String> {
    i64::try_from(gap)
        .ok()
        .and_then(|g| g.checked_mul(header.resolution))
        .and_then(|g| g.checked_add(next_end))
        .filter(|&e| e <= header.end)
        .ok_or_else(|| format!("window gap {gap} leaves the span"))
}

/// Version 1: a row per window (kind byte, then its fields; see the format doc).
fn decode_v1(
    buf: &[u8],
    header: SegmentHeader,
    (mint, maxt): (i64, i64),
    mut sketches: Option<&mut SketchReader<'_>>,
    out: &mut WindowColumns,
) -> Result<usize, String> {
    let mut pos = 0;
    let n = read_uvarint(buf, &mut pos).map_err(|e| e.to_string())?;
    if n > buf.len() as u64 {
        return Err(format!("{n} windows claimed in a {}-byte record", buf.len()));
    }
    out.reserve(n as usize, sketches.as_ref().map_or(0, |s| s.bytes.len()));
    let mut next_end = header.start + header.resolution;
    for _ in 0..n {
        let gap = read_uvarint(buf, &mut pos).map_err(|e| e.to_string())?;
        let end = window_end(gap, header, next_end)?;
        next_end = end + header.resolution;
        let w = decode_v1_window(buf, &mut pos, end)?;
        let sketch = match sketches.as_deref_mut() {
            Some(s) if w.count >= 2 => Some(s.next()?),
            _ => None,
        };
        if end > mint && end <= maxt {
            out.push(&w, sketch);
        }
    }
    if pos != buf.len() {
        return Err(format!("{} bytes left over in a window record", buf.len() - pos));
    }
    Ok(n as usize)
}

fn decode_v1_window(buf: &[u8], pos: &mut usize, end: i64) -> Result<WindowAggregate, String> {
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
            WindowAggregate::single_without_sketch(end, t, float(pos)?)
        }
        2 => {
            let count = uvarint(pos)?;
            let (sum, sum_c, min, max) = (float(pos)?, float(pos)?, float(pos)?, float(pos)?);
            let first = (end + varint(pos)?, float(pos)?);
            let last = (end + varint(pos)?, float(pos)?);
            let reset_sum = float(pos)?;
            let (resets, changes, non_finite) = (uvarint(pos)?, uvarint(pos)?, uvarint(pos)?);
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
                sketch: Sketch::new(),
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
    use proptest::prelude::*;
    use strata_model::STALE_NAN_BITS;

    use super::*;

    const RES: i64 = 60_000;

    fn header() -> SegmentHeader {
        SegmentHeader { resolution: RES, start: 0, end: 64 * RES, series: 1, sketch_offset: 0 }
    }

    /// Windows from per-window sample values (None: no window; stale markers included).
    fn windows_of(plan: &[Option<Vec<f64>>]) -> Vec<WindowAggregate> {
        plan.iter()
            .enumerate()
            .filter_map(|(i, values)| {
                let end = (i as i64 + 1) * RES;
                let samples: Vec<(i64, f64)> = values
                    .as_ref()?
                    .iter()
                    .enumerate()
                    .map(|(j, &v)| (end - RES + 1 + j as i64, v))
                    .collect();
                WindowAggregate::of_samples(end, &samples)
            })
            .collect()
    }

    fn value() -> impl Strategy<Value = f64> {
        prop_oneof![
            6 => (-50i32..50).prop_map(f64::from),
            1 => Just(f64::NAN),
            1 => Just(f64::INFINITY),
            2 => Just(f64::from_bits(STALE_NAN_BITS)),
            2 => -1e6f64..1e6,
        ]
    }

    fn same_bits(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    proptest! {
        /// Every subset of fields reads back exactly what was written for those fields, in
        /// any range; sketches too.
        #[test]
        fn columns_read_back_the_fields_asked_for(
            plan in prop::collection::vec(prop::option::of(prop::collection::vec(value(), 1..5)), 0..64),
            bits in 0u16..1024,
            from in 0i64..64,
            len in 0i64..70,
        ) {
            let windows = windows_of(&plan);
            let (mut record, mut sketches) = (Vec::new(), Vec::new());
            encode(&mut record, &mut sketches, header(), &windows);
            let fields = Fields::ALL.without(Fields::ALL.without(fields_from_bits(bits)));
            let (mint, maxt) = (from * RES, (from + len) * RES);
            let mut out = WindowColumns::new(fields);
            let sketch_record = fields.has(Fields::SKETCH).then_some(&sketches[..]);
            decode(2, &record, header(), (mint, maxt), sketch_record, &mut out).unwrap();
            let wanted: Vec<&WindowAggregate> = windows.iter().filter(|w| w.end > mint && w.end <= maxt).collect();
            prop_assert_eq!(out.len(), wanted.len());
            let mut sketch = Sketch::new();
            for (i, w) in wanted.iter().enumerate() {
                let got = out.window(i);
                prop_assert_eq!((got.end, got.count), (w.end, if w.has_values() { w.count } else { 0 }));
                if !w.has_values() {
                    if fields.has(Fields::STALE) { prop_assert_eq!(got.stale_after, w.stale_after); }
                    continue;
                }
                if fields.has(Fields::SUM) { prop_assert!(same_bits(got.sum, w.sum) && same_bits(got.sum_c, w.sum_c)); }
                if fields.has(Fields::MIN) { prop_assert!(same_bits(got.min, w.min)); }
                if fields.has(Fields::MAX) { prop_assert!(same_bits(got.max, w.max)); }
                if fields.has(Fields::FIRST) { prop_assert!(got.first.0 == w.first.0 && same_bits(got.first.1, w.first.1)); }
                if fields.has(Fields::LAST) { prop_assert!(got.last.0 == w.last.0 && same_bits(got.last.1, w.last.1)); }
                if fields.has(Fields::RESETS) { prop_assert!(same_bits(got.reset_sum, w.reset_sum) && got.resets == w.resets); }
                if fields.has(Fields::CHANGES) { prop_assert_eq!(got.changes, w.changes); }
                if fields.has(Fields::NON_FINITE) { prop_assert_eq!(got.non_finite, w.non_finite); }
                if fields.has(Fields::STALE) { prop_assert_eq!(got.stale_after, w.stale_after); }
                if fields.has(Fields::SKETCH) {
                    out.sketch_into(i, &mut sketch).unwrap();
                    prop_assert_eq!(&sketch, &w.sketch);
                }
            }
        }
    }

    fn fields_from_bits(bits: u16) -> Fields {
        Fields::EACH
            .iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .fold(Fields::NONE, |acc, (_, &f)| acc.and(f))
    }

    #[test]
    fn a_column_not_read_is_not_checked_and_a_read_one_is() {
        let windows = windows_of(&[Some(vec![1.0, 2.0]), Some(vec![3.0, 5.0])]);
        let (mut record, mut sketches) = (Vec::new(), Vec::new());
        encode(&mut record, &mut sketches, header(), &windows);
        // The last byte belongs to the last column (non_finite).
        *record.last_mut().unwrap() ^= 1;
        let read =
            |fields| decode(2, &record, header(), (0, i64::MAX), None, &mut WindowColumns::new(fields));
        assert!(read(Fields::SUM).is_ok(), "sum and count do not read non_finite");
        assert_eq!(read(Fields::NON_FINITE).unwrap_err(), "non_finite column checksum mismatch");
    }
}
