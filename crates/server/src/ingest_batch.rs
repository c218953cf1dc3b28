//! From a request body to samples in the engine: parse every line (the valid ones are kept,
//! each bad one is reported with its line number and reason), then append in batches of
//! `append-batch` samples, and say exactly how many were written.
//!
//! Parsing is in two steps so that known series cost no label work: the parsers' scans
//! (`scan_line`) delimit a line's series text and parse only its value and timestamp; the
//! text is looked up in the protocol's series cache (`series_cache`); only a miss decodes
//! labels (`parse_series`), once per request per series. The new series are created in one
//! call before the samples are appended, and their keys cached only then, so the cache
//! holds nothing the engine did not hand out. Remote write takes the same path with the
//! bytes of a series' label fields as its key.
//!
//! The partial-write policy (as InfluxDB's): the valid lines of a request are written even
//! when others are bad, and the answer is then an error (HTTP 400) that names the bad
//! lines and says how many samples were written. A sample the engine refuses (out of order,
//! duplicate, older than the head) is reported the same way. Success is only ever reported
//! when every sample of the request was written.
//!
//! Timestamps of the Prometheus text format: `precision=s|ms|us|ns` says the unit. Without
//! it, `/api/v1/import/prometheus` takes milliseconds (as VictoriaMetrics does), and `/write`
//! decides per value: below 10^11 it is seconds, otherwise milliseconds (10^11 s is the year
//! 5138; 10^11 ms is March 1973, before any real monitoring data). A line without a
//! timestamp, in either format, gets the server's time of receipt.

use std::collections::HashMap;

use strata_ingest::exposition::{self, Flavor};
use strata_ingest::line_protocol::{self, Precision, RawField};
use strata_ingest::protobuf_exposition::{ExposedSample, ExposedValue};
use strata_model::Labels;
use strata_storage::{AppendRef, AppendResult, Engine, StorageError, NS_PER_MS};

use crate::metrics::{Metrics, Protocol};
use crate::remote_histograms::HistogramBatch;
use crate::remote_write_fast::RawSeries;
use crate::series_cache::ProtocolCache;

/// Timestamps of text-format lines at or above this are milliseconds when no precision is
/// given on `/write` (see the module docs).
pub(crate) const SECONDS_BELOW: i64 = 100_000_000_000;

/// How text-format timestamps are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextTime {
    /// Seconds below [`SECONDS_BELOW`], milliseconds from there.
    Auto,
    /// In this unit.
    Unit(Precision),
}

/// A series and its samples `(t, v)`.
pub(crate) type LabeledSamples = (Labels, Vec<(i64, f64)>);

/// A bad line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LineError {
    pub(crate) line: usize,
    pub(crate) message: String,
}

/// Whose series a sample is: one the cache knew, the n-th new one of the request, or one
/// the head refused and still would (the reason's index in the protocol's `refused_keys`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Known(AppendRef),
    New(u32),
    Refused(u32),
}

/// A parsed request: samples whose series are named by ref when the series cache knows
/// the raw bytes that name them, and by labels (decoded once per request) when not. What a
/// "line" is depends on the protocol: a text line, or a remote-write series' position.
#[derive(Debug)]
pub(crate) struct Batch<'c> {
    cache: &'c ProtocolCache,
    /// The refusal stamp when parsing began: remembered refusals made under it stand.
    stamp: u64,
    /// The unit `line` counts in errors: "line" or "series".
    unit: &'static str,
    samples: Vec<(Target, i64, f64)>,
    /// The line of each sample, for the refusals' messages.
    lines: Vec<u32>,
    /// The nanoseconds each sample's time lies past its millisecond, once one does (line
    /// protocol in `ns` or `u`): an engine of nanoseconds is then given those.
    sub_ms_ns: Option<Vec<u32>>,
    /// Series of this request the cache did not know: key → `New` (an index in
    /// `new_labels`; the keys are cached once the engine has created the series) or
    /// `Refused` (a refusal remembered from an earlier request).
    new_index: HashMap<Box<[u8]>, Target, foldhash::fast::RandomState>,
    new_labels: Vec<Labels>,
    /// Remembered refusals of this request: reason index → series (each counted once).
    refused_series: Vec<(u32, u64)>,
    pub(crate) errors: Vec<LineError>,
    /// Influx string fields left out (they cannot be stored).
    pub(crate) string_fields: usize,
}

impl<'c> Batch<'c> {
    pub(crate) fn new(cache: &'c ProtocolCache, unit: &'static str) -> Self {
        Batch {
            cache,
            stamp: cache.refused.stamp(),
            unit,
            samples: Vec::new(),
            lines: Vec::new(),
            sub_ms_ns: None,
            new_index: HashMap::default(),
            new_labels: Vec::new(),
            refused_series: Vec::new(),
            errors: Vec::new(),
            string_fields: 0,
        }
    }

