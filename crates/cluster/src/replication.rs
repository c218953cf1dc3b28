//! Where a write goes and when it counts as written.
//!
//! A series' replicas for a write are the first `rf` distinct *active* members clockwise
//! from its token: the walk skips members that are leaving (their share is moving away)
//! and members seen failed (their heartbeat lease expired), taking the next member
//! instead. So writes route around a dead node as soon as its lease runs out (the lease
//! TTL plus the watch's delay, ~6 s at the default 5 s TTL), and never wait on a node the
//! cluster already knows is down.
//!
//! The quorum is ⌊r/2⌋ + 1 where r = min(rf, members that are not leaving) — failed
//! members still count, as in Mimir, so a cluster that lost most of its members refuses
//! writes rather than keep one copy: 2 of 3 at rf 3, 2 of 2 at rf 2. A write is
//! acknowledged when every series in it reached its quorum. Any acknowledged series then
//! has a copy on at least a quorum of members, so a read that reaches all but fewer than a
//! quorum of the members sees it.

use std::collections::BTreeMap;

use strata_model::Labels;

use crate::ring::{series_token, Member, MemberState, NodeId, Placement, Ring};

/// A series and its samples, as a write carries them and a read returns them.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesSamples {
    /// The series.
    pub labels: Labels,
    /// `(timestamp ms, value)`, in the order written.
    pub samples: Vec<(i64, f64)>,
}

/// The quorum of a replica set of `replicas` members.
pub fn quorum(replicas: usize) -> usize {
    replicas / 2 + 1
}

/// A write split by replica: which series each reachable member gets, and how many
/// copies each series needs.
#[derive(Clone, Debug, Default)]
pub struct WritePlan {
    /// Member → indices of the series it should get.
    pub sends: BTreeMap<NodeId, (String, Vec<usize>)>,
    /// Per series: the quorum it needs.
    pub needed: Vec<usize>,
    /// Members seen failed, skipped by every walk.
    pub failed: Vec<NodeId>,
    /// Failed member → indices of the series it would have had a copy of: the hints to
    /// keep for when it returns (`handoff`).
    pub hints: BTreeMap<NodeId, Vec<usize>>,
}

/// The quorum every series of a write needs among `members` (see the module docs).
pub fn write_quorum(members: &[Member], placement: Placement) -> usize {
    let writable = members.iter().filter(|m| m.state != MemberState::Leaving).count();
    quorum(placement.rf.min(writable).max(1))
}

/// Splits `series` over `ring` (members with their effective states).
pub fn plan(ring: &Ring, placement: Placement, series: &[SeriesSamples]) -> WritePlan {
    let failed =
        ring.members().iter().filter(|m| m.state == MemberState::Failed).map(|m| m.id.clone()).collect();
    let mut plan = WritePlan {
        needed: vec![write_quorum(ring.members(), placement); series.len()],
        failed,
        ..WritePlan::default()
    };
    for (i, s) in series.iter().enumerate() {
        let token = series_token(s.labels.prometheus_key().as_bytes());
        if !plan.failed.is_empty() {
            let intended =
                ring.replicas_where(token, placement, |m: &Member| m.state != MemberState::Leaving);
            for member in intended.iter().filter(|m| m.state == MemberState::Failed) {
                plan.hints.entry(member.id.clone()).or_default().push(i);
            }
        }
        for member in ring.replicas_where(token, placement, |m: &Member| m.state == MemberState::Active) {
            plan.sends
                .entry(member.id.clone())
                .or_insert_with(|| (member.addr.clone(), Vec::new()))
                .1
                .push(i);
        }
    }
    plan
}

/// Why a copy was not made as asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The replica answered 4xx: it found something wrong in the request (a bad or
    /// out-of-order sample) and wrote the rest, as a single node does. The copy counts;
    /// the client hears the reason.
    Rejected(String),
    /// The replica could not be reached, or failed (5xx, timeout): no copy.
    Failed(String),
}

