//! InfluxDB 1.x's read API: `GET|POST /query` with `q` (InfluxQL, several statements
//! separated by `;`), `db`, `rp`, `epoch`, `chunked`, `chunk_size`, `pretty`, `params`. The
//! language and the answers are `strata_influxql`'s; this file only speaks HTTP:
//!
//! | case | answer |
//! |---|---|
//! | success | 200 `{"results":[{"statement_id":0,"series":[…]}]}` |
//! | a statement fails | 200, that statement's `"error"` |
//! | parse error | 400 `{"error":"error parsing query: …"}` and `X-Influxdb-Error` |
//! | no `q` | 400 `missing required parameter "q"` |
//!
//! A request accepting `application/x-msgpack` (the official Python client's) gets the same
//! answer in MessagePack; a chunked one gets a document per chunk, one after another.
//!
//! `/query` with `query` and no `q` stays the PromQL instant query it was before.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use strata_influxql::time::Epoch;
use strata_influxql::{Request as QueryRequest, StatementResult, Store};

use crate::query_api;
use crate::state::{now_ns, Shared};

/// `GET|POST /query`.
pub(crate) async fn query(State(state): State<Shared>, request: Request) -> Response {
    let msgpack = request
        .headers()
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/x-msgpack"));
    let identity = request.extensions().get::<strata_auth::Identity>().cloned();
    let params = match query_api::request_params(request, state.config.max_body_bytes).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    if params.get("q").is_none() && params.get("query").is_some() {
        return query_api::instant_with(state, params).await;
    }
    let Some(text) = params.get("q").map(str::to_string) else {
        return error(StatusCode::BAD_REQUEST, "missing required parameter \"q\"");
    };
    let bound = match bound_params(params.get("params")) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let statements = match strata_influxql::parse_query(&text, &bound) {
        Ok(s) => s,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("error parsing query: {e}")),
    };
    // With authentication on, deleting and managing need the admin role, as the admin
    // endpoints do (`access`).
    if let Some(identity) = identity.filter(|i| !i.admin) {
        if let Some(statement) = statements.iter().find(|s| s.needs_admin()) {
            let message = format!(
                "error authorizing query: {} not authorized to execute statement '{}', requires admin privilege",
                identity.name,
                statement_text(statement)
            );
            return error(StatusCode::FORBIDDEN, &message);
        }
    }
    let epoch = Epoch::parse(params.get("epoch"));
    let chunked = params.get("chunked") == Some("true");
    let chunk_size = params.get("chunk_size").and_then(|n| n.parse().ok()).unwrap_or(0);
    let pretty = params.get("pretty") == Some("true");
    let database = params.get("db").map(str::to_string);
    let policy = params.get("rp").map(str::to_string);
    if state.memory.refusing_writes() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "memory pressure: queries are refused until memory use falls",
        );
    }
    let _slot = match state.queries.enter(state.query_options.timeout).await {
        Ok(slot) => slot,
        Err(busy) => return error(StatusCode::SERVICE_UNAVAILABLE, &busy.to_string()),
    };
    let tenant = params.tenant().cloned();
    let catalog = match state.influx_catalog_for(tenant.as_ref()) {
        Ok(c) => c,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e.0),
    };
    let worker = state.clone();
    let kept_statements = statements.clone();
    let started = std::time::Instant::now();
    let results = crate::blocking::run_blocking(move || {
        // A tenant's statements read and write its series and its catalog only.
        let view = strata_tenant::EngineView::new(worker.backend.engine(), tenant.as_ref());
        let stats = ServerStatistics(&worker);
        let store = Store {
            engine: view.engine(),
            catalog: &catalog,
            prometheus_database: &worker.config.influxql_prometheus_database,
            stats: Some(&stats),
        };
        let request = QueryRequest {
            max_points: worker.query_options.max_samples / worker.memory.query_samples_divisor(),
            deadline: Some(started + worker.query_options.timeout),
            ..QueryRequest::new(database.as_deref(), policy.as_deref(), now_ns())
        };
        strata_influxql::execute(&store, &statements, request)
    })
    .await;
    state.metrics.query(false, started.elapsed());
    let results = match results {
        Ok(r) => r,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &format!("query failed: {e}")),
    };
    // A chunked answer is a document per chunk; otherwise one document.
    let documents: Vec<Vec<StatementResult>> = if chunked {
        strata_influxql::chunk::chunks(&kept_statements, results, chunk_size)
            .into_iter()
            .map(|r| vec![r])
            .collect()
    } else {
        vec![strata_influxql::chunk::unchunked(&kept_statements, results)]
    };
    if msgpack {
        let body: Vec<u8> =
            documents.iter().flat_map(|d| strata_influxql::msgpack::write_results(d, epoch)).collect();
        return respond_bytes(StatusCode::OK, body, "application/x-msgpack");
    }
    let mut body = String::new();
    for d in &documents {
        body.push_str(&strata_influxql::write_results(d, epoch));
        if chunked {
            body.push('\n');
        }
    }
    let body = if pretty { pretty_json(&body) } else { body };
    respond(StatusCode::OK, body)
}

