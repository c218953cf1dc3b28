//! Arbitrary text as a Prometheus rule file: groups, or errors naming what is wrong; never
//! a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_rules::{parse_text, ParseOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(e) = parse_text("fuzz.yml", text, &ParseOptions::default()) {
        assert!(!e.errors.is_empty(), "a refusal without a reason");
    }
});
