//! An armed failpoint aborts the process on exactly its count-th hit: the test runs itself
//! as a child with `STRATA_FAILPOINTS` set and reads how far the child got.

use std::process::Command;

use strata_failpoint::{hit, Point, ENV};

const CHILD: &str = "STRATA_FAILPOINT_TEST_CHILD";

/// In the child: reach `wal.after_sync` (unarmed) and `wal.after_write` (armed) in turn,
/// saying so before each hit, five times.
#[test]
fn child_reaches_points() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    for i in 1..=5 {
        hit(Point::WalAfterSync);
        println!("before hit {i}");
        hit(Point::WalAfterWrite);
    }
    println!("finished");
}

fn run_child(spec: &str) -> (std::process::ExitStatus, String, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_reaches_points", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env(ENV, spec)
        .output()
        .unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn aborts_on_the_armed_hit_and_not_before() {
    let (status, stdout, stderr) = run_child("wal.after_write=3");
    assert!(!status.success(), "the child should have aborted: {stdout}");
    assert!(stdout.contains("before hit 3") && !stdout.contains("before hit 4"), "{stdout}");
    assert!(stderr.contains("failpoint wal.after_write reached (hit 3); aborting"), "{stderr}");
}

#[test]
fn an_unreached_count_or_a_bad_spec_lets_the_process_finish() {
    let (status, stdout, _) = run_child("wal.after_write=6");
    assert!(status.success() && stdout.contains("finished"), "{stdout}");
    let (status, stdout, stderr) = run_child("wal.after_wrte=1");
    assert!(status.success() && stdout.contains("finished"), "{stdout}");
    assert!(stderr.contains("STRATA_FAILPOINTS ignored: unknown failpoint"), "{stderr}");
}
