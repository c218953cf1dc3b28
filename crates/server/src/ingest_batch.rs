//! From a request body to samples in the engine: parse every line (the valid ones are kept,
//! each bad one is reported with its line number and reason), then append in batches of
//! `append-batch` samples, and say exactly how many were written.
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

use strata_ingest::exposition::{self, Flavor};
use strata_ingest::line_protocol::{self, Precision};
use strata_ingest::ParsedSample;
use strata_model::Labels;
use strata_storage::{AppendRef, AppendResult, BlockEngine, Engine, StorageError};

use crate::metrics::{Metrics, Protocol};
use crate::remote_write_fast::RawSeries;
use crate::series_cache::SeriesCache;

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

/// A bad line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LineError {
    pub(crate) line: usize,
    pub(crate) message: String,
}

/// A parsed body.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub(crate) samples: Vec<(Labels, i64, f64)>,
    pub(crate) errors: Vec<LineError>,
    /// Influx string fields left out (they cannot be stored).
    pub(crate) string_fields: usize,
}

fn lines(body: &[u8]) -> impl Iterator<Item = (usize, Result<&str, LineError>)> {
    body.split(|&b| b == b'\n').enumerate().map(|(i, raw)| {
        let line = std::str::from_utf8(raw).map_err(|e| LineError {
            line: i + 1,
            message: format!("not valid UTF-8 at byte {}", e.valid_up_to()),
        });
        (i + 1, line)
    })
}

/// Parses Influx line protocol.
pub(crate) fn parse_line_protocol(body: &[u8], precision: Precision, now_ms: i64) -> Parsed {
    let mut parsed = Parsed::default();
    for (no, line) in lines(body) {
        let line = match line {
            Ok(l) => l.trim_end_matches('\r'),
            Err(e) => {
                parsed.errors.push(e);
                continue;
            }
        };
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        match line_protocol::parse_line(line, no, precision) {
            Ok(point) => {
                parsed.string_fields += point.string_fields;
                if point.samples.is_empty() && point.string_fields > 0 {
                    parsed.errors.push(LineError {
                        line: no,
                        message: "only string fields, which cannot be stored as samples".into(),
                    });
                }
                parsed.samples.extend(point.samples.into_iter().map(|s| into_tuple(s, now_ms)));
            }
            Err(e) => parsed.errors.push(column_error(no, &e)),
        }
    }
    parsed
}

/// Parses the Prometheus text format (one sample per line, optional timestamp).
pub(crate) fn parse_prometheus_text(body: &[u8], time: TextTime, now_ms: i64) -> Parsed {
    let mut parsed = Parsed::default();
    for (no, line) in lines(body) {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                parsed.errors.push(e);
                continue;
            }
        };
        match exposition::parse_line(line, no, Flavor::Prometheus) {
            Ok(None) => {}
            Ok(Some(mut sample)) => match sample.timestamp.map(|t| text_time_ms(t, time)) {
                Some(None) => {
                    parsed.errors.push(LineError { line: no, message: "timestamp out of range".into() })
                }
                Some(Some(ms)) => {
                    sample.timestamp = Some(ms);
                    parsed.samples.push(into_tuple(sample, now_ms));
                }
                None => parsed.samples.push(into_tuple(sample, now_ms)),
            },
            Err(e) => parsed.errors.push(column_error(no, &e)),
        }
    }
    parsed
}

/// A parser's error without its line number (the answer adds it).
fn column_error(line: usize, e: &strata_ingest::ParseError) -> LineError {
    LineError { line, message: format!("column {}: {}", e.column, e.message) }
}

fn text_time_ms(t: i64, time: TextTime) -> Option<i64> {
    match time {
        TextTime::Auto if t.abs() < SECONDS_BELOW => Some(t * 1000),
        TextTime::Auto => Some(t),
        TextTime::Unit(Precision::Seconds) => t.checked_mul(1000),
        TextTime::Unit(Precision::Milliseconds) => Some(t),
        TextTime::Unit(Precision::Microseconds) => Some(t.div_euclid(1000)),
        TextTime::Unit(Precision::Nanoseconds) => Some(t.div_euclid(1_000_000)),
    }
}

fn into_tuple(s: ParsedSample, now_ms: i64) -> (Labels, i64, f64) {
    (s.labels, s.timestamp.unwrap_or(now_ms), s.value)
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
}

impl WriteSummary {
    /// Whether everything in the request was written.
    pub(crate) fn complete(&self) -> bool {
        self.line_errors.is_empty() && self.refused == 0 && self.storage_error.is_none()
    }

    /// What went wrong, for the error answer: counts, then the first few problems.
    pub(crate) fn problem(&self) -> String {
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
    } else {
        "out_of_order"
    }
}

