//! A recording rule: its expression's result, renamed and relabelled, written back as new
//! series; series it stops producing get a staleness marker.

use std::collections::{BTreeMap, HashSet};

use strata_model::{Labels, METRIC_NAME_LABEL, STALE_NAN_BITS};

use crate::context::{instant_vector, set_label, EvalContext};
use crate::file::RuleSpec;
use crate::rule_status::RuleStatus;

#[derive(Debug, Clone)]
pub struct RecordingRule {
    pub name: String,
    pub expr: String,
    /// The group's labels with the rule's over them.
    pub labels: BTreeMap<String, String>,
    pub status: RuleStatus,
    previous: HashSet<Labels>,
}

impl RecordingRule {
    pub fn new(spec: &RuleSpec, group_labels: &BTreeMap<String, String>) -> Self {
        let mut labels = group_labels.clone();
        labels.extend(spec.labels.clone());
        RecordingRule {
            name: spec.name.clone(),
            expr: spec.expr.clone(),
            labels,
            status: RuleStatus::default(),
            previous: HashSet::new(),
        }
    }

    /// Evaluates at `t` (the group's time minus its query offset) and writes the result;
    /// returns the number of series written.
    pub fn evaluate(&mut self, t: i64, limit: usize, ctx: &EvalContext<'_>) -> Result<usize, String> {
        let samples = instant_vector(ctx, &self.expr, t)?;
        let mut out = Vec::with_capacity(samples.len());
        let mut seen = HashSet::with_capacity(samples.len());
        for (mut labels, v) in samples {
            labels.set(METRIC_NAME_LABEL, &self.name);
            for (name, value) in &self.labels {
                set_label(&mut labels, name, value);
            }
            if !seen.insert(labels.clone()) {
                return Err(
                    "vector contains metrics with the same labelset after applying rule labels".into()
                );
            }
            out.push((labels, t, v));
        }
        if limit > 0 && out.len() > limit {
            return Err(format!("exceeded limit of {limit} with {} series", out.len()));
        }
        let written = out.len();
        for gone in self.previous.iter().filter(|l| !seen.contains(*l)) {
            out.push((gone.clone(), t, f64::from_bits(STALE_NAN_BITS)));
        }
        ctx.sink.append_samples(&out)?;
        self.previous = seen;
        Ok(written)
    }
}
