//! InfluxQL's functions over the points of one window: aggregates (one value at the
//! window's time), selectors (a point, with its own time), multi-row ones (`distinct`,
//! `top`, `bottom`), and transformations over a sequence (`derivative`, `difference`,
//! `moving_average`, `cumulative_sum`, `elapsed`) and the math functions per value.
//!
//! Semantics follow InfluxDB 1.6: `stddev` is the sample deviation (n−1), `median` averages
//! the middle two, `mode` prefers the smallest of equally frequent values, `percentile`
//! picks the value at `floor(n·p/100 + 0.5) − 1` of the sorted points, `min`/`max` take the
//! earliest point among equal values, `first`/`last` the larger value among equal times.

use crate::result::Value;

/// How a function behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One value at the window's time.
    Aggregate,
    /// One point, with its own time when it is the only one selected.
    Selector,
    /// Several values per window.
    Multi,
    /// A sequence in, a sequence out.
    Transform,
    /// A value in, a value out.
    Math,
}

/// What `name` is, if InfluxQL has it.
pub fn kind(name: &str) -> Option<Kind> {
    Some(match name {
        "count" | "sum" | "mean" | "median" | "mode" | "spread" | "stddev" | "integral" => Kind::Aggregate,
        "min" | "max" | "first" | "last" | "percentile" => Kind::Selector,
        "distinct" | "top" | "bottom" | "sample" => Kind::Multi,
        "derivative"
        | "non_negative_derivative"
        | "difference"
        | "non_negative_difference"
        | "moving_average"
        | "cumulative_sum"
        | "elapsed" => Kind::Transform,
        "abs" | "sin" | "cos" | "tan" | "asin" | "acos" | "atan" | "atan2" | "exp" | "ln" | "log"
        | "log2" | "log10" | "sqrt" | "pow" | "floor" | "ceil" | "round" => Kind::Math,
        _ => return None,
    })
}

/// A window's points, in time order.
pub type Points<'a> = &'a [(i64, f64)];

/// An aggregate or selector over a window: the value and, for selectors, the point's time.
pub fn reduce(name: &str, points: Points<'_>, arg: Option<f64>) -> Option<(Value, Option<i64>)> {
    if points.is_empty() {
        return None;
    }
    let values = || points.iter().map(|p| p.1);
    let n = points.len() as f64;
    Some(match name {
        "count" => (Value::Integer(points.len() as i64), None),
        "sum" => (Value::Float(values().sum()), None),
        "mean" => (Value::Float(values().sum::<f64>() / n), None),
        "median" => {
            let sorted = sorted_values(points);
            let mid = sorted.len() / 2;
            let m = if sorted.len().is_multiple_of(2) {
                sorted[mid - 1] + (sorted[mid] - sorted[mid - 1]) / 2.0
            } else {
                sorted[mid]
            };
            (Value::Float(m), None)
        }
        "mode" => (Value::Float(mode(points)), None),
        "spread" => {
            let (lo, hi) =
                values().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
            (Value::Float(hi - lo), None)
        }
        "stddev" => {
            if points.len() < 2 {
                return Some((Value::Null, None));
            }
            let mean = values().sum::<f64>() / n;
            let var = values().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0);
            (Value::Float(var.sqrt()), None)
        }
        "integral" => (Value::Float(integral(points, arg.unwrap_or(1e9))), None),
        "min" => {
            let p = points.iter().fold(points[0], |best, p| if p.1 < best.1 { *p } else { best });
            (Value::Float(p.1), Some(p.0))
        }
        "max" => {
            let p = points.iter().fold(points[0], |best, p| if p.1 > best.1 { *p } else { best });
            (Value::Float(p.1), Some(p.0))
        }
        "first" | "last" => {
            // Among points at the same time, InfluxDB keeps the larger value.
            let t = if name == "first" { points[0].0 } else { points[points.len() - 1].0 };
            let v = points.iter().filter(|p| p.0 == t).map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
            (Value::Float(v), Some(t))
        }
        "percentile" => {
            // Among equal values the point is the one Go's unstable sort leaves there.
            let mut sorted: Vec<(i64, f64)> = points.to_vec();
            crate::go_sort::sort_by(&mut sorted, |a, b| a.1 < b.1);
            let i = (n * arg.unwrap_or(50.0) / 100.0 + 0.5).floor() as i64 - 1;
            if i < 0 || i as usize >= sorted.len() {
                return None;
            }
            let p = sorted[i as usize];
            (Value::Float(p.1), Some(p.0))
        }
        _ => return None,
    })
}

