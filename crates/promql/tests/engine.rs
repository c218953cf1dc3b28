//! The engine's contract beyond the conformance corpus: limits and errors, and properties
//! checked against oracles on random data (range queries agree with instant queries at
//! every step; `*_over_time` agree with a direct computation; the block engine answers as
//! the in-memory store does).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use proptest::prelude::*;
use strata_model::Labels;
use strata_promql::{EngineOptions, MemoryQueryable, QueryEngine, QueryError, Range, Value};

fn labels(job: &str, instance: &str) -> Labels {
    Labels::from_pairs([("__name__", "http_requests_total"), ("job", job), ("instance", instance)]).unwrap()
}

/// Series of `values`, one sample every 15 s from 0, per (job, instance).
fn store_of(series: &[(String, String, Vec<f64>)]) -> MemoryQueryable {
    let mut store = MemoryQueryable::new();
    for (job, instance, values) in series {
        for (i, v) in values.iter().enumerate() {
            store.add(&labels(job, instance), i as i64 * 15_000, *v);
        }
    }
    store
}

#[test]
fn type_errors_and_limits_are_clear_errors() {
    let store = store_of(&[("a".into(), "1".into(), (0..100).map(f64::from).collect())]);
    let engine = QueryEngine::default();
    let err = engine.instant(&store, "rate(http_requests_total)", 60_000).unwrap_err();
    assert_eq!(err.error_type(), "bad_data");
    assert!(err.to_string().contains("expected type range vector in call to function \"rate\""), "{err}");

    let small = QueryEngine::new(EngineOptions { max_samples: 50, ..EngineOptions::default() });
    let err = small.instant(&store, "count_over_time(http_requests_total[1h])", 3_600_000).unwrap_err();
    assert!(matches!(err, QueryError::TooManySamples(_)), "{err}");
    assert_eq!(
        err.to_string(),
        "query processing would load too many samples into memory in query execution"
    );

    let cancel = Arc::new(AtomicBool::new(true));
    let expr = strata_promql::parse("http_requests_total").unwrap();
    let err = engine.instant_expr(&store, &expr, 0, Some(cancel)).unwrap_err();
    assert_eq!(err.error_type(), "canceled");

    let zero =
        QueryEngine::new(EngineOptions { timeout: std::time::Duration::ZERO, ..EngineOptions::default() });
    assert_eq!(zero.instant(&store, "http_requests_total", 0).unwrap_err().error_type(), "timeout");

    let err = engine.range(&store, "http_requests_total[5m]", Range { start: 0, end: 60_000, step: 15_000 });
    assert!(err
        .unwrap_err()
        .to_string()
        .contains("invalid expression type \"range vector\" for range query"));
}

#[test]
fn duplicate_label_sets_after_dropping_names_are_refused() {
    let mut store = MemoryQueryable::new();
    let a = Labels::from_pairs([("__name__", "a_total"), ("job", "x")]).unwrap();
    let b = Labels::from_pairs([("__name__", "b_total"), ("job", "x")]).unwrap();
    for t in 0..10 {
        store.add(&a, t * 15_000, t as f64);
        store.add(&b, t * 15_000, t as f64);
    }
    let err = QueryEngine::default().instant(&store, "rate({job=\"x\"}[1m])", 120_000).unwrap_err();
    assert_eq!(err.to_string(), "vector cannot contain metrics with the same labelset");
}

