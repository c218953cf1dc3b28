//! `/api/v1/status/rollups` (Strata's own): the tiers, their retention, how far each is
//! rolled up (`watermark`), its lag behind the wall clock, the last run, segments and bytes
//! on disk, and the job's figures — what `strata rollup status --url` prints; and the
//! rollup lines of `/metrics`.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::api_error::json_response;
use crate::state::{now_ms, Shared};

/// `/api/v1/status/rollups`.
pub(crate) async fn status(State(state): State<Shared>) -> Response {
    let Some(rollups) = &state.rollups else {
        return json_response(
            StatusCode::OK,
            json!({"status": "success", "data": {"enabled": false, "tiers": []}}).to_string(),
        );
    };
    let store = &rollups.store;
    let run = rollups.stats.tiers.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let coverage = store.coverage();
    let tiers: Vec<_> = store
        .tier_statuses(now_ms())
        .into_iter()
        .enumerate()
        .map(|(i, status)| {
            let r = run.get(i).copied().unwrap_or_default();
            let mut row = serde_json::to_value(status).unwrap_or_default();
            row["spans_written"] = r.spans.into();
            row["windows_written"] = r.windows.into();
            row["backlog_spans"] = r.backlog.into();
            row
        })
        .collect();
    let last_error = rollups.stats.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let body = json!({
        "status": "success",
        "data": {
            "enabled": true,
            "tiers": tiers,
            "raw": {"from": coverage.raw_from, "expired_before": coverage.raw_expired_before, "retention": state.config.retention},
            "job": {
                "runs": rollups.stats.runs.load(Ordering::Relaxed),
                "errors": rollups.stats.errors.load(Ordering::Relaxed),
                "last_error": last_error,
                "interval": state.config.rollup_interval,
            },
        },
    });
    json_response(StatusCode::OK, body.to_string())
}

/// `strata_rollup_*` lines of `/metrics`.
pub(crate) fn render_metrics(state: &Shared, out: &mut String) {
    let Some(rollups) = &state.rollups else { return };
    let store = &rollups.store;
    let now = now_ms();
    let run = rollups.stats.tiers.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let bytes = store.disk_bytes();
    let states: Vec<_> = (0..store.tiers().list().len()).map(|i| store.tier_state(i)).collect();
    let ran = |i: usize| run.get(i).copied().unwrap_or_default();
    type Read<'a> = &'a dyn Fn(usize) -> Option<f64>;
    let rows: [(&str, &str, &str, Read<'_>); 7] = [
        (
            "strata_rollup_watermark_seconds",
            "gauge",
            "Windows ending at or before this time are rolled up, per tier.",
            &|i| states[i].watermark.map(|w| w as f64 / 1000.0),
        ),
        (
            "strata_rollup_lag_seconds",
            "gauge",
            "How far a tier's watermark is behind the wall clock.",
            &|i| states[i].watermark.map(|w| (now - w) as f64 / 1000.0),
        ),
        ("strata_rollup_spans_total", "counter", "Spans rolled up since start.", &|i| {
            Some(ran(i).spans as f64)
        }),
        ("strata_rollup_windows_total", "counter", "Windows written since start.", &|i| {
            Some(ran(i).windows as f64)
        }),
        (
            "strata_rollup_inputs_total",
            "counter",
            "Raw samples (finest tier) or finer windows read since start.",
            &|i| Some(ran(i).inputs as f64),
        ),
        (
            "strata_rollup_backlog_spans",
            "gauge",
            "Spans due that the job has not rolled up yet (its progress).",
            &|i| Some(ran(i).backlog as f64),
        ),
        ("strata_rollup_bytes", "gauge", "Bytes of a tier's segment files.", &|i| Some(bytes[i] as f64)),
    ];
    for (name, kind, help, read) in rows {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (i, t) in store.tiers().list().iter().enumerate() {
            if let Some(v) = read(i) {
                let _ = writeln!(out, "{name}{{tier=\"{}\"}} {v}", t.name());
            }
        }
    }
    let _ = writeln!(
        out,
        "# HELP strata_rollup_errors_total Rollup job runs that failed.\n# TYPE strata_rollup_errors_total counter\nstrata_rollup_errors_total {}",
        rollups.stats.errors.load(Ordering::Relaxed)
    );
}
