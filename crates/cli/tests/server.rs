//! `strata server` as a process: writes over every protocol, the query API's shapes and
//! errors, back-pressure, body limits, durability across kill -9 and SIGTERM, settings from
//! flags, environment and TOML, the TCP listener, the admin API and /metrics.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use strata_testkit::remote_v1::remote_write_body;
use strata_testkit::{url_encode, StrataServer};

fn strata() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_strata"))
}

fn start(dir: &Path, args: &[&str]) -> StrataServer {
    StrataServer::start(strata(), &dir.join("data"), args)
}

const SEED_BODY: &str = "cpu_usage{host=\"server1\",region=\"us-east\"} 0.75 1703001600
cpu_usage{host=\"server1\",region=\"us-east\"} 0.82 1703001610
memory_usage{host=\"server1\"} 0.45 1703001600";

#[test]
fn the_seed_session_works_verbatim() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);
    // curl -X POST localhost:9090/write -d '…' sends curl's default content type.
    let written = server.post("/write", "application/x-www-form-urlencoded", SEED_BODY.as_bytes());
    assert_eq!(
        (written.code, written.text()),
        (200, r#"{"status":"success","samples_written":3}"#.to_string())
    );

    let answer = server.get("/query?query=rate(cpu_usage%5B5m%5D)&time=1703001800").json();
    assert_eq!(answer["status"], "success");
    assert_eq!(answer["data"]["resultType"], "vector");
    let result = answer["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), 1);
    assert_eq!(result[0]["metric"], json!({"host": "server1", "region": "us-east"}));
    assert_eq!(result[0]["value"][0], json!(1703001800));
    let rate: f64 = result[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!(rate > 0.0, "{answer}");

    // The raw text of a result is Prometheus' (seconds as a number, the value a string).
    let raw = server.get("/api/v1/query?query=memory_usage&time=1703001800.5").text();
    assert_eq!(
        raw,
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"memory_usage","host":"server1"},"value":[1703001800.500,"0.45"]}]}}"#
    );
    let range =
        server.get("/api/v1/query_range?query=cpu_usage&start=1703001600&end=1703001610&step=10").json();
    assert_eq!(range["data"]["result"][0]["values"], json!([[1703001600, "0.75"], [1703001610, "0.82"]]));
    let scalar = server.get("/api/v1/query?query=1%2F0&time=10").text();
    assert_eq!(scalar, r#"{"status":"success","data":{"resultType":"scalar","result":[10,"+Inf"]}}"#);
}

#[test]
fn line_protocol_writes_are_partial_and_name_their_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);
    let body = "cpu,host=a usage_idle=98.5,usage_user=1.5 1703001600\ncpu,host=a usage_idle=oops 1703001610\nmem,host=a value=42i 1703001600\n";
    let answer = server.post("/write?db=telegraf&precision=s", "text/plain", body.as_bytes());
    assert_eq!(answer.code, 400, "{}", answer.text());
    let error = answer.json();
    assert_eq!(error["samples_written"], 3);
    assert!(error["error"].as_str().unwrap().contains("line 2"), "{error}");
    assert!(error["error"].as_str().unwrap().starts_with("partial write"), "{error}");
    // The valid lines were written: two fields of line 1 and the `value` field of line 3.
    for (query, value) in [("cpu_usage_idle", "98.5"), ("cpu_usage_user", "1.5"), ("mem", "42")] {
        let got = server.query(query, 1703001620.0);
        assert_eq!(got["data"]["result"][0]["value"][1], value, "{query}: {got}");
    }

    // InfluxDB 2.x's endpoint, gzip body, nanoseconds by default; success is 204.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"disk,host=a used=7 1703001700000000000\n").unwrap();
    let gzipped = gz.finish().unwrap();
    let answer = strata_testkit::request(
        server.port,
        "POST",
        "/api/v2/write?org=o&bucket=b",
        &[("Content-Encoding", "gzip"), ("Content-Type", "text/plain")],
        &gzipped,
    )
    .unwrap();
    assert_eq!(answer.code, 204, "{}", answer.text());
    assert_eq!(server.query("disk_used", 1703001700.0)["data"]["result"][0]["value"][1], "7");
    // A bucket is required there, and a precision must be one InfluxDB knows.
    assert_eq!(server.post("/api/v2/write?org=o", "text/plain", b"x v=1").code, 400);
    assert_eq!(server.post("/write?db=x&precision=fortnights", "text/plain", b"x v=1").code, 400);

    // An out-of-order sample is reported, not acknowledged.
    // (bucket b of the 2.x write above is database b.)
    let answer = server.post("/write?db=b&precision=s", "text/plain", b"disk,host=a used=1 1703001000\n");
    assert_eq!(answer.code, 400);
    assert!(answer.json()["error"].as_str().unwrap().contains("out of order"), "{}", answer.text());
    assert_eq!(answer.json()["samples_written"], 0);
}

