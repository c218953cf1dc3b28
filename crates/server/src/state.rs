//! What every handler shares: the engine, the settings, the counters, the write gate.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use strata_promql::EngineOptions;
use strata_tenant::{EngineView, TenantId};

use crate::backend::Backend;

use crate::config::{ConfigError, ServerConfig};
use crate::health::Health;
use crate::ingest_batch::{self, Batch, WriteSummary};
use crate::metrics::{Metrics, Protocol};
use crate::series_cache::SeriesCaches;
use crate::write_gate::WriteGate;

/// Why a write is refused under critical memory pressure (`memory_guard`).
pub(crate) const MEMORY_PRESSURE_WRITES: &str =
    "memory pressure: writes are paused until memory use falls; retry later";

/// Series each ingest protocol's cache holds at most (~100 bytes each).
const SERIES_CACHE_CAPACITY: usize = 1 << 20;

/// The server's shared state.
#[derive(Debug)]
pub(crate) struct AppState {
    /// The storage engine (`--engine`).
    pub(crate) backend: Backend,
    pub(crate) config: ServerConfig,
    /// OTLP translation options, parsed once from `config`.
    pub(crate) otlp_options: strata_otlp::Options,
    /// The PromQL engine's options (a request may shorten the timeout or change lookback).
    pub(crate) query_options: EngineOptions,
    pub(crate) metrics: Metrics,
    /// Troubles `/admin/status` reports as "degraded".
    pub(crate) health: Health,
    pub(crate) writes: WriteGate,
    /// The TCP listener's `tcp-flush-interval`.
    pub(crate) tcp_flush_every: Duration,
    /// Raw series bytes → ref, per protocol (`series_cache`): the whole store's; each
    /// tenant has its own (`tenants`).
    pub(crate) series_caches: Arc<SeriesCaches>,
    /// Tenants' caches, catalogs, rates and counters (module `tenancy`).
    pub(crate) tenants: crate::tenancy::Tenants,
    /// Cardinality limits, asked by the head before it creates a series.
    pub(crate) limiter: Arc<strata_cardinality::Limiter>,
    /// What new series tell about cardinality (growth history in the data dir).
    pub(crate) tracker: Arc<strata_cardinality::Tracker>,
    /// The rule engine (recording and alerting rules).
    pub(crate) rules: Arc<strata_rules::RuleManager>,
    /// InfluxQL's databases, retention policies and (measurement, field) pairs (the whole
    /// store's; each tenant has its own).
    pub(crate) influx_catalog: Arc<strata_influxql::Catalog>,
    /// Rollup tiers and their job (block engine, unless `rollups = "off"`).
    pub(crate) rollups: Option<crate::rollup_runner::Rollups>,
    /// InfluxQL's continuous queries: their scheduler and figures.
    pub(crate) continuous_queries: crate::continuous_queries::ContinuousQueries,
    /// InfluxDB subscriptions' sender (`strata_subscriber`).
    pub(crate) subscriber: Arc<strata_subscriber::Subscriber>,
    /// Query slots (`query-max-concurrency`).
    pub(crate) queries: crate::query_gate::QueryGate,
    /// Open HTTP connections (`max-connections`).
    pub(crate) connections: crate::connection_limit::ConnectionBudget,
    /// Resident memory against `memory-limit` (`memory_guard`).
    pub(crate) memory: crate::memory_guard::MemoryGuard,
    /// Who may ask what (`--web-config-file`; module `access`).
    pub(crate) access: crate::access::Access,
    /// This node's part in a cluster, once it has joined (`[cluster]`; none alone).
    pub(crate) cluster: std::sync::OnceLock<strata_cluster::ClusterNode>,
    /// Set on SIGTERM/SIGINT: writes are refused from then on.
    stopping: AtomicBool,
}

/// Handlers' state.
pub(crate) type Shared = Arc<AppState>;

