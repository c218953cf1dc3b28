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

use crate::ast::{Dimension, Expr, Field, RefType, Select, Source};
use crate::condition::{self, Row, TimeRange};
use crate::functions::{self, Kind};
use crate::namespace::{self, Namespace, Store};
use crate::result::{Series, Value};

mod aggregate;
pub(crate) mod into;
mod merge;
mod raw;
mod selector;
mod subquery;
mod tagset;
mod top;
mod window;

/// At most this many windows per query (a hostile `GROUP BY time(1ns)` is refused).
pub const MAX_WINDOWS: i64 = 1_000_000;

/// What a SELECT runs with.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub database: Option<&'a str>,
    pub policy: Option<&'a str>,
    pub now: i64,
    /// Most points one SELECT may read (the server's `--query-max-samples`); 0: no limit.
    pub max_points: usize,
    /// When a SELECT gives up (the server's `--query-timeout`).
    pub deadline: Option<std::time::Instant>,
}

impl<'a> Request<'a> {
    /// A request on `database` (and `policy`) at `now` (ns), without limits.
    pub fn new(database: Option<&'a str>, policy: Option<&'a str>, now: i64) -> Request<'a> {
        Request { database, policy, now, max_points: 0, deadline: None }
    }
}

/// Runs a SELECT.
pub fn select(store: &Store<'_>, stmt: &Select, request: Request<'_>) -> Result<Vec<Series>, String> {
    if let Some(target) = &stmt.into {
        let query = Select { into: None, ..stmt.clone() };
        let series = select(store, &query, request)?;
        return into::write(store, target, &series, request);
    }
    let zone = window::zone_of(stmt)?;
    for f in &stmt.fields {
        validate(&f.expr)?;
    }
    aggregate::check_limits(stmt)?;
    let (range, rest) = condition::split_time(stmt.condition.as_ref(), request.now)?;
    if stmt.sources.iter().any(|s| matches!(s, Source::Subquery(_))) {
        let out = subquery::select(store, stmt, range, rest, request)?;
        return Ok(order_and_slimit(stmt, out));
    }
    let sources = measurements(store, &stmt.sources, request)?;
    let plan = Plan::new(store, stmt, &sources, rest.as_ref())?;
    let in_zone = |out: Vec<Series>| match &zone {
        Some(tz) => out.into_iter().map(|s| zoned(s, tz)).collect(),
        None => out,
    };
    let mut out = Vec::new();
    // One measurement named in several databases or policies is one result.
    let mut by_name: BTreeMap<&str, Vec<&Namespace>> = BTreeMap::new();
    for (ns, measurement) in &sources {
        by_name.entry(measurement.as_str()).or_default().push(ns);
    }
    for (measurement, namespaces) in by_name {
        out.extend(select_measurement(store, stmt, &plan, &namespaces, measurement, range, request)?);
    }
    Ok(order_and_slimit(stmt, in_zone(out)))
}

/// A series whose times print in `tz` (`tz()`).
fn zoned(mut series: Series, tz: &chrono_tz::Tz) -> Series {
    for row in &mut series.values {
        for v in row.iter_mut() {
            if let Value::Time(t) = *v {
                *v = Value::ZonedTime(t, crate::zone::offset_s(tz, t));
            }
        }
    }
    series
}

/// The result series in InfluxDB's order (by descending name and tags too under ORDER BY
/// time DESC), SOFFSET and SLIMIT applied.
fn order_and_slimit(stmt: &Select, mut out: Vec<Series>) -> Vec<Series> {
    if stmt.descending {
        out.reverse();
    }
    out.into_iter().skip(stmt.soffset).take(stmt.slimit.unwrap_or(usize::MAX)).collect()
}

/// Refuses calls InfluxDB refuses before reading anything.
fn validate(expr: &Expr) -> Result<(), String> {
    match expr {
        Expr::Call { name, args } => {
            if matches!(functions::kind(name), Some(Kind::Aggregate | Kind::Selector | Kind::Multi)) {
                let ok = match args.first().map(unparen) {
                    Some(Expr::Ref { .. } | Expr::Wildcard | Expr::Regex(_)) => true,
                    Some(Expr::Call { name: inner, .. }) => inner == "distinct" && name == "count",
                    _ => false,
                };
                if !ok {
                    return Err(format!("expected field argument in {name}()"));
                }
            }
            args.iter().try_for_each(validate)
        }
        Expr::Binary { lhs, rhs, .. } => {
            validate(lhs)?;
            validate(rhs)
        }
        Expr::Paren(e) => validate(e),
        _ => Ok(()),
    }
}

