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

/// A Prometheus with native histograms on, scraping 127.0.0.1:`target_port` every second as
/// job `job`, with `more` YAML after its scrape config.
fn scraping_prometheus(binary: &Path, dir: &Path, job: &str, target_port: u16, more: &str) -> Prometheus {
    Prometheus::start_configured(
        binary,
        &dir.join("prometheus"),
        &["--enable-feature=native-histograms"],
        |_| {
            format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: {job}\n    static_configs:\n      - targets: ['127.0.0.1:{target_port}']\n{more}"
        )
        },
    )
}

#[test]
fn prometheus_remote_writes_native_histograms_and_both_answer_alike() {
    let Some(prometheus) = peer_binary("prometheus", "prometheus") else { return };
    let dir = tempfile::tempdir().unwrap();
    let server =
        StrataServer::start(Path::new(env!("CARGO_BIN_EXE_strata")), &dir.path().join("strata"), &[]);
    let target = HistogramTarget::start();
    let (strata_port, target_port) = (server.port, target.port);
    let remote_write = format!(
        "remote_write:\n  - url: http://127.0.0.1:{strata_port}/api/v1/write\n    send_native_histograms: true\n    queue_config:\n      batch_send_deadline: 1s\n"
    );
    let prom = scraping_prometheus(&prometheus, dir.path(), "histograms", target_port, &remote_write);
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

/// One exposition holding every metric type — Prometheus' own `/metrics` as it serves it
/// in protobuf, plus families it does not have: a native histogram with classic buckets
/// beside it, an empty native histogram, a classic histogram without a `+Inf` bucket, a
/// summary, an untyped metric.
fn rich_exposition(own_metrics: &[u8]) -> Vec<u8> {
    use prost::Message;
    use strata_ingest::protobuf_exposition::*;
    let labels = |pairs: &[(&str, &str)]| -> Vec<LabelPair> {
        pairs
            .iter()
            .map(|(n, v)| LabelPair { name: Some(n.to_string()), value: Some(v.to_string()) })
            .collect()
    };
    let span = |offset, length| BucketSpan { offset: Some(offset), length: Some(length) };
    let bucket =
        |le: f64, c: u64| Bucket { cumulative_count: Some(c), upper_bound: Some(le), ..Default::default() };
    let native = ProtoHistogram {
        sample_count: Some(11),
        sample_sum: Some(17.25),
        bucket: vec![bucket(0.5, 2), bucket(1.0, 4), bucket(10.0, 8)],
        schema: Some(2),
        zero_threshold: Some(1e-9),
        zero_count: Some(1),
        positive_span: vec![span(-1, 2), span(3, 1)],
        positive_delta: vec![2, 1, -1],
        negative_span: vec![span(0, 1)],
        negative_delta: vec![3],
        ..Default::default()
    };
    let empty_native = ProtoHistogram {
        sample_count: Some(0),
        schema: Some(0),
        positive_span: vec![span(0, 0)],
        ..Default::default()
    };
    let classic = ProtoHistogram {
        sample_count: Some(6),
        sample_sum: Some(2.5),
        bucket: vec![bucket(0.05, 1), bucket(0.1, 3), bucket(100000.0, 5)],
        ..Default::default()
    };
    let summary = Summary {
        sample_count: Some(4),
        sample_sum: Some(1.5),
        quantile: vec![
            Quantile { quantile: Some(0.5), value: Some(0.25) },
            Quantile { quantile: Some(0.99), value: Some(0.75) },
            Quantile { quantile: Some(1.0), value: Some(1.0) },
        ],
    };
    let family = |name: &str, kind: i32, metric: Vec<Metric>| MetricFamily {
        name: Some(name.into()),
        help: Some(format!("{name} for the import interop test")),
        kind: Some(kind),
        metric,
        unit: None,
    };
    let families = [
        family(
            "imported_latency_seconds",
            4,
            vec![
                Metric { label: labels(&[("path", "/a")]), histogram: Some(native), ..Default::default() },
                Metric {
                    label: labels(&[("path", "/b")]),
                    histogram: Some(empty_native),
                    ..Default::default()
                },
            ],
        ),
        family(
            "imported_classic_seconds",
            4,
            vec![Metric { histogram: Some(classic), ..Default::default() }],
        ),
        family("imported_rpc_seconds", 2, vec![Metric { summary: Some(summary), ..Default::default() }]),
        family(
            "imported_mystery",
            3,
            vec![Metric { untyped: Some(Value { value: Some(-0.5) }), ..Default::default() }],
        ),
    ];
    let mut body = own_metrics.to_vec();
    for f in &families {
        f.encode_length_delimited(&mut body).unwrap();
    }
    body
}

/// A JSON answer's vector rows with the labels Prometheus' scrape adds taken out, sorted.
fn rows_without(answer: &serde_json::Value, drop: &[&str]) -> Vec<serde_json::Value> {
    let mut rows: Vec<serde_json::Value> = answer["data"]["result"]
        .as_array()
        .unwrap_or_else(|| panic!("not a vector: {answer}"))
        .iter()
        .cloned()
        .map(|mut row| {
            let metric = row["metric"].as_object_mut().unwrap();
            drop.iter().for_each(|l| {
                metric.remove(*l);
            });
            row
        })
        .collect();
    rows.sort_by_key(|r| r.to_string());
    rows
}

const PROTOBUF_ACCEPT: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

#[test]
fn a_protobuf_exposition_imports_as_prometheus_scrapes_it() {
    let Some(prometheus) = peer_binary("prometheus", "prometheus") else { return };
    let dir = tempfile::tempdir().unwrap();
    // Prometheus' own /metrics in the protobuf exposition: real bytes from a real producer.
    let first = Prometheus::start(&prometheus, &dir.path().join("first"), false);
    let own = strata_testkit::request(first.port, "GET", "/metrics", &[("Accept", PROTOBUF_ACCEPT)], b"")
        .expect("prometheus serves /metrics");
    assert_eq!(
        own.header("content-type").map(|c| c.starts_with("application/vnd.google.protobuf")),
        Some(true)
    );
    first.stop();
    let body = rich_exposition(&own.body);

    // A second Prometheus scrapes that exposition, unchanged, every second.
    let target = HistogramTarget::serving(body.clone());
    let target_port = target.port;
    let prom = scraping_prometheus(&prometheus, dir.path(), "exposed", target_port, "");
    // Strata imports the same bytes.
    let server =
        StrataServer::start(Path::new(env!("CARGO_BIN_EXE_strata")), &dir.path().join("strata"), &[]);
    let answer = server.post("/api/v1/import/prometheus", PROTOBUF_ACCEPT, &body);
    assert_eq!(answer.code, 204, "{}", answer.text());
    let deadline = Instant::now() + Duration::from_secs(60);
    while target.scrapes() < 2 {
        assert!(Instant::now() < deadline, "Prometheus never scraped the exposition");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(500)); // the scrape is appended after the answer
    let t = now_seconds();
    // Every series Prometheus made of the scrape but its own per-target ones (`up`,
    // `scrape_*`), against every series Strata made of the import.
    let theirs = rows_without(
        &prom.query(r#"{job="exposed", __name__!~"up|scrape_.*"}"#, Some(t)),
        &["job", "instance"],
    );
    let ours = rows_without(&server.query(r#"{__name__=~".+"}"#, t), &[]);
    assert!(theirs.len() > 100, "Prometheus' own metrics are many: {}", theirs.len());
    let names = |rows: &[serde_json::Value]| -> Vec<String> {
        rows.iter().map(|r| r["metric"].to_string()).collect()
    };
    assert_eq!(names(&ours), names(&theirs), "the same series");
    for (a, b) in ours.iter().zip(&theirs) {
        let value = |r: &serde_json::Value| {
            if r["histogram"].is_null() {
                r["value"][1].clone()
            } else {
                r["histogram"][1].clone()
            }
        };
        assert_eq!(value(a), value(b), "{}", a["metric"]);
    }
    let native = ours.iter().filter(|r| !r["histogram"].is_null()).count();
    assert_eq!(native, 2, "both native histograms came in as native: {ours:?}");
    prom.stop();
}
