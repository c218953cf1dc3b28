//! The cold tier end to end: queries answer the same before and after a shard goes cold
//! (property test), a crash at either step of a move leaves one copy serving, a damaged cold
//! shard is reported and skipped while the rest serves, a cold dir that cannot be written
//! leaves the shard warm, and cold shards export back to Prometheus blocks that promtool
//! reads (when promtool is installed; under CI=true it must be).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use strata_model::{Labels, Matcher};
use strata_storage::{BlockEngine, BlockEngineOptions, Clock, Engine, ShardTier};
use strata_testkit::{copy_dir, peer_binary, promtool_dump, promtool_labels, value_bits};
use strata_wal::{SyncPolicy, WalOptions};

const H: i64 = 3_600_000;
const D: i64 = 24 * H;

fn options(cold: &Path, now: i64) -> BlockEngineOptions {
    BlockEngineOptions {
        block_range: 6 * H,
        shard_duration: D,
        max_block_range: D,
        wal: WalOptions { policy: SyncPolicy::None, ..WalOptions::default() },
        maintenance_every: None,
        cold_dir: Some(cold.to_path_buf()),
        cold_after: Some(2 * D),
        clock: Clock::from_fn(move || now),
        ..BlockEngineOptions::default()
    }
}

type Samples = BTreeMap<Labels, Vec<(i64, u64)>>;

fn everything(engine: &BlockEngine, matchers: &[Matcher], mint: i64, maxt: i64) -> Samples {
    engine
        .select(matchers, mint, maxt)
        .unwrap()
        .into_iter()
        .map(|s| {
            let samples = s.collect_samples().unwrap().into_iter().map(|(t, v)| (t, v.to_bits())).collect();
            (s.labels().clone(), samples)
        })
        .filter(|(_, s): &(Labels, Vec<(i64, u64)>)| !s.is_empty())
        .collect()
}

/// `days` days of three series, one sample every 5 minutes, with odd values in them.
fn load(engine: &BlockEngine, days: i64) {
    let mut batch = Vec::new();
    for job in ["api", "db", "web"] {
        let labels = Labels::from_pairs([("__name__", "x"), ("job", job)]).unwrap();
        for i in 0..days * 288 {
            let v = match i % 97 {
                0 => f64::NAN,
                1 => f64::from_bits(0x7ff0_0000_0000_0002),
                2 => -0.0,
                _ => (i as f64) * 0.25 + if job == "db" { 1e9 } else { 0.0 },
            };
            batch.push((labels.clone(), i * 300_000, v));
        }
    }
    engine.append(&batch).unwrap();
    engine.flush().unwrap();
    engine.compact().unwrap();
}

fn dirs() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let (data, cold) = (root.path().join("data"), root.path().join("cold"));
    (root, data, cold)
}

#[test]
fn old_shards_go_cold_and_answer_exactly_as_before() {
    let (_root, data, cold) = dirs();
    let now = 6 * D;
    let engine = BlockEngine::open(&data, options(&cold, now)).unwrap();
    load(&engine, 6);
    let before = everything(&engine, &[], i64::MIN, i64::MAX);
    let moved = engine.move_cold_shards().unwrap();
    // Reference: the newest sample (day 5, 23:55); days 0–2 ended two days before it.
    assert_eq!(moved.len(), 3, "{moved:?}");
    assert!(moved.iter().all(|m| m.bytes_after * 2 < m.bytes_before), "{moved:?}");
    let tiers: Vec<ShardTier> = engine.shards().iter().map(|s| s.tier).collect();
    assert_eq!(tiers[..4], [ShardTier::Cold, ShardTier::Cold, ShardTier::Cold, ShardTier::Warm]);
    assert_eq!(everything(&engine, &[], i64::MIN, i64::MAX), before, "every bit, every sample");
    let db = [Matcher::equal("job", "db")];
    assert_eq!(
        everything(&engine, &db, D + 7, 3 * D),
        before
            .iter()
            .filter(|(l, _)| l.get("job") == Some("db"))
            .map(|(l, s)| (l.clone(), s.iter().copied().filter(|p| (D + 7..=3 * D).contains(&p.0)).collect()))
            .collect::<Samples>(),
    );
    drop(engine);
    let engine = BlockEngine::open(&data, options(&cold, now)).unwrap();
    assert_eq!(everything(&engine, &[], i64::MIN, i64::MAX), before, "the same after reopening");
    assert!(engine.move_cold_shards().unwrap().is_empty(), "nothing moves twice");
}

#[test]
fn a_crash_at_either_step_of_a_move_leaves_one_copy_serving() {
    let (root, data, cold) = dirs();
    let now = 6 * D;
    let engine = BlockEngine::open(&data, options(&cold, now)).unwrap();
    load(&engine, 6);
    let before = everything(&engine, &[], i64::MIN, i64::MAX);
    let warm = engine.blocks()[0].dir().to_path_buf();
    let saved = root.path().join("saved-warm");
    copy_dir(&warm, &saved);
    engine.move_cold_shards().unwrap();
    drop(engine);

    // Killed after the cold block was renamed in, before the warm one was deleted.
    copy_dir(&saved, &warm);
    // And killed while writing another cold block.
    let half = cold.join(format!("{}.tmp", ulid::Ulid::new()));
    std::fs::create_dir_all(&half).unwrap();
    std::fs::write(half.join("dense"), b"STRDENSE\x01 half").unwrap();

    let engine = BlockEngine::open(&data, options(&cold, now)).unwrap();
    assert!(engine.skipped_blocks().is_empty(), "{:?}", engine.skipped_blocks());
    assert!(!warm.exists(), "the warm copy, parent of the cold block, is deleted at open");
    assert!(!half.exists(), "the half-written cold block is removed at open");
    assert_eq!(everything(&engine, &[], i64::MIN, i64::MAX), before, "each sample exactly once");
}

