//! What a select returns: series with their chunks, decoded lazily, merged in time order.
//!
//! A [`Series`] holds its labels and the chunks of the query range from every source (blocks,
//! the head's closed and open chunks, its out-of-order samples), each as a [`ChunkSource`]
//! with its time range. Nothing is decoded until [`Series::samples`] is iterated, and then one
//! chunk at a time: chunks that do not overlap their neighbours (the usual case) are decoded
//! alone; a run of overlapping chunks (the same series in two blocks, out-of-order samples)
//! is decoded together, sorted by time and rid of duplicate timestamps. Of two samples with
//! one timestamp the one kept is from the chunk that starts first (the source listed first
//! when they start together): copies of one sample (a block and the head during a cut) are
//! equal, so this only decides between an out-of-order sample and an in-order one.

use std::sync::Arc;

use strata_codec::xor::{decode_chunk_into, header_sample_count};
use strata_model::histogram::HistogramValue;
use strata_model::Labels;

use crate::block::BlockReader;
use crate::head::decode_histogram_chunk;
use crate::head_chunks::DiskChunk;
use crate::StorageError;

/// Where a chunk's samples are.
#[derive(Debug, Clone)]
pub(crate) enum ChunkData {
    /// An XOR chunk in a block's chunk segments.
    Block { block: Arc<BlockReader>, chunk_ref: u64 },
    /// An XOR chunk in memory (a head chunk, or a copy of the open one).
    Xor(Arc<[u8]>),
    /// A closed head chunk in a head chunk file.
    HeadFile(DiskChunk),
    /// Samples already decoded, in time order (the head's out-of-order samples).
    Samples(Arc<[(i64, f64)]>),
    /// A native-histogram chunk in memory (encoding 2, or 3 when `float`).
    Histogram { float: bool, bytes: Arc<[u8]> },
    /// Native-histogram samples already decoded, in time order (an in-memory store's).
    Histograms(Arc<[(i64, HistogramValue)]>),
}

/// One chunk of a series and its time range (both ends inclusive).
#[derive(Debug, Clone)]
pub struct ChunkSource {
    pub(crate) mint: i64,
    pub(crate) maxt: i64,
    pub(crate) data: ChunkData,
    /// Intervals deleted from the series (a block's tombstones), hidden when decoding.
    pub(crate) deleted: Option<Arc<[(i64, i64)]>>,
}

impl ChunkSource {
    /// A chunk with nothing deleted from it.
    pub(crate) fn new(mint: i64, maxt: i64, data: ChunkData) -> ChunkSource {
        ChunkSource { mint, maxt, data, deleted: None }
    }

    /// Whether the chunk holds native histograms (a block's chunk by its encoding byte).
    fn is_histogram(&self) -> bool {
        match &self.data {
            ChunkData::Block { block, chunk_ref } => matches!(block.chunk_encoding(*chunk_ref), Some(2 | 3)),
            ChunkData::Histogram { .. } | ChunkData::Histograms(_) => true,
            _ => false,
        }
    }

    /// Decodes a histogram chunk into `out` (appending), leaving out deleted samples.
    fn decode_histograms_into(&self, out: &mut Vec<(i64, HistogramValue)>) -> Result<(), StorageError> {
        let start = out.len();
        match &self.data {
            ChunkData::Block { block, chunk_ref } => {
                let (encoding, bytes) = block.raw_chunk(*chunk_ref)?;
                decode_histogram_chunk(encoding == 3, bytes, out)?;
            }
            ChunkData::Histogram { float, bytes } => decode_histogram_chunk(*float, bytes, out)?,
            ChunkData::Histograms(samples) => out.extend_from_slice(samples),
            _ => {}
        }
        if let Some(deleted) = &self.deleted {
            let mut i = start;
            out.retain(|s| {
                let keep = i < start || !deleted.iter().any(|&(lo, hi)| (lo..=hi).contains(&s.0));
                i += 1;
                keep
            });
        }
        Ok(())
    }

    /// About how many samples decoding gives (the chunk's header count), to size buffers.
    fn sample_hint(&self) -> usize {
        match &self.data {
            ChunkData::Block { block, chunk_ref } => block.chunk_sample_hint(*chunk_ref),
            ChunkData::Xor(bytes) => header_sample_count(bytes).map_or(0, usize::from),
            ChunkData::HeadFile(chunk) => usize::from(chunk.samples()),
            ChunkData::Samples(samples) => samples.len(),
            ChunkData::Histogram { .. } | ChunkData::Histograms(_) => 0,
        }
    }

