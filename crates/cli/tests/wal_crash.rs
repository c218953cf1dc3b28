//! Crash test: every sample the WAL acknowledged survives SIGKILL, exactly once.
//!
//! A child `strata wal demo` appends batches and prints `acked <total>` after each
//! acknowledgement. It is killed with SIGKILL at a random moment: half the rounds by this
//! test while it runs, half by itself once a random number of points is acknowledged. Then
//! the log is replayed and checked: every acknowledged sample is there, none twice, each
//! with the value, series and time the demo gives it (sample `i` has value `i`). With one
//! writer the samples form an exact prefix of the sequence.
//!
//! `STRATA_CRASH_ROUNDS` sets the number of rounds (default 32); the seed is printed.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use strata_wal::{Record, ReplayOptions};

const SERIES: u64 = 10_000;
const START: i64 = 1_700_000_000_000;

struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound.max(1)
    }
}

/// Runs one round and returns the acknowledged total and the number of samples recovered.
fn round(rng: &mut Lcg, fsync: &str, writers: u64) -> (u64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let self_kill = rng.next(2) == 0;
    let crash_after = if self_kill { 1 + rng.next(300_000) } else { u64::MAX };
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["wal", "demo", "--dir"])
        .arg(dir.path())
        .args(["--points", "50000000", "--segment-size", "1MiB", "--batch", "500"])
        .args(["--fsync", fsync, "--writers", &writers.to_string(), "--start", &START.to_string()])
        .args(["--crash-after", &crash_after.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("strata runs");
    let stdout = child.stdout.take().expect("stdout");
    let kill_at = Instant::now() + Duration::from_millis(5 + rng.next(150));
    let reader = std::thread::spawn(move || {
        let mut acked = 0u64;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(n) = line.strip_prefix("acked ") {
                acked = acked.max(n.parse().expect("acked <total>"));
            }
        }
        acked
    });
    if !self_kill {
        while Instant::now() < kill_at {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let _ = child.kill(); // SIGKILL
    }
    let status = child.wait().unwrap();
    assert!(!status.success(), "the child must die by a signal, not exit");
    let acked = reader.join().unwrap();

    if !dir.path().join("wal").exists() {
        // Killed before it created its log (a slow start on a loaded machine): then it
        // cannot have acknowledged anything.
        assert_eq!(acked, 0, "{acked} acknowledged without a log directory");
        return (0, 0);
    }
    let mut seen = HashSet::new();
    let replay = strata_wal::replay(&dir.path().join("wal"), ReplayOptions::default(), |record| {
        if let Record::Samples(samples) = record {
            for s in samples {
                let i = s.v as u64;
                assert_eq!(s.v, i as f64, "value is an integer");
                assert_eq!(s.series_ref, i % SERIES + 1, "sample {i} belongs to its series");
                assert_eq!(s.t, START + (i / SERIES) as i64 * 1000, "sample {i} has its time");
                assert!(seen.insert(i), "sample {i} recovered twice");
            }
        }
    });
    replay.unwrap_or_else(|e| panic!("recovery after SIGKILL ({fsync}, {writers} writers) failed: {e}"));
    let recovered = seen.len() as u64;
    assert!(recovered >= acked, "{fsync}, {writers} writers: {acked} acknowledged but {recovered} recovered");
    if writers == 1 {
        assert!((0..acked).all(|i| seen.contains(&i)), "every acknowledged sample of the sequence is there");
        assert!(seen.iter().all(|&i| i < recovered), "one writer: the samples form a prefix");
    }
    (acked, recovered)
}

#[test]
fn acknowledged_samples_survive_sigkill() {
    let rounds: usize = std::env::var("STRATA_CRASH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(32);
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    eprintln!("crash test: {rounds} rounds, seed {seed}");
    let mut rng = Lcg(seed);
    let mut acked_total = 0;
    for r in 0..rounds {
        let fsync = if r % 2 == 0 { "sync" } else { "batch" };
        let writers = if r % 4 < 2 { 1 } else { 4 };
        let (acked, recovered) = round(&mut rng, fsync, writers);
        eprintln!("round {r}: {fsync}, {writers} writer(s): {acked} acknowledged, {recovered} recovered");
        acked_total += acked;
    }
    assert!(acked_total > 0, "the rounds acknowledged something to check");
}