impl AppState {
    pub(crate) fn new(backend: Backend, config: ServerConfig) -> Result<AppState, ConfigError> {
        let ms = |name: &str, text: &str| config.duration_ms(name, text);
        let query_options = EngineOptions {
            lookback_delta_ms: ms("lookback-delta", &config.lookback_delta)?,
            max_samples: config.query_max_samples,
            timeout: Duration::from_millis(ms("query-timeout", &config.query_timeout)? as u64),
            experimental_functions: config.feature("promql-experimental-functions"),
            delayed_name_removal: config.feature("promql-delayed-name-removal"),
            duration_expressions: config.feature("promql-duration-expr"),
            extended_range_selectors: config.feature("promql-extended-range-selectors"),
            ..EngineOptions::default()
        };
        let writes = WriteGate::new(
            config.max_concurrent_writes,
            config.max_pending_writes,
            Duration::from_millis(ms("write-wait-timeout", &config.write_wait_timeout)? as u64),
        );
        let tcp_flush_every =
            Duration::from_millis(ms("tcp-flush-interval", &config.tcp_flush_interval)? as u64);
        let notifier = config.notifier_options()?.map(strata_rules::notifier::Notifier::start);
        let rules = Arc::new(strata_rules::RuleManager::new(
            backend.rule_storage(),
            strata_promql::QueryEngine::new(query_options.clone()),
            config.rule_manager_options()?,
            notifier,
        ));
        let limiter =
            Arc::new(strata_cardinality::Limiter::new(config.limits()?, &|m: &[strata_model::Matcher]| {
                backend.count_series(m)
            }));
        let tracker = Arc::new(strata_cardinality::Tracker::open(Some(
            &config.data_dir.join("strata_cardinality.json"),
        )));
        let admission: Arc<dyn strata_storage::SeriesAdmission> = if config.cardinality_tracking {
            Arc::new(strata_cardinality::Admission { limiter: limiter.clone(), tracker: tracker.clone() })
        } else {
            limiter.clone()
        };
        // The TSM engine has no admission hook yet: config validation refuses limits with it,
        // and the tracker hears of nothing.
        if let Some(block) = backend.block() {
            block.head().set_admission(Some(admission));
        }
        let influx_catalog = Arc::new(
            strata_influxql::Catalog::open(&config.data_dir.join("influxql"))
                .map_err(|e| ConfigError(e.to_string()))?,
        );
        let tenants = crate::tenancy::Tenants::new(
            config.multi_tenant,
            &config.data_dir,
            SERIES_CACHE_CAPACITY,
            limiter.epoch(),
        );
        tenants.rates.set_limits(config.tenant_rates()?);
        let rollups = match (backend.block(), config.rollup_tiers()?) {
            (Some(engine), Some(tiers)) => {
                let store = strata_rollup::RollupStore::open(&config.data_dir.join("rollups"), tiers)
                    .map_err(|e| ConfigError(format!("rollups: {e}")))?;
                let interval = Duration::from_millis(config.rollup_interval_ms()? as u64);
                Some(crate::rollup_runner::Rollups::start(engine.clone(), store, interval))
            }
            _ => None,
        };
        let otlp_options = config.otlp_options()?;
        let access = crate::access::Access::load(config.web_config_file.clone())?;
        let series_caches = Arc::new(SeriesCaches::new(SERIES_CACHE_CAPACITY, limiter.epoch()));
        Ok(AppState {
            queries: crate::query_gate::QueryGate::new(config.query_max_concurrency),
            connections: crate::connection_limit::ConnectionBudget::new(config.max_connections),
            memory: crate::memory_guard::MemoryGuard::new(config.memory_limit_bytes()?),
            access,
            otlp_options,
            rollups,
            continuous_queries: Default::default(),
            subscriber: strata_subscriber::Subscriber::start(),
            influx_catalog,
            limiter,
            tracker,
            rules,
            backend,
            config,
            query_options,
            metrics: Metrics::default(),
            health: Health::default(),
            writes,
            tcp_flush_every,
            series_caches,
            tenants,
            cluster: std::sync::OnceLock::new(),
            stopping: AtomicBool::new(false),
        })
    }

