//! The server's continuous-query service: once a second (InfluxDB's `run-interval`) the
//! scheduler of `strata_influxql::continuous` runs the queries that are due, on a blocking
//! thread, over the whole store's catalog (tenants' catalogs hold no continuous queries that
//! run: documented in docs/influxql.md). Each run is logged and counted for `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

use strata_influxql::continuous::{Ran, Scheduler};
use strata_influxql::Store;

use crate::state::Shared;

/// The scheduler and what it has done since the server started.
#[derive(Debug, Default)]
pub(crate) struct ContinuousQueries {
    scheduler: Scheduler,
    runs_ok: AtomicU64,
    runs_failed: AtomicU64,
    points_written: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl ContinuousQueries {
    fn record(&self, ran: &Ran) {
        match &ran.outcome {
            Ok(points) => {
                self.runs_ok.fetch_add(1, Relaxed);
                self.points_written.fetch_add(u64::try_from(*points).unwrap_or(0), Relaxed);
                tracing::info!(database = %ran.database, name = %ran.name, start = ran.start, end = ran.end, points, "continuous query ran");
            }
            Err(e) => {
                self.runs_failed.fetch_add(1, Relaxed);
                let message = format!("{}.{}: {e}", ran.database, ran.name);
                tracing::warn!(error = %message, "continuous query failed");
                *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(message);
            }
        }
    }

    /// Runs that wrote, runs that failed, points written.
    pub(crate) fn figures(&self) -> (u64, u64, u64) {
        (self.runs_ok.load(Relaxed), self.runs_failed.load(Relaxed), self.points_written.load(Relaxed))
    }

    /// The `/metrics` lines.
    pub(crate) fn render_metrics(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(
            out,
            "# HELP strata_influxql_continuous_query_runs_total InfluxQL continuous query runs, by outcome."
        );
        let _ = writeln!(out, "# TYPE strata_influxql_continuous_query_runs_total counter");
        let _ = writeln!(
            out,
            "strata_influxql_continuous_query_runs_total{{outcome=\"ok\"}} {}",
            self.runs_ok.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "strata_influxql_continuous_query_runs_total{{outcome=\"error\"}} {}",
            self.runs_failed.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP strata_influxql_continuous_query_points_written_total Points continuous queries wrote."
        );
        let _ = writeln!(out, "# TYPE strata_influxql_continuous_query_points_written_total counter");
        let _ = writeln!(
            out,
            "strata_influxql_continuous_query_points_written_total {}",
            self.points_written.load(Relaxed)
        );
    }
}

/// Runs the due queries every second until the task is aborted (at stop).
pub(crate) async fn run(state: Shared) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if state.influx_catalog.continuous_queries().iter().all(|(_, queries)| queries.is_empty()) {
            continue;
        }
        let state = state.clone();
        let _ = tokio::task::spawn_blocking(move || run_due(&state)).await;
    }
}

fn run_due(state: &Shared) {
    let store = Store {
        engine: state.backend.engine(),
        catalog: &state.influx_catalog,
        prometheus_database: &state.config.influxql_prometheus_database,
        stats: None,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    for ran in state.continuous_queries.scheduler.run_due(&store, now) {
        state.continuous_queries.record(&ran);
    }
}
