//! `strata shards`: a data dir's time shards, on a dir no server has open.
//!
//! - `status --dir D` — the shard duration, the retention settings and rules, then one line
//!   per shard: its window, HOT/WARM, blocks, series, samples, bytes and bytes/sample.
//! - `query --dir D SELECTOR --start T --end T` — the plan first (the shards to scan, the
//!   parallel workers, the estimated points), then the series and samples read and the time.
//! - `enforce-retention --dir D` — one retention pass: the shards deleted, the blocks
//!   rewritten without expired series, and the space recovered.
//! - `move-cold --dir D --cold-dir C --cold-after 7d` — the shards that are due move to the
//!   cold dir, re-encoded with the dense codec.
//! - `export --dir D --cold-dir C --out OUT [--shard T]` — cold shards back as Prometheus
//!   blocks, so the data never becomes Strata-only.
//!
//! The settings are the server's (`--config strata.toml`, with its `retention-rules`), the
//! flags below overriding the file, so the commands see the data dir as the server does.
//! Every command also prints one JSON object with `--json`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;
use strata_server::ServerConfig;
use strata_storage::{BlockEngine, BlockEngineOptions, Engine, ShardInfo};

use crate::report::{self, Report};
use crate::selector::parse_selector;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum ShardsCommand {
    /// The shard duration, retention, and one line per shard.
    Status(StatusArgs),
    /// Plan and run a selector over the shards a time range touches.
    Query(QueryArgs),
    /// Delete what retention says has expired; print what was freed.
    EnforceRetention(StatusArgs),
    /// Move the shards that are due to the cold dir (what the server does each minute).
    MoveCold(StatusArgs),
    /// Write the cold shards (or one) into a directory as Prometheus blocks.
    Export(ExportArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct ExportArgs {
    #[command(flatten)]
    settings: Settings,
    /// The directory to write the blocks into (promtool and Prometheus read it).
    #[arg(long)]
    out: PathBuf,
    /// Only the shard starting at this time (RFC 3339 or Unix seconds), e.g.
    /// 2025-11-28T00:00:00Z.
    #[arg(long)]
    shard: Option<String>,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

/// Where the data dir is and how it is sharded and retained.
#[derive(Debug, clap::Args)]
pub(crate) struct Settings {
    /// The data dir.
    #[arg(long)]
    dir: PathBuf,
    /// The server's TOML file (shard duration, retention, retention-rules).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Shard duration [default: the file's, else 1d].
    #[arg(long)]
    shard_duration: Option<String>,
    /// Retention (0: forever) [default: the file's, else 15d].
    #[arg(long)]
    retention: Option<String>,
    /// Size limit of blocks and WAL, e.g. 50GB [default: the file's, else none].
    #[arg(long)]
    retention_size: Option<String>,
    /// The cold dir [default: the file's, else none].
    #[arg(long)]
    cold_dir: Option<PathBuf>,
    /// Move shards this much older than the newest data to the cold dir [default: the file's].
    #[arg(long)]
    cold_after: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    settings: Settings,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct QueryArgs {
    #[command(flatten)]
    settings: Settings,
    /// A series selector, e.g. `cpu_usage{host="server1"}`.
    selector: String,
    /// Start: Unix seconds or RFC 3339.
    #[arg(long)]
    start: String,
    /// End: Unix seconds or RFC 3339.
    #[arg(long)]
    end: String,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(command: ShardsCommand) -> anyhow::Result<std::process::ExitCode> {
    match command {
        ShardsCommand::Status(args) => status(args),
        ShardsCommand::Query(args) => query(args),
        ShardsCommand::EnforceRetention(args) => enforce(args),
        ShardsCommand::MoveCold(args) => move_cold(args),
        ShardsCommand::Export(args) => export(args),
    }
    .map(|()| std::process::ExitCode::SUCCESS)
}

impl Settings {
    /// The server's settings for this dir: the file's, overridden by the flags.
    fn config(&self) -> anyhow::Result<ServerConfig> {
        let mut c = match &self.config {
            Some(path) => ServerConfig::from_toml_file(path)?,
            None => ServerConfig::default(),
        };
        if let Some(v) = &self.shard_duration {
            c.shard_duration = v.clone();
        }
        if let Some(v) = &self.retention {
            c.retention = v.clone();
        }
        if self.retention_size.is_some() {
            c.retention_size = self.retention_size.clone();
        }
        if self.cold_dir.is_some() {
            c.cold_dir = self.cold_dir.clone();
        }
        if self.cold_after.is_some() {
            c.cold_after = self.cold_after.clone();
        }
        c.validate()?;
        Ok(c)
    }

    fn open(&self) -> anyhow::Result<(BlockEngine, ServerConfig)> {
        let c = self.config()?;
        if !self.dir.is_dir() {
            anyhow::bail!("--dir {}: no such data dir", self.dir.display());
        }
        let options = BlockEngineOptions { maintenance_every: None, ..c.engine_options()? };
        let engine = BlockEngine::open(&self.dir, options)
            .with_context(|| format!("opening {} (is a server running on it?)", self.dir.display()))?;
        for skipped in engine.skipped_blocks() {
            eprintln!("warning: skipped damaged block {}: {}", skipped.dir.display(), skipped.error);
        }
        Ok((engine, c))
    }
}

/// One shard as the reports print it.
#[derive(Debug, Serialize)]
struct ShardLine {
    start: String,
    start_ms: i64,
    end_ms: i64,
    tier: &'static str,
    blocks: usize,
    series: u64,
    samples: u64,
    bytes: u64,
    bytes_per_sample: f64,
}

impl From<&ShardInfo> for ShardLine {
    fn from(s: &ShardInfo) -> ShardLine {
        ShardLine {
            start: s.window.name(),
            start_ms: s.window.start,
            end_ms: s.window.end,
            tier: s.tier.as_str(),
            blocks: s.blocks.len(),
            series: s.series,
            samples: s.samples,
            bytes: s.bytes,
            bytes_per_sample: (s.bytes_per_sample() * 1000.0).round() / 1000.0,
        }
    }
}

impl ShardLine {
    fn text(&self) -> String {
        format!(
            "{:<24} {:<4} {:>6} {:>9} {:>12} {:>12} {:>8.3}\n",
            self.start, self.tier, self.blocks, self.series, self.samples, self.bytes, self.bytes_per_sample
        )
    }
}

const SHARD_HEADER: &str =
    "shard                    tier blocks    series      samples        bytes  B/sample\n";

#[derive(Debug, Serialize)]
struct RuleLine {
    #[serde(rename = "match")]
    selector: String,
    keep: String,
    /// Series this rule has cut from blocks since the data dir was made (a series cut from
    /// three blocks counts three times).
    series_expired: u64,
}

#[derive(Debug, Serialize)]
struct StatusReport {
    dir: String,
    shard_duration: String,
    retention: String,
    retention_size: Option<String>,
    rules: Vec<RuleLine>,
    /// Series the global retention expired, shards deleted, bytes freed: since the data
    /// dir was made.
    global_series_expired: u64,
    shards_dropped: u64,
    bytes_freed: u64,
    reference: String,
    shards: Vec<ShardLine>,
}

impl Report for StatusReport {
    fn text(&self) -> String {
        let mut out = format!(
            "data dir {}\nshard duration {}, retention {}, size limit {}\n",
            self.dir,
            self.shard_duration,
            if self.retention == "0" { "forever" } else { &self.retention },
            self.retention_size.as_deref().unwrap_or("none"),
        );
        for r in &self.rules {
            out.push_str(&format!(
                "  rule {} keep {}: {} series cut from blocks\n",
                r.selector, r.keep, r.series_expired
            ));
        }
        out.push_str(&format!(
            "freed so far: {} shard(s) deleted, {} bytes, {} series cut from blocks by the global retention\n",
            self.shards_dropped, self.bytes_freed, self.global_series_expired
        ));
        out.push_str(&format!("retention counts back from {}\n\n{SHARD_HEADER}", self.reference));
        for s in &self.shards {
            out.push_str(&s.text());
        }
        out
    }
}

fn status(args: StatusArgs) -> anyhow::Result<()> {
    let (engine, c) = args.settings.open()?;
    let ledger = engine.retention_totals();
    let report = StatusReport {
        dir: args.settings.dir.display().to_string(),
        shard_duration: c.shard_duration.clone(),
        retention: c.retention.clone(),
        retention_size: c.retention_size.clone(),
        rules: c
            .retention_rules
            .iter()
            .map(|r| RuleLine {
                selector: r.selector.clone(),
                keep: r.keep.clone(),
                series_expired: ledger.expired_by(&r.selector),
            })
            .collect(),
        global_series_expired: ledger.expired_by(""),
        shards_dropped: ledger.shards_dropped,
        bytes_freed: ledger.bytes_freed,
        reference: strata_model::calendar::format_utc(engine.retention_reference()),
        shards: engine.shards().iter().map(ShardLine::from).collect(),
    };
    report::print(&report, args.json)
}

#[derive(Debug, Serialize)]
struct QueryReport {
    selector: String,
    start_ms: i64,
    end_ms: i64,
    shards_to_scan: Vec<String>,
    parallel_workers: usize,
    estimated_points: u64,
    series: usize,
    points: u64,
    took_ms: f64,
}

impl Report for QueryReport {
    fn text(&self) -> String {
        format!(
            "plan: {} shard(s) to scan ({}), {} parallel worker(s), ~{} points estimated\n\
             result: {} series, {} points in {:.3} ms\n",
            self.shards_to_scan.len(),
            self.shards_to_scan.join(", "),
            self.parallel_workers,
            self.estimated_points,
            self.series,
            self.points,
            self.took_ms
        )
    }
}

fn query(args: QueryArgs) -> anyhow::Result<()> {
    let matchers =
        parse_selector(&args.selector).map_err(|e| anyhow::anyhow!("selector {:?}: {e}", args.selector))?;
    let start = strata_server::parse_time(&args.start).map_err(|e| anyhow::anyhow!("--start: {e}"))?;
    let end = strata_server::parse_time(&args.end).map_err(|e| anyhow::anyhow!("--end: {e}"))?;
    anyhow::ensure!(start <= end, "--start {} is after --end {}", args.start, args.end);
    let (engine, _) = args.settings.open()?;
    let touched: Vec<ShardInfo> = engine
        .shards()
        .into_iter()
        .filter(|s| s.data_range.is_some_and(|(lo, hi)| lo <= end && hi >= start))
        .collect();
    let estimated = touched.iter().map(|s| estimate(s, start, end)).sum();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let started = Instant::now();
    let (mut series, mut points) = (0usize, 0u64);
    for s in engine.select(&matchers, start, end)? {
        let n = s.collect_samples()?.len() as u64;
        series += usize::from(n > 0);
        points += n;
    }
    let report = QueryReport {
        selector: args.selector,
        start_ms: start,
        end_ms: end,
        shards_to_scan: touched.iter().map(|s| s.window.name()).collect(),
        parallel_workers: touched.len().min(cores).max(1),
        estimated_points: estimated,
        series,
        points,
        took_ms: started.elapsed().as_secs_f64() * 1000.0,
    };
    report::print(&report, args.json)
}

/// The points of shard `s` a query of `[start, end]` would read, if its samples are spread
/// evenly over its data range (all series, before the selector narrows them).
fn estimate(s: &ShardInfo, start: i64, end: i64) -> u64 {
    let Some((lo, hi)) = s.data_range else { return 0 };
    let span = (hi - lo + 1) as f64;
    let overlap = (hi.min(end) - lo.max(start) + 1).max(0) as f64;
    (s.samples as f64 * overlap / span).round() as u64
}

#[derive(Debug, Serialize)]
struct DroppedLine {
    shard: String,
    reason: &'static str,
    blocks: usize,
    samples: u64,
    bytes: u64,
}

#[derive(Debug, Serialize)]
struct EnforceReport {
    reference: String,
    dropped: Vec<DroppedLine>,
    rewritten_blocks: usize,
    series_expired: u64,
    bytes_freed: u64,
    shards_left: usize,
}

impl Report for EnforceReport {
    fn text(&self) -> String {
        let mut out = format!("retention counted back from {}\n", self.reference);
        for d in &self.dropped {
            out.push_str(&format!(
                "deleted shard {} ({}): {} block(s), {} samples, {} bytes\n",
                d.shard, d.reason, d.blocks, d.samples, d.bytes
            ));
        }
        out.push_str(&format!(
            "rewrote {} block(s) without {} expired series\nfreed {} bytes; {} shard(s) left\n",
            self.rewritten_blocks, self.series_expired, self.bytes_freed, self.shards_left
        ));
        out
    }
}

fn enforce(args: StatusArgs) -> anyhow::Result<()> {
    let (engine, _) = args.settings.open()?;
    let done = engine.enforce_retention()?;
    let report = EnforceReport {
        reference: strata_model::calendar::format_utc(done.reference),
        dropped: done
            .dropped
            .iter()
            .map(|d| DroppedLine {
                shard: d.window.name(),
                reason: match d.reason {
                    strata_storage::DropReason::Time => "expired",
                    strata_storage::DropReason::Size => "size limit",
                },
                blocks: d.blocks.len(),
                samples: d.samples,
                bytes: d.bytes,
            })
            .collect(),
        rewritten_blocks: done.rewritten.len(),
        series_expired: done.rewritten.iter().map(|r| r.1).sum(),
        bytes_freed: done.bytes_freed,
        shards_left: engine.shards().len(),
    };
    report::print(&report, args.json)
}

#[derive(Debug, Serialize)]
struct MovedLine {
    shard: String,
    from: String,
    to: String,
    bytes_before: u64,
    bytes_after: u64,
}

#[derive(Debug, Serialize)]
struct MoveReport {
    moved: Vec<MovedLine>,
}

impl Report for MoveReport {
    fn text(&self) -> String {
        let mut out = String::new();
        for m in &self.moved {
            out.push_str(&format!(
                "moved shard {} to the cold dir: block {} -> {}, {} -> {} bytes\n",
                m.shard, m.from, m.to, m.bytes_before, m.bytes_after
            ));
        }
        out.push_str(&format!("{} shard(s) moved\n", self.moved.len()));
        out
    }
}

fn move_cold(args: StatusArgs) -> anyhow::Result<()> {
    let (engine, c) = args.settings.open()?;
    anyhow::ensure!(
        c.cold_dir.is_some(),
        "no cold dir: give --cold-dir and --cold-after (or set them in --config)"
    );
    let moved = engine
        .move_cold_shards()?
        .into_iter()
        .map(|m| MovedLine {
            shard: m.window.name(),
            from: m.from,
            to: m.to,
            bytes_before: m.bytes_before,
            bytes_after: m.bytes_after,
        })
        .collect();
    report::print(&MoveReport { moved }, args.json)
}

#[derive(Debug, Serialize)]
struct ExportReport {
    out: String,
    blocks: Vec<String>,
    samples: u64,
}

impl Report for ExportReport {
    fn text(&self) -> String {
        format!(
            "wrote {} Prometheus block(s), {} samples, into {}\n",
            self.blocks.len(),
            self.samples,
            self.out
        )
    }
}

fn export(args: ExportArgs) -> anyhow::Result<()> {
    let (engine, _) = args.settings.open()?;
    let window = match &args.shard {
        Some(text) => {
            let t = strata_server::parse_time(text).map_err(|e| anyhow::anyhow!("--shard: {e}"))?;
            Some(engine.shard_layout().window_of(t))
        }
        None => None,
    };
    let written = engine.export_cold(&args.out, window)?;
    let report = ExportReport {
        out: args.out.display().to_string(),
        samples: written.iter().map(|p| p.samples).sum(),
        blocks: written.into_iter().map(|p| p.id).collect(),
    };
    report::print(&report, args.json)
}