    /// The series `key` names: from the cache, from this request's new series, a refusal
    /// that still stands, or decoded by `decode` (run only then) and added to the new ones.
    pub(crate) fn target<E>(
        &mut self,
        key: &[u8],
        decode: impl FnOnce() -> Result<Labels, E>,
    ) -> Result<Target, E> {
        if let Some(r) = self.cache.refs.get(key) {
            return Ok(Target::Known(r));
        }
        if let Some(&target) = self.new_index.get(key) {
            return Ok(target);
        }
        if let Some(reason) = self.cache.refused.get(key, self.stamp) {
            self.new_index.insert(key.into(), Target::Refused(reason));
            match self.refused_series.iter_mut().find(|(r, _)| *r == reason) {
                Some((_, n)) => *n += 1,
                None => self.refused_series.push((reason, 1)),
            }
            return Ok(Target::Refused(reason));
        }
        let labels = decode()?;
        let n = self.new_labels.len() as u32;
        self.new_index.insert(key.into(), Target::New(n));
        self.new_labels.push(labels);
        Ok(Target::New(n))
    }

    /// Starts loading the cache slots a `target(key, …)` soon after will read.
    pub(crate) fn prefetch(&self, key: &[u8]) {
        self.cache.prefetch(key);
    }

    pub(crate) fn push(&mut self, target: Target, line: usize, t: i64, v: f64) {
        self.samples.push((target, t, v));
        self.lines.push(line as u32);
    }

    /// `push`, of a time `sub_ms_ns` nanoseconds past millisecond `t`.
    pub(crate) fn push_precise(&mut self, target: Target, line: usize, (t, sub_ms_ns): (i64, u32), v: f64) {
        if sub_ms_ns != 0 && self.sub_ms_ns.is_none() {
            self.sub_ms_ns = Some(vec![0; self.samples.len()]);
        }
        if let Some(subs) = &mut self.sub_ms_ns {
            subs.push(sub_ms_ns);
        }
        self.push(target, line, t, v);
    }

    pub(crate) fn error(&mut self, line: usize, message: String) {
        self.errors.push(LineError { line, message });
    }

    /// Adds errors found apart (bad UTF-8), keeping all in line order.
    fn add_errors(&mut self, errors: Vec<LineError>) {
        if !errors.is_empty() {
            self.errors.extend(errors);
            self.errors.sort_by_key(|e| e.line);
        }
    }

    /// How many samples it holds.
    pub(crate) fn len(&self) -> usize {
        self.samples.len()
    }

    /// The samples grouped by series with their labels, and the bad lines: for a batch
    /// parsed against an empty cache (the cluster's write path), where every series is
    /// new. A series the cache knew (none can be) is reported as a bad line.
    pub(crate) fn into_series(mut self) -> (Vec<LabeledSamples>, Vec<LineError>) {
        let mut series: Vec<LabeledSamples> =
            self.new_labels.into_iter().map(|labels| (labels, Vec::new())).collect();
        for ((target, t, v), line) in self.samples.into_iter().zip(self.lines) {
            match target {
                Target::New(n) => series[n as usize].1.push((t, v)),
                Target::Known(_) | Target::Refused(_) => self.errors.push(LineError {
                    line: line as usize,
                    message: "internal: a cached series on the cluster's write path".into(),
                }),
            }
        }
        series.retain(|(_, samples)| !samples.is_empty());
        (series, self.errors)
    }
}

/// The lines of a body, numbered from 1. A body that is not UTF-8 as a whole is checked
/// line by line: the bad lines go to `bad` (and are not yielded), so only they are lost.
fn lines<'b>(body: &'b [u8], bad: &'b mut Vec<LineError>) -> Box<dyn Iterator<Item = (usize, &'b str)> + 'b> {
    if let Ok(text) = std::str::from_utf8(body) {
        return Box::new(text.split('\n').enumerate().map(|(i, line)| (i + 1, line)));
    }
    Box::new(body.split(|&b| b == b'\n').enumerate().filter_map(|(i, raw)| match std::str::from_utf8(raw) {
        Ok(line) => Some((i + 1, line)),
        Err(e) => {
            bad.push(LineError {
                line: i + 1,
                message: format!("not valid UTF-8 at byte {}", e.valid_up_to()),
            });
            None
        }
    }))
}

/// Where a line-protocol write with `db` goes (`strata_influxql::namespace`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct InfluxTarget<'a> {
    pub(crate) catalog: &'a strata_influxql::Catalog,
    pub(crate) target: &'a strata_influxql::namespace::WriteTarget,
}