#[test]
fn prometheus_text_import_takes_milliseconds() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);
    let answer = server.post("/api/v1/import/prometheus", "text/plain", b"up{job=\"a\"} 1 1703001600123\n");
    assert_eq!(answer.code, 204, "{}", answer.text());
    let got = server.query("up", 1703001600.123);
    assert_eq!(got["data"]["result"][0]["value"], json!([1703001600.123, "1"]));
    // /write with an explicit precision.
    assert_eq!(server.post("/write?precision=ms", "text/plain", b"x 2 1703001600000").code, 200);
    assert_eq!(server.query("x", 1703001600.0)["data"]["result"][0]["value"][1], "2");
}

#[test]
fn remote_write_is_stored_and_bad_bodies_are_400() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);
    let body = remote_write_body(&[
        (&[("__name__", "node_load1"), ("instance", "a")], &[(1703001600000, 0.5), (1703001615000, 0.75)]),
        (&[("__name__", "up"), ("instance", "a")], &[(1703001600000, 1.0)]),
    ]);
    let answer = server.post("/api/v1/write", "application/x-protobuf", &body);
    assert_eq!(answer.code, 204, "{}", answer.text());
    let got = server.query("node_load1", 1703001615.0);
    assert_eq!(got["data"]["result"][0]["value"][1], "0.75", "{got}");
    // The same series again (known to the server's series cache), then deleted and written
    // once more: the new sample must land in a live series, not in the deleted one.
    let again =
        remote_write_body(&[(&[("__name__", "node_load1"), ("instance", "a")], &[(1703001630000, 1.25)])]);
    assert_eq!(server.post("/api/v1/write", "application/x-protobuf", &again).code, 204);
    assert_eq!(server.query("node_load1", 1703001630.0)["data"]["result"][0]["value"][1], "1.25");
    let deleted = server.post("/api/v1/admin/tsdb/delete_series?match[]=node_load1", "", b"");
    assert_eq!(deleted.code, 204, "{}", deleted.text());
    assert_eq!(server.query("node_load1", 1703001630.0)["data"]["result"], json!([]));
    let after =
        remote_write_body(&[(&[("__name__", "node_load1"), ("instance", "a")], &[(1703001645000, 2.5)])]);
    assert_eq!(server.post("/api/v1/write", "application/x-protobuf", &after).code, 204);
    let got = server.query("node_load1", 1703001645.0);
    assert_eq!(got["data"]["result"][0]["value"][1], "2.5", "written after the delete: {got}");
    assert_eq!(server.post("/api/v1/write", "application/x-protobuf", b"garbage").code, 400);
    let nameless = remote_write_body(&[(&[("instance", "a")], &[(1703001600000, 1.0)])]);
    let answer = server.post("/api/v1/write", "application/x-protobuf", &nameless);
    assert_eq!(answer.code, 400);
    assert!(answer.text().contains("no __name__"), "{}", answer.text());
}

