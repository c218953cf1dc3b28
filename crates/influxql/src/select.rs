//! SELECT, as InfluxDB 1.6 answers it.
//!
//! 1. The sources become (namespace, measurement) pairs; regex sources are matched against
//!    the namespace's measurements.
//! 2. The WHERE clause gives the time range; its simple tag terms choose the series; the rest
//!    filters rows (a row = one series' fields at one time).
//! 3. Series are grouped by the GROUP BY tags; each group is one result series.
//! 4. A raw query lists the rows of its group in time order. An aggregate query cuts the
//!    group's points into windows (`GROUP BY time`, or the whole range), reduces each, then
//!    applies transformations, arithmetic and `fill`.
//! 5. ORDER BY, LIMIT/OFFSET per series, SLIMIT/SOFFSET over series.

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;

use crate::ast::{Dimension, Expr, Field, Fill, RefType, Select, Source};
use crate::condition::{self, Row, TimeRange};
use crate::functions::{self, Kind};
use crate::namespace::{self, Namespace, Store};
use crate::result::{Series, Value};
use crate::time::NS_PER_MS;

/// At most this many windows per query (a hostile `GROUP BY time(1ns)` is refused).
pub const MAX_WINDOWS: i64 = 1_000_000;

/// What a SELECT runs with.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub database: Option<&'a str>,
    pub policy: Option<&'a str>,
    pub now: i64,
}

/// Runs a SELECT.
pub fn select(store: &Store<'_>, stmt: &Select, request: Request<'_>) -> Result<Vec<Series>, String> {
    if stmt.sources.iter().any(|s| matches!(s, Source::Subquery(_))) {
        return Err("subqueries are not supported yet".into());
    }
    if stmt.into.is_some() {
        return Err("SELECT INTO is not supported yet".into());
    }
    if let Some(tz) = &stmt.timezone {
        if tz != "UTC" {
            return Err(format!("unable to find time zone {tz}"));
        }
    }
    let (range, rest) = condition::split_time(stmt.condition.as_ref(), request.now)?;
    let mut out = Vec::new();
    for (ns, measurement) in measurements(store, &stmt.sources, request)? {
        out.extend(select_measurement(store, stmt, &ns, &measurement, range, rest.as_ref(), request.now)?);
    }
    let out: Vec<Series> =
        out.into_iter().skip(stmt.soffset).take(stmt.slimit.unwrap_or(usize::MAX)).collect();
    Ok(out)
}

/// The (namespace, measurement) pairs of the sources, sorted by measurement.
fn measurements(
    store: &Store<'_>,
    sources: &[Source],
    request: Request<'_>,
) -> Result<Vec<(Namespace, String)>, String> {
    let mut out: BTreeMap<(String, String, String), Namespace> = BTreeMap::new();
    for source in sources {
        let (database, policy) = match source {
            Source::Measurement { database, policy, .. } | Source::Regex { database, policy, .. } => {
                (database, policy)
            }
            Source::Subquery(_) => continue,
        };
        let ns = store
            .namespace(database.as_deref().or(request.database), policy.as_deref().or(request.policy))?;
        let names = match source {
            Source::Measurement { name, .. } => vec![name.clone()],
            Source::Regex { pattern, .. } => {
                let re = Regex::new(pattern).map_err(|e| e.to_string())?;
                store.measurements(&ns, &[])?.into_iter().filter(|m| re.is_match(m)).collect()
            }
            Source::Subquery(_) => Vec::new(),
        };
        for name in names {
            out.insert((name, ns.database.clone(), ns.policy.clone()), ns.clone());
        }
    }
    Ok(out.into_iter().map(|((name, _, _), ns)| (ns, name)).collect())
}

/// A series' tags, sorted by name.
type Tags = Vec<(String, String)>;

/// One series' fields at its times.
struct TagSet {
    tags: Vec<(String, String)>,
    /// `(time ns, value of each needed field)`, in time order.
    rows: Vec<(i64, Vec<Option<f64>>)>,
}

/// A row as conditions and select expressions see it.
struct RowView<'a> {
    tags: &'a [(String, String)],
    fields: &'a [String],
    values: &'a [Option<f64>],
    /// Conditions read a missing tag as `''`; select lists as null.
    missing_tag_empty: bool,
}

