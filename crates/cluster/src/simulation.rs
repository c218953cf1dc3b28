//! The ring on paper: how evenly series spread and how many move when a member joins or
//! leaves, at any cluster size (`strata cluster simulate`).
//!
//! For each size N the ring is built the way a cluster builds it — members join one by
//! one, each choosing its tokens with [`tokens_for_join`] — and then:
//! - the spread, as max/mean: each member's share of the circle's first copies and of all
//!   its `rf` copies (exact, from the arcs: what a member stores), and of `series` synthetic
//!   series and their replica placements (sampled: with S series a member's count also
//!   carries √(S/N) of sampling noise);
//! - a join: member N+1 joins; the share of series whose primary moved, and of replica
//!   placements that moved (goal ≈ 1/(N+1): only the newcomer's share);
//! - a leave: one member leaves; the same two shares (≈ 1/N) and the spread after it;
//! - a throughput model: every sample is written `rf` times and the busiest member sets the
//!   pace, so a cluster takes about N × R / (rf × copies max/mean) points a second for a
//!   single-node rate R measured on the same hardware (the exact copies' max/mean: the
//!   sampled counts' noise is not load). It leaves out forwarding between nodes and the
//!   network, so it is an upper bound to compare measurements against.

use serde::Serialize;

use crate::ring::{series_token, Member, MemberState, NodeId, Placement, Ring};
use crate::tokens::tokens_for_join;

/// What to simulate.
#[derive(Clone, Debug)]
pub struct SimulationOptions {
    /// Cluster sizes.
    pub nodes: Vec<usize>,
    /// Tokens a member.
    pub tokens: usize,
    /// Replication factor.
    pub rf: usize,
    /// Synthetic series hashed onto each ring.
    pub series: usize,
    /// A measured single-node ingest rate (points/s) for the throughput model.
    pub single_node_rate: Option<f64>,
}

/// One cluster size's figures.
#[derive(Clone, Debug, Serialize)]
pub struct SizeReport {
    /// Members.
    pub nodes: usize,
    /// Tokens a member.
    pub tokens_per_node: usize,
    /// Largest primary share of the circle ÷ the mean (exact).
    pub ownership_max_over_mean: f64,
    /// Smallest primary share ÷ the mean.
    pub ownership_min_over_mean: f64,
    /// Largest share of all rf copies on a member ÷ the mean (exact): what it stores.
    pub copies_max_over_mean: f64,
    /// Smallest share of all copies ÷ the mean.
    pub copies_min_over_mean: f64,
    /// Most series a member is primary for ÷ the mean (sampled).
    pub series_max_over_mean: f64,
    /// Most replica placements on a member ÷ the mean (sampled).
    pub replicas_max_over_mean: f64,
    /// Share of series whose primary moved when one member joined.
    pub join_moved_primary: f64,
    /// Share of replica placements that moved when one member joined.
    pub join_moved_replicas: f64,
    /// Share of series whose primary moved when one member left.
    pub leave_moved_primary: f64,
    /// Share of replica placements that moved when one member left.
    pub leave_moved_replicas: f64,
    /// Most replica placements on a member ÷ the mean after the leave.
    pub replicas_max_over_mean_after_leave: f64,
    /// Largest share of all copies ÷ the mean after the leave (exact).
    pub copies_max_over_mean_after_leave: f64,
    /// N × R / (rf × copies max/mean), points/s, if a single-node rate was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_points_per_second: Option<f64>,
}

/// Every size's figures, with the options they were run with.
#[derive(Clone, Debug, Serialize)]
pub struct SimulationReport {
    /// Replication factor.
    pub rf: usize,
    /// Synthetic series a ring.
    pub series: usize,
    /// The single-node rate the model used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub single_node_rate: Option<f64>,
    /// One row a size.
    pub sizes: Vec<SizeReport>,
}

/// Runs the simulation; `progress` hears each size as it finishes.
pub fn simulate(options: &SimulationOptions, mut progress: impl FnMut(&SizeReport)) -> SimulationReport {
    let points: Vec<u64> = (0..options.series)
        .map(|i| series_token(format!("{{__name__=\"sim\",series=\"{i}\"}}").as_bytes()))
        .collect();
    let placement = Placement { rf: options.rf, zone_aware: false };
    let mut sizes = Vec::new();
    for &n in &options.nodes {
        let report = simulate_size(n, options, placement, &points);
        progress(&report);
        sizes.push(report);
    }
    SimulationReport {
        rf: options.rf,
        series: options.series,
        single_node_rate: options.single_node_rate,
        sizes,
    }
}

