//! `strata promql --dir D`: a PromQL REPL over a data dir (opened with the block engine, so
//! its WAL is replayed first; the dir is locked while the REPL runs), or `strata promql
//! --url http://host:port` against a running server — Strata's or any that speaks
//! Prometheus' HTTP API (`/api/v1/query`, `/api/v1/query_range`); then the query time is
//! the round trip.
//!
//! Each line is an expression, evaluated at the current time setting (instant) or over the
//! current range; the answer is `TYPE: …`, the result rows and `Query time: X ms`. Commands:
//! `.help`, `.at TIME` (unix seconds, or `now`), `.range START END STEP`, `.instant`,
//! `.quit`. With `--json`, each answer is one JSON object instead.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;
use strata_model::Labels;
use strata_promql::{
    format_float, EngineOptions, QueryEngine, QueryResult, Range, RangeSeries, Sample, Value,
};
use strata_storage::{BlockEngine, BlockEngineOptions};

use crate::duration::parse_duration_ms;
use crate::http;

const HELP: &str = "\
Enter a PromQL expression, or a command:
  .at TIME                 evaluate instant queries at TIME (unix seconds, or `now`)
  .range START END STEP    evaluate range queries (times as for .at, STEP like 15s)
  .instant                 back to instant queries
  .help                    this text
  .quit                    leave (also Ctrl-D)";

#[derive(Debug, clap::Args)]
pub(crate) struct ReplArgs {
    /// The data dir to query.
    #[arg(long, conflicts_with = "url")]
    dir: Option<PathBuf>,
    /// Query a running server instead (http://host:port, Prometheus' HTTP API).
    #[arg(long)]
    url: Option<String>,
    /// Evaluation time to start with (unix seconds, or `now`).
    #[arg(long, default_value = "now")]
    at: String,
    /// Answer each expression with one JSON object per line.
    #[arg(long)]
    json: bool,
    /// With --dir: allow Prometheus' experimental functions and modifiers (`info`, `limitk`,
    /// `sort_by_label`, `fill`, …), duration arithmetic (`[5m+30s]`) and the `anchored` and
    /// `smoothed` modifiers, as its promql-experimental-functions, promql-duration-expr and
    /// promql-extended-range-selectors features do.
    #[arg(long, conflicts_with = "url")]
    experimental: bool,
}

/// When expressions are evaluated.
#[derive(Debug, Clone, Copy)]
enum Mode {
    Instant(i64),
    Range(Range),
}

/// Where queries are answered.
#[derive(Debug)]
enum Backend {
    /// In this process, over a data dir.
    Local { engine: QueryEngine, store: Box<BlockEngine> },
    /// By a server at `addr` (`host:port`).
    Remote { addr: String },
}

impl Backend {
    fn open(args: &ReplArgs) -> anyhow::Result<(Backend, String)> {
        if let Some(url) = &args.url {
            let addr = http::host_port(url).context("--url")?;
            return Ok((Backend::Remote { addr }, url.clone()));
        }
        let dir = args
            .dir
            .as_ref()
            .context("--dir DIR or --url URL is required (or use `strata promql test PATH…`)")?;
        let store = BlockEngine::open(dir, BlockEngineOptions::default())
            .with_context(|| format!("opening data dir {}", dir.display()))?;
        let engine = QueryEngine::new(EngineOptions {
            experimental_functions: args.experimental,
            duration_expressions: args.experimental,
            extended_range_selectors: args.experimental,
            ..EngineOptions::default()
        });
        Ok((Backend::Local { engine, store: Box::new(store) }, dir.display().to_string()))
    }

    fn query(&self, query: &str, mode: Mode) -> Result<QueryResult, Failure> {
        match self {
            Backend::Local { engine, store } => match mode {
                Mode::Instant(t) => engine.instant(store.as_ref(), query, t),
                Mode::Range(r) => engine.range(store.as_ref(), query, r),
            }
            .map_err(|e| Failure { error_type: e.error_type().to_string(), message: e.to_string() }),
            Backend::Remote { addr } => remote_query(addr, query, mode),
        }
    }
}

