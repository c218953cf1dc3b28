//! A tenant's view of the rollup tiers over a real store: a scan finds only the tenant's
//! series (the same label sets of another tenant left out), without the tenant label, in
//! label order, and their windows are the tenant's.

use strata_model::{Labels, Matcher};
use strata_rollup::job;
use strata_rollup::{Fields, RollupSource, RollupStore, Tier, Tiers, WindowColumns};
use strata_storage::{BlockEngine, BlockEngineOptions, Engine};
use strata_tenant::{TenantId, TenantRollups, TENANT_LABEL};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

#[test]
fn a_tenant_scans_only_its_series_without_its_label() {
    let dir = tempfile::tempdir().unwrap();
    let engine = BlockEngine::open(&dir.path().join("data"), BlockEngineOptions::default()).unwrap();
    let t0 = 1_700_006_400_000;
    let mut batch = Vec::new();
    // Both tenants hold `m{job="b"}` and `m{job="a"}`; tenant t2's values are ten times t1's.
    for (tenant, scale) in [("t1", 1.0), ("t2", 10.0)] {
        for job in ["b", "a"] {
            let labels =
                Labels::from_pairs([("__name__", "m"), ("job", job), (TENANT_LABEL, tenant)]).unwrap();
            batch.extend((0..12 * 60).map(|i| (labels.clone(), t0 + MIN * i + 1, scale * (i % 7) as f64)));
        }
    }
    engine.append(&batch).unwrap();
    engine.flush().unwrap();
    let tiers = Tiers::new(vec![Tier { resolution: HOUR, keep: None, span: 2 * HOUR }]).unwrap();
    let store = RollupStore::open(&dir.path().join("rollups"), tiers).unwrap();
    job::run(&engine, &store, None, &mut |_| {}).unwrap();

    let t1 = TenantId::parse("t1").unwrap();
    let view = TenantRollups::new(&store, t1);
    let scan = view.scan(HOUR, &[Matcher::equal("__name__", "m")], i64::MIN, i64::MAX, Fields::MAX).unwrap();
    let labels: Vec<String> = (0..scan.len()).map(|k| scan.labels(k).to_string()).collect();
    assert_eq!(labels, [r#"m{job="a"}"#, r#"m{job="b"}"#], "the tenant's series, sorted, label gone");
    for k in 0..scan.len() {
        let mut windows = WindowColumns::new(Fields::MAX);
        scan.decode_into(k, &mut windows).unwrap();
        assert!(windows.len() >= 10, "{} windows", windows.len());
        let largest = (0..windows.len()).map(|i| windows.window(i).max).fold(f64::MIN, f64::max);
        assert_eq!(largest, 6.0, "t1's values, not t2's");
    }
    // The default read is built on the scan.
    let read = view.read(HOUR, &[], i64::MIN, i64::MAX, Fields::MAX).unwrap();
    assert_eq!(read.len(), 2);
}
