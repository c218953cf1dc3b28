//! The part of a histogram chunk every sample shares: the header's counter-reset bits and
//! the bucket layout written once, before the first sample (format/histogram-chunk.md).

use crate::bits::{BitReader, BitWriter};
use crate::varbit::{check, put_varbit_int, put_varbit_uint, read_varbit_int, read_varbit_uint};
use crate::{CodecError, Result};
use strata_model::histogram::{
    bucket_indices, is_known_schema, span_bucket_count, spans_for_indices, CounterResetHint, Span,
    CUSTOM_BUCKETS_SCHEMA,
};

/// Bytes before the bit stream: sample count (`BE16`) and the flags byte.
pub const HEADER_LEN: usize = 3;

/// The top two bits of a histogram chunk's flags byte: what is known about a counter
/// reset between the previous chunk of the series and this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CounterResetHeader {
    /// `00`: not known; a reader compares with the previous chunk.
    #[default]
    Unknown,
    /// `10`: the chunk was cut because the counter was reset.
    CounterReset,
    /// `01`: the chunk was cut for another reason; no reset.
    NotCounterReset,
    /// `11`: the chunk holds gauge histograms.
    Gauge,
}

impl CounterResetHeader {
    /// The flags byte carrying this header.
    pub fn to_flags(self) -> u8 {
        match self {
            CounterResetHeader::Unknown => 0b0000_0000,
            CounterResetHeader::CounterReset => 0b1000_0000,
            CounterResetHeader::NotCounterReset => 0b0100_0000,
            CounterResetHeader::Gauge => 0b1100_0000,
        }
    }

    /// The header in a flags byte (the low six bits are reserved and ignored).
    pub fn from_flags(flags: u8) -> Self {
        match flags >> 6 {
            0b10 => CounterResetHeader::CounterReset,
            0b01 => CounterResetHeader::NotCounterReset,
            0b11 => CounterResetHeader::Gauge,
            _ => CounterResetHeader::Unknown,
        }
    }

    /// The header a chunk starting with a sample carrying `hint` gets, when the caller
    /// knows nothing more.
    pub fn from_hint(hint: CounterResetHint) -> Self {
        match hint {
            CounterResetHint::Gauge => CounterResetHeader::Gauge,
            CounterResetHint::CounterReset => CounterResetHeader::CounterReset,
            CounterResetHint::NotCounterReset | CounterResetHint::Unknown => CounterResetHeader::Unknown,
        }
    }

    /// The hint a decoded sample gets: gauge in gauge chunks, "no reset" after the first
    /// sample, and "unknown" for the first (the previous chunk may be gone, or written
    /// later by backfill, so the header cannot be trusted on its own — as Prometheus).
    pub fn hint_for_sample(self, index: usize) -> CounterResetHint {
        match self {
            CounterResetHeader::Gauge => CounterResetHint::Gauge,
            _ if index > 0 => CounterResetHint::NotCounterReset,
            _ => CounterResetHint::Unknown,
        }
    }
}

/// The bucket layout a chunk's samples share.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Layout {
    /// Exponential schema or custom buckets.
    pub schema: i32,
    /// Zero bucket width.
    pub zero_threshold: f64,
    /// Positive buckets in use.
    pub positive_spans: Vec<Span>,
    /// Negative buckets in use.
    pub negative_spans: Vec<Span>,
    /// Custom bucket bounds (schema −53 only).
    pub custom_values: Vec<f64>,
}

impl Layout {
    /// Buckets per side.
    pub fn bucket_counts(&self) -> (usize, usize) {
        (span_bucket_count(&self.positive_spans) as usize, span_bucket_count(&self.negative_spans) as usize)
    }

    /// Whether samples of `other` can share a chunk with this layout once their buckets
    /// are merged: same schema, zero threshold and custom bounds (compared by bits).
    pub fn compatible(&self, other: &Layout) -> bool {
        self.schema == other.schema
            && self.zero_threshold.to_bits() == other.zero_threshold.to_bits()
            && self.custom_values.len() == other.custom_values.len()
            && self.custom_values.iter().zip(&other.custom_values).all(|(a, b)| a.to_bits() == b.to_bits())
    }

