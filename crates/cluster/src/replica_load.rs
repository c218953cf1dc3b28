//! Replicated load: the share of the circle each member holds a copy of, counting all `rf`
//! copies of every point, exactly (from the arcs, not from sampled series) — and what one
//! more token would change, without building the ring it would make.
//!
//! A point's copies go to the first `rf` distinct owners clockwise from it, so every point of
//! the arc ending at token k has the same replica set: the distinct owners met walking from
//! k. Splicing a token of member J into the arc ending at token i changes only
//! - the piece it cuts off, `(start of i, new token]`: J then the old set, less its last;
//! - the arcs just before it whose walk reaches the new token before meeting `rf` distinct
//!   owners: J joins their sets, and each loses its last member.
//!
//! Every other arc walks past nothing new. So the effect of a candidate token costs a few
//! short walks, whatever the ring's size ([`Circle::splice_effect`]).

use crate::ring::Ring;

/// The whole circle, 2^64 points, as a load.
pub(crate) const CIRCLE: u128 = 1 << 64;

/// A ring's tokens with their owners as member numbers, and the replication factor that
/// decides who holds copies of what.
#[derive(Clone, Debug)]
pub(crate) struct Circle {
    /// (token, owner), sorted by token; tokens are unique.
    tokens: Vec<(u64, u32)>,
    /// Copies a point; never more than the members that exist.
    rf: usize,
}

/// One more token, `owner`'s, placed before `tokens[at]` (in the arc ending there).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Splice {
    pub(crate) at: usize,
    pub(crate) owner: u32,
}

/// How a splice moves load: `fixed` (member, change) pairs from the arcs before it, which
/// do not depend on where in the arc the token goes, and the piece's `gainers` and `losers`,
/// each of whom gains or loses exactly the piece's length.
#[derive(Clone, Debug, Default)]
pub(crate) struct SpliceEffect {
    pub(crate) fixed: Vec<(u32, i128)>,
    pub(crate) gainers: Vec<u32>,
    pub(crate) losers: Vec<u32>,
}

impl Circle {
    /// The circle of `ring`, members numbered as in [`Ring::members`].
    pub(crate) fn of_ring(ring: &Ring, rf: usize) -> Circle {
        let mut tokens: Vec<(u64, u32)> = ring
            .members()
            .iter()
            .enumerate()
            .flat_map(|(i, m)| m.tokens.iter().map(move |&t| (t, i as u32)))
            .collect();
        tokens.sort_unstable();
        Circle { tokens, rf: rf.max(1) }
    }

    /// Tokens on the circle.
    pub(crate) fn len(&self) -> usize {
        self.tokens.len()
    }

    /// The token at index `k` and its owner.
    pub(crate) fn token(&self, k: usize) -> (u64, u32) {
        self.tokens[k]
    }

    /// The index of `token` (which must be on the circle).
    pub(crate) fn index_of(&self, token: u64) -> Option<usize> {
        self.tokens.binary_search_by_key(&token, |&(t, _)| t).ok()
    }

    /// Copies a point, as this circle counts them.
    pub(crate) fn rf(&self) -> usize {
        self.rf
    }

    /// Length of the arc ending at token `k`: from the token before it (the whole circle
    /// when there is one token).
    pub(crate) fn arc_len(&self, k: usize) -> u128 {
        let n = self.tokens.len();
        if n == 1 {
            return CIRCLE;
        }
        u128::from(self.tokens[k].0.wrapping_sub(self.tokens[(k + n - 1) % n].0))
    }

    /// Adds `owner`'s `token` (not already on the circle).
    pub(crate) fn insert(&mut self, token: u64, owner: u32) {
        let at = self.tokens.partition_point(|&(t, _)| t < token);
        self.tokens.insert(at, (token, owner));
    }

    /// Each member's load (`members` of them): the points it holds a copy of, out of
    /// [`CIRCLE`]; they sum to `rf` circles.
    pub(crate) fn loads(&self, members: usize) -> Vec<u128> {
        let mut loads = vec![0u128; members];
        let mut set = Vec::with_capacity(self.rf);
        for k in 0..self.tokens.len() {
            self.replicas_from(k, None, &mut set);
            let len = self.arc_len(k);
            for &m in &set {
                loads[m as usize] += len;
            }
        }
        loads
    }

    /// The replica set of the arc ending at logical index `from` of the circle with
    /// `splice` in it: the first `rf` distinct owners walking clockwise.
    pub(crate) fn replicas_from(&self, from: usize, splice: Option<Splice>, out: &mut Vec<u32>) {
        out.clear();
        let n = self.tokens.len() + usize::from(splice.is_some());
        for step in 0..n {
            let owner = self.owner_at((from + step) % n, splice);
            if !out.contains(&owner) {
                out.push(owner);
                if out.len() == self.rf {
                    break;
                }
            }
        }
    }

    /// The owner at logical index `k` of the circle with `splice` in it.
    fn owner_at(&self, k: usize, splice: Option<Splice>) -> u32 {
        match splice {
            Some(s) if k == s.at => s.owner,
            Some(s) if k > s.at => self.tokens[k - 1].1,
            _ => self.tokens[k].1,
        }
    }

