//! Re-replication and rebalancing: after the ring changes, each node copies the history of
//! its series to the members that became their replicas, so every series is back to `rf`
//! copies — a failed member's share on the members replacing it, a member back after a
//! long failure given its series again, a joiner given its share, a draining member's share
//! moved off it.
//!
//! A thread per node watches the ring ([`RingLog`]). Once it has stayed unchanged for the
//! repair delay (so a node restarted within it costs no copy of its share: hinted handoff
//! mends a transient failure), a **pass** walks every series this node stores: the
//! plan (`repair_plan`) says whether this node is the one to send it and to whom; its
//! whole history goes in batches to the target's [`BACKFILL_PATH`], which stores
//! what it lacks (`strata_storage::backfill`). A pass that finishes brings the log's base up
//! to the ring it started from; a ring change during a pass stops it, and the next pass
//! covers both changes; a failed send ends the pass with the error shown, and it is tried
//! again after the delay. Progress (series examined of all, series and samples sent) is
//! shown in `/api/v1/status/cluster`, `/metrics` and `strata cluster repair`.
//!
//! [`BACKFILL_PATH`]: crate::forward::BACKFILL_PATH

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use strata_model::Labels;

use crate::forward::Forwarder;
use crate::membership::Membership;
use crate::repair_plan::{same_placement, RingLog};
use crate::replication::{SendError, SeriesSamples};
use crate::ring::{series_token, NodeId, Placement, Ring};

/// Samples gathered for one member before a backfill request goes; a request carries
/// less than twice this, however long a series' history (about 1.6 MB a 100,000 samples
/// before compression; a node's body limit is 64 MiB by default).
pub(crate) const BATCH_SAMPLES: usize = 100_000;

/// Series examined between two looks at the ring (a change stops the pass).
const RING_CHECK_EVERY: usize = 256;

/// A node's stored series, as re-replication reads them.
pub trait RepairSource: Send + Sync {
    /// Every series the node stores, with its labels as stored.
    fn series(&self) -> Result<Vec<Labels>, String>;

    /// The stored series' samples at or after `from` (`i64::MIN`: all), sorted by time.
    fn samples(&self, labels: &Labels, from: i64) -> Result<Vec<(i64, f64)>, String>;

    /// Deletes exactly these stored series (`cleanup`: copies this node no longer owns,
    /// once their replicas have them); returns how many it held.
    fn delete_series(&self, series: &[Labels]) -> Result<u64, String>;

    /// The labels a stored series was routed by (a tenant's label taken off, say): its
    /// point on the ring is their hash.
    fn routing_labels(&self, labels: &Labels) -> Labels {
        labels.clone()
    }
}

/// What re-replication is doing, for status pages.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RepairStatus {
    /// `idle` (nothing owed), `waiting` (the ring changed; the delay runs, or etcd is out
    /// of reach), `running`, `retrying` (the last pass failed) or `cleaning` (`cleanup`).
    pub state: String,
    /// Passes finished since the node started.
    pub passes: u64,
    /// The pass running or the last one.
    pub pass: PassProgress,
    /// Why the last pass failed or stopped, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Totals since the node started.
    pub series_sent_total: u64,
    /// Samples sent since the node started.
    pub samples_sent_total: u64,
    /// Cleanups (`cleanup`) finished since the node started.
    pub cleanups: u64,
    /// A cleanup was asked for and has not run yet.
    pub cleanup_requested: bool,
    /// Series a cleanup handed to their replicas and deleted here, since the node started.
    pub series_moved_total: u64,
}

/// One pass's progress.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PassProgress {
    /// When it started, ms since the epoch.
    pub started_ms: i64,
    /// When it ended, if it has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_ms: Option<i64>,
    /// Series this node stores.
    pub series: u64,
    /// Of those, examined so far.
    pub examined: u64,
    /// Series sent (to one member or more).
    pub series_sent: u64,
    /// Samples sent.
    pub samples_sent: u64,
    /// Samples the targets stored (the rest they held already).
    pub samples_written: u64,
    /// Samples sent per member.
    pub to_members: BTreeMap<String, u64>,
}

impl RepairStatus {
    /// The pass's progress, 0 to 1 (1 when idle).
    pub fn progress(&self) -> f64 {
        match self.state.as_str() {
            "running" if self.pass.series > 0 => self.pass.examined as f64 / self.pass.series as f64,
            "running" => 0.0,
            _ => 1.0,
        }
    }
}

