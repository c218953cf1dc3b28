//! `strata server --engine tsm`: the same HTTP API over the TSM engine — line protocol and
//! Prometheus text written, PromQL and the metadata API answering, deletes, a restart and a
//! kill -9 losing nothing acknowledged, the cache snapshotted into TSM files that
//! `strata tsm inspect` reads, time shards with retention, and the settings the TSM engine
//! cannot honour refused.

use std::path::Path;
use std::process::Command;

use serde_json::json;
use strata_testkit::StrataServer;

fn strata() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_strata"))
}

fn start(data: &Path) -> StrataServer {
    StrataServer::start(
        strata(),
        data,
        &["--engine", "tsm", "--cache-snapshot-size", "256", "--retention", "0"],
    )
}

/// The TSM files of every shard of a data dir.
fn tsm_files(data: &Path) -> Vec<std::path::PathBuf> {
    let shards = std::fs::read_dir(data.join("shards")).into_iter().flatten().flatten().map(|e| e.path());
    let files = shards.flat_map(|d| std::fs::read_dir(d).into_iter().flatten().flatten().map(|e| e.path()));
    files.filter(|p| p.extension().is_some_and(|x| x == "tsm")).collect()
}

/// Every stored point of `cpu_usage_idle` (a range selector: raw points, no lookback).
fn points(server: &StrataServer) -> serde_json::Value {
    let answer = server.query("cpu_usage_idle[100s]", 1703001690.0);
    assert_eq!(answer["status"], "success", "{answer}");
    answer["data"]["result"].clone()
}

#[test]
fn the_http_api_works_on_the_tsm_engine_and_survives_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = start(&data);
    let lines: String = (0..10)
        .map(|i: i64| {
            format!(
                "cpu,host=a usage_idle={}.5,usage_user={i}i {}\n",
                90 + i,
                (1703001600 + i * 10) * 1_000_000_000
            )
        })
        .collect();
    let written = server.post("/write?db=x", "text/plain", lines.as_bytes());
    assert_eq!(written.code, 204, "{}", written.text());
    let prom = "memory_usage{host=\"a\"} 0.45 1703001600\n";
    assert_eq!(server.post("/api/v1/import/prometheus", "text/plain", prom.as_bytes()).code, 204);

    let expected: Vec<serde_json::Value> =
        (0..10).map(|i| json!([1703001600 + i * 10, format!("{}.5", 90 + i)])).collect();
    let result = points(&server);
    assert_eq!(result[0]["metric"], json!({"__name__": "cpu_usage_idle", "db": "x", "host": "a"}));
    assert_eq!(result[0]["values"], json!(expected));
    let rate = server.query("rate(cpu_usage_user[1m])", 1703001690.0);
    assert_eq!(rate["data"]["result"][0]["value"][1], "0.1", "{rate}");
    let names = server.get("/api/v1/label/__name__/values").json();
    assert_eq!(names["data"], json!(["cpu_usage_idle", "cpu_usage_user", "memory_usage"]));

    // A delete, then SIGTERM and a restart: the rest is there, the deleted points are not.
    let deleted = server.post(
        "/api/v1/admin/tsdb/delete_series?match[]=cpu_usage_idle&start=1703001650&end=1703001690",
        "text/plain",
        b"",
    );
    assert_eq!(deleted.code, 204, "{}", deleted.text());
    let kept: Vec<serde_json::Value> = expected[..5].to_vec();
    assert_eq!(points(&server)[0]["values"], json!(kept));
    assert!(server.signal_and_wait(libc::SIGTERM).success());
    let server = start(&data);
    assert_eq!(points(&server)[0]["values"], json!(kept), "after a restart");

    // kill -9 after an acknowledged write: it is there after the restart.
    let more = format!("cpu,host=b usage_idle=1 {}\n", 1703001600i64 * 1_000_000_000);
    let w = server.post("/write?db=x", "text/plain", more.as_bytes());
    assert_eq!(w.code, 204, "{}", w.text());
    drop(server); // SIGKILL
    let server = start(&data);
    let result = points(&server);
    assert_eq!(result.as_array().unwrap().len(), 2, "{result}");
    assert_eq!(result[1]["metric"]["host"], "b");

    // The background thread snapshots the cache (past 256 bytes) into TSM files; inspect
    // reads them.
    let status = server.get("/admin/status").json();
    assert_eq!(status["status"], "healthy", "{status}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while tsm_files(&data).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(server);
    let tsm = tsm_files(&data);
    assert!(!tsm.is_empty(), "the cache was snapshotted into TSM files");
    for file in &tsm {
        let out = Command::new(strata()).args(["tsm", "inspect", "--json"]).arg(file).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    }
}

/// InfluxQL's answer to `q` on database `x`, times in nanoseconds.
fn influxql(server: &StrataServer, q: &str) -> serde_json::Value {
    let answer = server.get(&format!("/query?db=x&epoch=ns&q={}", strata_testkit::url_encode(q)));
    assert_eq!(answer.code, 200, "{}", answer.text());
    answer.json()
}

