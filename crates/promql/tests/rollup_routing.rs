//! Routed answers equal raw answers: random series (counter resets, gaps, NaN, stale
//! markers, irregular intervals) are written to a real block engine, rolled up by the real
//! job into two tiers on disk, and random range-function queries are evaluated twice —
//! with the tiers and without. Wherever the route says a tier answered exactly, the answers
//! must agree: bit for bit on integer data, within 1e-9 of the values' scale on real-valued
//! data (sums added in another grouping), quantiles within the sketch's 1%. The test also
//! checks that it routed at all, and that inexact windows were never routed.

use proptest::prelude::*;
use strata_model::{Labels, STALE_NAN_BITS};
use strata_promql::{QueryEngine, QueryResult, Range, Value, WithRollups};
use strata_rollup::{job, RollupStore, Tier, Tiers};
use strata_storage::{BlockEngine, BlockEngineOptions, Engine};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
/// Data starts here (aligned to the coarse tier's span, a round time).
const T0: i64 = 1_700_006_400_000;

#[derive(Debug, Clone)]
struct Case {
    series: Vec<Vec<(i64, f64)>>,
    integers: bool,
    queries: Vec<(String, i64, i64, i64)>,
}

fn series_strategy(integers: bool, with_nan: bool) -> impl Strategy<Value = Vec<(i64, f64)>> {
    let step = prop_oneof![3 => 5_000i64..40_000, 1 => 40_000i64..400_000];
    let value = prop_oneof![
        12 => (0u32..50).prop_map(|x| x as f64),
        1 => Just(if with_nan { f64::NAN } else { 7.0 }),
        1 => Just(f64::from_bits(STALE_NAN_BITS)),
        1 => (0u32..3).prop_map(|x| -(x as f64)),
    ];
    prop::collection::vec((step, value, any::<bool>(), -1e3f64..1e3), 50..900).prop_map(move |points| {
        let mut t = T0;
        let mut counter = 0.0;
        let mut series = points
            .into_iter()
            .map(|(dt, v, reset, real)| {
                t += dt;
                let v = if v.is_nan() || v < 0.0 {
                    v
                } else if integers {
                    // A counter most of the time, with resets now and then.
                    counter = if reset && v > 45.0 { 0.0 } else { counter + v };
                    counter
                } else {
                    real
                };
                (t, v)
            })
            .collect::<Vec<_>>();
        // Every series reaches past three hours, so the first hours are settled and rolled.
        let last = series.last().map_or(T0, |p| p.0);
        series.push((last.max(T0 + 3 * HOUR) + 1000, 1.0));
        series
    })
}

fn query_strategy() -> impl Strategy<Value = (String, i64, i64, i64)> {
    let function = prop_oneof![
        Just("sum_over_time"),
        Just("count_over_time"),
        Just("min_over_time"),
        Just("max_over_time"),
        Just("avg_over_time"),
        Just("rate"),
        Just("increase"),
        Just("delta"),
        Just("last_over_time"),
        Just("first_over_time"),
        Just("ts_of_last_over_time"),
        Just("present_over_time"),
        Just("resets"),
        Just("changes"),
        Just("quantile_over_time"),
        Just("stddev_over_time"),
    ];
    let range = prop_oneof![Just("1m"), Just("5m"), Just("10m"), Just("90s"), Just("1h"), Just("15m")];
    let offset = prop_oneof![Just(""), Just(" offset 5m"), Just(" offset 30s")];
    let step = prop_oneof![Just(MIN), Just(5 * MIN), Just(45_000i64), Just(15 * MIN)];
    let start = prop_oneof![Just(0i64), Just(30_000i64), (0i64..24).prop_map(|k| k * 5 * MIN)];
    (function, range, offset, step, start, 1i64..40).prop_map(|(f, r, o, step, start, n)| {
        let selector = format!("m{{kind=~\".+\"}}[{r}]{o}");
        let q = if f == "quantile_over_time" {
            format!("{f}(0.9, {selector})")
        } else {
            format!("{f}({selector})")
        };
        let start = T0 + HOUR + start;
        (q, start, start + (n - 1) * step, step)
    })
}

fn case_strategy() -> impl Strategy<Value = Case> {
    (any::<bool>(), any::<bool>()).prop_flat_map(|(integers, with_nan)| {
        (
            prop::collection::vec(series_strategy(integers, with_nan), 1..4),
            prop::collection::vec(query_strategy(), 1..8),
        )
            .prop_map(move |(series, queries)| Case { series, integers, queries })
    })
}

fn labels(i: usize) -> Labels {
    Labels::from_pairs([("__name__", "m"), ("kind", &format!("s{i}"))]).unwrap()
}

/// How close a routed value must be to the raw one.
fn agree(function: &str, integers: bool, raw: f64, routed: f64, scale: f64) -> bool {
    if raw.to_bits() == routed.to_bits() || (raw.is_nan() && routed.is_nan()) {
        return true;
    }
    if function == "quantile_over_time" {
        return (raw - routed).abs() <= 0.01 * scale * (1.0 + 1e-9);
    }
    !integers && (raw - routed).abs() <= 1e-9 * scale.max(1.0)
}