    /// Writes the layout: zero threshold, schema, positive then negative spans, custom bounds.
    pub fn write(&self, w: &mut BitWriter) {
        put_zero_threshold(w, self.zero_threshold);
        put_varbit_int(w, i64::from(self.schema));
        put_spans(w, &self.positive_spans);
        put_spans(w, &self.negative_spans);
        if self.schema == CUSTOM_BUCKETS_SCHEMA {
            put_varbit_uint(w, self.custom_values.len() as u64);
            self.custom_values.iter().for_each(|v| put_custom_bound(w, *v));
        }
    }

    /// Reads a layout. `data_bits` is the stream's length in bits, which bounds every
    /// count read (each span, bucket and bound takes at least one bit), so a hostile
    /// count is an error rather than a huge allocation.
    pub fn read(r: &mut BitReader<'_>, data_bits: u64) -> Result<Layout> {
        let zero_threshold = read_zero_threshold(r)?;
        let schema = read_varbit_int(r, "histogram schema")?;
        let schema = i32::try_from(schema)
            .ok()
            .filter(|s| is_known_schema(*s))
            .ok_or_else(|| corrupt(r, format!("unknown histogram schema {schema}")))?;
        let positive_spans = read_spans(r, data_bits)?;
        let negative_spans = read_spans(r, data_bits)?;
        let mut custom_values = Vec::new();
        if schema == CUSTOM_BUCKETS_SCHEMA {
            let n = bounded_count(r, data_bits, "custom bound count")?;
            custom_values.reserve(n);
            for _ in 0..n {
                custom_values.push(read_custom_bound(r)?);
            }
        }
        let layout = Layout { schema, zero_threshold, positive_spans, negative_spans, custom_values };
        let (pos, neg) = layout.bucket_counts();
        if (pos + neg) as u64 > data_bits {
            return Err(corrupt(
                r,
                format!("layout claims {} buckets in a {data_bits}-bit chunk", pos + neg),
            ));
        }
        Ok(layout)
    }
}

/// The layout covering the buckets of both `a` and `b` (same schema assumed), and
/// whether it is exactly `a`'s.
pub(crate) fn merged_spans(a: &[Span], b: &[Span]) -> (Vec<Span>, bool) {
    let mut indices: Vec<i64> = bucket_indices(a).chain(bucket_indices(b)).collect();
    indices.sort_unstable();
    indices.dedup();
    let covered_by_a = indices.len() as u64 == span_bucket_count(a);
    if covered_by_a {
        (a.to_vec(), true)
    } else {
        (spans_for_indices(&indices), false)
    }
}

/// Absolute bucket counts laid out for `from` spread onto `to` (which covers every bucket
/// of `from`), with `zero` for buckets `from` lacks.
pub(crate) fn expand<T: Copy>(from: &[Span], counts: &[T], to: &[Span], zero: T) -> Vec<T> {
    let mut out = Vec::with_capacity(span_bucket_count(to) as usize);
    let mut source = bucket_indices(from).zip(counts.iter().copied()).peekable();
    for index in bucket_indices(to) {
        match source.peek() {
            Some((i, c)) if *i == index => {
                out.push(*c);
                source.next();
            }
            _ => out.push(zero),
        }
    }
    out
}

fn put_spans(w: &mut BitWriter, spans: &[Span]) {
    put_varbit_uint(w, spans.len() as u64);
    for span in spans {
        put_varbit_uint(w, u64::from(span.length));
        put_varbit_int(w, i64::from(span.offset));
    }
}

fn read_spans(r: &mut BitReader<'_>, data_bits: u64) -> Result<Vec<Span>> {
    let n = bounded_count(r, data_bits, "span count")?;
    let mut spans = Vec::with_capacity(n);
    for _ in 0..n {
        let length = read_varbit_uint(r, "span length")?;
        let offset = read_varbit_int(r, "span offset")?;
        let length =
            u32::try_from(length).map_err(|_| corrupt(r, format!("span length {length} exceeds 32 bits")))?;
        let offset =
            i32::try_from(offset).map_err(|_| corrupt(r, format!("span offset {offset} exceeds 32 bits")))?;
        spans.push(Span { offset, length });
    }
    Ok(spans)
}