#[test]
fn a_damaged_cold_shard_is_reported_and_skipped_and_the_rest_serves() {
    let (_root, data, cold) = dirs();
    let now = 6 * D;
    let engine = BlockEngine::open(&data, options(&cold, now)).unwrap();
    load(&engine, 6);
    let moved = engine.move_cold_shards().unwrap();
    drop(engine);
    // One cold block with a bad header, one with a damaged section.
    let header = cold.join(&moved[0].to).join("dense");
    let mut bytes = std::fs::read(&header).unwrap();
    bytes[0] = b'X';
    std::fs::write(&header, bytes).unwrap();
    let middle = cold.join(&moved[1].to).join("dense");
    let mut bytes = std::fs::read(&middle).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0x55;
    std::fs::write(&middle, bytes).unwrap();

    let engine = BlockEngine::open(&data, options(&cold, now)).unwrap();
    let skipped = engine.skipped_blocks();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert!(skipped[0].error.contains("not a dense file"), "{}", skipped[0].error);
    // Days 2 onward answer; day 1's damage is an error naming the file, not wrong samples.
    let later = everything(&engine, &[], 2 * D, i64::MAX);
    assert_eq!(later.values().map(Vec::len).sum::<usize>(), 3 * 4 * 288);
    let err = engine
        .select(&[], D, 2 * D - 1)
        .unwrap()
        .into_iter()
        .map(|s| s.collect_samples())
        .find_map(Result::err);
    let err = err.expect("the damaged section is found").to_string();
    assert!(err.contains("dense") && err.contains("checksum"), "{err}");
}

#[test]
fn a_cold_dir_that_cannot_be_written_leaves_the_shard_warm() {
    let (_root, data, cold) = dirs();
    let now = 6 * D;
    let engine = BlockEngine::open(&data, options(&cold, now)).unwrap();
    load(&engine, 6);
    let before = everything(&engine, &[], i64::MIN, i64::MAX);
    // The cold disk went away: its directory is gone and a file stands in its place.
    std::fs::remove_dir_all(&cold).unwrap();
    std::fs::write(&cold, b"not a directory").unwrap();
    let err = engine.move_cold_shards().unwrap_err().to_string();
    assert!(err.contains(cold.to_str().unwrap()), "the error names the cold dir: {err}");
    assert!(engine.shards().iter().all(|s| s.tier != ShardTier::Cold));
    assert_eq!(everything(&engine, &[], i64::MIN, i64::MAX), before, "nothing lost");
    drop(engine);
    let err = BlockEngine::open(&data, options(&cold, now)).unwrap_err().to_string();
    assert!(err.contains("creating the cold dir") && err.contains(cold.to_str().unwrap()), "{err}");
}

#[test]
fn cold_shards_export_to_prometheus_blocks() {
    let (root, data, cold) = dirs();
    let now = 6 * D;
    let engine = BlockEngine::open(&data, options(&cold, now)).unwrap();
    load(&engine, 6);
    engine.move_cold_shards().unwrap();
    let cold_part = everything(&engine, &[], i64::MIN, 3 * D - 1);
    let out = root.path().join("export");
    let written = engine.export_cold(&out, None).unwrap();
    assert_eq!(written.len(), 3);
    let exported =
        BlockEngine::open(&out, BlockEngineOptions { maintenance_every: None, ..Default::default() })
            .unwrap();
    assert!(exported.blocks().iter().all(|b| !b.is_dense()));
    assert_eq!(everything(&exported, &[], i64::MIN, i64::MAX), cold_part);
    drop(exported);
    let Some(promtool) = peer_binary("promtool", "prometheus") else { return };
    let dumped = promtool_dump(&promtool, &out);
    // promtool prints every NaN, stale markers included, as its one NaN.
    let want: BTreeMap<(String, i64), u64> = cold_part
        .iter()
        .flat_map(|(l, s)| {
            s.iter().map(move |&(t, v)| ((promtool_labels(l), t), value_bits(f64::from_bits(v))))
        })
        .collect();
    assert_eq!(dumped, want, "promtool reads every exported sample");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Any data, any query window: the same answer before and after its shards go cold.
    #[test]
    fn queries_are_equal_before_and_after_a_shard_goes_cold(
        values in proptest::collection::vec(any::<u64>(), 50..400),
        step_minutes in 1i64..90,
        from in 0i64..(4 * 24),
        hours in 1i64..(5 * 24),
    ) {
        let (_root, data, cold) = dirs();
        let n = values.len() as i64;
        let newest = (n - 1) * step_minutes * 60_000;
        let engine = BlockEngine::open(&data, options(&cold, newest)).unwrap();
        let labels = Labels::from_pairs([("__name__", "y"), ("job", "p")]).unwrap();
        let batch: Vec<_> = values.iter().enumerate()
            .map(|(i, &b)| (labels.clone(), i as i64 * step_minutes * 60_000, f64::from_bits(b)))
            .collect();
        engine.append(&batch).unwrap();
        engine.flush().unwrap();
        engine.compact().unwrap();
        let (mint, maxt) = (from * H, from * H + hours * H);
        let before = everything(&engine, &[], mint, maxt);
        engine.move_cold_shards().unwrap();
        prop_assert_eq!(everything(&engine, &[], mint, maxt), before);
    }
}
