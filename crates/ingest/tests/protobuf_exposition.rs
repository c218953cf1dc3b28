//! The protobuf exposition decoder: every metric type flattened as Prometheus' scrape does,
//! native histograms told from classic ones, and problems named by family and offset.

use proptest::prelude::*;
use prost::Message;
use strata_ingest::protobuf_exposition::*;
use strata_model::histogram::{CounterResetHint, HistogramValue};
use strata_model::Labels;

fn family(name: &str, kind: i32, metric: Vec<Metric>) -> MetricFamily {
    MetricFamily { name: Some(name.into()), help: None, kind: Some(kind), metric, unit: None }
}

fn labels(pairs: &[(&str, &str)]) -> Vec<LabelPair> {
    pairs.iter().map(|(n, v)| LabelPair { name: Some(n.to_string()), value: Some(v.to_string()) }).collect()
}

fn value(v: f64) -> Option<Value> {
    Some(Value { value: Some(v) })
}

fn delimited(families: &[MetricFamily]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in families {
        f.encode_length_delimited(&mut out).unwrap();
    }
    out
}

/// `(series text, value text)` of every float sample, and the series of every histogram.
fn flat(samples: &[ExposedSample]) -> Vec<(String, String)> {
    samples
        .iter()
        .map(|s| {
            let v = match &s.value {
                ExposedValue::Float(v) => v.to_string(),
                ExposedValue::Histogram(HistogramValue::Integer(h)) => {
                    format!("int histogram count {}", h.count)
                }
                ExposedValue::Histogram(HistogramValue::Float(h)) => {
                    format!("float histogram count {}", h.count)
                }
            };
            (s.labels.to_string(), v)
        })
        .collect()
}

fn series(pairs: &[(&str, &str)]) -> String {
    Labels::from_pairs(pairs.iter().copied()).unwrap().to_string()
}

#[test]
fn counters_gauges_and_untyped_are_one_sample_each() {
    let body = delimited(&[
        family(
            "requests_total",
            0,
            vec![Metric { label: labels(&[("code", "200")]), counter: value(7.0), ..Default::default() }],
        ),
        family(
            "temperature",
            1,
            vec![Metric { gauge: value(-1.5), timestamp_ms: Some(1234), ..Default::default() }],
        ),
        family(
            "mystery",
            3,
            vec![Metric { untyped: value(3.0), timestamp_ms: Some(0), ..Default::default() }],
        ),
    ]);
    let samples = decode_all(&body, Options::default()).unwrap();
    assert_eq!(
        flat(&samples),
        vec![
            (series(&[("__name__", "requests_total"), ("code", "200")]), "7".into()),
            (series(&[("__name__", "temperature")]), "-1.5".into()),
            (series(&[("__name__", "mystery")]), "3".into()),
        ]
    );
    assert_eq!(samples[1].timestamp, Some(1234));
    assert_eq!(samples[2].timestamp, None, "0 means no timestamp, as in Prometheus");
}

#[test]
fn summaries_give_count_sum_and_a_series_per_quantile() {
    let summary = Summary {
        sample_count: Some(10),
        sample_sum: Some(4.5),
        quantile: vec![
            Quantile { quantile: Some(0.5), value: Some(0.3) },
            Quantile { quantile: Some(1.0), value: Some(0.9) },
        ],
    };
    let body =
        delimited(&[family("rpc_seconds", 2, vec![Metric { summary: Some(summary), ..Default::default() }])]);
    assert_eq!(
        flat(&decode_all(&body, Options::default()).unwrap()),
        vec![
            (series(&[("__name__", "rpc_seconds_count")]), "10".into()),
            (series(&[("__name__", "rpc_seconds_sum")]), "4.5".into()),
            (series(&[("__name__", "rpc_seconds"), ("quantile", "0.5")]), "0.3".into()),
            (series(&[("__name__", "rpc_seconds"), ("quantile", "1.0")]), "0.9".into()),
        ]
    );
}

fn classic(buckets: &[(f64, u64)], count: u64) -> ProtoHistogram {
    ProtoHistogram {
        sample_count: Some(count),
        sample_sum: Some(12.5),
        bucket: buckets
            .iter()
            .map(|&(le, c)| Bucket { cumulative_count: Some(c), upper_bound: Some(le), ..Default::default() })
            .collect(),
        ..Default::default()
    }
}

