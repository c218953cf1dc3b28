//! Runs parsed statements: each gives one [`StatementResult`]; an error stops nothing but
//! that statement (InfluxDB's HTTP 200 with a per-statement `error`).

use std::collections::BTreeSet;

use strata_model::{MatchOp, Matcher, METRIC_NAME_LABEL};

use crate::ast::{BinaryOp, Expr, KeySelector, PolicySpec, ShowFilter, Source, Statement};
use crate::cardinality;
use crate::catalog::{self, Policy};
use crate::condition::{self, TimeRange};
use crate::namespace::{self, Namespace, Store, DB_LABEL, RP_LABEL};
use crate::result::{Series, StatementResult, Value};
use crate::select::{self, Request};
use crate::time::go_duration;

/// Runs every statement in order.
pub fn execute(store: &Store<'_>, statements: &[Statement], request: Request<'_>) -> Vec<StatementResult> {
    statements
        .iter()
        .enumerate()
        .map(|(id, s)| match run(store, s, request) {
            Ok(series) => StatementResult { statement_id: id, series, ..StatementResult::default() },
            Err(e) => StatementResult::error(id, e),
        })
        .collect()
}

fn run(store: &Store<'_>, statement: &Statement, request: Request<'_>) -> Result<Vec<Series>, String> {
    match statement {
        Statement::Select(s) => select::select(store, s, request),
        Statement::ShowDatabases => Ok(show_databases(store)),
        Statement::ShowRetentionPolicies { database } => {
            show_policies(store, database.as_deref().or(request.database))
        }
        Statement::ShowMeasurements(f) => show_measurements(store, f, request),
        Statement::ShowTagKeys(f) => show_tag_keys(store, f, request),
        Statement::ShowTagValues { filter, keys } => {
            show_tag_values(store, filter, keys, SHOW_TAG_VALUES, request)
        }
        Statement::ShowFieldKeys(f) => show_field_keys(store, f, request),
        Statement::ShowSeries(f) => show_series(store, f, request),
        Statement::ShowCardinality { of, exact, filter } => {
            cardinality::show(store, of, *exact, filter, request)
        }
        Statement::ShowUsers => {
            let values = store
                .catalog
                .users()
                .into_iter()
                .map(|u| vec![Value::Str(u.name), Value::Bool(u.admin)])
                .collect();
            Ok(vec![Series { columns: vec!["user".into(), "admin".into()], values, ..Series::default() }])
        }
        Statement::ShowGrants { user } => show_grants(store, user),
        Statement::CreateUser { name, password, admin } => {
            catalog_change(store.catalog.create_user(name, password, *admin))
        }
        Statement::DropUser { name } => catalog_change(store.catalog.drop_user(name)),
        Statement::SetPassword { name, password } => {
            catalog_change(store.catalog.set_password(name, password))
        }
        Statement::Grant { user, privilege, database } => match database {
            None => catalog_change(store.catalog.set_admin(user, true)),
            Some(db) => catalog_change(store.catalog.grant(user, db, *privilege)),
        },
        Statement::Revoke { user, privilege, database } => match database {
            None => catalog_change(store.catalog.set_admin(user, false)),
            Some(db) => catalog_change(store.catalog.revoke(user, db, *privilege)),
        },
        Statement::CreateDatabase { name, policy } => create_database(store, name, policy.as_ref()),
        Statement::CreateRetentionPolicy { database, policy, default } => {
            let p = policy_of(policy)?;
            store
                .catalog
                .create_policy(database, p, *default)
                .map_err(|e| e.to_string())?
                .map(|()| Vec::new())
        }
        Statement::DropDatabase { name } => drop_database(store, name),
        Statement::DropRetentionPolicy { database, name } => drop_policy(store, database, name),
        Statement::CreateContinuousQuery(cq) => crate::continuous::create(store, cq, request.policy),
        Statement::DropContinuousQuery { name, database } => crate::continuous::drop(store, database, name),
        Statement::ShowContinuousQueries => Ok(crate::continuous::show(store)),
        Statement::CreateSubscription { name, database, policy, any, destinations } => {
            let subscription = catalog::Subscription {
                name: name.clone(),
                policy: policy.clone(),
                any: *any,
                destinations: destinations.clone(),
            };
            catalog_change(store.catalog.create_subscription(database, subscription))
        }
        Statement::DropSubscription { name, database, policy } => {
            catalog_change(store.catalog.drop_subscription(database, policy, name))
        }
        Statement::ShowSubscriptions => Ok(show_subscriptions(store)),
        Statement::ShowStats { module } => crate::stats::show(store.stats, module.as_deref()),
        Statement::Delete { database, sources, condition, time_allowed } => delete(
            store,
            database.as_deref().or(request.database),
            sources,
            condition.as_ref(),
            *time_allowed,
            request,
        ),
    }
}

