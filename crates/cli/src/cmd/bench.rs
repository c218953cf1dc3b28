//! `strata bench …`: load generators that measure a running server from outside, and
//! `strata bench dense FILE`, the cold codec on real data (module `dense`).
//!
//! `strata bench ingest --target http://127.0.0.1:9090 --protocol influx|remote-write|prometheus
//! --writers 100 --duration 60s [--series N] [--batch 100] [--metric bench_value]
//! [--series-label series] [--json]`: `writers` threads, each
//! with its own keep-alive HTTP/1.1 connection, post batches of `batch` points for
//! `duration`. The `series` are split between writers (a series always comes from the same
//! writer, so its samples arrive in time order); each writer cycles through its series,
//! advancing their clock one second per round, so the data looks like a 1 s scrape. A
//! batch answered 429/503 waits (Retry-After, else 100 ms) and is sent again; any other
//! non-2xx answer counts as an error. It reports points acknowledged, throughput, batch
//! latency percentiles, batches and their mean size, and — read from the target's own
//! `/metrics` (`process_resident_memory_bytes`, `process_cpu_seconds_total`, which Strata,
//! Prometheus and VictoriaMetrics all export) — the server's RSS before and after and the
//! CPU seconds it spent, beside the generator's own.
//!
//! Any server that speaks the protocol can be the target: line protocol goes to
//! `/write?db=bench&precision=ms`, remote write to `/api/v1/write`, the text format to
//! `/api/v1/import/prometheus` (timestamps in ms), as VictoriaMetrics serves them too.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::Serialize;

mod dense;
mod rollups;
mod wire;

use crate::duration::parse_duration_ms;
use crate::http;
use crate::report::{self, Report};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum BenchCommand {
    /// Write load against a running server; throughput, latency, server RSS and CPU.
    Ingest(IngestArgs),
    /// The cold shards' dense codec against XOR chunks on a data file: bytes/sample, decode speed.
    Dense(dense::DenseArgs),
    /// Rollups: a year of series backfilled and rolled up; long range queries with and
    /// without rollups (points scanned, latency), rollup bytes per raw sample.
    Rollups(rollups::RollupsArgs),
}

/// What the generator sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Protocol {
    /// Influx line protocol to /write.
    Influx,
    /// Prometheus remote write 1.0 to /api/v1/write.
    RemoteWrite,
    /// Prometheus text format to /api/v1/import/prometheus.
    Prometheus,
    /// Prometheus remote write 2.0 to /api/v1/write.
    RemoteWrite2,
    /// OTLP metrics (protobuf) to /api/v1/otlp/v1/metrics.
    Otlp,
}

