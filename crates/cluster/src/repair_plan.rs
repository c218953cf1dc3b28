//! What re-replication must copy, decided per series from the rings a node has seen.
//!
//! Writes go to a series' first `rf` *active* members clockwise (`replication`). When that
//! set changes — a member fails, returns, joins, drains or is removed — a member that is in
//! the new set but was not in it all along may lack some of the series' history: a
//! replacement for a failed member has none of it, a returning member lacks what was written
//! while it was away, a joiner lacks everything before it took its share. The
//! [`RingLog`] keeps the rings a node has seen since its last finished repair pass (and some
//! before, with the time each was first seen), so that for each series:
//!
//! - **holders** are the members that were replicas in every ring since the last finished
//!   pass: they have the whole history (writes reached them, and the last pass gave them
//!   what they lacked before). A member that failed and is active again by the time of the
//!   pass counts as having been there: a transient failure is hinted handoff's to mend
//!   (`handoff`), so a node restarted within the repair delay is not sent its share again;
//!   a failure that outlasts the delay is re-replicated, and the member's return after it
//!   is a change like any other;
//! - **targets** are the members of the current replica set that are not holders; each
//!   is sent the series' whole history, and stores what it lacks. Not only what was written
//!   while it was away, judged by timestamps: a write may carry old timestamps (an import,
//!   a remote-write backfill), so the time a member left says nothing about which samples
//!   it lacks. (The cost: a member back from a failure longer than the repair delay is sent
//!   its whole share again — a digest exchange that would send only what differs is not
//!   built yet.)
//! - the **sender** is the first holder still alive (active or leaving: a draining member
//!   sends its own share away), in the replica order of the base ring; every node computes
//!   the same one from the same rings, so one copy travels. When no holder is alive, every
//!   node holding the series sends, and the receiver keeps what it lacks.
//!
//! Copies left on members that are no longer replicas stay (reads merge every member's
//! data, so they cost disk, not correctness).

use crate::ring::{Member, MemberState, NodeId, Placement, Ring};

/// Rings the log keeps at most (the oldest go first; see [`RingLog::observe`]).
const MAX_RINGS: usize = 256;

/// The rings a node has seen, oldest first, each with the time (ms) it was first seen.
#[derive(Debug, Clone)]
pub struct RingLog {
    rings: Vec<(Ring, i64)>,
    /// Index of the ring the last finished pass brought every series up to.
    base: usize,
}

/// What this node does for one series in a pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesPlan {
    /// Members to send the series' history to.
    pub targets: Vec<NodeId>,
}

/// Two rings place every series the same way: the same members, states and tokens.
pub(crate) fn same_placement(a: &Ring, b: &Ring) -> bool {
    let key = |m: &Member| (m.id.clone(), m.state, m.tokens.clone());
    a.members().len() == b.members().len()
        && a.members().iter().zip(b.members()).all(|(x, y)| key(x) == key(y))
}

/// The replicas writes go to: the first `rf` active members clockwise.
/// The replicas writes go to under `ring`. With `healed_by`, a member failed in `ring` but
/// active there counts as active: its absence was transient, and hinted handoff delivers
/// what was written meanwhile.
pub(crate) fn writable_replicas(
    ring: &Ring,
    healed_by: Option<&Ring>,
    token: u64,
    placement: Placement,
) -> Vec<NodeId> {
    let healed = |m: &Member| {
        m.state == MemberState::Failed
            && healed_by.and_then(|now| now.member(&m.id)).is_some_and(|c| c.state == MemberState::Active)
    };
    ring.replicas_where(token, placement, |m| m.state == MemberState::Active || healed(m))
        .into_iter()
        .map(|m| m.id.clone())
        .collect()
}

impl RingLog {
    /// A log that starts at `ring`, seen at `now`: nothing to repair yet.
    pub fn new(ring: Ring, now: i64) -> RingLog {
        RingLog { rings: vec![(ring, now)], base: 0 }
    }

    /// Records `ring` if it places series differently from the newest; returns whether it
    /// did.
    pub fn observe(&mut self, ring: Ring, now: i64) -> bool {
        if same_placement(&self.newest().0, &ring) {
            return false;
        }
        self.rings.push((ring, now));
        if self.rings.len() > MAX_RINGS {
            self.rings.remove(0);
            self.base = self.base.saturating_sub(1);
        }
        true
    }

    /// The newest ring and when it was first seen.
    pub fn newest(&self) -> &(Ring, i64) {
        self.rings.last().expect("a log holds a ring")
    }

