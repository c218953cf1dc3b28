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

/// Starts cluster node `id` on `etcd` with replication factor `rf`, its data in `data_dir`.
fn start_node(data_dir: &Path, etcd: &EtcdServer, id: &str, rf: usize) -> StrataServer {
    let args = [
        format!("--cluster-etcd={}", etcd.url()),
        format!("--node-id={id}"),
        format!("--replication-factor={rf}"),
        "--cluster-lease-ttl=2s".to_string(),
        "--rollups=off".to_string(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    StrataServer::start(strata(), data_dir, &args)
}

/// `count` cluster nodes `n0…` on `etcd` with replication factor `rf`, under `dir`.
fn nodes(dir: &Path, etcd: &EtcdServer, count: usize, rf: usize) -> Vec<StrataServer> {
    (0..count).map(|i| start_node(&dir.join(format!("n{i}")), etcd, &format!("n{i}"), rf)).collect()
}

/// A real etcd and three nodes `n0..n2` with replication factor `rf`, each seeing all
/// three active; `None` (the test skipped, loudly) without etcd.
fn three_nodes(rf: usize) -> Option<(tempfile::TempDir, EtcdServer, Vec<StrataServer>)> {
    let etcd_binary = peer_binary("etcd", "etcd-server")?;
    let dir = tempfile::tempdir().unwrap();
    let etcd = EtcdServer::start(&etcd_binary, &dir.path().join("etcd"));
    let cluster = nodes(dir.path(), &etcd, 3, rf);
    for node in &cluster {
        wait_for_members(node, 3, Duration::from_secs(10));
    }
    Some((dir, etcd, cluster))
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
    let Some((dir, _etcd, cluster)) = three_nodes(2) else { return };
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
    let Some((_dir, _etcd, mut cluster)) = three_nodes(3) else { return };
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

/// Writes `batches` of 10 series × 1 sample through `node`, one batch every 100 ms from
/// `start` on, returning the times (relative to `since`) of refusals and the acknowledged
/// samples as `(series, t, v)`.
fn steady_writes(
    node: &StrataServer,
    start: i64,
    batches: usize,
) -> (Vec<Duration>, Vec<(usize, i64, f64)>, Instant) {
    let since = Instant::now();
    let (mut refused, mut acked) = (Vec::new(), Vec::new());
    for b in 0..batches {
        let t = start + b as i64 * 1000;
        let samples: Vec<(usize, i64, f64)> = (0..10).map(|s| (s, t, (b * 10 + s) as f64)).collect();
        let text: String = samples.iter().map(|(s, t, v)| format!("steady{{s=\"{s}\"}} {v} {t}\n")).collect();
        match import(node, &text).0 {
            204 => acked.extend(samples),
            _ => refused.push(since.elapsed()),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (refused, acked, since)
}

#[test]
fn rf2_writes_resume_within_the_bound_after_a_kill_and_a_restart_duplicates_nothing() {
    let Some((_dir, etcd, mut cluster)) = three_nodes(2) else { return };
    let start = now_ms() - 300_000;
    let (refused, mut acked, _) = steady_writes(&cluster[0], start, 20);
    assert!(refused.is_empty(), "refusals with every node up: {refused:?}");
    // SIGKILL n2 under the load. Series with a copy on n2 are refused until its lease (2 s)
    // runs out; then writes route around it.
    let n2_dir = cluster[2].data_dir.clone();
    drop(cluster.pop());
    let (refused, more, since) = steady_writes(&cluster[0], start + 20_000, 80);
    acked.extend(more);
    let last_refusal = refused.last().copied().unwrap_or_default();
    eprintln!("after the kill: {} of 80 batches refused, the last {last_refusal:?} after it", refused.len());
    assert!(last_refusal < Duration::from_secs(10), "writes refused {last_refusal:?} after the kill");
    assert!(since.elapsed() - last_refusal > Duration::from_secs(2), "writes had not resumed by the end");
    // Every acknowledged sample is read back during the failure, with its value; a refused
    // batch is in doubt (its series without a copy on n2 were written), so it may be there.
    let sent = 100 * 10;
    let check = |node: &StrataServer, acked: &[(usize, i64, f64)]| {
        let at = (start + 100_000) as f64 / 1000.0;
        let (rows, _) = result(node, "steady[10m]", at);
        let mut read = std::collections::HashMap::new();
        for row in rows.as_array().unwrap() {
            let s: usize = row["metric"]["s"].as_str().unwrap().parse().unwrap();
            let mut last = i64::MIN;
            for pair in row["values"].as_array().unwrap() {
                let t = (pair[0].as_f64().unwrap() * 1000.0).round() as i64;
                assert!(t > last, "series {s}: timestamp {t} read twice or out of order");
                last = t;
                read.insert((s, t), pair[1].as_str().unwrap().parse::<f64>().unwrap());
            }
        }
        for (s, t, v) in acked {
            assert_eq!(read.get(&(*s, *t)), Some(v), "acknowledged sample ({s}, {t}) not read back");
        }
        assert!(read.len() <= sent, "{} samples read, {sent} sent", read.len());
    };
    check(&cluster[0], &acked);
    // n2 comes back on its data with its old tokens: nothing is read twice.
    cluster.push(start_node(&n2_dir, &etcd, "n2", 2));
    for node in &cluster {
        wait_for_members(node, 3, Duration::from_secs(10));
    }
    for node in &cluster {
        check(node, &acked);
    }
}

#[test]
fn with_etcd_gone_queries_go_on_with_the_last_ring_and_writes_pause_until_it_returns() {
    let Some((_dir, mut etcd, cluster)) = three_nodes(2) else { return };
    let end = now_ms() - 60_000;
    assert_eq!(import(&cluster[1], &body(20, 5, end, 0.0)).0, 204);
    etcd.stop();
    // The lease (2 s) can no longer be renewed: after it, a node might be cut off from the
    // others, so writes are refused rather than risk an acknowledgement on a minority side.
    std::thread::sleep(Duration::from_secs(3));
    let (code, text) = import(&cluster[0], &body(20, 1, end + 15_000, 7.0));
    assert_eq!(code, 503, "{text}");
    assert!(text.contains("etcd"), "{text}");
    let status = cluster[0].get("/api/v1/status/cluster").json();
    assert_eq!(status["data"]["etcd"]["reachable"], false, "{status}");
    assert_eq!(status["data"]["members"].as_array().unwrap().len(), 3, "the last ring is kept: {status}");
    let metrics = cluster[0].get("/metrics").text();
    assert!(metrics.contains("strata_cluster_etcd_reachable 0"), "no etcd gauge in /metrics");
    // Queries are answered from the last ring, saying so.
    let (rows, warnings) = result(&cluster[2], "count(m)", end as f64 / 1000.0);
    assert_eq!(rows[0]["value"][1], "20");
    assert!(warnings.iter().any(|w| w.contains("etcd")), "{warnings:?}");
    // Ring changes are refused, naming etcd.
    let drain = std::process::Command::new(strata())
        .args(["cluster", "drain", "n1", "--etcd", &etcd.url()])
        .output()
        .unwrap();
    assert!(!drain.status.success());
    assert!(
        String::from_utf8_lossy(&drain.stderr).contains("etcd"),
        "{}",
        String::from_utf8_lossy(&drain.stderr)
    );
    // etcd returns: heartbeats renew, writes resume.
    etcd.restart();
    let started = Instant::now();
    loop {
        let (code, text) = import(&cluster[0], &body(20, 1, end + 30_000, 9.0));
        if code == 204 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "writes did not resume after etcd returned: {text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (rows, _) = result(&cluster[0], "count(m)", (end + 30_000) as f64 / 1000.0);
    assert_eq!(rows[0]["value"][1], "20");
}

/// The series of `labels_text` (`m{i="3"}` forms) whose replicas — walking the ring with
/// every member counted, as if none had failed — include `member`.
fn intended_for(etcd: &EtcdServer, member: &str, series: &[strata_model::Labels], rf: usize) -> usize {
    let client = strata_cluster::Etcd::new(&[etcd.url()], Duration::from_secs(5));
    let view =
        strata_cluster::membership::read_view(&client, strata_cluster::membership::DEFAULT_PREFIX).unwrap();
    let ring = strata_cluster::Ring::new(view.record.members).unwrap();
    let placement = strata_cluster::Placement { rf, zone_aware: false };
    series
        .iter()
        .filter(|labels| {
            let point = strata_cluster::series_token(labels.prometheus_key().as_bytes());
            ring.replicas(point, placement).iter().any(|m| m.id.0 == member)
        })
        .count()
}

#[test]
fn a_member_that_returns_gets_the_copies_it_missed_from_hints() {
    let Some((_dir, etcd, mut cluster)) = three_nodes(2) else { return };
    let n2_dir = cluster[2].data_dir.clone();
    drop(cluster.pop());
    // Wait until n0 sees n2 failed: writes then route around it, and hint its copies.
    let started = Instant::now();
    while !cluster[0].get("/api/v1/status/cluster").text().contains("\"failed\"") {
        assert!(started.elapsed() < Duration::from_secs(10), "n2 not seen failed");
        std::thread::sleep(Duration::from_millis(50));
    }
    let end = now_ms() - 60_000;
    let text = body(60, 4, end, 0.0).replace("m{", "missed{");
    assert_eq!(import(&cluster[0], &text), (204, String::new()));
    let hints = cluster[0].get("/api/v1/status/cluster").json()["data"]["hints"].clone();
    assert!(hints["pending"].as_u64().unwrap() > 0, "{hints}");
    // n2 returns on its data: the hints are delivered, and it holds its share of `missed`.
    let n2 = start_node(&n2_dir, &etcd, "n2", 2);
    let series: Vec<strata_model::Labels> = (0..60)
        .map(|s| {
            let (host, i) = (format!("h{}", s % 5), s.to_string());
            strata_model::Labels::from_pairs([("__name__", "missed"), ("host", &*host), ("i", &*i)]).unwrap()
        })
        .collect();
    let expected = intended_for(&etcd, "n2", &series, 2);
    assert!(expected > 10, "n2's share of 60 series at rf 2 over 3 nodes: {expected}");
    let started = Instant::now();
    loop {
        let figures = cluster[0].get("/api/v1/status/cluster").json()["data"]["hints"].clone();
        if figures["pending"] == 0 && figures["delivered"].as_u64().unwrap_or(0) > 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "hints not delivered: {figures}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let held = n2.get("/api/v1/status/tsdb").json()["data"]["seriesCountByMetricName"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "missed")
        .and_then(|m| m["value"].as_u64())
        .unwrap_or(0);
    assert_eq!(held as usize, expected, "series of `missed` n2 holds after the handoff");
    let metrics = cluster[0].get("/metrics").text();
    assert!(metrics.contains("strata_cluster_hints_delivered_total 1"), "one write, one hint for n2");
}
