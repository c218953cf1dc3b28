//! Strata's own metrics, served at `/metrics` in the Prometheus text exposition format
//! (ARCHITECTURE.md, decision 13; every name starts with `strata_`, plus the usual
//! `process_*`).
//!
//! Counters the request paths bump are atomics (or a map under a mutex for the labelled
//! ones, bumped once per request, not per sample). Figures the engine already keeps (head
//! series, chunks, WAL bytes and fsyncs, compactions) are read from it at scrape time rather
//! than mirrored. [`RateMeter`] keeps a minute of per-second totals for `/admin/status`.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use strata_storage::EngineStats;
use strata_wal::{WalStats, FSYNC_BUCKETS_SECONDS};

/// How samples arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// Influx line protocol over HTTP.
    Influx,
    /// Influx line protocol over the TCP listener.
    InfluxTcp,
    /// The Prometheus text format (`/write` without `db`, `/api/v1/import/prometheus`).
    PrometheusText,
    /// Prometheus remote write.
    RemoteWrite,
    /// OpenTelemetry's OTLP, over HTTP or gRPC.
    Otlp,
}

impl Protocol {
    const ALL: [Protocol; 5] = [
        Protocol::Influx,
        Protocol::InfluxTcp,
        Protocol::PrometheusText,
        Protocol::RemoteWrite,
        Protocol::Otlp,
    ];

    fn name(self) -> &'static str {
        match self {
            Protocol::Influx => "influx",
            Protocol::InfluxTcp => "influx_tcp",
            Protocol::PrometheusText => "prometheus_text",
            Protocol::RemoteWrite => "remote_write",
            Protocol::Otlp => "otlp",
        }
    }
}

/// Query latency bucket bounds, in seconds.
const QUERY_BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// A histogram of durations with fixed buckets.
#[derive(Debug)]
struct Histogram {
    bounds: &'static [f64],
    /// Observations per bucket (not cumulative); the last one is `+Inf`.
    counts: Vec<AtomicU64>,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
        }
    }

    fn observe(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        let bucket = self.bounds.iter().position(|&b| seconds <= b).unwrap_or(self.bounds.len());
        self.counts[bucket].fetch_add(1, Relaxed);
        self.sum_micros.fetch_add(took.as_micros() as u64, Relaxed);
    }

    fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Relaxed)).sum()
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        let sep = if labels.is_empty() { "" } else { "," };
        for (i, c) in self.counts.iter().enumerate() {
            cumulative += c.load(Relaxed);
            let le = self.bounds.get(i).map_or("+Inf".to_string(), |b| b.to_string());
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {cumulative}");
        }
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let sum = self.sum_micros.load(Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum{braces} {sum}\n{name}_count{braces} {cumulative}");
    }
}

/// Why access control refused a request (`strata_http_auth_failures_total`'s `reason`).
pub(crate) const AUTH_FAILURE_REASONS: [&str; 4] = ["missing", "malformed", "invalid", "forbidden"];

/// The server's counters; see the module docs.
#[derive(Debug)]
pub(crate) struct Metrics {
    ingested: [AtomicU64; 5],
    rejected: Mutex<BTreeMap<&'static str, u64>>,
    http_requests: Mutex<BTreeMap<(String, u16), u64>>,
    /// Requests refused by access control, by reason (module `access`).
    auth_failures: [AtomicU64; AUTH_FAILURE_REASONS.len()],
    tls_handshake_failures: AtomicU64,
    instant_queries: Histogram,
    range_queries: Histogram,
    started: Instant,
    started_unix: f64,
    rates: RateMeter,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            ingested: Default::default(),
            rejected: Mutex::default(),
            http_requests: Mutex::default(),
            auth_failures: Default::default(),
            tls_handshake_failures: AtomicU64::new(0),
            instant_queries: Histogram::new(&QUERY_BUCKETS),
            range_queries: Histogram::new(&QUERY_BUCKETS),
            started: Instant::now(),
            started_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            rates: RateMeter::default(),
        }
    }
}

