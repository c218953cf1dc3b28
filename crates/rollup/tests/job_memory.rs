//! The job holds one series' windows at a time: rolling up a span of many series allocates
//! far less at its peak than the span's windows would take if they were built first (what
//! it did before segments were streamed; the soak test saw 1.9 GB at 10,000 series).

use strata_model::Labels;
use strata_rollup::{job, RollupStore, Tier, Tiers, WindowAggregate};
use strata_storage::{BlockEngine, BlockEngineOptions, Engine};
use strata_testkit::counting_alloc::{self, CountingAllocator};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

#[test]
fn a_run_holds_one_series_windows_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let engine = BlockEngine::open(&dir.path().join("data"), BlockEngineOptions::default()).unwrap();
    // Four hours: the first 2h span is settled once the second holds samples.
    let t0 = 1_700_006_400_000;
    let series = 3000;
    let labels: Vec<Labels> = (0..series)
        .map(|s| Labels::from_pairs([("__name__", "m"), ("s", &format!("{s:05}"))]).unwrap())
        .collect();
    // In time order across series, as scrapes come: the head refuses samples far behind.
    for i in 0..4 * 120 {
        let batch: Vec<_> = labels
            .iter()
            .enumerate()
            .map(|(s, l)| (l.clone(), t0 + 30_000 * i + 1, ((i as usize * s) % 89) as f64))
            .collect();
        let result = engine.append(&batch).unwrap();
        assert_eq!(result.accepted, batch.len());
    }
    engine.flush().unwrap();
    let tiers = Tiers::new(vec![
        Tier { resolution: MIN, keep: None, span: 2 * HOUR },
        Tier { resolution: 10 * MIN, keep: None, span: 2 * HOUR },
    ])
    .unwrap();
    let store = RollupStore::open(&dir.path().join("rollups"), tiers).unwrap();

    let before = counting_alloc::live_bytes();
    counting_alloc::reset_peak();
    let report = job::run(&engine, &store, None, &mut |_| {}).unwrap();
    let peak = counting_alloc::peak_bytes() - before;

    assert!(report.windows >= series as u64 * 120, "the 1m tier rolled the span: {report:?}");
    // What building the 1m span's windows first would hold, sketches not even counted.
    let all_at_once = series as usize * 120 * std::mem::size_of::<WindowAggregate>();
    assert!(
        peak * 4 < all_at_once,
        "peak allocation {peak} B during the run; holding the span's windows takes {all_at_once} B"
    );
}
