//! Arbitrary bytes as every kind of write body the server takes — line protocol, the
//! Prometheus text format, remote write 1.0 and 2.0 (decompressed), OTLP protobuf and JSON —
//! through the server's own decoding (`strata_server::untrusted`): samples, or errors each
//! naming its line or series (OTLP's: its metric); never a panic. The first byte picks the kind, so one corpus
//! grows for all of them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_server::untrusted::{decode, unsnappy, Body};

const BODIES: [Body; 6] =
    [Body::LineProtocol, Body::PrometheusText, Body::RemoteWriteV1, Body::RemoteWriteV2, Body::OtlpProtobuf, Body::OtlpJson];

fuzz_target!(|data: &[u8]| {
    let Some((&kind, bytes)) = data.split_first() else { return };
    let body = BODIES[kind as usize % BODIES.len()];
    if let Ok(decoded) = decode(body, bytes) {
        for error in &decoded.errors {
            let placed = ["line ", "series ", "metric "].iter().any(|p| error.starts_with(p));
            assert!(placed, "an error that names no line, series or metric: {error}");
        }
    }
    // Snappy framing as remote write reads it, bounded.
    let _ = unsnappy(bytes, 1 << 20);
});
