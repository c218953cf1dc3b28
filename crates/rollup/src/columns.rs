//! A series' windows as a query reads them: one column per field it asks for.
//!
//! A [`WindowAggregate`] is 136 bytes and its sketch a heap allocation; a year of a 1h tier
//! is 8,760 windows a series, so reading whole aggregates for 500 series moved ~600 MB
//! through fresh pages for a query that needs two numbers a window (`avg_over_time`: sum
//! and count). A query names the [`Fields`] its function reads; the reader fills only
//! those columns (ends and counts always) and keeps each window's sketch as its encoded
//! bytes, decoded into one reused [`Sketch`] when a quantile needs it.
//!
//! [`WindowColumns::window`] gives a window back as an aggregate whose unrequested fields
//! are zeros: the router combines windows with [`WindowAggregate::append_parts`] as before,
//! and reads only what it asked for.

use strata_model::Labels;

use crate::aggregate::WindowAggregate;
use crate::sketch::Sketch;

/// The fields of a window a reader wants besides its end and count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fields(u16);

impl Fields {
    pub const NONE: Fields = Fields(0);
    /// `sum` and its compensation.
    pub const SUM: Fields = Fields(1);
    pub const MIN: Fields = Fields(1 << 1);
    pub const MAX: Fields = Fields(1 << 2);
    /// The first value and its time.
    pub const FIRST: Fields = Fields(1 << 3);
    /// The last value and its time.
    pub const LAST: Fields = Fields(1 << 4);
    /// `reset_sum` and `resets`.
    pub const RESETS: Fields = Fields(1 << 5);
    pub const CHANGES: Fields = Fields(1 << 6);
    pub const NON_FINITE: Fields = Fields(1 << 7);
    /// `stale_after`.
    pub const STALE: Fields = Fields(1 << 8);
    /// The quantile sketch.
    pub const SKETCH: Fields = Fields(1 << 9);
    pub const ALL: Fields = Fields((1 << 10) - 1);
    /// Each field alone.
    pub const EACH: [Fields; 10] = [
        Fields::SUM,
        Fields::MIN,
        Fields::MAX,
        Fields::FIRST,
        Fields::LAST,
        Fields::RESETS,
        Fields::CHANGES,
        Fields::NON_FINITE,
        Fields::STALE,
        Fields::SKETCH,
    ];

    /// Both sets.
    pub const fn and(self, other: Fields) -> Fields {
        Fields(self.0 | other.0)
    }

    /// This set less the fields of `other`.
    pub const fn without(self, other: Fields) -> Fields {
        Fields(self.0 & !other.0)
    }

    /// Whether every field of `other` is in this set.
    pub const fn has(self, other: Fields) -> bool {
        self.0 & other.0 == other.0
    }
}

/// The fields a record stores only for a window of two or more values (module
/// `window_record`); those not read stay zero.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ManyFields {
    pub(crate) sum: f64,
    pub(crate) sum_c: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
    pub(crate) first: (i64, f64),
    pub(crate) reset_sum: f64,
    pub(crate) resets: u64,
    pub(crate) changes: u64,
    pub(crate) non_finite: u64,
}

/// A series and its windows as columns.
#[derive(Debug, Clone)]
pub struct SeriesColumns {
    pub labels: Labels,
    pub windows: WindowColumns,
}

/// Windows of one series in time order, the [`Fields`] asked for filled; see the module
/// docs.
#[derive(Debug, Clone, Default)]
pub struct WindowColumns {
    fields: Fields,
    end: Vec<i64>,
    count: Vec<u64>,
    /// `(sum, sum_c)`.
    sum: Vec<(f64, f64)>,
    min: Vec<f64>,
    max: Vec<f64>,
    first: Vec<(i64, f64)>,
    last: Vec<(i64, f64)>,
    /// `(reset_sum, resets)`.
    resets: Vec<(f64, u64)>,
    changes: Vec<u64>,
    non_finite: Vec<u64>,
    stale_after: Vec<Option<i64>>,
    /// Every window's encoded sketch, back to back (a window without values has none).
    sketch_bytes: Vec<u8>,
    /// Where window `i`'s sketch ends in `sketch_bytes` (it starts where `i − 1`'s ends).
    sketch_ends: Vec<usize>,
}

