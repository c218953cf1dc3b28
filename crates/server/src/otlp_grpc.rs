//! OTLP's gRPC `MetricsService/Export` on `--grpc-listen` (127.0.0.1:9091 by default, the
//! seed's port; `off` for none), served by tonic with `opentelemetry-proto`'s generated
//! service. Requests may be gzip-compressed and at most `max-body-bytes` once decoded. When
//! the web config turns TLS on, gRPC is served over TLS with the HTTP listener's certificate
//! and client-certificate rules (h2 by ALPN), and credentials are required the same way.
//!
//! Outcomes as OTLP/gRPC says: every point stored → OK with an empty response; some
//! rejected → OK with `partial_success`; saturated, stopping or storage failing →
//! `UNAVAILABLE` (the exporter retries); an undecodable message is tonic's `INTERNAL`. A
//! multi-tenant server takes the tenant from `x-scope-orgid` metadata (`UNAUTHENTICATED`
//! without it) and answers a used-up ingest rate with `RESOURCE_EXHAUSTED`.

use std::net::SocketAddr;

use strata_otlp::collector::metrics_service_server::{MetricsService, MetricsServiceServer};
use strata_otlp::collector::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use crate::otlp_api::{export, ExportFailure};
use crate::state::Shared;
use crate::write_gate::Busy;

/// The service: every export goes through the write gate and [`export`].
#[derive(Debug, Clone)]
struct OtlpMetrics {
    state: Shared,
}

#[tonic::async_trait]
impl MetricsService for OtlpMetrics {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let state = &self.state;
        let authorization = request.metadata().get("authorization").and_then(|v| v.to_str().ok());
        let identity = match crate::access::authenticate_header(state, authorization).await {
            Ok(identity) => identity,
            Err(denied) => return Err(Status::unauthenticated(denied.to_string())),
        };
        if state.is_stopping() {
            return Err(unavailable(state, "the server is shutting down"));
        }
        if state.memory.refusing_writes() {
            return Err(unavailable(state, crate::state::MEMORY_PRESSURE_WRITES));
        }
        let _turn = match state.writes.enter().await {
            Ok(turn) => turn,
            Err(Busy::QueueFull) => {
                return Err(unavailable(state, "too many writes are waiting; retry later"))
            }
            Err(Busy::TimedOut) => {
                return Err(unavailable(state, "the server could not take the write in time; retry later"))
            }
        };
        let tenant = grpc_tenant(state, &request)?;
        if let (Some(identity), Some(t)) = (&identity, &tenant) {
            if !identity.may_use_tenant(t.as_str()) {
                return Err(Status::permission_denied(format!(
                    "{:?} may not write to tenant {t:?} (tenant_users)",
                    identity.name
                )));
            }
        }
        let request = request.into_inner();
        let worker = state.clone();
        match tokio::task::spawn_blocking(move || export(&worker, tenant.as_ref(), &request)).await {
            Ok(Ok(answer)) => Ok(Response::new(answer)),
            Ok(Err(ExportFailure::Overloaded(m) | ExportFailure::Storage(m))) => Err(unavailable(state, &m)),
            Ok(Err(ExportFailure::RateLimited(m, _))) => Err(Status::resource_exhausted(m)),
            Err(e) => Err(Status::internal(format!("write failed: {e}"))),
        }
    }
}

/// The tenant named by the `x-scope-orgid` metadata: required when the server is
/// multi-tenant, ignored when it is not.
fn grpc_tenant<T>(state: &Shared, request: &Request<T>) -> Result<Option<strata_tenant::TenantId>, Status> {
    if !state.tenants.enabled() {
        return Ok(None);
    }
    let Some(value) = request.metadata().get(crate::tenancy::TENANT_HEADER) else {
        return Err(Status::unauthenticated(
            "no tenant: this server is multi-tenant; send x-scope-orgid metadata",
        ));
    };
    let text = value.to_str().map_err(|_| Status::invalid_argument("x-scope-orgid is not visible ASCII"))?;
    strata_tenant::TenantId::parse(text.trim()).map(Some).map_err(|e| Status::invalid_argument(e.to_string()))
}

fn unavailable(state: &Shared, message: &str) -> Status {
    state.health.write_refused(message);
    Status::unavailable(message)
}

/// Binds `addr`; the listener is then served by [`serve`].
pub(crate) async fn bind(addr: &str) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Serves OTLP gRPC on `listener` until `stopped` turns true (requests in flight finish);
/// over TLS when the web config turns it on for HTTP (`tls`: the same config, reloaded alike).
pub(crate) async fn serve(
    listener: TcpListener,
    state: Shared,
    tls: Option<std::sync::Arc<strata_auth::TlsReloader>>,
    mut stopped: watch::Receiver<bool>,
) {
    let limit = state.config.max_body_bytes;
    let service = MetricsServiceServer::new(OtlpMetrics { state: state.clone() })
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(limit);
    let router = tonic::transport::Server::builder().add_service(service);
    let until_stopped = async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let served = match tls {
        None => router.serve_with_incoming_shutdown(TcpListenerStream::new(listener), until_stopped).await,
        Some(tls) => match crate::tls_serve::TlsListener::new(listener, tls, state) {
            Ok(incoming) => router.serve_with_incoming_shutdown(incoming, until_stopped).await,
            Err(e) => return tracing::error!(error = %e, "the OTLP gRPC listener could not start TLS"),
        },
    };
    if let Err(e) = served {
        tracing::error!(error = %e, "the OTLP gRPC listener failed");
    }
}
