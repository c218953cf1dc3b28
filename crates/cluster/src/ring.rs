//! The token ring: which nodes hold a series.
//!
//! Every member owns `tokens` points on a 64-bit circle (the seed's 256 virtual nodes a
//! node). A series hashes to a point ([`series_token`]); its replicas are the first `rf`
//! distinct members met walking clockwise from there (the first token at or after the
//! point, wrapping at 2^64), with zone awareness optionally taking at most
//! ⌈rf / zones⌉ members of one zone. A member's primary share of the circle is the sum of
//! the arcs ending at its tokens: the arc `(previous token, token]` belongs to the token's
//! member.
//!
//! Invariants a [`Ring`] keeps: member ids are unique; no token is held twice (a clash is
//! refused, naming both members); `tokens` is sorted, so a lookup is one binary search.
//! Placement depends only on the members and their tokens — never on the order they were
//! listed in or on who computes it — so every node routes a series the same way.

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A member's name in the ring (`node-1`), unique in a cluster.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub String);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a member is in its life, as the ring records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberState {
    /// In the ring, taking writes for its share and answering queries.
    Active,
    /// Leaving (drain): still answers queries for its old data, its share moves away.
    Leaving,
    /// Its lease expired: no writes are sent to it; its series are re-replicated.
    Failed,
}

impl MemberState {
    /// Its name as JSON and `/metrics` spell it: `active`, `leaving`, `failed`.
    pub fn name(self) -> &'static str {
        match self {
            MemberState::Active => "active",
            MemberState::Leaving => "leaving",
            MemberState::Failed => "failed",
        }
    }
}

/// One node as the ring records it (its entry in etcd).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// Its name.
    pub id: NodeId,
    /// Where other nodes reach its HTTP API (`127.0.0.1:9101`).
    pub addr: String,
    /// Its failure domain, for zone-aware placement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Its state.
    pub state: MemberState,
    /// Its points on the circle.
    pub tokens: Vec<u64>,
}

/// How many copies of a series, and whether copies must sit in different zones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// Replication factor: copies of each series.
    pub rf: usize,
    /// Take at most ⌈rf / zones⌉ members of any one zone.
    pub zone_aware: bool,
}

/// Why a ring could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RingError {
    /// Two members share a name.
    #[error("member {0} is listed twice")]
    DuplicateMember(NodeId),
    /// Two members (or one, twice) hold the same token.
    #[error("token {token} is held by both {first} and {second}")]
    DuplicateToken {
        /// The token.
        token: u64,
        /// One holder.
        first: NodeId,
        /// The other.
        second: NodeId,
    },
}

/// The ring: members and their tokens, sorted for lookups.
#[derive(Clone, Debug, Default)]
pub struct Ring {
    members: Vec<Member>,
    /// (token, index into `members`), sorted by token; tokens are unique.
    tokens: Vec<(u64, u32)>,
}

/// The point a series hashes to: XXH3 of its labels in their canonical text
/// (`{a="1",b="2"}`, names sorted), so every node computes the same one.
pub fn series_token(canonical_labels: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(canonical_labels)
}

impl Ring {
    /// Builds a ring; members are kept sorted by id.
    pub fn new(mut members: Vec<Member>) -> Result<Ring, RingError> {
        members.sort_by(|a, b| a.id.cmp(&b.id));
        for pair in members.windows(2) {
            if pair[0].id == pair[1].id {
                return Err(RingError::DuplicateMember(pair[0].id.clone()));
            }
        }
        let mut tokens: Vec<(u64, u32)> = members
            .iter()
            .enumerate()
            .flat_map(|(i, m)| m.tokens.iter().map(move |&t| (t, i as u32)))
            .collect();
        tokens.sort_unstable();
        for pair in tokens.windows(2) {
            if pair[0].0 == pair[1].0 {
                return Err(RingError::DuplicateToken {
                    token: pair[0].0,
                    first: members[pair[0].1 as usize].id.clone(),
                    second: members[pair[1].1 as usize].id.clone(),
                });
            }
        }
        Ok(Ring { members, tokens })
    }

    /// The members, sorted by id.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The member named `id`.
    pub fn member(&self, id: &NodeId) -> Option<&Member> {
        self.members.binary_search_by(|m| m.id.cmp(id)).ok().map(|i| &self.members[i])
    }

    /// Tokens on the circle, all members'.
    pub fn token_count(&self) -> usize {
        self.tokens.len()
    }

    /// The replicas of the series at `point`: up to `placement.rf` distinct members
    /// walking clockwise, taking only members `eligible` accepts (say, not failed).
    /// Fewer come back when fewer eligible members exist.
    pub fn replicas_where(
        &self,
        point: u64,
        placement: Placement,
        eligible: impl Fn(&Member) -> bool,
    ) -> Vec<&Member> {
        let mut chosen: Vec<&Member> = Vec::with_capacity(placement.rf);
        if self.tokens.is_empty() || placement.rf == 0 {
            return chosen;
        }
        let per_zone = if placement.zone_aware { self.per_zone_cap(placement.rf) } else { usize::MAX };
        // Zones are counted only when a cap applies (lookups are hot: no map otherwise).
        let mut zone_counts: Vec<(Option<&str>, usize)> = Vec::new();
        let start = self.tokens.partition_point(|&(t, _)| t < point);
        for step in 0..self.tokens.len() {
            let (_, index) = self.tokens[(start + step) % self.tokens.len()];
            let member = &self.members[index as usize];
            if chosen.iter().any(|c| c.id == member.id) || !eligible(member) {
                continue;
            }
            if placement.zone_aware {
                let zone = member.zone.as_deref();
                match zone_counts.iter_mut().find(|(z, _)| *z == zone) {
                    Some((_, n)) if *n >= per_zone => continue,
                    Some((_, n)) => *n += 1,
                    None => zone_counts.push((zone, 1)),
                }
            }
            chosen.push(member);
            if chosen.len() == placement.rf {
                break;
            }
        }
        chosen
    }

