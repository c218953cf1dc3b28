//! Starting and stopping the server: open the engine (replaying its WAL), bind the HTTP
//! listener (and the Influx TCP and OTLP gRPC ones if on), serve until told to stop; then refuse new writes,
//! let the requests in flight finish, sync the WAL and close the engine.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use strata_storage::BlockEngine;
use strata_tsm::{ShardedTsm, TsmOptions};

use crate::backend::Backend;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::ServerConfig;
use crate::connection_limit::LimitedListener;
use crate::state::{AppState, Shared};
use crate::{
    access, admin_api, cardinality_api, cardinality_explorer, cluster_api, http_serve, influxql_api,
    memory_guard, meta_api, otlp_api, otlp_grpc, process_limits, query_api, rollup_api, rules_api,
    status_api, tcp_listener, tls_serve, write_api,
};

/// Why the server could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A setting is wrong.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The data dir could not be opened.
    #[error("opening the data dir {dir}: {source}")]
    Storage {
        /// The data dir.
        dir: std::path::PathBuf,
        /// What failed.
        source: strata_storage::StorageError,
    },
    /// A listener could not be bound.
    #[error("listening on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// What failed.
        source: std::io::Error,
    },
    /// Something else failed at runtime.
    #[error("{0}")]
    Runtime(String),
}

/// A server that is running; stop it with [`RunningServer::stop`].
#[derive(Debug)]
pub struct RunningServer {
    /// The HTTP address it listens on.
    pub http_addr: SocketAddr,
    /// The Influx TCP listener's address, if on.
    pub tcp_addr: Option<SocketAddr>,
    /// The OTLP gRPC listener's address, if on.
    pub grpc_addr: Option<SocketAddr>,
    state: Shared,
    stop: watch::Sender<bool>,
    http: tokio::task::JoinHandle<()>,
    tcp: Option<tokio::task::JoinHandle<()>>,
    grpc: Option<tokio::task::JoinHandle<()>>,
    ticker: tokio::task::JoinHandle<()>,
    /// The continuous-query service (`continuous_queries`).
    continuous_queries: tokio::task::JoinHandle<()>,
}

/// Opens the engine and starts serving (see the module docs).
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServerError> {
    config.validate()?;
    if let Some(limit) = process_limits::raise_open_files_limit() {
        tracing::info!(limit, "open files limit");
    }
    let engine = open_engine(&config).await?;
    let state: Shared = Arc::new(AppState::new(engine, config.clone())?);
    load_rules(&state).await?;
    let listener = TcpListener::bind(&config.listen)
        .await
        .map_err(|source| ServerError::Bind { addr: config.listen.clone(), source })?;
    let http_addr = listener.local_addr().map_err(|e| ServerError::Runtime(e.to_string()))?;
    cluster_api::join(&state, &config, http_addr).await?;
    let (stop, stopped) = watch::channel(false);
    let mut tcp_addr = None;
    let tcp = match &config.influx_tcp_listen {
        Some(addr) => {
            let tcp_listener = TcpListener::bind(addr)
                .await
                .map_err(|source| ServerError::Bind { addr: addr.clone(), source })?;
            tcp_addr = tcp_listener.local_addr().ok();
            tracing::info!(addr = ?tcp_addr, "influx line protocol TCP listener started");
            Some(tokio::spawn(tcp_listener::serve(tcp_listener, state.clone(), stopped.clone())))
        }
        None => None,
    };
    let tls = state.access.tls();
    let mut grpc_addr = None;
    let grpc = match config.grpc_addr() {
        Some(addr) => {
            let (grpc_listener, local) = otlp_grpc::bind(addr)
                .await
                .map_err(|source| ServerError::Bind { addr: addr.to_string(), source })?;
            grpc_addr = Some(local);
            tracing::info!(addr = %local, "OTLP gRPC listener started");
            Some(tokio::spawn(otlp_grpc::serve(grpc_listener, state.clone(), tls.clone(), stopped.clone())))
        }
        None => None,
    };
    let app = router(state.clone());
    let header_timeout = config.http_header_read_timeout()?;
    let tls_on = tls.is_some();
    let http = match tls {
        Some(tls) => {
            let listener = tls_serve::TlsListener::new(listener, tls, state.clone())
                .map_err(|e| ServerError::Runtime(format!("starting TLS: {e}")))?;
            let listener = LimitedListener::new(listener, &state.connections);
            tokio::spawn(http_serve::serve(listener, app, stopped.clone(), header_timeout))
        }
        None => {
            let listener = LimitedListener::new(listener, &state.connections);
            tokio::spawn(http_serve::serve(listener, app, stopped.clone(), header_timeout))
        }
    };
    if !state.access.auth_enabled() && !is_loopback(&http_addr) {
        tracing::warn!(addr = %http_addr, "no authentication: anyone who reaches this address can read, write and delete (see --web-config-file)");
    }
    if state.access.auth_enabled() && tcp_addr.is_some() {
        tracing::warn!("the Influx TCP listener takes no credentials; bind it to loopback or turn it off");
    }
    let ticker = tokio::spawn(tick(state.clone()));
    let continuous_queries = tokio::spawn(crate::continuous_queries::run(state.clone()));
    tracing::info!(addr = %http_addr, tls = tls_on, "HTTP server started");
    Ok(RunningServer {
        http_addr,
        tcp_addr,
        grpc_addr,
        state,
        stop,
        http,
        tcp,
        grpc,
        ticker,
        continuous_queries,
    })
}

fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

/// Loads the rule files and starts their groups; a bad rule file stops the start.
async fn load_rules(state: &Shared) -> Result<(), ServerError> {
    let (rules, files) = (state.rules.clone(), state.config.rule_files.clone());
    let loaded = tokio::task::spawn_blocking(move || rules.load(&files))
        .await
        .map_err(|e| ServerError::Runtime(e.to_string()))?;
    match loaded {
        Ok(report) => {
            tracing::info!(
                files = report.files,
                groups = report.groups,
                rules = report.rules,
                "rules loaded"
            );
            Ok(())
        }
        Err(errors) => Err(ServerError::Runtime(format!("loading rule files: {}", errors.join("; ")))),
    }
}

async fn open_engine(config: &ServerConfig) -> Result<Backend, ServerError> {
    let dir = config.data_dir.clone();
    tracing::info!(dir = %dir.display(), engine = %config.engine, "opening the data dir and replaying the WAL");
    let started = Instant::now();
    let storage_error = |source| ServerError::Storage { dir: config.data_dir.clone(), source };
    let backend = if config.engine == "tsm" {
        let options = TsmOptions {
            cache_snapshot_bytes: config.cache_snapshot_size,
            cache_max_bytes: config.cache_max_size,
            sync_wal: config.fsync != "none",
            ..TsmOptions::default()
        };
        let shard_duration = config.shard_duration_ms()?;
        let retention = config.retention_policy()?.time;
        let engine =
            tokio::task::spawn_blocking(move || ShardedTsm::open(&dir, options, shard_duration, retention))
                .await
                .map_err(|e| ServerError::Runtime(e.to_string()))?
                .map_err(storage_error)?;
        Backend::Tsm(Arc::new(engine))
    } else {
        let options = config.engine_options()?;
        let engine = tokio::task::spawn_blocking(move || BlockEngine::open_shared(&dir, options))
            .await
            .map_err(|e| ServerError::Runtime(e.to_string()))?
            .map_err(storage_error)?;
        Backend::Block(engine)
    };
    for skipped in backend.health().skipped_blocks {
        tracing::warn!(damage = %skipped, "damaged file left out");
    }
    let stats = backend.engine().stats().map_err(storage_error)?;
    tracing::info!(
        took_ms = started.elapsed().as_millis() as u64,
        engine = backend.name(),
        head_series = stats.head_series,
        head_samples = stats.head_samples,
        blocks = stats.blocks,
        block_samples = stats.block_samples,
        "data dir open: WAL replayed"
    );
    Ok(backend)
}

/// Records totals every second for `/admin/status`'s rates, and every minute the series
/// count for the cardinality growth history and the engine's upkeep (TSM retention).
async fn tick(state: Shared) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    let mut seconds = 0u64;
    loop {
        every.tick().await;
        state.metrics.tick();
        guard_memory(&state).await;
        if seconds.is_multiple_of(60) {
            let state = state.clone();
            let _ = tokio::task::spawn_blocking(move || {
                state.tracker.tick(state.backend.count_series(&[]));
                if let Err(e) = state.backend.maintain() {
                    tracing::warn!(error = %e, "retention failed");
                }
            })
            .await;
        }
        seconds += 1;
    }
}

