//! `strata tsdb compact`, `delete` and `snapshot`: the block engine's maintenance on a data
//! dir that no server has open.
//!
//! - `compact --dir D [--block-range 2h] [--clean-tombstones]` runs every compaction that is due (and, with the
//!   flag, rewrites blocks without their tombstones) and prints, for each, the source block
//!   ids, the created block id, its time range, and the size before and after.
//! - `delete --dir D --match SELECTOR [--min-time MS] [--max-time MS]` drops the samples in
//!   the range from the head (a WAL tombstones record) and adds tombstones to the blocks,
//!   then prints how many series it touched.
//! - `snapshot --dir D --out OUT` hard-links every block into OUT and writes the head there
//!   as one more block: OUT is a complete data dir that promtool and Prometheus read.

use std::path::PathBuf;

use serde::Serialize;
use strata_storage::{BlockEngine, BlockEngineOptions, Engine};

use anyhow::Context;

use crate::duration::parse_duration_ms;
use crate::report::{self, Report};
use crate::selector::parse_selector;

#[derive(Debug, clap::Args)]
pub(crate) struct DeleteArgs {
    /// The data dir.
    #[arg(long)]
    dir: PathBuf,
    /// Series to delete from, e.g. `up{job="node"}`.
    #[arg(long = "match")]
    selector: String,
    /// First timestamp to delete (ms, inclusive).
    #[arg(long, default_value_t = i64::MIN)]
    min_time: i64,
    /// Last timestamp to delete (ms, inclusive).
    #[arg(long, default_value_t = i64::MAX)]
    max_time: i64,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CompactArgs {
    /// The data dir.
    #[arg(long)]
    dir: PathBuf,
    /// Also rewrite every block that has tombstones, without the deleted samples.
    #[arg(long)]
    clean_tombstones: bool,
    /// The data dir's block range: compaction levels are 3, 9, 27 … times it.
    #[arg(long, default_value = "2h")]
    block_range: String,
    /// Never make a block longer than this.
    #[arg(long, default_value = "1d")]
    max_block_range: String,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct CompactionLine {
    sources: Vec<String>,
    created: Option<String>,
    min_time: i64,
    max_time: i64,
    level: Option<u32>,
    samples: u64,
    bytes_before: u64,
    bytes_after: u64,
}

#[derive(Debug, Serialize)]
struct CompactReport {
    compactions: Vec<CompactionLine>,
    blocks_after: usize,
}

impl Report for CompactReport {
    fn text(&self) -> String {
        if self.compactions.is_empty() {
            return format!("nothing to compact ({} blocks)\n", self.blocks_after);
        }
        let mut s = String::new();
        for c in &self.compactions {
            s.push_str(&format!(
                "{} -> {} [{}, {}) level {}: {} samples, {} bytes before, {} after\n",
                c.sources.join(" + "),
                c.created.as_deref().unwrap_or("(nothing left)"),
                c.min_time,
                c.max_time,
                c.level.map_or("-".to_string(), |l| l.to_string()),
                c.samples,
                c.bytes_before,
                c.bytes_after
            ));
        }
        s.push_str(&format!("{} compaction(s); {} blocks now\n", self.compactions.len(), self.blocks_after));
        s
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct SnapshotArgs {
    /// The data dir.
    #[arg(long)]
    dir: PathBuf,
    /// Where to write the snapshot (must not exist, or be empty).
    #[arg(long)]
    out: PathBuf,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct DeleteReport {
    selector: String,
    min_time: i64,
    max_time: i64,
    series_touched: u64,
}

impl Report for DeleteReport {
    fn text(&self) -> String {
        format!(
            "deleted [{}, {}] of {}: {} series touched\n",
            self.min_time, self.max_time, self.selector, self.series_touched
        )
    }
}

#[derive(Debug, Serialize)]
struct SnapshotFigures {
    out: String,
    linked_blocks: Vec<String>,
    head_block: Option<String>,
    head_samples: u64,
}

impl Report for SnapshotFigures {
    fn text(&self) -> String {
        let head = match &self.head_block {
            Some(id) => format!("the head written as block {id} ({} samples)", self.head_samples),
            None => "the head was empty".to_string(),
        };
        format!("snapshot in {}: {} block(s) linked, {head}\n", self.out, self.linked_blocks.len())
    }
}

fn open(dir: &std::path::Path) -> anyhow::Result<BlockEngine> {
    open_with(dir, BlockEngineOptions::default())
}

fn open_with(dir: &std::path::Path, options: BlockEngineOptions) -> anyhow::Result<BlockEngine> {
    if !dir.is_dir() {
        anyhow::bail!("--dir {}: no such data dir", dir.display());
    }
    let engine = BlockEngine::open(dir, options)?;
    for skipped in engine.skipped_blocks() {
        eprintln!("warning: skipped block {}: {}", skipped.dir.display(), skipped.error);
    }
    Ok(engine)
}

pub(crate) fn compact(args: CompactArgs) -> anyhow::Result<std::process::ExitCode> {
    let block_range = parse_duration_ms(&args.block_range).context("--block-range")?;
    let max_block_range = parse_duration_ms(&args.max_block_range).context("--max-block-range")?;
    let engine =
        open_with(&args.dir, BlockEngineOptions { block_range, max_block_range, ..Default::default() })?;
    let mut done = engine.compact()?;
    if args.clean_tombstones {
        done.extend(engine.clean_tombstones()?);
    }
    let compactions = done
        .into_iter()
        .map(|c| CompactionLine {
            level: c.level,
            samples: c.created.as_ref().map_or(0, |p| p.samples),
            created: c.created.map(|p| p.id),
            sources: c.sources,
            min_time: c.min_time,
            max_time: c.max_time,
            bytes_before: c.bytes_before,
            bytes_after: c.bytes_after,
        })
        .collect();
    report::print(&CompactReport { compactions, blocks_after: engine.blocks().len() }, args.json)?;
    Ok(std::process::ExitCode::SUCCESS)
}

pub(crate) fn delete(args: DeleteArgs) -> anyhow::Result<std::process::ExitCode> {
    let matchers =
        parse_selector(&args.selector).map_err(|e| anyhow::anyhow!("--match {:?}: {e}", args.selector))?;
    if args.min_time > args.max_time {
        anyhow::bail!("--min-time {} is after --max-time {}", args.min_time, args.max_time);
    }
    let engine = open(&args.dir)?;
    let series_touched = engine.delete(&matchers, args.min_time, args.max_time)?;
    let report = DeleteReport {
        selector: args.selector,
        min_time: args.min_time,
        max_time: args.max_time,
        series_touched,
    };
    report::print(&report, args.json)?;
    Ok(std::process::ExitCode::SUCCESS)
}

pub(crate) fn snapshot(args: SnapshotArgs) -> anyhow::Result<std::process::ExitCode> {
    let engine = open(&args.dir)?;
    let done = engine.snapshot(&args.out)?;
    let report = SnapshotFigures {
        out: args.out.display().to_string(),
        linked_blocks: done.linked,
        head_samples: done.written.as_ref().map_or(0, |w| w.samples),
        head_block: done.written.map(|w| w.id),
    };
    report::print(&report, args.json)?;
    Ok(std::process::ExitCode::SUCCESS)
}
