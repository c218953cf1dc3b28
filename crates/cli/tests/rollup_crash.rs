//! kill -9 in the middle of a roll-up: `strata rollup run` is killed several times while it
//! backfills, then run to its end; every segment file and watermark must equal those of an
//! uninterrupted run over a copy of the same data — no window lost, none counted twice.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const HOUR: i64 = 3_600_000;

fn strata() -> Command {
    Command::new(env!("CARGO_BIN_EXE_strata"))
}

/// Every file under `dir/rollups/<tier>/`, by relative path.
fn segments(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for tier in std::fs::read_dir(dir.join("rollups")).unwrap() {
        let tier = tier.unwrap().path();
        if !tier.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&tier).unwrap() {
            let f = f.unwrap().path();
            let name = format!(
                "{}/{}",
                tier.file_name().unwrap().to_string_lossy(),
                f.file_name().unwrap().to_string_lossy()
            );
            out.insert(name, std::fs::read(&f).unwrap());
        }
    }
    out
}

/// Each tier's (from, watermark) from the state file.
fn watermarks(dir: &Path) -> Vec<(String, serde_json::Value, serde_json::Value)> {
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("rollups/state.json")).unwrap()).unwrap();
    state["tiers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v["from"].clone(), v["watermark"].clone()))
        .collect()
}

fn run_to_end(dir: &Path) {
    let out = strata()
        .args(["rollup", "run", "--dir", dir.to_str().unwrap(), "--rollups", "1m,5m,1h", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_killed_rollup_job_resumes_without_losing_or_doubling_a_window() {
    let tmp = tempfile::tempdir().unwrap();
    // 120 series over 30 hours at 15 s, a counter and a gauge each.
    let t0 = 1_780_000_000_000i64.div_euclid(HOUR) * HOUR;
    let mut body = String::new();
    for s in 0..60 {
        for i in 1..30 * 240 {
            let t = t0 + i * 15_000;
            body.push_str(&format!("c_total{{s=\"{s}\"}} {} {t}\n", (i * (s + 1)) % 5000));
            body.push_str(&format!("g{{s=\"{s}\"}} {}.5 {t}\n", (i * 7 + s) % 101));
        }
    }
    let input = tmp.path().join("in.prom");
    std::fs::write(&input, body).unwrap();
    let (killed, clean) = (tmp.path().join("killed"), tmp.path().join("clean"));
    for dir in [&killed, &clean] {
        let out = strata()
            .args([
                "import",
                "--format",
                "prometheus",
                input.to_str().unwrap(),
                "--dir",
                dir.to_str().unwrap(),
                "--json",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    run_to_end(&clean);

    // Kill after a delay that grows a little each time, until a run gets to its end by itself.
    let mut kills = 0;
    let mut mid_job_kills = 0;
    let final_1m = watermarks(&clean).into_iter().find(|t| t.0 == "1m").unwrap().2;
    let mut delay = Duration::from_millis(40);
    loop {
        let mut child = strata()
            .args(["rollup", "run", "--dir", killed.to_str().unwrap(), "--rollups", "1m,5m,1h", "--json"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while started.elapsed() < delay {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        let _ = child.wait();
        kills += 1;
        let progress = std::fs::read(killed.join("rollups/state.json")).ok().map(|_| watermarks(&killed));
        if progress.is_some_and(|w| w.iter().any(|t| t.0 == "1m" && !t.2.is_null() && t.2 != final_1m)) {
            mid_job_kills += 1;
        }
        delay += Duration::from_millis(15);
    }
    assert!(kills >= 2, "the job ran too fast to be killed mid-way ({kills} kills)");
    assert!(mid_job_kills >= 1, "no kill landed between two spans ({kills} kills)");
    run_to_end(&killed);
    assert_eq!(watermarks(&killed), watermarks(&clean));
    let (a, b) = (segments(&killed), segments(&clean));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "the same segment files");
    for (name, bytes) in &a {
        assert!(bytes == &b[name], "{name} differs after the kills");
    }
    // 30 hours: seven 4-hour spans of 1m windows, one 20-hour span of 5m windows and one
    // day of 1h windows.
    assert_eq!(a.len(), 9, "{:?}", a.keys());
    eprintln!("{kills} kills ({mid_job_kills} between spans) before a run reached its end");
}
