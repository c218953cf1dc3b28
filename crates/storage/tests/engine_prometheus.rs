//! A whole data dir — blocks plus a WAL-only head — shared with the real Prometheus 2.42
//! (Debian `prometheus`), both ways:
//! 1. Strata's block engine writes a known data set, part of it cut into blocks and the rest
//!    left in the head (the WAL), then deletes a range of one series across both (block
//!    tombstones, a WAL tombstones record); `promtool tsdb analyze` accepts the dir and
//!    `promtool tsdb dump` lists exactly the samples written and not deleted, head included;
//!    a snapshot of it (blocks linked, the head written as a block) dumps the same;
//! 2. a real Prometheus started on a copy of that dir answers `/api/v1/query_range` with
//!    every sample, and hides the deleted ones;
//! 3. after leveled compaction and tombstone cleaning, promtool still reads every block and
//!    dumps exactly the samples kept;
//! 4. Strata opens a data dir a real Prometheus wrote (it scraped itself with 5 s blocks, so
//!    there are blocks and a WAL), returns the samples Prometheus' own API returned, keeps
//!    ingesting into it, and Prometheus then serves what Strata added.
//!
//! Skipped (loudly) without the peers, except under `CI=true`, where that fails.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use strata_model::{is_stale_marker, Labels, Matcher};
use strata_storage::{BlockEngine, BlockEngineOptions, Engine};
use strata_testkit::{matrix, peer_binary, promtool_dump, promtool_labels, value_bits, Prometheus};
use strata_wal::{SyncPolicy, WalOptions};

const STEP: i64 = 15_000;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn options() -> BlockEngineOptions {
    BlockEngineOptions {
        wal: WalOptions { policy: SyncPolicy::Batch, ..WalOptions::default() },
        ..Default::default()
    }
}

/// 40 series over the last 5 hours at 15 s, with awkward values: NaN, huge, tiny, negative.
fn data_set(end: i64) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let start = (end - 5 * 3_600_000) / STEP * STEP;
    (0..40u32)
        .map(|s| {
            let labels = Labels::from_pairs([
                ("__name__", format!("engine_metric_{}", s % 4)),
                ("instance", format!("host-{s}")),
                ("job", "interop".to_string()),
            ])
            .unwrap();
            let samples = (0..1200i64)
                .map(|i| {
                    let v = match s % 5 {
                        0 => i as f64,
                        1 => (i as f64 * 0.07).cos() * 1e12,
                        2 if i % 17 == 5 => f64::NAN,
                        2 => -3.25,
                        3 => 1e-250 * (i + 1) as f64,
                        _ => (1u64 << 53) as f64 - i as f64,
                    };
                    (start + i * STEP, v)
                })
                .collect();
            (labels, samples)
        })
        .collect()
}

