//! The server's settings. Each comes, in order of precedence, from a command-line flag, a
//! `STRATA_*` environment variable (both handled by the CLI), the TOML file given with
//! `--config`, or the default below (ARCHITECTURE.md, decision 10). The TOML keys are the
//! flags' names without `--`:
//!
//! ```toml
//! listen = "127.0.0.1:9090"
//! data-dir = "./data"
//! fsync = "batch"
//! retention = "15d"
//! ```
//!
//! and `retention-rules`, a list of tables (module `retention_config`); `rule-files`,
//! `external-labels` and the `[alerting]` table (module `rules_config`); `max-series`,
//! `series-limits` and the new-series limits (module `cardinality_config`); `multi-tenant`
//! and the `[tenants.<id>]` tables (module `tenant_config`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::params::parse_duration;
use crate::retention_config::RetentionRuleConfig;

/// Everything `strata server` can be told; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServerConfig {
    /// HTTP address (`host:port`).
    pub listen: String,
    /// The data dir.
    pub data_dir: PathBuf,
    /// Address of the Influx line-protocol TCP listener; none (off) by default.
    pub influx_tcp_listen: Option<String>,
    /// WAL durability before a write is acknowledged: `batch` (group commit: fsync, shared
    /// by concurrent writers), `always` (fsync per write), `none` (no fsync).
    pub fsync: String,
    /// Time range of a block cut from the head (Prometheus duration).
    pub block_range: String,
    /// Largest request body accepted, bytes (after decompression too).
    pub max_body_bytes: usize,
    /// Writes applied to the engine at once; more wait (see `write-wait-timeout`).
    pub max_concurrent_writes: usize,
    /// Writes allowed to wait for a turn; more are refused at once with 503.
    pub max_pending_writes: usize,
    /// How long a write waits for a turn before a 503 with Retry-After.
    pub write_wait_timeout: String,
    /// Samples appended to the engine per call (a request is cut into batches of this).
    pub append_batch: usize,
    /// TCP listener: lines gathered before they are appended.
    pub tcp_batch_lines: usize,
    /// TCP listener: longest time a line waits in a batch.
    pub tcp_flush_interval: String,
    /// Longest a query may run.
    pub query_timeout: String,
    /// Most samples a query may read.
    pub query_max_samples: usize,
    /// Queries (PromQL, InfluxQL) evaluated at once; more wait up to the query timeout, then
    /// get 503 (module `query_gate`).
    pub query_max_concurrency: usize,
    /// HTTP connections open at once; past it the listener stops accepting until one closes
    /// (module `connection_limit`).
    pub max_connections: usize,
    /// Longest wait for a request's head (and for the next request on an idle keep-alive
    /// connection) before the connection is closed; `0s` for none (module `http_serve`).
    pub http_header_read_timeout: String,
    /// PromQL lookback delta.
    pub lookback_delta: String,
    /// Features off by default, by Prometheus' `--enable-feature` names: `promql-experimental-functions`
    /// (`info`, `limitk`, `sort_by_label`, `fill` modifiers, …), `promql-duration-expr`
    /// (`[5m+30s]`, `offset step()`), `promql-extended-range-selectors` (`anchored`,
    /// `smoothed`) and `promql-delayed-name-removal`.
    pub enable_feature: Vec<String>,
    /// Serve `/api/v1/admin/*` (delete series, snapshot, clean tombstones).
    pub admin_api: bool,
    /// The storage engine: `block` (Prometheus' block format, shards, retention, limits) or
    /// `tsm` (InfluxDB 1.x's TSM files); a data dir holds one kind.
    pub engine: String,
    /// `tsm`: snapshot the cache into a TSM file past this many bytes.
    pub cache_snapshot_size: u64,
    /// `tsm`: refuse writes (503 + Retry-After) past this many bytes of cache.
    pub cache_max_size: u64,
    /// Time shard duration: data is owned, compacted and deleted by aligned window of this.
    pub shard_duration: String,
    /// How long data is kept (`0`: forever); see `retention-rules` for per-selector ones.
    pub retention: String,
    /// The most bytes blocks and WAL may take; the oldest shards go first (none by default).
    pub retention_size: Option<String>,
    /// Per-selector retention (TOML only): `[{ match = '{job="node"}', keep = "90d" }]`.
    #[serde(alias = "retention_rules")]
    pub retention_rules: Vec<RetentionRuleConfig>,
    /// Where cold shards go (another disk, typically); needs `cold-after`.
    pub cold_dir: Option<PathBuf>,
    /// Shards this much older than the newest data move to `cold-dir`, re-encoded densely.
    pub cold_after: Option<String>,
    /// Rule files (globs) to evaluate (`rule_files` accepted too).
    #[serde(alias = "rule_files")]
    pub rule_files: Vec<String>,
    /// Interval of rule groups that set none.
    pub evaluation_interval: String,
    /// How far back rule queries look (for data that arrives late).
    pub rule_query_offset: String,
    /// Labels added to alerts sent (where they lack them); TOML table.
    pub external_labels: crate::rules_config::ExternalLabels,
    /// The URL users reach the server at (alerts' `generatorURL`); default `http://<listen>`.
    pub external_url: String,
    /// Path prefix the whole server answers under (`/strata`; empty: none), as Prometheus'
    /// `--web.route-prefix` (module `route_prefix`).
    pub web_route_prefix: String,
    /// Where alerts go, and the alert timings (module `rules_config`).
    pub alerting: crate::rules_config::AlertingConfig,
    /// Most active series in all; new series past it are refused (none by default).
    pub max_series: Option<u64>,
    /// Most active series per selector (TOML only): `[{ match = 'http_requests_total', max = 10000 }]`.
    #[serde(alias = "series_limits")]
    pub series_limits: Vec<crate::cardinality_config::SeriesLimitConfig>,
    /// Most new series an hour (none by default).
    pub max_new_series_per_hour: Option<u64>,
    /// Most new series a day (none by default).
    pub max_new_series_per_day: Option<u64>,
    /// Track new series for the cardinality report (top metrics, label churn, growth);
    /// limits apply either way.
    pub cardinality_tracking: bool,
    /// Head memory the cardinality forecast warns past (bytes; none by default).
    pub cardinality_memory_budget: Option<u64>,
    /// Bytes one cardinality explorer request (`/api/v1/status/tsdb`, Mimir's
    /// `/api/v1/cardinality/*`, the report) may hold while it counts (256 MiB by default).
    pub explorer_memory_budget: u64,
    /// The TOML file these settings came from (reloads read it again); not a setting.
    #[serde(skip)]
    pub config_file: Option<PathBuf>,
    /// `--max-series` as given on the command line (it wins over the file at reload too).
    #[serde(skip)]
    pub max_series_flag: Option<u64>,
    /// The InfluxQL database of the series written without `db` (docs/influxql.md).
    pub influxql_prometheus_database: String,
    /// `[cluster]`: membership in etcd, replication (module `cluster_config`).
    pub cluster: crate::cluster_config::ClusterConfig,
    /// Rollup tiers, or `on`/`off` (module `rollup_config`).
    pub rollups: crate::rollup_config::RollupsConfig,
    /// How often the rollup job looks for settled spans.
    pub rollup_interval: String,
    /// Address of the OTLP gRPC listener (OpenTelemetry's `MetricsService`); `off` for none.
    pub grpc_listen: String,
    /// How OTLP metric and attribute names become Prometheus names (Prometheus'
    /// `translation_strategy` values; module `otlp_config`).
    pub otlp_translation_strategy: String,
    /// OTLP resource attributes copied onto every series of their resource.
    pub otlp_promote_resource_attributes: Vec<String>,
    /// Add OTLP's instrumentation scope as `otel_scope_*` labels.
    pub otlp_promote_scope_metadata: bool,
    /// Store OTLP explicit-bucket histograms as native histograms with custom buckets
    /// (NHCB) rather than classic `_bucket`/`_count`/`_sum` series.
    pub otlp_convert_histograms_to_nhcb: bool,
    /// Resident memory the server keeps under by shedding load (module `memory_guard`):
    /// a size (`4GiB`), `0` for no limit; default 60% of the machine's or cgroup's memory.
    pub memory_limit: Option<String>,
    /// Prometheus' web configuration file: basic auth, bearer tokens, the admin role and TLS
    /// for the HTTP listener (module `access`); none (open, plain HTTP) by default.
    pub web_config_file: Option<PathBuf>,
    /// Tenants by `X-Scope-OrgID` or `/tenant/<id>/` (module `tenancy`); off by default.
    pub multi_tenant: bool,
    /// Per-tenant limits and retention (module `tenant_config`).
    pub tenants: crate::tenant_config::TenantTable,
    /// Log format: `text` or `json`.
    pub log_format: String,
    /// Log filter (tracing's env-filter syntax: `info`, `strata_server=debug`).
    pub log_level: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:9090".into(),
            data_dir: PathBuf::from("./data"),
            influx_tcp_listen: None,
            fsync: "batch".into(),
            block_range: "2h".into(),
            max_body_bytes: 64 << 20,
            max_concurrent_writes: 8,
            max_pending_writes: 256,
            write_wait_timeout: "10s".into(),
            append_batch: 10_000,
            tcp_batch_lines: 5_000,
            tcp_flush_interval: "1s".into(),
            query_timeout: "2m".into(),
            query_max_samples: 50_000_000,
            query_max_concurrency: 20,
            max_connections: 512,
            http_header_read_timeout: "30s".into(),
            lookback_delta: "5m".into(),
            enable_feature: Vec::new(),
            admin_api: true,
            engine: "block".into(),
            cache_snapshot_size: 25 << 20,
            cache_max_size: 1 << 30,
            shard_duration: "1d".into(),
            retention: "15d".into(),
            retention_size: None,
            retention_rules: Vec::new(),
            cold_dir: None,
            cold_after: None,
            rule_files: Vec::new(),
            evaluation_interval: "1m".into(),
            rule_query_offset: "0s".into(),
            external_labels: Default::default(),
            external_url: String::new(),
            web_route_prefix: String::new(),
            alerting: Default::default(),
            max_series: None,
            series_limits: Vec::new(),
            max_new_series_per_hour: None,
            max_new_series_per_day: None,
            cardinality_tracking: true,
            cardinality_memory_budget: None,
            explorer_memory_budget: 256 << 20,
            config_file: None,
            max_series_flag: None,
            influxql_prometheus_database: "prometheus".into(),
            cluster: Default::default(),
            rollups: Default::default(),
            rollup_interval: "1m".into(),
            grpc_listen: "127.0.0.1:9091".into(),
            otlp_translation_strategy: "UnderscoreEscapingWithSuffixes".into(),
            otlp_promote_resource_attributes: Vec::new(),
            otlp_promote_scope_metadata: false,
            otlp_convert_histograms_to_nhcb: false,
            memory_limit: None,
            web_config_file: None,
            multi_tenant: false,
            tenants: Default::default(),
            log_format: "text".into(),
            log_level: "info".into(),
        }
    }
}

