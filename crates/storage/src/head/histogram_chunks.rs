//! The native-histogram samples of one head series: closed histogram chunks (on the heap)
//! and the open one, in Prometheus' histogram chunk encodings (format/histogram-chunk.md).
//!
//! A series holds floats and histograms side by side; its newest timestamp is shared
//! (`MemSeries::last_t`), so either kind only comes after the other in time. A chunk ends
//! when the codec requires it (a counter reset, a new schema or zero threshold, a switch
//! between gauge and counter histograms or between integer and float ones), at a chunk-range
//! boundary, or when it holds [`SAMPLES_PER_CHUNK`] samples or [`TARGET_CHUNK_BYTES`].
//! Histograms are accepted in order only (Prometheus 2.42 keeps no out-of-order ones
//! either).

use std::sync::Arc;

use strata_codec::histogram::{
    Appended, CounterResetHeader, FloatHistogramChunkEncoder, FloatHistogramChunkIter, HistogramChunkEncoder,
    HistogramChunkIter,
};
use strata_model::histogram::HistogramValue;

use crate::block::SAMPLES_PER_CHUNK;
use crate::series_set::{ChunkData, ChunkSource};
use crate::time_range::overlaps;
use crate::StorageError;

/// A histogram chunk is cut once it reaches this many bytes (Prometheus' target size for
/// histogram chunks): a histogram sample can take hundreds of bits, so a chunk of 120 of
/// them would be slow to decode for a short query.
pub(crate) const TARGET_CHUNK_BYTES: usize = 1024;

/// A closed histogram chunk.
#[derive(Debug)]
struct ClosedChunk {
    mint: i64,
    maxt: i64,
    /// Encoding 3 (float histograms) rather than 2.
    float: bool,
    bytes: Arc<[u8]>,
}

/// A histogram chunk being appended to, of either encoding (the head's open chunk, and a
/// block's chunk as `block::series_chunks` fills it).
#[derive(Debug, Clone)]
pub(crate) enum OpenChunk {
    Integer(HistogramChunkEncoder),
    Float(FloatHistogramChunkEncoder),
}

impl OpenChunk {
    /// An empty chunk of the encoding `value` needs.
    pub(crate) fn new(value: &HistogramValue, header: CounterResetHeader) -> OpenChunk {
        match value {
            HistogramValue::Integer(_) => OpenChunk::Integer(HistogramChunkEncoder::new(header)),
            HistogramValue::Float(_) => OpenChunk::Float(FloatHistogramChunkEncoder::new(header)),
        }
    }

    pub(crate) fn is_float(&self) -> bool {
        matches!(self, OpenChunk::Float(_))
    }

    /// Whether it should be cut for size: [`SAMPLES_PER_CHUNK`] samples or
    /// [`TARGET_CHUNK_BYTES`].
    pub(crate) fn full(&self) -> bool {
        self.len() >= SAMPLES_PER_CHUNK || self.byte_len() >= TARGET_CHUNK_BYTES
    }

    fn len(&self) -> usize {
        match self {
            OpenChunk::Integer(e) => e.len(),
            OpenChunk::Float(e) => e.len(),
        }
    }

    fn byte_len(&self) -> usize {
        match self {
            OpenChunk::Integer(e) => e.byte_len(),
            OpenChunk::Float(e) => e.byte_len(),
        }
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        match self {
            OpenChunk::Integer(e) => e.to_bytes(),
            OpenChunk::Float(e) => e.to_bytes(),
        }
    }

    /// Appends, or says the header of the chunk that must take the sample instead.
    pub(crate) fn append(
        &mut self,
        t: i64,
        value: &HistogramValue,
    ) -> Result<Option<CounterResetHeader>, StorageError> {
        let appended = match (self, value) {
            (OpenChunk::Integer(e), HistogramValue::Integer(h)) => e.append(t, h)?,
            (OpenChunk::Float(e), HistogramValue::Float(h)) => e.append(t, h)?,
            (_, v) => Appended::Cut(CounterResetHeader::from_hint(hint_of(v))),
        };
        Ok(match appended {
            Appended::Cut(header) => Some(header),
            Appended::InPlace | Appended::Recoded => None,
        })
    }
}

fn hint_of(value: &HistogramValue) -> strata_model::CounterResetHint {
    match value {
        HistogramValue::Integer(h) => h.counter_reset_hint,
        HistogramValue::Float(h) => h.counter_reset_hint,
    }
}

