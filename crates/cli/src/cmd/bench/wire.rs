//! The load generator's bodies for remote write 2.0 and OTLP: the same series and samples
//! as its remote write 1.0 bodies (`bench_value{host, series}`), so the protocols compare
//! on equal work. With `--histogram-every N`, every Nth series (`bench_value_hist`) sends
//! native histograms instead: the same histogram in each protocol (schema 3, a zero bucket
//! and 12 buckets, counts growing with time; OTLP sends it as an exponential histogram).

use prost::Message;
use strata_otlp::collector::ExportMetricsServiceRequest;
use strata_otlp::common::v1::{any_value, AnyValue, KeyValue};
use strata_otlp::metrics::v1::exponential_histogram_data_point::Buckets;
use strata_otlp::metrics::v1::{
    metric::Data, number_data_point, AggregationTemporality, ExponentialHistogram,
    ExponentialHistogramDataPoint, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
};

use super::{proto_bytes, varint, Naming};

/// The generated histogram at `t`: (zero count, bucket counts from native index
/// [`FIRST_BUCKET`], sum).
fn histogram_at(t: i64) -> (u64, Vec<u64>, f64) {
    let n = (t / 1000).rem_euclid(1_000_000) as u64 + 1;
    let buckets: Vec<u64> = (1..=12).map(|b| n * b).collect();
    (n, buckets, n as f64 * 42.5)
}

/// The native index of the generated histogram's first bucket (schema 3).
const FIRST_BUCKET: i32 = 5;
const SCHEMA: i32 = 3;

/// The generated histogram at `t` as a `prometheus.Histogram` (the same message in
/// remote write 1.0 and 2.0): integer counts, delta-encoded buckets, one span.
pub(super) fn histogram_message(t: i64) -> Vec<u8> {
    let (zero, buckets, sum) = histogram_at(t);
    let zigzag = |v: i64| ((v << 1) ^ (v >> 63)) as u64;
    let mut h = Vec::with_capacity(64);
    h.push(0x08); // count_int = 1
    varint(zero + buckets.iter().sum::<u64>(), &mut h);
    h.push(0x19); // sum = 3, fixed64
    h.extend_from_slice(&sum.to_le_bytes());
    h.push(0x20); // schema = 4, sint32
    varint(zigzag(i64::from(SCHEMA)), &mut h);
    h.push(0x29); // zero_threshold = 5, fixed64
    h.extend_from_slice(&2f64.powi(-128).to_le_bytes());
    h.push(0x30); // zero_count_int = 6
    varint(zero, &mut h);
    let mut span = Vec::with_capacity(8);
    span.push(0x08);
    varint(zigzag(i64::from(FIRST_BUCKET)), &mut span);
    span.push(0x10);
    varint(buckets.len() as u64, &mut span);
    proto_bytes(11, &span, &mut h); // positive_spans
    let mut deltas = Vec::with_capacity(buckets.len() * 2);
    let mut previous = 0i64;
    for b in &buckets {
        varint(zigzag(*b as i64 - previous), &mut deltas);
        previous = *b as i64;
    }
    proto_bytes(12, &deltas, &mut h); // positive_deltas, packed
    h.push(0x78); // timestamp = 15
    varint(t as u64, &mut h);
    h
}

/// Whether series `id` sends histograms.
pub(super) fn is_histogram(naming: &Naming, id: usize) -> bool {
    naming.histogram_every > 0 && id.is_multiple_of(naming.histogram_every)
}

/// A snappy-compressed `io.prometheus.write.v2.Request`: one symbol table for the batch.
pub(super) fn remote_write_v2(naming: &Naming, points: &[(usize, i64, f64)]) -> Vec<u8> {
    let mut symbols: Vec<String> = vec![
        String::new(),
        "__name__".into(),
        naming.metric.clone(),
        "host".into(),
        naming.label.clone(),
        format!("{}_hist", naming.metric),
    ];
    let mut index = std::collections::HashMap::new();
    let mut symbol = |text: String, symbols: &mut Vec<String>| -> u32 {
        *index.entry(text.clone()).or_insert_with(|| {
            symbols.push(text);
            symbols.len() as u32 - 1
        })
    };
    let mut series_bytes = Vec::with_capacity(points.len() * 32);
    for (id, t, v) in points {
        let host = symbol(format!("host{}", id % 100), &mut symbols);
        let series = symbol(format!("s{id}"), &mut symbols);
        // Label refs sorted by name: __name__, host, then the series label.
        let histogram = is_histogram(naming, *id);
        let mut refs = Vec::with_capacity(8);
        for r in [1, if histogram { 5 } else { 2 }, 3, host, 4, series] {
            varint(u64::from(r), &mut refs);
        }
        let mut ts = Vec::with_capacity(48);
        proto_bytes(1, &refs, &mut ts);
        if histogram {
            proto_bytes(3, &histogram_message(*t), &mut ts);
        } else {
            let mut sample = Vec::with_capacity(20);
            sample.push(0x09);
            sample.extend_from_slice(&v.to_le_bytes());
            sample.push(0x10);
            varint(*t as u64, &mut sample);
            proto_bytes(2, &sample, &mut ts);
        }
        proto_bytes(5, &ts, &mut series_bytes);
    }
    let mut request = Vec::with_capacity(series_bytes.len() + symbols.len() * 8);
    for s in &symbols {
        proto_bytes(4, s.as_bytes(), &mut request);
    }
    request.extend_from_slice(&series_bytes);
    snap::raw::Encoder::new().compress_vec(&request).unwrap_or_default()
}