#[test]
fn classic_histograms_get_an_inf_bucket_when_the_message_has_none() {
    let body = delimited(&[family(
        "latency_seconds",
        4,
        vec![Metric { histogram: Some(classic(&[(0.1, 2), (1.0, 5)], 6)), ..Default::default() }],
    )]);
    assert_eq!(
        flat(&decode_all(&body, Options::default()).unwrap()),
        vec![
            (series(&[("__name__", "latency_seconds_count")]), "6".into()),
            (series(&[("__name__", "latency_seconds_sum")]), "12.5".into()),
            (series(&[("__name__", "latency_seconds_bucket"), ("le", "0.1")]), "2".into()),
            (series(&[("__name__", "latency_seconds_bucket"), ("le", "1.0")]), "5".into()),
            (series(&[("__name__", "latency_seconds_bucket"), ("le", "+Inf")]), "6".into()),
        ]
    );
    let with_inf = delimited(&[family(
        "h",
        4,
        vec![Metric { histogram: Some(classic(&[(f64::INFINITY, 3)], 3)), ..Default::default() }],
    )]);
    let buckets = flat(&decode_all(&with_inf, Options::default()).unwrap());
    assert_eq!(buckets.iter().filter(|(s, _)| s.contains("le=")).count(), 1, "{buckets:?}");
}

fn native(mut h: ProtoHistogram) -> ProtoHistogram {
    h.schema = Some(1);
    h.zero_threshold = Some(0.001);
    h.zero_count = Some(1);
    h.positive_span = vec![BucketSpan { offset: Some(0), length: Some(2) }];
    h.positive_delta = vec![2, 0];
    h
}

#[test]
fn native_histograms_replace_their_classic_buckets_unless_asked_for_both() {
    let h = native(classic(&[(1.0, 3)], 5));
    let body = delimited(&[family("lat", 4, vec![Metric { histogram: Some(h), ..Default::default() }])]);
    let samples = decode_all(&body, Options::default()).unwrap();
    assert_eq!(flat(&samples), vec![(series(&[("__name__", "lat")]), "int histogram count 5".into())]);
    let ExposedValue::Histogram(HistogramValue::Integer(h)) = &samples[0].value else { panic!() };
    assert_eq!((h.schema, h.zero_count, h.positive_buckets.clone()), (1, 1, vec![2, 0]));
    assert_eq!(h.counter_reset_hint, CounterResetHint::Unknown);

    let both = decode_all(&body, Options { classic_histograms: true }).unwrap();
    assert_eq!(both.len(), 1 + 2 + 2, "native, count, sum, le=1.0, le=+Inf: {:?}", flat(&both));
}

#[test]
fn float_counts_make_float_histograms_and_gauge_histograms_get_the_gauge_hint() {
    let h = ProtoHistogram {
        sample_count_float: Some(2.5),
        sample_sum: Some(1.0),
        schema: Some(0),
        zero_threshold: Some(0.0),
        zero_count_float: Some(0.5),
        positive_span: vec![BucketSpan { offset: Some(1), length: Some(1) }],
        positive_count: vec![2.0],
        ..Default::default()
    };
    let body = delimited(&[family("g", 5, vec![Metric { histogram: Some(h), ..Default::default() }])]);
    let samples = decode_all(&body, Options::default()).unwrap();
    let ExposedValue::Histogram(HistogramValue::Float(h)) = &samples[0].value else { panic!("{samples:?}") };
    assert_eq!((h.count, h.zero_count, h.positive_buckets.clone()), (2.5, 0.5, vec![2.0]));
    assert_eq!(h.counter_reset_hint, CounterResetHint::Gauge);
}

#[test]
fn an_empty_span_marks_an_empty_native_histogram() {
    let h = ProtoHistogram {
        sample_count: Some(0),
        schema: Some(3),
        positive_span: vec![BucketSpan { offset: Some(0), length: Some(0) }],
        ..Default::default()
    };
    let body = delimited(&[family("empty", 4, vec![Metric { histogram: Some(h), ..Default::default() }])]);
    assert_eq!(
        flat(&decode_all(&body, Options::default()).unwrap()),
        vec![(series(&[("__name__", "empty")]), "int histogram count 0".into())]
    );
}

