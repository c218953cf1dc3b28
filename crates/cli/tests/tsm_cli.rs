//! `strata tsm demo` and `strata tsm inspect` end to end: the demo's report adds up, and
//! inspect lists a file's blocks and fails, naming the block, when one is damaged.

use std::process::Command;

fn strata(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_strata")).args(args).output().expect("strata runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_demo_reports_every_point_and_inspect_checks_every_block() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("tsm");
    let d = data.to_str().unwrap();
    let (ok, out, err) = strata(&[
        "tsm",
        "demo",
        "--dir",
        d,
        "--series",
        "200",
        "--points",
        "150000",
        "--cache-snapshot-size",
        "1",
        "--json",
    ]);
    assert!(ok, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["points"], 150000);
    assert!(report["flushes"].as_array().unwrap().len() >= 2, "{report}");
    let flushed: u64 =
        report["flushes"].as_array().unwrap().iter().map(|f| f["points"].as_u64().unwrap()).sum();
    assert_eq!(flushed, 150000, "every point went through a snapshot");
    assert_eq!(report["queries"][1]["points"], 150000, "every point reads back");
    assert_eq!(report["files"], 1, "a full compaction at the end");

    let file = std::fs::read_dir(&data)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "tsm"))
        .unwrap();
    let f = file.to_str().unwrap();
    let (ok, out, err) = strata(&["tsm", "inspect", f, "--json"]);
    assert!(ok, "{err}");
    let inspect: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(inspect["points"], 150000);
    assert_eq!(inspect["keys"], 200);
    assert_eq!(inspect["damaged_blocks"], 0);
    let second = &inspect["index"][1]["blocks"][0];
    let at = second["offset"].as_u64().unwrap() as usize + 6;

    let mut bytes = std::fs::read(&file).unwrap();
    bytes[at] ^= 0xFF;
    std::fs::write(&file, &bytes).unwrap();
    let (ok, out, _) = strata(&["tsm", "inspect", f]);
    assert!(!ok, "a damaged block fails inspect");
    assert!(out.contains("DAMAGED") && out.contains("checksum"), "{out}");
}
