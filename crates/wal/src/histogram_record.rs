//! Native-histogram sample records (types 7–10), as Prometheus encodes them.
//!
//! Like a samples record: `BE64` first ref, `BE64` first timestamp, then per histogram
//! (the first included) `varint` ref − first ref, `varint` t − first t, and the histogram:
//!
//! | field | integer (7, 9) | float (8, 10) |
//! |---|---|---|
//! | counter-reset hint | `u8` (0 unknown, 1 reset, 2 no reset, 3 gauge) | same |
//! | schema | `varint` | same |
//! | zero threshold | `BE64` float | same |
//! | zero count, count | `uvarint` each | `BE64` float each |
//! | sum | `BE64` float | same |
//! | positive spans, negative spans | `uvarint` n, then per span `varint` offset, `uvarint` length | same |
//! | positive buckets, negative buckets | `uvarint` n, then `varint` deltas | `uvarint` n, then `BE64` floats |
//! | custom bounds (schema −53 only) | `uvarint` n, then `BE64` floats | same |
//!
//! Types 9 and 10 hold the custom-bucket histograms (schema −53); Prometheus 2.42 knows only
//! 7 and 8, so Strata keeps custom-bucket histograms out of those — [`histogram_records`]
//! splits a batch accordingly. A decoder accepts custom bounds in any of the four.

use strata_codec::varint::{put_uvarint, put_varint};
use strata_model::histogram::{CounterResetHint, FloatHistogram, Histogram, Span, CUSTOM_BUCKETS_SCHEMA};

use crate::record::{Reader, Record};
use crate::Result;

/// Record type of integer histograms with exponential schemas.
pub(crate) const HISTOGRAMS: u8 = 7;
/// Record type of float histograms with exponential schemas.
pub(crate) const FLOAT_HISTOGRAMS: u8 = 8;
/// Record type of integer custom-bucket histograms.
pub(crate) const CUSTOM_HISTOGRAMS: u8 = 9;
/// Record type of float custom-bucket histograms.
pub(crate) const CUSTOM_FLOAT_HISTOGRAMS: u8 = 10;

/// One integer histogram sample of a series by ref.
#[derive(Debug, Clone, PartialEq)]
pub struct RefHistogram {
    /// The series ref.
    pub series_ref: u64,
    /// Timestamp (ms).
    pub t: i64,
    /// The histogram.
    pub h: Histogram,
}

/// One float histogram sample of a series by ref.
#[derive(Debug, Clone, PartialEq)]
pub struct RefFloatHistogram {
    /// The series ref.
    pub series_ref: u64,
    /// Timestamp (ms).
    pub t: i64,
    /// The histogram.
    pub h: FloatHistogram,
}

/// The records a batch of histogram samples is logged as: exponential-schema ones in a
/// type 7 record, custom-bucket ones in a type 9 record (empty lists make no record).
pub fn histogram_records(samples: Vec<RefHistogram>) -> Vec<Record> {
    let (custom, exponential): (Vec<_>, Vec<_>) =
        samples.into_iter().partition(|s| s.h.schema == CUSTOM_BUCKETS_SCHEMA);
    [Record::Histograms(exponential), Record::Histograms(custom)]
        .into_iter()
        .filter(|r| !matches!(r, Record::Histograms(s) if s.is_empty()))
        .collect()
}

/// [`histogram_records`] for float histograms (types 8 and 10).
pub fn float_histogram_records(samples: Vec<RefFloatHistogram>) -> Vec<Record> {
    let (custom, exponential): (Vec<_>, Vec<_>) =
        samples.into_iter().partition(|s| s.h.schema == CUSTOM_BUCKETS_SCHEMA);
    [Record::FloatHistograms(exponential), Record::FloatHistograms(custom)]
        .into_iter()
        .filter(|r| !matches!(r, Record::FloatHistograms(s) if s.is_empty()))
        .collect()
}

fn hint_byte(hint: CounterResetHint) -> u8 {
    match hint {
        CounterResetHint::Unknown => 0,
        CounterResetHint::CounterReset => 1,
        CounterResetHint::NotCounterReset => 2,
        CounterResetHint::Gauge => 3,
    }
}

fn hint_of(byte: u8) -> CounterResetHint {
    match byte {
        1 => CounterResetHint::CounterReset,
        2 => CounterResetHint::NotCounterReset,
        3 => CounterResetHint::Gauge,
        _ => CounterResetHint::Unknown,
    }
}

