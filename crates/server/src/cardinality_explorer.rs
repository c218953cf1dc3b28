//! The cardinality explorers users already have, over the head's series: VictoriaMetrics'
//! parameters on `/api/v1/status/tsdb` (`topN`, `match[]`, `focusLabel`, `date` — today
//! only: the head is what is counted) and Mimir's `/api/v1/cardinality/label_names` and
//! `label_values` (`selector`, `limit` default 20, at most 500). Counting and shapes are
//! `strata_cardinality::explorer`'s; this selects the series.

use std::collections::BTreeSet;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use strata_model::Labels;

use crate::api_error::{json_response, ApiError};
use crate::json;
use crate::params::Params;
use crate::query_api::request_params;
use crate::state::Shared;

/// Most series an explorer request counts (a bound on its memory).
const MAX_SERIES: usize = 10_000_000;

/// Series selected by `match[]`/`selector` texts (all of them with none).
fn selected(state: &Shared, selectors: &[String]) -> Result<Vec<Labels>, ApiError> {
    let head = state.engine.head();
    if selectors.is_empty() {
        return Ok(head.series_labels(&[], MAX_SERIES));
    }
    let mut out = BTreeSet::new();
    for text in selectors {
        let sets =
            strata_promql::parse_metric_selector(text).map_err(|e| ApiError::bad_param("match[]", e.0))?;
        for set in sets {
            out.extend(head.series_labels(&set, MAX_SERIES));
        }
    }
    Ok(out.into_iter().collect())
}

fn limit(params: &Params, names: &[&str], default: usize, max: usize) -> Result<usize, ApiError> {
    for name in names {
        if let Some(v) = params.get(name) {
            let n: usize = v.parse().map_err(|e| ApiError::bad_param(name, e))?;
            if n == 0 || n > max {
                return Err(ApiError::bad_data(format!("{name} must be between 1 and {max}")));
            }
            return Ok(n);
        }
    }
    Ok(default)
}

async fn respond(
    state: Shared,
    work: impl FnOnce(&Shared) -> Result<Value, ApiError> + Send + 'static,
) -> Response {
    match tokio::task::spawn_blocking(move || work(&state)).await {
        Ok(Ok(data)) => json_response(StatusCode::OK, json::success(&data.to_string(), &[], &[])),
        Ok(Err(e)) => e.into_response(),
        Err(e) => ApiError::internal(e.to_string()).into_response(),
    }
}

/// `/api/v1/status/tsdb` with `match[]` or `focusLabel`: VictoriaMetrics' shape.
pub(crate) async fn tsdb_status(state: Shared, params: Params) -> Response {
    let top = match limit(&params, &["topN", "limit"], 10, usize::MAX) {
        Ok(n) => n,
        Err(e) => return e.into_response(),
    };
    if let Some(date) = params.get("date") {
        let today = strata_model::calendar::format_utc(crate::state::now_ms());
        if !today.starts_with(date) {
            return ApiError::bad_data(format!("date {date:?}: only today's series (the head) are counted"))
                .into_response();
        }
    }
    let selectors: Vec<String> = params.all("match[]").into_iter().map(str::to_string).collect();
    let focus = params.get("focusLabel").map(str::to_string);
    respond(state, move |state| {
        let series = selected(state, &selectors)?;
        Ok(strata_cardinality::explorer::count(&series).tsdb_status(top, focus.as_deref()))
    })
    .await
}

/// A Mimir request's parameters, its `limit` (20 by default, at most 500) and `selector`s.
async fn mimir_request(state: &Shared, request: Request) -> Result<(Params, usize, Vec<String>), ApiError> {
    let params = request_params(request, state.config.max_body_bytes).await?;
    let top = limit(&params, &["limit"], 20, 500)?;
    let selectors = params.all("selector").into_iter().map(str::to_string).collect();
    Ok((params, top, selectors))
}

/// Mimir's `/api/v1/cardinality/label_names`.
pub(crate) async fn label_names(State(state): State<Shared>, request: Request) -> Response {
    let (_, top, selectors) = match mimir_request(&state, request).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    respond(state, move |state| {
        Ok(strata_cardinality::explorer::count(&selected(state, &selectors)?).label_names(top))
    })
    .await
}

/// Mimir's `/api/v1/cardinality/label_values`.
pub(crate) async fn label_values(State(state): State<Shared>, request: Request) -> Response {
    let (params, top, selectors) = match mimir_request(&state, request).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let names: Vec<String> = params.all("label_names[]").into_iter().map(str::to_string).collect();
    if names.is_empty() {
        return ApiError::bad_data("label_names[] is required").into_response();
    }
    respond(state, move |state| {
        Ok(strata_cardinality::explorer::count(&selected(state, &selectors)?).label_values(&names, top))
    })
    .await
}
