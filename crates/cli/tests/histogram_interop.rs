//! Native histograms end to end against a real Prometheus 2.42 (Debian package
//! `prometheus`, `--enable-feature=native-histograms`): it scrapes a protobuf target serving
//! native histograms whose layout grows ([`HistogramTarget`]) and remote-writes them to
//! `strata server` (`send_native_histograms`); the same histogram queries — the raw
//! histogram, `histogram_count`, `histogram_sum`, `histogram_avg`, `histogram_quantile`,
//! `histogram_fraction` — give the same answers from both, in Prometheus' JSON.
//!
//! Skipped (loudly) without `prometheus` on PATH, except under `CI=true`.

use std::path::Path;
use std::time::{Duration, Instant};

use strata_testkit::{peer_binary, HistogramTarget, Prometheus, StrataServer};

fn now_seconds() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64()
}

/// The result rows of an instant query, each as JSON text, sorted.
fn rows(answer: &serde_json::Value) -> Vec<String> {
    let mut rows: Vec<String> = answer["data"]["result"]
        .as_array()
        .unwrap_or_else(|| panic!("not a vector: {answer}"))
        .iter()
        .map(|r| r.to_string())
        .collect();
    rows.sort();
    rows
}

#[test]
fn prometheus_remote_writes_native_histograms_and_both_answer_alike() {
    let Some(prometheus) = peer_binary("prometheus", "prometheus") else { return };
    let dir = tempfile::tempdir().unwrap();
    let server =
        StrataServer::start(Path::new(env!("CARGO_BIN_EXE_strata")), &dir.path().join("strata"), &[]);
    let target = HistogramTarget::start();
    let (strata_port, target_port) = (server.port, target.port);
    let prom = Prometheus::start_configured(
        &prometheus,
        &dir.path().join("prometheus"),
        &["--enable-feature=native-histograms"],
        |_| {
            format!(
                "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: histograms\n    static_configs:\n      - targets: ['127.0.0.1:{target_port}']\nremote_write:\n  - url: http://127.0.0.1:{strata_port}/api/v1/write\n    send_native_histograms: true\n    queue_config:\n      batch_send_deadline: 1s\n"
            )
        },
    );
    // Wait until Strata has the histogram of the fifth scrape or later (the layout grew at
    // the fourth).
    let deadline = Instant::now() + Duration::from_secs(90);
    let newest = loop {
        let answer = server.query("timestamp(test_latency_seconds)", now_seconds());
        let count = server.query("histogram_count(test_latency_seconds)", now_seconds());
        let scraped = count["data"]["result"][0]["value"][1].as_str().and_then(|v| v.parse::<f64>().ok());
        // counter_histogram(n) counts 5n observations (4n before bucket 5 joins at n = 4).
        if scraped.is_some_and(|c| c >= 5.0 * 5.0 - 2.0) {
            break answer["data"]["result"][0]["value"][1].as_str().unwrap().parse::<f64>().unwrap();
        }
        assert!(Instant::now() < deadline, "Strata never got five scrapes: {count}");
        std::thread::sleep(Duration::from_millis(250));
    };
    // An instant both have all samples for.
    let t = newest + 0.5;
    for query in [
        "test_latency_seconds",
        "histogram_count(test_latency_seconds)",
        "histogram_sum(test_latency_seconds)",
        "histogram_count(test_latency_seconds) * 2",
    ] {
        let ours = server.query(query, t);
        let theirs = prom.query(query, Some(t));
        assert_eq!(ours["status"], "success", "{query}: {ours}");
        assert!(!rows(&ours).is_empty(), "{query}: no result from Strata");
        assert_eq!(rows(&ours), rows(&theirs), "{query}: Strata and Prometheus differ");
    }
    prom.stop();
}
