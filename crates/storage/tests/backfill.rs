//! Backfill into a block engine that has taken writes and cut blocks: model-checked against
//! "what was written, plus the backfill's samples at timestamps not written", before and
//! after a restart and after compaction.

use std::collections::BTreeMap;

use proptest::prelude::*;
use strata_model::Labels;
use strata_storage::{BackfillSeries, BlockEngine, BlockEngineOptions, Engine};
use strata_wal::{SyncPolicy, WalOptions};

mod common;
use common::{everything, Model};

const HOUR: i64 = 3_600_000;
const MINUTE: i64 = 60_000;

fn options() -> BlockEngineOptions {
    BlockEngineOptions {
        block_range: 2 * HOUR,
        wal: WalOptions { policy: SyncPolicy::None, ..WalOptions::default() },
        maintenance_every: None,
        ..BlockEngineOptions::default()
    }
}

fn series(job: usize) -> Labels {
    Labels::from_pairs([("__name__", "up".to_string()), ("job", format!("j{job}"))]).unwrap()
}

/// Per series, minutes and values.
fn samples_strategy(lo: i64, hi: i64) -> impl Strategy<Value = Vec<BTreeMap<i64, f64>>> {
    prop::collection::vec(
        prop::collection::btree_map((lo..hi).prop_map(|m| m * MINUTE), 0.0..100.0f64, 0..120),
        3,
    )
}

/// Appends every sample in time order (so all are in order for the head), in batches of 50.
fn write_in_time_order(engine: &BlockEngine, written: &[BTreeMap<i64, f64>]) -> Model {
    let mut all: Vec<(i64, usize, f64)> =
        written.iter().enumerate().flat_map(|(j, m)| m.iter().map(move |(&t, &v)| (t, j, v))).collect();
    all.sort_by_key(|&(t, j, _)| (t, j));
    let mut model = Model::new();
    for batch in all.chunks(50) {
        let labelled: Vec<(Labels, i64, f64)> = batch.iter().map(|&(t, j, v)| (series(j), t, v)).collect();
        let result = engine.append(&labelled).unwrap();
        assert!(result.rejected.is_empty(), "in time order: {:?}", result.rejected);
        for (labels, t, v) in labelled {
            model.entry(labels).or_default().insert(t, v);
        }
    }
    model
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn a_backfill_adds_exactly_the_timestamps_not_held_and_survives_restart_and_compaction(
        written in samples_strategy(0, 600),
        backfill in samples_strategy(-180, 720),
        flush_first in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut expected = {
            let engine = BlockEngine::open(dir.path(), options()).unwrap();
            let mut model = write_in_time_order(&engine, &written);
            if flush_first {
                engine.flush().unwrap();
            }
            let input: Vec<BackfillSeries> = backfill
                .iter()
                .enumerate()
                .map(|(j, m)| BackfillSeries { labels: series(j), samples: m.iter().map(|(&t, &v)| (t, v)).collect() })
                .collect();
            let report = engine.backfill(&input).unwrap();
            let mut new = 0;
            for (j, m) in backfill.iter().enumerate() {
                let held = model.entry(series(j)).or_default();
                for (&t, &v) in m {
                    if let std::collections::btree_map::Entry::Vacant(e) = held.entry(t) {
                        e.insert(v);
                        new += 1;
                    }
                }
            }
            model.retain(|_, m| !m.is_empty());
            let total: usize = backfill.iter().map(BTreeMap::len).sum();
            prop_assert_eq!(report.refused, 0, "{:?}", report.reasons);
            prop_assert_eq!(report.written, new);
            prop_assert_eq!(report.written + report.held, total as u64);
            prop_assert_eq!(&everything(&engine), &model);
            model
        };
        // After a restart: the WAL replays the head's part, blocks hold the rest.
        let engine = BlockEngine::open(dir.path(), options()).unwrap();
        prop_assert!(engine.skipped_blocks().is_empty(), "{:?}", engine.skipped_blocks());
        prop_assert_eq!(&everything(&engine), &expected);
        engine.compact().unwrap();
        prop_assert_eq!(&everything(&engine), &expected);
        // And a write after it all still lands.
        let newest = expected.values().filter_map(|m| m.keys().last().copied()).max().unwrap_or(0);
        let result = engine.append(&[(series(0), newest + MINUTE, 1.0)]).unwrap();
        prop_assert!(result.rejected.is_empty(), "{:?}", result.rejected);
        expected.entry(series(0)).or_default().insert(newest + MINUTE, 1.0);
        drop(engine);
        let engine = BlockEngine::open(dir.path(), options()).unwrap();
        prop_assert_eq!(&everything(&engine), &expected);
    }
}

#[test]
fn a_backfill_with_timestamps_out_of_order_is_refused_naming_the_series() {
    let dir = tempfile::tempdir().unwrap();
    let engine = BlockEngine::open(dir.path(), options()).unwrap();
    let input = [BackfillSeries { labels: series(1), samples: vec![(2, 1.0), (1, 1.0)] }];
    let error = engine.backfill(&input).unwrap_err().to_string();
    assert!(error.contains("job=\"j1\"") && error.contains("2 is followed by 1"), "{error}");
    assert!(everything(&engine).is_empty());
}

#[test]
fn a_long_history_goes_to_blocks_and_only_the_recent_part_to_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let engine = BlockEngine::open(dir.path(), options()).unwrap();
    engine.append(&[(series(0), 48 * HOUR, 1.0)]).unwrap();
    // Two days of one sample a minute.
    let samples: Vec<(i64, f64)> = (0..48 * 60).map(|m| (m * MINUTE, m as f64)).collect();
    let report = engine.backfill(&[BackfillSeries { labels: series(0), samples }]).unwrap();
    assert_eq!(report.written, 48 * 60);
    // Everything before 44:00 (the start of the range 1.5 ranges behind 48:00) is in
    // blocks, one per 2 h range: 22 of them, plus the head's own cut of nothing.
    assert_eq!(report.blocks, 22);
    let (head_lo, head_hi) = engine.head().time_range().unwrap();
    assert!(head_lo >= 44 * HOUR && head_hi == 48 * HOUR, "{head_lo}..{head_hi}");
    assert_eq!(everything(&engine)[&series(0)].len(), 48 * 60 + 1);
}