    /// Decodes the whole chunk into `out` (appending), leaving out deleted samples.
    fn decode_into(&self, out: &mut Vec<(i64, f64)>) -> Result<(), StorageError> {
        let start = out.len();
        self.decode_all_into(out)?;
        if let Some(deleted) = &self.deleted {
            crate::block::drop_deleted(out, start, deleted);
        }
        Ok(())
    }

    fn decode_all_into(&self, out: &mut Vec<(i64, f64)>) -> Result<(), StorageError> {
        match &self.data {
            ChunkData::Block { block, chunk_ref } => block.decode_chunk_into(*chunk_ref, out),
            ChunkData::Xor(bytes) => Ok(decode_chunk_into(bytes, out)?),
            ChunkData::HeadFile(chunk) => Ok(decode_chunk_into(chunk.bytes(), out)?),
            ChunkData::Samples(samples) => {
                out.extend_from_slice(samples);
                Ok(())
            }
            ChunkData::Histogram { .. } | ChunkData::Histograms(_) => Ok(()), // never among float chunks
        }
    }
}

/// A selected series: labels and the chunks that overlap the query range.
#[derive(Debug, Clone)]
pub struct Series {
    labels: Labels,
    /// Float chunks, sorted by `mint` (stable: earlier sources first among equal `mint`s).
    chunks: Vec<ChunkSource>,
    /// Native-histogram chunks, sorted likewise.
    histogram_chunks: Vec<ChunkSource>,
    mint: i64,
    maxt: i64,
    /// Start timestamps (Prometheus' created timestamps: when the counter behind a sample
    /// started counting), `(sample time, start time)` in time order, for a series whose
    /// store keeps them — an in-memory one's; the block format has no place for them yet.
    start_times: Option<Arc<[(i64, i64)]>>,
}

impl Series {
    /// A series of `chunks` (any order), to be read within `[mint, maxt]`.
    /// Histogram chunks are told apart here (a block chunk by its encoding byte).
    pub(crate) fn new(labels: Labels, chunks: Vec<ChunkSource>, mint: i64, maxt: i64) -> Series {
        let (mut histogram_chunks, mut chunks): (Vec<_>, Vec<_>) =
            chunks.into_iter().partition(ChunkSource::is_histogram);
        chunks.sort_by_key(|c| c.mint);
        histogram_chunks.sort_by_key(|c| c.mint);
        Series { labels, chunks, histogram_chunks, mint, maxt, start_times: None }
    }

    /// This series with start timestamps: `(sample time, start time)` pairs (any order; a
    /// start time of 0 is unknown).
    pub fn with_start_times(mut self, mut start_times: Vec<(i64, i64)>) -> Series {
        start_times.sort_by_key(|s| s.0);
        self.start_times = Some(start_times.into());
        self
    }

    /// The start timestamp of each of `samples` (this series' samples, any subset in time
    /// order), 0 where unknown; `None` when the series has none at all.
    pub fn start_times_of(&self, samples: &[(i64, f64)]) -> Option<Vec<i64>> {
        let known = self.start_times.as_deref()?;
        let mut next = 0;
        let aligned = samples
            .iter()
            .map(|&(t, _)| {
                next += known[next..].iter().take_while(|s| s.0 < t).count();
                known.get(next).filter(|s| s.0 == t).map_or(0, |s| s.1)
            })
            .collect();
        Some(aligned)
    }

    /// The start timestamp of each of `times` (this series' sample times, in order), 0 where
    /// unknown; `None` when the series has none at all.
    pub fn start_times_at(&self, times: impl Iterator<Item = i64>) -> Option<Vec<i64>> {
        self.start_times.as_ref()?;
        Some(times.map(|t| self.start_time_at(t)).collect())
    }

    /// The start timestamp of the sample at `t` (0 when unknown or when there is none).
    pub fn start_time_at(&self, t: i64) -> i64 {
        let Some(known) = self.start_times.as_deref() else { return 0 };
        known.binary_search_by_key(&t, |s| s.0).map_or(0, |i| known[i].1)
    }

