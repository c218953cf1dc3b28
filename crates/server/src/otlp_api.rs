//! OTLP metrics over HTTP: `POST /api/v1/otlp/v1/metrics` (Prometheus' path; `/v1/metrics`,
//! the OTLP default path, too), binary protobuf or JSON, gzip or not, answered in the
//! request's encoding as OTLP/HTTP says:
//!
//! | outcome | status | body |
//! |---|---|---|
//! | every point stored | 200 | empty `ExportMetricsServiceResponse` |
//! | some points rejected (untranslatable, refused by storage) | 200 | `partialSuccess` with the count and reasons (the client must not retry) |
//! | body not OTLP / too large | 400 / 413 | `google.rpc.Status` |
//! | not protobuf or JSON | 415 | `google.rpc.Status` |
//! | saturated, stopping, or storage failing | 503 + `Retry-After` | `google.rpc.Status` (retryable) |
//! | the tenant's ingest rate used up (`--multi-tenant`) | 429 + `Retry-After` | `google.rpc.Status` (retryable) |
//!
//! [`export`] is shared with the gRPC service (`otlp_grpc`): translate (`strata_otlp`), then
//! append through `ingest_batch` like every other protocol, so the WAL policy, cardinality
//! limits and the partial-write rules are the same.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use strata_otlp::body::{decode_request, encode_response, response, Encoding};
use strata_otlp::collector::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};

use crate::body::read_body;
use crate::ingest_batch;
use crate::metrics::Protocol;
use crate::state::Shared;
use crate::write_gate::Busy;

/// Why an export was not taken (the client should retry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExportFailure {
    /// Storage failed: nothing after the failure was written.
    Storage(String),
    /// The engine refuses writes for now.
    Overloaded(String),
    /// The tenant's ingest rate is used up: nothing was written; retry in that many seconds.
    RateLimited(String, u64),
}

impl ExportFailure {
    pub(crate) fn message(&self) -> &str {
        match self {
            ExportFailure::Storage(m) | ExportFailure::Overloaded(m) | ExportFailure::RateLimited(m, _) => m,
        }
    }
}

/// Translates and appends a request (blocking: call it from a blocking thread); the
/// answer names what was rejected.
pub(crate) fn export(
    state: &Shared,
    tenant: Option<&strata_tenant::TenantId>,
    request: &ExportMetricsServiceRequest,
) -> Result<ExportMetricsServiceResponse, ExportFailure> {
    let mut translated = strata_otlp::translate(request, &state.otlp_options);
    state.metrics.rejected("otlp_translation", translated.rejected);
    let caches = state.series_caches_for(tenant);
    let batch = ingest_batch::collect_series(&translated.series, &caches.otlp);
    let histograms = std::mem::take(&mut translated.histograms);
    let samples = batch.len() + histograms.len();
    let mut summary = state.apply(tenant, Protocol::Otlp, batch, samples);
    if let Some((message, seconds)) = &summary.rate_limited {
        return Err(ExportFailure::RateLimited(message.clone(), *seconds));
    }
    if !histograms.is_empty() {
        let batch = crate::remote_histograms::HistogramBatch { samples: histograms, errors: Vec::new() };
        state.apply_histograms(tenant, Protocol::Otlp, batch, &mut summary);
    }
    if let Some(e) = &summary.storage_error {
        let failure = format!("storage error: {e}; {} sample(s) written before it", summary.written);
        return Err(if summary.overloaded {
            ExportFailure::Overloaded(failure)
        } else {
            ExportFailure::Storage(failure)
        });
    }
    let mut problems = translated.problems;
    let storage_rejected = summary.refused + summary.line_errors.len();
    if storage_rejected > 0 {
        problems.push(format!(
            "{storage_rejected} sample(s) refused by storage: {}",
            summary.refused_reasons.join("; ")
        ));
        problems
            .extend(summary.line_errors.iter().take(5).map(|e| format!("series {}: {}", e.line, e.message)));
    }
    if translated.exemplars_dropped > 0 {
        problems.push(format!(
            "{} exemplar(s) dropped: Strata does not store exemplars",
            translated.exemplars_dropped
        ));
    }
    Ok(response(translated.rejected + storage_rejected, &problems.join("; ")))
}

