//! `strata import`: backfill — historical data written straight into blocks, not through
//! the head.
//!
//! `strata import --format prometheus|openmetrics|influx FILE --dir D [--precision ns]
//! [--block-range 2h]` reads FILE (gzip is detected by its magic bytes), a sample per line:
//! - `prometheus`: the text exposition format with an integer millisecond timestamp on every
//!   line, as VictoriaMetrics' `/api/v1/import/prometheus` takes it;
//! - `openmetrics`: timestamps in seconds, ending with `# EOF`, as `promtool tsdb
//!   create-blocks-from openmetrics` takes it;
//! - `influx`: line protocol, timestamps in `--precision` (default ns);
//! - `protobuf`: Prometheus' protobuf exposition (delimited `MetricFamily` messages, what a
//!   target serves to a scraper that asks for it), the one exposition with native
//!   histograms: they are written as histogram chunks (`--classic-histograms` also keeps
//!   their classic buckets). A capture of a scrape has no timestamps: `--timestamp` gives
//!   one to every sample without its own. "Lines" in the report are families.
//!
//! Samples are buffered and written as one block per block range they fall in (a repeated
//! timestamp of a series keeps the last value, counted); whenever `--max-buffered-samples`
//! are buffered (default 10 million, ~160 MB) they are written out, so memory stays bounded
//! whatever the input's size. Blocks go to a staging directory, `D/<ULID>.tmp-import/`, and
//! move into D only once the whole input has been read: a bad line stops the import with its
//! line number and column and leaves nothing in D (the staging directory is removed; a crash
//! leaves one that the engine removes at open). Then the engine compacts what is due —
//! overlapping blocks first, so what several flushes wrote for one range, or data imported
//! over existing blocks, is merged (a timestamp repeated across flushes keeps the earlier
//! value there). A progress bar on stderr follows the bytes read (when stderr is a terminal).
//! If the dir has rollup tiers, the windows over the imported time are rolled up again the
//! next time a server (or `strata rollup run`) opens it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use serde::Serialize;
use strata_ingest::exposition::{self, Flavor};
use strata_ingest::line_protocol::{self, Precision};
use strata_ingest::protobuf_exposition::{self, ExposedSample, ExposedValue};
use strata_ingest::ParsedSample;
use strata_model::histogram::HistogramValue;
use strata_model::Labels;
use strata_storage::block::{write_block_range, BlockSeries};
use strata_storage::{BlockEngine, BlockEngineOptions};

use crate::duration::parse_duration_ms;
use crate::report::{self, Report};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Prometheus text exposition format, a millisecond timestamp on every line.
    Prometheus,
    /// OpenMetrics text: timestamps in seconds, `# EOF` at the end.
    Openmetrics,
    /// InfluxDB line protocol.
    Influx,
    /// Prometheus' protobuf exposition (delimited MetricFamily messages), native histograms
    /// included.
    Protobuf,
}

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The input's format.
    #[arg(long, value_enum, required_unless_present = "from_influxdb")]
    format: Option<Format>,
    /// The file to import (gzip or plain).
    #[arg(required_unless_present = "from_influxdb")]
    file: Option<PathBuf>,
    /// Import a whole InfluxDB 1.x install instead: the dir holding its `data/` and `wal/`
    /// (e.g. /var/lib/influxdb). Databases become a `db` label, retention policies `rp`.
    #[arg(long, conflicts_with_all = ["format", "file"])]
    from_influxdb: Option<PathBuf>,
    /// With --from-influxdb: import influxd's own `_internal` database too.
    #[arg(long)]
    include_internal: bool,
    /// The data dir to write blocks into (created if missing).
    #[arg(long)]
    dir: PathBuf,
    /// Timestamp precision of line protocol: ns, us, ms, s, m or h.
    #[arg(long, default_value = "ns")]
    precision: String,
    /// The timestamp (ms since the epoch) of samples that carry none; without it such a
    /// sample stops the import.
    #[arg(long)]
    timestamp: Option<i64>,
    /// With --format protobuf: keep the classic buckets of native histograms too.
    #[arg(long)]
    classic_histograms: bool,
    /// Time range of a block.
    #[arg(long, default_value = "2h")]
    block_range: String,
    /// Write blocks out whenever this many samples are buffered (bounds memory).
    #[arg(long, default_value_t = 10_000_000)]
    max_buffered_samples: u64,
    /// Print the report as one JSON object (and no progress bar).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct ImportReport {
    file: String,
    lines: u64,
    samples: u64,
    histogram_samples: u64,
    series: usize,
    duplicate_timestamps: u64,
    string_fields_skipped: u64,
    blocks_written: usize,
    min_time: i64,
    max_time: i64,
    compactions: usize,
    blocks_after: usize,
    seconds: f64,
    samples_per_second: f64,
}

