//! What the server says about itself: `/api/v1/status/buildinfo`, `/api/v1/status/tsdb`
//! (head figures and the top series counts, as Prometheus' TSDB status page),
//! `/api/v1/status/retention` (ours: shards, retention settings and what they freed),
//! `/admin/status` (the seed's document: health, storage, ingestion and query figures), `/metrics`,
//! and the probes `/-/healthy`, `/-/ready` and `/ping` (what Influx clients call).

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::api_error::{json_response, ApiError};
use crate::json;
use crate::metrics::ShardFigures;
use crate::state::Shared;

/// `/api/v1/status/buildinfo`, with Prometheus' keys (Grafana reads `version`).
pub(crate) async fn buildinfo() -> Response {
    let data = json!({
        "version": env!("CARGO_PKG_VERSION"),
        "revision": option_env!("STRATA_GIT_REVISION").unwrap_or("unknown"),
        "branch": "",
        "buildUser": "",
        "buildDate": "",
        "goVersion": "",
    });
    json_response(StatusCode::OK, json::success(&data.to_string(), &[], &[]))
}

/// `/api/v1/status/tsdb`: head statistics and the ten largest of each count.
pub(crate) async fn tsdb(State(state): State<Shared>, request: axum::extract::Request) -> Response {
    let params = match crate::query_api::request_params(request, state.config.max_body_bytes).await {
        Ok(params) => params,
        Err(e) => return e.into_response(),
    };
    // VictoriaMetrics' explorer parameters count the series they select.
    if !params.all("match[]").is_empty() || params.get("focusLabel").is_some() || params.get("date").is_some()
    {
        return crate::cardinality_explorer::tsdb_status(state, params).await;
    }
    // `limit` (or VictoriaMetrics' `topN`) as Prometheus takes it (default 10), but with no
    // cap: users ask for every metric.
    let limit = match params.get("limit").or(params.get("topN")).map(str::parse::<usize>) {
        None => 10,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => return ApiError::bad_data("limit must be a positive number").into_response(),
    };
    let answer = tokio::task::spawn_blocking(move || -> Result<serde_json::Value, ApiError> {
        let census =
            crate::cardinality_explorer::census_of(&state, None, limit, limit, vec!["__name__".into()])?;
        let memory = state.backend.memory();
        let (min_time, max_time) = memory.time_range.unwrap_or((i64::MAX, i64::MIN));
        let mut data = strata_cardinality::explorer::prometheus_tsdb_status(&census, limit);
        data["headStats"] = json!({
            "numSeries": memory.series,
            "numLabelPairs": census.total_pairs,
            "chunkCount": memory.chunks,
            "minTime": min_time,
            "maxTime": max_time,
        });
        Ok(data)
    })
    .await;
    match answer {
        Ok(Ok(data)) => json_response(StatusCode::OK, json::success(&data.to_string(), &[], &[])),
        Ok(Err(e)) => e.into_response(),
        Err(e) => ApiError::internal(e.to_string()).into_response(),
    }
}

/// `/api/v1/status/flags`: the settings the server runs with (flags, environment and config
/// file merged), one string per setting as Prometheus' endpoint gives them; tables and
/// lists as JSON text.
pub(crate) async fn flags(State(state): State<Shared>) -> Response {
    let settings = match serde_json::to_value(&state.config) {
        Ok(serde_json::Value::Object(settings)) => settings,
        Ok(_) => return ApiError::internal("the config is not a table").into_response(),
        Err(e) => return ApiError::internal(e.to_string()).into_response(),
    };
    let data: serde_json::Map<String, serde_json::Value> = settings
        .into_iter()
        .map(|(name, value)| {
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            (name, serde_json::Value::String(text))
        })
        .collect();
    json_response(StatusCode::OK, json::success(&serde_json::Value::Object(data).to_string(), &[], &[]))
}

