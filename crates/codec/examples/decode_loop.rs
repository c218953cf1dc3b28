//! Decodes 500,000 points of a synthetic pattern many times: a fixed workload for
//! `perf stat` (cycles and instructions per sample), which a criterion run is not.
//!
//! Run: `cargo run --release -p strata-codec --example decode_loop -- gauge 200`.

use strata_codec::synthetic::{generate, Pattern, SeriesSpec};
use strata_codec::xor;

fn main() {
    let mut args = std::env::args().skip(1);
    let pattern = match args.next().as_deref() {
        Some("decimal") => Pattern::Decimal,
        Some("counter") => Pattern::Counter,
        Some("constant") => Pattern::Constant,
        _ => Pattern::Gauge,
    };
    let rounds: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(100);
    let samples = generate(&SeriesSpec::new(pattern, 500_000));
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
    println!(
        "{pattern:?}: {:.1} M samples/s ({} decoded)",
        decoded / started.elapsed().as_secs_f64() / 1e6,
        decoded
    );
}