impl Report for ImportReport {
    fn text(&self) -> String {
        format!(
            "imported {} samples ({} native histograms) of {} series from {} lines of {} in {:.2} s ({:.0} samples/s)\n\
             time range [{}, {}]; {} block(s) written, {} compaction(s), {} block(s) now\n\
             {} repeated timestamps (last value kept), {} string fields skipped\n",
            self.samples,
            self.histogram_samples,
            self.series,
            self.lines,
            self.file,
            self.seconds,
            self.samples_per_second,
            self.min_time,
            self.max_time,
            self.blocks_written,
            self.compactions,
            self.blocks_after,
            self.duplicate_timestamps,
            self.string_fields_skipped
        )
    }
}

/// Counts the (compressed) bytes read, for the progress bar.
struct Counting<R> {
    inner: R,
    bar: indicatif::ProgressBar,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

fn open_input(args: &Args, path: &Path) -> anyhow::Result<(Box<dyn BufRead>, indicatif::ProgressBar)> {
    let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut magic = [0u8; 2];
    let gzip = file.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let bar = progress_bar(args.json, size);
    let counted = Counting { inner: file, bar: bar.clone() };
    let reader: Box<dyn BufRead> = if gzip {
        Box::new(BufReader::with_capacity(1 << 16, flate2::read::MultiGzDecoder::new(counted)))
    } else {
        Box::new(BufReader::with_capacity(1 << 16, counted))
    };
    Ok((reader, bar))
}

/// A progress bar over `total` bytes on stderr (hidden with `--json`).
fn progress_bar(hidden: bool, total: u64) -> indicatif::ProgressBar {
    let bar = if hidden { indicatif::ProgressBar::hidden() } else { indicatif::ProgressBar::new(total) };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// Blocks written so far, in `D/<ULID>.tmp-import/` until the import commits; removed if
/// dropped uncommitted.
#[derive(Debug)]
struct Staging {
    dir: PathBuf,
    target: PathBuf,
    blocks: Vec<PathBuf>,
    committed: bool,
}

impl Staging {
    fn new(target: &Path) -> anyhow::Result<Staging> {
        let dir = target.join(format!("{}.tmp-import", ulid::Ulid::new()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Staging { dir, target: target.to_path_buf(), blocks: Vec::new(), committed: false })
    }

    /// Moves every staged block into the target dir.
    fn commit(mut self) -> anyhow::Result<usize> {
        for block in &self.blocks {
            let name = block.file_name().context("a staged block has a name")?;
            std::fs::rename(block, self.target.join(name))
                .with_context(|| format!("moving {}", block.display()))?;
        }
        File::open(&self.target).and_then(|d| d.sync_all()).context("syncing the data dir")?;
        self.committed = true;
        std::fs::remove_dir_all(&self.dir).with_context(|| format!("removing {}", self.dir.display()))?;
        Ok(self.blocks.len())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// One series' samples read and not yet written.
#[derive(Debug, Default)]
struct Buffered {
    floats: Vec<(i64, f64)>,
    histograms: Vec<(i64, HistogramValue)>,
}

/// Samples read and not yet written, and the figures of the whole import.
#[derive(Debug)]
struct Gathered {
    series: HashMap<Labels, Buffered>,
    buffered: u64,
    /// The timestamp of samples that carry none (`--timestamp`).
    default_timestamp: Option<i64>,
    histograms: u64,
    seen: HashSet<Labels>,
    lines: u64,
    samples: u64,
    string_fields: u64,
    duplicates: u64,
    min_time: i64,
    max_time: i64,
}

impl Gathered {
    fn new(default_timestamp: Option<i64>) -> Gathered {
        Gathered {
            series: HashMap::new(),
            buffered: 0,
            default_timestamp,
            histograms: 0,
            seen: HashSet::new(),
            lines: 0,
            samples: 0,
            string_fields: 0,
            duplicates: 0,
            min_time: i64::MAX,
            max_time: i64::MIN,
        }
    }

    fn add(&mut self, sample: ParsedSample, line: u64) -> anyhow::Result<()> {
        let t = self.timestamp_of(sample.timestamp, || format!("line {line}"))?;
        self.series.entry(sample.labels).or_default().floats.push((t, sample.value));
        self.samples += 1;
        self.buffered += 1;
        Ok(())
    }

    fn add_exposed(&mut self, sample: ExposedSample, family: u64) -> anyhow::Result<()> {
        let t =
            self.timestamp_of(sample.timestamp, || format!("metric family {family} ({})", sample.labels))?;
        let buffered = self.series.entry(sample.labels).or_default();
        match sample.value {
            ExposedValue::Float(v) => buffered.floats.push((t, v)),
            ExposedValue::Histogram(h) => {
                buffered.histograms.push((t, h));
                self.histograms += 1;
            }
        }
        self.samples += 1;
        self.buffered += 1;
        Ok(())
    }

    /// A sample's timestamp: its own, else `--timestamp`'s; `place` names it in the error.
    fn timestamp_of(&self, given: Option<i64>, place: impl FnOnce() -> String) -> anyhow::Result<i64> {
        match given.or(self.default_timestamp) {
            Some(t) => Ok(t),
            None => {
                bail!("{}: no timestamp (every backfilled sample needs one; --timestamp gives one)", place())
            }
        }
    }

    /// Writes what is buffered into `staging`, one block per block range.
    fn flush(&mut self, staging: &mut Staging, block_range: i64) -> anyhow::Result<()> {
        let mut windows: BTreeMap<i64, Vec<BlockSeries>> = BTreeMap::new();
        for (labels, buffered) in self.series.drain() {
            let (mut floats, mut histograms) = (buffered.floats, buffered.histograms);
            self.duplicates +=
                keep_last_of_each_timestamp(&mut floats) + keep_last_of_each_timestamp(&mut histograms);
            // A float and a histogram at one timestamp: the histogram stays (one sample a
            // timestamp, as the head keeps it), the float is counted as repeated.
            let before = floats.len();
            floats.retain(|f| histograms.binary_search_by_key(&f.0, |h| h.0).is_err());
            self.duplicates += (before - floats.len()) as u64;
            let ends = [floats.first().map(|s| s.0), floats.last().map(|s| s.0)];
            let hends = [histograms.first().map(|s| s.0), histograms.last().map(|s| s.0)];
            self.min_time = ends[0].into_iter().chain(hends[0]).fold(self.min_time, i64::min);
            self.max_time = ends[1].into_iter().chain(hends[1]).fold(self.max_time, i64::max);
            let (mut rest, mut hrest) = (floats.as_slice(), histograms.as_slice());
            while let Some(t) =
                [rest.first().map(|s| s.0), hrest.first().map(|s| s.0)].into_iter().flatten().min()
            {
                let window = t.div_euclid(block_range);
                let end = rest.partition_point(|s| s.0.div_euclid(block_range) == window);
                let hend = hrest.partition_point(|s| s.0.div_euclid(block_range) == window);
                windows.entry(window).or_default().push(BlockSeries {
                    labels: labels.clone(),
                    samples: rest[..end].to_vec(),
                    histograms: hrest[..hend].to_vec(),
                });
                (rest, hrest) = (&rest[end..], &hrest[hend..]);
            }
            self.seen.insert(labels);
        }
        while let Some((window, series)) = windows.pop_first() {
            let from = window * block_range;
            // A window that has not ended yet (by the wall clock) is still open to live
            // writes: its block ends just after its newest sample, as promtool's backfilled
            // blocks do, so the head starts there and a server takes live writes at once
            // (ending at the window's end refused them for up to 2 h). A window in the past
            // keeps its whole range, so it compacts with its neighbours as before.
            let newest = series
                .iter()
                .flat_map(|s| {
                    s.samples.last().map(|f| f.0).into_iter().chain(s.histograms.last().map(|h| h.0))
                })
                .max()
                .unwrap_or(from);
            let to = if from + block_range > strata_storage::Clock::system().now() {
                newest + 1
            } else {
                from + block_range
            };
            staging.blocks.push(write_block_range(&staging.dir, series, from, to)?.dir);
        }
        self.buffered = 0;
        Ok(())
    }
}

/// Sorts `samples` by time and keeps, of a repeated timestamp, the sample given last;
/// returns how many were dropped.
fn keep_last_of_each_timestamp<V>(samples: &mut Vec<(i64, V)>) -> u64 {
    samples.sort_by_key(|s| s.0); // stable: the last of a repeated timestamp stays last
    let before = samples.len();
    samples.reverse();
    samples.dedup_by_key(|s| s.0); // keeps the first of each run: the last one given
    samples.reverse();
    (before - samples.len()) as u64
}

/// Reads the protobuf exposition a family at a time.
fn read_protobuf(
    args: &Args,
    path: &Path,
    input: Box<dyn BufRead>,
    staging: &mut Staging,
    block_range: i64,
) -> anyhow::Result<Gathered> {
    let options = protobuf_exposition::Options { classic_histograms: args.classic_histograms };
    let mut families = protobuf_exposition::FamilyReader::new(input, options);
    let mut gathered = Gathered::new(args.timestamp);
    let file = path.display().to_string();
    while let Some(samples) = families.next_family().with_context(|| file.clone())? {
        gathered.lines += 1;
        if gathered.buffered >= args.max_buffered_samples {
            gathered.flush(staging, block_range)?;
        }
        for sample in samples {
            gathered.add_exposed(sample, gathered.lines).with_context(|| file.clone())?;
        }
    }
    gathered.flush(staging, block_range)?;
    Ok(gathered)
}

fn read_all(
    args: &Args,
    format: Format,
    path: &Path,
    mut input: Box<dyn BufRead>,
    staging: &mut Staging,
    block_range: i64,
) -> anyhow::Result<Gathered> {
    let precision = Precision::parse(&args.precision)
        .with_context(|| format!("--precision {:?}: expected ns, us, ms, s, m or h", args.precision))?;
    let mut gathered = Gathered::new(args.timestamp);
    let mut text = String::new();
    let mut eof_marker: Option<u64> = None;
    let file = path.display().to_string();
    loop {
        text.clear();
        let line = gathered.lines + 1;
        let n = input.read_line(&mut text).with_context(|| format!("{file}: reading line {line}"))?;
        if n == 0 {
            break;
        }
        gathered.lines = line;
        if gathered.buffered >= args.max_buffered_samples {
            gathered.flush(staging, block_range)?;
        }
        let trimmed = text.trim_end_matches(['\n', '\r']);
        if let Some(eof) = eof_marker {
            if !trimmed.trim().is_empty() {
                bail!("{file}: line {line}: text after `# EOF` (line {eof})");
            }
            continue;
        }
        let at = |e: strata_ingest::ParseError| anyhow::anyhow!("{file}: {e}");
        match format {
            Format::Prometheus | Format::Openmetrics => {
                let flavor =
                    if format == Format::Prometheus { Flavor::Prometheus } else { Flavor::OpenMetrics };
                if format == Format::Openmetrics && trimmed == "# EOF" {
                    eof_marker = Some(line);
                    continue;
                }
                if let Some(sample) = exposition::parse_line(trimmed, line as usize, flavor).map_err(at)? {
                    gathered.add(sample, line).with_context(|| file.clone())?;
                }
            }
            Format::Protobuf => bail!("{file}: the protobuf exposition is binary, not lines"),
            Format::Influx => {
                let point = line_protocol::parse_line(trimmed, line as usize, precision).map_err(at)?;
                gathered.string_fields += point.string_fields as u64;
                for sample in point.samples {
                    gathered.add(sample, line).with_context(|| file.clone())?;
                }
            }
        }
    }
    if format == Format::Openmetrics && eof_marker.is_none() {
        bail!("{file}: OpenMetrics input must end with `# EOF` (after line {})", gathered.lines);
    }
    gathered.flush(staging, block_range)?;
    Ok(gathered)
}

/// Reads every shard of an InfluxDB install (`strata_tsm::influx_install`), a progress bar
/// following the bytes of its files.
fn read_influxdb(
    args: &Args,
    root: &Path,
    staging: &mut Staging,
    block_range: i64,
) -> anyhow::Result<Gathered> {
    let shards = strata_tsm::influx_install::shards(root, args.include_internal)?;
    if shards.is_empty() {
        bail!("{}: no shards under data/", root.display());
    }
    let bar = progress_bar(args.json, shards.iter().map(|s| s.bytes).sum());
    let mut gathered = Gathered::new(None);
    for shard in &shards {
        let what = format!("shard {} of {}.{}", shard.id, shard.database, shard.retention_policy);
        let points = strata_tsm::influx_install::read_shard(shard).with_context(|| what.clone())?;
        gathered.string_fields += points.strings_skipped;
        if let Some(damage) = &points.wal_damage {
            bar.suspend(|| eprintln!("warning: {what}: WAL replay stopped early: {damage}"));
        }
        for bad in &points.bad_keys {
            bar.suspend(|| eprintln!("warning: {what}: key left out: {bad}"));
        }
        for (labels, samples) in points.series {
            for (t, value) in samples {
                gathered.add(ParsedSample { labels: labels.clone(), value, timestamp: Some(t) }, 0)?;
            }
        }
        gathered.lines += 1; // shards read
        if gathered.buffered >= args.max_buffered_samples {
            gathered.flush(staging, block_range)?;
        }
        bar.inc(shard.bytes);
    }
    bar.finish_and_clear();
    gathered.flush(staging, block_range)?;
    Ok(gathered)
}

pub(crate) fn run(args: Args) -> anyhow::Result<std::process::ExitCode> {
    let block_range = parse_duration_ms(&args.block_range).context("--block-range")?;
    if args.max_buffered_samples == 0 {
        bail!("--max-buffered-samples must be positive");
    }
    let started = Instant::now();
    std::fs::create_dir_all(&args.dir).with_context(|| format!("creating {}", args.dir.display()))?;
    let mut staging = Staging::new(&args.dir)?;
    let (source, gathered) = match (&args.from_influxdb, args.format, &args.file) {
        (Some(root), _, _) => (root.clone(), read_influxdb(&args, root, &mut staging, block_range)),
        (None, Some(format), Some(file)) => {
            let (input, bar) = open_input(&args, file)?;
            let gathered = match format {
                Format::Protobuf => read_protobuf(&args, file, input, &mut staging, block_range),
                _ => read_all(&args, format, file, input, &mut staging, block_range),
            };
            bar.finish_and_clear();
            (file.clone(), gathered)
        }
        _ => bail!("give --format and FILE, or --from-influxdb DIR"),
    };
    let gathered = gathered?;
    if gathered.samples == 0 {
        bail!("{}: no samples ({} lines or shards read)", source.display(), gathered.lines);
    }
    let blocks_written = staging.commit()?;
    // Rollups already made over the imported time are made again from it when the server
    // next opens the dir (docs/rollups.md).
    strata_rollup::request_reroll(&args.dir.join("rollups"), gathered.min_time)?;
    let engine = BlockEngine::open(&args.dir, BlockEngineOptions { block_range, ..Default::default() })?;
    let compactions = engine.compact()?.len();
    let seconds = started.elapsed().as_secs_f64();
    let report = ImportReport {
        file: source.display().to_string(),
        lines: gathered.lines,
        samples: gathered.samples - gathered.duplicates,
        histogram_samples: gathered.histograms,
        series: gathered.seen.len(),
        duplicate_timestamps: gathered.duplicates,
        string_fields_skipped: gathered.string_fields,
        blocks_written,
        min_time: gathered.min_time,
        max_time: gathered.max_time,
        compactions,
        blocks_after: engine.blocks().len(),
        seconds,
        samples_per_second: gathered.samples as f64 / seconds.max(1e-9),
    };
    report::print(&report, args.json)?;
    Ok(std::process::ExitCode::SUCCESS)
}