#[derive(Debug, clap::Args)]
pub(crate) struct IngestArgs {
    /// The server, `http://host:port`.
    #[arg(long, default_value = "http://127.0.0.1:9090")]
    target: String,
    /// The protocol.
    #[arg(long, value_enum, default_value = "influx")]
    protocol: Protocol,
    /// Concurrent connections, one thread each.
    #[arg(long, default_value_t = 100)]
    writers: usize,
    /// How long to write (`60s`, `2m`).
    #[arg(long, default_value = "60s")]
    duration: String,
    /// Distinct series.
    #[arg(long, default_value_t = 10_000)]
    series: usize,
    /// Points per request.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// The metric written (the measurement, for line protocol: its field is `value`).
    #[arg(long, default_value = "bench_value")]
    metric: String,
    /// The label that tells the series apart (`user_id` makes a cardinality explosion).
    #[arg(long, default_value = "series")]
    series_label: String,
    /// Every Nth series sends native histograms (`METRIC_hist`) instead of floats; 0 for
    /// none. Remote write 1.0 and 2.0 and OTLP only.
    #[arg(long, default_value_t = 0)]
    histogram_every: usize,
    /// Points per second to send at most, all writers together (a steady load, for soak
    /// tests); none: as fast as the server takes them.
    #[arg(long)]
    rate: Option<f64>,
    /// Also print, every this often (`10s`), one JSON line with that interval's points/s,
    /// latency percentiles and errors, to stderr (the final report stays on stdout).
    #[arg(long)]
    report_every: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(command: BenchCommand) -> anyhow::Result<std::process::ExitCode> {
    match command {
        BenchCommand::Ingest(args) => ingest(args),
        BenchCommand::Dense(args) => dense::run(args),
        BenchCommand::Rollups(args) => rollups::run(args),
    }
}

/// The figures `bench ingest` prints.
#[derive(Debug, Serialize)]
struct IngestReport {
    target: String,
    protocol: Protocol,
    writers: usize,
    series: usize,
    seconds: f64,
    points: u64,
    points_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    p999_ms: f64,
    batches: u64,
    average_batch: f64,
    errors: u64,
    retries: u64,
    first_error: Option<String>,
    server_rss_before_bytes: Option<u64>,
    server_rss_after_bytes: Option<u64>,
    server_cpu_seconds: Option<f64>,
    server_cpu_seconds_per_million_points: Option<f64>,
    client_cpu_seconds: f64,
}

impl Report for IngestReport {
    fn text(&self) -> String {
        let mib =
            |b: Option<u64>| b.map_or("?".into(), |b| format!("{:.1} MiB", b as f64 / (1 << 20) as f64));
        let mut out = String::new();
        let _ = writeln!(out, "target        {} ({:?})", self.target, self.protocol);
        let _ = writeln!(
            out,
            "writers       {} over {} series, {:.1} s",
            self.writers, self.series, self.seconds
        );
        let _ = writeln!(out, "points        {}", self.points);
        let _ = writeln!(out, "throughput    {:.0} points/s", self.points_per_second);
        let _ = writeln!(
            out,
            "latency       p50 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms",
            self.p50_ms, self.p99_ms, self.p999_ms
        );
        let _ = writeln!(out, "batches       {} (average {:.1} points)", self.batches, self.average_batch);
        let _ = writeln!(out, "errors        {} (retries after 429/503: {})", self.errors, self.retries);
        if let Some(e) = &self.first_error {
            let _ = writeln!(out, "first error   {e}");
        }
        let _ = writeln!(
            out,
            "server RSS    {} before, {} after",
            mib(self.server_rss_before_bytes),
            mib(self.server_rss_after_bytes)
        );
        if let (Some(cpu), Some(per)) = (self.server_cpu_seconds, self.server_cpu_seconds_per_million_points)
        {
            let _ = writeln!(out, "server CPU    {cpu:.2} s ({per:.2} s per million points)");
        }
        let _ = writeln!(out, "client CPU    {:.2} s", self.client_cpu_seconds);
        out
    }
}

fn ingest(args: IngestArgs) -> anyhow::Result<std::process::ExitCode> {
    if args.writers == 0 || args.batch == 0 || args.series < args.writers {
        bail!("--writers and --batch must be at least 1, and --series at least --writers");
    }
    if args.histogram_every > 0 && matches!(args.protocol, Protocol::Influx | Protocol::Prometheus) {
        bail!(
            "--histogram-every needs a protocol with native histograms: remote-write, remote-write2 or otlp"
        );
    }
    let addr = http::host_port(&args.target).context("--target")?;
    let duration = Duration::from_millis(parse_duration_ms(&args.duration)?.max(1) as u64);
    let before = server_process_figures(&addr);
    let client_cpu_before = own_cpu_seconds();
    let stop = Arc::new(AtomicBool::new(false));
    let start_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
    let started = Instant::now();
    if args.rate.is_some_and(|r| r.is_nan() || r <= 0.0) {
        bail!("--rate must be positive");
    }
    let interval = Arc::new(Mutex::new(IntervalStats::default()));
    let reporter = match &args.report_every {
        Some(every) => {
            let every = Duration::from_millis(parse_duration_ms(every)?.max(1) as u64);
            let (interval, stop) = (interval.clone(), stop.clone());
            Some(std::thread::spawn(move || report_intervals(&interval, every, &stop)))
        }
        None => None,
    };
    let workers: Vec<_> = (0..args.writers)
        .map(|w| {
            let plan = WriterPlan {
                addr: addr.clone(),
                protocol: args.protocol,
                series: (w..args.series).step_by(args.writers).collect(),
                batch: args.batch,
                seconds_per_batch: args.rate.map(|r| args.batch as f64 * args.writers as f64 / r),
                interval: interval.clone(),
                start_ms,
                naming: Naming {
                    metric: args.metric.clone(),
                    label: args.series_label.clone(),
                    histogram_every: args.histogram_every,
                },
            };
            let stop = stop.clone();
            std::thread::spawn(move || plan.run(&stop))
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::SeqCst);
    let mut total = WriterTotals::default();
    for w in workers {
        let t = w.join().map_err(|_| anyhow::anyhow!("a writer thread panicked"))?;
        total.merge(t);
    }
    if let Some(reporter) = reporter {
        let _ = reporter.join();
    }
    let seconds = started.elapsed().as_secs_f64();
    let after = server_process_figures(&addr);
    total.latencies_us.sort_unstable();
    let pct = |p: f64| percentile_ms(&total.latencies_us, p);
    let server_cpu = match (before.cpu_seconds, after.cpu_seconds) {
        (Some(b), Some(a)) => Some(a - b),
        _ => None,
    };
    let report = IngestReport {
        target: args.target.clone(),
        protocol: args.protocol,
        writers: args.writers,
        series: args.series,
        seconds,
        points: total.points,
        points_per_second: total.points as f64 / seconds,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        p999_ms: pct(0.999),
        batches: total.batches,
        average_batch: if total.batches == 0 { 0.0 } else { total.points as f64 / total.batches as f64 },
        errors: total.errors,
        retries: total.retries,
        first_error: total.first_error,
        server_rss_before_bytes: before.rss_bytes,
        server_rss_after_bytes: after.rss_bytes,
        server_cpu_seconds: server_cpu,
        server_cpu_seconds_per_million_points: server_cpu
            .filter(|_| total.points > 0)
            .map(|c| c / (total.points as f64 / 1e6)),
        client_cpu_seconds: own_cpu_seconds() - client_cpu_before,
    };
    report::print(&report, args.json)?;
    Ok(if report.points == 0 { std::process::ExitCode::FAILURE } else { std::process::ExitCode::SUCCESS })
}

/// One writer's series and settings.
#[derive(Debug)]
struct WriterPlan {
    addr: String,
    protocol: Protocol,
    series: Vec<usize>,
    batch: usize,
    /// With `--rate`: this writer's time per batch (it waits out what is left of it).
    seconds_per_batch: Option<f64>,
    /// The current `--report-every` interval's figures, shared by the writers.
    interval: Arc<Mutex<IntervalStats>>,
    start_ms: i64,
    naming: Naming,
}

/// One `--report-every` interval: request latencies, points and errors.
#[derive(Debug, Default)]
struct IntervalStats {
    latencies_us: Vec<u32>,
    points: u64,
    errors: u64,
}

/// Prints a JSON line to stderr every `every` with the interval's figures, until `stop`.
fn report_intervals(interval: &Mutex<IntervalStats>, every: Duration, stop: &AtomicBool) {
    let started = Instant::now();
    let mut last = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50).min(every));
        if last.elapsed() < every {
            continue;
        }
        let seconds = last.elapsed().as_secs_f64();
        last = Instant::now();
        let mut stats = std::mem::take(&mut *interval.lock().unwrap_or_else(|e| e.into_inner()));
        stats.latencies_us.sort_unstable();
        let pct = |p: f64| percentile_ms(&stats.latencies_us, p);
        eprintln!(
            "{}",
            serde_json::json!({
                "elapsed_s": (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
                "points_per_second": (stats.points as f64 / seconds).round(),
                "requests": stats.latencies_us.len(),
                "p50_ms": pct(0.5),
                "p99_ms": pct(0.99),
                "max_ms": pct(1.0),
                "errors": stats.errors,
            })
        );
    }
}

