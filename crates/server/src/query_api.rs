//! `/api/v1/query` (and its alias `/query`) and `/api/v1/query_range`, GET or POST form, as
//! Prometheus answers them (../shared/specs/prom-http-api-notes.md): parameters `query`,
//! `time` / `start`, `end`, `step`, `timeout` (can only shorten the server's), `limit`,
//! `lookback_delta`; and Strata's `rollups=off` (read raw samples only, docs/rollups.md)
//! and `stats` (any value: `data.stats` gives the samples read and, when rollup tiers
//! answered, the route — which source answered which steps).
//!
//! Evaluation runs on a blocking thread (decision 7). If the client goes away, the handler's
//! future is dropped, and with it a guard that raises the query's cancel flag, so the
//! evaluation stops at its next check instead of running to its end for nobody.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use strata_promql::{QueryBounds, QueryEngine, QueryResult, Range, Value};

use crate::api_error::{json_response, ApiError};
use crate::json;
use crate::meta_api::limited;
use crate::params::Params;
use crate::state::{now_ms, Shared};

/// Prometheus' cap on points per series in a range query.
const MAX_POINTS: i64 = 11_000;

/// Reads a request's parameters: the query string, and a form body on POST; and its tenant.
pub(crate) async fn request_params(request: Request, limit: usize) -> Result<Params, ApiError> {
    let query = request.uri().query().map(str::to_string);
    let tenant = crate::tenancy::tenant_of(&request);
    let is_form = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let body = if is_form {
        axum::body::to_bytes(request.into_body(), limit)
            .await
            .map_err(|e| ApiError::bad_data(format!("reading the form body: {e}")))?
            .to_vec()
    } else {
        Vec::new()
    };
    Ok(Params::parse_checked(query.as_deref(), &body)?.for_tenant(tenant))
}

/// Raises a cancel flag when dropped (see the module docs).
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// The engine for one request: the server's options, with the request's timeout (never
/// longer than the server's) and lookback delta.
fn engine_for(state: &Shared, params: &Params) -> Result<QueryEngine, ApiError> {
    let mut options = state.query_options.clone();
    // Under memory pressure the costliest queries fail on the sample limit (`memory_guard`).
    options.max_samples /= state.memory.query_samples_divisor();
    if let Some(ms) = params.duration("timeout")? {
        if ms > 0 {
            options.timeout = options.timeout.min(Duration::from_millis(ms as u64));
        }
    }
    if let Some(ms) = params.duration("lookback_delta")? {
        if ms > 0 {
            options.lookback_delta_ms = ms;
        }
    }
    Ok(QueryEngine::new(options))
}

/// `/api/v1/query`.
pub(crate) async fn instant(State(state): State<Shared>, request: Request) -> Response {
    match request_params(request, state.config.max_body_bytes).await {
        Ok(params) => instant_with(state, params).await,
        Err(e) => e.into_response(),
    }
}