impl Row for RowView<'_> {
    fn lookup(&self, name: &str, kind: RefType) -> Value {
        if kind != RefType::Tag {
            if let Some(i) = self.fields.iter().position(|f| f == name) {
                return self.values[i].map_or(Value::Null, Value::Float);
            }
            if kind == RefType::Field {
                return Value::Null;
            }
        }
        match self.tags.iter().find(|(k, _)| k == name) {
            Some((_, v)) => Value::Str(v.clone()),
            None if self.missing_tag_empty => Value::Str(String::new()),
            None => Value::Null,
        }
    }
}

fn select_measurement(
    store: &Store<'_>,
    stmt: &Select,
    ns: &Namespace,
    measurement: &str,
    range: TimeRange,
    rest: Option<&Expr>,
    now: i64,
) -> Result<Vec<Series>, String> {
    let all_fields = store.fields(ns, measurement)?;
    if all_fields.is_empty() {
        return Ok(Vec::new());
    }
    let field_names: Vec<String> = all_fields.iter().map(|(f, _)| f.clone()).collect();
    let is_field = |n: &str| field_names.iter().any(|f| f == n);
    let tag_matchers = condition::tag_matchers(rest, &is_field);
    // Read every field once to learn the tag keys for `*` (cheap next to the data itself).
    let fields = expand_fields(store, ns, stmt, &all_fields, &tag_matchers)?;
    let mut needed: BTreeSet<String> = BTreeSet::new();
    for f in &fields {
        field_refs(&f.expr, &is_field, &mut needed);
    }
    if let Some(r) = rest {
        field_refs(r, &is_field, &mut needed);
    }
    if needed.is_empty() {
        return Ok(Vec::new());
    }
    let needed: Vec<String> = needed.into_iter().collect();
    let metrics: Vec<(String, String)> =
        all_fields.iter().filter(|(f, _)| needed.contains(f)).cloned().collect();
    let (min_ms, max_ms) = range.to_ms();
    let series = store.select(ns, &metrics, &tag_matchers, min_ms, max_ms)?;
    let tagsets = tagsets(store, series, &needed, range, rest)?;
    let groups = group(tagsets, &stmt.dimensions);
    let aggregate = fields.iter().any(|f| has_reducer(&f.expr));
    let columns = column_names(&fields);
    let mut out = Vec::new();
    let data_min = groups.values().flat_map(|g| g.iter().filter_map(|ts| ts.rows.first().map(|r| r.0))).min();
    for (key, members) in &groups {
        let rows = if aggregate {
            aggregate_rows(stmt, &fields, &needed, members, range, data_min, now)?
        } else {
            raw_rows(&fields, &needed, members)?
        };
        if rows.is_empty() {
            continue;
        }
        let mut rows = rows;
        if stmt.descending {
            rows.reverse();
        }
        let rows: Vec<Vec<Value>> =
            rows.into_iter().skip(stmt.offset).take(stmt.limit.unwrap_or(usize::MAX)).collect();
        if rows.is_empty() {
            continue;
        }
        let tags = if has_tag_dimensions(&stmt.dimensions) {
            key.iter().cloned().collect()
        } else {
            BTreeMap::new()
        };
        out.push(Series { name: measurement.to_string(), tags, columns: columns.clone(), values: rows });
    }
    Ok(out)
}

fn has_tag_dimensions(dims: &[Dimension]) -> bool {
    dims.iter().any(|d| !matches!(d, Dimension::Time { .. }))
}

