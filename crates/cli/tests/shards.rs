//! `strata shards status|query|enforce-retention` on a data dir backfilled with
//! `strata import`, and `strata server` refusing retention settings it cannot read.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn strata(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata")).args(args).output().expect("strata runs")
}

fn json(out: &Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

const DAY: i64 = 86_400_000;
/// 2025-11-28T00:00:00Z.
const START: i64 = 1_764_288_000_000;

/// Five days of two metrics on 4 hosts, one sample each 10 minutes, imported into blocks.
fn backfilled(dir: &Path) -> String {
    let mut text = String::new();
    for i in 0..5 * 144i64 {
        for host in 0..4 {
            let t = START + i * 600_000;
            text.push_str(&format!("cpu_usage{{host=\"h{host}\"}} {} {t}\n", i % 50));
            text.push_str(&format!("debug_x{{host=\"h{host}\"}} {} {t}\n", i % 7));
        }
    }
    let file = dir.join("in.prom");
    std::fs::write(&file, text).unwrap();
    let data = dir.join("data");
    let out = strata(&[
        "import",
        "--format",
        "prometheus",
        file.to_str().unwrap(),
        "--dir",
        data.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(
        dir.join("strata.toml"),
        "retention = \"3d\"\nretention-rules = [{ match = '{__name__=~\"debug_.*\"}', keep = \"1d\" }]\n",
    )
    .unwrap();
    data.to_str().unwrap().to_string()
}

#[test]
fn status_query_and_enforce_retention_report_the_shards() {
    let dir = tempfile::tempdir().unwrap();
    let data = backfilled(dir.path());
    let config = dir.path().join("strata.toml");
    let config = config.to_str().unwrap();

    let status = json(&strata(&["shards", "status", "--dir", &data, "--config", config, "--json"]));
    assert_eq!(status["shard_duration"], "1d");
    assert_eq!(status["rules"][0]["keep"], "1d");
    let shards = status["shards"].as_array().unwrap();
    let starts: Vec<i64> = shards.iter().map(|s| s["start_ms"].as_i64().unwrap()).collect();
    assert_eq!(starts, (0..5).map(|d| START + d * DAY).collect::<Vec<_>>());
    assert!(shards.iter().all(|s| s["tier"] == "WARM" && s["samples"] == 8 * 144), "{status}");
    assert_eq!(shards[0]["start"], "2025-11-28T00:00:00Z");

    // Two days of one host: two shards planned; the result holds what retention keeps.
    let query = json(&strata(&[
        "shards",
        "query",
        "--dir",
        &data,
        "--config",
        config,
        "cpu_usage{host=\"h1\"}",
        "--start",
        "2025-11-30T00:00:00Z",
        "--end",
        "2025-12-01T23:59:59Z",
        "--json",
    ]));
    assert_eq!(query["shards_to_scan"].as_array().unwrap().len(), 2, "{query}");
    assert_eq!(query["estimated_points"], 2 * 8 * 144);
    assert_eq!((query["series"].as_u64(), query["points"].as_u64()), (Some(1), Some(2 * 144)));
    let debug = json(&strata(&[
        "shards",
        "query",
        "--dir",
        &data,
        "--config",
        config,
        "debug_x",
        "--start",
        "2025-11-28T00:00:00Z",
        "--end",
        "2025-12-03T00:00:00Z",
        "--json",
    ]));
    assert_eq!(debug["points"].as_u64(), Some(4 * 144), "one day of debug_x is kept: {debug}");

    let done = json(&strata(&["shards", "enforce-retention", "--dir", &data, "--config", config, "--json"]));
    let dropped: Vec<&str> =
        done["dropped"].as_array().unwrap().iter().map(|d| d["shard"].as_str().unwrap()).collect();
    assert_eq!(dropped, ["2025-11-28T00:00:00Z"], "{done}");
    assert!(
        done["rewritten_blocks"].as_u64().unwrap() >= 2 && done["bytes_freed"].as_u64().unwrap() > 0,
        "{done}"
    );
    let again = json(&strata(&["shards", "enforce-retention", "--dir", &data, "--config", config, "--json"]));
    assert_eq!((again["dropped"].as_array().unwrap().len(), again["bytes_freed"].as_u64()), (0, Some(0)));
    let text = strata(&["shards", "status", "--dir", &data, "--config", config]);
    let text = String::from_utf8_lossy(&text.stdout);
    // What each rule freed is kept with the data dir, so a later status still says it.
    // Four hosts' debug_x, cut from the three blocks still kept where it had expired.
    assert!(text.contains("rule {__name__=~\"debug_.*\"} keep 1d: 12 series cut from blocks"), "{text}");
    assert!(
        text.contains("freed so far: 1 shard(s) deleted") && text.contains("2025-11-29T00:00:00Z"),
        "{text}"
    );
    let status = json(&strata(&["shards", "status", "--dir", &data, "--config", config, "--json"]));
    assert_eq!(status["shards_dropped"], 1);
    assert!(status["global_series_expired"].as_u64().unwrap() >= 4, "{status}");
}

#[test]
fn bad_retention_settings_stop_the_server_and_name_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let cases: [(&[&str], &str); 3] = [
        (&["--retention", "15days"], "retention:"),
        (&["--shard-duration", "5h"], "must divide shard-duration"),
        (&["--retention-size", "lots"], "retention-size:"),
    ];
    for (flags, says) in cases {
        let mut args = vec!["server", "--data-dir", data, "--listen", "127.0.0.1:0"];
        args.extend_from_slice(flags);
        let out = strata(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(says), "{flags:?}: {stderr}");
    }
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "retention-rules = [{ match = 'up{', keep = \"1d\" }]\n").unwrap();
    let out = strata(&["server", "--data-dir", data, "--config", config.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("retention-rules[0]: match \"up{\""), "{stderr}");
    assert!(!Path::new(data).exists(), "nothing was opened or created");
}

/// `strata bench dense` on a small scrape: every bit back, fewer bytes than XOR chunks.
#[test]
fn bench_dense_keeps_every_bit_in_fewer_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..2_000i64 {
        let t = START + i * 1_000;
        text.push_str(&format!("up{{job=\"a\"}} 1 {t}\n"));
        text.push_str(&format!("requests_total{{job=\"a\"}} {} {t}\n", i * 7 / 3));
        text.push_str(&format!("latency_seconds{{job=\"a\"}} {} {t}\n", (i % 17) as f64 * 0.001_25));
        text.push_str(&format!(
            "odd{{job=\"a\"}} {} {t}\n",
            if i % 100 == 0 { "NaN".into() } else { format!("{:?}", (i as f64).sqrt()) }
        ));
    }
    let file = dir.path().join("scrape.prom");
    std::fs::write(&file, text).unwrap();
    let report = json(&strata(&["bench", "dense", file.to_str().unwrap(), "--rounds", "1", "--json"]));
    assert_eq!(report["bit_exact"], true, "{report}");
    assert_eq!((report["series"].as_u64(), report["samples"].as_u64()), (Some(4), Some(8_000)));
    assert_eq!(report["distinct_timestamp_columns"], 1, "the four series share their timestamps");
    let (dense, xor) = (report["dense_bytes"].as_u64().unwrap(), report["xor_bytes"].as_u64().unwrap());
    assert!(dense * 2 < xor, "dense {dense} bytes against xor {xor}");
}

/// `move-cold`, then `status` shows COLD shards that answer as before, and `export` writes
/// them back as blocks `strata tsdb dump` reads (promtool reads them: storage's cold tier
/// test checks that under CI).
#[test]
fn cold_shards_move_answer_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let data = backfilled(dir.path());
    let cold = dir.path().join("cold");
    let cold = cold.to_str().unwrap();
    let forever = ["--retention", "0"];
    let query = |args: &[&str]| {
        let mut all = vec![
            "shards",
            "query",
            "--dir",
            &data,
            "cpu_usage",
            "--start",
            "2025-11-28T00:00:00Z",
            "--end",
            "2025-12-03T00:00:00Z",
            "--json",
        ];
        all.extend_from_slice(args);
        json(&strata(&all))
    };
    let before = query(&forever);
    let mut args =
        vec!["shards", "move-cold", "--dir", &data, "--cold-dir", cold, "--cold-after", "2d", "--json"];
    args.extend_from_slice(&forever);
    let moved = json(&strata(&args));
    let moved = moved["moved"].as_array().unwrap();
    // The newest block ends with day 4: days 0 and 1 ended two days before that.
    assert_eq!(moved.len(), 2, "{moved:?}");
    assert!(moved.iter().all(|m| m["bytes_after"].as_u64() < m["bytes_before"].as_u64()));

    let tiered = ["--cold-dir", cold, "--cold-after", "2d", "--retention", "0", "--json"];
    let shards = |command: &str, more: &[&str]| {
        let mut args = vec!["shards", command, "--dir", &data];
        args.extend_from_slice(&tiered);
        args.extend_from_slice(more);
        json(&strata(&args))
    };
    let status = shards("status", &[]);
    let tiers: Vec<&str> =
        status["shards"].as_array().unwrap().iter().map(|s| s["tier"].as_str().unwrap()).collect();
    assert_eq!(tiers, ["COLD", "COLD", "WARM", "WARM", "WARM"]);
    let after = query(&tiered[..6]);
    assert_eq!(
        (after["series"].clone(), after["points"].clone()),
        (before["series"].clone(), before["points"].clone())
    );

    let out = dir.path().join("export");
    let exported = shards("export", &["--out", out.to_str().unwrap(), "--shard", "2025-11-29T00:00:00Z"]);
    assert_eq!(exported["blocks"].as_array().unwrap().len(), 1);
    assert_eq!(exported["samples"], 8 * 144);
    let dump = strata(&["tsdb", "dump", out.to_str().unwrap()]);
    assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));
    assert_eq!(String::from_utf8_lossy(&dump.stdout).lines().count(), 8 * 144);
}
