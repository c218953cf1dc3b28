//! "vector cannot contain metrics with the same labelset": where Prometheus 3 raises it, on
//! range queries as on instant ones.
//!
//! - Instant-vector functions and label_replace/label_join: series that end up with the same
//!   labels are merged when their steps differ; a step where both have a value is the error.
//!   So a range query fails exactly when an instant query at one of its steps fails.
//! - Range-vector functions (rate, *_over_time, …) over series whose names they drop: the
//!   whole result may not hold two equal label sets, at any steps.

use proptest::prelude::*;
use strata_model::Labels;
use strata_promql::{MemoryQueryable, QueryEngine, Range, Value};

const SAME_LABELSET: &str = "vector cannot contain metrics with the same labelset";

/// Samples and steps are 10 minutes apart: longer than the 5m lookback, so a sample is seen
/// at its own step only.
const TICK: i64 = 600_000;

/// Steps 0 to 9 ticks.
const RANGE: Range = Range { start: 0, end: 9 * TICK, step: TICK };

/// One series per (name, mode), one sample a tick over the ticks `[from, to)`.
fn store_of(series: &[(&str, &str, i64, i64)]) -> MemoryQueryable {
    let mut store = MemoryQueryable::new();
    for &(name, mode, from, to) in series {
        let labels = Labels::from_pairs([("__name__", name), ("job", "j"), ("mode", mode)]).unwrap();
        for tick in from..to {
            store.add(&labels, tick * TICK, (tick + 1) as f64);
        }
    }
    store
}

fn range_error(store: &MemoryQueryable, query: &str) -> Option<String> {
    QueryEngine::default().range(store, query, RANGE).err().map(|e| e.to_string())
}

/// Two series that differ only in `mode`, both present at every step.
fn overlapping() -> MemoryQueryable {
    store_of(&[("x", "a", 0, 10), ("x", "b", 0, 10)])
}

/// The same, but `mode="a"` holds ticks 0–4 and `mode="b"` ticks 6–9.
fn disjoint() -> MemoryQueryable {
    store_of(&[("x", "a", 0, 5), ("x", "b", 6, 10)])
}

#[test]
fn label_functions_that_collide_fail_range_queries_as_instant_ones() {
    let store = overlapping();
    for query in [
        r#"label_replace(x, "mode", "", "", "")"#,
        r#"label_replace(x, "mode", "same", "mode", ".*")"#,
        r#"label_join(x, "mode", "-", "job")"#,
        r#"label_join(label_replace(x, "mode", "", "", ""), "z", "", "job")"#,
        r#"sum by (mode) (label_replace(x, "mode", "", "", ""))"#,
    ] {
        let instant = QueryEngine::default().instant(&store, query, 2 * TICK).err().map(|e| e.to_string());
        assert_eq!(instant.as_deref(), Some(SAME_LABELSET), "instant {query}");
        assert_eq!(range_error(&store, query).as_deref(), Some(SAME_LABELSET), "range {query}");
    }
}

#[test]
fn label_functions_merge_series_that_never_share_a_step() {
    let store = disjoint();
    let query = r#"label_replace(x, "mode", "", "", "")"#;
    let Value::Matrix(matrix) = QueryEngine::default().range(&store, query, RANGE).unwrap().value else {
        panic!("a range query answers a matrix")
    };
    assert_eq!(matrix.len(), 1, "{matrix:?}");
    let ticks: Vec<i64> = matrix[0].points.iter().map(|p| p.0 / TICK).collect();
    assert_eq!(ticks, [0, 1, 2, 3, 4, 6, 7, 8, 9]);
}

#[test]
fn instant_functions_dropping_names_fail_only_where_steps_collide() {
    let both = store_of(&[("p", "a", 0, 10), ("q", "a", 0, 10)]);
    assert_eq!(range_error(&both, r#"abs({mode="a"})"#).as_deref(), Some(SAME_LABELSET));
    assert_eq!(range_error(&both, r#"-{mode="a"}"#).as_deref(), Some(SAME_LABELSET));
    let apart = store_of(&[("p", "a", 0, 3), ("q", "a", 6, 10)]);
    assert_eq!(range_error(&apart, r#"abs({mode="a"})"#), None);
}

#[test]
fn range_functions_dropping_names_fail_on_any_two_equal_series() {
    // p_total holds ticks 0–2, q_total ticks 7–9: no step's window sees both, yet
    // Prometheus refuses the range query's matrix as a whole.
    let store = store_of(&[("p_total", "a", 0, 3), ("q_total", "a", 7, 10)]);
    for query in
        [r#"rate({mode="a"}[20m])"#, r#"sum_over_time({mode="a"}[10m])"#, r#"rate({mode="a"}[20m:10m])"#]
    {
        assert_eq!(range_error(&store, query).as_deref(), Some(SAME_LABELSET), "{query}");
        for tick in 0..10 {
            let instant = QueryEngine::default().instant(&store, query, tick * TICK);
            assert!(instant.is_ok(), "{query} at tick {tick}: {instant:?}");
        }
    }
    // last_over_time keeps the name: nothing collides.
    assert_eq!(range_error(&store, r#"last_over_time({mode="a"}[10m])"#), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// For label functions that may make series equal, a range query fails exactly when an
    /// instant query at one of its steps fails, and otherwise agrees with them step by step.
    #[test]
    fn range_agrees_with_instant_queries_on_collisions(
        spans in proptest::collection::vec((0i64..10, 0i64..10), 1..4),
        q in 0..3usize,
    ) {
        const QUERIES: [&str; 3] = [
            r#"label_replace(x, "mode", "", "", "")"#,
            r#"label_join(x, "mode", "", "job")"#,
            r#"label_replace(x, "mode", "m", "mode", "[ab]")"#,
        ];
        let modes = ["a", "b", "c"];
        let series: Vec<(&str, &str, i64, i64)> =
            spans.iter().zip(modes).map(|(&(from, len), mode)| ("x", mode, from, from + len)).collect();
        let store = store_of(&series);
        let engine = QueryEngine::default();
        let ranged = engine.range(&store, QUERIES[q], RANGE);
        let instants: Vec<_> = (0..10).map(|tick| engine.instant(&store, QUERIES[q], tick * TICK)).collect();
        let any_instant_fails = instants.iter().any(|r| r.is_err());
        prop_assert_eq!(ranged.is_err(), any_instant_fails, "{} over {:?}", QUERIES[q], series);
        if let Ok(result) = ranged {
            let Value::Matrix(matrix) = result.value else { panic!("a range query answers a matrix") };
            for (tick, instant) in instants.into_iter().enumerate() {
                let Value::Vector(samples) = instant.unwrap().value else { panic!("an instant vector") };
                let t = tick as i64 * TICK;
                let mut from_range: Vec<(Labels, u64)> = matrix
                    .iter()
                    .filter_map(|s| s.points.iter().find(|p| p.0 == t).map(|p| (s.labels.clone(), p.1.to_bits())))
                    .collect();
                let mut from_instant: Vec<(Labels, u64)> =
                    samples.into_iter().map(|s| (s.labels, s.v.to_bits())).collect();
                from_range.sort();
                from_instant.sort();
                prop_assert_eq!(from_range, from_instant, "tick {}", tick);
            }
        }
    }
}
