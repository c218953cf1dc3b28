//! Arbitrary bytes as a Prometheus WAL: as one record (series, samples, tombstones,
//! histograms) and as a segment file replayed from a directory (pages, fragments, CRCs) —
//! the records before the damage and an error naming it, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_wal::{replay, Record, ReplayOptions};

fuzz_target!(|data: &[u8]| {
    let _ = Record::decode(data);
    let Ok(dir) = tempfile::tempdir() else { return };
    if std::fs::write(dir.path().join("00000000"), data).is_err() {
        return;
    }
    let _ = replay(dir.path(), ReplayOptions::default(), |_| {});
});
