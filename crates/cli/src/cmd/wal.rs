//! `strata wal`: the write-ahead log on its own (the seed's demo).
//!
//! - `demo` writes `--points` samples across 10,000 series with `--writers` threads and
//!   reports throughput and the segments. Sample `i` (0-based, in the order batches are
//!   numbered) belongs to series `i % 10000 + 1` at time `start + (i / 10000) * 1000`
//!   with value `i`, so a reader can check any sample. With `--crash-after M` it prints
//!   `acked <total>` after every acknowledged batch and kills itself with SIGKILL once M
//!   points are acknowledged.
//! - `recover` replays a log (Strata's or a real Prometheus') and reports per segment.
//! - `checkpoint` checkpoints every closed segment and deletes what it covers.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::ValueEnum;
use serde::Serialize;
use strata_model::{is_stale_marker, Labels};
use strata_wal::{Record, RefSample, RefSeries, ReplayOptions, SyncPolicy, Wal, WalOptions};

use crate::report::{self, Report};
use strata_model::size::parse_size;

/// Series the demo writes to.
pub(crate) const DEMO_SERIES: u64 = 10_000;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum WalCommand {
    /// Write samples across 10,000 series and measure throughput.
    Demo(DemoArgs),
    /// Replay a log and report what it holds.
    Recover(RecoverArgs),
    /// Checkpoint the closed segments and delete them.
    Checkpoint(CheckpointArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Fsync {
    Sync,
    Batch,
    None,
}

#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// Data directory; the log is D/wal/.
    #[arg(long)]
    dir: PathBuf,
    /// Samples to write.
    #[arg(long, default_value_t = 100_000)]
    points: u64,
    /// Segment size (e.g. 16MiB).
    #[arg(long, default_value = "128MiB")]
    segment_size: String,
    /// Durability of each acknowledged batch.
    #[arg(long, value_enum, default_value = "batch")]
    fsync: Fsync,
    /// Concurrent writer threads.
    #[arg(long, default_value_t = 16)]
    writers: u64,
    /// Samples per append.
    #[arg(long, default_value_t = 1000)]
    batch: u64,
    /// Timestamp of the first samples (ms); default: so that the last samples are now.
    #[arg(long)]
    start: Option<i64>,
    /// Print `acked <total>` per acknowledged batch and SIGKILL this process once this many
    /// points are acknowledged.
    #[arg(long)]
    crash_after: Option<u64>,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct SegmentSize {
    segment: String,
    bytes: u64,
}

#[derive(Debug, Serialize)]
struct DemoReport {
    points: u64,
    series: u64,
    writers: u64,
    fsync: String,
    seconds: f64,
    points_per_second: f64,
    appends: u64,
    fsyncs: u64,
    bytes: u64,
    segments: Vec<SegmentSize>,
}

impl Report for DemoReport {
    fn text(&self) -> String {
        let mut s = format!(
            "Wrote {} points across {} series with {} writers (fsync {}) in {:.3} s\n\
             Throughput: {:.0} points/s\n\
             Appends: {}, fsyncs: {}, bytes: {}\nSegments:\n",
            self.points,
            self.series,
            self.writers,
            self.fsync,
            self.seconds,
            self.points_per_second,
            self.appends,
            self.fsyncs,
            self.bytes
        );
        for seg in &self.segments {
            s.push_str(&format!("  {}  {:>12} bytes\n", seg.segment, seg.bytes));
        }
        s
    }
}

pub(crate) fn run(command: WalCommand) -> anyhow::Result<std::process::ExitCode> {
    match command {
        WalCommand::Demo(args) => demo(args),
        WalCommand::Recover(args) => recover(args),
        WalCommand::Checkpoint(args) => checkpoint(args),
    }
}

/// The demo's series `r` (1-based).
pub(crate) fn demo_labels(r: u64) -> Labels {
    let labels =
        [("__name__", "strata_demo".to_string()), ("series", r.to_string()), ("shard", (r % 16).to_string())];
    Labels::from_pairs(labels).unwrap_or_default()
}

/// The demo's sample `i`.
pub(crate) fn demo_sample(i: u64, start: i64) -> RefSample {
    RefSample { series_ref: i % DEMO_SERIES + 1, t: start + (i / DEMO_SERIES) as i64 * 1000, v: i as f64 }
}

fn demo(args: DemoArgs) -> anyhow::Result<std::process::ExitCode> {
    let policy = match args.fsync {
        Fsync::Sync => SyncPolicy::Sync,
        Fsync::Batch => SyncPolicy::Batch,
        Fsync::None => SyncPolicy::None,
    };
    let dir = args.dir.join("wal");
    let options = WalOptions {
        segment_size: parse_size(&args.segment_size).map_err(anyhow::Error::msg)?,
        policy,
        ..WalOptions::default()
    };
    let wal = Arc::new(Wal::open(&dir, options).with_context(|| format!("opening {}", dir.display()))?);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let start = args.start.unwrap_or(now - (args.points / DEMO_SERIES) as i64 * 1000);
    let series: Vec<RefSeries> =
        (1..=DEMO_SERIES).map(|r| RefSeries { series_ref: r, labels: demo_labels(r) }).collect();
    for chunk in series.chunks(1000) {
        wal.append(&[Record::Series(chunk.to_vec())])?;
    }

    let batches = args.points.div_ceil(args.batch.max(1));
    let next_batch = Arc::new(AtomicU64::new(0));
    let acked = Arc::new(Mutex::new(0u64));
    let started = Instant::now();
    let workers: Vec<_> = (0..args.writers.max(1))
        .map(|_| {
            let (wal, next_batch, acked) = (Arc::clone(&wal), Arc::clone(&next_batch), Arc::clone(&acked));
            let (batch, points, crash_after) = (args.batch.max(1), args.points, args.crash_after);
            std::thread::spawn(move || -> anyhow::Result<()> {
                loop {
                    let b = next_batch.fetch_add(1, Ordering::Relaxed);
                    if b >= batches {
                        return Ok(());
                    }
                    let range = b * batch..((b + 1) * batch).min(points);
                    let n = range.end - range.start;
                    let samples = range.map(|i| demo_sample(i, start)).collect();
                    wal.append(&[Record::Samples(samples)])?;
                    if let Some(limit) = crash_after {
                        acknowledge(&acked, n, limit)?;
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().map_err(|_| anyhow::anyhow!("a writer thread panicked"))??;
    }
    let seconds = started.elapsed().as_secs_f64();
    let stats = wal.stats();
    let segments = strata_wal::list_segments(&dir)?
        .into_iter()
        .map(|(n, path)| SegmentSize {
            segment: strata_wal::segment_name(n),
            bytes: std::fs::metadata(path).map_or(0, |m| m.len()),
        })
        .collect();
    let report = DemoReport {
        points: args.points,
        series: DEMO_SERIES,
        writers: args.writers,
        fsync: format!("{:?}", args.fsync).to_lowercase(),
        seconds,
        points_per_second: args.points as f64 / seconds.max(1e-9),
        appends: stats.appends,
        fsyncs: stats.fsyncs,
        bytes: stats.bytes,
        segments,
    };
    report::print(&report, args.json)?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// Counts an acknowledged batch, prints the running total, and crashes at the limit.
fn acknowledge(acked: &Mutex<u64>, n: u64, limit: u64) -> anyhow::Result<()> {
    let mut total = acked.lock().unwrap_or_else(|e| e.into_inner());
    *total += n;
    let mut out = std::io::stdout().lock();
    writeln!(out, "acked {}", *total)?;
    out.flush()?;
    if *total >= limit {
        // No clean shutdown: SIGKILL, like a crash. The ack lock is held, so no other
        // acknowledgement prints after this one.
        // SAFETY: kill(2) on our own pid has no memory-safety preconditions.
        unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
        std::thread::sleep(Duration::from_secs(60)); // SIGKILL cannot be caught: never reached
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
pub(crate) struct RecoverArgs {
    /// Data directory (its log is D/wal/), or the wal directory itself.
    #[arg(long)]
    dir: PathBuf,
    /// Truncate at damage in the middle of the log, dropping what follows.
    #[arg(long)]
    repair: bool,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct SegmentLine {
    segment: String,
    checkpoint: Option<u32>,
    valid_records: u64,
    corrupt_records: u64,
    damage: Option<String>,
    bytes_dropped: u64,
}

#[derive(Debug, Serialize, Default)]
struct RecoverReport {
    recovered_points: u64,
    /// Native-histogram samples (stale markers included), not counted in the points.
    histogram_samples: u64,
    stale_markers: u64,
    series: u64,
    tombstones: u64,
    other_records: u64,
    bytes_dropped: u64,
    elapsed_ms: u64,
    segments: Vec<SegmentLine>,
    error: Option<String>,
}

impl Report for RecoverReport {
    fn text(&self) -> String {
        let mut s = String::new();
        for seg in &self.segments {
            let place = seg.checkpoint.map_or(String::new(), |c| format!(" (checkpoint.{c:08})"));
            s.push_str(&format!(
                "segment {}{place}: {} valid records, {} corrupt\n",
                seg.segment, seg.valid_records, seg.corrupt_records
            ));
            if let Some(d) = &seg.damage {
                s.push_str(&format!("  {d} ({} bytes dropped)\n", seg.bytes_dropped));
            }
        }
        s.push_str(&format!(
            "Series: {}, tombstones: {}, staleness markers: {}, native-histogram samples: {}, other records: {}\n",
            self.series, self.tombstones, self.stale_markers, self.histogram_samples, self.other_records
        ));
        if let Some(e) = &self.error {
            s.push_str(&format!(
                "ERROR: {e}\nReplay stopped there; `strata wal recover --repair` truncates at the damage.\n"
            ));
        }
        s.push_str(&format!("Recovered {} data points in {} ms\n", self.recovered_points, self.elapsed_ms));
        s
    }
}

/// `D/wal` if it exists, else `D` itself.
fn wal_dir(dir: &Path) -> PathBuf {
    let nested = dir.join("wal");
    if nested.is_dir() {
        nested
    } else {
        dir.to_path_buf()
    }
}

fn recover(args: RecoverArgs) -> anyhow::Result<std::process::ExitCode> {
    let dir = wal_dir(&args.dir);
    let mut report = RecoverReport::default();
    let started = Instant::now();
    let result = strata_wal::replay(&dir, ReplayOptions { repair: args.repair }, |record| match record {
        Record::Samples(samples) => {
            for s in samples {
                if is_stale_marker(s.v) {
                    report.stale_markers += 1;
                } else {
                    report.recovered_points += 1;
                }
            }
        }
        Record::Series(series) => report.series += series.len() as u64,
        Record::Tombstones(t) => report.tombstones += t.len() as u64,
        Record::Histograms(h) => report.histogram_samples += h.len() as u64,
        Record::FloatHistograms(h) => report.histogram_samples += h.len() as u64,
        Record::Other(_) => report.other_records += 1,
    });
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(replayed) => {
            report.bytes_dropped = replayed.bytes_dropped();
            report.segments = replayed
                .segments
                .into_iter()
                .map(|s| SegmentLine {
                    segment: strata_wal::segment_name(s.segment),
                    checkpoint: s.checkpoint,
                    valid_records: s.valid_records,
                    corrupt_records: s.corrupt_records,
                    damage: s.damage,
                    bytes_dropped: s.bytes_dropped,
                })
                .collect();
        }
        Err(e) => report.error = Some(e.to_string()),
    }
    report::print(&report, args.json)?;
    Ok(if report.error.is_some() { std::process::ExitCode::FAILURE } else { std::process::ExitCode::SUCCESS })
}

#[derive(Debug, clap::Args)]
pub(crate) struct CheckpointArgs {
    /// Data directory (its log is D/wal/), or the wal directory itself.
    #[arg(long)]
    dir: PathBuf,
    /// Drop samples older than this (ms); by default everything is kept.
    #[arg(long, default_value_t = i64::MIN)]
    min_time: i64,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct CheckpointLine {
    checkpoint: String,
    records_read: u64,
    series_kept: u64,
    samples_kept: u64,
    samples_dropped: u64,
    deleted_segments: Vec<String>,
    deleted_checkpoints: Vec<String>,
    bytes_removed: u64,
}

impl Report for CheckpointLine {
    fn text(&self) -> String {
        format!(
            "Wrote {} ({} series, {} samples kept, {} dropped, from {} records)\n\
             Removed segments: {}\nRemoved checkpoints: {}\nBytes removed: {}\n",
            self.checkpoint,
            self.series_kept,
            self.samples_kept,
            self.samples_dropped,
            self.records_read,
            if self.deleted_segments.is_empty() { "none".into() } else { self.deleted_segments.join(", ") },
            if self.deleted_checkpoints.is_empty() {
                "none".into()
            } else {
                self.deleted_checkpoints.join(", ")
            },
            self.bytes_removed
        )
    }
}

fn checkpoint(args: CheckpointArgs) -> anyhow::Result<std::process::ExitCode> {
    let dir = wal_dir(&args.dir);
    let segments = strata_wal::list_segments(&dir)?;
    // The newest segment may still be written to: checkpoint up to the one before it.
    let Some(upto) = segments.len().checked_sub(2).map(|i| segments[i].0) else {
        anyhow::bail!("{} has {} segment(s): nothing closed to checkpoint", dir.display(), segments.len());
    };
    let r = strata_wal::checkpoint(&dir, upto, args.min_time, |_| true)?;
    let line = CheckpointLine {
        checkpoint: format!("checkpoint.{:08}", r.checkpoint),
        records_read: r.records_in,
        series_kept: r.series_kept,
        samples_kept: r.samples_kept,
        samples_dropped: r.samples_dropped,
        deleted_segments: r.deleted_segments.iter().map(|n| strata_wal::segment_name(*n)).collect(),
        deleted_checkpoints: r.deleted_checkpoints.iter().map(|n| format!("checkpoint.{n:08}")).collect(),
        bytes_removed: r.bytes_removed,
    };
    report::print(&line, args.json)?;
    Ok(std::process::ExitCode::SUCCESS)
}