/// A catalog change's outcome as a statement's: no series, or its error.
fn catalog_change(outcome: Result<Result<(), String>, catalog::CatalogError>) -> Result<Vec<Series>, String> {
    outcome.map_err(|e| e.to_string())?.map(|()| Vec::new())
}

/// SHOW SUBSCRIPTIONS: a series per database that has some.
fn show_subscriptions(store: &Store<'_>) -> Vec<Series> {
    let columns = ["retention_policy", "name", "mode", "destinations"];
    store
        .catalog
        .subscriptions()
        .into_iter()
        .filter(|(_, subscriptions)| !subscriptions.is_empty())
        .map(|(database, subscriptions)| Series {
            name: database,
            columns: columns.iter().map(|c| c.to_string()).collect(),
            values: subscriptions
                .into_iter()
                .map(|s| {
                    let mode = s.mode().to_string();
                    vec![
                        Value::Str(s.policy),
                        Value::Str(s.name),
                        Value::Str(mode),
                        Value::Strings(s.destinations),
                    ]
                })
                .collect(),
            ..Series::default()
        })
        .collect()
}

fn show_grants(store: &Store<'_>, user: &str) -> Result<Vec<Series>, String> {
    let users = store.catalog.users();
    let Some(u) = users.iter().find(|u| u.name == user) else { return Err("user not found".into()) };
    let values = u
        .privileges
        .iter()
        .map(|(db, p)| vec![Value::Str(db.clone()), Value::Str(p.name().into())])
        .collect();
    Ok(vec![Series { columns: vec!["database".into(), "privilege".into()], values, ..Series::default() }])
}

fn show_databases(store: &Store<'_>) -> Vec<Series> {
    let mut names: Vec<String> = store.catalog.databases().into_iter().map(|d| d.name).collect();
    let prometheus = store.prometheus_database;
    if !names.iter().any(|n| n == prometheus) {
        if let Ok(ns) = store.namespace(Some(prometheus), None) {
            if store.metrics(&ns, &[]).is_ok_and(|m| !m.is_empty()) {
                names.push(prometheus.to_string());
            }
        }
    }
    let values = names.into_iter().map(|n| vec![Value::Str(n)]).collect();
    vec![Series { name: "databases".into(), columns: vec!["name".into()], values, ..Series::default() }]
}

fn show_policies(store: &Store<'_>, database: Option<&str>) -> Result<Vec<Series>, String> {
    let Some(database) = database else { return Err("database name required".into()) };
    let Some(db) = store.catalog.database(database) else {
        return Err(format!("database not found: {database}"));
    };
    let values = db
        .policies
        .iter()
        .map(|p| {
            vec![
                Value::Str(p.name.clone()),
                Value::Str(go_duration(p.duration_ns)),
                Value::Str(go_duration(p.shard_duration_ns)),
                Value::Integer(p.replication),
                Value::Bool(p.name == db.default_policy),
            ]
        })
        .collect();
    let columns =
        ["name", "duration", "shardGroupDuration", "replicaN", "default"].map(String::from).to_vec();
    Ok(vec![Series { columns, values, ..Series::default() }])
}

