//! One series of the head: its closed chunks (in the head chunk files, or on the heap), its
//! open XOR chunk, its out-of-order samples and its newest timestamp — and everything done to
//! it under its lock: appending, reading a range, deleting, truncating after a cut.

use std::sync::Arc;

use strata_codec::xor::{decode_chunk_into, header_sample_count, Uncounted, XorEncoder};

use strata_model::histogram::HistogramValue;

use super::histogram_chunks::HistogramChunks;
use super::ooo_samples::OooSamples;
use crate::block::SAMPLES_PER_CHUNK;
use crate::head_chunks::{DiskChunk, HeadChunkFiles};
use crate::series_set::{ChunkData, ChunkSource};
use crate::time_range::overlaps;
use crate::StorageError;

/// Bytes reserved for a series' first open chunk; later ones start at a quarter of what the
/// previous chunk took and grow by quarters (`BitWriter`). Reserving the previous chunk's
/// whole size up front kept every open chunk full-sized from its first sample — half of it
/// empty on average: at 1M series after three minutes of remote write, 735 MiB resident
/// against 514 MiB starting at a quarter (docs/server.md, "Memory at a million series").
const FIRST_CHUNK_CAPACITY: usize = 32;

/// Where a closed chunk's bytes are.
#[derive(Debug)]
pub(super) enum ChunkBytes {
    /// In a head chunk file (`head_chunks`), read through mmap.
    Disk(DiskChunk),
    /// In memory (no chunk files, or writing to them failed).
    Memory(Arc<[u8]>),
}

impl ChunkBytes {
    pub(super) fn slice(&self) -> &[u8] {
        match self {
            ChunkBytes::Disk(d) => d.bytes(),
            ChunkBytes::Memory(m) => m,
        }
    }

    /// Its sample count, without touching a mapped page.
    pub(super) fn samples(&self) -> u64 {
        match self {
            ChunkBytes::Disk(d) => u64::from(d.samples()),
            ChunkBytes::Memory(m) => header_sample_count(m).map_or(0, u64::from),
        }
    }

    fn source(&self) -> ChunkData {
        match self {
            ChunkBytes::Disk(d) => ChunkData::HeadFile(d.clone()),
            ChunkBytes::Memory(m) => ChunkData::Xor(Arc::clone(m)),
        }
    }

    /// Heap bytes (beyond the enum itself).
    fn heap_bytes(&self) -> usize {
        match self {
            ChunkBytes::Disk(_) => 0,
            ChunkBytes::Memory(m) => m.len() + 16,
        }
    }
}

/// A closed chunk of the head.
#[derive(Debug)]
pub(super) struct HeadChunk {
    pub(super) mint: i64,
    pub(super) maxt: i64,
    pub(super) bytes: ChunkBytes,
}

/// Where closing chunks go, and the range they must not cross.
#[derive(Debug, Clone, Copy)]
pub(super) struct ChunkSink<'a> {
    pub(super) chunk_range: i64,
    pub(super) files: Option<&'a HeadChunkFiles>,
}

impl ChunkSink<'_> {
    fn close(&self, bytes: Vec<u8>, maxt: i64) -> ChunkBytes {
        match self.files.map(|f| f.write(&bytes, maxt)) {
            Some(Ok(on_disk)) => ChunkBytes::Disk(on_disk),
            _ => ChunkBytes::Memory(bytes.into()),
        }
    }
}

/// The top bit of [`MemSeries`]' `ref_bits`: set while the series has a newest sample
/// (`newest_t` means something). WAL refs count up from 1 and stay far below it; keeping the
/// flag there rather than in an `Option<i64>` saves the eight bytes that put a series in
/// the allocator's next size class.
const HAS_NEWEST: u64 = 1 << 63;

