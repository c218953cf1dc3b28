//! Native-histogram chunks written by the real Prometheus (Debian package `prometheus`,
//! 2.42, `--enable-feature=native-histograms`) decode in Strata to exactly what was
//! scraped, and float histograms from its recording rules to exactly what its API answers.
//!
//! Prometheus scrapes [`HistogramTarget`] (protobuf exposition: a counter histogram whose
//! layout grows mid-chunk) and records `2 * ` the counter, a float histogram (not `rate()`:
//! 2.42 stores rates but then fails to write them into a block, "detected unexpected
//! counter reset in histogram", since their counts go down); a snapshot (admin API) writes its head as a block, which Strata's
//! block reader opens and whose encoding-2 and encoding-3 chunks Strata's codecs decode.
//!
//! Skipped (loudly) without `prometheus` on PATH, except under `CI=true`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use strata_codec::histogram::{CounterResetHeader, FloatHistogramChunkIter, HistogramChunkIter};
use strata_model::histogram::{absolute_counts, bucket_indices, Histogram, Span};
use strata_storage::block::BlockReader;
use strata_testkit::histogram_target::counter_histogram;
use strata_testkit::{peer_binary, post, HistogramTarget, Prometheus};

/// What a histogram means whatever its layout: zero-count buckets dropped (Prometheus
/// recodes earlier samples of a chunk with the buckets later ones added, as zeros).
#[derive(Debug, PartialEq)]
struct Meaning {
    schema: i32,
    zero_threshold: u64,
    count: u64,
    zero_count: u64,
    sum: u64,
    positive: BTreeMap<i64, i64>,
    negative: BTreeMap<i64, i64>,
}

fn nonzero(spans: &[Span], deltas: &[i64]) -> BTreeMap<i64, i64> {
    bucket_indices(spans).zip(absolute_counts(deltas)).filter(|(_, c)| *c != 0).collect()
}

fn meaning(h: &Histogram) -> Meaning {
    Meaning {
        schema: h.schema,
        zero_threshold: h.zero_threshold.to_bits(),
        count: h.count,
        zero_count: h.zero_count,
        sum: h.sum.to_bits(),
        positive: nonzero(&h.positive_spans, &h.positive_buckets),
        negative: nonzero(&h.negative_spans, &h.negative_buckets),
    }
}

/// Every chunk of the series named `name` in the blocks under `dir`: (encoding, bytes).
fn chunks_of(dir: &std::path::Path, name: &str) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let block = BlockReader::open(&entry.unwrap().path()).expect("prometheus' snapshot block opens");
        for r in block.series_refs().unwrap() {
            let (labels, chunks) = block.series(r).unwrap();
            if labels.get("__name__") == Some(name) {
                for c in chunks {
                    let (encoding, bytes) = block.raw_chunk(c.chunk_ref).unwrap();
                    out.push((encoding, bytes.to_vec()));
                }
            }
        }
    }
    out
}

fn integer_samples(chunks: &[(u8, Vec<u8>)]) -> Vec<(i64, Histogram, CounterResetHeader)> {
    let mut out = Vec::new();
    for (encoding, bytes) in chunks {
        assert_eq!(*encoding, 2, "scraped native histograms are integer histogram chunks");
        let iter = HistogramChunkIter::new(bytes).unwrap();
        let header = iter.header();
        for sample in iter {
            let (t, h) = sample.expect("prometheus' histogram chunk decodes");
            out.push((t, h, header));
        }
    }
    out
}

#[test]
fn strata_decodes_the_histogram_chunks_a_real_prometheus_wrote() {
    let Some(binary) = peer_binary("prometheus", "prometheus") else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let target = HistogramTarget::start();
    let rules = dir.path().join("rules.yml");
    std::fs::write(
        &rules,
        "groups:\n  - name: histograms\n    interval: 1s\n    rules:\n      - record: test:latency:doubled\n        expr: test_latency_seconds * 2\n",
    )
    .unwrap();
    let target_port = target.port;
    let prometheus = Prometheus::start_configured(
        &binary,
        &data,
        &["--enable-feature=native-histograms", "--web.enable-admin-api"],
        |_| {
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: ['{}']\nscrape_configs:\n  - job_name: histograms\n    static_configs:\n      - targets: ['127.0.0.1:{target_port}']\n",
                rules.display()
            )
        },
    );
    let deadline = Instant::now() + Duration::from_secs(90);
    while target.scrapes() < 10 {
        assert!(Instant::now() < deadline, "prometheus scraped the target only {} times", target.scrapes());
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2)); // a few rule evaluations after the scrapes

    let answer = post(prometheus.port, "/api/v1/admin/tsdb/snapshot", "application/json", b"")
        .expect("snapshot answers");
    let json: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    let name = json["data"]["name"].as_str().unwrap_or_else(|| panic!("snapshot failed: {json}"));
    let snapshot = data.join("snapshots").join(name);

    // The counter histogram: every stored sample is one the target served, in order.
    let latency = integer_samples(&chunks_of(&snapshot, "test_latency_seconds"));
    assert!(latency.len() >= 8, "only {} latency samples stored", latency.len());
    let mut last_n = 0;
    for (t, h, header) in &latency {
        assert_ne!(*header, CounterResetHeader::Gauge);
        let n =
            (1..=target.scrapes()).find(|n| counter_histogram(*n).count == h.count).expect("a served count");
        assert!(n > last_n, "scrapes stored in order");
        assert_eq!(meaning(h), meaning(&counter_histogram(n)), "sample at {t} is scrape {n}");
        last_n = n;
    }
    assert!(last_n > 4, "the layout grew (bucket 5) within the stored samples");

    // The recorded histogram: float histogram chunks whose count, sum and bucket counts
    // are what the API says.
    let recorded_chunks = chunks_of(&snapshot, "test:latency:doubled");
    assert!(!recorded_chunks.is_empty(), "the recording rule stored samples");
    let mut checked = 0;
    for (encoding, bytes) in &recorded_chunks {
        assert_eq!(*encoding, 3, "recorded histograms are float histogram chunks");
        for sample in FloatHistogramChunkIter::new(bytes).unwrap() {
            let (t, h) = sample.expect("prometheus' float histogram chunk decodes");
            let api = prometheus.query("test:latency:doubled", Some(t as f64 / 1000.0));
            let served = &api["data"]["result"][0]["histogram"][1];
            let count: f64 = served["count"].as_str().unwrap().parse().unwrap();
            let sum: f64 = served["sum"].as_str().unwrap().parse().unwrap();
            assert_eq!((h.count, h.sum), (count, sum), "recorded sample at {t}: {api}");
            let mut api_buckets: Vec<f64> = served["buckets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b[3].as_str().unwrap().parse().unwrap())
                .collect();
            let mut ours: Vec<f64> = h.positive_buckets.iter().chain(&h.negative_buckets).copied().collect();
            ours.push(h.zero_count);
            ours.retain(|c| *c != 0.0);
            api_buckets.sort_by(f64::total_cmp);
            ours.sort_by(f64::total_cmp);
            assert_eq!(ours, api_buckets, "bucket counts of the recorded sample at {t}");
            checked += 1;
        }
    }
    assert!(checked >= 3, "only {checked} recorded samples");
    prometheus.stop();
}