/// The namespace of a SHOW (its `ON db`, else the request's).
fn show_namespace(store: &Store<'_>, filter: &ShowFilter, request: Request<'_>) -> Result<Namespace, String> {
    store.namespace(filter.database.as_deref().or(request.database), request.policy)
}

/// How a SHOW reads its WHERE clause.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Show {
    pub(crate) statement: &'static str,
    /// Whether a time range is allowed (and then answered from the data in it).
    time_allowed: bool,
    /// Whether a series lacking a tag fails every comparison of it — the rule of InfluxDB's
    /// SHOW TAG VALUES CARDINALITY (`region !~ /us/` leaves out a series with no `region`),
    /// though not of SHOW TAG VALUES — rather than comparing as `''`.
    missing_tag_is_null: bool,
}

const SHOW_MEASUREMENTS: Show =
    Show { statement: "SHOW MEASUREMENTS", time_allowed: false, missing_tag_is_null: false };
pub(crate) const SHOW_SERIES: Show =
    Show { statement: "SHOW SERIES", time_allowed: true, missing_tag_is_null: false };
const SHOW_TAG_KEYS: Show =
    Show { statement: "SHOW TAG KEYS", time_allowed: true, missing_tag_is_null: false };
const SHOW_TAG_VALUES: Show =
    Show { statement: "SHOW TAG VALUES", time_allowed: true, missing_tag_is_null: false };
pub(crate) const SHOW_TAG_VALUES_CARDINALITY: Show =
    Show { statement: "SHOW TAG VALUES CARDINALITY", time_allowed: true, missing_tag_is_null: true };

/// Series of a SHOW: the labels of the namespace's series from `sources` matching the
/// condition (tag terms; a time range where the statement allows one).
fn show_series_labels(
    store: &Store<'_>,
    ns: &Namespace,
    sources: &[Source],
    condition: Option<&crate::ast::Expr>,
    show: Show,
    now: i64,
) -> Result<Vec<strata_model::Labels>, String> {
    let selection = show_selection(store, ns, sources, condition, show, now)?;
    let (min_ms, max_ms) = selection.range;
    // Only series with a point in the range (a deleted one may linger in the index).
    let labels =
        store.engine.series_labels(&selection.matchers, min_ms, max_ms).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for l in labels {
        if let Some(cond) = &selection.filter {
            let tags = namespace::tags_of(&l);
            let row = TagRow { tags: &tags, missing_is_null: show.missing_tag_is_null };
            if condition::eval(cond, &row) != Value::Bool(true) {
                continue;
            }
        }
        out.push(l);
    }
    Ok(out)
}

/// What a SHOW reads: matchers for storage, the millisecond range, and the part of the
/// condition storage's matchers cannot say, checked series by series.
struct ShowSelection {
    matchers: Vec<Matcher>,
    range: (i64, i64),
    filter: Option<Expr>,
}

fn show_selection(
    store: &Store<'_>,
    ns: &Namespace,
    sources: &[Source],
    condition: Option<&crate::ast::Expr>,
    show: Show,
    now: i64,
) -> Result<ShowSelection, String> {
    let (range, rest) = condition::split_time(condition, now)?;
    if (range != TimeRange::ALL) && !show.time_allowed {
        return Err(format!("{} doesn't support time in WHERE clause", show.statement));
    }
    let mut matchers = ns.matchers.clone();
    matchers.push(source_matcher(store, ns, sources)?);
    // Storage's matchers read a missing label as "": pushed down only where that is the rule.
    let pushed =
        if show.missing_tag_is_null { None } else { rest.as_ref().and_then(condition::only_tag_matchers) };
    let filter = match pushed {
        Some(m) => {
            matchers.extend(m);
            None
        }
        None => rest,
    };
    Ok(ShowSelection { matchers, range: range.to_ms(), filter })
}

