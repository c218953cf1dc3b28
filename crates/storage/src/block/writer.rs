//! Writing one block from series and their samples.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use strata_codec::xor::header_sample_count;
use strata_model::histogram::HistogramValue;
use strata_model::Labels;

use super::chunk_writer::ChunkWriter;
use super::dense_file::{DenseWriter, DENSE_FILE};
use super::index_writer::{build_index, ChunkMeta};
use super::meta::{BlockMeta, BlockParent, MetaCompaction, MetaStats};
use super::series_chunks::encode_series;
use super::tombstones;
use crate::disk_usage::dir_bytes;
use crate::StorageError;

/// Samples per chunk, as Prometheus cuts them in its head (and Strata's head too).
pub const SAMPLES_PER_CHUNK: usize = 120;

/// Samples per chunk in the blocks Strata writes. Twice Prometheus' 120: each chunk costs
/// about 30 bytes besides its samples (count, first timestamp and value, framing, CRC, its
/// index entry), and on ../shared/datasets/scrape-1s-A that overhead is an eighth of the
/// block: 0.920 bytes/sample at 120, 0.806 at 240 (0.752 at 480, at the price of decoding up
/// to 480 samples for a short query). The chunk header counts samples in 16 bits, and
/// Prometheus (and promtool) read chunks of any count; 2.45 made its own count a flag.
pub const SAMPLES_PER_BLOCK_CHUNK: usize = 240;

/// One series to put in a block: its labels, float samples and native-histogram samples,
/// each in strictly increasing time order (no timestamp in both).
#[derive(Debug, Clone)]
pub struct BlockSeries {
    /// The series.
    pub labels: Labels,
    /// `(timestamp ms, value)`, strictly increasing timestamps.
    pub samples: Vec<(i64, f64)>,
    /// `(timestamp ms, histogram)`, strictly increasing timestamps.
    pub histograms: Vec<(i64, HistogramValue)>,
}

impl BlockSeries {
    /// A series of float samples.
    pub fn floats(labels: Labels, samples: Vec<(i64, f64)>) -> BlockSeries {
        BlockSeries { labels, samples, histograms: Vec::new() }
    }

    fn is_empty(&self) -> bool {
        self.samples.is_empty() && self.histograms.is_empty()
    }
}

/// What a written block holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockStats {
    /// Its directory.
    pub dir: PathBuf,
    /// Its meta.json.
    pub meta: BlockMeta,
    /// Bytes of the index file.
    pub index_bytes: u64,
    /// Bytes of all chunk segments.
    pub chunk_bytes: u64,
}

/// Writes the series as one block under `parent`, atomically (see the module docs of
/// `block`); its time range is that of the samples. Series without samples are left out.
/// Errors on empty input, unsorted or repeated timestamps, and I/O failures; on error no
/// block directory is left in place.
pub fn write_block(parent: &Path, series: Vec<BlockSeries>) -> Result<BlockStats, StorageError> {
    write_block_in(parent, series, None)
}

/// [`write_block`] for a block that covers `[from, to)` whatever the samples' own span (as
/// Prometheus records the range a block was cut for); samples outside it are refused.
pub fn write_block_range(
    parent: &Path,
    series: Vec<BlockSeries>,
    from: i64,
    to: i64,
) -> Result<BlockStats, StorageError> {
    let outside = |t: i64| t < from || t >= to;
    if let Some(s) = series
        .iter()
        .find(|s| s.samples.iter().any(|s| outside(s.0)) || s.histograms.iter().any(|h| outside(h.0)))
    {
        return Err(StorageError::Invalid(format!("series {} has samples outside [{from}, {to})", s.labels)));
    }
    write_block_in(parent, series, Some((from, to)))
}

fn write_block_in(
    parent: &Path,
    mut series: Vec<BlockSeries>,
    range: Option<(i64, i64)>,
) -> Result<BlockStats, StorageError> {
    series.retain(|s| !s.is_empty());
    if series.is_empty() {
        return Err(StorageError::Invalid("a block needs at least one sample".into()));
    }
    series.sort_by(|a, b| a.labels.cmp(&b.labels));
    let mut builder = BlockBuilder::new(parent)?;
    for s in &series {
        builder.add_series(&s.labels, &s.samples, &s.histograms)?;
    }
    builder.finish(range, None)
}