fn sorted_values(points: Points<'_>) -> Vec<f64> {
    let mut v: Vec<f64> = points.iter().map(|p| p.1).collect();
    v.sort_by(f64::total_cmp);
    v
}

fn mode(points: Points<'_>) -> f64 {
    let sorted = sorted_values(points);
    let (mut best, mut best_count) = (sorted[0], 0);
    let mut i = 0;
    while i < sorted.len() {
        let j = sorted[i..].iter().position(|v| *v != sorted[i]).map_or(sorted.len(), |k| i + k);
        if j - i > best_count {
            best = sorted[i];
            best_count = j - i;
        }
        i = j;
    }
    best
}

/// The trapezoid integral, per `unit_ns`.
fn integral(points: Points<'_>, unit_ns: f64) -> f64 {
    points.windows(2).map(|w| (w[0].1 + w[1].1) / 2.0 * (w[1].0 - w[0].0) as f64 / unit_ns).sum()
}

/// `distinct`, `top`, `bottom`, `sample` of a window: `(time, value)` rows. `top`/`bottom`
/// keep the `n` largest/smallest (earlier first among equals) and list them by time.
pub fn multi(name: &str, points: Points<'_>, n: usize, window_time: i64) -> Vec<(i64, Value)> {
    match name {
        "distinct" => {
            let mut seen: Vec<f64> = Vec::new();
            for p in points {
                if !seen.iter().any(|v| v.to_bits() == p.1.to_bits()) {
                    seen.push(p.1);
                }
            }
            seen.sort_by(f64::total_cmp);
            seen.into_iter().map(|v| (window_time, Value::Float(v))).collect()
        }
        "top" | "bottom" => {
            let mut chosen: Vec<(i64, f64)> = points.to_vec();
            if name == "top" {
                chosen.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            } else {
                chosen.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            }
            chosen.truncate(n);
            chosen.sort_by_key(|p| p.0);
            chosen.into_iter().map(|(t, v)| (t, Value::Float(v))).collect()
        }
        "sample" => {
            // Deterministic: evenly spaced points (InfluxDB samples at random).
            let step = points.len().div_ceil(n.max(1)).max(1);
            points.iter().step_by(step).take(n).map(|(t, v)| (*t, Value::Float(*v))).collect()
        }
        _ => Vec::new(),
    }
}

/// A transformation over a sequence of `(time, value)`; `arg` is its second argument
/// (derivative's unit in ns, moving_average's window, elapsed's unit).
pub fn transform(name: &str, input: &[(i64, f64)], arg: Option<f64>, default_unit: f64) -> Vec<(i64, Value)> {
    let mut out = Vec::new();
    match name {
        "derivative" | "non_negative_derivative" => {
            let unit = arg.unwrap_or(default_unit);
            for w in input.windows(2) {
                let dt = (w[1].0 - w[0].0) as f64;
                if dt == 0.0 {
                    continue;
                }
                let d = (w[1].1 - w[0].1) / (dt / unit);
                if name == "derivative" || d >= 0.0 {
                    out.push((w[1].0, Value::Float(d)));
                }
            }
        }
        "difference" | "non_negative_difference" => {
            for w in input.windows(2) {
                let d = w[1].1 - w[0].1;
                if name == "difference" || d >= 0.0 {
                    out.push((w[1].0, Value::Float(d)));
                }
            }
        }
        "moving_average" => {
            let n = arg.unwrap_or(1.0).max(1.0) as usize;
            for w in input.windows(n) {
                out.push((w[n - 1].0, Value::Float(w.iter().map(|p| p.1).sum::<f64>() / n as f64)));
            }
        }
        "cumulative_sum" => {
            let mut sum = 0.0;
            for p in input {
                sum += p.1;
                out.push((p.0, Value::Float(sum)));
            }
        }
        "elapsed" => {
            let unit = arg.unwrap_or(1.0).max(1.0);
            for w in input.windows(2) {
                out.push((w[1].0, Value::Integer(((w[1].0 - w[0].0) as f64 / unit) as i64)));
            }
        }
        _ => {}
    }
    out
}