/// The `p` quantile of sorted microsecond latencies, in ms (0 for none).
fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let i = ((p * sorted_us.len() as f64).ceil() as usize).clamp(1, sorted_us.len()) - 1;
    f64::from(sorted_us[i]) / 1000.0
}

/// What the series are called: `metric{host="hostN",label="sN"}`.
#[derive(Debug, Clone)]
struct Naming {
    metric: String,
    label: String,
    /// Every Nth series sends native histograms (0: none).
    histogram_every: usize,
}

impl Default for Naming {
    fn default() -> Self {
        Naming { metric: "bench_value".into(), label: "series".into(), histogram_every: 0 }
    }
}

#[derive(Debug, Default)]
struct WriterTotals {
    points: u64,
    batches: u64,
    errors: u64,
    retries: u64,
    first_error: Option<String>,
    latencies_us: Vec<u32>,
}

impl WriterTotals {
    fn merge(&mut self, other: WriterTotals) {
        self.points += other.points;
        self.batches += other.batches;
        self.errors += other.errors;
        self.retries += other.retries;
        self.first_error = self.first_error.take().or(other.first_error);
        self.latencies_us.extend(other.latencies_us);
    }

    fn error(&mut self, message: String) {
        self.errors += 1;
        self.first_error.get_or_insert(message);
    }
}

