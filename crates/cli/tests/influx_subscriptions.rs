//! InfluxDB subscriptions in a running `strata server`: what line protocol writes to a
//! database and retention policy with a subscription is sent on — over UDP to a socket of
//! this test, and over HTTP to a second real `strata server` (InfluxDB's /write, as
//! Kapacitor or another InfluxDB would take it) — with nanosecond timestamps; SHOW
//! SUBSCRIPTIONS and SHOW STATS report them; DROP stops them.

use std::net::UdpSocket;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use strata_testkit::{url_encode, StrataServer};

fn start(data: &Path) -> StrataServer {
    StrataServer::start(Path::new(env!("CARGO_BIN_EXE_strata")), data, &["--retention=0s", "--engine=tsm"])
}

fn influxql(server: &StrataServer, q: &str) -> Value {
    let answer = server.post(&format!("/query?db=db0&epoch=ns&q={}", url_encode(q)), "text/plain", b"");
    assert_eq!(answer.code, 200, "{q}: {}", answer.text());
    answer.json()
}

/// What arrives on `socket` until it has `lines` lines (or `wait` passes).
fn received(socket: &UdpSocket, lines: usize, wait: Duration) -> String {
    let mut got = String::new();
    let mut buffer = vec![0u8; 65_536];
    let deadline = Instant::now() + wait;
    while got.lines().count() < lines && Instant::now() < deadline {
        if let Ok(n) = socket.recv(&mut buffer) {
            got.push_str(std::str::from_utf8(&buffer[..n]).unwrap());
        }
    }
    got
}

#[test]
fn written_points_are_sent_to_the_subscriptions_destinations() {
    let dir = tempfile::tempdir().unwrap();
    let source = start(&dir.path().join("source"));
    let destination = start(&dir.path().join("destination"));
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let udp_url = format!("udp://{}", udp.local_addr().unwrap());
    let http_url = format!("http://127.0.0.1:{}", destination.port);

    influxql(&source, "CREATE DATABASE db0");
    let create = format!(
        "CREATE SUBSCRIPTION \"s\" ON \"db0\".\"autogen\" DESTINATIONS ALL '{udp_url}', '{http_url}'"
    );
    assert_eq!(influxql(&source, &create), json!({"results": [{"statement_id": 0}]}));
    let shown = influxql(&source, "SHOW SUBSCRIPTIONS");
    let expected = json!([{"name": "db0", "columns": ["retention_policy", "name", "mode", "destinations"],
                           "values": [["autogen", "s", "ALL", [udp_url, http_url]]]}]);
    assert_eq!(shown["results"][0]["series"], expected, "{shown}");

    let body = "cpu,host=a value=1 1700000000000000001\ncpu,host=a value=2 1700000000000000002\nbad\n";
    let written = source.post("/write?db=db0", "text/plain", body.as_bytes());
    assert_eq!(written.code, 400, "a partial write: {}", written.text());
    let got = received(&udp, 2, Duration::from_secs(10));
    assert_eq!(got, "cpu,host=a value=1 1700000000000000001\ncpu,host=a value=2 1700000000000000002\n");

    // The HTTP destination stored them, to the nanosecond.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut values = Value::Null;
    while Instant::now() < deadline {
        values = influxql(&destination, "SELECT value FROM cpu")["results"][0]["series"][0]["values"].clone();
        if values.as_array().is_some_and(|v| v.len() == 2) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(values, json!([[1700000000000000001i64, 1], [1700000000000000002i64, 2]]));

    let stats = influxql(&source, "SHOW STATS FOR 'subscriber'");
    let series = &stats["results"][0]["series"][0];
    assert_eq!(series["name"], "subscriber", "{stats}");
    assert_eq!(series["columns"], json!(["createFailures", "pointsWritten", "writeFailures"]));
    assert_eq!(series["values"], json!([[0, 4, 0]]), "2 points to each of 2 destinations");

    // A write to another retention policy is not sent; after DROP nothing is.
    influxql(&source, "CREATE RETENTION POLICY other ON db0 DURATION 1d REPLICATION 1");
    assert_eq!(source.post("/write?db=db0&rp=other", "text/plain", b"cpu value=3 1\n").code, 204);
    assert_eq!(
        influxql(&source, "DROP SUBSCRIPTION \"s\" ON \"db0\".\"autogen\""),
        json!({"results": [{"statement_id": 0}]})
    );
    assert_eq!(source.post("/write?db=db0", "text/plain", b"cpu value=4 2\n").code, 204);
    assert_eq!(
        received(&udp, 1, Duration::from_millis(1500)),
        "",
        "nothing is sent for another policy, nor after DROP"
    );
    assert_eq!(influxql(&source, "SHOW SUBSCRIPTIONS")["results"][0].get("series"), None);

    let https = "CREATE SUBSCRIPTION t ON db0.autogen DESTINATIONS ANY 'https://127.0.0.1:1'";
    let refused = influxql(&source, https)["results"][0]["error"].clone();
    assert!(
        refused.as_str().unwrap().contains("https subscription destinations are not supported"),
        "{refused}"
    );
}
