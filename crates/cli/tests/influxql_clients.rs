//! InfluxDB's own clients read Strata as they read InfluxDB: the `influx` CLI (Debian
//! `influxdb-client`), the official Python client (`influxdb` on PyPI) and the exact
//! requests of Grafana's InfluxDB data source. The same line protocol goes into a real
//! influxd 1.6 and into `strata server`; every client call is made against both and the
//! answers must be equal (Grafana's byte for byte).
//!
//! Under CI=true a missing peer or client fails the test; elsewhere it says SKIPPED.

use std::path::Path;
use std::process::Command;

use strata_testkit::{get, peer_binary, post, python_module, url_encode, InfluxDb, StrataServer};

const DB: &str = "telegraf";

/// Both servers, holding the same data: 15 minutes at 10 s for hosts a, b and c, ending a
/// minute ago, in `cpu` (usage_idle, usage_user), `mem` (value) and `net` (a counter).
struct Peers {
    influx: InfluxDb,
    strata: StrataServer,
    /// The first point's time, in seconds.
    start: i64,
    _dir: tempfile::TempDir,
}

fn peers() -> Option<Peers> {
    let influxd = peer_binary("influxd", "influxdb")?;
    let dir = tempfile::tempdir().unwrap();
    let influx = InfluxDb::start(&influxd, &dir.path().join("influxdb"), "");
    let strata =
        StrataServer::start(Path::new(env!("CARGO_BIN_EXE_strata")), &dir.path().join("strata"), &[]);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let start = (now - 16 * 60) / 60 * 60;
    let lines = data(start);
    for port in [influx.port, strata.port] {
        let created =
            post(port, &format!("/query?q={}", url_encode(&format!("CREATE DATABASE {DB}"))), "", b"");
        assert_eq!(created.map(|r| r.code), Some(200));
        let path = format!("/write?db={DB}&precision=s");
        let written = post(port, &path, "text/plain", lines.as_bytes()).expect("write answered");
        assert_eq!(written.code, 204, "port {port}: {}", written.text());
    }
    Some(Peers { influx, strata, start, _dir: dir })
}

fn data(start: i64) -> String {
    let mut out = String::new();
    for i in 0..90i64 {
        let t = start + i * 10;
        for (h, host) in ["a", "b", "c"].iter().enumerate() {
            let h = h as i64;
            let idle = 50.0 + ((i * 7 + h * 13) % 40) as f64 + 0.25;
            let user = i as f64 * 0.5 + h as f64;
            out.push_str(&format!("cpu,host={host},region=eu usage_idle={idle},usage_user={user} {t}\n"));
            out.push_str(&format!("mem,host={host} value={} {t}\n", 1000 + i * 3 + h));
            out.push_str(&format!("net,host={host} bytes_recv={} {t}\n", i * i * 100 + h * 7));
        }
    }
    out
}