impl WindowColumns {
    /// No windows yet; `fields` will be kept of those pushed.
    pub fn new(fields: Fields) -> WindowColumns {
        WindowColumns { fields, ..WindowColumns::default() }
    }

    pub fn fields(&self) -> Fields {
        self.fields
    }

    pub fn len(&self) -> usize {
        self.end.len()
    }

    pub fn is_empty(&self) -> bool {
        self.end.is_empty()
    }

    /// The windows' ends, ascending.
    pub fn ends(&self) -> &[i64] {
        &self.end
    }

    /// Window `i`'s count of values (0: only a stale marker).
    pub fn count(&self, i: usize) -> u64 {
        self.count[i]
    }

    /// Room for `windows` more windows and `sketch_bytes` more bytes of sketches, in the
    /// columns kept.
    pub fn reserve(&mut self, windows: usize, sketch_bytes: usize) {
        let f = self.fields;
        self.end.reserve(windows);
        self.count.reserve(windows);
        let kept = |field: Fields| if f.has(field) { windows } else { 0 };
        self.sum.reserve(kept(Fields::SUM));
        self.min.reserve(kept(Fields::MIN));
        self.max.reserve(kept(Fields::MAX));
        self.first.reserve(kept(Fields::FIRST));
        self.last.reserve(kept(Fields::LAST));
        self.resets.reserve(kept(Fields::RESETS));
        self.changes.reserve(kept(Fields::CHANGES));
        self.non_finite.reserve(kept(Fields::NON_FINITE));
        self.stale_after.reserve(kept(Fields::STALE));
        self.sketch_ends.reserve(kept(Fields::SKETCH));
        self.sketch_bytes.reserve(if f.has(Fields::SKETCH) { sketch_bytes } else { 0 });
    }

    /// [`WindowColumns::push`] of a window as a record holds it, without building the
    /// aggregate first (decoding a year of a tier pushes millions): `count` values, the last
    /// at `last`; `many` the fields only a window of two or more values stores (a window of
    /// one value has them from its last; one of none has zeros); `sketch` as for `push`.
    #[inline(always)]
    pub(crate) fn push_decoded(
        &mut self,
        end: i64,
        count: u64,
        last: (i64, f64),
        many: &ManyFields,
        stale_after: Option<i64>,
        sketch: Option<&[u8]>,
    ) {
        let f = self.fields;
        let v = last.1;
        let one = count == 1;
        self.end.push(end);
        self.count.push(count);
        if f.has(Fields::SUM) {
            self.sum.push(if count >= 2 { (many.sum, many.sum_c) } else { (if one { v } else { 0.0 }, 0.0) });
        }
        if f.has(Fields::MIN) {
            self.min.push(if count >= 2 { many.min } else { v });
        }
        if f.has(Fields::MAX) {
            self.max.push(if count >= 2 { many.max } else { v });
        }
        if f.has(Fields::FIRST) {
            self.first.push(if count >= 2 { many.first } else { last });
        }
        if f.has(Fields::LAST) {
            self.last.push(last);
        }
        if f.has(Fields::RESETS) {
            self.resets.push(if count >= 2 { (many.reset_sum, many.resets) } else { (0.0, 0) });
        }
        if f.has(Fields::CHANGES) {
            self.changes.push(if count >= 2 { many.changes } else { 0 });
        }
        if f.has(Fields::NON_FINITE) {
            self.non_finite.push(if count >= 2 { many.non_finite } else { u64::from(one && !v.is_finite()) });
        }
        if f.has(Fields::STALE) {
            self.stale_after.push(stale_after);
        }
        if f.has(Fields::SKETCH) {
            match sketch {
                Some(bytes) => self.sketch_bytes.extend_from_slice(bytes),
                None if one && v.is_finite() => Sketch::encode_one(v, &mut self.sketch_bytes),
                None => {}
            }
            self.sketch_ends.push(self.sketch_bytes.len());
        }
    }