    /// The replicas of the series at `point` among every member, whatever its state.
    pub fn replicas(&self, point: u64, placement: Placement) -> Vec<&Member> {
        self.replicas_where(point, placement, |_| true)
    }

    /// At most this many replicas of one series in one zone: ⌈rf / zones⌉.
    fn per_zone_cap(&self, rf: usize) -> usize {
        let zones: HashSet<Option<&str>> = self.members.iter().map(|m| m.zone.as_deref()).collect();
        rf.div_ceil(zones.len().max(1))
    }

    /// Each member's primary share of the circle (fractions summing to 1), by member index.
    pub fn ownership(&self) -> Vec<f64> {
        let mut owned = vec![0u128; self.members.len()];
        if self.tokens.is_empty() {
            return vec![0.0; self.members.len()];
        }
        let mut previous = self.tokens[self.tokens.len() - 1].0;
        for &(token, index) in &self.tokens {
            owned[index as usize] += u128::from(token.wrapping_sub(previous));
            previous = token;
        }
        if self.tokens.len() == 1 {
            // One token owns the whole circle (the wrapping difference above is 0).
            owned[self.tokens[0].1 as usize] = 1u128 << 64;
        }
        owned.into_iter().map(|o| o as f64 / 2f64.powi(64)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn member(id: &str, zone: Option<&str>, tokens: &[u64]) -> Member {
        Member {
            id: NodeId(id.into()),
            addr: format!("{id}:9090"),
            zone: zone.map(Into::into),
            state: MemberState::Active,
            tokens: tokens.to_vec(),
        }
    }

    const RF2: Placement = Placement { rf: 2, zone_aware: false };

    #[test]
    fn walks_clockwise_from_the_point_and_wraps() {
        let ring = Ring::new(vec![
            member("a", None, &[100, 400]),
            member("b", None, &[200]),
            member("c", None, &[300]),
        ])
        .unwrap();
        let ids = |point| ring.replicas(point, RF2).iter().map(|m| m.id.0.clone()).collect::<Vec<_>>();
        assert_eq!(ids(150), ["b", "c"]);
        assert_eq!(ids(200), ["b", "c"], "a token owns its own point");
        assert_eq!(ids(350), ["a", "b"]);
        assert_eq!(ids(401), ["a", "b"], "past the last token wraps to the first");
        assert_eq!(ids(0), ["a", "b"]);
    }

    #[test]
    fn skips_members_already_chosen_and_ineligible_ones() {
        let ring = Ring::new(vec![
            member("a", None, &[100, 200]),
            member("b", None, &[300]),
            member("c", None, &[400]),
        ])
        .unwrap();
        let ids: Vec<_> = ring.replicas(50, RF2).iter().map(|m| m.id.0.clone()).collect();
        assert_eq!(ids, ["a", "b"], "a's second token is not a second replica");
        let ids: Vec<_> =
            ring.replicas_where(50, RF2, |m| m.id.0 != "b").iter().map(|m| m.id.0.clone()).collect();
        assert_eq!(ids, ["a", "c"]);
        assert_eq!(ring.replicas(50, Placement { rf: 5, zone_aware: false }).len(), 3);
    }

    #[test]
    fn zone_awareness_spreads_copies_over_zones() {
        let ring = Ring::new(vec![
            member("a1", Some("a"), &[100]),
            member("a2", Some("a"), &[200]),
            member("b1", Some("b"), &[300]),
        ])
        .unwrap();
        let ids: Vec<_> =
            ring.replicas(50, Placement { rf: 2, zone_aware: true }).iter().map(|m| m.id.0.clone()).collect();
        assert_eq!(ids, ["a1", "b1"]);
    }

    #[test]
    fn clashing_tokens_and_names_are_refused() {
        let e = Ring::new(vec![member("a", None, &[1]), member("b", None, &[1])]).unwrap_err();
        assert_eq!(e.to_string(), "token 1 is held by both a and b");
        let e = Ring::new(vec![member("a", None, &[1]), member("a", None, &[2])]).unwrap_err();
        assert_eq!(e, RingError::DuplicateMember(NodeId("a".into())));
    }

    #[test]
    fn ownership_sums_to_one() {
        let ring = Ring::new(vec![member("a", None, &[0, 1 << 62]), member("b", None, &[1 << 63])]).unwrap();
        let owned = ring.ownership();
        assert!((owned[0] - 0.75).abs() < 1e-12 && (owned[1] - 0.25).abs() < 1e-12, "{owned:?}");
        let lone = Ring::new(vec![member("a", None, &[42])]).unwrap();
        assert_eq!(lone.ownership(), [1.0]);
    }
}