impl WriterPlan {
    fn run(&self, stop: &AtomicBool) -> WriterTotals {
        let mut totals = WriterTotals::default();
        let mut conn: Option<Connection> = None;
        let mut cursor = 0usize; // points generated so far by this writer
        let (path, content_type, encoding) = match self.protocol {
            Protocol::Influx => ("/write?db=bench&precision=ms", "text/plain", None),
            Protocol::RemoteWrite => ("/api/v1/write", "application/x-protobuf", Some("snappy")),
            Protocol::Prometheus => ("/api/v1/import/prometheus", "text/plain", None),
            Protocol::RemoteWrite2 => (
                "/api/v1/write",
                "application/x-protobuf;proto=io.prometheus.write.v2.Request",
                Some("snappy"),
            ),
            Protocol::Otlp => ("/api/v1/otlp/v1/metrics", "application/x-protobuf", None),
        };
        let paced_from = Instant::now();
        let mut batches_sent = 0u32;
        while !stop.load(Ordering::Relaxed) {
            if let Some(per_batch) = self.seconds_per_batch {
                // Wait for this batch's turn on the schedule (not after the last send, so a
                // slow answer does not lower the rate).
                let due = paced_from + Duration::from_secs_f64(per_batch * f64::from(batches_sent));
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                batches_sent += 1;
            }
            let points: Vec<(usize, i64, f64)> = (cursor..cursor + self.batch)
                .map(|i| {
                    let (round, k) = (i / self.series.len(), i % self.series.len());
                    let id = self.series[k];
                    (id, self.start_ms + round as i64 * 1000, ((id * 31 + round * 7) % 1000) as f64 / 8.0)
                })
                .collect();
            cursor += self.batch;
            let body = encode(self.protocol, &self.naming, &points);
            loop {
                let sent = Instant::now();
                let c = match conn.take() {
                    Some(c) => c,
                    None => match Connection::open(&self.addr) {
                        Ok(c) => c,
                        Err(e) => {
                            totals.error(format!("connecting to {}: {e}", self.addr));
                            std::thread::sleep(Duration::from_millis(100));
                            break;
                        }
                    },
                };
                match c.post(&self.addr, path, content_type, encoding, &body) {
                    Ok((c, status, retry_after)) => {
                        conn = Some(c);
                        if status == 429 || status == 503 {
                            totals.retries += 1;
                            std::thread::sleep(retry_after.unwrap_or(Duration::from_millis(100)));
                            if stop.load(Ordering::Relaxed) {
                                break;
                            }
                            continue;
                        }
                        if (200..300).contains(&status) {
                            let latency = sent.elapsed().as_micros().min(u32::MAX as u128) as u32;
                            totals.points += points.len() as u64;
                            totals.batches += 1;
                            totals.latencies_us.push(latency);
                            let mut interval = self.interval.lock().unwrap_or_else(|e| e.into_inner());
                            interval.latencies_us.push(latency);
                            interval.points += points.len() as u64;
                        } else {
                            totals.error(format!("HTTP {status} from {path}"));
                            self.interval.lock().unwrap_or_else(|e| e.into_inner()).errors += 1;
                        }
                    }
                    // A connection the server closed mid-request (it may answer 503 before
                    // reading a body, under load): retried on a new connection, as remote
                    // write senders do. The batch was not acknowledged.
                    Err(e)
                        if e.kind() == std::io::ErrorKind::BrokenPipe
                            || e.kind() == std::io::ErrorKind::ConnectionReset =>
                    {
                        totals.retries += 1;
                        std::thread::sleep(Duration::from_millis(100));
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        continue;
                    }
                    Err(e) => {
                        totals.error(format!("{path}: {e}"));
                        self.interval.lock().unwrap_or_else(|e| e.into_inner()).errors += 1;
                    }
                }
                break;
            }
        }
        totals
    }
}

