//! `strata tsm`: InfluxDB-format TSM files.
//!
//! - `demo --dir D --series N --points P` runs the engine's phases on synthetic data (`demo`).
//! - `inspect FILE [--filter-key TEXT] [--json]` prints the file's summary, its index (every
//!   key with its blocks' time ranges, offsets and sizes) and every block's encodings — the
//!   view `influx_inspect dumptsm -index -blocks` gives, which Debian's InfluxDB does not
//!   ship. Every block's CRC is checked; a damaged block is listed with the error and makes
//!   the exit status 1 (so it doubles as `influx_inspect verify`).

mod demo;

use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;
use strata_tsm::{block, TsmReader};

use crate::report::{self, Report};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum TsmCommand {
    /// Write synthetic points through the TSM engine; print snapshots, compactions, a query.
    Demo(demo::DemoArgs),
    /// Print a TSM file's index and blocks, checking every block.
    Inspect(InspectArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct InspectArgs {
    /// The `.tsm` file.
    file: PathBuf,
    /// Only keys containing this text.
    #[arg(long)]
    filter_key: Option<String>,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(command: TsmCommand) -> anyhow::Result<ExitCode> {
    match command {
        TsmCommand::Demo(args) => demo::run(args),
        TsmCommand::Inspect(args) => inspect(args),
    }
}

#[derive(Debug, Serialize)]
struct InspectReport {
    file: String,
    size_bytes: u64,
    index_offset: u64,
    keys: usize,
    blocks: u64,
    points: u64,
    min_time: Option<i64>,
    max_time: Option<i64>,
    damaged_blocks: u64,
    index: Vec<KeyReport>,
}

#[derive(Debug, Serialize)]
struct KeyReport {
    key: String,
    field: String,
    #[serde(rename = "type")]
    block_type: &'static str,
    blocks: Vec<BlockReport>,
}

#[derive(Debug, Serialize)]
struct BlockReport {
    offset: u64,
    size: u32,
    min_time: i64,
    max_time: i64,
    points: usize,
    timestamp_encoding: &'static str,
    value_encoding: &'static str,
    timestamp_bytes: usize,
    value_bytes: usize,
    /// Why the block cannot be read, if it cannot.
    error: Option<String>,
}

fn inspect(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let reader = TsmReader::open(&args.file)?;
    let mut index = Vec::new();
    for i in 0..reader.key_count() {
        let raw_key = String::from_utf8_lossy(reader.key(i)).into_owned();
        if args.filter_key.as_ref().is_some_and(|f| !raw_key.contains(f.as_str())) {
            continue;
        }
        let (key, field) = match raw_key.split_once("#!~#") {
            Some((k, f)) => (k.to_string(), f.to_string()),
            None => (raw_key.clone(), String::new()),
        };
        let blocks = reader.blocks(i).iter().map(|b| block_report(&reader, b)).collect();
        index.push(KeyReport { key, field, block_type: reader.block_type(i).name(), blocks });
    }
    let all_blocks = index.iter().flat_map(|k| &k.blocks);
    let damaged_blocks = all_blocks.clone().filter(|b| b.error.is_some()).count() as u64;
    let report = InspectReport {
        file: args.file.display().to_string(),
        size_bytes: reader.size(),
        index_offset: reader.index_offset(),
        keys: reader.key_count(),
        blocks: reader.block_count(),
        points: all_blocks.map(|b| b.points as u64).sum(),
        min_time: reader.time_range().map(|r| r.0),
        max_time: reader.time_range().map(|r| r.1),
        damaged_blocks,
        index,
    };
    report::print(&report, args.json)?;
    Ok(if damaged_blocks > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn block_report(reader: &TsmReader, b: &strata_tsm::BlockRef) -> BlockReport {
    let info = reader
        .block_data(b)
        .and_then(|data| block::describe(data).map_err(|e| e.in_file(reader.path(), b.offset + 4)));
    let mut report = BlockReport {
        offset: b.offset,
        size: b.size,
        min_time: b.min_time,
        max_time: b.max_time,
        points: 0,
        timestamp_encoding: "",
        value_encoding: "",
        timestamp_bytes: 0,
        value_bytes: 0,
        error: None,
    };
    match info {
        Ok(info) => {
            report.points = info.points;
            report.timestamp_encoding = info.timestamp_encoding;
            report.value_encoding = info.value_encoding;
            report.timestamp_bytes = info.timestamp_bytes;
            report.value_bytes = info.value_bytes;
        }
        Err(e) => report.error = Some(e.to_string()),
    }
    report
}

impl Report for InspectReport {
    fn text(&self) -> String {
        let range = match (self.min_time, self.max_time) {
            (Some(lo), Some(hi)) => format!("{lo} - {hi} (ns)"),
            _ => "none".into(),
        };
        let mut out = format!(
            "Summary:\n  File: {}\n  Time Range: {range}\n  Keys: {}  Blocks: {}  Points: {}  Size: {} bytes  Index at: {}\n",
            self.file, self.keys, self.blocks, self.points, self.size_bytes, self.index_offset
        );
        if self.damaged_blocks > 0 {
            out.push_str(&format!("  DAMAGED BLOCKS: {}\n", self.damaged_blocks));
        }
        out.push_str("\nIndex:\n  Pos\tMin Time\tMax Time\tOfs\tSize\tKey\tField\n");
        let mut pos = 0;
        for k in &self.index {
            for b in &k.blocks {
                pos += 1;
                out.push_str(&format!(
                    "  {pos}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                    b.min_time, b.max_time, b.offset, b.size, k.key, k.field
                ));
            }
        }
        out.push_str("\nBlocks:\n  Blk\tOfs\tLen\tType\tMin Time\tPoints\tEnc [T/V]\tLen [T/V]\n");
        let mut blk = 0;
        for k in &self.index {
            for b in &k.blocks {
                blk += 1;
                match &b.error {
                    Some(e) => out.push_str(&format!("  {blk}\t{}\t{}\tDAMAGED: {e}\n", b.offset, b.size)),
                    None => out.push_str(&format!(
                        "  {blk}\t{}\t{}\t{}\t{}\t{}\t{}/{}\t{}/{}\n",
                        b.offset,
                        b.size,
                        k.block_type,
                        b.min_time,
                        b.points,
                        b.timestamp_encoding,
                        b.value_encoding,
                        b.timestamp_bytes,
                        b.value_bytes
                    )),
                }
            }
        }
        out
    }
}