/// `POST /api/v1/otlp/v1/metrics`.
pub(crate) async fn metrics(State(state): State<Shared>, request: Request) -> Response {
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let Some(encoding) = Encoding::from_content_type(content_type) else {
        let message = format!(
            "Content-Type {content_type:?} is not OTLP: use application/x-protobuf or application/json"
        );
        return status(Encoding::Json, StatusCode::UNSUPPORTED_MEDIA_TYPE, &message);
    };
    if state.is_stopping() {
        return unavailable(&state, encoding, "the server is shutting down");
    }
    if state.memory.refusing_writes() {
        return unavailable(&state, encoding, crate::state::MEMORY_PRESSURE_WRITES);
    }
    let _turn = match state.writes.enter().await {
        Ok(turn) => turn,
        Err(Busy::QueueFull) => {
            return unavailable(&state, encoding, "too many writes are waiting; retry later")
        }
        Err(Busy::TimedOut) => {
            return unavailable(&state, encoding, "the server could not take the write in time; retry later")
        }
    };
    let tenant = crate::tenancy::tenant_of(&request);
    let (parts, body) = request.into_parts();
    let bytes = match read_body(&parts.headers, body, state.config.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(problem) => return status(encoding, problem.status, &problem.message),
    };
    let request = match decode_request(&bytes, encoding) {
        Ok(request) => request,
        Err(e) => {
            state.metrics.rejected("parse", 1);
            return status(encoding, StatusCode::BAD_REQUEST, &e.0);
        }
    };
    let worker = state.clone();
    match tokio::task::spawn_blocking(move || export(&worker, tenant.as_ref(), &request)).await {
        Ok(Ok(answer)) => {
            let body = encode_response(&answer, encoding);
            (StatusCode::OK, [(header::CONTENT_TYPE, encoding.content_type())], body).into_response()
        }
        Ok(Err(ExportFailure::RateLimited(message, seconds))) => {
            // OTLP/HTTP: 429 is retryable, after Retry-After.
            let mut response = status(encoding, StatusCode::TOO_MANY_REQUESTS, &message);
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            response
        }
        Ok(Err(failure)) => unavailable(&state, encoding, failure.message()),
        Err(e) => status(encoding, StatusCode::INTERNAL_SERVER_ERROR, &format!("write failed: {e}")),
    }
}

/// `google.rpc.Status`, the body of OTLP/HTTP's errors.
#[derive(Clone, PartialEq, prost::Message, serde::Serialize)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// An error answer; the gRPC code in the body follows the HTTP status.
fn status(encoding: Encoding, http: StatusCode, message: &str) -> Response {
    let code = match http {
        StatusCode::BAD_REQUEST | StatusCode::UNSUPPORTED_MEDIA_TYPE => 3, // INVALID_ARGUMENT
        StatusCode::PAYLOAD_TOO_LARGE => 8,                                // RESOURCE_EXHAUSTED
        StatusCode::SERVICE_UNAVAILABLE => 14,                             // UNAVAILABLE
        _ => 13,                                                           // INTERNAL
    };
    let status = RpcStatus { code, message: message.to_string() };
    let body = match encoding {
        Encoding::Protobuf => prost::Message::encode_to_vec(&status),
        Encoding::Json => serde_json::to_vec(&status).unwrap_or_default(),
    };
    (http, [(header::CONTENT_TYPE, encoding.content_type())], body).into_response()
}

/// 503 with `Retry-After` (OTLP clients retry it); noted for `/admin/status`.
fn unavailable(state: &Shared, encoding: Encoding, message: &str) -> Response {
    state.health.write_refused(message);
    let mut response = status(encoding, StatusCode::SERVICE_UNAVAILABLE, message);
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}
