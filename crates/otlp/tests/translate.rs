//! OTLP requests to series: every metric type, the resource's labels and `target_info`,
//! delta and exponential histograms, JSON bodies, and a property test that no data point
//! is lost without being counted.

use proptest::prelude::*;
use strata_model::histogram::HistogramValue;
use strata_model::{is_stale_marker, Labels};
use strata_otlp::body::{decode_request, Encoding};
use strata_otlp::collector::ExportMetricsServiceRequest;
use strata_otlp::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use strata_otlp::metrics::v1::exponential_histogram_data_point::Buckets;
use strata_otlp::metrics::v1::{
    metric::Data, number_data_point, AggregationTemporality, ExponentialHistogram,
    ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint,
};
use strata_otlp::resource::v1::Resource;
use strata_otlp::{translate, NameStrategy, Options, Translated};

const T: u64 = 1_700_000_000_123_456_789;
const T_MS: i64 = 1_700_000_000_123;

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.to_string())) }),
        ..Default::default()
    }
}

fn request(resource: Vec<KeyValue>, metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource { attributes: resource, ..Default::default() }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "app".into(),
                    version: "1.2".into(),
                    ..Default::default()
                }),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn metric(name: &str, unit: &str, data: Data) -> Metric {
    Metric { name: name.into(), unit: unit.into(), data: Some(data), ..Default::default() }
}

fn number(v: f64, attrs: Vec<KeyValue>) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attrs,
        time_unix_nano: T,
        value: Some(number_data_point::Value::AsDouble(v)),
        ..Default::default()
    }
}

fn sum(points: Vec<NumberDataPoint>, temporality: AggregationTemporality, monotonic: bool) -> Data {
    Data::Sum(Sum {
        data_points: points,
        aggregation_temporality: temporality as i32,
        is_monotonic: monotonic,
    })
}

fn service() -> Vec<KeyValue> {
    vec![
        kv("service.name", "checkout"),
        kv("service.namespace", "shop"),
        kv("service.instance.id", "pod-7"),
        kv("host.name", "node-1"),
    ]
}

/// `(series text, value)` of every sample, sorted.
fn samples(t: &Translated) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> =
        t.series.iter().flat_map(|s| s.samples.iter().map(|&(_, v)| (s.labels.to_string(), v))).collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn find<'a>(t: &'a Translated, labels: &str) -> &'a [(i64, f64)] {
    let want = Labels::parse_prometheus_key(labels).unwrap();
    &t.series
        .iter()
        .find(|s| s.labels == want)
        .unwrap_or_else(|| panic!("no series {labels}: {:?}", samples(t)))
        .samples
}