/// The select list with `*` and `/re/` expanded: in a raw query to every field and tag
/// (sorted together), inside a call to one call per field (`mean(*)` → `mean_f`).
fn expand_fields(
    store: &Store<'_>,
    ns: &Namespace,
    stmt: &Select,
    all_fields: &[(String, String)],
    tag_matchers: &[strata_model::Matcher],
) -> Result<Vec<Field>, String> {
    let wants_tags = stmt.fields.iter().any(|f| matches!(f.expr, Expr::Wildcard | Expr::Regex(_)));
    let tag_keys: BTreeSet<String> = if wants_tags {
        let grouped: BTreeSet<String> = stmt
            .dimensions
            .iter()
            .filter_map(|d| if let Dimension::Tag(t) = d { Some(t.clone()) } else { None })
            .collect();
        let mut matchers = ns.matchers.clone();
        matchers.push(namespace::metric_matcher(all_fields)?);
        matchers.extend_from_slice(tag_matchers);
        let mut keys = BTreeSet::new();
        for name in store.engine.label_names(&matchers, i64::MIN, i64::MAX).map_err(|e| e.to_string())? {
            if !namespace::is_reserved(&name) {
                keys.insert(name);
            }
        }
        let all_wildcard_dim = stmt.dimensions.iter().any(|d| matches!(d, Dimension::Wildcard));
        keys.into_iter().filter(|k| !grouped.contains(k) && !all_wildcard_dim).collect()
    } else {
        BTreeSet::new()
    };
    let mut out = Vec::new();
    for f in &stmt.fields {
        match &f.expr {
            Expr::Wildcard | Expr::Regex(_) => {
                let re = match &f.expr {
                    Expr::Regex(p) => Some(Regex::new(p).map_err(|e| e.to_string())?),
                    _ => None,
                };
                let mut names: Vec<(String, RefType)> =
                    all_fields.iter().map(|(n, _)| (n.clone(), RefType::Field)).collect();
                names.extend(tag_keys.iter().map(|t| (t.clone(), RefType::Tag)));
                names.sort();
                for (name, kind) in names {
                    if re.as_ref().is_none_or(|r| r.is_match(&name)) {
                        out.push(Field { expr: Expr::Ref { name, kind }, alias: None });
                    }
                }
            }
            Expr::Call { name, args } if matches!(args.first(), Some(Expr::Wildcard | Expr::Regex(_))) => {
                let re = match &args[0] {
                    Expr::Regex(p) => Some(Regex::new(p).map_err(|e| e.to_string())?),
                    _ => None,
                };
                for (field, _) in all_fields {
                    if re.as_ref().is_none_or(|r| r.is_match(field)) {
                        let mut call_args = args.clone();
                        call_args[0] = Expr::Ref { name: field.clone(), kind: RefType::Field };
                        out.push(Field {
                            expr: Expr::Call { name: name.clone(), args: call_args },
                            alias: Some(format!("{name}_{field}")),
                        });
                    }
                }
            }
            _ => out.push(f.clone()),
        }
    }
    Ok(out)
}

/// The fields an expression reads.
fn field_refs(expr: &Expr, is_field: &dyn Fn(&str) -> bool, out: &mut BTreeSet<String>) {
    match expr {
        Expr::Ref { name, kind } if *kind != RefType::Tag && is_field(name) => {
            out.insert(name.clone());
        }
        Expr::Call { args, .. } => args.iter().for_each(|a| field_refs(a, is_field, out)),
        Expr::Binary { lhs, rhs, .. } => {
            field_refs(lhs, is_field, out);
            field_refs(rhs, is_field, out);
        }
        Expr::Paren(e) => field_refs(e, is_field, out),
        _ => {}
    }
}

/// Whether an expression calls an aggregate, selector, multi-row function or transformation.
fn has_reducer(expr: &Expr) -> bool {
    match expr {
        Expr::Call { name, args } => {
            matches!(
                functions::kind(name),
                Some(Kind::Aggregate | Kind::Selector | Kind::Multi | Kind::Transform)
            ) || args.iter().any(has_reducer)
        }
        Expr::Binary { lhs, rhs, .. } => has_reducer(lhs) || has_reducer(rhs),
        Expr::Paren(e) => has_reducer(e),
        _ => false,
    }
}

/// Column names: `time`, then each field's alias or InfluxDB's derived name, with `_1`,
/// `_2` added to repeats.
fn column_names(fields: &[Field]) -> Vec<String> {
    let mut out = vec!["time".to_string()];
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for f in fields {
        let base = f.alias.clone().unwrap_or_else(|| expr_name(&f.expr));
        let n = seen.entry(base.clone()).or_insert(0);
        out.push(if *n == 0 { base.clone() } else { format!("{base}_{n}") });
        *n += 1;
    }
    out
}

/// InfluxDB's name for an unaliased expression: a call's name, a reference's, the names in
/// a binary expression joined by `_`.
fn expr_name(expr: &Expr) -> String {
    match expr {
        Expr::Call { name, .. } => name.clone(),
        Expr::Ref { name, .. } => name.clone(),
        Expr::Paren(e) => expr_name(e),
        Expr::Binary { lhs, rhs, .. } => {
            let parts: Vec<String> =
                [expr_name(lhs), expr_name(rhs)].into_iter().filter(|s| !s.is_empty()).collect();
            parts.join("_")
        }
        _ => String::new(),
    }
}

