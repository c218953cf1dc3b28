//! Databases and retention policies over labelled series, and InfluxDB's data model read
//! back from Strata's: measurements, fields and tags of the series in a namespace.
//!
//! | InfluxDB | Strata |
//! |---|---|
//! | database `D` | label `db="D"`; the series without `db` (Prometheus' protocols) are the database named by `prometheus_database` |
//! | retention policy `R` | label `rp="R"` when `R` is not the database's default; the default matches no `rp` or `rp="<default>"` |
//! | measurement `m`, field `f` | metric `m_f` (`m` for `value`), with the pair kept in the [`Catalog`] |
//! | tags | the other labels |

use std::collections::BTreeSet;

use strata_model::{Labels, MatchOp, Matcher, METRIC_NAME_LABEL};
use strata_storage::{Engine, NS_PER_MS};

use crate::catalog::Catalog;
use crate::condition::TimeRange;

/// The label holding the database.
pub const DB_LABEL: &str = "db";
/// The label holding a non-default retention policy.
pub const RP_LABEL: &str = "rp";

/// Whether a label is Strata's and not a tag (`__name__`, `db`, `rp`).
pub fn is_reserved(name: &str) -> bool {
    name == METRIC_NAME_LABEL || name == DB_LABEL || name == RP_LABEL
}

/// The series of one database and retention policy.
#[derive(Debug, Clone)]
pub struct Namespace {
    pub database: String,
    pub policy: String,
    /// Select exactly this namespace's series.
    pub matchers: Vec<Matcher>,
}

/// What the evaluator reads through.
#[derive(Clone, Copy)]
pub struct Store<'a> {
    pub engine: &'a dyn Engine,
    pub catalog: &'a Catalog,
    /// The database that holds the series without a `db` label.
    pub prometheus_database: &'a str,
    /// The server's figures, for SHOW STATS (none without a server).
    pub stats: Option<&'a dyn crate::stats::Statistics>,
}

impl std::fmt::Debug for Store<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("engine", &self.engine)
            .field("prometheus_database", &self.prometheus_database)
            .finish()
    }
}