#[test]
fn query_api_errors_are_prometheus_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);
    let cases: &[(&str, u16, &str)] = &[
        (
            "/api/v1/query?query=rate(up)",
            400,
            "expected type range vector in call to function \"rate\", got instant vector",
        ),
        (
            "/api/v1/query?query=up&time=yesterday",
            400,
            "invalid parameter \"time\": cannot parse \"yesterday\" to a valid timestamp",
        ),
        (
            "/api/v1/query_range?query=up&start=10&end=5&step=1",
            400,
            "end timestamp must not be before start time",
        ),
        (
            "/api/v1/query_range?query=up&start=0&end=5&step=0",
            400,
            "zero or negative query resolution step widths are not accepted",
        ),
        (
            "/api/v1/query_range?query=up&start=0&end=100000&step=1",
            400,
            "exceeded maximum resolution of 11,000 points per timeseries",
        ),
        ("/api/v1/query_range?query=up&end=5&step=1", 400, "invalid parameter \"start\""),
        ("/api/v1/series", 400, "no match[] parameter provided"),
        ("/api/v1/series?match[]=%7Bjob%3D~%22.*%22%7D", 400, "at least one non-empty matcher"),
        ("/api/v1/query?query=sum(rate(x%5B5m%5D))%20by%20(", 400, "invalid parameter \"query\""),
    ];
    for (path, code, message) in cases {
        let answer = server.get(path);
        assert_eq!(answer.code, *code, "{path}: {}", answer.text());
        let body = answer.json();
        assert_eq!(body["status"], "error", "{path}");
        assert_eq!(body["errorType"], "bad_data", "{path}");
        assert!(body["error"].as_str().unwrap().contains(message), "{path}: {body}");
    }
    // POST with a form body works like GET.
    let form = format!("query={}&time=100", url_encode("vector(1)"));
    let answer = server.post("/api/v1/query", "application/x-www-form-urlencoded", form.as_bytes());
    assert_eq!(answer.json()["data"]["result"][0]["value"], json!([100, "1"]));
    // A hostile query nested too deep for a thread's stack is refused, and the server lives on
    // (100,000 parentheses used to overflow the stack and kill it).
    for hostile in [format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000)), vec!["1"; 100_000].join("+")]
    {
        let form = format!("query={}&time=100", url_encode(&hostile));
        let answer = server.post("/api/v1/query", "application/x-www-form-urlencoded", form.as_bytes());
        assert_eq!(answer.code, 400, "{}", &answer.text()[..200.min(answer.text().len())]);
        assert!(answer.json()["error"].as_str().unwrap().contains("at most"), "{}", answer.text());
    }
    let deepest_allowed = format!("query={}&time=100", url_encode(&vec!["vector(1)"; 2_049].join(" + ")));
    let answer =
        server.post("/api/v1/query", "application/x-www-form-urlencoded", deepest_allowed.as_bytes());
    assert_eq!(answer.json()["data"]["result"][0]["value"], json!([100, "2049"]));
    // A query that reads too many samples is an execution error (422).
    let dir2 = tempfile::tempdir().unwrap();
    let small = start(dir2.path(), &["--query-max-samples=10"]);
    let lines: String = (0..100).map(|i| format!("m {i} {}\n", 1703001600000i64 + i * 1000)).collect();
    assert_eq!(small.post("/write?precision=ms", "text/plain", lines.as_bytes()).code, 200);
    let answer = small.get("/api/v1/query?query=count_over_time(m%5B5m%5D)&time=1703001700");
    assert_eq!(answer.code, 422, "{}", answer.text());
    assert_eq!(answer.json()["errorType"], "execution");
}

#[test]
fn series_labels_values_and_admin_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);
    // Line protocol tags may hold dots, which label names of the text format may not.
    let body = "a,job=x,http.status=200 value=1 1703001600\na,job=y value=2 1703001600\nb,job=x value=3 1703001600\n";
    assert_eq!(server.post("/write?db=x&precision=s", "text/plain", body.as_bytes()).code, 204);
    let series = server.get("/api/v1/series?match[]=a&match[]=b%7Bjob%3D%22x%22%7D").json();
    assert_eq!(series["data"].as_array().unwrap().len(), 3, "{series}");
    let labels = server.get("/api/v1/labels").json();
    // `db` names the InfluxQL database the lines were written to (docs/influxql.md).
    assert_eq!(labels["data"], json!(["__name__", "db", "http.status", "job"]));
    let values = server.get("/api/v1/label/job/values?match[]=a").json();
    assert_eq!(values["data"], json!(["x", "y"]));
    let escaped = server.get("/api/v1/label/U__http_2e_status/values").json();
    assert_eq!(escaped["data"], json!(["200"]));
    let limited = server.get("/api/v1/label/__name__/values?limit=1").json();
    assert_eq!(limited["data"], json!(["a"]));
    assert_eq!(limited["warnings"], json!(["results truncated due to limit"]));
    assert_eq!(server.get("/api/v1/metadata").json(), json!({"status": "success", "data": {}}));
    assert!(server.get("/api/v1/status/buildinfo").json()["data"]["version"].is_string());
    let tsdb = server.get("/api/v1/status/tsdb").json();
    assert_eq!(tsdb["data"]["headStats"]["numSeries"], 3);
    assert_eq!(tsdb["data"]["seriesCountByMetricName"][0], json!({"name": "a", "value": 2}));

    // Delete, then the series is gone from queries.
    let deleted = server.post("/api/v1/admin/tsdb/delete_series?match[]=a%7Bjob%3D%22y%22%7D", "", b"");
    assert_eq!(deleted.code, 204, "{}", deleted.text());
    assert_eq!(server.query("a", 1703001600.0)["data"]["result"].as_array().unwrap().len(), 1);
    // A snapshot is a data dir of its own.
    let snapshot = server.post("/api/v1/admin/tsdb/snapshot", "", b"").json();
    let name = snapshot["data"]["name"].as_str().unwrap().to_string();
    let snapshot_dir = server.data_dir.join("snapshots").join(&name);
    assert!(snapshot_dir.join("wal").is_dir(), "{snapshot}");
    let blocks = std::fs::read_dir(&snapshot_dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().join("meta.json").exists());
    assert_eq!(blocks.count(), 1);
    assert_eq!(server.post("/api/v1/admin/tsdb/clean_tombstones", "", b"").code, 204);

    let locked = tempfile::tempdir().unwrap();
    let no_admin = start(locked.path(), &["--admin-api=false"]);
    let refused = no_admin.post("/api/v1/admin/tsdb/snapshot", "", b"");
    assert_eq!((refused.code, refused.json()["errorType"].clone()), (503, json!("unavailable")));
}