impl Metrics {
    /// Samples stored since start, every protocol together.
    pub(crate) fn ingested_total(&self) -> u64 {
        self.ingested.iter().map(|n| n.load(Relaxed)).sum()
    }

    /// Samples refused since start, every reason together.
    pub(crate) fn rejected_total(&self) -> u64 {
        self.rejected.lock().unwrap_or_else(|e| e.into_inner()).values().sum()
    }

    /// HTTP requests answered since start.
    pub(crate) fn http_requests_total(&self) -> u64 {
        self.http_requests.lock().unwrap_or_else(|e| e.into_inner()).values().sum()
    }

    pub(crate) fn ingested(&self, protocol: Protocol, samples: usize) {
        self.ingested[protocol as usize].fetch_add(samples as u64, Relaxed);
    }

    /// Samples refused, by reason (`parse`, `string_field`, `out_of_order`, …).
    pub(crate) fn rejected(&self, reason: &'static str, samples: usize) {
        if samples > 0 {
            *self.rejected.lock().unwrap_or_else(|e| e.into_inner()).entry(reason).or_default() +=
                samples as u64;
        }
    }

    pub(crate) fn http_request(&self, handler: &str, code: u16) {
        let mut map = self.http_requests.lock().unwrap_or_else(|e| e.into_inner());
        *map.entry((handler.to_string(), code)).or_default() += 1;
    }

    /// A request refused by access control: `reason` is one of [`AUTH_FAILURE_REASONS`].
    pub(crate) fn auth_failure(&self, reason: &str) {
        if let Some(i) = AUTH_FAILURE_REASONS.iter().position(|r| *r == reason) {
            self.auth_failures[i].fetch_add(1, Relaxed);
        }
    }

    /// A TLS handshake that failed or timed out.
    pub(crate) fn tls_handshake_failed(&self) {
        self.tls_handshake_failures.fetch_add(1, Relaxed);
    }

    pub(crate) fn query(&self, range: bool, took: Duration) {
        if range { &self.range_queries } else { &self.instant_queries }.observe(took);
    }

    pub(crate) fn samples_ingested(&self) -> u64 {
        self.ingested.iter().map(|c| c.load(Relaxed)).sum()
    }

    pub(crate) fn queries(&self) -> u64 {
        self.instant_queries.count() + self.range_queries.count()
    }

    fn query_micros(&self) -> u64 {
        self.instant_queries.sum_micros.load(Relaxed) + self.range_queries.sum_micros.load(Relaxed)
    }

    pub(crate) fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Records the current totals for [`Metrics::recent_rates`]; called every second.
    pub(crate) fn tick(&self) {
        self.rates.record(self.samples_ingested(), self.queries(), self.query_micros());
    }

    /// Samples/s, queries/s and mean query latency (ms) over the last minute.
    pub(crate) fn recent_rates(&self) -> Rates {
        self.rates.rates((self.samples_ingested(), self.queries(), self.query_micros()))
    }

    /// Everything in the text exposition format.
    pub(crate) fn render(&self, engine: &EngineStats, wal: &WalStats, shards: &ShardFigures) -> String {
        let mut out = String::with_capacity(8192);
        self.render_ingest(&mut out);
        self.render_http_and_queries(&mut out);
        render_storage(&mut out, engine, wal);
        render_shards(&mut out, shards);
        render_process(&mut out, self.started_unix);
        out
    }

    fn render_ingest(&self, out: &mut String) {
        header(out, "strata_samples_ingested_total", "counter", "Samples written, by protocol.");
        for p in Protocol::ALL {
            let n = self.ingested[p as usize].load(Relaxed);
            let _ = writeln!(out, "strata_samples_ingested_total{{protocol=\"{}\"}} {n}", p.name());
        }
        header(out, "strata_samples_rejected_total", "counter", "Samples refused, by reason.");
        let rejected = self.rejected.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for reason in [
            "parse",
            "string_field",
            "out_of_order",
            "out_of_bounds",
            "duplicate",
            "native_histogram",
            "storage",
        ] {
            let n = rejected.get(reason).copied().unwrap_or(0);
            let _ = writeln!(out, "strata_samples_rejected_total{{reason=\"{reason}\"}} {n}");
        }
    }

