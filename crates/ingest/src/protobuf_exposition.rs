//! Prometheus' protobuf exposition format: what a scrape target serves under
//! `Content-Type: application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
//! encoding=delimited`, and the only exposition that carries native histograms. The body is
//! a sequence of `MetricFamily` messages, each preceded by its length as a varint.
//!
//! Samples come out as Prometheus' scrape makes them (its `textparse.ProtobufParser`):
//! - counter, gauge, untyped: one float sample named after the family;
//! - summary: `<name>_count`, `<name>_sum`, and one `<name>{quantile="q"}` per quantile;
//! - histogram and gauge histogram: a **native histogram** named after the family when the
//!   message carries native fields (a span on either side, a zero threshold or a zero
//!   count above 0 — the rule Prometheus uses; a library marks an empty native histogram
//!   with an empty span). Float counts (`sample_count_float`, `zero_count_float` above 0)
//!   make a float histogram, otherwise an integer one; a gauge histogram gets the gauge
//!   hint. Otherwise, and also for a native one when [`Options::classic_histograms`] is set
//!   (Prometheus' `scrape_classic_histograms`), the classic series `<name>_count`,
//!   `<name>_sum` and `<name>_bucket{le="…"}`, with a `+Inf` bucket equal to the count when
//!   the message has none.
//!
//! `le` and `quantile` values are written as Prometheus writes them: Go's shortest float
//! with `.0` added to a whole number (`1.0`, `0.25`, `+Inf`). A `timestamp_ms` of 0 means
//! "no timestamp", as in Prometheus. Exemplars and created timestamps are read past: the
//! stores have no place for them (said in docs/format/exposition.md).
//!
//! Every problem names the family by its position (from 1) and byte offset, and its name
//! when it has one; nothing panics, and a length prefix past [`MAX_MESSAGE_BYTES`] or past
//! the end of the input is refused before anything is allocated for it.

use std::io::Read;

use prost::Message;
use strata_model::gofmt::format_g;
use strata_model::histogram::{CounterResetHint, FloatHistogram, Histogram, HistogramValue, Span};
use strata_model::{Labels, METRIC_NAME_LABEL};
use thiserror::Error;

/// The largest `MetricFamily` read (Prometheus' own scrape limit is the whole body; one
/// family this large is already far past any real target).
pub const MAX_MESSAGE_BYTES: u64 = 64 << 20;

/// The `Content-Type` a target serves this format under (parameters may follow).
pub const CONTENT_TYPE: &str = "application/vnd.google.protobuf";

/// How histograms that carry both forms are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Also keep the classic buckets of a native histogram (`_bucket`, `_count`, `_sum`).
    pub classic_histograms: bool,
}

/// A sample's value: a float, or a native histogram.
#[derive(Debug, Clone, PartialEq)]
pub enum ExposedValue {
    /// A float sample.
    Float(f64),
    /// A native histogram sample (validated).
    Histogram(HistogramValue),
}

/// One sample of the exposition.
#[derive(Debug, Clone, PartialEq)]
pub struct ExposedSample {
    /// The series (metric name in `__name__`).
    pub labels: Labels,
    /// The value.
    pub value: ExposedValue,
    /// Milliseconds since the epoch, when the metric had a timestamp.
    pub timestamp: Option<i64>,
}

/// What was wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("metric family {family}{name} at byte {offset}: {message}")]
pub struct ExpositionError {
    /// The family's position in the input, from 1.
    pub family: usize,
    /// Where its length prefix starts.
    pub offset: u64,
    /// ` (name)` when the family was read far enough to have one, else empty.
    pub name: String,
    /// What was wrong.
    pub message: String,
}

/// Reads the families of a delimited stream one at a time, so an import holds one family
/// in memory, not the whole input.
#[derive(Debug)]
pub struct FamilyReader<R> {
    input: R,
    offset: u64,
    family: usize,
    options: Options,
}

impl<R: Read> FamilyReader<R> {
    /// A reader of `input`.
    pub fn new(input: R, options: Options) -> FamilyReader<R> {
        FamilyReader { input, offset: 0, family: 0, options }
    }

    /// The samples of the next family, or `None` at the end of the input.
    pub fn next_family(&mut self) -> Result<Option<Vec<ExposedSample>>, ExpositionError> {
        let start = self.offset;
        let family = self.family + 1;
        let fail = |name: &str, message: String| ExpositionError {
            family,
            offset: start,
            name: if name.is_empty() { String::new() } else { format!(" ({name})") },
            message,
        };
        let Some(length) = self.read_length().map_err(|m| fail("", m))? else { return Ok(None) };
        if length > MAX_MESSAGE_BYTES {
            return Err(fail(
                "",
                format!("a length of {length} bytes is past the {MAX_MESSAGE_BYTES}-byte limit"),
            ));
        }
        let mut bytes = Vec::new();
        let read =
            (&mut self.input).take(length).read_to_end(&mut bytes).map_err(|e| fail("", e.to_string()))?;
        if (read as u64) < length {
            return Err(fail("", format!("the input ends {} bytes into a {length}-byte message", read)));
        }
        self.offset += length;
        self.family = family;
        let message = MetricFamily::decode(bytes.as_slice())
            .map_err(|e| fail("", format!("not a valid MetricFamily message: {e}")))?;
        let name = message.name.clone().unwrap_or_default();
        samples_of(&message, self.options).map(Some).map_err(|m| fail(&name, m))
    }

