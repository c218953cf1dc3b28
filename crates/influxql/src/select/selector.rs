//! Queries whose rows are chosen points: a lone multi-row function (`top`, `bottom`,
//! `sample`, `distinct`), or a lone selector (`max`, `first`, …) with plain fields and tags
//! beside it (`SELECT max(value), host FROM cpu`). Each row is a chosen point; the fields
//! and tags beside the call are read from that point's series at its time.

use crate::ast::{Expr, Field};
use crate::functions::{self, Kind};
use crate::result::Value;

use super::top::{self, TopCall};
use super::window::Windows;
use super::{field_argument, literal_f64, Group};

/// A point of a group: time, value, index of its member series.
type Point = (i64, f64, usize);

/// The rows, or `None` when the select list is not such a query.
pub(super) fn rows(
    fields: &[Field],
    group: &Group<'_>,
    windows: &Windows,
) -> Result<Option<Vec<Vec<Value>>>, String> {
    let mut calls = fields.iter().filter(|f| matches!(f.expr, Expr::Call { .. }));
    let Some(Field { expr: Expr::Call { name, args }, .. }) = calls.next() else { return Ok(None) };
    let kind = functions::kind(name);
    let companions: Vec<&str> = fields
        .iter()
        .filter_map(|f| match &f.expr {
            Expr::Ref { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    let only_refs_beside = calls.next().is_none() && companions.len() + 1 == fields.len();
    match kind {
        Some(Kind::Multi) if !only_refs_beside => {
            Err(format!("{name}() cannot be combined with other functions or fields"))
        }
        Some(Kind::Multi) if name == "distinct" && !companions.is_empty() => {
            Err("aggregate function distinct() cannot be combined with other functions or fields".into())
        }
        Some(Kind::Multi) => multi(name, args, &companions, group, windows).map(Some),
        Some(Kind::Selector) if only_refs_beside && !companions.is_empty() => {
            selector(name, args, &companions, group, windows).map(Some)
        }
        _ => Ok(None),
    }
}

fn multi(
    name: &str,
    args: &[Expr],
    companions: &[&str],
    group: &Group<'_>,
    windows: &Windows,
) -> Result<Vec<Vec<Value>>, String> {
    if name == "top" || name == "bottom" {
        let call = TopCall::parse(name, args)?;
        let chosen = top::chosen(&call, group, windows);
        return Ok(chosen
            .into_iter()
            .map(|p| row(p.0, Value::Float(p.1), p.2, &call.tags, companions, group))
            .collect());
    }
    let field = field_argument(name, args)?;
    let n = args.get(1).and_then(literal_f64).unwrap_or(0.0) as usize;
    if name != "distinct" && n == 0 {
        return Err(format!("{name}() requires a positive number of points"));
    }
    let points = group.points(field);
    let mut rows = Vec::new();
    for i in 0..windows.starts.len() {
        let window = windows.slice(&points, |p| p.0, i);
        let plain: Vec<(i64, f64)> = window.iter().map(|p| (p.0, p.1)).collect();
        for (t, v) in functions::multi(name, &plain, n, windows.starts[i]) {
            let member = member_of(window, t, v.as_f64());
            rows.push(match member {
                Some(m) => row(t, v, m, &[], companions, group),
                None => vec![Value::Time(t), v],
            });
        }
    }
    Ok(rows)
}

fn selector(
    name: &str,
    args: &[Expr],
    companions: &[&str],
    group: &Group<'_>,
    windows: &Windows,
) -> Result<Vec<Vec<Value>>, String> {
    let field = field_argument(name, args)?;
    let arg = args.get(1).and_then(literal_f64);
    let points = group.points(field);
    let mut rows = Vec::new();
    for i in 0..windows.starts.len() {
        let window = windows.slice(&points, |p| p.0, i);
        let plain: Vec<(i64, f64)> = window.iter().map(|p| (p.0, p.1)).collect();
        let Some((v, Some(t))) = functions::reduce(name, &plain, arg) else { continue };
        let Some(member) = member_of(window, t, v.as_f64()) else { continue };
        let time = if windows.interval.is_some() { windows.starts[i] } else { t };
        let mut r = row(t, v, member, &[], companions, group);
        r[0] = Value::Time(time);
        rows.push(r);
    }
    Ok(rows)
}

/// The member whose point is `(t, v)`.
fn member_of(window: &[Point], t: i64, v: Option<f64>) -> Option<usize> {
    window.iter().find(|p| p.0 == t && v.is_none_or(|v| p.1.to_bits() == v.to_bits())).map(|p| p.2)
}

/// A chosen point's row: time, value, then the tags and companions of its series.
fn row(t: i64, v: Value, member: usize, tags: &[&str], companions: &[&str], group: &Group<'_>) -> Vec<Value> {
    let mut out = vec![Value::Time(t), v];
    for tag in tags {
        out.push(group.tag(member, tag).map_or(Value::Null, |v| Value::Str(v.to_string())));
    }
    out.extend(companions.iter().map(|name| group.value(member, t, name)));
    out
}