    fn render_http_and_queries(&self, out: &mut String) {
        header(out, "strata_http_requests_total", "counter", "HTTP requests, by handler and status code.");
        let requests = self.http_requests.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for ((handler, code), n) in requests {
            let _ = writeln!(out, "strata_http_requests_total{{code=\"{code}\",handler=\"{handler}\"}} {n}");
        }
        header(
            out,
            "strata_http_auth_failures_total",
            "counter",
            "Requests refused by access control: no, malformed or invalid credentials, or not an admin.",
        );
        for (reason, n) in AUTH_FAILURE_REASONS.iter().zip(&self.auth_failures) {
            let _ =
                writeln!(out, "strata_http_auth_failures_total{{reason=\"{reason}\"}} {}", n.load(Relaxed));
        }
        header(
            out,
            "strata_tls_handshake_failures_total",
            "counter",
            "TLS handshakes that failed or timed out.",
        );
        let _ = writeln!(
            out,
            "strata_tls_handshake_failures_total {}",
            self.tls_handshake_failures.load(Relaxed)
        );
        header(out, "strata_query_duration_seconds", "histogram", "PromQL query latency, by query kind.");
        self.instant_queries.render(out, "strata_query_duration_seconds", "kind=\"instant\"");
        self.range_queries.render(out, "strata_query_duration_seconds", "kind=\"range\"");
    }
}

pub(crate) fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn gauge(out: &mut String, name: &str, help: &str, value: impl std::fmt::Display) {
    header(out, name, "gauge", help);
    let _ = writeln!(out, "{name} {value}");
}

pub(crate) fn counter(out: &mut String, name: &str, help: &str, value: impl std::fmt::Display) {
    header(out, name, "counter", help);
    let _ = writeln!(out, "{name} {value}");
}

fn render_storage(out: &mut String, s: &EngineStats, wal: &WalStats) {
    gauge(out, "strata_head_series", "Series in the head.", s.head_series);
    counter(
        out,
        "strata_head_series_removed_total",
        "Series removed from the head since start because a cut left them no sample.",
        s.head_series_removed,
    );
    gauge(out, "strata_head_samples", "Samples in the head.", s.head_samples);
    gauge(out, "strata_head_chunks", "Chunks in the head.", s.head_chunks);
    gauge(out, "strata_head_memory_bytes", "Heap bytes of the head's series and index.", s.head_memory_bytes);
    gauge(
        out,
        "strata_head_index_memory_bytes",
        "The index's part of strata_head_memory_bytes.",
        s.head_index_bytes,
    );
    gauge(out, "strata_blocks", "Blocks on disk.", s.blocks);
    gauge(out, "strata_block_samples", "Samples in blocks.", s.block_samples);
    gauge(out, "strata_block_bytes", "Bytes of the blocks on disk.", s.block_bytes);
    gauge(out, "strata_wal_bytes", "Bytes of the write-ahead log.", s.wal_bytes);
    counter(out, "strata_wal_written_bytes_total", "Bytes written to the WAL since start.", wal.bytes);
    header(out, "strata_wal_fsync_duration_seconds", "histogram", "Latency of the WAL's fsyncs.");
    for (count, bound) in wal.fsync_buckets.iter().zip(FSYNC_BUCKETS_SECONDS) {
        let _ = writeln!(out, "strata_wal_fsync_duration_seconds_bucket{{le=\"{bound}\"}} {count}");
    }
    let sum = wal.fsync_micros as f64 / 1e6;
    let _ = writeln!(
        out,
        "strata_wal_fsync_duration_seconds_bucket{{le=\"+Inf\"}} {n}\nstrata_wal_fsync_duration_seconds_sum {sum}\nstrata_wal_fsync_duration_seconds_count {n}",
        n = wal.fsyncs
    );
    counter(out, "strata_compactions_total", "Block compactions since start.", s.compactions);
    counter(
        out,
        "strata_compaction_duration_seconds_total",
        "Time spent compacting since start.",
        s.compaction_micros as f64 / 1e6,
    );
    counter(out, "strata_storage_rejected_samples_total", "Samples the engine refused.", s.rejected_samples);
}

