//! `strata bench rollups --dir D [--series 1000] [--days 365] [--interval 60s]`: the rollup
//! benchmark of docs/rollups.md. It writes `--series` series (half counters with resets,
//! half gauges) at `--interval` over `--days` days straight into blocks (one a day), rolls
//! them up with the seed's tiers (1m kept 30d, 1h kept 1y, 1d forever) showing progress,
//! then times 30-day and whole-range `avg_over_time` / `rate` / `quantile_over_time` range
//! queries with step 1h over every series of their kind, with rollups and without, in turns
//! (`--runs`, medians). It reports points scanned and latency both ways, their ratios, and
//! rollup bytes per raw sample. A dir that already holds blocks is used as it is (no data
//! is written), so a second run measures only the queries.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;
use strata_codec::synthetic::SplitMix;
use strata_model::Labels;
use strata_promql::{EngineOptions, QueryEngine, Range, WithRollups};
use strata_rollup::{job, RollupStore, Tiers};
use strata_storage::block::{write_block_range, BlockSeries};
use strata_storage::{BlockEngine, BlockEngineOptions, Engine, RetentionPolicy};

use crate::duration::parse_duration_ms;
use crate::report::{self, Report};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

#[derive(Debug, clap::Args)]
pub(crate) struct RollupsArgs {
    /// The data dir to fill (or to reuse, when it holds blocks).
    #[arg(long)]
    dir: PathBuf,
    /// Series written: half counters (`bench_requests_total`), half gauges (`bench_cpu`).
    #[arg(long, default_value_t = 1000)]
    series: usize,
    /// Days of data, ending at the start of today (UTC).
    #[arg(long, default_value_t = 365)]
    days: i64,
    /// Sample interval.
    #[arg(long, default_value = "60s")]
    interval: String,
    /// Query rounds (medians reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Print the report as one JSON object (no progress).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct BenchReport {
    series: usize,
    raw_samples: u64,
    raw_bytes: u64,
    write_seconds: f64,
    rollup_seconds: f64,
    tier_bytes: Vec<(String, u64)>,
    rollup_bytes_per_raw_sample: f64,
    queries: Vec<QueryFigures>,
}

#[derive(Debug, Serialize)]
struct QueryFigures {
    query: String,
    range_days: i64,
    points_with: u64,
    points_without: u64,
    ms_with: f64,
    ms_without: f64,
    /// Without over with.
    fewer_points: f64,
    faster: f64,
    route: String,
    same_answer: bool,
}

impl Report for BenchReport {
    fn text(&self) -> String {
        let mut out = format!(
            "{} series, {} raw samples ({:.2} bytes/sample) written in {:.1} s; rolled up in {:.1} s\n",
            self.series,
            self.raw_samples,
            self.raw_bytes as f64 / self.raw_samples.max(1) as f64,
            self.write_seconds,
            self.rollup_seconds
        );
        for (tier, bytes) in &self.tier_bytes {
            out.push_str(&format!("  tier {tier}: {:.1} MiB\n", *bytes as f64 / (1 << 20) as f64));
        }
        out.push_str(&format!("Rollup bytes per raw sample: {:.3}\n\n", self.rollup_bytes_per_raw_sample));
        out.push_str(&format!(
            "{:<52} {:>5} {:>12} {:>13} {:>8} {:>10} {:>10} {:>7}  {}\n",
            "QUERY", "DAYS", "POINTS WITH", "WITHOUT", "FEWER", "MS WITH", "WITHOUT", "FASTER", "ROUTE"
        ));
        for q in &self.queries {
            out.push_str(&format!(
                "{:<52} {:>5} {:>12} {:>13} {:>7.1}x {:>10.1} {:>10.1} {:>6.1}x  {}{}\n",
                q.query,
                q.range_days,
                q.points_with,
                q.points_without,
                q.fewer_points,
                q.ms_with,
                q.ms_without,
                q.faster,
                q.route,
                if q.same_answer { "" } else { " (answers differ)" }
            ));
        }
        out
    }
}

