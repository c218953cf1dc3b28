//! What InfluxQL knows beyond the series: the databases and their retention policies, and
//! for every metric line protocol wrote, the (measurement, field) pair it came from.
//!
//! Why the pairs: decision 2 names a metric `m_f` (`m` for a field `value`), which loses
//! where the measurement ends — `cpu`+`usage_idle` and `cpu_usage`+`idle` are both
//! `cpu_usage_idle`. InfluxQL must show measurements and fields as they were written, so the
//! write path registers each new metric's pair here, and refuses a line whose pair would
//! share a metric with a different pair. A metric without a pair (written by Prometheus'
//! protocols) is measurement `metric`, field `value`.
//!
//! Databases are namespaces by label (docs/influxql.md): a series written with `db=D` has
//! the label `db="D"`; retention policies other than the database's default add `rp`.
//!
//! Field types: Strata stores every field as a float, but keeps the type line protocol
//! first gave each field (float, integer, unsigned, boolean) per database, so that a later
//! write of another type is refused as InfluxDB refuses it (a field type conflict) and
//! SHOW FIELD KEYS names the type written. InfluxDB keeps types per shard, so another
//! retention policy or a new shard group could take another type; Strata's scope, the
//! database, is stricter. DROP DATABASE forgets its types.
//!
//! Invariant: the file `catalog.json` is replaced atomically (temporary file, fsync, rename)
//! and is written before a change is acknowledged, so a registered pair survives a crash.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

mod continuous;
mod subscriptions;
mod users;
pub use continuous::StoredQuery;
pub use subscriptions::{check_destination, Subscription};
pub use users::{Privilege, User};

/// The name InfluxDB gives the retention policy CREATE DATABASE makes.
pub const AUTOGEN: &str = "autogen";

/// A catalog that could not be read or saved.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("reading the InfluxQL catalog {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the InfluxQL catalog {path} is damaged: {detail}")]
    Damaged { path: PathBuf, detail: String },
    #[error("saving the InfluxQL catalog {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// A retention policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub name: String,
    /// How long data is kept, ns; 0 = forever.
    pub duration_ns: i64,
    pub shard_duration_ns: i64,
    pub replication: i64,
}

/// A database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Database {
    pub name: String,
    pub default_policy: String,
    pub policies: Vec<Policy>,
    /// In creation order; absent from catalogs written before they existed.
    #[serde(default)]
    pub continuous_queries: Vec<StoredQuery>,
    /// In creation order; absent from catalogs written before they existed.
    #[serde(default)]
    pub subscriptions: Vec<Subscription>,
}

/// Where a metric came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FieldPair {
    pub measurement: String,
    pub field: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    /// In creation order (SHOW DATABASES lists them so).
    databases: Vec<Database>,
    /// metric → pair.
    fields: BTreeMap<String, FieldPair>,
    /// In creation order (SHOW USERS lists them so); absent from catalogs written before
    /// users existed.
    #[serde(default)]
    users: Vec<users::User>,
    /// Database → metric → type name; absent from
    /// catalogs written before types were kept (their fields read as floats).
    #[serde(default)]
    field_types: BTreeMap<String, BTreeMap<String, String>>,
}

/// The catalog, in memory and (with a path) on disk.
#[derive(Debug)]
pub struct Catalog {
    path: Option<PathBuf>,
    state: RwLock<Indexed>,
}

#[derive(Debug, Default)]
struct Indexed {
    state: State,
    /// measurement → (field, metric), from `state.fields`.
    by_measurement: HashMap<String, Vec<(String, String)>>,
}

impl Indexed {
    fn new(state: State) -> Indexed {
        let mut by_measurement: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for (metric, pair) in &state.fields {
            by_measurement
                .entry(pair.measurement.clone())
                .or_default()
                .push((pair.field.clone(), metric.clone()));
        }
        Indexed { state, by_measurement }
    }

    fn database(&self, name: &str) -> Option<&Database> {
        self.state.databases.iter().find(|d| d.name == name)
    }
}