    /// Whether a pass is owed: the ring changed since the last finished one.
    pub fn pending(&self) -> bool {
        self.base + 1 < self.rings.len()
    }

    /// The position of the newest ring, which a pass starting now brings series up to.
    pub fn position(&self) -> usize {
        self.rings.len() - 1
    }

    /// A pass that started at `position` finished: every series is up to that ring.
    pub fn finished(&mut self, position: usize) {
        self.base = self.base.max(position.min(self.rings.len() - 1));
    }

    /// What `me` sends for the series at `token`, up to the ring at `position`.
    pub fn plan(&self, token: u64, placement: Placement, me: &NodeId, position: usize) -> SeriesPlan {
        let none = SeriesPlan { targets: Vec::new() };
        if position <= self.base {
            return none;
        }
        // Failures after the base that have healed by now were transient; one at the base
        // outlasted a pass, and its member's return is a change.
        let now = &self.rings[position].0;
        let sets: Vec<Vec<NodeId>> = self.rings[..=position]
            .iter()
            .enumerate()
            .map(|(i, (ring, _))| writable_replicas(ring, (i > self.base).then_some(now), token, placement))
            .collect();
        let since_base = &sets[self.base..position];
        let holders: Vec<&NodeId> =
            sets[self.base].iter().filter(|m| since_base.iter().all(|set| set.contains(m))).collect();
        let current = &sets[position];
        let targets: Vec<&NodeId> = current.iter().filter(|m| !holders.contains(m)).collect();
        if targets.is_empty() || !self.sends(me, &holders, position) {
            return none;
        }
        SeriesPlan { targets: targets.into_iter().filter(|m| *m != me).cloned().collect() }
    }

