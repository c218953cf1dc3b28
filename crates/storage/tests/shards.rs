//! Time shards and retention, end to end on the block engine: routing at window boundaries,
//! late samples, compaction inside windows, whole-shard deletion by time and by size, and
//! per-selector rules — with a property test that retention never deletes a sample inside
//! its series' retention, whatever the windows and the clock.

use std::collections::BTreeMap;

use proptest::prelude::*;
use strata_model::{Labels, MatchOp, Matcher};
use strata_storage::{
    BlockEngine, BlockEngineOptions, Clock, DropReason, Engine, RetentionPolicy, RetentionRule, ShardTier,
};
use strata_wal::{SyncPolicy, WalOptions};

const H: i64 = 3_600_000;
const D: i64 = 24 * H;

fn options(block_range: i64, shard: i64) -> BlockEngineOptions {
    BlockEngineOptions {
        block_range,
        shard_duration: shard,
        max_block_range: shard,
        wal: WalOptions { policy: SyncPolicy::None, ..WalOptions::default() },
        maintenance_every: None,
        ..BlockEngineOptions::default()
    }
}

fn series(name: &str, job: &str) -> Labels {
    Labels::from_pairs([("__name__", name), ("job", job)]).unwrap()
}

/// Every sample the engine returns, by series.
fn everything(engine: &BlockEngine) -> BTreeMap<Labels, Vec<i64>> {
    engine
        .select(&[], i64::MIN, i64::MAX)
        .unwrap()
        .into_iter()
        .map(|s| {
            let times = s.collect_samples().unwrap().into_iter().map(|p| p.0).collect();
            (s.labels().clone(), times)
        })
        .filter(|(_, times): &(Labels, Vec<i64>)| !times.is_empty())
        .collect()
}

/// Asserts no block crosses a window of `shard` ms.
fn assert_blocks_inside_windows(engine: &BlockEngine, shard: i64) {
    for b in engine.blocks() {
        let m = b.meta();
        assert_eq!(m.min_time.div_euclid(shard), (m.max_time - 1).div_euclid(shard), "block {m:?} crosses");
    }
}

#[test]
fn samples_at_the_first_and_last_millisecond_land_in_their_own_windows() {
    let dir = tempfile::tempdir().unwrap();
    let engine = BlockEngine::open(dir.path(), options(H, H)).unwrap();
    let a = series("up", "a");
    let batch: Vec<_> = [0, H - 1, H, 2 * H - 1, 2 * H].iter().map(|&t| (a.clone(), t, t as f64)).collect();
    engine.append(&batch).unwrap();
    engine.flush().unwrap();
    let shards = engine.shards();
    let windows: Vec<_> = shards.iter().map(|s| (s.window.start, s.window.end, s.samples)).collect();
    assert_eq!(windows, [(0, H, 2), (H, 2 * H, 2), (2 * H, 3 * H, 1)]);
    assert!(shards.iter().all(|s| s.blocks.len() == 1));
    assert_blocks_inside_windows(&engine, H);
    assert_eq!(everything(&engine)[&a], [0, H - 1, H, 2 * H - 1, 2 * H]);
}

#[test]
fn the_block_range_must_divide_the_shard_duration() {
    let dir = tempfile::tempdir().unwrap();
    let err = BlockEngine::open(dir.path(), options(2 * H, 3 * H)).unwrap_err();
    assert!(err.to_string().contains("must divide the shard duration"), "{err}");
}

