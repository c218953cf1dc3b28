//! Decodes a series many times, in 120-sample XOR chunks, and prints samples per second:
//! a fixed workload for profilers (cachegrind, perf) and for series too short to time once.
//! The series is 500,000 points of a synthetic pattern, or a raw point file (16-byte
//! little-endian `(i64 ms, f64)` points, e.g. cut from a dataset by
//! scripts/extract_series.py).
//!
//! Run: `cargo run --release -p strata-codec --example decode_loop -- gauge 200`
//! or `… -- path/to/series.raw 20000`.

use strata_codec::synthetic::{generate, Pattern, SeriesSpec};
use strata_codec::xor;

fn main() {
    let mut args = std::env::args().skip(1);
    let source = args.next().unwrap_or_else(|| "gauge".into());
    let rounds: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(100);
    let samples = match source.as_str() {
        "gauge" => generate(&SeriesSpec::new(Pattern::Gauge, 500_000)),
        "decimal" => generate(&SeriesSpec::new(Pattern::Decimal, 500_000)),
        "counter" => generate(&SeriesSpec::new(Pattern::Counter, 500_000)),
        "constant" => generate(&SeriesSpec::new(Pattern::Constant, 500_000)),
        path => read_raw(path),
    };
    let chunks: Vec<Vec<u8>> =
        samples.chunks(120).map(|c| xor::encode_chunk(c.iter().copied()).expect("fits").0).collect();
    let mut out = Vec::with_capacity(samples.len());
    let started = std::time::Instant::now();
    for _ in 0..rounds {
        out.clear();
        for chunk in &chunks {
            xor::decode_chunk_into(chunk, &mut out).expect("decodes");
        }
    }
    let decoded = (rounds * samples.len()) as f64;
    let bytes: usize = chunks.iter().map(Vec::len).sum();
    println!(
        "{source}: {} points, {:.3} bytes/point in chunks, {:.1} M samples/s decoded ({decoded} in all)",
        samples.len(),
        bytes as f64 / samples.len() as f64,
        decoded / started.elapsed().as_secs_f64() / 1e6,
    );
}

fn read_raw(path: &str) -> Vec<(i64, f64)> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    strata_codec::raw_points::decode(&bytes).unwrap_or_else(|e| panic!("{path}: {e}"))
}