/// The field a function's first argument names (parentheses aside), or InfluxDB's error.
fn field_argument<'e>(name: &str, args: &'e [Expr]) -> Result<&'e str, String> {
    match args.first().map(unparen) {
        Some(Expr::Ref { name: field, .. }) => Ok(field),
        _ => Err(format!("expected field argument in {name}()")),
    }
}

/// An expression without the parentheses around it.
fn unparen(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(inner) => unparen(inner),
        other => other,
    }
}

/// What a SELECT reads, the same for every measurement: the select list with wildcards
/// expanded over the union of the sources' fields and tags (as InfluxDB does), the names
/// that are fields, and the condition left after the time range.
struct Plan {
    fields: Vec<Field>,
    field_names: BTreeSet<String>,
    rest: Option<Expr>,
    aggregate: bool,
    columns: Vec<String>,
    /// Each source's `(field, metric)` pairs, looked up once: `(database, policy,
    /// measurement)` → pairs.
    source_fields: BTreeMap<(String, String, String), Vec<(String, String)>>,
}

impl Plan {
    fn new(
        store: &Store<'_>,
        stmt: &Select,
        sources: &[(Namespace, String)],
        rest: Option<&Expr>,
    ) -> Result<Plan, String> {
        let mut field_names = BTreeSet::new();
        let mut tag_keys = BTreeSet::new();
        let mut source_fields = BTreeMap::new();
        let wants_tags = stmt.fields.iter().any(|f| matches!(f.expr, Expr::Wildcard | Expr::Regex(_)));
        for (ns, m) in sources {
            let fields = store.fields(ns, m)?;
            if wants_tags && !fields.is_empty() {
                for labels in store.live_series(ns, &[namespace::metric_matcher(&fields)?])? {
                    tag_keys.extend(namespace::tags_of(&labels).into_iter().map(|(k, _)| k));
                }
            }
            field_names.extend(fields.iter().map(|(f, _)| f.clone()));
            source_fields.insert((ns.database.clone(), ns.policy.clone(), m.clone()), fields);
        }
        let mut plan = Plan::from_names(stmt, field_names, &tag_keys, rest)?;
        plan.source_fields = source_fields;
        Ok(plan)
    }

    /// A source's `(field, metric)` pairs, as [`Plan::new`] looked them up.
    fn fields_of(&self, ns: &Namespace, measurement: &str) -> &[(String, String)] {
        let key = (ns.database.clone(), ns.policy.clone(), measurement.to_string());
        self.source_fields.get(&key).map_or(&[], Vec::as_slice)
    }

    /// The plan over sources with these fields and tag keys.
    fn from_names(
        stmt: &Select,
        field_names: BTreeSet<String>,
        tag_keys: &BTreeSet<String>,
        rest: Option<&Expr>,
    ) -> Result<Plan, String> {
        let fields = expand_fields(stmt, &field_names, tag_keys)?;
        let aggregate = fields.iter().any(|f| has_reducer(&f.expr)) && !raw::is_raw_transform_query(&fields);
        let columns = column_names(&fields);
        Ok(Plan {
            fields,
            field_names,
            rest: rest.cloned(),
            aggregate,
            columns,
            source_fields: BTreeMap::new(),
        })
    }

    fn is_field(&self, name: &str) -> bool {
        self.field_names.contains(name)
    }

    /// The fields the select list and the condition read, sorted.
    fn needed(&self) -> Vec<String> {
        let is_field = |n: &str| self.is_field(n);
        let mut needed: BTreeSet<String> = BTreeSet::new();
        for f in &self.fields {
            field_refs(&f.expr, &is_field, &mut needed);
        }
        if let Some(r) = &self.rest {
            field_refs(r, &is_field, &mut needed);
        }
        needed.into_iter().collect()
    }
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
    plan: &Plan,
    namespaces: &[&Namespace],
    measurement: &str,
    range: TimeRange,
    request: Request<'_>,
) -> Result<Vec<Series>, String> {
    let is_field = |n: &str| plan.is_field(n);
    let rest = plan.rest.as_ref();
    let tag_matchers = condition::tag_matchers(rest, &is_field);
    let needed = plan.needed();
    // Transformations over windows read a little before the range (see `window`).
    let read =
        TimeRange { min: range.min.saturating_sub(window::lookback(stmt, &plan.fields, range)), ..range };
    let mut series = Vec::new();
    for ns in namespaces {
        let metrics: Vec<(String, String)> =
            plan.fields_of(ns, measurement).iter().filter(|(f, _)| needed.contains(f)).cloned().collect();
        if !metrics.is_empty() {
            series.extend(store.select(ns, &metrics, &tag_matchers, read)?);
        }
    }
    if series.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(which) = lone_selector(stmt, plan) {
        series = only_selected_points(series, which)?;
    }
    let tagsets = tagset::tagsets(store, series, &needed, read, rest, request)?;
    series_of(stmt, plan, measurement, tagsets, &needed, range, request.now)
}

