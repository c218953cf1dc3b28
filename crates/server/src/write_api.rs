//! The write endpoints:
//!
//! | endpoint | body | success |
//! |---|---|---|
//! | `POST /write?db=…&precision=` | Influx line protocol (InfluxDB 1.x) | 204 |
//! | `POST /write` without `db` | Prometheus text, timestamps as `ingest_batch` says | 200 `{"status":"success","samples_written":N}` |
//! | `POST /api/v2/write?org=&bucket=&precision=` | Influx line protocol (InfluxDB 2.x) | 204 |
//! | `POST /api/v1/import/prometheus` | Prometheus text, ms (VictoriaMetrics' API), or the protobuf exposition (native histograms) by `Content-Type` | 204 |
//! | `POST /api/v1/write` | remote write 1.0 (`remote`) or 2.0 (`remote_v2`), by `Content-Type` | 204 |
//!
//! Each request first takes a turn at the write gate (503 + `Retry-After` when the server is
//! saturated or stopping), then reads its body (413 past `max-body-bytes`; gzip undone),
//! then parses and appends on a blocking thread (decision 7). Errors follow the
//! partial-write policy in `ingest_batch`: 400 names the bad lines and the samples written;
//! 500 when storage failed.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use strata_ingest::line_protocol::Precision;
use strata_ingest::protobuf_exposition;

use crate::api_error::json_response;
use crate::body::{read_body, read_raw};
use crate::ingest_batch::{self, TextTime, WriteSummary};
use crate::json;
use crate::metrics::Protocol;
use crate::params::Params;
use crate::remote_histograms::HistogramBatch;
use crate::series_cache::SeriesCaches;
use crate::state::{now_ms, Shared};
use crate::write_gate::Busy;
use crate::{remote, remote_v2, remote_write_fast};

/// How a write endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// `{"status":"success","samples_written":N}` (the seed's `/write`).
    Strata,
    /// 204 / `{"code":"invalid","message":…}` as InfluxDB.
    Influx,
    /// 204 / Prometheus' error envelope (import, as VictoriaMetrics).
    NoContent,
    /// 204 / plain text (remote write, as Prometheus).
    RemoteWrite,
}

/// What a body holds.
#[derive(Debug, Clone)]
enum Format {
    /// Line protocol, with the database (and retention policy) it is written to, if any.
    LineProtocol(Precision, Option<(String, Option<String>)>),
    PrometheusText(TextTime),
    /// Prometheus' protobuf exposition (delimited `MetricFamily` messages).
    ProtobufExposition,
    RemoteWrite,
    RemoteWriteV2,
}

/// `POST /write`: line protocol with `db`, the Prometheus text format without.
pub(crate) async fn write_v1(State(state): State<Shared>, request: Request) -> Response {
    let params = Params::parse(request.uri().query(), b"");
    let precision = match precision_param(&params) {
        Ok(p) => p,
        Err(response) => return *response,
    };
    if let Some(db) = params.get("db") {
        let target = (db.to_string(), params.get("rp").map(str::to_string));
        let format = Format::LineProtocol(precision.unwrap_or(Precision::Nanoseconds), Some(target));
        write(state, request, format, Protocol::Influx, Dialect::Influx).await
    } else {
        let format = Format::PrometheusText(precision.map_or(TextTime::Auto, TextTime::Unit));
        write(state, request, format, Protocol::PrometheusText, Dialect::Strata).await
    }
}

/// `POST /api/v2/write`: line protocol (InfluxDB 2.x); `bucket` is required as there.
pub(crate) async fn write_v2(State(state): State<Shared>, request: Request) -> Response {
    let params = Params::parse(request.uri().query(), b"");
    let Some(bucket) = params.get("bucket") else {
        return influx_error(StatusCode::BAD_REQUEST, "bucket not specified", 0);
    };
    // InfluxDB 2.x's 1.x compatibility: bucket `db/rp` is database `db`, policy `rp`.
    let target = match bucket.split_once('/') {
        Some((db, rp)) => (db.to_string(), Some(rp.to_string())),
        None => (bucket.to_string(), None),
    };
    let precision = match precision_param(&params) {
        Ok(p) => p.unwrap_or(Precision::Nanoseconds),
        Err(response) => return *response,
    };
    write(state, request, Format::LineProtocol(precision, Some(target)), Protocol::Influx, Dialect::Influx)
        .await
}

