//! Hostile input over HTTP (issue #28): a corpus of malformed requests against every kind
//! of endpoint — truncated and oversized bodies, bad gzip and snappy, wrong content types,
//! deep and huge PromQL and InfluxQL, label names and values past the limits, non-UTF-8,
//! timestamps at the i64 extremes, NaN and Inf, thousands of labels on one series, a
//! compression bomb, slow clients. Each case must be answered with its expected status and
//! a message naming the problem; after every case the server must still answer its health
//! check; valid lines of a partial write must be kept; and the server's memory must stay
//! bounded. The cases are this file: add one for every new way in.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use strata_testkit::{request, url_encode, StrataServer};

fn strata() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_strata"))
}

/// The server's body limit in these tests (set with --max-body-bytes).
const BODY_LIMIT: usize = 1 << 20;

struct Case {
    name: &'static str,
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    /// Acceptable status codes.
    expect: &'static [u16],
    /// Words the answer must contain (case-insensitive): what was wrong, and where.
    says: &'static [&'static str],
}

fn case(name: &'static str, method: &'static str, path: impl Into<String>, body: impl Into<Vec<u8>>) -> Case {
    Case {
        name,
        method,
        path: path.into(),
        headers: Vec::new(),
        body: body.into(),
        expect: &[400],
        says: &[],
    }
}

