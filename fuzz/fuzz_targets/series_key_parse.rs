//! Arbitrary text as series keys in both forms: labels or an error, never a panic; what
//! parses renders back to a key that parses to the same labels.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_model::Labels;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(labels) = Labels::parse_prometheus_key(text) {
        assert_eq!(Labels::parse_prometheus_key(&labels.prometheus_key()).unwrap(), labels);
    }
    if let Ok(labels) = Labels::parse_seed_key(text) {
        if labels.metric_name().is_some() {
            assert_eq!(Labels::parse_seed_key(&labels.seed_key()).unwrap(), labels);
        }
    }
});
