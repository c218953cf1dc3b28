//! `/api/v1/cardinality`: the cardinality report (`strata_cardinality::report`) as JSON —
//! `topN` contributors (default 10; any number, up to every metric), the labels of those
//! metrics with 1,000 or more unique values (exact, from the head's index; the tracker says
//! which churn), the limits, and with `days` a forecast.

use std::collections::HashSet;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use strata_cardinality::report::{build, LimitReport, ReportInput};
use strata_model::Matcher;

use crate::api_error::{json_response, ApiError};
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
    let built = tokio::task::spawn_blocking(move || build(&input(&state, top, days), top)).await;
    match built {
        Ok(report) => match serde_json::to_string(&report) {
            Ok(data) => json_response(StatusCode::OK, json::success(&data, &[], &[])),
            Err(e) => ApiError::internal(e.to_string()).into_response(),
        },
        Err(e) => ApiError::internal(e.to_string()).into_response(),
    }
}

/// The report's input: exact counts from the head's index, the tracker's history and churn,
/// the limits' state.
fn input(state: &Shared, top: usize, days: u32) -> ReportInput {
    let head = state.engine.head();
    let index = head.index();
    let metrics: Vec<(String, u64)> = index
        .top_label_values(usize::MAX)
        .into_iter()
        .filter(|p| p.name == "__name__")
        .map(|p| (p.value, p.series))
        .collect();
    let mut largest = metrics.clone();
    largest.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let ephemeral: HashSet<(String, String)> = state
        .tracker
        .labels(usize::MAX)
        .into_iter()
        .filter(|l| l.ephemeral)
        .map(|l| (l.metric, l.label))
        .collect();
    let mut labels = Vec::new();
    for (metric, _) in largest.iter().take(top) {
        let m = [Matcher::equal("__name__", metric.as_str())];
        for name in index.label_names(&m).into_iter().filter(|n| n != "__name__") {
            let values = index.label_values(&name, &m).len() as u64;
            let churns = ephemeral.contains(&(metric.clone(), name.clone()));
            labels.push((metric.clone(), name, values, churns));
        }
    }
    let limits = state.limiter.states().into_iter().map(limit_report).collect();
    let history = state.tracker.history();
    let day: Vec<_> = history.iter().rev().take(24).collect();
    let growth_per_hour = if day.is_empty() {
        0.0
    } else {
        day.iter().map(|p| p.created as f64).sum::<f64>() / day.len() as f64
    };
    let stats = head.stats();
    let memory = stats.chunk_bytes + stats.index_bytes;
    ReportInput {
        now: now_ms(),
        total_series: stats.series,
        metrics,
        labels,
        limits,
        growth_per_hour,
        forecast: (days > 0).then(|| strata_cardinality::forecast(&history, days)).flatten(),
        bytes_per_series: if stats.series > 0 { memory as f64 / stats.series as f64 } else { 0.0 },
        memory_budget: state.config.cardinality_memory_budget,
    }
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
