//! kill -9 during a move to the cold tier, for real: `strata shards move-cold` is killed at
//! chosen points of its progress (before writing, with a cold block half written, after one,
//! two or three shards moved), and every time the data dir and the cold dir together must
//! answer exactly what they held before — each sample once, none lost — and the move must
//! then finish.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use strata_testkit::copy_dir;

fn strata(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata")).args(args).output().expect("strata runs")
}

/// `strata shards COMMAND` on `data` with cold dir `cold`, moving shards older than a day,
/// keeping everything; then `more`.
fn shards_args<'a>(command: &'a str, data: &'a Path, cold: &'a Path, more: &[&'a str]) -> Vec<&'a str> {
    let mut args =
        vec!["shards", command, "--dir", data.to_str().unwrap(), "--cold-dir", cold.to_str().unwrap()];
    args.extend(["--cold-after", "1d", "--retention", "0"]);
    args.extend_from_slice(more);
    args
}

fn points(data: &Path, cold: &Path) -> (u64, u64) {
    let more = ["{__name__=~\".+\"}", "--start", "0", "--end", "4000000000", "--json"];
    let out = strata(&shards_args("query", data, cold, &more));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (report["series"].as_u64().unwrap(), report["points"].as_u64().unwrap())
}

#[test]
fn a_move_killed_at_any_moment_loses_and_doubles_nothing() {
    let root = tempfile::tempdir().unwrap();
    let pristine = root.path().join("pristine");
    // Five days of 200 series a minute apart, compacted into a block a day.
    let demo = strata(&[
        "tsdb",
        "demo",
        "--dir",
        pristine.to_str().unwrap(),
        "--series",
        "200",
        "--samples",
        "1440000",
        "--interval",
        "60s",
        "--fsync",
        "none",
        "--json",
    ]);
    assert!(demo.status.success(), "{}", String::from_utf8_lossy(&demo.stderr));
    assert!(strata(&["tsdb", "compact", "--dir", pristine.to_str().unwrap()]).status.success());
    let want = points(&pristine, &root.path().join("unused-cold"));
    assert!(want.1 > 1_000_000, "{want:?}");

    let mut killed = 0;
    // Entries in the cold dir when each kill landed: 0 before the first block was written,
    // a `.tmp` or finished blocks later on.
    let mut progress = Vec::new();
    for round in 0..8u64 {
        let (data, cold) =
            (root.path().join(format!("data-{round}")), root.path().join(format!("cold-{round}")));
        copy_dir(&pristine, &data);
        let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(shards_args("move-cold", &data, &cold, &[]))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill at a chosen point of progress: as soon as the cold dir has `target` entries
        // (a `.tmp` block being written, or finished blocks), whatever the machine's speed.
        let target = (round % 4) as usize;
        let entries = || std::fs::read_dir(&cold).map_or(0, |d| d.count());
        while entries() < target && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_micros(200));
        }
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        progress.push(entries());
        assert_eq!(points(&data, &cold), want, "round {round}: after kill -9 the data answers as before");
        // And the interrupted move can finish.
        assert!(strata(&shards_args("move-cold", &data, &cold, &[])).status.success());
        assert_eq!(points(&data, &cold), want, "round {round}: after the move finished");
    }
    eprintln!("{killed} of 8 moves were killed while running; cold dir entries at each kill: {progress:?}");
    assert!(killed >= 2, "the kills must land while the move runs ({killed} did)");
    assert!(
        progress.iter().any(|&n| n > 0),
        "some kill must land after the move began writing: {progress:?}"
    );
}
