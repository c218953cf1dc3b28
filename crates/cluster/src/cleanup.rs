//! Cleanup: a node hands over the series it no longer owns and deletes its copies — what
//! turns a join's copy into a move (Cassandra's `nodetool cleanup`). Re-replication only
//! adds copies, so after a join the old holders of the joiner's share keep theirs, and after
//! a transient replacement the replacement keeps what it was sent; reads merge them, but
//! they hold disk.
//!
//! Asked for by `POST /cluster/v1/cleanup` (`strata cluster cleanup`), it runs on the repair
//! thread once no pass is owed, and only while every member is active (a failed or leaving
//! member may be the only other holder of something). For each stored series whose current
//! replicas do not include this node, its whole history is first sent to every replica
//! (which stores what it lacks, as in a pass), and only once every replica has answered is
//! the series deleted here (`Engine::delete_series`, exactly that series) — so nothing a
//! replica lacked is lost, whatever happened before (a lost hint, a write with old
//! timestamps). Series go in groups of [`GROUP`]; a ring change stops the cleanup between
//! groups (what was deleted had been handed over), and it is asked for again.

use std::collections::BTreeMap;

use strata_model::Labels;

use crate::repair::{now_ms, Outbox, PassProgress, RepairJob, Stopped, BATCH_SAMPLES};
use crate::repair_plan::writable_replicas;
use crate::ring::{series_token, Member, MemberState, NodeId, Ring};

/// Series handed over, then deleted, at a time.
const GROUP: usize = 1_000;

/// A cleanup runs only while every member is active (a failed or leaving member may be the
/// only other holder of something); otherwise, which one is not.
pub fn all_active(members: &[Member]) -> Result<(), String> {
    match members.iter().find(|m| m.state != MemberState::Active) {
        Some(m) => {
            Err(format!("every member must be active for a cleanup, and {} is {}", m.id, m.state.name()))
        }
        None => Ok(()),
    }
}

impl RepairJob {
    /// Runs a requested cleanup over `ring` and records how it ended.
    pub(crate) fn run_cleanup(&self, ring: &Ring) {
        self.repair.update(|s| s.state = "cleaning".into());
        let outcome = self.cleanup(ring);
        self.repair.update(|s| {
            s.cleanup_requested = false;
            s.pass.ended_ms = Some(now_ms());
            match outcome {
                Ok(()) => {
                    s.cleanups += 1;
                    s.last_error = None;
                }
                Err(Stopped::Failed(why)) => s.last_error = Some(format!("cleanup: {why}")),
                Err(Stopped::RingChanged) => {
                    s.last_error =
                        Some("cleanup: the ring changed; ask for it again once repair is idle".into())
                }
                Err(Stopped::Stopping) => {}
            }
        });
    }

    fn cleanup(&self, ring: &Ring) -> Result<(), Stopped> {
        all_active(ring.members()).map_err(Stopped::Failed)?;
        let series = self.source.series().map_err(Stopped::Failed)?;
        self.repair.update(|s| {
            s.pass = PassProgress { started_ms: now_ms(), series: series.len() as u64, ..Default::default() };
        });
        let me = self.membership.id().clone();
        for (g, group) in series.chunks(GROUP).enumerate() {
            self.check_still(ring)?;
            let moved = self.hand_over(ring, &me, group)?;
            let deleted = self.source.delete_series(&moved).map_err(Stopped::Failed)?;
            self.repair.update(|s| {
                s.pass.examined = (g * GROUP + group.len()) as u64;
                s.pass.series_sent += moved.len() as u64;
                s.series_moved_total += deleted;
            });
        }
        Ok(())
    }

    /// Sends every series of `group` that `me` does not own to all its replicas; returns
    /// those series, every replica having answered.
    fn hand_over(&self, ring: &Ring, me: &NodeId, group: &[Labels]) -> Result<Vec<Labels>, Stopped> {
        let mut outbox: BTreeMap<NodeId, Outbox> = BTreeMap::new();
        let mut moved = Vec::new();
        for labels in group {
            let token = series_token(self.source.routing_labels(labels).prometheus_key().as_bytes());
            let replicas = writable_replicas(ring, None, token, self.placement);
            if replicas.is_empty() || replicas.contains(me) {
                continue;
            }
            let samples = self.source.samples(labels, i64::MIN).map_err(Stopped::Failed)?;
            for replica in &replicas {
                for full in outbox.entry(replica.clone()).or_default().queue(labels, &samples, BATCH_SAMPLES)
                {
                    self.send(ring, replica, full)?;
                }
            }
            moved.push(labels.clone());
        }
        for (replica, out) in outbox {
            if !out.series.is_empty() {
                self.send(ring, &replica, out)?;
            }
        }
        Ok(moved)
    }
}