impl Case {
    fn header(mut self, name: &'static str, value: impl Into<String>) -> Case {
        self.headers.push((name, value.into()));
        self
    }
    fn expect(mut self, codes: &'static [u16]) -> Case {
        self.expect = codes;
        self
    }
    fn says(mut self, words: &'static [&'static str]) -> Case {
        self.says = words;
        self
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn snappy(bytes: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new().compress_vec(bytes).unwrap()
}

fn lp(path: &str) -> String {
    format!("/api/v2/write?bucket=hostile&precision={path}")
}

fn query(q: &str) -> String {
    format!("/api/v1/query?query={}&time=1700000000", url_encode(q))
}

/// Every case. Statuses follow Prometheus (400 bad data, 413 too large, 415/400 content
/// type, 422 execution) and InfluxDB for its endpoints.
fn corpus() -> Vec<Case> {
    let remote = |body: Vec<u8>| {
        case("", "POST", "/api/v1/write", body)
            .header("Content-Type", "application/x-protobuf")
            .header("Content-Encoding", "snappy")
    };
    let mut cases = vec![
        // Line protocol.
        case("lp: truncated line", "POST", lp("ns"), "cpu,host=a value=").says(&["line 1"]),
        case("lp: no fields", "POST", lp("ns"), "cpu,host=a 1700000000000000000\n").says(&["line 1"]),
        case("lp: unterminated string field", "POST", lp("ns"), "cpu value=1,s=\"abc 1\n").says(&["line 1"]),
        case("lp: bad timestamp", "POST", lp("ns"), "cpu value=1 17e9\n").says(&["line 1"]),
        case(
            "lp: i64 max timestamp in seconds overflows",
            "POST",
            lp("s"),
            "cpu value=1 9223372036854775807\n",
        )
        .says(&["line 1"]),
        case("lp: i64 min timestamp", "POST", lp("ns"), "cpu value=1 -9223372036854775808\n")
            .expect(&[204, 400]),
        case("lp: timestamp past i64", "POST", lp("ns"), "cpu value=1 9223372036854775808\n")
            .says(&["line 1"]),
        case("lp: NaN field", "POST", lp("ns"), "cpu value=NaN 1\n").expect(&[204, 400]),
        case("lp: non-UTF-8 tag", "POST", lp("ns"), b"cpu,host=\xff\xfe value=1 1\n".to_vec())
            .says(&["line 1", "utf-8"]),
        case(
            "lp: bad precision",
            "POST",
            "/api/v2/write?bucket=hostile&precision=fortnights",
            "cpu value=1 1\n",
        )
        .says(&["precision"]),
        case("lp: corrupt gzip", "POST", lp("ns"), gzip(b"cpu value=1 1\n")[..12].to_vec())
            .header("Content-Encoding", "gzip")
            .says(&["gzip"]),
        case("lp: unknown content encoding", "POST", lp("ns"), "cpu value=1 1\n")
            .header("Content-Encoding", "br")
            .expect(&[400, 415])
            .says(&["br"]),
        case("lp: oversized body", "POST", lp("ns"), "cpu value=1 1\n".repeat(BODY_LIMIT / 14 + 10))
            .expect(&[413])
            .says(&["limit"]),
        case("lp: gzip bomb (64 MiB of zeros)", "POST", lp("ns"), gzip(&vec![b'0'; 64 << 20]))
            .header("Content-Encoding", "gzip")
            .expect(&[413])
            .says(&["limit"]),
        case("lp: an empty tag key", "POST", lp("ns"), "cpu,=a value=1 1\n").says(&["line 1"]),
        case("lp: 10,000 tags on one series", "POST", lp("ns"), {
            let tags: String = (0..10_000).map(|i| format!(",t{i}=v")).collect();
            format!("cpu{tags} value=1 1\n")
        })
        .expect(&[204, 400]),
        case(
            "lp: a 512 KiB tag value",
            "POST",
            lp("ns"),
            format!("cpu,h={} value=1 1\n", "x".repeat(512 << 10)),
        )
        .expect(&[204, 400]),
        // The Prometheus text format.
        case("text: bad label name", "POST", "/api/v1/import/prometheus", "up{1a=\"b\"} 1\n")
            .says(&["line 1"]),
        case("text: unclosed braces", "POST", "/api/v1/import/prometheus", "up{a=\"b\" 1\n")
            .says(&["line 1"]),
        case("text: bad value", "POST", "/api/v1/import/prometheus", "up 1.2.3\n").says(&["line 1"]),
        case("text: Inf123", "POST", "/api/v1/import/prometheus", "up Inf123\n").says(&["line 1"]),
        case("text: NaN, +Inf, -Inf values", "POST", "/api/v1/import/prometheus", "a NaN\nb +Inf\nc -Inf\n")
            .expect(&[200, 204]),
        case("text: a bad escape in a label value", "POST", "/api/v1/import/prometheus", "up{a=\"\\q\"} 1\n")
            .expect(&[204, 400]),
        case("text: timestamp at i64 max", "POST", "/api/v1/import/prometheus", "up 1 9223372036854775807\n")
            .expect(&[204, 400]),
        case("text: line 3 of 3 bad", "POST", "/api/v1/import/prometheus", "a 1\nb 2\nc{ 3\n")
            .says(&["line 3"]),
        // Remote write.
        remote(b"not snappy at all".to_vec()).says(&["snappy"]),
        remote(snappy(b"\xff\xff\xff\xff\xff\xff")).says(&["protobuf"]),
        remote({
            // A snappy header claiming 4 GiB.
            let mut body = vec![0x80, 0x80, 0x80, 0x80, 0x10];
            body.extend_from_slice(b"tiny");
            body
        })
        .expect(&[400, 413]),
        remote(snappy(&[0x0a, 0x05, 0x0a, 0x03, 0x0a, 0x01])).says(&["truncated", "series 1", "byte 0"]),
        case("rw: wrong content type", "POST", "/api/v1/write", snappy(b""))
            .header("Content-Type", "application/x-protobuf;proto=io.example.Nope")
            .header("Content-Encoding", "snappy")
            .expect(&[400, 415])
            .says(&["io.example.Nope"]),
        // OTLP.
        case("otlp: garbage protobuf", "POST", "/api/v1/otlp/v1/metrics", b"\xff\xff\xff".to_vec())
            .header("Content-Type", "application/x-protobuf")
            .says(&["protobuf"]),
        case("otlp: bad JSON", "POST", "/api/v1/otlp/v1/metrics", "{\"resourceMetrics\": [")
            .header("Content-Type", "application/json")
            .says(&["json"]),
        case("otlp: unknown content type", "POST", "/api/v1/otlp/v1/metrics", "x")
            .header("Content-Type", "text/csv")
            .expect(&[400, 415]),
        // PromQL.
        case(
            "promql: 10,000 nested parentheses",
            "GET",
            query(&format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000))),
            "",
        )
        .says(&["deep"]),
        case(
            "promql: 100,000 operators (POST form)",
            "POST",
            "/api/v1/query",
            format!("query={}", url_encode(&vec!["1"; 100_000].join("+"))),
        )
        .header("Content-Type", "application/x-www-form-urlencoded")
        .says(&["operators"]),
        // hyper refuses a request line past 64 KiB before any handler runs (a bare 414).
        case("promql: a 200 KiB URL", "GET", query(&"1+".repeat(100_000)), "").expect(&[414]),
        case("promql: unterminated string", "GET", query("up{a=\"b}"), "").says(&["string"]),
        case("promql: non-UTF-8", "GET", "/api/v1/query?query=up%FF%FE&time=1", "").says(&["utf-8"]),
        case("promql: bad regex", "GET", query("up{a=~\"(\"}"), "").says(&["regex"]),
        case("promql: time NaN", "GET", "/api/v1/query?query=up&time=NaN", "").says(&["time"]),
        case("promql: time at i64 max", "GET", "/api/v1/query?query=up&time=9223372036854775807", "")
            .expect(&[200, 400]),
        case(
            "promql: too many points",
            "GET",
            "/api/v1/query_range?query=up&start=0&end=100000000&step=1",
            "",
        )
        .says(&["11,000"]),
        case("promql: step zero", "GET", "/api/v1/query_range?query=up&start=0&end=10&step=0", "")
            .says(&["step"]),
        case("promql: end before start", "GET", "/api/v1/query_range?query=up&start=10&end=0&step=1", "")
            .says(&["end"]),
        case("promql: no query", "GET", "/api/v1/query", "").says(&["query"]),
        case("promql: a form body that is not a form", "POST", "/api/v1/query", b"\xff=\xfe".to_vec())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .expect(&[400]),
        case("series: no match[]", "GET", "/api/v1/series", "").says(&["match"]),
        case("series: bad selector", "GET", "/api/v1/series?match[]=%7B", "").expect(&[400]),
        case("label values: non-UTF-8 name", "GET", "/api/v1/label/%FF%FE/values", "").expect(&[400]),
        // InfluxQL.
        case("influxql: incomplete", "GET", "/query?q=SELECT", "").expect(&[200, 400]).says(&["line 1"]),
        case(
            "influxql: 10,000 nested parentheses",
            "GET",
            format!(
                "/query?q={}",
                url_encode(&format!("SELECT {}1{} FROM m", "(".repeat(10_000), ")".repeat(10_000)))
            ),
            "",
        )
        .expect(&[200, 400]),
        // Remote read.
        case("read: not snappy", "POST", "/api/v1/read", "nope")
            .header("Content-Type", "application/x-protobuf")
            .expect(&[400]),
        case("read: garbage protobuf", "POST", "/api/v1/read", snappy(b"\xff\xff"))
            .header("Content-Type", "application/x-protobuf")
            .expect(&[400]),
        // Admin.
        case("delete: no match[]", "POST", "/api/v1/admin/tsdb/delete_series", "").says(&["match"]),
    ];
    for c in &mut cases {
        if c.name.is_empty() {
            c.name = "rw: malformed body";
        }
    }
    cases
}