/// `/api/v1/status/retention` (Strata's own): the shard duration, the retention settings
/// and rules with what each has expired since start, the time retention counts back from,
/// and every shard with its tier and figures.
pub(crate) async fn retention(State(state): State<Shared>) -> Response {
    let Some(engine) = state.backend.block().cloned() else {
        return tsm_retention(&state);
    };
    let read = tokio::task::spawn_blocking(move || {
        (engine.retention_reference(), engine.retention_totals(), engine.shards())
    })
    .await;
    let (reference, totals, shards) = match read {
        Ok(read) => read,
        Err(e) => return ApiError::internal(e.to_string()).into_response(),
    };
    let config = &state.config;
    let policy = match config.retention_policy() {
        Ok(policy) => policy,
        Err(e) => return ApiError::internal(e.0).into_response(),
    };
    let expired = |selector: &str| totals.expired_by(selector);
    // The rules as written, then the tenants' (`tenant_config`), in the policy's order.
    let rules: Vec<_> = policy
        .rules
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            let keep = config.retention_rules.get(i).map_or_else(|| strata_rollup::format_duration(rule.keep), |w| w.keep.clone());
            json!({"match": rule.selector, "keep": keep, "keepMs": rule.keep, "seriesExpired": expired(&rule.selector)})
        })
        .collect();
    let shards: Vec<_> = shards
        .iter()
        .map(|s| {
            json!({
                "start": s.window.name(),
                "startMs": s.window.start,
                "endMs": s.window.end,
                "tier": s.tier.as_str(),
                "blocks": s.blocks.len(),
                "series": s.series,
                "samples": s.samples,
                "bytes": s.bytes,
            })
        })
        .collect();
    let data = json!({
        "referenceMs": reference,
        "reference": strata_model::calendar::format_utc(reference),
        "shardDuration": config.shard_duration,
        "retention": config.retention,
        "retentionMs": policy.time,
        "retentionSize": config.retention_size,
        "retentionSizeBytes": policy.size,
        "rules": rules,
        "global": {"seriesExpired": expired("")},
        "shardsDropped": totals.shards_dropped,
        "bytesFreed": totals.bytes_freed,
        "shards": shards,
    });
    json_response(StatusCode::OK, json::success(&data.to_string(), &[], &[]))
}

/// `/api/v1/status/retention` for `--engine tsm`: whole shards kept for `retention` (wall
/// clock), no size limit, rules or tiers.
fn tsm_retention(state: &Shared) -> Response {
    let crate::backend::Backend::Tsm(engine) = &state.backend else {
        return ApiError::internal("not a TSM server").into_response();
    };
    let config = &state.config;
    let retention_ms = match config.retention_policy() {
        Ok(policy) => policy.time,
        Err(e) => return ApiError::internal(e.0).into_response(),
    };
    let shards: Vec<_> = engine.windows().iter().map(|(s, e)| json!({"startMs": s, "endMs": e})).collect();
    let data = json!({
        "engine": "tsm",
        "shardDuration": config.shard_duration,
        "retention": config.retention,
        "retentionMs": retention_ms,
        "shards": shards,
    });
    json_response(StatusCode::OK, json::success(&data.to_string(), &[], &[]))
}

/// `/admin/status`: the seed's document, key for key — `status` (`healthy` or `degraded`),
/// `storage.{total_series, total_samples, disk_usage_bytes, compression_ratio}`,
/// `ingestion.{samples_per_second, active_series}`, `query.{queries_per_second,
/// avg_latency_ms}` — with Strata's own figures beside them under other names, and
/// `reasons` (empty when healthy). docs/server.md says what each counts.
pub(crate) async fn admin_status(State(state): State<Shared>) -> Response {
    let backend = state.backend.clone();
    let read = tokio::task::spawn_blocking(move || {
        let stats = backend.engine().stats()?;
        let distinct = backend.distinct_series()?;
        Ok::<_, strata_storage::StorageError>((stats, distinct, backend.health()))
    })
    .await;
    let (stats, distinct, engine_health) = match read {
        Ok(Ok(read)) => read,
        Ok(Err(e)) => return ApiError::from(e).into_response(),
        Err(e) => return ApiError::internal(e.to_string()).into_response(),
    };
    let mut reasons = state.health.reasons(&engine_health, state.is_stopping());
    let pressure = state.memory.level();
    if pressure != crate::memory_guard::Pressure::Normal {
        reasons.push(format!(
            "memory pressure {}: resident memory near the limit of {} bytes (see memory)",
            pressure.name(),
            state.memory.limit()
        ));
    }
    let rates = state.metrics.recent_rates();
    let round = |v: f64, places: i32| (v * 10f64.powi(places)).round() / 10f64.powi(places);
    let body = json!({
        "status": if reasons.is_empty() { "healthy" } else { "degraded" },
        "storage": {
            "total_series": distinct,
            "total_samples": stats.samples(),
            "disk_usage_bytes": stats.disk_bytes(),
            "compression_ratio": round(stats.compression_ratio(), 2),
            "head_series": stats.head_series,
            "head_series_removed": stats.head_series_removed,
            "head_samples": stats.head_samples,
            "blocks": stats.blocks,
            "block_bytes": stats.block_bytes,
            "wal_bytes": stats.wal_bytes,
        },
        "ingestion": {
            "samples_per_second": rates.samples_per_second.round(),
            "active_series": stats.head_series,
            "samples_total": state.metrics.samples_ingested(),
        },
        "query": {
            "queries_per_second": round(rates.queries_per_second, 2),
            "avg_latency_ms": round(rates.average_query_ms, 3),
            "queries_total": state.metrics.queries(),
        },
        "memory": {
            "limit_bytes": state.memory.limit(),
            "resident_bytes": crate::memory_guard::resident_bytes(),
            "pressure": state.memory.level().name(),
        },
        "limits": {
            "query_max_concurrency": state.queries.max(),
            "queries_running": state.queries.running(),
            "queries_waiting": state.queries.waiting(),
            "queries_refused_total": state.queries.refused(),
            "max_connections": state.connections.max(),
            "connections_open": state.connections.open(),
            "max_open_files": crate::process_limits::max_open_files(),
            "open_files": crate::process_limits::open_files(),
        },
        "tenants": tenant_figures(&state),
        "uptime_seconds": state.metrics.uptime().as_secs(),
        "version": env!("CARGO_PKG_VERSION"),
        "reasons": reasons,
    });
    json_response(StatusCode::OK, body.to_string())
}

