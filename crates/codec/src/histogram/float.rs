//! Float histogram chunks (block encoding 3), bit for bit Prometheus' `FloatHistogramChunk`.
//!
//! After the layout, sample 0 writes its timestamp (varbit int), then count, zero count,
//! sum and every bucket's absolute count as 64 raw bits each. Later samples write the
//! timestamp's delta-of-delta (varbit int) and every float XORed with the same field of
//! the previous sample, each field with its own window. A stale marker writes its
//! timestamp, count and zero count 0, its sum, and no buckets.

use super::layout::{expand, merged_spans, CounterResetHeader, Layout, HEADER_LEN};
use super::xor_field::XorField;
use super::Appended;
use crate::bits::{BitReader, BitWriter};
use crate::varbit::{check, put_varbit_int, read_varbit_int};
use crate::{CodecError, Result};
use strata_model::histogram::{CounterResetHint, FloatHistogram, Span};

const MAX_SAMPLES: usize = u16::MAX as usize;

/// Appends float histograms to one chunk, deciding when the series must cut a new one.
#[derive(Debug, Clone)]
pub struct FloatHistogramChunkEncoder {
    header: CounterResetHeader,
    count: u16,
    stream: BitWriter,
    layout: Layout,
    t: i64,
    t_delta: i64,
    /// Count, zero count and sum.
    fields: [XorField; 3],
    /// Bucket counts, positive then negative.
    buckets: Vec<XorField>,
    last_stale: bool,
}