/// `POST /api/v1/import/prometheus`: the text format, timestamps in ms unless `precision`;
/// or, under its `Content-Type`, the protobuf exposition a scrape target serves (the one
/// exposition that carries native histograms).
pub(crate) async fn import_prometheus(State(state): State<Shared>, request: Request) -> Response {
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if content_type.is_some_and(protobuf_exposition::is_protobuf_exposition) {
        let format = Format::ProtobufExposition;
        return write(state, request, format, Protocol::PrometheusText, Dialect::NoContent).await;
    }
    let params = Params::parse(request.uri().query(), b"");
    let precision = match precision_param(&params) {
        Ok(p) => p.unwrap_or(Precision::Milliseconds),
        Err(response) => return *response,
    };
    let format = Format::PrometheusText(TextTime::Unit(precision));
    write(state, request, format, Protocol::PrometheusText, Dialect::NoContent).await
}

/// `POST /api/v1/write`: Prometheus remote write 1.0 or 2.0, as `Content-Type` says.
pub(crate) async fn remote_write(State(state): State<Shared>, request: Request) -> Response {
    let negotiated = {
        let headers = request.headers();
        let text = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
        remote_v2::negotiate(text(header::CONTENT_TYPE), text(header::CONTENT_ENCODING))
    };
    let format = match negotiated {
        Ok(remote_v2::Version::V1) => Format::RemoteWrite,
        Ok(remote_v2::Version::V2) => Format::RemoteWriteV2,
        Err(message) => return (StatusCode::UNSUPPORTED_MEDIA_TYPE, format!("{message}\n")).into_response(),
    };
    write(state, request, format, Protocol::RemoteWrite, Dialect::RemoteWrite).await
}

/// The `precision` parameter, if given; a bad one is answered with 400.
fn precision_param(params: &Params) -> Result<Option<Precision>, Box<Response>> {
    let Some(text) = params.get("precision") else { return Ok(None) };
    Precision::parse(text).map(Some).ok_or_else(|| {
        let message = format!("invalid precision {text:?}: use ns, us, ms, s, m or h");
        Box::new(influx_error(StatusCode::BAD_REQUEST, &message, 0))
    })
}

async fn write(
    state: Shared,
    request: Request,
    format: Format,
    protocol: Protocol,
    dialect: Dialect,
) -> Response {
    if state.is_stopping() {
        return busy(&state, "the server is shutting down");
    }
    if state.memory.refusing_writes() {
        return busy(&state, crate::state::MEMORY_PRESSURE_WRITES);
    }
    // In a cluster, a client's write goes to its series' replicas; one another node sent
    // (a replica's copy) is written here. A replicated write takes no write slot itself:
    // its copies take theirs where they land (this node's own copy too), so a full gate
    // cannot wait on itself.
    let replicate =
        state.cluster.get().is_some() && !request.headers().contains_key(strata_cluster::FORWARDED_HEADER);
    let _turn = match replicate {
        true => None,
        false => match state.writes.enter().await {
            Ok(turn) => Some(turn),
            Err(Busy::QueueFull) => return busy(&state, "too many writes are waiting; retry later"),
            Err(Busy::TimedOut) => {
                return busy(&state, "the server could not take the write in time; retry later")
            }
        },
    };
    let tenant = crate::tenancy::tenant_of(&request);
    let (parts, body) = request.into_parts();
    let limit = state.config.max_body_bytes;
    // Remote write is snappy, never gzip: read it raw.
    let bytes = match &format {
        Format::RemoteWrite | Format::RemoteWriteV2 => read_raw(body, limit).await,
        _ => read_body(&parts.headers, body, limit).await,
    };
    let bytes = match bytes {
        Ok(b) => b,
        Err(problem) => return answer_error(dialect, problem.status, &problem.message, 0),
    };
    let worker = state.clone();
    let remote_write_v2 = matches!(format, Format::RemoteWriteV2);
    let done = tokio::task::spawn_blocking(move || match (replicate, worker.cluster.get()) {
        (true, Some(cluster)) => {
            parse_and_replicate(&worker, cluster, tenant.as_ref(), &bytes, format, protocol)
        }
        _ => parse_and_apply(&worker, tenant.as_ref(), &bytes, format, protocol),
    })
    .await;
    let mut response = match &done {
        Ok(Ok(summary)) => answer(dialect, summary),
        Ok(Err(message)) => answer_error(dialect, StatusCode::BAD_REQUEST, message, 0),
        Err(e) => answer_error(dialect, StatusCode::INTERNAL_SERVER_ERROR, &format!("write failed: {e}"), 0),
    };
    if let Ok(Ok(summary)) = &done {
        if !summary.acked_by.is_empty() {
            if let Ok(value) = HeaderValue::from_str(&summary.acked_by.join(",")) {
                response.headers_mut().insert("x-strata-acked-by", value);
            }
        }
    }
    if remote_write_v2 {
        let (samples, histograms) = match &done {
            Ok(Ok(summary)) => (summary.written - summary.histograms_written, summary.histograms_written),
            _ => (0, 0),
        };
        written_headers(&mut response, samples, histograms);
    }
    response
}