/// Per-tenant figures for `/admin/status` (an empty list unless multi-tenant).
fn tenant_figures(state: &Shared) -> serde_json::Value {
    let figures = state.tenants.figures(state.backend.index());
    serde_json::Value::Array(
        figures
            .iter()
            .map(|t| {
                json!({
                    "tenant": t.tenant.as_str(),
                    "active_series": t.active_series,
                    "samples_written": t.counters.samples_written,
                    "samples_rate_limited": t.counters.samples_rate_limited,
                    "samples_refused": t.counters.samples_refused,
                    "ingest_rate_limit": t.ingest_rate_limit,
                })
            })
            .collect(),
    )
}

/// `/metrics`.
pub(crate) async fn metrics(State(state): State<Shared>) -> Response {
    let backend = state.backend.clone();
    let rules = state.rules.clone();
    // Reading rule groups waits for an evaluation in progress: off the async threads.
    let stats = tokio::task::spawn_blocking(move || {
        let mut rule_metrics = String::new();
        rules.render_metrics(&mut rule_metrics);
        let shards = backend.block().map(|e| shard_figures(e)).unwrap_or_default();
        (backend.engine().stats(), backend.wal_stats(), shards, rule_metrics)
    })
    .await;
    let (engine_stats, wal_stats, shards, rule_metrics) = match stats {
        Ok((Ok(e), w, s, r)) => (e, w, s, r),
        Ok((Err(e), _, _, _)) => return ApiError::from(e).into_response(),
        Err(e) => return ApiError::internal(e.to_string()).into_response(),
    };
    let mut text = state.metrics.render(&engine_stats, &wal_stats, &shards);
    text.push_str(&rule_metrics);
    crate::metrics::render_limits(&mut text, &state.limiter.states());
    crate::metrics::render_resources(&mut text, &state);
    crate::metrics::render_tenants(&mut text, &state.tenants.figures(state.backend.index()));
    crate::rollup_api::render_metrics(&state, &mut text);
    state.continuous_queries.render_metrics(&mut text);
    if let Some(node) = state.cluster.get() {
        crate::metrics::render_cluster(&mut text, node);
    }
    let mut response = text.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}

fn shard_figures(engine: &strata_storage::BlockEngine) -> ShardFigures {
    let tiers = engine.shard_tiers();
    let count = |tier| tiers.iter().filter(|(_, t)| *t == tier).count() as u64;
    let totals = engine.retention_totals();
    ShardFigures {
        hot: count(strata_storage::ShardTier::Hot),
        warm: count(strata_storage::ShardTier::Warm),
        cold: count(strata_storage::ShardTier::Cold),
        dropped: totals.shards_dropped,
        bytes_freed: totals.bytes_freed,
    }
}

/// `/-/healthy`.
pub(crate) async fn healthy() -> &'static str {
    "Strata is Healthy.\n"
}

/// `/-/ready`: the engine is open (the server only listens once it is), unless stopping.
pub(crate) async fn ready(State(state): State<Shared>) -> Response {
    if state.is_stopping() {
        (StatusCode::SERVICE_UNAVAILABLE, "Strata is shutting down.\n").into_response()
    } else {
        "Strata is Ready.\n".into_response()
    }
}

/// `/ping` (InfluxDB's): 204 with a version header.
pub(crate) async fn ping() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert("X-Influxdb-Version", HeaderValue::from_static(env!("CARGO_PKG_VERSION")));
    response
}
