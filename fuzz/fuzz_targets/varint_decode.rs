//! Arbitrary bytes as a run of varints: values or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_codec::varint;

fuzz_target!(|data: &[u8]| {
    let mut pos = 0;
    while pos < data.len() {
        let before = pos;
        if varint::read_varint(data, &mut pos).is_err() {
            break;
        }
        assert!(pos > before && pos <= data.len());
    }
});
