//! `strata tsdb dump` prints what `promtool tsdb dump` prints, for a data dir holding a block
//! promtool wrote and a head that only Strata's WAL holds.

use std::process::Command;

use strata_testkit::peer_binary;

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("runs");
    assert!(out.status.success(), "{:?}: {}", cmd, String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn sorted_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

#[test]
fn dump_matches_promtool_for_blocks_and_head() {
    let Some(promtool) = peer_binary("promtool", "prometheus") else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let base = (now - 3_600_000) / 1000;
    let mut om = String::from("# TYPE dump_test gauge\n");
    for i in 0..300 {
        for (s, v) in [("a", i as f64 * 1.5), ("b", 1e6 + i as f64), ("c", 0.00001 * i as f64)] {
            om.push_str(&format!("dump_test{{s=\"{s}\"}} {v:?} {}.{:03}\n", base + i * 10, i % 1000));
        }
    }
    om.push_str("# EOF\n");
    std::fs::write(dir.path().join("in.om"), om).unwrap();
    run(Command::new(&promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(dir.path().join("in.om"))
        .arg(&data));
    let start = (now - 600_000).to_string();
    run(Command::new(env!("CARGO_BIN_EXE_strata"))
        .args([
            "wal",
            "demo",
            "--points",
            "20000",
            "--writers",
            "1",
            "--fsync",
            "none",
            "--start",
            &start,
            "--dir",
        ])
        .arg(&data));

    let theirs = run(Command::new(&promtool).args(["tsdb", "dump"]).arg(&data));
    let ours = run(Command::new(env!("CARGO_BIN_EXE_strata")).args(["tsdb", "dump"]).arg(&data));
    assert_eq!(theirs.lines().count(), 900 + 20_000);
    let (theirs, ours) = (sorted_lines(&theirs), sorted_lines(&ours));
    assert_eq!(ours.len(), theirs.len());
    let first_difference = ours.iter().zip(&theirs).find(|(a, b)| a != b);
    assert!(first_difference.is_none(), "strata vs promtool: {first_difference:?}");

    let only_b = run(Command::new(env!("CARGO_BIN_EXE_strata"))
        .args([
            "tsdb",
            "dump",
            "--match",
            "dump_test{s=\"b\"}",
            "--min-time",
            &((base + 100) * 1000).to_string(),
        ])
        .arg(&data));
    assert_eq!(only_b.lines().count(), 290, "samples are 10 s apart: i ≥ 10 of 300");
    assert!(only_b.lines().all(|l| l.starts_with("{__name__=\"dump_test\", s=\"b\"}")));

    let inspect: serde_json::Value = serde_json::from_str(&run(Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["tsdb", "inspect", "--json"])
        .arg(&data)))
    .unwrap();
    // promtool cuts blocks at 2 h boundaries: one or two blocks, 900 samples in all.
    let blocks = inspect["blocks"].as_array().unwrap();
    assert!((1..=2).contains(&blocks.len()));
    assert_eq!(blocks.iter().map(|b| b["samples"].as_u64().unwrap()).sum::<u64>(), 900);
    assert_eq!(inspect["wal_segments"], 1);
}
