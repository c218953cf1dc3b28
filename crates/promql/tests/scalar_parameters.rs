//! Every function and aggregation that takes a scalar bound or parameter, given NaN, ±Inf and
//! out-of-range values: the answer Prometheus 3's code gives (promql/functions.go and
//! rangeEvalAgg in promql/engine.go), one table row each.
//!
//! The rules the rows pin down: clamp's only early return is `max < min`, false for a NaN
//! bound, so NaN clamps every value to NaN (Go's `math.Max`/`math.Min` let NaN through, and
//! ±Inf over NaN); round divides by `1 / to_nearest`; the quantile functions answer ±Inf for
//! φ beyond [0, 1] and NaN for NaN, with a warning; topk/bottomk/limitk answer nothing when
//! every k is below 1, then refuse NaN and what an int64 cannot hold; limit_ratio answers
//! nothing when every ratio is 0, refuses NaN and caps beyond ±1 with a warning.

use strata_model::Labels;
use strata_promql::{EngineOptions, MemoryQueryable, QueryEngine, Range, Value};

/// x{mode="a"} rises 1, 2, 3, …; x{mode="b"} 10, 20, 30, … (one sample a minute from 0);
/// a classic histogram h_bucket with bounds 1, 2 and +Inf.
fn store() -> MemoryQueryable {
    let mut store = MemoryQueryable::new();
    let x = |mode: &str| Labels::from_pairs([("__name__", "x"), ("mode", mode)]).unwrap();
    let bucket = |le: &str| Labels::from_pairs([("__name__", "h_bucket"), ("le", le)]).unwrap();
    for i in 0..10i64 {
        let t = i * 60_000;
        store.add(&x("a"), t, (i + 1) as f64);
        store.add(&x("b"), t, (i + 1) as f64 * 10.0);
        store.add(&bucket("1"), t, i as f64);
        store.add(&bucket("2"), t, 2.0 * i as f64);
        store.add(&bucket("+Inf"), t, 3.0 * i as f64);
    }
    store
}

fn engine() -> QueryEngine {
    QueryEngine::new(EngineOptions { experimental_functions: true, ..EngineOptions::default() })
}

