//! Limits on a real head under concurrent writers: never more series than a limit, samples
//! of existing series always accepted, refusals named and counted, reload without restart.

use std::sync::Arc;

use strata_cardinality::{Limiter, Limits, SeriesLimit};
use strata_model::{Labels, Matcher};
use strata_storage::{BlockEngine, BlockEngineOptions, Engine, SeriesAdmission};
use strata_wal::{SyncPolicy, WalOptions};

fn options() -> BlockEngineOptions {
    BlockEngineOptions {
        wal: WalOptions { policy: SyncPolicy::None, ..WalOptions::default() },
        ..BlockEngineOptions::default()
    }
}

fn engine(dir: &std::path::Path) -> Arc<BlockEngine> {
    BlockEngine::open_shared(dir, options()).unwrap()
}

fn series(metric: &str, i: usize) -> Labels {
    Labels::from_pairs([("__name__", metric), ("user_id", &i.to_string())]).unwrap()
}

fn limiter_for(engine: &Arc<BlockEngine>, limits: Limits) -> Arc<Limiter> {
    let head = engine.head();
    let limiter = Arc::new(Limiter::new(limits, &|m: &[Matcher]| head.count_series(m)));
    head.set_admission(Some(limiter.clone() as Arc<dyn SeriesAdmission>));
    limiter
}

#[test]
fn concurrent_writers_never_pass_a_per_metric_limit_and_old_series_stay_writable() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    // Ten series exist before the limit is set.
    engine.append(&(0..10).map(|i| (series("explode", i), 1_000, 1.0)).collect::<Vec<_>>()).unwrap();
    let limits = Limits {
        series_limits: vec![SeriesLimit {
            selector: "explode".into(),
            matchers: vec![Matcher::equal("__name__", "explode")],
            max: 100,
        }],
        ..Limits::default()
    };
    let limiter = limiter_for(&engine, limits);
    let threads: Vec<_> = (0..8)
        .map(|w| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                let mut refused = 0;
                for round in 0..50 {
                    let batch: Vec<_> = (0..10)
                        .map(|i| {
                            (series("explode", 1_000 + w * 1_000 + round * 10 + i), 2_000 + round as i64, 1.0)
                        })
                        .chain(std::iter::once((series("explode", w), 2_000 + round as i64, 1.0)))
                        .chain(std::iter::once((series("other", w * 50 + round), 2_000, 1.0)))
                        .collect();
                    let result = engine.append(&batch).unwrap();
                    for r in &result.rejected {
                        assert!(r.index < 10, "only new explode series are refused: {r:?}");
                        assert!(r.reason.contains("explode") && r.reason.contains("100"), "{}", r.reason);
                    }
                    refused += result.rejected.len();
                }
                refused
            })
        })
        .collect();
    let refused: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let head = engine.head();
    assert_eq!(head.count_series(&[Matcher::equal("__name__", "explode")]), 100, "exactly the limit");
    assert_eq!(head.count_series(&[Matcher::equal("__name__", "other")]), 400, "other metrics are untouched");
    assert_eq!(refused, 8 * 50 * 10 - 90);
    assert_eq!(limiter.rejected()["explode"], refused as u64);
    let state = &limiter.states()[0];
    assert_eq!((state.current, state.max), (100, 100));
}

#[test]
fn global_and_hourly_limits_and_reload() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    let limiter = limiter_for(&engine, Limits { max_series: Some(5), ..Limits::default() });
    let result = engine.append(&(0..8).map(|i| (series("m", i), 1_000, 1.0)).collect::<Vec<_>>()).unwrap();
    assert_eq!(result.accepted, 5);
    assert!(result.rejected[0].reason.contains("max-series"), "{}", result.rejected[0].reason);
    // A refusal remembered elsewhere and told again is counted against the limit it names;
    // a reason the limiter never gave is not its to count.
    let reason = result.rejected[0].reason.clone();
    limiter.refused_again(&reason, 4);
    limiter.refused_again("a series carrying __tenant__ is refused", 9);
    assert_eq!(limiter.rejected().get("max-series"), Some(&(3 + 4)));
    assert_eq!(limiter.rejected().len(), 1);
    // Raised by a reload: new series are admitted again, up to the hourly limit (which
    // counts the 5 created earlier this hour). The reload ends the refusals' epoch.
    let stamp = limiter.epoch().stamp();
    let head = engine.head();
    limiter.reload(
        Limits { max_series: Some(100), max_new_series_per_hour: Some(7), ..Limits::default() },
        &|m: &[Matcher]| head.count_series(m),
    );
    let result = engine.append(&(8..12).map(|i| (series("m", i), 1_000, 1.0)).collect::<Vec<_>>()).unwrap();
    assert_ne!(limiter.epoch().stamp(), stamp, "a reload ends what earlier refusals said");
    assert_eq!(result.accepted, 2);
    assert!(result.rejected[0].reason.contains("new-series-per-hour"));
    assert_eq!(head.count_series(&[]), 7);
}

/// An active-series limit frees up when series leave the head: after two cuts that leave
/// the first series no sample, new series are admitted again, up to the limit.
#[test]
fn a_limit_on_active_series_frees_up_when_series_leave_the_head() {
    let dir = tempfile::tempdir().unwrap();
    // Not a shared engine: the test cuts, not a maintenance thread.
    let options = BlockEngineOptions { block_range: 3_600_000, ..options() };
    let engine = Arc::new(BlockEngine::open(dir.path(), options).unwrap());
    let limits = Limits {
        series_limits: vec![SeriesLimit {
            selector: "pods".into(),
            matchers: vec![Matcher::equal("__name__", "pods")],
            max: 3,
        }],
        ..Limits::default()
    };
    let limiter = limiter_for(&engine, limits);
    let hour = 3_600_000;
    let first: Vec<_> = (0..4).map(|i| (series("pods", i), 0, 1.0)).collect();
    assert_eq!(engine.append(&first).unwrap().rejected.len(), 1, "the fourth is over the limit");
    let stamp = limiter.epoch().stamp();
    // Time moves on; only another metric is written, and the head is cut twice.
    for h in 1..5 {
        engine.append(&[(series("other", 0), h * hour, 1.0)]).unwrap();
        engine.cut_due_blocks().unwrap();
    }
    assert_eq!(engine.stats().unwrap().head_series, 1, "the pods left the head");
    let state = limiter.states().into_iter().find(|s| s.limit == "pods").unwrap();
    assert_eq!(state.current, 0, "{state:?}");
    assert_ne!(limiter.epoch().stamp(), stamp, "series leaving the head end what earlier refusals said");
    let later: Vec<_> = (10..14).map(|i| (series("pods", i), 5 * hour, 1.0)).collect();
    let result = engine.append(&later).unwrap();
    assert_eq!((result.accepted, result.rejected.len()), (3, 1), "three admitted again, the fourth refused");
}
