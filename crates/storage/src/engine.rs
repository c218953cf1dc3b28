//! The `Engine` trait: what the rest of Strata (shards, PromQL, the server) asks of a storage
//! engine, whichever it is (ARCHITECTURE.md, decision 9).
//!
//! Engines are synchronous and thread-safe (decision 7). Writes come in batches, by labels
//! or by the [`AppendRef`]s an engine hands out (the ingest hot path skips label lookups);
//! an `Ok` append has made every accepted sample as durable as the engine's WAL policy
//! promises, and names every refused sample with its reason. Reads return [`Series`], whose
//! samples are decoded only while they are iterated.
//!
//! Timestamps are milliseconds. An engine that keeps finer ones (the TSM engine keeps
//! InfluxDB's nanoseconds) says so by [`Engine::resolution_ns`] and takes and gives them
//! through the `_ns` methods; InfluxDB's write and query paths use those, so a point written
//! at `…36.703820946Z` reads back so. Everything else reads milliseconds, and where two
//! points fall in one millisecond sees the later of them.

use std::path::Path;

use strata_model::histogram::HistogramValue;
use strata_model::{Labels, Matcher};

use crate::backfill::{BackfillReport, BackfillSeries};
use crate::head::{AppendRef, AppendResult};
use crate::series_set::Series;
use crate::StorageError;

/// A storage engine; see the module docs.
pub trait Engine: Send + Sync + std::fmt::Debug {
    /// The refs of these series, creating the new ones (durably) first.
    fn series_refs(&self, labels: &[Labels]) -> Result<Vec<AppendRef>, StorageError>;

    /// [`Engine::series_refs`] with admission control's refusals per series (the reason) —
    /// what a writer uses to refuse only the samples of series over a limit.
    fn series_refs_admitted(
        &self,
        labels: &[Labels],
    ) -> Result<Vec<Result<AppendRef, String>>, StorageError> {
        Ok(self.series_refs(labels)?.into_iter().map(Ok).collect())
    }

    /// Appends samples of series known by ref.
    fn append_refs(&self, batch: &[(AppendRef, i64, f64)]) -> Result<AppendResult, StorageError>;

    /// Takes history another replica holds ([`crate::backfill`]): samples of any age, a
    /// timestamp already held skipped. An engine that cannot take old samples refuses.
    fn backfill(&self, series: &[BackfillSeries]) -> Result<BackfillReport, StorageError> {
        let _ = series;
        Err(StorageError::Invalid("this storage engine cannot take a backfill of old samples".into()))
    }

    /// Deletes every sample of exactly these series — not of series with more labels, which
    /// equality matchers would also select (the cluster's cleanup of copies a node no longer
    /// owns). Returns how many it held. The default deletes by matchers only a series that
    /// no other series contains.
    fn delete_series(&self, series: &[Labels]) -> Result<u64, StorageError> {
        let mut deleted = 0;
        for labels in series {
            let matchers = crate::backfill::matchers_of(labels);
            match self.series_labels(&matchers, i64::MIN, i64::MAX)?.as_slice() {
                [] => {}
                [only] if only == labels => {
                    deleted += u64::from(self.delete(&matchers, i64::MIN, i64::MAX)? > 0)
                }
                _ => {
                    return Err(StorageError::Invalid(format!(
                        "{labels}: other series hold these labels too; this engine deletes by matchers only"
                    )))
                }
            }
        }
        Ok(deleted)
    }

    /// Appends samples given by labels.
    fn append(&self, batch: &[(Labels, i64, f64)]) -> Result<AppendResult, StorageError> {
        let labels: Vec<Labels> = batch.iter().map(|(l, _, _)| l.clone()).collect();
        let refs = self.series_refs(&labels)?;
        let by_ref: Vec<_> = refs.into_iter().zip(batch).map(|(r, (_, t, v))| (r, *t, *v)).collect();
        self.append_refs(&by_ref)
    }

    /// Appends native-histogram samples given by labels. Engines that cannot store them
    /// (the TSM engine: InfluxDB's format has no such type) refuse every sample with the
    /// reason — a refusal, not a storage failure, so that a sender does not retry forever.
    fn append_histograms(
        &self,
        batch: &[(Labels, i64, HistogramValue)],
    ) -> Result<AppendResult, StorageError> {
        let reason =
            "native histograms are not stored by this storage engine (the TSM engine keeps floats only)";
        let rejected =
            (0..batch.len()).map(|index| crate::head::Rejected { index, reason: reason.into() }).collect();
        Ok(AppendResult { rejected, ..AppendResult::default() })
    }

