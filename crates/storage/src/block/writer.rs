//! Writing one block from series and their samples.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use strata_codec::xor::XorEncoder;
use strata_model::Labels;

use super::chunk_writer::ChunkWriter;
use super::index_writer::{build_index, ChunkMeta};
use super::meta::{BlockMeta, MetaCompaction, MetaStats};
use super::tombstones;
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

/// One series to put in a block: its labels and samples in strictly increasing time order.
#[derive(Debug, Clone)]
pub struct BlockSeries {
    /// The series.
    pub labels: Labels,
    /// `(timestamp ms, value)`, strictly increasing timestamps.
    pub samples: Vec<(i64, f64)>,
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
    if let Some(s) = series.iter().find(|s| s.samples.iter().any(|&(t, _)| t < from || t >= to)) {
        return Err(StorageError::Invalid(format!("series {} has samples outside [{from}, {to})", s.labels)));
    }
    write_block_in(parent, series, Some((from, to)))
}

fn write_block_in(
    parent: &Path,
    mut series: Vec<BlockSeries>,
    range: Option<(i64, i64)>,
) -> Result<BlockStats, StorageError> {
    series.retain(|s| !s.samples.is_empty());
    if series.is_empty() {
        return Err(StorageError::Invalid("a block needs at least one sample".into()));
    }
    series.sort_by(|a, b| a.labels.cmp(&b.labels));
    if let Some(w) = series.windows(2).find(|w| w[0].labels == w[1].labels) {
        return Err(StorageError::Invalid(format!("series {} given twice", w[0].labels)));
    }
    let id = ulid::Ulid::new().to_string();
    let tmp = parent.join(format!("{id}.tmp"));
    let result = write_into(&tmp, &id, &series, range);
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    let (meta, index_bytes, chunk_bytes) = result?;
    let dir = parent.join(&id);
    std::fs::rename(&tmp, &dir).map_err(StorageError::io("renaming", &tmp))?;
    sync_dir(parent)?;
    Ok(BlockStats { dir, meta, index_bytes, chunk_bytes })
}

fn write_into(
    tmp: &Path,
    id: &str,
    series: &[BlockSeries],
    range: Option<(i64, i64)>,
) -> Result<(BlockMeta, u64, u64), StorageError> {
    std::fs::create_dir_all(tmp).map_err(StorageError::io("creating", tmp))?;
    let chunks_dir = tmp.join("chunks");
    let mut chunks = ChunkWriter::new(&chunks_dir)?;
    let (mut min_time, mut max_time, mut samples, mut chunk_count) = (i64::MAX, i64::MIN, 0u64, 0u64);
    let mut index_input = Vec::with_capacity(series.len());
    for s in series {
        if let Some(w) = s.samples.windows(2).find(|w| w[1].0 <= w[0].0) {
            return Err(StorageError::Invalid(format!(
                "samples of {} not in increasing time order at {}",
                s.labels, w[1].0
            )));
        }
        let mut metas = Vec::new();
        for part in s.samples.chunks(SAMPLES_PER_BLOCK_CHUNK) {
            let mut enc = XorEncoder::new();
            for &(t, v) in part {
                enc.append(t, v)?;
            }
            let (bytes, _) = enc.finish();
            let chunk_ref = chunks.write(&bytes)?;
            metas.push(ChunkMeta { mint: part[0].0, maxt: part[part.len() - 1].0, chunk_ref });
        }
        min_time = min_time.min(s.samples[0].0);
        max_time = max_time.max(s.samples[s.samples.len() - 1].0);
        samples += s.samples.len() as u64;
        chunk_count += metas.len() as u64;
        index_input.push((s.labels.clone(), metas));
    }
    chunks.finish()?;
    let index = build_index(&index_input)?;
    write_file(&tmp.join("index"), &index)?;
    write_file(&tmp.join("tombstones"), &tombstones::empty_file())?;
    let (min_time, max_time) = range.unwrap_or((min_time, max_time.saturating_add(1)));
    let meta = BlockMeta {
        ulid: id.to_string(),
        min_time,
        max_time,
        stats: MetaStats {
            num_samples: samples,
            num_series: series.len() as u64,
            num_chunks: chunk_count,
            num_tombstones: 0,
        },
        compaction: MetaCompaction { level: 1, sources: vec![id.to_string()] },
        version: 1,
    };
    let json =
        serde_json::to_vec_pretty(&meta).map_err(|e| StorageError::Invalid(format!("meta.json: {e}")))?;
    write_file(&tmp.join("meta.json"), &json)?;
    sync_dir(&chunks_dir)?;
    sync_dir(tmp)?;
    let chunk_bytes = dir_bytes(&chunks_dir);
    Ok((meta, index.len() as u64, chunk_bytes))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    let mut file = File::create(path).map_err(StorageError::io("creating", path))?;
    file.write_all(bytes).map_err(StorageError::io("writing", path))?;
    file.sync_all().map_err(StorageError::io("syncing", path))
}

fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(StorageError::io("syncing", dir))
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map_or(0, |entries| entries.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(labels: &[(&str, &str)], samples: Vec<(i64, f64)>) -> BlockSeries {
        BlockSeries { labels: Labels::from_pairs(labels.iter().copied()).unwrap(), samples }
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
