//! Numerical helpers shared by functions and aggregations, with Prometheus' exact
//! arithmetic (Kahan–Neumaier sums, its quantile interpolation, its regression).

pub(crate) use strata_model::kahan::kahan_inc;

/// The compensated sum of `values`.
pub(crate) fn kahan_sum(values: impl IntoIterator<Item = f64>) -> f64 {
    fold::<Sum>(values)
}

/// `values` folded by `A` in order (e.g. `fold::<Mean>` for Prometheus' `avg`).
pub(crate) fn fold<A: Accumulate>(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut acc = A::default();
    values.into_iter().for_each(|v| acc.add(v));
    acc.value()
}

/// A value built one input at a time, in input order: how aggregations fold each group at
/// each step and range functions each window, without gathering the values first.
pub(crate) trait Accumulate: Default + Copy {
    fn add(&mut self, v: f64);
    /// The result (NaN or 0 for no input, as the operation defines).
    fn value(&self) -> f64;
}

/// `sum`: Kahan–Neumaier.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Sum {
    sum: f64,
    c: f64,
}

impl Accumulate for Sum {
    fn add(&mut self, v: f64) {
        (self.sum, self.c) = kahan_inc(v, self.sum, self.c);
    }
    fn value(&self) -> f64 {
        self.sum + self.c
    }
}

/// `avg`: a compensated sum, becoming an incremental mean if the sum overflows.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Mean {
    count: f64,
    sum: f64,
    c: f64,
    avg: f64,
    incremental: bool,
}

impl Accumulate for Mean {
    fn add(&mut self, v: f64) {
        self.count += 1.0;
        if self.count == 1.0 {
            self.sum = v;
            return;
        }
        if !self.incremental {
            let (s, nc) = kahan_inc(v, self.sum, self.c);
            if !s.is_infinite() {
                (self.sum, self.c) = (s, nc);
                return;
            }
            self.incremental = true;
            self.avg = self.sum / (self.count - 1.0);
            self.c /= self.count - 1.0;
        }
        let q = (self.count - 1.0) / self.count;
        (self.avg, self.c) = kahan_inc(v / self.count, q * self.avg, q * self.c);
    }
    fn value(&self) -> f64 {
        if self.count == 0.0 {
            f64::NAN
        } else if self.incremental {
            self.avg + self.c
        } else {
            self.sum / self.count + self.c / self.count
        }
    }
}

/// `stdvar`: Welford's running variance, compensated.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Variance {
    count: f64,
    mean: f64,
    c_mean: f64,
    aux: f64,
    c_aux: f64,
}

impl Accumulate for Variance {
    fn add(&mut self, v: f64) {
        self.count += 1.0;
        let delta = v - (self.mean + self.c_mean);
        (self.mean, self.c_mean) = kahan_inc(delta / self.count, self.mean, self.c_mean);
        (self.aux, self.c_aux) = kahan_inc(delta * (v - (self.mean + self.c_mean)), self.aux, self.c_aux);
    }
    fn value(&self) -> f64 {
        (self.aux + self.c_aux) / self.count
    }
}

/// `stddev`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct StdDev(Variance);

impl Accumulate for StdDev {
    fn add(&mut self, v: f64) {
        self.0.add(v);
    }
    fn value(&self) -> f64 {
        self.0.value().sqrt()
    }
}

/// `count`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Count(f64);

impl Accumulate for Count {
    fn add(&mut self, _: f64) {
        self.0 += 1.0;
    }
    fn value(&self) -> f64 {
        self.0
    }
}

/// `group`: 1 wherever the group has a value.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Group;

impl Accumulate for Group {
    fn add(&mut self, _: f64) {}
    fn value(&self) -> f64 {
        1.0
    }
}

/// `min` (`max` with `MAX` set): NaN only when every input is NaN.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Extreme<const MAX: bool>(f64);

impl<const MAX: bool> Default for Extreme<MAX> {
    fn default() -> Self {
        Extreme(f64::NAN)
    }
}

impl<const MAX: bool> Accumulate for Extreme<MAX> {
    fn add(&mut self, v: f64) {
        let better = if MAX { v > self.0 } else { v < self.0 };
        if better || self.0.is_nan() {
            self.0 = v;
        }
    }
    fn value(&self) -> f64 {
        self.0
    }
}

/// The φ-quantile of `values` by Prometheus' interpolation (sorts `values`).
pub(crate) fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    // Go's float sort, which Prometheus uses, puts NaN first.
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
    });
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// Least-squares slope and intercept of `samples`, with x in seconds from `intercept_time`.
pub(crate) fn linear_regression(samples: &[(i64, f64)], intercept_time: i64) -> (f64, f64) {
    let init_y = samples[0].1;
    let const_y = samples.iter().all(|s| s.1 == init_y);
    if const_y {
        return if init_y.is_infinite() { (f64::NAN, f64::NAN) } else { (0.0, init_y) };
    }
    let n = samples.len() as f64;
    let (mut sx, mut cx, mut sy, mut cy, mut sxy, mut cxy, mut sx2, mut cx2) =
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for &(t, y) in samples {
        let x = (t - intercept_time) as f64 / 1e3;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(y, sy, cy);
        (sxy, cxy) = kahan_inc(x * y, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    let (sx, sy, sxy, sx2) = (sx + cx, sy + cy, sxy + cxy, sx2 + cx2);
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    (slope, sy / n - slope * sx / n)
}

/// Go's `almost.Equal`.
pub(crate) fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    const MIN_NORMAL: f64 = 2.2250738585072014e-308;
    if (a.is_nan() && b.is_nan()) || a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < MIN_NORMAL {
        return diff < epsilon * MIN_NORMAL;
    }
    diff / abs_sum.min(f64::MAX) < epsilon
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quantile_interpolates_between_ranks() {
        assert_eq!(quantile(0.5, &mut [1.0, 3.0, 2.0, 4.0]), 2.5);
        assert_eq!(quantile(0.0, &mut [5.0, 1.0]), 1.0);
        assert_eq!(quantile(2.0, &mut [5.0]), f64::INFINITY);
        assert!(quantile(0.5, &mut []).is_nan());
    }

    #[test]
    fn regression_of_a_line_finds_it() {
        let points: Vec<(i64, f64)> = (0..10).map(|i| (i * 1000, 3.0 + 2.0 * i as f64)).collect();
        let (slope, intercept) = linear_regression(&points, 0);
        assert!((slope - 2.0).abs() < 1e-12 && (intercept - 3.0).abs() < 1e-12);
    }

    proptest! {
        #[test]
        fn compensated_sums_match_exact_integer_sums(xs in proptest::collection::vec(-1_000_000i64..1_000_000, 0..200)) {
            let exact: i64 = xs.iter().sum();
            prop_assert_eq!(kahan_sum(xs.iter().map(|&x| x as f64)), exact as f64);
            if !xs.is_empty() {
                let m = fold::<Mean>(xs.iter().map(|&x| x as f64));
                prop_assert!((m - exact as f64 / xs.len() as f64).abs() < 1e-6);
            }
        }
    }
}
