//! The native-histogram records a real Prometheus (Debian package `prometheus`, 2.42,
//! `--enable-feature=native-histograms`) writes to its WAL decode in Strata to exactly the
//! histograms it scraped: a protobuf target ([`HistogramTarget`]) serves a histogram per
//! scrape, Prometheus stops, and Strata replays `wal/`.
//!
//! Skipped (loudly) without `prometheus` on PATH, except under `CI=true`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use strata_testkit::histogram_target::counter_histogram;
use strata_testkit::{peer_binary, HistogramTarget, Prometheus};
use strata_wal::{replay, Record, ReplayOptions};

#[test]
fn strata_replays_the_histogram_records_a_real_prometheus_wrote() {
    let Some(binary) = peer_binary("prometheus", "prometheus") else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let target = HistogramTarget::start();
    let port = target.port;
    let prometheus = Prometheus::start_configured(
        &binary,
        &data,
        &["--enable-feature=native-histograms"],
        |_| {
            format!("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: histograms\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
        },
    );
    let deadline = Instant::now() + Duration::from_secs(90);
    while target.scrapes() < 6 {
        assert!(Instant::now() < deadline, "prometheus scraped the target only {} times", target.scrapes());
        std::thread::sleep(Duration::from_millis(200));
    }
    prometheus.stop();

    let mut names = HashMap::new();
    let mut histograms = Vec::new();
    replay(&data.join("wal"), ReplayOptions::default(), |record| match record {
        Record::Series(list) => {
            for s in list {
                names.insert(s.series_ref, s.labels.get("__name__").unwrap_or_default().to_string());
            }
        }
        Record::Histograms(list) => histograms.extend(list),
        _ => {}
    })
    .expect("prometheus' WAL replays");

    let latency: Vec<_> = histograms
        .iter()
        .filter(|h| names.get(&h.series_ref).map(String::as_str) == Some("test_latency_seconds"))
        .collect();
    assert!(latency.len() >= 5, "only {} histogram samples in the WAL", latency.len());
    let mut last_t = i64::MIN;
    for (i, sample) in latency.iter().enumerate() {
        let mut want = counter_histogram(i as u64 + 1);
        want.counter_reset_hint = sample.h.counter_reset_hint; // the hint is Prometheus' to set
        assert_eq!(sample.h, want, "WAL histogram {i} is scrape {}", i + 1);
        assert!(sample.t > last_t, "timestamps increase");
        last_t = sample.t;
    }
}