/// The shard group duration InfluxDB picks for a retention duration (ns; 0 = forever).
pub fn default_shard_duration(duration_ns: i64) -> i64 {
    const HOUR: i64 = 3_600_000_000_000;
    match duration_ns {
        0 => 168 * HOUR,
        d if d < 2 * 24 * HOUR => HOUR,
        d if d <= 180 * 24 * HOUR => 24 * HOUR,
        _ => 168 * HOUR,
    }
}

impl Catalog {
    /// A catalog kept only in memory.
    pub fn in_memory() -> Catalog {
        Catalog { path: None, state: RwLock::new(Indexed::default()) }
    }

    /// Opens (or starts) the catalog in `dir/catalog.json`.
    pub fn open(dir: &Path) -> Result<Catalog, CatalogError> {
        let path = dir.join("catalog.json");
        let state = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| CatalogError::Damaged { path: path.clone(), detail: e.to_string() })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(source) => return Err(CatalogError::Read { path, source }),
        };
        Ok(Catalog { path: Some(path), state: RwLock::new(Indexed::new(state)) })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Indexed> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Indexed> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    fn save(&self, state: &State) -> Result<(), CatalogError> {
        let Some(path) = &self.path else { return Ok(()) };
        let write = |source| CatalogError::Write { path: path.clone(), source };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(write)?;
        }
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec(state).unwrap_or_default();
        {
            use std::io::Write;
            let mut file = std::fs::File::create(&tmp).map_err(write)?;
            file.write_all(&bytes).map_err(write)?;
            file.sync_all().map_err(write)?;
        }
        std::fs::rename(&tmp, path).map_err(write)?;
        if let Some(dir) = path.parent() {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }

    /// The databases in creation order.
    pub fn databases(&self) -> Vec<Database> {
        self.read().state.databases.clone()
    }

    /// One database.
    pub fn database(&self, name: &str) -> Option<Database> {
        self.read().database(name).cloned()
    }

    /// Whether `name` exists (cheap: the write path asks per request).
    pub fn has_database(&self, name: &str) -> bool {
        self.read().database(name).is_some()
    }

    /// CREATE DATABASE: a no-op when it exists with the same policy; `Err` is the statement's
    /// error text.
    pub fn create_database(
        &self,
        name: &str,
        policy: Option<Policy>,
    ) -> Result<Result<(), String>, CatalogError> {
        let mut guard = self.write();
        if let Some(existing) = guard.database(name) {
            if let Some(p) = &policy {
                let same = existing.policies.iter().any(|e| e == p) && existing.default_policy == p.name;
                if !same {
                    return Ok(Err("retention policy conflicts with an existing policy".into()));
                }
            }
            return Ok(Ok(()));
        }
        let policy = policy.unwrap_or_else(autogen_policy);
        let db = Database {
            name: name.to_string(),
            default_policy: policy.name.clone(),
            policies: vec![policy],
            continuous_queries: Vec::new(),
            subscriptions: Vec::new(),
        };
        guard.state.databases.push(db);
        self.save(&guard.state)?;
        Ok(Ok(()))
    }

    /// Creates `name` with `autogen` unless it exists (a write to a new database). Returns
    /// whether it was created.
    pub fn ensure_database(&self, name: &str) -> Result<bool, CatalogError> {
        if self.has_database(name) {
            return Ok(false);
        }
        self.create_database(name, None).map(|_| true)
    }

    /// DROP DATABASE (a missing one is no error, as in InfluxDB).
    pub fn drop_database(&self, name: &str) -> Result<(), CatalogError> {
        let mut guard = self.write();
        let before = guard.state.databases.len();
        guard.state.databases.retain(|d| d.name != name);
        let had_types = guard.state.field_types.remove(name).is_some();
        if guard.state.databases.len() != before || had_types {
            self.save(&guard.state)?;
        }
        Ok(())
    }

    /// CREATE RETENTION POLICY; `Err` is the statement's error text.
    pub fn create_policy(
        &self,
        database: &str,
        policy: Policy,
        make_default: bool,
    ) -> Result<Result<(), String>, CatalogError> {
        let mut guard = self.write();
        let Some(db) = guard.state.databases.iter_mut().find(|d| d.name == database) else {
            return Ok(Err(format!("database not found: {database}")));
        };
        if let Some(existing) = db.policies.iter().find(|p| p.name == policy.name) {
            if *existing != policy {
                return Ok(Err("retention policy already exists".into()));
            }
        } else {
            db.policies.push(policy.clone());
        }
        if make_default {
            db.default_policy = policy.name;
        }
        let state = guard.state.clone();
        self.save(&state)?;
        Ok(Ok(()))
    }

    /// DROP RETENTION POLICY; `Err` is the statement's error text.
    pub fn drop_policy(&self, database: &str, name: &str) -> Result<Result<(), String>, CatalogError> {
        self.change_database(database, |db| {
            db.policies.retain(|p| p.name != name);
            db.subscriptions.retain(|s| s.policy != name);
            if db.default_policy == name {
                db.default_policy.clear();
            }
            Ok(true)
        })
    }

    /// Applies `change` to `database` under the write lock and saves the catalog when it
    /// says it changed something (`Ok(true)`); `Err` is the statement's error text, a
    /// missing database's too.
    fn change_database(
        &self,
        database: &str,
        change: impl FnOnce(&mut Database) -> Result<bool, String>,
    ) -> Result<Result<(), String>, CatalogError> {
        let mut guard = self.write();
        let Some(db) = guard.state.databases.iter_mut().find(|d| d.name == database) else {
            return Ok(Err(format!("database not found: {database}")));
        };
        match change(db) {
            Ok(true) => self.save(&guard.state).map(Ok),
            Ok(false) => Ok(Ok(())),
            Err(e) => Ok(Err(e)),
        }
    }

    /// The measurement a metric came from, if line protocol wrote it (without copying the
    /// field: SHOW asks this of hundreds of metrics).
    pub fn measurement_of(&self, metric: &str) -> Option<String> {
        self.read().state.fields.get(metric).map(|p| p.measurement.clone())
    }

    /// The pair a metric came from, if line protocol wrote it.
    pub fn pair(&self, metric: &str) -> Option<FieldPair> {
        self.read().state.fields.get(metric).cloned()
    }

    /// The (field, metric) pairs registered for a measurement.
    pub fn fields_of(&self, measurement: &str) -> Vec<(String, String)> {
        self.read().by_measurement.get(measurement).cloned().unwrap_or_default()
    }

    /// Registers that line protocol wrote `metric` from `pair`. `Ok(Err(other))` when the
    /// metric already came from another pair: the write must be refused. Saved before it
    /// returns when new.
    pub fn register(&self, metric: &str, pair: &FieldPair) -> Result<Result<(), FieldPair>, CatalogError> {
        if let Some(known) = self.read().state.fields.get(metric) {
            return Ok(if known == pair { Ok(()) } else { Err(known.clone()) });
        }
        let mut guard = self.write();
        if let Some(known) = guard.state.fields.get(metric) {
            return Ok(if known == pair { Ok(()) } else { Err(known.clone()) });
        }
        guard.state.fields.insert(metric.to_string(), pair.clone());
        guard
            .by_measurement
            .entry(pair.measurement.clone())
            .or_default()
            .push((pair.field.clone(), metric.to_string()));
        self.save(&guard.state)?;
        Ok(Ok(()))
    }

    /// The type line protocol first gave `metric` in `database` (`None`: none kept).
    pub fn field_type(&self, database: &str, metric: &str) -> Option<String> {
        self.read().state.field_types.get(database)?.get(metric).cloned()
    }

    /// Records that `metric` is written with type `kind` in `database`; `Ok(Err(known))`
    /// when it already has another type there: the write must be refused. Saved before it
    /// returns when new.
    pub fn register_type(
        &self,
        database: &str,
        metric: &str,
        kind: &str,
    ) -> Result<Result<(), String>, CatalogError> {
        let check = |known: &String| if known == kind { Ok(()) } else { Err(known.clone()) };
        if let Some(known) = self.read().state.field_types.get(database).and_then(|m| m.get(metric)) {
            return Ok(check(known));
        }
        let mut guard = self.write();
        let types = guard.state.field_types.entry(database.to_string()).or_default();
        if let Some(known) = types.get(metric) {
            return Ok(check(known));
        }
        types.insert(metric.to_string(), kind.to_string());
        self.save(&guard.state)?;
        Ok(Ok(()))
    }

    /// Forgets the pairs of `metrics` (their series are gone).
    pub fn forget(&self, metrics: &[String]) -> Result<(), CatalogError> {
        let mut guard = self.write();
        let mut changed = false;
        for m in metrics {
            changed |= guard.state.fields.remove(m).is_some();
            for types in guard.state.field_types.values_mut() {
                changed |= types.remove(m).is_some();
            }
        }
        if changed {
            let state = std::mem::take(&mut guard.state);
            *guard = Indexed::new(state);
            self.save(&guard.state)?;
        }
        Ok(())
    }
}

