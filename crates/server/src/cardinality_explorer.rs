//! The cardinality explorers users already have, over the head's series: VictoriaMetrics'
//! parameters on `/api/v1/status/tsdb` (`topN`, `match[]`, `focusLabel`, `date` — today
//! only: the head is what is counted) and Mimir's `/api/v1/cardinality/label_names` and
//! `label_values` (`selector`, `limit` default 20, at most 500). Counting and shapes are
//! `strata_cardinality::explorer`'s; this selects the series and
//! holds each request to `explorer-memory-budget` bytes (refused past it, `execution`).

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use roaring::RoaringBitmap;
use serde_json::Value;
use strata_cardinality::explorer;
use strata_index::{Census, CensusRequest};

use crate::api_error::{json_response, ApiError};
use crate::json;
use crate::params::Params;
use crate::query_api::request_params;
use crate::state::Shared;

/// The head's series `match[]`/`selector` texts select (all of them with none).
fn selection(state: &Shared, selectors: &[String]) -> Result<Option<RoaringBitmap>, ApiError> {
    if selectors.is_empty() {
        return Ok(None);
    }
    let index = state.backend.index();
    let mut out = RoaringBitmap::new();
    for text in selectors {
        let sets =
            strata_promql::parse_metric_selector(text).map_err(|e| ApiError::bad_param("match[]", e.0))?;
        for set in sets {
            out |= index.select(&set);
        }
    }
    Ok(Some(out))
}

/// Counts the selected head series within the explorer memory budget, keeping the `top`
/// largest pairs and values of the `focus` names.
pub(crate) fn census(
    state: &Shared,
    selectors: &[String],
    top: usize,
    focus: Vec<String>,
) -> Result<Census, ApiError> {
    census_of(state, selection(state, selectors)?, top, top, focus)
}

/// [`census`] of a selection (`None`: every head series), with its own number of pairs.
pub(crate) fn census_of(
    state: &Shared,
    selection: Option<RoaringBitmap>,
    top: usize,
    top_pairs: usize,
    focus: Vec<String>,
) -> Result<Census, ApiError> {
    let request = CensusRequest {
        selection,
        top,
        top_pairs,
        focus,
        budget: usize::try_from(state.config.explorer_memory_budget).unwrap_or(usize::MAX),
    };
    state.backend.index().census(&request).map_err(|e| ApiError::new("execution", e.to_string()))
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
        let mut ranked = vec!["__name__".to_string()];
        ranked.extend(focus.clone());
        let census = census(state, &selectors, top, ranked)?;
        Ok(explorer::victoria_tsdb_status(&census, top, focus.as_deref()))
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
        Ok(explorer::mimir_label_names(&census(state, &selectors, 0, Vec::new())?, top))
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
        Ok(explorer::mimir_label_values(&census(state, &selectors, top, names.clone())?, &names))
    })
    .await
}
