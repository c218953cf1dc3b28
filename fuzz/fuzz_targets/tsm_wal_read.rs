//! Arbitrary bytes as an InfluxDB WAL segment: the entries before the damage, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use strata_tsm::wal;

fuzz_target!(|data: &[u8]| {
    let _ = wal::parse_segment(Path::new("_00001.wal"), data);
});
