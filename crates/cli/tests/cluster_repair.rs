//! Re-replication between real `strata server` processes with membership in a real etcd:
//! after a node is killed for good its share is copied to the members replacing it (so a
//! second loss loses nothing), a joiner is given its share of the old data, and a draining
//! node's share is moved off it before it is removed; at rf 3 under a steady write load, a
//! killed node's copies are restored on every survivor. The data spans eleven hours, so the
//! copies come out of blocks and go into blocks as well as heads.
//!
//! Skipped (loudly) without etcd, failed under CI=true.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use strata_cluster::membership::{read_view, remove_member, set_state, DEFAULT_PREFIX};
use strata_cluster::{Etcd, Forwarder, MemberState, NodeId, Placement, Ring};
use strata_model::{Labels, Matcher};
use strata_testkit::{peer_binary, url_encode, EtcdServer, StrataServer};

const HOUR: i64 = 3_600_000;
const SERIES: usize = 60;
/// Samples per series, an hour apart.
const SAMPLES: usize = 12;

fn strata() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_strata"))
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Node `id` on `etcd` at rf 2, re-replicating one second after the ring settles.
fn start_node(data_dir: &Path, etcd: &EtcdServer, id: &str) -> StrataServer {
    start_node_rf(data_dir, etcd, id, 2)
}