#[test]
fn experimental_features_need_the_flag() {
    let store = store_of(&[
        ("api".into(), "0".into(), vec![10.0]),
        ("api".into(), "1".into(), vec![20.0]),
        ("db".into(), "0".into(), vec![5.0]),
    ]);
    let q = r#"http_requests_total{job="api"} + on(instance) fill(0) http_requests_total{job="db"}"#;
    let err = QueryEngine::default().instant(&store, q, 0).unwrap_err();
    assert!(err.to_string().contains("not enabled"), "{err}");
    for q in [
        "limitk(1, http_requests_total)",
        "info(http_requests_total)",
        "sort_by_label(http_requests_total, \"job\")",
    ] {
        let err = QueryEngine::default().instant(&store, q, 0).unwrap_err();
        assert!(
            err.to_string().contains("experimental") || err.to_string().contains("not enabled"),
            "{q}: {err}"
        );
    }
    let experimental = QueryEngine::new(EngineOptions { experimental_functions: true, ..Default::default() });
    let Value::Vector(mut v) = experimental.instant(&store, q, 0).unwrap().value else { panic!("a vector") };
    v.sort_by(|a, b| a.labels.cmp(&b.labels));
    let got: Vec<(String, f64)> =
        v.iter().map(|s| (s.labels.get("instance").unwrap_or("").to_string(), s.v)).collect();
    assert_eq!(got, [("0".to_string(), 15.0), ("1".to_string(), 20.0)], "instance 1 filled with 0");
}

