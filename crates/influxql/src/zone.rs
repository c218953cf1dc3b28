//! `tz('America/Los_Angeles')`: time zones for GROUP BY time windows and for the times an
//! answer prints. Zones come from the IANA database compiled into the binary (`chrono-tz`),
//! so a machine without tzdata answers the same.
//!
//! Windows in a zone follow InfluxDB 1.6's rule (`IteratorOptions.Window`): truncate the
//! local time to the interval, then move the start and the end by the zone's change of
//! offset when it is smaller than the interval — a day across a DST switch is 23 or 25
//! hours, an hour window is not stretched.

use chrono::{Offset, TimeZone};
use chrono_tz::Tz;

/// A zone by its IANA name.
pub fn parse(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>().map_err(|_| format!("unable to find time zone {name}"))
}

/// The zone's offset east of UTC at `ns`, in ns.
pub fn offset_ns(tz: &Tz, ns: i64) -> i64 {
    offset_s(tz, ns) * 1_000_000_000
}

/// The zone's offset east of UTC at `ns`, in seconds.
pub fn offset_s(tz: &Tz, ns: i64) -> i64 {
    let at = chrono::DateTime::from_timestamp(ns.div_euclid(1_000_000_000), 0).unwrap_or_default();
    i64::from(tz.offset_from_utc_datetime(&at.naive_utc()).fix().local_minus_utc())
}

/// The window `[start, end)` holding `t` for `interval` and `offset` (ns) in `tz`.
pub fn window(tz: &Tz, t: i64, interval: i64, offset: i64) -> (i64, i64) {
    // Saturating throughout: a time condition may name any i64.
    let t = t.saturating_sub(offset);
    let zone = offset_ns(tz, t);
    let dt = t.saturating_add(zone).rem_euclid(interval);
    let mut start = t.saturating_sub(dt);
    let o = zone - offset_ns(tz, start);
    if o != 0 && o.abs() < interval {
        start = start.saturating_add(o);
    }
    let mut end = t.saturating_add(interval - dt);
    let end_offset = offset_ns(tz, end);
    let o = zone - end_offset;
    if o != 0 && o.abs() < interval && (o > 0 || offset_ns(tz, end.saturating_add(o)) == end_offset) {
        end = end.saturating_add(o);
    }
    (start.saturating_add(offset), end.saturating_add(offset))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_time;

    fn at(text: &str) -> i64 {
        parse_time(text).unwrap()
    }

    #[test]
    fn days_across_dst_are_23_and_25_hours() {
        let la = parse("America/Los_Angeles").unwrap();
        let day = 86_400_000_000_000;
        let (s, e) = window(&la, at("2000-04-02T12:00:00-07:00"), day, 0);
        assert_eq!((s, e), (at("2000-04-02T00:00:00-08:00"), at("2000-04-03T00:00:00-07:00")));
        assert_eq!(e - s, 23 * 3_600_000_000_000);
        let (s, e) = window(&la, at("2000-10-29T12:00:00-08:00"), day, 0);
        assert_eq!((s, e), (at("2000-10-29T00:00:00-07:00"), at("2000-10-30T00:00:00-08:00")));
        assert_eq!(e - s, 25 * 3_600_000_000_000);
    }

    #[test]
    fn any_time_gives_a_window_that_holds_it() {
        let la = parse("America/Los_Angeles").unwrap();
        for t in [i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX - 1, i64::MAX] {
            let (s, e) = window(&la, t, 3_600_000_000_000, 0);
            assert!(s <= t && t <= e, "{t}: [{s}, {e})");
        }
    }

    #[test]
    fn unknown_zones_are_refused_by_name() {
        assert_eq!(parse("Mars/Olympus").unwrap_err(), "unable to find time zone Mars/Olympus");
        assert_eq!(offset_s(&parse("UTC").unwrap(), 0), 0);
    }
}
