//! `/api/v1/admin/tsdb/{delete_series,snapshot,clean_tombstones}` as Prometheus serves them
//! with `--web.enable-admin-api` (here on unless `admin-api = false`), and remote read
//! (`/api/v1/read`).
//!
//! - delete_series: `match[]` (required), `start`, `end` (default all time): tombstones, 204.
//! - snapshot: a complete copy of the data under `<data-dir>/snapshots/<name>` (blocks
//!   hard-linked, the head written as a block; `skip_head=true` leaves the head out);
//!   answers `{"name": …}`. The copy is itself a data dir Prometheus or Strata can open.
//! - clean_tombstones: rewrites blocks without their deleted samples, 204.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::api_error::{json_response, ApiError};
use crate::body::read_raw;
use crate::json;
use crate::params::{MAX_TIME, MIN_TIME};
use crate::query_api::request_params;
use crate::remote::{self, ReadError};
use crate::state::Shared;

fn admin_enabled(state: &Shared) -> Result<(), ApiError> {
    if state.config.admin_api {
        Ok(())
    } else {
        Err(ApiError::new("unavailable", "admin APIs disabled"))
    }
}

/// `delete_series`.
pub(crate) async fn delete_series(State(state): State<Shared>, request: Request) -> Response {
    let run = async {
        admin_enabled(&state)?;
        let params = request_params(request, state.config.max_body_bytes).await?;
        let texts = params.all("match[]");
        if texts.is_empty() {
            return Err(ApiError::bad_data("no match[] parameter provided"));
        }
        let mut sets = Vec::new();
        for text in texts {
            sets.extend(
                strata_promql::parse_metric_selector(text).map_err(|e| ApiError::bad_param("match[]", e))?,
            );
        }
        let (start, end) = (params.time("start", MIN_TIME)?, params.time("end", MAX_TIME)?);
        let (backend, tenant) = (state.backend.clone(), params.tenant().cloned());
        let deleted = tokio::task::spawn_blocking(move || {
            let view = strata_tenant::EngineView::new(backend.engine(), tenant.as_ref());
            for set in &sets {
                view.engine().delete(set, start, end)?;
            }
            Ok::<_, ApiError>(())
        })
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
        // Today's head keeps deleted series (only their samples go), so cached refs stay
        // valid; clearing keeps that true for a head that drops them (see series_cache).
        state.clear_series_caches();
        deleted?;
        // Rolled-up windows over the deleted time are rolled up again from what raw data
        // is left (not past raw retention: docs/rollups.md).
        if let Some(rollups) = &state.rollups {
            rollups.store.reroll_from(start).map_err(|e| ApiError::internal(format!("rollups: {e}")))?;
        }
        Ok(StatusCode::NO_CONTENT.into_response())
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// `snapshot`.
pub(crate) async fn snapshot(State(state): State<Shared>, request: Request) -> Response {
    let run = async {
        admin_enabled(&state)?;
        let params = request_params(request, state.config.max_body_bytes).await?;
        let skip_head = params.get("skip_head").is_some_and(|v| v == "true");
        let name = snapshot_name();
        let out = state.config.data_dir.join("snapshots").join(&name);
        let backend = state.backend.clone();
        tokio::task::spawn_blocking(move || {
            if let Some(parent) = out.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| ApiError::internal(format!("creating {}: {e}", parent.display())))?;
            }
            backend.snapshot_to(&out, !skip_head).map_err(ApiError::from)
        })
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
        Ok::<_, ApiError>(json_response(
            StatusCode::OK,
            json::success(&json!({ "name": name }).to_string(), &[], &[]),
        ))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// `20231219T160320Z-<8 random hex>` (Prometheus' form: UTC time and a random suffix).
fn snapshot_name() -> String {
    let ms = crate::state::now_ms();
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = strata_model::calendar::civil_from_days(days);
    let random = ulid::Ulid::new().random() as u32;
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z-{random:08x}", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// `clean_tombstones`.
pub(crate) async fn clean_tombstones(State(state): State<Shared>) -> Response {
    let run = async {
        admin_enabled(&state)?;
        let backend = state.backend.clone();
        tokio::task::spawn_blocking(move || backend.clean_tombstones().map_err(ApiError::from))
            .await
            .map_err(|e| ApiError::internal(e.to_string()))??;
        Ok::<_, ApiError>(StatusCode::NO_CONTENT.into_response())
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /api/v1/read`: remote read, `SAMPLES` responses.
pub(crate) async fn remote_read(State(state): State<Shared>, request: Request) -> Response {
    let limit = state.config.max_body_bytes;
    let tenant = crate::tenancy::tenant_of(&request);
    let body = match read_raw(request.into_body(), limit).await {
        Ok(b) => b,
        Err(problem) => return (problem.status, format!("{}\n", problem.message)).into_response(),
    };
    let backend = state.backend.clone();
    let answer = tokio::task::spawn_blocking(move || {
        let raw = remote::unsnappy(&body, limit)?;
        remote::read(strata_tenant::EngineView::new(backend.engine(), tenant.as_ref()).engine(), &raw)
    })
    .await;
    match answer {
        Ok(Ok(bytes)) => {
            let mut response = bytes.into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-protobuf"));
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("snappy"));
            response
        }
        Ok(Err(ReadError::Bad(m))) => (StatusCode::BAD_REQUEST, format!("{m}\n")).into_response(),
        Ok(Err(ReadError::Storage(m))) => {
            (StatusCode::INTERNAL_SERVER_ERROR, format!("{m}\n")).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}
