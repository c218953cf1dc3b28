//! The head's admission hook for a server: the limits decide (under the head's creation
//! lock), the tracker learns (after it, a batch at a time).

use std::sync::Arc;

use strata_model::Labels;

use crate::limits::Limiter;
use crate::tracker::Tracker;

/// Limits and tracking together, as one `strata_storage::SeriesAdmission`.
#[derive(Debug)]
pub struct Admission {
    pub limiter: Arc<Limiter>,
    pub tracker: Arc<Tracker>,
}

impl strata_storage::SeriesAdmission for Admission {
    fn admit(&self, labels: &Labels, head_series: usize) -> Result<(), String> {
        self.limiter.admit(labels, head_series)
    }

    fn created(&self, labels: &Labels, head_series: usize) {
        self.limiter.created(labels, head_series);
    }

    fn removed(&self, removed: &[Labels], head_series: usize) {
        strata_storage::SeriesAdmission::removed(&*self.limiter, removed, head_series);
    }

    fn learned(&self, created: &[&Labels], head_series: usize) {
        self.tracker.created_many(created, head_series as u64);
    }

    fn written(&self, sampled: &[Labels], weight: u64) {
        self.tracker.written(sampled, weight);
    }
}