/// Samples 100 to 1000 of the data set: from inside the first block into the head.
fn deleted_range(input: &[(Labels, Vec<(i64, f64)>)]) -> (i64, i64) {
    (input[0].1[100].0, input[0].1[1000].0)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn promtool_and_prometheus_read_a_strata_data_dir_with_blocks_and_a_head() {
    let Some(promtool) = peer_binary("promtool", "prometheus") else { return };
    let Some(prometheus) = peer_binary("prometheus", "prometheus") else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let input = data_set(now_ms() - 60_000);
    {
        let engine = BlockEngine::open(&data, options()).unwrap();
        let refs = engine.series_refs(&input.iter().map(|(l, _)| l.clone()).collect::<Vec<_>>()).unwrap();
        for i in 0..1200 {
            let batch: Vec<_> = refs.iter().zip(&input).map(|(&r, (_, s))| (r, s[i].0, s[i].1)).collect();
            assert_eq!(engine.append_refs(&batch).unwrap().accepted, input.len());
        }
        let stats = engine.stats().unwrap();
        assert!(stats.blocks >= 1 && stats.head_samples > 0, "blocks and a head: {stats:?}");
        eprintln!("strata wrote {} blocks and a head of {} samples", stats.blocks, stats.head_samples);
        // A deletion across the blocks and the head: block tombstones and a WAL record.
        let (from, to) = deleted_range(&input);
        assert_eq!(engine.delete(&[Matcher::equal("instance", "host-3")], from, to).unwrap(), 1);
        engine.snapshot(&dir.path().join("snapshot")).unwrap();
    }
    let (from, to) = deleted_range(&input);
    let is_deleted = |l: &Labels, t: i64| l.get("instance") == Some("host-3") && (from..=to).contains(&t);
    let input: Vec<(Labels, Vec<(i64, f64)>)> = input
        .into_iter()
        .map(|(l, s)| {
            let kept = s.into_iter().filter(|&(t, _)| !is_deleted(&l, t)).collect();
            (l, kept)
        })
        .collect();
    let written: BTreeMap<(String, i64), u64> = input
        .iter()
        .flat_map(|(l, s)| s.iter().map(move |&(t, v)| ((promtool_labels(l), t), value_bits(v))))
        .collect();

    let analyze = Command::new(&promtool).args(["tsdb", "analyze"]).arg(&data).output().unwrap();
    let report = String::from_utf8_lossy(&analyze.stdout);
    assert!(
        analyze.status.success(),
        "promtool tsdb analyze: {report}{}",
        String::from_utf8_lossy(&analyze.stderr)
    );
    assert!(report.contains("Series: 40"), "{report}");
    let dumped = promtool_dump(&promtool, &data);
    assert_eq!(dumped.len(), written.len(), "promtool dumps every sample, head included");
    assert!(dumped == written, "promtool dumps exactly the samples written");
    let snapshot = promtool_dump(&promtool, &dir.path().join("snapshot"));
    assert!(snapshot == written, "a snapshot (blocks linked, the head as a block) holds the same samples");

    let copy = dir.path().join("copy");
    copy_dir(&data, &copy);
    let server = Prometheus::start(&prometheus, &copy, false);
    for (labels, samples) in &input {
        let selector = format!("{{instance=\"{}\"}}", labels.get("instance").unwrap());
        if labels.get("instance") == Some("host-3") {
            // Steps would fill the deleted gap by lookback: read the raw samples instead.
            let end = samples[samples.len() - 1].0 as f64 / 1000.0;
            let raw = server.query(&format!("{selector}[6h]"), Some(end));
            let served: Vec<i64> = matrix(&raw).first().expect("one series").1.iter().map(|p| p.0).collect();
            let want: Vec<i64> = samples.iter().map(|s| s.0).collect();
            assert!(served == want, "prometheus hides the deleted samples of {labels}");
            continue;
        }
        let (start, end) = (samples[0].0, samples[samples.len() - 1].0);
        let answer = server.query_range(&selector, start, end, 15_000);
        assert_eq!(answer.len(), 1, "one series for {selector}");
        let served: Vec<(i64, u64)> = answer[0].1.iter().map(|&(t, v)| (t, value_bits(v))).collect();
        let want: Vec<(i64, u64)> = samples.iter().map(|&(t, v)| (t, value_bits(v))).collect();
        assert!(served == want, "prometheus serves every sample of {labels}");
    }
    server.stop();
}

#[test]
fn promtool_reads_compacted_and_cleaned_blocks() {
    let Some(promtool) = peer_binary("promtool", "prometheus") else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let input = data_set(now_ms() - 60_000);
    let options = BlockEngineOptions { block_range: 600_000, ..options() };
    let engine = BlockEngine::open(&data, options).unwrap();
    let refs = engine.series_refs(&input.iter().map(|(l, _)| l.clone()).collect::<Vec<_>>()).unwrap();
    for i in 0..1200 {
        let batch: Vec<_> = refs.iter().zip(&input).map(|(&r, (_, s))| (r, s[i].0, s[i].1)).collect();
        engine.append_refs(&batch).unwrap();
    }
    let blocks_before = engine.blocks().len();
    let compacted = engine.compact().unwrap();
    let (from, to) = deleted_range(&input);
    engine.delete(&[Matcher::equal("instance", "host-3")], from, to).unwrap();
    let cleaned = engine.clean_tombstones().unwrap();
    let levels: Vec<u32> = engine.blocks().iter().map(|b| b.meta().compaction.level).collect();
    eprintln!(
        "{blocks_before} blocks -> {} compactions, {} cleaned -> {} blocks, levels {levels:?}",
        compacted.len(),
        cleaned.len(),
        engine.blocks().len()
    );
    assert!(levels.iter().any(|&l| l >= 3), "compactions went two levels up: {levels:?}");
    assert!(!cleaned.is_empty());
    drop(engine);

    let written: BTreeMap<(String, i64), u64> = input
        .iter()
        .flat_map(|(l, s)| {
            let deleted = l.get("instance") == Some("host-3");
            s.iter()
                .filter(move |(t, _)| !(deleted && (from..=to).contains(t)))
                .map(move |&(t, v)| ((promtool_labels(l), t), value_bits(v)))
        })
        .collect();
    let analyze = Command::new(&promtool).args(["tsdb", "analyze"]).arg(&data).output().unwrap();
    assert!(analyze.status.success(), "{}", String::from_utf8_lossy(&analyze.stderr));
    let dumped = promtool_dump(&promtool, &data);
    assert_eq!(dumped.len(), written.len());
    assert!(dumped == written, "promtool dumps exactly the samples kept, once each");
}

/// Every sample Prometheus' API returns (stale markers are not returned by range queries).
fn api_samples(server: &Prometheus) -> BTreeMap<(String, i64), u64> {
    let all = server.query("{__name__=~\".+\"}[1d]", None);
    let mut out = BTreeMap::new();
    for (labels, points) in matrix(&all) {
        for (t, v) in points {
            out.insert((promtool_labels(&labels), t), value_bits(v));
        }
    }
    out
}

fn engine_samples(engine: &BlockEngine) -> BTreeMap<(String, i64), u64> {
    let mut out = BTreeMap::new();
    for series in engine.select(&[], i64::MIN, i64::MAX).unwrap() {
        for (t, v) in series.collect_samples().unwrap() {
            if !is_stale_marker(v) {
                out.insert((promtool_labels(series.labels()), t), value_bits(v));
            }
        }
    }
    out
}

#[test]
fn strata_opens_a_prometheus_data_dir_and_keeps_ingesting() {
    let Some(prometheus) = peer_binary("prometheus", "prometheus") else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let small_blocks = ["--storage.tsdb.min-block-duration=5s", "--storage.tsdb.max-block-duration=5s"];
    let scraping = Prometheus::start_with(&prometheus, &data, true, &small_blocks);
    let deadline = Instant::now() + Duration::from_secs(90);
    let blocks = |data: &Path| {
        std::fs::read_dir(data).unwrap().flatten().filter(|e| e.path().join("meta.json").is_file()).count()
    };
    while blocks(&data) < 2 {
        assert!(Instant::now() < deadline, "prometheus cut no blocks");
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(Duration::from_secs(2)); // and some samples in its head
    scraping.stop();

    let serving = Prometheus::start_with(&prometheus, &data, false, &small_blocks);
    let want = api_samples(&serving);
    serving.stop();
    assert!(want.len() > 1000, "prometheus wrote something worth checking ({})", want.len());

    let engine = BlockEngine::open(&data, options()).unwrap();
    assert!(engine.skipped_blocks().is_empty(), "{:?}", engine.skipped_blocks());
    let stats = engine.stats().unwrap();
    assert!(stats.blocks >= 2 && stats.head_samples > 0, "blocks and a head: {stats:?}");
    let got = engine_samples(&engine);
    eprintln!(
        "prometheus serves {} samples; strata reads {} ({} blocks)",
        want.len(),
        got.len(),
        stats.blocks
    );
    assert_eq!(got.len(), want.len());
    assert!(got == want, "strata reads exactly what prometheus serves");

    // Strata carries on in Prometheus' data dir: an existing series and a new one.
    let up = engine.select(&[Matcher::equal("__name__", "up")], i64::MIN, i64::MAX).unwrap();
    let up_labels = up[0].labels().clone();
    let last = up[0].collect_samples().unwrap().last().unwrap().0;
    let t = now_ms().max(last + 1000);
    let added = Labels::from_pairs([("__name__", "strata_added"), ("job", "interop")]).unwrap();
    let result = engine.append(&[(up_labels.clone(), t, 7.0), (added.clone(), t, 8.0)]).unwrap();
    assert_eq!(result.accepted, 2, "{:?}", result.rejected);
    drop(engine);
    let engine = BlockEngine::open(&data, options()).unwrap();
    let again = engine_samples(&engine);
    assert_eq!(again.len(), want.len() + 2, "the new samples survive a reopen");
    drop(engine);

    let serving = Prometheus::start_with(&prometheus, &data, false, &small_blocks);
    let seconds = t as f64 / 1000.0;
    assert_eq!(serving.value("strata_added", Some(seconds)), 8.0);
    assert_eq!(
        serving.value(&format!("up{{instance=\"{}\"}}", up_labels.get("instance").unwrap()), Some(seconds)),
        7.0
    );
    serving.stop();
}
