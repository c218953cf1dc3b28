//! The background compaction thread: wakes every interval, compacts what is due, and stops
//! when its handle is dropped or the engine is gone (it holds the engine weakly).

use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

use super::BlockEngine;

/// The background compaction thread of [`BlockEngine::start_compactor`]; dropping it stops
/// the thread (waiting for a compaction under way to finish).
#[derive(Debug)]
pub struct BackgroundCompactor {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
    last_error: Arc<Mutex<Option<String>>>,
}

impl BackgroundCompactor {
    /// Starts the thread: [`BlockEngine::compact`] every `every`, while `engine` lives.
    pub(super) fn spawn(engine: Weak<BlockEngine>, every: Duration) -> BackgroundCompactor {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let last_error = Arc::new(Mutex::new(None));
        let (thread_stop, thread_error) = (Arc::clone(&stop), Arc::clone(&last_error));
        let thread = std::thread::Builder::new()
            .name("strata-compactor".into())
            .spawn(move || loop {
                let (flag, wake) = &*thread_stop;
                let stopped = flag.lock().unwrap_or_else(|e| e.into_inner());
                let (stopped, _) = wake.wait_timeout(stopped, every).unwrap_or_else(|e| e.into_inner());
                if *stopped {
                    return;
                }
                drop(stopped);
                let Some(engine) = engine.upgrade() else { return };
                let outcome = engine.compact().err().map(|e| e.to_string());
                *thread_error.lock().unwrap_or_else(|e| e.into_inner()) = outcome;
            })
            .ok();
        BackgroundCompactor { stop, thread, last_error }
    }
}

impl BackgroundCompactor {
    /// The error of the last background compaction, if it failed (blocks whose compaction
    /// failed are marked and left out next time).
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether the thread is running (it could not be started if the system refused).
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }
}

impl Drop for BackgroundCompactor {
    fn drop(&mut self) {
        let (flag, wake) = &*self.stop;
        *flag.lock().unwrap_or_else(|e| e.into_inner()) = true;
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
