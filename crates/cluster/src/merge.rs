//! Merging what several replicas return for one read.
//!
//! Each series is kept once, with the union of its samples over every replica that
//! returned it. Two replicas hold the same sample when it was written to both: it is kept
//! once. Two different values at one timestamp (a write retried with a changed value, say,
//! reaching different replicas) are resolved by one fixed rule so every node answers
//! alike: the larger value wins, a stale marker (Prometheus' special NaN) or any NaN loses
//! to a number — as VictoriaMetrics' deduplication prefers the larger value on ties.

use std::collections::BTreeMap;

use strata_model::Labels;

use crate::replication::SeriesSamples;

/// Merges `parts` (one list per replica) into one list sorted by labels, each series'
/// samples sorted by time with one sample per timestamp.
pub fn merge(parts: Vec<Vec<SeriesSamples>>) -> Vec<SeriesSamples> {
    let mut by_labels: BTreeMap<Labels, Vec<(i64, f64)>> = BTreeMap::new();
    for part in parts {
        for series in part {
            by_labels.entry(series.labels).or_default().extend(series.samples);
        }
    }
    by_labels.into_iter().map(|(labels, samples)| SeriesSamples { labels, samples: dedup(samples) }).collect()
}

/// Sorts by time and keeps one sample per timestamp (the module docs' rule).
fn dedup(mut samples: Vec<(i64, f64)>) -> Vec<(i64, f64)> {
    samples.sort_by_key(|&(t, _)| t);
    let mut out: Vec<(i64, f64)> = Vec::with_capacity(samples.len());
    for (t, v) in samples {
        match out.last_mut() {
            Some(last) if last.0 == t => {
                if preferred(v, last.1) {
                    last.1 = v;
                }
            }
            _ => out.push((t, v)),
        }
    }
    out
}

/// Whether `candidate` wins over `kept` at one timestamp.
fn preferred(candidate: f64, kept: f64) -> bool {
    match (candidate.is_nan(), kept.is_nan()) {
        (false, true) => true,
        (true, _) => false,
        (false, false) => candidate > kept,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn labels(i: u8) -> Labels {
        Labels::from_pairs([("__name__", "m"), ("i", &*i.to_string())]).unwrap()
    }

    proptest! {
        /// Any spread of a data set over replicas (every sample on at least one, some on
        /// several) merges back to exactly that data set.
        #[test]
        fn replicas_merge_back_to_the_data_written(
            data in proptest::collection::btree_map(0u8..20, proptest::collection::btree_map(-50i64..50, -1e3f64..1e3, 1..20), 1..10),
            spread in proptest::collection::vec(1u8..8, 400),
        ) {
            let mut parts = vec![Vec::new(), Vec::new(), Vec::new()];
            let mut k = 0;
            for (id, samples) in &data {
                let mut per_replica = vec![Vec::new(), Vec::new(), Vec::new()];
                for (&t, &v) in samples {
                    let mask = spread[k % spread.len()];
                    k += 1;
                    for (r, list) in per_replica.iter_mut().enumerate() {
                        if mask & (1 << r) != 0 {
                            list.push((t, v));
                        }
                    }
                }
                for (r, samples) in per_replica.into_iter().enumerate() {
                    if !samples.is_empty() {
                        parts[r].push(SeriesSamples { labels: labels(*id), samples });
                    }
                }
            }
            let merged = merge(parts);
            let mut expected: Vec<SeriesSamples> = data
                .iter()
                .map(|(id, s)| SeriesSamples { labels: labels(*id), samples: s.iter().map(|(&t, &v)| (t, v)).collect() })
                .collect();
            expected.sort_by(|a, b| a.labels.cmp(&b.labels));
            prop_assert_eq!(merged, expected);
        }
    }

    #[test]
    fn conflicting_values_resolve_to_the_larger_and_numbers_beat_nan() {
        let stale = f64::from_bits(0x7ff0_0000_0000_0002);
        let a = SeriesSamples { labels: labels(1), samples: vec![(1, 5.0), (2, stale), (3, 1.0)] };
        let b = SeriesSamples { labels: labels(1), samples: vec![(1, 7.0), (2, 3.0), (3, stale)] };
        let merged = merge(vec![vec![a.clone()], vec![b.clone()]]);
        let reversed = merge(vec![vec![b], vec![a]]);
        assert_eq!(merged[0].samples, vec![(1, 7.0), (2, 3.0), (3, 1.0)]);
        assert_eq!(merged, reversed, "the replica order does not change the answer");
    }
}