    /// The next varint length prefix; `None` at a clean end of the input.
    fn read_length(&mut self) -> Result<Option<u64>, String> {
        let mut value = 0u64;
        for i in 0..10 {
            let mut byte = [0u8];
            if self.input.read(&mut byte).map_err(|e| e.to_string())? == 0 {
                return if i == 0 { Ok(None) } else { Err("the input ends inside a length prefix".into()) };
            }
            self.offset += 1;
            value |= u64::from(byte[0] & 0x7f) << (7 * i);
            if byte[0] & 0x80 == 0 {
                return Ok(Some(value));
            }
        }
        Err("a length prefix longer than 10 bytes".into())
    }
}

/// Every sample of a whole delimited body.
pub fn decode_all(body: &[u8], options: Options) -> Result<Vec<ExposedSample>, ExpositionError> {
    let mut reader = FamilyReader::new(body, options);
    let mut samples = Vec::new();
    while let Some(family) = reader.next_family()? {
        samples.extend(family);
    }
    Ok(samples)
}

/// Whether a `Content-Type` names this format.
pub fn is_protobuf_exposition(content_type: &str) -> bool {
    let mut parts = content_type.split(';').map(str::trim);
    let media = parts.next().unwrap_or("");
    media.eq_ignore_ascii_case(CONTENT_TYPE)
        && parts.all(|p| {
            !p.to_ascii_lowercase().starts_with("encoding=") || p.eq_ignore_ascii_case("encoding=delimited")
        })
}

const COUNTER: i32 = 0;
const GAUGE: i32 = 1;
const SUMMARY: i32 = 2;
const UNTYPED: i32 = 3;
const HISTOGRAM: i32 = 4;
const GAUGE_HISTOGRAM: i32 = 5;

/// The samples of one family, in the order Prometheus' parser gives them.
fn samples_of(family: &MetricFamily, options: Options) -> Result<Vec<ExposedSample>, String> {
    let name = family.name.as_deref().unwrap_or("");
    if name.is_empty() {
        return Err("the family has no name".into());
    }
    let kind = family.kind.unwrap_or(COUNTER);
    let mut out = Vec::new();
    for (i, metric) in family.metric.iter().enumerate() {
        let series = SeriesNamer::new(name, metric).map_err(|e| format!("metric {}: {e}", i + 1))?;
        let timestamp = metric.timestamp_ms.filter(|&t| t != 0);
        let mut push =
            |labels: Labels, value: ExposedValue| out.push(ExposedSample { labels, value, timestamp });
        let float = |v: Option<f64>| ExposedValue::Float(v.unwrap_or(0.0));
        match kind {
            COUNTER => push(series.plain()?, float(metric.counter.as_ref().and_then(|c| c.value))),
            GAUGE => push(series.plain()?, float(metric.gauge.as_ref().and_then(|g| g.value))),
            UNTYPED => push(series.plain()?, float(metric.untyped.as_ref().and_then(|u| u.value))),
            SUMMARY => {
                let summary = metric.summary.clone().unwrap_or_default();
                push(
                    series.suffixed("_count")?,
                    ExposedValue::Float(summary.sample_count.unwrap_or(0) as f64),
                );
                push(series.suffixed("_sum")?, float(summary.sample_sum));
                for q in &summary.quantile {
                    let labels =
                        series.with_label("", "quantile", &openmetrics_float(q.quantile.unwrap_or(0.0)))?;
                    push(labels, float(q.value));
                }
            }
            HISTOGRAM | GAUGE_HISTOGRAM => {
                let histogram = metric.histogram.clone().unwrap_or_default();
                let native = is_native(&histogram);
                if native {
                    let value = native_histogram(&histogram, kind == GAUGE_HISTOGRAM)
                        .map_err(|e| format!("metric {}: {e}", i + 1))?;
                    push(series.plain()?, ExposedValue::Histogram(value));
                }
                if !native || options.classic_histograms {
                    for (labels, value) in classic_series(&series, &histogram)? {
                        push(labels, ExposedValue::Float(value));
                    }
                }
            }
            _ => return Err(format!("unknown metric type {kind}")),
        }
    }
    Ok(out)
}