/// Cuts the head into blocks but for its newest quarter block range (late samples of the
/// current minutes stay writable); the TSM engine snapshots its cache.
fn cut_head_for_memory(state: &Shared) -> Result<strata_storage::FlushReport, strata_storage::StorageError> {
    let Some(engine) = state.backend.block() else { return state.backend.engine().flush() };
    let Some((_, newest)) = engine.head().time_range() else { return Ok(Default::default()) };
    let keep = state.config.block_range_ms().unwrap_or(2 * 3_600_000) / 4;
    engine.cut_head_before(newest.saturating_sub(keep))
}

/// One reading of the memory guard, and what it asks for (see `memory_guard`).
async fn guard_memory(state: &Shared) {
    let Some(rss) = memory_guard::guarded_bytes() else { return };
    let response = state.memory.observe(rss);
    if response.drop_caches {
        state.clear_series_caches();
    }
    if response.cut_head {
        let state = state.clone();
        let _ = tokio::task::spawn_blocking(move || match cut_head_for_memory(&state) {
            Ok(report) => {
                tracing::warn!(blocks = report.written.len(), "memory pressure: the head was cut into blocks")
            }
            Err(e) => tracing::error!(error = %e, "memory pressure: cutting the head failed"),
        })
        .await;
    }
}

impl RunningServer {
    /// Stops: new writes are refused (503), the listeners close once the requests in flight
    /// are answered, the WAL is synced and the engine closed.
    pub async fn stop(self) -> Result<(), ServerError> {
        tracing::info!("stopping: refusing new writes, finishing requests in flight");
        self.state.stop_writes();
        cluster_api::leave(&self.state).await;
        let _ = self.stop.send(true);
        self.http.await.map_err(|e| ServerError::Runtime(e.to_string()))?;
        if let Some(tcp) = self.tcp {
            let _ = tcp.await;
        }
        if let Some(grpc) = self.grpc {
            let _ = grpc.await;
        }
        self.ticker.abort();
        self.continuous_queries.abort();
        self.state.subscriber.stop();
        let rules = self.state.rules.clone();
        let _ = tokio::task::spawn_blocking(move || rules.stop()).await;
        let state = self.state.clone();
        let _ = tokio::task::spawn_blocking(move || {
            if let Some(rollups) = &state.rollups {
                rollups.stop();
            }
        })
        .await;
        if let Err(e) = self.state.tracker.persist() {
            tracing::warn!(error = %e, "could not save the cardinality growth history");
        }
        let state = self.state;
        tokio::task::spawn_blocking(move || {
            let synced = state.backend.sync_wal();
            drop(state);
            synced
        })
        .await
        .map_err(|e| ServerError::Runtime(e.to_string()))?
        .map_err(|e| ServerError::Runtime(format!("syncing the WAL: {e}")))?;
        tracing::info!("stopped: WAL synced, engine closed");
        Ok(())
    }
}

