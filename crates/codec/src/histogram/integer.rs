//! Integer histogram chunks (block encoding 2), bit for bit Prometheus' `HistogramChunk`.
//!
//! After the layout, sample 0 writes its timestamp (varbit int), count and zero count
//! (varbit uint), sum (64 raw bits) and every bucket's delta-encoded count (varbit int).
//! Later samples write delta-of-deltas (varbit int) of the timestamp, the count, the zero
//! count and each bucket value, and the sum XORed with the previous sum. A stale marker
//! writes its timestamp, zero dods for the counts and its sum, and no buckets.

use super::layout::{expand, merged_spans, CounterResetHeader, Layout, HEADER_LEN};
use super::xor_field::XorField;
use super::Appended;
use crate::bits::{BitReader, BitWriter};
use crate::varbit::{check, put_varbit_int, put_varbit_uint, read_varbit_int, read_varbit_uint};
use crate::{CodecError, Result};
use strata_model::histogram::{absolute_counts, delta_counts, CounterResetHint, Histogram};

const MAX_SAMPLES: usize = u16::MAX as usize;

/// Appends integer histograms to one chunk, deciding when the series must cut a new one.
#[derive(Debug, Clone)]
pub struct HistogramChunkEncoder {
    header: CounterResetHeader,
    count: u16,
    stream: BitWriter,
    layout: Layout,
    t: i64,
    t_delta: i64,
    /// Count and zero count, and their deltas, as the format tracks them.
    counts: [i64; 2],
    count_deltas: [i64; 2],
    /// Bucket values as written (delta-encoded across buckets), positive then negative.
    buckets: Vec<i64>,
    bucket_deltas: Vec<i64>,
    sum: XorField,
    last_stale: bool,
}

impl HistogramChunkEncoder {
    /// An empty chunk with `header` (from the first sample's hint when that says more).
    pub fn new(header: CounterResetHeader) -> Self {
        HistogramChunkEncoder {
            header,
            count: 0,
            stream: BitWriter::with_prefix(vec![0; HEADER_LEN]),
            layout: Layout::default(),
            t: 0,
            t_delta: 0,
            counts: [0; 2],
            count_deltas: [0; 2],
            buckets: Vec::new(),
            bucket_deltas: Vec::new(),
            sum: XorField::default(),
            last_stale: false,
        }
    }

    /// Samples in the chunk.
    pub fn len(&self) -> usize {
        usize::from(self.count)
    }

    /// Whether the chunk has no sample.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Encoded size so far in bytes.
    pub fn byte_len(&self) -> usize {
        self.stream.bit_len().div_ceil(8) as usize
    }

    /// The chunk's counter-reset header.
    pub fn header(&self) -> CounterResetHeader {
        self.header
    }