/// A batch as the protocol's body.
fn encode(protocol: Protocol, naming: &Naming, points: &[(usize, i64, f64)]) -> Vec<u8> {
    let Naming { metric, label, .. } = naming;
    match protocol {
        Protocol::Influx => {
            let mut s = String::with_capacity(points.len() * 64);
            for (id, t, v) in points {
                let _ = writeln!(s, "{metric},host=host{},{label}=s{id} value={v} {t}", id % 100);
            }
            s.into_bytes()
        }
        Protocol::Prometheus => {
            let mut s = String::with_capacity(points.len() * 64);
            for (id, t, v) in points {
                let _ = writeln!(s, "{metric}{{host=\"host{}\",{label}=\"s{id}\"}} {v} {t}", id % 100);
            }
            s.into_bytes()
        }
        Protocol::RemoteWrite => {
            let mut request = Vec::with_capacity(points.len() * 64);
            let histogram_metric = format!("{metric}_hist");
            for (id, t, v) in points {
                let host = format!("host{}", id % 100);
                let series = format!("s{id}");
                let histogram = wire::is_histogram(naming, *id);
                let name = if histogram { histogram_metric.as_str() } else { metric.as_str() };
                let mut labels =
                    [("__name__", name), ("host", host.as_str()), (label.as_str(), series.as_str())];
                labels.sort_unstable();
                let mut ts = Vec::with_capacity(96);
                for (name, value) in labels {
                    let mut label = Vec::with_capacity(32);
                    proto_bytes(1, name.as_bytes(), &mut label);
                    proto_bytes(2, value.as_bytes(), &mut label);
                    proto_bytes(1, &label, &mut ts);
                }
                if histogram {
                    proto_bytes(4, &wire::histogram_message(*t), &mut ts);
                } else {
                    let mut sample = Vec::with_capacity(20);
                    sample.push(0x09); // field 1, 64-bit
                    sample.extend_from_slice(&v.to_le_bytes());
                    sample.push(0x10); // field 2, varint
                    varint(*t as u64, &mut sample);
                    proto_bytes(2, &sample, &mut ts);
                }
                proto_bytes(1, &ts, &mut request);
            }
            snap::raw::Encoder::new().compress_vec(&request).unwrap_or_default()
        }
        Protocol::RemoteWrite2 => wire::remote_write_v2(naming, points),
        Protocol::Otlp => wire::otlp(naming, points),
    }
}