#[test]
fn late_samples_go_to_the_shard_of_their_time_and_compaction_stays_inside_windows() {
    let dir = tempfile::tempdir().unwrap();
    let opts = BlockEngineOptions { out_of_order_window: 2 * H, ..options(H, 6 * H) };
    let engine = BlockEngine::open(dir.path(), opts.clone()).unwrap();
    let a = series("up", "a");
    // 12.5 hours, one sample a minute (the head keeps the last 1.5 h), then a late one an
    // hour back: across the 12 h edge, into the window before the newest sample's.
    let batch: Vec<_> = (0..750).map(|m| (a.clone(), m * 60_000 + 1, 1.0)).collect();
    engine.append(&batch).unwrap();
    let late = 11 * H + 30 * 60_000 + 30_000;
    assert_eq!(engine.append(&[(a.clone(), late, 2.0)]).unwrap().accepted, 1);
    engine.flush().unwrap();
    engine.compact().unwrap();
    assert_blocks_inside_windows(&engine, 6 * H);
    let shards = engine.shards();
    assert_eq!(shards.len(), 3);
    // The two windows behind the head are closed and merged down to one block each.
    assert_eq!(shards[0].blocks.len(), 1, "{shards:?}");
    assert_eq!(shards[1].blocks.len(), 1, "{shards:?}");
    assert_eq!(shards[0].tier, ShardTier::Warm);
    assert!(everything(&engine)[&a].contains(&late));
    assert_eq!(everything(&engine)[&a].len(), 751);
    drop(engine);
    let engine = BlockEngine::open(dir.path(), opts).unwrap();
    assert_eq!(everything(&engine)[&a].len(), 751, "the same after reopening");
}

/// 30 days of hourly samples of three series, in 6 h blocks and 1 d shards.
fn thirty_days(dir: &std::path::Path, policy: RetentionPolicy, now: i64) -> BlockEngine {
    let opts =
        BlockEngineOptions { retention: policy, clock: Clock::from_fn(move || now), ..options(6 * H, D) };
    let engine = BlockEngine::open(dir, opts).unwrap();
    let batch: Vec<_> = ["debug_x:api", "up:api", "up:node"]
        .iter()
        .flat_map(|s| {
            let (name, job) = s.split_once(':').unwrap();
            (0..30 * 24).map(move |h| (series(name, job), h * H, 1.0))
        })
        .collect();
    engine.append(&batch).unwrap();
    engine.flush().unwrap();
    engine.compact().unwrap();
    engine
}

fn rules() -> RetentionPolicy {
    let debug = Matcher::new(MatchOp::RegexMatch, "__name__", "debug_.*").unwrap();
    RetentionPolicy {
        time: Some(15 * D),
        size: None,
        rules: vec![
            RetentionRule {
                selector: "{__name__=~\"debug_.*\"}".into(),
                matchers: vec![vec![debug]],
                keep: 2 * D,
            },
            RetentionRule {
                selector: "{job=\"node\"}".into(),
                matchers: vec![vec![Matcher::equal("job", "node")]],
                keep: 90 * D,
            },
        ],
    }
}

#[test]
fn per_selector_rules_hide_expired_series_at_once_and_rewrite_them_away() {
    let dir = tempfile::tempdir().unwrap();
    let newest = (30 * 24 - 1) * H;
    let engine = thirty_days(dir.path(), rules(), newest + 10 * D);
    assert_eq!(engine.retention_reference(), newest, "the newest sample, as it is before the clock");
    let count = |e: &BlockEngine, name: &str, job: &str| {
        e.select(&[], i64::MIN, i64::MAX)
            .unwrap()
            .into_iter()
            .find(|s| s.labels() == &series(name, job))
            .map_or(0, |s| s.collect_samples().unwrap().len())
    };
    // Before any retention pass: what a rule expired is already invisible; what only the
    // global retention expired waits for the pass, as in Prometheus.
    let debug_kept = (newest - (newest - 2 * D)) / H + 1;
    assert_eq!(count(&engine, "debug_x", "api") as i64, debug_kept);
    assert_eq!(count(&engine, "up", "api"), 30 * 24);
    assert_eq!(count(&engine, "up", "node"), 30 * 24, "kept 90 days: all of it");
    let raw_samples: u64 = engine.blocks().iter().map(|b| b.meta().stats.num_samples).sum();
    assert_eq!(raw_samples, 3 * 30 * 24);

    let report = engine.enforce_retention().unwrap();
    assert!(report.dropped.is_empty(), "node's 90 days keep every shard: {report:?}");
    assert!(!report.rewritten.is_empty() && report.bytes_freed > 0, "{report:?}");
    assert_eq!(report.expired_by_rule[1], 0, "node's series never expire here");
    // Gone from the files: the blocks older than 15 days hold node's series alone.
    for b in engine.blocks().iter().filter(|b| b.meta().max_time <= newest - 15 * D - 6 * H) {
        assert_eq!(b.meta().stats.num_series, 1, "{:?}", b.meta());
        assert!(b.tombstones().is_empty(), "rewritten without tombstones");
    }
    assert_eq!(count(&engine, "up", "node"), 30 * 24, "others untouched");
    // Kept from day 29 23:00 − 15 d = hour 359, rounded down to the 6 h block range: 354.
    assert_eq!(count(&engine, "up", "api"), 720 - 354);
    let again = engine.enforce_retention().unwrap();
    assert!(again.rewritten.is_empty() && again.dropped.is_empty(), "nothing left to do: {again:?}");
}