#[derive(Debug)]
pub(super) struct MemSeries {
    /// The ref this series has in the WAL, and [`HAS_NEWEST`].
    ref_bits: u64,
    /// Closed chunks, oldest first (a boxed slice, not a vector: a series holds a handful,
    /// appended one at a time, and a vector's capacity field would cost 8 bytes a series).
    pub(super) closed: Box<[HeadChunk]>,
    pub(super) open: XorEncoder<Uncounted>,
    /// Timestamp of the open chunk's first sample (its last is the encoder's).
    pub(super) open_mint: i64,
    /// Timestamp of the newest sample, when [`HAS_NEWEST`] is set; in-order samples must
    /// come after it.
    newest_t: i64,
    /// Value of the newest sample (a copy of it at the same time is not a duplicate).
    pub(super) last_v: f64,
    /// Accepted out-of-order samples, sorted by time, one per timestamp.
    pub(super) ooo: OooSamples,
    /// Native-histogram samples, for the (few) series that have any: boxed so that a float
    /// series pays one pointer for them.
    pub(super) histograms: Option<Box<HistogramChunks>>,
}

impl MemSeries {
    pub(super) fn new(wal_ref: u64) -> Self {
        debug_assert!(wal_ref & HAS_NEWEST == 0, "WAL ref {wal_ref} uses the flag bit");
        MemSeries {
            ref_bits: wal_ref,
            closed: Box::default(),
            open: XorEncoder::without_stats(0),
            open_mint: 0,
            newest_t: 0,
            last_v: 0.0,
            ooo: OooSamples::default(),
            histograms: None,
        }
    }

    /// The ref this series has in the WAL ([`super::series_removal::REMOVED`] once removed).
    pub(super) fn wal_ref(&self) -> u64 {
        self.ref_bits & !HAS_NEWEST
    }

    pub(super) fn set_wal_ref(&mut self, wal_ref: u64) {
        debug_assert!(wal_ref & HAS_NEWEST == 0, "WAL ref {wal_ref} uses the flag bit");
        self.ref_bits = (self.ref_bits & HAS_NEWEST) | wal_ref;
    }

    /// Timestamp of the newest sample ever appended (deletes leave it as it was).
    pub(super) fn last_t(&self) -> Option<i64> {
        (self.ref_bits & HAS_NEWEST != 0).then_some(self.newest_t)
    }

    fn set_last_t(&mut self, t: Option<i64>) {
        match t {
            Some(t) => {
                self.ref_bits |= HAS_NEWEST;
                self.newest_t = t;
            }
            None => self.ref_bits &= !HAS_NEWEST,
        }
    }

    /// Changes the closed chunks as a vector, then keeps them as an exact slice again
    /// (they change one chunk at a time, a few times an hour).
    fn edit_closed(&mut self, edit: impl FnOnce(&mut Vec<HeadChunk>)) {
        let mut closed = std::mem::take(&mut self.closed).into_vec();
        edit(&mut closed);
        self.closed = closed.into_boxed_slice();
    }

    /// Whether the newest sample is a histogram (then `last_v` means nothing).
    pub(super) fn last_is_histogram(&self) -> bool {
        self.histograms.as_ref().and_then(|h| h.last()).is_some_and(|(t, _)| Some(*t) == self.last_t())
    }

    /// The newest sample if it is a histogram.
    pub(super) fn last_histogram(&self) -> Option<&HistogramValue> {
        self.histograms
            .as_ref()
            .and_then(|h| h.last())
            .filter(|(t, _)| Some(*t) == self.last_t())
            .map(|(_, v)| v)
    }

    /// Appends a histogram sample after every sample held (the caller checked the order).
    pub(super) fn push_histogram(
        &mut self,
        t: i64,
        v: HistogramValue,
        sink: ChunkSink<'_>,
    ) -> Result<(), StorageError> {
        self.histograms.get_or_insert_with(Box::default).push(t, v, sink.chunk_range)?;
        self.set_last_t(Some(t));
        Ok(())
    }

    /// Applies a histogram read back from the WAL: kept unless a sample at or after its
    /// time is already held (histograms are only ever appended in order).
    pub(super) fn replay_histogram(&mut self, t: i64, v: HistogramValue, sink: ChunkSink<'_>) -> bool {
        if self.last_t().is_some_and(|last| t <= last) {
            return false;
        }
        self.push_histogram(t, v, sink).is_ok()
    }

    /// Histogram samples in `[from, to)`, in time order.
    pub(super) fn histograms_in(
        &self,
        from: i64,
        to: i64,
    ) -> Result<Vec<(i64, HistogramValue)>, StorageError> {
        self.histograms.as_ref().map_or(Ok(Vec::new()), |h| h.samples_in(from, to))
    }

