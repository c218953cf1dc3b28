//! `strata tsdb demo`: the block engine from end to end on synthetic data.
//!
//! 1. Opens a fresh data dir and ingests `--samples` samples over `--series` series of the
//!    synthetic target-shaped population (`strata_index::population`), round by round as
//!    scrapes deliver them, through the head and its WAL (`append_refs`, batches of up to
//!    10,000 samples); values mix the synthetic patterns roughly as exporters do: 45%
//!    counters, 35% integer gauges, 15% constants, 5% two-decimal percentages; timestamps
//!    every `--interval`, ending now, without jitter (since 2.23 Prometheus moves a scrape
//!    timestamp within 2 ms of its schedule onto the schedule, for compression).
//! 2. Prints the head: samples/s of ingestion, memory per series (closed chunks live in
//!    mapped files, reported apart), WAL size.
//! 3. Flushes the head into blocks (one per block range it spans) and prints each: ULID,
//!    time range, samples, size on disk, bytes per sample against 16 (a raw `i64`+`f64`),
//!    chunks, index size.
//! 4. Runs a selector over the whole range and prints the blocks and chunks it scanned, the
//!    series and samples returned, and the time.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use serde::Serialize;
use strata_codec::synthetic::{generate, Pattern, SeriesSpec};
use strata_index::population::Population;
use strata_storage::{dir_bytes, BlockEngine, BlockEngineOptions, Engine};
use strata_wal::{SyncPolicy, WalOptions};

use crate::duration::parse_duration_ms;
use crate::report::{self, Report};
use crate::selector::parse_selector;

#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// The data dir to create (must not exist or be empty).
    #[arg(long)]
    dir: PathBuf,
    /// Series to create.
    #[arg(long, default_value_t = 10_000)]
    series: u64,
    /// Samples in all (spread evenly over the series).
    #[arg(long, default_value_t = 5_000_000)]
    samples: u64,
    /// Time range of a block.
    #[arg(long, default_value = "2h")]
    block_range: String,
    /// Time between two samples of a series.
    #[arg(long, default_value = "15s")]
    interval: String,
    /// WAL fsync policy: sync, batch or none.
    #[arg(long, default_value = "batch")]
    fsync: String,
    /// The selector to query after the cut.
    #[arg(long, default_value = "metric_0")]
    query: String,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct BlockFigures {
    ulid: String,
    min_time: i64,
    max_time: i64,
    samples: u64,
    series: u64,
    chunks: u64,
    bytes: u64,
    chunk_bytes: u64,
    index_bytes: u64,
    bytes_per_sample: f64,
    compression_vs_16_bytes: f64,
}

#[derive(Debug, Serialize)]
struct QueryFigures {
    selector: String,
    blocks_scanned: usize,
    chunks_decoded: usize,
    series: usize,
    samples: u64,
    millis: f64,
    samples_per_second: f64,
}

#[derive(Debug, Serialize)]
struct DemoReport {
    dir: String,
    series: u64,
    samples: u64,
    ingest_seconds: f64,
    ingest_samples_per_second: f64,
    fsync: String,
    head_chunks: u64,
    head_bytes_per_series: f64,
    head_chunk_bytes: u64,
    head_index_bytes: u64,
    head_chunk_file_bytes: u64,
    wal_bytes: u64,
    blocks: Vec<BlockFigures>,
    block_bytes: u64,
    bytes_per_sample: f64,
    wal_bytes_after_cut: u64,
    query: QueryFigures,
}

