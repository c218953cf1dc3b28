//! Aggregate queries: the group's points cut into windows, each select expression computed
//! per window as a [`Column`], then `fill` over the empty windows.
//!
//! InfluxDB's rules kept here: an empty window's `count` is 0 under `fill(null)`; a
//! transformation over windows sees its input already filled and its own nulls are dropped,
//! not filled; a lone selector (also under arithmetic with literals) without `GROUP BY
//! time` reports its point's time, everything else the window's start; `top`/`bottom` and
//! the other multi-row functions give their own rows (see [`super::selector`]).

use std::collections::{BTreeMap, BTreeSet};

use crate::ast::{Expr, Field, Fill, Select};
use crate::condition::{self, TimeRange};
use crate::functions::{self, Kind};
use crate::result::Value;

use super::selector;
use super::window::Windows;
use super::{field_argument, literal_f64, unparen, Group};

/// Refuses a `top`/`bottom` asking for more points than the statement's LIMIT.
pub(super) fn check_limits(stmt: &Select) -> Result<(), String> {
    let Some(limit) = stmt.limit else { return Ok(()) };
    for f in &stmt.fields {
        if let Expr::Call { name, args } = &f.expr {
            if let (true, Some(Expr::Integer(n))) = (name == "top" || name == "bottom", args.last()) {
                if *n > limit as i64 {
                    return Err(format!(
                        "limit ({n}) in {name} function can not be larger than the LIMIT ({limit}) in the select statement"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// One computed column of an aggregate query, per window.
struct Column {
    values: Vec<Value>,
    /// The selected point's time (selectors).
    times: Vec<Option<i64>>,
    /// Whether the window had no input.
    empty: Vec<bool>,
    /// Whether the column has a point in the window: a transformation only where it emitted
    /// one, an aggregate where the window had input, a literal never. A transformed query
    /// drops the windows where no column has one.
    present: Vec<bool>,
    /// Whether this column is (or wraps) a transformation: its nulls are dropped, not filled.
    transformed: bool,
}

/// The rows of an aggregate query over one group.
pub(super) fn rows(
    stmt: &Select,
    fields: &[Field],
    group: &Group<'_>,
    range: TimeRange,
    data_min: Option<i64>,
    now: i64,
) -> Result<Vec<Vec<Value>>, String> {
    let windows = Windows::new(stmt, fields, range, data_min, now)?;
    if let Some(rows) = selector::rows(fields, group, &windows)? {
        return Ok(rows);
    }
    let points = FieldPoints::new(group, counted_only(fields));
    let mut columns = Vec::new();
    for f in fields {
        columns.push(column(&f.expr, &points, &windows, stmt.fill)?);
    }
    let all_empty: Vec<bool> =
        (0..windows.starts.len()).map(|i| columns.iter().all(|c| c.empty[i])).collect();
    if all_empty.iter().all(|e| *e) {
        return Ok(Vec::new());
    }
    let selector_time = windows.interval.is_none() && fields.len() == 1 && is_lone_selector(&fields[0].expr);
    let transformed = columns.iter().any(|c| c.transformed);
    let mut rows = Vec::new();
    for (i, &empty) in all_empty.iter().enumerate() {
        if empty && (stmt.fill == Fill::None || windows.interval.is_none()) {
            continue;
        }
        if transformed && !columns.iter().any(|c| c.present[i]) {
            continue;
        }
        let time =
            if selector_time { columns[0].times[i].unwrap_or(windows.starts[i]) } else { windows.starts[i] };
        let mut row = vec![Value::Time(time)];
        row.extend(columns.iter().map(|c| c.values[i].clone()));
        rows.push(row);
    }
    if !transformed {
        fill_rows(&mut rows, stmt.fill, &all_empty, &windows);
    }
    rows.retain(|r| !matches!(r[0], Value::Time(t) if t < windows.first_kept));
    Ok(rows)
}

/// A group's points per field, merged once however many columns read the field.
struct FieldPoints<'g> {
    group: &'g Group<'g>,
    merged: Vec<std::cell::OnceCell<Vec<(i64, f64)>>>,
    /// Fields read only by `count(f)`: their merge need not keep InfluxDB's order.
    counted_only: BTreeSet<String>,
}

impl<'g> FieldPoints<'g> {
    fn new(group: &'g Group<'g>, counted_only: BTreeSet<String>) -> FieldPoints<'g> {
        let merged = group.needed.iter().map(|_| std::cell::OnceCell::new()).collect();
        FieldPoints { group, merged, counted_only }
    }

    fn get(&self, field: &str) -> &[(i64, f64)] {
        let Some(i) = self.group.needed.iter().position(|f| f == field) else { return &[] };
        self.merged[i].get_or_init(|| {
            if self.counted_only.contains(field) {
                return self.group.points_by_time(field);
            }
            self.group.points(field).into_iter().map(|(t, v, _)| (t, v)).collect()
        })
    }
}

/// The fields the query reads only as `count(f)` (a count does not see the order of
/// points with equal times, nor their values).
fn counted_only(fields: &[Field]) -> BTreeSet<String> {
    fn visit(e: &Expr, counted: bool, uses: &mut BTreeMap<String, bool>) {
        match e {
            Expr::Ref { name, .. } => {
                let only = uses.entry(name.clone()).or_insert(true);
                *only &= counted;
            }
            Expr::Call { name, args } => {
                let is_count = name == "count" && args.len() == 1;
                args.iter().for_each(|a| visit(a, is_count, uses));
            }
            Expr::Binary { lhs, rhs, .. } => {
                visit(lhs, false, uses);
                visit(rhs, false, uses);
            }
            Expr::Paren(inner) => visit(inner, counted, uses),
            _ => {}
        }
    }
    let mut uses = BTreeMap::new();
    fields.iter().for_each(|f| visit(&f.expr, false, &mut uses));
    uses.into_iter().filter(|(_, only)| *only).map(|(name, _)| name).collect()
}

/// A selector call, alone or under math and arithmetic with literals (`max(rx) * 1`).
fn is_lone_selector(expr: &Expr) -> bool {
    match expr {
        Expr::Call { name, args } => match functions::kind(name) {
            Some(Kind::Selector) => true,
            Some(Kind::Math) => args.first().is_some_and(is_lone_selector),
            _ => false,
        },
        Expr::Binary { lhs, rhs, .. } => {
            (is_lone_selector(lhs) && is_literal(rhs)) || (is_literal(lhs) && is_lone_selector(rhs))
        }
        Expr::Paren(e) => is_lone_selector(e),
        _ => false,
    }
}

fn is_literal(e: &Expr) -> bool {
    literal_f64(unparen(e)).is_some()
}

/// A column per window for an aggregate expression.
fn column(expr: &Expr, points: &FieldPoints<'_>, windows: &Windows, fill: Fill) -> Result<Column, String> {
    let n = windows.starts.len();
    match expr {
        Expr::Call { name, args } => match functions::kind(name) {
            Some(Kind::Aggregate | Kind::Selector) => reduced(name, args, points, windows, fill),
            Some(Kind::Transform) => transformed(name, args, points, windows, fill),
            Some(Kind::Math) => {
                let first = args.first().ok_or_else(|| format!("invalid number of arguments for {name}"))?;
                let inner = column(first, points, windows, fill)?;
                let arg = args.get(1).and_then(literal_f64);
                let values = inner
                    .values
                    .iter()
                    .map(|v| v.as_f64().map_or(Value::Null, |x| Value::Float(functions::math(name, x, arg))))
                    .collect();
                Ok(Column { values, ..inner })
            }
            Some(Kind::Multi) => Err(format!("{name}() cannot be combined with other functions or fields")),
            None => Err(format!("undefined function {name}()")),
        },
        Expr::Binary { op, lhs, rhs } => {
            let l = column(lhs, points, windows, fill)?;
            let r = column(rhs, points, windows, fill)?;
            let values = (0..n).map(|i| condition::binary(*op, &l.values[i], &r.values[i])).collect();
            let empty = (0..n).map(|i| l.empty[i] && r.empty[i]).collect();
            let times = if l.times.iter().any(Option::is_some) { l.times } else { r.times };
            let present = (0..n).map(|i| l.present[i] || r.present[i]).collect();
            Ok(Column { values, times, empty, present, transformed: l.transformed || r.transformed })
        }
        Expr::Paren(e) => column(e, points, windows, fill),
        Expr::Integer(_) | Expr::Number(_) => {
            let v = Value::Float(literal_f64(expr).unwrap_or(0.0));
            Ok(Column {
                values: vec![v; n],
                times: vec![None; n],
                empty: vec![true; n],
                present: vec![false; n],
                transformed: false,
            })
        }
        Expr::Ref { .. } => Err("mixing aggregate and non-aggregate queries is not supported".into()),
        _ => Err("unsupported expression in an aggregate query".into()),
    }
}

/// An aggregate or selector per window (`count(distinct(f))` counts distinct values).
fn reduced(
    name: &str,
    args: &[Expr],
    points: &FieldPoints<'_>,
    windows: &Windows,
    fill: Fill,
) -> Result<Column, String> {
    let (field, distinct) = match args.first().map(unparen) {
        Some(Expr::Call { name: inner, args: inner_args }) if inner == "distinct" && name == "count" => {
            (field_argument(inner, inner_args)?, true)
        }
        _ => (field_argument(name, args)?, false),
    };
    let arg = args.get(1).and_then(literal_f64);
    if name == "percentile" && arg.is_none() {
        return Err("invalid number of arguments for percentile, expected 2, got 1".into());
    }
    let pts = points.get(field);
    let n = windows.starts.len();
    let mut c = Column {
        values: Vec::with_capacity(n),
        times: Vec::with_capacity(n),
        empty: Vec::with_capacity(n),
        present: Vec::new(),
        transformed: false,
    };
    for i in 0..n {
        let slice = windows.slice(pts, |p| p.0, i);
        c.empty.push(slice.is_empty());
        let reduced = if distinct {
            (!slice.is_empty())
                .then(|| (Value::Integer(functions::multi("distinct", slice, 0, 0).len() as i64), None))
        } else {
            functions::reduce(name, slice, arg)
        };
        let (v, t) = match reduced {
            Some(r) => r,
            // InfluxDB counts an empty window as 0 unless another fill is asked for.
            None if name == "count" && fill == Fill::Null && windows.interval.is_some() => {
                (Value::Integer(0), None)
            }
            None => (Value::Null, None),
        };
        c.values.push(v);
        c.times.push(t);
    }
    c.present = c.empty.iter().map(|e| !e).collect();
    Ok(c)
}

/// A transformation over the windows of an inner aggregate, which is filled first.
fn transformed(
    name: &str,
    args: &[Expr],
    points: &FieldPoints<'_>,
    windows: &Windows,
    fill: Fill,
) -> Result<Column, String> {
    let Some(inner @ Expr::Call { .. }) = args.first() else {
        return Err(format!("aggregate function required inside the call to {name}"));
    };
    let Some(interval) = windows.interval else {
        return Err(format!("{name} aggregate requires a GROUP BY interval"));
    };
    let n = windows.starts.len();
    let mut inner = column(inner, points, windows, fill)?;
    fill_column(&mut inner, fill);
    let seq: Vec<(i64, f64)> =
        (0..n).filter_map(|i| inner.values[i].as_f64().map(|v| (windows.starts[i], v))).collect();
    let default_unit = if name == "elapsed" { 1.0 } else { interval as f64 };
    let out = functions::transform(name, &seq, args.get(1).and_then(literal_f64), default_unit);
    let mut values = vec![Value::Null; n];
    let mut present = vec![false; n];
    for (t, v) in out {
        if let Some(i) = windows.index_of(t) {
            values[i] = v;
            present[i] = true;
        }
    }
    Ok(Column { values, times: vec![None; n], empty: inner.empty, present, transformed: true })
}

/// `fill` applied to one column before a transformation reads it.
fn fill_column(c: &mut Column, fill: Fill) {
    match fill {
        Fill::Number(x) => {
            for (v, empty) in c.values.iter_mut().zip(&c.empty) {
                if *empty && v.is_null() {
                    *v = Value::Float(x);
                }
            }
        }
        Fill::Previous => {
            let mut last = Value::Null;
            for v in c.values.iter_mut() {
                if v.is_null() {
                    *v = last.clone();
                } else {
                    last = v.clone();
                }
            }
        }
        _ => {}
    }
}

/// `fill(previous | linear | number)` over the empty windows' rows.
fn fill_rows(rows: &mut [Vec<Value>], fill: Fill, all_empty: &[bool], windows: &Windows) {
    if rows.is_empty() {
        return;
    }
    let empty_at = |t: i64| windows.index_of(t).is_some_and(|i| all_empty[i]);
    match fill {
        Fill::Number(x) => {
            for row in rows.iter_mut() {
                let Value::Time(t) = row[0] else { continue };
                if empty_at(t) {
                    for v in row.iter_mut().skip(1) {
                        if v.is_null() {
                            *v = Value::Float(x);
                        }
                    }
                }
            }
        }
        Fill::Previous => {
            for c in 1..rows[0].len() {
                let mut last = Value::Null;
                for row in rows.iter_mut() {
                    if row[c].is_null() {
                        row[c] = last.clone();
                    } else {
                        last = row[c].clone();
                    }
                }
            }
        }
        Fill::Linear => {
            for c in 1..rows[0].len() {
                let known: Vec<(usize, i64, f64)> = rows
                    .iter()
                    .enumerate()
                    .filter_map(|(i, r)| match (&r[0], r[c].as_f64()) {
                        (Value::Time(t), Some(v)) => Some((i, *t, v)),
                        _ => None,
                    })
                    .collect();
                for w in known.windows(2) {
                    let ((i0, t0, v0), (i1, t1, v1)) = (w[0], w[1]);
                    for row in rows.iter_mut().take(i1).skip(i0 + 1) {
                        if let Value::Time(t) = row[0] {
                            row[c] = Value::Float(v0 + (v1 - v0) * (t - t0) as f64 / (t1 - t0) as f64);
                        }
                    }
                }
            }
        }
        Fill::Null | Fill::None => {}
    }
}

#[cfg(test)]
mod counted_only_tests {
    use super::*;

    fn fields(q: &str) -> Vec<Field> {
        match crate::parser::parse_query(q, &Default::default()).unwrap().remove(0) {
            crate::ast::Statement::Select(s) => s.fields,
            _ => unreachable!(),
        }
    }

    #[test]
    fn only_fields_read_by_count_alone_are_counted_only() {
        let only = |q: &str| counted_only(&fields(q)).into_iter().collect::<Vec<_>>();
        assert_eq!(only("SELECT count(a), count(b) FROM m"), ["a", "b"]);
        assert_eq!(only("SELECT count(a), mean(a), count(b) FROM m"), ["b"]);
        assert!(only("SELECT count(distinct(a)) FROM m").is_empty());
        assert!(only("SELECT count(a) + a FROM m").is_empty());
        assert_eq!(only("SELECT (count(a)) * 2 FROM m"), ["a"]);
    }
}
