//! `/api/v1/cardinality`: the cardinality report (`strata_cardinality::report`) as JSON —
//! `topN` contributors (default 10; any number, up to every metric), the labels of those
//! metrics with 1,000 or more unique values (exact, from the head's index; the tracker says
//! which churn), the limits, the hourly series history (`growth`), and with `days` a forecast.

use std::collections::HashSet;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use strata_cardinality::report::{build, LimitReport, ReportInput};
use strata_model::Matcher;

use crate::api_error::{json_response, ApiError};
use crate::cardinality_explorer::census_of;
use crate::json;
use crate::query_api::request_params;
use crate::state::{now_ms, Shared};

pub(crate) async fn report(State(state): State<Shared>, request: Request) -> Response {
    let params = match request_params(request, state.config.max_body_bytes).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let number = |name: &str, default: u64| -> Result<u64, ApiError> {
        params.get(name).map_or(Ok(default), |v| v.parse().map_err(|e| ApiError::bad_param(name, e)))
    };
    let (top, days) = match (number("topN", 10), number("days", 0)) {
        (Ok(t), Ok(d)) => (t.max(1) as usize, d as u32),
        (Err(e), _) | (_, Err(e)) => return e.into_response(),
    };
    let built = tokio::task::spawn_blocking(move || {
        let history = state.tracker.history();
        let report = build(&input(&state, top, days, &history)?, top);
        with_growth(&report, &history)
    })
    .await;
    match built {
        Ok(Err(e)) => e.into_response(),
        Ok(Ok(data)) => json_response(StatusCode::OK, json::success(&data.to_string(), &[], &[])),
        Err(e) => ApiError::internal(e.to_string()).into_response(),
    }
}

/// The report with the tracker's hourly history under `growth` (what the web UI charts).
fn with_growth(
    report: &strata_cardinality::report::Report,
    history: &[strata_cardinality::GrowthPoint],
) -> Result<serde_json::Value, ApiError> {
    let mut data = serde_json::to_value(report).map_err(|e| ApiError::internal(e.to_string()))?;
    data["growth"] = serde_json::to_value(history).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(data)
}

/// The report's input: exact counts from the head's index (counted from its postings, within
/// the explorer memory budget), the tracker's history and churn, the limits' state.
fn input(
    state: &Shared,
    top: usize,
    days: u32,
    history: &[strata_cardinality::GrowthPoint],
) -> Result<ReportInput, ApiError> {
    let index = state.backend.index();
    let every_metric = census_of(state, None, usize::MAX, 0, vec!["__name__".into()])?;
    let metrics: Vec<(String, u64)> =
        every_metric.top_values.into_iter().flat_map(|(_, values)| values).collect();
    let ephemeral: HashSet<(String, String)> = state
        .tracker
        .labels(usize::MAX)
        .into_iter()
        .filter(|l| l.ephemeral)
        .map(|l| (l.metric, l.label))
        .collect();
    let mut labels = Vec::new();
    for (metric, _) in metrics.iter().take(top) {
        let selection = index.select(&[Matcher::equal("__name__", metric.as_str())]);
        for name in census_of(state, Some(selection), 0, 0, Vec::new())?.names {
            if name.name != "__name__" {
                let churns = ephemeral.contains(&(metric.clone(), name.name.clone()));
                labels.push((metric.clone(), name.name, name.values, churns));
            }
        }
    }
    let limits = state.limiter.states().into_iter().map(limit_report).collect();
    let day: Vec<_> = history.iter().rev().take(24).collect();
    let growth_per_hour = if day.is_empty() {
        0.0
    } else {
        day.iter().map(|p| p.created as f64).sum::<f64>() / day.len() as f64
    };
    let memory = state.backend.memory();
    Ok(ReportInput {
        now: now_ms(),
        total_series: memory.series,
        metrics,
        labels,
        top_writers: state.tracker.write_rates().top_metrics(top),
        busiest_series: state.tracker.write_rates().top_series(top),
        limits,
        growth_per_hour,
        forecast: (days > 0).then(|| strata_cardinality::forecast(history, days)).flatten(),
        bytes_per_series: if memory.series > 0 { memory.bytes as f64 / memory.series as f64 } else { 0.0 },
        memory_budget: state.config.cardinality_memory_budget,
    })
}

fn limit_report(l: strata_cardinality::LimitState) -> LimitReport {
    let state = if l.current >= l.max {
        "reached"
    } else if l.current as f64 >= 0.9 * l.max as f64 {
        "near"
    } else {
        "ok"
    };
    LimitReport {
        state: state.into(),
        limit: l.limit,
        max: l.max,
        current: l.current,
        rejected_last_hour: l.rejected_last_hour,
        rejected_total: l.rejected_total,
    }
}