/// Node `id` on `etcd` at replication factor `rf`.
fn start_node_rf(data_dir: &Path, etcd: &EtcdServer, id: &str, rf: usize) -> StrataServer {
    let args = [
        format!("--cluster-etcd={}", etcd.url()),
        format!("--node-id={id}"),
        format!("--replication-factor={rf}"),
        "--cluster-lease-ttl=2s".to_string(),
        "--cluster-repair-delay=1s".to_string(),
        "--rollups=off".to_string(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    StrataServer::start(strata(), data_dir, &args)
}

/// etcd and three nodes `n0..n2` at rf 2, each seeing all three active.
fn three_nodes() -> Option<(tempfile::TempDir, EtcdServer, Vec<StrataServer>)> {
    nodes(3, 2)
}

/// etcd and `count` nodes `n0…` at replication factor `rf`, each seeing all active, their
/// joins' passes done.
fn nodes(count: usize, rf: usize) -> Option<(tempfile::TempDir, EtcdServer, Vec<StrataServer>)> {
    let etcd_binary = peer_binary("etcd", "etcd-server")?;
    let dir = tempfile::tempdir().unwrap();
    let etcd = EtcdServer::start(&etcd_binary, &dir.path().join("etcd"));
    let cluster: Vec<StrataServer> = (0..count)
        .map(|i| start_node_rf(&dir.path().join(format!("n{i}")), &etcd, &format!("n{i}"), rf))
        .collect();
    for node in &cluster {
        wait_until(node, Duration::from_secs(10), "all active", |status| {
            let members = status["members"].as_array().cloned().unwrap_or_default();
            members.len() == count && members.iter().all(|m| m["state"] == "active")
        });
    }
    // The joins were ring changes too (not for the last one: its log starts with all
    // three): let their passes, over no data, run first.
    std::thread::sleep(Duration::from_millis(600));
    for node in &cluster {
        wait_until(node, Duration::from_secs(30), "joins' passes done", |s| s["repair"]["state"] == "idle");
    }
    Some((dir, etcd, cluster))
}

/// Waits until `node`'s cluster status satisfies `done`.
fn wait_until(node: &StrataServer, limit: Duration, what: &str, done: impl Fn(&Value) -> bool) {
    let started = Instant::now();
    loop {
        let status = node.get("/api/v1/status/cluster").json()["data"].clone();
        if done(&status) {
            return;
        }
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}: {status}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until `node` owes no re-replication pass and has finished one after `since` (ms):
/// every ring change it saw by then is copied. (Each change is followed by a pass, after
/// the one-second delay; the repair thread looks at the ring four times a second.)
fn wait_repaired(node: &StrataServer, since: i64) {
    std::thread::sleep(Duration::from_millis(600));
    wait_until(node, Duration::from_secs(60), "re-replication done", |status| {
        let repair = &status["repair"];
        repair["state"] == "idle" && repair["pass"]["endedMs"].as_i64().is_some_and(|t| t >= since)
    });
}

fn labels(s: usize) -> Labels {
    Labels::from_pairs([("__name__", "m".to_string()), ("i", s.to_string())]).unwrap()
}

/// Eleven hours of history: `SAMPLES` samples a series, an hour apart, ending at `end`.
fn history(end: i64) -> String {
    let mut out = String::new();
    for s in 0..SERIES {
        for k in 0..SAMPLES {
            let t = end - (SAMPLES - 1 - k) as i64 * HOUR;
            out.push_str(&format!("m{{i=\"{s}\"}} {} {t}\n", s * 100 + k));
        }
    }
    out
}

fn write_history(node: &StrataServer, end: i64) {
    let answer = node.post("/api/v1/import/prometheus", "text/plain", history(end).as_bytes());
    assert_eq!((answer.code, answer.text()), (204, String::new()));
}

/// The series of `m` a node holds in its own store (`/api/v1/series` answers from it).
fn own_series(node: &StrataServer) -> BTreeSet<String> {
    let answer = node.get(&format!("/api/v1/series?match[]=m&start=0&end={}", now_ms() / 1000 + 60)).json();
    answer["data"].as_array().unwrap().iter().map(|s| s["i"].as_str().unwrap().to_string()).collect()
}

/// The samples of each series a node's query returns over the whole history (every
/// member read and merged), by series.
fn counts(node: &StrataServer, end: i64) -> Vec<(String, String)> {
    let promql = url_encode(&format!("count_over_time(m[{}h])", SAMPLES + 1));
    let answer =
        node.get(&format!("/api/v1/query?query={promql}&time={:.3}", (end + 1000) as f64 / 1000.0)).json();
    assert_eq!(answer["status"], "success", "{answer}");
    let mut rows: Vec<(String, String)> = answer["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (r["metric"]["i"].as_str().unwrap().to_string(), r["value"][1].as_str().unwrap().to_string())
        })
        .collect();
    rows.sort();
    rows
}

/// Samples a node's re-replication has sent since it started.
fn sent_by(node: &StrataServer) -> u64 {
    node.get("/api/v1/status/cluster").json()["data"]["repair"]["samplesSentTotal"].as_u64().unwrap()
}

fn all_complete() -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = (0..SERIES).map(|s| (s.to_string(), SAMPLES.to_string())).collect();
    rows.sort();
    rows
}

/// The series whose writable replicas (active members) in etcd's ring include `member`.
fn intended_for(etcd: &EtcdServer, member: &str) -> BTreeSet<String> {
    let client = Etcd::new(&[etcd.url()], Duration::from_secs(5));
    let view = read_view(&client, DEFAULT_PREFIX).unwrap();
    let ring = Ring::new(view.record.members).unwrap();
    let placement = Placement { rf: 2, zone_aware: false };
    (0..SERIES)
        .filter(|&s| {
            let point = strata_cluster::series_token(labels(s).prometheus_key().as_bytes());
            let replicas = ring.replicas_where(point, placement, |m| m.state == MemberState::Active);
            replicas.iter().any(|m| m.id.0 == member)
        })
        .map(|s| s.to_string())
        .collect()
}

#[test]
fn a_dead_node_s_share_is_copied_to_its_replacements_so_a_second_loss_loses_nothing() {
    let Some((_dir, _etcd, mut cluster)) = three_nodes() else { return };
    let end = now_ms() - 60_000;
    write_history(&cluster[0], end);
    let before: Vec<BTreeSet<String>> = cluster.iter().map(own_series).collect();
    assert!(before.iter().all(|s| s.len() < SERIES), "rf 2 of 3: nobody holds everything: {before:?}");
    // n1 dies for good. Its share is copied from the survivors to the next members.
    drop(cluster.remove(1));
    for node in &cluster {
        wait_until(node, Duration::from_secs(10), "n1 seen failed", |s| s.to_string().contains("\"failed\""));
    }
    let failed = now_ms();
    for node in &cluster {
        wait_repaired(node, failed);
    }
    for node in &cluster {
        assert_eq!(own_series(node).len(), SERIES, "each survivor holds every series now");
    }
    let sent: u64 = cluster.iter().map(sent_by).sum();
    // What n1 held had one other copy; that copy went to the survivor lacking it.
    let n1_share = before[1].len() as u64;
    assert_eq!(sent, n1_share * SAMPLES as u64, "each series of n1's share sent once, whole");
    let metrics = cluster[0].get("/metrics").text();
    let sent_line = format!("strata_cluster_repair_samples_sent_total {}", sent_by(&cluster[0]));
    assert!(metrics.contains(&sent_line), "{sent_line} in {metrics}");
    // Lose a second node: the last one still answers every sample.
    drop(cluster.remove(0));
    assert_eq!(counts(&cluster[0], end), all_complete());
}

/// Three nodes holding the history (ending at the returned time), then `n3` joining: it
/// takes a quarter of the ring, and the others' passes for the join are done.
fn history_then_a_join() -> Option<(tempfile::TempDir, EtcdServer, Vec<StrataServer>, i64)> {
    let (dir, etcd, mut cluster) = three_nodes()?;
    let end = now_ms() - 60_000;
    write_history(&cluster[0], end);
    cluster.push(start_node(&dir.path().join("n3"), &etcd, "n3"));
    for node in &cluster {
        wait_until(node, Duration::from_secs(10), "four active", |s| {
            let members = s["members"].as_array().unwrap();
            members.len() == 4 && members.iter().all(|m| m["state"] == "active")
        });
    }
    let joined = now_ms();
    for node in &cluster[..3] {
        wait_repaired(node, joined);
    }
    Some((dir, etcd, cluster, end))
}

#[test]
fn a_joiner_gets_its_share_of_old_data_and_a_drained_node_moves_its_share_off_before_removal() {
    let Some((_dir, etcd, mut cluster, end)) = history_then_a_join() else { return };
    let share = intended_for(&etcd, "n3");
    assert!(!share.is_empty() && share.len() < SERIES, "n3's share: {share:?}");
    assert_eq!(own_series(&cluster[3]), share, "n3 holds exactly its share of the old data");
    assert_eq!(counts(&cluster[3], end), all_complete());
    // n0 drains: its share goes to the members taking it; then it is removed and killed.
    let client = Etcd::new(&[etcd.url()], Duration::from_secs(5));
    set_state(&client, DEFAULT_PREFIX, &NodeId("n0".into()), MemberState::Leaving).unwrap();
    for node in &cluster {
        wait_until(node, Duration::from_secs(10), "n0 leaving", |s| s.to_string().contains("\"leaving\""));
    }
    let drained = now_ms();
    for node in &cluster {
        wait_repaired(node, drained);
    }
    remove_member(&client, DEFAULT_PREFIX, &NodeId("n0".into())).unwrap();
    drop(cluster.remove(0));
    for (node, id) in cluster.iter().zip(["n1", "n2", "n3"]) {
        let held = own_series(node);
        let intended = intended_for(&etcd, id);
        assert!(held.is_superset(&intended), "{id} holds its share after the drain: {held:?} ⊉ {intended:?}");
    }
    assert_eq!(counts(&cluster[0], end), all_complete());
}

/// Every sample of metric `name` in a node's own store (a remote read marked forwarded, so
/// the node answers from its own data), as `(series i or s, or all its labels, t) → v`.
fn own_samples(node: &StrataServer, name: &str) -> BTreeMap<(String, i64), f64> {
    let forwarder = Forwarder::new("test", Duration::from_secs(10));
    let matchers = [Matcher::equal("__name__", name)];
    let addr = format!("127.0.0.1:{}", node.port);
    let mut out = BTreeMap::new();
    for series in forwarder.read(&addr, None, &matchers, 0, i64::MAX).unwrap() {
        let key = series
            .labels
            .get("i")
            .or(series.labels.get("s"))
            .map_or_else(|| series.labels.to_string(), str::to_string);
        for (t, v) in series.samples {
            out.insert((key.clone(), t), v);
        }
    }
    out
}

#[test]
fn rf3_under_steady_writes_a_killed_node_s_copies_are_restored_on_every_survivor() {
    let Some((_dir, _etcd, mut cluster)) = nodes(4, 3) else { return };
    let end = now_ms() - 60_000;
    write_history(&cluster[0], end);
    let history = own_samples(&cluster[0], "m").len();
    assert!(history > 0);
    let start = now_ms() - 30_000;
    let (sender, received) = std::sync::mpsc::channel();
    let port = cluster[0].port;
    let writer = std::thread::spawn(move || {
        let mut acked = BTreeMap::new();
        for b in 0..60 {
            let t = start + b * 200;
            let text: String = (0..10).map(|s| format!("steady{{s=\"{s}\"}} {} {t}\n", b * 10 + s)).collect();
            let answer =
                strata_testkit::request(port, "POST", "/api/v1/import/prometheus", &[], text.as_bytes());
            if answer.is_some_and(|a| a.code == 204) {
                for s in 0..10 {
                    acked.insert((s.to_string(), t), (b * 10 + s) as f64);
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        sender.send(acked).unwrap();
    });
    std::thread::sleep(Duration::from_secs(1));
    drop(cluster.pop()); // n3, SIGKILL
    let killed = now_ms();
    writer.join().unwrap();
    let acked: BTreeMap<(String, i64), f64> = received.recv().unwrap();
    assert!(acked.len() >= 500, "rf 3 keeps a quorum of 2 with one node down: {} acked", acked.len());
    // The pass runs once n3's lease is out (2 s) and the ring has been still for 1 s:
    // while the writes go on.
    for node in &cluster {
        wait_repaired(node, killed);
    }
    // Three live nodes at rf 3: each holds every acknowledged sample and all the history.
    for (i, node) in cluster.iter().enumerate() {
        let steady = own_samples(node, "steady");
        let missing: Vec<_> = acked.iter().filter(|(k, v)| steady.get(k) != Some(v)).take(3).collect();
        assert!(missing.is_empty(), "n{i} lacks acknowledged samples, e.g. {missing:?}");
        let history = own_samples(node, "m");
        let expected: BTreeMap<(String, i64), f64> = (0..SERIES)
            .flat_map(|s| {
                (0..SAMPLES).map(move |k| {
                    ((s.to_string(), end - (SAMPLES - 1 - k) as i64 * HOUR), (s * 100 + k) as f64)
                })
            })
            .collect();
        let missing: Vec<_> = expected.iter().filter(|(k, v)| history.get(k) != Some(v)).collect();
        assert!(
            missing.is_empty(),
            "n{i} lacks {} samples of the history, e.g. {:?}",
            missing.len(),
            &missing[..missing.len().min(12)]
        );
    }
}

#[test]
fn a_backfill_is_refused_with_a_reason_when_it_is_not_from_a_node_or_not_readable() {
    // A single node is not in a cluster: nothing to backfill.
    let dir = tempfile::tempdir().unwrap();
    let alone = StrataServer::start(strata(), dir.path(), &["--rollups=off"]);
    let answer = alone.post("/cluster/v1/backfill", "application/x-protobuf", b"x");
    assert_eq!(answer.code, 404, "{}", answer.text());
    assert!(answer.text().contains("not in a cluster"), "{}", answer.text());
    let Some((_dir, _etcd, cluster)) = three_nodes() else { return };
    let answer = cluster[0].post("/cluster/v1/backfill", "application/x-protobuf", b"x");
    assert_eq!(answer.code, 400);
    assert!(answer.text().contains("X-Strata-Forwarded"), "{}", answer.text());
    let forwarded = [("X-Strata-Forwarded", "n9")];
    let answer =
        strata_testkit::request(cluster[0].port, "POST", "/cluster/v1/backfill", &forwarded, b"not snappy")
            .unwrap();
    assert_eq!(answer.code, 400);
    assert!(answer.text().contains("the backfill is not snappy"), "{}", answer.text());
    // Samples out of order within a series are sorted, not refused; the same timestamp
    // twice keeps the first.
    let request = strata_ingest::prompb::WriteRequest {
        timeseries: vec![strata_ingest::prompb::TimeSeries {
            labels: vec![strata_ingest::prompb::Label { name: "__name__".into(), value: "bf".into() }],
            samples: [(3, 3.0), (1, 1.0), (3, 9.0)]
                .iter()
                .map(|&(timestamp, value)| strata_ingest::prompb::Sample { value, timestamp })
                .collect(),
            histograms: Vec::new(),
        }],
    };
    let body = snap::raw::Encoder::new().compress_vec(&prost::Message::encode_to_vec(&request)).unwrap();
    let answer =
        strata_testkit::request(cluster[0].port, "POST", "/cluster/v1/backfill", &forwarded, &body).unwrap();
    assert_eq!(answer.code, 200, "{}", answer.text());
    let figures = answer.json();
    assert_eq!((figures["written"].as_u64(), figures["held"].as_u64()), (Some(2), Some(0)), "{figures}");
    let own = own_samples(&cluster[0], "bf");
    assert_eq!(own.values().copied().collect::<Vec<_>>(), vec![1.0, 3.0]);
}

#[test]
fn after_a_join_a_cleanup_leaves_every_node_exactly_its_share_and_loses_no_sample() {
    let Some((_dir, etcd, cluster, end)) = history_then_a_join() else { return };
    let ids = ["n0", "n1", "n2", "n3"];
    let extra: usize = cluster
        .iter()
        .zip(ids)
        .map(|(node, id)| own_series(node).len() - intended_for(&etcd, id).len())
        .sum();
    assert!(extra > 0, "the old holders of n3's share still hold it");
    let done = std::process::Command::new(strata())
        .args(["cluster", "cleanup", "--wait", "--timeout", "60", "--json", "--etcd", &etcd.url()])
        .output()
        .unwrap();
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let report: Value = serde_json::from_slice(&done.stdout).unwrap();
    let moved: u64 =
        report["members"].as_array().unwrap().iter().map(|m| m["series_moved"].as_u64().unwrap()).sum();
    assert_eq!(moved as usize, extra, "{report}");
    for (node, id) in cluster.iter().zip(ids) {
        assert_eq!(own_series(node), intended_for(&etcd, id), "{id} holds exactly its share");
        assert_eq!(counts(node, end), all_complete(), "every sample answered through {id}");
    }
    // `strata cluster status` shows every member online and its re-replication idle.
    let status = std::process::Command::new(strata())
        .args(["cluster", "status", "--json", "--etcd", &etcd.url()])
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["online"], 4, "{status}");
    assert!(status["members"].as_array().unwrap().iter().all(|m| m["repair"] == "idle"), "{status}");
}