/// A math function of one value (`arg`: the second argument of `log`, `pow`, `atan2`).
pub fn math(name: &str, v: f64, arg: Option<f64>) -> f64 {
    match name {
        "abs" => v.abs(),
        "sin" => v.sin(),
        "cos" => v.cos(),
        "tan" => v.tan(),
        "asin" => v.asin(),
        "acos" => v.acos(),
        "atan" => v.atan(),
        "atan2" => v.atan2(arg.unwrap_or(1.0)),
        "exp" => v.exp(),
        "ln" => v.ln(),
        "log" => v.ln() / arg.unwrap_or(std::f64::consts::E).ln(),
        "log2" => v.log2(),
        "log10" => v.log10(),
        "sqrt" => v.sqrt(),
        "pow" => v.powf(arg.unwrap_or(1.0)),
        "floor" => v.floor(),
        "ceil" => v.ceil(),
        "round" => v.round(),
        _ => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pts(values: &[f64]) -> Vec<(i64, f64)> {
        values.iter().enumerate().map(|(i, v)| (i as i64 * 10, *v)).collect()
    }

    #[test]
    fn influxdbs_figures() {
        // TestServer_Query_Aggregates_FloatMany's data.
        let p = pts(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(reduce("mean", &p, None).unwrap().0, Value::Float(5.0));
        assert_eq!(reduce("stddev", &p, None).unwrap().0, Value::Float(2.138089935299395));
        assert_eq!(reduce("median", &p, None).unwrap().0, Value::Float(4.5));
        assert_eq!(reduce("mode", &p, None).unwrap().0, Value::Float(4.0));
        assert_eq!(reduce("spread", &p, None).unwrap().0, Value::Float(7.0));
        assert_eq!(reduce("max", &p, None).unwrap(), (Value::Float(9.0), Some(70)));
        assert_eq!(reduce("percentile", &p, Some(50.0)).unwrap().0, Value::Float(4.0));
        assert_eq!(multi("distinct", &p, 0, 0).len(), 5);
        assert_eq!(multi("top", &p, 2, 0), vec![(60, Value::Float(7.0)), (70, Value::Float(9.0))]);
    }

    #[test]
    fn transforms() {
        let p = pts(&[1.0, 3.0, 2.0]);
        assert_eq!(
            transform("derivative", &p, Some(10.0), 1e9),
            vec![(10, Value::Float(2.0)), (20, Value::Float(-1.0))]
        );
        assert_eq!(transform("non_negative_difference", &p, None, 1e9), vec![(10, Value::Float(2.0))]);
        assert_eq!(transform("cumulative_sum", &p, None, 1e9).last(), Some(&(20, Value::Float(6.0))));
        assert_eq!(
            transform("moving_average", &p, Some(2.0), 1e9),
            vec![(10, Value::Float(2.0)), (20, Value::Float(2.5))]
        );
    }

    proptest! {
        #[test]
        fn aggregates_agree_with_their_definitions(values in prop::collection::vec(-1e6f64..1e6, 1..60)) {
            let p = pts(&values);
            let sum: f64 = values.iter().sum();
            prop_assert_eq!(reduce("sum", &p, None).unwrap().0, Value::Float(sum));
            prop_assert_eq!(reduce("count", &p, None).unwrap().0, Value::Integer(values.len() as i64));
            let max = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            prop_assert_eq!(reduce("max", &p, None).unwrap().0, Value::Float(max));
            let Value::Float(median) = reduce("median", &p, None).unwrap().0 else { panic!() };
            let below = values.iter().filter(|v| **v < median).count();
            let above = values.iter().filter(|v| **v > median).count();
            prop_assert!(below <= values.len() / 2 && above <= values.len() / 2);
            let d = multi("distinct", &p, 0, 0);
            prop_assert!(d.windows(2).all(|w| w[0].1.as_f64() < w[1].1.as_f64()));
        }
    }
}
