//! The same queries over the same data give the same answers in Strata and in a real
//! Prometheus (Debian's 2.42, started on a copy of the data dir Strata wrote).
//!
//! Prometheus 2.x closes range and lookback windows on the left where 3.x (Strata's target)
//! leaves them open; the data's timestamps are jittered off the step grid so that no sample
//! sits exactly on a window's edge, where the two would differ. Values are compared with a
//! relative 1e-9 tolerance (float sums may associate differently).

use std::path::Path;

use strata_model::Labels;
use strata_promql::{QueryEngine, Range, Value};
use strata_storage::{BlockEngine, BlockEngineOptions, Engine};
use strata_testkit::{peer_binary, Prometheus};

const SCRAPE_MS: i64 = 15_000;
const SCRAPES: i64 = 480; // 2 h

const QUERIES: &[&str] = &[
    "requests_total",
    "rate(requests_total[1m])",
    "irate(requests_total[2m])",
    "increase(requests_total[5m])",
    "delta(temperature[5m])",
    "deriv(temperature[10m])",
    "predict_linear(temperature[10m], 600)",
    "sum by (job) (rate(requests_total[5m]))",
    "avg without (instance) (temperature)",
    "max by (job) (temperature) - min by (job) (temperature)",
    "count(temperature > 20)",
    "topk(3, temperature)",
    "bottomk(2, rate(requests_total[5m]))",
    "quantile by (job) (0.9, temperature)",
    "stddev(temperature)",
    "stdvar by (job) (temperature)",
    "rate(requests_total[5m]) / on(instance, job) group_left temperature",
    "temperature > bool 20",
    "temperature and on(instance) requests_total > 500",
    "temperature or requests_total",
    "requests_total unless on(job) temperature{job=\"api\"}",
    "avg_over_time(temperature[10m])",
    "min_over_time(temperature[10m]) + max_over_time(temperature[10m])",
    "sum_over_time(temperature[3m])",
    "count_over_time(requests_total[7m])",
    "quantile_over_time(0.5, temperature[10m])",
    "stddev_over_time(temperature[10m])",
    "last_over_time(temperature[2m])",
    "changes(temperature[10m])",
    "resets(requests_total[30m])",
    "abs(temperature - 20)",
    "clamp(temperature, 15, 25)",
    "round(temperature, 0.5)",
    "ln(requests_total + 1)",
    "timestamp(temperature)",
    "time() - timestamp(requests_total)",
    "label_replace(temperature, \"host\", \"h-$1\", \"instance\", \"host-(.*)\")",
    "label_join(temperature, \"id\", \"/\", \"job\", \"instance\")",
    "absent(nonexistent{job=\"x\"})",
    "histogram_quantile(0.9, sum by (le) (rate(latency_seconds_bucket[5m])))",
    "histogram_quantile(0.5, rate(latency_seconds_bucket[5m]))",
    "sum(requests_total offset 10m)",
    "vector(1) + scalar(sum(temperature))",
    "sort_desc(temperature)",
    "count_values(\"bucket\", round(temperature))",
];

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// 10 counters, 10 gauges and a 6-bucket histogram, scraped every 15 s with a per-series
/// jitter of 1–999 ms.
fn data(start: i64) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let mut out = Vec::new();
    for i in 0..10i64 {
        let job = if i % 2 == 0 { "api" } else { "db" };
        let instance = format!("host-{i}");
        let jitter = 1 + i * 97;
        let counter =
            Labels::from_pairs([("__name__", "requests_total"), ("job", job), ("instance", &instance)])
                .unwrap();
        let mut value = 0.0;
        let samples = (0..SCRAPES)
            .map(|s| {
                // The per-series fraction keeps rates apart: topk/bottomk ties are broken by
                // input order, which is the engine's own business.
                value += ((s * 7 + i * 3) % 11) as f64 + i as f64 * 0.013;
                if s == 200 + i * 10 {
                    value = 3.0; // a counter reset
                }
                (start + s * SCRAPE_MS + jitter, value)
            })
            .collect();
        out.push((counter, samples));
        let gauge =
            Labels::from_pairs([("__name__", "temperature"), ("job", job), ("instance", &instance)]).unwrap();
        let samples = (0..SCRAPES)
            .map(|s| {
                (
                    start + s * SCRAPE_MS + jitter + 5,
                    20.0 + ((s + i * 13) as f64 * 0.37).sin() * 6.0 + i as f64 * 0.1,
                )
            })
            .collect();
        out.push((gauge, samples));
    }
    for (b, le) in ["0.05", "0.1", "0.25", "0.5", "1", "+Inf"].iter().enumerate() {
        for i in 0..3i64 {
            let labels = Labels::from_pairs([
                ("__name__", "latency_seconds_bucket"),
                ("instance", &format!("host-{i}")),
                ("le", le),
            ])
            .unwrap();
            let share = [0.2, 0.45, 0.7, 0.85, 0.95, 1.0][b];
            let samples = (0..SCRAPES)
                .map(|s| (start + s * SCRAPE_MS + 11 + i, ((s * (10 + i)) as f64 * share).floor()))
                .collect();
            out.push((labels, samples));
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != "lock" {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

#[test]
fn strata_and_prometheus_answer_the_same_queries_alike() {
    let Some(prometheus) = peer_binary("prometheus", "prometheus") else { return };
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let start = (now_ms() - SCRAPES * SCRAPE_MS - 120_000) / 60_000 * 60_000;
    let input = data(start);
    let engine = BlockEngine::open(&data_dir, BlockEngineOptions::default()).unwrap();
    for s in 0..SCRAPES as usize {
        let batch: Vec<(Labels, i64, f64)> =
            input.iter().map(|(l, samples)| (l.clone(), samples[s].0, samples[s].1)).collect();
        assert_eq!(engine.append(&batch).unwrap().accepted, input.len());
    }
    engine.flush().unwrap();
    let copy = dir.path().join("copy");
    copy_dir(&data_dir, &copy);
    let server = Prometheus::start(&prometheus, &copy, false);

    let queries = QueryEngine::default();
    // Steps on the minute, 15 min into the data, for 90 min.
    let range = Range { start: start + 15 * 60_000, end: start + 105 * 60_000, step: 60_000 };
    let mut mismatches = Vec::new();
    for query in QUERIES {
        let want = server.query_range(query, range.start, range.end, range.step);
        let got = match queries.range(&engine, query, range) {
            Ok(r) => r.value,
            Err(e) => {
                mismatches.push(format!("{query}: Strata failed: {e}"));
                continue;
            }
        };
        let Value::Matrix(got) = got else { panic!("{query}: a range query gives a matrix") };
        assert!(!want.is_empty() || query.starts_with("absent"), "{query}: Prometheus returned nothing");
        if got.len() != want.len() {
            mismatches.push(format!(
                "{query}: {} series from Strata, {} from Prometheus",
                got.len(),
                want.len()
            ));
            continue;
        }
        for (g, (labels, points)) in got.iter().zip(&want) {
            let same = g.labels == *labels
                && g.points.len() == points.len()
                && g.points.iter().zip(points).all(|(a, b)| a.0 == b.0 && close(a.1, b.1));
            if !same {
                let first = g.points.iter().zip(points).find(|(a, b)| a.0 != b.0 || !close(a.1, b.1));
                mismatches.push(format!(
                    "{query}: {} ({} points) vs Prometheus {labels} ({} points); first difference {first:?}",
                    g.labels,
                    g.points.len(),
                    points.len()
                ));
                break;
            }
        }
    }
    server.stop();
    assert!(
        mismatches.is_empty(),
        "{} of {} queries differ:\n{}",
        mismatches.len(),
        QUERIES.len(),
        mismatches.join("\n")
    );
}