#[test]
fn oversized_bodies_are_413_and_a_saturated_server_answers_503() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        start(dir.path(), &["--max-body-bytes=1000", "--max-concurrent-writes=1", "--max-pending-writes=0"]);
    let big = vec![b'#'; 5000];
    assert_eq!(server.post("/write?db=x", "text/plain", &big).code, 413);
    // Hold the only write turn: headers and part of a body, the rest never sent.
    let mut slow = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    slow.write_all(b"POST /write?db=x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\ncpu v=1").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let answer = server.post("/write?db=x", "text/plain", b"cpu v=2");
    assert_eq!(answer.code, 503, "{}", answer.text());
    assert_eq!(answer.header("retry-after"), Some("1"));
    drop(slow);
    // The turn comes back once the slow writer is gone.
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.post("/write?db=x", "text/plain", b"cpu v=3").code != 204 {
        assert!(Instant::now() < deadline, "the write turn never came back");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn acknowledged_writes_survive_kill_9_and_sigterm_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);
    let mut expected = 0;
    for batch in 0..20 {
        let lines: String =
            (0..50).map(|i| format!("load,host=h{i} value={batch} {}\n", 1703001600 + batch)).collect();
        assert_eq!(server.post("/write?db=x&precision=s", "text/plain", lines.as_bytes()).code, 204);
        expected += 50;
    }
    let status = server.signal_and_wait(libc::SIGKILL);
    assert!(!status.success());
    let server = start(dir.path(), &[]);
    let count = server.query("count_over_time(load[1h])", 1703001620.0);
    let total: f64 = count["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["value"][1].as_str().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(total as usize, expected, "every acknowledged sample is back after kill -9");
    assert!(server.log_text().contains("WAL replayed"), "{}", server.log_text());

    let status = server.signal_and_wait(libc::SIGTERM);
    assert_eq!(status.code(), Some(0));
    let server = start(dir.path(), &[]);
    assert_eq!(server.query("count(load)", 1703001620.0)["data"]["result"][0]["value"][1], "50");
}

