//! Encode and decode throughput of each codec, in samples per second (criterion's
//! "elements"). The series are shaped like monitoring data: a 10 s scrape interval with a
//! little jitter-free regularity, and gauge, counter and constant values.
//!
//! Run: `cargo bench -p strata-codec --bench codecs`.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use strata_codec::{delta, xor};

const POINTS: usize = 500_000;
const CHUNK: usize = 120;

/// A small deterministic generator so runs are comparable (no external RNG crate).
struct SplitMix(u64);

impl SplitMix {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn series(kind: &str) -> Vec<(i64, f64)> {
    let mut rng = SplitMix(42);
    let mut level = 50.0f64;
    let mut counter = 0.0f64;
    (0..POINTS)
        .map(|i| {
            let t = 1_703_001_600_000 + i as i64 * 10_000;
            let v = match kind {
                // A CPU-like gauge: a random walk, rounded to 2 decimals as exporters do.
                "gauge" => {
                    level = (level + (rng.next_f64() - 0.5) * 4.0).clamp(0.0, 100.0);
                    (level * 100.0).round() / 100.0
                }
                "counter" => {
                    counter += (rng.next_f64() * 100.0).floor();
                    counter
                }
                _ => 1.0,
            };
            (t, v)
        })
        .collect()
}

fn xor_chunks(samples: &[(i64, f64)]) -> Vec<Vec<u8>> {
    samples.chunks(CHUNK).map(|c| xor::encode_chunk(c.iter().copied()).unwrap().0).collect()
}

fn bench_codecs(c: &mut Criterion) {
    for kind in ["gauge", "counter", "constant"] {
        let samples = series(kind);
        let chunks = xor_chunks(&samples);
        let (delta_bytes, _) = delta::encode(samples.iter().copied());
        let mut group = c.benchmark_group(format!("codec/{kind}"));
        group.throughput(Throughput::Elements(POINTS as u64));
        group.bench_function(BenchmarkId::new("gorilla", "encode"), |b| {
            b.iter(|| xor_chunks(black_box(&samples)))
        });
        group.bench_function(BenchmarkId::new("gorilla", "decode"), |b| {
            let mut out = Vec::with_capacity(POINTS);
            b.iter(|| {
                out.clear();
                for chunk in &chunks {
                    xor::decode_chunk_into(black_box(chunk), &mut out).unwrap();
                }
                out.len()
            })
        });
        group.bench_function(BenchmarkId::new("gorilla", "iterate-sum"), |b| {
            b.iter(|| {
                let mut sum = 0.0;
                for chunk in &chunks {
                    for s in xor::XorIter::new(black_box(chunk)).unwrap() {
                        sum += s.unwrap().1;
                    }
                }
                sum
            })
        });
        group.bench_function(BenchmarkId::new("delta", "encode"), |b| {
            b.iter(|| delta::encode(black_box(&samples).iter().copied()))
        });
        group.bench_function(BenchmarkId::new("delta", "decode"), |b| {
            b.iter(|| delta::decode(black_box(&delta_bytes)).unwrap().len())
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = bench_codecs
}
criterion_main!(benches);