/// An instant query whose parameters are read (`/query` hands PromQL here).
pub(crate) async fn instant_with(state: Shared, params: Params) -> Response {
    let run = async {
        let text = params.get("query").unwrap_or("").to_string();
        let time = params.time("time", now_ms())?;
        let limit = params.limit("limit")?;
        let engine = engine_for(&state, &params)?;
        let expr =
            engine.parse(&text, QueryBounds::default()).map_err(|e| ApiError::bad_param("query", e))?;
        let options = ReadOptions::of(&params)?;
        let wait = engine.options().timeout;
        let result = evaluate(&state, params.tenant(), false, options, wait, move |store, cancel| {
            engine.instant_expr(store, &expr, time, Some(cancel))
        })
        .await?;
        Ok::<_, ApiError>(respond(result, limit, options.stats))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// `/api/v1/query_range`.
pub(crate) async fn range(State(state): State<Shared>, request: Request) -> Response {
    let run = async {
        let params = request_params(request, state.config.max_body_bytes).await?;
        let text = params.get("query").unwrap_or("").to_string();
        let (start, end) = (params.required_time("start")?, params.required_time("end")?);
        let step = match params.duration("step")? {
            Some(step) => step,
            None => return Err(ApiError::bad_param("step", "cannot parse \"\" to a valid duration")),
        };
        if end < start {
            return Err(ApiError::bad_param("end", "end timestamp must not be before start time"));
        }
        if step <= 0 {
            return Err(ApiError::bad_param(
                "step",
                "zero or negative query resolution step widths are not accepted. Try a positive integer",
            ));
        }
        if (end - start) / step > MAX_POINTS {
            return Err(ApiError::bad_data(
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
            ));
        }
        let limit = params.limit("limit")?;
        let engine = engine_for(&state, &params)?;
        let range = Range { start, end, step };
        let expr = engine.parse(&text, range.bounds()).map_err(|e| ApiError::bad_param("query", e))?;
        let options = ReadOptions::of(&params)?;
        let wait = engine.options().timeout;
        let result = evaluate(&state, params.tenant(), true, options, wait, move |store, cancel| {
            engine.range_expr(store, &expr, range, Some(cancel))
        })
        .await?;
        Ok(respond(result, limit, options.stats))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// The request's `rollups` and `stats` parameters.
#[derive(Debug, Clone, Copy)]
struct ReadOptions {
    rollups: bool,
    stats: bool,
}

impl ReadOptions {
    fn of(params: &Params) -> Result<ReadOptions, ApiError> {
        let rollups = match params.get("rollups") {
            None | Some("on") | Some("") => true,
            Some("off") => false,
            Some(other) => return Err(ApiError::bad_param("rollups", format!("{other:?} is not on or off"))),
        };
        Ok(ReadOptions { rollups, stats: params.get("stats").is_some() })
    }
}

/// Runs `query` on a blocking thread with a cancel flag tied to this future, over the
/// engine and, unless the request turned them off, its rollup tiers; first waits up to `wait`
/// (the query's timeout) for a query slot.
async fn evaluate<F>(
    state: &Shared,
    tenant: Option<&strata_tenant::TenantId>,
    is_range: bool,
    options: ReadOptions,
    wait: Duration,
    query: F,
) -> Result<QueryResult, ApiError>
where
    F: FnOnce(
            &dyn strata_promql::Queryable,
            Arc<AtomicBool>,
        ) -> Result<QueryResult, strata_promql::QueryError>
        + Send
        + 'static,
{
    if state.memory.refusing_writes() {
        return Err(ApiError::new(
            "unavailable",
            "memory pressure: queries are refused until memory use falls",
        ));
    }
    let _slot =
        state.queries.enter(wait).await.map_err(|busy| ApiError::new("unavailable", busy.to_string()))?;
    let cancel = Arc::new(AtomicBool::new(false));
    let _guard = CancelOnDrop(cancel.clone());
    let shared = state.clone();
    let started = Instant::now();
    let tenant = tenant.cloned();
    let result = tokio::task::spawn_blocking(move || {
        if let Some(cluster) = shared.cluster.get() {
            return query_cluster(&shared, cluster, tenant, query, cancel);
        }
        let rollups = shared.rollups.as_ref().filter(|_| options.rollups);
        let Some(tenant) = tenant else {
            let store = shared.backend.queryable();
            return match rollups {
                Some(r) => query(&strata_promql::WithRollups { store, rollups: &*r.store }, cancel),
                None => query(store, cancel),
            };
        };
        // A tenant's query reads its series only, raw and rolled up (`strata_tenant`).
        let view = strata_tenant::TenantEngine::new(shared.backend.engine(), tenant.clone());
        match rollups {
            Some(r) => {
                let rolled = strata_tenant::TenantRollups::new(&*r.store, tenant);
                query(&strata_promql::WithRollups { store: &view, rollups: &rolled }, cancel)
            }
            None => query(&view, cancel),
        }
    })
    .await
    .map_err(|e| ApiError::internal(format!("query failed: {e}")))?;
    state.metrics.query(is_range, started.elapsed());
    result.map_err(ApiError::from)
}

/// Runs `query` over every replica's data (`strata_cluster::ClusterReader`), adding the
/// reader's warnings (unreachable members, possibly partial answers). Rollups are local
/// to each node, so a cluster query reads raw data only.
fn query_cluster<F>(
    shared: &Shared,
    cluster: &strata_cluster::ClusterNode,
    tenant: Option<strata_tenant::TenantId>,
    query: F,
    cancel: Arc<AtomicBool>,
) -> Result<QueryResult, strata_promql::QueryError>
where
    F: FnOnce(
        &dyn strata_promql::Queryable,
        Arc<AtomicBool>,
    ) -> Result<QueryResult, strata_promql::QueryError>,
{
    let view;
    let local: &dyn strata_promql::Queryable = match &tenant {
        None => shared.backend.queryable(),
        Some(tenant) => {
            view = strata_tenant::TenantEngine::new(shared.backend.engine(), tenant.clone());
            &view
        }
    };
    let reader = cluster.reader(local, tenant.map(|t| t.as_str().to_string()));
    let mut result = query(&reader, cancel)?;
    result.warnings.extend(reader.take_warnings());
    Ok(result)
}

/// The success answer, truncated to `limit` series when one is given; with `stats`, the
/// samples read and the rollup route in `data.stats`.
fn respond(mut result: QueryResult, limit: usize, stats: bool) -> Response {
    let cut = match &mut result.value {
        Value::Vector(v) => truncate(v, limit),
        Value::Matrix(m) => truncate(m, limit),
        _ => Vec::new(),
    };
    result.warnings.extend(cut);
    let mut data = json::query_data(&result.value);
    if stats {
        data.pop();
        data.push_str(",\"stats\":");
        data.push_str(&json::query_stats(&result));
        data.push('}');
    }
    json_response(StatusCode::OK, json::success(&data, &result.warnings, &result.infos))
}

/// `items` cut to `limit` in place; the warnings that says so.
fn truncate<T>(items: &mut Vec<T>, limit: usize) -> Vec<String> {
    let (kept, warnings) = limited(std::mem::take(items), limit);
    *items = kept;
    warnings
}
