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
use strata_rollup::format_duration;

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
    let now = now_ms();
    let bytes = store.disk_bytes();
    let segments = store.segment_counts();
    let run = rollups.stats.tiers.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let coverage = store.coverage();
    let tiers: Vec<_> = store
        .tiers()
        .list()
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let s = store.tier_state(i);
            let r = run.get(i).copied().unwrap_or_default();
            json!({
                "resolution": t.name(),
                "keep": t.keep.map_or("forever".to_string(), format_duration),
                "span": format_duration(t.span),
                "from": s.from,
                "watermark": s.watermark,
                "last_run": s.last_run,
                "lag_seconds": s.watermark.map(|w| (now - w) as f64 / 1000.0),
                "segments": segments[i],
                "bytes": bytes[i],
                "spans_written": r.spans,
                "windows_written": r.windows,
                "backlog_spans": r.backlog,
            })
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
    type Read = Box<dyn Fn(usize) -> Option<f64>>;
    let states: Vec<_> = (0..store.tiers().list().len()).map(|i| store.tier_state(i)).collect();
    let (s1, s2, r1, r2, r3, r4) = (states.clone(), states, run.clone(), run.clone(), run.clone(), run);
    let rows: Vec<(&str, &str, &str, Read)> = vec![
        (
            "strata_rollup_watermark_seconds",
            "gauge",
            "Windows ending at or before this time are rolled up, per tier.",
            Box::new(move |i| s1[i].watermark.map(|w| w as f64 / 1000.0)),
        ),
        (
            "strata_rollup_lag_seconds",
            "gauge",
            "How far a tier's watermark is behind the wall clock.",
            Box::new(move |i| s2[i].watermark.map(|w| (now - w) as f64 / 1000.0)),
        ),
        (
            "strata_rollup_spans_total",
            "counter",
            "Spans rolled up since start.",
            Box::new(move |i| Some(r1.get(i).map_or(0, |r| r.spans) as f64)),
        ),
        (
            "strata_rollup_windows_total",
            "counter",
            "Windows written since start.",
            Box::new(move |i| Some(r2.get(i).map_or(0, |r| r.windows) as f64)),
        ),
        (
            "strata_rollup_inputs_total",
            "counter",
            "Raw samples (finest tier) or finer windows read since start.",
            Box::new(move |i| Some(r3.get(i).map_or(0, |r| r.inputs) as f64)),
        ),
        (
            "strata_rollup_backlog_spans",
            "gauge",
            "Spans due that the job has not rolled up yet (its progress).",
            Box::new(move |i| Some(r4.get(i).map_or(0, |r| r.backlog) as f64)),
        ),
        (
            "strata_rollup_bytes",
            "gauge",
            "Bytes of a tier's segment files.",
            Box::new(move |i| Some(bytes[i] as f64)),
        ),
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