#[test]
fn nanosecond_timestamps_are_kept_and_survive_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = start(&data);
    assert_eq!(server.post("/query?q=CREATE+DATABASE+x", "text/plain", b"").code, 200);
    // Three points within one millisecond (ns), one in microseconds; a second write of the
    // same nanosecond replaces the first, as in InfluxDB.
    let base: i64 = 1_703_001_600_000_000_000;
    let ns = format!("m v=1 {}\nm v=2 {}\nm v=3 {}\n", base + 1, base + 2, base + 999_999);
    assert_eq!(server.post("/write?db=x", "text/plain", ns.as_bytes()).code, 204);
    let us = format!("m v=4 {}\n", base / 1_000 + 1_001);
    assert_eq!(server.post("/write?db=x&precision=u", "text/plain", us.as_bytes()).code, 204);
    let again = format!("m v=5 {}\n", base + 2);
    assert_eq!(server.post("/write?db=x", "text/plain", again.as_bytes()).code, 204);
    let expected = json!([[base + 1, 1], [base + 2, 5], [base + 999_999, 3], [base + 1_001_000, 4]]);
    let answer = influxql(&server, "SELECT v FROM m");
    assert_eq!(answer["results"][0]["series"][0]["values"], expected, "{answer}");
    // A nanosecond range.
    let q = format!("SELECT v FROM m WHERE time >= {} AND time <= {}", base + 2, base + 999_999);
    let answer = influxql(&server, &q);
    assert_eq!(answer["results"][0]["series"][0]["values"], json!([[base + 2, 5], [base + 999_999, 3]]));
    // PromQL reads milliseconds: each shows the point of its latest nanosecond.
    let prom = server.query("m_v[1s]", 1703001600.5);
    assert_eq!(
        prom["data"]["result"][0]["values"],
        json!([[1703001600, "3"], [1703001600.001, "4"]]),
        "{prom}"
    );

    drop(server); // SIGKILL: the WAL holds the nanoseconds
    let server = start(&data);
    let answer = influxql(&server, "SELECT v FROM m");
    assert_eq!(answer["results"][0]["series"][0]["values"], expected, "after a kill -9: {answer}");
}

#[test]
fn a_field_written_with_another_type_is_refused_and_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("data"));
    assert_eq!(server.post("/write?db=x", "text/plain", b"cpu value=1i 1000000000\n").code, 204);
    let body = b"cpu value=2i 2000000000\ncpu value=3 3000000000\ncpu value=4i 4000000000\n";
    let refused = server.post("/write?db=x", "text/plain", body);
    assert_eq!(refused.code, 400, "{}", refused.text());
    let text = refused.text();
    assert!(text.contains("line 2") && text.contains("field type conflict"), "{text}");
    assert!(text.contains("is type float, already exists as type integer"), "{text}");
    let answer = influxql(&server, "SELECT value FROM cpu");
    let values = json!([[1_000_000_000i64, 1], [2_000_000_000i64, 2], [4_000_000_000i64, 4]]);
    assert_eq!(answer["results"][0]["series"][0]["values"], values, "{answer}");
    let keys = influxql(&server, "SHOW FIELD KEYS");
    assert_eq!(keys["results"][0]["series"][0]["values"], json!([["value", "integer"]]), "{keys}");
    // Another database has types of its own.
    assert_eq!(server.post("/write?db=y", "text/plain", b"cpu value=1.5 1000000000\n").code, 204);
}

#[test]
fn shards_past_the_retention_refuse_points_and_status_lists_the_shards() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--engine", "tsm", "--shard-duration", "1d", "--retention", "3d"];
    let server = StrataServer::start(strata(), &dir.path().join("data"), &args);
    let now_s = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let body = format!(
        "m,host=a value=1 {}\nm,host=a value=2 {}\n",
        (now_s - 10 * 86_400) * 1_000_000_000,
        now_s * 1_000_000_000
    );
    let written = server.post("/write?db=x", "text/plain", body.as_bytes());
    assert_eq!(written.code, 400, "{}", written.text());
    assert!(
        written.text().contains("out of bounds") && written.text().contains("1 sample(s) written"),
        "{}",
        written.text()
    );
    let status = server.get("/api/v1/status/retention").json();
    assert_eq!(status["data"]["engine"], "tsm", "{status}");
    assert_eq!(status["data"]["retentionMs"], 3 * 86_400_000);
    let shards = status["data"]["shards"].as_array().unwrap();
    assert_eq!(shards.len(), 1, "{status}");
    assert_eq!(shards[0]["endMs"].as_i64().unwrap() - shards[0]["startMs"].as_i64().unwrap(), 86_400_000);
    let answer = server.query("m", now_s as f64);
    assert_eq!(answer["data"]["result"][0]["value"][1], "2", "{answer}");
}

#[test]
fn settings_the_tsm_engine_cannot_honour_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(strata())
        .args(["server", "--engine", "tsm", "--max-series", "10", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("need --engine block"), "{err}");
    let out = Command::new(strata())
        .args(["server", "--engine", "lsm", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected block or tsm"));
}
