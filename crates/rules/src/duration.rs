//! Durations and numbers as rule files and templates write them.

/// A Prometheus duration (`5m`, `1h30m`, `0s`, `-2h`) in ms.
pub fn parse_duration_ms(text: &str) -> Result<i64, String> {
    strata_promql::testscript::parse_duration(text.trim())
        .map_err(|_| format!("not a valid duration string: {text:?}"))
}

/// Go's `strconv.ParseFloat`: decimal and exponent forms, `Inf`, `NaN`.
pub fn parse_go_float(text: &str) -> Result<f64, String> {
    text.trim().parse::<f64>().map_err(|_| format!("strconv.ParseFloat: parsing {text:?}: invalid syntax"))
}

/// ms as a Prometheus duration string (`1m30s`, `5m`, `0s`).
pub fn format_duration_ms(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let (sign, mut rest) = if ms < 0 { ("-", -ms) } else { ("", ms) };
    let mut out = String::from(sign);
    for (unit, size) in [
        ("y", 31_536_000_000),
        ("w", 604_800_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}