/// A query that failed: Prometheus' `errorType` and message.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Failure {
    error_type: String,
    message: String,
}

pub(crate) fn run(args: ReplArgs) -> anyhow::Result<std::process::ExitCode> {
    let (backend, source) = Backend::open(&args)?;
    let mut mode = Mode::Instant(parse_time(&args.at)?);
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    let mut out = std::io::stdout().lock();
    if interactive && !args.json {
        writeln!(out, "Strata PromQL over {source}. Type .help for commands.")?;
    }
    let mut lines = stdin.lock().lines();
    loop {
        if interactive {
            write!(out, "promql> ")?;
            out.flush()?;
        }
        let Some(line) = lines.next() else { break };
        let line = line?;
        let line = line.trim();
        let answer = if line.is_empty() {
            continue;
        } else if line == ".quit" || line == ".exit" {
            break;
        } else if let Some(command) = line.strip_prefix('.') {
            match set_mode(command, &mut mode) {
                Ok(message) if args.json => json!({ "ok": message }).to_string(),
                Ok(message) => message,
                Err(e) if args.json => json!({ "error": e.to_string() }).to_string(),
                Err(e) => format!("Error: {e}"),
            }
        } else {
            evaluate(&backend, line, mode, args.json)
        };
        writeln!(out, "{answer}")?;
        out.flush()?;
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// Runs a `.` command; returns what to print.
fn set_mode(command: &str, mode: &mut Mode) -> anyhow::Result<String> {
    let words: Vec<&str> = command.split_whitespace().collect();
    match words.as_slice() {
        ["help"] => Ok(HELP.to_string()),
        ["at", time] => {
            let t = parse_time(time)?;
            *mode = Mode::Instant(t);
            Ok(format!("Instant queries at {}", seconds(t)))
        }
        ["instant"] => {
            let t = match *mode {
                Mode::Instant(t) => t,
                Mode::Range(r) => r.end,
            };
            *mode = Mode::Instant(t);
            Ok(format!("Instant queries at {}", seconds(t)))
        }
        ["range", start, end, step] => {
            let range =
                Range { start: parse_time(start)?, end: parse_time(end)?, step: parse_duration_ms(step)? };
            anyhow::ensure!(range.step > 0, "the step must be positive");
            anyhow::ensure!(range.end >= range.start, "the end must not be before the start");
            *mode = Mode::Range(range);
            Ok(format!("Range queries from {} to {} every {step}", seconds(range.start), seconds(range.end)))
        }
        _ => anyhow::bail!("unknown command .{command} (try .help)"),
    }
}

fn evaluate(backend: &Backend, query: &str, mode: Mode, json: bool) -> String {
    let started = Instant::now();
    let result = backend.query(query, mode);
    let ms = started.elapsed().as_secs_f64() * 1e3;
    match result {
        Err(e) if json => {
            json!({ "status": "error", "errorType": e.error_type, "error": e.message }).to_string()
        }
        Err(e) => format!("Error ({}): {}", e.error_type, e.message),
        Ok(r) if json => json!({
            "status": "success",
            "resultType": r.value.type_name(),
            "result": value_json(&r.value),
            "warnings": r.warnings,
            "infos": r.infos,
            "elapsed_ms": ms,
        })
        .to_string(),
        Ok(r) => {
            let mut s = format!("TYPE: {}\n", type_title(&r.value, mode));
            s.push_str(&rows(&r.value));
            for w in r.warnings.iter().chain(&r.infos) {
                s.push_str(&format!("{w}\n"));
            }
            s.push_str(&format!("Query time: {ms:.3} ms"));
            s
        }
    }
}

fn type_title(value: &Value, mode: Mode) -> &'static str {
    match (value, mode) {
        (Value::Scalar { .. }, _) => "scalar",
        (Value::String { .. }, _) => "string",
        (Value::Vector(_), _) => "instant vector",
        (Value::Matrix(_), Mode::Instant(_)) => "range vector",
        (Value::Matrix(_), Mode::Range(_)) => "range vector (range query)",
    }
}

/// The result rows: `name{a="1", b="2"} value` per series, points as `value @t` for matrices.
fn rows(value: &Value) -> String {
    match value {
        Value::Scalar { v, .. } => format!("{}\n", format_float(*v)),
        Value::String { s, .. } => format!("{s:?}\n"),
        Value::Vector(samples) if samples.is_empty() => "(no series)\n".into(),
        Value::Vector(samples) => {
            samples.iter().map(|s| format!("{} {}\n", series_name(&s.labels), format_float(s.v))).collect()
        }
        Value::Matrix(series) if series.is_empty() => "(no series)\n".into(),
        Value::Matrix(series) => series
            .iter()
            .map(|s| {
                let points: Vec<String> =
                    s.points.iter().map(|(t, v)| format!("{} @{}", format_float(*v), seconds(*t))).collect();
                format!("{}\n  {}\n", series_name(&s.labels), points.join("\n  "))
            })
            .collect(),
    }
}

/// `name{a="1", b="2"}`, as Prometheus' console shows a series.
fn series_name(labels: &Labels) -> String {
    let pairs: Vec<String> =
        labels.iter().filter(|l| l.name != "__name__").map(|l| format!("{}={:?}", l.name, l.value)).collect();
    format!("{}{{{}}}", labels.metric_name().unwrap_or(""), pairs.join(", "))
}

fn value_json(value: &Value) -> serde_json::Value {
    let labels_json = |l: &Labels| -> serde_json::Value {
        l.iter().map(|l| (l.name.clone(), serde_json::Value::String(l.value.clone()))).collect()
    };
    match value {
        Value::Scalar { t, v } => json!([*t as f64 / 1000.0, format_float(*v)]),
        Value::String { t, s } => json!([*t as f64 / 1000.0, s]),
        Value::Vector(samples) => samples
            .iter()
            .map(|s| json!({ "metric": labels_json(&s.labels), "value": [s.t as f64 / 1000.0, format_float(s.v)] }))
            .collect(),
        Value::Matrix(series) => series
            .iter()
            .map(|s| {
                let values: Vec<_> =
                    s.points.iter().map(|(t, v)| json!([*t as f64 / 1000.0, format_float(*v)])).collect();
                json!({ "metric": labels_json(&s.labels), "values": values })
            })
            .collect(),
    }
}

/// Asks a server: `/api/v1/query` or `/api/v1/query_range`, answer read back from
/// Prometheus' JSON.
fn remote_query(addr: &str, query: &str, mode: Mode) -> Result<QueryResult, Failure> {
    let secs = |ms: i64| format!("{:.3}", ms as f64 / 1000.0);
    let path = match mode {
        Mode::Instant(t) => format!("/api/v1/query?query={}&time={}", http::encode_component(query), secs(t)),
        Mode::Range(r) => format!(
            "/api/v1/query_range?query={}&start={}&end={}&step={}",
            http::encode_component(query),
            secs(r.start),
            secs(r.end),
            secs(r.step)
        ),
    };
    let unreachable =
        |e: anyhow::Error| Failure { error_type: "connection".into(), message: format!("{e:#}") };
    let (status, body) = http::get(addr, &path, Duration::from_secs(300)).map_err(unreachable)?;
    let bad_answer = |what: String| Failure {
        error_type: "bad_response".into(),
        message: format!("HTTP {status} from {addr}: {what}"),
    };
    let answer: serde_json::Value =
        serde_json::from_str(&body).map_err(|e| bad_answer(format!("not JSON ({e}): {}", body.trim())))?;
    if answer["status"] != "success" {
        let text = |key: &str| answer[key].as_str().unwrap_or("").to_string();
        return Err(Failure { error_type: text("errorType"), message: text("error") });
    }
    let strings = |key: &str| -> Vec<String> {
        answer[key].as_array().into_iter().flatten().filter_map(|w| w.as_str().map(str::to_string)).collect()
    };
    let value = parse_value(&answer["data"]).map_err(bad_answer)?;
    Ok(QueryResult {
        value,
        warnings: strings("warnings"),
        infos: strings("infos"),
        samples_loaded: 0,
        route: Vec::new(),
    })
}

/// A result from Prometheus' JSON `data` (`resultType` and `result`).
fn parse_value(data: &serde_json::Value) -> Result<Value, String> {
    let point = |p: &serde_json::Value| -> Result<(i64, f64), String> {
        let t = p[0].as_f64().ok_or("a point without a time")?;
        let v = p[1].as_str().and_then(|v| v.parse::<f64>().ok()).ok_or("a point without a number")?;
        Ok(((t * 1000.0).round() as i64, v))
    };
    let labels = |m: &serde_json::Value| -> Result<Labels, String> {
        let pairs = m.as_object().ok_or("a series without labels")?.iter();
        Labels::from_pairs(pairs.map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string())))
            .map_err(|e| e.to_string())
    };
    let items = || data["result"].as_array().ok_or_else(|| "no result list".to_string());
    match data["resultType"].as_str() {
        Some("scalar") => point(&data["result"]).map(|(t, v)| Value::Scalar { t, v }),
        Some("string") => {
            let t = data["result"][0].as_f64().unwrap_or(0.0);
            let s = data["result"][1].as_str().ok_or("a string result without a string")?.to_string();
            Ok(Value::String { t: (t * 1000.0).round() as i64, s })
        }
        Some("vector") => items()?
            .iter()
            .map(|s| {
                let (t, v) = point(&s["value"])?;
                Ok(Sample { labels: labels(&s["metric"])?, t, v, h: None })
            })
            .collect::<Result<_, String>>()
            .map(Value::Vector),
        Some("matrix") => items()?
            .iter()
            .map(|s| {
                let points =
                    s["values"].as_array().into_iter().flatten().map(point).collect::<Result<_, _>>()?;
                Ok(RangeSeries { labels: labels(&s["metric"])?, points, histograms: Vec::new() })
            })
            .collect::<Result<_, String>>()
            .map(Value::Matrix),
        other => Err(format!("unknown resultType {other:?}")),
    }
}

