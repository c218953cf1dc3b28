//! Choosing a joining member's tokens so that shares stay even.
//!
//! Random tokens leave shares uneven: with 256 a member, a member's share has a relative
//! spread of about 1/√256 = 6%, so the largest of 100 members holds ~16% more than the
//! mean and the largest of 1,000 ~20%. The goal is max/mean ≤ 1.1. So, as dskit's
//! spread-minimizing generator does in its own way, a joining member takes its share from
//! the members that hold most: for each of its tokens it finds the member with the largest
//! share, and on that member's largest arc `(start, end]` places a token at
//! `start + take`, taking the arc's first `take` points: what it is still owed of its fair
//! share 1/(N+1), divided by the tokens it has still to place (all but the arc's last
//! point if the arc is shorter). Only series in the taken pieces move, all of
//! them to the new member: the share moved on a join is the new member's share, ≈ 1/N.
//!
//! The first member's tokens are evenly spaced from a point hashed from its id. The result
//! depends only on the ring and the id, so retrying a join computes the same tokens.

use std::collections::BinaryHeap;

use crate::ring::{Arc, NodeId, Ring};

/// Tokens for `id` joining `ring` with `count` tokens; none clash with the ring's.
pub fn tokens_for_join(ring: &Ring, id: &NodeId, count: usize) -> Vec<u64> {
    if count == 0 {
        return Vec::new();
    }
    if ring.token_count() == 0 {
        return evenly_spaced(id, count);
    }
    let members = ring.members().len();
    let mut still_to_take = u128::from(u64::MAX) / (members as u128 + 1);
    // Each member's arcs as a max-heap by length, and members by what they hold.
    let mut arcs: Vec<BinaryHeap<(u64, u64)>> = vec![BinaryHeap::new(); members];
    let mut held = vec![0u128; members];
    for Arc { start, end, owner } in ring.arcs() {
        let arc = Arc { start, end, owner };
        arcs[owner].push((arc.len(), start));
        held[owner] += u128::from(arc.len());
    }
    let mut tokens = Vec::with_capacity(count);
    for placed in 0..count {
        let Some(giver) =
            (0..members).filter(|&m| !arcs[m].is_empty()).max_by_key(|&m| (held[m], std::cmp::Reverse(m)))
        else {
            break;
        };
        let Some((len, start)) = arcs[giver].pop() else { break };
        if len < 2 {
            // Every arc of the largest holder is a single point: nothing left to split.
            arcs[giver].push((len, start));
            break;
        }
        // What is still owed, spread over the tokens still to place (a short arc's
        // shortfall is made up by the next ones); never the arc's last point, which
        // stays its owner's token.
        let fair_piece = (still_to_take / (count - placed) as u128).clamp(1, u128::from(u64::MAX)) as u64;
        let take = fair_piece.min(len - 1);
        still_to_take = still_to_take.saturating_sub(u128::from(take));
        tokens.push(start.wrapping_add(take));
        held[giver] -= u128::from(take);
        arcs[giver].push((len - take, start.wrapping_add(take)));
    }
    tokens.sort_unstable();
    tokens
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
        let ring = Ring::new(members.clone()).unwrap();
        let id = NodeId(id.into());
        let tokens = tokens_for_join(&ring, &id, count);
        members.push(Member { id, addr: String::new(), zone: None, state: MemberState::Active, tokens });
    }

    fn spread(members: &[Member]) -> f64 {
        let owned = Ring::new(members.to_vec()).unwrap().ownership();
        let mean = owned.iter().sum::<f64>() / owned.len() as f64;
        owned.iter().cloned().fold(0.0, f64::max) / mean
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
        assert_eq!(tokens_for_join(&ring, &id, 64), tokens_for_join(&ring, &id, 64));
    }
}