    /// The chunk as it stands (appending may continue).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = self.stream.to_bytes();
        bytes[..2].copy_from_slice(&self.count.to_be_bytes());
        bytes[2] = self.header.to_flags();
        bytes
    }

    /// Appends `h` at `t`, or says why the series needs a new chunk for it. `h` must be
    /// valid ([`Histogram::validate`]); the caller checks that before.
    pub fn append(&mut self, t: i64, h: &Histogram) -> Result<Appended> {
        if self.len() == MAX_SAMPLES {
            return Err(CodecError::Full { format: "histogram chunk", limit: MAX_SAMPLES });
        }
        if self.count == 0 {
            if matches!(h.counter_reset_hint, CounterResetHint::Gauge | CounterResetHint::CounterReset) {
                self.header = CounterResetHeader::from_hint(h.counter_reset_hint);
            }
            self.write_first(t, h);
            return Ok(Appended::InPlace);
        }
        if let Some(cut) = self.cut_needed(h) {
            return Ok(Appended::Cut(cut));
        }
        if h.is_stale() {
            self.write_next(t, &[0, 0], h.sum, None);
            return Ok(Appended::InPlace);
        }
        let (positive, same_p) = merged_spans(&self.layout.positive_spans, &h.positive_spans);
        let (negative, same_n) = merged_spans(&self.layout.negative_spans, &h.negative_spans);
        let recoded = !(same_p && same_n);
        if recoded {
            self.recode(&positive, &negative)?;
        }
        let buckets = self.expanded_buckets(h);
        self.write_next(t, &[h.count as i64, h.zero_count as i64], h.sum, Some(&buckets));
        Ok(if recoded { Appended::Recoded } else { Appended::InPlace })
    }

    /// Why `h` cannot follow the chunk's last sample, as the header of the chunk to cut.
    fn cut_needed(&self, h: &Histogram) -> Option<CounterResetHeader> {
        if h.is_stale() {
            return None; // a stale marker ends any chunk: it has no buckets to disagree with
        }
        let gauge_chunk = self.header == CounterResetHeader::Gauge;
        if gauge_chunk != (h.counter_reset_hint == CounterResetHint::Gauge) {
            return Some(CounterResetHeader::from_hint(h.counter_reset_hint));
        }
        if !gauge_chunk && h.counter_reset_hint == CounterResetHint::CounterReset {
            return Some(CounterResetHeader::CounterReset);
        }
        if self.last_stale || !self.layout.compatible(&layout_of(h)) {
            return Some(if gauge_chunk { CounterResetHeader::Gauge } else { CounterResetHeader::Unknown });
        }
        if !gauge_chunk && self.is_counter_reset(h) {
            return Some(CounterResetHeader::CounterReset);
        }
        None
    }

    /// Whether any count went down, a bucket in use included (a bucket `h` lacks counts 0).
    fn is_counter_reset(&self, h: &Histogram) -> bool {
        if (h.count as i64) < self.counts[0] || (h.zero_count as i64) < self.counts[1] {
            return true;
        }
        let (np, _) = self.layout.bucket_counts();
        let (last_p, last_n) = self.buckets.split_at(np);
        let sides = [
            (&self.layout.positive_spans, last_p, &h.positive_spans, &h.positive_buckets),
            (&self.layout.negative_spans, last_n, &h.negative_spans, &h.negative_buckets),
        ];
        let any_bucket_fell = sides.into_iter().any(|(spans, last, new_spans, new)| {
            let (merged, _) = merged_spans(spans, new_spans);
            let before = expand(spans, &absolute_counts(last), &merged, 0);
            let after = expand(new_spans, &absolute_counts(new), &merged, 0);
            before.iter().zip(&after).any(|(b, a)| a < b)
        });
        any_bucket_fell
    }

    /// `h`'s buckets laid out as the chunk's, delta-encoded, positive then negative.
    fn expanded_buckets(&self, h: &Histogram) -> Vec<i64> {
        let mut out = delta_counts(&expand(
            &h.positive_spans,
            &absolute_counts(&h.positive_buckets),
            &self.layout.positive_spans,
            0,
        ));
        out.extend(delta_counts(&expand(
            &h.negative_spans,
            &absolute_counts(&h.negative_buckets),
            &self.layout.negative_spans,
            0,
        )));
        out
    }

    /// Rewrites the chunk with every sample spread onto the wider spans.
    fn recode(&mut self, positive: &[strata_model::Span], negative: &[strata_model::Span]) -> Result<()> {
        let bytes = self.to_bytes();
        let mut fresh = HistogramChunkEncoder::new(self.header);
        for sample in HistogramChunkIter::new(&bytes)? {
            let (t, mut h) = sample?;
            let p = expand(&h.positive_spans, &absolute_counts(&h.positive_buckets), positive, 0);
            let n = expand(&h.negative_spans, &absolute_counts(&h.negative_buckets), negative, 0);
            h.positive_spans = positive.to_vec();
            h.negative_spans = negative.to_vec();
            h.positive_buckets = delta_counts(&p);
            h.negative_buckets = delta_counts(&n);
            if fresh.is_empty() {
                fresh.write_first(t, &h);
            } else {
                let buckets = fresh.expanded_buckets(&h);
                fresh.write_next(t, &[h.count as i64, h.zero_count as i64], h.sum, Some(&buckets));
            }
        }
        *self = fresh;
        Ok(())
    }

    fn write_first(&mut self, t: i64, h: &Histogram) {
        let stale = h.is_stale();
        self.layout = if stale { Layout::default() } else { layout_of(h) };
        self.layout.write(&mut self.stream);
        let (count, zero_count) = if stale { (0, 0) } else { (h.count, h.zero_count) };
        put_varbit_int(&mut self.stream, t);
        put_varbit_uint(&mut self.stream, count);
        put_varbit_uint(&mut self.stream, zero_count);
        self.stream.write_bits(h.sum.to_bits(), 64);
        self.buckets.clear();
        if !stale {
            self.buckets.extend(h.positive_buckets.iter().chain(&h.negative_buckets));
        }
        self.buckets.iter().for_each(|b| put_varbit_int(&mut self.stream, *b));
        self.bucket_deltas = vec![0; self.buckets.len()];
        self.t = t;
        self.t_delta = 0;
        self.counts = [count as i64, zero_count as i64];
        self.count_deltas = [0, 0];
        self.sum = XorField::starting_at(h.sum);
        self.last_stale = stale;
        self.count = 1;
    }

    /// Writes a later sample; `buckets` is `None` for a stale marker.
    fn write_next(&mut self, t: i64, counts: &[i64; 2], sum: f64, buckets: Option<&[i64]>) {
        let t_delta = t.wrapping_sub(self.t);
        put_varbit_int(&mut self.stream, t_delta.wrapping_sub(self.t_delta));
        for ((last, last_delta), count) in self.counts.iter_mut().zip(&mut self.count_deltas).zip(counts) {
            let delta = count.wrapping_sub(*last);
            // A stale marker's counts mean nothing: Prometheus writes zero dods for them.
            let dod = if buckets.is_some() { delta.wrapping_sub(*last_delta) } else { 0 };
            put_varbit_int(&mut self.stream, dod);
            *last = *count;
            *last_delta = delta;
        }
        self.sum.write(&mut self.stream, sum);
        if let Some(buckets) = buckets {
            for (i, b) in buckets.iter().enumerate() {
                let delta = b.wrapping_sub(self.buckets[i]);
                put_varbit_int(&mut self.stream, delta.wrapping_sub(self.bucket_deltas[i]));
                self.buckets[i] = *b;
                self.bucket_deltas[i] = delta;
            }
        }
        self.t = t;
        self.t_delta = t_delta;
        self.last_stale = buckets.is_none();
        self.count += 1;
    }
}

