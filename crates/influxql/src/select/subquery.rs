//! Subqueries: `SELECT max(mean) FROM (SELECT mean(value) FROM cpu GROUP BY time(1m), host)`.
//!
//! The inner SELECT runs first, as a query of its own; its result series become the outer
//! query's tag sets — a series' tags are tags, its columns (other than `time`) are fields,
//! and its name is the measurement. The outer query then runs over them as over stored data.
//! As in InfluxDB, an inner query without a time condition takes the outer one's range, and
//! every inner row is a point, even where its values are null.

use std::collections::{BTreeMap, BTreeSet};

use crate::ast::{BinaryOp, Expr, RefType, Select, Source};
use crate::condition::{self, TimeRange};
use crate::namespace::Store;
use crate::result::Series;

use super::tagset::TagSet;
use super::{series_of, Plan, Request};

/// Runs a SELECT whose sources are subqueries.
pub(super) fn select(
    store: &Store<'_>,
    stmt: &Select,
    range: TimeRange,
    rest: Option<Expr>,
    request: Request<'_>,
) -> Result<Vec<Series>, String> {
    let mut inner_series = Vec::new();
    for source in &stmt.sources {
        let Source::Subquery(inner) = source else {
            return Err("measurements and subqueries cannot be mixed in one FROM clause".into());
        };
        inner_series.extend(super::select(store, &with_range(inner, range), request)?);
    }
    let field_names: BTreeSet<String> =
        inner_series.iter().flat_map(|s| s.columns.iter().skip(1).cloned()).collect();
    let tag_keys: BTreeSet<String> = inner_series.iter().flat_map(|s| s.tags.keys().cloned()).collect();
    let plan = Plan::from_names(stmt, field_names, &tag_keys, rest.as_ref())?;
    let needed = plan.needed();
    let mut by_name: BTreeMap<String, Vec<TagSet>> = BTreeMap::new();
    for s in inner_series {
        let name = s.name.clone();
        by_name.entry(name).or_default().push(TagSet::from_series(s, &needed, range, rest.as_ref()));
    }
    let mut out = Vec::new();
    for (name, sets) in by_name {
        out.extend(series_of(stmt, &plan, &name, sets, &needed, range, request.now)?);
    }
    Ok(out)
}

/// The inner query, with the outer range as its time condition when it has none.
fn with_range(inner: &Select, range: TimeRange) -> Select {
    let mut inner = inner.clone();
    if range == TimeRange::ALL || inner.condition.as_ref().is_some_and(condition::mentions_time) {
        return inner;
    }
    let time = || Box::new(Expr::Ref { name: "time".into(), kind: RefType::Any });
    let mut terms = Vec::new();
    if range.has_min() {
        terms.push(Expr::Binary { op: BinaryOp::Gte, lhs: time(), rhs: Box::new(Expr::Time(range.min)) });
    }
    if range.has_max() {
        terms.push(Expr::Binary { op: BinaryOp::Lte, lhs: time(), rhs: Box::new(Expr::Time(range.max)) });
    }
    if let Some(c) = inner.condition.take() {
        terms.push(Expr::Paren(Box::new(c)));
    }
    inner.condition = terms.into_iter().reduce(|l, r| Expr::Binary {
        op: BinaryOp::And,
        lhs: Box::new(l),
        rhs: Box::new(r),
    });
    inner
}
