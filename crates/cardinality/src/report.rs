//! The cardinality report: total series and growth, the top contributors with their share,
//! each high-cardinality label with its unique-value count, a level (WARNING from 1,000
//! values of one label on one metric, CRITICAL from 10,000) and advice, the limits with
//! their state and what they refused in the last hour, and the forecast. Built from exact
//! counts (the head's index) and the tracker's history; printed by `text`.

use std::fmt::Write;

use serde::{Deserialize, Serialize};
use strata_model::size::{format_bytes as bytes, format_count as count};

use crate::forecast::Forecast;
use crate::write_rate::{WriteRate, WINDOW_MS};

/// Unique values of one label on one metric from which it is reported.
pub const WARNING_VALUES: u64 = 1_000;
pub const CRITICAL_VALUES: u64 = 10_000;

/// The report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// When it was made (ms).
    pub generated_at: i64,
    pub total_series: u64,
    /// New series per hour over the last 24 hours of history.
    pub growth_per_hour: f64,
    pub top: Vec<Contributor>,
    /// Metrics by samples written per second (sampled; see `write_rate`).
    #[serde(default)]
    pub top_writers: Vec<WriteRate>,
    /// Series by samples written per second.
    #[serde(default)]
    pub busiest_series: Vec<WriteRate>,
    pub labels: Vec<LabelAdvice>,
    pub limits: Vec<LimitReport>,
    pub forecast: Option<ForecastReport>,
}

/// A metric and its share of all series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contributor {
    pub metric: String,
    pub series: u64,
    /// Percent of all series.
    pub share: f64,
}

/// A label worth a look.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelAdvice {
    pub level: String,
    pub metric: String,
    pub label: String,
    pub unique_values: u64,
    /// Values seen once and never again (ids), as the tracker tells.
    pub ephemeral: bool,
    pub recommendation: String,
}

/// A limit's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimitReport {
    pub limit: String,
    pub max: u64,
    pub current: u64,
    /// `ok`, `near` (90% or more) or `reached`.
    pub state: String,
    pub rejected_last_hour: u64,
    pub rejected_total: u64,
}

/// The forecast as reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastReport {
    pub days: u32,
    pub method: String,
    pub series: u64,
    pub low: u64,
    pub high: u64,
    pub per_day: f64,
    pub points: usize,
    /// Limits (or the memory budget) the forecast crosses.
    pub warnings: Vec<String>,
}

/// What the report is made from.
#[derive(Debug, Clone, Default)]
pub struct ReportInput {
    pub now: i64,
    pub total_series: u64,
    /// Series per metric (exact), any order.
    pub metrics: Vec<(String, u64)>,
    /// Unique values per metric × label (exact), with the tracker's ephemeral flag.
    pub labels: Vec<(String, String, u64, bool)>,
    /// Metrics and series by write rate, most first.
    pub top_writers: Vec<WriteRate>,
    pub busiest_series: Vec<WriteRate>,
    pub limits: Vec<LimitReport>,
    /// New series per hour over the last 24 hours.
    pub growth_per_hour: f64,
    pub forecast: Option<Forecast>,
    /// Bytes a head series takes now, and the budget for all (for the forecast's warning).
    pub bytes_per_series: f64,
    pub memory_budget: Option<u64>,
}

/// Builds the report, the `top` largest metrics first.
pub fn build(input: &ReportInput, top: usize) -> Report {
    let mut metrics = input.metrics.clone();
    metrics.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let total = input.total_series.max(1) as f64;
    let top_list = metrics
        .iter()
        .take(top)
        .map(|(m, n)| Contributor {
            metric: m.clone(),
            series: *n,
            share: (*n as f64 * 1000.0 / total).round() / 10.0,
        })
        .collect();
    let mut labels: Vec<LabelAdvice> = input
        .labels
        .iter()
        .filter(|(_, _, n, _)| *n >= WARNING_VALUES)
        .map(|(metric, label, n, ephemeral)| LabelAdvice {
            level: if *n >= CRITICAL_VALUES { "CRITICAL" } else { "WARNING" }.into(),
            metric: metric.clone(),
            label: label.clone(),
            unique_values: *n,
            ephemeral: *ephemeral,
            recommendation: recommend(label, *ephemeral),
        })
        .collect();
    labels.sort_by(|a, b| {
        b.unique_values.cmp(&a.unique_values).then_with(|| (&a.metric, &a.label).cmp(&(&b.metric, &b.label)))
    });
    let forecast = input.forecast.as_ref().map(|f| forecast_report(f, input));
    Report {
        generated_at: input.now,
        total_series: input.total_series,
        growth_per_hour: input.growth_per_hour,
        top: top_list,
        top_writers: input.top_writers.iter().take(top).cloned().collect(),
        busiest_series: input.busiest_series.iter().take(top).cloned().collect(),
        labels,
        limits: input.limits.clone(),
        forecast,
    }
}

