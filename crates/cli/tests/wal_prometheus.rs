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

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn prometheus_binary() -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|p| p.join("prometheus")).find(|p| p.is_file()));
    if found.is_none() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            !ci,
            "prometheus (Debian package `prometheus`) is missing, and CI=true: interop tests must run"
        );
        eprintln!(
            "SKIPPED: prometheus is not installed (apt-get install prometheus); WAL interop not checked"
        );
    }
    found
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A real Prometheus on loopback, stopped (SIGTERM, then SIGKILL) when dropped.
struct Prometheus {
    child: Child,
    port: u16,
}

impl Prometheus {
    fn start(binary: &Path, data: &Path, scrape_self: bool) -> Prometheus {
        let port = free_port();
        let config = data.with_extension("yml");
        let scrape = if scrape_self {
            format!("scrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
        } else {
            "scrape_configs: []\n".to_string()
        };
        std::fs::write(
            &config,
            format!("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n{scrape}"),
        )
        .unwrap();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts");
        let p = Prometheus { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while get(p.port, "/-/ready").is_none_or(|(code, _)| code != 200) {
            assert!(Instant::now() < deadline, "prometheus did not become ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        p
    }

    fn query(&self, promql: &str, time: Option<f64>) -> serde_json::Value {
        let mut path = format!("/api/v1/query?query={}", encode(promql));
        if let Some(t) = time {
            path.push_str(&format!("&time={t:.3}"));
        }
        let (code, body) = get(self.port, &path).expect("query answered");
        assert_eq!(code, 200, "{promql}: {body}");
        serde_json::from_str(&body).expect("JSON")
    }

    /// The single scalar of a one-element vector result.
    fn value(&self, promql: &str, time: Option<f64>) -> f64 {
        let v = self.query(promql, time);
        let result = &v["data"]["result"];
        assert_eq!(result.as_array().map(Vec::len), Some(1), "{promql}: {v}");
        result[0]["value"][1].as_str().unwrap().parse().unwrap()
    }

    fn stop(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.wait();
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A minimal HTTP/1.0 GET: (status, body).
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let code = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Some((code, body))
}

fn strata(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_strata")).args(args).output().expect("strata runs")
}

#[test]
fn strata_recovers_the_samples_a_real_prometheus_wrote() {
    let Some(binary) = prometheus_binary() else { return };
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
    let Some(binary) = prometheus_binary() else { return };
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