fn healthy(server: &StrataServer) -> bool {
    request(server.port, "GET", "/-/healthy", &[], b"").is_some_and(|r| r.code == 200)
}

#[test]
fn every_hostile_request_gets_a_clear_4xx_and_the_server_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        StrataServer::start(strata(), &dir.path().join("data"), &[&format!("--max-body-bytes={BODY_LIMIT}")]);
    let cases = corpus();
    let mut failures = Vec::new();
    for c in &cases {
        let headers: Vec<(&str, &str)> = c.headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        match request(server.port, c.method, &c.path, &headers, &c.body) {
            None => failures.push(format!("{}: no answer", c.name)),
            Some(answer) => {
                let text = answer.text().to_lowercase();
                if !c.expect.contains(&answer.code) {
                    failures.push(format!(
                        "{}: status {} (expected {:?}): {}",
                        c.name,
                        answer.code,
                        c.expect,
                        answer.text()
                    ));
                } else if answer.code >= 400 && answer.code != 414 && text.trim().is_empty() {
                    failures.push(format!("{}: a {} with no message", c.name, answer.code));
                } else if answer.code >= 400 {
                    for word in c.says {
                        if !text.contains(&word.to_lowercase()) {
                            failures.push(format!(
                                "{}: the message does not say {word:?}: {}",
                                c.name,
                                answer.text()
                            ));
                        }
                    }
                }
            }
        }
        assert!(healthy(&server), "the server stopped answering after {:?}:\n{}", c.name, server.log_text());
    }
    println!("hostile HTTP: {} cases tried, {} failed", cases.len(), failures.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    let rss = server.resident_bytes();
    assert!(rss < 1 << 30, "resident memory {rss} bytes after the corpus");
}

#[test]
fn the_valid_lines_of_a_partial_write_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let server = StrataServer::start(strata(), &dir.path().join("data"), &[]);
    let body = "good_one value=1 1700000000000\nbad line here\ngood_two value=2 1700000000000\ncpu,=x value=3 1700000000000\n";
    let answer = server.post(&lp("ms"), "text/plain", body.as_bytes());
    assert_eq!(answer.code, 400, "{}", answer.text());
    let text = answer.text();
    assert!(text.contains("line 2") && text.contains("line 4"), "{text}");
    for (metric, value) in [("good_one", "1"), ("good_two", "2")] {
        let result = server.query(metric, 1_700_000_000.0);
        assert_eq!(result["data"]["result"][0]["value"][1], value, "{metric}: {result}");
    }
}