#[test]
fn settings_come_from_flags_env_and_toml() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("strata.toml");
    std::fs::write(
        &config,
        "lookback-delta = \"1m\"\nquery-max-samples = 5\nenable-feature = [\"promql-experimental-functions\", \"promql-duration-expr\", \"promql-extended-range-selectors\"]\n",
    )
    .unwrap();
    let config_arg = format!("--config={}", config.display());
    // The file sets lookback 1m; the environment overrides max samples.
    let server = StrataServer::start_with_env(
        strata(),
        &dir.path().join("data"),
        &[&config_arg],
        &[("STRATA_QUERY_MAX_SAMPLES", "1000")],
    );
    assert_eq!(server.post("/write?precision=s", "text/plain", b"g 1 1703001600").code, 200);
    // 2 minutes later: outside the 1m lookback from the file.
    let later = server.query("g", 1703001720.0);
    assert_eq!(later["data"]["result"], json!([]), "{later}");
    assert_eq!(server.query("g", 1703001630.0)["data"]["result"][0]["value"][1], "1");
    // The file turned experimental functions on.
    let experimental = server.query("limitk(1, g)", 1703001630.0);
    assert_eq!(experimental["data"]["result"][0]["value"][1], "1", "{experimental}");
    let shifted = server.query("g offset (10s * 2)", 1703001650.0);
    assert_eq!(shifted["data"]["result"][0]["value"][1], "1", "{shifted}");
    // And the extended range selectors: halfway between 1 and 3.
    assert_eq!(server.post("/write?precision=s", "text/plain", b"g 3 1703001640").code, 200);
    let smoothed = server.query("g smoothed", 1703001620.0);
    assert_eq!(smoothed["data"]["result"][0]["value"][1], "2", "{smoothed}");
    drop(server);
    let bad = std::process::Command::new(strata())
        .args(["server", "--enable-feature=promql-experimental-functions,bogus"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown feature \"bogus\""), "{bad:?}");

    let bad = std::process::Command::new(strata()).args(["server", "--fsync=sometimes"]).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("fsync"), "{bad:?}");
    std::fs::write(&config, "listn = \"x\"\n").unwrap();
    let bad = std::process::Command::new(strata()).args(["server", &config_arg]).output().unwrap();
    assert!(String::from_utf8_lossy(&bad.stderr).contains("listn"), "{bad:?}");
    let help = std::process::Command::new(strata()).args(["server", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for setting in [
        "--listen",
        "--data-dir",
        "--influx-tcp-listen",
        "--fsync",
        "--max-body-bytes",
        "--enable-feature",
        "STRATA_LISTEN",
        "--config",
    ] {
        assert!(help.contains(setting), "{setting} missing from --help:\n{help}");
    }
}

#[test]
fn the_influx_tcp_listener_batches_lines() {
    let dir = tempfile::tempdir().unwrap();
    let tcp_port = strata_testkit::free_port();
    let listen = format!("--influx-tcp-listen=127.0.0.1:{tcp_port}");
    let server = start(dir.path(), &[&listen, "--tcp-flush-interval=100ms", "--tcp-batch-lines=1000"]);
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", tcp_port)).unwrap();
    for i in 0..10 {
        writeln!(conn, "tcp_test,host=a value={i} {}", (1703001600 + i) * 1_000_000_000i64).unwrap();
    }
    writeln!(conn, "this is not line protocol").unwrap();
    // Not 1000 lines yet: the flush interval sends them.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = server.query("count_over_time(tcp_test[1m])", 1703001610.0);
        if got["data"]["result"][0]["value"][1] == "10" {
            break;
        }
        assert!(Instant::now() < deadline, "TCP lines never arrived: {got}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let metrics = server.get("/metrics").text();
    assert!(metrics.contains("strata_samples_ingested_total{protocol=\"influx_tcp\"} 10"), "{metrics}");
    assert!(metrics.contains("strata_samples_rejected_total{reason=\"parse\"} 1"), "{metrics}");
}

#[test]
fn metrics_and_admin_status_report_the_work_done() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);
    assert_eq!(server.post("/write", "text/plain", SEED_BODY.as_bytes()).code, 200);
    server.query("cpu_usage", 1703001610.0);
    let metrics = server.get("/metrics");
    assert!(metrics.header("content-type").unwrap().starts_with("text/plain; version=0.0.4"));
    let text = metrics.text();
    let mut names = std::collections::BTreeSet::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let sample =
            strata_ingest::exposition::parse_line(line, 1, strata_ingest::exposition::Flavor::Prometheus)
                .unwrap_or_else(|e| panic!("{line}: {e}"))
                .unwrap();
        names.insert(sample.labels.metric_name().unwrap().to_string());
    }
    for name in [
        "strata_samples_ingested_total",
        "strata_samples_rejected_total",
        "strata_head_series",
        "strata_head_chunks",
        "strata_wal_bytes",
        "strata_wal_fsync_duration_seconds_bucket",
        "strata_compactions_total",
        "strata_query_duration_seconds_count",
        "strata_http_requests_total",
        "process_resident_memory_bytes",
    ] {
        assert!(names.contains(name), "{name} missing from /metrics");
    }
    assert!(text.contains("strata_samples_ingested_total{protocol=\"prometheus_text\"} 3"));
    assert!(text.contains("strata_http_requests_total{code=\"200\",handler=\"/write\"} 1"));
    assert!(text.contains("strata_head_series 2\n"));

    let status = server.get("/admin/status").json();
    assert_eq!(status["status"], "healthy", "{status}");
    assert_eq!(status["reasons"], json!([]));
    assert_eq!(status["storage"]["total_series"], 2, "{status}");
    assert_eq!(status["storage"]["total_samples"], 3);
    assert!(status["storage"]["disk_usage_bytes"].as_u64().unwrap() > 0);
    assert_eq!(status["ingestion"]["samples_total"], 3);
    assert_eq!(status["ingestion"]["active_series"], 2);
    assert_eq!(status["query"]["queries_total"], 1);
    assert!(status["query"]["avg_latency_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(server.get("/-/healthy").code, 200);
    assert_eq!(server.get("/-/ready").code, 200);
    // Three samples in two XOR chunks take fewer bytes than 48 raw ones, so more than 1.
    let ratio = status["storage"]["compression_ratio"].as_f64().unwrap();
    assert!(ratio > 1.0, "{status}");
}

/// Every key path of a JSON document with its type, as `a.b number` lines, sorted.
fn key_paths(value: &Value, prefix: &str, out: &mut Vec<String>) {
    if let Value::Object(map) = value {
        for (key, child) in map {
            let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
            let kind = match child {
                Value::Null => "null",
                Value::Bool(_) => "bool",
                Value::Number(_) => "number",
                Value::String(_) => "string",
                Value::Array(_) => "array",
                Value::Object(_) => "object",
            };
            out.push(format!("{path} {kind}"));
            key_paths(child, &path, out);
        }
    }
}

/// `/admin/status` answers the seed's document: its keys and types are those of
/// tests/golden/admin_status.keys, whether the server is healthy or degraded.
#[test]
fn admin_status_has_the_seed_documents_keys() {
    let golden = include_str!("golden/admin_status.keys");
    let want: Vec<&str> = golden.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).collect();
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);
    for status in [server.get("/admin/status").json(), {
        server.post("/write", "text/plain", SEED_BODY.as_bytes());
        server.get("/admin/status").json()
    }] {
        let mut got = Vec::new();
        key_paths(&status, "", &mut got);
        got.sort();
        assert_eq!(got, want, "{status}");
    }
}