impl Store<'_> {
    /// The namespace of `database` (`None`: the request's) and `policy` (`None`: its default);
    /// `Err` is the statement's error.
    pub fn namespace(&self, database: Option<&str>, policy: Option<&str>) -> Result<Namespace, String> {
        let Some(database) = database.filter(|d| !d.is_empty()) else {
            return Err("database name required".into());
        };
        let catalogued = self.catalog.database(database);
        let prometheus = database == self.prometheus_database && catalogued.is_none();
        let default_policy =
            catalogued.as_ref().map_or(crate::catalog::AUTOGEN.to_string(), |d| d.default_policy.clone());
        if catalogued.is_none() && !prometheus {
            return Err(format!("database not found: {database}"));
        }
        let policy = policy.filter(|p| !p.is_empty()).unwrap_or(&default_policy).to_string();
        if let Some(db) = &catalogued {
            if !db.policies.iter().any(|p| p.name == policy) {
                return Err(format!("retention policy not found: {policy}"));
            }
        }
        let db_value = if prometheus { String::new() } else { database.to_string() };
        let mut matchers = vec![Matcher::equal(DB_LABEL, db_value)];
        let rp = if policy == default_policy {
            Matcher::new(MatchOp::RegexMatch, RP_LABEL, format!("|{}", regex::escape(&policy)))
        } else {
            Ok(Matcher::equal(RP_LABEL, policy.clone()))
        };
        matchers.push(rp.map_err(|e| e.to_string())?);
        Ok(Namespace { database: database.to_string(), policy, matchers })
    }

    /// The measurement a metric shows as.
    pub fn measurement_of(&self, metric: &str) -> String {
        self.catalog.measurement_of(metric).unwrap_or_else(|| metric.to_string())
    }

    /// The labels of the namespace's series matching `extra` that hold at least one point
    /// (a series whose points were all deleted stays in the index until compaction; for
    /// InfluxQL it is gone, as in InfluxDB).
    pub fn live_series(&self, ns: &Namespace, extra: &[Matcher]) -> Result<Vec<Labels>, String> {
        self.engine.series_labels(&series_matchers(ns, extra)?, i64::MIN, i64::MAX).map_err(|e| e.to_string())
    }

    /// Every metric of a namespace with points (sorted). Asked of the engine as distinct
    /// label values, which an engine may answer from its index without building each
    /// series' labels (a SELECT asks this of its measurement's fields every time).
    pub fn metrics(&self, ns: &Namespace, extra: &[Matcher]) -> Result<Vec<String>, String> {
        let tuples = self
            .engine
            .distinct_label_values(&series_matchers(ns, extra)?, &[METRIC_NAME_LABEL], i64::MIN, i64::MAX)
            .map_err(|e| e.to_string())?;
        let names: BTreeSet<String> =
            tuples.into_iter().filter_map(|t| t.into_iter().next().flatten()).collect();
        Ok(names.into_iter().collect())
    }

    /// The measurements of a namespace (sorted, distinct), of series matching `extra`.
    pub fn measurements(&self, ns: &Namespace, extra: &[Matcher]) -> Result<Vec<String>, String> {
        let names: BTreeSet<String> =
            self.metrics(ns, extra)?.iter().map(|m| self.measurement_of(m)).collect();
        Ok(names.into_iter().collect())
    }

    /// The `(field, metric)` pairs a measurement may have, in any namespace, without
    /// reading: the catalog's pairs, and `value` (metric = the measurement) unless that metric
    /// belongs to another pair.
    pub fn field_candidates(&self, measurement: &str) -> Vec<(String, String)> {
        let mut candidates = self.catalog.fields_of(measurement);
        if self.catalog.pair(measurement).is_none() {
            candidates.push(("value".into(), measurement.to_string()));
        }
        candidates
    }

    /// The fields of a measurement in a namespace: `(field, metric)`, sorted by field.
    pub fn fields(&self, ns: &Namespace, measurement: &str) -> Result<Vec<(String, String)>, String> {
        let candidates = self.field_candidates(measurement);
        let present: BTreeSet<String> =
            self.metrics(ns, &[metric_matcher(&candidates)?])?.into_iter().collect();
        let mut fields: Vec<(String, String)> =
            candidates.into_iter().filter(|(_, m)| present.contains(m)).collect();
        fields.sort();
        fields.dedup();
        Ok(fields)
    }

    /// Nanoseconds in one unit of the times `select` gives: 1 when the engine keeps
    /// nanoseconds (the TSM engine), else a millisecond's.
    pub fn tick_ns(&self) -> i64 {
        if self.nanoseconds() {
            1
        } else {
            NS_PER_MS
        }
    }

    fn nanoseconds(&self) -> bool {
        self.engine.resolution_ns() < NS_PER_MS
    }

    /// The series of `metrics` in a namespace, with their points in `range` (ns), stamped in
    /// units of [`Store::tick_ns`].
    pub fn select(
        &self,
        ns: &Namespace,
        metrics: &[(String, String)],
        tags: &[Matcher],
        range: TimeRange,
    ) -> Result<Vec<strata_storage::Series>, String> {
        if metrics.is_empty() {
            return Ok(Vec::new());
        }
        let mut matchers = ns.matchers.clone();
        matchers.push(metric_matcher(metrics)?);
        matchers.extend_from_slice(tags);
        let series = if self.nanoseconds() {
            self.engine.select_ns(&matchers, range.min, range.max)
        } else {
            let (min_ms, max_ms) = range.to_ms();
            self.engine.select(&matchers, min_ms, max_ms)
        };
        series.map_err(|e| e.to_string())
    }
}

/// The namespace's matchers and `extra`, with `__name__=~".+"` when neither names the metric
/// (a series of the namespace always has one).
fn series_matchers(ns: &Namespace, extra: &[Matcher]) -> Result<Vec<Matcher>, String> {
    let mut matchers = ns.matchers.clone();
    matchers.extend_from_slice(extra);
    if !matchers.iter().any(|m| m.name() == METRIC_NAME_LABEL) {
        matchers.push(Matcher::new(MatchOp::RegexMatch, METRIC_NAME_LABEL, ".+").map_err(|e| e.to_string())?);
    }
    Ok(matchers)
}

