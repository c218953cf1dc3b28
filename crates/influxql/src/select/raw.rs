//! Raw queries: the rows of a group's series in time order, the select list evaluated per
//! row (fields, tags, arithmetic and math functions), and the transformations InfluxDB
//! allows directly over points (`derivative(value, 1s)`, `difference(value)`, …).

use std::collections::BTreeSet;

use crate::ast::{BinaryOp, Expr, Field};
use crate::condition::{self, Row};
use crate::functions::{self, Kind};
use crate::result::Value;

use super::{field_argument, field_refs, literal_f64, Group, RowView};

/// Whether the select list is a transformation over raw points (its first argument a field,
/// not an aggregate): such a query is raw although it calls a function.
pub(super) fn is_raw_transform_query(fields: &[Field]) -> bool {
    fields.iter().any(|f| {
        matches!(&f.expr, Expr::Call { name, args }
            if functions::kind(name) == Some(Kind::Transform)
                && matches!(args.first(), Some(Expr::Ref { .. })))
    })
}

/// The rows of a raw query: every row of the group's series in time order (series order
/// among equal times) where a field the select list reads has a value — even if the
/// expressions over it come out null (`f1 + f2` where only `f1` is there).
pub(super) fn rows(fields: &[Field], group: &Group<'_>) -> Result<Vec<Vec<Value>>, String> {
    if is_raw_transform_query(fields) {
        return transform(fields, group);
    }
    let selected = selected_fields(fields, group.needed);
    let mut merged: Vec<(i64, usize, usize)> = Vec::new();
    for (s, ts) in group.members.iter().enumerate() {
        merged.extend(ts.times.iter().enumerate().map(|(r, t)| (*t, s, r)));
    }
    merged.sort_unstable();
    let mut out = Vec::with_capacity(merged.len());
    for (t, s, r) in merged {
        let ts = &group.members[s];
        let values = ts.row(r);
        if !ts.null_rows_are_points && !selected.iter().any(|&i| values[i].is_some()) {
            continue;
        }
        let view = RowView { tags: &ts.tags, fields: group.needed, values, missing_tag_empty: false };
        let mut row = vec![Value::Time(t)];
        row.extend(fields.iter().map(|f| eval(&f.expr, &view)));
        out.push(row);
    }
    Ok(out)
}

/// The indices (into `needed`) of the fields the select list reads.
fn selected_fields(fields: &[Field], needed: &[String]) -> Vec<usize> {
    let mut refs = BTreeSet::new();
    for f in fields {
        field_refs(&f.expr, &|n| needed.iter().any(|f| f == n), &mut refs);
    }
    refs.iter().filter_map(|r| needed.iter().position(|n| n == r)).collect()
}

/// A raw expression with the math functions applied.
fn eval(expr: &Expr, row: &dyn Row) -> Value {
    match expr {
        Expr::Call { name, args } if functions::kind(name) == Some(Kind::Math) => {
            let Some(v) = args.first().and_then(|a| eval(a, row).as_f64()) else { return Value::Null };
            let arg = args.get(1).and_then(literal_f64);
            Value::Float(functions::math(name, v, arg))
        }
        Expr::Binary { op, lhs, rhs } if !matches!(op, BinaryOp::And | BinaryOp::Or) => {
            condition::binary(*op, &eval(lhs, row), &eval(rhs, row))
        }
        Expr::Paren(e) => eval(e, row),
        other => condition::eval(other, row),
    }
}

/// `derivative(value[, unit])` and kin over the group's points; the only field of its query.
fn transform(fields: &[Field], group: &Group<'_>) -> Result<Vec<Vec<Value>>, String> {
    let [Field { expr: Expr::Call { name, args }, .. }] = fields else {
        let name = fields.iter().find_map(|f| match &f.expr {
            Expr::Call { name, .. } if functions::kind(name) == Some(Kind::Transform) => Some(name.as_str()),
            _ => None,
        });
        return Err(format!(
            "{} cannot be mixed with other fields in a raw query",
            name.unwrap_or("a transformation")
        ));
    };
    let field = field_argument(name, args)?;
    let points: Vec<(i64, f64)> = group.points(field).into_iter().map(|(t, v, _)| (t, v)).collect();
    let arg = args.get(1).and_then(literal_f64);
    Ok(functions::transform(name, &points, arg, 1e9)
        .into_iter()
        .map(|(t, v)| vec![Value::Time(t), v])
        .collect())
}