/// The type byte a list of histograms is written under.
fn record_type(custom: bool, float: bool) -> u8 {
    match (custom, float) {
        (false, false) => HISTOGRAMS,
        (false, true) => FLOAT_HISTOGRAMS,
        (true, false) => CUSTOM_HISTOGRAMS,
        (true, true) => CUSTOM_FLOAT_HISTOGRAMS,
    }
}

/// Appends a type 7 (or 9, when the first histogram uses custom buckets) record.
pub(crate) fn encode_histograms(samples: &[RefHistogram], out: &mut Vec<u8>) {
    let custom = samples.first().is_some_and(|s| s.h.schema == CUSTOM_BUCKETS_SCHEMA);
    out.push(record_type(custom, false));
    let Some(first) = samples.first() else { return };
    out.extend_from_slice(&first.series_ref.to_be_bytes());
    out.extend_from_slice(&first.t.to_be_bytes());
    for s in samples {
        put_varint(out, s.series_ref.wrapping_sub(first.series_ref) as i64);
        put_varint(out, s.t.wrapping_sub(first.t));
        let h = &s.h;
        put_head(out, h.counter_reset_hint, h.schema, h.zero_threshold);
        put_uvarint(out, h.zero_count);
        put_uvarint(out, h.count);
        out.extend_from_slice(&h.sum.to_bits().to_be_bytes());
        put_spans(out, &h.positive_spans);
        put_spans(out, &h.negative_spans);
        for buckets in [&h.positive_buckets, &h.negative_buckets] {
            put_uvarint(out, buckets.len() as u64);
            buckets.iter().for_each(|b| put_varint(out, *b));
        }
        put_custom(out, h.schema, &h.custom_values);
    }
}

/// Appends a type 8 (or 10) record.
pub(crate) fn encode_float_histograms(samples: &[RefFloatHistogram], out: &mut Vec<u8>) {
    let custom = samples.first().is_some_and(|s| s.h.schema == CUSTOM_BUCKETS_SCHEMA);
    out.push(record_type(custom, true));
    let Some(first) = samples.first() else { return };
    out.extend_from_slice(&first.series_ref.to_be_bytes());
    out.extend_from_slice(&first.t.to_be_bytes());
    for s in samples {
        put_varint(out, s.series_ref.wrapping_sub(first.series_ref) as i64);
        put_varint(out, s.t.wrapping_sub(first.t));
        let h = &s.h;
        put_head(out, h.counter_reset_hint, h.schema, h.zero_threshold);
        for v in [h.zero_count, h.count, h.sum] {
            out.extend_from_slice(&v.to_bits().to_be_bytes());
        }
        put_spans(out, &h.positive_spans);
        put_spans(out, &h.negative_spans);
        for buckets in [&h.positive_buckets, &h.negative_buckets] {
            put_uvarint(out, buckets.len() as u64);
            buckets.iter().for_each(|b| out.extend_from_slice(&b.to_bits().to_be_bytes()));
        }
        put_custom(out, h.schema, &h.custom_values);
    }
}

fn put_head(out: &mut Vec<u8>, hint: CounterResetHint, schema: i32, zero_threshold: f64) {
    out.push(hint_byte(hint));
    put_varint(out, i64::from(schema));
    out.extend_from_slice(&zero_threshold.to_bits().to_be_bytes());
}

fn put_spans(out: &mut Vec<u8>, spans: &[Span]) {
    put_uvarint(out, spans.len() as u64);
    for s in spans {
        put_varint(out, i64::from(s.offset));
        put_uvarint(out, u64::from(s.length));
    }
}

fn put_custom(out: &mut Vec<u8>, schema: i32, bounds: &[f64]) {
    if schema == CUSTOM_BUCKETS_SCHEMA {
        put_uvarint(out, bounds.len() as u64);
        bounds.iter().for_each(|b| out.extend_from_slice(&b.to_bits().to_be_bytes()));
    }
}

/// The body of a type 7 or 9 record.
pub(crate) fn decode_histograms(r: &mut Reader<'_>) -> Result<Vec<RefHistogram>> {
    let mut out = Vec::new();
    let Some((base_ref, base_t)) = read_base(r)? else { return Ok(out) };
    while !r.done() {
        let (series_ref, t) = read_ref_and_time(r, base_ref, base_t)?;
        let (counter_reset_hint, schema, zero_threshold) = read_head(r)?;
        let zero_count = r.uvarint("histogram zero count")?;
        let count = r.uvarint("histogram count")?;
        let sum = f64::from_bits(r.be64("histogram sum")?);
        let positive_spans = read_spans(r)?;
        let negative_spans = read_spans(r)?;
        let positive_buckets = read_list(r, 1, "histogram bucket", |r| r.varint("histogram bucket"))?;
        let negative_buckets = read_list(r, 1, "histogram bucket", |r| r.varint("histogram bucket"))?;
        let custom_values = read_custom(r, schema)?;
        let h = Histogram {
            counter_reset_hint,
            schema,
            zero_threshold,
            zero_count,
            count,
            sum,
            positive_spans,
            negative_spans,
            positive_buckets,
            negative_buckets,
            custom_values,
        };
        out.push(RefHistogram { series_ref, t, h });
    }
    Ok(out)
}

