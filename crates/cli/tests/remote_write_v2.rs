//! Remote write 2.0 on `POST /api/v1/write`, negotiated by `Content-Type`: symbols and
//! label references, the written-count headers, 415 for what is not remote write, and the
//! partial-write policy. The messages are encoded here from the .proto's field numbers
//! (../shared/specs/remote-write-notes.md), independently of the server's decoder.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message;
use strata_testkit::remote_write_v2::{BucketSpan, Histogram, Request, Sample, TimeSeries};
use strata_testkit::{request, HttpResponse, StrataServer};

const V2: &str = "application/x-protobuf;proto=io.prometheus.write.v2.Request";

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

fn send(server: &StrataServer, content_type: &str, encoding: &str, body: &Request) -> HttpResponse {
    let compressed = snap::raw::Encoder::new().compress_vec(&body.encode_to_vec()).unwrap();
    let headers = [("Content-Type", content_type), ("Content-Encoding", encoding)];
    request(server.port, "POST", "/api/v1/write", &headers, &compressed).expect("server answers")
}

fn header<'a>(answer: &'a HttpResponse, name: &str) -> Option<&'a str> {
    answer.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

fn symbols(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn remote_write_2_is_negotiated_stored_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let server = StrataServer::start(Path::new(env!("CARGO_BIN_EXE_strata")), &dir.path().join("data"), &[]);
    let t = now_ms();
    let sample = |value, timestamp| Sample { value, timestamp, start_timestamp: t - 60_000 };
    let body = Request {
        symbols: symbols(&["", "__name__", "http_requests_total", "job", "api", "code", "200", "500"]),
        timeseries: vec![
            TimeSeries {
                labels_refs: vec![1, 2, 3, 4, 5, 6],
                samples: vec![sample(10.0, t - 1000), sample(12.0, t)],
                ..Default::default()
            },
            TimeSeries {
                labels_refs: vec![1, 2, 3, 4, 5, 7],
                samples: vec![sample(1.0, t)],
                ..Default::default()
            },
        ],
    };
    let answer = send(&server, V2, "snappy", &body);
    assert_eq!(answer.code, 204, "{}", answer.text());
    assert_eq!(header(&answer, "x-prometheus-remote-write-samples-written"), Some("3"));
    assert_eq!(header(&answer, "x-prometheus-remote-write-histograms-written"), Some("0"));
    let result = server.query("sum by (code) (http_requests_total{job=\"api\"})", t as f64 / 1000.0);
    let mut got: Vec<(String, String)> = result["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (s["metric"]["code"].as_str().unwrap().to_string(), s["value"][1].as_str().unwrap().to_string())
        })
        .collect();
    got.sort();
    assert_eq!(got, [("200".to_string(), "12".to_string()), ("500".to_string(), "1".to_string())]);

    // A native histogram is stored and counted in its header.
    let latency = Histogram {
        count_int: 5,
        sum: 2.5,
        zero_count_int: 1,
        positive_spans: vec![BucketSpan { offset: 0, length: 2 }],
        positive_deltas: vec![3, -2], // counts 3 and 1
        timestamp: t,
        ..Default::default()
    };
    let good = Request {
        symbols: symbols(&["", "__name__", "latency"]),
        timeseries: vec![TimeSeries {
            labels_refs: vec![1, 2],
            histograms: vec![latency],
            ..Default::default()
        }],
    };
    let answer = send(&server, V2, "snappy", &good);
    assert_eq!(answer.code, 204, "{}", answer.text());
    assert_eq!(header(&answer, "x-prometheus-remote-write-histograms-written"), Some("1"));
    assert_eq!(header(&answer, "x-prometheus-remote-write-samples-written"), Some("0"));

    // A malformed histogram (its count is not its buckets') is refused with its reason, a
    // bad reference names its series; the rest is written, the answer is 400 and still
    // counts what was written.
    let mixed = Request {
        symbols: symbols(&["", "__name__", "latency", "queue_depth"]),
        timeseries: vec![
            TimeSeries {
                labels_refs: vec![1, 2],
                histograms: vec![Histogram { count_int: 3, timestamp: t + 1000, ..Default::default() }],
                ..Default::default()
            },
            TimeSeries { labels_refs: vec![1, 9], samples: vec![sample(1.0, t)], ..Default::default() },
            TimeSeries { labels_refs: vec![1, 3], samples: vec![sample(4.0, t)], ..Default::default() },
        ],
    };
    let answer = send(&server, V2, "snappy", &mixed);
    assert_eq!(answer.code, 400, "{}", answer.text());
    let text = answer.text();
    assert!(text.contains("line 2: label reference 9 is past the 4 symbols"), "{text}");
    assert!(text.contains("invalid native histogram"), "{text}");
    assert_eq!(header(&answer, "x-prometheus-remote-write-histograms-written"), Some("0"));
    assert_eq!(header(&answer, "x-prometheus-remote-write-samples-written"), Some("1"));

    // What is not remote write is 415; a corrupt body or a bad symbol table 400.
    assert_eq!(send(&server, "application/json", "snappy", &body).code, 415);
    assert_eq!(send(&server, V2, "gzip", &body).code, 415);
    let bad_symbols = Request { symbols: symbols(&["x"]), timeseries: Vec::new() };
    let answer = send(&server, V2, "snappy", &bad_symbols);
    assert_eq!((answer.code, answer.text().contains("symbols[0]")), (400, true), "{}", answer.text());
    let garbage = request(server.port, "POST", "/api/v1/write", &[("Content-Type", V2)], b"\xff\x00garbage");
    assert_eq!(garbage.map(|a| a.code), Some(400));
}
