//! `strata tsdb`: a data dir's blocks and head, as promtool shows them.
//!
//! - `demo --dir D …` runs the block engine end to end on synthetic data (`demo`).
//! - `compact`, `delete` and `snapshot` change or copy a data dir (`admin`).
//! - `inspect DIR` lists the blocks (id, time range, counts, size) and the WAL.
//! - `dump DIR [--match SELECTOR] [--min-time MS] [--max-time MS]` prints every sample of
//!   the blocks and of the head (replayed from `wal/`, as promtool does) as
//!   `{labels} value timestamp`, values formatted like Go's `%g` — promtool's format.
//!   Head samples older than the end of the newest block are left out, as Prometheus'
//!   replay leaves them out (a cut put them in that block).

mod admin;
pub(crate) mod demo;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;
use strata_model::{Labels, Matcher};
use strata_storage::block::BlockReader;
use strata_storage::dir_bytes;
use strata_wal::{Record, ReplayOptions};

use crate::report::{self, Report};
use crate::selector::parse_selector;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum TsdbCommand {
    /// Ingest synthetic samples through the head, cut blocks, query them; print the figures.
    Demo(demo::DemoArgs),
    /// Run the compactions that are due; print sources, result, range and sizes.
    Compact(admin::CompactArgs),
    /// Delete a time range of the series a selector matches (head and block tombstones).
    Delete(admin::DeleteArgs),
    /// Write a complete copy of a data dir: blocks hard-linked, the head as a block.
    Snapshot(admin::SnapshotArgs),
    /// List the blocks and the WAL of a data dir.
    Inspect(InspectArgs),
    /// Print the samples of a data dir (blocks and head), like `promtool tsdb dump`.
    Dump(DumpArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct InspectArgs {
    /// The data dir.
    dir: PathBuf,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct DumpArgs {
    /// The data dir.
    dir: PathBuf,
    /// Only series this selector matches, e.g. `up{job="node"}`.
    #[arg(long = "match")]
    selector: Option<String>,
    /// First timestamp to print (ms).
    #[arg(long, default_value_t = i64::MIN)]
    min_time: i64,
    /// Last timestamp to print (ms).
    #[arg(long, default_value_t = i64::MAX)]
    max_time: i64,
}

pub(crate) fn run(command: TsdbCommand) -> anyhow::Result<std::process::ExitCode> {
    match command {
        TsdbCommand::Demo(args) => demo::run(args),
        TsdbCommand::Compact(args) => admin::compact(args),
        TsdbCommand::Delete(args) => admin::delete(args),
        TsdbCommand::Snapshot(args) => admin::snapshot(args),
        TsdbCommand::Inspect(args) => inspect(args),
        TsdbCommand::Dump(args) => dump(args),
    }
}

/// The block directories of a data dir (those with a meta.json), sorted by name.
fn block_dirs(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("meta.json").is_file() && p.extension().is_none_or(|e| e != "tmp"))
        .collect();
    out.sort();
    Ok(out)
}

#[derive(Debug, Serialize)]
struct BlockLine {
    ulid: String,
    min_time: i64,
    max_time: i64,
    duration_seconds: f64,
    samples: u64,
    series: u64,
    chunks: u64,
    level: u32,
    bytes: u64,
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct InspectReport {
    blocks: Vec<BlockLine>,
    wal_segments: usize,
    wal_bytes: u64,
}

impl Report for InspectReport {
    fn text(&self) -> String {
        let mut s = format!(
            "{:<28} {:>15} {:>15} {:>10} {:>11} {:>8} {:>8} {:>5} {:>12}\n",
            "BLOCK ULID", "MIN TIME", "MAX TIME", "DURATION", "SAMPLES", "SERIES", "CHUNKS", "LEVEL", "BYTES"
        );
        for b in &self.blocks {
            match &b.error {
                Some(e) => s.push_str(&format!("{:<28} unreadable: {e}\n", b.ulid)),
                None => s.push_str(&format!(
                    "{:<28} {:>15} {:>15} {:>9.1}s {:>11} {:>8} {:>8} {:>5} {:>12}\n",
                    b.ulid,
                    b.min_time,
                    b.max_time,
                    b.duration_seconds,
                    b.samples,
                    b.series,
                    b.chunks,
                    b.level,
                    b.bytes
                )),
            }
        }
        s.push_str(&format!("WAL: {} segment(s), {} bytes\n", self.wal_segments, self.wal_bytes));
        s
    }
}

fn inspect(args: InspectArgs) -> anyhow::Result<std::process::ExitCode> {
    let mut blocks = Vec::new();
    for dir in block_dirs(&args.dir)? {
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        blocks.push(match BlockReader::open(&dir) {
            Ok(block) => {
                let m = block.meta();
                BlockLine {
                    ulid: m.ulid.clone(),
                    min_time: m.min_time,
                    max_time: m.max_time,
                    duration_seconds: (m.max_time - m.min_time) as f64 / 1000.0,
                    samples: m.stats.num_samples,
                    series: m.stats.num_series,
                    chunks: m.stats.num_chunks,
                    level: m.compaction.level,
                    bytes: dir_bytes(&dir),
                    error: None,
                }
            }
            Err(e) => BlockLine {
                ulid: name,
                min_time: 0,
                max_time: 0,
                duration_seconds: 0.0,
                samples: 0,
                series: 0,
                chunks: 0,
                level: 0,
                bytes: dir_bytes(&dir),
                error: Some(e.to_string()),
            },
        });
    }
    let wal = args.dir.join("wal");
    let wal_segments = if wal.is_dir() { strata_wal::list_segments(&wal)?.len() } else { 0 };
    report::print(&InspectReport { blocks, wal_segments, wal_bytes: dir_bytes(&wal) }, args.json)?;
    Ok(std::process::ExitCode::SUCCESS)
}

fn dump(args: DumpArgs) -> anyhow::Result<std::process::ExitCode> {
    let matchers: Vec<Matcher> = match &args.selector {
        Some(s) => parse_selector(s).map_err(|e| anyhow::anyhow!("--match {s:?}: {e}"))?,
        None => Vec::new(),
    };
    let (mint, maxt) = (args.min_time, args.max_time);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut blocks_end = i64::MIN;
    for dir in block_dirs(&args.dir)? {
        let block = BlockReader::open(&dir).with_context(|| format!("opening block {}", dir.display()))?;
        blocks_end = blocks_end.max(block.meta().max_time);
        for (labels, samples) in block.select(&matchers, mint, maxt)? {
            let key = promtool_labels(&labels);
            for (t, v) in samples {
                writeln!(out, "{key} {} {t}", go_g(v))?;
            }
        }
    }
    let wal = args.dir.join("wal");
    if wal.is_dir() {
        dump_head(&wal, &matchers, mint.max(blocks_end), maxt, &mut out)?;
    }
    out.flush()?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// The head's samples, replayed from the WAL, in series order then time order.
fn dump_head(
    wal: &Path,
    matchers: &[Matcher],
    mint: i64,
    maxt: i64,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut series: HashMap<u64, Labels> = HashMap::new();
    let mut samples: HashMap<u64, Vec<(i64, f64)>> = HashMap::new();
    strata_wal::replay(wal, ReplayOptions::default(), |record| match record {
        Record::Series(s) => series.extend(s.into_iter().map(|s| (s.series_ref, s.labels))),
        Record::Samples(s) => {
            for s in s.into_iter().filter(|s| (mint..=maxt).contains(&s.t)) {
                samples.entry(s.series_ref).or_default().push((s.t, s.v));
            }
        }
        _ => {}
    })
    .with_context(|| format!("replaying {}", wal.display()))?;
    let mut selected: Vec<(&Labels, &mut Vec<(i64, f64)>)> = samples
        .iter_mut()
        .filter_map(|(r, s)| series.get(r).map(|l| (l, s)))
        .filter(|(l, _)| matchers.iter().all(|m| m.matches_labels(l)))
        .collect();
    selected.sort_by(|a, b| a.0.cmp(b.0));
    for (labels, samples) in selected {
        samples.sort_by_key(|s| s.0);
        let key = promtool_labels(labels);
        for &(t, v) in samples.iter() {
            writeln!(out, "{key} {} {t}", go_g(v))?;
        }
    }
    Ok(())
}

/// Labels as promtool prints them: `{a="x", b="y"}`.
fn promtool_labels(labels: &Labels) -> String {
    let pairs: Vec<String> = labels.iter().map(|l| format!("{}={:?}", l.name, l.value)).collect();
    format!("{{{}}}", pairs.join(", "))
}

/// A float as Go's `%g` prints it (`strconv.FormatFloat(v, 'g', -1, 64)`): the shortest
/// digits that read back to the same float, in exponent form (`1e+06`, `1.5e-05`) when the
/// decimal exponent is below -4 or at least 6, else as a plain decimal.
fn go_g(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let scientific = format!("{v:e}"); // shortest digits, e.g. "1.234567e6", "-5e-7"
    let (mantissa, exp) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) {
        return v.to_string(); // shortest digits, no exponent, in this range
    }
    format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
}

#[cfg(test)]
mod tests {
    use super::go_g;

    #[test]
    fn floats_print_like_go() {
        for (v, want) in [
            (1.5, "1.5"),
            (2.0, "2"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (123456.0, "123456"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5e-300, "-2.5e-300"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (0.0, "0"),
        ] {
            assert_eq!(go_g(v), want, "{v}");
        }
    }
}