/// A block being written series by series, in label order, into `<ULID>.tmp/`: chunks go
/// to the segment files as they come, only the index's entries (labels and chunk metas)
/// stay in memory until [`BlockBuilder::finish`] writes the index and meta.json, fsyncs
/// and renames. Dropped unfinished, it removes its `.tmp` directory.
#[derive(Debug)]
pub(crate) struct BlockBuilder {
    parent: PathBuf,
    id: String,
    tmp: PathBuf,
    chunks: Option<Sink>,
    index_input: Vec<(Labels, Vec<ChunkMeta>)>,
    min_time: i64,
    max_time: i64,
    samples: u64,
    chunk_count: u64,
}

/// Where a block's samples go: XOR chunk segments (a warm block, Prometheus' format) or a
/// `dense` file (a cold block, `dense_file`).
#[derive(Debug)]
enum Sink {
    Xor(ChunkWriter),
    Dense(DenseWriter),
}

/// How a block's samples are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockFormat {
    /// XOR chunks in `chunks/`: Prometheus reads it.
    Xor,
    /// One `dense` file: a cold block, about a fifth of the bytes.
    Dense,
}

/// What a compacted block records of its inputs.
#[derive(Debug, Clone)]
pub(crate) struct Lineage {
    pub(crate) level: u32,
    pub(crate) sources: Vec<String>,
    pub(crate) parents: Vec<BlockParent>,
}

impl BlockBuilder {
    /// Starts a block under `parent`.
    pub(crate) fn new(parent: &Path) -> Result<BlockBuilder, StorageError> {
        BlockBuilder::with_format(parent, BlockFormat::Xor)
    }

    /// Starts a block in `format` under `parent`.
    pub(crate) fn with_format(parent: &Path, format: BlockFormat) -> Result<BlockBuilder, StorageError> {
        let id = ulid::Ulid::new().to_string();
        let tmp = parent.join(format!("{id}.tmp"));
        std::fs::create_dir_all(&tmp).map_err(StorageError::io("creating", &tmp))?;
        let chunks = match format {
            BlockFormat::Xor => Sink::Xor(ChunkWriter::new(&tmp.join("chunks"))?),
            BlockFormat::Dense => Sink::Dense(DenseWriter::create(&tmp.join(DENSE_FILE))?),
        };
        Ok(BlockBuilder {
            parent: parent.to_path_buf(),
            id,
            tmp,
            chunks: Some(chunks),
            index_input: Vec::new(),
            min_time: i64::MAX,
            max_time: i64::MIN,
            samples: 0,
            chunk_count: 0,
        })
    }

    /// Whether any series was added.
    pub(crate) fn is_empty(&self) -> bool {
        self.index_input.is_empty()
    }

    fn check_order(&self, labels: &Labels) -> Result<(), StorageError> {
        match self.index_input.last() {
            Some((last, _)) if last == labels => {
                Err(StorageError::Invalid(format!("series {labels} given twice")))
            }
            Some((last, _)) if last > labels => {
                Err(StorageError::Invalid(format!("series {labels} comes after {last}: not in label order")))
            }
            _ => Ok(()),
        }
    }

    /// Adds a series from its float samples (strictly increasing timestamps).
    pub(crate) fn add_samples(
        &mut self,
        labels: &Labels,
        samples: &[(i64, f64)],
    ) -> Result<(), StorageError> {
        self.add_series(labels, samples, &[])
    }

