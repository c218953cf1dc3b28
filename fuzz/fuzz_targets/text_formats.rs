//! Arbitrary text as single lines of Influx line protocol (every precision) and of the
//! Prometheus text and OpenMetrics formats: a sample or an error naming the line and
//! column, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_ingest::exposition::{self, Flavor};
use strata_ingest::line_protocol::{self, Precision};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for (no, line) in text.lines().enumerate().take(64) {
        for precision in [Precision::Nanoseconds, Precision::Microseconds, Precision::Milliseconds, Precision::Seconds] {
            if let Err(e) = line_protocol::parse_line(line, no + 1, precision) {
                assert!(e.to_string().contains(&format!("line {}", no + 1)), "{e}");
            }
        }
        for flavor in [Flavor::Prometheus, Flavor::OpenMetrics] {
            if let Err(e) = exposition::parse_line(line, no + 1, flavor) {
                assert!(e.to_string().contains(&format!("line {}", no + 1)), "{e}");
            }
        }
    }
});
