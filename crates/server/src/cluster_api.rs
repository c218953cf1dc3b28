//! Wiring the cluster (`strata_cluster`) into the server: joining once the HTTP port is
//! bound (so the address others dial is known), leaving on shutdown, and
//! `/api/v1/status/cluster`. Writes and queries take their cluster paths in `write_api`
//! and `query_api`.

use std::net::SocketAddr;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::api_error::json_response;
use crate::config::ServerConfig;
use crate::json;
use crate::server::ServerError;
use crate::state::Shared;

/// Joins the cluster `config` names, if any; `http_addr` is what others dial unless
/// `advertise` says otherwise.
pub(crate) async fn join(
    state: &Shared,
    config: &ServerConfig,
    http_addr: SocketAddr,
) -> Result<(), ServerError> {
    let Some(mut options) = config.cluster_options()? else { return Ok(()) };
    if config.cluster.advertise.is_none() {
        options.membership.addr = http_addr.to_string();
    }
    let id = options.membership.id.clone();
    let node = tokio::task::spawn_blocking(move || strata_cluster::ClusterNode::start(options))
        .await
        .map_err(|e| ServerError::Runtime(e.to_string()))?
        .map_err(|e| ServerError::Runtime(format!("joining the cluster as {id}: {e}")))?;
    tracing::info!(node = %id, addr = %http_addr, "joined the cluster");
    node.start_repair(std::sync::Arc::new(crate::cluster_repair::StoredSeries(state.backend.clone())));
    let _ = state.cluster.set(node);
    Ok(())
}

/// Leaves the cluster, if in one: others see this node gone at once.
pub(crate) async fn leave(state: &Shared) {
    let state = state.clone();
    let _ = tokio::task::spawn_blocking(move || {
        if let Some(node) = state.cluster.get() {
            node.leave();
        }
    })
    .await;
}

/// `GET /api/v1/status/cluster`: this node, the ring's members with their states and
/// shares, as this node sees them.
pub(crate) async fn status(State(state): State<Shared>) -> Response {
    let data = match state.cluster.get() {
        None => json!({ "enabled": false }),
        Some(node) => {
            let view = node.view();
            let placement = node.placement();
            let hints = node.hint_figures();
            json!({
                "enabled": true,
                "node": node.id(),
                "replicationFactor": placement.rf,
                "zoneAware": placement.zone_aware,
                "etcdRevision": view.revision,
                "etcd": node.etcd_health(),
                "hints": {
                    "pending": hints.pending,
                    "pendingBytes": hints.pending_bytes,
                    "delivered": hints.delivered,
                    "dropped": hints.dropped,
                },
                "repair": node.repair_status(),
                "members": view.report(),
            })
        }
    };
    json_response(StatusCode::OK, json::success(&data.to_string(), &[], &[]))
}
