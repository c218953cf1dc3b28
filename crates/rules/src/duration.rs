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

/// An RFC 3339 time (`2024-01-01T00:00:00Z`, fractions and `+hh:mm` offsets allowed) in ms.
pub fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, time) = text.split_once(['T', 't', ' '])?;
    let mut date_parts = date.splitn(3, '-');
    let (year, month, day): (i64, i64, i64) = (
        date_parts.next()?.parse().ok()?,
        date_parts.next()?.parse().ok()?,
        date_parts.next()?.parse().ok()?,
    );
    let (clock, offset_ms) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else {
        let split = time.rfind(['+', '-'])?;
        let (clock, offset) = time.split_at(split);
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let (h, m) = offset[1..].split_once(':')?;
        (clock, sign * (h.parse::<i64>().ok()? * 3_600_000 + m.parse::<i64>().ok()? * 60_000))
    };
    let mut clock_parts = clock.splitn(3, ':');
    let (hour, minute): (i64, i64) = (clock_parts.next()?.parse().ok()?, clock_parts.next()?.parse().ok()?);
    let seconds: f64 = clock_parts.next()?.parse().ok()?;
    let days = strata_model::calendar::days_from_civil(year, month, day);
    Some(
        days * 86_400_000 + hour * 3_600_000 + minute * 60_000 + (seconds * 1000.0).round() as i64
            - offset_ms,
    )
}