/// Parses Influx line protocol. A series is keyed by its text and the field's key
/// (`cpu,host=a usage_idle`), so a known one costs no tag decoding.
pub(crate) fn parse_line_protocol<'c>(
    body: &[u8],
    precision: Precision,
    now_ms: i64,
    cache: &'c ProtocolCache,
    influx: Option<InfluxTarget<'_>>,
) -> Batch<'c> {
    let mut batch = Batch::new(cache, "line");
    let mut fields: Vec<RawField<'_>> = Vec::new();
    let mut key = Vec::new();
    let mut bad_utf8 = Vec::new();
    for (no, line) in lines(body, &mut bad_utf8) {
        let point = match line_protocol::scan_line(line, no, precision, &mut fields) {
            Ok(Some(point)) => point,
            Ok(None) => continue,
            Err(e) => {
                batch.errors.push(column_error(no, &e));
                continue;
            }
        };
        batch.string_fields += point.string_fields;
        if fields.is_empty() {
            batch.error(no, "only string fields, which cannot be stored as samples".into());
            continue;
        }
        let t = point.timestamp.unwrap_or(now_ms);
        let sub_ms_ns = if point.timestamp.is_some() { point.sub_ms_ns } else { 0 };
        let mut parts = None;
        for field in &fields {
            key.clear();
            if let Some(influx) = &influx {
                key.extend_from_slice(&influx.target.key_prefix);
            }
            key.extend_from_slice(point.series.as_bytes());
            key.push(b' ');
            key.extend_from_slice(field.key.as_bytes());
            if influx.is_some() {
                // The type is part of the key: a field written with another type than its
                // series' first misses the cache, and the catalog refuses it.
                key.push(b' ');
                key.push(field.kind.tag());
            }
            let target = batch.target(&key, || {
                // Tags are decoded once per line, for its first new field.
                let p = match parts.take() {
                    Some(p) => p,
                    None => line_protocol::parse_series(point.series, no, point.series_at)?,
                };
                let mut labels = line_protocol::field_labels(&p, field.key, no, point.series_at);
                if let (Some(influx), Ok(l)) = (&influx, labels.as_mut()) {
                    // A new series of a database: its labels and its (measurement, field) pair.
                    strata_influxql::namespace::label_new_series(
                        influx.catalog,
                        influx.target,
                        &p.measurement,
                        l,
                        field.kind.name(),
                    )
                    .map_err(|message| strata_ingest::ParseError::new(no, point.series_at, message))?;
                }
                parts = Some(p);
                labels
            });
            match target {
                Ok(target) => batch.push_precise(target, no, (t, sub_ms_ns), field.value),
                Err(e) => {
                    batch.errors.push(column_error(no, &e));
                    break;
                }
            }
        }
    }
    batch.add_errors(bad_utf8);
    batch
}

/// Parses the Prometheus text format (one sample per line, optional timestamp). A series
/// is keyed by its text (`up{job="a"}`), so a known one costs no label decoding.
pub(crate) fn parse_prometheus_text<'c>(
    body: &[u8],
    time: TextTime,
    now_ms: i64,
    cache: &'c ProtocolCache,
) -> Batch<'c> {
    let mut batch = Batch::new(cache, "line");
    let mut bad_utf8 = Vec::new();
    for (no, line) in lines(body, &mut bad_utf8) {
        let sample = match exposition::scan_line(line, no, Flavor::Prometheus) {
            Ok(Some(sample)) => sample,
            Ok(None) => continue,
            Err(e) => {
                batch.errors.push(column_error(no, &e));
                continue;
            }
        };
        let t = match sample.timestamp.map(|t| text_time_ms(t, time)) {
            None => now_ms,
            Some(Some(ms)) => ms,
            Some(None) => {
                batch.error(no, "timestamp out of range".into());
                continue;
            }
        };
        let target = batch.target(sample.series.as_bytes(), || {
            exposition::parse_series(sample.series, no, sample.series_at)
        });
        match target {
            Ok(target) => batch.push(target, no, t, sample.value),
            Err(e) => batch.errors.push(column_error(no, &e)),
        }
    }
    batch.add_errors(bad_utf8);
    batch
}

/// Remote write's series (from `remote_write_fast`), keyed by the bytes of their label
/// fields. A series is named by its position in the request in errors, from 1.
pub(crate) fn collect_remote<'c>(series: &[RawSeries<'_>], cache: &'c ProtocolCache) -> Batch<'c> {
    /// How many series ahead their cache slots are asked for: enough misses in flight to
    /// overlap, few enough that the lines are still there when their turn comes.
    const PREFETCH_AHEAD: usize = 8;
    let mut batch = Batch::new(cache, "series");
    series.iter().take(PREFETCH_AHEAD).for_each(|s| batch.prefetch(&s.key));
    for (i, s) in series.iter().enumerate() {
        if let Some(ahead) = series.get(i + PREFETCH_AHEAD) {
            batch.prefetch(&ahead.key);
        }
        if s.samples.is_empty() {
            continue;
        }
        match batch.target(&s.key, || decode_labels(s)) {
            Ok(target) => {
                for &(t, v) in &s.samples {
                    batch.push(target, i + 1, t, v);
                }
            }
            Err(message) => batch.error(i + 1, message),
        }
    }
    batch
}

