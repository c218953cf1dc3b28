//! A scrape target exposing native histograms in Prometheus' protobuf exposition format
//! (`io.prometheus.client.MetricFamily`, length-delimited), for interop tests with a real
//! Prometheus started with `--enable-feature=native-histograms`.
//!
//! Scrape `n` (from 1) serves [`counter_histogram`]`(n)` as `test_latency_seconds`: a pure
//! function of `n`, so a test knows what every stored sample must be without recording
//! anything. No gauge histogram is served: Prometheus 2.42 takes them in but then fails
//! to write its head as a block ("detected unexpected counter reset in histogram").
//! [`HistogramTarget::serving`] serves one fixed exposition on every scrape instead.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use prost::Message;
use strata_model::histogram::{delta_counts, spans_for_indices, CounterResetHint, Histogram};

/// The counter histogram of scrape `n`: schema 0, Prometheus' default zero threshold,
/// positive buckets 0…2 from the first scrape and bucket 5 from the fourth (so the layout
/// grows mid-chunk), one negative bucket, a zero bucket, a sum whose bits change.
pub fn counter_histogram(n: u64) -> Histogram {
    let mut positive = vec![(0i64, n), (1, 2 * n), (2, n)];
    if n > 3 {
        positive.push((5, n - 3));
    }
    let negative = vec![(0i64, n)];
    let zero_count = n;
    build(
        0,
        2f64.powi(-128),
        zero_count,
        &positive,
        &negative,
        1.25 * n as f64 + 0.1,
        CounterResetHint::Unknown,
    )
}

fn build(
    schema: i32,
    zero_threshold: f64,
    zero_count: u64,
    positive: &[(i64, u64)],
    negative: &[(i64, u64)],
    sum: f64,
    hint: CounterResetHint,
) -> Histogram {
    let side = |b: &[(i64, u64)]| {
        let indices: Vec<i64> = b.iter().map(|x| x.0).collect();
        let counts: Vec<i64> = b.iter().map(|x| x.1 as i64).collect();
        (spans_for_indices(&indices), delta_counts(&counts))
    };
    let (positive_spans, positive_buckets) = side(positive);
    let (negative_spans, negative_buckets) = side(negative);
    let count = zero_count + positive.iter().chain(negative).map(|x| x.1).sum::<u64>();
    Histogram {
        counter_reset_hint: hint,
        schema,
        zero_threshold,
        zero_count,
        count,
        sum,
        positive_spans,
        negative_spans,
        positive_buckets,
        negative_buckets,
        custom_values: vec![],
    }
}

/// A running target; stopped on drop.
#[derive(Debug)]
pub struct HistogramTarget {
    /// Its port on 127.0.0.1.
    pub port: u16,
    scrapes: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HistogramTarget {
    /// Starts serving on a free port.
    pub fn start() -> HistogramTarget {
        HistogramTarget::start_with(None)
    }

    /// Starts serving `body` (a delimited protobuf exposition) on every scrape.
    pub fn serving(body: Vec<u8>) -> HistogramTarget {
        HistogramTarget::start_with(Some(Arc::new(body)))
    }

    fn start_with(fixed: Option<Arc<Vec<u8>>>) -> HistogramTarget {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the histogram target");
        let port = listener.local_addr().expect("local address").port();
        let scrapes = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (scrapes.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    serve(stream, &s, fixed.as_deref());
                }
            }
        });
        HistogramTarget { port, scrapes, stop, thread: Some(thread) }
    }

    /// Scrapes answered so far.
    pub fn scrapes(&self) -> u64 {
        self.scrapes.load(Ordering::SeqCst)
    }
}

impl Drop for HistogramTarget {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wakes the accept loop
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(mut stream: TcpStream, scrapes: &AtomicU64, fixed: Option<&Vec<u8>>) {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(k) => request.extend_from_slice(&buf[..k]),
        }
    }
    let n = scrapes.fetch_add(1, Ordering::SeqCst) + 1;
    let body = fixed.cloned().unwrap_or_else(|| exposition(n));
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(&body));
}

/// The delimited protobuf exposition of scrape `n`.
pub fn exposition(n: u64) -> Vec<u8> {
    histogram_family("test_latency_seconds", &[], &counter_histogram(n), None)
}

/// One delimited `MetricFamily` holding native histogram `h` as series `name{labels}`, at
/// `timestamp_ms` if given — encoded here, independently of Strata's decoder.
pub fn histogram_family(
    name: &str,
    labels: &[(&str, &str)],
    h: &Histogram,
    timestamp_ms: Option<i64>,
) -> Vec<u8> {
    let mut metric = histogram_metric(h);
    metric.label = label_pairs(labels);
    metric.timestamp_ms = timestamp_ms;
    delimited(family(name, HISTOGRAM, metric))
}