/// The body of a type 8 or 10 record.
pub(crate) fn decode_float_histograms(r: &mut Reader<'_>) -> Result<Vec<RefFloatHistogram>> {
    let mut out = Vec::new();
    let Some((base_ref, base_t)) = read_base(r)? else { return Ok(out) };
    while !r.done() {
        let (series_ref, t) = read_ref_and_time(r, base_ref, base_t)?;
        let (counter_reset_hint, schema, zero_threshold) = read_head(r)?;
        let zero_count = f64::from_bits(r.be64("histogram zero count")?);
        let count = f64::from_bits(r.be64("histogram count")?);
        let sum = f64::from_bits(r.be64("histogram sum")?);
        let positive_spans = read_spans(r)?;
        let negative_spans = read_spans(r)?;
        let float = |r: &mut Reader<'_>| r.be64("histogram bucket").map(f64::from_bits);
        let positive_buckets = read_list(r, 8, "histogram bucket", float)?;
        let negative_buckets = read_list(r, 8, "histogram bucket", float)?;
        let custom_values = read_custom(r, schema)?;
        let h = FloatHistogram {
            counter_reset_hint,
            schema,
            zero_threshold,
            zero_count,
            count,
            sum,
            positive_spans,
            negative_spans,
            positive_buckets,
            negative_buckets,
            custom_values,
        };
        out.push(RefFloatHistogram { series_ref, t, h });
    }
    Ok(out)
}

fn read_base(r: &mut Reader<'_>) -> Result<Option<(u64, i64)>> {
    if r.done() {
        return Ok(None);
    }
    Ok(Some((r.be64("first ref")?, r.be64("first timestamp")? as i64)))
}

fn read_ref_and_time(r: &mut Reader<'_>, base_ref: u64, base_t: i64) -> Result<(u64, i64)> {
    let dref = r.varint("ref delta")?;
    let dt = r.varint("timestamp delta")?;
    Ok((base_ref.wrapping_add(dref as u64), base_t.wrapping_add(dt)))
}

fn read_head(r: &mut Reader<'_>) -> Result<(CounterResetHint, i32, f64)> {
    let hint = hint_of(r.byte("counter reset hint")?);
    let schema = r.varint("histogram schema")?;
    let schema =
        i32::try_from(schema).map_err(|_| r.bad("histogram schema", format!("{schema} exceeds 32 bits")))?;
    let zero_threshold = f64::from_bits(r.be64("zero threshold")?);
    Ok((hint, schema, zero_threshold))
}

fn read_spans(r: &mut Reader<'_>) -> Result<Vec<Span>> {
    read_list(r, 2, "histogram span", |r| {
        let offset = r.varint("span offset")?;
        let length = r.uvarint("span length")?;
        let offset =
            i32::try_from(offset).map_err(|_| r.bad("span offset", format!("{offset} exceeds 32 bits")))?;
        let length =
            u32::try_from(length).map_err(|_| r.bad("span length", format!("{length} exceeds 32 bits")))?;
        Ok(Span { offset, length })
    })
}

fn read_custom(r: &mut Reader<'_>, schema: i32) -> Result<Vec<f64>> {
    if schema != CUSTOM_BUCKETS_SCHEMA {
        return Ok(Vec::new());
    }
    read_list(r, 8, "custom bound", |r| r.be64("custom bound").map(f64::from_bits))
}

/// A `uvarint` count, then that many items of at least `min_bytes` each: a count the rest
/// of the record cannot hold is an error before anything is allocated.
fn read_list<T>(
    r: &mut Reader<'_>,
    min_bytes: usize,
    what: &str,
    mut item: impl FnMut(&mut Reader<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let n = r.uvarint(what)?;
    if n > (r.remaining() / min_bytes) as u64 {
        return Err(r.bad(what, format!("count {n} overruns the record")));
    }
    let mut out = Vec::with_capacity(n as usize);
    for _ in 0..n {
        out.push(item(r)?);
    }
    Ok(out)
}