/// The layout a histogram's buckets need.
fn layout_of(h: &Histogram) -> Layout {
    Layout {
        schema: h.schema,
        zero_threshold: h.zero_threshold,
        positive_spans: h.positive_spans.clone(),
        negative_spans: h.negative_spans.clone(),
        custom_values: h.custom_values.clone(),
    }
}

/// Decodes an integer histogram chunk (the bytes after the block's encoding byte).
#[derive(Debug, Clone)]
pub struct HistogramChunkIter<'a> {
    reader: BitReader<'a>,
    data_bits: u64,
    total: usize,
    read: usize,
    header: CounterResetHeader,
    layout: Layout,
    t: i64,
    t_delta: i64,
    counts: [i64; 2],
    count_deltas: [i64; 2],
    buckets: Vec<i64>,
    bucket_deltas: Vec<i64>,
    sum: XorField,
    failed: bool,
}

impl<'a> HistogramChunkIter<'a> {
    /// A decoder over `chunk`; fails if the header is missing.
    pub fn new(chunk: &'a [u8]) -> Result<Self> {
        if chunk.len() < HEADER_LEN {
            return Err(CodecError::Truncated { what: "histogram chunk header", offset: chunk.len() });
        }
        let body = &chunk[HEADER_LEN..];
        Ok(HistogramChunkIter {
            reader: BitReader::new(body),
            data_bits: body.len() as u64 * 8,
            total: usize::from(u16::from_be_bytes([chunk[0], chunk[1]])),
            read: 0,
            header: CounterResetHeader::from_flags(chunk[2]),
            layout: Layout::default(),
            t: 0,
            t_delta: 0,
            counts: [0; 2],
            count_deltas: [0; 2],
            buckets: Vec::new(),
            bucket_deltas: Vec::new(),
            sum: XorField::default(),
            failed: false,
        })
    }