/// Series → tag sets with rows merged across fields; rows outside the range or failing the
/// condition are dropped.
fn tagsets(
    _store: &Store<'_>,
    series: Vec<strata_storage::Series>,
    needed: &[String],
    range: TimeRange,
    rest: Option<&Expr>,
) -> Result<Vec<TagSet>, String> {
    // metric → field index: the series' metric names its field.
    let mut by_tags: BTreeMap<Tags, BTreeMap<i64, Vec<Option<f64>>>> = BTreeMap::new();
    for s in series {
        let Some(metric) = s.labels().metric_name() else { continue };
        let field = field_of_metric(_store, metric);
        let Some(index) = needed.iter().position(|f| *f == field) else { continue };
        let tags = namespace::tags_of(s.labels());
        let rows = by_tags.entry(tags).or_default();
        for (t_ms, v) in s.collect_samples().map_err(|e| e.to_string())? {
            let t = t_ms.saturating_mul(NS_PER_MS);
            if !range.contains(t) || strata_model::is_stale_marker(v) {
                continue;
            }
            rows.entry(t).or_insert_with(|| vec![None; needed.len()])[index] = Some(v);
        }
    }
    let mut out = Vec::new();
    for (tags, rows) in by_tags {
        let mut kept = Vec::with_capacity(rows.len());
        for (t, values) in rows {
            if let Some(cond) = rest {
                let view = RowView { tags: &tags, fields: needed, values: &values, missing_tag_empty: true };
                if condition::eval(cond, &view) != Value::Bool(true) {
                    continue;
                }
            }
            kept.push((t, values));
        }
        out.push(TagSet { tags, rows: kept });
    }
    Ok(out)
}

fn field_of_metric(store: &Store<'_>, metric: &str) -> String {
    store.catalog.pair(metric).map_or_else(|| "value".to_string(), |p| p.field)
}

/// Tag sets grouped by the GROUP BY tags' values (missing tags are `""`).
fn group(tagsets: Vec<TagSet>, dims: &[Dimension]) -> BTreeMap<Vec<(String, String)>, Vec<TagSet>> {
    let mut groups: BTreeMap<Vec<(String, String)>, Vec<TagSet>> = BTreeMap::new();
    let mut names: BTreeSet<String> =
        dims.iter().filter_map(|d| if let Dimension::Tag(t) = d { Some(t.clone()) } else { None }).collect();
    let regexes: Vec<Regex> = dims
        .iter()
        .filter_map(|d| if let Dimension::Regex(r) = d { Regex::new(r).ok() } else { None })
        .collect();
    let all = dims.iter().any(|d| matches!(d, Dimension::Wildcard));
    if all || !regexes.is_empty() {
        for ts in &tagsets {
            for (k, _) in &ts.tags {
                if all || regexes.iter().any(|r| r.is_match(k)) {
                    names.insert(k.clone());
                }
            }
        }
    }
    for ts in tagsets {
        let key: Vec<(String, String)> = names
            .iter()
            .map(|n| {
                (n.clone(), ts.tags.iter().find(|(k, _)| k == n).map_or(String::new(), |(_, v)| v.clone()))
            })
            .collect();
        groups.entry(key).or_default().push(ts);
    }
    groups
}

/// The rows of a raw query: every row of the group's series in time order (series order
/// among equal times), without rows whose selected fields are all null.
fn raw_rows(fields: &[Field], needed: &[String], members: &[TagSet]) -> Result<Vec<Vec<Value>>, String> {
    if let Some((name, arg)) = raw_transform(fields)? {
        return Ok(transform_raw(&name, arg, &fields[0].expr, needed, members));
    }
    let mut merged: Vec<(i64, usize, usize)> = Vec::new();
    for (s, ts) in members.iter().enumerate() {
        merged.extend((0..ts.rows.len()).map(|r| (ts.rows[r].0, s, r)));
    }
    merged.sort();
    let mut out = Vec::with_capacity(merged.len());
    for (t, s, r) in merged {
        let ts = &members[s];
        let view =
            RowView { tags: &ts.tags, fields: needed, values: &ts.rows[r].1, missing_tag_empty: false };
        let mut row = vec![Value::Time(t)];
        let mut any_field = false;
        for f in fields {
            let v = eval_raw(&f.expr, &view);
            any_field |= !v.is_null() && reads_field(&f.expr, needed);
            row.push(v);
        }
        if any_field {
            out.push(row);
        }
    }
    Ok(out)
}

