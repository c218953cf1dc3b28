//! SHOW STATS: figures of the server's parts as InfluxDB shows its own — a series per module
//! (with the module's tags), its counters as columns in name order, one row. The server
//! says what it has through [`Statistics`]; the evaluator alone (a test's) has none.

use std::collections::BTreeMap;

use crate::result::{Series, Value};

/// One module's figures.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Module {
    /// `httpd`, `write`, `cq`, `subscriber`, ….
    pub name: String,
    pub tags: BTreeMap<String, String>,
    pub values: BTreeMap<String, i64>,
}

/// What a server can report.
pub trait Statistics: Send + Sync {
    /// Every module's figures now.
    fn modules(&self) -> Vec<Module>;
}

/// SHOW STATS [FOR 'module'].
pub fn show(stats: Option<&dyn Statistics>, module: Option<&str>) -> Result<Vec<Series>, String> {
    let Some(stats) = stats else { return Err("SHOW STATS: no statistics here (it needs a server)".into()) };
    Ok(stats
        .modules()
        .into_iter()
        .filter(|m| module.is_none_or(|wanted| m.name == wanted))
        .map(|m| Series {
            name: m.name,
            tags: m.tags,
            columns: m.values.keys().cloned().collect(),
            values: vec![m.values.into_values().map(Value::Integer).collect()],
            ..Series::default()
        })
        .collect())
}