/// Translated OTLP series, keyed by their Prometheus text; a "line" is a series' position
/// in the translation, from 1.
pub(crate) fn collect_series<'c>(series: &[strata_otlp::Series], cache: &'c ProtocolCache) -> Batch<'c> {
    let mut batch = Batch::new(cache, "series");
    for (i, s) in series.iter().enumerate() {
        let key = s.labels.prometheus_key();
        let Ok(target) = batch.target(key.as_bytes(), || Ok::<_, String>(s.labels.clone())) else { continue };
        for &(t, v) in &s.samples {
            batch.push(target, i + 1, t, v);
        }
    }
    batch
}

/// The samples of Prometheus' protobuf exposition: floats keyed by their Prometheus text,
/// native histograms beside them; a sample without a timestamp takes `now_ms`, as a text
/// line without one does. A "line" is a sample's position in the body, from 1.
pub(crate) fn collect_exposed<'c>(
    samples: Vec<ExposedSample>,
    now_ms: i64,
    cache: &'c ProtocolCache,
) -> (Batch<'c>, HistogramBatch) {
    let mut batch = Batch::new(cache, "sample");
    let mut histograms = HistogramBatch::default();
    for (i, sample) in samples.into_iter().enumerate() {
        let t = sample.timestamp.unwrap_or(now_ms);
        match sample.value {
            ExposedValue::Float(v) => {
                let key = sample.labels.prometheus_key();
                let labels = sample.labels;
                if let Ok(target) = batch.target(key.as_bytes(), || Ok::<_, String>(labels)) {
                    batch.push(target, i + 1, t, v);
                }
            }
            ExposedValue::Histogram(h) => histograms.samples.push((sample.labels, t, h)),
        }
    }
    (batch, histograms)
}

/// A parser's error without its line number (the answer adds it).
fn column_error(line: usize, e: &strata_ingest::ParseError) -> LineError {
    LineError { line, message: format!("column {}: {}", e.column, e.message) }
}

fn text_time_ms(t: i64, time: TextTime) -> Option<i64> {
    match time {
        TextTime::Auto if t.abs() < SECONDS_BELOW => Some(t * 1000),
        TextTime::Auto => Some(t),
        TextTime::Unit(Precision::Hours) => t.checked_mul(3_600_000),
        TextTime::Unit(Precision::Minutes) => t.checked_mul(60_000),
        TextTime::Unit(Precision::Seconds) => t.checked_mul(1000),
        TextTime::Unit(Precision::Milliseconds) => Some(t),
        TextTime::Unit(Precision::Microseconds) => Some(t.div_euclid(1000)),
        TextTime::Unit(Precision::Nanoseconds) => Some(t.div_euclid(1_000_000)),
    }
}

/// What a write did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct WriteSummary {
    /// Samples written (acknowledged per the WAL policy).
    pub(crate) written: usize,
    /// Bad lines.
    pub(crate) line_errors: Vec<LineError>,
    /// Samples the engine refused: how many, and the first few reasons.
    pub(crate) refused: usize,
    pub(crate) refused_reasons: Vec<String>,
    /// Influx string fields left out.
    pub(crate) string_fields: usize,
    /// A storage failure that stopped the write (what came before it was written).
    pub(crate) storage_error: Option<String>,
    /// That failure was the engine refusing writes for now (retry later: 503).
    pub(crate) overloaded: bool,
    /// Of `written`, native-histogram samples.
    pub(crate) histograms_written: usize,
    /// Nothing was written: the tenant's ingest rate is used up; the message, and seconds
    /// until the request would fit (429 with Retry-After).
    pub(crate) rate_limited: Option<(String, u64)>,
    /// In a cluster, the nodes that made their copy of a replicated write.
    pub(crate) acked_by: Vec<String>,
}

impl WriteSummary {
    /// A write refused whole by `tenant`'s ingest rate, which allows it in `wait` seconds.
    pub(crate) fn rate_limited(tenant: &str, wait: f64) -> WriteSummary {
        let message = if wait.is_finite() {
            format!("tenant {tenant:?} is over its ingest rate; nothing was written; retry in {wait:.1}s")
        } else {
            format!("tenant {tenant:?} may not write (its ingest rate is 0)")
        };
        // Whole seconds for Retry-After, at least 1; an hour when the rate is 0.
        let retry = if wait.is_finite() { wait.ceil().max(1.0) as u64 } else { 3600 };
        WriteSummary { rate_limited: Some((message, retry)), ..WriteSummary::default() }
    }

    /// Whether everything in the request was written.
    pub(crate) fn complete(&self) -> bool {
        self.line_errors.is_empty()
            && self.refused == 0
            && self.storage_error.is_none()
            && self.rate_limited.is_none()
    }