fn simulate_size(n: usize, options: &SimulationOptions, placement: Placement, points: &[u64]) -> SizeReport {
    let mut members = Vec::with_capacity(n + 1);
    for i in 0..n {
        join(&mut members, &format!("node-{i}"), options.tokens, options.rf);
    }
    let ring = Ring::new(members.clone()).expect("joined tokens never clash");
    let before = placements(&ring, placement, points);

    let mut grown = members.clone();
    join(&mut grown, &format!("node-{n}"), options.tokens, options.rf);
    let after_join = placements(&Ring::new(grown).expect("joined tokens never clash"), placement, points);

    let mut shrunk = members;
    shrunk.remove(n / 2);
    let shrunk = Ring::new(shrunk).expect("a subset of a ring is a ring");
    let after_leave = placements(&shrunk, placement, points);

    let (ownership_max, ownership_min) = spread(&ring.ownership());
    let (copies_max, copies_min) = spread(&ring.replicated_ownership(options.rf));
    let replicas = max_over_mean(&counts(&before, n, true));
    SizeReport {
        nodes: n,
        tokens_per_node: options.tokens,
        ownership_max_over_mean: ownership_max,
        ownership_min_over_mean: ownership_min,
        copies_max_over_mean: copies_max,
        copies_min_over_mean: copies_min,
        series_max_over_mean: max_over_mean(&counts(&before, n, false)),
        replicas_max_over_mean: replicas,
        join_moved_primary: moved(&before, &after_join, false),
        join_moved_replicas: moved(&before, &after_join, true),
        leave_moved_primary: moved(&before, &after_leave, false),
        leave_moved_replicas: moved(&before, &after_leave, true),
        replicas_max_over_mean_after_leave: max_over_mean(&counts(&after_leave, n + 1, true)),
        copies_max_over_mean_after_leave: spread(&shrunk.replicated_ownership(options.rf)).0,
        model_points_per_second: options
            .single_node_rate
            .map(|rate| n as f64 * rate / (options.rf.max(1) as f64 * copies_max)),
    }
}

fn join(members: &mut Vec<Member>, id: &str, tokens: usize, rf: usize) {
    let ring = Ring::new(members.clone()).expect("joined tokens never clash");
    let id = NodeId(id.into());
    let tokens = tokens_for_join(&ring, &id, tokens, rf);
    members.push(Member { id, addr: String::new(), zone: None, state: MemberState::Active, tokens });
}

/// Each series' replicas as member numbers (`node-<k>` → k), primary first.
fn placements(ring: &Ring, placement: Placement, points: &[u64]) -> Vec<Vec<u32>> {
    points
        .iter()
        .map(|&p| {
            ring.replicas(p, placement)
                .iter()
                .map(|m| m.id.0.trim_start_matches("node-").parse().unwrap_or(u32::MAX))
                .collect()
        })
        .collect()
}

/// Series (primary only, or every placement) per member number, for `slots` numbers.
fn counts(placements: &[Vec<u32>], slots: usize, all: bool) -> Vec<u64> {
    let mut counts = vec![0u64; slots];
    for replicas in placements {
        let taken = if all { replicas.len() } else { replicas.len().min(1) };
        for &m in &replicas[..taken] {
            if let Some(c) = counts.get_mut(m as usize) {
                *c += 1;
            }
        }
    }
    counts
}

/// max ÷ mean over members that hold anything.
fn max_over_mean(counts: &[u64]) -> f64 {
    let held: Vec<u64> = counts.iter().copied().filter(|&c| c > 0).collect();
    if held.is_empty() {
        return 0.0;
    }
    let mean = held.iter().sum::<u64>() as f64 / held.len() as f64;
    *held.iter().max().unwrap_or(&0) as f64 / mean
}

/// (max ÷ mean, min ÷ mean) of exact shares, one a member.
pub(crate) fn spread(shares: &[f64]) -> (f64, f64) {
    let mean = shares.iter().sum::<f64>() / shares.len().max(1) as f64;
    let max = shares.iter().cloned().fold(0.0, f64::max);
    let min = shares.iter().cloned().fold(f64::MAX, f64::min);
    (max / mean, min / mean)
}

/// The share of primaries (or of replica placements) in `after` that were not there before.
fn moved(before: &[Vec<u32>], after: &[Vec<u32>], all: bool) -> f64 {
    let (mut moved, mut total) = (0u64, 0u64);
    for (b, a) in before.iter().zip(after) {
        if all {
            total += a.len() as u64;
            moved += a.iter().filter(|m| !b.contains(m)).count() as u64;
        } else {
            total += 1;
            moved += u64::from(a.first() != b.first());
        }
    }
    if total == 0 {
        0.0
    } else {
        moved as f64 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_and_leaves_move_about_one_nth() {
        let options = SimulationOptions {
            nodes: vec![3, 10],
            tokens: 256,
            rf: 2,
            series: 40_000,
            single_node_rate: Some(1e6),
        };
        let report = simulate(&options, |_| {});
        for size in &report.sizes {
            let n = size.nodes as f64;
            assert!(size.ownership_max_over_mean <= 1.1, "{size:?}");
            assert!((size.join_moved_primary - 1.0 / (n + 1.0)).abs() < 0.02, "{size:?}");
            assert!((size.leave_moved_primary - 1.0 / n).abs() < 0.03, "{size:?}");
            assert!(size.join_moved_replicas < 1.5 / (n + 1.0), "{size:?}");
            // Sampled: 40,000 series over ≤ 10 members carries ~1.5% noise a member.
            assert!(size.series_max_over_mean <= 1.15, "{size:?}");
            let model = size.model_points_per_second.unwrap();
            assert!(model > 0.0 && model <= n * 1e6 / 2.0, "{size:?}");
        }
    }

    #[test]
    fn moved_counts_only_changes() {
        let before = vec![vec![0, 1], vec![1, 2]];
        assert_eq!(moved(&before, &before, true), 0.0);
        assert_eq!(moved(&before, &[vec![0, 3], vec![2, 1]], true), 0.25);
        assert_eq!(moved(&before, &[vec![0, 3], vec![2, 1]], false), 0.5);
    }
}