/// Remote write 2.0's mandatory counts of what was written: samples and histograms;
/// exemplars are never stored yet.
fn written_headers(response: &mut Response, samples: usize, histograms: usize) {
    let headers = response.headers_mut();
    for (name, n) in [
        ("x-prometheus-remote-write-samples-written", samples),
        ("x-prometheus-remote-write-histograms-written", histograms),
        ("x-prometheus-remote-write-exemplars-written", 0),
    ] {
        headers.insert(name, HeaderValue::from(n));
    }
}

/// Parses and appends; `Err` when the body as a whole is unreadable.
fn parse_and_apply(
    state: &Shared,
    tenant: Option<&strata_tenant::TenantId>,
    bytes: &[u8],
    format: Format,
    protocol: Protocol,
) -> Result<WriteSummary, String> {
    let caches = state.series_caches_for(tenant);
    // Line protocol to a database of the whole store may have subscriptions to send it to.
    let forward = match &format {
        Format::LineProtocol(precision, Some((db, rp))) if tenant.is_none() => {
            Some((*precision, db.clone(), rp.clone()))
        }
        _ => None,
    };
    let (batch, histograms) = parse(state, tenant, bytes, format, &caches)?;
    let samples = batch.len() + histograms.samples.len();
    let mut summary = state.apply(tenant, protocol, batch, samples);
    if !histograms.samples.is_empty() || !histograms.errors.is_empty() {
        state.apply_histograms(tenant, protocol, histograms, &mut summary);
    }
    if let (Some((precision, db, rp)), None) = (forward, &summary.storage_error) {
        send_to_subscriptions(state, bytes, precision, (&db, rp.as_deref()));
    }
    Ok(summary)
}

/// Queues a stored line-protocol write for the subscriptions of its database and policy.
fn send_to_subscriptions(state: &Shared, bytes: &[u8], precision: Precision, (db, rp): (&str, Option<&str>)) {
    let Some((policy, subscriptions)) = state.influx_catalog.subscriptions_of(db, rp) else { return };
    if !subscriptions.is_empty() {
        state.subscriber.forward(&subscriptions, (db, &policy), bytes, precision, crate::state::now_ns());
    }
}