    /// Seconds a client should wait before retrying, for `Retry-After` (whole, at least 1).
    pub(crate) fn retry_after(&self) -> Option<u64> {
        self.rate_limited.as_ref().map(|(_, seconds)| *seconds)
    }

    /// What went wrong, for the error answer: counts, then the first few problems.
    pub(crate) fn problem(&self) -> String {
        if let Some((message, _)) = &self.rate_limited {
            return message.clone();
        }
        let mut parts = Vec::new();
        if let Some(e) = &self.storage_error {
            parts.push(format!("storage error: {e}"));
        }
        if !self.line_errors.is_empty() {
            let shown: Vec<String> =
                self.line_errors.iter().take(5).map(|e| format!("line {}: {}", e.line, e.message)).collect();
            let more = self.line_errors.len().saturating_sub(shown.len());
            let tail = if more > 0 { format!("; and {more} more") } else { String::new() };
            parts.push(format!("{} bad line(s): {}{tail}", self.line_errors.len(), shown.join("; ")));
        }
        if self.refused > 0 {
            parts.push(format!(
                "{} sample(s) refused by storage: {}",
                self.refused,
                self.refused_reasons.join("; ")
            ));
        }
        format!("partial write: {}; {} sample(s) written", parts.join("; "), self.written)
    }
}

/// The metric label of a storage refusal.
fn refusal_reason(message: &str) -> &'static str {
    if message.starts_with("out of bounds") {
        "out_of_bounds"
    } else if message.starts_with("duplicate") {
        "duplicate"
    } else if message.starts_with("invalid native histogram") {
        "native_histogram"
    } else {
        "out_of_order"
    }
}

/// Appends a parsed request: creates its new series (durably, in the WAL) and caches their
/// keys (and the keys of those refused), then appends in batches of `append_batch`;
/// blocking (call it from a blocking thread). Refusals remembered from earlier requests are
/// told to `limiter`, which counts them as it counted the first.
pub(crate) fn apply(
    engine: &dyn Engine,
    metrics: &Metrics,
    protocol: Protocol,
    batch: Batch<'_>,
    append_batch: usize,
    limiter: Option<&strata_cardinality::Limiter>,
) -> WriteSummary {
    let mut summary = WriteSummary {
        line_errors: batch.errors,
        string_fields: batch.string_fields,
        ..WriteSummary::default()
    };
    metrics.rejected("parse", summary.line_errors.len());
    metrics.rejected("string_field", summary.string_fields);
    // Read before the head decides: a refusal is remembered under the span it was made in.
    let stamp = batch.cache.refused.stamp();
    let created = if batch.new_labels.is_empty() {
        Vec::new()
    } else {
        // Cardinality limits may refuse some new series; their samples are refused, the
        // rest of the request is written.
        match engine.series_refs_admitted(&batch.new_labels) {
            Ok(created) => created,
            Err(e) => {
                metrics.rejected("storage", batch.samples.len());
                summary.storage_error = Some(e.to_string());
                return summary;
            }
        }
    };
    for (key, &target) in &batch.new_index {
        let Target::New(n) = target else { continue };
        match &created[n as usize] {
            Ok(r) => batch.cache.refs.insert(key, *r),
            Err(reason) => batch.cache.refused.insert(key, stamp, reason),
        }
    }
    if let Some(limiter) = limiter {
        for &(reason, series) in &batch.refused_series {
            limiter.refused_again(&batch.cache.refused.reason(reason), series);
        }
    }
    let mut samples: Vec<(AppendRef, i64, f64)> = Vec::with_capacity(batch.samples.len());
    let mut lines: Vec<u32> = Vec::with_capacity(batch.samples.len());
    // Times in nanoseconds when the request has some an engine of nanoseconds would keep.
    let nanos = batch.sub_ms_ns.as_deref().filter(|_| engine.resolution_ns() < NS_PER_MS);
    for (i, &(target, t, v)) in batch.samples.iter().enumerate() {
        let refused = |summary: &mut WriteSummary, metric: &'static str, reason: &str| {
            summary.refused += 1;
            metrics.rejected(metric, 1);
            if summary.refused_reasons.len() < 5 {
                summary.refused_reasons.push(format!("{} {}: {reason}", batch.unit, batch.lines[i]));
            }
        };
        let r = match target {
            Target::Known(r) => r,
            Target::New(n) => match &created[n as usize] {
                Ok(r) => *r,
                Err(reason) => {
                    refused(&mut summary, "cardinality_limit", reason);
                    continue;
                }
            },
            Target::Refused(reason) => {
                refused(&mut summary, "cardinality_limit", &batch.cache.refused.reason(reason));
                continue;
            }
        };
        let t = match nanos {
            None => t,
            Some(subs) => match t.checked_mul(NS_PER_MS).and_then(|ns| ns.checked_add(i64::from(subs[i]))) {
                Some(ns) => ns,
                None => {
                    let reason = format!("timestamp {t} ms is outside what nanoseconds in an i64 can hold");
                    refused(&mut summary, "out_of_bounds", &reason);
                    continue;
                }
            },
        };
        samples.push((r, t, v));
        lines.push(batch.lines[i]);
    }
    let size = append_batch.max(1);
    for (k, chunk) in samples.chunks(size).enumerate() {
        let result = if nanos.is_some() { engine.append_refs_ns(chunk) } else { engine.append_refs(chunk) };
        let describe = |j: usize| format!("{} {}", batch.unit, lines[k * size + j]);
        if !account(&mut summary, metrics, result, chunk.len(), describe) {
            break;
        }
    }
    metrics.ingested(protocol, summary.written);
    summary
}