fn points(v: &Value) -> Vec<(Labels, Vec<(i64, f64)>)> {
    match v {
        Value::Matrix(m) => m.iter().map(|s| (s.labels.clone(), s.points.clone())).collect(),
        Value::Vector(v) => v.iter().map(|s| (s.labels.clone(), vec![(s.t, s.v)])).collect(),
        other => panic!("unexpected {other:?}"),
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    engine: BlockEngine,
    store: RollupStore,
}

fn setup(case: &Case) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let engine = BlockEngine::open(&dir.path().join("data"), BlockEngineOptions::default()).unwrap();
    for (i, s) in case.series.iter().enumerate() {
        let l = labels(i);
        let batch: Vec<_> = s.iter().map(|&(t, v)| (l.clone(), t, v)).collect();
        engine.append(&batch).unwrap();
    }
    engine.flush().unwrap();
    let tiers = Tiers::new(vec![
        Tier { resolution: MIN, keep: None, span: HOUR },
        Tier { resolution: 5 * MIN, keep: None, span: 2 * HOUR },
    ])
    .unwrap();
    let store = RollupStore::open(&dir.path().join("rollups"), tiers).unwrap();
    job::run(&engine, &store, None, &mut |_| {}).unwrap();
    Setup { _dir: dir, engine, store }
}

fn run(
    engine: &QueryEngine,
    store: &dyn strata_promql::Queryable,
    q: &str,
    start: i64,
    end: i64,
    step: i64,
) -> QueryResult {
    engine.range(store, q, Range { start, end, step }).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, .. ProptestConfig::default() })]

    #[test]
    fn routed_answers_equal_raw_answers(case in case_strategy()) {
        let s = setup(&case);
        let engine = QueryEngine::new(strata_promql::EngineOptions { experimental_functions: true, ..Default::default() });
        let routed_store = WithRollups { store: &s.engine, rollups: &s.store };
        let scale: f64 = case.series.iter().flatten().map(|p| p.1.abs()).filter(|v| v.is_finite()).fold(0.0, f64::max) * 1000.0;
        // One query every case can route (its windows lie in the first hour, which the 1m
        // tier always covers; a coarser one may answer instead), so the property is never
        // checked on raw answers alone.
        let always = ("sum_over_time(m{kind=~\".+\"}[5m])".to_string(), T0 + 10 * MIN, T0 + 55 * MIN, 5 * MIN);
        let routed_first = run(&engine, &routed_store, &always.0, always.1, always.2, always.3);
        prop_assert!(routed_first.route.iter().any(|r| r.resolution.is_some()), "{:?} {:?} {:?}", routed_first.route, s.store.coverage(), s.engine.settled_range());
        for (q, start, end, step) in std::iter::once(&always).chain(&case.queries) {
            let raw = run(&engine, &s.engine, q, *start, *end, *step);
            let routed = run(&engine, &routed_store, q, *start, *end, *step);
            prop_assert!(raw.route.is_empty());
            let function = if q.contains('[') { q.split('(').next().unwrap() } else { "instant" };
            if routed.route.iter().any(|r| r.resolution.is_some()) {
                prop_assert!(routed.route.iter().all(|r| r.exact), "{q}: inexact route {:?}", routed.route);
                prop_assert!(!matches!(function, "stddev_over_time"), "{q} has no rollup");
            }
            let has_nan = case.series.iter().flatten().any(|p| p.1.is_nan() && p.1.to_bits() != STALE_NAN_BITS);
            if function == "quantile_over_time" && has_nan {
                // The sketch holds no NaN: the answer differs and says so.
                if routed.route.iter().any(|r| r.resolution.is_some()) && routed.infos.iter().all(|i| !i.contains("leaves out NaN")) {
                    let windows_had_nan = raw.infos.is_empty();
                    prop_assert!(!windows_had_nan || routed.infos.is_empty(), "{q}: {:?}", routed.infos);
                }
                continue;
            }
            let (raw, routed_points) = (points(&raw.value), points(&routed.value));
            prop_assert_eq!(raw.len(), routed_points.len(), "{}: series differ\nraw {:?}\nrouted {:?}\nroute {:?}", q, raw, routed_points, routed.route);
            for ((rl, rp), (ol, op)) in raw.iter().zip(&routed_points) {
                prop_assert_eq!(rl, ol);
                prop_assert_eq!(rp.len(), op.len(), "{}: steps differ for {:?}\nraw {:?}\nrouted {:?}\nroute {:?}", q, rl, rp, op, routed.route);
                for (a, b) in rp.iter().zip(op) {
                    prop_assert_eq!(a.0, b.0);
                    let scale = if function == "quantile_over_time" { scale / 1000.0 } else { scale };
                    prop_assert!(agree(function, case.integers, a.1, b.1, scale), "{} at {}: raw {} routed {} (route {:?})", q, a.0, a.1, b.1, routed.route);
                }
            }
        }
    }
}