/// Parses and sends each series to its replicas (`strata_cluster::replication`): the
/// write succeeds when every series reached a quorum of them; short of that it is
/// answered 503 (retry), naming the nodes that failed. Native histograms are not
/// replicated yet: they are refused, counted in the answer.
fn parse_and_replicate(
    state: &Shared,
    cluster: &strata_cluster::ClusterNode,
    tenant: Option<&strata_tenant::TenantId>,
    bytes: &[u8],
    format: Format,
    protocol: Protocol,
) -> Result<WriteSummary, String> {
    // Empty caches: every series comes back with its labels, to be routed by them. Only
    // `ingest_batch::apply` fills a cache, and this path never applies a parsed batch, so
    // one set serves every request.
    static EMPTY: std::sync::OnceLock<SeriesCaches> = std::sync::OnceLock::new();
    let caches = EMPTY.get_or_init(|| SeriesCaches::new(1, Default::default()));
    let (batch, histograms) = parse(state, tenant, bytes, format, caches)?;
    let string_fields = batch.string_fields;
    let (series, line_errors) = batch.into_series();
    let series: Vec<strata_cluster::SeriesSamples> = series
        .into_iter()
        .map(|(labels, samples)| strata_cluster::SeriesSamples { labels, samples })
        .collect();
    let samples: usize = series.iter().map(|s| s.samples.len()).sum();
    // The copies are made on threads of their own, outside the runtime: they get its handle.
    let runtime = tokio::runtime::Handle::current();
    let local = |indices: &[usize]| write_local_copy(state, &runtime, tenant, protocol, &series, indices);
    let outcome = cluster.replicate(tenant.map(|t| t.as_str()), &series, &local);
    let mut summary = WriteSummary { line_errors, string_fields, ..WriteSummary::default() };
    if !histograms.samples.is_empty() {
        summary.refused += histograms.samples.len();
        summary.refused_reasons.push("a cluster does not replicate native histograms yet".into());
    }
    summary.acked_by = outcome.acked.iter().map(|id| id.0.clone()).collect();
    if outcome.acknowledged() {
        summary.written = samples;
        if let Some(rejected) = outcome.rejected {
            summary.refused += 1;
            summary.refused_reasons.push(format!("a replica refused part of the write: {rejected}"));
        }
    } else {
        summary.storage_error = Some(outcome.refusal());
        summary.overloaded = true;
    }
    Ok(summary)
}

/// Writes this node's copy of a replicated write (`indices` into `series`), taking a write
/// turn as any write does; a refusal is told apart as the remote replicas' answers are (a
/// 4xx-like problem with the samples, or a failure to store).
fn write_local_copy(
    state: &Shared,
    runtime: &tokio::runtime::Handle,
    tenant: Option<&strata_tenant::TenantId>,
    protocol: Protocol,
    series: &[strata_cluster::SeriesSamples],
    indices: &[usize],
) -> Result<(), strata_cluster::SendError> {
    use strata_cluster::SendError;
    let _turn = runtime.block_on(state.writes.enter()).map_err(|busy| {
        SendError::Failed(match busy {
            Busy::QueueFull => "too many writes are waiting".into(),
            Busy::TimedOut => "no write turn in time".into(),
        })
    })?;
    // Keyed by the canonical text: a series seen before is appended by reference.
    let caches = state.series_caches_for(tenant);
    let mut batch = ingest_batch::Batch::new(&caches.cluster, "series");
    let mut samples = 0;
    for &i in indices {
        let s = &series[i];
        let key = s.labels.prometheus_key();
        let target = batch
            .target(key.as_bytes(), || Ok::<_, std::convert::Infallible>(s.labels.clone()))
            .unwrap_or_else(|never| match never {});
        for &(t, v) in &s.samples {
            batch.push(target, i + 1, t, v);
        }
        samples += s.samples.len();
    }
    let summary = state.apply(tenant, protocol, batch, samples);
    if summary.complete() {
        Ok(())
    } else if summary.storage_error.is_some() || summary.overloaded || summary.rate_limited.is_some() {
        Err(SendError::Failed(summary.problem()))
    } else {
        Err(SendError::Rejected(summary.problem()))
    }
}

