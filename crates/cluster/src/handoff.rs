//! Hinted handoff: the copies a failed member missed, kept by the node that coordinated the
//! write and delivered when the member is active again.
//!
//! While a member is failed, writes route around it (`replication`): its series' copies go
//! to the next members clockwise, so nothing acknowledged depends on it. When it returns it
//! has none of what was written meanwhile — a copy short on each of its series. The
//! coordinating node keeps, per failed member, the samples that member should have had
//! (a hint); a handoff thread sends them once the ring shows the member active again, as a
//! forwarded remote write (its samples are newer than anything the member had, so they
//! append in order).
//!
//! Hints live in memory, bounded in bytes: past the bound the oldest hints of the member
//! with most are dropped and counted. A hint lost (the bound, this node's restart, the
//! member refusing samples it got meanwhile from newer writes) leaves that copy missing —
//! never an acknowledged sample missing, since a quorum of copies was made elsewhere.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::replication::SeriesSamples;
use crate::ring::NodeId;

/// The copies a member missed in one write.
#[derive(Clone, Debug, PartialEq)]
pub struct Hint {
    /// The tenant the write was for.
    pub tenant: Option<String>,
    /// The series (with their samples) the member should have had.
    pub series: Vec<SeriesSamples>,
}

impl Hint {
    fn bytes(&self) -> usize {
        self.series.iter().map(|s| s.labels.prometheus_key().len() + 16 * s.samples.len()).sum()
    }
}

/// Hints per member, bounded in bytes.
#[derive(Debug)]
pub struct Hints {
    limit: usize,
    state: Mutex<HintState>,
    delivered: AtomicU64,
    dropped: AtomicU64,
}

#[derive(Debug, Default)]
struct HintState {
    queues: BTreeMap<NodeId, VecDeque<Hint>>,
    bytes: usize,
}

/// Hints' figures, for `/metrics` and status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HintFigures {
    /// Hints waiting.
    pub pending: usize,
    /// Their size, bytes (labels and 16 bytes a sample).
    pub pending_bytes: usize,
    /// Hints delivered.
    pub delivered: u64,
    /// Hints dropped: over the bound, or refused by the member.
    pub dropped: u64,
}

impl Hints {
    /// Hints held up to `limit` bytes.
    pub fn new(limit: usize) -> Hints {
        Hints {
            limit,
            state: Mutex::new(HintState::default()),
            delivered: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    /// Keeps `hint` for `member`, dropping the oldest hints of the member holding most when
    /// over the bound.
    pub fn add(&self, member: &NodeId, hint: Hint) {
        let size = hint.bytes();
        if size > self.limit {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mut state = self.state.lock().expect("hints lock");
        state.bytes += size;
        state.queues.entry(member.clone()).or_default().push_back(hint);
        while state.bytes > self.limit {
            let Some(largest) = state.queues.iter().max_by_key(|(_, q)| q.len()).map(|(id, _)| id.clone())
            else {
                break;
            };
            let queue = state.queues.get_mut(&largest).expect("present");
            if let Some(old) = queue.pop_front() {
                state.bytes -= old.bytes();
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            if state.queues.get(&largest).is_some_and(VecDeque::is_empty) {
                state.queues.remove(&largest);
            }
        }
    }

    /// The members with hints waiting.
    pub fn members(&self) -> Vec<NodeId> {
        self.state.lock().expect("hints lock").queues.keys().cloned().collect()
    }

    /// Takes `member`'s oldest hint to deliver; give it back with [`Hints::put_back`] if the
    /// delivery fails.
    pub fn take(&self, member: &NodeId) -> Option<Hint> {
        let mut state = self.state.lock().expect("hints lock");
        let queue = state.queues.get_mut(member)?;
        let hint = queue.pop_front();
        if queue.is_empty() {
            state.queues.remove(member);
        }
        if let Some(h) = &hint {
            state.bytes -= h.bytes();
        }
        hint
    }

    /// Returns an undelivered hint to the front of `member`'s queue.
    pub fn put_back(&self, member: &NodeId, hint: Hint) {
        let mut state = self.state.lock().expect("hints lock");
        state.bytes += hint.bytes();
        state.queues.entry(member.clone()).or_default().push_front(hint);
    }

    /// Counts a hint delivered.
    pub fn delivered(&self) {
        self.delivered.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a hint given up (the member refused it).
    pub fn given_up(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Hints waiting, delivered and dropped.
    pub fn figures(&self) -> HintFigures {
        let state = self.state.lock().expect("hints lock");
        HintFigures {
            pending: state.queues.values().map(VecDeque::len).sum(),
            pending_bytes: state.bytes,
            delivered: self.delivered.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_model::Labels;

    fn hint(n: usize) -> Hint {
        let labels = Labels::from_pairs([("__name__", "m"), ("i", &*n.to_string())]).unwrap();
        Hint { tenant: None, series: vec![SeriesSamples { labels, samples: vec![(n as i64, 1.0); 10] }] }
    }

    #[test]
    fn hints_come_back_in_order_per_member_and_failed_deliveries_go_first_again() {
        let hints = Hints::new(1 << 20);
        let (a, b) = (NodeId("a".into()), NodeId("b".into()));
        hints.add(&a, hint(1));
        hints.add(&b, hint(2));
        hints.add(&a, hint(3));
        assert_eq!(hints.members(), vec![a.clone(), b.clone()]);
        let first = hints.take(&a).unwrap();
        assert_eq!(first, hint(1));
        hints.put_back(&a, first);
        assert_eq!(hints.take(&a), Some(hint(1)));
        assert_eq!(hints.take(&a), Some(hint(3)));
        assert_eq!(hints.take(&a), None);
        assert_eq!(hints.figures().pending, 1);
        assert_eq!(hints.figures().pending_bytes, hint(2).bytes());
    }

    #[test]
    fn past_the_bound_the_oldest_hints_of_the_largest_queue_go_and_are_counted() {
        let size = hint(1).bytes();
        let hints = Hints::new(size * 4);
        let (a, b) = (NodeId("a".into()), NodeId("b".into()));
        for n in 0..4 {
            hints.add(&a, hint(n));
        }
        hints.add(&b, hint(9));
        let figures = hints.figures();
        assert!(figures.pending_bytes <= size * 4, "{figures:?}");
        assert_eq!(figures.dropped, 1);
        assert_eq!(hints.take(&a), Some(hint(1)), "a's oldest went");
        assert_eq!(hints.take(&b), Some(hint(9)));
    }
}
