//! The report's layout, pinned by a golden file (`tests/golden/report.txt`; regenerate with
//! `UPDATE_GOLDEN=1 cargo test -p strata-cardinality --test report_golden` and review the
//! diff), and its JSON round trip (the CLI prints what the server sends).

use strata_cardinality::report::{build, text, LimitReport, Report, ReportInput};
use strata_cardinality::{forecast, GrowthPoint, WriteRate};

const HOUR: i64 = 3_600_000;

fn rate(key: &str, samples_per_second: f64) -> WriteRate {
    WriteRate { key: key.into(), samples_per_second, overestimate_per_second: 0.0 }
}

fn input() -> ReportInput {
    let history: Vec<GrowthPoint> = (0..48)
        .map(|h| GrowthPoint {
            hour: 1_764_547_200_000 + h * HOUR,
            series: 100_000 + 500 * h as u64,
            created: 500,
        })
        .collect();
    ReportInput {
        now: 1_764_720_000_000,
        total_series: 123_500,
        metrics: vec![
            ("http_requests_total".into(), 60_000),
            ("api_latency_seconds_bucket".into(), 40_000),
            ("up".into(), 500),
            ("node_cpu_seconds_total".into(), 23_000),
        ],
        labels: vec![
            ("http_requests_total".into(), "user_id".into(), 45_000, true),
            ("http_requests_total".into(), "code".into(), 6, false),
            ("api_latency_seconds_bucket".into(), "path".into(), 2_500, false),
            ("api_latency_seconds_bucket".into(), "pod".into(), 1_200, true),
            ("node_cpu_seconds_total".into(), "cpu".into(), 64, false),
        ],
        top_writers: vec![
            rate("http_requests_total", 12_000.0),
            rate("node_cpu_seconds_total", 1_533.3),
            rate("api_latency_seconds_bucket", 640.0),
            rate("up", 8.5),
        ],
        busiest_series: vec![rate("http_requests_total{code=\"200\",user_id=\"u1\"}", 128.0)],
        limits: vec![
            LimitReport {
                limit: "max-series".into(),
                max: 150_000,
                current: 123_500,
                state: "ok".into(),
                rejected_last_hour: 0,
                rejected_total: 0,
            },
            LimitReport {
                limit: "http_requests_total".into(),
                max: 60_000,
                current: 60_000,
                state: "reached".into(),
                rejected_last_hour: 1_234,
                rejected_total: 98_765,
            },
        ],
        growth_per_hour: 500.0,
        forecast: forecast(&history, 30),
        bytes_per_series: 4_096.0,
        memory_budget: Some(1 << 30),
    }
}

#[test]
fn the_report_reads_as_the_golden_file() {
    let report = build(&input(), 3);
    let got = text(&report);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/report.txt");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap();
    assert_eq!(got, want, "the report's layout changed; regenerate and review");
    let json = serde_json::to_string(&report).unwrap();
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
}
