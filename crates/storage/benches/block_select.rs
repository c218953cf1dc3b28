//! Select + decode speed over one block: 2,000 series × 720 samples (2 h at 10 s; counters,
//! gauges, constants and percentages as `strata tsdb demo` mixes them) in a block of the
//! block engine, read back three ways, each counted in samples returned per second:
//! - `block-reader`: `BlockReader::select`, every series, every sample;
//! - `engine-all`: `Engine::select` over the data dir, iterating every series' samples;
//! - `engine-one-metric`: the same for one metric name (postings first, then chunks).
//!
//! Run: `cargo bench -p strata-storage --bench block_select`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use strata_codec::synthetic::{generate, Pattern, SeriesSpec};
use strata_model::{Labels, Matcher};
use strata_storage::block::{write_block, BlockReader, BlockSeries};
use strata_storage::{BlockEngine, BlockEngineOptions, Engine};

const SERIES: u64 = 2_000;
const SAMPLES: u64 = 720;

fn input() -> Vec<BlockSeries> {
    (0..SERIES)
        .map(|i| {
            let pattern = match i % 20 {
                0 => Pattern::Decimal,
                1..=3 => Pattern::Constant,
                4..=12 => Pattern::Counter,
                _ => Pattern::Gauge,
            };
            let labels = Labels::from_pairs([
                ("__name__", format!("metric_{}", i % 50)),
                ("instance", format!("host-{}", i / 50)),
                ("job", "bench".into()),
            ])
            .unwrap();
            let spec = SeriesSpec { seed: i + 1, ..SeriesSpec::new(pattern, SAMPLES) };
            BlockSeries { labels, samples: generate(&spec), histograms: Vec::new() }
        })
        .collect()
}

fn count(series: &[strata_storage::Series]) -> u64 {
    let mut n = 0u64;
    for s in series {
        for sample in s.samples() {
            sample.expect("decodes");
            n += 1;
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let stats = write_block(dir.path(), input()).unwrap();
    let block = BlockReader::open(&stats.dir).unwrap();
    let engine = BlockEngine::open(dir.path(), BlockEngineOptions::default()).unwrap();
    let all = SERIES * SAMPLES;
    let one = [Matcher::equal("__name__", "metric_7")];

    let mut group = c.benchmark_group("block-select");
    group.sample_size(20);
    group.throughput(Throughput::Elements(all));
    group.bench_function("block-reader", |b| {
        b.iter(|| {
            let got = block.select(&[], i64::MIN, i64::MAX).unwrap();
            assert_eq!(got.iter().map(|s| s.1.len() as u64).sum::<u64>(), all);
        })
    });
    group.bench_function("engine-all", |b| {
        b.iter(|| assert_eq!(count(&engine.select(&[], i64::MIN, i64::MAX).unwrap()), all))
    });
    group.throughput(Throughput::Elements(all / 50));
    group.bench_function("engine-one-metric", |b| {
        b.iter(|| assert_eq!(count(&engine.select(&one, i64::MIN, i64::MAX).unwrap()), all / 50))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