/// `tag = v` for `tag != v`, `tag =~ /re/` for `tag !~ /re/`; `None` for other conditions.
fn negated_tag_condition(condition: &Expr) -> Option<Expr> {
    let Expr::Binary { op, lhs, rhs } = condition else { return None };
    let positive = match op {
        BinaryOp::Neq => BinaryOp::Eq,
        BinaryOp::RegexNoMatch => BinaryOp::RegexMatch,
        _ => return None,
    };
    matches!(**lhs, Expr::Ref { .. }).then(|| Expr::Binary {
        op: positive,
        lhs: lhs.clone(),
        rhs: rhs.clone(),
    })
}

/// A row of tags only (SHOW's conditions).
struct TagRow<'a> {
    tags: &'a [(String, String)],
    missing_is_null: bool,
}

impl condition::Row for TagRow<'_> {
    fn lookup(&self, name: &str, _: crate::ast::RefType) -> Value {
        match self.tags.iter().find(|(k, _)| k == name) {
            Some((_, v)) => Value::Str(v.clone()),
            None if self.missing_is_null => Value::Null,
            None => Value::Str(String::new()),
        }
    }
}

/// A `__name__` matcher for the metrics of some sources (every metric when none).
fn source_matcher(store: &Store<'_>, ns: &Namespace, sources: &[Source]) -> Result<Matcher, String> {
    if sources.is_empty() {
        return Matcher::new(MatchOp::RegexMatch, METRIC_NAME_LABEL, ".+").map_err(|e| e.to_string());
    }
    // Every metric the measurements may have: the select that follows reads only live ones.
    let mut metrics = Vec::new();
    for m in source_measurements(store, ns, sources)? {
        metrics.extend(store.field_candidates(&m));
    }
    if metrics.is_empty() {
        // No such measurement: a matcher nothing matches.
        return Ok(Matcher::equal(METRIC_NAME_LABEL, "\u{0}none"));
    }
    namespace::metric_matcher(&metrics)
}

fn source_measurements(store: &Store<'_>, ns: &Namespace, sources: &[Source]) -> Result<Vec<String>, String> {
    let mut out = BTreeSet::new();
    for source in sources {
        match source {
            Source::Measurement { name, .. } => {
                out.insert(name.clone());
            }
            Source::Regex { pattern, .. } => {
                let re = regex::Regex::new(pattern).map_err(|e| e.to_string())?;
                out.extend(store.measurements(ns, &[])?.into_iter().filter(|m| re.is_match(m)));
            }
            Source::Subquery(_) => return Err("subqueries are not allowed here".into()),
        }
    }
    Ok(out.into_iter().collect())
}

pub(crate) fn measurement_of(store: &Store<'_>, labels: &strata_model::Labels) -> String {
    store.measurement_of(labels.metric_name().unwrap_or_default())
}

fn page<T>(items: Vec<T>, filter: &ShowFilter) -> Vec<T> {
    items.into_iter().skip(filter.offset).take(filter.limit.unwrap_or(usize::MAX)).collect()
}

pub(crate) fn show_measurements(
    store: &Store<'_>,
    f: &ShowFilter,
    request: Request<'_>,
) -> Result<Vec<Series>, String> {
    let ns = show_namespace(store, f, request)?;
    let sources: Vec<Source> = f.measurement.iter().cloned().collect();
    let labels =
        show_series_labels(store, &ns, &sources, f.condition.as_ref(), SHOW_MEASUREMENTS, request.now)?;
    let mut names: BTreeSet<String> = labels.iter().map(|l| measurement_of(store, l)).collect();
    if let Some(positive) = f.condition.as_ref().and_then(negated_tag_condition) {
        // InfluxDB answers `WHERE tag != v` / `!~ /re/` per measurement: those none of whose
        // series matches the positive condition.
        let matching =
            show_series_labels(store, &ns, &sources, Some(&positive), SHOW_MEASUREMENTS, request.now)?;
        for l in &matching {
            names.remove(&measurement_of(store, l));
        }
    }
    let names = page(names.into_iter().collect(), f);
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let values = names.into_iter().map(|n| vec![Value::Str(n)]).collect();
    Ok(vec![Series {
        name: "measurements".into(),
        columns: vec!["name".into()],
        values,
        ..Series::default()
    }])
}