fn forecast_report(f: &Forecast, input: &ReportInput) -> ForecastReport {
    let mut warnings = Vec::new();
    for l in &input.limits {
        if l.limit == "max-series" && f.series >= l.max as f64 {
            warnings.push(format!("crosses the max-series limit of {} in {} days", count(l.max), f.days));
        }
    }
    if let Some(budget) = input.memory_budget {
        let need = f.series * input.bytes_per_series;
        if need > budget as f64 {
            warnings.push(format!(
                "needs about {} of head memory, over the budget of {}",
                bytes(need),
                bytes(budget as f64)
            ));
        }
    }
    ForecastReport {
        days: f.days,
        method: f.method.to_string(),
        series: f.series.round() as u64,
        low: f.low.round() as u64,
        high: f.high.round() as u64,
        per_day: f.per_day,
        points: f.points,
        warnings,
    }
}

/// Advice for a label by what its name and churn say it holds.
pub fn recommend(label: &str, ephemeral: bool) -> String {
    let l = label.to_ascii_lowercase();
    let has = |words: &[&str]| l.split(['_', '-', '.']).any(|part| words.contains(&part));
    if has(&["id", "uuid", "guid", "session", "trace", "span", "request", "user", "email", "token"]) {
        "drop it: ids belong in logs or exemplars, not in series".into()
    } else if has(&["pod", "container"]) {
        "churns with every deploy: aggregate it away in a recording rule, or use a stable label (the deployment) instead".into()
    } else if has(&["path", "url", "uri", "route", "endpoint", "query"]) {
        "bucket it: record the route template (/users/:id), not the path".into()
    } else if l == "le" || l == "quantile" {
        "use fewer buckets, or a native histogram".into()
    } else if ephemeral {
        "drop it, or keep it as an exemplar: its values are seen once".into()
    } else {
        "aggregate it away in a recording rule, or bucket its values".into()
    }
}

/// The report as text.
pub fn text(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Cardinality report ({})", crate_time(r.generated_at));
    let _ = writeln!(out, "Total series: {}", count(r.total_series));
    let _ = writeln!(out, "Growth rate:  {:+.1} series/hour (last 24 h)", r.growth_per_hour);
    let _ = writeln!(out, "\nTop contributors:");
    for (i, c) in r.top.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {:>2}. {:<48} {:>12} series  {:>5.1}%",
            i + 1,
            c.metric,
            count(c.series),
            c.share
        );
    }
    writers(&mut out, r);
    let _ = writeln!(out, "\nLabels:");
    if r.labels.is_empty() {
        let _ = writeln!(out, "  no label has {} or more unique values on one metric", count(WARNING_VALUES));
    }
    for l in &r.labels {
        let churn = if l.ephemeral { ", values seen once" } else { "" };
        let _ = writeln!(
            out,
            "  {:<8} {}{{{}}}: {} unique values{churn}\n           -> {}",
            l.level,
            l.metric,
            l.label,
            count(l.unique_values),
            l.recommendation
        );
    }
    let _ = writeln!(out, "\nLimits:");
    if r.limits.is_empty() {
        let _ = writeln!(out, "  none set (--max-series, series-limits)");
    }
    for l in &r.limits {
        let _ = writeln!(
            out,
            "  {:<32} {:>12} / {:<12} {:<8} refused in the last hour: {} (in all: {})",
            l.limit,
            count(l.current),
            count(l.max),
            l.state,
            count(l.rejected_last_hour),
            count(l.rejected_total)
        );
    }
    if let Some(f) = &r.forecast {
        let _ =
            writeln!(out, "\nForecast ({} days, {} fit over {} hourly points):", f.days, f.method, f.points);
        let _ = writeln!(
            out,
            "  {} series (95% interval {} to {}), growing {:+.0} series/day",
            count(f.series),
            count(f.low),
            count(f.high),
            f.per_day
        );
        for w in &f.warnings {
            let _ = writeln!(out, "  WARNING: {w}");
        }
    }
    out
}

/// The write-rate sections.
fn writers(out: &mut String, r: &Report) {
    let _ = writeln!(out, "\nTop writers (samples/s over the last {} min, sampled):", WINDOW_MS / 60_000);
    if r.top_writers.is_empty() {
        let _ = writeln!(out, "  nothing written yet");
    }
    for (i, w) in r.top_writers.iter().enumerate() {
        let _ = writeln!(out, "  {:>2}. {:<48} {:>12} samples/s", i + 1, w.key, rate(w.samples_per_second));
    }
    if !r.busiest_series.is_empty() {
        let _ = writeln!(out, "  busiest series:");
    }
    for w in &r.busiest_series {
        let _ = writeln!(out, "      {} {} samples/s", w.key, rate(w.samples_per_second));
    }
}

/// A rate with thousands separated, one decimal.
fn rate(v: f64) -> String {
    let tenths = (v * 10.0).round().max(0.0) as u64;
    format!("{}.{}", count(tenths / 10), tenths % 10)
}

fn crate_time(ms: i64) -> String {
    strata_model::calendar::format_utc(ms)
}
