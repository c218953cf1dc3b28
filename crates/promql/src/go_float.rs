//! Go's float semantics where PromQL's answers depend on them: `math.Max` and `math.Min`
//! (which let ±Inf win over NaN, and NaN over every number — Rust's `f64::max` does the
//! opposite and ignores NaN), and `%g`/`%v` formatting, which Prometheus' error and warning
//! messages print their numbers with ("Scalar value 1e+19 overflows int64"; the formatter
//! itself lives in `strata_model::gofmt`, which rule templates share).

/// Go's `math.Max`: +Inf wins, then NaN; +0 is larger than −0.
pub(crate) fn go_max(a: f64, b: f64) -> f64 {
    if a == f64::INFINITY || b == f64::INFINITY {
        f64::INFINITY
    } else if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() {
            b
        } else {
            a
        }
    } else if a > b {
        a
    } else {
        b
    }
}

/// Go's `math.Min`: −Inf wins, then NaN; −0 is smaller than +0.
pub(crate) fn go_min(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY || b == f64::NEG_INFINITY {
        f64::NEG_INFINITY
    } else if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() {
            a
        } else {
            b
        }
    } else if a < b {
        a
    } else {
        b
    }
}

pub(crate) use strata_model::gofmt::format_g;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_and_min_let_inf_then_nan_win() {
        assert!(go_max(1.0, f64::NAN).is_nan());
        assert_eq!(go_max(f64::NAN, f64::INFINITY), f64::INFINITY);
        assert_eq!(go_min(f64::NAN, f64::NEG_INFINITY), f64::NEG_INFINITY);
        assert!(go_min(f64::NAN, f64::INFINITY).is_nan());
        assert_eq!(go_min(2.0, 1.0), 1.0);
        assert_eq!(go_max(2.0, 1.0), 2.0);
    }

    #[test]
    fn signed_zeros_order_as_in_go() {
        assert!(go_max(0.0, -0.0).is_sign_positive());
        assert!(go_max(-0.0, 0.0).is_sign_positive());
        assert!(go_min(0.0, -0.0).is_sign_negative());
        assert!(go_min(-0.0, 0.0).is_sign_negative());
    }
}
