//! Helpers for values laid out by step: reading several series step by step, and building
//! output series keyed by their labels.

use std::collections::HashMap;
use std::sync::Arc;

use strata_model::histogram::FloatHistogram;
use strata_model::Labels;

use super::{same_labelset, Evaluator, StepSeries};
use crate::engine::QueryError;

/// For each step, the `(series index, value)` pairs that have a value there.
pub(crate) fn by_step(ev: &Evaluator<'_>, series: &[StepSeries]) -> Vec<Vec<(usize, f64)>> {
    let mut steps: Vec<Vec<(usize, f64)>> = vec![Vec::new(); ev.step_count()];
    for (i, s) in series.iter().enumerate() {
        for &(t, v) in &s.points {
            steps[ev.step_index(t)].push((i, v));
        }
    }
    steps
}

/// For each step, the `(series index, histogram)` pairs that have a histogram there, so a
/// step's histograms are found without scanning every series' samples again.
pub(crate) fn histograms_by_step(
    ev: &Evaluator<'_>,
    series: &[StepSeries],
) -> Vec<Vec<(usize, Arc<FloatHistogram>)>> {
    let mut steps: Vec<Vec<(usize, Arc<FloatHistogram>)>> = vec![Vec::new(); ev.step_count()];
    for (i, s) in series.iter().enumerate() {
        for (t, h) in &s.histograms {
            steps[ev.step_index(*t)].push((i, Arc::clone(h)));
        }
    }
    steps
}

/// Output series built point by point. Two points for the same labels at the same step
/// are the "same labelset" error, whatever order they come in: callers that walk their
/// input series by series (label_replace, histogram_quantiles) revisit earlier steps, so a
/// point older than the series' last marks the output for sorting and checking in
/// [`OutputBuilder::finish`] rather than being taken on trust.
#[derive(Default)]
pub(crate) struct OutputBuilder {
    index: HashMap<Labels, usize>,
    series: Vec<StepSeries>,
    /// Some series got a point older than its last one.
    unordered: bool,
}

impl OutputBuilder {
    /// The output series for `labels`, created if new.
    pub(crate) fn series_for(&mut self, labels: &Labels, drop_name: bool) -> usize {
        if let Some(&i) = self.index.get(labels) {
            return i;
        }
        self.series.push(StepSeries {
            labels: labels.clone(),
            points: Vec::new(),
            drop_name,
            histograms: Vec::new(),
        });
        self.index.insert(labels.clone(), self.series.len() - 1);
        self.series.len() - 1
    }

    /// Adds a point to output series `i`.
    pub(crate) fn push(&mut self, i: usize, t: i64, v: f64) -> Result<(), QueryError> {
        let points = &mut self.series[i].points;
        match points.last() {
            Some(&(last, _)) if last == t => return Err(same_labelset()),
            Some(&(last, _)) if last > t => self.unordered = true,
            _ => {}
        }
        points.push((t, v));
        Ok(())
    }

    /// Adds a histogram point to output series `i` (two values at one step are the "same
    /// labelset" error, found in [`OutputBuilder::finish`]).
    pub(crate) fn push_histogram(
        &mut self,
        i: usize,
        t: i64,
        h: std::sync::Arc<strata_model::histogram::FloatHistogram>,
    ) -> Result<(), QueryError> {
        self.series[i].histograms.push((t, h));
        self.unordered = true;
        Ok(())
    }

    /// The series that got points, each in step order.
    pub(crate) fn finish(self) -> Result<Vec<StepSeries>, QueryError> {
        let mut series: Vec<StepSeries> =
            self.series.into_iter().filter(|s| !s.points.is_empty() || !s.histograms.is_empty()).collect();
        if self.unordered {
            for s in &mut series {
                sort_checking_steps(&mut s.points)?;
                s.histograms.sort_by_key(|h| h.0);
                let float_times: std::collections::HashSet<i64> = s.points.iter().map(|p| p.0).collect();
                let clash = s.histograms.windows(2).any(|w| w[0].0 == w[1].0)
                    || s.histograms.iter().any(|h| float_times.contains(&h.0));
                if clash {
                    return Err(same_labelset());
                }
            }
        }
        Ok(series)
    }
}

/// Sorts points by step; two at one step are the "same labelset" error.
fn sort_checking_steps(points: &mut [(i64, f64)]) -> Result<(), QueryError> {
    points.sort_by_key(|p| p.0);
    if points.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err(same_labelset());
    }
    Ok(())
}

/// Whether two of `series` have the same labels.
pub(crate) fn has_same_labels(series: &[StepSeries]) -> bool {
    let mut seen = std::collections::HashSet::with_capacity(series.len());
    !series.iter().all(|s| seen.insert(&s.labels))
}

/// Merges series that have the same labels (each holding values at other steps); two
/// values at one step are the "same labelset" error.
pub(crate) fn merge_same_labels(series: Vec<StepSeries>) -> Result<Vec<StepSeries>, QueryError> {
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut out: Vec<StepSeries> = Vec::with_capacity(series.len());
    let mut merged = false;
    for s in series {
        match index.get(&s.labels) {
            Some(&i) => {
                out[i].points.extend(s.points);
                out[i].histograms.extend(s.histograms);
                merged = true;
            }
            None => {
                index.insert(s.labels.clone(), out.len());
                out.push(s);
            }
        }
    }
    if merged {
        for s in &mut out {
            sort_checking_steps(&mut s.points)?;
            s.histograms.sort_by_key(|h| h.0);
            let mut times: Vec<i64> =
                s.points.iter().map(|p| p.0).chain(s.histograms.iter().map(|h| h.0)).collect();
            times.sort_unstable();
            if times.windows(2).any(|w| w[0] == w[1]) {
                return Err(same_labelset());
            }
        }
    }
    Ok(out)
}