fn reads_field(expr: &Expr, needed: &[String]) -> bool {
    let mut refs = BTreeSet::new();
    field_refs(expr, &|n| needed.iter().any(|f| f == n), &mut refs);
    !refs.is_empty()
}

/// A raw expression with the math functions applied.
fn eval_raw(expr: &Expr, row: &dyn Row) -> Value {
    match expr {
        Expr::Call { name, args } if functions::kind(name) == Some(Kind::Math) => {
            let Some(v) = args.first().and_then(|a| eval_raw(a, row).as_f64()) else { return Value::Null };
            let arg = args.get(1).and_then(literal_f64);
            Value::Float(functions::math(name, v, arg))
        }
        Expr::Binary { op, lhs, rhs }
            if !matches!(op, crate::ast::BinaryOp::And | crate::ast::BinaryOp::Or) =>
        {
            condition::binary(*op, &eval_raw(lhs, row), &eval_raw(rhs, row))
        }
        Expr::Paren(e) => eval_raw(e, row),
        other => condition::eval(other, row),
    }
}

fn literal_f64(e: &Expr) -> Option<f64> {
    match e {
        Expr::Integer(i) => Some(*i as f64),
        Expr::Number(n) => Some(*n),
        Expr::Duration(d) => Some(*d as f64),
        _ => None,
    }
}

/// `derivative(value[, unit])` and kin directly over points (no aggregate inside).
fn raw_transform(fields: &[Field]) -> Result<Option<(String, Option<f64>)>, String> {
    let Some(Field { expr: Expr::Call { name, args }, .. }) = fields.first() else { return Ok(None) };
    if functions::kind(name) != Some(Kind::Transform) {
        return Ok(None);
    }
    if fields.len() > 1 {
        return Err(format!("{name} cannot be mixed with other fields in a raw query"));
    }
    Ok(Some((name.clone(), args.get(1).and_then(literal_f64))))
}

fn transform_raw(
    name: &str,
    arg: Option<f64>,
    expr: &Expr,
    needed: &[String],
    members: &[TagSet],
) -> Vec<Vec<Value>> {
    let Expr::Call { args, .. } = expr else { return Vec::new() };
    let Some(Expr::Ref { name: field, .. }) = args.first() else { return Vec::new() };
    let Some(index) = needed.iter().position(|f| f == field) else { return Vec::new() };
    let mut points: Vec<(i64, f64)> = members
        .iter()
        .flat_map(|ts| ts.rows.iter().filter_map(move |(t, v)| v[index].map(|v| (*t, v))))
        .collect();
    points.sort_by_key(|p| p.0);
    functions::transform(name, &points, arg, 1e9).into_iter().map(|(t, v)| vec![Value::Time(t), v]).collect()
}

/// The windows of an aggregate query.
struct Windows {
    /// Start of each window (ns).
    starts: Vec<i64>,
    /// Window length; `None`: one window over the whole range.
    interval: Option<i64>,
    /// The end of the last window (inclusive).
    end: i64,
}

impl Windows {
    fn new(stmt: &Select, range: TimeRange, data_min: Option<i64>, now: i64) -> Result<Windows, String> {
        let time_dim = stmt.dimensions.iter().find_map(|d| match d {
            Dimension::Time { interval, offset } => Some((*interval, *offset)),
            _ => None,
        });
        let Some((interval, offset)) = time_dim else {
            let start = if range.has_min() { range.min } else { 0 };
            return Ok(Windows { starts: vec![start], interval: None, end: range.max });
        };
        if interval <= 0 {
            return Err("invalid GROUP BY time interval".into());
        }
        let offset = if offset == i64::MIN { now.rem_euclid(interval) } else { offset.rem_euclid(interval) };
        let min = if range.has_min() { range.min } else { data_min.unwrap_or(now) };
        let max = if range.has_max() { range.max } else { now };
        let first = (min - offset).div_euclid(interval) * interval + offset;
        let count = if max < first { 0 } else { (max - first) / interval + 1 };
        if count > MAX_WINDOWS {
            return Err(format!(
                "GROUP BY time({interval}ns) makes {count} windows, above the limit of {MAX_WINDOWS}"
            ));
        }
        Ok(Windows {
            starts: (0..count).map(|i| first + i * interval).collect(),
            interval: Some(interval),
            end: max,
        })
    }

