//! Arbitrary bytes as a delta-encoded series: samples or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_codec::delta;

fuzz_target!(|data: &[u8]| {
    if let Ok(samples) = delta::decode(data) {
        let (again, _) = delta::encode(samples.iter().copied());
        assert_eq!(delta::decode(&again).unwrap().len(), samples.len());
    }
});