#[test]
fn gauges_and_sums() {
    let req = request(
        service(),
        vec![
            metric(
                "queue.depth",
                "{item}",
                Data::Gauge(Gauge { data_points: vec![number(4.0, vec![kv("queue", "a")])] }),
            ),
            metric(
                "http.requests",
                "1",
                sum(vec![number(10.0, vec![])], AggregationTemporality::Cumulative, true),
            ),
            metric(
                "pool.used",
                "By",
                sum(vec![number(3.0, vec![])], AggregationTemporality::Cumulative, false),
            ),
            metric("cpu.utilization", "1", Data::Gauge(Gauge { data_points: vec![number(0.5, vec![])] })),
        ],
    );
    let t = translate(&req, &Options::default());
    assert_eq!((t.points, t.rejected), (4, 0));
    let id = r#"instance="pod-7", job="shop/checkout""#;
    assert_eq!(find(&t, &format!(r#"queue_depth{{{id}, queue="a"}}"#)), &[(T_MS, 4.0)]);
    assert_eq!(find(&t, &format!("http_requests_total{{{id}}}")), &[(T_MS, 10.0)]);
    assert_eq!(find(&t, &format!("pool_used_bytes{{{id}}}")), &[(T_MS, 3.0)]);
    assert_eq!(find(&t, &format!("cpu_utilization_ratio{{{id}}}")), &[(T_MS, 0.5)]);
    // The resource's other attributes go to target_info, once.
    assert_eq!(find(&t, &format!(r#"target_info{{host_name="node-1", {id}}}"#)), &[(T_MS, 1.0)]);
}

#[test]
fn histograms_can_become_native_histograms_with_custom_buckets() {
    let point = HistogramDataPoint {
        time_unix_nano: T,
        count: 10,
        sum: Some(7.5),
        bucket_counts: vec![2, 3, 5],
        explicit_bounds: vec![0.25, 1.0],
        ..Default::default()
    };
    let h = Histogram {
        data_points: vec![point],
        aggregation_temporality: AggregationTemporality::Cumulative as i32,
    };
    let options = Options { histograms_as_nhcb: true, ..Options::default() };
    let t = translate(
        &request(vec![kv("service.name", "api")], vec![metric("rpc.duration", "s", Data::Histogram(h))]),
        &options,
    );
    assert_eq!((t.rejected, t.samples()), (0, 0), "no classic series");
    let [(labels, t_ms, HistogramValue::Integer(h))] = t.histograms.as_slice() else {
        panic!("one native histogram: {:?}", t.histograms)
    };
    assert_eq!(labels.to_string(), r#"rpc_duration_seconds{job="api"}"#);
    assert_eq!((*t_ms, h.schema, h.count, h.sum), (T_MS, -53, 10, 7.5));
    assert_eq!(h.custom_values, vec![0.25, 1.0]);
    assert_eq!(h.positive_buckets, vec![2, 1, 2], "counts 2, 3, 5 delta-encoded");
    h.validate().unwrap();
}

#[test]
fn histograms_become_classic_buckets() {
    let point = HistogramDataPoint {
        time_unix_nano: T,
        count: 10,
        sum: Some(7.5),
        bucket_counts: vec![2, 3, 5],
        explicit_bounds: vec![0.25, 1.0],
        ..Default::default()
    };
    let h = Histogram {
        data_points: vec![point],
        aggregation_temporality: AggregationTemporality::Cumulative as i32,
    };
    let t = translate(
        &request(vec![kv("service.name", "api")], vec![metric("rpc.duration", "s", Data::Histogram(h))]),
        &Options::default(),
    );
    assert_eq!(t.rejected, 0);
    let got = samples(&t);
    let want = [
        (r#"rpc_duration_seconds_bucket{job="api",le="+Inf"}"#, 10.0),
        (r#"rpc_duration_seconds_bucket{job="api",le="0.25"}"#, 2.0),
        (r#"rpc_duration_seconds_bucket{job="api",le="1"}"#, 5.0),
        (r#"rpc_duration_seconds_count{job="api"}"#, 10.0),
        (r#"rpc_duration_seconds_sum{job="api"}"#, 7.5),
    ];
    let want: Vec<(String, f64)> = want.iter().map(|(s, v)| (s.to_string(), *v)).collect();
    assert_eq!(got, want);
}

#[test]
fn summaries_become_quantile_series() {
    let point = SummaryDataPoint {
        time_unix_nano: T,
        count: 4,
        sum: 2.0,
        quantile_values: vec![
            strata_otlp::metrics::v1::summary_data_point::ValueAtQuantile { quantile: 0.5, value: 0.4 },
            strata_otlp::metrics::v1::summary_data_point::ValueAtQuantile { quantile: 0.99, value: 0.9 },
        ],
        ..Default::default()
    };
    let t = translate(
        &request(vec![], vec![metric("gc.pause", "ms", Data::Summary(Summary { data_points: vec![point] }))]),
        &Options::default(),
    );
    assert_eq!(find(&t, r#"gc_pause_milliseconds{quantile="0.99"}"#), &[(T_MS, 0.9)]);
    assert_eq!(find(&t, "gc_pause_milliseconds_count"), &[(T_MS, 4.0)]);
    assert_eq!(find(&t, "gc_pause_milliseconds_sum"), &[(T_MS, 2.0)]);
    // No resource attributes: no target_info.
    assert_eq!(t.series.len(), 4);
}

#[test]
fn delta_is_stored_as_sent_and_exponential_becomes_native() {
    let delta = metric("jobs.done", "", sum(vec![number(3.0, vec![])], AggregationTemporality::Delta, true));
    let expo = |temporality: AggregationTemporality| {
        metric(
            "latency",
            "s",
            Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![ExponentialHistogramDataPoint {
                    time_unix_nano: T,
                    count: 3,
                    sum: Some(0.75),
                    scale: 1,
                    positive: Some(Buckets { offset: -1, bucket_counts: vec![2, 1] }),
                    attributes: vec![kv("route", "/a")],
                    ..Default::default()
                }],
                aggregation_temporality: temporality as i32,
            }),
        )
    };
    let unspecified =
        metric("odd", "", sum(vec![number(1.0, vec![])], AggregationTemporality::Unspecified, true));
    let request = request(
        vec![],
        vec![
            delta,
            expo(AggregationTemporality::Cumulative),
            expo(AggregationTemporality::Unspecified),
            unspecified,
        ],
    );
    let t = translate(&request, &Options::default());
    assert_eq!(find(&t, "jobs_done"), &[(T_MS, 3.0)], "a delta sum has no _total");
    assert_eq!((t.points, t.rejected, t.delta_points), (4, 2, 1));
    assert!(t.problems.iter().any(|p| p.contains("exponential histogram without")), "{:?}", t.problems);
    assert!(t.problems.iter().any(|p| p.contains("temporality")), "{:?}", t.problems);
    let [(labels, t_ms, HistogramValue::Integer(h))] = t.histograms.as_slice() else {
        panic!("one native histogram: {:?}", t.histograms)
    };
    assert_eq!(labels.to_string(), r#"latency_seconds{route="/a"}"#);
    assert_eq!((*t_ms, h.schema, h.count, h.sum), (T_MS, 1, 3, 0.75));
    assert_eq!(
        h.positive_spans,
        vec![strata_model::Span { offset: 0, length: 2 }],
        "OTLP bucket i is native bucket i + 1"
    );
    assert_eq!(h.positive_buckets, vec![2, -1]);
}

#[test]
fn no_recorded_value_is_a_staleness_marker() {
    let mut point = number(0.0, vec![]);
    point.value = None;
    point.flags = 1;
    let t = translate(
        &request(vec![], vec![metric("g", "", Data::Gauge(Gauge { data_points: vec![point] }))]),
        &Options::default(),
    );
    assert!(is_stale_marker(find(&t, "g")[0].1));
}

#[test]
fn promoted_attributes_scope_and_utf8_names() {
    let options = Options {
        names: NameStrategy::NoUtf8EscapingWithSuffixes,
        promote_resource_attributes: vec!["host.name".into()],
        promote_scope: true,
        histograms_as_nhcb: false,
    };
    let req = request(
        service(),
        vec![metric(
            "http.requests",
            "",
            sum(vec![number(1.0, vec![kv("http.method", "GET")])], AggregationTemporality::Cumulative, true),
        )],
    );
    let t = translate(&req, &options);
    let series = &t.series[0];
    assert_eq!(series.labels.metric_name(), Some("http.requests_total"));
    assert_eq!(series.labels.get("host.name"), Some("node-1"));
    assert_eq!(series.labels.get("http.method"), Some("GET"));
    assert_eq!(series.labels.get("otel_scope_name"), Some("app"));
    assert_eq!(series.labels.get("otel_scope_version"), Some("1.2"));
}

#[test]
fn bad_points_are_counted_with_their_reason() {
    let bad_histogram = HistogramDataPoint {
        time_unix_nano: T,
        count: 1,
        bucket_counts: vec![1, 0],
        explicit_bounds: vec![1.0, 2.0],
        ..Default::default()
    };
    let h = Histogram { data_points: vec![bad_histogram], aggregation_temporality: 2 };
    let mut no_value = number(0.0, vec![]);
    no_value.value = None;
    let req = request(
        vec![],
        vec![
            metric("h", "", Data::Histogram(h)),
            metric(
                "g",
                "",
                Data::Gauge(Gauge { data_points: vec![no_value, number(1.0, vec![kv("___", "x")])] }),
            ),
            metric("...", "", Data::Gauge(Gauge { data_points: vec![number(1.0, vec![])] })),
        ],
    );
    let t = translate(&req, &Options::default());
    assert_eq!((t.points, t.rejected, t.series.len()), (4, 4, 0), "{:?}", t.problems);
    assert!(t.problems[0].contains("2 bounds need 3 bucket counts, not 2"), "{:?}", t.problems);
}

/// Found by fuzzing `write_bodies`: a resource attribute no label can carry refused
/// `target_info` with a message that named no metric.
#[test]
fn a_bad_resource_attribute_names_target_info_as_its_metric() {
    let mut resource = service();
    resource.push(kv("_", "x"));
    let req = request(
        resource,
        vec![metric("g", "", Data::Gauge(Gauge { data_points: vec![number(1.0, vec![])] }))],
    );
    let t = translate(&req, &Options::default());
    let problem = t.problems.iter().find(|p| p.contains("target_info")).expect("target_info refused");
    assert!(problem.starts_with("metric \"target_info\""), "{problem}");
    assert!(problem.contains("\"_\""), "names the attribute: {problem}");
}

#[test]
fn json_bodies_follow_otlp_json() {
    let body = r#"{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"web"}}]},
      "scopeMetrics":[{"scope":{"name":"s"},"metrics":[
        {"name":"requests","unit":"1","sum":{"aggregationTemporality":2,"isMonotonic":true,
          "dataPoints":[{"timeUnixNano":"1700000000123456789","asInt":"42","attributes":[{"key":"code","value":{"intValue":"200"}}]}]}},
        {"name":"temp","gauge":{"dataPoints":[{"timeUnixNano":"1700000000123456789","asDouble":21.5}]}}]}]}]}"#;
    let req = decode_request(body.as_bytes(), Encoding::Json).unwrap();
    let t = translate(&req, &Options::default());
    assert_eq!(find(&t, r#"requests_total{code="200", job="web"}"#), &[(T_MS, 42.0)]);
    assert_eq!(find(&t, r#"temp{job="web"}"#), &[(T_MS, 21.5)]);
    let err = decode_request(b"{\"resourceMetrics\": 5}", Encoding::Json).unwrap_err();
    assert!(err.0.contains("OTLP/JSON"), "{err}");
    assert!(decode_request(b"\xff\xff\xff", Encoding::Protobuf).is_err());
}

fn arb_point() -> impl Strategy<Value = (f64, Vec<(String, String)>, u32)> {
    (
        prop_oneof![any::<f64>(), -1e6..1e6f64],
        prop::collection::vec(("[a-z._0-9]{0,6}", "[a-z]{0,3}"), 0..3),
        prop_oneof![Just(0u32), Just(1u32)],
    )
}

proptest! {
    /// Every number point becomes exactly one sample or is counted as rejected, under every
    /// naming strategy; escaped names are classic names.
    #[test]
    fn no_point_is_lost(points in prop::collection::vec(arb_point(), 0..12), names in "[a-zA-Z._ 0-9/]{0,10}", strategy in 0..4usize) {
        let strategy = NameStrategy::ALL[strategy].0;
        let data = points.iter().map(|(v, attrs, flags)| {
            let mut p = number(*v, attrs.iter().map(|(k, v)| kv(k, v)).collect());
            p.flags = *flags;
            p
        }).collect();
        let req = request(vec![], vec![metric(&names, "", Data::Gauge(Gauge { data_points: data }))]);
        let t = translate(&req, &Options { names: strategy, ..Options::default() });
        prop_assert_eq!(t.points, points.len());
        prop_assert_eq!(t.samples() + t.histograms.len() + t.rejected, points.len());
        if strategy.escapes() {
            for s in &t.series {
                prop_assert!(strata_model::is_legacy_metric_name(s.labels.metric_name().unwrap()));
            }
        }
    }
}