    /// Appends an in-order sample (`t` after `last_t`), cutting the open chunk first when
    /// it is full or `t` is in another chunk range.
    pub(super) fn push(&mut self, t: i64, v: f64, sink: ChunkSink<'_>) -> Result<(), StorageError> {
        let range = sink.chunk_range;
        let crosses = t.div_euclid(range) != self.open_mint.div_euclid(range);
        let mut capacity = FIRST_CHUNK_CAPACITY;
        if !self.open.is_empty() && (self.open.len() == SAMPLES_PER_CHUNK || crosses) {
            let full = std::mem::replace(&mut self.open, XorEncoder::without_stats(0));
            let maxt = full.last_timestamp().unwrap_or(self.open_mint);
            let bytes = full.finish().0;
            capacity = (bytes.len() / 4).max(FIRST_CHUNK_CAPACITY);
            let chunk = HeadChunk { mint: self.open_mint, maxt, bytes: sink.close(bytes, maxt) };
            self.edit_closed(|closed| {
                closed.reserve_exact(1);
                closed.push(chunk);
            });
        }
        if self.open.is_empty() {
            self.open = XorEncoder::without_stats(capacity);
            self.open_mint = t;
        }
        self.open.append(t, v)?;
        self.set_last_t(Some(t));
        self.last_v = v;
        Ok(())
    }

    /// First and last timestamp of the open chunk, if it has samples. Its last is the
    /// series' newest sample, except after a delete removed the newest ones.
    pub(super) fn open_range(&self) -> Option<(i64, i64)> {
        self.open.last_timestamp().map(|maxt| (self.open_mint, maxt))
    }

    /// Whether a sample at `t` (older than the newest) is already held: out of order, or
    /// in the one chunk that can hold it (decoded for this; only out-of-order appends ask).
    pub(super) fn holds(&self, t: i64) -> bool {
        if self.ooo.binary_search_by_key(&t, |s| s.0).is_ok() {
            return true;
        }
        let mut samples = Vec::new();
        let decoded = match self.open_range() {
            Some((lo, hi)) if (lo..=hi).contains(&t) => {
                decode_chunk_into(&self.open.to_bytes(), &mut samples)
            }
            _ => match self.closed.iter().rev().find(|c| (c.mint..=c.maxt).contains(&t)) {
                Some(c) => decode_chunk_into(c.bytes.slice(), &mut samples),
                None => return false,
            },
        };
        // A chunk that does not decode cannot be told apart: count the sample as held.
        decoded.is_err() || samples.binary_search_by_key(&t, |s| s.0).is_ok()
    }

    pub(super) fn insert_ooo(&mut self, t: i64, v: f64) -> bool {
        match self.ooo.binary_search_by_key(&t, |s| s.0) {
            Ok(_) => false,
            Err(at) => {
                self.ooo.insert(at, (t, v));
                true
            }
        }
    }

    /// Applies a sample read back from the WAL: acknowledged once, so kept unless it is a
    /// copy of one already held.
    pub(super) fn replay(&mut self, t: i64, v: f64, sink: ChunkSink<'_>) -> bool {
        match self.last_t() {
            Some(last) if t == last => false,
            Some(last) if t < last => self.insert_ooo(t, v),
            _ => self.push(t, v, sink).is_ok(),
        }
    }

    /// Bytes its samples take encoded: closed and open XOR chunks, and 16 a sample out of
    /// order (kept raw). What `/admin/status`' compression ratio divides by.
    pub(super) fn encoded_bytes(&self) -> usize {
        self.closed.iter().map(|c| c.bytes.slice().len()).sum::<usize>()
            + self.open.byte_len()
            + self.ooo.len() * 16
            + self.histograms.as_ref().map_or(0, |h| h.encoded_bytes())
    }

    pub(super) fn heap_bytes(&self) -> usize {
        // Each closed chunk's bytes sit behind an Arc (two counters before them).
        self.closed.iter().map(|c| c.bytes.heap_bytes()).sum::<usize>()
            + self.closed.len() * std::mem::size_of::<HeadChunk>()
            + self.open.byte_capacity()
            + self.ooo.capacity() * 16
            + self.histograms.as_ref().map_or(0, |h| h.heap_bytes())
            + std::mem::size_of::<Self>()
            // The Arc<Mutex<…>> around it and its slot in the head's vector.
            + 16 + 8 + 8
    }