    /// The index range of `points` (sorted by time) in window `i`.
    fn slice<'p>(&self, points: &'p [(i64, f64)], i: usize) -> &'p [(i64, f64)] {
        let lo = self.starts[i];
        let hi = match self.interval {
            Some(d) => self.starts[i].saturating_add(d).min(self.end.saturating_add(1)),
            None => self.end.saturating_add(1),
        };
        let a = points.partition_point(|p| p.0 < lo);
        let b = points.partition_point(|p| p.0 < hi);
        &points[a..b.max(a)]
    }
}

/// One computed column of an aggregate query.
struct Column {
    values: Vec<Value>,
    /// The selected point's time, per window (selectors).
    times: Vec<Option<i64>>,
    /// Whether the window had no input.
    empty: Vec<bool>,
    /// Whether this column is (or wraps) a transformation: its nulls are dropped, not filled.
    transformed: bool,
}

fn aggregate_rows(
    stmt: &Select,
    fields: &[Field],
    needed: &[String],
    members: &[TagSet],
    range: TimeRange,
    data_min: Option<i64>,
    now: i64,
) -> Result<Vec<Vec<Value>>, String> {
    let windows = Windows::new(stmt, range, data_min, now)?;
    let points = |field: &str| -> Vec<(i64, f64)> {
        let Some(index) = needed.iter().position(|f| f == field) else { return Vec::new() };
        let mut p: Vec<(i64, f64)> = members
            .iter()
            .flat_map(|ts| ts.rows.iter().filter_map(move |(t, v)| v[index].map(|v| (*t, v))))
            .collect();
        p.sort_by_key(|p| p.0);
        p
    };
    // A lone multi-row function (distinct, top, bottom, sample) gives its own rows.
    if let [Field { expr: Expr::Call { name, args }, .. }] = fields {
        if functions::kind(name) == Some(Kind::Multi) {
            let Some(Expr::Ref { name: field, .. }) = args.first() else {
                return Err(format!("expected field argument in {name}()"));
            };
            let n = args.last().and_then(literal_f64).unwrap_or(0.0) as usize;
            if name != "distinct" && n == 0 {
                return Err(format!("{name}() requires a positive number of points"));
            }
            let pts = points(field);
            let mut rows = Vec::new();
            for i in 0..windows.starts.len() {
                for (t, v) in functions::multi(name, windows.slice(&pts, i), n, windows.starts[i]) {
                    let t = if windows.interval.is_some() && name != "distinct" {
                        t.max(windows.starts[i])
                    } else {
                        t
                    };
                    rows.push(vec![Value::Time(t), v]);
                }
            }
            return Ok(rows);
        }
    }
    let mut columns = Vec::new();
    for f in fields {
        columns.push(column(&f.expr, &points, &windows, stmt.fill)?);
    }
    let all_empty: Vec<bool> =
        (0..windows.starts.len()).map(|i| columns.iter().all(|c| c.empty[i])).collect();
    if all_empty.iter().all(|e| *e) {
        return Ok(Vec::new());
    }
    // A lone selector without GROUP BY time reports its point's time.
    let selector_time = windows.interval.is_none() && fields.len() == 1 && is_selector(&fields[0].expr);
    let mut rows = Vec::new();
    for (i, &empty) in all_empty.iter().enumerate() {
        if empty && (stmt.fill == Fill::None || windows.interval.is_none()) {
            continue;
        }
        let mut time = windows.starts[i];
        if selector_time {
            time = columns[0].times[i].unwrap_or(time);
        }
        let mut row = vec![Value::Time(time)];
        row.extend(columns.iter().map(|c| c.values[i].clone()));
        if columns.iter().any(|c| c.transformed) && columns.iter().all(|c| c.values[i].is_null()) {
            continue;
        }
        rows.push(row);
    }
    fill_rows(&mut rows, stmt.fill, &columns, &all_empty, &windows);
    Ok(rows)
}