    /// Adds a series from its float and histogram samples (each strictly increasing in
    /// time), encoding them in chunks (`series_chunks`). Series must come in label order.
    pub(crate) fn add_series(
        &mut self,
        labels: &Labels,
        samples: &[(i64, f64)],
        histograms: &[(i64, HistogramValue)],
    ) -> Result<(), StorageError> {
        let float_times = samples.windows(2).map(|w| (w[0].0, w[1].0));
        let histogram_times = histograms.windows(2).map(|w| (w[0].0, w[1].0));
        if let Some((_, t)) = float_times.chain(histogram_times).find(|(a, b)| b <= a) {
            return Err(StorageError::Invalid(format!(
                "samples of {labels} not in increasing time order at {t}"
            )));
        }
        if matches!(self.chunks, Some(Sink::Dense(_))) {
            if !histograms.is_empty() {
                return Err(StorageError::Invalid(format!(
                    "series {labels} has native histograms, which a cold (dense) block cannot hold"
                )));
            }
            self.check_order(labels)?;
            let (Some(first), Some(last)) = (samples.first(), samples.last()) else { return Ok(()) };
            let Some(Sink::Dense(writer)) = self.chunks.as_mut() else { unreachable!("matched above") };
            let chunk_ref = writer.add(samples)?;
            self.min_time = self.min_time.min(first.0);
            self.max_time = self.max_time.max(last.0);
            self.samples += samples.len() as u64;
            self.chunk_count += 1;
            self.index_input
                .push((labels.clone(), vec![ChunkMeta { mint: first.0, maxt: last.0, chunk_ref }]));
            return Ok(());
        }
        let chunks = encode_series(labels, samples, histograms)?;
        self.add_chunks(labels, chunks.iter().map(|c| (c.mint, c.maxt, c.encoding, c.bytes.as_slice())))
    }

    /// Adds a series from chunks `(mint, maxt, encoding, bytes)` in time order, copied as
    /// they are. Series must come in label order; a series without chunks is left out.
    pub(crate) fn add_chunks<'a>(
        &mut self,
        labels: &Labels,
        chunks: impl IntoIterator<Item = (i64, i64, u8, &'a [u8])>,
    ) -> Result<(), StorageError> {
        if matches!(self.chunks, Some(Sink::Dense(_))) {
            let mut samples = Vec::new();
            for (_, _, encoding, bytes) in chunks {
                if encoding != super::chunk_writer::XOR_ENCODING {
                    return Err(StorageError::Invalid(format!(
                        "series {labels} has native histograms, which a cold (dense) block cannot hold"
                    )));
                }
                strata_codec::xor::decode_chunk_into(bytes, &mut samples)?;
            }
            return self.add_samples(labels, &samples);
        }
        self.check_order(labels)?;
        let Some(Sink::Xor(writer)) = self.chunks.as_mut() else {
            return Err(StorageError::Invalid("block already finished".into()));
        };
        let mut metas = Vec::new();
        for (mint, maxt, encoding, bytes) in chunks {
            if metas.last().is_some_and(|m: &ChunkMeta| mint <= m.maxt) {
                return Err(StorageError::Invalid(format!("chunks of {labels} overlap at {mint}")));
            }
            let chunk_ref = writer.write(encoding, bytes)?;
            metas.push(ChunkMeta { mint, maxt, chunk_ref });
            self.samples += header_sample_count(bytes).map_or(0, u64::from);
        }
        let (Some(first), Some(last)) = (metas.first(), metas.last()) else { return Ok(()) };
        self.min_time = self.min_time.min(first.mint);
        self.max_time = self.max_time.max(last.maxt);
        self.chunk_count += metas.len() as u64;
        self.index_input.push((labels.clone(), metas));
        Ok(())
    }

