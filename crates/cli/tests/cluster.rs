//! A cluster of real `strata server` processes with membership in a real etcd (Debian
//! `etcd-server`): writes through any node land on their replicas, queries through any
//! node answer exactly as one node holding all the data does, a killed node is routed
//! around, and a write short of its quorum is refused naming the nodes that failed.
//!
//! Skipped (loudly) without etcd, failed under CI=true.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use strata_testkit::{peer_binary, url_encode, EtcdServer, StrataServer};

fn strata() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_strata"))
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// `count` cluster nodes `n0…` on `etcd` with replication factor `rf`, under `dir`.
fn nodes(dir: &Path, etcd: &EtcdServer, count: usize, rf: usize) -> Vec<StrataServer> {
    let url = etcd.url();
    (0..count)
        .map(|i| {
            let id = format!("n{i}");
            let args = [
                format!("--cluster-etcd={url}"),
                format!("--node-id={id}"),
                format!("--replication-factor={rf}"),
                "--cluster-lease-ttl=2s".to_string(),
                "--rollups=off".to_string(),
            ];
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            StrataServer::start(strata(), &dir.join(&id), &args)
        })
        .collect()
}

/// Waits until `node` sees `count` members, all in state `state`.
fn wait_for_members(node: &StrataServer, count: usize, limit: Duration) {
    let started = Instant::now();
    loop {
        let status = node.get("/api/v1/status/cluster").json();
        let members = status["data"]["members"].as_array().cloned().unwrap_or_default();
        if members.len() == count && members.iter().all(|m| m["state"] == "active") {
            return;
        }
        assert!(started.elapsed() < limit, "members not all active: {status}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A text-format body: `series` series of metric `m`, `samples` samples each ending at `end`.
fn body(series: usize, samples: usize, end: i64, offset: f64) -> String {
    let mut out = String::new();
    for s in 0..series {
        for k in 0..samples {
            let t = end - (samples - 1 - k) as i64 * 15_000;
            let v = offset + (s * 7 + k * 3) as f64 / 4.0;
            out.push_str(&format!("m{{host=\"h{}\",i=\"{s}\"}} {v} {t}\n", s % 5));
        }
    }
    out
}

fn import(node: &StrataServer, text: &str) -> (u16, String) {
    let answer = node.post("/api/v1/import/prometheus", "text/plain", text.as_bytes());
    (answer.code, answer.text())
}

/// A query's result, sorted by series, for comparison.
fn result(node: &StrataServer, promql: &str, time_s: f64) -> (Value, Vec<String>) {
    let answer = node.get(&format!("/api/v1/query?query={}&time={time_s:.3}", url_encode(promql))).json();
    assert_eq!(answer["status"], "success", "{promql}: {answer}");
    let mut rows: Vec<Value> = answer["data"]["result"].as_array().cloned().unwrap_or_default();
    rows.sort_by_key(|r| r["metric"].to_string());
    let warnings =
        answer["warnings"].as_array().map(|w| w.iter().map(|x| x.to_string()).collect()).unwrap_or_default();
    (Value::Array(rows), warnings)
}

const QUERIES: &[&str] = &[
    "m",
    "sum(m)",
    "sum by (host) (rate(m[2m]))",
    "count(m)",
    "topk(3, m)",
    "max_over_time(m[5m])",
    "m{host=\"h2\"} * 2",
];

fn head_series(node: &StrataServer) -> u64 {
    node.get("/api/v1/status/tsdb").json()["data"]["headStats"]["numSeries"].as_u64().unwrap_or(0)
}

#[test]
fn three_nodes_answer_as_one_node_holding_all_the_data_does() {
    let Some(etcd_binary) = peer_binary("etcd", "etcd-server") else { return };
    let dir = tempfile::tempdir().unwrap();
    let etcd = EtcdServer::start(&etcd_binary, &dir.path().join("etcd"));
    let cluster = nodes(dir.path(), &etcd, 3, 2);
    for node in &cluster {
        wait_for_members(node, 3, Duration::from_secs(10));
    }
    let single = StrataServer::start(strata(), &dir.path().join("single"), &["--rollups=off"]);
    let end = now_ms() - 60_000;
    // Three writes, each through a different node; the single node takes all three.
    for (i, node) in cluster.iter().enumerate() {
        let text = body(60, 20, end - i as i64 * 5_000, i as f64 * 1000.0);
        let text = text.replace("m{", &format!("m{{batch=\"{i}\","));
        assert_eq!(import(node, &text), (204, String::new()), "write through n{i}");
        assert_eq!(import(&single, &text).0, 204);
    }
    // rf 2: every series is stored on exactly two nodes.
    let stored: u64 = cluster.iter().map(head_series).sum();
    assert_eq!(stored, 2 * 180, "series copies over the three nodes");
    let at = end as f64 / 1000.0;
    for promql in QUERIES {
        let (expected, _) = result(&single, promql, at);
        assert!(expected.as_array().is_some_and(|r| !r.is_empty()), "{promql} selects nothing");
        for (i, node) in cluster.iter().enumerate() {
            let (got, warnings) = result(node, promql, at);
            assert_eq!(got, expected, "{promql} through n{i}");
            assert!(warnings.is_empty(), "{promql} through n{i}: {warnings:?}");
        }
    }
    let status = cluster[0].get("/api/v1/status/cluster").json();
    let shares: f64 =
        status["data"]["members"].as_array().unwrap().iter().map(|m| m["ownership"].as_f64().unwrap()).sum();
    assert!((shares - 1.0).abs() < 1e-9, "{status}");
}

#[test]
fn a_killed_node_is_routed_around_and_a_write_short_of_its_quorum_is_refused() {
    let Some(etcd_binary) = peer_binary("etcd", "etcd-server") else { return };
    let dir = tempfile::tempdir().unwrap();
    let etcd = EtcdServer::start(&etcd_binary, &dir.path().join("etcd"));
    let mut cluster = nodes(dir.path(), &etcd, 3, 3);
    for node in &cluster {
        wait_for_members(node, 3, Duration::from_secs(10));
    }
    let end = now_ms() - 120_000;
    assert_eq!(import(&cluster[0], &body(30, 10, end, 0.0)).0, 204);
    // SIGKILL n2: with rf 3 every write still reaches two of three copies, a quorum.
    drop(cluster.pop());
    let killed = Instant::now();
    let after = body(30, 10, end + 150_000, 500.0);
    assert_eq!(import(&cluster[1], &after), (204, String::new()), "a write right after the kill");
    // n2's lease (2 s) runs out: the others see it failed, well within the 10 s goal.
    let seen = loop {
        let status = cluster[0].get("/api/v1/status/cluster").json();
        let n2 =
            status["data"]["members"].as_array().unwrap().iter().find(|m| m["id"] == "n2").cloned().unwrap();
        if n2["state"] == "failed" {
            break killed.elapsed();
        }
        assert!(killed.elapsed() < Duration::from_secs(10), "n2 not seen failed within 10 s: {status}");
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!("n2 was seen failed {seen:?} after SIGKILL");
    // Every acknowledged sample is still read, with no warning: one member down is fewer
    // than a quorum (2), so each series has a copy on a live node.
    let (all, warnings) = result(&cluster[0], "count_over_time(m[10m])", (end + 150_000) as f64 / 1000.0);
    let total: f64 =
        all.as_array().unwrap().iter().map(|r| r["value"][1].as_str().unwrap().parse::<f64>().unwrap()).sum();
    assert_eq!(total, 30.0 * 20.0, "samples read back");
    assert!(warnings.is_empty(), "{warnings:?}");
    // Kill n1 too: one copy of three is short of the quorum; the write is refused (503)
    // naming the failed nodes, and a read says it may be partial.
    let n1 = cluster.pop().unwrap();
    let n1_port = n1.port;
    drop(n1);
    let (code, text) = import(&cluster[0], &body(5, 2, end + 300_000, 900.0));
    assert_eq!(code, 503, "{text}");
    assert!(text.contains("quorum") && text.contains("n1"), "{text}");
    let (_, warnings) = result(&cluster[0], "sum(m)", (end + 150_000) as f64 / 1000.0);
    assert!(
        warnings.iter().any(|w| w.contains("partial")) && warnings.iter().any(|w| w.contains("n1")),
        "no partial-answer warning with two of three down: {warnings:?} (n1 was on port {n1_port})"
    );
}
