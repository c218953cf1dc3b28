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
//!   what they lacked before);
//! - **targets** are the members of the current replica set that are not holders; each
//!   gets the samples from when it stopped being a replica — the first ring since the pass
//!   without it, traced back through earlier rings without it — less
//!   [`CATCH_UP_SLACK_MS`] for samples that arrive late, or all of the history when that
//!   goes back past the oldest ring the log knows (a joiner, a replacement);
//! - the **sender** is the first holder still alive (active or leaving: a draining member
//!   sends its own share away), in the replica order of the base ring; every node computes
//!   the same one from the same rings, so one copy travels. When no holder is alive, every
//!   node holding the series sends, and the receiver keeps what it lacks.
//!
//! Copies left on members that are no longer replicas stay (reads merge every member's
//! data, so they cost disk, not correctness).

use crate::ring::{Member, MemberState, NodeId, Placement, Ring};

/// Samples up to this long before a member left a series' replica set are sent again when
/// it returns: samples written at that moment may carry slightly older timestamps.
pub const CATCH_UP_SLACK_MS: i64 = 15 * 60 * 1000;

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
    /// Members to send the series to, each with the time from which it needs samples.
    pub targets: Vec<(NodeId, i64)>,
}

/// Two rings place every series the same way: the same members, states and tokens.
pub(crate) fn same_placement(a: &Ring, b: &Ring) -> bool {
    let key = |m: &Member| (m.id.clone(), m.state, m.tokens.clone());
    a.members().len() == b.members().len()
        && a.members().iter().zip(b.members()).all(|(x, y)| key(x) == key(y))
}

/// The replicas writes go to: the first `rf` active members clockwise.
fn writable_replicas(ring: &Ring, token: u64, placement: Placement) -> Vec<NodeId> {
    ring.replicas_where(token, placement, |m| m.state == MemberState::Active)
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
        let sets: Vec<Vec<NodeId>> = self.rings[..=position]
            .iter()
            .map(|(ring, _)| writable_replicas(ring, token, placement))
            .collect();
        let since_base = &sets[self.base..position];
        let holders: Vec<&NodeId> =
            sets[self.base].iter().filter(|m| since_base.iter().all(|set| set.contains(m))).collect();
        let current = &sets[position];
        let targets: Vec<&NodeId> = current.iter().filter(|m| !holders.contains(m)).collect();
        if targets.is_empty() || !self.sends(me, &holders, position) {
            return none;
        }
        let targets = targets
            .into_iter()
            .filter(|m| *m != me)
            .map(|m| (m.clone(), self.needed_from(m, &sets, position)))
            .collect();
        SeriesPlan { targets }
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

    /// From when `target` needs the series' samples: the ring from which it was out of the
    /// replica set without a break up to the first ring since the base that lacks it.
    fn needed_from(&self, target: &NodeId, sets: &[Vec<NodeId>], position: usize) -> i64 {
        let Some(mut out) = (self.base..position).find(|&i| !sets[i].contains(target)) else {
            return i64::MIN; // not a holder, yet in every set since the base: cannot be
        };
        while out > 0 && !sets[out - 1].contains(target) {
            out -= 1;
        }
        if out == 0 && !sets[0].contains(target) {
            return i64::MIN; // out since before the oldest ring known: the whole history
        }
        self.rings[out].1.saturating_sub(CATCH_UP_SLACK_MS)
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

    fn plan(log: &RingLog, token: u64, me: &str) -> Vec<(NodeId, i64)> {
        log.plan(token, PLACEMENT, &id(me), log.position()).targets
    }

    #[test]
    fn a_failed_member_is_replaced_by_the_next_one_which_gets_the_whole_history_from_one_survivor() {
        let mut log = RingLog::new(ring([UP, UP, UP]), 1_000);
        assert!(!log.pending());
        assert!(log.observe(ring([UP, DOWN, UP]), 5_000_000));
        assert!(!log.observe(ring([UP, DOWN, UP]), 5_000_001), "the same placement is not a change");
        // Point 50: a, b before; a, c now. a (the first holder alive) sends all to c.
        assert_eq!(plan(&log, 50, "a"), vec![(id("c"), i64::MIN)]);
        assert_eq!(plan(&log, 50, "c"), vec![]);
        assert_eq!(plan(&log, 50, "b"), vec![]);
        // Point 150: b, c before; c, a now. c is the holder alive.
        assert_eq!(plan(&log, 150, "c"), vec![(id("a"), i64::MIN)]);
        assert_eq!(plan(&log, 150, "a"), vec![]);
        // Point 250: c, a before and now: nothing to do.
        assert_eq!(plan(&log, 250, "c"), vec![]);
        assert_eq!(plan(&log, 250, "a"), vec![]);
    }

    #[test]
    fn a_returning_member_gets_what_was_written_since_it_left_whether_or_not_a_pass_ran_meanwhile() {
        for pass_between in [false, true] {
            let mut log = RingLog::new(ring([UP, UP, UP]), 1_000);
            log.observe(ring([UP, DOWN, UP]), 5_000_000);
            if pass_between {
                log.finished(log.position());
            }
            log.observe(ring([UP, UP, UP]), 9_000_000);
            let since = 5_000_000 - CATCH_UP_SLACK_MS;
            // Point 50 (a, b): a sends b what it missed.
            assert_eq!(plan(&log, 50, "a"), vec![(id("b"), since)], "pass between: {pass_between}");
            // Point 150 (b, c): c sends b what it missed; b sends nothing.
            assert_eq!(plan(&log, 150, "c"), vec![(id("b"), since)]);
            assert_eq!(plan(&log, 150, "b"), vec![]);
            log.finished(log.position());
            assert!(!log.pending());
            assert_eq!(plan(&log, 50, "a"), vec![]);
        }
    }

    #[test]
    fn a_draining_member_sends_its_share_to_the_members_taking_it() {
        let mut log = RingLog::new(ring([UP, UP, UP]), 1_000);
        log.observe(ring([UP, LEAVING, UP]), 2_000);
        // Point 150: b, c before; c, a now. b is leaving but alive: the first holder.
        assert_eq!(plan(&log, 150, "b"), vec![(id("a"), i64::MIN)]);
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
        assert_eq!(plan(&log, 120, "b"), vec![(id("d"), i64::MIN)]);
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
        // Point 250, a back: c, a → c, a → c → c, a. The holder c sends a what it missed.
        log.observe(ring([UP, DOWN, UP]), 4_000);
        assert_eq!(plan(&log, 250, "c"), vec![(id("a"), 3_000 - CATCH_UP_SLACK_MS)]);
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