    /// The chunks overlapping `[mint, maxt]`, as query sources.
    pub(super) fn chunks_in(&self, mint: i64, maxt: i64) -> Vec<ChunkSource> {
        let mut out = Vec::new();
        for c in self.closed.iter().filter(|c| overlaps(c.mint, c.maxt, mint, maxt)) {
            out.push(ChunkSource::new(c.mint, c.maxt, c.bytes.source()));
        }
        if let Some((lo, hi)) = self.open_range().filter(|&(lo, hi)| overlaps(lo, hi, mint, maxt)) {
            out.push(ChunkSource::new(lo, hi, ChunkData::Xor(self.open.to_bytes().into())));
        }
        let from = self.ooo.partition_point(|s| s.0 < mint);
        let to = self.ooo.partition_point(|s| s.0 <= maxt);
        if from < to {
            let part = &self.ooo[from..to];
            let data = ChunkData::Samples(part.to_vec().into());
            out.push(ChunkSource::new(part[0].0, part[part.len() - 1].0, data));
        }
        if let Some(h) = &self.histograms {
            h.chunks_in(mint, maxt, &mut out);
        }
        out
    }

    /// Samples in `[from, to)`, in time order, out-of-order ones merged in (an in-order
    /// sample wins a tie, as in queries).
    pub(super) fn samples_in(&self, from: i64, to: i64) -> Result<Vec<(i64, f64)>, StorageError> {
        let last = to.saturating_sub(1);
        let mut samples = Vec::new();
        for c in self.closed.iter().filter(|c| overlaps(c.mint, c.maxt, from, last)) {
            decode_chunk_into(c.bytes.slice(), &mut samples)?;
        }
        if self.open_range().is_some_and(|(lo, hi)| overlaps(lo, hi, from, last)) {
            decode_chunk_into(&self.open.to_bytes(), &mut samples)?;
        }
        samples.retain(|s| (from..to).contains(&s.0));
        let ooo: Vec<_> = self.ooo.iter().filter(|s| (from..to).contains(&s.0)).copied().collect();
        if !ooo.is_empty() {
            samples.extend(ooo);
            samples.sort_by_key(|s| s.0); // stable: the in-order copy stays first
            samples.dedup_by_key(|s| s.0);
        }
        Ok(samples)
    }

    /// Whether the series may hold samples in `[mint, maxt]` (a chunk overlaps it).
    pub(super) fn touches(&self, mint: i64, maxt: i64) -> bool {
        self.closed.iter().any(|c| overlaps(c.mint, c.maxt, mint, maxt))
            || self.open_range().is_some_and(|(lo, hi)| overlaps(lo, hi, mint, maxt))
            || self.ooo.iter().any(|s| (mint..=maxt).contains(&s.0))
            || self.histograms.as_ref().is_some_and(|h| h.touches(mint, maxt))
    }

    /// Removes the samples in `[mint, maxt]`: the chunks from the first one that overlaps
    /// the range on are decoded and encoded again without them. The newest timestamp stays
    /// what it was, so deleted timestamps do not become appendable in order again (as in
    /// Prometheus).
    pub(super) fn delete(&mut self, mint: i64, maxt: i64, sink: ChunkSink<'_>) -> Result<(), StorageError> {
        self.ooo.retain(|s| !(mint..=maxt).contains(&s.0));
        if let Some(h) = &mut self.histograms {
            h.delete(mint, maxt, sink.chunk_range)?;
        }
        let first = self.closed.iter().position(|c| c.maxt >= mint).unwrap_or(self.closed.len());
        let open_hit = self.open_range().is_some_and(|(lo, hi)| overlaps(lo, hi, mint, maxt));
        if !open_hit && !self.closed[first..].iter().any(|c| overlaps(c.mint, c.maxt, mint, maxt)) {
            return Ok(());
        }
        let mut samples = Vec::new();
        for c in &self.closed[first..] {
            decode_chunk_into(c.bytes.slice(), &mut samples)?;
        }
        if !self.open.is_empty() {
            decode_chunk_into(&self.open.to_bytes(), &mut samples)?;
        }
        // The newest sample's value too: a copy of that sample sent again stays "identical".
        let newest = (self.last_t(), self.last_v);
        self.edit_closed(|closed| closed.truncate(first));
        self.open = XorEncoder::without_stats(0);
        self.set_last_t(self.closed.last().map(|c| c.maxt));
        for (t, v) in samples.into_iter().filter(|s| !(mint..=maxt).contains(&s.0)) {
            self.push(t, v, sink)?;
        }
        self.set_last_t(newest.0);
        self.last_v = newest.1;
        Ok(())
    }

