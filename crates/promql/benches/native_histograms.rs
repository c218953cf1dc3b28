//! Native histograms against their classic equivalent, over one block each: 1,000 series
//! of `request_duration_seconds` scraped every 15 s for 1 h 10 m — as native histograms
//! (schema 3, 24 buckets in use) and as classic histograms with the same 24 upper bounds
//! plus `+Inf` (`request_duration_seconds_bucket{le}`, 25,000 series). Prints the bytes a
//! histogram sample takes in each block, then times `histogram_quantile` over 1 h at a 15 s
//! step on both (criterion's throughput: histogram samples read per second).
//!
//! Run: `cargo bench -p strata-promql --bench native_histograms`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use strata_model::histogram::{delta_counts, spans_for_indices, Histogram, HistogramValue};
use strata_model::Labels;
use strata_promql::{QueryEngine, Range};
use strata_storage::block::{write_block, BlockSeries};
use strata_storage::{BlockEngine, BlockEngineOptions};

const SCRAPE_MS: i64 = 15_000;
const SCRAPES: i64 = 280;
const SERIES: usize = 1_000;
const SCHEMA: i32 = 3;
/// Bucket indices in use: (2^(8/8), 2^(32/8)] = (2, 16] seconds in 24 buckets.
const FIRST_BUCKET: i64 = 9;
const BUCKETS: i64 = 24;
const RANGE: Range = Range { start: 600_000, end: 600_000 + 3_600_000, step: 15_000 };

/// Observations per scrape in bucket `b` of series `s` (a skewed, series-dependent shape).
fn increment(s: usize, b: i64, scrape: i64) -> u64 {
    let shape = (BUCKETS - (b - 12).abs()).max(1) as u64;
    shape * (1 + (s as u64 % 7)) + (scrape as u64 + b as u64) % 3
}

fn upper_bound(index: i64) -> f64 {
    2f64.powf(index as f64 / f64::from(1u32 << SCHEMA))
}

fn data() -> (Vec<BlockSeries>, Vec<BlockSeries>) {
    let mut native = Vec::with_capacity(SERIES);
    let mut classic = Vec::with_capacity(SERIES * (BUCKETS as usize + 1));
    let indices: Vec<i64> = (FIRST_BUCKET..FIRST_BUCKET + BUCKETS).collect();
    let spans = spans_for_indices(&indices);
    for s in 0..SERIES {
        let instance = format!("i-{s:04}");
        let mut counts = vec![0u64; BUCKETS as usize];
        let mut histograms = Vec::with_capacity(SCRAPES as usize);
        let mut buckets: Vec<Vec<(i64, f64)>> =
            vec![Vec::with_capacity(SCRAPES as usize); BUCKETS as usize + 1];
        let mut sum = 0.0;
        for scrape in 0..SCRAPES {
            let t = scrape * SCRAPE_MS;
            for (b, c) in counts.iter_mut().enumerate() {
                let n = increment(s, b as i64 + FIRST_BUCKET, scrape);
                *c += n;
                sum += n as f64 * upper_bound(b as i64 + FIRST_BUCKET) * 0.9;
            }
            let count: u64 = counts.iter().sum();
            let absolute: Vec<i64> = counts.iter().map(|c| *c as i64).collect();
            let h = Histogram {
                schema: SCHEMA,
                zero_threshold: 2f64.powi(-128),
                count,
                sum,
                positive_spans: spans.clone(),
                positive_buckets: delta_counts(&absolute),
                ..Default::default()
            };
            histograms.push((t, HistogramValue::Integer(h)));
            let mut cumulative = 0u64;
            for (b, c) in counts.iter().enumerate() {
                cumulative += c;
                buckets[b].push((t, cumulative as f64));
            }
            buckets[BUCKETS as usize].push((t, count as f64));
        }
        let labels =
            Labels::from_pairs([("__name__", "request_duration_seconds"), ("instance", &instance)]).unwrap();
        native.push(BlockSeries { labels, samples: Vec::new(), histograms });
        for (b, samples) in buckets.into_iter().enumerate() {
            let le = if b == BUCKETS as usize {
                "+Inf".to_string()
            } else {
                upper_bound(b as i64 + FIRST_BUCKET).to_string()
            };
            let labels = Labels::from_pairs([
                ("__name__", "request_duration_seconds_bucket"),
                ("instance", instance.as_str()),
                ("le", le.as_str()),
            ])
            .unwrap();
            classic.push(BlockSeries { labels, samples, histograms: Vec::new() });
        }
    }
    (native, classic)
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (native, classic) = data();
    let histogram_samples = (SERIES as i64 * SCRAPES) as f64;
    let native_block = write_block(dir.path(), native).unwrap();
    let classic_block = write_block(dir.path(), classic).unwrap();
    eprintln!(
        "bytes per histogram sample: native {:.1} (chunks), {:.1} (chunks + index); classic {:.1}, {:.1} ({} buckets)",
        native_block.chunk_bytes as f64 / histogram_samples,
        (native_block.chunk_bytes + native_block.index_bytes) as f64 / histogram_samples,
        classic_block.chunk_bytes as f64 / histogram_samples,
        (classic_block.chunk_bytes + classic_block.index_bytes) as f64 / histogram_samples,
        BUCKETS + 1,
    );
    let store = BlockEngine::open(dir.path(), BlockEngineOptions::default()).unwrap();
    let engine = QueryEngine::default();
    let queries = [
        ("quantile-native-1k", "histogram_quantile(0.99, rate(request_duration_seconds[5m]))"),
        ("quantile-classic-1k", "histogram_quantile(0.99, rate(request_duration_seconds_bucket[5m]))"),
        ("quantile-of-sum-native", "histogram_quantile(0.99, sum(rate(request_duration_seconds[5m])))"),
        (
            "quantile-of-sum-classic",
            "histogram_quantile(0.99, sum by (le) (rate(request_duration_seconds_bucket[5m])))",
        ),
    ];
    let mut group = c.benchmark_group("native_histograms");
    group.sample_size(10);
    for (name, query) in queries {
        let first = engine.range(&store, query, RANGE).unwrap();
        assert!(!first.value.to_string().is_empty(), "{query} answers");
        group.throughput(Throughput::Elements(histogram_samples as u64));
        group.bench_function(name, |b| b.iter(|| engine.range(&store, query, RANGE).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
