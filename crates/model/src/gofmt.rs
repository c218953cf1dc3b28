//! Floats as Go's `fmt` prints them. Prometheus' messages and its templates (`{{ $value }}`,
//! `humanize`'s `%.4g`, `printf "%.2f"`) print numbers this way, and Rust's `Display` does not:
//! it never switches to exponent form (`1234567` where Go prints `1.234567e+06`).

/// `v` as Go prints a float64 with `%v` or `%g`: the shortest digits that read back exactly,
/// in exponent form (`1e+06`, `1.5e-05`) when the decimal exponent is below −4 or at least 6
/// (Go's threshold for the shortest form), and `+Inf`, `-Inf`, `NaN`.
pub fn format_g(v: f64) -> String {
    if let Some(special) = special(v) {
        return special;
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "-1.2345e6", "5e-7", "0e0".
    let scientific = format!("{v:e}");
    let Some((mantissa, exponent)) = scientific.split_once('e') else { return scientific };
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..6).contains(&exponent) {
        // Plain decimal: Rust's Display is the shortest round-trip decimal too.
        return v.to_string();
    }
    format!("{mantissa}e{}", exponent_suffix(exponent))
}

/// `v` as Go's `%.{precision}g`: rounded to `precision` significant digits (0 counts as 1),
/// trailing zeros dropped, in exponent form when the exponent is below −4 or at least the
/// precision (`%.4g` of 1048.576 is `1049`, of 123456 is `1.235e+05`).
pub fn format_g_precision(v: f64, precision: usize) -> String {
    if let Some(special) = special(v) {
        return special;
    }
    let precision = precision.max(1);
    let (negative, digits, exponent) = decimal_digits(v, precision);
    let count = digits.len() as i32;
    let point = exponent + 1;
    let mut exponent_threshold = precision as i32;
    if exponent_threshold > count && count >= point {
        exponent_threshold = count;
    }
    let body = if exponent < -4 || exponent >= exponent_threshold {
        let shown = (precision as i32).min(count);
        exponent_form(&digits, (shown - 1) as usize, exponent)
    } else {
        let shown = if precision as i32 > point { count } else { precision as i32 };
        fixed_form(&digits, point, (shown - point).max(0) as usize)
    };
    if negative {
        format!("-{body}")
    } else {
        body
    }
}

/// `v` as Go's `%.{precision}e` (`%e` is precision 6): `1.500000e+06`.
pub fn format_e(v: f64, precision: usize) -> String {
    if let Some(special) = special(v) {
        return special;
    }
    let scientific = format!("{v:.precision$e}");
    let Some((mantissa, exponent)) = scientific.split_once('e') else { return scientific };
    format!("{mantissa}e{}", exponent_suffix(exponent.parse().unwrap_or(0)))
}

/// `v` as Go's `%.{precision}f` (`%f` is precision 6).
pub fn format_f(v: f64, precision: usize) -> String {
    if let Some(special) = special(v) {
        return special;
    }
    format!("{v:.precision$}")
}

fn special(v: f64) -> Option<String> {
    if v.is_nan() {
        Some("NaN".into())
    } else if v.is_infinite() {
        Some(if v > 0.0 { "+Inf" } else { "-Inf" }.into())
    } else {
        None
    }
}

/// Go writes the exponent with a sign and at least two digits.
fn exponent_suffix(exponent: i32) -> String {
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{sign}{:02}", exponent.abs())
}

/// `|v|` rounded to `precision` significant digits: its sign, its digits without trailing
/// zeros (at least one), and the decimal exponent of the first digit.
fn decimal_digits(v: f64, precision: usize) -> (bool, Vec<u8>, i32) {
    let scientific = format!("{:.*e}", precision - 1, v.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let mut digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    (v.is_sign_negative(), digits, exponent.parse().unwrap_or(0))
}

fn exponent_form(digits: &[u8], decimals: usize, exponent: i32) -> String {
    let mut out = String::new();
    out.push(digits[0] as char);
    if decimals > 0 {
        out.push('.');
        for i in 1..=decimals {
            out.push(*digits.get(i).unwrap_or(&b'0') as char);
        }
    }
    out.push('e');
    out.push_str(&exponent_suffix(exponent));
    out
}

/// Digits with the decimal point after `point` of them (negative: zeros first).
fn fixed_form(digits: &[u8], point: i32, decimals: usize) -> String {
    let digit = |i: i32| if i >= 0 { *digits.get(i as usize).unwrap_or(&b'0') as char } else { '0' };
    let mut out: String = if point > 0 { (0..point).map(digit).collect() } else { "0".into() };
    if decimals > 0 {
        out.push('.');
        out.extend((0..decimals as i32).map(|i| digit(point + i)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_g_matches_go_percent_v() {
        // Each pair is what Go's fmt.Sprintf("%v", x) prints.
        let cases: [(f64, &str); 15] = [
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
            (0.00001234, "1.234e-05"),
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

    #[test]
    fn format_g_precision_matches_go() {
        // Each pair is what Go's fmt.Sprintf("%.4g", x) prints (strconv's 'g' rules).
        let cases: [(f64, &str); 13] = [
            (0.0, "0"),
            (1.0, "1"),
            (1.048576, "1.049"),
            (1048.576, "1049"),
            (123456.0, "1.235e+05"),
            (1234.0, "1234"),
            (12345.0, "1.234e+04"),
            (95.9, "95.9"),
            (123.0, "123"),
            (0.000123, "0.000123"),
            (0.0000123, "1.23e-05"),
            (-2.5, "-2.5"),
            (15.0, "15"),
        ];
        for (v, want) in cases {
            assert_eq!(format_g_precision(v, 4), want, "{v:?}");
        }
        assert_eq!(format_g_precision(f64::INFINITY, 4), "+Inf");
    }

    #[test]
    fn e_and_f_pad_to_the_precision() {
        assert_eq!(format_e(1500000.0, 6), "1.500000e+06");
        assert_eq!(format_e(0.00012, 2), "1.20e-04");
        assert_eq!(format_f(2.0 / 3.0, 2), "0.67");
        assert_eq!(format_f(5.0, 0), "5");
    }
}
