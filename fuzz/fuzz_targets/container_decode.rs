//! Arbitrary bytes as a `strata compress` file: samples or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_codec::container;

fuzz_target!(|data: &[u8]| {
    let _ = container::read_header(data);
    let _ = container::decode(data);
});