/// Builds the label sets of one metric: the family's name (with a suffix) and its labels.
struct SeriesNamer<'a> {
    name: &'a str,
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> SeriesNamer<'a> {
    fn new(name: &'a str, metric: &'a Metric) -> Result<SeriesNamer<'a>, String> {
        let mut pairs = Vec::with_capacity(metric.label.len());
        for label in &metric.label {
            let label_name = label.name.as_deref().unwrap_or("");
            if label_name == METRIC_NAME_LABEL {
                return Err("a label is named __name__".into());
            }
            pairs.push((label_name, label.value.as_deref().unwrap_or("")));
        }
        Ok(SeriesNamer { name, pairs })
    }

    fn plain(&self) -> Result<Labels, String> {
        self.with_label("", "", "")
    }

    fn suffixed(&self, suffix: &str) -> Result<Labels, String> {
        self.with_label(suffix, "", "")
    }

    /// The series `<name><suffix>{labels…, extra_name="extra_value"}` (no extra when its
    /// name is empty).
    fn with_label(&self, suffix: &str, extra_name: &str, extra_value: &str) -> Result<Labels, String> {
        let metric = format!("{}{suffix}", self.name);
        let extra = (!extra_name.is_empty()).then_some((extra_name, extra_value));
        let pairs = std::iter::once((METRIC_NAME_LABEL, metric.as_str()))
            .chain(self.pairs.iter().copied())
            .chain(extra);
        Labels::from_pairs(pairs).map_err(|e| format!("series {metric}: {e}"))
    }
}

/// Prometheus' rule: native fields present (an empty native histogram carries an empty span).
fn is_native(h: &ProtoHistogram) -> bool {
    !h.positive_span.is_empty()
        || !h.negative_span.is_empty()
        || h.zero_threshold.unwrap_or(0.0) > 0.0
        || h.zero_count.unwrap_or(0) > 0
}

fn native_histogram(h: &ProtoHistogram, gauge: bool) -> Result<HistogramValue, String> {
    let hint = if gauge { CounterResetHint::Gauge } else { CounterResetHint::Unknown };
    let spans = |s: &[BucketSpan]| -> Vec<Span> {
        s.iter().map(|s| Span { offset: s.offset.unwrap_or(0), length: s.length.unwrap_or(0) }).collect()
    };
    let float = h.sample_count_float.unwrap_or(0.0) > 0.0 || h.zero_count_float.unwrap_or(0.0) > 0.0;
    let value = if float {
        HistogramValue::Float(FloatHistogram {
            counter_reset_hint: hint,
            schema: h.schema.unwrap_or(0),
            zero_threshold: h.zero_threshold.unwrap_or(0.0),
            zero_count: h.zero_count_float.unwrap_or(0.0),
            count: h.sample_count_float.unwrap_or(0.0),
            sum: h.sample_sum.unwrap_or(0.0),
            positive_spans: spans(&h.positive_span),
            negative_spans: spans(&h.negative_span),
            positive_buckets: h.positive_count.clone(),
            negative_buckets: h.negative_count.clone(),
            custom_values: Vec::new(),
        })
    } else {
        HistogramValue::Integer(Histogram {
            counter_reset_hint: hint,
            schema: h.schema.unwrap_or(0),
            zero_threshold: h.zero_threshold.unwrap_or(0.0),
            zero_count: h.zero_count.unwrap_or(0),
            count: h.sample_count.unwrap_or(0),
            sum: h.sample_sum.unwrap_or(0.0),
            positive_spans: spans(&h.positive_span),
            negative_spans: spans(&h.negative_span),
            positive_buckets: h.positive_delta.clone(),
            negative_buckets: h.negative_delta.clone(),
            custom_values: Vec::new(),
        })
    };
    value.validate().map_err(|e| format!("not a valid native histogram: {e}"))?;
    Ok(value)
}

/// `_count`, `_sum` and the `_bucket` series of a classic histogram, with a `+Inf` bucket
/// equal to the count when the message ends before one.
fn classic_series(series: &SeriesNamer<'_>, h: &ProtoHistogram) -> Result<Vec<(Labels, f64)>, String> {
    let count = match h.sample_count_float {
        Some(c) if c != 0.0 => c,
        _ => h.sample_count.unwrap_or(0) as f64,
    };
    let mut out =
        vec![(series.suffixed("_count")?, count), (series.suffixed("_sum")?, h.sample_sum.unwrap_or(0.0))];
    let mut saw_infinity = false;
    for bucket in &h.bucket {
        let bound = bucket.upper_bound.unwrap_or(0.0);
        let value = match bucket.cumulative_count_float {
            Some(c) if c != 0.0 => c,
            _ => bucket.cumulative_count.unwrap_or(0) as f64,
        };
        out.push((series.with_label("_bucket", "le", &openmetrics_float(bound))?, value));
        if bound == f64::INFINITY {
            saw_infinity = true;
            break; // Prometheus reads no bucket past +Inf
        }
    }
    if !saw_infinity {
        out.push((series.with_label("_bucket", "le", "+Inf")?, count));
    }
    Ok(out)
}

