//! The background maintenance thread: wakes every interval — and at once when an append
//! finds a cut due ([`BackgroundMaintenance::poke`], as Prometheus' appender signals its
//! compactor) — cuts the blocks that are due and compacts, and stops when its handle is
//! dropped or the engine is gone (it holds the engine weakly). Without the poke a server
//! restarted more often than the interval would never cut its head, and its WAL would grow.

use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

use super::BlockEngine;

/// The background maintenance thread of [`BlockEngine::start_maintenance`]; dropping it
/// stops the thread (waiting for a cut or compaction under way to finish).
#[derive(Debug)]
pub struct BackgroundMaintenance {
    stop: Arc<(Mutex<Signals>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
    last_error: Arc<Mutex<Option<String>>>,
}

/// What the thread is woken for.
#[derive(Debug, Default)]
struct Signals {
    stop: bool,
    /// A cut is due: run now rather than at the end of the interval.
    poked: bool,
}

impl BackgroundMaintenance {
    /// Starts the thread: [`BlockEngine::maintain`] every `every`, while `engine` lives.
    pub(super) fn spawn(engine: Weak<BlockEngine>, every: Duration) -> BackgroundMaintenance {
        let stop = Arc::new((Mutex::new(Signals::default()), Condvar::new()));
        let last_error = Arc::new(Mutex::new(None));
        let (thread_stop, thread_error) = (Arc::clone(&stop), Arc::clone(&last_error));
        let thread = std::thread::Builder::new()
            .name("strata-maintenance".into())
            .spawn(move || loop {
                let (flag, wake) = &*thread_stop;
                let stopped = flag.lock().unwrap_or_else(|e| e.into_inner());
                // The flag is checked before waiting, not only after a wake-up: a stop asked for
                // before this thread first took the lock would otherwise wait out `every` (a
                // shutdown stalled for the whole interval).
                let (mut signals, _) = wake
                    .wait_timeout_while(stopped, every, |s| !s.stop && !s.poked)
                    .unwrap_or_else(|e| e.into_inner());
                if signals.stop {
                    return;
                }
                signals.poked = false;
                drop(signals);
                let Some(engine) = engine.upgrade() else { return };
                let outcome = engine.maintain().err().map(|e| e.to_string());
                *thread_error.lock().unwrap_or_else(|e| e.into_inner()) = outcome;
            })
            .ok();
        BackgroundMaintenance { stop, thread, last_error }
    }
}

impl BackgroundMaintenance {
    /// Wakes the thread now (a cut is due); a no-op while it is already awake or poked.
    pub(super) fn poke(&self) {
        let (signals, wake) = &*self.stop;
        let mut signals = signals.lock().unwrap_or_else(|e| e.into_inner());
        if !signals.poked {
            signals.poked = true;
            wake.notify_all();
        }
    }

    /// The error of the last maintenance round, if it failed (blocks whose compaction
    /// failed are marked and left out next time).
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether the thread is running (it could not be started if the system refused).
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }
}

impl Drop for BackgroundMaintenance {
    fn drop(&mut self) {
        let (signals, wake) = &*self.stop;
        signals.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            // The engine may be dropped by the compactor thread itself (it held the last
            // reference for a moment): then it is on its way out, and must not wait for itself.
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}
