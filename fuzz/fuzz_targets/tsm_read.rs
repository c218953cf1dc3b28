//! Arbitrary bytes as a TSM file: every block read or an error naming where, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use strata_tsm::{block, TsmReader};

fuzz_target!(|data: &[u8]| {
    let Ok(reader) = TsmReader::from_bytes(Path::new("fuzz.tsm"), data.to_vec()) else { return };
    for i in 0..reader.key_count() {
        for b in reader.blocks(i) {
            let _ = reader.read_block(&b);
        }
    }
    // Blocks also arrive without a CRC in front (compaction copies them).
    let _ = block::decode(data);
});
