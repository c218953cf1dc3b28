//! `/api/v1/series`, `/api/v1/labels`, `/api/v1/label/<name>/values`, `/api/v1/metadata`.
//!
//! `match[]` selectors are parsed as Prometheus parses them (`parse_metric_selector`; an
//! `or` inside one gives several matcher lists); results of several selectors are merged,
//! sorted and deduplicated. `start`/`end` default to all time. `limit` truncates (current
//! Prometheus adds a warning when it does). Label names that are not plain identifiers can
//! be given in the `U__` escaping of current Prometheus (`U__http_2e_status` is
//! `http.status`).

use std::collections::{BTreeSet, HashMap};

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use strata_model::{Labels, Matcher};
use strata_promql::parse_metric_selector;
use strata_tenant::EngineView;

use crate::api_error::{json_response, ApiError};
use crate::json;
use crate::params::{Params, MAX_TIME, MIN_TIME};
use crate::query_api::request_params;
use crate::state::Shared;

/// Every matcher list of every `match[]`; empty when none is given.
fn match_sets(params: &Params) -> Result<Vec<Vec<Matcher>>, ApiError> {
    let mut sets = Vec::new();
    for text in params.all("match[]") {
        sets.extend(parse_metric_selector(text).map_err(|e| ApiError::bad_param("match[]", e))?);
    }
    Ok(sets)
}

fn time_range(params: &Params) -> Result<(i64, i64), ApiError> {
    Ok((params.time("start", MIN_TIME)?, params.time("end", MAX_TIME)?))
}

/// Runs blocking storage work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| ApiError::internal(e.to_string()))?
}

/// `limit` applied, with Prometheus' warning when it cut something.
pub(crate) fn limited<T>(mut items: Vec<T>, limit: usize) -> (Vec<T>, Vec<String>) {
    if limit > 0 && items.len() > limit {
        items.truncate(limit);
        return (items, vec!["results truncated due to limit".into()]);
    }
    (items, Vec::new())
}

/// `/api/v1/series`.
pub(crate) async fn series(State(state): State<Shared>, request: Request) -> Response {
    let run = async {
        let params = request_params(request, state.config.max_body_bytes).await?;
        if params.all("match[]").is_empty() {
            return Err(ApiError::bad_data("no match[] parameter provided"));
        }
        let sets = match_sets(&params)?;
        let (start, end) = time_range(&params)?;
        let limit = params.limit("limit")?;
        let (backend, tenant) = (state.backend.clone(), params.tenant().cloned());
        let found = blocking(move || {
            let view = EngineView::new(backend.engine(), tenant.as_ref());
            let mut found = BTreeSet::new();
            for set in &sets {
                for s in view.engine().select(set, start, end)? {
                    found.insert(s.labels().clone());
                }
            }
            Ok(found)
        })
        .await?;
        let (found, warnings): (Vec<Labels>, _) = limited(found.into_iter().collect(), limit);
        let mut data = String::from("[");
        for (i, labels) in found.iter().enumerate() {
            if i > 0 {
                data.push(',');
            }
            json::push_labels(&mut data, labels);
        }
        data.push(']');
        Ok(json_response(StatusCode::OK, json::success(&data, &warnings, &[])))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// `/api/v1/labels`.
pub(crate) async fn labels(State(state): State<Shared>, request: Request) -> Response {
    let run = async {
        let params = request_params(request, state.config.max_body_bytes).await?;
        let (backend, tenant) = (state.backend.clone(), params.tenant().cloned());
        string_union(&params, move |set, start, end| {
            EngineView::new(backend.engine(), tenant.as_ref()).engine().label_names(set, start, end)
        })
        .await
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// `/api/v1/label/<name>/values`.
pub(crate) async fn label_values(
    State(state): State<Shared>,
    Path(path): Path<HashMap<String, String>>,
    request: Request,
) -> Response {
    let run = async {
        // By name: under `/tenant/{tenant}/` the path has two parameters.
        let name = path.get("name").cloned().unwrap_or_default();
        let name = unescape_label_name(&name)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ApiError::bad_data(format!("invalid label name: {name:?}")))?;
        let params = request_params(request, state.config.max_body_bytes).await?;
        let (backend, tenant) = (state.backend.clone(), params.tenant().cloned());
        string_union(&params, move |set, start, end| {
            EngineView::new(backend.engine(), tenant.as_ref()).engine().label_values(&name, set, start, end)
        })
        .await
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// The sorted union of `lookup` over every `match[]` matcher list (over all series when
/// none is given) in the request's time range, as a string-list answer within `limit`.
async fn string_union<F>(params: &Params, lookup: F) -> Result<Response, ApiError>
where
    F: Fn(&[Matcher], i64, i64) -> Result<Vec<String>, strata_storage::StorageError> + Send + 'static,
{
    let mut sets = match_sets(params)?;
    if sets.is_empty() {
        sets.push(Vec::new());
    }
    let (start, end) = time_range(params)?;
    let limit = params.limit("limit")?;
    let found = blocking(move || {
        let mut found = BTreeSet::new();
        for set in &sets {
            found.extend(lookup(set, start, end)?);
        }
        Ok(found)
    })
    .await?;
    Ok(string_list(found.into_iter().collect(), limit))
}

fn string_list(items: Vec<String>, limit: usize) -> Response {
    let (items, warnings) = limited(items, limit);
    let mut data = String::new();
    json::push_str_array(&mut data, items.iter().map(String::as_str));
    json_response(StatusCode::OK, json::success(&data, &warnings, &[]))
}

/// `/api/v1/metadata`: Strata keeps no metric metadata yet, so the answer is empty, which
/// Prometheus' API allows (Grafana then offers metric names without help texts).
pub(crate) async fn metadata() -> Response {
    json_response(StatusCode::OK, json::success("{}", &[], &[]))
}

/// A label name from the URL: as it is, or decoded from the `U__` escaping (`_` doubled,
/// other characters as `_<hex code point>_`); `None` when the escaping is broken.
pub(crate) fn unescape_label_name(name: &str) -> Option<String> {
    let Some(escaped) = name.strip_prefix("U__") else { return Some(name.to_string()) };
    let mut out = String::new();
    let mut chars = escaped.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '_' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'_') {
            chars.next();
            out.push('_');
            continue;
        }
        let hex: String = chars.by_ref().take_while(|&c| c != '_').collect();
        out.push(u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32)?);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u_escaped_names_decode() {
        assert_eq!(unescape_label_name("job").as_deref(), Some("job"));
        assert_eq!(unescape_label_name("U__http_2e_status__code").as_deref(), Some("http.status_code"));
        assert_eq!(unescape_label_name("U__a_zz_"), None);
    }

    #[test]
    fn limits_cut_and_warn() {
        let (items, warnings) = limited(vec![1, 2, 3], 2);
        assert_eq!((items, warnings.len()), (vec![1, 2], 1));
        let (items, warnings) = limited(vec![1, 2, 3], 0);
        assert_eq!((items, warnings.len()), (vec![1, 2, 3], 0));
    }
}