/// Decodes a histogram chunk (encoding 2, or 3 when `float`) into `out`.
pub(crate) fn decode_histogram_chunk(
    float: bool,
    bytes: &[u8],
    out: &mut Vec<(i64, HistogramValue)>,
) -> Result<(), StorageError> {
    if float {
        for sample in FloatHistogramChunkIter::new(bytes)? {
            let (t, h) = sample?;
            out.push((t, HistogramValue::Float(h)));
        }
    } else {
        for sample in HistogramChunkIter::new(bytes)? {
            let (t, h) = sample?;
            out.push((t, HistogramValue::Integer(h)));
        }
    }
    Ok(())
}

/// The histogram samples of one series; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct HistogramChunks {
    closed: Vec<ClosedChunk>,
    open: Option<OpenChunk>,
    open_mint: i64,
    open_maxt: i64,
    /// The newest sample, to tell a resent copy (ignored) from a conflicting one.
    last: Option<(i64, HistogramValue)>,
}

impl HistogramChunks {
    /// The newest sample's timestamp and value.
    pub(crate) fn last(&self) -> Option<&(i64, HistogramValue)> {
        self.last.as_ref()
    }

    /// Appends `value` at `t`, after every sample held.
    pub(crate) fn push(
        &mut self,
        t: i64,
        value: HistogramValue,
        chunk_range: i64,
    ) -> Result<(), StorageError> {
        let crosses = t.div_euclid(chunk_range) != self.open_mint.div_euclid(chunk_range);
        let full = self.open.as_ref().is_some_and(OpenChunk::full);
        let mut header = CounterResetHeader::Unknown;
        if crosses || full {
            self.close();
        }
        if let Some(open) = &mut self.open {
            match open.append(t, &value)? {
                None => {
                    self.open_maxt = t;
                    self.last = Some((t, value));
                    return Ok(());
                }
                Some(h) => {
                    header = h;
                    self.close();
                }
            }
        }
        let mut open = OpenChunk::new(&value, header);
        open.append(t, &value)?;
        self.open = Some(open);
        (self.open_mint, self.open_maxt) = (t, t);
        self.last = Some((t, value));
        Ok(())
    }

    fn close(&mut self) {
        if let Some(open) = self.open.take() {
            let chunk = ClosedChunk {
                mint: self.open_mint,
                maxt: self.open_maxt,
                float: open.is_float(),
                bytes: open.to_bytes().into(),
            };
            self.closed.reserve_exact(1);
            self.closed.push(chunk);
        }
    }

    /// Chunks overlapping `[mint, maxt]`, as query sources.
    pub(crate) fn chunks_in(&self, mint: i64, maxt: i64, out: &mut Vec<ChunkSource>) {
        for c in self.closed.iter().filter(|c| overlaps(c.mint, c.maxt, mint, maxt)) {
            let data = ChunkData::Histogram { float: c.float, bytes: Arc::clone(&c.bytes) };
            out.push(ChunkSource::new(c.mint, c.maxt, data));
        }
        if let Some(open) =
            self.open.as_ref().filter(|_| overlaps(self.open_mint, self.open_maxt, mint, maxt))
        {
            let data = ChunkData::Histogram { float: open.is_float(), bytes: open.to_bytes().into() };
            out.push(ChunkSource::new(self.open_mint, self.open_maxt, data));
        }
    }

    /// Samples in `[from, to)`, in time order.
    pub(crate) fn samples_in(&self, from: i64, to: i64) -> Result<Vec<(i64, HistogramValue)>, StorageError> {
        let last = to.saturating_sub(1);
        let mut out = Vec::new();
        for c in self.closed.iter().filter(|c| overlaps(c.mint, c.maxt, from, last)) {
            decode_histogram_chunk(c.float, &c.bytes, &mut out)?;
        }
        if let Some(open) =
            self.open.as_ref().filter(|_| overlaps(self.open_mint, self.open_maxt, from, last))
        {
            decode_histogram_chunk(open.is_float(), &open.to_bytes(), &mut out)?;
        }
        out.retain(|s| (from..to).contains(&s.0));
        Ok(out)
    }

    /// Whether a chunk overlaps `[mint, maxt]`.
    pub(crate) fn touches(&self, mint: i64, maxt: i64) -> bool {
        self.closed.iter().any(|c| overlaps(c.mint, c.maxt, mint, maxt))
            || (self.open.is_some() && overlaps(self.open_mint, self.open_maxt, mint, maxt))
    }