impl Report for DemoReport {
    fn text(&self) -> String {
        let mut s = format!(
            "ingested {} samples of {} series in {:.2} s: {:.0} samples/s (WAL fsync {})\n\
             head: {} chunks, {:.0} bytes/series in memory ({} in chunks, {} in the index; {} bytes of \
             closed chunks in mapped files); WAL {} bytes\n\
             cut {} block(s) into {}:\n",
            self.samples,
            self.series,
            self.ingest_seconds,
            self.ingest_samples_per_second,
            self.fsync,
            self.head_chunks,
            self.head_bytes_per_series,
            self.head_chunk_bytes,
            self.head_index_bytes,
            self.head_chunk_file_bytes,
            self.wal_bytes,
            self.blocks.len(),
            self.dir
        );
        for b in &self.blocks {
            s.push_str(&format!(
                "  {}  [{}, {})  {} samples, {} series, {} chunks; {} bytes on disk (index {}): \
                 {:.3} bytes/sample, {:.1}x smaller than 16 bytes/sample\n",
                b.ulid,
                b.min_time,
                b.max_time,
                b.samples,
                b.series,
                b.chunks,
                b.bytes,
                b.index_bytes,
                b.bytes_per_sample,
                b.compression_vs_16_bytes
            ));
        }
        let q = &self.query;
        s.push_str(&format!(
            "blocks: {} bytes, {:.3} bytes/sample; WAL after the cut {} bytes\n\
             query {}: scanned {} block(s), decoded {} chunks; {} series, {} samples in {:.2} ms \
             ({:.0} samples/s)\n",
            self.block_bytes,
            self.bytes_per_sample,
            self.wal_bytes_after_cut,
            q.selector,
            q.blocks_scanned,
            q.chunks_decoded,
            q.series,
            q.samples,
            q.millis,
            q.samples_per_second
        ));
        s
    }
}

fn pattern_of(series: u64) -> Pattern {
    match series % 20 {
        0 => Pattern::Decimal,
        1..=3 => Pattern::Constant,
        4..=12 => Pattern::Counter,
        _ => Pattern::Gauge,
    }
}

/// `series` distinct series of the synthetic target-shaped population, each with
/// `per_series` samples every `interval` from `start`, values in the patterns' mix (see the
/// module docs). Shared with `strata tsm demo`.
pub(crate) fn synthetic_series(
    series: u64,
    per_series: u64,
    start: i64,
    interval: i64,
) -> (Vec<strata_model::Labels>, Vec<Vec<(i64, f64)>>) {
    let mut population = Population::new(7);
    let mut seen = std::collections::HashSet::new();
    let mut labels = Vec::with_capacity(series as usize);
    while labels.len() < series as usize {
        let l = population.next_labels();
        if seen.insert(l.clone()) {
            labels.push(l);
        }
    }
    let values = (0..series)
        .map(|i| {
            let spec = SeriesSpec {
                pattern: pattern_of(i),
                points: per_series,
                start,
                interval,
                jitter: 0,
                seed: i + 1,
            };
            generate(&spec)
        })
        .collect();
    (labels, values)
}

fn fsync_policy(name: &str) -> anyhow::Result<SyncPolicy> {
    Ok(match name {
        "sync" => SyncPolicy::Sync,
        "batch" => SyncPolicy::Batch,
        "none" => SyncPolicy::None,
        other => bail!("--fsync {other:?}: expected sync, batch or none"),
    })
}