    /// What splicing `splice` in would change (see the module docs); `scratch` are two
    /// reusable buffers. The circle must hold at least `rf` distinct owners, so that every
    /// walk ends before it comes round to where it began.
    pub(crate) fn splice_effect(&self, splice: Splice, scratch: &mut [Vec<u32>; 2]) -> SpliceEffect {
        let n = self.tokens.len();
        let mut effect = SpliceEffect::default();
        let [old, new] = scratch;
        // The piece: the arc's old set, against the new token's walk.
        self.replicas_from(splice.at, None, old);
        self.replicas_from(splice.at, Some(splice), new);
        effect.gainers.extend(new.iter().filter(|m| !old.contains(m)));
        effect.losers.extend(old.iter().filter(|m| !new.contains(m)));
        // The arcs before it, back to the first whose walk meets rf owners before the splice.
        let mut seen: Vec<u32> = Vec::with_capacity(self.rf);
        for back in 1..n {
            let k = (splice.at + n - back) % n;
            let owner = self.tokens[k].1;
            if !seen.contains(&owner) {
                seen.push(owner);
            }
            if seen.len() >= self.rf {
                break;
            }
            let logical = if k < splice.at { k } else { k + 1 };
            self.replicas_from(k, None, old);
            self.replicas_from(logical, Some(splice), new);
            let len = self.arc_len(k) as i128;
            for &m in new.iter().filter(|m| !old.contains(m)) {
                add(&mut effect.fixed, m, len);
            }
            for &m in old.iter().filter(|m| !new.contains(m)) {
                add(&mut effect.fixed, m, -len);
            }
        }
        effect
    }
}

fn add(changes: &mut Vec<(u32, i128)>, member: u32, change: i128) {
    match changes.iter_mut().find(|(m, _)| *m == member) {
        Some((_, c)) => *c += change,
        None => changes.push((member, change)),
    }
}

impl Ring {
    /// Each member's share of all copies at `rf` (fractions summing to min(rf, members)),
    /// by member index: what it stores when every point is kept `rf` times, ignoring zones.
    pub fn replicated_ownership(&self, rf: usize) -> Vec<f64> {
        let members = self.members().len();
        let circle = Circle::of_ring(self, rf.min(members));
        if circle.len() == 0 {
            return vec![0.0; members];
        }
        circle.loads(members).into_iter().map(|l| l as f64 / CIRCLE as f64).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::{Member, MemberState, NodeId, Placement};

    fn ring(tokens: &[&[u64]]) -> Ring {
        let members = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| Member {
                id: NodeId(format!("m{i}")),
                addr: String::new(),
                zone: None,
                state: MemberState::Active,
                tokens: t.to_vec(),
            })
            .collect();
        Ring::new(members).unwrap()
    }

    /// Loads counted by walking every point of a small circle one by one.
    fn counted(ring: &Ring, rf: usize, scale: u64) -> Vec<u128> {
        let mut loads = vec![0u128; ring.members().len()];
        for p in 0..=(u64::MAX / scale) {
            for m in ring.replicas(p * scale, Placement { rf, zone_aware: false }) {
                let i = ring.members().iter().position(|x| x.id == m.id).unwrap();
                loads[i] += 1;
            }
        }
        loads
    }

    #[test]
    fn loads_match_a_point_by_point_count() {
        // Tokens on multiples of 2^60: 16 points, each standing for 2^60.
        let scale = 1u64 << 60;
        let r = ring(&[&[scale, 5 * scale, 6 * scale], &[2 * scale, 9 * scale], &[3 * scale, 12 * scale]]);
        for rf in 1..=3 {
            let exact = Circle::of_ring(&r, rf).loads(3);
            let points: Vec<u128> =
                counted(&r, rf, scale).into_iter().map(|c| c * u128::from(scale)).collect();
            assert_eq!(exact, points, "rf {rf}");
            assert_eq!(exact.iter().sum::<u128>(), rf as u128 * CIRCLE);
        }
    }

    #[test]
    fn a_splice_effect_equals_the_loads_after_inserting() {
        let scale = 1u64 << 58;
        let r = ring(&[
            &[3 * scale, 17 * scale, 40 * scale],
            &[9 * scale, 22 * scale],
            &[30 * scale, 50 * scale],
            &[],
        ]);
        for rf in 1..=3 {
            let circle = Circle::of_ring(&r, rf);
            let before = circle.loads(4);
            for at in 0..circle.len() {
                let start = circle.token((at + circle.len() - 1) % circle.len()).0;
                let take = (circle.arc_len(at) / 3) as u64;
                let effect = circle.splice_effect(Splice { at, owner: 3 }, &mut Default::default());
                let mut expected: Vec<i128> = before.iter().map(|&l| l as i128).collect();
                for &(m, c) in &effect.fixed {
                    expected[m as usize] += c;
                }
                effect.gainers.iter().for_each(|&m| expected[m as usize] += i128::from(take));
                effect.losers.iter().for_each(|&m| expected[m as usize] -= i128::from(take));
                let mut after = circle.clone();
                after.insert(start.wrapping_add(take), 3);
                let actual: Vec<i128> = after.loads(4).into_iter().map(|l| l as i128).collect();
                assert_eq!(actual, expected, "rf {rf}, splice before token {at}");
            }
        }
    }

    #[test]
    fn replicated_ownership_sums_to_rf() {
        let r = ring(&[&[1, 1 << 40], &[1 << 50, 1 << 62], &[1 << 63]]);
        for rf in 1..=4 {
            let total: f64 = r.replicated_ownership(rf).iter().sum();
            assert!((total - rf.min(3) as f64).abs() < 1e-9, "rf {rf}: {total}");
        }
    }
}
