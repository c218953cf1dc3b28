//! Resource limits on `strata server`: query slots (`--query-max-concurrency`), open
//! connections (`--max-connections`), and their figures in /metrics and /admin/status.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use strata_testkit::{get, request, url_encode, StrataServer};

fn strata() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_strata"))
}

fn metric(server: &StrataServer, name: &str) -> f64 {
    let text = server.get("/metrics").text();
    let prefix = format!("{name} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("{name} missing from /metrics"))
        .parse()
        .unwrap()
}

/// With one query slot taken by a slow query, a query whose timeout ends before the slot
/// frees gets 503 naming the limit, and the refusal is counted; once the slow query ends,
/// queries run again.
#[test]
fn a_query_past_the_concurrency_limit_waits_its_timeout_then_gets_503() {
    let dir = tempfile::tempdir().unwrap();
    let server = StrataServer::start(strata(), &dir.path().join("data"), &["--query-max-concurrency=1"]);
    let port = server.port;
    // A subquery over a long range at 1 s steps keeps the one slot busy for a while; if it
    // ends before the second query's timeout, try a longer one (the machine may be fast).
    for days in [7, 30, 120] {
        let slow = format!(
            "/api/v1/query?query={}&time=1700000000",
            url_encode(&format!("count_over_time(vector(1)[{days}d:1s])"))
        );
        let slow_query = std::thread::spawn(move || request(port, "GET", &slow, &[], b"").unwrap());
        let deadline = Instant::now() + Duration::from_secs(10);
        while metric(&server, "strata_queries_running") < 1.0 && !slow_query.is_finished() {
            assert!(Instant::now() < deadline, "the slow query never started");
            std::thread::sleep(Duration::from_millis(5));
        }
        let refused = server.get("/api/v1/query?query=1%2B1&timeout=200ms");
        if slow_query.is_finished() {
            let _ = slow_query.join();
            continue;
        }
        assert_eq!(refused.code, 503, "{}", refused.text());
        assert!(
            refused.text().contains("too many concurrent queries (query-max-concurrency is 1)"),
            "{}",
            refused.text()
        );
        assert_eq!(metric(&server, "strata_queries_refused_total"), 1.0);
        let status = server.get("/admin/status").json();
        assert_eq!(status["limits"]["queries_running"], 1, "{status}");
        assert_eq!(status["limits"]["query_max_concurrency"], 1, "{status}");
        let slow = slow_query.join().unwrap();
        assert_eq!(slow.code, 200, "{}", slow.text());
        assert_eq!(server.get("/api/v1/query?query=1%2B1").code, 200);
        return;
    }
    panic!("the slow query never outlasted a 200 ms wait");
}

/// With two connections allowed, a third waits unanswered until one of the two closes.
#[test]
fn connections_past_the_limit_wait_until_one_closes() {
    let dir = tempfile::tempdir().unwrap();
    let server = StrataServer::start(strata(), &dir.path().join("data"), &["--max-connections=2"]);
    // Two idle keep-alive connections hold both slots.
    let hold = || {
        let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        write!(stream, "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        stream
    };
    let (first, _second) = (hold(), hold());
    std::thread::sleep(Duration::from_millis(200));
    let port = server.port;
    let third = std::thread::spawn(move || get(port, "/-/healthy"));
    std::thread::sleep(Duration::from_millis(500));
    assert!(!third.is_finished(), "a third connection was served past the limit");
    drop(first);
    let answer = third.join().unwrap();
    assert_eq!(answer.map(|(code, _)| code), Some(200));
    // Served over a fresh connection (the first is closed now): 2 open at most.
    let open = metric(&server, "strata_http_connections_open");
    assert!((1.0..=2.0).contains(&open), "{open}");
    assert_eq!(metric(&server, "strata_http_max_connections"), 2.0);
}