/// A block left out as damaged at open makes the server "degraded", and says which.
#[test]
fn admin_status_is_degraded_while_a_damaged_block_is_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let labels = strata_model::Labels::from_pairs([("__name__", "up"), ("job", "a")]).unwrap();
    let block = strata_storage::block::write_block(
        &data,
        vec![strata_storage::block::BlockSeries {
            labels,
            samples: vec![(0, 1.0), (1, 2.0)],
            histograms: Vec::new(),
        }],
    )
    .unwrap();
    std::fs::write(block.dir.join("index"), b"not an index").unwrap();
    let server = start(dir.path(), &[]);
    let status = server.get("/admin/status").json();
    assert_eq!(status["status"], "degraded", "{status}");
    let reasons = status["reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 1, "{status}");
    let reason = reasons[0].as_str().unwrap();
    assert!(reason.starts_with("1 damaged block(s) left out at open"), "{reason}");
    assert!(reason.contains(block.dir.file_name().unwrap().to_str().unwrap()), "{reason}");
}

/// `strata promql --url`: the REPL against a running server prints what it prints over a
/// data dir, and the server's errors with their errorType.
#[test]
fn the_repl_queries_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);
    assert_eq!(server.post("/write", "text/plain", SEED_BODY.as_bytes()).code, 200);
    let session = ".at 1703001620\ncpu_usage\ncount({host=\"server1\"})\n1/0\n\
.range 1703001600 1703001610 10s\nmemory_usage\nrate(cpu_usage)\n";
    let mut child = std::process::Command::new(strata())
        .args(["promql", "--url", &format!("http://127.0.0.1:{}", server.port)])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(session.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(
            "TYPE: instant vector\ncpu_usage{host=\"server1\", region=\"us-east\"} 0.82\nQuery time: "
        ),
        "{stdout}"
    );
    assert!(stdout.contains("{} 2\n"), "{stdout}");
    assert!(stdout.contains("TYPE: scalar\n+Inf\n"), "{stdout}");
    assert!(
        stdout.contains("memory_usage{host=\"server1\"}\n  0.45 @1703001600\n  0.45 @1703001610\n"),
        "{stdout}"
    );
    assert!(stdout.contains("Error (bad_data): "), "the server's error: {stdout}");
}