/// The result series of one measurement's tag sets: grouped, then each group's rows.
fn series_of(
    stmt: &Select,
    plan: &Plan,
    measurement: &str,
    tagsets: Vec<tagset::TagSet>,
    needed: &[String],
    range: TimeRange,
    now: i64,
) -> Result<Vec<Series>, String> {
    let groups = tagset::group(tagsets, &stmt.dimensions);
    let data_min = groups.values().flat_map(|g| g.iter().filter_map(|ts| ts.times.first().copied())).min();
    let mut out = Vec::new();
    for (key, members) in &groups {
        let group = Group { members, needed };
        let mut rows = if plan.aggregate {
            aggregate::rows(stmt, &plan.fields, &group, range, data_min, now)?
        } else {
            raw::rows(&plan.fields, &group)?
        };
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
        out.push(Series {
            name: measurement.to_string(),
            tags,
            columns: plan.columns.clone(),
            values: rows,
            partial: false,
        });
    }
    Ok(out)
}

/// The series of one result series, and the fields their rows hold.
pub(crate) struct Group<'a> {
    members: &'a [tagset::TagSet],
    needed: &'a [String],
}

impl Group<'_> {
    /// One field's points over all members, in time order, each with the index of its
    /// member; among equal times in the order InfluxDB's merge gives them (see `merge`).
    fn points(&self, field: &str) -> Vec<(i64, f64, usize)> {
        let Some(index) = self.needed.iter().position(|f| f == field) else { return Vec::new() };
        let per_member: Vec<Vec<(i64, f64)>> = self.members.iter().map(|ts| ts.field_points(index)).collect();
        merge::sorted_merge(per_member)
    }

    /// One field's points over all members in time order, equal times in no particular
    /// order: for what only counts them, where InfluxDB's merge order cannot show (a
    /// stable sort finds the members' sorted runs and merges them, much cheaper than the
    /// order-keeping heap).
    fn points_by_time(&self, field: &str) -> Vec<(i64, f64)> {
        let Some(index) = self.needed.iter().position(|f| f == field) else { return Vec::new() };
        let mut points: Vec<(i64, f64)> = self.members.iter().flat_map(|ts| ts.field_points(index)).collect();
        points.sort_by_key(|p| p.0);
        points
    }

    /// A field's value in a member's row at `t`, or else the member's tag of that name.
    fn value(&self, member: usize, t: i64, name: &str) -> Value {
        if let Some(index) = self.needed.iter().position(|f| f == name) {
            let set = &self.members[member];
            return match set.times.binary_search(&t) {
                Ok(i) => set.row(i)[index].map_or(Value::Null, Value::Float),
                Err(_) => Value::Null,
            };
        }
        self.tag(member, name).map_or(Value::Null, |v| Value::Str(v.to_string()))
    }

    /// A member's tag value (`None` when it has no such tag).
    fn tag(&self, member: usize, name: &str) -> Option<&str> {
        self.members[member].tags.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// `first` or `last` when they are all the query computes: every field `first(f)` (or
/// every one `last(f)`) of a plain field, over the whole range (no GROUP BY time), with no
/// condition left to check row by row. Each series' answer is then one of its points.
fn lone_selector(stmt: &Select, plan: &Plan) -> Option<&'static str> {
    if plan.rest.is_some() || stmt.dimensions.iter().any(|d| matches!(d, Dimension::Time { .. })) {
        return None;
    }
    let name_of = |f: &Field| match &f.expr {
        Expr::Call { name, args } if matches!(args.as_slice(), [Expr::Ref { .. }]) => match name.as_str() {
            "first" => Some("first"),
            "last" => Some("last"),
            _ => None,
        },
        _ => None,
    };
    let first = name_of(plan.fields.first()?)?;
    plan.fields.iter().all(|f| name_of(f) == Some(first)).then_some(first)
}

