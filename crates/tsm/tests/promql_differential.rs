//! PromQL on the TSM engine answers exactly as on the block engine: the same synthetic
//! scrape data (counters, gauges, histogram buckets, a series that stops, out-of-order and
//! overwritten points excluded) is written to both, the TSM engine's partly snapshotted into
//! files, partly compacted, partly still in its cache; then every query below, as range
//! queries at several steps and instant queries, must give identical values, warnings and
//! infos (compared through their Debug text, so NaNs compare equal).

use std::sync::Arc;

use strata_codec::synthetic::SplitMix;
use strata_model::Labels;
use strata_promql::{EngineOptions, QueryBounds, QueryEngine, Range};
use strata_storage::{BlockEngine, BlockEngineOptions, Engine};
use strata_tsm::{TsmEngine, TsmOptions};

const QUERIES: &[&str] = &[
    "http_requests_total",
    "rate(http_requests_total[5m])",
    "irate(http_requests_total[1m])",
    "increase(http_requests_total[10m])",
    "sum by (job) (rate(http_requests_total[5m]))",
    "topk(3, rate(http_requests_total[5m]))",
    "histogram_quantile(0.9, sum by (le) (rate(request_duration_seconds_bucket[5m])))",
    "avg_over_time(temperature[10m])",
    "max_over_time(rate(http_requests_total[1m])[10m:1m])",
    "temperature offset 5m",
    "delta(temperature[15m])",
    "deriv(temperature[15m])",
    "count by (instance) ({__name__=~\"http_.*\"})",
    "absent(nonexistent)",
    "last_over_time(stops_early[1h])",
    "changes(temperature[30m])",
    "quantile_over_time(0.5, temperature[20m])",
    "http_requests_total / ignoring(code) group_left sum without (code) (http_requests_total)",
];

fn labels(name: &str, pairs: &[(&str, &str)]) -> Labels {
    Labels::with_metric_name(name, pairs.iter().copied()).unwrap()
}

/// Two hours of 15 s scrapes, round by round.
fn rounds() -> Vec<Vec<(Labels, i64, f64)>> {
    let mut rng = SplitMix(42);
    let mut counters = [0f64; 12];
    let mut out = Vec::new();
    for round in 0..480i64 {
        let t = 1_700_000_000_000 + round * 15_000;
        let mut batch = Vec::new();
        for (i, c) in counters.iter_mut().enumerate() {
            *c += (rng.next_u64() % 50) as f64;
            if round == 300 && i == 0 {
                *c = 3.0; // a counter reset
            }
            let (job, instance, code) = (["api", "web"][i % 2], format!("i{}", i % 3), ["200", "500"][i / 6]);
            batch.push((
                labels("http_requests_total", &[("job", job), ("instance", &instance), ("code", code)]),
                t,
                *c,
            ));
        }
        for (b, le) in ["0.1", "0.5", "1", "+Inf"].iter().enumerate() {
            let v = (round * (b as i64 + 1) * 3) as f64;
            batch.push((labels("request_duration_seconds_bucket", &[("le", le), ("job", "api")]), t, v));
        }
        batch.push((labels("temperature", &[("room", "a")]), t, 20.0 + (rng.next_u64() % 100) as f64 / 10.0));
        if round < 200 {
            batch.push((labels("stops_early", &[]), t, round as f64));
        }
        out.push(batch);
    }
    out
}

#[test]
fn promql_answers_the_same_on_both_engines() {
    let dir = tempfile::tempdir().unwrap();
    let block = BlockEngine::open(&dir.path().join("block"), BlockEngineOptions::default()).unwrap();
    let tsm = TsmEngine::open(
        &dir.path().join("tsm"),
        TsmOptions { background: false, sync_wal: false, ..TsmOptions::default() },
    )
    .unwrap();
    for (n, batch) in rounds().into_iter().enumerate() {
        block.append(&batch).unwrap();
        tsm.append(&batch).unwrap();
        // Files of every level and a cache at the end.
        if n % 40 == 39 {
            tsm.snapshot_cache().unwrap();
            while tsm.compact_once(false).unwrap().is_some() {}
        }
        if n == 300 {
            tsm.compact_once(true).unwrap();
        }
    }
    assert!(tsm.files().len() >= 2, "the TSM engine reads files and its cache");
    let engine = QueryEngine::new(EngineOptions::default());
    let (start, end) = (1_700_000_000_000, 1_700_000_000_000 + 480 * 15_000);
    let mut compared = 0;
    for q in QUERIES {
        let expr = engine.parse(q, QueryBounds::default()).unwrap();
        for step in [15_000, 60_000, 137_000] {
            let range = Range { start: start + 600_000, end, step };
            let a = engine.range_expr(&block, &expr, range, None).unwrap();
            let b = engine.range_expr(&tsm, &expr, range, None).unwrap();
            let show =
                |r: &strata_promql::QueryResult| format!("{:?} {:?} {:?}", r.value, r.warnings, r.infos);
            assert_eq!(show(&a), show(&b), "{q} at step {step}");
            compared += 1;
        }
        for t in [start + 1_000_000, start + 4_500_000, end, end + 400_000] {
            let a = engine.instant_expr(&block, &expr, t, None::<Arc<_>>).unwrap();
            let b = engine.instant_expr(&tsm, &expr, t, None).unwrap();
            assert_eq!(format!("{:?}", a.value), format!("{:?}", b.value), "{q} at {t}");
            compared += 1;
        }
    }
    eprintln!("{compared} queries answered identically by both engines");
}
