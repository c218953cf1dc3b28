//! Choosing a joining member's tokens so that what each member stores stays even.
//!
//! Random tokens leave shares uneven: with 256 a member, a member's share has a relative
//! spread of about 1/√256 = 6%, so the largest of 100 members holds ~16% more than the
//! mean and the largest of 1,000 ~20%. The goal is max/mean ≤ 1.1 — of what a member
//! *stores*, which at replication factor rf is every point it holds any of the rf copies
//! of, not only the arcs it is first for. Balancing first copies is not enough: the second
//! copy of an arc goes to whoever's token comes next, and with primaries balanced the
//! copies still spread 1.10–1.13 (measured at rf 2).
//!
//! So a joining member J places its tokens one at a time, each where it best evens out the
//! loads, as Cassandra's replication-aware allocator does in its own way:
//! - candidates: every arc the two members holding most copies (and the two owning most
//!   first copies) hold a copy of, and the 32 longest arcs on the circle. A token spliced
//!   into an arc takes load off whoever it displaces: the last copy of the piece it cuts
//!   off and the last copies of the arcs just before; [`Circle::splice_effect`] gives the
//!   exact change in every member's load for a splice, in a few short walks;
//! - for each candidate it picks where in the arc to cut, the point that minimises the sum
//!   of squared distances from the targets (a quadratic in the cut: solved, not searched),
//!   and keeps the candidate that lowers that sum most. The sum counts both loads: all
//!   copies (what a member stores) and first copies (the arcs it owns); balancing copies
//!   alone left first copies 0.5–1.4× the mean;
//! - a cut takes at most half its arc. Taking nearly all of an arc leaves its owner a
//!   sliver and J a long arc, and a member's copy of its own long arc cannot be taken off it
//!   by one joiner (the points in it meet its token within rf owners, whatever J adds):
//!   with cuts up to the whole arc the copies stayed even to ~150 members and then drifted
//!   to 1.2–1.35× the mean by 1,000; with half-arc cuts and the longest arcs as candidates
//!   (where half an arc is a full token's share) they stay within 2–3%;
//! - J's own target grows by 1/count a token, so each token takes about its part of J's
//!   share rather than the first ones grabbing whole arcs.
//!
//! Measured (`strata cluster simulate`, docs/cluster.md): at rf 2 and 256 tokens the copies
//! stay within 2–3% of the mean from 3 to 1,000 members and first copies within 13%; at rf 3
//! the join that makes rf + 1 members leaves copies at 1.12× the mean (the next join
//! evens them out again).
//!
//! Only points whose copies J takes move, so the share of copies moved on a join is J's
//! share of them, ≈ 1/(N+1). While the cluster has no more members than rf, every member
//! holds everything, and the same procedure evens out first copies instead (rf 1).
//! Zones are not considered: with zone-aware placement, copies are skipped by zone and the
//! figures are the ring's, not the zones'.
//!
//! The first member's tokens are evenly spaced from a point hashed from its id. The result
//! depends only on the ring, the id and rf, so retrying a join computes the same tokens.

use std::collections::BinaryHeap;

use crate::replica_load::{Circle, Splice, SpliceEffect, CIRCLE};
use crate::ring::{NodeId, Ring};

/// Members whose arcs are searched for each token, by each load: the most loaded and the
/// next.
const HEAVIEST: usize = 2;

/// Longest arcs searched for each token, besides the heaviest members' arcs.
const LONGEST: usize = 32;

/// Tokens for `id` joining `ring` with `count` tokens, evening out the load of `rf` copies;
/// none clash with the ring's.
pub fn tokens_for_join(ring: &Ring, id: &NodeId, count: usize, rf: usize) -> Vec<u64> {
    if count == 0 {
        return Vec::new();
    }
    if ring.token_count() == 0 {
        return evenly_spaced(id, count);
    }
    let members = ring.members().iter().filter(|m| !m.tokens.is_empty()).count();
    // With no more members than copies, everyone holds everything: even out first copies.
    let rf = if members + 1 > rf.max(1) { rf.max(1) } else { 1 };
    let mut join = Join::new(ring, rf, count);
    let mut tokens: Vec<u64> = (0..count).map_while(|placed| join.place(placed)).collect();
    tokens.sort_unstable();
    tokens
}

