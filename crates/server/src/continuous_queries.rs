//! The server's continuous-query service: once a second (InfluxDB's `run-interval`) the
//! scheduler of `strata_influxql::continuous` runs the queries that are due, on a blocking
//! thread, over the whole store's catalog (tenants' catalogs hold no continuous queries that
//! run: documented in docs/influxql.md). Each run is logged and counted for `/metrics`.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use strata_influxql::continuous::{Ran, Scheduler};
use strata_influxql::Store;

use crate::state::{now_ns, Shared};

/// The scheduler and what it has done since the server started.
#[derive(Debug, Default)]
pub(crate) struct ContinuousQueries {
    scheduler: Scheduler,
    runs_ok: AtomicU64,
    runs_failed: AtomicU64,
    points_written: AtomicU64,
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
                tracing::warn!(database = %ran.database, name = %ran.name, error = %e, "continuous query failed");
            }
        }
    }

    /// Runs that wrote, runs that failed, points written.
    pub(crate) fn figures(&self) -> (u64, u64, u64) {
        (self.runs_ok.load(Relaxed), self.runs_failed.load(Relaxed), self.points_written.load(Relaxed))
    }

    /// The `/metrics` lines.
    pub(crate) fn render_metrics(&self, out: &mut String) {
        let (ok, failed, points) = self.figures();
        let runs = "strata_influxql_continuous_query_runs_total";
        crate::metrics::header(out, runs, "counter", "InfluxQL continuous query runs, by outcome.");
        let _ = writeln!(out, "{runs}{{outcome=\"ok\"}} {ok}\n{runs}{{outcome=\"error\"}} {failed}");
        crate::metrics::counter(
            out,
            "strata_influxql_continuous_query_points_written_total",
            "Points continuous queries wrote.",
            points,
        );
    }
}

/// Runs the due queries every second until the task is aborted (at stop).
pub(crate) async fn run(state: Shared) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if !state.influx_catalog.has_continuous_queries() {
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
    for ran in state.continuous_queries.scheduler.run_due(&store, now_ns()) {
        state.continuous_queries.record(&ran);
    }
}