    /// Appends a later window. Its sketch, when [`Fields::SKETCH`] is kept, is `sketch`
    /// (encoded, as the segment holds it) or, for a window of one value, built from that
    /// value.
    #[inline]
    pub fn push(&mut self, w: &WindowAggregate, sketch: Option<&[u8]>) {
        let f = self.fields;
        self.end.push(w.end);
        self.count.push(w.count);
        if f.has(Fields::SUM) {
            self.sum.push((w.sum, w.sum_c));
        }
        if f.has(Fields::MIN) {
            self.min.push(w.min);
        }
        if f.has(Fields::MAX) {
            self.max.push(w.max);
        }
        if f.has(Fields::FIRST) {
            self.first.push(w.first);
        }
        if f.has(Fields::LAST) {
            self.last.push(w.last);
        }
        if f.has(Fields::RESETS) {
            self.resets.push((w.reset_sum, w.resets));
        }
        if f.has(Fields::CHANGES) {
            self.changes.push(w.changes);
        }
        if f.has(Fields::NON_FINITE) {
            self.non_finite.push(w.non_finite);
        }
        if f.has(Fields::STALE) {
            self.stale_after.push(w.stale_after);
        }
        if f.has(Fields::SKETCH) {
            match sketch {
                Some(bytes) => self.sketch_bytes.extend_from_slice(bytes),
                None if w.count == 1 && w.last.1.is_finite() => {
                    Sketch::encode_one(w.last.1, &mut self.sketch_bytes)
                }
                None if w.has_values() => w.sketch.encode(&mut self.sketch_bytes),
                None => {}
            }
            self.sketch_ends.push(self.sketch_bytes.len());
        }
    }

    /// Window `i` as an aggregate: the kept fields filled, the others zero, its sketch
    /// empty (see [`WindowColumns::sketch_into`]).
    #[inline]
    pub fn window(&self, i: usize) -> WindowAggregate {
        let mut w = WindowAggregate::single_without_sketch(self.end[i], 0, 0.0);
        w.count = self.count[i];
        let f = self.fields;
        if f.has(Fields::SUM) {
            (w.sum, w.sum_c) = self.sum[i];
        }
        if f.has(Fields::MIN) {
            w.min = self.min[i];
        }
        if f.has(Fields::MAX) {
            w.max = self.max[i];
        }
        if f.has(Fields::FIRST) {
            w.first = self.first[i];
        }
        if f.has(Fields::LAST) {
            w.last = self.last[i];
        }
        if f.has(Fields::RESETS) {
            (w.reset_sum, w.resets) = self.resets[i];
        }
        if f.has(Fields::CHANGES) {
            w.changes = self.changes[i];
        }
        if f.has(Fields::NON_FINITE) {
            w.non_finite = self.non_finite[i];
        }
        if f.has(Fields::STALE) {
            w.stale_after = self.stale_after[i];
        }
        w
    }

    /// Window `i`'s last value and its time ([`Fields::LAST`]).
    pub fn last(&self, i: usize) -> (i64, f64) {
        self.last[i]
    }

    /// The time of a stale marker after window `i`'s last value ([`Fields::STALE`]).
    pub fn stale_after(&self, i: usize) -> Option<i64> {
        self.stale_after[i]
    }

    /// Whether a window holds a value that is NaN or ±Inf ([`Fields::NON_FINITE`]).
    pub fn any_non_finite(&self) -> bool {
        self.non_finite.iter().any(|&n| n > 0)
    }

    /// Decodes window `i`'s sketch ([`Fields::SKETCH`]) into `into`, replacing what it held;
    /// an error names what is wrong with the bytes.
    pub fn sketch_into(&self, i: usize, into: &mut Sketch) -> Result<(), String> {
        let start = if i == 0 { 0 } else { self.sketch_ends[i - 1] };
        let bytes = &self.sketch_bytes[start..self.sketch_ends[i]];
        if bytes.is_empty() {
            into.clear();
            return Ok(());
        }
        let mut pos = 0;
        into.decode_into(bytes, &mut pos)?;
        if pos != bytes.len() {
            return Err(format!("a sketch of {} bytes decoded from {pos}", bytes.len()));
        }
        Ok(())
    }

    /// Drops every window, keeping the room the columns have (a reader refills them batch
    /// after batch).
    pub fn clear(&mut self) {
        self.end.clear();
        self.count.clear();
        self.sum.clear();
        self.min.clear();
        self.max.clear();
        self.first.clear();
        self.last.clear();
        self.resets.clear();
        self.changes.clear();
        self.non_finite.clear();
        self.stale_after.clear();
        self.sketch_bytes.clear();
        self.sketch_ends.clear();
    }

