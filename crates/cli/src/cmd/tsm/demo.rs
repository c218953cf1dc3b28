//! `strata tsm demo`: the TSM engine's phases on synthetic data, as the seed project shows
//! them.
//!
//! 1. Writes `--points` points over `--series` series (the synthetic population and value
//!    patterns of `strata tsdb demo`), round by round, in batches of 10,000, through the WAL
//!    and the cache; progress lines show the cache's size and the WAL's segments.
//! 2. Snapshots the cache into a level-1 TSM file whenever it passes
//!    `--cache-snapshot-size`, and prints each (file, keys, points, size, bytes/point).
//! 3. Runs every compaction due after each snapshot (8 level-1 files → a level 2, 4 → a
//!    level 3, 4 → a level 4) and, at the end, a full compaction; prints each by level with
//!    its inputs → output, sizes and time, and the write amplification (bytes written by
//!    snapshots and compactions over bytes written by snapshots).
//! 4. Queries one series and every series over the whole range and prints the files
//!    scanned, points returned and time.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use serde::Serialize;
use strata_storage::Engine;
use strata_tsm::compact::Compaction;
use strata_tsm::{TsmEngine, TsmOptions};

use crate::cmd::tsdb::demo::synthetic_series;
use crate::duration::parse_duration_ms;
use crate::report::{self, Report};
use crate::selector::parse_selector;

#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// The dir to create (must not exist or be empty).
    #[arg(long)]
    dir: PathBuf,
    /// Series to write.
    #[arg(long, default_value_t = 50_000)]
    series: u64,
    /// Points in all (spread evenly over the series).
    #[arg(long, default_value_t = 10_000_000)]
    points: u64,
    /// Time between two points of a series.
    #[arg(long, default_value = "10s")]
    interval: String,
    /// Snapshot the cache into a TSM file past this many MiB.
    #[arg(long, default_value_t = 25)]
    cache_snapshot_size: u64,
    /// Sync the WAL after every batch.
    #[arg(long)]
    sync: bool,
    /// The selector of the single-series query.
    #[arg(long, default_value = "metric_0")]
    query: String,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Progress {
    points: u64,
    cache_bytes: u64,
    wal_segments: usize,
    wal_bytes: u64,
}

#[derive(Debug, Serialize)]
struct Flush {
    file: String,
    keys: u64,
    points: u64,
    bytes: u64,
    bytes_per_point: f64,
}

#[derive(Debug, Serialize)]
struct CompactionFigures {
    level: u64,
    inputs: Vec<String>,
    input_bytes: u64,
    output: Option<String>,
    output_bytes: u64,
    millis: u64,
}

#[derive(Debug, Serialize)]
struct QueryFigures {
    selector: String,
    files_scanned: usize,
    series: usize,
    points: u64,
    millis: f64,
}

#[derive(Debug, Serialize)]
struct DemoReport {
    dir: String,
    series: u64,
    points: u64,
    write_seconds: f64,
    points_per_second: f64,
    progress: Vec<Progress>,
    flushes: Vec<Flush>,
    compactions: Vec<CompactionFigures>,
    snapshot_bytes_written: u64,
    compaction_bytes_written: u64,
    write_amplification: f64,
    files: usize,
    file_bytes: u64,
    bytes_per_point: f64,
    queries: Vec<QueryFigures>,
}

pub(crate) fn run(args: DemoArgs) -> anyhow::Result<std::process::ExitCode> {
    if args.series == 0 || args.points < args.series {
        bail!(
            "--points ({}) must be at least --series ({}), which must be positive",
            args.points,
            args.series
        );
    }
    if args.dir.read_dir().is_ok_and(|mut entries| entries.next().is_some()) {
        bail!("--dir {} is not empty: the demo writes a fresh dir", args.dir.display());
    }
    let interval = parse_duration_ms(&args.interval).context("--interval")?;
    let matchers =
        parse_selector(&args.query).map_err(|e| anyhow::anyhow!("--query {:?}: {e}", args.query))?;
    let per_series = args.points / args.series;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
    let start = (now - per_series as i64 * interval) / interval * interval;
    let (labels, values) = synthetic_series(args.series, per_series, start, interval);

    let options = TsmOptions {
        cache_snapshot_bytes: args.cache_snapshot_size << 20,
        sync_wal: args.sync,
        background: false,
        ..TsmOptions::default()
    };
    let engine = TsmEngine::open(&args.dir, options.clone())?;
    let mut report = DemoReport {
        dir: args.dir.display().to_string(),
        series: args.series,
        points: per_series * args.series,
        write_seconds: 0.0,
        points_per_second: 0.0,
        progress: Vec::new(),
        flushes: Vec::new(),
        compactions: Vec::new(),
        snapshot_bytes_written: 0,
        compaction_bytes_written: 0,
        write_amplification: 0.0,
        files: 0,
        file_bytes: 0,
        bytes_per_point: 0.0,
        queries: Vec::new(),
    };
    let started = Instant::now();
    let refs = engine.series_refs(&labels)?;
    let mut batch = Vec::with_capacity(10_000);
    let mut written = 0u64;
    let mut rounds: Vec<_> = values.iter().map(|v| v.iter()).collect();
    let progress_every = (report.points / 10).max(1);
    for _ in 0..per_series {
        for (points, r) in rounds.iter_mut().zip(&refs) {
            let Some(&(t, v)) = points.next() else { continue };
            batch.push((*r, t, v));
            if batch.len() == batch.capacity() {
                engine.append_refs(&batch)?;
                written += batch.len() as u64;
                batch.clear();
                if engine.cache_bytes() >= options.cache_snapshot_bytes {
                    snapshot_and_compact(&engine, &mut report, false, args.json)?;
                }
                if written % progress_every < 10_000 {
                    note_progress(&engine, &mut report, written, &args.dir, args.json);
                }
            }
        }
    }
    engine.append_refs(&batch)?;
    report.write_seconds = started.elapsed().as_secs_f64();
    report.points_per_second = report.points as f64 / report.write_seconds.max(1e-9);
    drop(rounds);
    drop(values);
    snapshot_and_compact(&engine, &mut report, true, args.json)?;

    let (snap, compacted) = engine.bytes_written();
    report.snapshot_bytes_written = snap;
    report.compaction_bytes_written = compacted;
    report.write_amplification = (snap + compacted) as f64 / snap.max(1) as f64;
    let files = engine.files();
    report.files = files.len();
    report.file_bytes = files.iter().map(|f| f.reader.size()).sum();
    report.bytes_per_point = report.file_bytes as f64 / report.points.max(1) as f64;
    for (selector, matchers) in
        [(args.query.clone(), matchers), ("{__name__=~\".+\"}".to_string(), Vec::new())]
    {
        let t = Instant::now();
        let selected = engine.select(&matchers, i64::MIN / 2_000_000, i64::MAX / 2_000_000)?;
        let mut points = 0u64;
        for s in &selected {
            points += s.collect_samples()?.len() as u64;
        }
        report.queries.push(QueryFigures {
            selector,
            files_scanned: files.len(),
            series: selected.len(),
            points,
            millis: t.elapsed().as_secs_f64() * 1000.0,
        });
    }
    report::print(&report, args.json)?;
    Ok(std::process::ExitCode::SUCCESS)
}