fn bounded_count(r: &mut BitReader<'_>, data_bits: u64, what: &'static str) -> Result<usize> {
    let n = read_varbit_uint(r, what)?;
    if n > data_bits {
        return Err(corrupt(r, format!("{what} {n} exceeds what a {data_bits}-bit chunk can hold")));
    }
    Ok(n as usize)
}

/// The zero threshold in one byte when it is 0 or a power of two from 2^−243 to 2^10
/// (byte `b` means 2^(b−244)), else byte 255 and the 64-bit float.
fn put_zero_threshold(w: &mut BitWriter, threshold: f64) {
    match power_of_two_byte(threshold) {
        Some(byte) => w.write_bits(u64::from(byte), 8),
        None => {
            w.write_bits(255, 8);
            w.write_bits(threshold.to_bits(), 64);
        }
    }
}

fn power_of_two_byte(threshold: f64) -> Option<u8> {
    if threshold.to_bits() == 0 {
        return Some(0);
    }
    let bits = threshold.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let is_power_of_two = bits >> 63 == 0 && bits & ((1 << 52) - 1) == 0 && biased != 0 && biased != 0x7ff;
    // 2^(biased − 1023) = 0.5 · 2^(biased − 1022): Go's frexp exponent is biased − 1022.
    let exponent = biased - 1022;
    (is_power_of_two && (-242..=11).contains(&exponent)).then(|| (exponent + 243) as u8)
}

fn read_zero_threshold(r: &mut BitReader<'_>) -> Result<f64> {
    let byte = r.read_bits(8);
    let value = match byte {
        0 => 0.0,
        255 => f64::from_bits(r.read_bits_wide(64)),
        // 2^(b − 244) has the biased exponent b − 244 + 1023.
        b => f64::from_bits((b + 779) << 52),
    };
    check(r, "zero threshold")?;
    Ok(value)
}

/// A custom bound `x` with `y = 1000·x` whole and in 0…33,554,430 as the unsigned varbit
/// `y + 1`; any other bound as a `0` bit (the varbit 0) and the 64-bit float.
fn put_custom_bound(w: &mut BitWriter, bound: f64) {
    let scaled = bound * 1000.0;
    let whole = (0.0..=33_554_430.0).contains(&scaled) && scaled.round() / 1000.0 == bound;
    if whole {
        put_varbit_uint(w, scaled.round() as u64 + 1);
    } else {
        w.write_bit(false);
        w.write_bits(bound.to_bits(), 64);
    }
}

fn read_custom_bound(r: &mut BitReader<'_>) -> Result<f64> {
    match read_varbit_uint(r, "custom bound")? {
        0 => {
            let bits = r.read_bits_wide(64);
            check(r, "custom bound")?;
            Ok(f64::from_bits(bits))
        }
        scaled => Ok((scaled - 1) as f64 / 1000.0),
    }
}