#[test]
fn whole_shards_go_by_time_and_by_size_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let newest = (30 * 24 - 1) * H;
    let policy = RetentionPolicy { time: Some(10 * D), ..RetentionPolicy::default() };
    let engine = thirty_days(dir.path(), policy, newest);
    // A hold (what the rollup job has not rolled up yet) keeps the shards from day 5 on.
    engine.hold_retention(5 * D);
    let held = engine.enforce_retention().unwrap();
    assert_eq!(held.dropped.len(), 5, "{held:?}");
    engine.hold_retention(i64::MAX);
    let report = engine.enforce_retention().unwrap();
    assert_eq!(report.dropped.len(), 14, "{report:?}");
    // Days 0–18 end at or before day 29 23:00 − 10 d; day 19 holds samples still kept.
    assert!(report.dropped.iter().all(|d| d.reason == DropReason::Time));
    assert_eq!(engine.shards().first().unwrap().window.start, 19 * D);
    let dirs = std::fs::read_dir(dir.path()).unwrap().count();
    assert!(dirs < 30, "the deleted blocks' directories are gone ({dirs} entries)");

    let sizes: Vec<u64> = engine.shards().iter().map(|s| s.bytes).collect();
    let wal = strata_storage::dir_bytes(&dir.path().join("wal"));
    let limit = wal + sizes[5..].iter().sum::<u64>();
    drop(engine);
    let opts = BlockEngineOptions {
        retention: RetentionPolicy { time: Some(10 * D), size: Some(limit), rules: Vec::new() },
        clock: Clock::from_fn(move || newest),
        ..options(6 * H, D)
    };
    let engine = BlockEngine::open(dir.path(), opts).unwrap();
    let report = engine.enforce_retention().unwrap();
    let starts: Vec<i64> = report.dropped.iter().map(|d| d.window.start / D).collect();
    assert_eq!(starts, [19, 20, 21, 22, 23], "{report:?}");
    assert!(report.dropped.iter().all(|d| d.reason == DropReason::Size));
}