/// The repair thread's handle: its status, shared.
#[derive(Debug, Default)]
pub struct Repair {
    status: Mutex<RepairStatus>,
}

impl Repair {
    /// Asks the repair thread to run a cleanup once no pass is owed.
    pub(crate) fn request_cleanup(&self) {
        self.update(|s| s.cleanup_requested = true);
    }

    /// A snapshot of the status.
    pub fn status(&self) -> RepairStatus {
        self.status.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn update(&self, change: impl FnOnce(&mut RepairStatus)) {
        change(&mut self.status.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

/// How the repair thread runs.
#[derive(Clone)]
pub(crate) struct RepairJob {
    pub(crate) membership: Arc<Membership>,
    pub(crate) forwarder: Forwarder,
    pub(crate) placement: Placement,
    pub(crate) source: Arc<dyn RepairSource>,
    pub(crate) repair: Arc<Repair>,
    pub(crate) stop: Arc<AtomicBool>,
    /// How long the ring must stay unchanged before a pass starts.
    pub(crate) delay: Duration,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// How a pass ended short of finishing.
pub(crate) enum Stopped {
    /// The ring changed: the next pass covers it.
    RingChanged,
    /// The node is stopping.
    Stopping,
    /// A read or a send failed.
    Failed(String),
}

impl RepairJob {
    /// Runs until told to stop: watches the ring and runs passes when one is owed.
    pub(crate) fn run(self) {
        let mut log = loop {
            if self.stop.load(Ordering::SeqCst) {
                return;
            }
            match self.membership.view().ring() {
                Ok(ring) => break RingLog::new(ring, now_ms()),
                Err(_) => std::thread::sleep(Duration::from_millis(500)),
            }
        };
        let mut retry_after = 0i64;
        self.repair.update(|s| s.state = "idle".into());
        while !self.stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(250));
            if let Ok(ring) = self.membership.view().ring() {
                log.observe(ring, now_ms());
            }
            if !log.pending() {
                if self.repair.status().cleanup_requested {
                    self.run_cleanup(&log.newest().0);
                }
                self.repair.update(|s| s.state = "idle".into());
                continue;
            }
            let settled = log.newest().1.saturating_add(self.delay.as_millis() as i64);
            if now_ms() < settled.max(retry_after) || !self.membership.lease_valid() {
                self.repair.update(|s| {
                    if s.state != "retrying" {
                        s.state = "waiting".into();
                    }
                });
                continue;
            }
            let position = log.position();
            match self.pass(&log, position) {
                Ok(()) => {
                    log.finished(position);
                    self.repair.update(|s| {
                        s.passes += 1;
                        s.state = "idle".into();
                        s.last_error = None;
                        s.pass.ended_ms = Some(now_ms());
                    });
                    tracing::info!(position, "re-replication pass finished");
                }
                Err(Stopped::Stopping) => return,
                Err(Stopped::RingChanged) => self.repair.update(|s| {
                    s.state = "waiting".into();
                    s.last_error = Some("the ring changed during the pass; a new one covers both".into());
                }),
                Err(Stopped::Failed(why)) => {
                    tracing::warn!(error = %why, "re-replication pass failed; retrying after the delay");
                    retry_after = now_ms().saturating_add(self.delay.as_millis() as i64);
                    self.repair.update(|s| {
                        s.state = "retrying".into();
                        s.last_error = Some(why);
                        s.pass.ended_ms = Some(now_ms());
                    });
                }
            }
        }
    }

    /// One pass over every stored series, up to the ring at `position`.
    fn pass(&self, log: &RingLog, position: usize) -> Result<(), Stopped> {
        let ring = log.newest().0.clone();
        let series = self.source.series().map_err(Stopped::Failed)?;
        self.repair.update(|s| {
            s.state = "running".into();
            s.pass = PassProgress { started_ms: now_ms(), series: series.len() as u64, ..Default::default() };
        });
        let me = self.membership.id().clone();
        let mut outbox: BTreeMap<NodeId, Outbox> = BTreeMap::new();
        for (k, labels) in series.iter().enumerate() {
            if k % RING_CHECK_EVERY == 0 {
                self.check_still(&ring)?;
                self.repair.update(|s| s.pass.examined = k as u64);
            }
            let token = series_token(self.source.routing_labels(labels).prometheus_key().as_bytes());
            let plan = log.plan(token, self.placement, &me, position);
            if plan.targets.is_empty() {
                continue;
            }
            let samples = self.source.samples(labels, i64::MIN).map_err(Stopped::Failed)?;
            if samples.is_empty() {
                continue;
            }
            for target in &plan.targets {
                let out = outbox.entry(target.clone()).or_default();
                for full in out.queue(labels, &samples, BATCH_SAMPLES) {
                    self.send(&ring, target, full)?;
                }
            }
            self.repair.update(|s| {
                s.pass.series_sent += 1;
                s.series_sent_total += 1;
            });
        }
        for (target, out) in outbox {
            if !out.series.is_empty() {
                self.send(&ring, &target, out)?;
            }
        }
        self.repair.update(|s| s.pass.examined = series.len() as u64);
        Ok(())
    }

    /// Stops the pass if the node is stopping or the ring no longer places series as
    /// `ring` does.
    pub(crate) fn check_still(&self, ring: &Ring) -> Result<(), Stopped> {
        if self.stop.load(Ordering::SeqCst) {
            return Err(Stopped::Stopping);
        }
        match self.membership.view().ring() {
            Ok(now) if !same_placement(ring, &now) => Err(Stopped::RingChanged),
            _ => Ok(()),
        }
    }

    /// Sends one batch to `target` as the ring gives its address.
    pub(crate) fn send(&self, ring: &Ring, target: &NodeId, out: Outbox) -> Result<(), Stopped> {
        let Some(member) = ring.member(target) else {
            return Err(Stopped::Failed(format!("{target} is not in the ring")));
        };
        let answer = self.forwarder.backfill(&member.addr, &out.series).map_err(|e| {
            Stopped::Failed(match e {
                SendError::Rejected(why) | SendError::Failed(why) => {
                    format!("sending {} series to {target}: {why}", out.series.len())
                }
            })
        })?;
        if answer.refused > 0 {
            tracing::warn!(member = %target, refused = answer.refused, reasons = ?answer.reasons, "a backfill was partly refused");
        }
        self.repair.update(|s| {
            s.pass.samples_sent += out.samples as u64;
            s.pass.samples_written += answer.written;
            s.samples_sent_total += out.samples as u64;
            *s.pass.to_members.entry(target.0.clone()).or_default() += out.samples as u64;
        });
        Ok(())
    }
}

/// Series waiting to go to one member.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    pub(crate) series: Vec<SeriesSamples>,
    samples: usize,
}

impl Outbox {
    /// Adds a series' samples, in pieces of at most `limit` (a long history must not
    /// outgrow the receiver's body limit); returns the batches that reached `limit`, to
    /// send now (each under twice `limit`), keeping the rest.
    pub(crate) fn queue(&mut self, labels: &Labels, samples: &[(i64, f64)], limit: usize) -> Vec<Outbox> {
        let mut full = Vec::new();
        for piece in samples.chunks(limit) {
            self.series.push(SeriesSamples { labels: labels.clone(), samples: piece.to_vec() });
            self.samples += piece.len();
            if self.samples >= limit {
                full.push(std::mem::take(self));
            }
        }
        full
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_history_is_queued_in_pieces_under_twice_the_limit_in_order() {
        let mut outbox = Outbox::default();
        let short = Labels::from_pairs([("__name__", "short")]).unwrap();
        let long = Labels::from_pairs([("__name__", "long")]).unwrap();
        assert!(outbox.queue(&short, &[(1, 1.0), (2, 2.0)], 100).is_empty());
        let history: Vec<(i64, f64)> = (0..450).map(|t| (t, t as f64)).collect();
        let full = outbox.queue(&long, &history, 100);
        assert_eq!(full.len(), 4, "102, 100, 100, 100 samples; 50 left");
        assert!(full.iter().all(|b| b.samples >= 100 && b.samples < 200));
        assert_eq!(outbox.samples, 50);
        let mut sent: Vec<(i64, f64)> = full
            .iter()
            .chain([&outbox])
            .flat_map(|b| b.series.iter().filter(|s| s.labels == long).flat_map(|s| s.samples.clone()))
            .collect();
        assert_eq!(sent.len(), 450);
        sent.dedup();
        assert_eq!(sent, history, "every sample once, in order");
    }
}
