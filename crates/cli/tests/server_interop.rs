//! `strata server` against the real peers (Debian packages and PyPI clients that `.ci/run`
//! installs; without them these tests print SKIPPED, and fail under CI=true):
//!
//! - a real Prometheus 2.42 scrapes a real node_exporter and remote-writes to Strata; the
//!   same PromQL over the same instant gives the same series and samples from both;
//! - the same Prometheus scrapes Strata's `/metrics` (`up == 1`, samples scraped);
//! - a Prometheus uses Strata as remote-read storage;
//! - line protocol written with curl, and with InfluxDB's official Python clients (the 2.x
//!   `influxdb-client` and the 1.x `influxdb`).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use strata_testkit::{
    free_port, get, matrix, peer_binary, python_module, value_bits, PeerProcess, Prometheus, StrataServer,
};

fn strata() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_strata"))
}

/// Waits until `check` holds, panicking with `what` after `secs` seconds.
fn wait_until(secs: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Series and samples of a matrix answer, sorted, values as bits (so NaN compares).
fn samples_of(answer: &serde_json::Value) -> Vec<(String, Vec<(i64, u64)>)> {
    let mut out: Vec<_> = matrix(answer)
        .into_iter()
        .map(|(labels, points)| {
            (labels.to_string(), points.into_iter().map(|(t, v)| (t, value_bits(v))).collect())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn prometheus_remote_writes_node_exporter_data_and_scrapes_strata() {
    let (Some(prometheus), Some(node_exporter)) = (
        peer_binary("prometheus", "prometheus"),
        peer_binary("prometheus-node-exporter", "prometheus-node-exporter"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = StrataServer::start(strata(), &dir.path().join("strata"), &[]);
    let ne_port = free_port();
    let _ne = PeerProcess::spawn(
        &node_exporter,
        &[
            format!("--web.listen-address=127.0.0.1:{ne_port}"),
            "--collector.disable-defaults".into(),
            "--collector.cpu".into(),
            "--collector.meminfo".into(),
            "--collector.loadavg".into(),
            "--collector.netdev".into(),
            "--collector.filesystem".into(),
        ],
    );
    wait_until(30, "node_exporter", || get(ne_port, "/metrics").is_some_and(|(c, _)| c == 200));
    let strata_port = server.port;
    let prom = Prometheus::start_configured(&prometheus, &dir.path().join("prometheus"), &[], |_| {
        [
            "global:".to_string(),
            "  scrape_interval: 1s".into(),
            "scrape_configs:".into(),
            "  - job_name: node".into(),
            "    static_configs:".into(),
            format!("      - targets: ['127.0.0.1:{ne_port}']"),
            "  - job_name: strata".into(),
            "    static_configs:".into(),
            format!("      - targets: ['127.0.0.1:{strata_port}']"),
            "remote_write:".into(),
            format!("  - url: http://127.0.0.1:{strata_port}/api/v1/write"),
            "    queue_config:".into(),
            "      batch_send_deadline: 1s".into(),
            String::new(),
        ]
        .join("\n")
    });
    // A few scrapes, remote-written.
    let newest_in_strata = || -> Option<f64> {
        let answer = server.query("timestamp(up{job=\"node\"})", now_seconds());
        answer["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    };
    wait_until(60, "five scrapes of node_exporter in Strata", || {
        let count = server.query("count_over_time(up{job=\"node\"}[1m])", now_seconds());
        count["data"]["result"][0]["value"][1]
            .as_str()
            .and_then(|v| v.parse::<f64>().ok())
            .is_some_and(|n| n >= 5.0)
    });
    // Compare at an instant a few seconds before the newest sample Strata has, so every
    // series' samples up to then have been sent by Prometheus' remote-write shards.
    let t = newest_in_strata().expect("Strata has node_exporter's up") - 3.0;
    std::thread::sleep(Duration::from_secs(3));
    for query in [
        "{job=\"node\"}[5s]",
        "node_cpu_seconds_total[10s]",
        "rate(node_cpu_seconds_total[5s])",
        "sum by (mode) (rate(node_cpu_seconds_total[5s]))",
        "node_memory_MemAvailable_bytes",
        "up",
    ] {
        let ours = server.query(query, t);
        let theirs = prom.query(query, Some(t));
        assert_eq!(ours["status"], "success", "{query}: {ours}");
        assert_eq!(ours["data"]["resultType"], theirs["data"]["resultType"], "{query}");
        if ours["data"]["resultType"] == "matrix" {
            let (a, b) = (samples_of(&ours), samples_of(&theirs));
            assert!(!a.is_empty(), "{query}: no series");
            assert_eq!(a, b, "{query}: Strata and Prometheus differ");
        } else {
            let sorted = |v: &serde_json::Value| {
                let mut rows: Vec<String> =
                    v["data"]["result"].as_array().unwrap().iter().map(|r| r.to_string()).collect();
                rows.sort();
                rows
            };
            assert!(!sorted(&ours).is_empty(), "{query}: no series");
            assert_eq!(sorted(&ours), sorted(&theirs), "{query}: Strata and Prometheus differ");
        }
    }
    // Prometheus scrapes Strata's /metrics without errors.
    wait_until(30, "Prometheus scraping Strata", || {
        let up = prom.query("up{job=\"strata\"}", None);
        up["data"]["result"][0]["value"][1] == "1"
    });
    let scraped = prom.query("scrape_samples_scraped{job=\"strata\"}", None);
    let n: f64 = scraped["data"]["result"][0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!(n > 20.0, "{scraped}");
    let ingested = prom.query("strata_samples_ingested_total{protocol=\"remote_write\"}", None);
    let n: f64 = ingested["data"]["result"][0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!(n > 0.0, "{ingested}");
    prom.stop();
}

fn now_seconds() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64()
}

#[test]
fn prometheus_reads_strata_as_remote_storage() {
    let Some(prometheus) = peer_binary("prometheus", "prometheus") else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = StrataServer::start(strata(), &dir.path().join("strata"), &[]);
    let body = "remote_only{host=\"a\"} 1.5 1703001600000\nremote_only{host=\"a\"} 2.5 1703001615000\nremote_only{host=\"b\"} 7 1703001600000\n";
    assert_eq!(server.post("/api/v1/import/prometheus", "text/plain", body.as_bytes()).code, 204);
    let port = server.port;
    let prom = Prometheus::start_configured(&prometheus, &dir.path().join("prometheus"), &[], |_| {
        format!("global:\n  scrape_interval: 1s\nremote_read:\n  - url: http://127.0.0.1:{port}/api/v1/read\n    read_recent: true\n")
    });
    let theirs = prom.query("remote_only[1m]", Some(1703001620.0));
    let ours = server.query("remote_only[1m]", 1703001620.0);
    assert_eq!(samples_of(&theirs).len(), 2, "{theirs}");
    assert_eq!(samples_of(&theirs), samples_of(&ours));
    let sum = prom.query("sum(remote_only)", Some(1703001615.0));
    assert_eq!(sum["data"]["result"][0]["value"][1], "9.5", "{sum}");
    prom.stop();
}

#[test]
fn curl_writes_line_protocol_and_the_seed_body() {
    let Some(curl) = peer_binary("curl", "curl") else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = StrataServer::start(strata(), &dir.path().join("data"), &[]);
    let base = format!("http://127.0.0.1:{}", server.port);
    let run = |args: &[&str]| {
        let out = Command::new(&curl).args(args).output().unwrap();
        assert!(out.status.success(), "curl {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // InfluxDB's documentation example.
    let code = run(&[
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-XPOST",
        &format!("{base}/write?db=mydb"),
        "--data-binary",
        "cpu_load_short,host=server01,region=us-west value=0.64 1434055562000000000",
    ]);
    assert_eq!(code, "204");
    // The seed's session, as typed (curl -d, default content type).
    let seed = "cpu_usage{host=\"server1\",region=\"us-east\"} 0.75 1703001600\ncpu_usage{host=\"server1\",region=\"us-east\"} 0.82 1703001610\nmemory_usage{host=\"server1\"} 0.45 1703001600";
    let answer = run(&["-s", "-X", "POST", &format!("{base}/write"), "-d", seed]);
    assert_eq!(answer, r#"{"status":"success","samples_written":3}"#);
    // -g: curl would read [5m] as one of its URL ranges.
    let answer = run(&["-sg", &format!("{base}/query?query=rate(cpu_usage[5m])&time=1703001800")]);
    assert!(answer.starts_with(r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"host":"server1","region":"us-east"},"value":[1703001800,""#), "{answer}");
    let answer = run(&["-sg", &format!("{base}/query?query=cpu_load_short&time=1434055562")]);
    assert!(answer.contains(r#""value":[1434055562,"0.64"]"#), "{answer}");
}

const PYTHON_CLIENTS: &str = r#"
import sys
from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS
import influxdb

port = int(sys.argv[1])
with InfluxDBClient(url=f"http://127.0.0.1:{port}", token="unused", org="o") as client:
    write = client.write_api(write_options=SYNCHRONOUS)
    write.write(bucket="b", record=Point("weather").tag("city", "Oslo").field("temp", 3.5).time(1703001600000000000, WritePrecision.NS))
    write.write(bucket="b", record=[Point("weather").tag("city", "Paris").field("temp", 9.0).field("humidity", 71.0).time(1703001600, WritePrecision.S)], write_precision=WritePrecision.S)
    try:
        write.write(bucket="b", record="weather,city=Rome temp=oops 1703001600000000000")
        print("bad line accepted")
        sys.exit(1)
    except Exception as e:
        assert "line 1" in str(e), str(e)

v1 = influxdb.InfluxDBClient(host="127.0.0.1", port=port, database="telegraf")
ok = v1.write_points([{"measurement": "cpu", "tags": {"host": "a"}, "time": 1703001600000000000, "fields": {"usage": 0.5, "cores": 4}}])
assert ok
print("ok")
"#;

#[test]
fn influxdb_python_clients_write_line_protocol() {
    if !python_module("influxdb_client", "influxdb-client") || !python_module("influxdb", "influxdb") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = StrataServer::start(strata(), &dir.path().join("data"), &[]);
    let out =
        Command::new("python3").args(["-c", PYTHON_CLIENTS, &server.port.to_string()]).output().unwrap();
    assert!(
        out.status.success(),
        "python clients failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for (query, expected) in [
        ("weather_temp{city=\"Oslo\"}", "3.5"),
        ("weather_temp{city=\"Paris\"}", "9"),
        ("weather_humidity{city=\"Paris\"}", "71"),
        ("cpu_usage{host=\"a\"}", "0.5"),
        ("cpu_cores{host=\"a\"}", "4"),
    ] {
        let got = server.query(query, 1703001600.0);
        assert_eq!(got["data"]["result"][0]["value"][1], expected, "{query}: {got}");
    }
    assert_eq!(
        server.query("weather_temp{city=\"Rome\"}", 1703001600.0)["data"]["result"],
        serde_json::json!([])
    );
}