    /// [`Engine::append`] without waiting for durability; [`Engine::sync_wal`] makes what was
    /// appended durable. For a writer that batches many small appends and acknowledges them
    /// together (the rule engine, once per group evaluation). Engines without a WAL append.
    fn append_unsynced(&self, batch: &[(Labels, i64, f64)]) -> Result<AppendResult, StorageError> {
        self.append(batch)
    }

    /// Makes every append so far durable (nothing to do for engines without a WAL).
    fn sync_wal(&self) -> Result<(), StorageError> {
        Ok(())
    }

    /// The finest difference of two timestamps the engine keeps apart, in nanoseconds:
    /// [`NS_PER_MS`] for engines of milliseconds (the default), 1 for nanoseconds.
    fn resolution_ns(&self) -> i64 {
        NS_PER_MS
    }

    /// [`Engine::append_refs`] with timestamps in nanoseconds. The default is for engines of
    /// milliseconds: each timestamp is taken down to its millisecond.
    fn append_refs_ns(&self, batch: &[(AppendRef, i64, f64)]) -> Result<AppendResult, StorageError> {
        let in_ms: Vec<(AppendRef, i64, f64)> =
            batch.iter().map(|&(r, t, v)| (r, t.div_euclid(NS_PER_MS), v)).collect();
        self.append_refs(&in_ms)
    }

    /// [`Engine::append`] with timestamps in nanoseconds (default: taken down to milliseconds).
    fn append_ns(&self, batch: &[(Labels, i64, f64)]) -> Result<AppendResult, StorageError> {
        let in_ms: Vec<(Labels, i64, f64)> =
            batch.iter().map(|(l, t, v)| (l.clone(), t.div_euclid(NS_PER_MS), *v)).collect();
        self.append(&in_ms)
    }

    /// [`Engine::select`] over `[min_ns, max_ns]` whose series' samples are stamped in
    /// nanoseconds. The default reads the milliseconds the range covers and scales them.
    fn select_ns(&self, matchers: &[Matcher], min_ns: i64, max_ns: i64) -> Result<Vec<Series>, StorageError> {
        let (mint, maxt) = ms_covering(min_ns, max_ns);
        let mut out = Vec::new();
        for s in self.select(matchers, mint, maxt)? {
            let samples: Vec<(i64, f64)> =
                s.collect_samples()?.into_iter().map(|(t, v)| (t.saturating_mul(NS_PER_MS), v)).collect();
            out.push(Series::from_samples(s.into_labels(), samples, min_ns, max_ns));
        }
        Ok(out)
    }

    /// Series the matchers select that have samples in `[mint, maxt]` (both inclusive),
    /// sorted by labels, each with its samples in that range.
    fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Series>, StorageError>;