#[test]
fn problems_name_the_family_its_offset_and_what_was_wrong() {
    let good = delimited(&[family("ok", 1, vec![Metric { gauge: value(1.0), ..Default::default() }])]);
    // A bad histogram: two buckets declared, one count given.
    let mut h = native(ProtoHistogram::default());
    h.positive_delta = vec![1];
    let bad = delimited(&[family("broken", 4, vec![Metric { histogram: Some(h), ..Default::default() }])]);
    let body = [good.clone(), bad].concat();
    let e = decode_all(&body, Options::default()).unwrap_err();
    assert_eq!((e.family, e.offset, e.name.as_str()), (2, good.len() as u64, " (broken)"));
    assert!(e.message.starts_with("metric 1: not a valid native histogram"), "{e}");
    assert!(e.to_string().starts_with(&format!("metric family 2 (broken) at byte {}: ", good.len())), "{e}");

    let truncated = &good[..good.len() - 1];
    let e = decode_all(truncated, Options::default()).unwrap_err();
    assert!(e.message.contains("the input ends"), "{e}");

    // A length prefix of 2^40: refused before anything is read or allocated for it.
    let huge = [0x80, 0x80, 0x80, 0x80, 0x80, 0x20];
    let e = decode_all(&huge, Options::default()).unwrap_err();
    assert!(e.message.contains("past the"), "{e}");

    let named = delimited(&[family(
        "x",
        1,
        vec![Metric { label: labels(&[("__name__", "y")]), gauge: value(1.0), ..Default::default() }],
    )]);
    assert!(decode_all(&named, Options::default()).unwrap_err().message.contains("__name__"));
    let nameless = delimited(&[family("", 1, vec![Metric::default()])]);
    assert!(decode_all(&nameless, Options::default()).unwrap_err().message.contains("no name"));
    let unknown = delimited(&[family("u", 9, vec![Metric::default()])]);
    assert!(decode_all(&unknown, Options::default()).unwrap_err().message.contains("unknown metric type 9"));
}

#[test]
fn bounds_are_written_as_prometheus_writes_them() {
    for (v, text) in [
        (1.0, "1.0"),
        (0.0, "0.0"),
        (-1.0, "-1.0"),
        (0.25, "0.25"),
        (100000.0, "100000.0"),
        (1e6, "1e+06"),
        (1e-5, "1e-05"),
        (f64::INFINITY, "+Inf"),
        (f64::NEG_INFINITY, "-Inf"),
    ] {
        assert_eq!(openmetrics_float(v), text, "{v}");
    }
}

#[test]
fn content_types_are_recognised() {
    assert!(is_protobuf_exposition(
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
    ));
    assert!(is_protobuf_exposition("application/vnd.google.protobuf"));
    assert!(!is_protobuf_exposition("application/vnd.google.protobuf; encoding=text"));
    assert!(!is_protobuf_exposition("text/plain; version=0.0.4"));
}

fn arbitrary_label() -> impl Strategy<Value = (String, String)> {
    ("[a-z][a-z0-9_]{0,6}", "[a-zA-Z0-9 ]{0,6}")
}

proptest! {
    /// Gauge families with random labels and values: every metric comes out once, with its
    /// labels (empty values dropped) and its value's exact bits, in order.
    #[test]
    fn gauges_come_out_as_they_went_in(
        metrics in proptest::collection::vec(
            (proptest::collection::btree_map("[a-z][a-z0-9_]{0,6}", "[a-zA-Z0-9 ]{0,6}", 0..4), any::<f64>(), any::<i64>()),
            0..8,
        ),
    ) {
        let fam = family(
            "g",
            1,
            metrics
                .iter()
                .map(|(l, v, t)| Metric {
                    label: l.iter().map(|(n, v)| LabelPair { name: Some(n.clone()), value: Some(v.clone()) }).collect(),
                    gauge: value(*v),
                    timestamp_ms: Some(*t),
                    ..Default::default()
                })
                .collect(),
        );
        let samples = decode_all(&delimited(&[fam]), Options::default()).unwrap();
        prop_assert_eq!(samples.len(), metrics.len());
        for (s, (l, v, t)) in samples.iter().zip(&metrics) {
            let want = Labels::from_pairs(std::iter::once(("__name__".to_string(), "g".to_string())).chain(l.clone())).unwrap();
            prop_assert_eq!(&s.labels, &want);
            let ExposedValue::Float(got) = s.value else { panic!("a gauge is a float") };
            prop_assert_eq!(got.to_bits(), v.to_bits());
            prop_assert_eq!(s.timestamp, (*t != 0).then_some(*t));
        }
    }

    /// Any bytes: an answer or an error, never a panic; an error's offset is inside the input.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), classic in any::<bool>()) {
        if let Err(e) = decode_all(&bytes, Options { classic_histograms: classic }) {
            prop_assert!(e.offset <= bytes.len() as u64);
            prop_assert!(e.family >= 1);
        }
    }

    /// A valid family cut anywhere short of its end is an error, never a shorter answer.
    #[test]
    fn a_cut_body_is_an_error(labels in proptest::collection::vec(arbitrary_label(), 0..3), cut in 1usize..64) {
        let fam = family("c", 0, vec![Metric {
            label: labels.iter().map(|(n, v)| LabelPair { name: Some(n.clone()), value: Some(v.clone()) }).collect(),
            counter: value(1.0),
            ..Default::default()
        }]);
        let body = delimited(&[fam]);
        let keep = body.len().saturating_sub(cut.min(body.len() - 1));
        prop_assert!(decode_all(&body[..keep], Options::default()).is_err());
    }
}