/// `__name__` equal to one of the metrics.
pub fn metric_matcher(metrics: &[(String, String)]) -> Result<Matcher, String> {
    if metrics.len() == 1 {
        return Ok(Matcher::equal(METRIC_NAME_LABEL, metrics[0].1.clone()));
    }
    let alternatives: Vec<String> = metrics.iter().map(|(_, m)| regex::escape(m)).collect();
    Matcher::new(MatchOp::RegexMatch, METRIC_NAME_LABEL, alternatives.join("|")).map_err(|e| e.to_string())
}

/// A series' tags: its labels without `__name__`, `db`, `rp` (sorted by name).
pub fn tags_of(labels: &Labels) -> Vec<(String, String)> {
    labels
        .iter()
        .filter(|l| !is_reserved(&l.name))
        .map(|l| (l.name.to_string(), l.value.to_string()))
        .collect()
}

/// InfluxDB's series key: `measurement,tag=value,…` with tags sorted.
pub fn series_key(measurement: &str, tags: &[(String, String)]) -> String {
    let mut key = measurement.to_string();
    for (k, v) in tags {
        key.push(',');
        key.push_str(k);
        key.push('=');
        key.push_str(v);
    }
    key
}

/// What a line-protocol write with `db` (and `rp`) adds to its series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteTarget {
    /// The database.
    pub database: String,
    /// Labels for every series (`db`, and `rp` unless it is the default), unless a tag of
    /// the same name is on the line (the tag wins, as with VictoriaMetrics' `-influxDBLabel`).
    pub labels: Vec<(String, String)>,
    /// Prefix of the write path's series-cache keys, so that one line written to two
    /// databases is two series.
    pub key_prefix: Vec<u8>,
}

/// The target of a write to `database` (created with `autogen` when new, as a Telegraf
/// would have done first) and `policy` (which must exist).
pub fn write_target(catalog: &Catalog, database: &str, policy: Option<&str>) -> Result<WriteTarget, String> {
    catalog.ensure_database(database).map_err(|e| e.to_string())?;
    let db = catalog.database(database).ok_or_else(|| format!("database not found: {database:?}"))?;
    let mut labels = vec![(DB_LABEL.to_string(), database.to_string())];
    if let Some(p) = policy.filter(|p| !p.is_empty() && *p != db.default_policy) {
        if !db.policies.iter().any(|x| x.name == p) {
            return Err(format!("retention policy not found: {p}"));
        }
        labels.push((RP_LABEL.to_string(), p.to_string()));
    }
    let mut key_prefix = Vec::new();
    for (_, v) in &labels {
        key_prefix.extend_from_slice(v.as_bytes());
        key_prefix.push(0);
    }
    Ok(WriteTarget { database: database.to_string(), labels, key_prefix })
}

/// Adds the target's labels to a new series and registers its (measurement, field) pair
/// and the field's type (`float`, `integer`, … as InfluxDB names them); `Err` names a pair
/// that collides with another on the same metric, or a type other than the field's.
pub fn label_new_series(
    catalog: &Catalog,
    target: &WriteTarget,
    measurement: &str,
    labels: &mut Labels,
    field_type: &str,
) -> Result<(), String> {
    for (name, value) in &target.labels {
        if labels.get(name).is_none() {
            labels.set(name, value);
        }
    }
    let metric = labels.metric_name().unwrap_or_default().to_string();
    let field = if metric == measurement {
        "value".to_string()
    } else {
        metric.strip_prefix(measurement).and_then(|r| r.strip_prefix('_')).unwrap_or(&metric).to_string()
    };
    let pair = crate::catalog::FieldPair { measurement: measurement.to_string(), field };
    if let Err(other) = catalog.register(&metric, &pair).map_err(|e| e.to_string())? {
        return Err(format!(
            "measurement {:?} field {:?} makes the metric {metric:?}, which measurement {:?} field {:?} already makes; \
             rename one of them",
            pair.measurement, pair.field, other.measurement, other.field
        ));
    }
    match catalog.register_type(&target.database, &metric, field_type).map_err(|e| e.to_string())? {
        Ok(()) => Ok(()),
        Err(known) => Err(format!(
            "field type conflict: input field {:?} on measurement {:?} is type {field_type}, already exists as type {known}",
            pair.field, pair.measurement
        )),
    }
}