fn is_selector(expr: &Expr) -> bool {
    matches!(expr, Expr::Call { name, .. } if functions::kind(name) == Some(Kind::Selector))
}

/// A column per window for an aggregate expression.
fn column(
    expr: &Expr,
    points: &dyn Fn(&str) -> Vec<(i64, f64)>,
    windows: &Windows,
    fill: Fill,
) -> Result<Column, String> {
    let n = windows.starts.len();
    match expr {
        Expr::Call { name, args } => match functions::kind(name) {
            Some(Kind::Aggregate | Kind::Selector) => {
                let (field, distinct) = match args.first() {
                    Some(Expr::Ref { name: f, .. }) => (f.clone(), false),
                    Some(Expr::Call { name: inner, args: inner_args })
                        if inner == "distinct" && name == "count" =>
                    {
                        match inner_args.first() {
                            Some(Expr::Ref { name: f, .. }) => (f.clone(), true),
                            _ => return Err("expected field argument in distinct()".into()),
                        }
                    }
                    _ => return Err(format!("expected field argument in {name}()")),
                };
                let arg = args.get(1).and_then(literal_f64);
                if name == "percentile" && arg.is_none() {
                    return Err("invalid number of arguments for percentile, expected 2, got 1".into());
                }
                let pts = points(&field);
                let mut c = Column {
                    values: Vec::with_capacity(n),
                    times: Vec::with_capacity(n),
                    empty: Vec::with_capacity(n),
                    transformed: false,
                };
                for i in 0..n {
                    let slice = windows.slice(&pts, i);
                    c.empty.push(slice.is_empty());
                    let reduced = if distinct {
                        (!slice.is_empty()).then(|| {
                            (Value::Integer(functions::multi("distinct", slice, 0, 0).len() as i64), None)
                        })
                    } else {
                        functions::reduce(name, slice, arg)
                    };
                    let (v, t) = reduced.unwrap_or((Value::Null, None));
                    c.values.push(v);
                    c.times.push(t);
                }
                Ok(c)
            }
            Some(Kind::Transform) => {
                let Some(inner @ Expr::Call { .. }) = args.first() else {
                    return Err(format!("aggregate function required inside the call to {name}"));
                };
                if windows.interval.is_none() {
                    return Err(format!("{name} aggregate requires a GROUP BY interval"));
                }
                let mut inner = column(inner, points, windows, fill)?;
                fill_column(&mut inner, fill);
                let seq: Vec<(i64, f64)> =
                    (0..n).filter_map(|i| inner.values[i].as_f64().map(|v| (windows.starts[i], v))).collect();
                let default_unit =
                    if name == "elapsed" { 1.0 } else { windows.interval.unwrap_or(1_000_000_000) as f64 };
                let arg = args.get(1).and_then(literal_f64);
                let out = functions::transform(name, &seq, arg, default_unit);
                let mut values = vec![Value::Null; n];
                for (t, v) in out {
                    if let Some(i) = windows.starts.iter().position(|s| *s == t) {
                        values[i] = v;
                    }
                }
                Ok(Column { values, times: vec![None; n], empty: inner.empty, transformed: true })
            }
            Some(Kind::Math) => {
                let inner = column(
                    args.first().ok_or_else(|| format!("invalid number of arguments for {name}"))?,
                    points,
                    windows,
                    fill,
                )?;
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
            Ok(Column { values, times: vec![None; n], empty, transformed: l.transformed || r.transformed })
        }
        Expr::Paren(e) => column(e, points, windows, fill),
        Expr::Integer(_) | Expr::Number(_) => {
            let v = Value::Float(literal_f64(expr).unwrap_or(0.0));
            Ok(Column { values: vec![v; n], times: vec![None; n], empty: vec![true; n], transformed: false })
        }
        Expr::Ref { .. } => Err("mixing aggregate and non-aggregate queries is not supported".into()),
        _ => Err("unsupported expression in an aggregate query".into()),
    }
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
fn fill_rows(rows: &mut [Vec<Value>], fill: Fill, columns: &[Column], all_empty: &[bool], windows: &Windows) {
    if rows.is_empty() || columns.iter().any(|c| c.transformed) {
        return;
    }
    let empty_at = |t: i64| windows.starts.iter().position(|s| *s == t).is_some_and(|i| all_empty[i]);
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
