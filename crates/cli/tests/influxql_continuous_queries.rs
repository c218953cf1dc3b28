//! InfluxQL continuous queries in a running `strata server`: created, shown as InfluxDB
//! shows them, run by the server once a second over each completed GROUP BY interval
//! (writing through SELECT … INTO), kept across a restart, and stopped by DROP.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use strata_testkit::{url_encode, StrataServer};

const S: i64 = 1_000_000_000;

fn start(data: &Path) -> StrataServer {
    StrataServer::start(Path::new(env!("CARGO_BIN_EXE_strata")), data, &["--retention=0s"])
}

fn influxql(server: &StrataServer, q: &str) -> Value {
    let answer = server.post(&format!("/query?db=db0&epoch=ns&q={}", url_encode(q)), "text/plain", b"");
    assert_eq!(answer.code, 200, "{q}: {}", answer.text());
    answer.json()
}

/// The rows of `cpu_count` the query wrote: (window start, count).
fn written(server: &StrataServer) -> Vec<(i64, i64)> {
    let answer = influxql(server, "SELECT \"count\" FROM cpu_count");
    let rows = answer["results"][0]["series"][0]["values"].as_array().cloned().unwrap_or_default();
    rows.iter().map(|r| (r[0].as_i64().unwrap(), r[1].as_i64().unwrap())).collect()
}

fn now_ns() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as i64
}

#[test]
fn a_continuous_query_runs_over_each_completed_interval_until_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = start(&data);
    influxql(&server, "CREATE DATABASE db0");
    // Ten points a second from 5 s ago to 30 s ahead.
    let first = (now_ns() / S - 5) * S;
    let lines: String = (0..350).map(|i| format!("cpu,host=a value=1 {}\n", first + i * S / 10)).collect();
    assert_eq!(server.post("/write?db=db0", "text/plain", lines.as_bytes()).code, 204);

    let created = now_ns();
    let create = "CREATE CONTINUOUS QUERY cq ON db0 BEGIN SELECT count(value) INTO cpu_count FROM cpu GROUP BY time(1s) END";
    assert_eq!(influxql(&server, create), json!({"results": [{"statement_id": 0}]}));
    let shown = influxql(&server, "SHOW CONTINUOUS QUERIES");
    let expected = "CREATE CONTINUOUS QUERY cq ON db0 BEGIN SELECT count(value) INTO db0.autogen.cpu_count FROM db0.autogen.cpu GROUP BY time(1s) END";
    assert_eq!(shown["results"][0]["series"][0]["name"], "db0");
    assert_eq!(shown["results"][0]["series"][0]["values"], json!([["cq", expected]]), "{shown}");

    // The server runs it once a second: each completed second is written once, with the
    // count of its ten points.
    let deadline = Instant::now() + Duration::from_secs(20);
    while written(&server).len() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let rows = written(&server);
    assert!(rows.len() >= 3, "three seconds written within 20 s: {rows:?}");
    assert!(rows.iter().all(|&(t, count)| t % S == 0 && count == 10), "{rows:?}");
    assert!(rows.windows(2).all(|w| w[1].0 == w[0].0 + S), "consecutive seconds, each once: {rows:?}");
    assert!(rows[0].0 >= created / S * S - S && rows.last().unwrap().0 < now_ns(), "{rows:?}");
    let metrics = server.get("/metrics").text();
    assert!(metrics.contains("strata_influxql_continuous_query_runs_total{outcome=\"ok\"}"), "{metrics}");

    // A restart keeps the query (it starts afresh: the first second after it only notes the
    // time, as InfluxDB's service does).
    drop(server);
    let server = start(&data);
    let before = written(&server).len();
    let deadline = Instant::now() + Duration::from_secs(20);
    while written(&server).len() < before + 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(written(&server).len() >= before + 2, "it runs after a restart");

    // DROP stops it.
    assert_eq!(
        influxql(&server, "DROP CONTINUOUS QUERY cq ON db0"),
        json!({"results": [{"statement_id": 0}]})
    );
    let shown = influxql(&server, "SHOW CONTINUOUS QUERIES");
    assert_eq!(shown["results"][0]["series"][0].get("values"), None, "{shown}");
    std::thread::sleep(Duration::from_millis(1200)); // a run in progress may finish
    let after_drop = written(&server).len();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(written(&server).len(), after_drop, "no run after DROP");
    let refused = influxql(&server, "DROP CONTINUOUS QUERY cq ON db0");
    assert_eq!(refused["results"][0]["error"], "continuous query not found");
}

#[test]
fn a_continuous_query_is_checked_when_created() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("data"));
    influxql(&server, "CREATE DATABASE db0");
    let no_into =
        "CREATE CONTINUOUS QUERY cq ON db0 BEGIN SELECT count(value) FROM cpu GROUP BY time(1s) END";
    let answer = server.post(&format!("/query?q={}", url_encode(no_into)), "text/plain", b"");
    assert_eq!(answer.code, 400, "{}", answer.text());
    assert!(answer.text().contains("expected INTO"), "{}", answer.text());
    let no_time = "CREATE CONTINUOUS QUERY cq ON db0 BEGIN SELECT count(value) INTO x FROM cpu END";
    let answer = server.post(&format!("/query?q={}", url_encode(no_time)), "text/plain", b"");
    assert!(answer.text().contains("GROUP BY time"), "{}", answer.text());
    let short_for = "CREATE CONTINUOUS QUERY cq ON db0 RESAMPLE FOR 1m BEGIN SELECT count(value) INTO x FROM cpu GROUP BY time(5m) END";
    let answer = server.post(&format!("/query?q={}", url_encode(short_for)), "text/plain", b"");
    let error = answer.json()["error"].as_str().unwrap_or_default().to_string();
    assert!(
        error.contains("FOR duration must be >= GROUP BY time duration: must be a minimum of 5m, got 1m"),
        "{error}"
    );
    let missing = influxql(
        &server,
        "CREATE CONTINUOUS QUERY cq ON nodb BEGIN SELECT count(value) INTO x FROM cpu GROUP BY time(1s) END",
    );
    assert_eq!(missing["results"][0]["error"], "database not found: nodb");
}