impl FloatHistogramChunkEncoder {
    /// An empty chunk with `header` (from the first sample's hint when that says more).
    pub fn new(header: CounterResetHeader) -> Self {
        FloatHistogramChunkEncoder {
            header,
            count: 0,
            stream: BitWriter::with_prefix(vec![0; HEADER_LEN]),
            layout: Layout::default(),
            t: 0,
            t_delta: 0,
            fields: [XorField::default(); 3],
            buckets: Vec::new(),
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
    /// valid ([`FloatHistogram::validate`]).
    pub fn append(&mut self, t: i64, h: &FloatHistogram) -> Result<Appended> {
        if self.len() == MAX_SAMPLES {
            return Err(CodecError::Full { format: "float histogram chunk", limit: MAX_SAMPLES });
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
            self.write_next(t, [0.0, 0.0, h.sum], None);
            return Ok(Appended::InPlace);
        }
        let (positive, same_p) = merged_spans(&self.layout.positive_spans, &h.positive_spans);
        let (negative, same_n) = merged_spans(&self.layout.negative_spans, &h.negative_spans);
        let recoded = !(same_p && same_n);
        if recoded {
            self.recode(&positive, &negative)?;
        }
        let buckets = self.expanded_buckets(h);
        self.write_next(t, [h.count, h.zero_count, h.sum], Some(&buckets));
        Ok(if recoded { Appended::Recoded } else { Appended::InPlace })
    }

    fn cut_needed(&self, h: &FloatHistogram) -> Option<CounterResetHeader> {
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

    fn is_counter_reset(&self, h: &FloatHistogram) -> bool {
        if h.count < self.fields[0].value() || h.zero_count < self.fields[1].value() {
            return true;
        }
        let (np, _) = self.layout.bucket_counts();
        let last: Vec<f64> = self.buckets.iter().map(XorField::value).collect();
        let (last_p, last_n) = last.split_at(np);
        let sides = [
            (&self.layout.positive_spans, last_p, &h.positive_spans, &h.positive_buckets),
            (&self.layout.negative_spans, last_n, &h.negative_spans, &h.negative_buckets),
        ];
        let any_bucket_fell = sides.into_iter().any(|(spans, last, new_spans, new)| {
            let (merged, _) = merged_spans(spans, new_spans);
            let before = expand(spans, last, &merged, 0.0);
            let after = expand(new_spans, new, &merged, 0.0);
            before.iter().zip(&after).any(|(b, a)| a < b)
        });
        any_bucket_fell
    }

    fn expanded_buckets(&self, h: &FloatHistogram) -> Vec<f64> {
        let mut out = expand(&h.positive_spans, &h.positive_buckets, &self.layout.positive_spans, 0.0);
        out.extend(expand(&h.negative_spans, &h.negative_buckets, &self.layout.negative_spans, 0.0));
        out
    }

    /// Rewrites the chunk with every sample spread onto the wider spans.
    fn recode(&mut self, positive: &[Span], negative: &[Span]) -> Result<()> {
        let bytes = self.to_bytes();
        let mut fresh = FloatHistogramChunkEncoder::new(self.header);
        for sample in FloatHistogramChunkIter::new(&bytes)? {
            let (t, mut h) = sample?;
            h.positive_buckets = expand(&h.positive_spans, &h.positive_buckets, positive, 0.0);
            h.negative_buckets = expand(&h.negative_spans, &h.negative_buckets, negative, 0.0);
            h.positive_spans = positive.to_vec();
            h.negative_spans = negative.to_vec();
            if fresh.is_empty() {
                fresh.write_first(t, &h);
            } else {
                let buckets = fresh.expanded_buckets(&h);
                fresh.write_next(t, [h.count, h.zero_count, h.sum], Some(&buckets));
            }
        }
        *self = fresh;
        Ok(())
    }

    fn write_first(&mut self, t: i64, h: &FloatHistogram) {
        let stale = h.is_stale();
        self.layout = if stale { Layout::default() } else { layout_of(h) };
        self.layout.write(&mut self.stream);
        put_varbit_int(&mut self.stream, t);
        let fields = if stale { [0.0, 0.0, h.sum] } else { [h.count, h.zero_count, h.sum] };
        let buckets: Vec<f64> = if stale {
            Vec::new()
        } else {
            h.positive_buckets.iter().chain(&h.negative_buckets).copied().collect()
        };
        for v in fields.iter().chain(&buckets) {
            self.stream.write_bits(v.to_bits(), 64);
        }
        self.fields = fields.map(XorField::starting_at);
        self.buckets = buckets.into_iter().map(XorField::starting_at).collect();
        self.t = t;
        self.t_delta = 0;
        self.last_stale = stale;
        self.count = 1;
    }

    /// Writes a later sample; `buckets` is `None` for a stale marker.
    fn write_next(&mut self, t: i64, fields: [f64; 3], buckets: Option<&[f64]>) {
        let t_delta = t.wrapping_sub(self.t);
        put_varbit_int(&mut self.stream, t_delta.wrapping_sub(self.t_delta));
        for (field, v) in self.fields.iter_mut().zip(fields) {
            field.write(&mut self.stream, v);
        }
        if let Some(buckets) = buckets {
            for (field, v) in self.buckets.iter_mut().zip(buckets) {
                field.write(&mut self.stream, *v);
            }
        }
        self.t = t;
        self.t_delta = t_delta;
        self.last_stale = buckets.is_none();
        self.count += 1;
    }
}

fn layout_of(h: &FloatHistogram) -> Layout {
    Layout {
        schema: h.schema,
        zero_threshold: h.zero_threshold,
        positive_spans: h.positive_spans.clone(),
        negative_spans: h.negative_spans.clone(),
        custom_values: h.custom_values.clone(),
    }
}

/// Decodes a float histogram chunk (the bytes after the block's encoding byte).
#[derive(Debug, Clone)]
pub struct FloatHistogramChunkIter<'a> {
    reader: BitReader<'a>,
    data_bits: u64,
    total: usize,
    read: usize,
    header: CounterResetHeader,
    layout: Layout,
    t: i64,
    t_delta: i64,
    fields: [XorField; 3],
    buckets: Vec<XorField>,
    failed: bool,
}

impl<'a> FloatHistogramChunkIter<'a> {
    /// A decoder over `chunk`; fails if the header is missing.
    pub fn new(chunk: &'a [u8]) -> Result<Self> {
        if chunk.len() < HEADER_LEN {
            return Err(CodecError::Truncated { what: "float histogram chunk header", offset: chunk.len() });
        }
        let body = &chunk[HEADER_LEN..];
        Ok(FloatHistogramChunkIter {
            reader: BitReader::new(body),
            data_bits: body.len() as u64 * 8,
            total: usize::from(u16::from_be_bytes([chunk[0], chunk[1]])),
            read: 0,
            header: CounterResetHeader::from_flags(chunk[2]),
            layout: Layout::default(),
            t: 0,
            t_delta: 0,
            fields: [XorField::default(); 3],
            buckets: Vec::new(),
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
        self.t = read_varbit_int(r, "float histogram timestamp")?;
        for field in &mut self.fields {
            *field = XorField::starting_at(f64::from_bits(r.read_bits_wide(64)));
        }
        check(r, "float histogram counts")?;
        let (np, nn) = self.layout.bucket_counts();
        // Each raw bucket takes 64 bits: a count past the data is corrupt, not allocated.
        if ((np + nn) as u64) * 64 > self.data_bits {
            return Err(super::layout::corrupt(
                r,
                format!("layout claims {} buckets, more than the chunk holds", np + nn),
            ));
        }
        self.buckets = Vec::with_capacity(np + nn);
        for _ in 0..np + nn {
            self.buckets.push(XorField::starting_at(f64::from_bits(r.read_bits_wide(64))));
        }
        check(r, "float histogram bucket")
    }

    fn read_next(&mut self) -> Result<()> {
        let r = &mut self.reader;
        self.t_delta = self.t_delta.wrapping_add(read_varbit_int(r, "float histogram timestamp")?);
        self.t = self.t.wrapping_add(self.t_delta);
        for field in &mut self.fields {
            field.read(r, "float histogram count")?;
        }
        if strata_model::is_stale_marker(self.fields[2].value()) {
            return Ok(()); // a stale marker carries no buckets
        }
        for bucket in &mut self.buckets {
            bucket.read(r, "float histogram bucket")?;
        }
        Ok(())
    }

    fn current(&self, index: usize) -> FloatHistogram {
        if strata_model::is_stale_marker(self.fields[2].value()) {
            return FloatHistogram::stale();
        }
        let (np, _) = self.layout.bucket_counts();
        let values: Vec<f64> = self.buckets.iter().map(XorField::value).collect();
        FloatHistogram {
            counter_reset_hint: self.header.hint_for_sample(index),
            schema: self.layout.schema,
            zero_threshold: self.layout.zero_threshold,
            zero_count: self.fields[1].value(),
            count: self.fields[0].value(),
            sum: self.fields[2].value(),
            positive_spans: self.layout.positive_spans.clone(),
            negative_spans: self.layout.negative_spans.clone(),
            positive_buckets: values[..np].to_vec(),
            negative_buckets: values[np..].to_vec(),
            custom_values: self.layout.custom_values.clone(),
        }
    }
}

impl Iterator for FloatHistogramChunkIter<'_> {
    type Item = Result<(i64, FloatHistogram)>;

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