/// Parses a body in `format`; series the caches know come back by reference, new ones
/// with their labels. `Err` when the body as a whole is unreadable.
fn parse<'c>(
    state: &Shared,
    tenant: Option<&strata_tenant::TenantId>,
    bytes: &[u8],
    format: Format,
    caches: &'c SeriesCaches,
) -> Result<(ingest_batch::Batch<'c>, HistogramBatch), String> {
    let now = now_ms();
    let mut histograms = HistogramBatch::default();
    let batch = match format {
        Format::LineProtocol(precision, target) => {
            // Only a write that names a database needs the catalog (a tenant's opens on use).
            let resolved = match &target {
                Some((db, rp)) => {
                    let catalog = state.influx_catalog_for(tenant).map_err(|e| e.0)?;
                    let target = strata_influxql::namespace::write_target(&catalog, db, rp.as_deref())?;
                    Some((catalog, target))
                }
                None => None,
            };
            let influx =
                resolved.as_ref().map(|(catalog, target)| ingest_batch::InfluxTarget { catalog, target });
            ingest_batch::parse_line_protocol(bytes, precision, now, &caches.line_protocol, influx)
        }
        Format::PrometheusText(time) => {
            ingest_batch::parse_prometheus_text(bytes, time, now, &caches.prometheus_text)
        }
        Format::ProtobufExposition => {
            let samples =
                protobuf_exposition::decode_all(bytes, Default::default()).map_err(|e| e.to_string())?;
            let (batch, exposed_histograms) =
                ingest_batch::collect_exposed(samples, now, &caches.prometheus_text);
            histograms = exposed_histograms;
            batch
        }
        Format::RemoteWrite => {
            let raw = remote::unsnappy(bytes, state.config.max_body_bytes).map_err(|e| e.0)?;
            let series = remote_write_fast::walk(&raw).map_err(|e| e.0)?;
            for (i, s) in series.iter().enumerate() {
                histograms.add(i + 1, || ingest_batch::decode_labels(s), s.histograms.iter().copied());
            }
            ingest_batch::collect_remote(&series, &caches.remote_write)
        }
        Format::RemoteWriteV2 => {
            let raw = remote::unsnappy(bytes, state.config.max_body_bytes).map_err(|e| e.0)?;
            let request = remote_v2::decode(&raw).map_err(|e| e.0)?;
            let extras = remote_v2::extras(&request);
            state.metrics.rejected("exemplar", extras.exemplars);
            histograms = remote_v2::collect_histograms(&request);
            remote_v2::collect(&request, &caches.remote_write_v2)
        }
    };
    Ok((batch, histograms))
}

fn answer(dialect: Dialect, summary: &WriteSummary) -> Response {
    if summary.complete() {
        return match dialect {
            Dialect::Strata => json_response(
                StatusCode::OK,
                format!("{{\"status\":\"success\",\"samples_written\":{}}}", summary.written),
            ),
            _ => StatusCode::NO_CONTENT.into_response(),
        };
    }
    if let Some(seconds) = summary.retry_after() {
        let mut response = answer_error(dialect, StatusCode::TOO_MANY_REQUESTS, &summary.problem(), 0);
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        return response;
    }
    let status = if summary.overloaded {
        StatusCode::SERVICE_UNAVAILABLE
    } else if summary.storage_error.is_some() {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::BAD_REQUEST
    };
    let mut response = answer_error(dialect, status, &summary.problem(), summary.written);
    if summary.overloaded {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

fn answer_error(dialect: Dialect, status: StatusCode, message: &str, written: usize) -> Response {
    match dialect {
        Dialect::Influx => influx_error(status, message, written),
        Dialect::RemoteWrite => (status, format!("{message}\n")).into_response(),
        Dialect::Strata | Dialect::NoContent => {
            let error_type = if status.is_server_error() { "internal" } else { "bad_data" };
            let extra = format!(",\"samples_written\":{written}");
            json_response(status, json::error_with(error_type, message, &extra))
        }
    }
}

/// InfluxDB's error body (2.x's `code`/`message`, 1.x's `error`), plus what was written.
fn influx_error(status: StatusCode, message: &str, written: usize) -> Response {
    let code = if status.is_server_error() { "internal error" } else { "invalid" };
    let mut body = String::from("{\"code\":");
    json::push_str(&mut body, code);
    body.push_str(",\"message\":");
    json::push_str(&mut body, message);
    body.push_str(",\"error\":");
    json::push_str(&mut body, message);
    body.push_str(&format!(",\"samples_written\":{written}}}"));
    json_response(status, body)
}

/// 503 with `Retry-After`; noted for `/admin/status`.
fn busy(state: &Shared, message: &str) -> Response {
    state.health.write_refused(message);
    let mut response = json_response(StatusCode::SERVICE_UNAVAILABLE, json::error("unavailable", message));
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}
