//! The protobuf messages of Prometheus' remote write 1.0 and remote read
//! (../shared/proto/{types,remote}.proto, package `prometheus`; field numbers are the
//! wire contract). Written as prost structs by hand rather than generated: a fresh machine
//! has no `protoc` (ARCHITECTURE.md, decision 6), and only these few messages are needed.
//! Fields left out here (exemplars, metadata, read hints) are skipped by the decoder as
//! unknown fields, which is what protobuf promises.

/// `prometheus.WriteRequest` (the server walks it itself, `remote_write_fast`; tests
/// decode it with prost as the oracle; the cluster sends replicas' copies in it).
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// `prometheus.TimeSeries`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    /// Native histograms, kept undecoded: Strata cannot store them yet, it only counts them.
    #[prost(bytes = "vec", repeated, tag = "4")]
    pub histograms: Vec<Vec<u8>>,
}

/// `prometheus.Label`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `prometheus.Sample`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// `prometheus.ReadRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReadRequest {
    #[prost(message, repeated, tag = "1")]
    pub queries: Vec<Query>,
    /// `ReadRequest.ResponseType`: SAMPLES 0, STREAMED_XOR_CHUNKS 1.
    #[prost(int32, repeated, tag = "2")]
    pub accepted_response_types: Vec<i32>,
}

/// `prometheus.Query`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Query {
    #[prost(int64, tag = "1")]
    pub start_timestamp_ms: i64,
    #[prost(int64, tag = "2")]
    pub end_timestamp_ms: i64,
    #[prost(message, repeated, tag = "3")]
    pub matchers: Vec<LabelMatcher>,
}

/// `prometheus.LabelMatcher`; `r#type`: EQ 0, NEQ 1, RE 2, NRE 3.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LabelMatcher {
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(string, tag = "3")]
    pub value: String,
}

/// `prometheus.ReadResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReadResponse {
    #[prost(message, repeated, tag = "1")]
    pub results: Vec<QueryResult>,
}

/// `prometheus.QueryResult`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryResult {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// The `ResponseType` that sends whole samples (the one Strata answers with).
pub const RESPONSE_TYPE_SAMPLES: i32 = 0;

/// Remote write 2.0's messages (`io.prometheus.write.v2`, used by `remote_v2`): labels by
/// reference into a symbol table; histograms and exemplars kept undecoded (counted).
pub mod v2 {
    /// `io.prometheus.write.v2.Request`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Request {
        #[prost(string, repeated, tag = "4")]
        pub symbols: Vec<String>,
        #[prost(message, repeated, tag = "5")]
        pub timeseries: Vec<TimeSeries>,
    }

    /// `io.prometheus.write.v2.TimeSeries`; histograms and exemplars are kept undecoded (counted).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TimeSeries {
        #[prost(uint32, repeated, tag = "1")]
        pub labels_refs: Vec<u32>,
        #[prost(message, repeated, tag = "2")]
        pub samples: Vec<Sample>,
        #[prost(bytes = "vec", repeated, tag = "3")]
        pub histograms: Vec<Vec<u8>>,
        #[prost(bytes = "vec", repeated, tag = "4")]
        pub exemplars: Vec<Vec<u8>>,
    }

    /// `io.prometheus.write.v2.Sample`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sample {
        #[prost(double, tag = "1")]
        pub value: f64,
        #[prost(int64, tag = "2")]
        pub timestamp: i64,
        #[prost(int64, tag = "3")]
        pub start_timestamp: i64,
    }
}

/// A series to encode: labels (name, value) and samples (timestamp ms, value).
pub type SeriesSpec<N, V> = (Vec<(N, V)>, Vec<(i64, f64)>);

/// A `WriteRequest`'s protobuf bytes (uncompressed), built with prost, each series with
/// `histograms` dummy native-histogram entries: the tests' sender.
pub fn encode_write_request<N: AsRef<str>, V: AsRef<str>>(
    series: &[SeriesSpec<N, V>],
    histograms: usize,
) -> Vec<u8> {
    use prost::Message;
    let timeseries = series
        .iter()
        .map(|(labels, samples)| TimeSeries {
            labels: labels
                .iter()
                .map(|(n, v)| Label { name: n.as_ref().into(), value: v.as_ref().into() })
                .collect(),
            samples: samples.iter().map(|&(timestamp, value)| Sample { value, timestamp }).collect(),
            histograms: vec![vec![0x08, 0x01]; histograms],
        })
        .collect();
    WriteRequest { timeseries }.encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    /// A `WriteRequest` encoded by hand from the .proto's field numbers decodes as expected:
    /// the structs agree with the wire format, not just with themselves.
    #[test]
    fn hand_encoded_write_request_decodes() {
        // Label{name:"__name__", value:"up"}
        let label = [&[0x0a, 8][..], b"__name__", &[0x12, 2], b"up"].concat();
        // Sample{value: 1.0, timestamp: 1000}
        let mut sample = vec![0x09];
        sample.extend_from_slice(&1.0f64.to_le_bytes());
        sample.extend_from_slice(&[0x10, 0xe8, 0x07]);
        let mut series = vec![0x0a, label.len() as u8];
        series.extend_from_slice(&label);
        series.extend_from_slice(&[0x12, sample.len() as u8]);
        series.extend_from_slice(&sample);
        // An exemplar (field 3) the decoder must skip.
        series.extend_from_slice(&[0x1a, 0]);
        let mut request = vec![0x0a, series.len() as u8];
        request.extend_from_slice(&series);
        let decoded = WriteRequest::decode(&request[..]).unwrap();
        assert_eq!(decoded.timeseries.len(), 1);
        let ts = &decoded.timeseries[0];
        assert_eq!((ts.labels[0].name.as_str(), ts.labels[0].value.as_str()), ("__name__", "up"));
        assert_eq!((ts.samples[0].value, ts.samples[0].timestamp), (1.0, 1000));
    }
}
