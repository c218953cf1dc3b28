//! Durations as Prometheus writes them: `500ms`, `10s`, `1m30s`, `2h`, `1d`, `1w`, `1y`.

use anyhow::{bail, Context};

/// Units from largest to smallest, with their length in milliseconds.
const UNITS: [(&str, i64); 7] = [
    ("y", 365 * 86_400_000),
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// The unit `rest` starts with, as (rank, name, ms); `ms` is tried before `m`.
fn unit_at(rest: &str) -> Option<(usize, &'static str, i64)> {
    let by_length = UNITS
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, (u, _))| u.len() == 2)
        .chain(UNITS.iter().enumerate().filter(|(_, (u, _))| u.len() == 1));
    by_length.into_iter().find(|(_, (u, _))| rest.starts_with(u)).map(|(rank, &(u, ms))| (rank, u, ms))
}

/// Parses a duration into milliseconds; each unit at most once, largest first.
pub(crate) fn parse_duration_ms(text: &str) -> anyhow::Result<i64> {
    if text.is_empty() {
        bail!("empty duration (expected e.g. 10s, 1m30s, 500ms)");
    }
    let (mut rest, mut total, mut previous_rank) = (text, 0i64, None);
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            bail!("invalid duration {text:?}: expected a number at {rest:?}");
        }
        let n: i64 =
            rest[..digits].parse().with_context(|| format!("number too large in duration {text:?}"))?;
        rest = &rest[digits..];
        let Some((rank, unit, ms)) = unit_at(rest) else {
            bail!("invalid duration {text:?}: expected a unit (ms, s, m, h, d, w, y) after {n}");
        };
        if previous_rank.is_some_and(|p| rank <= p) {
            bail!("invalid duration {text:?}: units must go from largest to smallest, each once");
        }
        previous_rank = Some(rank);
        rest = &rest[unit.len()..];
        total = n
            .checked_mul(ms)
            .and_then(|x| total.checked_add(x))
            .with_context(|| format!("duration {text:?} overflows"))?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prometheus_durations() {
        assert_eq!(parse_duration_ms("10s").unwrap(), 10_000);
        assert_eq!(parse_duration_ms("500ms").unwrap(), 500);
        assert_eq!(parse_duration_ms("1m30s").unwrap(), 90_000);
        assert_eq!(parse_duration_ms("1m500ms").unwrap(), 60_500);
        assert_eq!(parse_duration_ms("1h5m").unwrap(), 3_900_000);
        assert_eq!(parse_duration_ms("1d").unwrap(), 86_400_000);
        for bad in ["", "10", "s", "10x", "1s1m", "1m1m", "1ms1s", "99999999999999999999s"] {
            assert!(parse_duration_ms(bad).is_err(), "{bad}");
        }
    }
}
