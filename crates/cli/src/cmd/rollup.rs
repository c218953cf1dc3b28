//! `strata rollup status|query|run`: the rollup tiers of a running server (`--url URL`) or
//! of a data dir (`--dir D`, with the server's `--config` for its tiers).
//!
//! - `status`: tiers, retention, how far each is rolled up and its lag, the last run, the
//!   segments and bytes on disk (`lag_seconds` per tier with `--json`);
//! - `query EXPR --range 30d [--step 1h] [--end T]`: the plan — which tier (or raw data)
//!   answered which steps, points scanned with and without rollups, both times, and the
//!   result; the same route is in the HTTP API's `stats` (docs/rollups.md);
//! - `run --dir D`: the job until every tier is up to date (a backfill), with progress.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use strata_model::calendar::format_utc;
use strata_model::size::{format_bytes, format_count};
use strata_promql::{QueryEngine, Range, Value, WithRollups};
use strata_rollup::{format_duration, job, RollupStore, TierStatus};
use strata_server::ServerConfig;
use strata_storage::{BlockEngine, BlockEngineOptions};

use crate::duration::parse_duration_ms;
use crate::http;
use crate::report::{self, Report};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum RollupCommand {
    /// Tiers, retention, watermarks, lag and the last run.
    Status(StatusArgs),
    /// A PromQL range query's plan over the tiers, with and without rollups.
    Query(QueryArgs),
    /// Roll up everything settled in a data dir (a backfill), showing progress.
    Run(RunArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct Target {
    /// A running server: http://host:port.
    #[arg(long, conflicts_with = "dir")]
    url: Option<String>,
    /// A data dir (no server running on it).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The server's TOML file (its `rollups` tiers and retention), with --dir.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Tiers, as `strata server --rollups` takes them, with --dir [default: the file's, else
    /// 1m:30d,1h:1y,1d:forever].
    #[arg(long)]
    rollups: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    target: Target,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct QueryArgs {
    #[command(flatten)]
    target: Target,
    /// The PromQL expression.
    query: String,
    /// How far back from the end the query reaches, e.g. 30d.
    #[arg(long)]
    range: String,
    /// Step [default: 1h].
    #[arg(long, default_value = "1h")]
    step: String,
    /// End: Unix seconds or RFC 3339 [default: now, rounded down to the step].
    #[arg(long)]
    end: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// The data dir (no server running on it).
    #[arg(long)]
    dir: PathBuf,
    /// The server's TOML file.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Tiers [default: the file's, else 1m:30d,1h:1y,1d:forever].
    #[arg(long)]
    rollups: Option<String>,
    /// Print the report as one JSON object (no progress bar).
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(command: RollupCommand) -> anyhow::Result<ExitCode> {
    match command {
        RollupCommand::Status(args) => status(args),
        RollupCommand::Query(args) => query(args),
        RollupCommand::Run(args) => backfill(args),
    }
    .map(|()| ExitCode::SUCCESS)
}

/// The server settings for a data dir: the file's, with `--rollups` over them.
fn dir_config(config: Option<&PathBuf>, rollups: Option<&String>) -> anyhow::Result<ServerConfig> {
    let mut c = match config {
        Some(path) => ServerConfig::from_toml_file(path)?,
        None => ServerConfig::default(),
    };
    if let Some(r) = rollups {
        c.rollups = strata_server::RollupsConfig::Text(r.clone());
    }
    c.validate()?;
    Ok(c)
}

fn open_store(dir: &std::path::Path, c: &ServerConfig) -> anyhow::Result<RollupStore> {
    let Some(tiers) = c.rollup_tiers()? else { bail!("rollups are off in these settings") };
    Ok(RollupStore::open(&dir.join("rollups"), tiers)?)
}

fn open_engine(dir: &std::path::Path, c: &ServerConfig) -> anyhow::Result<BlockEngine> {
    if !dir.is_dir() {
        bail!("--dir {}: no such data dir", dir.display());
    }
    let options = BlockEngineOptions { maintenance_every: None, ..c.engine_options()? };
    BlockEngine::open(dir, options)
        .with_context(|| format!("opening {} (is a server running on it?)", dir.display()))
}

// ---- status ----

/// `strata rollup status`.
#[derive(Debug, Serialize, Deserialize)]
struct Status {
    enabled: bool,
    tiers: Vec<TierStatus>,
    raw_from: Option<i64>,
    raw_retention: Option<String>,
}

impl Report for Status {
    fn text(&self) -> String {
        if !self.enabled {
            return "Rollups are off.\n".into();
        }
        let mut out = format!(
            "Rollup tiers (raw kept {}; raw samples from {}):\n",
            self.raw_retention.as_deref().unwrap_or("?"),
            self.raw_from.map_or("-".into(), format_utc)
        );
        out.push_str(&format!(
            "  {:<6} {:<8} {:<5} {:<25} {:>10}  {:<25} {:>8} {:>10}\n",
            "TIER", "KEEP", "SPAN", "ROLLED UP TO", "LAG", "LAST RUN", "SEGMENTS", "SIZE"
        ));
        for t in &self.tiers {
            out.push_str(&format!(
                "  {:<6} {:<8} {:<5} {:<25} {:>10}  {:<25} {:>8} {:>10}\n",
                t.resolution,
                t.keep,
                t.span,
                t.watermark.map_or("-".into(), format_utc),
                t.lag_seconds.map_or("-".into(), |s| format_duration((s.max(0.0) as i64 / 60) * 60_000)),
                t.last_run.map_or("never".into(), format_utc),
                t.segments,
                format_bytes(t.bytes as f64),
            ));
        }
        out
    }
}

fn status(args: StatusArgs) -> anyhow::Result<()> {
    let report = match (&args.target.url, &args.target.dir) {
        (Some(url), _) => {
            let data = get_json(url, "/api/v1/status/rollups")?;
            Status {
                enabled: data["enabled"].as_bool().unwrap_or(false),
                tiers: serde_json::from_value(data["tiers"].clone()).context("tiers")?,
                raw_from: data["raw"]["from"].as_i64(),
                raw_retention: data["raw"]["retention"].as_str().map(str::to_string),
            }
        }
        (None, Some(dir)) => {
            let c = dir_config(args.target.config.as_ref(), args.target.rollups.as_ref())?;
            let store = open_store(dir, &c)?;
            status_of(&store, Some(c.retention.clone()))
        }
        (None, None) => bail!("give --url URL or --dir D"),
    };
    report::print(&report, args.json)
}

fn status_of(store: &RollupStore, retention: Option<String>) -> Status {
    let tiers = store.tier_statuses(job::wall_ms());
    Status { enabled: true, tiers, raw_from: store.coverage().raw_from, raw_retention: retention }
}

fn get_json(url: &str, path: &str) -> anyhow::Result<serde_json::Value> {
    let addr = http::host_port(url)?;
    let (code, body) = http::get(&addr, path, Duration::from_secs(600))?;
    if code != 200 {
        bail!("{url} answered {code}: {body}");
    }
    let answer: serde_json::Value = serde_json::from_str(&body).context("the answer is not JSON")?;
    Ok(answer["data"].clone())
}

// ---- query ----

/// `strata rollup query`: the plan and the result.
#[derive(Debug, Serialize)]
struct Plan {
    query: String,
    start: i64,
    end: i64,
    step: i64,
    steps: usize,
    segments: Vec<Segment>,
    points_with_rollups: u64,
    points_without_rollups: u64,
    ms_with_rollups: f64,
    ms_without_rollups: f64,
    infos: Vec<String>,
    series: Vec<SeriesSummary>,
    /// Whether both answers are the same series and points (values compared within 1e-9).
    same_answer: bool,
}

#[derive(Debug, Serialize)]
struct Segment {
    function: String,
    /// `raw` or the tier's resolution.
    tier: String,
    exact: bool,
    start: i64,
    end: i64,
    steps: usize,
    points: u64,
}

#[derive(Debug, Serialize)]
struct SeriesSummary {
    labels: String,
    points: usize,
    last: Option<(i64, f64)>,
}

impl Report for Plan {
    fn text(&self) -> String {
        let mut out = format!(
            "Query: {}\nRange: {} to {}, step {} ({} steps)\n\nPlan:\n",
            self.query,
            format_utc(self.start),
            format_utc(self.end),
            format_duration(self.step),
            self.steps
        );
        if self.segments.is_empty() {
            out.push_str("  raw samples for every step (no range function a tier answers)\n");
        } else {
            out.push_str(&format!(
                "  {:<22} {:<6} {:<21} {:<21} {:>6} {:>12}\n",
                "FUNCTION", "SOURCE", "FROM", "TO", "STEPS", "POINTS"
            ));
            for s in &self.segments {
                let source = if s.tier == "raw" {
                    "raw".to_string()
                } else {
                    format!("{}{}", s.tier, if s.exact { "" } else { "~" })
                };
                out.push_str(&format!(
                    "  {:<22} {:<6} {:<21} {:<21} {:>6} {:>12}\n",
                    s.function,
                    source,
                    format_utc(s.start),
                    format_utc(s.end),
                    s.steps,
                    format_count(s.points)
                ));
            }
        }
        let ratio = self.points_without_rollups as f64 / self.points_with_rollups.max(1) as f64;
        out.push_str(&format!(
            "\nPoints scanned: {} with rollups, {} without ({ratio:.1}x fewer)\n",
            format_count(self.points_with_rollups),
            format_count(self.points_without_rollups)
        ));
        out.push_str(&format!(
            "Time: {:.1} ms with rollups, {:.1} ms without\n",
            self.ms_with_rollups, self.ms_without_rollups
        ));
        for info in &self.infos {
            out.push_str(&format!("Note: {info}\n"));
        }
        out.push_str(&format!(
            "\nResult: {} series{}\n",
            self.series.len(),
            if self.same_answer {
                ", the same as without rollups"
            } else {
                ", DIFFERENT from the raw answer"
            }
        ));
        for s in self.series.iter().take(10) {
            let last = s.last.map_or("-".into(), |(t, v)| {
                format!("{} @ {}", strata_model::format_float(v), format_utc(t))
            });
            out.push_str(&format!("  {}  {} points, last {}\n", s.labels, s.points, last));
        }
        if self.series.len() > 10 {
            out.push_str(&format!("  … and {} more\n", self.series.len() - 10));
        }
        out
    }
}

/// One evaluation's answer, however it was obtained.
struct Answer {
    series: Vec<(String, Vec<(i64, f64)>)>,
    points: u64,
    ms: f64,
    route: Vec<Segment>,
    infos: Vec<String>,
}

fn query(args: QueryArgs) -> anyhow::Result<()> {
    let step = parse_duration_ms(&args.step)?;
    let range = parse_duration_ms(&args.range)?;
    if step <= 0 {
        bail!("--step must be longer than 0");
    }
    let end = match &args.end {
        Some(t) => strata_server::parse_time(t).map_err(anyhow::Error::msg)?,
        None => job::wall_ms(),
    };
    let end = end.div_euclid(step) * step;
    let start = end - range;
    let (with, without) = match (&args.target.url, &args.target.dir) {
        (Some(url), _) => (
            http_answer(url, &args.query, start, end, step, true)?,
            http_answer(url, &args.query, start, end, step, false)?,
        ),
        (None, Some(dir)) => {
            let c = dir_config(args.target.config.as_ref(), args.target.rollups.as_ref())?;
            let engine = open_engine(dir, &c)?;
            let store = open_store(dir, &c)?;
            // An analysis tool: no sample limit (the raw side of a year-long query reads far
            // more than a server's default 50 million).
            let q = QueryEngine::new(strata_promql::EngineOptions {
                max_samples: usize::MAX,
                timeout: Duration::from_secs(3600),
                ..Default::default()
            });
            let r = Range { start, end, step };
            let routed = WithRollups { store: &engine, rollups: &store };
            (local_answer(&q, &routed, &args.query, r)?, local_answer(&q, &engine, &args.query, r)?)
        }
        (None, None) => bail!("give --url URL or --dir D"),
    };
    let same_answer = same(&with.series, &without.series);
    let plan = Plan {
        query: args.query,
        start,
        end,
        step,
        steps: ((end - start) / step + 1) as usize,
        segments: with.route,
        points_with_rollups: with.points,
        points_without_rollups: without.points,
        ms_with_rollups: with.ms,
        ms_without_rollups: without.ms,
        infos: with.infos,
        series: with
            .series
            .iter()
            .map(|(l, p)| SeriesSummary { labels: l.clone(), points: p.len(), last: p.last().copied() })
            .collect(),
        same_answer,
    };
    report::print(&plan, args.json)
}

fn same(a: &[(String, Vec<(i64, f64)>)], b: &[(String, Vec<(i64, f64)>)]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|((la, pa), (lb, pb))| {
            la == lb
                && pa.len() == pb.len()
                && pa.iter().zip(pb).all(|(x, y)| {
                    x.0 == y.0
                        && (x.1 == y.1
                            || (x.1.is_nan() && y.1.is_nan())
                            || (x.1 - y.1).abs() <= 1e-9 * x.1.abs().max(1.0))
                })
        })
}

fn local_answer(
    q: &QueryEngine,
    store: &dyn strata_promql::Queryable,
    text: &str,
    r: Range,
) -> anyhow::Result<Answer> {
    let started = Instant::now();
    let result = q.range(store, text, r).map_err(|e| anyhow::anyhow!("{e}"))?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let series = match &result.value {
        Value::Matrix(m) => m.iter().map(|s| (labels_text(&s.labels), s.points.clone())).collect(),
        _ => Vec::new(),
    };
    let route = result
        .route
        .iter()
        .map(|s| Segment {
            function: s.function.clone(),
            tier: s.resolution.map_or("raw".into(), format_duration),
            exact: s.exact,
            start: s.start,
            end: s.end,
            steps: s.steps,
            points: s.points as u64,
        })
        .collect();
    Ok(Answer { series, points: result.samples_loaded as u64, ms, route, infos: result.infos })
}

fn labels_text(labels: &strata_model::Labels) -> String {
    let pairs: Vec<String> = labels.iter().map(|l| format!("{}={:?}", l.name, l.value)).collect();
    format!("{{{}}}", pairs.join(", "))
}

fn http_answer(
    url: &str,
    text: &str,
    start: i64,
    end: i64,
    step: i64,
    rollups: bool,
) -> anyhow::Result<Answer> {
    let path = format!(
        "/api/v1/query_range?query={}&start={}&end={}&step={}&stats=all&rollups={}",
        http::encode_component(text),
        start as f64 / 1000.0,
        end as f64 / 1000.0,
        step as f64 / 1000.0,
        if rollups { "on" } else { "off" }
    );
    let started = Instant::now();
    let addr = http::host_port(url)?;
    let (code, body) = http::get(&addr, &path, Duration::from_secs(600))?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if code != 200 {
        bail!("{url} answered {code}: {body}");
    }
    let answer: serde_json::Value = serde_json::from_str(&body).context("the answer is not JSON")?;
    let data = &answer["data"];
    let mut series = Vec::new();
    for s in data["result"].as_array().into_iter().flatten() {
        let mut labels = strata_model::Labels::empty();
        for (k, v) in s["metric"].as_object().into_iter().flatten() {
            labels.set(k, v.as_str().unwrap_or(""));
        }
        let points = s["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| {
                let t = (p[0].as_f64()? * 1000.0).round() as i64;
                Some((t, p[1].as_str()?.parse::<f64>().ok()?))
            })
            .collect();
        series.push((labels_text(&labels), points));
    }
    let route = data["stats"]["rollups"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| Segment {
            function: s["function"].as_str().unwrap_or("").into(),
            tier: s["tier"].as_str().unwrap_or("raw").into(),
            exact: s["exact"].as_bool().unwrap_or(true),
            start: (s["start"].as_f64().unwrap_or(0.0) * 1000.0).round() as i64,
            end: (s["end"].as_f64().unwrap_or(0.0) * 1000.0).round() as i64,
            steps: s["steps"].as_u64().unwrap_or(0) as usize,
            points: s["points"].as_u64().unwrap_or(0),
        })
        .collect();
    let infos = answer["infos"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i.as_str().map(str::to_string))
        .collect();
    let points = data["stats"]["samples"]["totalQueryableSamples"].as_u64().unwrap_or(0);
    Ok(Answer { series, points, ms, route, infos })
}

// ---- run ----

/// `strata rollup run`.
#[derive(Debug, Serialize)]
struct RunReport {
    spans: u64,
    windows: u64,
    inputs: u64,
    bytes: u64,
    seconds: f64,
    status: Status,
}

impl Report for RunReport {
    fn text(&self) -> String {
        format!(
            "Rolled up {} spans: {} windows from {} inputs, {} written in {:.1} s\n\n{}",
            self.spans,
            format_count(self.windows),
            format_count(self.inputs),
            format_bytes(self.bytes as f64),
            self.seconds,
            self.status.text()
        )
    }
}

fn backfill(args: RunArgs) -> anyhow::Result<()> {
    let c = dir_config(args.config.as_ref(), args.rollups.as_ref())?;
    let engine = open_engine(&args.dir, &c)?;
    let store = open_store(&args.dir, &c)?;
    let bar = if args.json { indicatif::ProgressBar::hidden() } else { indicatif::ProgressBar::new(0) };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{prefix:>4} {bar:40} {pos}/{len} spans {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut tier = usize::MAX;
    let report = job::run(&engine, &store, None, &mut |done| {
        if done.tier != tier {
            tier = done.tier;
            bar.set_position(0);
            bar.set_length(done.remaining + 1);
            bar.set_prefix(format_duration(done.resolution));
        }
        bar.inc(1);
        bar.set_message(format!("to {}", format_utc(done.end)));
    })?;
    bar.finish_and_clear();
    let out = RunReport {
        spans: report.spans,
        windows: report.windows,
        inputs: report.inputs,
        bytes: report.bytes,
        seconds: report.micros as f64 / 1e6,
        status: status_of(&store, Some(c.retention.clone())),
    };
    report::print(&out, args.json)
}