    /// Removes the samples in `[mint, maxt]`, re-encoding the chunks from the first one hit.
    pub(crate) fn delete(&mut self, mint: i64, maxt: i64, chunk_range: i64) -> Result<(), StorageError> {
        if !self.touches(mint, maxt) {
            return Ok(());
        }
        let first = self.closed.iter().position(|c| c.maxt >= mint).unwrap_or(self.closed.len());
        let mut samples = Vec::new();
        for c in &self.closed[first..] {
            decode_histogram_chunk(c.float, &c.bytes, &mut samples)?;
        }
        if let Some(open) = &self.open {
            decode_histogram_chunk(open.is_float(), &open.to_bytes(), &mut samples)?;
        }
        let newest = self.last.take();
        self.closed.truncate(first);
        self.open = None;
        self.open_mint = 0;
        for (t, v) in samples.into_iter().filter(|s| !(mint..=maxt).contains(&s.0)) {
            self.push(t, v, chunk_range)?;
        }
        // The newest sample stays the series' newest: deleted times do not reopen.
        self.last = newest;
        Ok(())
    }

    /// Drops chunks wholly before `t`.
    pub(crate) fn truncate(&mut self, t: i64) {
        self.closed.retain(|c| c.maxt >= t);
        if self.open.is_some() && self.open_maxt < t {
            self.open = None;
        }
    }

    /// Timestamp of the oldest sample held.
    pub(crate) fn oldest(&self) -> Option<i64> {
        self.closed.first().map(|c| c.mint).or(self.open.as_ref().map(|_| self.open_mint))
    }

    /// Whether nothing is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.closed.is_empty() && self.open.is_none()
    }

    /// Chunks held (closed and open).
    pub(crate) fn chunk_count(&self) -> usize {
        self.closed.len() + usize::from(self.open.is_some())
    }

    /// Samples held.
    pub(crate) fn sample_count(&self) -> usize {
        let closed: usize =
            self.closed.iter().map(|c| usize::from(u16::from_be_bytes([c.bytes[0], c.bytes[1]]))).sum();
        closed + self.open.as_ref().map_or(0, OpenChunk::len)
    }

    /// Encoded bytes of the samples.
    pub(crate) fn encoded_bytes(&self) -> usize {
        self.closed.iter().map(|c| c.bytes.len()).sum::<usize>()
            + self.open.as_ref().map_or(0, OpenChunk::byte_len)
    }

    /// Heap bytes, about.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.encoded_bytes()
            + self.closed.capacity() * std::mem::size_of::<ClosedChunk>()
            + std::mem::size_of::<Self>()
            + self.open.as_ref().map_or(0, |o| o.byte_len() * 2) // encoder state, roughly
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_model::histogram::{delta_counts, spans_for_indices, Histogram};

    fn h(count: u64) -> HistogramValue {
        HistogramValue::Integer(Histogram {
            count,
            sum: count as f64,
            positive_spans: spans_for_indices(&[0]),
            positive_buckets: delta_counts(&[count as i64]),
            ..Default::default()
        })
    }

    #[test]
    fn cuts_on_resets_ranges_and_kinds_and_reads_back() {
        let mut chunks = HistogramChunks::default();
        for (t, c) in [(10, 1), (20, 2), (30, 1), (2_000, 5)] {
            chunks.push(t, h(c), 1_000).unwrap();
        }
        chunks.push(2_010, HistogramValue::Float(Histogram::default().to_float()), 1_000).unwrap();
        assert_eq!(chunks.chunk_count(), 4, "reset at 30, range at 2000, float at 2010");
        assert_eq!(chunks.sample_count(), 5);
        let back = chunks.samples_in(0, 3_000).unwrap();
        let times: Vec<i64> = back.iter().map(|s| s.0).collect();
        assert_eq!(times, vec![10, 20, 30, 2_000, 2_010]);
        assert!(back[2].1.to_float().count == 1.0 && matches!(back[4].1, HistogramValue::Float(_)));
        chunks.delete(15, 25, 1_000).unwrap();
        assert_eq!(chunks.samples_in(0, 3_000).unwrap().len(), 4);
        chunks.truncate(1_000);
        assert_eq!(chunks.oldest(), Some(2_000));
    }

    #[test]
    fn chunks_are_cut_by_size() {
        let mut chunks = HistogramChunks::default();
        for i in 0..400 {
            chunks.push(i * 10, h(i as u64 * 1_000_003 + 7), i64::MAX).unwrap();
        }
        assert!(chunks.chunk_count() > 3, "{} chunks", chunks.chunk_count());
        assert_eq!(chunks.samples_in(0, i64::MAX).unwrap().len(), 400);
    }
}
