//! The head's admission hook for a server: the limits decide, the tracker learns.

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
        self.tracker.created(labels, head_series as u64);
    }

    fn written(&self, sampled: &[Labels], weight: u64) {
        self.tracker.written(sampled, weight);
    }
}
