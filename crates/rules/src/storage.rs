//! What rules read from and write to: any PromQL-queryable store that can also take samples
//! (the server's engine; the unit-test harness' memory store).

use std::sync::RwLock;

use strata_model::{Labels, Matcher};
use strata_promql::{MemoryQueryable, Queryable};
use strata_storage::{Engine, Series, StorageError};

/// Where rule output goes (recorded series, `ALERTS`, stale markers). Appends are visible
/// at once (later rules of the group read them) and durable after [`SampleSink::flush`],
/// which a group calls once per evaluation, before any alert is sent.
pub trait SampleSink: Send + Sync {
    /// Appends samples; an error names why.
    fn append_samples(&self, samples: &[(Labels, i64, f64)]) -> Result<(), String>;

    /// Makes what was appended durable.
    fn flush(&self) -> Result<(), String> {
        Ok(())
    }
}

/// A store rules query and write their output into.
pub trait RuleStorage: Queryable + SampleSink {}

impl<E: Engine + ?Sized> RuleStorage for E {}

impl<E: Engine + ?Sized> SampleSink for E {
    fn append_samples(&self, samples: &[(Labels, i64, f64)]) -> Result<(), String> {
        if samples.is_empty() {
            return Ok(());
        }
        // One WAL sync per group evaluation (`flush`) rather than one per rule: a sync per
        // append took 40% of the evaluation time of 1,000 rules (docs/rules.md).
        let result = Engine::append_unsynced(self, samples).map_err(|e| e.to_string())?;
        match result.rejected.first() {
            // Samples a rule wrote earlier at the same time (a re-run after a restart) are
            // refused as duplicates; anything else is worth reporting.
            Some(r) if result.accepted == 0 && result.rejected.len() == samples.len() => {
                Err(format!("{r:?}"))
            }
            _ => Ok(()),
        }
    }

    fn flush(&self) -> Result<(), String> {
        self.sync_wal().map_err(|e| format!("syncing the WAL: {e}"))
    }
}

/// A memory store behind a lock: what `strata test rules` evaluates into.
#[derive(Debug, Default)]
pub struct MemoryStorage(pub RwLock<MemoryQueryable>);

impl Queryable for MemoryStorage {
    fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Series>, StorageError> {
        self.0.read().map_err(|_| StorageError::Invalid("poisoned lock".into()))?.select(matchers, mint, maxt)
    }
}

impl RuleStorage for MemoryStorage {}

impl SampleSink for MemoryStorage {
    fn append_samples(&self, samples: &[(Labels, i64, f64)]) -> Result<(), String> {
        let mut store = self.0.write().map_err(|_| "poisoned lock".to_string())?;
        for (labels, t, v) in samples {
            store.add(labels, *t, *v);
        }
        Ok(())
    }
}