    /// Writes the index, tombstones and meta.json, fsyncs everything and renames the block
    /// into place. Its range is `range` if given, else its samples' span; `lineage` (for a
    /// compacted block) sets level, sources and parents, else it is a level-1 block.
    pub(crate) fn finish(
        mut self,
        range: Option<(i64, i64)>,
        lineage: Option<Lineage>,
    ) -> Result<BlockStats, StorageError> {
        if self.index_input.is_empty() {
            return Err(StorageError::Invalid("a block needs at least one sample".into()));
        }
        let chunks_dir = self.tmp.join("chunks");
        match self.chunks.take() {
            Some(Sink::Xor(writer)) => writer.finish()?,
            Some(Sink::Dense(writer)) => writer.finish()?,
            None => return Err(StorageError::Invalid("block already finished".into())),
        }
        let index = build_index(&self.index_input)?;
        write_file(&self.tmp.join("index"), &index)?;
        write_file(&self.tmp.join("tombstones"), &tombstones::empty_file())?;
        let (min_time, max_time) = range.unwrap_or((self.min_time, self.max_time.saturating_add(1)));
        let lineage = lineage.unwrap_or_else(|| Lineage {
            level: 1,
            sources: vec![self.id.clone()],
            parents: Vec::new(),
        });
        let meta = BlockMeta {
            ulid: self.id.clone(),
            min_time,
            max_time,
            stats: MetaStats {
                num_samples: self.samples,
                num_series: self.index_input.len() as u64,
                num_chunks: self.chunk_count,
                num_tombstones: 0,
            },
            compaction: MetaCompaction {
                level: lineage.level,
                sources: lineage.sources,
                parents: lineage.parents,
                failed: false,
            },
            version: 1,
        };
        let json =
            serde_json::to_vec_pretty(&meta).map_err(|e| StorageError::Invalid(format!("meta.json: {e}")))?;
        write_file(&self.tmp.join("meta.json"), &json)?;
        let chunk_bytes = if chunks_dir.is_dir() {
            sync_dir(&chunks_dir)?;
            dir_bytes(&chunks_dir)
        } else {
            dir_bytes(&self.tmp.join(DENSE_FILE))
        };
        sync_dir(&self.tmp)?;
        strata_failpoint::hit(strata_failpoint::Point::BlockBeforeRename);
        let dir = self.parent.join(&self.id);
        std::fs::rename(&self.tmp, &dir).map_err(StorageError::io("renaming", &self.tmp))?;
        sync_dir(&self.parent)?;
        strata_failpoint::hit(strata_failpoint::Point::BlockAfterRename);
        Ok(BlockStats { dir, meta, index_bytes: index.len() as u64, chunk_bytes })
    }
}

impl Drop for BlockBuilder {
    fn drop(&mut self) {
        // After a successful finish the directory was renamed away and this finds nothing.
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    let mut file = File::create(path).map_err(StorageError::io("creating", path))?;
    file.write_all(bytes).map_err(StorageError::io("writing", path))?;
    file.sync_all().map_err(StorageError::io("syncing", path))
}

fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(StorageError::io("syncing", dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(labels: &[(&str, &str)], samples: Vec<(i64, f64)>) -> BlockSeries {
        BlockSeries {
            labels: Labels::from_pairs(labels.iter().copied()).unwrap(),
            samples,
            histograms: Vec::new(),
        }
    }

    #[test]
    fn bad_input_is_refused_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (vec![one(&[("a", "1")], vec![(5, 1.0), (5, 2.0)])], "increasing time order"),
            (vec![one(&[("a", "1")], vec![(5, 1.0)]), one(&[("a", "1")], vec![(6, 1.0)])], "given twice"),
            (vec![one(&[("a", "1")], vec![])], "at least one sample"),
        ];
        for (series, want) in cases {
            let err = write_block(dir.path(), series).unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no block and no .tmp left");
    }

    #[test]
    fn meta_counts_and_chunk_cutting() {
        let dir = tempfile::tempdir().unwrap();
        let samples: Vec<_> = (0..500).map(|i| (1000 + i * 15_000, i as f64)).collect();
        let stats = write_block(dir.path(), vec![one(&[("__name__", "m")], samples)]).unwrap();
        assert_eq!(stats.meta.stats.num_samples, 500);
        assert_eq!(stats.meta.stats.num_chunks, 3, "cut at 240 samples");
        assert_eq!((stats.meta.min_time, stats.meta.max_time), (1000, 1000 + 499 * 15_000 + 1));
        assert_eq!(stats.meta.compaction.sources, vec![stats.meta.ulid.clone()]);
        let meta: BlockMeta =
            serde_json::from_slice(&std::fs::read(stats.dir.join("meta.json")).unwrap()).unwrap();
        assert_eq!(meta, stats.meta);
        assert!(stats.dir.join("chunks/000001").is_file() && stats.dir.join("index").is_file());
    }
}