/// The labels of the series a SHOW SERIES lists.
pub(crate) fn matching_series(
    store: &Store<'_>,
    f: &ShowFilter,
    show: Show,
    request: Request<'_>,
) -> Result<Vec<strata_model::Labels>, String> {
    let ns = show_namespace(store, f, request)?;
    show_series_labels(store, &ns, &f.sources, f.condition.as_ref(), show, request.now)
}

fn show_series(store: &Store<'_>, f: &ShowFilter, request: Request<'_>) -> Result<Vec<Series>, String> {
    let labels = matching_series(store, f, SHOW_SERIES, request)?;
    let keys: BTreeSet<String> = labels
        .iter()
        .map(|l| namespace::series_key(&measurement_of(store, l), &namespace::tags_of(l)))
        .collect();
    let keys = page(keys.into_iter().collect(), f);
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let values = keys.into_iter().map(|k| vec![Value::Str(k)]).collect();
    Ok(vec![Series { columns: vec!["key".into()], values, ..Series::default() }])
}

pub(crate) fn show_tag_keys(
    store: &Store<'_>,
    f: &ShowFilter,
    request: Request<'_>,
) -> Result<Vec<Series>, String> {
    let ns = show_namespace(store, f, request)?;
    let labels =
        show_series_labels(store, &ns, &f.sources, f.condition.as_ref(), SHOW_TAG_KEYS, request.now)?;
    let mut by_measurement: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    for l in &labels {
        let keys = by_measurement.entry(measurement_of(store, l)).or_default();
        keys.extend(namespace::tags_of(l).into_iter().map(|(k, _)| k));
    }
    let mut out = Vec::new();
    for (m, keys) in by_measurement {
        let keys = page(keys.into_iter().collect(), f);
        if keys.is_empty() {
            continue;
        }
        let values = keys.into_iter().map(|k| vec![Value::Str(k)]).collect();
        out.push(Series { name: m, columns: vec!["tagKey".into()], values, ..Series::default() });
    }
    Ok(out)
}

