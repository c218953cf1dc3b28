//! Cost per point of the in-memory store behind `strata mem`, at 1,000,000 points:
//! appends in time order, late (out-of-order) inserts, and range queries.
//!
//! Run: `cargo bench -p strata-storage --bench memstore`.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use strata_model::{Labels, Matcher, METRIC_NAME_LABEL};
use strata_storage::MemStore;

const POINTS: i64 = 1_000_000;
const SERIES: i64 = 100;

fn series_labels() -> Vec<Labels> {
    (0..SERIES)
        .map(|i| {
            Labels::with_metric_name(
                "cpu.usage",
                [("host", format!("server{i}")), ("region", "us-east".into())],
            )
            .unwrap()
        })
        .collect()
}

fn filled() -> MemStore {
    let mut store = MemStore::new();
    for (i, labels) in series_labels().iter().enumerate() {
        let id = store.get_or_create(labels);
        for t in 0..POINTS / SERIES {
            store.append(id, t * 10, (i as i64 + t) as f64);
        }
    }
    store
}

fn bench(c: &mut Criterion) {
    let labels = series_labels();
    let mut group = c.benchmark_group("memstore");
    group.throughput(Throughput::Elements(POINTS as u64));
    group.bench_function("insert-in-order-1M", |b| {
        b.iter(|| {
            let mut store = MemStore::new();
            let ids: Vec<_> = labels.iter().map(|l| store.get_or_create(l)).collect();
            for t in 0..POINTS / SERIES {
                for &id in &ids {
                    store.append(id, t * 10, t as f64);
                }
            }
            store.stats().samples
        })
    });
    group.bench_function("insert-by-labels-1M", |b| {
        b.iter(|| {
            let mut store = MemStore::new();
            for t in 0..POINTS / SERIES {
                for l in &labels {
                    store.insert(l, t * 10, t as f64);
                }
            }
            store.stats().samples
        })
    });
    group.sample_size(10);
    group.throughput(Throughput::Elements(100_000));
    group.bench_function("insert-late-100k", |b| {
        // Every 10th sample arrives late, 5 intervals behind.
        b.iter_batched(
            MemStore::new,
            |mut store| {
                let id = store.get_or_create(&labels[0]);
                for t in 0..100_000i64 {
                    let t = if t % 10 == 9 { t - 5 } else { t };
                    store.append(id, t * 10, 1.0);
                }
                store
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();

    let store = filled();
    let mut group = c.benchmark_group("memstore-query");
    let one = [Matcher::equal(METRIC_NAME_LABEL, "cpu.usage"), Matcher::equal("host", "server7")];
    group.throughput(Throughput::Elements(1_000));
    group.bench_function("one-series-1k-points", |b| {
        b.iter(|| store.query_merged(black_box(&one), 20_000, 29_990).len())
    });
    let all = [Matcher::equal(METRIC_NAME_LABEL, "cpu.usage")];
    group.throughput(Throughput::Elements(100_000));
    group.bench_function("all-series-100k-points", |b| {
        b.iter(|| store.query_merged(black_box(&all), 20_000, 29_990).len())
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