/// A join in progress: the circle with J's tokens so far and every member's loads.
struct Join<'r> {
    ring: &'r Ring,
    circle: Circle,
    /// Load of all copies in circles (1.0 = the whole circle), by member index; J is last.
    copies: Vec<f64>,
    /// Load of first copies (the arcs a member owns), likewise.
    firsts: Vec<f64>,
    /// A member's fair load of copies, rf / (members + 1), and of first copies.
    copies_target: f64,
    firsts_target: f64,
    count: usize,
    /// Arcs by length, (length, token it ends at); an entry is stale once its arc is split.
    longest: BinaryHeap<(u128, u64)>,
    scratch: [Vec<u32>; 2],
}

/// Where each member stands against its target, for the token being placed.
struct Deviations {
    copies: Vec<f64>,
    firsts: Vec<f64>,
}

/// A candidate token: where, and how much it changes the sum of squared deviations.
struct Candidate {
    at: usize,
    take: u64,
    score: f64,
    effect: SpliceEffect,
}

impl<'r> Join<'r> {
    fn new(ring: &'r Ring, rf: usize, count: usize) -> Join<'r> {
        let members = ring.members().len();
        let circle = Circle::of_ring(ring, rf);
        let copies = circle.loads(members + 1).into_iter().map(|l| l as f64 / CIRCLE as f64).collect();
        let mut firsts = ring.ownership();
        firsts.push(0.0);
        let longest = (0..circle.len()).map(|k| (circle.arc_len(k), circle.token(k).0)).collect();
        Join {
            longest,
            ring,
            circle,
            copies,
            firsts,
            copies_target: rf as f64 / (members + 1) as f64,
            firsts_target: 1.0 / (members + 1) as f64,
            count,
            scratch: Default::default(),
        }
    }

    fn joiner(&self) -> u32 {
        self.ring.members().len() as u32
    }

    /// Places J's token number `placed` (from 0); `None` when no arc can be split.
    fn place(&mut self, placed: usize) -> Option<u64> {
        let deviations = self.deviations(placed);
        let best = self
            .candidate_arcs()
            .into_iter()
            .filter_map(|at| self.evaluate(at, &deviations))
            .min_by(|a, b| a.score.total_cmp(&b.score))?;
        let start = self.circle.token((best.at + self.circle.len() - 1) % self.circle.len()).0;
        let token = start.wrapping_add(best.take);
        let take = best.take as f64 / CIRCLE as f64;
        for &(m, change) in &best.effect.fixed {
            self.copies[m as usize] += change as f64 / CIRCLE as f64;
        }
        best.effect.gainers.iter().for_each(|&m| self.copies[m as usize] += take);
        best.effect.losers.iter().for_each(|&m| self.copies[m as usize] -= take);
        let (j, (old_end, owner)) = (self.joiner(), self.circle.token(best.at));
        self.firsts[owner as usize] -= take;
        self.firsts[j as usize] += take;
        self.circle.insert(token, j);
        for end in [token, old_end] {
            let k = self.circle.index_of(end).expect("just placed");
            self.longest.push((self.circle.arc_len(k), end));
        }
        Some(token)
    }

    /// Loads less targets; J's targets are the part its first `placed + 1` tokens owe.
    fn deviations(&self, placed: usize) -> Deviations {
        let j = self.joiner() as usize;
        let owed = (placed + 1) as f64 / self.count as f64;
        let against = |loads: &[f64], target: f64| -> Vec<f64> {
            let mut d: Vec<f64> = loads.iter().map(|l| l - target).collect();
            d[j] = loads[j] - target * owed;
            d
        };
        Deviations {
            copies: against(&self.copies, self.copies_target),
            firsts: against(&self.firsts, self.firsts_target),
        }
    }

    /// Arcs a copy of which the heaviest members hold: splicing there can unload them.
    fn candidate_arcs(&mut self) -> Vec<usize> {
        let mut heavy_members = heaviest(&self.copies, HEAVIEST);
        heavy_members.extend(heaviest(&self.firsts, HEAVIEST));
        heavy_members.sort_unstable();
        heavy_members.dedup();
        let n = self.circle.len();
        let mut arcs = Vec::new();
        for heavy in heavy_members {
            for &token in &self.ring.members()[heavy].tokens {
                let Some(own) = self.circle.index_of(token) else { continue };
                // Its own arc, then the arcs before it while it is among their copies.
                for back in 0..n {
                    let k = (own + n - back) % n;
                    self.circle.replicas_from(k, None, &mut self.scratch[0]);
                    if !self.scratch[0].contains(&(heavy as u32)) {
                        break;
                    }
                    arcs.push(k);
                }
            }
        }
        arcs.extend(self.longest_arcs(LONGEST));
        arcs.sort_unstable();
        arcs.dedup();
        arcs
    }

    /// The most a cut may take of an arc `len` long: all but its last point at rf 1; with
    /// more copies, half of it or a fair arc's length (J's share over its tokens), whichever
    /// is more, so that J never gets a long arc.
    fn longest_cut(&self, len: u128) -> u128 {
        if self.circle.rf() == 1 {
            return len - 1;
        }
        let fair_arc = CIRCLE / (self.ring.members().len() as u128 + 1) / self.count as u128;
        (len / 2).max(fair_arc).min(len - 1)
    }

    /// The `k` longest arcs: where J can take a full share without cutting slivers.
    fn longest_arcs(&mut self, k: usize) -> Vec<usize> {
        let mut found = Vec::with_capacity(k);
        let mut kept = Vec::with_capacity(k);
        while found.len() < k {
            let Some((len, end)) = self.longest.pop() else { break };
            let Some(at) = self.circle.index_of(end) else { continue };
            if self.circle.arc_len(at) != len {
                continue; // split since: its pieces were pushed when it was
            }
            found.push(at);
            kept.push((len, end));
        }
        self.longest.extend(kept);
        found
    }

    /// The best cut in the arc ending at token `at`, if it can be cut at all.
    fn evaluate(&mut self, at: usize, deviations: &Deviations) -> Option<Candidate> {
        let len = self.circle.arc_len(at);
        if len < 2 {
            return None;
        }
        let j = self.joiner();
        let effect = self.circle.splice_effect(Splice { at, owner: j }, &mut self.scratch);
        // Every load the splice touches ends at base + c·x for a cut taking x (in circles):
        // (deviation now, base, c), with c = +1 for the piece's gainers, -1 for its losers
        // and 0 for copies only the arcs before touch. The first copies of the piece pass
        // from the arc's owner to J.
        let mut touched: Vec<(u32, f64, f64, f64)> = Vec::new();
        for &(m, change) in &effect.fixed {
            let now = deviations.copies[m as usize];
            touched.push((m, now, now + change as f64 / CIRCLE as f64, 0.0));
        }
        for (members, c) in [(&effect.gainers, 1.0), (&effect.losers, -1.0)] {
            for &m in members {
                match touched.iter_mut().find(|t| t.0 == m) {
                    Some(t) => t.3 += c,
                    None => {
                        touched.push((m, deviations.copies[m as usize], deviations.copies[m as usize], c))
                    }
                }
            }
        }
        let owner = self.circle.token(at).1;
        for (m, c) in [(owner, -1.0), (j, 1.0)] {
            let now = deviations.firsts[m as usize];
            touched.push((u32::MAX, now, now, c));
        }
        // The sum of (base + c·x)² is least at x = -Σ c·base / Σ c², kept inside the arc.
        let slope: f64 = touched.iter().map(|t| t.3 * t.3).sum();
        let ideal = -touched.iter().map(|t| t.3 * t.2).sum::<f64>() / slope * CIRCLE as f64;
        // At most half the arc (see the module docs); clamped as an integer, since a float
        // near the arc's end could round onto its token.
        let take = (ideal.max(1.0) as u128).min(self.longest_cut(len)) as u64;
        let x = take as f64 / CIRCLE as f64;
        let score = touched.iter().map(|&(_, now, base, c)| (base + c * x).powi(2) - now.powi(2)).sum();
        Some(Candidate { at, take, score, effect })
    }
}

/// The `k` members with the largest `loads`, leaving out J (the last).
fn heaviest(loads: &[f64], k: usize) -> Vec<usize> {
    let mut members: Vec<usize> = (0..loads.len() - 1).collect();
    members.sort_by(|&a, &b| loads[b].total_cmp(&loads[a]).then(a.cmp(&b)));
    members.truncate(k);
    members
}

/// `count` tokens 2^64/count apart, from a point hashed from the id.
fn evenly_spaced(id: &NodeId, count: usize) -> Vec<u64> {
    let origin = xxhash_rust::xxh3::xxh3_64(id.0.as_bytes());
    let gap = (u128::from(u64::MAX) + 1) / count as u128;
    let mut tokens: Vec<u64> = (0..count as u128).map(|i| origin.wrapping_add((i * gap) as u64)).collect();
    tokens.sort_unstable();
    tokens.dedup();
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::{Member, MemberState};

    fn join(members: &mut Vec<Member>, id: &str, count: usize) {
        join_at(members, id, count, 1);
    }

    fn join_at(members: &mut Vec<Member>, id: &str, count: usize, rf: usize) {
        let ring = Ring::new(members.clone()).unwrap();
        let id = NodeId(id.into());
        let tokens = tokens_for_join(&ring, &id, count, rf);
        assert_eq!(tokens.len(), count, "{id} got every token it asked for");
        members.push(Member { id, addr: String::new(), zone: None, state: MemberState::Active, tokens });
    }

    fn spread(members: &[Member]) -> f64 {
        let owned = Ring::new(members.to_vec()).unwrap().ownership();
        crate::simulation::spread(&owned).0
    }

    #[test]
    fn the_first_member_is_evenly_spaced_and_owns_everything() {
        let mut members = Vec::new();
        join(&mut members, "a", 256);
        assert_eq!(members[0].tokens.len(), 256);
        assert_eq!(Ring::new(members).unwrap().ownership(), [1.0]);
    }

    #[test]
    fn shares_stay_within_ten_percent_of_the_mean_as_members_join() {
        let mut members = Vec::new();
        for n in 0..100 {
            join(&mut members, &format!("node-{n}"), 256);
            let s = spread(&members);
            assert!(s <= 1.1, "max/mean {s:.3} after {} members", n + 1);
        }
    }

    #[test]
    fn all_copies_stay_within_ten_percent_of_the_mean_as_members_join() {
        for rf in [2, 3] {
            let mut members = Vec::new();
            for n in 1..=12 {
                join_at(&mut members, &format!("node-{n}"), 128, rf);
                let ring = Ring::new(members.clone()).unwrap();
                let copies = crate::simulation::spread(&ring.replicated_ownership(rf)).0;
                let firsts = crate::simulation::spread(&ring.ownership()).0;
                // rf + 1 members at rf 3 is the one size the greedy misses (1.12; see the
                // module docs); it is back within 5% at the next join.
                let bound = if n == rf + 1 && rf > 2 { 1.15 } else { 1.1 };
                assert!(copies <= bound, "rf {rf}: copies max/mean {copies:.3} at {n} members");
                assert!(firsts <= 1.2, "rf {rf}: first copies max/mean {firsts:.3} at {n} members");
            }
        }
    }

    #[test]
    fn a_join_takes_about_its_fair_share() {
        let mut members = Vec::new();
        for n in 0..9 {
            join(&mut members, &format!("node-{n}"), 256);
        }
        join(&mut members, "new", 256);
        let ring = Ring::new(members).unwrap();
        let index = ring.members().iter().position(|m| m.id.0 == "new").unwrap();
        let new = ring.ownership()[index];
        assert!((new - 0.1).abs() < 0.01, "the new member holds {new}");
    }

    #[test]
    fn the_same_ring_and_id_give_the_same_tokens() {
        let mut members = Vec::new();
        for n in 0..5 {
            join(&mut members, &format!("node-{n}"), 64);
        }
        let ring = Ring::new(members).unwrap();
        let id = NodeId("x".into());
        assert_eq!(tokens_for_join(&ring, &id, 64, 2), tokens_for_join(&ring, &id, 64, 2));
    }
}
