//! The server's decoding of request bodies, reachable from outside the crate for the fuzz
//! targets (`fuzz/`): everything a write does before it reaches the engine — line protocol,
//! the Prometheus text format, remote write 1.0 (with its native histograms) and 2.0, OTLP
//! (protobuf and JSON) — through the same functions the handlers call. Each takes the bytes
//! a client sent and tells how many samples would be written and the errors the client
//! would be told. None may panic, whatever the bytes; every error names its line or series.
//!
//! Not an API: hidden from the docs and free to change with the server.

use strata_ingest::line_protocol::Precision;

use crate::ingest_batch::{self, Batch, TextTime};
use crate::series_cache::ProtocolCache;

/// What a body decodes to.
#[derive(Debug, Default)]
pub struct Decoded {
    /// Samples (and histogram samples) that would be appended.
    pub samples: usize,
    /// Each refused line or series, as the client would read it (`line N: …`, `series N: …`).
    pub errors: Vec<String>,
}

/// The kinds of body a write takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    LineProtocol,
    PrometheusText,
    /// A decompressed `prometheus.WriteRequest`.
    RemoteWriteV1,
    /// A decompressed `io.prometheus.write.v2.Request`.
    RemoteWriteV2,
    OtlpProtobuf,
    OtlpJson,
}

/// Decodes `bytes` as `body`; `Err` is a refusal of the whole body (what the client would
/// get as the 400's message).
pub fn decode(body: Body, bytes: &[u8]) -> Result<Decoded, String> {
    let cache = ProtocolCache::new(1024, Default::default());
    let now_ms = 1_700_000_000_000;
    let decoded = match body {
        Body::LineProtocol => {
            summary(ingest_batch::parse_line_protocol(bytes, Precision::Nanoseconds, now_ms, &cache, None), 0)
        }
        Body::PrometheusText => {
            summary(ingest_batch::parse_prometheus_text(bytes, TextTime::Auto, now_ms, &cache), 0)
        }
        Body::RemoteWriteV1 => {
            let series = crate::remote_write_fast::walk(bytes).map_err(|e| e.0)?;
            let mut histograms = crate::remote_histograms::HistogramBatch::default();
            for (i, s) in series.iter().enumerate() {
                histograms.add(i + 1, || ingest_batch::decode_labels(s), s.histograms.iter().copied());
            }
            let mut decoded =
                summary(ingest_batch::collect_remote(&series, &cache), histograms.samples.len());
            decoded.errors.extend(histograms.errors);
            decoded
        }
        Body::RemoteWriteV2 => {
            let request = crate::remote_v2::decode(bytes).map_err(|e| e.0)?;
            let histograms = crate::remote_v2::collect_histograms(&request);
            let mut decoded = summary(crate::remote_v2::collect(&request, &cache), histograms.samples.len());
            decoded.errors.extend(histograms.errors);
            decoded
        }
        Body::OtlpProtobuf | Body::OtlpJson => {
            let encoding = if body == Body::OtlpJson {
                strata_otlp::body::Encoding::Json
            } else {
                strata_otlp::body::Encoding::Protobuf
            };
            let request = strata_otlp::body::decode_request(bytes, encoding).map_err(|e| e.0)?;
            let translated = strata_otlp::translate(&request, &strata_otlp::Options::default());
            let mut decoded = summary(
                ingest_batch::collect_series(&translated.series, &cache),
                translated.histograms.len(),
            );
            decoded.errors.extend(translated.problems);
            decoded
        }
    };
    Ok(decoded)
}

/// A snappy body decompressed as remote write does, refusing to grow past `limit` bytes.
pub fn unsnappy(bytes: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    crate::remote::unsnappy(bytes, limit).map_err(|e| e.0)
}

fn summary(batch: Batch<'_>, histogram_samples: usize) -> Decoded {
    Decoded {
        samples: batch.len() + histogram_samples,
        errors: batch.errors.iter().map(|e| format!("line {}: {}", e.line, e.message)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzz/write_bodies: a remote write 1.0 body whose fifth series has no name.
    /// Its error names the series (`series 5: …`) — the harness had expected only `line` or
    /// `metric` and took the right answer for a crash.
    #[test]
    fn a_nameless_remote_write_series_is_named_by_its_position() {
        let bytes = [
            10, 0, 10, 0, 10, 0, 101, 0, 0, 0, 10, 10, 10, 0, 10, 0, 10, 0, 10, 0, 10, 0, 10, 0, 10, 10, 10,
            0, 10, 0, 10, 0, 0, 0, 0, 34, 0,
        ];
        let decoded = decode(Body::RemoteWriteV1, &bytes).expect("the body as a whole decodes");
        assert!(!decoded.errors.is_empty());
        for error in &decoded.errors {
            assert!(error.starts_with("series "), "{error}");
        }
    }
}