/// The `params` parameter: a JSON object of bound parameters.
fn bound_params(text: Option<&str>) -> Result<strata_influxql::Params, String> {
    let Some(text) = text.filter(|t| !t.is_empty()) else { return Ok(Default::default()) };
    serde_json::from_str(text).map_err(|e| format!("error parsing query parameters: {e}"))
}

fn pretty_json(body: &str) -> String {
    body.lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
                .unwrap_or_else(|| line.to_string())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn respond(status: StatusCode, body: String) -> Response {
    respond_bytes(status, body.into_bytes(), "application/json")
}

fn respond_bytes(status: StatusCode, body: Vec<u8>, content_type: &'static str) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert("Content-Type", HeaderValue::from_static(content_type));
    headers.insert("X-Influxdb-Version", HeaderValue::from_static(env!("CARGO_PKG_VERSION")));
    response
}

/// An error of the request as a whole, as InfluxDB writes it.
fn error(status: StatusCode, message: &str) -> Response {
    let mut body = String::from("{\"error\":");
    strata_influxql::result::json_string(&mut body, message);
    body.push('}');
    let mut response = respond(status, body);
    let header: String = message.chars().take(1024).filter(|c| !c.is_control()).collect();
    if let Ok(v) = HeaderValue::from_str(&header) {
        response.headers_mut().insert("X-Influxdb-Error", v);
    }
    response
}

/// How a statement is named in an authorization error: its keyword, InfluxDB-like.
fn statement_text(statement: &strata_influxql::ast::Statement) -> &'static str {
    use strata_influxql::ast::Statement as S;
    match statement {
        S::DropDatabase { .. } => "DROP DATABASE",
        S::DropRetentionPolicy { .. } => "DROP RETENTION POLICY",
        S::Delete { time_allowed: true, .. } => "DELETE",
        S::Delete { .. } => "DROP SERIES",
        S::CreateUser { .. } => "CREATE USER",
        S::DropUser { .. } => "DROP USER",
        S::SetPassword { .. } => "SET PASSWORD",
        S::Grant { .. } => "GRANT",
        S::Revoke { .. } => "REVOKE",
        _ => "statement",
    }
}

/// SHOW STATS' modules: figures the server keeps, under InfluxDB's module names where
/// InfluxDB has the same figure (`subscriber`, `cq`), and Strata's own otherwise.
struct ServerStatistics<'a>(&'a crate::state::AppState);

impl strata_influxql::stats::Statistics for ServerStatistics<'_> {
    fn modules(&self) -> Vec<strata_influxql::stats::Module> {
        let state = self.0;
        let module = |name: &str, values: &[(&str, u64)]| strata_influxql::stats::Module {
            name: name.into(),
            tags: Default::default(),
            values: values
                .iter()
                .map(|(k, v)| (k.to_string(), i64::try_from(*v).unwrap_or(i64::MAX)))
                .collect(),
        };
        let sub = state.subscriber.figures();
        let (cq_ok, cq_failed, cq_points) = state.continuous_queries.figures();
        vec![
            module("httpd", &[("req", state.metrics.http_requests_total())]),
            module(
                "write",
                &[
                    ("pointReq", state.metrics.ingested_total()),
                    ("pointRejected", state.metrics.rejected_total()),
                ],
            ),
            module("cq", &[("queryOk", cq_ok), ("queryFail", cq_failed), ("pointsWritten", cq_points)]),
            module(
                "subscriber",
                &[
                    ("createFailures", sub.create_failures),
                    ("pointsWritten", sub.points_written),
                    ("writeFailures", sub.write_failures),
                ],
            ),
        ]
    }
}
