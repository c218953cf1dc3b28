//! The job over a real block engine: every tier covers all the settled data even when a
//! finer tier keeps far less (a coarser tier is fed before the finer one drops anything),
//! a run stops at its budget and the next one carries on, and the windows of the coarse
//! tier equal those built straight from the raw samples.

use strata_model::Labels;
use strata_rollup::job::{self, windows_of_samples};
use strata_rollup::{RollupStore, Tier, Tiers};
use strata_storage::{BlockEngine, BlockEngineOptions, Engine};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

#[test]
fn a_backfill_feeds_every_tier_before_finer_ones_expire() {
    let dir = tempfile::tempdir().unwrap();
    let engine = BlockEngine::open(&dir.path().join("data"), BlockEngineOptions::default()).unwrap();
    let labels = Labels::from_pairs([("__name__", "m")]).unwrap();
    let t0 = 1_700_006_400_000;
    let samples: Vec<(i64, f64)> =
        (0..3 * 24 * 120).map(|i| (t0 + 30_000 * i + 1, ((i * 13) % 97) as f64)).collect();
    let batch: Vec<_> = samples.iter().map(|&(t, v)| (labels.clone(), t, v)).collect();
    engine.append(&batch).unwrap();
    engine.flush().unwrap();
    let tiers = Tiers::new(vec![
        Tier { resolution: MIN, keep: Some(2 * HOUR), span: HOUR },
        Tier { resolution: HOUR, keep: None, span: 6 * HOUR },
    ])
    .unwrap();
    let store = RollupStore::open(&dir.path().join("rollups"), tiers).unwrap();

    let first = job::run(&engine, &store, Some(5), &mut |_| {}).unwrap();
    assert_eq!(first.spans, 5, "a run stops at its budget");
    let mut spans = Vec::new();
    let rest = job::run(&engine, &store, None, &mut |d| spans.push((d.tier, d.end))).unwrap();
    assert!(rest.spans > 60, "{rest:?}");
    assert!(spans.windows(2).any(|w| w[0].0 == 1 && w[1].0 == 0), "tiers take turns: {spans:?}");

    let coverage = store.coverage();
    let hour_tier = coverage.tiers.iter().find(|c| c.resolution == HOUR).unwrap();
    assert!(
        hour_tier.from <= t0 && hour_tier.from >= t0 - 6 * HOUR,
        "the 1h tier starts where the data does: {coverage:?}"
    );
    let minute_tier = coverage.tiers.iter().find(|c| c.resolution == MIN).unwrap();
    // Kept 2h, plus what the 1h tier (6h spans) has not read yet.
    assert!(minute_tier.to - minute_tier.from <= 8 * HOUR, "the 1m tier kept ~2h: {coverage:?}");
    assert!(store.segment_counts()[0] <= 8, "{:?}", store.segment_counts());

    // The 1h windows, built from 1m windows, equal 1h windows built from the raw samples.
    let from_tiers = store.read(1, &[], i64::MIN, i64::MAX, true).unwrap();
    let direct = windows_of_samples(&store.tiers().list()[1], &samples);
    let to = hour_tier.to;
    let direct: Vec<_> = direct.into_iter().filter(|w| w.end <= to).collect();
    assert_eq!(from_tiers[0].windows, direct);
}

/// Many series, some present only in some spans: merging the finer segments by labels
/// gives every series the coarse windows the raw samples give.
#[test]
fn coarse_windows_of_many_series_equal_those_built_from_raw_samples() {
    let dir = tempfile::tempdir().unwrap();
    let engine = BlockEngine::open(&dir.path().join("data"), BlockEngineOptions::default()).unwrap();
    let t0 = 1_700_006_400_000;
    let mut raw = std::collections::BTreeMap::new();
    for s in 0..60i64 {
        let labels = Labels::from_pairs([("__name__", "m"), ("s", &format!("{}", s * 7 % 60))]).unwrap();
        // Series s lives in hours [s % 5, s % 5 + 1 + s % 4): gaps across the 1h segments.
        let from = t0 + (s % 5) * HOUR;
        let to = from + (1 + s % 4) * HOUR;
        let samples: Vec<(i64, f64)> =
            (from..to).step_by(20_000).map(|t| (t + 7, ((t / 1000 + s) % 41) as f64)).collect();
        let batch: Vec<_> = samples.iter().map(|&(t, v)| (labels.clone(), t, v)).collect();
        engine.append(&batch).unwrap();
        raw.insert(labels, samples);
    }
    engine.flush().unwrap();
    let tiers = Tiers::new(vec![
        Tier { resolution: MIN, keep: None, span: HOUR },
        Tier { resolution: 15 * MIN, keep: None, span: 12 * HOUR },
    ])
    .unwrap();
    let store = RollupStore::open(&dir.path().join("rollups"), tiers).unwrap();
    let report = job::run(&engine, &store, None, &mut |_| {}).unwrap();
    assert!(report.spans > 0, "{report:?}");

    let coverage = store.coverage();
    let coarse = coverage.tiers.iter().find(|c| c.resolution == 15 * MIN).expect("the 15m tier holds data");
    let rolled = store.read(1, &[], i64::MIN, i64::MAX, true).unwrap();
    let coarse_tier = store.tiers().list()[1];
    let mut expected = Vec::new();
    for (labels, samples) in &raw {
        let windows: Vec<_> = windows_of_samples(&coarse_tier, samples)
            .into_iter()
            .filter(|w| w.end > coarse.from && w.end <= coarse.to)
            .collect();
        if !windows.is_empty() {
            expected.push((labels.clone(), windows));
        }
    }
    let got: Vec<_> = rolled.into_iter().map(|s| (s.labels, s.windows)).collect();
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "the merged windows differ from the raw ones");
}