/// Appends a request's native-histogram samples after its floats (unless storage already
/// failed), adding the outcome to `summary`: undecodable histograms and the engine's
/// refusals are refused samples with their reasons, as for floats.
pub(crate) fn apply_histograms(
    engine: &dyn Engine,
    metrics: &Metrics,
    protocol: Protocol,
    batch: HistogramBatch,
    append_batch: usize,
    summary: &mut WriteSummary,
) {
    metrics.rejected("parse", batch.errors.len());
    summary.refused += batch.errors.len();
    let room = 5usize.saturating_sub(summary.refused_reasons.len());
    summary.refused_reasons.extend(batch.errors.into_iter().take(room));
    if summary.storage_error.is_some() {
        return;
    }
    let before = summary.written;
    for chunk in batch.samples.chunks(append_batch.max(1)) {
        let result = engine.append_histograms(chunk);
        let describe = |j: usize| format!("histogram of {} at {}", chunk[j].0, chunk[j].1);
        if !account(summary, metrics, result, chunk.len(), describe) {
            break;
        }
    }
    summary.histograms_written = summary.written - before;
    metrics.ingested(protocol, summary.histograms_written);
}

/// Adds an append's outcome to `summary` (refusals described by `describe(index)`);
/// false when storage failed and the write must stop.
fn account(
    summary: &mut WriteSummary,
    metrics: &Metrics,
    result: Result<AppendResult, StorageError>,
    attempted: usize,
    describe: impl Fn(usize) -> String,
) -> bool {
    match result {
        Ok(result) => {
            summary.written += result.accepted;
            summary.refused += result.rejected.len();
            for r in &result.rejected {
                metrics.rejected(refusal_reason(&r.reason), 1);
            }
            let room = 5usize.saturating_sub(summary.refused_reasons.len());
            summary.refused_reasons.extend(
                result
                    .rejected
                    .into_iter()
                    .take(room)
                    .map(|r| format!("{}: {}", describe(r.index), r.reason)),
            );
            true
        }
        Err(e) => {
            metrics.rejected("storage", attempted);
            summary.overloaded = matches!(e, StorageError::Overloaded(_));
            summary.storage_error = Some(e.to_string());
            false
        }
    }
}

