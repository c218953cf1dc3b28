//! kill -9 while the TSM engine writes, snapshots its cache and compacts: every acknowledged
//! point is found with its value, none twice, and the engine opens every time.
//!
//! The test runs itself as the writer: with `STRATA_TSM_CRASH_DIR` set it opens the engine
//! there (WAL synced, no background thread) and appends batches of 40 series × 10 points, printing each
//! batch's timestamp once `append` returned `Ok`; after every batch it snapshots the cache
//! every second batch and runs every compaction due (8 level-1 files make a level 2, …),
//! with a full compaction every 25 batches, so a kill lands in a snapshot or a compaction
//! most of the time. The parent reads those lines, SIGKILLs it at a random moment, then
//! opens the dir and checks every acknowledged batch. Thirty rounds on one dir.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use strata_codec::synthetic::SplitMix;
use strata_model::Labels;
use strata_storage::Engine;
use strata_tsm::{TsmEngine, TsmOptions};

const SERIES: usize = 40;
const STEP: i64 = 1000;

fn options() -> TsmOptions {
    TsmOptions { background: false, sync_wal: true, ..TsmOptions::default() }
}

fn labels() -> Vec<Labels> {
    (0..SERIES).map(|i| Labels::from_pairs([("__name__", "crash"), ("s", &i.to_string())]).unwrap()).collect()
}

fn write_until_killed(dir: &Path, start: i64) {
    let engine = TsmEngine::open(dir, options()).expect("the writer opens the engine");
    let refs = engine.series_refs(&labels()).unwrap();
    let mut out = std::io::stdout().lock();
    for k in 0.. {
        let t = start + k * STEP;
        // Ten points a series a batch, so files have some size.
        let batch: Vec<_> = refs
            .iter()
            .flat_map(|&r| (0..10).map(move |i| (r, t + i * (STEP / 10), (t + i * (STEP / 10)) as f64)))
            .collect();
        let result = engine.append_refs(&batch).unwrap();
        assert_eq!(result.accepted, batch.len());
        writeln!(out, "{t}").unwrap();
        out.flush().unwrap();
        if k % 2 == 1 {
            engine.snapshot_cache().unwrap();
        }
        while engine.compact_once(k % 25 == 24).unwrap().is_some() {}
    }
}

fn read_back(dir: &Path) -> (BTreeMap<String, Vec<i64>>, usize) {
    let engine = TsmEngine::open(dir, options()).expect("the dir opens after kill -9");
    assert!(engine.skipped_files().is_empty(), "{:?}", engine.skipped_files());
    let mut out = BTreeMap::new();
    for series in engine.select(&[], i64::MIN / 2_000_000, i64::MAX / 2_000_000).unwrap() {
        let samples = series.collect_samples().unwrap();
        assert!(samples.iter().all(|&(t, v)| v == t as f64), "a value was altered");
        assert!(samples.windows(2).all(|w| w[0].0 < w[1].0), "order or duplicates");
        out.insert(series.labels().get("s").unwrap().to_string(), samples.into_iter().map(|s| s.0).collect());
    }
    (out, engine.files().len())
}

#[test]
fn kill_9_during_writes_snapshots_and_compactions_loses_nothing_acknowledged() {
    if let Ok(dir) = std::env::var("STRATA_TSM_CRASH_DIR") {
        let start = std::env::var("STRATA_TSM_CRASH_START").unwrap().parse().unwrap();
        write_until_killed(Path::new(&dir), start);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut rng = SplitMix(0x75a);
    let mut acked: Vec<i64> = Vec::new();
    let mut start = 1_000_000;
    let mut most_files = 0;
    let mut interrupted = (0, 0);
    for round in 0..30 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "kill_9_during_writes_snapshots_and_compactions_loses_nothing_acknowledged",
                "--nocapture",
            ])
            .env("STRATA_TSM_CRASH_DIR", dir.path())
            .env("STRATA_TSM_CRASH_START", start.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let kill_after = 5 + rng.next_u64() % 60;
        let mut seen = 0;
        for line in lines {
            let Ok(t) = line.unwrap().trim().parse::<i64>() else { continue }; // libtest's lines
            acked.push(t);
            seen += 1;
            if seen == kill_after {
                break;
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert_eq!(seen, kill_after, "round {round}: the writer stopped before it was killed");
        // What the kill cut short: a file being written, a compaction's journal.
        for entry in std::fs::read_dir(dir.path()).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            interrupted.0 += usize::from(name.ends_with(".tmp"));
            interrupted.1 += usize::from(name.ends_with(".inputs"));
        }
        let (stored, files) = read_back(dir.path());
        most_files = most_files.max(files);
        assert_eq!(stored.len(), SERIES);
        for (s, times) in &stored {
            let missing: Vec<_> = acked.iter().filter(|t| times.binary_search(t).is_err()).collect();
            assert!(missing.is_empty(), "round {round}: series {s} lost acknowledged points {missing:?}");
        }
        start = stored.values().filter_map(|t| t.last()).max().copied().unwrap() + STEP;
    }
    assert!(most_files >= 2, "snapshots happened");
    eprintln!(
        "{} acknowledged batches over 30 kill -9 rounds, all found; the kills left {} files half-written and {} compaction journals",
        acked.len(),
        interrupted.0,
        interrupted.1
    );
}

/// One crash at each failpoint of a snapshot and a compaction (`STRATA_TSM_FAILPOINT`): the
/// writer appends 12 acknowledged batches, snapshotting each, then compacts; the process
/// aborts at the point; reopening finds every batch once, and the dir converges (a leftover
/// journal is resolved, nothing is left half-written).
#[test]
fn a_crash_at_every_step_of_snapshots_and_compactions_loses_nothing() {
    if let Ok(dir) = std::env::var("STRATA_TSM_FAILPOINT_DIR") {
        let engine = TsmEngine::open(Path::new(&dir), options()).unwrap();
        let refs = engine.series_refs(&labels()).unwrap();
        for k in 0..12 {
            let batch: Vec<_> = refs.iter().map(|&r| (r, k * STEP, (k * STEP) as f64)).collect();
            engine.append_refs(&batch).unwrap();
            engine.snapshot_cache().unwrap();
        }
        while engine.compact_once(true).unwrap().is_some() {}
        return;
    }
    for point in [
        "snapshot-wal-rolled",
        "snapshot-file-written",
        "compaction-output-written",
        "compaction-input-deleted",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "a_crash_at_every_step_of_snapshots_and_compactions_loses_nothing",
                "--nocapture",
            ])
            .env("STRATA_TSM_FAILPOINT_DIR", dir.path())
            .env("STRATA_TSM_FAILPOINT", point)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(!status.success(), "{point}: the writer was stopped there");
        let (stored, _) = read_back(dir.path());
        let expected: Vec<i64> = (0..12).map(|k| k * STEP).collect();
        // The snapshot crashes abort the first snapshot: only the first batch was acknowledged.
        let acked = if point.starts_with("snapshot") { &expected[..1] } else { &expected[..] };
        for (s, times) in &stored {
            assert!(
                acked.iter().all(|t| times.binary_search(t).is_ok()),
                "{point}: series {s} lost points: {times:?}"
            );
        }
        assert_eq!(stored.len(), SERIES, "{point}");
        let left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp") || n.ends_with(".inputs"))
            .collect();
        assert!(left.is_empty(), "{point}: reopening left {left:?}");
    }
}