    /// The engine as a request for `tenant` sees it (`None`: all of it).
    pub(crate) fn engine_for(&self, tenant: Option<&TenantId>) -> EngineView<'_> {
        EngineView::new(self.backend.engine(), tenant)
    }

    /// The series caches of `tenant`'s writes (`None`: the whole store's).
    pub(crate) fn series_caches_for(&self, tenant: Option<&TenantId>) -> Arc<SeriesCaches> {
        match tenant {
            None => self.series_caches.clone(),
            Some(t) => self.tenants.caches(t),
        }
    }

    /// The InfluxQL catalog of `tenant` (`None`: the whole store's).
    pub(crate) fn influx_catalog_for(
        &self,
        tenant: Option<&TenantId>,
    ) -> Result<Arc<strata_influxql::Catalog>, ConfigError> {
        match tenant {
            None => Ok(self.influx_catalog.clone()),
            Some(t) => self.tenants.catalog(t),
        }
    }

    /// Empties every series cache, the tenants' too.
    pub(crate) fn clear_series_caches(&self) {
        self.series_caches.clear();
        self.tenants.clear_caches();
    }

    /// Appends a parsed batch for `tenant` (blocking: call it from a blocking thread) once
    /// its ingest rate allows `samples` more (floats and histograms of the request); a
    /// storage failure is also noted for `/admin/status`.
    pub(crate) fn apply(
        &self,
        tenant: Option<&TenantId>,
        protocol: Protocol,
        batch: Batch<'_>,
        samples: usize,
    ) -> WriteSummary {
        if let Some(t) = tenant {
            if let Err(wait) = self.tenants.rates.take(t, samples) {
                self.metrics.rejected("tenant_rate_limit", samples);
                self.tenants.count(t, |c| c.samples_rate_limited += samples as u64);
                return WriteSummary::rate_limited(t.as_str(), wait);
            }
        }
        let view = self.engine_for(tenant);
        let summary = ingest_batch::apply(
            view.engine(),
            &self.metrics,
            protocol,
            batch,
            self.config.append_batch,
            Some(&self.limiter),
        );
        self.after_write(tenant, summary.written, summary.refused, summary.storage_error.as_deref());
        summary
    }

    /// Appends a request's native histograms into `summary` (see `ingest_batch`).
    pub(crate) fn apply_histograms(
        &self,
        tenant: Option<&TenantId>,
        protocol: Protocol,
        batch: crate::remote_histograms::HistogramBatch,
        summary: &mut WriteSummary,
    ) {
        if summary.rate_limited.is_some() {
            return;
        }
        let before = (summary.written, summary.refused);
        let view = self.engine_for(tenant);
        ingest_batch::apply_histograms(
            view.engine(),
            &self.metrics,
            protocol,
            batch,
            self.config.append_batch,
            summary,
        );
        let (written, refused) = (summary.written - before.0, summary.refused - before.1);
        self.after_write(tenant, written, refused, summary.storage_error.as_deref());
    }

    /// Notes a write's outcome: a storage failure for `/admin/status`, the tenant's counts.
    fn after_write(
        &self,
        tenant: Option<&TenantId>,
        written: usize,
        refused: usize,
        storage_error: Option<&str>,
    ) {
        if let Some(e) = storage_error {
            self.health.storage_failed(e);
        }
        if let Some(t) = tenant {
            self.tenants.count(t, |c| {
                c.samples_written += written as u64;
                c.samples_refused += refused as u64;
            });
        }
    }

    /// Takes the cardinality limits of a freshly read config (SIGHUP, `POST /-/reload`).
    fn reload_limits(&self, fresh: &ServerConfig) -> Result<(), ConfigError> {
        let limits = fresh.limits()?;
        let backend = &self.backend;
        self.limiter.reload(limits, &|m: &[strata_model::Matcher]| backend.count_series(m));
        Ok(())
    }

    /// Reloads what can be reloaded without a restart: cardinality limits, then the web
    /// config's users, tokens and headers. On an error the running settings stay.
    pub(crate) fn reload_config(&self) -> Result<(), ConfigError> {
        let fresh = self.config.reloaded()?;
        self.reload_limits(&fresh)?;
        self.tenants.rates.set_limits(fresh.tenant_rates()?);
        self.access.reload()
    }

    pub(crate) fn stop_writes(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}

/// Now, in ms since the epoch.
/// The wall clock in nanoseconds since the epoch (InfluxDB's unit).
pub(crate) fn now_ns() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(now.as_nanos()).unwrap_or(i64::MAX)
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