/// Appends `parsed` in batches of `batch`; blocking (call it from a blocking thread).
pub(crate) fn apply(
    engine: &BlockEngine,
    metrics: &Metrics,
    protocol: Protocol,
    parsed: Parsed,
    batch: usize,
) -> WriteSummary {
    let mut summary = WriteSummary {
        line_errors: parsed.errors,
        string_fields: parsed.string_fields,
        ..WriteSummary::default()
    };
    metrics.rejected("parse", summary.line_errors.len());
    metrics.rejected("string_field", summary.string_fields);
    for chunk in parsed.samples.chunks(batch.max(1)) {
        let result = Engine::append(engine, chunk);
        if !account(&mut summary, metrics, result, chunk.len(), |i| chunk[i].0.to_string()) {
            break;
        }
    }
    metrics.ingested(protocol, summary.written);
    summary
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
            summary.storage_error = Some(e.to_string());
            false
        }
    }
}

/// Remote write's path: series found in `cache` skip label decoding entirely (see
/// `series_cache`); the others are decoded, validated, created (durably) and cached.
/// A series is named by its position in the request in errors, from 1.
pub(crate) fn apply_remote(
    engine: &BlockEngine,
    metrics: &Metrics,
    cache: &SeriesCache<AppendRef>,
    series: &[RawSeries<'_>],
    batch: usize,
) -> WriteSummary {
    let mut summary = WriteSummary::default();
    let mut refs: Vec<Option<AppendRef>> =
        series.iter().map(|s| if s.samples.is_empty() { None } else { cache.get(&s.key) }).collect();
    let (mut missing, mut missing_labels) = (Vec::new(), Vec::new());
    for (i, s) in series.iter().enumerate() {
        if refs[i].is_some() || s.samples.is_empty() {
            continue;
        }
        match decode_labels(s) {
            Ok(labels) => {
                missing.push(i);
                missing_labels.push(labels);
            }
            Err(message) => summary.line_errors.push(LineError { line: i + 1, message }),
        }
    }
    metrics.rejected("parse", summary.line_errors.len());
    if !missing_labels.is_empty() {
        match Engine::series_refs(engine, &missing_labels) {
            Ok(created) => {
                for (i, r) in missing.into_iter().zip(created) {
                    refs[i] = Some(r);
                    cache.insert(&series[i].key, r);
                }
            }
            Err(e) => {
                summary.storage_error = Some(e.to_string());
                return summary;
            }
        }
    }
    let mut samples = Vec::with_capacity(series.iter().map(|s| s.samples.len()).sum());
    let mut owner = Vec::with_capacity(samples.capacity());
    for (i, s) in series.iter().enumerate() {
        if let Some(r) = refs[i] {
            samples.extend(s.samples.iter().map(|&(t, v)| (r, t, v)));
            owner.extend(std::iter::repeat_n(i, s.samples.len()));
        }
    }
    let batch = batch.max(1);
    for (k, chunk) in samples.chunks(batch).enumerate() {
        let result = Engine::append_refs(engine, chunk);
        if !account(&mut summary, metrics, result, chunk.len(), |j| {
            format!("series {}", owner[k * batch + j] + 1)
        }) {
            break;
        }
    }
    metrics.ingested(Protocol::RemoteWrite, summary.written);
    summary
}

/// A raw series' labels, validated; it must have a metric name.
fn decode_labels(s: &RawSeries<'_>) -> Result<Labels, String> {
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

    #[test]
    fn the_seeds_lines_are_seconds_and_bad_lines_are_named() {
        let body = b"cpu_usage{host=\"server1\",region=\"us-east\"} 0.75 1703001600\n\
cpu_usage{host=\"server1\"} oops 1703001610\n\
memory_usage{host=\"server1\"} 0.45 1703001600123\n\
# a comment\n\
up 1\n";
        let parsed = parse_prometheus_text(body, TextTime::Auto, 42);
        let times: Vec<i64> = parsed.samples.iter().map(|s| s.1).collect();
        assert_eq!(times, vec![1_703_001_600_000, 1_703_001_600_123, 42]);
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(parsed.errors[0].line, 2);
        assert!(parsed.errors[0].message.contains("not a number"), "{:?}", parsed.errors);
        let ms = parse_prometheus_text(b"up 1 1703001600", TextTime::Unit(Precision::Milliseconds), 0);
        assert_eq!(ms.samples[0].1, 1_703_001_600);
    }

    #[test]
    fn line_protocol_fields_become_series_and_strings_are_counted() {
        let body = b"cpu,host=a usage_idle=98.5,usage_user=1i 1700000000000000000\nlog,host=a msg=\"hi\"\nbad line\n";
        let parsed = parse_line_protocol(body, Precision::Nanoseconds, 7);
        assert_eq!(parsed.samples.len(), 2);
        assert_eq!(parsed.samples[0].0.metric_name(), Some("cpu_usage_idle"));
        assert_eq!(parsed.samples[0].1, 1_700_000_000_000);
        assert_eq!(parsed.string_fields, 1);
        let lines: Vec<usize> = parsed.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 3]);
    }

    #[test]
    fn invalid_utf8_is_a_bad_line_not_a_panic() {
        let parsed = parse_line_protocol(b"cpu v=1 1\n\xff\xfe v=2\n", Precision::Seconds, 0);
        assert_eq!(parsed.samples.len(), 1);
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
}