    /// The chunk's counter-reset header.
    pub fn header(&self) -> CounterResetHeader {
        self.header
    }

    /// Samples the header announces.
    pub fn sample_count(&self) -> usize {
        self.total
    }

    fn read_first(&mut self) -> Result<()> {
        let r = &mut self.reader;
        self.layout = Layout::read(r, self.data_bits)?;
        self.t = read_varbit_int(r, "histogram timestamp")?;
        let count = read_varbit_uint(r, "histogram count")?;
        let zero_count = read_varbit_uint(r, "histogram zero count")?;
        let sum = r.read_bits_wide(64);
        check(r, "histogram sum")?;
        self.counts = [count as i64, zero_count as i64];
        self.sum = XorField::starting_at(f64::from_bits(sum));
        let (np, nn) = self.layout.bucket_counts();
        self.buckets = Vec::with_capacity(np + nn);
        for _ in 0..np + nn {
            self.buckets.push(read_varbit_int(&mut self.reader, "histogram bucket")?);
        }
        self.bucket_deltas = vec![0; np + nn];
        Ok(())
    }

    fn read_next(&mut self) -> Result<()> {
        let r = &mut self.reader;
        self.t_delta = self.t_delta.wrapping_add(read_varbit_int(r, "histogram timestamp")?);
        self.t = self.t.wrapping_add(self.t_delta);
        for i in 0..2 {
            self.count_deltas[i] = self.count_deltas[i].wrapping_add(read_varbit_int(r, "histogram count")?);
            self.counts[i] = self.counts[i].wrapping_add(self.count_deltas[i]);
        }
        self.sum.read(r, "histogram sum")?;
        if strata_model::is_stale_marker(self.sum.value()) {
            return Ok(()); // a stale marker carries no buckets
        }
        for i in 0..self.buckets.len() {
            let dod = read_varbit_int(&mut self.reader, "histogram bucket")?;
            self.bucket_deltas[i] = self.bucket_deltas[i].wrapping_add(dod);
            self.buckets[i] = self.buckets[i].wrapping_add(self.bucket_deltas[i]);
        }
        Ok(())
    }

    fn current(&self, index: usize) -> Histogram {
        if strata_model::is_stale_marker(self.sum.value()) {
            return Histogram::stale();
        }
        let (np, _) = self.layout.bucket_counts();
        Histogram {
            counter_reset_hint: self.header.hint_for_sample(index),
            schema: self.layout.schema,
            zero_threshold: self.layout.zero_threshold,
            zero_count: self.counts[1] as u64,
            count: self.counts[0] as u64,
            sum: self.sum.value(),
            positive_spans: self.layout.positive_spans.clone(),
            negative_spans: self.layout.negative_spans.clone(),
            positive_buckets: self.buckets[..np].to_vec(),
            negative_buckets: self.buckets[np..].to_vec(),
            custom_values: self.layout.custom_values.clone(),
        }
    }
}

impl Iterator for HistogramChunkIter<'_> {
    type Item = Result<(i64, Histogram)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.read == self.total {
            return None;
        }
        let step = if self.read == 0 { self.read_first() } else { self.read_next() };
        if let Err(e) = step {
            self.failed = true;
            return Some(Err(e));
        }
        let index = self.read;
        self.read += 1;
        Some(Ok((self.t, self.current(index))))
    }
}