/// Shards and retention, as `/metrics` reports them.
#[derive(Debug, Default)]
pub(crate) struct ShardFigures {
    pub(crate) hot: u64,
    pub(crate) warm: u64,
    pub(crate) cold: u64,
    pub(crate) dropped: u64,
    pub(crate) bytes_freed: u64,
}

fn render_shards(out: &mut String, s: &ShardFigures) {
    header(out, "strata_shards", "gauge", "Time shards, by tier.");
    for (tier, n) in [("hot", s.hot), ("warm", s.warm), ("cold", s.cold)] {
        let _ = writeln!(out, "strata_shards{{tier=\"{tier}\"}} {n}");
    }
    counter(out, "strata_retention_shards_dropped_total", "Shards retention deleted since start.", s.dropped);
    counter(out, "strata_retention_bytes_freed_total", "Bytes retention freed since start.", s.bytes_freed);
}

/// `process_*` from /proc/self, as Go's and Rust's Prometheus clients export them.
fn render_process(out: &mut String, started_unix: f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = |key: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    gauge(out, "process_resident_memory_bytes", "Resident memory size in bytes.", kib("VmRSS:") * 1024);
    gauge(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.", kib("VmSize:") * 1024);
    counter(out, "process_cpu_seconds_total", "User and system CPU time in seconds.", process_cpu_seconds());
    gauge(out, "process_start_time_seconds", "Start time since the Unix epoch in seconds.", started_unix);
    let fds = crate::process_limits::open_files().unwrap_or(0);
    gauge(out, "process_open_fds", "Open file descriptors.", fds);
    let max_fds = crate::process_limits::max_open_files().unwrap_or(0);
    gauge(out, "process_max_fds", "Maximum number of open file descriptors.", max_fds);
}

/// utime + stime of /proc/self/stat, in seconds (clock ticks of 100 Hz, Linux' USER_HZ).
pub(crate) fn process_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces, so split after its ')').
    let fields: Vec<&str> = stat.rsplit_once(')').map_or(Vec::new(), |(_, r)| r.split_whitespace().collect());
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Rates over the last minute.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Rates {
    pub(crate) samples_per_second: f64,
    pub(crate) queries_per_second: f64,
    pub(crate) average_query_ms: f64,
}

/// A minute of per-second totals.
#[derive(Debug, Default)]
struct RateMeter {
    history: Mutex<VecDeque<(Instant, u64, u64, u64)>>,
}

impl RateMeter {
    fn record(&self, samples: u64, queries: u64, query_micros: u64) {
        let mut h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        h.push_back((Instant::now(), samples, queries, query_micros));
        while h.len() > 61 {
            h.pop_front();
        }
    }

    fn rates(&self, now: (u64, u64, u64)) -> Rates {
        let h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let Some(&(at, samples, queries, micros)) = h.front() else { return Rates::default() };
        let seconds = at.elapsed().as_secs_f64();
        if seconds <= 0.0 {
            return Rates::default();
        }
        let new_queries = now.1 - queries;
        Rates {
            samples_per_second: (now.0 - samples) as f64 / seconds,
            queries_per_second: new_queries as f64 / seconds,
            average_query_ms: if new_queries == 0 {
                0.0
            } else {
                (now.2 - micros) as f64 / 1e3 / new_queries as f64
            },
        }
    }
}