/// One delimited `MetricFamily` holding counter `name{labels}` at `value`.
pub fn counter_family(name: &str, labels: &[(&str, &str)], value: f64, timestamp_ms: Option<i64>) -> Vec<u8> {
    let metric = Metric {
        label: label_pairs(labels),
        counter: Some(Counter { value: Some(value) }),
        timestamp_ms,
        histogram: None,
    };
    delimited(family(name, COUNTER, metric))
}

const COUNTER: i32 = 0;
const HISTOGRAM: i32 = 4;

fn delimited(family: MetricFamily) -> Vec<u8> {
    let mut out = Vec::new();
    family.encode_length_delimited(&mut out).expect("a Vec grows");
    out
}

fn label_pairs(labels: &[(&str, &str)]) -> Vec<LabelPair> {
    labels.iter().map(|(n, v)| LabelPair { name: Some(n.to_string()), value: Some(v.to_string()) }).collect()
}

fn family(name: &str, kind: i32, metric: Metric) -> MetricFamily {
    MetricFamily {
        name: Some(name.into()),
        help: Some(format!("{name}, for interop tests")),
        kind: Some(kind),
        metric: vec![metric],
    }
}

fn histogram_metric(h: &Histogram) -> Metric {
    let spans = |s: &[strata_model::Span]| {
        s.iter().map(|s| BucketSpan { offset: Some(s.offset), length: Some(s.length) }).collect()
    };
    Metric {
        label: Vec::new(),
        counter: None,
        timestamp_ms: None,
        histogram: Some(ProtoHistogram {
            sample_count: Some(h.count),
            sample_sum: Some(h.sum),
            schema: Some(h.schema),
            zero_threshold: Some(h.zero_threshold),
            zero_count: Some(h.zero_count),
            negative_span: spans(&h.negative_spans),
            negative_delta: h.negative_buckets.clone(),
            positive_span: spans(&h.positive_spans),
            positive_delta: h.positive_buckets.clone(),
        }),
    }
}

// `io.prometheus.client` messages (client_model's metrics.proto, proto2), written from the
// field numbers; only the fields a native histogram and a counter need.

#[derive(Clone, PartialEq, prost::Message)]
struct MetricFamily {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(string, optional, tag = "2")]
    help: Option<String>,
    #[prost(int32, optional, tag = "3")]
    kind: Option<i32>,
    #[prost(message, repeated, tag = "4")]
    metric: Vec<Metric>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Metric {
    #[prost(message, repeated, tag = "1")]
    label: Vec<LabelPair>,
    #[prost(message, optional, tag = "3")]
    counter: Option<Counter>,
    #[prost(int64, optional, tag = "6")]
    timestamp_ms: Option<i64>,
    #[prost(message, optional, tag = "7")]
    histogram: Option<ProtoHistogram>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct LabelPair {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(string, optional, tag = "2")]
    value: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Counter {
    #[prost(double, optional, tag = "1")]
    value: Option<f64>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ProtoHistogram {
    #[prost(uint64, optional, tag = "1")]
    sample_count: Option<u64>,
    #[prost(double, optional, tag = "2")]
    sample_sum: Option<f64>,
    #[prost(sint32, optional, tag = "5")]
    schema: Option<i32>,
    #[prost(double, optional, tag = "6")]
    zero_threshold: Option<f64>,
    #[prost(uint64, optional, tag = "7")]
    zero_count: Option<u64>,
    #[prost(message, repeated, tag = "9")]
    negative_span: Vec<BucketSpan>,
    #[prost(sint64, repeated, packed = "false", tag = "10")]
    negative_delta: Vec<i64>,
    #[prost(message, repeated, tag = "12")]
    positive_span: Vec<BucketSpan>,
    #[prost(sint64, repeated, packed = "false", tag = "13")]
    positive_delta: Vec<i64>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct BucketSpan {
    #[prost(sint32, optional, tag = "1")]
    offset: Option<i32>,
    #[prost(uint32, optional, tag = "2")]
    length: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn served_histograms_are_valid_and_grow() {
        for n in 1..20 {
            counter_histogram(n).validate().unwrap();
            assert!(counter_histogram(n + 1).count > counter_histogram(n).count);
        }
        assert_eq!(counter_histogram(4).positive_spans.len(), 2, "bucket 5 joins at scrape 4");
        let body = exposition(1);
        let first = MetricFamily::decode_length_delimited(body.as_slice()).unwrap();
        assert_eq!(first.name.as_deref(), Some("test_latency_seconds"));
    }
}