    /// A series of samples already in memory (an in-memory store's, a test's), to be read
    /// within `[mint, maxt]`; they are sorted by time and a repeated timestamp kept once.
    pub fn from_samples(labels: Labels, mut samples: Vec<(i64, f64)>, mint: i64, maxt: i64) -> Series {
        if !samples.windows(2).all(|w| w[0].0 < w[1].0) {
            samples.sort_by_key(|s| s.0);
            samples.dedup_by_key(|s| s.0);
        }
        let chunks = match (samples.first(), samples.last()) {
            (Some(first), Some(last)) => {
                let (lo, hi) = (first.0, last.0);
                vec![ChunkSource::new(lo, hi, ChunkData::Samples(samples.into()))]
            }
            _ => Vec::new(),
        };
        Series::new(labels, chunks, mint, maxt)
    }

    /// This series with native-histogram samples already in memory (any order; a repeated
    /// timestamp kept once).
    pub fn with_histograms(mut self, mut histograms: Vec<(i64, HistogramValue)>) -> Series {
        histograms.sort_by_key(|h| h.0);
        histograms.dedup_by_key(|h| h.0);
        if let (Some(first), Some(last)) = (histograms.first(), histograms.last()) {
            let (lo, hi) = (first.0, last.0);
            self.histogram_chunks.push(ChunkSource::new(lo, hi, ChunkData::Histograms(histograms.into())));
        }
        self
    }

    /// The series' labels.
    pub fn labels(&self) -> &Labels {
        &self.labels
    }

    /// The series' labels, to change them (a view that hides a label takes it off).
    pub fn labels_mut(&mut self) -> &mut Labels {
        &mut self.labels
    }

    /// Chunks that will be decoded (those overlapping the query range).
    pub fn chunk_count(&self) -> usize {
        self.chunks.len() + self.histogram_chunks.len()
    }

    /// Whether the series has a sample, float or histogram, in the query range. A chunk
    /// with nothing deleted that lies inside the range answers without decoding (its first
    /// and last samples are its bounds); otherwise the samples are read until the first.
    pub fn has_samples(&self) -> bool {
        let inside = |c: &ChunkSource| c.deleted.is_none() && c.mint >= self.mint && c.maxt <= self.maxt;
        self.chunks.iter().chain(&self.histogram_chunks).any(inside)
            || self.samples().next().is_some()
            || self.collect_histograms().is_ok_and(|h| !h.is_empty())
    }

    /// Whether the series has native-histogram chunks in the query range.
    pub fn has_histograms(&self) -> bool {
        !self.histogram_chunks.is_empty()
    }

    /// The native-histogram samples in the query range, in time order, each timestamp
    /// once (of two copies the one from the chunk that starts first).
    pub fn collect_histograms(&self) -> Result<Vec<(i64, HistogramValue)>, StorageError> {
        let mut out = Vec::new();
        for c in &self.histogram_chunks {
            c.decode_histograms_into(&mut out)?;
        }
        out.sort_by_key(|s| s.0); // stable: the earlier chunk's copy stays first
        out.dedup_by_key(|s| s.0);
        out.retain(|s| (self.mint..=self.maxt).contains(&s.0));
        Ok(out)
    }

