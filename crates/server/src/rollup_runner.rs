//! The server's rollup job thread: runs `strata_rollup::job` every `rollup-interval`, a
//! bounded number of spans at a time so a long backfill still notices a stop, and keeps the
//! figures `/metrics` and `/api/v1/status/rollups` report (progress, lag, errors). It also
//! holds the block engine's time retention at the finest tier's watermark, so raw samples
//! are never deleted before they are rolled up (Thanos' footgun, thanos#7908); a job that
//! keeps failing therefore keeps raw data too, and says so in `/metrics`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use strata_rollup::job::{self, SpanDone};
use strata_rollup::RollupStore;
use strata_storage::BlockEngine;

/// Spans one call of the job does before it checks for a stop.
const SPANS_PER_CALL: u64 = 16;

/// Rollups of a running server: the store, the job's figures and its thread.
#[derive(Debug)]
pub(crate) struct Rollups {
    pub(crate) store: Arc<RollupStore>,
    pub(crate) stats: Arc<RunStats>,
    stop: Arc<AtomicBool>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// What the job has done since the server started.
#[derive(Debug, Default)]
pub(crate) struct RunStats {
    pub(crate) runs: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) last_error: Mutex<Option<String>>,
    /// Per tier (index as in the store's tiers): spans and windows written, inputs read,
    /// spans still due at the last report.
    pub(crate) tiers: Mutex<Vec<TierRunStats>>,
}

#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct TierRunStats {
    pub(crate) spans: u64,
    pub(crate) windows: u64,
    pub(crate) inputs: u64,
    pub(crate) backlog: u64,
}

impl RunStats {
    fn span_done(&self, done: &SpanDone) {
        let mut tiers = self.tiers.lock().unwrap_or_else(|e| e.into_inner());
        if tiers.len() <= done.tier {
            tiers.resize(done.tier + 1, TierRunStats::default());
        }
        let t = &mut tiers[done.tier];
        t.spans += 1;
        t.windows += done.windows;
        t.inputs += done.inputs;
        t.backlog = done.remaining;
    }
}

impl Rollups {
    /// Opens the store under `DATA/rollups` and starts the job thread.
    pub(crate) fn start(engine: Arc<BlockEngine>, store: RollupStore, interval: Duration) -> Rollups {
        let store = Arc::new(store);
        hold_raw(&engine, &store);
        let stats = Arc::new(RunStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (store, stats, stop) = (store.clone(), stats.clone(), stop.clone());
            std::thread::Builder::new()
                .name("rollups".into())
                .spawn(move || run_loop(&engine, &store, &stats, &stop, interval))
                .ok()
        };
        Rollups { store, stats, stop, thread: Mutex::new(thread) }
    }

    /// Stops the job (after the span in progress) and waits for its thread.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = t.join();
        }
    }
}

impl Drop for Rollups {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Raw retention waits for the finest tier: samples it has not rolled up are kept.
fn hold_raw(engine: &BlockEngine, store: &RollupStore) {
    let watermark = if store.tiers().is_empty() { Some(i64::MAX - 1) } else { store.tier_state(0).watermark };
    engine.hold_retention(watermark.map_or(i64::MIN, |w| w + 1));
}

fn run_loop(
    engine: &BlockEngine,
    store: &RollupStore,
    stats: &RunStats,
    stop: &AtomicBool,
    interval: Duration,
) {
    while !stop.load(Ordering::SeqCst) {
        stats.runs.fetch_add(1, Ordering::Relaxed);
        let mut progress = |done: &SpanDone| {
            stats.span_done(done);
            hold_raw(engine, store);
        };
        // A panic in the job is reported like an error: the thread must go on serving later runs.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            job::run(engine, store, Some(SPANS_PER_CALL), &mut progress)
        }))
        .unwrap_or_else(|panic| {
            let why = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("no message");
            Err(strata_rollup::RollupError::Config(format!("the rollup job panicked: {why}")))
        });
        let more = match outcome {
            Ok(report) => report.spans >= SPANS_PER_CALL,
            Err(e) => {
                tracing::warn!(error = %e, "rollup job failed");
                stats.errors.fetch_add(1, Ordering::Relaxed);
                *stats.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.to_string());
                false
            }
        };
        if more {
            continue;
        }
        // Sleep in short slices so a stop is seen quickly.
        let mut slept = Duration::ZERO;
        while slept < interval && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(100));
            slept += Duration::from_millis(100);
        }
    }
}
