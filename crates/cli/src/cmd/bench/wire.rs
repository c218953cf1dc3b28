//! The load generator's bodies for remote write 2.0 and OTLP: the same series and samples
//! as its remote write 1.0 bodies (`bench_value{host, series}`), so the protocols compare
//! on equal work.

use prost::Message;
use strata_otlp::collector::ExportMetricsServiceRequest;
use strata_otlp::common::v1::{any_value, AnyValue, KeyValue};
use strata_otlp::metrics::v1::{
    metric::Data, number_data_point, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
};

use super::{proto_bytes, varint, Naming};

/// A snappy-compressed `io.prometheus.write.v2.Request`: one symbol table for the batch.
pub(super) fn remote_write_v2(naming: &Naming, points: &[(usize, i64, f64)]) -> Vec<u8> {
    let mut symbols: Vec<String> =
        vec![String::new(), "__name__".into(), naming.metric.clone(), "host".into(), naming.label.clone()];
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
        let mut refs = Vec::with_capacity(8);
        for r in [1, 2, 3, host, 4, series] {
            varint(u64::from(r), &mut refs);
        }
        let mut ts = Vec::with_capacity(48);
        proto_bytes(1, &refs, &mut ts);
        let mut sample = Vec::with_capacity(20);
        sample.push(0x09);
        sample.extend_from_slice(&v.to_le_bytes());
        sample.push(0x10);
        varint(*t as u64, &mut sample);
        proto_bytes(2, &sample, &mut ts);
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
    let data_points = points
        .iter()
        .map(|(id, t, v)| NumberDataPoint {
            attributes: vec![
                attribute("host", format!("host{}", id % 100)),
                attribute(&naming.label, format!("s{id}")),
            ],
            time_unix_nano: (*t as u64) * 1_000_000,
            value: Some(number_data_point::Value::AsDouble(*v)),
            ..Default::default()
        })
        .collect();
    let metric = Metric {
        name: naming.metric.clone(),
        data: Some(Data::Gauge(Gauge { data_points })),
        ..Default::default()
    };
    let request = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics { metrics: vec![metric], ..Default::default() }],
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
    fn otlp_bodies_translate_to_the_same_series() {
        let body = otlp(&Naming::default(), &POINTS);
        let request =
            strata_otlp::body::decode_request(&body, strata_otlp::body::Encoding::Protobuf).unwrap();
        let translated = strata_otlp::translate(&request, &strata_otlp::Options::default());
        assert_eq!(translated.series[0].labels.to_string(), r#"bench_value{host="host3",series="s3"}"#);
        assert_eq!(translated.series[1].samples, [(POINTS[1].1, 2.0)]);
    }
}