#[test]
fn a_crash_while_deleting_a_shard_leaves_nothing_half_served() {
    let dir = tempfile::tempdir().unwrap();
    let newest = (30 * 24 - 1) * H;
    let engine = thirty_days(dir.path(), RetentionPolicy::default(), newest);
    let victim = engine.blocks()[0].dir().to_path_buf();
    drop(engine);
    // What a kill -9 between the rename and the removal leaves.
    let renamed =
        victim.with_file_name(format!("{}.tmp-for-deletion", victim.file_name().unwrap().to_str().unwrap()));
    std::fs::rename(&victim, &renamed).unwrap();
    std::fs::remove_file(renamed.join("index")).unwrap();
    let engine = BlockEngine::open(dir.path(), options(6 * H, D)).unwrap();
    assert!(engine.skipped_blocks().is_empty());
    assert!(!renamed.exists(), "the half-deleted block is removed at open");
    assert_eq!(engine.shards()[0].window.start, D, "day 0 is gone whole");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whatever the shard size, the data's span, the retention and the clock: no sample
    /// inside its series' retention is deleted or hidden, and none outside it is returned.
    #[test]
    fn retention_never_deletes_inside_the_window(
        shard_hours in prop::sample::select(vec![1i64, 2, 4, 6, 12, 24]),
        span_hours in 1i64..120,
        keep_hours in 1i64..72,
        debug_keep_hours in 1i64..72,
        clock_offset_hours in -48i64..48,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let newest = (span_hours * 6 - 1) * 600_000 + 1;
        let now = newest + clock_offset_hours * H;
        let debug = Matcher::new(MatchOp::RegexMatch, "__name__", "debug_.*").unwrap();
        let policy = RetentionPolicy {
            time: Some(keep_hours * H),
            size: None,
            rules: vec![RetentionRule { selector: String::new(), matchers: vec![vec![debug]], keep: debug_keep_hours * H }],
        };
        let opts = BlockEngineOptions { retention: policy.clone(), clock: Clock::from_fn(move || now), ..options(H, shard_hours * H) };
        let engine = BlockEngine::open(dir.path(), opts).unwrap();
        let names = [series("up", "a"), series("debug_y", "a")];
        let batch: Vec<_> = names.iter().flat_map(|l| (0..span_hours * 6).map(move |i| (l.clone(), i * 600_000 + 1, 1.0))).collect();
        engine.append(&batch).unwrap();
        engine.flush().unwrap();
        engine.compact().unwrap();
        engine.enforce_retention().unwrap();
        let reference = newest.min(now);
        let got = everything(&engine);
        for l in &names {
            let kept_from = policy.kept_from(l, reference);
            let have = got.get(l).cloned().unwrap_or_default();
            let written: Vec<i64> = batch.iter().filter(|(s, _, _)| s == l).map(|p| p.1).collect();
            let inside: Vec<i64> = written.iter().copied().filter(|&t| t >= kept_from).collect();
            prop_assert!(inside.iter().all(|t| have.contains(t)), "{} lost a sample kept from {}", l, kept_from);
            // A rule's expired samples are hidden at once; the global retention's go with
            // the pass: whole shards at least (a shard straddling the cutoff stays whole),
            // and down to the block range when a longer rule keeps the shard.
            let shard = shard_hours * H;
            let floor = if policy.hidden_before(l, reference) > i64::MIN { kept_from } else { kept_from.div_euclid(shard) * shard };
            prop_assert!(have.iter().all(|&t| t >= floor), "{} shows a sample before {}", l, floor);
            prop_assert!(have.iter().all(|t| written.contains(t)));
        }
        assert_blocks_inside_windows(&engine, shard_hours * H);
    }
}

#[test]
fn a_head_spanning_years_lists_its_two_windows_not_the_years_between() {
    let dir = tempfile::tempdir().unwrap();
    // Cuts left to a maintenance thread that waits an hour: the head keeps both samples.
    let opts = BlockEngineOptions {
        maintenance_every: Some(std::time::Duration::from_secs(3600)),
        ..options(2 * H, D)
    };
    let engine = BlockEngine::open_shared(dir.path(), opts).unwrap();
    let (old, new) = (1_434_055_562_000, 1_703_001_600_000); // 2015 and 2023
    engine.append(&[(series("cpu", "a"), old, 1.0), (series("cpu", "b"), new, 2.0)]).unwrap();
    let shards = engine.shards();
    let starts: Vec<i64> = shards.iter().map(|s| s.window.start).collect();
    assert_eq!(starts, [old.div_euclid(D) * D, new.div_euclid(D) * D], "{shards:?}");
    assert_eq!(shards[1].samples, 2, "the head's figures go to its newest window");
}
