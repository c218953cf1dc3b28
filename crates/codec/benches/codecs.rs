//! Encode and decode throughput of each codec, in samples per second (criterion's
//! "elements"), on the series `strata gen` writes (`strata_codec::synthetic`): 500,000
//! points 10 s apart of each pattern, in Prometheus-sized chunks of 120 samples (the dense
//! cold codec: one timestamp and one value column of the whole series).
//!
//! Run: `cargo bench -p strata-codec --bench codecs`.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use strata_codec::synthetic::{self, Pattern, SeriesSpec};
use strata_codec::{delta, dense, xor};

const POINTS: usize = 500_000;
const CHUNK: usize = 120;

fn xor_chunks(samples: &[(i64, f64)]) -> Vec<Vec<u8>> {
    samples.chunks(CHUNK).map(|c| xor::encode_chunk(c.iter().copied()).unwrap().0).collect()
}

fn bench_codecs(c: &mut Criterion) {
    let patterns = [
        ("gauge", Pattern::Gauge),
        ("decimal", Pattern::Decimal),
        ("counter", Pattern::Counter),
        ("constant", Pattern::Constant),
    ];
    for (kind, pattern) in patterns {
        let samples = synthetic::generate(&SeriesSpec::new(pattern, POINTS as u64));
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
        let ts: Vec<i64> = samples.iter().map(|s| s.0).collect();
        let vs: Vec<f64> = samples.iter().map(|s| s.1).collect();
        let (ts_frame, vs_frame) =
            (dense::encode_timestamps(&ts).unwrap(), dense::encode_values(&vs).unwrap());
        group.bench_function(BenchmarkId::new("dense", "encode"), |b| {
            b.iter(|| {
                (
                    dense::encode_timestamps(black_box(&ts)).unwrap(),
                    dense::encode_values(black_box(&vs)).unwrap(),
                )
            })
        });
        group.bench_function(BenchmarkId::new("dense", "decode"), |b| {
            b.iter(|| {
                let ts = dense::decode_timestamps(black_box(&ts_frame)).unwrap();
                ts.len() + dense::decode_values(black_box(&vs_frame)).unwrap().len()
            })
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
