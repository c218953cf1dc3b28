//! `strata server`: the database. Every setting is a flag, a `STRATA_*` environment
//! variable, or a key of the TOML file given with `--config`, in that order of precedence;
//! `strata server --help` lists them with their defaults (strata_server::ServerConfig).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use strata_server::ServerConfig;

#[derive(Debug, clap::Args)]
#[command(after_help = "Each flag can also be set by the environment variable shown, or as a key of the \
TOML file given with --config (the flag's name without --, e.g. `data-dir = \"/var/lib/strata\"`). \
Flags win over the environment, which wins over the file.")]
pub(crate) struct Args {
    /// TOML file with settings (keys as the flags' names).
    #[arg(long, env = "STRATA_CONFIG")]
    config: Option<PathBuf>,
    /// HTTP address to listen on [default: 127.0.0.1:9090].
    #[arg(long, env = "STRATA_LISTEN")]
    listen: Option<String>,
    /// Data directory [default: ./data].
    #[arg(long, env = "STRATA_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Address of the Influx line protocol TCP listener (off unless given), e.g. 127.0.0.1:8089.
    #[arg(long, env = "STRATA_INFLUX_TCP_LISTEN")]
    influx_tcp_listen: Option<String>,
    /// WAL durability before a write is acknowledged: batch (group commit), always, none [default: batch].
    #[arg(long, env = "STRATA_FSYNC")]
    fsync: Option<String>,
    /// Time range of a block cut from the head [default: 2h].
    #[arg(long, env = "STRATA_BLOCK_RANGE")]
    block_range: Option<String>,
    /// Largest request body, in bytes, after decompression [default: 67108864].
    #[arg(long, env = "STRATA_MAX_BODY_BYTES")]
    max_body_bytes: Option<usize>,
    /// Writes applied at once; more wait for a turn [default: 8].
    #[arg(long, env = "STRATA_MAX_CONCURRENT_WRITES")]
    max_concurrent_writes: Option<usize>,
    /// Writes allowed to wait; more get 503 with Retry-After at once [default: 256].
    #[arg(long, env = "STRATA_MAX_PENDING_WRITES")]
    max_pending_writes: Option<usize>,
    /// How long a write waits for a turn before 503 with Retry-After [default: 10s].
    #[arg(long, env = "STRATA_WRITE_WAIT_TIMEOUT")]
    write_wait_timeout: Option<String>,
    /// Samples appended to the engine per call [default: 10000].
    #[arg(long, env = "STRATA_APPEND_BATCH")]
    append_batch: Option<usize>,
    /// TCP listener: lines gathered before an append [default: 5000].
    #[arg(long, env = "STRATA_TCP_BATCH_LINES")]
    tcp_batch_lines: Option<usize>,
    /// TCP listener: longest a line waits in a batch [default: 1s].
    #[arg(long, env = "STRATA_TCP_FLUSH_INTERVAL")]
    tcp_flush_interval: Option<String>,
    /// Longest a query may run [default: 2m].
    #[arg(long, env = "STRATA_QUERY_TIMEOUT")]
    query_timeout: Option<String>,
    /// Most samples a query may read [default: 50000000].
    #[arg(long, env = "STRATA_QUERY_MAX_SAMPLES")]
    query_max_samples: Option<usize>,
    /// PromQL lookback delta [default: 5m].
    #[arg(long, env = "STRATA_LOOKBACK_DELTA")]
    lookback_delta: Option<String>,
    /// Turn on features that are off by default, comma-separated, by Prometheus' names:
    /// promql-experimental-functions, promql-duration-expr, promql-extended-range-selectors,
    /// promql-delayed-name-removal.
    #[arg(long, env = "STRATA_ENABLE_FEATURE", value_delimiter = ',')]
    enable_feature: Option<Vec<String>>,
    /// Storage engine: block (Prometheus' block format, shards, retention, cardinality
    /// limits) or tsm (InfluxDB 1.x's TSM files); a data dir holds one kind [default: block].
    #[arg(long, env = "STRATA_ENGINE")]
    engine: Option<String>,
    /// tsm engine: snapshot the cache into a TSM file past this many bytes [default: 26214400].
    #[arg(long, env = "STRATA_CACHE_SNAPSHOT_SIZE")]
    cache_snapshot_size: Option<u64>,
    /// tsm engine: refuse writes (503 + Retry-After) past this many bytes of cache
    /// [default: 1073741824].
    #[arg(long, env = "STRATA_CACHE_MAX_SIZE")]
    cache_max_size: Option<u64>,
    /// Time shard duration: data is owned, compacted and deleted by aligned window of this,
    /// e.g. 1h, 1d, 1w [default: 1d].
    #[arg(long, env = "STRATA_SHARD_DURATION")]
    shard_duration: Option<String>,
    /// How long data is kept; 0 keeps it forever. Per-selector rules: `retention-rules` in
    /// the TOML file [default: 15d].
    #[arg(long, env = "STRATA_RETENTION")]
    retention: Option<String>,
    /// The most bytes blocks and WAL may take, e.g. 50GB; the oldest shards go first
    /// [default: none].
    #[arg(long, env = "STRATA_RETENTION_SIZE")]
    retention_size: Option<String>,
    /// Where cold shards go (another disk, typically); needs --cold-after [default: none].
    #[arg(long, env = "STRATA_COLD_DIR")]
    cold_dir: Option<PathBuf>,
    /// Shards this much older than the newest data move to --cold-dir, re-encoded densely
    /// (bit-exact), e.g. 7d [default: none].
    #[arg(long, env = "STRATA_COLD_AFTER")]
    cold_after: Option<String>,
    /// Rule files to evaluate (globs), comma-separated or repeated [default: none].
    #[arg(long, env = "STRATA_RULE_FILES", value_delimiter = ',')]
    rule_files: Option<Vec<String>>,
    /// Interval of rule groups that set none [default: 1m].
    #[arg(long, env = "STRATA_EVALUATION_INTERVAL")]
    evaluation_interval: Option<String>,
    /// The URL users reach this server at, for alerts' generatorURL [default: http://LISTEN].
    #[arg(long, env = "STRATA_EXTERNAL_URL")]
    external_url: Option<String>,
    /// Path prefix the whole server (UI, APIs, probes) answers under, for a reverse proxy
    /// that forwards /prefix/... unchanged (Prometheus' --web.route-prefix) [default: none].
    #[arg(long, env = "STRATA_WEB_ROUTE_PREFIX")]
    web_route_prefix: Option<String>,
    /// An Alertmanager to send alerts to (http://host:9093), comma-separated or repeated
    /// [default: none; `[alerting] alertmanagers` in the TOML file].
    #[arg(long = "alertmanager-url", env = "STRATA_ALERTMANAGER_URL", value_delimiter = ',')]
    alertmanager_url: Option<Vec<String>>,
    /// etcd endpoints (http://host:2379), comma-separated: run as a cluster node with
    /// membership there [default: none, a single node; `[cluster] etcd` in the TOML file].
    #[arg(long = "cluster-etcd", env = "STRATA_CLUSTER_ETCD", value_delimiter = ',')]
    cluster_etcd: Option<Vec<String>>,
    /// This node's id in the cluster, unique (required with --cluster-etcd).
    #[arg(long, env = "STRATA_NODE_ID")]
    node_id: Option<String>,
    /// Where other nodes reach this node's HTTP API, host:port [default: the bound --listen].
    #[arg(long, env = "STRATA_CLUSTER_ADVERTISE")]
    cluster_advertise: Option<String>,
    /// This node's zone (failure domain).
    #[arg(long, env = "STRATA_CLUSTER_ZONE")]
    cluster_zone: Option<String>,
    /// The etcd key prefix of this cluster [default: /strata/cluster].
    #[arg(long, env = "STRATA_CLUSTER_PREFIX")]
    cluster_prefix: Option<String>,
    /// Copies of each series in the cluster [default: 3].
    #[arg(long, env = "STRATA_REPLICATION_FACTOR")]
    replication_factor: Option<usize>,
    /// Keep a series' copies in different zones.
    #[arg(long, env = "STRATA_CLUSTER_ZONE_AWARE")]
    cluster_zone_aware: bool,
    /// How long a node that stopped heartbeating still counts as alive [default: 5s].
    #[arg(long, env = "STRATA_CLUSTER_LEASE_TTL")]
    cluster_lease_ttl: Option<String>,
    /// How long a request to another node may take (a copy, a fan-out read) [default: 10s].
    #[arg(long, env = "STRATA_CLUSTER_REQUEST_TIMEOUT")]
    cluster_request_timeout: Option<String>,
    /// How long the ring must stay unchanged before re-replication copies history to the
    /// members that need it (a node back within it costs no copy of its share) [default: 60s].
    #[arg(long, env = "STRATA_CLUSTER_REPAIR_DELAY")]
    cluster_repair_delay: Option<String>,
    /// Most active series in all; new series past it are refused (per-selector limits:
    /// `series-limits` in the TOML file) [default: none].
    #[arg(long, env = "STRATA_MAX_SERIES")]
    max_series: Option<u64>,
    /// Track new series for the cardinality report (true or false; limits apply either
    /// way) [default: true].
    #[arg(long, env = "STRATA_CARDINALITY_TRACKING")]
    cardinality_tracking: Option<bool>,
    /// Bytes one cardinality explorer request may hold while it counts; past it the request
    /// is refused [default: 268435456].
    #[arg(long, env = "STRATA_EXPLORER_MEMORY_BUDGET")]
    explorer_memory_budget: Option<u64>,
    /// Serve /api/v1/admin/* (true or false) [default: true].
    #[arg(long, env = "STRATA_ADMIN_API")]
    admin_api: Option<bool>,
    /// The InfluxQL database that holds the series written without a `db` (by Prometheus'
    /// protocols) [default: prometheus].
    #[arg(long, env = "STRATA_INFLUXQL_PROMETHEUS_DATABASE")]
    influxql_prometheus_database: Option<String>,
    /// Rollup tiers: on (the TOML file's tiers, else 1m kept 30d, 1h kept 1y, 1d forever),
    /// off, or tiers like 1m:30d,1h:1y,1d:forever [default: on].
    #[arg(long, env = "STRATA_ROLLUPS")]
    rollups: Option<String>,
    /// How often the rollup job looks for settled spans to roll up [default: 1m].
    #[arg(long, env = "STRATA_ROLLUP_INTERVAL")]
    rollup_interval: Option<String>,
    /// Address of the OTLP gRPC listener (MetricsService), or off [default: 127.0.0.1:9091].
    #[arg(long, env = "STRATA_GRPC_LISTEN")]
    grpc_listen: Option<String>,
    /// How OTLP names become Prometheus names: UnderscoreEscapingWithSuffixes,
    /// UnderscoreEscapingWithoutSuffixes, NoUTF8EscapingWithSuffixes or NoTranslation
    /// [default: UnderscoreEscapingWithSuffixes].
    #[arg(long, env = "STRATA_OTLP_TRANSLATION_STRATEGY")]
    otlp_translation_strategy: Option<String>,
    /// OTLP resource attributes copied as labels onto every series of their resource
    /// (comma-separated), e.g. k8s.namespace.name,cloud.region.
    #[arg(long, env = "STRATA_OTLP_PROMOTE_RESOURCE_ATTRIBUTES", value_delimiter = ',')]
    otlp_promote_resource_attributes: Option<Vec<String>>,
    /// Add OTLP's instrumentation scope as otel_scope_name, otel_scope_version and
    /// otel_scope_<attribute> labels [default: false].
    #[arg(long, env = "STRATA_OTLP_PROMOTE_SCOPE_METADATA")]
    otlp_promote_scope_metadata: Option<bool>,
    /// Store OTLP explicit-bucket histograms as native histograms with custom buckets
    /// instead of _bucket/_count/_sum series [default: false].
    #[arg(long, env = "STRATA_OTLP_CONVERT_HISTOGRAMS_TO_NHCB")]
    otlp_convert_histograms_to_nhcb: Option<bool>,
    /// Queries (PromQL, InfluxQL) evaluated at once; more wait up to the query timeout,
    /// then get 503 [default: 20].
    #[arg(long, env = "STRATA_QUERY_MAX_CONCURRENCY")]
    query_max_concurrency: Option<usize>,
    /// HTTP connections open at once; past it new ones wait in the kernel's backlog
    /// [default: 512].
    #[arg(long, env = "STRATA_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// Longest wait for a request's head, and for the next request on an idle keep-alive
    /// connection, before the connection is closed (slow clients); 0s for none [default: 30s].
    #[arg(long, env = "STRATA_HTTP_HEADER_READ_TIMEOUT")]
    http_header_read_timeout: Option<String>,
    /// Resident memory to stay under by shedding load (drop caches, cut the head, smaller
    /// queries, then 503 to writes): a size like 4GiB, or 0 for none [default: 60% of the
    /// machine's or cgroup's memory].
    #[arg(long, env = "STRATA_MEMORY_LIMIT")]
    memory_limit: Option<String>,
    /// Prometheus' web configuration file (basic_auth_users, tls_server_config; Strata adds
    /// bearer_tokens and admin_users): authentication and TLS for the HTTP listener
    /// [default: none: open, plain HTTP].
    #[arg(long, env = "STRATA_WEB_CONFIG_FILE")]
    web_config_file: Option<PathBuf>,
    /// Tenants: every write and read names one with the X-Scope-OrgID header or a
    /// /tenant/<id>/ URL prefix and sees only its own series [default: false].
    #[arg(long, env = "STRATA_MULTI_TENANT", num_args = 0..=1, default_missing_value = "true")]
    multi_tenant: Option<bool>,
    /// Log format: text or json [default: text].
    #[arg(long, env = "STRATA_LOG_FORMAT")]
    log_format: Option<String>,
    /// Log filter, e.g. info or strata_server=debug [default: info].
    #[arg(long, env = "STRATA_LOG_LEVEL")]
    log_level: Option<String>,
}

impl Args {
    /// The settings: defaults, overridden by the file, overridden by flags and environment.
    fn config(self) -> anyhow::Result<ServerConfig> {
        let mut c = match &self.config {
            Some(path) => ServerConfig::from_toml_file(path)?,
            None => ServerConfig::default(),
        };
        macro_rules! set {
            ($($field:ident),*) => { $( if let Some(v) = self.$field { c.$field = v; } )* };
        }
        set!(
            listen,
            data_dir,
            fsync,
            block_range,
            max_body_bytes,
            max_concurrent_writes,
            max_pending_writes,
            write_wait_timeout,
            append_batch,
            tcp_batch_lines,
            tcp_flush_interval,
            query_timeout,
            query_max_samples,
            query_max_concurrency,
            max_connections,
            http_header_read_timeout,
            lookback_delta,
            enable_feature,
            engine,
            cache_snapshot_size,
            cache_max_size,
            shard_duration,
            retention,
            admin_api,
            cardinality_tracking,
            explorer_memory_budget,
            rule_files,
            evaluation_interval,
            external_url,
            web_route_prefix,
            influxql_prometheus_database,
            rollup_interval,
            grpc_listen,
            otlp_translation_strategy,
            otlp_promote_resource_attributes,
            otlp_promote_scope_metadata,
            otlp_convert_histograms_to_nhcb,
            multi_tenant,
            log_format,
            log_level
        );
        match self.rollups {
            // `on` keeps the file's tiers when it has some.
            Some(on) if on == "on" && matches!(c.rollups, strata_server::RollupsConfig::Tiers(_)) => {}
            Some(text) => c.rollups = strata_server::RollupsConfig::Text(text),
            None => {}
        }
        if self.influx_tcp_listen.is_some() {
            c.influx_tcp_listen = self.influx_tcp_listen;
        }
        if self.retention_size.is_some() {
            c.retention_size = self.retention_size;
        }
        if self.memory_limit.is_some() {
            c.memory_limit = self.memory_limit;
        }
        if self.web_config_file.is_some() {
            c.web_config_file = self.web_config_file;
        }
        if self.cold_dir.is_some() {
            c.cold_dir = self.cold_dir;
        }
        if self.cold_after.is_some() {
            c.cold_after = self.cold_after;
        }
        if let Some(etcd) = self.cluster_etcd {
            c.cluster.etcd = etcd;
        }
        let cluster = &mut c.cluster;
        cluster.node_id = self.node_id.or(cluster.node_id.take());
        cluster.advertise = self.cluster_advertise.or(cluster.advertise.take());
        cluster.zone = self.cluster_zone.or(cluster.zone.take());
        if let Some(prefix) = self.cluster_prefix {
            cluster.prefix = prefix;
        }
        if let Some(rf) = self.replication_factor {
            cluster.replication_factor = rf;
        }
        if let Some(ttl) = self.cluster_lease_ttl {
            cluster.lease_ttl = ttl;
        }
        if let Some(timeout) = self.cluster_request_timeout {
            cluster.request_timeout = timeout;
        }
        if let Some(delay) = self.cluster_repair_delay {
            cluster.repair_delay = delay;
        }
        cluster.zone_aware |= self.cluster_zone_aware;
        if let Some(urls) = self.alertmanager_url {
            c.alerting.alertmanagers = urls;
        }
        if self.max_series.is_some() {
            c.max_series = self.max_series;
            c.max_series_flag = self.max_series;
        }
        c.config_file = self.config.clone();
        c.validate()?;
        Ok(c)
    }
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = args.config()?;
    strata_server::init_logging(&config.log_format, &config.log_level);
    strata_server::run(config).context("strata server")?;
    Ok(ExitCode::SUCCESS)
}
