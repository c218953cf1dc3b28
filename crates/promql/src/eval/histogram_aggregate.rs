//! Aggregating native histograms: `sum` and `avg` add them (in the coarsest schema of the
//! group, the widest zero bucket), `count` and `group` count them like floats. A group that
//! has floats and histograms at one step gives no `sum`/`avg` there (Prometheus warns:
//! "encountered a mix of histograms and floats for aggregation"); the other aggregations
//! read floats only.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use strata_model::histogram::FloatHistogram;

use super::{Evaluator, StepSeries};
use crate::engine::QueryError;
use crate::native_histogram::arith::{custom_bounds_differ, ArithError};
use crate::native_histogram::kahan::{kahan_mean, kahan_sum};

use super::histogram_windows::{resets_conflict, CONFLICTING_RESETS};

impl Evaluator<'_> {
    /// Adds the histograms of `input` to the groups' results in `out` (one per group).
    pub(crate) fn aggregate_histograms(
        &self,
        op: &str,
        input: &[StepSeries],
        group_of: &[usize],
        out: &mut [StepSeries],
    ) -> Result<(), QueryError> {
        // Per group and step: the histograms, and whether floats are there too.
        let mut histograms: BTreeMap<(usize, i64), Vec<&Arc<FloatHistogram>>> = BTreeMap::new();
        let mut with_floats: BTreeSet<(usize, i64)> = BTreeSet::new();
        for (s, &g) in input.iter().zip(group_of) {
            for (t, h) in &s.histograms {
                histograms.entry((g, *t)).or_default().push(h);
            }
            with_floats.extend(s.points.iter().map(|p| (g, p.0)));
        }
        match op {
            "count" | "group" => {
                // Histograms counted per (group, step), merged into the float counts once.
                let mut added: BTreeMap<usize, BTreeMap<i64, f64>> = BTreeMap::new();
                for ((g, t), hs) in &histograms {
                    added
                        .entry(*g)
                        .or_default()
                        .insert(*t, if op == "count" { hs.len() as f64 } else { 1.0 });
                }
                for (g, by_time) in added {
                    let mut merged: BTreeMap<i64, f64> = out[g].points.iter().copied().collect();
                    for (t, n) in by_time {
                        let v = merged.entry(t).or_insert(0.0);
                        *v = if op == "count" { *v + n } else { 1.0 };
                    }
                    out[g].points = merged.into_iter().collect();
                }
            }
            "sum" | "avg" => {
                for ((g, t), hs) in &histograms {
                    if with_floats.contains(&(*g, *t)) {
                        out[*g].points.retain(|p| p.0 != *t);
                        self.ctx.warn(
                            "PromQL warning: encountered a mix of histograms and floats for aggregation"
                                .into(),
                        );
                        continue;
                    }
                    if resets_conflict(hs.iter().map(|h| h.as_ref())) {
                        self.ctx.warn(CONFLICTING_RESETS.into());
                    }
                    if hs.windows(2).any(|p| custom_bounds_differ(p[0], p[1])) {
                        self.ctx.info(
                            "PromQL info: mismatched custom buckets were reconciled during aggregation"
                                .into(),
                        );
                    }
                    match total(hs, op == "avg") {
                        Ok(h) => out[*g].histograms.push((*t, Arc::new(h))),
                        Err(ArithError::MixedSchemas) => self.ctx.warn(
                            "PromQL warning: vector contains a mix of histograms with exponential and custom buckets schemas for aggregation".into(),
                        ),
                    }
                }
            }
            _ => self.ctx.info(format!("PromQL info: ignored histogram in {op} aggregation")),
        }
        Ok(())
    }
}

/// The compensated sum (or mean) of a group's histograms at one step, its counter-reset
/// hint as addition gives it (counters stay counters).
fn total(hs: &[&Arc<FloatHistogram>], mean: bool) -> Result<FloatHistogram, ArithError> {
    let group = hs.iter().map(|h| h.as_ref());
    let total = if mean { kahan_mean(group) } else { kahan_sum(group) };
    // A group exists because it has a histogram: never `None`.
    Ok(total?.unwrap_or_default())
}