fn varint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A length-delimited protobuf field.
fn proto_bytes(field: u8, bytes: &[u8], out: &mut Vec<u8>) {
    out.push(field << 3 | 2);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// A keep-alive HTTP/1.1 connection.
#[derive(Debug)]
struct Connection {
    reader: BufReader<TcpStream>,
}

impl Connection {
    fn open(addr: &str) -> std::io::Result<Connection> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(Connection { reader: BufReader::new(stream) })
    }

    /// Posts `body`; returns the connection (if it stays open), the status and Retry-After.
    fn post(
        mut self,
        host: &str,
        path: &str,
        content_type: &str,
        encoding: Option<&str>,
        body: &[u8],
    ) -> std::io::Result<(Connection, u16, Option<Duration>)> {
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some(e) = encoding {
            head.push_str(&format!("Content-Encoding: {e}\r\nX-Prometheus-Remote-Write-Version: 0.1.0\r\n"));
        }
        head.push_str("\r\n");
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        let (status, length, chunked, retry_after) = self.read_head()?;
        if chunked {
            self.skip_chunked()?;
        } else {
            std::io::copy(&mut (&mut self.reader).take(length), &mut std::io::sink())?;
        }
        Ok((self, status, retry_after))
    }

    fn read_head(&mut self) -> std::io::Result<(u16, u64, bool, Option<Duration>)> {
        let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("no HTTP status line"))?;
        let (mut length, mut chunked, mut retry_after) = (0u64, false, None);
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(bad("connection closed in the headers"));
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let Some((name, value)) = l.split_once(':') else { continue };
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
            match name.as_str() {
                "content-length" => length = value.parse().unwrap_or(0),
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                "retry-after" => retry_after = value.parse().ok().map(Duration::from_secs),
                _ => {}
            }
        }
        Ok((status, length, chunked, retry_after))
    }

    fn skip_chunked(&mut self) -> std::io::Result<()> {
        let mut line = String::new();
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let size = u64::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
            std::io::copy(&mut (&mut self.reader).take(size + 2), &mut std::io::sink())?;
            if size == 0 {
                return Ok(());
            }
        }
    }
}

/// RSS and CPU seconds a server reports about its own process at `/metrics`.
#[derive(Debug, Default)]
struct ProcessFigures {
    rss_bytes: Option<u64>,
    cpu_seconds: Option<f64>,
}

fn server_process_figures(addr: &str) -> ProcessFigures {
    let Ok((200, text)) = http::get(addr, "/metrics", Duration::from_secs(10)) else {
        return ProcessFigures::default();
    };
    let value = |name: &str| -> Option<f64> {
        text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
    };
    ProcessFigures {
        rss_bytes: value("process_resident_memory_bytes").map(|v| v as u64),
        cpu_seconds: value("process_cpu_seconds_total"),
    }
}

/// This process' user + system CPU seconds.
fn own_cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct we pass; it is plain data.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0.0;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_parse_back_with_strata_parsers() {
        let points = [(3, 1_703_001_600_000, 1.5), (4, 1_703_001_600_000, 2.0)];
        let text = String::from_utf8(encode(
            Protocol::Influx,
            &Naming { metric: "bench".into(), label: "series".into(), histogram_every: 0 },
            &points,
        ))
        .unwrap();
        let p = strata_ingest::line_protocol::parse_line(
            text.lines().next().unwrap(),
            1,
            strata_ingest::line_protocol::Precision::Milliseconds,
        )
        .unwrap();
        assert_eq!(p.samples[0].labels.to_string(), "bench{host=\"host3\",series=\"s3\"}");
        assert_eq!((p.samples[0].timestamp, p.samples[0].value), (Some(1_703_001_600_000), 1.5));
        let text = String::from_utf8(encode(Protocol::Prometheus, &Naming::default(), &points)).unwrap();
        let s = strata_ingest::exposition::parse_line(
            text.lines().nth(1).unwrap(),
            1,
            strata_ingest::exposition::Flavor::Prometheus,
        )
        .unwrap()
        .unwrap();
        assert_eq!((s.labels.get("series"), s.value), (Some("s4"), 2.0));
        let rw = encode(Protocol::RemoteWrite, &Naming::default(), &points);
        assert!(snap::raw::Decoder::new().decompress_vec(&rw).unwrap().len() > 40);
    }
}
