//! kill -9 during ingestion, while blocks are being cut, the WAL checkpointed and blocks
//! compacted: nothing acknowledged is lost, nothing is duplicated or altered, no sample is
//! stored twice (a compaction's sources and result never both survive), and the engine
//! opens every time.
//!
//! The test runs itself as the writer: with `STRATA_CRASH_DIR` set it opens the engine
//! there (blocks of 2 s, so a cut and a checkpoint every ~20 batches; compaction levels of
//! 6 s and 18 s, run after every batch) and appends batches of 50 series, printing each
//! batch's timestamp once `append` returned `Ok` (or, for every third batch, once
//! `append_unsynced` and then `sync_wal` did — the rule engine's path); the parent reads those lines, SIGKILLs it
//! at a random moment, then opens the data dir and checks that every acknowledged sample is
//! there with its value, once. Thirty rounds on the same data dir.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use strata_codec::synthetic::SplitMix;
use strata_model::Labels;
use strata_storage::{BlockEngine, BlockEngineOptions, Engine};
use strata_wal::{SyncPolicy, WalOptions};

const SERIES: usize = 50;
const STEP: i64 = 100;

fn options() -> BlockEngineOptions {
    BlockEngineOptions {
        block_range: 2_000,
        max_block_range: 18_000,
        wal: WalOptions { policy: SyncPolicy::Batch, ..WalOptions::default() },
        ..Default::default()
    }
}

fn labels() -> Vec<Labels> {
    (0..SERIES).map(|i| Labels::from_pairs([("__name__", "crash"), ("s", &i.to_string())]).unwrap()).collect()
}

/// The writer's side: append until killed.
fn write_until_killed(dir: &Path, start: i64) {
    let engine = BlockEngine::open(dir, options()).expect("the writer opens the engine");
    let all = labels();
    let refs = engine.series_refs(&all).unwrap();
    let mut out = std::io::stdout().lock();
    for k in 0.. {
        let t = start + k * STEP;
        // Every third batch takes the rule engine's path: appended without waiting for
        // the WAL, acknowledged once `sync_wal` returned.
        let result = if k % 3 == 2 {
            let batch: Vec<_> = all.iter().map(|l| (l.clone(), t, t as f64)).collect();
            let result = engine.append_unsynced(&batch).unwrap();
            engine.sync_wal().unwrap();
            result
        } else {
            let batch: Vec<_> = refs.iter().map(|&r| (r, t, t as f64)).collect();
            engine.append_refs(&batch).unwrap()
        };
        assert_eq!(result.accepted, SERIES, "{:?}", result.rejected.first());
        assert!(engine.last_cut_error().is_none(), "{:?}", engine.last_cut_error());
        engine.compact().unwrap();
        writeln!(out, "{t}").unwrap();
        out.flush().unwrap();
    }
}

/// Every sample of the data dir by series number; checks values and order on the way.
fn read_back(dir: &Path) -> BTreeMap<String, Vec<i64>> {
    let engine = BlockEngine::open(dir, options()).expect("the data dir opens after kill -9");
    assert!(engine.skipped_blocks().is_empty(), "{:?}", engine.skipped_blocks());
    let mut out = BTreeMap::new();
    let mut distinct = 0u64;
    for series in engine.select(&[], i64::MIN, i64::MAX).unwrap() {
        let samples = series.collect_samples().unwrap();
        assert!(samples.iter().all(|&(t, v)| v == t as f64), "a value was altered");
        assert!(samples.windows(2).all(|w| w[0].0 < w[1].0), "order or duplicates");
        distinct += samples.len() as u64;
        out.insert(series.labels().get("s").unwrap().to_string(), samples.into_iter().map(|s| s.0).collect());
    }
    assert_eq!(engine.stats().unwrap().samples(), distinct, "a sample is stored twice");
    out
}

#[test]
fn kill_9_during_ingest_cuts_and_compactions_loses_nothing_acknowledged() {
    if let Ok(dir) = std::env::var("STRATA_CRASH_DIR") {
        let start = std::env::var("STRATA_CRASH_START").unwrap().parse().unwrap();
        write_until_killed(Path::new(&dir), start);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut rng = SplitMix(0x5eed);
    let mut acked: Vec<i64> = Vec::new();
    let mut start = 1_000_000;
    for round in 0..30 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "kill_9_during_ingest_cuts_and_compactions_loses_nothing_acknowledged",
                "--nocapture",
            ])
            .env("STRATA_CRASH_DIR", dir.path())
            .env("STRATA_CRASH_START", start.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let kill_after = 10 + rng.next_u64() % 120;
        let mut seen = 0;
        for line in lines {
            let line = line.unwrap();
            let Ok(t) = line.trim().parse::<i64>() else { continue }; // libtest's own lines
            acked.push(t);
            seen += 1;
            if seen == kill_after {
                break;
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert_eq!(seen, kill_after, "round {round}: the writer stopped before it was killed");

        let stored = read_back(dir.path());
        assert_eq!(stored.len(), SERIES);
        for (s, times) in &stored {
            let missing: Vec<_> = acked.iter().filter(|t| times.binary_search(t).is_err()).collect();
            assert!(missing.is_empty(), "round {round}: series {s} lost acknowledged samples {missing:?}");
        }
        let newest = stored.values().filter_map(|t| t.last()).max().copied().unwrap();
        start = newest + STEP;
    }
    let blocks =
        std::fs::read_dir(dir.path()).unwrap().flatten().filter(|e| e.path().join("meta.json").is_file());
    let levels: Vec<u32> = blocks
        .map(|e| {
            let meta: serde_json::Value =
                serde_json::from_slice(&std::fs::read(e.path().join("meta.json")).unwrap()).unwrap();
            meta["compaction"]["level"].as_u64().unwrap() as u32
        })
        .collect();
    assert!(
        levels.len() >= 3 && levels.iter().any(|&l| l >= 2),
        "cuts and compactions happened: levels {levels:?}"
    );
    eprintln!("{} acknowledged batches over 30 kill -9 rounds, all found", acked.len());
}