/// An OTLP `ExportMetricsServiceRequest` (protobuf): one gauge, a data point per sample.
pub(super) fn otlp(naming: &Naming, points: &[(usize, i64, f64)]) -> Vec<u8> {
    let attribute = |key: &str, value: String| KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(value)) }),
        ..Default::default()
    };
    let attributes = |id: usize| {
        vec![attribute("host", format!("host{}", id % 100)), attribute(&naming.label, format!("s{id}"))]
    };
    let data_points = points
        .iter()
        .filter(|(id, _, _)| !is_histogram(naming, *id))
        .map(|(id, t, v)| NumberDataPoint {
            attributes: attributes(*id),
            time_unix_nano: (*t as u64) * 1_000_000,
            value: Some(number_data_point::Value::AsDouble(*v)),
            ..Default::default()
        })
        .collect();
    let histogram_points: Vec<ExponentialHistogramDataPoint> = points
        .iter()
        .filter(|(id, _, _)| is_histogram(naming, *id))
        .map(|(id, t, _)| {
            let (zero, buckets, sum) = histogram_at(*t);
            ExponentialHistogramDataPoint {
                attributes: attributes(*id),
                time_unix_nano: (*t as u64) * 1_000_000,
                count: zero + buckets.iter().sum::<u64>(),
                sum: Some(sum),
                scale: SCHEMA,
                zero_count: zero,
                zero_threshold: 2f64.powi(-128),
                // OTLP bucket i is native bucket i + 1.
                positive: Some(Buckets { offset: FIRST_BUCKET - 1, bucket_counts: buckets }),
                ..Default::default()
            }
        })
        .collect();
    let mut metrics = vec![Metric {
        name: naming.metric.clone(),
        data: Some(Data::Gauge(Gauge { data_points })),
        ..Default::default()
    }];
    if !histogram_points.is_empty() {
        metrics.push(Metric {
            name: format!("{}_hist", naming.metric),
            data: Some(Data::ExponentialHistogram(ExponentialHistogram {
                data_points: histogram_points,
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
            })),
            ..Default::default()
        });
    }
    let request = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics { metrics, ..Default::default() }],
            ..Default::default()
        }],
    };
    request.encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_testkit::remote_write_v2::Request;

    const POINTS: [(usize, i64, f64); 2] = [(3, 1_703_001_600_000, 1.5), (103, 1_703_001_600_000, 2.0)];

    #[test]
    fn remote_write_2_bodies_name_the_same_series() {
        let raw =
            snap::raw::Decoder::new().decompress_vec(&remote_write_v2(&Naming::default(), &POINTS)).unwrap();
        let request = Request::decode(&raw[..]).unwrap();
        let labels: Vec<Vec<&str>> = request
            .timeseries
            .iter()
            .map(|s| s.labels_refs.iter().map(|&r| request.symbols[r as usize].as_str()).collect())
            .collect();
        assert_eq!(request.symbols[0], "");
        assert_eq!(labels[0], ["__name__", "bench_value", "host", "host3", "series", "s3"]);
        assert_eq!(labels[1], ["__name__", "bench_value", "host", "host3", "series", "s103"]);
        assert_eq!(
            (request.timeseries[1].samples[0].timestamp, request.timeseries[1].samples[0].value),
            (POINTS[1].1, 2.0)
        );
    }

    #[test]
    fn histogram_series_send_the_same_histogram_in_every_protocol() {
        let naming = Naming { histogram_every: 3, ..Naming::default() };
        // Remote write 2.0 (and 1.0, which carries the same message).
        let body = snap::raw::Decoder::new().decompress_vec(&remote_write_v2(&naming, &POINTS)).unwrap();
        let request = Request::decode(body.as_slice()).unwrap();
        let wire = &request.timeseries[0].histograms[0];
        assert!(request.timeseries[1].histograms.is_empty(), "series 103 is not a multiple of 3");
        assert_eq!((wire.schema, wire.timestamp), (SCHEMA, POINTS[0].1));
        let (zero, buckets, sum) = histogram_at(POINTS[0].1);
        assert_eq!(
            (wire.count_int, wire.zero_count_int, wire.sum),
            (zero + buckets.iter().sum::<u64>(), zero, sum)
        );
        assert_eq!(wire.positive_spans[0].offset, FIRST_BUCKET);
        // OTLP: an exponential histogram that translates to the same native histogram.
        let body = otlp(&naming, &POINTS);
        let request =
            strata_otlp::body::decode_request(&body, strata_otlp::body::Encoding::Protobuf).unwrap();
        let translated = strata_otlp::translate(&request, &strata_otlp::Options::default());
        let (labels, t, strata_model::HistogramValue::Integer(h)) = &translated.histograms[0] else {
            panic!("an integer histogram: {:?}", translated.histograms)
        };
        assert_eq!(labels.to_string(), r#"bench_value_hist{host="host3",series="s3"}"#);
        assert_eq!((*t, h.schema, h.count, h.zero_count), (POINTS[0].1, SCHEMA, wire.count_int, zero));
        assert_eq!(
            (h.positive_spans[0].offset, h.positive_buckets.clone()),
            (FIRST_BUCKET, wire.positive_deltas.clone())
        );
    }

    #[test]
    fn otlp_bodies_translate_to_the_same_series() {
        let body = otlp(&Naming::default(), &POINTS);
        let request =
            strata_otlp::body::decode_request(&body, strata_otlp::body::Encoding::Protobuf).unwrap();
        let translated = strata_otlp::translate(&request, &strata_otlp::Options::default());
        assert_eq!(translated.series[0].labels.to_string(), r#"bench_value{host="host3",series="s3"}"#);
        assert_eq!(translated.series[1].samples, [(POINTS[1].1, 2.0)]);
    }
}
