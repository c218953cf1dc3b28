//! `strata server`: the database behind HTTP (ARCHITECTURE.md: crates/server; decisions 6,
//! 7, 10, 13).
//!
//! One block engine (WAL-backed head and Prometheus-format blocks, maintaining itself in a
//! background thread) serves every endpoint. axum on tokio does the HTTP; anything that
//! touches storage or evaluates PromQL runs on tokio's blocking threads, so a slow fsync or
//! a long query never stalls the threads that accept and read requests.
//!
//! - Writes (`write_api`, `remote`, `tcp_listener`): Influx line protocol (HTTP 1.x and 2.x
//!   endpoints, and a TCP listener), the Prometheus text format, remote write 1.0. A write
//!   takes a turn at the write gate (`write_gate`: bounded concurrency and waiting, 503 +
//!   Retry-After past them), reads its body within the size limit, then is parsed and
//!   appended in batches (`ingest_batch`, which also states the partial-write policy).
//!   A write is acknowledged only once the WAL holds it as the fsync policy promises.
//! - Reads (`query_api`, `meta_api`, `admin_api`): the Prometheus HTTP API with Prometheus'
//!   JSON shapes (`json`), errors (`api_error`) and parameters (`params`); remote read.
//! - Operations (`status_api`, `metrics`, `health`): `/admin/status` (healthy or degraded,
//!   with the reasons), `/metrics`, build and TSDB status, health and readiness probes.
//! - Rules (`rules_api`, `rules_config`): the rule engine (`strata_rules`) runs beside the
//!   engine, writing through the normal append path; `/api/v1/rules`, `/api/v1/alerts` and
//!   `POST /-/reload` (also SIGHUP) read and reload it.
//! - OpenTelemetry (`otlp_api`, `otlp_grpc`, `otlp_config`): OTLP metrics over HTTP
//!   (`/api/v1/otlp/v1/metrics`) and gRPC (`--grpc-listen`), translated by `strata_otlp` and
//!   appended through `ingest_batch` like every other write.
//! - Access (`access`, `tls_serve`): `--web-config-file` in Prometheus' format turns on basic
//!   auth, bearer tokens, the admin role and TLS (checked by `strata_auth`); probes stay open.
//! - Configuration (`config`): defaults, TOML file, and (in the CLI) flags and `STRATA_*`
//!   environment variables.

mod access;
mod admin_api;
mod api_error;
mod backend;
mod blocking;
mod body;
mod cardinality_api;
mod cardinality_config;
mod cardinality_explorer;
mod cluster_api;
mod cluster_config;
mod cluster_repair;
mod config;
mod connection_limit;
mod continuous_queries;
mod health;
mod http_serve;
mod influxql_api;
mod ingest_batch;
mod json;
mod memory_guard;
mod meta_api;
mod metrics;
mod otlp_api;
mod otlp_config;
mod otlp_grpc;
mod params;
mod process_limits;
mod query_api;
mod query_gate;
mod refused_keys;
mod remote;
mod remote_histograms;
mod remote_v2;
mod remote_write_fast;
mod retention_config;
mod rollup_api;
mod rollup_config;
mod rollup_runner;
mod route_prefix;
mod rules_api;
mod rules_config;
mod series_cache;
mod server;
mod state;
mod status_api;
mod tcp_listener;
mod tenancy;
mod tenant_config;
mod tls_serve;
#[doc(hidden)]
pub mod untrusted;
mod web_ui;
mod write_api;
mod write_gate;

pub use cardinality_config::SeriesLimitConfig;
pub use cluster_config::ClusterConfig;
pub use config::{ConfigError, ServerConfig};
pub use params::parse_time;
pub use retention_config::RetentionRuleConfig;
pub use rollup_config::{RollupTierConfig, RollupsConfig};
pub use rules_config::AlertingConfig;
pub use server::{run, start, RunningServer, ServerError};
pub use tenant_config::TenantSettings;

/// Sets up structured logging to stderr: `format` `text` or `json`, `filter` in tracing's
/// env-filter syntax (`RUST_LOG` overrides it when set).
pub fn init_logging(format: &str, filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr);
    let _ = if format == "json" { builder.json().try_init() } else { builder.try_init() };
}