pub(crate) fn run(args: DemoArgs) -> anyhow::Result<std::process::ExitCode> {
    if args.series == 0 || args.samples < args.series {
        bail!(
            "--samples ({}) must be at least --series ({}), which must be positive",
            args.samples,
            args.series
        );
    }
    if args.dir.read_dir().is_ok_and(|mut entries| entries.next().is_some()) {
        bail!("--dir {} is not empty: the demo writes a fresh data dir", args.dir.display());
    }
    let block_range = parse_duration_ms(&args.block_range).context("--block-range")?;
    let interval = parse_duration_ms(&args.interval).context("--interval")?;
    let matchers =
        parse_selector(&args.query).map_err(|e| anyhow::anyhow!("--query {:?}: {e}", args.query))?;
    let per_series = args.samples / args.series;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
    let start = (now - per_series as i64 * interval) / interval * interval;

    let (labels, values) = synthetic_series(args.series, per_series, start, interval);

    let wal = WalOptions { policy: fsync_policy(&args.fsync)?, ..WalOptions::default() };
    let engine = BlockEngine::open(&args.dir, BlockEngineOptions { block_range, wal, ..Default::default() })?;
    let started = Instant::now();
    let refs = engine.series_refs(&labels)?;
    let mut batch = Vec::with_capacity(10_000);
    // Round by round, as scrapes deliver them: sample k of every series, then sample k+1.
    let mut rounds: Vec<_> = values.iter().map(|v| v.iter()).collect();
    for _ in 0..per_series {
        for (samples, r) in rounds.iter_mut().zip(&refs) {
            let Some(&(t, v)) = samples.next() else { continue };
            batch.push((*r, t, v));
            if batch.len() == batch.capacity() {
                append_all(&engine, &batch)?;
                batch.clear();
            }
        }
    }
    append_all(&engine, &batch)?;
    let ingest_seconds = started.elapsed().as_secs_f64();
    drop(rounds);
    drop(values);
    let samples = per_series * args.series;
    let head = engine.head().stats();
    let before = engine.stats()?;

    let flushed = engine.flush()?;
    let mut blocks = Vec::new();
    for p in &flushed.written {
        let bytes = engine.blocks().iter().find(|b| b.meta().ulid == p.id).map_or(0, |b| dir_bytes(b.dir()));
        blocks.push(BlockFigures {
            ulid: p.id.clone(),
            min_time: p.min_time,
            max_time: p.max_time,
            samples: p.samples,
            series: p.series,
            chunks: p.chunks,
            bytes,
            chunk_bytes: p.chunk_bytes,
            index_bytes: p.index_bytes,
            bytes_per_sample: bytes as f64 / p.samples.max(1) as f64,
            compression_vs_16_bytes: 16.0 * p.samples as f64 / bytes.max(1) as f64,
        });
    }
    let after = engine.stats()?;

    let query_started = Instant::now();
    let selected = engine.select(&matchers, i64::MIN, i64::MAX)?;
    let mut returned = 0u64;
    for series in &selected {
        for sample in series.samples() {
            sample?;
            returned += 1;
        }
    }
    let seconds = query_started.elapsed().as_secs_f64();
    let query = QueryFigures {
        selector: args.query.clone(),
        blocks_scanned: engine.blocks_overlapping(i64::MIN, i64::MAX).len(),
        chunks_decoded: selected.iter().map(|s| s.chunk_count()).sum(),
        series: selected.len(),
        samples: returned,
        millis: seconds * 1000.0,
        samples_per_second: returned as f64 / seconds.max(1e-9),
    };
    let block_bytes: u64 = blocks.iter().map(|b| b.bytes).sum();
    let report = DemoReport {
        dir: args.dir.display().to_string(),
        series: args.series,
        samples,
        ingest_seconds,
        ingest_samples_per_second: samples as f64 / ingest_seconds.max(1e-9),
        fsync: args.fsync.clone(),
        head_chunks: head.chunks,
        head_bytes_per_series: (head.chunk_bytes + head.index_bytes) as f64 / head.series.max(1) as f64,
        head_chunk_bytes: head.chunk_bytes,
        head_index_bytes: head.index_bytes,
        head_chunk_file_bytes: head.chunk_file_bytes,
        wal_bytes: before.wal_bytes,
        bytes_per_sample: block_bytes as f64 / samples as f64,
        blocks,
        block_bytes,
        wal_bytes_after_cut: after.wal_bytes,
        query,
    };
    report::print(&report, args.json)?;
    Ok(std::process::ExitCode::SUCCESS)
}

fn append_all(engine: &BlockEngine, batch: &[(strata_storage::AppendRef, i64, f64)]) -> anyhow::Result<()> {
    let result = engine.append_refs(batch)?;
    if let Some(r) = result.rejected.first() {
        bail!("{} samples refused, the first: {}", result.rejected.len(), r.reason);
    }
    if let Some(e) = engine.last_cut_error() {
        bail!("cutting a block failed: {e}");
    }
    Ok(())
}