    /// The labels of the series the matchers select that have a sample in `[mint, maxt]`,
    /// in no particular order: `select` without reading samples where the engine can tell
    /// without (what InfluxQL's SHOW statements ask). The default selects and checks each.
    fn series_labels(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Labels>, StorageError> {
        Ok(labels_with_samples(self.select(matchers, mint, maxt)?))
    }

    /// The distinct tuples of the values of `names` (`None` where a series lacks the label)
    /// among [`Engine::series_labels`]' series, in no particular order. The default reads
    /// their labels; an engine may answer from its index alone.
    fn distinct_label_values(
        &self,
        matchers: &[Matcher],
        names: &[&str],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Vec<Option<String>>>, StorageError> {
        Ok(distinct_values_of(&self.series_labels(matchers, mint, maxt)?, names))
    }

    /// Label names of the series the matchers select in `[mint, maxt]` (all series when
    /// there is no matcher), sorted.
    fn label_names(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<String>, StorageError>;

    /// Values of label `name` among those series, sorted.
    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, StorageError>;

    /// Deletes the samples in `[mint, maxt]` of the series the matchers select; returns how
    /// many series were touched.
    fn delete(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<u64, StorageError>;

    /// Persists everything in memory (the block engine: cuts the whole head into blocks).
    fn flush(&self) -> Result<FlushReport, StorageError>;

    /// Writes a complete, self-contained copy of the engine's data at `out` (which must not
    /// exist, or be empty) without stopping it: immutable files are hard-linked, what is only
    /// in memory is written there.
    fn snapshot(&self, out: &Path) -> Result<SnapshotReport, StorageError>;

    /// Figures about the engine.
    fn stats(&self) -> Result<EngineStats, StorageError>;

    /// The time the engine's samples span and how much of it is settled:
    /// `(oldest sample, settled)`, where no sample stamped before `settled` can be
    /// appended any more (the head refuses it). Rollups read only settled time, so a window
    /// is never rolled up before every sample it will ever hold is there. `None`: the engine
    /// cannot say (it then has no rollups).
    fn settled_range(&self) -> Option<(i64, i64)> {
        None
    }
}

/// The labels of the selected series that hold a sample in their range.
pub(crate) fn labels_with_samples(series: Vec<Series>) -> Vec<Labels> {
    series.into_iter().filter(Series::has_samples).map(Series::into_labels).collect()
}

/// The distinct tuples of the values of `names` among `series` (`None` where one lacks
/// the label): what `Engine::distinct_label_values` gives when read from labels.
pub(crate) fn distinct_values_of(series: &[Labels], names: &[&str]) -> Vec<Vec<Option<String>>> {
    let tuples: std::collections::BTreeSet<Vec<Option<String>>> =
        series.iter().map(|l| names.iter().map(|n| l.get(n).map(str::to_string)).collect()).collect();
    tuples.into_iter().collect()
}

/// Nanoseconds in a millisecond.
pub const NS_PER_MS: i64 = 1_000_000;

/// The milliseconds whose samples lie in `[min_ns, max_ns]`: the first whole millisecond at
/// or after `min_ns` to the one holding `max_ns`.
pub fn ms_covering(min_ns: i64, max_ns: i64) -> (i64, i64) {
    let min = if min_ns == i64::MIN {
        i64::MIN
    } else {
        min_ns.div_euclid(NS_PER_MS) + i64::from(min_ns.rem_euclid(NS_PER_MS) != 0)
    };
    let max = if max_ns == i64::MAX { i64::MAX } else { max_ns.div_euclid(NS_PER_MS) };
    (min, max)
}

/// One immutable file set an engine wrote (a block of the block engine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Persisted {
    /// Its id (a ULID for blocks).
    pub id: String,
    /// First timestamp (inclusive) and end (exclusive).
    pub min_time: i64,
    /// End of the range (exclusive).
    pub max_time: i64,
    /// Series.
    pub series: u64,
    /// Samples.
    pub samples: u64,
    /// Chunks.
    pub chunks: u64,
    /// Bytes of the chunk data.
    pub chunk_bytes: u64,
    /// Bytes of the index.
    pub index_bytes: u64,
}

/// What a flush wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlushReport {
    /// What was written, oldest first.
    pub written: Vec<Persisted>,
    /// WAL bytes removed by the truncation that followed.
    pub wal_bytes_removed: u64,
}

/// What a snapshot holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotReport {
    /// Ids of the immutable files (blocks) linked into the snapshot.
    pub linked: Vec<String>,
    /// What was written from memory (the head), if it held anything.
    pub written: Option<Persisted>,
}

/// Figures about an engine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Series in memory (the head).
    pub head_series: u64,
    /// Series removed from the head since start (nothing left in it after a cut).
    pub head_series_removed: u64,
    /// Samples in memory.
    pub head_samples: u64,
    /// Chunks in memory.
    pub head_chunks: u64,
    /// Heap bytes of the in-memory series: chunks plus index.
    pub head_memory_bytes: u64,
    /// The index's part of `head_memory_bytes` (labels, postings, the series map).
    pub head_index_bytes: u64,
    /// Bytes the head's samples take encoded (chunks as a block would hold them).
    pub head_encoded_bytes: u64,
    /// Immutable blocks (or files) on disk.
    pub blocks: u64,
    /// Series summed over blocks (a series in two blocks counts twice).
    pub block_series: u64,
    /// Samples in blocks.
    pub block_samples: u64,
    /// Chunks in blocks.
    pub block_chunks: u64,
    /// Bytes of the blocks on disk.
    pub block_bytes: u64,
    /// Bytes of the write-ahead log (segments and checkpoint).
    pub wal_bytes: u64,
    /// Samples refused since open.
    pub rejected_samples: u64,
    /// Blocks found damaged at open and left out.
    pub skipped_blocks: u64,
    /// Compactions (block merges, tombstone cleanups) done since open.
    pub compactions: u64,
    /// Their total duration, in microseconds.
    pub compaction_micros: u64,
    /// WAL fsyncs since open.
    pub wal_fsyncs: u64,
}

impl EngineStats {
    /// Samples in memory and on disk.
    pub fn samples(&self) -> u64 {
        self.head_samples + self.block_samples
    }

    /// Bytes on disk (blocks and WAL).
    pub fn disk_bytes(&self) -> u64 {
        self.block_bytes + self.wal_bytes
    }

    /// Raw size over stored size: 16 bytes a sample (an i64 timestamp and an f64 value)
    /// against the bytes the samples take where they are kept — whole blocks on disk (index
    /// included) and the head's encoded chunks. The WAL, a second copy of the head that is
    /// dropped once the head is cut, is not counted. 0 when nothing is stored.
    pub fn compression_ratio(&self) -> f64 {
        let stored = self.block_bytes + self.head_encoded_bytes;
        if stored == 0 {
            return 0.0;
        }
        self.samples() as f64 * 16.0 / stored as f64
    }
}