pub(crate) fn show_tag_values(
    store: &Store<'_>,
    f: &ShowFilter,
    keys: &KeySelector,
    show: Show,
    request: Request<'_>,
) -> Result<Vec<Series>, String> {
    let ns = show_namespace(store, f, request)?;
    let selection = show_selection(store, &ns, &f.sources, f.condition.as_ref(), show, request.now)?;
    let pattern = match keys {
        KeySelector::Regex(r) | KeySelector::NotRegex(r) => {
            Some(regex::Regex::new(r).map_err(|e| e.to_string())?)
        }
        _ => None,
    };
    let wanted = |k: &str| -> bool {
        match keys {
            KeySelector::Equal(key) => k == key,
            KeySelector::NotEqual(key) => k != key,
            KeySelector::In(list) => list.iter().any(|x| x == k),
            KeySelector::Regex(_) => pattern.as_ref().is_some_and(|re| re.is_match(k)),
            KeySelector::NotRegex(_) => pattern.as_ref().is_some_and(|re| !re.is_match(k)),
        }
    };
    // Named keys are looked up in each series; other selectors look at every tag.
    let named: Option<Vec<&str>> = match keys {
        KeySelector::Equal(key) => Some(vec![key.as_str()]),
        KeySelector::In(list) => Some(list.iter().map(String::as_str).collect()),
        _ => None,
    };
    // metric → key → values (hashed: thousands of series, hundreds of metrics), filled
    // without allocating for pairs already seen; then merged by measurement.
    let mut by_metric = ValuesByMetric::default();
    if let (Some(names), None) = (&named, &selection.filter) {
        // Named keys and a condition storage takes whole: the distinct (metric, values)
        // tuples are all that is needed, which the engine may answer from its index.
        let mut asked = vec![METRIC_NAME_LABEL];
        asked.extend(names.iter().filter(|n| !namespace::is_reserved(n)));
        let (min_ms, max_ms) = selection.range;
        let tuples = store
            .engine
            .distinct_label_values(&selection.matchers, &asked, min_ms, max_ms)
            .map_err(|e| e.to_string())?;
        for tuple in tuples {
            let metric = tuple[0].clone().unwrap_or_default();
            let keys = by_metric.entry(metric).or_default();
            for (name, value) in asked[1..].iter().zip(&tuple[1..]) {
                if let Some(value) = value {
                    keys.entry(name.to_string()).or_default().insert(value.clone());
                }
            }
        }
        return Ok(tag_values_by_measurement(store, by_metric, f));
    }
    let labels = show_series_labels(store, &ns, &f.sources, f.condition.as_ref(), show, request.now)?;
    let add = |keys: &mut TagValues, name: &str, value: &str| {
        if !keys.contains_key(name) {
            keys.insert(name.to_string(), BTreeSet::new());
        }
        if let Some(values) = keys.get_mut(name) {
            if !values.contains(value) {
                values.insert(value.to_string());
            }
        }
    };
    for l in &labels {
        let metric = l.metric_name().unwrap_or_default();
        if !by_metric.contains_key(metric) {
            by_metric.insert(metric.to_string(), TagValues::new());
        }
        let Some(keys) = by_metric.get_mut(metric) else { continue };
        match &named {
            Some(names) => {
                for name in names.iter().filter(|n| !namespace::is_reserved(n)) {
                    if let Some(value) = l.get(name) {
                        add(keys, name, value);
                    }
                }
            }
            None => {
                for label in l.iter().filter(|l| !namespace::is_reserved(&l.name) && wanted(&l.name)) {
                    add(keys, &label.name, &label.value);
                }
            }
        }
    }
    Ok(tag_values_by_measurement(store, by_metric, f))
}

/// Tag key → its values.
type TagValues = std::collections::BTreeMap<String, BTreeSet<String>>;
/// Metric → its tags' values.
type ValuesByMetric = std::collections::HashMap<String, TagValues, foldhash::fast::RandomState>;

/// SHOW TAG VALUES' series from metric → key → values: merged by measurement, in name
/// order, each paged.
fn tag_values_by_measurement(store: &Store<'_>, by_metric: ValuesByMetric, f: &ShowFilter) -> Vec<Series> {
    let mut by_measurement: std::collections::BTreeMap<String, TagValues> = Default::default();
    for (metric, keys) in by_metric {
        match by_measurement.entry(store.measurement_of(&metric)) {
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(keys);
            }
            std::collections::btree_map::Entry::Occupied(mut e) => {
                for (key, values) in keys {
                    e.get_mut().entry(key).or_default().extend(values);
                }
            }
        }
    }
    let mut out = Vec::new();
    for (m, keys) in by_measurement {
        let rows = keys.into_iter().flat_map(|(k, values)| {
            values.into_iter().map(move |v| vec![Value::Str(k.clone()), Value::Str(v)])
        });
        let values: Vec<Vec<Value>> = rows.skip(f.offset).take(f.limit.unwrap_or(usize::MAX)).collect();
        if values.is_empty() {
            continue;
        }
        out.push(Series {
            name: m,
            columns: vec!["key".into(), "value".into()],
            values,
            ..Series::default()
        });
    }
    out
}

pub(crate) fn show_field_keys(
    store: &Store<'_>,
    f: &ShowFilter,
    request: Request<'_>,
) -> Result<Vec<Series>, String> {
    let ns = show_namespace(store, f, request)?;
    let measurements = if f.sources.is_empty() {
        store.measurements(&ns, &[])?
    } else {
        source_measurements(store, &ns, &f.sources)?
    };
    let mut out = Vec::new();
    for m in measurements {
        let fields = page(store.fields(&ns, &m)?, f);
        if fields.is_empty() {
            continue;
        }
        let values = fields
            .into_iter()
            .map(|(field, metric)| {
                // The type line protocol wrote (Prometheus' series and older catalogs: float).
                let kind = store.catalog.field_type(&ns.database, &metric).unwrap_or_else(|| "float".into());
                vec![Value::Str(field), Value::Str(kind)]
            })
            .collect();
        out.push(Series {
            name: m,
            columns: vec!["fieldKey".into(), "fieldType".into()],
            values,
            ..Series::default()
        });
    }
    Ok(out)
}

