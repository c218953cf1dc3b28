//! What one query's evaluation shares: its options and steps, its limits (deadline, cancel
//! flag, samples loaded) and the annotations it collects.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::engine::{EngineOptions, QueryError, Range, RoutedSegment};

#[derive(Debug)]
pub(crate) struct QueryContext {
    options: EngineOptions,
    range: Range,
    /// An instant query (its range is the one step).
    instant: bool,
    limits: Limits,
    warnings: RefCell<Vec<String>>,
    infos: RefCell<Vec<String>>,
    /// Which source answered which steps of each routed range function.
    route: RefCell<Vec<RoutedSegment>>,
}

/// A query's limits, shared by the threads that read its series in parallel.
#[derive(Debug)]
pub(crate) struct Limits {
    deadline: Instant,
    cancel: Option<Arc<AtomicBool>>,
    samples: AtomicUsize,
    max_samples: usize,
}

impl Limits {
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
        let total = self.samples.fetch_add(n, Ordering::Relaxed) + n;
        if total > self.max_samples {
            return Err(QueryError::TooManySamples("query execution"));
        }
        Ok(())
    }
}

impl QueryContext {
    pub(crate) fn new(
        options: &EngineOptions,
        range: Range,
        instant: bool,
        deadline: Instant,
        cancel: Option<Arc<AtomicBool>>,
    ) -> Self {
        let limits =
            Limits { deadline, cancel, samples: AtomicUsize::new(0), max_samples: options.max_samples };
        QueryContext {
            options: options.clone(),
            range,
            instant,
            limits,
            warnings: RefCell::default(),
            infos: RefCell::default(),
            route: RefCell::default(),
        }
    }

    pub(crate) fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// Whether this is an instant query.
    pub(crate) fn is_instant(&self) -> bool {
        self.instant
    }

    /// The query's own steps (what `@ start()` and `@ end()` refer to).
    pub(crate) fn range(&self) -> Range {
        self.range
    }

    /// Fails if the query is past its deadline or was cancelled.
    pub(crate) fn check(&self, stage: &'static str) -> Result<(), QueryError> {
        self.limits.check(stage)
    }

    /// The limits, for work spread over threads.
    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    pub(crate) fn samples_loaded(&self) -> usize {
        self.limits.samples.load(Ordering::Relaxed)
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

    /// Records a routed run of steps.
    pub(crate) fn route(&self, segment: RoutedSegment) {
        self.route.borrow_mut().push(segment);
    }

    pub(crate) fn take_route(&self) -> Vec<RoutedSegment> {
        self.route.take()
    }

    pub(crate) fn take_annotations(&self) -> (Vec<String>, Vec<String>) {
        (self.warnings.take(), self.infos.take())
    }
}