pub(crate) fn run(args: RollupsArgs) -> anyhow::Result<std::process::ExitCode> {
    let interval = parse_duration_ms(&args.interval)?;
    let end = job::wall_ms().div_euclid(DAY) * DAY;
    let start = end - args.days * DAY;
    let write_started = Instant::now();
    std::fs::create_dir_all(&args.dir)?;
    let has_blocks =
        std::fs::read_dir(&args.dir)?.any(|e| e.is_ok_and(|e| e.path().join("meta.json").exists()));
    if !has_blocks {
        write_days(&args, start, end, interval)?;
    }
    let write_seconds = write_started.elapsed().as_secs_f64();
    let options = BlockEngineOptions {
        maintenance_every: None,
        retention: RetentionPolicy::default(),
        ..BlockEngineOptions::default()
    };
    let engine = BlockEngine::open(&args.dir, options).context("opening the bench dir")?;
    let store = RollupStore::open(&args.dir.join("rollups"), Tiers::seed_default())?;
    let rolled = Instant::now();
    let quiet = args.json;
    job::run(&engine, &store, None, &mut |done| {
        if !quiet && (done.remaining % 50 == 0) {
            eprintln!(
                "rollup {}: span to {} done, {} to go",
                strata_rollup::format_duration(done.resolution),
                strata_model::calendar::format_utc(done.end),
                done.remaining
            );
        }
    })?;
    let rollup_seconds = rolled.elapsed().as_secs_f64();

    let stats = engine.stats()?;
    let raw_samples = stats.samples();
    let tier_bytes: Vec<(String, u64)> =
        store.tiers().list().iter().map(|t| t.name()).zip(store.disk_bytes()).collect();
    let rollup_bytes: u64 = tier_bytes.iter().map(|t| t.1).sum();
    let queries = time_queries(&engine, &store, end, args.days, args.runs)?;
    let report = BenchReport {
        series: args.series,
        raw_samples,
        raw_bytes: stats.block_bytes,
        write_seconds,
        rollup_seconds,
        tier_bytes,
        rollup_bytes_per_raw_sample: rollup_bytes as f64 / raw_samples.max(1) as f64,
        queries,
    };
    report::print(&report, args.json)?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// One block a day of every series.
fn write_days(args: &RollupsArgs, start: i64, end: i64, interval: i64) -> anyhow::Result<()> {
    let labels: Vec<Labels> = (0..args.series)
        .map(|i| {
            let name = if i % 2 == 0 { "bench_requests_total" } else { "bench_cpu" };
            Labels::from_pairs([("__name__", name), ("instance", &format!("host-{:04}", i / 2))])
        })
        .collect::<Result<_, _>>()?;
    let mut counters = vec![0.0f64; args.series];
    let mut rng = SplitMix(42);
    let mut day = start;
    while day < end {
        let series: Vec<BlockSeries> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mut t = day;
                let mut samples = Vec::with_capacity((DAY / interval) as usize);
                while t < day + DAY && t < end {
                    let v = if i % 2 == 0 {
                        // A counter: a restart now and then.
                        counters[i] = if rng.unit() < 0.0005 {
                            0.0
                        } else {
                            counters[i] + (rng.next_u64() % 100) as f64
                        };
                        counters[i]
                    } else {
                        let phase = (t % DAY) as f64 / DAY as f64 * std::f64::consts::TAU;
                        ((50.0 + 30.0 * phase.sin() + 10.0 * rng.unit()) * 100.0).round() / 100.0
                    };
                    samples.push((t, v));
                    t += interval;
                }
                BlockSeries { labels: l.clone(), samples, histograms: Vec::new() }
            })
            .collect();
        write_block_range(&args.dir, series, day, day + DAY)?;
        if !args.json && ((day - start) / DAY) % 30 == 0 {
            eprintln!("written: {} of {} days", (day - start) / DAY + 1, (end - start) / DAY);
        }
        day += DAY;
    }
    Ok(())
}

fn time_queries(
    engine: &BlockEngine,
    store: &RollupStore,
    end: i64,
    days: i64,
    runs: usize,
) -> anyhow::Result<Vec<QueryFigures>> {
    let q = QueryEngine::new(EngineOptions {
        max_samples: usize::MAX,
        timeout: std::time::Duration::from_secs(3600),
        ..EngineOptions::default()
    });
    let routed = WithRollups { store: engine, rollups: store };
    let texts = [
        "avg_over_time(bench_cpu[1h])",
        "rate(bench_requests_total[1h])",
        "quantile_over_time(0.9, bench_cpu[1h])",
    ];
    let mut out = Vec::new();
    for range_days in [30.min(days), days] {
        for text in texts {
            let range = Range { start: end - range_days * DAY, end, step: HOUR };
            let (mut with_ms, mut without_ms) = (Vec::new(), Vec::new());
            let (mut with, mut without) = (None, None);
            for _ in 0..runs.max(1) {
                let t = Instant::now();
                let r = q.range(&routed, text, range).map_err(|e| anyhow::anyhow!("{text}: {e}"))?;
                with_ms.push(t.elapsed().as_secs_f64() * 1000.0);
                with = Some(r);
                let t = Instant::now();
                let r = q.range(engine, text, range).map_err(|e| anyhow::anyhow!("{text}: {e}"))?;
                without_ms.push(t.elapsed().as_secs_f64() * 1000.0);
                without = Some(r);
            }
            let (with, without) =
                (with.unwrap_or_else(|| unreachable!()), without.unwrap_or_else(|| unreachable!()));
            let route: Vec<String> = with
                .route
                .iter()
                .map(|r| {
                    format!(
                        "{}:{}",
                        r.resolution.map_or("raw".into(), strata_rollup::format_duration),
                        r.steps
                    )
                })
                .collect();
            let (ms_with, ms_without) = (median(&mut with_ms), median(&mut without_ms));
            out.push(QueryFigures {
                query: text.to_string(),
                range_days,
                points_with: with.samples_loaded as u64,
                points_without: without.samples_loaded as u64,
                ms_with,
                ms_without,
                fewer_points: without.samples_loaded as f64 / with.samples_loaded.max(1) as f64,
                faster: ms_without / ms_with.max(1e-9),
                route: route.join(" "),
                same_answer: same_values(&with.value, &without.value, text.starts_with("quantile")),
            });
        }
    }
    Ok(out)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The same series and steps, values within 1e-9 (quantiles within the sketch's 1%).
fn same_values(a: &strata_promql::Value, b: &strata_promql::Value, sketch: bool) -> bool {
    let (strata_promql::Value::Matrix(a), strata_promql::Value::Matrix(b)) = (a, b) else { return false };
    let tolerance = if sketch { 0.0101 } else { 1e-9 };
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.labels == y.labels
                && x.points.len() == y.points.len()
                && x.points.iter().zip(&y.points).all(|(p, q)| {
                    p.0 == q.0
                        && (p.1 == q.1 || (p.1 - q.1).abs() <= tolerance * p.1.abs().max(q.1.abs()).max(1e-9))
                })
        })
}