pub(crate) fn corrupt(r: &BitReader<'_>, detail: String) -> CodecError {
    CodecError::Corrupt { offset: (r.bit_position() / 8) as usize, detail }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(layout: &Layout) -> Layout {
        let mut w = BitWriter::new();
        layout.write(&mut w);
        let bytes = w.finish();
        Layout::read(&mut BitReader::new(&bytes), bytes.len() as u64 * 8).unwrap()
    }

    #[test]
    fn zero_thresholds_take_one_byte_when_powers_of_two() {
        assert_eq!(power_of_two_byte(0.0), Some(0));
        assert_eq!(power_of_two_byte(2f64.powi(-128)), Some(116), "Prometheus' default threshold");
        assert_eq!(power_of_two_byte(2f64.powi(-243)), Some(1));
        assert_eq!(power_of_two_byte(1024.0), Some(254));
        assert_eq!(power_of_two_byte(2048.0), None);
        assert_eq!(power_of_two_byte(0.001), None);
        assert_eq!(power_of_two_byte(-0.5), None);
        assert_eq!(power_of_two_byte(-0.0), None, "negative zero keeps its sign bit");
        for t in [0.0, 2f64.powi(-128), 1024.0, 0.001, 2048.0, -0.0] {
            let layout = Layout { zero_threshold: t, ..Default::default() };
            assert_eq!(round_trip(&layout).zero_threshold.to_bits(), t.to_bits());
        }
    }

    #[test]
    fn custom_bounds_round_trip_in_both_forms() {
        let layout = Layout {
            schema: CUSTOM_BUCKETS_SCHEMA,
            positive_spans: vec![Span { offset: 0, length: 5 }],
            custom_values: vec![-1.0, 0.0, 0.005, 33_554.43, 33_554.431, 0.1 + 0.2],
            ..Default::default()
        };
        assert_eq!(round_trip(&layout), layout);
    }

    #[test]
    fn hostile_counts_are_errors_not_allocations() {
        let mut w = BitWriter::new();
        w.write_bits(0, 8); // zero threshold 0
        put_varbit_int(&mut w, 0);
        put_varbit_uint(&mut w, 1);
        put_varbit_uint(&mut w, u64::from(u32::MAX)); // one span of 4 billion buckets
        put_varbit_int(&mut w, 0);
        put_varbit_uint(&mut w, 0);
        let bytes = w.finish();
        let err = Layout::read(&mut BitReader::new(&bytes), bytes.len() as u64 * 8).unwrap_err();
        assert!(matches!(err, CodecError::Corrupt { .. }), "{err}");
    }

    #[test]
    fn unknown_schema_is_an_error() {
        let layout = Layout { schema: 20, ..Default::default() };
        let mut w = BitWriter::new();
        layout.write(&mut w);
        let bytes = w.finish();
        let err = Layout::read(&mut BitReader::new(&bytes), 64).unwrap_err();
        assert!(err.to_string().contains("unknown histogram schema 20"), "{err}");
    }

    #[test]
    fn headers_map_to_flag_bits() {
        for h in [
            CounterResetHeader::Unknown,
            CounterResetHeader::CounterReset,
            CounterResetHeader::NotCounterReset,
            CounterResetHeader::Gauge,
        ] {
            assert_eq!(CounterResetHeader::from_flags(h.to_flags() | 0b0011_1111), h);
        }
    }

    proptest! {
        #[test]
        fn layouts_round_trip(
            schema in -4i32..=8,
            threshold in prop_oneof![Just(0.0), Just(2f64.powi(-128)), any::<f64>().prop_filter("not NaN", |v| !v.is_nan())],
            pos in proptest::collection::btree_set(-200i64..200, 0..30),
            neg in proptest::collection::btree_set(-200i64..200, 0..30),
        ) {
            let layout = Layout {
                schema,
                zero_threshold: threshold,
                positive_spans: spans_for_indices(&pos.into_iter().collect::<Vec<_>>()),
                negative_spans: spans_for_indices(&neg.into_iter().collect::<Vec<_>>()),
                custom_values: vec![],
            };
            let back = round_trip(&layout);
            prop_assert_eq!(back.zero_threshold.to_bits(), layout.zero_threshold.to_bits());
            prop_assert_eq!(back.positive_spans, layout.positive_spans);
            prop_assert_eq!(back.negative_spans, layout.negative_spans);
        }

        #[test]
        fn expand_keeps_counts_and_adds_zeros(
            a in proptest::collection::btree_set(-50i64..50, 0..20),
            b in proptest::collection::btree_set(-50i64..50, 0..20),
        ) {
            let a: Vec<i64> = a.into_iter().collect();
            let b: Vec<i64> = b.into_iter().collect();
            let (sa, sb) = (spans_for_indices(&a), spans_for_indices(&b));
            let (merged, same) = merged_spans(&sa, &sb);
            prop_assert_eq!(same, b.iter().all(|i| a.contains(i)));
            let counts: Vec<i64> = a.iter().map(|i| i + 1000).collect();
            let out = expand(&sa, &counts, &merged, 0);
            for (index, count) in bucket_indices(&merged).zip(out) {
                prop_assert_eq!(count, if a.contains(&index) { index + 1000 } else { 0 });
            }
        }
    }
}