/// What became of a replicated write.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WriteOutcome {
    /// Series in the write.
    pub series: usize,
    /// Series that reached fewer replicas than their quorum.
    pub short: usize,
    /// Members a send to failed, with why (failed members included).
    pub errors: BTreeMap<NodeId, String>,
    /// What a replica found wrong in the write (the first such answer), for the client.
    pub rejected: Option<String>,
    /// Members that made their copy.
    pub acked: Vec<NodeId>,
}

impl WriteOutcome {
    /// Whether every series reached its quorum: the write may be acknowledged.
    pub fn acknowledged(&self) -> bool {
        self.short == 0
    }

    /// The reason a write is refused, naming the members that failed.
    pub fn refusal(&self) -> String {
        let failures: Vec<String> = self.errors.iter().map(|(id, why)| format!("{id}: {why}")).collect();
        format!(
            "{} of {} series reached fewer replicas than their quorum; retry the write ({})",
            self.short,
            self.series,
            failures.join("; ")
        )
    }
}

/// Counts copies made: `results` has, per member sent to, whether the send succeeded.
pub fn tally(plan: &WritePlan, results: &BTreeMap<NodeId, Result<(), SendError>>) -> WriteOutcome {
    let mut copies = vec![0usize; plan.needed.len()];
    let mut outcome = WriteOutcome { series: plan.needed.len(), ..WriteOutcome::default() };
    for (id, (_, indices)) in &plan.sends {
        match results.get(id) {
            Some(Ok(())) => {
                indices.iter().for_each(|&i| copies[i] += 1);
                outcome.acked.push(id.clone());
            }
            Some(Err(SendError::Rejected(why))) => {
                indices.iter().for_each(|&i| copies[i] += 1);
                outcome.acked.push(id.clone());
                outcome.rejected.get_or_insert_with(|| why.clone());
            }
            Some(Err(SendError::Failed(why))) => {
                outcome.errors.insert(id.clone(), why.clone());
            }
            None => {
                outcome.errors.insert(id.clone(), "not sent".into());
            }
        }
    }
    if copies.iter().zip(&plan.needed).any(|(got, need)| got < need) {
        for failed in &plan.failed {
            outcome
                .errors
                .entry(failed.clone())
                .or_insert_with(|| "failed (its heartbeat lease expired)".into());
        }
    }
    outcome.short = copies.iter().zip(&plan.needed).filter(|(got, need)| got < need).count();
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::tokens_for_join;

    fn ring(states: &[MemberState]) -> Ring {
        let mut members = Vec::new();
        for (i, state) in states.iter().enumerate() {
            let id = NodeId(format!("n{i}"));
            let tokens = tokens_for_join(&Ring::new(members.clone()).unwrap(), &id, 64, 2);
            members.push(Member { id, addr: format!("127.0.0.1:{i}"), zone: None, state: *state, tokens });
        }
        Ring::new(members).unwrap()
    }

    fn series(n: usize) -> Vec<SeriesSamples> {
        (0..n)
            .map(|i| SeriesSamples {
                labels: Labels::from_pairs([("__name__", "m"), ("i", &*i.to_string())]).unwrap(),
                samples: vec![(1, 1.0)],
            })
            .collect()
    }

    #[test]
    fn every_series_goes_to_rf_members_and_needs_a_majority() {
        let ring = ring(&[MemberState::Active; 5]);
        let plan = super::plan(&ring, Placement { rf: 3, zone_aware: false }, &series(200));
        let mut copies = [0usize; 200];
        for (_, indices) in plan.sends.values() {
            indices.iter().for_each(|&i| copies[i] += 1);
        }
        assert!(copies.iter().all(|&c| c == 3));
        assert!(plan.needed.iter().all(|&q| q == 2));
        assert!(plan.sends.len() == 5, "200 series spread over every member");
    }

    #[test]
    fn writes_route_around_failed_and_leaving_members_but_failed_ones_count_for_the_quorum() {
        let states = [MemberState::Active, MemberState::Failed, MemberState::Active, MemberState::Active];
        let plan = super::plan(&ring(&states), Placement { rf: 2, zone_aware: false }, &series(60));
        assert!(!plan.sends.contains_key(&NodeId("n1".into())));
        // n1's share is hinted: about half of the series at rf 2 over 4 members.
        let hinted = plan.hints.get(&NodeId("n1".into())).map_or(0, Vec::len);
        assert!((15..=45).contains(&hinted), "{hinted} series hinted for n1");
        assert_eq!(plan.hints.len(), 1);
        let mut copies = [0usize; 60];
        for (_, indices) in plan.sends.values() {
            indices.iter().for_each(|&i| copies[i] += 1);
        }
        assert!(copies.iter().all(|&c| c == 2), "every series still gets rf copies: {copies:?}");
        assert!(plan.needed.iter().all(|&q| q == 2));
        let ok: BTreeMap<NodeId, Result<(), SendError>> =
            plan.sends.keys().map(|id| (id.clone(), Ok(()))).collect();
        assert!(tally(&plan, &ok).acknowledged());

        // rf 3 with two of three failed: one live copy is short of the quorum (2).
        let states = [MemberState::Active, MemberState::Failed, MemberState::Failed];
        let plan = super::plan(&ring(&states), Placement { rf: 3, zone_aware: false }, &series(10));
        let ok: BTreeMap<NodeId, Result<(), SendError>> =
            plan.sends.keys().map(|id| (id.clone(), Ok(()))).collect();
        let outcome = tally(&plan, &ok);
        assert!(!outcome.acknowledged());
        assert!(outcome.errors.contains_key(&NodeId("n1".into())), "{outcome:?}");

        let states = [MemberState::Active, MemberState::Leaving, MemberState::Active];
        let plan = super::plan(&ring(&states), Placement { rf: 3, zone_aware: false }, &series(50));
        assert!(!plan.sends.contains_key(&NodeId("n1".into())));
        assert!(plan.needed.iter().all(|&q| q == 2), "two writable members: quorum of 2");
    }

    #[test]
    fn a_write_short_of_its_quorum_is_refused_naming_the_member() {
        let plan = super::plan(
            &ring(&[MemberState::Active; 3]),
            Placement { rf: 3, zone_aware: false },
            &series(20),
        );
        let mut results: BTreeMap<NodeId, Result<(), SendError>> =
            plan.sends.keys().map(|id| (id.clone(), Ok(()))).collect();
        results.insert(NodeId("n0".into()), Err(SendError::Failed("connection refused".into())));
        assert!(tally(&plan, &results).acknowledged(), "one of three down still leaves two copies");
        results.insert(NodeId("n2".into()), Err(SendError::Failed("timed out".into())));
        let outcome = tally(&plan, &results);
        assert!(!outcome.acknowledged());
        assert_eq!(outcome.short, 20);
        let message = outcome.refusal();
        assert!(message.contains("n0: connection refused") && message.contains("n2: timed out"), "{message}");
        // A replica that finds a bad sample made its copy of the rest: the copy counts.
        results.insert(NodeId("n2".into()), Err(SendError::Rejected("HTTP 400: out of order".into())));
        let outcome = tally(&plan, &results);
        assert!(outcome.acknowledged());
        assert_eq!(outcome.rejected.as_deref(), Some("HTTP 400: out of order"));
    }

    #[test]
    fn a_cluster_smaller_than_rf_writes_to_every_member() {
        let plan =
            super::plan(&ring(&[MemberState::Active]), Placement { rf: 3, zone_aware: false }, &series(10));
        assert_eq!(plan.sends.len(), 1);
        assert!(plan.needed.iter().all(|&q| q == 1));
    }
}
