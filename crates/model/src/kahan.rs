//! Kahan–Neumaier summation, as Prometheus sums (`sum`, `sum_over_time`, `avg`): PromQL and
//! the rollup tiers must add in the same way for a rolled-up sum to equal the raw one.

/// One step of Kahan–Neumaier summation: the new sum and compensation after adding `inc`.
/// The result of a run of steps is `sum + c`.
pub fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compensation_recovers_what_plain_addition_loses() {
        let (mut s, mut c) = (0.0, 0.0);
        for v in [1e16, 1.0, -1e16] {
            (s, c) = kahan_inc(v, s, c);
        }
        assert_eq!(s + c, 1.0);
        assert_eq!(1e16 + 1.0 - 1e16, 0.0, "plain addition loses the 1");
    }
}
