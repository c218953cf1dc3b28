//! Whether the server is healthy, for `/admin/status`: "degraded", with the reasons, while
//! something a user must look at is true — a block was left out as damaged at open, the
//! storage (WAL or head) refused a write, writes are being refused for load or shutdown, or
//! the engine's cuts or compactions fail. Passing troubles count for [`RECENT`] after they
//! were last seen, so a status polled every few seconds sees them.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a failed or refused write keeps the server degraded.
pub(crate) const RECENT: Duration = Duration::from_secs(60);

/// The last time each passing trouble was seen, and what it said.
#[derive(Debug, Default)]
pub(crate) struct Health {
    storage_failure: Mutex<Option<(Instant, String)>>,
    refused_write: Mutex<Option<(Instant, String)>>,
}

/// What the engine reports of itself, for [`Health::reasons`].
#[derive(Debug, Default)]
pub(crate) struct EngineHealth {
    /// Blocks left out at open, as "dir: error".
    pub(crate) skipped_blocks: Vec<String>,
    /// The last failed cut or maintenance round, if the last one failed.
    pub(crate) maintenance_error: Option<String>,
}

impl Health {
    /// The storage refused a write (the WAL could not be written, a series not created).
    pub(crate) fn storage_failed(&self, error: &str) {
        *lock(&self.storage_failure) = Some((Instant::now(), error.to_string()));
    }

    /// A write was turned away before the storage saw it (load or shutdown).
    pub(crate) fn write_refused(&self, why: &str) {
        *lock(&self.refused_write) = Some((Instant::now(), why.to_string()));
    }

    /// Why the server is degraded; empty when healthy.
    pub(crate) fn reasons(&self, engine: &EngineHealth, stopping: bool) -> Vec<String> {
        let mut reasons = Vec::new();
        if stopping {
            reasons.push("the server is shutting down and refuses writes".to_string());
        }
        if !engine.skipped_blocks.is_empty() {
            reasons.push(format!(
                "{} damaged block(s) left out at open: {}",
                engine.skipped_blocks.len(),
                engine.skipped_blocks.join("; ")
            ));
        }
        if let Some(e) = &engine.maintenance_error {
            reasons.push(format!("cutting or compacting blocks failed: {e}"));
        }
        if let Some((at, e)) = recent(&self.storage_failure) {
            reasons.push(format!("the storage refused a write {} s ago: {e}", at.elapsed().as_secs()));
        }
        if let Some((at, why)) = recent(&self.refused_write) {
            reasons.push(format!("writes were refused {} s ago: {why}", at.elapsed().as_secs()));
        }
        reasons
    }
}

fn recent(slot: &Mutex<Option<(Instant, String)>>) -> Option<(Instant, String)> {
    lock(slot).clone().filter(|(at, _)| at.elapsed() < RECENT)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthy_until_something_goes_wrong() {
        let health = Health::default();
        assert!(health.reasons(&EngineHealth::default(), false).is_empty());
        health.storage_failed("writing the WAL: No space left on device (os error 28)");
        health.write_refused("too many writes are waiting");
        let engine = EngineHealth {
            skipped_blocks: vec!["data/01H: index: bad magic".into()],
            maintenance_error: Some("compacting: disk full".into()),
        };
        let reasons = health.reasons(&engine, true);
        assert_eq!(reasons.len(), 5, "{reasons:?}");
        assert!(reasons[0].contains("shutting down"));
        assert!(reasons[1].starts_with("1 damaged block(s) left out at open: data/01H: index: bad magic"));
        assert!(reasons[2].ends_with("compacting: disk full"));
        assert!(reasons[3].contains("No space left on device"), "{}", reasons[3]);
        assert!(reasons[4].ends_with("too many writes are waiting"));
    }

    #[test]
    fn passing_troubles_are_forgotten_after_a_while() {
        let health = Health::default();
        let Some(long_ago) = Instant::now().checked_sub(RECENT) else { return };
        *lock(&health.storage_failure) = Some((long_ago, "old".into()));
        assert!(health.reasons(&EngineHealth::default(), false).is_empty());
    }
}