    /// Drops the first `n` windows.
    pub fn drop_front(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        if n >= self.len() {
            self.clear();
            return;
        }
        self.end.drain(..n);
        self.count.drain(..n);
        drain_if(&mut self.sum, n);
        drain_if(&mut self.min, n);
        drain_if(&mut self.max, n);
        drain_if(&mut self.first, n);
        drain_if(&mut self.last, n);
        drain_if(&mut self.resets, n);
        drain_if(&mut self.changes, n);
        drain_if(&mut self.non_finite, n);
        drain_if(&mut self.stale_after, n);
        if self.fields.has(Fields::SKETCH) {
            let bytes = self.sketch_ends[n - 1];
            self.sketch_bytes.drain(..bytes);
            self.sketch_ends.drain(..n);
            self.sketch_ends.iter_mut().for_each(|e| *e -= bytes);
        }
    }
}

fn drain_if<T>(v: &mut Vec<T>, n: usize) {
    if !v.is_empty() {
        v.drain(..n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows() -> Vec<WindowAggregate> {
        let many = WindowAggregate::of_samples(120_000, &[(61_000, 5.0), (90_000, 3.0), (119_000, f64::NAN)])
            .unwrap();
        let one = WindowAggregate::single(180_000, 170_000, 7.5);
        let stale = WindowAggregate::stale_only(240_000, 200_000);
        let more = WindowAggregate::of_samples(300_000, &[(250_000, -1.0), (260_000, 4.0)]).unwrap();
        vec![many, one, stale, more]
    }

    fn columns(fields: Fields, ws: &[WindowAggregate]) -> WindowColumns {
        let mut c = WindowColumns::new(fields);
        ws.iter().for_each(|w| c.push(w, None));
        c
    }

    #[test]
    fn all_fields_give_the_windows_back_and_sketches_decode() {
        let ws = windows();
        let c = columns(Fields::ALL, &ws);
        let mut sketch = Sketch::new();
        for (i, w) in ws.iter().enumerate() {
            c.sketch_into(i, &mut sketch).unwrap();
            assert_eq!(sketch, w.sketch, "window {i}'s sketch");
            // NaN fields: compared as text, sketches apart (an empty one may be allocated).
            let without_sketch = WindowAggregate { sketch: Sketch::new(), ..w.clone() };
            assert_eq!(format!("{:?}", c.window(i)), format!("{without_sketch:?}"), "window {i}");
        }
    }

    #[test]
    fn only_the_fields_asked_for_are_kept() {
        let ws = windows();
        let c = columns(Fields::SUM, &ws);
        let w = c.window(3);
        assert_eq!((w.end, w.count, w.sum_value()), (300_000, 2, 3.0));
        assert_eq!((w.min, w.max, w.last), (0.0, 0.0, (0, 0.0)), "not kept: zeros");
        assert!(c.sketch_bytes.is_empty() && c.first.is_empty());
    }

    #[test]
    fn drop_front_keeps_windows_and_sketches_aligned() {
        let ws = windows();
        let mut c = columns(Fields::ALL, &ws);
        c.drop_front(1);
        assert_eq!(c.ends(), &[180_000, 240_000, 300_000]);
        let mut sketch = Sketch::new();
        c.sketch_into(2, &mut sketch).unwrap();
        assert_eq!(sketch, ws[3].sketch);
        c.sketch_into(1, &mut sketch).unwrap();
        assert_eq!(sketch.count(), 0, "a stale-only window has no sketch");
        c.sketch_into(0, &mut sketch).unwrap();
        assert_eq!(sketch, ws[1].sketch);
        c.drop_front(3);
        assert!(c.is_empty());
        // Emptied, the columns are refilled as a fresh set would be.
        let before = c.end.capacity();
        ws.iter().for_each(|w| c.push(w, None));
        c.clear();
        assert!(c.is_empty() && c.end.capacity() >= before, "clear keeps the room");
        ws.iter().for_each(|w| c.push(w, None));
        assert_eq!(format!("{c:?}"), format!("{:?}", columns(Fields::ALL, &ws)));
    }
}