/// `autogen`: kept forever, 7-day shard groups, one replica.
pub fn autogen_policy() -> Policy {
    Policy {
        name: AUTOGEN.into(),
        duration_ns: 0,
        shard_duration_ns: default_shard_duration(0),
        replication: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(m: &str, f: &str) -> FieldPair {
        FieldPair { measurement: m.into(), field: f.into() }
    }

    #[test]
    fn pairs_collide_and_persist() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::open(dir.path()).unwrap();
        assert_eq!(catalog.register("cpu_usage_idle", &pair("cpu", "usage_idle")).unwrap(), Ok(()));
        assert_eq!(catalog.register("cpu_usage_idle", &pair("cpu", "usage_idle")).unwrap(), Ok(()));
        assert_eq!(
            catalog.register("cpu_usage_idle", &pair("cpu_usage", "idle")).unwrap(),
            Err(pair("cpu", "usage_idle"))
        );
        catalog.create_database("db0", None).unwrap().unwrap();
        drop(catalog);
        let again = Catalog::open(dir.path()).unwrap();
        assert_eq!(again.pair("cpu_usage_idle"), Some(pair("cpu", "usage_idle")));
        assert_eq!(again.fields_of("cpu"), vec![("usage_idle".to_string(), "cpu_usage_idle".to_string())]);
        assert!(again.has_database("db0"));
    }

    #[test]
    fn a_field_keeps_its_first_type_per_database_until_the_database_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::open(dir.path()).unwrap();
        catalog.create_database("db0", None).unwrap().unwrap();
        assert_eq!(catalog.register_type("db0", "cpu", "integer").unwrap(), Ok(()));
        assert_eq!(catalog.register_type("db0", "cpu", "integer").unwrap(), Ok(()));
        assert_eq!(catalog.register_type("db0", "cpu", "float").unwrap(), Err("integer".to_string()));
        assert_eq!(catalog.register_type("db1", "cpu", "float").unwrap(), Ok(()), "another database");
        drop(catalog);
        let again = Catalog::open(dir.path()).unwrap();
        assert_eq!(again.field_type("db0", "cpu").as_deref(), Some("integer"), "kept on disk");
        again.drop_database("db0").unwrap();
        assert_eq!(again.field_type("db0", "cpu"), None);
        assert_eq!(again.register_type("db0", "cpu", "float").unwrap(), Ok(()));
        assert_eq!(again.field_type("db1", "cpu").as_deref(), Some("float"));
    }

    #[test]
    fn databases_and_policies_as_influxdb() {
        let catalog = Catalog::in_memory();
        catalog.create_database("db0", None).unwrap().unwrap();
        let day = Policy {
            name: "p".into(),
            duration_ns: 86_400_000_000_000,
            shard_duration_ns: 3_600_000_000_000,
            replication: 1,
        };
        assert_eq!(
            catalog.create_database("db0", Some(day.clone())).unwrap(),
            Err("retention policy conflicts with an existing policy".into())
        );
        catalog.create_policy("db0", day, true).unwrap().unwrap();
        assert_eq!(catalog.database("db0").unwrap().default_policy, "p");
        assert_eq!(
            catalog.create_policy("nodb", autogen_policy(), false).unwrap(),
            Err("database not found: nodb".into())
        );
        catalog.drop_database("db0").unwrap();
        assert!(catalog.databases().is_empty());
    }

    #[test]
    fn a_damaged_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("catalog.json"), b"{not json").unwrap();
        let err = Catalog::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("catalog.json") && err.contains("damaged"), "{err}");
    }
}
