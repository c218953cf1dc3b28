//! Arbitrary text as an InfluxQL query: statements or a parse error naming a line and
//! character, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(e) = strata_influxql::parse_query(text, &Default::default()) {
        assert!(e.to_string().contains(" at line "), "{e}");
    }
});
