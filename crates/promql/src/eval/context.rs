//! What one query's evaluation shares: its options and steps, its limits (deadline, cancel
//! flag, samples loaded) and the annotations it collects.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::engine::{EngineOptions, QueryError, Range};

#[derive(Debug)]
pub(crate) struct QueryContext {
    options: EngineOptions,
    range: Range,
    deadline: Instant,
    cancel: Option<Arc<AtomicBool>>,
    samples: Cell<usize>,
    warnings: RefCell<Vec<String>>,
    infos: RefCell<Vec<String>>,
}

impl QueryContext {
    pub(crate) fn new(
        options: &EngineOptions,
        range: Range,
        deadline: Instant,
        cancel: Option<Arc<AtomicBool>>,
    ) -> Self {
        QueryContext {
            options: options.clone(),
            range,
            deadline,
            cancel,
            samples: Cell::new(0),
            warnings: RefCell::default(),
            infos: RefCell::default(),
        }
    }

    pub(crate) fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// The query's own steps (what `@ start()` and `@ end()` refer to).
    pub(crate) fn range(&self) -> Range {
        self.range
    }

    /// Fails if the query is past its deadline or was cancelled.
    pub(crate) fn check(&self, stage: &'static str) -> Result<(), QueryError> {
        if self.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(QueryError::Canceled(stage));
        }
        if Instant::now() > self.deadline {
            return Err(QueryError::Timeout(stage));
        }
        Ok(())
    }

    /// Counts `n` samples read from storage against the limit.
    pub(crate) fn load_samples(&self, n: usize) -> Result<(), QueryError> {
        let total = self.samples.get() + n;
        self.samples.set(total);
        if total > self.options.max_samples {
            return Err(QueryError::TooManySamples("query execution"));
        }
        Ok(())
    }

    pub(crate) fn samples_loaded(&self) -> usize {
        self.samples.get()
    }

    pub(crate) fn warn(&self, message: String) {
        let mut w = self.warnings.borrow_mut();
        if !w.contains(&message) {
            w.push(message);
        }
    }

    pub(crate) fn info(&self, message: String) {
        let mut i = self.infos.borrow_mut();
        if !i.contains(&message) {
            i.push(message);
        }
    }

    pub(crate) fn take_annotations(&self) -> (Vec<String>, Vec<String>) {
        (self.warnings.take(), self.infos.take())
    }
}
