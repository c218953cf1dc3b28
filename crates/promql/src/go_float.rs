//! Go's float semantics where PromQL's answers depend on them: `math.Max` and `math.Min`
//! (which let ±Inf win over NaN, and NaN over every number — Rust's `f64::max` does the
//! opposite and ignores NaN), and `%g`/`%v` formatting, which Prometheus' error and warning
//! messages print their numbers with ("Scalar value 1e+19 overflows int64").

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

/// `v` as Go's `fmt` prints a float64 with `%v` or `%g`: the shortest digits that read back
/// exactly, in exponent form (`1e+06`, `1.5e-05`) when the decimal exponent is below −4 or
/// at least 6 (Go's threshold for the shortest form), and `+Inf`, `-Inf`, `NaN`.
pub(crate) fn format_g(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "-1.2345e6", "5e-7", "0e0".
    let scientific = format!("{v:e}");
    let Some((mantissa, exponent)) = scientific.split_once('e') else { return scientific };
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..6).contains(&exponent) {
        // Plain decimal: Rust's Display is the shortest round-trip decimal too.
        return v.to_string();
    }
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.abs())
}

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

    #[test]
    fn format_g_matches_go_percent_v() {
        // Each pair is what Go's fmt.Sprintf("%v", x) prints.
        let cases: [(f64, &str); 14] = [
            (0.0, "0"),
            (1.0, "1"),
            (-2.5, "-2.5"),
            (100000.0, "100000"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (9.223372036854776e18, "9.223372036854776e+18"),
            (1e21, "1e+21"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e-300, "1e-300"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ];
        for (v, want) in cases {
            assert_eq!(format_g(v), want, "{v:?}");
        }
        assert_eq!(format_g(f64::NAN), "NaN");
    }
}
