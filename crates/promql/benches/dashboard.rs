//! Typical dashboard range queries over one block: 1 h at a 15 s step over data scraped
//! every 15 s (1 h 10 m of it, so 5-minute windows at the first step are full).
//!
//! Data: 1,000 counter series `http_requests_total{job, instance}` (10 jobs × 100 instances)
//! and a classic histogram of 100 buckets for 100 instances
//! (`http_request_duration_seconds_bucket{instance, le}`, 10,000 series), written as a
//! Prometheus-format block and read through the block engine. Each query is counted in
//! samples it reads from storage per second (criterion's throughput).
//!
//! Run: `cargo bench -p strata-promql --bench dashboard`. With `STRATA_BENCH_BLOCK_DIR=D`
//! the block is kept in `D`, so a real Prometheus can be started on it (`--storage.tsdb.path
//! D`) and asked the same queries (`scripts/bench-promql-peer.py`).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use strata_model::Labels;
use strata_promql::{QueryEngine, Range};
use strata_storage::block::{write_block, BlockSeries};
use strata_storage::{BlockEngine, BlockEngineOptions};

const SCRAPE_MS: i64 = 15_000;
/// 1 h 10 m of scrapes.
const SCRAPES: i64 = 280;
const RANGE: Range = Range { start: 600_000, end: 600_000 + 3_600_000, step: 15_000 };

const QUERIES: &[(&str, &str)] = &[
    ("rate-1k-series", "rate(http_requests_total[5m])"),
    ("sum-by-job-of-rate", "sum by (job) (rate(http_requests_total[5m]))"),
    ("topk-5-of-rate", "topk(5, rate(http_requests_total[5m]))"),
    (
        "histogram-quantile-100x100",
        "histogram_quantile(0.99, rate(http_request_duration_seconds_bucket[5m]))",
    ),
    (
        "histogram-quantile-sum-by-le",
        "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    ),
    ("subquery-max-of-rate", "max_over_time(rate(http_requests_total[1m])[10m:1m])"),
];

fn series() -> Vec<BlockSeries> {
    let mut out = Vec::new();
    for job in 0..10 {
        for instance in 0..100 {
            let labels = Labels::from_pairs([
                ("__name__", "http_requests_total".to_string()),
                ("job", format!("job-{job}")),
                ("instance", format!("host-{instance}")),
            ])
            .unwrap();
            let rate = 1.0 + ((job * 100 + instance) % 17) as f64;
            let samples = (0..SCRAPES).map(|i| (i * SCRAPE_MS, (i as f64 * rate).floor())).collect();
            out.push(BlockSeries { labels, samples, histograms: Vec::new() });
        }
    }
    for instance in 0..100 {
        for bucket in 0..100 {
            let le =
                if bucket == 99 { "+Inf".to_string() } else { format!("{}", 0.005 * f64::from(bucket + 1)) };
            let labels = Labels::from_pairs([
                ("__name__", "http_request_duration_seconds_bucket".to_string()),
                ("instance", format!("host-{instance}")),
                ("le", le),
            ])
            .unwrap();
            // Cumulative: bucket b holds the observations of buckets 0..=b.
            let share = f64::from(bucket + 1) / 100.0;
            let samples = (0..SCRAPES).map(|i| (i * SCRAPE_MS, (i as f64 * 10.0 * share).floor())).collect();
            out.push(BlockSeries { labels, samples, histograms: Vec::new() });
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let temp = tempfile::tempdir().unwrap();
    // STRATA_BENCH_BLOCK_DIR keeps the data dir, e.g. to start Prometheus on the same block.
    let dir = std::env::var_os("STRATA_BENCH_BLOCK_DIR").map_or(temp.path().to_path_buf(), Into::into);
    write_block(&dir, series()).unwrap();
    let store = BlockEngine::open(&dir, BlockEngineOptions::default()).unwrap();
    let engine = QueryEngine::default();
    let mut group = c.benchmark_group("dashboard");
    group.sample_size(10);
    for (name, query) in QUERIES {
        let first = engine.range(&store, query, RANGE).unwrap();
        group.throughput(Throughput::Elements(first.samples_loaded as u64));
        group.bench_function(*name, |b| {
            b.iter(|| {
                let r = engine.range(&store, query, RANGE).unwrap();
                assert_eq!(r.samples_loaded, first.samples_loaded);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