/// What a query must answer at 5m: the values (sorted; NaN written as such), or an error.
#[derive(Debug)]
enum Want {
    Values(&'static [f64]),
    Error(&'static str),
}

/// x at 5m is 6 (mode a) and 60 (mode b).
const X: &[f64] = &[6.0, 60.0];
const NAN2: &[f64] = &[f64::NAN, f64::NAN];
const INF2: &[f64] = &[f64::INFINITY, f64::INFINITY];
const NEG_INF2: &[f64] = &[f64::NEG_INFINITY, f64::NEG_INFINITY];

/// (query, answer, warning the answer carries or "").
const TABLE: &[(&str, Want, &str)] = &[
    // clamp, clamp_min, clamp_max
    ("clamp(x, NaN, 100)", Want::Values(NAN2), ""),
    ("clamp(x, 0, NaN)", Want::Values(NAN2), ""),
    ("clamp(x, NaN, NaN)", Want::Values(NAN2), ""),
    ("clamp(x, 10, 1)", Want::Values(&[]), ""),
    ("clamp(x, -Inf, +Inf)", Want::Values(X), ""),
    ("clamp(x, +Inf, -Inf)", Want::Values(&[]), ""),
    ("clamp(x, +Inf, +Inf)", Want::Values(INF2), ""),
    ("clamp(x, -Inf, -Inf)", Want::Values(NEG_INF2), ""),
    ("clamp(x, 7, 50)", Want::Values(&[7.0, 50.0]), ""),
    ("clamp_min(x, NaN)", Want::Values(NAN2), ""),
    ("clamp_min(x, +Inf)", Want::Values(INF2), ""),
    ("clamp_min(x, -Inf)", Want::Values(X), ""),
    ("clamp_max(x, NaN)", Want::Values(NAN2), ""),
    ("clamp_max(x, -Inf)", Want::Values(NEG_INF2), ""),
    ("clamp_max(x, +Inf)", Want::Values(X), ""),
    // round(v, to_nearest): floor(v / to_nearest + 0.5) * to_nearest, by the inverse.
    ("round(x, NaN)", Want::Values(NAN2), ""),
    ("round(x, +Inf)", Want::Values(NAN2), ""),
    ("round(x, -Inf)", Want::Values(NAN2), ""),
    ("round(x, 0)", Want::Values(NAN2), ""),
    ("round(x, 4)", Want::Values(&[8.0, 60.0]), ""),
    // quantile and quantile_over_time
    ("quantile(NaN, x)", Want::Values(&[f64::NAN]), "got NaN"),
    ("quantile(+Inf, x)", Want::Values(&[f64::INFINITY]), "got +Inf"),
    ("quantile(-Inf, x)", Want::Values(&[f64::NEG_INFINITY]), "got -Inf"),
    ("quantile(1e6, x)", Want::Values(&[f64::INFINITY]), "got 1e+06"),
    ("quantile(0.5, x)", Want::Values(&[33.0]), ""),
    ("quantile_over_time(NaN, x[5m])", Want::Values(NAN2), "got NaN"),
    ("quantile_over_time(+Inf, x[5m])", Want::Values(INF2), "got +Inf"),
    ("quantile_over_time(-2, x[5m])", Want::Values(NEG_INF2), "got -2"),
    // histogram_quantile's φ
    ("histogram_quantile(NaN, h_bucket)", Want::Values(&[f64::NAN]), "got NaN"),
    ("histogram_quantile(+Inf, h_bucket)", Want::Values(&[f64::INFINITY]), "got +Inf"),
    ("histogram_quantile(-Inf, h_bucket)", Want::Values(&[f64::NEG_INFINITY]), "got -Inf"),
    // predict_linear's t: slope × t + value at the step
    ("predict_linear(x[5m], NaN)", Want::Values(NAN2), ""),
    ("predict_linear(x[5m], +Inf)", Want::Values(INF2), ""),
    ("predict_linear(x[5m], -Inf)", Want::Values(NEG_INF2), ""),
    // topk, bottomk, limitk
    ("topk(NaN, x)", Want::Error("Parameter value is NaN"), ""),
    ("bottomk(NaN, x)", Want::Error("Parameter value is NaN"), ""),
    ("limitk(NaN, x)", Want::Error("Parameter value is NaN"), ""),
    ("topk(+Inf, x)", Want::Error("Scalar value +Inf overflows int64"), ""),
    ("bottomk(1e19, x)", Want::Error("Scalar value 1e+19 overflows int64"), ""),
    ("topk(-Inf, x)", Want::Values(&[]), ""),
    ("limitk(-1e19, x)", Want::Values(&[]), ""),
    ("topk(0.9, x)", Want::Values(&[]), ""),
    ("topk(1.9, x)", Want::Values(&[60.0]), ""),
    ("bottomk(1, x)", Want::Values(&[6.0]), ""),
    ("topk(9e18, x)", Want::Values(X), ""),
    // limit_ratio
    ("limit_ratio(NaN, x)", Want::Error("Ratio value is NaN"), ""),
    ("limit_ratio(0, x)", Want::Values(&[]), ""),
    ("limit_ratio(+Inf, x)", Want::Values(X), "got +Inf, capping to 1"),
    ("limit_ratio(-Inf, x)", Want::Values(X), "got -Inf, capping to -1"),
    ("limit_ratio(2, x)", Want::Values(X), "got 2, capping to 1"),
];

fn sorted_values(value: Value) -> Vec<f64> {
    let mut values: Vec<f64> = match value {
        Value::Vector(samples) => samples.into_iter().map(|s| s.v).collect(),
        other => panic!("expected a vector, got {other:?}"),
    };
    values.sort_by(f64::total_cmp);
    values
}

fn same_values(got: &[f64], want: &[f64]) -> bool {
    let mut want = want.to_vec();
    want.sort_by(f64::total_cmp);
    got.len() == want.len() && got.iter().zip(&want).all(|(g, w)| g == w || (g.is_nan() && w.is_nan()))
}

#[test]
fn scalar_parameters_answer_as_prometheus_3() {
    let store = store();
    let engine = engine();
    let mut wrong = Vec::new();
    for (query, want, warning) in TABLE {
        let answer = engine.instant(&store, query, 300_000);
        let ok = match (want, &answer) {
            (Want::Values(values), Ok(result)) => {
                let got = sorted_values(result.value.clone());
                let warned = if warning.is_empty() {
                    result.warnings.is_empty()
                } else {
                    result.warnings.iter().any(|w| w.ends_with(warning))
                };
                same_values(&got, values) && warned
            }
            (Want::Error(message), Err(e)) => e.to_string() == *message,
            _ => false,
        };
        if !ok {
            let shown = answer.map(|r| (sorted_values(r.value), r.warnings));
            wrong.push(format!("{query}: want {want:?} {warning:?}, got {shown:?}"));
        }
    }
    assert!(wrong.is_empty(), "{} of {} rows differ:\n{}", wrong.len(), TABLE.len(), wrong.join("\n"));
}

/// A per-step k is checked over all steps before the first, as Prometheus does: one NaN
/// step fails the whole range query; k below 1 at every step answers nothing.
#[test]
fn per_step_parameters_are_checked_across_the_whole_range() {
    let store = store();
    let engine = engine();
    let range = Range { start: 0, end: 540_000, step: 60_000 };
    // scalar() of nothing is NaN: at the steps where x{mode="a"} is below 3 there is none.
    let k = "topk(scalar(x{mode=\"a\"} >= 3), x)";
    let err = engine.range(&store, k, range).unwrap_err();
    assert_eq!(err.to_string(), "Parameter value is NaN");
    let none = engine.range(&store, "topk(scalar(x{mode=\"a\"}) - 100, x)", range).unwrap();
    assert!(matches!(none.value, Value::Matrix(ref m) if m.is_empty()), "{:?}", none.value);
    let err = engine.range(&store, "bottomk(scalar(x{mode=\"a\"}) * 1e19 - 2e19, x)", range).unwrap_err();
    assert_eq!(err.to_string(), "Scalar value -1e+19 underflows int64");
}
