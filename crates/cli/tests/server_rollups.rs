//! Rollups in a running server: the job rolls up what the head has settled, range queries
//! read the tiers where they answer exactly (the same answer as `rollups=off`, the route in
//! `stats`), a delete rolls the touched windows up again, a restart keeps the watermarks,
//! and `/metrics`, `/api/v1/status/rollups` and `strata rollup status|query --url` report it.

use std::process::Command;
use std::time::{Duration, Instant};

use strata_testkit::StrataServer;

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

fn strata(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_strata")).args(args).output().unwrap();
    (
        out.status.success(),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    )
}

/// The `1m` tier's watermark once it reaches `at_least` (panics after 60 s).
fn wait_for_watermark(server: &StrataServer, tier: usize, at_least: i64) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = server.get("/api/v1/status/rollups").json();
        if status["data"]["tiers"][tier]["watermark"].as_i64().is_some_and(|w| w >= at_least) {
            return status;
        }
        assert!(Instant::now() < deadline, "tier {tier} never reached {at_least}: {status}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The tiers' status once their watermarks have stopped moving (the same over 3 s, three
/// runs of the 1 s job).
fn settled_tiers(server: &StrataServer) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    let tiers = || server.get("/api/v1/status/rollups").json()["data"]["tiers"].clone();
    let watermarks = |t: &serde_json::Value| {
        t.as_array().map(|a| a.iter().map(|t| t["watermark"].clone()).collect::<Vec<_>>())
    };
    let mut last = tiers();
    loop {
        std::thread::sleep(Duration::from_secs(3));
        let now = tiers();
        if watermarks(&now) == watermarks(&last) {
            return now;
        }
        assert!(Instant::now() < deadline, "the rollup job never caught up: {now}");
        last = now;
    }
}

fn range_query(
    server: &StrataServer,
    q: &str,
    start: i64,
    end: i64,
    step: i64,
    extra: &str,
) -> serde_json::Value {
    let path = format!(
        "/api/v1/query_range?query={}&start={}&end={}&step={}{extra}",
        strata_testkit::url_encode(q),
        start / 1000,
        end / 1000,
        step / 1000
    );
    let answer = server.get(&path).json();
    assert_eq!(answer["status"], "success", "{q}: {answer}");
    answer
}

