//! Time as InfluxQL writes it: RFC 3339 literals in, RFC 3339 (nanoseconds, trailing zeros
//! trimmed, as Go's `RFC3339Nano`) or an epoch unit out, and Go's duration text
//! (`168h0m0s`) for retention policies.

use strata_model::calendar::{civil_from_days, days_from_civil};

/// `ns` since the epoch as Go's RFC3339Nano.
pub fn format_rfc3339(ns: i64) -> String {
    format_rfc3339_at(ns, 0)
}

/// `ns` since the epoch as Go's RFC3339Nano in a zone `offset_s` seconds east of UTC:
/// the local wall time, then `Z` for a zero offset (Go's `Z07:00`), else `±hh:mm`.
pub fn format_rfc3339_at(ns: i64, offset_s: i64) -> String {
    let mut out = wall_time(ns.saturating_add(offset_s.saturating_mul(1_000_000_000)));
    if offset_s == 0 {
        out.push('Z');
    } else {
        let sign = if offset_s < 0 { '-' } else { '+' };
        let a = offset_s.abs();
        out.push_str(&format!("{sign}{:02}:{:02}", a / 3600, a / 60 % 60));
    }
    out
}

/// `YYYY-MM-DDThh:mm:ss[.fraction]` of a time in ns, without a zone.
fn wall_time(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let nanos = ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    let (h, mi, s) = (of_day / 3600, of_day / 60 % 60, of_day % 60);
    let mut out = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out
}

/// A time literal: `2000-01-01`, `2000-01-01T00:00:00Z`, `2000-01-01 00:00:00.5`,
/// `…+02:00`; in ns. `None` if it is none of those.
pub fn parse_time(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |s: &str| -> Option<i64> {
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (year, month, day) = (num(&text[0..4])?, num(&text[5..7])?, num(&text[8..10])?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let mut rest = &text[10..];
    let mut of_day_ns = 0i64;
    if let Some(clock) = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' ')) {
        if clock.len() < 8 || clock.as_bytes()[2] != b':' || clock.as_bytes()[5] != b':' {
            return None;
        }
        let (h, mi, s) = (num(&clock[0..2])?, num(&clock[3..5])?, num(&clock[6..8])?);
        if h > 23 || mi > 59 || s > 60 {
            return None;
        }
        of_day_ns = ((h * 60 + mi) * 60 + s) * 1_000_000_000;
        rest = &clock[8..];
        if let Some(fraction) = rest.strip_prefix('.') {
            let n = fraction.find(|c: char| !c.is_ascii_digit()).unwrap_or(fraction.len());
            if n == 0 || n > 9 {
                return None;
            }
            let digits = &fraction[..n];
            of_day_ns += num(digits)? * 10i64.pow(9 - n as u32);
            rest = &fraction[n..];
        }
    }
    let offset_ns = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let zone = &rest[1..];
            if zone.len() != 5 || zone.as_bytes()[2] != b':' {
                return None;
            }
            sign * (num(&zone[0..2])? * 60 + num(&zone[3..5])?) * 60_000_000_000
        }
    };
    days.checked_mul(86_400_000_000_000)?.checked_add(of_day_ns)?.checked_sub(offset_ns)
}

/// How `/query`'s `epoch` parameter writes times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Epoch {
    /// No `epoch`: RFC 3339 strings.
    Rfc3339,
    /// Integers in this many ns per unit.
    Unit(i64),
}

impl Epoch {
    /// The parameter's value (`ns`, `u`, `µ`, `ms`, `s`, `m`, `h`; any other is ns, as
    /// InfluxDB does).
    pub fn parse(param: Option<&str>) -> Epoch {
        match param {
            None | Some("") => Epoch::Rfc3339,
            Some("u") | Some("µ") => Epoch::Unit(1_000),
            Some("ms") => Epoch::Unit(1_000_000),
            Some("s") => Epoch::Unit(1_000_000_000),
            Some("m") => Epoch::Unit(60_000_000_000),
            Some("h") => Epoch::Unit(3_600_000_000_000),
            Some(_) => Epoch::Unit(1),
        }
    }
}

/// A duration as Go's `time.Duration.String` writes it (`0s`, `1h0m0s`, `1.5s`, `500ms`).
pub fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let negative = ns < 0;
    let u = ns.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (unit, div) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&fraction(u, div));
        out.push_str(unit);
    } else {
        let secs = u / 1_000_000_000;
        let (h, m) = (secs / 3600, secs / 60 % 60);
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&fraction(u % 60_000_000_000, 1_000_000_000));
        out.push('s');
    }
    if negative {
        out.insert(0, '-');
    }
    out
}

/// `value / div` with the fraction's trailing zeros trimmed.
fn fraction(value: u64, div: u64) -> String {
    let whole = value / div;
    let rest = value % div;
    if rest == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let digits = format!("{rest:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_as_go() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(1_425_085_416_703_820_946), "2015-02-28T01:03:36.703820946Z");
        assert_eq!(format_rfc3339(946_684_810_000_000_000), "2000-01-01T00:00:10Z");
        assert_eq!(format_rfc3339(1_500_000_000), "1970-01-01T00:00:01.5Z");
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(168 * 3_600_000_000_000), "168h0m0s");
        assert_eq!(go_duration(90_000_000_000), "1m30s");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(5_000_000), "5ms");
    }

    #[test]
    fn parses_literals() {
        assert_eq!(parse_time("2000-01-01"), Some(946_684_800_000_000_000));
        assert_eq!(parse_time("2000-01-01T00:02:00Z"), Some(946_684_920_000_000_000));
        assert_eq!(parse_time("2000-01-01 00:00:00.5"), Some(946_684_800_500_000_000));
        assert_eq!(parse_time("2000-01-01T02:00:00+02:00"), Some(946_684_800_000_000_000));
        assert_eq!(parse_time("2000-13-01"), None);
        assert_eq!(parse_time("yesterday"), None);
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(ns in -9_000_000_000_000_000_000i64..9_000_000_000_000_000_000i64) {
            prop_assert_eq!(parse_time(&format_rfc3339(ns)), Some(ns));
        }
    }
}