/// `strata_cardinality_*`: each limit's maximum, current count and refusals.
/// Query slots and connections (`query_gate`, `connection_limit`); open files are with the
/// `process_*` metrics.
pub(crate) fn render_resources(out: &mut String, state: &crate::state::AppState) {
    let (queries, connections) = (&state.queries, &state.connections);
    gauge(out, "strata_query_max_concurrency", "Queries allowed to evaluate at once.", queries.max());
    gauge(out, "strata_queries_running", "Queries evaluating now.", queries.running());
    gauge(out, "strata_queries_waiting", "Queries waiting for a slot now.", queries.waiting());
    counter(
        out,
        "strata_queries_refused_total",
        "Queries refused after waiting the query timeout for a slot.",
        queries.refused(),
    );
    gauge(out, "strata_http_max_connections", "HTTP connections allowed open at once.", connections.max());
    gauge(out, "strata_http_connections_open", "HTTP connections open now.", connections.open());
    let memory = &state.memory;
    gauge(
        out,
        "strata_memory_limit_bytes",
        "The memory limit the server sheds load to stay under (0: none).",
        memory.limit(),
    );
    gauge(
        out,
        "strata_memory_pressure",
        "Memory pressure: 0 normal, 1 high, 2 critical (writes paused).",
        memory.level() as u8,
    );
    header(out, "strata_memory_pressure_actions_total", "counter", "What the memory guard did, by action.");
    for (action, n) in memory.action_counts() {
        let _ = writeln!(out, "strata_memory_pressure_actions_total{{action=\"{action}\"}} {n}");
    }
    gauge(
        out,
        "strata_series_cache_memory_bytes",
        "Heap bytes of the ingest protocols' raw-series caches.",
        state.series_caches.heap_bytes() + state.tenants.cache_bytes(),
    );
}

/// `strata_cluster_*`, when the node is in a cluster: whether etcd answers its heartbeats,
/// and the members it sees by state.
pub(crate) fn render_cluster(out: &mut String, node: &strata_cluster::ClusterNode) {
    let health = node.etcd_health();
    gauge(
        out,
        "strata_cluster_etcd_reachable",
        "1 when etcd answered this node's last heartbeat; 0 while it does not (the last ring seen is used).",
        u8::from(health.reachable),
    );
    let hints = node.hint_figures();
    gauge(
        out,
        "strata_cluster_hints_pending",
        "Hints (copies a failed member missed) waiting for it to return.",
        hints.pending,
    );
    gauge(out, "strata_cluster_hints_pending_bytes", "Bytes of the hints waiting.", hints.pending_bytes);
    counter(
        out,
        "strata_cluster_hints_delivered_total",
        "Hints delivered to members that returned.",
        hints.delivered,
    );
    counter(
        out,
        "strata_cluster_hints_dropped_total",
        "Hints dropped: past hint-memory, or refused by the member (that copy stays missing).",
        hints.dropped,
    );
    let repair = node.repair_status();
    gauge(
        out,
        "strata_cluster_repair_pending",
        "1 while re-replication owes a pass (the ring changed since the last one finished).",
        u8::from(repair.state != "idle"),
    );
    gauge(
        out,
        "strata_cluster_repair_progress",
        "The running re-replication pass: series examined / series stored (1 when none runs).",
        repair.progress(),
    );
    counter(out, "strata_cluster_repair_passes_total", "Re-replication passes finished.", repair.passes);
    counter(
        out,
        "strata_cluster_repair_series_sent_total",
        "Series whose history re-replication sent to other members.",
        repair.series_sent_total,
    );
    counter(
        out,
        "strata_cluster_repair_samples_sent_total",
        "Samples re-replication sent to other members.",
        repair.samples_sent_total,
    );
    header(out, "strata_cluster_members", "gauge", "Ring members this node sees, by state.");
    let members = node.view().members();
    for state in ["active", "leaving", "failed"] {
        let n = members.iter().filter(|m| m.state.name() == state).count();
        let _ = writeln!(out, "strata_cluster_members{{state=\"{state}\"}} {n}");
    }
}