#[test]
fn queries_read_the_tiers_and_answer_as_raw_data_does() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("strata.toml");
    std::fs::write(
        &config,
        "rollups = [{ resolution = \"1m\", span = \"1h\" }, { resolution = \"5m\", span = \"2h\" }]\nrollup-interval = \"1s\"\nretention = \"0\"\n",
    )
    .unwrap();
    let args = ["--config", config.to_str().unwrap()];
    let data = dir.path().join("data");

    // Seven hours of two series at 30 s, two days ago, imported as blocks: all of it is
    // settled when the server opens the dir.
    let now = strata_rollup::job::wall_ms();
    let t0 = (now - 2 * 24 * HOUR).div_euclid(2 * HOUR) * 2 * HOUR;
    let mut body = String::new();
    for i in 1..=7 * 120 {
        let t = t0 + i * 30_000;
        body.push_str(&format!("gauge{{host=\"a\"}} {} {t}\n", (i * 7) % 100));
        body.push_str(&format!(
            "requests_total{{host=\"a\"}} {} {t}\n",
            if i % 200 == 0 { 0 } else { i * 3 }
        ));
    }
    let input = dir.path().join("input.prom");
    std::fs::write(&input, body).unwrap();
    let (ok, out) = strata(&[
        "import",
        "--format",
        "prometheus",
        input.to_str().unwrap(),
        "--dir",
        data.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    let server = StrataServer::start(env!("CARGO_BIN_EXE_strata").as_ref(), &data, &args);
    wait_for_watermark(&server, 1, t0 + 2 * HOUR);

    let queries = [
        "avg_over_time(gauge[10m])",
        "max_over_time(gauge[5m])",
        "rate(requests_total[10m])",
        "increase(requests_total[1h])",
    ];
    for q in queries {
        let (start, end) = (t0 + HOUR, t0 + 3 * HOUR);
        let routed = range_query(&server, q, start, end, 10 * MIN, "&stats=all");
        let raw = range_query(&server, q, start, end, 10 * MIN, "&rollups=off&stats=all");
        assert_eq!(routed["data"]["result"], raw["data"]["result"], "{q}");
        let route = &routed["data"]["stats"]["rollups"];
        assert!(route.as_array().unwrap().iter().any(|r| r["tier"] != "raw"), "{q}: {route}");
        assert!(raw["data"]["stats"]["rollups"].as_array().unwrap().is_empty());
        let (with, without) = (
            routed["data"]["stats"]["samples"]["totalQueryableSamples"].as_u64().unwrap(),
            raw["data"]["stats"]["samples"]["totalQueryableSamples"].as_u64().unwrap(),
        );
        assert!(with < without, "{q}: {with} points with rollups, {without} without");
    }

    let metrics = String::from_utf8(server.get("/metrics").body).unwrap();
    assert!(metrics.contains("strata_rollup_lag_seconds{tier=\"1m\"}"), "{metrics}");
    assert!(metrics.contains("strata_rollup_spans_total{tier=\"5m\"}"), "{metrics}");

    // A delete over rolled-up time: those windows are rolled up again, the answers still agree.
    let deleted = server.post(
        &format!(
            "/api/v1/admin/tsdb/delete_series?match[]=gauge&start={}&end={}",
            (t0 + HOUR) / 1000,
            (t0 + 90 * MIN) / 1000
        ),
        "application/x-www-form-urlencoded",
        b"",
    );
    assert_eq!(deleted.code, 204);
    wait_for_watermark(&server, 1, t0 + 2 * HOUR);
    let q = "avg_over_time(gauge[10m])";
    let routed = range_query(&server, q, t0 + HOUR, t0 + 2 * HOUR, 10 * MIN, "&stats=all");
    let raw = range_query(&server, q, t0 + HOUR, t0 + 2 * HOUR, 10 * MIN, "&rollups=off");
    assert_eq!(routed["data"]["result"], raw["data"]["result"], "after the delete");
    assert!(routed["data"]["stats"]["rollups"].as_array().unwrap().iter().any(|r| r["tier"] != "raw"));

    // The CLI, over the server.
    let url = format!("http://127.0.0.1:{}", server.port);
    let (ok, text) = strata(&["rollup", "status", "--url", &url]);
    assert!(ok && text.contains("1m ") && text.contains("5m "), "{text}");
    let (ok, json) = strata(&["rollup", "status", "--url", &url, "--json"]);
    let status: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert!(ok && status["tiers"][0]["lag_seconds"].as_f64().unwrap() > 0.0, "{status}");
    let end = ((t0 + 3 * HOUR) / 1000).to_string();
    let (ok, plan) = strata(&[
        "rollup",
        "query",
        "avg_over_time(gauge[10m])",
        "--range",
        "2h",
        "--step",
        "10m",
        "--end",
        &end,
        "--url",
        &url,
    ]);
    assert!(ok, "{plan}");
    assert!(plan.contains("avg_over_time          5m"), "{plan}");
    assert!(plan.contains("the same as without rollups"), "{plan}");

    // A restart keeps what was rolled up (once the job has rolled up all there is: on a
    // loaded machine it may still be catching up, and would go on after the restart).
    let before = settled_tiers(&server);
    drop(server);
    let server = StrataServer::start(env!("CARGO_BIN_EXE_strata").as_ref(), &data, &args);
    let after = server.get("/api/v1/status/rollups").json()["data"]["tiers"].clone();
    assert_eq!(before[0]["watermark"], after[0]["watermark"]);
    let routed = range_query(&server, q, t0 + HOUR, t0 + 2 * HOUR, 10 * MIN, "&stats=all");
    assert!(routed["data"]["stats"]["rollups"].as_array().unwrap().iter().any(|r| r["tier"] != "raw"));
}
