//! The windows of an aggregate query: `GROUP BY time(interval[, offset])` cuts the range
//! into windows aligned to the epoch (plus offset); without it the whole range is one window.
//!
//! A transformation over windows (`derivative(mean(v))`, `moving_average(max(v), 3)`) needs
//! windows before the range's start to give a value at the first window, so InfluxDB reads
//! the data of [`lookback`] extra intervals before the range too, and drops the rows of
//! the windows before the one holding the range's start ([`Windows::first_kept`]).

use crate::ast::{Dimension, Expr, Field, Select};
use crate::condition::TimeRange;
use crate::functions::{self, Kind};
use crate::zone;
use chrono_tz::Tz;

use super::MAX_WINDOWS;

/// The windows of an aggregate query.
pub(super) struct Windows {
    /// Start of each window (ns), lookback windows first.
    pub(super) starts: Vec<i64>,
    /// End of each window (ns, exclusive); under `tz()` a window across a DST switch is
    /// longer or shorter than the interval.
    ends: Vec<i64>,
    /// Window length; `None`: one window over the whole range.
    pub(super) interval: Option<i64>,
    /// The end of the last window (inclusive).
    pub(super) end: i64,
    /// Rows stamped before this time come from the lookback and are not reported.
    pub(super) first_kept: i64,
}

impl Windows {
    pub(super) fn new(
        stmt: &Select,
        fields: &[Field],
        range: TimeRange,
        data_min: Option<i64>,
        now: i64,
    ) -> Result<Windows, String> {
        let time_dim = stmt.dimensions.iter().find_map(|d| match d {
            Dimension::Time { interval, offset } => Some((*interval, *offset)),
            _ => None,
        });
        let Some((interval, offset)) = time_dim else {
            let start = if range.has_min() { range.min } else { 0 };
            let end = range.max.saturating_add(1);
            return Ok(Windows {
                starts: vec![start],
                ends: vec![end],
                interval: None,
                end: range.max,
                first_kept: start,
            });
        };
        if interval <= 0 {
            return Err("invalid GROUP BY time interval".into());
        }
        let offset = if offset == i64::MIN { now.rem_euclid(interval) } else { offset.rem_euclid(interval) };
        let min = if range.has_min() { range.min } else { data_min.unwrap_or(now) };
        let max = if range.has_max() { range.max } else { now };
        if let Some(tz) = zone_of(stmt)? {
            return zoned(&tz, interval, offset, min.saturating_sub(lookback(stmt, fields, range)), min, max);
        }
        // Saturating: a time condition may name any i64.
        let align = |t: i64| {
            t.saturating_sub(offset).div_euclid(interval).saturating_mul(interval).saturating_add(offset)
        };
        // The window holding the range's start is reported, partial or not; the lookback's
        // windows before it are read but not reported.
        let first_kept = align(min);
        let first = align(min.saturating_sub(lookback(stmt, fields, range)));
        let span = (i128::from(max) - i128::from(first)) / i128::from(interval) + 1;
        let count = if max < first { 0 } else { i64::try_from(span).unwrap_or(i64::MAX) };
        if count > MAX_WINDOWS {
            return Err(format!(
                "GROUP BY time({interval}ns) makes {count} windows, above the limit of {MAX_WINDOWS}"
            ));
        }
        let starts: Vec<i64> = (0..count).map(|i| first + i * interval).collect();
        let ends = starts.iter().map(|s| s.saturating_add(interval)).collect();
        Ok(Windows { starts, ends, interval: Some(interval), end: max, first_kept })
    }

    /// The part of `points` (sorted by time) in window `i`.
    pub(super) fn slice<'p, T>(&self, points: &'p [T], time: impl Fn(&T) -> i64, i: usize) -> &'p [T] {
        let lo = self.starts[i];
        let hi = self.ends[i].min(self.end.saturating_add(1));
        let a = points.partition_point(|p| time(p) < lo);
        let b = points.partition_point(|p| time(p) < hi);
        &points[a..b.max(a)]
    }

    /// The index of the window starting at `t`.
    pub(super) fn index_of(&self, t: i64) -> Option<usize> {
        self.interval?;
        self.starts.binary_search(&t).ok()
    }
}

/// The statement's `tz()`, if it names a zone other than UTC.
pub(super) fn zone_of(stmt: &Select) -> Result<Option<Tz>, String> {
    match stmt.timezone.as_deref() {
        None | Some("UTC") => Ok(None),
        Some(name) => zone::parse(name).map(Some),
    }
}

/// Windows in a zone from the one holding `read_min` to the one holding `max`, each from
/// the end of the one before.
fn zoned(tz: &Tz, interval: i64, offset: i64, read_min: i64, min: i64, max: i64) -> Result<Windows, String> {
    let (mut starts, mut ends) = (Vec::new(), Vec::new());
    let (mut start, mut end) = zone::window(tz, read_min, interval, offset);
    while start <= max {
        if starts.len() as i64 >= MAX_WINDOWS {
            return Err(format!("GROUP BY time({interval}ns) makes more than {MAX_WINDOWS} windows"));
        }
        starts.push(start);
        ends.push(end);
        if end <= start {
            break;
        }
        (start, end) = zone::window(tz, end, interval, offset);
    }
    let first_kept = zone::window(tz, min, interval, offset).0;
    Ok(Windows { starts, ends, interval: Some(interval), end: max, first_kept })
}

/// How far before the range's start (ns) the select list's transformations read: one
/// interval for the differences and derivatives, `n - 1` for `moving_average(…, n)`; 0
/// without `GROUP BY time` or a start.
pub(super) fn lookback(stmt: &Select, fields: &[Field], range: TimeRange) -> i64 {
    let interval = stmt.dimensions.iter().find_map(|d| match d {
        Dimension::Time { interval, .. } => Some(*interval),
        _ => None,
    });
    match interval {
        Some(interval) if range.has_min() && interval > 0 => {
            let windows = fields.iter().map(|f| expr_lookback(&f.expr)).max().unwrap_or(0);
            windows.saturating_mul(interval)
        }
        _ => 0,
    }
}

fn expr_lookback(expr: &Expr) -> i64 {
    match expr {
        Expr::Call { name, args } => {
            let own = match (functions::kind(name), name.as_str()) {
                (Some(Kind::Transform), "moving_average") => match args.get(1) {
                    Some(Expr::Integer(n)) => (*n - 1).max(0),
                    _ => 0,
                },
                (Some(Kind::Transform), "cumulative_sum") => 0,
                (Some(Kind::Transform), _) => 1,
                _ => 0,
            };
            own.max(args.iter().map(expr_lookback).max().unwrap_or(0))
        }
        Expr::Binary { lhs, rhs, .. } => expr_lookback(lhs).max(expr_lookback(rhs)),
        Expr::Paren(e) => expr_lookback(e),
        _ => 0,
    }
}
