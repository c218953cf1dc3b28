//! Arbitrary bytes as Prometheus' delimited protobuf exposition, with and without classic
//! buckets kept: samples or an error naming a family inside the input, never a panic; every
//! native histogram handed out is valid.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_ingest::protobuf_exposition::{decode_all, ExposedValue, Options};

fuzz_target!(|data: &[u8]| {
    for classic_histograms in [false, true] {
        match decode_all(data, Options { classic_histograms }) {
            Ok(samples) => {
                for s in samples {
                    if let ExposedValue::Histogram(h) = s.value {
                        assert!(h.validate().is_ok(), "an invalid histogram was handed out");
                    }
                }
            }
            Err(e) => {
                assert!(e.family >= 1 && e.offset <= data.len() as u64, "{e}");
            }
        }
    }
});
