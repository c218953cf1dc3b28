//! What a rule evaluation reads and writes: instant queries (the local PromQL engine over
//! the store, or a remote Prometheus API for `strata alert`), where its output goes, and the
//! server's external labels and URL.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use strata_model::{Labels, METRIC_NAME_LABEL};
use strata_promql::{Expr, QueryEngine, Value};

use crate::storage::{RuleStorage, SampleSink};
use crate::template::QuerySample;

/// How rules read: an instant query's samples at a time (a scalar is one sample with no
/// labels, as Prometheus' rule evaluation makes it).
pub trait RuleQuerier: Send + Sync {
    fn instant(&self, expr: &str, t: i64) -> Result<Vec<(Labels, f64)>, String>;
}

/// Parsed expressions by their text, so a rule's expression is parsed once rather than at
/// every evaluation. Bounded: templates' `query` calls can build any text.
#[derive(Default)]
pub struct ExprCache(Mutex<HashMap<String, Arc<Expr>>>);

/// Most expressions an [`ExprCache`] keeps.
const EXPR_CACHE_CAPACITY: usize = 100_000;

impl std::fmt::Debug for ExprCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExprCache").finish_non_exhaustive()
    }
}

impl ExprCache {
    fn parsed(&self, engine: &QueryEngine, text: &str) -> Result<Arc<Expr>, String> {
        if let Some(expr) = self.0.lock().ok().and_then(|m| m.get(text).cloned()) {
            return Ok(expr);
        }
        let expr = Arc::new(engine.parse(text, Default::default()).map_err(|e| e.to_string())?);
        if let Ok(mut map) = self.0.lock() {
            if map.len() < EXPR_CACHE_CAPACITY {
                map.insert(text.to_string(), expr.clone());
            }
        }
        Ok(expr)
    }
}

/// The local PromQL engine over a store.
pub struct LocalQuerier<'a> {
    pub storage: &'a dyn RuleStorage,
    pub engine: &'a QueryEngine,
    /// Where parsed expressions are kept between evaluations (none: parse every time).
    pub cache: Option<&'a ExprCache>,
}

impl std::fmt::Debug for LocalQuerier<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalQuerier").finish_non_exhaustive()
    }
}

impl RuleQuerier for LocalQuerier<'_> {
    fn instant(&self, expr: &str, t: i64) -> Result<Vec<(Labels, f64)>, String> {
        let result = match self.cache {
            Some(cache) => {
                let parsed = cache.parsed(self.engine, expr)?;
                self.engine.instant_expr(self.storage, &parsed, t, None)
            }
            None => self.engine.instant(self.storage, expr, t),
        }
        .map_err(|e| e.to_string())?;
        match result.value {
            Value::Vector(samples) => Ok(samples.into_iter().map(|s| (s.labels, s.v)).collect()),
            Value::Scalar { v, .. } => Ok(vec![(Labels::empty(), v)]),
            other => Err(format!("rule result is not a vector or scalar: got {}", other.type_name())),
        }
    }
}

/// Shared by every rule of an evaluation.
pub struct EvalContext<'a> {
    pub querier: &'a dyn RuleQuerier,
    pub sink: &'a dyn SampleSink,
    pub external_labels: &'a BTreeMap<String, String>,
    pub external_url: &'a str,
}

impl std::fmt::Debug for EvalContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvalContext").field("external_url", &self.external_url).finish_non_exhaustive()
    }
}

/// An instant query's samples.
pub(crate) fn instant_vector(
    ctx: &EvalContext<'_>,
    expr: &str,
    t: i64,
) -> Result<Vec<(Labels, f64)>, String> {
    ctx.querier.instant(expr, t)
}

/// What a template's `query` gives: an instant query at the evaluation time.
pub(crate) fn template_query(ctx: &EvalContext<'_>, expr: &str, t: i64) -> Result<Vec<QuerySample>, String> {
    Ok(instant_vector(ctx, expr, t)?
        .into_iter()
        .map(|(labels, value)| QuerySample { labels: label_map(&labels), value })
        .collect())
}

pub(crate) fn label_map(labels: &Labels) -> BTreeMap<String, String> {
    labels.iter().map(|l| (l.name.clone(), l.value.clone())).collect()
}

/// `labels` with `name` set (an empty value removes it, as Prometheus' label builder does).
pub(crate) fn set_label(labels: &mut Labels, name: &str, value: &str) {
    if value.is_empty() {
        labels.remove(name);
    } else {
        labels.set(name, value);
    }
}

/// `labels` with `__name__` set.
pub(crate) fn with_name(labels: &Labels, name: &str) -> Labels {
    let mut out = labels.clone();
    out.set(METRIC_NAME_LABEL, name);
    out
}