/// Each series cut to the one point `first` or `last` can choose from it (stale markers
/// are not points): a `last` reads one chunk, not the whole range. Ties across series stay
/// for the selector to settle, as every series keeps its point.
fn only_selected_points(
    series: Vec<strata_storage::Series>,
    which: &str,
) -> Result<Vec<strata_storage::Series>, String> {
    let keep = |v: f64| !strata_model::is_stale_marker(v);
    let mut out = Vec::with_capacity(series.len());
    for s in series {
        let point = if which == "first" { s.first_sample(keep) } else { s.last_sample(keep) };
        if let Some(point) = point.map_err(|e| e.to_string())? {
            out.push(strata_storage::Series::from_samples(s.into_labels(), vec![point], i64::MIN, i64::MAX));
        }
    }
    Ok(out)
}

fn has_tag_dimensions(dims: &[Dimension]) -> bool {
    dims.iter().any(|d| !matches!(d, Dimension::Time { .. }))
}

/// The select list with `*` and `/re/` expanded: in a raw query to every field and tag
/// (sorted together), inside a call to one call per field (`mean(*)` → `mean_f`). A bare
/// `time` is dropped: the time column is always there.
fn expand_fields(
    stmt: &Select,
    field_names: &BTreeSet<String>,
    tag_keys: &BTreeSet<String>,
) -> Result<Vec<Field>, String> {
    let grouped: BTreeSet<&str> = stmt
        .dimensions
        .iter()
        .filter_map(|d| if let Dimension::Tag(t) = d { Some(t.as_str()) } else { None })
        .collect();
    let all_grouped = stmt.dimensions.iter().any(|d| matches!(d, Dimension::Wildcard));
    let tags: Vec<&String> =
        tag_keys.iter().filter(|k| !all_grouped && !grouped.contains(k.as_str())).collect();
    let regex = |e: &Expr| -> Result<Option<Regex>, String> {
        match e {
            Expr::Regex(p) => Regex::new(p).map(Some).map_err(|e| e.to_string()),
            _ => Ok(None),
        }
    };
    let mut out = Vec::new();
    for f in &stmt.fields {
        match &f.expr {
            Expr::Ref { name, .. } if name.eq_ignore_ascii_case("time") => {}
            Expr::Wildcard | Expr::Regex(_) => {
                let re = regex(&f.expr)?;
                let mut names: Vec<(&String, RefType)> =
                    field_names.iter().map(|n| (n, RefType::Field)).collect();
                names.extend(tags.iter().map(|t| (*t, RefType::Tag)));
                names.sort();
                for (name, kind) in names {
                    if re.as_ref().is_none_or(|r| r.is_match(name)) {
                        out.push(Field { expr: Expr::Ref { name: name.clone(), kind }, alias: None });
                    }
                }
            }
            Expr::Call { name, args } if matches!(args.first(), Some(Expr::Wildcard | Expr::Regex(_))) => {
                let re = regex(&args[0])?;
                for field in field_names {
                    if re.as_ref().is_none_or(|r| r.is_match(field)) {
                        let mut call_args = args.clone();
                        call_args[0] = Expr::Ref { name: field.clone(), kind: RefType::Field };
                        let alias = f
                            .alias
                            .as_ref()
                            .map_or_else(|| format!("{name}_{field}"), |a| format!("{a}_{field}"));
                        out.push(Field {
                            expr: Expr::Call { name: name.clone(), args: call_args },
                            alias: Some(alias),
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
pub(crate) fn has_reducer(expr: &Expr) -> bool {
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
        let mut names = vec![base];
        // `top(value, host, 2)` adds a column per tag argument.
        if let Expr::Call { name, args } = &f.expr {
            if (name == "top" || name == "bottom") && args.len() > 2 {
                names.extend(args[1..args.len() - 1].iter().map(expr_name));
            }
        }
        for base in names {
            let n = seen.entry(base.clone()).or_insert(0);
            out.push(if *n == 0 { base.clone() } else { format!("{base}_{n}") });
            *n += 1;
        }
    }
    out
}

/// A numeric literal's value (durations in ns).
fn literal_f64(e: &Expr) -> Option<f64> {
    match e {
        Expr::Integer(i) => Some(*i as f64),
        Expr::Number(n) => Some(*n),
        Expr::Duration(d) => Some(*d as f64),
        _ => None,
    }
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