fn note_progress(
    engine: &TsmEngine,
    report: &mut DemoReport,
    points: u64,
    dir: &std::path::Path,
    quiet: bool,
) {
    let wal_segments = std::fs::read_dir(dir.join("wal")).map_or(0, |d| d.count());
    let p =
        Progress { points, cache_bytes: engine.cache_bytes(), wal_segments, wal_bytes: engine.wal_bytes() };
    if !quiet {
        eprintln!(
            "written {} points: cache {:.1} MiB, WAL {} segment(s), {:.1} MiB",
            p.points,
            p.cache_bytes as f64 / 1048576.0,
            p.wal_segments,
            p.wal_bytes as f64 / 1048576.0
        );
    }
    report.progress.push(p);
}

fn snapshot_and_compact(
    engine: &TsmEngine,
    report: &mut DemoReport,
    full: bool,
    quiet: bool,
) -> anyhow::Result<()> {
    if let Some(s) = engine.snapshot_cache()? {
        let flush = Flush {
            file: file_name(&s.path),
            keys: s.keys,
            points: s.points,
            bytes: s.bytes,
            bytes_per_point: s.bytes as f64 / s.points.max(1) as f64,
        };
        if !quiet {
            eprintln!(
                "snapshot -> {}: {} keys, {} points, {} bytes ({:.2} bytes/point)",
                flush.file, flush.keys, flush.points, flush.bytes, flush.bytes_per_point
            );
        }
        report.flushes.push(flush);
    }
    while let Some(c) = engine.compact_once(false)? {
        record(report, c, quiet);
    }
    if full {
        while let Some(c) = engine.compact_once(true)? {
            record(report, c, quiet);
        }
    }
    Ok(())
}

fn record(report: &mut DemoReport, c: Compaction, quiet: bool) {
    let figures = CompactionFigures {
        level: c.level,
        inputs: c.inputs.iter().map(|p| file_name(std::path::Path::new(p))).collect(),
        input_bytes: c.input_bytes,
        output: c.output.as_ref().map(|o| file_name(&o.path)),
        output_bytes: c.output.as_ref().map_or(0, |o| o.bytes),
        millis: c.millis,
    };
    if !quiet {
        eprintln!(
            "compaction to level {}: {} file(s), {} bytes -> {} ({} bytes) in {} ms",
            figures.level,
            figures.inputs.len(),
            figures.input_bytes,
            figures.output.as_deref().unwrap_or("nothing (all deleted)"),
            figures.output_bytes,
            figures.millis
        );
    }
    report.compactions.push(figures);
}

fn file_name(p: &std::path::Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

impl Report for DemoReport {
    fn text(&self) -> String {
        let mut s = format!(
            "wrote {} points of {} series in {:.2} s: {:.0} points/s\n{} snapshot(s), {} compaction(s); \
             bytes written: {} by snapshots, {} by compactions: write amplification {:.2}\n\
             {} file(s), {} bytes: {:.3} bytes/point ({:.1}x smaller than 16)\n",
            self.points,
            self.series,
            self.write_seconds,
            self.points_per_second,
            self.flushes.len(),
            self.compactions.len(),
            self.snapshot_bytes_written,
            self.compaction_bytes_written,
            self.write_amplification,
            self.files,
            self.file_bytes,
            self.bytes_per_point,
            16.0 / self.bytes_per_point.max(1e-9)
        );
        for level in 2..=4 {
            let n = self.compactions.iter().filter(|c| c.level == level).count();
            if n > 0 {
                s.push_str(&format!("  compactions to level {level}: {n}\n"));
            }
        }
        for q in &self.queries {
            s.push_str(&format!(
                "query {}: {} file(s) scanned, {} series, {} points in {:.1} ms\n",
                q.selector, q.files_scanned, q.series, q.points, q.millis
            ));
        }
        s
    }
}