#[test]
fn info_adds_the_labels_of_the_matching_info_series() {
    let mut store = MemoryQueryable::new();
    let l = |pairs: &[(&str, &str)]| Labels::from_pairs(pairs.iter().copied()).unwrap();
    store.add(&l(&[("__name__", "up"), ("instance", "a"), ("job", "node")]), 0, 1.0);
    store.add(&l(&[("__name__", "up"), ("instance", "b"), ("job", "node")]), 0, 0.0);
    store.add(
        &l(&[("__name__", "target_info"), ("instance", "a"), ("job", "node"), ("region", "eu")]),
        0,
        1.0,
    );
    store.add(
        &l(&[("__name__", "build_info"), ("instance", "a"), ("job", "node"), ("region", "us")]),
        0,
        1.0,
    );
    let engine = QueryEngine::new(EngineOptions { experimental_functions: true, ..Default::default() });
    let Value::Vector(mut v) = engine.instant(&store, "info(up)", 0).unwrap().value else {
        panic!("a vector")
    };
    v.sort_by(|a, b| a.labels.cmp(&b.labels));
    let regions: Vec<Option<&str>> = v.iter().map(|s| s.labels.get("region")).collect();
    assert_eq!(regions, [Some("eu"), None], "a enriched from target_info, b unmatched and kept");
    let Value::Vector(v) = engine.instant(&store, r#"info(up, {region=~".+"})"#, 0).unwrap().value else {
        panic!("a vector")
    };
    assert_eq!(v.len(), 1, "a data matcher refusing \"\" drops the unmatched series");
    let err = engine.instant(&store, r#"info(up, {__name__=~".+_info"})"#, 0).unwrap_err();
    assert_eq!(err.to_string(), "conflicting label: region");
    assert!(QueryEngine::default().instant(&store, "info(up)", 0).is_err(), "experimental");
}

fn series_strategy() -> impl Strategy<Value = Vec<(String, String, Vec<f64>)>> {
    let values =
        proptest::collection::vec(prop_oneof![9 => (0u32..1000).prop_map(f64::from), 1 => Just(0.0)], 1..40);
    proptest::collection::vec(
        (prop::sample::select(vec!["api", "db"]), prop::sample::select(vec!["0", "1", "2"]), values),
        1..6,
    )
    .prop_map(|v| {
        let mut seen = std::collections::HashSet::new();
        v.into_iter()
            .filter(|(j, i, _)| seen.insert((j.to_string(), i.to_string())))
            .map(|(j, i, vals)| (j.to_string(), i.to_string(), vals))
            .collect()
    })
}

const QUERIES: &[&str] = &[
    "http_requests_total",
    "rate(http_requests_total[1m])",
    "sum by (job) (increase(http_requests_total[2m]))",
    "topk(2, http_requests_total)",
    "avg_over_time(http_requests_total[45s]) > 100",
    "http_requests_total / on(job, instance) group_left max by (job, instance) (http_requests_total offset 30s)",
    "max_over_time(rate(http_requests_total[1m])[2m:30s])",
    "count_values(\"v\", http_requests_total)",
    "quantile by (job) (0.5, http_requests_total) unless on(job) http_requests_total{instance=\"2\"}",
    "absent(http_requests_total{job=\"web\"})",
    "label_replace(http_requests_total, \"host\", \"h-$1\", \"instance\", \"(.*)\")",
    "deriv(http_requests_total[2m]) + changes(http_requests_total[2m]) * resets(http_requests_total[2m])",
    "increase(http_requests_total[1m] anchored)",
    "rate(http_requests_total[2m] smoothed) + changes(http_requests_total[90s] anchored)",
    "http_requests_total offset 20s smoothed",
];

/// The engine the property tests run: Prometheus' defaults plus the modifiers `QUERIES` use.
fn engine() -> QueryEngine {
    QueryEngine::new(EngineOptions { extended_range_selectors: true, ..Default::default() })
}

fn as_map(value: Value) -> std::collections::BTreeMap<Labels, u64> {
    match value {
        Value::Vector(samples) => samples.into_iter().map(|s| (s.labels, s.v.to_bits())).collect(),
        other => panic!("expected a vector, got {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Evaluating all steps at once must agree with evaluating each step alone.
    #[test]
    fn range_queries_agree_with_instant_queries_at_every_step(series in series_strategy(), q in 0..QUERIES.len()) {
        let store = store_of(&series);
        let engine = engine();
        let range = Range { start: 30_000, end: 600_000, step: 45_000 };
        let Value::Matrix(matrix) = engine.range(&store, QUERIES[q], range).unwrap().value else { panic!() };
        let mut t = range.start;
        while t <= range.end {
            let instant = as_map(engine.instant(&store, QUERIES[q], t).unwrap().value);
            let from_range: std::collections::BTreeMap<Labels, u64> = matrix
                .iter()
                .filter_map(|s| s.points.iter().find(|p| p.0 == t).map(|p| (s.labels.clone(), p.1.to_bits())))
                .collect();
            prop_assert_eq!(&instant, &from_range, "{} at {}", QUERIES[q], t);
            t += range.step;
        }
    }

    /// `sum_over_time`, `count_over_time` and `max_over_time` against a direct computation
    /// over the left-open window.
    #[test]
    fn over_time_functions_match_a_direct_computation(series in series_strategy(), t in 0i64..700_000, range_s in 1i64..300) {
        let store = store_of(&series);
        let engine = QueryEngine::default();
        for (f, oracle) in [
            ("sum_over_time", (|w: &[f64]| w.iter().sum::<f64>()) as fn(&[f64]) -> f64),
            ("count_over_time", |w: &[f64]| w.len() as f64),
            ("max_over_time", |w: &[f64]| w.iter().copied().fold(f64::MIN, f64::max)),
        ] {
            let got = as_map(engine.instant(&store, &format!("{f}(http_requests_total[{range_s}s])"), t).unwrap().value);
            let mut want = std::collections::BTreeMap::new();
            for (job, instance, values) in &series {
                let window: Vec<f64> = values
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| {
                        let st = *i as i64 * 15_000;
                        st > t - range_s * 1000 && st <= t
                    })
                    .map(|(_, v)| *v)
                    .collect();
                if !window.is_empty() {
                    let mut l = labels(job, instance);
                    l.remove("__name__");
                    want.insert(l, oracle(&window).to_bits());
                }
            }
            prop_assert_eq!(got, want, "{}", f);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// `resets` over a range query — the windows slide over each series' counter resets,
    /// which are found once per series — against counting the drops of each step's window.
    #[test]
    fn resets_over_sliding_windows_match_a_direct_count(
        series in series_strategy(),
        range_s in 1i64..200,
        step_s in 1i64..60,
    ) {
        let store = store_of(&series);
        let range = Range { start: 0, end: 620_000, step: step_s * 1000 };
        let query = format!("resets(http_requests_total[{range_s}s])");
        let Value::Matrix(matrix) = QueryEngine::default().range(&store, &query, range).unwrap().value else {
            panic!("a range query answers a matrix")
        };
        for (job, instance, values) in &series {
            let mut l = labels(job, instance);
            l.remove("__name__");
            let got = matrix.iter().find(|s| s.labels == l).map(|s| s.points.clone()).unwrap_or_default();
            let mut want = Vec::new();
            let mut t = range.start;
            while t <= range.end {
                let window: Vec<f64> = values
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| (t - range_s * 1000 + 1..=t).contains(&(*i as i64 * 15_000)))
                    .map(|(_, v)| *v)
                    .collect();
                if !window.is_empty() {
                    want.push((t, window.windows(2).filter(|p| p[1] < p[0]).count() as f64));
                }
                t += range.step;
            }
            prop_assert_eq!(got, want, "{}{}", job, instance);
        }
    }
}

#[test]
fn the_block_engine_answers_as_the_memory_store_does() {
    let series: Vec<(String, String, Vec<f64>)> = (0..6)
        .map(|i| ("api".to_string(), i.to_string(), (0..500).map(|j| (j * (i + 1)) as f64).collect()))
        .collect();
    let memory = store_of(&series);
    let dir = tempfile::tempdir().unwrap();
    let options = strata_storage::BlockEngineOptions { block_range: 3_600_000, ..Default::default() };
    let blocks = strata_storage::BlockEngine::open(dir.path(), options).unwrap();
    // In time order across series, as scrapes arrive: the head cuts blocks as it goes.
    for i in 0..500 {
        let samples: Vec<(Labels, i64, f64)> = series
            .iter()
            .map(|(job, instance, values)| (labels(job, instance), i as i64 * 15_000, values[i]))
            .collect();
        strata_storage::Engine::append(&blocks, &samples).unwrap();
    }
    assert!(strata_storage::Engine::stats(&blocks).unwrap().blocks > 0, "the data spans blocks and head");
    strata_storage::Engine::flush(&blocks).unwrap();
    let engine = engine();
    for q in QUERIES {
        let range = Range { start: 0, end: 7_000_000, step: 60_000 };
        let a = engine.range(&memory, q, range).unwrap().value;
        let b = engine.range(&blocks, q, range).unwrap().value;
        assert_eq!(a, b, "{q}");
    }
}

#[test]
fn extended_range_selectors_need_their_feature_and_measure_from_the_anchor() {
    // A counter rising by 10 every 15 s.
    let store = store_of(&[("a".into(), "1".into(), (0..40).map(|i| f64::from(i * 10)).collect())]);
    let q = "increase(http_requests_total[1m] anchored)";
    let err = QueryEngine::default().instant(&store, q, 100_000).unwrap_err();
    assert_eq!(err.error_type(), "bad_data");
    assert!(err.to_string().contains("promql-extended-range-selectors"), "{err}");

    let engine = QueryEngine::new(EngineOptions { extended_range_selectors: true, ..Default::default() });
    let value = |q: &str, t: i64| match engine.instant(&store, q, t).unwrap().value {
        Value::Vector(v) => v.iter().map(|s| s.v).collect::<Vec<_>>(),
        other => panic!("{q}: {other:?}"),
    };
    // Window (40 s, 100 s]: from the anchor at 30 s (20) to the last sample, 90 s (60).
    assert_eq!(value(q, 100_000), [40.0]);
    // Smoothed: 26.67 interpolated at 40 s, 66.67 at 100 s.
    let smoothed = value("increase(http_requests_total[1m] smoothed)", 100_000);
    assert!((smoothed[0] - 40.0).abs() < 1e-9, "{smoothed:?}");
    assert_eq!(value("http_requests_total smoothed", 100_000).len(), 1);
    let interpolated = value("http_requests_total smoothed", 100_000)[0];
    assert!((interpolated - 200.0 / 3.0).abs() < 1e-9, "{interpolated}");
    let err = engine.instant(&store, "changes(http_requests_total[1m] smoothed)", 100_000).unwrap_err();
    assert_eq!(
        err.to_string(),
        "smoothed modifier can only be used with: delta, increase, rate - not with changes"
    );

    // A range query gives at every step what an instant query gives there.
    let range = Range { start: 60_000, end: 600_000, step: 45_000 };
    for q in ["rate(http_requests_total[1m] anchored)", "delta(http_requests_total[2m] smoothed)"] {
        let Value::Matrix(m) = engine.range(&store, q, range).unwrap().value else { panic!("a matrix") };
        for &(t, v) in &m[0].points {
            assert_eq!(value(q, t), [v], "{q} at {t}");
        }
        assert_eq!(m[0].points.len(), 13, "{q}");
    }
}

#[test]
fn start_timestamps_mark_resets_and_where_a_counter_began() {
    // 5 at 2m (started at 1m), 5 at 3m (started at 2m59s: a reset the values do not show),
    // 2 at 4m (a reset the values show).
    let mut store = MemoryQueryable::new();
    let l = labels("a", "1");
    for (t, v, st) in [(120_000, 5.0, 60_000), (180_000, 5.0, 179_000), (240_000, 2.0, 0)] {
        store.add(&l, t, v);
        if st != 0 {
            store.add_start_time(&l, t, st);
        }
    }
    let engine = QueryEngine::default();
    let value = |q: &str| match engine.instant(&store, q, 300_000).unwrap().value {
        Value::Vector(v) => v[0].v,
        other => panic!("{q}: {other:?}"),
    };
    // 2 − 5 + 5 + 5, plus the 5 counted from its start at 1m (no extrapolation to the left),
    // extrapolated 60 s of the 180 s sampled to the right.
    assert_eq!(value("increase(http_requests_total[5m])"), 16.0);
    assert_eq!(value("resets(http_requests_total[5m])"), 2.0);
    assert_eq!(value("irate(http_requests_total[5m])"), 2.0 / 60.0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Start timestamps that are all unknown (0) change nothing.
    #[test]
    fn unknown_start_timestamps_change_nothing(series in series_strategy()) {
        let plain = store_of(&series);
        let mut with_unknown = plain.clone();
        for (job, instance, values) in &series {
            for i in 0..values.len() {
                with_unknown.add_start_time(&labels(job, instance), i as i64 * 15_000, 0);
            }
        }
        let range = Range { start: 30_000, end: 600_000, step: 45_000 };
        for q in ["rate(http_requests_total[1m])", "increase(http_requests_total[2m])",
                  "irate(http_requests_total[1m])", "resets(http_requests_total[3m])"] {
            let a = QueryEngine::default().range(&plain, q, range).unwrap().value;
            let b = QueryEngine::default().range(&with_unknown, q, range).unwrap().value;
            prop_assert_eq!(a, b, "{}", q);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Parsing any text — the rewrites before the parser included — gives a query or an
    /// error, never a panic; so does evaluating what parses.
    #[test]
    fn any_text_parses_or_fails_cleanly(
        text in prop_oneof![
            "\\PC{0,60}",
            "[a-z_{}\\[\\]()@:,.\"'`\\\\=~!+-]{0,12}( (anchored|smoothed|offset|info|@|x|\\[5m\\]|\\{a=\"\\\\xff\"\\}|\\(|\\)|,)){0,8}",
        ]
    ) {
        let engine = QueryEngine::new(EngineOptions::conformance());
        if let Ok(expr) = engine.parse(&text, strata_promql::QueryBounds::default()) {
            let _ = engine.instant_expr(&MemoryQueryable::new(), &expr, 60_000, None);
        }
    }
}