/// Every route.
fn router(state: Shared) -> Router {
    let api = Router::new()
        .route("/write", post(write_api::write_v1))
        .route("/api/v2/write", post(write_api::write_v2))
        .route("/api/v1/import/prometheus", post(write_api::import_prometheus))
        .route("/api/v1/write", post(write_api::remote_write))
        .route("/api/v1/otlp/v1/metrics", post(otlp_api::metrics))
        .route("/v1/metrics", post(otlp_api::metrics))
        .route("/api/v1/read", post(admin_api::remote_read))
        .route("/api/v1/query", get(query_api::instant).post(query_api::instant))
        .route("/query", get(influxql_api::query).post(influxql_api::query))
        .route("/api/v1/query_range", get(query_api::range).post(query_api::range))
        .route("/api/v1/series", get(meta_api::series).post(meta_api::series))
        .route("/api/v1/labels", get(meta_api::labels).post(meta_api::labels))
        .route("/api/v1/label/{name}/values", get(meta_api::label_values))
        .route("/api/v1/metadata", get(meta_api::metadata))
        .route("/api/v1/status/buildinfo", get(status_api::buildinfo))
        .route("/api/v1/status/tsdb", get(status_api::tsdb))
        .route("/api/v1/status/cluster", get(cluster_api::status))
        .route(strata_cluster::BACKFILL_PATH, post(crate::cluster_repair::backfill))
        .route("/cluster/v1/cleanup", post(crate::cluster_repair::cleanup))
        .route("/api/v1/status/rollups", get(rollup_api::status))
        .route("/api/v1/status/retention", get(status_api::retention))
        .route("/api/v1/cardinality", get(cardinality_api::report))
        .route(
            "/api/v1/cardinality/label_names",
            get(cardinality_explorer::label_names).post(cardinality_explorer::label_names),
        )
        .route(
            "/api/v1/cardinality/label_values",
            get(cardinality_explorer::label_values).post(cardinality_explorer::label_values),
        )
        .route(
            "/api/v1/admin/tsdb/delete_series",
            post(admin_api::delete_series).put(admin_api::delete_series),
        )
        .route("/api/v1/admin/tsdb/snapshot", post(admin_api::snapshot).put(admin_api::snapshot))
        .route(
            "/api/v1/admin/tsdb/clean_tombstones",
            post(admin_api::clean_tombstones).put(admin_api::clean_tombstones),
        )
        .route("/api/v1/rules", get(rules_api::rules).post(rules_api::rules))
        .route("/api/v1/alerts", get(rules_api::alerts))
        .route("/-/reload", post(rules_api::reload).put(rules_api::reload))
        .route("/admin/status", get(status_api::admin_status))
        .route("/metrics", get(status_api::metrics))
        .route("/-/healthy", get(status_api::healthy))
        .route("/-/ready", get(status_api::ready))
        .route("/ping", get(status_api::ping).head(status_api::ping))
        .route("/api/v1/status/flags", get(status_api::flags))
        .merge(crate::web_ui::routes());
    // Access control runs inside the request counter, so refusals are counted too; the
    // tenant is resolved once the caller is known.
    let api = api
        .layer(middleware::from_fn_with_state(state.clone(), crate::tenancy::resolve_tenant))
        .layer(middleware::from_fn_with_state(state.clone(), access::require_access));
    // A multi-tenant server also answers every route under `/tenant/<id>/` (module `tenancy`).
    let routes = if state.tenants.enabled() {
        Router::new().nest("/tenant/{tenant}", api.clone()).merge(api)
    } else {
        api
    };
    let prefix = state.config.route_prefix().unwrap_or_default();
    let routes = routes
        .layer(middleware::from_fn_with_state(state.clone(), count_requests))
        // Bodies are limited by each handler (after decompression too), not by axum's default.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(state);
    crate::route_prefix::serve_under(&prefix, routes)
}

/// Counts requests by route and status code for `/metrics`.
async fn count_requests(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let handler = request.extensions().get::<MatchedPath>().map_or("other", |p| p.as_str()).to_string();
    let response = next.run(request).await;
    state.metrics.http_request(&handler, response.status().as_u16());
    response
}

/// Runs the server until SIGTERM or SIGINT, then stops it cleanly (the blocking entry point
/// of `strata server`).
pub fn run(config: ServerConfig) -> Result<(), ServerError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("strata-server")
        // Parsing and evaluating recurse once per level of a query's expression tree, which
        // `strata_promql::parse` bounds (MAX_NESTING, MAX_OPERATORS); 16 MiB holds the deepest
        // it lets through with room to spare (2 MiB, the default, did not).
        .thread_stack_size(16 << 20)
        .build()
        .map_err(|e| ServerError::Runtime(format!("starting the runtime: {e}")))?;
    runtime.block_on(async {
        let server = start(config).await?;
        wait_for_signal(&server.state).await;
        server.stop().await
    })
}

/// Waits for SIGTERM or SIGINT; SIGHUP reloads the rule files meanwhile.
async fn wait_for_signal(state: &Shared) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) =
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()), signal(SignalKind::hangup()))
    else {
        tracing::error!("cannot listen for signals; stopping");
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => return tracing::info!("SIGTERM received"),
            _ = int.recv() => return tracing::info!("SIGINT received"),
            _ = hup.recv() => {
                let reloading = state.clone();
                match tokio::task::spawn_blocking(move || reloading.reload_config()).await {
                    Ok(Ok(())) => tracing::info!("SIGHUP: cardinality limits and web config reloaded"),
                    Ok(Err(e)) => tracing::error!(error = %e, "SIGHUP: config reload failed; the running settings stay"),
                    Err(e) => tracing::error!(error = %e, "SIGHUP: config reload failed"),
                }
                let rules = state.rules.clone();
                match tokio::task::spawn_blocking(move || rules.reload()).await {
                    Ok(Ok(r)) => tracing::info!(groups = r.groups, rules = r.rules, unchanged = r.unchanged, "SIGHUP: rules reloaded"),
                    Ok(Err(errors)) => tracing::error!(errors = %errors.join("; "), "SIGHUP: rule reload failed; the running rules stay"),
                    Err(e) => tracing::error!(error = %e, "SIGHUP: rule reload failed"),
                }
            }
        }
    }
}
