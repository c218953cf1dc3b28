//! `strata index bench`: builds the inverted index from a synthetic population shaped like
//! real infrastructure (`strata_index::population`) and reports its size, build time and
//! query latencies.
//!
//! Label sets are generated in batches outside the timed section, so the build time is the
//! index's own. Each query runs repeatedly (at least `--runs` times and about half a second)
//! and reports the median and 99th percentile; queries/second is 1 / mean.

use std::time::Instant;

use serde::Serialize;
use strata_index::population::Population;
use strata_index::SeriesIndex;
use strata_model::{MatchOp, Matcher};

use crate::report::{self, Report};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum IndexCommand {
    /// Build an index of synthetic series and measure it.
    Bench(BenchArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct BenchArgs {
    /// Number of series to index.
    #[arg(long, default_value_t = 1_000_000)]
    series: u64,
    /// Seed of the synthetic population.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Minimum runs of each query.
    #[arg(long, default_value_t = 200)]
    runs: usize,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(command: IndexCommand) -> anyhow::Result<std::process::ExitCode> {
    match command {
        IndexCommand::Bench(args) => bench(args),
    }
}

#[derive(Debug, Serialize)]
struct QueryReport {
    query: String,
    matchers: usize,
    matching_series: u64,
    median_ms: f64,
    p99_ms: f64,
    queries_per_second: f64,
}

#[derive(Debug, Serialize)]
struct BenchReport {
    series: u64,
    duplicates_skipped: u64,
    label_names: usize,
    label_values: usize,
    build_seconds: f64,
    existing_lookup_ns: f64,
    memory_bytes: usize,
    bytes_per_series: f64,
    disk_bytes: u64,
    disk_bytes_per_series: f64,
    write_seconds: f64,
    load_seconds: f64,
    queries: Vec<QueryReport>,
}

impl Report for BenchReport {
    fn text(&self) -> String {
        let mut s = format!(
            "Series:          {} ({} duplicate label sets drawn and skipped)\n\
             Label names:     {}\n\
             Label values:    {}\n\
             Build time:      {:.3} s ({:.0} series/s)\n\
             get_or_create:   {:.0} ns for an existing series (the ingest path)\n\
             Index in memory: {:.1} MiB ({:.1} bytes/series)\n\
             Index on disk:   {:.1} MiB ({:.1} bytes/series), written in {:.3} s, loaded in {:.3} s\n\n",
            self.series,
            self.duplicates_skipped,
            self.label_names,
            self.label_values,
            self.build_seconds,
            self.series as f64 / self.build_seconds.max(1e-9),
            self.existing_lookup_ns,
            self.memory_bytes as f64 / 1048576.0,
            self.bytes_per_series,
            self.disk_bytes as f64 / 1048576.0,
            self.disk_bytes_per_series,
            self.write_seconds,
            self.load_seconds,
        );
        s.push_str(&format!(
            "{:<62} {:>9} {:>10} {:>10} {:>11}\n",
            "query", "matching", "median ms", "p99 ms", "queries/s"
        ));
        for q in &self.queries {
            s.push_str(&format!(
                "{:<62} {:>9} {:>10.4} {:>10.4} {:>11.0}\n",
                q.query, q.matching_series, q.median_ms, q.p99_ms, q.queries_per_second
            ));
        }
        s
    }
}

fn bench(args: BenchArgs) -> anyhow::Result<std::process::ExitCode> {
    let index = SeriesIndex::new();
    let mut population = Population::new(args.seed);
    let (mut build, mut drawn) = (0.0f64, 0u64);
    while index.stats().series < args.series {
        let missing = args.series - index.stats().series;
        let batch: Vec<_> = (0..missing.min(100_000)).map(|_| population.next_labels()).collect();
        drawn += batch.len() as u64;
        let started = Instant::now();
        for labels in &batch {
            index.get_or_create(labels)?;
        }
        build += started.elapsed().as_secs_f64();
    }
    let stats = index.stats();
    let existing_lookup_ns = time_existing_lookups(&index, args.seed)?;

    let dir = tempfile_dir()?;
    let path = dir.join("index");
    let started = Instant::now();
    let disk_bytes = index.write_to(&path)?;
    let write_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let loaded = SeriesIndex::open(&path)?;
    let load_seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(loaded.stats().series == stats.series, "the loaded index lost series");
    drop(loaded);
    std::fs::remove_dir_all(&dir).ok();

    let queries =
        queries()?.into_iter().map(|(text, matchers)| measure(&index, text, &matchers, args.runs)).collect();
    let n = stats.series.max(1) as f64;
    let report = BenchReport {
        series: stats.series,
        duplicates_skipped: drawn - stats.series,
        label_names: stats.label_names,
        label_values: stats.label_values,
        build_seconds: build,
        existing_lookup_ns,
        memory_bytes: stats.memory_bytes,
        bytes_per_series: stats.memory_bytes as f64 / n,
        disk_bytes,
        disk_bytes_per_series: disk_bytes as f64 / n,
        write_seconds,
        load_seconds,
        queries,
    };
    report::print(&report, args.json)?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// Mean time of `get_or_create` for series that exist: the same population is drawn again.
fn time_existing_lookups(index: &SeriesIndex, seed: u64) -> anyhow::Result<f64> {
    let mut population = Population::new(seed);
    let n = index.stats().series.min(100_000) as usize;
    let sets: Vec<_> = (0..n).map(|_| population.next_labels()).collect();
    let started = Instant::now();
    for labels in &sets {
        std::hint::black_box(index.get_or_create(labels)?);
    }
    Ok(started.elapsed().as_secs_f64() * 1e9 / n.max(1) as f64)
}

/// A fresh directory under the system's temp dir for the index file.
fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("strata-index-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn queries() -> anyhow::Result<Vec<(&'static str, Vec<Matcher>)>> {
    let m = |op, name: &str, value: &str| Matcher::new(op, name, value);
    use MatchOp::{Equal as Eq, NotEqual as Ne, RegexMatch as Re};
    Ok(vec![
        (r#"{service="service-5"}"#, vec![m(Eq, "service", "service-5")?]),
        (r#"{service="service-5", env="prod"}"#, vec![m(Eq, "service", "service-5")?, m(Eq, "env", "prod")?]),
        (
            r#"{region="region-0", env="prod", service="service-5"}"#,
            vec![m(Eq, "region", "region-0")?, m(Eq, "env", "prod")?, m(Eq, "service", "service-5")?],
        ),
        (
            r#"{__name__="metric_3", env="prod", namespace="ns-2"}"#,
            vec![m(Eq, "__name__", "metric_3")?, m(Eq, "env", "prod")?, m(Eq, "namespace", "ns-2")?],
        ),
        (
            r#"{service="service-5", env!="prod"}"#,
            vec![m(Eq, "service", "service-5")?, m(Ne, "env", "prod")?],
        ),
        (r#"{status=~"500|503", env="prod"}"#, vec![m(Re, "status", "500|503")?, m(Eq, "env", "prod")?]),
        (r#"{pod=~"pod-12.*"}"#, vec![m(Re, "pod", "pod-12.*")?]),
        (
            r#"{host=~"host-1[0-9]+7", env="prod"}"#,
            vec![m(Re, "host", "host-1[0-9]+7")?, m(Eq, "env", "prod")?],
        ),
    ])
}

fn measure(index: &SeriesIndex, text: &str, matchers: &[Matcher], runs: usize) -> QueryReport {
    let matching = index.select(matchers).len();
    let mut times = Vec::with_capacity(runs);
    let started = Instant::now();
    while times.len() < runs || started.elapsed().as_secs_f64() < 0.5 {
        let t = Instant::now();
        std::hint::black_box(index.select(std::hint::black_box(matchers)));
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    QueryReport {
        query: text.to_string(),
        matchers: matchers.len(),
        matching_series: matching,
        median_ms: at(0.5),
        p99_ms: at(0.99),
        queries_per_second: 1e3 / mean,
    }
}