    /// The samples in the query range, in time order, each timestamp once.
    pub fn samples(&self) -> SampleIter<'_> {
        SampleIter {
            series: self,
            next_chunk: 0,
            buffer: Vec::new(),
            pos: 0,
            end: 0,
            last_t: None,
            failed: false,
        }
    }

    /// The first float sample in the range that `keep` accepts, decoding only as far as
    /// it (what `first()` selectors need).
    pub fn first_sample(&self, keep: impl Fn(f64) -> bool) -> Result<Option<(i64, f64)>, StorageError> {
        for sample in self.samples() {
            let sample = sample?;
            if keep(sample.1) {
                return Ok(Some(sample));
            }
        }
        Ok(None)
    }

    /// The last float sample in the range that `keep` accepts, decoding only the chunks
    /// that can hold it: from the chunk reaching latest into the range, then any other
    /// whose end lies at or after what was found (overlapping chunks merge as `samples`
    /// merges them). What `last()` selectors need: one chunk, not the whole range.
    pub fn last_sample(&self, keep: impl Fn(f64) -> bool) -> Result<Option<(i64, f64)>, StorageError> {
        let end = |c: &ChunkSource| c.maxt.min(self.maxt);
        let mut latest_first: Vec<usize> = (0..self.chunks.len())
            .filter(|&i| self.chunks[i].maxt >= self.mint && self.chunks[i].mint <= self.maxt)
            .collect();
        latest_first.sort_by_key(|&i| std::cmp::Reverse(end(&self.chunks[i])));
        let mut found = None;
        // The chunks taken so far, in this series' order. One whose samples are all skipped
        // stays: at a tie it still hides a later chunk's sample, as `samples` merges them.
        let mut holding: Vec<usize> = Vec::new();
        for &next in &latest_first {
            if found.is_some_and(|(t, _)| end(&self.chunks[next]) < t) {
                break;
            }
            holding.push(next);
            holding.sort_unstable();
            let chunks = holding.iter().map(|&i| self.chunks[i].clone()).collect();
            let part = Series::new(Labels::default(), chunks, self.mint, self.maxt);
            let mut last = None;
            for sample in part.samples() {
                let sample = sample?;
                if keep(sample.1) {
                    last = Some(sample);
                }
            }
            found = last;
        }
        Ok(found)
    }

    /// All samples collected, or the first decoding error. Each run of chunks is decoded
    /// straight into the result, sized up front from the chunks' headers: a query reads
    /// millions of samples this way, and the iterator's per-sample step, its buffer copy
    /// and a growing vector's copies cost about as much as decoding them.
    pub fn collect_samples(&self) -> Result<Vec<(i64, f64)>, StorageError> {
        let mut out = Vec::new();
        self.collect_samples_into(&mut out)?;
        Ok(out)
    }

    /// [`Series::collect_samples`] into a buffer the caller reuses from series to series
    /// (cleared first), so that reading many series one after another keeps one series'
    /// samples in memory, not all of them.
    pub fn collect_samples_into(&self, out: &mut Vec<(i64, f64)>) -> Result<(), StorageError> {
        out.clear();
        out.reserve(self.chunks.iter().map(ChunkSource::sample_hint).sum());
        let mut next = 0;
        while next < self.chunks.len() {
            next = self.append_run(next, out.last().map(|s: &(i64, f64)| s.0), out)?;
        }
        Ok(())
    }

    /// Decodes the run of overlapping chunks that starts at chunk `first` and appends its
    /// samples within the query range and after `last_t` to `out`. Returns the index of the
    /// next run's first chunk (the number of chunks once past the range).
    fn append_run(
        &self,
        first: usize,
        last_t: Option<i64>,
        out: &mut Vec<(i64, f64)>,
    ) -> Result<usize, StorageError> {
        let chunks = &self.chunks;
        let start = out.len();
        let mut run_maxt = chunks[first].maxt;
        let mut end = first + 1;
        while end < chunks.len() && chunks[end].mint <= run_maxt {
            run_maxt = run_maxt.max(chunks[end].maxt);
            end += 1;
        }
        for c in &chunks[first..end] {
            c.decode_into(out)?;
        }
        if end - first > 1 {
            // Stable: for equal timestamps the earlier source stays first and is kept.
            out[start..].sort_by_key(|s| s.0);
            let mut kept = start;
            for i in start..out.len() {
                if kept == start || out[i].0 != out[kept - 1].0 {
                    out[kept] = out[i];
                    kept += 1;
                }
            }
            out.truncate(kept);
        }
        // Runs do not overlap one another, but a chunk may reach outside the query range.
        let from = last_t.map_or(self.mint, |last| self.mint.max(last.saturating_add(1)));
        let run = &out[start..];
        let (lo, hi) = (run.partition_point(|s| s.0 < from), run.partition_point(|s| s.0 <= self.maxt));
        let past_range = hi < run.len();
        out.truncate(start + hi);
        out.drain(start..start + lo);
        Ok(if past_range { chunks.len() } else { end })
    }

    /// Its labels, the series given up (no copy of them).
    pub fn into_labels(self) -> Labels {
        self.labels
    }

    /// Its labels and all its chunks, float and histogram.
    pub(crate) fn into_parts(self) -> (Labels, Vec<ChunkSource>) {
        let mut chunks = self.chunks;
        chunks.extend(self.histogram_chunks);
        (self.labels, chunks)
    }
}

/// Iterator over a [`Series`]' samples; see the module docs. After an error it ends.
#[derive(Debug)]
pub struct SampleIter<'a> {
    series: &'a Series,
    next_chunk: usize,
    /// Decoded samples of the current chunk run; `buffer[pos..end]` are still to return,
    /// already trimmed to the query range and to after the last returned timestamp.
    buffer: Vec<(i64, f64)>,
    pos: usize,
    end: usize,
    last_t: Option<i64>,
    failed: bool,
}