/// What `enable-feature` takes.
pub(crate) const FEATURES: [&str; 4] = [
    "promql-experimental-functions",
    "promql-delayed-name-removal",
    "promql-duration-expr",
    "promql-extended-range-selectors",
];

/// Settings that do not hold together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl ServerConfig {
    /// Reads a TOML file (keys as in the module docs; unknown keys are an error).
    pub fn from_toml_file(path: &Path) -> Result<ServerConfig, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("reading config file {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| ConfigError(format!("config file {}: {e}", path.display())))
    }

    /// A duration setting in ms.
    pub(crate) fn duration_ms(&self, name: &str, text: &str) -> Result<i64, ConfigError> {
        match parse_duration(text) {
            Ok(ms) if ms > 0 => Ok(ms),
            Ok(_) => Err(ConfigError(format!("{name} must be positive, got {text:?}"))),
            Err(e) => Err(ConfigError(format!("{name}: {e}"))),
        }
    }

    /// The engine's name, and what the TSM engine cannot do yet.
    fn validate_engine(&self) -> Result<(), ConfigError> {
        match self.engine.as_str() {
            "block" => Ok(()),
            "tsm" => {
                let limits = self.max_series.is_some()
                    || !self.series_limits.is_empty()
                    || self.max_new_series_per_hour.is_some()
                    || self.max_new_series_per_day.is_some();
                if limits {
                    return Err(ConfigError(
                        "cardinality limits (max-series, series-limits, max-new-series-per-*) need --engine block: the tsm engine does not enforce them yet".into(),
                    ));
                }
                if self.cold_dir.is_some() || self.cold_after.is_some() {
                    return Err(ConfigError(
                        "cold-dir and cold-after need --engine block (cold shards are block-engine shards)"
                            .into(),
                    ));
                }
                if self.cache_snapshot_size == 0 || self.cache_max_size < self.cache_snapshot_size {
                    return Err(ConfigError(format!(
                        "cache-max-size ({}) must be at least cache-snapshot-size ({}), which must be positive",
                        self.cache_max_size, self.cache_snapshot_size
                    )));
                }
                Ok(())
            }
            other => Err(ConfigError(format!("engine {other:?}: expected block or tsm"))),
        }
    }

    /// Checks every setting, so a mistake stops the server before it opens anything.
    /// `web-route-prefix` normalized: `""` or `/a/b` (no trailing `/`).
    pub fn route_prefix(&self) -> Result<String, ConfigError> {
        let prefix = self.web_route_prefix.trim().trim_end_matches('/');
        if prefix.is_empty() {
            return Ok(String::new());
        }
        let bad = |why: &str| ConfigError(format!("web-route-prefix {:?}: {why}", self.web_route_prefix));
        if !prefix.starts_with('/') {
            return Err(bad("must start with /"));
        }
        if prefix.contains("//") {
            return Err(bad("has an empty path segment (//)"));
        }
        if let Some(c) = prefix.chars().find(|c| !(c.is_ascii_alphanumeric() || "/-._~".contains(*c))) {
            return Err(bad(&format!("{c:?} is not allowed (letters, digits, / - . _ ~)")));
        }
        Ok(prefix.to_string())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_engine()?;
        self.block_range_ms()?;
        self.retention_policy()?;
        self.cold_after_ms()?;
        self.duration_ms("write-wait-timeout", &self.write_wait_timeout)?;
        self.duration_ms("tcp-flush-interval", &self.tcp_flush_interval)?;
        self.duration_ms("query-timeout", &self.query_timeout)?;
        self.http_header_read_timeout()?;
        self.duration_ms("lookback-delta", &self.lookback_delta)?;
        self.sync_policy()?;
        self.validate_rules()?;
        self.limits()?;
        self.rollup_tiers()?;
        self.cluster_options()?;
        self.otlp_options()?;
        self.rollup_interval_ms()?;
        self.web_config()?;
        self.memory_limit_bytes()?;
        self.validate_tenants()?;
        self.route_prefix()?;
        for feature in &self.enable_feature {
            if !FEATURES.contains(&feature.as_str()) {
                return Err(ConfigError(format!(
                    "enable-feature: unknown feature {feature:?} (known: {})",
                    FEATURES.join(", ")
                )));
            }
        }
        for (name, n) in [
            ("max-concurrent-writes", self.max_concurrent_writes),
            ("append-batch", self.append_batch),
            ("tcp-batch-lines", self.tcp_batch_lines),
            ("max-body-bytes", self.max_body_bytes),
            ("query-max-concurrency", self.query_max_concurrency),
            ("max-connections", self.max_connections),
        ] {
            if n == 0 {
                return Err(ConfigError(format!("{name} must be at least 1")));
            }
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(ConfigError(format!("log-format must be text or json, got {:?}", self.log_format)));
        }
        Ok(())
    }

    /// `http-header-read-timeout` (`None`: off).
    pub(crate) fn http_header_read_timeout(&self) -> Result<Option<std::time::Duration>, ConfigError> {
        let text = &self.http_header_read_timeout;
        match parse_duration(text) {
            Ok(ms) if ms > 0 => Ok(Some(std::time::Duration::from_millis(ms as u64))),
            Ok(0) => Ok(None),
            Ok(_) => Err(ConfigError(format!("http-header-read-timeout must not be negative, got {text:?}"))),
            Err(e) => Err(ConfigError(format!("http-header-read-timeout: {e}"))),
        }
    }

    /// `memory-limit` in bytes (0: none).
    pub(crate) fn memory_limit_bytes(&self) -> Result<u64, ConfigError> {
        match self.memory_limit.as_deref() {
            None => Ok(crate::memory_guard::default_limit()),
            Some(text) => {
                strata_model::size::parse_size(text).map_err(|e| ConfigError(format!("memory-limit: {e}")))
            }
        }
    }

    /// The web config file, read and checked (`None` when there is none).
    pub(crate) fn web_config(&self) -> Result<Option<strata_auth::WebConfig>, ConfigError> {
        let Some(path) = &self.web_config_file else { return Ok(None) };
        let config = strata_auth::WebConfig::load(path).map_err(|e| ConfigError(e.to_string()))?;
        if config.tls_enabled() {
            strata_auth::server_config(&config)
                .map_err(|e| ConfigError(format!("web config {}: {e}", path.display())))?;
        }
        Ok(Some(config))
    }

    /// Whether `enable-feature` names `feature`.
    pub(crate) fn feature(&self, feature: &str) -> bool {
        self.enable_feature.iter().any(|f| f == feature)
    }

    pub(crate) fn sync_policy(&self) -> Result<strata_wal::SyncPolicy, ConfigError> {
        use strata_wal::SyncPolicy;
        match self.fsync.as_str() {
            "batch" => Ok(SyncPolicy::Batch),
            "always" => Ok(SyncPolicy::Sync),
            "none" => Ok(SyncPolicy::None),
            other => Err(ConfigError(format!("fsync must be batch, always or none, got {other:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_toml_overrides_them() {
        ServerConfig::default().validate().unwrap();
        let c: ServerConfig = toml::from_str("listen = \"127.0.0.1:1\"\nfsync = \"none\"\n").unwrap();
        assert_eq!(c.listen, "127.0.0.1:1");
        assert_eq!(c.fsync, "none");
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        assert!(toml::from_str::<ServerConfig>("lisen = \"x\"").unwrap_err().to_string().contains("lisen"));
        let bad = ServerConfig { fsync: "sometimes".into(), ..ServerConfig::default() };
        assert!(bad.validate().unwrap_err().0.contains("fsync"));
        let bad = ServerConfig { query_timeout: "0s".into(), ..ServerConfig::default() };
        assert!(bad.validate().unwrap_err().0.contains("query-timeout"));
        let c: ServerConfig = toml::from_str("enable-feature = [\"promql-delayed-name-removal\"]").unwrap();
        c.validate().unwrap();
        assert!(c.feature("promql-delayed-name-removal") && !c.feature("promql-experimental-functions"));
        let bad =
            ServerConfig { enable_feature: vec!["promql-at-modifier".into()], ..ServerConfig::default() };
        assert!(bad.validate().unwrap_err().0.contains("unknown feature \"promql-at-modifier\""));
    }
}