/// A float as Prometheus writes `le` and `quantile` values read from protobuf: Go's
/// shortest form, with `.0` added when it has neither a point nor an exponent.
pub fn openmetrics_float(v: f64) -> String {
    let text = format_g(v);
    if v.is_finite() && !text.contains(['.', 'e']) {
        format!("{text}.0")
    } else {
        text
    }
}

// `io.prometheus.client` (client_model's metrics.proto, proto2), from its field numbers.
// Exemplars (Counter 2, Bucket 3, Histogram 16) and created timestamps (Counter 3,
// Summary 4, Histogram 15) are not declared: prost skips them.

/// `MetricFamily`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricFamily {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub help: Option<String>,
    #[prost(int32, optional, tag = "3")]
    pub kind: Option<i32>,
    #[prost(message, repeated, tag = "4")]
    pub metric: Vec<Metric>,
    #[prost(string, optional, tag = "5")]
    pub unit: Option<String>,
}

/// `Metric`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Metric {
    #[prost(message, repeated, tag = "1")]
    pub label: Vec<LabelPair>,
    #[prost(message, optional, tag = "2")]
    pub gauge: Option<Value>,
    #[prost(message, optional, tag = "3")]
    pub counter: Option<Value>,
    #[prost(message, optional, tag = "4")]
    pub summary: Option<Summary>,
    #[prost(message, optional, tag = "5")]
    pub untyped: Option<Value>,
    #[prost(int64, optional, tag = "6")]
    pub timestamp_ms: Option<i64>,
    #[prost(message, optional, tag = "7")]
    pub histogram: Option<ProtoHistogram>,
}

/// `LabelPair`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LabelPair {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
}

/// `Gauge`, `Counter` and `Untyped`: a value in field 1.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Value {
    #[prost(double, optional, tag = "1")]
    pub value: Option<f64>,
}

/// `Summary`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Summary {
    #[prost(uint64, optional, tag = "1")]
    pub sample_count: Option<u64>,
    #[prost(double, optional, tag = "2")]
    pub sample_sum: Option<f64>,
    #[prost(message, repeated, tag = "3")]
    pub quantile: Vec<Quantile>,
}

/// `Quantile`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Quantile {
    #[prost(double, optional, tag = "1")]
    pub quantile: Option<f64>,
    #[prost(double, optional, tag = "2")]
    pub value: Option<f64>,
}

/// `Histogram`: classic buckets and native fields side by side.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoHistogram {
    #[prost(uint64, optional, tag = "1")]
    pub sample_count: Option<u64>,
    #[prost(double, optional, tag = "4")]
    pub sample_count_float: Option<f64>,
    #[prost(double, optional, tag = "2")]
    pub sample_sum: Option<f64>,
    #[prost(message, repeated, tag = "3")]
    pub bucket: Vec<Bucket>,
    #[prost(sint32, optional, tag = "5")]
    pub schema: Option<i32>,
    #[prost(double, optional, tag = "6")]
    pub zero_threshold: Option<f64>,
    #[prost(uint64, optional, tag = "7")]
    pub zero_count: Option<u64>,
    #[prost(double, optional, tag = "8")]
    pub zero_count_float: Option<f64>,
    #[prost(message, repeated, tag = "9")]
    pub negative_span: Vec<BucketSpan>,
    #[prost(sint64, repeated, packed = "false", tag = "10")]
    pub negative_delta: Vec<i64>,
    #[prost(double, repeated, packed = "false", tag = "11")]
    pub negative_count: Vec<f64>,
    #[prost(message, repeated, tag = "12")]
    pub positive_span: Vec<BucketSpan>,
    #[prost(sint64, repeated, packed = "false", tag = "13")]
    pub positive_delta: Vec<i64>,
    #[prost(double, repeated, packed = "false", tag = "14")]
    pub positive_count: Vec<f64>,
}

/// `Bucket` of a classic histogram.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Bucket {
    #[prost(uint64, optional, tag = "1")]
    pub cumulative_count: Option<u64>,
    #[prost(double, optional, tag = "4")]
    pub cumulative_count_float: Option<f64>,
    #[prost(double, optional, tag = "2")]
    pub upper_bound: Option<f64>,
}

/// `BucketSpan`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BucketSpan {
    #[prost(sint32, optional, tag = "1")]
    pub offset: Option<i32>,
    #[prost(uint32, optional, tag = "2")]
    pub length: Option<u32>,
}
