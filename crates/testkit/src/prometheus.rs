//! A real Prometheus on loopback, for interop tests.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use strata_model::Labels;

use crate::{free_port, get, url_encode};

/// A running Prometheus; stopped (SIGTERM, then SIGKILL) by [`Prometheus::stop`] or drop.
#[derive(Debug)]
pub struct Prometheus {
    child: Child,
    /// Its HTTP port on 127.0.0.1.
    pub port: u16,
}

impl Prometheus {
    /// Starts `binary` on data dir `data` with a 1 s scrape interval, scraping itself when
    /// `scrape_self`, and waits until `/-/ready` answers 200.
    pub fn start(binary: &Path, data: &Path, scrape_self: bool) -> Prometheus {
        Prometheus::start_with(binary, data, scrape_self, &[])
    }

    /// [`Prometheus::start`] with more command-line flags.
    pub fn start_with(binary: &Path, data: &Path, scrape_self: bool, flags: &[&str]) -> Prometheus {
        Prometheus::start_configured(binary, data, flags, |port| {
            let scrape = if scrape_self {
                format!("scrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
            } else {
                "scrape_configs: []\n".to_string()
            };
            format!("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n{scrape}")
        })
    }

    /// Starts `binary` with the YAML config `config(port)` makes for the port it will listen
    /// on, and waits until `/-/ready` answers 200.
    pub fn start_configured(
        binary: &Path,
        data: &Path,
        flags: &[&str],
        config_for: impl FnOnce(u16) -> String,
    ) -> Prometheus {
        let port = free_port();
        let config = data.with_extension("yml");
        std::fs::write(&config, config_for(port)).expect("writing the prometheus config");
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .args(flags)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts");
        let prometheus = Prometheus { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while get(port, "/-/ready").is_none_or(|(code, _)| code != 200) {
            assert!(Instant::now() < deadline, "prometheus did not become ready within 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        prometheus
    }

    /// `/api/v1/query` of `promql` (at `time` in seconds, or now); the whole JSON answer.
    pub fn query(&self, promql: &str, time: Option<f64>) -> serde_json::Value {
        let mut path = format!("/api/v1/query?query={}", url_encode(promql));
        if let Some(t) = time {
            path.push_str(&format!("&time={t:.3}"));
        }
        let (code, body) = get(self.port, &path).expect("prometheus answers queries");
        assert_eq!(code, 200, "{promql}: {body}");
        serde_json::from_str(&body).expect("prometheus answers JSON")
    }

    /// `/api/v1/query_range` of `promql` over `[start, end]` every `step` (all in ms), as
    /// [`matrix`] reads it.
    pub fn query_range(&self, promql: &str, start: i64, end: i64, step: i64) -> Vec<MatrixSeries> {
        let path = format!(
            "/api/v1/query_range?query={}&start={}&end={}&step={}",
            url_encode(promql),
            start as f64 / 1000.0,
            end as f64 / 1000.0,
            step as f64 / 1000.0
        );
        let (code, body) = get(self.port, &path).expect("prometheus answers queries");
        assert_eq!(code, 200, "{promql}: {body}");
        matrix(&serde_json::from_str(&body).expect("prometheus answers JSON"))
    }

    /// The value of a query whose result is exactly one sample.
    pub fn value(&self, promql: &str, time: Option<f64>) -> f64 {
        let answer = self.query(promql, time);
        let result = &answer["data"]["result"];
        assert_eq!(result.as_array().map(Vec::len), Some(1), "{promql}: {answer}");
        result[0]["value"][1].as_str().and_then(|v| v.parse().ok()).expect("a numeric sample value")
    }

    /// Stops it gracefully (SIGTERM, SIGKILL after 30 s) and waits for it.
    pub fn stop(mut self) {
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) has no memory-safety preconditions; the pid is our child's,
            // which we have not waited for yet, so it cannot have been reused.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One series of a matrix answer: labels and (ms, value) points.
pub type MatrixSeries = (Labels, Vec<(i64, f64)>);

/// The series of a Prometheus API answer whose result is a matrix, sorted by labels.
pub fn matrix(answer: &serde_json::Value) -> Vec<MatrixSeries> {
    let result = answer["data"]["result"].as_array().unwrap_or_else(|| panic!("a matrix answer: {answer}"));
    let mut out: Vec<MatrixSeries> = result
        .iter()
        .map(|series| {
            let metric = series["metric"].as_object().expect("series labels");
            let labels =
                Labels::from_pairs(metric.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())))
                    .expect("valid labels");
            let points = series["values"]
                .as_array()
                .expect("series points")
                .iter()
                .map(|p| {
                    let t = (p[0].as_f64().unwrap() * 1000.0).round() as i64;
                    (t, p[1].as_str().and_then(|v| v.parse().ok()).expect("a numeric value"))
                })
                .collect();
            (labels, points)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