/// Per-tenant figures (`--multi-tenant`), one sample per tenant of each.
pub(crate) fn render_tenants(out: &mut String, tenants: &[crate::tenancy::TenantFigures]) {
    if tenants.is_empty() {
        return;
    }
    type Figure = fn(&crate::tenancy::TenantFigures) -> Option<f64>;
    let families: [(&str, &str, &str, Figure); 5] = [
        ("strata_tenant_active_series", "gauge", "Series of the tenant in memory.", |t| {
            Some(t.active_series as f64)
        }),
        ("strata_tenant_samples_written_total", "counter", "Samples the tenant wrote.", |t| {
            Some(t.counters.samples_written as f64)
        }),
        (
            "strata_tenant_samples_rate_limited_total",
            "counter",
            "Samples of the tenant refused by its ingest rate limit (429).",
            |t| Some(t.counters.samples_rate_limited as f64),
        ),
        (
            "strata_tenant_samples_refused_total",
            "counter",
            "Samples of the tenant refused by storage (limits, out of order, duplicates).",
            |t| Some(t.counters.samples_refused as f64),
        ),
        ("strata_tenant_ingest_rate_limit", "gauge", "Samples a second the tenant may write.", |t| {
            t.ingest_rate_limit
        }),
    ];
    for (name, kind, help, figure) in families {
        header(out, name, kind, help);
        for t in tenants {
            if let Some(v) = figure(t) {
                let _ = writeln!(out, "{name}{{tenant=\"{}\"}} {v}", t.tenant);
            }
        }
    }
}

pub(crate) fn render_limits(out: &mut String, limits: &[strata_cardinality::LimitState]) {
    use std::fmt::Write;
    let escape = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
    type Read = fn(&strata_cardinality::LimitState) -> u64;
    let rows: [(&str, &str, &str, Read); 3] = [
        ("strata_cardinality_rejected_total", "counter", "New series refused by a cardinality limit.", |l| {
            l.rejected_total
        }),
        ("strata_cardinality_limit", "gauge", "A cardinality limit's maximum.", |l| l.max),
        ("strata_cardinality_limit_current", "gauge", "What a cardinality limit counts now.", |l| l.current),
    ];
    for (name, kind, help, read) in rows {
        header(out, name, kind, help);
        for l in limits {
            let _ = writeln!(out, "{name}{{limit=\"{}\"}} {}", escape(&l.limit), read(l));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let h = Histogram::new(&QUERY_BUCKETS);
        h.observe(Duration::from_micros(300));
        h.observe(Duration::from_millis(30));
        h.observe(Duration::from_secs(10));
        let mut out = String::new();
        h.render(&mut out, "q", "kind=\"x\"");
        assert!(out.contains("q_bucket{kind=\"x\",le=\"0.0005\"} 1\n"), "{out}");
        assert!(out.contains("q_bucket{kind=\"x\",le=\"0.05\"} 2\n"), "{out}");
        assert!(out.contains("q_bucket{kind=\"x\",le=\"+Inf\"} 3\n"), "{out}");
        assert!(out.contains("q_count{kind=\"x\"} 3\n"), "{out}");
    }

    #[test]
    fn every_metric_line_parses_as_exposition() {
        let m = Metrics::default();
        m.ingested(Protocol::RemoteWrite, 10);
        m.rejected("parse", 2);
        m.http_request("/api/v1/query", 200);
        m.query(true, Duration::from_millis(3));
        let text = m.render(&EngineStats::default(), &WalStats::default(), &ShardFigures::default());
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let sample =
                strata_ingest::exposition::parse_line(line, 1, strata_ingest::exposition::Flavor::Prometheus);
            assert!(matches!(sample, Ok(Some(_))), "{line}: {sample:?}");
        }
        assert!(text.contains("strata_samples_ingested_total{protocol=\"remote_write\"} 10\n"));
        assert!(text.contains("strata_http_requests_total{code=\"200\",handler=\"/api/v1/query\"} 1\n"));
        // CPU time is counted in 10 ms ticks: a fresh, quick test process may be at 0. Spin
        // until the kernel has counted some; it must then show.
        let deadline = Instant::now() + Duration::from_secs(10);
        while process_cpu_seconds() == 0.0 {
            assert!(Instant::now() < deadline, "process_cpu_seconds never rose above 0");
            std::hint::black_box((0..100_000u64).sum::<u64>());
        }
    }
}
