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
    let mut refusals = 0.0;
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
        // The slow query may free its slot inside those 200 ms while its thread is still
        // reading the answer: a 200 then means it ended too soon, not that the limit failed
        // (were the limit ignored, every round would answer 200 and the panic below fires).
        if refused.code == 200 || slow_query.is_finished() {
            let _ = slow_query.join();
            continue;
        }
        assert_eq!(refused.code, 503, "{}", refused.text());
        assert!(
            refused.text().contains("too many concurrent queries (query-max-concurrency is 1)"),
            "{}",
            refused.text()
        );
        refusals += 1.0;
        assert_eq!(metric(&server, "strata_queries_refused_total"), refusals);
        let status = server.get("/admin/status").json();
        if status["limits"]["queries_running"] == 0 {
            // The slow query ended between the refusal and this look: a longer one next.
            let _ = slow_query.join();
            continue;
        }
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

/// A load that would take the server far past `--memory-limit` (half a million new series)
/// ends with the server alive, its memory held near the limit by back-pressure (writes
/// answered 503 and retried), and every acknowledged sample stored: after a restart without
/// the limit, the samples counted equal the samples the writer had acknowledged.
#[test]
fn memory_pressure_pauses_writes_and_loses_nothing_acknowledged() {
    const LIMIT_MIB: u64 = 160;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server =
        StrataServer::start(strata(), &data, &[&format!("--memory-limit={LIMIT_MIB}MiB"), "--fsync=none"]);
    let (pid, port) = (server.pid(), server.port);
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                // What the limit is about: memory the kernel cannot take back (see memory_guard).
                peak.fetch_max(strata_testkit::guarded_bytes(pid), std::sync::atomic::Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let bench = std::process::Command::new(strata())
        .args(["bench", "ingest", "--protocol", "remote-write", "--writers", "4", "--batch", "5000"])
        .args(["--series", "500000", "--duration", "20s", "--json", "--target"])
        .arg(format!("http://127.0.0.1:{port}"))
        .output()
        .unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    sampler.join().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&bench.stdout).unwrap();
    let acknowledged = report["points"].as_u64().unwrap();
    let status = server.get("/admin/status").json();
    let metrics = server.get("/metrics").text();
    assert!(report["retries"].as_u64().unwrap() > 0, "writes were never paused: {report}\n{status}");
    assert_eq!(report["errors"], 0, "{report}");
    // The level itself may be back to normal by now (the head cut and the dropped caches
    // free memory), so what the guard did is read from its counters.
    let action = |name: &str| -> u64 {
        let prefix = format!("strata_memory_pressure_actions_total{{action=\"{name}\"}} ");
        metrics.lines().find_map(|l| l.strip_prefix(&prefix)).map_or(0, |n| n.parse().unwrap())
    };
    assert!(action("writes_paused") >= 1 && action("caches_dropped") >= 1, "{metrics}\n{status}");
    let peak_mib = peak.load(std::sync::atomic::Ordering::Relaxed) >> 20;
    assert!(
        peak_mib <= LIMIT_MIB * 5 / 4,
        "anonymous memory peaked at {peak_mib} MiB for a {LIMIT_MIB} MiB limit"
    );
    // Every acknowledged sample is there after a restart without the limit.
    assert!(server.signal_and_wait(libc::SIGTERM).success());
    let reopened = StrataServer::start(strata(), &data, &["--memory-limit=0"]);
    let far_future = 4_000_000_000.0;
    let stored = reopened.query("sum(count_over_time(bench_value[100y]))", far_future);
    let stored: f64 = stored["data"]["result"][0]["value"][1].as_str().unwrap().parse().unwrap();
    assert_eq!(stored as u64, acknowledged, "acknowledged {acknowledged}, stored {stored}");
    eprintln!(
        "acknowledged {acknowledged} samples; RSS peaked at {peak_mib} MiB for a {LIMIT_MIB} MiB limit"
    );
}