/// A raw series' labels, validated; it must have a metric name.
pub(crate) fn decode_labels(s: &RawSeries<'_>) -> Result<Labels, String> {
    let text = |b: &[u8]| {
        std::str::from_utf8(b).map(str::to_string).map_err(|_| "a label is not valid UTF-8".to_string())
    };
    let mut pairs = Vec::with_capacity(s.labels.len());
    for (name, value) in &s.labels {
        pairs.push((text(name)?, text(value)?));
    }
    let labels = Labels::from_pairs(pairs).map_err(|e| e.to_string())?;
    if labels.metric_name().is_none() {
        return Err(format!("series {labels} has no __name__ label"));
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use strata_storage::BlockEngine;
    use strata_storage::BlockEngineOptions;

    fn cache() -> ProtocolCache {
        ProtocolCache::new(1 << 10, std::sync::Arc::new(strata_cardinality::RefusalEpoch::default()))
    }

    /// A batch's samples as (series, t, v); series the cache knew show as "known".
    fn samples(batch: &Batch<'_>) -> Vec<(String, i64, f64)> {
        let name = |target: &Target| match target {
            Target::Known(_) => "known".to_string(),
            Target::Refused(_) => "refused".to_string(),
            Target::New(n) => batch.new_labels[*n as usize].to_string(),
        };
        batch.samples.iter().map(|(target, t, v)| (name(target), *t, *v)).collect()
    }

    fn engine() -> (tempfile::TempDir, BlockEngine) {
        let dir = tempfile::tempdir().unwrap();
        let engine = BlockEngine::open(dir.path(), BlockEngineOptions::default()).unwrap();
        (dir, engine)
    }

    /// Everything stored, as (series, t, v), sorted.
    fn stored(engine: &BlockEngine) -> Vec<(String, i64, u64)> {
        let all = [strata_model::Matcher::new(strata_model::MatchOp::RegexMatch, "__name__", ".+").unwrap()];
        let mut out = Vec::new();
        for series in Engine::select(engine, &all, i64::MIN, i64::MAX).unwrap() {
            for (t, v) in series.collect_samples().unwrap() {
                out.push((series.labels().to_string(), t, v.to_bits()));
            }
        }
        out.sort();
        out
    }

    #[test]
    fn the_seeds_lines_are_seconds_and_bad_lines_are_named() {
        let body = b"cpu_usage{host=\"server1\",region=\"us-east\"} 0.75 1703001600\n\
cpu_usage{host=\"server1\"} oops 1703001610\n\
memory_usage{host=\"server1\"} 0.45 1703001600123\n\
# a comment\n\
up 1\n";
        let cache = cache();
        let parsed = parse_prometheus_text(body, TextTime::Auto, 42, &cache);
        let times: Vec<i64> = samples(&parsed).iter().map(|s| s.1).collect();
        assert_eq!(times, vec![1_703_001_600_000, 1_703_001_600_123, 42]);
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(parsed.errors[0].line, 2);
        assert!(parsed.errors[0].message.contains("not a number"), "{:?}", parsed.errors);
        let ms =
            parse_prometheus_text(b"up 1 1703001600", TextTime::Unit(Precision::Milliseconds), 0, &cache);
        assert_eq!(samples(&ms)[0].1, 1_703_001_600);
    }

    #[test]
    fn line_protocol_fields_become_series_and_strings_are_counted() {
        let body = b"cpu,host=a usage_idle=98.5,usage_user=1i 1700000000000000000\nlog,host=a msg=\"hi\"\nbad line\n";
        let cache = cache();
        let parsed = parse_line_protocol(body, Precision::Nanoseconds, 7, &cache, None);
        let got = samples(&parsed);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], (r#"cpu_usage_idle{host="a"}"#.to_string(), 1_700_000_000_000, 98.5));
        assert_eq!(got[1].0, r#"cpu_usage_user{host="a"}"#);
        assert_eq!(parsed.string_fields, 1);
        let lines: Vec<usize> = parsed.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 3]);
    }

    #[test]
    fn invalid_utf8_is_a_bad_line_not_a_panic() {
        let cache = cache();
        let parsed = parse_line_protocol(b"cpu v=1 1\n\xff\xfe v=2\n", Precision::Seconds, 0, &cache, None);
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed.errors[0].line, 2);
        assert!(parsed.errors[0].message.contains("UTF-8"));
    }

    #[test]
    fn a_partial_write_says_what_was_written_and_what_was_not() {
        let summary = WriteSummary {
            written: 3,
            line_errors: vec![LineError { line: 2, message: "bad".into() }],
            ..WriteSummary::default()
        };
        assert!(!summary.complete());
        assert_eq!(summary.problem(), "partial write: 1 bad line(s): line 2: bad; 3 sample(s) written");
    }

    #[test]
    fn known_series_come_from_the_cache_and_refusals_name_their_line() {
        let (_dir, engine) = engine();
        let (cache, metrics) = (cache(), Metrics::default());
        let body = b"up{job=\"a\"} 1 1000\nup{job=\"a\"} 2 2000\ncpu{host=\"x\"} 1 3\n";
        let first = parse_prometheus_text(body, TextTime::Unit(Precision::Milliseconds), 0, &cache);
        assert_eq!(first.new_labels.len(), 2, "a series new to the cache is decoded once per request");
        let summary = apply(&engine, &metrics, Protocol::PrometheusText, first, 100, None);
        assert!(summary.complete(), "{}", summary.problem());
        let ms = TextTime::Unit(Precision::Milliseconds);
        let again = parse_prometheus_text(b"up{job=\"a\"} 3 3000\nup{job=\"a\"} 0 500", ms, 0, &cache);
        assert!(samples(&again).iter().all(|s| s.0 == "known"), "{:?}", samples(&again));
        let summary = apply(&engine, &metrics, Protocol::PrometheusText, again, 100, None);
        assert_eq!(summary.written, 1);
        assert_eq!(summary.refused, 1);
        assert!(summary.refused_reasons[0].starts_with("line 2: out of"), "{:?}", summary.refused_reasons);
        let want: Vec<(String, i64, u64)> = [(1000, 1.0), (2000, 2.0), (3000, 3.0)]
            .iter()
            .map(|&(t, v): &(i64, f64)| (r#"up{job="a"}"#.to_string(), t, v.to_bits()))
            .collect();
        assert_eq!(stored(&engine)[1..], want[..]);
    }

    /// A series over a limit is remembered as refused: the next request refuses its samples
    /// with the same reason without decoding it, and the limiter counts it once per request;
    /// once a removal or reload may have made room, it is decided afresh.
    #[test]
    fn a_refused_series_is_remembered_until_the_limits_could_make_room() {
        let (_dir, engine) = engine();
        let limits = strata_cardinality::Limits { max_series: Some(1), ..Default::default() };
        let head = engine.head();
        let limiter =
            std::sync::Arc::new(strata_cardinality::Limiter::new(limits, &|m| head.count_series(m)));
        head.set_admission(Some(limiter.clone()));
        let cache = ProtocolCache::new(1 << 10, limiter.epoch());
        let metrics = Metrics::default();
        let ms = TextTime::Unit(Precision::Milliseconds);
        let write = |body: &str| {
            let batch = parse_prometheus_text(body.as_bytes(), ms, 0, &cache);
            let targets = samples(&batch).into_iter().map(|s| s.0).collect::<Vec<_>>();
            (targets, apply(&engine, &metrics, Protocol::PrometheusText, batch, 100, Some(&limiter)))
        };
        let (_, first) = write(
            "a 1 1
b 1 1
b 2 2
",
        );
        assert_eq!((first.written, first.refused), (1, 2), "{}", first.problem());
        assert_eq!(limiter.rejected().get("max-series"), Some(&1));
        let (targets, again) = write(
            "b 3 3
b 4 4
a 2 2
",
        );
        assert_eq!(targets, ["refused", "refused", "known"], "b is not decoded again");
        assert_eq!((again.written, again.refused), (1, 2));
        let reason = first.refused_reasons[0].split_once(": ").unwrap().1;
        assert!(reason.contains("max-series"), "{reason}");
        assert_eq!(again.refused_reasons, [format!("line 1: {reason}"), format!("line 2: {reason}")]);
        assert_eq!(limiter.rejected().get("max-series"), Some(&2), "counted once for the request");
        // A reload raises the limit: b is decided afresh, and admitted.
        let limits = strata_cardinality::Limits { max_series: Some(2), ..Default::default() };
        limiter.reload(limits, &|m| head.count_series(m));
        let (targets, after) = write(
            "b 5 5
",
        );
        assert_eq!(targets, ["b"], "decoded again");
        assert!(after.complete(), "{}", after.problem());
    }

    /// Series texts that name the same few series in different spellings (label order,
    /// spaces, escapes), for the property below.
    const TEXT_SERIES: [&str; 6] = [
        r#"up{job="a",i="1"}"#,
        r#"up{i="1",job="a"}"#,
        r#"up{ job = "a" , i="1", }"#,
        r#"up{job="a\"b",i="}"}"#,
        "up",
        r#"up{}"#,
    ];
    const LP_SERIES: [&str; 4] = ["m,job=a,i=1", "m,i=1,job=a", r"m,job=a\ b", "m"];
    const LP_FIELDS: [&str; 3] = ["value", "f", r"f\ g"];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Whatever the cache held between requests, the engine ends up with exactly the
        /// samples the parsers' own labels say (the oracle: parse_line, no cache).
        #[test]
        fn the_cache_never_changes_what_is_stored(
            requests in prop::collection::vec(
                prop::collection::vec((0usize..6, 0usize..4, 0usize..3, 0.0f64..100.0), 1..12), 1..4),
        ) {
            let (_dir, engine) = engine();
            let (text_cache, lp_cache, metrics) = (cache(), cache(), Metrics::default());
            let mut oracle = Vec::new();
            for (r, request) in requests.iter().enumerate() {
                let (mut text, mut lp) = (String::new(), String::new());
                for (k, &(ts, ls, f, v)) in request.iter().enumerate() {
                    let t = (r * 100 + k) as i64;
                    text.push_str(&format!("{} {v} {t}\n", TEXT_SERIES[ts]));
                    lp.push_str(&format!("{} {}={v} {t}\n", LP_SERIES[ls], LP_FIELDS[f]));
                }
                for line in text.lines() {
                    let s = exposition::parse_line(line, 1, Flavor::Prometheus).unwrap().unwrap();
                    oracle.push((s.labels.to_string(), s.timestamp.unwrap(), s.value.to_bits()));
                }
                for line in lp.lines() {
                    for s in line_protocol::parse_line(line, 1, Precision::Milliseconds).unwrap().samples {
                        oracle.push((s.labels.to_string(), s.timestamp.unwrap(), s.value.to_bits()));
                    }
                }
                let unit = TextTime::Unit(Precision::Milliseconds);
                let batch = parse_prometheus_text(text.as_bytes(), unit, 0, &text_cache);
                let _ = apply(&engine, &metrics, Protocol::PrometheusText, batch, 5, None);
                let batch = parse_line_protocol(lp.as_bytes(), Precision::Milliseconds, 0, &lp_cache, None);
                let _ = apply(&engine, &metrics, Protocol::Influx, batch, 5, None);
            }
            oracle.sort();
            prop_assert_eq!(stored(&engine), oracle);
        }
    }
}