#[test]
fn slow_clients_do_not_stop_the_server_from_answering_others() {
    let dir = tempfile::tempdir().unwrap();
    let server = StrataServer::start(strata(), &dir.path().join("data"), &["--max-connections=64"]);
    // 40 connections that send half a request line and stall (slowloris).
    let mut slow: Vec<TcpStream> = (0..40)
        .filter_map(|_| {
            let mut stream = TcpStream::connect(("127.0.0.1", server.port)).ok()?;
            stream.write_all(b"GET /api/v1/query?query=up HTTP/1.1\r\nHost: x\r\nX-Slow: ").ok()?;
            Some(stream)
        })
        .collect();
    assert_eq!(slow.len(), 40);
    for _ in 0..5 {
        assert!(healthy(&server), "a stalled client blocked the health check");
        std::thread::sleep(Duration::from_millis(200));
    }
    // A body that trickles in is waited for, then answered.
    let mut trickle = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    trickle.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let body = b"trickle value=1 1700000000000\n";
    write!(
        trickle,
        "POST {} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        lp("ms"),
        body.len()
    )
    .unwrap();
    for byte in body {
        trickle.write_all(&[*byte]).unwrap();
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut answer = String::new();
    let _ = trickle.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");
    slow.clear();
    assert!(healthy(&server));
}

/// `--http-header-read-timeout`: a connection whose request head has not arrived within the
/// deadline is closed, so stalled clients cannot keep every `--max-connections` slot; with
/// all slots held by them, a new client is answered once the deadline frees them.
#[test]
fn stalled_request_heads_are_cut_off_at_the_header_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let server = StrataServer::start(
        strata(),
        &dir.path().join("data"),
        &["--max-connections=8", "--http-header-read-timeout=1s"],
    );
    let started = std::time::Instant::now();
    let mut slow: Vec<TcpStream> = (0..8)
        .map(|_| {
            let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
            stream.write_all(b"GET /api/v1/query?query=up HTTP/1.1\r\nHost: x\r\nX-Slow: ").unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            stream
        })
        .collect();
    // Every slot is taken; this client waits in the backlog until the deadline frees one.
    assert!(healthy(&server), "the health check was not answered once the stalled heads were cut off");
    for stream in &mut slow {
        let mut rest = Vec::new();
        // The server closes the connection (EOF, or a reset): a read does not wait 20 s.
        let _ = stream.read_to_end(&mut rest);
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(15), "stalled connections were held {took:?}");
    // An idle keep-alive connection is closed at the deadline too.
    let mut idle = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    idle.write_all(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let idle_since = std::time::Instant::now();
    let mut all = Vec::new();
    let _ = idle.read_to_end(&mut all);
    let text = String::from_utf8_lossy(&all);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        idle_since.elapsed() < Duration::from_secs(15),
        "an idle connection was held {:?}",
        idle_since.elapsed()
    );
}

/// The line-protocol TCP listener: a line that never ends is cut off at max-body-bytes and
/// its connection closed (the buffer does not grow with it); lines before it are kept.
#[test]
fn an_endless_tcp_line_is_cut_off_and_memory_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let tcp_port = strata_testkit::free_port();
    let server = StrataServer::start(
        strata(),
        &dir.path().join("data"),
        &[
            &format!("--max-body-bytes={BODY_LIMIT}"),
            &format!("--influx-tcp-listen=127.0.0.1:{tcp_port}"),
            "--tcp-flush-interval=50ms",
        ],
    );
    let before = server.resident_bytes();
    let mut stream = TcpStream::connect(("127.0.0.1", tcp_port)).unwrap();
    stream.write_all(b"kept_line value=1 1700000000000000000\n").unwrap();
    // 256 MiB with no newline: the server must close the connection long before.
    let chunk = vec![b'x'; 1 << 20];
    let mut sent = 0usize;
    while sent < 256 << 20 {
        if stream.write_all(&chunk).is_err() {
            break;
        }
        sent += chunk.len();
    }
    assert!(sent < 256 << 20, "the server read 256 MiB of one line without closing the connection");
    let grown = server.resident_bytes().saturating_sub(before);
    assert!(grown < 64 << 20, "resident memory grew by {grown} bytes");
    assert!(healthy(&server));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let result = server.query("kept_line", 1_700_000_000.0);
        if result["data"]["result"][0]["value"][1] == "1" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the line before the endless one was not kept: {result}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