impl SampleIter<'_> {
    /// Decodes the next run of overlapping chunks into `buffer`. Kept out of line so that
    /// `next`, which runs once per sample, stays small enough to inline.
    #[inline(never)]
    fn refill(&mut self) -> Result<bool, StorageError> {
        if self.next_chunk >= self.series.chunks.len() {
            return Ok(false);
        }
        self.buffer.clear();
        self.next_chunk = self.series.append_run(self.next_chunk, self.last_t, &mut self.buffer)?;
        self.pos = 0;
        self.end = self.buffer.len();
        Ok(true)
    }
}

impl Iterator for SampleIter<'_> {
    type Item = Result<(i64, f64), StorageError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            if self.pos < self.end {
                let sample = self.buffer[self.pos];
                self.pos += 1;
                if self.pos == self.end {
                    self.last_t = Some(sample.0);
                }
                return Some(Ok(sample));
            }
            match self.refill() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use strata_codec::xor::encode_chunk;

    fn xor(samples: &[(i64, f64)]) -> ChunkSource {
        let bytes = encode_chunk(samples.iter().copied()).unwrap().0;
        ChunkSource::new(samples[0].0, samples[samples.len() - 1].0, ChunkData::Xor(bytes.into()))
    }

    #[test]
    fn start_times_line_up_with_any_run_of_samples() {
        let samples = vec![(10, 1.0), (20, 2.0), (30, 3.0)];
        let plain = Series::from_samples(Labels::empty(), samples.clone(), 0, 100);
        assert_eq!(plain.start_times_of(&samples), None);
        let series = plain.with_start_times(vec![(30, 25), (10, 5)]);
        assert_eq!(series.start_times_of(&samples), Some(vec![5, 0, 25]));
        assert_eq!(series.start_times_of(&samples[1..]), Some(vec![0, 25]));
    }

    fn raw(samples: &[(i64, f64)]) -> ChunkSource {
        ChunkSource::new(
            samples[0].0,
            samples[samples.len() - 1].0,
            ChunkData::Samples(samples.to_vec().into()),
        )
    }

    fn series(chunks: Vec<ChunkSource>, mint: i64, maxt: i64) -> Vec<(i64, f64)> {
        Series::new(Labels::default(), chunks, mint, maxt).collect_samples().unwrap()
    }

    proptest! {
        /// `first_sample` and `last_sample` against reading every sample, over overlapping
        /// chunks, deleted intervals and ranges that cut chunks.
        #[test]
        fn first_and_last_samples_are_those_of_all_samples(
            runs in prop::collection::vec(prop::collection::btree_map(0i64..200, -3i32..3, 1..20), 1..6),
            deleted in prop::collection::vec((0i64..200, 0i64..30), 0..3),
            (mint, len) in (0i64..200, 0i64..220),
        ) {
            let deleted: Option<Arc<[(i64, i64)]>> =
                (!deleted.is_empty()).then(|| deleted.iter().map(|&(a, l)| (a, a + l)).collect());
            let chunks: Vec<ChunkSource> = runs
                .iter()
                .map(|run| {
                    let samples: Vec<(i64, f64)> = run.iter().map(|(&t, &v)| (t, f64::from(v))).collect();
                    ChunkSource { deleted: deleted.clone(), ..xor(&samples) }
                })
                .collect();
            let series = Series::new(Labels::default(), chunks, mint, mint + len);
            let keep = |v: f64| v != 0.0; // 0 stands for a value the caller skips
            let all: Vec<(i64, f64)> = series.collect_samples().unwrap().into_iter().filter(|s| keep(s.1)).collect();
            prop_assert_eq!(series.first_sample(keep).unwrap(), all.first().copied());
            prop_assert_eq!(series.last_sample(keep).unwrap(), all.last().copied());
        }
    }

    #[test]
    fn overlapping_chunks_merge_and_the_earlier_chunk_wins_a_tie() {
        let a = xor(&[(1, 1.0), (3, 3.0), (5, 5.0)]);
        let b = raw(&[(2, 20.0), (3, 30.0), (9, 90.0)]);
        let c = xor(&[(20, 200.0)]);
        assert_eq!(
            series(vec![c, a, b], i64::MIN, i64::MAX),
            [(1, 1.0), (2, 20.0), (3, 3.0), (5, 5.0), (9, 90.0), (20, 200.0)]
        );
    }

    #[test]
    fn a_series_from_samples_in_memory_reads_like_any_other() {
        let s = Series::from_samples(Labels::default(), vec![(5, 5.0), (1, 1.0), (5, 6.0), (9, 9.0)], 2, 9);
        assert_eq!(s.collect_samples().unwrap(), [(5, 5.0), (9, 9.0)]);
        assert!(Series::from_samples(Labels::default(), Vec::new(), 0, 1)
            .collect_samples()
            .unwrap()
            .is_empty());
    }

    #[test]
    fn deleted_intervals_are_hidden() {
        let mut a = xor(&[(1, 1.0), (3, 3.0), (5, 5.0), (7, 7.0), (9, 9.0)]);
        a.deleted = Some(vec![(2, 3), (7, 8)].into());
        assert_eq!(series(vec![a], 0, 100), [(1, 1.0), (5, 5.0), (9, 9.0)]);
    }

    #[test]
    fn has_samples_agrees_with_reading_them() {
        let has = |chunks: Vec<ChunkSource>, mint, maxt| {
            Series::new(Labels::default(), chunks, mint, maxt).has_samples()
        };
        assert!(has(vec![xor(&[(1, 1.0), (5, 5.0)])], 0, 10));
        assert!(
            !has(vec![xor(&[(1, 1.0), (5, 5.0)])], 2, 4),
            "a chunk spanning the range without a sample in it"
        );
        assert!(has(vec![xor(&[(1, 1.0), (3, 3.0), (5, 5.0)])], 2, 4));
        let mut gone = xor(&[(1, 1.0), (3, 3.0)]);
        gone.deleted = Some(vec![(0, 10)].into());
        assert!(!has(vec![gone], 0, 10), "everything deleted");
        assert!(!has(Vec::new(), 0, 10));
    }

    #[test]
    fn the_range_bounds_are_inclusive() {
        let a = xor(&[(1, 1.0), (3, 3.0), (5, 5.0), (7, 7.0)]);
        assert_eq!(series(vec![a], 3, 5), [(3, 3.0), (5, 5.0)]);
    }

    #[test]
    fn a_damaged_chunk_is_an_error_then_the_end() {
        let bad = ChunkSource::new(0, 10, ChunkData::Xor(vec![0, 5, 1].into()));
        let s = Series::new(Labels::default(), vec![bad], 0, 10);
        let mut it = s.samples();
        assert!(matches!(it.next(), Some(Err(_))));
        assert!(it.next().is_none());
    }

    proptest! {
        /// Any split of samples into chunks, overlapping or not, reads back as the sorted,
        /// deduplicated samples within the range.
        #[test]
        fn merge_equals_a_sorted_dedup(
            parts in prop::collection::vec(prop::collection::btree_map(-500i64..500, -1e3f64..1e3, 1..40), 1..6),
            mint in -600i64..600,
            len in 0i64..1200,
        ) {
            let maxt = mint + len;
            let mut want = std::collections::BTreeMap::new();
            let mut chunks = Vec::new();
            for (i, part) in parts.iter().enumerate() {
                let samples: Vec<_> = part.iter().map(|(&t, &v)| (t, v)).collect();
                for &(t, v) in &samples {
                    want.entry(t).or_insert(v);
                }
                chunks.push(if i % 2 == 0 { xor(&samples) } else { raw(&samples) });
            }
            let whole = Series::new(Labels::default(), chunks.clone(), mint, maxt);
            let iterated: Vec<(i64, f64)> = whole.samples().collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(&iterated, &whole.collect_samples().unwrap(), "the iterator and the bulk read agree");
            let mut reused = vec![(i64::MAX, 1.0); 3];
            whole.collect_samples_into(&mut reused).unwrap();
            prop_assert_eq!(&reused, &iterated, "a reused buffer is cleared first");
            let got = series(chunks, mint, maxt);
            let in_range: Vec<_> = want.into_iter().filter(|(t, _)| (mint..=maxt).contains(t)).collect();
            prop_assert_eq!(got.len(), in_range.len());
            for (g, w) in got.iter().zip(&in_range) {
                prop_assert_eq!(g.0, w.0);
            }
        }
    }
}