/// The router is used at all: an aligned long-range query reads the tiers, far fewer points.
#[test]
fn aligned_long_range_queries_read_the_coarsest_tier() {
    let series: Vec<(i64, f64)> = (0..5 * 360).map(|i| (T0 + 10_000 * (i + 1), (i % 97) as f64)).collect();
    let case = Case { series: vec![series], integers: true, queries: vec![] };
    let s = setup(&case);
    let engine = QueryEngine::default();
    let routed_store = WithRollups { store: &s.engine, rollups: &s.store };
    let q = "avg_over_time(m[10m])";
    let (start, end) = (T0 + HOUR, T0 + 4 * HOUR);
    let raw = run(&engine, &s.engine, q, start, end, 10 * MIN);
    let routed = run(&engine, &routed_store, q, start, end, 10 * MIN);
    assert_eq!(points(&raw.value), points(&routed.value));
    assert_eq!(routed.route.len(), 1, "{:?}", routed.route);
    assert_eq!(routed.route[0].resolution, Some(5 * MIN));
    assert!(
        routed.samples_loaded * 10 < raw.samples_loaded,
        "{} vs {}",
        routed.samples_loaded,
        raw.samples_loaded
    );
    // Instant selectors too: the newest sample within the lookback, from the coarsest tier.
    for q in ["m", "timestamp(m)", "m offset 7m"] {
        let raw = run(&engine, &s.engine, q, start, end, 10 * MIN);
        let routed = run(&engine, &routed_store, q, start, end, 10 * MIN);
        assert_eq!(points(&raw.value), points(&routed.value), "{q}");
        assert!(routed.route.iter().any(|r| r.resolution.is_some()), "{q}: {:?}", routed.route);
    }
    // Unaligned steps read raw samples.
    let unaligned = run(&engine, &routed_store, q, start + 1000, end, 10 * MIN);
    assert!(unaligned.route.is_empty());
}

/// Past raw retention, a tier answers even unaligned windows — approximately — and says so.
#[test]
fn past_raw_retention_the_tiers_answer_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let day = 24 * HOUR;
    let options = BlockEngineOptions {
        retention: strata_storage::RetentionPolicy { time: Some(day), ..Default::default() },
        maintenance_every: None,
        ..BlockEngineOptions::default()
    };
    let engine = BlockEngine::open(&dir.path().join("data"), options).unwrap();
    let l = labels(0);
    let batch: Vec<_> = (0..3 * 24 * 60).map(|i| (l.clone(), T0 + 60_000 * i + 1, (i % 7) as f64)).collect();
    engine.append(&batch).unwrap();
    engine.flush().unwrap();
    let tiers = Tiers::new(vec![Tier { resolution: HOUR, keep: None, span: 6 * HOUR }]).unwrap();
    let store = RollupStore::open(&dir.path().join("rollups"), tiers).unwrap();
    job::run(&engine, &store, None, &mut |_| {}).unwrap();
    let dropped = engine.enforce_retention().unwrap();
    assert!(!dropped.dropped.is_empty(), "{dropped:?}");
    job::run(&engine, &store, None, &mut |_| {}).unwrap();
    let raw_from = store.coverage().raw_expired_before.expect("raw samples expired");
    assert!(raw_from >= T0 + day, "{raw_from}");

    let engine_q = QueryEngine::default();
    let routed_store = WithRollups { store: &engine, rollups: &store };
    let (start, end) = (T0 + 2 * HOUR, T0 + 20 * HOUR);
    // Aligned: exact, from the tier, with a note that raw samples are gone.
    let aligned = run(&engine_q, &routed_store, "avg_over_time(m[1h])", start, end, HOUR);
    assert!(aligned.route.iter().all(|r| r.resolution == Some(HOUR) && r.exact), "{:?}", aligned.route);
    assert!(
        aligned.infos.iter().any(|i| i.contains("past retention") && !i.contains("approximately")),
        "{:?}",
        aligned.infos
    );
    assert_eq!(points(&aligned.value)[0].1.len(), 19);
    // Not aligned: approximately, and it says so; raw data alone has nothing there.
    let unaligned = run(&engine_q, &routed_store, "avg_over_time(m[90m])", start, end, HOUR);
    assert!(unaligned.route.iter().any(|r| r.resolution == Some(HOUR) && !r.exact), "{:?}", unaligned.route);
    assert!(
        unaligned.infos.iter().any(|i| i.contains("approximately: the 90m windows are not aligned to 1h")),
        "{:?}",
        unaligned.infos
    );
    assert!(!points(&unaligned.value).is_empty());
    let raw = run(&engine_q, &engine, "avg_over_time(m[90m])", start, end, HOUR);
    assert!(points(&raw.value).is_empty(), "raw samples of the first day are gone");
}