/// Whether InfluxDB accepts `name` for a database or retention policy.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control)
}

fn policy_of(spec: &PolicySpec) -> Result<Policy, String> {
    let name = spec.name.clone().unwrap_or_else(|| catalog::AUTOGEN.to_string());
    if !valid_name(&name) {
        return Err("invalid name".into());
    }
    let duration_ns = spec.duration.unwrap_or(0);
    if duration_ns != 0 && duration_ns < 3_600_000_000_000 {
        return Err("retention policy duration must be at least 1h0m0s".into());
    }
    let shard_duration_ns = match spec.shard_duration {
        Some(0) | None => catalog::default_shard_duration(duration_ns),
        Some(d) => d.max(3_600_000_000_000),
    };
    if duration_ns != 0 && shard_duration_ns > duration_ns {
        return Err("retention policy duration must be greater than the shard duration".into());
    }
    Ok(Policy { name, duration_ns, shard_duration_ns, replication: spec.replication.unwrap_or(1) })
}

fn create_database(store: &Store<'_>, name: &str, spec: Option<&PolicySpec>) -> Result<Vec<Series>, String> {
    if !valid_name(name) {
        return Err("invalid name".into());
    }
    let policy = spec.map(policy_of).transpose()?;
    store.catalog.create_database(name, policy).map_err(|e| e.to_string())?.map(|()| Vec::new())
}

fn drop_database(store: &Store<'_>, name: &str) -> Result<Vec<Series>, String> {
    if store.catalog.has_database(name) {
        let matchers = [Matcher::equal(DB_LABEL, name)];
        store.engine.delete(&matchers, i64::MIN, i64::MAX).map_err(|e| e.to_string())?;
    }
    store.catalog.drop_database(name).map_err(|e| e.to_string())?;
    Ok(Vec::new())
}

fn drop_policy(store: &Store<'_>, database: &str, name: &str) -> Result<Vec<Series>, String> {
    let ns = store.namespace(Some(database), Some(name))?;
    let mut matchers = ns.matchers.clone();
    matchers.push(Matcher::new(MatchOp::RegexMatch, METRIC_NAME_LABEL, ".+").map_err(|e| e.to_string())?);
    store.engine.delete(&matchers, i64::MIN, i64::MAX).map_err(|e| e.to_string())?;
    let _ = RP_LABEL;
    store.catalog.drop_policy(database, name).map_err(|e| e.to_string())?.map(|()| Vec::new())
}

fn delete(
    store: &Store<'_>,
    database: Option<&str>,
    sources: &[Source],
    condition: Option<&crate::ast::Expr>,
    time_allowed: bool,
    request: Request<'_>,
) -> Result<Vec<Series>, String> {
    let ns = store.namespace(database, None)?;
    let (range, rest) = condition::split_time(condition, request.now)?;
    if range != TimeRange::ALL && !time_allowed {
        return Err("DROP SERIES doesn't support time in WHERE clause".into());
    }
    let mut matchers = ns.matchers.clone();
    matchers.push(source_matcher(store, &ns, sources)?);
    if let Some(rest) = &rest {
        let Some(tags) = condition::only_tag_matchers(rest) else {
            return Err("fields not supported in WHERE clause during deletion".into());
        };
        matchers.extend(tags);
    }
    let (min_ms, max_ms) = range.to_ms();
    store.engine.delete(&matchers, min_ms, max_ms).map_err(|e| e.to_string())?;
    Ok(Vec::new())
}