    /// Timestamp of the oldest sample held.
    pub(super) fn oldest(&self) -> Option<i64> {
        let first_chunk = self.closed.first().map(|c| c.mint);
        let open = (!self.open.is_empty()).then_some(self.open_mint);
        let histograms = self.histograms.as_ref().and_then(|h| h.oldest());
        [first_chunk.or(open), self.ooo.first().map(|s| s.0), histograms].into_iter().flatten().min()
    }

    /// Drops everything before `t`.
    pub(super) fn truncate(&mut self, t: i64) {
        self.edit_closed(|closed| closed.retain(|c| c.maxt >= t));
        if self.open_range().is_some_and(|(_, hi)| hi < t) {
            self.open = XorEncoder::without_stats(0);
        }
        let keep_from = self.ooo.partition_point(|s| s.0 < t);
        self.ooo.drop_first(keep_from);
        if let Some(h) = &mut self.histograms {
            h.truncate(t);
        }
        if self.histograms.as_ref().is_some_and(|h| h.is_empty()) && !self.last_is_histogram() {
            self.histograms = None;
        }
    }
}

#[cfg(test)]
mod footprint {
    /// One of these sits in the head for every active series (behind an `Arc<Mutex<…>>`,
    /// 24 bytes more): a field that grows it costs a megabyte per 1,000,000 series per byte.
    /// 136 + 24 = 160 is one of mimalloc's size classes; 192 is the next.
    #[test]
    fn a_series_fits_in_160_bytes_with_its_lock_and_counts() {
        let size = std::mem::size_of::<std::sync::Mutex<super::MemSeries>>() + 16;
        assert!(size <= 160, "Arc<Mutex<MemSeries>> takes {size} bytes");
    }

    /// A chunk after the first starts at a quarter of its predecessor's bytes, not at its
    /// whole size: an open chunk's buffer follows what it holds.
    #[test]
    fn a_new_open_chunk_starts_at_a_quarter_of_the_last_ones_size() {
        let sink = super::ChunkSink { chunk_range: 1 << 40, files: None };
        let mut m = super::MemSeries::new(1);
        let mut t = 0;
        while m.closed.is_empty() || m.open.is_empty() {
            t += 15_000;
            m.push(t, (t % 7_919) as f64 * 0.37, sink).unwrap();
        }
        let previous = m.closed[0].bytes.slice().len();
        assert!(previous > 4 * super::FIRST_CHUNK_CAPACITY, "a chunk of {previous} bytes");
        assert!(
            m.open.byte_capacity() <= previous / 4 + 16,
            "{} bytes reserved after a chunk of {previous}",
            m.open.byte_capacity()
        );
    }

    /// The newest timestamp's flag shares the WAL ref's word: setting one never changes
    /// the other, whatever the timestamp (i64::MIN included) or the ref.
    #[test]
    fn the_newest_timestamp_and_the_wal_ref_are_kept_apart() {
        use super::super::series_removal::REMOVED;
        for wal_ref in [0, 1, 12_345, REMOVED] {
            let mut m = super::MemSeries::new(wal_ref);
            assert_eq!((m.wal_ref(), m.last_t()), (wal_ref, None));
            for t in [i64::MIN, -1, 0, i64::MAX] {
                m.set_last_t(Some(t));
                assert_eq!((m.wal_ref(), m.last_t()), (wal_ref, Some(t)));
            }
            m.set_wal_ref(REMOVED);
            assert_eq!((m.wal_ref(), m.last_t()), (REMOVED, Some(i64::MAX)));
            m.set_last_t(None);
            assert_eq!((m.wal_ref(), m.last_t()), (REMOVED, None));
        }
    }
}