/// Unix seconds (fractions allowed) or `now`, in ms.
fn parse_time(text: &str) -> anyhow::Result<i64> {
    if text == "now" {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
        return Ok(now.as_millis() as i64);
    }
    let secs: f64 = text.parse().with_context(|| format!("{text:?} is not a time (unix seconds, or now)"))?;
    anyhow::ensure!(secs.is_finite(), "{text:?} is not a time");
    Ok((secs * 1000.0).round() as i64)
}

fn seconds(ms: i64) -> String {
    format_float(ms as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_change_the_mode() {
        let mut mode = Mode::Instant(0);
        set_mode("range 100 200 15s", &mut mode).unwrap();
        assert!(matches!(mode, Mode::Range(Range { start: 100_000, end: 200_000, step: 15_000 })));
        set_mode("instant", &mut mode).unwrap();
        assert!(matches!(mode, Mode::Instant(200_000)));
        set_mode("at 1.5", &mut mode).unwrap();
        assert!(matches!(mode, Mode::Instant(1500)));
        assert!(set_mode("range 200 100 1s", &mut mode).is_err());
        assert!(set_mode("bogus", &mut mode).is_err());
    }

    #[test]
    fn series_print_with_their_name_outside_the_braces() {
        let l = Labels::from_pairs([("__name__", "up"), ("job", "a"), ("instance", "b")]).unwrap();
        assert_eq!(series_name(&l), r#"up{instance="b", job="a"}"#);
    }
}
