//! Interop of the WAL with the real Prometheus (Debian package `prometheus`, 2.42), both
//! ways:
//! 1. a real Prometheus scrapes itself for a few seconds and stops; `strata wal recover`
//!    counts the samples in its `wal/` — exactly as many as Prometheus' own API returns
//!    when it is started again (without scraping) on that data dir;
//! 2. `strata wal demo` writes a data dir whose head only the WAL holds; a real Prometheus
//!    started on it serves every sample, with the right values.
//!
//! Skipped (loudly) without `prometheus` on PATH, except under `CI=true`, where a missing
//! peer fails the test.

use std::process::Command;
use std::time::{Duration, Instant};

use strata_testkit::{peer_binary, Prometheus};

fn strata(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_strata")).args(args).output().expect("strata runs")
}

#[test]
fn strata_recovers_the_samples_a_real_prometheus_wrote() {
    let Some(binary) = peer_binary("prometheus", "prometheus") else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let scraping = Prometheus::start(&binary, &data, true);
    // Let it scrape itself a few times.
    let deadline = Instant::now() + Duration::from_secs(60);
    while scraping.query("prometheus_tsdb_head_samples_appended_total", None)["data"]["result"]
        .as_array()
        .is_none_or(Vec::is_empty)
        || scraping.value("count(count_over_time(up[1h]))", None) < 1.0
        || scraping.value("count_over_time(up[1h])", None) < 5.0
    {
        assert!(Instant::now() < deadline, "prometheus did not scrape");
        std::thread::sleep(Duration::from_millis(500));
    }
    scraping.stop();

    // What Prometheus itself serves from that WAL, with nothing new coming in.
    let serving = Prometheus::start(&binary, &data, false);
    // Every sample Prometheus serves: the raw range vector, counted here.
    let all = serving.query("{__name__=~\".+\"}[1d]", None);
    let api_count: u64 = all["data"]["result"]
        .as_array()
        .expect("a matrix")
        .iter()
        .map(|series| series["values"].as_array().map_or(0, Vec::len) as u64)
        .sum();
    serving.stop();

    let out = strata(&["wal", "recover", "--json", "--dir", data.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let recovered = report["recovered_points"].as_u64().unwrap();
    eprintln!(
        "prometheus serves {api_count} samples; strata recovered {recovered} (+{} staleness markers)",
        report["stale_markers"]
    );
    assert!(api_count > 1000, "prometheus wrote something worth checking ({api_count})");
    assert_eq!(
        recovered, api_count,
        "strata recovered {recovered} samples, Prometheus serves {api_count}: {report}"
    );
}

#[test]
fn a_real_prometheus_serves_a_head_that_only_strata_wrote() {
    let Some(binary) = peer_binary("prometheus", "prometheus") else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let start = (now - 120_000) / 1000 * 1000;
    let out = strata(&[
        "wal",
        "demo",
        "--dir",
        data.to_str().unwrap(),
        "--points",
        "50000",
        "--writers",
        "1",
        "--fsync",
        "sync",
        "--start",
        &start.to_string(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let prometheus = Prometheus::start(&binary, &data, false);
    assert_eq!(prometheus.value("count(count_over_time(strata_demo[1h]))", None), 10_000.0);
    assert_eq!(prometheus.value("sum(count_over_time(strata_demo[1h]))", None), 50_000.0);
    // Sample i = 41 + 2·10000 is series 42 at start + 2 s, with value i.
    let at = (start + 2000) as f64 / 1000.0;
    assert_eq!(prometheus.value("strata_demo{series=\"42\"}", Some(at)), 20_041.0);
    prometheus.stop();
}