    /// Whether `me` is the sender: the first holder alive in the ring at `position`, or
    /// anyone holding the series when no holder is alive.
    fn sends(&self, me: &NodeId, holders: &[&NodeId], position: usize) -> bool {
        let ring = &self.rings[position].0;
        let alive = |id: &NodeId| ring.member(id).is_some_and(|m| m.state != MemberState::Failed);
        match holders.iter().find(|id| alive(id)) {
            Some(first) => *first == me,
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::series_token;

    const PLACEMENT: Placement = Placement { rf: 2, zone_aware: false };

    fn member(id: &str, state: MemberState, tokens: &[u64]) -> Member {
        Member { id: NodeId(id.into()), addr: format!("{id}:1"), zone: None, state, tokens: tokens.to_vec() }
    }

    /// Three members, a token each: a point just below 100 goes a, b; below 200 b, c;
    /// below 300 c, a.
    fn ring(states: [MemberState; 3]) -> Ring {
        Ring::new(vec![
            member("a", states[0], &[100]),
            member("b", states[1], &[200]),
            member("c", states[2], &[300]),
        ])
        .unwrap()
    }

    const UP: MemberState = MemberState::Active;
    const DOWN: MemberState = MemberState::Failed;
    const LEAVING: MemberState = MemberState::Leaving;

    fn id(s: &str) -> NodeId {
        NodeId(s.into())
    }

    fn plan(log: &RingLog, token: u64, me: &str) -> Vec<NodeId> {
        log.plan(token, PLACEMENT, &id(me), log.position()).targets
    }

    #[test]
    fn a_failed_member_is_replaced_by_the_next_one_which_gets_the_whole_history_from_one_survivor() {
        let mut log = RingLog::new(ring([UP, UP, UP]), 1_000);
        assert!(!log.pending());
        assert!(log.observe(ring([UP, DOWN, UP]), 5_000_000));
        assert!(!log.observe(ring([UP, DOWN, UP]), 5_000_001), "the same placement is not a change");
        // Point 50: a, b before; a, c now. a (the first holder alive) sends all to c.
        assert_eq!(plan(&log, 50, "a"), vec![id("c")]);
        assert_eq!(plan(&log, 50, "c"), vec![]);
        assert_eq!(plan(&log, 50, "b"), vec![]);
        // Point 150: b, c before; c, a now. c is the holder alive.
        assert_eq!(plan(&log, 150, "c"), vec![id("a")]);
        assert_eq!(plan(&log, 150, "a"), vec![]);
        // Point 250: c, a before and now: nothing to do.
        assert_eq!(plan(&log, 250, "c"), vec![]);
        assert_eq!(plan(&log, 250, "a"), vec![]);
    }

    #[test]
    fn a_member_back_before_a_pass_is_left_to_hints_and_one_back_after_a_pass_is_sent_its_series() {
        let mut log = RingLog::new(ring([UP, UP, UP]), 1_000);
        log.observe(ring([UP, DOWN, UP]), 5_000_000);
        log.observe(ring([UP, UP, UP]), 9_000_000);
        assert!(log.pending(), "two changes, a pass owed");
        for (point, me) in [(50, "a"), (50, "b"), (150, "b"), (150, "c"), (250, "c"), (250, "a")] {
            assert_eq!(plan(&log, point, me), vec![], "point {point}, {me}: a transient failure");
        }
        let mut log = RingLog::new(ring([UP, UP, UP]), 1_000);
        log.observe(ring([UP, DOWN, UP]), 5_000_000);
        log.finished(log.position());
        log.observe(ring([UP, UP, UP]), 9_000_000);
        // Point 50 (a, b): a sends b the history (b keeps what it lacks).
        assert_eq!(plan(&log, 50, "a"), vec![id("b")]);
        // Point 150 (b, c): c (holder through the failure) sends b the history.
        assert_eq!(plan(&log, 150, "c"), vec![id("b")]);
        assert_eq!(plan(&log, 150, "b"), vec![]);
        log.finished(log.position());
        assert!(!log.pending());
        assert_eq!(plan(&log, 50, "a"), vec![]);
    }

    #[test]
    fn a_draining_member_sends_its_share_to_the_members_taking_it() {
        let mut log = RingLog::new(ring([UP, UP, UP]), 1_000);
        log.observe(ring([UP, LEAVING, UP]), 2_000);
        // Point 150: b, c before; c, a now. b is leaving but alive: the first holder.
        assert_eq!(plan(&log, 150, "b"), vec![id("a")]);
        assert_eq!(plan(&log, 150, "c"), vec![]);
        // Once it is removed, nothing more is owed for it.
        log.finished(log.position());
        let removed = Ring::new(vec![member("a", UP, &[100]), member("c", UP, &[300])]).unwrap();
        log.observe(removed, 3_000);
        assert_eq!(plan(&log, 150, "c"), vec![]);
        assert_eq!(plan(&log, 150, "a"), vec![]);
    }

    #[test]
    fn a_joiner_gets_the_whole_history_of_its_share_from_a_holder() {
        let mut log = RingLog::new(ring([UP, UP, UP]), 1_000);
        let joined = Ring::new(vec![
            member("a", UP, &[100]),
            member("b", UP, &[200]),
            member("c", UP, &[300]),
            member("d", UP, &[150]),
        ])
        .unwrap();
        log.observe(joined, 2_000);
        // Point 120: was b, c; now d, b. b is the first holder alive.
        assert_eq!(plan(&log, 120, "b"), vec![id("d")]);
        assert_eq!(plan(&log, 120, "c"), vec![]);
        assert_eq!(plan(&log, 120, "d"), vec![]);
        // Point 170: b, c as before.
        assert_eq!(plan(&log, 170, "b"), vec![]);
    }

    #[test]
    fn when_no_holder_is_alive_every_node_holding_the_series_sends() {
        let mut log = RingLog::new(ring([UP, UP, UP]), 1_000);
        log.observe(ring([UP, DOWN, UP]), 2_000);
        log.observe(ring([DOWN, DOWN, UP]), 3_000);
        // Point 50: a, b; then a, c; then c alone. Holders since the base: a (down). c
        // holds what it got, and sends nothing to itself; no one else is a target.
        assert_eq!(plan(&log, 50, "c"), vec![]);
        // a back: its failure was transient (no pass ran), so it counts as a holder still;
        // b's failure outlasts the pass: point 50 (a, b → a, c) gets c.
        log.observe(ring([UP, DOWN, UP]), 4_000);
        assert_eq!(plan(&log, 250, "c"), vec![]);
        assert_eq!(plan(&log, 50, "a"), vec![id("c")]);
    }

    #[test]
    fn series_hash_to_the_plan_of_their_point() {
        let mut log = RingLog::new(ring([UP, UP, UP]), 0);
        log.observe(ring([UP, DOWN, UP]), 1);
        let token = series_token(b"{__name__=\"up\"}");
        let all: Vec<_> = ["a", "b", "c"].iter().flat_map(|me| plan(&log, token, me)).collect();
        assert!(all.len() <= 1, "one sender, at most one target at rf 2: {all:?}");
    }
}