/// What `influx -execute q -format json` prints against `port`.
fn influx_cli(influx: &Path, port: u16, q: &str) -> serde_json::Value {
    let out = Command::new(influx)
        .args(["-host", "127.0.0.1", "-port", &port.to_string(), "-database", DB, "-execute", q])
        .args(["-format", "json"])
        .output()
        .expect("influx runs");
    assert!(
        out.status.success(),
        "influx -execute {q:?} on port {port}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{q}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn the_influx_cli_reads_strata_as_it_reads_influxdb() {
    let Some(influx) = peer_binary("influx", "influxdb-client") else { return };
    let Some(p) = peers() else { return };
    let start_ns = p.start * 1_000_000_000;
    let queries = [
        "SHOW MEASUREMENTS".to_string(),
        "SHOW TAG KEYS".into(),
        "SHOW TAG VALUES WITH KEY = host".into(),
        "SHOW TAG VALUES FROM cpu WITH KEY IN (host, region)".into(),
        "SHOW FIELD KEYS FROM cpu".into(),
        "SHOW SERIES FROM cpu".into(),
        "SHOW RETENTION POLICIES".into(),
        "SELECT * FROM cpu WHERE host = 'a' AND time > now() - 1h".into(),
        "SELECT usage_idle, usage_user * 2 AS twice FROM cpu WHERE host =~ /^[ab]$/ AND time > now() - 1h LIMIT 5"
            .into(),
        // An aggregate over `now() - 1h` is stamped with that moment, which differs between
        // the servers: the range is absolute here.
        format!("SELECT mean(usage_idle), max(usage_user) FROM cpu WHERE time >= {start_ns} GROUP BY host"),
        format!("SELECT count(value), last(value) FROM mem WHERE time >= {start_ns} GROUP BY time(1m), host fill(none)"),
        format!(
            "SELECT non_negative_derivative(max(bytes_recv), 1s) FROM net WHERE time >= {start_ns} \
             AND time < {start_ns} + 10m GROUP BY time(1m), host"
        ),
        "SELECT top(usage_idle, host, 2) FROM cpu".into(),
        "SHOW MEASUREMENTS; SELECT last(value) FROM mem GROUP BY host".into(),
        // A count of 0 is no limit (fuzzing found Strata answering no rows).
        "SELECT usage_idle FROM cpu WHERE host = 'b' AND time > now() - 1h LIMIT 0 SLIMIT 0".into(),
        "SHOW MEASUREMENTS LIMIT 0".into(),
    ];
    for q in &queries {
        let theirs = influx_cli(&influx, p.influx.port, q);
        let ours = influx_cli(&influx, p.strata.port, q);
        assert_eq!(ours, theirs, "influx -execute {q:?}");
    }
}

/// The official Python client's calls, printed as JSON (argv[1]: the port, argv[2]: the
/// first point's time in s).
const PYTHON_CLIENT: &str = r#"
import json, sys
from influxdb import InfluxDBClient
port, start = int(sys.argv[1]), int(sys.argv[2])
c = InfluxDBClient(host="127.0.0.1", port=port, database="telegraf")
out = {
    "databases": sorted(d["name"] for d in c.get_list_database()),
    "measurements": c.get_list_measurements(),
    "policies": c.get_list_retention_policies("telegraf"),
    "series": c.get_list_series("telegraf", measurement="mem"),
}
queries = [
    "SELECT * FROM mem WHERE host = 'b' AND time > now() - 1h",
    "SELECT mean(usage_idle) AS idle FROM cpu WHERE time >= %ds GROUP BY time(5m), host fill(null)" % start,
    "SELECT percentile(usage_idle, 90), spread(usage_user) FROM cpu WHERE time >= %ds GROUP BY region" % start,
]
for q in queries:
    rs = c.query(q, epoch="s")
    out[q] = [[list(k), list(points)] for k, points in rs.items()]
bound = c.query("SELECT last(value) FROM mem WHERE host = $host", bind_params={"host": "c"}, epoch="ms")
out["bound"] = list(bound.get_points())
print(json.dumps(out, sort_keys=True))
"#;

fn python_client(port: u16, start: i64) -> serde_json::Value {
    let out = Command::new("python3")
        .args(["-c", PYTHON_CLIENT, &port.to_string(), &start.to_string()])
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "python client on port {port}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_python_client_reads_strata_as_it_reads_influxdb() {
    if !python_module("influxdb", "influxdb") {
        return;
    }
    let Some(p) = peers() else { return };
    let theirs = python_client(p.influx.port, p.start);
    let ours = python_client(p.strata.port, p.start);
    for (key, expected) in theirs.as_object().unwrap() {
        assert_eq!(&ours[key], expected, "python client: {key}");
    }
}

#[test]
fn grafanas_requests_are_answered_byte_for_byte_as_influxdb_answers_them() {
    let Some(p) = peers() else { return };
    let (from_ms, to_ms) = (p.start * 1000, (p.start + 15 * 60) * 1000);
    let queries = [
        "SHOW measurements".to_string(),
        "SHOW MEASUREMENTS LIMIT 1".into(),
        "SHOW TAG VALUES FROM \"cpu\" WITH KEY = \"host\"".into(),
        format!(
            "SELECT mean(\"value\") FROM \"mem\" WHERE time >= {from_ms}ms and time <= {to_ms}ms \
             GROUP BY time(10s), \"host\" fill(null)"
        ),
        format!(
            "SELECT mean(\"usage_idle\") FROM \"cpu\" WHERE (\"host\" = 'a') AND time >= {from_ms}ms and \
             time <= {to_ms}ms GROUP BY time(1m) fill(none)"
        ),
        format!(
            "SELECT derivative(mean(\"bytes_recv\"), 10s) FROM \"net\" WHERE time >= {from_ms}ms and \
             time <= {to_ms}ms GROUP BY time(30s), \"host\" fill(null)"
        ),
    ];
    for q in &queries {
        let path = format!("/query?db={DB}&epoch=ms&q={}", url_encode(q));
        let (their_code, theirs) = get(p.influx.port, &path).expect("influxd answers");
        let (our_code, ours) = get(p.strata.port, &path).expect("strata answers");
        assert_eq!((our_code, ours.trim()), (their_code, theirs.trim()), "GET /query q={q}");
    }
}
