//! The server's side of re-replication (`strata_cluster::repair`): the node's stored series
//! as the repair thread reads (and, cleaning up, deletes) them; `POST /cluster/v1/backfill`,
//! where another node's copy of some series' history is stored (`Engine::backfill`); and
//! `POST /cluster/v1/cleanup`, which asks for a cleanup (`strata_cluster::cleanup`).
//!
//! Both work on the whole store, a tenant's label included: history moves between nodes as
//! stored, and a series is routed by its labels without that label, as its writes were.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use strata_cluster::{BackfillAnswer, RepairSource};
use strata_model::Labels;
use strata_storage::BackfillSeries;

use crate::api_error::json_response;
use crate::backend::Backend;
use crate::body::read_raw;
use crate::json;
use crate::state::Shared;
use crate::write_gate::Busy;

/// The node's stored series, for the repair thread.
#[derive(Debug)]
pub(crate) struct StoredSeries(pub(crate) Backend);

impl RepairSource for StoredSeries {
    fn series(&self) -> Result<Vec<Labels>, String> {
        let mut all = self.0.engine().series_labels(&[], i64::MIN, i64::MAX).map_err(|e| e.to_string())?;
        all.sort();
        Ok(all)
    }

    fn samples(&self, labels: &Labels, from: i64) -> Result<Vec<(i64, f64)>, String> {
        strata_storage::backfill::series_samples(self.0.engine(), labels, from, i64::MAX)
            .map_err(|e| e.to_string())
    }

    fn delete_series(&self, series: &[Labels]) -> Result<u64, String> {
        self.0.engine().delete_series(series).map_err(|e| e.to_string())
    }

    fn routing_labels(&self, labels: &Labels) -> Labels {
        let mut routed = labels.clone();
        strata_tenant::label::strip(&mut routed);
        routed
    }
}

/// `POST /cluster/v1/backfill`: stores the samples of another node's copy that this node
/// lacks, answering what it did ([`BackfillAnswer`]). Only another node sends one (marked
/// forwarded), and only to a node in a cluster. It takes a write turn and is refused (503,
/// the sender retries its pass later) when writes are: shutting down, memory pressure.
pub(crate) async fn backfill(State(state): State<Shared>, request: Request) -> Response {
    let refuse =
        |status: StatusCode, kind: &str, message: &str| json_response(status, json::error(kind, message));
    if state.cluster.get().is_none() {
        return refuse(StatusCode::NOT_FOUND, "bad_data", "this node is not in a cluster");
    }
    if !request.headers().contains_key(strata_cluster::FORWARDED_HEADER) {
        let message = "a backfill comes from another node of the cluster (X-Strata-Forwarded)";
        return refuse(StatusCode::BAD_REQUEST, "bad_data", message);
    }
    if state.is_stopping() {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the server is shutting down");
    }
    if state.memory.refusing_writes() {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "unavailable", crate::state::MEMORY_PRESSURE_WRITES);
    }
    let _turn = match state.writes.enter().await {
        Ok(turn) => turn,
        Err(Busy::QueueFull | Busy::TimedOut) => {
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "no write turn in time; retry later",
            )
        }
    };
    let limit = state.config.max_body_bytes;
    let bytes = match read_raw(request.into_body(), limit).await {
        Ok(bytes) => bytes,
        Err(problem) => return refuse(problem.status, "bad_data", &problem.message),
    };
    let worker = state.clone();
    let done = tokio::task::spawn_blocking(move || {
        let series = strata_cluster::decode_backfill_request(&bytes, limit)
            .map_err(|e| (StatusCode::BAD_REQUEST, e))?;
        let series: Vec<BackfillSeries> =
            series.into_iter().map(|s| BackfillSeries { labels: s.labels, samples: s.samples }).collect();
        worker
            .backend
            .engine()
            .backfill(&series)
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, format!("storing the backfill: {e}")))
    })
    .await;
    match done {
        Ok(Ok(report)) => {
            let answer = BackfillAnswer {
                written: report.written,
                held: report.held,
                blocks: report.blocks,
                refused: report.refused,
                reasons: report.reasons,
            };
            let body = serde_json::to_string(&answer).unwrap_or_default();
            json_response(StatusCode::OK, body)
        }
        Ok(Err((status, message))) if status.is_server_error() => refuse(status, "internal", &message),
        Ok(Err((status, message))) => refuse(status, "bad_data", &message),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal", &format!("backfill failed: {e}")),
    }
}

/// `POST /cluster/v1/cleanup`: asks this node to hand over the series it no longer owns
/// and delete its copies (`strata_cluster::cleanup`), once no re-replication pass is owed:
/// 202, or 409 naming why not (a member not active). `/api/v1/status/cluster` shows it run.
pub(crate) async fn cleanup(State(state): State<Shared>) -> Response {
    let Some(node) = state.cluster.get() else {
        return json_response(
            StatusCode::NOT_FOUND,
            json::error("bad_data", "this node is not in a cluster"),
        );
    };
    match node.request_cleanup() {
        Ok(()) => json_response(StatusCode::ACCEPTED, json::success("{\"requested\":true}", &[], &[])),
        Err(why) => json_response(StatusCode::CONFLICT, json::error("unavailable", &why)),
    }
}
